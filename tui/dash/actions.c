/* The mutating requests: D deploy, A promote, I invalidate, V validate,
 * X roll back, U revert. Each says what will happen and asks (default No);
 * executing a change set takes y then Enter, production and rollbacks the
 * stage name typed; --read-only turns them all off; refusals from the
 * engine are shown with their reason. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dash.h"
#include "dash/promote_diff.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "validate.h"

static const char *req_name(enum es_request r)
{
	const struct es_request_info *ri = es_request_info(r);
	return ri ? ri->name : "";
}

/* Production (or any stage another promotes into) asks for its name. */
static bool guarded_stage(const struct es_config *c, const struct es_stage_conf *s)
{
	return strstr(s->name, "prod") != NULL || s->promotes_from != NULL ||
	       (c->n_stages > 1 && s == &c->stages[c->n_stages - 1]);
}

static const struct es_stage_conf *pending_stage(struct es_dash *d)
{
	if (!d->conf || d->pending.stage < 0 || (size_t)d->pending.stage >= d->conf->n_stages)
		return NULL;
	return &d->conf->stages[d->pending.stage];
}

static const struct es_stage_view *stage_view(struct es_dash *d, const char *name)
{
	for (size_t i = 0; i < es_ui_stage_count(&d->ui); i++)
		if (strcmp(es_ui_stage(&d->ui, i)->name, name) == 0)
			return es_ui_stage(&d->ui, i);
	return NULL;
}

/* ------------------------------------------------------------ deploys */

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
		bool typed =
		        (sc && guarded_stage(d->conf, sc)) || !strcmp(d->deploy_kind, "rollback");
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
	const struct es_stage_conf *sc = pending_stage(d);
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
	const struct es_stage_conf *sc = pending_stage(d);
	int rc = es_promote_start(d->aws, d->conf, sc->name, false, 0, 0, on_deploy_event, d,
	                          &d->deploy);
	started(d, rc, "promotion", sc->name);
}

