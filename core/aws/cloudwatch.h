/* CloudWatch GetMetricData over the query protocol (API 2010-08-01): many
 * metric series in one call, each named by a query id. */
#ifndef ES_CLOUDWATCH_H
#define ES_CLOUDWATCH_H

#include <stddef.h>
#include <time.h>

#include "aws.h"

#define ES_CW_MAX_DIMS 2

/* One MetricStat query. Strings are borrowed for the call's making. */
struct es_cw_query {
	const char *id; /* [a-z][a-zA-Z0-9_]*: names the answer's series */
	const char *ns; /* "AWS/CloudFront" */
	const char *metric;
	const char *stat; /* "Sum", "Average" */
	int period;       /* seconds */
	const char *dim_name[ES_CW_MAX_DIMS];
	const char *dim_value[ES_CW_MAX_DIMS];
};

/* One answered series: points in time order. */
struct es_cw_series {
	char *id;
	size_t n;
	time_t *ts;
	double *v;
};

/* GetMetricData for q[0..n) over [start, end), sent to service (a region
 * pinned service id such as "monitoring@us-east-1"); next_token may be NULL. */
int es_cw_get_metric_data_call(struct es_aws_call *call, const char *service,
                               const struct es_cw_query *q, size_t n, time_t start, time_t end,
                               const char *next_token);

/* Add the series of one answer to *out / *n (merging pages by id; the
 * caller frees them with es_cw_series_free, also on failure); *next_token
 * (malloc'd) when more pages follow. */
int es_cw_parse_metric_data(const char *xml, size_t len, struct es_cw_series **out, size_t *n,
                            char **next_token);

/* The region pinned service id for CloudWatch in region (a static
 * string), or NULL for a region edgeship does not know. */
const char *es_cw_service(const char *region);

/* Free n series and the array. */
void es_cw_series_free(struct es_cw_series *s, size_t n);

#endif
