/* The credentials chain: environment, profiles (static keys,
 * credential_process, assumed roles), container endpoint and IMDSv2 against
 * tests/unit/fakeimds.py, and the messages when nothing or something broken
 * is found.  Secrets must never reach a message. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/cred_providers.h"
#include "aws/credentials.h"
#include "base/error.h"
#include "testutil.h"

extern char **environ;

/* The fake metadata server, shared by the whole run. */
static pid_t server_pid = -1;
static int server_port;

struct fixture {
	char *dir;
};

/* What the fake assume_role callback saw. */
struct mock {
	int calls;
	char source_akid[64];
	char region[32];
	char role_arn[128];
	char session[64];
	char external_id[64];
	long duration;
	int fail;
};

/* ------------------------------------------------------------ fixtures */

static void clear_aws_env(void)
{
	for (;;) {
		char name[256];
		size_t n;
		char **e;

		for (e = environ; *e; e++)
			if (strncmp(*e, "AWS_", 4) == 0)
				break;
		if (!*e)
			return;
		n = strcspn(*e, "=");
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, *e, n);
		name[n] = '\0';
		unsetenv(name);
	}
}

static int start_server(void **state)
{
	const char *python = getenv("PYTHON3");
	char script[4096], line[32] = "";
	char *argv[3];
	int fds[2];
	posix_spawn_file_actions_t fa;
	FILE *f;

	(void)state;
	if (!python || !*python)
		python = "python3";
	snprintf(script, sizeof(script), "%s/tests/unit/fakeimds.py", tu_srcdir());
	argv[0] = (char *)python;
	argv[1] = script;
	argv[2] = NULL;
	if (pipe(fds))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawnp(&server_pid, python, &fa, NULL, argv, environ)) {
		server_pid = -1;
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f))
		return -1;
	fclose(f);
	server_port = atoi(line);
	return server_port > 0 ? 0 : -1;
}

