/* Fuzz target: SigV4 canonicalisation and signing. The input is a raw HTTP
 * request as in the SigV4 test suite ("METHOD TARGET HTTP/1.1", header
 * lines, indented continuation lines, an empty line, the body); it is signed
 * as a regular service, as S3 and as a presigned URL, with a fixed key and
 * time. Besides not crashing, the canonical forms must hold their shape. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 64

struct request {
	char *method, *path, *query;
	struct es_sigv4_header h[MAX_HEADERS];
	size_t n;
	const char *body;
	size_t body_len;
};

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Parse as the unit test reads the suite's .req files; false when the text
 * is not a request at all. CRLF or LF, NULs end strings where they fall. */
static bool parse(const char *text, size_t len, struct request *r)
{
	const char *p = text, *end = text + len;
	bool first = true;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		if (n && p[n - 1] == '\r')
			n--;
		if (first) {
			/* METHOD SP target [SP version]; the target may hold spaces. */
			const char *sp1 = memchr(p, ' ', n), *sp2 = p + n;
			if (!sp1 || sp1 == p)
				return false;
			while (sp2 > sp1 + 1 && sp2[-1] != ' ')
				sp2--;
			if (sp2 == sp1 + 1)
				sp2 = p + n + 1; /* no version */
			const char *target = sp1 + 1;
			size_t tlen = (size_t)(sp2 - 1 - target);
			const char *q = memchr(target, '?', tlen);
			r->method = dup_range(p, (size_t)(sp1 - p));
			r->path = dup_range(target, q ? (size_t)(q - target) : tlen);
			r->query = q ? dup_range(q + 1, tlen - (size_t)(q - target) - 1) : NULL;
			first = false;
		} else if (n == 0) {
			p = next;
			break;
		} else if ((*p == ' ' || *p == '\t') && r->n) {
			/* obs-fold: keep the line break, the signer decides */
			char *old = (char *)r->h[r->n - 1].value;
			size_t ol = strlen(old);
			char *v = malloc(ol + n + 2);
			if (!v)
				abort();
			memcpy(v, old, ol);
			v[ol] = '\n';
			memcpy(v + ol + 1, p, n);
			v[ol + 1 + n] = '\0';
			free(old);
			r->h[r->n - 1].value = v;
		} else {
			const char *colon = memchr(p, ':', n);
			size_t nlen = colon ? (size_t)(colon - p) : n;
			/* The signer adds X-Amz-Date itself. */
			if (r->n < MAX_HEADERS &&
			    !(nlen == 10 && !strncasecmp(p, "x-amz-date", 10))) {
				r->h[r->n].name = dup_range(p, nlen);
				r->h[r->n].value = colon ? dup_range(colon + 1, n - nlen - 1)
				                         : dup_range("", 0);
				r->n++;
			}
		}
		p = next;
	}
	r->body = p < end ? p : NULL;
	r->body_len = p < end ? (size_t)(end - p) : 0;
	return !first;
}

static void release(struct request *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->n; i++) {
		free((char *)r->h[i].name);
		free((char *)r->h[i].value);
	}
}

static void fail(const char *what, const char *text)
{
	fprintf(stderr, "sigv4: %s\n---\n%s\n---\n", what, text ? text : "(null)");
	abort();
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static bool upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Unreserved characters and %XX only, plus those in extra. */
static bool encoded(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n + 0 || !upper_hex(s[i + 1]) || !upper_hex(s[i + 2]))
				return false;
			i += 2;
		} else if (!unreserved((unsigned char)s[i]) && !strchr(extra, s[i])) {
			return false;
		}
	}
	return true;
}

/* Line i (0-based) of the canonical request. */
static const char *line(const char *s, int i, size_t *len)
{
	while (i-- > 0) {
		s = strchr(s, '\n');
		if (!s)
			return NULL;
		s++;
	}
	*len = strcspn(s, "\n");
	return s;
}

