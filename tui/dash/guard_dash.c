/* The error-rate guard on the dashboard (see guard_dash.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"
#include "dash.h"
#include "guard.h"
#include "guard_dash.h"
#include "guard_model.h"
#include "guard_record.h"
#include "guard_where.h"
#include "lock.h"
#include "notify.h"

struct dash_guard {
	struct es_guard *g;
	struct es_guard_follow follow;
	bool announced[ES_GUARD_MAX_STAGES];
	/* guard-action = rollback on a breach that cannot be acted on yet (the
	 * failing release still propagating, a question open): the guard acts
	 * once that settles, still once for the breach. */
	bool waiting[ES_GUARD_MAX_STAGES];
	double retry_at; /* the next look at a waiting breach (once a second) */
	/* The commit each stage ran when the guard rolled it back: a breach of
	 * the release it went back to never sends it forward to that one. */
	char rolled_from[ES_GUARD_MAX_STAGES][41];
	/* the release before the current one of each breaching stage: what a
	 * rollback goes back to */
	char commit[ES_GUARD_MAX_STAGES][41];
	char release[ES_GUARD_MAX_STAGES][80];
	int offer; /* the breach B acts on: guard stage index, -1 none */
	/* the breach w shows, as it was seen (a rollout after it clears the
	 * guard's own): last_breach false when there was none */
	bool last_breach;
	struct es_guard_stage last;
	struct guard_where *where;
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

/* The status line is narrow: the breach in short there (the Activity strip
 * has it whole), and the key that shows where it fails. */
#define WHERE_HINT "w: where it fails"

static const char *brief(const struct es_guard_stage *s, char *buf, size_t len)
{
	snprintf(buf, len, "5xx %.1f%% > %g%%", s->breach.rate_5xx, s->breach.threshold);
	return buf;
}

/* The guard's ledger record of s's breach; a --read-only console records
 * nothing. */
static void record(struct es_dash *d, const struct es_guard_stage *s, const char *decision,
                   const char *decided_by, const char *note)
{
	if (d->cli->read_only)
		return;
	if (es_guard_record_async(d->aws, d->conf, s, decision, decided_by, d->identity, note))
		es_dash_log(d, ES_ACT_WARN, "guard: the ledger did not take the breach");
}

static int conf_stage(const struct es_dash *d, const char *name)
{
	for (size_t k = 0; d->conf && k < d->conf->n_stages; k++)
		if (strcmp(d->conf->stages[k].name, name) == 0)
			return (int)k;
	return -1;
}

enum verdict { ACT, WAIT, REFUSE };

/* Whether the guard may start its rollback of stage now: another action on
 * the stage (a rollback in this console, a queued deploy, another console's
 * lock, CloudFormation at work on its stack) refuses it for this breach;
 * this console's deploy still running, the stage's distribution still
 * InProgress, or a question open on the screen, makes it wait. */
static enum verdict may_act(struct es_dash *d, const char *stage, const char *commit, char *why,
                            size_t len)
{
	const struct es_stage_view *v = NULL;

	for (size_t i = 0; d->model && i < es_model_stage_count(d->model); i++)
		if (strcmp(es_model_stage(d->model, i)->name, stage) == 0)
			v = es_model_stage(d->model, i);
	if (d->deploy && !d->deploy_done) {
		/* One action at a time in a console: the guard waits for this
		 * console's deploy or promotion (of the breaching release itself,
		 * or another stage's); a rollback of the stage is already what
		 * the guard would do. */
		bool rollback_here = strcmp(d->deploy_stage, stage) == 0 &&
		                     strcmp(d->deploy_kind, "rollback") == 0;
		snprintf(why, len, "a %s to %s is running in this console", d->deploy_kind,
		         d->deploy_stage);
		return rollback_here ? REFUSE : WAIT;
	}
	if (d->queued.active && d->conf &&
	    strcmp(d->conf->stages[d->queued.stage].name, stage) == 0) {
		snprintf(why, len, "a deploy of %.7s to %s is queued in this console",
		         d->queued.oid, stage);
		return REFUSE;
	}
	if (!v || !v->lock_known || strcmp(v->stack_status, "UNKNOWN") == 0) {
		snprintf(why, len, "%s's stack and lock are not read yet", stage);
		return WAIT;
	}
	if (v->busy) {
		snprintf(why, len, "%s's stack is %s: another action is running on it", stage,
		         v->stack_status);
		return REFUSE;
	}
	if (es_stage_locked(v) && !es_lock_held_here(v->lock.action_id)) {
		const char *who = strrchr(v->lock.who, '/');
		snprintf(why, len, "%s is locked for a %s by %s: another action is running on it",
		         stage, v->lock.kind[0] ? v->lock.kind : "action",
		         who ? who + 1 : v->lock.who);
		return REFUSE;
	}
	if (d->n_dialogs) {
		snprintf(why, len, "a question is open on the screen");
		return WAIT;
	}
	int rc = d->model ? es_model_check(d->model, "rollback", stage, commit, why, len) : ES_OK;
	return rc == ES_OK ? ACT : rc == ES_EBUSY ? WAIT : REFUSE;
}

