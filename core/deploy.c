/* The deploy state machine: everything that waits on CloudFormation is an
 * asynchronous call or a timer, so the loop stays free between polls.
 * Preparation is in deploy_prep.c, stage locks in lock.c. */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_int.h"
#include "base/timefmt.h"

/* ------------------------------------------------------------ events */

/* The deploy whose preparation this thread runs: its progress lines go to
 * the owner through the job. */
static _Thread_local struct es_deploy *preparing;

void es_dp_preparing(struct es_deploy *d)
{
	preparing = d;
}

bool es_dp_preparing_here(const struct es_deploy *d)
{
	return preparing == d;
}

/* Events go to the owner until it lets go (es_deploy_free while running). */
void es_dp_deliver(struct es_deploy *d, const struct es_deploy_event *ev)
{
	if (d->fn && !d->zombie)
		d->fn(ev, d->ud);
}

void es_dp_emit(struct es_deploy *d, enum es_deploy_event_kind k, const char *text)
{
	struct es_deploy_event ev = {.kind = k, .text = text};

	/* From the preparation's thread, a line travels through the job. */
	if (es_dp_preparing_here(d)) {
		es_job_progress(d->prep_job, "%s", text);
		return;
	}
	es_dp_deliver(d, &ev);
}

void es_dp_log(struct es_deploy *d, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	es_dp_emit(d, ES_DEPLOY_LOG, line);
}

