/* CloudFront over rest-xml (API 2020-05-31, global endpoint signed for
 * us-east-1): distributions and invalidations. */
#ifndef ES_CLOUDFRONT_H
#define ES_CLOUDFRONT_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"

#define ES_CF_API   "/2020-05-31"
#define ES_CF_XMLNS "http://cloudfront.amazonaws.com/doc/2020-05-31/"

struct es_distribution {
	char *id;
	char *status; /* "InProgress" | "Deployed" */
	char *domain_name;
	char *last_modified; /* ISO 8601 */
	char *comment;
	char *etag;                    /* from GetDistribution only */
	char *lambda_arn;              /* default behaviour's first Lambda@Edge association */
	int invalidations_in_progress; /* from GetDistribution only */
	char **aliases;                /* CNAMEs */
	size_t n_aliases;
	bool staging;       /* a continuous deployment staging distribution */
	char *cd_policy_id; /* the attached continuous deployment policy, NULL when none */
};

struct es_distribution_list {
	struct es_distribution *items;
	size_t n;
};

int es_cf_list_distributions_call(struct es_aws_call *call, const char *marker);
int es_cf_get_distribution_call(struct es_aws_call *call, const char *id);
int es_cf_get_invalidation_call(struct es_aws_call *call, const char *distribution_id,
                                const char *invalidation_id);
/* caller_reference and paths (n_paths >= 1) as given. */
int es_cf_create_invalidation_call(struct es_aws_call *call, const char *distribution_id,
                                   const char *caller_reference, const char *const *paths,
                                   size_t n_paths);

/* Distributions of one ListDistributions answer; *next_marker (malloc'd)
 * is set when more pages follow. */
int es_cf_parse_distribution_list(const char *xml, size_t len, struct es_distribution_list *out,
                                  char **next_marker);

/* A GetDistribution answer: status, domain, last change and the Lambda ARN;
 * etag (the answer's ETag header, may be NULL) is copied into out. */
int es_cf_parse_distribution(const char *xml, size_t len, const char *etag,
                             struct es_distribution *out);

/* GetDistribution: status, domain, last change, ETag and the Lambda ARN. */
int es_cf_get_distribution(struct es_aws_client *c, const char *id, struct es_distribution *out);

/* Create an invalidation; *id and *status (malloc'd) from the answer. */
int es_cf_create_invalidation(struct es_aws_client *c, const char *distribution_id,
                              const char *caller_reference, const char *const *paths,
                              size_t n_paths, char **id, char **status);
/* Current status of an invalidation (malloc'd). */
int es_cf_get_invalidation(struct es_aws_client *c, const char *distribution_id,
                           const char *invalidation_id, char **status);

/* All distributions, following NextMarker pages. */
int es_cf_list_distributions(struct es_aws_client *c, struct es_distribution_list *out);
void es_distribution_list_free(struct es_distribution_list *l);
void es_distribution_free(struct es_distribution *d);

#endif
