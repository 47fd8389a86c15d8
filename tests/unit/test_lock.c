/* Stage locks against the fake's S3: taken and released conditionally, ours
 * after a lost answer, refused with who holds them, taken over only when
 * S3's clock says they expired (or their action ended) and only that
 * version, never judged by the local clock. */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "fakeaws.h"
#include "lock.h"
#include "testutil.h"

#define BUCKET "artifacts"
#define KEY    "app/locks/staging.json"
#define PATH   "/artifacts/app/locks/staging.json"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	struct es_config conf;
	struct es_stage_conf stage;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->loop || !e->fake)
		return -1;
	e->aws = fake_client(e->fake);
	e->stage = (struct es_stage_conf){.name = "staging", .stack = "app-staging"};
	e->conf.app = "app";
	e->conf.bucket = BUCKET;
	e->conf.prefix = "app";
	e->conf.stages = &e->stage;
	e->conf.n_stages = 1;
	fake_s3_bucket(e->fake, BUCKET);
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
	free(e);
	return 0;
}

static void released(int rc, void *ud)
{
	bool *done = ud;

	assert_int_equal(rc, ES_OK);
	*done = true;
}

static void release(struct env *e, struct es_lock *lk)
{
	bool done = false;

	es_lock_release(lk, released, &done);
	assert_true(fake_run_until(e->fake, &done, 10000));
}

static struct es_lock *take(struct env *e, const char *action, int expect)
{
	struct es_lock *lk = NULL;

	assert_int_equal(es_lock_take(e->aws, &e->conf, "staging", "deploy",
	                              "arn:aws:iam::123456789012:user/ann", action, NULL, NULL,
	                              NULL, &lk, NULL),
	                 expect);
	return lk;
}

/* Someone else's lock, written at the fake's current time. */
static void their_lock(struct env *e, const char *action)
{
	char body[400];

	snprintf(body, sizeof(body),
	         "{\"kind\": \"promotion\", \"stage\": \"staging\", \"who\": "
	         "\"arn:aws:iam::123456789012:user/bob\", \"owner\": \"bobs-token\", "
	         "\"action_id\": \"%s\", \"when\": \"2026-12-01T10:00:00Z\", \"ttl_s\": %d, "
	         "\"expires\": \"2000-01-01T00:00:00Z\"}",
	         action, ES_LOCK_TTL_S);
	fake_s3_put(e->fake, BUCKET, KEY, body, strlen(body));
}

static void take_and_release(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take(e, "act-1", ES_OK);
	struct es_lock_info info;

	const struct fake_request *put = fake_find(e->fake, "PUT", PATH, 0);
	assert_string_equal(fake_req_header(put, "If-None-Match"), "*");
	assert_int_equal(es_lock_read(e->aws, &e->conf, "staging", &info), ES_OK);
	assert_true(info.held);
	assert_false(info.expired);
	assert_string_equal(info.action_id, "act-1");
	assert_string_equal(info.kind, "deploy");
	assert_true(info.expires_in_s > ES_LOCK_TTL_S - 60);
	const char *etag = fake_s3_etag(e->fake, BUCKET, KEY);
	char want[80];
	snprintf(want, sizeof(want), "%s", etag);
	release(e, lk);
	const struct fake_request *del = fake_find(e->fake, "DELETE", PATH, 0);
	assert_non_null(del);
	assert_string_equal(fake_req_header(del, "If-Match"), want);
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
}

static void lost_create_answer_is_ours(void **state)
{
	struct env *e = *state;

	fake_rule_lost(fake_expect(e->fake, "PUT", PATH, FAKE_S3, NULL, NULL));
	struct es_lock *lk = take(e, "act-2", ES_OK);
	assert_non_null(lk);
	/* The create landed, the retry met 412, the read back found our token. */
	assert_int_equal(fake_count_matching(e->fake, "PUT", PATH), 2);
	assert_int_equal(fake_count_matching(e->fake, "GET", PATH), 1);
	release(e, lk);
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
}

static void held_lock_refuses_with_who(void **state)
{
	struct env *e = *state;

	their_lock(e, "bobs-action");
	assert_null(take(e, "act-3", ES_EBUSY));
	const char *msg = es_error_last()->message;
	assert_non_null(strstr(msg, "promotion to staging is already running"));
	assert_non_null(strstr(msg, "user/bob"));
	assert_non_null(strstr(msg, "edgeship unlock --stage staging"));
	assert_int_equal(fake_count_matching(e->fake, "PUT", PATH), 1);
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "bobs-token"));
}

static void local_clock_does_not_expire_a_lock(void **state)
{
	struct env *e = *state;

	their_lock(e, "bobs-action");
	/* The body says it expired in 2000 by its writer's clock, and ours may
	 * say anything: only S3's Last-Modified against S3's Date counts. */
	fake_set_clock_offset(e->fake, -300);
	assert_null(take(e, "act-4", ES_EBUSY));
}

