/* The request pipeline (core/aws/aws.c) against the scripted fake: which
 * failures are retried and how long it waits, the retry quota, clock-skew
 * correction from the server's Date, expired session tokens refreshed from
 * their source, final 4xx answers not retried, and the AWS error (code,
 * status, request id) kept for the caller. */
#include "config.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "aws/aws.h"
#include "aws/credentials.h"
#include "aws/retry.h"
#include "aws/s3.h"
#include "aws/sts.h"
#include "base/error.h"
#include "fakeaws.h"
#include "testutil.h"

#define ARN "arn:aws:iam::123456789012:user/release-manager"

struct trace_log {
	int n;
	struct {
		long status;
		char code[64];
		int attempt;
		long retry_in;
	} t[256];
};

static void on_trace(const struct es_aws_trace *t, void *ud)
{
	struct trace_log *l = ud;
	if (l->n < 256) {
		l->t[l->n].status = t->http_status;
		snprintf(l->t[l->n].code, sizeof(l->t[l->n].code), "%s", t->code);
		l->t[l->n].attempt = t->attempt;
		l->t[l->n].retry_in = t->retry_in_ms;
	}
	l->n++;
}

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	struct trace_log trace;
	char *dir;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	e->dir = tu_mkdtemp();
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->dir || !e->loop || !e->fake)
		return -1;
	e->aws = fake_client(e->fake);
	es_aws_set_trace(e->aws, on_trace, &e->trace);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (fake_unmatched(e->fake))
		fake_dump(e->fake, stderr);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	tu_rmtree(e->dir);
	free(e->dir);
	free(e);
	es_credentials_cache_clear();
	return 0;
}

static int identity(struct env *e, struct es_caller_identity *id)
{
	return es_sts_get_caller_identity(e->aws, id);
}

/* ------------------------------------------------------------ the happy path */

static void signed_request_reaches_the_fake(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	fake_sts_identity(e->fake, ARN);
	assert_int_equal(identity(e, &id), ES_OK);
	assert_string_equal(id.arn, ARN);
	assert_string_equal(id.account, "123456789012");
	es_caller_identity_free(&id);

	assert_int_equal(fake_count(e->fake), 1);
	const struct fake_request *q = fake_request_at(e->fake, 0);
	assert_string_equal(q->method, "POST");
	assert_string_equal(q->path, "/");
	assert_string_equal(q->service, "sts");
	assert_string_equal(q->operation, "GetCallerIdentity");
	assert_string_equal(fake_req_param(q, "Version"), "2011-06-15");
	assert_string_equal(q->access_key_id, FAKE_ACCESS_KEY_ID);
	assert_int_equal(strlen(q->amz_date), 16);
	assert_non_null(strstr(fake_req_header(q, "Authorization"), "SignedHeaders="));
	assert_string_equal(fake_req_header(q, "Host"), "fake.invalid");
	assert_int_equal(e->trace.n, 1);
	assert_int_equal(e->trace.t[0].status, 200);
	assert_int_equal(e->trace.t[0].retry_in, -1);
}

struct async_result {
	bool done;
	int rc;
	long status;
	int64_t at;
};

static void async_done(int rc, const struct es_http_response *resp, const struct es_error *err,
                       void *ud)
{
	struct async_result *r = ud;
	r->done = true;
	r->rc = rc;
	r->status = resp ? resp->status : 0;
	r->at = es_loop_now_ms();
}

static void answers_come_later_on_the_loop(void **state)
{
	struct env *e = *state;
	struct es_aws_call call;
	struct async_result r = {0};

	fake_rule_delay(fake_sts_identity(e->fake, ARN), 150);
	assert_int_equal(es_sts_get_caller_identity_call(&call), ES_OK);
	int64_t t0 = es_loop_now_ms();
	assert_int_equal(es_aws_send(e->aws, &call, async_done, &r), ES_OK);
	/* Never inside es_aws_send, even though the fake decided at once. */
	assert_false(r.done);
	assert_int_equal(fake_count(e->fake), 1);
	assert_true(fake_run_until(e->fake, &r.done, 10000));
	assert_int_equal(r.rc, ES_OK);
	assert_int_equal(r.status, 200);
	assert_true(r.at - t0 >= 150);
}

