/* The live model against the fake AWS: a round reads every stack and the
 * distribution list, then the details of distributions that need them; the
 * ledger is read in the background once the caller is known; changes of
 * stack and distribution state are logged, a propagation seen from start to
 * end is timed and recorded once; AWS that cannot be reached makes the
 * model offline with a backoff until it answers again; stages with a URL
 * get their edges sampled; a model freed with answers due drops them. */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/timefmt.h"
#include "model.h"
#include "model_pace.h"
#include "world.h"

#define DIST "E1STAGING"
#define ARN7 "arn:aws:lambda:us-east-1:123456789012:function:edge:7"

struct env {
	struct world *w;
	struct es_model *m;
	unsigned what; /* every change told, or'ed */
	int changes;
};

static void on_change(struct es_model *m, unsigned what, void *ud)
{
	struct env *e = ud;

	(void)m;
	e->what |= what;
	e->changes++;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->w = world_new();
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_model_free(e->m);
	world_free(e->w);
	free(e);
	return 0;
}

/* ISO 8601 UTC, seconds_ago before now. */
static const char *iso_ago(double seconds_ago, char buf[32])
{
	time_t t = (time_t)(es_time_now() - seconds_ago);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ListDistributions answers with items (see fake_cf_list_xml), times times. */
static void listed(struct env *e, const char *items, int times)
{
	char *xml = fake_cf_list_xml(items, NULL);

	fake_rule_times(fake_expect(e->w->fake, "GET", "ListDistributions", 200, NULL, xml), times);
	free(xml);
}

/* Staging runs r1 behind DIST; production was never deployed. */
static void usual_stacks(struct env *e)
{
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", "c1", DIST, "Deployed");
	fake_rule_times(fake_cfn_no_stack(e->w->fake, "app-production"), FAKE_FOREVER);
}

/* Turn the loop until the model has had nothing in flight for 80 ms (longer
 * than its first wait for the ledger), failing after 5 s. */
static void settle(struct env *e)
{
	int64_t end = es_loop_now_ms() + 5000, quiet_since = es_loop_now_ms();

	while (es_loop_now_ms() < end) {
		es_loop_turn(e->w->loop, 5);
		if (es_model_busy(e->m))
			quiet_since = es_loop_now_ms();
		else if (es_loop_now_ms() - quiet_since >= 80)
			return;
	}
	fake_dump(e->w->fake, stderr);
	fail_msg("the model did not settle");
}

/* One more round now (the R key). */
static void round_now(struct env *e)
{
	es_model_refresh(e->m);
	assert_true(es_model_busy(e->m));
	settle(e);
}

static void start(struct env *e)
{
	assert_int_equal(es_model_new(e->w->aws, &e->w->conf, &e->m), ES_OK);
	es_model_on_change(e->m, on_change, e);
	settle(e);
}

/* The activity line containing text at level, or NULL. */
static const struct es_activity *activity(const struct env *e, enum es_activity_level level,
                                          const char *text)
{
	for (size_t i = 0; i < es_model_activity_count(e->m); i++) {
		const struct es_activity *a = es_model_activity(e->m, i);
		if (a->level == level && strstr(a->text, text))
			return a;
	}
	return NULL;
}

/* ------------------------------------------------------------ cases */

static void rounds_fill_every_stage(void **state)
{
	struct env *e = *state;

	usual_stacks(e);
	listed(e, DIST "|Deployed|2026-01-02T00:00:00Z", FAKE_FOREVER);
	start(e);
	assert_int_equal(es_model_stage_count(e->m), 2);
	assert_null(es_model_stage(e->m, 2));
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	const struct es_stage_view *p = es_model_stage(e->m, 1);
	assert_string_equal(s->name, "staging");
	assert_string_equal(s->stack, "app-staging");
	assert_string_equal(s->stack_status, "UPDATE_COMPLETE");
	assert_string_equal(s->release, "r1");
	assert_string_equal(s->commit, "c1");
	assert_false(s->busy);
	assert_string_equal(s->error, "");
	/* The first round learns the distribution from the stack's resources;
	 * the list then tells its state. */
	assert_string_equal(s->distribution_id, DIST);
	assert_int_equal(s->propagation, ES_PROP_UNKNOWN);
	round_now(e);
	assert_int_equal(s->propagation, ES_PROP_DEPLOYED);
	assert_string_equal(s->distribution_domain, DIST ".cloudfront.net");
	assert_true(s->dist_modified == es_time_parse("2026-01-02T00:00:00Z"));
	/* The summary had no association: the whole distribution was read. */
	assert_string_equal(s->lambda_arn, ARN7);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), 1);
	assert_int_equal(s->invalidations_in_progress, 0);
	/* Production has no stack. */
	assert_string_equal(p->stack_status, "NOT_DEPLOYED");
	assert_string_equal(p->distribution_id, "");
	assert_string_equal(p->error, "");
	assert_string_equal(es_model_connection(e->m), "");
	assert_true(e->what & ES_MODEL_STAGES);
	/* First sight of a state is not a change worth a line. */
	assert_null(activity(e, ES_ACT_EVENT, "app-staging"));
	/* Another round: nothing new, so the detail is not read again. */
	round_now(e);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), 1);
}

