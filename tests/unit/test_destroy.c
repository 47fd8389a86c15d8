/* Teardown: the request bodies of GetTemplate, UpdateStack, DeleteStack
 * with RetainResources and Lambda DeleteFunction; the template without its
 * Lambda@Edge associations; the retained functions the ledger still lists. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/cloudformation.h"
#include "aws/lambda.h"
#include "destroy.h"
#include "replicas.h"
#include "template.h"

#define NS "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""

static void request_bodies(void **state)
{
	const char *keep[] = {"Stage"};
	const char *caps[] = {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"};
	const char *retain[] = {"Fn", "FnVersion"};
	struct es_aws_call c;

	(void)state;
	assert_int_equal(es_cfn_get_template_call(&c, "demo"), ES_OK);
	assert_string_equal(c.body.data, "Action=GetTemplate&Version=2010-05-15&StackName=demo"
	                                 "&TemplateStage=Original");
	assert_false(c.mutating);
	es_aws_call_free(&c);

	struct es_stack_update u = {.stack = "demo",
	                            .template_body = "{\"Resources\":{}}",
	                            .keep_parameters = keep,
	                            .n_keep = 1,
	                            .capabilities = caps,
	                            .n_capabilities = 2,
	                            .client_token = "a1-strip"};
	assert_int_equal(es_cfn_update_stack_call(&c, &u), ES_OK);
	assert_string_equal(c.body.data, "Action=UpdateStack&Version=2010-05-15&StackName=demo"
	                                 "&TemplateBody=%7B%22Resources%22%3A%7B%7D%7D"
	                                 "&Parameters.member.1.ParameterKey=Stage"
	                                 "&Parameters.member.1.UsePreviousValue=true"
	                                 "&Capabilities.member.1=CAPABILITY_IAM"
	                                 "&Capabilities.member.2=CAPABILITY_AUTO_EXPAND"
	                                 "&ClientRequestToken=a1-strip");
	assert_true(c.mutating);
	es_aws_call_free(&c);
	/* A large template goes by URL, never both. */
	u.template_url = "http://127.0.0.1:1/b/templates/ab.json";
	u.n_keep = 0;
	u.n_capabilities = 0;
	u.client_token = NULL;
	assert_int_equal(es_cfn_update_stack_call(&c, &u), ES_OK);
	assert_string_equal(c.body.data,
	                    "Action=UpdateStack&Version=2010-05-15&StackName=demo"
	                    "&TemplateURL=http%3A%2F%2F127.0.0.1%3A1%2Fb%2Ftemplates%2F"
	                    "ab.json");
	es_aws_call_free(&c);

	assert_int_equal(es_cfn_delete_stack_retain_call(&c, "demo", retain, 2, "a1-retain"),
	                 ES_OK);
	assert_string_equal(c.body.data, "Action=DeleteStack&Version=2010-05-15&StackName=demo"
	                                 "&ClientRequestToken=a1-retain"
	                                 "&RetainResources.member.1=Fn"
	                                 "&RetainResources.member.2=FnVersion");
	assert_true(c.mutating);
	es_aws_call_free(&c);

	assert_int_equal(es_lambda_delete_function_call(&c, "demo-Fn-1A2B"), ES_OK);
	assert_string_equal(c.method, "DELETE");
	assert_string_equal(c.path.data, "/2015-03-31/functions/demo-Fn-1A2B");
	assert_true(c.query.len == 0);
	assert_true(c.mutating);
	es_aws_call_free(&c);
}

static void template_body(void **state)
{
	const char *xml = "<GetTemplateResponse " NS "><GetTemplateResult>"
	                  "<TemplateBody>Resources:\n  T:\n    Type: AWS::SNS::Topic\n"
	                  "</TemplateBody><StagesAvailable><member>Original</member>"
	                  "</StagesAvailable></GetTemplateResult></GetTemplateResponse>";
	char *body;

	(void)state;
	body = es_cfn_parse_template_body(xml, strlen(xml));
	assert_non_null(body);
	assert_string_equal(body, "Resources:\n  T:\n    Type: AWS::SNS::Topic\n");
	free(body);
	assert_null(es_cfn_parse_template_body("<r/>", 4));
	assert_null(es_cfn_parse_template_body("not xml", 7));
}

