/* The warning before a deploy into a drifted stage (see drift_warn.h). */
#include "config.h"

#include <string.h>

#include "cli.h"
#include "drift_warn.h"
#include "ops.h"

bool drift_warn(FILE *out, struct es_aws_client *aws, const struct es_config *conf,
                const char *stage)
{
	struct es_drift_report r;
	int rc = es_drift_last(aws, conf, stage, &r);

	if (rc || strcmp(r.drift_status, "DRIFTED") != 0) {
		es_drift_report_free(&r);
		return false;
	}
	es_fprintf(out,
	           "warning: the last drift detection found %s changed outside "
	           "CloudFormation; this deploy overwrites those changes:\n",
	           r.stack);
	for (size_t i = 0; i < r.n; i++) {
		const struct es_resource_drift *d = &r.resources[i];
		if (strcmp(d->status, "MODIFIED") != 0 && strcmp(d->status, "DELETED") != 0)
			continue;
		es_fprintf(out, "  %s (%s) %s\n", d->logical_id, d->type, d->status);
		for (size_t j = 0; j < d->n_diffs; j++)
			es_fprintf(out, "    %s: expected %s, actual %s\n", d->diffs[j].path,
			           d->diffs[j].expected, d->diffs[j].actual);
	}
	es_drift_report_free(&r);
	return true;
}