static void ledger_shows_the_last_action_once_the_caller_is_known(void **state)
{
	struct env *e = *state;
	char when[32];

	usual_stacks(e);
	listed(e, "", FAKE_FOREVER);
	world_record(e->w, 1,
	             "{\"kind\": \"deploy\", \"phase\": \"intent\", \"stage\": \"staging\", "
	             "\"action_id\": \"a1\", \"who\": \"" WORLD_WHO "\", \"when\": \"%s\"}",
	             iso_ago(300, when));
	world_record(e->w, 2,
	             "{\"kind\": \"deploy\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	             "\"action_id\": \"a1\", \"result\": \"success\", \"who\": \"" WORLD_WHO
	             "\", \"when\": \"%s\"}",
	             iso_ago(240, when));
	world_record(e->w, 3,
	             "{\"kind\": \"rollback\", \"phase\": \"intent\", \"stage\": \"production\", "
	             "\"action_id\": \"a2\", \"who\": \"arn:aws:iam::123456789012:user/bob\", "
	             "\"when\": \"%s\"}",
	             iso_ago(60, when));
	start(e);
	/* The ledger waits for who this is: it names the local cache. */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "GetCallerIdentity"), 1);
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	const struct es_stage_view *p = es_model_stage(e->m, 1);
	assert_non_null(strstr(s->last_action, "deploy success by release-manager, 4m0"));
	assert_false(s->interrupted);
	assert_non_null(strstr(p->last_action, "rollback intent by bob"));
	assert_true(p->interrupted);

	/* A new record appears; a refresh reads it, with one listing. */
	world_record(e->w, 4,
	             "{\"kind\": \"rollback\", \"phase\": \"outcome\", \"stage\": \"production\", "
	             "\"action_id\": \"a2\", \"result\": \"failed\", \"who\": "
	             "\"arn:aws:iam::123456789012:user/bob\", \"when\": \"%s\"}",
	             iso_ago(1, when));
	size_t listings = fake_count_matching(e->w->fake, "GET", "ListObjectsV2");
	round_now(e);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "ListObjectsV2"), listings + 1);
	assert_non_null(strstr(p->last_action, "rollback failed by bob"));
	assert_false(p->interrupted);
	/* Who this is was asked once. */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "GetCallerIdentity"), 1);
}

static void unreadable_ledger_is_a_warning(void **state)
{
	struct env *e = *state;

	usual_stacks(e);
	listed(e, "", FAKE_FOREVER);
	fake_rule_times(fake_expect_error(e->w->fake, "GET", "ListObjectsV2", 403, "AccessDenied",
	                                  "no listing for you"),
	                FAKE_FOREVER);
	start(e);
	const struct es_activity *a = activity(e, ES_ACT_WARN, "ledger: ");
	assert_non_null(a);
	assert_non_null(strstr(a->text, "AccessDenied"));
	/* The stacks are read all the same. */
	assert_string_equal(es_model_stage(e->m, 0)->stack_status, "UPDATE_COMPLETE");
	assert_string_equal(es_model_connection(e->m), "");
}

