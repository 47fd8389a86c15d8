/* The AWS request pipeline: endpoint, SigV4, transport, retries, errors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aws.h"
#include "explain.h"
#include "cred_refresh.h"
#include "sigv4.h"

#define MAX_ENDPOINTS 24

struct cached_endpoint {
	char service[32];
	struct es_endpoint ep;
};

struct attachment {
	const void *key;
	void *data;
	es_aws_detach_fn free_fn;
};

struct pending;

/* Someone waiting for es_aws_credentials_async(). */
struct creds_waiter {
	es_aws_credentials_fn fn;
	void *ud;
	struct creds_waiter *next;
};

struct es_aws_client {
	struct es_loop *loop;
	struct es_aws_settings settings;
	char *profile_override;
	char *role_arn, *external_id, *session_name; /* es_aws_options.role, owned */
	char *principal; /* caller ARN of these credentials, when known (explain.c) */
	struct es_credentials creds;
	bool creds_ready;
	struct es_error creds_error;
	struct es_cred_refresh *refresh;         /* the chain running, or NULL */
	struct pending *waiting, **waiting_tail; /* requests in line for it */
	struct creds_waiter *creds_waiters;      /* es_aws_credentials_async() */
	uint64_t creds_timer;                    /* hands them ready credentials */
	struct cached_endpoint endpoints[MAX_ENDPOINTS];
	size_t n_endpoints;
	struct es_retry_quota quota;
	long clock_offset;
	int max_attempts;
	unsigned long long rng;
	es_aws_trace_fn trace;
	void *trace_ud;
	const struct es_assume_role_ops *assume_role;
	struct attachment attached[ES_AWS_MAX_ATTACHMENTS];
};

struct pending {
	struct es_aws_client *client;
	struct es_aws_call *call;
	es_aws_done_fn done;
	void *ud;
	int attempt;
	int quota_taken;
	bool refreshed;    /* credentials were resolved again after ExpiredToken */
	bool creds_waited; /* it waited for a refresh: go on with its answer */
	struct pending *next_waiting;
	int64_t started_ms;
};

/* ------------------------------------------------------------ calls */

int es_aws_call_init(struct es_aws_call *c, const char *service, const char *operation,
                     enum es_protocol proto, const char *method, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->service = service;
	c->operation = operation;
	c->protocol = proto;
	c->method = method;
	return es_buf_puts(&c->path, path);
}

int es_aws_call_header(struct es_aws_call *c, const char *name, const char *value)
{
	char *line;

	if (c->n_headers >= ES_AWS_MAX_HEADERS)
		return es_fail(ES_EINVAL, "too many headers for %s", c->operation);
	if (asprintf(&line, "%s: %s", name, value) < 0)
		return es_fail(ES_ENOMEM, "out of memory");
	c->headers[c->n_headers++] = line;
	return ES_OK;
}

void es_aws_call_free(struct es_aws_call *c)
{
	if (!c)
		return;
	es_buf_free(&c->path);
	es_buf_free(&c->query);
	es_buf_free(&c->body);
	for (size_t i = 0; i < c->n_headers; i++)
		free(c->headers[i]);
	c->n_headers = 0;
}

/* ------------------------------------------------------------ signing */

void es_aws_wire_free(struct es_aws_wire *w)
{
	if (!w)
		return;
	free(w->url);
	for (size_t i = 0; i < w->n_headers; i++)
		free(w->headers[i]);
	free(w->headers);
	free(w->authorization);
	memset(w, 0, sizeof(*w));
}

static int wire_add(struct es_aws_wire *w, const char *name, const char *value)
{
	char **h = realloc(w->headers, (w->n_headers + 2) * sizeof(*h));
	if (!h)
		return es_fail(ES_ENOMEM, "out of memory");
	w->headers = h;
	if (asprintf(&h[w->n_headers], "%s: %s", name, value) < 0)
		return es_fail(ES_ENOMEM, "out of memory");
	h[++w->n_headers] = NULL;
	return ES_OK;
}

