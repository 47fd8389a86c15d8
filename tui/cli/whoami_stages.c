/* whoami's stages in accounts of their own (see whoami_stages.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "base/error.h"
#include "base/text.h"
#include "cmd.h"
#include "identity.h"
#include "whoami_stages.h"

static bool own_account(const struct es_stage_conf *st)
{
	return st->creds.profile || st->creds.role_arn;
}

int es_whoami_stages(const struct es_cli *cli, struct es_aws_client *base, json_t *stages)
{
	struct ctx c;
	struct es_cli quiet = *cli;
	int status = ES_OK;

	/* No repository or no edgeship.conf is not an error here. */
	quiet.stage = NULL;
	if (ctx_open_config(&quiet, &c) != ES_OK) {
		ctx_free(&c);
		return ES_OK;
	}
	for (size_t i = 0; i < c.conf->n_stages; i++) {
		const struct es_stage_conf *st = &c.conf->stages[i];
		struct es_aws_client *sc;
		struct es_identity id;
		char line[600];

		if (!own_account(st))
			continue;
		memset(&id, 0, sizeof(id));
		sc = es_accounts_client(base, c.conf, st);
		if (!sc || es_identity_fetch(sc, &id) != ES_OK) {
			es_error_format(es_error_last(), line, sizeof(line));
			if (stages)
				json_array_append_new(stages, json_pack("{s:s,s:s}", "stage",
				                                        st->name, "error", line));
			else
				es_printf("stage %-11s cannot reach its account: %s\n", st->name,
				          line);
			status = ES_ERR;
		} else if (stages) {
			json_array_append_new(stages,
			                      json_pack("{s:s,s:s,s:s}", "stage", st->name,
			                                "account", id.account ? id.account : "",
			                                "arn", id.arn ? id.arn : ""));
		} else {
			es_printf("stage %-11s account %s  %s\n", st->name,
			          id.account ? id.account : "", id.arn ? id.arn : "");
		}
		es_identity_free(&id);
	}
	ctx_free(&c);
	return status;
}
