/* Copying a release between stage buckets, object by object, by digest. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/s3.h"
#include "aws/s3_copy.h"
#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/error.h"
#include "release_copy.h"

struct copy {
	struct es_aws_client *from, *to;
	const char *from_bucket, *to_bucket;
	es_release_copy_log_fn log;
	void *ud;
	struct es_release_copy_result *out;
	char **keys; /* artifacts the template names */
	size_t n_keys;
	int rewritten;
};

static void say(struct copy *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct copy *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!c->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log(c->ud, line);
}

static int add_key(struct copy *c, const char *key)
{
	for (size_t i = 0; i < c->n_keys; i++)
		if (strcmp(c->keys[i], key) == 0)
			return ES_OK;
	char **k = realloc(c->keys, (c->n_keys + 1) * sizeof(*k));
	if (!k)
		return es_fail(ES_ENOMEM, "out of memory");
	c->keys = k;
	if (!(k[c->n_keys] = strdup(key)))
		return es_fail(ES_ENOMEM, "out of memory");
	c->n_keys++;
	return ES_OK;
}

/* A string naming an object of from_bucket ("s3://B/KEY" or an S3 https
 * URL with "/B/KEY"): the key is taken and the string made to name
 * to_bucket. */
static int take_uri(struct copy *c, json_t *str)
{
	const char *s = json_string_value(str);
	size_t bl = strlen(c->from_bucket);
	const char *key = NULL, *at = NULL;

	if (strncmp(s, "s3://", 5) == 0 && strncmp(s + 5, c->from_bucket, bl) == 0 &&
	    s[5 + bl] == '/') {
		at = s + 5;
		key = s + 5 + bl + 1;
	} else if (strncmp(s, "https://", 8) == 0) {
		const char *p = strchr(s + 8, '/');
		if (p && strncmp(p + 1, c->from_bucket, bl) == 0 && p[1 + bl] == '/') {
			at = p + 1;
			key = p + 1 + bl + 1;
		}
	}
	if (!key)
		return ES_OK;
	int rc = add_key(c, key);
	if (rc)
		return rc;
	struct es_buf b = ES_BUF_INIT;
	es_buf_append(&b, s, (size_t)(at - s));
	es_buf_puts(&b, c->to_bucket);
	es_buf_puts(&b, at + bl);
	rc = json_string_set(str, es_buf_str(&b)) ? es_fail(ES_ENOMEM, "out of memory") : ES_OK;
	es_buf_free(&b);
	c->rewritten++;
	return rc;
}

/* {"S3Bucket": B, "S3Key": K} and {"Bucket": B, "Key": K}. */
static int take_pair(struct copy *c, json_t *obj, const char *bk, const char *kk)
{
	json_t *b = json_object_get(obj, bk), *k = json_object_get(obj, kk);

	if (!json_is_string(b) || !json_is_string(k) ||
	    strcmp(json_string_value(b), c->from_bucket) != 0)
		return ES_OK;
	int rc = add_key(c, json_string_value(k));
	if (!rc && json_object_set_new(obj, bk, json_string(c->to_bucket)))
		rc = es_fail(ES_ENOMEM, "out of memory");
	c->rewritten++;
	return rc;
}

static int walk(struct copy *c, json_t *v)
{
	int rc = ES_OK;

	if (json_is_string(v))
		return take_uri(c, v);
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) if ((rc = walk(c, e))) return rc;
		return ES_OK;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *e;
		if ((rc = take_pair(c, v, "S3Bucket", "S3Key")) ||
		    (rc = take_pair(c, v, "Bucket", "Key")))
			return rc;
		json_object_foreach(v, k, e) if ((rc = walk(c, e))) return rc;
	}
	return ES_OK;
}

