/* Fixture data for the screen tests. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fixtures.h"

#define NOW 1700000000.0

static struct es_stage_view stages[12];
static size_t n_stages = 2;
static struct es_activity activity[16];
static size_t n_activity;
static const char *connection = "";
static struct es_history_list history;

static const char *const oids[] = {
        "c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809", "b5c0e9d1f8a73b2c4d5e6f708192a3b4c5d6e7f8",
        "a4b9d8c0e7f62a1b3c4d5e6f708192a3b4c5d6e7", "93a8c7b9d6e5190a2b3c4d5e6f708192a3b4c5d6",
        "8297b6a8c5d4f8091a2b3c4d5e6f708192a3b4c5", "7186a597b4c3e7f8091a2b3c4d5e6f708192a3b4",
};

static void edge(struct es_stage_view *s, const char *pop, bool is_new, long status)
{
	struct es_edge_sample *e = &s->edges[s->n_edges++];
	snprintf(e->pop, sizeof(e->pop), "%s", pop);
	snprintf(e->target, sizeof(e->target), "127.0.0.1:%zu", 8080 + s->n_edges);
	e->is_new = is_new;
	e->status = status;
	/* the Lambda version each edge reports: the new one, or the one before */
	if (status)
		snprintf(e->release, sizeof(e->release), "%s", is_new ? "7" : "6");
	if (is_new && status)
		s->edges_new++;
	e->age_s = -1;
	e->state = !status        ? ES_EDGE_UNREACHABLE
	           : status >= 400 ? ES_EDGE_ERROR
	           : is_new        ? ES_EDGE_NEW
	                           : ES_EDGE_OLD;
}

