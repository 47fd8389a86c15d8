/* The Stages pane: a compact line per stage (tag, name, stack status in
 * colour, commit, propagation, validation mark), the selected stage
 * expanded: the release it runs, the Lambda version behind the
 * distribution, the last ledger action, notes when the stage is busy,
 * locked (by whom, since when, until when), interrupted or detached, or
 * cannot be read; and, when the layout has no room for their own panes,
 * its propagation and validation rows. A short pane keeps the most telling
 * details. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/timefmt.h"
#include "view.h"

enum line_kind {
	L_STAGE,  /* the compact line every stage has */
	L_COMMIT, /* the selected stage's details from here */
	L_CDN,
	L_LAST,
	L_RUN, /* lambda, cdn and last action on one line (full mode) */
	L_STACK,
	L_NOTE_BUSY,
	L_NOTE_LOCK,
	L_NOTE_INTR,
	L_NOTE_ERR,
	L_NOTE_REASON,
	L_PROP, /* a row of the Propagation pane (full mode) */
	L_VAL,  /* a row of the Validation pane (full mode) */
};

struct line {
	enum line_kind kind;
	int stage;
	size_t sub; /* the row in the Propagation or Validation pane */
	int prio;   /* lower stays first when the pane is short */
};

#define MAX_DETAIL 64
#define INDENT     4

/* Rows of pane p that belong to stage i, as lines of the expansion. */
static size_t delegated(struct es_ui *ui, enum es_pane p, enum line_kind kind, int i,
                        struct line *out, size_t cap)
{
	struct es_view *pv = &ui->views[p];
	size_t first, n = es_view_stage_rows(pv, (size_t)i, &first), k = 0;
	bool focused = ui->focus == p;

	for (size_t r = 0; r < n && k < cap; r++) {
		int prio = r == 0 ? 1 : 5;
		/* a failed check matters more than a passed one */
		if (kind == L_VAL && r > 0 && r - 1 < es_ui_stage(ui, (size_t)i)->n_checks &&
		    !es_ui_stage(ui, (size_t)i)->checks[r - 1].passed)
			prio = 3;
		out[k++] = (struct line){kind, i, first + r, focused ? 0 : prio};
	}
	return k;
}

/* The selected stage's details, best first when the pane is short. */
static size_t details(struct es_view *v, int i, struct line *out, size_t cap)
{
	struct es_ui *ui = v->ui;
	const struct es_stage_view *s = es_ui_stage(ui, (size_t)i);
	size_t n = 0;

	out[n++] = (struct line){L_COMMIT, i, 0, 2};
	if (ui->stages_full) {
		out[n++] = (struct line){L_RUN, i, 0, 4};
	} else {
		out[n++] = (struct line){L_CDN, i, 0, 4};
		out[n++] = (struct line){L_LAST, i, 0, 3};
	}
	if (s->stack[0])
		out[n++] = (struct line){L_STACK, i, 0, 6};
	if (s->busy)
		out[n++] = (struct line){L_NOTE_BUSY, i, 0, 1};
	if (s->lock.held)
		out[n++] = (struct line){L_NOTE_LOCK, i, 0, 1};
	if (s->interrupted)
		out[n++] = (struct line){L_NOTE_INTR, i, 0, 1};
	if (s->error[0])
		out[n++] = (struct line){L_NOTE_ERR, i, 0, 1};
	else if (s->status_reason[0] &&
	         (strstr(s->stack_status, "FAILED") || strstr(s->stack_status, "ROLLBACK")))
		out[n++] = (struct line){L_NOTE_REASON, i, 0, 2};
	if (ui->stages_full) {
		n += delegated(ui, ES_PANE_PROPAGATION, L_PROP, i, out + n, cap - n);
		n += delegated(ui, ES_PANE_VALIDATION, L_VAL, i, out + n, cap - n);
	}
	return n;
}

/* How many detail lines the selected stage gets: all when they fit below
 * every stage's line; else what is left under them (at least three, or
 * none when the focus is elsewhere: then the list is the overview); else,
 * the stages being too many, half the pane and the list scrolls. */
static size_t budget(struct es_view *v, size_t stages, size_t wanted)
{
	struct es_ui *ui = v->ui;
	long h = v->height > 0 ? v->height : (long)(stages + wanted);
	long room = h - (long)stages;
	bool focused = ui->focus == ES_PANE_STAGES || ui->focus == ES_PANE_PROPAGATION ||
	               ui->focus == ES_PANE_VALIDATION;

	if (room >= (long)wanted)
		return wanted;
	if (room >= 3 || (room >= 0 && !focused))
		return (size_t)room;
	room = h / 2 > 3 ? h / 2 : 3;
	return (size_t)room < wanted ? (size_t)room : wanted;
}

