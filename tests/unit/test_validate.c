/* Validation fails closed: checks run against a local HTTP listener (or a
 * closed port) pass only when every sample answered and matched; the
 * transport failures are named; and the rule that decides whether a
 * recorded validation still stands for what a stage runs. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/loop.h"
#include "conf.h"
#include "testutil.h"
#include "validate.h"

/* ------------------------------------------------------------ the listener */

enum serve {
	SERVE_OK,      /* 200, the sample app's body, X-Cache and the Host echoed */
	SERVE_PARTIAL, /* the first connection as SERVE_OK, then close without answering */
	SERVE_SILENT,  /* accept and never answer */
};

struct server {
	pid_t pid;
	int port;
};

static void answer(int fd)
{
	char req[4096], host[256] = "?", body[512], head[512];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(req) - 1 && (r = read(fd, req + n, sizeof(req) - 1 - n)) > 0) {
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	const char *h = strcasestr(req, "\r\nHost: ");
	if (h)
		sscanf(h + 8, "%255[^\r\n]", host);
	snprintf(body, sizeof(body), "Lambda@Edge is awesome! host=%s", host);
	snprintf(head, sizeof(head),
	         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Cache: Hit from cloudfront\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	         strlen(body));
	if (write(fd, head, strlen(head)) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

/* A listener on 127.0.0.1 in a child process, until stop_server(). */
static struct server start_server(enum serve mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	struct server s = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	s.port = ntohs(a.sin_port);
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0) {
		int served = 0;
		for (;;) {
			int c = accept(fd, NULL, NULL);
			if (c < 0)
				continue;
			/* A silent edge keeps the connection open and says nothing. */
			if (mode == SERVE_SILENT)
				continue;
			if (mode == SERVE_PARTIAL && served > 0) {
				close(c);
				continue;
			}
			answer(c);
			served++;
			close(c);
		}
	}
	close(fd);
	return s;
}

static void stop_server(struct server *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

/* A port nothing listens on: bound once, then released. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ------------------------------------------------------------ helpers */

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

/* edgeship.conf with a staging stage at url and the given check lines. */
static struct es_config *conf_with(const char *stage_lines, const char *checks)
{
	char text[4096];
	struct es_config *c = NULL;

	snprintf(text, sizeof(text),
	         "[app]\n\tname = demo\n\tbucket = demo-artifacts\n"
	         "[stage \"staging\"]\n\tstack = demo-staging\n%s"
	         "[stage \"production\"]\n\tstack = demo-production\n\tpromotes-from = staging\n"
	         "%s",
	         stage_lines, checks);
	char *path = tu_write_file(dir, "edgeship.conf", text);
	if (es_config_load(path, &c) != ES_OK)
		fail_msg("config: %s", es_error_last()->message);
	free(path);
	return c;
}

/* Run staging's checks on a fresh loop. */
static struct es_validation *run(const struct es_config *c)
{
	struct es_validation *v = calloc(1, sizeof(*v));
	struct es_loop *loop = es_loop_new();

	assert_non_null(v);
	assert_non_null(loop);
	assert_int_equal(es_validation_run(loop, c, es_config_stage(c, "staging"), NULL, v), ES_OK);
	es_loop_free(loop);
	return v;
}

static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("\"%s\" does not contain \"%s\"", text, needle);
}

/* ------------------------------------------------------------ running checks */

static void unreachable_edge_fails(void **state)
{
	char stage[256], url[128];
	int port = closed_port();

	(void)state;
	snprintf(stage, sizeof(stage), "\turl = http://127.0.0.1:%d/\n", port);
	struct es_config *c = conf_with(stage, "[check \"home\"]\n\tpath = /\n\tsamples = 2\n");
	struct es_validation *v = run(c);

	assert_false(v->passed);
	assert_int_equal(v->n_checks, 1);
	const struct es_check_run *k = &v->checks[0];
	assert_false(k->result.passed);
	assert_int_equal(k->n_samples, 2);
	assert_int_equal(k->n_ok, 0);
	assert_int_equal(k->result.status, 0);
	snprintf(url, sizeof(url), "at http://127.0.0.1:%d/", port);
	for (int i = 0; i < 2; i++) {
		assert_false(k->samples[i].ok);
		assert_int_equal(strncmp(k->samples[i].why, "unreachable: ", 13), 0);
		assert_has(k->samples[i].why, url);
	}
	assert_has(k->result.detail, "2/2 failed: sample 1: unreachable: ");
	free(v);
	es_config_free(c);
}

static void all_matching_answers_pass(void **state)
{
	struct server s = start_server(SERVE_OK);
	char stage[256];

	(void)state;
	snprintf(stage, sizeof(stage), "\turl = http://127.0.0.1:%d\n", s.port);
	struct es_config *c = conf_with(stage, "[check \"home\"]\n\tpath = /\n\tsamples = 3\n"
	                                       "\tbody-contains = Lambda@Edge is awesome!\n"
	                                       "\tbody-matches = ^Lambda@Edge .* host=127\\\\.0\n"
	                                       "\theader = x-cache: Hit\n"
	                                       "[check \"again\"]\n\tpath = /x\n");
	struct es_validation *v = run(c);

	assert_true(v->passed);
	assert_int_equal(v->n_checks, 2);
	assert_true(v->checks[0].result.passed);
	assert_int_equal(v->checks[0].n_ok, 3);
	assert_int_equal(v->checks[0].result.status, 200);
	assert_string_equal(v->checks[0].result.detail, "3/3 ok");
	assert_true(v->checks[1].result.passed);
	for (int i = 0; i < 3; i++)
		assert_string_equal(v->checks[0].samples[i].why, "");
	free(v);
	es_config_free(c);
	stop_server(&s);
}

static void partial_answers_fail(void **state)
{
	struct server s = start_server(SERVE_PARTIAL);
	char stage[256];

	(void)state;
	snprintf(stage, sizeof(stage), "\turl = http://127.0.0.1:%d/\n", s.port);
	struct es_config *c = conf_with(stage, "[check \"home\"]\n\tpath = /\n\tsamples = 3\n");
	struct es_validation *v = run(c);

	assert_false(v->passed);
	const struct es_check_run *k = &v->checks[0];
	assert_false(k->result.passed);
	assert_int_equal(k->n_samples, 3);
	assert_int_equal(k->n_ok, 1);
	int dropped = 0;
	for (int i = 0; i < 3; i++)
		if (!k->samples[i].ok) {
			assert_int_equal(k->samples[i].status, 0);
			assert_has(k->samples[i].why, "connection dropped before a whole answer");
			dropped++;
		}
	assert_int_equal(dropped, 2);
	assert_has(k->result.detail, "2/3 failed: sample ");
	free(v);
	es_config_free(c);
	stop_server(&s);
}

static void silent_edge_times_out(void **state)
{
	struct server s = start_server(SERVE_SILENT);
	char stage[256];

	(void)state;
	snprintf(stage, sizeof(stage), "\turl = http://127.0.0.1:%d/\n", s.port);
	struct es_config *c = conf_with(stage, "[check \"home\"]\n\tpath = /\n\ttimeout = 300ms\n");
	struct es_validation *v = run(c);

	assert_false(v->passed);
	assert_int_equal(v->checks[0].n_ok, 0);
	assert_has(v->checks[0].samples[0].why, "timeout: no answer within 300 ms from http://");
	free(v);
	es_config_free(c);
	stop_server(&s);
}

static void mismatches_fail_with_reasons(void **state)
{
	struct server s = start_server(SERVE_OK);
	char stage[256];

	(void)state;
	snprintf(stage, sizeof(stage), "\turl = http://127.0.0.1:%d/\n", s.port);
	struct es_config *c = conf_with(stage, "[check \"status\"]\n\tpath = /\n\tstatus = 201\n"
	                                       "[check \"body\"]\n\tpath = /\n"
	                                       "\tbody-contains = Welcome\n"
	                                       "[check \"regex\"]\n\tpath = /\n"
	                                       "\tbody-matches = ^Welcome\n"
	                                       "[check \"header\"]\n\tpath = /\n"
	                                       "\theader = x-release\n"
	                                       "[check \"value\"]\n\tpath = /\n"
	                                       "\theader = x-cache: Miss\n");
	struct es_validation *v = run(c);

	assert_false(v->passed);
	assert_int_equal(v->n_checks, 5);
	assert_string_equal(v->checks[0].samples[0].why, "status 200, expected 201");
	assert_string_equal(v->checks[1].samples[0].why, "body lacks \"Welcome\"");
	assert_string_equal(v->checks[2].samples[0].why, "body does not match /^Welcome/");
	assert_string_equal(v->checks[3].samples[0].why, "header x-release is missing");
	assert_string_equal(v->checks[4].samples[0].why,
	                    "header x-cache is \"Hit from cloudfront\", expected \"Miss\"");
	for (size_t i = 0; i < v->n_checks; i++)
		assert_false(v->checks[i].result.passed);
	free(v);
	es_config_free(c);
	stop_server(&s);
}

static void probe_routes_with_the_stage_host(void **state)
{
	struct server s = start_server(SERVE_OK);
	char stage[256], via[64];

	(void)state;
	snprintf(stage, sizeof(stage),
	         "\turl = http://staging.example.test/\n"
	         "\tprobe = http://127.0.0.1:%d\n",
	         s.port);
	struct es_config *c = conf_with(stage, "[check \"home\"]\n\tpath = /\n"
	                                       "\tbody-contains = host=staging.example.test\n");
	struct es_validation *v = run(c);

	assert_true(v->passed);
	snprintf(via, sizeof(via), "127.0.0.1:%d", s.port);
	assert_string_equal(v->checks[0].via, via);
	assert_string_equal(v->checks[0].url, "http://staging.example.test:80/");
	free(v);
	es_config_free(c);
	stop_server(&s);
}

static void no_checks_is_not_passed(void **state)
{
	(void)state;
	struct es_config *c =
	        conf_with("\turl = http://127.0.0.1:9/\n",
	                  "[check \"prod-only\"]\n\tpath = /\n\tstage = production\n");
	struct es_validation *v = run(c);

	assert_int_equal(v->n_checks, 0);
	assert_false(v->passed);
	free(v);
	es_config_free(c);
}

static void check_without_url_fails(void **state)
{
	(void)state;
	struct es_config *c = conf_with("", "[check \"home\"]\n\tpath = /\n");
	struct es_validation *v = run(c);

	assert_int_equal(v->n_checks, 1);
	assert_false(v->passed);
	assert_int_equal(v->checks[0].n_samples, 0);
	assert_has(v->checks[0].result.detail, "no URL");
	free(v);
	es_config_free(c);
}

/* ------------------------------------------------------------ judging answers */

static void transport_failures_are_named(void **state)
{
	struct es_check_conf k = {.name = "home", .status = 200, .timeout_ms = 5000};
	struct es_http_response r = {0};
	char why[256];

	(void)state;
	static const struct {
		int code;
		const char *error;
		const char *want;
	} cases[] = {
	        {CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host: x.invalid",
	         "DNS failure: cannot resolve the host of https://x.invalid/ via 10.0.0.1:443"},
	        {CURLE_COULDNT_CONNECT, "Failed to connect: Connection refused",
	         "unreachable: connection refused at https://x.invalid/ via 10.0.0.1:443"},
	        {CURLE_COULDNT_CONNECT, "Failed to connect: Couldn't connect to server",
	         "unreachable: cannot connect at https://x.invalid/ via 10.0.0.1:443"},
	        {CURLE_OPERATION_TIMEDOUT, "Operation timed out",
	         "timeout: no answer within 5000 ms from https://x.invalid/ via 10.0.0.1:443"},
	        {CURLE_PEER_FAILED_VERIFICATION, "SSL: no alternative certificate subject name",
	         "TLS error at https://x.invalid/ via 10.0.0.1:443: SSL: no alternative "
	         "certificate subject name"},
	        {CURLE_GOT_NOTHING, "Empty reply from server",
	         "connection dropped before a whole answer from https://x.invalid/ via "
	         "10.0.0.1:443 (Empty reply from server)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.curl_code = cases[i].code;
		r.status = 0;
		snprintf(r.error, sizeof(r.error), "%s", cases[i].error);
		assert_false(es_check_judge(&k, NULL, &r, "https://x.invalid/", "10.0.0.1:443", why,
		                            sizeof(why)));
		assert_string_equal(why, cases[i].want);
	}
	/* A status that arrived with a transport error is still no answer. */
	r.curl_code = CURLE_PARTIAL_FILE;
	r.status = 200;
	snprintf(r.error, sizeof(r.error), "transfer closed with 10 bytes remaining");
	assert_false(es_check_judge(&k, NULL, &r, "https://x.invalid/", "", why, sizeof(why)));
	assert_has(why, "connection dropped");
	/* A regular expression that cannot be compiled never matches. */
	struct es_check_conf kr = {.name = "re", .status = 200, .body_matches = "("};
	struct es_http_response ok = {.status = 200};
	assert_false(es_check_judge(&kr, NULL, &ok, "u", "", why, sizeof(why)));
	assert_string_equal(why, "body-matches /(/ cannot be compiled");
}

static void may_run_only_on_a_settled_release(void **state)
{
	(void)state;
	assert_int_equal(es_validation_may_run("staging", false, NULL, NULL), ES_EREFUSED);
	assert_has(es_error_last()->message, "staging is not deployed");
	assert_int_equal(es_validation_may_run("staging", true, "REVIEW_IN_PROGRESS", ""),
	                 ES_EREFUSED);
	assert_int_equal(es_validation_may_run("staging", true, "UPDATE_IN_PROGRESS", "r1"),
	                 ES_EBUSY);
	assert_has(es_error_last()->message, "UPDATE_IN_PROGRESS: validate once it settles");
	assert_int_equal(
	        es_validation_may_run("staging", true, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "r1"),
	        ES_EBUSY);
	assert_int_equal(es_validation_may_run("staging", true, "ROLLBACK_COMPLETE", "r1"),
	                 ES_EREFUSED);
	assert_has(es_error_last()->message, "no successful deploy");
	assert_int_equal(es_validation_may_run("staging", true, "UPDATE_COMPLETE", ""),
	                 ES_EREFUSED);
	assert_has(es_error_last()->message, "runs no edgeship release");
	assert_int_equal(es_validation_may_run("staging", true, "UPDATE_COMPLETE", "r1"), ES_OK);
	assert_int_equal(es_validation_may_run("staging", true, "UPDATE_ROLLBACK_COMPLETE", "r1"),
	                 ES_OK);
}

/* ------------------------------------------------------------ the rule */

#define T0 "2030-01-02T03:04:05Z"

static struct es_record records[16];
static size_t n_records;

static void add(const char *kind, const char *phase, const char *stage, const char *release,
                const char *result, const char *json)
{
	struct es_record *r = &records[n_records++];

	memset(r, 0, sizeof(*r));
	r->seq = (long)n_records;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->phase, sizeof(r->phase), "%s", phase);
	snprintf(r->stage, sizeof(r->stage), "%s", stage);
	snprintf(r->release, sizeof(r->release), "%s", release);
	snprintf(r->result, sizeof(r->result), "%s", result);
	snprintf(r->message, sizeof(r->message), "%s", result);
	r->json = (char *)json;
}

static const char deployed[] = "{\"distribution_id\": \"E1\", \"distribution_status\": "
                               "\"Deployed\", \"distribution_etag\": \"ET1\", "
                               "\"distribution_modified\": \"" T0 "\"}";
static const char moving[] = "{\"distribution_id\": \"E1\", \"distribution_status\": "
                             "\"InProgress\", \"distribution_etag\": \"ET1\", "
                             "\"distribution_modified\": \"" T0 "\"}";

static enum es_validation_state judge(const struct es_stage_state *now, char *why, size_t len)
{
	struct es_record_list l = {.items = records, .n = n_records};
	struct es_validation_verdict v;

	es_validation_judge(&l, "staging", now, &v);
	snprintf(why, len, "%s", v.why);
	if (v.state == ES_VALIDATION_NONE)
		assert_null(v.record);
	else
		assert_non_null(v.record);
	return v.state;
}

static void rule_requires_same_release_passed_after_deployed(void **state)
{
	struct es_stage_state now = {.release = "r1",
	                             .distribution_id = "E1",
	                             .distribution_etag = "ET1",
	                             .distribution_modified = 1893553445.0}; /* T0 */
	char why[512];

	(void)state;
	n_records = 0;
	add("deploy", "outcome", "staging", "r1", "success", "{}");
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_NONE);
	assert_has(why, "staging has not been validated");

	/* Taken while InProgress: does not count, even though it passed. */
	add("validation", "outcome", "staging", "r1", "passed", moving);
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_IN_PROGRESS);
	assert_has(why, "ran while its distribution was still InProgress");

	add("validation", "outcome", "staging", "r1", "failed", deployed);
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_FAILED);
	assert_has(why, "latest validation (#3) failed");

	add("validation", "outcome", "staging", "r1", "passed", deployed);
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_PASSED);

	/* Another stage's records and a no-change deploy change nothing. */
	add("deploy", "outcome", "production", "r0", "success", "{}");
	add("validation", "outcome", "production", "r0", "failed", deployed);
	add("deploy", "outcome", "staging", "r1", "no-changes", "{}");
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_PASSED);

	/* The distribution is not the one validated. */
	struct es_stage_state other = now;
	other.distribution_etag = "ET2";
	assert_int_equal(judge(&other, why, sizeof(why)), ES_VALIDATION_STALE);
	assert_has(why, "distribution changed after validation #4");
	other = now;
	other.distribution_modified += 60;
	assert_int_equal(judge(&other, why, sizeof(why)), ES_VALIDATION_STALE);
	other = now;
	other.distribution_id = "E2";
	assert_int_equal(judge(&other, why, sizeof(why)), ES_VALIDATION_STALE);
	/* Unknown facts are not held against it (the model knows no ETag). */
	other = now;
	other.distribution_etag = NULL;
	other.distribution_modified = 0;
	assert_int_equal(judge(&other, why, sizeof(why)), ES_VALIDATION_PASSED);

	/* Another release runs now. */
	other = now;
	other.release = "r2";
	assert_int_equal(judge(&other, why, sizeof(why)), ES_VALIDATION_STALE);
	assert_has(why, "was for release r1, but it runs r2");

	/* A successful deploy after it, even of the same release, voids it. */
	add("rollback", "intent", "staging", "r1", "", "{}");
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_PASSED);
	add("rollback", "outcome", "staging", "r1", "success", "{}");
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_STALE);
	assert_has(why, "changed by rollback #9 after validation #4");
}