static int stop_server(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	es_credentials_cache_clear();
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[4096];

	clear_aws_env();
	es_credentials_cache_clear();
	f->dir = tu_mkdtemp();
	if (!f->dir)
		return -1;
	setenv("HOME", f->dir, 1);
	snprintf(path, sizeof(path), "%s/config", f->dir);
	setenv("AWS_CONFIG_FILE", path, 1);
	snprintf(path, sizeof(path), "%s/credentials", f->dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	/* Never ask a real instance metadata service from a test. */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	es_credentials_cache_clear();
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ helpers */

static void write_file(struct fixture *f, const char *name, const char *text)
{
	free(tu_write_file(f->dir, name, text));
}

/* An executable shell script in the test directory; returns its path. */
static char *write_script(struct fixture *f, const char *name, const char *body)
{
	char text[4096];
	char *path;

	snprintf(text, sizeof(text), "#!/bin/sh\n%s", body);
	path = tu_write_file(f->dir, name, text);
	assert_non_null(path);
	chmod(path, 0755);
	return path;
}

/* A profile whose credential_process runs the named script. */
static void process_profile(struct fixture *f, const char *script_name, const char *body)
{
	char *script = write_script(f, script_name, body);
	char config[4200];

	snprintf(config, sizeof(config), "[profile ci]\ncredential_process = %s\n", script);
	write_file(f, "config", config);
	free(script);
	setenv("AWS_PROFILE", "ci", 1);
}

static void resolve_ok(const struct es_cred_options *o, struct es_credentials *c)
{
	if (es_credentials_resolve(o, c) != ES_OK)
		fail_msg("es_credentials_resolve: %s", es_error_last()->message);
}

static void resolve_fails(const struct es_cred_options *o, int status)
{
	struct es_credentials c;

	assert_int_equal(es_credentials_resolve(o, &c), status);
	assert_null(c.access_key_id);
	assert_null(c.secret_access_key);
}

static const char *message(void)
{
	return es_error_last()->message;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("\"%s\" contains \"%s\"", haystack, needle);
}

static int mock_assume(void *ctx, const struct es_credentials *source, const char *region,
                       const char *role_arn, const char *session_name, const char *external_id,
                       long duration_seconds, struct es_credentials *out)
{
	struct mock *m = ctx;
	char akid[32];

	m->calls++;
	snprintf(m->source_akid, sizeof(m->source_akid), "%s", source->access_key_id);
	snprintf(m->region, sizeof(m->region), "%s", region ? region : "(null)");
	snprintf(m->role_arn, sizeof(m->role_arn), "%s", role_arn);
	snprintf(m->session, sizeof(m->session), "%s", session_name);
	snprintf(m->external_id, sizeof(m->external_id), "%s",
	         external_id ? external_id : "(null)");
	m->duration = duration_seconds;
	if (m->fail)
		return es_fail(ES_EAWS, "AccessDenied: not allowed to assume %s", role_arn);
	snprintf(akid, sizeof(akid), "ASIAROLE%d", m->calls);
	out->access_key_id = strdup(akid);
	out->secret_access_key = strdup("role-secret-key");
	out->session_token = strdup("role-session-token");
	out->expiration = time(NULL) + 3600;
	snprintf(out->source, sizeof(out->source), "assume role %s", role_arn);
	return ES_OK;
}

static int64_t elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* ------------------------------------------------------------ environment */

static void env_keys(void **state)
{
	struct es_credentials c;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "AKIAENVKEY");
	assert_string_equal(c.secret_access_key, "env-secret");
	assert_null(c.session_token);
	assert_int_equal(c.expiration, 0);
	assert_string_equal(c.source, "environment");
	es_credentials_free(&c);
	assert_null(c.access_key_id);
}

static void env_keys_with_token(void **state)
{
	struct es_credentials c;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "ASIAENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	setenv("AWS_SESSION_TOKEN", "env-token", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.session_token, "env-token");
	es_credentials_free(&c);
}

static void env_legacy_names(void **state)
{
	struct es_credentials c;

	(void)state;
	setenv("AWS_ACCESS_KEY", "AKIALEGACY", 1);
	setenv("AWS_SECRET_KEY", "legacy-secret", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "AKIALEGACY");
	assert_string_equal(c.secret_access_key, "legacy-secret");
	es_credentials_free(&c);
}

static void env_half_set(void **state)
{
	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIAHALF", 1);
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");

	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", "half-secret", 1);
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	assert_lacks(message(), "half-secret");
}

/* ------------------------------------------------------------ profiles */

static void profile_in_credentials_file(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;

	write_file(f, "credentials",
	           "[dev]\naws_access_key_id = AKIADEV\n"
	           "aws_secret_access_key = dev-secret\n"
	           "aws_session_token = dev-token\n");
	setenv("AWS_PROFILE", "dev", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "AKIADEV");
	assert_string_equal(c.secret_access_key, "dev-secret");
	assert_string_equal(c.session_token, "dev-token");
	assert_string_equal(c.source, "profile dev (shared credentials file)");
	es_credentials_free(&c);
}

static void profile_in_config_file(void **state)
{
	struct fixture *f = *state;
	struct es_cred_options o = {.profile = "x"};
	struct es_credentials c;

	write_file(f, "config",
	           "[profile x]\naws_access_key_id = AKIAX\n"
	           "aws_secret_access_key = x-secret\n");
	resolve_ok(&o, &c);
	assert_string_equal(c.access_key_id, "AKIAX");
	assert_string_equal(c.source, "profile x (config file)");
	es_credentials_free(&c);
}

static void profile_default(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;

	write_file(f, "credentials",
	           "[default]\naws_access_key_id = AKIADEFAULT\n"
	           "aws_secret_access_key = default-secret\n"
	           "[other]\naws_access_key_id = AKIAOTHER\n"
	           "aws_secret_access_key = other-secret\n");
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "AKIADEFAULT");
	assert_string_equal(c.source, "profile default (shared credentials file)");
	es_credentials_free(&c);
}

static void profile_half_keys(void **state)
{
	struct fixture *f = *state;

	write_file(f, "credentials", "[default]\naws_access_key_id = AKIAHALF\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_contains(message(), "profile default in ~/credentials has aws_access_key_id but no "
	                           "aws_secret_access_key");
}

static void env_beats_profile(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;

	write_file(f, "credentials",
	           "[dev]\naws_access_key_id = AKIADEV\n"
	           "aws_secret_access_key = dev-secret\n");
	setenv("AWS_PROFILE", "dev", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "AKIAENV");
	assert_string_equal(c.source, "environment");
	es_credentials_free(&c);
}

