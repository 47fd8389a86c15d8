/* The Stages pane: per stage, the stack status in colour, the commit and
 * release it runs, the Lambda version behind the distribution, the
 * distribution's state, the last ledger action, and notes when the stage is
 * busy, locked (by whom, since when, until when), interrupted or detached,
 * or cannot be read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/timefmt.h"
#include "view.h"

enum line_kind {
	L_HEAD,
	L_COMMIT,
	L_CDN,
	L_LAST,
	L_NOTE_BUSY,
	L_NOTE_LOCK,
	L_NOTE_INTR,
	L_NOTE_ERR,
	L_NOTE_REASON,
	L_GAP
};

static size_t stage_lines(const struct es_stage_view *s, enum line_kind *kinds)
{
	size_t n = 0;

	kinds[n++] = L_HEAD;
	kinds[n++] = L_COMMIT;
	kinds[n++] = L_CDN;
	kinds[n++] = L_LAST;
	if (s->busy)
		kinds[n++] = L_NOTE_BUSY;
	if (s->lock.held)
		kinds[n++] = L_NOTE_LOCK;
	if (s->interrupted)
		kinds[n++] = L_NOTE_INTR;
	if (s->error[0])
		kinds[n++] = L_NOTE_ERR;
	else if (s->status_reason[0] &&
	         (strstr(s->stack_status, "FAILED") || strstr(s->stack_status, "ROLLBACK")))
		kinds[n++] = L_NOTE_REASON;
	kinds[n++] = L_GAP;
	return n;
}

/* Which stage and which kind of line row is. */
static int locate(struct es_view *v, size_t row, enum line_kind *kind)
{
	enum line_kind kinds[12];

	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++) {
		size_t n = stage_lines(es_ui_stage(v->ui, i), kinds);
		if (row < n) {
			*kind = kinds[row];
			return (int)i;
		}
		row -= n;
	}
	return -1;
}

static size_t rows(struct es_view *v)
{
	enum line_kind kinds[12];
	size_t n = 0;

	for (size_t i = 0; i < es_ui_stage_count(v->ui); i++)
		n += stage_lines(es_ui_stage(v->ui, i), kinds);
	/* no trailing gap after the last stage */
	return n ? n - 1 : 0;
}

static int stage_of(struct es_view *v, size_t row)
{
	enum line_kind k;
	return locate(v, row, &k);
}

static bool selectable(struct es_view *v, size_t row)
{
	enum line_kind k = L_GAP;
	return locate(v, row, &k) >= 0 && k == L_HEAD;
}

static const char *summary_of(struct es_ui *ui, const char *oid)
{
	if (!ui->history || !oid[0])
		return NULL;
	for (size_t i = 0; i < ui->history->n; i++)
		if (strcmp(ui->history->items[i].oid, oid) == 0)
			return ui->history->items[i].summary;
	return NULL;
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

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	struct es_ui *ui = v->ui;
	enum line_kind k = L_GAP;
	int i = locate(v, row, &k);
	attr_t label = es_theme_attr(ES_AREA_LABEL), normal = es_theme_attr(ES_AREA_NORMAL);
	int col = 2;

	if (i < 0)
		return;
	const struct es_stage_view *s = es_ui_stage(ui, i);
	if (cursor) {
		label = normal = es_theme_attr(ES_AREA_CURSOR);
	}
	switch (k) {
	case L_HEAD: {
		col = es_scr_printf(y, x, w, cursor ? normal : es_theme_attr(ES_AREA_STAGE_NAME),
		                    "%-12s ", s->name);
		col += es_scr_printf(y, x + col, w - col,
		                     cursor ? normal : es_stage_status_attr(s->stack_status),
		                     "%-22s ", s->stack_status[0] ? s->stack_status : "UNKNOWN");
		es_scr_text(y, x + col, w - col, cursor ? normal : es_theme_attr(ES_AREA_HINT),
		            s->stack);
		break;
	}
	case L_COMMIT: {
		const char *sum = summary_of(ui, s->commit);
		col += es_scr_text(y, x + col, w - col, label, "commit  ");
		if (!s->commit[0]) {
			es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_HINT),
			            "none recorded");
			break;
		}
		col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_COMMIT_ID), "%.7s ",
		                     s->commit);
		if (s->release[0])
			col += es_scr_printf(y, x + col, w - col, normal, "%s ", s->release);
		if (sum)
			es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), "%s", sum);
		break;
	}
	case L_CDN: {
		const char *ver = strrchr(s->lambda_arn, ':');
		col += es_scr_text(y, x + col, w - col, label, "lambda  ");
		col += es_scr_printf(y, x + col, w - col, normal, "%-8s ",
		                     ver && ver[1]      ? ver
		                     : s->lambda_arn[0] ? s->lambda_arn
		                                        : "-");
		col += es_scr_text(y, x + col, w - col, label, "cdn ");
		col += es_scr_printf(y, x + col, w - col, normal, "%s ",
		                     s->distribution_id[0] ? s->distribution_id : "-");
		es_scr_text(y, x + col, w - col,
		            es_theme_attr(s->propagation == ES_PROP_DEPLOYED ? ES_AREA_STAGE_OK
		                          : s->propagation == ES_PROP_IN_PROGRESS
		                                  ? ES_AREA_STAGE_BUSY
		                                  : ES_AREA_STAGE_UNKNOWN),
		            prop_word(s->propagation));
		break;
	}
	case L_LAST:
		col += es_scr_text(y, x + col, w - col, label, "last    ");
		es_scr_text(y, x + col, w - col, normal,
		            s->last_action[0] ? s->last_action : "no action recorded");
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
	case L_GAP: break;
	}
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	enum line_kind k;
	int i = locate(v, row, &k);

	if (i < 0 || k != L_HEAD)
		return false;
	const struct es_stage_view *s = es_ui_stage(v->ui, i);
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
