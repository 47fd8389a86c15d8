/* Views: each pane fills a small table of functions (rows, draw one row,
 * match a search); scrolling, selection and search live once in view.c.
 * Views read the stages, the activity log and the connection through a
 * source (struct es_ui_source) that the dashboard points at the live model
 * and the screen tests at fixtures; they keep no copy of either. */
#ifndef ES_VIEW_H
#define ES_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "commit_list.h"
#include "keymap.h"
#include "model.h"
#include "screen.h"
#include "theme.h"

/* What a request handler asks the main loop to do (htop style). */
enum {
	ES_HANDLED = 1 << 0,
	ES_REDRAW = 1 << 1,
	ES_QUIT = 1 << 2,
	ES_REFRESH = 1 << 3,
};

/* One commit of the history as the views read it; the strings belong to
 * the list and stay put until it is freed. */
struct es_hist_commit {
	char oid[41];
	time_t when;
	const char *summary; /* sanitised */
	const char *author;
};

/* The History pane's commits, kept compactly by core's commit list (NULL
 * until the first commit), and how their loading goes. */
struct es_history_list {
	struct es_commit_list *commits;
	bool loading;
	char error[256];
	struct es_hist_commit selected; /* what es_ui_selected_commit answers */
};

/* Append a commit (copies the strings; oid is 40 hex digits). */
int es_history_list_add(struct es_history_list *h, const char *oid, time_t when,
                        const char *summary, const char *author);
void es_history_list_free(struct es_history_list *h);
size_t es_history_list_count(const struct es_history_list *h);
/* Commit i (< count). */
void es_history_list_get(const struct es_history_list *h, size_t i, struct es_hist_commit *out);
/* The summary of the commit with the full id oid, NULL when it is not (or
 * not yet) in the list. */
const char *es_history_list_summary_of(const struct es_history_list *h, const char *oid);

enum es_pane {
	ES_PANE_HISTORY,
	ES_PANE_STAGES,
	ES_PANE_PROPAGATION,
	ES_PANE_VALIDATION,
	ES_PANE_ACTIVITY,
	ES_PANE_COUNT
};

struct es_view;

struct es_view_ops {
	const char *name;
	const char *title;
	/* Lines the view has now. */
	size_t (*rows)(struct es_view *v);
	/* Draw line row at (y, x) in w columns; cursor: it is the selected one. */
	void (*draw_row)(struct es_view *v, size_t row, int y, int x, int w, bool cursor);
	/* Can the cursor rest on row? (NULL: every row) */
	bool (*selectable)(struct es_view *v, size_t row);
	/* Does row contain needle (case-insensitive)? */
	bool (*matches)(struct es_view *v, size_t row, const char *needle);
	/* Right side of the title ("120 commits, loading…"). */
	void (*subtitle)(struct es_view *v, char *buf, size_t len);
	/* The stage index a row belongs to, or -1 (NULL: none). A view that
	 * has it is a stage pane: a block of rows per stage, its first
	 * selectable, every block but the last ending in a blank row; the
	 * cursor follows the one stage selection (es_ui.stage_sel). */
	int (*stage_of)(struct es_view *v, size_t row);
};

struct es_view {
	const struct es_view_ops *ops;
	struct es_ui *ui;
	size_t offset, cursor;
	int height;        /* rows visible at the last draw */
	bool follow;       /* keep the last line in sight (activity) */
	const char *title; /* drawn instead of ops->title when set (the layout's) */
	void *priv;        /* the view's own data (pager) */
};

/* The live data as the views read it, one call at a time: the dashboard
 * answers from es_model_stage() and the rest, the screen tests from fixed
 * data. ctx is handed back to each function; what they return is borrowed
 * until the source next changes (the next turn of the loop). */
struct es_ui_source {
	const void *ctx;
	size_t (*stage_count)(const void *ctx);
	const struct es_stage_view *(*stage)(const void *ctx, size_t i);
	size_t (*activity_count)(const void *ctx);
	/* i = 0 is the oldest line kept */
	const struct es_activity *(*activity)(const void *ctx, size_t i);
	/* "" when all is well, else e.g. "offline: retrying in 8s (…)" */
	const char *(*connection)(const void *ctx);
};

/* Everything the screen shows. Pointers are borrowed. */
#define ES_UI_DRIFT_STAGES 16

