/* The build step: a clean environment (no AWS settings, a temporary HOME,
 * only the allow-listed variables), output streamed line by line in order,
 * a failure that names the command with its last lines, a time limit that
 * kills the whole process group, the loop free while it runs; its settings
 * in edgeship.conf; the build cache and the comparison of two builds. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/loop.h"
#include "build.h"
#include "build_cache.h"
#include "build_digest.h"
#include "conf.h"
#include "package.h"
#include "testutil.h"

struct lines {
	char **v;
	size_t n;
};

static void on_line(const char *line, void *ud)
{
	struct lines *l = ud;

	l->v = realloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = strdup(line);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool has_line(const struct lines *l, const char *prefix)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static const char *line_value(const struct lines *l, const char *prefix)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i], prefix, strlen(prefix)) == 0)
			return l->v[i] + strlen(prefix);
	return NULL;
}

static int run(const char *dir, const char *cmd, long timeout_ms, const char *const *env,
               size_t n_env, struct lines *out, struct es_build_result *res)
{
	struct es_build_spec spec = {.command = cmd,
	                             .dir = dir,
	                             .env_names = env,
	                             .n_env = n_env,
	                             .timeout_ms = timeout_ms};
	return es_build_run(&spec, on_line, out, NULL, res);
}

static void environment_is_clean(void **state)
{
	char *dir = tu_mkdtemp();
	const char *allow[] = {"NPM_TOKEN", "NOT_SET_ANYWHERE"};
	struct lines l = {0};
	struct es_build_result res;
	struct stat st;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret/secret/secret", 1);
	setenv("AWS_PROFILE", "prod", 1);
	setenv("NPM_TOKEN", "npm-token-value", 1);
	setenv("OTHER_SETTING", "not for the build", 1);
	unsetenv("NOT_SET_ANYWHERE");
	assert_int_equal(run(dir, "env; echo pwd=$(pwd)", 10000, allow, 2, &l, &res), ES_OK);
	assert_int_equal(res.exit_status, 0);
	for (size_t i = 0; i < l.n; i++)
		assert_false(strncmp(l.v[i], "AWS_", 4) == 0);
	assert_false(has_line(&l, "OTHER_SETTING="));
	assert_false(has_line(&l, "NOT_SET_ANYWHERE"));
	assert_string_equal(line_value(&l, "NPM_TOKEN="), "npm-token-value");
	assert_non_null(line_value(&l, "PATH="));
	/* HOME is a fresh directory, not ours, and gone afterwards. */
	const char *home = line_value(&l, "HOME=");
	assert_non_null(home);
	assert_non_null(strstr(home, "edgeship-build-home-"));
	assert_string_not_equal(home, getenv("HOME") ? getenv("HOME") : "");
	assert_int_not_equal(stat(home, &st), 0);
	/* It runs where it is told to (the export). */
	char real[4096];
	assert_non_null(realpath(dir, real));
	assert_string_equal(line_value(&l, "pwd="), real);
	es_build_result_free(&res);
	lines_free(&l);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	tu_rmtree(dir);
	free(dir);
}

static void output_streams_in_order(void **state)
{
	char *dir = tu_mkdtemp();
	struct lines l = {0};

	(void)state;
	assert_int_equal(run(dir,
	                     "i=0; while [ $i -lt 300 ]; do echo out$i; echo err$i >&2; "
	                     "i=$((i+1)); done; printf 'no newline'",
	                     10000, NULL, 0, &l, NULL),
	                 ES_OK);
	assert_int_equal(l.n, 601);
	for (int i = 0; i < 300; i++) {
		char want[32];
		snprintf(want, sizeof(want), "out%d", i);
		assert_string_equal(l.v[2 * i], want);
		snprintf(want, sizeof(want), "err%d", i);
		assert_string_equal(l.v[2 * i + 1], want);
	}
	assert_string_equal(l.v[600], "no newline");
	lines_free(&l);
	/* Escape sequences never reach the screen. */
	assert_int_equal(run(dir, "printf 'a\\033[2Jb\\n'", 10000, NULL, 0, &l, NULL), ES_OK);
	assert_int_equal(l.n, 1);
	assert_null(strchr(l.v[0], '\033'));
	lines_free(&l);
	tu_rmtree(dir);
	free(dir);
}