static void zero_delay_is_still_asynchronous(void **state)
{
	struct env *e = *state;
	struct es_aws_call call;
	struct async_result r = {0};

	fake_sts_identity(e->fake, ARN);
	assert_int_equal(es_sts_get_caller_identity_call(&call), ES_OK);
	assert_int_equal(es_aws_send(e->aws, &call, async_done, &r), ES_OK);
	assert_false(r.done);
	assert_true(fake_run_until(e->fake, &r.done, 10000));
	assert_int_equal(r.rc, ES_OK);
}

/* ------------------------------------------------------------ retries */

static void retries_500_then_succeeds(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	fake_expect_error(e->fake, "POST", "GetCallerIdentity", 500, "InternalFailure", "oops");
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_int_equal(fake_count(e->fake), 2);
	assert_int_equal(e->trace.n, 2);
	assert_int_equal(e->trace.t[0].status, 500);
	assert_string_equal(e->trace.t[0].code, "InternalFailure");
	/* Full jitter on the first retry: rand * 1 s. */
	assert_true(e->trace.t[0].retry_in >= 0 && e->trace.t[0].retry_in < 1000);
	const struct fake_request *a = fake_request_at(e->fake, 0),
	                          *b = fake_request_at(e->fake, 1);
	assert_true(b->at_ms - a->at_ms >= e->trace.t[0].retry_in);
	assert_int_equal(e->trace.t[1].status, 200);
}

static void retries_503_and_throttling_with_the_hinted_delay(void **state)
{
	struct env *e = *state;
	struct es_buf out = ES_BUF_INIT;

	fake_s3_put(e->fake, "artifacts", "a.zip", "zip!", 4);
	fake_rule_answer_header(fake_expect_error(e->fake, "GET", "/artifacts/a.zip", 503,
	                                          "SlowDown", "Reduce your request rate."),
	                        "x-amz-retry-after: 40");
	fake_rule_answer_header(
	        fake_expect_error(e->fake, "GET", "GetObject", 400, "Throttling", "Rate exceeded"),
	        "x-amz-retry-after: 25");
	/* No rule left: the in-memory S3 answers the third attempt. */
	assert_int_equal(es_s3_get_object(e->aws, "artifacts", "a.zip", &out), ES_OK);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "zip!", 4);
	es_buf_free(&out);
	assert_int_equal(e->trace.n, 3);
	assert_int_equal(e->trace.t[0].status, 503);
	assert_int_equal(e->trace.t[0].retry_in, 40);
	assert_string_equal(e->trace.t[1].code, "Throttling");
	assert_int_equal(e->trace.t[1].retry_in, 25);
	assert_int_equal(e->trace.t[2].status, 200);
	/* Timers never fire early: the gaps are at least the hints. */
	assert_true(fake_request_at(e->fake, 1)->at_ms - fake_request_at(e->fake, 0)->at_ms >= 40);
	assert_true(fake_request_at(e->fake, 2)->at_ms - fake_request_at(e->fake, 1)->at_ms >= 25);
}

static void slow_answers_and_timeouts(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	/* A slow 503, then an attempt that times out, then a slow success. */
	fake_rule_answer_header(
	        fake_rule_delay(fake_expect_error(e->fake, "POST", "GetCallerIdentity", 503,
	                                          "ServiceUnavailable", "busy"),
	                        120),
	        "x-amz-retry-after: 1");
	fake_rule_delay(
	        fake_rule_timeout(fake_expect(e->fake, "POST", "GetCallerIdentity", 0, NULL, NULL)),
	        80);
	fake_rule_delay(fake_sts_identity(e->fake, ARN), 100);
	int64_t t0 = es_loop_now_ms();
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_true(es_loop_now_ms() - t0 >= 120 + 80 + 100);
	assert_int_equal(fake_count(e->fake), 3);
	assert_int_equal(e->trace.n, 3);
	assert_int_equal(e->trace.t[0].status, 503);
	assert_int_equal(e->trace.t[1].status, 0); /* no answer: the timeout */
	assert_true(e->trace.t[1].retry_in >= 0 && e->trace.t[1].retry_in < 2000);
	assert_int_equal(e->trace.t[2].status, 200);
}

static void transport_errors_are_retried(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	fake_rule_reset(fake_expect(e->fake, "POST", "GetCallerIdentity", 0, NULL, NULL));
	fake_rule_cut(fake_expect(e->fake, "POST", "GetCallerIdentity", 0, NULL, NULL));
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_int_equal(fake_count(e->fake), 3);
	assert_int_equal(fake_request_at(e->fake, 0)->curl_code, CURLE_RECV_ERROR);
	assert_int_equal(fake_request_at(e->fake, 1)->curl_code, CURLE_PARTIAL_FILE);
	assert_false(fake_request_at(e->fake, 0)->applied);
}