struct es_ui {
	/* data */
	struct es_ui_source source;
	struct es_history_list *history;
	/* status line */
	const char *app; /* app name, or "" */
	const char *branch;
	const char *identity; /* caller ARN, or why it is unknown */
	const char *account;
	const char *region;
	const char *endpoint;
	const char *credentials; /* where they came from, or why there are none */
	const char *conf_note;   /* "no edgeship.conf: run `edgeship init`" … */
	bool read_only;
	char message[512];  /* transient note (refusals, results) */
	char progress[160]; /* how far a running step is, with a bar; under a message */
	bool message_error;
	double now; /* wall clock for "3m ago" (fixed in tests) */
	/* state */
	struct es_view views[ES_PANE_COUNT];
	enum es_pane focus;
	/* The selected stage: one selection for the Stages, Propagation and
	 * Validation panes, whichever has the focus. */
	size_t stage_sel;
	/* The Stages pane expands the selected stage with its propagation and
	 * validation too (set by the layout when those panes are not shown). */
	bool stages_full;
	char search[128];
	const struct es_keymap *keymap;
	/* Per stage (configuration order), the last drift check: "drifted",
	 * "in sync", "checking", or "" when not checked. */
	char drift[ES_UI_DRIFT_STAGES][12];
};

extern const struct es_view_ops es_history_ops;
extern const struct es_view_ops es_stages_ops;
extern const struct es_view_ops es_propagation_ops;
extern const struct es_view_ops es_validation_ops;
extern const struct es_view_ops es_activity_ops;
/* Inner width of the Propagation pane (its edge grid wraps at it). */
extern int es_propagation_width;

/* Wire the five panes to ui. */
void es_ui_init(struct es_ui *ui);

/* The source's data (none while it has no functions): stages in the
 * configuration's order, activity oldest first. NULL past the end. */
size_t es_ui_stage_count(const struct es_ui *ui);
const struct es_stage_view *es_ui_stage(const struct es_ui *ui, size_t i);
size_t es_ui_activity_count(const struct es_ui *ui);
const struct es_activity *es_ui_activity(const struct es_ui *ui, size_t i);
/* The theme area an activity line is drawn in, by its level. */
enum es_area es_activity_area(const struct es_activity *a);
const char *es_ui_connection(const struct es_ui *ui);

/* Draw the whole dashboard (panes, status line) for the current size. */
void es_ui_draw(struct es_ui *ui);
/* Minimum terminal size. */
#define ES_UI_MIN_COLS  60
#define ES_UI_MIN_LINES 16

/* Draw v's rows in box (border included), focused or not. */
void es_view_draw(struct es_view *v, struct es_rect box, bool focused);
/* Draw only the rows of v that belong to stage (a stage pane showing the
 * selected stage). */
void es_view_draw_stage(struct es_view *v, struct es_rect box, bool focused, size_t stage);
/* Whether v is one of the stage panes (its rows belong to stages). */
bool es_view_is_stage(const struct es_view *v);
/* The rows of stage in v, without the blank line that ends its block:
 * their count, and the first in *first. */
size_t es_view_stage_rows(struct es_view *v, size_t stage, size_t *first);
/* Movement requests on v; ES_HANDLED|ES_REDRAW when handled, else 0. */
unsigned es_view_request(struct es_view *v, enum es_request req);
/* Move to the next (dir 1) or previous (dir -1) row matching needle,
 * wrapping. False when none matches. */
bool es_view_search(struct es_view *v, const char *needle, int dir);
/* Keep the cursor on a selectable row and in sight. */
void es_view_clamp(struct es_view *v);

/* Selected commit (NULL when none) and the stage the user points at: the
 * Stages/Propagation/Validation cursor, or -1. */
const struct es_hist_commit *es_ui_selected_commit(struct es_ui *ui);
int es_ui_selected_stage(struct es_ui *ui);
/* The stage whose rows a view's row belongs to (multi-line stage views). */
int es_view_stage_of(struct es_view *v, size_t row);

/* A stage's short tag for compact markers ("S" staging, "PE" production-eu):
 * the initials of its name's parts, unique among the stages. */
const char *es_stage_tag(const struct es_ui *ui, size_t i, char *buf, size_t len);
/* The widest tag (columns). */
int es_stage_tag_width(const struct es_ui *ui);

/* Shared pieces for views. */
attr_t es_stage_status_attr(const char *status);
/* "3m ago" relative to ui->now. */
const char *es_ago(const struct es_ui *ui, double when, char *buf, size_t len);

#endif