/* The pane's lines: one per stage, the selected one followed by its
 * details (as many as fit, the most telling first, in their order). */
static size_t build(struct es_view *v, struct line *out, size_t cap)
{
	struct es_ui *ui = v->ui;
	size_t count = es_ui_stage_count(ui), n = 0;
	size_t sel = ui->stage_sel < count ? ui->stage_sel : count ? count - 1 : 0;

	for (size_t i = 0; i < count && n < cap; i++) {
		out[n++] = (struct line){L_STAGE, (int)i, 0, 0};
		if (i != sel)
			continue;
		struct line cand[MAX_DETAIL];
		size_t nc = details(v, (int)i, cand, MAX_DETAIL);
		size_t keep = budget(v, count, nc), kept = 0;
		bool take[MAX_DETAIL] = {false};
		for (int prio = 0; prio <= 6 && kept < keep; prio++)
			for (size_t c = 0; c < nc && kept < keep; c++)
				if (cand[c].prio == prio && !take[c]) {
					take[c] = true;
					kept++;
				}
		for (size_t c = 0; c < nc && n < cap; c++)
			if (take[c])
				out[n++] = cand[c];
	}
	return n;
}

#define MAX_LINES (256 + MAX_DETAIL)

static bool locate(struct es_view *v, size_t row, struct line *l)
{
	struct line lines[MAX_LINES];
	size_t n = build(v, lines, MAX_LINES);

	if (row >= n)
		return false;
	*l = lines[row];
	return true;
}

static size_t rows(struct es_view *v)
{
	struct line lines[MAX_LINES];
	return build(v, lines, MAX_LINES);
}

static int stage_of(struct es_view *v, size_t row)
{
	struct line l;
	return locate(v, row, &l) ? l.stage : -1;
}

static bool selectable(struct es_view *v, size_t row)
{
	struct line l;
	return locate(v, row, &l) && l.kind == L_STAGE;
}

static const char *summary_of(struct es_ui *ui, const char *oid)
{
	return oid[0] ? es_history_list_summary_of(ui->history, oid) : NULL;
}

static const char *prop_word(enum es_prop_state p)
{
	return p == ES_PROP_DEPLOYED      ? "Deployed"
	       : p == ES_PROP_IN_PROGRESS ? "InProgress"
	                                  : "unknown";
}

/* "locked: deploy by alice for 3m, expires in 2m15s", or why the next
 * action will take it over. */
static void draw_lock(const struct es_stage_view *s, int y, int x, int w)
{
	const char *who = strrchr(s->lock.who, '/');
	double since = es_time_parse(s->lock.since), left = es_stage_lock_expires_in(s);
	char held[32], rest[32];

	who = who ? who + 1 : s->lock.who;
	es_duration_format(since > 0 ? es_time_now() - since : 0, held, sizeof(held));
	if (es_stage_locked(s))
		es_scr_printf(y, x, w, es_theme_attr(ES_AREA_STAGE_BUSY),
		              "locked: %s by %s for %s, expires in %s unless renewed",
		              s->lock.kind[0] ? s->lock.kind : "action", who[0] ? who : "?", held,
		              es_duration_format(left, rest, sizeof(rest)));
	else
		es_scr_printf(y, x, w, es_theme_attr(ES_AREA_ACT_WARN),
		              "stale lock: %s by %s %s; the next action takes it over",
		              s->lock.kind[0] ? s->lock.kind : "action", who[0] ? who : "?",
		              s->lock_stale ? "has ended" : "stopped renewing it");
}

/* Column widths of the compact lines, from what they hold and what fits. */
struct cols {
	int tag, name, status;
};

static struct cols columns(struct es_ui *ui, int w)
{
	struct cols c = {es_stage_tag_width(ui), 4, 7};

	for (size_t i = 0; i < es_ui_stage_count(ui); i++) {
		const struct es_stage_view *s = es_ui_stage(ui, i);
		int nw = es_scr_width(s->name);
		int sw = es_scr_width(s->stack_status[0] ? s->stack_status : "UNKNOWN");
		if (nw > c.name)
			c.name = nw;
		if (sw > c.status)
			c.status = sw;
	}
	if (c.name > 20)
		c.name = 20;
	/* marker 2, tag+1, name+1, status+1, commit 7+1, cdn 4+1, check 1+1, alert 1 */
	int fixed = 2 + 8 + 5 + 2 + 1;
	int room = w - fixed - (c.tag + 1);
	if (c.name + 1 + c.status + 1 > room && c.status > 15)
		c.status = room - c.name - 2 > 15 ? room - c.name - 2 : 15;
	if (c.name + 1 + c.status + 1 > room && c.name > 8)
		c.name = room - c.status - 2 > 8 ? room - c.status - 2 : 8;
	if (c.name + 1 + c.status + 1 > room)
		c.tag = 0; /* the name says it */
	return c;
}

