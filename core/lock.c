/* Stage locks: taken with a conditional create and an owner token, renewed
 * and taken over with If-Match, released with a conditional delete, expiry
 * judged by S3's clock. A write whose answer was lost is recognised by
 * reading the lock back: our token there means it is ours. */
#include "config.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/s3.h"
#include "base/timefmt.h"
#include "ledger.h"
#include "lock.h"

/* A running action renews its lock this often; after a failed renewal it
 * tries again sooner. */
#define RENEW_MS       45000L
#define RENEW_RETRY_MS 15000L
/* Attempts at taking a lock that keeps changing under us. */
#define TAKE_ATTEMPTS 6

struct es_lock {
	struct es_aws_client *aws;
	struct es_loop *loop;
	char *bucket;
	char key[600];
	char stage[64];
	char body[1200];
	char owner[33];
	char action_id[40];
	bool registered; /* in the list of locks this process holds */
	char etag[80];
	uint64_t timer;
	bool renewing; /* a renewal is in flight */
	bool released; /* release asked for while a renewal was in flight */
	bool lost;
	es_lock_event_fn fn;
	void *ud;
	es_lock_released_fn done;
	void *done_ud;
};

void es_lock_key(const struct es_config *conf, const char *stage, char *key, size_t len)
{
	const char *prefix = conf->prefix ? conf->prefix : "";

	snprintf(key, len, "%s%slocks/%s.json", prefix,
	         *prefix && prefix[strlen(prefix) - 1] != '/' ? "/" : "", stage);
}

static void iso(double t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	buf[0] = '\0';
	if (t <= 0)
		return;
	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int es_lock_parse(const char *body, size_t len, double last_modified, double server_date,
                  struct es_lock_info *out)
{
	json_t *o = json_loadb(body ? body : "", len, 0, NULL);
	long ttl;

	memset(out, 0, sizeof(*out));
	out->held = true;
	if (!json_is_object(o)) {
		json_decref(o);
		/* Something else sits at the lock's key: it still blocks, and
		 * ages out like any lock. */
		snprintf(out->who, sizeof(out->who), "(unreadable lock object)");
		ttl = ES_LOCK_TTL_S;
	} else {
#define COPY(field, name)                                                                          \
	snprintf(out->field, sizeof(out->field), "%s",                                             \
	         json_string_value(json_object_get(o, name)) ?: "")
		COPY(stage, "stage");
		COPY(kind, "kind");
		COPY(who, "who");
		COPY(owner, "owner");
		COPY(action_id, "action_id");
		COPY(since, "when");
#undef COPY
		ttl = (long)json_integer_value(json_object_get(o, "ttl_s"));
		if (ttl <= 0)
			ttl = ES_LOCK_TTL_S;
		json_decref(o);
	}
	iso(last_modified, out->renewed);
	if (last_modified > 0 && server_date > 0) {
		out->expires_in_s = last_modified + (double)ttl - server_date;
		out->expired = out->expires_in_s <= 0;
	} else {
		/* Without S3's times nobody can say it expired: it holds. */
		out->expires_in_s = (double)ttl;
	}
	return ES_OK;
}

json_t *es_lock_info_json(const struct es_lock_info *i)
{
	if (!i->held)
		return json_pack("{s:b}", "held", 0);
	return json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:f,s:b}", "held", 1, "kind", i->kind, "who",
	                 i->who, "action_id", i->action_id, "since", i->since, "renewed",
	                 i->renewed, "expires_in_s", i->expires_in_s, "expired", i->expired);
}

/* ------------------------------------------------------------ blocking steps */

