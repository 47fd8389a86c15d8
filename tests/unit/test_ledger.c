/* The ledger against the fake's S3: a console with an empty cache sees every
 * record (all pages), a refresh costs one listing however long the history,
 * a record whose fetch failed is filled in later, consoles agree, a write
 * whose answer was lost is recognised on retry, a 409 is retried on the
 * same number, a 412 moves to the next, readers show a record id once, and
 * the cache belongs to one endpoint, account, bucket and prefix. */
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
#include "ledger.h"
#include "testutil.h"

#define BUCKET "artifacts"
#define WHO    "arn:aws:iam::123456789012:user/release-manager"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *state_dir;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	e->state_dir = tu_mkdtemp();
	if (!e->state_dir)
		return -1;
	setenv("XDG_STATE_HOME", e->state_dir, 1);
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->loop || !e->fake)
		return -1;
	e->aws = fake_client(e->fake);
	fake_s3_bucket(e->fake, BUCKET);
	fake_rule_times(fake_sts_identity(e->fake, WHO), FAKE_FOREVER);
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
	tu_rmtree(e->state_dir);
	free(e->state_dir);
	unsetenv("XDG_STATE_HOME");
	free(e);
	return 0;
}

/* A console of its own: its own cache directory. */
static struct es_ledger *console(struct env *e, const char *name)
{
	struct es_ledger *l = NULL;
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/%s", e->state_dir, name);
	setenv("XDG_STATE_HOME", dir, 1);
	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &l), ES_OK);
	es_ledger_set_who(l, WHO);
	return l;
}

/* Another writer's record n, straight into S3. */
static void put_record(struct env *e, long n, const char *record_id)
{
	char key[128], body[256];

	snprintf(key, sizeof(key), "app/ledger/%010ld.json", n);
	snprintf(body, sizeof(body),
	         "{\"seq\": %ld, \"kind\": \"deploy\", \"phase\": \"outcome\", \"stage\": "
	         "\"staging\", \"record_id\": \"%s\", \"result\": \"success\"}",
	         n, record_id);
	fake_s3_put(e->fake, BUCKET, key, body, strlen(body));
}

static void put_records(struct env *e, long from, long to)
{
	char id[32];

	for (long n = from; n <= to; n++) {
		snprintf(id, sizeof(id), "rec-%ld", n);
		put_record(e, n, id);
	}
}

static json_t *intent(const char *action)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "kind", "deploy", "phase", "intent", "stage",
	                 "staging", "action_id", action);
}

/* ------------------------------------------------------------ reading */

static void empty_ledger_reads_as_empty(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "one");
	struct es_record_list recs;

	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 0);
	assert_false(recs.offline);
	es_record_list_free(&recs);
	es_ledger_free(l);
}

static void missing_bucket_is_an_empty_ledger(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = NULL;
	struct es_record_list recs;

	setenv("XDG_STATE_HOME", e->state_dir, 1);
	assert_int_equal(es_ledger_open(e->aws, "no-such-bucket", "app", &l), ES_OK);
	es_ledger_set_who(l, WHO);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 0);
	assert_false(recs.offline);
	assert_true(recs.no_bucket); /* said as "no releases yet", not as a failure */
	es_record_list_free(&recs);
	es_ledger_free(l);
}

/* A bucket that exists but cannot be read is a failure to read: offline. */
static void unreadable_bucket_is_offline(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "one");
	struct es_record_list recs;

	fake_expect_error(e->fake, "GET", "ListObjectsV2", 403, "AccessDenied", "Access Denied");
	assert_int_not_equal(es_ledger_read(l, &recs), ES_OK);
	assert_true(recs.offline);
	assert_false(recs.no_bucket);
	assert_non_null(strstr(recs.offline_reason, "AccessDenied"));
	es_record_list_free(&recs);
	es_ledger_free(l);
}

