/* Recording how an abandoned action ended (core/resolve.c) against the fake
 * AWS: executed and settled → the stack's status, once however many
 * consoles look; still executing → nothing yet; never executed → cancelled,
 * but only when no live console holds the stage lock for it. */
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
#include "lock.h"
#include "resolve.h"
#include "testutil.h"

#define BUCKET "artifacts"
#define STACK  "app-staging"
#define WHO    "arn:aws:iam::123456789012:user/release-manager"
#define CFNNS  "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""
#define CS     "edgeship-deploy-act1"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *state_dir;
	struct es_stage_conf stage;
	struct es_config conf;
	struct es_ledger *ledger;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	long seq;

	fake_env();
	e->state_dir = tu_mkdtemp();
	setenv("XDG_STATE_HOME", e->state_dir, 1);
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	e->aws = fake_client(e->fake);
	e->stage = (struct es_stage_conf){.name = "staging", .stack = STACK};
	e->conf.app = "app";
	e->conf.bucket = BUCKET;
	e->conf.prefix = "app";
	e->conf.stages = &e->stage;
	e->conf.n_stages = 1;
	fake_s3_bucket(e->fake, BUCKET);
	fake_rule_times(fake_sts_identity(e->fake, WHO), FAKE_FOREVER);
	assert_int_equal(es_ledger_open(e->aws, BUCKET, "app", &e->ledger), ES_OK);
	es_ledger_set_who(e->ledger, WHO);
	/* A deploy's intent whose console died. */
	json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "deploy", "phase", "intent",
	                      "stage", "staging", "action_id", "act1", "change_set", CS, "stack",
	                      STACK, "commit", "0123456");
	assert_int_equal(es_ledger_append(e->ledger, r, &seq), ES_OK);
	json_decref(r);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_ledger_free(e->ledger);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	tu_rmtree(e->state_dir);
	free(e->state_dir);
	unsetenv("XDG_STATE_HOME");
	free(e);
	return 0;
}

static void change_set_is(struct env *e, const char *exec_status)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
	         "<DescribeChangeSetResponse " CFNNS "><DescribeChangeSetResult>"
	         "<ChangeSetName>" CS "</ChangeSetName><Status>CREATE_COMPLETE</Status>"
	         "<ExecutionStatus>%s</ExecutionStatus></DescribeChangeSetResult>"
	         "</DescribeChangeSetResponse>",
	         exec_status);
	fake_rule_times(fake_expect(e->fake, "POST", "DescribeChangeSet", 200, NULL, xml),
	                FAKE_FOREVER);
}

/* Resolve against what the ledger holds now; how many outcomes were written. */
static size_t resolve(struct env *e)
{
	struct es_record_list recs;
	size_t recorded = 0;

	assert_int_equal(es_ledger_read(e->ledger, &recs), ES_OK);
	assert_int_equal(es_resolve(e->aws, &e->conf, e->ledger, &recs, &recorded), ES_OK);
	es_record_list_free(&recs);
	return recorded;
}

static const char *outcome(struct env *e)
{
	static char result[32];
	struct es_record_list recs;

	result[0] = '\0';
	assert_int_equal(es_ledger_read(e->ledger, &recs), ES_OK);
	for (size_t i = 0; i < recs.n; i++)
		if (!strcmp(recs.items[i].phase, "outcome") &&
		    !strcmp(recs.items[i].action_id, "act1"))
			snprintf(result, sizeof(result), "%s", recs.items[i].result);
	es_record_list_free(&recs);
	return result;
}

static void executed_and_settled_is_recorded_once(void **state)
{
	struct env *e = *state;

	change_set_is(e, "EXECUTE_COMPLETE");
	fake_rule_times(fake_cfn_stack(e->fake, STACK, "UPDATE_COMPLETE", NULL, NULL),
	                FAKE_FOREVER);
	assert_int_equal(resolve(e), 1);
	assert_string_equal(outcome(e), "success");
	/* A second console looking later writes nothing more. */
	assert_int_equal(resolve(e), 0);
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 2);
}

