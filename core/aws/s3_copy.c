/* S3 CopyObject over the REST-XML protocol. */
#include "config.h"

#include <string.h>

#include "base/buf.h"
#include "protocol.h"
#include "s3_copy.h"

int es_s3_copy_object_call(struct es_aws_call *call, const char *src_bucket, const char *src_key,
                           const char *dst_bucket, const char *dst_key)
{
	struct es_buf src = ES_BUF_INIT;
	int rc = es_aws_call_init(call, "s3", "CopyObject", ES_PROTO_REST_XML, "PUT", "/");

	if (!rc)
		rc = es_path_encode(&call->path, dst_bucket, false);
	if (!rc) {
		es_buf_putc(&call->path, '/');
		rc = es_path_encode(&call->path, dst_key, true);
	}
	/* x-amz-copy-source: BUCKET/KEY, URL-encoded. */
	if (!rc)
		rc = es_path_encode(&src, src_bucket, false);
	if (!rc) {
		es_buf_putc(&src, '/');
		rc = es_path_encode(&src, src_key, true);
	}
	if (!rc)
		rc = es_aws_call_header(call, "x-amz-copy-source", es_buf_str(&src));
	es_buf_free(&src);
	call->mutating = true;
	return rc;
}

int es_s3_copy_object(struct es_aws_client *c, const char *src_bucket, const char *src_key,
                      const char *dst_bucket, const char *dst_key)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	if (es_s3_copy_object_call(&call, src_bucket, src_key, dst_bucket, dst_key)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return rc;
	if (resp.body.len && memmem(resp.body.data, resp.body.len, "<Error>", 7))
		rc = es_fail(ES_EAWS,
		             "CopyObject s3://%s/%s: S3 reported an error after accepting "
		             "the copy",
		             dst_bucket, dst_key);
	es_http_response_free(&resp);
	return rc;
}
