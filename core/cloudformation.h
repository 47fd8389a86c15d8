/* CloudFormation over the query protocol: stacks (this file grows with the
 * release engine). */
#ifndef ES_CLOUDFORMATION_H
#define ES_CLOUDFORMATION_H

#include <stddef.h>

#include "aws.h"

struct es_kv {
	char *key;   /* owned */
	char *value; /* owned */
};

struct es_stack {
	char *name;
	char *id;
	char *status;
	char *status_reason;
	char *last_updated;  /* ISO 8601 or NULL */
	struct es_kv *outputs;
	size_t n_outputs;
	struct es_kv *tags;
	size_t n_tags;
};

int es_cfn_describe_stacks_call(struct es_aws_call *call, const char *stack_name);
int es_cfn_describe_stack_events_call(struct es_aws_call *call, const char *stack_name,
                                      const char *next_token);
/* Parse the first stack of a DescribeStacks answer. */
int es_cfn_parse_stack(const char *xml, size_t len, struct es_stack *out);
/* Describe one stack. ES_ENOTFOUND (with AWS's message) when it does not
 * exist. */
int es_cfn_describe_stack(struct es_aws_client *c, const char *stack_name, struct es_stack *out);
void es_stack_free(struct es_stack *s);
/* Value of a tag or output, or NULL. */
const char *es_kv_get(const struct es_kv *kv, size_t n, const char *key);

#endif
