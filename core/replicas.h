/* Lambda@Edge functions left behind by a teardown: CloudFront removes a
 * function's edge replicas hours after its last association is gone, and
 * until then Lambda refuses to delete it. The ledger keeps the list: a
 * destroy records each function it retained, cleanup each one deleted. */
#ifndef ES_REPLICAS_H
#define ES_REPLICAS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "ledger.h"

struct es_retained_function {
	char logical_id[128];
	char name[160];
	char arn[300];
	char region[32];
	char stage[64];
	char when[32]; /* when it was retained */
};

/* The functions retained and not yet deleted, oldest first, each ARN once
 * (*out malloc'd, NULL when none). */
int es_replicas_pending(const struct es_record_list *recs, struct es_retained_function **out,
                        size_t *n);

/* How many functions es_replicas_pending lists (0 when it cannot tell). */
void es_replicas_count(const struct es_record_list *recs, size_t *n);

/* Whether an AWS error text says a function is still replicated. */
bool es_replicas_error_is_replicated(const char *text);

/* Progress of a cleanup: one line of text. */
typedef void (*es_cleanup_note_fn)(const char *text, void *ud);

struct es_cleanup_item {
	struct es_retained_function fn;
	char result[16]; /* deleted | gone | replicated | failed */
	char message[512];
};

struct es_cleanup_result {
	struct es_cleanup_item *items; /* malloc'd */
	size_t n;
	size_t deleted;   /* deleted now, or found already gone */
	size_t remaining; /* still replicated or failed */
};

/* Try once to delete each pending function (Lambda DeleteFunction, every
 * version), recording each removal in the ledger (kind "cleanup"). ES_OK
 * when none remains; ES_EBUSY when some are still replicated (the message
 * says how long that takes); ES_ERR when a deletion failed otherwise. */
int es_cleanup(struct es_aws_client *aws, const struct es_config *conf, es_cleanup_note_fn note,
               void *ud, struct es_cleanup_result *res);
void es_cleanup_result_free(struct es_cleanup_result *r);
char *es_cleanup_result_json(const struct es_cleanup_result *r);

#endif
