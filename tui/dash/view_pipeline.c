/* The pipeline view (P): in pipeline mode, the CodePipeline that deploys
 * the stages, as `edgeship pipeline status` shows it: each pipeline stage,
 * the approval waiting with the time left, the validator's result and the
 * latest executions with their source revision (marked when it is a commit
 * of the history) and actions. Loaded on a job, so the screen never waits;
 * P again reloads it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timefmt.h"
#include "dash.h"
#include "job.h"
#include "pipeline.h"

struct pl_load {
	struct es_dash *d;
	const struct es_config *conf;
	const struct es_pipeline_conf *pc;
	struct es_pl_status st;
};

static int load(struct es_job *job, void *arg)
{
	struct pl_load *l = arg;
	return es_pipeline_status(es_job_aws(job), l->conf, NULL, l->pc, 5, &l->st);
}

static void load_free(void *arg)
{
	struct pl_load *l = arg;
	es_pipeline_status_free(&l->st);
	free(l);
}

static const char *clock_of(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%m-%d %H:%M:%S", &tm);
	return buf;
}

static enum es_area status_area(const char *status)
{
	if (!status)
		return ES_AREA_STAGE_UNKNOWN;
	if (strcmp(status, "Succeeded") == 0)
		return ES_AREA_STAGE_OK;
	if (strcmp(status, "InProgress") == 0 || strcmp(status, "Stopping") == 0)
		return ES_AREA_STAGE_BUSY;
	if (strcmp(status, "Failed") == 0)
		return ES_AREA_STAGE_FAILED;
	return ES_AREA_NORMAL;
}

static void add_execution(struct es_dash *d, struct es_pager *p, const struct es_pl_execution *e)
{
	char t1[24], t2[24];
	bool in_history = e->commit[0] && es_history_list_summary_of(&d->history, e->commit);

	es_pager_addf(p, status_area(e->status), "%.8s  %-10s %s  %s%s%s", e->id,
	              e->status ? e->status : "-", clock_of(e->start, t1, sizeof(t1)),
	              e->commit[0] ? e->short_commit : "",
	              e->commit[0] ? (in_history ? " ◆ " : " (not in the history) ") : "",
	              e->commit[0]          ? e->subject
	              : e->revision_summary ? e->revision_summary
	                                    : (e->revision ? e->revision : ""));
	if (e->summary)
		es_pager_addf(p, ES_AREA_CHECK_FAIL, "    why: %s", e->summary);
	if (e->stop_reason && *e->stop_reason)
		es_pager_addf(p, ES_AREA_HINT, "    stopped: %s", e->stop_reason);
	for (size_t j = 0; j < e->n_actions; j++) {
		const struct es_pl_action *a = &e->actions[j];
		char what[96];
		snprintf(what, sizeof(what), "%s/%s", a->stage, a->name);
		if (!a->status)
			continue;
		es_pager_addf(p, status_area(a->status), "    %-28s %-10s %s → %s  %s", what,
		              a->status, clock_of(a->start, t1, sizeof(t1)),
		              clock_of(a->changed, t2, sizeof(t2)),
		              a->error     ? a->error
		              : a->summary ? a->summary
		                           : "");
	}
}

static struct es_pager *render(struct es_dash *d, const struct es_pl_status *s)
{
	char title[160], left[32], buf[24];
	struct es_pager *p;

	snprintf(title, sizeof(title), "Pipeline %s", s->pipeline);
	p = es_pager_new(&d->ui, title);
	if (!p)
		return NULL;
	es_pager_add(p, ES_AREA_LABEL, "stages");
	for (size_t i = 0; i < s->n_stages; i++) {
		const struct es_pl_stage *st = &s->stages[i];
		es_pager_addf(p, status_area(st->status), "  %-16s %-10s %.8s%s%s%s%.8s%s",
		              st->name, st->status ? st->status : "-",
		              st->execution_id ? st->execution_id : "",
		              st->deploys ? "  deploys " : "", st->deploys ? st->deploys : "",
		              st->inbound_id ? "  (" : "", st->inbound_id ? st->inbound_id : "",
		              st->inbound_id ? " waiting to enter)" : "");
	}
	if (s->approval.waiting) {
		const struct es_pl_approval *a = &s->approval;
		double now = es_time_now();
		es_pager_add(p, ES_AREA_NORMAL, "");
		es_pager_addf(p, ES_AREA_MARKER_PENDING,
		              "approval waiting: %s/%s, execution %.8s, %s left (until %s UTC)",
		              a->stage, a->action, a->execution_id ? a->execution_id : "",
		              es_duration_format(a->expires > now ? a->expires - now : 0, left,
		                                 sizeof(left)),
		              clock_of(a->expires, buf, sizeof(buf)));
		if (a->custom_data)
			es_pager_addf(p, ES_AREA_NORMAL, "  %s", a->custom_data);
		if (a->url)
			es_pager_addf(p, ES_AREA_NORMAL, "  review: %s", a->url);
		es_pager_add(p, ES_AREA_HINT, "  A approves, J rejects (each asks for a comment)");
	}
	if (s->validator_action)
		es_pager_addf(p, status_area(s->validator_status), "validator %s: %s%s%s",
		              s->validator_action, s->validator_status ? s->validator_status : "-",
		              s->validator_summary ? ": " : "",
		              s->validator_summary ? s->validator_summary : "");
	es_pager_add(p, ES_AREA_NORMAL, "");
	es_pager_add(p, ES_AREA_LABEL, "executions, newest first (◆ a commit of the history)");
	es_pager_add(p, ES_AREA_HINT,
	             "  T retries the failed stage, E starts an execution, S stops one, P reloads");
	for (size_t i = 0; i < s->n_execs; i++)
		add_execution(d, p, &s->execs[i]);
	return p;
}

static void loaded(int rc, const struct es_error *err, void *ud)
{
	struct pl_load *l = ud;
	struct es_dash *d = l->d;

	d->pl_job = NULL;
	d->pl_loading = false;
	if (rc) {
		es_dash_message(d, true, "pipeline %s: %s", l->pc->pipeline,
		                err ? err->message : "could not be read");
		return;
	}
	es_pipeline_match_commits(d->repo, &l->st);
	struct es_pager *p = render(d, &l->st);
	if (p) {
		es_pager_free(d->pager);
		d->pager = p;
	}
	/* What the keys act on: the state shown. */
	struct es_pl_status *keep = malloc(sizeof(*keep));
	if (keep) {
		*keep = l->st;
		memset(&l->st, 0, sizeof(l->st));
		es_pipeline_status_free(d->pl_status);
		free(d->pl_status);
		d->pl_status = keep;
	}
}

