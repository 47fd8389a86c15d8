/* Stage locks in the artifact bucket: one action per stage at a time across
 * every console. A lock is the object <prefix>locks/<stage>.json holding its
 * owner's random token; it is taken with a conditional create, renewed and
 * taken over only with If-Match on the ETag seen, and released with a
 * conditional delete, so two consoles can never both believe they hold it.
 * Expiry is judged by S3's clock (the object's Last-Modified against the
 * answer's Date), never by the local one. */
#ifndef ES_LOCK_H
#define ES_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"

/* How long a lock outlives a console that stopped renewing it: short, so a
 * crashed console blocks a rollback for minutes, not ten; its holder renews
 * it every 45 seconds. */
#define ES_LOCK_TTL_S 180

/* What a lock object says, as read (for status, watch and the dashboard). */
struct es_lock_info {
	bool held;    /* the object exists */
	bool expired; /* its holder stopped renewing it long enough ago */
	char stage[64];
	char kind[24]; /* deploy, promotion, rollback, … */
	char who[256];
	char owner[40];      /* the holder's token */
	char action_id[40];  /* the action holding it */
	char since[32];      /* when it was taken (ISO 8601 UTC) */
	char renewed[32];    /* when it was last written, by S3's clock */
	double expires_in_s; /* by S3's clock; <= 0 when expired */
	char etag[80];
};

struct es_lock;

/* Events from a held lock while its action runs. */
enum es_lock_event {
	ES_LOCK_RENEW_FAILED, /* could not renew now; tried again soon (text says why) */
	ES_LOCK_LOST,         /* another console took it over or removed it */
};
typedef void (*es_lock_event_fn)(enum es_lock_event ev, const char *text, void *ud);

/* Whether the action holding a lock is known to have ended (its outcome is
 * in the ledger): then its console died, and the lock can be taken over
 * before it expires. */
typedef bool (*es_lock_ended_fn)(const char *action_id, void *ud);

/* The object key of a stage's lock. */
void es_lock_key(const struct es_config *conf, const char *stage, char *key, size_t len);
/* The bucket a stage's lock lives in: that stage's bucket, beside its
 * artifacts ([app] bucket when the stage names none). */
const char *es_lock_bucket(const struct es_config *conf, const char *stage);

/* Parse a lock object's body and metadata (S3's clock). */
int es_lock_parse(const char *body, size_t len, double last_modified, double server_date,
                  struct es_lock_info *out);
/* The same from a GetObject answer of the lock (its ETag included). */
int es_lock_parse_answer(const struct es_http_response *resp, struct es_lock_info *out);

/* Take stage's lock for action_id, an action of kind by who (blocking; the loop turns
 * quietly meanwhile). A stale lock (expired by S3's clock, or held for an
 * action that ended by ended(), which may be NULL) is taken over.
 * ES_EBUSY with who holds it and since when when someone else does. While
 * held it is renewed on the loop; fn hears of trouble. *took_over (may be
 * NULL) tells whether a stale lock was replaced, and whose it was. */
int es_lock_take(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                 const char *kind, const char *who, const char *action_id, es_lock_ended_fn ended,
                 es_lock_event_fn fn, void *ud, struct es_lock **out,
                 struct es_lock_info *took_over);

/* Hand a lock taken on one loop (a background job's) to another client's
 * loop: pause stops its renewal on the first, on the first's thread;
 * resume renews it on aws's loop from then on, on that loop's thread. */
void es_lock_pause(struct es_lock *lk);
void es_lock_resume(struct es_lock *lk, struct es_aws_client *aws);

/* Release asynchronously with a conditional delete, then free lk; done (may
 * be NULL) is called once S3 answered. A lock someone else took over is left
 * alone. */
typedef void (*es_lock_released_fn)(int rc, void *ud);
void es_lock_release(struct es_lock *lk, es_lock_released_fn done, void *ud);
/* es_lock_release() for a synchronous command: turns loop until it is
 * done, keeping the error that was last before it. */
void es_lock_release_wait(struct es_loop *loop, struct es_lock *lk);

/* Read a stage's lock (blocking). out->held false when there is none. */
int es_lock_read(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                 struct es_lock_info *out);

/* Remove a stage's lock by hand, only if it is still the one read (its
 * ETag); what it was is left in *was. ES_ENOTFOUND when there is none. */
int es_lock_break(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                  struct es_lock_info *was);

/* Whether this process holds the lock taken for action_id (its action is
 * still followed here, whatever the lock object says). */
bool es_lock_held_here(const char *action_id);

/* The lock as JSON (new reference) for status --json. */
struct json_t *es_lock_info_json(const struct es_lock_info *info);

#endif
