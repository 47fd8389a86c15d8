/* The live picture of a release: every stage's stack, distribution and
 * propagation, sampled edges, validation, the ledger's last actions and an
 * activity log, kept fresh by asynchronous polling on the event loop
 * (quick while something is in progress, slow when all is settled, backing
 * off when AWS throttles or cannot be reached). The dashboard and `watch`
 * read it; nothing here blocks. */
#ifndef ES_MODEL_H
#define ES_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "ledger.h"
#include "lock.h"

#define ES_MODEL_MAX_EDGES  16
#define ES_MODEL_MAX_CHECKS 16

/* What one sampled edge answered, most telling first: the new release, or
 * an old one from its cache (the new function runs only on a cache miss,
 * so this edge waits for expiry or an invalidation), or an old one made by
 * the function itself (the edge has not applied the change yet). */
enum es_edge_state {
	ES_EDGE_UNKNOWN,     /* answered without a release marker */
	ES_EDGE_NEW,         /* serves the release the stage runs */
	ES_EDGE_OLD,         /* its function answered with an older release */
	ES_EDGE_CACHED_OLD,  /* answered from cache with an older release */
	ES_EDGE_ERROR,       /* answered with an error status */
	ES_EDGE_UNREACHABLE, /* no answer at all */
};

struct es_edge_sample {
	char target[64]; /* the address probed, e.g. 127.0.0.1:8081 */
	char pop[32];    /* X-Amz-Cf-Pop, e.g. FRA56-P1 ("" when unknown) */
	char cache[48];  /* X-Cache */
	long status;     /* HTTP status, 0 when unreachable */
	double latency_ms;
	char release[80]; /* the release marker it served ("" when none) */
	bool is_new;      /* serves the release the stage runs */
	enum es_edge_state state;
	long age_s; /* Age header of a cached answer, -1 when absent */
	char error[128];
	/* With a cache-bypassing probe configured: what the function itself
	 * answers on this edge now (fn_state ES_EDGE_UNKNOWN and bypassed
	 * false without one). */
	bool bypassed;
	enum es_edge_state fn_state;
	char fn_release[80];
};

/* "new", "old", "cached-old", "error", "unreachable" or "unknown". */
const char *es_edge_state_name(enum es_edge_state st);

struct es_check_result {
	char name[64];
	bool passed;
	long status;
	double latency_ms;
	char detail[256]; /* why it failed, or what matched */
};

enum es_prop_state { ES_PROP_UNKNOWN, ES_PROP_IN_PROGRESS, ES_PROP_DEPLOYED };

struct es_stage_view {
	char name[64];
	char stack[128];
	char stack_status[64]; /* "NOT_DEPLOYED", "UNKNOWN" when unreadable */
	char status_reason[256];
	char commit[41]; /* the commit the stack runs */
	char release[80];
	char distribution_id[64];
	char distribution_domain[128];
	enum es_prop_state propagation;
	double dist_modified;   /* epoch of the distribution's last change, 0 unknown */
	double prop_elapsed_s;  /* since that change, while InProgress */
	double prop_estimate_s; /* median of earlier propagations, -1 when no history yet */
	char lambda_arn[256];   /* version ARN the distribution's association points to */
	int invalidations_in_progress;
	struct es_edge_sample edges[ES_MODEL_MAX_EDGES];
	size_t n_edges;
	size_t edges_new;
	size_t edges_cached_old; /* answered from cache with an old release */
	size_t edges_fn_new;     /* bypassing the cache, the function is new */
	bool edges_bypassed;     /* the sample includes cache-bypassing requests */
	struct es_check_result checks[ES_MODEL_MAX_CHECKS];
	size_t n_checks;
	bool validated; /* checks ran for the running release */
	bool validation_passed;
	char validated_at[32];
	char validated_release[80]; /* the release the checks shown were taken for */
	char validation_why[512];   /* why the newest validation does not stand ("" when it does) */
	char last_action[256];      /* "deploy success by alice, 3m ago" */
	double last_action_at;      /* when it was recorded (epoch), 0 unknown */
	bool busy;                  /* CloudFormation is working on the stack */
	bool running;               /* an action is under way: its lock is live, its stack
	                        * busy, or this process follows it */
	bool interrupted;           /* an action recorded no outcome and none of that holds */
	bool detached;              /* ... because its console stopped following it */
	/* The stage lock as last read: who holds the stage, since when, until
	 * when by S3's clock (lock.held false: nobody). */
	struct es_lock_info lock;
	bool lock_known;     /* read at least once */
	bool lock_stale;     /* held for an action whose end is recorded */
	double lock_read_at; /* when it was read (local clock): expiry counts from it */
	char error[256];     /* why the stage could not be read */
};

