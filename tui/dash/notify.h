/* Getting the operator's attention, and handing things to the desktop:
 * the bell and desktop notifications when an action ends, a distribution
 * reaches Deployed, a validation fails or a promotion awaits approval
 * (configured in the user's config, [attention] bell and notify); the
 * clipboard (y, OSC 52) and the browser (o, xdg-open); and the ledger view
 * (L) on top of the panes. */
#ifndef ES_NOTIFY_H
#define ES_NOTIFY_H

#include <stdbool.h>

#include "keymap.h"

struct es_dash;
struct es_attn;

/* Read [attention] bell = on|off and notify = off|osc9|osc777|notify-send|
 * auto from the user's config at path (problems go to the activity strip;
 * defaults: bell on, notify auto). */
void es_attn_setup(struct es_dash *d, const char *path);
/* From the main loop: compare what the model holds with the last look and
 * ring, notify for what changed; reap finished helper programs. Cheap when
 * nothing changed. */
void es_attn_poll(struct es_dash *d);
void es_attn_free(struct es_dash *d);
/* Ring and notify now: the guard saw a breach in stage (text: the figures). */
void es_attn_alert(struct es_dash *d, const char *stage, const char *text);
/* L, t, y and o, and Enter, Esc and q while the ledger is open: the flags
 * of the handled request, or 0 when it is not one of these. */
unsigned es_attn_request(struct es_dash *d, enum es_request req);

#endif
