/* Stage locks against the fake's S3: taken and released conditionally, ours
 * after a lost answer, refused with who holds them, taken over only when
 * S3's clock says they expired (or their action ended) and only that
 * version, never judged by the local clock; renewed while held (timers run
 * a thousand times faster here), and told when another console took them
 * or removed them. */
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
#include "lock.h"
#include "testutil.h"
#include "timescale.h"
#include "world.h"

#define BUCKET WORLD_BUCKET
#define KEY    "app/locks/staging.json"
#define PATH   "/artifacts/app/locks/staging.json"

struct env {
	struct world *w;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	struct es_config conf;
	int n_lost, n_failed;
	char last_event[800];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->w = world_new();
	e->fake = e->w->fake;
	e->aws = e->w->aws;
	e->conf = e->w->conf;
	timescale_set(1);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	timescale_set(1);
	world_free(e->w);
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

/* ------------------------------------------------------------ renewal */

static void on_lock_event(enum es_lock_event ev, const char *text, void *ud)
{
	struct env *e = ud;

	if (ev == ES_LOCK_LOST)
		e->n_lost++;
	else
		e->n_failed++;
	snprintf(e->last_event, sizeof(e->last_event), "%s", text);
}

/* Take the lock with events told to e; renewals every 45 ms from now. */
static struct es_lock *take_renewed(struct env *e)
{
	struct es_lock *lk = NULL;

	timescale_set(1000);
	assert_int_equal(es_lock_take(e->aws, &e->conf, "staging", "deploy", "ann", "act-r", NULL,
	                              on_lock_event, e, &lk, NULL),
	                 ES_OK);
	return lk;
}

/* Turn the loop until cond holds (failing after 5 s of wall time). */
#define WAIT_UNTIL(e, cond)                                                                        \
	do {                                                                                       \
		int64_t end_ = es_loop_now_ms() + 5000;                                            \
		while (!(cond) && es_loop_now_ms() < end_)                                         \
			es_loop_turn((e)->w->loop, 5);                                             \
		assert_true(cond);                                                                 \
	} while (0)

/* Turn the loop for ms of wall time (to see that nothing happens). */
static void wait_ms(struct env *e, long ms)
{
	bool never = false;

	fake_run_until(e->fake, &never, ms);
}

static size_t renewals(struct env *e)
{
	/* The first PUT created it; renewals carry If-Match. */
	size_t n = 0;
	for (size_t i = 0; i < fake_count(e->fake); i++) {
		const struct fake_request *q = fake_request_at(e->fake, i);
		if (strcmp(q->method, "PUT") == 0 && strcmp(q->path, PATH) == 0 &&
		    fake_req_header(q, "If-Match"))
			n++;
	}
	return n;
}

static void held_lock_is_renewed_with_its_etag(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	WAIT_UNTIL(e, renewals(e) >= 2);
	/* Each renewal names the version it replaces: the one S3 holds. */
	const struct fake_request *r = fake_find(e->fake, "PUT", PATH, 1);
	assert_string_equal(fake_req_header(r, "If-Match"), fake_s3_etag(e->fake, BUCKET, KEY));
	assert_int_equal(e->n_lost + e->n_failed, 0);
	release(e, lk);
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
}

static void lock_taken_over_meanwhile_is_reported_lost(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	their_lock(e, "bobs-action");
	WAIT_UNTIL(e, e->n_lost == 1);
	assert_non_null(strstr(e->last_event, "the staging lock was taken over by "
	                                      "arn:aws:iam::123456789012:user/bob"));
	/* Once lost, it is neither renewed nor removed: it is Bob's. */
	size_t before = renewals(e);
	wait_ms(e, 150);
	assert_int_equal(renewals(e), before);
	release(e, lk);
	assert_int_equal(fake_count_matching(e->fake, "DELETE", PATH), 0);
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "bobs-token"));
}

static void lock_removed_meanwhile_is_reported_lost(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	fake_s3_delete(e->fake, BUCKET, KEY);
	WAIT_UNTIL(e, e->n_lost == 1);
	assert_non_null(strstr(e->last_event, "the staging lock was removed"));
	release(e, lk);
	assert_int_equal(fake_count_matching(e->fake, "DELETE", PATH), 0);
}

