/* Retry classification, backoff and quota for AWS calls (standard mode). */
#include "config.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "retry.h"

/* Error codes AWS services use for throttling (standard mode's list). */
static const char *const throttle_codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
};

/* Codes that mean "try again", not "you asked wrongly". */
static const char *const transient_codes[] = {
        "RequestTimeout",           "RequestTimeoutException", "InternalError",
        "InternalFailure",          "ServiceUnavailable",      "InternalServerError",
        "InternalServiceException",
};

static const char *const skew_codes[] = {
        "RequestTimeTooSkewed",      "RequestExpired",        "RequestInTheFuture",
        "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure",
};

/* Temporary credentials that expired while we held them (clock drift, a
 * long operation, a token revoked early): fresh ones may succeed. */
static const char *const expired_codes[] = {
        "ExpiredToken",
        "ExpiredTokenException",
};

static bool in_list(const char *code, const char *const *list, size_t n)
{
	if (!code || !*code)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

#define IN(code, list) in_list(code, list, sizeof(list) / sizeof(list[0]))

bool es_retry_is_throttle(const char *code)
{
	return IN(code, throttle_codes);
}

enum es_retry_kind es_retry_classify(long http_status, const char *code, int curl_code,
                                     const char *message)
{
	if (http_status == 0) {
		if (curl_code == CURLE_OPERATION_TIMEDOUT)
			return ES_RETRY_TIMEOUT;
		return es_http_transient(curl_code) ? ES_RETRY_TRANSIENT : ES_RETRY_NO;
	}
	if (IN(code, skew_codes)) {
		/* A signature mismatch is only our clock when AWS says so;
		 * otherwise it is a real (final) signing problem. */
		if (strcmp(code, "RequestTimeTooSkewed") == 0 ||
		    strcmp(code, "RequestExpired") == 0 || strcmp(code, "RequestInTheFuture") == 0)
			return ES_RETRY_CLOCK_SKEW;
		if (message && (strcasestr(message, "signature expired") ||
		                strcasestr(message, "not yet current") ||
		                strcasestr(message, "time too skewed")))
			return ES_RETRY_CLOCK_SKEW;
		return ES_RETRY_NO;
	}
	if (IN(code, expired_codes))
		return ES_RETRY_CREDENTIALS;
	if (http_status == 429 || IN(code, throttle_codes))
		return ES_RETRY_THROTTLE;
	if (IN(code, transient_codes))
		return ES_RETRY_TRANSIENT;
	if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
		return ES_RETRY_TRANSIENT;
	return ES_RETRY_NO;
}

int es_retry_cost(enum es_retry_kind kind)
{
	switch (kind) {
	case ES_RETRY_TIMEOUT: return 10;
	case ES_RETRY_NO: return 0;
	/* Correcting our own clock or credentials is not load on the service. */
	case ES_RETRY_CLOCK_SKEW: return 0;
	case ES_RETRY_CREDENTIALS: return 0;
	default: return 5;
	}
}

bool es_retry_quota_acquire(struct es_retry_quota *q, enum es_retry_kind kind)
{
	int cost = es_retry_cost(kind);

	if (kind == ES_RETRY_NO)
		return false;
	if (cost > q->capacity)
		return false;
	q->capacity -= cost;
	return true;
}

void es_retry_quota_release(struct es_retry_quota *q, int taken)
{
	q->capacity += taken > 0 ? taken : 1;
	if (q->capacity > q->max)
		q->capacity = q->max;
}

long es_retry_backoff_ms(int attempt, double rnd01)
{
	double cap = (double)ES_RETRY_MAX_BACKOFF_MS;
	double base;

	if (attempt < 1)
		attempt = 1;
	if (rnd01 < 0)
		rnd01 = 0;
	if (rnd01 >= 1)
		rnd01 = 0.999999;
	base = attempt > 16 ? cap : ldexp(1000.0, attempt - 1);
	if (base > cap)
		base = cap;
	return (long)(rnd01 * base);
}

long es_retry_after_ms(const char *hint)
{
	char *end;
	long ms;

	if (!hint || !*hint)
		return -1;
	ms = strtol(hint, &end, 10);
	if (end == hint || ms < 0)
		return -1;
	return ms > ES_RETRY_MAX_BACKOFF_MS ? ES_RETRY_MAX_BACKOFF_MS : ms;
}
