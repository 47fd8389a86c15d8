/* Running the build command: a child in a process group of its own, its
 * output read from a pipe the loop watches, reaped by a short timer (a
 * grandchild that keeps the pipe open cannot hold the build up), and its
 * whole group killed on timeout or cancel. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <unistd.h>

#include "base/error.h"
#include "base/text.h"
#include "build.h"

#define LINE_MAX_BYTES 4096 /* a longer line is shown in pieces */
#define REAP_EVERY_MS  25
#define DEFAULT_PATH   "/usr/local/bin:/usr/bin:/bin"

struct es_build {
	struct es_loop *loop;
	char *command;
	long timeout_ms;
	pid_t pid;
	int fd;      /* the pipe's read end, -1 once closed */
	bool reaped; /* waitpid saw the end */
	int wstatus;
	int64_t started_ms;
	uint64_t reap_timer, timeout_timer;
	char home[4096]; /* the temporary HOME */
	char line[LINE_MAX_BYTES + 1];
	size_t line_len;
	char *tail[ES_BUILD_TAIL_LINES]; /* a ring of the last lines */
	size_t n_lines;
	es_build_line_fn on_line;
	es_build_done_fn done;
	void *ud;
	struct es_build_result res;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void es_build_result_free(struct es_build_result *r)
{
	if (!r)
		return;
	free(r->tail);
	memset(r, 0, sizeof(*r));
}

static void emit_line(struct es_build *b)
{
	b->line[b->line_len] = '\0';
	if (b->line_len && b->line[b->line_len - 1] == '\r')
		b->line[--b->line_len] = '\0';
	es_sanitize(b->line, false);
	size_t slot = b->n_lines++ % ES_BUILD_TAIL_LINES;
	free(b->tail[slot]);
	b->tail[slot] = strdup(b->line);
	if (b->on_line)
		b->on_line(b->line, b->ud);
	b->line_len = 0;
}

static void take_bytes(struct es_build *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			emit_line(b);
			continue;
		}
		b->line[b->line_len++] = p[i];
		if (b->line_len == LINE_MAX_BYTES)
			emit_line(b);
	}
}

