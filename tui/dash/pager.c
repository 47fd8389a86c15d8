/* Full-screen text views: lines with a colour area each, scrolled and
 * searched by the generic view code. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pager.h"

static size_t rows(struct es_view *v)
{
	return ((struct es_pager *)v->priv)->n;
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	struct es_pager *p = v->priv;
	attr_t a = cursor ? es_theme_attr(ES_AREA_CURSOR) : es_theme_attr(p->lines[row].area);
	const char *t = p->lines[row].text;
	char buf[1024];
	size_t o = 0;

	/* tabs to spaces, eight columns */
	for (const char *c = t; *c && o + 9 < sizeof(buf); c++) {
		if (*c == '\t') {
			do
				buf[o++] = ' ';
			while (o % 8);
		} else {
			buf[o++] = *c;
		}
	}
	buf[o] = 0;
	es_scr_text(y, x, w, a, buf);
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	return strcasestr(((struct es_pager *)v->priv)->lines[row].text, needle) != NULL;
}

static void subtitle(struct es_view *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ((struct es_pager *)v->priv)->title);
}

static const struct es_view_ops pager_ops = {
        .name = "pager",
        .title = "",
        .rows = rows,
        .draw_row = draw_row,
        .matches = matches,
        .subtitle = subtitle,
};

struct es_pager *es_pager_new(struct es_ui *ui, const char *title)
{
	struct es_pager *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	snprintf(p->title, sizeof(p->title), "%s", title);
	p->view.ops = &pager_ops;
	p->view.ui = ui;
	p->view.priv = p;
	return p;
}

void es_pager_free(struct es_pager *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->lines[i].text);
	free(p->lines);
	free(p);
}

static void add_line(struct es_pager *p, enum es_area area, const char *s, size_t len)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void *n = realloc(p->lines, cap * sizeof(*p->lines));
		if (!n)
			return;
		p->lines = n;
		p->cap = cap;
	}
	char *t = strndup(s, len);
	if (!t)
		return;
	es_sanitize(t, false);
	p->lines[p->n].text = t;
	p->lines[p->n].area = area;
	p->n++;
}

void es_pager_add(struct es_pager *p, enum es_area area, const char *text)
{
	const char *s = text ? text : "";

	for (;;) {
		const char *nl = strchr(s, '\n');
		if (!nl) {
			add_line(p, area, s, strlen(s));
			return;
		}
		add_line(p, area, s, (size_t)(nl - s));
		s = nl + 1;
	}
}

void es_pager_addf(struct es_pager *p, enum es_area area, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	es_pager_add(p, area, buf);
}

/* Colour a diff line by its first characters. */
static enum es_area diff_area(const char *l)
{
	if (!strncmp(l, "+++", 3) || !strncmp(l, "---", 3) || !strncmp(l, "diff ", 5) ||
	    !strncmp(l, "index ", 6))
		return ES_AREA_DIFF_HEADER;
	if (l[0] == '+')
		return ES_AREA_DIFF_ADD;
	if (l[0] == '-')
		return ES_AREA_DIFF_DEL;
	if (!strncmp(l, "@@", 2))
		return ES_AREA_DIFF_HUNK;
	return ES_AREA_NORMAL;
}

struct es_pager *es_pager_commit(struct es_ui *ui, const struct es_commit_detail *d)
{
	char title[128], date[64];
	struct tm tm;
	time_t t = d->info.when;
	struct es_pager *p;

	snprintf(title, sizeof(title), "commit %.12s", d->info.oid);
	p = es_pager_new(ui, title);
	if (!p)
		return NULL;
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", localtime_r(&t, &tm));
	es_pager_addf(p, ES_AREA_COMMIT_ID, "commit %s", d->info.oid);
	es_pager_addf(p, ES_AREA_AUTHOR, "Author: %s <%s>", d->info.author,
	              d->author_email ? d->author_email : "");
	es_pager_addf(p, ES_AREA_DATE, "Date:   %s", date);
	for (size_t i = 0; i < es_ui_stage_count(ui); i++) {
		const struct es_stage_view *s = es_ui_stage(ui, i);
		if (strcmp(s->commit, d->info.oid) == 0)
			es_pager_addf(p, ES_AREA_MARKER_STAGE, "Runs in %s (%s)", s->name,
			              s->release);
	}
	es_pager_add(p, ES_AREA_NORMAL, "");
	const char *m = d->message ? d->message : d->info.summary;
	for (;;) {
		const char *nl = strchr(m, '\n');
		char line[1024];
		snprintf(line, sizeof(line), "    %.*s", (int)(nl ? nl - m : (long)strlen(m)), m);
		if (!nl && !*m)
			break;
		es_pager_add(p, ES_AREA_NORMAL, line);
		if (!nl)
			break;
		m = nl + 1;
	}
	es_pager_add(p, ES_AREA_NORMAL, "");
	es_pager_addf(p, ES_AREA_LABEL, "%zu file%s changed", d->n_files,
	              d->n_files == 1 ? "" : "s");
	for (size_t i = 0; i < d->n_files; i++)
		es_pager_addf(p, ES_AREA_NORMAL, " %c %s",
		              d->files[i].status ? d->files[i].status : '?', d->files[i].path);
	es_pager_add(p, ES_AREA_NORMAL, "");
	if (d->patch) {
		const char *s = d->patch;
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t len = nl ? (size_t)(nl - s) : strlen(s);
			char *l = strndup(s, len);
			if (l) {
				es_pager_add(p, diff_area(l), l);
				free(l);
			}
			if (!nl)
				break;
			s = nl + 1;
		}
	}
	return p;
}

