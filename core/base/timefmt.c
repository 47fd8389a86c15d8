/* ISO 8601 parsing and human durations. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

double es_time_parse(const char *s)
{
	struct tm tm;
	const char *p;
	double frac = 0;
	long offset = 0;

	if (!s || !*s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		char *end;
		frac = strtod(p, &end);
		p = end;
	}
	if (*p == '+' || *p == '-') {
		int h = 0, m = 0;
		if (sscanf(p + 1, "%2d:%2d", &h, &m) < 1)
			return -1;
		offset = (h * 3600L + m * 60L) * (*p == '+' ? 1 : -1);
	} else if (*p != 'Z' && *p != '\0') {
		return -1;
	}
	return (double)timegm(&tm) - (double)offset + frac;
}

const char *es_duration_format(double s, char *buf, size_t len)
{
	long t;

	if (s < 0)
		s = 0;
	if (s < 10 && s != (long)s) {
		snprintf(buf, len, "%.1fs", s);
		return buf;
	}
	t = (long)(s + 0.5);
	if (t < 60)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
	return buf;
}

double es_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
