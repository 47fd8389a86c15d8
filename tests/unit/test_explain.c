/* A denial names the account, the role and the IAM action on what; an S3
 * 301 names the bucket's region; anything else is left as AWS said it. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aws/explain.h"

static void failed(struct es_error *e, long http, const char *code, const char *msg)
{
	memset(e, 0, sizeof(*e));
	e->status = ES_EAWS;
	e->http_status = http;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->message, sizeof(e->message), "%s", msg);
}

static void expect(const char *msg, const char *needle)
{
	if (!strstr(msg, needle))
		fail_msg("expected '%s' in: %s", needle, msg);
}

static void a_role_denied_s3(void **state)
{
	struct es_aws_call call;
	struct es_error e;

	(void)state;
	assert_int_equal(es_aws_call_init(&call, "s3", "CopyObject", ES_PROTO_REST_XML, "PUT",
	                                  "/prod-bucket/app/artifacts/ab%20c.zip"),
	                 ES_OK);
	failed(&e, 403, "AccessDenied", "Access Denied");
	es_aws_explain(&call, NULL, "arn:aws:iam::222222222222:role/edgeship-deploy",
	               "arn:aws:sts::222222222222:assumed-role/edgeship-deploy/s", &e);
	expect(e.message,
	       "account 222222222222, role arn:aws:iam::222222222222:role/edgeship-deploy "
	       "cannot do s3:PutObject on prod-bucket/app/artifacts/ab c.zip");
	expect(e.message, "AWS said: Access Denied");
	expect(e.message, "the bucket's policy");
	assert_string_equal(e.code, "AccessDenied");
	es_aws_call_free(&call);
}

static void a_user_denied_cloudformation(void **state)
{
	struct es_aws_call call;
	struct es_error e;

	(void)state;
	assert_int_equal(es_aws_call_init(&call, "cloudformation", "CreateChangeSet",
	                                  ES_PROTO_QUERY, "POST", "/"),
	                 ES_OK);
	failed(&e, 403, "AccessDenied", "User: x is not authorized");
	es_aws_explain(&call, NULL, NULL, "arn:aws:iam::111111111111:user/ann", &e);
	expect(e.message, "account 111111111111, arn:aws:iam::111111111111:user/ann cannot do "
	                  "cloudformation:CreateChangeSet (AWS said: User: x is not authorized)");
	es_aws_call_free(&call);
	/* Not a denial: left alone. */
	assert_int_equal(es_aws_call_init(&call, "cloudformation", "CreateChangeSet",
	                                  ES_PROTO_QUERY, "POST", "/"),
	                 ES_OK);
	failed(&e, 400, "ValidationError", "Template format error");
	es_aws_explain(&call, NULL, NULL, NULL, &e);
	assert_string_equal(e.message, "Template format error");
	es_aws_call_free(&call);
}

static void a_bucket_in_another_region(void **state)
{
	struct es_aws_call call;
	struct es_error e;
	struct es_http_header h[] = {{"x-amz-bucket-region", "eu-west-1"}};
	struct es_http_response resp = {.status = 301, .headers = h, .n_headers = 1};

	(void)state;
	assert_int_equal(es_aws_call_init(&call, "s3", "HeadBucket", ES_PROTO_REST_XML, "HEAD",
	                                  "/edge-demo-eu"),
	                 ES_OK);
	failed(&e, 301, "PermanentRedirect", "HTTP 301 with no error message");
	es_aws_explain(&call, &resp, NULL, NULL, &e);
	expect(e.message, "bucket edge-demo-eu is in region eu-west-1");
	expect(e.message, "us-east-1");
	expect(e.message, "bucket = ");
	resp.n_headers = 0;
	failed(&e, 301, "PermanentRedirect", "");
	es_aws_explain(&call, &resp, NULL, NULL, &e);
	expect(e.message, "in another region (S3 answered 301 without saying which)");
	es_aws_call_free(&call);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(a_role_denied_s3),
	        cmocka_unit_test(a_user_denied_cloudformation),
	        cmocka_unit_test(a_bucket_in_another_region),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