/* Compare a and b (of lengths an and bn) as strcmp would. */
static int compare(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* The canonical query: name=value pairs sorted by name, then value, each
 * encoded. */
static void check_query(const char *q, size_t n, const char *creq)
{
	const char *prev = NULL, *prev_eq = NULL;
	size_t prev_len = 0;

	for (const char *p = q; p < q + n;) {
		size_t len = strcspn(p, "&\n");
		if (len > (size_t)(q + n - p))
			len = (size_t)(q + n - p);
		const char *eq = memchr(p, '=', len);
		if (!eq || !encoded(p, (size_t)(eq - p), "") ||
		    !encoded(eq + 1, len - (size_t)(eq - p) - 1, ""))
			fail("canonical query pair is not name=value, encoded", creq);
		if (prev) {
			int c = compare(prev, (size_t)(prev_eq - prev), p, (size_t)(eq - p));
			if (c > 0 ||
			    (c == 0 && compare(prev_eq + 1, prev_len - (size_t)(prev_eq - prev) - 1,
			                       eq + 1, len - (size_t)(eq - p) - 1) > 0))
				fail("canonical query is not sorted", creq);
		}
		prev = p;
		prev_eq = eq;
		prev_len = len;
		p += len + 1;
	}
}

/* The normalised, double-encoded URI: absolute, encoded, no dot segments. */
static void check_uri(const char *u, size_t n, const char *creq)
{
	if (!n || u[0] != '/' || !encoded(u, n, "/"))
		fail("canonical URI is not an encoded absolute path", creq);
	for (size_t i = 0; i < n; i++) {
		if (u[i] != '/')
			continue;
		const char *s = u + i + 1;
		size_t sl = strcspn(s, "/\n");
		if (s + sl > u + n)
			sl = (size_t)(u + n - s);
		if ((i + 1 < n && sl == 0) || (sl == 1 && s[0] == '.') ||
		    (sl == 2 && s[0] == '.' && s[1] == '.'))
			fail("canonical URI keeps an empty or dot segment", creq);
	}
}

static void check_result(const struct es_sigv4_result *out, bool normalized)
{
	const char *creq = out->canonical_request, *a = out->authorization;
	const char *s;
	size_t n;

	if (!creq || !out->string_to_sign || !out->signed_headers)
		fail("a part of the result is missing", creq);
	if (normalized && (s = line(creq, 1, &n)))
		check_uri(s, n, creq);
	if ((s = line(creq, 2, &n)))
		check_query(s, n, creq);
	if (a) {
		const char *sh = strstr(a, "SignedHeaders="), *sig = strstr(a, "Signature=");
		if (strncmp(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) != 0 || !sh ||
		    !sig || strlen(sig + 10) != 64 || strspn(sig + 10, "0123456789abcdef") != 64)
			fail("Authorization is malformed", a);
		if (strncmp(sh + 14, out->signed_headers, strlen(out->signed_headers)) != 0)
			fail("Authorization names other signed headers", a);
	}
	if (!strstr(out->signed_headers, "host"))
		fail("host is not signed", out->signed_headers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r;
	struct es_sigv4_params p = {
	        .access_key_id = "AKIDEXAMPLE",
	        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	        .region = "us-east-1",
	        .service = "service",
	        .when = 1440938160, /* 20150830T123600Z, the suite's */
	        .normalize_path = true,
	};
	struct es_sigv4_result out, again;
	char *query = NULL, *enc;

	if (!parse((const char *)data, size, &r))
		return 0;
	struct es_sigv4_request req = {
	        .method = r.method,
	        .path = r.path,
	        .query = r.query,
	        .headers = r.h,
	        .n_headers = r.n,
	        .body = r.body,
	        .body_len = r.body_len,
	};

	/* A regular service: normalised, double-encoded path; signed twice, the
	 * second time with the cached key, which must give the same. */
	if (es_sigv4_sign(&req, &p, &out) == ES_OK) {
		check_result(&out, true);
		if (es_sigv4_sign(&req, &p, &again) != ES_OK ||
		    strcmp(out.authorization, again.authorization) != 0)
			fail("signing twice differs", out.canonical_request);
		es_sigv4_result_free(&again);
		es_sigv4_result_free(&out);
	}

	/* S3: the path as sent, a content hash header, a session token. */
	p.service = "s3";
	p.normalize_path = false;
	p.add_content_sha256 = true;
	p.session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
	if (es_sigv4_sign(&req, &p, &out) == ES_OK) {
		check_result(&out, false);
		es_sigv4_result_free(&out);
	}

	/* A presigned URL: everything in the query. */
	p.add_content_sha256 = false;
	p.sign_all_headers = true;
	req.payload_hash = "UNSIGNED-PAYLOAD";
	if (es_sigv4_presign(&req, &p, 3600, &query, &out) == ES_OK) {
		check_result(&out, false);
		const char *sig = strstr(query, "&X-Amz-Signature=");
		if (!sig || strlen(sig + 17) != 64)
			fail("presigned query does not end in the signature", query);
		free(query);
		es_sigv4_result_free(&out);
	}

	/* The encoder on its own, over the raw path. */
	enc = es_uri_encode(r.path, strlen(r.path), true);
	if (!enc || !encoded(enc, strlen(enc), "/"))
		fail("es_uri_encode leaves a character unencoded", enc);
	free(enc);
	release(&r);
	return 0;
}