struct es_pager *es_pager_help(struct es_ui *ui, const struct es_keymap *km, bool read_only)
{
	struct es_pager *p = es_pager_new(ui, "keys");
	char keys[96];

	if (!p)
		return NULL;
	es_pager_add(p, ES_AREA_PANE_TITLE,
	             "edgeship keys  (rebind them in ~/.config/edgeship/config: "
	             "[bind] REQUEST = KEY...)");
	es_pager_add(p, ES_AREA_NORMAL, "");
	const char *sections[] = {"Moving", "Views",
	                          "Actions (upper-case keys; each one asks first)"};
	for (int sec = 0; sec < 3; sec++) {
		es_pager_add(p, ES_AREA_LABEL, sections[sec]);
		for (int r = 1; r < ES_REQ_COUNT; r++) {
			const struct es_request_info *ri = es_request_info((enum es_request)r);
			int s = ri->flags & ES_REQ_MUTATING ? 2 : ri->flags & ES_REQ_MOVE ? 0 : 1;
			if (s != sec)
				continue;
			es_keymap_keys(km, ri->req, keys, sizeof(keys));
			es_pager_addf(p, ES_AREA_NORMAL, "  %-18s %-16s %s%s",
			              keys[0] ? keys : "(unbound)", ri->name, ri->help,
			              read_only && (ri->flags & ES_REQ_MUTATING)
			                      ? "  [off: --read-only]"
			                      : "");
		}
		es_pager_add(p, ES_AREA_NORMAL, "");
	}
	es_pager_add(p, ES_AREA_HINT,
	             "A change set runs on y then Enter; production and rollbacks ask you to "
	             "type the stage name.");
	return p;
}

void es_pager_draw(struct es_pager *p)
{
	struct es_rect r = {1, 0, LINES - 2, COLS};

	if (r.h < 3)
		return;
	es_view_draw(&p->view, r, true);
}

void es_pager_add_wrapped(struct es_pager *p, enum es_area area, const char *text, int width,
                          int indent)
{
	const char *s = text ? text : "";
	size_t len = strlen(s);
	char buf[4096];
	bool first = true;

	if (width < indent + 20)
		width = indent + 20;
	while (len || first) {
		const char *nl = memchr(s, '\n', len);
		size_t line = nl ? (size_t)(nl - s) : len;
		size_t n = line ? es_scr_wrap_len(s, line, first ? width : width - indent) : 0;
		snprintf(buf, sizeof(buf), "%*s%.*s", first ? 0 : indent, "", (int)n, s);
		add_line(p, area, buf, strlen(buf));
		s += n;
		len -= n;
		if (len && *s == '\n') {
			s++;
			len--;
		}
		first = false;
	}
}

static void add_activity(struct es_pager *p, const struct es_activity *a, int width, bool mark)
{
	time_t t = (time_t)a->when;
	struct tm tm;
	char when[16], line[sizeof(a->text) + 32];

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
	snprintf(line, sizeof(line), "%s %s %s", mark ? ">" : " ", when, a->text);
	es_pager_add_wrapped(p, es_activity_area(a), line, width, 11);
}

/* How many lines around the opened one are shown: a failed deploy's root
 * cause comes after its stack events. */
#define AROUND_BEFORE 20
#define AROUND_AFTER  8

struct es_pager *es_pager_activity(struct es_ui *ui, size_t sel)
{
	const struct es_activity *a = es_ui_activity(ui, sel);
	size_t n = es_ui_activity_count(ui);
	int width = COLS - 2;
	struct es_pager *p;

	if (!a || !(p = es_pager_new(ui, "Activity: the whole record")))
		return NULL;
	es_pager_add_wrapped(p, es_activity_area(a), a->text, width, 0);
	es_pager_add(p, ES_AREA_NORMAL, "");
	es_pager_add(p, ES_AREA_HINT, "Around it:");
	for (size_t i = sel > AROUND_BEFORE ? sel - AROUND_BEFORE : 0;
	     i < n && i <= sel + AROUND_AFTER; i++)
		add_activity(p, es_ui_activity(ui, i), width, i == sel);
	return p;
}
