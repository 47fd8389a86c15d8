/* Running the mutating requests once answered (D deploy, A promote,
 * I invalidate, V validate, X roll back, U revert; actions_ask.c asks):
 * the deploy and its second question before the change set executes, the
 * background actions, and quitting while any of them runs. Executing a
 * change set takes y then Enter, production and rollbacks the stage name
 * typed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dash.h"
#include "base/error.h"
#include "validate.h"

/* Production (or any stage another promotes into) asks for its name. */
bool es_act_guarded_stage(const struct es_config *c, const struct es_stage_conf *s)
{
	return es_config_stage_guarded(c, s);
}

const struct es_stage_conf *es_act_pending_stage(struct es_dash *d)
{
	if (!d->conf || d->pending.stage < 0 || (size_t)d->pending.stage >= d->conf->n_stages)
		return NULL;
	return &d->conf->stages[d->pending.stage];
}

static void free_changes(struct es_dash *d)
{
	for (size_t i = 0; i < d->n_changes; i++)
		free(d->changes[i]);
	free(d->changes);
	d->changes = NULL;
	d->n_changes = 0;
}

static void keep_change(struct es_dash *d, const char *line)
{
	char **p = realloc(d->changes, (d->n_changes + 1) * sizeof(*p));
	if (!p)
		return;
	d->changes = p;
	if ((p[d->n_changes] = strdup(line)))
		d->n_changes++;
}

static void on_answer(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;

	(void)dlg;
	(void)text;
	(void)choice;
	if (!d->deploy)
		return;
	es_dash_log(d, ok ? ES_ACT_INFO : ES_ACT_WARN, "%s to %s: %s", d->deploy_kind,
	            d->deploy_stage, ok ? "confirmed, executing the change set" : "answered no");
	es_deploy_answer(d->deploy, ok);
}

/* The engine speaks to the command line too: its "--wait" is a flag the
 * dashboard has no use for; here the stage can be queued with D instead. */
static const char *in_our_words(const char *msg, char *buf, size_t len)
{
	static const char *const hints[] = {" (or use --wait)", " (use --wait)"};

	snprintf(buf, len, "%s", msg);
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		char *at = strstr(buf, hints[i]);
		if (at) {
			char rest[1100];
			snprintf(rest, sizeof(rest), "%s", at + strlen(hints[i]));
			snprintf(at, len - (size_t)(at - buf),
			         "; D offers to queue a deploy until it is Deployed%s", rest);
		}
	}
	return buf;
}

