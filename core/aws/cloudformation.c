/* CloudFormation stack queries. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudformation.h"
#include "services.h"
#include "xml.h"

#define CFN_VERSION "2010-05-15"
#define FORM        "application/x-www-form-urlencoded; charset=utf-8"

int es_cfn_query_call(struct es_aws_call *call, const char *action)
{
	if (es_aws_call_init(call, "cloudformation", action, ES_PROTO_QUERY, "POST", "/"))
		return ES_ENOMEM;
	call->content_type = FORM;
	return es_query_start(&call->body, action, CFN_VERSION);
}

int es_cfn_describe_stacks_call(struct es_aws_call *call, const char *stack_name)
{
	int rc = es_cfn_query_call(call, "DescribeStacks");
	if (!rc && stack_name)
		rc = es_query_param(&call->body, "StackName", stack_name);
	return rc;
}

int es_cfn_describe_stack_events_call(struct es_aws_call *call, const char *stack_name,
                                      const char *next_token)
{
	int rc = es_cfn_query_call(call, "DescribeStackEvents");
	if (!rc)
		rc = es_query_param(&call->body, "StackName", stack_name);
	if (!rc && next_token && *next_token)
		rc = es_query_param(&call->body, "NextToken", next_token);
	return rc;
}

const char *es_kv_get(const struct es_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

static void free_pairs(struct es_kv *kv, size_t n);

static int read_pairs(xmlNode *list, const char *kname, const char *vname, struct es_kv **out,
                      size_t *n)
{
	for (xmlNode *m = es_xml_child(list, "member"); m; m = es_xml_next(m)) {
		struct es_kv *kv = realloc(*out, (*n + 1) * sizeof(**out));
		if (!kv)
			return es_fail(ES_ENOMEM, "out of memory");
		*out = kv;
		kv[*n].key = es_xml_path_text(m, kname);
		kv[*n].value = es_xml_path_text(m, vname);
		if (!kv[*n].key)
			kv[*n].key = strdup("");
		if (!kv[*n].value)
			kv[*n].value = strdup("");
		(*n)++;
	}
	return ES_OK;
}

int es_cfn_parse_stack(const char *xml, size_t len, struct es_stack *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	xmlNode *m;
	int rc = ES_OK;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("DescribeStacks");
	m = es_xml_path(xmlDocGetRootElement(doc), "DescribeStacksResult/Stacks/member");
	if (!m) {
		xmlFreeDoc(doc);
		return es_fail(ES_ENOTFOUND, "DescribeStacks: no stack in the answer");
	}
	out->name = es_xml_path_text(m, "StackName");
	out->id = es_xml_path_text(m, "StackId");
	out->status = es_xml_path_text(m, "StackStatus");
	out->status_reason = es_xml_path_text(m, "StackStatusReason");
	out->last_updated = es_xml_path_text(m, "LastUpdatedTime");
	if (!out->last_updated)
		out->last_updated = es_xml_path_text(m, "CreationTime");
	rc = read_pairs(es_xml_child(m, "Outputs"), "OutputKey", "OutputValue", &out->outputs,
	                &out->n_outputs);
	if (!rc)
		rc = read_pairs(es_xml_child(m, "Tags"), "Key", "Value", &out->tags, &out->n_tags);
	xmlFreeDoc(doc);
	if (!rc && (!out->name || !out->status))
		rc = es_fail(ES_EPARSE, "DescribeStacks: stack without name or status");
	if (rc)
		es_stack_free(out);
	return rc;
}

int es_cfn_describe_stack(struct es_aws_client *c, const char *stack_name, struct es_stack *out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (es_cfn_describe_stacks_call(&call, stack_name)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc) {
		const struct es_error *e = es_error_last();
		/* CloudFormation says "Stack with id X does not exist" as a
		 * ValidationError; that is an answer, not a failure. */
		if (rc == ES_EAWS && strcmp(e->code, "ValidationError") == 0 &&
		    strstr(e->message, "does not exist")) {
			struct es_error copy = *e;
			copy.status = ES_ENOTFOUND;
			es_error_restore(&copy);
			return ES_ENOTFOUND;
		}
		return rc;
	}
	rc = es_cfn_parse_stack(resp.body.data, resp.body.len, out);
	es_http_response_free(&resp);
	return rc;
}