enum es_activity_level { ES_ACT_INFO, ES_ACT_WARN, ES_ACT_ERROR, ES_ACT_EVENT };

struct es_activity {
	double when; /* epoch seconds */
	enum es_activity_level level;
	char text[2048]; /* whole (the pager opens it), control characters removed */
};

/* What changed, for redrawing only what is needed. */
enum {
	ES_MODEL_STAGES = 1 << 0,
	ES_MODEL_ACTIVITY = 1 << 1,
	ES_MODEL_CONNECTION = 1 << 2,
};

struct es_model;
typedef void (*es_model_changed_fn)(struct es_model *m, unsigned what, void *ud);

/* Start polling conf's stages through aws on aws's loop. */
int es_model_new(struct es_aws_client *aws, const struct es_config *conf, struct es_model **out);
void es_model_free(struct es_model *m);
void es_model_on_change(struct es_model *m, es_model_changed_fn fn, void *ud);

/* A read-only console records nothing: not observed propagation times, not
 * the end of an action whose console stopped (others record it). */
void es_model_set_read_only(struct es_model *m, bool read_only);

/* Whether action ("deploy", "promotion", "rollback") into stage may go
 * ahead by what the model last saw, asked when the key is pressed, before
 * any question: ES_OK; ES_EBUSY when the stage is moving (CloudFormation
 * works on its stack, its distribution is InProgress, another console holds
 * its lock) and the action may go once that settles; ES_EREFUSED when a
 * release rule refuses it (the stage promoted from is not validated, runs
 * no release, or the commit has no recorded release to roll back to). why
 * says it for people. The engine checks again against AWS when it runs. */
int es_model_check(struct es_model *m, const char *action, const char *stage, const char *commit,
                   char *why, size_t len);

/* Bring what is relative to the clock up to date ("3m ago" in the last
 * action, a lock's expiry): true when something shown changed, so a caller
 * ticking every second redraws only then. */
bool es_model_tick(struct es_model *m);

/* Poll everything now, ledger and locks included (the R key, and after an
 * action). */
void es_model_refresh(struct es_model *m);

size_t es_model_stage_count(const struct es_model *m);
const struct es_stage_view *es_model_stage(const struct es_model *m, size_t i);
size_t es_model_activity_count(const struct es_model *m);
/* i = 0 is the oldest kept entry. */
const struct es_activity *es_model_activity(const struct es_model *m, size_t i);

/* "" when all is well, else e.g. "offline: retrying in 8s (cannot reach …)". */
const char *es_model_connection(const struct es_model *m);
/* True while a poll, an edge sample, a ledger or lock read, or the
 * recording of an abandoned action's end is in flight (script mode and
 * watch wait for it). */
bool es_model_busy(const struct es_model *m);

/* Add a line to the activity log (deploy events, refusals, …). */
void es_model_log(struct es_model *m, enum es_activity_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Whether a live console holds s's lock (held, not expired, not stale). */
bool es_stage_locked(const struct es_stage_view *s);
/* Seconds until s's lock expires by S3's clock, counted from its read. */
double es_stage_lock_expires_in(const struct es_stage_view *s);

/* The ledger records as last read (oldest first; borrowed until the next
 * turn of the loop); *generation (when not NULL) grows each time they are
 * read again. Empty until the ledger was read once. */
const struct es_record_list *es_model_records(const struct es_model *m, unsigned long *generation);

/* The distribution is Deployed (every edge has the new function) but some
 * sampled edges still answer from cache with the old release: not live
 * until the cache expires or is invalidated. */
bool es_stage_settled_with_cache(const struct es_stage_view *s);

/* One stage's view, or one activity line, as a JSON object on one line
 * (malloc'd): `watch --json` prints a stream of them. */
char *es_model_stage_json(const struct es_stage_view *s);
char *es_model_activity_json(const struct es_activity *a);
/* watch's last line (malloc'd): {"type":"settled","settled_with_cache":B,
 * "cached_stages":[...]}; settled_with_cache is true when a stage (stage, or
 * any when NULL) is Deployed while sampled edges answer old releases from
 * cache: not live there until invalidated. */
char *es_model_settled_json(const struct es_model *m, const char *stage);

#endif
