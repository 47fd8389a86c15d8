/* The scripted fake AWS behind the HTTP transport seam: rules, the request
 * log, the clock and key checks, and the transport itself. The in-memory S3
 * is in fakeaws_s3.c, canned answers in fakeaws_answers.c. See fakeaws.h. */
#include "config.h"

#include <curl/curl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "aws/client.h"
#include "aws/http.h"
#include "base/error.h"
#include "base/text.h"
#include "fakeaws_int.h"

#define FAKE_ENDPOINT "http://fake.invalid"
#define SKEW_WINDOW   (15 * 60)

/* ------------------------------------------------------------ small helpers */

char *fk_strdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	assert_true(!s || d);
	return d;
}

void *fk_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	assert_non_null(p);
	return p;
}

/* Percent-fk_decode s[0..len) ('+' as space when form is set). malloc'd. */
char *fk_decode(const char *s, size_t len, bool form)
{
	char *out = fk_calloc(len + 1, 1);
	size_t j = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && es_hex_digit(s[i + 1]) >= 0 &&
		    es_hex_digit(s[i + 2]) >= 0) {
			out[j++] = (char)(es_hex_digit(s[i + 1]) * 16 + es_hex_digit(s[i + 2]));
			i += 2;
		} else if (form && s[i] == '+') {
			out[j++] = ' ';
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

void fk_xml_escape(struct es_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': es_buf_puts(b, "&lt;"); break;
		case '>': es_buf_puts(b, "&gt;"); break;
		case '&': es_buf_puts(b, "&amp;"); break;
		case '"': es_buf_puts(b, "&quot;"); break;
		default: es_buf_putc(b, *s);
		}
	}
}

