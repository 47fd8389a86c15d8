/* Deploying a release to a stage, as a state machine on the event loop:
 * package the commit (or reuse a recorded release), upload what is missing,
 * write the ledger intent, create a change set, show it and ask, execute,
 * follow the stack events to the end, write the ledger outcome. */
#ifndef ES_DEPLOY_H
#define ES_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/aws.h"
#include "aws/cloudformation.h"
#include "conf.h"
#include "repo.h"

enum es_deploy_event_kind {
	ES_DEPLOY_LOG,         /* a progress line (text) */
	ES_DEPLOY_CHANGES,     /* the change set is ready (change_set) */
	ES_DEPLOY_QUESTION,    /* waiting for es_deploy_answer() (text is the question) */
	ES_DEPLOY_STACK_EVENT, /* one stack event, oldest first (event) */
	ES_DEPLOY_PROGRESS,    /* how far a long step is (text, done and total bytes): each
	                        * replaces the last; not a line for the log */
	ES_DEPLOY_DONE         /* finished: es_deploy_result() */
};

struct es_deploy_event {
	enum es_deploy_event_kind kind;
	const char *text;
	const struct es_change_set *change_set;
	const struct es_stack_event *event;
	bool nested;          /* the event belongs to a nested stack */
	uint64_t done, total; /* ES_DEPLOY_PROGRESS */
};

typedef void (*es_deploy_event_fn)(const struct es_deploy_event *ev, void *ud);

/* An already packaged release (promotion and rollback reuse it). */
struct es_release_ref {
	const char *commit;
	const char *release;
	const char *template_key; /* key in the artifact bucket */
	const char *template_sha256;
};

/* A recorded release by value, as a check names it. */
struct es_release_buf {
	char commit[41];
	char release[80];
	char template_key[512];
	char template_sha256[65];
	char message[512]; /* with *already: why there is nothing to do */
};

/* Runs on the deploy's background job, with the job's own client, before
 * anything changes: checks the release rules of a promotion or rollback and
 * names the recorded release to deploy into out. *already true: the stage
 * already runs it (the deploy ends "no-changes" with out->message). */
typedef int (*es_deploy_check_fn)(struct es_aws_client *aws, const struct es_config *conf,
                                  void *arg, struct es_release_buf *out, bool *already);

struct es_deploy_request {
	const struct es_config *conf;
	struct es_repo *repo; /* needed unless release is given */
	const char *rev;      /* commit to package (default HEAD) */
	const char *stage;
	const struct es_release_ref *release; /* NULL: package rev */
	const char *kind;         /* ledger kind: "deploy" (default), "promotion", "rollback" */
	bool yes;                 /* answer every question with yes */
	bool create_bucket;       /* create a missing artifact bucket (implied by yes) */
	long poll_ms;             /* stack polling interval (default 2000) */
	long timeout_s;           /* stop following after this long (default 7200): detached */
	es_deploy_check_fn check; /* promotion, rollback: names the release (on the job) */
	void *check_arg;          /* owned by the deploy once started */
	void (*check_free)(void *arg); /* frees check_arg (may be NULL) */
	const char *from; /* promotion: the stage promoted from (its bucket, its account) */
};

struct es_deploy_result {
	int status; /* ES_OK, or the failure's status */
	/* success | failed | no-changes | cancelled | refused | detached (the
	 * console stopped following; CloudFormation's end is recorded later by
	 * whichever console sees it) */
	char result[24];
	char message[1024];
	char stack_status[64];
	char stage[64];
	char commit[41];
	char release[80];
	char template_key[512];
	char template_sha256[65];
	char change_set_type[8]; /* CREATE | UPDATE */
	size_t n_changes;
	size_t n_uploaded; /* objects uploaded (0 when all were there) */
	size_t n_artifacts;
	long intent_seq;
	long outcome_seq;
	char action_id[33];
	char change_set[128];
	char root_cause[1024]; /* first failure reason, for failed deploys */
	struct es_kv *outputs;
	size_t n_outputs;
};

struct es_deploy;

/* Start a deploy; progress arrives through fn on the loop's thread, and
 * every outcome (refusals of the release rules included) as ES_DEPLOY_DONE.
 * Only local mistakes (unknown stage) fail here, without side effects. The
 * preparation (packaging, rule checks, lock, uploads, intent) runs on a
 * background job; the loop stays free for keys and drawing. */
int es_deploy_start(struct es_aws_client *aws, const struct es_deploy_request *req,
                    es_deploy_event_fn fn, void *ud, struct es_deploy **out);
/* Answer the pending ES_DEPLOY_QUESTION. */
void es_deploy_answer(struct es_deploy *d, bool yes);
/* Stop following (quit, Ctrl-C, SIGTERM): before ExecuteChangeSet the
 * deploy is cancelled; after, it ends `detached` while CloudFormation
 * carries on. Either way the outcome is recorded and the lock released
 * before ES_DEPLOY_DONE. */
void es_deploy_detach(struct es_deploy *d, const char *reason);
bool es_deploy_done(const struct es_deploy *d);
const struct es_deploy_result *es_deploy_result(const struct es_deploy *d);
/* The outcome as JSON text (malloc'd), the same object the ledger keeps. */
char *es_deploy_result_json(const struct es_deploy *d);
void es_deploy_free(struct es_deploy *d);

/* Remove a stage's lock left by a console that died, recording whose it was
 * and who removed it in the ledger. ES_ENOTFOUND when the stage is not
 * locked; ES_EBUSY when its holder renewed it meanwhile. */
int es_deploy_unlock(struct es_aws_client *aws, const struct es_config *conf, const char *stage);

#endif
