/* The dashboard: open what there is (repository, edgeship.conf, AWS), draw
 * the first frame at once, then run the one event loop: keys from stdin,
 * signals through a self-pipe, history in idle slices, the model's changes,
 * and script mode for tests. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "accounts.h"
#include "dash.h"
#include "job.h"
#include "dashboard.h"
#include "guard_dash.h"
#include "view_ledger.h"
#include "base/error.h"
#include "identity.h"
#include "kvfile.h"
#include "aws/client.h"
#include "base/timefmt.h"

static int sig_fd = -1;

static void on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (sig_fd >= 0 && write(sig_fd, &b, 1) < 0) {
		/* the pipe is full: a redraw is already due */
	}
	errno = saved;
}

/* ------------------------------------------------------------ live data */

/* The panes' source: the model once there is one, else what the dashboard
 * knows by itself (the configured stages, the lines logged so far). */
static size_t src_stage_count(const void *ctx)
{
	const struct es_dash *d = ctx;

	return d->model ? es_model_stage_count(d->model) : d->n_conf_stages;
}

static const struct es_stage_view *src_stage(const void *ctx, size_t i)
{
	const struct es_dash *d = ctx;

	if (d->model)
		return es_model_stage(d->model, i);
	return i < d->n_conf_stages ? &d->conf_stages[i] : NULL;
}

static size_t src_activity_count(const void *ctx)
{
	const struct es_dash *d = ctx;

	return d->model ? es_model_activity_count(d->model) : d->n_early_log;
}

static const struct es_activity *src_activity(const void *ctx, size_t i)
{
	const struct es_dash *d = ctx;

	if (d->model)
		return es_model_activity(d->model, i);
	return i < d->n_early_log ? &d->early_log[i] : NULL;
}

static const char *src_connection(const void *ctx)
{
	const struct es_dash *d = ctx;

	return d->model ? es_model_connection(d->model) : "";
}

/* Every activity line and every poll lands here: the panes read the model
 * when they draw, so a change costs only the redraw it asks for. */
static void on_model(struct es_model *m, unsigned what, void *ud)
{
	struct es_dash *d = ud;

	(void)m;
	(void)what;
	d->dirty = true;
}

/* Stages in more than one account: the title bar names each stage's
 * ("staging 111111111111 production 222222222222"), from the caller
 * identity of that stage's credentials; else the one account stays. */
static void stage_accounts(struct es_dash *d)
{
	char line[sizeof(d->account)] = "";
	const char *first = NULL;
	bool differ = false;
	size_t len = 0;

	for (size_t i = 0; d->conf && i < d->conf->n_stages; i++) {
		const struct es_caller_identity *id =
		        es_identity_cached(es_accounts_stage_client(d->aws, d->conf, i));
		const char *acct = id && id->account ? id->account : "?";
		differ = differ || (first && strcmp(first, acct) != 0);
		first = first ? first : acct;
		if (len < sizeof(line))
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s %s",
			                        i ? " " : "", d->conf->stages[i].name, acct);
	}
	if (differ)
		snprintf(d->account, sizeof(d->account), "%s", line);
}

static void on_stage_identity(int rc, const struct es_caller_identity *id,
                              const struct es_error *err, void *ud)
{
	struct es_dash *d = ud;
	char line[1400];

	(void)id;
	if (rc)
		es_dash_log(d, ES_ACT_WARN, "who am I in a stage's account (STS): %s",
		            es_error_format(err, line, sizeof(line)));
	stage_accounts(d);
	d->dirty = true;
}

/* The client's shared caller identity: the model's ledger and every action
 * use the same answer, so the console asks STS once. */
static void on_identity(int rc, const struct es_caller_identity *id, const struct es_error *err,
                        void *ud)
{
	struct es_dash *d = ud;
	char line[1400];

	if (rc == ES_OK) {
		snprintf(d->identity, sizeof(d->identity), "%s", id->arn);
		snprintf(d->account, sizeof(d->account), "%s", id->account);
		stage_accounts(d);
	} else {
		snprintf(d->identity, sizeof(d->identity), "identity unknown");
		es_dash_log(d, ES_ACT_WARN, "who am I (STS): %s",
		            es_error_format(err, line, sizeof(line)));
	}
	d->dirty = true;
}

