/* The History pane: commits streamed from git, newest first, with a
 * compact badge (the stage's tag) for each stage that runs the commit and
 * its validation mark, and one on a commit waiting to be promoted to the
 * next stage; the badges take a column of their own so subjects line up. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "view.h"

static size_t rows(struct es_view *v)
{
	return es_history_list_count(v->ui->history);
}

static bool utf8(void)
{
	return MB_CUR_MAX > 1;
}

/* A commit's badges: each stage that runs it (its tag and validation mark)
 * and, after a stage that validated it, the next stage it waits for
 * (an arrow and that stage's tag). Each is the same width. */
struct badge {
	char text[16];
	enum es_area area;
};

static size_t badges_of(struct es_ui *ui, const char *oid, struct badge *out, size_t cap)
{
	size_t n = 0, count = es_ui_stage_count(ui);
	char tag[8];

	for (size_t i = 0; i < count && n < cap; i++) {
		const struct es_stage_view *s = es_ui_stage(ui, i);
		if (!s->commit[0] || strcmp(s->commit, oid) != 0)
			continue;
		enum es_area area = ES_AREA_MARKER_STAGE;
		const char *mark = utf8() ? "\u00b7" : ".";
		if (s->validated && s->validation_passed)
			mark = utf8() ? "\u2713" : "+";
		else if (s->validated) {
			mark = utf8() ? "\u2717" : "x";
			area = ES_AREA_MARKER_FAILED;
		}
		if (strstr(s->stack_status, "FAILED") || strstr(s->stack_status, "ROLLBACK"))
			area = ES_AREA_MARKER_FAILED;
		snprintf(out[n].text, sizeof(out[n].text), "%s%s",
		         es_stage_tag(ui, i, tag, sizeof(tag)), mark);
		out[n++].area = area;
		/* validated here and not yet in the next stage: waiting for approval */
		if (i + 1 < count && s->validated && s->validation_passed &&
		    strcmp(es_ui_stage(ui, i + 1)->commit, oid) != 0 && n < cap) {
			snprintf(out[n].text, sizeof(out[n].text), "%s%s", utf8() ? "\u2192" : ">",
			         es_stage_tag(ui, i + 1, tag, sizeof(tag)));
			out[n++].area = ES_AREA_MARKER_PENDING;
		}
	}
	return n;
}

/* The badge column's width: the most badges any commit has, at most a
 * third of the row; 0 when no stage runs a commit. */
static int markers_width(struct es_ui *ui, int w, int bw)
{
	struct badge b[32];
	int most = 0;

	for (size_t i = 0; i < es_ui_stage_count(ui); i++) {
		const char *oid = es_ui_stage(ui, i)->commit;
		if (!oid[0])
			continue;
		int n = (int)badges_of(ui, oid, b, sizeof(b) / sizeof(b[0]));
		int cols = n ? n * (bw + 1) : 0;
		if (cols > most)
			most = cols;
	}
	if (most > w / 3)
		most = w / 3;
	return most;
}

/* Badges for c in exactly mw columns (those that do not fit give way to
 * an ellipsis); returns mw. */
static int draw_markers(struct es_ui *ui, const struct es_hist_commit *c, int y, int x, int mw,
                        int bw)
{
	struct badge b[32];
	size_t n = badges_of(ui, c->oid, b, sizeof(b) / sizeof(b[0]));
	bool all = (int)n * (bw + 1) <= mw;
	int used = 0;

	for (size_t k = 0; k < n; k++) {
		if (!all && used + bw + 1 > mw - 2) {
			es_scr_text(y, x + used, 1, es_theme_attr(ES_AREA_HINT),
			            utf8() ? "\u2026" : "~");
			break;
		}
		es_scr_cell(y, x + used, bw, es_theme_attr(b[k].area), b[k].text);
		used += bw + 1;
	}
	return mw;
}

/* The author column: as wide as the longest name in sight, 6 to 16. */
static int author_width(struct es_view *v)
{
	const struct es_history_list *h = v->ui->history;
	int most = 6;

	size_t n = es_history_list_count(h);

	for (size_t r = v->offset; r < n && r < v->offset + (size_t)(v->height > 0 ? v->height : 1);
	     r++) {
		int aw = es_scr_width(es_commit_list_author(h->commits, r));
		if (aw > most)
			most = aw;
	}
	return most > 16 ? 16 : most;
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	struct es_ui *ui = v->ui;
	struct es_hist_commit commit, *c = &commit;
	attr_t cur = cursor ? es_theme_attr(ES_AREA_CURSOR) : 0;
	char date[32];
	struct tm tm;
	time_t t;
	int col = 0;
	int bw = es_stage_tag_width(ui) + 1;

	es_history_list_get(ui->history, row, c);
	t = c->when;
	strftime(date, sizeof(date), "%Y-%m-%d", localtime_r(&t, &tm));
	col += es_scr_printf(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_COMMIT_ID),
	                     "%.7s ", c->oid);
	if (w >= 60)
		col += es_scr_printf(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_DATE),
		                     "%s ", date);
	if (w >= 76) {
		int aw = author_width(v);
		es_scr_cell(y, x + col, aw, cur ? cur : es_theme_attr(ES_AREA_AUTHOR), c->author);
		col += aw + 1;
	}
	int mw = markers_width(ui, w - col, bw);
	if (mw > 0)
		col += draw_markers(ui, c, y, x + col, mw, bw);
	if (col < w)
		es_scr_text(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_NORMAL),
		            c->summary);
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	struct es_hist_commit c;

	es_history_list_get(v->ui->history, row, &c);
	return strcasestr(c.summary, needle) || strcasestr(c.author, needle) ||
	       strncasecmp(c.oid, needle, strlen(needle)) == 0;
}

static void subtitle(struct es_view *v, char *buf, size_t len)
{
	const struct es_history_list *h = v->ui->history;

	if (!h)
		snprintf(buf, len, "no repository");
	else if (h->error[0])
		snprintf(buf, len, "%s", h->error);
	else
		snprintf(buf, len, "%zu commit%s%s", es_history_list_count(h),
		         es_history_list_count(h) == 1 ? "" : "s",
		         h->loading ? ", loading\u2026" : "");
}

const struct es_view_ops es_history_ops = {
        .name = "history",
        .title = "History",
        .rows = rows,
        .draw_row = draw_row,
        .matches = matches,
        .subtitle = subtitle,
};
