/* The Propagation pane: per stage, how far the distribution's newest
 * configuration has gone (a bar from elapsed time against the median of
 * earlier propagations), the sampled edges as a grid of location codes, old
 * or new, and invalidations still in progress. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/timefmt.h"
#include "view.h"

#define CELL_W 14

/* Width of the pane's rows at the last draw, for the grid's line count. */
static int grid_cols(struct es_view *v)
{
	int w = COLS > 0 ? COLS : 80;
	(void)v;
	/* es_ui_draw sets the pane's real width before drawing */
	if (es_propagation_width > 0)
		w = es_propagation_width;
	int n = (w - 2) / CELL_W;
	return n < 1 ? 1 : n;
}

int es_propagation_width;

static size_t stage_lines(struct es_view *v, const struct es_stage_view *s)
{
	size_t per = (size_t)grid_cols(v);
	size_t grid = s->n_edges ? (s->n_edges + per - 1) / per : 1;
	return 1 + grid + 1; /* head, grid, gap */
}

static int locate(struct es_view *v, size_t row, size_t *line)
{
	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++) {
		size_t n = stage_lines(v, es_ui_stage(v->ui, i));
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
		n += stage_lines(v, es_ui_stage(v->ui, i));
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

static void draw_bar(int y, int x, int w, double frac)
{
	int done = (int)(frac * w + 0.5);

	if (done > w)
		done = w;
	/* characters as well as colours, so the bar reads without colour */
	for (int i = 0; i < w; i++)
		es_scr_text(y, x + i, 1,
		            es_theme_attr(i < done ? ES_AREA_PROGRESS_DONE : ES_AREA_PROGRESS_TODO),
		            i < done ? "#" : ".");
}

static void draw_head(struct es_view *v, const struct es_stage_view *s, int y, int x, int w,
                      bool cursor)
{
	attr_t name = es_theme_attr(cursor ? ES_AREA_CURSOR : ES_AREA_STAGE_NAME);
	attr_t normal = es_theme_attr(cursor ? ES_AREA_CURSOR : ES_AREA_NORMAL);
	char el[32], est[32];
	int col = es_scr_printf(y, x, w, name, "%-12s ", s->name);

	switch (s->propagation) {
	case ES_PROP_DEPLOYED:
		col += es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_OK),
		                   "Deployed");
		break;
	case ES_PROP_IN_PROGRESS: {
		es_duration_format(s->prop_elapsed_s, el, sizeof(el));
		if (s->prop_estimate_s > 0) {
			double frac = s->prop_elapsed_s / s->prop_estimate_s;
			if (frac > 0.99)
				frac = 0.99;
			int bw = w - col - 26;
			if (bw > 30)
				bw = 30;
			if (bw >= 5) {
				draw_bar(y, x + col, bw, frac);
				col += bw + 1;
			}
			es_duration_format(s->prop_estimate_s, est, sizeof(est));
			col += es_scr_printf(y, x + col, w - col, normal, "%3d%% %s of ~%s",
			                     (int)(frac * 100), el, est);
		} else {
			col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_BUSY),
			                     "InProgress %s (no estimate yet)", el);
		}
		break;
	}
	default:
		col += es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_UNKNOWN),
		                   s->distribution_id[0] ? "unknown" : "no distribution");
	}
	if (s->n_edges)
		col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_HINT),
		                     "  edges %zu/%zu new", s->edges_new, s->n_edges);
	if (s->invalidations_in_progress > 0)
		es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_BUSY),
		              "  invalidation%s: %d in progress",
		              s->invalidations_in_progress == 1 ? "" : "s",
		              s->invalidations_in_progress);
	(void)v;
}

static void draw_grid(struct es_view *v, const struct es_stage_view *s, size_t line, int y, int x,
                      int w)
{
	size_t per = (size_t)grid_cols(v);

	if (!s->n_edges) {
		es_scr_text(y, x + 2, w - 2, es_theme_attr(ES_AREA_HINT),
		            s->propagation == ES_PROP_UNKNOWN ? "" : "no edge probes configured");
		return;
	}
	for (size_t k = 0; k < per; k++) {
		size_t e = line * per + k;
		if (e >= s->n_edges)
			break;
		const struct es_edge_sample *ed = &s->edges[e];
		char code[16], cell[32];
		/* location code: the first letters of X-Amz-Cf-Pop, else the probe */
		const char *port = strrchr(ed->target, ':');
		if (ed->pop[0])
			snprintf(code, sizeof(code), "%.6s", ed->pop);
		else
			snprintf(code, sizeof(code), "%.6s", port ? port : ed->target);
		char *dash = strchr(code, '-');
		if (dash)
			*dash = 0;
		/* An edge that answers with an error (a distribution it does not
		 * serve yet) shows its status; one without a marker is unknown,
		 * not old. */
		char label[8];
		bool down = ed->status == 0 || ed->error[0] || ed->status >= 400;
		enum es_area a = down         ? ES_AREA_EDGE_DOWN
		                 : ed->is_new ? ES_AREA_EDGE_NEW
		                              : ES_AREA_EDGE_OLD;
		if (ed->status >= 400)
			snprintf(label, sizeof(label), "%ld", ed->status);
		else
			snprintf(label, sizeof(label), "%s",
			         down             ? "down"
			         : ed->is_new     ? "new"
			         : ed->release[0] ? "old"
			                          : "?");
		snprintf(cell, sizeof(cell), " %-6s %-4s ", code, label);
		int cx = 2 + (int)k * CELL_W;
		if (cx + CELL_W - 1 > w)
			break;
		es_scr_text(y, x + cx, CELL_W - 1, es_theme_attr(a), cell);
	}
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	size_t line = 0;
	int i = locate(v, row, &line);

	if (i < 0)
		return;
	const struct es_stage_view *s = es_ui_stage(v->ui, i);
	size_t nl = stage_lines(v, s);
	if (line == 0)
		draw_head(v, s, y, x, w, cursor);
	else if (line < nl - 1)
		draw_grid(v, s, line - 1, y, x, w);
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
	for (size_t e = 0; e < s->n_edges; e++)
		if (strcasestr(s->edges[e].pop, needle) || strcasestr(s->edges[e].target, needle))
			return line == 1;
	return false;
}

const struct es_view_ops es_propagation_ops = {
        .name = "propagation",
        .title = "Propagation",
        .rows = rows,
        .draw_row = draw_row,
        .selectable = selectable,
        .matches = matches,
        .stage_of = stage_of,
};
