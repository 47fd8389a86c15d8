/* The deploy engine against the fake AWS: preparation (rules, lock, intent)
 * and the state machine (change set, execution, following, outcome), with
 * the job run on the test's loop. Happy path; ExecuteChangeSet whose answer
 * is lost; transient errors and a paged event list while following; a
 * follower that loses permission ends detached; a busy stack is refused
 * before anything is written. */
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
#include "fakeaws.h"
#include "job.h"
#include "testutil.h"

#define BUCKET  "artifacts"
#define STACK   "app-staging"
#define STACKID "arn:aws:cloudformation:us-east-1:123456789012:stack/app-staging/00000000-fake"
#define WHO     "arn:aws:iam::123456789012:user/release-manager"
#define DIST    "E2STAGINGFAKE"
#define TKEY    "app/templates/0123456789abcdef.json"
#define CFNNS   "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *state_dir;
	struct es_stage_conf stage;
	struct es_config conf;
	struct es_deploy *d;
	bool done;
	int n_events;
	char events[64][96]; /* stack events seen, oldest first */
	char log[8192];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	setenv("AWS_MAX_ATTEMPTS", "2", 1);
	e->state_dir = tu_mkdtemp();
	setenv("XDG_STATE_HOME", e->state_dir, 1);
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	e->aws = fake_client(e->fake);
	es_job_run_inline(true);
	e->stage = (struct es_stage_conf){.name = "staging", .stack = STACK};
	e->conf.app = "app";
	e->conf.bucket = BUCKET;
	e->conf.prefix = "app";
	e->conf.region = "us-east-1";
	e->conf.stages = &e->stage;
	e->conf.n_stages = 1;
	fake_s3_bucket(e->fake, BUCKET);
	fake_s3_put(e->fake, BUCKET, TKEY, "{\"Resources\": {}}", 17);
	fake_rule_times(fake_sts_identity(e->fake, WHO), FAKE_FOREVER);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_deploy_free(e->d);
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

/* ------------------------------------------------------------ answers */

static void stack_is(struct env *e, const char *status, int times)
{
	fake_rule_times(fake_cfn_stack(e->fake, STACK, status,
	                               "edgeship:release=r-old;edgeship:commit=0123456", NULL),
	                times);
}

static void distribution_deployed(struct env *e)
{
	fake_rule_times(
	        fake_cfn_resources(e->fake, STACK, "Cdn|AWS::CloudFront::Distribution|" DIST),
	        FAKE_FOREVER);
	char *xml = fake_cf_distribution_xml(DIST, "Deployed");
	fake_rule_times(fake_expect(e->fake, "GET", "GetDistribution", 200, "ETag: \"E1\"", xml),
	                FAKE_FOREVER);
	free(xml);
}

static void change_set_is(struct env *e, const char *exec_status, int times)
{
	char xml[2048];

	snprintf(xml, sizeof(xml),
	         "<DescribeChangeSetResponse " CFNNS "><DescribeChangeSetResult>"
	         "<ChangeSetId>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1"
	         "</ChangeSetId><StackId>" STACKID "</StackId><Status>CREATE_COMPLETE</Status>"
	         "<ExecutionStatus>%s</ExecutionStatus>"
	         "<CreationTime>2026-01-01T00:00:00Z</CreationTime><Changes><member>"
	         "<Type>Resource</Type><ResourceChange><Action>Modify</Action>"
	         "<LogicalResourceId>Fn</LogicalResourceId>"
	         "<ResourceType>AWS::Lambda::Function</ResourceType>"
	         "<Replacement>False</Replacement></ResourceChange></member></Changes>"
	         "</DescribeChangeSetResult></DescribeChangeSetResponse>",
	         exec_status);
	fake_rule_times(fake_expect(e->fake, "POST", "DescribeChangeSet", 200, NULL, xml), times);
}

static void create_change_set_ok(struct env *e)
{
	fake_expect(e->fake, "POST", "CreateChangeSet", 200, NULL,
	            "<CreateChangeSetResponse " CFNNS "><CreateChangeSetResult>"
	            "<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1</Id>"
	            "<StackId>" STACKID "</StackId></CreateChangeSetResult>"
	            "</CreateChangeSetResponse>");
}

