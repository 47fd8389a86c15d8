/* `edgeship init --pipeline`: the CloudFormation template of a CodePipeline
 * that releases the app as edgeship.conf describes it (source, a deploy per
 * stage, the validator Lambda, a manual approval before the last stage). */
#ifndef ES_PIPEGEN_H
#define ES_PIPEGEN_H

#include "conf.h"

struct json_t; /* jansson's, for es_pipegen_template */

enum es_pipegen_source {
	ES_PIPEGEN_S3,       /* a zip in a versioned bucket the template makes */
	ES_PIPEGEN_CODESTAR, /* a repository through a CodeStar connection */
};

enum es_pipegen_mode {
	ES_PIPEGEN_CHANGE_SET,   /* CHANGE_SET_REPLACE, then CHANGE_SET_EXECUTE */
	ES_PIPEGEN_CREATE_UPDATE /* one CREATE_UPDATE action */
};

struct es_pipegen_opts {
	enum es_pipegen_source source;
	enum es_pipegen_mode mode;
	const char *name;           /* pipeline name; NULL: "APP-pipeline" */
	const char *connection_arn; /* CodeStar: the connection, repository and branch */
	const char *repository;     /* OWNER/NAME */
	const char *branch;         /* NULL: main */
};

/* The validator's source (core/pipegen/validator.js), built into the program. */
extern const char es_pipegen_validator_js[];

/* Why o cannot make a pipeline (a bad option value), or NULL. */
const char *es_pipegen_check_opts(const struct es_pipegen_opts *o);

/* The template as a JSON value, *out the caller's. ES_ECONFIG when
 * edgeship.conf holds something the pipeline cannot carry (the message
 * says what and how to change it), ES_EINVAL for a bad option. */
int es_pipegen_template(const struct es_config *conf, const struct es_pipegen_opts *o,
                        struct json_t **out);

/* The same as YAML, after a comment saying how to deploy it; *out the
 * caller's to free. */
int es_pipegen_yaml(const struct es_config *conf, const struct es_pipegen_opts *o, char **out);

#endif