/* Credentials resolved (off the loop: files, a process or metadata). */
static void on_credentials(const struct es_credentials *cr, const struct es_error *err, void *ud)
{
	struct es_dash *d = ud;
	char line[1400];

	if (!cr) {
		snprintf(d->credentials, sizeof(d->credentials), "no AWS credentials: %s",
		         es_error_format(err, line, sizeof(line)));
		snprintf(d->identity, sizeof(d->identity), "no credentials");
	} else {
		snprintf(d->credentials, sizeof(d->credentials), "credentials: %s", cr->source);
		if (es_identity_get(d->aws, on_identity, d) == ES_OK)
			snprintf(d->identity, sizeof(d->identity), "asking STS who we are\u2026");
		/* A stage in an account of its own: who we are there. */
		for (size_t i = 0; d->conf && i < d->conf->n_stages; i++) {
			struct es_aws_client *sc = es_accounts_stage_client(d->aws, d->conf, i);
			if (sc != d->aws)
				es_identity_get(sc, on_stage_identity, d);
		}
	}
	d->dirty = true;
}

/* After the first frame: credentials and then the caller identity (both
 * asynchronous) and the model's polling. */
static void after_first_frame(struct es_loop *loop, void *ud)
{
	struct es_dash *d = ud;
	const struct es_endpoint *ep;
	char line[1400];

	(void)loop;
	if (!d->aws)
		return;
	ep = es_aws_endpoint(d->aws, "cloudformation");
	if (ep)
		snprintf(d->endpoint, sizeof(d->endpoint), "%s", ep->url);
	if (es_aws_credentials_async(d->aws, on_credentials, d) != ES_OK)
		on_credentials(NULL, es_error_last(), d);
	if (d->conf && !d->model) {
		if (es_model_new(d->aws, d->conf, &d->model) == ES_OK) {
			es_model_set_read_only(d->model, d->cli->read_only);
			/* keep what was logged before the model existed; from now
			 * on the panes read the model */
			for (size_t i = 0; i < d->n_early_log; i++)
				es_model_log(d->model, d->early_log[i].level, "%s",
				             d->early_log[i].text);
			d->n_early_log = 0;
			free(d->conf_stages);
			d->conf_stages = NULL;
			d->n_conf_stages = 0;
			es_model_on_change(d->model, on_model, d);
			es_dash_cleanup_start(d);
			es_dash_drift_start(d);
		} else {
			es_dash_log(d, ES_ACT_ERROR, "cannot follow the stages: %s",
			            es_error_format(es_error_last(), line, sizeof(line)));
		}
	}
	d->dirty = true;
}

static void tick(struct es_loop *loop, void *ud)
{
	struct es_dash *d = ud;

	/* What is relative to the clock moves on every second; the refs are
	 * looked at as often (a stat and two small reads). */
	d->ui.now = es_time_now();
	if (d->model)
		es_model_tick(d->model);
	es_dash_watch_history(d);
	es_actions_tick(d);
	d->dirty = true;
	es_loop_timer(loop, 1000, tick, d);
}

/* ------------------------------------------------------------ drawing */

/* ES_TIMING: a key read (or a resize seen) waits for the frame that shows
 * it; draw() then writes when that frame reached the terminal. */
static void note_key(struct es_dash *d)
{
	if (!d->timing)
		return;
	if (!d->key_ms)
		d->key_ms = es_loop_now_ms();
	d->keys_undrawn++;
	d->dirty = true;
}

/* After doupdate(): "key-drawn MS" once per key read since the last frame
 * and "resize-drawn MS" (or "signal-drawn MS" after Ctrl-C, SIGTERM, SIGHUP),
 * MS on CLOCK_MONOTONIC (what Python's
 * time.monotonic() reads), so a driver can subtract when it sent the key. */
static void log_frame(struct es_dash *d)
{
	int64_t now = es_loop_now_ms();

	if (!d->first_frame_done)
		fprintf(d->timing, "first-frame %lld ms\n", (long long)(now - d->start_ms));
	if (d->key_ms) {
		fprintf(d->timing, "key-to-screen %lld ms\n", (long long)(now - d->key_ms));
		d->key_ms = 0;
	}
	for (; d->keys_undrawn > 0; d->keys_undrawn--)
		fprintf(d->timing, "key-drawn %lld\n", (long long)now);
	if (d->resize_undrawn) {
		fprintf(d->timing, "resize-drawn %lld\n", (long long)now);
		d->resize_undrawn = false;
	}
	if (d->signal_undrawn) {
		fprintf(d->timing, "signal-drawn %lld\n", (long long)now);
		d->signal_undrawn = false;
	}
	fflush(d->timing);
}