/* One page of events, newest first: (logical id, status) pairs. */
static void events_page(struct env *e, const char *token_in, const char *token_out, int times,
                        int n, ...)
{
	struct es_buf b = ES_BUF_INIT;
	va_list ap;

	es_buf_puts(&b, "<DescribeStackEventsResponse " CFNNS "><DescribeStackEventsResult>"
	                "<StackEvents>");
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *lid = va_arg(ap, const char *);
		const char *status = va_arg(ap, const char *);
		const char *id = va_arg(ap, const char *);
		bool stack = strcmp(lid, STACK) == 0;
		es_buf_printf(&b,
		              "<member><EventId>%s</EventId><StackId>" STACKID "</StackId>"
		              "<StackName>" STACK "</StackName><LogicalResourceId>%s"
		              "</LogicalResourceId><PhysicalResourceId>%s</PhysicalResourceId>"
		              "<ResourceType>%s</ResourceType>"
		              "<Timestamp>2026-01-01T00:00:%02dZ</Timestamp>"
		              "<ResourceStatus>%s</ResourceStatus></member>",
		              id, lid, stack ? STACKID : "fn-physical",
		              stack ? "AWS::CloudFormation::Stack" : "AWS::Lambda::Function",
		              50 - i, status);
	}
	va_end(ap);
	es_buf_puts(&b, "</StackEvents>");
	if (token_out)
		es_buf_printf(&b, "<NextToken>%s</NextToken>", token_out);
	es_buf_puts(&b, "</DescribeStackEventsResult></DescribeStackEventsResponse>");
	struct fake_rule *r =
	        fake_expect(e->fake, "POST", "DescribeStackEvents", 200, NULL, es_buf_str(&b));
	if (token_in) {
		char needle[128];
		snprintf(needle, sizeof(needle), "NextToken=%s", token_in);
		fake_rule_body_has(r, needle);
	}
	fake_rule_times(r, times);
	es_buf_free(&b);
}

/* The usual happy answers around a deploy; the caller adds what differs. */
static void prepared(struct env *e)
{
	stack_is(e, "UPDATE_COMPLETE", 2); /* the rule check, then the state machine */
	distribution_deployed(e);
	create_change_set_ok(e);
}

/* ------------------------------------------------------------ running */

static void on_event(const struct es_deploy_event *ev, void *ud)
{
	struct env *e = ud;

	switch (ev->kind) {
	case ES_DEPLOY_DONE: e->done = true; break;
	case ES_DEPLOY_STACK_EVENT:
		if (e->n_events < 64)
			snprintf(e->events[e->n_events++], sizeof(e->events[0]), "%s %s",
			         ev->event->logical_id, ev->event->status);
		break;
	case ES_DEPLOY_LOG:
		strncat(e->log, ev->text, sizeof(e->log) - strlen(e->log) - 2);
		strncat(e->log, "\n", sizeof(e->log) - strlen(e->log) - 1);
		break;
	default: break;
	}
}

static const struct es_deploy_result *deploy(struct env *e)
{
	struct es_release_ref ref = {.commit = "0123456789abcdef0123456789abcdef01234567",
	                             .release = "0123456-01234567",
	                             .template_key = TKEY,
	                             .template_sha256 = "01234567"};
	struct es_deploy_request req = {
	        .conf = &e->conf, .stage = "staging", .release = &ref, .yes = true, .poll_ms = 20};

	assert_int_equal(es_deploy_start(e->aws, &req, on_event, e, &e->d), ES_OK);
	assert_true(fake_run_until(e->fake, &e->done, 60000));
	return es_deploy_result(e->d);
}

static size_t ledger_count(struct env *e, const char *text)
{
	size_t n = 0;
	char key[64];

	for (int i = 1; i < 20; i++) {
		snprintf(key, sizeof(key), "app/ledger/%010d.json", i);
		const char *body = fake_s3_get(e->fake, BUCKET, key, NULL);
		if (body && strstr(body, text))
			n++;
	}
	return n;
}

/* ------------------------------------------------------------ cases */

