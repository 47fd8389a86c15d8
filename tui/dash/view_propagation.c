/* The Propagation pane: per stage, how far the distribution's newest
 * configuration has gone (a bar from elapsed time against the median of
 * earlier propagations), the sampled edges as a grid of location codes with
 * what each answered (new, old, old from cache, error, unreachable), what
 * makes cached edges live, and invalidations still in progress. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/timefmt.h"
#include "view.h"

/* One edge: glyph, location, what it answered (" ~ FRA56 cached 45s"), and
 * with a cache-bypassing probe what the function answers ("  fn new"); the
 * label column is as wide as the stage's longest label. */
#define CELL_FIXED 10 /* " + FRA56 " */
#define CELL_FN_W  8

int es_propagation_width;

/* Glyph, colour and words of each state: the glyph reads without colour. */
static const struct {
	char glyph;
	enum es_area area;
	const char *word;
} looks[] = {
        [ES_EDGE_UNKNOWN] = {'?', ES_AREA_EDGE_OLD, "?"},
        [ES_EDGE_NEW] = {'+', ES_AREA_EDGE_NEW, "new"},
        [ES_EDGE_OLD] = {'-', ES_AREA_EDGE_OLD, "old"},
        [ES_EDGE_CACHED_OLD] = {'~', ES_AREA_EDGE_CACHED, "cached"},
        [ES_EDGE_ERROR] = {'!', ES_AREA_EDGE_DOWN, "error"},
        [ES_EDGE_UNREACHABLE] = {'x', ES_AREA_EDGE_DOWN, "down"},
};

static const char *edge_label(const struct es_edge_sample *ed, char *buf, size_t len);

static int cell_w(const struct es_stage_view *s)
{
	int label = 4;
	char buf[32];

	for (size_t i = 0; i < s->n_edges; i++) {
		int n = (int)strlen(edge_label(&s->edges[i], buf, sizeof(buf)));
		if (n > label)
			label = n;
	}
	return CELL_FIXED + label + 1 + (s->edges_bypassed ? CELL_FN_W : 0);
}

/* Edges per grid line at the pane's width (es_ui_draw sets it before drawing). */
static int grid_cols(const struct es_stage_view *s)
{
	int w = es_propagation_width > 0 ? es_propagation_width : COLS > 0 ? COLS : 80;
	int n = (w - 2) / cell_w(s);
	return n < 1 ? 1 : n;
}

static bool cache_hint(const struct es_stage_view *s)
{
	return es_stage_settled_with_cache(s);
}

static size_t stage_lines(const struct es_stage_view *s)
{
	size_t per = (size_t)grid_cols(s);
	size_t grid = s->n_edges ? (s->n_edges + per - 1) / per : 1;
	/* head, grid, hint, the legend under a grid, gap */
	return 1 + grid + cache_hint(s) + (s->n_edges ? 1 : 0) + 1;
}

static bool any_edges(struct es_view *v)
{
	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++)
		if (es_ui_stage(v->ui, i)->n_edges)
			return true;
	return false;
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

/* Every stage's lines, the last one's gap left out when no stage has edges. */
static size_t rows(struct es_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++)
		n += stage_lines(es_ui_stage(v->ui, i));
	return n && !any_edges(v) ? n - 1 : n;
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

static void draw_head(const struct es_stage_view *s, int y, int x, int w, bool cursor)
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
	if (s->edges_cached_old)
		col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_EDGE_CACHED),
		                     ", %zu cached-old", s->edges_cached_old);
	if (s->invalidations_in_progress > 0)
		es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_BUSY),
		              "  invalidation%s: %d in progress",
		              s->invalidations_in_progress == 1 ? "" : "s",
		              s->invalidations_in_progress);
}

static const char *edge_label(const struct es_edge_sample *ed, char *buf, size_t len)
{
	char age[16];

	if (ed->state == ES_EDGE_ERROR)
		snprintf(buf, len, "%ld", ed->status);
	else if (ed->state == ES_EDGE_CACHED_OLD && ed->age_s >= 0)
		snprintf(buf, len, "cached %s",
		         es_duration_format((double)ed->age_s, age, sizeof(age)));
	else
		snprintf(buf, len, "%s", looks[ed->state].word);
	return buf;
}

