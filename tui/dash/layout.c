/* Where the panes go: History on the left and the stage panes stacked on
 * the right when the terminal is wide, History above one stage pane at a
 * time when it is narrow, the Activity strip along the bottom, the title
 * bar (identity, account, region, endpoint, read-only) on top and the
 * status line (messages, key hints, connection) at the bottom. */
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

static void draw_title(struct es_ui *ui)
{
	attr_t t = es_theme_attr(ES_AREA_TITLE);
	char left[512];
	int col;

	es_scr_fill((struct es_rect){0, 0, 1, COLS}, t);
	snprintf(left, sizeof(left), " edgeship %s%s%s", ui->app && *ui->app ? ui->app : "",
	         ui->branch && *ui->branch ? " @ " : "", ui->branch ? ui->branch : "");
	col = es_scr_text(0, 0, COLS, t | A_BOLD, left);
	if (ui->read_only && col + 13 < COLS)
		col += es_scr_text(0, col + 1, 12, es_theme_attr(ES_AREA_READ_ONLY),
		                   " READ-ONLY ") +
		       1;
	char right[768];
	snprintf(right, sizeof(right), "%s%s%s  %s  %s ",
	         ui->identity && *ui->identity ? ui->identity : "identity unknown",
	         ui->account && *ui->account ? "  acct " : "", ui->account ? ui->account : "",
	         ui->region && *ui->region ? ui->region : "no region",
	         ui->endpoint && *ui->endpoint ? ui->endpoint : "");
	int rw = es_scr_width(right), room = COLS - col - 2;
	if (room > 8) {
		if (rw > room)
			rw = room;
		es_scr_text(0, COLS - rw, rw, t, right);
	}
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
	if (p == ES_PANE_PROPAGATION)
		es_propagation_width = r.w - 2;
	es_view_draw(&ui->views[p], r, ui->focus == p);
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
	if (act_h < 4)
		act_h = 4;
	if (act_h > 9)
		act_h = 9;
	int main_h = h - act_h;
	pane(ui, ES_PANE_ACTIVITY, (struct es_rect){top + main_h, 0, act_h, COLS});

	if (COLS >= 110 && main_h >= 15) {
		int lw = COLS * 9 / 20;
		int rw = COLS - lw;
		pane(ui, ES_PANE_HISTORY, (struct es_rect){top, 0, main_h, lw});
		int sh = main_h * 2 / 5, ph = (main_h - sh) * 3 / 5;
		int vh = main_h - sh - ph;
		pane(ui, ES_PANE_STAGES, (struct es_rect){top, lw, sh, rw});
		pane(ui, ES_PANE_PROPAGATION, (struct es_rect){top + sh, lw, ph, rw});
		pane(ui, ES_PANE_VALIDATION, (struct es_rect){top + sh + ph, lw, vh, rw});
		return;
	}
	/* narrow or short: history above the stage pane that has (or last had)
	 * the focus; Tab moves through them */
	if (ui->focus == ES_PANE_STAGES || ui->focus == ES_PANE_PROPAGATION ||
	    ui->focus == ES_PANE_VALIDATION)
		ui->narrow_pane = ui->focus;
	enum es_pane shown = ui->narrow_pane ? ui->narrow_pane : ES_PANE_STAGES;
	int hh = main_h / 2;
	pane(ui, ES_PANE_HISTORY, (struct es_rect){top, 0, hh, COLS});
	pane(ui, shown, (struct es_rect){top + hh, 0, main_h - hh, COLS});
}
