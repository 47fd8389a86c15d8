/* The deploy engine against the fake AWS: preparation (packaging, rules,
 * bucket, lock, uploads, intent) and the state machine (change set,
 * question, execution, following, outcome), with the job run on the test's
 * loop. Every way it ends records an outcome once the intent is written and
 * leaves no lock behind. */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "deploy.h"
#include "testutil.h"
#include "world.h"

#define BUCKET  WORLD_BUCKET
#define STACK   "app-staging"
#define STACKID "arn:aws:cloudformation:us-east-1:123456789012:stack/app-staging/00000000-fake"
#define NESTED  "app-staging-Edge-1ABC"
#define DIST    "E2STAGINGFAKE"
#define TKEY    "app/templates/0123456789abcdef.json"
#define LOCK    "app/locks/staging.json"
#define CFNNS   "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""

struct env {
	struct world *w;
	struct es_deploy *d;
	bool done;
	bool asked;
	int n_events;
	char events[64][96]; /* stack events seen, oldest first */
	bool nested[64];
	size_t changes_shown;
	char log[8192];
	char question[256];
	char *repo_dir;
	struct es_repo *repo;
	/* progress events: how many per step, and the last of each */
	int n_export, n_upload;
	uint64_t export_done, export_total, upload_done, upload_total;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->w = world_new();
	fake_s3_put(e->w->fake, BUCKET, TKEY, "{\"Resources\": {}}", 17);
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

/* ------------------------------------------------------------ answers */

static void stack_is(struct env *e, const char *status, int times)
{
	fake_rule_times(fake_cfn_stack(e->w->fake, STACK, status,
	                               "edgeship:release=r-old;edgeship:commit=0123456",
	                               "Url=https://app.example.com"),
	                times);
}

static void distribution_deployed(struct env *e)
{
	fake_rule_times(
	        fake_cfn_resources(e->w->fake, STACK, "Cdn|AWS::CloudFront::Distribution|" DIST),
	        FAKE_FOREVER);
	fake_rule_times(fake_cf_distribution(e->w->fake, DIST, "Deployed"), FAKE_FOREVER);
}

static void change_set_is(struct env *e, const char *exec_status, int times)
{
	world_change_set(e->w, STACK, "CREATE_COMPLETE", exec_status, 1, NULL, times);
}

static void create_change_set_ok(struct env *e)
{
	fake_expect(e->w->fake, "POST", "CreateChangeSet", 200, NULL,
	            "<CreateChangeSetResponse " CFNNS "><CreateChangeSetResult>"
	            "<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1</Id>"
	            "<StackId>" STACKID "</StackId></CreateChangeSetResult>"
	            "</CreateChangeSetResponse>");
}

static void execute_ok(struct env *e)
{
	fake_expect(e->w->fake, "POST", "ExecuteChangeSet", 200, NULL,
	            "<ExecuteChangeSetResponse " CFNNS "/>");
}

struct ev {
	const char *logical_id; /* STACK: the stack itself; NESTED: a nested stack */
	const char *status;
	const char *id;
	const char *reason; /* NULL: none */
};

/* One page of events of stack (newest first). */
static void events_of(struct env *e, const char *stack, const char *token_in, const char *token_out,
                      int times, const struct ev *evs, size_t n)
{
	struct es_buf b = ES_BUF_INIT;
	char needle[128];

	es_buf_puts(&b, "<DescribeStackEventsResponse " CFNNS "><DescribeStackEventsResult>"
	                "<StackEvents>");
	for (size_t i = 0; i < n; i++) {
		bool self = strcmp(evs[i].logical_id, stack) == 0;
		bool nested = strcmp(evs[i].logical_id, NESTED) == 0;
		es_buf_printf(&b,
		              "<member><EventId>%s</EventId><StackId>%s</StackId>"
		              "<StackName>%s</StackName><LogicalResourceId>%s"
		              "</LogicalResourceId><PhysicalResourceId>%s</PhysicalResourceId>"
		              "<ResourceType>%s</ResourceType>"
		              "<Timestamp>2026-01-01T00:00:%02zuZ</Timestamp>"
		              "<ResourceStatus>%s</ResourceStatus>",
		              evs[i].id, self ? STACKID : stack, stack, evs[i].logical_id,
		              self     ? STACKID
		              : nested ? NESTED
		                       : "fn-physical",
		              self || nested ? "AWS::CloudFormation::Stack"
		                             : "AWS::Lambda::Function",
		              50 - i, evs[i].status);
		if (evs[i].reason)
			es_buf_printf(&b, "<ResourceStatusReason>%s</ResourceStatusReason>",
			              evs[i].reason);
		es_buf_puts(&b, "</member>");
	}
	es_buf_puts(&b, "</StackEvents>");
	if (token_out)
		es_buf_printf(&b, "<NextToken>%s</NextToken>", token_out);
	es_buf_puts(&b, "</DescribeStackEventsResult></DescribeStackEventsResponse>");
	struct fake_rule *r =
	        fake_expect(e->w->fake, "POST", "DescribeStackEvents", 200, NULL, es_buf_str(&b));
	snprintf(needle, sizeof(needle), "StackName=%s", stack);
	fake_rule_body_has(r, needle);
	if (token_in) {
		snprintf(needle, sizeof(needle), "NextToken=%s", token_in);
		fake_rule_body_has(r, needle);
	}
	fake_rule_times(r, times);
	es_buf_free(&b);
}

static void events(struct env *e, const char *token_in, const char *token_out, int times,
                   const struct ev *evs, size_t n)
{
	events_of(e, STACK, token_in, token_out, times, evs, n);
}

static const struct ev settled[] = {
        {STACK, "UPDATE_COMPLETE", "ev3", NULL},
        {"Fn", "UPDATE_COMPLETE", "ev2", NULL},
        {STACK, "UPDATE_IN_PROGRESS", "ev1", NULL},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The usual happy answers up to the change set; the caller adds the rest. */
static void prepared(struct env *e)
{
	stack_is(e, "UPDATE_COMPLETE", 1); /* the rule check: the state machine starts from it */
	distribution_deployed(e);
	create_change_set_ok(e);
}

/* Everything after the change set goes through. */
static void runs_through(struct env *e)
{
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER, settled, N(settled));
	stack_is(e, "UPDATE_COMPLETE", 1);
}

/* ------------------------------------------------------------ running */

static void do_detach(struct es_loop *loop, void *ud)
{
	struct env *e = ud;

	(void)loop;
	es_deploy_detach(e->d, "Ctrl-C");
}

/* Ctrl-C while the request a rule answers is on its way: on the loop, as
 * the signal pipe delivers it. */
static void detach_meanwhile(struct fake_aws *f, const struct fake_request *q, void *ud)
{
	(void)q;
	es_loop_timer(fake_loop(f), 0, do_detach, ud);
}

static void on_event(const struct es_deploy_event *ev, void *ud)
{
	struct env *e = ud;

	switch (ev->kind) {
	case ES_DEPLOY_DONE: e->done = true; break;
	case ES_DEPLOY_QUESTION:
		e->asked = true;
		snprintf(e->question, sizeof(e->question), "%s", ev->text);
		break;
	case ES_DEPLOY_CHANGES: e->changes_shown = ev->change_set->n_changes; break;
	case ES_DEPLOY_PROGRESS:
		if (strncmp(ev->text, "exporting ", 10) == 0) {
			e->n_export++;
			e->export_done = ev->done;
			e->export_total = ev->total;
		} else if (strncmp(ev->text, "uploading ", 10) == 0) {
			e->n_upload++;
			e->upload_done = ev->done;
			e->upload_total = ev->total;
		}
		break;
	case ES_DEPLOY_STACK_EVENT:
		if (e->n_events < 64) {
			e->nested[e->n_events] = ev->nested;
			snprintf(e->events[e->n_events++], sizeof(e->events[0]), "%s %s",
			         ev->event->logical_id, ev->event->status);
		}
		break;
	case ES_DEPLOY_LOG:
		strncat(e->log, ev->text, sizeof(e->log) - strlen(e->log) - 2);
		strncat(e->log, "\n", sizeof(e->log) - strlen(e->log) - 1);
		break;
	default: break;
	}
}

static const struct es_release_ref ref = {.commit = "0123456789abcdef0123456789abcdef01234567",
                                          .release = "0123456-01234567",
                                          .template_key = TKEY,
                                          .template_sha256 = "01234567"};

static struct es_deploy_request request(struct env *e)
{
	return (struct es_deploy_request){.conf = &e->w->conf,
	                                  .stage = "staging",
	                                  .release = &ref,
	                                  .yes = true,
	                                  .poll_ms = 20};
}

static const struct es_deploy_result *run(struct env *e, const struct es_deploy_request *req)
{
	assert_int_equal(es_deploy_start(e->w->aws, req, on_event, e, &e->d), ES_OK);
	world_run(e->w, &e->done, 30000);
	return es_deploy_result(e->d);
}

static const struct es_deploy_result *deploy(struct env *e)
{
	struct es_deploy_request req = request(e);
	return run(e, &req);
}

/* A second deploy in the same test: a new script, the same S3. */
static void fresh(struct env *e)
{
	es_deploy_free(e->d);
	e->d = NULL;
	e->done = false;
	fake_rules_clear(e->w->fake);
	fake_sts_identity(e->w->fake, WORLD_WHO);
}

/* The end every deploy must reach: no lock left, and every intent
 * closed by an outcome. */
static void ended_cleanly(struct env *e)
{
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
	assert_int_equal(world_records_with(e->w, "\"intent\""),
	                 world_records_with(e->w, "\"outcome\""));
}

/* ------------------------------------------------------------ the happy paths */

static void deploys_and_records(void **state)
{
	struct env *e = *state;

	prepared(e);
	runs_through(e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_string_equal(r->change_set_type, "UPDATE");
	assert_int_equal(r->n_changes, 1);
	assert_int_equal(e->changes_shown, 1);
	assert_int_equal(e->n_events, 3);
	assert_string_equal(e->events[0], STACK " UPDATE_IN_PROGRESS");
	assert_string_equal(e->events[2], STACK " UPDATE_COMPLETE");
	assert_false(e->nested[0]);
	/* The change set and the execution carry the action's id. */
	const struct fake_request *cs = fake_find(e->w->fake, "POST", "CreateChangeSet", 0);
	assert_non_null(strstr(fake_req_param(cs, "ChangeSetName"), r->action_id));
	assert_string_equal(fake_req_param(cs, "ClientToken"), fake_req_param(cs, "ChangeSetName"));
	assert_string_equal(fake_req_param(cs, "TemplateBody"), "{\"Resources\": {}}");
	const struct fake_request *ex = fake_find(e->w->fake, "POST", "ExecuteChangeSet", 0);
	char token[200];
	snprintf(token, sizeof(token), "%s-exec", fake_req_param(cs, "ChangeSetName"));
	assert_string_equal(fake_req_param(ex, "ClientRequestToken"), token);
	/* Intent and outcome, once each; the lock is gone. */
	assert_int_equal(world_records_with(e->w, "\"intent\""), 1);
	assert_int_equal(world_records_with(e->w, "\"success\""), 1);
	assert_true(r->intent_seq > 0 && r->outcome_seq > r->intent_seq);
	ended_cleanly(e);
	/* The outcome as `deploy --json` prints it, outputs included. */
	char *json = es_deploy_result_json(e->d);
	json_t *o = json_loads(json, 0, NULL);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "result")), "success");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(o, "outputs"), "Url")),
	        "https://app.example.com");
	assert_int_equal(json_integer_value(json_object_get(o, "n_changes")), 1);
	assert_int_equal(json_array_size(json_object_get(o, "changes")), 1);
	json_decref(o);
	free(json);
}

