/* CloudWatch GetMetricData: the request in the query protocol and the
 * answer's series. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"
#include "cloudwatch.h"
#include "xml.h"

#define CW_VERSION "2010-08-01"

static int iso(char *out, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) ? ES_OK : es_fail(ES_ERR, "bad time");
}

int es_cw_get_metric_data_call(struct es_aws_call *call, const char *service,
                               const struct es_cw_query *q, size_t n, time_t start, time_t end,
                               const char *next_token)
{
	struct es_buf *b = &call->body;
	char when[32], num[32];
	int rc;

	rc = es_aws_call_init(call, service, "GetMetricData", ES_PROTO_QUERY, "POST", "/");
	if (rc)
		return rc;
	call->content_type = "application/x-www-form-urlencoded; charset=utf-8";
	rc = es_query_start(b, "GetMetricData", CW_VERSION);
	for (size_t i = 0; !rc && i < n; i++) {
		size_t k = i + 1;
		rc = es_query_paramf(b, q[i].id, "MetricDataQueries.member.%zu.Id", k);
		if (!rc)
			rc = es_query_paramf(
			        b, q[i].ns,
			        "MetricDataQueries.member.%zu.MetricStat.Metric.Namespace", k);
		if (!rc)
			rc = es_query_paramf(
			        b, q[i].metric,
			        "MetricDataQueries.member.%zu.MetricStat.Metric.MetricName", k);
		for (size_t d = 0; !rc && d < ES_CW_MAX_DIMS && q[i].dim_name[d]; d++) {
			rc = es_query_paramf(
			        b, q[i].dim_name[d],
			        "MetricDataQueries.member.%zu.MetricStat.Metric.Dimensions."
			        "member.%zu.Name",
			        k, d + 1);
			if (!rc)
				rc = es_query_paramf(
				        b, q[i].dim_value[d],
				        "MetricDataQueries.member.%zu.MetricStat.Metric."
				        "Dimensions.member.%zu.Value",
				        k, d + 1);
		}
		snprintf(num, sizeof(num), "%d", q[i].period > 0 ? q[i].period : 60);
		if (!rc)
			rc = es_query_paramf(b, num,
			                     "MetricDataQueries.member.%zu.MetricStat.Period", k);
		if (!rc)
			rc = es_query_paramf(b, q[i].stat,
			                     "MetricDataQueries.member.%zu.MetricStat.Stat", k);
		if (!rc)
			rc = es_query_paramf(b, "true", "MetricDataQueries.member.%zu.ReturnData",
			                     k);
	}
	if (!rc)
		rc = iso(when, sizeof(when), start);
	if (!rc)
		rc = es_query_param(b, "StartTime", when);
	if (!rc)
		rc = iso(when, sizeof(when), end);
	if (!rc)
		rc = es_query_param(b, "EndTime", when);
	if (!rc)
		rc = es_query_param(b, "ScanBy", "TimestampAscending");
	if (!rc && next_token && *next_token)
		rc = es_query_param(b, "NextToken", next_token);
	return rc;
}

/* A call keeps its service id by reference: one static id per region. */
static const char *const services[] = {
        "monitoring@us-east-1",      "monitoring@us-east-2",      "monitoring@us-west-1",
        "monitoring@us-west-2",      "monitoring@ca-central-1",   "monitoring@sa-east-1",
        "monitoring@eu-west-1",      "monitoring@eu-west-2",      "monitoring@eu-west-3",
        "monitoring@eu-central-1",   "monitoring@eu-north-1",     "monitoring@eu-south-1",
        "monitoring@ap-northeast-1", "monitoring@ap-northeast-2", "monitoring@ap-northeast-3",
        "monitoring@ap-southeast-1", "monitoring@ap-southeast-2", "monitoring@ap-south-1",
        "monitoring@me-south-1",     "monitoring@af-south-1",     "monitoring@ap-east-1",
};

const char *es_cw_service(const char *region)
{
	for (size_t i = 0; region && i < sizeof(services) / sizeof(services[0]); i++)
		if (strcmp(services[i] + strlen("monitoring@"), region) == 0)
			return services[i];
	return NULL;
}

static struct es_cw_series *series_for(struct es_cw_series **out, size_t *n, const char *id)
{
	struct es_cw_series *v;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*out)[i].id, id) == 0)
			return &(*out)[i];
	v = realloc(*out, (*n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	*out = v;
	memset(&v[*n], 0, sizeof(v[*n]));
	v[*n].id = strdup(id);
	if (!v[*n].id)
		return NULL;
	return &v[(*n)++];
}

static int add_point(struct es_cw_series *s, time_t t, double v)
{
	time_t *ts = realloc(s->ts, (s->n + 1) * sizeof(*ts));
	double *vs;

	if (!ts)
		return es_fail(ES_ENOMEM, "out of memory");
	s->ts = ts;
	vs = realloc(s->v, (s->n + 1) * sizeof(*vs));
	if (!vs)
		return es_fail(ES_ENOMEM, "out of memory");
	s->v = vs;
	/* pages may interleave: keep time order */
	size_t at = s->n;
	while (at > 0 && s->ts[at - 1] > t)
		at--;
	memmove(&s->ts[at + 1], &s->ts[at], (s->n - at) * sizeof(*ts));
	memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*vs));
	s->ts[at] = t;
	s->v[at] = v;
	s->n++;
	return ES_OK;
}

int es_cw_parse_metric_data(const char *xml, size_t len, struct es_cw_series **out, size_t *n,
                            char **next_token)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	xmlNode *res, *m;
	int rc = ES_OK;

	*next_token = NULL;
	if (!doc)
		return es_fail_prefix("GetMetricData");
	res = es_xml_find(xmlDocGetRootElement(doc), "MetricDataResults");
	for (m = res ? es_xml_child(res, "member") : NULL; m && !rc; m = es_xml_next(m)) {
		char *id = es_xml_path_text(m, "Id");
		xmlNode *t = es_xml_path(m, "Timestamps/member");
		xmlNode *v = es_xml_path(m, "Values/member");
		struct es_cw_series *s = id ? series_for(out, n, id) : NULL;

		free(id);
		if (!s) {
			rc = es_fail(ES_EPARSE, "GetMetricData: a result without an Id");
			break;
		}
		for (; t && v && !rc; t = es_xml_next(t), v = es_xml_next(v)) {
			char *ts = es_xml_text(t), *vs = es_xml_text(v), *end = NULL;
			double sec = ts ? es_time_parse(ts) : -1;
			time_t when = (time_t)sec;
			double val = vs ? strtod(vs, &end) : 0;

			if (sec < 0 || !end || end == vs)
				rc = es_fail(ES_EPARSE, "GetMetricData: unreadable point %s=%s",
				             ts ? ts : "?", vs ? vs : "?");
			else
				rc = add_point(s, when, val);
			free(ts);
			free(vs);
		}
	}
	if (!rc) {
		*next_token = es_xml_path_text(xmlDocGetRootElement(doc),
		                               "GetMetricDataResult/NextToken");
		if (*next_token && !**next_token) {
			free(*next_token);
			*next_token = NULL;
		}
	}
	xmlFreeDoc(doc);
	return rc;
}

void es_cw_series_free(struct es_cw_series *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].id);
		free(s[i].ts);
		free(s[i].v);
	}
	free(s);
}
