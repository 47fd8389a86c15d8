/* A scripted fake AWS for unit tests of the engine: it sits in the HTTP
 * transport seam (es_http_set_transport), so a real es_aws_client runs its
 * whole pipeline (endpoints, SigV4, retries, protocol parsers) and only the
 * wire is replaced. It answers from rules a test writes, keeps a log of
 * every request to assert on, and holds a small in-memory S3 (conditional
 * writes, listings with paging) for the ledger and the locks.
 *
 * A test in five lines:
 *
 *	fake_env();                                   // AWS_* for the fake, no real config
 *	struct es_loop *loop = es_loop_new();
 *	struct fake_aws *f = fake_new(loop);
 *	struct es_aws_client *aws = fake_client(f);   // es_aws_open() on that loop
 *	fake_expect(f, "POST", "DescribeStacks", 200, NULL, xml);
 *	... call core code with aws ...
 *	assert_int_equal(fake_unmatched(f), 0);
 *	es_aws_client_free(aws); fake_free(f); es_loop_free(loop);
 *
 * Answers always arrive on a later turn of the loop (never inside
 * es_http_send), after the rule's delay, which runs on the loop's timers:
 * the synchronous service calls (es_aws_send_sync) turn the loop for them,
 * and asynchronous engine operations see them as they would see AWS. Use
 * fake_run_until() to turn the loop for an asynchronous operation.
 *
 * Matching. Each request is checked against the rules in the order they
 * were added; the first rule that matches and has uses left answers it.
 * A rule's pattern is
 *   - a path pattern when it starts with '/': fnmatch(3) without flags
 *     ('*' crosses '/') against the request path as sent (percent-encoded,
 *     S3 path-style "/bucket/key"), and against "path?query" when there is
 *     a query, e.g. "/artifacts/ledger/00*" or "/artifacts?list-type=2*";
 *   - otherwise an operation pattern: fnmatch against the operation name,
 *     taken from Action= in a query-protocol body (CloudFormation, STS),
 *     from X-Amz-Target (CodePipeline), or worked out from method and
 *     path for S3 ("PutObject", "GetObject", "HeadObject", "DeleteObject",
 *     "ListObjectsV2", "CreateBucket", "HeadBucket") and CloudFront
 *     ("GetDistribution", "ListDistributions", "GetDistributionConfig",
 *     "UpdateDistribution", "CreateInvalidation", "GetInvalidation").
 * method NULL or "*" matches any method. fake_rule_* narrow a rule further
 * (body text, a header, a service).
 *
 * What is not matched. An S3 request no rule takes goes to the in-memory
 * S3. Any other request is answered 400 "FakeNoRule" (not retryable), and
 * counted by fake_unmatched(): assert it is 0 at the end of a test.
 *
 * Every answer carries a request id (x-amzn-RequestId, and
 * x-amz-request-id for S3) "FAKE-<n>" where n is the request's 1-based
 * place in the log, and a Date header from the fake's clock. A rule's own
 * headers replace these.
 *
 * The fake also checks what real AWS checks first:
 *   - clock: a request signed (X-Amz-Date) more than 15 minutes away from
 *     the fake's clock (ours + fake_set_clock_offset()) is refused with
 *     403 RequestTimeTooSkewed (S3) or 403 SignatureDoesNotMatch
 *     "Signature expired: …" (other services), with the fake's Date;
 *   - expired tokens: a request signed with a key passed to
 *     fake_expire_key() gets 400/403 ExpiredToken (ExpiredTokenException for
 *     JSON services).
 * These checks come before the rules, and such requests are logged with
 * applied false.
 *
 * Ownership: every string the fake returns belongs to the fake and lives
 * until fake_free() (or fake_log_clear() for the request log). */
#ifndef ES_FAKEAWS_H
#define ES_FAKEAWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/aws.h"
#include "base/loop.h"

struct fake_aws;
struct fake_rule;

/* Uses a rule may answer: fake_rule_times(r, FAKE_FOREVER). */
#define FAKE_FOREVER (-1)
/* Status for a rule on an S3 path that lets the in-memory S3 answer (the
 * rule then adds only its delay, times, transport error or lost answer). */
#define FAKE_S3 0

/* The access key the environment of fake_env() holds. */
#define FAKE_ACCESS_KEY_ID "AKIDFAKEEXAMPLE00001"

