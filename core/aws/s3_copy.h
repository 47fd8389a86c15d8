/* S3 CopyObject: one object copied inside S3, from a bucket that may be in
 * another account (the caller needs s3:GetObject there by bucket policy). */
#ifndef ES_S3_COPY_H
#define ES_S3_COPY_H

#include "aws.h"

int es_s3_copy_object_call(struct es_aws_call *call, const char *src_bucket, const char *src_key,
                           const char *dst_bucket, const char *dst_key);
/* Synchronous (headless commands and jobs). S3 may answer 200 with an
 * <Error> in the body when a copy fails late: that is a failure too. */
int es_s3_copy_object(struct es_aws_client *c, const char *src_bucket, const char *src_key,
                      const char *dst_bucket, const char *dst_key);

#endif
