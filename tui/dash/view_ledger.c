/* The ledger view: the records the model holds, newest first, filtered by
 * stage, in columns that fit the width (a long cell ends in an ellipsis). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "view_ledger.h"

static struct es_ledger_view *of(struct es_view *v)
{
	return v->priv;
}

static bool shows(const struct es_ledger_view *lv, const struct es_record *r)
{
	return lv->all || !lv->stage[0] || strcmp(r->stage, lv->stage) == 0;
}

/* Rebuild the row index from what the source holds now (newest first). */
static void reindex(struct es_ledger_view *lv)
{
	const struct es_record_list *recs = lv->src.records ? lv->src.records(lv->src.ctx) : NULL;

	lv->shown = recs;
	lv->n_index = 0;
	if (!recs)
		return;
	if (lv->cap < recs->n) {
		size_t *p = realloc(lv->index, recs->n * sizeof(*p));
		if (!p)
			return;
		lv->index = p;
		lv->cap = recs->n;
	}
	for (size_t j = recs->n; j-- > 0;)
		if (shows(lv, &recs->items[j]))
			lv->index[lv->n_index++] = j;
}

/* Row 0 is the column header; with no record, row 1 says so. */
static size_t rows(struct es_view *v)
{
	struct es_ledger_view *lv = of(v);

	reindex(lv);
	return 1 + (lv->n_index ? lv->n_index : 1);
}

static const struct es_record *record_at(struct es_ledger_view *lv, size_t row)
{
	if (row == 0 || row > lv->n_index || !lv->shown)
		return NULL;
	return &lv->shown->items[lv->index[row - 1]];
}

static bool selectable(struct es_view *v, size_t row)
{
	return record_at(of(v), row) != NULL;
}

/* s cut to at most cols columns, its last one an ellipsis when cut. */
static const char *fit(const char *s, int cols, char *out, size_t len)
{
	const char *ell = MB_CUR_MAX > 1 ? "\u2026" : "~";
	mbstate_t st;
	size_t o = 0;
	int used = 0;

	memset(&st, 0, sizeof(st));
	out[0] = '\0';
	if (cols <= 0)
		return out;
	if (es_scr_width(s) <= cols) {
		snprintf(out, len, "%s", s);
		return out;
	}
	for (const char *p = s; *p;) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, strlen(p), &st);
		int cw;
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof(st));
			n = 1;
			cw = 1;
		} else {
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 1;
		}
		if (used + cw > cols - 1 || o + n + strlen(ell) + 1 > len)
			break;
		memcpy(out + o, p, n);
		o += n;
		used += cw;
		p += n;
	}
	snprintf(out + o, len - o, "%s", ell);
	return out;
}

/* The columns for width w. */
struct cols {
	int when, stage, kind, result, who, commit; /* 0: not shown */
	bool long_when;
};

static struct cols layout(struct es_ledger_view *lv, int w)
{
	struct cols c = {.when = 16, .kind = 12, .result = 10, .who = 14, .commit = 7};

	if (lv->all) {
		c.stage = 5;
		for (size_t i = 0; i < lv->n_index; i++) {
			int n = (int)strlen(lv->shown->items[lv->index[i]].stage);
			if (n > c.stage)
				c.stage = n;
		}
		if (c.stage > 12)
			c.stage = 12;
	}
	if (w >= 110) {
		c.when = 19;
		c.long_when = true;
	} else {
		c.when = 11;
	}
	if (w < 100)
		c.who = 10;
	if (w < 90)
		c.commit = 0;
	return c;
}

/* "2023-11-14 22:05:10" (or "11-14 22:05" when short) from ISO 8601. */
static const char *when_text(const char *iso, bool long_form, char *buf, size_t len)
{
	if (strlen(iso) < 16) {
		snprintf(buf, len, "%s", iso);
		return buf;
	}
	if (long_form)
		snprintf(buf, len, "%.10s %.8s", iso, iso + 11);
	else
		snprintf(buf, len, "%.5s %.5s", iso + 5, iso + 11);
	return buf;
}

static const char *result_text(const struct es_record *r)
{
	if (r->result[0])
		return r->result;
	if (!strcmp(r->phase, "intent"))
		return r->open ? (r->detached ? "detached" : "open") : "started";
	return r->phase;
}

static enum es_area result_area(const char *res)
{
	if (!strcmp(res, "success") || !strcmp(res, "passed") || !strcmp(res, "no-changes"))
		return ES_AREA_CHECK_PASS;
	if (!strcmp(res, "failed") || !strcmp(res, "refused"))
		return ES_AREA_CHECK_FAIL;
	if (!strcmp(res, "open") || !strcmp(res, "detached") || !strcmp(res, "cancelled"))
		return ES_AREA_ACT_WARN;
	return ES_AREA_NORMAL;
}

