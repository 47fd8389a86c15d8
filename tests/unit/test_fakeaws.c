/* The fake AWS keeps its promises (fakeaws.h), since the engine tests lean
 * on them: rule matching and options, the request log, error shapes the
 * core parsers read, cancelling, and the in-memory S3's conditional writes
 * and listings, all through the real S3/CloudFront/CodePipeline clients. */
#include "config.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/codepipeline.h"
#include "aws/http.h"
#include "aws/s3.h"
#include "aws/sts.h"
#include "base/error.h"
#include "fakeaws.h"

struct env {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	e->loop = es_loop_new();
	e->fake = fake_new(e->loop);
	if (!e->loop || !e->fake)
		return -1;
	e->aws = fake_client(e->fake);
	es_aws_set_max_attempts(e->aws, 1);
	fake_s3_bucket(e->fake, "artifacts");
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	free(e);
	return 0;
}

static int put(struct env *e, const char *key, const char *text, bool create_only)
{
	struct es_s3_put opt = {.content_type = "application/json", .if_none_match = create_only};
	return es_s3_put_object(e->aws, "artifacts", key, text, strlen(text), &opt);
}

/* ------------------------------------------------------------ S3 objects */

static void objects_round_trip(void **state)
{
	struct env *e = *state;
	struct es_buf out = ES_BUF_INIT;
	struct es_s3_head head;

	assert_int_equal(put(e, "app/artifacts/a b.zip", "zip bytes", false), ES_OK);
	const struct fake_request *q = fake_last(e->fake);
	assert_string_equal(q->operation, "PutObject");
	assert_string_equal(q->path, "/artifacts/app/artifacts/a%20b.zip");
	assert_true(q->applied);
	/* Stored under the decoded key, with S3's ETag: the body's MD5. */
	assert_string_equal(fake_s3_etag(e->fake, "artifacts", "app/artifacts/a b.zip"),
	                    "\"91e39f164925e8b875b65c81497a0106\"");

	assert_int_equal(es_s3_get_object(e->aws, "artifacts", "app/artifacts/a b.zip", &out),
	                 ES_OK);
	assert_int_equal(out.len, 9);
	assert_memory_equal(out.data, "zip bytes", 9);
	es_buf_free(&out);

	assert_int_equal(es_s3_head_object(e->aws, "artifacts", "app/artifacts/a b.zip", &head),
	                 ES_OK);
	assert_true(head.exists);
	assert_int_equal(head.size, 9);
	assert_string_equal(head.etag, "\"91e39f164925e8b875b65c81497a0106\"");

	assert_int_equal(es_s3_delete_object(e->aws, "artifacts", "app/artifacts/a b.zip"), ES_OK);
	assert_int_equal(fake_last(e->fake)->status, 204);
	assert_null(fake_s3_get(e->fake, "artifacts", "app/artifacts/a b.zip", NULL));
	assert_int_equal(es_s3_head_object(e->aws, "artifacts", "app/artifacts/a b.zip", &head),
	                 ES_OK);
	assert_false(head.exists);
	assert_int_equal(es_s3_get_object(e->aws, "artifacts", "app/artifacts/a b.zip", &out),
	                 ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "NoSuchKey");
	/* Deleting what is not there is fine in S3. */
	assert_int_equal(es_s3_delete_object(e->aws, "artifacts", "nothing"), ES_OK);
	assert_int_equal(fake_unmatched(e->fake), 0);
}

static void buckets(void **state)
{
	struct env *e = *state;
	struct es_buf out = ES_BUF_INIT;
	bool exists = true;

	assert_int_equal(es_s3_bucket_exists(e->aws, "other", &exists), ES_OK);
	assert_false(exists);
	assert_int_equal(es_s3_get_object(e->aws, "other", "k", &out), ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "NoSuchBucket");
	assert_int_equal(es_s3_create_bucket(e->aws, "other", "us-east-1"), ES_OK);
	assert_int_equal(es_s3_bucket_exists(e->aws, "other", &exists), ES_OK);
	assert_true(exists);
}