static void expired_by_s3_clock_is_taken_over_once(void **state)
{
	struct env *e = *state;
	struct es_lock_info was;

	their_lock(e, "bobs-action");
	char etag[80];
	snprintf(etag, sizeof(etag), "%s", fake_s3_etag(e->fake, BUCKET, KEY));
	fake_set_clock_offset(e->fake, ES_LOCK_TTL_S + 30);
	struct es_lock *lk = NULL;
	assert_int_equal(es_lock_take(e->aws, &e->conf, "staging", "deploy", "ann", "act-5", NULL,
	                              NULL, NULL, &lk, &was),
	                 ES_OK);
	assert_true(was.held && was.expired);
	assert_string_equal(was.action_id, "bobs-action");
	/* The takeover replaces only the version it read. */
	const struct fake_request *over = fake_find(e->fake, "PUT", PATH, 1);
	assert_non_null(over);
	assert_string_equal(fake_req_header(over, "If-Match"), etag);
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "act-5"));
	release(e, lk);
}

/* Between our read of the stale lock and our takeover, another console
 * takes it over: ours must lose. */
static void someone_else_first(struct fake_aws *f, const struct fake_request *req, void *ud)
{
	const char *body =
	        "{\"kind\": \"rollback\", \"stage\": \"staging\", \"who\": \"carol\", "
	        "\"owner\": \"carols-token\", \"action_id\": \"carols\", \"ttl_s\": 180}";

	(void)req;
	(void)ud;
	fake_s3_put(f, BUCKET, KEY, body, strlen(body));
}

static void two_takeovers_one_wins(void **state)
{
	struct env *e = *state;

	their_lock(e, "bobs-action");
	fake_set_clock_offset(e->fake, ES_LOCK_TTL_S + 30);
	fake_rule_on_match(
	        fake_rule_header_is(fake_expect(e->fake, "PUT", PATH, FAKE_S3, NULL, NULL),
	                            "If-None-Match", NULL),
	        someone_else_first, NULL);
	assert_null(take(e, "act-6", ES_EBUSY));
	assert_non_null(strstr(es_error_last()->message, "carol"));
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "carols-token"));
}

static bool bobs_ended(const char *action_id, void *ud)
{
	(void)ud;
	return strcmp(action_id, "bobs-action") == 0;
}

static void lock_of_an_ended_action_is_taken_over(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = NULL;
	struct es_lock_info was;

	their_lock(e, "bobs-action");
	assert_int_equal(es_lock_take(e->aws, &e->conf, "staging", "deploy", "ann", "act-7",
	                              bobs_ended, NULL, NULL, &lk, &was),
	                 ES_OK);
	assert_false(was.expired);
	assert_string_equal(was.action_id, "bobs-action");
	release(e, lk);
}

static void release_leaves_a_lock_taken_over(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take(e, "act-8", ES_OK);

	/* While we ran, someone decided we were dead and took it. */
	their_lock(e, "bobs-action");
	release(e, lk);
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "bobs-token"));
	const struct fake_request *del = fake_find(e->fake, "DELETE", PATH, 0);
	assert_int_equal(del->status, 412);
}

static void unlock_by_hand_removes_only_what_it_read(void **state)
{
	struct env *e = *state;
	struct es_lock_info was;

	assert_int_equal(es_lock_break(e->aws, &e->conf, "staging", &was), ES_ENOTFOUND);
	their_lock(e, "bobs-action");
	assert_int_equal(es_lock_break(e->aws, &e->conf, "staging", &was), ES_OK);
	assert_string_equal(was.who, "arn:aws:iam::123456789012:user/bob");
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
	const struct fake_request *del = fake_find(e->fake, "DELETE", PATH, 0);
	assert_non_null(fake_req_header(del, "If-Match"));
}

static void conflict_409_is_read_back(void **state)
{
	struct env *e = *state;

	fake_expect_error(e->fake, "PUT", PATH, 409, "ConditionalRequestConflict",
	                  "A conflicting operation occurred. Please retry.");
	struct es_lock *lk = take(e, "act-9", ES_OK);
	assert_non_null(lk);
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "act-9"));
	release(e, lk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(take_and_release, setup, teardown),
	        cmocka_unit_test_setup_teardown(lost_create_answer_is_ours, setup, teardown),
	        cmocka_unit_test_setup_teardown(held_lock_refuses_with_who, setup, teardown),
	        cmocka_unit_test_setup_teardown(local_clock_does_not_expire_a_lock, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(expired_by_s3_clock_is_taken_over_once, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(two_takeovers_one_wins, setup, teardown),
	        cmocka_unit_test_setup_teardown(lock_of_an_ended_action_is_taken_over, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(release_leaves_a_lock_taken_over, setup, teardown),
	        cmocka_unit_test_setup_teardown(unlock_by_hand_removes_only_what_it_read, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(conflict_409_is_read_back, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
