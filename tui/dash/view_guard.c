/* The guard's line in the Stages pane: sparklines of requests and 5xx rate
 * (the rollout marked |), the threshold, a breach and stale figures. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "guard_dash.h"
#include "screen.h"
#include "theme.h"
#include "view.h"

bool es_ui_guard_has(const struct es_ui *ui, const char *stage)
{
	return ui->guard && es_guard_find(ui->guard, stage) >= 0;
}

#define SHOWN 12 /* periods drawn: the pane is narrow */

void es_ui_guard_draw(const struct es_ui *ui, const char *stage, int y, int x, int w)
{
	int i = ui->guard ? es_guard_find(ui->guard, stage) : -1;
	const struct es_guard_stage *full = i >= 0 ? es_guard_stage(ui->guard, (size_t)i) : NULL;
	attr_t label = es_theme_attr(ES_AREA_LABEL), normal = es_theme_attr(ES_AREA_NORMAL);
	attr_t bad = es_theme_attr(ES_AREA_STAGE_FAILED);
	char req[SHOWN * 4 + 4], rate[SHOWN * 4 + 4];
	struct es_guard_stage s;
	int col = 0;

	if (!full)
		return;
	s = *full;
	if (s.n > SHOWN) {
		memmove(s.pts, s.pts + (s.n - SHOWN), SHOWN * sizeof(s.pts[0]));
		s.n = SHOWN;
	}
	const struct es_guard_point *p = s.n ? &s.pts[s.n - 1] : NULL;
	es_guard_sparkline(&s, false, req, sizeof(req));
	es_guard_sparkline(&s, true, rate, sizeof(rate));
	col += es_scr_text(y, x + col, w - col, label, "guard   ");
	if (s.breached)
		col += es_scr_printf(y, x + col, w - col, bad,
		                     "BREACH 5xx %.1f%% > %g%%, B rolls back, w errors  ",
		                     s.breach.rate_5xx, s.set.threshold);
	else if (es_guard_stale(ui->guard))
		col += es_scr_text(y, x + col, w - col, es_theme_attr(ES_AREA_ACT_WARN),
		                   "stale figures  ");
	col += es_scr_printf(y, x + col, w - col, normal, "5xx %s %.1f%% ", rate[0] ? rate : "-",
	                     p ? p->rate_5xx : 0.0);
	col += es_scr_printf(y, x + col, w - col, es_theme_attr(ES_AREA_HINT), "(limit %g%%)  ",
	                     s.set.threshold);
	es_scr_printf(y, x + col, w - col, normal, "req %s %.0f/%ds", req[0] ? req : "-",
	              p ? p->requests : 0.0, s.set.period_s);
}