static void failure_names_command_and_tail(void **state)
{
	char *dir = tu_mkdtemp();
	struct lines l = {0};
	struct es_build_result res;
	const char *cmd = "i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); done; exit 3";

	(void)state;
	assert_int_equal(run(dir, cmd, 10000, NULL, 0, &l, &res), ES_ERR);
	const char *msg = es_error_last()->message;
	assert_non_null(strstr(msg, cmd));
	assert_non_null(strstr(msg, "exited with status 3"));
	assert_non_null(strstr(msg, "line29"));
	assert_non_null(strstr(msg, "line10"));
	assert_null(strstr(msg, "line9\n"));
	assert_int_equal(res.exit_status, 3);
	/* The tail: the last 20 lines. */
	assert_true(strncmp(res.tail, "line10\n", 7) == 0);
	assert_non_null(strstr(res.tail, "\nline29"));
	es_build_result_free(&res);
	lines_free(&l);

	assert_int_equal(run(dir, "kill -TERM $$", 10000, NULL, 0, &l, &res), ES_ERR);
	assert_int_equal(res.signal, 15);
	assert_non_null(strstr(es_error_last()->message, "killed by signal 15"));
	assert_non_null(strstr(es_error_last()->message, "without any output"));
	es_build_result_free(&res);
	lines_free(&l);
	tu_rmtree(dir);
	free(dir);
}

static bool process_gone(const char *pidfile)
{
	char *text = tu_read_file(pidfile, NULL), path[64], *stat_text;
	bool gone;

	assert_non_null(text);
	snprintf(path, sizeof(path), "/proc/%ld/stat", strtol(text, NULL, 10));
	free(text);
	stat_text = tu_read_file(path, NULL);
	/* Gone, or dead and waiting for init to reap it. */
	gone = !stat_text || strstr(stat_text, ") Z ") != NULL;
	free(stat_text);
	return gone;
}

static void timeout_kills_the_group(void **state)
{
	char *dir = tu_mkdtemp(), cmd[512], pidfile[4200];
	struct lines l = {0};
	struct es_build_result res;
	int64_t t0 = es_loop_now_ms();

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", dir);
	/* A grandchild that holds the pipe open, and a child that never ends. */
	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; echo started; sleep 60", pidfile);
	assert_int_equal(run(dir, cmd, 400, NULL, 0, &l, &res), ES_ERR);
	assert_true(es_loop_now_ms() - t0 < 10000);
	assert_true(res.timed_out);
	assert_non_null(strstr(es_error_last()->message, "time limit"));
	assert_non_null(strstr(es_error_last()->message, "process group was killed"));
	assert_non_null(strstr(es_error_last()->message, "started"));
	usleep(100 * 1000);
	assert_true(process_gone(pidfile));
	es_build_result_free(&res);
	lines_free(&l);
	tu_rmtree(dir);
	free(dir);
}

struct async {
	bool done;
	int rc;
	int ticks_before_done;
	struct es_loop *loop;
};

static void on_tick(struct es_loop *loop, void *ud)
{
	struct async *a = ud;

	if (!a->done) {
		a->ticks_before_done++;
		es_loop_timer(loop, 20, on_tick, a);
	}
}

static void on_done(int rc, const struct es_build_result *res, void *ud)
{
	struct async *a = ud;

	(void)res;
	a->done = true;
	a->rc = rc;
}

/* The build is a child whose pipe the loop reads: the loop keeps turning
 * (timers, keys) while it runs. */
static void loop_stays_free(void **state)
{
	char *dir = tu_mkdtemp();
	struct es_build_spec spec = {
	        .command = "sleep 0.4; echo end", .dir = dir, .timeout_ms = 5000};
	struct async a = {0};
	struct es_build *b;

	(void)state;
	a.loop = es_loop_new();
	assert_int_equal(es_build_start(a.loop, &spec, NULL, on_done, &a, &b), ES_OK);
	es_loop_timer(a.loop, 20, on_tick, &a);
	while (!a.done)
		assert_int_equal(es_loop_turn(a.loop, 100), ES_OK);
	assert_int_equal(a.rc, ES_OK);
	assert_true(a.ticks_before_done >= 5);
	/* Cancel kills it at once. */
	spec.command = "sleep 30";
	a.done = false;
	int64_t t0 = es_loop_now_ms();
	assert_int_equal(es_build_start(a.loop, &spec, NULL, on_done, &a, &b), ES_OK);
	es_build_cancel(b);
	while (!a.done)
		assert_int_equal(es_loop_turn(a.loop, 100), ES_OK);
	assert_int_equal(a.rc, ES_ECANCELLED);
	assert_true(es_loop_now_ms() - t0 < 5000);
	es_loop_free(a.loop);
	tu_rmtree(dir);
	free(dir);
}

