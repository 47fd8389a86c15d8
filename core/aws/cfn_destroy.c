/* The CloudFormation calls a stage's teardown needs beside the release
 * engine's: the deployed template, an update that resubmits it, and a stack
 * delete that retains named resources (declared in cloudformation.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cloudformation.h"
#include "services.h"
#include "xml.h"

int es_cfn_get_template_call(struct es_aws_call *call, const char *stack)
{
	int rc = es_cfn_query_call(call, "GetTemplate");
	if (!rc)
		rc = es_query_param(&call->body, "StackName", stack);
	/* The template as submitted (before transforms), which is what an
	 * update submits again. */
	if (!rc)
		rc = es_query_param(&call->body, "TemplateStage", "Original");
	return rc;
}

char *es_cfn_parse_template_body(const char *xml, size_t len)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	char *body;

	if (!doc) {
		es_fail_prefix("GetTemplate");
		return NULL;
	}
	body = es_xml_path_text(es_xml_child(xmlDocGetRootElement(doc), "GetTemplateResult"),
	                        "TemplateBody");
	xmlFreeDoc(doc);
	if (!body)
		es_fail(ES_EPARSE, "GetTemplate: the answer has no TemplateBody");
	return body;
}

int es_cfn_update_stack_call(struct es_aws_call *call, const struct es_stack_update *u)
{
	int rc = es_cfn_query_call(call, "UpdateStack");
	call->mutating = true;
	if (!rc)
		rc = es_query_param(&call->body, "StackName", u->stack);
	if (!rc && u->template_url)
		rc = es_query_param(&call->body, "TemplateURL", u->template_url);
	else if (!rc)
		rc = es_query_param(&call->body, "TemplateBody", u->template_body);
	for (size_t i = 0; !rc && i < u->n_keep; i++) {
		rc = es_query_paramf(&call->body, u->keep_parameters[i],
		                     "Parameters.member.%zu.ParameterKey", i + 1);
		if (!rc)
			rc = es_query_paramf(&call->body, "true",
			                     "Parameters.member.%zu.UsePreviousValue", i + 1);
	}
	for (size_t i = 0; !rc && i < u->n_capabilities; i++)
		rc = es_query_paramf(&call->body, u->capabilities[i], "Capabilities.member.%zu",
		                     i + 1);
	if (!rc && u->client_token && *u->client_token)
		rc = es_query_param(&call->body, "ClientRequestToken", u->client_token);
	return rc;
}

int es_cfn_delete_stack_retain_call(struct es_aws_call *call, const char *stack,
                                    const char *const *retain, size_t n, const char *token)
{
	int rc = es_cfn_delete_stack_call(call, stack, token);
	for (size_t i = 0; !rc && i < n; i++)
		rc = es_query_paramf(&call->body, retain[i], "RetainResources.member.%zu", i + 1);
	return rc;
}
