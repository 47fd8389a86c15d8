/* AWS Signature Version 4: turns a request into its canonical form, derives
 * (and caches) the signing key, and signs with HMAC-SHA256, either into an
 * Authorization header or into a presigned query. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/buf.h"
#include "base/text.h"
#include "base/error.h"
#include "sigv4.h"

#define ALGORITHM           "AWS4-HMAC-SHA256"
#define MAX_PRESIGN_SECONDS 604800L /* seven days, SigV4's limit */

/* Headers that libcurl, a proxy or a CDN may add, drop or rewrite after we
 * sign: signing them would make a correct request fail verification. */
static const char *const transport_headers[] = {
        "user-agent",      "expect",     "content-length",
        "accept-encoding", "connection", "transfer-encoding",
};

/* ------------------------------------------------------------ hashing */

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void es_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	/* Only a broken OpenSSL fails here; an empty string cannot match any
	 * expected hash, so the failure still shows. */
	if (!EVP_Digest(data ? data : "", len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
		hex[0] = '\0';
	else
		to_hex(md, 32, hex);
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32])
{
	unsigned int out_len = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) || out_len != 32)
		return es_fail(ES_ERR, "HMAC-SHA256 failed in OpenSSL");
	return ES_OK;
}

/* ------------------------------------------------------------ signing-key cache */

/* The key only changes with the day, so one derivation (four HMACs) serves
 * every request of that day. Entries are found by a SHA-256 of the secret:
 * the secret itself is never kept. One per thread. */
#define KEY_CACHE_SLOTS 8

struct key_slot {
	bool used;
	unsigned char secret_hash[32];
	char date[9];
	char region[32];
	char service[64];
	unsigned char key[32];
};

/* Per thread: a background job signs with its own cache. */
static _Thread_local struct key_slot key_cache[KEY_CACHE_SLOTS];
static _Thread_local size_t key_cache_next;

void es_sigv4_cache_clear(void)
{
	OPENSSL_cleanse(key_cache, sizeof(key_cache));
	key_cache_next = 0;
}

static int derive_key(const char *secret, const char *date, const char *region, const char *service,
                      unsigned char key[32])
{
	size_t secret_len = strlen(secret);
	unsigned char *k_secret = malloc(secret_len + 4);
	unsigned char k[32];
	int rc;

	if (!k_secret)
		return es_fail(ES_ENOMEM, "out of memory");
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, secret, secret_len);
	rc = hmac_sha256(k_secret, secret_len + 4, date, strlen(date), k);
	if (!rc)
		rc = hmac_sha256(k, 32, region, strlen(region), k);
	if (!rc)
		rc = hmac_sha256(k, 32, service, strlen(service), k);
	if (!rc)
		rc = hmac_sha256(k, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(k_secret, secret_len + 4);
	OPENSSL_cleanse(k, sizeof(k));
	free(k_secret);
	return rc;
}

int es_sigv4_signing_key(const char *secret, const char *date, const char *region,
                         const char *service, unsigned char key[32])
{
	unsigned char secret_hash[32];
	unsigned int hash_len = 0;
	struct key_slot *slot;
	int rc;

	if (!secret || !*secret || !date || strlen(date) != 8 || !region || !*region || !service ||
	    !*service)
		return es_fail(ES_EINVAL,
		               "signing key needs a secret, a date, a region and a service");
	if (!EVP_Digest(secret, strlen(secret), secret_hash, &hash_len, EVP_sha256(), NULL))
		return es_fail(ES_ERR, "SHA-256 failed in OpenSSL");

	for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
		slot = &key_cache[i];
		if (slot->used && CRYPTO_memcmp(slot->secret_hash, secret_hash, 32) == 0 &&
		    strcmp(slot->date, date) == 0 && strcmp(slot->region, region) == 0 &&
		    strcmp(slot->service, service) == 0) {
			memcpy(key, slot->key, 32);
			return ES_OK;
		}
	}

	rc = derive_key(secret, date, region, service, key);
	/* Names too long for a slot are legal but rare: just skip the cache. */
	if (rc || strlen(region) >= sizeof(slot->region) ||
	    strlen(service) >= sizeof(slot->service))
		return rc;
	slot = &key_cache[key_cache_next];
	key_cache_next = (key_cache_next + 1) % KEY_CACHE_SLOTS;
	slot->used = true;
	memcpy(slot->secret_hash, secret_hash, 32);
	memcpy(slot->date, date, 9);
	strcpy(slot->region, region);
	strcpy(slot->service, service);
	memcpy(slot->key, key, 32);
	return ES_OK;
}

