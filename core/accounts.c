/* One client per distinct credentials of edgeship.conf's stages and
 * ledger, attached to the base client that asked first. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "aws/client.h"
#include "base/error.h"
#include "conf_accounts.h"
#include "identity.h"

/* A stage's or the ledger's credentials each have at most one client. */
#define MAX_ACCOUNT_CLIENTS 8

struct account_client {
	struct es_creds_conf creds; /* owned copies */
	struct es_aws_client *client;
};

struct account_table {
	struct account_client items[MAX_ACCOUNT_CLIENTS];
	size_t n;
};

static const int table_key; /* the attachment's key */

static void creds_clear(struct es_creds_conf *k)
{
	free(k->profile);
	free(k->role_arn);
	free(k->external_id);
	free(k->session_name);
}

static void table_free(void *data)
{
	struct account_table *t = data;

	for (size_t i = 0; t && i < t->n; i++) {
		es_aws_client_free(t->items[i].client);
		creds_clear(&t->items[i].creds);
	}
	free(t);
}

static bool no_creds(const struct es_creds_conf *k)
{
	return !k->profile && !k->role_arn;
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct es_aws_client *client_for(struct es_aws_client *base, const struct es_creds_conf *k)
{
	struct account_table *t = es_aws_attachment(base, &table_key);

	if (no_creds(k))
		return base;
	if (!t) {
		if (!(t = calloc(1, sizeof(*t)))) {
			es_fail(ES_ENOMEM, "out of memory");
			return NULL;
		}
		if (es_aws_attach(base, &table_key, t, table_free)) {
			free(t);
			return NULL;
		}
	}
	for (size_t i = 0; i < t->n; i++)
		if (es_creds_conf_same(&t->items[i].creds, k))
			return t->items[i].client;
	if (t->n == MAX_ACCOUNT_CLIENTS) {
		es_fail(ES_ECONFIG, "more than %d different credentials in edgeship.conf",
		        MAX_ACCOUNT_CLIENTS);
		return NULL;
	}
	/* A role is assumed from the base client's chain (its profile); a
	 * profile replaces that chain. */
	struct es_aws_options o = {
	        .profile = k->profile ? k->profile : es_aws_settings_of(base)->profile,
	        .region = es_aws_region(base),
	        .lazy_credentials = true,
	        .role = {k->role_arn, k->external_id, k->session_name},
	};
	struct account_client *a = &t->items[t->n];
	if (es_aws_open(es_aws_loop(base), &o, &a->client)) {
		if (k->profile)
			es_fail_prefix("edgeship.conf names profile %s", k->profile);
		return NULL;
	}
	a->creds = (struct es_creds_conf){dup0(k->profile), dup0(k->role_arn), dup0(k->external_id),
	                                  dup0(k->session_name)};
	t->n++;
	return a->client;
}

struct es_aws_client *es_accounts_client(struct es_aws_client *base, const struct es_config *conf,
                                         const struct es_stage_conf *st)
{
	(void)conf;
	return st ? client_for(base, &st->creds) : base;
}

struct es_aws_client *es_accounts_stage_client(struct es_aws_client *base,
                                               const struct es_config *conf, size_t i)
{
	struct es_aws_client *c =
	        i < conf->n_stages ? es_accounts_client(base, conf, &conf->stages[i]) : NULL;

	return c ? c : base;
}

struct es_aws_client *es_accounts_ledger_client(struct es_aws_client *base,
                                                const struct es_config *conf)
{
	return client_for(base, &conf->ledger_creds);
}

int es_accounts_open_all(struct es_aws_client *base, const struct es_config *conf)
{
	for (size_t i = 0; i < conf->n_stages; i++)
		if (!es_accounts_client(base, conf, &conf->stages[i]))
			return es_fail_prefix("stage %s", conf->stages[i].name);
	if (!es_accounts_ledger_client(base, conf))
		return es_fail_prefix("[ledger]");
	return ES_OK;
}

int es_ledger_open_home(struct es_aws_client *base, const struct es_config *conf,
                        const struct es_stage_conf *stage, struct es_ledger **out)
{
	struct es_aws_client *home = es_accounts_ledger_client(base, conf);
	struct es_aws_client *actor = es_accounts_client(base, conf, stage);
	int rc;

	*out = NULL;
	if (!home || !actor)
		return es_fail_prefix("the ledger's client");
	rc = es_ledger_open(home, conf->ledger_bucket ? conf->ledger_bucket : conf->bucket,
	                    conf->prefix, out);
	if (!rc && home != actor)
		es_ledger_set_actor(*out, actor);
	return rc;
}

int es_accounts_account(struct es_aws_client *c, char out[13])
{
	const struct es_caller_identity *id;
	int rc;

	out[0] = '\0';
	if (!c)
		return es_fail(ES_ECREDS, "no client");
	rc = es_identity_wait(c, &id);
	if (rc)
		return rc;
	snprintf(out, 13, "%s", id->account ? id->account : "");
	return ES_OK;
}

const char *es_accounts_role_of(const struct es_aws_client *base, const struct es_config *conf,
                                const struct es_aws_client *c)
{
	struct account_table *t = es_aws_attachment(base, &table_key);

	(void)conf;
	for (size_t i = 0; t && i < t->n; i++)
		if (t->items[i].client == c)
			return t->items[i].creds.role_arn;
	return NULL;
}
