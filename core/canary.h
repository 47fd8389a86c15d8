/* A canary through CloudFront continuous deployment: a release runs on a
 * staging distribution that gets a share of the stage's requests (by
 * weight, or those carrying a header) while the primary keeps the current
 * release; then it is promoted or discarded.
 *
 * How it plays with CloudFormation: the stack owns the primary
 * distribution and the stage's functions, and edgeship never changes
 * either behind its back except to attach the policy. The staging
 * distribution (a CopyDistribution of the primary), the policy, and one
 * canary function per function the release changes (es-canary-…, created
 * from the stack function's configuration with the release's code) are
 * edgeship's, made through the API. Promotion copies the staging config to
 * the primary (UpdateDistributionWithStagingConfig, which also disables
 * the policy); the caller then deploys the release to the stack, so the
 * template owns the primary again. Every action takes the stage lock and is
 * recorded in the ledger (kind "canary": intent, outcome). Blocking, for
 * headless commands and background jobs. */
#ifndef ES_CANARY_H
#define ES_CANARY_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "aws/cloudfront_cd.h"
#include "conf.h"

typedef void (*es_canary_note_fn)(const char *text, void *ud);

#define ES_CANARY_MAX_FUNCTIONS 8

/* Where a stage's canary stands, read from CloudFront (and the ledger for
 * which release staging runs). */
struct es_canary_status {
	char stage[64];
	char primary_id[64];
	char primary_status[32];
	char primary_lambda[300];
	char staging_id[64]; /* "" when the stage has no staging distribution */
	char staging_domain[160];
	char staging_status[32];
	char staging_lambda[300];
	char policy_id[64]; /* "" when none is attached */
	bool enabled;       /* the policy sends requests to staging */
	struct es_cd_traffic traffic;
	char release[80]; /* the release the latest canary start put on staging */
	char commit[41];
	char started_by[300];
};

struct es_canary_result {
	char action_id[33];
	long intent_seq, outcome_seq;
	char release[80];
	char commit[41];
	char template_key[512]; /* promote: what the follow-up deploy deploys */
	char template_sha256[65];
	char staging_id[64];
	char policy_id[64];
	struct es_cd_traffic traffic;
	size_t n_functions;
	char functions[ES_CANARY_MAX_FUNCTIONS][160]; /* the stack functions changed */
	char versions[ES_CANARY_MAX_FUNCTIONS][300];  /* the canary versions staging runs */
	char message[512];
	bool check_failed; /* check: a check did not pass */
};

/* The name of the canary function of a stack function (at most 64 bytes). */
void es_canary_function_name(const char *function, char *out, size_t len);

/* The canary's state on stage (ES_OK with staging_id "" when it has none). */
int es_canary_status(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                     struct es_canary_status *out);

/* Put a release on stage's staging distribution and send it traffic
 * (traffic NULL: the stage's canary key). The release: for a stage that
 * promotes, what a promotion would deploy (every promotion rule checked);
 * else commit's recorded release (a full id). */
int es_canary_start(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    const char *commit, const struct es_cd_traffic *traffic, es_canary_note_fn fn,
                    void *ud, struct es_canary_result *res);

/* Send weight (0 to 0.15) of requests to staging; refused for a header
 * canary and when lower than today's (discard instead). */
int es_canary_widen(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    double weight, es_canary_note_fn fn, void *ud, struct es_canary_result *res);

/* Send no more requests to staging (the policy disabled); the primary is
 * untouched. */
int es_canary_discard(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                      es_canary_note_fn fn, void *ud, struct es_canary_result *res);

/* Make the primary serve what staging serves; res names the release for
 * the deploy that follows. Refused unless staging is Deployed and runs the
 * release the latest canary start recorded. */
int es_canary_promote(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                      es_canary_note_fn fn, void *ud, struct es_canary_result *res);

struct es_validation;

/* A header canary's checks: the stage's checks sent with the canary's
 * header, so they reach the staging distribution; recorded in the ledger
 * (kind canary, action check, passed). Refused for a weight canary
 * (CloudFront offers no way to reach staging on purpose then) and while
 * staging is not Deployed. out as es_validation_run fills it. */
int es_canary_check(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    es_canary_note_fn fn, void *ud, struct es_validation *out,
                    struct es_canary_result *res);

/* After es_canary_promote: deploy res's release to the stage's stack (a
 * promotion for a stage that promotes, else a deploy of the recorded
 * release), waiting while the stage is busy with the promotion's change,
 * at most timeout_s (<= 0: an hour). Blocking; progress lines through fn.
 * The deploy's own records are its outcome. */
int es_canary_adopt(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    const struct es_canary_result *res, long poll_ms, long timeout_s,
                    es_canary_note_fn fn, void *ud);

struct es_ledger;

/* Before a stage's stack is deleted (edgeship destroy): when the ledger
 * says the stage had a canary, detach and delete its policy, disable and
 * delete its staging distribution (waiting for Deployed, poll_ms apart,
 * until the epoch deadline), and name in functions (ARNs, at most max) the
 * canary functions staging ran: their edge replicas outlive it, so the
 * caller records them for cleanup. ES_OK with *n 0 when there was none. */
int es_canary_teardown(struct es_aws_client *aws, const struct es_config *conf,
                       const struct es_stage_conf *sc, struct es_ledger *l, long poll_ms,
                       double deadline, es_canary_note_fn fn, void *ud, char (*functions)[300],
                       size_t max, size_t *n);

/* A distribution's CloudWatch figures over the periods the guard keeps. */
struct es_canary_figures {
	bool have; /* CloudWatch answered */
	double requests;
	double errors_5xx; /* requests answered 5xx */
	double rate_5xx;   /* percent of requests */
	double lambda_errors;
	char line[600]; /* the guard's line: sparklines and the latest period */
};

/* The primary's and the staging distribution's figures side by side, from
 * one GetMetricData (the stage's guard-period, else 60 s periods). */
int es_canary_figures(struct es_aws_client *aws, const struct es_config *conf,
                      const struct es_canary_status *st, struct es_canary_figures *primary,
                      struct es_canary_figures *staging);

/* status --json: both distributions, the policy, the release on staging
 * and the figures (each may be NULL) as malloc'd text. */
char *es_canary_status_json(const struct es_canary_status *st,
                            const struct es_canary_figures *primary,
                            const struct es_canary_figures *staging);
/* An action's result as malloc'd JSON text. */
char *es_canary_result_json(const char *stage, const char *action,
                            const struct es_canary_result *r);

#endif
