/* From a key press to the question: the stage the request goes to, the
 * release rules asked of core at once (a refusal said with what can be done
 * instead: queue the deploy, validate first), the queued deploy, and the
 * dialogs that say what will happen and ask (default No). Running what was
 * answered is actions.c's. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dash.h"
#include "dash/promote_diff.h"
#include "guard_dash.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "validate.h"

static const char *req_name(enum es_request r)
{
	const struct es_request_info *ri = es_request_info(r);
	return ri ? ri->name : "";
}

static const struct es_stage_view *stage_view(struct es_dash *d, const char *name)
{
	for (size_t i = 0; i < es_ui_stage_count(&d->ui); i++)
		if (strcmp(es_ui_stage(&d->ui, i)->name, name) == 0)
			return es_ui_stage(&d->ui, i);
	return NULL;
}

/* ------------------------------------------------------------ asking */

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
	es_act_run(d);
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
	const struct es_stage_conf *sc = es_act_pending_stage(d);
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
		typed = es_act_guarded_stage(d->conf, sc);
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
	es_act_run(d);
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
	        es_config_stage(d->conf, es_act_pending_stage(d)->promotes_from);
	if (!from)
		return;
	d->pending.req = ES_REQ_VALIDATE;
	d->pending.stage = (int)(from - d->conf->stages);
	es_act_run(d);
}

/* The release rules, asked of core when the key is pressed: a refusal is
 * said now, in the dashboard's words, with what can be done instead. */
static bool refused_now(struct es_dash *d)
{
	const char *kind = pending_kind(d);
	const struct es_stage_conf *sc = es_act_pending_stage(d);
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
		const struct es_stage_conf *sc = es_act_pending_stage(d);
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

void es_actions_rollback_to(struct es_dash *d, int stage, const char *oid)
{
	memset(&d->pending, 0, sizeof(d->pending));
	d->pending.req = ES_REQ_ROLLBACK;
	d->pending.stage = stage;
	snprintf(d->pending.oid, sizeof(d->pending.oid), "%s", oid);
	stage_chosen(d);
}

bool es_actions_allowed(struct es_dash *d, enum es_request req)
{
	if (d->cli->read_only) {
		es_dash_message(d, true, "%s is off: edgeship was started with --read-only",
		                req_name(req));
		return false;
	}
	if (req != ES_REQ_REVERT && !d->conf) {
		es_dash_message(d, true, "%s needs edgeship.conf: %s", req_name(req),
		                d->conf_note[0] ? d->conf_note : "run `edgeship init`");
		return false;
	}
	if (req != ES_REQ_REVERT && !d->aws) {
		es_dash_message(d, true, "%s needs AWS: %s", req_name(req), d->credentials);
		return false;
	}
	if (d->deploy) {
		es_dash_message(d, true, "a %s to %s is still running", d->deploy_kind,
		                d->deploy_stage);
		return false;
	}
	return true;
}

void es_actions_request(struct es_dash *d, enum es_request req)
{
	const struct es_hist_commit *c = es_ui_selected_commit(&d->ui);

	if (!es_actions_allowed(d, req))
		return;
	if (req == ES_REQ_DEPLOY && d->queued.active) {
		ask_queue_cancel(d);
		return;
	}
	/* One git writer at a time: two reverts would race for HEAD. */
	if (req == ES_REQ_REVERT && es_act_running_kind(d, ES_ACTION_REVERT)) {
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