static void explicit_profile_missing(void **state)
{
	struct fixture *f = *state;
	struct es_cred_options o = {.profile = "nope"};

	write_file(f, "credentials",
	           "[default]\naws_access_key_id = AKIADEFAULT\n"
	           "aws_secret_access_key = default-secret\n");
	resolve_fails(&o, ES_ECREDS);
	assert_string_equal(message(),
	                    "AWS profile \"nope\" not found in ~/credentials or ~/config");

	/* The same through AWS_PROFILE: no falling back to [default]. */
	setenv("AWS_PROFILE", "gone", 1);
	resolve_fails(NULL, ES_ECREDS);
	assert_contains(message(), "AWS profile \"gone\" not found");
	assert_lacks(message(), "tried");
}

static void profile_without_credentials_falls_through(void **state)
{
	struct fixture *f = *state;

	write_file(f, "config", "[default]\nregion = eu-west-1\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_contains(message(), "profile default (no credentials in it)");
}

static void missing_default_profile_falls_through(void **state)
{
	struct es_cred_options o = {.profile = "default"};

	(void)state;
	/* Naming "default" is what every caller does; on a server with no
	 * files the chain must still reach the container and IMDS. */
	resolve_fails(&o, ES_ECREDS);
	assert_contains(message(), "no AWS credentials found: tried environment");
	assert_contains(message(), "profile default (not in ~/credentials or ~/config)");
}

/* ------------------------------------------------------------ credential_process */

static void process_good(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;
	char when[32];

	process_profile(
	        f, "good.sh",
	        "cat <<'JSON'\n"
	        "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\",\n"
	        " \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\",\n"
	        " \"Expiration\": \"2099-01-02T03:04:05.123+01:00\"}\n"
	        "JSON\n");
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "ASIAPROCESS");
	assert_string_equal(c.secret_access_key, "process-secret");
	assert_string_equal(c.session_token, "process-token");
	assert_string_equal(c.source, "credential_process (profile ci)");
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&c.expiration));
	assert_string_equal(when, "2099-01-02T02:04:05Z");
	es_credentials_free(&c);
}

static void process_version_2(void **state)
{
	struct fixture *f = *state;

	process_profile(f, "v2.sh",
	                "echo '{\"Version\": 2, \"AccessKeyId\": \"ASIAV2\", "
	                "\"SecretAccessKey\": \"v2-secret-value\"}'\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "credential_process for profile ci printed Version 2; "
	                               "only Version 1 is understood");
	assert_lacks(message(), "v2-secret-value");
}

static void process_exit_1(void **state)
{
	struct fixture *f = *state;

	process_profile(f, "fail.sh",
	                "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAFAIL\", "
	                "\"SecretAccessKey\": \"fail-secret-value\"}'\n"
	                "echo 'sso session expired' >&2\necho 'second line' >&2\nexit 1\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(),
	                    "credential_process for profile ci failed with exit status 1: "
	                    "sso session expired");
	assert_lacks(message(), "fail-secret-value");
}

static void process_garbage(void **state)
{
	struct fixture *f = *state;

	process_profile(f, "garbage.sh",
	                "echo 'AccessKeyId=ASIA SecretAccessKey=garbage-secret'\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_contains(message(), "credential_process for profile ci printed something that is "
	                           "not JSON");
	assert_lacks(message(), "garbage-secret");
	assert_lacks(message(), "SecretAccessKey");
}

static void process_expired(void **state)
{
	struct fixture *f = *state;

	process_profile(f, "expired.sh",
	                "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAOLD\", "
	                "\"SecretAccessKey\": \"old-secret-value\", "
	                "\"Expiration\": \"2001-02-03T04:05:06Z\"}'\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "credential_process for profile ci: the credentials expired "
	                               "at 2001-02-03T04:05:06Z");
	assert_lacks(message(), "old-secret-value");
}

static void process_bad_expiration(void **state)
{
	struct fixture *f = *state;

	process_profile(
	        f, "badtime.sh",
	        "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIABAD\", "
	        "\"SecretAccessKey\": \"bad-secret-value\", \"Expiration\": \"tomorrow\"}'\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "credential_process for profile ci: Expiration is not an "
	                               "RFC 3339 time");
}

static void process_timeout(void **state)
{
	struct fixture *f = *state;
	struct es_cred_options o = {.process_timeout_ms = 300};
	struct timespec start;

	process_profile(f, "slow.sh", "exec sleep 5\n");
	clock_gettime(CLOCK_MONOTONIC, &start);
	resolve_fails(&o, ES_ECREDS);
	assert_true(elapsed_ms(&start) < 2000);
	assert_string_equal(message(), "credential_process for profile ci did not finish within "
	                               "300 ms");
}

/* ------------------------------------------------------------ command splitting */