static void refused_renewal_of_our_own_version_carries_on(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	/* A renewal refused although the object is still ours (our earlier
	 * renewal landed, its answer did not): read back, still held. */
	fake_expect_error(e->fake, "PUT", PATH, 412, "PreconditionFailed",
	                  "At least one of the "
	                  "pre-conditions you "
	                  "specified did not "
	                  "hold");
	WAIT_UNTIL(e, renewals(e) >= 3);
	assert_int_equal(e->n_lost + e->n_failed, 0);
	assert_int_equal(fake_count_matching(e->fake, "GET", PATH), 1);
	release(e, lk);
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
}

static void failed_renewal_is_told_and_tried_again(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	/* Both attempts of one renewal fail; the next renewal goes through. */
	fake_rule_times(fake_expect_error(e->fake, "PUT", PATH, 503, "SlowDown", "slow down"), 2);
	WAIT_UNTIL(e, e->n_failed >= 1);
	assert_non_null(strstr(e->last_event, "could not renew the staging lock (slow down); "
	                                      "trying again in 15s"));
	assert_int_equal(e->n_lost, 0);
	size_t before = renewals(e);
	WAIT_UNTIL(e, renewals(e) > before);
	release(e, lk);
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
}

static void unreadable_lock_after_a_refused_renewal_is_tried_again(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	fake_expect_error(e->fake, "PUT", PATH, 412, "PreconditionFailed", "no");
	fake_rule_times(fake_expect_error(e->fake, "GET", PATH, 403, "AccessDenied", "cannot read"),
	                1);
	WAIT_UNTIL(e, e->n_failed >= 1);
	/* AWS's words stay, after who may not read what. */
	assert_non_null(strstr(e->last_event, "could not check the staging lock ("));
	assert_non_null(strstr(e->last_event, "cannot do s3:GetObject on "));
	assert_non_null(strstr(e->last_event, "AWS said: cannot read"));
	assert_int_equal(e->n_lost, 0);
	release(e, lk);
}

static void release_during_a_renewal_waits_for_it(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);
	bool done = false;

	/* 40 ms: the fake's delays run on the same faster timers. */
	fake_rule_delay(fake_expect(e->fake, "PUT", PATH, FAKE_S3, NULL, NULL), 40000);
	while (renewals(e) < 1)
		es_loop_turn(e->w->loop, 5);
	/* The renewal is on its way: the release goes after it, with the
	 * renewal's new ETag. */
	es_lock_release(lk, released, &done);
	assert_int_equal(fake_count_matching(e->fake, "DELETE", PATH), 0);
	assert_true(fake_run_until(e->fake, &done, 5000));
	assert_int_equal(fake_count_matching(e->fake, "DELETE", PATH), 1);
	assert_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
}

static void paused_lock_is_not_renewed_until_resumed(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = take_renewed(e);

	es_lock_pause(lk);
	es_lock_pause(NULL);
	wait_ms(e, 150);
	assert_int_equal(renewals(e), 0);
	es_lock_resume(lk, e->aws);
	es_lock_resume(NULL, e->aws);
	WAIT_UNTIL(e, renewals(e) >= 1);
	release(e, lk);
}

static void releasing_no_lock_is_done_at_once(void **state)
{
	bool done = false;

	(void)state;
	es_lock_release(NULL, released, &done);
	assert_true(done);
	es_lock_release(NULL, NULL, NULL);
}

/* ------------------------------------------------------------ taking, the hard ways */

static void lock_released_meanwhile_is_taken_on_the_next_try(void **state)
{
	struct env *e = *state;

	/* Taken when we asked, gone when we read it. */
	fake_expect_error(e->fake, "PUT", PATH, 412, "PreconditionFailed", "exists");
	struct es_lock *lk = take(e, "act-10", ES_OK);
	assert_int_equal(fake_count_matching(e->fake, "PUT", PATH), 2);
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "act-10"));
	release(e, lk);
}

