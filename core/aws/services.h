/* Shared plumbing for the service modules (cloudformation.c, cloudfront.c,
 * s3.c, lambda.c, codepipeline.c): send a call synchronously and hand back
 * the parsed XML or JSON answer. */
#ifndef ES_SERVICES_H
#define ES_SERVICES_H

#include <jansson.h>
#include <libxml/tree.h>

#include "aws.h"

/* Send call (consumed) and parse the XML answer into *doc (caller frees
 * with xmlFreeDoc). */
int es_svc_sync_xml(struct es_aws_client *c, struct es_aws_call *call, xmlDoc **doc);

/* Send call (consumed) and parse the JSON answer into *root (caller
 * decrefs). An empty body gives an empty object. */
int es_svc_sync_json(struct es_aws_client *c, struct es_aws_call *call, json_t **root);

/* A JSON-1.1 call (CodePipeline style): POST / with X-Amz-Target. body is
 * stolen (decref'd). */
int es_svc_json_call(struct es_aws_call *call, const char *service, const char *target_prefix,
                     const char *operation, json_t *body);

/* strdup of a JSON string member, or NULL. */
char *es_svc_json_str(const json_t *obj, const char *key);

#endif
