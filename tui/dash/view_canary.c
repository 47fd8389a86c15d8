/* The canary view (c): the selected stage's primary and staging
 * distributions side by side (status, the function each runs, CloudWatch
 * figures), the policy and the release staging runs, as `edgeship canary
 * status` shows them; and its keys: C starts a canary on the selected stage,
 * and in the view W widens, K checks a header canary, A promotes (then
 * deploys the release to the stack), Z discards. Every read and change runs
 * on a job, so the screen never waits; c again reloads. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "canary_conf.h"
#include "dash.h"
#include "job.h"
#include "validate.h"

#define TITLE "Canary "

struct cn_load {
	struct es_dash *d;
	const struct es_config *conf;
	char stage[64];
	struct es_canary_status st;
	struct es_canary_figures pf, sf;
	bool figures;
	char figures_why[256];
};

static int load(struct es_job *job, void *arg)
{
	struct cn_load *l = arg;
	int rc = es_canary_status(es_job_aws(job), l->conf, l->stage, &l->st);

	if (rc)
		return rc;
	l->figures = es_canary_figures(es_job_aws(job), l->conf, &l->st, &l->pf, &l->sf) == ES_OK;
	if (!l->figures)
		snprintf(l->figures_why, sizeof(l->figures_why), "%s", es_error_last()->message);
	return ES_OK;
}

static enum es_area status_area(const char *status)
{
	if (!status || !*status)
		return ES_AREA_STAGE_UNKNOWN;
	return strcmp(status, "Deployed") == 0 ? ES_AREA_STAGE_OK : ES_AREA_STAGE_BUSY;
}

static void add_side(struct es_pager *p, const char *who, const char *id, const char *status,
                     const char *lambda, const struct es_canary_figures *f, bool figures)
{
	es_pager_addf(p, status_area(status), "  %-8s %-16s %-11s %s", who, id,
	              status && *status ? status : "-", lambda && *lambda ? lambda : "-");
	if (!figures)
		return;
	if (!f->have)
		es_pager_add(p, ES_AREA_HINT, "           no CloudWatch figures yet");
	else
		es_pager_addf(p, f->errors_5xx > 0 ? ES_AREA_CHECK_FAIL : ES_AREA_NORMAL,
		              "           %.0f requests, %.0f 5xx (%.1f%%), %.0f Lambda errors  %s",
		              f->requests, f->errors_5xx, f->rate_5xx, f->lambda_errors, f->line);
}

static struct es_pager *render(struct es_dash *d, const struct cn_load *l)
{
	const struct es_canary_status *s = &l->st;
	char title[96], desc[300];
	struct es_pager *p;

	snprintf(title, sizeof(title), TITLE "%s", s->stage);
	p = es_pager_new(&d->ui, title);
	if (!p)
		return NULL;
	add_side(p, "primary", s->primary_id, s->primary_status, s->primary_lambda, &l->pf,
	         l->figures);
	if (!s->staging_id[0]) {
		es_pager_add(p, ES_AREA_NORMAL, "");
		es_pager_addf(p, ES_AREA_HINT,
		              "%s has no canary: C starts one (its canary key: %s)", s->stage,
		              "see edgeship.conf");
		return p;
	}
	add_side(p, "staging", s->staging_id, s->staging_status, s->staging_lambda, &l->sf,
	         l->figures);
	if (!l->figures)
		es_pager_addf(p, ES_AREA_HINT, "  figures: CloudWatch did not answer (%s)",
		              l->figures_why);
	es_pager_add(p, ES_AREA_NORMAL, "");
	es_canary_describe(&s->traffic, desc, sizeof(desc));
	if (s->enabled)
		es_pager_addf(p, ES_AREA_MARKER_PENDING,
		              "canary on: %s goes to staging, which runs release %s (%.7s)", desc,
		              s->release[0] ? s->release : "-", s->commit);
	else
		es_pager_addf(p, ES_AREA_NORMAL,
		              "canary off: policy %s disabled, every request goes to the primary",
		              s->policy_id[0] ? s->policy_id : "-");
	es_pager_add(p, ES_AREA_HINT,
	             "  A promotes, W widens, K checks (header canary), Z discards, C starts, c "
	             "reloads");
	return p;
}

static bool in_view(const struct es_dash *d)
{
	return d->pager && strncmp(d->pager->title, TITLE, strlen(TITLE)) == 0;
}

static void loaded(int rc, const struct es_error *err, void *ud)
{
	struct cn_load *l = ud;
	struct es_dash *d = l->d;

	d->cn_job = NULL;
	d->cn_loading = false;
	if (rc) {
		es_dash_message(d, true, "canary of %s: %s", l->stage,
		                err ? err->message : "could not be read");
		return;
	}
	struct es_pager *p = render(d, l);
	if (p) {
		es_pager_free(d->pager);
		d->pager = p;
	}
	snprintf(d->cn_stage, sizeof(d->cn_stage), "%s", l->stage);
}

static const struct es_stage_conf *selected(struct es_dash *d)
{
	if (!d->conf || d->ui.stage_sel >= d->conf->n_stages)
		return NULL;
	return &d->conf->stages[d->ui.stage_sel];
}

static unsigned open_view(struct es_dash *d, const char *stage)
{
	struct cn_load *l;

	if (!d->conf || !d->aws) {
		es_dash_message(d, false, "no canary to show: %s",
		                d->conf ? "AWS is not reachable" : "no edgeship.conf");
		return ES_REDRAW;
	}
	if (d->cn_loading)
		return ES_HANDLED;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ES_HANDLED;
	l->d = d;
	l->conf = d->conf;
	snprintf(l->stage, sizeof(l->stage), "%s", stage);
	if (es_job_start(d->loop, d->aws, load, l, free, NULL, loaded, l, &d->cn_job) != ES_OK) {
		free(l);
		es_dash_fail(d, "reading the canary");
		return ES_REDRAW;
	}
	d->cn_loading = true;
	es_dash_message(d, false, "reading %s's canary…", stage);
	return ES_REDRAW;
}

/* ------------------------------------------------------------ changes */

