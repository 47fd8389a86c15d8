/* The real AWS client code paths against a real third-party server (moto):
 * signing, endpoints, the four protocols, error parsing, conditional writes,
 * retries on a dead endpoint and a role assumed through STS. moto.sh starts
 * the server and sets AWS_ENDPOINT_URL before running this. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/aws.h"
#include "aws/client.h"
#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/codepipeline.h"
#include "identity.h"
#include "ledger.h"
#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>
#include "aws/lambda.h"
#include "aws/s3.h"
#include "aws/sts.h"
#include "testutil.h"

struct fixture {
	struct es_loop *loop;
	struct es_aws_client *aws;
	int traces;
};

static void count_trace(const struct es_aws_trace *t, void *ud)
{
	struct fixture *f = ud;
	f->traces++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->loop = es_loop_new();
	if (!f->loop || es_aws_open(f->loop, NULL, &f->aws))
		return -1;
	es_aws_set_trace(f->aws, count_trace, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	es_aws_client_free(f->aws);
	es_loop_free(f->loop);
	free(f);
	return 0;
}

static void sts_get_caller_identity(void **state)
{
	struct fixture *f = *state;
	struct es_caller_identity id;

	assert_int_equal(es_sts_get_caller_identity(f->aws, &id), ES_OK);
	assert_non_null(strstr(id.arn, "arn:aws:"));
	assert_int_equal(strlen(id.account), 12);
	es_caller_identity_free(&id);
}

static void cfn_missing_stack_is_not_found(void **state)
{
	struct fixture *f = *state;
	struct es_stack st;

	assert_int_equal(es_cfn_describe_stack(f->aws, "edgeship-no-such-stack", &st),
	                 ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "ValidationError");
	assert_int_equal(es_error_last()->http_status, 400);
	assert_non_null(strstr(es_error_last()->message, "does not exist"));
}

static void cloudfront_list_distributions(void **state)
{
	struct fixture *f = *state;
	struct es_distribution_list l;

	assert_int_equal(es_cf_list_distributions(f->aws, &l), ES_OK);
	for (size_t i = 0; i < l.n; i++)
		assert_non_null(l.items[i].id);
	es_distribution_list_free(&l);
}

static void s3_objects(void **state)
{
	struct fixture *f = *state;
	struct es_buf got = ES_BUF_INIT;
	struct es_s3_head head;
	const char *body = "{\"seq\": 1, \"action\": \"deploy\"}\n";
	struct es_s3_put create_only = {.content_type = "application/json", .if_none_match = true};

	assert_int_equal(es_s3_create_bucket(f->aws, "edgeship-it-artifacts", "us-east-1"), ES_OK);
	assert_int_equal(es_s3_put_object(f->aws, "edgeship-it-artifacts", "dir/a b+c.txt", "hello",
	                                  5, NULL),
	                 ES_OK);
	assert_int_equal(es_s3_get_object(f->aws, "edgeship-it-artifacts", "dir/a b+c.txt", &got),
	                 ES_OK);
	assert_int_equal(got.len, 5);
	assert_memory_equal(got.data, "hello", 5);
	assert_int_equal(es_s3_head_object(f->aws, "edgeship-it-artifacts", "dir/a b+c.txt", &head),
	                 ES_OK);
	assert_true(head.exists);
	assert_int_equal(head.size, 5);
	assert_int_equal(es_s3_head_object(f->aws, "edgeship-it-artifacts", "missing", &head), ES_OK);
	assert_false(head.exists);
	assert_int_equal(es_s3_get_object(f->aws, "edgeship-it-artifacts", "missing", &got),
	                 ES_ENOTFOUND);

	/* The ledger's claim on a sequence number: the second writer loses. */
	assert_int_equal(es_s3_put_object(f->aws, "edgeship-it-artifacts", "ledger/000001.json",
	                                  body, strlen(body), &create_only),
	                 ES_OK);
	assert_int_equal(es_s3_put_object(f->aws, "edgeship-it-artifacts", "ledger/000001.json",
	                                  "other", 5, &create_only),
	                 ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_string_equal(es_error_last()->code, "PreconditionFailed");
	assert_int_equal(es_s3_get_object(f->aws, "edgeship-it-artifacts", "ledger/000001.json",
	                                  &got),
	                 ES_OK);
	assert_string_equal(got.data, body);
	es_buf_free(&got);
}

