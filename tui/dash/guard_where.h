/* "Where it fails" on the dashboard: on a guard breach, the failing
 * function's recent errors from CloudWatch Logs and its own AWS/Lambda
 * figures, in the regions its edges report from, read on a background job
 * and shown in the pager (w). */
#ifndef ES_GUARD_WHERE_H
#define ES_GUARD_WHERE_H

#include <stdbool.h>

#include "guard.h"

struct es_dash;
struct guard_where;

/* Open the pager on s's breach (footer: what can be done about it, may be
 * NULL) and read its errors on a job; *slot keeps the state between reads
 * (created on the first). A read already running is not started again. */
void es_guard_where_open(struct es_dash *d, struct guard_where **slot,
                         const struct es_guard_stage *s, const char *footer);
/* A read is running. */
bool es_guard_where_busy(const struct guard_where *w);
/* Forget the state; a running read ends on its own, unheard. */
void es_guard_where_free(struct guard_where **slot);

#endif
