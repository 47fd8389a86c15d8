/* Promotion across accounts: a recorded release copied by digest from one
 * stage's bucket into another's (S3 CopyObject where the target's
 * credentials may read the source, else download and upload), every object
 * checked by SHA-256 after the copy; nothing is rebuilt. */
#ifndef ES_RELEASE_COPY_H
#define ES_RELEASE_COPY_H

#include <jansson.h>
#include <stddef.h>

#include "aws/aws.h"

struct es_release_copy_result {
	char template_key[600]; /* the template in the target bucket */
	char template_sha256[65];
	size_t n_objects;  /* artifacts the template names */
	size_t n_server;   /* copied inside S3 */
	size_t n_download; /* downloaded and uploaded */
	size_t n_present;  /* in the target already (content-addressed) */
	json_t *objects;   /* [{key, sha256, bytes, from, how}], owned */
};

typedef void (*es_release_copy_log_fn)(void *ud, const char *line);

/* Copy template_key (whose SHA-256 must be template_sha256) and every
 * artifact it names from from_bucket (read with from) into to_bucket
 * (written with to). The template's references to from_bucket are turned
 * into to_bucket, so the copy gets a key of its own; the artifacts keep
 * theirs, and each is read back from to_bucket and its SHA-256 compared
 * with the digest its key carries. */
int es_release_copy(struct es_aws_client *from, const char *from_bucket, struct es_aws_client *to,
                    const char *to_bucket, const char *template_key, const char *template_sha256,
                    es_release_copy_log_fn log, void *ud, struct es_release_copy_result *out);
void es_release_copy_result_free(struct es_release_copy_result *r);

#endif
