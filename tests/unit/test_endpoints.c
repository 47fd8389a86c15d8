/* AWS settings files, region and retry settings, and endpoint resolution:
 * every override level, its precedence, and the messages for bad values. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/endpoints.h"
#include "base/error.h"
#include "testutil.h"

extern char **environ;

struct fixture {
	char *dir;
	char *config;      /* path of the config file (may not exist yet) */
	char *credentials; /* path of the credentials file */
};

/* Drop every AWS_* variable so the developer's own setup cannot leak in. */
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	clear_aws_env();
	f->dir = tu_mkdtemp();
	if (!f->dir)
		return -1;
	if (asprintf(&f->config, "%s/config", f->dir) < 0 ||
	    asprintf(&f->credentials, "%s/credentials", f->dir) < 0)
		return -1;
	setenv("HOME", f->dir, 1);
	setenv("AWS_CONFIG_FILE", f->config, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", f->credentials, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmtree(f->dir);
	free(f->dir);
	free(f->config);
	free(f->credentials);
	free(f);
	return 0;
}

static void write_config(struct fixture *f, const char *text)
{
	free(tu_write_file(f->dir, "config", text));
}

static void write_credentials(struct fixture *f, const char *text)
{
	free(tu_write_file(f->dir, "credentials", text));
}

static void load_settings(struct es_aws_settings *s)
{
	int rc = es_settings_load(NULL, NULL, s);
	if (rc)
		fail_msg("es_settings_load: %s", es_error_last()->message);
}

static void resolve(const struct es_aws_settings *s, const char *service, struct es_endpoint *e)
{
	int rc = es_endpoint_resolve(s, service, e);
	if (rc)
		fail_msg("es_endpoint_resolve(%s): %s", service, es_error_last()->message);
}

/* ------------------------------------------------------------ files */

static void config_missing_files_are_empty(void **state)
{
	struct es_awsconfig *c;

	(void)state;
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_OK);
	assert_false(es_awsconfig_has_profile(c, "default"));
	assert_null(es_awsconfig_get(c, "default", "region"));
	es_awsconfig_free(c);
}

static void config_default_paths_follow_home(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c;
	char *want;

	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_OK);
	assert_int_not_equal(asprintf(&want, "%s/.aws/credentials", f->dir), -1);
	assert_string_equal(es_awsconfig_path(c, ES_AWSCONFIG_CREDENTIALS), want);
	free(want);
	es_awsconfig_free(c);
}

static void config_malformed_names_file_and_line(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c = (void *)1;
	char want[512];

	write_config(f, "[default]\nregion = eu-west-1\n\n[profile broken\noutput = json\n");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_ECONFIG);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:4: ", f->config);
	assert_non_null(strstr(es_error_last()->message, want));

	write_config(f, "[default]\nthis line has no equals sign\n");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_ECONFIG);
	snprintf(want, sizeof(want), "%s:2: ", f->config);
	assert_non_null(strstr(es_error_last()->message, want));
}

static void config_setting_outside_section(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c;
	char want[512];

	write_config(f, "");
	write_credentials(f, "# keys\naws_access_key_id = AKIA\n[default]\n");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_ECONFIG);
	snprintf(want, sizeof(want), "%s:2: setting outside any [section]", f->credentials);
	assert_string_equal(es_error_last()->message, want);
}

static void config_profile_sections(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c;

	write_config(f, "[default]\nregion = eu-west-1\n"
	                "[profile  dev ]\nregion=eu-central-1\noutput = json ; not a comment\n"
	                "[bare]\nregion = us-west-2\n"
	                "[profile empty]\n");
	write_credentials(f, "[prod]\naws_access_key_id = AKIAPROD\n");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_OK);
	assert_string_equal(es_awsconfig_get(c, "default", "region"), "eu-west-1");
	assert_string_equal(es_awsconfig_get(c, "dev", "region"), "eu-central-1");
	/* Like the AWS CLI: no inline comments, and keys are not case-sensitive. */
	assert_string_equal(es_awsconfig_get(c, "dev", "OUTPUT"), "json ; not a comment");
	/* In the config file a profile needs the "profile " prefix. */
	assert_false(es_awsconfig_has_profile(c, "bare"));
	assert_null(es_awsconfig_get(c, "bare", "region"));
	assert_true(es_awsconfig_has_profile(c, "empty"));
	assert_true(es_awsconfig_has_profile(c, "prod"));
	assert_string_equal(es_awsconfig_get(c, "prod", "aws_access_key_id"), "AKIAPROD");
	assert_false(es_awsconfig_has_profile(c, "nope"));
	es_awsconfig_free(c);
}

