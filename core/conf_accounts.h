/* The keys of edgeship.conf that put stages in AWS accounts of their own:
 * per stage profile / role-arn (external-id, session-name) and bucket, and
 * the [ledger] section that names the ledger's one home. conf.c reads them
 * through its key table; this file checks them and frees them. */
#ifndef ES_CONF_ACCOUNTS_H
#define ES_CONF_ACCOUNTS_H

#include "conf.h"

/* conf.c's helpers, handed to the checks here. */
struct es_conf_helpers {
	/* Line of key in [section "sub"] of text (0: not found). */
	int (*find_line)(const char *text, const char *section, const char *sub, const char *key);
	/* Why name breaks S3's bucket naming rules, or NULL. */
	const char *(*bad_bucket)(const char *name);
};

/* Check the account keys of a loaded c (text: the file, for line numbers)
 * and fill the defaults (each stage's bucket, the ledger's bucket).
 * ES_ECONFIG with "FILE:LINE: message". */
int es_conf_accounts_check(struct es_config *c, const char *text, const struct es_conf_helpers *h);

/* Why arn is not an IAM role ARN, or NULL (also used for the account). */
const char *es_conf_bad_role_arn(const char *arn);

/* The 12-digit account of a role ARN into out (13 bytes), or "". */
void es_conf_role_account(const char *arn, char out[13]);

/* Whether two credential settings are the same (same client). */
bool es_creds_conf_same(const struct es_creds_conf *a, const struct es_creds_conf *b);

void es_conf_accounts_free_stage(struct es_stage_conf *s);
void es_conf_accounts_free(struct es_config *c);

#endif