void fk_iso8601(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

time_t fk_now(const struct fake_aws *f)
{
	return time(NULL) + f->clock_offset;
}

void fk_http_date(time_t t, char out[40])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ------------------------------------------------------------ lifecycle */

void fake_env(void)
{
	static const char *const clear[] = {
	        "AWS_SESSION_TOKEN",
	        "AWS_PROFILE",
	        "AWS_DEFAULT_PROFILE",
	        "AWS_MAX_ATTEMPTS",
	        "AWS_RETRY_MODE",
	        "AWS_ROLE_ARN",
	        "AWS_WEB_IDENTITY_TOKEN_FILE",
	        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	        "AWS_ENDPOINT_URL_S3",
	        "AWS_ENDPOINT_URL_STS",
	        "AWS_ENDPOINT_URL_CLOUDFORMATION",
	        "AWS_ENDPOINT_URL_CLOUDFRONT",
	        "AWS_ENDPOINT_URL_LAMBDA",
	        "AWS_ENDPOINT_URL_CODEPIPELINE",
	        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	        "AWS_DEFAULT_REGION",
	};
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		unsetenv(clear[i]);
	setenv("AWS_ENDPOINT_URL", FAKE_ENDPOINT, 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID, 1);
	/* A dummy: the fake does not check signatures, only their shape. */
	setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-unit-tests", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/edgeship-fake/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/edgeship-fake/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static int t_send(void *ud, struct es_http_call *call, const struct es_http_request *req);
static void t_cancel(void *ud, struct es_http_call *call);

struct fake_aws *fake_new(struct es_loop *loop)
{
	struct fake_aws *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->loop = loop;
	f->page_size = 1000;
	f->transport.send = t_send;
	f->transport.cancel = t_cancel;
	if (es_http_set_transport(loop, &f->transport, f) != ES_OK) {
		free(f);
		return NULL;
	}
	return f;
}

static void request_free(struct fake_request *r)
{
	if (!r)
		return;
	free(r->url);
	free(r->connect_to);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r->headers);
	for (size_t i = 0; i < r->n_params; i++) {
		free(r->params[i].name);
		free(r->params[i].value);
	}
	free(r->params);
	free(r->body);
	free(r);
}

static void rule_free(struct fake_rule *r)
{
	free(r->method);
	free(r->pattern);
	free(r->headers);
	free(r->body);
	free(r->error_code);
	free(r->error_message);
	free(r->curl_text);
	free(r->body_has);
	free(r->header_name);
	free(r->header_value);
	free(r->service);
	free(r);
}

static void pending_free(struct pending *p)
{
	es_http_response_free(&p->resp);
	free(p);
}

void fake_log_clear(struct fake_aws *f)
{
	for (size_t i = 0; i < f->n_log; i++)
		request_free(f->log[i]);
	f->n_log = 0;
	f->unmatched = 0;
}

void fake_free(struct fake_aws *f)
{
	if (!f)
		return;
	es_http_set_transport(f->loop, NULL, NULL);
	while (f->pending) {
		struct pending *p = f->pending;
		f->pending = p->next;
		es_loop_timer_cancel(f->loop, p->timer);
		/* The call was never completed: cancel it so http.c frees it. */
		es_http_cancel(f->loop, p->call);
		pending_free(p);
	}
	fake_rules_clear(f);
	fake_log_clear(f);
	free(f->log);
	for (size_t i = 0; i < f->n_expired; i++)
		free(f->expired_keys[i]);
	free(f->expired_keys);
	for (size_t i = 0; i < f->n_buckets; i++)
		free(f->buckets[i]);
	free(f->buckets);
	for (size_t i = 0; i < f->n_objects; i++) {
		free(f->objects[i].bucket);
		free(f->objects[i].key);
		free(f->objects[i].data);
	}
	free(f->objects);
	free(f);
}

struct es_loop *fake_loop(const struct fake_aws *f)
{
	return f->loop;
}

struct es_aws_client *fake_client(struct fake_aws *f)
{
	struct es_aws_client *c = NULL;
	int rc = es_aws_open(f->loop, NULL, &c);

	if (rc)
		fail_msg("es_aws_open: %s", es_error_last()->message);
	return c;
}

int fake_fixture_setup(void **state)
{
	struct fake_fixture *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	fake_env();
	e->loop = es_loop_new();
	e->fake = e->loop ? fake_new(e->loop) : NULL;
	if (!e->fake) {
		es_loop_free(e->loop);
		free(e);
		return -1;
	}
	e->aws = fake_client(e->fake);
	es_aws_set_max_attempts(e->aws, 1);
	*state = e;
	return 0;
}

int fake_fixture_teardown(void **state)
{
	struct fake_fixture *e = *state;

	assert_int_equal(fake_unmatched(e->fake), 0);
	es_aws_client_free(e->aws);
	fake_free(e->fake);
	es_loop_free(e->loop);
	free(e);
	return 0;
}

bool fake_run_until(struct fake_aws *f, const bool *done, long timeout_ms)
{
	int64_t end = es_loop_now_ms() + timeout_ms;

	while (!*done && es_loop_now_ms() < end)
		if (es_loop_turn(f->loop, 50) != ES_OK)
			break;
	return *done;
}

/* ------------------------------------------------------------ rules */

struct fake_rule *fake_expect(struct fake_aws *f, const char *method, const char *pattern,
                              long status, const char *headers, const char *body)
{
	struct fake_rule *r = fk_calloc(1, sizeof(*r));

	r->method = method && strcmp(method, "*") != 0 ? fk_strdup(method) : NULL;
	r->pattern = fk_strdup(pattern ? pattern : "*");
	r->status = status;
	r->headers = fk_strdup(headers);
	r->body = fk_strdup(body);
	r->times = 1;
	if (f->last_rule)
		f->last_rule->next = r;
	else
		f->rules = r;
	f->last_rule = r;
	return r;
}

struct fake_rule *fake_expect_error(struct fake_aws *f, const char *method, const char *pattern,
                                    long status, const char *code, const char *message)
{
	struct fake_rule *r = fake_expect(f, method, pattern, status, NULL, NULL);
	r->error_code = fk_strdup(code);
	r->error_message = fk_strdup(message ? message : "");
	return r;
}

struct fake_rule *fake_rule_times(struct fake_rule *r, int n)
{
	r->times = n;
	return r;
}

struct fake_rule *fake_rule_answer_header(struct fake_rule *r, const char *line)
{
	struct es_buf b = ES_BUF_INIT;

	if (r->headers)
		es_buf_printf(&b, "%s\n", r->headers);
	es_buf_puts(&b, line);
	free(r->headers);
	r->headers = es_buf_steal(&b);
	assert_non_null(r->headers);
	return r;
}

struct fake_rule *fake_rule_delay(struct fake_rule *r, long ms)
{
	r->delay_ms = ms;
	return r;
}

struct fake_rule *fake_rule_transport_error(struct fake_rule *r, int curl_code, const char *text)
{
	r->curl_code = curl_code;
	free(r->curl_text);
	r->curl_text = fk_strdup(text);
	return r;
}

struct fake_rule *fake_rule_reset(struct fake_rule *r)
{
	return fake_rule_transport_error(r, CURLE_RECV_ERROR,
	                                 "Recv failure: Connection reset by peer");
}

struct fake_rule *fake_rule_timeout(struct fake_rule *r)
{
	return fake_rule_transport_error(r, CURLE_OPERATION_TIMEDOUT,
	                                 "Operation timed out after 60000 milliseconds");
}

struct fake_rule *fake_rule_cut(struct fake_rule *r)
{
	return fake_rule_transport_error(r, CURLE_PARTIAL_FILE,
	                                 "the connection closed inside the answer's headers");
}

struct fake_rule *fake_rule_lost(struct fake_rule *r)
{
	r->lost = true;
	return r;
}

struct fake_rule *fake_rule_body_has(struct fake_rule *r, const char *text)
{
	free(r->body_has);
	r->body_has = fk_strdup(text);
	return r;
}

struct fake_rule *fake_rule_header_is(struct fake_rule *r, const char *name, const char *value)
{
	free(r->header_name);
	free(r->header_value);
	r->header_name = fk_strdup(name);
	r->header_value = fk_strdup(value);
	return r;
}

struct fake_rule *fake_rule_service(struct fake_rule *r, const char *service)
{
	free(r->service);
	r->service = fk_strdup(service);
	return r;
}

struct fake_rule *fake_rule_on_match(struct fake_rule *r, fake_hook_fn fn, void *ud)
{
	r->hook = fn;
	r->hook_ud = ud;
	return r;
}

void fake_rules_clear(struct fake_aws *f)
{
	while (f->rules) {
		struct fake_rule *r = f->rules;
		f->rules = r->next;
		rule_free(r);
	}
	f->last_rule = NULL;
}

int fake_rule_hits(const struct fake_rule *r)
{
	return r->hits;
}

void fake_set_clock_offset(struct fake_aws *f, long seconds)
{
	f->clock_offset = seconds;
}

void fake_expire_key(struct fake_aws *f, const char *akid)
{
	char **k = realloc(f->expired_keys, (f->n_expired + 1) * sizeof(*k));
	assert_non_null(k);
	f->expired_keys = k;
	k[f->n_expired++] = fk_strdup(akid);
}

/* ------------------------------------------------------------ the log */

size_t fake_count(const struct fake_aws *f)
{
	return f->n_log;
}

const struct fake_request *fake_request_at(const struct fake_aws *f, size_t i)
{
	return i < f->n_log ? f->log[i] : NULL;
}

const struct fake_request *fake_last(const struct fake_aws *f)
{
	return f->n_log ? f->log[f->n_log - 1] : NULL;
}

size_t fake_unmatched(const struct fake_aws *f)
{
	return f->unmatched;
}

const char *fake_req_header(const struct fake_request *r, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->n_headers; i++) {
		const char *h = r->headers[i];
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			while (*h == ' ')
				h++;
			return h;
		}
	}
	return NULL;
}