static void stack_changes_are_logged(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_cfn_stack(e->w->fake, "app-staging", "UPDATE_IN_PROGRESS",
	                               "edgeship:release=r1", NULL),
	                1);
	usual_stacks(e);
	listed(e, "", FAKE_FOREVER);
	start(e);
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	assert_string_equal(s->stack_status, "UPDATE_IN_PROGRESS");
	assert_true(s->busy);
	size_t resources = fake_count_matching(e->w->fake, "POST", "DescribeStackResources");
	round_now(e);
	assert_string_equal(s->stack_status, "UPDATE_COMPLETE");
	assert_false(s->busy);
	assert_non_null(activity(e, ES_ACT_EVENT, "staging: stack app-staging UPDATE_COMPLETE"));
	/* A stack that changed may have a new distribution: read again. */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeStackResources"),
	                 resources + 1);
}

static void stack_gone_clears_what_it_ran(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_cfn_stack(e->w->fake, "app-staging", "DELETE_IN_PROGRESS",
	                               "edgeship:release=r1;edgeship:commit=c1", NULL),
	                1);
	fake_rule_times(fake_cfn_no_stack(e->w->fake, "app-staging"), FAKE_FOREVER);
	fake_rule_times(fake_cfn_resources(e->w->fake, "app-staging", ""), FAKE_FOREVER);
	fake_rule_times(fake_cfn_no_stack(e->w->fake, "app-production"), FAKE_FOREVER);
	listed(e, "", FAKE_FOREVER);
	start(e);
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	assert_string_equal(s->release, "r1");
	assert_true(s->busy);
	round_now(e);
	assert_string_equal(s->stack_status, "NOT_DEPLOYED");
	assert_string_equal(s->release, "");
	assert_string_equal(s->commit, "");
	assert_false(s->busy);
}

static void garbled_stack_answer_is_the_stage_s_error(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_expect(e->w->fake, "POST", "DescribeStacks", 200, NULL, "<oops"),
	                FAKE_FOREVER);
	listed(e, "", FAKE_FOREVER);
	start(e);
	/* Not an outage: the stage says what went wrong. */
	assert_string_not_equal(es_model_stage(e->m, 0)->error, "");
	assert_string_equal(es_model_stage(e->m, 0)->stack_status, "UNKNOWN");
	assert_string_equal(es_model_connection(e->m), "");
}

static void propagation_is_timed_logged_and_recorded_once(void **state)
{
	struct env *e = *state;
	char modified[32], items[200];

	usual_stacks(e);
	iso_ago(90, modified);
	/* Round 1 learns the distribution, round 2 sees it InProgress, round 3
	 * Deployed. */
	snprintf(items, sizeof(items), DIST "|InProgress|%s|" ARN7, modified);
	listed(e, items, 2);
	snprintf(items, sizeof(items), DIST "|Deployed|%s|" ARN7, modified);
	listed(e, items, FAKE_FOREVER);
	start(e);
	round_now(e);
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	assert_int_equal(s->propagation, ES_PROP_IN_PROGRESS);
	assert_true(s->prop_elapsed_s >= 89 && s->prop_elapsed_s < 120);
	assert_string_equal(s->lambda_arn, ARN7);
	round_now(e);
	assert_int_equal(s->propagation, ES_PROP_DEPLOYED);
	assert_non_null(activity(e, ES_ACT_EVENT, "staging: distribution " DIST " Deployed after"));
	/* One record names the change; its time feeds the estimate. */
	char rid[128];
	snprintf(rid, sizeof(rid), "\"propagation:staging:" DIST ":%s\"", modified);
	assert_int_equal(world_records_with(e->w, rid), 1);
	assert_true(s->prop_estimate_s >= 89 && s->prop_estimate_s < 120);
	/* Settled: more rounds record nothing more. */
	round_now(e);
	assert_int_equal(world_records_with(e->w, "\"propagation\""), 1);
}

