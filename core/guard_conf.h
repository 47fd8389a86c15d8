/* The guard's keys in a [stage] section: reading and checking them. */
#ifndef ES_GUARD_CONF_H
#define ES_GUARD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

enum es_guard_action { ES_GUARD_ALERT, ES_GUARD_ROLLBACK };

/* A stage's guard settings with the defaults filled in. */
struct es_guard_settings {
	bool on;            /* guard-error-rate is set */
	double threshold;   /* percent, 0 < t <= 100 */
	int period_s;       /* metric period */
	int window_periods; /* consecutive periods above the threshold that breach */
	long watch_s;       /* after Deployed */
	enum es_guard_action action;
};

/* NULL when s's guard keys are fine; else the key at fault, with why in msg. */
const char *es_guard_conf_check(const struct es_stage_conf *s, char *msg, size_t len);

/* s's settings (defaults for what is not set). */
void es_guard_settings_of(const struct es_stage_conf *s, struct es_guard_settings *out);

#endif