static void gives_up_after_max_attempts(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	fake_rule_answer_header(
	        fake_rule_times(fake_expect_error(e->fake, "POST", "GetCallerIdentity", 500,
	                                          "InternalFailure", "down"),
	                        FAKE_FOREVER),
	        "x-amz-retry-after: 1");
	assert_int_equal(identity(e, &id), ES_EAWS);
	const struct es_error *err = es_error_last();
	assert_int_equal(err->http_status, 500);
	assert_string_equal(err->code, "InternalFailure");
	/* The request id of the answer we gave up on, not the first one. */
	assert_string_equal(err->request_id, fake_request_at(e->fake, 2)->request_id);
	assert_int_equal(fake_count(e->fake), 3);
	assert_int_equal(e->trace.t[2].retry_in, -1);
}

static void final_4xx_is_not_retried_and_keeps_its_request_id(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;
	char line[512];

	fake_expect_error(e->fake, "POST", "GetCallerIdentity", 403, "AccessDenied",
	                  "User: " ARN " is not authorized to perform: sts:GetCallerIdentity");
	assert_int_equal(identity(e, &id), ES_EAWS);
	const struct es_error *err = es_error_last();
	assert_int_equal(err->status, ES_EAWS);
	assert_int_equal(err->http_status, 403);
	assert_string_equal(err->code, "AccessDenied");
	assert_string_equal(err->request_id, "FAKE-1");
	assert_non_null(strstr(err->message, "not authorized"));
	es_error_format(err, line, sizeof(line));
	assert_non_null(strstr(line, "AccessDenied (403)"));
	assert_non_null(strstr(line, "FAKE-1"));
	assert_int_equal(fake_count(e->fake), 1);
	assert_int_equal(e->trace.n, 1);
	assert_int_equal(e->trace.t[0].retry_in, -1);
}

static void validation_and_precondition_errors_are_final(void **state)
{
	struct env *e = *state;

	/* 412 from a conditional create: the ledger's "number taken". */
	fake_s3_put(e->fake, "artifacts", "ledger/1.json", "{}", 2);
	struct es_s3_put put = {.if_none_match = true};
	assert_int_equal(es_s3_put_object(e->aws, "artifacts", "ledger/1.json", "{}", 2, &put),
	                 ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_string_equal(es_error_last()->code, "PreconditionFailed");
	assert_string_equal(es_error_last()->request_id, "FAKE-1");
	assert_int_equal(fake_count(e->fake), 1);
}

static void unmatched_requests_fail_without_retry(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	assert_int_equal(identity(e, &id), ES_EAWS);
	assert_string_equal(es_error_last()->code, "FakeNoRule");
	assert_int_equal(fake_count(e->fake), 1);
	assert_int_equal(fake_unmatched(e->fake), 1);
	fake_log_clear(e->fake); /* expected here: keep teardown quiet */
}

/* ------------------------------------------------------------ the quota */

static struct fake_rule *always_500(struct fake_aws *f)
{
	return fake_rule_answer_header(
	        fake_rule_times(fake_expect_error(f, "POST", "GetCallerIdentity", 500,
	                                          "InternalFailure", "down"),
	                        FAKE_FOREVER),
	        "x-amz-retry-after: 0");
}

static void retry_quota_runs_out_and_refills(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	/* 500 tokens, 5 a retry, 2 retries a request: 50 requests drain it. */
	always_500(e->fake);
	for (int i = 0; i < 50; i++)
		assert_int_equal(identity(e, &id), ES_EAWS);
	assert_int_equal(fake_count(e->fake), 150);
	/* The quota is spent: one attempt, no retry. */
	assert_int_equal(identity(e, &id), ES_EAWS);
	assert_int_equal(fake_count(e->fake), 151);
	assert_int_equal(e->trace.t[e->trace.n - 1].attempt, 1);
	assert_int_equal(e->trace.t[e->trace.n - 1].retry_in, -1);

	/* A success without retries gives one token back; five buy a retry. */
	fake_rules_clear(e->fake);
	fake_sts_identity(e->fake, ARN);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(identity(e, &id), ES_OK);
		es_caller_identity_free(&id);
	}
	fake_rules_clear(e->fake);
	always_500(e->fake);
	size_t before = fake_count(e->fake);
	assert_int_equal(identity(e, &id), ES_EAWS);
	assert_int_equal(fake_count(e->fake), before + 2);
}

