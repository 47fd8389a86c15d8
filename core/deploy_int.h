/* What the deploy machine's files share: the deploy's state, and the entry
 * points preparation (deploy_prep.c) calls in the state machine (deploy.c).
 * Not part of core's API. */
#ifndef ES_DEPLOY_INT_H
#define ES_DEPLOY_INT_H

#include <jansson.h>
#include <stdint.h>

#include "deploy.h"
#include "ledger.h"
#include "job.h"
#include "lock.h"

/* CloudFormation takes a template body up to this size; larger ones go by URL. */
#define TEMPLATE_BODY_MAX 51200

enum es_dp_state {
	ST_PREPARE, /* the background job packages, checks, locks, uploads */
	ST_DESCRIBE,
	ST_DELETE_EMPTY, /* a ROLLBACK_COMPLETE stack must go before CREATE */
	ST_CREATE_CS,
	ST_WAIT_CS,
	ST_CONFIRM,
	ST_EXECUTE,
	ST_CHECK_EXEC, /* ExecuteChangeSet's answer was unclear: is it executing? */
	ST_FOLLOW,
	ST_FINAL,
	ST_FINISHING, /* outcome being recorded, lock being released */
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
	json_t *build;     /* what happened to the build (es_build_info_json), or NULL */
	char cs_name[128];
	char *cs_id;
	double cs_created; /* epoch seconds */
	struct es_change_set cs;
	char *stack_status_before; /* as the rule check read it ("": no stack) */
	/* Event following. */
	char **stacks; /* root first, then nested stack ids */
	size_t n_stacks;
	size_t poll_index;
	char **seen;
	size_t n_seen;
	bool root_settled;
	int looks;                 /* looks so far at what is awaited (the next one waits longer) */
	struct es_lock *lock;      /* the stage lock while held */
	struct es_lock *releasing; /* the lock while its release is in flight */
	char action_id[33];        /* names every record and request of this action */
	char exec_token[160];      /* ExecuteChangeSet's ClientRequestToken */
	bool executed;             /* ExecuteChangeSet was accepted (or found to be) */
	int exec_attempts;
	double deadline;                /* epoch seconds: following stops (detached) after this */
	long timeout_s;                 /* how long to follow (default 2 hours) */
	int transient_streak;           /* transient errors in a row while following */
	struct es_error exec_err;       /* why ExecuteChangeSet's answer was unclear */
	char detach_reason[256];        /* asked to stop following: why */
	struct es_stack_event_page acc; /* event pages gathered before showing them */
	int pages;
	int inflight; /* requests whose answers are due */
	/* The preparation job and what it was handed (only it touches these
	 * while it runs; the owner reads them once it is done). */
	struct es_job *job;
	struct es_job *prep_job;
	struct es_ledger *prep_ledger;
	struct {
		bool yes, create_bucket, has_release, already;
		es_deploy_check_fn check;
		void *check_arg;
		void (*check_free)(void *arg);
		struct es_release_buf rel;
		struct es_release_ref ref;
		char repo_root[4096];
		char rev[256];
		char who[256];
		char from[64]; /* promotion: the stage whose bucket holds the release */
	} prep;
	/* The configuration as this stage sees it: its own bucket in place of
	 * [app] bucket (conf points here). */
	struct es_config conf_view;
	bool zombie; /* freed by its owner: free once it is done */
};

/* deploy_copy.c: on the job, a release from another stage's bucket copied
 * into this stage's (base: the job's client; aws: this stage's). */
int es_dp_fetch_release(struct es_aws_client *base, struct es_aws_client *aws, struct es_deploy *d);

/* deploy.c */
void es_dp_log(struct es_deploy *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void es_dp_emit(struct es_deploy *d, enum es_deploy_event_kind k, const char *text);
void es_dp_deliver(struct es_deploy *d, const struct es_deploy_event *ev);
/* Mark this thread as running d's preparation (NULL: no longer), and ask. */
void es_dp_preparing(struct es_deploy *d);
bool es_dp_preparing_here(const struct es_deploy *d);
void es_dp_set_result(struct es_deploy *d, int status, const char *result, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Record the intent in the ledger (sets d->res.intent_seq). */
int es_dp_write_intent(struct es_deploy *d, struct es_ledger *ledger);
/* Enter the state machine: describe the stack, then change set onwards. */
void es_dp_begin(struct es_deploy *d);

/* End without following: a failure before anything changed, with the lock
 * released and the outcome recorded if an intent was. */
void es_dp_finish(struct es_deploy *d);
/* Lock trouble while the action runs: logged, never fatal to following. */
void es_dp_lock_event(enum es_lock_event ev, const char *text, void *ud);

#endif