/* ------------------------------------------------------------ URI encoding */

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int append_encoded(struct es_buf *b, const char *s, size_t len, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";

	if (es_buf_grow(b, len * 3))
		return ES_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = digits[c >> 4];
			b->data[b->len++] = digits[c & 15];
		}
	}
	b->data[b->len] = '\0';
	return ES_OK;
}

char *es_uri_encode(const char *s, size_t len, bool keep_slash)
{
	struct es_buf b = ES_BUF_INIT;

	if (!s || append_encoded(&b, s, len, keep_slash)) {
		es_buf_free(&b);
		return NULL;
	}
	return es_buf_steal(&b);
}

/* Percent-decode s[0..len) into b. A '%' without two hex digits stays as it
 * is, and '+' stays '+': SigV4 does not read '+' as a space. */
static int append_decoded(struct es_buf *b, const char *s, size_t len)
{
	if (es_buf_grow(b, len))
		return ES_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = es_hex_digit(s[i + 1])) >= 0 &&
		    (lo = es_hex_digit(s[i + 2])) >= 0) {
			b->data[b->len++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			b->data[b->len++] = s[i];
		}
	}
	b->data[b->len] = '\0';
	return ES_OK;
}

/* ------------------------------------------------------------ canonical URI */

struct segment {
	const char *s;
	size_t len;
};

/* RFC 3986 remove_dot_segments plus "//" collapsing, as SigV4 wants for
 * every service but S3 (where "a//b" and "a/./b" are distinct keys). */
static int normalize_path(const char *path, struct es_buf *out)
{
	size_t len = strlen(path), n = 0;
	struct segment *seg = calloc(len / 2 + 2, sizeof(*seg));
	bool trailing_slash = false;
	const char *p = path, *end = path + len;
	int rc = ES_OK;

	if (!seg)
		return es_fail(ES_ENOMEM, "out of memory");
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t sl = slash ? (size_t)(slash - p) : (size_t)(end - p);
		/* A path ending in "/", "/." or "/.." names a directory: keep the
		 * final slash RFC 3986 keeps. */
		trailing_slash = slash != NULL || (sl == 1 && p[0] == '.') ||
		                 (sl == 2 && p[0] == '.' && p[1] == '.');
		if (sl == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0)
				n--;
		} else if (sl > 0 && !(sl == 1 && p[0] == '.')) {
			seg[n].s = p;
			seg[n].len = sl;
			n++;
		}
		p += sl + (slash ? 1 : 0);
	}
	if (es_buf_putc(out, '/'))
		rc = ES_ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		if (es_buf_append(out, seg[i].s, seg[i].len) ||
		    ((i + 1 < n || trailing_slash) && es_buf_putc(out, '/')))
			rc = ES_ENOMEM;
	}
	free(seg);
	return rc;
}

/* The path arrives encoded as it goes on the wire. S3 signs it as it is;
 * every other service signs it URI-encoded once more (the "double
 * encoding" of the SigV4 documentation: "a%20b" is signed as "a%2520b"). */
static int canonical_uri(const char *path, bool normalize, struct es_buf *out)
{
	struct es_buf norm = ES_BUF_INIT;
	int rc;

	if (!path || !*path)
		path = "/";
	if (!normalize)
		return es_buf_puts(out, path);
	rc = normalize_path(path, &norm);
	if (!rc)
		rc = append_encoded(out, norm.data, norm.len, true);
	es_buf_free(&norm);
	return rc;
}

/* ------------------------------------------------------------ canonical query */

struct qparam {
	char *key; /* encoded */
	char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

static char *reencode(const char *s, size_t len)
{
	struct es_buf raw = ES_BUF_INIT;
	char *enc = NULL;

	if (!append_decoded(&raw, s, len))
		enc = es_uri_encode(es_buf_str(&raw), raw.len, false);
	es_buf_free(&raw);
	return enc;
}

struct qlist {
	struct qparam *v;
	size_t n, cap;
};

static int qlist_add(struct qlist *q, char *key, char *value)
{
	if (!key || !value)
		goto nomem;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct qparam *v = realloc(q->v, cap * sizeof(*v));
		if (!v)
			goto nomem;
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n].key = key;
	q->v[q->n].value = value;
	q->n++;
	return ES_OK;
nomem:
	free(key);
	free(value);
	return es_fail(ES_ENOMEM, "out of memory");
}