static int load_conf(const char *text, struct es_config **c)
{
	char *dir = tu_mkdtemp();
	char *path = tu_write_file(dir, "edgeship.conf", text);
	int rc = es_config_load(path, c);

	free(path);
	tu_rmtree(dir);
	free(dir);
	return rc;
}

#define CONF_HEAD  "[app]\n\tname = a\n\tbucket = a-artifacts\n"
#define CONF_STAGE "[stage \"staging\"]\n\tstack = a-staging\n"

static void settings_in_edgeship_conf(void **state)
{
	struct es_config *c;

	(void)state;
	assert_int_equal(load_conf(CONF_HEAD CONF_STAGE, &c), ES_OK);
	assert_null(c->build);
	assert_int_equal(c->build_timeout_ms, ES_BUILD_TIMEOUT_MS);
	es_config_free(c);
	assert_int_equal(
	        load_conf(CONF_HEAD
	                  "\tbuild = npm ci && npm run build\n"
	                  "\tbuild-timeout = 2h\n"
	                  "\tbuild-env = NPM_TOKEN\n\tbuild-env = npm_config_cache\n" CONF_STAGE,
	                  &c),
	        ES_OK);
	assert_string_equal(c->build, "npm ci && npm run build");
	assert_int_equal(c->build_timeout_ms, 2L * 3600 * 1000);
	assert_int_equal(c->n_build_env, 2);
	assert_string_equal(c->build_env[1], "npm_config_cache");
	es_config_free(c);
	assert_int_equal(
	        load_conf(CONF_HEAD
	                  "\tbuild = make\n\tbuild-env = AWS_SECRET_ACCESS_KEY\n" CONF_STAGE,
	                  &c),
	        ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "edgeship.conf:5: build-env = AWS_"));
	assert_non_null(strstr(es_error_last()->message, "never reach the build"));
	assert_int_equal(load_conf(CONF_HEAD "\tbuild-env = NPM TOKEN\n" CONF_STAGE, &c),
	                 ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "not a variable name"));
	assert_int_equal(load_conf(CONF_HEAD "\tbuild-timeout = 0\n" CONF_STAGE, &c), ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "more than 0"));
	assert_int_equal(load_conf(CONF_HEAD "\tbuild-timeout = soon\n" CONF_STAGE, &c),
	                 ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "not a duration"));
}

static void package_dir(const char *dir, const char *index_js, struct es_packaged *pk)
{
	struct es_package_options o = {.bucket = "a-artifacts", .prefix = "a", .root = dir};
	char *tpl;

	free(tu_write_file(dir, "template.yaml",
	                   "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
	                   "      Runtime: nodejs20.x\n      Handler: index.handler\n"
	                   "      Code: dist/\n"));
	char *d;
	assert_true(asprintf(&d, "%s/dist", dir) > 0);
	mkdir(d, 0755);
	free(tu_write_file(d, "index.js", index_js));
	free(tu_write_file(d, "util.js", "exports.x = 1;\n"));
	free(d);
	assert_true(asprintf(&tpl, "%s/template.yaml", dir) > 0);
	assert_int_equal(es_package_template(tpl, &o, pk), ES_OK);
	free(tpl);
}