static void read_only_console_records_nothing(void **state)
{
	struct env *e = *state;
	char modified[32], items[200];

	usual_stacks(e);
	iso_ago(30, modified);
	snprintf(items, sizeof(items), DIST "|InProgress|%s|" ARN7, modified);
	listed(e, items, 2);
	snprintf(items, sizeof(items), DIST "|Deployed|%s|" ARN7, modified);
	listed(e, items, FAKE_FOREVER);
	assert_int_equal(es_model_new(e->w->aws, &e->w->conf, &e->m), ES_OK);
	es_model_set_read_only(e->m, true);
	settle(e);
	round_now(e);
	round_now(e);
	assert_int_equal(es_model_stage(e->m, 0)->propagation, ES_PROP_DEPLOYED);
	assert_non_null(activity(e, ES_ACT_EVENT, "Deployed after"));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "PutObject"), 0);
	assert_int_equal(fake_s3_count(e->w->fake, WORLD_BUCKET, "app/ledger/"), 0);
}

static void new_change_on_a_deployed_distribution_is_logged(void **state)
{
	struct env *e = *state;

	usual_stacks(e);
	listed(e, DIST "|Deployed|2026-01-02T00:00:00Z|" ARN7, 2);
	listed(e, DIST "|InProgress|2026-01-03T00:00:00Z|" ARN7, FAKE_FOREVER);
	start(e);
	round_now(e);
	assert_int_equal(es_model_stage(e->m, 0)->propagation, ES_PROP_DEPLOYED);
	size_t details = fake_count_matching(e->w->fake, "GET", "GetDistribution");
	round_now(e);
	assert_int_equal(es_model_stage(e->m, 0)->propagation, ES_PROP_IN_PROGRESS);
	assert_non_null(activity(e, ES_ACT_EVENT, "staging: distribution " DIST " InProgress"));
	/* A new change: its detail (association, invalidations) is read again. */
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), details + 1);
}

static void invalidations_in_progress_keep_the_detail_fresh(void **state)
{
	struct env *e = *state;
	char *xml = fake_cf_distribution_xml(DIST, "Deployed");
	char *at = strstr(xml, "<InProgressInvalidationBatches>0");

	assert_non_null(at);
	at[strlen("<InProgressInvalidationBatches>")] = '2';
	fake_rule_times(
	        fake_expect(e->w->fake, "GET", "/2020-05-31/distribution/" DIST, 200, NULL, xml),
	        2);
	free(xml);
	usual_stacks(e);
	listed(e, DIST "|Deployed|2026-01-02T00:00:00Z|" ARN7, FAKE_FOREVER);
	start(e);
	round_now(e);
	assert_int_equal(es_model_stage(e->m, 0)->invalidations_in_progress, 2);
	/* While they run, every round reads the distribution again. */
	round_now(e);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), 2);
	round_now(e);
	assert_int_equal(es_model_stage(e->m, 0)->invalidations_in_progress, 0);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), 3);
	round_now(e);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), 3);
}

static void distribution_list_pages_are_followed(void **state)
{
	struct env *e = *state;
	char *page1 = fake_cf_list_xml("EOTHER|Deployed|2026-01-02T00:00:00Z", "EOTHER");
	char *page2 = fake_cf_list_xml(DIST "|InProgress|2026-01-02T00:00:00Z|" ARN7, NULL);

	usual_stacks(e);
	fake_rule_times(fake_expect(e->w->fake, "GET", "/2020-05-31/distribution?Marker=EOTHER",
	                            200, NULL, page2),
	                FAKE_FOREVER);
	fake_rule_times(fake_expect(e->w->fake, "GET", "ListDistributions", 200, NULL, page1),
	                FAKE_FOREVER);
	free(page1);
	free(page2);
	start(e);
	round_now(e);
	assert_int_equal(es_model_stage(e->m, 0)->propagation, ES_PROP_IN_PROGRESS);
	/* The detail waits for the last page, which names the distribution. */
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "GetDistribution"), 1);
	const struct fake_request *second =
	        fake_find(e->w->fake, "GET", "/2020-05-31/distribution?Marker=*", 0);
	assert_non_null(second);
	assert_string_equal(fake_req_param(second, "Marker"), "EOTHER");
}

