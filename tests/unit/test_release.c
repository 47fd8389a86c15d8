/* The release rules against the fake AWS: promotion deploys exactly the
 * release the stage before runs, and only once its newest validation stands
 * for it (validated after Deployed, nothing changed since); rollback
 * redeploys a recorded release; revert makes a git commit; invalidation is
 * checked, recorded and made once per intent, then polled. Every refusal
 * happens before anything changes. */
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
#include "release.h"
#include "testutil.h"
#include "validate.h"
#include "world.h"

#define TKEY  "app/templates/r1.json"
#define TBODY "{\"Resources\": {\"Fn\": {\"Type\": \"AWS::Lambda::Function\"}}}"
#define C0    "0000000000000000000000000000000000000000"
#define C1    "1111111111111111111111111111111111111111"
#define STAGED                                                                                     \
	"\"distribution_id\": \"E1\", \"distribution_status\": \"Deployed\", "                     \
	"\"distribution_etag\": \"E-E1\", \"distribution_modified\": \"2026-01-02T00:00:00Z\""

struct env {
	struct world *w;
	struct es_deploy *d;
	bool done;
	char log[8192];
	char *repo_dir;
	struct es_repo *repo;
	char head[41], parent[41];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->w = world_new();
	fake_s3_put(e->w->fake, WORLD_BUCKET, TKEY, TBODY, strlen(TBODY));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_deploy_free(e->d);
	es_repo_free(e->repo);
	if (e->repo_dir)
		tu_rmtree(e->repo_dir);
	free(e->repo_dir);
	world_free(e->w);
	free(e);
	return 0;
}

#define sh TU_SH

static void rev_parse(struct env *e, const char *rev, char out[41])
{
	char cmd[1200];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git -C %s rev-parse %s", e->repo_dir, rev);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, 41, p));
	pclose(p);
	assert_int_equal(strlen(out), 40);
}

/* A repository of two commits: e->parent and e->head. */
static void make_repo(struct env *e)
{
	e->repo_dir = tu_mkdtemp();
	sh("cd %s && git init -q -b main . && git config user.name 'Ann Tester' && "
	   "git config user.email ann@example.com && git config commit.gpgsign false && "
	   "echo v1 > handler.js && git add . && git commit -qm 'first' && "
	   "echo v2 > handler.js && git commit -qam 'second: change the handler'",
	   e->repo_dir);
	rev_parse(e, "HEAD", e->head);
	rev_parse(e, "HEAD~1", e->parent);
	assert_int_equal(es_repo_discover(e->repo_dir, &e->repo), ES_OK);
}

static void on_event(const struct es_deploy_event *ev, void *ud)
{
	struct env *e = ud;

	if (ev->kind == ES_DEPLOY_DONE)
		e->done = true;
	if (ev->kind == ES_DEPLOY_LOG) {
		strncat(e->log, ev->text, sizeof(e->log) - strlen(e->log) - 2);
		strncat(e->log, "\n", sizeof(e->log) - strlen(e->log) - 1);
	}
}

static const struct es_deploy_result *promote(struct env *e, const char *to)
{
	assert_int_equal(
	        es_promote_start(e->w->aws, &e->w->conf, to, true, 20, 60, on_event, e, &e->d),
	        ES_OK);
	world_run(e->w, &e->done, 30000);
	return es_deploy_result(e->d);
}

static const struct es_deploy_result *rollback(struct env *e, const char *stage, const char *rev)
{
	assert_int_equal(es_rollback_start(e->w->aws, &e->w->conf, e->repo, stage, rev, true, 20,
	                                   60, on_event, e, &e->d),
	                 ES_OK);
	world_run(e->w, &e->done, 30000);
	return es_deploy_result(e->d);
}

/* Release r1 of commit c was deployed to stage with its template. */
static void deployed(struct env *e, long seq, const char *stage, const char *release, const char *c,
                     const char *sha)
{
	world_record(e->w, seq,
	             "{\"kind\": \"deploy\", \"phase\": \"outcome\", \"stage\": \"%s\", "
	             "\"release\": \"%s\", \"commit\": \"%s\", \"result\": \"success\", "
	             "\"template\": {\"key\": \"" TKEY "\", \"sha256\": \"%s\"}}",
	             stage, release, c, sha);
}

