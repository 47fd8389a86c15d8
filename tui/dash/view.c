/* The generic half of every view: scrolling, the cursor, search; and the
 * compact commit list the history view draws. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

int es_history_list_add(struct es_history_list *h, const char *oid, time_t when,
                        const char *summary, const char *author)
{
	struct es_hist_commit *c;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		void *p = realloc(h->items, cap * sizeof(*h->items));
		if (!p)
			return -1;
		h->items = p;
		h->cap = cap;
	}
	c = &h->items[h->n];
	snprintf(c->oid, sizeof(c->oid), "%s", oid);
	c->when = when;
	c->summary = strdup(summary ? summary : "");
	c->author = strdup(author ? author : "");
	if (!c->summary || !c->author) {
		free(c->summary);
		free(c->author);
		return -1;
	}
	h->n++;
	return 0;
}

void es_history_list_free(struct es_history_list *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->items[i].summary);
		free(h->items[i].author);
	}
	free(h->items);
	memset(h, 0, sizeof(*h));
}

static size_t nrows(struct es_view *v)
{
	return v->ops->rows(v);
}

static bool can_select(struct es_view *v, size_t row)
{
	return !v->ops->selectable || v->ops->selectable(v, row);
}

/* Move the cursor to a selectable row near `to`, searching in dir first. */
static void place_cursor(struct es_view *v, long to, int dir)
{
	long n = (long)nrows(v);

	if (n == 0) {
		v->cursor = v->offset = 0;
		return;
	}
	if (to < 0)
		to = 0;
	if (to >= n)
		to = n - 1;
	for (long r = to; r >= 0 && r < n; r += dir)
		if (can_select(v, (size_t)r)) {
			v->cursor = (size_t)r;
			return;
		}
	for (long r = to; r >= 0 && r < n; r -= dir)
		if (can_select(v, (size_t)r)) {
			v->cursor = (size_t)r;
			return;
		}
	v->cursor = (size_t)to;
}

void es_view_clamp(struct es_view *v)
{
	size_t n = nrows(v);
	int h = v->height > 0 ? v->height : 1;

	if (v->follow && n) {
		place_cursor(v, (long)n - 1, -1);
	} else if (v->cursor >= n || !can_select(v, v->cursor)) {
		place_cursor(v, (long)v->cursor, 1);
	}
	if (v->cursor < v->offset)
		v->offset = v->cursor;
	/* multi-line blocks: show the block's last line when there is room */
	if (v->cursor >= v->offset + (size_t)h)
		v->offset = v->cursor - (size_t)h + 1;
	if (n > (size_t)h && v->offset > n - (size_t)h)
		v->offset = n - (size_t)h;
	if (n <= (size_t)h)
		v->offset = 0;
}

unsigned es_view_request(struct es_view *v, enum es_request req)
{
	long n = (long)nrows(v), cur = (long)v->cursor;
	long page = v->height > 1 ? v->height - 1 : 1;

	switch (req) {
	case ES_REQ_MOVE_DOWN: place_cursor(v, cur + 1, 1); break;
	case ES_REQ_MOVE_UP: place_cursor(v, cur - 1, -1); break;
	case ES_REQ_PAGE_DOWN:
		place_cursor(v, cur + page, 1);
		v->offset += (size_t)page;
		break;
	case ES_REQ_PAGE_UP:
		place_cursor(v, cur - page, -1);
		v->offset = v->offset > (size_t)page ? v->offset - (size_t)page : 0;
		break;
	case ES_REQ_HALF_DOWN: place_cursor(v, cur + page / 2, 1); break;
	case ES_REQ_HALF_UP: place_cursor(v, cur - page / 2, -1); break;
	case ES_REQ_MOVE_FIRST: place_cursor(v, 0, 1); break;
	case ES_REQ_MOVE_LAST: place_cursor(v, n - 1, -1); break;
	default: return 0;
	}
	/* the activity strip follows new lines only while its cursor is at the end */
	v->follow = v->ops == &es_activity_ops && (long)v->cursor >= n - 1;
	if (v->offset > v->cursor)
		v->offset = v->cursor;
	es_view_clamp(v);
	return ES_HANDLED | ES_REDRAW;
}

bool es_view_search(struct es_view *v, const char *needle, int dir)
{
	size_t n = nrows(v);

	if (!needle || !*needle || !n || !v->ops->matches)
		return false;
	for (size_t k = 1; k <= n; k++) {
		size_t r = dir > 0 ? (v->cursor + k) % n : (v->cursor + n - (k % n)) % n;
		if (v->ops->matches(v, r, needle)) {
			v->cursor = r;
			v->follow = false;
			if (v->height > 0 && (r < v->offset || r >= v->offset + (size_t)v->height))
				v->offset =
				        r > (size_t)v->height / 2 ? r - (size_t)v->height / 2 : 0;
			es_view_clamp(v);
			return true;
		}
	}
	return false;
}

