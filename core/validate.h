/* Validation: a stage's checks sent to what it serves now and judged fail
 * closed (a check passes only when every sample answered and matched), the
 * result recorded in the ledger with the release, stack status and
 * distribution state it saw; and the rule that decides whether such a
 * record still stands for what the stage runs. */
#ifndef ES_VALIDATE_H
#define ES_VALIDATE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "aws/http.h"
#include "base/loop.h"
#include "conf.h"
#include "ledger.h"
#include "model.h" /* struct es_check_result, ES_MODEL_MAX_CHECKS */

struct es_sample_result {
	long status; /* HTTP status, 0 when no answer arrived */
	double latency_ms;
	bool ok;       /* answered and matched every expectation */
	char why[256]; /* why not, e.g. "unreachable: … at URL" ("" when ok) */
};

struct es_check_run {
	struct es_check_result result; /* name, passed, status, latency, one-line detail */
	char url[1024];                /* what was asked for */
	char via[256];                 /* the edge address it went to ("" for DNS) */
	int n_samples;                 /* requests sent (the check's samples) */
	int n_ok;
	struct es_sample_result samples[ES_CHECK_MAX_SAMPLES];
};

/* One validation: what it saw and what it found. Large (about 110 KB):
 * allocate it, do not put it on a small stack. */
struct es_validation {
	char stage[64];
	char stack[128];
	char stack_status[64];
	char commit[41];
	char release[80];
	char template_sha256[65];
	char distribution_id[64];     /* "" when the stack has none */
	char distribution_status[24]; /* Deployed | InProgress */
	char distribution_etag[64];
	char distribution_modified[40]; /* LastModifiedTime, ISO 8601 */
	bool passed;                    /* at least one check, and every check passed */
	size_t n_checks;
	struct es_check_run checks[ES_MODEL_MAX_CHECKS];
	long seq; /* the ledger record written, 0 when none */
};

/* Whether validation may run on a stage in this state: ES_OK, or
 * ES_EREFUSED (the stack does not exist, runs no edgeship release, or is
 * in a failed state) or ES_EBUSY (CloudFormation is working on it), each
 * with a message saying what to do. A distribution still InProgress does
 * not stop it: the record says so and promotion will not accept it. */
int es_validation_may_run(const char *stage, bool exists, const char *stack_status,
                          const char *release);

/* Judge one answer to check k: true when it arrived and matched (status,
 * body-contains, body-matches, header). Otherwise why says what failed,
 * naming the kind of transport failure (unreachable, timeout, DNS failure,
 * TLS error, connection dropped) with url and, when routed through an
 * edge address, via. re is k's compiled body-matches (NULL when none). */
bool es_check_judge(const struct es_check_conf *k, const regex_t *re,
                    const struct es_http_response *resp, const char *url, const char *via,
                    char *why, size_t len);

/* Run the checks of conf that apply to stage sc, every sample at once on
 * loop, against sc's url or else https://domain, through sc's first probe
 * when it has one; fill out's checks and passed (false with no check at
 * all). Blocks in quiet loop turns until every answer is in. Touches no
 * other field of out. */
int es_validation_run(struct es_loop *loop, const struct es_config *conf,
                      const struct es_stage_conf *sc, const char *domain,
                      struct es_validation *out);
/* The same with one more request header ("Name: value", or NULL): a
 * header canary's checks carry its header to reach the staging
 * distribution. */
int es_validation_run_with(struct es_loop *loop, const struct es_config *conf,
                           const struct es_stage_conf *sc, const char *domain, const char *header,
                           struct es_validation *out);

/* Validate stage now: read what it runs, refuse as es_validation_may_run
 * says, run the checks, and append the outcome to the ledger (out->seq).
 * ES_OK whether the checks passed or not; out->passed tells. */
int es_validate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                struct es_validation *out);

/* out as `validate --json` prints it (malloc'd). */
char *es_validation_json(const struct es_validation *v);

/* ------------------------------------------------------------ the rule */

/* What a stage runs now, as the rule compares it with a record. Unknown
 * fields (NULL, 0) are not compared. */
struct es_stage_state {
	const char *release;           /* the stack's edgeship:release tag */
	const char *distribution_id;   /* "" or NULL when none */
	const char *distribution_etag; /* NULL when unknown */
	double distribution_modified;  /* LastModifiedTime as epoch seconds, 0 unknown */
};

enum es_validation_state {
	ES_VALIDATION_NONE,        /* the stage was never validated */
	ES_VALIDATION_STALE,       /* the newest validation was of something else */
	ES_VALIDATION_IN_PROGRESS, /* of this release, but taken while InProgress */
	ES_VALIDATION_FAILED,      /* of this release and state, and it failed */
	ES_VALIDATION_PASSED,      /* of this release and state, and it passed */
};

struct es_validation_verdict {
	enum es_validation_state state;
	const struct es_record *record; /* the stage's newest validation (in recs), or NULL */
	char why[512];                  /* one line for people; what to do when not PASSED */
};

/* Judge the newest validation of stage in recs (ascending seq, as the
 * ledger reads them) against now. It stands for what the stage runs only
 * when it names the same release, no deploy, promotion or rollback of the
 * stage succeeded after it, and the distribution (id, ETag, last change)
 * is the one it saw. Only ES_VALIDATION_PASSED lets a promotion from the
 * stage go ahead: passed, same release, taken after Deployed. Pure: no I/O.
 * The model and status call it to show whether the running release is
 * validated. */
void es_validation_judge(const struct es_record_list *recs, const char *stage,
                         const struct es_stage_state *now, struct es_validation_verdict *out);

/* A word for the state: none, stale, in-progress, failed, passed. */
const char *es_validation_state_name(enum es_validation_state s);

#endif