static void run_rollback(struct es_dash *d)
{
	const struct es_stage_conf *sc = pending_stage(d);
	int rc = es_rollback_start(d->aws, d->conf, d->repo, sc->name, d->pending.oid, false, 0, 0,
	                           on_deploy_event, d, &d->deploy);

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

static bool running(const struct es_dash *d, enum es_action_kind kind)
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
	const struct es_stage_conf *sc = pending_stage(d);
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
	const struct es_stage_conf *sc = pending_stage(d);
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

/* ------------------------------------------------------------ asking */

static void run_pending(struct es_dash *d)
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

static void on_confirm(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;

	(void)dlg;
	(void)text;
	(void)choice;
	if (!ok) {
		es_dash_message(d, false, "%s cancelled: nothing was sent",
		                req_name(d->pending.req));
		return;
	}
	run_pending(d);
}

/* What the promotion changes on sc: from the commit it runs to the one
 * the previous stage runs. Bounded libgit2 work on the local repository. */
static void promote_changes(struct es_dash *d, struct es_dialog *dlg,
                            const struct es_stage_conf *sc)
{
	const struct es_stage_view *from = stage_view(d, sc->promotes_from);
	const struct es_stage_view *to = stage_view(d, sc->name);
	const char *now = to ? to->commit : "";
	struct es_repo_compare c;

	if (!d->repo || !from || !from->commit[0]) {
		es_dialog_body(dlg, "");
		es_dialog_bodyf(dlg, "The commit %s runs is not known: no comparison.",
		                sc->promotes_from);
		return;
	}
	if (!now[0] && !(to && strcmp(to->stack_status, "NOT_DEPLOYED") == 0)) {
		es_dialog_body(dlg, "");
		es_dialog_bodyf(dlg, "The commit %s runs is not known: no comparison.", sc->name);
		return;
	}
	if (es_repo_compare(d->repo, now, from->commit, d->conf->template_path,
	                    ES_PROMOTE_MAX_COMMITS, ES_PROMOTE_MAX_FILES, &c) != ES_OK) {
		es_dialog_body(dlg, "");
		es_dialog_bodyf(dlg, "No comparison with what %s runs: %s", sc->name,
		                es_error_last()->message);
		return;
	}
	es_promote_diff_body(dlg, &c, sc->name, now, from->commit, d->conf->template_path);
	es_repo_compare_free(&c);
}

static void confirm(struct es_dash *d)
{
	const struct es_stage_conf *sc = pending_stage(d);
	const struct es_hist_commit *c = es_ui_selected_commit(&d->ui);
	const char *sum = c && !strcmp(c->oid, d->pending.oid) ? c->summary : "";
	bool typed = false;
	char title[128], q[1024];
	struct es_dialog *dlg;

	switch (d->pending.req) {
	case ES_REQ_DEPLOY:
		snprintf(title, sizeof(title), "Deploy to %s", sc->name);
		snprintf(q, sizeof(q), "Prepare a deploy of %.7s to %s?", d->pending.oid, sc->name);
		break;
	case ES_REQ_PROMOTE: {
		const struct es_stage_view *from = stage_view(d, sc->promotes_from);
		snprintf(title, sizeof(title), "Promote to %s", sc->name);
		snprintf(q, sizeof(q), "Promote %s's release %s to %s?", sc->promotes_from,
		         from && from->release[0] ? from->release : "(unknown)", sc->name);
		break;
	}
	case ES_REQ_ROLLBACK:
		snprintf(title, sizeof(title), "Roll %s back", sc->name);
		snprintf(q, sizeof(q), "Roll %s back to %.7s? Type \"%s\" to go on:", sc->name,
		         d->pending.oid, sc->name);
		typed = true;
		break;
	case ES_REQ_REVERT:
		snprintf(title, sizeof(title), "Revert a commit");
		snprintf(q, sizeof(q), "Create a commit that reverts %.7s on the current branch?",
		         d->pending.oid);
		break;
	case ES_REQ_VALIDATE:
		snprintf(title, sizeof(title), "Validate %s", sc->name);
		snprintf(q, sizeof(q), "Run %s's checks now and record the result?", sc->name);
		break;
	case ES_REQ_INVALIDATE:
		snprintf(title, sizeof(title), "Invalidate %s", sc->name);
		typed = guarded_stage(d->conf, sc);
		if (typed)
			snprintf(q, sizeof(q),
			         "Invalidate %s on %s? Type \"%s\" to go on:", d->pending.paths,
			         sc->name, sc->name);
		else
			snprintf(q, sizeof(q), "Invalidate %s on %s?", d->pending.paths, sc->name);
		break;
	default: return;
	}
	dlg = es_dialog_new(typed ? ES_DLG_TYPE : ES_DLG_CONFIRM, title, q, on_confirm, d);
	if (!dlg)
		return;
	dlg->danger = typed;
	if (sc)
		snprintf(dlg->expect, sizeof(dlg->expect), "%s", sc->name);
	switch (d->pending.req) {
	case ES_REQ_DEPLOY:
		es_dialog_bodyf(dlg, "commit  %.12s %s", d->pending.oid, sum);
		es_dialog_bodyf(dlg, "stack   %s", sc->stack ? sc->stack : "");
		es_dialog_body(dlg, "");
		es_dialog_body(dlg, "1. package the commit's tree (not the working directory)");
		es_dialog_body(dlg, "2. upload what the bucket lacks (creating the bucket if");
		es_dialog_body(dlg, "   there is none yet), create a change set");
		es_dialog_body(dlg, "3. show the change set and ask again before executing");
		break;
	case ES_REQ_ROLLBACK:
		es_dialog_bodyf(dlg, "commit  %.12s %s", d->pending.oid, sum);
		es_dialog_body(dlg,
		               "The release recorded for this commit is redeployed (no rebuild);");
		es_dialog_body(dlg, "you see the change set and confirm once more before it runs.");
		break;
	case ES_REQ_PROMOTE:
		es_dialog_body(dlg,
		               "Exactly the artifact validated in the previous stage is deployed;");
		es_dialog_body(dlg, "the change set is shown next and needs the stage name typed.");
		promote_changes(d, dlg, sc);
		break;
	case ES_REQ_REVERT:
		es_dialog_bodyf(dlg, "commit  %.12s %s", d->pending.oid, sum);
		es_dialog_body(dlg, "The new commit flows through the stages like any other.");
		break;
	case ES_REQ_VALIDATE: {
		const struct es_stage_view *s = stage_view(d, sc->name);
		if (s && (s->propagation == ES_PROP_IN_PROGRESS || s->busy))
			es_dialog_bodyf(dlg,
			                "Warning: %s is %s. Some edges may still serve the old "
			                "release, so results may come from them; this validation "
			                "does not count for promotion.",
			                sc->name,
			                s->busy ? "still being deployed"
			                        : "InProgress (the distribution has not reached "
			                          "every edge)");
		break;
	}
	default: break;
	}
	es_dash_push(d, dlg);
}

static bool check_paths(const char *input, char *why, size_t len)
{
	char copy[512], *save = NULL;
	const char *paths[32];
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", input);
	for (char *p = strtok_r(copy, " ,", &save); p && n < 32; p = strtok_r(NULL, " ,", &save))
		paths[n++] = p;
	if (!n) {
		snprintf(why, len, "give at least one path, e.g. /*");
		return false;
	}
	if (es_invalidation_check_paths(paths, n) != ES_OK) {
		snprintf(why, len, "%s", es_error_last()->message);
		return false;
	}
	return true;
}

static void on_paths(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;

	(void)dlg;
	(void)choice;
	if (!ok) {
		es_dash_message(d, false, "invalidate cancelled: nothing was sent");
		return;
	}
	snprintf(d->pending.paths, sizeof(d->pending.paths), "%s", text);
	confirm(d);
}

/* ------------------------------------------------------------ refusing early */

static const char *pending_kind(const struct es_dash *d)
{
	switch (d->pending.req) {
	case ES_REQ_DEPLOY: return "deploy";
	case ES_REQ_PROMOTE: return "promotion";
	case ES_REQ_ROLLBACK: return "rollback";
	default: return NULL;
	}
}

static void say_queue(struct es_dash *d)
{
	const struct es_stage_conf *sc = &d->conf->stages[d->queued.stage];

	snprintf(d->ui.progress, sizeof(d->ui.progress),
	         "queued: deploy %.7s to %s when its distribution is Deployed (D cancels)",
	         d->queued.oid, sc->name);
}

static void queue_deploy(struct es_dash *d)
{
	d->queued.active = true;
	d->queued.stage = d->pending.stage;
	d->queued.since = es_time_now();
	snprintf(d->queued.oid, sizeof(d->queued.oid), "%s", d->pending.oid);
	es_dash_log(d, ES_ACT_INFO,
	            "deploy of %.7s to %s queued: it starts by itself when %s's distribution "
	            "reports Deployed (D cancels)",
	            d->queued.oid, d->conf->stages[d->queued.stage].name,
	            d->conf->stages[d->queued.stage].name);
	say_queue(d);
}

void es_actions_tick(struct es_dash *d)
{
	char why[512];

	if (!d->queued.active || !d->model || d->deploy || d->n_dialogs)
		return;
	const struct es_stage_conf *sc = &d->conf->stages[d->queued.stage];
	const struct es_stage_view *s = stage_view(d, sc->name);
	if (!s || s->propagation != ES_PROP_DEPLOYED ||
	    es_model_check(d->model, "deploy", sc->name, d->queued.oid, why, sizeof(why)) !=
	            ES_OK) {
		say_queue(d);
		return;
	}
	d->queued.active = false;
	d->ui.progress[0] = '\0';
	memset(&d->pending, 0, sizeof(d->pending));
	d->pending.req = ES_REQ_DEPLOY;
	d->pending.stage = (int)(sc - d->conf->stages);
	snprintf(d->pending.oid, sizeof(d->pending.oid), "%s", d->queued.oid);
	es_dash_log(d, ES_ACT_INFO,
	            "%s's distribution is Deployed: the queued deploy of %.7s starts", sc->name,
	            d->pending.oid);
	run_deploy(d);
	d->dirty = true;
}

static void on_queue_cancel(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;

	(void)dlg;
	(void)text;
	(void)choice;
	if (!ok || !d->queued.active)
		return;
	d->queued.active = false;
	d->ui.progress[0] = '\0';
	es_dash_log(d, ES_ACT_WARN, "queued deploy of %.7s to %s cancelled: nothing was sent",
	            d->queued.oid, d->conf->stages[d->queued.stage].name);
	es_dash_message(d, false, "queued deploy cancelled");
}

static void ask_queue_cancel(struct es_dash *d)
{
	char q[256];

	snprintf(q, sizeof(q), "A deploy of %.7s to %s waits for Deployed. Cancel it?",
	         d->queued.oid, d->conf->stages[d->queued.stage].name);
	es_dash_push(d, es_dialog_new(ES_DLG_CONFIRM, "Queued deploy", q, on_queue_cancel, d));
}

/* What the refusal offers: the first choice of its dialog. */
enum offer { OFFER_NONE, OFFER_QUEUE, OFFER_VALIDATE };

static void on_offer(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;
	enum offer what = (enum offer)d->pending.offer;

	(void)dlg;
	(void)text;
	if (!ok || choice != 0 || what == OFFER_NONE) {
		es_dash_message(d, false, "%s: nothing was sent", req_name(d->pending.req));
		return;
	}
	if (what == OFFER_QUEUE) {
		queue_deploy(d);
		return;
	}
	const struct es_stage_conf *from =
	        es_config_stage(d->conf, pending_stage(d)->promotes_from);
	if (!from)
		return;
	d->pending.req = ES_REQ_VALIDATE;
	d->pending.stage = (int)(from - d->conf->stages);
	run_validate(d);
}

/* The release rules, asked of core when the key is pressed: a refusal is
 * said now, in the dashboard's words, with what can be done instead. */
static bool refused_now(struct es_dash *d)
{
	const char *kind = pending_kind(d);
	const struct es_stage_conf *sc = pending_stage(d);
	char why[512], title[128];
	enum offer what = OFFER_NONE;

	if (!kind || !d->model || !sc)
		return false;
	int rc = es_model_check(d->model, kind, sc->name, d->pending.oid[0] ? d->pending.oid : NULL,
	                        why, sizeof(why));
	if (rc == ES_OK)
		return false;
	if (rc == ES_EBUSY && d->pending.req == ES_REQ_DEPLOY)
		what = OFFER_QUEUE;
	else if (rc == ES_EREFUSED && d->pending.req == ES_REQ_PROMOTE &&
	         strstr(why, "not validated"))
		what = OFFER_VALIDATE;
	es_dash_log(d, ES_ACT_WARN, "%s to %s not started: %s", kind, sc->name, why);
	snprintf(title, sizeof(title), "%s to %s: %s", kind, sc->name,
	         rc == ES_EBUSY ? "not now" : "refused");
	struct es_dialog *dlg = es_dialog_new(what == OFFER_NONE ? ES_DLG_MESSAGE : ES_DLG_CHOOSE,
	                                      title, why, on_offer, d);
	if (!dlg)
		return true;
	es_dialog_body(dlg, "Nothing was sent.");
	if (what == OFFER_QUEUE) {
		es_dialog_body(dlg, "Queued, the deploy starts by itself when the distribution "
		                    "reports Deployed; D cancels it meanwhile.");
		es_dialog_choice(dlg, "queue: deploy when Deployed");
		es_dialog_choice(dlg, "cancel");
	} else if (what == OFFER_VALIDATE) {
		char v[96];
		es_dialog_body(dlg, "Promote once its checks pass.");
		snprintf(v, sizeof(v), "V validates %s now", sc->promotes_from);
		es_dialog_choice(dlg, v);
		es_dialog_choice(dlg, "cancel");
	}
	d->pending.offer = what;
	es_dash_push(d, dlg);
	return true;
}

/* Stage chosen: ask for paths (invalidate) or confirm. */
static void stage_chosen(struct es_dash *d)
{
	if (refused_now(d))
		return;
	if (d->pending.req == ES_REQ_INVALIDATE) {
		const struct es_stage_conf *sc = pending_stage(d);
		char q[160];
		snprintf(q, sizeof(q), "Paths to invalidate on %s (space separated):", sc->name);
		struct es_dialog *dlg = es_dialog_new(ES_DLG_PROMPT, "Invalidate", q, on_paths, d);
		if (!dlg)
			return;
		snprintf(dlg->input, sizeof(dlg->input), "/*");
		dlg->check = check_paths;
		es_dash_push(d, dlg);
		return;
	}
	confirm(d);
}

static bool stage_fits(struct es_dash *d, const struct es_stage_conf *s)
{
	switch (d->pending.req) {
	case ES_REQ_DEPLOY: return s->promotes_from == NULL;
	case ES_REQ_PROMOTE: return s->promotes_from != NULL;
	default: return true;
	}
}

static void on_stage(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;
	int k = 0;

	(void)text;
	if (!ok) {
		es_dash_message(d, false, "%s cancelled: nothing was sent",
		                req_name(d->pending.req));
		return;
	}
	for (size_t i = 0; i < d->conf->n_stages; i++)
		if (stage_fits(d, &d->conf->stages[i]) && k++ == choice) {
			d->pending.stage = (int)i;
			stage_chosen(d);
			return;
		}
	(void)dlg;
}

/* The stage: the selected one when it fits, the only one that fits, or ask. */
static void choose_stage(struct es_dash *d)
{
	int sel = es_ui_selected_stage(&d->ui), fits = 0, last = -1;
	bool pointed = d->ui.focus == ES_PANE_STAGES || d->ui.focus == ES_PANE_PROPAGATION ||
	               d->ui.focus == ES_PANE_VALIDATION;

	if (pointed && sel >= 0 && (size_t)sel < d->conf->n_stages &&
	    es_ui_stage_count(&d->ui) == d->conf->n_stages &&
	    stage_fits(d, &d->conf->stages[sel])) {
		d->pending.stage = sel;
		stage_chosen(d);
		return;
	}
	for (size_t i = 0; i < d->conf->n_stages; i++)
		if (stage_fits(d, &d->conf->stages[i])) {
			fits++;
			if (last < 0)
				last = (int)i;
		}
	if (fits == 0) {
		es_dash_message(d, true, "%s: no stage in edgeship.conf takes it",
		                req_name(d->pending.req));
		return;
	}
	/* deploy goes to the first stage that takes commits; the others ask */
	if (fits == 1 || d->pending.req == ES_REQ_DEPLOY || d->pending.req == ES_REQ_PROMOTE) {
		if (fits == 1 || d->pending.req == ES_REQ_PROMOTE) {
			d->pending.stage = last;
			stage_chosen(d);
			return;
		}
	}
	struct es_dialog *dlg = es_dialog_new(ES_DLG_CHOOSE, "Stage", "Which stage?", on_stage, d);
	if (!dlg)
		return;
	for (size_t i = 0; i < d->conf->n_stages; i++)
		if (stage_fits(d, &d->conf->stages[i]))
			es_dialog_choice(dlg, d->conf->stages[i].name);
	es_dash_push(d, dlg);
}

void es_actions_request(struct es_dash *d, enum es_request req)
{
	const struct es_hist_commit *c = es_ui_selected_commit(&d->ui);

	if (d->cli->read_only) {
		es_dash_message(d, true, "%s is off: edgeship was started with --read-only",
		                req_name(req));
		return;
	}
	if (req != ES_REQ_REVERT && !d->conf) {
		es_dash_message(d, true, "%s needs edgeship.conf: %s", req_name(req),
		                d->conf_note[0] ? d->conf_note : "run `edgeship init`");
		return;
	}
	if (req != ES_REQ_REVERT && !d->aws) {
		es_dash_message(d, true, "%s needs AWS: %s", req_name(req), d->credentials);
		return;
	}
	if (d->deploy) {
		es_dash_message(d, true, "a %s to %s is still running", d->deploy_kind,
		                d->deploy_stage);
		return;
	}
	if (req == ES_REQ_DEPLOY && d->queued.active) {
		ask_queue_cancel(d);
		return;
	}
	/* One git writer at a time: two reverts would race for HEAD. */
	if (req == ES_REQ_REVERT && running(d, ES_ACTION_REVERT)) {
		es_dash_message(d, true, "a revert is still running");
		return;
	}
	memset(&d->pending, 0, sizeof(d->pending));
	d->pending.req = req;
	d->pending.stage = -1;
	if (req == ES_REQ_DEPLOY || req == ES_REQ_ROLLBACK || req == ES_REQ_REVERT) {
		if (!c) {
			es_dash_message(d, true, "%s: select a commit in the History pane first",
			                req_name(req));
			return;
		}
		snprintf(d->pending.oid, sizeof(d->pending.oid), "%s", c->oid);
	}
	if (req == ES_REQ_REVERT) {
		confirm(d);
		return;
	}
	choose_stage(d);
}

/* ------------------------------------------------------------ quitting */

bool es_actions_running(const struct es_dash *d)
{
	return (d->deploy && !d->deploy_done) || d->n_jobs > 0;
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
	else
		es_dash_message(d, false, "still here: the %s to %s goes on", d->deploy_kind,
		                d->deploy_stage);
}

static void ask_quit(struct es_dash *d)
{
	char q[256];

	snprintf(q, sizeof(q), "A %s to %s is running. Quit anyway?", d->deploy_kind,
	         d->deploy_stage);
	struct es_dialog *dlg = es_dialog_new(ES_DLG_CONFIRM, "Quit", q, on_quit_answer, d);
	if (!dlg)
		return;
	es_dialog_body(dlg, "Before its change set runs, the deploy is cancelled.");
	es_dialog_body(dlg, "After, CloudFormation carries on: the deploy is recorded as detached");
	es_dialog_body(dlg, "and the stage lock released; the first console to see the end");
	es_dialog_body(dlg, "(status, watch, a dashboard) records how it ended.");
	d->quit_asked = true;
	es_dash_push(d, dlg);
}

void es_actions_quit(struct es_dash *d, bool ask)
{
	if (!es_actions_running(d) || d->quitting) {
		/* nothing to wait for, or asked again while waiting: leave */
		d->quit = true;
		return;
	}
	bool deploying = d->deploy && !d->deploy_done;
	if (ask && deploying) {
		if (!d->quit_asked) {
			ask_quit(d);
			return;
		}
		/* asked twice (Ctrl-C again while the question is open): yes */
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
