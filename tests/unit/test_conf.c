/* edgeship.conf: what it accepts, and that every mistake names its line and
 * says what to write instead. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "canary_conf.h"
#include "conf.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	dir = tu_mkdtemp();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static int load_text(const char *text, struct es_config **out)
{
	char *path = tu_write_file(dir, "edgeship.conf", text);
	int rc = es_config_load(path, out);
	free(path);
	return rc;
}

/* The message of a failed load, which must start with "…edgeship.conf:LINE:". */
static void expect_error(const char *text, int line, const char *needle)
{
	struct es_config *c = NULL;
	char prefix[64];

	assert_int_equal(load_text(text, &c), ES_ECONFIG);
	assert_null(c);
	const char *msg = es_error_last()->message;
	snprintf(prefix, sizeof(prefix), "edgeship.conf:%d: ", line);
	if (!strstr(msg, prefix) || !strstr(msg, needle))
		fail_msg("expected '%s' and '%s' in: %s", prefix, needle, msg);
}

static const char *good = "[app]\n"
                          "\tname = demo\n"
                          "\ttemplate = app/template.yaml\n"
                          "\tbucket = demo-artifacts\n"
                          "\tprefix = demo\n"
                          "\tcapability = CAPABILITY_IAM\n"
                          "\tcapability = CAPABILITY_AUTO_EXPAND\n"
                          "\texclude = *.md\n"
                          "[stage \"staging\"]\n"
                          "\tstack = demo-staging\n"
                          "\tparameter = Stage=staging\n"
                          "\tparameter = Extra=a=b\n"
                          "\ttag = team=web\n"
                          "\turl = http://staging.example.com\n"
                          "\tprobe = 127.0.0.1:8081\n"
                          "\tprobe = 127.0.0.1:8082\n"
                          "[stage \"production\"]\n"
                          "\tstack = demo-production\n"
                          "\tpromotes-from = staging\n"
                          "[check \"home\"]\n"
                          "\tpath = /\n"
                          "\tbody-contains = awesome\n"
                          "\ttimeout = 2.5s\n"
                          "\tsamples = 3\n";

static void loads_a_full_file(void **state)
{
	struct es_config *c;

	assert_int_equal(load_text(good, &c), ES_OK);
	assert_string_equal(c->app, "demo");
	assert_string_equal(c->template_path, "app/template.yaml");
	assert_string_equal(c->region, "us-east-1");
	assert_int_equal(c->n_capabilities, 2);
	assert_int_equal(c->n_stages, 2);
	assert_string_equal(c->stages[0].name, "staging");
	assert_int_equal(c->stages[0].n_parameters, 2);
	/* Only the first '=' splits. */
	assert_string_equal(c->stages[0].parameters[1].key, "Extra");
	assert_string_equal(c->stages[0].parameters[1].value, "a=b");
	assert_int_equal(c->stages[0].n_probes, 2);
	assert_ptr_equal(es_config_first_stage(c), &c->stages[0]);
	assert_string_equal(es_config_stage(c, "production")->promotes_from, "staging");
	assert_int_equal(c->n_checks, 1);
	assert_int_equal(c->checks[0].status, 200);
	assert_int_equal(c->checks[0].timeout_ms, 2500);
	assert_int_equal(c->checks[0].samples, 3);
	assert_int_equal(c->checks[0].line, 20);
	es_config_free(c);
}

static void missing_file(void **state)
{
	struct es_config *c;
	char path[512];

	snprintf(path, sizeof(path), "%s/nope.conf", dir);
	assert_int_equal(es_config_load(path, &c), ES_ENOTFOUND);
	assert_non_null(strstr(es_error_last()->message, "edgeship init"));
}

static void unknown_key_suggests(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstak = x-s\n", 5,
	             "did you mean 'stack'");
}

static void unknown_section(void **state)
{
	expect_error("[app]\n\tname = x\n[stages \"s\"]\n\tstack = a\n", 3, "unknown section");
}

static void stage_without_stack(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = b\n\n[stage \"staging\"]\n\turl = http://x\n",
	             5, "add stack = x-staging");
}

static void bad_parameter(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n"
	             "\tparameter = Stage\n",
	             6, "KEY=VALUE");
}

