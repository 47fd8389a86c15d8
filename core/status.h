/* Where each stage stands: its stack, the commit and release it runs (from
 * the stack's tags), outputs, its distribution, and the last ledger record
 * for it, including actions that never recorded an outcome. */
#ifndef ES_STATUS_H
#define ES_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "aws/cloudformation.h"
#include "conf.h"
#include "ledger.h"
#include "lock.h"

struct es_stage_status {
	char stage[64];
	char stack[128];
	char account[13]; /* the AWS account its credentials reach ("" unknown) */
	bool exists;
	char stack_status[64];
	char status_reason[256];
	char last_updated[40];
	char commit[41];          /* from the edgeship:commit tag */
	char release[80];         /* edgeship:release */
	char template_sha256[65]; /* edgeship:template */
	struct es_kv *outputs;
	size_t n_outputs;
	char distribution_id[64]; /* the stack's AWS::CloudFront::Distribution */
	/* Its GetDistribution, as the dashboard reads it: InProgress until every
	 * edge has the newest change, then Deployed ("" when not read). */
	char distribution_status[16];
	char distribution_modified[40]; /* its LastModifiedTime */
	char distribution_domain[128];
	char distribution_error[256]; /* why GetDistribution failed, or "" */
	bool has_last;                /* a ledger record exists for this stage */
	struct es_record last;        /* the newest one (json not owned: NULL) */
	bool interrupted;             /* an intent with no outcome while the stack is idle */
	bool detached;                /* its console stopped following; the end is not known yet */
	bool running;             /* an action holds the stage lock, or the stack is busy for one */
	struct es_lock_info lock; /* the stage lock (held false when free) */
	bool lock_stale;          /* held for an action that has ended: its console died */
	double lock_age_s;        /* how long the lock has been held; < 0 unknown */
	/* Whether the newest validation stands for the release running now
	 * (es_validation_judge; the distribution's ETag and last change are not
	 * read here, so only promotion compares those). */
	char validation[16];       /* none, stale, in-progress, failed, passed */
	long validation_seq;       /* that validation's record, 0 when none */
	char validation_note[512]; /* one line: what it was of, or what to do */
	char error[512];           /* why the stack could not be read, or "" */
	/* UPDATE_ROLLBACK_FAILED: the resource of the newest *_FAILED event
	 * and its reason (what `edgeship recover` needs to know). */
	char failed_resource[128];
	char failed_reason[512];
};

struct es_overview {
	struct es_stage_status *stages; /* config order */
	size_t n;
	bool ledger_offline;
	char ledger_note[256];
	/* The artifact bucket does not exist yet: no release was ever recorded
	 * (the first deploy creates it); not a failure to read. */
	bool ledger_no_bucket;
	size_t resolved;         /* outcomes of abandoned actions recorded by this look */
	size_t replicas_pending; /* functions a destroy retained, not yet deleted */
};

/* Read every stage (one DescribeStacks and DescribeStackResources each), its
 * lock and the ledger, and record how abandoned actions ended (unless
 * read_only). A stage that cannot be read carries its error; the call
 * itself fails only when nothing can be read at all. */
int es_overview_collect(struct es_aws_client *aws, const struct es_config *conf, bool read_only,
                        struct es_overview *out);
char *es_overview_json(const struct es_overview *s);
void es_overview_free(struct es_overview *s);

/* Records as a JSON array (stage NULL: all), oldest first. malloc'd. */
char *es_records_json(const struct es_record_list *l, const char *stage);

#endif
