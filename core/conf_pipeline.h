/* Pipeline mode in edgeship.conf: [pipeline "NAME"] sections and the
 * stages a CodePipeline deploys (stage keys pipeline and pipeline-stage).
 * conf.c reads the keys; the checks and the refusal live here. */
#ifndef ES_CONF_PIPELINE_H
#define ES_CONF_PIPELINE_H

#include "conf.h"

/* conf.c's line finder: line of key in [section "sub"] (0: not found). */
typedef int (*es_conf_line_fn)(const char *text, const char *section, const char *sub,
                               const char *key);

/* The [pipeline "name"] object, created on first use (NULL: no memory). */
struct es_pipeline_conf *es_conf_pipeline_for(struct es_config *c, const char *name, int line);
/* Check the pipeline sections and the stages naming them; ES_ECONFIG with
 * "FILE:LINE: message". */
int es_conf_pipeline_validate(struct es_config *c, const char *text, es_conf_line_fn line_of);
/* Free what pipeline mode added to c. */
void es_conf_pipeline_free(struct es_config *c);

#endif
