/* The Lambda calls behind a canary function (core/aws/lambda.h): reading a
 * function's configuration, creating one from another's, publishing new
 * code, and the wait until Lambda has applied a change (InProgress, then
 * Successful; Failed is an error carrying Lambda's reason); through the
 * fake AWS, answers shaped as botocore's lambda 2015-03-31 model says. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/lambda.h"
#include "base/error.h"
#include "fakeaws.h"

#define ACCT "123456789012"
#define FN   "arn:aws:lambda:us-east-1:" ACCT ":function:"
#define ROLE "arn:aws:iam::" ACCT ":role/site-edge-role"


/* A FunctionConfiguration answer: name, ARN (with the version's
 * qualifier or not), Version, State, LastUpdateStatus and its reason. */
static char *config_json(const char *name, const char *arn, const char *version, const char *state,
                         const char *lus, const char *reason, const char *reason_code)
{
	json_t *o = json_pack(
	        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:s, s:s, s:s, "
	        "s:{s:s}, s:s, s:s, s:s, s:s, s:[s]}",
	        "FunctionName", name, "FunctionArn", arn, "Runtime", "nodejs20.x", "Role", ROLE,
	        "Handler", "index.handler", "CodeSize", 308, "Description", "", "Timeout", 5,
	        "MemorySize", 128, "LastModified", "2026-12-02T10:00:00.000+0000", "CodeSha256",
	        "PFn4S+er27qk+UuZSTKEQfNKG/XNn7QJs90mJgq6oH8=", "Version", version, "TracingConfig",
	        "Mode", "PassThrough", "RevisionId", "873282ed-xmpl-4dc8-a069-d0c647e470c6",
	        "State", state, "LastUpdateStatus", lus, "PackageType", "Zip", "Architectures",
	        "x86_64");
	assert_non_null(o);
	if (reason)
		json_object_set_new(o, "LastUpdateStatusReason", json_string(reason));
	if (reason_code)
		json_object_set_new(o, "LastUpdateStatusReasonCode", json_string(reason_code));
	char *s = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	assert_non_null(s);
	return s;
}

static void reads_a_function_s_configuration(void **state)
{
	struct fake_fixture *e = *state;
	struct es_lambda_config cfg;
	char *json = config_json("site-edge", FN "site-edge", "$LATEST", "Active", "Successful",
	                         NULL, NULL);

	fake_expect(e->fake, "GET", "/2015-03-31/functions/site-edge/configuration", 200, NULL,
	            json);
	assert_int_equal(es_lambda_get_config(e->aws, "site-edge", &cfg), ES_OK);
	assert_string_equal(cfg.name, "site-edge");
	assert_string_equal(cfg.arn, FN "site-edge");
	assert_string_equal(cfg.role, ROLE);
	assert_string_equal(cfg.runtime, "nodejs20.x");
	assert_string_equal(cfg.handler, "index.handler");
	assert_string_equal(cfg.version, "$LATEST");
	assert_string_equal(cfg.state, "Active");
	assert_string_equal(cfg.last_update_status, "Successful");
	assert_null(cfg.last_update_reason);
	assert_int_equal(cfg.timeout_s, 5);
	assert_int_equal(cfg.memory_mb, 128);
	assert_string_equal(fake_last(e->fake)->service, "lambda");
	es_lambda_config_free(&cfg);
	free(json);

	fake_expect_error(e->fake, "GET", "/2015-03-31/functions/gone/configuration", 404,
	                  "ResourceNotFoundException", "Function not found: " FN "gone");
	assert_int_equal(es_lambda_get_config(e->aws, "gone", &cfg), ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "ResourceNotFoundException");
	assert_int_equal(es_error_last()->http_status, 404);
	assert_null(cfg.name);

	/* Other errors stay AWS errors. */
	fake_expect_error(e->fake, "GET", "/2015-03-31/functions/*/configuration", 403,
	                  "AccessDeniedException", "not authorized");
	assert_int_equal(es_lambda_get_config(e->aws, "site-edge", &cfg), ES_EAWS);
}