static void deploys_and_records(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	fake_expect(e->fake, "POST", "ExecuteChangeSet", 200, NULL,
	            "<ExecuteChangeSetResponse " CFNNS "/>");
	events_page(e, NULL, NULL, FAKE_FOREVER, 3, STACK, "UPDATE_COMPLETE", "ev3", "Fn",
	            "UPDATE_COMPLETE", "ev2", STACK, "UPDATE_IN_PROGRESS", "ev1");
	stack_is(e, "UPDATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_int_equal(e->n_events, 3);
	assert_string_equal(e->events[0], STACK " UPDATE_IN_PROGRESS");
	assert_string_equal(e->events[2], STACK " UPDATE_COMPLETE");
	/* The change set and the execution carry the action's id. */
	const struct fake_request *cs = fake_find(e->fake, "POST", "CreateChangeSet", 0);
	assert_non_null(strstr(fake_req_param(cs, "ChangeSetName"), r->action_id));
	assert_string_equal(fake_req_param(cs, "ClientToken"), fake_req_param(cs, "ChangeSetName"));
	const struct fake_request *ex = fake_find(e->fake, "POST", "ExecuteChangeSet", 0);
	char token[200];
	snprintf(token, sizeof(token), "%s-exec", fake_req_param(cs, "ChangeSetName"));
	assert_string_equal(fake_req_param(ex, "ClientRequestToken"), token);
	/* Intent and outcome, once each; the lock is gone. */
	assert_int_equal(ledger_count(e, "\"intent\""), 1);
	assert_int_equal(ledger_count(e, "\"success\""), 1);
	assert_null(fake_s3_get(e->fake, BUCKET, "app/locks/staging.json", NULL));
	assert_int_equal(fake_unmatched(e->fake), 0);
}

static void execute_answer_lost_is_followed(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	/* It ran; its answer did not arrive; a retry is refused as running. */
	fake_rule_lost(fake_expect(e->fake, "POST", "ExecuteChangeSet", 200, NULL,
	                           "<ExecuteChangeSetResponse " CFNNS "/>"));
	fake_rule_times(fake_expect_error(e->fake, "POST", "ExecuteChangeSet", 400,
	                                  "ValidationError",
	                                  "ChangeSet [cs] cannot be executed in its current "
	                                  "execution status of [EXECUTE_IN_PROGRESS]"),
	                FAKE_FOREVER);
	change_set_is(e, "EXECUTE_IN_PROGRESS", FAKE_FOREVER);
	events_page(e, NULL, NULL, FAKE_FOREVER, 2, STACK, "UPDATE_COMPLETE", "ev2", STACK,
	            "UPDATE_IN_PROGRESS", "ev1");
	stack_is(e, "UPDATE_COMPLETE", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "success");
	assert_non_null(strstr(e->log, "following it"));
	assert_int_equal(ledger_count(e, "\"failed\""), 0);
	assert_int_equal(ledger_count(e, "\"success\""), 1);
}

static void transient_errors_and_pages_are_followed(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	fake_expect(e->fake, "POST", "ExecuteChangeSet", 200, NULL,
	            "<ExecuteChangeSetResponse " CFNNS "/>");
	/* Two rounds of 500s (each retried once by the pipeline), a garbled
	 * answer, then a list in two pages. */
	fake_rule_times(fake_expect_error(e->fake, "POST", "DescribeStackEvents", 500,
	                                  "InternalFailure", "try again"),
	                4);
	fake_expect(e->fake, "POST", "DescribeStackEvents", 200, NULL, "<not xml");
	events_page(e, "page2", NULL, FAKE_FOREVER, 2, "Fn", "UPDATE_IN_PROGRESS", "ev2", STACK,
	            "UPDATE_IN_PROGRESS", "ev1");
	events_page(e, NULL, "page2", FAKE_FOREVER, 2, STACK, "UPDATE_COMPLETE", "ev4", "Fn",
	            "UPDATE_COMPLETE", "ev3");
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

static void lost_permission_ends_detached(void **state)
{
	struct env *e = *state;

	prepared(e);
	change_set_is(e, "AVAILABLE", 1);
	fake_expect(e->fake, "POST", "ExecuteChangeSet", 200, NULL,
	            "<ExecuteChangeSetResponse " CFNNS "/>");
	fake_rule_times(fake_expect_error(e->fake, "POST", "DescribeStackEvents", 403,
	                                  "AccessDenied", "not allowed"),
	                FAKE_FOREVER);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "detached");
	assert_non_null(strstr(r->message, "AccessDenied"));
	assert_int_equal(ledger_count(e, "\"detached\""), 1);
	assert_int_equal(ledger_count(e, "\"failed\""), 0);
	assert_null(fake_s3_get(e->fake, BUCKET, "app/locks/staging.json", NULL));
}

static void busy_stack_is_refused_before_anything(void **state)
{
	struct env *e = *state;

	stack_is(e, "UPDATE_IN_PROGRESS", 1);
	const struct es_deploy_result *r = deploy(e);
	assert_string_equal(r->result, "refused");
	assert_int_equal(r->status, ES_EBUSY);
	assert_non_null(strstr(r->message, "UPDATE_IN_PROGRESS"));
	assert_int_equal(fake_count_matching(e->fake, "PUT", "*"), 0);
	assert_int_equal(fake_s3_count(e->fake, BUCKET, "app/ledger/"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(deploys_and_records, setup, teardown),
	        cmocka_unit_test_setup_teardown(execute_answer_lost_is_followed, setup, teardown),
	        cmocka_unit_test_setup_teardown(transient_errors_and_pages_are_followed, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(lost_permission_ends_detached, setup, teardown),
	        cmocka_unit_test_setup_teardown(busy_stack_is_refused_before_anything, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
