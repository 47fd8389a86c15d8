/* CloudWatch Logs FilterLogEvents over json-1.1 (Logs_20140328), in any
 * region: Lambda@Edge replicas log where the edge that ran them is. */
#ifndef ES_LOGS_H
#define ES_LOGS_H

#include <stddef.h>
#include <time.h>

#include "aws.h"

struct json_t; /* jansson's */

#define ES_LOGS_TARGET "Logs_20140328"

struct es_log_event {
	char *region; /* where it was found; owned */
	char *stream;
	double time; /* seconds since the epoch */
	char *message;
};

/* FilterLogEvents in log group, in region, from start (seconds), at most
 * limit events, optional filter pattern. */
int es_logs_filter_call(struct es_aws_call *call, const char *region, const char *group,
                        time_t start, int limit, const char *pattern);

/* Append at most max - *n events of one answer (region copied into each). */
int es_logs_parse_events(const struct json_t *root, const char *region, struct es_log_event **ev,
                         size_t *n, size_t max);

void es_log_events_free(struct es_log_event *ev, size_t n);

#endif