static void config_credentials_file_wins(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c;

	write_config(f, "[profile dev]\naws_access_key_id = FROMCONFIG\nregion = eu-west-1\n");
	write_credentials(f, "[dev]\naws_access_key_id = FROMCREDS\n");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_OK);
	assert_string_equal(es_awsconfig_get(c, "dev", "aws_access_key_id"), "FROMCREDS");
	assert_string_equal(es_awsconfig_get_in(c, ES_AWSCONFIG_CONFIG, "dev", "aws_access_key_id"),
	                    "FROMCONFIG");
	assert_string_equal(es_awsconfig_get(c, "dev", "region"), "eu-west-1");
	es_awsconfig_free(c);
}

static void config_services_nested(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c;

	write_config(f, "[profile local]\nservices = localstack\nregion = us-east-1\n"
	                "[services localstack]\n"
	                "s3 =\n  endpoint_url = http://localhost:4566\n"
	                "cloudformation =\n"
	                "\tendpoint_url = http://localhost:4567\n"
	                "\taddressing_style = path\n");
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_OK);
	assert_string_equal(es_awsconfig_get_service(c, "local", "s3", "endpoint_url"),
	                    "http://localhost:4566");
	assert_string_equal(es_awsconfig_get_service(c, "local", "cloudformation", "endpoint_url"),
	                    "http://localhost:4567");
	assert_string_equal(
	        es_awsconfig_get_service(c, "local", "cloudformation", "addressing_style"), "path");
	assert_null(es_awsconfig_get_service(c, "local", "lambda", "endpoint_url"));
	assert_null(es_awsconfig_get_service(c, "default", "s3", "endpoint_url"));
	/* The nested line is not a profile key of its own. */
	assert_null(es_awsconfig_get(c, "local", "endpoint_url"));
	es_awsconfig_free(c);
}

static void config_long_lines(void **state)
{
	struct fixture *f = *state;
	struct es_awsconfig *c;
	char token[3001], text[3200];

	memset(token, 'T', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	snprintf(text, sizeof(text), "[dev]\naws_session_token = %s\nafter = yes\n", token);
	write_credentials(f, text);
	assert_int_equal(es_awsconfig_load(NULL, NULL, &c), ES_OK);
	assert_string_equal(es_awsconfig_get(c, "dev", "aws_session_token"), token);
	assert_string_equal(es_awsconfig_get(c, "dev", "after"), "yes");
	es_awsconfig_free(c);
}

/* ------------------------------------------------------------ settings */

static void region_sources(void **state)
{
	struct fixture *f = *state;
	struct es_aws_settings s;

	load_settings(&s);
	assert_null(s.region);
	assert_string_equal(s.region_source, "default");
	assert_string_equal(s.profile, "default");
	es_settings_free(&s);

	write_config(f, "[profile dev]\nregion = ap-southeast-2\n");
	setenv("AWS_PROFILE", "dev", 1);
	load_settings(&s);
	assert_string_equal(s.profile, "dev");
	assert_string_equal(s.region, "ap-southeast-2");
	assert_string_equal(s.region_source, "profile dev");
	es_settings_free(&s);

	setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
	load_settings(&s);
	assert_string_equal(s.region, "eu-north-1");
	assert_string_equal(s.region_source, "AWS_DEFAULT_REGION");
	es_settings_free(&s);

	setenv("AWS_REGION", "eu-west-3", 1);
	load_settings(&s);
	assert_string_equal(s.region, "eu-west-3");
	assert_string_equal(s.region_source, "AWS_REGION");
	es_settings_free(&s);

	assert_int_equal(es_settings_load("other", "sa-east-1", &s), ES_OK);
	assert_string_equal(s.profile, "other");
	assert_string_equal(s.region, "sa-east-1");
	assert_string_equal(s.region_source, "override");
	es_settings_free(&s);
}

static void region_rejected(void **state)
{
	struct es_aws_settings s;

	(void)state;
	setenv("AWS_REGION", "eu west 1", 1);
	assert_int_equal(es_settings_load(NULL, NULL, &s), ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "AWS_REGION"));
	assert_null(s.profile);
}

static void max_attempts_parsed(void **state)
{
	struct fixture *f = *state;
	struct es_aws_settings s;

	load_settings(&s);
	assert_int_equal(s.max_attempts, 3);
	assert_string_equal(s.retry_mode, "standard");
	es_settings_free(&s);

	write_config(f, "[default]\nmax_attempts = 7\nretry_mode = adaptive\n");
	load_settings(&s);
	assert_int_equal(s.max_attempts, 7);
	assert_string_equal(s.retry_mode, "adaptive");
	es_settings_free(&s);

	setenv("AWS_MAX_ATTEMPTS", "2", 1);
	setenv("AWS_RETRY_MODE", "legacy", 1);
	load_settings(&s);
	assert_int_equal(s.max_attempts, 2);
	assert_string_equal(s.retry_mode, "legacy");
	es_settings_free(&s);
}