static void check(struct es_stage_view *s, const char *name, bool passed, long status, double ms,
                  const char *detail)
{
	struct es_check_result *c = &s->checks[s->n_checks++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->passed = passed;
	c->status = status;
	c->latency_ms = ms;
	snprintf(c->detail, sizeof(c->detail), "%s", detail);
}

void fixtures_log(double when, enum es_activity_level level, const char *text)
{
	struct es_activity *a;

	if (n_activity == sizeof(activity) / sizeof(activity[0]))
		return;
	a = &activity[n_activity++];
	a->when = when;
	a->level = level;
	snprintf(a->text, sizeof(a->text), "%s", text);
}

struct es_stage_view *fixtures_stage(size_t i)
{
	return i < n_stages ? &stages[i] : NULL;
}

void fixtures_set_connection(const char *text)
{
	connection = text ? text : "";
}

/* The source the views read, over the arrays above. */
static size_t stage_count(const void *ctx)
{
	(void)ctx;
	return n_stages;
}

static const struct es_stage_view *stage(const void *ctx, size_t i)
{
	(void)ctx;
	return fixtures_stage(i);
}

static size_t activity_count(const void *ctx)
{
	(void)ctx;
	return n_activity;
}

static const struct es_activity *activity_at(const void *ctx, size_t i)
{
	(void)ctx;
	return i < n_activity ? &activity[i] : NULL;
}

static const char *connection_of(const void *ctx)
{
	(void)ctx;
	return connection;
}

void fixtures_fill(struct es_ui *ui, struct es_keymap *km)
{
	struct es_stage_view *s = &stages[0];

	memset(stages, 0, sizeof(stages));
	n_stages = 2;
	snprintf(s->name, sizeof(s->name), "staging");
	snprintf(s->stack, sizeof(s->stack), "edge-demo-staging");
	snprintf(s->stack_status, sizeof(s->stack_status), "UPDATE_COMPLETE");
	snprintf(s->commit, sizeof(s->commit), "%s", oids[0]);
	snprintf(s->release, sizeof(s->release), "r-c6d1f0e2a9b8");
	snprintf(s->distribution_id, sizeof(s->distribution_id), "E2QWRUHAPOMQZL");
	snprintf(s->lambda_arn, sizeof(s->lambda_arn),
	         "arn:aws:lambda:us-east-1:123456789012:function:edge-demo-staging-fn:7");
	s->propagation = ES_PROP_IN_PROGRESS;
	s->prop_elapsed_s = 62;
	s->prop_estimate_s = 100;
	s->invalidations_in_progress = 1;
	edge(s, "FRA56-P1", true, 200);
	edge(s, "IAD89-C2", true, 200);
	edge(s, "NRT12-P3", false, 200);
	edge(s, "GRU3-C1", true, 200);
	edge(s, "SYD1-P2", false, 200);
	edge(s, "LHR61-C1", true, 200);
	edge(s, "", false, 0);
	edge(s, "SIN2-P1", true, 200);
	s->validated = true;
	s->validation_passed = true;
	snprintf(s->validated_at, sizeof(s->validated_at), "2023-11-14T22:05:10Z");
	check(s, "home", true, 200, 41, "body contains \"Lambda@Edge is awesome!\"");
	check(s, "headers", true, 200, 38, "x-edgeship-release: r-c6d1f0e2a9b8");
	snprintf(s->last_action, sizeof(s->last_action), "deploy success by alice, 4m ago");

	s = &stages[1];
	snprintf(s->name, sizeof(s->name), "production");
	snprintf(s->stack, sizeof(s->stack), "edge-demo-production");
	snprintf(s->stack_status, sizeof(s->stack_status), "UPDATE_ROLLBACK_COMPLETE");
	snprintf(s->status_reason, sizeof(s->status_reason),
	         "Resource handler returned message: \"\x1b[31mRate exceeded\x1b[0m\"");
	snprintf(s->commit, sizeof(s->commit), "%s", oids[3]);
	snprintf(s->release, sizeof(s->release), "r-93a8c7b9d6e5");
	snprintf(s->distribution_id, sizeof(s->distribution_id), "E1PRODX7Y8Z9AB");
	snprintf(s->lambda_arn, sizeof(s->lambda_arn),
	         "arn:aws:lambda:us-east-1:123456789012:function:edge-demo-production-fn:3");
	s->propagation = ES_PROP_DEPLOYED;
	s->prop_estimate_s = 95;
	edge(s, "FRA56-P1", false, 200);
	edge(s, "IAD89-C2", false, 200);
	s->validated = true;
	s->validation_passed = false;
	snprintf(s->validated_at, sizeof(s->validated_at), "2023-11-14T21:40:00Z");
	check(s, "home", false, 503, 120, "expected 200, got 503");
	s->interrupted = true;
	snprintf(s->last_action, sizeof(s->last_action), "rollback failed by bob, 30m ago");

	n_activity = 0;
	connection = "";
	fixtures_log(NOW - 300, ES_ACT_INFO, "deploy to staging started");
	fixtures_log(NOW - 280, ES_ACT_EVENT,
	             "staging 22:01:12 UPDATE_IN_PROGRESS AWS::CloudFormation::Stack "
	             "edge-demo-staging");
	fixtures_log(
	        NOW - 240, ES_ACT_EVENT,
	        "staging 22:01:52 UPDATE_COMPLETE AWS::CloudFormation::Stack edge-demo-staging");
	fixtures_log(NOW - 200, ES_ACT_WARN,
	             "invalidation I2J0I21PCUYOIK of /* on staging: InProgress");
	fixtures_log(
	        NOW - 100, ES_ACT_ERROR,
	        "validation of production: Throttling (400): Rate exceeded [req 1a2b3c4d-0000]");
	fixtures_log(NOW - 10, ES_ACT_INFO, "ledger: record #42 approval by alice");

	es_history_list_free(&history);
	es_history_list_add(&history, oids[0], (time_t)NOW - 3600, "Serve a 404 page from the edge",
	                    "alice");
	es_history_list_add(&history, oids[1], (time_t)NOW - 7200,
	                    "Evil \x1b]0;title\x07 message \x1b[2J cleared?", "mallory");
	es_history_list_add(&history, oids[2], (time_t)NOW - 86400, "Bump the Node.js runtime",
	                    "bob");
	es_history_list_add(&history, oids[3], (time_t)NOW - 2 * 86400, "Add security headers",
	                    "carol");
	es_history_list_add(&history, oids[4], (time_t)NOW - 3 * 86400,
	                    "Cache the landing page for an hour", "alice");
	es_history_list_add(&history, oids[5], (time_t)NOW - 9 * 86400, "Initial sample app",
	                    "bob");

	memset(ui, 0, sizeof(*ui));
	es_ui_init(ui);
	es_keymap_defaults(km);
	ui->keymap = km;
	ui->source = (struct es_ui_source){
	        .stage_count = stage_count,
	        .stage = stage,
	        .activity_count = activity_count,
	        .activity = activity_at,
	        .connection = connection_of,
	};
	ui->history = &history;
	ui->app = "edge-demo";
	ui->identity = "arn:aws:sts::123456789012:assumed-role/release/alice";
	ui->account = "123456789012";
	ui->region = "us-east-1";
	ui->endpoint = "http://127.0.0.1:5000";
	ui->credentials = "credentials: environment";
	ui->conf_note = "";
	ui->now = NOW;
}

/* A stage behind the first two: name, stack status, commit (-1: none). */
static struct es_stage_view *more(size_t i, const char *name, const char *status, int commit)
{
	struct es_stage_view *s = &stages[i];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->stack, sizeof(s->stack), "edge-demo-%s", name);
	snprintf(s->stack_status, sizeof(s->stack_status), "%s", status);
	if (commit >= 0) {
		snprintf(s->commit, sizeof(s->commit), "%s", oids[commit]);
		snprintf(s->release, sizeof(s->release), "r-%.12s", oids[commit]);
	}
	snprintf(s->distribution_id, sizeof(s->distribution_id), "E%02zuDIST%.8s", i, "QWERTYUIOP");
	snprintf(s->lambda_arn, sizeof(s->lambda_arn),
	         "arn:aws:lambda:us-east-1:123456789012:function:edge-demo-%s-fn:%zu", name, i);
	return s;
}

