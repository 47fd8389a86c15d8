/* Reading a stage's canary key (canary_conf.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "canary_conf.h"

double es_canary_parse_weight(const char *text)
{
	char *end;
	double w;

	if (!text)
		return -1;
	w = strtod(text, &end);
	if (end == text)
		return -1;
	while (*end == ' ')
		end++;
	if (*end != '%' || end[1])
		return -1;
	if (w <= 0 || w > 100)
		return -1;
	return w / 100.0;
}

/* "600", "600s", "10m", "1h": seconds, or -1. */
static long parse_seconds(const char *t, size_t n)
{
	char buf[32];
	char *end;
	long v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0)
		return -1;
	if (!*end || strcmp(end, "s") == 0)
		return v;
	if (strcmp(end, "m") == 0)
		return v * 60;
	if (strcmp(end, "h") == 0)
		return v * 3600;
	return -1;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *word_end(const char *p)
{
	while (*p && *p != ' ' && *p != '\t')
		p++;
	return p;
}

static int parse_weight_spec(const char *p, struct es_cd_traffic *out, char *msg, size_t len)
{
	const char *e = word_end(p);
	char w[32];

	if ((size_t)(e - p) >= sizeof(w) || e == p) {
		snprintf(msg, len, "canary = weight: give a percentage, e.g. canary = weight 5%%");
		return ES_EINVAL;
	}
	memcpy(w, p, (size_t)(e - p));
	w[e - p] = '\0';
	out->weight = es_canary_parse_weight(w);
	if (out->weight < 0) {
		snprintf(msg, len, "canary = weight %s: write a percentage, e.g. weight 5%%", w);
		return ES_EINVAL;
	}
	p = skip_space(e);
	if (*p) {
		if (strncmp(p, "sticky", 6) != 0 || (p[6] != ' ' && p[6] != '\t')) {
			snprintf(msg, len,
			         "canary = weight %s %s: after the weight only `sticky IDLE[/MAX]` "
			         "may follow, e.g. sticky 10m",
			         w, p);
			return ES_EINVAL;
		}
		p = skip_space(p + 6);
		e = word_end(p);
		const char *slash = memchr(p, '/', (size_t)(e - p));
		long idle = parse_seconds(p, (size_t)((slash ? slash : e) - p));
		long max = slash ? parse_seconds(slash + 1, (size_t)(e - slash - 1)) : 0;
		if (idle < 0 || max < 0 || *skip_space(e)) {
			snprintf(msg, len,
			         "canary: write stickiness as sticky IDLE or sticky IDLE/MAX, e.g. "
			         "sticky 10m/1h");
			return ES_EINVAL;
		}
		out->idle_ttl = (int)idle;
		/* CloudFront asks for both; the longest it allows when not given. */
		out->max_ttl =
		        slash ? (int)max : (idle > ES_CD_MAX_TTL ? (int)idle : ES_CD_MAX_TTL);
	}
	return ES_OK;
}

static int parse_header_spec(const char *p, struct es_cd_traffic *out, char *msg, size_t len)
{
	const char *colon = strchr(p, ':');
	size_t n;

	if (!colon) {
		snprintf(msg, len,
		         "canary = header %s: write the header and its value, e.g. canary = header "
		         "aws-cf-cd-canary: yes",
		         p);
		return ES_EINVAL;
	}
	n = (size_t)(colon - p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(out->header)) {
		snprintf(msg, len, "canary = header: the header's name is missing or too long");
		return ES_EINVAL;
	}
	memcpy(out->header, p, n);
	out->header[n] = '\0';
	const char *v = skip_space(colon + 1);
	size_t vn = strlen(v);
	while (vn > 0 && isspace((unsigned char)v[vn - 1]))
		vn--;
	if (vn == 0 || vn >= sizeof(out->value)) {
		snprintf(msg, len, "canary = header %s: give the value it must carry, e.g. %s: yes",
		         out->header, out->header);
		return ES_EINVAL;
	}
	memcpy(out->value, v, vn);
	out->value[vn] = '\0';
	out->header_based = true;
	return ES_OK;
}

int es_canary_parse(const char *spec, struct es_cd_traffic *out, char *msg, size_t len)
{
	const char *p = skip_space(spec ? spec : "");
	int rc;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "weight", 6) == 0 && (p[6] == ' ' || p[6] == '\t'))
		rc = parse_weight_spec(skip_space(p + 6), out, msg, len);
	else if (strncmp(p, "header", 6) == 0 && (p[6] == ' ' || p[6] == '\t'))
		rc = parse_header_spec(skip_space(p + 6), out, msg, len);
	else {
		snprintf(msg, len,
		         "canary = %s: write `weight 5%%` (optionally `sticky 10m`) or `header "
		         "aws-cf-cd-NAME: VALUE`",
		         p);
		return ES_EINVAL;
	}
	if (rc)
		return rc;
	if (es_cd_traffic_check(out) != ES_OK) {
		/* CloudFront's own limits, said as what to write. */
		if (out->header_based)
			snprintf(msg, len,
			         "canary = header %s: CloudFront takes only headers that begin "
			         "with %s",
			         out->header, ES_CD_HEADER_PREFIX);
		else if (out->weight > ES_CD_MAX_WEIGHT)
			snprintf(msg, len,
			         "canary = weight %g%%: CloudFront sends at most 15%% of requests "
			         "to a staging distribution",
			         out->weight * 100);
		else
			snprintf(msg, len,
			         "canary: stickiness must be between 5m and 1h, the idle time no "
			         "longer than the maximum");
		return ES_EINVAL;
	}
	return ES_OK;
}

const char *es_canary_conf_check(const struct es_stage_conf *s, char *msg, size_t len)
{
	struct es_cd_traffic t;

	if (!s->canary)
		return NULL;
	if (es_canary_parse(s->canary, &t, msg, len) != ES_OK)
		return "canary";
	if (s->pipeline) {
		snprintf(msg, len,
		         "[stage \"%s\"] is deployed by pipeline %s: a canary needs edgeship's own "
		         "deploy; remove canary or pipeline",
		         s->name, s->pipeline);
		return "canary";
	}
	return NULL;
}

const char *es_canary_describe(const struct es_cd_traffic *t, char *buf, size_t len)
{
	if (t->header_based)
		snprintf(buf, len, "header %s: %s", t->header, t->value);
	else if (t->idle_ttl)
		snprintf(buf, len, "weight %g%% (sticky %ds/%ds)", t->weight * 100, t->idle_ttl,
		         t->max_ttl);
	else
		snprintf(buf, len, "weight %g%%", t->weight * 100);
	return buf;
}