static void strip_associations(void **state)
{
	const char *yaml = "Transform: AWS::Serverless-2016-10-31\n"
	                   "Parameters:\n  Stage:\n    Type: String\n"
	                   "Resources:\n"
	                   "  Dist:\n"
	                   "    Type: AWS::CloudFront::Distribution\n"
	                   "    Properties:\n"
	                   "      DistributionConfig:\n"
	                   "        Enabled: true\n"
	                   "        DefaultCacheBehavior:\n"
	                   "          TargetOriginId: o\n"
	                   "          LambdaFunctionAssociations:\n"
	                   "            - EventType: origin-request\n"
	                   "              LambdaFunctionARN: !Ref Fn.Version\n"
	                   "        CacheBehaviors:\n"
	                   "          - PathPattern: /a/*\n"
	                   "            LambdaFunctionAssociations:\n"
	                   "              - EventType: viewer-request\n"
	                   "                LambdaFunctionARN: !Ref Fn.Version\n"
	                   "              - EventType: origin-response\n"
	                   "                LambdaFunctionARN: !Ref Fn.Version\n"
	                   "          - PathPattern: /b/*\n"
	                   "  Other:\n"
	                   "    Type: AWS::Serverless::Function\n"
	                   "    Properties:\n"
	                   "      LambdaFunctionAssociations: kept\n";
	json_t *tpl;
	char *text;

	(void)state;
	assert_int_equal(es_template_parse(yaml, strlen(yaml), "t.yaml", &tpl), ES_OK);
	assert_int_equal(es_template_strip_edge_associations(tpl), 3);
	text = es_template_dump(tpl);
	assert_non_null(text);
	assert_string_equal(
	        text,
	        "{\"Transform\":\"AWS::Serverless-2016-10-31\",\"Parameters\":{\"Stage\":{\"Type\":"
	        "\"String\"}},\"Resources\":{\"Dist\":{\"Type\":\"AWS::CloudFront::Distribution\","
	        "\"Properties\":{\"DistributionConfig\":{\"Enabled\":true,\"DefaultCacheBehavior\":"
	        "{\"TargetOriginId\":\"o\"},\"CacheBehaviors\":[{\"PathPattern\":\"/a/*\"},"
	        "{\"PathPattern\":\"/b/*\"}]}}},\"Other\":{\"Type\":\"AWS::Serverless::Function\","
	        "\"Properties\":{\"LambdaFunctionAssociations\":\"kept\"}}}}");
	free(text);
	/* Done once, nothing is left to remove. */
	assert_int_equal(es_template_strip_edge_associations(tpl), 0);
	json_decref(tpl);
}

static struct es_record rec(long seq, const char *when, const char *json)
{
	struct es_record r;

	memset(&r, 0, sizeof(r));
	r.seq = seq;
	snprintf(r.when, sizeof(r.when), "%s", when);
	r.json = (char *)json;
	return r;
}

#define KEPT(fn)                                                                                   \
	"{\"kind\":\"destroy\",\"phase\":\"step\",\"step\":\"function-retained\",\"stage\":"       \
	"\"staging\",\"logical_id\":\"Fn\",\"function\":\"" fn "\",\"arn\":"                       \
	"\"arn:aws:lambda:us-east-1:1:function:" fn "\",\"region\":\"us-east-1\"}"
#define GONE(fn)                                                                                   \
	"{\"kind\":\"cleanup\",\"phase\":\"outcome\",\"result\":\"success\",\"arn\":"              \
	"\"arn:aws:lambda:us-east-1:1:function:" fn "\"}"

static void pending(void **state)
{
	struct es_record items[] = {
	        rec(1, "2026-12-01T10:00:00Z", KEPT("a")),
	        rec(2, "2026-12-01T11:00:00Z", KEPT("b")),
	        /* a rerun of the same destroy records a again */
	        rec(3, "2026-12-01T11:30:00Z", KEPT("a")),
	        rec(4, "2026-12-01T12:00:00Z", "{\"kind\":\"deploy\",\"phase\":\"intent\"}"),
	        rec(5, "2026-12-01T13:00:00Z", GONE("a")),
	        /* not a JSON record: ignored */
	        rec(6, "2026-12-01T13:00:00Z", "{"),
	};
	struct es_record_list l = {.items = items, .n = 6};
	struct es_retained_function *out;
	size_t n;

	(void)state;
	assert_int_equal(es_replicas_pending(&l, &out, &n), ES_OK);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].name, "b");
	assert_string_equal(out[0].arn, "arn:aws:lambda:us-east-1:1:function:b");
	assert_string_equal(out[0].stage, "staging");
	assert_string_equal(out[0].region, "us-east-1");
	assert_string_equal(out[0].when, "2026-12-01T11:00:00Z");
	free(out);
	l.n = 3;
	es_replicas_count(&l, &n);
	assert_int_equal(n, 2);
	l.n = 0;
	assert_int_equal(es_replicas_pending(&l, &out, &n), ES_OK);
	assert_int_equal(n, 0);
	assert_null(out);

	assert_true(es_replicas_error_is_replicated(
	        "Lambda was unable to delete arn:aws:lambda:us-east-1:1:function:a:1 because it is "
	        "a replicated function. Please see our documentation"));
	assert_false(es_replicas_error_is_replicated("Function not found"));
	assert_false(es_replicas_error_is_replicated(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(request_bodies),
	        cmocka_unit_test(template_body),
	        cmocka_unit_test(strip_associations),
	        cmocka_unit_test(pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
