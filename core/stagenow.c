/* Reading a stage's stack and distribution in one go. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "aws/cloudformation.h"
#include "stagenow.h"

void es_stage_now_free(struct es_stage_now *s)
{
	es_distribution_free(&s->dist);
}

bool es_stack_busy(const char *status)
{
	return es_cfn_status_in_progress(status) && strcmp(status, "REVIEW_IN_PROGRESS") != 0;
}

int es_stage_now_read(struct es_aws_client *aws, const struct es_stage_conf *sc,
                      struct es_stage_now *out)
{
	struct es_stack st;
	const char *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_cfn_describe_stack(aws, sc->stack, &st);
	if (rc == ES_ENOTFOUND)
		return ES_OK;
	if (rc)
		return es_fail_prefix("reading stack %s", sc->stack);
	out->exists = true;
	snprintf(out->status, sizeof(out->status), "%s", st.status);
	if ((v = es_kv_get(st.tags, st.n_tags, "edgeship:commit")))
		snprintf(out->commit, sizeof(out->commit), "%s", v);
	if ((v = es_kv_get(st.tags, st.n_tags, "edgeship:release")))
		snprintf(out->release, sizeof(out->release), "%s", v);
	if ((v = es_kv_get(st.tags, st.n_tags, "edgeship:template")))
		snprintf(out->template_sha256, sizeof(out->template_sha256), "%s", v);
	es_stack_free(&st);

	rc = es_cfn_stack_distribution(aws, sc->stack, out->distribution_id,
	                               sizeof(out->distribution_id));
	if (rc)
		return es_fail_prefix("reading the resources of %s", sc->stack);
	if (out->distribution_id[0]) {
		rc = es_cf_get_distribution(aws, out->distribution_id, &out->dist);
		if (rc)
			return es_fail_prefix("reading distribution %s", out->distribution_id);
	}
	return ES_OK;
}
