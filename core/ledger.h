/* The release ledger: one immutable JSON record per action in the artifact
 * bucket, under <prefix>ledger/<seq>.json. A record's number is claimed with
 * a conditional create (If-None-Match: *), so two operators never overwrite
 * each other; every action writes an intent before it starts and an outcome
 * when it ends, so a crash leaves a trace.
 *
 * Every record carries a record id (and the action id of the action it
 * belongs to). A write whose answer was lost is recognised by reading the
 * number back: our record id there means it landed. Readers show a record id
 * once, at its lowest number, so a retried write never shows twice.
 *
 * The local cache ($XDG_STATE_HOME/edgeship/ledgers/<id>/, one per endpoint,
 * account, bucket and prefix) holds only records read from or written to S3,
 * and a watermark below which it holds every record S3 has: a refresh lists
 * from the watermark, fetches what is missing (at most 8 requests in flight)
 * and so costs the same however long the history grows. */
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
	char kind[24];   /* deploy, promotion, rollback, validation, invalidation, … */
	char phase[12];  /* intent | outcome */
	long intent_seq; /* outcome: the intent it closes; intent: its own seq */
	char action_id[40];
	char record_id[160];
	char stage[64];
	char commit[41];
	char release[80];
	char who[256];
	char when[32];   /* ISO 8601 UTC */
	char result[24]; /* outcome: success, failed, no-changes, cancelled, refused, detached */
	char message[512];
	bool open;     /* intent without a final outcome (running, detached or interrupted) */
	bool detached; /* intent whose console stopped following; the end is not known yet */
	char *json;    /* the whole record as stored (owned) */
};

struct es_record_list {
	struct es_record *items; /* ascending seq, each record id once */
	size_t n;
	bool offline; /* S3 could not be read: what the cache holds, maybe not all */
	char offline_reason[256];
	/* S3 said the bucket does not exist (NoSuchBucket): certainly no
	 * records yet, since the first deploy creates it. */
	bool no_bucket;
};

/* Open the ledger of app in bucket/prefix. Does no I/O. */
int es_ledger_open(struct es_aws_client *c, const char *bucket, const char *prefix,
                   struct es_ledger **out);
/* Free now, or once the requests in flight are answered (their callbacks
 * are then not called). */
void es_ledger_free(struct es_ledger *l);

/* The caller ARN written as "who" (fetched once from STS; blocking). */
const char *es_ledger_who(struct es_ledger *l);
/* The caller ARN, when the caller already knows it: it also names the
 * account, which picks the local cache. */
void es_ledger_set_who(struct es_ledger *l, const char *arn);
/* Whose caller identity acts on l (who, account) when it is not the client
 * that reads and writes it: a ledger in another account (core/accounts.h).
 * actor must outlive l. */
void es_ledger_set_actor(struct es_ledger *l, struct es_aws_client *actor);
/* Set "account" in record from who, a caller ARN (arn:aws:sts::ACCOUNT:…),
 * unless the record names one: which account the action ran in. */
void es_ledger_note_account(struct json_t *record, const char *who);
bool es_ledger_knows_who(const struct es_ledger *l);

/* A new random id (32 hex digits) for an action. */
void es_ledger_new_id(char out[33]);

typedef void (*es_ledger_done_fn)(int rc, void *ud);
typedef void (*es_ledger_appended_fn)(int rc, long seq, void *ud);

/* Bring the local cache up to S3, asynchronously: list from the watermark
 * (every page), fetch the records it lacks. Callers asking while a refresh
 * runs share it. done gets ES_OK, or the failure (then left as last error). */
int es_ledger_sync(struct es_ledger *l, es_ledger_done_fn done, void *ud);

/* Append record asynchronously (an object; seq, when, who and record_id
 * are filled in here unless set; the caller keeps its reference). With
 * unique, a record whose record_id S3 already has is not written again and
 * done gets that record's number. */
int es_ledger_append_async(struct es_ledger *l, struct json_t *record, bool unique,
                           es_ledger_appended_fn done, void *ud);

/* The records the cache holds (no I/O), deduplicated, oldest first. */
int es_ledger_records(struct es_ledger *l, struct es_record_list *out);

/* Blocking forms, for headless commands: they turn the loop until done. */
int es_ledger_append(struct es_ledger *l, struct json_t *record, long *seq);
int es_ledger_append_unique(struct es_ledger *l, struct json_t *record, long *seq);
/* Every record confirmed in S3. When S3 cannot be read, out holds the cache
 * with offline set, and the status says why: release rules refuse then. */
int es_ledger_read(struct es_ledger *l, struct es_record_list *out);
void es_record_list_free(struct es_record_list *r);

/* Whether a record the cache holds contains text (no I/O; false until the
 * account is known). A hint only: what it suggests is checked in S3. */
bool es_ledger_mentions(struct es_ledger *l, const char *text);

/* Whether this console has read records of the ledger from S3 before (no
 * I/O): then its bucket existed. */
bool es_ledger_cached(const struct es_ledger *l);

/* The local cache directory, NULL until the account is known. */
const char *es_ledger_cache_dir(const struct es_ledger *l);

/* Current UTC time as ISO 8601 into buf[32]. */
const char *es_ledger_now(char buf[32]);

#endif
