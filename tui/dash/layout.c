/* Where the panes go: History on the left and the stage panes stacked on
 * the right when the terminal is wide, History above the stage list (its
 * selected stage expanded) when it is narrow, the Activity strip along the
 * bottom, the title bar (identity, account, region, endpoint, read-only;
 * shortened part by part to fit) on top and the status line (messages,
 * key hints, connection) at the bottom. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "view.h"
#include "view_ledger.h"

static const struct es_view_ops *const pane_ops[ES_PANE_COUNT] = {
        [ES_PANE_HISTORY] = &es_history_ops,         [ES_PANE_STAGES] = &es_stages_ops,
        [ES_PANE_PROPAGATION] = &es_propagation_ops, [ES_PANE_VALIDATION] = &es_validation_ops,
        [ES_PANE_ACTIVITY] = &es_activity_ops,
};

void es_ui_init(struct es_ui *ui)
{
	for (int i = 0; i < ES_PANE_COUNT; i++) {
		ui->views[i].ops = pane_ops[i];
		ui->views[i].ui = ui;
	}
	ui->views[ES_PANE_ACTIVITY].follow = true;
	ui->focus = ES_PANE_HISTORY;
}

/* "127.0.0.1:5000" from "http://127.0.0.1:5000/". */
static void host_port(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");

	snprintf(out, len, "%s", p ? p + 3 : url);
	out[strcspn(out, "/?#")] = 0;
}

/* An ARN's resource ("assumed-role/release/alice"), or its last part
 * ("alice"); anything else as it is. */
static const char *identity_part(const char *id, bool last)
{
	if (strncmp(id, "arn:", 4) != 0)
		return id;
	const char *p = id;
	for (int i = 0; i < 5 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p || !*p)
		return id;
	if (last && strrchr(p, '/') && strrchr(p, '/')[1])
		return strrchr(p, '/') + 1;
	return p;
}

/* The right side of the title bar, shortened by step: 0 all of it, 1 the
 * endpoint as host:port, 2 the identity without its ARN prefix, 3 the
 * identity's last part, 4 without the account, 5 without the endpoint. */
static void title_right(const struct es_ui *ui, int step, char *out, size_t len)
{
	const char *id = ui->identity && *ui->identity ? ui->identity : "identity unknown";
	char ep[256] = "";

	if (ui->endpoint && *ui->endpoint && step < 5) {
		if (step >= 1)
			host_port(ui->endpoint, ep, sizeof(ep));
		else
			snprintf(ep, sizeof(ep), "%s", ui->endpoint);
	}
	if (step >= 2)
		id = identity_part(id, step >= 3);
	bool acct = step < 4 && ui->account && *ui->account;
	snprintf(out, len, "%s%s%s  %s%s%s ", id, acct ? "  acct " : "", acct ? ui->account : "",
	         ui->region && *ui->region ? ui->region : "no region", ep[0] ? "  " : "", ep);
}

static void draw_title(struct es_ui *ui)
{
	attr_t t = es_theme_attr(ES_AREA_TITLE);
	char left[512], right[768];
	bool branch = ui->branch && *ui->branch;
	int ro = ui->read_only ? 12 : 0; /* " READ-ONLY " and a space */

	es_scr_fill((struct es_rect){0, 0, 1, COLS}, t);
	/* the least useful parts go first, until the right side fits */
	int step = 0, lw, rw;
	for (;;) {
		snprintf(left, sizeof(left), " edgeship %s%s%s", ui->app && *ui->app ? ui->app : "",
		         branch ? " @ " : "", branch ? ui->branch : "");
		title_right(ui, step, right, sizeof(right));
		lw = es_scr_width(left);
		rw = es_scr_width(right);
		if (lw + ro + 2 + rw <= COLS)
			break;
		if (step < 5)
			step++;
		else if (branch)
			branch = false;
		else
			break;
	}
	/* still too wide: the app name and the identity give way, with an ellipsis */
	if (lw + ro + 2 + rw > COLS) {
		int room = COLS - ro - 2;
		lw = room / 3 > 10 ? room / 3 : 10;
		if (lw > es_scr_width(left))
			lw = es_scr_width(left);
		rw = room - lw;
	}
	int col = es_scr_text(0, 0, lw, t | A_BOLD, left);
	if (ro)
		col += es_scr_text(0, col + 1, 11, es_theme_attr(ES_AREA_READ_ONLY),
		                   " READ-ONLY ") +
		       1;
	if (rw > 0)
		es_scr_text(0, COLS - rw, rw, t, right);
}