static void promotes_from_unknown(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n"
	             "[stage \"p\"]\n\tstack = b\n\tpromotes-from = q\n",
	             8, "names no other stage");
}

static void promotion_loop(void **state)
{
	struct es_config *c;
	assert_int_equal(load_text("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n"
	                           "\tpromotes-from = p\n[stage \"p\"]\n\tstack = b\n"
	                           "\tpromotes-from = s\n",
	                           &c),
	                 ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "loop"));
}

static void wrong_region(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = b\n\tregion = eu-west-1\n"
	             "[stage \"s\"]\n\tstack = a\n",
	             4, "us-east-1");
}

static void syntax_error_has_line(void **state)
{
	expect_error("[app]\n\tname = x\n[stage \"s\n\tstack = a\n", 3, "");
}

static void bad_number_and_regex(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n"
	             "[check \"c\"]\n\tpath = /\n\tstatus = abc\n",
	             8, "whole number");
	expect_error("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n"
	             "[check \"c\"]\n\tpath = /\n\tbody-matches = (unclosed\n",
	             8, "regular expression");
	expect_error("[app]\n\tname = x\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n"
	             "[check \"c\"]\n\tpath = nope\n",
	             7, "must start with '/'");
}

static void duplicate_single_value(void **state)
{
	expect_error("[app]\n\tname = x\n\tname = y\n\tbucket = b\n[stage \"s\"]\n\tstack = a\n", 2,
	             "twice");
}

/* A valid file with one [app] line replaced by line (at line 4). */
static char *app_with(const char *line)
{
	char *text;

	assert_true(asprintf(&text,
	                     "[app]\n\tname = demo\n\tbucket = demo-artifacts\n\t%s\n"
	                     "[stage \"staging\"]\n\tstack = demo-staging\n",
	                     line) > 0);
	return text;
}

static void expect_app_error(const char *line, const char *needle)
{
	char *text = app_with(line);
	expect_error(text, 4, needle);
	free(text);
}

static void template_must_stay_in_the_repository(void **state)
{
	expect_app_error("template = ../x.json", "template = ../x.json leaves the repository");
	expect_app_error("template = app/../../x.yaml", "leaves the repository");
	expect_app_error("template = /etc/template.yaml", "is an absolute path");
	expect_app_error("template = ./.", "names the repository itself");
}

static void template_path_is_normalised(void **state)
{
	struct es_config *c = NULL;
	char *text = app_with("template = ./app/../stacks//main.yaml");

	assert_int_equal(load_text(text, &c), ES_OK);
	assert_string_equal(c->template_path, "stacks/main.yaml");
	es_config_free(c);
	free(text);
}