static void free_pairs(struct es_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void es_kv_list_free(struct es_kv *kv, size_t n)
{
	free_pairs(kv, n);
}

void es_stack_free(struct es_stack *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->id);
	free(s->status);
	free(s->status_reason);
	free(s->last_updated);
	free_pairs(s->outputs, s->n_outputs);
	free_pairs(s->tags, s->n_tags);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ change sets */

int es_cfn_create_change_set_call(struct es_aws_call *call, const struct es_change_set_request *r)
{
	struct es_buf *b = &call->body;
	int rc = es_cfn_query_call(call, "CreateChangeSet");

	if (rc)
		return rc;
	call->mutating = true;
	/* Members in the order of the service model, as the CLI sends them. */
	es_query_param(b, "StackName", r->stack_name);
	if (r->template_body)
		es_query_param(b, "TemplateBody", r->template_body);
	if (r->template_url)
		es_query_param(b, "TemplateURL", r->template_url);
	for (size_t i = 0; i < r->n_parameters; i++) {
		es_query_paramf(b, r->parameters[i].key, "Parameters.member.%zu.ParameterKey",
		                i + 1);
		es_query_paramf(b, r->parameters[i].value, "Parameters.member.%zu.ParameterValue",
		                i + 1);
	}
	/* Never send an empty list: "Capabilities=" would mean "none". */
	for (size_t i = 0; i < r->n_capabilities; i++)
		es_query_paramf(b, r->capabilities[i], "Capabilities.member.%zu", i + 1);
	for (size_t i = 0; i < r->n_tags; i++) {
		es_query_paramf(b, r->tags[i].key, "Tags.member.%zu.Key", i + 1);
		es_query_paramf(b, r->tags[i].value, "Tags.member.%zu.Value", i + 1);
	}
	es_query_param(b, "ChangeSetName", r->change_set_name);
	if (r->client_token)
		es_query_param(b, "ClientToken", r->client_token);
	if (r->description)
		es_query_param(b, "Description", r->description);
	return es_query_param(b, "ChangeSetType", r->change_set_type);
}

int es_cfn_describe_change_set_call(struct es_aws_call *call, const char *stack,
                                    const char *change_set, const char *next_token)
{
	int rc = es_cfn_query_call(call, "DescribeChangeSet");
	if (!rc)
		rc = es_query_param(&call->body, "ChangeSetName", change_set);
	if (!rc && stack)
		rc = es_query_param(&call->body, "StackName", stack);
	if (!rc && next_token && *next_token)
		rc = es_query_param(&call->body, "NextToken", next_token);
	return rc;
}

int es_cfn_execute_change_set_call(struct es_aws_call *call, const char *stack,
                                   const char *change_set, const char *client_token)
{
	int rc = es_cfn_query_call(call, "ExecuteChangeSet");
	call->mutating = true;
	if (!rc)
		rc = es_query_param(&call->body, "ChangeSetName", change_set);
	if (!rc && stack)
		rc = es_query_param(&call->body, "StackName", stack);
	if (!rc && client_token)
		rc = es_query_param(&call->body, "ClientRequestToken", client_token);
	return rc;
}

int es_cfn_delete_change_set_call(struct es_aws_call *call, const char *stack,
                                  const char *change_set)
{
	int rc = es_cfn_query_call(call, "DeleteChangeSet");
	call->mutating = true;
	if (!rc)
		rc = es_query_param(&call->body, "ChangeSetName", change_set);
	if (!rc && stack)
		rc = es_query_param(&call->body, "StackName", stack);
	return rc;
}

int es_cfn_delete_stack_call(struct es_aws_call *call, const char *stack, const char *token)
{
	int rc = es_cfn_query_call(call, "DeleteStack");
	call->mutating = true;
	if (!rc)
		rc = es_query_param(&call->body, "StackName", stack);
	if (!rc && token)
		rc = es_query_param(&call->body, "ClientRequestToken", token);
	return rc;
}

int es_cfn_describe_stack_resources_call(struct es_aws_call *call, const char *stack)
{
	int rc = es_cfn_query_call(call, "DescribeStackResources");
	return rc ? rc : es_query_param(&call->body, "StackName", stack);
}

static xmlNode *result_of(xmlDoc *doc, const char *result)
{
	return es_xml_child(xmlDocGetRootElement(doc), result);
}

char *es_cfn_parse_change_set_id(const char *xml, size_t len)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	char *id;

	if (!doc)
		return NULL;
	id = es_xml_path_text(result_of(doc, "CreateChangeSetResult"), "Id");
	xmlFreeDoc(doc);
	if (!id)
		es_fail(ES_EPARSE, "CreateChangeSet: the answer has no change set id");
	return id;
}

