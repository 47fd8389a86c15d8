/* The generic half of every view: scrolling, the cursor, search; and the
 * compact commit list the history view draws. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "view.h"

int es_history_list_add(struct es_history_list *h, const char *oid, time_t when,
                        const char *summary, const char *author)
{
	if (!h->commits && !(h->commits = es_commit_list_new()))
		return -1;
	return es_commit_list_add_hex(h->commits, oid, when, summary, author) == ES_OK ? 0 : -1;
}

void es_history_list_free(struct es_history_list *h)
{
	es_commit_list_free(h->commits);
	memset(h, 0, sizeof(*h));
}

size_t es_history_list_count(const struct es_history_list *h)
{
	return h ? es_commit_list_count(h->commits) : 0;
}

void es_history_list_get(const struct es_history_list *h, size_t i, struct es_hist_commit *out)
{
	struct es_commit_row row;

	es_commit_list_get(h->commits, i, &row);
	memcpy(out->oid, row.oid, sizeof(out->oid));
	out->when = row.when;
	out->summary = row.summary;
	out->author = row.author;
}

const char *es_history_list_summary_of(const struct es_history_list *h, const char *oid)
{
	size_t i = h && oid ? es_commit_list_find(h->commits, oid) : (size_t)-1;

	return i == (size_t)-1 ? NULL : es_commit_list_summary(h->commits, i);
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

/* The first selectable row of stage in v (0 when it has none). */
static size_t stage_first_row(struct es_view *v, size_t stage)
{
	size_t n = nrows(v);

	for (size_t r = 0; r < n; r++)
		if (es_view_stage_of(v, r) == (int)stage && can_select(v, r))
			return r;
	return 0;
}