static void question_is_asked_without_yes(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	prepared(e);
	runs_through(e);
	req.yes = false;
	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_OK);
	world_run(e->w, &e->asked, 30000);
	assert_string_equal(e->question, "Deploy 0123456 to staging (1 change)?");
	assert_false(es_deploy_done(e->d));
	/* Nothing runs until the answer. */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "ExecuteChangeSet"), 0);
	es_deploy_answer(e->d, true);
	world_run(e->w, &e->done, 30000);
	assert_true(es_deploy_done(e->d));
	assert_string_equal(es_deploy_result(e->d)->result, "success");
	/* An answer when nothing is asked changes nothing. */
	es_deploy_answer(e->d, false);
	assert_string_equal(es_deploy_result(e->d)->result, "success");
	ended_cleanly(e);
}

static void no_drops_the_change_set(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	fake_expect(e->w->fake, "POST", "DeleteChangeSet", 200, NULL,
	            "<DeleteChangeSetResponse " CFNNS "/>");
	req.yes = false;
	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_OK);
	world_run(e->w, &e->asked, 30000);
	es_deploy_answer(e->d, false);
	world_run(e->w, &e->done, 30000);
	const struct es_deploy_result *r = es_deploy_result(e->d);
	assert_string_equal(r->result, "cancelled");
	assert_int_equal(r->status, ES_ECANCELLED);
	assert_non_null(strstr(r->message, "nothing was changed in " STACK));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "ExecuteChangeSet"), 0);
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DeleteChangeSet"), 1);
	assert_int_equal(world_records_with(e->w, "\"cancelled\""), 1);
	ended_cleanly(e);
}

