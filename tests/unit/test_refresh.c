/* Credentials refreshed off the loop (core/aws/cred_refresh.c, aws.c): on a
 * loop marked as the screen's, an assumed role that expires mid-session, or
 * comes close to expiring, is renewed while the loop keeps turning and
 * nothing waits synchronously on it; requests that need credentials meanwhile
 * wait in line and go out with the new ones, after one AssumeRole; a
 * credential_process runs off the loop too; a client closed mid-refresh
 * reports nothing; a chain that finds nothing fails every waiting request
 * with its reason. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "aws/aws.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/sts.h"
#include "base/error.h"
#include "fakeaws.h"
#include "testutil.h"

#define ARN      "arn:aws:iam::123456789012:user/release-manager"
#define ROLE     "arn:aws:iam::123456789012:role/deployer"
#define BASE_KEY "AKIDBASEPROFILE00001"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *dir;
	uint64_t tick_timer; /* the loop's heartbeat: a timer every 5 ms */
	/* What the heartbeat watches: answers awaited (waiting->done < want)
	 * and, unless the refresh is a process, AssumeRole asked more than
	 * assumed times (the request is out, its answer not yet in). */
	const struct asked *waiting;
	int want;
	bool process;
	size_t assumed;
	int ticks_waiting; /* heartbeats while it was so */
	char *gate;        /* created after three of them (for a process) */
};

struct asked {
	int done;
	int rc[16];
	char code[16][64];
};

/* The loop turned while a refresh was under way: a synchronous wait would
 * have let no timer run until it ended. Asserted on that, not on how many
 * beats a loaded machine managed. */
static void tick(struct es_loop *loop, void *ud)
{
	struct env *e = ud;

	if (e->waiting && e->waiting->done < e->want &&
	    (e->process || fake_count_matching(e->fake, "POST", "AssumeRole") > e->assumed))
		e->ticks_waiting++;
	if (e->gate && e->ticks_waiting >= 3) {
		FILE *f = fopen(e->gate, "w");
		if (f)
			fclose(f);
	}
	e->tick_timer = es_loop_timer(loop, 5, tick, e);
}

/* Count the heartbeats from now until a has n answers. */
static void watch(struct env *e, const struct asked *a, int n, bool process)
{
	e->waiting = a;
	e->want = n;
	e->process = process;
	e->assumed = fake_count_matching(e->fake, "POST", "AssumeRole");
	e->ticks_waiting = 0;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	es_credentials_cache_clear();
	e->dir = tu_mkdtemp();
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->dir || !e->loop || !e->fake)
		return -1;
	/* The screen's loop: a synchronous wait on it is counted. */
	es_loop_set_ui(e->loop, true);
	fake_rule_times(fake_sts_identity(e->fake, ARN), FAKE_FOREVER);
	e->tick_timer = es_loop_timer(e->loop, 5, tick, e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (fake_unmatched(e->fake))
		fake_dump(e->fake, stderr);
	es_loop_timer_cancel(e->loop, e->tick_timer);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	tu_rmtree(e->dir);
	free(e->dir);
	free(e->gate);
	free(e);
	es_credentials_cache_clear();
	return 0;
}

/* A client that resolves lazily, as the dashboard opens it. */
static void open_client(struct env *e)
{
	struct es_aws_options o = {.lazy_credentials = true};

	assert_int_equal(es_aws_open(e->loop, &o, &e->aws), ES_OK);
}