static void fresh_console_sees_every_page(void **state)
{
	struct env *e = *state;
	struct es_record_list recs;

	put_records(e, 1, 2500);
	fake_s3_page_size(e->fake, 1000);
	/* Every fetch waits 50 ms on the loop: at most 8 may be waiting at once. */
	fake_rule_times(fake_rule_delay(fake_expect(e->fake, "GET", "/artifacts/app/ledger/*",
	                                            FAKE_S3, NULL, NULL),
	                                50),
	                FAKE_FOREVER);
	fake_log_clear(e->fake);
	struct es_ledger *l = console(e, "fresh");
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 2500);
	for (size_t i = 0; i < recs.n; i++)
		assert_int_equal(recs.items[i].seq, (long)i + 1);
	assert_int_equal(fake_count_matching(e->fake, "GET", "/artifacts?*list-type=2*"), 3);
	assert_int_equal(fake_count_matching(e->fake, "GET", "/artifacts/app/ledger/*"), 2500);
	/* A fetch goes out only when an earlier one was answered, 50 ms after
	 * it went out: so no window shorter than that holds more than 8. */
	size_t max_window = 0;
	for (size_t i = 0; i < fake_count(e->fake); i++) {
		const struct fake_request *a = fake_request_at(e->fake, i);
		if (strcmp(a->operation, "GetObject") != 0)
			continue;
		size_t in = 0;
		for (size_t j = i; j < fake_count(e->fake); j++) {
			const struct fake_request *b = fake_request_at(e->fake, j);
			if (strcmp(b->operation, "GetObject") == 0 && b->at_ms - a->at_ms < 45)
				in++;
		}
		if (in > max_window)
			max_window = in;
	}
	assert_true(max_window <= 8);
	assert_true(max_window >= 2); /* and they do go out together */
	es_record_list_free(&recs);

	/* Once converged, a refresh is one listing, whatever the history. */
	fake_log_clear(e->fake);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 2500);
	assert_int_equal(fake_count(e->fake), 1);
	assert_int_equal(fake_count_matching(e->fake, "GET", "/artifacts?*list-type=2*"), 1);
	assert_string_equal(fake_req_param(fake_last(e->fake), "start-after"),
	                    "app/ledger/0000002500.json");
	es_record_list_free(&recs);

	/* New records cost a fetch each, nothing more. */
	put_records(e, 2501, 2503);
	fake_log_clear(e->fake);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 2503);
	assert_int_equal(fake_count(e->fake), 4);
	es_record_list_free(&recs);
	es_ledger_free(l);
}

static void failed_fetch_is_filled_in_later(void **state)
{
	struct env *e = *state;
	struct es_record_list recs;
	struct es_ledger *l = console(e, "gappy");

	put_records(e, 1, 10);
	/* Record 5 cannot be fetched this time (every attempt reset). */
	fake_rule_times(
	        fake_rule_reset(fake_expect(e->fake, "GET", "/artifacts/app/ledger/0000000005.json",
	                                    FAKE_S3, NULL, NULL)),
	        3);
	assert_int_not_equal(es_ledger_read(l, &recs), ES_OK);
	assert_true(recs.offline);
	assert_int_equal(recs.n, 9);
	es_record_list_free(&recs);
	/* The next refresh starts below the hole and fetches only it. */
	fake_log_clear(e->fake);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_false(recs.offline);
	assert_int_equal(recs.n, 10);
	assert_int_equal(fake_count_matching(e->fake, "GET", "/artifacts/app/ledger/*"), 1);
	assert_non_null(fake_find(e->fake, "GET", "/artifacts/app/ledger/0000000005.json", 0));
	es_record_list_free(&recs);
	es_ledger_free(l);
}

