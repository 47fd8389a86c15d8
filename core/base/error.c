/* The per-thread last-error record behind es_fail() and friends. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static _Thread_local struct es_error last;

static void copy_field(char *dst, size_t len, const char *src)
{
	if (!src)
		src = "";
	snprintf(dst, len, "%s", src);
}

int es_vfail(int status, const char *fmt, va_list ap)
{
	memset(&last, 0, sizeof(last));
	last.status = status;
	vsnprintf(last.message, sizeof(last.message), fmt, ap);
	return status;
}

int es_fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	es_vfail(status, fmt, ap);
	va_end(ap);
	return status;
}

int es_fail_aws(long http_status, const char *code, const char *message, const char *request_id)
{
	memset(&last, 0, sizeof(last));
	last.status = ES_EAWS;
	last.http_status = http_status;
	copy_field(last.code, sizeof(last.code), code);
	copy_field(last.message, sizeof(last.message), message);
	copy_field(last.request_id, sizeof(last.request_id), request_id);
	return ES_EAWS;
}

int es_fail_prefix(const char *fmt, ...)
{
	char prefix[512], old[sizeof(last.message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, last.message, sizeof(old));
	/* A long chain of context may be cut; the start matters most. */
	if (snprintf(last.message, sizeof(last.message), "%s: %s", prefix, old) < 0)
		last.message[0] = '\0';
	return last.status ? last.status : ES_ERR;
}

const struct es_error *es_error_last(void)
{
	return &last;
}

void es_error_save(struct es_error *dst)
{
	*dst = last;
}

void es_error_restore(const struct es_error *src)
{
	last = *src;
}

void es_error_clear(void)
{
	memset(&last, 0, sizeof(last));
}

const char *es_status_name(int status)
{
	switch (status) {
	case ES_OK: return "ok";
	case ES_ENOMEM: return "out of memory";
	case ES_EINVAL: return "invalid input";
	case ES_ENOTFOUND: return "not found";
	case ES_EAWS: return "AWS error";
	case ES_ENET: return "network error";
	case ES_ECONFIG: return "configuration error";
	case ES_ECREDS: return "no credentials";
	case ES_EPARSE: return "unreadable response";
	case ES_EREFUSED: return "refused";
	case ES_ECANCELLED: return "cancelled";
	case ES_EBUSY: return "busy";
	default: return "error";
	}
}

const char *es_error_format(const struct es_error *e, char *buf, size_t len)
{
	int n = 0;

	if (e->code[0] && e->http_status)
		n = snprintf(buf, len, "%s (%ld): %s", e->code, e->http_status, e->message);
	else if (e->code[0])
		n = snprintf(buf, len, "%s: %s", e->code, e->message);
	else if (e->http_status)
		n = snprintf(buf, len, "HTTP %ld: %s", e->http_status, e->message);
	else
		n = snprintf(buf, len, "%s",
		             e->message[0] ? e->message : es_status_name(e->status));
	if (e->request_id[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " [req %.12s]", e->request_id);
	return buf;
}
