/* Reading a stage's guard keys: guard-error-rate, -window, -watch, -action
 * and -period. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_conf.h"

#define DEFAULT_PERIOD_S 60
#define DEFAULT_WATCH_S  600

/* "5%", "5", "2.5 %": the percent, or -1. */
static double parse_rate(const char *v)
{
	char *end;
	double r;

	if (!v)
		return -1;
	r = strtod(v, &end);
	if (end == v)
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '%')
		end++;
	if (*end || r <= 0 || r > 100)
		return -1;
	return r;
}

const char *es_guard_conf_check(const struct es_stage_conf *s, char *msg, size_t len)
{
	if (s->guard_error_rate && parse_rate(s->guard_error_rate) < 0) {
		snprintf(msg, len,
		         "guard-error-rate = %s: write a percentage above 0 and at most 100, e.g. "
		         "5%%",
		         s->guard_error_rate);
		return "guard-error-rate";
	}
	if (s->guard_action && strcmp(s->guard_action, "alert") != 0 &&
	    strcmp(s->guard_action, "rollback") != 0) {
		snprintf(msg, len, "guard-action = %s: write alert or rollback", s->guard_action);
		return "guard-action";
	}
	if (s->guard_period_ms && s->guard_period_ms < 1000) {
		snprintf(msg, len,
		         "guard-period: at least 1s (CloudWatch's finest is 1s, "
		         "CloudFront's 1m)");
		return "guard-period";
	}
	if (!s->guard_error_rate &&
	    (s->guard_action || s->guard_window_ms || s->guard_watch_ms || s->guard_period_ms)) {
		snprintf(msg, len,
		         "[stage \"%s\"] has guard keys but no guard-error-rate; add e.g. "
		         "guard-error-rate = 5%%",
		         s->name);
		return s->guard_action ? "guard-action" : "guard-window";
	}
	return NULL;
}

void es_guard_settings_of(const struct es_stage_conf *s, struct es_guard_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->threshold = parse_rate(s->guard_error_rate);
	out->on = out->threshold > 0;
	out->period_s =
	        s->guard_period_ms ? (int)((s->guard_period_ms + 999) / 1000) : DEFAULT_PERIOD_S;
	out->window_periods = 1;
	if (s->guard_window_ms) {
		long p = ((long)out->period_s * 1000);
		out->window_periods = (int)((s->guard_window_ms + p - 1) / p);
		if (out->window_periods < 1)
			out->window_periods = 1;
	}
	out->watch_s = s->guard_watch_ms ? s->guard_watch_ms / 1000 : DEFAULT_WATCH_S;
	out->action = s->guard_action && strcmp(s->guard_action, "rollback") == 0
	                      ? ES_GUARD_ROLLBACK
	                      : ES_GUARD_ALERT;
}
