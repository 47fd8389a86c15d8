/* The error-rate guard: CloudFront's figures of each guarded stage, read
 * with one CloudWatch GetMetricData per poll for all stages, and the breach
 * of a stage's threshold during a rollout and for guard-watch after it is
 * Deployed. A failed poll leaves the figures stale (and says so); it never
 * makes a breach. */
#ifndef ES_GUARD_H
#define ES_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/aws.h"
#include "aws/logs.h"
#include "guard_conf.h"

#define ES_GUARD_MAX_STAGES 16
#define ES_GUARD_POINTS     30 /* periods kept (and asked for) per stage */

struct json_t; /* jansson's */

/* One metric period of a stage. */
struct es_guard_point {
	time_t t; /* period start */
	double requests;
	double rate_4xx;          /* percent */
	double rate_5xx;          /* percent */
	double lambda_errors;     /* LambdaExecutionError: the function threw or timed out */
	double validation_errors; /* LambdaValidationError: it returned an invalid response */
	double limit_errors;      /* LambdaLimitExceededErrors: throttled by Lambda */
};

struct es_guard_breach {
	time_t period;        /* start of the last period of the window */
	int periods;          /* how many periods were above the threshold */
	double rate_5xx;      /* in that period */
	double requests;      /* in the window */
	double lambda_errors; /* the window's sums of the three Lambda errors */
	double validation_errors;
	double limit_errors;
	double threshold;
	double detected_at; /* local clock */
};

struct es_guard_stage {
	char name[64];
	char distribution_id[64];
	char function[128]; /* us-east-1.NAME (Lambda@Edge replicas' name) */
	struct es_guard_settings set;
	struct es_guard_point pts[ES_GUARD_POINTS]; /* time order */
	size_t n;
	double rollout_start; /* epoch; 0: no rollout watched */
	double deployed_at;   /* epoch; 0: not Deployed yet */
	/* The rollout after a breach (the rollback, as a rule) is judged from
	 * its Deployed on: until then edges still run the failing release. */
	bool after_breach;
	bool breached;
	struct es_guard_breach breach;
};

struct es_guard;

enum { ES_GUARD_FIGURES = 1, ES_GUARD_BREACH = 2, ES_GUARD_STALE = 4 };
typedef void (*es_guard_fn)(struct es_guard *g, size_t stage, unsigned what, void *ud);

int es_guard_new(struct es_aws_client *aws, struct es_guard **out);
void es_guard_free(struct es_guard *g);
/* fn runs on the loop for every change (stage index, ES_GUARD_* bits). */
void es_guard_on_change(struct es_guard *g, es_guard_fn fn, void *ud);

/* Watch a stage (again: updates it). function is the Lambda function name
 * (without the us-east-1. prefix); settings must be on. */
int es_guard_watch(struct es_guard *g, const char *stage, const char *distribution_id,
                   const char *function, const struct es_guard_settings *set);
/* A rollout of stage started at `when` (epoch): forgets an earlier breach. */
void es_guard_rollout(struct es_guard *g, const char *stage, double when);
/* The stage's distribution is Deployed since `when`. */
void es_guard_deployed(struct es_guard *g, const char *stage, double when);

/* Send one GetMetricData for every watched stage, unless one is in flight
 * or the last was sent less than min_interval_s ago. Returns at once. */
int es_guard_poll(struct es_guard *g, double min_interval_s);
/* Seconds between polls for the watched stages: half the shortest period
 * (CloudWatch has nothing newer before a period ends). */
double es_guard_interval(const struct es_guard *g);
/* Whether the watch of stage is still on (rollout, or within guard-watch
 * of Deployed). */
bool es_guard_watching(const struct es_guard *g, size_t i, double now);

size_t es_guard_count(const struct es_guard *g);
const struct es_guard_stage *es_guard_stage(const struct es_guard *g, size_t i);
/* -1 when not watched. */
int es_guard_find(const struct es_guard *g, const char *stage);
/* The figures are stale: why (the last poll's error), else NULL. */
const char *es_guard_stale(const struct es_guard *g);
/* Local time of the last answer, 0 none. */
double es_guard_last_ok(const struct es_guard *g);
/* A poll is in flight. */
bool es_guard_polling(const struct es_guard *g);
struct es_loop *es_guard_loop(const struct es_guard *g);
/* GetMetricData calls sent (for budgets). */
long es_guard_calls(const struct es_guard *g);

/* The stage's latest figures as a JSON object (new reference). */
struct json_t *es_guard_stage_json(const struct es_guard *g, size_t i);
/* One line for people: "staging  requests ▁▂▅▇ 42/period  5xx ▁▁▇▇ 20.0% (limit 5%)". */
void es_guard_line(const struct es_guard *g, size_t i, char *out, size_t len);
/* A sparkline of one series (UTF-8 ▁▂▃▄▅▆▇█), the rollout's start marked
 * with '|'; rate picks the 5xx rate, else requests. */
void es_guard_sparkline(const struct es_guard_stage *s, bool rate, char *out, size_t len);
/* "5xx 20.0% > 5% in 1 period of 2s (45 requests, 9 Lambda errors)". */
void es_guard_breach_text(const struct es_guard_stage *s, char *out, size_t len);

/* Where it fails: the function's recent errors from CloudWatch Logs in
 * regions (at most limit events in all). Blocking: headless commands. */
int es_guard_errors(struct es_aws_client *aws, const struct es_guard_stage *s,
                    const char *const *regions, size_t n_regions, size_t limit,
                    struct es_log_event **ev, size_t *n);
/* The function's own figures (AWS/Lambda, FunctionName us-east-1.NAME) in
 * region since the rollout: Errors and Throttles summed, Duration averaged
 * (ms; -1 without invocations). Blocking: headless commands. */
int es_guard_lambda_figures(struct es_aws_client *aws, const struct es_guard_stage *s,
                            const char *region, double *errors, double *throttles,
                            double *duration_ms);

/* The region whose Lambda@Edge logs an edge location writes ("FRA56-P1" →
 * eu-central-1), or NULL. */
const char *es_guard_pop_region(const char *pop);

#endif
