/* Fuzz target: the JSON the AWS client reads: error answers of the json-1.1
 * and rest-json protocols (and a JSON error from an XML service), the
 * credential providers' answers, and the Lambda and CodePipeline listings.
 * The first byte picks the reader (see the table); for an error answer the
 * rest is "Name: value" header lines, an empty line, then the body. */
#include "config.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/codepipeline.h"
#include "aws/cred_util.h"
#include "aws/lambda.h"
#include "aws/protocol.h"
#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split "headers\n\nbody" into a response; no blank line: all body. */
static void make_response(struct es_http_response *r, const char *in, size_t len)
{
	const char *sep = memmem(in, len, "\n\n", 2), *body = sep ? sep + 2 : in;

	memset(r, 0, sizeof(*r));
	r->status = 400;
	for (const char *p = in; sep && p < sep;) {
		const char *nl = memchr(p, '\n', (size_t)(sep - p));
		if (!nl)
			nl = sep;
		const char *colon = memchr(p, ':', (size_t)(nl - p));
		if (colon) {
			struct es_http_header *h =
			        realloc(r->headers, (r->n_headers + 1) * sizeof(*h));
			const char *v = colon + 1;
			if (!h)
				break;
			r->headers = h;
			while (v < nl && *v == ' ')
				v++;
			h[r->n_headers].name = strndup(p, (size_t)(colon - p));
			h[r->n_headers].value = strndup(v, (size_t)(nl - v));
			r->n_headers++;
		}
		p = nl + 1;
	}
	if (len > (size_t)(body - in))
		es_buf_append(&r->body, body, len - (size_t)(body - in));
}

static void error_answer(enum es_protocol proto, const char *in, size_t len)
{
	struct es_http_response r;
	struct es_error e;

	make_response(&r, in, len);
	es_proto_parse_error(proto, &r, &e);
	/* What the UI prints must be one bounded, terminated line. */
	if (strlen(e.message) >= sizeof(e.message) || strchr(e.message, '\n') ||
	    strchr(e.message, '\033') || !e.code[0] || strlen(e.code) >= sizeof(e.code) ||
	    strlen(e.request_id) >= sizeof(e.request_id))
		abort();
	es_http_response_free(&r);
}

static void json_error(const char *in, size_t len)
{
	error_answer(ES_PROTO_JSON, in, len);
}

static void rest_json_error(const char *in, size_t len)
{
	error_answer(ES_PROTO_REST_JSON, in, len);
}

static void query_error(const char *in, size_t len)
{
	error_answer(ES_PROTO_QUERY, in, len);
}

static void credentials(const char *in, size_t len, const char *token_key)
{
	json_t *doc = json_loadb(in, len, 0, NULL);
	struct es_credentials c;

	if (doc && es_cred_from_json(doc, token_key, "fuzz", &c, "fuzz") == ES_OK) {
		if (!c.access_key_id || !*c.access_key_id || !c.secret_access_key)
			abort();
		es_credentials_free(&c);
	}
	json_decref(doc);
}

static void metadata_credentials(const char *in, size_t len)
{
	credentials(in, len, "Token");
}

static void process_credentials(const char *in, size_t len)
{
	credentials(in, len, "SessionToken");
}

static void lambda_functions(const char *in, size_t len)
{
	json_t *root = json_loadb(in, len, 0, NULL);
	struct es_lambda_function_list l = {0};
	char *marker = NULL;

	(void)es_lambda_parse_function_list(root, &l, &marker);
	es_lambda_function_list_free(&l);
	free(marker);
	json_decref(root);
}

static void pipelines(const char *in, size_t len)
{
	json_t *root = json_loadb(in, len, 0, NULL);
	char **names = NULL, *token = NULL;
	size_t n = 0;

	(void)es_codepipeline_parse_pipelines(root, &names, &n, &token);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(token);
	json_decref(root);
}

static const struct {
	char pick;
	void (*parse)(const char *in, size_t len);
} readers[] = {
        {'j', json_error},          {'r', rest_json_error},
        {'q', query_error},         {'m', metadata_credentials},
        {'p', process_credentials}, {'f', lambda_functions},
        {'P', pipelines},
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
