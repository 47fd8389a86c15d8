/* Standard retry mode: classification, backoff bounds and the quota. */
#include "config.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "aws/retry.h"

static void throttles(void **state)
{
	assert_int_equal(es_retry_classify(400, "Throttling", 0, "Rate exceeded"),
	                 ES_RETRY_THROTTLE);
	assert_int_equal(es_retry_classify(400, "ThrottlingException", 0, NULL), ES_RETRY_THROTTLE);
	assert_int_equal(es_retry_classify(503, "SlowDown", 0, NULL), ES_RETRY_THROTTLE);
	assert_int_equal(es_retry_classify(429, "", 0, NULL), ES_RETRY_THROTTLE);
	assert_int_equal(es_retry_classify(400, "TooManyRequestsException", 0, NULL),
	                 ES_RETRY_THROTTLE);
}

static void transient(void **state)
{
	assert_int_equal(es_retry_classify(500, "InternalFailure", 0, NULL), ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(502, "", 0, NULL), ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(503, "ServiceUnavailable", 0, NULL), ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(504, "", 0, NULL), ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(400, "RequestTimeout", 0, NULL), ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(0, NULL, CURLE_RECV_ERROR, NULL), ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(0, NULL, CURLE_COULDNT_CONNECT, NULL),
	                 ES_RETRY_TRANSIENT);
	assert_int_equal(es_retry_classify(0, NULL, CURLE_OPERATION_TIMEDOUT, NULL),
	                 ES_RETRY_TIMEOUT);
}

static void final(void **state)
{
	assert_int_equal(es_retry_classify(400, "ValidationError", 0, "bad"), ES_RETRY_NO);
	assert_int_equal(es_retry_classify(403, "AccessDenied", 0, NULL), ES_RETRY_NO);
	assert_int_equal(es_retry_classify(404, "NoSuchKey", 0, NULL), ES_RETRY_NO);
	assert_int_equal(es_retry_classify(412, "PreconditionFailed", 0, NULL), ES_RETRY_NO);
	assert_int_equal(es_retry_classify(0, NULL, CURLE_SSL_CACERT_BADFILE, NULL), ES_RETRY_NO);
	/* A real signing mistake must not loop. */
	assert_int_equal(es_retry_classify(403, "SignatureDoesNotMatch", 0,
	                                   "The request signature we calculated does not match"),
	                 ES_RETRY_NO);
}

static void clock_skew(void **state)
{
	assert_int_equal(es_retry_classify(403, "RequestTimeTooSkewed", 0, NULL),
	                 ES_RETRY_CLOCK_SKEW);
	assert_int_equal(es_retry_classify(400, "RequestExpired", 0, NULL), ES_RETRY_CLOCK_SKEW);
	assert_int_equal(es_retry_classify(403, "InvalidSignatureException", 0,
	                                   "Signature expired: 20261127T000000Z is now earlier"),
	                 ES_RETRY_CLOCK_SKEW);
}

static void backoff_bounds(void **state)
{
	/* rand * min(2^(n-1) s, 20 s) */
	assert_int_equal(es_retry_backoff_ms(1, 0.0), 0);
	assert_int_equal(es_retry_backoff_ms(1, 0.5), 500);
	assert_int_equal(es_retry_backoff_ms(2, 0.5), 1000);
	assert_int_equal(es_retry_backoff_ms(3, 0.5), 2000);
	assert_true(es_retry_backoff_ms(10, 0.999999) <= ES_RETRY_MAX_BACKOFF_MS);
	assert_true(es_retry_backoff_ms(64, 0.999999) <= ES_RETRY_MAX_BACKOFF_MS);
	assert_true(es_retry_backoff_ms(6, 0.999999) >= 19000);
	assert_int_equal(es_retry_backoff_ms(0, 2.0), 999);
}

static void quota(void **state)
{
	struct es_retry_quota q = ES_RETRY_QUOTA_INIT;
	int n = 0;

	while (es_retry_quota_acquire(&q, ES_RETRY_TRANSIENT))
		n++;
	/* 500 tokens at 5 a retry: an outage costs at most 100 retries. */
	assert_int_equal(n, 100);
	assert_false(es_retry_quota_acquire(&q, ES_RETRY_TIMEOUT));
	/* Clock corrections are free; a final error never retries. */
	assert_true(es_retry_quota_acquire(&q, ES_RETRY_CLOCK_SKEW));
	assert_false(es_retry_quota_acquire(&q, ES_RETRY_NO));
	es_retry_quota_release(&q, 10);
	assert_true(es_retry_quota_acquire(&q, ES_RETRY_TIMEOUT));
	es_retry_quota_release(&q, 100000);
	assert_int_equal(q.capacity, q.max);
}

static void retry_after(void **state)
{
	assert_int_equal(es_retry_after_ms(NULL), -1);
	assert_int_equal(es_retry_after_ms("abc"), -1);
	assert_int_equal(es_retry_after_ms("1500"), 1500);
	assert_int_equal(es_retry_after_ms("999999"), ES_RETRY_MAX_BACKOFF_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(throttles),      cmocka_unit_test(transient),
	        cmocka_unit_test(final),          cmocka_unit_test(clock_skew),
	        cmocka_unit_test(backoff_bounds), cmocka_unit_test(quota),
	        cmocka_unit_test(retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