static void unreachable_aws_is_offline_with_backoff_then_restored(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_expect_error(e->w->fake, "POST", "DescribeStacks", 403, "AccessDenied",
	                                  "not now"),
	                FAKE_FOREVER);
	fake_rule_times(fake_expect_error(e->w->fake, "GET", "ListDistributions", 403,
	                                  "AccessDenied", "not now"),
	                FAKE_FOREVER);
	start(e);
	assert_true(e->what & ES_MODEL_CONNECTION);
	assert_non_null(strstr(es_model_connection(e->m), "offline: retrying in 2s ("));
	assert_non_null(strstr(es_model_connection(e->m), "AccessDenied"));
	assert_non_null(activity(e, ES_ACT_WARN, "offline: retrying in 2s"));
	assert_non_null(strstr(es_model_stage(e->m, 0)->error, "AccessDenied"));
	/* Each failed round waits twice as long. */
	round_now(e);
	assert_non_null(strstr(es_model_connection(e->m), "offline: retrying in 4s"));
	round_now(e);
	assert_non_null(strstr(es_model_connection(e->m), "offline: retrying in 8s"));

	fake_rules_clear(e->w->fake);
	fake_sts_identity(e->w->fake, WORLD_WHO);
	usual_stacks(e);
	listed(e, "", FAKE_FOREVER);
	e->what = 0;
	round_now(e);
	assert_string_equal(es_model_connection(e->m), "");
	assert_true(e->what & ES_MODEL_CONNECTION);
	assert_non_null(activity(e, ES_ACT_INFO, "connection to AWS restored"));
	assert_string_equal(es_model_stage(e->m, 0)->error, "");
	assert_string_equal(es_model_stage(e->m, 0)->stack_status, "UPDATE_COMPLETE");
}

static void refresh_during_a_round_runs_another(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_rule_delay(fake_cfn_stack(e->w->fake, "app-staging", "UPDATE_COMPLETE",
	                                               NULL, NULL),
	                                50),
	                1);
	usual_stacks(e);
	listed(e, "", FAKE_FOREVER);
	assert_int_equal(es_model_new(e->w->aws, &e->w->conf, &e->m), ES_OK);
	while (fake_count_matching(e->w->fake, "POST", "DescribeStacks") < 2)
		es_loop_turn(e->w->loop, 5);
	assert_true(es_model_busy(e->m));
	es_model_refresh(e->m); /* while the first round is out */
	settle(e);
	/* The second round came right after the first, stacks included. */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeStacks"), 4);
}

static void edges_are_sampled_for_stages_with_a_url(void **state)
{
	struct env *e = *state;
	char *probes[] = {"198.51.100.1:443", "198.51.100.2:443"};

	e->w->stages[0].url = "https://app.example.com/";
	e->w->stages[0].probes = probes;
	e->w->stages[0].n_probes = 2;
	e->w->stages[0].marker_header = "X-Edge-Release";
	usual_stacks(e);
	listed(e, DIST "|InProgress|2026-01-02T00:00:00Z|" ARN7, FAKE_FOREVER);
	/* One edge has the new version, the other still the old one. */
	fake_expect(e->w->fake, "GET", "/", 200, "X-Amz-Cf-Pop: FRA56-P1\nX-Edge-Release: 7", "ok");
	fake_rule_times(fake_expect(e->w->fake, "GET", "/", 200,
	                            "X-Amz-Cf-Pop: FRA56-P2\nX-Edge-Release: 6", "ok"),
	                FAKE_FOREVER);
	start(e);
	/* Nothing to sample until the distribution's domain is known. */
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "/"), 0);
	round_now(e);
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	assert_int_equal(s->n_edges, 2);
	assert_int_equal(s->edges_new, 1);
	assert_string_equal(s->edges[0].pop, "FRA56-P1");
	assert_true(s->edges[0].is_new);
	assert_string_equal(s->edges[1].target, "198.51.100.2:443");
	assert_false(s->edges[1].is_new);
	assert_non_null(activity(e, ES_ACT_EVENT, "staging: 1 of 2 sampled edges serve version 7"));
	/* Production has no URL: never sampled. */
	assert_int_equal(es_model_stage(e->m, 1)->n_edges, 0);
}

