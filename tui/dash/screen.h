/* Drawing primitives shared by every view: rectangles, wide-char text cut
 * with an ellipsis and with control characters removed, boxes, and dumps
 * of the screen (text with line drawing as ASCII; attributes) for golden
 * tests and scripts. */
#ifndef ES_SCREEN_H
#define ES_SCREEN_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct es_rect {
	int y, x, h, w;
};

/* Fill r with spaces in attr. */
void es_scr_fill(struct es_rect r, attr_t attr);

/* Draw UTF-8 text at (y, x) in at most maxw columns; control characters
 * and undecodable bytes become spaces / '?'. Text never overflows: what
 * does not fit ends in an ellipsis ('~' without UTF-8); blanks that do not
 * fit are simply dropped. Returns the columns used. */
int es_scr_text(int y, int x, int maxw, attr_t attr, const char *s);

/* s in exactly w columns: cut with an ellipsis or padded with spaces in
 * attr. Returns w. */
int es_scr_cell(int y, int x, int w, attr_t attr, const char *s);

/* s cut to w columns with an ellipsis when it is wider, into out (len
 * bytes). Returns out. */
char *es_scr_fit(char *out, size_t len, const char *s, int w);

/* printf into es_scr_text. */
int es_scr_printf(int y, int x, int maxw, attr_t attr, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Columns that s takes on screen (what es_scr_text would draw). */
int es_scr_width(const char *s);

/* Bytes of s (up to end) that fit in width columns, broken after a space
 * when there is one, so long text wraps instead of running off; at least
 * one character. */
size_t es_scr_wrap_len(const char *s, size_t end, int width);

/* A box around r with a title on its top edge. */
void es_scr_box(struct es_rect r, const char *title, attr_t border, attr_t title_attr);

/* Horizontal line of ch-like line drawing. */
void es_scr_hline(int y, int x, int w, attr_t attr);

/* Write the visible screen as text: one line per row, trailing spaces
 * trimmed, line drawing as - | +. */
int es_scr_dump(FILE *f);
/* Write the attributes of the visible screen: a legend (one code letter
 * per distinct look: "a: NAME (red on default, bold)", NAME from name_of)
 * then "--" and one line per row with each character's code, blank for
 * plain text, trailing blanks trimmed. */
int es_scr_dump_attrs(FILE *f, const char *(*name_of)(attr_t attr, void *ud), void *ud);
/* Dump into path, replaced whole (written aside, then renamed). Returns 0
 * or -1 with errno. */
int es_scr_dump_path(const char *path);
/* Whether text is on the visible screen, within one row of the dump. */
bool es_scr_shows(const char *text);

#endif
