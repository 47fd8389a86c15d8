/* core/aws/http.c against a scripted raw TCP server on 127.0.0.1: a whole
 * answer is an answer, and an answer cut anywhere (status line, headers,
 * body, chunked body, nothing at all) is a transient transport error that
 * the request pipeline retries, never an empty HTTP 200. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/aws.h"
#include "aws/http.h"
#include "base/error.h"
#include "base/loop.h"

/* ------------------------------------------------------------ the server */

#define MAX_SCRIPT 8

/* One connection per scripted answer: read the whole request, write the
 * bytes, close. */
struct server {
	int fd;
	int port;
	const char *answers[MAX_SCRIPT];
	size_t lens[MAX_SCRIPT];
	int n;
	int served; /* connections answered (read after join) */
	char first_request[2048];
	pthread_t thread;
};

/* Read until the end of the request headers and then Content-Length bytes,
 * so closing afterwards sends a clean FIN rather than a reset. */
static void read_request(int c, char *keep, size_t keep_len)
{
	char buf[8192];
	size_t have = 0;
	long body = -1;
	char *end = NULL;

	for (;;) {
		struct pollfd p = {c, POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0)
			return;
		ssize_t r = recv(c, buf + have, sizeof(buf) - 1 - have, 0);
		if (r <= 0)
			return;
		have += (size_t)r;
		buf[have] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			body = cl && cl < end ? atol(cl + 17) : 0;
			if (keep && keep_len)
				snprintf(keep, keep_len, "%.*s", (int)(end - buf), buf);
		}
		if (end && (long)(have - (size_t)(end + 4 - buf)) >= body)
			return;
		if (have + 1 >= sizeof(buf))
			return;
	}
}

static void *serve(void *ud)
{
	struct server *s = ud;

	for (int i = 0; i < s->n; i++) {
		struct pollfd p = {s->fd, POLLIN, 0};
		/* Bounded: a client that never comes must not hang the test. */
		if (poll(&p, 1, 15000) <= 0)
			break;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		read_request(c, i == 0 ? s->first_request : NULL, sizeof(s->first_request));
		if (s->lens[i])
			(void)!write(c, s->answers[i], s->lens[i]);
		close(c);
		s->served++;
	}
	return NULL;
}

static void server_start(struct server *s, const char *const *answers, int n)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	assert_true(n <= MAX_SCRIPT);
	for (int i = 0; i < n; i++) {
		s->answers[i] = answers[i];
		s->lens[i] = strlen(answers[i]);
	}
	s->n = n;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* ------------------------------------------------------------ one request */

struct result {
	long status;
	int curl_code;
	char error[256];
	char body[256];
	size_t body_len;
};

static struct result fetch(const char *method, const char *answer)
{
	const char *script[] = {answer};
	struct server s;
	struct es_loop *loop = es_loop_new();
	struct es_http_response resp;
	struct result r;
	char url[64];

