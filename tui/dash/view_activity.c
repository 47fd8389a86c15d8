/* The Activity strip: stack events, ledger records, refusals and errors
 * (with AWS code and request id, as core formats them), newest at the
 * bottom; it follows new lines unless the user scrolled up. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "view.h"

static size_t rows(struct es_view *v)
{
	return es_ui_activity_count(v->ui);
}

enum es_area es_activity_area(const struct es_activity *a)
{
	static const enum es_area level_area[] = {
	        [ES_ACT_INFO] = ES_AREA_ACT_INFO,
	        [ES_ACT_WARN] = ES_AREA_ACT_WARN,
	        [ES_ACT_ERROR] = ES_AREA_ACT_ERROR,
	        [ES_ACT_EVENT] = ES_AREA_ACT_EVENT,
	};
	return a->level <= ES_ACT_EVENT ? level_area[a->level] : ES_AREA_ACT_INFO;
}

static void draw_row(struct es_view *v, size_t row, int y, int x, int w, bool cursor)
{
	const struct es_activity *a = es_ui_activity(v->ui, row);
	time_t t = (time_t)a->when;
	struct tm tm;
	char when[16];
	attr_t cur = cursor ? es_theme_attr(ES_AREA_CURSOR) : 0;
	enum es_area area = es_activity_area(a);

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
	int col = es_scr_printf(y, x, w, cur ? cur : es_theme_attr(ES_AREA_DATE), "%s ", when);
	es_scr_text(y, x + col, w - col, cur ? cur : es_theme_attr(area), a->text);
}

static bool matches(struct es_view *v, size_t row, const char *needle)
{
	return strcasestr(es_ui_activity(v->ui, row)->text, needle) != NULL;
}

static void subtitle(struct es_view *v, char *buf, size_t len)
{
	size_t errors = 0;

	for (size_t i = 0; i < es_ui_activity_count(v->ui); i++)
		errors += es_ui_activity(v->ui, i)->level == ES_ACT_ERROR;
	if (errors)
		snprintf(buf, len, "%zu error%s", errors, errors == 1 ? "" : "s");
	else
		buf[0] = 0;
}

const struct es_view_ops es_activity_ops = {
        .name = "activity",
        .title = "Activity",
        .rows = rows,
        .draw_row = draw_row,
        .matches = matches,
        .subtitle = subtitle,
};