static void contended_lock_gives_up(void **state)
{
	struct env *e = *state;

	their_lock(e, "bobs-action");
	fake_set_clock_offset(e->fake, ES_LOCK_TTL_S + 30);
	/* Every takeover loses to someone else. */
	fake_rule_times(fake_rule_header_is(fake_expect_error(e->fake, "PUT", PATH, 412,
	                                                      "PreconditionFailed", "changed"),
	                                    "If-None-Match", NULL),
	                FAKE_FOREVER);
	assert_null(take(e, "act-11", ES_EBUSY));
	assert_non_null(strstr(es_error_last()->message, "the staging lock is contended"));
	assert_int_equal(fake_count_matching(e->fake, "GET", PATH), 6);
}

static void failures_while_taking_say_which_step(void **state)
{
	struct env *e = *state;

	fake_expect_error(e->fake, "PUT", PATH, 403, "AccessDenied", "no puts");
	assert_null(take(e, "act-12", ES_EAWS));
	assert_non_null(strstr(es_error_last()->message, "taking the staging lock"));

	their_lock(e, "bobs-action");
	fake_expect_error(e->fake, "GET", PATH, 403, "AccessDenied", "no gets");
	assert_null(take(e, "act-13", ES_EAWS));
	assert_non_null(strstr(es_error_last()->message, "reading the staging lock"));

	fake_set_clock_offset(e->fake, ES_LOCK_TTL_S + 30);
	fake_rule_header_is(fake_expect_error(e->fake, "PUT", PATH, 403, "AccessDenied", "nope"),
	                    "If-None-Match", NULL);
	assert_null(take(e, "act-14", ES_EAWS));
	assert_non_null(strstr(es_error_last()->message, "taking over the staging lock"));
	assert_non_null(strstr(fake_s3_get(e->fake, BUCKET, KEY, NULL), "bobs-token"));
}

static void unlock_of_a_renewed_lock_removes_nothing(void **state)
{
	struct env *e = *state;
	struct es_lock_info was;

	their_lock(e, "bobs-action");
	/* Bob renewed it between our read and our delete. */
	fake_expect_error(e->fake, "DELETE", PATH, 412, "PreconditionFailed", "changed");
	assert_int_equal(es_lock_break(e->aws, &e->conf, "staging", &was), ES_EBUSY);
	assert_non_null(strstr(es_error_last()->message, "its holder is still renewing it"));
	assert_non_null(fake_s3_get(e->fake, BUCKET, KEY, NULL));
	/* Gone meanwhile: nothing left to do. */
	fake_expect_error(e->fake, "DELETE", PATH, 404, "NoSuchKey", "gone");
	assert_int_equal(es_lock_break(e->aws, &e->conf, "staging", &was), ES_OK);
	fake_expect_error(e->fake, "DELETE", PATH, 403, "AccessDenied", "no");
	assert_int_equal(es_lock_break(e->aws, &e->conf, "staging", &was), ES_EAWS);
	fake_expect_error(e->fake, "GET", PATH, 403, "AccessDenied", "no");
	assert_int_equal(es_lock_break(e->aws, &e->conf, "staging", &was), ES_EAWS);
}

/* ------------------------------------------------------------ what a lock says */