/* cmd split into words, compared with want (a NULL-terminated list). */
static void expect_words(const char *cmd, const char *const *want)
{
	char **argv;
	size_t argc, n = 0;

	if (es_cred_split_command(cmd, &argv, &argc) != ES_OK)
		fail_msg("splitting [%s]: %s", cmd, message());
	while (want[n])
		n++;
	if (argc != n)
		fail_msg("[%s] gave %zu words, expected %zu", cmd, argc, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[i], want[i]) != 0)
			fail_msg("[%s] word %zu is [%s], expected [%s]", cmd, i, argv[i], want[i]);
	assert_null(argv[argc]);
	es_cred_argv_free(argv);
}

static void split_follows_posix_shlex(void **state)
{
	(void)state;
	/* The answers are Python's shlex.split(cmd) for each line. */
	expect_words("creds", (const char *const[]){"creds", NULL});
	expect_words("  a \t b\n c  ", (const char *const[]){"a", "b", "c", NULL});
	expect_words("\"/opt/my tools/creds\" --profile 'x y'",
	             (const char *const[]){"/opt/my tools/creds", "--profile", "x y", NULL});
	expect_words("a\\ b c", (const char *const[]){"a b", "c", NULL});
	expect_words("'it''s' a\"b c\"d", (const char *const[]){"its", "ab cd", NULL});
	expect_words("\"a\\\"b\" \"a\\\\b\" \"a\\b\" 'a\\b' a\\\\b",
	             (const char *const[]){"a\"b", "a\\b", "a\\b", "a\\b", "a\\b", NULL});
	expect_words("x '' \"\" y", (const char *const[]){"x", "", "", "y", NULL});
	expect_words("a#b # c ~/x *.json $HOME",
	             (const char *const[]){"a#b", "#", "c", "~/x", "*.json", "$HOME", NULL});
	expect_words("x;y | z $(rm -rf /) `id` && w > f",
	             (const char *const[]){"x;y", "|", "z", "$(rm", "-rf", "/)", "`id`", "&&", "w",
	                                   ">", "f", NULL});
}

static void split_refuses_broken_lines(void **state)
{
	char **argv = (char **)1;
	size_t argc = 7;

	(void)state;
	assert_int_equal(es_cred_split_command("tool \"--profile ci", &argv, &argc), ES_EINVAL);
	assert_string_equal(message(),
	                    "the double quote at character 6 is never closed: quote arguments as "
	                    "in a POSIX shell, e.g. \"/path with spaces/tool\" --flag");
	assert_null(argv);
	assert_int_equal(argc, 0);
	assert_int_equal(es_cred_split_command("tool 'secret-value", &argv, &argc), ES_EINVAL);
	assert_contains(message(), "single quote at character 6 is never closed");
	assert_lacks(message(), "secret-value");
	assert_int_equal(es_cred_split_command("tool x\\", &argv, &argc), ES_EINVAL);
	assert_contains(message(), "ends with a backslash");
	assert_int_equal(es_cred_split_command(" \t ", &argv, &argc), ES_EINVAL);
	assert_string_equal(message(), "the command is empty");
	assert_int_equal(es_cred_split_command("", &argv, &argc), ES_EINVAL);
}

/* A program in a directory with a space in its name that writes each
 * argument it received on a line of args.txt, then prints credentials. */