const char *fake_req_param(const struct fake_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

static bool pattern_matches(const char *pattern, const struct fake_request *q)
{
	if (pattern[0] == '/') {
		if (fnmatch(pattern, q->path, 0) == 0)
			return true;
		if (q->query[0]) {
			struct es_buf b = ES_BUF_INIT;
			es_buf_printf(&b, "%s?%s", q->path, q->query);
			bool m = fnmatch(pattern, es_buf_str(&b), 0) == 0;
			es_buf_free(&b);
			return m;
		}
		return false;
	}
	return fnmatch(pattern, q->operation, 0) == 0;
}

static bool method_matches(const char *method, const struct fake_request *q)
{
	return !method || strcmp(method, "*") == 0 || strcasecmp(method, q->method) == 0;
}

size_t fake_count_matching(const struct fake_aws *f, const char *method, const char *pattern)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_log; i++)
		if (method_matches(method, f->log[i]) && pattern_matches(pattern, f->log[i]))
			n++;
	return n;
}

const struct fake_request *fake_find(const struct fake_aws *f, const char *method,
                                     const char *pattern, size_t n)
{
	for (size_t i = 0; i < f->n_log; i++)
		if (method_matches(method, f->log[i]) && pattern_matches(pattern, f->log[i]) &&
		    n-- == 0)
			return f->log[i];
	return NULL;
}

