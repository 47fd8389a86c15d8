/* Dialog boxes: confirmation (default No), Yes-then-Enter confirmation,
 * typed confirmation, a text prompt, a chooser and a message, centred over
 * the dashboard. None takes a key before it has been shown. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "repo.h"
#include "screen.h"
#include "theme.h"

struct es_dialog *es_dialog_new(enum es_dialog_kind kind, const char *title, const char *question,
                                es_dialog_fn fn, void *ud)
{
	struct es_dialog *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->kind = kind;
	snprintf(d->title, sizeof(d->title), "%s", title ? title : "");
	snprintf(d->question, sizeof(d->question), "%s", question ? question : "");
	es_sanitize(d->title, false);
	es_sanitize(d->question, false);
	d->fn = fn;
	d->ud = ud;
	return d;
}

static void push(char ***arr, size_t *n, const char *s, size_t len)
{
	char **a = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!a)
		return;
	*arr = a;
	a[*n] = strndup(s, len);
	if (a[*n]) {
		es_sanitize(a[*n], false);
		(*n)++;
	}
}

/* A body line at most this wide; longer ones wrap at spaces. */
#define DIALOG_WRAP 76

void es_dialog_body(struct es_dialog *d, const char *text)
{
	const char *s = text ? text : "";

	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s), done = 0;
		do {
			size_t n = es_scr_wrap_len(s + done, len - done, DIALOG_WRAP);
			push(&d->body, &d->n_body, s + done, n);
			done += n;
		} while (done < len);
		if (!nl)
			return;
		s = nl + 1;
	}
}

void es_dialog_bodyf(struct es_dialog *d, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	es_dialog_body(d, buf);
}

void es_dialog_choice(struct es_dialog *d, const char *text)
{
	push(&d->choices, &d->n_choices, text, strlen(text));
}

static char *clean_dup(const char *s)
{
	char *c = s ? strdup(s) : NULL;
	if (c)
		es_sanitize(c, false);
	return c;
}

void es_dialog_change(struct es_dialog *d, const char *action, const char *logical_id,
                      const char *type, const char *replacement)
{
	struct es_dialog_change *p = realloc(d->changes, (d->n_changes + 1) * sizeof(*p));

	if (!p)
		return;
	d->changes = p;
	p[d->n_changes++] = (struct es_dialog_change){
	        .action = clean_dup(action ? action : "?"),
	        .logical_id = clean_dup(logical_id ? logical_id : ""),
	        .type = clean_dup(type ? type : ""),
	        .replacement = clean_dup(replacement),
	};
}

static void close_with(struct es_dialog *d, bool ok)
{
	d->done = true;
	d->ok = ok;
}

