/* libcurl easy handles driven by the loop's multi handle, or a transport a
 * test put in their place (see es_http_set_transport). */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "http.h"

struct es_http_call {
	struct es_loop *loop;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *connect_to;
	char *body;
	struct es_http_response resp;
	es_http_done_fn done;
	void *ud;
	es_http_progress_fn progress;
	void *progress_ud;
	/* Taken by a transport instead of libcurl (easy is then NULL). */
	const struct es_http_transport *transport;
	void *transport_ud;
	uint64_t timer; /* the pending delivery of a transport's answer */
	bool completed;
	bool head;         /* HEAD: no body follows the headers */
	bool headers_done; /* the blank line that ends the header block arrived */
	char errbuf[CURL_ERROR_SIZE];
};

static void response_clear_headers(struct es_http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

void es_http_response_free(struct es_http_response *resp)
{
	if (!resp)
		return;
	response_clear_headers(resp);
	es_buf_free(&resp->body);
}

static void call_free(struct es_http_call *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	curl_slist_free_all(c->connect_to);
	free(c->body);
	es_http_response_free(&c->resp);
	free(c);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct es_http_call *c = ud;
	size_t n = size * nmemb;

	if (es_buf_append(&c->resp.body, ptr, n))
		return 0;
	return n;
}

static char *trim_dup(const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
	               s[len - 1] == '\n'))
		len--;
	return strndup(s, len);
}

/* libcurl's progress meter: only the upload side is passed on. */
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct es_http_call *c = ud;

	(void)dltotal;
	(void)dlnow;
	if (ultotal > 0)
		c->progress((uint64_t)ulnow, (uint64_t)ultotal, c->progress_ud);
	return 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct es_http_call *c = ud;
	size_t n = size * nmemb;
	const char *colon;

	/* A new status line (after 100-continue or a redirect) starts over. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		response_clear_headers(&c->resp);
		c->headers_done = false;
		return n;
	}
	/* libcurl hands the empty line that closes the header block to us too:
	 * without it the answer was cut before its headers ended. */
	if ((n == 2 && ptr[0] == '\r' && ptr[1] == '\n') || (n == 1 && ptr[0] == '\n')) {
		c->headers_done = true;
		return n;
	}
	colon = memchr(ptr, ':', n);
	if (!colon)
		return n;
	struct es_http_header *h =
	        realloc(c->resp.headers, (c->resp.n_headers + 1) * sizeof(*c->resp.headers));
	if (!h)
		return 0;
	c->resp.headers = h;
	h[c->resp.n_headers].name = trim_dup(ptr, (size_t)(colon - ptr));
	h[c->resp.n_headers].value = trim_dup(colon + 1, n - (size_t)(colon - ptr) - 1);
	if (!h[c->resp.n_headers].name || !h[c->resp.n_headers].value) {
		free(h[c->resp.n_headers].name);
		free(h[c->resp.n_headers].value);
		return 0;
	}
	c->resp.n_headers++;
	return n;
}

const char *es_http_header(const struct es_http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

bool es_http_transient(int code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR: return true;
	default: return false;
	}
}

