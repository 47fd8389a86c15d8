/* The credential providers the chain in credentials.c calls: a profile's
 * credential_process (cred_process.c), the container endpoint and EC2
 * instance metadata (cred_metadata.c). Internal to core/aws. */
#ifndef ES_CRED_PROVIDERS_H
#define ES_CRED_PROVIDERS_H

#include <stddef.h>

#include "credentials.h"

/* ---- providers: each fills out (which the caller then owns) or fails */

/* Run a profile's credential_process command through /bin/sh, stopping it
 * after timeout_ms.  Never ES_ENOTFOUND: a configured command that fails is
 * an error. */
int es_cred_from_process(const char *profile, const char *cmd, long timeout_ms,
                         struct es_credentials *out);

/* The ECS/EKS container endpoint, timeout_ms per attempt.  ES_ENOTFOUND with
 * a reason in why when AWS_CONTAINER_CREDENTIALS_* is unset; once set, any
 * failure is an error. */
int es_cred_from_container(long timeout_ms, struct es_credentials *out, char *why, size_t len);

/* EC2 instance metadata over IMDSv2, timeout_ms per attempt.  Every failure
 * but running out of memory is ES_ENOTFOUND with a reason in why. */
int es_cred_from_imds(long timeout_ms, struct es_credentials *out, char *why, size_t len);

#endif