static void edit(struct es_dialog *d, int key)
{
	size_t n = strlen(d->input);

	if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		/* drop one UTF-8 character */
		while (n > 0 && ((unsigned char)d->input[n - 1] & 0xc0) == 0x80)
			d->input[--n] = 0;
		if (n > 0)
			d->input[--n] = 0;
	} else if (key == 21) { /* C-u */
		d->input[0] = 0;
	} else if (key >= ' ' && key != 127 && (key < KEY_MIN || key > KEY_MAX)) {
		char mb[8];
		int k = 0;
		unsigned c = (unsigned)key & 0xffffff;
		if (c < 0x80) {
			mb[k++] = (char)c;
		} else if (c < 0x800) {
			mb[k++] = (char)(0xc0 | (c >> 6));
			mb[k++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			mb[k++] = (char)(0xe0 | (c >> 12));
			mb[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			mb[k++] = (char)(0x80 | (c & 0x3f));
		}
		if (n + (size_t)k + 1 < sizeof(d->input)) {
			memcpy(d->input + n, mb, (size_t)k);
			d->input[n + (size_t)k] = 0;
		}
	}
}

/* Lines that scroll: the change-set rows, then the body lines. */
static size_t scroll_lines(const struct es_dialog *d)
{
	return d->n_changes + d->n_body;
}

/* Rows every kind of dialog needs besides the scrolled lines. */
static int fixed_rows(const struct es_dialog *d)
{
	int extra = d->kind == ES_DLG_CHOOSE ? (int)d->n_choices : 0;
	return 2 + 1 + 2 + extra + (d->note[0] ? 1 : 0) +
	       (d->kind == ES_DLG_TYPE || d->kind == ES_DLG_PROMPT || d->kind == ES_DLG_YES_ENTER
	                ? 1
	                : 0) +
	       (d->n_changes ? 1 : 0); /* the table's header */
}

/* How many scrolled lines fit on the screen now. */
static size_t visible_lines(const struct es_dialog *d)
{
	int h = LINES - 4 - fixed_rows(d);
	size_t n = scroll_lines(d);
	return h < 1 ? 1 : (size_t)h < n ? (size_t)h : n;
}

/* A change-set table scrolls as the pager does: Up/Down a line, PgUp/PgDn
 * a screenful, Home/End; the last screenful stays full. */
static bool scroll_table(struct es_dialog *d, int key)
{
	size_t n = scroll_lines(d), page = visible_lines(d);
	size_t last = n > page ? n - page : 0;

	switch (key) {
	case KEY_DOWN: d->top = d->top < last ? d->top + 1 : last; return true;
	case KEY_NPAGE: d->top = d->top + page < last ? d->top + page : last; return true;
	case KEY_UP: d->top = d->top ? d->top - 1 : 0; return true;
	case KEY_PPAGE: d->top = d->top > page ? d->top - page : 0; return true;
	case KEY_HOME: d->top = 0; return true;
	case KEY_END: d->top = last; return true;
	default: return false;
	}
}

static bool scroll_body(struct es_dialog *d, int key)
{
	if (d->n_changes)
		return scroll_table(d, key);
	switch (key) {
	case KEY_DOWN:
	case KEY_NPAGE:
		if (d->top + 1 < d->n_body)
			d->top += key == KEY_NPAGE ? 10 : 1;
		if (d->top >= d->n_body)
			d->top = d->n_body ? d->n_body - 1 : 0;
		return true;
	case KEY_UP:
	case KEY_PPAGE:
		d->top = d->top > (key == KEY_PPAGE ? 10u : 1u)
		                 ? d->top - (key == KEY_PPAGE ? 10 : 1)
		                 : 0;
		return true;
	default: return false;
	}
}

void es_dialog_arm(struct es_dialog *d)
{
	if (!d || d->armed)
		return;
	d->armed = true;
}

bool es_dialog_key(struct es_dialog *d, int key)
{
	bool enter = key == '\n' || key == '\r' || key == KEY_ENTER;

	if (!d->armed) {
		/* typed before the question was on screen: it answers nothing,
		 * and the question says so once it shows */
		d->ignored++;
		snprintf(d->note, sizeof(d->note),
		         "%d key%s typed before this question was shown %s ignored", d->ignored,
		         d->ignored == 1 ? "" : "s", d->ignored == 1 ? "was" : "were");
		return false;
	}
	if (key == 27 || key == 7 /* C-g */) {
		close_with(d, false);
		return true;
	}
	if (scroll_body(d, key) && d->kind != ES_DLG_CHOOSE)
		return false;
	switch (d->kind) {
	case ES_DLG_CONFIRM:
		if (key == 'y' || key == 'Y')
			close_with(d, true);
		else if (key == 'n' || key == 'N' || enter || key == 'q')
			close_with(d, false);
		else if (key == 'j')
			scroll_body(d, KEY_DOWN);
		else if (key == 'k')
			scroll_body(d, KEY_UP);
		break;
	case ES_DLG_YES_ENTER:
		/* two deliberate keys: a stray y (or one typed ahead) never executes */
		if (key == 'y' || key == 'Y') {
			d->yes = true;
		} else if (enter) {
			close_with(d, d->yes);
		} else if (key == 'n' || key == 'N' || key == 'q') {
			close_with(d, false);
		} else if (key == 'j') {
			scroll_body(d, KEY_DOWN);
		} else if (key == 'k') {
			scroll_body(d, KEY_UP);
		}
		break;
	case ES_DLG_TYPE:
		if (enter) {
			if (strcmp(d->input, d->expect) == 0) {
				close_with(d, true);
			} else {
				snprintf(d->note, sizeof(d->note),
				         "type \"%s\" exactly, or Esc to cancel", d->expect);
				d->input[0] = 0;
			}
		} else {
			edit(d, key);
		}
		break;
	case ES_DLG_PROMPT:
		if (enter) {
			if (d->check && !d->check(d->input, d->note, sizeof(d->note)))
				break;
			close_with(d, true);
		} else {
			edit(d, key);
		}
		break;
	case ES_DLG_CHOOSE:
		if ((key == 'j' || key == KEY_DOWN) && d->sel + 1 < d->n_choices)
			d->sel++;
		else if ((key == 'k' || key == KEY_UP) && d->sel > 0)
			d->sel--;
		else if (enter && d->n_choices)
			close_with(d, true);
		else if (key == 'q')
			close_with(d, false);
		break;
	case ES_DLG_MESSAGE: close_with(d, true); break;
	}
	return d->done;
}

void es_dialog_finish(struct es_dialog *d)
{
	if (d->fn)
		d->fn(d, d->ok, d->input, (int)d->sel, d->ud);
}

void es_dialog_free(struct es_dialog *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_body; i++)
		free(d->body[i]);
	for (size_t i = 0; i < d->n_choices; i++)
		free(d->choices[i]);
	for (size_t i = 0; i < d->n_changes; i++) {
		free(d->changes[i].action);
		free(d->changes[i].logical_id);
		free(d->changes[i].type);
		free(d->changes[i].replacement);
	}
	free(d->changes);
	free(d->body);
	free(d->choices);
	free(d);
}