static void draw(struct es_dash *d)
{
	bool shown[ES_DASH_DIALOGS] = {false};

	d->ui.now = es_time_now();
	es_ui_draw(&d->ui);
	if (COLS >= ES_UI_MIN_COLS && LINES >= ES_UI_MIN_LINES) {
		if (d->ledger)
			es_ledger_view_draw(d->ledger);
		if (d->pager)
			es_pager_draw(d->pager);
		for (int i = 0; i < d->n_dialogs; i++)
			shown[i] = es_dialog_draw(d->dialogs[i]);
	}
	wnoutrefresh(stdscr);
	doupdate();
	/* a question on the screen now may be answered; not one before */
	for (int i = 0; i < d->n_dialogs; i++)
		if (shown[i])
			es_dialog_arm(d->dialogs[i]);
	d->dirty = false;
	if (d->timing)
		log_frame(d);
	d->first_frame_done = true;
}

static void resize_to_terminal(struct es_dash *d)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
	d->resize_undrawn = d->timing != NULL;
	d->dirty = true;
}

/* ------------------------------------------------------------ keys */

static struct es_view *active_view(struct es_dash *d)
{
	return d->pager    ? &d->pager->view
	       : d->ledger ? &d->ledger->view
	                   : &d->ui.views[d->ui.focus];
}

static bool search_check(const char *input, char *why, size_t len)
{
	(void)input;
	(void)why;
	(void)len;
	return true;
}

static void on_search(struct es_dialog *dlg, bool ok, const char *text, int choice, void *ud)
{
	struct es_dash *d = ud;

	(void)dlg;
	(void)choice;
	if (!ok || !*text)
		return;
	snprintf(d->ui.search, sizeof(d->ui.search), "%s", text);
	if (!es_view_search(active_view(d), d->ui.search, 1))
		es_dash_message(d, true, "not found: %s", d->ui.search);
	else
		es_dash_message(d, false, "/%s", d->ui.search);
}

static void open_commit(struct es_dash *d)
{
	const struct es_hist_commit *c = es_ui_selected_commit(&d->ui);
	struct es_commit_detail det;

	if (!c)
		return;
	memset(&det, 0, sizeof(det));
	if (es_repo_commit_detail(d->repo, c->oid, 256 * 1024, &det) != ES_OK) {
		es_dash_fail(d, "reading the commit");
		return;
	}
	es_pager_free(d->pager);
	d->pager = es_pager_commit(&d->ui, &det);
	es_commit_detail_free(&det);
}

/* The selected Activity line, whole, with what happened around it. */
static void open_activity(struct es_dash *d)
{
	struct es_view *v = &d->ui.views[ES_PANE_ACTIVITY];
	size_t n = es_ui_activity_count(&d->ui);

	if (!n)
		return;
	es_pager_free(d->pager);
	d->pager = es_pager_activity(&d->ui, v->cursor < n ? v->cursor : n - 1);
}

