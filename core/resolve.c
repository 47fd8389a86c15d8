/* How an abandoned action ended, read from its change set and its stack,
 * and recorded once. One action at a time, on the loop; the blocking form
 * turns the loop until all are looked at. */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "aws/cloudformation.h"
#include "aws/s3.h"
#include "lock.h"
#include "resolve.h"

static bool deploy_like(const char *kind)
{
	return strcmp(kind, "deploy") == 0 || strcmp(kind, "promotion") == 0 ||
	       strcmp(kind, "rollback") == 0;
}

int es_open_actions(const struct es_record_list *recs, struct es_open_action **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (size_t i = recs->n; i-- > 0;) {
		const struct es_record *r = &recs->items[i];
		if (strcmp(r->phase, "intent") != 0 || !deploy_like(r->kind) || !r->open ||
		    !r->action_id[0])
			continue;
		/* Only the newest intent of a stage can still be unresolved in a
		 * way that matters; older ones were overtaken by later actions. */
		bool newer = false;
		for (size_t k = 0; k < *n && !newer; k++)
			newer = strcmp((*out)[k].stage, r->stage) == 0;
		for (size_t j = i + 1; j < recs->n && !newer; j++)
			newer = strcmp(recs->items[j].phase, "intent") == 0 &&
			        deploy_like(recs->items[j].kind) &&
			        strcmp(recs->items[j].stage, r->stage) == 0;
		if (newer)
			continue;
		json_t *o = json_loads(r->json, 0, NULL);
		const char *cs = json_string_value(json_object_get(o, "change_set"));
		const char *stack = json_string_value(json_object_get(o, "stack"));
		if (cs && *cs && stack && *stack) {
			struct es_open_action *a = realloc(*out, (*n + 1) * sizeof(*a));
			if (!a) {
				json_decref(o);
				return es_fail(ES_ENOMEM, "out of memory");
			}
			*out = a;
			a = &a[(*n)++];
			memset(a, 0, sizeof(*a));
			snprintf(a->stage, sizeof(a->stage), "%s", r->stage);
			snprintf(a->stack, sizeof(a->stack), "%s", stack);
			snprintf(a->kind, sizeof(a->kind), "%s", r->kind);
			snprintf(a->action_id, sizeof(a->action_id), "%s", r->action_id);
			snprintf(a->change_set, sizeof(a->change_set), "%s", cs);
			snprintf(a->commit, sizeof(a->commit), "%s", r->commit);
			snprintf(a->release, sizeof(a->release), "%s", r->release);
			a->intent_seq = r->seq;
		}
		json_decref(o);
	}
	return ES_OK;
}

struct resolve_op {
	struct es_aws_client *aws;
	const struct es_config *conf;
	struct es_ledger *ledger;
	struct es_open_action *actions;
	size_t n, i;
	size_t recorded;
	char exec_status[40];
	bool gone; /* the change set does not exist */
	es_resolve_done_fn done;
	void *ud;
};

static void next_action(struct resolve_op *op);

static void op_end(struct resolve_op *op)
{
	es_resolve_done_fn done = op->done;
	void *ud = op->ud;
	size_t recorded = op->recorded;

	free(op->actions);
	free(op);
	done(ES_OK, recorded, ud);
}

static void skip(struct resolve_op *op)
{
	op->i++;
	next_action(op);
}

static void on_recorded(int rc, long seq, void *ud)
{
	struct resolve_op *op = ud;

	(void)seq;
	if (rc == ES_OK)
		op->recorded++;
	skip(op);
}