static void validated(struct env *e, long seq, const char *result, const char *dist_fields)
{
	world_record(e->w, seq,
	             "{\"kind\": \"validation\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	             "\"release\": \"r1\", \"commit\": \"" C1 "\", \"result\": \"%s\", "
	             "\"message\": \"home: 503\", %s}",
	             result, dist_fields);
}

/* Staging runs r1 (deployed and validated); production runs r0. */
static void ready_to_promote(struct env *e)
{
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	deployed(e, 1, "staging", "r1", C1, "sha-r1");
	validated(e, 2, "passed", STAGED);
}

/* Nothing was changed: no lock, no change set, no record beyond those put. */
static void nothing_changed(struct env *e, size_t records)
{
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "CreateChangeSet"), 0);
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "/artifacts/app/locks/*"), 0);
	assert_int_equal(fake_s3_count(e->w->fake, WORLD_BUCKET, "app/ledger/"), records);
}

/* ------------------------------------------------------------ promotion */

static void promotion_deploys_what_the_stage_before_runs(void **state)
{
	struct env *e = *state;

	ready_to_promote(e);
	world_change_set_runs(e->w, "app-production");
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "success");
	assert_int_equal(r->status, ES_OK);
	assert_string_equal(r->release, "r1");
	assert_string_equal(r->commit, C1);
	assert_string_equal(r->template_key, TKEY);
	assert_string_equal(r->template_sha256, "sha-r1");
	/* The recorded template, not a rebuild, with the release's tags. */
	const struct fake_request *cs = fake_find(e->w->fake, "POST", "CreateChangeSet", 0);
	assert_string_equal(fake_req_param(cs, "StackName"), "app-production");
	assert_string_equal(fake_req_param(cs, "TemplateBody"), TBODY);
	assert_non_null(strstr(cs->body, "Value=r1"));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "/artifacts/app/templates/*"), 0);
	/* Intent and outcome of a promotion; the lock is gone. */
	assert_int_equal(world_records_with(e->w, "\"kind\": \"promotion\""), 2);
	assert_int_equal(world_records_with(e->w, "\"result\": \"success\""), 2);
	assert_null(fake_s3_get(e->w->fake, WORLD_BUCKET, "app/locks/production.json", NULL));
}

static void promotion_is_refused_without_a_standing_validation(void **state)
{
	struct env *e = *state;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	deployed(e, 1, "staging", "r1", C1, "sha-r1");
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "refused");
	assert_int_equal(r->status, ES_EREFUSED);
	assert_non_null(strstr(r->message, "staging has not been validated"));
	nothing_changed(e, 1);
}

static void promotion_is_refused_after_a_failed_validation(void **state)
{
	struct env *e = *state;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	deployed(e, 1, "staging", "r1", C1, "sha-r1");
	validated(e, 2, "failed", STAGED);
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "refused");
	assert_non_null(strstr(r->message, "latest validation (#2) failed: home: 503"));
	nothing_changed(e, 2);
}

static void promotion_is_refused_when_the_distribution_changed_since(void **state)
{
	struct env *e = *state;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	deployed(e, 1, "staging", "r1", C1, "sha-r1");
	validated(e, 2, "passed",
	          "\"distribution_id\": \"E1\", \"distribution_status\": \"Deployed\", "
	          "\"distribution_etag\": \"E-OLD\"");
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "refused");
	assert_non_null(strstr(r->message, "distribution changed after validation #2"));
	nothing_changed(e, 2);
}

static void promotion_needs_an_edgeship_release_upstream(void **state)
{
	struct env *e = *state;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", NULL, NULL, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "refused");
	assert_non_null(strstr(r->message, "staging runs no edgeship release yet"));
	nothing_changed(e, 0);
}