static unsigned handle_request(struct es_dash *d, enum es_request req)
{
	const struct es_request_info *ri = es_request_info(req);
	struct es_view *v = active_view(d);
	unsigned r;

	if (!ri)
		return 0;
	if ((r = es_attn_request(d, req)) || (r = es_pipeline_view_request(d, req)) ||
	    (r = es_canary_view_request(d, req)))
		return r;
	if (ri->flags & ES_REQ_MOVE && req != ES_REQ_SEARCH && req != ES_REQ_FIND_NEXT &&
	    req != ES_REQ_FIND_PREV)
		return es_view_request(v, req);
	switch (req) {
	case ES_REQ_NEXT_PANE:
	case ES_REQ_PREV_PANE:
		if (d->pager)
			return 0;
		d->ui.focus = (enum es_pane)(
		        (d->ui.focus + (req == ES_REQ_NEXT_PANE ? 1 : ES_PANE_COUNT - 1)) %
		        ES_PANE_COUNT);
		return ES_REDRAW;
	case ES_REQ_ENTER:
		if (!d->pager && d->ui.focus == ES_PANE_HISTORY)
			open_commit(d);
		else if (!d->pager && d->ui.focus == ES_PANE_ACTIVITY)
			open_activity(d);
		return ES_REDRAW;
	case ES_REQ_BACK:
	case ES_REQ_QUIT:
		if (d->pager) {
			es_pager_free(d->pager);
			d->pager = NULL;
			return ES_REDRAW;
		}
		if (req == ES_REQ_QUIT)
			es_actions_quit(d, true);
		return ES_REDRAW;
	case ES_REQ_SEARCH: {
		struct es_dialog *dlg =
		        es_dialog_new(ES_DLG_PROMPT, "Search", "Search for:", on_search, d);
		if (dlg) {
			dlg->check = search_check;
			snprintf(dlg->input, sizeof(dlg->input), "%s", d->ui.search);
		}
		es_dash_push(d, dlg);
		return ES_REDRAW;
	}
	case ES_REQ_FIND_NEXT:
	case ES_REQ_FIND_PREV:
		if (!d->ui.search[0])
			es_dash_message(d, false, "no search yet: press / first");
		else if (!es_view_search(v, d->ui.search, req == ES_REQ_FIND_NEXT ? 1 : -1))
			es_dash_message(d, true, "not found: %s", d->ui.search);
		return ES_REDRAW;
	case ES_REQ_REFRESH:
		/* everything: the history from the refs as they are now too */
		es_dash_reload_history(d);
		if (d->model) {
			es_model_refresh(d->model);
			es_dash_message(d, false, "refreshing\u2026");
		} else {
			es_dash_message(d, true, "nothing to refresh: %s",
			                d->conf ? "no AWS client" : "no edgeship.conf");
		}
		return ES_REDRAW | ES_REFRESH;
	case ES_REQ_DRIFT: es_dash_drift_check(d, d->ui.stage_sel); return ES_REDRAW;
	case ES_REQ_GUARD_ERRORS: es_dash_guard_errors(d); return ES_REDRAW;
	case ES_REQ_REDRAW: clearok(curscr, TRUE); return ES_REDRAW;
	case ES_REQ_HELP:
		es_pager_free(d->pager);
		d->pager = es_pager_help(&d->ui, &d->keymap, d->cli->read_only);
		return ES_REDRAW;
	default: break;
	}
	if (req == ES_REQ_GUARD_ROLLBACK) {
		if (es_actions_allowed(d, req))
			es_dash_guard_rollback(d);
		return ES_REDRAW;
	}
	if (ri->flags & ES_REQ_MUTATING) {
		es_actions_request(d, req);
		return ES_REDRAW;
	}
	r = 0;
	return r;
}

static void handle_key(struct es_dash *d, int key)
{
	if (key == KEY_RESIZE) {
		d->dirty = true;
		return;
	}
	if (COLS < ES_UI_MIN_COLS || LINES < ES_UI_MIN_LINES) {
		/* No room to ask: q leaves only when nothing is running. */
		if ((key == 'q' || es_keymap_lookup(&d->keymap, key) == ES_REQ_QUIT) &&
		    !es_actions_running(d))
			d->quit = true;
		return;
	}
	d->ui.message[0] = 0;
	d->dirty = true;
	if (d->n_dialogs) {
		struct es_dialog *dlg = d->dialogs[d->n_dialogs - 1];
		if (!dlg->armed) {
			/* typed ahead (before the question was drawn): never an answer */
			es_dash_ignore_key(d, dlg, key);
			return;
		}
		if (es_dialog_key(dlg, key)) {
			d->n_dialogs--;
			es_dialog_finish(dlg);
			es_dialog_free(dlg);
		}
		return;
	}
	enum es_request req = es_keymap_lookup(&d->keymap, key);
	if (req == ES_REQ_NONE) {
		char name[16];
		es_dash_message(d, false, "%s is not bound (? shows the keys)",
		                es_key_name(key, name, sizeof(name)));
		return;
	}
	if (handle_request(d, req) & ES_QUIT)
		d->quit = true;
}

/* End a story played on a terminal: from here on the keys are the
 * person's, as if the console had been opened without a script. */