void fake_dump(const struct fake_aws *f, void *out)
{
	FILE *o = out;

	for (size_t i = 0; i < f->n_log; i++) {
		const struct fake_request *q = f->log[i];
		fprintf(o, "# fake %zu: %s %s%s%s [%s %s] -> %ld curl=%d%s%s\n", q->index,
		        q->method, q->path, q->query[0] ? "?" : "", q->query, q->service,
		        q->operation, q->status, q->curl_code, q->matched ? "" : " UNMATCHED",
		        q->applied ? " applied" : "");
	}
}

/* ------------------------------------------------------------ parsing a request */

static void add_param(struct fake_request *q, const char *s, size_t len, bool form)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq ? (size_t)(eq - s) : len;
	struct fake_param *p = realloc(q->params, (q->n_params + 1) * sizeof(*p));

	assert_non_null(p);
	q->params = p;
	p[q->n_params].name = fk_decode(s, nlen, form);
	p[q->n_params].value = eq ? fk_decode(eq + 1, len - nlen - 1, form) : fk_strdup("");
	q->n_params++;
}

static void add_params(struct fake_request *q, const char *s, bool form)
{
	while (s && *s) {
		size_t n = strcspn(s, "&");
		if (n)
			add_param(q, s, n, form);
		s += n;
		if (*s == '&')
			s++;
	}
}

/* "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …" */
static void read_scope(struct fake_request *q)
{
	const char *auth = fake_req_header(q, "Authorization");
	const char *cred = auth ? strstr(auth, "Credential=") : NULL;
	const char *date = fake_req_header(q, "X-Amz-Date");
	char scope[256];
	char *save = NULL, *part;
	int i = 0;

	if (date)
		snprintf(q->amz_date, sizeof(q->amz_date), "%s", date);
	if (!cred)
		return;
	snprintf(scope, sizeof(scope), "%.*s", (int)strcspn(cred + 11, ", "), cred + 11);
	for (part = strtok_r(scope, "/", &save); part; part = strtok_r(NULL, "/", &save), i++) {
		if (i == 0)
			snprintf(q->access_key_id, sizeof(q->access_key_id), "%s", part);
		else if (i == 3)
			snprintf(q->service, sizeof(q->service), "%s", part);
	}
}

