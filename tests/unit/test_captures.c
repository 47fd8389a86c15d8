/* Re-signs real AWS CLI requests captured on loopback and checks that our
 * Authorization matches the CLI's byte for byte, one counted test per file. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "aws/sigv4.h"
#include "testutil.h"

/* The fake credentials the captures were made with (see their README). */
#define AKID   "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

#define EXPECTED_CAPTURES 17
#define MAX_HEADERS       32

struct capture {
	char *path;
	char *label; /* "awscli-2.9.19/06-s3-PutObject" */
};

static struct capture *captures;
static size_t n_captures, n_checked;

static char *join_path(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	assert_non_null(p);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------ HTTP/1.1 */

struct http_request {
	char *method, *path, *query;
	char *name[MAX_HEADERS], *value[MAX_HEADERS];
	size_t n;
	const char *body; /* points into the file text */
	size_t body_len;
};

/* Parse a raw CRLF request: request line, headers in wire order, a blank
 * line, then the body. */
static void parse_http(const char *text, size_t len, struct http_request *r)
{
	const char *p = text, *end = text + len;
	const char *eol = strstr(p, "\r\n");

	memset(r, 0, sizeof(*r));
	assert_non_null(eol);
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
	assert_non_null(sp1);
	const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	assert_non_null(sp2);
	r->method = dup_range(p, (size_t)(sp1 - p));
	const char *q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	r->path = dup_range(sp1 + 1, (size_t)((q ? q : sp2) - sp1 - 1));
	r->query = q ? dup_range(q + 1, (size_t)(sp2 - q - 1)) : NULL;

	for (p = eol + 2; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		assert_non_null(eol);
		if (eol == p) {
			p = eol + 2;
			break;
		}
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		assert_non_null(colon);
		assert_true(r->n < MAX_HEADERS);
		const char *v = colon + 1;
		while (v < eol && *v == ' ')
			v++;
		r->name[r->n] = dup_range(p, (size_t)(colon - p));
		r->value[r->n] = dup_range(v, (size_t)(eol - v));
		r->n++;
	}
	r->body = p;
	r->body_len = (size_t)(end - p);
}

static void free_http(struct http_request *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->n; i++) {
		free(r->name[i]);
		free(r->value[i]);
	}
}

static const char *header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcasecmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

/* The text between key and the next ',' (or the end) of an Authorization
 * value; caller frees. */
static char *authz_field(const char *authz, const char *key)
{
	const char *p = strstr(authz, key);

	assert_non_null(p);
	p += strlen(key);
	return dup_range(p, strcspn(p, ","));
}