static void failed_execution_is_failed(void **state)
{
	struct env *e = *state;

	change_set_is(e, "EXECUTE_FAILED");
	fake_rule_times(fake_cfn_stack(e->fake, STACK, "UPDATE_ROLLBACK_COMPLETE", NULL, NULL),
	                FAKE_FOREVER);
	assert_int_equal(resolve(e), 1);
	assert_string_equal(outcome(e), "failed");
}

static void still_running_is_left_alone(void **state)
{
	struct env *e = *state;

	change_set_is(e, "EXECUTE_IN_PROGRESS");
	assert_int_equal(resolve(e), 0);
	assert_string_equal(outcome(e), "");
}

static void released(int rc, void *ud)
{
	(void)rc;
	*(bool *)ud = true;
}

static void never_executed_waits_for_a_live_console(void **state)
{
	struct env *e = *state;
	const char *lock = "{\"kind\":\"deploy\",\"stage\":\"staging\",\"who\":\"" WHO "\","
	                   "\"owner\":\"another-console\",\"action_id\":\"act1\","
	                   "\"when\":\"2026-01-01T00:00:00Z\",\"ttl_s\":180}";

	change_set_is(e, "AVAILABLE");
	/* Its console (another process) holds the lock: it may be asking its
	 * operator. */
	fake_s3_put(e->fake, BUCKET, "app/locks/staging.json", lock, strlen(lock));
	assert_int_equal(resolve(e), 0);
	/* Its lease ran out by S3's clock: it is gone; nothing ever ran. */
	fake_set_clock_offset(e->fake, ES_LOCK_TTL_S + 30);
	assert_int_equal(resolve(e), 1);
	assert_string_equal(outcome(e), "cancelled");
}

static void an_action_this_process_follows_is_left_to_it(void **state)
{
	struct env *e = *state;
	struct es_lock *lk = NULL;

	change_set_is(e, "EXECUTE_COMPLETE");
	fake_rule_times(fake_cfn_stack(e->fake, STACK, "UPDATE_COMPLETE", NULL, NULL),
	                FAKE_FOREVER);
	/* This process holds the lock for act1 (a dashboard following its own
	 * deploy, about to write the end with its own words): its resolver
	 * leaves it alone, even once S3 calls the lease run out. */
	assert_int_equal(es_lock_take(e->aws, &e->conf, "staging", "deploy", WHO, "act1", NULL,
	                              NULL, NULL, &lk, NULL),
	                 ES_OK);
	assert_true(es_lock_held_here("act1"));
	assert_int_equal(resolve(e), 0);
	fake_set_clock_offset(e->fake, ES_LOCK_TTL_S + 30);
	assert_int_equal(resolve(e), 0);
	assert_string_equal(outcome(e), "");
	bool done = false;
	es_lock_release(lk, released, &done);
	assert_true(fake_run_until(e->fake, &done, 10000));
	assert_false(es_lock_held_here("act1"));
	/* Another process sees a held lock, not this registry: a killed
	 * console's executed deploy is recorded as soon as it settles. */
	assert_int_equal(resolve(e), 1);
	assert_string_equal(outcome(e), "success");
}

static void missing_change_set_is_cancelled(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_expect_error(e->fake, "POST", "DescribeChangeSet", 400,
	                                  "ChangeSetNotFound", "ChangeSet [" CS "] does not exist"),
	                FAKE_FOREVER);
	assert_int_equal(resolve(e), 1);
	assert_string_equal(outcome(e), "cancelled");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(executed_and_settled_is_recorded_once, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(failed_execution_is_failed, setup, teardown),
	        cmocka_unit_test_setup_teardown(still_running_is_left_alone, setup, teardown),
	        cmocka_unit_test_setup_teardown(never_executed_waits_for_a_live_console, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(an_action_this_process_follows_is_left_to_it, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(missing_change_set_is_cancelled, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