static void process_arguments_reach_the_program_intact(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;
	char sub[4096], config[8192], *script, *args;

	snprintf(sub, sizeof(sub), "%s/my tools", f->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	script = write_script(f, "my tools/args.sh",
	                      "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done "
	                      "> \"$(dirname \"$0\")/args.txt\"\n"
	                      "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAARGS\", "
	                      "\"SecretAccessKey\": \"args-secret\"}'\n");
	snprintf(config, sizeof(config),
	         "[profile ci]\ncredential_process = \"%s\" --role 'two words' "
	         "a;touch\\ %s/semicolon | touch %s/pipe $(touch %s/dollar) `touch %s/backtick` "
	         "\"quoted \\\"inner\\\" text\"\n",
	         script, f->dir, f->dir, f->dir, f->dir);
	write_file(f, "config", config);
	setenv("AWS_PROFILE", "ci", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "ASIAARGS");
	es_credentials_free(&c);

	snprintf(sub, sizeof(sub), "%s/my tools/args.txt", f->dir);
	args = tu_read_file(sub, NULL);
	assert_non_null(args);
	snprintf(config, sizeof(config),
	         "[--role]\n[two words]\n[a;touch %s/semicolon]\n[|]\n[touch]\n[%s/pipe]\n"
	         "[$(touch]\n[%s/dollar)]\n[`touch]\n[%s/backtick`]\n[quoted \"inner\" text]\n",
	         f->dir, f->dir, f->dir, f->dir);
	assert_string_equal(args, config);
	free(args);
	/* Nothing in the line ran as a command. */
	static const char *const never[] = {"semicolon", "pipe", "dollar", "backtick"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		struct stat st;
		snprintf(sub, sizeof(sub), "%s/%s", f->dir, never[i]);
		if (stat(sub, &st) == 0)
			fail_msg("%s was created: the command line went through a shell", never[i]);
	}
	free(script);
}

static void process_program_found_in_path(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;
	char *script, path[8192];
	const char *old = getenv("PATH");
	char *saved = old ? strdup(old) : NULL;

	script = write_script(f, "edgeship-test-creds",
	                      "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPATH\", "
	                      "\"SecretAccessKey\": \"path-secret\"}'\n");
	snprintf(path, sizeof(path), "%s:%s", f->dir, saved ? saved : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	write_file(f, "config", "[profile ci]\ncredential_process = edgeship-test-creds --x\n");
	setenv("AWS_PROFILE", "ci", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "ASIAPATH");
	es_credentials_free(&c);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	free(script);
}

static void process_program_not_found(void **state)
{
	struct fixture *f = *state;

	write_file(f, "config",
	           "[profile ci]\ncredential_process = edgeship-no-such-helper --secret s3kr1t\n");
	setenv("AWS_PROFILE", "ci", 1);
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "credential_process for profile ci: cannot run "
	                               "edgeship-no-such-helper: No such file or directory "
	                               "(looked up in PATH)");
	write_file(f, "config", "[profile ci]\ncredential_process = /nonexistent/helper\n");
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(), "credential_process for profile ci: cannot run "
	                               "/nonexistent/helper: No such file or directory");
}

static void process_unterminated_quote_is_refused(void **state)
{
	struct fixture *f = *state;

	write_file(f, "config",
	           "[profile ci]\ncredential_process = \"/opt/my tools/creds --token abc\n");
	setenv("AWS_PROFILE", "ci", 1);
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(),
	                    "credential_process for profile ci: the double quote at character 1 "
	                    "is never closed: quote arguments as in a POSIX shell, e.g. "
	                    "\"/path with spaces/tool\" --flag");
	assert_lacks(message(), "abc");
}

/* ------------------------------------------------------------ assumed roles */

static const char role_config[] = "[profile base]\n"
                                  "region = eu-west-1\n"
                                  "[profile deploy]\n"
                                  "role_arn = arn:aws:iam::123456789012:role/deploy\n"
                                  "source_profile = base\n"
                                  "role_session_name = release-42\n"
                                  "external_id = ext-7\n"
                                  "duration_seconds = 1800\n";

static const char base_keys[] = "[base]\naws_access_key_id = AKIABASE\n"
                                "aws_secret_access_key = base-secret\n";

static void role_source_profile(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {.profile = "deploy",
	                            .assume_role = mock_assume,
	                            .assume_ctx = &m,
	                            .region = "eu-west-1"};
	struct es_credentials c;

	write_file(f, "config", role_config);
	write_file(f, "credentials", base_keys);
	resolve_ok(&o, &c);
	assert_int_equal(m.calls, 1);
	assert_string_equal(m.source_akid, "AKIABASE");
	assert_string_equal(m.region, "eu-west-1");
	assert_string_equal(m.role_arn, "arn:aws:iam::123456789012:role/deploy");
	assert_string_equal(m.session, "release-42");
	assert_string_equal(m.external_id, "ext-7");
	assert_int_equal(m.duration, 1800);
	assert_string_equal(c.access_key_id, "ASIAROLE1");
	assert_string_equal(c.session_token, "role-session-token");
	assert_string_equal(c.source,
	                    "assume role arn:aws:iam::123456789012:role/deploy via profile base");
	es_credentials_free(&c);
}