static void promotion_waits_for_both_stages_to_settle(void **state)
{
	struct env *e = *state;
	static const struct {
		const char *staging, *staging_dist, *production, *production_dist, *why;
	} cases[] = {
	        {"UPDATE_IN_PROGRESS", "Deployed", "UPDATE_COMPLETE", "Deployed",
	         "stack app-staging is UPDATE_IN_PROGRESS"},
	        {"UPDATE_COMPLETE", "InProgress", "UPDATE_COMPLETE", "Deployed",
	         "staging's distribution E1 is InProgress: promotion waits"},
	        {"UPDATE_COMPLETE", "Deployed", "UPDATE_ROLLBACK_IN_PROGRESS", "Deployed",
	         "stack app-production is UPDATE_ROLLBACK_IN_PROGRESS"},
	        {"UPDATE_COMPLETE", "Deployed", "UPDATE_COMPLETE", "InProgress",
	         "production's distribution E2 is InProgress: no new change"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_rules_clear(e->w->fake);
		fake_sts_identity(e->w->fake, WORLD_WHO);
		world_stack(e->w, "app-staging", cases[i].staging, "r1", C1, "E1",
		            cases[i].staging_dist);
		world_stack(e->w, "app-production", cases[i].production, "r0", C0, "E2",
		            cases[i].production_dist);
		e->done = false;
		es_deploy_free(e->d);
		e->d = NULL;
		const struct es_deploy_result *r = promote(e, "production");
		assert_string_equal(r->result, "refused");
		assert_int_equal(r->status, ES_EBUSY);
		if (!strstr(r->message, cases[i].why))
			fail_msg("case %zu: %s", i, r->message);
	}
	nothing_changed(e, 0);
}

static void promotion_needs_the_recorded_template(void **state)
{
	struct env *e = *state;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	/* Validated, but the deploy that made r1 is not in the ledger. */
	validated(e, 1, "passed", STAGED);
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "failed");
	assert_int_equal(r->status, ES_ENOTFOUND);
	assert_non_null(strstr(r->message, "the ledger has no successful deploy of release r1"));
	nothing_changed(e, 1);
}

static void promotion_refuses_a_template_other_than_the_one_running(void **state)
{
	struct env *e = *state;

	fake_rule_times(fake_cfn_stack(e->w->fake, "app-staging", "UPDATE_COMPLETE",
	                               "edgeship:release=r1;edgeship:commit=" C1
	                               ";edgeship:template=sha-other",
	                               NULL),
	                FAKE_FOREVER);
	ready_to_promote(e);
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "refused");
	assert_non_null(strstr(r->message, "the ledger's template for r1 does not match what "
	                                   "staging runs"));
	nothing_changed(e, 2);
}

static void promotion_fails_when_the_ledger_cannot_be_read(void **state)
{
	struct env *e = *state;

	ready_to_promote(e);
	/* This console read the ledger before: its cache holds the records. */
	struct es_ledger *l;
	struct es_record_list recs;
	assert_int_equal(es_ledger_open(e->w->aws, WORLD_BUCKET, "app", &l), ES_OK);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_int_equal(recs.n, 2);
	es_record_list_free(&recs);
	es_ledger_free(l);
	fake_rule_times(fake_expect_error(e->w->fake, "GET", "ListObjectsV2", 403, "AccessDenied",
	                                  "no listing"),
	                FAKE_FOREVER);
	const struct es_deploy_result *r = promote(e, "production");
	assert_string_equal(r->result, "failed");
	assert_int_equal(r->status, ES_ENET);
	assert_non_null(strstr(r->message, "the ledger cannot be read: "));
	assert_non_null(strstr(r->message, "AccessDenied"));
	nothing_changed(e, 2);
}

static void promotion_mistakes_are_told_at_once(void **state)
{
	struct env *e = *state;

	e->d = (struct es_deploy *)e; /* must be cleared */
	assert_int_equal(
	        es_promote_start(e->w->aws, &e->w->conf, "qa", true, 20, 60, on_event, e, &e->d),
	        ES_EINVAL);
	assert_null(e->d);
	assert_non_null(strstr(es_error_last()->message, "no stage \"qa\" in edgeship.conf"));
	assert_int_equal(
	        es_promote_start(e->w->aws, &e->w->conf, NULL, true, 20, 60, on_event, e, &e->d),
	        ES_EINVAL);
	assert_int_equal(es_promote_start(e->w->aws, &e->w->conf, "staging", true, 20, 60, on_event,
	                                  e, &e->d),
	                 ES_EREFUSED);
	assert_non_null(strstr(es_error_last()->message, "receives commits, not promotions"));
	e->w->stages[1].promotes_from = "qa";
	assert_int_equal(es_promote_start(e->w->aws, &e->w->conf, "production", true, 20, 60,
	                                  on_event, e, &e->d),
	                 ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "promotes from qa, which"));
	assert_int_equal(fake_count(e->w->fake), 0);
}

