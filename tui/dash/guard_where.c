/* Where it fails (see guard_where.h): the read runs on a job with copies
 * of what it needs, and the pager is rebuilt from its result when it
 * arrives, if that pager is still the one shown. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "dash.h"
#include "guard_where.h"
#include "job.h"

#define ERRORS_SHOWN 10 /* as the CLI's "where it fails" */
#define REGIONS_MAX  8

struct where_read; /* one read's copies and result, the job's */

struct guard_where {
	struct es_dash *d;
	struct es_job *job;     /* the read running, NULL none */
	struct es_pager *pager; /* the pager it fills (compared, never freed here) */
	char title[160];
	char footer[256];
	struct es_guard_stage stage; /* the breach read */
	char regions[REGIONS_MAX][32];
	size_t n_regions;
};

struct region_figures {
	bool ok;
	double errors, throttles, duration_ms;
};

struct where_read {
	struct guard_where *owner; /* touched only on the owner's loop */
	struct es_guard_stage stage;
	char regions[REGIONS_MAX][32];
	size_t n_regions;
	struct region_figures fig[REGIONS_MAX];
	struct es_log_event *ev;
	size_t n;
};

/* The regions of the edges the model sampled for the stage: those that
 * answered with an error first (the failing ones), else all, else
 * us-east-1. */
static void regions_of(struct es_dash *d, struct guard_where *w)
{
	const struct es_stage_view *s = NULL;

	w->n_regions = 0;
	for (size_t i = 0; d->model && i < es_model_stage_count(d->model); i++)
		if (strcmp(es_model_stage(d->model, i)->name, w->stage.name) == 0)
			s = es_model_stage(d->model, i);
	for (int failing = 1; s && failing >= 0 && !w->n_regions; failing--)
		for (size_t k = 0; k < s->n_edges && w->n_regions < REGIONS_MAX; k++) {
			const char *r = es_guard_pop_region(s->edges[k].pop);
			bool dup = false;
			if (!r || (failing && s->edges[k].status < 500))
				continue;
			for (size_t j = 0; j < w->n_regions; j++)
				dup = dup || strcmp(w->regions[j], r) == 0;
			if (!dup)
				snprintf(w->regions[w->n_regions++], sizeof(w->regions[0]), "%s",
				         r);
		}
	if (!w->n_regions)
		snprintf(w->regions[w->n_regions++], sizeof(w->regions[0]), "us-east-1");
}

static void region_list(const struct guard_where *w, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < w->n_regions && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? ", " : "", w->regions[i]);
}

/* ------------------------------------------------------------ the job */

static int read_errors(struct es_job *job, void *arg)
{
	struct where_read *r = arg;
	const char *regions[REGIONS_MAX];

	for (size_t i = 0; i < r->n_regions; i++) {
		regions[i] = r->regions[i];
		if (es_job_cancelled(job))
			return es_fail(ES_ERR, "cancelled");
		struct region_figures *f = &r->fig[i];
		f->ok = es_guard_lambda_figures(es_job_aws(job), &r->stage, regions[i], &f->errors,
		                                &f->throttles, &f->duration_ms) == ES_OK;
	}
	/* last: its error is the one the result carries */
	return es_guard_errors(es_job_aws(job), &r->stage, regions, r->n_regions, ERRORS_SHOWN,
	                       &r->ev, &r->n);
}

static void read_free(void *arg)
{
	struct where_read *r = arg;

	es_log_events_free(r->ev, r->n);
	free(r);
}

/* ------------------------------------------------------------ the pager */

