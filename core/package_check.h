/* Checks of a packaged template made before anything is uploaded: every
 * function's zip holds its handler's module, and functions that CloudFront
 * runs at the edge keep to Lambda@Edge's rules. */
#ifndef ES_PACKAGE_CHECK_H
#define ES_PACKAGE_CHECK_H

#include <stddef.h>

#include <jansson.h>

#include "package.h"

/* Check tpl (rewritten by packaging: code properties point at keys in
 * bucket) against the artifacts made for it. lines and shown (the
 * template's name) place the messages. ES_EREFUSED naming the resource,
 * the rule and what to do when a check fails. */
int es_package_check(const json_t *tpl, const json_t *lines, const char *shown, const char *bucket,
                     const struct es_artifact *arts, size_t n_arts);

#endif