/* Deployed, but the edges answer the old release from their cache: counted
 * as cached-old, said once in the activity log, and watch's last line says
 * settled with cache for that stage. */
static void deployed_with_cached_edges_is_not_live(void **state)
{
	struct env *e = *state;
	char *probes[] = {"198.51.100.1:443", "198.51.100.2:443"};
	json_error_t err;

	e->w->stages[0].url = "https://app.example.com/";
	e->w->stages[0].probes = probes;
	e->w->stages[0].n_probes = 2;
	e->w->stages[0].marker_header = "X-Edge-Release";
	usual_stacks(e);
	listed(e, DIST "|Deployed|2026-01-02T00:00:00Z|" ARN7, FAKE_FOREVER);
	fake_rule_times(fake_expect(e->w->fake, "GET", "/", 200,
	                            "X-Amz-Cf-Pop: FRA56-P1\nX-Cache: Hit from cloudfront\n"
	                            "Age: 120\nX-Edge-Release: 6",
	                            "ok"),
	                FAKE_FOREVER);
	start(e);
	round_now(e);
	round_now(e);
	const struct es_stage_view *s = es_model_stage(e->m, 0);
	assert_int_equal(s->n_edges, 2);
	assert_int_equal(s->edges_new, 0);
	assert_int_equal(s->edges_cached_old, 2);
	assert_int_equal(s->edges[0].state, ES_EDGE_CACHED_OLD);
	assert_int_equal(s->edges[0].age_s, 120);
	assert_true(es_stage_settled_with_cache(s));
	assert_false(es_stage_settled_with_cache(es_model_stage(e->m, 1)));
	const struct es_activity *hint =
	        activity(e, ES_ACT_WARN, "staging: Deployed, but 2 edges still answer from cache");
	assert_non_null(hint);
	size_t hints = 0;
	for (size_t i = 0; i < es_model_activity_count(e->m); i++)
		hints +=
		        strstr(es_model_activity(e->m, i)->text, "still answer from cache") != NULL;
	assert_int_equal(hints, 1); /* said once, not every round */

	char *text = es_model_stage_json(s);
	json_t *o = json_loads(text, 0, &err);
	assert_true(json_is_true(json_object_get(o, "settled_with_cache")));
	assert_int_equal(json_integer_value(json_object_get(o, "edges_cached_old")), 2);
	assert_true(json_is_null(json_object_get(o, "edges_function_new")));
	json_t *edge = json_array_get(json_object_get(o, "edges"), 0);
	assert_string_equal(json_string_value(json_object_get(edge, "state")), "cached-old");
	assert_int_equal(json_integer_value(json_object_get(edge, "age_s")), 120);
	assert_string_equal(json_string_value(json_object_get(edge, "x_cache")),
	                    "Hit from cloudfront");
	json_decref(o);
	free(text);

	text = es_model_settled_json(e->m, NULL);
	assert_string_equal(text,
	                    "{\"type\":\"settled\",\"settled_with_cache\":true,\"cached_stages\":"
	                    "[\"staging\"]}");
	free(text);
	text = es_model_settled_json(e->m, "production");
	assert_string_equal(
	        text, "{\"type\":\"settled\",\"settled_with_cache\":false,\"cached_stages\":[]}");
	free(text);
}