static void draw_status(struct es_ui *ui)
{
	int y = LINES - 1;
	attr_t s = es_theme_attr(ES_AREA_STATUS);
	char k1[32], k2[32], k3[32], hints[256];
	int col = 0, hw = 0;

	es_scr_fill((struct es_rect){y, 0, 1, COLS}, s);
	if (ui->keymap) {
		/* the first key of each, from the bindings in force */
		es_keymap_keys(ui->keymap, ES_REQ_HELP, k1, sizeof(k1));
		es_keymap_keys(ui->keymap, ES_REQ_NEXT_PANE, k2, sizeof(k2));
		es_keymap_keys(ui->keymap, ES_REQ_QUIT, k3, sizeof(k3));
		snprintf(hints, sizeof(hints), " %.*s:help %.*s:pane %.*s:quit ",
		         (int)strcspn(k1, ","), k1, (int)strcspn(k2, ","), k2,
		         (int)strcspn(k3, ","), k3);
		/* the focused pane's own keys in front, as many as there is room for */
		char more[3][96], with[256];
		int limit = COLS / 3;
		es_ui_hint_keys(ui, more);
		for (int i = 0; i < 3; i++) {
			snprintf(with, sizeof(with), "%s%s", more[i], hints);
			if (more[i][0] && es_scr_width(with) <= COLS * 2 / 5) {
				snprintf(hints, sizeof(hints), "%s", with);
				limit = COLS * 2 / 5;
				break;
			}
		}
		hw = es_scr_width(hints);
		if (hw > limit)
			hw = 0;
		else
			es_scr_text(y, COLS - hw, hw, s | A_BOLD, hints);
	}
	int room = COLS - hw - 1;
	/* the connection note first (at most half the line when there is a
	 * message too), then the message */
	const char *connection = es_ui_connection(ui);
	if (*connection && room > 24) {
		int cw = ui->message[0] ? room / 2 : room;
		col += es_scr_printf(y, col, cw, es_theme_attr(ES_AREA_OFFLINE), " %s ",
		                     connection);
	}
	if (ui->message[0] && room - col > 8)
		col += es_scr_printf(y, col, room - col,
		                     ui->message_error ? es_theme_attr(ES_AREA_ACT_ERROR) : s,
		                     " %s ", ui->message);
	if (!ui->message[0] && ui->progress[0] && room - col > 12) {
		es_scr_printf(y, col, room - col, s, " %s", ui->progress);
	} else if (!ui->message[0] && room - col > 12) {
		const char *note = ui->conf_note && *ui->conf_note       ? ui->conf_note
		                   : ui->credentials && *ui->credentials ? ui->credentials
		                                                         : "";
		es_scr_printf(y, col, room - col, s, " %s", note);
	}
}

static void draw_too_small(void)
{
	char msg[160];

	erase();
	snprintf(msg, sizeof(msg), "edgeship needs at least %dx%d; this terminal is %dx%d.",
	         ES_UI_MIN_COLS, ES_UI_MIN_LINES, COLS, LINES);
	if (es_scr_width(msg) > COLS)
		snprintf(msg, sizeof(msg), "edgeship needs at least %dx%d (not %dx%d).",
		         ES_UI_MIN_COLS, ES_UI_MIN_LINES, COLS, LINES);
	int y = LINES / 2 - 1;
	if (y < 0)
		y = 0;
	es_scr_text(y, 0, COLS, es_theme_attr(ES_AREA_MESSAGE), msg);
	if (y + 1 < LINES)
		es_scr_text(y + 1, 0, COLS, es_theme_attr(ES_AREA_HINT),
		            "Enlarge it, or press q to quit.");
}

static void pane(struct es_ui *ui, enum es_pane p, struct es_rect r)
{
	if (r.h < 3 || r.w < 10)
		return;
	ui->views[p].title = NULL;
	es_view_draw(&ui->views[p], r, ui->focus == p);
}

static bool stage_focus(const struct es_ui *ui)
{
	return ui->focus == ES_PANE_STAGES || ui->focus == ES_PANE_PROPAGATION ||
	       ui->focus == ES_PANE_VALIDATION;
}