/* Add an already-decoded parameter (the signer's own X-Amz-* values). */
static int qlist_add_plain(struct qlist *q, const char *key, const char *value)
{
	return qlist_add(q, es_uri_encode(key, strlen(key), false),
	                 es_uri_encode(value, strlen(value), false));
}

/* Split a raw query on '&'; each name and value is decoded and re-encoded so
 * that "%7e", "~" and "%7E" all sign alike. */
static int qlist_parse(struct qlist *q, const char *query)
{
	const char *p = query;

	while (p && *p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		if (len > 0) {
			int rc = qlist_add(q, reencode(p, klen),
			                   eq ? reencode(eq + 1, len - klen - 1) : strdup(""));
			if (rc)
				return rc;
		}
		p += len + (p[len] ? 1 : 0);
	}
	return ES_OK;
}

static void qlist_free(struct qlist *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].key);
		free(q->v[i].value);
	}
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

static int qlist_write(struct qlist *q, struct es_buf *out)
{
	if (q->n > 1)
		qsort(q->v, q->n, sizeof(*q->v), qparam_cmp);
	for (size_t i = 0; i < q->n; i++) {
		if ((i && es_buf_putc(out, '&')) || es_buf_puts(out, q->v[i].key) ||
		    es_buf_putc(out, '=') || es_buf_puts(out, q->v[i].value))
			return ES_ENOMEM;
	}
	return ES_OK;
}

/* ------------------------------------------------------------ canonical headers */

struct shdr {
	char *name; /* lower-cased, owned */
	const char *value;
	size_t order; /* position in the request: keeps duplicates in order */
};

struct hlist {
	struct shdr *v;
	size_t n, cap;
};

static int hlist_add(struct hlist *h, const char *name, size_t name_len, const char *value)
{
	char *lower;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct shdr *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return es_fail(ES_ENOMEM, "out of memory");
		h->v = v;
		h->cap = cap;
	}
	lower = malloc(name_len + 1);
	if (!lower)
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < name_len; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[name_len] = '\0';
	h->v[h->n].name = lower;
	h->v[h->n].value = value ? value : "";
	h->v[h->n].order = h->n;
	h->n++;
	return ES_OK;
}

