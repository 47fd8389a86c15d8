/* How the dashboard tells the operator something: a line in the activity
 * strip, the message line, a dialog on the stack (which drops the keys
 * typed ahead of it), a failure as all three; the bell and desktop
 * notifications when something ends or waits; and, in tests, a frozen
 * screen as a crash with its call stack. Also what goes to the desktop on
 * request (y: the clipboard, o: the browser) and the ledger view's keys. */
#include "config.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attention.h"
#include "base/error.h"
#include "base/text.h"
#include "base/timefmt.h"
#include "dash.h"
#include "kvfile.h"
#include "termseq.h"
#include "view_ledger.h"

extern char **environ;

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

/* ------------------------------------------------------------ attention */

#define ATTN_KIDS 16

struct es_attn {
	bool bell;
	enum es_notify_mode mode; /* resolved: never auto */
	bool tmux;                /* wrap OSC sequences for tmux's passthrough */
	char notify_send[4096];   /* its path on PATH, "" when absent */
	struct es_attn_tracker tracker;
	pid_t kids[ATTN_KIDS]; /* programs started and not reaped yet */
	size_t n_kids;
};

/* name's path in PATH into out, or false (no shell, no guessing). */
static bool find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		snprintf(out, len, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	out[0] = '\0';
	return false;
}

/* Start argv[0] (a full path) without a shell and without waiting: its
 * own session, stdin/stdout/stderr on /dev/null, default signals. */
static bool spawn_quiet(struct es_attn *a, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	for (int fd = 0; fd < 3; fd++)
		posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGWINCH);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
#ifdef POSIX_SPAWN_SETSID
	                                      | POSIX_SPAWN_SETSID
#endif
	);
	rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		errno = rc; /* posix_spawn reports, it does not set errno */
		return false;
	}
	if (a->n_kids < ATTN_KIDS)
		a->kids[a->n_kids++] = pid;
	return true;
}

static void reap(struct es_attn *a)
{
	for (size_t i = 0; i < a->n_kids;)
		if (waitpid(a->kids[i], NULL, WNOHANG) != 0)
			a->kids[i] = a->kids[--a->n_kids];
		else
			i++;
}

/* Bytes for the terminal itself: after doupdate() curses has written all
 * it had, so a sequence never lands inside one of its own. */
