/* S3 PutObject/GetObject/HeadObject/CreateBucket with path or virtual-host
 * addressing (chosen in aws.c from the endpoint). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "s3.h"
#include "services.h"
#include "xml.h"

static int object_call(struct es_aws_call *call, const char *op, const char *method,
                       const char *bucket, const char *key)
{
	int rc = es_aws_call_init(call, "s3", op, ES_PROTO_REST_XML, method, "/");

	if (!rc)
		rc = es_path_encode(&call->path, bucket, false);
	if (!rc && key) {
		es_buf_putc(&call->path, '/');
		rc = es_path_encode(&call->path, key, true);
	}
	return rc;
}

int es_s3_put_object_call(struct es_aws_call *call, const char *bucket, const char *key,
                          const void *data, size_t len, const struct es_s3_put *opt)
{
	int rc = object_call(call, "PutObject", "PUT", bucket, key);

	if (rc)
		return rc;
	call->mutating = true;
	call->content_type =
	        opt && opt->content_type ? opt->content_type : "application/octet-stream";
	if (opt) {
		call->progress = opt->progress;
		call->progress_ud = opt->progress_ud;
	}
	/* Content-MD5 lets S3 refuse a body damaged on the way. */
	unsigned char md5[EVP_MAX_MD_SIZE];
	unsigned int md5_len = 0;
	char b64[32];
	if (!EVP_Digest(data, len, md5, &md5_len, EVP_md5(), NULL))
		return es_fail(ES_ERR, "PutObject: MD5 unavailable");
	EVP_EncodeBlock((unsigned char *)b64, md5, (int)md5_len);
	rc = es_aws_call_header(call, "Content-MD5", b64);
	if (!rc && opt && opt->if_none_match)
		rc = es_aws_call_header(call, "If-None-Match", "*");
	if (!rc && opt && opt->if_match && *opt->if_match)
		rc = es_aws_call_header(call, "If-Match", opt->if_match);
	return rc ? rc : es_buf_append(&call->body, data, len);
}

int es_s3_get_object_call(struct es_aws_call *call, const char *bucket, const char *key)
{
	return object_call(call, "GetObject", "GET", bucket, key);
}

int es_s3_head_object_call(struct es_aws_call *call, const char *bucket, const char *key)
{
	return object_call(call, "HeadObject", "HEAD", bucket, key);
}

int es_s3_create_bucket_call(struct es_aws_call *call, const char *bucket, const char *region)
{
	int rc = object_call(call, "CreateBucket", "PUT", bucket, NULL);

	if (rc)
		return rc;
	call->mutating = true;
	/* us-east-1 is the one region that must not be named. */
	if (region && *region && strcmp(region, "us-east-1") != 0) {
		call->content_type = "application/xml";
		es_buf_printf(&call->body,
		              "<CreateBucketConfiguration "
		              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		              "<LocationConstraint>%s</LocationConstraint>"
		              "</CreateBucketConfiguration>",
		              region);
	}
	return ES_OK;
}

int es_s3_delete_object_call(struct es_aws_call *call, const char *bucket, const char *key,
                             const char *if_match)
{
	int rc = object_call(call, "DeleteObject", "DELETE", bucket, key);

	call->mutating = true;
	if (!rc && if_match && *if_match)
		rc = es_aws_call_header(call, "If-Match", if_match);
	return rc;
}

static double http_date(const char *v)
{
	time_t t = v ? curl_getdate(v, NULL) : -1;
	return t > 0 ? (double)t : 0;
}

void es_s3_parse_object_meta(const struct es_http_response *resp, struct es_s3_object *out)
{
	const char *etag = es_http_header(resp, "ETag");

	snprintf(out->etag, sizeof(out->etag), "%s", etag ? etag : "");
	out->last_modified = http_date(es_http_header(resp, "Last-Modified"));
	out->server_date = http_date(es_http_header(resp, "Date"));
}

void es_s3_object_free(struct es_s3_object *o)
{
	if (!o)
		return;
	es_buf_free(&o->body);
	memset(o, 0, sizeof(*o));
}

bool es_s3_precondition_failed(int rc, const struct es_error *e)
{
	return rc == ES_EAWS && e &&
	       (e->http_status == 412 || strcmp(e->code, "PreconditionFailed") == 0);
}

bool es_s3_conflict(int rc, const struct es_error *e)
{
	return rc == ES_EAWS && e &&
	       (e->http_status == 409 || strcmp(e->code, "ConditionalRequestConflict") == 0);
}

bool es_s3_not_found(int rc, const struct es_error *e)
{
	return (rc == ES_EAWS || rc == ES_ENOTFOUND) && e &&
	       (e->http_status == 404 || strcmp(e->code, "NoSuchKey") == 0);
}

static int send_discard(struct es_aws_client *c, struct es_aws_call *call)
{
	struct es_http_response resp;
	int rc = es_aws_send_sync(c, call, &resp);

	if (!rc)
		es_http_response_free(&resp);
	return rc;
}