static void role_cached(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {
	        .profile = "deploy", .assume_role = mock_assume, .assume_ctx = &m};
	struct es_credentials c1, c2;

	write_file(f, "config", role_config);
	write_file(f, "credentials", base_keys);
	resolve_ok(&o, &c1);
	resolve_ok(&o, &c2);
	assert_int_equal(m.calls, 1);
	assert_string_equal(c1.access_key_id, c2.access_key_id);
	assert_string_equal(c2.secret_access_key, "role-secret-key");
	es_credentials_free(&c1);
	es_credentials_free(&c2);

	es_credentials_cache_clear();
	resolve_ok(&o, &c1);
	assert_int_equal(m.calls, 2);
	es_credentials_free(&c1);
}

static void role_chained(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {.profile = "top", .assume_role = mock_assume, .assume_ctx = &m};
	struct es_credentials c;

	write_file(f, "config",
	           "[profile top]\nrole_arn = arn:aws:iam::1:role/top\n"
	           "source_profile = middle\n"
	           "[profile middle]\nrole_arn = arn:aws:iam::1:role/middle\n"
	           "source_profile = base\n");
	write_file(f, "credentials", base_keys);
	resolve_ok(&o, &c);
	assert_int_equal(m.calls, 2);
	/* The second call is signed with what the first returned. */
	assert_string_equal(m.source_akid, "ASIAROLE1");
	assert_string_equal(m.role_arn, "arn:aws:iam::1:role/top");
	assert_string_equal(m.external_id, "(null)");
	assert_int_equal(m.duration, 0);
	assert_string_equal(c.access_key_id, "ASIAROLE2");
	assert_string_equal(c.source, "assume role arn:aws:iam::1:role/top via profile middle");
	es_credentials_free(&c);
}

static void role_cycle(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {.profile = "a", .assume_role = mock_assume, .assume_ctx = &m};

	write_file(f, "config",
	           "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
	           "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n");
	resolve_fails(&o, ES_ECONFIG);
	assert_string_equal(message(), "source_profile settings form a loop: a -> b -> a");
	assert_int_equal(m.calls, 0);
}

static void role_self_source(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {.profile = "me", .assume_role = mock_assume, .assume_ctx = &m};
	struct es_credentials c;

	write_file(f, "credentials",
	           "[me]\naws_access_key_id = AKIAME\n"
	           "aws_secret_access_key = me-secret\n");
	write_file(f, "config",
	           "[profile me]\nrole_arn = arn:aws:iam::1:role/me\n"
	           "source_profile = me\n");
	resolve_ok(&o, &c);
	assert_string_equal(m.source_akid, "AKIAME");
	assert_string_equal(c.access_key_id, "ASIAROLE1");
	es_credentials_free(&c);
}

static void role_missing_source_profile(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {
	        .profile = "deploy", .assume_role = mock_assume, .assume_ctx = &m};

	write_file(f, "config",
	           "[profile deploy]\nrole_arn = arn:aws:iam::1:role/deploy\n"
	           "source_profile = ghost\n");
	resolve_fails(&o, ES_ECONFIG);
	assert_string_equal(message(), "profile deploy names source_profile ghost, which is not in "
	                               "~/credentials or ~/config");
	assert_int_equal(m.calls, 0);
}

static void role_without_callback(void **state)
{
	struct fixture *f = *state;
	struct es_cred_options o = {.profile = "deploy"};

	write_file(f, "config", role_config);
	write_file(f, "credentials", base_keys);
	resolve_fails(&o, ES_ECREDS);
	assert_string_equal(message(), "profile deploy assumes role "
	                               "arn:aws:iam::123456789012:role/deploy, but no STS client "
	                               "was given to assume it");
}

static void role_callback_failure(void **state)
{
	struct fixture *f = *state;
	struct mock m = {.fail = 1};
	struct es_cred_options o = {
	        .profile = "deploy", .assume_role = mock_assume, .assume_ctx = &m};

	write_file(f, "config", role_config);
	write_file(f, "credentials", base_keys);
	resolve_fails(&o, ES_EAWS);
	assert_contains(message(), "profile deploy: AccessDenied");
	assert_lacks(message(), "base-secret");
}