/* Set the environment for a client of the fake: AWS_ENDPOINT_URL
 * http://fake.invalid (so every service, S3 path-style included, goes to
 * the fake), region us-east-1, static keys FAKE_ACCESS_KEY_ID and a dummy
 * secret, no session token, no profile, config files that do not exist,
 * instance metadata off, and no AWS_MAX_ATTEMPTS / per-service endpoint
 * overrides. Call it before fake_client(). */
void fake_env(void);

/* A fake on loop, installed as its HTTP transport. NULL on failure. */
struct fake_aws *fake_new(struct es_loop *loop);
/* Uninstall the transport, drop answers still pending (their callers are
 * never called back) and free everything. NULL is fine. */
void fake_free(struct fake_aws *f);
struct es_loop *fake_loop(const struct fake_aws *f);

/* es_aws_open() on the fake's loop with the current environment; the test
 * frees it with es_aws_client_free(). Fails the test (cmocka) if it cannot. */
struct es_aws_client *fake_client(struct fake_aws *f);

/* The usual fixture of a test against the fake: a loop, the fake on it and
 * a client that tries each request once. fake_fixture_setup() and
 * fake_fixture_teardown() are cmocka setup/teardown functions over a
 * struct fake_fixture in *state; the teardown fails the test when a rule
 * expected a request that never came. */
struct fake_fixture {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
};
int fake_fixture_setup(void **state);
int fake_fixture_teardown(void **state);

/* Turn the loop until *done is true or timeout_ms of wall time passed (a
 * guard against hanging, not a timing assertion). Returns *done. */
bool fake_run_until(struct fake_aws *f, const bool *done, long timeout_ms);

/* ------------------------------------------------------------ rules */

/* Answer requests matching method and pattern with status, headers
 * ("Name: value" lines separated by '\n', or NULL) and body (text, or
 * NULL for none). Content-Type is guessed from the body (text/xml for
 * '<', application/json for '{') unless headers name one. The rule
 * answers once unless fake_rule_times() says otherwise. */
struct fake_rule *fake_expect(struct fake_aws *f, const char *method, const char *pattern,
                              long status, const char *headers, const char *body);
/* Like fake_expect, with an AWS error body in the shape of the request's
 * protocol (S3 <Error>, query/CloudFront <ErrorResponse>, rest-json with
 * x-amzn-ErrorType, json-1.1 __type): what the core's error parser reads. */
struct fake_rule *fake_expect_error(struct fake_aws *f, const char *method, const char *pattern,
                                    long status, const char *code, const char *message);

/* How many requests the rule answers (default 1; FAKE_FOREVER). */
struct fake_rule *fake_rule_times(struct fake_rule *r, int n);
/* Add a "Name: value" header to the rule's answers (replacing a default
 * such as Date or x-amzn-RequestId), e.g. "x-amz-retry-after: 5". */
struct fake_rule *fake_rule_answer_header(struct fake_rule *r, const char *line);
/* Hold the answer back for ms on the loop's timers. */
struct fake_rule *fake_rule_delay(struct fake_rule *r, long ms);
/* Answer with a transport error instead of an HTTP answer: curl_code is a
 * CURLcode (e.g. CURLE_RECV_ERROR), text the error message. The request
 * is logged as not applied: the server never acted on it. */
struct fake_rule *fake_rule_transport_error(struct fake_rule *r, int curl_code, const char *text);
/* Shorthands: a reset connection (CURLE_RECV_ERROR), a timeout
 * (CURLE_OPERATION_TIMEDOUT), an answer cut inside its headers
 * (CURLE_PARTIAL_FILE, what http.c reports for it). */
struct fake_rule *fake_rule_reset(struct fake_rule *r);
struct fake_rule *fake_rule_timeout(struct fake_rule *r);
struct fake_rule *fake_rule_cut(struct fake_rule *r);
/* The answer is lost after the side effect: the request is applied (for
 * FAKE_S3 rules the in-memory S3 really changes; otherwise it is logged
 * as applied) and the caller gets a reset connection. This is the case
 * every exactly-once step must reconcile by reading state back. */
struct fake_rule *fake_rule_lost(struct fake_rule *r);
/* Only requests whose body contains text (e.g. "StackName=app-staging"
 * in a query-protocol body, which is form-encoded). */
