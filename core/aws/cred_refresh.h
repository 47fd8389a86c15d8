/* Resolving the credentials chain without holding up the loop: the chain
 * (which may run a credential_process, ask instance metadata or assume
 * roles) runs on a thread of its own; its AssumeRole calls are handed to the
 * client's loop and sent there; the result comes back on the loop. Internal
 * to core/aws (aws.c starts one per refresh). */
#ifndef ES_CRED_REFRESH_H
#define ES_CRED_REFRESH_H

#include "aws.h"
#include "base/loop.h"
#include "credentials.h"

struct es_cred_refresh;

/* On the loop, once: creds (then err is NULL) or NULL and why. creds is
 * valid only during the call. */
typedef void (*es_cred_refresh_done_fn)(const struct es_credentials *creds,
                                        const struct es_error *err, void *ud);

/* Resolve the chain for profile (NULL: AWS_PROFILE / default), reading the
 * AWS config files afresh; roles are assumed through ops with client, on
 * loop, the client's (ops NULL: role profiles fail). */
int es_cred_refresh_start(struct es_loop *loop, struct es_aws_client *client, const char *profile,
                          const struct es_cred_role *role, const char *region,
                          const struct es_assume_role_ops *ops, es_cred_refresh_done_fn done,
                          void *ud, struct es_cred_refresh **out);

/* The client is going: done is never called, an AssumeRole in flight is
 * cancelled, and the thread frees what is left when it ends. On the loop's
 * thread, not from inside done. */
void es_cred_refresh_abandon(struct es_cred_refresh *r);

#endif