static void role_credential_source(void **state)
{
	struct fixture *f = *state;
	struct mock m = {0};
	struct es_cred_options o = {.profile = "ci", .assume_role = mock_assume, .assume_ctx = &m};
	struct es_credentials c;
	char url[128];

	/* Environment: without keys the role has nothing to sign with. */
	write_file(f, "config",
	           "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\n"
	           "credential_source = Environment\n");
	resolve_fails(&o, ES_ECREDS);
	assert_string_equal(message(), "profile ci: credential_source Environment gave nothing "
	                               "(AWS_ACCESS_KEY_ID not set)");

	write_file(f, "config",
	           "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\n"
	           "credential_source = Bogus\n");
	resolve_fails(&o, ES_ECONFIG);
	assert_contains(message(), "credential_source must be Environment, EcsContainer or "
	                           "Ec2InstanceMetadata");
	assert_int_equal(m.calls, 0);

	/* EcsContainer: the container's keys sign the AssumeRole call. */
	write_file(f, "config",
	           "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\n"
	           "credential_source = EcsContainer\n");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/container/creds", server_port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token", 1);
	resolve_ok(&o, &c);
	assert_int_equal(m.calls, 1);
	assert_string_equal(m.source_akid, "ASIACONTAINERKEY");
	assert_string_equal(c.source, "assume role arn:aws:iam::1:role/ci via EcsContainer");
	es_credentials_free(&c);
}

/* ------------------------------------------------------------ container and IMDS */

static void container_full_uri(void **state)
{
	struct fixture *f = *state;
	struct es_credentials c;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/container/creds", server_port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token", 1);
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "ASIACONTAINERKEY");
	assert_string_equal(c.secret_access_key, "container-secret-key");
	assert_string_equal(c.session_token, "container-session-token");
	assert_true(c.expiration > time(NULL));
	assert_string_equal(c.source, "container endpoint");
	es_credentials_free(&c);

	/* The token file wins over the variable, and is re-read each time. */
	write_file(f, "token", "container-auth-token\n");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token", 1);
	{
		char path[4200];
		snprintf(path, sizeof(path), "%s/token", f->dir);
		setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	}
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "ASIACONTAINERKEY");
	es_credentials_free(&c);
}

static void container_wrong_token(void **state)
{
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/container/creds", server_port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-the-token", 1);
	resolve_fails(NULL, ES_ECREDS);
	assert_contains(message(), "answered HTTP 401");
	assert_lacks(message(), "not-the-token");
}

static void container_remote_http_refused(void **state)
{
	(void)state;
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.test/creds", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token", 1);
	resolve_fails(NULL, ES_ECONFIG);
	assert_string_equal(message(), "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https, or http "
	                               "to a loopback address or the ECS/EKS container host, not "
	                               "http://evil.example.test");
}

static void container_relative_uri(void **state)
{
	struct es_cred_options o = {.metadata_timeout_ms = 200};

	(void)state;
	/* The relative form always means the ECS agent's link-local host;
	 * nothing answers there in a test, so only the address is checked. */
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
	resolve_fails(&o, ES_ECREDS);
	assert_contains(message(), "container credentials: ");
	assert_contains(message(), "169.254.170.2");
}

static void imds_v2(void **state)
{
	struct es_credentials c;
	char url[64];

	(void)state;
	unsetenv("AWS_EC2_METADATA_DISABLED");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", server_port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	/* The fake refuses every read without the session token, so success
	 * means the IMDSv2 handshake was made. */
	resolve_ok(NULL, &c);
	assert_string_equal(c.access_key_id, "ASIAIMDSKEY");
	assert_string_equal(c.secret_access_key, "imds-secret-key");
	assert_string_equal(c.session_token, "imds-session-token");
	assert_true(c.expiration > time(NULL));
	assert_string_equal(c.source, "EC2 instance metadata");
	es_credentials_free(&c);
}

static void imds_silent_endpoint_times_out(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct timespec start;
	char url[64], want[96];
	int64_t took;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* Listens, never accepts, never answers: like a firewalled host. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);

	clock_gettime(CLOCK_MONOTONIC, &start);
	resolve_fails(NULL, ES_ECREDS);
	took = elapsed_ms(&start);
	close(s);
	assert_true(took >= 900);
	assert_true(took < 3000);
	snprintf(want, sizeof(want), "instance metadata (no answer from 127.0.0.1:%d within 1s)",
	         ntohs(sa.sin_port));
	assert_contains(message(), want);
}

static void nothing_found_lists_every_source(void **state)
{
	(void)state;
	resolve_fails(NULL, ES_ECREDS);
	assert_string_equal(message(),
	                    "no AWS credentials found: tried environment (AWS_ACCESS_KEY_ID not "
	                    "set), profile default (not in ~/credentials or ~/config), container "
	                    "(AWS_CONTAINER_CREDENTIALS_* not set), instance metadata (disabled by "
	                    "AWS_EC2_METADATA_DISABLED). Set AWS_PROFILE or run `aws configure`.");
}

