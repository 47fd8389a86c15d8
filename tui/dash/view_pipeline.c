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
	              e->commit[0]                ? e->subject
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
		              a->error ? a->error : a->summary ? a->summary : "");
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
		es_pager_addf(p, status_area(st->status), "  %-16s %-10s %.8s%s%s%s%.8s%s", st->name,
		              st->status ? st->status : "-", st->execution_id ? st->execution_id : "",
		              st->deploys ? "  deploys " : "", st->deploys ? st->deploys : "",
		              st->inbound_id ? "  (" : "", st->inbound_id ? st->inbound_id : "",
		              st->inbound_id ? " waiting to enter)" : "");
	}
	if (s->approval.waiting) {
		const struct es_pl_approval *a = &s->approval;
		double now = es_time_now();
		es_pager_add(p, ES_AREA_NORMAL, "");
		es_pager_addf(p, ES_AREA_MARKER_PENDING,
		              "approval waiting: %s/%s, execution %.8s, %s left (until %s UTC)", a->stage,
		              a->action, a->execution_id ? a->execution_id : "",
		              es_duration_format(a->expires > now ? a->expires - now : 0, left,
		                                 sizeof(left)),
		              clock_of(a->expires, buf, sizeof(buf)));
		if (a->custom_data)
			es_pager_addf(p, ES_AREA_NORMAL, "  %s", a->custom_data);
		if (a->url)
			es_pager_addf(p, ES_AREA_NORMAL, "  review: %s", a->url);
		es_pager_add(p, ES_AREA_HINT,
		             "  approve or reject: edgeship pipeline approve|reject --comment TEXT");
	}
	if (s->validator_action)
		es_pager_addf(p, status_area(s->validator_status), "validator %s: %s%s%s",
		              s->validator_action, s->validator_status ? s->validator_status : "-",
		              s->validator_summary ? ": " : "",
		              s->validator_summary ? s->validator_summary : "");
	es_pager_add(p, ES_AREA_NORMAL, "");
	es_pager_add(p, ES_AREA_LABEL, "executions, newest first (◆ a commit of the history)");
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
		es_dash_message(d, false, "no [pipeline] in edgeship.conf: no stage is in pipeline mode");
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

unsigned es_pipeline_view_request(struct es_dash *d, enum es_request req)
{
	return req == ES_REQ_PIPELINE ? open_pipeline(d) : 0;
}

void es_pipeline_view_stop(struct es_dash *d)
{
	if (d->pl_job)
		es_job_orphan(d->pl_job);
	d->pl_job = NULL;
	d->pl_loading = false;
}
