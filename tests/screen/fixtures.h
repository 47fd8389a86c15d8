/* Fixed data for the screen tests: two stages (or up to twelve), an
 * activity log and a short history, including text with escape sequences that must not reach the
 * screen. The views read the stages and the log through the same kind of
 * source the dashboard points at the live model. */
#ifndef ES_TEST_FIXTURES_H
#define ES_TEST_FIXTURES_H

#include "dash/view.h"
#include "ledger.h"

/* Fill ui with the fixtures (static storage; call once). */
void fixtures_fill(struct es_ui *ui, struct es_keymap *km);

/* Change the data behind the source, as a model's poll would. */
struct es_stage_view *fixtures_stage(size_t i);
void fixtures_log(double when, enum es_activity_level level, const char *text);
void fixtures_set_connection(const char *text);
/* Show n stages (2 to 12; 2 after fixtures_fill): staging and production,
 * then production-eu, canary-us, sandbox, then seven more with a long
 * name, a failed rollback and an unreadable stack among them. */
void fixtures_set_stages(size_t n);

/* Ledger records for the ledger view (oldest first): both stages, an
 * intent still open, a failure whose message carries escape sequences. */
const struct es_record_list *fixtures_records(const void *ctx);

#endif
