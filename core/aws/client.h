/* The AWS client as the rest of edgeship opens it: the request pipeline of
 * aws.c with the whole credentials chain, role profiles through STS included. */
#ifndef ES_CLIENT_H
#define ES_CLIENT_H

#include "aws.h"

/* es_aws_client_new() with o's settings (o may be NULL) and STS AssumeRole
 * for role profiles. The caller owns *out (es_aws_client_free). */
int es_aws_open(struct es_loop *loop, const struct es_aws_options *o, struct es_aws_client **out);

#endif
