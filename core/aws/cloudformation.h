/* CloudFormation over the query protocol: stacks (this file grows with the
 * release engine). */
#ifndef ES_CLOUDFORMATION_H
#define ES_CLOUDFORMATION_H

#include <stdbool.h>
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
	char *last_updated; /* ISO 8601 or NULL */
	struct es_kv *outputs;
	size_t n_outputs;
	struct es_kv *tags;
	size_t n_tags;
};

struct es_change {
	char *action; /* Add | Modify | Remove | Import | Dynamic */
	char *logical_id;
	char *physical_id;
	char *type;
	char *replacement; /* True | False | Conditional | NULL */
};

struct es_change_set {
	char *id;
	char *status; /* CREATE_PENDING … CREATE_COMPLETE | FAILED */
	char *status_reason;
	char *execution_status; /* AVAILABLE, EXECUTE_IN_PROGRESS, … */
	char *creation_time;    /* ISO 8601 */
	struct es_change *changes;
	size_t n_changes;
	char *next_token; /* more changes to page through */
};

struct es_stack_event {
	char *event_id;
	char *stack_id;
	char *stack_name;
	char *logical_id;
	char *physical_id;
	char *type;
	char *timestamp; /* ISO 8601 as AWS wrote it */
	char *status;    /* "" when AWS left it out (the API marks it optional) */
	char *reason;
	char *client_token; /* ClientRequestToken of the operation, or NULL */
};

struct es_stack_event_page {
	struct es_stack_event *events; /* newest first, as AWS returns them */
	size_t n;
	char *next_token;
};

/* What a change set should contain (see es_cfn_create_change_set_call). */
struct es_change_set_request {
	const char *stack_name;
	const char *change_set_name;
	const char *change_set_type; /* "CREATE" | "UPDATE" */
	const char *template_body;   /* one of body… */
	const char *template_url;    /* …or URL */
	const struct es_kv *parameters;
	size_t n_parameters;
	const char *const *capabilities;
	size_t n_capabilities;
	const struct es_kv *tags;
	size_t n_tags;
	const char *client_token;
	const char *description;
};

int es_cfn_create_change_set_call(struct es_aws_call *call, const struct es_change_set_request *r);
int es_cfn_describe_change_set_call(struct es_aws_call *call, const char *stack,
                                    const char *change_set, const char *next_token);
int es_cfn_execute_change_set_call(struct es_aws_call *call, const char *stack,
                                   const char *change_set, const char *client_token);
int es_cfn_delete_change_set_call(struct es_aws_call *call, const char *stack,
                                  const char *change_set);
int es_cfn_delete_stack_call(struct es_aws_call *call, const char *stack, const char *token);
int es_cfn_describe_stack_resources_call(struct es_aws_call *call, const char *stack);

/* The new change set's id from a CreateChangeSet answer (malloc'd). */
char *es_cfn_parse_change_set_id(const char *xml, size_t len);
int es_cfn_parse_change_set(const char *xml, size_t len, struct es_change_set *out);
void es_change_set_free(struct es_change_set *cs);
/* True when a FAILED change set only means "nothing to change". */
bool es_cfn_change_set_empty(const struct es_change_set *cs);
int es_cfn_parse_stack_events(const char *xml, size_t len, struct es_stack_event_page *out);
void es_stack_event_page_free(struct es_stack_event_page *p);
void es_stack_event_free(struct es_stack_event *e);
/* Resources of a stack: (logical id → physical id) and type in value. */
int es_cfn_parse_stack_resources(const char *xml, size_t len, struct es_kv **ids,
                                 struct es_kv **types, size_t *n);

/* The physical id of the first resource of `type` in a
 * DescribeStackResources answer, into id ("" when there is none). */
int es_cfn_resource_of_type(const char *xml, size_t len, const char *type, char *id, size_t idlen);
/* Ask for stack's resources and find its CloudFront distribution (id ""
 * when it has none). */
int es_cfn_stack_distribution(struct es_aws_client *c, const char *stack, char *id, size_t len);

/* Stack status classes. */
bool es_cfn_status_in_progress(const char *status);
bool es_cfn_status_failed(const char *status);

/* A CloudFormation query-protocol call of action (POST, form body with
 * Action and Version), for the builders to add their parameters to. */
int es_cfn_query_call(struct es_aws_call *call, const char *action);
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
/* Free n pairs (keys and values) and the array. */
void es_kv_list_free(struct es_kv *kv, size_t n);

/* ------------------------------------------------- drift and recovery */

/* One property that differs from the template. */
struct es_prop_diff {
	char *path;     /* e.g. /MemorySize */
	char *expected; /* as the template says */
	char *actual;   /* as the service holds it */
	char *type;     /* ADD | REMOVE | NOT_EQUAL */
};

struct es_resource_drift {
	char *logical_id;
	char *physical_id;
	char *type;
	char *status; /* IN_SYNC | MODIFIED | DELETED | NOT_CHECKED */
	struct es_prop_diff *diffs;
	size_t n_diffs;
};

struct es_drift_page {
	struct es_resource_drift *items;
	size_t n;
	char *next_token;
};

struct es_drift_detection {
	char *detection_status; /* DETECTION_IN_PROGRESS | _COMPLETE | _FAILED */
	char *drift_status;     /* DRIFTED | IN_SYNC | UNKNOWN | NOT_CHECKED, or NULL */
	char *reason;
	long drifted_count;
};

int es_cfn_detect_stack_drift_call(struct es_aws_call *call, const char *stack);
int es_cfn_drift_status_call(struct es_aws_call *call, const char *detection_id);
int es_cfn_resource_drifts_call(struct es_aws_call *call, const char *stack,
                                const char *next_token);
/* ContinueUpdateRollback, skipping the n resources in skip (may be 0). */
int es_cfn_continue_rollback_call(struct es_aws_call *call, const char *stack,
                                  const char *const *skip, size_t n, const char *client_token);

/* The detection id of a DetectStackDrift answer (malloc'd), NULL on error. */
char *es_cfn_parse_drift_id(const char *xml, size_t len);
int es_cfn_parse_drift_detection(const char *xml, size_t len, struct es_drift_detection *out);
void es_drift_detection_free(struct es_drift_detection *d);
int es_cfn_parse_resource_drifts(const char *xml, size_t len, struct es_drift_page *out);
void es_drift_page_free(struct es_drift_page *p);
void es_resource_drift_free(struct es_resource_drift *r);

/* ------------------------------------------------- teardown (cfn_destroy.c) */

/* An update that submits a template again, keeping every parameter's
 * previous value. */
struct es_stack_update {
	const char *stack;
	const char *template_body;          /* one of body… */
	const char *template_url;           /* …or URL (a template over 51,200 bytes, in S3) */
	const char *const *keep_parameters; /* names sent with UsePreviousValue */
	size_t n_keep;
	const char *const *capabilities;
	size_t n_capabilities;
	const char *client_token;
};

/* GetTemplate of stack, as submitted (TemplateStage Original). */
int es_cfn_get_template_call(struct es_aws_call *call, const char *stack);
/* Its TemplateBody (malloc'd), NULL with the last error set. */
char *es_cfn_parse_template_body(const char *xml, size_t len);
int es_cfn_update_stack_call(struct es_aws_call *call, const struct es_stack_update *u);
/* DeleteStack keeping the n logical ids in retain (only valid on a stack in
 * DELETE_FAILED). */
int es_cfn_delete_stack_retain_call(struct es_aws_call *call, const char *stack,
                                    const char *const *retain, size_t n, const char *token);

#endif