static void new_stack_is_created_and_its_shell_removed_on_no(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	/* No stack yet: the rules pass, the change set creates it. */
	fake_rule_times(fake_cfn_no_stack(e->w->fake, STACK), 1);
	create_change_set_ok(e);
	change_set_is(e, "AVAILABLE", 1);
	fake_expect(e->w->fake, "POST", "DeleteChangeSet", 200, NULL,
	            "<DeleteChangeSetResponse " CFNNS "/>");
	fake_expect(e->w->fake, "POST", "DeleteStack", 200, NULL,
	            "<DeleteStackResponse " CFNNS "/>");
	req.yes = false;
	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_OK);
	world_run(e->w, &e->asked, 30000);
	assert_string_equal(es_deploy_result(e->d)->change_set_type, "CREATE");
	assert_string_equal(fake_req_param(fake_find(e->w->fake, "POST", "CreateChangeSet", 0),
	                                   "ChangeSetType"),
	                    "CREATE");
	/* Closing the console while asked is a no. */
	es_deploy_detach(e->d, "the console closed");
	world_run(e->w, &e->done, 30000);
	assert_string_equal(es_deploy_result(e->d)->result, "cancelled");
	assert_non_null(strstr(es_deploy_result(e->d)->message, "the console closed"));
	/* The REVIEW_IN_PROGRESS shell the CREATE change set made goes too. */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DeleteStack"), 1);
	ended_cleanly(e);
}

static void failed_creation_is_deleted_before_creating_again(void **state)
{
	struct env *e = *state;

	stack_is(e, "ROLLBACK_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect(e->w->fake, "POST", "DeleteStack", 200, NULL,
	            "<DeleteStackResponse " CFNNS "/>");
	stack_is(e, "DELETE_IN_PROGRESS", 1);
	fake_cfn_no_stack(e->w->fake, STACK);
	create_change_set_ok(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER,
	       (const struct ev[]){{STACK, "CREATE_COMPLETE", "ev2", NULL},
	                           {STACK, "CREATE_IN_PROGRESS", "ev1", NULL}},
	       2);
	stack_is(e, "CREATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_string_equal(r->change_set_type, "CREATE");
	assert_non_null(strstr(e->log, "deleting the empty stack first"));
	assert_non_null(strstr(e->log, "empty stack " STACK " deleted"));
	ended_cleanly(e);
}

static void stack_that_cannot_be_deleted_fails(void **state)
{
	struct env *e = *state;

	stack_is(e, "ROLLBACK_FAILED", 1);
	distribution_deployed(e);
	fake_expect(e->w->fake, "POST", "DeleteStack", 200, NULL,
	            "<DeleteStackResponse " CFNNS "/>");
	stack_is(e, "DELETE_FAILED", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "could not be deleted (DELETE_FAILED)"));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "CreateChangeSet"), 0);
	ended_cleanly(e);
}

static void change_set_pages_and_pending_status(void **state)
{
	struct env *e = *state;
	char page[2048];

	prepared(e);
	world_change_set(e->w, STACK, "CREATE_PENDING", "UNAVAILABLE", 0, NULL, 1);
	/* Two pages: the second adds its changes to the first's. Page 2's
	 * rule goes first: page 1's would take its request too. */
	for (int p = 1; p >= 0; p--) {
		snprintf(page, sizeof(page),
		         "<DescribeChangeSetResponse " CFNNS "><DescribeChangeSetResult>"
		         "<StackId>" STACKID "</StackId><Status>CREATE_COMPLETE</Status>"
		         "<ExecutionStatus>AVAILABLE</ExecutionStatus>"
		         "<CreationTime>2026-01-01T00:00:00Z</CreationTime><Changes>"
		         "<member><Type>Resource</Type><ResourceChange><Action>%s</Action>"
		         "<LogicalResourceId>R%d</LogicalResourceId><ResourceType>AWS::S3::Bucket"
		         "</ResourceType></ResourceChange></member></Changes>%s"
		         "</DescribeChangeSetResult></DescribeChangeSetResponse>",
		         p ? "Remove" : "Add", p, p ? "" : "<NextToken>cs-page-2</NextToken>");
		struct fake_rule *r =
		        fake_expect(e->w->fake, "POST", "DescribeChangeSet", 200, NULL, page);
		if (p)
			fake_rule_body_has(r, "NextToken=cs-page-2");
	}
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER, settled, N(settled));
	stack_is(e, "UPDATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_int_equal(r->n_changes, 2);
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeChangeSet"), 3);
	char *json = es_deploy_result_json(e->d);
	assert_non_null(strstr(json, "\"action\": \"Add\""));
	assert_non_null(strstr(json, "\"action\": \"Remove\""));
	free(json);
}

/* ------------------------------------------------------------ nothing to do */

static void empty_change_set_is_no_changes(void **state)
{
	struct env *e = *state;

	prepared(e);
	world_change_set(e->w, STACK, "FAILED", "UNAVAILABLE", 0,
	                 "The submitted information didn't contain changes. Submit different "
	                 "information to create a change set.",
	                 1);
	fake_expect_error(e->w->fake, "POST", "DeleteChangeSet", 400, "ValidationError",
	                  "it is gone already");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "no-changes");
	assert_int_equal(r->status, ES_OK);
	assert_non_null(strstr(r->message, "already runs this release"));
	/* The empty change set is not left behind (a failure to drop it is
	 * only a note). */
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DeleteChangeSet"), 1);
	assert_non_null(strstr(e->log, "could not be deleted"));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "ExecuteChangeSet"), 0);
	ended_cleanly(e);
}

static void refused_empty_change_set_is_no_changes(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect_error(e->w->fake, "POST", "CreateChangeSet", 400, "ValidationError",
	                  "No updates are to be performed.");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "no-changes");
	ended_cleanly(e);
}

