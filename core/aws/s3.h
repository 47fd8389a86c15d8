/* S3 objects over rest-xml: what the artifact store and the ledger need. */
#ifndef ES_S3_H
#define ES_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"

struct es_s3_put {
	const char *content_type;     /* NULL: application/octet-stream */
	bool if_none_match;           /* create only: 412 PreconditionFailed if it exists */
	const char *if_match;         /* replace only this version (ETag): 412 if it changed */
	es_http_progress_fn progress; /* how much went out (may be NULL) */
	void *progress_ud;
};

/* An object as read, with what S3 said about it. Times are S3's clock
 * (epoch seconds, 0 when absent), so expiry is judged without ours. */
struct es_s3_object {
	struct es_buf body;   /* GetObject only */
	char etag[80];        /* quoted, as S3 sends it */
	double last_modified; /* Last-Modified */
	double server_date;   /* the answer's Date header */
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
/* DeleteObject, only while the object's ETag is if_match (NULL: always). */
int es_s3_delete_object_call(struct es_aws_call *call, const char *bucket, const char *key,
                             const char *if_match);

/* ETag, Last-Modified and Date of an answer into out (the body is left alone). */
void es_s3_parse_object_meta(const struct es_http_response *resp, struct es_s3_object *out);
void es_s3_object_free(struct es_s3_object *o);

/* A conditional write lost to another writer: 412 PreconditionFailed (the
 * condition was false) or 409 ConditionalRequestConflict (a concurrent
 * write on the same key; the outcome must be read back). */
bool es_s3_precondition_failed(int rc, const struct es_error *e);
bool es_s3_conflict(int rc, const struct es_error *e);
/* NoSuchKey / 404. */
bool es_s3_not_found(int rc, const struct es_error *e);

/* One page of a ListObjectsV2 answer: keys appended to out, and the
 * continuation token of the next page (malloc'd) or NULL on the last. */
int es_s3_parse_list_page(const char *xml, size_t len, struct es_s3_listing *out, char **next);

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
void es_s3_listing_free(struct es_s3_listing *l);
int es_s3_delete_object(struct es_aws_client *c, const char *bucket, const char *key);
/* GetObject with its metadata. ES_ENOTFOUND when the key does not exist. */
int es_s3_get(struct es_aws_client *c, const char *bucket, const char *key,
              struct es_s3_object *out);

#endif
