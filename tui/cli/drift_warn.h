/* The warning before a deploy into a drifted stage. */
#ifndef ES_DRIFT_WARN_H
#define ES_DRIFT_WARN_H

#include <stdbool.h>
#include <stdio.h>

#include "aws/aws.h"
#include "conf.h"

/* When the last drift detection on stage's stack found drift, print it on
 * out and return true (the caller asks before deploying). A drift that
 * cannot be read never stops a deploy: false then. */
bool drift_warn(FILE *out, struct es_aws_client *aws, const struct es_config *conf,
                const char *stage);

#endif
