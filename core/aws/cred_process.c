/* The credential_process provider: split the profile's command line as the
 * AWS SDKs do, run the program without a shell and read the credentials JSON
 * it prints, within a time limit.  Its output holds secrets and is wiped;
 * messages quote only the program's name and the first line of stderr. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "cred_providers.h"
#include "cred_util.h"
#include "base/error.h"

extern char **environ;

#define MAX_OUTPUT (64 * 1024)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What a finished (or stopped) child left behind. */
struct child {
	struct es_buf out;  /* stdout: holds secrets */
	char err_line[200]; /* first line of stderr, control characters removed */
	bool too_big, timed_out;
	int status;
};

static void keep_first_line(struct child *c, const char *data, size_t n)
{
	size_t have = strlen(c->err_line);

	if (c->err_line[sizeof(c->err_line) - 1] == '\n')
		return; /* the first line is complete */
	for (size_t i = 0; i < n && have + 1 < sizeof(c->err_line) - 1; i++) {
		if (data[i] == '\n') {
			c->err_line[sizeof(c->err_line) - 1] = '\n';
			return;
		}
		c->err_line[have++] = (unsigned char)data[i] < 0x20 ? ' ' : data[i];
	}
	c->err_line[have] = '\0';
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

void es_cred_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static int push_word(char ***argv, size_t *n, struct es_buf *word)
{
	char **v = realloc(*argv, (*n + 2) * sizeof(*v));

	if (!v)
		return es_fail(ES_ENOMEM, "out of memory");
	*argv = v;
	if (!(v[*n] = es_buf_steal(word)))
		return es_fail(ES_ENOMEM, "out of memory");
	v[++*n] = NULL;
	return ES_OK;
}

/* botocore splits with Python's shlex.split (POSIX mode, no comments):
 * the rules are the shell's quoting and nothing else of the shell. */
int es_cred_split_command(const char *cmd, char ***out, size_t *outc)
{
	struct es_buf word = ES_BUF_INIT;
	char **argv = NULL;
	size_t n = 0, quote_at = 0;
	char quote = 0;
	bool in_word = false;
	int rc = ES_OK;

	*out = NULL;
	*outc = 0;
	for (const char *p = cmd; *p && !rc; p++) {
		char ch = *p;
		if (quote == '\'') {
			/* Single quotes keep everything, backslashes included. */
			if (ch == '\'')
				quote = 0;
			else
				rc = es_buf_append(&word, p, 1);
		} else if (quote == '"') {
			/* Inside double quotes a backslash escapes only '"' and
			 * itself; before anything else it stays. */
			if (ch == '"')
				quote = 0;
			else if (ch == '\\' && (p[1] == '"' || p[1] == '\\'))
				rc = es_buf_append(&word, ++p, 1);
			else
				rc = es_buf_append(&word, p, 1);
		} else if (blank(ch)) {
			if (in_word)
				rc = push_word(&argv, &n, &word);
			in_word = false;
		} else if (ch == '\'' || ch == '"') {
			in_word = true;
			quote = ch;
			quote_at = (size_t)(p - cmd) + 1;
		} else if (ch == '\\') {
			in_word = true;
			if (!p[1])
				rc = es_fail(
				        ES_EINVAL,
				        "the command ends with a backslash that escapes nothing");
			else
				rc = es_buf_append(&word, ++p, 1);
		} else {
			in_word = true;
			rc = es_buf_append(&word, p, 1);
		}
	}
	if (!rc && quote)
		rc = es_fail(ES_EINVAL,
		             "the %s quote at character %zu is never closed: quote arguments as "
		             "in a POSIX shell, e.g. \"/path with spaces/tool\" --flag",
		             quote == '"' ? "double" : "single", quote_at);
	if (!rc && in_word)
		rc = push_word(&argv, &n, &word);
	if (!rc && n == 0)
		rc = es_fail(ES_EINVAL, "the command is empty");
	es_buf_free(&word);
	if (rc) {
		es_cred_argv_free(argv);
		return rc;
	}
	*out = argv;
	*outc = n;
	return ES_OK;
}

/* Run argv[0] (looked up in PATH as execvp does; no shell) with stdin from
 * /dev/null, collecting stdout and the start of stderr, and stop it when
 * timeout_ms has passed. */
static int run_process(char *const argv[], long timeout_ms, struct child *c)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd[2];
	pid_t pid;
	int rc;

	memset(c, 0, sizeof(*c));
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		rc = es_fail(ES_ERR, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	/* posix_spawnp searches PATH as execvp does and, in glibc, reports a
	 * program that cannot be run as its return value. */
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (rc) {
		rc = es_fail(ES_ECREDS, "cannot run %s: %s%s", argv[0], strerror(rc),
		             rc == ENOENT && !strchr(argv[0], '/') ? " (looked up in PATH)" : "");
		goto fail;
	}

	pfd[0] = (struct pollfd){.fd = outp[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = errp[0], .events = POLLIN};
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		int64_t left = deadline - now_ms();
		char chunk[4096];

		if (left <= 0) {
			c->timed_out = true;
			break;
		}
		if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			} else if (i == 1) {
				keep_first_line(c, chunk, (size_t)n);
			} else if (c->out.len + (size_t)n > MAX_OUTPUT) {
				c->too_big = true;
			} else if (es_buf_append(&c->out, chunk, (size_t)n)) {
				c->too_big = true;
			}
		}
		explicit_bzero(chunk, sizeof(chunk));
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	/* The pipes may close before the program exits: keep to the deadline. */
	while (!c->timed_out && waitpid(pid, &c->status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			c->timed_out = true;
			break;
		}
		usleep(5000);
	}
	if (c->timed_out) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
			;
	}
	c->err_line[sizeof(c->err_line) - 1] = '\0';
	return ES_OK;