static void json_lines_for_watch(void **state)
{
	struct env *e = *state;
	struct es_stage_view s;
	json_error_t err;

	(void)e;
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "staging");
	snprintf(s.stack_status, sizeof(s.stack_status), "UPDATE_COMPLETE");
	snprintf(s.release, sizeof(s.release), "r1");
	s.propagation = ES_PROP_UNKNOWN;
	s.prop_estimate_s = -1;
	char *text = es_model_stage_json(&s);
	assert_null(strchr(text, '\n'));
	json_t *o = json_loads(text, 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "stage");
	assert_string_equal(json_string_value(json_object_get(o, "stage")), "staging");
	assert_true(json_is_null(json_object_get(o, "distribution_status")));
	assert_true(json_is_null(json_object_get(o, "propagation_estimate_s")));
	assert_true(json_is_null(json_object_get(o, "error")));
	assert_int_equal(json_array_size(json_object_get(o, "edges")), 0);
	json_decref(o);
	free(text);

	s.propagation = ES_PROP_IN_PROGRESS;
	s.prop_estimate_s = 120;
	s.n_edges = 1;
	s.edges_new = 1;
	snprintf(s.edges[0].target, sizeof(s.edges[0].target), "198.51.100.1:443");
	snprintf(s.edges[0].release, sizeof(s.edges[0].release), "7");
	s.edges[0].status = 200;
	s.edges[0].is_new = true;
	snprintf(s.error, sizeof(s.error), "AccessDenied");
	text = es_model_stage_json(&s);
	o = json_loads(text, 0, &err);
	assert_string_equal(json_string_value(json_object_get(o, "distribution_status")),
	                    "InProgress");
	assert_true(json_real_value(json_object_get(o, "propagation_estimate_s")) == 120);
	assert_string_equal(json_string_value(json_object_get(o, "error")), "AccessDenied");
	json_t *edge = json_array_get(json_object_get(o, "edges"), 0);
	assert_string_equal(json_string_value(json_object_get(edge, "release")), "7");
	assert_int_equal(json_integer_value(json_object_get(edge, "status")), 200);
	assert_true(json_is_true(json_object_get(edge, "new")));
	json_decref(o);
	free(text);
	s.propagation = ES_PROP_DEPLOYED;
	text = es_model_stage_json(&s);
	assert_non_null(strstr(text, "\"distribution_status\":\"Deployed\""));
	free(text);

	struct es_activity a = {.when = 1700000000.5, .level = ES_ACT_WARN};
	snprintf(a.text, sizeof(a.text), "ledger: slow");
	text = es_model_activity_json(&a);
	o = json_loads(text, 0, &err);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "activity");
	assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(o, "text")), "ledger: slow");
	assert_true(json_real_value(json_object_get(o, "when")) == 1700000000.5);
	json_decref(o);
	free(text);
	a.level = ES_ACT_EVENT;
	text = es_model_activity_json(&a);
	assert_non_null(strstr(text, "\"level\":\"event\""));
	free(text);
}

static void activity_keeps_the_newest_500_lines(void **state)
{
	struct env *e = *state;

	usual_stacks(e);
	listed(e, "", FAKE_FOREVER);
	start(e);
	size_t before = es_model_activity_count(e->m);
	e->changes = 0;
	es_model_log(e->m, ES_ACT_ERROR, "evil \x1b]0;title\x07 line %d", 1);
	assert_int_equal(e->changes, 1);
	assert_true(e->what & ES_MODEL_ACTIVITY);
	const struct es_activity *a = es_model_activity(e->m, before);
	assert_int_equal(a->level, ES_ACT_ERROR);
	assert_null(strchr(a->text, '\x1b'));
	assert_null(strchr(a->text, '\x07'));
	assert_non_null(strstr(a->text, "line 1"));
	assert_true(a->when > es_time_now() - 60);
	for (int i = 0; i < 600; i++)
		es_model_log(e->m, ES_ACT_INFO, "line %d", i);
	assert_int_equal(es_model_activity_count(e->m), 500);
	assert_string_equal(es_model_activity(e->m, 0)->text, "line 100");
	assert_string_equal(es_model_activity(e->m, 499)->text, "line 599");
	assert_null(es_model_activity(e->m, 500));
}