enum cn_op { CN_START, CN_WIDEN, CN_CHECK, CN_PROMOTE, CN_DISCARD };

static const char *op_name(enum cn_op op)
{
	static const char *const names[] = {"start", "widen", "check", "promote", "discard"};
	return names[op];
}

struct cn_act {
	struct es_dash *d;
	const struct es_config *conf;
	char stage[64];
	enum cn_op op;
	double weight;
	struct es_canary_result res;
	struct es_validation *v; /* check */
};

static void act_note(const char *text, void *ud)
{
	es_job_progress(ud, "%s", text);
}

static int act(struct es_job *job, void *arg)
{
	struct cn_act *a = arg;
	struct es_aws_client *aws = es_job_aws(job);

	switch (a->op) {
	case CN_START:
		return es_canary_start(aws, a->conf, a->stage, NULL, NULL, act_note, job, &a->res);
	case CN_WIDEN:
		return es_canary_widen(aws, a->conf, a->stage, a->weight, act_note, job, &a->res);
	case CN_CHECK:
		if (!(a->v = calloc(1, sizeof(*a->v))))
			return es_fail(ES_ENOMEM, "out of memory");
		return es_canary_check(aws, a->conf, a->stage, act_note, job, a->v, &a->res);
	case CN_DISCARD: return es_canary_discard(aws, a->conf, a->stage, act_note, job, &a->res);
	case CN_PROMOTE: {
		int rc = es_canary_promote(aws, a->conf, a->stage, act_note, job, &a->res);
		if (rc)
			return rc;
		es_job_progress(job, "%s", a->res.message);
		/* The stack's template owns the primary again. */
		return es_canary_adopt(aws, a->conf, a->stage, &a->res, 2000, 3600, act_note, job);
	}
	}
	return ES_ERR;
}