/* The path part of an endpoint URL ("" or "/base"), without a trailing '/'. */
static const char *url_base_path(const char *url, size_t *len)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p = strchr(p, '/');
	if (!p) {
		*len = 0;
		return "";
	}
	*len = strlen(p);
	while (*len && p[*len - 1] == '/')
		(*len)--;
	return p;
}

/* S3 wants virtual-hosted addressing on AWS itself, path style elsewhere. */
static bool s3_virtual_host(const struct es_aws_call *call, const struct es_endpoint *ep,
                            size_t *bucket_len)
{
	const char *p = call->path.data ? call->path.data + 1 : "";
	size_t n = strcspn(p, "/");

	*bucket_len = n;
	if (strcmp(call->service, "s3") != 0 || ep->path_style || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '.' || (p[i] >= 'A' && p[i] <= 'Z'))
			return false;
	return true;
}

int es_aws_prepare(const struct es_aws_call *call, const struct es_endpoint *ep,
                   const struct es_credentials *creds, time_t when, struct es_aws_wire *out)
{
	struct es_sigv4_header hdrs[ES_AWS_MAX_HEADERS + 2];
	char names[ES_AWS_MAX_HEADERS][64];
	struct es_sigv4_result sig;
	struct es_buf path = ES_BUF_INIT, host = ES_BUF_INIT;
	size_t nh = 0, base_len, bucket_len;
	const char *base = url_base_path(ep->url, &base_len);
	const char *scheme_end = strstr(ep->url, "://");
	bool is_s3 = strcmp(call->service, "s3") == 0;
	bool vhost = s3_virtual_host(call, ep, &bucket_len);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!creds || !creds->access_key_id || !creds->secret_access_key)
		return es_fail(ES_ECREDS, "no AWS credentials to sign %s with", call->operation);

	if (vhost) {
		es_buf_append(&host, call->path.data + 1, bucket_len);
		es_buf_putc(&host, '.');
		es_buf_puts(&host, ep->host);
		es_buf_append(&path, base, base_len);
		es_buf_puts(&path, call->path.data + 1 + bucket_len);
		if (path.len == 0)
			es_buf_putc(&path, '/');
	} else {
		es_buf_puts(&host, ep->host);
		es_buf_append(&path, base, base_len);
		es_buf_puts(&path, es_buf_str(&call->path));
	}

	hdrs[nh++] = (struct es_sigv4_header){"Host", es_buf_str(&host)};
	if (call->content_type)
		hdrs[nh++] = (struct es_sigv4_header){"Content-Type", call->content_type};
	for (size_t i = 0; i < call->n_headers; i++) {
		const char *line = call->headers[i];
		size_t n = strcspn(line, ":");
		if (n >= sizeof(names[i]))
			n = sizeof(names[i]) - 1;
		memcpy(names[i], line, n);
		names[i][n] = '\0';
		const char *v = line + n + (line[n] ? 1 : 0);
		while (*v == ' ')
			v++;
		hdrs[nh++] = (struct es_sigv4_header){names[i], v};
	}

	struct es_sigv4_request req = {
	        .method = call->method,
	        .path = es_buf_str(&path),
	        .query = call->query.len ? call->query.data : NULL,
	        .headers = hdrs,
	        .n_headers = nh,
	        .body = call->body.data,
	        .body_len = call->body.len,
	        .payload_hash = NULL,
	};
	struct es_sigv4_params params = {
	        .access_key_id = creds->access_key_id,
	        .secret_access_key = creds->secret_access_key,
	        .session_token = creds->session_token,
	        .region = ep->signing_region,
	        .service = ep->signing_name,
	        .when = when,
	        .normalize_path = !is_s3,
	        .add_content_sha256 = is_s3,
	};
	rc = es_sigv4_sign(&req, &params, &sig);
	if (rc)
		goto done;

	/* URL: scheme://host + path [+ ?query] */
	struct es_buf url = ES_BUF_INIT;
	es_buf_append(&url, ep->url, scheme_end ? (size_t)(scheme_end - ep->url) + 3 : 0);
	es_buf_puts(&url, es_buf_str(&host));
	es_buf_puts(&url, es_buf_str(&path));
	if (call->query.len) {
		es_buf_putc(&url, '?');
		es_buf_puts(&url, call->query.data);
	}
	out->url = es_buf_steal(&url);
	out->body = call->body.data;
	out->body_len = call->body.len;
	rc = ES_OK;
	for (size_t i = 0; i < nh && !rc; i++)
		rc = wire_add(out, hdrs[i].name, hdrs[i].value);
	for (size_t i = 0; i < sig.n_extra && !rc; i++)
		rc = wire_add(out, sig.extra[i].name, sig.extra[i].value);
	if (!rc)
		rc = wire_add(out, "Authorization", sig.authorization);
	if (!rc) {
		out->authorization = strdup(sig.authorization);
		if (!out->authorization)
			rc = es_fail(ES_ENOMEM, "out of memory");
	}
	es_sigv4_result_free(&sig);
	if (rc)
		es_aws_wire_free(out);
