/* CloudFormation drift detection and the continuation of a failed update
 * rollback: the calls and the parsers of their answers (declared in
 * cloudformation.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cloudformation.h"
#include "services.h"
#include "xml.h"

int es_cfn_detect_stack_drift_call(struct es_aws_call *call, const char *stack)
{
	int rc = es_cfn_query_call(call, "DetectStackDrift");
	if (!rc)
		rc = es_query_param(&call->body, "StackName", stack);
	return rc;
}

int es_cfn_drift_status_call(struct es_aws_call *call, const char *detection_id)
{
	int rc = es_cfn_query_call(call, "DescribeStackDriftDetectionStatus");
	if (!rc)
		rc = es_query_param(&call->body, "StackDriftDetectionId", detection_id);
	return rc;
}

int es_cfn_resource_drifts_call(struct es_aws_call *call, const char *stack, const char *next_token)
{
	int rc = es_cfn_query_call(call, "DescribeStackResourceDrifts");
	if (!rc)
		rc = es_query_param(&call->body, "StackName", stack);
	if (!rc)
		rc = es_query_param(&call->body, "MaxResults", "100");
	if (!rc && next_token && *next_token)
		rc = es_query_param(&call->body, "NextToken", next_token);
	return rc;
}

int es_cfn_continue_rollback_call(struct es_aws_call *call, const char *stack,
                                  const char *const *skip, size_t n, const char *client_token)
{
	int rc = es_cfn_query_call(call, "ContinueUpdateRollback");
	call->mutating = true;
	if (!rc)
		rc = es_query_param(&call->body, "StackName", stack);
	for (size_t i = 0; !rc && i < n; i++)
		rc = es_query_paramf(&call->body, skip[i], "ResourcesToSkip.member.%zu", i + 1);
	if (!rc && client_token && *client_token)
		rc = es_query_param(&call->body, "ClientRequestToken", client_token);
	return rc;
}

static xmlNode *result_of(xmlDoc *doc, const char *result)
{
	return es_xml_child(xmlDocGetRootElement(doc), result);
}

char *es_cfn_parse_drift_id(const char *xml, size_t len)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	char *id;

	if (!doc) {
		es_fail_prefix("DetectStackDrift");
		return NULL;
	}
	id = es_xml_path_text(result_of(doc, "DetectStackDriftResult"), "StackDriftDetectionId");
	xmlFreeDoc(doc);
	if (!id)
		es_fail(ES_EPARSE, "DetectStackDrift: the answer has no detection id");
	return id;
}

int es_cfn_parse_drift_detection(const char *xml, size_t len, struct es_drift_detection *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	xmlNode *r;
	char *count;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("DescribeStackDriftDetectionStatus");
	r = result_of(doc, "DescribeStackDriftDetectionStatusResult");
	out->detection_status = es_xml_path_text(r, "DetectionStatus");
	out->drift_status = es_xml_path_text(r, "StackDriftStatus");
	out->reason = es_xml_path_text(r, "DetectionStatusReason");
	count = es_xml_path_text(r, "DriftedStackResourceCount");
	out->drifted_count = count ? strtol(count, NULL, 10) : 0;
	free(count);
	xmlFreeDoc(doc);
	if (!out->detection_status) {
		es_drift_detection_free(out);
		return es_fail(ES_EPARSE, "DescribeStackDriftDetectionStatus: no DetectionStatus");
	}
	return ES_OK;
}

void es_drift_detection_free(struct es_drift_detection *d)
{
	if (!d)
		return;
	free(d->detection_status);
	free(d->drift_status);
	free(d->reason);
	memset(d, 0, sizeof(*d));
}

static char *text_or_empty(xmlNode *n, const char *path)
{
	char *s = es_xml_path_text(n, path);
	return s ? s : strdup("");
}

static int read_diffs(xmlNode *list, struct es_resource_drift *r)
{
	for (xmlNode *m = es_xml_child(list, "member"); m; m = es_xml_next(m)) {
		struct es_prop_diff *d = realloc(r->diffs, (r->n_diffs + 1) * sizeof(*d));
		if (!d)
			return es_fail(ES_ENOMEM, "out of memory");
		r->diffs = d;
		d += r->n_diffs++;
		d->path = text_or_empty(m, "PropertyPath");
		d->expected = text_or_empty(m, "ExpectedValue");
		d->actual = text_or_empty(m, "ActualValue");
		d->type = text_or_empty(m, "DifferenceType");
		if (!d->path || !d->expected || !d->actual || !d->type)
			return es_fail(ES_ENOMEM, "out of memory");
	}
	return ES_OK;
}

int es_cfn_parse_resource_drifts(const char *xml, size_t len, struct es_drift_page *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	xmlNode *r;
	int rc = ES_OK;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("DescribeStackResourceDrifts");
	r = result_of(doc, "DescribeStackResourceDriftsResult");
	if (!r) {
		xmlFreeDoc(doc);
		return es_fail(ES_EPARSE, "DescribeStackResourceDrifts: no result in the answer");
	}
	for (xmlNode *m = es_xml_child(es_xml_child(r, "StackResourceDrifts"), "member"); m && !rc;
	     m = es_xml_next(m)) {
		struct es_resource_drift *items =
		        realloc(out->items, (out->n + 1) * sizeof(*items));
		if (!items) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			break;
		}
		out->items = items;
		struct es_resource_drift *d = &items[out->n++];
		memset(d, 0, sizeof(*d));
		d->logical_id = text_or_empty(m, "LogicalResourceId");
		d->physical_id = text_or_empty(m, "PhysicalResourceId");
		d->type = text_or_empty(m, "ResourceType");
		d->status = text_or_empty(m, "StackResourceDriftStatus");
		rc = read_diffs(es_xml_child(m, "PropertyDifferences"), d);
		if (!rc && (!d->logical_id || !d->physical_id || !d->type || !d->status))
			rc = es_fail(ES_ENOMEM, "out of memory");
	}
	if (!rc)
		out->next_token = es_xml_path_text(r, "NextToken");
	xmlFreeDoc(doc);
	if (rc)
		es_drift_page_free(out);
	return rc;
}

void es_resource_drift_free(struct es_resource_drift *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_diffs; i++) {
		free(r->diffs[i].path);
		free(r->diffs[i].expected);
		free(r->diffs[i].actual);
		free(r->diffs[i].type);
	}
	free(r->diffs);
	free(r->logical_id);
	free(r->physical_id);
	free(r->type);
	free(r->status);
	memset(r, 0, sizeof(*r));
}

void es_drift_page_free(struct es_drift_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		es_resource_drift_free(&p->items[i]);
	free(p->items);
	free(p->next_token);
	memset(p, 0, sizeof(*p));
}
