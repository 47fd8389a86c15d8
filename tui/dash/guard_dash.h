/* The error-rate guard on the dashboard: figures polled on the screen's
 * loop (one GetMetricData for every guarded stage, never a wait), a
 * sparkline line per guarded stage in the Stages pane, and on a breach the
 * bell or notification, the numbers, and the rollback to the previous
 * release on one key (B), or by the guard itself with guard-action =
 * rollback (once per breach, never over another action on the stage, never
 * from a --read-only console); where it fails on w. */
#ifndef ES_GUARD_DASH_H
#define ES_GUARD_DASH_H

#include <stdbool.h>
#include <stddef.h>

struct es_dash;
struct es_ui;

/* From the main loop: start the guard once the model exists (when a stage
 * is guarded), follow the model, poll when due, announce a new breach. */
void es_dash_guard_poll(struct es_dash *d);
void es_dash_guard_free(struct es_dash *d);
/* B: roll the breaching stage back to its previous release (asks first). */
void es_dash_guard_rollback(struct es_dash *d);
/* w: where the last breach fails, in the pager (read on a job). */
void es_dash_guard_errors(struct es_dash *d);
/* A read for w is running (scripts wait for it like for any job). */
bool es_dash_guard_busy(const struct es_dash *d);

/* For the Stages pane: whether stage has a guard line, and drawing it. */
bool es_ui_guard_has(const struct es_ui *ui, const char *stage);
void es_ui_guard_draw(const struct es_ui *ui, const char *stage, int y, int x, int w);

#endif