done:
	es_buf_free(&path);
	es_buf_free(&host);
	return rc;
}

/* ------------------------------------------------------------ client */

static void attempt(struct pending *p);
static void fail_now(struct pending *p);
static void pending_free(struct pending *p);

static bool creds_fresh(const struct es_aws_client *c)
{
	time_t now = time(NULL) + c->clock_offset;

	/* Temporary credentials are renewed a little before they expire. */
	return c->creds_ready && !es_credentials_expiring(&c->creds, now, 300);
}

/* Hand what the refresh (or the client) holds to whoever waits for it. */
static void tell_creds_waiters(struct es_aws_client *c)
{
	struct creds_waiter *w = c->creds_waiters;

	c->creds_waiters = NULL;
	while (w) {
		struct creds_waiter *next = w->next;
		w->fn(c->creds_ready ? &c->creds : NULL, c->creds_ready ? NULL : &c->creds_error,
		      w->ud);
		free(w);
		w = next;
	}
}

static void refreshed(const struct es_credentials *creds, const struct es_error *err, void *ud)
{
	struct es_aws_client *c = ud;
	struct pending *p = c->waiting;

	c->refresh = NULL;
	c->waiting = NULL;
	c->waiting_tail = &c->waiting;
	es_credentials_free(&c->creds);
	if (creds && es_credentials_copy(&c->creds, creds) == ES_OK) {
		c->creds_ready = true;
		memset(&c->creds_error, 0, sizeof(c->creds_error));
	} else {
		c->creds_ready = false;
		if (creds)
			es_error_save(&c->creds_error);
		else
			c->creds_error = *err;
	}
	/* Everyone in line goes on with this answer, even one that expires
	 * soon: one refresh per wait, never a loop of them. */
	while (p) {
		struct pending *next = p->next_waiting;
		p->next_waiting = NULL;
		p->creds_waited = true;
		attempt(p);
		p = next;
	}
	tell_creds_waiters(c);
}

/* Start resolving the chain unless it already runs. */
static int refresh_credentials(struct es_aws_client *c)
{
	if (c->refresh)
		return ES_OK;
	struct es_cred_role role = {c->role_arn, c->external_id, c->session_name};

	return es_cred_refresh_start(c->loop, c, c->settings.profile, &role, es_aws_region(c),
	                             c->assume_role, refreshed, c, &c->refresh);
}

