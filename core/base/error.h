/* Status codes and the per-thread last-error message that every core function
 * reports through.  Core never prints and never exits: it returns a status and
 * leaves a human sentence (and, for AWS failures, the service's own error
 * fields) here for the caller to show. */
#ifndef ES_ERROR_H
#define ES_ERROR_H

#include <stdarg.h>

enum es_status {
	ES_OK = 0,
	ES_ERR = -1,         /* generic failure; see es_error_last() */
	ES_ENOMEM = -2,      /* allocation failed */
	ES_EINVAL = -3,      /* bad argument or bad input data */
	ES_ENOTFOUND = -4,   /* the thing asked for does not exist */
	ES_EAWS = -5,        /* AWS answered with an error (see struct es_error) */
	ES_ENET = -6,        /* transport failure: DNS, connect, reset, timeout */
	ES_ECONFIG = -7,     /* configuration is missing or wrong */
	ES_ECREDS = -8,      /* no usable credentials */
	ES_EPARSE = -9,      /* a response or file could not be parsed */
	ES_EREFUSED = -10,   /* a release rule refused the action */
	ES_ECANCELLED = -11, /* the operator said no */
	ES_EBUSY = -12       /* refused for now: the stage is busy (retry with --wait) */
};

/* What went wrong, as complete as it is known.  AWS failures fill every
 * field; local failures fill only message. */
struct es_error {
	int status;          /* enum es_status of the failure */
	long http_status;    /* 0 when no HTTP answer was received */
	char code[96];       /* AWS error code, e.g. "ValidationError" */
	char message[1024];  /* human sentence, never contains a secret */
	char request_id[96]; /* x-amzn-RequestId / x-amz-request-id */
};

/* Record a failure and return status, so callers can `return es_fail(...)`. */
int es_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int es_vfail(int status, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Record an AWS service error with all its fields. */
int es_fail_aws(long http_status, const char *code, const char *message, const char *request_id);

/* Prepend context to the current message: "loading profile x: <old>". */
int es_fail_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last failure recorded on this thread (never NULL). */
const struct es_error *es_error_last(void);

/* Copy the last failure out, e.g. before another call overwrites it. */
void es_error_save(struct es_error *dst);

/* Restore a failure saved with es_error_save(). */
void es_error_restore(const struct es_error *src);

void es_error_clear(void);

/* One line for people: "AccessDenied (403): message [req 1a2b…]". The
 * result points into buf, which must hold at least 256 bytes. */
const char *es_error_format(const struct es_error *e, char *buf, size_t len);

/* A fixed English name for a status code ("network error", …). */
const char *es_status_name(int status);

#endif
