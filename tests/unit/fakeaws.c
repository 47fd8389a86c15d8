/* The scripted fake AWS behind the HTTP transport seam: rules, the request
 * log, the clock and key checks, and a small in-memory S3. See fakeaws.h. */
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
#include "fakeaws.h"

#define FAKE_ENDPOINT "http://fake.invalid"
#define SKEW_WINDOW   (15 * 60)

struct fake_rule {
	struct fake_rule *next;
	char *method;  /* NULL: any */
	char *pattern; /* see fakeaws.h */
	long status;   /* FAKE_S3: the in-memory S3 answers */
	char *headers; /* '\n'-separated "Name: value" lines or NULL */
	char *body;    /* NULL: none */
	/* An AWS error whose body is shaped per request (fake_expect_error). */
	char *error_code;
	char *error_message;
	int times; /* uses left; FAKE_FOREVER */
	int hits;
	long delay_ms;
	int curl_code; /* transport error instead of an answer */
	char *curl_text;
	bool lost;
	char *body_has;
	char *header_name;
	char *header_value; /* NULL with header_name: header must be absent */
	char *service;
	fake_hook_fn hook;
	void *hook_ud;
};

struct s3_object {
	char *bucket;
	char *key;
	char *data;
	size_t len;
	char etag[40];
	char content_type[96];
	time_t modified;
};

/* An answer on its way back, held by a loop timer. */
struct pending {
	struct pending *next;
	struct fake_aws *fake;
	struct es_http_call *call;
	struct es_http_response resp;
	uint64_t timer;
};

struct fake_aws {
	struct es_loop *loop;
	struct es_http_transport transport;
	struct fake_rule *rules, *last_rule;
	struct fake_request **log;
	size_t n_log, cap_log;
	size_t next_index; /* survives fake_log_clear so request ids stay unique */
	size_t unmatched;
	struct pending *pending;
	long clock_offset;
	char **expired_keys;
	size_t n_expired;
	char **buckets;
	size_t n_buckets;
	struct s3_object *objects; /* sorted by bucket, then key (byte order) */
	size_t n_objects;
	int page_size;
};

/* An answer being built. */
struct answer {
	long status;
	int curl_code;
	char error[256];
	struct es_buf body;
	char *hdr_names[24];
	char *hdr_values[24];
	size_t n_hdrs;
};

/* ------------------------------------------------------------ small helpers */

static char *xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	assert_true(!s || d);
	return d;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	assert_non_null(p);
	return p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) ('+' as space when form is set). malloc'd. */
