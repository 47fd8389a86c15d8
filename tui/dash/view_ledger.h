/* The ledger view (L): who did what, when, the outcome and why, newest
 * first, for one stage or all of them, in columns fitted to the width; Enter
 * shows a whole record. It reads the records the model already holds (no
 * I/O): the source hands them over at each draw. */
#ifndef ES_VIEW_LEDGER_H
#define ES_VIEW_LEDGER_H

#include "ledger.h"
#include "pager.h"
#include "view.h"

/* Where the records come from (the model, or the screen tests' fixtures);
 * what it returns is borrowed until the next turn of the loop. */
struct es_ledger_source {
	const void *ctx;
	const struct es_record_list *(*records)(const void *ctx);
};

struct es_ledger_view {
	struct es_view view;
	struct es_ledger_source src;
	char stage[64]; /* the stage it was opened on ("" when none) */
	bool all;       /* every stage, not only stage */
	size_t *index;  /* row - 1 -> record, rebuilt from the source at each count */
	size_t n_index, cap;
	const struct es_record_list *shown; /* the list index points into */
};

/* Open on stage (NULL or "": all stages). */
struct es_ledger_view *es_ledger_view_new(struct es_ui *ui, struct es_ledger_source src,
                                          const char *stage);
void es_ledger_view_free(struct es_ledger_view *lv);
/* Between the stage it was opened on and all stages. */
void es_ledger_view_toggle_all(struct es_ledger_view *lv);
/* The record under the cursor, or NULL. */
const struct es_record *es_ledger_view_selected(struct es_ledger_view *lv);
/* The selected record in full, as a pager (NULL when none is selected). */
struct es_pager *es_ledger_view_record(struct es_ledger_view *lv);
/* Draw over the panes, as the pager does. */
void es_ledger_view_draw(struct es_ledger_view *lv);

/* The keys of the focused pane for the status line, fullest first:
 * " y:copy o:open L:ledger", " y:copy o:open", " o:open" on a stage pane
 * (from the bindings in force; "" when none). */
void es_ui_hint_keys(const struct es_ui *ui, char out[3][96]);

#endif