/* S3 path-style: "/bucket" or "/bucket/key…" → decoded parts. */
void fk_s3_split(const char *path, char **bucket, char **key)
{
	const char *p = path[0] == '/' ? path + 1 : path;
	size_t n = strcspn(p, "/");

	*bucket = fk_decode(p, n, false);
	*key = p[n] == '/' && p[n + 1] ? fk_decode(p + n + 1, strlen(p + n + 1), false) : NULL;
}

static void guess_operation(struct fake_request *q)
{
	const char *action = fake_req_param(q, "Action");
	const char *target = fake_req_header(q, "X-Amz-Target");
	const char *op = "";

	if (action) {
		op = action;
	} else if (target) {
		const char *dot = strrchr(target, '.');
		op = dot ? dot + 1 : target;
	} else if (strcmp(q->service, "s3") == 0) {
		char *bucket, *key;
		fk_s3_split(q->path, &bucket, &key);
		bool get = strcmp(q->method, "GET") == 0;
		if (!key) {
			if (get && fake_req_param(q, "list-type"))
				op = "ListObjectsV2";
			else if (get)
				op = "ListObjects";
			else if (strcmp(q->method, "PUT") == 0)
				op = "CreateBucket";
			else if (strcmp(q->method, "HEAD") == 0)
				op = "HeadBucket";
			else if (strcmp(q->method, "DELETE") == 0)
				op = "DeleteBucket";
		} else if (strcmp(q->method, "PUT") == 0) {
			op = "PutObject";
		} else if (get) {
			op = "GetObject";
		} else if (strcmp(q->method, "HEAD") == 0) {
			op = "HeadObject";
		} else if (strcmp(q->method, "DELETE") == 0) {
			op = "DeleteObject";
		}
		free(bucket);
		free(key);
	} else if (strcmp(q->service, "cloudfront") == 0) {
		const char *p = strstr(q->path, "/distribution");
		bool get = strcmp(q->method, "GET") == 0;
		if (p && strstr(p, "/invalidation/"))
			op = get ? "GetInvalidation" : "";
		else if (p && strstr(p, "/invalidation"))
			op = strcmp(q->method, "POST") == 0 ? "CreateInvalidation"
			                                    : "ListInvalidations";
		else if (p && strstr(p, "/config"))
			op = get ? "GetDistributionConfig" : "UpdateDistribution";
		else if (p && strcmp(p, "/distribution") == 0)
			op = get ? "ListDistributions" : "CreateDistribution";
		else if (p)
			op = get ? "GetDistribution" : "";
	}
	snprintf(q->operation, sizeof(q->operation), "%s", op);
}

static struct fake_request *parse_request(struct fake_aws *f, const struct es_http_request *req)
{
	struct fake_request *q = fk_calloc(1, sizeof(*q));
	const char *u = req->url, *p, *qm;

	q->index = f->n_log;
	q->at_ms = es_loop_now_ms();
	snprintf(q->method, sizeof(q->method), "%s", req->method);
	q->url = fk_strdup(u);
	q->connect_to = fk_strdup(req->connect_to ? req->connect_to : "");
	p = strstr(u, "://");
	p = p ? strchr(p + 3, '/') : strchr(u, '/');
	if (!p)
		p = "/";
	qm = strchr(p, '?');
	q->path = qm ? strndup(p, (size_t)(qm - p)) : fk_strdup(p);
	q->query = fk_strdup(qm ? qm + 1 : "");
	for (const char *const *h = req->headers; h && *h; h++) {
		char **v = realloc(q->headers, (q->n_headers + 1) * sizeof(*v));
		assert_non_null(v);
		q->headers = v;
		v[q->n_headers++] = fk_strdup(*h);
	}
	q->body = fk_calloc(req->body_len + 1, 1);
	if (req->body_len)
		memcpy(q->body, req->body, req->body_len);
	q->body_len = req->body_len;
	add_params(q, q->query, false);
	const char *ct = fake_req_header(q, "Content-Type");
	if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		add_params(q, q->body, true);
	read_scope(q);
	guess_operation(q);
	snprintf(q->request_id, sizeof(q->request_id), "FAKE-%zu", ++f->next_index);
	return q;
}