static void draw_cell(const struct es_edge_sample *ed, int y, int x, int cw, int label_w)
{
	char code[16], label[32], fn[16] = "", cell[80];

	/* location code: the first letters of X-Amz-Cf-Pop, else the probe */
	const char *port = strrchr(ed->target, ':');
	snprintf(code, sizeof(code), "%.6s", ed->pop[0] ? ed->pop : port ? port : ed->target);
	char *dash = strchr(code, '-');
	if (dash)
		*dash = 0;
	edge_label(ed, label, sizeof(label));
	if (ed->bypassed)
		snprintf(fn, sizeof(fn), "fn %s",
		         ed->fn_state == ES_EDGE_NEW   ? "new"
		         : ed->fn_state == ES_EDGE_OLD ? "old"
		         : ed->fn_state == ES_EDGE_ERROR || ed->fn_state == ES_EDGE_UNREACHABLE
		                 ? "err"
		                 : "?");
	snprintf(cell, sizeof(cell), " %c %-5s %-*s%s%-6s", looks[ed->state].glyph, code, label_w,
	         label, fn[0] ? "  " : "", fn);
	es_scr_text(y, x, cw - 1, es_theme_attr(looks[ed->state].area), cell);
}

static void draw_grid(const struct es_stage_view *s, size_t line, int y, int x, int w)
{
	size_t per = (size_t)grid_cols(s);
	int cw = cell_w(s);

	if (!s->n_edges) {
		es_scr_text(y, x + 2, w - 2, es_theme_attr(ES_AREA_HINT),
		            s->propagation == ES_PROP_UNKNOWN ? "" : "no edge probes configured");
		return;
	}
	for (size_t k = 0; k < per; k++) {
		size_t e = line * per + k;
		if (e >= s->n_edges)
			break;
		int cx = 2 + (int)k * cw;
		if (cx + cw - 1 > w)
			break;
		draw_cell(&s->edges[e], y, x + cx, cw,
		          cw - CELL_FIXED - 1 - (s->edges_bypassed ? CELL_FN_W : 0));
	}
}

/* Deployed, yet edges answer the old release from cache: the new function
 * runs only on a miss, so say what makes it live. */
static void draw_cache_hint(struct es_view *v, const struct es_stage_view *s, int y, int x, int w)
{
	char keys[64] = "I";

	if (v->ui->keymap)
		es_keymap_keys(v->ui->keymap, ES_REQ_INVALIDATE, keys, sizeof(keys));
	es_scr_printf(y, x + 2, w - 2, es_theme_attr(ES_AREA_MESSAGE),
	              "%zu edge%s still answer%s from cache \u2014 %s invalidates",
	              s->edges_cached_old, s->edges_cached_old == 1 ? "" : "s",
	              s->edges_cached_old == 1 ? "s" : "", keys[0] ? keys : "I");
}

static void draw_legend(int y, int x, int w)
{
	static const struct {
		enum es_edge_state st;
		const char *name;
	} order[] = {
	        {ES_EDGE_NEW, "new"},
	        {ES_EDGE_OLD, "old"},
	        {ES_EDGE_CACHED_OLD, "cached-old"},
	        {ES_EDGE_ERROR, "error"},
	        {ES_EDGE_UNREACHABLE, "unreachable"},
	        {ES_EDGE_UNKNOWN, "no marker"},
	};
	int col = 2;

	for (size_t i = 0; i < sizeof(order) / sizeof(*order) && col < w; i++) {
		col += es_scr_printf(y, x + col, w - col, es_theme_attr(looks[order[i].st].area),
		                     "%c", looks[order[i].st].glyph);
		col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), " %s  ",
		                     order[i].name);
	}
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	size_t line = 0;
	int i = locate(v, row, &line);

	if (i < 0)
		return;
	const struct es_stage_view *s = es_ui_stage(v->ui, i);
	size_t nl = stage_lines(s);
	size_t grid = nl - 2 - cache_hint(s) - (s->n_edges ? 1 : 0);
	if (line == 0)
		draw_head(s, y, x, w, cursor);
	else if (line <= grid)
		draw_grid(s, line - 1, y, x, w);
	else if (cache_hint(s) && line == grid + 1)
		draw_cache_hint(v, s, y, x, w);
	else if (s->n_edges && line == grid + 1 + cache_hint(s))
		draw_legend(y, x, w); /* with each grid: a stage pane may show one stage alone */
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