static void to_terminal(const char *seq)
{
	size_t len = seq ? strlen(seq) : 0, off = 0;

	while (off < len) {
		ssize_t w = write(STDOUT_FILENO, seq + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static void send_osc(struct es_attn *a, char *seq)
{
	to_terminal(seq);
	free(seq);
	(void)a;
}

struct attn_conf {
	struct es_attn *a;
	const char *path;
	char err[512];
	int mode; /* -1: unset */
};

static void on_attn_entry(const char *section, const char *sub, const char *key, const char *value,
                          void *ud)
{
	struct attn_conf *c = ud;

	(void)sub;
	if (strcmp(section, "attention") != 0)
		return;
	if (!strcmp(key, "bell")) {
		bool on = !strcasecmp(value, "on") || !strcasecmp(value, "true") ||
		          !strcasecmp(value, "yes") || !strcmp(value, "1");
		bool off = !strcasecmp(value, "off") || !strcasecmp(value, "false") ||
		           !strcasecmp(value, "no") || !strcmp(value, "0");
		if (on || off)
			c->a->bell = on;
		else if (!c->err[0])
			snprintf(c->err, sizeof(c->err),
			         "%s: attention.bell: '%s' is not on or off", c->path, value);
	} else if (!strcmp(key, "notify")) {
		int m = es_notify_mode_parse(value);
		if (m >= 0)
			c->mode = m;
		else if (!c->err[0])
			snprintf(c->err, sizeof(c->err),
			         "%s: attention.notify: '%s' is not one of off, osc9, osc777, "
			         "notify-send, auto",
			         c->path, value);
	} else if (!c->err[0]) {
		snprintf(c->err, sizeof(c->err),
		         "%s: attention.%s is unknown (attention takes bell and notify)", c->path,
		         key);
	}
}

void es_attn_setup(struct es_dash *d, const char *path)
{
	struct es_attn *a = calloc(1, sizeof(*a));
	struct attn_conf c = {.a = a, .path = path, .mode = -1};
	const char *tmux = getenv("TMUX");

	if (!a)
		return;
	a->bell = true;
	(void)es_kvfile_read(path, on_attn_entry, &c); /* its syntax errors: the keymap says them */
	if (c.err[0])
		es_dash_log(d, ES_ACT_WARN, "%s", c.err);
	find_program("notify-send", a->notify_send, sizeof(a->notify_send));
	a->mode = c.mode < 0 || c.mode == ES_NOTIFY_AUTO ? es_notify_mode_auto(a->notify_send[0])
	                                                 : (enum es_notify_mode)c.mode;
	if (a->mode == ES_NOTIFY_SEND && !a->notify_send[0]) {
		es_dash_log(d, ES_ACT_WARN,
		            "attention.notify = notify-send, but notify-send is not on PATH: "
		            "only the bell will ring");
		a->mode = ES_NOTIFY_OFF;
	}
	a->tmux = tmux && *tmux;
	d->attn = a;
}

void es_attn_free(struct es_dash *d)
{
	es_ledger_view_free(d->ledger);
	d->ledger = NULL;
	if (d->attn)
		reap(d->attn); /* what still runs is left to finish on its own */
	free(d->attn);
	d->attn = NULL;
}

static const char *subject_of(const struct es_dash *d, const char *oid)
{
	return oid[0] ? es_history_list_summary_of(&d->history, oid) : NULL;
}

static void announce(struct es_dash *d, const struct es_attn_event *ev)
{
	struct es_attn *a = d->attn;
	char body[700], title[160];
	const char *subject = subject_of(d, ev->commit);

	if (ev->kind == ES_ATTN_ACTION_ENDED && ev->commit[0])
		snprintf(body, sizeof(body), "%s \u2014 %.7s %s", ev->text, ev->commit,
		         subject ? subject : "");
	else
		snprintf(body, sizeof(body), "%s", ev->text);
	es_term_clean(body, 400);
	snprintf(title, sizeof(title), "edgeship %s", d->app);
	es_term_clean(title, 100);
	if (a->bell)
		to_terminal("\a");
	switch (a->mode) {
	case ES_NOTIFY_OSC9: {
		char line[800];
		snprintf(line, sizeof(line), "%s: %s", title, body);
		send_osc(a, es_term_osc9(line, a->tmux));
		break;
	}
	case ES_NOTIFY_OSC777: send_osc(a, es_term_osc777(title, body, a->tmux)); break;
	case ES_NOTIFY_SEND: {
		char *argv[] = {a->notify_send, "--app-name=edgeship",
		                "--urgency",    ev->bad ? "critical" : "normal",
		                "--",           title,
		                body,           NULL};
		if (!spawn_quiet(a, argv))
			es_dash_log(d, ES_ACT_WARN, "notify-send could not be started: %s",
			            strerror(errno));
		break;
	}
	default: break;
	}
}

void es_attn_poll(struct es_dash *d)
{
	struct es_attn *a = d->attn;
	struct es_attn_event ev[8];
	unsigned long gen = 0;

	if (!a)
		return;
	if (a->n_kids)
		reap(a);
	if (!d->model || (!a->tracker.ready && es_model_busy(d->model)))
		return; /* the first look waits until the model has read everything once */
	const struct es_record_list *recs = es_model_records(d->model, &gen);
	size_t n = es_attn_observe(&a->tracker, es_model_stage(d->model, 0),
	                           es_model_stage_count(d->model), recs, gen, es_time_now(), ev,
	                           sizeof(ev) / sizeof(ev[0]));
	for (size_t i = 0; i < n; i++)
		announce(d, &ev[i]);
}

void es_attn_alert(struct es_dash *d, const char *stage, const char *text)
{
	struct es_attn_event ev = {.kind = ES_ATTN_VALIDATION_FAILED, .bad = true};

	if (!d->attn)
		return;
	snprintf(ev.stage, sizeof(ev.stage), "%s", stage);
	snprintf(ev.text, sizeof(ev.text), "%s: error-rate breach, %s", stage, text);
	announce(d, &ev);
}

/* ------------------------------------------------------------ y, o and L */

/* The URL of stage i: its configured url, else its distribution's. */
static bool stage_url(struct es_dash *d, int i, char *out, size_t len)
{
	const struct es_stage_view *s = i >= 0 ? es_ui_stage(&d->ui, (size_t)i) : NULL;

	out[0] = '\0';
	if (d->conf && i >= 0 && (size_t)i < d->conf->n_stages && d->conf->stages[i].url)
		snprintf(out, len, "%s", d->conf->stages[i].url);
	else if (s && s->distribution_domain[0])
		snprintf(out, len, "https://%s/", s->distribution_domain);
	es_sanitize(out, false);
	return out[0] != '\0';
}

static const char *stage_name(struct es_dash *d, int i)
{
	const struct es_stage_view *s = i >= 0 ? es_ui_stage(&d->ui, (size_t)i) : NULL;
	return s ? s->name : "";
}

static void copy_text(struct es_dash *d, const char *what, const char *text)
{
	bool tmux = d->attn && d->attn->tmux;

	send_osc(d->attn, es_term_osc52(text, tmux));
	es_dash_message(d, false, "copied %s %s to the clipboard (OSC 52)", what, text);
}

static unsigned copy_selected(struct es_dash *d)
{
	char url[1024];

	if (d->ledger) {
		const struct es_record *r = es_ledger_view_selected(d->ledger);
		if (r && r->commit[0])
			copy_text(d, "commit", r->commit);
		else
			es_dash_message(d, false, "this record names no commit: nothing copied");
		return ES_REDRAW;
	}
	switch (d->ui.focus) {
	case ES_PANE_HISTORY: {
		const struct es_hist_commit *c = es_ui_selected_commit(&d->ui);
		if (c)
			copy_text(d, "commit", c->oid);
		else
			es_dash_message(d, false, "no commit selected: nothing copied");
		break;
	}
	case ES_PANE_STAGES:
	case ES_PANE_PROPAGATION:
	case ES_PANE_VALIDATION: {
		int i = es_ui_selected_stage(&d->ui);
		if (stage_url(d, i, url, sizeof(url)))
			copy_text(d, "URL", url);
		else
			es_dash_message(
			        d, true,
			        "%s has no URL yet: set url in its [stage] section or deploy it",
			        i >= 0 ? stage_name(d, i) : "no stage");
		break;
	}
	default:
		es_dash_message(d, false,
		                "y copies the commit in History or the stage URL in Stages");
		break;
	}
	return ES_REDRAW;
}

static unsigned open_selected(struct es_dash *d)
{
	char url[1024], prog[4096];
	int i = es_ui_selected_stage(&d->ui);

	if (!stage_url(d, i, url, sizeof(url))) {
		es_dash_message(d, true,
		                "%s has no URL yet: set url in its [stage] section or deploy it",
		                i >= 0 ? stage_name(d, i) : "no stage");
		return ES_REDRAW;
	}
	if (!find_program("xdg-open", prog, sizeof(prog))) {
		es_dash_message(d, false, "xdg-open not found; URL: %s", url);
		return ES_REDRAW;
	}
	char *argv[] = {prog, url, NULL};
	if (d->attn && spawn_quiet(d->attn, argv))
		es_dash_message(d, false, "opening %s", url);
	else
		es_dash_message(d, true, "xdg-open could not be started (%s); URL: %s",
		                strerror(errno), url);
	return ES_REDRAW;
}

static const struct es_record_list *model_records(const void *ctx)
{
	const struct es_dash *d = ctx;
	return d->model ? es_model_records(d->model, NULL) : NULL;
}

static unsigned open_ledger(struct es_dash *d)
{
	int i = es_ui_selected_stage(&d->ui);
	struct es_ledger_source src = {.ctx = d, .records = model_records};

	es_pager_free(d->pager);
	d->pager = NULL;
	es_ledger_view_free(d->ledger);
	d->ledger = es_ledger_view_new(&d->ui, src, i >= 0 ? stage_name(d, i) : NULL);
	if (!d->model)
		es_dash_message(d, false, "no ledger to show: %s",
		                d->conf ? "AWS is not reachable" : "no edgeship.conf");
	return ES_REDRAW;
}

unsigned es_attn_request(struct es_dash *d, enum es_request req)
{
	switch (req) {
	case ES_REQ_LEDGER:
		if (d->ledger && !d->pager) {
			es_ledger_view_free(d->ledger);
			d->ledger = NULL;
			return ES_REDRAW;
		}
		return open_ledger(d);
	case ES_REQ_LEDGER_ALL:
		if (d->ledger && !d->pager)
			es_ledger_view_toggle_all(d->ledger);
		else
			es_dash_message(d, false, "t chooses the stages in the ledger view (L)");
		return ES_REDRAW;
	case ES_REQ_COPY:
		if (d->pager) {
			es_dash_message(d, false,
			                "y copies from the panes or the ledger: Esc first");
			return ES_REDRAW;
		}
		return copy_selected(d);
	case ES_REQ_OPEN_URL: return open_selected(d);
	case ES_REQ_ENTER:
		if (!d->ledger || d->pager)
			return 0;
		d->pager = es_ledger_view_record(d->ledger);
		return ES_REDRAW;
	case ES_REQ_BACK:
	case ES_REQ_QUIT:
		if (!d->ledger || d->pager)
			return 0;
		es_ledger_view_free(d->ledger);
		d->ledger = NULL;
		return ES_REDRAW;
	default: return 0;
	}
}