struct fake_rule *fake_rule_body_has(struct fake_rule *r, const char *text);
/* Only requests carrying header name with exactly value (value NULL: only
 * requests without that header). */
struct fake_rule *fake_rule_header_is(struct fake_rule *r, const char *name, const char *value);
/* Only requests signed for service ("s3", "cloudformation", "sts", …). */
struct fake_rule *fake_rule_service(struct fake_rule *r, const char *service);

struct fake_request;
/* Called when the rule matches, before it answers: a test can change the
 * fake here (e.g. fake_s3_put() another writer's object between a list and
 * a conditional put). */
typedef void (*fake_hook_fn)(struct fake_aws *f, const struct fake_request *req, void *ud);
struct fake_rule *fake_rule_on_match(struct fake_rule *r, fake_hook_fn fn, void *ud);

/* Drop every rule (the log, the S3 and the clock stay): for a test that
 * changes the script half-way. Rule pointers held become invalid. */
void fake_rules_clear(struct fake_aws *f);

/* Requests this rule answered so far. */
int fake_rule_hits(const struct fake_rule *r);

/* ------------------------------------------------------------ clock and keys */

/* The fake's clock is ours plus seconds: its Date headers and the 15-minute
 * signature window follow it. */
void fake_set_clock_offset(struct fake_aws *f, long seconds);
/* Requests signed with this access key id get ExpiredToken from now on. */
void fake_expire_key(struct fake_aws *f, const char *access_key_id);

/* ------------------------------------------------------------ the request log */

struct fake_param {
	char *name;  /* decoded */
	char *value; /* decoded */
};

struct fake_request {
	size_t index;    /* 0-based place in the log */
	char method[12]; /* as sent */
	char *url;
	char *connect_to;       /* curl's CONNECT_TO entry, "" when none */
	char *path;             /* as sent, percent-encoded */
	char *query;            /* as sent, "" when none */
	char service[32];       /* from the SigV4 credential scope, "" if unsigned */
	char operation[64];     /* see "Matching" above; "" when unknown */
	char access_key_id[64]; /* from the SigV4 credential scope */
	char amz_date[20];      /* X-Amz-Date */
	char request_id[24];    /* what the answer carried: "FAKE-<n>" */
	char **headers;         /* "Name: value" lines as sent (Authorization included) */
	size_t n_headers;
	struct fake_param *params; /* query string and form body, decoded */
	size_t n_params;
	char *body; /* NUL-terminated copy */
	size_t body_len;
	long status;   /* the answer's HTTP status, 0 for a transport error */
	int curl_code; /* the transport error, 0 for an answer */
	bool matched;  /* a rule or the in-memory S3 answered it */
	bool applied;  /* the fake acted on it (S3 changed, or a rule answered
	                * with a status or a lost answer) */
	int64_t at_ms; /* es_loop_now_ms() when it arrived */
};

size_t fake_count(const struct fake_aws *f);
/* The i-th request (0-based) or NULL. */
const struct fake_request *fake_request_at(const struct fake_aws *f, size_t i);
/* The newest request or NULL. */
const struct fake_request *fake_last(const struct fake_aws *f);
/* Requests matching method/pattern as rules match them. */
size_t fake_count_matching(const struct fake_aws *f, const char *method, const char *pattern);
/* The n-th (0-based) request matching method/pattern, or NULL. */
const struct fake_request *fake_find(const struct fake_aws *f, const char *method,
                                     const char *pattern, size_t n);
/* Requests nothing answered (they got 400 FakeNoRule). */
size_t fake_unmatched(const struct fake_aws *f);
/* A request header's value (case-insensitive name) or NULL. */
const char *fake_req_header(const struct fake_request *r, const char *name);
/* A query or form parameter's decoded value or NULL. */
const char *fake_req_param(const struct fake_request *r, const char *name);
/* Forget the log (rules and S3 stay). */
void fake_log_clear(struct fake_aws *f);
/* One line per request to out (a FILE *), for a failing test's output. */
void fake_dump(const struct fake_aws *f, void *out);