/* ------------------------------------------------------------ clock skew */

static void clock_skew_is_corrected_from_the_date_header(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	/* The server is an hour ahead of us: our signature looks expired. */
	fake_set_clock_offset(e->fake, 3600);
	fake_sts_identity(e->fake, ARN);
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_int_equal(fake_count(e->fake), 2);
	const struct fake_request *first = fake_request_at(e->fake, 0);
	const struct fake_request *second = fake_request_at(e->fake, 1);
	assert_int_equal(first->status, 403);
	assert_false(first->applied);
	assert_int_equal(second->status, 200);
	long off = es_aws_clock_offset(e->aws);
	assert_true(off >= 3600 - 5 && off <= 3600 + 5);
	/* The retry was signed on the server's clock, at once. */
	assert_string_not_equal(first->amz_date, second->amz_date);
	assert_int_equal(e->trace.t[0].retry_in, 0);
	assert_string_equal(e->trace.t[0].code, "SignatureDoesNotMatch");

	/* Later requests keep the correction: no second refusal. */
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_int_equal(fake_count(e->fake), 3);
}

static void s3_clock_skew_too(void **state)
{
	struct env *e = *state;
	struct es_buf out = ES_BUF_INIT;

	/* GET, not HEAD: a HEAD refusal has no body to name the cause. */
	fake_set_clock_offset(e->fake, -2 * 3600);
	fake_s3_put(e->fake, "artifacts", "t.json", "{}", 2);
	assert_int_equal(es_s3_get_object(e->aws, "artifacts", "t.json", &out), ES_OK);
	assert_int_equal(out.len, 2);
	es_buf_free(&out);
	assert_int_equal(fake_count(e->fake), 2);
	assert_string_equal(e->trace.t[0].code, "RequestTimeTooSkewed");
	long off = es_aws_clock_offset(e->aws);
	assert_true(off <= -2 * 3600 + 5 && off >= -2 * 3600 - 5);
}

static void a_real_signature_mismatch_is_final(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	fake_expect_error(e->fake, "POST", "GetCallerIdentity", 403, "SignatureDoesNotMatch",
	                  "The request signature we calculated does not match the signature "
	                  "you provided.");
	assert_int_equal(identity(e, &id), ES_EAWS);
	assert_int_equal(fake_count(e->fake), 1);
	assert_int_equal(es_aws_clock_offset(e->aws), 0);
}

/* ------------------------------------------------------------ expired tokens */