static void max_attempts_rejected(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"abc", "0", "-1", "3x", "", " 4", "21", "99999999999"};
	struct es_aws_settings s;
	char want[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!*bad[i])
			continue; /* empty means unset */
		setenv("AWS_MAX_ATTEMPTS", bad[i], 1);
		assert_int_equal(es_settings_load(NULL, NULL, &s), ES_ECONFIG);
		snprintf(want, sizeof(want),
		         "AWS_MAX_ATTEMPTS must be a whole number from 1 to 20, not \"%s\"",
		         bad[i]);
		assert_string_equal(es_error_last()->message, want);
	}
	unsetenv("AWS_MAX_ATTEMPTS");
	write_config(f, "[default]\nmax_attempts = lots\n");
	assert_int_equal(es_settings_load(NULL, NULL, &s), ES_ECONFIG);
	assert_string_equal(es_error_last()->message,
	                    "max_attempts in profile default must be a whole number from 1 to 20, "
	                    "not \"lots\"");
}

static void retry_mode_rejected(void **state)
{
	struct es_aws_settings s;

	(void)state;
	setenv("AWS_RETRY_MODE", "aggressive", 1);
	assert_int_equal(es_settings_load(NULL, NULL, &s), ES_ECONFIG);
	assert_string_equal(
	        es_error_last()->message,
	        "AWS_RETRY_MODE must be standard, legacy or adaptive, not \"aggressive\"");
}

/* ------------------------------------------------------------ endpoints */

static void default_endpoints(void **state)
{
	static const char *const ids[] = {"sts", "cloudformation", "s3", "lambda", "codepipeline"};
	struct es_aws_settings s;
	struct es_endpoint e;
	char want[128];

	(void)state;
	setenv("AWS_REGION", "eu-west-1", 1);
	load_settings(&s);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		resolve(&s, ids[i], &e);
		snprintf(want, sizeof(want), "https://%s.eu-west-1.amazonaws.com", ids[i]);
		assert_string_equal(e.url, want);
		assert_string_equal(e.host, want + 8);
		assert_string_equal(e.signing_region, "eu-west-1");
		assert_string_equal(e.signing_name, ids[i]);
		assert_string_equal(e.source, "default");
		assert_false(e.overridden);
		assert_false(e.path_style);
		es_endpoint_free(&e);
	}
	es_settings_free(&s);
}