/* ------------------------------------------------------------ the in-memory S3
 *
 * Path-style requests "/bucket/key" (what the client sends to an overridden
 * endpoint). Supported, as S3 behaves:
 *   PUT /b           CreateBucket → 200 (idempotent)
 *   HEAD /b          HeadBucket → 200, or 404 when missing
 *   PUT /b/k         PutObject → 200 with ETag "\"<md5 hex>\"";
 *                    If-None-Match: *  and the key exists → 412 PreconditionFailed;
 *                    If-Match: <etag>  and the key is missing → 404 NoSuchKey,
 *                                      different ETag → 412 PreconditionFailed;
 *                    Content-MD5 that does not match the body → 400 BadDigest
 *   GET /b/k         GetObject → 200 body, ETag, Content-Type, Last-Modified;
 *                    404 NoSuchKey
 *   HEAD /b/k        HeadObject → 200 with Content-Length, ETag; 404 without a body
 *   DELETE /b/k      DeleteObject → 204 (also for a missing key);
 *                    If-Match: <etag>|* → 412 on mismatch, 404 when missing
 *   GET /b?list-type=2  ListObjectsV2 with prefix, start-after, max-keys
 *                    (default 1000, capped by fake_s3_page_size) and
 *                    continuation-token; keys in byte order; IsTruncated,
 *                    NextContinuationToken, KeyCount
 * A request to a bucket that does not exist → 404 NoSuchBucket. 409
 * ConditionalRequestConflict (two conditional writes racing) never happens
 * on its own here: inject it with a rule, e.g.
 *	fake_expect_error(f, "PUT", "/artifacts/locks/staging*", 409,
 *	                  "ConditionalRequestConflict", "A conflicting operation …");
 * Side effects happen when the request arrives; a rule's delay only holds
 * the answer back. */

/* Create a bucket (no error if it exists). */
void fake_s3_bucket(struct fake_aws *f, const char *bucket);
/* Store an object directly, as another writer would (creates the bucket). */
void fake_s3_put(struct fake_aws *f, const char *bucket, const char *key, const void *data,
                 size_t len);
/* An object's bytes (NUL-terminated, *len set when len is not NULL), or
 * NULL when there is no such object. */
const char *fake_s3_get(const struct fake_aws *f, const char *bucket, const char *key, size_t *len);
/* An object's ETag with its quotes, or NULL. */
const char *fake_s3_etag(const struct fake_aws *f, const char *bucket, const char *key);
/* Remove an object directly (no error if missing). */
void fake_s3_delete(struct fake_aws *f, const char *bucket, const char *key);
/* Objects in bucket whose key starts with prefix (NULL: all). */
size_t fake_s3_count(const struct fake_aws *f, const char *bucket, const char *prefix);
/* The most keys one ListObjectsV2 page holds (default 1000): set it low to
 * make code under test follow continuation tokens. */
void fake_s3_page_size(struct fake_aws *f, int n);

/* ------------------------------------------------------------ answer builders
 * Common answers, as malloc'd text the caller frees, or as rules. */

/* GetCallerIdentity for arn (account taken from it); forever. */
struct fake_rule *fake_sts_identity(struct fake_aws *f, const char *arn);
/* DescribeStacks for stack: status, and tags / outputs as "k=v;k=v" (or
 * NULL). Matches only a request naming that stack; once. */
struct fake_rule *fake_cfn_stack(struct fake_aws *f, const char *stack, const char *status,
                                 const char *tags, const char *outputs);
/* DescribeStacks for a stack that does not exist (400 ValidationError
 * "Stack with id X does not exist"); once. */
struct fake_rule *fake_cfn_no_stack(struct fake_aws *f, const char *stack);
/* DescribeStackResources for stack: resources as
 * "Logical|Type|Physical;…" (e.g. "Cdn|AWS::CloudFront::Distribution|E2ABC"); once. */
struct fake_rule *fake_cfn_resources(struct fake_aws *f, const char *stack, const char *resources);
/* GetDistribution answer body for id with status "InProgress"/"Deployed". */
char *fake_cf_distribution_xml(const char *id, const char *status);
/* GetDistribution of id (and only id): fake_cf_distribution_xml's body with
 * ETag "E-<id>"; once. */
struct fake_rule *fake_cf_distribution(struct fake_aws *f, const char *id, const char *status);
/* A ListDistributions answer body: items as "Id|Status|LastModifiedTime|
 * LambdaARN;…" (the ARN may be left out; DomainName is <id>.cloudfront.net);
 * next_marker non-NULL: a truncated page that continues there. */
char *fake_cf_list_xml(const char *items, const char *next_marker);

#endif
