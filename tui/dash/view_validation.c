/* The Validation pane: per stage, whether the checks passed for the release
 * it runs and when they ran, then each check's outcome, HTTP status,
 * latency and detail. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "view.h"

/* The results shown were taken for another release than the one running:
 * a line says which before them. */
static bool earlier(const struct es_stage_view *s)
{
	return !s->validated && s->n_checks && s->validated_release[0];
}

static size_t stage_lines(const struct es_stage_view *s)
{
	return 1 + (earlier(s) ? 1 : 0) + s->n_checks + 1;
}

static int locate(struct es_view *v, size_t row, size_t *line)
{
	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++) {
		size_t n = stage_lines(es_ui_stage(v->ui, i));
		if (row < n) {
			*line = row;
			return (int)i;
		}
		row -= n;
	}
	return -1;
}

static size_t rows(struct es_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++)
		n += stage_lines(es_ui_stage(v->ui, i));
	return n ? n - 1 : 0;
}

static int stage_of(struct es_view *v, size_t row)
{
	size_t line;
	return locate(v, row, &line);
}

static bool selectable(struct es_view *v, size_t row)
{
	size_t line = 1;
	return locate(v, row, &line) >= 0 && line == 0;
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	size_t line = 0;
	int i = locate(v, row, &line);
	bool u8 = MB_CUR_MAX > 1;

	if (i < 0)
		return;
	const struct es_stage_view *s = es_ui_stage(v->ui, i);
	if (line == 0) {
		attr_t cur = cursor ? es_theme_attr(ES_AREA_CURSOR) : 0;
		int col = es_scr_printf(y, x, w, cur ? cur : es_theme_attr(ES_AREA_STAGE_NAME),
		                        "%-12s ", s->name);
		if (!s->validated) {
			/* Older results stay readable, under the release they were
			 * taken for, never under the one running now. */
			col += es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_CHECK_FAIL),
			                   "not yet validated");
			if (s->busy || s->running)
				es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT),
				            ": a release is on its way in");
			else
				es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT),
				            " for this release (V runs the checks)");
			return;
		}
		if (s->validated_release[0] && strcmp(s->validated_release, s->release) != 0)
			col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_HINT),
			                     "release %s ", s->validated_release);
		bool all_pass = s->n_checks > 0;
		for (size_t k = 0; k < s->n_checks; k++)
			all_pass = all_pass && s->checks[k].passed;
		col += es_scr_text(y, x + col, w - col,
		                   es_theme_attr(s->validation_passed ? ES_AREA_CHECK_PASS
		                                                      : ES_AREA_CHECK_FAIL),
		                   s->validation_passed ? "passed"
		                   : all_pass           ? "passed while InProgress: does not count"
		                                        : "FAILED");
		if (s->validated_at[0])
			es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), "  at %s",
			              s->validated_at);
		return;
	}
	if (earlier(s) && line == 1) {
		es_scr_printf(y, x + 2, w - 2, es_theme_attr(ES_AREA_HINT),
		              "earlier results, of release %s at %s:", s->validated_release,
		              s->validated_at);
		return;
	}
	if (earlier(s))
		line--;
	if (line > s->n_checks)
		return;
	const struct es_check_result *c = &s->checks[line - 1];
	int col = 2;
	col += es_scr_text(y, x + col, w - col,
	                   es_theme_attr(c->passed ? ES_AREA_CHECK_PASS : ES_AREA_CHECK_FAIL),
	                   c->passed ? (u8 ? "\u2713 pass" : "+ pass")
	                             : (u8 ? "\u2717 fail" : "x fail"));
	col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_NORMAL), " %-14.14s",
	                     c->name);
	if (c->status)
		col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_NORMAL), " %3ld",
		                     c->status);
	else
		col += es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_CHECK_FAIL), "   -");
	col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_NORMAL), " %6.0fms  ",
	                     c->latency_ms);
	es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), c->detail);
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	size_t line;
	int i = locate(v, row, &line);

	if (i < 0)
		return false;
	const struct es_stage_view *s = es_ui_stage(v->ui, i);
	if (line == 0)
		return strcasestr(s->name, needle) != NULL;
	if (earlier(s) && line == 1)
		return strcasestr(s->validated_release, needle) != NULL;
	if (earlier(s))
		line--;
	return line <= s->n_checks && (strcasestr(s->checks[line - 1].name, needle) ||
	                               strcasestr(s->checks[line - 1].detail, needle));
}

const struct es_view_ops es_validation_ops = {
        .name = "validation",
        .title = "Validation",
        .rows = rows,
        .draw_row = draw_row,
        .selectable = selectable,
        .matches = matches,
        .stage_of = stage_of,
};