	assert_non_null(loop);
	server_start(&s, script, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
	struct es_http_request req = {
	        .method = method,
	        .url = url,
	        .timeout_ms = 10000,
	};
	assert_int_equal(es_http_send_sync(loop, &req, &resp), ES_OK);
	memset(&r, 0, sizeof(r));
	r.status = resp.status;
	r.curl_code = resp.curl_code;
	snprintf(r.error, sizeof(r.error), "%s", resp.error);
	r.body_len = resp.body.len;
	snprintf(r.body, sizeof(r.body), "%s", resp.body.data ? resp.body.data : "");
	es_http_response_free(&resp);
	server_stop(&s);
	assert_int_equal(s.served, 1);
	es_loop_free(loop);
	return r;
}

static void assert_cut(const struct result *r)
{
	assert_int_equal(r->status, 0);
	assert_int_not_equal(r->curl_code, CURLE_OK);
	assert_true(es_http_transient(r->curl_code));
	assert_true(r->error[0] != '\0');
}

/* ------------------------------------------------------------ cases */

static void whole_answer(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	                               "Connection: close\r\n\r\nhello");
	assert_int_equal(r.curl_code, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_string_equal(r.error, "");
}

static void whole_answer_closed_by_eof(void **state)
{
	/* No length: the close ends the body, as HTTP/1.1 allows. */
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello");
	assert_int_equal(r.curl_code, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
}

static void whole_chunked_answer(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                               "5\r\nhello\r\n0\r\n\r\n");
	assert_int_equal(r.curl_code, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
}

static void cut_in_status_line(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 20");
	assert_cut(&r);
}

static void cut_after_status_line(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\n");
	assert_cut(&r);
	assert_int_equal(r.curl_code, CURLE_PARTIAL_FILE);
	assert_non_null(strstr(r.error, "inside the answer's headers"));
}

static void cut_inside_headers(void **state)
{
	/* libcurl itself calls this a complete HTTP 200 with no body. */
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Len");
	assert_cut(&r);
	assert_int_equal(r.curl_code, CURLE_PARTIAL_FILE);
	assert_non_null(strstr(r.error, "headers"));
}

static void cut_after_a_header_line(void **state)
{
	struct result r = fetch("POST", "HTTP/1.1 200 OK\r\nx-amzn-RequestId: abc\r\n");
	assert_cut(&r);
	assert_int_equal(r.curl_code, CURLE_PARTIAL_FILE);
}

static void cut_inside_the_blank_line(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r");
	assert_cut(&r);
}

static void body_shorter_than_content_length(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<ok/>");
	assert_cut(&r);
	assert_int_equal(r.curl_code, CURLE_PARTIAL_FILE);
}

static void error_body_shorter_than_content_length(void **state)
{
	/* A cut 503 is no better an answer than a cut 200. */
	struct result r = fetch("POST", "HTTP/1.1 503 Service Unavailable\r\n"
	                                "Content-Length: 80\r\n\r\n<Error>");
	assert_cut(&r);
}

static void chunked_without_last_chunk(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                               "5\r\nhello\r\n");
	assert_cut(&r);
}

static void chunked_cut_inside_a_chunk(void **state)
{
	struct result r = fetch("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                               "5\r\nhel");
	assert_cut(&r);
}

static void closed_without_a_byte(void **state)
{
	struct result r = fetch("GET", "");
	assert_cut(&r);
	assert_int_equal(r.curl_code, CURLE_GOT_NOTHING);
}

struct meter {
	uint64_t last_sent, last_total;
	int calls;
	bool backwards;
};

static void on_progress(uint64_t sent, uint64_t total, void *ud)
{
	struct meter *m = ud;

	m->backwards |= sent < m->last_sent;
	m->last_sent = sent;
	m->last_total = total;
	m->calls++;
}

/* An upload says how far it got, up to the whole body. */
static void upload_reports_progress(void **state)
{
	const char *script[] = {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
	struct server s;
	struct es_loop *loop = es_loop_new();
	struct es_http_response resp;
	struct meter m = {0};
	char url[64], body[6000];

	(void)state;
	memset(body, 'z', sizeof(body));
	server_start(&s, script, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
	struct es_http_request req = {.method = "PUT",
	                              .url = url,
	                              .body = body,
	                              .body_len = sizeof(body),
	                              .timeout_ms = 10000,
	                              .progress = on_progress,
	                              .progress_ud = &m};
	assert_int_equal(es_http_send_sync(loop, &req, &resp), ES_OK);
	assert_int_equal(resp.status, 200);
	es_http_response_free(&resp);
	server_stop(&s);
	es_loop_free(loop);
	assert_true(m.calls > 0);
	assert_false(m.backwards);
	assert_int_equal(m.last_total, sizeof(body));
	assert_int_equal(m.last_sent, sizeof(body));
}

static void head_has_no_body_to_wait_for(void **state)
{
	struct result r = fetch("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
	                                "ETag: \"x\"\r\nConnection: close\r\n\r\n");
	assert_int_equal(r.curl_code, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
}

static void no_content_has_no_body(void **state)
{
	struct result r = fetch("DELETE", "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	assert_int_equal(r.curl_code, CURLE_OK);
	assert_int_equal(r.status, 204);
}

static void cut_answers_are_transient(void **state)
{
	assert_true(es_http_transient(CURLE_PARTIAL_FILE));
	assert_true(es_http_transient(CURLE_GOT_NOTHING));
	assert_true(es_http_transient(CURLE_RECV_ERROR));
	assert_false(es_http_transient(CURLE_OK));
	assert_false(es_http_transient(CURLE_SSL_CACERT_BADFILE));
}

/* ------------------------------------------------------------ the pipeline */

struct attempts {
	int n;
	long status[8];
	long retry_in[8];
};

static void count_attempts(const struct es_aws_trace *t, void *ud)
{
	struct attempts *a = ud;
	if (a->n < 8) {
		a->status[a->n] = t->http_status;
		a->retry_in[a->n] = t->retry_in_ms;
	}
	a->n++;
}

static void set_fake_env(int port)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	setenv("AWS_ENDPOINT_URL", url, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEHTTPTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret", 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_MAX_ATTEMPTS");
}

static void pipeline_retries_a_cut_answer(void **state)
{
	static const char body[] =
	        "<GetCallerIdentityResponse><Ok>yes</Ok></GetCallerIdentityResponse>";
	char fixed[256];
	snprintf(fixed, sizeof(fixed),
	         "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
	         "Content-Length: %zu\r\n\r\n%s",
	         strlen(body), body);
	const char *script[] = {"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n", fixed};
	struct server s;
	struct es_loop *loop = es_loop_new();
	struct es_aws_client *c = NULL;
	struct es_aws_call call;
	struct es_http_response resp;
	struct attempts a = {0};

	server_start(&s, script, 2);
	set_fake_env(s.port);
	assert_int_equal(es_aws_client_new(loop, NULL, &c), ES_OK);
	es_aws_set_trace(c, count_attempts, &a);
	assert_int_equal(
	        es_aws_call_init(&call, "sts", "GetCallerIdentity", ES_PROTO_QUERY, "POST", "/"),
	        ES_OK);
	call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	es_query_start(&call.body, "GetCallerIdentity", "2011-06-15");
	assert_int_equal(es_aws_send_sync(c, &call, &resp), ES_OK);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body.data, "<Ok>yes</Ok>"));
	es_http_response_free(&resp);
	server_stop(&s);
	assert_int_equal(s.served, 2);
	/* The request really went through SigV4 to our server. */
	assert_non_null(strstr(s.first_request, "POST / HTTP/1.1"));
	assert_non_null(strcasestr(s.first_request, "Authorization: AWS4-HMAC-SHA256"));
	assert_int_equal(a.n, 2);
	assert_int_equal(a.status[0], 0); /* the cut attempt: no answer */
	assert_true(a.retry_in[0] >= 0);  /* … and it was retried */
	assert_int_equal(a.status[1], 200);
	assert_int_equal(a.retry_in[1], -1);
	es_aws_client_free(c);
	es_loop_free(loop);
}

static void pipeline_gives_up_after_cut_answers(void **state)
{
	const char *script[] = {"HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 9"};
	struct server s;
	struct es_loop *loop = es_loop_new();
	struct es_aws_client *c = NULL;
	struct es_aws_call call;
	struct es_http_response resp;
	struct attempts a = {0};

	server_start(&s, script, 2);
	set_fake_env(s.port);
	assert_int_equal(es_aws_client_new(loop, NULL, &c), ES_OK);
	es_aws_set_max_attempts(c, 2);
	es_aws_set_trace(c, count_attempts, &a);
	assert_int_equal(
	        es_aws_call_init(&call, "sts", "GetCallerIdentity", ES_PROTO_QUERY, "POST", "/"),
	        ES_OK);
	es_query_start(&call.body, "GetCallerIdentity", "2011-06-15");
	assert_int_equal(es_aws_send_sync(c, &call, &resp), ES_ENET);
	const struct es_error *e = es_error_last();
	assert_int_equal(e->http_status, 0);
	assert_non_null(strstr(e->message, "headers"));
	assert_non_null(strstr(e->message, "after 2 attempts"));
	server_stop(&s);
	assert_int_equal(s.served, 2);
	assert_int_equal(a.n, 2);
	es_aws_client_free(c);
	es_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(whole_answer),
	        cmocka_unit_test(whole_answer_closed_by_eof),
	        cmocka_unit_test(whole_chunked_answer),
	        cmocka_unit_test(cut_in_status_line),
	        cmocka_unit_test(cut_after_status_line),
	        cmocka_unit_test(cut_inside_headers),
	        cmocka_unit_test(cut_after_a_header_line),
	        cmocka_unit_test(cut_inside_the_blank_line),
	        cmocka_unit_test(body_shorter_than_content_length),
	        cmocka_unit_test(error_body_shorter_than_content_length),
	        cmocka_unit_test(chunked_without_last_chunk),
	        cmocka_unit_test(chunked_cut_inside_a_chunk),
	        cmocka_unit_test(closed_without_a_byte),
	        cmocka_unit_test(head_has_no_body_to_wait_for),
	        cmocka_unit_test(upload_reports_progress),
	        cmocka_unit_test(no_content_has_no_body),
	        cmocka_unit_test(cut_answers_are_transient),
	        cmocka_unit_test(pipeline_retries_a_cut_answer),
	        cmocka_unit_test(pipeline_gives_up_after_cut_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