static void record(struct resolve_op *op, const char *result, const char *stack_status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void record(struct resolve_op *op, const char *result, const char *stack_status,
                   const char *fmt, ...)
{
	const struct es_open_action *a = &op->actions[op->i];
	char msg[700], rid[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Every console that sees the end writes the same record id: the
	 * ledger keeps it once. */
	snprintf(rid, sizeof(rid), "%s:outcome", a->action_id);
	json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:b}", "record_id",
	                      rid, "kind", a->kind, "phase", "outcome", "action_id", a->action_id,
	                      "stage", a->stage, "commit", a->commit, "release", a->release,
	                      "intent_seq", (json_int_t)a->intent_seq, "result", result, "message",
	                      msg, "stack_status", stack_status, "change_set", a->change_set,
	                      "recorded_later", 1);
	if (!r || es_ledger_append_async(op->ledger, r, true, on_recorded, op) != ES_OK) {
		json_decref(r);
		skip(op);
		return;
	}
	json_decref(r);
}

static void on_stack(int rc, const struct es_http_response *resp, const struct es_error *err,
                     void *ud)
{
	struct resolve_op *op = ud;
	const struct es_open_action *a = &op->actions[op->i];
	struct es_stack st;

	(void)err;
	if (rc || es_cfn_parse_stack(resp->body.data, resp->body.len, &st) != ES_OK) {
		skip(op);
		return;
	}
	if (es_cfn_status_in_progress(st.status)) {
		es_stack_free(&st);
		skip(op); /* not over yet */
		return;
	}
	bool ok = strcmp(op->exec_status, "EXECUTE_COMPLETE") == 0;
	char status[64];
	snprintf(status, sizeof(status), "%s", st.status);
	es_stack_free(&st);
	if (ok)
		record(op, "success", status,
		       "%s %s: %s (its console stopped following; seen later)", a->stage, a->stack,
		       status);
	else
		record(op, "failed", status,
		       "%s %s ended %s (its console stopped following; seen later)", a->stage,
		       a->stack, status);
}

static void on_lock(int rc, const struct es_http_response *resp, const struct es_error *err,
                    void *ud)
{
	struct resolve_op *op = ud;
	const struct es_open_action *a = &op->actions[op->i];

	if (rc == ES_OK) {
		struct es_lock_info h;
		es_lock_parse_answer(resp, &h);
		/* Its console still holds the stage: it may be asking its operator
		 * right now, and records the end itself. */
		if (!h.expired && (!h.action_id[0] || strcmp(h.action_id, a->action_id) == 0)) {
			skip(op);
			return;
		}
	} else if (!es_s3_not_found(rc, err)) {
		skip(op);
		return;
	}
	if (op->gone)
		record(op, "cancelled", "",
		       "the %s never ran: its change set %s does not exist (its console "
		       "stopped before executing it)",
		       a->kind, a->change_set);
	else
		record(op, "cancelled", "",
		       "the %s never ran: change set %s was not executed (%s) before its "
		       "console stopped",
		       a->kind, a->change_set, op->exec_status);
}

/* The action's stage, and the client of its account. */
static const struct es_stage_conf *stage_of(struct resolve_op *op)
{
	const struct es_stage_conf *sc = es_config_stage(op->conf, op->actions[op->i].stage);

	return sc ? sc : &op->conf->stages[0];
}

static struct es_aws_client *stage_aws(struct resolve_op *op)
{
	return es_accounts_client(op->aws, op->conf, stage_of(op));
}

/* Not executed: whether it was abandoned depends on its console, which
 * holds the stage lock while it lives. */
static void check_lock(struct resolve_op *op)
{
	struct es_aws_call call;
	char key[600];

	es_lock_key(op->conf, op->actions[op->i].stage, key, sizeof(key));
	if (es_s3_get_object_call(&call,
	                          stage_of(op)->bucket ? stage_of(op)->bucket : op->conf->bucket,
	                          key) == ES_OK &&
	    stage_aws(op) && es_aws_send(stage_aws(op), &call, on_lock, op) == ES_OK)
		return;
	es_aws_call_free(&call);
	skip(op);
}

