/* Who each stage acts as: for stages of edgeship.conf that reach an account
 * of their own (profile or role-arn), the identity STS gives their
 * credentials (whoami). */
#ifndef ES_STAGE_IDENTITY_H
#define ES_STAGE_IDENTITY_H

#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "identity.h"

struct es_stage_identity {
	char stage[64];
	char account[16];
	char arn[512];
	char error[600]; /* why it could not be read; "" when it was */
};

/* One entry per stage with credentials of its own, reached from base, into
 * a malloc'd *out (NULL and 0 when there is none). ES_OK, or ES_ERR when
 * some stage's identity could not be read (its error says why). */
int es_stage_identities(struct es_aws_client *base, const struct es_config *conf,
                        struct es_stage_identity **out, size_t *n);

/* es_identity_json() of id with "stages" (when n > 0): each {stage,
 * account, arn} or {stage, error}. Malloc'd; NULL when out of memory. */
char *es_identity_json_stages(const struct es_identity *id, const struct es_stage_identity *s,
                              size_t n);

#endif