/* PutObject of the lock body, conditional; the new ETag into etag. */
static int put_lock(struct es_lock *lk, bool create, const char *if_match)
{
	struct es_s3_put put = {
	        .content_type = "application/json", .if_none_match = create, .if_match = if_match};
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	if (es_s3_put_object_call(&call, lk->bucket, lk->key, lk->body, strlen(lk->body), &put)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = es_aws_send_sync(lk->aws, &call, &resp);
	if (rc)
		return rc;
	const char *etag = es_http_header(&resp, "ETag");
	snprintf(lk->etag, sizeof(lk->etag), "%s", etag ? etag : "");
	es_http_response_free(&resp);
	return ES_OK;
}

int es_lock_parse_answer(const struct es_http_response *resp, struct es_lock_info *out)
{
	struct es_s3_object meta = {0};

	es_s3_parse_object_meta(resp, &meta);
	es_lock_parse(resp->body.data, resp->body.len, meta.last_modified, meta.server_date, out);
	snprintf(out->etag, sizeof(out->etag), "%s", meta.etag);
	return ES_OK;
}

static int read_lock(struct es_aws_client *aws, const char *bucket, const char *key,
                     struct es_lock_info *out)
{
	struct es_s3_object obj;
	int rc = es_s3_get(aws, bucket, key, &obj);

	memset(out, 0, sizeof(*out));
	if (rc == ES_ENOTFOUND)
		return ES_OK;
	if (rc)
		return rc;
	es_lock_parse(obj.body.data, obj.body.len, obj.last_modified, obj.server_date, out);
	snprintf(out->etag, sizeof(out->etag), "%s", obj.etag);
	es_s3_object_free(&obj);
	return ES_OK;
}

static void make_body(struct es_lock *lk, const char *kind, const char *who, const char *action_id)
{
	char when[32];
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "kind", kind, "stage", lk->stage,
	                      "who", who ? who : "", "owner", lk->owner, "action_id",
	                      action_id ? action_id : "", "when", es_ledger_now(when), "ttl_s",
	                      ES_LOCK_TTL_S);
	char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;

	snprintf(lk->body, sizeof(lk->body), "%s\n", text ? text : "{}");
	free(text);
	json_decref(o);
}

/* The actions whose locks this process holds, whatever thread took them:
 * the resolver never records the end of an action its own process is
 * still following. */
#define HELD_MAX 32
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static char held_here[HELD_MAX][40];

static void held_register(struct es_lock *lk)
{
	if (!lk->action_id[0])
		return;
	pthread_mutex_lock(&held_mu);
	for (size_t i = 0; i < HELD_MAX && !lk->registered; i++)
		if (!held_here[i][0]) {
			snprintf(held_here[i], sizeof(held_here[i]), "%s", lk->action_id);
			lk->registered = true;
		}
	pthread_mutex_unlock(&held_mu);
}

static void held_unregister(struct es_lock *lk)
{
	if (!lk->registered)
		return;
	pthread_mutex_lock(&held_mu);
	for (size_t i = 0; i < HELD_MAX; i++)
		if (strcmp(held_here[i], lk->action_id) == 0) {
			held_here[i][0] = '\0';
			break;
		}
	pthread_mutex_unlock(&held_mu);
	lk->registered = false;
}

bool es_lock_held_here(const char *action_id)
{
	bool found = false;

	if (!action_id || !*action_id)
		return false;
	pthread_mutex_lock(&held_mu);
	for (size_t i = 0; i < HELD_MAX && !found; i++)
		found = strcmp(held_here[i], action_id) == 0;
	pthread_mutex_unlock(&held_mu);
	return found;
}

static void lock_free(struct es_lock *lk)
{
	if (!lk)
		return;
	held_unregister(lk);
	if (lk->timer)
		es_loop_timer_cancel(lk->loop, lk->timer);
	free(lk->bucket);
	free(lk);
}

static void busy_message(const struct es_lock_info *h, const char *stage)
{
	char left[32];

	es_fail(ES_EBUSY,
	        "a %s to %s is already running (started by %s at %s; the lock expires in %s "
	        "unless renewed): wait for it, or if that console died, run `edgeship unlock "
	        "--stage %s`",
	        h->kind[0] ? h->kind : "release action", stage, h->who[0] ? h->who : "someone",
	        h->since[0] ? h->since : "an unknown time",
	        es_duration_format(h->expires_in_s > 0 ? h->expires_in_s : 0, left, sizeof(left)),
	        stage);
}