int es_aws_client_new(struct es_loop *loop, const struct es_aws_options *o,
                      struct es_aws_client **out)
{
	struct es_aws_client *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return es_fail(ES_ENOMEM, "out of memory");
	c->loop = loop;
	c->waiting_tail = &c->waiting;
	c->assume_role = o ? o->assume_role : NULL;
	c->quota = (struct es_retry_quota)ES_RETRY_QUOTA_INIT;
	rc = es_settings_load(o ? o->profile : NULL, o ? o->region : NULL, &c->settings);
	if (rc) {
		free(c);
		return rc;
	}
	/* A profile someone named must exist, even when the environment
	 * holds keys: a typo should not quietly use other credentials. */
	if (c->settings.profile && strcmp(c->settings.profile, "default") != 0 &&
	    !es_awsconfig_has_profile(c->settings.config, c->settings.profile)) {
		rc = es_fail(
		        ES_ECONFIG,
		        "AWS profile \"%s\" not found in %s or %s: check --profile / AWS_PROFILE",
		        c->settings.profile,
		        es_awsconfig_path(c->settings.config, ES_AWSCONFIG_CONFIG),
		        es_awsconfig_path(c->settings.config, ES_AWSCONFIG_CREDENTIALS));
		es_settings_free(&c->settings);
		free(c);
		return rc;
	}
	if (o && o->role.role_arn &&
	    (!(c->role_arn = strdup(o->role.role_arn)) ||
	     (o->role.external_id && !(c->external_id = strdup(o->role.external_id))) ||
	     (o->role.session_name && !(c->session_name = strdup(o->role.session_name))))) {
		c->max_attempts = 1; /* freed below, with what was copied */
		es_aws_client_free(c);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	c->max_attempts = c->settings.max_attempts > 0 ? c->settings.max_attempts : 3;
	c->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^
	         (unsigned long long)(uintptr_t)c;
	if (!o || !o->lazy_credentials)
		es_aws_credentials(c); /* a failure is kept for the requests */
	else
		es_fail(ES_ECREDS, "credentials not resolved yet");
	*out = c;
	return ES_OK;
}

void es_aws_client_free(struct es_aws_client *c)
{
	if (!c)
		return;
	/* Requests in line are dropped uncalled, like those in flight. */
	es_cred_refresh_abandon(c->refresh);
	while (c->waiting) {
		struct pending *next = c->waiting->next_waiting;
		pending_free(c->waiting);
		c->waiting = next;
	}
	if (c->creds_timer)
		es_loop_timer_cancel(c->loop, c->creds_timer);
	while (c->creds_waiters) {
		struct creds_waiter *next = c->creds_waiters->next;
		free(c->creds_waiters);
		c->creds_waiters = next;
	}
	for (size_t i = 0; i < ES_AWS_MAX_ATTACHMENTS; i++)
		if (c->attached[i].key && c->attached[i].free_fn)
			c->attached[i].free_fn(c->attached[i].data);
	es_credentials_free(&c->creds);
	for (size_t i = 0; i < c->n_endpoints; i++)
		es_endpoint_free(&c->endpoints[i].ep);
	es_settings_free(&c->settings);
	free(c->role_arn);
	free(c->principal);
	free(c->external_id);
	free(c->session_name);
	free(c);
}

void es_aws_set_principal(struct es_aws_client *c, const char *arn)
{
	char *p = arn ? strdup(arn) : NULL;

	if (p || !arn) {
		free(c->principal);
		c->principal = p;
	}
}

const char *es_aws_role_arn(const struct es_aws_client *c)
{
	return c->role_arn;
}

const struct es_aws_settings *es_aws_settings_of(const struct es_aws_client *c)
{
	return &c->settings;
}

const char *es_aws_region(const struct es_aws_client *c)
{
	return c->settings.region && *c->settings.region ? c->settings.region : "us-east-1";
}

long es_aws_clock_offset(const struct es_aws_client *c)
{
	return c->clock_offset;
}

void es_aws_set_trace(struct es_aws_client *c, es_aws_trace_fn fn, void *ud)
{
	c->trace = fn;
	c->trace_ud = ud;
}

void es_aws_set_max_attempts(struct es_aws_client *c, int attempts)
{
	c->max_attempts = attempts < 1 ? 1 : attempts;
}

struct es_loop *es_aws_loop(const struct es_aws_client *c)
{
	return c->loop;
}

void *es_aws_attachment(const struct es_aws_client *c, const void *key)
{
	for (size_t i = 0; i < ES_AWS_MAX_ATTACHMENTS; i++)
		if (c->attached[i].key == key)
			return c->attached[i].data;
	return NULL;
}

int es_aws_attach(struct es_aws_client *c, const void *key, void *data, es_aws_detach_fn free_fn)
{
	struct attachment *free_slot = NULL;

	for (size_t i = 0; i < ES_AWS_MAX_ATTACHMENTS; i++) {
		struct attachment *a = &c->attached[i];
		if (a->key == key) {
			if (a->free_fn && a->data != data)
				a->free_fn(a->data);
			*a = (struct attachment){key, data, free_fn};
			return ES_OK;
		}
		if (!a->key && !free_slot)
			free_slot = a;
	}
	if (!free_slot)
		return es_fail(ES_ERR, "AWS client: no room for another attachment");
	*free_slot = (struct attachment){key, data, free_fn};
	return ES_OK;
}

const struct es_credentials *es_aws_credentials(struct es_aws_client *c)
{
	if (c->refresh || !creds_fresh(c)) {
		if (refresh_credentials(c) != ES_OK)
			return NULL;
		while (c->refresh)
			if (es_loop_turn_quiet(c->loop, 1000) != ES_OK)
				return NULL;
	}
	if (!c->creds_ready) {
		es_error_restore(&c->creds_error);
		return NULL;
	}
	return &c->creds;
}

static void creds_timer(struct es_loop *loop, void *ud)
{
	struct es_aws_client *c = ud;

	(void)loop;
	c->creds_timer = 0;
	if (!c->refresh)
		tell_creds_waiters(c);
}

int es_aws_credentials_async(struct es_aws_client *c, es_aws_credentials_fn fn, void *ud)
{
	struct creds_waiter *w = calloc(1, sizeof(*w)), **tail;

	if (!w)
		return es_fail(ES_ENOMEM, "out of memory");
	w->fn = fn;
	w->ud = ud;
	for (tail = &c->creds_waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	if (c->refresh || !creds_fresh(c)) {
		int rc = refresh_credentials(c);
		if (rc) {
			*tail = NULL;
			free(w);
		}
		return rc;
	}
	/* Ready now: answer on the next turn, not inside this call. */
	if (!c->creds_timer && !(c->creds_timer = es_loop_timer(c->loop, 0, creds_timer, c))) {
		*tail = NULL;
		free(w);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return ES_OK;
}

const struct es_endpoint *es_aws_endpoint(struct es_aws_client *c, const char *service)
{
	for (size_t i = 0; i < c->n_endpoints; i++)
		if (strcmp(c->endpoints[i].service, service) == 0)
			return &c->endpoints[i].ep;
	if (c->n_endpoints == MAX_ENDPOINTS) {
		es_fail(ES_ERR, "too many services");
		return NULL;
	}
	struct cached_endpoint *ce = &c->endpoints[c->n_endpoints];
	memset(ce, 0, sizeof(*ce));
	if (es_endpoint_resolve(&c->settings, service, &ce->ep))
		return NULL;
	snprintf(ce->service, sizeof(ce->service), "%s", service);
	c->n_endpoints++;
	return &ce->ep;
}

/* ------------------------------------------------------------ sending */

static double rnd01(struct es_aws_client *c)
{
	/* xorshift64*: jitter only, not security. */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void pending_free(struct pending *p)
{
	es_aws_call_free(p->call);
	free(p->call);
	free(p);
}

static void trace(struct pending *p, long status, const char *code, long retry_in)
{
	struct es_aws_trace t = {
	        .service = p->call->service,
	        .operation = p->call->operation,
	        .http_status = status,
	        .code = code ? code : "",
	        .attempt = p->attempt,
	        .elapsed_ms = (long)(es_loop_now_ms() - p->started_ms),
	        .retry_in_ms = retry_in,
	};
	if (p->client->trace)
		p->client->trace(&t, p->client->trace_ud);
}

/* Server time from an HTTP Date header, or 0. */
static time_t parse_http_date(const char *s)
{
	struct tm tm;
	const char *end;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!end)
		return 0;
	return timegm(&tm);
}

static void attempt(struct pending *p);

static void retry_timer(struct es_loop *loop, void *ud)
{
	(void)loop;
	attempt(ud);
}

static void finish(struct pending *p, int rc, const struct es_http_response *resp,
                   const struct es_error *err)
{
	p->done(rc, resp, err, p->ud);
	pending_free(p);
}

static void on_http(const struct es_http_response *resp, void *ud)
{
	struct pending *p = ud;
	struct es_aws_client *c = p->client;
	struct es_error err;
	enum es_retry_kind kind;
	long delay;

	if (resp->status >= 200 && resp->status < 300) {
		es_retry_quota_release(&c->quota, p->quota_taken);
		trace(p, resp->status, NULL, -1);
		finish(p, ES_OK, resp, NULL);
		return;
	}
	if (resp->status == 0) {
		memset(&err, 0, sizeof(err));
		err.status = ES_ENET;
		const struct es_endpoint *ep = es_aws_endpoint(c, p->call->service);
		snprintf(err.message, sizeof(err.message), "%s: cannot reach %s: %s",
		         p->call->operation, ep ? ep->host : p->call->service, resp->error);
	} else {
		es_proto_parse_error(p->call->protocol, resp, &err);
	}
	kind = es_retry_classify(resp->status, err.code, resp->curl_code, err.message);
	/* Fresh credentials get one chance; expired again means they are stale
	 * at the source, which another attempt will not change. */
	if (kind == ES_RETRY_CREDENTIALS && p->refreshed)
		kind = ES_RETRY_NO;
	if (kind != ES_RETRY_NO && p->attempt < c->max_attempts &&
	    es_retry_quota_acquire(&c->quota, kind)) {
		p->quota_taken += es_retry_cost(kind);
		if (kind == ES_RETRY_CLOCK_SKEW) {
			time_t server = parse_http_date(es_http_header(resp, "Date"));
			if (server)
				c->clock_offset = (long)(server - time(NULL));
			delay = 0;
		} else if (kind == ES_RETRY_CREDENTIALS) {
			/* The next attempt resolves the chain again; a cached
			 * assumed role must not hand back the expired token. */
			p->refreshed = true;
			p->creds_waited = false;
			c->creds_ready = false;
			es_credentials_cache_clear();
			delay = 0;
		} else {
			delay = es_retry_after_ms(es_http_header(resp, "x-amz-retry-after"));
			if (delay < 0)
				delay = es_retry_backoff_ms(p->attempt, rnd01(c));
		}
		trace(p, resp->status, err.code, delay);
		p->attempt++;
		if (es_loop_timer(c->loop, delay, retry_timer, p))
			return;
		es_fail(ES_ENOMEM, "out of memory");
		es_error_save(&err);
	} else {
		trace(p, resp->status, err.code, -1);
	}
	es_aws_explain(p->call, resp, c->role_arn, c->principal, &err);
	if (p->attempt > 1 && err.status == ES_ENET) {
		size_t n = strlen(err.message);
		snprintf(err.message + n, sizeof(err.message) - n, " (after %d attempts)",
		         p->attempt);
	}
	finish(p, err.status ? err.status : ES_EAWS, resp, &err);
}

static void fail_now(struct pending *p)
{
	struct es_error err;

	es_error_save(&err);
	trace(p, 0, err.code, -1);
	finish(p, err.status ? err.status : ES_ERR, NULL, &err);
}

static void attempt(struct pending *p)
{
	struct es_aws_client *c = p->client;
	const struct es_endpoint *ep;
	struct es_aws_wire w;

	/* No credentials yet, about to expire, or being renewed: wait in line
	 * for the chain (started now unless it runs) while the loop goes on
	 * turning. Once is enough: after its wait a request goes on with the
	 * answer, even should another refresh have started meanwhile. */
	if (!p->creds_waited && (c->refresh || !creds_fresh(c))) {
		if (refresh_credentials(c) != ES_OK) {
			fail_now(p);
			return;
		}
		*c->waiting_tail = p;
		c->waiting_tail = &p->next_waiting;
		return;
	}
	p->creds_waited = false;
	if (!c->creds_ready) {
		es_error_restore(&c->creds_error);
		fail_now(p);
		return;
	}
	const struct es_credentials *creds = &c->creds;
	ep = es_aws_endpoint(c, p->call->service);
	if (!ep) {
		fail_now(p);
		return;
	}
	if (es_aws_prepare(p->call, ep, creds, time(NULL) + c->clock_offset, &w)) {
		fail_now(p);
		return;
	}
	struct es_http_request req = {
	        .method = p->call->method,
	        .url = w.url,
	        .headers = (const char *const *)w.headers,
	        .body = w.body,
	        .body_len = w.body_len,
	        .timeout_ms = p->call->timeout_ms,
	        .progress = p->call->progress,
	        .progress_ud = p->call->progress_ud,
	};
	int rc = es_http_send(c->loop, &req, on_http, p, NULL);
	es_aws_wire_free(&w);
	if (rc)
		fail_now(p);
}

int es_aws_send(struct es_aws_client *c, struct es_aws_call *call, es_aws_done_fn done, void *ud)
{
	struct pending *p = calloc(1, sizeof(*p));
	struct es_aws_call *own = malloc(sizeof(*own));

	if (!p || !own) {
		free(p);
		free(own);
		es_aws_call_free(call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	*own = *call; /* take over the buffers */
	memset(call, 0, sizeof(*call));
	p->client = c;
	p->call = own;
	p->done = done;
	p->ud = ud;
	p->attempt = 1;
	p->started_ms = es_loop_now_ms();
	attempt(p);
	return ES_OK;
}

struct sync_wait {
	bool done;
	int rc;
	struct es_error err;
	struct es_http_response *out;
};

static void copy_response(struct es_http_response *dst, const struct es_http_response *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->status = src->status;
	dst->curl_code = src->curl_code;
	memcpy(dst->error, src->error, sizeof(dst->error));
	es_buf_append(&dst->body, src->body.data ? src->body.data : "", src->body.len);
	dst->headers = calloc(src->n_headers ? src->n_headers : 1, sizeof(*dst->headers));
	for (size_t i = 0; dst->headers && i < src->n_headers; i++) {
		dst->headers[i].name = strdup(src->headers[i].name);
		dst->headers[i].value = strdup(src->headers[i].value);
		dst->n_headers++;
	}
	dst->total_seconds = src->total_seconds;
}

static void sync_done(int rc, const struct es_http_response *resp, const struct es_error *err,
                      void *ud)
{
	struct sync_wait *w = ud;

	w->done = true;
	w->rc = rc;
	if (err)
		w->err = *err;
	if (rc == ES_OK && resp)
		copy_response(w->out, resp);
}

int es_aws_send_sync(struct es_aws_client *c, struct es_aws_call *call,
                     struct es_http_response *out)
{
	struct sync_wait w = {.out = out};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_aws_send(c, call, sync_done, &w);
	if (rc)
		return rc;
	while (!w.done) {
		rc = es_loop_turn_quiet(c->loop, 1000);
		if (rc)
			return rc;
	}
	if (w.rc)
		es_error_restore(&w.err);
	return w.rc;
}