/* Statuses whose answer never carries a body, whatever Content-Length says. */
static bool status_has_body(long status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* libcurl reports some cut answers as complete (a connection closed inside
 * the headers gives CURLE_OK and the status line's code): check the answer
 * is whole ourselves, so a cut one is retried and never parsed. Returns the
 * curl code to report, filling errbuf when it finds a cut. */
static int check_whole(struct es_http_call *c, int code)
{
	curl_off_t want = -1;

	if (code != CURLE_OK)
		return code;
	if (c->resp.status == 0) {
		snprintf(c->errbuf, sizeof(c->errbuf), "the connection closed with no answer");
		return CURLE_GOT_NOTHING;
	}
	if (!c->headers_done) {
		snprintf(c->errbuf, sizeof(c->errbuf),
		         "the connection closed inside the answer's headers (HTTP %ld)",
		         c->resp.status);
		return CURLE_PARTIAL_FILE;
	}
	if (c->head || !status_has_body(c->resp.status))
		return code;
	if (curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want) == CURLE_OK &&
	    want >= 0 && (curl_off_t)c->resp.body.len < want) {
		snprintf(c->errbuf, sizeof(c->errbuf),
		         "the answer was cut short: %zu of %lld body bytes (HTTP %ld)",
		         c->resp.body.len, (long long)want, c->resp.status);
		return CURLE_PARTIAL_FILE;
	}
	return code;
}

static void on_done(void *easy, int code, void *ud)
{
	struct es_http_call *c = ud;
	double t = 0;
	char *ip = NULL;

	(void)easy;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->resp.status);
	code = check_whole(c, code);
	c->resp.curl_code = code;
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME, &t);
	c->resp.total_seconds = t;
	curl_easy_getinfo(c->easy, CURLINFO_CONNECT_TIME, &t);
	c->resp.connect_seconds = t;
	if (curl_easy_getinfo(c->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
		snprintf(c->resp.primary_ip, sizeof(c->resp.primary_ip), "%s", ip);
	if (code != CURLE_OK) {
		snprintf(c->resp.error, sizeof(c->resp.error), "%s",
		         c->errbuf[0] ? c->errbuf : curl_easy_strerror((CURLcode)code));
		/* A connection that dropped mid-answer is not an answer. */
		c->resp.status = 0;
	}
	if (!c->resp.body.data)
		es_buf_puts(&c->resp.body, "");
	c->done(&c->resp, c->ud);
	call_free(c);
}

/* ------------------------------------------------------------ transports */

/* Loops with a transport: few (tests), so a small table here keeps the
 * event loop itself free of HTTP knowledge. */
#define MAX_TRANSPORTS 8

static struct transport_slot {
	struct es_loop *loop;
	const struct es_http_transport *t;
	void *ud;
} transports[MAX_TRANSPORTS];

static const struct transport_slot *transport_for(const struct es_loop *loop)
{
	for (size_t i = 0; i < MAX_TRANSPORTS; i++)
		if (transports[i].loop == loop && transports[i].t)
			return &transports[i];
	return NULL;
}

int es_http_set_transport(struct es_loop *loop, const struct es_http_transport *t, void *ud)
{
	struct transport_slot *free_slot = NULL;

	for (size_t i = 0; i < MAX_TRANSPORTS; i++) {
		if (transports[i].loop == loop) {
			free_slot = &transports[i];
			break;
		}
		if (!free_slot && !transports[i].loop)
			free_slot = &transports[i];
	}
	if (!t) {
		if (free_slot && free_slot->loop == loop)
			memset(free_slot, 0, sizeof(*free_slot));
		return ES_OK;
	}
	if (!t->send)
		return es_fail(ES_EINVAL, "an HTTP transport needs a send function");
	if (!free_slot)
		return es_fail(ES_ERR, "too many loops with an HTTP transport");
	*free_slot = (struct transport_slot){loop, t, ud};
	return ES_OK;
}

static void deliver(struct es_loop *loop, void *ud)
{
	struct es_http_call *c = ud;

	(void)loop;
	c->timer = 0;
	c->done(&c->resp, c->ud);
	call_free(c);
}

int es_http_complete(struct es_http_call *c, const struct es_http_response *resp)
{
	struct es_http_response *r = &c->resp;

	if (!c->transport || c->completed)
		return es_fail(ES_EINVAL, "es_http_complete: not a pending transport request");
	response_clear_headers(r);
	es_buf_reset(&r->body);
	r->curl_code = resp->curl_code;
	r->status = resp->curl_code == CURLE_OK ? resp->status : 0;
	snprintf(r->error, sizeof(r->error), "%s", resp->error);
	if (resp->curl_code != CURLE_OK && !r->error[0])
		snprintf(r->error, sizeof(r->error), "%s",
		         curl_easy_strerror((CURLcode)resp->curl_code));
	if (es_buf_append(&r->body, resp->body.data ? resp->body.data : "", resp->body.len))
		return ES_ENOMEM;
	if (resp->n_headers) {
		r->headers = calloc(resp->n_headers, sizeof(*r->headers));
		if (!r->headers)
			return es_fail(ES_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < resp->n_headers; i++) {
		r->headers[i].name = strdup(resp->headers[i].name);
		r->headers[i].value = strdup(resp->headers[i].value);
		r->n_headers++;
		if (!r->headers[i].name || !r->headers[i].value)
			return es_fail(ES_ENOMEM, "out of memory");
	}
	r->total_seconds = resp->total_seconds;
	r->connect_seconds = resp->connect_seconds;
	memcpy(r->primary_ip, resp->primary_ip, sizeof(r->primary_ip));
	/* Never call back inside the transport: the caller of es_http_send()
	 * may not have returned yet. */
	c->timer = es_loop_timer(c->loop, 0, deliver, c);
	if (!c->timer)
		return es_fail(ES_ENOMEM, "out of memory");
	c->completed = true;
	return ES_OK;
}

static int send_via_transport(struct es_loop *loop, const struct transport_slot *ts,
                              const struct es_http_request *req, es_http_done_fn done, void *ud,
                              struct es_http_call **out)
{
	struct es_http_call *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return es_fail(ES_ENOMEM, "out of memory");
	c->loop = loop;
	c->done = done;
	c->ud = ud;
	c->head = strcmp(req->method, "HEAD") == 0;
	c->transport = ts->t;
	c->transport_ud = ts->ud;
	rc = ts->t->send(ts->ud, c, req);
	if (rc) {
		if (c->timer)
			es_loop_timer_cancel(loop, c->timer);
		call_free(c);
		return rc;
	}
	if (out)
		*out = c;
	return ES_OK;
}

/* ------------------------------------------------------------ sending */

int es_http_send(struct es_loop *loop, const struct es_http_request *req, es_http_done_fn done,
                 void *ud, struct es_http_call **out)
{
	const struct transport_slot *ts = transport_for(loop);
	struct es_http_call *c;
	bool head = strcmp(req->method, "HEAD") == 0;

	if (ts)
		return send_via_transport(loop, ts, req, done, ud, out);
	c = calloc(1, sizeof(*c));
	if (!c)
		return es_fail(ES_ENOMEM, "out of memory");
	c->loop = loop;
	c->done = done;
	c->ud = ud;
	c->head = head;
	c->easy = curl_easy_init();
	if (!c->easy) {
		free(c);
		return es_fail(ES_ERR, "libcurl could not create a transfer");
	}
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(c->headers, *h);
		if (!n)
			goto nomem;
		c->headers = n;
	}
	/* libcurl adds these unless told not to; SigV4 signs what we send. A
	 * POST without a Content-Type of ours must not get curl's form type
	 * (CloudFront's XML would then look like a query-protocol call). */
	bool has_type = false;
	for (const char *const *h = req->headers; h && *h; h++)
		has_type |= strncasecmp(*h, "Content-Type:", 13) == 0;
	c->headers = curl_slist_append(c->headers, "Accept:");
	if (!has_type)
		c->headers = curl_slist_append(c->headers, "Content-Type:");
	if (!head && req->body_len)
		c->headers = curl_slist_append(c->headers, "Expect:");
	if (!c->headers)
		goto nomem;

	CURL *e = c->easy;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 req->connect_timeout_ms ? req->connect_timeout_ms : 5000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 60000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "edgeship/" PACKAGE_VERSION);
	if (req->connect_to) {
		c->connect_to = curl_slist_append(NULL, req->connect_to);
		if (!c->connect_to)
			goto nomem;
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
	}
	if (head) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") != 0 || req->body_len) {
		c->body = malloc(req->body_len ? req->body_len : 1);
		if (!c->body)
			goto nomem;
		if (req->body_len)
			memcpy(c->body, req->body, req->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (req->progress && req->body_len) {
			c->progress = req->progress;
			c->progress_ud = req->progress_ud;
			curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
			curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
			curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		}
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	}
	if (es_loop_add_transfer(loop, e, on_done, c)) {
		call_free(c);
		return ES_ERR;
	}
	if (out)
		*out = c;
	return ES_OK;
nomem:
	call_free(c);
	return es_fail(ES_ENOMEM, "out of memory");
}