static void failed_change_set_says_why(void **state)
{
	struct env *e = *state;

	prepared(e);
	world_change_set(e->w, STACK, "FAILED", "UNAVAILABLE", 0,
	                 "Template error: unresolved resource dependencies [Nope]", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_int_equal(r->status, ES_EAWS);
	assert_non_null(strstr(r->message, "the change set failed: Template error"));
	assert_int_equal(world_records_with(e->w, "\"failed\""), 1);
	ended_cleanly(e);
}

static void change_set_of_an_earlier_attempt_is_used(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect_error(e->w->fake, "POST", "CreateChangeSet", 400, "AlreadyExistsException",
	                  "ChangeSet edgeship-deploy-x already exists");
	runs_through(e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_non_null(strstr(e->log, "already exists (an earlier attempt got through)"));
}

static void change_set_refused_fails(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect_error(e->w->fake, "POST", "CreateChangeSet", 403, "AccessDenied",
	                  "not allowed to create change sets");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "CreateChangeSet: "));
	assert_non_null(strstr(r->message, "AccessDenied"));
	assert_int_equal(world_records_with(e->w, "\"failed\""), 1);
	ended_cleanly(e);
}

/* ------------------------------------------------------------ execution */

static void execute_answer_lost_is_followed(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	/* It ran; its answer did not arrive; a retry is refused as running. */
	fake_rule_lost(fake_expect(e->w->fake, "POST", "ExecuteChangeSet", 200, NULL,
	                           "<ExecuteChangeSetResponse " CFNNS "/>"));
	fake_rule_times(fake_expect_error(e->w->fake, "POST", "ExecuteChangeSet", 400,
	                                  "ValidationError",
	                                  "ChangeSet [cs] cannot be executed in its current "
	                                  "execution status of [EXECUTE_IN_PROGRESS]"),
	                FAKE_FOREVER);
	change_set_is(e, "EXECUTE_IN_PROGRESS", FAKE_FOREVER);
	events(e, NULL, NULL, FAKE_FOREVER,
	       (const struct ev[]){{STACK, "UPDATE_COMPLETE", "ev2", NULL},
	                           {STACK, "UPDATE_IN_PROGRESS", "ev1", NULL}},
	       2);
	stack_is(e, "UPDATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_non_null(strstr(e->log, "following it"));
	assert_int_equal(world_records_with(e->w, "\"failed\""), 0);
	assert_int_equal(world_records_with(e->w, "\"success\""), 1);
}

static void execution_that_never_reached_cloudformation_is_sent_again(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 2);
	/* Twice a 500 (the pipeline retries once): CloudFormation never got
	 * it, the change set says AVAILABLE, the same token goes again. */
	fake_rule_times(fake_expect_error(e->w->fake, "POST", "ExecuteChangeSet", 500,
	                                  "InternalFailure", "try again"),
	                2);
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER, settled, N(settled));
	stack_is(e, "UPDATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	const struct fake_request *first = fake_find(e->w->fake, "POST", "ExecuteChangeSet", 0);
	const struct fake_request *again = fake_find(e->w->fake, "POST", "ExecuteChangeSet", 2);
	assert_non_null(again);
	assert_string_equal(fake_req_param(again, "ClientRequestToken"),
	                    fake_req_param(first, "ClientRequestToken"));
}

static void refused_execution_fails(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", FAKE_FOREVER);
	fake_expect_error(e->w->fake, "POST", "ExecuteChangeSet", 403, "AccessDenied",
	                  "not allowed to execute");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "ExecuteChangeSet: "));
	assert_non_null(strstr(r->message, "not allowed to execute"));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "ExecuteChangeSet"), 1);
	ended_cleanly(e);
}

/* ------------------------------------------------------------ following */

static void transient_errors_and_pages_are_followed(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	/* Two rounds of 500s (each retried once by the pipeline), a garbled
	 * answer, then a list in two pages. */
	fake_rule_times(fake_expect_error(e->w->fake, "POST", "DescribeStackEvents", 500,
	                                  "InternalFailure", "try again"),
	                4);
	fake_expect(e->w->fake, "POST", "DescribeStackEvents", 200, NULL, "<not xml");
	events(e, "page2", NULL, FAKE_FOREVER,
	       (const struct ev[]){{"Fn", "UPDATE_IN_PROGRESS", "ev2", NULL},
	                           {STACK, "UPDATE_IN_PROGRESS", "ev1", NULL}},
	       2);
	events(e, NULL, "page2", FAKE_FOREVER,
	       (const struct ev[]){{STACK, "UPDATE_COMPLETE", "ev4", NULL},
	                           {"Fn", "UPDATE_COMPLETE", "ev3", NULL}},
	       2);
	stack_is(e, "UPDATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	/* Every page, oldest first. */
	assert_int_equal(e->n_events, 4);
	assert_string_equal(e->events[0], STACK " UPDATE_IN_PROGRESS");
	assert_string_equal(e->events[1], "Fn UPDATE_IN_PROGRESS");
	assert_string_equal(e->events[3], STACK " UPDATE_COMPLETE");
	assert_non_null(strstr(e->log, "CloudFormation carries on meanwhile"));
}

static void nested_stacks_are_followed_and_the_first_cause_kept(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	/* The nested stack's rule goes first: its name starts with the root's. */
	events_of(e, NESTED, NULL, NULL, FAKE_FOREVER,
	          (const struct ev[]){{"EdgeFn", "UPDATE_FAILED", "n1",
	                               "Resource handler returned message: \"Invalid "
	                               "runtime\""}},
	          1);
	events(e, NULL, NULL, FAKE_FOREVER,
	       (const struct ev[]){
	               {STACK, "UPDATE_ROLLBACK_COMPLETE", "ev4", NULL},
	               {NESTED, "UPDATE_FAILED", "ev3", "Embedded stack failed"},
	               {"Fn", "UPDATE_FAILED", "ev2", "Resource update cancelled"},
	               {STACK, "UPDATE_IN_PROGRESS", "ev1", NULL},
	       },
	       4);
	stack_is(e, "UPDATE_ROLLBACK_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_int_equal(r->status, ES_EAWS);
	assert_string_equal(r->stack_status, "UPDATE_ROLLBACK_COMPLETE");
	/* A cancelled update is a consequence; the nested stack's failure
	 * came first in the root's events. */
	assert_string_equal(r->root_cause, NESTED " UPDATE_FAILED: Embedded stack failed");
	assert_non_null(strstr(r->message, "ended UPDATE_ROLLBACK_COMPLETE: " NESTED));
	/* The nested stack's own events were read and shown as nested. */
	bool nested_seen = false;
	for (int i = 0; i < e->n_events; i++)
		if (strcmp(e->events[i], "EdgeFn UPDATE_FAILED") == 0)
			nested_seen = e->nested[i];
	assert_true(nested_seen);
	assert_non_null(strstr(world_record_text(e->w, r->outcome_seq), "\"root_cause\""));
	ended_cleanly(e);
}

static void busy_stack_at_the_end_is_followed_further(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER, settled, N(settled));
	/* The events settled but the stack still says it works. */
	stack_is(e, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", 1);
	fake_expect_error(e->w->fake, "POST", "DescribeStacks", 503, "ServiceUnavailable", "later");
	fake_expect_error(e->w->fake, "POST", "DescribeStacks", 503, "ServiceUnavailable", "later");
	stack_is(e, "UPDATE_COMPLETE", 1);
	/* No new event comes: the stack's own status must end it, long before
	 * the timeout. */
	req.timeout_s = 10;
	const struct es_deploy_result *r = run(e, &req);
	assert_string_equal(r->result, "success");
	assert_string_equal(r->stack_status, "UPDATE_COMPLETE");
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeStacks"), 5);
}

static void lost_permission_ends_detached(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	fake_rule_times(fake_expect_error(e->w->fake, "POST", "DescribeStackEvents", 403,
	                                  "AccessDenied", "not allowed"),
	                FAKE_FOREVER);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "detached");
	assert_non_null(strstr(r->message, "AccessDenied"));
	assert_int_equal(world_records_with(e->w, "\"detached\""), 1);
	assert_int_equal(world_records_with(e->w, "\"failed\""), 0);
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
}

static void stopping_while_following_detaches(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	fake_rule_on_match(fake_expect(e->w->fake, "POST", "DescribeStackEvents", 200, NULL,
	                               "<DescribeStackEventsResponse><DescribeStackEventsResult>"
	                               "<StackEvents/></DescribeStackEventsResult>"
	                               "</DescribeStackEventsResponse>"),
	                   detach_meanwhile, e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "detached");
	assert_int_equal(r->status, ES_OK);
	assert_non_null(strstr(r->message, "stopped following " STACK " (Ctrl-C)"));
	/* The detached record is not the action's end: another console
	 * records that. */
	const char *rec = world_record_text(e->w, r->outcome_seq);
	assert_non_null(strstr(rec, ":detached\""));
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
	/* Stopping again changes nothing. */
	es_deploy_detach(e->d, "again");
	es_deploy_detach(NULL, "nothing");
	assert_string_equal(es_deploy_result(e->d)->result, "detached");
}

static void following_gives_up_after_the_timeout(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER,
	       (const struct ev[]){{STACK, "UPDATE_IN_PROGRESS", "ev1", NULL}}, 1);
	req.timeout_s = 1;
	req.poll_ms = 100;
	const struct es_deploy_result *r = run(e, &req);
	assert_string_equal(r->result, "detached");
	assert_non_null(strstr(r->message, "followed for 1s without an end (--timeout)"));
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
}