static void lambda_list_functions(void **state)
{
	struct fixture *f = *state;
	struct es_lambda_function_list l;

	assert_int_equal(es_lambda_list_functions(f->aws, &l), ES_OK);
	es_lambda_function_list_free(&l);
}

static void codepipeline_list_pipelines(void **state)
{
	struct fixture *f = *state;
	char **names;
	size_t n;

	assert_int_equal(es_codepipeline_list_pipelines(f->aws, &names, &n), ES_OK);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void whoami_identity(void **state)
{
	struct fixture *f = *state;
	struct es_identity id;
	char *json;

	assert_int_equal(es_identity_fetch(f->aws, &id), ES_OK);
	assert_string_equal(id.endpoint, getenv("AWS_ENDPOINT_URL"));
	assert_string_equal(id.endpoint_source, "AWS_ENDPOINT_URL");
	json = es_identity_json(&id);
	assert_non_null(json);
	/* The secret never leaves the client. */
	assert_null(strstr(json, getenv("AWS_SECRET_ACCESS_KEY")));
	assert_non_null(strstr(json, "\"account\""));
	free(json);
	es_identity_free(&id);
}

/* A dead endpoint: every attempt is made, then a clear network error. */
static void dead_endpoint_retries_then_fails(void **state)
{
	struct fixture g = {0};
	struct es_caller_identity id;
	char *saved = strdup(getenv("AWS_ENDPOINT_URL"));

	setenv("AWS_ENDPOINT_URL_STS", getenv("ES_DEAD_ENDPOINT"), 1);
	g.loop = es_loop_new();
	assert_int_equal(es_aws_open(g.loop, NULL, &g.aws), ES_OK);
	es_aws_set_trace(g.aws, count_trace, &g);
	assert_int_equal(es_sts_get_caller_identity(g.aws, &id), ES_ENET);
	assert_int_equal(g.traces, 3);
	assert_non_null(strstr(es_error_last()->message, "cannot reach"));
	unsetenv("AWS_ENDPOINT_URL_STS");
	es_aws_client_free(g.aws);
	es_loop_free(g.loop);
	free(saved);
}

/* A profile with role_arn + source_profile: the chain assumes the role
 * through moto's STS and the identity is the assumed role. */
static void assume_role_profile(void **state)
{
	char *dir = tu_mkdtemp();
	char *cfg;
	struct es_loop *loop = es_loop_new();
	struct es_aws_client *aws;
	struct es_aws_options o = {.profile = "deployer"};
	struct es_caller_identity id;
	char *old_key = strdup(getenv("AWS_ACCESS_KEY_ID"));
	char *old_secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));

	cfg = tu_write_file(dir, "config",
	                    "[profile base]\n"
	                    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
	                    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
	                    "[profile deployer]\n"
	                    "role_arn = arn:aws:iam::123456789012:role/edgeship-deployer\n"
	                    "source_profile = base\n"
	                    "role_session_name = edgeship-it\n");
	setenv("AWS_CONFIG_FILE", cfg, 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(es_aws_open(loop, &o, &aws), ES_OK);
	const struct es_credentials *cr = es_aws_credentials(aws);
	assert_non_null(cr);
	assert_non_null(cr->session_token);
	assert_non_null(strstr(cr->source, "edgeship-deployer"));
	assert_int_equal(es_sts_get_caller_identity(aws, &id), ES_OK);
	assert_non_null(strstr(id.arn, "assumed-role/edgeship-deployer/edgeship-it"));
	es_caller_identity_free(&id);
	es_aws_client_free(aws);
	es_loop_free(loop);
	setenv("AWS_CONFIG_FILE", "/dev/null", 1);
	setenv("AWS_ACCESS_KEY_ID", old_key, 1);
	setenv("AWS_SECRET_ACCESS_KEY", old_secret, 1);
	free(old_key);
	free(old_secret);
	free(cfg);
	tu_rmtree(dir);
	free(dir);
}