static char *decode(const char *s, size_t len, bool form)
{
	char *out = xcalloc(len + 1, 1);
	size_t j = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
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

static void xml_escape(struct es_buf *b, const char *s)
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

static void iso8601(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static time_t fake_now(const struct fake_aws *f)
{
	return time(NULL) + f->clock_offset;
}

static void http_date(time_t t, char out[40])
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
	struct fake_rule *r = xcalloc(1, sizeof(*r));

	r->method = method && strcmp(method, "*") != 0 ? xstrdup(method) : NULL;
	r->pattern = xstrdup(pattern ? pattern : "*");
	r->status = status;
	r->headers = xstrdup(headers);
	r->body = xstrdup(body);
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
	r->error_code = xstrdup(code);
	r->error_message = xstrdup(message ? message : "");
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
	r->curl_text = xstrdup(text);
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
	r->body_has = xstrdup(text);
	return r;
}

struct fake_rule *fake_rule_header_is(struct fake_rule *r, const char *name, const char *value)
{
	free(r->header_name);
	free(r->header_value);
	r->header_name = xstrdup(name);
	r->header_value = xstrdup(value);
	return r;
}

struct fake_rule *fake_rule_service(struct fake_rule *r, const char *service)
{
	free(r->service);
	r->service = xstrdup(service);
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
	k[f->n_expired++] = xstrdup(akid);
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
	p[q->n_params].name = decode(s, nlen, form);
	p[q->n_params].value = eq ? decode(eq + 1, len - nlen - 1, form) : xstrdup("");
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
static void s3_split(const char *path, char **bucket, char **key)
{
	const char *p = path[0] == '/' ? path + 1 : path;
	size_t n = strcspn(p, "/");

	*bucket = decode(p, n, false);
	*key = p[n] == '/' && p[n + 1] ? decode(p + n + 1, strlen(p + n + 1), false) : NULL;
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
		s3_split(q->path, &bucket, &key);
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
	struct fake_request *q = xcalloc(1, sizeof(*q));
	const char *u = req->url, *p, *qm;

	q->index = f->n_log;
	q->at_ms = es_loop_now_ms();
	snprintf(q->method, sizeof(q->method), "%s", req->method);
	q->url = xstrdup(u);
	p = strstr(u, "://");
	p = p ? strchr(p + 3, '/') : strchr(u, '/');
	if (!p)
		p = "/";
	qm = strchr(p, '?');
	q->path = qm ? strndup(p, (size_t)(qm - p)) : xstrdup(p);
	q->query = xstrdup(qm ? qm + 1 : "");
	for (const char *const *h = req->headers; h && *h; h++) {
		char **v = realloc(q->headers, (q->n_headers + 1) * sizeof(*v));
		assert_non_null(v);
		q->headers = v;
		v[q->n_headers++] = xstrdup(*h);
	}
	q->body = xcalloc(req->body_len + 1, 1);
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

static void answer_header(struct answer *a, const char *name, const char *value)
{
	for (size_t i = 0; i < a->n_hdrs; i++) {
		if (strcasecmp(a->hdr_names[i], name) == 0) {
			free(a->hdr_values[i]);
			a->hdr_values[i] = xstrdup(value);
			return;
		}
	}
	assert_true(a->n_hdrs < sizeof(a->hdr_names) / sizeof(a->hdr_names[0]));
	a->hdr_names[a->n_hdrs] = xstrdup(name);
	a->hdr_values[a->n_hdrs] = xstrdup(value);
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
			answer_header(a, name, value);
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

	http_date(fake_now(f), date);
	answer_header(a, "Date", date);
	answer_header(a, "x-amzn-RequestId", q->request_id);
	if (strcmp(q->service, "s3") == 0)
		answer_header(a, "x-amz-request-id", q->request_id);
}

static bool json_service(const char *service)
{
	return strcmp(service, "codepipeline") == 0 || strcmp(service, "lambda") == 0;
}

/* An AWS error in the shape the request's protocol uses. */
static void error_body(const struct fake_request *q, struct answer *a, long status,
                       const char *code, const char *message)
{
	bool head = strcmp(q->method, "HEAD") == 0;

	a->status = status;
	es_buf_reset(&a->body);
	if (strcmp(q->service, "lambda") == 0)
		answer_header(a, "x-amzn-ErrorType", code);
	if (head)
		return; /* HEAD answers never carry a body */
	if (json_service(q->service)) {
		answer_header(a, "Content-Type", "application/x-amz-json-1.1");
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
	answer_header(a, "Content-Type", "text/xml");
	if (strcmp(q->service, "s3") == 0) {
		es_buf_puts(&a->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
		xml_escape(&a->body, code);
		es_buf_puts(&a->body, "</Code><Message>");
		xml_escape(&a->body, message);
		es_buf_printf(&a->body, "</Message><RequestId>%s</RequestId></Error>",
		              q->request_id);
		return;
	}
	es_buf_printf(&a->body, "<ErrorResponse><Error><Type>%s</Type><Code>",
	              status >= 500 ? "Receiver" : "Sender");
	xml_escape(&a->body, code);
	es_buf_puts(&a->body, "</Code><Message>");
	xml_escape(&a->body, message);
	es_buf_printf(&a->body, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
	              q->request_id);
}

/* ------------------------------------------------------------ the in-memory S3 */

static bool bucket_exists(const struct fake_aws *f, const char *bucket)
{
	for (size_t i = 0; i < f->n_buckets; i++)
		if (strcmp(f->buckets[i], bucket) == 0)
			return true;
	return false;
}

void fake_s3_bucket(struct fake_aws *f, const char *bucket)
{
	if (bucket_exists(f, bucket))
		return;
	char **b = realloc(f->buckets, (f->n_buckets + 1) * sizeof(*b));
	assert_non_null(b);
	f->buckets = b;
	b[f->n_buckets++] = xstrdup(bucket);
}

static int obj_cmp(const char *b1, const char *k1, const char *b2, const char *k2)
{
	int c = strcmp(b1, b2);
	return c ? c : strcmp(k1, k2);
}

/* Index of the object, or of where it would go (*found false). */
static size_t obj_find(const struct fake_aws *f, const char *bucket, const char *key, bool *found)
{
	size_t lo = 0, hi = f->n_objects;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = obj_cmp(f->objects[mid].bucket, f->objects[mid].key, bucket, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static const struct s3_object *obj_get(const struct fake_aws *f, const char *bucket,
                                       const char *key)
{
	bool found;
	size_t i = obj_find(f, bucket, key, &found);
	return found ? &f->objects[i] : NULL;
}

static void md5_hex(const void *data, size_t len, char out[33], unsigned char raw[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_true(EVP_Digest(data, len, md, &n, EVP_md5(), NULL));
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	if (raw)
		memcpy(raw, md, 16);
}

static const struct s3_object *obj_put(struct fake_aws *f, const char *bucket, const char *key,
                                       const void *data, size_t len, const char *content_type)
{
	bool found;
	size_t i = obj_find(f, bucket, key, &found);
	struct s3_object *o;
	char hex[33];

	if (!found) {
		o = realloc(f->objects, (f->n_objects + 1) * sizeof(*o));
		assert_non_null(o);
		f->objects = o;
		memmove(&o[i + 1], &o[i], (f->n_objects - i) * sizeof(*o));
		f->n_objects++;
		memset(&o[i], 0, sizeof(o[i]));
		o[i].bucket = xstrdup(bucket);
		o[i].key = xstrdup(key);
	}
	o = &f->objects[i];
	free(o->data);
	o->data = xcalloc(len + 1, 1);
	if (len)
		memcpy(o->data, data, len);
	o->len = len;
	md5_hex(data, len, hex, NULL);
	snprintf(o->etag, sizeof(o->etag), "\"%s\"", hex);
	snprintf(o->content_type, sizeof(o->content_type), "%s",
	         content_type ? content_type : "binary/octet-stream");
	o->modified = fake_now(f);
	return o;
}

static void obj_delete(struct fake_aws *f, const char *bucket, const char *key)
{
	bool found;
	size_t i = obj_find(f, bucket, key, &found);

	if (!found)
		return;
	free(f->objects[i].bucket);
	free(f->objects[i].key);
	free(f->objects[i].data);
	memmove(&f->objects[i], &f->objects[i + 1], (f->n_objects - i - 1) * sizeof(*f->objects));
	f->n_objects--;
}

void fake_s3_put(struct fake_aws *f, const char *bucket, const char *key, const void *data,
                 size_t len)
{
	fake_s3_bucket(f, bucket);
	obj_put(f, bucket, key, data, len, NULL);
}

const char *fake_s3_get(const struct fake_aws *f, const char *bucket, const char *key, size_t *len)
{
	const struct s3_object *o = obj_get(f, bucket, key);

	if (len)
		*len = o ? o->len : 0;
	return o ? o->data : NULL;
}

const char *fake_s3_etag(const struct fake_aws *f, const char *bucket, const char *key)
{
	const struct s3_object *o = obj_get(f, bucket, key);
	return o ? o->etag : NULL;
}

void fake_s3_delete(struct fake_aws *f, const char *bucket, const char *key)
{
	obj_delete(f, bucket, key);
}

size_t fake_s3_count(const struct fake_aws *f, const char *bucket, const char *prefix)
{
	size_t n = 0, plen = prefix ? strlen(prefix) : 0;

	for (size_t i = 0; i < f->n_objects; i++)
		if (strcmp(f->objects[i].bucket, bucket) == 0 &&
		    strncmp(f->objects[i].key, prefix ? prefix : "", plen) == 0)
			n++;
	return n;
}

void fake_s3_page_size(struct fake_aws *f, int n)
{
	f->page_size = n > 0 ? n : 1000;
}

/* The token names the last key of the page it ends: hex, so it is opaque
 * enough to be passed back untouched and cannot be mistaken for a key. */
static char *token_for(const char *key)
{
	size_t n = strlen(key);
	char *t = xcalloc(2 * n + 4, 1);

	memcpy(t, "ct-", 3);
	for (size_t i = 0; i < n; i++)
		snprintf(t + 3 + 2 * i, 3, "%02x", (unsigned char)key[i]);
	return t;
}

static char *key_of_token(const char *t)
{
	size_t n = strlen(t);
	char *k;

	if (strncmp(t, "ct-", 3) != 0 || (n - 3) % 2)
		return NULL;
	k = xcalloc((n - 3) / 2 + 1, 1);
	for (size_t i = 0; i < (n - 3) / 2; i++) {
		int hi = hexval(t[3 + 2 * i]), lo = hexval(t[4 + 2 * i]);
		if (hi < 0 || lo < 0) {
			free(k);
			return NULL;
		}
		k[i] = (char)(hi * 16 + lo);
	}
	return k;
}

static void s3_list(struct fake_aws *f, const struct fake_request *q, const char *bucket,
                    struct answer *a)
{
	const char *prefix = fake_req_param(q, "prefix");
	const char *start = fake_req_param(q, "start-after");
	const char *token = fake_req_param(q, "continuation-token");
	const char *mk = fake_req_param(q, "max-keys");
	int max = mk ? atoi(mk) : 1000;
	char *after = NULL;
	size_t plen = prefix ? strlen(prefix) : 0;
	struct es_buf items = ES_BUF_INIT;
	const char *last = NULL;
	int count = 0;
	bool truncated = false;

	if (max < 0 || max > 1000)
		max = 1000;
	if (max > f->page_size)
		max = f->page_size;
	if (token) {
		after = key_of_token(token);
		if (!after) {
			error_body(q, a, 400, "InvalidArgument",
			           "The continuation token provided is incorrect");
			return;
		}
	} else if (start) {
		after = xstrdup(start);
	}
	for (size_t i = 0; i < f->n_objects; i++) {
		const struct s3_object *o = &f->objects[i];
		char when[32];
		if (strcmp(o->bucket, bucket) != 0 || strncmp(o->key, prefix ? prefix : "", plen))
			continue;
		if (after && strcmp(o->key, after) <= 0)
			continue;
		if (count == max) {
			truncated = true;
			break;
		}
		iso8601(o->modified, when);
		es_buf_puts(&items, "<Contents><Key>");
		xml_escape(&items, o->key);
		es_buf_printf(&items, "</Key><LastModified>%s</LastModified><ETag>", when);
		xml_escape(&items, o->etag);
		es_buf_printf(&items,
		              "</ETag><Size>%zu</Size><StorageClass>STANDARD</StorageClass>"
		              "</Contents>",
		              o->len);
		last = o->key;
		count++;
	}
	a->status = 200;
	answer_header(a, "Content-Type", "application/xml");
	es_buf_puts(&a->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
	                      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>");
	xml_escape(&a->body, bucket);
	es_buf_puts(&a->body, "</Name><Prefix>");
	xml_escape(&a->body, prefix ? prefix : "");
	es_buf_puts(&a->body, "</Prefix>");
	if (token) {
		es_buf_puts(&a->body, "<ContinuationToken>");
		xml_escape(&a->body, token);
		es_buf_puts(&a->body, "</ContinuationToken>");
	}
	if (start) {
		es_buf_puts(&a->body, "<StartAfter>");
		xml_escape(&a->body, start);
		es_buf_puts(&a->body, "</StartAfter>");
	}
	es_buf_printf(&a->body, "<KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>", count, max);
	es_buf_printf(&a->body, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
	if (truncated && last) {
		char *t = token_for(last);
		es_buf_printf(&a->body, "<NextContinuationToken>%s</NextContinuationToken>", t);
		free(t);
	}
	es_buf_append(&a->body, items.data ? items.data : "", items.len);
	es_buf_puts(&a->body, "</ListBucketResult>");
	es_buf_free(&items);
	free(after);
}

/* Content-MD5 (base64) against the body. */
static bool md5_matches(const char *b64, const void *data, size_t len)
{
	unsigned char raw[16];
	char hex[33], enc[32];

	md5_hex(data, len, hex, raw);
	EVP_EncodeBlock((unsigned char *)enc, raw, 16);
	return strcmp(enc, b64) == 0;
}

/* Apply one S3 request; sets *applied when state changed. */
static void s3_handle(struct fake_aws *f, const struct fake_request *q, struct answer *a,
                      bool *applied)
{
	char *bucket, *key;
	const struct s3_object *o;
	bool head = strcmp(q->method, "HEAD") == 0;
	char when[40];

	s3_split(q->path, &bucket, &key);
	if (!key && strcmp(q->method, "PUT") == 0) {
		fake_s3_bucket(f, bucket);
		a->status = 200;
		*applied = true;
		goto out;
	}
	if (!bucket_exists(f, bucket)) {
		error_body(q, a, 404, "NoSuchBucket", "The specified bucket does not exist");
		goto out;
	}
	if (!key) {
		if (head)
			a->status = 200;
		else if (strcmp(q->method, "GET") == 0 && fake_req_param(q, "list-type"))
			s3_list(f, q, bucket, a);
		else
			error_body(q, a, 501, "NotImplemented",
			           "The fake S3 does not implement this bucket operation");
		goto out;
	}
	o = obj_get(f, bucket, key);
	if (strcmp(q->method, "PUT") == 0) {
		const char *inm = fake_req_header(q, "If-None-Match");
		const char *im = fake_req_header(q, "If-Match");
		const char *md5 = fake_req_header(q, "Content-MD5");
		if (md5 && !md5_matches(md5, q->body, q->body_len)) {
			error_body(q, a, 400, "BadDigest",
			           "The Content-MD5 you specified did not match what we received.");
			goto out;
		}
		if (inm && strcmp(inm, "*") == 0 && o) {
			error_body(q, a, 412, "PreconditionFailed",
			           "At least one of the pre-conditions you specified did not hold");
			goto out;
		}
		if (im && !o) {
			error_body(q, a, 404, "NoSuchKey", "The specified key does not exist.");
			goto out;
		}
		if (im && strcmp(im, "*") != 0 && strcmp(im, o->etag) != 0) {
			error_body(q, a, 412, "PreconditionFailed",
			           "At least one of the pre-conditions you specified did not hold");
			goto out;
		}
		o = obj_put(f, bucket, key, q->body, q->body_len,
		            fake_req_header(q, "Content-Type"));
		*applied = true;
		a->status = 200;
		answer_header(a, "ETag", o->etag);
		goto out;
	}
	if (strcmp(q->method, "DELETE") == 0) {
		const char *im = fake_req_header(q, "If-Match");
		if (im && !o) {
			error_body(q, a, 404, "NoSuchKey", "The specified key does not exist.");
			goto out;
		}
		if (im && strcmp(im, "*") != 0 && strcmp(im, o->etag) != 0) {
			error_body(q, a, 412, "PreconditionFailed",
			           "At least one of the pre-conditions you specified did not hold");
			goto out;
		}
		obj_delete(f, bucket, key);
		*applied = true;
		a->status = 204;
		goto out;
	}
	if (strcmp(q->method, "GET") != 0 && !head) {
		error_body(q, a, 405, "MethodNotAllowed",
		           "The specified method is not allowed against this resource.");
		goto out;
	}
	if (!o) {
		error_body(q, a, 404, "NoSuchKey", "The specified key does not exist.");
		goto out;
	}
	a->status = 200;
	answer_header(a, "ETag", o->etag);
	answer_header(a, "Content-Type", o->content_type);
	http_date(o->modified, when);
	answer_header(a, "Last-Modified", when);
	if (head) {
		char len[32];
		snprintf(len, sizeof(len), "%zu", o->len);
		answer_header(a, "Content-Length", len);
	} else {
		es_buf_append(&a->body, o->data, o->len);
	}
out:
	free(bucket);
	free(key);
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
	time_t signed_at, now = fake_now(f);

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
					error_body(q, a, 403, "RequestTimeTooSkewed",
					           "The difference between the request time and "
					           "the current time is too large.");
				} else {
					snprintf(msg, sizeof(msg),
					         "Signature expired: %s is now earlier than %s "
					         "(%s - 15 min.)",
					         then, nows, nows);
					error_body(q, a, 403,
					           json_service(q->service)
					                   ? "InvalidSignatureException"
					                   : "SignatureDoesNotMatch",
					           msg);
				}
				return true;
			}
		}
	}
	if (q->access_key_id[0] && key_expired(f, q->access_key_id)) {
		error_body(q, a, strcmp(q->service, "s3") == 0 ? 400 : 403,
		           json_service(q->service) ? "ExpiredTokenException" : "ExpiredToken",
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
			s3_handle(f, q, &a, &applied);
		} else if (rule->error_code) {
			error_body(q, &a, rule->status, rule->error_code, rule->error_message);
			applied = true;
		} else {
			a.status = rule->status;
			if (rule->body && !head) {
				es_buf_puts(&a.body, rule->body);
				if (rule->body[0] == '<')
					answer_header(&a, "Content-Type", "text/xml");
				else if (rule->body[0] == '{')
					answer_header(&a, "Content-Type", "application/json");
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
		s3_handle(f, q, &a, &applied);
	} else {
		char msg[300];
		f->unmatched++;
		snprintf(msg, sizeof(msg), "the fake has no rule for %s %s (%s %s)", q->method,
		         q->path, q->service, q->operation);
		error_body(q, &a, 400, "FakeNoRule", msg);
	}
send:;
	struct pending *p = xcalloc(1, sizeof(*p));
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
		p->resp.headers = xcalloc(a.n_hdrs, sizeof(*p->resp.headers));
		for (size_t i = 0; i < a.n_hdrs; i++) {
			p->resp.headers[i].name = xstrdup(a.hdr_names[i]);
			p->resp.headers[i].value = xstrdup(a.hdr_values[i]);
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

/* ------------------------------------------------------------ answer builders */

struct fake_rule *fake_sts_identity(struct fake_aws *f, const char *arn)
{
	struct es_buf b = ES_BUF_INIT;
	char account[32] = "";
	const char *p = arn;

	/* arn:aws:sts::123456789012:assumed-role/… → the fifth field */
	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (p)
		snprintf(account, sizeof(account), "%.*s", (int)strcspn(p, ":"), p);
	es_buf_puts(&b, "<GetCallerIdentityResponse "
	                "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	                "<GetCallerIdentityResult><Arn>");
	xml_escape(&b, arn);
	es_buf_printf(&b,
	              "</Arn><UserId>AIDAFAKEUSERID</UserId><Account>%s</Account>"
	              "</GetCallerIdentityResult><ResponseMetadata><RequestId>fake"
	              "</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
	              account);
	struct fake_rule *r =
	        fake_expect(f, "POST", "GetCallerIdentity", 200, NULL, es_buf_str(&b));
	es_buf_free(&b);
	return fake_rule_times(r, FAKE_FOREVER);
}

/* "k=v;k=v" → <member><K>k</K><V>v</V></member>… */
static void pairs_xml(struct es_buf *b, const char *list, const char *kname, const char *vname)
{
	while (list && *list) {
		size_t n = strcspn(list, ";");
		const char *eq = memchr(list, '=', n);
		if (eq) {
			char *k = strndup(list, (size_t)(eq - list));
			char *v = strndup(eq + 1, n - (size_t)(eq - list) - 1);
			es_buf_printf(b, "<member><%s>", kname);
			xml_escape(b, k);
			es_buf_printf(b, "</%s><%s>", kname, vname);
			xml_escape(b, v);
			es_buf_printf(b, "</%s></member>", vname);
			free(k);
			free(v);
		}
		list += n;
		if (*list == ';')
			list++;
	}
}

static char *form_value(const char *s)
{
	struct es_buf b = ES_BUF_INIT;
	es_form_encode(&b, s);
	return es_buf_steal(&b);
}

struct fake_rule *fake_cfn_stack(struct fake_aws *f, const char *stack, const char *status,
                                 const char *tags, const char *outputs)
{
	struct es_buf b = ES_BUF_INIT, needle = ES_BUF_INIT;
	char *enc = form_value(stack);

	es_buf_puts(&b, "<DescribeStacksResponse "
	                "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	                "<DescribeStacksResult><Stacks><member><StackName>");
	xml_escape(&b, stack);
	es_buf_puts(&b, "</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:"
	                "stack/");
	xml_escape(&b, stack);
	es_buf_puts(&b, "/00000000-fake</StackId><StackStatus>");
	xml_escape(&b, status);
	es_buf_puts(&b, "</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>"
	                "<LastUpdatedTime>2026-01-02T00:00:00Z</LastUpdatedTime><Outputs>");
	pairs_xml(&b, outputs, "OutputKey", "OutputValue");
	es_buf_puts(&b, "</Outputs><Tags>");
	pairs_xml(&b, tags, "Key", "Value");
	es_buf_puts(&b, "</Tags></member></Stacks></DescribeStacksResult>"
	                "<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>"
	                "</DescribeStacksResponse>");
	es_buf_printf(&needle, "StackName=%s", enc);
	struct fake_rule *r = fake_expect(f, "POST", "DescribeStacks", 200, NULL, es_buf_str(&b));
	fake_rule_body_has(r, es_buf_str(&needle));
	es_buf_free(&b);
	es_buf_free(&needle);
	free(enc);
	return r;
}

struct fake_rule *fake_cfn_no_stack(struct fake_aws *f, const char *stack)
{
	struct es_buf msg = ES_BUF_INIT, needle = ES_BUF_INIT;
	char *enc = form_value(stack);

	es_buf_printf(&msg, "Stack with id %s does not exist", stack);
	es_buf_printf(&needle, "StackName=%s", enc);
	struct fake_rule *r = fake_expect_error(f, "POST", "DescribeStacks", 400, "ValidationError",
	                                        es_buf_str(&msg));
	fake_rule_body_has(r, es_buf_str(&needle));
	es_buf_free(&msg);
	es_buf_free(&needle);
	free(enc);
	return r;
}

struct fake_rule *fake_cfn_resources(struct fake_aws *f, const char *stack, const char *resources)
{
	struct es_buf b = ES_BUF_INIT, needle = ES_BUF_INIT;
	char *enc = form_value(stack);
	const char *p = resources;

	es_buf_puts(&b, "<DescribeStackResourcesResponse "
	                "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	                "<DescribeStackResourcesResult><StackResources>");
	while (p && *p) {
		size_t n = strcspn(p, ";");
		char *item = strndup(p, n), *save = NULL;
		char *logical = strtok_r(item, "|", &save);
		char *type = strtok_r(NULL, "|", &save);
		char *physical = strtok_r(NULL, "|", &save);
		es_buf_puts(&b, "<member><StackName>");
		xml_escape(&b, stack);
		es_buf_puts(&b, "</StackName><LogicalResourceId>");
		xml_escape(&b, logical ? logical : "");
		es_buf_puts(&b, "</LogicalResourceId><PhysicalResourceId>");
		xml_escape(&b, physical ? physical : "");
		es_buf_puts(&b, "</PhysicalResourceId><ResourceType>");
		xml_escape(&b, type ? type : "");
		es_buf_puts(&b, "</ResourceType><ResourceStatus>UPDATE_COMPLETE</ResourceStatus>"
		                "<Timestamp>2026-01-02T00:00:00Z</Timestamp></member>");
		free(item);
		p += n;
		if (*p == ';')
			p++;
	}
	es_buf_puts(&b, "</StackResources></DescribeStackResourcesResult>"
	                "</DescribeStackResourcesResponse>");
	es_buf_printf(&needle, "StackName=%s", enc);
	struct fake_rule *r =
	        fake_expect(f, "POST", "DescribeStackResources", 200, NULL, es_buf_str(&b));
	fake_rule_body_has(r, es_buf_str(&needle));
	es_buf_free(&b);
	es_buf_free(&needle);
	free(enc);
	return r;
}

char *fake_cf_distribution_xml(const char *id, const char *status)
{
	struct es_buf b = ES_BUF_INIT;

	es_buf_puts(&b, "<?xml version=\"1.0\"?>\n<Distribution "
	                "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Id>");
	xml_escape(&b, id);
	es_buf_puts(&b, "</Id><ARN>arn:aws:cloudfront::123456789012:distribution/");
	xml_escape(&b, id);
	es_buf_puts(&b, "</ARN><Status>");
	xml_escape(&b, status);
	es_buf_puts(&b, "</Status><LastModifiedTime>2026-01-02T00:00:00Z</LastModifiedTime>"
	                "<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"
	                "<DomainName>");
	xml_escape(&b, id);
	es_buf_puts(&b, ".cloudfront.net</DomainName><DistributionConfig>"
	                "<DefaultCacheBehavior><LambdaFunctionAssociations><Quantity>1"
	                "</Quantity><Items><LambdaFunctionAssociation><LambdaFunctionARN>"
	                "arn:aws:lambda:us-east-1:123456789012:function:edge:7"
	                "</LambdaFunctionARN><EventType>origin-request</EventType>"
	                "</LambdaFunctionAssociation></Items></LambdaFunctionAssociations>"
	                "</DefaultCacheBehavior></DistributionConfig></Distribution>");
	return es_buf_steal(&b);
}
