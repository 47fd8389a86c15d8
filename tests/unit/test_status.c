/* Stage status (core/status.c) from scripted CloudFormation answers and the
 * ledger in the fake's S3: a deployed stage with its tags, outputs and
 * distribution, a stage never deployed, throttling on the way, a stage we
 * may not read, the ledger's last action and open intents, and a ledger
 * that cannot be read. */
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
#include "status.h"
#include "testutil.h"

#define BUCKET  "artifacts"
#define WHO     "arn:aws:iam::123456789012:user/release-manager"
#define COMMIT  "0123456789abcdef0123456789abcdef01234567"
#define DIST_ID "E2STAGINGFAKE"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *state_dir;
	struct es_stage_conf stages[2];
	struct es_config conf;
	struct es_overview ov;
};

static void ledger_record(struct env *e, const char *kind, const char *phase, const char *stage,
                          const char *result, long intent);

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	e->state_dir = tu_mkdtemp();
	if (!e->state_dir)
		return -1;
	/* The ledger's local cache must not be the developer's. */
	setenv("XDG_STATE_HOME", e->state_dir, 1);
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->loop || !e->fake)
		return -1;
	e->aws = fake_client(e->fake);
	e->stages[0] = (struct es_stage_conf){.name = "staging", .stack = "app-staging"};
	e->stages[1] = (struct es_stage_conf){
	        .name = "production", .stack = "app-production", .promotes_from = "staging"};
	e->conf.app = "app";
	e->conf.bucket = BUCKET;
	e->conf.prefix = "app";
	e->conf.region = "us-east-1";
	e->conf.stages = e->stages;
	e->conf.n_stages = 2;
	fake_s3_bucket(e->fake, BUCKET);
	/* Who this is picks the ledger's cache (the account). */
	fake_rule_times(fake_sts_identity(e->fake, WHO), FAKE_FOREVER);
	/* Record 1 belongs to a stage no longer configured: status must not
	 * show it anywhere. (It also keeps every ledger here non-empty: the
	 * current ledger.c hands qsort a NULL array when there are no records,
	 * which UBSan stops on.) */
	ledger_record(e, "deploy", "intent", "qa", NULL, 0);
	fake_log_clear(e->fake);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (fake_unmatched(e->fake))
		fake_dump(e->fake, stderr);
	es_overview_free(&e->ov);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	tu_rmtree(e->state_dir);
	free(e->state_dir);
	unsetenv("XDG_STATE_HOME");
	free(e);
	return 0;
}

static void staging_deployed(struct env *e, const char *status)
{
	fake_cfn_stack(e->fake, "app-staging", status,
	               "edgeship:commit=" COMMIT
	               ";edgeship:release=r-0042;edgeship:template=" COMMIT
	               "abcdef0123456789abcdef0123456789",
	               "Url=https://staging.example.com;FunctionVersion=7");
	fake_cfn_resources(e->fake, "app-staging",
	                   "EdgeFunction|AWS::Lambda::Function|app-edge;"
	                   "Cdn|AWS::CloudFront::Distribution|" DIST_ID);
	fake_cf_distribution(e->fake, DIST_ID, "Deployed");
}

static void ledger_record(struct env *e, const char *kind, const char *phase, const char *stage,
                          const char *result, long intent)
{
	struct es_ledger *l = NULL;
	long seq = 0;
	json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "kind", kind, "phase", phase, "stage", stage,
	                      "commit", COMMIT);

	if (result)
		json_object_set_new(r, "result", json_string(result));
	if (intent)
		json_object_set_new(r, "intent_seq", json_integer(intent));
	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &l), ES_OK);
	es_ledger_set_who(l, WHO);
	assert_int_equal(es_ledger_append(l, r, &seq), ES_OK);
	json_decref(r);
	es_ledger_free(l);
}

static const struct es_stage_status *stage(const struct env *e, const char *name)
{
	for (size_t i = 0; i < e->ov.n; i++)
		if (strcmp(e->ov.stages[i].stage, name) == 0)
			return &e->ov.stages[i];
	fail_msg("no stage %s", name);
	return NULL;
}

static const char *output(const struct es_stage_status *s, const char *key)
{
	for (size_t i = 0; i < s->n_outputs; i++)
		if (strcmp(s->outputs[i].key, key) == 0)
			return s->outputs[i].value;
	return NULL;
}

/* ------------------------------------------------------------ stacks */

