/* The background actions (core/action.c): each outcome arrives once, on the
 * starter's loop, after the job ended; local mistakes fail at the start
 * with nothing sent; an abandoned action never reports. The AWS ones run
 * their job on the test's loop against the fake; revert, which needs no
 * AWS, runs on a real thread with a repository handle of its own, while
 * the starter's loop (marked as the screen's) never waits. */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "action.h"
#include "base/error.h"
#include "fakeaws.h"
#include "job.h"
#include "repo.h"
#include "testutil.h"

#define BUCKET "artifacts"
#define STACK  "app-staging"
#define WHO    "arn:aws:iam::123456789012:user/release-manager"
#define DIST   "E2STAGINGFAKE"
#define LOCK   "app/locks/staging.json"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *state_dir;
	struct es_stage_conf stage;
	struct es_config conf;
	/* what the outcome said */
	int outcomes;
	enum es_action_kind kind;
	int rc;
	char message[1024];
	char stage_seen[64];
	char paths[256];
	struct es_invalidation inv;
	bool validated;
	char commit[41];
	char rev[64];
	unsigned long ui_blocks_at_outcome;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	setenv("AWS_MAX_ATTEMPTS", "1", 1);
	e->state_dir = tu_mkdtemp();
	setenv("XDG_STATE_HOME", e->state_dir, 1);
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->state_dir || !e->loop || !e->fake)
		return -1;
	e->aws = fake_client(e->fake);
	es_job_run_inline(true);
	e->stage = (struct es_stage_conf){.name = "staging", .stack = STACK};
	e->conf.path = "edgeship.conf";
	e->conf.app = "app";
	e->conf.bucket = BUCKET;
	e->conf.prefix = "app";
	e->conf.region = "us-east-1";
	e->conf.stages = &e->stage;
	e->conf.n_stages = 1;
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
	es_job_run_inline(false);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	tu_rmtree(e->state_dir);
	free(e->state_dir);
	unsetenv("XDG_STATE_HOME");
	unsetenv("AWS_MAX_ATTEMPTS");
	free(e);
	return 0;
}

static void on_outcome(const struct es_action_outcome *o, void *ud)
{
	struct env *e = ud;

	e->outcomes++;
	e->kind = o->kind;
	e->rc = o->rc;
	e->ui_blocks_at_outcome = es_loop_ui_blocks(e->loop);
	assert_non_null(o->action);
	assert_int_equal(es_action_kind_of(o->action), o->kind);
	snprintf(e->stage_seen, sizeof(e->stage_seen), "%s", o->stage);
	snprintf(e->paths, sizeof(e->paths), "%s", o->paths);
	snprintf(e->rev, sizeof(e->rev), "%s", o->rev);
	if (o->rc != ES_OK) {
		assert_non_null(o->err);
		snprintf(e->message, sizeof(e->message), "%s", o->err->message);
		assert_null(o->validation);
		assert_null(o->invalidation);
		assert_null(o->commit);
		return;
	}
	assert_null(o->err);
	if (o->invalidation)
		e->inv = *o->invalidation;
	if (o->validation)
		e->validated = true;
	if (o->commit)
		snprintf(e->commit, sizeof(e->commit), "%s", o->commit);
}

/* Turn the loop until the outcome came (it never comes inside a start). */
static void wait_outcome(struct env *e)
{
	for (int64_t until = es_loop_now_ms() + 20000;
	     e->outcomes == 0 && es_loop_now_ms() < until;)
		es_loop_turn(e->loop, 100);
	assert_int_equal(e->outcomes, 1);
	/* and only once */
	for (int i = 0; i < 5; i++)
		es_loop_turn(e->loop, 10);
	assert_int_equal(e->outcomes, 1);
	assert_int_equal(es_job_count(), 0);
}

/* ------------------------------------------------------------ validate */

static void validate_outcome_carries_the_refusal(void **state)
{
	struct env *e = *state;
	struct es_action *a = NULL;

	fake_cfn_no_stack(e->fake, STACK);
	assert_int_equal(es_action_validate(e->aws, &e->conf, "staging", on_outcome, e, &a), ES_OK);
	assert_non_null(a);
	assert_int_equal(e->outcomes, 0);
	assert_int_equal(fake_count(e->fake), 0); /* nothing before the loop turns */
	wait_outcome(e);
	assert_int_equal(e->kind, ES_ACTION_VALIDATE);
	assert_int_equal(e->rc, ES_EREFUSED);
	assert_string_equal(e->stage_seen, "staging");
	assert_non_null(strstr(e->message, "staging is not deployed"));
	assert_false(e->validated);
}