/* "62%" while the distribution propagates, "100%" once it is deployed. */
static void draw_cdn_cell(const struct es_stage_view *s, int y, int x, attr_t over)
{
	char buf[16];
	enum es_area a = ES_AREA_STAGE_UNKNOWN;

	snprintf(buf, sizeof(buf), "   -");
	if (s->propagation == ES_PROP_DEPLOYED) {
		snprintf(buf, sizeof(buf), "100%%");
		a = ES_AREA_STAGE_OK;
	} else if (s->propagation == ES_PROP_IN_PROGRESS) {
		double frac = s->prop_estimate_s > 0 ? s->prop_elapsed_s / s->prop_estimate_s : -1;
		if (frac > 0.99)
			frac = 0.99;
		if (frac >= 0)
			snprintf(buf, sizeof(buf), "%3d%%", (int)(frac * 100));
		else
			snprintf(buf, sizeof(buf), "busy");
		a = ES_AREA_STAGE_BUSY;
	}
	es_scr_cell(y, x, 4, over ? over : es_theme_attr(a), buf);
}

static void draw_stage_line(struct es_view *v, const struct es_stage_view *s, int i, int y, int x,
                            int w, bool cursor)
{
	struct es_ui *ui = v->ui;
	bool u8 = MB_CUR_MAX > 1, sel = (size_t)i == ui->stage_sel;
	attr_t over = cursor ? es_theme_attr(ES_AREA_CURSOR) : 0;
	struct cols c = columns(ui, w);
	char tag[8];
	int col = 0;

	col += es_scr_cell(y, x, 2, over ? over : es_theme_attr(ES_AREA_STAGE_NAME),
	                   sel ? (u8 ? "\u25b8" : ">") : "");
	if (c.tag) {
		es_scr_cell(y, x + col, c.tag, over ? over : es_theme_attr(ES_AREA_MARKER_STAGE),
		            es_stage_tag(ui, (size_t)i, tag, sizeof(tag)));
		col += c.tag + 1;
	}
	if (col < w)
		es_scr_text(y, x + col, c.name < w - col ? c.name : w - col,
		            over ? over : es_theme_attr(ES_AREA_STAGE_NAME), s->name);
	col += c.name + 1;
	if (col < w)
		es_scr_text(y, x + col, c.status < w - col ? c.status : w - col,
		            over ? over : es_stage_status_attr(s->stack_status),
		            s->stack_status[0] ? s->stack_status : "UNKNOWN");
	col += c.status + 1;
	if (col + 7 <= w) {
		if (s->commit[0])
			es_scr_printf(y, x + col, 7, over ? over : es_theme_attr(ES_AREA_COMMIT_ID),
			              "%.7s", s->commit);
		else
			es_scr_text(y, x + col, 7, over ? over : es_theme_attr(ES_AREA_HINT), "-");
	}
	col += 8;
	if (col + 4 <= w)
		draw_cdn_cell(s, y, x + col, over);
	col += 5;
	if (col + 1 <= w) {
		const char *mark = !s->validated          ? (u8 ? "\u00b7" : "-")
		                   : s->validation_passed ? (u8 ? "\u2713" : "+")
		                                          : (u8 ? "\u2717" : "x");
		enum es_area a = !s->validated          ? ES_AREA_HINT
		                 : s->validation_passed ? ES_AREA_CHECK_PASS
		                                        : ES_AREA_CHECK_FAIL;
		es_scr_text(y, x + col, 1, over ? over : es_theme_attr(a), mark);
	}
	col += 2;
	/* something to read in the details: an error, a lock, an interruption */
	if (col + 1 <= w && (s->error[0] || s->lock.held || s->interrupted))
		es_scr_text(
		        y, x + col, 1,
		        over ? over
		             : es_theme_attr(s->error[0] ? ES_AREA_ACT_ERROR : ES_AREA_ACT_WARN),
		        "!");
	col += 2;
	/* the last drift check, when there was one */
	if (i < ES_UI_DRIFT_STAGES && ui->drift[i][0] && col + 8 <= w)
		es_scr_text(y, x + col, w - col,
		            over ? over
		                 : es_theme_attr(strcmp(ui->drift[i], "drifted") == 0
		                                         ? ES_AREA_ACT_WARN
		                                         : ES_AREA_HINT),
		            ui->drift[i]);
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	struct es_ui *ui = v->ui;
	struct line l;
	attr_t label = es_theme_attr(ES_AREA_LABEL), normal = es_theme_attr(ES_AREA_NORMAL);
	int col = INDENT;

	if (!locate(v, row, &l))
		return;
	int i = l.stage;
	const struct es_stage_view *s = es_ui_stage(ui, (size_t)i);
	switch (l.kind) {
	case L_STAGE: draw_stage_line(v, s, i, y, x, w, cursor); break;
	case L_COMMIT: {
		const char *sum = summary_of(ui, s->commit);
		col += es_scr_text(y, x + col, w - col, label, "commit  ");
		if (!s->commit[0]) {
			es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT),
			            "none recorded");
			break;
		}
		if (s->release[0])
			col += es_scr_printf(y, x + col, w - col, normal, "%s ", s->release);
		if (sum && col < w)
			es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), sum);
		break;
	}
	case L_CDN:
	case L_RUN: {
		const char *ver = strrchr(s->lambda_arn, ':');
		char vbuf[32];
		col += es_scr_text(y, x + col, w - col, label, "lambda  ");
		es_scr_fit(vbuf, sizeof(vbuf),
		           ver && ver[1]      ? ver
		           : s->lambda_arn[0] ? s->lambda_arn
		                              : "-",
		           8);
		col += es_scr_printf(y, x + col, w - col, normal, "%s  ", vbuf);
		col += es_scr_text(y, x + col, w - col, label, "cdn ");
		col += es_scr_printf(y, x + col, w - col, normal, "%s ",
		                     s->distribution_id[0] ? s->distribution_id : "-");
		if (l.kind == L_CDN) {
			es_scr_text(y, x + col, w - col,
			            es_theme_attr(s->propagation == ES_PROP_DEPLOYED
			                                  ? ES_AREA_STAGE_OK
			                          : s->propagation == ES_PROP_IN_PROGRESS
			                                  ? ES_AREA_STAGE_BUSY
			                                  : ES_AREA_STAGE_UNKNOWN),
			            prop_word(s->propagation));
			break;
		}
		col += 1;
		if (col < w) {
			col += es_scr_text(y, x + col, w - col, label, "last ");
			es_scr_text(y, x + col, w - col, normal,
			            s->last_action[0] ? s->last_action : "no action recorded");
		}
		break;
	}
	case L_LAST:
		col += es_scr_text(y, x + col, w - col, label, "last    ");
		es_scr_text(y, x + col, w - col, normal,
		            s->last_action[0] ? s->last_action : "no action recorded");
		break;
	case L_STACK:
		col += es_scr_text(y, x + col, w - col, label, "stack   ");
		es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), s->stack);
		break;
	case L_NOTE_BUSY:
		es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_BUSY),
		            "busy: CloudFormation is working on this stack");
		break;
	case L_NOTE_LOCK: draw_lock(s, y, x + col, w - col); break;
	case L_NOTE_INTR:
		es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_ACT_WARN),
		            s->detached ? "detached: its console stopped following; the end is "
		                          "recorded when a console sees it"
		                        : "interrupted: the last action recorded no outcome");
		break;
	case L_NOTE_ERR:
		es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_ACT_ERROR), "%s",
		              s->error);
		break;
	case L_NOTE_REASON:
		es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_STAGE_FAILED), "%s",
		              s->status_reason);
		break;
	case L_PROP:
	case L_VAL: {
		struct es_view *pv =
		        &ui->views[l.kind == L_PROP ? ES_PANE_PROPAGATION : ES_PANE_VALIDATION];
		if (w > INDENT - 2)
			pv->ops->draw_row(pv, l.sub, y, x + INDENT - 2, w - (INDENT - 2), false);
		break;
	}
	}
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	struct line l;

	if (!locate(v, row, &l) || l.kind != L_STAGE)
		return false;
	const struct es_stage_view *s = es_ui_stage(v->ui, (size_t)l.stage);
	return strcasestr(s->name, needle) || strcasestr(s->stack_status, needle) ||
	       strcasestr(s->stack, needle) || strncasecmp(s->commit, needle, strlen(needle)) == 0;
}

static void subtitle(struct es_view *v, char *buf, size_t len)
{
	if (!es_ui_stage_count(v->ui))
		snprintf(buf, len, "no stages");
	else
		buf[0] = 0;
}

const struct es_view_ops es_stages_ops = {
        .name = "stages",
        .title = "Stages",
        .rows = rows,
        .draw_row = draw_row,
        .selectable = selectable,
        .matches = matches,
        .subtitle = subtitle,
        .stage_of = stage_of,
};