void fixtures_set_stages(size_t n)
{
	struct es_stage_view *s;

	if (n > sizeof(stages) / sizeof(stages[0]))
		n = sizeof(stages) / sizeof(stages[0]);
	n_stages = n < 2 ? 2 : n;
	if (n_stages <= 2)
		return;
	/* production-eu runs production's commit, validated: with production's
	 * failed mark, the arrow to the next stage and sandbox's badge, one
	 * commit carries four markers */
	s = more(2, "production-eu", "UPDATE_COMPLETE", 3);
	s->propagation = ES_PROP_DEPLOYED;
	edge(s, "CDG50-C1", true, 200);
	edge(s, "AMS1-P2", true, 200);
	s->validated = true;
	s->validation_passed = true;
	snprintf(s->validated_at, sizeof(s->validated_at), "2023-11-14T21:50:00Z");
	check(s, "home", true, 200, 52, "body contains \"Lambda@Edge is awesome!\"");
	snprintf(s->last_action, sizeof(s->last_action), "promotion success by alice, 20m ago");
	s = more(3, "canary-us", "UPDATE_IN_PROGRESS", 1);
	s->busy = true;
	s->propagation = ES_PROP_IN_PROGRESS;
	s->prop_elapsed_s = 12;
	s->prop_estimate_s = -1;
	snprintf(s->last_action, sizeof(s->last_action), "deploy started by mallory, 1m ago");
	s = more(4, "sandbox", "UPDATE_COMPLETE", 3);
	s->propagation = ES_PROP_UNKNOWN;
	if (n_stages <= 5)
		return;
	static const struct {
		const char *name, *status;
		int commit;
	} rest[] = {
	        {"qa", "UPDATE_COMPLETE", 0},
	        {"perf", "CREATE_COMPLETE", 2},
	        {"demo", "NOT_DEPLOYED", -1},
	        {"dr-west", "UNKNOWN", -1},
	        {"eu-lab", "UPDATE_ROLLBACK_FAILED", 4},
	        {"load-test", "UPDATE_COMPLETE", 5},
	        {"preview-environment-42", "CREATE_IN_PROGRESS", 1},
	};
	for (size_t i = 5; i < n_stages && i - 5 < sizeof(rest) / sizeof(rest[0]); i++) {
		s = more(i, rest[i - 5].name, rest[i - 5].status, rest[i - 5].commit);
		s->propagation = s->commit[0] ? ES_PROP_DEPLOYED : ES_PROP_UNKNOWN;
	}
	s = &stages[5]; /* qa: validated, so the next stage is waited for */
	s->validated = true;
	s->validation_passed = true;
	check(s, "home", true, 200, 35, "body contains \"Lambda@Edge is awesome!\"");
	s = &stages[6]; /* perf: propagating */
	s->propagation = ES_PROP_IN_PROGRESS;
	s->prop_elapsed_s = 30;
	s->prop_estimate_s = 100;
	if (n_stages > 8)
		snprintf(stages[8].error, sizeof(stages[8].error),
		         "AccessDenied (403): cannot describe stack edge-demo-dr-west [req "
		         "9f8e7d6c]");
}

