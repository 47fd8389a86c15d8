/* whoami beside edgeship.conf: the identity each stage that names its own
 * account (profile or role-arn) acts as. */
#ifndef ES_WHOAMI_STAGES_H
#define ES_WHOAMI_STAGES_H

#include <jansson.h>

#include "aws/aws.h"
#include "cli.h"

/* For each stage of the repository's edgeship.conf with credentials of its
 * own, reached from base: a line "stage NAME  account ACCOUNT  ARN" on
 * stdout, or with json an object {stage, account, arn} (or {stage, error})
 * appended to stages. Outside a repository, or without such stages,
 * nothing. ES_OK, or ES_ERR when some stage's identity could not be read
 * (each such stage says why). */
int es_whoami_stages(const struct es_cli *cli, struct es_aws_client *base, json_t *stages);

#endif
