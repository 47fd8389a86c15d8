/* Telling what changed since the last look: new ledger outcomes, and stage
 * states that moved (propagation, a release waiting for promotion). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "attention.h"
#include "base/text.h"
#include "base/timefmt.h"

/* Records older than this, back-filled after the first look (a console
 * that was offline catching up), are history, not news. */
#define STALE_S 600.0

static bool deploy_like(const char *kind)
{
	return !strcmp(kind, "deploy") || !strcmp(kind, "promotion") || !strcmp(kind, "rollback");
}

static const char *short_who(const char *arn)
{
	const char *s = strrchr(arn, '/');
	return s ? s + 1 : arn;
}

/* The event a new record is worth, if any. */
static bool record_event(const struct es_record *r, struct es_attn_event *e)
{
	if (strcmp(r->phase, "outcome") != 0)
		return false;
	memset(e, 0, sizeof(*e));
	snprintf(e->stage, sizeof(e->stage), "%s", r->stage);
	snprintf(e->commit, sizeof(e->commit), "%s", r->commit);
	if (deploy_like(r->kind)) {
		/* the ends worth a look: not an operator's own "no" or a refusal,
		 * which happen under their eyes, nor a console that let go */
		bool good = !strcmp(r->result, "success") || !strcmp(r->result, "no-changes");
		if (!good && strcmp(r->result, "failed") != 0)
			return false;
		e->kind = ES_ATTN_ACTION_ENDED;
		e->bad = !good;
		snprintf(e->text, sizeof(e->text), "%s to %s: %s%s%s (by %s)", r->kind, r->stage,
		         r->result, good || !r->message[0] ? "" : ": ", good ? "" : r->message,
		         short_who(r->who));
		return true;
	}
	if (!strcmp(r->kind, "validation") && !strcmp(r->result, "failed")) {
		e->kind = ES_ATTN_VALIDATION_FAILED;
		e->bad = true;
		snprintf(e->text, sizeof(e->text), "validation of %s failed: %s", r->stage,
		         r->message);
		return true;
	}
	return false;
}

/* The release stage i runs that waits for its promotion to stage i + 1, or
 * NULL: validated (after Deployed), and the next stage runs another commit. */
static const char *awaiting(const struct es_stage_view *stages, size_t n, size_t i)
{
	const struct es_stage_view *s = &stages[i];

	if (i + 1 >= n || !s->validated || !s->validation_passed || !s->commit[0])
		return NULL;
	if (strcmp(stages[i + 1].commit, s->commit) == 0)
		return NULL;
	return s->release[0] ? s->release : s->commit;
}

static long max_seq(const struct es_record_list *recs)
{
	return recs && recs->n ? recs->items[recs->n - 1].seq : 0;
}

size_t es_attn_observe(struct es_attn_tracker *t, const struct es_stage_view *stages,
                       size_t n_stages, const struct es_record_list *recs, unsigned long gen,
                       double now, struct es_attn_event *out, size_t max)
{
	size_t n = 0;

	if (n_stages > ES_ATTN_STAGES)
		n_stages = ES_ATTN_STAGES;
	if (!t->ready) {
		t->ready = true;
		t->since = now;
		t->seen_seq = max_seq(recs);
		t->gen = gen;
		t->have_gen = true;
		for (size_t i = 0; i < n_stages; i++) {
			const char *a = awaiting(stages, n_stages, i);
			t->prop[i] = stages[i].propagation;
			snprintf(t->awaiting[i], sizeof(t->awaiting[i]), "%s", a ? a : "");
		}
		return 0;
	}
	/* new ledger records: the ends of actions, failed validations */
	if (recs && (!t->have_gen || gen != t->gen)) {
		for (size_t j = 0; j < recs->n; j++) {
			const struct es_record *r = &recs->items[j];
			double when = es_time_parse(r->when);
			if (r->seq <= t->seen_seq)
				continue;
			if (when > 0 && when < t->since - STALE_S)
				continue;
			if (n < max && record_event(r, &out[n]))
				n++;
		}
		if (max_seq(recs) > t->seen_seq)
			t->seen_seq = max_seq(recs);
		t->gen = gen;
		t->have_gen = true;
	}
	for (size_t i = 0; i < n_stages; i++) {
		const struct es_stage_view *s = &stages[i];
		if (t->prop[i] == ES_PROP_IN_PROGRESS && s->propagation == ES_PROP_DEPLOYED &&
		    n < max) {
			struct es_attn_event *e = &out[n++];
			memset(e, 0, sizeof(*e));
			e->kind = ES_ATTN_PROPAGATED;
			snprintf(e->stage, sizeof(e->stage), "%s", s->name);
			snprintf(e->commit, sizeof(e->commit), "%s", s->commit);
			snprintf(e->text, sizeof(e->text),
			         "%s: the distribution is Deployed (every edge has %s)", s->name,
			         s->release[0] ? s->release : "the change");
		}
		if (s->propagation != ES_PROP_UNKNOWN)
			t->prop[i] = s->propagation;
		const char *a = awaiting(stages, n_stages, i);
		if (a && strcmp(a, t->awaiting[i]) != 0 && n < max) {
			struct es_attn_event *e = &out[n++];
			memset(e, 0, sizeof(*e));
			e->kind = ES_ATTN_AWAITS_PROMOTION;
			snprintf(e->stage, sizeof(e->stage), "%s", s->name);
			snprintf(e->commit, sizeof(e->commit), "%s", s->commit);
			snprintf(e->text, sizeof(e->text),
			         "%s validated %s: promotion to %s awaits approval", s->name, a,
			         stages[i + 1].name);
		}
		snprintf(t->awaiting[i], sizeof(t->awaiting[i]), "%s", a ? a : "");
	}
	for (size_t k = 0; k < n; k++)
		es_sanitize(out[k].text, false);
	return n;
}
