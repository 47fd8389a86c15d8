/* Asynchronous HTTP over the event loop's curl multi handle: one request in,
 * one completion callback out, with timeouts, keep-alive and TLS checks. */
#ifndef ES_HTTP_H
#define ES_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/loop.h"

struct es_http_header {
	char *name;  /* owned */
	char *value; /* owned */
};

typedef void (*es_http_progress_fn)(uint64_t sent, uint64_t total, void *ud);

struct es_http_request {
	const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE" */
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;           /* sent as-is; copied by es_http_send */
	size_t body_len;
	long connect_timeout_ms; /* 0: 5000 */
	long timeout_ms;         /* 0: 60000 for the whole transfer */
	const char *connect_to;  /* "HOST:PORT:CONNECT-HOST:CONNECT-PORT" or NULL */
	/* How much of the body went out (may be NULL): on the loop's thread,
	 * as the upload moves. */
	es_http_progress_fn progress;
	void *progress_ud;
};

struct es_http_response {
	long status;     /* 0 when no HTTP answer arrived */
	int curl_code;   /* CURLE_OK when the transfer completed */
	char error[256]; /* transport error text ("" when none) */
	struct es_buf body;
	struct es_http_header *headers;
	size_t n_headers;
	double total_seconds;
	double connect_seconds;
	char primary_ip[64];
};

struct es_http_call;

/* Called once per request, on the loop's thread. resp is valid only during
 * the callback. */
typedef void (*es_http_done_fn)(const struct es_http_response *resp, void *ud);

/* Start a request. *call (optional) can cancel it before completion. */
int es_http_send(struct es_loop *loop, const struct es_http_request *req, es_http_done_fn done,
                 void *ud, struct es_http_call **call);

/* Cancel: the callback is not called. */
void es_http_cancel(struct es_loop *loop, struct es_http_call *call);

/* First header with this name (case-insensitive) or NULL. */
const char *es_http_header(const struct es_http_response *resp, const char *name);

/* True when the transport error is worth retrying (reset, timeout, refused,
 * partial body, DNS hiccup). */
bool es_http_transient(int curl_code);

/* Run the loop until the request finishes and copy its response out: for
 * headless commands and tests. The caller frees out with
 * es_http_response_free(). */
int es_http_send_sync(struct es_loop *loop, const struct es_http_request *req,
                      struct es_http_response *out);

void es_http_response_free(struct es_http_response *resp);

/* ------------------------------------------------------------ transports
 * A seam for tests: a loop can be given a transport that takes every
 * request es_http_send() would have put on the wire (method, URL, headers
 * with SigV4 already applied, body) and answers it itself, so the request
 * pipeline, the signer and the protocol parsers run for real against a
 * scripted fake (tests/unit/fakeaws.h) instead of a network. */
struct es_http_transport {
	/* Take one request. req and what it points to are valid only during
	 * this call: copy what is needed. Answer later with es_http_complete()
	 * (exactly once, unless cancel comes first). Return ES_OK, or a status
	 * (with es_fail) to make es_http_send() fail. */
	int (*send)(void *ud, struct es_http_call *call, const struct es_http_request *req);
	/* The request was cancelled before its answer: forget call, do not
	 * complete it. May be NULL when the transport never holds calls. */
	void (*cancel)(void *ud, struct es_http_call *call);
};

/* Route every request on loop through t (NULL: back to libcurl). t and ud
 * must outlive their use; unset the transport before es_loop_free(loop).
 * Requests already sent keep the path they took. */
int es_http_set_transport(struct es_loop *loop, const struct es_http_transport *t, void *ud);

/* Answer a request a transport took. resp is copied (status, curl_code,
 * error, headers, body); the done callback then runs on a later turn of
 * the loop through a zero-delay timer, never inside this call, so a
 * transport may complete from within its send() without re-entering the
 * caller. The same cut-answer rule as the wire applies: curl_code other
 * than CURLE_OK makes status 0. */
int es_http_complete(struct es_http_call *call, const struct es_http_response *resp);

#endif