static void stopping_before_execution_cancels(void **state)
{
	struct env *e = *state;

	prepared(e);
	/* Stopped while the change set is being computed. */
	fake_rule_on_match(
	        world_change_set(e->w, STACK, "CREATE_PENDING", "UNAVAILABLE", 0, NULL, 1),
	        detach_meanwhile, e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "cancelled");
	assert_non_null(strstr(r->message, "cancelled (Ctrl-C) before anything changed"));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "ExecuteChangeSet"), 0);
	assert_int_equal(world_records_with(e->w, "\"cancelled\""), 1);
	ended_cleanly(e);
}

static void freed_while_running_still_ends_cleanly(void **state)
{
	struct env *e = *state;
	bool never = false;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	execute_ok(e);
	events(e, NULL, NULL, FAKE_FOREVER,
	       (const struct ev[]){{STACK, "UPDATE_IN_PROGRESS", "ev1", NULL}}, 1);
	struct es_deploy_request req = request(e);
	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_OK);
	while (fake_count_matching(e->w->fake, "POST", "DescribeStackEvents") < 1)
		es_loop_turn(e->w->loop, 10);
	/* The console goes away: the deploy detaches, records and unlocks on
	 * the loop, then frees itself. */
	es_deploy_free(e->d);
	e->d = NULL;
	fake_run_until(e->w->fake, &never, 300);
	assert_false(e->done);
	assert_int_equal(world_records_with(e->w, "the console closed"), 1);
	ended_cleanly(e);
}

static void outcome_that_cannot_be_written_is_a_warning(void **state)
{
	struct env *e = *state;

	prepared(e);
	runs_through(e);
	/* The intent goes in; every later ledger write is refused. */
	fake_expect(e->w->fake, "PUT", "/artifacts/app/ledger/0000000001.json", FAKE_S3, NULL,
	            NULL);
	fake_rule_times(fake_expect_error(e->w->fake, "PUT", "/artifacts/app/ledger/*", 403,
	                                  "AccessDenied", "read only now"),
	                FAKE_FOREVER);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_int_equal(r->outcome_seq, 0);
	assert_non_null(strstr(e->log, "the outcome could not be written to the ledger"));
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
}

/* ------------------------------------------------------------ preparation */

#define sh TU_SH

/* An app repository: a template whose function's code is ./src. */
static void make_repo(struct env *e)
{
	e->repo_dir = tu_mkdtemp();
	sh("cd %s && git init -q -b main . && git config user.name 'Ann Tester' && "
	   "git config user.email ann@example.com && git config commit.gpgsign false && "
	   "mkdir src && echo 'exports.handler = async () => 1;' > src/index.js && "
	   "printf 'Resources:\\n  Fn:\\n    Type: AWS::Lambda::Function\\n    Properties:\\n"
	   "      Code: ./src\\n' > template.yaml && git add . && git commit -qm first",
	   e->repo_dir);
	assert_int_equal(es_repo_discover(e->repo_dir, &e->repo), ES_OK);
}

static struct es_deploy_request from_repo(struct env *e)
{
	struct es_deploy_request req = request(e);

	req.release = NULL;
	req.repo = e->repo;
	return req;
}

