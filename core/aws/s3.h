/* S3 objects over rest-xml: what the artifact store and the ledger need. */
#ifndef ES_S3_H
#define ES_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"

struct es_s3_put {
	const char *content_type; /* NULL: application/octet-stream */
	bool if_none_match;       /* create only: 412 PreconditionFailed if it exists */
};

struct es_s3_head {
	bool exists;
	long long size;
	char etag[80];
};

struct es_s3_listing {
	char **keys; /* owned, in S3's (lexicographic) order */
	size_t n;
};

int es_s3_put_object_call(struct es_aws_call *call, const char *bucket, const char *key,
                          const void *data, size_t len, const struct es_s3_put *opt);
int es_s3_get_object_call(struct es_aws_call *call, const char *bucket, const char *key);
int es_s3_head_object_call(struct es_aws_call *call, const char *bucket, const char *key);
int es_s3_create_bucket_call(struct es_aws_call *call, const char *bucket, const char *region);

/* PutObject. With if_none_match, an existing key gives ES_EAWS with code
 * "PreconditionFailed" (HTTP 412). */
int es_s3_put_object(struct es_aws_client *c, const char *bucket, const char *key, const void *data,
                     size_t len, const struct es_s3_put *opt);
/* GetObject into out (caller frees with es_buf_free). ES_ENOTFOUND when the
 * key does not exist. */
int es_s3_get_object(struct es_aws_client *c, const char *bucket, const char *key,
                     struct es_buf *out);
/* HeadObject: out->exists false (and ES_OK) when the key is not there. */
int es_s3_head_object(struct es_aws_client *c, const char *bucket, const char *key,
                      struct es_s3_head *out);
int es_s3_create_bucket(struct es_aws_client *c, const char *bucket, const char *region);
/* HeadBucket: *exists false (and ES_OK) when there is no such bucket. */
int es_s3_bucket_exists(struct es_aws_client *c, const char *bucket, bool *exists);
int es_s3_list_call(struct es_aws_call *call, const char *bucket, const char *prefix,
                    const char *start_after, const char *token);
/* Every key under prefix that sorts after start_after (NULL: all), all pages. */
int es_s3_list(struct es_aws_client *c, const char *bucket, const char *prefix,
               const char *start_after, struct es_s3_listing *out);
/* Add the keys of one ListObjectsV2 answer to out (free with
 * es_s3_listing_free even on failure); *token (malloc'd, caller frees) is
 * set when more pages follow. */
int es_s3_parse_listing(const char *xml, size_t len, struct es_s3_listing *out, char **token);
void es_s3_listing_free(struct es_s3_listing *l);
int es_s3_delete_object(struct es_aws_client *c, const char *bucket, const char *key);

#endif