/* guard-action = rollback: the rollback B would start, started by the
 * guard, and recorded as deploy --guard records it. */
static void roll_back(struct es_dash *d, struct dash_guard *dg, size_t i)
{
	const struct es_guard_stage *s = es_guard_stage(dg->g, i);
	int k = conf_stage(d, s->name);
	char note[160], text[64];

	dg->waiting[i] = false;
	if (k < 0)
		return;
	for (size_t j = 0; d->model && j < es_model_stage_count(d->model); j++)
		if (strcmp(es_model_stage(d->model, j)->name, s->name) == 0)
			snprintf(dg->rolled_from[i], sizeof(dg->rolled_from[i]), "%s",
			         es_model_stage(d->model, j)->commit);
	snprintf(note, sizeof(note), "back to %.12s (release %s)", dg->commit[i], dg->release[i]);
	record(d, s, "rollback", "guard", note);
	es_dash_log(d, ES_ACT_WARN, "guard: guard-action = rollback: rolling %s back to %.7s (%s)",
	            s->name, dg->commit[i], dg->release[i]);
	dg->offer = -1;
	memset(&d->pending, 0, sizeof(d->pending));
	d->pending.req = ES_REQ_ROLLBACK;
	d->pending.stage = k;
	d->pending.by_guard = true;
	snprintf(d->pending.oid, sizeof(d->pending.oid), "%s", dg->commit[i]);
	es_act_run(d);
	es_dash_message(d, true, "guard: %s breached, %s; the guard rolls it back to %.7s; %s",
	                s->name, brief(s, text, sizeof(text)), dg->commit[i], WHERE_HINT);
}

/* The guard did not act on a rollback breach: say why, keep B offered. */
static void not_acting(struct es_dash *d, struct dash_guard *dg, size_t i, const char *why)
{
	const struct es_guard_stage *s = es_guard_stage(dg->g, i);
	char note[600], text[64];

	dg->waiting[i] = false;
	snprintf(note, sizeof(note), "guard-action = rollback, not acted on: %s", why);
	record(d, s, "alert", "guard", note);
	es_dash_log(d, ES_ACT_WARN, "guard: %s: the guard did not roll back: %s", s->name, why);
	es_dash_message(d, true, "guard: %s breached, %s; the guard did not roll back%s; %s",
	                s->name, brief(s, text, sizeof(text)), dg->offer >= 0 ? " (B does)" : "",
	                WHERE_HINT);
}

/* A breach waiting for the stage to settle: act, wait on, or give up. */
static void retry(struct es_dash *d, struct dash_guard *dg, size_t i)
{
	char why[512];

	switch (may_act(d, es_guard_stage(dg->g, i)->name, dg->commit[i], why, sizeof(why))) {
	case ACT: roll_back(d, dg, i); break;
	case REFUSE: not_acting(d, dg, i, why); break;
	case WAIT: break;
	}
}

/* Whether the release stage runs now came from a rollback, by the ledger:
 * its previous release is then the one that rollback replaced. */
static bool runs_a_rollback(const struct es_record_list *recs, const char *stage)
{
	for (size_t k = recs ? recs->n : 0; k-- > 0;) {
		const struct es_record *r = &recs->items[k];
		if (strcmp(r->stage, stage) != 0 || strcmp(r->phase, "outcome") != 0 ||
		    strcmp(r->result, "success") != 0 || !r->commit[0])
			continue;
		if (strcmp(r->kind, "rollback") == 0)
			return true;
		if (strcmp(r->kind, "deploy") == 0 || strcmp(r->kind, "promotion") == 0)
			return false;
	}
	return false;
}