void es_view_clamp(struct es_view *v)
{
	size_t n = nrows(v);
	int h = v->height > 0 ? v->height : 1;

	if (es_view_is_stage(v) && es_ui_stage_count(v->ui)) {
		size_t count = es_ui_stage_count(v->ui);
		if (v->ui->stage_sel >= count)
			v->ui->stage_sel = count - 1;
		v->cursor = stage_first_row(v, v->ui->stage_sel);
		/* the selected stage's block in sight, its first line first */
		size_t end = v->cursor;
		while (end + 1 < n && es_view_stage_of(v, end + 1) == (int)v->ui->stage_sel)
			end++;
		if (end >= v->offset + (size_t)h)
			v->offset = end - (size_t)h + 1;
		if (v->cursor < v->offset)
			v->offset = v->cursor;
	} else if (v->follow && n) {
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

/* Up, down, page, first, last over the stages: the one selection every
 * stage pane follows. */
static unsigned stage_request(struct es_view *v, enum es_request req)
{
	struct es_ui *ui = v->ui;
	long n = (long)es_ui_stage_count(ui), sel = (long)ui->stage_sel;
	/* a page: half the stage list as last drawn */
	int h = ui->views[ES_PANE_STAGES].height;
	long page = h > 4 ? h / 2 : 1;

	switch (req) {
	case ES_REQ_MOVE_DOWN: sel++; break;
	case ES_REQ_MOVE_UP: sel--; break;
	case ES_REQ_PAGE_DOWN: sel += page; break;
	case ES_REQ_PAGE_UP: sel -= page; break;
	case ES_REQ_HALF_DOWN: sel += page / 2 ? page / 2 : 1; break;
	case ES_REQ_HALF_UP: sel -= page / 2 ? page / 2 : 1; break;
	case ES_REQ_MOVE_FIRST: sel = 0; break;
	case ES_REQ_MOVE_LAST: sel = n - 1; break;
	default: return 0;
	}
	if (sel >= n)
		sel = n - 1;
	if (sel < 0)
		sel = 0;
	ui->stage_sel = (size_t)sel;
	es_view_clamp(v);
	return ES_HANDLED | ES_REDRAW;
}

bool es_view_is_stage(const struct es_view *v)
{
	return v->ops && v->ops->stage_of && v->ui;
}

unsigned es_view_request(struct es_view *v, enum es_request req)
{
	if (es_view_is_stage(v) && es_ui_stage_count(v->ui))
		return stage_request(v, req);
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
			if (es_view_is_stage(v) && es_view_stage_of(v, r) >= 0)
				v->ui->stage_sel = (size_t)es_view_stage_of(v, r);
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
	snprintf(title, sizeof(title), "%s", v->title ? v->title : v->ops->title);
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
		/* a scroll position in the bottom border (stage panes: which stage) */
		char pos[32];
		if (es_view_is_stage(v) && es_ui_stage_count(v->ui))
			snprintf(pos, sizeof(pos), " %zu/%zu ", v->ui->stage_sel + 1,
			         es_ui_stage_count(v->ui));
		else
			snprintf(pos, sizeof(pos), " %zu/%zu ", v->cursor + 1, n);
		int pw = (int)strlen(pos);
		if (box.w > pw + 4)
			es_scr_text(box.y + box.h - 1, box.x + box.w - 2 - pw, pw,
			            es_theme_attr(focused ? ES_AREA_BORDER_FOCUS : ES_AREA_BORDER),
			            pos);
	}
}

size_t es_view_stage_rows(struct es_view *v, size_t stage, size_t *first)
{
	size_t n = nrows(v), count = 0;

	*first = 0;
	for (size_t r = 0; r < n; r++) {
		if (es_view_stage_of(v, r) != (int)stage)
			continue;
		if (!count)
			*first = r;
		count++;
	}
	/* every block but the last ends with a blank line */
	if (count > 1 && stage + 1 < es_ui_stage_count(v->ui))
		count--;
	return count;
}

void es_view_draw_stage(struct es_view *v, struct es_rect box, bool focused, size_t stage)
{
	size_t first, count = es_view_stage_rows(v, stage, &first);

	v->height = box.h - 2;
	es_view_clamp(v);
	es_scr_fill(box, es_theme_attr(ES_AREA_NORMAL));
	es_scr_box(box, v->title ? v->title : v->ops->title,
	           es_theme_attr(focused ? ES_AREA_BORDER_FOCUS : ES_AREA_BORDER),
	           es_theme_attr(ES_AREA_PANE_TITLE) | (focused ? A_BOLD : 0));
	for (int i = 0; i < v->height && (size_t)i < count; i++) {
		size_t row = first + (size_t)i;
		bool cur = focused && row == v->cursor;
		if (cur)
			es_scr_fill((struct es_rect){box.y + 1 + i, box.x + 1, 1, box.w - 2},
			            es_theme_attr(ES_AREA_CURSOR));
		v->ops->draw_row(v, row, box.y + 1 + i, box.x + 1, box.w - 2, cur);
	}
	if (count > (size_t)v->height && v->height > 0 && box.w > 12)
		es_scr_text(box.y + box.h - 1, box.x + box.w - 8, 6,
		            es_theme_attr(focused ? ES_AREA_BORDER_FOCUS : ES_AREA_BORDER),
		            MB_CUR_MAX > 1 ? " \u2026 " : " ... ");
}

int es_view_stage_of(struct es_view *v, size_t row)
{
	return v->ops->stage_of ? v->ops->stage_of(v, row) : -1;
}

const struct es_hist_commit *es_ui_selected_commit(struct es_ui *ui)
{
	struct es_view *v = &ui->views[ES_PANE_HISTORY];

	if (!ui->history || v->cursor >= es_history_list_count(ui->history))
		return NULL;
	es_history_list_get(ui->history, v->cursor, &ui->history->selected);
	return &ui->history->selected;
}

int es_ui_selected_stage(struct es_ui *ui)
{
	size_t n = es_ui_stage_count(ui);

	if (!n)
		return -1;
	return (int)(ui->stage_sel < n ? ui->stage_sel : n - 1);
}

/* Tag candidates for a name, best first: initials of its parts ("PE"),
 * then the first part's first two and three letters, then initial and
 * index. */
static void tag_candidate(const char *name, size_t i, int k, char *out, size_t len)
{
	char initials[4] = "", word[4] = "";
	size_t ni = 0, nw = 0;
	bool start = true, first_part = true;

	for (const char *p = name; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9');
		if (!alnum) {
			if (ni)
				first_part = false;
			start = true;
			continue;
		}
		char up = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
		if (start && ni < 3)
			initials[ni++] = up;
		if (first_part && nw < 3)
			word[nw++] = up;
		start = false;
	}
	initials[ni] = 0;
	word[nw] = 0;
	if (!ni)
		k = 3;
	switch (k) {
	case 0: snprintf(out, len, "%s", initials); break;
	case 1: snprintf(out, len, "%.2s%s", word, ni > 1 ? initials + 1 : ""); break;
	case 2: snprintf(out, len, "%.3s", word); break;
	default: snprintf(out, len, "%.1s%zu", ni ? initials : "#", i + 1); break;
	}
	if (strlen(out) > 3)
		out[3] = 0;
}

/* The tags of the stages as last computed, with the names they came from:
 * every row of History asks for them, the stages seldom change. */
static struct {
	char names[64][64];
	char tags[64][4];
	size_t n;
} tag_cache;

static void compute_tags(const struct es_ui *ui, size_t n)
{
	bool same = tag_cache.n == n;

	for (size_t j = 0; j < n && same; j++)
		same = strcmp(tag_cache.names[j], es_ui_stage(ui, j)->name) == 0;
	if (same)
		return;
	/* the earlier stages choose first */
	for (size_t j = 0; j < n; j++) {
		const char *name = es_ui_stage(ui, j)->name;
		snprintf(tag_cache.names[j], sizeof(tag_cache.names[j]), "%s", name);
		for (int k = 0; k < 4; k++) {
			bool taken = false;
			tag_candidate(name, j, k, tag_cache.tags[j], sizeof(tag_cache.tags[j]));
			for (size_t m = 0; m < j && !taken; m++)
				taken = strcmp(tag_cache.tags[m], tag_cache.tags[j]) == 0;
			if (!taken && tag_cache.tags[j][0])
				break;
		}
	}
	tag_cache.n = n;
}

const char *es_stage_tag(const struct es_ui *ui, size_t i, char *buf, size_t len)
{
	size_t n = es_ui_stage_count(ui);

	if (!len)
		return buf;
	buf[0] = 0;
	if (i >= n)
		return buf;
	if (n > sizeof(tag_cache.tags) / sizeof(tag_cache.tags[0])) {
		snprintf(buf, len, "%zu", (i + 1) % 1000);
		return buf;
	}
	compute_tags(ui, n);
	snprintf(buf, len, "%s", tag_cache.tags[i]);
	return buf;
}

int es_stage_tag_width(const struct es_ui *ui)
{
	int w = 0;
	char tag[8];

	for (size_t i = 0; i < es_ui_stage_count(ui); i++) {
		int tw = (int)strlen(es_stage_tag(ui, i, tag, sizeof(tag)));
		if (tw > w)
			w = tw;
	}
	return w;
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