static struct es_pager *render(struct guard_where *w, const struct where_read *r, int rc,
                               const struct es_error *err)
{
	const struct es_guard_stage *s = &w->stage;
	struct es_pager *p = es_pager_new(&w->d->ui, w->title);
	char text[256], regions[REGIONS_MAX * 34], line[1400];
	int width = COLS - 2;

	if (!p)
		return NULL;
	es_guard_breach_text(s, text, sizeof(text));
	region_list(w, regions, sizeof(regions));
	snprintf(line, sizeof(line), "%s: guard breach: %s", s->name, text);
	es_pager_add_wrapped(p, ES_AREA_PANE_TITLE, line, width, 2);
	snprintf(line, sizeof(line),
	         "Recent errors of %s from CloudWatch Logs (FilterLogEvents on /aws/lambda/%s, at "
	         "most %d) in %s, since the rollout began",
	         s->function, s->function, ERRORS_SHOWN, regions);
	es_pager_add_wrapped(p, ES_AREA_HINT, line, width, 2);
	es_pager_add(p, ES_AREA_NORMAL, "");
	if (!r && !err) {
		es_pager_add(p, ES_AREA_ACT_INFO, "Reading CloudWatch Logs\u2026");
	} else if (rc != ES_OK) {
		char why[1200];
		snprintf(line, sizeof(line), "CloudWatch Logs could not be read: %s",
		         es_error_format(err, why, sizeof(why)));
		es_pager_add_wrapped(p, ES_AREA_ACT_ERROR, line, width, 2);
		es_pager_add(p, ES_AREA_NORMAL, "");
		es_pager_add(p, ES_AREA_LABEL, "What to do:");
		es_pager_addf(p, ES_AREA_NORMAL,
		              "  - w reads again (a throttled or failed read often passes the "
		              "next time);");
		snprintf(
		        line, sizeof(line),
		        "  - the console's credentials need logs:FilterLogEvents on /aws/lambda/%s "
		        "in %s;",
		        s->function, regions);
		es_pager_add_wrapped(p, ES_AREA_NORMAL, line, width, 4);
		snprintf(
		        line, sizeof(line),
		        "  - from a shell: aws logs filter-log-events --region %s --log-group-name "
		        "/aws/lambda/%s --filter-pattern ERROR",
		        w->regions[0], s->function);
		es_pager_add_wrapped(p, ES_AREA_NORMAL, line, width, 4);
	} else {
		for (size_t i = 0; i < r->n_regions; i++) {
			const struct region_figures *f = &r->fig[i];
			if (!f->ok)
				continue;
			char dur[32] = "-";
			if (f->duration_ms >= 0)
				snprintf(dur, sizeof(dur), "%.0f ms", f->duration_ms);
			es_pager_addf(p, ES_AREA_LABEL,
			              "  %-14s Lambda Errors %.0f  Throttles %.0f  Duration %s",
			              r->regions[i], f->errors, f->throttles, dur);
		}
		if (!r->n)
			es_pager_add(p, ES_AREA_NORMAL,
			             "No error lines since the rollout began in these regions "
			             "(a replica writes its log group where it first runs).");
		for (size_t i = 0; i < r->n; i++) {
			char when[16];
			time_t t = (time_t)r->ev[i].time;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
			snprintf(line, sizeof(line), "%s %-14s %s", when, r->ev[i].region,
			         r->ev[i].message);
			es_pager_add_wrapped(p, ES_AREA_ACT_ERROR, line, width, 24);
		}
	}
	es_pager_add(p, ES_AREA_NORMAL, "");
	if (w->footer[0])
		es_pager_add(p, ES_AREA_HINT, w->footer);
	es_pager_add(p, ES_AREA_HINT, "w reads again; Esc closes.");
	return p;
}

/* Put p on the screen in place of w's pager when that is still shown;
 * else p goes. */
static void show(struct guard_where *w, struct es_pager *p, bool open)
{
	struct es_dash *d = w->d;
	bool ours = d->pager && d->pager == w->pager && strcmp(d->pager->title, w->title) == 0;

	if (!p)
		return;
	if (!open && !ours) {
		es_pager_free(p); /* closed meanwhile: the status line said it */
		return;
	}
	es_pager_free(d->pager);
	d->pager = p;
	w->pager = p;
	d->dirty = true;
}

static void read_done(int rc, const struct es_error *err, void *ud)
{
	struct where_read *r = ud;
	struct guard_where *w = r->owner;
	char line[1400];

	w->job = NULL;
	if (rc == ES_OK)
		es_dash_message(w->d, false,
		                "where it fails: %zu recent error%s of %s (w shows them again)",
		                r->n, r->n == 1 ? "" : "s", w->stage.name);
	else
		es_dash_message(w->d, true,
		                "where it fails: CloudWatch Logs unreadable: %s; w reads again",
		                es_error_format(err, line, sizeof(line)));
	show(w, render(w, r, rc, err), false);
}

void es_guard_where_open(struct es_dash *d, struct guard_where **slot,
                         const struct es_guard_stage *s, const char *footer)
{
	struct guard_where *w = *slot;
	struct where_read *r;

	if (!w && !(w = *slot = calloc(1, sizeof(*w))))
		return;
	w->d = d;
	if (w->job && strcmp(w->stage.name, s->name) == 0) {
		show(w, render(w, NULL, ES_OK, NULL), true); /* its answer fills this one */
		return;
	}
	if (w->job) {
		es_job_orphan(w->job); /* another stage's read: nobody waits for it */
		w->job = NULL;
	}
	w->stage = *s;
	snprintf(w->title, sizeof(w->title), "Where it fails: %s", s->name);
	snprintf(w->footer, sizeof(w->footer), "%s", footer ? footer : "");
	regions_of(d, w);
	if (!d->aws || !(r = calloc(1, sizeof(*r)))) {
		es_dash_message(d, true, "where it fails: %s", d->aws ? "out of memory" : "no AWS");
		return;
	}
	r->owner = w;
	r->stage = *s;
	memcpy(r->regions, w->regions, sizeof(r->regions));
	r->n_regions = w->n_regions;
	if (es_job_start(d->loop, d->aws, read_errors, r, read_free, NULL, read_done, r, &w->job) !=
	    ES_OK) {
		char line[1400];
		read_free(r);
		show(w, render(w, NULL, ES_ERR, es_error_last()), true);
		es_dash_message(d, true, "where it fails: %s",
		                es_error_format(es_error_last(), line, sizeof(line)));
		return;
	}
	es_dash_message(d, false, "where it fails: reading %s's errors from CloudWatch Logs\u2026",
	                s->name);
	show(w, render(w, NULL, ES_OK, NULL), true);
}

bool es_guard_where_busy(const struct guard_where *w)
{
	return w && w->job;
}

void es_guard_where_free(struct guard_where **slot)
{
	struct guard_where *w = *slot;

	if (!w)
		return;
	if (w->job)
		es_job_orphan(w->job);
	free(w);
	*slot = NULL;
}
