/* core/identity.c against the scripted fake. The shared caller identity:
 * several askers at once send one request, a failure reaches every waiter
 * and is not kept, a later ask costs nothing, and cancelled or re-entrant
 * askers are handled. whoami: the caller from STS, the settings that led
 * there even when STS refuses, temporary keys, a malformed answer, retries
 * on the way, and no secret in the JSON. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
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

/* ------------------------------------------------------------ the cache */

struct asker {
	struct env *e;
	int told;
	int rc;
	char arn[128];
	char code[64];
	/* what the callback does */
	bool free_client;
	bool wait_again;
	int wait_rc;
	struct asker *ask_again;
};

static void on_told(int rc, const struct es_caller_identity *id, const struct es_error *err,
                    void *ud)
{
	struct asker *a = ud;

	a->told++;
	a->rc = rc;
	if (rc == ES_OK) {
		assert_non_null(id);
		assert_null(err);
		snprintf(a->arn, sizeof(a->arn), "%s", id->arn);
	} else {
		assert_null(id);
		assert_non_null(err);
		snprintf(a->code, sizeof(a->code), "%s", err->code);
		/* the failure is the last error too */
		assert_int_equal(es_error_last()->status, rc);
	}
	if (a->free_client) {
		es_aws_client_free(a->e->aws);
		a->e->aws = NULL;
	}
	if (a->wait_again) {
		const struct es_caller_identity *again = NULL;
		a->wait_rc = es_identity_wait(a->e->aws, &again);
		if (a->wait_rc == ES_OK)
			assert_string_equal(again->arn, ARN);
	}
	if (a->ask_again)
		assert_int_equal(es_identity_get(a->e->aws, on_told, a->ask_again), ES_OK);
}

static bool all_told(struct asker *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!a[i].told)
			return false;
	return true;
}

static void run_until_told(struct env *e, struct asker *a, size_t n)
{
	bool done = false;

	for (int i = 0; i < 1000 && !done; i++) {
		fake_run_until(e->fake, &done, 10);
		done = all_told(a, n);
	}
	assert_true(done);
}

static void askers_at_once_share_one_request(void **state)
{
	struct env *e = *state;
	struct asker a[3] = {{.e = e}, {.e = e}, {.e = e}};
	const struct es_caller_identity *id;

	open_client(e);
	fake_rule_delay(fake_sts_identity(e->fake, ARN), 20);
	assert_null(es_identity_cached(e->aws));
	for (int i = 0; i < 3; i++)
		assert_int_equal(es_identity_get(e->aws, on_told, &a[i]), ES_OK);
	/* never inside es_identity_get */
	assert_int_equal(a[0].told + a[1].told + a[2].told, 0);
	run_until_told(e, a, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a[i].told, 1);
		assert_int_equal(a[i].rc, ES_OK);
		assert_string_equal(a[i].arn, ARN);
	}
	assert_int_equal(fake_count_matching(e->fake, "POST", "GetCallerIdentity"), 1);

	/* Later asks, in every form, cost nothing: the rule answered once and
	 * a second request would get FakeNoRule. */
	struct asker later = {.e = e};
	assert_int_equal(es_identity_get(e->aws, on_told, &later), ES_OK);
	assert_int_equal(later.told, 0);
	run_until_told(e, &later, 1);
	assert_int_equal(later.rc, ES_OK);
	assert_non_null(es_identity_cached(e->aws));
	assert_string_equal(es_identity_cached(e->aws)->account, "123456789012");
	assert_int_equal(es_identity_wait(e->aws, &id), ES_OK);
	assert_string_equal(id->arn, ARN);
	assert_int_equal(es_identity_fetch(e->aws, &e->id), ES_OK);
	assert_string_equal(e->id.arn, ARN);
	assert_int_equal(fake_count(e->fake), 1);
	assert_int_equal(fake_unmatched(e->fake), 0);
}

static void a_failure_reaches_every_waiter_and_is_not_kept(void **state)
{
	struct env *e = *state;
	struct asker a[3] = {{.e = e}, {.e = e}, {.e = e}};

	open_client(e);
	fake_rule_delay(fake_expect_error(e->fake, "POST", "GetCallerIdentity", 403, "AccessDenied",
	                                  "not allowed"),
	                10);
	for (int i = 0; i < 3; i++)
		assert_int_equal(es_identity_get(e->aws, on_told, &a[i]), ES_OK);
	run_until_told(e, a, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a[i].told, 1);
		assert_int_equal(a[i].rc, ES_EAWS);
		assert_string_equal(a[i].code, "AccessDenied");
	}
	assert_int_equal(fake_count(e->fake), 1);
	assert_null(es_identity_cached(e->aws));

	/* the next ask tries again */
	struct asker b = {.e = e};
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(es_identity_get(e->aws, on_told, &b), ES_OK);
	run_until_told(e, &b, 1);
	assert_int_equal(b.rc, ES_OK);
	assert_int_equal(fake_count(e->fake), 2);
	assert_int_equal(fake_unmatched(e->fake), 0);
}

