/* Turning ledger records into what each stage's view shows: last action,
 * interrupted actions, the newest validation and the propagation estimate. */
#ifndef ES_STAGE_RECORDS_H
#define ES_STAGE_RECORDS_H

#include <jansson.h>
#include <stddef.h>

#include "ledger.h"
#include "model.h"

/* Fill the ledger-derived fields of every stage from list (oldest first). */
void es_stage_records_apply(struct es_stage_view *stages, size_t n_stages,
                            const struct es_record_list *list);

/* The record of a change seen propagating from start to end (new reference);
 * its record id names the change, so every console writes it once. */
json_t *es_propagation_record(const struct es_stage_view *s, double seconds, const char *modified);

#endif