/* One cell at *col, cut to width cw plus a gap; returns false when the
 * row is full. */
static bool cell(int y, int x, int w, int *col, int cw, attr_t a, const char *text)
{
	char buf[1024];

	if (cw <= 0)
		return true;
	if (*col + cw > w)
		cw = w - *col;
	if (cw <= 0)
		return false;
	es_scr_text(y, x + *col, cw, a, fit(text, cw, buf, sizeof(buf)));
	*col += cw + 1;
	return *col < w;
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	struct es_ledger_view *lv = of(v);
	struct cols c = layout(lv, w);
	const struct es_record *r = record_at(lv, row);
	attr_t cur = cursor ? es_theme_attr(ES_AREA_CURSOR) : 0;
	char when[32], commit[8];
	int col = 0;

	if (row == 0) {
		attr_t h = es_theme_attr(ES_AREA_LABEL);
		(void)(cell(y, x, w, &col, c.when, h, "WHEN") &&
		       cell(y, x, w, &col, c.stage, h, "STAGE") &&
		       cell(y, x, w, &col, c.kind, h, "ACTION") &&
		       cell(y, x, w, &col, c.result, h, "OUTCOME") &&
		       cell(y, x, w, &col, c.who, h, "WHO") &&
		       cell(y, x, w, &col, c.commit, h, "COMMIT") &&
		       cell(y, x, w, &col, w - col, h, "WHY"));
		return;
	}
	if (!r) {
		char note[160];
		/* as `edgeship status` says it: a fresh application, not a failure */
		if (lv->shown && lv->shown->no_bucket)
			snprintf(note, sizeof(note),
			         "no releases recorded yet: the artifact bucket does not exist yet "
			         "(the first deploy creates it)");
		else if (!lv->shown || !lv->shown->n)
			snprintf(note, sizeof(note),
			         "no releases recorded yet: the first deploy records one");
		else
			snprintf(note, sizeof(note), "no record%s%s yet%s", lv->all ? "" : " for ",
			         lv->all ? "" : lv->stage, lv->all ? "" : " (t shows every stage)");
		es_scr_text(y, x + 2, w - 2, es_theme_attr(ES_AREA_HINT), note);
		return;
	}
	const char *who = strrchr(r->who, '/');
	const char *res = result_text(r);
	snprintf(commit, sizeof(commit), "%.7s", r->commit[0] ? r->commit : "-");
	(void)(cell(y, x, w, &col, c.when, cur ? cur : es_theme_attr(ES_AREA_DATE),
	            when_text(r->when, c.long_when, when, sizeof(when))) &&
	       cell(y, x, w, &col, c.stage, cur ? cur : es_theme_attr(ES_AREA_STAGE_NAME),
	            r->stage) &&
	       cell(y, x, w, &col, c.kind, cur ? cur : es_theme_attr(ES_AREA_NORMAL), r->kind) &&
	       cell(y, x, w, &col, c.result, cur ? cur : es_theme_attr(result_area(res)), res) &&
	       cell(y, x, w, &col, c.who, cur ? cur : es_theme_attr(ES_AREA_AUTHOR),
	            who ? who + 1 : r->who) &&
	       cell(y, x, w, &col, c.commit, cur ? cur : es_theme_attr(ES_AREA_COMMIT_ID),
	            commit) &&
	       cell(y, x, w, &col, w - col, cur ? cur : es_theme_attr(ES_AREA_NORMAL), r->message));
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	const struct es_record *r = record_at(of(v), row);

	return r && (strcasestr(r->kind, needle) || strcasestr(r->stage, needle) ||
	             strcasestr(r->who, needle) || strcasestr(r->result, needle) ||
	             strcasestr(r->message, needle) ||
	             strncasecmp(r->commit, needle, strlen(needle)) == 0);
}

static void subtitle(struct es_view *v, char *buf, size_t len)
{
	struct es_ledger_view *lv = of(v);
	bool offline = lv->shown && lv->shown->offline;

	if (lv->all || !lv->stage[0])
		snprintf(buf, len, "all stages, %zu record%s%s", lv->n_index,
		         lv->n_index == 1 ? "" : "s", offline ? ", offline (cache)" : "");
	else
		snprintf(buf, len, "%s, %zu record%s%s", lv->stage, lv->n_index,
		         lv->n_index == 1 ? "" : "s", offline ? ", offline (cache)" : "");
}