static void no_credentials_is_told_later_and_sends_nothing(void **state)
{
	struct env *e = *state;
	struct asker a[2] = {{.e = e}, {.e = e}};
	const struct es_caller_identity *id = NULL;

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	open_client(e);
	/* the pipeline fails at once; the waiters still hear it from the loop */
	assert_int_equal(es_identity_get(e->aws, on_told, &a[0]), ES_OK);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[1]), ES_OK);
	assert_int_equal(a[0].told + a[1].told, 0);
	run_until_told(e, a, 2);
	assert_int_equal(a[0].rc, ES_ECREDS);
	assert_int_equal(a[1].rc, ES_ECREDS);
	assert_int_equal(es_identity_wait(e->aws, &id), ES_ECREDS);
	assert_null(id);
	assert_int_equal(fake_count(e->fake), 0);
}

static void a_cancelled_asker_is_not_told(void **state)
{
	struct env *e = *state;
	struct asker a[2] = {{.e = e}, {.e = e}};

	open_client(e);
	fake_rule_delay(fake_sts_identity(e->fake, ARN), 10);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[0]), ES_OK);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[1]), ES_OK);
	es_identity_cancel(e->aws, &a[0]);
	run_until_told(e, &a[1], 1);
	/* one more turn: nothing else is due */
	assert_int_equal(es_loop_turn(e->loop, 20), ES_OK);
	assert_int_equal(a[0].told, 0);
	assert_int_equal(a[1].told, 1);
	/* the answer is kept even when nobody waits */
	assert_non_null(es_identity_cached(e->aws));
	assert_int_equal(fake_count(e->fake), 1);
}

static void askers_from_callbacks_are_told_once(void **state)
{
	struct env *e = *state;
	struct asker later = {.e = e};
	struct asker a[2] = {{.e = e, .wait_again = true, .ask_again = &later}, {.e = e}};

	open_client(e);
	fake_expect_error(e->fake, "POST", "GetCallerIdentity", 500, "InternalFailure", "boom");
	fake_sts_identity(e->fake, ARN);
	es_aws_set_max_attempts(e->aws, 1);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[0]), ES_OK);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[1]), ES_OK);
	/* a[0] hears the failure and waits, from its callback, for a new
	 * answer: a[1] is told once all the same */
	run_until_told(e, a, 2);
	assert_int_equal(a[0].told, 1);
	assert_int_equal(a[0].rc, ES_EAWS);
	assert_string_equal(a[0].code, "InternalFailure");
	assert_int_equal(a[0].wait_rc, ES_OK);
	assert_int_equal(a[1].told, 1);
	/* and a[0]'s second ask is answered from the cache */
	run_until_told(e, &later, 1);
	assert_int_equal(later.rc, ES_OK);
	assert_int_equal(fake_count(e->fake), 2);
	assert_int_equal(es_loop_turn(e->loop, 20), ES_OK);
	assert_int_equal(a[0].told + a[1].told + later.told, 3);
}

static void the_client_freed_from_a_callback(void **state)
{
	struct env *e = *state;
	struct asker a[2] = {{.e = e, .free_client = true}, {.e = e}};

	open_client(e);
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[0]), ES_OK);
	assert_int_equal(es_identity_get(e->aws, on_told, &a[1]), ES_OK);
	run_until_told(e, a, 1);
	assert_null(e->aws);
	/* the delivery stopped with the client: nothing more is told (and
	 * the sanitizers see no use after free) */
	assert_int_equal(es_loop_turn(e->loop, 20), ES_OK);
	assert_int_equal(a[1].told, 0);
}

/* ------------------------------------------------------------ whoami */

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
	        T(askers_at_once_share_one_request),
	        T(a_failure_reaches_every_waiter_and_is_not_kept),
	        T(no_credentials_is_told_later_and_sends_nothing),
	        T(a_cancelled_asker_is_not_told),
	        T(askers_from_callbacks_are_told_once),
	        T(the_client_freed_from_a_callback),
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