/* P: open (or reload) the pipeline view. */
static unsigned open_pipeline(struct es_dash *d)
{
	const struct es_pipeline_conf *pc;
	struct pl_load *l;

	if (!d->conf || !d->aws) {
		es_dash_message(d, false, "no pipeline to show: %s",
		                d->conf ? "AWS is not reachable" : "no edgeship.conf");
		return ES_REDRAW;
	}
	if (d->conf->n_pipelines == 0) {
		es_dash_message(d, false,
		                "no [pipeline] in edgeship.conf: no stage is in pipeline mode");
		return ES_REDRAW;
	}
	if (d->pl_loading)
		return ES_HANDLED;
	pc = &d->conf->pipelines[0];
	l = calloc(1, sizeof(*l));
	if (!l)
		return ES_HANDLED;
	l->d = d;
	l->conf = d->conf;
	l->pc = pc;
	if (es_job_start(d->loop, d->aws, load, l, load_free, NULL, loaded, l, &d->pl_job) !=
	    ES_OK) {
		load_free(l);
		es_dash_fail(d, "reading the pipeline");
		return ES_REDRAW;
	}
	d->pl_loading = true;
	es_dash_message(d, false, "reading pipeline %s…", pc->pipeline);
	return ES_REDRAW;
}

/* ------------------------------------------------------------ changes */

/* A change to the pipeline, asked for and then run on a job. */
struct pl_act {
	struct es_dash *d;
	const struct es_config *conf;
	struct es_pl_status *st; /* taken from the dashboard for the job's time */
	struct es_pl_request req;
	char comment[520];
	struct es_pl_result res;
};

static int act(struct es_job *job, void *arg)
{
	struct pl_act *a = arg;
	return es_pipeline_act(es_job_aws(job), a->conf, a->st, &a->req, &a->res);
}

static void act_free(void *arg)
{
	struct pl_act *a = arg;
	es_pipeline_status_free(a->st);
	free(a->st);
	free(a);
}

static void acted(int rc, const struct es_error *err, void *ud)
{
	struct pl_act *a = ud;
	struct es_dash *d = a->d;
	const char *op = es_pipeline_op_name(a->req.op);

	d->pl_job = NULL;
	d->pl_loading = false;
	/* Read it again to show what the change did; the outcome is the
	 * message that stays. */
	open_pipeline(d);
	if (rc) {
		es_dash_log(d, ES_ACT_ERROR, "pipeline %s: %s", op, err ? err->message : "failed");
		es_dash_message(d, true, "pipeline %s failed: %s", op, err ? err->message : "");
	} else {
		es_dash_log(d, ES_ACT_INFO, "pipeline %s: done (execution %.8s)%s", op,
		            a->res.execution_id,
		            a->res.already ? ", found made after a lost answer" : "");
		es_dash_message(d, false, "pipeline %s: done (execution %.8s)", op,
		                a->res.execution_id);
	}
}

static void run_act(struct es_dash *d, struct pl_act *a)
{
	a->st = d->pl_status;
	d->pl_status = NULL;
	if (es_job_start(d->loop, d->aws, act, a, act_free, NULL, acted, a, &d->pl_job) != ES_OK) {
		act_free(a);
		es_dash_fail(d, "changing the pipeline");
		return;
	}
	d->pl_loading = true;
	es_dash_message(d, false, "pipeline %s…", es_pipeline_op_name(a->req.op));
}

