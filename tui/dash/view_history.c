/* The History pane: commits streamed from git, newest first, with a badge
 * for each stage that runs the commit, its validation outcome, and a mark
 * on a commit waiting to be promoted to the next stage. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "view.h"

static size_t rows(struct es_view *v)
{
	return v->ui->history ? v->ui->history->n : 0;
}

static bool utf8(void)
{
	return MB_CUR_MAX > 1;
}

/* Stage badges for c; returns the columns used. */
static int draw_markers(struct es_ui *ui, const struct es_hist_commit *c, int y, int x, int w)
{
	int used = 0;

	for (size_t i = 0; i < es_ui_stage_count(ui) && used < w; i++) {
		const struct es_stage_view *s = es_ui_stage(ui, i);
		char badge[96];
		if (!s->commit[0] || strcmp(s->commit, c->oid) != 0)
			continue;
		enum es_area area = ES_AREA_MARKER_STAGE;
		const char *mark = "";
		if (s->validated && s->validation_passed)
			mark = utf8() ? " \u2713" : " ok";
		else if (s->validated) {
			mark = utf8() ? " \u2717" : " FAIL";
			area = ES_AREA_MARKER_FAILED;
		}
		if (strstr(s->stack_status, "FAILED") || strstr(s->stack_status, "ROLLBACK"))
			area = ES_AREA_MARKER_FAILED;
		snprintf(badge, sizeof(badge), "[%s%s]", s->name, mark);
		used += es_scr_text(y, x + used, w - used, es_theme_attr(area), badge);
		if (used < w)
			used += es_scr_text(y, x + used, 1, es_theme_attr(ES_AREA_NORMAL), " ");
		/* validated here and not yet in the next stage: waiting for approval */
		if (i + 1 < es_ui_stage_count(ui) && s->validated && s->validation_passed &&
		    strcmp(es_ui_stage(ui, i + 1)->commit, c->oid) != 0 && used < w) {
			snprintf(badge, sizeof(badge), "[%s%s?]", utf8() ? "\u2192" : "->",
			         es_ui_stage(ui, i + 1)->name);
			used += es_scr_text(y, x + used, w - used,
			                    es_theme_attr(ES_AREA_MARKER_PENDING), badge);
			if (used < w)
				used += es_scr_text(y, x + used, 1, es_theme_attr(ES_AREA_NORMAL),
				                    " ");
		}
	}
	return used;
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	struct es_ui *ui = v->ui;
	const struct es_hist_commit *c = &ui->history->items[row];
	attr_t cur = cursor ? es_theme_attr(ES_AREA_CURSOR) : 0;
	char date[32], author[17];
	struct tm tm;
	time_t t = c->when;
	int col = 0;

	strftime(date, sizeof(date), "%Y-%m-%d", localtime_r(&t, &tm));
	col += es_scr_printf(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_COMMIT_ID),
	                     "%.7s ", c->oid);
	if (w >= 50)
		col += es_scr_printf(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_DATE),
		                     "%s ", date);
	if (w >= 70) {
		snprintf(author, sizeof(author), "%s", c->author);
		col += es_scr_printf(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_AUTHOR),
		                     "%-16s ", author);
	}
	col += draw_markers(ui, c, y, x + col, w - col);
	es_scr_text(y, x + col, w - col, cur ? cur : es_theme_attr(ES_AREA_NORMAL), c->summary);
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	const struct es_hist_commit *c = &v->ui->history->items[row];

	return strcasestr(c->summary, needle) || strcasestr(c->author, needle) ||
	       strncasecmp(c->oid, needle, strlen(needle)) == 0;
}

static void subtitle(struct es_view *v, char *buf, size_t len)
{
	const struct es_history_list *h = v->ui->history;

	if (!h)
		snprintf(buf, len, "no repository");
	else if (h->error[0])
		snprintf(buf, len, "%s", h->error);
	else
		snprintf(buf, len, "%zu commit%s%s", h->n, h->n == 1 ? "" : "s",
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