static void hlist_free(struct hlist *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].name);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static int shdr_cmp(const void *a, const void *b)
{
	const struct shdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim the value and fold every internal run of whitespace to one space.
 * Because CR and LF count as whitespace here, an obs-folded value
 * ("value1\n  value2") signs as "value1 value2": RFC 7230 says a folded line
 * means one space, and that is what aws-c-auth and AWS's newer vectors do.
 * (The 2015 suite joined folded lines with ','; we do not.) */
static int append_header_value(struct es_buf *b, const char *v)
{
	const char *end;

	while (is_space(*v))
		v++;
	end = v + strlen(v);
	while (end > v && is_space(end[-1]))
		end--;
	while (v < end) {
		if (is_space(*v)) {
			if (es_buf_putc(b, ' '))
				return ES_ENOMEM;
			while (is_space(*v))
				v++;
			continue;
		}
		if (es_buf_putc(b, *v++))
			return ES_ENOMEM;
	}
	return ES_OK;
}

static bool is_transport_header(const char *lower)
{
	for (size_t i = 0; i < sizeof(transport_headers) / sizeof(*transport_headers); i++)
		if (strcmp(lower, transport_headers[i]) == 0)
			return true;
	return false;
}

/* Sort by name, keep the request order among equal names, and join their
 * values with ',' as SigV4 does for repeated headers. */
static int write_headers(struct hlist *h, struct es_buf *canon, struct es_buf *names)
{
	if (h->n > 1)
		qsort(h->v, h->n, sizeof(*h->v), shdr_cmp);
	for (size_t i = 0; i < h->n; i++) {
		bool same = i > 0 && strcmp(h->v[i].name, h->v[i - 1].name) == 0;
		if (same) {
			if (es_buf_putc(canon, ','))
				return ES_ENOMEM;
		} else {
			if ((i && es_buf_putc(canon, '\n')) || es_buf_puts(canon, h->v[i].name) ||
			    es_buf_putc(canon, ':'))
				return ES_ENOMEM;
			if ((names->len && es_buf_putc(names, ';')) ||
			    es_buf_puts(names, h->v[i].name))
				return ES_ENOMEM;
		}
		if (append_header_value(canon, h->v[i].value))
			return ES_ENOMEM;
	}
	return h->n ? es_buf_putc(canon, '\n') : ES_OK;
}

/* ------------------------------------------------------------ signing */

/* What one signing needs beyond the request: the mode and the pieces of the
 * credential scope. */
struct signing {
	const struct es_sigv4_request *req;
	const struct es_sigv4_params *p;
	bool presign;
	long expires;
	bool sign_token; /* the session token is part of what is signed */
	char date[9];
	struct es_buf scope; /* 20150830/us-east-1/service/aws4_request */
};

static bool has_token(const struct es_sigv4_params *p)
{
	return p->session_token && *p->session_token;
}

/* Collect the headers to sign, refusing any the signer adds itself (they
 * would go on the wire twice). */
static int collect_headers(const struct signing *s, struct es_sigv4_result *out, struct hlist *h)
{
	const struct es_sigv4_request *req = s->req;
	const struct es_sigv4_params *p = s->p;
	bool host = false;
	int rc;

	for (size_t i = 0; i < req->n_headers; i++) {
		const char *name = req->headers[i].name;
		size_t len;
		if (!name)
			return es_fail(ES_EINVAL, "request header %zu has no name", i);
		len = strlen(name);
		while (len && is_space(name[len - 1]))
			len--;
		if (hlist_add(h, name, len, req->headers[i].value))
			return ES_ENOMEM;
		const char *lower = h->v[h->n - 1].name;
		bool drop = strcmp(lower, "authorization") == 0 ||
		            (!p->sign_all_headers && is_transport_header(lower));
		bool ours = strcmp(lower, "x-amz-date") == 0 ||
		            (has_token(p) && strcmp(lower, "x-amz-security-token") == 0) ||
		            (!s->presign && p->add_content_sha256 &&
		             strcmp(lower, "x-amz-content-sha256") == 0);
		if (ours)
			return es_fail(ES_EINVAL, "header %s is added by the signer", lower);
		if (strcmp(lower, "host") == 0)
			host = true;
		if (drop)
			free(h->v[--h->n].name);
	}
	if (!host)
		return es_fail(ES_EINVAL, "request to sign has no Host header");
	if (s->presign)
		return ES_OK;

	rc = hlist_add(h, "x-amz-date", 10, out->amz_date);
	if (!rc && s->sign_token)
		rc = hlist_add(h, "x-amz-security-token", 20, p->session_token);
	if (!rc && p->add_content_sha256)
		rc = hlist_add(h, "x-amz-content-sha256", 20, out->payload_hash);
	return rc;
}

/* The presigned-URL parameters that join the request's own query. */
static int add_presign_params(const struct signing *s, const char *amz_date,
                              const char *signed_headers, struct qlist *q)
{
	static const char *const ours[] = {"X-Amz-Algorithm",     "X-Amz-Credential",
	                                   "X-Amz-Date",          "X-Amz-Expires",
	                                   "X-Amz-SignedHeaders", "X-Amz-Signature"};
	char expires[24];
	struct es_buf cred = ES_BUF_INIT;
	int rc;

	/* As with headers: one the request already holds would go out twice,
	 * and the service would read the wrong one (an old signature). */
	for (size_t i = 0; i < q->n; i++) {
		bool dup = has_token(s->p) && strcmp(q->v[i].key, "X-Amz-Security-Token") == 0;
		for (size_t j = 0; j < sizeof(ours) / sizeof(*ours) && !dup; j++)
			dup = strcmp(q->v[i].key, ours[j]) == 0;
		if (dup)
			return es_fail(ES_EINVAL, "query parameter %s is added by the signer",
			               q->v[i].key);
	}
	snprintf(expires, sizeof(expires), "%ld", s->expires);
	if (es_buf_printf(&cred, "%s/%s", s->p->access_key_id, es_buf_str(&s->scope)))
		return ES_ENOMEM;
	rc = qlist_add_plain(q, "X-Amz-Algorithm", ALGORITHM);
	if (!rc)
		rc = qlist_add_plain(q, "X-Amz-Credential", es_buf_str(&cred));
	if (!rc)
		rc = qlist_add_plain(q, "X-Amz-Date", amz_date);
	if (!rc)
		rc = qlist_add_plain(q, "X-Amz-Expires", expires);
	if (!rc)
		rc = qlist_add_plain(q, "X-Amz-SignedHeaders", signed_headers);
	if (!rc && s->sign_token)
		rc = qlist_add_plain(q, "X-Amz-Security-Token", s->p->session_token);
	es_buf_free(&cred);
	return rc;
}

static int check_inputs(const struct es_sigv4_request *req, const struct es_sigv4_params *p)
{
	if (!req || !p || !req->method || !*req->method)
		return es_fail(ES_EINVAL, "request to sign has no method");
	if (!p->access_key_id || !*p->access_key_id || !p->secret_access_key ||
	    !*p->secret_access_key)
		return es_fail(ES_ECREDS, "no access key to sign the request with");
	if (!p->region || !*p->region || !p->service || !*p->service)
		return es_fail(ES_EINVAL, "signing needs a region and a service name");
	if (!req->body && req->body_len)
		return es_fail(ES_EINVAL, "request body is missing");
	if (req->n_headers && !req->headers)
		return es_fail(ES_EINVAL, "request headers are missing");
	return ES_OK;
}

static int set_times_and_payload(struct signing *s, struct es_sigv4_result *out)
{
	struct tm tm;
	const char *ph = s->req->payload_hash;

	if (!gmtime_r(&s->p->when, &tm) ||
	    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16)
		return es_fail(ES_EINVAL, "signing time is out of range");
	memcpy(s->date, out->amz_date, 8);
	s->date[8] = '\0';
	if (ph) {
		if (!*ph || strlen(ph) >= sizeof(out->payload_hash))
			return es_fail(ES_EINVAL, "payload hash is not a hash");
		strcpy(out->payload_hash, ph);
	} else {
		es_sha256_hex(s->req->body, s->req->body_len, out->payload_hash);
	}
	if (es_buf_printf(&s->scope, "%s/%s/%s/aws4_request", s->date, s->p->region, s->p->service))
		return ES_ENOMEM;
	return ES_OK;
}

/* Fill out->canonical_request, string_to_sign and signed_headers, and put
 * the hex signature in sig; for presigning, canon_query receives the signed
 * query without the signature. */
static int sign_common(struct signing *s, struct es_sigv4_result *out, char sig[65],
                       struct es_buf *canon_query)
{
	struct es_buf creq = ES_BUF_INIT, sts = ES_BUF_INIT;
	struct es_buf hdrs = ES_BUF_INIT, names = ES_BUF_INIT;
	struct hlist h = {0};
	struct qlist q = {0};
	unsigned char key[32], mac[32];
	char creq_hash[65];
	int rc;

	rc = set_times_and_payload(s, out);
	if (!rc)
		rc = collect_headers(s, out, &h);
	if (!rc)
		rc = write_headers(&h, &hdrs, &names);
	if (!rc)
		rc = qlist_parse(&q, s->req->query);
	if (!rc && s->presign)
		rc = add_presign_params(s, out->amz_date, es_buf_str(&names), &q);
	if (!rc)
		rc = qlist_write(&q, canon_query);
	if (rc)
		goto done;

	if (es_buf_puts(&creq, s->req->method) || es_buf_putc(&creq, '\n') ||
	    canonical_uri(s->req->path, s->p->normalize_path, &creq) || es_buf_putc(&creq, '\n') ||
	    es_buf_append(&creq, es_buf_str(canon_query), canon_query->len) ||
	    es_buf_putc(&creq, '\n') || es_buf_append(&creq, es_buf_str(&hdrs), hdrs.len) ||
	    es_buf_putc(&creq, '\n') || es_buf_append(&creq, es_buf_str(&names), names.len) ||
	    es_buf_putc(&creq, '\n') || es_buf_puts(&creq, out->payload_hash)) {
		rc = ES_ENOMEM;
		goto done;
	}
	es_sha256_hex(creq.data, creq.len, creq_hash);
	if (es_buf_printf(&sts, "%s\n%s\n%s\n%s", ALGORITHM, out->amz_date, es_buf_str(&s->scope),
	                  creq_hash)) {
		rc = ES_ENOMEM;
		goto done;
	}

	rc = es_sigv4_signing_key(s->p->secret_access_key, s->date, s->p->region, s->p->service,
	                          key);
	if (!rc)
		rc = hmac_sha256(key, sizeof(key), sts.data, sts.len, mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		goto done;
	to_hex(mac, sizeof(mac), sig);

	out->canonical_request = es_buf_steal(&creq);
	out->string_to_sign = es_buf_steal(&sts);
	out->signed_headers = es_buf_steal(&names);
	if (!out->canonical_request || !out->string_to_sign || !out->signed_headers)
		rc = es_fail(ES_ENOMEM, "out of memory");
done:
	hlist_free(&h);
	qlist_free(&q);
	es_buf_free(&creq);
	es_buf_free(&sts);
	es_buf_free(&hdrs);
	es_buf_free(&names);
	return rc;
}

int es_sigv4_sign(const struct es_sigv4_request *req, const struct es_sigv4_params *p,
                  struct es_sigv4_result *out)
{
	struct signing s = {.req = req, .p = p, .scope = ES_BUF_INIT};
	struct es_buf query = ES_BUF_INIT, authz = ES_BUF_INIT;
	char sig[65];
	int rc;

	if (!out)
		return es_fail(ES_EINVAL, "no place for the signature");
	memset(out, 0, sizeof(*out));
	rc = check_inputs(req, p);
	if (rc)
		return rc;
	s.sign_token = has_token(p) && !p->omit_session_token;

	rc = sign_common(&s, out, sig, &query);
	if (!rc &&
	    es_buf_printf(&authz, "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s", ALGORITHM,
	                  p->access_key_id, es_buf_str(&s.scope), out->signed_headers, sig))
		rc = ES_ENOMEM;
	if (!rc && !(out->authorization = es_buf_steal(&authz)))
		rc = es_fail(ES_ENOMEM, "out of memory");

	/* The caller sends these; the token goes out even when it is not
	 * signed, or the service could not find the credentials. */
	if (!rc) {
		out->extra[out->n_extra++] = (struct es_sigv4_header){"X-Amz-Date", out->amz_date};
		if (has_token(p)) {
			char *token = strdup(p->session_token);
			if (!token)
				rc = es_fail(ES_ENOMEM, "out of memory");
			else
				out->extra[out->n_extra++] =
				        (struct es_sigv4_header){"X-Amz-Security-Token", token};
		}
		if (p->add_content_sha256)
			out->extra[out->n_extra++] =
			        (struct es_sigv4_header){"x-amz-content-sha256", out->payload_hash};
	}
	es_buf_free(&s.scope);
	es_buf_free(&query);
	es_buf_free(&authz);
	OPENSSL_cleanse(sig, sizeof(sig));
	if (rc)
		es_sigv4_result_free(out);
	return rc;
}

int es_sigv4_presign(const struct es_sigv4_request *req, const struct es_sigv4_params *p,
                     long expires_seconds, char **query, struct es_sigv4_result *out)
{
	struct signing s = {.req = req, .p = p, .presign = true, .scope = ES_BUF_INIT};
	struct es_buf q = ES_BUF_INIT;
	char sig[65];
	int rc;

	if (!out || !query)
		return es_fail(ES_EINVAL, "no place for the presigned query");
	memset(out, 0, sizeof(*out));
	*query = NULL;
	rc = check_inputs(req, p);
	if (rc)
		return rc;
	if (expires_seconds < 1 || expires_seconds > MAX_PRESIGN_SECONDS)
		return es_fail(ES_EINVAL, "presigned URLs last 1 to %ld seconds, not %ld",
		               MAX_PRESIGN_SECONDS, expires_seconds);
	s.expires = expires_seconds;
	s.sign_token = has_token(p) && !p->omit_session_token;

	/* The payload is whatever the caller says (UNSIGNED-PAYLOAD for S3
	 * links) or the body's hash, and x-amz-content-sha256 is never added:
	 * nothing but the query travels with a presigned URL. */
	rc = sign_common(&s, out, sig, &q);
	if (!rc && has_token(p) && !s.sign_token) {
		/* Some services want the token outside the signature: append it
		 * after signing, as AWS's test suite does. */
		if (es_buf_puts(&q, "&X-Amz-Security-Token=") ||
		    append_encoded(&q, p->session_token, strlen(p->session_token), false))
			rc = ES_ENOMEM;
	}
	if (!rc && es_buf_printf(&q, "&X-Amz-Signature=%s", sig))
		rc = ES_ENOMEM;
	if (!rc && !(*query = es_buf_steal(&q)))
		rc = es_fail(ES_ENOMEM, "out of memory");
	es_buf_free(&s.scope);
	es_buf_free(&q);
	OPENSSL_cleanse(sig, sizeof(sig));
	if (rc)
		es_sigv4_result_free(out);
	return rc;
}

void es_sigv4_result_free(struct es_sigv4_result *r)
{
	if (!r)
		return;
	free(r->canonical_request);
	free(r->string_to_sign);
	free(r->signed_headers);
	free(r->authorization);
	/* Extra values point into the result itself, except the token copy. */
	for (size_t i = 0; i < r->n_extra && i < 3; i++)
		if (r->extra[i].value != r->amz_date && r->extra[i].value != r->payload_hash)
			free((void *)r->extra[i].value);
	memset(r, 0, sizeof(*r));
}
