/* CloudWatch Logs: the recent error lines of a function's log group. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"
#include "services.h"

/* The call keeps its service id by reference: one static id per region. */
static const char *const services[] = {
        "logs@us-east-1",      "logs@us-east-2",      "logs@us-west-1",      "logs@us-west-2",
        "logs@ca-central-1",   "logs@sa-east-1",      "logs@eu-west-1",      "logs@eu-west-2",
        "logs@eu-west-3",      "logs@eu-central-1",   "logs@eu-north-1",     "logs@eu-south-1",
        "logs@ap-northeast-1", "logs@ap-northeast-2", "logs@ap-northeast-3", "logs@ap-southeast-1",
        "logs@ap-southeast-2", "logs@ap-south-1",     "logs@me-south-1",     "logs@af-south-1",
        "logs@ap-east-1",
};

static const char *service_for(const char *region)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strcmp(services[i] + 5, region) == 0)
			return services[i];
	return NULL;
}

int es_logs_filter_call(struct es_aws_call *call, const char *region, const char *group,
                        time_t start, int limit, const char *pattern)
{
	const char *service = service_for(region);
	json_t *body = json_pack("{s:s, s:I, s:i}", "logGroupName", group, "startTime",
	                         (json_int_t)start * 1000, "limit", limit);

	if (body && pattern && *pattern)
		json_object_set_new(body, "filterPattern", json_string(pattern));
	memset(call, 0, sizeof(*call));
	if (!service) {
		json_decref(body);
		return es_fail(ES_EINVAL, "no CloudWatch Logs region %s", region);
	}
	return es_svc_json_call(call, service, ES_LOGS_TARGET, "FilterLogEvents", body);
}

int es_logs_parse_events(const json_t *root, const char *region, struct es_log_event **ev,
                         size_t *n, size_t max)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(root, "events"), i, e)
	{
		struct es_log_event *v;

		if (*n >= max)
			break;
		v = realloc(*ev, (*n + 1) * sizeof(*v));
		if (!v)
			return es_fail(ES_ENOMEM, "out of memory");
		*ev = v;
		v = &v[*n];
		v->region = strdup(region);
		v->stream = es_svc_json_str(e, "logStreamName");
		v->message = es_svc_json_str(e, "message");
		v->time = json_number_value(json_object_get(e, "timestamp")) / 1000.0;
		if (!v->region || !v->message) {
			free(v->region);
			free(v->stream);
			free(v->message);
			continue;
		}
		(*n)++;
	}
	return ES_OK;
}

void es_log_events_free(struct es_log_event *ev, size_t n)
{
	for (size_t i = 0; ev && i < n; i++) {
		free(ev[i].region);
		free(ev[i].stream);
		free(ev[i].message);
	}
	free(ev);
}
