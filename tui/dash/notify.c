/* How the dashboard tells the operator something: a line in the activity
 * strip, the message line, a dialog on the stack (which drops the keys
 * typed ahead of it), a failure as all three; and, in tests, a frozen
 * screen as a crash with its call stack. */
#include "config.h"

#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/timefmt.h"
#include "dash.h"

void es_dash_log(struct es_dash *d, enum es_activity_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	es_sanitize(buf, false);
	if (d->model) {
		es_model_log(d->model, level, "%s", buf);
		return;
	}
	/* no model yet (or none at all): the dashboard keeps the line */
	if (d->n_early_log == ES_DASH_ACTIVITY) {
		memmove(d->early_log, d->early_log + 1,
		        sizeof(d->early_log[0]) * (ES_DASH_ACTIVITY - 1));
		d->n_early_log--;
	}
	struct es_activity *a = &d->early_log[d->n_early_log++];
	a->when = es_time_now();
	a->level = level;
	snprintf(a->text, sizeof(a->text), "%s", buf);
	d->dirty = true;
}

void es_dash_message(struct es_dash *d, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->ui.message, sizeof(d->ui.message), fmt, ap);
	va_end(ap);
	es_sanitize(d->ui.message, false);
	d->ui.message_error = error;
	d->dirty = true;
}

void es_dash_ignore_key(struct es_dash *d, struct es_dialog *dlg, int key)
{
	es_dialog_key(dlg, key); /* not armed: counts it, notes it in the dialog */
	if (dlg->ignored > 1)
		es_dash_message(d, false, "%d keys ignored: the question had not been shown yet",
		                dlg->ignored);
	else
		es_dash_message(d, false, "key ignored: the question had not been shown yet");
}

/* Drop what was typed before dlg went up: what curses has read from the
 * terminal but not handed out yet (each counted), then the terminal's
 * input queue. A script's keys come one by one, or as a :now burst that
 * meets the unarmed dialog. */
static void flush_typeahead(struct es_dash *d, struct es_dialog *dlg)
{
	wint_t wc;
	int rc;

	if (d->script || !stdscr)
		return;
	while ((rc = get_wch(&wc)) != ERR)
		if (!(rc == KEY_CODE_YES && wc == KEY_RESIZE))
			es_dash_ignore_key(d, dlg, (int)wc);
	flushinp();
}

void es_dash_push(struct es_dash *d, struct es_dialog *dlg)
{
	if (!dlg)
		return;
	if (d->n_dialogs == ES_DASH_DIALOGS) {
		es_dialog_free(dlg);
		return;
	}
	d->dialogs[d->n_dialogs++] = dlg;
	d->dirty = true;
	/* Keys typed before the question is drawn are no answer to it: drop
	 * those waiting now; later ones meet a dialog that is not armed. */
	flush_typeahead(d, dlg);
}

void es_dash_fail(struct es_dash *d, const char *what)
{
	char line[1400];
	const struct es_error *e = es_error_last();
	const char *msg = es_error_format(e, line, sizeof(line));
	bool refused = e->status == ES_EREFUSED;
	struct es_dialog *dlg =
	        es_dialog_new(ES_DLG_MESSAGE, refused ? "Refused" : "Failed", what, NULL, NULL);

	es_dash_log(d, refused ? ES_ACT_WARN : ES_ACT_ERROR, "%s: %s", what, msg);
	es_dash_message(d, true, "%s: %s", what, msg);
	if (dlg) {
		dlg->danger = !refused;
		es_dialog_body(dlg, msg);
		es_dash_push(d, dlg);
	}
}

/* A synchronous wait on the screen's loop: say where it came from and stop,
 * so no test can miss it. */
static void ui_block_fatal(struct es_loop *loop, void *ud)
{
	static const char msg[] = "\nedgeship: a synchronous wait on the screen's loop "
	                          "(ES_ASSERT_NO_UI_BLOCK is set), called from:\n";
	void *frames[32];
	int n = backtrace(frames, 32);

	(void)loop;
	(void)ud;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* abort() says enough */
	}
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
	abort();
}

void es_dash_guard_loop(struct es_loop *loop)
{
	const char *a = getenv("ES_ASSERT_NO_UI_BLOCK");

	es_loop_set_ui(loop, true);
	if (a && *a && strcmp(a, "0") != 0)
		es_loop_on_ui_block(loop, ui_block_fatal, NULL);
}
