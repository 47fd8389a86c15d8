/* Full-screen text views over the dashboard: a commit (message, author,
 * changed files, diff of template and code) and the help screen generated
 * from the request table. */
#ifndef ES_PAGER_H
#define ES_PAGER_H

#include "keymap.h"
#include "repo.h"
#include "view.h"

struct es_pager_line {
	char *text;
	enum es_area area;
};

struct es_pager {
	char title[256];
	struct es_pager_line *lines;
	size_t n, cap;
	struct es_view view;
};

struct es_pager *es_pager_new(struct es_ui *ui, const char *title);
void es_pager_free(struct es_pager *p);
/* Add text (split at newlines, control characters removed when drawn). */
void es_pager_add(struct es_pager *p, enum es_area area, const char *text);
void es_pager_addf(struct es_pager *p, enum es_area area, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Add text wrapped at spaces to width columns, continuation lines
 * indented by indent columns (long errors read whole). */
void es_pager_add_wrapped(struct es_pager *p, enum es_area area, const char *text, int width,
                          int indent);

/* One Activity line opened whole: its text wrapped to the screen, then the
 * lines around it (the same stage's stack events before a failure). sel is
 * the index in the source's activity (0: oldest). */
struct es_pager *es_pager_activity(struct es_ui *ui, size_t sel);

/* The commit view; the pager owns copies of what it shows. */
struct es_pager *es_pager_commit(struct es_ui *ui, const struct es_commit_detail *d);
/* The help screen: every request with its keys, from the table. */
struct es_pager *es_pager_help(struct es_ui *ui, const struct es_keymap *km, bool read_only);

/* Draw over the panes (title bar and status line stay). */
void es_pager_draw(struct es_pager *p);

#endif