/* The SHA-256 a content-addressed key carries: ".../<64 hex>[.ext]". */
static bool key_digest(const char *key, char out[65])
{
	const char *base = strrchr(key, '/');

	base = base ? base + 1 : key;
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)base[i]))
			return false;
	if (base[64] && base[64] != '.')
		return false;
	memcpy(out, base, 64);
	out[64] = '\0';
	return true;
}

/* Read key back from the target and compare its SHA-256 with want. */
static int verify(struct copy *c, const char *key, const char *want, size_t *bytes)
{
	struct es_buf body = ES_BUF_INIT;
	char got[65];
	int rc = es_s3_get_object(c->to, c->to_bucket, key, &body);

	if (rc) {
		es_buf_free(&body);
		return es_fail_prefix("verifying s3://%s/%s", c->to_bucket, key);
	}
	es_sha256_hex(body.data, body.len, got);
	*bytes = body.len;
	es_buf_free(&body);
	if (strcmp(got, want) != 0)
		return es_fail(ES_ERR,
		               "s3://%s/%s has SHA-256 %.12s… after the copy, not %.12s…: the copy "
		               "is not the validated artifact; nothing was deployed",
		               c->to_bucket, key, got, want);
	return ES_OK;
}

static bool access_denied(int rc)
{
	const struct es_error *e = es_error_last();

	return rc == ES_EAWS && (strcmp(e->code, "AccessDenied") == 0 || e->http_status == 403);
}

/* One object: in the target already, else CopyObject, else GET and PUT. */
static int copy_one(struct copy *c, const char *key, const char *want, const char *ctype)
{
	struct es_s3_head head;
	const char *how;
	size_t bytes = 0;
	int rc = es_s3_head_object(c->to, c->to_bucket, key, &head);

	if (rc)
		return es_fail_prefix("checking s3://%s/%s", c->to_bucket, key);
	if (head.exists) {
		how = "present";
		c->out->n_present++;
	} else {
		rc = es_s3_copy_object(c->to, c->from_bucket, key, c->to_bucket, key);
		how = "CopyObject";
		if (access_denied(rc)) {
			/* The target's credentials may not read the source bucket:
			 * each side does its own half. */
			struct es_buf body = ES_BUF_INIT;
			say(c,
			    "CopyObject not permitted from s3://%s: downloading and uploading %s",
			    c->from_bucket, key);
			rc = es_s3_get_object(c->from, c->from_bucket, key, &body);
			if (rc) {
				es_buf_free(&body);
				return es_fail_prefix("reading s3://%s/%s", c->from_bucket, key);
			}
			struct es_s3_put put = {.content_type = ctype, .if_none_match = true};
			rc = es_s3_put_object(c->to, c->to_bucket, key, body.data, body.len, &put);
			if (es_s3_precondition_failed(rc, es_error_last()))
				rc = ES_OK; /* another console copied the same bytes */
			es_buf_free(&body);
			how = "download and upload";
		}
		if (rc)
			return es_fail_prefix("copying s3://%s/%s to s3://%s", c->from_bucket, key,
			                      c->to_bucket);
		if (strcmp(how, "CopyObject") == 0)
			c->out->n_server++;
		else
			c->out->n_download++;
	}
	if ((rc = verify(c, key, want, &bytes)))
		return rc;
	json_array_append_new(c->out->objects, json_pack("{s:s,s:s,s:I,s:s,s:s}", "key", key,
	                                                 "sha256", want, "bytes", (json_int_t)bytes,
	                                                 "from", c->from_bucket, "how", how));
	return ES_OK;
}

/* The copied template's key: the source key with its digest replaced. */
static void template_key_for(const char *src_key, const char *sha, char *out, size_t len)
{
	const char *base = strrchr(src_key, '/');
	size_t dir = base ? (size_t)(base - src_key + 1) : 0;

	snprintf(out, len, "%.*s%s.json", (int)dir, src_key, sha);
}