static void three_consoles_agree(void **state)
{
	struct env *e = *state;
	struct es_ledger *w = console(e, "writer");
	struct es_record_list a, b, c;
	long seq;

	for (int i = 0; i < 12; i++) {
		char id[40];
		snprintf(id, sizeof(id), "action-%d", i);
		json_t *r = intent(id);
		assert_int_equal(es_ledger_append(w, r, &seq), ES_OK);
		assert_int_equal(seq, i + 1);
		json_decref(r);
	}
	/* Someone else's records in between. */
	put_records(e, 13, 20);
	struct es_ledger *x = console(e, "x"), *y = console(e, "y"), *z = console(e, "z");
	assert_int_equal(es_ledger_read(x, &a), ES_OK);
	assert_int_equal(es_ledger_read(y, &b), ES_OK);
	assert_int_equal(es_ledger_read(z, &c), ES_OK);
	assert_int_equal(a.n, 20);
	assert_int_equal(b.n, 20);
	assert_int_equal(c.n, 20);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.items[i].record_id, b.items[i].record_id);
		assert_string_equal(a.items[i].record_id, c.items[i].record_id);
	}
	es_record_list_free(&a);
	es_record_list_free(&b);
	es_record_list_free(&c);
	es_ledger_free(w);
	es_ledger_free(x);
	es_ledger_free(y);
	es_ledger_free(z);
}

static void record_id_shows_once(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "reader");
	struct es_record_list recs;

	put_record(e, 1, "same");
	put_record(e, 2, "other");
	put_record(e, 3, "same"); /* a retried write that landed twice */
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 2);
	assert_int_equal(recs.items[0].seq, 1);
	assert_int_equal(recs.items[1].seq, 2);
	es_record_list_free(&recs);
	es_ledger_free(l);
}

/* ------------------------------------------------------------ writing */

static void lost_answer_is_recognised(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "lost");
	long seq = 0;

	put_records(e, 1, 3);
	/* The write lands, its answer does not; the retry meets 412. */
	fake_rule_lost(fake_expect(e->fake, "PUT", "/artifacts/app/ledger/0000000004.json", FAKE_S3,
	                           NULL, NULL));
	json_t *r = intent("act-lost");
	assert_int_equal(es_ledger_append(l, r, &seq), ES_OK);
	json_decref(r);
	assert_int_equal(seq, 4);
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 4);
	assert_null(fake_s3_get(e->fake, BUCKET, "app/ledger/0000000005.json", NULL));
	const char *body = fake_s3_get(e->fake, BUCKET, "app/ledger/0000000004.json", NULL);
	assert_non_null(strstr(body, "act-lost:intent"));
	/* The conditional create, its retry answered 412, and the read back. */
	assert_int_equal(fake_count_matching(e->fake, "PUT", "/artifacts/app/ledger/*"), 2);
	assert_non_null(fake_find(e->fake, "GET", "/artifacts/app/ledger/0000000004.json", 0));
	es_ledger_free(l);
}

static void conflict_retries_the_same_number(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "conflict");
	long seq = 0;

	fake_expect_error(e->fake, "PUT", "/artifacts/app/ledger/0000000001.json", 409,
	                  "ConditionalRequestConflict",
	                  "A conflicting operation occurred. Please retry.");
	json_t *r = intent("act-409");
	assert_int_equal(es_ledger_append(l, r, &seq), ES_OK);
	json_decref(r);
	assert_int_equal(seq, 1);
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 1);
	es_ledger_free(l);
}

/* Another console's write of number 3 lands just before ours. */
static void theirs_first(struct fake_aws *f, const struct fake_request *req, void *ud)
{
	const char *body = "{\"seq\": 3, \"record_id\": \"theirs\", \"kind\": \"deploy\", "
	                   "\"phase\": \"intent\"}";

	(void)req;
	(void)ud;
	fake_s3_put(f, BUCKET, "app/ledger/0000000003.json", body, strlen(body));
}