static void request_bodies(void **state)
{
	(void)state;
	struct es_aws_call c;
	struct es_lambda_config like = {
	        .role = (char *)ROLE,
	        .runtime = (char *)"nodejs20.x",
	        .handler = (char *)"index.handler",
	        .timeout_s = 5,
	        .memory_mb = 128,
	};

	assert_int_equal(es_lambda_create_function_call(&c, "es-canary-site-edge-1a2b3c4d", &like,
	                                                "artifacts", "site/\"x\".zip"),
	                 ES_OK);
	assert_string_equal(c.method, "POST");
	assert_string_equal(es_buf_str(&c.path), "/2015-03-31/functions");
	assert_string_equal(c.content_type, "application/json");
	assert_string_equal(
	        es_buf_str(&c.body),
	        "{\"FunctionName\": \"es-canary-site-edge-1a2b3c4d\", "
	        "\"Runtime\": \"nodejs20.x\", \"Role\": \"" ROLE "\", "
	        "\"Handler\": \"index.handler\", \"Code\": {\"S3Bucket\": \"artifacts\", "
	        "\"S3Key\": \"site/\\\"x\\\".zip\"}, \"Timeout\": 5, \"MemorySize\": 128, "
	        "\"Publish\": true}");
	assert_true(c.mutating);
	es_aws_call_free(&c);

	assert_int_equal(es_lambda_update_code_call(&c, "es-canary-site-edge-1a2b3c4d", "artifacts",
	                                            "site/b.zip"),
	                 ES_OK);
	assert_string_equal(c.method, "PUT");
	assert_string_equal(es_buf_str(&c.path),
	                    "/2015-03-31/functions/es-canary-site-edge-1a2b3c4d/code");
	assert_string_equal(es_buf_str(&c.body), "{\"S3Bucket\": \"artifacts\", "
	                                         "\"S3Key\": \"site/b.zip\", \"Publish\": true}");
	assert_true(c.mutating);
	es_aws_call_free(&c);

	assert_int_equal(es_lambda_update_config_call(&c, "es-canary-site-edge-1a2b3c4d", &like),
	                 ES_OK);
	assert_string_equal(c.method, "PUT");
	assert_string_equal(es_buf_str(&c.path),
	                    "/2015-03-31/functions/es-canary-site-edge-1a2b3c4d/configuration");
	assert_string_equal(es_buf_str(&c.body),
	                    "{\"Role\": \"" ROLE "\", \"Handler\": \"index.handler\", "
	                    "\"Timeout\": 5, \"MemorySize\": 128, \"Runtime\": \"nodejs20.x\"}");
	assert_true(c.mutating);
	es_aws_call_free(&c);
}