/* ------------------------------------------------------------ change-set table */

enum { COL_ACTION, COL_ID, COL_TYPE, COL_REPL, N_COLS };

static const char *const col_names[N_COLS] = {"Action", "Logical ID", "Type", "Replacement"};

static const char *cell(const struct es_dialog_change *c, int col)
{
	switch (col) {
	case COL_ACTION: return c->action;
	case COL_ID: return c->logical_id;
	case COL_TYPE: return c->type;
	default: return c->replacement ? c->replacement : "-";
	}
}

/* Column widths from the content; when the table is wider than max, the
 * logical id and then the type give way (each down to a minimum). The
 * table's width is returned. */
static int table_widths(const struct es_dialog *d, int max, int w[N_COLS])
{
	static const int min_w[N_COLS] = {6, 12, 16, 11};
	int total = 2; /* the mark column */

	for (int c = 0; c < N_COLS; c++) {
		w[c] = es_scr_width(col_names[c]);
		for (size_t i = 0; i < d->n_changes; i++) {
			int n = es_scr_width(cell(&d->changes[i], c));
			if (n > w[c])
				w[c] = n;
		}
		total += w[c] + (c + 1 < N_COLS ? 2 : 0);
	}
	for (int c = COL_ID; total > max && c <= COL_TYPE; c++) {
		int give = total - max, room = w[c] - min_w[c];
		if (room <= 0)
			continue;
		if (give > room)
			give = room;
		w[c] -= give;
		total -= give;
	}
	return total;
}

/* s in at most w columns: the head, "…" and the tail (the tail of a
 * generated id is what tells it apart). Ids and types are ASCII. */
static const char *fit(const char *s, int w, char *buf, size_t len)
{
	int n = (int)strlen(s);

	if (n <= w || w < 3)
		return s;
	int tail = (w - 1) / 3, head = w - 1 - tail;
	snprintf(buf, len, "%.*s\u2026%s", head, s, s + n - tail);
	return buf;
}

