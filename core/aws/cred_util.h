/* Helpers shared by the credentials chain and its providers. Internal to
 * core/aws. */
#ifndef ES_CRED_UTIL_H
#define ES_CRED_UTIL_H

#include <jansson.h>
#include <time.h>

#include "base/buf.h"
#include "credentials.h"

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

/* Fill out from borrowed strings; the source is a printf format. */
int es_cred_set(struct es_credentials *out, const char *akid, const char *secret, const char *token,
                time_t expiration, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
