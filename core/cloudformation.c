/* CloudFormation stack queries. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cloudformation.h"
#include "services.h"
#include "xml.h"

#define CFN_VERSION "2010-05-15"
#define FORM "application/x-www-form-urlencoded; charset=utf-8"

static int query_call(struct es_aws_call *call, const char *action)
{
	if (es_aws_call_init(call, "cloudformation", action, ES_PROTO_QUERY, "POST", "/"))
		return ES_ENOMEM;
	call->content_type = FORM;
	return es_query_start(&call->body, action, CFN_VERSION);
}

int es_cfn_describe_stacks_call(struct es_aws_call *call, const char *stack_name)
{
	int rc = query_call(call, "DescribeStacks");
	if (!rc && stack_name)
		rc = es_query_param(&call->body, "StackName", stack_name);
	return rc;
}

int es_cfn_describe_stack_events_call(struct es_aws_call *call, const char *stack_name,
                                      const char *next_token)
{
	int rc = query_call(call, "DescribeStackEvents");
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
