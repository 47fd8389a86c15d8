/* What the ledger says about each stage, as the model shows it: the newest
 * action and who took it, an action left without an outcome, the checks of
 * the newest validation and whether it stands for what runs now, and the
 * median of earlier propagation times. The records are read back through
 * the ledger's own cache reader, as the model reads them. */
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
#include "base/timefmt.h"
#include "ledger_cache.h"
#include "stage_records.h"
#include "testutil.h"

#define T0 "2030-01-02T03:04:05Z"
#define VALIDATED                                                                                  \
	"\"distribution_id\": \"E1\", \"distribution_status\": \"Deployed\", "                     \
	"\"distribution_modified\": \"" T0 "\""

struct env {
	char *dir;
	long seq;
	struct es_record_list list;
	struct es_stage_view stages[2];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->dir = tu_mkdtemp();
	if (!e->dir)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		struct es_stage_view *s = &e->stages[i];
		snprintf(s->name, sizeof(s->name), "%s", i ? "production" : "staging");
		snprintf(s->release, sizeof(s->release), "r1");
		snprintf(s->distribution_id, sizeof(s->distribution_id), "E1");
		s->dist_modified = es_time_parse(T0);
		/* What an earlier apply left: apply must overwrite it. */
		s->n_checks = 3;
		s->prop_estimate_s = 99;
		snprintf(s->validated_at, sizeof(s->validated_at), "stale");
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_record_list_free(&e->list);
	tu_rmtree(e->dir);
	free(e->dir);
	free(e);
	return 0;
}

/* The next record, as S3 (and so the cache) holds it. */
__attribute__((format(printf, 2, 3))) static void rec(struct env *e, const char *fmt, ...)
{
	char *text;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	e->seq++;
	es_lcache_write(e->dir, e->seq, text, strlen(text));
	free(text);
}

