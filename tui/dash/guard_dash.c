/* The error-rate guard on the dashboard (see guard_dash.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"
#include "guard.h"
#include "guard_dash.h"
#include "guard_model.h"
#include "guard_record.h"
#include "notify.h"

struct dash_guard {
	struct es_guard *g;
	struct es_guard_follow follow;
	bool announced[ES_GUARD_MAX_STAGES];
	/* the breach B acts on */
	int offer; /* guard stage index, -1 none */
	char commit[41];
	char release[80];
};

static void on_guard(struct es_guard *g, size_t i, unsigned what, void *ud)
{
	struct es_dash *d = ud;

	(void)g;
	(void)i;
	(void)what;
	d->dirty = true;
}

static struct dash_guard *start(struct es_dash *d)
{
	struct dash_guard *dg;

	if (d->guard_off || !es_guard_any(d->conf, NULL)) {
		d->guard_off = true;
		return NULL;
	}
	dg = calloc(1, sizeof(*dg));
	if (!dg || es_guard_new(d->aws, &dg->g)) {
		free(dg);
		d->guard_off = true;
		return NULL;
	}
	dg->offer = -1;
	es_guard_on_change(dg->g, on_guard, d);
	d->ui.guard = dg->g;
	return dg;
}

static void announce(struct es_dash *d, struct dash_guard *dg, size_t i)
{
	const struct es_guard_stage *s = es_guard_stage(dg->g, i);
	unsigned long gen = 0;
	char text[256];

	es_guard_breach_text(s, text, sizeof(text));
	es_dash_log(d, ES_ACT_ERROR, "guard: breach in %s: %s", s->name, text);
	if (es_guard_previous_in(es_model_records(d->model, &gen), s->name, dg->commit,
	                         dg->release)) {
		dg->offer = (int)i;
		es_dash_message(d, true, "guard: %s breached (%s); B rolls it back to %.7s (%s)",
		                s->name, text, dg->commit, dg->release);
	} else {
		dg->offer = -1;
		es_dash_message(d, true,
		                "guard: %s breached (%s); no earlier release to roll back to",
		                s->name, text);
	}
	es_attn_alert(d, s->name, text);
	if (es_guard_record_async(d->aws, d->conf, s, "alert", "guard", d->identity,
	                          dg->offer >= 0 ? "the console offers the rollback (B)"
	                                         : "no earlier release"))
		es_dash_log(d, ES_ACT_WARN, "guard: the ledger did not take the breach");
}

void es_dash_guard_poll(struct es_dash *d)
{
	struct dash_guard *dg = d->guard;

	if (!d->model || !d->conf || !d->aws)
		return;
	if (!dg && !(dg = d->guard = start(d)))
		return;
	es_guard_follow_model(dg->g, &dg->follow, d->conf, d->model);
	es_guard_poll(dg->g, es_guard_interval(dg->g));
	for (size_t i = 0; i < es_guard_count(dg->g); i++) {
		const struct es_guard_stage *s = es_guard_stage(dg->g, i);
		if (!s->breached) {
			dg->announced[i] = false;
			continue;
		}
		if (!dg->announced[i]) {
			dg->announced[i] = true;
			announce(d, dg, i);
		}
	}
}

void es_dash_guard_rollback(struct es_dash *d)
{
	struct dash_guard *dg = d->guard;
	const struct es_guard_stage *s;

	if (!dg || dg->offer < 0 || !(s = es_guard_stage(dg->g, (size_t)dg->offer))) {
		es_dash_message(d, false, "guard: no breach to roll back");
		return;
	}
	for (size_t k = 0; d->conf && k < d->conf->n_stages; k++) {
		if (strcmp(d->conf->stages[k].name, s->name) != 0)
			continue;
		es_guard_record_async(d->aws, d->conf, s, "rollback", d->identity, d->identity,
		                      "the operator asked for the rollback (B)");
		dg->offer = -1;
		es_actions_rollback_to(d, (int)k, dg->commit);
		return;
	}
}

void es_dash_guard_free(struct es_dash *d)
{
	if (!d->guard)
		return;
	d->ui.guard = NULL;
	es_guard_free(d->guard->g);
	free(d->guard);
	d->guard = NULL;
}
