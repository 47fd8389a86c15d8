/* Who each stage acts as (stage_identity.h). */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "base/error.h"
#include "stage_identity.h"

int es_stage_identities(struct es_aws_client *base, const struct es_config *conf,
                        struct es_stage_identity **out, size_t *n)
{
	int status = ES_OK;

	*out = NULL;
	*n = 0;
	if (!conf || !conf->n_stages)
		return ES_OK;
	if (!(*out = calloc(conf->n_stages, sizeof(**out))))
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < conf->n_stages; i++) {
		const struct es_stage_conf *st = &conf->stages[i];
		struct es_stage_identity *si;
		struct es_aws_client *c;
		struct es_identity id;

		if (!st->creds.profile && !st->creds.role_arn)
			continue;
		si = &(*out)[(*n)++];
		snprintf(si->stage, sizeof(si->stage), "%s", st->name);
		memset(&id, 0, sizeof(id));
		c = es_accounts_client(base, conf, st);
		if (!c || es_identity_fetch(c, &id) != ES_OK) {
			es_error_format(es_error_last(), si->error, sizeof(si->error));
			status = ES_ERR;
		} else {
			snprintf(si->account, sizeof(si->account), "%s",
			         id.account ? id.account : "");
			snprintf(si->arn, sizeof(si->arn), "%s", id.arn ? id.arn : "");
		}
		es_identity_free(&id);
	}
	return status;
}

char *es_identity_json_stages(const struct es_identity *id, const struct es_stage_identity *s,
                              size_t n)
{
	char *j = es_identity_json(id);
	json_t *o = j ? json_loads(j, 0, NULL) : NULL;
	json_t *arr = json_array();
	char *out = NULL;

	for (size_t i = 0; o && arr && i < n; i++) {
		json_t *e = s[i].error[0] ? json_pack("{s:s,s:s}", "stage", s[i].stage, "error",
		                                      s[i].error)
		                          : json_pack("{s:s,s:s,s:s}", "stage", s[i].stage,
		                                      "account", s[i].account, "arn", s[i].arn);
		json_array_append_new(arr, e);
	}
	if (o && arr && n)
		json_object_set(o, "stages", arr);
	if (o)
		out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	json_decref(o);
	free(j);
	return out;
}