/* ------------------------------------------------------------ rollback */

static void rollback_redeploys_a_recorded_release(void **state)
{
	struct env *e = *state;

	make_repo(e);
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r2", e->head, "E1", "Deployed");
	world_change_set_runs(e->w, "app-staging");
	deployed(e, 1, "staging", "r1", e->parent, "sha-r1");
	deployed(e, 2, "staging", "r2", e->head, "sha-r2");
	const struct es_deploy_result *r = rollback(e, "staging", "HEAD~1");
	assert_string_equal(r->result, "success");
	assert_string_equal(r->release, "r1");
	assert_string_equal(r->commit, e->parent);
	assert_string_equal(r->template_sha256, "sha-r1");
	assert_string_equal(
	        fake_req_param(fake_find(e->w->fake, "POST", "CreateChangeSet", 0), "TemplateBody"),
	        TBODY);
	assert_int_equal(world_records_with(e->w, "\"kind\": \"rollback\""), 2);
}

static void rollback_to_what_runs_changes_nothing(void **state)
{
	struct env *e = *state;

	make_repo(e);
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", e->parent, "E1", "Deployed");
	deployed(e, 1, "staging", "r1", e->parent, "sha-r1");
	const struct es_deploy_result *r = rollback(e, "staging", e->parent);
	assert_string_equal(r->result, "no-changes");
	assert_int_equal(r->status, ES_OK);
	assert_non_null(strstr(r->message, "already running this release: staging runs release "
	                                   "r1"));
	nothing_changed(e, 1);
}

static void rollback_to_a_commit_never_deployed_is_refused(void **state)
{
	struct env *e = *state;

	make_repo(e);
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r1", e->parent, "E2", "Deployed");
	/* Deployed once, but it failed: nothing recorded to go back to. */
	world_record(e->w, 1,
	             "{\"kind\": \"deploy\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	             "\"release\": \"r2\", \"commit\": \"%s\", \"result\": \"failed\", "
	             "\"template\": {\"key\": \"" TKEY "\", \"sha256\": \"sha-r2\"}}",
	             e->head);
	const struct es_deploy_result *r = rollback(e, "production", "HEAD");
	assert_string_equal(r->result, "refused");
	assert_int_equal(r->status, ES_EREFUSED);
	char want[200];
	snprintf(want, sizeof(want), "no release of %.7s was ever deployed", e->head);
	assert_non_null(strstr(r->message, want));
	/* Deployable commits go to the stage production promotes from. */
	assert_non_null(strstr(r->message, "--stage staging"));
	nothing_changed(e, 1);
}

static void rollback_waits_for_the_distribution(void **state)
{
	struct env *e = *state;

	make_repo(e);
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r2", e->head, "E1", "InProgress");
	deployed(e, 1, "staging", "r1", e->parent, "sha-r1");
	const struct es_deploy_result *r = rollback(e, "staging", e->parent);
	assert_string_equal(r->result, "refused");
	assert_int_equal(r->status, ES_EBUSY);
	assert_non_null(strstr(r->message, "staging's distribution E1 is InProgress"));
	nothing_changed(e, 1);
}

static void rollback_mistakes_are_told_at_once(void **state)
{
	struct env *e = *state;

	make_repo(e);
	assert_int_equal(es_rollback_start(e->w->aws, &e->w->conf, e->repo, "qa", "HEAD", true, 20,
	                                   60, on_event, e, &e->d),
	                 ES_EINVAL);
	assert_null(e->d);
	assert_int_equal(es_rollback_start(e->w->aws, &e->w->conf, e->repo, "staging",
	                                   "no-such-branch", true, 20, 60, on_event, e, &e->d),
	                 ES_ENOTFOUND);
	assert_null(e->d);
	assert_int_equal(fake_count(e->w->fake), 0);
}

/* ------------------------------------------------------------ revert */