static void script_hand_over(struct es_dash *d, const char *why)
{
	es_script_free(d->script);
	d->script = NULL;
	d->script_wait_until = 0;
	d->script_idle_since = 0;
	es_dash_log(d, ES_ACT_INFO, "%s: the console is yours", why);
	es_dash_message(d, false, "%s: the console is yours (? lists the keys, q quits)", why);
	d->dirty = true;
}

static void on_stdin(struct es_loop *loop, int fd, short revents, void *ud)
{
	struct es_dash *d = ud;
	wint_t wc;
	int rc;

	(void)loop;
	(void)fd;
	(void)revents;
	while ((rc = get_wch(&wc)) != ERR) {
		int key = (int)wc;
		if (rc == OK && wc >= KEY_MIN && wc <= KEY_MAX)
			key = (int)wc | 0x1000000; /* a character, not a key code */
		if (key == KEY_RESIZE)
			d->resize_undrawn = d->timing != NULL; /* not typed: no key-drawn */
		else
			note_key(d);
		if (d->script) /* only a story reads the keyboard while scripted */
			script_hand_over(d, "story stopped");
		handle_key(d, key);
		if (d->quit)
			break;
	}
}

static void on_sigpipe(struct es_loop *loop, int fd, short revents, void *ud)
{
	struct es_dash *d = ud;
	unsigned char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)loop;
	(void)revents;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == SIGWINCH)
			d->resized = true;
		else { /* Ctrl-C asks like q; SIGTERM and SIGHUP detach at once */
			d->signal_undrawn = d->timing != NULL;
			es_actions_quit(d, buf[i] == SIGINT);
		}
		d->dirty = true;
	}
}

/* ------------------------------------------------------------ script mode */

static bool settled(struct es_dash *d)
{
	/* Background jobs (validations, invalidations) count as work. */
	return es_loop_is_idle(d->loop) && (!d->model || !es_model_busy(d->model)) &&
	       !d->history.loading && (!d->deploy || d->n_dialogs) && d->n_jobs == 0 &&
	       !d->cleanup && !d->cleanup_first && !d->drift_job && !d->pl_loading &&
	       !d->cn_loading && !es_dash_guard_busy(d);
}

/* A dialog is on the screen (drawn, so it takes keys). */
static bool dialog_shown(const struct es_dash *d)
{
	return d->n_dialogs && d->dialogs[d->n_dialogs - 1]->armed;
}

/* Whether the item waits for the loop to settle before it runs. */
static bool script_waits(const struct es_script_item *it)
{
	switch (it->kind) {
	case ES_SCRIPT_WAIT_IDLE: return true;
	case ES_SCRIPT_KEY:
	case ES_SCRIPT_DUMP: return !it->nowait && !it->burst;
	default: return false;
	}
}

/* The keys of one :now line, at once and without a redraw between them,
 * as one read from a terminal would bring them. */
static void feed_burst(struct es_dash *d, int burst)
{
	const struct es_script_item *it;

	while ((it = es_script_peek(d->script)) && it->kind == ES_SCRIPT_KEY &&
	       it->burst == burst && !d->quit) {
		note_key(d);
		handle_key(d, it->key);
		es_script_advance(d->script);
	}
}

