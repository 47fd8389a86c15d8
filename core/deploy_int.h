/* What the deploy machine's files share: the deploy's state and the helpers
 * that preparation (deploy_prep.c), stage locks (lock.c) and the state
 * machine (deploy.c) call in one another. Not part of core's API. */
#ifndef ES_DEPLOY_INT_H
#define ES_DEPLOY_INT_H

#include <jansson.h>
#include <stdint.h>

#include "deploy.h"
#include "ledger.h"

/* CloudFormation takes a template body up to this size; larger ones go by URL. */
#define TEMPLATE_BODY_MAX 51200

enum es_dp_state {
	ST_DESCRIBE,
	ST_DELETE_EMPTY, /* a ROLLBACK_COMPLETE stack must go before CREATE */
	ST_CREATE_CS,
	ST_WAIT_CS,
	ST_CONFIRM,
	ST_EXECUTE,
	ST_FOLLOW,
	ST_FINAL,
	ST_DONE
};

struct es_deploy {
	struct es_aws_client *aws;
	struct es_loop *loop;
	const struct es_config *conf;
	const struct es_stage_conf *stage;
	struct es_ledger *ledger;
	es_deploy_event_fn fn;
	void *ud;
	enum es_dp_state st;
	bool yes;
	long poll_ms;
	long backoff_ms;
	uint64_t timer;
	const char *kind;
	struct es_deploy_result res;
	char *template_body;
	json_t *artifacts; /* [{logical_id, property, key, sha256}] */
	char cs_name[128];
	char *cs_id;
	double cs_created; /* epoch seconds */
	struct es_change_set cs;
	char *stack_status_before;
	/* Event following. */
	char **stacks; /* root first, then nested stack ids */
	size_t n_stacks;
	size_t poll_index;
	char **seen;
	size_t n_seen;
	bool root_settled;
	int empty_polls_after_settle;
	char lock_key[600]; /* held stage lock, "" when none */
	char lock_body[1024];
	uint64_t lock_timer;
};

/* deploy.c */
void es_dp_log(struct es_deploy *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void es_dp_emit(struct es_deploy *d, enum es_deploy_event_kind k, const char *text);
void es_dp_set_result(struct es_deploy *d, int status, const char *result, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Record the intent in the ledger (sets d->res.intent_seq). */
int es_dp_write_intent(struct es_deploy *d);
/* Enter the state machine: describe the stack, then change set onwards. */
void es_dp_begin(struct es_deploy *d);

/* lock.c */
/* Take the stage's lock for d (ES_EBUSY when someone holds it). */
int es_dp_take_lock(struct es_deploy *d);
void es_dp_drop_lock(struct es_deploy *d);

#endif
