/* Internal to the credentials chain: the providers credentials.c calls
 * (cred_process.c, cred_metadata.c) and the few helpers they borrow back
 * from it.  Nothing outside those three files includes this. */
#ifndef ES_CRED_INTERNAL_H
#define ES_CRED_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "credentials.h"

/* ---- providers: each fills out (which the caller then owns) or fails */

/* Run a profile's credential_process command through /bin/sh, stopping it
 * after timeout_ms.  Never ES_ENOTFOUND: a configured command that fails is
 * an error. */
int es_cred_from_process(const char *profile, const char *cmd, long timeout_ms,
                         struct es_credentials *out);

/* The ECS/EKS container endpoint, timeout_ms per attempt.  ES_ENOTFOUND with
 * a reason in why when AWS_CONTAINER_CREDENTIALS_* is unset; once set, any
 * failure is an error. */
int es_cred_from_container(long timeout_ms, struct es_credentials *out, char *why, size_t len);

/* EC2 instance metadata over IMDSv2, timeout_ms per attempt.  Every failure
 * but running out of memory is ES_ENOTFOUND with a reason in why. */
int es_cred_from_imds(long timeout_ms, struct es_credentials *out, char *why, size_t len);

/* ---- helpers in credentials.c, shared with the providers */

/* getenv(), but NULL for a variable that is set empty. */
const char *es_cred_env(const char *name);

/* Zero a string that may hold a secret, then free it; NULL is fine. */
void es_cred_wipe_free(char *s);

/* Zero a buffer's whole allocation, then free it. */
void es_cred_wipe_buf(struct es_buf *b);

/* Fill out from a credentials JSON document: AccessKeyId, SecretAccessKey,
 * the token under token_key, and an optional RFC 3339 Expiration that must
 * be in the future.  what names the provider in messages, which never quote
 * the document; source becomes out->source. */
int es_cred_from_json(json_t *doc, const char *token_key, const char *what,
                      struct es_credentials *out, const char *source);

#endif