static void bucket_follows_s3_rules(void **state)
{
	static const char *const bad[][2] = {
	        {"bucket = ab", "3 to 63 characters"},
	        {"bucket = Demo-Artifacts", "lower-case letters"},
	        {"bucket = demo_artifacts", "lower-case letters"},
	        {"bucket = -demo", "starts and ends with a letter or a digit"},
	        {"bucket = demo..artifacts", "no '..'"},
	        {"bucket = 192.168.1.10", "not an IP address"},
	        {"bucket = xn--demo", "reserves"},
	        {"bucket = demo-s3alias", "reserves"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* The good bucket line is replaced, so the bad one is line 3. */
		char *text;
		assert_true(asprintf(&text,
		                     "[app]\n\tname = demo\n\t%s\n"
		                     "[stage \"staging\"]\n\tstack = demo-staging\n",
		                     bad[i][0]) > 0);
		expect_error(text, 3, bad[i][1]);
		free(text);
	}
}

static void prefix_is_a_plain_key_prefix(void **state)
{
	struct es_config *c = NULL;
	char *text;

	expect_app_error("prefix = ../escape", "a '.' or '..' segment");
	expect_app_error("prefix = a/../b", "a '.' or '..' segment");
	expect_app_error("prefix = a/./b", "a '.' or '..' segment");
	expect_app_error("prefix = /abs", "starts with '/'");
	expect_app_error("prefix = a//b", "empty segment");
	expect_app_error("prefix = a b", "only letters, digits");
	expect_app_error("prefix = a%2e", "only letters, digits");
	text = app_with("prefix = teams/web-site_1.0/");
	assert_int_equal(load_text(text, &c), ES_OK);
	assert_string_equal(c->prefix, "teams/web-site_1.0/");
	es_config_free(c);
	free(text);
}

static void stage_and_stack_names_are_checked(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = x-artifacts\n[stage \"../up\"]\n\tstack = a\n",
	             4, "only letters, digits, '-' and '_'");
	expect_error("[app]\n\tname = x\n\tbucket = x-artifacts\n"
	             "[stage \"a-very-long-stage-name-beyond-32chars\"]\n\tstack = a\n",
	             4, "1 to 32 characters");
	expect_error(
	        "[app]\n\tname = x\n\tbucket = x-artifacts\n[stage \"s\"]\n\tstack = my_stack\n", 5,
	        "only letters, digits and '-'");
}

static void samples_are_bounded(void **state)
{
	expect_error("[app]\n\tname = x\n\tbucket = x-artifacts\n[stage \"s\"]\n\tstack = a\n"
	             "[check \"c\"]\n\tpath = /\n\tsamples = 0\n",
	             8, "1 to 20 requests");
	expect_error("[app]\n\tname = x\n\tbucket = x-artifacts\n[stage \"s\"]\n\tstack = a\n"
	             "[check \"c\"]\n\tpath = /\n\tsamples = 21\n",
	             8, "1 to 20 requests");
	/* Beyond int: not wrapped round to a small count. */
	expect_error("[app]\n\tname = x\n\tbucket = x-artifacts\n[stage \"s\"]\n\tstack = a\n"
	             "[check \"c\"]\n\tpath = /\n\tsamples = 4294967297\n",
	             8, "1 to 20 requests");
}

static void key_outside_any_section(void **state)
{
	/* libgit2 reads a key above the first header as a name without a
	 * section; it must be reported at its line, not as an unreadable entry. */
	expect_error("# settings\n\nbucket = b\n[app]\n\tname = x\n", 3,
	             "'bucket' is outside any section; put it under [app]");
}

static void invalid_escape_has_line(void **state)
{
	/* libgit2 gives no position for this one, only the rest of the line. */
	expect_error("[app]\n\tname = x\n\tbucket = \"a\\qb\"\n", 3, "invalid escape");
}

/* probe-bypass: in [app] for every stage, in a stage for that one; a
 * value that is neither a path nor a query says what to write. */
static void probe_bypass_per_app_and_stage(void **state)
{
	struct es_config *c = NULL;

	(void)state;
	assert_int_equal(load_text("[app]\n\tname = x\n\tbucket = demo-artifacts\n\tprobe-bypass = ?nocache\n"
	                           "[stage \"s\"]\n\tstack = a\n"
	                           "[stage \"p\"]\n\tstack = b\n\tpromotes-from = s\n"
	                           "\tprobe-bypass = /edgeship-probe\n",
	                           &c),
	                 ES_OK);
	assert_string_equal(es_config_stage(c, "s")->probe_bypass, "?nocache");
	assert_string_equal(es_config_stage(c, "p")->probe_bypass, "/edgeship-probe");
	es_config_free(c);
	expect_error("[app]\n\tname = x\n\tbucket = demo-artifacts\n[stage \"s\"]\n\tstack = a\n"
	             "\tprobe-bypass = nocache\n",
	             6, "write a path (/edgeship-probe) or a query");
	expect_error("[app]\n\tname = x\n\tbucket = demo-artifacts\n\tprobe-bypass = x\n[stage \"s\"]\n"
	             "\tstack = a\n",
	             4, "probe-bypass = x");
}

static void starter_file_is_valid(void **state)
{
	char path[512];
	struct es_config *c;

	snprintf(path, sizeof(path), "%s/starter.conf", dir);
	assert_int_equal(es_config_write_starter(path, "shop", "template.yaml"), ES_OK);
	assert_int_equal(es_config_load(path, &c), ES_OK);
	assert_string_equal(c->bucket, "shop-artifacts");
	assert_int_equal(c->n_stages, 2);
	es_config_free(c);
	/* It never overwrites. */
	assert_int_equal(es_config_write_starter(path, "shop", NULL), ES_EINVAL);
}

static void includes_are_never_followed(void **state)
{
	(void)state;
	/* /dev/zero would never end: refused before libgit2 opens it. */
	expect_error("[app]\n\tname = x\n [Include]\n\tpath = /dev/zero\n", 3,
	             "[include] and [includeIf] are not followed");
	expect_error("[app]\n\tname = x\n[includeIf \"gitdir:/\"]\n\tpath = /etc/passwd\n", 3,
	             "are not followed");
}

static void only_a_small_regular_file(void **state)
{
	struct es_config *c = NULL;
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/adir.conf", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(es_config_load(path, &c), ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "not a regular file"));
	/* A file of comments past 1 MiB. */
	size_t n = 2 * 1024 * 1024;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? '#' : 'x';
	big[n] = '\0';
	assert_int_equal(load_text(big, &c), ES_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(es_error_last()->message, "larger than 1024 KiB"));
	free(big);
}

/* Pipeline mode: [pipeline] sections, stages naming them, lambda checks. */
static void pipeline_mode(void **state)
{
	static const char *base = "[app]\n\tname = x\n\tbucket = x-artifacts\n"
	                          "[stage \"staging\"]\n\tstack = x-staging\n";
	struct es_config *c = NULL;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text),
	         "%s\tpipeline = web\n\tpipeline-stage = Staging\n[pipeline \"web\"]\n"
	         "\tname = x-release\n[check \"v\"]\n\tlambda = x-validator\n",
	         base);
	assert_int_equal(load_text(text, &c), ES_OK);
	assert_int_equal(c->n_pipelines, 1);
	assert_string_equal(c->pipelines[0].pipeline, "x-release");
	assert_string_equal(es_config_stage(c, "staging")->pipeline_stage, "Staging");
	assert_string_equal(c->checks[0].lambda, "x-validator");
	assert_int_equal(es_config_refuse_pipeline_stage(c, "staging", "deploy"), ES_EREFUSED);
	assert_non_null(strstr(es_error_last()->message, "edgeship pipeline"));
	assert_non_null(strstr(es_error_last()->message, "x-release"));
	es_config_free(c);

	snprintf(text, sizeof(text), "%s\tpipeline = web\n\tpipeline-stage = Staging\n", base);
	expect_error(text, 6, "no [pipeline \"web\"] section names a CodePipeline");
	snprintf(text, sizeof(text), "%s\tpipeline = web\n[pipeline \"web\"]\n\tname = r\n", base);
	expect_error(text, 6, "add pipeline-stage");
	snprintf(text, sizeof(text), "%s\tpipeline-stage = Staging\n", base);
	expect_error(text, 6, "no pipeline = ");
	/* libgit2 gives no entry for an empty section: the stage naming it
	 * is what is refused. */
	snprintf(text, sizeof(text), "%s\tpipeline = web\n\tpipeline-stage = S\n[pipeline \"web\"]\n",
	         base);
	expect_error(text, 6, "names a CodePipeline");
	snprintf(text, sizeof(text), "%s[pipeline \"web\"]\n\tname = r\n\tstack = s\n", base);
	expect_error(text, 8, "unknown key 'stack' in [pipeline]");
	snprintf(text, sizeof(text), "%s[check \"v\"]\n\tstatus = 200\n", base);
	expect_error(text, 6, "lambda = ");
}

