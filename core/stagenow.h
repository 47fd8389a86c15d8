/* What a stage runs right now, read synchronously from CloudFormation and
 * CloudFront: the stack's status and release tags and its distribution's
 * state. Promotion, rollback, invalidation and validation decide on it. */
#ifndef ES_STAGENOW_H
#define ES_STAGENOW_H

#include <stdbool.h>

#include "aws/aws.h"
#include "aws/cloudfront.h"
#include "conf.h"

struct es_stage_now {
	bool exists;
	char status[64];
	char commit[41];          /* edgeship:commit tag */
	char release[80];         /* edgeship:release tag */
	char template_sha256[65]; /* edgeship:template tag */
	char distribution_id[64];
	struct es_distribution dist; /* zeroed when there is none */
};

/* Read stage sc (DescribeStacks, DescribeStackResources, GetDistribution).
 * A stack that does not exist is ES_OK with exists false. Release out with
 * es_stage_now_free() whatever this returns. */
int es_stage_now_read(struct es_aws_client *aws, const struct es_stage_conf *sc,
                      struct es_stage_now *out);
void es_stage_now_free(struct es_stage_now *s);

/* CloudFormation is working on the stack (REVIEW_IN_PROGRESS, a stack
 * that only holds a change set, is not busy). */
bool es_stack_busy(const char *status);

#endif
