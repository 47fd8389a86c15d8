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

void es_dp_emit(struct es_deploy *d, enum es_deploy_event_kind k, const char *text)
{
	struct es_deploy_event ev = {.kind = k, .text = text};
	d->fn(&ev, d->ud);
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
	json_object_set_new(r, "stage", json_string(d->stage->name));
	json_object_set_new(r, "stack", json_string(d->stage->stack));
	json_object_set_new(r, "commit", json_string(d->res.commit));
	json_object_set_new(r, "release", json_string(d->res.release));
	json_object_set_new(r, "template",
	                    json_pack("{s:s,s:s}", "key", d->res.template_key, "sha256",
	                              d->res.template_sha256));
	json_object_set(r, "artifacts", d->artifacts);
	return r;
}

int es_dp_write_intent(struct es_deploy *d)
{
	json_t *r = base_record(d, "intent");
	int rc;

	json_object_set_new(r, "intent_seq", json_integer(0));
	rc = es_ledger_append(d->ledger, r, &d->res.intent_seq);
	json_decref(r);
	return rc;
}

static json_t *outcome_record(const struct es_deploy *d)
{
	json_t *r = base_record((struct es_deploy *)d, "outcome");
	json_t *outs = json_object(), *changes = json_array();

	json_object_set_new(r, "intent_seq", json_integer(d->res.intent_seq));
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

/* The one way a deploy ends: outcome recorded, DONE emitted. */
static void finish(struct es_deploy *d)
{
	if (d->st == ST_DONE)
		return;
	d->st = ST_DONE;
	if (d->res.intent_seq) {
		json_t *r = outcome_record(d);
		if (es_ledger_append(d->ledger, r, &d->res.outcome_seq) != ES_OK) {
			char line[600];
			es_dp_log(d, "warning: the outcome could not be written to the ledger: %s",
			          es_error_format(es_error_last(), line, sizeof(line)));
		}
		json_decref(r);
	}
	es_dp_drop_lock(d);
	es_dp_emit(d, ES_DEPLOY_DONE, d->res.message);
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

	if (rc && err)
		es_error_restore(err);
	c->next(c->d, rc, rc ? NULL : resp);
	free(c);
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
	if (es_aws_send(d->aws, call, on_answer, c) != ES_OK) {
		/* es_aws_send reports through on_answer except when out of memory. */
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
	case ST_FOLLOW: step_poll_events(d); break;
	case ST_FINAL: step_final(d); break;
	default: break;
	}
}

static void after(struct es_deploy *d, long ms, enum es_dp_state st)
{
	d->st = st;
	d->timer = es_loop_timer(d->loop, ms, run_state, d);
	if (!d->timer) {
		es_fail(ES_ENOMEM, "out of memory");
		fail_with_last(d, "deploy");
	}
}

/* Throttling slows polling down instead of failing the deploy. */
static bool throttled(struct es_deploy *d, int rc)
{
	const struct es_error *e = es_error_last();

	if (rc == ES_OK) {
		d->backoff_ms = 0;
		return false;
	}
	if ((rc == ES_EAWS && (e->http_status == 429 || strstr(e->code, "Throttl") ||
	                       strcmp(e->code, "RequestLimitExceeded") == 0)) ||
	    rc == ES_ENET) {
		d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : d->poll_ms * 2;
		if (d->backoff_ms > 30000)
			d->backoff_ms = 30000;
		es_dp_log(d, "%s; polling again in %lds (CloudFormation carries on meanwhile)",
		          rc == ES_ENET ? "network trouble" : "throttled by AWS",
		          d->backoff_ms / 1000);
		return true;
	}
	return false;
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
	if (throttled(d, rc)) {
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
	if (strcmp(st.status, "ROLLBACK_COMPLETE") == 0 ||
	    strcmp(st.status, "ROLLBACK_FAILED") == 0) {
		/* A stack whose creation failed holds nothing and cannot be updated. */
		struct es_aws_call call;
		es_dp_log(d,
		          "stack %s is %s after a failed creation: deleting the empty stack first",
		          d->stage->stack, st.status);
		es_stack_free(&st);
		if (es_cfn_delete_stack_call(&call, d->stage->stack, NULL)) {
			es_aws_call_free(&call);
			fail_with_last(d, "DeleteStack");
			return;
		}
		d->st = ST_DELETE_EMPTY;
		call_aws(d, &call, on_delete_sent);
		return;
	}
	if (strcmp(st.status, "REVIEW_IN_PROGRESS") == 0)
		snprintf(d->res.change_set_type, sizeof(d->res.change_set_type), "CREATE");
	else
		snprintf(d->res.change_set_type, sizeof(d->res.change_set_type), "UPDATE");
	es_stack_free(&st);
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

void es_dp_begin(struct es_deploy *d)
{
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
	} else if (rc) {
		fail_with_last(d, "CreateChangeSet");
		return;
	} else {
		free(d->cs_id);
		d->cs_id = es_cfn_parse_change_set_id(resp->body.data, resp->body.len);
	}
	es_dp_log(d, "change set %s created (%s); waiting for CloudFormation to compute it",
	          d->cs_name, d->res.change_set_type);
	after(d, d->poll_ms / 2, ST_WAIT_CS);
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

	if (throttled(d, rc)) {
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
		after(d, d->poll_ms, ST_WAIT_CS);
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
	d->fn(&ev, d->ud);
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

void es_deploy_answer(struct es_deploy *d, bool yes)
{
	struct es_aws_call call;

	if (d->st != ST_CONFIRM)
		return;
	if (yes) {
		step_execute(d);
		return;
	}
	es_dp_set_result(d, ES_ECANCELLED, "cancelled", "cancelled: nothing was changed in %s",
	                 d->stage->stack);
	if (es_cfn_delete_change_set_call(&call, d->stage->stack, d->cs_name) == ES_OK) {
		call_aws(d, &call, on_cancel_cleanup);
		return;
	}
	es_aws_call_free(&call);
	finish(d);
}

/* ------------------------------------------------------------ execute */

static void on_executed(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	(void)resp;
	if (rc) {
		fail_with_last(d, "ExecuteChangeSet");
		return;
	}
	es_dp_log(d, "executing change set %s on %s", d->cs_name, d->stage->stack);
	d->stacks = calloc(1, sizeof(*d->stacks));
	if (!d->stacks || !(d->stacks[0] = strdup(d->stage->stack))) {
		es_fail(ES_ENOMEM, "out of memory");
		fail_with_last(d, "deploy");
		return;
	}
	d->n_stacks = 1;
	after(d, d->poll_ms / 2, ST_FOLLOW);
}

static void step_execute(struct es_deploy *d)
{
	struct es_aws_call call;
	char token[160];

	/* The same token on a retry means the same execution, never a second. */
	snprintf(token, sizeof(token), "%s-exec", d->cs_name);
	d->st = ST_EXECUTE;
	if (es_cfn_execute_change_set_call(&call, d->stage->stack, d->cs_name, token)) {
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

static void on_events(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_stack_event_page page;
	bool root = d->poll_index == 0;

	if (throttled(d, rc)) {
		after(d, d->backoff_ms, ST_FOLLOW);
		return;
	}
	if (rc) {
		/* A nested stack that is gone is not a reason to stop following. */
		if (!root) {
			d->poll_index++;
			step_poll_events(d);
			return;
		}
		fail_with_last(d, "DescribeStackEvents");
		return;
	}
	if (es_cfn_parse_stack_events(resp->body.data, resp->body.len, &page)) {
		fail_with_last(d, "DescribeStackEvents");
		return;
	}
	/* AWS lists newest first; show oldest first, only this operation's. */
	for (size_t k = page.n; k-- > 0;) {
		struct es_stack_event *e = &page.events[k];
		double t = es_time_parse(e->timestamp);
		if (d->cs_created > 0 && t > 0 && t + 1.0 < d->cs_created)
			continue;
		if (seen_before(d, e->event_id))
			continue;
		remember(d, e->event_id);
		bool is_stack_itself =
		        e->type && strcmp(e->type, "AWS::CloudFormation::Stack") == 0 &&
		        e->physical_id && e->stack_id && strcmp(e->physical_id, e->stack_id) == 0;
		if (e->type && strcmp(e->type, "AWS::CloudFormation::Stack") == 0 &&
		    !is_stack_itself && e->physical_id && *e->physical_id)
			add_stack(d, e->physical_id);
		if (!d->res.root_cause[0] && e->status && strstr(e->status, "FAILED") &&
		    !is_consequence(e->reason))
			snprintf(d->res.root_cause, sizeof(d->res.root_cause), "%s %s: %s",
			         e->logical_id ? e->logical_id : "?", e->status, e->reason);
		struct es_deploy_event ev = {
		        .kind = ES_DEPLOY_STACK_EVENT, .event = e, .nested = !root};
		d->fn(&ev, d->ud);
		if (root && is_stack_itself && !es_cfn_status_in_progress(e->status))
			d->root_settled = true;
	}
	es_stack_event_page_free(&page);
	d->poll_index++;
	step_poll_events(d);
}

/* One round polls the root stack, then each nested stack, then waits. */
static void step_poll_events(struct es_deploy *d)
{
	struct es_aws_call call;

	d->st = ST_FOLLOW;
	if (d->poll_index >= d->n_stacks) {
		d->poll_index = 0;
		if (d->root_settled) {
			/* One more round catches events written just before the end. */
			if (d->empty_polls_after_settle++ >= 1) {
				step_final(d);
				return;
			}
		}
		after(d, d->poll_ms, ST_FOLLOW);
		return;
	}
	if (es_cfn_describe_stack_events_call(&call, d->stacks[d->poll_index], NULL)) {
		es_aws_call_free(&call);
		fail_with_last(d, "DescribeStackEvents");
		return;
	}
	call_aws(d, &call, on_events);
}

/* ------------------------------------------------------------ the end */

static void on_final(struct es_deploy *d, int rc, const struct es_http_response *resp)
{
	struct es_stack st;

	if (throttled(d, rc)) {
		after(d, d->backoff_ms, ST_FINAL);
		return;
	}
	if (rc || es_cfn_parse_stack(resp->body.data, resp->body.len, &st)) {
		fail_with_last(d, "DescribeStacks");
		return;
	}
	if (es_cfn_status_in_progress(st.status)) {
		/* Settled events but a busy stack: keep following. */
		es_stack_free(&st);
		d->root_settled = false;
		d->empty_polls_after_settle = 0;
		after(d, d->poll_ms, ST_FOLLOW);
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
		fail_with_last(d, "DescribeStacks");
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

void es_deploy_free(struct es_deploy *d)
{
	if (!d)
		return;
	if (d->timer)
		es_loop_timer_cancel(d->loop, d->timer);
	if (d->lock_timer)
		es_loop_timer_cancel(d->loop, d->lock_timer);
	es_ledger_free(d->ledger);
	free(d->template_body);
	json_decref(d->artifacts);
	free(d->cs_id);
	es_change_set_free(&d->cs);
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