static void on_confirm(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct pl_act *a = ud;

	(void)dlg;
	(void)text;
	(void)choice;
	if (!ok || !a->d->pl_status || a->d->pl_loading) {
		es_dash_message(a->d, false, "cancelled: nothing was changed in the pipeline");
		free(a);
		return;
	}
	run_act(a->d, a);
}

/* Approving releases into a stage: its name is typed, as a promotion's. */
static const char *confirm_word(const struct es_pl_status *st, enum es_pl_op op)
{
	bool past = false;

	for (size_t i = 0; op == ES_PL_APPROVE && i < st->n_stages; i++) {
		if (past)
			return st->stages[i].deploys ? st->stages[i].deploys : st->stages[i].name;
		past = strcmp(st->stages[i].name, st->approval.stage) == 0;
	}
	return NULL;
}

static void confirm(struct es_dash *d, struct pl_act *a)
{
	char plan[400], q[480];
	const char *word;
	struct es_dialog *dlg;

	if (es_pipeline_plan(d->pl_status, &a->req, plan, sizeof(plan)) != ES_OK) {
		es_dash_message(d, true, "%s", es_error_last()->message);
		free(a);
		return;
	}
	word = confirm_word(d->pl_status, a->req.op);
	snprintf(q, sizeof(q), "%s?", plan);
	dlg = es_dialog_new(word ? ES_DLG_TYPE : ES_DLG_CONFIRM, "Pipeline", q, on_confirm, a);
	if (!dlg) {
		free(a);
		return;
	}
	dlg->danger = word != NULL;
	if (word)
		snprintf(dlg->expect, sizeof(dlg->expect), "%s", word);
	if (a->comment[0])
		es_dialog_bodyf(dlg, "comment: %s", a->comment);
	if ((a->req.op == ES_PL_APPROVE || a->req.op == ES_PL_REJECT) &&
	    d->pl_status->approval.custom_data)
		es_dialog_bodyf(dlg, "%s", d->pl_status->approval.custom_data);
	es_dash_push(d, dlg);
}

static void on_comment(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct pl_act *a = ud;

	(void)dlg;
	(void)choice;
	if (!ok || !a->d->pl_status) {
		es_dash_message(a->d, false, "cancelled: nothing was changed in the pipeline");
		free(a);
		return;
	}
	snprintf(a->comment, sizeof(a->comment), "%s", text ? text : "");
	a->req.comment = a->comment[0] ? a->comment : NULL;
	confirm(a->d, a);
}

static bool in_view(const struct es_dash *d)
{
	return d->pager && strncmp(d->pager->title, "Pipeline ", 9) == 0 && d->pl_status;
}

static unsigned change(struct es_dash *d, enum es_pl_op op)
{
	struct pl_act *a;
	char plan[400];

	if (d->cli->read_only) {
		es_dash_message(d, true,
		                "pipeline %s is off: edgeship was started with --read-only",
		                es_pipeline_op_name(op));
		return ES_REDRAW;
	}
	if (d->pl_loading) {
		es_dash_message(d, false, "the pipeline is being read or changed: a moment");
		return ES_REDRAW;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return ES_HANDLED;
	a->d = d;
	a->conf = d->conf;
	a->req.op = op;
	/* Nothing to do is said now, before any question. */
	if (es_pipeline_plan(d->pl_status, &a->req, plan, sizeof(plan)) != ES_OK) {
		es_dash_message(d, true, "%s", es_error_last()->message);
		free(a);
		return ES_REDRAW;
	}
	if (op == ES_PL_APPROVE || op == ES_PL_REJECT || op == ES_PL_STOP) {
		struct es_dialog *dlg = es_dialog_new(ES_DLG_PROMPT, "Pipeline",
		                                      op == ES_PL_STOP ? "Why stop it (optional):"
		                                                       : "Comment (optional):",
		                                      on_comment, a);
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

unsigned es_pipeline_view_request(struct es_dash *d, enum es_request req)
{
	static const struct {
		enum es_request req;
		enum es_pl_op op;
	} keys[] = {{ES_REQ_PROMOTE, ES_PL_APPROVE},
	            {ES_REQ_PIPE_REJECT, ES_PL_REJECT},
	            {ES_REQ_PIPE_RETRY, ES_PL_RETRY},
	            {ES_REQ_PIPE_START, ES_PL_START},
	            {ES_REQ_PIPE_STOP, ES_PL_STOP}};

	if (req == ES_REQ_PIPELINE)
		return open_pipeline(d);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].req != req)
			continue;
		if (in_view(d))
			return change(d, keys[i].op);
		if (req == ES_REQ_PROMOTE)
			return 0; /* A outside the pipeline view: a promotion */
		es_dash_message(d, false, "%s acts in the pipeline view: P first",
		                es_pipeline_op_name(keys[i].op));
		return ES_REDRAW;
	}
	return 0;
}

void es_pipeline_view_stop(struct es_dash *d)
{
	if (d->pl_job)
		es_job_orphan(d->pl_job);
	d->pl_job = NULL;
	d->pl_loading = false;
	es_pipeline_status_free(d->pl_status);
	free(d->pl_status);
	d->pl_status = NULL;
}