/* Two processes write 12 ledger records each, at the same time: every
 * record lands under its own number and none overwrites another. */
#define RACE_WRITES 12

static int race_writer(int id)
{
	struct es_loop *loop = es_loop_new();
	struct es_aws_client *aws;
	struct es_ledger *l;
	int failures = 0;

	if (!loop || es_aws_open(loop, NULL, &aws) ||
	    es_ledger_open(aws, "edgeship-it-race", "race", &l))
		return 100;
	for (int i = 0; i < RACE_WRITES; i++) {
		long seq;
		json_t *r = json_pack("{s:s,s:s,s:i,s:i}", "kind", "test", "phase", "outcome", "writer",
		                      id, "i", i);
		if (es_ledger_append(l, r, &seq) != ES_OK)
			failures++;
		json_decref(r);
	}
	es_ledger_free(l);
	es_aws_client_free(aws);
	es_loop_free(loop);
	return failures;
}

static void ledger_race(void **state)
{
	struct fixture *f = *state;
	struct es_ledger *l;
	struct es_record_list recs;
	pid_t kids[2];
	char *dir = tu_mkdtemp();

	setenv("XDG_STATE_HOME", dir, 1);
	assert_int_equal(es_s3_create_bucket(f->aws, "edgeship-it-race", "us-east-1"), ES_OK);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0)
			_exit(race_writer(k));
	}
	for (int k = 0; k < 2; k++) {
		int st;
		assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(es_ledger_open(f->aws, "edgeship-it-race", "race", &l), ES_OK);
	assert_int_equal(es_ledger_read(l, &recs), ES_OK);
	assert_false(recs.offline);
	bool seen[2][RACE_WRITES] = {{false}};
	bool in_order = true, valid = true, twice = false;
	for (size_t i = 0; i < recs.n; i++) {
		json_t *o = json_loads(recs.items[i].json, 0, NULL);
		int w = (int)json_integer_value(json_object_get(o, "writer"));
		int n = (int)json_integer_value(json_object_get(o, "i"));
		json_decref(o);
		in_order = in_order && recs.items[i].seq == (long)i + 1;
		if (w < 0 || w >= 2 || n < 0 || n >= RACE_WRITES) {
			valid = false;
			continue;
		}
		twice = twice || seen[w][n];
		seen[w][n] = true;
	}
	/* Name what is missing before failing, so a failure says which
	 * write was lost rather than only a count. */
	for (int w = 0; w < 2; w++)
		for (int n = 0; n < RACE_WRITES; n++)
			if (!seen[w][n])
				print_message("# writer %d's record %d is not in the ledger\n", w, n);
	assert_int_equal(recs.n, 2 * RACE_WRITES);
	assert_true(in_order);
	assert_true(valid);
	assert_false(twice);
	es_record_list_free(&recs);
	es_ledger_free(l);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	if (!getenv("AWS_ENDPOINT_URL") || !getenv("ES_DEAD_ENDPOINT")) {
		printf("Bail out! run through tests/integration/moto.sh (needs AWS_ENDPOINT_URL)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(sts_get_caller_identity, setup, teardown),
	        cmocka_unit_test_setup_teardown(cfn_missing_stack_is_not_found, setup, teardown),
	        cmocka_unit_test_setup_teardown(cloudfront_list_distributions, setup, teardown),
	        cmocka_unit_test_setup_teardown(s3_objects, setup, teardown),
	        cmocka_unit_test_setup_teardown(lambda_list_functions, setup, teardown),
	        cmocka_unit_test_setup_teardown(codepipeline_list_pipelines, setup, teardown),
	        cmocka_unit_test_setup_teardown(whoami_identity, setup, teardown),
	        cmocka_unit_test_setup_teardown(ledger_race, setup, teardown),
	        cmocka_unit_test(dead_endpoint_retries_then_fails),
	        cmocka_unit_test(assume_role_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