void es_dp_set_result(struct es_deploy *d, int status, const char *result, const char *fmt, ...)
{
	va_list ap;

	d->res.status = status;
	snprintf(d->res.result, sizeof(d->res.result), "%s", result);
	va_start(ap, fmt);
	vsnprintf(d->res.message, sizeof(d->res.message), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ ledger */

static json_t *base_record(struct es_deploy *d, const char *phase)
{
	json_t *r = json_object();

	json_object_set_new(r, "kind", json_string(d->kind));
	json_object_set_new(r, "phase", json_string(phase));
	json_object_set_new(r, "action_id", json_string(d->action_id));
	json_object_set_new(r, "stage", json_string(d->stage->name));
	json_object_set_new(r, "stack", json_string(d->stage->stack));
	json_object_set_new(r, "commit", json_string(d->res.commit));
	json_object_set_new(r, "release", json_string(d->res.release));
	json_object_set_new(r, "template",
	                    json_pack("{s:s,s:s}", "key", d->res.template_key, "sha256",
	                              d->res.template_sha256));
	json_object_set(r, "artifacts", d->artifacts);
	if (d->build)
		json_object_set(r, "build", d->build);
	/* What a later console needs to learn how this action ended. */
	json_object_set_new(r, "change_set", json_string(d->cs_name));
	json_object_set_new(r, "exec_token", json_string(d->exec_token));
	return r;
}

int es_dp_write_intent(struct es_deploy *d, struct es_ledger *ledger)
{
	json_t *r = base_record(d, "intent");
	int rc;

	json_object_set_new(r, "intent_seq", json_integer(0));
	rc = es_ledger_append(ledger, r, &d->res.intent_seq);
	json_decref(r);
	return rc;
}

static json_t *outcome_record(const struct es_deploy *d)
{
	json_t *r = base_record((struct es_deploy *)d, "outcome");
	json_t *outs = json_object(), *changes = json_array();

	json_object_set_new(r, "intent_seq", json_integer(d->res.intent_seq));
	char rid[64];
	/* A final outcome has one id per action, whichever console writes it;
	 * "detached" says only that this console stopped following. */
	snprintf(rid, sizeof(rid), "%s:%s", d->action_id,
	         strcmp(d->res.result, "detached") == 0 ? "detached" : "outcome");
	json_object_set_new(r, "record_id", json_string(rid));
	json_object_set_new(r, "result", json_string(d->res.result));
	json_object_set_new(r, "message", json_string(d->res.message));
	json_object_set_new(r, "stack_status", json_string(d->res.stack_status));
	json_object_set_new(r, "change_set_type", json_string(d->res.change_set_type));
	for (size_t i = 0; i < d->cs.n_changes; i++) {
		const struct es_change *c = &d->cs.changes[i];
		json_array_append_new(changes,
		                      json_pack("{s:s?,s:s?,s:s?,s:s?}", "action", c->action,
		                                "logical_id", c->logical_id, "type", c->type,
		                                "replacement", c->replacement));
	}
	json_object_set_new(r, "changes", changes);
	if (d->res.root_cause[0])
		json_object_set_new(r, "root_cause", json_string(d->res.root_cause));
	for (size_t i = 0; i < d->res.n_outputs; i++)
		json_object_set_new(outs, d->res.outputs[i].key,
		                    json_string(d->res.outputs[i].value));
	json_object_set_new(r, "outputs", outs);
	json_object_set_new(r, "uploaded", json_integer((json_int_t)d->res.n_uploaded));
	return r;
}

static void really_free(struct es_deploy *d);

static void emit_done(struct es_deploy *d)
{
	d->st = ST_DONE;
	if (d->zombie) {
		if (d->inflight == 0)
			really_free(d);
		return;
	}
	es_dp_emit(d, ES_DEPLOY_DONE, d->res.message);
}

static void on_lock_released(int rc, void *ud)
{
	struct es_deploy *d = ud;

	d->releasing = NULL;
	if (rc) {
		char line[600];
		es_dp_log(d, "warning: could not release the %s lock (%s); it expires by itself",
		          d->stage->name, es_error_format(es_error_last(), line, sizeof(line)));
	}
	emit_done(d);
}

static void release_lock(struct es_deploy *d)
{
	struct es_lock *lk = d->lock;

	d->lock = NULL;
	if (!lk) {
		emit_done(d);
		return;
	}
	d->releasing = lk;
	es_lock_release(lk, on_lock_released, d);
}

static void on_outcome_written(int rc, long seq, void *ud)
{
	struct es_deploy *d = ud;

	if (rc) {
		char line[600];
		es_dp_log(d,
		          "warning: the outcome could not be written to the ledger (%s); the "
		          "intent stays open, and the next console that sees the stack settle "
		          "records how it ended",
		          es_error_format(es_error_last(), line, sizeof(line)));
	} else {
		d->res.outcome_seq = seq;
	}
	release_lock(d);
}

/* The one way a deploy ends: the outcome recorded (once: its record id is
 * the action's), the lock released, then DONE emitted. */
static void finish(struct es_deploy *d)
{
	if (d->st == ST_DONE || d->st == ST_FINISHING)
		return;
	d->st = ST_FINISHING;
	if (d->timer) {
		es_loop_timer_cancel(d->loop, d->timer);
		d->timer = 0;
	}
	if (d->res.intent_seq) {
		json_t *r = outcome_record(d);
		int rc = r ? es_ledger_append_async(d->ledger, r, true, on_outcome_written, d)
		           : es_fail(ES_ENOMEM, "out of memory");
		json_decref(r);
		if (rc != ES_OK)
			on_outcome_written(rc, 0, d);
		return;
	}
	release_lock(d);
}

void es_dp_finish(struct es_deploy *d)
{
	finish(d);
}

void es_dp_lock_event(enum es_lock_event ev, const char *text, void *ud)
{
	struct es_deploy *d = ud;

	es_dp_log(d, "%s%s", ev == ES_LOCK_LOST ? "warning: " : "note: ", text);
}

static void fail_with_last(struct es_deploy *d, const char *what)
{
	const struct es_error *e = es_error_last();
	char line[1200];

	es_dp_set_result(d, e->status ? e->status : ES_ERR, "failed", "%s: %s", what,
	                 es_error_format(e, line, sizeof(line)));
	finish(d);
}

/* ------------------------------------------------------------ async calls */

typedef void (*step_fn)(struct es_deploy *d, int rc, const struct es_http_response *resp);

struct call_ctx {
	struct es_deploy *d;
	step_fn next;
};

static void on_answer(int rc, const struct es_http_response *resp, const struct es_error *err,
                      void *ud)
{
	struct call_ctx *c = ud;
	struct es_deploy *d = c->d;
	step_fn next = c->next;

	free(c);
	d->inflight--;
	if (rc && err)
		es_error_restore(err);
	/* Answers to polls sent before the deploy stopped are not needed. */
	if (d->st == ST_FINISHING || d->st == ST_DONE) {
		if (d->zombie && d->st == ST_DONE && d->inflight == 0)
			really_free(d);
		return;
	}
	/* Stopping before ExecuteChangeSet: nothing more is sent. Its own
	 * answer still counts: the change set may have started executing. */
	if (d->detach_reason[0] && !d->executed && d->st != ST_EXECUTE && d->st != ST_CHECK_EXEC) {
		finish(d);
		return;
	}
	next(d, rc, rc ? NULL : resp);
}

static void call_aws(struct es_deploy *d, struct es_aws_call *call, step_fn next)
{
	struct call_ctx *c = malloc(sizeof(*c));

	if (!c) {
		es_aws_call_free(call);
		es_fail(ES_ENOMEM, "out of memory");
		fail_with_last(d, "deploy");
		return;
	}
	c->d = d;
	c->next = next;
	d->inflight++;
	if (es_aws_send(d->aws, call, on_answer, c) != ES_OK) {
		/* es_aws_send reports through on_answer except when out of memory. */
		d->inflight--;
		free(c);
		fail_with_last(d, "deploy");
	}
}

/* ------------------------------------------------------------ steps */

static void step_describe(struct es_deploy *d);
static void step_create_change_set(struct es_deploy *d);
static void step_poll_change_set(struct es_deploy *d);
static void step_execute(struct es_deploy *d);
static void step_poll_events(struct es_deploy *d);
static void step_final(struct es_deploy *d);
static void check_execution(struct es_deploy *d);

static void after(struct es_deploy *d, long ms, enum es_dp_state st);

static void run_state(struct es_loop *loop, void *ud)
{
	struct es_deploy *d = ud;

	(void)loop;
	d->timer = 0;
	switch (d->st) {
	case ST_DESCRIBE:
	case ST_DELETE_EMPTY: step_describe(d); break;
	case ST_CREATE_CS: step_create_change_set(d); break;
	case ST_WAIT_CS: step_poll_change_set(d); break;
	case ST_EXECUTE: step_execute(d); break;
	case ST_CHECK_EXEC: check_execution(d); break;
	case ST_FOLLOW: step_poll_events(d); break;
	case ST_FINAL: step_final(d); break;
	default: break;
	}
}

static void after(struct es_deploy *d, long ms, enum es_dp_state st)
{
	d->st = st;
	if (d->executed && d->deadline > 0 && es_time_now() > d->deadline) {
		char took[32], why[160];
		snprintf(why, sizeof(why), "followed for %s without an end (--timeout)",
		         es_duration_format((double)d->timeout_s, took, sizeof(took)));
		es_deploy_detach(d, why);
		return;
	}
	d->timer = es_loop_timer(d->loop, ms, run_state, d);
	if (!d->timer) {
		es_fail(ES_ENOMEM, "out of memory");
		fail_with_last(d, "deploy");
	}
}

/* The wait before the next look at something that may be done already (a
 * change set being computed, a stack being changed): none at first, then
 * 250 ms, doubling up to the poll interval. A short operation is seen to end
 * at once; a long one is asked no more often than the interval. */
static long next_look(struct es_deploy *d)
{
	long ms = d->looks == 0 ? 0 : 250L << (d->looks < 9 ? d->looks - 1 : 8);

	d->looks++;
	return ms < d->poll_ms ? ms : d->poll_ms;
}

/* Errors worth waiting out: AWS will answer again, and CloudFormation carries
 * on meanwhile. A cut or garbled answer, a reset, a throttle, a 5xx, expired
 * or unavailable credentials (the chain is asked again on the next call). */
static bool transient(int rc, const struct es_error *e)
{
	static const char *const codes[] = {
	        "Throttling",      "ThrottlingException",   "RequestLimitExceeded",
	        "ExpiredToken",    "ExpiredTokenException", "RequestExpired",
	        "InternalFailure", "ServiceUnavailable",    "InternalError",
	};

	if (rc == ES_ENET || rc == ES_EPARSE || rc == ES_ECREDS)
		return true;
	if (rc != ES_EAWS)
		return false;
	if (e->http_status >= 500 || e->http_status == 429)
		return true;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(e->code, codes[i]) == 0)
			return true;
	return false;
}

/* A transient error slows polling down instead of ending the deploy. */
static bool wait_out(struct es_deploy *d, int rc, const char *what)
{
	const struct es_error *e = es_error_last();
	char line[600];

	if (rc == ES_OK) {
		d->backoff_ms = 0;
		d->transient_streak = 0;
		return false;
	}
	if (!transient(rc, e))
		return false;
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : d->poll_ms * 2;
	if (d->backoff_ms > 30000)
		d->backoff_ms = 30000;
	d->transient_streak++;
	es_dp_log(d, "%s: %s; trying again in %lds (CloudFormation carries on meanwhile)", what,
	          es_error_format(e, line, sizeof(line)),
	          d->backoff_ms >= 1000 ? d->backoff_ms / 1000 : 1);
	return true;
}

/* After ExecuteChangeSet only CloudFormation's own final status makes a
 * deploy `failed`: a console that cannot follow any more says so and ends
 * `detached`, and whoever sees the end records it. */
static void stop_following(struct es_deploy *d, const char *what)
{
	char line[700], why[900];

	if (!d->executed) {
		fail_with_last(d, what);
		return;
	}
	snprintf(why, sizeof(why), "%s: %s", what,
	         es_error_format(es_error_last(), line, sizeof(line)));
	es_deploy_detach(d, why);
}

static void on_delete_sent(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	(void)resp;
	if (rc) {
		fail_with_last(d, "DeleteStack");
		return;
	}
	after(d, d->poll_ms, ST_DELETE_EMPTY);
}

static void from_status(struct es_deploy *d, const char *status);

static void on_described(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_stack st;

	if (rc == ES_EAWS && strcmp(es_error_last()->code, "ValidationError") == 0 &&
	    strstr(es_error_last()->message, "does not exist")) {
		if (d->st == ST_DELETE_EMPTY)
			es_dp_log(d, "empty stack %s deleted", d->stage->stack);
		snprintf(d->res.change_set_type, sizeof(d->res.change_set_type), "CREATE");
		step_create_change_set(d);
		return;
	}
	if (wait_out(d, rc, "DescribeStacks")) {
		after(d, d->backoff_ms, d->st);
		return;
	}
	if (rc) {
		fail_with_last(d, "DescribeStacks");
		return;
	}
	if (es_cfn_parse_stack(resp->body.data, resp->body.len, &st)) {
		fail_with_last(d, "DescribeStacks");
		return;
	}
	if (d->st == ST_DELETE_EMPTY) {
		if (strcmp(st.status, "DELETE_FAILED") == 0) {
			es_dp_set_result(
			        d, ES_EAWS, "failed",
			        "stack %s could not be deleted (%s); delete it by hand, then "
			        "deploy again",
			        d->stage->stack,
			        st.status_reason ? st.status_reason : "DELETE_FAILED");
			es_stack_free(&st);
			finish(d);
			return;
		}
		if (strcmp(st.status, "DELETE_COMPLETE") == 0) {
			es_stack_free(&st);
			snprintf(d->res.change_set_type, sizeof(d->res.change_set_type), "CREATE");
			step_create_change_set(d);
			return;
		}
		es_stack_free(&st);
		after(d, d->poll_ms, ST_DELETE_EMPTY);
		return;
	}
	free(d->stack_status_before);
	d->stack_status_before = strdup(st.status);
	es_stack_free(&st);
	if (!d->stack_status_before) {
		es_fail(ES_ENOMEM, "out of memory");
		fail_with_last(d, "DescribeStacks");
		return;
	}
	from_status(d, d->stack_status_before);
}

/* The change set's type follows from the stack's status ("": no stack). */
static void from_status(struct es_deploy *d, const char *status)
{
	if (strcmp(status, "ROLLBACK_COMPLETE") == 0 || strcmp(status, "ROLLBACK_FAILED") == 0) {
		/* A stack whose creation failed holds nothing and cannot be updated. */
		struct es_aws_call call;
		es_dp_log(d,
		          "stack %s is %s after a failed creation: deleting the empty stack first",
		          d->stage->stack, status);
		if (es_cfn_delete_stack_call(&call, d->stage->stack, NULL)) {
			es_aws_call_free(&call);
			fail_with_last(d, "DeleteStack");
			return;
		}
		d->st = ST_DELETE_EMPTY;
		call_aws(d, &call, on_delete_sent);
		return;
	}
	if (strcmp(status, "REVIEW_IN_PROGRESS") == 0)
		es_dp_log(d,
		          "stack %s is REVIEW_IN_PROGRESS: a first change set was never executed "
		          "(it failed or was cancelled); creating the stack with a new CREATE "
		          "change set",
		          d->stage->stack);
	if (!*status || strcmp(status, "REVIEW_IN_PROGRESS") == 0) {
		snprintf(d->res.change_set_type, sizeof(d->res.change_set_type), "CREATE");
	} else {
		snprintf(d->res.change_set_type, sizeof(d->res.change_set_type), "UPDATE");
	}
	step_create_change_set(d);
}

static void step_describe(struct es_deploy *d)
{
	struct es_aws_call call;

	if (es_cfn_describe_stacks_call(&call, d->stage->stack)) {
		es_aws_call_free(&call);
		fail_with_last(d, "DescribeStacks");
		return;
	}
	call_aws(d, &call, on_described);
}

/* The preparation read the stack for rule 2 moments ago (under the lock
 * since): its status picks the change set's type without asking again. A
 * stack changed meanwhile by hand is refused by CloudFormation itself. */
void es_dp_begin(struct es_deploy *d)
{
	if (d->stack_status_before) {
		d->st = ST_DESCRIBE;
		from_status(d, d->stack_status_before);
		return;
	}
	step_describe(d);
}

/* ------------------------------------------------------------ change set */

static void on_change_set_created(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	if (rc == ES_EAWS && strstr(es_error_last()->code, "AlreadyExists")) {
		/* Our own earlier attempt got through before the connection
		 * dropped: the same name and client token, so carry on with it. */
		es_dp_log(d, "change set %s already exists (an earlier attempt got through)",
		          d->cs_name);
	} else if (rc == ES_EAWS && strcmp(es_error_last()->code, "ValidationError") == 0 &&
	           (strstr(es_error_last()->message, "No updates are to be performed") ||
	            strstr(es_error_last()->message, "didn't contain changes"))) {
		/* Some endpoints refuse an empty change set outright instead of
		 * creating a FAILED one: the same answer, "nothing to do". */
		es_dp_set_result(d, ES_OK, "no-changes",
		                 "no changes: stack %s already runs this release", d->stage->stack);
		finish(d);
		return;
	} else if (rc == ES_EAWS &&
	           strcmp(es_error_last()->code, "InsufficientCapabilitiesException") == 0) {
		char line[1000];
		es_dp_set_result(d, ES_EAWS, "failed",
		                 "CreateChangeSet: %s. Acknowledge what the template needs: add "
		                 "`capability = NAME` under [app] in edgeship.conf for each "
		                 "capability named, commit, and deploy again",
		                 es_error_format(es_error_last(), line, sizeof(line)));
		finish(d);
		return;
	} else if (rc) {
		fail_with_last(d, "CreateChangeSet");
		return;
	} else {
		free(d->cs_id);
		d->cs_id = es_cfn_parse_change_set_id(resp->body.data, resp->body.len);
	}
	es_dp_log(d, "change set %s created (%s); waiting for CloudFormation to compute it",
	          d->cs_name, d->res.change_set_type);
	d->looks = 0;
	after(d, next_look(d), ST_WAIT_CS);
}

static void step_create_change_set(struct es_deploy *d)
{
	struct es_aws_call call;
	struct es_kv tags[32];
	size_t n_tags = 0;
	char url[1024], desc[256];
	const struct es_endpoint *ep = es_aws_endpoint(d->aws, "s3");

	tags[n_tags++] = (struct es_kv){"edgeship:commit", d->res.commit};
	tags[n_tags++] = (struct es_kv){"edgeship:release", d->res.release};
	tags[n_tags++] = (struct es_kv){"edgeship:template", d->res.template_sha256};
	for (size_t i = 0; i < d->stage->n_tags && n_tags < 32; i++)
		tags[n_tags++] = d->stage->tags[i];
	snprintf(desc, sizeof(desc), "edgeship %s of %.12s (%s) to %s", d->kind, d->res.commit,
	         d->res.release, d->stage->name);
	struct es_change_set_request r = {
	        .stack_name = d->stage->stack,
	        .change_set_name = d->cs_name,
	        .change_set_type = d->res.change_set_type,
	        .parameters = d->stage->parameters,
	        .n_parameters = d->stage->n_parameters,
	        .capabilities = (const char *const *)d->conf->capabilities,
	        .n_capabilities = d->conf->n_capabilities,
	        .tags = tags,
	        .n_tags = n_tags,
	        .client_token = d->cs_name,
	        .description = desc,
	};
	if (d->template_body) {
		r.template_body = d->template_body;
	} else {
		if (!ep) {
			fail_with_last(d, "S3 endpoint");
			return;
		}
		/* CloudFormation fetches large templates from S3 itself. */
		if (ep->path_style)
			snprintf(url, sizeof(url), "%s/%s/%s", ep->url, d->conf->bucket,
			         d->res.template_key);
		else
			snprintf(url, sizeof(url), "https://%s.%s/%s", d->conf->bucket, ep->host,
			         d->res.template_key);
		r.template_url = url;
	}
	d->st = ST_CREATE_CS;
	if (es_cfn_create_change_set_call(&call, &r)) {
		es_aws_call_free(&call);
		fail_with_last(d, "CreateChangeSet");
		return;
	}
	call_aws(d, &call, on_change_set_created);
}

static void finish_after_delete(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	(void)resp;
	if (rc) {
		char line[600];
		es_dp_log(d, "note: the change set %s could not be deleted: %s", d->cs_name,
		          es_error_format(es_error_last(), line, sizeof(line)));
	}
	finish(d);
}

static void on_change_set(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_change_set page;

	if (wait_out(d, rc, "DescribeChangeSet")) {
		after(d, d->backoff_ms, ST_WAIT_CS);
		return;
	}
	if (rc) {
		fail_with_last(d, "DescribeChangeSet");
		return;
	}
	if (es_cfn_parse_change_set(resp->body.data, resp->body.len, &page)) {
		fail_with_last(d, "DescribeChangeSet");
		return;
	}
	bool first_page = d->cs.status == NULL;
	if (first_page) {
		d->cs = page;
	} else {
		/* Later pages add changes only. */
		struct es_change *all =
		        realloc(d->cs.changes, (d->cs.n_changes + page.n_changes) * sizeof(*all));
		if (all) {
			memcpy(all + d->cs.n_changes, page.changes, page.n_changes * sizeof(*all));
			d->cs.changes = all;
			d->cs.n_changes += page.n_changes;
			free(page.changes);
			page.changes = NULL;
			page.n_changes = 0;
		}
		free(d->cs.next_token);
		d->cs.next_token = page.next_token;
		page.next_token = NULL;
		es_change_set_free(&page);
	}
	const char *status = d->cs.status;
	if (strcmp(status, "CREATE_COMPLETE") != 0 && strcmp(status, "FAILED") != 0) {
		es_change_set_free(&d->cs);
		after(d, next_look(d), ST_WAIT_CS);
		return;
	}
	if (d->cs.next_token && *d->cs.next_token) {
		struct es_aws_call call;
		if (es_cfn_describe_change_set_call(&call, d->stage->stack, d->cs_name,
		                                    d->cs.next_token)) {
			es_aws_call_free(&call);
			fail_with_last(d, "DescribeChangeSet");
			return;
		}
		call_aws(d, &call, on_change_set);
		return;
	}
	d->cs_created = es_time_parse(d->cs.creation_time);
	if (es_cfn_change_set_empty(&d->cs)) {
		struct es_aws_call call;
		es_dp_set_result(d, ES_OK, "no-changes",
		                 "no changes: stack %s already runs this release", d->stage->stack);
		/* Leave nothing behind (the AWS CLI leaves the FAILED change set). */
		if (es_cfn_delete_change_set_call(&call, d->stage->stack, d->cs_name) == ES_OK)
			call_aws(d, &call, finish_after_delete);
		else {
			es_aws_call_free(&call);
			finish(d);
		}
		return;
	}
	if (strcmp(status, "FAILED") == 0) {
		es_dp_set_result(d, ES_EAWS, "failed", "the change set failed: %s",
		                 d->cs.status_reason ? d->cs.status_reason : "no reason given");
		finish(d);
		return;
	}
	d->res.n_changes = d->cs.n_changes;
	struct es_deploy_event ev = {.kind = ES_DEPLOY_CHANGES, .change_set = &d->cs};
	es_dp_deliver(d, &ev);
	d->st = ST_CONFIRM;
	if (d->yes) {
		step_execute(d);
		return;
	}
	char q[256];
	snprintf(q, sizeof(q), "Deploy %.7s to %s (%zu change%s)?", d->res.commit, d->stage->name,
	         d->cs.n_changes, d->cs.n_changes == 1 ? "" : "s");
	es_dp_emit(d, ES_DEPLOY_QUESTION, q);
}

static void step_poll_change_set(struct es_deploy *d)
{
	struct es_aws_call call;

	if (es_cfn_describe_change_set_call(&call, d->stage->stack, d->cs_name, NULL)) {
		es_aws_call_free(&call);
		fail_with_last(d, "DescribeChangeSet");
		return;
	}
	call_aws(d, &call, on_change_set);
}

/* ------------------------------------------------------------ answer */

static void on_cancel_cleanup(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_aws_call call;

	(void)rc;
	(void)resp;
	/* A CREATE change set left an empty REVIEW_IN_PROGRESS stack behind. */
	if (strcmp(d->res.change_set_type, "CREATE") == 0 && d->st == ST_CONFIRM) {
		d->st = ST_FINAL;
		if (es_cfn_delete_stack_call(&call, d->stage->stack, NULL) == ES_OK) {
			call_aws(d, &call, finish_after_delete);
			return;
		}
		es_aws_call_free(&call);
	}
	finish(d);
}

/* The operator said no (or the console is closing): drop the change set. */
static void es_deploy_answer_cancel(struct es_deploy *d)
{
	struct es_aws_call call;

	if (es_cfn_delete_change_set_call(&call, d->stage->stack, d->cs_name) == ES_OK) {
		call_aws(d, &call, on_cancel_cleanup);
		return;
	}
	es_aws_call_free(&call);
	finish(d);
}

void es_deploy_answer(struct es_deploy *d, bool yes)
{
	if (d->st != ST_CONFIRM)
		return;
	if (yes) {
		step_execute(d);
		return;
	}
	es_dp_set_result(d, ES_ECANCELLED, "cancelled", "cancelled: nothing was changed in %s",
	                 d->stage->stack);
	es_deploy_answer_cancel(d);
}

/* ------------------------------------------------------------ execute */

static void start_following(struct es_deploy *d)
{
	d->executed = true;
	d->transient_streak = 0;
	d->deadline = es_time_now() + (double)d->timeout_s;
	if (d->detach_reason[0]) {
		/* Asked to stop while ExecuteChangeSet was on its way. */
		char why[sizeof(d->detach_reason)];
		snprintf(why, sizeof(why), "%s", d->detach_reason);
		d->detach_reason[0] = '\0';
		es_deploy_detach(d, why);
		return;
	}
	es_dp_log(d, "executing change set %s on %s", d->cs_name, d->stage->stack);
	d->stacks = calloc(1, sizeof(*d->stacks));
	if (!d->stacks || !(d->stacks[0] = strdup(d->stage->stack))) {
		es_fail(ES_ENOMEM, "out of memory");
		stop_following(d, "deploy");
		return;
	}
	d->n_stacks = 1;
	/* The first look right away: a short operation may be over already. */
	d->looks = 0;
	after(d, next_look(d), ST_FOLLOW);
}

/* ExecuteChangeSet failed, or its answer was lost: the change set itself
 * says whether it is executing. */
static void on_execution_checked(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_change_set cs;
	char line[700];

	if (rc == ES_OK && es_cfn_parse_change_set(resp->body.data, resp->body.len, &cs) != ES_OK)
		rc = ES_EPARSE;
	if (rc) {
		if (transient(rc, es_error_last()) && d->transient_streak++ < 8) {
			after(d, 1000L << (d->transient_streak < 5 ? d->transient_streak : 5),
			      ST_CHECK_EXEC);
			return;
		}
		es_error_restore(&d->exec_err);
		fail_with_last(d, "ExecuteChangeSet");
		return;
	}
	const char *x = cs.execution_status ? cs.execution_status : "";
	if (strcmp(x, "EXECUTE_IN_PROGRESS") == 0 || strcmp(x, "EXECUTE_COMPLETE") == 0 ||
	    strcmp(x, "EXECUTE_FAILED") == 0) {
		es_dp_log(d,
		          "ExecuteChangeSet's answer was unclear (%s), but change set %s is %s: "
		          "following it",
		          es_error_format(&d->exec_err, line, sizeof(line)), d->cs_name, x);
		es_change_set_free(&cs);
		start_following(d);
		return;
	}
	bool available = strcmp(x, "AVAILABLE") == 0;
	es_change_set_free(&cs);
	if (available && transient(d->exec_err.status, &d->exec_err) && d->exec_attempts < 3 &&
	    !d->detach_reason[0]) {
		/* It never reached CloudFormation: send it again, same token. */
		after(d, 1000L * d->exec_attempts, ST_EXECUTE);
		return;
	}
	es_error_restore(&d->exec_err);
	fail_with_last(d, "ExecuteChangeSet");
}

static void check_execution(struct es_deploy *d)
{
	struct es_aws_call call;

	if (es_cfn_describe_change_set_call(&call, d->stage->stack, d->cs_name, NULL)) {
		es_aws_call_free(&call);
		es_error_restore(&d->exec_err);
		fail_with_last(d, "ExecuteChangeSet");
		return;
	}
	d->st = ST_CHECK_EXEC;
	call_aws(d, &call, on_execution_checked);
}

static void on_executed(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	(void)resp;
	if (rc) {
		es_error_save(&d->exec_err);
		check_execution(d);
		return;
	}
	start_following(d);
}

/* Idempotency key: the change set (one per action) and the ClientRequestToken
 * "<change set>-exec"; an error or a lost answer is reconciled by reading the
 * change set's ExecutionStatus. */
static void step_execute(struct es_deploy *d)
{
	struct es_aws_call call;

	d->exec_attempts++;
	d->st = ST_EXECUTE;
	if (es_cfn_execute_change_set_call(&call, d->stage->stack, d->cs_name, d->exec_token)) {
		es_aws_call_free(&call);
		fail_with_last(d, "ExecuteChangeSet");
		return;
	}
	call_aws(d, &call, on_executed);
}

/* ------------------------------------------------------------ events */

static bool seen_before(struct es_deploy *d, const char *id)
{
	for (size_t i = 0; i < d->n_seen; i++)
		if (strcmp(d->seen[i], id) == 0)
			return true;
	return false;
}

static void remember(struct es_deploy *d, const char *id)
{
	char **s = realloc(d->seen, (d->n_seen + 1) * sizeof(*s));
	if (!s)
		return;
	d->seen = s;
	s[d->n_seen] = strdup(id);
	if (s[d->n_seen])
		d->n_seen++;
}

static void add_stack(struct es_deploy *d, const char *id)
{
	for (size_t i = 0; i < d->n_stacks; i++)
		if (strcmp(d->stacks[i], id) == 0)
			return;
	char **s = realloc(d->stacks, (d->n_stacks + 1) * sizeof(*s));
	if (!s)
		return;
	d->stacks = s;
	s[d->n_stacks] = strdup(id);
	if (s[d->n_stacks])
		d->n_stacks++;
}

/* Reasons that only say "because something else failed". */
static bool is_consequence(const char *reason)
{
	return !reason || !*reason || strstr(reason, "Resource creation cancelled") ||
	       strstr(reason, "Resource update cancelled") ||
	       strstr(reason, "rollback requested by user") ||
	       strstr(reason, "The following resource(s) failed");
}

/* Whether an event belongs to the operation being followed: not older than
 * the change set, and (where AWS says) started by our ExecuteChangeSet. */
static bool ours(const struct es_deploy *d, const struct es_stack_event *e, bool root)
{
	double t = es_time_parse(e->timestamp);

	if (d->cs_created > 0 && t > 0 && t + 1.0 < d->cs_created)
		return false;
	if (root && e->client_token && *e->client_token && d->exec_token[0] &&
	    strcmp(e->client_token, d->exec_token) != 0)
		return false;
	return true;
}

static void show_event(struct es_deploy *d, struct es_stack_event *e, bool root)
{
	bool is_stack_itself = e->type && strcmp(e->type, "AWS::CloudFormation::Stack") == 0 &&
	                       e->physical_id && e->stack_id &&
	                       strcmp(e->physical_id, e->stack_id) == 0;

	remember(d, e->event_id);
	if (e->type && strcmp(e->type, "AWS::CloudFormation::Stack") == 0 && !is_stack_itself &&
	    e->physical_id && *e->physical_id)
		add_stack(d, e->physical_id);
	if (!d->res.root_cause[0] && strstr(e->status, "FAILED") && !is_consequence(e->reason))
		snprintf(d->res.root_cause, sizeof(d->res.root_cause), "%s %s: %s",
		         e->logical_id ? e->logical_id : "?", e->status,
		         e->reason ? e->reason : "");
	struct es_deploy_event ev = {.kind = ES_DEPLOY_STACK_EVENT, .event = e, .nested = !root};
	es_dp_deliver(d, &ev);
	/* An event without a status says nothing about the end. */
	if (root && is_stack_itself && e->status[0] && !es_cfn_status_in_progress(e->status))
		d->root_settled = true;
}

static void poll_events_page(struct es_deploy *d, const char *token);

static void on_events(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_stack_event_page page;
	bool root = d->poll_index == 0, more = true;

	if (rc == ES_OK && es_cfn_parse_stack_events(resp->body.data, resp->body.len, &page))
		rc = es_error_last()->status ? es_error_last()->status : ES_EPARSE;
	if (wait_out(d, rc, "DescribeStackEvents")) {
		es_stack_event_page_free(&d->acc);
		after(d, d->backoff_ms, ST_FOLLOW);
		return;
	}
	if (rc) {
		es_stack_event_page_free(&d->acc);
		/* A nested stack that is gone is not a reason to stop following. */
		if (!root) {
			d->poll_index++;
			step_poll_events(d);
			return;
		}
		stop_following(d, "DescribeStackEvents");
		return;
	}
	/* AWS lists newest first, a page at a time: gather pages until one
	 * reaches what was already shown (or older than this operation). */
	for (size_t k = 0; k < page.n; k++) {
		struct es_stack_event *e = &page.events[k];
		if (!ours(d, e, root) || seen_before(d, e->event_id)) {
			more = false;
			continue;
		}
		struct es_stack_event *all = realloc(d->acc.events, (d->acc.n + 1) * sizeof(*all));
		if (!all)
			break;
		d->acc.events = all;
		all[d->acc.n++] = *e;
		memset(e, 0, sizeof(*e));
	}
	if (more && page.next_token && *page.next_token && ++d->pages < 20) {
		char *token = page.next_token;
		page.next_token = NULL;
		es_stack_event_page_free(&page);
		poll_events_page(d, token);
		free(token);
		return;
	}
	es_stack_event_page_free(&page);
	/* Show oldest first. */
	for (size_t k = d->acc.n; k-- > 0;)
		show_event(d, &d->acc.events[k], root);
	es_stack_event_page_free(&d->acc);
	d->pages = 0;
	d->poll_index++;
	step_poll_events(d);
}

static void poll_events_page(struct es_deploy *d, const char *token)
{
	struct es_aws_call call;

	if (es_cfn_describe_stack_events_call(&call, d->stacks[d->poll_index], token)) {
		es_aws_call_free(&call);
		stop_following(d, "DescribeStackEvents");
		return;
	}
	call_aws(d, &call, on_events);
}

/* One round polls the root stack, then each nested stack, then waits. */
static void step_poll_events(struct es_deploy *d)
{
	d->st = ST_FOLLOW;
	if (d->poll_index >= d->n_stacks) {
		d->poll_index = 0;
		/* The root stack's own final event is its newest: the round that
		 * showed it showed every event written before it (pages are
		 * gathered down to what was seen), so the stack itself is asked
		 * for its status and outputs at once. */
		if (d->root_settled) {
			step_final(d);
			return;
		}
		after(d, next_look(d), ST_FOLLOW);
		return;
	}
	poll_events_page(d, NULL);
}

/* ------------------------------------------------------------ the end */

static void on_final(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_stack st;

	if (wait_out(d, rc, "DescribeStacks")) {
		after(d, d->backoff_ms, ST_FINAL);
		return;
	}
	if (rc || es_cfn_parse_stack(resp->body.data, resp->body.len, &st)) {
		stop_following(d, "DescribeStacks");
		return;
	}
	if (es_cfn_status_in_progress(st.status)) {
		/* Settled events but a busy stack (DescribeStacks lags behind the
		 * events, or cleanup still runs): keep following, and ask the
		 * stack again after the next round, which may bring no new event
		 * at all. */
		es_stack_free(&st);
		after(d, next_look(d), ST_FOLLOW);
		return;
	}
	snprintf(d->res.stack_status, sizeof(d->res.stack_status), "%s", st.status);
	d->res.outputs = st.outputs;
	d->res.n_outputs = st.n_outputs;
	st.outputs = NULL;
	st.n_outputs = 0;
	if (strcmp(st.status, "CREATE_COMPLETE") == 0 ||
	    strcmp(st.status, "UPDATE_COMPLETE") == 0) {
		es_dp_set_result(d, ES_OK, "success", "%s %s: %s", d->stage->name, d->stage->stack,
		                 st.status);
	} else {
		es_dp_set_result(d, ES_EAWS, "failed", "%s %s ended %s%s%s", d->stage->name,
		                 d->stage->stack, st.status, d->res.root_cause[0] ? ": " : "",
		                 d->res.root_cause);
	}
	es_stack_free(&st);
	finish(d);
}

static void step_final(struct es_deploy *d)
{
	struct es_aws_call call;

	d->st = ST_FINAL;
	if (es_cfn_describe_stacks_call(&call, d->stage->stack)) {
		es_aws_call_free(&call);
		stop_following(d, "DescribeStacks");
		return;
	}
	call_aws(d, &call, on_final);
}

bool es_deploy_done(const struct es_deploy *d)
{
	return d->st == ST_DONE;
}

const struct es_deploy_result *es_deploy_result(const struct es_deploy *d)
{
	return &d->res;
}

char *es_deploy_result_json(const struct es_deploy *d)
{
	json_t *r = outcome_record(d);
	char *text;

	json_object_set_new(r, "ok", json_boolean(d->res.status == ES_OK));
	json_object_set_new(r, "outcome_seq", json_integer(d->res.outcome_seq));
	json_object_set_new(r, "n_changes", json_integer((json_int_t)d->res.n_changes));
	text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(r);
	return text;
}

void es_deploy_detach(struct es_deploy *d, const char *reason)
{
	if (!d || d->st == ST_DONE || d->st == ST_FINISHING)
		return;
	if (d->st == ST_CONFIRM) {
		es_dp_set_result(d, ES_ECANCELLED, "cancelled",
		                 "cancelled (%s): nothing was changed in %s", reason,
		                 d->stage->stack);
		d->detach_reason[0] = '\0';
		es_deploy_answer_cancel(d);
		return;
	}
	if (d->st == ST_PREPARE) {
		/* The job stops at its next step; its end says how far it got. */
		snprintf(d->detach_reason, sizeof(d->detach_reason), "%s", reason);
		es_job_cancel(d->job);
		return;
	}
	if (!d->executed) {
		snprintf(d->detach_reason, sizeof(d->detach_reason), "%s", reason);
		es_dp_set_result(d, ES_ECANCELLED, "cancelled",
		                 "cancelled (%s) before anything changed in %s", reason,
		                 d->stage->stack);
		/* ExecuteChangeSet on its way decides: its answer (or the check of
		 * it) either starts following, which then detaches, or ends here. */
		if (d->st == ST_EXECUTE || d->st == ST_CHECK_EXEC) {
			if (d->inflight > 0)
				return;
		}
		if (d->inflight > 0) {
			/* Answers due: the first one ends it (on_answer). */
			if (d->timer) {
				es_loop_timer_cancel(d->loop, d->timer);
				d->timer = 0;
			}
			return;
		}
		finish(d);
		return;
	}
	es_dp_set_result(d, ES_OK, "detached",
	                 "stopped following %s (%s); CloudFormation carries on: `edgeship status` "
	                 "shows how it ends, and the first console to see the end records it",
	                 d->stage->stack, reason);
	es_dp_log(d, "%s", d->res.message);
	finish(d);
}

static void really_free(struct es_deploy *d)
{
	if (d->prep.check_free)
		d->prep.check_free(d->prep.check_arg);
	es_ledger_free(d->ledger);
	free(d->template_body);
	json_decref(d->artifacts);
	json_decref(d->build);
	free(d->cs_id);
	es_change_set_free(&d->cs);
	es_stack_event_page_free(&d->acc);
	free(d->stack_status_before);
	for (size_t i = 0; i < d->n_stacks; i++)
		free(d->stacks[i]);
	free(d->stacks);
	for (size_t i = 0; i < d->n_seen; i++)
		free(d->seen[i]);
	free(d->seen);
	for (size_t i = 0; i < d->res.n_outputs; i++) {
		free(d->res.outputs[i].key);
		free(d->res.outputs[i].value);
	}
	free(d->res.outputs);
	free(d);
}

/* Letting go of a running deploy detaches it: its outcome is still recorded
 * and its lock released, on the loop, before it is freed. */
void es_deploy_free(struct es_deploy *d)
{
	if (!d)
		return;
	if (d->st != ST_DONE) {
		d->zombie = true;
		es_deploy_detach(d, "the console closed");
		return;
	}
	if (d->timer)
		es_loop_timer_cancel(d->loop, d->timer);
	if (d->inflight > 0) {
		d->zombie = true;
		return;
	}
	really_free(d);
}
