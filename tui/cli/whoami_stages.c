/* whoami and the stages in accounts of their own (whoami_stages.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cmd.h"
#include "stage_identity.h"
#include "whoami_stages.h"

int es_whoami_print(const struct es_cli *cli, struct es_aws_client *base,
                    const struct es_identity *id)
{
	struct ctx c;
	struct es_cli quiet = *cli;
	struct es_stage_identity *s = NULL;
	size_t n = 0;
	int rc = ES_OK, code;

	/* No repository or no edgeship.conf is not an error here. */
	quiet.stage = NULL;
	if (ctx_open_config(&quiet, &c) == ES_OK)
		rc = es_stage_identities(base, c.conf, &s, &n);
	ctx_free(&c);
	code = rc ? ES_EXIT_FAILURE : ES_EXIT_OK;
	if (cli->json) {
		char *j = es_identity_json_stages(id, s, n);
		if (j)
			puts(j);
		else
			code = ES_EXIT_FAILURE;
		free(j);
	} else {
		es_printf("arn         %s\n", id->arn);
		es_printf("account     %s\n", id->account);
		es_printf("profile     %s\n", id->profile);
		es_printf("region      %s (%s)\n", id->region, id->region_source);
		es_printf("endpoint    %s (%s)\n", id->endpoint, id->endpoint_source);
		es_printf("credentials %s, key %s%s\n", id->credential_source, id->access_key_hint,
		          id->temporary ? ", temporary" : "");
		for (size_t i = 0; i < n; i++) {
			if (s[i].error[0])
				es_printf("stage %-11s cannot reach its account: %s\n", s[i].stage,
				          s[i].error);
			else
				es_printf("stage %-11s account %s  %s\n", s[i].stage, s[i].account,
				          s[i].arn);
		}
	}
	free(s);
	return code;
}
