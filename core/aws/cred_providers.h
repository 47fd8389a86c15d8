/* The credential providers the chain in credentials.c calls: a profile's
 * credential_process (cred_process.c), the container endpoint and EC2
 * instance metadata (cred_metadata.c). Internal to core/aws. */
#ifndef ES_CRED_PROVIDERS_H
#define ES_CRED_PROVIDERS_H

#include <stddef.h>

#include "credentials.h"

/* ---- providers: each fills out (which the caller then owns) or fails */

/* Run a profile's credential_process command without a shell (split by
 * es_cred_split_command, the program found in PATH), stopping it after
 * timeout_ms.  Never ES_ENOTFOUND: a configured command that fails is an
 * error. */
int es_cred_from_process(const char *profile, const char *cmd, long timeout_ms,
                         struct es_credentials *out);

/* Split a command line into words as botocore does on POSIX (Python's
 * shlex.split): blanks separate words; single quotes keep everything
 * literally; inside double quotes a backslash escapes only '"' and '\';
 * elsewhere a backslash escapes the next character. Nothing else is special:
 * ; | $( ) ` * ~ and # are ordinary characters. On success *argv is a
 * NULL-terminated array (the caller frees it with es_cred_argv_free) of
 * *argc >= 1 words. ES_EINVAL for an unterminated quote, a trailing
 * backslash or an empty command; the message never quotes the command. */
int es_cred_split_command(const char *cmd, char ***argv, size_t *argc);
void es_cred_argv_free(char **argv);

/* The ECS/EKS container endpoint, timeout_ms per attempt.  ES_ENOTFOUND with
 * a reason in why when AWS_CONTAINER_CREDENTIALS_* is unset; once set, any
 * failure is an error. */
int es_cred_from_container(long timeout_ms, struct es_credentials *out, char *why, size_t len);

/* EC2 instance metadata over IMDSv2, timeout_ms per attempt.  Every failure
 * but running out of memory is ES_ENOTFOUND with a reason in why. */
int es_cred_from_imds(long timeout_ms, struct es_credentials *out, char *why, size_t len);

#endif