/* A credential_process that hands out a new session on every run. */
static void use_rotating_process(struct env *e)
{
	char script[4096], cfg[4096];

	snprintf(script, sizeof(script),
	         "#!/bin/sh\n"
	         "n=$(cat '%s/count' 2>/dev/null || echo 0)\n"
	         "n=$((n + 1))\n"
	         "echo $n > '%s/count'\n"
	         "printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAFAKEROTATING%%04d\", "
	         "\"SecretAccessKey\": \"dummy-%%d\", \"SessionToken\": \"session-%%d\", "
	         "\"Expiration\": \"2099-01-01T00:00:00Z\"}' $n $n $n\n",
	         e->dir, e->dir);
	char *path = tu_write_file(e->dir, "creds.sh", script);
	assert_non_null(path);
	chmod(path, 0700);
	snprintf(cfg, sizeof(cfg), "[profile rotating]\ncredential_process = %s\n", path);
	char *cfg_path = tu_write_file(e->dir, "config", cfg);
	assert_non_null(cfg_path);
	setenv("AWS_CONFIG_FILE", cfg_path, 1);
	setenv("AWS_PROFILE", "rotating", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	free(path);
	free(cfg_path);
	/* A client that reads this profile. */
	es_aws_client_free(e->aws);
	e->aws = fake_client(e->fake);
	es_aws_set_trace(e->aws, on_trace, &e->trace);
}

static void expired_token_gets_fresh_credentials(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	use_rotating_process(e);
	fake_sts_identity(e->fake, ARN);
	fake_expire_key(e->fake, "ASIAFAKEROTATING0001");
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_int_equal(fake_count(e->fake), 2);
	const struct fake_request *a = fake_request_at(e->fake, 0),
	                          *b = fake_request_at(e->fake, 1);
	assert_string_equal(a->access_key_id, "ASIAFAKEROTATING0001");
	assert_int_equal(a->status, 403);
	assert_string_equal(fake_req_header(a, "X-Amz-Security-Token"), "session-1");
	assert_string_equal(b->access_key_id, "ASIAFAKEROTATING0002");
	assert_string_equal(fake_req_header(b, "X-Amz-Security-Token"), "session-2");
	assert_int_equal(b->status, 200);
	assert_string_equal(e->trace.t[0].code, "ExpiredToken");
	assert_int_equal(e->trace.t[0].retry_in, 0);
	/* The fresh credentials stay for the next request. */
	assert_int_equal(identity(e, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_string_equal(fake_last(e->fake)->access_key_id, "ASIAFAKEROTATING0002");
}

static void expired_again_is_final(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	use_rotating_process(e);
	fake_sts_identity(e->fake, ARN);
	fake_expire_key(e->fake, "ASIAFAKEROTATING0001");
	fake_expire_key(e->fake, "ASIAFAKEROTATING0002");
	es_aws_set_max_attempts(e->aws, 5);
	assert_int_equal(identity(e, &id), ES_EAWS);
	assert_string_equal(es_error_last()->code, "ExpiredToken");
	/* One refresh, not one per remaining attempt. */
	assert_int_equal(fake_count(e->fake), 2);
}

static void static_keys_that_expired_fail_after_one_refresh(void **state)
{
	struct env *e = *state;
	struct es_caller_identity id;

	fake_sts_identity(e->fake, ARN);
	fake_expire_key(e->fake, FAKE_ACCESS_KEY_ID);
	assert_int_equal(identity(e, &id), ES_EAWS);
	assert_string_equal(es_error_last()->code, "ExpiredToken");
	assert_int_equal(fake_count(e->fake), 2);
}

static void expired_codes_are_classified(void **state)
{
	assert_int_equal(es_retry_classify(400, "ExpiredToken", 0, NULL), ES_RETRY_CREDENTIALS);
	assert_int_equal(es_retry_classify(403, "ExpiredTokenException", 0, NULL),
	                 ES_RETRY_CREDENTIALS);
	assert_int_equal(es_retry_cost(ES_RETRY_CREDENTIALS), 0);
	assert_int_equal(es_retry_classify(403, "InvalidClientTokenId", 0, NULL), ES_RETRY_NO);
}

/* ------------------------------------------------------------ lost answers */

static void lost_answer_after_a_conditional_put(void **state)
{
	struct env *e = *state;
	struct es_s3_put put = {.if_none_match = true};

	/* The PUT lands, its answer does not: the retry then meets its own
	 * object. Reconciling this is the caller's job (read it back). */
	fake_s3_bucket(e->fake, "artifacts");
	fake_rule_lost(fake_expect(e->fake, "PUT", "/artifacts/ledger/*", FAKE_S3, NULL, NULL));
	assert_int_equal(
	        es_s3_put_object(e->aws, "artifacts", "ledger/7.json", "{\"seq\":7}", 9, &put),
	        ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_int_equal(fake_count(e->fake), 2);
	assert_true(fake_request_at(e->fake, 0)->applied);
	assert_int_equal(fake_request_at(e->fake, 0)->curl_code, CURLE_RECV_ERROR);
	assert_false(fake_request_at(e->fake, 1)->applied);
	size_t len;
	const char *body = fake_s3_get(e->fake, "artifacts", "ledger/7.json", &len);
	assert_non_null(body);
	assert_string_equal(body, "{\"seq\":7}");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(signed_request_reaches_the_fake),
	        T(answers_come_later_on_the_loop),
	        T(zero_delay_is_still_asynchronous),
	        T(retries_500_then_succeeds),
	        T(retries_503_and_throttling_with_the_hinted_delay),
	        T(slow_answers_and_timeouts),
	        T(transport_errors_are_retried),
	        T(gives_up_after_max_attempts),
	        T(final_4xx_is_not_retried_and_keeps_its_request_id),
	        T(validation_and_precondition_errors_are_final),
	        T(unmatched_requests_fail_without_retry),
	        T(retry_quota_runs_out_and_refills),
	        T(clock_skew_is_corrected_from_the_date_header),
	        T(s3_clock_skew_too),
	        T(a_real_signature_mismatch_is_final),
	        T(expired_token_gets_fresh_credentials),
	        T(expired_again_is_final),
	        T(static_keys_that_expired_fail_after_one_refresh),
	        T(expired_codes_are_classified),
	        T(lost_answer_after_a_conditional_put),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