static void revert_commits_the_inverse_on_the_branch(void **state)
{
	struct env *e = *state;
	char oid[41], now[41];

	make_repo(e);
	assert_int_equal(es_revert_commit(e->repo, "HEAD", oid), ES_OK);
	rev_parse(e, "HEAD", now);
	assert_string_equal(oid, now);
	rev_parse(e, "HEAD~1", now);
	assert_string_equal(now, e->head);
	char path[1200];
	snprintf(path, sizeof(path), "%s/handler.js", e->repo_dir);
	char *text = tu_read_file(path, NULL);
	assert_string_equal(text, "v1\n");
	free(text);
	/* A dirty tree is refused: the revert would mix with the changes. */
	tu_rmtree(path);
	free(tu_write_file(e->repo_dir, "handler.js", "local edit\n"));
	assert_int_equal(es_revert_commit(e->repo, "HEAD", oid), ES_EREFUSED);
	assert_non_null(strstr(es_error_last()->message, "uncommitted change"));
}

/* ------------------------------------------------------------ invalidation */

static void invalidation_paths_follow_cloudfront_s_rules(void **state)
{
	static char long_path[4100];
	const char *ok[] = {"/*", "/index.html", "/assets/*", "/a%20b"};
	const char *bad[][2] = {
	        {"index.html", "must start with '/'"},
	        {"/a*/b", "'*' may only be the last character"},
	        {"/a b", "has a space or control character"},
	        {"/a\tb", "has a space or control character"},
	        {long_path, "longer than 4000 characters"},
	};

	(void)state;
	long_path[0] = '/';
	memset(long_path + 1, 'a', 4050);
	assert_int_equal(es_invalidation_check_paths(ok, 4), ES_OK);
	assert_int_equal(es_invalidation_check_paths(ok, 0), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "at least one path"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(es_invalidation_check_paths(&bad[i][0], 1), ES_EINVAL);
		if (!strstr(es_error_last()->message, bad[i][1]))
			fail_msg("%s", es_error_last()->message);
	}
	const char **many = calloc(3001, sizeof(*many));
	for (size_t i = 0; i < 3001; i++)
		many[i] = "/x";
	assert_int_equal(es_invalidation_check_paths(many, 3000), ES_OK);
	assert_int_equal(es_invalidation_check_paths(many, 3001), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "at most 3000"));
	free(many);
}

static void invalidation_is_recorded_and_made_once_per_intent(void **state)
{
	struct env *e = *state;
	struct es_invalidation inv;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	fake_expect(e->w->fake, "POST", "CreateInvalidation", 201, NULL,
	            "<Invalidation><Id>I2ABC</Id><Status>InProgress</Status></Invalidation>");
	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "staging", NULL, 0, &inv), ES_OK);
	assert_string_equal(inv.id, "I2ABC");
	assert_string_equal(inv.status, "InProgress");
	assert_string_equal(inv.distribution_id, "E1");
	/* The caller reference names the release and the intent's record. */
	assert_string_equal(inv.caller_reference, "edgeship-r1-1");
	const struct fake_request *q = fake_find(e->w->fake, "POST", "CreateInvalidation", 0);
	assert_string_equal(q->path, "/2020-05-31/distribution/E1/invalidation");
	assert_non_null(strstr(q->body, "<CallerReference>edgeship-r1-1</CallerReference>"));
	assert_non_null(strstr(q->body, "<Quantity>1</Quantity><Items><Path>/*</Path>"));
	/* Intent first, then the outcome naming the invalidation. */
	assert_non_null(strstr(world_record_text(e->w, 1), "\"phase\": \"intent\""));
	const char *outcome = world_record_text(e->w, 2);
	assert_non_null(strstr(outcome, "\"result\": \"success\""));
	assert_non_null(strstr(outcome, "\"invalidation_id\": \"I2ABC\""));
	assert_non_null(strstr(outcome, "\"intent_seq\": 1"));

	fake_rule_times(fake_expect(e->w->fake, "GET", "GetInvalidation", 200, NULL,
	                            "<Invalidation><Id>I2ABC</Id><Status>Completed</Status>"
	                            "</Invalidation>"),
	                1);
	assert_int_equal(es_invalidation_poll(e->w->aws, &inv), ES_OK);
	assert_string_equal(inv.status, "Completed");
	assert_string_equal(fake_last(e->w->fake)->path,
	                    "/2020-05-31/distribution/E1/invalidation/I2ABC");
	/* An answer without a status leaves the last one known. */
	fake_expect(e->w->fake, "GET", "GetInvalidation", 200, NULL, "<Invalidation/>");
	assert_int_equal(es_invalidation_poll(e->w->aws, &inv), ES_EPARSE);
	assert_string_equal(inv.status, "Completed");
}