static void schedule_renew(struct es_lock *lk, long ms);

const char *es_lock_bucket(const struct es_config *conf, const char *stage)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);

	return sc && sc->bucket ? sc->bucket : conf->bucket;
}

int es_lock_take(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                 const char *kind, const char *who, const char *action_id, es_lock_ended_fn ended,
                 es_lock_event_fn fn, void *ud, struct es_lock **out,
                 struct es_lock_info *took_over)
{
	struct es_lock *lk = calloc(1, sizeof(*lk));
	int rc = ES_OK;

	*out = NULL;
	if (took_over)
		memset(took_over, 0, sizeof(*took_over));
	if (!lk || !(lk->bucket = strdup(es_lock_bucket(conf, stage)))) {
		free(lk);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	lk->aws = aws;
	lk->loop = es_aws_loop(aws);
	lk->fn = fn;
	lk->ud = ud;
	snprintf(lk->stage, sizeof(lk->stage), "%s", stage);
	es_lock_key(conf, stage, lk->key, sizeof(lk->key));
	/* Idempotency key: the owner token inside the object. */
	es_ledger_new_id(lk->owner);
	snprintf(lk->action_id, sizeof(lk->action_id), "%s", action_id ? action_id : "");
	make_body(lk, kind, who, action_id);
	for (int attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
		struct es_lock_info held;
		const struct es_error *e;

		rc = put_lock(lk, true, NULL);
		if (rc == ES_OK)
			break;
		e = es_error_last();
		if (!es_s3_precondition_failed(rc, e) && !es_s3_conflict(rc, e)) {
			es_fail_prefix("taking the %s lock", stage);
			break;
		}
		/* Taken, or raced: read who holds it. It may be us, when the
		 * answer to our own create was lost and its retry met it. */
		rc = read_lock(aws, es_lock_bucket(conf, stage), lk->key, &held);
		if (rc) {
			es_fail_prefix("reading the %s lock", stage);
			break;
		}
		if (!held.held)
			continue; /* released meanwhile: try again */
		if (strcmp(held.owner, lk->owner) == 0) {
			snprintf(lk->etag, sizeof(lk->etag), "%s", held.etag);
			rc = ES_OK;
			break;
		}
		bool over = held.action_id[0] && ended && ended(held.action_id, ud);
		if (!held.expired && !over) {
			busy_message(&held, stage);
			rc = ES_EBUSY;
			break;
		}
		/* Its console stopped renewing it: take it over, but only this
		 * very version of it, so two consoles cannot both succeed. */
		rc = put_lock(lk, false, held.etag);
		if (rc == ES_OK) {
			if (took_over)
				*took_over = held;
			break;
		}
		e = es_error_last();
		if (!es_s3_precondition_failed(rc, e) && !es_s3_conflict(rc, e) &&
		    !es_s3_not_found(rc, e)) {
			es_fail_prefix("taking over the %s lock", stage);
			break;
		}
		/* Someone else got there first, or our answer was lost: the
		 * next round reads it back. */
		rc = es_fail(ES_EBUSY, "the %s lock is contended; try again", stage);
	}
	if (rc) {
		lock_free(lk);
		return rc;
	}
	held_register(lk);
	schedule_renew(lk, RENEW_MS);
	*out = lk;
	return ES_OK;
}

/* ------------------------------------------------------------ renewal */

static void renew_timer(struct es_loop *loop, void *ud);

static void schedule_renew(struct es_lock *lk, long ms)
{
	if (lk->timer)
		es_loop_timer_cancel(lk->loop, lk->timer);
	lk->timer = es_loop_timer(lk->loop, ms, renew_timer, lk);
}

static void finish_release(struct es_lock *lk, int rc)
{
	es_lock_released_fn done = lk->done;
	void *ud = lk->done_ud;

	lock_free(lk);
	if (done)
		done(rc, ud);
}

static void send_release(struct es_lock *lk);

static void notify(struct es_lock *lk, enum es_lock_event ev, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void notify(struct es_lock *lk, enum es_lock_event ev, const char *fmt, ...)
{
	char text[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (lk->fn)
		lk->fn(ev, text, lk->ud);
}

static void on_readback(int rc, const struct es_http_response *resp, const struct es_error *err,
                        void *ud)
{
	struct es_lock *lk = ud;
	struct es_lock_info h;

	lk->renewing = false;
	if (lk->released) {
		send_release(lk);
		return;
	}
	if (rc == ES_OK) {
		es_lock_parse_answer(resp, &h);
		if (strcmp(h.owner, lk->owner) == 0) {
			/* Our renewal landed; only its answer was lost. */
			snprintf(lk->etag, sizeof(lk->etag), "%s", h.etag);
			schedule_renew(lk, RENEW_MS);
			return;
		}
		lk->lost = true;
		notify(lk, ES_LOCK_LOST,
		       "the %s lock was taken over by %s at %s: another console may act on this "
		       "stage; this one goes on following what it started",
		       lk->stage, h.who[0] ? h.who : "someone", h.since);
		return;
	}
	if (es_s3_not_found(rc, err)) {
		lk->lost = true;
		notify(lk, ES_LOCK_LOST,
		       "the %s lock was removed (edgeship unlock?): another console may act on "
		       "this stage",
		       lk->stage);
		return;
	}
	notify(lk, ES_LOCK_RENEW_FAILED, "could not check the %s lock (%s); trying again",
	       lk->stage, err ? err->message : "unknown error");
	schedule_renew(lk, RENEW_RETRY_MS);
}

static void on_renewed(int rc, const struct es_http_response *resp, const struct es_error *err,
                       void *ud)
{
	struct es_lock *lk = ud;
	struct es_aws_call call;

	if (rc == ES_OK) {
		const char *etag = es_http_header(resp, "ETag");
		snprintf(lk->etag, sizeof(lk->etag), "%s", etag ? etag : "");
	}
	if (lk->released) {
		lk->renewing = false;
		send_release(lk);
		return;
	}
	if (rc == ES_OK) {
		lk->renewing = false;
		schedule_renew(lk, RENEW_MS);
		return;
	}
	if (es_s3_precondition_failed(rc, err) || es_s3_conflict(rc, err) ||
	    es_s3_not_found(rc, err)) {
		/* Changed under us, or our renewal landed and its answer was lost:
		 * the owner token says which. */
		if (es_s3_get_object_call(&call, lk->bucket, lk->key) == ES_OK &&
		    es_aws_send(lk->aws, &call, on_readback, lk) == ES_OK)
			return;
		es_aws_call_free(&call);
	}
	lk->renewing = false;
	notify(lk, ES_LOCK_RENEW_FAILED, "could not renew the %s lock (%s); trying again in %lds",
	       lk->stage, err ? err->message : "unknown error", RENEW_RETRY_MS / 1000);
	schedule_renew(lk, RENEW_RETRY_MS);
}

/* Idempotency key: If-Match on the ETag we hold, and the owner token. */
static void renew_timer(struct es_loop *loop, void *ud)
{
	struct es_lock *lk = ud;
	struct es_s3_put put = {.content_type = "application/json", .if_match = lk->etag};
	struct es_aws_call call;

	(void)loop;
	lk->timer = 0;
	if (lk->lost || lk->renewing)
		return;
	if (es_s3_put_object_call(&call, lk->bucket, lk->key, lk->body, strlen(lk->body), &put) ||
	    es_aws_send(lk->aws, &call, on_renewed, lk) != ES_OK) {
		es_aws_call_free(&call);
		schedule_renew(lk, RENEW_RETRY_MS);
		return;
	}
	lk->renewing = true;
}

void es_lock_pause(struct es_lock *lk)
{
	if (lk && lk->timer) {
		es_loop_timer_cancel(lk->loop, lk->timer);
		lk->timer = 0;
	}
}

void es_lock_resume(struct es_lock *lk, struct es_aws_client *aws)
{
	if (!lk)
		return;
	lk->aws = aws;
	lk->loop = es_aws_loop(aws);
	schedule_renew(lk, RENEW_MS);
}

/* ------------------------------------------------------------ release */

static void on_deleted(int rc, const struct es_http_response *resp, const struct es_error *err,
                       void *ud)
{
	struct es_lock *lk = ud;

	(void)resp;
	/* 412: someone took it over; 404: already gone (or our delete landed
	 * and its answer was lost). Either way it is no longer ours. */
	if (rc && (es_s3_precondition_failed(rc, err) || es_s3_not_found(rc, err)))
		rc = ES_OK;
	if (rc && err)
		es_error_restore(err);
	finish_release(lk, rc);
}

/* Idempotency key: If-Match on our ETag; a retry after a lost answer
 * meets 404 or 412, both meaning "not ours any more". */
static void send_release(struct es_lock *lk)
{
	struct es_aws_call call;

	if (lk->lost) {
		finish_release(lk, ES_OK);
		return;
	}
	if (es_s3_delete_object_call(&call, lk->bucket, lk->key, lk->etag) ||
	    es_aws_send(lk->aws, &call, on_deleted, lk) != ES_OK) {
		es_aws_call_free(&call);
		finish_release(lk, es_fail(ES_ENOMEM, "out of memory"));
	}
}

void es_lock_release(struct es_lock *lk, es_lock_released_fn done, void *ud)
{
	if (!lk) {
		if (done)
			done(ES_OK, ud);
		return;
	}
	lk->done = done;
	lk->done_ud = ud;
	lk->released = true;
	if (lk->timer) {
		es_loop_timer_cancel(lk->loop, lk->timer);
		lk->timer = 0;
	}
	if (!lk->renewing)
		send_release(lk);
}

/* ------------------------------------------------------------ by hand */

int es_lock_read(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                 struct es_lock_info *out)
{
	char key[600];

	es_lock_key(conf, stage, key, sizeof(key));
	return read_lock(aws, es_lock_bucket(conf, stage), key, out);
}

int es_lock_break(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                  struct es_lock_info *was)
{
	struct es_aws_call call;
	struct es_http_response resp;
	char key[600];
	int rc;

	es_lock_key(conf, stage, key, sizeof(key));
	rc = read_lock(aws, es_lock_bucket(conf, stage), key, was);
	if (rc)
		return rc;
	if (!was->held)
		return es_fail(ES_ENOTFOUND, "stage %s is not locked", stage);
	/* Only the version read: a holder that renewed meanwhile is alive. */
	if (es_s3_delete_object_call(&call, es_lock_bucket(conf, stage), key, was->etag)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = es_aws_send_sync(aws, &call, &resp);
	if (rc == ES_OK) {
		es_http_response_free(&resp);
		return ES_OK;
	}
	if (es_s3_not_found(rc, es_error_last()))
		return ES_OK; /* gone meanwhile, or our delete's answer was lost */
	if (es_s3_precondition_failed(rc, es_error_last()))
		return es_fail(ES_EBUSY,
		               "the %s lock changed while it was being removed: its holder is "
		               "still renewing it, so it is alive; nothing was removed",
		               stage);
	return rc;
}

static void released_wait(int rc, void *ud)
{
	(void)rc;
	*(bool *)ud = true;
}

void es_lock_release_wait(struct es_loop *loop, struct es_lock *lk)
{
	bool done = false;
	struct es_error saved;

	es_error_save(&saved);
	es_lock_release(lk, released_wait, &done);
	while (!done && es_loop_turn_quiet(loop, 1000) == ES_OK)
		;
	es_error_restore(&saved);
}