int es_s3_put_object(struct es_aws_client *c, const char *bucket, const char *key, const void *data,
                     size_t len, const struct es_s3_put *opt)
{
	struct es_aws_call call;

	if (es_s3_put_object_call(&call, bucket, key, data, len, opt)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return send_discard(c, &call);
}

static bool is_not_found(int rc)
{
	const struct es_error *e = es_error_last();

	return rc == ES_EAWS && (e->http_status == 404 || strcmp(e->code, "NoSuchKey") == 0);
}

int es_s3_get_object(struct es_aws_client *c, const char *bucket, const char *key,
                     struct es_buf *out)
{
	struct es_s3_object obj;
	int rc = es_s3_get(c, bucket, key, &obj);

	if (rc)
		return rc;
	es_buf_free(out);
	*out = obj.body;
	memset(&obj.body, 0, sizeof(obj.body));
	es_s3_object_free(&obj);
	return ES_OK;
}

int es_s3_head_object(struct es_aws_client *c, const char *bucket, const char *key,
                      struct es_s3_head *out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (es_s3_head_object_call(&call, bucket, key)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return is_not_found(rc) ? ES_OK : rc;
	out->exists = true;
	const char *len = es_http_header(&resp, "Content-Length");
	const char *etag = es_http_header(&resp, "ETag");
	out->size = len ? atoll(len) : -1;
	if (etag)
		snprintf(out->etag, sizeof(out->etag), "%s", etag);
	es_http_response_free(&resp);
	return ES_OK;
}

int es_s3_create_bucket(struct es_aws_client *c, const char *bucket, const char *region)
{
	struct es_aws_call call;

	if (es_s3_create_bucket_call(&call, bucket, region)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return send_discard(c, &call);
}

int es_s3_bucket_exists(struct es_aws_client *c, const char *bucket, bool *exists)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	*exists = false;
	if (object_call(&call, "HeadBucket", "HEAD", bucket, NULL)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return is_not_found(rc) ? ES_OK : rc;
	*exists = true;
	es_http_response_free(&resp);
	return ES_OK;
}

static int query_kv(struct es_buf *q, const char *key, const char *value)
{
	if (q->len)
		es_buf_putc(q, '&');
	es_buf_puts(q, key);
	es_buf_putc(q, '=');
	return es_path_encode(q, value, false);
}

int es_s3_list_call(struct es_aws_call *call, const char *bucket, const char *prefix,
                    const char *start_after, const char *token)
{
	int rc = object_call(call, "ListObjectsV2", "GET", bucket, NULL);

	if (rc)
		return rc;
	/* Parameters in sorted order, the way they are signed. */
	if (token && *token)
		query_kv(&call->query, "continuation-token", token);
	query_kv(&call->query, "list-type", "2");
	if (prefix && *prefix)
		query_kv(&call->query, "prefix", prefix);
	if (start_after && *start_after)
		rc = query_kv(&call->query, "start-after", start_after);
	return rc;
}

void es_s3_listing_free(struct es_s3_listing *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
	l->keys = NULL;
	l->n = 0;
}

/* Add the keys of one ListObjectsV2 page to out; *token (malloc'd) is the
 * next page's continuation token when the answer is truncated. */
int es_s3_list(struct es_aws_client *c, const char *bucket, const char *prefix,
               const char *start_after, struct es_s3_listing *out)
{
	char *token = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	do {
		struct es_aws_call call;
		struct es_http_response resp;

		rc = es_s3_list_call(&call, bucket, prefix, start_after, token);
		free(token);
		token = NULL;
		if (rc) {
			es_aws_call_free(&call);
			break;
		}
		rc = es_aws_send_sync(c, &call, &resp);
		if (rc)
			break;
		rc = es_s3_parse_list_page(resp.body.data, resp.body.len, out, &token);
		es_http_response_free(&resp);
	} while (!rc && token);
	free(token);
	if (rc)
		es_s3_listing_free(out);
	return rc;
}

int es_s3_delete_object(struct es_aws_client *c, const char *bucket, const char *key)
{
	struct es_aws_call call;

	if (es_s3_delete_object_call(&call, bucket, key, NULL)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return send_discard(c, &call);
}

int es_s3_get(struct es_aws_client *c, const char *bucket, const char *key,
              struct es_s3_object *out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (es_s3_get_object_call(&call, bucket, key)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc) {
		if (is_not_found(rc)) {
			struct es_error e = *es_error_last();
			e.status = ES_ENOTFOUND;
			es_error_restore(&e);
			return ES_ENOTFOUND;
		}
		return rc;
	}
	es_s3_parse_object_meta(&resp, out);
	out->body = resp.body;
	memset(&resp.body, 0, sizeof(resp.body));
	es_http_response_free(&resp);
	return ES_OK;
}

int es_s3_parse_list_page(const char *xml, size_t len, struct es_s3_listing *out, char **next)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	int rc = ES_OK;

	*next = NULL;
	if (!doc)
		return es_fail_prefix("ListObjectsV2");
	xmlNode *root = xmlDocGetRootElement(doc);
	for (xmlNode *k = es_xml_child(root, "Contents"); k; k = es_xml_next(k)) {
		char **keys = realloc(out->keys, (out->n + 1) * sizeof(*keys));
		if (!keys) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			break;
		}
		out->keys = keys;
		keys[out->n] = es_xml_path_text(k, "Key");
		if (keys[out->n])
			out->n++;
	}
	char *trunc = es_xml_path_text(root, "IsTruncated");
	if (!rc && trunc && strcmp(trunc, "true") == 0) {
		*next = es_xml_path_text(root, "NextContinuationToken");
		if (*next && !**next) {
			free(*next);
			*next = NULL;
		}
		if (!*next)
			rc = es_fail(ES_EPARSE, "ListObjectsV2: a truncated page without a "
			                        "NextContinuationToken");
	}
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}
