/* Recording how an action ended when the console that started it did not:
 * it was killed, lost its connection, or stopped following (detached). The
 * action's change set says whether it was executed and how that ended; the
 * outcome is written once (its record id is the action's), by whichever
 * console sees the end first. */
#ifndef ES_RESOLVE_H
#define ES_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "ledger.h"

/* The open actions of records worth looking at: per stage the newest
 * deploy-like intent without a final outcome, whose console no longer
 * holds the stage lock. */
struct es_open_action {
	char stage[64];
	char stack[128];
	char kind[24];
	char action_id[40];
	char change_set[160];
	long intent_seq;
	char commit[41];
	char release[80];
};

/* Fill out (malloc'd array) from recs. */
int es_open_actions(const struct es_record_list *recs, struct es_open_action **out, size_t *n);

typedef void (*es_resolve_done_fn)(int rc, size_t recorded, void *ud);

/* Look up each open action of recs whose stage lock nobody holds and
 * record the outcome of those that ended; asynchronously. done gets how
 * many outcomes were written (at once, before this returns, when there is
 * nothing to look at). Actions still executing are left alone. */
int es_resolve_start(struct es_aws_client *aws, const struct es_config *conf,
                     struct es_ledger *ledger, const struct es_record_list *recs,
                     es_resolve_done_fn done, void *ud);

/* The same, blocking (headless commands). */
int es_resolve(struct es_aws_client *aws, const struct es_config *conf, struct es_ledger *ledger,
               const struct es_record_list *recs, size_t *recorded);

#endif