static void default_endpoints_without_region(void **state)
{
	struct es_aws_settings s;
	struct es_endpoint e;

	(void)state;
	load_settings(&s);
	resolve(&s, "s3", &e);
	/* Regional S3 everywhere, us-east-1 included. */
	assert_string_equal(e.url, "https://s3.us-east-1.amazonaws.com");
	assert_string_equal(e.signing_region, "us-east-1");
	es_endpoint_free(&e);
	es_settings_free(&s);

	setenv("AWS_REGION", "cn-north-1", 1);
	load_settings(&s);
	resolve(&s, "cloudformation", &e);
	assert_string_equal(e.url, "https://cloudformation.cn-north-1.amazonaws.com.cn");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void cloudfront_signed_for_us_east_1(void **state)
{
	struct es_aws_settings s;
	struct es_endpoint e;

	(void)state;
	setenv("AWS_REGION", "eu-west-1", 1);
	load_settings(&s);
	resolve(&s, "cloudfront", &e);
	assert_string_equal(e.url, "https://cloudfront.amazonaws.com");
	assert_string_equal(e.host, "cloudfront.amazonaws.com");
	assert_string_equal(e.signing_region, "us-east-1");
	assert_string_equal(e.signing_name, "cloudfront");
	es_endpoint_free(&e);

	setenv("AWS_ENDPOINT_URL", "http://localhost:4566", 1);
	resolve(&s, "cloudfront", &e);
	assert_string_equal(e.url, "http://localhost:4566");
	assert_string_equal(e.signing_region, "us-east-1");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void service_variable_override(void **state)
{
	struct es_aws_settings s;
	struct es_endpoint e;

	(void)state;
	setenv("AWS_REGION", "eu-west-1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
	load_settings(&s);
	resolve(&s, "s3", &e);
	assert_string_equal(e.url, "http://127.0.0.1:9000");
	assert_string_equal(e.host, "127.0.0.1:9000");
	assert_string_equal(e.source, "AWS_ENDPOINT_URL_S3");
	assert_string_equal(e.signing_region, "eu-west-1");
	assert_true(e.overridden);
	assert_true(e.path_style);
	es_endpoint_free(&e);
	/* Only S3 is overridden. */
	resolve(&s, "lambda", &e);
	assert_string_equal(e.source, "default");
	es_endpoint_free(&e);
	es_settings_free(&s);

	setenv("AWS_ENDPOINT_URL_CODEPIPELINE", "https://pipes.example.test", 1);
	load_settings(&s);
	resolve(&s, "codepipeline", &e);
	assert_string_equal(e.url, "https://pipes.example.test");
	assert_string_equal(e.source, "AWS_ENDPOINT_URL_CODEPIPELINE");
	assert_false(e.path_style); /* path style is an S3 matter */
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void services_section_override(void **state)
{
	struct fixture *f = *state;
	struct es_aws_settings s;
	struct es_endpoint e;

	write_config(
	        f, "[default]\nservices = local\n"
	           "[services local]\ncloudformation =\n  endpoint_url = http://localhost:4566/\n");
	load_settings(&s);
	resolve(&s, "cloudformation", &e);
	assert_string_equal(e.url, "http://localhost:4566");
	assert_string_equal(e.source, "services section");
	assert_true(e.overridden);
	es_endpoint_free(&e);
	resolve(&s, "sts", &e);
	assert_string_equal(e.source, "default");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void global_variable_override(void **state)
{
	struct es_aws_settings s;
	struct es_endpoint e;

	(void)state;
	setenv("AWS_ENDPOINT_URL", "http://localhost:5000", 1);
	load_settings(&s);
	resolve(&s, "sts", &e);
	assert_string_equal(e.url, "http://localhost:5000");
	assert_string_equal(e.source, "AWS_ENDPOINT_URL");
	assert_string_equal(e.signing_region, "us-east-1");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void profile_endpoint_url(void **state)
{
	struct fixture *f = *state;
	struct es_aws_settings s;
	struct es_endpoint e;

	write_config(f,
	             "[profile sim]\nendpoint_url = http://localhost:5001\nregion = eu-west-2\n");
	setenv("AWS_PROFILE", "sim", 1);
	load_settings(&s);
	resolve(&s, "lambda", &e);
	assert_string_equal(e.url, "http://localhost:5001");
	assert_string_equal(e.source, "profile endpoint_url");
	assert_string_equal(e.signing_region, "eu-west-2");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void override_precedence(void **state)
{
	struct fixture *f = *state;
	struct es_aws_settings s;
	struct es_endpoint e;

	write_config(f, "[default]\nendpoint_url = http://profile:1\nservices = svc\n"
	                "[services svc]\ns3 =\n  endpoint_url = http://section:2\n");
	setenv("AWS_ENDPOINT_URL", "http://global:3", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://service:4", 1);
	load_settings(&s);

	resolve(&s, "s3", &e);
	assert_string_equal(e.url, "http://service:4");
	es_endpoint_free(&e);

	unsetenv("AWS_ENDPOINT_URL_S3");
	resolve(&s, "s3", &e);
	assert_string_equal(e.url, "http://section:2");
	es_endpoint_free(&e);

	/* Services without a section entry fall to the global variable. */
	resolve(&s, "sts", &e);
	assert_string_equal(e.url, "http://global:3");
	es_endpoint_free(&e);

	unsetenv("AWS_ENDPOINT_URL");
	resolve(&s, "sts", &e);
	assert_string_equal(e.url, "http://profile:1");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void ignore_configured_endpoints(void **state)
{
	struct fixture *f = *state;
	struct es_aws_settings s;
	struct es_endpoint e;

	write_config(f, "[default]\nendpoint_url = http://profile:1\n");
	setenv("AWS_ENDPOINT_URL_S3", "http://service:4", 1);
	setenv("AWS_ENDPOINT_URL", "http://global:3", 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	load_settings(&s);
	resolve(&s, "s3", &e);
	assert_string_equal(e.url, "https://s3.us-east-1.amazonaws.com");
	assert_string_equal(e.source, "default");
	assert_false(e.overridden);
	assert_false(e.path_style);
	es_endpoint_free(&e);
	es_settings_free(&s);

	/* The same switch in the profile. */
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	write_config(f, "[default]\nendpoint_url = http://profile:1\n"
	                "ignore_configured_endpoint_urls = true\n");
	load_settings(&s);
	resolve(&s, "sts", &e);
	assert_string_equal(e.source, "default");
	es_endpoint_free(&e);
	es_settings_free(&s);
}

static void host_with_and_without_port(void **state)
{
	static const struct {
		const char *given, *url, *host;
	} cases[] = {
	        {"http://localhost:4566", "http://localhost:4566", "localhost:4566"},
	        {"https://s3.example.test:443/base/", "https://s3.example.test/base",
	         "s3.example.test"},
	        {"HTTP://sim.test:80", "http://sim.test", "sim.test"},
	        {"http://sim.test:443", "http://sim.test:443", "sim.test:443"},
	        {"http://[::1]:9000/", "http://[::1]:9000", "[::1]:9000"},
	        {"https://minio.test/", "https://minio.test", "minio.test"},
	};
	struct es_aws_settings s;
	struct es_endpoint e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("AWS_ENDPOINT_URL_S3", cases[i].given, 1);
		load_settings(&s);
		resolve(&s, "s3", &e);
		assert_string_equal(e.url, cases[i].url);
		assert_string_equal(e.host, cases[i].host);
		es_endpoint_free(&e);
		es_settings_free(&s);
	}
}

static void bad_url_messages(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *given, *why;
	} cases[] = {
	        {"localhost:4566", "it must start with http:// or https://"},
	        {"ftp://files.test", "the scheme must be http or https"},
	        {"http://", "it has no host"},
	        {"http://:4566/", "it has no host"},
	        {"http://host:0", "the port must be a number from 1 to 65535"},
	        {"http://host:99999", "the port must be a number from 1 to 65535"},
	        {"http://host:12ab", "the port must be a number from 1 to 65535"},
	        {"http://host/?x=1", "it must not have a query or fragment"},
	        {"http://ho st", "it contains spaces or control characters"},
	};
	struct es_aws_settings s;
	struct es_endpoint e;
	char want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("AWS_ENDPOINT_URL_LAMBDA", cases[i].given, 1);
		load_settings(&s);
		assert_int_equal(es_endpoint_resolve(&s, "lambda", &e), ES_ECONFIG);
		snprintf(want, sizeof(want),
		         "AWS_ENDPOINT_URL_LAMBDA is not a usable endpoint URL (\"%s\"): %s",
		         cases[i].given, cases[i].why);
		assert_string_equal(es_error_last()->message, want);
		assert_null(e.url);
		es_settings_free(&s);
	}
	unsetenv("AWS_ENDPOINT_URL_LAMBDA");

	/* A password in the URL is refused and never repeated. */
	setenv("AWS_ENDPOINT_URL", "http://user:hunter2@host", 1);
	load_settings(&s);
	assert_int_equal(es_endpoint_resolve(&s, "sts", &e), ES_ECONFIG);
	assert_null(strstr(es_error_last()->message, "hunter2"));
	assert_non_null(strstr(es_error_last()->message, "AWS_ENDPOINT_URL "));
	es_settings_free(&s);
	unsetenv("AWS_ENDPOINT_URL");

	write_config(f,
	             "[default]\nservices = x\n[services x]\nsts =\n  endpoint_url = sts.local\n");
	load_settings(&s);
	assert_int_equal(es_endpoint_resolve(&s, "sts", &e), ES_ECONFIG);
	assert_string_equal(
	        es_error_last()->message,
	        "endpoint_url for sts in [services x] (profile default) is not a usable "
	        "endpoint URL (\"sts.local\"): it must start with http:// or https://");
	es_settings_free(&s);
}

static void unknown_service(void **state)
{
	struct es_aws_settings s;
	struct es_endpoint e;

	(void)state;
	load_settings(&s);
	assert_int_equal(es_endpoint_resolve(&s, "dynamodb", &e), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "dynamodb"));
	es_settings_free(&s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(config_missing_files_are_empty),
	        T(config_default_paths_follow_home),
	        T(config_malformed_names_file_and_line),
	        T(config_setting_outside_section),
	        T(config_profile_sections),
	        T(config_credentials_file_wins),
	        T(config_services_nested),
	        T(config_long_lines),
	        T(region_sources),
	        T(region_rejected),
	        T(max_attempts_parsed),
	        T(max_attempts_rejected),
	        T(retry_mode_rejected),
	        T(default_endpoints),
	        T(default_endpoints_without_region),
	        T(cloudfront_signed_for_us_east_1),
	        T(service_variable_override),
	        T(services_section_override),
	        T(global_variable_override),
	        T(profile_endpoint_url),
	        T(override_precedence),
	        T(ignore_configured_endpoints),
	        T(host_with_and_without_port),
	        T(bad_url_messages),
	        T(unknown_service),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