/* The canary key: each form read as written, CloudFront's limits refused at
 * the line with what to write. */
static void canary_key(void **state)
{
	struct es_cd_traffic t;
	char msg[300], text[2048];
	struct es_config *c = NULL;

	(void)state;
	assert_int_equal(es_canary_parse("weight 5%", &t, msg, sizeof(msg)), ES_OK);
	assert_false(t.header_based);
	assert_true(t.weight > 0.0499 && t.weight < 0.0501);
	assert_int_equal(t.idle_ttl, 0);
	assert_int_equal(es_canary_parse("weight 15% sticky 10m", &t, msg, sizeof(msg)), ES_OK);
	assert_int_equal(t.idle_ttl, 600);
	assert_int_equal(t.max_ttl, 3600);
	assert_int_equal(es_canary_parse("weight 2.5% sticky 5m/30m", &t, msg, sizeof(msg)), ES_OK);
	assert_true(t.weight > 0.0249 && t.weight < 0.0251);
	assert_int_equal(t.idle_ttl, 300);
	assert_int_equal(t.max_ttl, 1800);
	assert_int_equal(es_canary_parse("header aws-cf-cd-canary:  yes ", &t, msg, sizeof(msg)),
	                 ES_OK);
	assert_true(t.header_based);
	assert_string_equal(t.header, "aws-cf-cd-canary");
	assert_string_equal(t.value, "yes");

	assert_int_equal(es_canary_parse("weight 16%", &t, msg, sizeof(msg)), ES_EINVAL);
	assert_non_null(strstr(msg, "at most 15%"));
	assert_int_equal(es_canary_parse("weight 5", &t, msg, sizeof(msg)), ES_EINVAL);
	assert_int_equal(es_canary_parse("weight 5% sticky 1m", &t, msg, sizeof(msg)), ES_EINVAL);
	assert_non_null(strstr(msg, "between 5m and 1h"));
	assert_int_equal(es_canary_parse("weight 5% sticky 30m/10m", &t, msg, sizeof(msg)),
	                 ES_EINVAL);
	assert_int_equal(es_canary_parse("weight 5% fast", &t, msg, sizeof(msg)), ES_EINVAL);
	assert_int_equal(es_canary_parse("header x-canary: yes", &t, msg, sizeof(msg)), ES_EINVAL);
	assert_non_null(strstr(msg, "aws-cf-cd-"));
	assert_int_equal(es_canary_parse("header aws-cf-cd-canary", &t, msg, sizeof(msg)),
	                 ES_EINVAL);
	assert_int_equal(es_canary_parse("half", &t, msg, sizeof(msg)), ES_EINVAL);
	assert_non_null(strstr(msg, "weight 5%"));

	/* In a file: read onto the stage, a mistake names its line. */
	snprintf(text, sizeof(text), "%s", good);
	char *p = strstr(text, "\tpromotes-from = staging\n");
	assert_non_null(p);
	memmove(p + strlen("\tcanary = weight 10%\n"), p, strlen(p) + 1);
	memcpy(p, "\tcanary = weight 10%\n", strlen("\tcanary = weight 10%\n"));
	assert_int_equal(load_text(text, &c), ES_OK);
	assert_string_equal(es_config_stage(c, "production")->canary, "weight 10%");
	assert_null(es_config_stage(c, "staging")->canary);
	es_config_free(c);
	memcpy(p, "\tcanary = weight 20%\n", strlen("\tcanary = weight 20%\n"));
	expect_error(text, 19, "at most 15%");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(loads_a_full_file),
	        cmocka_unit_test(missing_file),
	        cmocka_unit_test(unknown_key_suggests),
	        cmocka_unit_test(unknown_section),
	        cmocka_unit_test(stage_without_stack),
	        cmocka_unit_test(bad_parameter),
	        cmocka_unit_test(promotes_from_unknown),
	        cmocka_unit_test(promotion_loop),
	        cmocka_unit_test(wrong_region),
	        cmocka_unit_test(syntax_error_has_line),
	        cmocka_unit_test(bad_number_and_regex),
	        cmocka_unit_test(duplicate_single_value),
	        cmocka_unit_test(template_must_stay_in_the_repository),
	        cmocka_unit_test(template_path_is_normalised),
	        cmocka_unit_test(bucket_follows_s3_rules),
	        cmocka_unit_test(prefix_is_a_plain_key_prefix),
	        cmocka_unit_test(stage_and_stack_names_are_checked),
	        cmocka_unit_test(samples_are_bounded),
	        cmocka_unit_test(pipeline_mode),
	        cmocka_unit_test(key_outside_any_section),
	        cmocka_unit_test(invalid_escape_has_line),
	        cmocka_unit_test(starter_file_is_valid),
	        cmocka_unit_test(probe_bypass_per_app_and_stage),
	        cmocka_unit_test(includes_are_never_followed),
	        cmocka_unit_test(only_a_small_regular_file),
	        cmocka_unit_test(canary_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
