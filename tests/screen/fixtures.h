/* Fixed data for the screen tests: two stages, an activity log and a short
 * history, including text with escape sequences that must not reach the
 * screen. */
#ifndef ES_TEST_FIXTURES_H
#define ES_TEST_FIXTURES_H

#include "dash/view.h"

/* Fill ui with the fixtures (static storage; call once). */
void fixtures_fill(struct es_ui *ui, struct es_keymap *km);

#endif