static void cache_and_digests(void **state)
{
	char *dir = tu_mkdtemp(), *cache = tu_mkdtemp(), *dir2 = tu_mkdtemp();
	struct es_packaged pk, back, other;
	struct es_build_digests dg, d1, d2;
	struct es_config conf = {.build = "make",
	                         .template_path = "template.yaml",
	                         .bucket = "a-artifacts",
	                         .prefix = "a",
	                         .region = "us-east-1"};
	char k1[65], k2[65], k3[65], k4[65];
	char *envs[] = {"BUILD_TOKEN"};

	(void)state;
	setenv("XDG_CACHE_HOME", cache, 1);
	/* The key follows every input. */
	es_build_cache_key(&conf, "1111111111111111111111111111111111111111", k1);
	es_build_cache_key(&conf, "2222222222222222222222222222222222222222", k2);
	conf.build = "make all";
	es_build_cache_key(&conf, "1111111111111111111111111111111111111111", k3);
	conf.build_env = envs;
	conf.n_build_env = 1;
	setenv("BUILD_TOKEN", "one", 1);
	es_build_cache_key(&conf, "1111111111111111111111111111111111111111", k4);
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(k1, k3);
	assert_string_not_equal(k3, k4);
	setenv("BUILD_TOKEN", "two", 1);
	es_build_cache_key(&conf, "1111111111111111111111111111111111111111", k3);
	assert_string_not_equal(k3, k4);

	/* A round trip through the cache gives the same package. */
	package_dir(dir, "exports.handler = async () => 1;\n", &pk);
	assert_int_equal(es_build_cache_load(k1, &back, NULL), ES_ENOTFOUND);
	assert_int_equal(es_build_cache_store(k1, "1111", "make", 1234, &pk), ES_OK);
	assert_int_equal(es_build_cache_load(k1, &back, &dg), ES_OK);
	assert_string_equal(back.template_sha256, pk.template_sha256);
	assert_string_equal(back.template_json, pk.template_json);
	assert_string_equal(back.template_key, pk.template_key);
	assert_int_equal(back.n_artifacts, pk.n_artifacts);
	assert_string_equal(back.artifacts[0].s3_key, pk.artifacts[0].s3_key);
	assert_int_equal(back.artifacts[0].bytes.len, pk.artifacts[0].bytes.len);
	assert_memory_equal(back.artifacts[0].bytes.data, pk.artifacts[0].bytes.data,
	                    pk.artifacts[0].bytes.len);
	assert_non_null(back.template);
	assert_int_equal(dg.n, 1);
	assert_int_equal(dg.a[0].n_files, 2);
	assert_string_equal(dg.a[0].files[0].path, "index.js");
	es_build_digests_free(&dg);
	es_packaged_free(&back);

	/* A damaged object is a miss, never a wrong deploy. */
	char *obj;
	assert_true(asprintf(&obj, "%s/edgeship/builds/%s/objects", cache, k1) > 0);
	free(tu_write_file(obj, pk.artifacts[0].sha256, "not the zip"));
	free(obj);
	assert_int_equal(es_build_cache_load(k1, &back, NULL), ES_ENOTFOUND);

	/* Two builds compared: the file that differs is named. */
	package_dir(dir2, "exports.handler = async () => 2;\n", &other);
	assert_int_equal(es_build_digests_of(&pk, &d1), ES_OK);
	assert_int_equal(es_build_digests_of(&other, &d2), ES_OK);
	struct es_build_diff *diffs;
	size_t n;
	assert_int_equal(es_build_digests_compare(&d1, &d2, &diffs, &n), ES_OK);
	assert_int_equal(n, 1);
	assert_string_equal(diffs[0].file, "index.js");
	assert_string_equal(diffs[0].what, "differs");
	assert_non_null(strstr(diffs[0].artifact, "Fn Code (dist)"));
	es_build_diffs_free(diffs, n);
	assert_int_equal(es_build_digests_compare(&d1, &d1, &diffs, &n), ES_OK);
	assert_int_equal(n, 0);
	es_build_digests_free(&d1);
	es_build_digests_free(&d2);
	es_packaged_free(&pk);
	es_packaged_free(&other);
	unsetenv("BUILD_TOKEN");
	tu_rmtree(dir);
	tu_rmtree(dir2);
	tu_rmtree(cache);
	free(dir);
	free(dir2);
	free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(environment_is_clean),
	        cmocka_unit_test(output_streams_in_order),
	        cmocka_unit_test(failure_names_command_and_tail),
	        cmocka_unit_test(timeout_kills_the_group),
	        cmocka_unit_test(loop_stays_free),
	        cmocka_unit_test(settings_in_edgeship_conf),
	        cmocka_unit_test(cache_and_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