static void lock_objects_are_read_by_s3_s_clock(void **state)
{
	struct es_lock_info i;
	const char *body = "{\"kind\": \"rollback\", \"stage\": \"staging\", \"who\": \"bob\", "
	                   "\"owner\": \"t\", \"action_id\": \"a\", \"when\": "
	                   "\"2026-01-01T00:00:00Z\", \"ttl_s\": 60}";

	(void)state;
	/* Modified at 1000 by S3's clock, which now says 1030: 30 s left. */
	assert_int_equal(es_lock_parse(body, strlen(body), 1000, 1030, &i), ES_OK);
	assert_true(i.held);
	assert_false(i.expired);
	assert_string_equal(i.kind, "rollback");
	assert_string_equal(i.since, "2026-01-01T00:00:00Z");
	assert_string_equal(i.renewed, "1970-01-01T00:16:40Z");
	assert_true(i.expires_in_s == 30);
	assert_int_equal(es_lock_parse(body, strlen(body), 1000, 1060, &i), ES_OK);
	assert_true(i.expired);
	/* Without S3's times nobody can say it expired. */
	assert_int_equal(es_lock_parse(body, strlen(body), 0, 0, &i), ES_OK);
	assert_false(i.expired);
	assert_true(i.expires_in_s == 60);
	assert_string_equal(i.renewed, "");
	/* No or a nonsense ttl: the default. */
	assert_int_equal(es_lock_parse("{\"ttl_s\": -5}", 13, 1000, 1000, &i), ES_OK);
	assert_true(i.expires_in_s == ES_LOCK_TTL_S);
	/* Something else at the key still blocks, and ages out. */
	assert_int_equal(es_lock_parse("<html>", 6, 1000, 1000 + ES_LOCK_TTL_S + 1, &i), ES_OK);
	assert_true(i.held);
	assert_true(i.expired);
	assert_string_equal(i.who, "(unreadable lock object)");
	assert_int_equal(es_lock_parse(NULL, 0, 0, 0, &i), ES_OK);
	assert_true(i.held);
}

static void lock_json_for_status(void **state)
{
	struct es_lock_info i = {0};

	(void)state;
	json_t *o = es_lock_info_json(&i);
	assert_true(json_is_false(json_object_get(o, "held")));
	assert_int_equal(json_object_size(o), 1);
	json_decref(o);
	const char *body = "{\"kind\": \"deploy\", \"who\": \"ann\", \"action_id\": \"a1\"}";
	assert_int_equal(es_lock_parse(body, strlen(body), 1000, 1010, &i), ES_OK);
	o = es_lock_info_json(&i);
	assert_true(json_is_true(json_object_get(o, "held")));
	assert_string_equal(json_string_value(json_object_get(o, "who")), "ann");
	assert_string_equal(json_string_value(json_object_get(o, "action_id")), "a1");
	assert_true(json_real_value(json_object_get(o, "expires_in_s")) == ES_LOCK_TTL_S - 10);
	assert_true(json_is_false(json_object_get(o, "expired")));
	json_decref(o);
}

static void lock_keys_follow_the_prefix(void **state)
{
	struct es_config c = {0};
	char key[128];

	(void)state;
	c.prefix = "app";
	es_lock_key(&c, "prod", key, sizeof(key));
	assert_string_equal(key, "app/locks/prod.json");
	c.prefix = "team/app/";
	es_lock_key(&c, "prod", key, sizeof(key));
	assert_string_equal(key, "team/app/locks/prod.json");
	c.prefix = "";
	es_lock_key(&c, "prod", key, sizeof(key));
	assert_string_equal(key, "locks/prod.json");
	c.prefix = NULL;
	es_lock_key(&c, "prod", key, sizeof(key));
	assert_string_equal(key, "locks/prod.json");
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
	        cmocka_unit_test_setup_teardown(held_lock_is_renewed_with_its_etag, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(lock_taken_over_meanwhile_is_reported_lost, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(lock_removed_meanwhile_is_reported_lost, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(refused_renewal_of_our_own_version_carries_on,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(failed_renewal_is_told_and_tried_again, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                unreadable_lock_after_a_refused_renewal_is_tried_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(release_during_a_renewal_waits_for_it, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(paused_lock_is_not_renewed_until_resumed, setup,
	                                        teardown),
	        cmocka_unit_test(releasing_no_lock_is_done_at_once),
	        cmocka_unit_test_setup_teardown(lock_released_meanwhile_is_taken_on_the_next_try,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(contended_lock_gives_up, setup, teardown),
	        cmocka_unit_test_setup_teardown(failures_while_taking_say_which_step, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(unlock_of_a_renewed_lock_removes_nothing, setup,
	                                        teardown),
	        cmocka_unit_test(lock_objects_are_read_by_s3_s_clock),
	        cmocka_unit_test(lock_json_for_status),
	        cmocka_unit_test(lock_keys_follow_the_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