static void act_free(void *arg)
{
	struct cn_act *a = arg;
	free(a->v);
	free(a);
}

static void progress(const char *text, void *ud)
{
	struct cn_act *a = ud;
	es_dash_log(a->d, ES_ACT_INFO, "canary %s: %s", a->stage, text);
}

static void acted(int rc, const struct es_error *err, void *ud)
{
	struct cn_act *a = ud;
	struct es_dash *d = a->d;

	d->cn_job = NULL;
	d->cn_loading = false;
	if (rc) {
		es_dash_log(d, ES_ACT_ERROR, "canary %s %s: %s", op_name(a->op), a->stage,
		            err ? err->message : "failed");
		es_dash_message(d, true, "canary %s failed: %s", op_name(a->op),
		                err ? err->message : "");
	} else {
		enum es_activity_level lvl = a->res.check_failed ? ES_ACT_ERROR : ES_ACT_INFO;
		es_dash_log(d, lvl, "canary %s %s: %s", op_name(a->op), a->stage, a->res.message);
		es_dash_message(d, a->res.check_failed, "%s", a->res.message);
	}
	/* Show what the change did. */
	open_view(d, a->stage);
}

static void run_act(struct es_dash *d, struct cn_act *a)
{
	if (es_job_start(d->loop, d->aws, act, a, act_free, progress, acted, a, &d->cn_job) !=
	    ES_OK) {
		act_free(a);
		es_dash_fail(d, "changing the canary");
		return;
	}
	d->cn_loading = true;
	es_dash_message(d, false, "canary %s on %s…", op_name(a->op), a->stage);
}

static void on_confirm(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct cn_act *a = ud;

	(void)dlg;
	(void)text;
	(void)choice;
	if (!ok || a->d->cn_loading) {
		es_dash_message(a->d, false, "cancelled: nothing was changed in %s", a->stage);
		free(a);
		return;
	}
	run_act(a->d, a);
}

static void confirm(struct es_dash *d, struct cn_act *a)
{
	const struct es_stage_conf *sc = es_config_stage(d->conf, a->stage);
	bool typed = sc && es_act_guarded_stage(d->conf, sc) &&
	             (a->op == CN_START || a->op == CN_PROMOTE);
	char q[400], desc[300] = "";
	struct es_cd_traffic t;
	char msg[200];

	if (a->op == CN_CHECK) { /* changes nothing: no question */
		run_act(d, a);
		return;
	}
	if (a->op == CN_START && sc && sc->canary &&
	    es_canary_parse(sc->canary, &t, msg, sizeof(msg)) == ES_OK)
		es_canary_describe(&t, desc, sizeof(desc));
	switch (a->op) {
	case CN_START:
		snprintf(q, sizeof(q),
		         "Start a canary on %s: %s goes to a staging distribution running "
		         "the release a promotion would deploy?",
		         a->stage, desc[0] ? desc : "its canary key");
		break;
	case CN_WIDEN:
		snprintf(q, sizeof(q), "Send %g%% of %s's requests to the canary?", a->weight * 100,
		         a->stage);
		break;
	case CN_PROMOTE:
		snprintf(q, sizeof(q),
		         "Promote %s's canary: the primary takes the staging config, then "
		         "the stack is deployed with that release?",
		         a->stage);
		break;
	default:
		snprintf(q, sizeof(q), "Discard %s's canary: every request goes to the primary?",
		         a->stage);
		break;
	}
	struct es_dialog *dlg =
	        es_dialog_new(typed ? ES_DLG_TYPE : ES_DLG_CONFIRM, "Canary", q, on_confirm, a);
	if (!dlg) {
		free(a);
		return;
	}
	dlg->danger = typed;
	if (typed)
		snprintf(dlg->expect, sizeof(dlg->expect), "%s", a->stage);
	es_dash_push(d, dlg);
}