/* Profile deployer assumes ROLE with the static keys of profile base. */
static void use_role_profile(struct env *e)
{
	char *cfg = tu_write_file(e->dir, "config",
	                          "[profile base]\n"
	                          "aws_access_key_id = " BASE_KEY "\n"
	                          "aws_secret_access_key = base-secret\n"
	                          "[profile deployer]\n"
	                          "role_arn = " ROLE "\n"
	                          "source_profile = base\n"
	                          "role_session_name = edgeship-test\n");
	assert_non_null(cfg);
	setenv("AWS_CONFIG_FILE", cfg, 1);
	setenv("AWS_PROFILE", "deployer", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	free(cfg);
}

/* AssumeRole hands out key ASIAROLE000<n>, expiring in_s from now; the
 * answer is held back delay_ms. */
static struct fake_rule *role_answer(struct env *e, int n, long in_s, long delay_ms)
{
	char xml[1024], when[32];
	time_t t = time(NULL) + in_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(xml, sizeof(xml),
	         "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	         "<AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE000%d</AccessKeyId>"
	         "<SecretAccessKey>role-secret-%d</SecretAccessKey>"
	         "<SessionToken>role-session-%d</SessionToken><Expiration>%s</Expiration>"
	         "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
	         n, n, n, when);
	struct fake_rule *r = fake_expect(e->fake, "POST", "AssumeRole", 200, NULL, xml);
	return fake_rule_delay(r, delay_ms);
}

/* ------------------------------------------------------------ asynchronous requests */

static void on_identity(int rc, const struct es_http_response *resp, const struct es_error *err,
                        void *ud)
{
	struct asked *a = ud;

	(void)resp;
	if (a->done < 16) {
		a->rc[a->done] = rc;
		snprintf(a->code[a->done], sizeof(a->code[0]), "%s", err ? err->code : "");
	}
	a->done++;
}

static void ask(struct env *e, struct asked *a)
{
	struct es_aws_call call;

	assert_int_equal(es_sts_get_caller_identity_call(&call), ES_OK);
	assert_int_equal(es_aws_send(e->aws, &call, on_identity, a), ES_OK);
}

static void run_until(struct env *e, const struct asked *a, int n)
{
	for (int64_t end = es_loop_now_ms() + 20000; a->done < n && es_loop_now_ms() < end;)
		es_loop_turn(e->loop, 50);
	assert_int_equal(a->done, n);
}

static const char *identity_key(struct env *e, size_t n)
{
	const struct fake_request *q = fake_find(e->fake, "POST", "GetCallerIdentity", n);
	assert_non_null(q);
	return q->access_key_id;
}

/* ------------------------------------------------------------ tests */

static void role_expires_mid_session_and_the_loop_keeps_turning(void **state)
{
	struct env *e = *state;
	struct asked first = {0}, second = {0};

	use_role_profile(e);
	open_client(e);
	role_answer(e, 1, 3600, 300);
	struct fake_rule *renewed = role_answer(e, 2, 3600, 300);

	/* Three requests before any credentials: one AssumeRole for all. */
	watch(e, &first, 3, false);
	for (int i = 0; i < 3; i++)
		ask(e, &first);
	assert_int_equal(first.done, 0);
	run_until(e, &first, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(first.rc[i], ES_OK);
		assert_string_equal(identity_key(e, (size_t)i), "ASIAROLE0001");
	}
	assert_int_equal(fake_count_matching(e->fake, "POST", "AssumeRole"), 1);
	assert_string_equal(fake_find(e->fake, "POST", "AssumeRole", 0)->access_key_id, BASE_KEY);
	assert_string_equal(fake_req_param(fake_find(e->fake, "POST", "AssumeRole", 0), "RoleArn"),
	                    ROLE);
	/* The loop turned while the 300 ms AssumeRole was under way. */
	assert_true(e->ticks_waiting >= 1);

	/* The session's credentials expire: every request in flight hears
	 * ExpiredToken, one refresh serves them all, each retried once. */
	fake_expire_key(e->fake, "ASIAROLE0001");
	watch(e, &second, 3, false);
	for (int i = 0; i < 3; i++)
		ask(e, &second);
	run_until(e, &second, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(second.rc[i], ES_OK);
	assert_int_equal(fake_rule_hits(renewed), 1);
	assert_int_equal(fake_count_matching(e->fake, "POST", "AssumeRole"), 2);
	assert_int_equal(fake_count_matching(e->fake, "POST", "GetCallerIdentity"), 9);
	for (size_t i = 3; i < 6; i++)
		assert_string_equal(identity_key(e, i), "ASIAROLE0001"); /* refused */
	for (size_t i = 6; i < 9; i++) {
		assert_string_equal(identity_key(e, i), "ASIAROLE0002");
		assert_string_equal(
		        fake_req_header(fake_find(e->fake, "POST", "GetCallerIdentity", i),
		                        "X-Amz-Security-Token"),
		        "role-session-2");
	}
	assert_true(e->ticks_waiting >= 1);
	assert_string_equal(es_aws_credentials(e->aws)->access_key_id, "ASIAROLE0002");
	/* Nothing ever waited synchronously on the screen's loop. */
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);
}

static void expiring_soon_is_renewed_before_it_is_used_again(void **state)
{
	struct env *e = *state;
	struct asked a = {0};

	use_role_profile(e);
	open_client(e);
	role_answer(e, 1, 120, 0); /* inside the five-minute margin */
	role_answer(e, 2, 3600, 0);

	ask(e, &a);
	run_until(e, &a, 1);
	/* What a wait brought is used, even when it expires soon. */
	assert_string_equal(identity_key(e, 0), "ASIAROLE0001");
	ask(e, &a);
	run_until(e, &a, 2);
	assert_string_equal(identity_key(e, 1), "ASIAROLE0002");
	ask(e, &a);
	run_until(e, &a, 3);
	assert_string_equal(identity_key(e, 2), "ASIAROLE0002");
	assert_int_equal(fake_count_matching(e->fake, "POST", "AssumeRole"), 2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(a.rc[i], ES_OK);
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);
}

/* A credential_process that takes a while, on the thread. */
static void slow_process_runs_off_the_loop(void **state)
{
	struct env *e = *state;
	struct asked a = {0};
	char script[1024], cfg[1400];

	/* It ends only once the loop has beaten three times while it ran. */
	size_t glen = strlen(e->dir) + sizeof("/gate");
	e->gate = malloc(glen);
	assert_non_null(e->gate);
	snprintf(e->gate, glen, "%s/gate", e->dir);
	snprintf(script, sizeof(script),
	         "#!/bin/sh\nsleep 0.4\nwhile [ ! -e '%s' ]; do sleep 0.01; done\n"
	         "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS00001\", "
	         "\"SecretAccessKey\": \"p\", \"SessionToken\": \"ps\", "
	         "\"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
	         e->gate);
	char *path = tu_write_file(e->dir, "slow.sh", script);
	assert_non_null(path);
	chmod(path, 0700);
	snprintf(cfg, sizeof(cfg), "[profile slow]\ncredential_process = %s\n", path);
	char *cfg_path = tu_write_file(e->dir, "config", cfg);
	setenv("AWS_CONFIG_FILE", cfg_path, 1);
	setenv("AWS_PROFILE", "slow", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	free(path);
	free(cfg_path);
	open_client(e);

	int64_t t0 = es_loop_now_ms();
	watch(e, &a, 1, true);
	ask(e, &a);
	es_loop_timer_cancel(e->loop, e->tick_timer);
	es_loop_turn(e->loop, 100);
	/* Nothing is in flight on the loop, yet it is not idle: the chain runs. */
	assert_int_equal(es_loop_transfers(e->loop), 0);
	assert_false(es_loop_is_idle(e->loop));
	e->tick_timer = es_loop_timer(e->loop, 5, tick, e);
	run_until(e, &a, 1);
	es_loop_timer_cancel(e->loop, e->tick_timer);
	assert_true(es_loop_is_idle(e->loop));
	e->tick_timer = es_loop_timer(e->loop, 5, tick, e);
	assert_int_equal(a.rc[0], ES_OK);
	assert_string_equal(identity_key(e, 0), "ASIAPROCESS00001");
	assert_true(es_loop_now_ms() - t0 >= 400);
	assert_true(e->ticks_waiting >= 3);
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);
}

/* ------------------------------------------------------------ credentials for people */

struct told {
	int n;
	char source[160];
	char message[512];
};

static void on_creds(const struct es_credentials *c, const struct es_error *err, void *ud)
{
	struct told *t = ud;

	t->n++;
	snprintf(t->source, sizeof(t->source), "%s", c ? c->source : "");
	snprintf(t->message, sizeof(t->message), "%s", err ? err->message : "");
	assert_true((c == NULL) != (err == NULL));
}

static void credentials_asked_without_waiting(void **state)
{
	struct env *e = *state;
	struct told t = {0};

	use_role_profile(e);
	open_client(e);
	role_answer(e, 1, 3600, 200);
	assert_int_equal(es_aws_credentials_async(e->aws, on_creds, &t), ES_OK);
	assert_int_equal(t.n, 0);
	for (int64_t end = es_loop_now_ms() + 10000; t.n == 0 && es_loop_now_ms() < end;)
		es_loop_turn(e->loop, 50);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.source, "assume role " ROLE " via profile base");
	/* Ready now: still answered on a later turn, not inside the call. */
	assert_int_equal(es_aws_credentials_async(e->aws, on_creds, &t), ES_OK);
	assert_int_equal(t.n, 1);
	es_loop_turn(e->loop, 50);
	assert_int_equal(t.n, 2);
	assert_int_equal(fake_count_matching(e->fake, "POST", "AssumeRole"), 1);
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);
}