static time_t parse_amz_date(const char *s)
{
	struct tm tm = {0};

	assert_int_equal(sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
	                 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* ------------------------------------------------------------ the check */

static void resign_capture(void **state)
{
	const struct capture *c = *state;
	struct http_request r;
	struct es_sigv4_header hdrs[MAX_HEADERS];
	struct es_sigv4_result res;
	size_t len = 0, nh = 0;
	char *text = tu_read_file(c->path, &len);
	char scope_date[16], region[32], service[64];

	assert_non_null(text);
	parse_http(text, len, &r);
	const char *authz = header(&r, "Authorization");
	const char *amz_date = header(&r, "X-Amz-Date");
	assert_non_null(authz);
	assert_non_null(amz_date);
	assert_non_null(header(&r, "Host"));

	/* Credential=AKID/<date>/<region>/<service>/aws4_request */
	char *cred = authz_field(authz, "Credential=");
	assert_int_equal(sscanf(cred, AKID "/%15[^/]/%31[^/]/%63[^/]/aws4_request", scope_date,
	                        region, service),
	                 3);
	char *signed_list = authz_field(authz, "SignedHeaders=");
	char *want_sig = authz_field(authz, "Signature=");
	bool s3 = strcmp(service, "s3") == 0;
	const char *content_sha = header(&r, "X-Amz-Content-SHA256");

	/* Sign exactly the headers the CLI signed, with the file's values; the
	 * signer adds x-amz-date itself, and for S3 x-amz-content-sha256. */
	for (const char *p = signed_list; *p;) {
		size_t n = strcspn(p, ";");
		char *name = dup_range(p, n);
		bool ours = strcmp(name, "x-amz-date") == 0 ||
		            (s3 && strcmp(name, "x-amz-content-sha256") == 0);
		size_t hits = 0;
		for (size_t i = 0; i < r.n; i++) {
			if (strcasecmp(r.name[i], name) != 0)
				continue;
			hits++;
			if (!ours) {
				assert_true(nh < MAX_HEADERS);
				hdrs[nh++] = (struct es_sigv4_header){r.name[i], r.value[i]};
			}
		}
		if (hits == 0)
			fail_msg("%s: signed header %s is not in the request", c->label, name);
		free(name);
		p += n + (p[n] ? 1 : 0);
	}
	if (s3)
		assert_non_null(content_sha);

	struct es_sigv4_request req = {
	        .method = r.method,
	        .path = r.path,
	        .query = r.query,
	        .headers = hdrs,
	        .n_headers = nh,
	        .body = r.body,
	        .body_len = r.body_len,
	        .payload_hash = s3 ? content_sha : NULL,
	};
	struct es_sigv4_params p = {
	        .access_key_id = AKID,
	        .secret_access_key = SECRET,
	        .region = region,
	        .service = service,
	        .when = parse_amz_date(amz_date),
	        .normalize_path = !s3,
	        .add_content_sha256 = s3,
	};
	assert_int_equal(es_sigv4_sign(&req, &p, &res), ES_OK);
	assert_string_equal(res.amz_date, amz_date);
	assert_string_equal(res.signed_headers, signed_list);
	char *got_sig = authz_field(res.authorization, "Signature=");
	assert_string_equal(got_sig, want_sig);
	free(got_sig);
	/* Same separators and order as botocore, so the whole header matches. */
	assert_string_equal(res.authorization, authz);
	if (s3) {
		char body_sha[65];
		es_sha256_hex(r.body, r.body_len, body_sha);
		assert_string_equal(content_sha, body_sha);
	}

	es_sigv4_result_free(&res);
	free(cred);
	free(signed_list);
	free(want_sig);
	free_http(&r);
	free(text);
	n_checked++;
}

/* ------------------------------------------------------------ discovery */

static int capture_cmp(const void *a, const void *b)
{
	return strcmp(((const struct capture *)a)->label, ((const struct capture *)b)->label);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every <client>/<name>.http under the captures folder. */
static void find_captures(const char *root)
{
	DIR *d = opendir(root), *sub;
	struct dirent *e, *f;
	size_t cap = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *dir = join_path(root, e->d_name);
		if (!dir || !(sub = opendir(dir))) {
			free(dir);
			continue;
		}
		while ((f = readdir(sub))) {
			if (!ends_with(f->d_name, ".http"))
				continue;
			if (n_captures == cap) {
				cap = cap ? cap * 2 : 32;
				struct capture *v = realloc(captures, cap * sizeof(*v));
				if (!v)
					break;
				captures = v;
			}
			struct capture *c = &captures[n_captures];
			c->path = join_path(dir, f->d_name);
			c->label = join_path(e->d_name, f->d_name);
			if (!c->path || !c->label) {
				free(c->path);
				free(c->label);
				break;
			}
			c->label[strlen(c->label) - 5] = '\0'; /* drop ".http" */
			n_captures++;
		}
		closedir(sub);
		free(dir);
	}
	closedir(d);
	if (n_captures > 1)
		qsort(captures, n_captures, sizeof(*captures), capture_cmp);
}

/* A missing or short data folder fails: a wrong ES_TESTDATA must not pass. */
static void test_captures_present(void **state)
{
	(void)state;
	if (!tu_testdata_dir())
		fail_msg("ES_TESTDATA is not set: the awscli captures were not checked");
	if (n_captures < EXPECTED_CAPTURES)
		fail_msg("found %zu .http captures under %s/awscli-captures, expected %d",
		         n_captures, tu_testdata_dir(), EXPECTED_CAPTURES);
}

int main(void)
{
	const char *td = tu_testdata_dir();
	struct CMUnitTest *tests;
	int failed;

	if (td) {
		char *root = join_path(td, "awscli-captures");
		if (root)
			find_captures(root);
		free(root);
	}
	tests = calloc(n_captures + 1, sizeof(*tests));
	if (!tests)
		return 1;
	tests[0] =
	        (struct CMUnitTest){.name = "captures present", .test_func = test_captures_present};
	for (size_t i = 0; i < n_captures; i++)
		tests[i + 1] = (struct CMUnitTest){.name = captures[i].label,
		                                   .test_func = resign_capture,
		                                   .initial_state = &captures[i]};
	failed = _cmocka_run_group_tests("captures", tests, n_captures + 1, NULL, NULL);
	printf("# awscli captures re-signed: %zu of %zu\n", n_checked, n_captures);

	for (size_t i = 0; i < n_captures; i++) {
		free(captures[i].path);
		free(captures[i].label);
	}
	free(captures);
	free(tests);
	es_sigv4_cache_clear();
	return failed ? 1 : 0;
}
