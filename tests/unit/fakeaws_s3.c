/* The fake's in-memory S3: objects with MD5 ETags, conditional writes and
 * deletes (If-None-Match / If-Match), and paged ListObjectsV2. */
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
#include "base/text.h"
#include "fakeaws_int.h"

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
	b[f->n_buckets++] = fk_strdup(bucket);
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
		o[i].bucket = fk_strdup(bucket);
		o[i].key = fk_strdup(key);
	}
	o = &f->objects[i];
	free(o->data);
	o->data = fk_calloc(len + 1, 1);
	if (len)
		memcpy(o->data, data, len);
	o->len = len;
	md5_hex(data, len, hex, NULL);
	snprintf(o->etag, sizeof(o->etag), "\"%s\"", hex);
	snprintf(o->content_type, sizeof(o->content_type), "%s",
	         content_type ? content_type : "binary/octet-stream");
	o->modified = fk_now(f);
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
	char *t = fk_calloc(2 * n + 4, 1);

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
	k = fk_calloc((n - 3) / 2 + 1, 1);
	for (size_t i = 0; i < (n - 3) / 2; i++) {
		int hi = es_hex_digit(t[3 + 2 * i]), lo = es_hex_digit(t[4 + 2 * i]);
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
			fk_error_body(q, a, 400, "InvalidArgument",
			              "The continuation token provided is incorrect");
			return;
		}
	} else if (start) {
		after = fk_strdup(start);
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
		fk_iso8601(o->modified, when);
		es_buf_puts(&items, "<Contents><Key>");
		fk_xml_escape(&items, o->key);
		es_buf_printf(&items, "</Key><LastModified>%s</LastModified><ETag>", when);
		fk_xml_escape(&items, o->etag);
		es_buf_printf(&items,
		              "</ETag><Size>%zu</Size><StorageClass>STANDARD</StorageClass>"
		              "</Contents>",
		              o->len);
		last = o->key;
		count++;
	}
	a->status = 200;
	fk_answer_header(a, "Content-Type", "application/xml");
	es_buf_puts(&a->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
	                      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>");
	fk_xml_escape(&a->body, bucket);
	es_buf_puts(&a->body, "</Name><Prefix>");
	fk_xml_escape(&a->body, prefix ? prefix : "");
	es_buf_puts(&a->body, "</Prefix>");
	if (token) {
		es_buf_puts(&a->body, "<ContinuationToken>");
		fk_xml_escape(&a->body, token);
		es_buf_puts(&a->body, "</ContinuationToken>");
	}
	if (start) {
		es_buf_puts(&a->body, "<StartAfter>");
		fk_xml_escape(&a->body, start);
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
void fk_s3_handle(struct fake_aws *f, const struct fake_request *q, struct answer *a, bool *applied)
{
	char *bucket, *key;
	const struct s3_object *o;
	bool head = strcmp(q->method, "HEAD") == 0;
	char when[40];

	fk_s3_split(q->path, &bucket, &key);
	if (!key && strcmp(q->method, "PUT") == 0) {
		fake_s3_bucket(f, bucket);
		a->status = 200;
		*applied = true;
		goto out;
	}
	if (!bucket_exists(f, bucket)) {
		fk_error_body(q, a, 404, "NoSuchBucket", "The specified bucket does not exist");
		goto out;
	}
	if (!key) {
		if (head)
			a->status = 200;
		else if (strcmp(q->method, "GET") == 0 && fake_req_param(q, "list-type"))
			s3_list(f, q, bucket, a);
		else
			fk_error_body(q, a, 501, "NotImplemented",
			              "The fake S3 does not implement this bucket operation");
		goto out;
	}
	o = obj_get(f, bucket, key);
	if (strcmp(q->method, "PUT") == 0) {
		const char *inm = fake_req_header(q, "If-None-Match");
		const char *im = fake_req_header(q, "If-Match");
		const char *md5 = fake_req_header(q, "Content-MD5");
		if (md5 && !md5_matches(md5, q->body, q->body_len)) {
			fk_error_body(
			        q, a, 400, "BadDigest",
			        "The Content-MD5 you specified did not match what we received.");
			goto out;
		}
		if (inm && strcmp(inm, "*") == 0 && o) {
			fk_error_body(
			        q, a, 412, "PreconditionFailed",
			        "At least one of the pre-conditions you specified did not hold");
			goto out;
		}
		if (im && !o) {
			fk_error_body(q, a, 404, "NoSuchKey", "The specified key does not exist.");
			goto out;
		}
		if (im && strcmp(im, "*") != 0 && strcmp(im, o->etag) != 0) {
			fk_error_body(
			        q, a, 412, "PreconditionFailed",
			        "At least one of the pre-conditions you specified did not hold");
			goto out;
		}
		o = obj_put(f, bucket, key, q->body, q->body_len,
		            fake_req_header(q, "Content-Type"));
		*applied = true;
		a->status = 200;
		fk_answer_header(a, "ETag", o->etag);
		goto out;
	}
	if (strcmp(q->method, "DELETE") == 0) {
		const char *im = fake_req_header(q, "If-Match");
		if (im && !o) {
			fk_error_body(q, a, 404, "NoSuchKey", "The specified key does not exist.");
			goto out;
		}
		if (im && strcmp(im, "*") != 0 && strcmp(im, o->etag) != 0) {
			fk_error_body(
			        q, a, 412, "PreconditionFailed",
			        "At least one of the pre-conditions you specified did not hold");
			goto out;
		}
		obj_delete(f, bucket, key);
		*applied = true;
		a->status = 204;
		goto out;
	}
	if (strcmp(q->method, "GET") != 0 && !head) {
		fk_error_body(q, a, 405, "MethodNotAllowed",
		              "The specified method is not allowed against this resource.");
		goto out;
	}
	if (!o) {
		fk_error_body(q, a, 404, "NoSuchKey", "The specified key does not exist.");
		goto out;
	}
	a->status = 200;
	fk_answer_header(a, "ETag", o->etag);
	fk_answer_header(a, "Content-Type", o->content_type);
	fk_http_date(o->modified, when);
	fk_answer_header(a, "Last-Modified", when);
	if (head) {
		char len[32];
		snprintf(len, sizeof(len), "%zu", o->len);
		fk_answer_header(a, "Content-Length", len);
	} else {
		es_buf_append(&a->body, o->data, o->len);
	}
out:
	free(bucket);
	free(key);
}
