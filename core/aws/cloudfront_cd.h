/* CloudFront continuous deployment over rest-xml (API 2020-05-31): the
 * staging distribution (CopyDistribution), continuous deployment policies,
 * a distribution's whole config to edit and send back, and promotion
 * (UpdateDistributionWithStagingConfig). Blocking calls for the canary
 * (core/canary.h); each turns the client's loop until its answer is in. */
#ifndef ES_CLOUDFRONT_CD_H
#define ES_CLOUDFRONT_CD_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "cloudfront.h"

/* CloudFront's limits on a policy's traffic. */
#define ES_CD_MAX_WEIGHT    0.15
#define ES_CD_MIN_TTL       300
#define ES_CD_MAX_TTL       3600
#define ES_CD_HEADER_PREFIX "aws-cf-cd-"

/* Which requests the staging distribution gets. */
struct es_cd_traffic {
	bool header_based; /* SingleHeader, else SingleWeight */
	double weight;     /* SingleWeight: 0 to ES_CD_MAX_WEIGHT (0.05 is 5 %) */
	int idle_ttl;      /* SingleWeight stickiness, seconds; 0: none */
	int max_ttl;
	char header[128]; /* SingleHeader: aws-cf-cd-NAME */
	char value[256];
};

struct es_cd_policy {
	char *id;
	char *etag;
	bool enabled;
	char *staging_dns; /* the first StagingDistributionDnsNames item */
	struct es_cd_traffic traffic;
};

/* ES_OK when t is within CloudFront's limits, else ES_EINVAL saying which. */
int es_cd_traffic_check(const struct es_cd_traffic *t);

/* CopyDistribution of primary (Staging: true, If-Match primary_etag);
 * staging_out gets the copy (id, domain, status, etag). */
int es_cf_copy_distribution(struct es_aws_client *c, const char *primary_id,
                            const char *primary_etag, const char *caller_reference,
                            struct es_distribution *staging_out);

/* CreateContinuousDeploymentPolicy for staging_dns; t is checked first
 * (ES_EINVAL, nothing sent). A policy answer's ETag is in out->etag;
 * NoSuch* answers are ES_ENOTFOUND, other AWS errors ES_EAWS with the
 * code (PreconditionFailed, ContinuousDeploymentPolicyInUse, …). */
int es_cf_create_cd_policy(struct es_aws_client *c, const char *staging_dns, bool enabled,
                           const struct es_cd_traffic *t, struct es_cd_policy *out);
/* GetContinuousDeploymentPolicy: ES_ENOTFOUND when there is none by that id. */
int es_cf_get_cd_policy(struct es_aws_client *c, const char *id, struct es_cd_policy *out);
/* UpdateContinuousDeploymentPolicy (If-Match etag); out gets the new state.
 * t is checked (es_cd_traffic_check) only when enabled; disabling may pass
 * t NULL, which leaves TrafficConfig out. */
int es_cf_update_cd_policy(struct es_aws_client *c, const char *id, const char *etag,
                           const char *staging_dns, bool enabled, const struct es_cd_traffic *t,
                           struct es_cd_policy *out);
/* DeleteContinuousDeploymentPolicy (If-Match etag). */
int es_cf_delete_cd_policy(struct es_aws_client *c, const char *id, const char *etag);
void es_cd_policy_free(struct es_cd_policy *p);
/* A ContinuousDeploymentPolicy answer (Create, Get, Update); etag (the
 * answer's ETag header, may be NULL) is copied into out. */
int es_cf_parse_cd_policy(const char *xml, size_t len, const char *etag, struct es_cd_policy *out);

/* GetDistributionConfig: the <DistributionConfig> document as sent (malloc'd)
 * and its ETag, to edit with the functions below and send back. */
int es_cf_get_distribution_config(struct es_aws_client *c, const char *id, char **xml, char **etag);
/* UpdateDistribution with xml (If-Match etag); *new_etag (malloc'd, may be NULL). */
int es_cf_update_distribution_config(struct es_aws_client *c, const char *id, const char *etag,
                                     const char *xml, char **new_etag);

/* Edits of a <DistributionConfig> document; *out is a new document (malloc'd). */
/* Set ContinuousDeploymentPolicyId (adding the element when missing); "" detaches. */
int es_cf_config_set_policy(const char *xml, const char *policy_id, char **out);
/* Set Enabled (a distribution is disabled before CloudFront deletes it). */
int es_cf_config_set_enabled(const char *xml, bool enabled, char **out);
/* The policy id the config names ("" when none; malloc'd). */
int es_cf_config_policy(const char *xml, char **policy_id);
/* Replace every LambdaFunctionARN whose function (the ARN without its
 * version) is from_function_arn with to_version_arn; *replaced counts them. */
int es_cf_config_replace_lambda(const char *xml, const char *from_function_arn,
                                const char *to_version_arn, int *replaced, char **out);
/* Every LambdaFunctionARN of the config, in document order (malloc'd
 * array of malloc'd strings; free with es_strv_free-like loop). */
int es_cf_config_lambdas(const char *xml, char ***arns, size_t *n);

/* UpdateDistributionWithStagingConfig: primary takes staging's config
 * (If-Match "primary_etag,staging_etag"); *new_etag is the primary's. */
int es_cf_promote_staging(struct es_aws_client *c, const char *primary_id, const char *primary_etag,
                          const char *staging_id, const char *staging_etag, char **new_etag);

/* DeleteDistribution (If-Match etag): CloudFront deletes only a disabled,
 * Deployed distribution. */
int es_cf_delete_distribution(struct es_aws_client *c, const char *id, const char *etag);

/* The distribution whose DomainName is domain (ListDistributions pages), id
 * malloc'd; ES_ENOTFOUND when none. */
int es_cf_find_distribution_by_domain(struct es_aws_client *c, const char *domain, char **id);

/* The requests of the mutating calls above, built but not sent, each
 * marked mutating (aws.h); for tests and traces. */
int es_cf_copy_distribution_call(struct es_aws_call *call, const char *primary_id,
                                 const char *primary_etag, const char *caller_reference);
int es_cf_create_cd_policy_call(struct es_aws_call *call, const char *staging_dns, bool enabled,
                                const struct es_cd_traffic *t);
int es_cf_update_cd_policy_call(struct es_aws_call *call, const char *id, const char *etag,
                                const char *staging_dns, bool enabled,
                                const struct es_cd_traffic *t);
int es_cf_delete_cd_policy_call(struct es_aws_call *call, const char *id, const char *etag);
int es_cf_update_distribution_config_call(struct es_aws_call *call, const char *id,
                                          const char *etag, const char *xml);
int es_cf_promote_staging_call(struct es_aws_call *call, const char *primary_id,
                               const char *primary_etag, const char *staging_id,
                               const char *staging_etag);

#endif
