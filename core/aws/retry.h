/* The AWS "standard" retry mode: which failures are worth another attempt,
 * how long to wait (exponential backoff with full jitter, capped at 20 s),
 * and a retry quota so an outage does not multiply the load we send. */
#ifndef ES_RETRY_H
#define ES_RETRY_H

#include <stdbool.h>

enum es_retry_kind {
	ES_RETRY_NO = 0,     /* final: do not retry */
	ES_RETRY_THROTTLE,   /* throttling error code or 429 */
	ES_RETRY_TRANSIENT,  /* 5xx, transient error code, network failure */
	ES_RETRY_TIMEOUT,    /* transport timeout (costs more quota) */
	ES_RETRY_CLOCK_SKEW, /* signature rejected for our clock: correct and retry */
	ES_RETRY_CREDENTIALS /* the session token expired: resolve credentials again, retry once */
};

struct es_retry_quota {
	int capacity; /* tokens left */
	int max;
};

#define ES_RETRY_QUOTA_INIT                                                                        \
	{                                                                                          \
		500, 500                                                                           \
	}
#define ES_RETRY_MAX_BACKOFF_MS 20000L

/* Classify one failed attempt. code is the AWS error code or NULL,
 * http_status 0 when no answer arrived, curl_code the transport result. */
enum es_retry_kind es_retry_classify(long http_status, const char *code, int curl_code,
                                     const char *message);

/* True when code is one of the throttling codes AWS services use. */
bool es_retry_is_throttle(const char *code);

/* Take tokens for a retry of this kind; false when the quota is spent. */
bool es_retry_quota_acquire(struct es_retry_quota *q, enum es_retry_kind kind);
/* A request succeeded: give tokens back (what it took, or 1 when it did not retry). */
void es_retry_quota_release(struct es_retry_quota *q, int taken);
/* Tokens a retry of this kind costs. */
int es_retry_cost(enum es_retry_kind kind);

/* Delay before attempt number `attempt` (1 = the first retry):
 * rand(0,1) * min(2^(attempt-1) s, 20 s), in ms. rnd01 is a value in [0,1)
 * (pass a random number; tests pass fixed ones). */
long es_retry_backoff_ms(int attempt, double rnd01);

/* A Retry-After / x-amz-retry-after hint in ms, capped; -1 when absent. */
long es_retry_after_ms(const char *x_amz_retry_after);

#endif