static void create_only_put_refuses_an_existing_key(void **state)
{
	struct env *e = *state;

	assert_int_equal(put(e, "ledger/0000000001.json", "{\"seq\":1}", true), ES_OK);
	assert_string_equal(fake_req_header(fake_last(e->fake), "If-None-Match"), "*");
	assert_int_equal(put(e, "ledger/0000000001.json", "{\"seq\":1,\"x\":2}", true), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_string_equal(es_error_last()->code, "PreconditionFailed");
	assert_false(fake_last(e->fake)->applied);
	/* The first writer's record is intact. */
	assert_string_equal(fake_s3_get(e->fake, "artifacts", "ledger/0000000001.json", NULL),
	                    "{\"seq\":1}");
	/* Without the condition S3 overwrites. */
	assert_int_equal(put(e, "ledger/0000000001.json", "{}", false), ES_OK);
	assert_string_equal(fake_s3_get(e->fake, "artifacts", "ledger/0000000001.json", NULL),
	                    "{}");
}

static int put_if_match(struct env *e, const char *key, const char *text, const char *etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	assert_int_equal(es_s3_put_object_call(&call, "artifacts", key, text, strlen(text), NULL),
	                 ES_OK);
	assert_int_equal(es_aws_call_header(&call, "If-Match", etag), ES_OK);
	rc = es_aws_send_sync(e->aws, &call, &resp);
	if (!rc)
		es_http_response_free(&resp);
	return rc;
}

static void if_match_replaces_only_the_version_read(void **state)
{
	struct env *e = *state;
	char etag[64];

	assert_int_equal(put(e, "locks/staging.json", "{\"owner\":\"a\"}", true), ES_OK);
	snprintf(etag, sizeof(etag), "%s",
	         fake_s3_etag(e->fake, "artifacts", "locks/staging.json"));
	assert_int_equal(put_if_match(e, "locks/staging.json", "{\"owner\":\"b\"}", etag), ES_OK);
	/* A second writer holding the old ETag loses. */
	assert_int_equal(put_if_match(e, "locks/staging.json", "{\"owner\":\"c\"}", etag), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_string_equal(fake_s3_get(e->fake, "artifacts", "locks/staging.json", NULL),
	                    "{\"owner\":\"b\"}");
	/* If-Match on a key that is not there. */
	assert_int_equal(put_if_match(e, "locks/prod.json", "{}", etag), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 404);
	assert_string_equal(es_error_last()->code, "NoSuchKey");
}

static int delete_if_match(struct env *e, const char *key, const char *etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	assert_int_equal(es_aws_call_init(&call, "s3", "DeleteObject", ES_PROTO_REST_XML, "DELETE",
	                                  "/artifacts/"),
	                 ES_OK);
	es_buf_puts(&call.path, key);
	assert_int_equal(es_aws_call_header(&call, "If-Match", etag), ES_OK);
	rc = es_aws_send_sync(e->aws, &call, &resp);
	if (!rc)
		es_http_response_free(&resp);
	return rc;
}

static void conditional_delete(void **state)
{
	struct env *e = *state;

	assert_int_equal(put(e, "locks/staging.json", "{\"owner\":\"a\"}", true), ES_OK);
	assert_int_equal(delete_if_match(e, "locks/staging.json", "\"0000\""), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_non_null(fake_s3_get(e->fake, "artifacts", "locks/staging.json", NULL));
	assert_int_equal(delete_if_match(e, "locks/staging.json",
	                                 fake_s3_etag(e->fake, "artifacts", "locks/staging.json")),
	                 ES_OK);
	assert_null(fake_s3_get(e->fake, "artifacts", "locks/staging.json", NULL));
	assert_int_equal(delete_if_match(e, "locks/staging.json", "*"), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 404);
}

static void damaged_body_is_refused(void **state)
{
	struct env *e = *state;
	struct es_aws_call call;
	struct es_http_response resp;

	/* Content-MD5 of one body, another on the wire. */
	assert_int_equal(es_s3_put_object_call(&call, "artifacts", "k", "abc", 3, NULL), ES_OK);
	es_buf_puts(&call.body, "d");
	assert_int_equal(es_aws_send_sync(e->aws, &call, &resp), ES_EAWS);
	assert_string_equal(es_error_last()->code, "BadDigest");
	assert_null(fake_s3_get(e->fake, "artifacts", "k", NULL));
}

static void listings_page_and_start_after(void **state)
{
	struct env *e = *state;
	struct es_s3_listing ls;
	char key[64];

	for (int i = 7; i >= 1; i--) {
		snprintf(key, sizeof(key), "app/ledger/%010d.json", i);
		fake_s3_put(e->fake, "artifacts", key, "{}", 2);
	}
	fake_s3_put(e->fake, "artifacts", "app/locks/staging.json", "{}", 2);
	fake_s3_put(e->fake, "artifacts", "app/ledgerx", "{}", 2);
	fake_s3_page_size(e->fake, 3);

	assert_int_equal(es_s3_list(e->aws, "artifacts", "app/ledger/", NULL, &ls), ES_OK);
	assert_int_equal(ls.n, 7);
	for (size_t i = 0; i < ls.n; i++) {
		snprintf(key, sizeof(key), "app/ledger/%010zu.json", i + 1);
		assert_string_equal(ls.keys[i], key);
	}
	es_s3_listing_free(&ls);
	/* Three pages; the later ones carry the token the earlier gave. */
	assert_int_equal(fake_count_matching(e->fake, "GET", "ListObjectsV2"), 3);
	const struct fake_request *p1 = fake_find(e->fake, "GET", "ListObjectsV2", 0);
	const struct fake_request *p2 = fake_find(e->fake, "GET", "ListObjectsV2", 1);
	assert_null(fake_req_param(p1, "continuation-token"));
	assert_non_null(fake_req_param(p2, "continuation-token"));
	assert_string_equal(fake_req_param(p2, "prefix"), "app/ledger/");

	assert_int_equal(
	        es_s3_list(e->aws, "artifacts", "app/ledger/", "app/ledger/0000000005.json", &ls),
	        ES_OK);
	assert_int_equal(ls.n, 2);
	assert_string_equal(ls.keys[0], "app/ledger/0000000006.json");
	es_s3_listing_free(&ls);

	assert_int_equal(es_s3_list(e->aws, "artifacts", "app/nothing/", NULL, &ls), ES_OK);
	assert_int_equal(ls.n, 0);
	es_s3_listing_free(&ls);
	assert_int_equal(fake_s3_count(e->fake, "artifacts", "app/ledger"), 8);
}

static void list_max_keys_and_bad_token(void **state)
{
	struct env *e = *state;
	struct es_aws_call call;
	struct es_http_response resp;

	fake_s3_put(e->fake, "artifacts", "a", "1", 1);
	fake_s3_put(e->fake, "artifacts", "b", "2", 1);
	fake_s3_put(e->fake, "artifacts", "c", "3", 1);
	assert_int_equal(es_aws_call_init(&call, "s3", "ListObjectsV2", ES_PROTO_REST_XML, "GET",
	                                  "/artifacts"),
	                 ES_OK);
	es_buf_puts(&call.query, "list-type=2&max-keys=2");
	assert_int_equal(es_aws_send_sync(e->aws, &call, &resp), ES_OK);
	assert_non_null(strstr(resp.body.data, "<KeyCount>2</KeyCount>"));
	assert_non_null(strstr(resp.body.data, "<IsTruncated>true</IsTruncated>"));
	assert_non_null(strstr(resp.body.data, "<Key>b</Key>"));
	assert_null(strstr(resp.body.data, "<Key>c</Key>"));
	es_http_response_free(&resp);

	assert_int_equal(es_s3_list_call(&call, "artifacts", NULL, NULL, "garbage"), ES_OK);
	assert_int_equal(es_aws_send_sync(e->aws, &call, &resp), ES_EAWS);
	assert_string_equal(es_error_last()->code, "InvalidArgument");
}

/* ------------------------------------------------------------ rules */

static void rules_match_in_order_and_run_out(void **state)
{
	struct env *e = *state;
	struct fake_rule *first, *second;
	struct es_buf out = ES_BUF_INIT;

	fake_s3_put(e->fake, "artifacts", "k", "real", 4);
	first = fake_rule_times(fake_expect(e->fake, "GET", "/artifacts/k", 200, NULL, "one"), 2);
	second = fake_expect(e->fake, NULL, "GetObject", 200, "ETag: \"x\"", "two");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(es_s3_get_object(e->aws, "artifacts", "k", &out), ES_OK);
		assert_string_equal(es_buf_str(&out), "one");
	}
	assert_int_equal(es_s3_get_object(e->aws, "artifacts", "k", &out), ES_OK);
	assert_string_equal(es_buf_str(&out), "two");
	/* Rules used up: the in-memory S3 answers. */
	assert_int_equal(es_s3_get_object(e->aws, "artifacts", "k", &out), ES_OK);
	assert_string_equal(es_buf_str(&out), "real");
	es_buf_free(&out);
	assert_int_equal(fake_rule_hits(first), 2);
	assert_int_equal(fake_rule_hits(second), 1);
}

static void rules_narrowed_by_body_header_and_service(void **state)
{
	struct env *e = *state;
	struct es_stack st;

	fake_cfn_stack(e->fake, "app-production", "UPDATE_COMPLETE", NULL, NULL);
	fake_cfn_stack(e->fake, "app-staging", "UPDATE_IN_PROGRESS", "edgeship:commit=abc", NULL);
	assert_int_equal(es_cfn_describe_stack(e->aws, "app-staging", &st), ES_OK);
	assert_string_equal(st.status, "UPDATE_IN_PROGRESS");
	es_stack_free(&st);
	assert_int_equal(es_cfn_describe_stack(e->aws, "app-production", &st), ES_OK);
	assert_string_equal(st.status, "UPDATE_COMPLETE");
	es_stack_free(&st);
	assert_string_equal(fake_req_param(fake_last(e->fake), "StackName"), "app-production");

	/* A header rule: only conditional creates get the injected conflict. */
	fake_rule_header_is(fake_expect_error(e->fake, "PUT", "/artifacts/locks/*", 409,
	                                      "ConditionalRequestConflict",
	                                      "A conflicting conditional operation is in progress"),
	                    "If-None-Match", "*");
	assert_int_equal(put(e, "locks/x", "{}", false), ES_OK);
	assert_int_equal(put(e, "locks/y", "{}", true), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 409);
	assert_string_equal(es_error_last()->code, "ConditionalRequestConflict");
	assert_null(fake_s3_get(e->fake, "artifacts", "locks/y", NULL));

	/* A service rule does not catch another service's request. */
	fake_rule_service(fake_expect(e->fake, "POST", "/", 500, NULL, NULL), "cloudformation");
	fake_sts_identity(e->fake, "arn:aws:iam::123456789012:user/x");
	struct es_caller_identity id;
	assert_int_equal(es_sts_get_caller_identity(e->aws, &id), ES_OK);
	es_caller_identity_free(&id);
	assert_int_equal(fake_unmatched(e->fake), 0);
}

static void writer_sneaks_in(struct fake_aws *f, const struct fake_request *req, void *ud)
{
	(void)req;
	(void)ud;
	fake_s3_put(f, "artifacts", "ledger/0000000002.json", "{\"who\":\"other\"}", 15);
}

static void hooks_change_the_world_between_requests(void **state)
{
	struct env *e = *state;
	struct fake_rule *r;

	r = fake_rule_on_match(
	        fake_expect(e->fake, "PUT", "/artifacts/ledger/*", FAKE_S3, NULL, NULL),
	        writer_sneaks_in, NULL);
	assert_int_equal(put(e, "ledger/0000000002.json", "{\"who\":\"me\"}", true), ES_EAWS);
	assert_int_equal(es_error_last()->http_status, 412);
	assert_int_equal(fake_rule_hits(r), 1);
	assert_string_equal(fake_s3_get(e->fake, "artifacts", "ledger/0000000002.json", NULL),
	                    "{\"who\":\"other\"}");
}

static void error_shapes_follow_the_protocol(void **state)
{
	struct env *e = *state;
	char **names = NULL;
	size_t n = 0;
	struct es_distribution d;

	/* json-1.1 (CodePipeline): __type. */
	fake_expect_error(e->fake, "POST", "ListPipelines", 400, "ValidationException",
	                  "bad token");
	assert_int_equal(es_codepipeline_list_pipelines(e->aws, &names, &n), ES_EAWS);
	assert_string_equal(es_error_last()->code, "ValidationException");
	assert_string_equal(es_error_last()->message, "bad token");
	assert_string_equal(fake_last(e->fake)->service, "codepipeline");

	/* rest-xml (CloudFront): <ErrorResponse>. */
	fake_expect_error(e->fake, "GET", "GetDistribution", 404, "NoSuchDistribution",
	                  "The specified distribution does not exist.");
	assert_int_equal(es_cf_get_distribution(e->aws, "E2FAKE", &d), ES_EAWS);
	assert_string_equal(es_error_last()->code, "NoSuchDistribution");
	assert_string_equal(es_error_last()->request_id, fake_last(e->fake)->request_id);
	assert_string_equal(fake_last(e->fake)->path, "/2020-05-31/distribution/E2FAKE");
}

static void distribution_answers_parse(void **state)
{
	struct env *e = *state;
	struct es_distribution d;
	char *xml = fake_cf_distribution_xml("E2FAKE", "InProgress");

	fake_expect(e->fake, "GET", "GetDistribution", 200, "ETag: E1XYZ", xml);
	free(xml);
	assert_int_equal(es_cf_get_distribution(e->aws, "E2FAKE", &d), ES_OK);
	assert_string_equal(d.id, "E2FAKE");
	assert_string_equal(d.status, "InProgress");
	assert_string_equal(d.etag, "E1XYZ");
	assert_non_null(strstr(d.lambda_arn, "function:edge:7"));
	es_distribution_free(&d);
}

/* ------------------------------------------------------------ the seam itself */

static void never_called(const struct es_http_response *resp, void *ud)
{
	(void)resp;
	*(int *)ud += 1;
}

static void cancelled_requests_are_never_answered(void **state)
{
	struct env *e = *state;
	struct es_http_call *call = NULL;
	int calls = 0;
	const char *headers[] = {"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/"
	                         "us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
	                         NULL};
	struct es_http_request req = {
	        .method = "POST", .url = "http://fake.invalid/", .headers = headers};

	fake_rule_delay(fake_expect(e->fake, "POST", "/", 200, NULL, "<ok/>"), 30);
	assert_int_equal(es_http_send(e->loop, &req, never_called, &calls, &call), ES_OK);
	assert_non_null(call);
	es_http_cancel(e->loop, call);
	/* Long enough for the answer's timer to have fired, had it stayed. */
	int64_t end = es_loop_now_ms() + 80;
	while (es_loop_now_ms() < end)
		es_loop_turn(e->loop, 20);
	assert_int_equal(calls, 0);
	assert_int_equal(fake_count(e->fake), 1);
	assert_string_equal(fake_last(e->fake)->service, "sts");
}

static void request_ids_and_dates_on_every_answer(void **state)
{
	struct env *e = *state;
	struct es_aws_call call;
	struct es_http_response resp;

	fake_s3_put(e->fake, "artifacts", "k", "v", 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(es_s3_get_object_call(&call, "artifacts", "k"), ES_OK);
		assert_int_equal(es_aws_send_sync(e->aws, &call, &resp), ES_OK);
		assert_string_equal(es_http_header(&resp, "x-amz-request-id"),
		                    fake_request_at(e->fake, (size_t)i)->request_id);
		assert_non_null(strstr(es_http_header(&resp, "Date"), " GMT"));
		es_http_response_free(&resp);
	}
	assert_string_not_equal(fake_request_at(e->fake, 0)->request_id,
	                        fake_request_at(e->fake, 1)->request_id);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(objects_round_trip),
	        T(buckets),
	        T(create_only_put_refuses_an_existing_key),
	        T(if_match_replaces_only_the_version_read),
	        T(conditional_delete),
	        T(damaged_body_is_refused),
	        T(listings_page_and_start_after),
	        T(list_max_keys_and_bad_token),
	        T(rules_match_in_order_and_run_out),
	        T(rules_narrowed_by_body_header_and_service),
	        T(hooks_change_the_world_between_requests),
	        T(error_shapes_follow_the_protocol),
	        T(distribution_answers_parse),
	        T(cancelled_requests_are_never_answered),
	        T(request_ids_and_dates_on_every_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
