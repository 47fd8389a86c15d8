/* Stages in AWS accounts of their own: the client that reaches each
 * stage's account (its profile or role from edgeship.conf), the one that
 * reaches the ledger's home, and which account each is. The clients hang
 * off a base client (the command's or the job's, on its loop) and go with
 * it; a stage without credentials of its own is the base client itself. */
#ifndef ES_ACCOUNTS_H
#define ES_ACCOUNTS_H

#include "aws/aws.h"
#include "conf.h"
#include "ledger.h"

/* The client for stage st: base when st names no profile or role, else one
 * of its own on base's loop (opened once per distinct credentials; a role
 * is assumed from base's chain and refreshed before it expires). NULL with
 * the last error set when it cannot be opened (a profile that does not
 * exist). Borrowed: valid as long as base. */
struct es_aws_client *es_accounts_client(struct es_aws_client *base, const struct es_config *conf,
                                         const struct es_stage_conf *st);

/* es_accounts_client() of conf's i-th stage, or base when it cannot be
 * opened (never NULL): for the dashboard's model, which opened every
 * client at start (es_accounts_open_all) and reported a failure then. */
struct es_aws_client *es_accounts_stage_client(struct es_aws_client *base,
                                               const struct es_config *conf, size_t i);

/* The client that reaches the ledger's bucket ([ledger] profile/role-arn),
 * or base when [ledger] names none. Borrowed, as above. */
struct es_aws_client *es_accounts_ledger_client(struct es_aws_client *base,
                                                const struct es_config *conf);

/* Open every stage's client and the ledger's now, so a configuration
 * mistake (a profile not in ~/.aws/config) is told before anything runs. */
int es_accounts_open_all(struct es_aws_client *base, const struct es_config *conf);

/* The ledger in its home ([ledger] bucket, else [app] bucket), read and
 * written with the ledger's client; who acts (and the account in each
 * record) is the caller identity of stage's client (stage NULL: base's). */
int es_ledger_open_home(struct es_aws_client *base, const struct es_config *conf,
                        const struct es_stage_conf *stage, struct es_ledger **out);

/* The 12-digit account of c's credentials into out (13 bytes), from STS
 * GetCallerIdentity, asked once per client (es_identity_wait: headless
 * commands only). */
int es_accounts_account(struct es_aws_client *c, char out[13]);

/* The role c assumes, or NULL: for messages ("account X, role Y"). */
const char *es_accounts_role_of(const struct es_aws_client *base, const struct es_config *conf,
                                const struct es_aws_client *c);

#endif
