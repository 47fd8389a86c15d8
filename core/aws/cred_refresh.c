/* A credentials refresh: es_credentials_resolve() on a thread; each
 * AssumeRole it needs is posted to the client's loop, sent there, and its
 * answer handed back under a mutex; the result is posted to the loop. Who
 * may touch what: the thread owns the chain; the loop's thread owns the
 * client and every loop call; the fields between them are under mu. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cred_refresh.h"

/* The AssumeRole the thread is waiting for (under mu). */
struct ask {
	bool posted;   /* on_ask is queued on the loop or has run */
	bool answered; /* rc, err and out are filled */
	void *call;    /* the request in flight, for cancel */
	struct es_credentials source;
	char *role_arn, *session, *external_id;
	long duration;
	int rc;
	struct es_error err;
	struct es_credentials out;
};

struct es_cred_refresh {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t answered;
	struct es_aws_client *client; /* loop side only */
	struct es_loop *loop;
	const struct es_assume_role_ops *ops;
	es_cred_refresh_done_fn done;
	void *ud;
	char *profile, *region;
	char *role_arn, *external_id, *session_name;
	/* under mu */
	bool finished; /* the chain returned; on_finished is posted */
	bool orphan;   /* the client let go: the thread frees all */
	struct ask ask;
	/* the result, the thread's until finished */
	int rc;
	struct es_error err;
	struct es_credentials creds;
};

static void ask_clear(struct ask *a)
{
	es_credentials_free(&a->source);
	es_credentials_free(&a->out);
	free(a->role_arn);
	free(a->session);
	free(a->external_id);
	memset(a, 0, sizeof(*a));
}