void es_change_set_free(struct es_change_set *cs)
{
	if (!cs)
		return;
	for (size_t i = 0; i < cs->n_changes; i++) {
		free(cs->changes[i].action);
		free(cs->changes[i].logical_id);
		free(cs->changes[i].physical_id);
		free(cs->changes[i].type);
		free(cs->changes[i].replacement);
	}
	free(cs->changes);
	free(cs->id);
	free(cs->status);
	free(cs->status_reason);
	free(cs->execution_status);
	free(cs->creation_time);
	free(cs->next_token);
	memset(cs, 0, sizeof(*cs));
}

int es_cfn_parse_change_set(const char *xml, size_t len, struct es_change_set *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	xmlNode *r;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("DescribeChangeSet");
	r = result_of(doc, "DescribeChangeSetResult");
	out->id = es_xml_path_text(r, "ChangeSetId");
	out->status = es_xml_path_text(r, "Status");
	out->status_reason = es_xml_path_text(r, "StatusReason");
	out->execution_status = es_xml_path_text(r, "ExecutionStatus");
	out->creation_time = es_xml_path_text(r, "CreationTime");
	out->next_token = es_xml_path_text(r, "NextToken");
	for (xmlNode *m = es_xml_path(r, "Changes/member"); m; m = es_xml_next(m)) {
		xmlNode *rc = es_xml_child(m, "ResourceChange");
		struct es_change *c = realloc(out->changes, (out->n_changes + 1) * sizeof(*c));
		if (!c) {
			xmlFreeDoc(doc);
			es_change_set_free(out);
			return es_fail(ES_ENOMEM, "out of memory");
		}
		out->changes = c;
		c = &c[out->n_changes++];
		c->action = es_xml_path_text(rc, "Action");
		c->logical_id = es_xml_path_text(rc, "LogicalResourceId");
		c->physical_id = es_xml_path_text(rc, "PhysicalResourceId");
		c->type = es_xml_path_text(rc, "ResourceType");
		c->replacement = es_xml_path_text(rc, "Replacement");
	}
	xmlFreeDoc(doc);
	if (!out->status) {
		es_change_set_free(out);
		return es_fail(ES_EPARSE, "DescribeChangeSet: the answer has no Status");
	}
	return ES_OK;
}

bool es_cfn_change_set_empty(const struct es_change_set *cs)
{
	const char *r = cs->status_reason ? cs->status_reason : "";

	/* Decided from the status and reason, not from an empty Changes list:
	 * a change to Outputs alone has no resource changes yet must run. */
	return cs->status && strcmp(cs->status, "FAILED") == 0 &&
	       (strstr(r, "The submitted information didn't contain changes") ||
	        strstr(r, "No updates are to be performed"));
}

void es_stack_event_free(struct es_stack_event *e)
{
	if (!e)
		return;
	free(e->event_id);
	free(e->stack_id);
	free(e->stack_name);
	free(e->logical_id);
	free(e->physical_id);
	free(e->type);
	free(e->timestamp);
	free(e->status);
	free(e->reason);
	free(e->client_token);
	memset(e, 0, sizeof(*e));
}

void es_stack_event_page_free(struct es_stack_event_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		es_stack_event_free(&p->events[i]);
	free(p->events);
	free(p->next_token);
	memset(p, 0, sizeof(*p));
}

