/* The release world the engine tests share (see world.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "job.h"
#include "testutil.h"
#include "world.h"

struct world *world_new(void)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	fake_env();
	/* One retry: transient failures show without long backoffs. */
	setenv("AWS_MAX_ATTEMPTS", "2", 1);
	w->state_dir = tu_mkdtemp();
	assert_non_null(w->state_dir);
	setenv("XDG_STATE_HOME", w->state_dir, 1);
	w->loop = es_loop_new();
	assert_non_null(w->loop);
	w->fake = fake_new(w->loop);
	assert_non_null(w->fake);
	w->aws = fake_client(w->fake);
	es_job_run_inline(true);
	w->stages[0] = (struct es_stage_conf){.name = "staging", .stack = "app-staging"};
	w->stages[1] = (struct es_stage_conf){
	        .name = "production", .stack = "app-production", .promotes_from = "staging"};
	w->conf.path = "edgeship.conf";
	w->conf.app = "app";
	w->conf.template_path = "template.yaml";
	w->conf.bucket = WORLD_BUCKET;
	w->conf.prefix = "app";
	w->conf.region = "us-east-1";
	w->conf.stages = w->stages;
	w->conf.n_stages = 2;
	w->conf.checks = w->checks;
	fake_s3_bucket(w->fake, WORLD_BUCKET);
	fake_sts_identity(w->fake, WORLD_WHO);
	return w;
}

void world_free(struct world *w)
{
	size_t unmatched;

	if (!w)
		return;
	unmatched = fake_unmatched(w->fake);
	if (unmatched)
		fake_dump(w->fake, stderr);
	es_job_run_inline(false);
	es_aws_client_free(w->aws);
	fake_free(w->fake);
	es_loop_free(w->loop);
	tu_rmtree(w->state_dir);
	free(w->state_dir);
	unsetenv("XDG_STATE_HOME");
	unsetenv("AWS_MAX_ATTEMPTS");
	free(w);
	assert_int_equal(unmatched, 0);
}

void world_run(struct world *w, const bool *done, long timeout_ms)
{
	if (!fake_run_until(w->fake, done, timeout_ms)) {
		fake_dump(w->fake, stderr);
		fail_msg("nothing ended within %ld ms", timeout_ms);
	}
}

void world_stack(struct world *w, const char *stack, const char *status, const char *release,
                 const char *commit, const char *dist, const char *dist_status)
{
	char tags[256] = "", resources[256] = "";

	if (release)
		snprintf(tags, sizeof(tags), "edgeship:release=%s", release);
	if (commit)
		snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "%sedgeship:commit=%s",
		         tags[0] ? ";" : "", commit);
	fake_rule_times(fake_cfn_stack(w->fake, stack, status, tags, NULL), FAKE_FOREVER);
	if (dist)
		snprintf(resources, sizeof(resources), "Cdn|AWS::CloudFront::Distribution|%s",
		         dist);
	fake_rule_times(fake_cfn_resources(w->fake, stack,
	                                   dist ? resources : "Fn|AWS::Lambda::Function|fn"),
	                FAKE_FOREVER);
	if (dist)
		fake_rule_times(fake_cf_distribution(w->fake, dist, dist_status), FAKE_FOREVER);
}

#define CFNNS "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""

static struct fake_rule *for_stack(struct fake_rule *r, const char *stack)
{
	char needle[300];

	snprintf(needle, sizeof(needle), "StackName=%s", stack);
	return fake_rule_body_has(r, needle);
}