static void refresh_free(struct es_cred_refresh *r)
{
	ask_clear(&r->ask);
	es_credentials_free(&r->creds);
	free(r->profile);
	free(r->region);
	free(r->role_arn);
	free(r->external_id);
	free(r->session_name);
	pthread_cond_destroy(&r->answered);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* A post that must not be lost: memory runs short only for a moment. */
static void post(struct es_loop *loop, es_timer_fn fn, void *ud)
{
	while (es_loop_post(loop, fn, ud) != ES_OK)
		usleep(10000);
}

/* ------------------------------------------------------------ the loop's side */

static void answer(struct es_cred_refresh *r, int rc, const struct es_credentials *creds,
                   const struct es_error *err)
{
	r->ask.call = NULL;
	r->ask.rc = rc;
	if (rc) {
		if (err)
			r->ask.err = *err;
		else
			es_error_save(&r->ask.err);
	} else if (es_credentials_copy(&r->ask.out, creds) != ES_OK) {
		r->ask.rc = ES_ENOMEM;
		es_error_save(&r->ask.err);
	}
	r->ask.answered = true;
	pthread_cond_signal(&r->answered);
}

static void on_assumed(int rc, const struct es_credentials *creds, const struct es_error *err,
                       void *ud)
{
	struct es_cred_refresh *r = ud;

	pthread_mutex_lock(&r->mu);
	answer(r, rc, creds, err);
	pthread_mutex_unlock(&r->mu);
}

/* The thread asked for a role: send it from here, the loop's thread. */
static void on_ask(struct es_loop *loop, void *ud)
{
	struct es_cred_refresh *r = ud;
	void *call = NULL;
	int rc;

	(void)loop;
	/* The thread waits, so the question holds still: read it unlocked. */
	rc = r->ops->start(r->client, &r->ask.source, r->ask.role_arn, r->ask.session,
	                   r->ask.external_id, r->ask.duration, on_assumed, r, &call);
	pthread_mutex_lock(&r->mu);
	if (rc)
		answer(r, rc, NULL, NULL);
	else
		r->ask.call = call;
	pthread_mutex_unlock(&r->mu);
}

static void on_finished(struct es_loop *loop, void *ud)
{
	struct es_cred_refresh *r = ud;

	pthread_join(r->thread, NULL);
	es_loop_release(loop);
	r->done(r->rc ? NULL : &r->creds, r->rc ? &r->err : NULL, r->ud);
	refresh_free(r);
}

void es_cred_refresh_abandon(struct es_cred_refresh *r)
{
	if (!r)
		return;
	es_loop_release(r->loop);
	pthread_mutex_lock(&r->mu);
	if (r->finished) {
		pthread_mutex_unlock(&r->mu);
		es_loop_post_cancel(r->loop, on_finished, r);
		pthread_join(r->thread, NULL);
		refresh_free(r);
		return;
	}
	pthread_t thread = r->thread;
	r->orphan = true;
	if (r->ask.posted && !r->ask.answered) {
		/* Not sent yet, or in flight: either way, never answered. */
		es_loop_post_cancel(r->loop, on_ask, r);
		if (r->ask.call)
			r->ops->cancel(r->client, r->ask.call);
		r->ask.call = NULL;
		es_fail(ES_ECANCELLED, "the AWS client was closed");
		answer(r, ES_ECANCELLED, NULL, NULL);
	}
	/* From here the thread may free r at any moment. */
	pthread_mutex_unlock(&r->mu);
	pthread_detach(thread);
}

/* ------------------------------------------------------------ the thread's side */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* es_assume_role_fn for the chain: hand the call to the loop and wait. */
static int assume_via_loop(void *ctx, const struct es_credentials *source, const char *region,
                           const char *role_arn, const char *session_name, const char *external_id,
                           long duration_seconds, struct es_credentials *out)
{
	struct es_cred_refresh *r = ctx;
	int rc;

	(void)region;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->mu);
	if (r->orphan) {
		pthread_mutex_unlock(&r->mu);
		return es_fail(ES_ECANCELLED, "the AWS client was closed");
	}
	ask_clear(&r->ask);
	if (es_credentials_copy(&r->ask.source, source) != ES_OK ||
	    !(r->ask.role_arn = strdup(role_arn)) || !(r->ask.session = strdup(session_name)) ||
	    (external_id && !(r->ask.external_id = strdup(external_id)))) {
		ask_clear(&r->ask);
		pthread_mutex_unlock(&r->mu);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	r->ask.duration = duration_seconds;
	r->ask.posted = true;
	post(r->loop, on_ask, r);
	while (!r->ask.answered)
		pthread_cond_wait(&r->answered, &r->mu);
	rc = r->ask.rc;
	if (rc) {
		es_error_restore(&r->ask.err);
	} else {
		*out = r->ask.out; /* handed over */
		memset(&r->ask.out, 0, sizeof(r->ask.out));
	}
	ask_clear(&r->ask);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static void *run(void *p)
{
	struct es_cred_refresh *r = p;
	struct es_cred_options o = {
	        .profile = r->profile,
	        .assume_role = r->ops ? assume_via_loop : NULL,
	        .assume_ctx = r,
	        .region = r->region,
	        .role = {r->role_arn, r->external_id, r->session_name},
	};
	struct es_credentials creds;
	bool orphan;
	int rc;

	rc = es_credentials_resolve(&o, &creds);
	pthread_mutex_lock(&r->mu);
	r->rc = rc;
	if (rc)
		es_error_save(&r->err);
	else
		r->creds = creds; /* handed over */
	r->finished = true;
	orphan = r->orphan;
	if (!orphan)
		post(r->loop, on_finished, r);
	pthread_mutex_unlock(&r->mu);
	if (orphan)
		refresh_free(r);
	return NULL;
}

int es_cred_refresh_start(struct es_loop *loop, struct es_aws_client *client, const char *profile,
                          const struct es_cred_role *role, const char *region,
                          const struct es_assume_role_ops *ops, es_cred_refresh_done_fn done,
                          void *ud, struct es_cred_refresh **out)
{
	struct es_cred_refresh *r = calloc(1, sizeof(*r));
	int e;

	*out = NULL;
	if (!r)
		return es_fail(ES_ENOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->answered, NULL);
	r->client = client;
	r->loop = loop;
	r->ops = ops;
	r->done = done;
	r->ud = ud;
	r->profile = dup_or_null(profile);
	r->region = dup_or_null(region);
	r->role_arn = dup_or_null(role ? role->role_arn : NULL);
	r->external_id = dup_or_null(role ? role->external_id : NULL);
	r->session_name = dup_or_null(role ? role->session_name : NULL);
	if ((profile && !r->profile) || (region && !r->region) ||
	    (role && role->role_arn && !r->role_arn) ||
	    (role && role->external_id && !r->external_id) ||
	    (role && role->session_name && !r->session_name)) {
		refresh_free(r);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	e = pthread_create(&r->thread, NULL, run, r);
	if (e) {
		refresh_free(r);
		return es_fail(ES_ERR, "cannot start resolving AWS credentials: %s", strerror(e));
	}
	es_loop_hold(r->loop); /* not idle until the answer is in */
	*out = r;
	return ES_OK;
}