static void on_weight(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct cn_act *a = ud;
	char w[64];

	(void)dlg;
	(void)choice;
	if (!ok) {
		es_dash_message(a->d, false, "cancelled: nothing was changed in %s", a->stage);
		free(a);
		return;
	}
	snprintf(w, sizeof(w), "%s%s", text ? text : "", text && strchr(text, '%') ? "" : "%");
	a->weight = es_canary_parse_weight(w);
	if (a->weight <= 0 || a->weight > ES_CD_MAX_WEIGHT) {
		es_dash_message(a->d, true,
		                "%s: write a share above 0 and at most 15%% (CloudFront's limit)",
		                text ? text : "");
		free(a);
		return;
	}
	confirm(a->d, a);
}

static unsigned change(struct es_dash *d, enum cn_op op, const char *stage)
{
	struct cn_act *a;

	if (d->cli->read_only) {
		es_dash_message(d, true, "canary %s is off: edgeship was started with --read-only",
		                op_name(op));
		return ES_REDRAW;
	}
	if (!d->conf || !d->aws) {
		es_dash_message(d, false, "canary %s: %s", op_name(op),
		                d->conf ? "AWS is not reachable" : "no edgeship.conf");
		return ES_REDRAW;
	}
	if (d->cn_loading) {
		es_dash_message(d, false, "the canary is being read or changed: a moment");
		return ES_REDRAW;
	}
	if (es_actions_running(d)) {
		es_dash_message(d, false, "an action is running: the canary waits for it");
		return ES_REDRAW;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return ES_HANDLED;
	a->d = d;
	a->conf = d->conf;
	a->op = op;
	snprintf(a->stage, sizeof(a->stage), "%s", stage);
	if (op == CN_WIDEN) {
		struct es_dialog *dlg =
		        es_dialog_new(ES_DLG_PROMPT, "Canary",
		                      "New share for the canary (at most 15%):", on_weight, a);
		if (!dlg) {
			free(a);
			return ES_HANDLED;
		}
		es_dash_push(d, dlg);
		return ES_REDRAW;
	}
	confirm(d, a);
	return ES_REDRAW;
}

unsigned es_canary_view_request(struct es_dash *d, enum es_request req)
{
	const struct es_stage_conf *sc = selected(d);

	switch (req) {
	case ES_REQ_CANARY:
		if (in_view(d))
			return open_view(d, d->cn_stage);
		if (!sc) {
			es_dash_message(d, false, "select a stage first");
			return ES_REDRAW;
		}
		return open_view(d, sc->name);
	case ES_REQ_CANARY_START:
		if (!sc && !in_view(d)) {
			es_dash_message(d, false, "select a stage first");
			return ES_REDRAW;
		}
		return change(d, CN_START, in_view(d) ? d->cn_stage : sc->name);
	case ES_REQ_CANARY_WIDEN:
	case ES_REQ_CANARY_CHECK:
	case ES_REQ_CANARY_DISCARD:
	case ES_REQ_PROMOTE:
		if (!in_view(d)) {
			if (req == ES_REQ_PROMOTE)
				return 0; /* A outside the canary view: a promotion */
			es_dash_message(d, false, "that key acts in the canary view: c first");
			return ES_REDRAW;
		}
		return change(d,
		              req == ES_REQ_CANARY_WIDEN   ? CN_WIDEN
		              : req == ES_REQ_CANARY_CHECK ? CN_CHECK
		              : req == ES_REQ_PROMOTE      ? CN_PROMOTE
		                                           : CN_DISCARD,
		              d->cn_stage);
	default: return 0;
	}
}

void es_canary_view_stop(struct es_dash *d)
{
	if (d->cn_job)
		es_job_orphan(d->cn_job);
	d->cn_job = NULL;
	d->cn_loading = false;
}
