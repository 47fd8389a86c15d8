/* A stage's `canary` key: which requests the staging distribution of a
 * canary gets (core/canary.h). Written
 *   canary = weight 5%                    (at most 15 %, CloudFront's limit)
 *   canary = weight 5% sticky 10m         (session stickiness: idle 10m, at most 1h)
 *   canary = weight 5% sticky 10m/30m     (idle / maximum)
 *   canary = header aws-cf-cd-canary: yes (requests carrying that header) */
#ifndef ES_CANARY_CONF_H
#define ES_CANARY_CONF_H

#include <stddef.h>

#include "aws/cloudfront_cd.h"
#include "conf.h"

/* Parse spec into out; ES_EINVAL with what to write in msg. */
int es_canary_parse(const char *spec, struct es_cd_traffic *out, char *msg, size_t len);

/* Parse "5%", "5" or "0.05"-free percentages: the weight (0.05), or -1. */
double es_canary_parse_weight(const char *text);

/* NULL when s's canary key is fine (or absent); else "canary" with why in msg. */
const char *es_canary_conf_check(const struct es_stage_conf *s, char *msg, size_t len);

/* "weight 5% (sticky 600s/3600s)" or "header aws-cf-cd-x: yes" into buf. */
const char *es_canary_describe(const struct es_cd_traffic *t, char *buf, size_t len);

#endif