static void on_deploy_event(const struct es_deploy_event *ev, void *ud)
{
	struct es_dash *d = ud;
	char line[600];

	switch (ev->kind) {
	case ES_DEPLOY_LOG: es_dash_log(d, ES_ACT_INFO, "%s: %s", d->deploy_stage, ev->text); break;
	case ES_DEPLOY_PROGRESS: {
		/* a bar on the status line, redrawn as the bytes go out */
		char bar[21];
		int filled = ev->total ? (int)(ev->done * 20 / ev->total) : 0;
		for (int i = 0; i < 20; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[20] = '\0';
		snprintf(d->ui.progress, sizeof(d->ui.progress), "%s to %s: %s [%s] %d%%",
		         d->deploy_kind, d->deploy_stage, ev->text, bar,
		         ev->total ? (int)(ev->done * 100 / ev->total) : 0);
		break;
	}
	case ES_DEPLOY_CHANGES:
		d->ui.progress[0] = '\0';
		free_changes(d);
		/* kept as "action\tid\ttype\treplacement" rows for the table */
		for (size_t i = 0; i < ev->change_set->n_changes; i++) {
			const struct es_change *c = &ev->change_set->changes[i];
			snprintf(line, sizeof(line), "%s\t%s\t%s\t%s", c->action ? c->action : "?",
			         c->logical_id ? c->logical_id : "", c->type ? c->type : "",
			         c->replacement ? c->replacement : "");
			keep_change(d, line);
		}
		if (!ev->change_set->n_changes)
			keep_change(d, "(no resource changes: outputs or parameters only)");
		es_dash_log(d, ES_ACT_INFO, "%s: change set with %zu change%s", d->deploy_stage,
		            ev->change_set->n_changes, ev->change_set->n_changes == 1 ? "" : "s");
		break;
	case ES_DEPLOY_QUESTION: {
		const struct es_stage_conf *sc =
		        d->conf ? es_config_stage(d->conf, d->deploy_stage) : NULL;
		bool typed = (sc && es_act_guarded_stage(d->conf, sc)) ||
		             !strcmp(d->deploy_kind, "rollback");
		char title[128], q[640];
		snprintf(title, sizeof(title), "%s to %s: change set", d->deploy_kind,
		         d->deploy_stage);
		if (typed)
			snprintf(q, sizeof(q), "%s  Type \"%s\" to execute:", ev->text,
			         d->deploy_stage);
		else
			snprintf(q, sizeof(q), "%s", ev->text);
		/* executing takes two deliberate keys (y, Enter) or the stage name */
		struct es_dialog *dlg = es_dialog_new(typed ? ES_DLG_TYPE : ES_DLG_YES_ENTER, title,
		                                      q, on_answer, d);
		if (!dlg) {
			es_deploy_answer(d->deploy, false);
			break;
		}
		dlg->danger = typed;
		snprintf(dlg->expect, sizeof(dlg->expect), "%s", d->deploy_stage);
		for (size_t i = 0; i < d->n_changes; i++) {
			char row[600], *f[4] = {row, NULL, NULL, NULL};
			snprintf(row, sizeof(row), "%s", d->changes[i]);
			for (int k = 1; k < 4 && f[k - 1]; k++)
				if ((f[k] = strchr(f[k - 1], '\t')))
					*f[k]++ = '\0';
			if (f[3])
				es_dialog_change(dlg, f[0], f[1], f[2], *f[3] ? f[3] : NULL);
			else
				es_dialog_body(dlg, d->changes[i]);
		}
		es_dash_push(d, dlg);
		break;
	}
	case ES_DEPLOY_STACK_EVENT: {
		const struct es_stack_event *e = ev->event;
		/* The stack is moving: have the model poll quickly from now. */
		if (!d->deploy_seen_event && d->model) {
			d->deploy_seen_event = true;
			es_model_refresh(d->model);
		}
		const char *t = e->timestamp ? strchr(e->timestamp, 'T') : NULL;
		es_dash_log(d,
		            strstr(e->status ? e->status : "", "FAILED") ? ES_ACT_ERROR
		                                                         : ES_ACT_EVENT,
		            "%s %.8s %s%s %s %s%s%s", d->deploy_stage, t ? t + 1 : "",
		            ev->nested ? "  " : "", e->status ? e->status : "",
		            e->type ? e->type : "", e->logical_id ? e->logical_id : "",
		            e->reason && *e->reason ? ": " : "", e->reason ? e->reason : "");
		break;
	}
	case ES_DEPLOY_DONE: {
		const struct es_deploy_result *r = es_deploy_result(d->deploy);
		d->ui.progress[0] = '\0';
		bool good = !strcmp(r->result, "success") || !strcmp(r->result, "no-changes");
		bool cancelled = !strcmp(r->result, "cancelled");
		es_dash_log(d,
		            good        ? ES_ACT_INFO
		            : cancelled ? ES_ACT_WARN
		                        : ES_ACT_ERROR,
		            "%s to %s: %s: %s", d->deploy_kind, d->deploy_stage, r->result,
		            r->message);
		if (r->root_cause[0])
			es_dash_log(d, ES_ACT_ERROR, "root cause: %s", r->root_cause);
		es_dash_message(d, !good && !cancelled, "%s to %s: %s%s", d->deploy_kind,
		                d->deploy_stage, r->result,
		                !strcmp(r->result, "success")
		                        ? " (invalidate the cache with I to see it at once)"
		                        : "");
		if (!good && !cancelled) {
			char msg[1100];
			struct es_dialog *dlg = es_dialog_new(
			        ES_DLG_MESSAGE,
			        !strcmp(r->result, "refused") ? "Refused" : "Deploy failed",
			        in_our_words(r->message, msg, sizeof(msg)), NULL, NULL);
			if (dlg) {
				if (r->root_cause[0])
					es_dialog_bodyf(dlg, "root cause: %s", r->root_cause);
				es_dash_push(d, dlg);
			}
		}
		d->deploy_done = true;
		if (d->quitting && !strcmp(r->result, "detached"))
			d->exit_code = ES_EXIT_DETACHED;
		if (d->model)
			es_model_refresh(d->model);
		break;
	}
	}
	d->dirty = true;
}

void es_actions_reap(struct es_dash *d)
{
	if (d->deploy && d->deploy_done) {
		es_deploy_free(d->deploy);
		d->deploy = NULL;
		d->deploy_done = false;
		d->deploy_seen_event = false;
		free_changes(d);
	}
}

static void started(struct es_dash *d, int rc, const char *kind, const char *stage)
{
	snprintf(d->deploy_kind, sizeof(d->deploy_kind), "%s", kind);
	snprintf(d->deploy_stage, sizeof(d->deploy_stage), "%s", stage);
	if (rc != ES_OK) {
		char what[128];
		snprintf(what, sizeof(what), "%s to %s", kind, stage);
		es_deploy_free(d->deploy);
		d->deploy = NULL;
		es_dash_fail(d, what);
		return;
	}
	es_dash_log(d, ES_ACT_INFO, "%s to %s started", kind, stage);
}

static void run_deploy(struct es_dash *d)
{
	const struct es_stage_conf *sc = es_act_pending_stage(d);
	struct es_deploy_request req = {
	        .conf = d->conf,
	        .repo = d->repo,
	        .rev = d->pending.oid,
	        .stage = sc->name,
	        .create_bucket = true,
	};
	/* packaging and uploads happen before the first question: say so first */
	snprintf(d->deploy_stage, sizeof(d->deploy_stage), "%s", sc->name);
	es_dash_message(d, false, "packaging %.7s for %s\u2026", d->pending.oid, sc->name);
	d->dirty = true;
	int rc = es_deploy_start(d->aws, &req, on_deploy_event, d, &d->deploy);
	started(d, rc, "deploy", sc->name);
}

static void run_promote(struct es_dash *d)
{
	const struct es_stage_conf *sc = es_act_pending_stage(d);
	int rc = es_promote_start(d->aws, d->conf, sc->name, false, 0, 0, on_deploy_event, d,
	                          &d->deploy);
	started(d, rc, "promotion", sc->name);
}

static void run_rollback(struct es_dash *d)
{
	const struct es_stage_conf *sc = es_act_pending_stage(d);
	/* the guard's own rollback asks nobody (guard_dash.c decided it) */
	int rc = es_rollback_start(d->aws, d->conf, d->repo, sc->name, d->pending.oid,
	                           d->pending.by_guard, 0, 0, on_deploy_event, d, &d->deploy);

	started(d, rc, "rollback", sc->name);
}

/* ------------------------------------------------------------ other actions */

/* Validation, invalidation and its polling, and revert run as background
 * actions (core/action.h): the keys and the screen never wait for the
 * checks, for CloudFront or for git. */

static void forget_job(struct es_dash *d, struct es_action *a)
{
	for (size_t i = 0; i < d->n_jobs; i++)
		if (d->jobs[i] == a) {
			d->jobs[i] = d->jobs[--d->n_jobs];
			return;
		}
}

static bool room_for_job(struct es_dash *d)
{
	if (d->n_jobs < sizeof(d->jobs) / sizeof(d->jobs[0]))
		return true;
	es_fail(ES_EBUSY, "too many actions at once: wait for one to end");
	return false;
}

/* Keep a started action until its outcome. */
static void keep_job(struct es_dash *d, struct es_action *a)
{
	d->jobs[d->n_jobs++] = a;
}

bool es_act_running_kind(const struct es_dash *d, enum es_action_kind kind)
{
	for (size_t i = 0; i < d->n_jobs; i++)
		if (es_action_kind_of(d->jobs[i]) == kind)
			return true;
	return false;
}

static void revert_done(const struct es_action_outcome *o, void *ud)
{
	struct es_dash *d = ud;

	forget_job(d, o->action);
	d->dirty = true;
	if (o->rc != ES_OK) {
		es_error_restore(o->err);
		es_dash_fail(d, "revert");
		return;
	}
	es_dash_log(d, ES_ACT_INFO, "reverted %.7s as %.7s; deploy it with D", o->rev, o->commit);
	es_dash_message(d, false, "new commit %.7s reverts %.7s", o->commit, o->rev);
	es_dash_reload_history(d);
}

static void run_revert(struct es_dash *d)
{
	struct es_action *a = NULL;

	if (!room_for_job(d) ||
	    es_action_revert(d->loop, d->repo, d->pending.oid, revert_done, d, &a) != ES_OK) {
		es_dash_fail(d, "revert");
		return;
	}
	keep_job(d, a);
	es_dash_message(d, false, "reverting %.7s\u2026", d->pending.oid);
}

static void validate_done(const struct es_action_outcome *o, void *ud)
{
	struct es_dash *d = ud;
	const struct es_validation *v = o->validation;

	forget_job(d, o->action);
	d->dirty = true;
	if (o->rc != ES_OK) {
		es_error_restore(o->err);
		es_dash_fail(d, "validation");
		return;
	}
	for (size_t i = 0; i < v->n_checks; i++) {
		const struct es_check_result *r = &v->checks[i].result;
		es_dash_log(d, r->passed ? ES_ACT_INFO : ES_ACT_ERROR,
		            "check %s on %s: %s %ld %.0fms %s", r->name, o->stage,
		            r->passed ? "pass" : "FAIL", r->status, r->latency_ms, r->detail);
	}
	if (v->passed && v->distribution_id[0] && strcmp(v->distribution_status, "Deployed") != 0)
		es_dash_log(d, ES_ACT_WARN,
		            "validation of %s ran while its distribution was %s: it does not count "
		            "for promotion",
		            o->stage, v->distribution_status);
	es_dash_message(d, !v->passed, "validation of %s: %s (%zu check%s)", o->stage,
	                v->passed ? "passed" : "FAILED", v->n_checks, v->n_checks == 1 ? "" : "s");
	if (d->model)
		es_model_refresh(d->model);
}

static void run_validate(struct es_dash *d)
{
	const struct es_stage_conf *sc = es_act_pending_stage(d);
	struct es_action *a = NULL;

	es_dash_message(d, false, "validating %s\u2026", sc->name);
	if (!room_for_job(d) ||
	    es_action_validate(d->aws, d->conf, sc->name, validate_done, d, &a) != ES_OK) {
		es_dash_fail(d, "validation");
		return;
	}
	keep_job(d, a);
}

static void poll_invalidation(struct es_loop *loop, void *ud);

static void poll_done(const struct es_action_outcome *o, void *ud)
{
	struct es_dash *d = ud;

	forget_job(d, o->action);
	if (!d->inv_active)
		return;
	if (o->rc != ES_OK) {
		char line[1400];
		es_dash_log(d, ES_ACT_WARN, "invalidation %s: %s", d->inv.id,
		            es_error_format(o->err, line, sizeof(line)));
	} else {
		d->inv = *o->invalidation;
		if (!strcmp(d->inv.status, "Completed")) {
			es_dash_log(d, ES_ACT_INFO, "invalidation %s completed", d->inv.id);
			d->inv_active = false;
			d->dirty = true;
			return;
		}
	}
	d->inv_timer = es_loop_timer(d->loop, 5000, poll_invalidation, d);
}

static void poll_invalidation(struct es_loop *loop, void *ud)
{
	struct es_dash *d = ud;
	struct es_action *a = NULL;

	(void)loop;
	d->inv_timer = 0;
	if (!d->inv_active)
		return;
	if (!room_for_job(d) ||
	    es_action_poll_invalidation(d->aws, &d->inv, poll_done, d, &a) != ES_OK) {
		d->inv_timer = es_loop_timer(d->loop, 5000, poll_invalidation, d);
		return;
	}
	keep_job(d, a);
}

static void invalidate_done(const struct es_action_outcome *o, void *ud)
{
	struct es_dash *d = ud;

	forget_job(d, o->action);
	d->dirty = true;
	if (o->rc != ES_OK) {
		es_error_restore(o->err);
		es_dash_fail(d, "invalidation");
		return;
	}
	d->inv = *o->invalidation;
	es_dash_log(d, ES_ACT_INFO, "invalidation %s of %s on %s: %s", d->inv.id, o->paths,
	            o->stage, d->inv.status);
	es_dash_message(d, false, "invalidating %s on %s (%s)", o->paths, o->stage, d->inv.id);
	if (strcmp(d->inv.status, "Completed") != 0 && !d->inv_active) {
		d->inv_active = true;
		d->inv_timer = es_loop_timer(d->loop, 5000, poll_invalidation, d);
	}
}

static void run_invalidate(struct es_dash *d)
{
	const struct es_stage_conf *sc = es_act_pending_stage(d);
	char copy[512], *save = NULL;
	const char *paths[32];
	size_t n = 0;
	struct es_action *a = NULL;

	snprintf(copy, sizeof(copy), "%s", d->pending.paths);
	for (char *p = strtok_r(copy, " ,", &save); p && n < 32; p = strtok_r(NULL, " ,", &save))
		paths[n++] = p;
	es_dash_message(d, false, "invalidating %s on %s\u2026", d->pending.paths, sc->name);
	if (!room_for_job(d) || es_action_invalidate(d->aws, d->conf, sc->name, paths, n,
	                                             invalidate_done, d, &a) != ES_OK) {
		es_dash_fail(d, "invalidation");
		return;
	}
	keep_job(d, a);
}

/* ------------------------------------------------------------ running what was asked */

/* Run d->pending (answered yes, or a queued deploy whose stage settled). */
void es_act_run(struct es_dash *d)
{
	switch (d->pending.req) {
	case ES_REQ_DEPLOY: run_deploy(d); break;
	case ES_REQ_PROMOTE: run_promote(d); break;
	case ES_REQ_ROLLBACK: run_rollback(d); break;
	case ES_REQ_REVERT: run_revert(d); break;
	case ES_REQ_VALIDATE: run_validate(d); break;
	case ES_REQ_INVALIDATE: run_invalidate(d); break;
	default: break;
	}
	d->dirty = true;
}

/* ------------------------------------------------------------ quitting */

bool es_actions_running(const struct es_dash *d)
{
	return (d->deploy && !d->deploy_done) || d->n_jobs > 0;
}

/* The deploy queued until its stage settles (actions_ask.c) goes with the
 * console: say so where it is seen, here and once the screen is gone. */
static void drop_queued(struct es_dash *d)
{
	const char *stage = d->conf->stages[d->queued.stage].name;

	d->queued.active = false;
	d->ui.progress[0] = '\0';
	es_dash_log(d, ES_ACT_WARN,
	            "queued deploy of %.7s to %s dropped: the console quit, nothing was sent",
	            d->queued.oid, stage);
	snprintf(d->exit_note, sizeof(d->exit_note),
	         "the queued deploy of %.7s to %s was dropped: it had not started and nothing "
	         "was sent (D in the dashboard, or `edgeship deploy --stage %s --wait`, "
	         "deploys it)",
	         d->queued.oid, stage, stage);
}

static void on_quit_answer(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;

	(void)dlg;
	(void)text;
	(void)choice;
	d->quit_asked = false;
	if (ok)
		es_actions_quit(d, false);
	else if (d->deploy && !d->deploy_done)
		es_dash_message(d, false, "still here: the %s to %s goes on", d->deploy_kind,
		                d->deploy_stage);
	else if (d->queued.active)
		es_dash_message(d, false, "still here: the deploy of %.7s to %s stays queued",
		                d->queued.oid, d->conf->stages[d->queued.stage].name);
	else
		es_dash_message(d, false, "still here");
}

static void ask_quit(struct es_dash *d, bool deploying)
{
	const char *qstage = d->queued.active ? d->conf->stages[d->queued.stage].name : "";
	char q[256];

	if (deploying)
		snprintf(q, sizeof(q), "A %s to %s is running. Quit anyway?", d->deploy_kind,
		         d->deploy_stage);
	else
		snprintf(q, sizeof(q),
		         "A deploy of %.7s to %s is queued and has not started. Quit and drop it?",
		         d->queued.oid, qstage);
	struct es_dialog *dlg = es_dialog_new(ES_DLG_CONFIRM, "Quit", q, on_quit_answer, d);
	if (!dlg)
		return;
	if (deploying) {
		es_dialog_body(dlg, "Before its change set runs, the deploy is cancelled.");
		es_dialog_body(
		        dlg,
		        "After, CloudFormation carries on: the deploy is recorded as detached");
		es_dialog_body(dlg,
		               "and the stage lock released; the first console to see the end");
		es_dialog_body(dlg, "(status, watch, a dashboard) records how it ended.");
	}
	if (d->queued.active) {
		if (deploying)
			es_dialog_bodyf(dlg,
			                "The deploy of %.7s to %s queued meanwhile is dropped.",
			                d->queued.oid, qstage);
		else
			es_dialog_bodyf(dlg, "It waits for %s's distribution to report Deployed.",
			                qstage);
		es_dialog_body(dlg, "Nothing of it has been sent; quitting drops it.");
	}
	d->quit_asked = true;
	es_dash_push(d, dlg);
}

void es_actions_quit(struct es_dash *d, bool ask)
{
	bool deploying = d->deploy && !d->deploy_done;

	if (ask && !d->quitting && (deploying || d->queued.active) && !d->quit_asked) {
		ask_quit(d, deploying);
		return;
	}
	/* asked twice (Ctrl-C again while the question is open): yes */
	if (d->queued.active)
		drop_queued(d);
	if (!es_actions_running(d) || d->quitting) {
		/* nothing to wait for, or asked again while waiting: leave */
		d->quit = true;
		return;
	}
	d->quitting = true;
	d->quit_deadline = es_loop_now_ms() + ES_DASH_QUIT_WAIT_MS;
	if (deploying) {
		es_dash_log(d, ES_ACT_WARN, "%s to %s: detaching, the console is quitting",
		            d->deploy_kind, d->deploy_stage);
		es_deploy_detach(d->deploy, "the console quit");
		es_dash_message(d, false,
		                "quitting: recording where the %s stands and releasing the lock…",
		                d->deploy_kind);
	} else {
		es_dash_message(d, false, "quitting once the running %s ended…",
		                d->n_jobs == 1 ? "action has" : "actions have");
	}
	d->dirty = true;
}

bool es_actions_quit_ready(struct es_dash *d)
{
	if (!d->quitting)
		return false;
	if (!es_actions_running(d))
		return true;
	if (es_loop_now_ms() < d->quit_deadline)
		return false;
	es_dash_log(d, ES_ACT_ERROR,
	            "quitting before the running action recorded its end: `edgeship status` "
	            "records it once it is seen");
	d->exit_code = ES_EXIT_DETACHED;
	return true;
}

void es_actions_free(struct es_dash *d)
{
	es_deploy_free(d->deploy);
	d->deploy = NULL;
	/* Jobs still running end on their own; nobody hears of them. */
	for (size_t i = 0; i < d->n_jobs; i++)
		es_action_abandon(d->jobs[i]);
	d->n_jobs = 0;
	if (d->inv_timer)
		es_loop_timer_cancel(d->loop, d->inv_timer);
	d->inv_timer = 0;
	d->inv_active = false;
	free_changes(d);
}