/* Feed the script; false when it is finished. */
static bool script_step(struct es_dash *d)
{
	const struct es_script_item *it = es_script_peek(d->script);
	int64_t now = es_loop_now_ms();
	bool ready;

	/* a :sleep runs out first, even as the script's last line */
	if (d->script_wait_until && now < d->script_wait_until)
		return true;
	if (!it)
		return false;
	if (it->kind == ES_SCRIPT_WAIT_TEXT && d->dirty)
		draw(d);
	ready = it->kind == ES_SCRIPT_WAIT_DIALOG ? dialog_shown(d)
	        : it->kind == ES_SCRIPT_WAIT_TEXT ? es_scr_shows(it->path)
	        : script_waits(it)                ? settled(d)
	                                          : true;
	if (!ready) {
		/* never wait forever: a stuck request is reported, not hung on */
		if (!d->script_idle_since)
			d->script_idle_since = now;
		if (now - d->script_idle_since < it->ms)
			return true;
		if (it->kind == ES_SCRIPT_WAIT_TEXT)
			fprintf(stderr, "%s:%d: \"%s\" not on the screen after %ld ms; going on\n",
			        d->script->file, it->line, it->path, it->ms);
		else
			fprintf(stderr, "%s:%d: %s after %ld ms; going on\n", d->script->file,
			        it->line,
			        it->kind == ES_SCRIPT_WAIT_DIALOG ? "no dialog on the screen"
			                                          : "still busy",
			        it->ms);
		if (it->kind == ES_SCRIPT_WAIT_DIALOG || it->kind == ES_SCRIPT_WAIT_TEXT)
			d->exit_code = ES_EXIT_FAILURE;
	}
	d->script_idle_since = 0;
	d->script_wait_until = 0;
	if (d->dirty)
		draw(d);
	switch (it->kind) {
	case ES_SCRIPT_KEY:
		if (it->burst) {
			feed_burst(d, it->burst);
			return true;
		}
		note_key(d);
		handle_key(d, it->key);
		break;
	case ES_SCRIPT_WAIT_IDLE:
	case ES_SCRIPT_WAIT_DIALOG:
	case ES_SCRIPT_WAIT_TEXT: break;
	case ES_SCRIPT_SLEEP: d->script_wait_until = now + it->ms; break;
	case ES_SCRIPT_DUMP:
		draw(d);
		if (es_scr_dump_path(it->path) != 0) {
			fprintf(stderr, "%s:%d: cannot write %s: %s\n", d->script->file, it->line,
			        it->path, strerror(errno));
			d->exit_code = ES_EXIT_FAILURE;
		}
		break;
	case ES_SCRIPT_RESIZE:
		resizeterm(it->lines, it->cols);
		d->resize_undrawn = d->timing != NULL;
		d->dirty = true;
		break;
	}
	es_script_advance(d->script);
	return true;
}

/* ------------------------------------------------------------ setup */

static void user_config_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && *xdg)
		snprintf(buf, len, "%s/edgeship/config", xdg);
	else
		snprintf(buf, len, "%s/.config/edgeship/config", home ? home : ".");
}

struct prefs {
	char theme[256];
};

static void on_pref(const char *section, const char *sub, const char *key, const char *value,
                    void *ud)
{
	struct prefs *p = ud;

	(void)sub;
	if (strcmp(section, "ui") == 0 && strcmp(key, "theme") == 0)
		snprintf(p->theme, sizeof(p->theme), "%s", value);
}

static int open_screen(struct es_dash *d)
{
	if (d->script && !isatty(STDOUT_FILENO)) {
		/* tests: draw into nothing, size from $COLUMNS/$LINES */
		const char *term = getenv("TERM");
		FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
		if (!term || !*term || strcmp(term, "dumb") == 0)
			term = "xterm-256color";
		if (!out || !in || !newterm(term, out, in)) {
			fprintf(stderr, "edgeship: cannot open a screen for terminal '%s'\n", term);
			return -1;
		}
	} else {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			fprintf(stderr,
			        "edgeship: the dashboard needs a terminal (use a command such as "
			        "`edgeship status`, or --script for tests)\n");
			return -1;
		}
		initscr();
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	return 0;
}

static void setup_theme(struct es_dash *d)
{
	char path[4096], err[1400];
	struct prefs p = {""};
	const char *nc = getenv("NO_COLOR");

	user_config_path(path, sizeof(path));
	es_theme_defaults((nc && *nc) || !has_colors());
	if (es_keymap_load(&d->keymap, path, err, sizeof(err)) != ES_ENOTFOUND && err[0])
		es_dash_log(d, ES_ACT_WARN, "%s", err);
	es_attn_setup(d, path);
	(void)es_kvfile_read(path, on_pref, &p);
	const char *theme = d->cli->theme ? d->cli->theme : p.theme[0] ? p.theme : NULL;
	if (theme && es_theme_use(theme, err, sizeof(err)) != ES_OK) {
		es_dash_log(d, ES_ACT_WARN, "%s", err);
		es_dash_message(d, true, "%s", err);
	}
	es_theme_apply();
}

/* Repository, configuration and AWS: whatever is missing is said, not fatal
 * (except the repository). */