static const struct es_view_ops ledger_ops = {
        .name = "ledger",
        .title = "Ledger",
        .rows = rows,
        .draw_row = draw_row,
        .selectable = selectable,
        .matches = matches,
        .subtitle = subtitle,
};

struct es_ledger_view *es_ledger_view_new(struct es_ui *ui, struct es_ledger_source src,
                                          const char *stage)
{
	struct es_ledger_view *lv = calloc(1, sizeof(*lv));

	if (!lv)
		return NULL;
	lv->src = src;
	snprintf(lv->stage, sizeof(lv->stage), "%s", stage ? stage : "");
	lv->all = !lv->stage[0];
	lv->view.ops = &ledger_ops;
	lv->view.ui = ui;
	lv->view.priv = lv;
	lv->view.cursor = 1;
	return lv;
}

void es_ledger_view_free(struct es_ledger_view *lv)
{
	if (!lv)
		return;
	free(lv->index);
	free(lv);
}

void es_ledger_view_toggle_all(struct es_ledger_view *lv)
{
	if (!lv->stage[0])
		return; /* opened on no stage: all it is */
	lv->all = !lv->all;
	lv->view.cursor = 1;
	lv->view.offset = 0;
}

const struct es_record *es_ledger_view_selected(struct es_ledger_view *lv)
{
	rows(&lv->view);
	return record_at(lv, lv->view.cursor);
}

struct es_pager *es_ledger_view_record(struct es_ledger_view *lv)
{
	const struct es_record *r = es_ledger_view_selected(lv);
	struct es_pager *p;
	char title[64];

	if (!r)
		return NULL;
	snprintf(title, sizeof(title), "ledger record #%ld", r->seq);
	p = es_pager_new(lv->view.ui, title);
	if (!p)
		return NULL;
	es_pager_addf(p, ES_AREA_PANE_TITLE, "#%ld  %s %s of %s: %s", r->seq, r->kind, r->phase,
	              r->stage[0] ? r->stage : "-", result_text(r));
	es_pager_addf(p, ES_AREA_AUTHOR, "who:    %s", r->who);
	es_pager_addf(p, ES_AREA_DATE, "when:   %s", r->when);
	if (r->commit[0])
		es_pager_addf(p, ES_AREA_COMMIT_ID, "commit: %s", r->commit);
	if (r->message[0])
		es_pager_addf(p, ES_AREA_NORMAL, "why:    %s", r->message);
	es_pager_add(p, ES_AREA_NORMAL, "");
	es_pager_add(p, ES_AREA_LABEL, "the record as stored:");
	es_pager_add(p, ES_AREA_NORMAL, r->json ? r->json : "(not kept)");
	return p;
}

void es_ledger_view_draw(struct es_ledger_view *lv)
{
	struct es_rect r = {1, 0, LINES - 2, COLS};

	if (r.h < 3)
		return;
	es_view_draw(&lv->view, r, true);
}

/* " K:label" for req's first key, or "" when it is unbound. */
static const char *hint(const struct es_ui *ui, enum es_request req, const char *label, char *buf,
                        size_t len)
{
	char keys[64];

	es_keymap_keys(ui->keymap, req, keys, sizeof(keys));
	if (!keys[0])
		buf[0] = '\0';
	else
		snprintf(buf, len, " %.*s:%s", (int)strcspn(keys, ","), keys, label);
	return buf;
}

void es_ui_hint_keys(const struct es_ui *ui, char out[3][96])
{
	char y[32], o[32], l[32];

	out[0][0] = out[1][0] = out[2][0] = '\0';
	if (!ui->keymap)
		return;
	hint(ui, ES_REQ_COPY, "copy", y, sizeof(y));
	hint(ui, ES_REQ_OPEN_URL, "open", o, sizeof(o));
	hint(ui, ES_REQ_LEDGER, "ledger", l, sizeof(l));
	switch (ui->focus) {
	case ES_PANE_HISTORY:
		snprintf(out[0], 96, "%s%s", y, l);
		snprintf(out[1], 96, "%s", y);
		break;
	case ES_PANE_STAGES:
	case ES_PANE_PROPAGATION:
	case ES_PANE_VALIDATION:
		snprintf(out[0], 96, "%s%s%s", y, o, l);
		snprintf(out[1], 96, "%s%s", y, o);
		snprintf(out[2], 96, "%s", o);
		break;
	default: snprintf(out[0], 96, "%s", l); break;
	}
}
