/* Our serializers against real AWS CLI requests: each capture in
 * testdata/awscli-captures is rebuilt through the service module and
 * es_aws_prepare(), and must match the CLI's method, path, body and the
 * whole Authorization header (so the canonical request is the same). Also
 * error decoding for every protocol. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "aws/aws.h"
#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/codepipeline.h"
#include "aws/lambda.h"
#include "aws/protocol.h"
#include "aws/s3.h"
#include "aws/sts.h"
#include "testutil.h"

struct capture {
	char *raw;
	char method[8];
	char path[256];
	const char *body;
	size_t body_len;
};

static const char *cap_header(const struct capture *c, const char *name, char *out, size_t len)
{
	const char *p = strstr(c->raw, "\r\n");
	size_t n = strlen(name);

	while (p && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t vl = strcspn(v, "\r");
			snprintf(out, len, "%.*s", (int)vl, v);
			return out;
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

static int load_capture(const char *client, const char *file, struct capture *c)
{
	char path[1024];
	size_t len;
	const char *dir = tu_testdata_dir();

	memset(c, 0, sizeof(*c));
	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/awscli-captures/%s/%s", dir, client, file);
	c->raw = tu_read_file(path, &len);
	if (!c->raw)
		return -1;
	if (sscanf(c->raw, "%7s %255s", c->method, c->path) != 2)
		return -1;
	char *sep = strstr(c->raw, "\r\n\r\n");
	if (!sep)
		return -1;
	c->body = sep + 4;
	c->body_len = len - (size_t)(c->body - c->raw);
	return 0;
}

static time_t amz_date(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(s, "%Y%m%dT%H%M%SZ", &tm));
	return timegm(&tm);
}

/* Prepare `call` as the CLI's request was signed and compare everything. */
static void check(struct es_aws_call *call, const char *client, const char *file,
                  const char *signing_name)
{
	struct capture cap;
	char date[32], authz[512];
	struct es_endpoint ep = {
	        .url = "http://127.0.0.1:5181",
	        .host = "127.0.0.1:5181",
	        .signing_region = "us-east-1",
	        .path_style = true,
	        .overridden = true,
	};
	struct es_credentials cr = {
	        .access_key_id = "AKIDEXAMPLE",
	        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	};
	struct es_aws_wire w;

	snprintf(ep.signing_name, sizeof(ep.signing_name), "%s", signing_name);
	if (load_capture(client, file, &cap) != 0) {
		free(cap.raw);
		fail_msg("capture %s/%s not found: is ES_TESTDATA set?", client, file);
	}
	assert_string_equal(call->method, cap.method);
	assert_non_null(cap_header(&cap, "X-Amz-Date", date, sizeof(date)));
	assert_non_null(cap_header(&cap, "Authorization", authz, sizeof(authz)));
	assert_int_equal(es_aws_prepare(call, &ep, &cr, amz_date(date), &w), ES_OK);
	assert_string_equal(strstr(w.url, "5181") + 4, cap.path);
	assert_int_equal(w.body_len, cap.body_len);
	assert_memory_equal(w.body ? w.body : "", cap.body, cap.body_len);
	assert_string_equal(w.authorization, authz);
	es_aws_wire_free(&w);
	es_aws_call_free(call);
	free(cap.raw);
}

static void cfn_describe_stacks(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_cfn_describe_stacks_call(&c, "demo-stack"), ES_OK);
	/* The CLI puts Action and Version first, as we do. */
	check(&c, "awscli-2.9.19", "01-cloudformation-DescribeStacks.http", "cloudformation");
	assert_int_equal(es_cfn_describe_stacks_call(&c, "demo-stack"), ES_OK);
	check(&c, "awscli-1.45.11", "01-cloudformation-DescribeStacks.http", "cloudformation");
}

static void cfn_describe_stack_events(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_cfn_describe_stack_events_call(&c, "demo-stack", NULL), ES_OK);
	check(&c, "awscli-2.9.19", "10-cloudformation-DescribeStackEvents.http", "cloudformation");
}

static void cf_get_distribution(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_cf_get_distribution_call(&c, "E2EXAMPLE"), ES_OK);
	check(&c, "awscli-2.9.19", "02-cloudfront-GetDistribution.http", "cloudfront");
	assert_int_equal(es_cf_get_distribution_call(&c, "E2EXAMPLE"), ES_OK);
	check(&c, "awscli-1.45.11", "02-cloudfront-GetDistribution.http", "cloudfront");
}