static int open_sources(struct es_dash *d)
{
	char path[4096], line[1400];
	int rc;

	rc = es_repo_discover(NULL, &d->repo);
	if (rc) {
		fprintf(stderr, "edgeship: %s\n",
		        es_error_format(es_error_last(), line, sizeof(line)));
		return rc;
	}
	const char *root = es_repo_root(d->repo), *base = strrchr(root, '/');
	snprintf(d->app, sizeof(d->app), "%s", base ? base + 1 : root);
	snprintf(path, sizeof(path), "%s/%s", root, ES_CONFIG_FILE);
	rc = es_config_load(path, &d->conf);
	if (rc == ES_ENOTFOUND) {
		snprintf(d->conf_note, sizeof(d->conf_note),
		         "no %s here: run `edgeship init` to write one; showing the history only",
		         ES_CONFIG_FILE);
		d->conf = NULL;
	} else if (rc) {
		snprintf(d->conf_note, sizeof(d->conf_note), "%s",
		         es_error_format(es_error_last(), line, sizeof(line)));
		d->conf = NULL;
	} else if (d->conf->app) {
		snprintf(d->app, sizeof(d->app), "%s", d->conf->app);
	}
	if (d->conf_note[0])
		es_dash_log(d, ES_ACT_WARN, "%s", d->conf_note);
	d->loop = es_loop_new();
	if (!d->loop) {
		fprintf(stderr, "edgeship: cannot create the event loop\n");
		return ES_ERR;
	}
	es_dash_guard_loop(d->loop);
	struct es_aws_options o = {.profile = d->cli->profile,
	                           .region = d->cli->region ? d->cli->region
	                                     : d->conf      ? d->conf->region
	                                                    : NULL,
	                           .lazy_credentials = true};
	if (es_aws_open(d->loop, &o, &d->aws) != ES_OK) {
		snprintf(d->credentials, sizeof(d->credentials), "AWS unavailable: %s",
		         es_error_format(es_error_last(), line, sizeof(line)));
		es_dash_log(d, ES_ACT_ERROR, "%s", d->credentials);
		d->aws = NULL;
	} else {
		snprintf(d->region, sizeof(d->region), "%s", es_aws_region(d->aws));
		/* Stages in accounts of their own: a profile edgeship.conf
		 * names that does not exist is said now. */
		if (d->conf && es_accounts_open_all(d->aws, d->conf) != ES_OK)
			es_dash_log(d, ES_ACT_ERROR, "%s",
			            es_error_format(es_error_last(), line, sizeof(line)));
	}
	return ES_OK;
}

static void wire_ui(struct es_dash *d)
{
	es_ui_init(&d->ui);
	d->ui.source = (struct es_ui_source){
	        .ctx = d,
	        .stage_count = src_stage_count,
	        .stage = src_stage,
	        .activity_count = src_activity_count,
	        .activity = src_activity,
	        .connection = src_connection,
	};
	d->ui.history = &d->history;
	d->ui.app = d->app;
	d->ui.identity = d->identity;
	d->ui.account = d->account;
	d->ui.region = d->region;
	d->ui.endpoint = d->endpoint;
	d->ui.credentials = d->credentials;
	d->ui.conf_note = d->conf_note;
	d->ui.read_only = d->cli->read_only;
	d->ui.keymap = &d->keymap;
	d->ui.now = es_time_now();
	if (d->conf) {
		/* until the model answers: the stages by name */
		size_t n = d->conf->n_stages;
		d->conf_stages = calloc(n ? n : 1, sizeof(*d->conf_stages));
		if (d->conf_stages) {
			d->n_conf_stages = n;
			for (size_t i = 0; i < n; i++) {
				struct es_stage_view *s = &d->conf_stages[i];
				const struct es_stage_conf *sc = &d->conf->stages[i];
				snprintf(s->name, sizeof(s->name), "%s", sc->name);
				snprintf(s->stack, sizeof(s->stack), "%s",
				         sc->stack ? sc->stack : "");
				snprintf(s->stack_status, sizeof(s->stack_status), "UNKNOWN");
				s->prop_estimate_s = -1;
			}
		}
	}
}

