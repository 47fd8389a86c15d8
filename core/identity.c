/* The caller identity, asked of STS once per client and shared by every
 * asker; and whoami: that identity plus the local settings that produced it. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "base/error.h"
#include "base/text.h"
#include "aws/sts.h"

/* ------------------------------------------------------------ the cache */

struct waiter {
	es_identity_fn done;
	void *ud;
	unsigned long seq; /* order of asking */
	struct waiter *next;
};

/* Kept on the client (es_aws_attach), so it lives and dies with it. */
struct cache {
	struct es_aws_client *aws;
	struct es_caller_identity id;
	bool known;
	bool asking;  /* a GetCallerIdentity is out, or its failure awaits delivery */
	bool sending; /* inside es_aws_send: an answer now came synchronously */
	int depth;    /* deliveries running (a callback may wait for the next) */
	bool zombie;  /* the client was freed during a delivery */
	int rc;       /* the failure being delivered */
	struct es_error err;
	uint64_t timer;         /* a delivery from the loop is due */
	struct waiter *waiters; /* asked, not yet told, oldest first */
	unsigned long next_seq;
};

/* The attachment key: this variable's address is unique to this module. */
static const char cache_key = 0;

static void cache_free_now(struct cache *k)
{
	while (k->waiters) {
		struct waiter *next = k->waiters->next;
		free(k->waiters);
		k->waiters = next;
	}
	es_caller_identity_free(&k->id);
	free(k);
}

/* es_aws_detach_fn: the client is being freed (with it, its loop timers
 * are no concern of ours: the loop outlives the client). */
static void cache_detach(void *data)
{
	struct cache *k = data;

	if (k->timer)
		es_loop_timer_cancel(es_aws_loop(k->aws), k->timer);
	k->timer = 0;
	if (k->depth > 0) {
		/* A waiter freed the client from its callback: the delivery
		 * stops there and frees. */
		k->zombie = true;
		return;
	}
	cache_free_now(k);
}

static struct cache *cache_of(struct es_aws_client *c, bool create)
{
	struct cache *k = es_aws_attachment(c, &cache_key);

	if (k || !create)
		return k;
	k = calloc(1, sizeof(*k));
	if (!k) {
		es_fail(ES_ENOMEM, "out of memory");
		return NULL;
	}
	k->aws = c;
	if (es_aws_attach(c, &cache_key, k, cache_detach) != ES_OK) {
		free(k);
		return NULL;
	}
	return k;
}

/* Tell everyone who asked so far. Asks made from the callbacks come later
 * in the list: they wait for the next delivery, or, after a failure, send
 * a new request. A callback may even wait (es_identity_wait) for that one,
 * which delivers from inside this loop: each waiter is unlinked before it
 * is told, so nobody is told twice. */
static void deliver(struct cache *k)
{
	unsigned long limit = k->next_seq;
	bool known = k->known;
	int rc = k->rc;
	struct es_error err = k->err;

	if (!known)
		k->asking = false; /* a failure is not kept */
	k->depth++;
	while (!k->zombie && k->waiters && k->waiters->seq < limit) {
		struct waiter *w = k->waiters;
		k->waiters = w->next;
		if (known) {
			w->done(ES_OK, &k->id, NULL, w->ud);
		} else {
			es_error_restore(&err);
			w->done(rc, NULL, &err, w->ud);
		}
		free(w);
	}
	if (--k->depth == 0 && k->zombie)
		cache_free_now(k);
}

static void deliver_timer(struct es_loop *loop, void *ud)
{
	struct cache *k = ud;

	(void)loop;
	k->timer = 0;
	deliver(k);
}

static void deliver_later(struct cache *k)
{
	if (!k->timer)
		k->timer = es_loop_timer(es_aws_loop(k->aws), 0, deliver_timer, k);
}

static void on_caller_identity(int rc, const struct es_http_response *resp,
                               const struct es_error *err, void *ud)
{
	struct cache *k = ud;

	if (rc == ES_OK)
		rc = es_sts_parse_caller_identity(resp, &k->id);
	else
		es_error_restore(err);
	if (rc == ES_OK) {
		/* From an HTTP body, shown on screens and written to records. */
		es_sanitize(k->id.arn, false);
		es_sanitize(k->id.account, false);
		if (k->id.user_id)
			es_sanitize(k->id.user_id, false);
		k->known = true;
		es_aws_set_principal(k->aws, k->id.arn);
	} else {
		k->rc = rc;
		es_error_save(&k->err);
	}
	/* Never call back inside es_identity_get() (no credentials fail at
	 * once). */
	if (k->sending)
		deliver_later(k);
	else
		deliver(k);
}