static void draw_table_row(const struct es_dialog *d, size_t i, int y, int x, int iw,
                           const int w[N_COLS])
{
	const struct es_dialog_change *c = i < d->n_changes ? &d->changes[i] : NULL;
	const char *a = c ? c->action : "";
	const char *r = c && c->replacement ? c->replacement : "";
	enum es_area area = !c                     ? ES_AREA_PANE_TITLE
	                    : !strcmp(a, "Add")    ? ES_AREA_DIFF_ADD
	                    : !strcmp(a, "Remove") ? ES_AREA_DIFF_DEL
	                    : !strcmp(r, "True")   ? ES_AREA_DANGER
	                                           : ES_AREA_DIFF_HUNK;
	char mark[2] = {!c                     ? ' '
	                : !strcmp(a, "Add")    ? '+'
	                : !strcmp(a, "Remove") ? '-'
	                : !strcmp(r, "True")   ? '!'
	                                       : '~',
	                0};
	int col = es_scr_text(y, x, iw, es_theme_attr(area), mark);
	col += es_scr_text(y, x + col, iw - col, es_theme_attr(area), " ");
	for (int k = 0; k < N_COLS && col < iw; k++) {
		char buf[256];
		const char *text = c ? fit(cell(c, k), w[k], buf, sizeof(buf)) : col_names[k];
		enum es_area ca = area;
		if (c && k == COL_REPL)
			ca = !strcmp(r, "True")          ? ES_AREA_DANGER
			     : !strcmp(r, "Conditional") ? ES_AREA_ACT_WARN
			                                 : ES_AREA_DIALOG;
		int n = es_scr_text(y, x + col, iw - col, es_theme_attr(ca), text);
		col += n;
		for (int pad = n; pad < w[k] + (k + 1 < N_COLS ? 2 : 0) && col < iw; pad++)
			col += es_scr_text(y, x + col, iw - col, es_theme_attr(ES_AREA_DIALOG),
			                   " ");
	}
}