static void unknown_stage_fails_at_the_start(void **state)
{
	struct env *e = *state;
	struct es_action *a = (struct es_action *)e;
	const char *paths[] = {"/*"};

	assert_int_equal(es_action_validate(e->aws, &e->conf, "prod", on_outcome, e, &a),
	                 ES_EINVAL);
	assert_null(a);
	assert_non_null(strstr(es_error_last()->message, "no stage \"prod\""));
	assert_int_equal(
	        es_action_invalidate(e->aws, &e->conf, "prod", paths, 1, on_outcome, e, NULL),
	        ES_EINVAL);
	assert_int_equal(es_action_unlock(e->aws, &e->conf, NULL, on_outcome, e, NULL), ES_EINVAL);
	for (int i = 0; i < 5; i++)
		es_loop_turn(e->loop, 10);
	assert_int_equal(e->outcomes, 0);
	assert_int_equal(fake_count(e->fake), 0);
	assert_int_equal(es_job_count(), 0);
}

/* ------------------------------------------------------------ invalidate */

static void stage_with_distribution(struct env *e)
{
	fake_cfn_stack(e->fake, STACK, "UPDATE_COMPLETE",
	               "edgeship:release=r-1;edgeship:commit=0123456789abcdef", NULL);
	fake_cfn_resources(e->fake, STACK, "Cdn|AWS::CloudFront::Distribution|" DIST);
	char *xml = fake_cf_distribution_xml(DIST, "Deployed");
	fake_expect(e->fake, "GET", "GetDistribution", 200, "ETag: \"E1\"", xml);
	free(xml);
}

static void invalidate_then_poll(void **state)
{
	struct env *e = *state;
	const char *paths[] = {"/index.html", "/assets/*"};

	stage_with_distribution(e);
	struct fake_rule *create = fake_expect(
	        e->fake, "POST", "CreateInvalidation", 201, NULL,
	        "<Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
	        "<Id>I2FAKE</Id><Status>InProgress</Status></Invalidation>");
	fake_rule_body_has(create, "<Path>/assets/*</Path>");
	assert_int_equal(
	        es_action_invalidate(e->aws, &e->conf, "staging", paths, 2, on_outcome, e, NULL),
	        ES_OK);
	wait_outcome(e);
	assert_int_equal(e->rc, ES_OK);
	assert_int_equal(e->kind, ES_ACTION_INVALIDATE);
	assert_string_equal(e->paths, "/index.html /assets/*");
	assert_string_equal(e->inv.id, "I2FAKE");
	assert_string_equal(e->inv.status, "InProgress");
	assert_string_equal(e->inv.distribution_id, DIST);
	assert_non_null(strstr(e->inv.caller_reference, "edgeship-r-1-"));
	assert_int_equal(fake_rule_hits(create), 1);
	/* intent and outcome in the ledger */
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 2);

	/* Then poll it, as both front ends do. */
	struct es_invalidation inv = e->inv;
	e->outcomes = 0;
	fake_expect(e->fake, "GET", "GetInvalidation", 200, NULL,
	            "<Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
	            "<Id>I2FAKE</Id><Status>Completed</Status></Invalidation>");
	assert_int_equal(es_action_poll_invalidation(e->aws, &inv, on_outcome, e, NULL), ES_OK);
	wait_outcome(e);
	assert_int_equal(e->kind, ES_ACTION_POLL_INVALIDATION);
	assert_int_equal(e->rc, ES_OK);
	assert_string_equal(e->inv.status, "Completed");
	assert_string_equal(e->inv.id, "I2FAKE");
	const struct fake_request *q = fake_last(e->fake);
	assert_non_null(strstr(q->path, "/distribution/" DIST "/invalidation/I2FAKE"));
}

static void bad_paths_fail_before_anything_is_sent(void **state)
{
	struct env *e = *state;
	const char *paths[] = {"/ok", "no-slash"};

	assert_int_equal(
	        es_action_invalidate(e->aws, &e->conf, "staging", paths, 2, on_outcome, e, NULL),
	        ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "must start with '/'"));
	for (int i = 0; i < 5; i++)
		es_loop_turn(e->loop, 10);
	assert_int_equal(e->outcomes, 0);
	assert_int_equal(fake_count(e->fake), 0);
}

/* ------------------------------------------------------------ unlock */