static void taken_number_moves_on(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "race");
	long seq = 0;

	put_records(e, 1, 2);
	fake_rule_on_match(fake_expect(e->fake, "PUT", "/artifacts/app/ledger/0000000003.json",
	                               FAKE_S3, NULL, NULL),
	                   theirs_first, NULL);
	json_t *r = intent("act-mine");
	assert_int_equal(es_ledger_append(l, r, &seq), ES_OK);
	json_decref(r);
	assert_int_equal(seq, 4);
	const char *body = fake_s3_get(e->fake, BUCKET, "app/ledger/0000000003.json", NULL);
	assert_non_null(strstr(body, "theirs"));
	body = fake_s3_get(e->fake, BUCKET, "app/ledger/0000000004.json", NULL);
	assert_non_null(strstr(body, "act-mine:intent"));
	/* Ours was refused at 3 (412), read back, and written at 4. */
	const struct fake_request *put3 =
	        fake_find(e->fake, "PUT", "/artifacts/app/ledger/0000000003.json", 0);
	assert_non_null(put3);
	assert_int_equal(put3->status, 412);
	es_ledger_free(l);
}

static void unique_record_is_written_once(void **state)
{
	struct env *e = *state;
	struct es_ledger *a = console(e, "ua"), *b = console(e, "ub");
	long s1 = 0, s2 = 0;
	json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "record_id", "act-9:outcome", "kind", "deploy",
	                      "phase", "outcome", "result", "success");

	assert_int_equal(es_ledger_append_unique(a, r, &s1), ES_OK);
	assert_int_equal(es_ledger_append_unique(b, r, &s2), ES_OK);
	json_decref(r);
	assert_int_equal(s1, 1);
	assert_int_equal(s2, 1);
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 1);
	es_ledger_free(a);
	es_ledger_free(b);
}

static void outcome_closes_its_intent(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "open");
	struct es_record_list recs;
	long seq;

	json_t *i1 = intent("a1"), *i2 = intent("a2");
	json_t *o1 = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "deploy", "phase", "outcome",
	                       "stage", "staging", "action_id", "a1", "result", "success");
	json_t *d2 = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "deploy", "phase", "outcome",
	                       "stage", "staging", "action_id", "a2", "result", "detached",
	                       "record_id", "a2:detached");
	assert_int_equal(es_ledger_append(l, i1, &seq), ES_OK);
	assert_int_equal(es_ledger_append(l, i2, &seq), ES_OK);
	assert_int_equal(es_ledger_append(l, o1, &seq), ES_OK);
	assert_int_equal(es_ledger_append(l, d2, &seq), ES_OK);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 4);
	assert_false(recs.items[0].open);
	assert_true(recs.items[1].open);
	assert_true(recs.items[1].detached);
	es_record_list_free(&recs);
	json_decref(i1);
	json_decref(i2);
	json_decref(o1);
	json_decref(d2);
	es_ledger_free(l);
}

/* ------------------------------------------------------------ the cache */

static void cache_belongs_to_one_account(void **state)
{
	struct env *e = *state;
	struct es_ledger *a = NULL, *b = NULL;

	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &a), ES_OK);
	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &b), ES_OK);
	assert_null(es_ledger_cache_dir(a));
	es_ledger_set_who(a, "arn:aws:iam::111111111111:user/x");
	es_ledger_set_who(b, "arn:aws:iam::222222222222:user/x");
	assert_non_null(es_ledger_cache_dir(a));
	assert_string_not_equal(es_ledger_cache_dir(a), es_ledger_cache_dir(b));
	es_ledger_free(a);
	es_ledger_free(b);
}

struct appended {
	bool done;
	int rc;
	long seq;
};

static void on_appended(int rc, long seq, void *ud)
{
	struct appended *a = ud;

	a->done = true;
	a->rc = rc;
	a->seq = seq;
}

/* Who is acting comes from the client's one GetCallerIdentity, however
 * many ledgers (the model's, a deploy's, a command's) ask, and at once. */