/* ------------------------------------------------------------ answers */

void fk_answer_header(struct answer *a, const char *name, const char *value)
{
	for (size_t i = 0; i < a->n_hdrs; i++) {
		if (strcasecmp(a->hdr_names[i], name) == 0) {
			free(a->hdr_values[i]);
			a->hdr_values[i] = fk_strdup(value);
			return;
		}
	}
	assert_true(a->n_hdrs < sizeof(a->hdr_names) / sizeof(a->hdr_names[0]));
	a->hdr_names[a->n_hdrs] = fk_strdup(name);
	a->hdr_values[a->n_hdrs] = fk_strdup(value);
	a->n_hdrs++;
}

static void answer_headers_text(struct answer *a, const char *text)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");
		const char *colon = memchr(text, ':', n);
		if (colon) {
			char *name = strndup(text, (size_t)(colon - text));
			const char *v = colon + 1;
			while (*v == ' ')
				v++;
			size_t vlen = n - (size_t)(v - text);
			while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
				vlen--;
			char *value = strndup(v, vlen);
			fk_answer_header(a, name, value);
			free(name);
			free(value);
		}
		text += n;
		if (*text == '\n')
			text++;
	}
}

static void answer_free(struct answer *a)
{
	for (size_t i = 0; i < a->n_hdrs; i++) {
		free(a->hdr_names[i]);
		free(a->hdr_values[i]);
	}
	es_buf_free(&a->body);
}

static void answer_defaults(struct fake_aws *f, const struct fake_request *q, struct answer *a)
{
	char date[40];

	fk_http_date(fk_now(f), date);
	fk_answer_header(a, "Date", date);
	fk_answer_header(a, "x-amzn-RequestId", q->request_id);
	if (strcmp(q->service, "s3") == 0)
		fk_answer_header(a, "x-amz-request-id", q->request_id);
}

bool fk_json_service(const char *service)
{
	return strcmp(service, "codepipeline") == 0 || strcmp(service, "lambda") == 0;
}

