/* The release ledger: one immutable JSON record per action in the artifact
 * bucket, under <prefix>/ledger/<seq>.json. A record's sequence number is
 * claimed with a conditional create (If-None-Match: *), so two operators
 * never overwrite each other; every action writes an intent record before
 * it starts and an outcome record when it ends, so a crash leaves a trace.
 * Records are cached under $XDG_STATE_HOME/edgeship/ for offline reading. */
#ifndef ES_LEDGER_H
#define ES_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/aws.h"

struct es_ledger;
struct json_t; /* jansson's; callers of es_ledger_append include <jansson.h> */

/* The fields every record has, for listing and for the screen. */
struct es_record {
	long seq;
	char kind[24];   /* deploy, promotion, rollback, validation, invalidation, approval */
	char phase[12];  /* intent | outcome */
	long intent_seq; /* outcome: the intent it closes; intent: its own seq */
	char stage[64];
	char commit[41];
	char release[80];
	char who[256];
	char when[32];   /* ISO 8601 UTC */
	char result[24]; /* outcome: success, failed, no-changes, cancelled, refused */
	char message[512];
	bool open;  /* intent without an outcome (running or interrupted) */
	char *json; /* the whole record as stored (owned) */
};

struct es_record_list {
	struct es_record *items; /* ascending seq */
	size_t n;
	bool offline; /* S3 unreachable: these come from the local cache */
	char offline_reason[256];
};

/* Open the ledger of app in bucket/prefix. Does no I/O. */
int es_ledger_open(struct es_aws_client *c, const char *bucket, const char *prefix,
                   struct es_ledger **out);
void es_ledger_free(struct es_ledger *l);

/* The caller ARN written as "who" (fetched once from STS). */
const char *es_ledger_who(struct es_ledger *l);

/* Append record (an object; seq, when and who are filled in here; the
 * caller keeps its reference). On success *seq is the number claimed. */
int es_ledger_append(struct es_ledger *l, struct json_t *record, long *seq);

/* Every record, oldest first: cached ones plus those written since. */
int es_ledger_read(struct es_ledger *l, struct es_record_list *out);
void es_record_list_free(struct es_record_list *r);

/* For readers on the event loop, which must not block: the records in the
 * local cache only (no network), the calls that list and fetch newer
 * records, and storing what was fetched in the cache. */
int es_ledger_read_cache(struct es_ledger *l, struct es_record_list *out);
/* The highest sequence number in the local cache (0 when empty). */
long es_ledger_cached_max(struct es_ledger *l);
int es_ledger_list_call(struct es_ledger *l, long after_seq, struct es_aws_call *call);
/* Sequence numbers named by a ListObjectsV2 answer (malloc'd array). */
int es_ledger_parse_list(const char *xml, size_t len, long **seqs, size_t *n);
int es_ledger_get_call(struct es_ledger *l, long seq, struct es_aws_call *call);
void es_ledger_store(struct es_ledger *l, long seq, const char *text, size_t len);
/* The conditional PutObject that claims number seq for record (seq, when
 * and who filled in); *text (malloc'd) is what to es_ledger_store() once it
 * succeeds. On 412 the number is taken: try seq + 1. */
int es_ledger_claim_call(struct es_ledger *l, struct json_t *record, long seq,
                         struct es_aws_call *call, char **text);
/* The caller ARN written as "who", when the caller already knows it. */
void es_ledger_set_who(struct es_ledger *l, const char *arn);

/* The local cache directory (for messages and tests). */
const char *es_ledger_cache_dir(const struct es_ledger *l);

/* Current UTC time as ISO 8601 into buf[32]. */
const char *es_ledger_now(char buf[32]);

#endif
