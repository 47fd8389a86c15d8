/* A promotion (or rollback) into a stage that keeps its artifacts in a
 * bucket of its own, maybe in another account: the validated release is
 * copied there by digest before the change set names it. On the deploy's
 * job. */
#include "config.h"

#include <string.h>

#include "accounts.h"
#include "aws/s3.h"
#include "deploy_int.h"
#include "release_copy.h"

static void log_line(void *ud, const char *line)
{
	es_dp_log(ud, "%s", line);
}

int es_dp_fetch_release(struct es_aws_client *base, struct es_aws_client *aws, struct es_deploy *d)
{
	const char *from = d->prep.from[0] ? d->prep.from : d->stage->promotes_from;
	const struct es_stage_conf *src = from ? es_config_stage(d->conf, from) : NULL;
	struct es_release_copy_result res;
	int rc;

	if (!src || !src->bucket || strcmp(src->bucket, d->conf->bucket) == 0)
		return ES_OK;
	if (!d->prep.from[0]) {
		/* A rollback: the release came here once already, unless it
		 * never left the stage before. */
		struct es_s3_head head;
		rc = es_s3_head_object(aws, d->conf->bucket, d->res.template_key, &head);
		if (rc)
			return es_fail_prefix("checking s3://%s/%s", d->conf->bucket,
			                      d->res.template_key);
		if (head.exists)
			return ES_OK;
	}
	struct es_aws_client *sa = es_accounts_client(base, d->conf, src);
	if (!sa)
		return es_fail_prefix("stage %s", src->name);
	rc = es_release_copy(sa, src->bucket, aws, d->conf->bucket, d->res.template_key,
	                     d->res.template_sha256, log_line, d, &res);
	if (rc)
		return rc;
	snprintf(d->res.template_key, sizeof(d->res.template_key), "%s", res.template_key);
	snprintf(d->res.template_sha256, sizeof(d->res.template_sha256), "%s", res.template_sha256);
	d->res.n_artifacts = res.n_objects;
	json_array_extend(d->artifacts, res.objects);
	es_release_copy_result_free(&res);
	return ES_OK;
}
