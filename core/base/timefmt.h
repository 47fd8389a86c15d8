/* Times as AWS writes them (ISO 8601 with optional fractions and offsets)
 * and durations as people read them. */
#ifndef ES_TIMEFMT_H
#define ES_TIMEFMT_H

#include <stddef.h>

/* Seconds since the epoch (with fraction) or -1 when s is not ISO 8601. */
double es_time_parse(const char *s);
/* "2m05s", "1h02m", "45s", "0.8s" into buf. */
const char *es_duration_format(double seconds, char *buf, size_t len);
/* Wall clock seconds with fraction. */
double es_time_now(void);

#endif
