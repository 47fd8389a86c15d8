/* Where AWS settings come from (profile, region, retries) and which URL each
 * service is called at, following the SDKs' order: AWS_ENDPOINT_URL_<SERVICE>,
 * the profile's services section, AWS_ENDPOINT_URL, the profile's
 * endpoint_url, then the public AWS endpoint. */
#ifndef ES_ENDPOINTS_H
#define ES_ENDPOINTS_H

#include <stdbool.h>

#include "awsconfig.h"

struct es_aws_settings {
	char *profile; /* resolved profile name; owned */
	char *region;  /* resolved region or NULL (caller decides); owned */
	/* "override", "AWS_REGION", "AWS_DEFAULT_REGION", "profile dev", "default" */
	char region_source[64];
	/* AWS_MAX_ATTEMPTS or profile max_attempts; default 3; 1..20 */
	int max_attempts;
	/* AWS_RETRY_MODE or profile retry_mode: legacy, standard (default), adaptive */
	char retry_mode[16];
	struct es_awsconfig *config; /* owned */
};

/* Resolve the profile (profile_override, $AWS_PROFILE, "default"), read the
 * AWS files, and settle region, max_attempts and retry_mode.  A non-NULL
 * region_override wins over the environment (source "override").  Bad values
 * fail with ES_ECONFIG naming the variable or profile key.  On success the
 * caller owns out's contents (es_settings_free()); on failure out is empty. */
int es_settings_load(const char *profile_override, const char *region_override,
                     struct es_aws_settings *out);

/* Free what s owns and empty it; s itself is the caller's. */
void es_settings_free(struct es_aws_settings *s);

struct es_endpoint {
	char *url;  /* scheme://host[:port][/base], no trailing slash; owned */
	char *host; /* host[:port] as the Host header reads (no default port); owned */
	char signing_region[32];
	/* "cloudformation", "cloudfront", "s3", "lambda", "codepipeline", "sts" */
	char signing_name[32];
	bool path_style; /* S3 behind an overridden endpoint: /bucket/key addressing */
	bool overridden;
	/* "AWS_ENDPOINT_URL_S3", "services section", "AWS_ENDPOINT_URL",
	 * "profile endpoint_url" or "default" */
	char source[64];
};

/* The endpoint for service_id ("sts", "cloudformation", "cloudfront", "s3",
 * "lambda", "codepipeline").  Overrides are ignored when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or the profile's
 * ignore_configured_endpoint_urls).  Without a region, us-east-1.  Defaults:
 * https://SERVICE.REGION.amazonaws.com (.com.cn in China) — S3 too, even in
 * us-east-1 — and CloudFront's global https://cloudfront.amazonaws.com,
 * always signed for us-east-1.  A malformed override fails with ES_ECONFIG
 * naming where it came from.  The caller owns out's contents
 * (es_endpoint_free()). */
int es_endpoint_resolve(const struct es_aws_settings *s, const char *service_id,
                        struct es_endpoint *out);

/* Free what e owns and empty it. */
void es_endpoint_free(struct es_endpoint *e);

#endif