static void who_is_asked_once_per_client(void **state)
{
	struct env *e = *state;
	struct es_ledger *a = NULL, *b = NULL, *c = NULL;
	struct appended da = {0}, db = {0};
	struct es_record_list recs;
	json_t *r1 = intent("w1"), *r2 = intent("w2");

	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &a), ES_OK);
	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &b), ES_OK);
	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &c), ES_OK);
	assert_false(es_ledger_knows_who(a));
	assert_int_equal(es_ledger_append_async(a, r1, false, on_appended, &da), ES_OK);
	assert_int_equal(es_ledger_append_async(b, r2, false, on_appended, &db), ES_OK);
	assert_true(fake_run_until(e->fake, &da.done, 10000));
	assert_true(fake_run_until(e->fake, &db.done, 10000));
	assert_int_equal(da.rc, ES_OK);
	assert_int_equal(db.rc, ES_OK);
	assert_string_equal(es_ledger_who(c), WHO);
	assert_int_equal(fake_count_matching(e->fake, "POST", "GetCallerIdentity"), 1);
	assert_int_equal(es_ledger_read(c, &recs), ES_OK);
	assert_int_equal(recs.n, 2);
	assert_string_equal(recs.items[0].who, WHO);
	assert_string_equal(recs.items[1].who, WHO);
	es_record_list_free(&recs);
	json_decref(r1);
	json_decref(r2);
	es_ledger_free(a);
	es_ledger_free(b);
	es_ledger_free(c);
}

/* A ledger freed while its append waits for who is acting: the append is
 * dropped untold, and nothing is written. */
static void freed_while_asking_who(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = NULL;
	struct appended d = {0};
	json_t *r = intent("gone");

	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &l), ES_OK);
	assert_int_equal(es_ledger_append_async(l, r, false, on_appended, &d), ES_OK);
	json_decref(r);
	es_ledger_free(l);
	for (int i = 0; i < 100 && fake_count(e->fake) == 0; i++)
		assert_int_equal(es_loop_turn(e->loop, 10), ES_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(es_loop_turn(e->loop, 10), ES_OK);
	assert_int_equal(fake_count_matching(e->fake, "POST", "GetCallerIdentity"), 1);
	assert_false(d.done);
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 0);
}

static void unreachable_s3_is_offline(void **state)
{
	struct env *e = *state;
	struct es_ledger *l = console(e, "offline");
	struct es_record_list recs;

	fake_rule_times(fake_expect_error(e->fake, "GET", "/artifacts?*", 403, "AccessDenied",
	                                  "Access Denied"),
	                FAKE_FOREVER);
	assert_int_not_equal(es_ledger_read(l, &recs), ES_OK);
	assert_true(recs.offline);
	assert_non_null(strstr(recs.offline_reason, "AccessDenied"));
	es_record_list_free(&recs);
	es_ledger_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(empty_ledger_reads_as_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(missing_bucket_is_an_empty_ledger, setup, teardown),
	        cmocka_unit_test_setup_teardown(unreadable_bucket_is_offline, setup, teardown),
	        cmocka_unit_test_setup_teardown(fresh_console_sees_every_page, setup, teardown),
	        cmocka_unit_test_setup_teardown(failed_fetch_is_filled_in_later, setup, teardown),
	        cmocka_unit_test_setup_teardown(three_consoles_agree, setup, teardown),
	        cmocka_unit_test_setup_teardown(record_id_shows_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(lost_answer_is_recognised, setup, teardown),
	        cmocka_unit_test_setup_teardown(conflict_retries_the_same_number, setup, teardown),
	        cmocka_unit_test_setup_teardown(taken_number_moves_on, setup, teardown),
	        cmocka_unit_test_setup_teardown(unique_record_is_written_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(outcome_closes_its_intent, setup, teardown),
	        cmocka_unit_test_setup_teardown(cache_belongs_to_one_account, setup, teardown),
	        cmocka_unit_test_setup_teardown(who_is_asked_once_per_client, setup, teardown),
	        cmocka_unit_test_setup_teardown(freed_while_asking_who, setup, teardown),
	        cmocka_unit_test_setup_teardown(unreachable_s3_is_offline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