void es_http_cancel(struct es_loop *loop, struct es_http_call *call)
{
	if (!call)
		return;
	if (call->transport) {
		if (call->timer)
			es_loop_timer_cancel(loop, call->timer);
		else if (call->transport->cancel)
			call->transport->cancel(call->transport_ud, call);
		call_free(call);
		return;
	}
	es_loop_remove_transfer(loop, call->easy);
	call_free(call);
}

struct sync_state {
	bool done;
	struct es_http_response *out;
};

static void sync_done(const struct es_http_response *resp, void *ud)
{
	struct sync_state *s = ud;
	struct es_http_response *o = s->out;

	o->status = resp->status;
	o->curl_code = resp->curl_code;
	memcpy(o->error, resp->error, sizeof(o->error));
	es_buf_append(&o->body, resp->body.data ? resp->body.data : "", resp->body.len);
	o->headers = calloc(resp->n_headers ? resp->n_headers : 1, sizeof(*o->headers));
	for (size_t i = 0; o->headers && i < resp->n_headers; i++) {
		o->headers[i].name = strdup(resp->headers[i].name);
		o->headers[i].value = strdup(resp->headers[i].value);
		o->n_headers++;
	}
	o->total_seconds = resp->total_seconds;
	o->connect_seconds = resp->connect_seconds;
	memcpy(o->primary_ip, resp->primary_ip, sizeof(o->primary_ip));
	s->done = true;
}

int es_http_send_sync(struct es_loop *loop, const struct es_http_request *req,
                      struct es_http_response *out)
{
	struct sync_state s = {false, out};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_http_send(loop, req, sync_done, &s, NULL);
	if (rc)
		return rc;
	while (!s.done) {
		rc = es_loop_turn_quiet(loop, 1000);
		if (rc)
			return rc;
	}
	return ES_OK;
}