bool es_dialog_draw(const struct es_dialog *d)
{
	/* A long question wraps: the box grows down, not past the screen. */
	int want_w = es_scr_width(d->question) + 6;
	if (want_w > DIALOG_WRAP + 4)
		want_w = DIALOG_WRAP + 4;
	if (es_scr_width(d->note) + 4 > want_w)
		want_w = es_scr_width(d->note) + 4;
	for (size_t i = 0; i < d->n_body; i++) {
		int w = es_scr_width(d->body[i]) + 4;
		if (w > want_w)
			want_w = w;
	}
	int tw[N_COLS];
	if (d->n_changes && table_widths(d, COLS - 8, tw) + 4 > want_w)
		want_w = table_widths(d, COLS - 8, tw) + 4;
	if (want_w < 44)
		want_w = 44;
	int w = want_w > COLS - 4 ? COLS - 4 : want_w;
	/* fixed_rows counts one line of question; a long one wraps to more */
	int q_lines = 0;
	size_t qlen = strlen(d->question);
	for (size_t at = 0; at < qlen || q_lines == 0; q_lines++)
		at += qlen ? es_scr_wrap_len(d->question + at, qlen - at, w - 4 > 1 ? w - 4 : 1)
		           : 1;
	int fixed = fixed_rows(d) - 1 + q_lines;
	int body_h = (int)scroll_lines(d);
	if (body_h > LINES - 4 - fixed)
		body_h = LINES - 4 - fixed;
	if (body_h < 0)
		body_h = 0;
	int h = fixed + body_h + (body_h ? 1 : 0);
	if (h > LINES - 2)
		h = LINES - 2;
	if (w < 10 || h < 4)
		return false;
	struct es_rect r = {(LINES - h) / 2, (COLS - w) / 2, h, w};
	attr_t normal = es_theme_attr(ES_AREA_DIALOG);
	es_scr_fill(r, normal);
	es_scr_box(r, d->title, es_theme_attr(d->danger ? ES_AREA_DANGER : ES_AREA_DIALOG_BORDER),
	           es_theme_attr(d->danger ? ES_AREA_DANGER : ES_AREA_PANE_TITLE));
	int y = r.y + 2, x = r.x + 2, iw = w - 4;
	if (d->n_changes) {
		table_widths(d, iw, tw);
		draw_table_row(d, d->n_changes, y++, x, iw, tw); /* the header */
	}
	for (int i = 0; i < body_h; i++) {
		size_t k = d->top + (size_t)i;
		if (k < d->n_changes) {
			draw_table_row(d, k, y++, x, iw, tw);
			continue;
		}
		k -= d->n_changes;
		if (k >= d->n_body)
			break;
		const char *l = d->body[k];
		enum es_area a = l[0] == '+'   ? ES_AREA_DIFF_ADD
		                 : l[0] == '-' ? ES_AREA_DIFF_DEL
		                 : l[0] == '~' ? ES_AREA_DIFF_HUNK
		                 : l[0] == '!' ? ES_AREA_DANGER
		                               : ES_AREA_DIALOG;
		es_scr_text(y++, x, iw, es_theme_attr(a), l);
	}
	if (d->n_changes && scroll_lines(d) > (size_t)body_h && body_h > 0)
		es_scr_printf(r.y + r.h - 1, r.x + 2, iw, es_theme_attr(ES_AREA_HINT),
		              " lines %zu-%zu of %zu: Up/Down PgUp/PgDn Home/End ", d->top + 1,
		              d->top + (size_t)body_h, scroll_lines(d));
	else if (d->n_body > (size_t)body_h && body_h > 0)
		es_scr_printf(r.y + r.h - 1, r.x + 2, iw, es_theme_attr(ES_AREA_HINT),
		              " %zu more lines: Up/Down ", d->n_body - (size_t)body_h);
	if (body_h)
		y++;
	for (size_t at = 0; at < qlen;) {
		size_t n = es_scr_wrap_len(d->question + at, qlen - at, iw > 1 ? iw : 1);
		es_scr_printf(y++, x, iw, normal | A_BOLD, "%.*s", (int)n, d->question + at);
		at += n;
	}
	if (!qlen)
		y++;
	switch (d->kind) {
	case ES_DLG_CONFIRM:
		es_scr_text(y, x, iw, es_theme_attr(ES_AREA_HINT), "y: yes   n / Enter / Esc: no");
		break;
	case ES_DLG_YES_ENTER: {
		/* the selection in text too, so screen dumps show it */
		es_scr_text(y, x, 9, es_theme_attr(d->yes ? ES_AREA_DIALOG : ES_AREA_CURSOR),
		            d->yes ? "[ ] No" : "[*] No");
		es_scr_text(y, x + 9, iw - 9,
		            es_theme_attr(d->yes ? ES_AREA_CURSOR : ES_AREA_DIALOG),
		            d->yes ? "[*] Yes" : "[ ] Yes");
		y++;
		es_scr_text(y, x, iw, es_theme_attr(ES_AREA_HINT),
		            d->yes ? "Enter: yes, execute   n / Esc: no"
		                   : "y then Enter: yes   n / Enter / Esc: no");
		break;
	}
	case ES_DLG_TYPE:
	case ES_DLG_PROMPT: {
		int n = es_scr_printf(y, x, iw, es_theme_attr(ES_AREA_CURSOR), "> %s", d->input);
		es_scr_fill((struct es_rect){y, x + n, 1, iw - n > 0 ? 1 : 0},
		            es_theme_attr(ES_AREA_CURSOR) | A_REVERSE);
		y++;
		es_scr_text(y, x, iw, es_theme_attr(ES_AREA_HINT),
		            d->kind == ES_DLG_TYPE ? "Enter: confirm   Esc: cancel"
		                                   : "Enter: accept   C-u: clear   Esc: cancel");
		break;
	}
	case ES_DLG_CHOOSE:
		for (size_t i = 0; i < d->n_choices; i++)
			es_scr_printf(y++, x, iw,
			              es_theme_attr(i == d->sel ? ES_AREA_CURSOR : ES_AREA_DIALOG),
			              "%s %s", i == d->sel ? ">" : " ", d->choices[i]);
		es_scr_text(y, x, iw, es_theme_attr(ES_AREA_HINT),
		            "j/k: move   Enter: choose   Esc: cancel");
		break;
	case ES_DLG_MESSAGE:
		es_scr_text(y, x, iw, es_theme_attr(ES_AREA_HINT), "any key closes");
		break;
	}
	if (d->note[0])
		es_scr_text(r.y + r.h - 2, x, iw, es_theme_attr(ES_AREA_ACT_WARN), d->note);
	return true;
}