struct fake_rule *world_change_set(struct world *w, const char *stack, const char *status,
                                   const char *exec_status, int n_changes, const char *reason,
                                   int times)
{
	struct es_buf b = ES_BUF_INIT;

	es_buf_printf(&b,
	              "<DescribeChangeSetResponse " CFNNS "><DescribeChangeSetResult>"
	              "<ChangeSetId>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1"
	              "</ChangeSetId><StackId>arn:aws:cloudformation:us-east-1:123456789012:"
	              "stack/%s/00000000-fake</StackId><Status>%s</Status>"
	              "<ExecutionStatus>%s</ExecutionStatus>"
	              "<CreationTime>2026-01-01T00:00:00Z</CreationTime>",
	              stack, status, exec_status);
	if (reason)
		es_buf_printf(&b, "<StatusReason>%s</StatusReason>", reason);
	es_buf_puts(&b, "<Changes>");
	for (int i = 0; i < n_changes; i++)
		es_buf_printf(&b,
		              "<member><Type>Resource</Type><ResourceChange><Action>Modify"
		              "</Action><LogicalResourceId>Fn%d</LogicalResourceId>"
		              "<ResourceType>AWS::Lambda::Function</ResourceType>"
		              "<Replacement>False</Replacement></ResourceChange></member>",
		              i);
	es_buf_puts(&b, "</Changes></DescribeChangeSetResult></DescribeChangeSetResponse>");
	struct fake_rule *r =
	        fake_rule_times(for_stack(fake_expect(w->fake, "POST", "DescribeChangeSet", 200,
	                                              NULL, es_buf_str(&b)),
	                                  stack),
	                        times);
	es_buf_free(&b);
	return r;
}

void world_change_set_runs(struct world *w, const char *stack)
{
	struct es_buf b = ES_BUF_INIT;
	char stack_id[300];

	snprintf(stack_id, sizeof(stack_id),
	         "arn:aws:cloudformation:us-east-1:123456789012:stack/%s/00000000-fake", stack);
	es_buf_printf(&b,
	              "<CreateChangeSetResponse " CFNNS "><CreateChangeSetResult>"
	              "<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1</Id>"
	              "<StackId>%s</StackId></CreateChangeSetResult></CreateChangeSetResponse>",
	              stack_id);
	for_stack(fake_expect(w->fake, "POST", "CreateChangeSet", 200, NULL, es_buf_str(&b)),
	          stack);
	world_change_set(w, stack, "CREATE_COMPLETE", "AVAILABLE", 1, NULL, 1);
	for_stack(fake_expect(w->fake, "POST", "ExecuteChangeSet", 200, NULL,
	                      "<ExecuteChangeSetResponse " CFNNS "/>"),
	          stack);
	es_buf_reset(&b);
	/* Newest first, as AWS lists them. */
	es_buf_puts(&b, "<DescribeStackEventsResponse " CFNNS "><DescribeStackEventsResult>"
	                "<StackEvents>");
	for (int i = 0; i < 2; i++)
		es_buf_printf(&b,
		              "<member><EventId>%s-ev%d</EventId><StackId>%s</StackId>"
		              "<StackName>%s</StackName><LogicalResourceId>%s</LogicalResourceId>"
		              "<PhysicalResourceId>%s</PhysicalResourceId>"
		              "<ResourceType>AWS::CloudFormation::Stack</ResourceType>"
		              "<Timestamp>2026-01-01T00:00:%02dZ</Timestamp>"
		              "<ResourceStatus>%s</ResourceStatus></member>",
		              stack, 2 - i, stack_id, stack, stack, stack_id, 50 - i,
		              i ? "UPDATE_IN_PROGRESS" : "UPDATE_COMPLETE");
	es_buf_puts(&b, "</StackEvents></DescribeStackEventsResult></DescribeStackEventsResponse>");
	fake_rule_times(for_stack(fake_expect(w->fake, "POST", "DescribeStackEvents", 200, NULL,
	                                      es_buf_str(&b)),
	                          stack),
	                FAKE_FOREVER);
	es_buf_free(&b);
}

void world_record(struct world *w, long seq, const char *fmt, ...)
{
	char key[64], *text;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	snprintf(key, sizeof(key), "app/ledger/%010ld.json", seq);
	fake_s3_put(w->fake, WORLD_BUCKET, key, text, (size_t)n);
	free(text);
}

const char *world_record_text(struct world *w, long seq)
{
	char key[64];

	snprintf(key, sizeof(key), "app/ledger/%010ld.json", seq);
	return fake_s3_get(w->fake, WORLD_BUCKET, key, NULL);
}

size_t world_records_with(struct world *w, const char *text)
{
	size_t n = 0;

	for (long seq = 1; seq < 100; seq++) {
		const char *body = world_record_text(w, seq);
		if (body && strstr(body, text))
			n++;
	}
	return n;
}