fail:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return rc;
}

int es_cred_from_process(const char *profile, const char *cmd, long timeout_ms,
                         struct es_credentials *out)
{
	char what[160], source[160];
	struct child c = {0};
	json_error_t jerr;
	json_t *doc = NULL, *version;
	char **argv;
	size_t argc;
	int rc;

	snprintf(what, sizeof(what), "credential_process for profile %s", profile);
	rc = es_cred_split_command(cmd, &argv, &argc);
	if (rc == ES_EINVAL) {
		char why[sizeof(es_error_last()->message)];
		snprintf(why, sizeof(why), "%s", es_error_last()->message);
		return es_fail(ES_ECREDS, "%s: %s", what, why);
	}
	if (rc)
		return rc;
	rc = run_process(argv, timeout_ms, &c);
	es_cred_argv_free(argv);
	if (rc) {
		es_fail_prefix("%s", what);
		goto done;
	}
	if (c.timed_out) {
		rc = es_fail(ES_ECREDS, "%s did not finish within %ld ms", what, timeout_ms);
	} else if (WIFSIGNALED(c.status)) {
		rc = es_fail(ES_ECREDS, "%s was killed by signal %d", what, WTERMSIG(c.status));
	} else if (WEXITSTATUS(c.status) != 0) {
		rc = es_fail(ES_ECREDS, "%s failed with exit status %d%s%s", what,
		             WEXITSTATUS(c.status), c.err_line[0] ? ": " : "", c.err_line);
	} else if (c.too_big) {
		rc = es_fail(ES_ECREDS, "%s printed more than %d bytes", what, MAX_OUTPUT);
	} else if (!(doc = json_loadb(es_buf_str(&c.out), c.out.len, 0, &jerr))) {
		/* jerr.text may quote the output, which holds secrets. */
		rc = es_fail(ES_ECREDS,
		             "%s printed something that is not JSON (line %d, column %d)", what,
		             jerr.line, jerr.column);
	} else if (!json_is_object(doc)) {
		rc = es_fail(ES_ECREDS, "%s printed JSON that is not an object", what);
	} else if (!json_is_integer(version = json_object_get(doc, "Version"))) {
		rc = es_fail(ES_ECREDS, "%s printed no numeric Version (it must be 1)", what);
	} else if (json_integer_value(version) != 1) {
		rc = es_fail(ES_ECREDS,
		             "%s printed Version %" JSON_INTEGER_FORMAT
		             "; only Version 1 is understood",
		             what, json_integer_value(version));
	} else {
		snprintf(source, sizeof(source), "credential_process (profile %s)", profile);
		rc = es_cred_from_json(doc, "SessionToken", what, out, source);
	}
done:
	json_decref(doc);
	es_cred_wipe_buf(&c.out);
	return rc;
}