static void packages_a_commit_and_uploads_only_what_is_missing(void **state)
{
	struct env *e = *state;
	char head[41];

	make_repo(e);
	assert_int_equal(es_repo_resolve(e->repo, "HEAD", head), ES_OK);
	prepared(e);
	runs_through(e);
	struct es_deploy_request req = from_repo(e);
	const struct es_deploy_result *r = run(e, &req);
	assert_string_equal(r->result, "success");
	assert_string_equal(r->commit, head);
	assert_int_equal(r->n_artifacts, 1);
	assert_int_equal(r->n_uploaded, 2); /* the code's zip and the template */
	assert_int_equal(strncmp(r->release, head, 7), 0);
	assert_int_equal(r->release[7], '-');
	assert_int_equal(strncmp(r->release + 8, r->template_sha256, 8), 0);
	assert_non_null(fake_s3_get(e->w->fake, BUCKET, r->template_key, NULL));
	/* The packaged template points the function at the uploaded zip. */
	const char *body =
	        fake_req_param(fake_find(e->w->fake, "POST", "CreateChangeSet", 0), "TemplateBody");
	assert_non_null(strstr(body, "\"S3Bucket\":\"" BUCKET "\""));
	assert_non_null(strstr(body, "app/artifacts/"));
	assert_non_null(strstr(world_record_text(e->w, r->intent_seq), "\"artifacts\""));
	/* Both steps said how far they were, ending at their whole size: the
	 * files of the commit, and the bytes of the zip and the template. */
	size_t tlen = 0;
	assert_non_null(fake_s3_get(e->w->fake, BUCKET, r->template_key, &tlen));
	assert_true(e->n_export > 0 && e->export_total > 0);
	assert_int_equal(e->export_done, e->export_total);
	assert_true(e->n_upload > 0);
	assert_true(e->upload_total > tlen);
	assert_int_equal(e->upload_done, e->upload_total);

	/* The same commit again: everything is there already. */
	size_t puts = fake_count_matching(e->w->fake, "PUT", "/artifacts/app/artifacts/*");
	fresh(e);
	e->n_upload = 0;
	prepared(e);
	runs_through(e);
	r = run(e, &req);
	assert_string_equal(r->result, "success");
	assert_int_equal(r->n_uploaded, 0);
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "/artifacts/app/artifacts/*"),
	                 puts);
	assert_int_equal(e->n_upload, 0); /* nothing to send, no bar */
}

/* How many requests matching method/pattern arrived since mark (a count
 * of fake_count_matching taken before). */
static size_t since(struct env *e, const char *method, const char *pattern, size_t mark)
{
	return fake_count_matching(e->w->fake, method, pattern) - mark;
}

/* A deploy asks AWS no more than it must: after a first deploy (which
 * lists the ledger and checks the bucket), a changed commit and the same
 * commit again each take at most 14 requests, every release rule still
 * asked (stack, distribution) and the stack asked once before its change
 * set. */
static void a_deploy_makes_at_most_14_calls(void **state)
{
	struct env *e = *state;

	make_repo(e);
	prepared(e);
	runs_through(e);
	struct es_deploy_request req = from_repo(e);
	assert_string_equal(run(e, &req)->result, "success");

	for (int round = 0; round < 2; round++) {
		if (round == 0)
			sh("cd %s && echo 'exports.handler = async () => 2;' > src/index.js && "
			   "git commit -qam second",
			   e->repo_dir);
		fresh(e);
		prepared(e);
		runs_through(e);
		size_t all = fake_count(e->w->fake);
		size_t stacks = fake_count_matching(e->w->fake, "POST", "DescribeStacks");
		size_t lists = fake_count_matching(e->w->fake, "GET", "ListObjectsV2");
		size_t heads = fake_count_matching(e->w->fake, "HEAD", "HeadBucket");
		size_t objs = fake_count_matching(e->w->fake, "HEAD", "HeadObject");
		size_t dist = fake_count_matching(e->w->fake, "GET", "GetDistribution");
		const struct es_deploy_result *r = run(e, &req);
		assert_string_equal(r->result, "success");
		size_t n = fake_count(e->w->fake) - all;
		if (n > 14) {
			for (size_t i = all; i < fake_count(e->w->fake); i++)
				print_message("  %s %s %s\n",
				              fake_request_at(e->w->fake, i)->method,
				              fake_request_at(e->w->fake, i)->operation,
				              fake_request_at(e->w->fake, i)->path);
			fail_msg("%s deploy: %zu requests, more than 14",
			         round ? "same" : "changed", n);
		}
		/* Rules 2 still asked: the stack (then once more at the end) and
		 * its distribution. */
		assert_int_equal(since(e, "POST", "DescribeStacks", stacks), 2);
		assert_int_equal(since(e, "GET", "GetDistribution", dist), 1);
		/* What the cache and the conditional writes already prove. */
		assert_int_equal(since(e, "GET", "ListObjectsV2", lists), 0);
		assert_int_equal(since(e, "HEAD", "HeadBucket", heads), 0);
		/* Changed: sent with If-None-Match, never asked first; the
		 * same: the recorded template alone is asked for. */
		assert_int_equal(since(e, "HEAD", "HeadObject", objs), round ? 1 : 0);
		assert_int_equal(r->n_uploaded, round ? 0 : 2);
		ended_cleanly(e);
	}
}

/* A stack that is over when ExecuteChangeSet answers (and a change set
 * computed when CreateChangeSet answers) is seen at the first look, not
 * after the poll interval. */
static void end_is_seen_at_the_first_look(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	prepared(e);
	runs_through(e);
	req.poll_ms = 10000;
	int64_t t0 = es_loop_now_ms();
	const struct es_deploy_result *r = run(e, &req);
	int64_t took = es_loop_now_ms() - t0;
	assert_string_equal(r->result, "success");
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeChangeSet"), 1);
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "DescribeStackEvents"), 1);
	const struct fake_request *cs = fake_find(e->w->fake, "POST", "CreateChangeSet", 0);
	const struct fake_request *dcs = fake_find(e->w->fake, "POST", "DescribeChangeSet", 0);
	const struct fake_request *ex = fake_find(e->w->fake, "POST", "ExecuteChangeSet", 0);
	const struct fake_request *ev = fake_find(e->w->fake, "POST", "DescribeStackEvents", 0);
	assert_true(dcs->at_ms - cs->at_ms < 1000);
	assert_true(ev->at_ms - ex->at_ms < 1000);
	if (took >= 5000)
		fail_msg("the deploy took %lld ms with a 10 s poll interval", (long long)took);
	assert_int_equal(e->n_events, 3);
	ended_cleanly(e);
}

/* The bucket is not asked for when this console has read its ledger; if
 * it is gone all the same, the lock's create says so and --yes makes it. */
static void bucket_gone_since_the_ledger_was_read_is_made_again(void **state)
{
	struct env *e = *state;

	prepared(e);
	runs_through(e);
	assert_string_equal(deploy(e)->result, "success");
	assert_int_equal(fake_count_matching(e->w->fake, "HEAD", "HeadBucket"), 1);

	fresh(e);
	prepared(e);
	runs_through(e);
	fake_expect_error(e->w->fake, "PUT", "/" BUCKET "/" LOCK, 404, "NoSuchBucket",
	                  "The specified bucket does not exist");
	fake_expect(e->w->fake, "HEAD", "/" BUCKET, 404, NULL, NULL);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_non_null(strstr(e->log, "creating the artifact bucket " BUCKET));
	assert_int_equal(fake_count_matching(e->w->fake, "HEAD", "HeadBucket"), 2);
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "/" BUCKET), 1);
	ended_cleanly(e);
}