static void invalidation_of_given_paths(void **state)
{
	struct env *e = *state;
	struct es_invalidation inv;
	const char *paths[] = {"/index.html", "/assets/*"};

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", NULL, NULL, "E1", "Deployed");
	fake_expect(e->w->fake, "POST", "CreateInvalidation", 201, NULL,
	            "<Invalidation><Id>I3</Id></Invalidation>");
	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "staging", paths, 2, &inv), ES_OK);
	/* No release tag: the reference still differs per intent. */
	assert_string_equal(inv.caller_reference, "edgeship-none-1");
	assert_string_equal(inv.status, "InProgress");
	const struct fake_request *q = fake_find(e->w->fake, "POST", "CreateInvalidation", 0);
	assert_non_null(strstr(q->body, "<Quantity>2</Quantity><Items><Path>/index.html</Path>"
	                                "<Path>/assets/*</Path>"));
}

static void failed_invalidation_is_recorded_as_failed(void **state)
{
	struct env *e = *state;
	struct es_invalidation inv;

	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	fake_expect_error(e->w->fake, "POST", "CreateInvalidation", 400,
	                  "TooManyInvalidationsInProgress", "slow down");
	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "staging", NULL, 0, &inv), ES_EAWS);
	/* The caller hears CloudFront's error, not the ledger's. */
	assert_string_equal(es_error_last()->code, "TooManyInvalidationsInProgress");
	assert_string_equal(inv.id, "");
	const char *outcome = world_record_text(e->w, 2);
	assert_non_null(outcome);
	assert_non_null(strstr(outcome, "\"result\": \"failed\""));
	assert_non_null(strstr(outcome, "TooManyInvalidationsInProgress"));
}

static void invalidation_refusals_send_nothing(void **state)
{
	struct env *e = *state;
	struct es_invalidation inv;
	const char *bad[] = {"no-slash"};

	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "qa", NULL, 0, &inv), ES_EINVAL);
	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "staging", bad, 1, &inv), ES_EINVAL);
	assert_int_equal(fake_count(e->w->fake), 0);
	/* A stack without a distribution has nothing to invalidate. */
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, NULL, NULL);
	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "staging", NULL, 0, &inv),
	                 ES_ENOTFOUND);
	assert_non_null(strstr(es_error_last()->message, "has no CloudFront distribution"));
	/* A stack that cannot be read. */
	fake_rules_clear(e->w->fake);
	fake_rule_times(
	        fake_expect_error(e->w->fake, "POST", "DescribeStacks", 403, "AccessDenied", "no"),
	        FAKE_FOREVER);
	assert_int_equal(es_invalidate(e->w->aws, &e->w->conf, "staging", NULL, 0, &inv), ES_EAWS);
	assert_non_null(strstr(es_error_last()->message, "reading stack app-staging"));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "CreateInvalidation"), 0);
	assert_int_equal(fake_s3_count(e->w->fake, WORLD_BUCKET, "app/ledger/"), 0);
}

/* ------------------------------------------------------------ validate, then promote */