static void deployed_and_never_deployed(void **state)
{
	struct env *e = *state;

	staging_deployed(e, "UPDATE_COMPLETE");
	fake_cfn_no_stack(e->fake, "app-production");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	assert_int_equal(e->ov.n, 2);

	const struct es_stage_status *s = stage(e, "staging");
	assert_true(s->exists);
	assert_string_equal(s->stack, "app-staging");
	assert_string_equal(s->stack_status, "UPDATE_COMPLETE");
	assert_string_equal(s->commit, COMMIT);
	assert_string_equal(s->release, "r-0042");
	assert_int_equal(strlen(s->template_sha256), 64);
	assert_string_equal(s->last_updated, "2026-01-02T00:00:00Z");
	assert_string_equal(output(s, "Url"), "https://staging.example.com");
	assert_string_equal(output(s, "FunctionVersion"), "7");
	assert_string_equal(s->distribution_id, DIST_ID);
	assert_string_equal(s->distribution_status, "Deployed");
	assert_string_equal(s->distribution_error, "");
	assert_string_equal(s->error, "");
	assert_false(s->has_last);

	const struct es_stage_status *p = stage(e, "production");
	assert_false(p->exists);
	assert_string_equal(p->stack_status, "NOT_DEPLOYED");
	assert_string_equal(p->error, "");
	assert_string_equal(p->distribution_id, "");
	/* A missing stack is an answer, not something to ask again. */
	assert_int_equal(fake_count_matching(e->fake, "POST", "DescribeStacks"), 2);
	assert_int_equal(fake_count_matching(e->fake, "POST", "DescribeStackResources"), 1);
	assert_false(e->ov.ledger_offline);
	assert_int_equal(fake_unmatched(e->fake), 0);

	char *json = es_overview_json(&e->ov);
	assert_non_null(strstr(json, "\"distribution_id\": \"" DIST_ID "\""));
	assert_non_null(strstr(json, "\"stack_status\": \"NOT_DEPLOYED\""));
	assert_non_null(strstr(json, "\"last_action\": null"));
	free(json);
}

static void throttled_then_answered(void **state)
{
	struct env *e = *state;

	fake_rule_answer_header(
	        fake_rule_body_has(fake_expect_error(e->fake, "POST", "DescribeStacks", 400,
	                                             "Throttling", "Rate exceeded"),
	                           "StackName=app-staging"),
	        "x-amz-retry-after: 10");
	staging_deployed(e, "UPDATE_COMPLETE");
	fake_cfn_no_stack(e->fake, "app-production");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	assert_string_equal(stage(e, "staging")->stack_status, "UPDATE_COMPLETE");
	assert_string_equal(stage(e, "staging")->error, "");
	const struct fake_request *first = fake_find(e->fake, "POST", "DescribeStacks", 0);
	const struct fake_request *again = fake_find(e->fake, "POST", "DescribeStacks", 1);
	assert_int_equal(first->status, 400);
	assert_int_equal(again->status, 200);
	assert_string_equal(fake_req_param(again, "StackName"), "app-staging");
	assert_true(again->at_ms - first->at_ms >= 10);
}

static void stage_we_may_not_read(void **state)
{
	struct env *e = *state;

	staging_deployed(e, "UPDATE_COMPLETE");
	fake_rule_body_has(fake_expect_error(e->fake, "POST", "DescribeStacks", 403, "AccessDenied",
	                                     "User: " WHO " is not authorized to perform: "
	                                     "cloudformation:DescribeStacks"),
	                   "StackName=app-production");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	const struct es_stage_status *p = stage(e, "production");
	assert_false(p->exists);
	assert_string_equal(p->stack_status, "UNKNOWN");
	assert_non_null(strstr(p->error, "AccessDenied (403)"));
	/* The request id travels with the error, for a support ticket. */
	const struct fake_request *q = fake_find(e->fake, "POST", "DescribeStacks", 1);
	assert_non_null(strstr(p->error, q->request_id));
	/* The other stage is unaffected, and the refusal was not retried. */
	assert_string_equal(stage(e, "staging")->stack_status, "UPDATE_COMPLETE");
	assert_int_equal(fake_count_matching(e->fake, "POST", "DescribeStacks"), 2);
}

static void nothing_readable_fails(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_expect_error(e->fake, "POST", "DescribeStacks", 403, "AccessDenied",
	                                  "not authorized"),
	                FAKE_FOREVER);
	char line[600];

	assert_int_not_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	/* the first read's own error, code and message, not a network error */
	es_error_format(es_error_last(), line, sizeof(line));
	assert_non_null(strstr(line, "AccessDenied"));
	assert_non_null(strstr(line, "not authorized"));
	assert_int_equal(e->ov.n, 2);
	assert_string_equal(stage(e, "staging")->stack_status, "UNKNOWN");
}

static void resources_unreadable_shows_no_distribution(void **state)
{
	struct env *e = *state;

	fake_cfn_stack(e->fake, "app-staging", "CREATE_COMPLETE", NULL, NULL);
	fake_expect_error(e->fake, "POST", "DescribeStackResources", 403, "AccessDenied", "no");
	fake_cfn_no_stack(e->fake, "app-production");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	const struct es_stage_status *s = stage(e, "staging");
	assert_true(s->exists);
	assert_string_equal(s->stack_status, "CREATE_COMPLETE");
	assert_string_equal(s->distribution_id, "");
	assert_string_equal(s->commit, "");
	assert_int_equal(s->n_outputs, 0);
}

/* ------------------------------------------------------------ the ledger */

