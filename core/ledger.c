/* The release ledger in S3: conditional creates reconciled by reading back,
 * a local cache that converges on S3 from a watermark, and readers that
 * show each record once. Everything that touches S3 runs on the event loop;
 * the blocking forms turn the loop until their operation ends. */
#include "config.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/s3.h"
#include "aws/sigv4.h"
#include "identity.h"
#include "ledger.h"
#include "ledger_cache.h"

/* How many numbers a writer tries before giving up on a crowded ledger. */
#define MAX_CLAIMS 64
/* How often a write that met a concurrent one (409) is tried again. */
#define MAX_CONFLICTS 8
/* Record fetches in flight during a refresh. */
#define MAX_IN_FLIGHT 8

struct waiter {
	es_ledger_done_fn fn;
	void *ud;
};

/* One refresh of the cache from S3. */
struct sync_op {
	struct es_ledger *l;
	long from;  /* the watermark the listing starts after */
	long *want; /* numbers listed that the cache lacks */
	size_t n_want, next_want;
	int in_flight; /* record fetches */
	bool listing;  /* a listing page is in flight */
	long max_listed;
	long min_failed; /* lowest number whose fetch failed */
	int rc;
	struct es_error err;
	struct waiter *waiters;
	size_t n_waiters;
};

struct es_ledger {
	struct es_aws_client *aws;
	struct es_aws_client *actor; /* whose identity acts: aws unless set */
	struct es_loop *loop;
	char *bucket;
	char *prefix; /* "" or "x/" form: always ends with '/' when non-empty */
	char *endpoint;
	char *cache; /* local directory, once the account is known */
	char *who;
	int pending;    /* requests in flight */
	bool closing;   /* freed by its owner: free when pending drops to 0 */
	bool no_bucket; /* the last listing found no bucket (nothing deployed yet) */
	struct sync_op *sync;
};

/* One request's context: which ledger, and what to do with the answer. */
typedef void (*answer_fn)(void *op, long seq, int rc, const struct es_http_response *resp,
                          const struct es_error *err);
struct req {
	struct es_ledger *l;
	answer_fn fn;
	void *op;
	long seq;
};

static void really_free(struct es_ledger *l)
{
	free(l->bucket);
	free(l->prefix);
	free(l->endpoint);
	free(l->cache);
	free(l->who);
	free(l);
}

static void on_answer(int rc, const struct es_http_response *resp, const struct es_error *err,
                      void *ud)
{
	struct req *r = ud;
	struct es_ledger *l = r->l;

	l->pending--;
	if (l->closing) {
		/* The owner is gone; so are the operations waiting here. */
		if (l->pending == 0)
			really_free(l);
		free(r);
		return;
	}
	r->fn(r->op, r->seq, rc, resp, err);
	free(r);
}