static void freed_with_answers_due_drops_them(void **state)
{
	struct env *e = *state;
	bool never = false;

	fake_rule_times(fake_rule_delay(fake_cfn_stack(e->w->fake, "app-staging", "UPDATE_COMPLETE",
	                                               NULL, NULL),
	                                30),
	                FAKE_FOREVER);
	fake_rule_times(fake_rule_delay(fake_cfn_no_stack(e->w->fake, "app-production"), 30),
	                FAKE_FOREVER);
	fake_rule_times(
	        fake_rule_delay(fake_expect(e->w->fake, "GET", "ListDistributions", 200, NULL,
	                                    "<DistributionList><Items/></DistributionList>"),
	                        30),
	        FAKE_FOREVER);
	assert_int_equal(es_model_new(e->w->aws, &e->w->conf, &e->m), ES_OK);
	es_model_on_change(e->m, on_change, e);
	while (fake_count(e->w->fake) < 3)
		es_loop_turn(e->w->loop, 5);
	assert_true(es_model_busy(e->m));
	es_model_free(e->m);
	e->m = NULL;
	e->changes = 0;
	/* The answers arrive after the model is gone: nobody hears of them,
	 * nothing more is sent. */
	size_t sent = fake_count(e->w->fake);
	fake_run_until(e->w->fake, &never, 150);
	assert_int_equal(e->changes, 0);
	assert_int_equal(fake_count(e->w->fake), sent);
}

static void model_without_stages(void **state)
{
	struct env *e = *state;

	e->w->conf.n_stages = 0;
	listed(e, "", FAKE_FOREVER);
	start(e);
	assert_int_equal(es_model_stage_count(e->m), 0);
	assert_null(es_model_stage(e->m, 0));
	assert_string_equal(es_model_connection(e->m), "");
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeStacks"), 0);
	assert_int_equal(fake_count_matching(e->w->fake, "GET", "ListDistributions"), 1);
}

/* Something moving is looked at again soon, then less often up to every 2 s;
 * once settled, every 30 s, and the next movement is looked at soon again. */
static void rounds_come_soon_then_back_off(void **state)
{
	int looks = 0;
	const long moving[] = {250, 500, 1000, 2000, 2000, 2000};

	(void)state;
	for (size_t i = 0; i < sizeof(moving) / sizeof(moving[0]); i++)
		assert_int_equal(es_model_pace(&looks, true), moving[i]);
	assert_int_equal(es_model_pace(&looks, false), 30000);
	assert_int_equal(looks, 0);
	assert_int_equal(es_model_pace(&looks, true), 250);
	for (int i = 0; i < 100; i++)
		assert_true(es_model_pace(&looks, true) <= 2000);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(rounds_fill_every_stage),
	        T(ledger_shows_the_last_action_once_the_caller_is_known),
	        T(unreadable_ledger_is_a_warning),
	        T(stack_changes_are_logged),
	        T(stack_gone_clears_what_it_ran),
	        T(garbled_stack_answer_is_the_stage_s_error),
	        T(propagation_is_timed_logged_and_recorded_once),
	        T(read_only_console_records_nothing),
	        T(new_change_on_a_deployed_distribution_is_logged),
	        T(invalidations_in_progress_keep_the_detail_fresh),
	        T(distribution_list_pages_are_followed),
	        T(unreachable_aws_is_offline_with_backoff_then_restored),
	        T(refresh_during_a_round_runs_another),
	        T(edges_are_sampled_for_stages_with_a_url),
	        T(deployed_with_cached_edges_is_not_live),
	        T(json_lines_for_watch),
	        T(activity_keeps_the_newest_500_lines),
	        T(freed_with_answers_due_drops_them),
	        T(model_without_stages),
	        cmocka_unit_test(rounds_come_soon_then_back_off),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
