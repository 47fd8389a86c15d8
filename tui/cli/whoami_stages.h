/* whoami beside edgeship.conf: the identity each stage that names its own
 * account (profile or role-arn) acts as. */
#ifndef ES_WHOAMI_STAGES_H
#define ES_WHOAMI_STAGES_H

#include "aws/aws.h"
#include "cli.h"
#include "identity.h"

/* Print whoami: id, then each stage of the repository's edgeship.conf with
 * credentials of its own, reached from base (outside a repository, or
 * without such stages, id alone); with --json one document. The exit code:
 * 1 when some stage's identity could not be read (each says why). */
int es_whoami_print(const struct es_cli *cli, struct es_aws_client *base,
                    const struct es_identity *id);

#endif
