/* Pipeline mode: watching and driving the CodePipeline that deploys some
 * stages ([pipeline "NAME"] in edgeship.conf). Status gathers the
 * pipeline's definition, its current state and its latest executions with
 * their actions; the actions (approve, reject, retry, start, stop) are
 * recorded in the ledger like every other change. */
#ifndef ES_PIPELINE_H
#define ES_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "repo.h"

/* An approval waits at most this long unless its action says otherwise. */
#define ES_PIPELINE_APPROVAL_DEFAULT_S (7L * 24 * 3600)

/* One action of one execution (strings owned; NULL when not known). */
struct es_pl_action {
	char *stage;
	char *name;
	char *category; /* Source, Deploy, Invoke, Approval, … */
	char *provider;
	char *status; /* InProgress, Succeeded, Failed, Abandoned; NULL: not run */
	char *summary;
	char *error; /* why it failed */
	char *external_id;
	char *updated_by;
	double start, changed; /* epoch seconds, 0 when unknown */
};

/* One execution, newest first in es_pl_status. */
struct es_pl_execution {
	char *id;
	char *status;
	char *summary; /* statusSummary: why it failed */
	char *trigger;
	char *stop_reason;
	double start, updated;
	char *revision;         /* source revision id (S3 object version, commit id) */
	char *revision_summary; /* as the source recorded it */
	char commit[41];        /* the commit of the repository it names, "" when none */
	char short_commit[8];
	char subject[256];
	struct es_pl_action *actions;
	size_t n_actions;
};

/* The approval waiting now (waiting false when none). */
struct es_pl_approval {
	bool waiting;
	char *stage, *action, *token, *execution_id;
	char *custom_data, *url;
	double since, expires;
};

/* A pipeline stage now. */
struct es_pl_stage {
	char *name;
	char *status;       /* of its latest execution there, NULL: never ran */
	char *execution_id; /* that execution */
	char *inbound_id;   /* an execution waiting to enter, or NULL */
	char *deploys;      /* the edgeship stage it deploys (pipeline-stage), or NULL */
};

struct es_pl_status {
	char *section;  /* [pipeline "NAME"] */
	char *pipeline; /* CodePipeline name */
	struct es_pl_stage *stages;
	size_t n_stages;
	struct es_pl_execution *execs;
	size_t n_execs;
	struct es_pl_approval approval;
	/* The validator: the newest Lambda invoke action's result. */
	char *validator_action, *validator_status, *validator_summary;
};

/* The [pipeline] section name (NULL: the only one; ES_EINVAL when there
 * are several or none). */
const struct es_pipeline_conf *es_pipeline_pick(const struct es_config *conf, const char *name);

/* Definition, state and the max_execs latest executions of the pipeline;
 * repo (may be NULL) matches source revisions to commits. */
int es_pipeline_status(struct es_aws_client *aws, const struct es_config *conf,
                       struct es_repo *repo, const struct es_pipeline_conf *pc, size_t max_execs,
                       struct es_pl_status *out);
void es_pipeline_status_free(struct es_pl_status *s);
/* Match the executions' source revisions to commits of repo (a local git
 * lookup; es_pipeline_status does it when given a repository, a job
 * working without one leaves it to its owner). */
void es_pipeline_match_commits(struct es_repo *repo, struct es_pl_status *st);
/* The status as JSON text (malloc'd), for --json. now: epoch seconds. */
char *es_pipeline_status_json(const struct es_pl_status *s, double now);

enum es_pl_op { ES_PL_APPROVE, ES_PL_REJECT, ES_PL_RETRY, ES_PL_START, ES_PL_STOP };

struct es_pl_request {
	enum es_pl_op op;
	const char *comment;   /* approve/reject summary, stop reason */
	bool abandon;          /* stop: abandon running actions */
	const char *stage;     /* retry: the pipeline stage (NULL: the failed one) */
	const char *execution; /* stop/retry: the execution (NULL: the latest fitting one) */
};

struct es_pl_result {
	char action_id[33];
	char execution_id[64];
	char stage[128];  /* the pipeline stage acted on */
	char action[128]; /* the approval action */
	long intent_seq, outcome_seq;
	bool already; /* the answer was lost, and the change was found made */
};

/* The op's name: "approve", "reject", … */
const char *es_pipeline_op_name(enum es_pl_op op);
/* What req would do, in one line for a confirmation question, into buf;
 * ES_EREFUSED when there is nothing to do (no approval waiting, no failed
 * stage, nothing running), saying why. */
int es_pipeline_plan(const struct es_pl_status *st, const struct es_pl_request *req, char *buf,
                     size_t len);
/* Do req against the pipeline st describes, recorded in the ledger (an
 * intent, then the outcome: what, who, execution id, comment). */
int es_pipeline_act(struct es_aws_client *aws, const struct es_config *conf,
                    const struct es_pl_status *st, const struct es_pl_request *req,
                    struct es_pl_result *out);

#endif