static void creates_a_published_function(void **state)
{
	struct fake_fixture *e = *state;
	struct es_lambda_config like = {.role = (char *)ROLE,
	                                .runtime = (char *)"nodejs20.x",
	                                .handler = (char *)"index.handler",
	                                .timeout_s = 5,
	                                .memory_mb = 128};
	char *arn;
	char *json = config_json("es-canary-x", FN "es-canary-x:1", "1", "Active", "Successful",
	                         NULL, NULL);

	fake_rule_body_has(fake_expect(e->fake, "POST", "/2015-03-31/functions", 201, NULL, json),
	                   "\"Publish\": true");
	assert_int_equal(es_lambda_create_from(e->aws, "es-canary-x", &like, "artifacts",
	                                       "site/a.zip", &arn),
	                 ES_OK);
	assert_string_equal(arn, FN "es-canary-x:1");
	assert_non_null(strstr(fake_last(e->fake)->body, "\"S3Key\": \"site/a.zip\""));
	free(arn);
	free(json);

	/* An answer naming the function without its version: the version
	 * is added. */
	json = config_json("es-canary-y", FN "es-canary-y", "1", "Active", "Successful", NULL,
	                   NULL);
	fake_expect(e->fake, "POST", "/2015-03-31/functions", 201, NULL, json);
	assert_int_equal(es_lambda_create_from(e->aws, "es-canary-y", &like, "artifacts",
	                                       "site/a.zip", &arn),
	                 ES_OK);
	assert_string_equal(arn, FN "es-canary-y:1");
	free(arn);
	free(json);

	/* Nothing published ($LATEST) is no version to run. */
	json = config_json("es-canary-z", FN "es-canary-z", "$LATEST", "Active", "Successful", NULL,
	                   NULL);
	fake_expect(e->fake, "POST", "/2015-03-31/functions", 201, NULL, json);
	assert_int_equal(es_lambda_create_from(e->aws, "es-canary-z", &like, "artifacts",
	                                       "site/a.zip", &arn),
	                 ES_EPARSE);
	assert_null(arn);
	free(json);

	fake_expect_error(e->fake, "POST", "/2015-03-31/functions", 409,
	                  "ResourceConflictException", "Function already exist: es-canary-x");
	assert_int_equal(es_lambda_create_from(e->aws, "es-canary-x", &like, "artifacts",
	                                       "site/a.zip", &arn),
	                 ES_EAWS);
	assert_string_equal(es_error_last()->code, "ResourceConflictException");

	/* No role to copy: nothing sent. */
	size_t before = fake_count(e->fake);
	like.role = NULL;
	assert_int_equal(es_lambda_create_from(e->aws, "es-canary-x", &like, "artifacts",
	                                       "site/a.zip", &arn),
	                 ES_EINVAL);
	assert_int_equal(fake_count(e->fake), before);
}

static void update_waits_until_successful(void **state)
{
	struct fake_fixture *e = *state;
	char *arn;
	char *changing = config_json("es-canary-x", FN "es-canary-x:4", "4", "Active", "InProgress",
	                             NULL, NULL);
	char *done = config_json("es-canary-x", FN "es-canary-x:4", "4", "Active", "Successful",
	                         NULL, NULL);

	fake_expect(e->fake, "PUT", "/2015-03-31/functions/es-canary-x/code", 200, NULL, changing);
	/* The version is what is waited for: its ARN is the name asked. */
	fake_rule_times(fake_expect(e->fake, "GET",
	                            "/2015-03-31/functions/*es-canary-x*4/configuration", 200, NULL,
	                            changing),
	                2);
	fake_expect(e->fake, "GET", "/2015-03-31/functions/*/configuration", 200, NULL, done);

	assert_int_equal(es_lambda_update_code_publish(e->aws, "es-canary-x", "artifacts",
	                                               "site/b.zip", 1, 60, &arn),
	                 ES_OK);
	assert_string_equal(arn, FN "es-canary-x:4");
	free(arn);
	assert_int_equal(
	        fake_count_matching(e->fake, "GET", "/2015-03-31/functions/*/configuration"), 3);
	/* Polls come after the change, never before it, and ask for the
	 * published version (what CloudFront will run), not $LATEST. */
	assert_string_equal(fake_request_at(e->fake, 0)->method, "PUT");
	assert_string_equal(fake_request_at(e->fake, 1)->path,
	                    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A" ACCT
	                    "%3Afunction%3Aes-canary-x%3A4/configuration");

	/* Already Successful in the answer: no poll at all. */
	fake_log_clear(e->fake);
	fake_expect(e->fake, "PUT", "/2015-03-31/functions/es-canary-x/code", 200, NULL, done);
	assert_int_equal(es_lambda_update_code_publish(e->aws, "es-canary-x", "artifacts",
	                                               "site/b.zip", 1, 60, &arn),
	                 ES_OK);
	assert_int_equal(fake_count(e->fake), 1);
	free(arn);
	free(changing);
	free(done);
}