/* When, as a record says it: seconds_ago before now. */
static const char *ago(double seconds_ago, char buf[32])
{
	time_t t = (time_t)(es_time_now() - seconds_ago);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static void apply(struct env *e)
{
	es_record_list_free(&e->list);
	assert_int_equal(es_lcache_records(e->dir, &e->list), ES_OK);
	es_stage_records_apply(e->stages, 2, &e->list);
}

static void no_records_leave_the_stage_blank(void **state)
{
	struct env *e = *state;

	apply(e);
	assert_false(e->stages[0].validated);
	assert_false(e->stages[0].validation_passed);
	assert_int_equal(e->stages[0].n_checks, 0);
	assert_string_equal(e->stages[0].validated_at, "");
	assert_true(e->stages[0].prop_estimate_s < 0);
	assert_false(e->stages[0].interrupted);
}

static void newest_action_names_kind_result_and_who(void **state)
{
	struct env *e = *state;
	char w1[32], w2[32];

	rec(e,
	    "{\"kind\": \"deploy\", \"phase\": \"outcome\", \"stage\": \"staging\", \"result\": "
	    "\"failed\", \"who\": \"arn:aws:iam::1:user/bob\", \"when\": \"%s\"}",
	    ago(7200, w1));
	rec(e,
	    "{\"kind\": \"rollback\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	    "\"result\": \"success\", \"who\": \"arn:aws:sts::1:assumed-role/ops/alice\", "
	    "\"when\": \"%s\"}",
	    ago(185, w2));
	/* A propagation time is not an action. */
	rec(e, "{\"kind\": \"propagation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	       "\"result\": \"success\", \"message\": \"30.0\", \"who\": \"x/carol\"}");
	/* An action without a slash in who, and no result yet: the phase. */
	rec(e,
	    "{\"kind\": \"deploy\", \"phase\": \"intent\", \"stage\": \"production\", \"who\": "
	    "\"root\", \"action_id\": \"a1\", \"when\": \"%s\"}",
	    ago(7200, w1));
	apply(e);
	/* 185 s ago, give or take the second the record's time was cut to. */
	assert_non_null(strstr(e->stages[0].last_action, "rollback success by alice, 3m0"));
	assert_non_null(strstr(e->stages[0].last_action, "s ago"));
	assert_false(e->stages[0].interrupted);
	assert_string_equal(e->stages[1].last_action, "deploy intent by root, 2h00m ago");
	/* Its intent has no outcome, and nothing is running on the stack. */
	assert_true(e->stages[1].interrupted);
	e->stages[1].busy = true;
	apply(e);
	assert_false(e->stages[1].interrupted);
}

static void validation_of_what_runs_fills_its_checks(void **state)
{
	struct env *e = *state;

	rec(e, "{\"kind\": \"validation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	       "\"release\": \"r1\", \"result\": \"passed\", \"when\": \"" T0 "\", " VALIDATED ", "
	       "\"checks\": [{\"name\": \"home\", \"passed\": true, \"status\": 200, "
	       "\"latency_ms\": 12.5, \"detail\": \"ok\"}, {\"name\": \"api\", \"passed\": false, "
	       "\"status\": 503, \"latency_ms\": 40, \"detail\": \"bad\\u001b[2J\\r\\nthing\"}]}");
	apply(e);
	const struct es_stage_view *s = &e->stages[0];
	assert_true(s->validated);
	assert_true(s->validation_passed);
	assert_string_equal(s->validated_at, T0);
	assert_int_equal(s->n_checks, 2);
	assert_string_equal(s->checks[0].name, "home");
	assert_true(s->checks[0].passed);
	assert_int_equal(s->checks[0].status, 200);
	assert_true(s->checks[0].latency_ms > 12.4 && s->checks[0].latency_ms < 12.6);
	assert_false(s->checks[1].passed);
	assert_int_equal(s->checks[1].status, 503);
	/* The detail is text from an HTTP answer: no control characters. */
	for (const char *c = s->checks[1].detail; *c; c++)
		assert_true((unsigned char)*c >= ' ');
	assert_non_null(strstr(s->checks[1].detail, "thing"));
	/* Production was never validated. */
	assert_false(e->stages[1].validated);
	assert_int_equal(e->stages[1].n_checks, 0);
}

static void validation_of_another_release_is_shown_but_not_counted(void **state)
{
	struct env *e = *state;

	rec(e, "{\"kind\": \"validation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	       "\"release\": \"r0\", \"result\": \"passed\", \"when\": \"" T0 "\", " VALIDATED ", "
	       "\"checks\": [{\"name\": \"home\", \"passed\": true}]}");
	apply(e);
	assert_false(e->stages[0].validated);
	assert_false(e->stages[0].validation_passed);
	assert_int_equal(e->stages[0].n_checks, 1);

	/* Of this release but while the distribution was still moving: shown
	 * as validated, not as passed. */
	rec(e, "{\"kind\": \"validation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	       "\"release\": \"r1\", \"result\": \"passed\", \"distribution_id\": \"E1\", "
	       "\"distribution_status\": \"InProgress\", \"checks\": []}");
	apply(e);
	assert_true(e->stages[0].validated);
	assert_false(e->stages[0].validation_passed);
	assert_int_equal(e->stages[0].n_checks, 0);
}

static void checks_beyond_the_view_are_cut(void **state)
{
	struct env *e = *state;
	char checks[4096] = "";

	for (int i = 0; i < ES_MODEL_MAX_CHECKS + 4; i++)
		snprintf(checks + strlen(checks), sizeof(checks) - strlen(checks),
		         "%s{\"name\": \"c%d\", \"passed\": true}", i ? ", " : "", i);
	rec(e,
	    "{\"kind\": \"validation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	    "\"release\": \"r1\", \"result\": \"passed\", " VALIDATED ", \"checks\": [%s]}",
	    checks);
	apply(e);
	assert_int_equal(e->stages[0].n_checks, ES_MODEL_MAX_CHECKS);
	assert_string_equal(e->stages[0].checks[ES_MODEL_MAX_CHECKS - 1].name, "c15");
}

static void estimate_is_the_median_of_the_stage_s_propagations(void **state)
{
	struct env *e = *state;
	static const char *const secs[] = {"300.0", "60.0", "0", "nonsense", "120.0"};

	for (size_t i = 0; i < 5; i++)
		rec(e,
		    "{\"kind\": \"propagation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
		    "\"result\": \"success\", \"message\": \"%s\", \"record_id\": \"p%zu\"}",
		    secs[i], i);
	rec(e, "{\"kind\": \"propagation\", \"phase\": \"outcome\", \"stage\": \"production\", "
	       "\"result\": \"success\", \"message\": \"900\"}");
	apply(e);
	/* 60, 120, 300: the unreadable and zero ones do not count. */
	assert_true(e->stages[0].prop_estimate_s > 119.9 && e->stages[0].prop_estimate_s < 120.1);
	assert_true(e->stages[1].prop_estimate_s > 899.9 && e->stages[1].prop_estimate_s < 900.1);
	/* An even count: the mean of the middle two. */
	rec(e, "{\"kind\": \"propagation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	       "\"result\": \"success\", \"message\": \"200\"}");
	apply(e);
	assert_true(e->stages[0].prop_estimate_s > 159.9 && e->stages[0].prop_estimate_s < 160.1);
	/* Nothing but propagations: no action to show. */
	assert_string_equal(e->stages[0].last_action, "");
}

static void propagation_record_names_the_change(void **state)
{
	struct env *e = *state;
	struct es_stage_view *s = &e->stages[0];

	snprintf(s->commit, sizeof(s->commit), "0123456");
	json_t *r = es_propagation_record(s, 42.25, T0);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "record_id")),
	                    "propagation:staging:E1:" T0);
	assert_string_equal(json_string_value(json_object_get(r, "kind")), "propagation");
	assert_string_equal(json_string_value(json_object_get(r, "phase")), "outcome");
	assert_string_equal(json_string_value(json_object_get(r, "release")), "r1");
	assert_string_equal(json_string_value(json_object_get(r, "commit")), "0123456");
	assert_string_equal(json_string_value(json_object_get(r, "message")), "42.2");
	assert_true(json_real_value(json_object_get(r, "seconds")) == 42.25);
	/* What the estimate reads back. */
	char *text = json_dumps(r, 0);
	rec(e, "%s", text);
	free(text);
	json_decref(r);
	apply(e);
	assert_true(e->stages[0].prop_estimate_s > 42.1 && e->stages[0].prop_estimate_s < 42.3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(no_records_leave_the_stage_blank, setup, teardown),
	        cmocka_unit_test_setup_teardown(newest_action_names_kind_result_and_who, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(validation_of_what_runs_fills_its_checks, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                validation_of_another_release_is_shown_but_not_counted, setup, teardown),
	        cmocka_unit_test_setup_teardown(checks_beyond_the_view_are_cut, setup, teardown),
	        cmocka_unit_test_setup_teardown(estimate_is_the_median_of_the_stage_s_propagations,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(propagation_record_names_the_change, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
