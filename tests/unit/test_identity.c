/* whoami (core/identity.c) against the scripted fake: the caller from STS,
 * the settings that led there even when STS refuses, temporary keys, a
 * malformed answer, retries on the way, and no secret in the JSON. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "fakeaws.h"
#include "identity.h"

#define ARN "arn:aws:sts::123456789012:assumed-role/Deployer/ci-run-42"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	struct es_identity id;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->loop || !e->fake)
		return -1;
	*state = e;
	return 0;
}

static void open_client(struct env *e)
{
	e->aws = fake_client(e->fake);
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_identity_free(&e->id);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	free(e);
	return 0;
}

static void who_and_where(void **state)
{
	struct env *e = *state;

	open_client(e);
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_OK);
	assert_string_equal(e->id.arn, ARN);
	assert_string_equal(e->id.account, "123456789012");
	assert_string_equal(e->id.user_id, "AIDAFAKEUSERID");
	assert_string_equal(e->id.profile, "default");
	assert_string_equal(e->id.region, "us-east-1");
	assert_string_equal(e->id.region_source, "AWS_REGION");
	assert_string_equal(e->id.endpoint, "http://fake.invalid");
	assert_string_equal(e->id.endpoint_source, "AWS_ENDPOINT_URL");
	assert_string_equal(e->id.credential_source, "environment");
	/* First four and last four of FAKE_ACCESS_KEY_ID only. */
	assert_string_equal(e->id.access_key_hint, "AKID…0001");
	assert_false(e->id.temporary);
	assert_int_equal(e->id.expiration, 0);
	assert_int_equal(fake_count(e->fake), 1);
	assert_string_equal(fake_last(e->fake)->operation, "GetCallerIdentity");
	assert_int_equal(fake_unmatched(e->fake), 0);
}

static void session_keys_are_temporary(void **state)
{
	struct env *e = *state;

	setenv("AWS_SESSION_TOKEN", "fake-session-token", 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	open_client(e);
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_OK);
	assert_true(e->id.temporary);
	assert_string_equal(e->id.region, "eu-west-1");
	/* The token went out with the request, signed. */
	assert_string_equal(fake_req_header(fake_last(e->fake), "X-Amz-Security-Token"),
	                    "fake-session-token");
	assert_non_null(strstr(fake_req_header(fake_last(e->fake), "Authorization"),
	                       "/eu-west-1/sts/aws4_request"));
}

static void refused_keeps_what_is_known_locally(void **state)
{
	struct env *e = *state;

	open_client(e);
	fake_expect_error(e->fake, "POST", "GetCallerIdentity", 403, "InvalidClientTokenId",
	                  "The security token included in the request is invalid.");
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_EAWS);
	const struct es_error *err = es_error_last();
	assert_string_equal(err->code, "InvalidClientTokenId");
	assert_int_equal(err->http_status, 403);
	assert_string_equal(err->request_id, "FAKE-1");
	assert_null(e->id.arn);
	assert_string_equal(e->id.region, "us-east-1");
	assert_string_equal(e->id.endpoint, "http://fake.invalid");
	assert_string_equal(e->id.credential_source, "environment");
	assert_int_equal(fake_count(e->fake), 1); /* final: not retried */
}

static void throttled_then_answered(void **state)
{
	struct env *e = *state;

	open_client(e);
	fake_rule_answer_header(fake_expect_error(e->fake, "POST", "GetCallerIdentity", 400,
	                                          "Throttling", "Rate exceeded"),
	                        "x-amz-retry-after: 5");
	fake_rule_reset(fake_expect(e->fake, "POST", "GetCallerIdentity", 0, NULL, NULL));
	fake_sts_identity(e->fake, ARN);
	es_aws_set_max_attempts(e->aws, 3);
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_OK);
	assert_string_equal(e->id.arn, ARN);
	assert_int_equal(fake_count(e->fake), 3);
}

static void answer_without_arn_is_a_parse_error(void **state)
{
	struct env *e = *state;

	open_client(e);
	fake_expect(e->fake, "POST", "GetCallerIdentity", 200, NULL,
	            "<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>x</UserId>"
	            "</GetCallerIdentityResult></GetCallerIdentityResponse>");
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_EPARSE);
	assert_non_null(strstr(es_error_last()->message, "Arn"));
}

static void answer_that_is_not_xml(void **state)
{
	struct env *e = *state;

	open_client(e);
	fake_expect(e->fake, "POST", "GetCallerIdentity", 200, NULL, "<GetCallerIdentityResp");
	assert_int_not_equal(es_identity_fetch(e->aws, &e->id), ES_OK);
	assert_null(e->id.arn);
}

static void no_credentials_sends_nothing(void **state)
{
	struct env *e = *state;

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	open_client(e);
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_ECREDS);
	assert_int_equal(fake_count(e->fake), 0);
	assert_string_equal(e->id.region, "us-east-1");
	assert_null(e->id.arn);
}

static void json_has_the_fields_and_no_secret(void **state)
{
	struct env *e = *state;

	setenv("AWS_SESSION_TOKEN", "fake-session-token", 1);
	open_client(e);
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_OK);
	char *json = es_identity_json(&e->id);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"arn\": \"" ARN "\""));
	assert_non_null(strstr(json, "\"account\": \"123456789012\""));
	assert_non_null(strstr(json, "\"endpoint_source\": \"AWS_ENDPOINT_URL\""));
	assert_non_null(strstr(json, "\"temporary\": true"));
	assert_non_null(strstr(json, "\"expiration\": null"));
	assert_null(strstr(json, "fake-secret-for-unit-tests"));
	assert_null(strstr(json, "fake-session-token"));
	assert_null(strstr(json, FAKE_ACCESS_KEY_ID));
	free(json);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(who_and_where),
	        T(session_keys_are_temporary),
	        T(refused_keeps_what_is_known_locally),
	        T(throttled_then_answered),
	        T(answer_without_arn_is_a_parse_error),
	        T(answer_that_is_not_xml),
	        T(no_credentials_sends_nothing),
	        T(json_has_the_fields_and_no_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