static void unlock_removes_the_lock_and_records_it(void **state)
{
	struct env *e = *state;
	const char *body = "{\"kind\": \"deploy\", \"stage\": \"staging\", \"who\": "
	                   "\"arn:aws:iam::123456789012:user/bob\", \"owner\": \"bobs-token\", "
	                   "\"action_id\": \"a1\", \"when\": \"2026-12-01T10:00:00Z\", "
	                   "\"ttl_s\": 600, \"expires\": \"2000-01-01T00:00:00Z\"}";

	fake_s3_put(e->fake, BUCKET, LOCK, body, strlen(body));
	assert_int_equal(es_action_unlock(e->aws, &e->conf, "staging", on_outcome, e, NULL), ES_OK);
	assert_non_null(fake_s3_get(e->fake, BUCKET, LOCK, NULL));
	wait_outcome(e);
	assert_int_equal(e->kind, ES_ACTION_UNLOCK);
	assert_int_equal(e->rc, ES_OK);
	assert_string_equal(e->stage_seen, "staging");
	assert_null(fake_s3_get(e->fake, BUCKET, LOCK, NULL));
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 1);
	const char *rec = fake_s3_get(e->fake, BUCKET, "app/ledger/0000000001.json", NULL);
	assert_non_null(rec);
	assert_non_null(strstr(rec, "\"unlock\""));
	assert_non_null(strstr(rec, "bobs-token"));

	/* Again: nothing to remove, which is the outcome's error. */
	e->outcomes = 0;
	assert_int_equal(es_action_unlock(e->aws, &e->conf, "staging", on_outcome, e, NULL), ES_OK);
	wait_outcome(e);
	assert_int_equal(e->rc, ES_ENOTFOUND);
	assert_non_null(strstr(e->message, "not locked"));
}

/* ------------------------------------------------------------ abandon */

static void an_abandoned_action_never_reports(void **state)
{
	struct env *e = *state;
	struct es_action *a = NULL;

	assert_int_equal(es_action_validate(e->aws, &e->conf, "staging", on_outcome, e, &a), ES_OK);
	assert_int_equal(es_job_count(), 1);
	es_action_abandon(a);
	for (int i = 0; i < 10; i++)
		es_loop_turn(e->loop, 10);
	assert_int_equal(e->outcomes, 0);
	assert_int_equal(es_job_count(), 0);
	assert_int_equal(fake_count(e->fake), 0);
}

/* ------------------------------------------------------------ revert */

#define sh TU_SH

static char *git_out(const char *dir, const char *args)
{
	char cmd[1024], buf[256] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git -C '%s' %s", dir, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

static char *make_repo(void)
{
	char *dir = tu_mkdtemp();

	sh("cd '%s' && git init -q -b main . && git config user.name 'Ann Tester' && "
	   "git config user.email ann@example.com && git config commit.gpgsign false && "
	   "echo v1 > index.js && git add . && git commit -qm 'first' && "
	   "echo v2 > index.js && git commit -qam 'second: v2'",
	   dir);
	return dir;
}

/* A real thread: the starter's loop, the screen's, turns freely and never
 * waits; the job commits through its own handle; the starter's handle
 * then sees the new commit. */
static void revert_runs_off_the_loop(void **state)
{
	struct env *e = *state;
	char *dir = make_repo();
	struct es_repo *repo;
	char head[41];

	es_job_run_inline(false);
	es_loop_set_ui(e->loop, true);
	assert_int_equal(es_repo_discover(dir, &repo), ES_OK);
	char *second = git_out(dir, "rev-parse HEAD");
	assert_int_equal(es_action_revert(e->loop, repo, second, on_outcome, e, NULL), ES_OK);
	wait_outcome(e);
	assert_int_equal(e->kind, ES_ACTION_REVERT);
	assert_int_equal(e->rc, ES_OK);
	assert_string_equal(e->rev, second);
	assert_int_equal(strlen(e->commit), 40);
	assert_int_equal(e->ui_blocks_at_outcome, 0);
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);
	/* git and the starter's own handle agree */
	char *now = git_out(dir, "rev-parse HEAD");
	assert_string_equal(now, e->commit);
	assert_int_equal(es_repo_resolve(repo, "HEAD", head), ES_OK);
	assert_string_equal(head, e->commit);
	char *parent = git_out(dir, "rev-parse HEAD~1");
	assert_string_equal(parent, second);
	char *content = git_out(dir, "show HEAD:index.js");
	assert_string_equal(content, "v1");
	free(now);
	free(parent);
	free(content);

	/* A dirty tree: refused, as the outcome, nothing committed. */
	e->outcomes = 0;
	sh("echo local > '%s/index.js'", dir);
	assert_int_equal(es_action_revert(e->loop, repo, "HEAD", on_outcome, e, NULL), ES_OK);
	wait_outcome(e);
	assert_int_equal(e->rc, ES_EREFUSED);
	assert_string_equal(e->rev, "HEAD");
	char *still = git_out(dir, "rev-parse HEAD");
	assert_string_equal(still, e->commit);
	free(still);
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);

	es_repo_free(repo);
	free(second);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(validate_outcome_carries_the_refusal),
	        T(unknown_stage_fails_at_the_start),
	        T(invalidate_then_poll),
	        T(bad_paths_fail_before_anything_is_sent),
	        T(unlock_removes_the_lock_and_records_it),
	        T(an_abandoned_action_never_reports),
	        T(revert_runs_off_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
