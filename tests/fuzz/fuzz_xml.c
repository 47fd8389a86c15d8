/* Fuzz target: every reader of AWS XML answers. The first byte picks the
 * reader (see the table; any other byte picks one by its value), the rest is
 * the answer's body, so each seed is a letter followed by a real answer. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/protocol.h"
#include "aws/s3.h"
#include "aws/sts.h"
#include "aws/xml.h"
#include "base/error.h"
#include "lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An answer as http.c hands it over: the body NUL-terminated in an es_buf. */
static void make_response(struct es_http_response *r, long status, const char *body, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	if (len)
		es_buf_append(&r->body, body, len);
}

static void error_body(enum es_protocol proto, const char *xml, size_t len)
{
	struct es_http_response r;
	struct es_error e;

	make_response(&r, 400 + (long)(len % 200), xml, len);
	es_proto_parse_error(proto, &r, &e);
	/* What the UI prints must be one bounded, terminated line. */
	if (strlen(e.message) >= sizeof(e.message) || strchr(e.message, '\n') || !e.code[0] ||
	    strlen(e.code) >= sizeof(e.code))
		abort();
	es_http_response_free(&r);
}

static void query_error(const char *x, size_t n)
{
	error_body(ES_PROTO_QUERY, x, n);
}

static void rest_xml_error(const char *x, size_t n)
{
	error_body(ES_PROTO_REST_XML, x, n);
}

static void stack(const char *x, size_t n)
{
	struct es_stack s;
	if (es_cfn_parse_stack(x, n, &s) == ES_OK)
		es_stack_free(&s);
}

static void change_set(const char *x, size_t n)
{
	struct es_change_set cs;
	if (es_cfn_parse_change_set(x, n, &cs) == ES_OK) {
		(void)es_cfn_change_set_empty(&cs);
		es_change_set_free(&cs);
	}
}

static void change_set_id(const char *x, size_t n)
{
	free(es_cfn_parse_change_set_id(x, n));
}

static void stack_events(const char *x, size_t n)
{
	struct es_stack_event_page p;
	if (es_cfn_parse_stack_events(x, n, &p) == ES_OK) {
		for (size_t i = 0; i < p.n; i++) {
			(void)es_cfn_status_failed(p.events[i].status);
			(void)es_cfn_status_in_progress(p.events[i].status);
		}
		es_stack_event_page_free(&p);
	}
}

static void stack_resources(const char *x, size_t n)
{
	char id[64];
	(void)es_cfn_resource_of_type(x, n, "AWS::CloudFront::Distribution", id, sizeof(id));
}

static void distribution_list(const char *x, size_t n)
{
	struct es_distribution_list l = {0};
	char *marker = NULL;
	(void)es_cf_parse_distribution_list(x, n, &l, &marker);
	es_distribution_list_free(&l);
	free(marker);
}

static void distribution(const char *x, size_t n)
{
	struct es_distribution d;
	if (es_cf_parse_distribution(x, n, "E2QWRUHEXAMPLE", &d) == ES_OK)
		es_distribution_free(&d);
}

static void object_list(const char *x, size_t n)
{
	struct es_s3_listing l = {0};
	char *token = NULL;
	(void)es_s3_parse_list_page(x, n, &l, &token);
	es_s3_listing_free(&l);
	free(token);
}

/* A stage lock object as read from S3 (JSON, with S3's times). */
static void ledger_list(const char *x, size_t n)
{
	struct es_lock_info info;

	(void)es_lock_parse(x, n, 1.8e9, 1.8e9 + 200, &info);
}

static void caller_identity(const char *x, size_t n)
{
	struct es_http_response r;
	struct es_caller_identity id;

	make_response(&r, 200, x, n);
	if (es_sts_parse_caller_identity(&r, &id) == ES_OK)
		es_caller_identity_free(&id);
	es_http_response_free(&r);
}

static void assume_role(const char *x, size_t n)
{
	struct es_http_response r;
	struct es_credentials c;

	make_response(&r, 200, x, n);
	if (es_sts_parse_credentials(&r, &c) == ES_OK)
		es_credentials_free(&c);
	es_http_response_free(&r);
}

/* The helpers on their own, with the paths the readers use. */
static void helpers(const char *x, size_t n)
{
	xmlDoc *doc = es_xml_parse(x, n);
	struct es_buf b = ES_BUF_INIT;

	if (!doc)
		return;
	xmlNode *root = xmlDocGetRootElement(doc);
	for (xmlNode *m = es_xml_find(root, "member"); m; m = es_xml_next(m)) {
		char *t = es_xml_text(m);
		if (t) {
			es_xml_escape(&b, t);
			es_buf_reset(&b);
		}
		free(t);
	}
	free(es_xml_path_text(root, "Error/Code"));
	free(es_xml_path_text(root, "a/b/c/d/e/f/g/h"));
	es_buf_free(&b);
	xmlFreeDoc(doc);
}

static const struct {
	char pick;
	void (*parse)(const char *xml, size_t len);
} readers[] = {
        {'e', query_error},     {'x', rest_xml_error},    {'s', stack},
        {'c', change_set},      {'i', change_set_id},     {'v', stack_events},
        {'r', stack_resources}, {'d', distribution_list}, {'g', distribution},
        {'l', object_list},     {'L', ledger_list},       {'w', caller_identity},
        {'a', assume_role},     {'h', helpers},
};

#define N_READERS (sizeof(readers) / sizeof(readers[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t which;

	if (size < 1)
		return 0;
	which = data[0] % N_READERS;
	for (size_t i = 0; i < N_READERS; i++)
		if (readers[i].pick == (char)data[0])
			which = i;
	readers[which].parse((const char *)data + 1, size - 1);
	return 0;
}
