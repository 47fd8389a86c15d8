/* Tearing a stage down: its stack deleted after its Lambda@Edge
 * associations are removed, and the functions CloudFormation cannot delete
 * while their edge replicas remain retained, recorded and deleted later
 * (replicas.h). Blocking, for a headless command; it turns the client's
 * loop while it waits. */
#ifndef ES_DESTROY_H
#define ES_DESTROY_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "replicas.h"

/* Progress of a teardown: one line of text. */
typedef void (*es_destroy_note_fn)(const char *text, void *ud);

#define ES_DESTROY_MAX_RETAINED 16

struct es_destroy_result {
	char action_id[33];
	char stack_status[64]; /* where the stack ended ("DELETE_COMPLETE" when gone) */
	bool already_gone;     /* there was no stack to delete */
	int associations_removed;
	struct es_retained_function retained[ES_DESTROY_MAX_RETAINED];
	size_t n_retained;
	long intent_seq, outcome_seq;
};

/* Why stage cannot be destroyed without force (another stage promotes from
 * it): ES_EREFUSED with the reason, else ES_OK. */
int es_destroy_check(const struct es_config *conf, const char *stage, bool force);

/* Delete stage's stack under the stage lock, recorded in the ledger (kind
 * "destroy": intent, steps, outcome): an update without the Lambda@Edge
 * associations, a wait for the distribution to be Deployed, DeleteStack;
 * when the delete fails because a function is replicated, DeleteStack
 * again retaining it (each retained function recorded). Rerunnable: it
 * goes on from wherever the stack is. Waits at most timeout_s (<= 0: two
 * hours). */
int es_destroy(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
               bool force, long poll_ms, long timeout_s, es_destroy_note_fn note, void *ud,
               struct es_destroy_result *res);

/* Remove every Lambda@Edge association from the CloudFront distributions of
 * tpl (a parsed template, changed in place); how many were removed. */
int es_template_strip_edge_associations(struct json_t *tpl);

#endif