static void announce(struct es_dash *d, struct dash_guard *dg, size_t i)
{
	const struct es_guard_stage *s = es_guard_stage(dg->g, i);
	unsigned long gen = 0;
	char text[256], why[512];
	bool earlier;

	es_guard_breach_text(s, text, sizeof(text));
	es_dash_log(d, ES_ACT_ERROR, "guard: breach in %s: %s", s->name, text);
	es_attn_alert(d, s->name, text);
	dg->last_breach = true;
	dg->last = *s;
	const struct es_record_list *recs = es_model_records(d->model, &gen);
	earlier = es_guard_previous_in(recs, s->name, dg->commit[i], dg->release[i]);
	dg->offer = earlier && !d->cli->read_only ? (int)i : -1;
	if (s->set.action == ES_GUARD_ROLLBACK && earlier && !d->cli->read_only) {
		/* Never forward again to what a rollback took away (ours, just
		 * now, before the ledger shows it; or any in the ledger): a person
		 * decides that, with B. */
		if ((dg->rolled_from[i][0] && strcmp(dg->rolled_from[i], dg->commit[i]) == 0) ||
		    runs_a_rollback(recs, s->name)) {
			snprintf(why, sizeof(why),
			         "%s runs a rolled-back-to release; the one before, %.7s, is what "
			         "the rollback took away",
			         s->name, dg->commit[i]);
			not_acting(d, dg, i, why);
			return;
		}
		switch (may_act(d, s->name, dg->commit[i], why, sizeof(why))) {
		case ACT: roll_back(d, dg, i); return;
		case REFUSE: not_acting(d, dg, i, why); return;
		case WAIT:
			dg->waiting[i] = true;
			es_dash_log(d, ES_ACT_WARN, "guard: %s: rolling back once it settles: %s",
			            s->name, why);
			es_dash_message(d, true,
			                "guard: %s breached, %s; the guard rolls it back once the "
			                "stage settles; %s",
			                s->name, brief(s, text, sizeof(text)), WHERE_HINT);
			return;
		}
	}
	if (d->cli->read_only) {
		if (s->set.action == ES_GUARD_ROLLBACK)
			es_dash_log(d, ES_ACT_WARN,
			            "guard: %s: guard-action = rollback, but this console is "
			            "--read-only: it does not act",
			            s->name);
		es_dash_message(d, true, "guard: %s breached, %s; read-only: does not act; %s",
		                s->name, brief(s, text, sizeof(text)), WHERE_HINT);
		return;
	}
	if (earlier)
		es_dash_message(d, true, "guard: %s breached, %s; B rolls it back to %.7s; %s",
		                s->name, brief(s, text, sizeof(text)), dg->commit[i], WHERE_HINT);
	else
		es_dash_message(d, true, "guard: %s breached, %s; no earlier release; %s", s->name,
		                brief(s, text, sizeof(text)), WHERE_HINT);
	record(d, s, "alert", "guard",
	       earlier ? "the console offers the rollback (B)" : "no earlier release");
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
			dg->waiting[i] = false;
			continue;
		}
		if (!dg->announced[i]) {
			dg->announced[i] = true;
			announce(d, dg, i);
		} else if (dg->waiting[i] && es_time_now() >= dg->retry_at) {
			dg->retry_at = es_time_now() + 1.0;
			retry(d, dg, i);
		}
	}
}

void es_dash_guard_rollback(struct es_dash *d)
{
	struct dash_guard *dg = d->guard;
	const struct es_guard_stage *s;
	int k;

	if (!dg || dg->offer < 0 || !(s = es_guard_stage(dg->g, (size_t)dg->offer))) {
		es_dash_message(d, false, "guard: no breach to roll back");
		return;
	}
	if ((k = conf_stage(d, s->name)) < 0)
		return;
	int i = dg->offer;
	/* the operator decides now: the guard no longer waits to */
	dg->waiting[i] = false;
	es_guard_record_async(d->aws, d->conf, s, "rollback", d->identity, d->identity,
	                      "the operator asked for the rollback (B)");
	dg->offer = -1;
	es_actions_rollback_to(d, k, dg->commit[i]);
}

void es_dash_guard_errors(struct es_dash *d)
{
	struct dash_guard *dg = d->guard;
	const struct es_guard_stage *s;
	char footer[256] = "";
	int i;

	if (!dg || !dg->last_breach) {
		es_dash_message(d, false,
		                "guard: no breach: w shows where a breaching stage fails");
		return;
	}
	s = &dg->last;
	i = es_guard_find(dg->g, s->name);
	/* the function's name may have been read after the breach was seen */
	if (i >= 0 && strcmp(s->function, "us-east-1.") == 0)
		snprintf(dg->last.function, sizeof(dg->last.function), "%s",
		         es_guard_stage(dg->g, (size_t)i)->function);
	if (strcmp(s->function, "us-east-1.") == 0) {
		es_dash_message(d, true,
		                "where it fails: %s's function is not known yet (its stack is read "
		                "first): w again in a moment",
		                s->name);
		return;
	}
	if (i >= 0 && dg->offer == i)
		snprintf(footer, sizeof(footer), "B rolls %s back to %.7s (release %s).", s->name,
		         dg->commit[i], dg->release[i]);
	es_guard_where_open(d, &dg->where, s, footer);
}

bool es_dash_guard_busy(const struct es_dash *d)
{
	return d->guard && es_guard_where_busy(d->guard->where);
}

void es_dash_guard_free(struct es_dash *d)
{
	if (!d->guard)
		return;
	d->ui.guard = NULL;
	es_guard_where_free(&d->guard->where);
	es_guard_free(d->guard->g);
	free(d->guard);
	d->guard = NULL;
}
