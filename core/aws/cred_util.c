/* What the credentials chain and its providers share: reading the
 * environment, wiping secrets, and filling credentials from strings or from
 * a provider's JSON answer. */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/error.h"
#include "cred_util.h"

const char *es_cred_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

void es_cred_wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void es_cred_wipe_buf(struct es_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	es_buf_free(b);
}

int es_cred_set(struct es_credentials *out, const char *akid, const char *secret, const char *token,
                time_t expiration, const char *fmt, ...)
{
	va_list ap;

	memset(out, 0, sizeof(*out));
	out->access_key_id = strdup(akid);
	out->secret_access_key = strdup(secret);
	out->session_token = token && *token ? strdup(token) : NULL;
	if (!out->access_key_id || !out->secret_access_key ||
	    (token && *token && !out->session_token)) {
		es_credentials_free(out);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	out->expiration = expiration;
	va_start(ap, fmt);
	vsnprintf(out->source, sizeof(out->source), fmt, ap);
	va_end(ap);
	return ES_OK;
}

/* RFC 3339 ("2026-11-27T03:00:00Z", fractions and ±HH:MM allowed) to UTC
 * seconds; -1 when it is not one. */
static time_t parse_rfc3339(const char *s)
{
	struct tm tm;
	const char *p;
	int oh, om;
	long offset = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
	           strlen(p) == 6) {
		offset = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
	} else {
		return -1;
	}
	return timegm(&tm) - offset;
}

static void format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int es_cred_from_json(json_t *doc, const char *token_key, const char *what,
                      struct es_credentials *out, const char *source)
{
	const char *akid = json_string_value(json_object_get(doc, "AccessKeyId"));
	const char *secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
	const char *token = json_string_value(json_object_get(doc, token_key));
	json_t *exp = json_object_get(doc, "Expiration");
	time_t expiration = 0;

	if (!json_is_object(doc))
		return es_fail(ES_ECREDS, "%s: the answer is not a JSON object", what);
	if (!akid || !*akid)
		return es_fail(ES_ECREDS, "%s: the answer lacks AccessKeyId", what);
	if (!secret || !*secret)
		return es_fail(ES_ECREDS, "%s: the answer lacks SecretAccessKey", what);
	if (exp && !json_is_null(exp)) {
		expiration = json_is_string(exp) ? parse_rfc3339(json_string_value(exp)) : -1;
		if (expiration == -1)
			return es_fail(ES_ECREDS, "%s: Expiration is not an RFC 3339 time", what);
		if (expiration <= time(NULL)) {
			char when[32];
			format_time(expiration, when, sizeof(when));
			return es_fail(ES_ECREDS, "%s: the credentials expired at %s", what, when);
		}
	}
	return es_cred_set(out, akid, secret, token, expiration, "%s", source);
}

void es_credentials_free(struct es_credentials *c)
{
	if (!c)
		return;
	es_cred_wipe_free(c->access_key_id);
	es_cred_wipe_free(c->secret_access_key);
	es_cred_wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}
