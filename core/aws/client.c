/* Opening a client wires STS into the credentials chain here, so that the
 * request pipeline (aws.c) and STS (sts.c, which sends through it) do not
 * depend on each other. */
#include "config.h"

#include <string.h>

#include "client.h"
#include "sts.h"

int es_aws_open(struct es_loop *loop, const struct es_aws_options *o, struct es_aws_client **out)
{
	struct es_aws_options opt;

	memset(&opt, 0, sizeof(opt));
	if (o)
		opt = *o;
	opt.assume_role = &es_sts_assume_role;
	return es_aws_client_new(loop, &opt, out);
}