static void nothing_found_fails_everyone_waiting(void **state)
{
	struct env *e = *state;
	struct asked a = {0};
	struct told t = {0};

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	open_client(e);
	ask(e, &a);
	ask(e, &a);
	assert_int_equal(es_aws_credentials_async(e->aws, on_creds, &t), ES_OK);
	run_until(e, &a, 2);
	assert_int_equal(a.rc[0], ES_ECREDS);
	assert_int_equal(a.rc[1], ES_ECREDS);
	es_loop_turn(e->loop, 10);
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.message, "no AWS credentials found"));
	assert_int_equal(fake_count(e->fake), 0);
	assert_int_equal(es_loop_ui_blocks(e->loop), 0);
}

/* Closed while AssumeRole is in flight: no callback, the request is
 * cancelled, and the thread ends on its own. */
static void closing_mid_refresh_reports_nothing(void **state)
{
	struct env *e = *state;
	struct asked a = {0};
	struct told t = {0};

	use_role_profile(e);
	open_client(e);
	role_answer(e, 1, 3600, 400);
	ask(e, &a);
	assert_int_equal(es_aws_credentials_async(e->aws, on_creds, &t), ES_OK);
	for (int64_t end = es_loop_now_ms() + 5000;
	     fake_count_matching(e->fake, "POST", "AssumeRole") == 0 && es_loop_now_ms() < end;)
		es_loop_turn(e->loop, 10);
	assert_int_equal(fake_count_matching(e->fake, "POST", "AssumeRole"), 1);
	es_aws_client_free(e->aws);
	e->aws = NULL;
	int64_t end = es_loop_now_ms() + 700;
	while (es_loop_now_ms() < end)
		es_loop_turn(e->loop, 20);
	assert_int_equal(a.done, 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(fake_count_matching(e->fake, "POST", "GetCallerIdentity"), 0);
}

/* Closed while a credential_process still runs: the thread finds nobody
 * to tell and cleans up after itself. */
static void closing_while_a_process_runs(void **state)
{
	struct env *e = *state;
	struct asked a = {0};
	char cfg[512];

	char *path = tu_write_file(e->dir, "slow.sh",
	                           "#!/bin/sh\nsleep 0.3\n"
	                           "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAP\", "
	                           "\"SecretAccessKey\": \"p\"}'\n");
	chmod(path, 0700);
	snprintf(cfg, sizeof(cfg), "[profile slow]\ncredential_process = %s\n", path);
	char *cfg_path = tu_write_file(e->dir, "config", cfg);
	setenv("AWS_CONFIG_FILE", cfg_path, 1);
	setenv("AWS_PROFILE", "slow", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	free(path);
	free(cfg_path);
	open_client(e);
	ask(e, &a);
	es_loop_turn(e->loop, 10);
	es_aws_client_free(e->aws);
	e->aws = NULL;
	int64_t end = es_loop_now_ms() + 600;
	while (es_loop_now_ms() < end)
		es_loop_turn(e->loop, 20);
	assert_int_equal(a.done, 0);
	assert_int_equal(fake_count(e->fake), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(role_expires_mid_session_and_the_loop_keeps_turning),
	        T(expiring_soon_is_renewed_before_it_is_used_again),
	        T(slow_process_runs_off_the_loop),
	        T(credentials_asked_without_waiting),
	        T(nothing_found_fails_everyone_waiting),
	        T(closing_mid_refresh_reports_nothing),
	        T(closing_while_a_process_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