static void cf_create_invalidation(void **state)
{
	const char *paths[] = {"/*", "/index.html"};
	struct es_aws_call c;
	assert_int_equal(es_cf_create_invalidation_call(&c, "E2EXAMPLE", "cli-1795739934-945366",
	                                                paths, 2),
	                 ES_OK);
	check(&c, "awscli-2.9.19", "03-cloudfront-CreateInvalidation.http", "cloudfront");
}

static void cf_get_invalidation(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_cf_get_invalidation_call(&c, "E2EXAMPLE", "I2EXAMPLE"), ES_OK);
	check(&c, "awscli-2.9.19", "09-cloudfront-GetInvalidation.http", "cloudfront");
}

static void codepipeline_state(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_codepipeline_get_pipeline_state_call(&c, "demo-pipeline"), ES_OK);
	check(&c, "awscli-2.9.19", "04-codepipeline-GetPipelineState.http", "codepipeline");
	assert_int_equal(es_codepipeline_get_pipeline_state_call(&c, "demo-pipeline"), ES_OK);
	check(&c, "awscli-1.45.11", "04-codepipeline-GetPipelineState.http", "codepipeline");
}

static void sts_caller_identity(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_sts_get_caller_identity_call(&c), ES_OK);
	check(&c, "awscli-2.9.19", "05-sts-GetCallerIdentity.http", "sts");
	assert_int_equal(es_sts_get_caller_identity_call(&c), ES_OK);
	check(&c, "awscli-1.45.11", "05-sts-GetCallerIdentity.http", "sts");
}

static void s3_put_object(void **state)
{
	struct es_s3_put opt = {.content_type = "text/plain"};
	struct es_aws_call c;
	/* CLI v2 sends Content-MD5 and signs it; so do we. */
	assert_int_equal(es_s3_put_object_call(&c, "demo-bucket", "site/hello.txt",
	                                       "hello world\n", 12, &opt),
	                 ES_OK);
	check(&c, "awscli-2.9.19", "06-s3-PutObject.http", "s3");
}

static void lambda_get_function(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_lambda_get_function_call(&c, "demo-fn"), ES_OK);
	check(&c, "awscli-2.9.19", "07-lambda-GetFunction.http", "lambda");
	assert_int_equal(es_lambda_get_function_call(&c, "demo-fn"), ES_OK);
	check(&c, "awscli-1.45.11", "07-lambda-GetFunction.http", "lambda");
}

/* ---------------------------------------------------------------- errors */

static void response(struct es_http_response *r, long status, const char *body,
                     const char *hname, const char *hvalue)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	es_buf_puts(&r->body, body);
	if (hname) {
		r->headers = calloc(1, sizeof(*r->headers));
		r->headers[0].name = strdup(hname);
		r->headers[0].value = strdup(hvalue);
		r->n_headers = 1;
	}
}

static void error_query(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 400,
	         "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	         "<Error><Type>Sender</Type><Code>ValidationError</Code>"
	         "<Message>Stack with id x does not exist</Message></Error>"
	         "<RequestId>1a2b3c</RequestId></ErrorResponse>",
	         NULL, NULL);
	es_proto_parse_error(ES_PROTO_QUERY, &r, &e);
	assert_string_equal(e.code, "ValidationError");
	assert_string_equal(e.message, "Stack with id x does not exist");
	assert_string_equal(e.request_id, "1a2b3c");
	assert_int_equal(e.http_status, 400);
	es_http_response_free(&r);
}

static void error_s3(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 412,
	         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed</Code>"
	         "<Message>At least one of the pre-conditions you specified did not hold</Message>"
	         "<RequestId>XYZ</RequestId></Error>",
	         NULL, NULL);
	es_proto_parse_error(ES_PROTO_REST_XML, &r, &e);
	assert_string_equal(e.code, "PreconditionFailed");
	assert_string_equal(e.request_id, "XYZ");
	es_http_response_free(&r);
}