/* Read what the pipe holds now; true at its end. */
static bool drain(struct es_build *b)
{
	char buf[16384];

	while (b->fd >= 0) {
		ssize_t n = read(b->fd, buf, sizeof(buf));
		if (n > 0) {
			take_bytes(b, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		es_loop_unwatch_fd(b->loop, b->fd);
		close(b->fd);
		b->fd = -1;
	}
	return true;
}

static char *tail_text(const struct es_build *b)
{
	size_t first = b->n_lines > ES_BUILD_TAIL_LINES ? b->n_lines - ES_BUILD_TAIL_LINES : 0;
	size_t len = 1;
	char *out;

	for (size_t i = first; i < b->n_lines; i++) {
		const char *l = b->tail[i % ES_BUILD_TAIL_LINES];
		len += (l ? strlen(l) : 0) + 1;
	}
	if (!(out = malloc(len)))
		return NULL;
	out[0] = '\0';
	for (size_t i = first; i < b->n_lines; i++) {
		const char *l = b->tail[i % ES_BUILD_TAIL_LINES];
		strcat(out, l ? l : "");
		if (i + 1 < b->n_lines)
			strcat(out, "\n");
	}
	return out;
}

/* The failure's sentence: the command, how it ended, and as many of the
 * last lines as the message holds (each cut to a reasonable width). */
static int build_failure(const struct es_build *b)
{
	char how[200], shown[700] = "";
	size_t used = 0;
	const struct es_build_result *r = &b->res;

	if (r->cancelled)
		snprintf(how, sizeof(how), "was stopped (cancelled) after %.1f s",
		         r->duration_ms / 1000.0);
	else if (r->timed_out)
		snprintf(how, sizeof(how),
		         "ran past its time limit (build-timeout = %lds) and its process group was "
		         "killed",
		         b->timeout_ms / 1000);
	else if (r->signal)
		snprintf(how, sizeof(how), "was killed by signal %d (%s) after %.1f s", r->signal,
		         strsignal(r->signal), r->duration_ms / 1000.0);
	else
		snprintf(how, sizeof(how), "exited with status %d after %.1f s", r->exit_status,
		         r->duration_ms / 1000.0);
	/* Newest lines first into the budget, then shown oldest first. */
	size_t first = b->n_lines > ES_BUILD_TAIL_LINES ? b->n_lines - ES_BUILD_TAIL_LINES : 0;
	size_t from = b->n_lines;
	while (from > first) {
		const char *l = b->tail[(from - 1) % ES_BUILD_TAIL_LINES];
		size_t len = l ? strlen(l) : 0;
		if (len > 160)
			len = 160;
		if (used + len + 4 >= sizeof(shown))
			break;
		used += len + 4;
		from--;
	}
	used = 0;
	for (size_t i = from; i < b->n_lines; i++) {
		const char *l = b->tail[i % ES_BUILD_TAIL_LINES];
		int n = snprintf(shown + used, sizeof(shown) - used, "\n  | %.160s", l ? l : "");
		if (n < 0 || (size_t)n >= sizeof(shown) - used)
			break;
		used += (size_t)n;
	}
	return es_fail(r->cancelled ? ES_ECANCELLED : ES_ERR, "build `%.200s` %s%s%s", b->command,
	               how, b->n_lines ? "; its last lines:" : " without any output", shown);
}

static void build_free(struct es_build *b)
{
	if (b->fd >= 0) {
		es_loop_unwatch_fd(b->loop, b->fd);
		close(b->fd);
	}
	if (b->reap_timer)
		es_loop_timer_cancel(b->loop, b->reap_timer);
	if (b->timeout_timer)
		es_loop_timer_cancel(b->loop, b->timeout_timer);
	if (b->home[0])
		nftw(b->home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < ES_BUILD_TAIL_LINES; i++)
		free(b->tail[i]);
	free(b->command);
	es_build_result_free(&b->res);
	free(b);
}

static void finish(struct es_build *b)
{
	int rc = ES_OK;

	/* Whatever its children left running goes with it. */
	kill(-b->pid, SIGKILL);
	drain(b);
	if (b->line_len)
		emit_line(b);
	b->res.duration_ms = (long)(es_loop_now_ms() - b->started_ms);
	if (WIFEXITED(b->wstatus))
		b->res.exit_status = WEXITSTATUS(b->wstatus);
	else if (WIFSIGNALED(b->wstatus))
		b->res.signal = WTERMSIG(b->wstatus);
	b->res.tail = tail_text(b);
	if (b->res.timed_out || b->res.cancelled || b->res.signal || b->res.exit_status != 0)
		rc = build_failure(b);
	else
		es_error_clear();
	b->done(rc, &b->res, b->ud);
	build_free(b);
}

static void on_reap(struct es_loop *loop, void *ud);

static void check_reaped(struct es_build *b)
{
	pid_t p;

	do
		p = waitpid(b->pid, &b->wstatus, WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == b->pid || (p < 0 && errno == ECHILD)) {
		b->reaped = true;
		if (p < 0)
			b->wstatus = 0xff00; /* reaped elsewhere: status unknown, 255 */
		finish(b);
		return;
	}
	b->reap_timer = es_loop_timer(b->loop, REAP_EVERY_MS, on_reap, b);
}

static void on_reap(struct es_loop *loop, void *ud)
{
	struct es_build *b = ud;

	(void)loop;
	b->reap_timer = 0;
	check_reaped(b);
}

static void on_output(struct es_loop *loop, int fd, short revents, void *ud)
{
	struct es_build *b = ud;

	(void)loop;
	(void)fd;
	(void)revents;
	drain(b);
}

static void on_timeout(struct es_loop *loop, void *ud)
{
	struct es_build *b = ud;

	(void)loop;
	b->timeout_timer = 0;
	b->res.timed_out = true;
	kill(-b->pid, SIGKILL);
}

void es_build_cancel(struct es_build *b)
{
	if (!b || b->reaped)
		return;
	b->res.cancelled = true;
	kill(-b->pid, SIGKILL);
}

/* The child's whole environment: PATH, a fresh HOME and the allow-listed
 * variables that are set; nothing else of ours (no AWS_*, no tokens). */
static char **child_env(const struct es_build_spec *spec, const char *home)
{
	char **env = calloc(spec->n_env + 3, sizeof(char *));
	const char *path = getenv("PATH");
	size_t n = 0;

	if (!env)
		return NULL;
	if (asprintf(&env[n++], "PATH=%s", path && *path ? path : DEFAULT_PATH) < 0 ||
	    asprintf(&env[n++], "HOME=%s", home) < 0) {
		env[n - 1] = NULL;
		goto fail;
	}
	for (size_t i = 0; i < spec->n_env; i++) {
		const char *v = getenv(spec->env_names[i]);
		if (!v)
			continue;
		if (asprintf(&env[n++], "%s=%s", spec->env_names[i], v) < 0) {
			env[n - 1] = NULL;
			goto fail;
		}
	}
	return env;
fail:
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* /bin/sh -c COMMAND in dir, in a process group of its own, stdin from
 * /dev/null, stdout and stderr into out, no descriptor of ours inherited,
 * every signal at its default. Returns 0 or an errno. */
static int spawn(const struct es_build_spec *spec, int out, char **env, pid_t *pid)
{
	char *argv[] = {"sh", "-c", (char *)spec->command, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	int err;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, out, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawn_file_actions_addchdir_np(&fa, spec->dir);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	                                      POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &none);
	err = posix_spawn(pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int es_build_start(struct es_loop *loop, const struct es_build_spec *spec, es_build_line_fn line,
                   es_build_done_fn done, void *ud, struct es_build **out)
{
	const char *tmp = getenv("TMPDIR");
	struct es_build *b;
	char **env = NULL;
	int fds[2] = {-1, -1};

	*out = NULL;
	if (!spec->command || !*spec->command || !spec->dir)
		return es_fail(ES_EINVAL, "build: no command or no directory");
	if (!(b = calloc(1, sizeof(*b))) || !(b->command = strdup(spec->command))) {
		free(b);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	b->loop = loop;
	b->fd = -1;
	b->on_line = line;
	b->done = done;
	b->ud = ud;
	b->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 600000;
	b->res.exit_status = -1;
	snprintf(b->home, sizeof(b->home), "%s/edgeship-build-home-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(b->home)) {
		b->home[0] = '\0';
		build_free(b);
		return es_fail(ES_ERR, "build: cannot create a temporary HOME in %s",
		               tmp && *tmp ? tmp : "/tmp");
	}
	if (!(env = child_env(spec, b->home))) {
		build_free(b);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		int e = errno;
		free_env(env);
		build_free(b);
		return es_fail(ES_ERR, "build: cannot make a pipe: %s", strerror(e));
	}
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	b->started_ms = es_loop_now_ms();
	int err = spawn(spec, fds[1], env, &b->pid);
	close(fds[1]);
	free_env(env);
	if (err) {
		close(fds[0]);
		build_free(b);
		return es_fail(ES_ERR, "build: cannot start /bin/sh -c in %s: %s", spec->dir,
		               strerror(err));
	}
	b->fd = fds[0];
	if (es_loop_watch_fd(loop, b->fd, POLLIN, on_output, b) != ES_OK ||
	    !(b->timeout_timer = es_loop_timer(loop, b->timeout_ms, on_timeout, b)) ||
	    !(b->reap_timer = es_loop_timer(loop, REAP_EVERY_MS, on_reap, b))) {
		kill(-b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
		build_free(b);
		return es_fail(ES_ENOMEM, "build: cannot watch its output");
	}
	*out = b;
	return ES_OK;
}

/* ------------------------------------------------------------ synchronous */

struct run_state {
	es_build_line_fn line;
	void *line_ud;
	bool done;
	int rc;
	struct es_error err;
	struct es_build_result *res;
};

static void run_line(const char *line, void *ud)
{
	struct run_state *s = ud;

	if (s->line)
		s->line(line, s->line_ud);
}

static void run_done(int rc, const struct es_build_result *res, void *ud)
{
	struct run_state *s = ud;

	s->done = true;
	s->rc = rc;
	es_error_save(&s->err);
	if (s->res) {
		*s->res = *res;
		s->res->tail = res->tail ? strdup(res->tail) : NULL;
	}
}

int es_build_run(const struct es_build_spec *spec, es_build_line_fn line, void *ud,
                 bool (*cancelled)(void *ud), struct es_build_result *res)
{
	struct es_loop *loop = es_loop_new();
	struct run_state s = {.line = line, .line_ud = ud, .res = res};
	struct es_build *b;
	bool asked = false;
	int rc;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!loop)
		return es_fail(ES_ENOMEM, "out of memory");
	rc = es_build_start(loop, spec, run_line, run_done, &s, &b);
	while (!rc && !s.done) {
		if (cancelled && !asked && cancelled(ud)) {
			asked = true;
			es_build_cancel(b);
		}
		if ((rc = es_loop_turn(loop, 100)) != ES_OK) {
			es_build_cancel(b);
			while (!s.done && es_loop_turn(loop, 100) == ES_OK)
				;
		}
	}
	es_loop_free(loop);
	if (rc)
		return rc;
	es_error_restore(&s.err);
	return s.rc;
}