static void validation_recorded_by_validate_lets_promotion_through(void **state)
{
	struct env *e = *state;
	struct es_validation *v = calloc(1, sizeof(*v));

	e->w->checks[0] = (struct es_check_conf){.name = "home",
	                                         .path = "/",
	                                         .status = 200,
	                                         .body_contains = "hello",
	                                         .timeout_ms = 2000,
	                                         .samples = 2};
	e->w->conf.n_checks = 1;
	world_stack(e->w, "app-staging", "UPDATE_COMPLETE", "r1", C1, "E1", "Deployed");
	world_stack(e->w, "app-production", "UPDATE_COMPLETE", "r0", C0, "E2", "Deployed");
	deployed(e, 1, "staging", "r1", C1, "sha-r1");
	fake_rule_times(fake_expect(e->w->fake, "GET", "/", 200, NULL, "hello world"), 2);
	assert_int_equal(es_validate(e->w->aws, &e->w->conf, "staging", v), ES_OK);
	assert_true(v->passed);
	assert_int_equal(v->seq, 2);
	assert_string_equal(v->release, "r1");
	assert_string_equal(v->distribution_status, "Deployed");
	assert_string_equal(v->distribution_etag, "E-E1");
	assert_string_equal(fake_find(e->w->fake, "GET", "/", 0)->url,
	                    "https://E1.cloudfront.net/");
	char *json = es_validation_json(v);
	json_t *o = json_loads(json, 0, NULL);
	assert_true(json_is_true(json_object_get(o, "passed")));
	assert_true(json_is_true(json_object_get(o, "counts_for_promotion")));
	json_t *check = json_array_get(json_object_get(o, "checks"), 0);
	assert_int_equal(json_integer_value(json_object_get(check, "samples_ok")), 2);
	assert_int_equal(json_array_size(json_object_get(check, "samples")), 2);
	json_decref(o);
	free(json);
	const char *rec = world_record_text(e->w, 2);
	assert_non_null(strstr(rec, "\"kind\": \"validation\""));
	assert_non_null(strstr(rec, "\"result\": \"passed\""));
	assert_non_null(strstr(rec, "\"message\": \"all 1 check passed\""));

	world_change_set_runs(e->w, "app-production");
	assert_string_equal(promote(e, "production")->result, "success");

	/* Validating production now finds the check failing. */
	fake_expect(e->w->fake, "GET", "/", 503, NULL, "down");
	fake_expect(e->w->fake, "GET", "/", 200, NULL, "hello");
	assert_int_equal(es_validate(e->w->aws, &e->w->conf, "production", v), ES_OK);
	assert_false(v->passed);
	assert_non_null(strstr(world_record_text(e->w, v->seq), "\"result\": \"failed\""));
	assert_non_null(strstr(world_record_text(e->w, v->seq), "\"message\": \"home: "));
	free(v);
}

static void validate_refuses_a_stage_it_cannot_judge(void **state)
{
	struct env *e = *state;
	struct es_validation *v = calloc(1, sizeof(*v));

	assert_int_equal(es_validate(e->w->aws, &e->w->conf, "qa", v), ES_EINVAL);
	fake_rule_times(fake_cfn_no_stack(e->w->fake, "app-staging"), FAKE_FOREVER);
	assert_int_equal(es_validate(e->w->aws, &e->w->conf, "staging", v), ES_EREFUSED);
	world_stack(e->w, "app-production", "UPDATE_IN_PROGRESS", "r0", C0, "E2", "Deployed");
	assert_int_equal(es_validate(e->w->aws, &e->w->conf, "production", v), ES_EBUSY);
	assert_int_equal(fake_s3_count(e->w->fake, WORLD_BUCKET, "app/ledger/"), 0);
	free(v);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(promotion_deploys_what_the_stage_before_runs),
	        T(promotion_is_refused_without_a_standing_validation),
	        T(promotion_is_refused_after_a_failed_validation),
	        T(promotion_is_refused_when_the_distribution_changed_since),
	        T(promotion_needs_an_edgeship_release_upstream),
	        T(promotion_waits_for_both_stages_to_settle),
	        T(promotion_needs_the_recorded_template),
	        T(promotion_refuses_a_template_other_than_the_one_running),
	        T(promotion_fails_when_the_ledger_cannot_be_read),
	        T(promotion_mistakes_are_told_at_once),
	        T(rollback_redeploys_a_recorded_release),
	        T(rollback_to_what_runs_changes_nothing),
	        T(rollback_to_a_commit_never_deployed_is_refused),
	        T(rollback_waits_for_the_distribution),
	        T(rollback_mistakes_are_told_at_once),
	        T(revert_commits_the_inverse_on_the_branch),
	        cmocka_unit_test(invalidation_paths_follow_cloudfront_s_rules),
	        T(invalidation_is_recorded_and_made_once_per_intent),
	        T(invalidation_of_given_paths),
	        T(failed_invalidation_is_recorded_as_failed),
	        T(invalidation_refusals_send_nothing),
	        T(validation_recorded_by_validate_lets_promotion_through),
	        T(validate_refuses_a_stage_it_cannot_judge),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