static void a_failed_update_is_an_error_with_lambda_s_reason(void **state)
{
	struct fake_fixture *e = *state;
	char *arn;
	char *changing = config_json("es-canary-x", FN "es-canary-x:5", "5", "Active", "InProgress",
	                             NULL, NULL);
	char *failed = config_json("es-canary-x", FN "es-canary-x:5", "5", "Active", "Failed",
	                           "The runtime parameter of nodejs8.10 is no longer supported",
	                           "InvalidRuntime");

	fake_expect(e->fake, "PUT", "/2015-03-31/functions/es-canary-x/code", 200, NULL, changing);
	fake_expect(e->fake, "GET", "/2015-03-31/functions/*/configuration", 200, NULL, failed);
	assert_int_equal(es_lambda_update_code_publish(e->aws, "es-canary-x", "artifacts",
	                                               "site/b.zip", 1, 60, &arn),
	                 ES_ERR);
	assert_null(arn);
	assert_non_null(strstr(es_error_last()->message,
	                       "The runtime parameter of nodejs8.10 is no longer supported"));
	assert_non_null(strstr(es_error_last()->message, "es-canary-x"));
	assert_string_equal(es_error_last()->code, "InvalidRuntime");

	/* Failed already in the answer to the change itself. */
	fake_expect(e->fake, "PUT", "/2015-03-31/functions/es-canary-x/code", 200, NULL, failed);
	assert_int_equal(es_lambda_update_code_publish(e->aws, "es-canary-x", "artifacts",
	                                               "site/b.zip", 1, 60, &arn),
	                 ES_ERR);
	assert_non_null(strstr(es_error_last()->message, "no longer supported"));
	free(changing);
	free(failed);
}

static void waiting_gives_up_after_its_timeout(void **state)
{
	struct fake_fixture *e = *state;
	char *arn;
	char *changing = config_json("es-canary-x", FN "es-canary-x:6", "6", "Pending",
	                             "InProgress", NULL, NULL);

	fake_expect(e->fake, "PUT", "/2015-03-31/functions/es-canary-x/code", 200, NULL, changing);
	fake_rule_times(fake_expect(e->fake, "GET", "/2015-03-31/functions/*/configuration", 200,
	                            NULL, changing),
	                FAKE_FOREVER);
	assert_int_equal(es_lambda_update_code_publish(e->aws, "es-canary-x", "artifacts",
	                                               "site/b.zip", 250, 1, &arn),
	                 ES_ERR);
	assert_null(arn);
	assert_non_null(strstr(es_error_last()->message, "still being changed"));
	assert_non_null(strstr(es_error_last()->message, "State Pending"));
	size_t polls = fake_count_matching(e->fake, "GET", "/2015-03-31/functions/*/configuration");
	assert_true(polls >= 1 && polls <= 5);
	free(changing);
}

static void configuration_update_waits_too(void **state)
{
	struct fake_fixture *e = *state;
	struct es_lambda_config like = {.role = (char *)ROLE,
	                                .runtime = (char *)"nodejs20.x",
	                                .handler = (char *)"index.handler",
	                                .timeout_s = 5,
	                                .memory_mb = 128};
	char *done = config_json("es-canary-x", FN "es-canary-x", "$LATEST", "Active", "Successful",
	                         NULL, NULL);

	fake_rule_body_has(fake_expect(e->fake, "PUT",
	                               "/2015-03-31/functions/es-canary-x/configuration", 200, NULL,
	                               done),
	                   "\"MemorySize\": 128");
	assert_int_equal(es_lambda_update_config_like(e->aws, "es-canary-x", &like), ES_OK);
	assert_int_equal(fake_count(e->fake), 1);

	fake_expect_error(e->fake, "PUT", "/2015-03-31/functions/es-canary-x/configuration", 409,
	                  "ResourceConflictException",
	                  "The operation cannot be performed at this time. An update is in "
	                  "progress for resource: " FN "es-canary-x");
	assert_int_equal(es_lambda_update_config_like(e->aws, "es-canary-x", &like), ES_EAWS);
	assert_string_equal(es_error_last()->code, "ResourceConflictException");
	free(done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(reads_a_function_s_configuration, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test(request_bodies),
	        cmocka_unit_test_setup_teardown(creates_a_published_function, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(update_waits_until_successful, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(a_failed_update_is_an_error_with_lambda_s_reason,
	                                        fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(waiting_gives_up_after_its_timeout, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(configuration_update_waits_too, fake_fixture_setup, fake_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