/* ------------------------------------------------------------ the struct */

static void expiring_copy_and_free(void **state)
{
	struct es_credentials a = {0}, b;

	(void)state;
	assert_false(es_credentials_expiring(&a, time(NULL), 300));
	a.access_key_id = strdup("AKIA");
	a.secret_access_key = strdup("s");
	a.expiration = 1000;
	snprintf(a.source, sizeof(a.source), "environment");
	assert_false(es_credentials_expiring(&a, 600, 300));
	assert_true(es_credentials_expiring(&a, 700, 300));
	assert_int_equal(es_credentials_copy(&b, &a), ES_OK);
	assert_string_equal(b.access_key_id, "AKIA");
	assert_ptr_not_equal(b.access_key_id, a.access_key_id);
	assert_null(b.session_token);
	assert_int_equal(b.expiration, 1000);
	assert_string_equal(b.source, "environment");
	es_credentials_free(&a);
	es_credentials_free(&b);
	assert_null(b.secret_access_key);
	es_credentials_free(NULL);
}

/* A stage's role-arn: assumed with whatever the chain found, kept until
 * shortly before it expires, and a failure said as such. */
static void stage_role_over_the_chain(void **state)
{
	struct mock m = {0};
	struct es_cred_options o = {
	        .assume_role = mock_assume,
	        .assume_ctx = &m,
	        .region = "us-east-1",
	        .role = {"arn:aws:iam::222222222222:role/edgeship-deploy", "web-team",
	                 "edgeship-prod"},
	};
	struct es_credentials c1, c2;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	resolve_ok(&o, &c1);
	assert_int_equal(m.calls, 1);
	assert_string_equal(m.source_akid, "AKIAENVKEY");
	assert_string_equal(m.role_arn, "arn:aws:iam::222222222222:role/edgeship-deploy");
	assert_string_equal(m.external_id, "web-team");
	assert_string_equal(m.session, "edgeship-prod");
	assert_string_equal(c1.access_key_id, "ASIAROLE1");
	assert_string_equal(
	        c1.source,
	        "assume role arn:aws:iam::222222222222:role/edgeship-deploy via environment");
	assert_lacks(c1.source, "env-secret");
	resolve_ok(&o, &c2);
	assert_int_equal(m.calls, 1); /* kept */
	assert_string_equal(c2.access_key_id, "ASIAROLE1");
	es_credentials_free(&c1);
	es_credentials_free(&c2);
	/* Without the role: the chain's own keys. */
	struct es_cred_options plain = {.assume_role = mock_assume, .assume_ctx = &m};
	resolve_ok(&plain, &c1);
	assert_string_equal(c1.access_key_id, "AKIAENVKEY");
	es_credentials_free(&c1);
	/* Refused by STS: the chain's keys are not handed out instead. */
	es_credentials_cache_clear();
	m.fail = 1;
	resolve_fails(&o, ES_EAWS);
	assert_int_equal(m.calls, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(env_keys),
	        T(stage_role_over_the_chain),
	        T(env_keys_with_token),
	        T(env_legacy_names),
	        T(env_half_set),
	        T(profile_in_credentials_file),
	        T(profile_in_config_file),
	        T(profile_default),
	        T(profile_half_keys),
	        T(env_beats_profile),
	        T(explicit_profile_missing),
	        T(profile_without_credentials_falls_through),
	        T(missing_default_profile_falls_through),
	        T(process_good),
	        T(process_version_2),
	        T(process_exit_1),
	        T(process_garbage),
	        T(process_expired),
	        T(process_bad_expiration),
	        T(process_timeout),
	        T(split_follows_posix_shlex),
	        T(split_refuses_broken_lines),
	        T(process_arguments_reach_the_program_intact),
	        T(process_program_found_in_path),
	        T(process_program_not_found),
	        T(process_unterminated_quote_is_refused),
	        T(role_source_profile),
	        T(role_cached),
	        T(role_chained),
	        T(role_cycle),
	        T(role_self_source),
	        T(role_missing_source_profile),
	        T(role_without_callback),
	        T(role_callback_failure),
	        T(role_credential_source),
	        T(container_full_uri),
	        T(container_wrong_token),
	        T(container_remote_http_refused),
	        T(container_relative_uri),
	        T(imds_v2),
	        T(imds_silent_endpoint_times_out),
	        T(nothing_found_lists_every_source),
	        T(expiring_copy_and_free),
	};
#undef T
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