static struct es_record records[7];
static struct es_record_list record_list;

static void record(long seq, const char *kind, const char *phase, const char *stage,
                   const char *commit, const char *who, const char *when, const char *result,
                   const char *message)
{
	struct es_record *r = &records[record_list.n++];

	memset(r, 0, sizeof(*r));
	r->seq = seq;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->phase, sizeof(r->phase), "%s", phase);
	snprintf(r->stage, sizeof(r->stage), "%s", stage);
	snprintf(r->commit, sizeof(r->commit), "%s", commit);
	snprintf(r->who, sizeof(r->who), "%s", who);
	snprintf(r->when, sizeof(r->when), "%s", when);
	snprintf(r->result, sizeof(r->result), "%s", result);
	snprintf(r->message, sizeof(r->message), "%s", message);
}

const struct es_record_list *fixtures_records(const void *ctx)
{
	static const char alice[] = "arn:aws:sts::123456789012:assumed-role/release/alice";
	static const char bob[] = "arn:aws:iam::123456789012:user/bob";

	(void)ctx;
	if (record_list.n)
		return &record_list;
	record_list.items = records;
	record(40, "deploy", "intent", "production", oids[3], bob, "2023-11-14T21:30:02Z", "",
	       "");
	record(41, "deploy", "outcome", "production", oids[3], bob, "2023-11-14T21:31:40Z",
	       "failed",
	       "UPDATE_ROLLBACK_COMPLETE: Resource handler returned message: \"\x1b[31mRate "
	       "exceeded\x1b[0m\" (Service: CloudFront, Status Code: 400, Request ID: "
	       "1a2b3c4d-5e6f-0000-1111-222233334444)");
	record(42, "deploy", "intent", "staging", oids[0], alice, "2023-11-14T22:00:05Z", "", "");
	record(43, "deploy", "outcome", "staging", oids[0], alice, "2023-11-14T22:01:52Z",
	       "success", "UPDATE_COMPLETE");
	record(44, "validation", "outcome", "staging", oids[0], alice, "2023-11-14T22:05:10Z",
	       "passed", "all 2 checks passed");
	record(45, "invalidation", "outcome", "staging", "", alice, "2023-11-14T22:06:00Z",
	       "success", "I2J0I21PCUYOIK: /*");
	record(46, "rollback", "intent", "production", oids[4], bob, "2023-11-14T22:10:00Z", "",
	       "");
	records[6].open = true;
	records[6].json = (char *)"{\n  \"seq\": 46,\n  \"kind\": \"rollback\",\n  "
	                          "\"phase\": \"intent\",\n  \"stage\": \"production\"\n}";
	return &record_list;
}
