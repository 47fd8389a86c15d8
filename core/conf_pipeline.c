/* Pipeline mode in edgeship.conf: which stages a CodePipeline deploys, and
 * the refusal of edgeship's own deploy and promote for them. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "conf_pipeline.h"

struct es_pipeline_conf *es_conf_pipeline_for(struct es_config *c, const char *name, int line)
{
	struct es_pipeline_conf *p;

	for (size_t i = 0; i < c->n_pipelines; i++)
		if (strcmp(c->pipelines[i].name, name) == 0)
			return &c->pipelines[i];
	p = realloc(c->pipelines, (c->n_pipelines + 1) * sizeof(*p));
	if (!p)
		return NULL;
	c->pipelines = p;
	p = &p[c->n_pipelines++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->line = line;
	return p->name ? p : NULL;
}

static int fail_at(const struct es_config *c, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail_at(const struct es_config *c, int line, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line > 0)
		return es_fail(ES_ECONFIG, "%s:%d: %s", c->path, line, text);
	return es_fail(ES_ECONFIG, "%s: %s", c->path, text);
}

int es_conf_pipeline_validate(struct es_config *c, const char *text, es_conf_line_fn line_of)
{
	for (size_t i = 0; i < c->n_pipelines; i++) {
		struct es_pipeline_conf *p = &c->pipelines[i];
		if (!p->pipeline)
			return fail_at(
			        c, p->line,
			        "[pipeline \"%s\"] needs the CodePipeline's name, e.g. name = "
			        "%s-release",
			        p->name, c->app ? c->app : p->name);
	}
	for (size_t i = 0; i < c->n_stages; i++) {
		struct es_stage_conf *s = &c->stages[i];
		if (s->pipeline_stage && !s->pipeline)
			return fail_at(
			        c, line_of(text, "stage", s->name, "pipeline-stage"),
			        "[stage \"%s\"] has pipeline-stage = %s but no pipeline = …; "
			        "name the [pipeline] that deploys it",
			        s->name, s->pipeline_stage);
		if (!s->pipeline)
			continue;
		if (!es_config_pipeline(c, s->pipeline))
			return fail_at(
			        c, line_of(text, "stage", s->name, "pipeline"),
			        "pipeline = %s: no [pipeline \"%s\"] section names a CodePipeline "
			        "(name = …)",
			        s->pipeline, s->pipeline);
		if (!s->pipeline_stage)
			return fail_at(
			        c, line_of(text, "stage", s->name, "pipeline"),
			        "[stage \"%s\"] is deployed by pipeline %s: add pipeline-stage = "
			        "the pipeline's stage that deploys it",
			        s->name, s->pipeline);
	}
	return ES_OK;
}

void es_conf_pipeline_free(struct es_config *c)
{
	for (size_t i = 0; i < c->n_pipelines; i++) {
		free(c->pipelines[i].name);
		free(c->pipelines[i].pipeline);
	}
	free(c->pipelines);
	for (size_t i = 0; i < c->n_stages; i++) {
		free(c->stages[i].pipeline);
		free(c->stages[i].pipeline_stage);
	}
	for (size_t i = 0; i < c->n_checks; i++)
		free(c->checks[i].lambda);
}

const struct es_pipeline_conf *es_config_pipeline(const struct es_config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_pipelines; i++)
		if (strcmp(c->pipelines[i].name, name) == 0)
			return &c->pipelines[i];
	return NULL;
}

int es_config_refuse_pipeline_stage(const struct es_config *c, const char *stage,
                                    const char *command)
{
	const struct es_stage_conf *s = NULL;
	const struct es_pipeline_conf *p;

	/* not es_config_stage(): conf.c calls into this file, not the other way */
	for (size_t i = 0; c && stage && i < c->n_stages; i++)
		if (strcmp(c->stages[i].name, stage) == 0)
			s = &c->stages[i];
	if (!s || !s->pipeline)
		return ES_OK;
	p = es_config_pipeline(c, s->pipeline);
	return es_fail(ES_EREFUSED,
	               "%s is deployed by pipeline %s (stage %s), not by edgeship's %s: release "
	               "it with `edgeship pipeline start`, approve with `edgeship pipeline "
	               "approve`",
	               stage, p ? p->pipeline : s->pipeline, s->pipeline_stage, command);
}
