/* Drift in the Stages pane: f checks the selected stage's stack now, and
 * every half hour the stages are checked one after another, each on a
 * background job (drift detection changes nothing, so --read-only runs it
 * too). The badge shows what the last check found; the activity strip
 * says which resources and properties differ. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "dash.h"
#include "model.h"

#define DRIFT_EVERY_MS (30L * 60 * 1000)

/* The round's period: half an hour (ES_DRIFT_EVERY_MS shortens it for
 * tests); between two stages of a round a minute, or the period if less. */
static long every_ms(void)
{
	const char *e = getenv("ES_DRIFT_EVERY_MS");
	long v = e ? strtol(e, NULL, 10) : 0;

	return v > 0 ? v : DRIFT_EVERY_MS;
}

static long gap_ms(void)
{
	return every_ms() < 60000 ? every_ms() : 60000;
}

static void periodic(struct es_loop *loop, void *ud);

static void badge(struct es_dash *d, size_t stage, const char *text)
{
	if (stage < ES_UI_DRIFT_STAGES)
		snprintf(d->ui.drift[stage], sizeof(d->ui.drift[stage]), "%s", text);
	d->dirty = true;
}

static void on_done(const struct es_action_outcome *o, void *ud)
{
	struct es_dash *d = ud;
	const struct es_drift_report *r = o->drift;
	size_t stage = (size_t)d->drift_stage;
	char line[600];

	d->drift_job = NULL;
	if (o->rc || !r) {
		badge(d, stage, "");
		es_dash_message(d, o->rc != ES_ENOTFOUND, "%s: drift: %s", o->stage,
		                es_error_format(o->err, line, sizeof(line)));
		es_dash_log(d, o->rc == ES_ENOTFOUND ? ES_ACT_INFO : ES_ACT_WARN, "%s: drift: %s",
		            o->stage, es_error_format(o->err, line, sizeof(line)));
		return;
	}
	bool drifted = strcmp(r->drift_status, "DRIFTED") == 0;
	badge(d, stage,
	      drifted                                   ? "drifted"
	      : strcmp(r->drift_status, "IN_SYNC") == 0 ? "in sync"
	                                                : "");
	es_dash_message(d, false, "%s: %s", o->stage,
	                drifted ? "drifted: the activity strip says what differs"
	                : strcmp(r->drift_status, "IN_SYNC") == 0 ? "in sync with its template"
	                                                          : r->drift_status);
	if (!drifted) {
		es_dash_log(d, ES_ACT_INFO, "%s: drift: %s", o->stage, r->drift_status);
		return;
	}
	es_dash_log(d, ES_ACT_WARN,
	            "%s: drift: %ld resource%s changed outside CloudFormation (edgeship drift "
	            "--stage %s)",
	            o->stage, r->drifted_count, r->drifted_count == 1 ? "" : "s", o->stage);
	for (size_t i = 0; i < r->n; i++) {
		const struct es_resource_drift *rd = &r->resources[i];
		for (size_t j = 0; j < rd->n_diffs; j++)
			es_dash_log(d, ES_ACT_WARN, "%s: drift: %s %s: expected %s, actual %s",
			            o->stage, rd->logical_id, rd->diffs[j].path,
			            rd->diffs[j].expected, rd->diffs[j].actual);
	}
}

/* Start a check of stage; false when none could start. */
static bool check(struct es_dash *d, size_t stage, bool said)
{
	char line[600];

	if (d->drift_job || !d->aws || !d->conf || stage >= d->conf->n_stages)
		return false;
	if (es_action_drift(d->aws, d->conf, d->conf->stages[stage].name, on_done, d,
	                    &d->drift_job) != ES_OK) {
		if (said)
			es_dash_message(d, true, "drift: %s",
			                es_error_format(es_error_last(), line, sizeof(line)));
		return false;
	}
	d->drift_stage = (int)stage;
	badge(d, stage, "checking");
	return true;
}

void es_dash_drift_check(struct es_dash *d, size_t stage)
{
	if (d->drift_job) {
		es_dash_message(d, false, "a drift check is running: wait for it");
		return;
	}
	if (check(d, stage, true))
		es_dash_message(d, false, "checking %s for drift\u2026",
		                d->conf->stages[stage].name);
}

/* One stage per turn of the round; a stage not deployed is skipped. */
static void periodic(struct es_loop *loop, void *ud)
{
	struct es_dash *d = ud;
	size_t n = d->conf ? d->conf->n_stages : 0;

	(void)loop;
	d->drift_timer = 0;
	while (d->drift_next < n) {
		size_t i = d->drift_next++;
		const struct es_stage_view *s = d->model ? es_model_stage(d->model, i) : NULL;
		if (s && strcmp(s->stack_status, "NOT_DEPLOYED") == 0)
			continue;
		if (!check(d, i, false))
			d->drift_next--; /* busy: this stage on the next turn */
		d->drift_timer = es_loop_timer(d->loop, gap_ms(), periodic, d);
		return;
	}
	d->drift_next = 0;
	d->drift_timer = es_loop_timer(d->loop, every_ms(), periodic, d);
}

void es_dash_drift_start(struct es_dash *d)
{
	if (!d->drift_timer)
		d->drift_timer = es_loop_timer(d->loop, every_ms(), periodic, d);
}

void es_dash_drift_free(struct es_dash *d)
{
	if (d->drift_timer)
		es_loop_timer_cancel(d->loop, d->drift_timer);
	d->drift_timer = 0;
	es_action_abandon(d->drift_job);
	d->drift_job = NULL;
}