/* The most rows pane p has for one stage (its detail pane's height). */
static int most_stage_rows(struct es_ui *ui, enum es_pane p)
{
	size_t most = 1, first;

	for (size_t i = 0; i < es_ui_stage_count(ui); i++) {
		size_t n = es_view_stage_rows(&ui->views[p], i, &first);
		if (n > most)
			most = n;
	}
	return (int)most;
}

/* Wide: History on the left; on the right the stage list (the selected
 * stage's own details under its line), then the selected stage's
 * Propagation and Validation, each as tall as the most any stage needs
 * when there is room. */
static void draw_wide(struct es_ui *ui, int top, int main_h)
{
	int lw = COLS * 9 / 20, rw = COLS - lw;

	ui->stages_full = false;
	pane(ui, ES_PANE_HISTORY, (struct es_rect){top, 0, main_h, lw});
	es_propagation_width = rw - 2;
	int ph = most_stage_rows(ui, ES_PANE_PROPAGATION) + 2;
	int vh = most_stage_rows(ui, ES_PANE_VALIDATION) + 2;
	if (ph > main_h / 4)
		ph = main_h / 4 > 3 ? main_h / 4 : 3;
	if (vh > main_h / 4)
		vh = main_h / 4 > 3 ? main_h / 4 : 3;
	/* room to spare goes half to the stage list, half to the details */
	struct es_view *sv = &ui->views[ES_PANE_STAGES];
	sv->height = main_h - ph - vh - 2;
	int sh = (int)sv->ops->rows(sv) + 2;
	if (sh < main_h - ph - vh) {
		int spare = main_h - ph - vh - sh;
		sh += spare / 2;
		spare -= spare / 2;
		ph += spare / 2;
		vh += spare - spare / 2;
	} else {
		sh = main_h - ph - vh;
	}
	/* drawing the list settled the selection (clamped to the stages) */
	pane(ui, ES_PANE_STAGES, (struct es_rect){top, lw, sh, rw});
	for (int k = 0; k < 2; k++) {
		enum es_pane p = k ? ES_PANE_VALIDATION : ES_PANE_PROPAGATION;
		struct es_rect r = k ? (struct es_rect){top + sh + ph, lw, vh, rw}
		                     : (struct es_rect){top + sh, lw, ph, rw};
		if (r.h >= 3)
			es_view_draw_stage(&ui->views[p], r, ui->focus == p, ui->stage_sel);
	}
}

/* Narrow: History above the stage list, whose selected stage shows its
 * propagation and validation too (what the focused pane holds first). */
static void draw_narrow(struct es_ui *ui, int top, int main_h)
{
	struct es_view *sv = &ui->views[ES_PANE_STAGES];
	int hist_min = main_h / 3 > 4 ? main_h / 3 : 4;

	ui->stages_full = true;
	es_propagation_width = COLS - 2 - 2;
	sv->height = main_h - hist_min - 2;
	int sh = (int)sv->ops->rows(sv) + 2;
	if (sh > main_h - hist_min)
		sh = main_h - hist_min;
	if (sh < 3)
		sh = 3;
	pane(ui, ES_PANE_HISTORY, (struct es_rect){top, 0, main_h - sh, COLS});
	sv->title = ui->focus == ES_PANE_PROPAGATION  ? "Stages: propagation"
	            : ui->focus == ES_PANE_VALIDATION ? "Stages: validation"
	                                              : NULL;
	es_view_draw(sv, (struct es_rect){top + main_h - sh, 0, sh, COLS}, stage_focus(ui));
	sv->title = NULL;
}

void es_ui_draw(struct es_ui *ui)
{
	if (COLS < ES_UI_MIN_COLS || LINES < ES_UI_MIN_LINES) {
		draw_too_small();
		return;
	}
	erase();
	draw_title(ui);
	draw_status(ui);

	int top = 1, h = LINES - 2;
	int act_h = h / 5;
	if (act_h < (LINES < 20 ? 3 : 4))
		act_h = LINES < 20 ? 3 : 4;
	if (act_h > 9)
		act_h = 9;
	int main_h = h - act_h;
	pane(ui, ES_PANE_ACTIVITY, (struct es_rect){top + main_h, 0, act_h, COLS});
	if (COLS >= 110 && main_h >= 15)
		draw_wide(ui, top, main_h);
	else
		draw_narrow(ui, top, main_h);
}
