/* Stack operations beside releases: drift detection (read-only) and the
 * recovery of a stack stuck in UPDATE_ROLLBACK_FAILED. Both are blocking,
 * for a headless command or a background job; they turn the client's loop
 * while they wait. */
#ifndef ES_OPS_H
#define ES_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "aws/cloudformation.h"
#include "conf.h"

struct es_drift_report {
	char stage[64];
	char stack[128];
	char drift_status[24]; /* DRIFTED | IN_SYNC | UNKNOWN | NOT_CHECKED */
	long drifted_count;
	struct es_resource_drift *resources; /* every resource, as AWS listed them */
	size_t n;
	size_t polls; /* DescribeStackDriftDetectionStatus calls it took */
};

/* Detect drift on stage's stack and read every resource's drift (all
 * pages). Waits for the detection with a backoff from 0.2 s to 5 s, at most
 * timeout_s (<= 0: 300 s). ES_ENOTFOUND when the stack does not exist. */
int es_drift_check(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                   long timeout_s, struct es_drift_report *out);
void es_drift_report_free(struct es_drift_report *r);
/* The report as JSON text (malloc'd). */
char *es_drift_report_json(const struct es_drift_report *r);

/* What the last drift detection on stage's stack found (DescribeStacks'
 * DriftInformation), without a new detection: drift_status "" when none
 * was run or the stack does not exist; the resources when DRIFTED. */
int es_drift_last(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                  struct es_drift_report *out);

/* The newest *_FAILED event of stack: the resource that failed and why
 * (both "" when none; strings copied into the buffers). */
int es_stack_failure(struct es_aws_client *aws, const char *stack, char *resource, size_t rlen,
                     char *reason, size_t len);

/* Progress of a recovery: one line of text. */
typedef void (*es_recover_note_fn)(const char *text, void *ud);

struct es_recover_result {
	char action_id[33];
	char stack_status[64]; /* where the stack ended */
	char resource[128];    /* when it failed again: the resource… */
	char reason[512];      /* …and why */
	long intent_seq, outcome_seq;
};

/* ContinueUpdateRollback on stage's stack, skipping skip[0..n), under the
 * stage lock, recorded in the ledger (intent and outcome, kind "recover"),
 * followed until the stack settles (at most timeout_s; <= 0: 3600 s).
 * ES_OK when it reached UPDATE_ROLLBACK_COMPLETE; ES_EREFUSED when the
 * stack is not in UPDATE_ROLLBACK_FAILED; ES_ERR when the rollback failed
 * again (res says where and why). */
int es_recover(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
               const char *const *skip, size_t n, long poll_ms, long timeout_s,
               es_recover_note_fn note, void *ud, struct es_recover_result *res);

#endif