void es_view_draw(struct es_view *v, struct es_rect box, bool focused)
{
	char title[160], sub[128] = "";
	int inner_w = box.w - 2;

	v->height = box.h - 2;
	es_view_clamp(v);
	es_scr_fill(box, es_theme_attr(ES_AREA_NORMAL));
	if (v->ops->subtitle)
		v->ops->subtitle(v, sub, sizeof(sub));
	snprintf(title, sizeof(title), "%s", v->ops->title);
	es_scr_box(box, title, es_theme_attr(focused ? ES_AREA_BORDER_FOCUS : ES_AREA_BORDER),
	           es_theme_attr(ES_AREA_PANE_TITLE) | (focused ? A_BOLD : 0));
	if (sub[0] && box.w > 20) {
		int sw = es_scr_width(sub);
		int room = box.w - 6 - es_scr_width(title) - 4;
		if (sw > room)
			sw = room;
		if (sw > 0)
			es_scr_text(box.y, box.x + box.w - 2 - sw, sw, es_theme_attr(ES_AREA_HINT),
			            sub);
	}
	size_t n = nrows(v);
	for (int i = 0; i < v->height; i++) {
		size_t row = v->offset + (size_t)i;
		if (row >= n)
			break;
		bool cur = focused && row == v->cursor;
		if (cur)
			es_scr_fill((struct es_rect){box.y + 1 + i, box.x + 1, 1, inner_w},
			            es_theme_attr(ES_AREA_CURSOR));
		v->ops->draw_row(v, row, box.y + 1 + i, box.x + 1, inner_w, cur);
	}
	if (n > (size_t)v->height && v->height > 0) {
		/* a scroll position in the bottom border */
		char pos[32];
		snprintf(pos, sizeof(pos), " %zu/%zu ", v->cursor + 1, n);
		int pw = (int)strlen(pos);
		if (box.w > pw + 4)
			es_scr_text(box.y + box.h - 1, box.x + box.w - 2 - pw, pw,
			            es_theme_attr(focused ? ES_AREA_BORDER_FOCUS : ES_AREA_BORDER),
			            pos);
	}
}

int es_view_stage_of(struct es_view *v, size_t row)
{
	return v->ops->stage_of ? v->ops->stage_of(v, row) : -1;
}

const struct es_hist_commit *es_ui_selected_commit(struct es_ui *ui)
{
	struct es_view *v = &ui->views[ES_PANE_HISTORY];

	if (!ui->history || v->cursor >= ui->history->n)
		return NULL;
	return &ui->history->items[v->cursor];
}

int es_ui_selected_stage(struct es_ui *ui)
{
	enum es_pane p = ui->focus;

	if (p != ES_PANE_STAGES && p != ES_PANE_PROPAGATION && p != ES_PANE_VALIDATION)
		p = ES_PANE_STAGES;
	struct es_view *v = &ui->views[p];
	if (!nrows(v))
		return -1;
	return es_view_stage_of(v, v->cursor);
}

attr_t es_stage_status_attr(const char *s)
{
	if (!s || !*s || strcmp(s, "UNKNOWN") == 0 || strcmp(s, "NOT_DEPLOYED") == 0)
		return es_theme_attr(ES_AREA_STAGE_UNKNOWN);
	if (strstr(s, "FAILED") || strstr(s, "ROLLBACK"))
		return es_theme_attr(ES_AREA_STAGE_FAILED);
	if (strstr(s, "IN_PROGRESS"))
		return es_theme_attr(ES_AREA_STAGE_BUSY);
	if (strstr(s, "COMPLETE"))
		return es_theme_attr(ES_AREA_STAGE_OK);
	return es_theme_attr(ES_AREA_STAGE_UNKNOWN);
}

const char *es_ago(const struct es_ui *ui, double when, char *buf, size_t len)
{
	double s = ui->now - when;

	if (when <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%ds ago", (int)s);
	else if (s < 3600)
		snprintf(buf, len, "%dm ago", (int)(s / 60));
	else if (s < 86400 * 2)
		snprintf(buf, len, "%dh ago", (int)(s / 3600));
	else if (s < 86400 * 60)
		snprintf(buf, len, "%dd ago", (int)(s / 86400));
	else {
		time_t t = (time_t)when;
		struct tm tm;
		strftime(buf, len, "%Y-%m-%d", localtime_r(&t, &tm));
	}
	return buf;
}