int es_release_copy(struct es_aws_client *from, const char *from_bucket, struct es_aws_client *to,
                    const char *to_bucket, const char *template_key, const char *template_sha256,
                    es_release_copy_log_fn log, void *ud, struct es_release_copy_result *out)
{
	struct copy c = {from, to, from_bucket, to_bucket, log, ud, out, NULL, 0, 0};
	struct es_buf text = ES_BUF_INIT;
	json_t *root = NULL;
	char sha[65], *dumped = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(out->objects = json_array()))
		return es_fail(ES_ENOMEM, "out of memory");
	say(&c, "copying release template %s from s3://%s to s3://%s", template_key, from_bucket,
	    to_bucket);
	rc = es_s3_get_object(from, from_bucket, template_key, &text);
	if (rc) {
		es_fail_prefix("reading the validated template s3://%s/%s", from_bucket,
		               template_key);
		goto done;
	}
	es_sha256_hex(text.data, text.len, sha);
	if (template_sha256 && *template_sha256 && strcmp(sha, template_sha256) != 0) {
		rc = es_fail(ES_ERR,
		             "s3://%s/%s has SHA-256 %.12s…, not the validated %.12s…: refusing to "
		             "promote it",
		             from_bucket, template_key, sha, template_sha256);
		goto done;
	}
	root = json_loadb(text.data, text.len, 0, NULL);
	if (!root) {
		rc = es_fail(ES_EPARSE, "s3://%s/%s is not JSON", from_bucket, template_key);
		goto done;
	}
	if ((rc = walk(&c, root)))
		goto done;
	for (size_t i = 0; i < c.n_keys; i++) {
		char want[65];
		if (strstr(c.keys[i], "templates/")) {
			rc = es_fail(
			        ES_EREFUSED,
			        "the release names a nested template (%s): copying nested stacks "
			        "across buckets is not supported; give both stages one bucket",
			        c.keys[i]);
			goto done;
		}
		if (!key_digest(c.keys[i], want)) {
			rc = es_fail(
			        ES_EREFUSED,
			        "s3://%s/%s is not content-addressed: it cannot be checked after a "
			        "copy",
			        from_bucket, c.keys[i]);
			goto done;
		}
		out->n_objects++;
		if ((rc = copy_one(&c, c.keys[i], want, "application/octet-stream")))
			goto done;
	}
	/* The template names the target bucket now: a key of its own. */
	if (c.rewritten) {
		dumped = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
		if (!dumped) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			goto done;
		}
		es_sha256_hex(dumped, strlen(dumped), sha);
	}
	template_key_for(template_key, sha, out->template_key, sizeof(out->template_key));
	snprintf(out->template_sha256, sizeof(out->template_sha256), "%s", sha);
	struct es_s3_put put = {.content_type = "application/json", .if_none_match = true};
	const char *body = dumped ? dumped : es_buf_str(&text);
	rc = es_s3_put_object(to, to_bucket, out->template_key, body, strlen(body), &put);
	if (es_s3_precondition_failed(rc, es_error_last()))
		rc = ES_OK;
	if (rc) {
		es_fail_prefix("writing the template s3://%s/%s", to_bucket, out->template_key);
		goto done;
	}
	size_t bytes;
	rc = verify(&c, out->template_key, sha, &bytes);
	if (!rc)
		say(&c,
		    "release copied to s3://%s: %zu artifact%s (%zu inside S3, %zu downloaded and "
		    "uploaded, %zu there already), each SHA-256 checked",
		    to_bucket, out->n_objects, out->n_objects == 1 ? "" : "s", out->n_server,
		    out->n_download, out->n_present);
done:
	for (size_t i = 0; i < c.n_keys; i++)
		free(c.keys[i]);
	free(c.keys);
	free(dumped);
	json_decref(root);
	es_buf_free(&text);
	if (rc) {
		json_decref(out->objects);
		out->objects = NULL;
	}
	return rc;
}

void es_release_copy_result_free(struct es_release_copy_result *r)
{
	json_decref(r->objects);
	r->objects = NULL;
}
