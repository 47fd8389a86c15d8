/* What the halves of the pipeline template share (pipegen.c builds the
 * pipeline, pipegen_iam.c its roles, from pipegen_json.c's pieces). */
#ifndef ES_PIPEGEN_INT_H
#define ES_PIPEGEN_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "conf.h"
#include "pipegen.h"

/* What the app's stacks are made of, read from its template: which
 * permission groups the deploy role needs. */
enum {
	PG_LAMBDA = 1 << 0,     /* functions, versions, aliases, permissions */
	PG_IAM = 1 << 1,        /* roles named after the stack */
	PG_CLOUDFRONT = 1 << 2, /* distributions, and Lambda@Edge replication */
	PG_CODE = 1 << 3,       /* reading packaged code from the artifact bucket */
};

#define PG_MAX_STAGES 16

struct pg {
	const struct es_config *conf;
	const struct es_pipegen_opts *o;
	const struct es_stage_conf *stages[PG_MAX_STAGES]; /* in release order */
	size_t n;
	char logical[PG_MAX_STAGES][40]; /* "Staging" for "staging", for logical ids */
	unsigned groups;                 /* PG_* the deploy role grants */
	bool transform;                  /* the app template is expanded (SAM) */
	bool template_read;              /* groups come from the app's template */
	json_t *uncovered;               /* resource types no group covers */
	json_t *resources;               /* the template's Resources */
	bool bad_text;                   /* some text was not UTF-8 */
};

/* pipegen_json.c: a JSON string of s, or JSON null with g->bad_text set (not UTF-8). */
json_t *pg_str(struct pg *g, const char *s);
json_t *pg_ref(const char *name);
json_t *pg_sub(struct pg *g, const char *s);
json_t *pg_getatt(const char *resource, const char *attr);

/* The roles: PipelineRole, DeployRole, ValidatorRole (and its log policy),
 * and TriggerRole for an S3 source, into g->resources. */
int pg_roles(struct pg *g);

#endif