/* An AWS error in the shape the request's protocol uses. */
void fk_error_body(const struct fake_request *q, struct answer *a, long status, const char *code,
                   const char *message)
{
	bool head = strcmp(q->method, "HEAD") == 0;

	a->status = status;
	es_buf_reset(&a->body);
	if (strcmp(q->service, "lambda") == 0)
		fk_answer_header(a, "x-amzn-ErrorType", code);
	if (head)
		return; /* HEAD answers never carry a body */
	if (fk_json_service(q->service)) {
		fk_answer_header(a, "Content-Type", "application/x-amz-json-1.1");
		es_buf_puts(&a->body, "{\"__type\":\"");
		es_buf_puts(&a->body, code);
		es_buf_puts(&a->body, "\",\"message\":\"");
		for (const char *m = message; *m; m++) {
			if (*m == '"' || *m == '\\')
				es_buf_putc(&a->body, '\\');
			es_buf_putc(&a->body, *m);
		}
		es_buf_puts(&a->body, "\"}");
		return;
	}
	fk_answer_header(a, "Content-Type", "text/xml");
	if (strcmp(q->service, "s3") == 0) {
		es_buf_puts(&a->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
		fk_xml_escape(&a->body, code);
		es_buf_puts(&a->body, "</Code><Message>");
		fk_xml_escape(&a->body, message);
		es_buf_printf(&a->body, "</Message><RequestId>%s</RequestId></Error>",
		              q->request_id);
		return;
	}
	es_buf_printf(&a->body, "<ErrorResponse><Error><Type>%s</Type><Code>",
	              status >= 500 ? "Receiver" : "Sender");
	fk_xml_escape(&a->body, code);
	es_buf_puts(&a->body, "</Code><Message>");
	fk_xml_escape(&a->body, message);
	es_buf_printf(&a->body, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
	              q->request_id);
}

/* ------------------------------------------------------------ the transport */

static bool rule_matches(const struct fake_rule *r, const struct fake_request *q)
{
	if (r->times == 0)
		return false;
	if (!method_matches(r->method, q) || !pattern_matches(r->pattern, q))
		return false;
	if (r->service && strcmp(r->service, q->service) != 0)
		return false;
	if (r->body_has && !strstr(q->body, r->body_has))
		return false;
	if (r->header_name) {
		const char *v = fake_req_header(q, r->header_name);
		if (r->header_value ? !v || strcmp(v, r->header_value) != 0 : v != NULL)
			return false;
	}
	return true;
}

static bool key_expired(const struct fake_aws *f, const char *akid)
{
	for (size_t i = 0; i < f->n_expired; i++)
		if (strcmp(f->expired_keys[i], akid) == 0)
			return true;
	return false;
}

/* What AWS checks before anything else: the signature's time and key. */
static bool refused_at_the_door(struct fake_aws *f, const struct fake_request *q, struct answer *a)
{
	struct tm tm;
	time_t signed_at, now = fk_now(f);

	if (q->amz_date[0]) {
		memset(&tm, 0, sizeof(tm));
		if (strptime(q->amz_date, "%Y%m%dT%H%M%SZ", &tm)) {
			signed_at = timegm(&tm);
			if (signed_at < now - SKEW_WINDOW || signed_at > now + SKEW_WINDOW) {
				char msg[256], then[20], nows[20];
				struct tm t2;
				gmtime_r(&now, &t2);
				strftime(nows, sizeof(nows), "%Y%m%dT%H%M%SZ", &t2);
				snprintf(then, sizeof(then), "%s", q->amz_date);
				if (strcmp(q->service, "s3") == 0) {
					fk_error_body(q, a, 403, "RequestTimeTooSkewed",
					              "The difference between the request time and "
					              "the current time is too large.");
				} else {
					snprintf(msg, sizeof(msg),
					         "Signature expired: %s is now earlier than %s "
					         "(%s - 15 min.)",
					         then, nows, nows);
					fk_error_body(q, a, 403,
					              fk_json_service(q->service)
					                      ? "InvalidSignatureException"
					                      : "SignatureDoesNotMatch",
					              msg);
				}
				return true;
			}
		}
	}
	if (q->access_key_id[0] && key_expired(f, q->access_key_id)) {
		fk_error_body(q, a, strcmp(q->service, "s3") == 0 ? 400 : 403,
		              fk_json_service(q->service) ? "ExpiredTokenException"
		                                          : "ExpiredToken",
		              "The security token included in the request is expired");
		return true;
	}
	return false;
}

static void deliver(struct es_loop *loop, void *ud)
{
	struct pending *p = ud;
	struct fake_aws *f = p->fake;

	(void)loop;
	for (struct pending **pp = &f->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	es_http_complete(p->call, &p->resp);
	pending_free(p);
}

static void t_cancel(void *ud, struct es_http_call *call)
{
	struct fake_aws *f = ud;

	for (struct pending **pp = &f->pending; *pp; pp = &(*pp)->next) {
		struct pending *p = *pp;
		if (p->call == call) {
			*pp = p->next;
			es_loop_timer_cancel(f->loop, p->timer);
			pending_free(p);
			return;
		}
	}
}

static void log_add(struct fake_aws *f, struct fake_request *q)
{
	if (f->n_log == f->cap_log) {
		size_t cap = f->cap_log ? 2 * f->cap_log : 64;
		struct fake_request **l = realloc(f->log, cap * sizeof(*l));
		assert_non_null(l);
		f->log = l;
		f->cap_log = cap;
	}
	q->index = f->n_log;
	f->log[f->n_log++] = q;
}

static int t_send(void *ud, struct es_http_call *call, const struct es_http_request *req)
{
	struct fake_aws *f = ud;
	struct fake_request *q = parse_request(f, req);
	struct fake_rule *rule = NULL;
	struct answer a;
	bool applied = false, head = strcmp(q->method, "HEAD") == 0;
	long delay = 0;
	int curl_code = CURLE_OK;
	const char *curl_text = NULL;

	memset(&a, 0, sizeof(a));
	log_add(f, q);
	answer_defaults(f, q, &a);
	if (refused_at_the_door(f, q, &a))
		goto send;
	for (struct fake_rule *r = f->rules; r; r = r->next) {
		if (rule_matches(r, q)) {
			rule = r;
			break;
		}
	}
	if (rule) {
		rule->hits++;
		if (rule->times > 0)
			rule->times--;
		if (rule->hook)
			rule->hook(f, q, rule->hook_ud);
		q->matched = true;
		delay = rule->delay_ms;
		if (rule->curl_code && !rule->lost) {
			curl_code = rule->curl_code;
			curl_text = rule->curl_text;
			goto send;
		}
		if (rule->status == FAKE_S3 && strcmp(q->service, "s3") == 0) {
			fk_s3_handle(f, q, &a, &applied);
		} else if (rule->error_code) {
			fk_error_body(q, &a, rule->status, rule->error_code, rule->error_message);
			applied = true;
		} else {
			a.status = rule->status;
			if (rule->body && !head) {
				es_buf_puts(&a.body, rule->body);
				if (rule->body[0] == '<')
					fk_answer_header(&a, "Content-Type", "text/xml");
				else if (rule->body[0] == '{')
					fk_answer_header(&a, "Content-Type", "application/json");
			}
			applied = true;
		}
		answer_headers_text(&a, rule->headers);
		if (rule->lost) {
			/* The S3 may have refused it (412…): then nothing happened. */
			if (!(rule->status == FAKE_S3 && strcmp(q->service, "s3") == 0))
				applied = true;
			curl_code = rule->curl_code ? rule->curl_code : CURLE_RECV_ERROR;
			curl_text = rule->curl_text ? rule->curl_text
			                            : "Recv failure: Connection reset by peer";
		}
	} else if (strcmp(q->service, "s3") == 0) {
		q->matched = true;
		fk_s3_handle(f, q, &a, &applied);
	} else {
		char msg[300];
		f->unmatched++;
		snprintf(msg, sizeof(msg), "the fake has no rule for %s %s (%s %s)", q->method,
		         q->path, q->service, q->operation);
		fk_error_body(q, &a, 400, "FakeNoRule", msg);
	}
send:;
	struct pending *p = fk_calloc(1, sizeof(*p));
	p->fake = f;
	p->call = call;
	q->applied = applied;
	if (curl_code != CURLE_OK) {
		q->curl_code = curl_code;
		q->status = 0;
		p->resp.curl_code = curl_code;
		snprintf(p->resp.error, sizeof(p->resp.error), "%s", curl_text ? curl_text : "");
	} else {
		q->status = a.status;
		p->resp.status = a.status;
		es_buf_append(&p->resp.body, a.body.data ? a.body.data : "", a.body.len);
		p->resp.headers = fk_calloc(a.n_hdrs, sizeof(*p->resp.headers));
		for (size_t i = 0; i < a.n_hdrs; i++) {
			p->resp.headers[i].name = fk_strdup(a.hdr_names[i]);
			p->resp.headers[i].value = fk_strdup(a.hdr_values[i]);
		}
		p->resp.n_headers = a.n_hdrs;
		snprintf(p->resp.primary_ip, sizeof(p->resp.primary_ip), "192.0.2.1");
	}
	answer_free(&a);
	p->timer = es_loop_timer(f->loop, delay, deliver, p);
	if (!p->timer) {
		pending_free(p);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	p->next = f->pending;
	f->pending = p;
	return ES_OK;
}