static int ledger_send(struct es_ledger *l, struct es_aws_call *call, answer_fn fn, void *op,
                       long seq)
{
	struct req *r = malloc(sizeof(*r));

	if (!r) {
		es_aws_call_free(call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	*r = (struct req){.l = l, .fn = fn, .op = op, .seq = seq};
	l->pending++;
	if (es_aws_send(l->aws, call, on_answer, r) != ES_OK) {
		/* es_aws_send reports through its callback except when out of memory. */
		l->pending--;
		free(r);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return ES_OK;
}

/* ------------------------------------------------------------ basics */

const char *es_ledger_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void es_ledger_new_id(char out[33])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		/* No entropy from OpenSSL: the clock and the process still make
		 * collisions between two consoles vanishingly unlikely. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long long x = (unsigned long long)ts.tv_nsec ^
		                       ((unsigned long long)ts.tv_sec << 20) ^
		                       ((unsigned long long)getpid() << 44);
		for (size_t i = 0; i < sizeof(b); i++, x = x * 6364136223846793005ULL + 1)
			b[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The cache of one ledger: endpoint, account, bucket and prefix name it, so
 * two ledgers (a simulator and AWS, two accounts) never share records. */
static void choose_cache(struct es_ledger *l, const char *account)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *ident = NULL, hex[65];

	if (l->cache ||
	    asprintf(&ident, "%s\n%s\n%s\n%s", l->endpoint, account, l->bucket, l->prefix) < 0)
		return;
	es_sha256_hex(ident, strlen(ident), hex);
	hex[20] = '\0';
	if (state && *state) {
		if (asprintf(&l->cache, "%s/edgeship/ledgers/%s", state, hex) < 0)
			l->cache = NULL;
	} else if (asprintf(&l->cache, "%s/.local/state/edgeship/ledgers/%s",
	                    home && *home ? home : "/tmp", hex) < 0) {
		l->cache = NULL;
	}
	/* Say what the directory holds, for people looking at it. */
	if (l->cache && es_lcache_mkdirs(l->cache) == 0) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/origin", l->cache);
		FILE *f = fopen(path, "w");
		if (f) {
			fprintf(f, "endpoint %s\naccount %s\nbucket %s\nprefix %s\n", l->endpoint,
			        account, l->bucket, l->prefix);
			fclose(f);
		}
	}
	free(ident);
}

int es_ledger_open(struct es_aws_client *c, const char *bucket, const char *prefix,
                   struct es_ledger **out)
{
	struct es_ledger *l = calloc(1, sizeof(*l));
	size_t n = prefix ? strlen(prefix) : 0;
	const struct es_endpoint *ep = es_aws_endpoint(c, "s3");

	*out = NULL;
	if (!l)
		return es_fail(ES_ENOMEM, "out of memory");
	l->aws = l->actor = c;
	l->loop = es_aws_loop(c);
	l->bucket = strdup(bucket);
	l->endpoint = strdup(ep ? ep->url : "unknown-endpoint");
	if (n) {
		if (asprintf(&l->prefix, "%s%s", prefix, prefix[n - 1] == '/' ? "" : "/") < 0)
			l->prefix = NULL;
	} else
		l->prefix = strdup("");
	if (!l->bucket || !l->prefix || !l->endpoint) {
		really_free(l);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	*out = l;
	return ES_OK;
}

void es_ledger_free(struct es_ledger *l)
{
	if (!l)
		return;
	if (l->sync) {
		free(l->sync->want);
		free(l->sync->waiters);
		free(l->sync);
		l->sync = NULL;
	}
	if (l->pending > 0) {
		l->closing = true;
		return;
	}
	really_free(l);
}

const char *es_ledger_cache_dir(const struct es_ledger *l)
{
	return l->cache;
}

void es_ledger_set_who(struct es_ledger *l, const char *arn)
{
	char *who = arn ? strdup(arn) : NULL;
	char account[32] = "";

	if (!who)
		return;
	free(l->who);
	l->who = who;
	/* arn:aws:sts::123456789012:assumed-role/… */
	const char *p = arn;
	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (p) {
		size_t n = strcspn(p, ":");
		snprintf(account, sizeof(account), "%.*s", (int)(n < 31 ? n : 31), p);
	}
	choose_cache(l, account[0] ? account : "unknown-account");
}

void es_ledger_set_actor(struct es_ledger *l, struct es_aws_client *actor)
{
	l->actor = actor;
}

bool es_ledger_knows_who(const struct es_ledger *l)
{
	return l->who != NULL;
}

/* How long a caller ARN read from STS is used without asking again. */
#define WHO_KEEP_S 3600

/* Where the caller ARN of these credentials is kept: under the state
 * directory, named by a digest of the endpoint, key id and session token
 * (an access key belongs to one principal for its life); never a secret. */
static char *who_path(struct es_ledger *l)
{
	const struct es_credentials *cr =
	        es_identity_cached(l->actor) ? NULL : es_aws_credentials(l->actor);
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *ident = NULL, *path = NULL, hex[65];

	if (!cr || !cr->access_key_id ||
	    asprintf(&ident, "%s\n%s\n%s", l->endpoint, cr->access_key_id,
	             cr->session_token ? cr->session_token : "") < 0)
		return NULL;
	es_sha256_hex(ident, strlen(ident), hex);
	free(ident);
	hex[40] = '\0';
	if (state && *state ? asprintf(&path, "%s/edgeship/who/%s", state, hex) < 0
	                    : asprintf(&path, "%s/.local/state/edgeship/who/%s",
	                               home && *home ? home : "/tmp", hex) < 0)
		return NULL;
	return path;
}

static bool who_kept(struct es_ledger *l, const char *path)
{
	char arn[512] = "";
	struct stat sb;
	FILE *f;

	if (!path || stat(path, &sb) != 0 || time(NULL) - sb.st_mtime > WHO_KEEP_S ||
	    time(NULL) < sb.st_mtime || !(f = fopen(path, "r")))
		return false;
	bool ok = fgets(arn, sizeof(arn), f) && strncmp(arn, "arn:", 4) == 0;
	fclose(f);
	arn[strcspn(arn, "\n")] = '\0';
	if (ok)
		es_ledger_set_who(l, arn);
	return ok;
}

static void who_keep(const char *path, const char *arn)
{
	char *dir = path ? strdup(path) : NULL;
	char *slash = dir ? strrchr(dir, '/') : NULL;

	if (slash) {
		*slash = '\0';
		if (es_lcache_mkdirs(dir) == 0) {
			char tmp[4300];
			snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
			FILE *f = fopen(tmp, "w");
			if (f) {
				bool ok = fprintf(f, "%s\n", arn) > 0;
				if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
					unlink(tmp);
			}
		}
	}
	free(dir);
}

const char *es_ledger_who(struct es_ledger *l)
{
	const struct es_caller_identity *id;

	if (l->who)
		return l->who;
	/* Shared with everyone else on this client: usually known already;
	 * else as STS said it lately for these credentials. */
	char *path = who_path(l);
	if (who_kept(l, path)) {
		free(path);
		return l->who;
	}
	if (es_identity_wait(l->actor, &id) != ES_OK) {
		free(path);
		return NULL;
	}
	es_ledger_set_who(l, id->arn);
	who_keep(path, id->arn);
	free(path);
	return l->who;
}

static void key_for(const struct es_ledger *l, long seq, char *key, size_t len)
{
	snprintf(key, len, "%sledger/%0*ld.json", l->prefix, ES_LEDGER_SEQ_DIGITS, seq);
}

static long seq_of_key(const char *key)
{
	const char *base = strrchr(key, '/');
	char *end;
	long seq = strtol(base ? base + 1 : key, &end, 10);

	return seq > 0 && strcmp(end, ".json") == 0 ? seq : 0;
}

int es_ledger_records(struct es_ledger *l, struct es_record_list *out)
{
	int rc = es_lcache_records(l->cache, out);

	out->no_bucket = l->no_bucket;
	return rc;
}

bool es_ledger_cached(const struct es_ledger *l)
{
	return es_lcache_watermark(l->cache) > 0;
}

bool es_ledger_mentions(struct es_ledger *l, const char *text)
{
	struct es_record_list recs;
	bool found = false;

	if (!l->cache || !text || !*text || es_ledger_records(l, &recs) != ES_OK)
		return false;
	for (size_t i = recs.n; i-- > 0 && !found;)
		found = recs.items[i].json && strstr(recs.items[i].json, text);
	es_record_list_free(&recs);
	return found;
}

/* ------------------------------------------------------------ refresh */

static void sync_list(struct sync_op *op, const char *token);

static void sync_finish(struct sync_op *op)
{
	struct es_ledger *l = op->l;

	if (op->listing || op->in_flight > 0 || op->next_want < op->n_want)
		return;
	/* Pages come in key order, so every number up to the highest listed
	 * was seen; the cache has them all but those whose fetch failed. */
	long w = op->max_listed > op->from ? op->max_listed : op->from;
	if (op->min_failed != LONG_MAX && op->min_failed - 1 < w)
		w = op->min_failed - 1 > op->from ? op->min_failed - 1 : op->from;
	if (w > op->from)
		es_lcache_set_watermark(l->cache, w);
	l->sync = NULL;
	for (size_t i = 0; i < op->n_waiters; i++) {
		if (op->rc)
			es_error_restore(&op->err);
		op->waiters[i].fn(op->rc, op->waiters[i].ud);
		if (l->closing)
			break; /* a waiter freed the ledger */
	}
	free(op->want);
	free(op->waiters);
	free(op);
}

static void sync_failed(struct sync_op *op, int rc, const struct es_error *err, const char *what)
{
	if (op->rc)
		return;
	if (err)
		es_error_restore(err);
	es_fail_prefix("ledger: %s s3://%s/%sledger/", what, op->l->bucket, op->l->prefix);
	op->rc = rc ? rc : ES_ERR;
	es_error_save(&op->err);
}

static void on_record(void *p, long seq, int rc, const struct es_http_response *resp,
                      const struct es_error *err);

static void sync_pump(struct sync_op *op)
{
	while (op->in_flight < MAX_IN_FLIGHT && op->next_want < op->n_want) {
		struct es_aws_call call;
		char key[1100];
		long seq = op->want[op->next_want++];

		key_for(op->l, seq, key, sizeof(key));
		if (es_s3_get_object_call(&call, op->l->bucket, key) ||
		    ledger_send(op->l, &call, on_record, op, seq)) {
			es_aws_call_free(&call);
			sync_failed(op, ES_ENOMEM, NULL, "reading");
			if (seq < op->min_failed)
				op->min_failed = seq;
			continue;
		}
		op->in_flight++;
	}
}

static void on_record(void *p, long seq, int rc, const struct es_http_response *resp,
                      const struct es_error *err)
{
	struct sync_op *op = p;

	op->in_flight--;
	if (rc == ES_OK) {
		es_lcache_write(op->l->cache, seq, resp->body.data ? resp->body.data : "",
		                resp->body.len);
	} else if (es_s3_not_found(rc, err)) {
		/* deleted between the listing and the fetch: nothing to keep */
	} else {
		/* Not fetched: the next refresh starts below it. */
		if (seq < op->min_failed)
			op->min_failed = seq;
		sync_failed(op, rc, err, "reading");
	}
	sync_pump(op);
	sync_finish(op);
}

static void on_list(void *p, long seq, int rc, const struct es_http_response *resp,
                    const struct es_error *err)
{
	struct sync_op *op = p;
	struct es_s3_listing ls = {0};
	char *next = NULL;

	op->listing = false;
	/* No artifact bucket yet (nothing was ever deployed): S3 says for
	 * certain that the ledger is empty, which is not being offline. */
	op->l->no_bucket = rc && err && strcmp(err->code, "NoSuchBucket") == 0;
	if (op->l->no_bucket) {
		sync_finish(op);
		return;
	}
	if (rc) {
		sync_failed(op, rc, err, "listing");
		sync_finish(op);
		return;
	}
	rc = es_s3_parse_list_page(resp->body.data, resp->body.len, &ls, &next);
	if (rc) {
		es_error_save(&op->err);
		sync_failed(op, rc, &op->err, "listing");
	}
	for (size_t i = 0; i < ls.n; i++) {
		long n = seq_of_key(ls.keys[i]);
		if (n <= op->from)
			continue;
		if (n > op->max_listed)
			op->max_listed = n;
		if (es_lcache_has(op->l->cache, n))
			continue;
		long *w = realloc(op->want, (op->n_want + 1) * sizeof(*w));
		if (!w) {
			sync_failed(op, es_fail(ES_ENOMEM, "out of memory"), NULL, "listing");
			break;
		}
		op->want = w;
		w[op->n_want++] = n;
	}
	es_s3_listing_free(&ls);
	if (!rc && next)
		sync_list(op, next);
	free(next);
	sync_pump(op);
	sync_finish(op);
}

static void sync_list(struct sync_op *op, const char *token)
{
	struct es_aws_call call;
	char prefix[1024], start[1100];

	snprintf(prefix, sizeof(prefix), "%sledger/", op->l->prefix);
	key_for(op->l, op->from, start, sizeof(start));
	if (es_s3_list_call(&call, op->l->bucket, prefix, op->from > 0 ? start : NULL, token) ||
	    ledger_send(op->l, &call, on_list, op, 0)) {
		es_aws_call_free(&call);
		sync_failed(op, ES_ENOMEM, NULL, "listing");
		return;
	}
	op->listing = true;
}

int es_ledger_sync(struct es_ledger *l, es_ledger_done_fn done, void *ud)
{
	struct sync_op *op = l->sync;
	struct waiter *w;

	if (!op) {
		op = calloc(1, sizeof(*op));
		if (!op)
			return es_fail(ES_ENOMEM, "out of memory");
		op->l = l;
		op->from = es_lcache_watermark(l->cache);
		op->min_failed = LONG_MAX;
		l->sync = op;
	}
	w = realloc(op->waiters, (op->n_waiters + 1) * sizeof(*w));
	if (!w)
		return es_fail(ES_ENOMEM, "out of memory");
	op->waiters = w;
	w[op->n_waiters++] = (struct waiter){done, ud};
	if (op->n_waiters == 1) {
		sync_list(op, NULL);
		if (!op->listing) {
			/* Nothing went out: say so now rather than call back. */
			l->sync = NULL;
			free(op->waiters);
			free(op);
			return es_fail(ES_ENOMEM, "out of memory");
		}
	}
	return ES_OK;
}

/* ------------------------------------------------------------ appending */

struct append_op {
	struct es_ledger *l;
	json_t *record;
	bool unique;
	es_ledger_appended_fn done;
	void *ud;
	long seq;
	int claims, conflicts;
	bool guessed; /* seq is the cache's next number, not a listing's */
	char *text;
	char record_id[160];
	uint64_t timer;
};

static void append_end(struct append_op *op, int rc)
{
	es_ledger_appended_fn done = op->done;
	void *ud = op->ud;
	long seq = op->seq;

	json_decref(op->record);
	free(op->text);
	free(op);
	done(rc, rc ? 0 : seq, ud);
}

static void append_put(struct append_op *op);
static void append_synced(int rc, void *ud);

static void on_readback(void *p, long seq, int rc, const struct es_http_response *resp,
                        const struct es_error *err)
{
	struct append_op *op = p;

	if (rc == ES_OK) {
		json_t *o = json_loadb(resp->body.data, resp->body.len, 0, NULL);
		const char *id = json_string_value(json_object_get(o, "record_id"));
		bool ours = id && strcmp(id, op->record_id) == 0;
		json_decref(o);
		/* Whatever is there is a real record: keep it. */
		es_lcache_write(op->l->cache, seq, resp->body.data ? resp->body.data : "",
		                resp->body.len);
		if (ours) {
			/* Our write landed and only its answer was lost (or another
			 * console wrote the same unique record): done. */
			append_end(op, ES_OK);
			return;
		}
		if (op->guessed) {
			/* Others wrote since this cache was complete: list what
			 * they wrote, then claim the number after it. */
			op->guessed = false;
			if (es_ledger_sync(op->l, append_synced, op) != ES_OK)
				append_end(op, ES_ENOMEM);
			return;
		}
		if (++op->claims >= MAX_CLAIMS) {
			append_end(op, es_fail(ES_ERR,
			                       "ledger: %d writers raced for the next record; try "
			                       "again",
			                       MAX_CLAIMS));
			return;
		}
		op->seq++;
		append_put(op);
		return;
	}
	if (es_s3_not_found(rc, err)) {
		/* A conflict (409) whose other writer did not land either. */
		if (++op->conflicts >= MAX_CONFLICTS) {
			append_end(op, es_fail(ES_ERR,
			                       "ledger: record %ld kept conflicting with "
			                       "other writers; try again",
			                       op->seq));
			return;
		}
		append_put(op);
		return;
	}
	es_error_restore(err);
	append_end(op, es_fail_prefix("ledger: reading back record %ld", op->seq));
}

static void on_put(void *p, long seq, int rc, const struct es_http_response *resp,
                   const struct es_error *err)
{
	struct append_op *op = p;
	struct es_aws_call call;
	char key[1100];

	(void)resp;
	if (rc == ES_OK) {
		es_lcache_write(op->l->cache, op->seq, op->text, strlen(op->text));
		/* Every number below ours was known, and ours was free: the
		 * cache is complete up to it. */
		if (es_lcache_watermark(op->l->cache) == op->seq - 1)
			es_lcache_set_watermark(op->l->cache, op->seq);
		append_end(op, ES_OK);
		return;
	}
	if (es_s3_precondition_failed(rc, err) || es_s3_conflict(rc, err)) {
		/* The number is taken, or a write raced ours: read back who
		 * holds it. It may be us, when our first answer was lost. */
		key_for(op->l, op->seq, key, sizeof(key));
		if (es_s3_get_object_call(&call, op->l->bucket, key) ||
		    ledger_send(op->l, &call, on_readback, op, op->seq)) {
			es_aws_call_free(&call);
			append_end(op, es_fail(ES_ENOMEM, "out of memory"));
		}
		return;
	}
	es_error_restore(err);
	key_for(op->l, op->seq, key, sizeof(key));
	append_end(op, es_fail_prefix("ledger: writing s3://%s/%s", op->l->bucket, key));
}

/* Claim op->seq (idempotency key: the record id inside, read back on 412/409). */
static void append_put(struct append_op *op)
{
	struct es_s3_put put = {.content_type = "application/json", .if_none_match = true};
	struct es_aws_call call;
	char key[1100];
	json_t *r = op->record;

	json_object_set_new(r, "seq", json_integer(op->seq));
	if (strcmp(json_string_value(json_object_get(r, "phase")) ?: "", "intent") == 0)
		json_object_set_new(r, "intent_seq", json_integer(op->seq));
	free(op->text);
	op->text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!op->text) {
		append_end(op, es_fail(ES_ENOMEM, "out of memory"));
		return;
	}
	key_for(op->l, op->seq, key, sizeof(key));
	if (es_s3_put_object_call(&call, op->l->bucket, key, op->text, strlen(op->text), &put) ||
	    ledger_send(op->l, &call, on_put, op, op->seq)) {
		es_aws_call_free(&call);
		append_end(op, es_fail(ES_ENOMEM, "out of memory"));
	}
}

static bool find_record_id(struct es_ledger *l, const char *id, long *seq)
{
	struct es_record_list recs;
	bool found = false;

	if (es_ledger_records(l, &recs) != ES_OK)
		return false;
	for (size_t i = 0; i < recs.n && !found; i++)
		if (strcmp(recs.items[i].record_id, id) == 0) {
			found = true;
			*seq = recs.items[i].seq;
		}
	es_record_list_free(&recs);
	return found;
}

static void append_synced(int rc, void *ud)
{
	struct append_op *op = ud;

	if (rc) {
		append_end(op, es_fail_prefix("ledger: cannot tell the next record number"));
		return;
	}
	if (op->unique && find_record_id(op->l, op->record_id, &op->seq)) {
		append_end(op, ES_OK);
		return;
	}
	op->seq = es_lcache_max(op->l->cache) + 1;
	append_put(op);
}

/* The next number without listing, when the cache holds every record up to
 * its highest one: the conditional create is the check (a number taken
 * since is read back, then the ledger listed). Otherwise list first. */
static int append_start(struct append_op *op)
{
	struct es_ledger *l = op->l;
	long w = es_lcache_watermark(l->cache);

	long known;

	/* A unique record the cache has already: the listing path says so
	 * (from the loop, as every answer comes). */
	if (w > 0 && w >= es_lcache_max(l->cache) &&
	    !(op->unique && find_record_id(l, op->record_id, &known))) {
		op->guessed = true;
		op->seq = w + 1;
		append_put(op);
		return ES_OK;
	}
	return es_ledger_sync(l, append_synced, op);
}

/* The caller identity an append waited for. Counted as a request in
 * flight, so that a ledger freed meanwhile drops it as it drops answers. */
static void on_who(int rc, const struct es_caller_identity *id, const struct es_error *err,
                   void *ud)
{
	struct req *r = ud;
	struct es_ledger *l = r->l;
	struct append_op *op = r->op;

	(void)err; /* also the last error */
	free(r);
	if (l->closing) {
		/* The owner is gone: so is the append, untold. */
		json_decref(op->record);
		free(op->text);
		free(op);
		if (--l->pending == 0)
			really_free(l);
		return;
	}
	l->pending--;
	if (rc) {
		append_end(op, es_fail_prefix("ledger: cannot tell who is acting"));
		return;
	}
	if (!l->who)
		es_ledger_set_who(l, id->arn);
	json_object_set_new(op->record, "who", json_string(l->who));
	es_ledger_note_account(op->record, l->who);
	if (append_start(op) != ES_OK)
		append_end(op, ES_ENOMEM);
}

int es_ledger_append_async(struct es_ledger *l, json_t *record, bool unique,
                           es_ledger_appended_fn done, void *ud)
{
	struct append_op *op = calloc(1, sizeof(*op));
	const char *id = json_string_value(json_object_get(record, "record_id"));
	const char *action = json_string_value(json_object_get(record, "action_id"));
	const char *phase = json_string_value(json_object_get(record, "phase"));
	char when[32];

	if (!op)
		return es_fail(ES_ENOMEM, "out of memory");
	op->l = l;
	op->record = json_deep_copy(record);
	op->unique = unique;
	op->done = done;
	op->ud = ud;
	if (!op->record) {
		free(op);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	/* The record id is what a read-back recognises: one per record. */
	if (id && *id) {
		snprintf(op->record_id, sizeof(op->record_id), "%s", id);
	} else if (action && *action && phase && *phase) {
		snprintf(op->record_id, sizeof(op->record_id), "%s:%s", action, phase);
	} else {
		char rid[33];
		es_ledger_new_id(rid);
		snprintf(op->record_id, sizeof(op->record_id), "%s", rid);
	}
	json_object_set_new(op->record, "record_id", json_string(op->record_id));
	if (!json_object_get(op->record, "when"))
		json_object_set_new(op->record, "when", json_string(es_ledger_now(when)));
	if (!l->who && es_identity_cached(l->actor))
		es_ledger_set_who(l, es_identity_cached(l->actor)->arn);
	if (l->who) {
		json_object_set_new(op->record, "who", json_string(l->who));
		es_ledger_note_account(op->record, l->who);
		if (append_start(op) == ES_OK)
			return ES_OK;
	} else {
		struct req *r = malloc(sizeof(*r));
		if (r) {
			*r = (struct req){.l = l, .op = op};
			l->pending++;
			if (es_identity_get(l->actor, on_who, r) == ES_OK)
				return ES_OK;
			l->pending--;
			free(r);
		}
	}
	json_decref(op->record);
	free(op);
	return es_fail(ES_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------ blocking forms */

struct wait {
	bool done;
	int rc;
	long seq;
	struct es_error err;
};

static void waited(int rc, void *ud)
{
	struct wait *w = ud;

	w->done = true;
	w->rc = rc;
	if (rc)
		es_error_save(&w->err);
}

static void appended(int rc, long seq, void *ud)
{
	struct wait *w = ud;

	w->seq = seq;
	waited(rc, ud);
}

static int wait_for(struct es_ledger *l, struct wait *w)
{
	while (!w->done) {
		int rc = es_loop_turn_quiet(l->loop, 1000);
		if (rc)
			return rc;
	}
	if (w->rc)
		es_error_restore(&w->err);
	return w->rc;
}

static int append_wait(struct es_ledger *l, json_t *record, bool unique, long *seq)
{
	struct wait w = {0};
	int rc = es_ledger_append_async(l, record, unique, appended, &w);

	if (!rc)
		rc = wait_for(l, &w);
	*seq = rc ? 0 : w.seq;
	return rc;
}

int es_ledger_append(struct es_ledger *l, json_t *record, long *seq)
{
	return append_wait(l, record, false, seq);
}

int es_ledger_append_unique(struct es_ledger *l, json_t *record, long *seq)
{
	return append_wait(l, record, true, seq);
}

int es_ledger_read(struct es_ledger *l, struct es_record_list *out)
{
	struct wait w = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!es_ledger_who(l))
		rc = es_fail_prefix("ledger: cannot tell which account this is");
	else if ((rc = es_ledger_sync(l, waited, &w)) == ES_OK)
		rc = wait_for(l, &w);
	struct es_error saved;
	es_error_save(&saved);
	int lrc = es_ledger_records(l, out);
	if (lrc)
		return lrc;
	if (rc) {
		char line[300];
		out->offline = true;
		snprintf(out->offline_reason, sizeof(out->offline_reason), "%s",
		         es_error_format(&saved, line, sizeof(line)));
		es_error_restore(&saved);
	}
	return rc;
}