static void error_head_without_body(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 404, "", "x-amz-request-id", "REQ404");
	es_proto_parse_error(ES_PROTO_REST_XML, &r, &e);
	assert_string_equal(e.code, "NotFound");
	assert_string_equal(e.request_id, "REQ404");
	assert_non_null(strstr(e.message, "404"));
	es_http_response_free(&r);
}

static void error_json(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 400,
	         "{\"__type\":\"com.amazonaws.codepipeline#PipelineNotFoundException\","
	         "\"message\":\"The account with id '123' does not include a pipeline with the name 'x'\"}",
	         "x-amzn-RequestId", "abc-123");
	es_proto_parse_error(ES_PROTO_JSON, &r, &e);
	assert_string_equal(e.code, "PipelineNotFoundException");
	assert_string_equal(e.request_id, "abc-123");
	assert_non_null(strstr(e.message, "does not include a pipeline"));
	es_http_response_free(&r);
}

static void error_rest_json_header(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 404, "{\"Type\":\"User\",\"Message\":\"Function not found: arn:x\"}",
	         "x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/");
	es_proto_parse_error(ES_PROTO_REST_JSON, &r, &e);
	assert_string_equal(e.code, "ResourceNotFoundException");
	assert_string_equal(e.message, "Function not found: arn:x");
	es_http_response_free(&r);
}

static void error_garbage_body(void **state)
{
	struct es_http_response r;
	struct es_error e;
	/* A truncated XML answer still yields a usable error. */
	response(&r, 503, "<ErrorResponse><Error><Code>Servi", NULL, NULL);
	es_proto_parse_error(ES_PROTO_QUERY, &r, &e);
	assert_string_equal(e.code, "ServiceUnavailable");
	assert_int_equal(e.http_status, 503);
	es_http_response_free(&r);
}

static void error_json_body_on_xml_service(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 400,
	         "{\"__type\": \"InvalidParameterValueException\", \"message\": \"The role "
	         "cannot be assumed\"}",
	         NULL, NULL);
	es_proto_parse_error(ES_PROTO_QUERY, &r, &e);
	assert_string_equal(e.code, "InvalidParameterValueException");
	assert_string_equal(e.message, "The role cannot be assumed");
	es_http_response_free(&r);
}

static void error_message_control_chars(void **state)
{
	struct es_http_response r;
	struct es_error e;
	response(&r, 400, "{\"__type\":\"X\",\"message\":\"bad\\u001b[2Jthing\\nnext\"}", NULL,
	         NULL);
	es_proto_parse_error(ES_PROTO_JSON, &r, &e);
	assert_null(strchr(e.message, '\033'));
	assert_null(strchr(e.message, '\n'));
	es_http_response_free(&r);
}

static void form_encoding(void **state)
{
	struct es_buf b = ES_BUF_INIT;
	es_form_encode(&b, "a b&c=d/e?f+g:\"h\"\n~._-");
	assert_string_equal(b.data, "a+b%26c%3Dd%2Fe%3Ff%2Bg%3A%22h%22%0A~._-");
	es_buf_free(&b);
}

static void s3_key_encoding(void **state)
{
	struct es_aws_call c;
	assert_int_equal(es_s3_get_object_call(&c, "bkt", "dir/a b+c.json"), ES_OK);
	assert_string_equal(c.path.data, "/bkt/dir/a%20b%2Bc.json");
	es_aws_call_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(cfn_describe_stacks),
	        cmocka_unit_test(cfn_describe_stack_events),
	        cmocka_unit_test(cf_get_distribution),
	        cmocka_unit_test(cf_create_invalidation),
	        cmocka_unit_test(cf_get_invalidation),
	        cmocka_unit_test(codepipeline_state),
	        cmocka_unit_test(sts_caller_identity),
	        cmocka_unit_test(s3_put_object),
	        cmocka_unit_test(lambda_get_function),
	        cmocka_unit_test(error_query),
	        cmocka_unit_test(error_s3),
	        cmocka_unit_test(error_head_without_body),
	        cmocka_unit_test(error_json),
	        cmocka_unit_test(error_rest_json_header),
	        cmocka_unit_test(error_garbage_body),
	        cmocka_unit_test(error_json_body_on_xml_service),
	        cmocka_unit_test(error_message_control_chars),
	        cmocka_unit_test(form_encoding),
	        cmocka_unit_test(s3_key_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
