/* What the guard writes and reads beyond its figures: the breach and the
 * decision taken on it in the ledger, the release to roll back to, and the
 * figures inside `status --json`. */
#ifndef ES_GUARD_RECORD_H
#define ES_GUARD_RECORD_H

#include "aws/aws.h"
#include "conf.h"
#include "guard.h"

/* Append a "guard" record for s's breach: the figures, the decision
 * ("rollback", "alert", "declined") and who made it ("guard", or NULL: the
 * caller's identity). Blocking. */
int es_guard_record(struct es_aws_client *aws, const struct es_config *conf,
                    const struct es_guard_stage *s, const char *decision, const char *decided_by,
                    const char *note);

/* The same without waiting (the screen's loop): who names the console's
 * identity for the record (the caller ARN, when known). */
int es_guard_record_async(struct es_aws_client *aws, const struct es_config *conf,
                          const struct es_guard_stage *s, const char *decision,
                          const char *decided_by, const char *who, const char *note);

/* The release stage ran before its current one, from the ledger's
 * successful deploys, promotions and rollbacks: commit and release name.
 * ES_ENOTFOUND when there is none. Blocking. */
int es_guard_previous_release(struct es_aws_client *aws, const struct es_config *conf,
                              const char *stage, char commit[41], char release[80]);

/* overview_json (es_overview_json's text) with a "guard" object in each
 * guarded stage; malloc'd, NULL on failure. */
char *es_guard_overview_json(const char *overview_json, const struct es_guard *g);

/* One stage's figures as JSON text (malloc'd). */
char *es_guard_stage_json_text(const struct es_guard *g, size_t i);

/* Send a poll now and turn the loop until its answer (headless). */
int es_guard_poll_wait(struct es_guard *g);

#endif
