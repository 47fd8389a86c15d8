/* What deserves the operator's attention, told apart from what the model
 * already showed: a deploy, promotion or rollback that ended, a stage whose
 * distribution reached Deployed, a validation that failed, a release that
 * waits for its promotion. Pure: the caller hands over the stages and the
 * ledger records as the model holds them; sending is notify.c's. */
#ifndef ES_ATTENTION_H
#define ES_ATTENTION_H

#include <stdbool.h>
#include <stddef.h>

#include "ledger.h"
#include "model.h"

#define ES_ATTN_STAGES 16

enum es_attn_kind {
	ES_ATTN_ACTION_ENDED,      /* deploy, promotion or rollback outcome */
	ES_ATTN_PROPAGATED,        /* InProgress -> Deployed */
	ES_ATTN_VALIDATION_FAILED, /* a failed validation record */
	ES_ATTN_AWAITS_PROMOTION,  /* validated, and the next stage runs something else */
};

struct es_attn_event {
	enum es_attn_kind kind;
	bool bad; /* a failure (the bell rings for every event) */
	char stage[64];
	char commit[41]; /* "" when none */
	char text[512];  /* one line, control characters removed */
};

struct es_attn_tracker {
	bool ready;        /* the first look was taken: only changes count */
	double since;      /* when (epoch seconds) */
	long seen_seq;     /* records up to this number were looked at */
	unsigned long gen; /* the records' generation last looked at */
	bool have_gen;
	enum es_prop_state prop[ES_ATTN_STAGES];
	char awaiting[ES_ATTN_STAGES][80]; /* the release announced as awaiting promotion */
};

/* Compare stages and recs (oldest first; gen: the model's generation of
 * them) with what t saw, write up to max events into out and return how
 * many. The first call only takes the look (no events): what was already
 * there when the console opened needs no bell. now: epoch seconds. */
size_t es_attn_observe(struct es_attn_tracker *t, const struct es_stage_view *stages,
                       size_t n_stages, const struct es_record_list *recs, unsigned long gen,
                       double now, struct es_attn_event *out, size_t max);

#endif