static void rule_for_a_stage_without_distribution(void **state)
{
	struct es_stage_state now = {.release = "r1", .distribution_id = ""};
	char why[512];

	(void)state;
	n_records = 0;
	add("validation", "outcome", "staging", "r1", "passed",
	    "{\"distribution_id\": null, \"distribution_status\": null}");
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_PASSED);
	/* A distribution appeared since: validate again. */
	now.distribution_id = "E9";
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_STALE);
	/* A record from before distribution state was kept, for a stage that
	 * has a distribution, does not count. */
	n_records = 0;
	add("validation", "outcome", "staging", "r1", "passed", "{}");
	assert_int_equal(judge(&now, why, sizeof(why)), ES_VALIDATION_IN_PROGRESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(unreachable_edge_fails),
	        cmocka_unit_test(all_matching_answers_pass),
	        cmocka_unit_test(partial_answers_fail),
	        cmocka_unit_test(silent_edge_times_out),
	        cmocka_unit_test(mismatches_fail_with_reasons),
	        cmocka_unit_test(probe_routes_with_the_stage_host),
	        cmocka_unit_test(no_checks_is_not_passed),
	        cmocka_unit_test(check_without_url_fails),
	        cmocka_unit_test(transport_failures_are_named),
	        cmocka_unit_test(may_run_only_on_a_settled_release),
	        cmocka_unit_test(rule_requires_same_release_passed_after_deployed),
	        cmocka_unit_test(rule_for_a_stage_without_distribution),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
