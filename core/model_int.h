/* What model.c and model_ledger.c share: the model's state and the few
 * functions one calls in the other. Not part of core's API. */
#ifndef ES_MODEL_INT_H
#define ES_MODEL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "edges.h"
#include "ledger.h"
#include "model.h"

struct es_model {
	struct es_aws_client *aws;
	struct es_loop *loop;
	const struct es_config *conf;
	struct es_stage_view *stages;
	struct es_edge_probe **sampling; /* per stage, in flight or NULL */
	struct edge_ctx *edge_ctx;       /* per stage */
	size_t n_stages;
	struct es_activity *activity; /* ring */
	size_t act_start, act_n;
	es_model_changed_fn fn;
	void *ud;
	int outstanding; /* requests of the current round in flight */
	bool round_failed;
	char round_error[256];
	long backoff_ms;
	char connection[320];
	uint64_t timer;
	uint64_t ledger_timer;
	bool zombie;              /* freed by its owner while answers were still due */
	bool again;               /* a refresh was asked for while a round was in flight */
	bool force;               /* the next round reads every stack (a refresh, or the first) */
	struct es_ledger *ledger; /* records read in the background (NULL: none) */
	int ledger_pending;       /* ledger requests in flight */
	bool ledger_again;        /* read once more when those are done */
	bool read_only;           /* record nothing, not even propagation times */
	bool asked_who;           /* GetCallerIdentity sent for the ledger's "who" */
	double *stack_polled;     /* per stage: when DescribeStacks last went out */
	double *detail_modified;  /* per stage: dist_modified the detail was read for */
};

struct req {
	struct es_model *m;
	size_t stage; /* the stage a stack or distribution answer is for */
	long seq;     /* the ledger record a GetObject answer carries */
};

/* model.c */
void es_mdl_changed(struct es_model *m, unsigned what);
/* Free now: the owner let go and no answer is still due. */
void es_mdl_free_now(struct es_model *m);
/* A ledger answer after es_model_free(): drop it (true), freeing with the last. */
bool es_mdl_ledger_gone(struct es_model *m);

/* model_ledger.c */
/* Timer: apply the cached records, then fetch newer ones in the background. */
void es_mdl_read_ledger(struct es_loop *loop, void *ud);
/* Record a propagation seen from start to end (once per change). */
void es_mdl_record_propagation(struct es_model *m, size_t stage, double seconds,
                               const char *modified);

#endif