static void on_change_set(int rc, const struct es_http_response *resp, const struct es_error *err,
                          void *ud)
{
	struct resolve_op *op = ud;
	const struct es_open_action *a = &op->actions[op->i];
	struct es_change_set cs;
	struct es_aws_call call;

	op->gone = false;
	op->exec_status[0] = '\0';
	if (rc) {
		/* Gone: it was never created, or deleted unexecuted. */
		if (err && (strcmp(err->code, "ChangeSetNotFound") == 0 ||
		            strcmp(err->code, "ChangeSetNotFoundException") == 0 ||
		            (strcmp(err->code, "ValidationError") == 0 &&
		             strstr(err->message, "does not exist")))) {
			op->gone = true;
			check_lock(op);
		} else {
			skip(op);
		}
		return;
	}
	if (es_cfn_parse_change_set(resp->body.data, resp->body.len, &cs) != ES_OK) {
		skip(op);
		return;
	}
	snprintf(op->exec_status, sizeof(op->exec_status), "%s",
	         cs.execution_status ? cs.execution_status : "");
	es_change_set_free(&cs);
	if (strcmp(op->exec_status, "EXECUTE_COMPLETE") == 0 ||
	    strcmp(op->exec_status, "EXECUTE_FAILED") == 0) {
		/* Executed and ended: the stack's status says how, whoever
		 * follows it (a live console writes the same record id). */
		if (es_cfn_describe_stacks_call(&call, a->stack) == ES_OK && stage_aws(op) &&
		    es_aws_send(stage_aws(op), &call, on_stack, op) == ES_OK)
			return;
		es_aws_call_free(&call);
		skip(op);
		return;
	}
	if (strcmp(op->exec_status, "EXECUTE_IN_PROGRESS") == 0 || !op->exec_status[0]) {
		skip(op);
		return;
	}
	/* AVAILABLE, OBSOLETE, UNAVAILABLE: never executed. */
	check_lock(op);
}

static void next_action(struct resolve_op *op)
{
	struct es_aws_call call;
	const struct es_open_action *a;

	if (op->i >= op->n) {
		op_end(op);
		return;
	}
	a = &op->actions[op->i];
	/* Followed by this very process (a dashboard's own deploy): it
	 * records the end itself, with its own words. */
	if (es_lock_held_here(a->action_id)) {
		skip(op);
		return;
	}
	if (es_cfn_describe_change_set_call(&call, a->stack, a->change_set, NULL) == ES_OK &&
	    stage_aws(op) && es_aws_send(stage_aws(op), &call, on_change_set, op) == ES_OK)
		return;
	es_aws_call_free(&call);
	skip(op);
}

int es_resolve_start(struct es_aws_client *aws, const struct es_config *conf,
                     struct es_ledger *ledger, const struct es_record_list *recs,
                     es_resolve_done_fn done, void *ud)
{
	struct resolve_op *op = calloc(1, sizeof(*op));
	int rc;

	if (!op)
		return es_fail(ES_ENOMEM, "out of memory");
	rc = es_open_actions(recs, &op->actions, &op->n);
	if (rc || op->n == 0) {
		free(op->actions);
		free(op);
		if (!rc)
			done(ES_OK, 0, ud);
		return rc;
	}
	op->aws = aws;
	op->conf = conf;
	op->ledger = ledger;
	op->done = done;
	op->ud = ud;
	next_action(op);
	return ES_OK;
}

struct wait {
	bool done;
	size_t recorded;
};

static void waited(int rc, size_t recorded, void *ud)
{
	struct wait *w = ud;

	(void)rc;
	w->done = true;
	w->recorded = recorded;
}

int es_resolve(struct es_aws_client *aws, const struct es_config *conf, struct es_ledger *ledger,
               const struct es_record_list *recs, size_t *recorded)
{
	struct wait w = {0};
	int rc = es_resolve_start(aws, conf, ledger, recs, waited, &w);

	while (!rc && !w.done)
		rc = es_loop_turn_quiet(es_aws_loop(aws), 1000);
	if (recorded)
		*recorded = w.recorded;
	return rc;
}