int es_cfn_parse_stack_events(const char *xml, size_t len, struct es_stack_event_page *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	xmlNode *r;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("DescribeStackEvents");
	r = result_of(doc, "DescribeStackEventsResult");
	out->next_token = es_xml_path_text(r, "NextToken");
	for (xmlNode *m = es_xml_path(r, "StackEvents/member"); m; m = es_xml_next(m)) {
		char *id = es_xml_path_text(m, "EventId");
		/* An event without an id cannot be told from the next one: skip
		 * it rather than lose the page. */
		if (!id || !*id) {
			free(id);
			continue;
		}
		struct es_stack_event *e = realloc(out->events, (out->n + 1) * sizeof(*e));
		if (!e) {
			free(id);
			xmlFreeDoc(doc);
			es_stack_event_page_free(out);
			return es_fail(ES_ENOMEM, "out of memory");
		}
		out->events = e;
		e = &e[out->n++];
		memset(e, 0, sizeof(*e));
		e->event_id = id;
		e->stack_id = es_xml_path_text(m, "StackId");
		e->stack_name = es_xml_path_text(m, "StackName");
		e->logical_id = es_xml_path_text(m, "LogicalResourceId");
		e->physical_id = es_xml_path_text(m, "PhysicalResourceId");
		e->type = es_xml_path_text(m, "ResourceType");
		e->timestamp = es_xml_path_text(m, "Timestamp");
		e->status = es_xml_path_text(m, "ResourceStatus");
		e->reason = es_xml_path_text(m, "ResourceStatusReason");
		e->client_token = es_xml_path_text(m, "ClientRequestToken");
		if (!e->status)
			e->status = strdup("");
		if (!e->status) {
			xmlFreeDoc(doc);
			es_stack_event_page_free(out);
			return es_fail(ES_ENOMEM, "out of memory");
		}
	}
	xmlFreeDoc(doc);
	return ES_OK;
}

int es_cfn_parse_stack_resources(const char *xml, size_t len, struct es_kv **ids,
                                 struct es_kv **types, size_t *n)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	size_t ni = 0, nt = 0;
	int rc;

	*ids = *types = NULL;
	*n = 0;
	if (!doc)
		return es_fail_prefix("DescribeStackResources");
	xmlNode *list = es_xml_path(xmlDocGetRootElement(doc),
	                            "DescribeStackResourcesResult/StackResources");
	rc = read_pairs(list, "LogicalResourceId", "PhysicalResourceId", ids, &ni);
	if (!rc)
		rc = read_pairs(list, "LogicalResourceId", "ResourceType", types, &nt);
	xmlFreeDoc(doc);
	if (rc) {
		free_pairs(*ids, ni);
		free_pairs(*types, nt);
		*ids = *types = NULL;
		return rc;
	}
	*n = ni;
	return ES_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

bool es_cfn_status_in_progress(const char *status)
{
	return status && ends_with(status, "_IN_PROGRESS");
}

bool es_cfn_status_failed(const char *status)
{
	return status && (ends_with(status, "_FAILED") || strstr(status, "ROLLBACK") != NULL);
}

int es_cfn_resource_of_type(const char *xml, size_t len, const char *type, char *id, size_t idlen)
{
	struct es_kv *ids, *types;
	size_t n;
	int rc;

	id[0] = '\0';
	rc = es_cfn_parse_stack_resources(xml, len, &ids, &types, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!id[0] && strcmp(types[i].value, type) == 0)
			snprintf(id, idlen, "%s", ids[i].value);
	free_pairs(ids, n);
	free_pairs(types, n);
	return ES_OK;
}

int es_cfn_stack_distribution(struct es_aws_client *c, const char *stack, char *id, size_t len)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	id[0] = '\0';
	if (es_cfn_describe_stack_resources_call(&call, stack)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return rc;
	rc = es_cfn_resource_of_type(resp.body.data, resp.body.len, "AWS::CloudFront::Distribution",
	                             id, len);
	es_http_response_free(&resp);
	return rc;
}