static void commit_without_the_template_fails_before_anything(void **state)
{
	struct env *e = *state;

	make_repo(e);
	e->w->conf.template_path = "infra/template.yaml";
	struct es_deploy_request req = from_repo(e);
	const struct es_deploy_result *r = run(e, &req);
	assert_string_equal(r->result, "failed");
	assert_int_equal(r->status, ES_ECONFIG);
	assert_non_null(strstr(r->message, "has no infra/template.yaml"));
	assert_int_equal(fake_count(e->w->fake), 0);
}

static void unknown_revision_fails_before_anything(void **state)
{
	struct env *e = *state;

	make_repo(e);
	struct es_deploy_request req = from_repo(e);
	req.rev = "no-such-tag";
	const struct es_deploy_result *r = run(e, &req);
	assert_string_equal(r->result, "failed");
	assert_int_equal(fake_count(e->w->fake), 0);
}

static void large_template_goes_by_url(void **state)
{
	struct env *e = *state;
	size_t len = 60000;
	char *big = malloc(len + 1);

	memset(big, ' ', len);
	memcpy(big, "{\"Resources\": {}}", 17);
	big[len] = '\0';
	fake_s3_put(e->w->fake, BUCKET, TKEY, big, len);
	free(big);
	prepared(e);
	runs_through(e);
	assert_string_equal(deploy(e)->result, "success");
	const struct fake_request *cs = fake_find(e->w->fake, "POST", "CreateChangeSet", 0);
	assert_null(fake_req_param(cs, "TemplateBody"));
	assert_string_equal(fake_req_param(cs, "TemplateURL"),
	                    "http://fake.invalid/" BUCKET "/" TKEY);
}

static void busy_stack_is_refused_before_anything(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_IN_PROGRESS", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "refused");
	assert_int_equal(r->status, ES_EBUSY);
	assert_non_null(strstr(r->message, "UPDATE_IN_PROGRESS"));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "*"), 0);
	assert_int_equal(fake_s3_count(e->w->fake, BUCKET, "app/ledger/"), 0);
}

static void moving_distribution_is_refused_before_anything(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	fake_rule_times(
	        fake_cfn_resources(e->w->fake, STACK, "Cdn|AWS::CloudFront::Distribution|" DIST),
	        FAKE_FOREVER);
	fake_cf_distribution(e->w->fake, DIST, "InProgress");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "refused");
	assert_non_null(strstr(r->message, "staging's distribution " DIST " is InProgress"));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "*"), 0);
}

static void unreadable_stack_or_bucket_fails_before_anything(void **state)
{
	struct env *e = *state;

	fake_expect_error(e->w->fake, "POST", "DescribeStacks", 403, "AccessDenied", "no");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "reading stack " STACK));

	fresh(e);
	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect_error(e->w->fake, "HEAD", "/" BUCKET, 403, "AccessDenied", "no");
	r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "checking artifact bucket " BUCKET));

	fresh(e);
	stack_is(e, "UPDATE_COMPLETE", 1);
	fake_expect_error(e->w->fake, "POST", "DescribeStackResources", 403, "AccessDenied", "no");
	r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "reading the distribution of " STACK));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "*"), 0);
}

static void missing_bucket_is_created_only_when_asked(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect(e->w->fake, "HEAD", "/" BUCKET, 404, NULL, NULL);
	req.yes = false;
	const struct es_deploy_result *r = run(e, &req);
	assert_string_equal(r->result, "refused");
	assert_non_null(strstr(r->message, "artifact bucket " BUCKET " does not exist: run with "
	                                   "--yes"));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "*"), 0);

	/* With --yes it is made; another console making it meanwhile is
	 * fine. */
	fresh(e);
	prepared(e);
	runs_through(e);
	fake_expect(e->w->fake, "HEAD", "/" BUCKET, 404, NULL, NULL);
	fake_expect_error(e->w->fake, "PUT", "/" BUCKET, 409, "BucketAlreadyOwnedByYou",
	                  "Your previous request to create the named bucket succeeded");
	r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_non_null(strstr(e->log, "creating the artifact bucket " BUCKET));
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "/" BUCKET), 1);
}

static void bucket_that_cannot_be_created_fails(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_expect(e->w->fake, "HEAD", "/" BUCKET, 404, NULL, NULL);
	fake_expect_error(e->w->fake, "PUT", "/" BUCKET, 409, "BucketAlreadyExists",
	                  "The requested bucket name is not available");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "creating artifact bucket " BUCKET));
	assert_non_null(strstr(r->message, "BucketAlreadyExists"));
}

/* Bob's lock on staging, taken for action bobs-action. */
static void bobs_lock(struct env *e)
{
	const char *body = "{\"kind\": \"promotion\", \"stage\": \"staging\", \"who\": "
	                   "\"arn:aws:iam::123456789012:user/bob\", \"owner\": \"bobs-token\", "
	                   "\"action_id\": \"bobs-action\", \"when\": \"2026-01-01T10:00:00Z\", "
	                   "\"ttl_s\": 180}";

	fake_s3_put(e->w->fake, BUCKET, LOCK, body, strlen(body));
}

static void held_lock_is_refused_with_who_holds_it(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	bobs_lock(e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "refused");
	assert_int_equal(r->status, ES_EBUSY);
	assert_non_null(strstr(r->message, "a promotion to staging is already running"));
	assert_non_null(strstr(r->message, "user/bob"));
	assert_int_equal(fake_s3_count(e->w->fake, BUCKET, "app/ledger/"), 0);
	assert_non_null(strstr(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL), "bobs-token"));
}

static void lock_of_an_action_that_ended_is_taken_over(void **state)
{
	struct env *e = *state;

	prepared(e);
	runs_through(e);
	bobs_lock(e);
	/* Bob's console recorded the end, then died before unlocking. */
	world_record(e->w, 1,
	             "{\"kind\": \"promotion\", \"phase\": \"intent\", \"stage\": \"staging\", "
	             "\"action_id\": \"bobs-action\"}");
	world_record(e->w, 2,
	             "{\"kind\": \"promotion\", \"phase\": \"outcome\", \"stage\": \"staging\", "
	             "\"action_id\": \"bobs-action\", \"result\": \"success\", "
	             "\"intent_seq\": 1}");
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_non_null(strstr(e->log, "took over the staging lock that "
	                               "arn:aws:iam::123456789012:user/bob took at "
	                               "2026-01-01T10:00:00Z"));
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
}