static void close_all(struct es_dash *d)
{
	es_actions_free(d);
	es_dash_cleanup_free(d);
	es_dash_drift_free(d);
	es_attn_free(d);
	for (int i = 0; i < d->n_dialogs; i++)
		es_dialog_free(d->dialogs[i]);
	es_pipeline_view_stop(d);
	es_canary_view_stop(d);
	es_pager_free(d->pager);
	es_dash_guard_free(d);
	if (d->hist_iter)
		es_history_close(d->hist_iter);
	es_model_free(d->model);
	es_aws_client_free(d->aws);
	/* Script mode says whether anything waited on the screen's loop. */
	if (d->script && d->loop)
		fprintf(stderr, "edgeship: %lu blocking wait%s on the screen's loop\n",
		        es_loop_ui_blocks(d->loop), es_loop_ui_blocks(d->loop) == 1 ? "" : "s");
	es_loop_free(d->loop);
	/* A job still running past the quit's wait reads the configuration
	 * until its thread ends with the process: leave it to the exit. */
	if (es_job_count() == 0)
		es_config_free(d->conf);
	es_repo_free(d->repo);
	es_history_list_free(&d->history);
	es_script_free(d->script);
	free(d->conf_stages);
	if (d->timing) {
		/* a driver timing a quit reads when the dashboard was done */
		fprintf(d->timing, "exit %lld\n", (long long)es_loop_now_ms());
		fclose(d->timing);
	}
	if (d->sig_pipe[0] > 0) {
		close(d->sig_pipe[0]);
		close(d->sig_pipe[1]);
	}
}

int es_dashboard_main(struct es_cli *cli)
{
	struct es_dash *d = calloc(1, sizeof(*d));
	char err[1400];
	int code;

	if (!d)
		return ES_EXIT_FAILURE;
	d->cli = cli;
	d->start_ms = es_loop_now_ms();
	if (getenv("ES_TIMING") && *getenv("ES_TIMING"))
		d->timing = fopen(getenv("ES_TIMING"), "a");
	if (cli->script && es_script_load(cli->script, &d->script, err, sizeof(err)) != ES_OK) {
		fprintf(stderr, "edgeship: %s\n", err);
		free(d);
		return ES_EXIT_USAGE;
	}
	d->script_handover = d->script && getenv("ES_SCRIPT_HANDOVER") &&
	                     *getenv("ES_SCRIPT_HANDOVER") && isatty(STDIN_FILENO) &&
	                     isatty(STDOUT_FILENO);
	es_keymap_defaults(&d->keymap);
	if (open_sources(d) != ES_OK) {
		close_all(d);
		free(d);
		return ES_EXIT_FAILURE;
	}
	wire_ui(d);
	if (open_screen(d) != 0) {
		close_all(d);
		free(d);
		return ES_EXIT_FAILURE;
	}
	setup_theme(d);
	draw(d); /* the first frame, before any git or network work */

	if (pipe(d->sig_pipe) == 0) {
		fcntl(d->sig_pipe[0], F_SETFL, O_NONBLOCK);
		fcntl(d->sig_pipe[1], F_SETFL, O_NONBLOCK);
		fcntl(d->sig_pipe[0], F_SETFD, FD_CLOEXEC);
		fcntl(d->sig_pipe[1], F_SETFD, FD_CLOEXEC);
		sig_fd = d->sig_pipe[1];
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGWINCH, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		es_loop_watch_fd(d->loop, d->sig_pipe[0], POLLIN, on_sigpipe, d);
	}
	if (!d->script || d->script_handover)
		es_loop_watch_fd(d->loop, STDIN_FILENO, POLLIN, on_stdin, d);
	es_dash_reload_history(d);
	es_loop_timer(d->loop, 0, after_first_frame, d);
	es_loop_timer(d->loop, 1000, tick, d);

	while (!d->quit) {
		if (d->resized) {
			d->resized = false;
			resize_to_terminal(d);
		}
		if (d->dirty)
			draw(d);
		es_actions_reap(d);
		es_attn_poll(d);
		es_dash_guard_poll(d);
		if (es_actions_quit_ready(d))
			break;
		if (d->script) {
			/* a script that ends while quitting waits like q does */
			if (!script_step(d) && !d->quitting) {
				if (!d->script_handover)
					break;
				script_hand_over(d, "the story is over");
			}
			if (d->dirty)
				draw(d);
		}
		if (d->quit)
			break;
		/* a script polls; people wake the loop with keys */
		if (es_loop_turn(d->loop, d->script ? 10 : 1000) != ES_OK && !d->script)
			continue;
	}
	sig_fd = -1;
	signal(SIGWINCH, SIG_DFL);
	endwin();
	if (d->exit_note[0])
		fprintf(stderr, "edgeship: %s\n", d->exit_note);
	code = d->exit_code;
	close_all(d);
	free(d);
	return code;
}