static void last_action_and_a_deploy_in_flight(void **state)
{
	struct env *e = *state;

	ledger_record(e, "deploy", "intent", "production", NULL, 0);       /* 2 */
	ledger_record(e, "deploy", "outcome", "production", "success", 2); /* 3 */
	ledger_record(e, "deploy", "intent", "staging", NULL, 0);          /* 4 */
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 4);
	/* Each record was a conditional create of the next number. */
	assert_int_equal(fake_count_matching(e->fake, "PUT", "PutObject"), 3);
	assert_string_equal(
	        fake_req_header(fake_find(e->fake, "PUT", "PutObject", 0), "If-None-Match"), "*");
	fake_log_clear(e->fake);

	staging_deployed(e, "UPDATE_IN_PROGRESS");
	fake_cfn_stack(e->fake, "app-production", "UPDATE_COMPLETE", NULL, NULL);
	fake_cfn_resources(e->fake, "app-production", "");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);

	const struct es_stage_status *s = stage(e, "staging");
	assert_true(s->has_last);
	assert_int_equal(s->last.seq, 4);
	assert_string_equal(s->last.phase, "intent");
	assert_true(s->running);
	assert_false(s->interrupted);

	const struct es_stage_status *p = stage(e, "production");
	assert_true(p->has_last);
	assert_int_equal(p->last.seq, 3);
	assert_string_equal(p->last.result, "success");
	assert_string_equal(p->last.who, WHO);
	assert_false(p->running);
	assert_false(p->interrupted);
	assert_false(e->ov.ledger_offline);
	/* Newer records are always asked of S3, whatever the cache holds. */
	assert_true(fake_count_matching(e->fake, "GET", "ListObjectsV2") >= 1);
}

static void an_intent_nobody_closed_on_an_idle_stack(void **state)
{
	struct env *e = *state;

	ledger_record(e, "rollback", "intent", "staging", NULL, 0);
	staging_deployed(e, "UPDATE_COMPLETE");
	fake_cfn_no_stack(e->fake, "app-production");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	const struct es_stage_status *s = stage(e, "staging");
	assert_true(s->has_last);
	assert_string_equal(s->last.kind, "rollback");
	assert_true(s->interrupted);
	assert_false(s->running);
	assert_false(stage(e, "production")->has_last);

	char *json = es_overview_json(&e->ov);
	assert_non_null(strstr(json, "\"interrupted\": true"));
	assert_non_null(strstr(json, "\"kind\": \"rollback\""));
	free(json);
}

static void records_another_console_wrote(void **state)
{
	struct env *e = *state;
	const char *rec = "{\"seq\": 2, \"kind\": \"invalidation\", \"phase\": \"outcome\", "
	                  "\"intent_seq\": 0, \"stage\": \"production\", \"result\": \"success\", "
	                  "\"who\": \"arn:aws:iam::123456789012:user/other\", "
	                  "\"when\": \"2026-01-03T00:00:00Z\"}";

	/* Written straight into S3, as a console on another laptop would. */
	fake_s3_put(e->fake, BUCKET, "app/ledger/0000000002.json", rec, strlen(rec));
	fake_cfn_no_stack(e->fake, "app-staging");
	fake_cfn_stack(e->fake, "app-production", "UPDATE_COMPLETE", NULL, NULL);
	fake_cfn_resources(e->fake, "app-production", "");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	const struct es_stage_status *p = stage(e, "production");
	assert_true(p->has_last);
	assert_string_equal(p->last.kind, "invalidation");
	assert_string_equal(p->last.who, "arn:aws:iam::123456789012:user/other");
	assert_int_equal(fake_count_matching(e->fake, "GET", "/" BUCKET "/app/ledger/0*"), 1);
}

static void ledger_unreachable_is_offline_not_fatal(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_expect_error(e->fake, "GET", "ListObjectsV2", 403, "AccessDenied",
	                                  "Access Denied"),
	                FAKE_FOREVER);
	staging_deployed(e, "UPDATE_COMPLETE");
	fake_cfn_no_stack(e->fake, "app-production");
	assert_int_equal(es_overview_collect(e->aws, &e->conf, true, &e->ov), ES_OK);
	assert_true(e->ov.ledger_offline);
	assert_non_null(strstr(e->ov.ledger_note, "AccessDenied"));
	assert_string_equal(stage(e, "staging")->stack_status, "UPDATE_COMPLETE");
	assert_false(stage(e, "staging")->has_last);
	/* What the cache held is still shown: here, only the qa record. */
	assert_false(stage(e, "production")->has_last);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(deployed_and_never_deployed),
	        T(throttled_then_answered),
	        T(stage_we_may_not_read),
	        T(nothing_readable_fails),
	        T(resources_unreadable_shows_no_distribution),
	        T(last_action_and_a_deploy_in_flight),
	        T(an_intent_nobody_closed_on_an_idle_stack),
	        T(records_another_console_wrote),
	        T(ledger_unreachable_is_offline_not_fatal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