static void missing_release_template_fails_and_unlocks(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_s3_delete(e->w->fake, BUCKET, TKEY);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "release 0123456-01234567: its packaged template "
	                                   "s3://" BUCKET "/" TKEY));
	/* The lock was taken, and given back before the job ended. */
	assert_int_equal(fake_count_matching(e->w->fake, "PUT", "/" BUCKET "/" LOCK), 1);
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
	assert_int_equal(fake_s3_count(e->w->fake, BUCKET, "app/ledger/"), 0);
}

static void intent_that_cannot_be_written_fails_and_unlocks(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_rule_times(fake_expect_error(e->w->fake, "PUT", "/" BUCKET "/app/ledger/*", 403,
	                                  "AccessDenied", "no writing"),
	                FAKE_FOREVER);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "failed");
	assert_non_null(strstr(r->message, "writing the ledger intent"));
	assert_non_null(strstr(r->message, "AccessDenied"));
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "CreateChangeSet"), 0);
}

static void cancelled_before_the_job_ran(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_OK);
	es_deploy_detach(e->d, "Ctrl-C");
	world_run(e->w, &e->done, 30000);
	const struct es_deploy_result *r = es_deploy_result(e->d);
	assert_string_equal(r->result, "cancelled");
	assert_int_equal(r->status, ES_ECANCELLED);
	assert_string_equal(r->message, "cancelled (Ctrl-C) before anything changed in " STACK);
	assert_int_equal(fake_count(e->w->fake), 0);
}

static void cancelled_while_locking_gives_the_lock_back(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_rule_on_match(fake_expect(e->w->fake, "PUT", "/" BUCKET "/" LOCK, FAKE_S3, NULL, NULL),
	                   detach_meanwhile, e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "cancelled");
	assert_non_null(strstr(r->message, "before anything changed"));
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
	assert_int_equal(fake_s3_count(e->w->fake, BUCKET, "app/ledger/"), 0);
}

static void cancelled_after_the_intent_records_the_end(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_COMPLETE", 1);
	distribution_deployed(e);
	fake_rule_on_match(
	        fake_expect(e->w->fake, "PUT", "/" BUCKET "/app/ledger/*", FAKE_S3, NULL, NULL),
	        detach_meanwhile, e);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "cancelled");
	assert_non_null(strstr(r->message, "cancelled (Ctrl-C) before anything changed"));
	assert_int_equal(fake_count_matching(e->w->fake, "POST", "CreateChangeSet"), 0);
	/* The intent is closed by a cancelled outcome. */
	assert_int_equal(world_records_with(e->w, "\"cancelled\""), 1);
	ended_cleanly(e);
}

static void start_mistakes_are_told_at_once(void **state)
{
	struct env *e = *state;
	struct es_deploy_request req = request(e);

	req.stage = "qa";
	e->d = (struct es_deploy *)e;
	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_EINVAL);
	assert_null(e->d);
	assert_non_null(strstr(es_error_last()->message, "no stage \"qa\""));
	req = request(e);
	req.release = NULL;
	assert_int_equal(es_deploy_start(e->w->aws, &req, on_event, e, &e->d), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "a repository or a recorded release"));
	assert_int_equal(fake_count(e->w->fake), 0);
}

static void unlock_removes_a_dead_console_s_lock_and_records_it(void **state)
{
	struct env *e = *state;

	assert_int_equal(es_deploy_unlock(e->w->aws, &e->w->conf, "qa"), ES_EINVAL);
	assert_int_equal(es_deploy_unlock(e->w->aws, &e->w->conf, "staging"), ES_ENOTFOUND);
	bobs_lock(e);
	assert_int_equal(es_deploy_unlock(e->w->aws, &e->w->conf, "staging"), ES_OK);
	assert_null(fake_s3_get(e->w->fake, BUCKET, LOCK, NULL));
	const char *rec = world_record_text(e->w, 1);
	assert_non_null(rec);
	assert_non_null(strstr(rec, "\"kind\": \"unlock\""));
	assert_non_null(strstr(rec, "removed the staging lock of a promotion by "
	                            "arn:aws:iam::123456789012:user/bob taken at "
	                            "2026-01-01T10:00:00Z (still within its lease)"));
	assert_non_null(strstr(rec, "\"lock_owner\": \"bobs-token\""));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(deploys_and_records),
	        T(question_is_asked_without_yes),
	        T(no_drops_the_change_set),
	        T(new_stack_is_created_and_its_shell_removed_on_no),
	        T(failed_creation_is_deleted_before_creating_again),
	        T(stack_that_cannot_be_deleted_fails),
	        T(change_set_pages_and_pending_status),
	        T(empty_change_set_is_no_changes),
	        T(refused_empty_change_set_is_no_changes),
	        T(failed_change_set_says_why),
	        T(change_set_of_an_earlier_attempt_is_used),
	        T(change_set_refused_fails),
	        T(execute_answer_lost_is_followed),
	        T(execution_that_never_reached_cloudformation_is_sent_again),
	        T(refused_execution_fails),
	        T(transient_errors_and_pages_are_followed),
	        T(nested_stacks_are_followed_and_the_first_cause_kept),
	        T(busy_stack_at_the_end_is_followed_further),
	        T(lost_permission_ends_detached),
	        T(stopping_while_following_detaches),
	        T(following_gives_up_after_the_timeout),
	        T(stopping_before_execution_cancels),
	        T(freed_while_running_still_ends_cleanly),
	        T(outcome_that_cannot_be_written_is_a_warning),
	        T(packages_a_commit_and_uploads_only_what_is_missing),
	        T(a_deploy_makes_at_most_14_calls),
	        T(end_is_seen_at_the_first_look),
	        T(bucket_gone_since_the_ledger_was_read_is_made_again),
	        T(commit_without_the_template_fails_before_anything),
	        T(unknown_revision_fails_before_anything),
	        T(large_template_goes_by_url),
	        T(busy_stack_is_refused_before_anything),
	        T(moving_distribution_is_refused_before_anything),
	        T(unreadable_stack_or_bucket_fails_before_anything),
	        T(missing_bucket_is_created_only_when_asked),
	        T(bucket_that_cannot_be_created_fails),
	        T(held_lock_is_refused_with_who_holds_it),
	        T(lock_of_an_action_that_ended_is_taken_over),
	        T(missing_release_template_fails_and_unlocks),
	        T(intent_that_cannot_be_written_fails_and_unlocks),
	        T(cancelled_before_the_job_ran),
	        T(cancelled_while_locking_gives_the_lock_back),
	        T(cancelled_after_the_intent_records_the_end),
	        T(start_mistakes_are_told_at_once),
	        T(unlock_removes_a_dead_console_s_lock_and_records_it),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