void es_identity_cancel(struct es_aws_client *c, void *ud)
{
	struct cache *k = c ? cache_of(c, false) : NULL;
	struct waiter **p = k ? &k->waiters : NULL;

	while (p && *p) {
		struct waiter *w = *p;
		if (w->ud == ud) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
}

int es_identity_get(struct es_aws_client *c, es_identity_fn done, void *ud)
{
	struct cache *k = cache_of(c, true);
	struct waiter *w, **tail;
	struct es_aws_call call;

	if (!k)
		return es_error_last()->status;
	w = calloc(1, sizeof(*w));
	if (!w)
		return es_fail(ES_ENOMEM, "out of memory");
	w->done = done;
	w->ud = ud;
	w->seq = k->next_seq++;
	for (tail = &k->waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	if (k->known) {
		deliver_later(k);
		return ES_OK;
	}
	if (k->asking)
		return ES_OK;
	if (es_sts_get_caller_identity_call(&call) != ES_OK) {
		es_aws_call_free(&call);
		es_identity_cancel(c, ud);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	k->asking = true;
	k->sending = true;
	int rc = es_aws_send(c, &call, on_caller_identity, k);
	k->sending = false;
	if (rc != ES_OK) {
		/* Only out of memory: nothing went out. */
		k->asking = false;
		es_identity_cancel(c, ud);
		return rc;
	}
	return ES_OK;
}

int es_identity_seed(struct es_aws_client *c, const struct es_caller_identity *id)
{
	struct cache *k = cache_of(c, true);

	if (!k)
		return ES_ENOMEM;
	if (k->known || k->asking || !id || !id->arn)
		return ES_OK;
	k->id.arn = strdup(id->arn);
	k->id.account = id->account ? strdup(id->account) : NULL;
	k->id.user_id = id->user_id ? strdup(id->user_id) : NULL;
	if (!k->id.arn) {
		es_caller_identity_free(&k->id);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	k->known = true;
	es_aws_set_principal(c, k->id.arn);
	return ES_OK;
}

const struct es_caller_identity *es_identity_cached(const struct es_aws_client *c)
{
	const struct cache *k = es_aws_attachment(c, &cache_key);

	return k && k->known ? &k->id : NULL;
}

struct sync_wait {
	bool done;
	int rc;
	struct es_error err;
};

static void sync_done(int rc, const struct es_caller_identity *id, const struct es_error *err,
                      void *ud)
{
	struct sync_wait *s = ud;

	(void)id;
	s->done = true;
	s->rc = rc;
	if (err)
		s->err = *err;
}

int es_identity_wait(struct es_aws_client *c, const struct es_caller_identity **out)
{
	struct sync_wait s = {0};
	int rc;

	*out = es_identity_cached(c);
	if (*out)
		return ES_OK;
	rc = es_identity_get(c, sync_done, &s);
	while (rc == ES_OK && !s.done)
		rc = es_loop_turn_quiet(es_aws_loop(c), 1000);
	if (rc) {
		es_identity_cancel(c, &s);
		return rc;
	}
	if (s.rc) {
		es_error_restore(&s.err);
		return s.rc;
	}
	*out = es_identity_cached(c);
	return ES_OK;
}

/* ------------------------------------------------------------ whoami */

static void key_hint(const char *akid, char out[24])
{
	size_t n = akid ? strlen(akid) : 0;

	if (n < 12)
		snprintf(out, 24, "%s", n ? "****" : "");
	else
		snprintf(out, 24, "%.4s…%s", akid, akid + n - 4);
}

int es_identity_fetch(struct es_aws_client *c, struct es_identity *out)
{
	const struct es_aws_settings *s = es_aws_settings_of(c);
	const struct es_endpoint *ep;
	const struct es_credentials *cr;
	const struct es_caller_identity *ci;
	int rc;

	memset(out, 0, sizeof(*out));
	out->profile = strdup(s->profile ? s->profile : "default");
	snprintf(out->region, sizeof(out->region), "%s", es_aws_region(c));
	snprintf(out->region_source, sizeof(out->region_source), "%s",
	         s->region ? s->region_source : "default (us-east-1)");
	ep = es_aws_endpoint(c, "sts");
	if (!ep)
		return es_error_last()->status ? es_error_last()->status : ES_ECONFIG;
	out->endpoint = strdup(ep->url);
	snprintf(out->endpoint_source, sizeof(out->endpoint_source), "%s", ep->source);
	cr = es_aws_credentials(c);
	if (!cr)
		return es_error_last()->status ? es_error_last()->status : ES_ECREDS;
	snprintf(out->credential_source, sizeof(out->credential_source), "%s", cr->source);
	key_hint(cr->access_key_id, out->access_key_hint);
	out->temporary = cr->session_token && *cr->session_token;
	out->expiration = cr->expiration;
	rc = es_identity_wait(c, &ci);
	if (rc)
		return rc;
	out->arn = strdup(ci->arn);
	out->account = strdup(ci->account);
	out->user_id = ci->user_id ? strdup(ci->user_id) : NULL;
	if (!out->arn || !out->account)
		return es_fail(ES_ENOMEM, "out of memory");
	return ES_OK;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

char *es_identity_json(const struct es_identity *id)
{
	json_t *o = json_object();
	char exp[32] = "";
	char *text;

	if (!o)
		return NULL;
	if (id->expiration) {
		struct tm tm;
		gmtime_r(&id->expiration, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	json_object_set_new(o, "arn", str_or_null(id->arn));
	json_object_set_new(o, "account", str_or_null(id->account));
	json_object_set_new(o, "user_id", str_or_null(id->user_id));
	json_object_set_new(o, "profile", str_or_null(id->profile));
	json_object_set_new(o, "region", str_or_null(id->region));
	json_object_set_new(o, "region_source", str_or_null(id->region_source));
	json_object_set_new(o, "endpoint", str_or_null(id->endpoint));
	json_object_set_new(o, "endpoint_source", str_or_null(id->endpoint_source));
	json_object_set_new(o, "credential_source", str_or_null(id->credential_source));
	json_object_set_new(o, "access_key", str_or_null(id->access_key_hint));
	json_object_set_new(o, "temporary", json_boolean(id->temporary));
	json_object_set_new(o, "expiration", str_or_null(exp));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

void es_identity_free(struct es_identity *id)
{
	if (!id)
		return;
	free(id->arn);
	free(id->account);
	free(id->user_id);
	free(id->profile);
	free(id->endpoint);
	memset(id, 0, sizeof(*id));
}
