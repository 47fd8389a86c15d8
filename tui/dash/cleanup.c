/* The dashboard's retry of `edgeship cleanup`: CloudFront removes a
 * retained function's replicas hours after its last association went, so
 * the console tries to delete such functions at start and every ten
 * minutes after, on a background job, and says in the activity strip what
 * it did. Nothing is tried under --read-only. */
#include "config.h"

#include "action.h"
#include "dash.h"
#include "identity.h"
#include "model.h"

#define CLEANUP_EVERY_MS (10L * 60 * 1000)
/* The first try waits for the model's first look, which learns who we are
 * (so the job does not ask STS again), at most this long. */
#define FIRST_WAIT_MS 10000

static void try_cleanup(struct es_loop *loop, void *ud);

static void again_later(struct es_dash *d)
{
	d->cleanup_timer = es_loop_timer(d->loop, CLEANUP_EVERY_MS, try_cleanup, d);
}

static void on_done(const struct es_action_outcome *o, void *ud)
{
	struct es_dash *d = ud;
	const struct es_cleanup_result *r = o->cleanup;
	char line[600];

	d->cleanup = NULL;
	for (size_t i = 0; r && i < r->n; i++)
		if (r->items[i].result[0] == 'd' || r->items[i].result[0] == 'g')
			es_dash_log(d, ES_ACT_INFO, "cleanup: %s", r->items[i].message);
	if (o->rc == ES_EBUSY && r && r->remaining != d->cleanup_said)
		es_dash_log(d, ES_ACT_INFO,
		            "cleanup: %zu function%s still %s edge replicas; retrying every 10 "
		            "minutes",
		            r->remaining, r->remaining == 1 ? "" : "s",
		            r->remaining == 1 ? "has" : "have");
	else if (o->rc && o->rc != ES_EBUSY)
		es_dash_log(d, ES_ACT_WARN, "cleanup: %s",
		            es_error_format(o->err, line, sizeof(line)));
	d->cleanup_said = r ? r->remaining : 0;
	d->dirty = true;
	again_later(d);
}

static void try_cleanup(struct es_loop *loop, void *ud)
{
	struct es_dash *d = ud;
	char line[600];

	(void)loop;
	d->cleanup_timer = 0;
	if (d->cleanup || !d->aws || d->quitting) {
		d->cleanup_first = false;
		return;
	}
	if (d->cleanup_first && es_loop_now_ms() < d->cleanup_first_until &&
	    (!es_identity_cached(d->aws) || (d->model && es_model_busy(d->model)))) {
		d->cleanup_timer = es_loop_timer(d->loop, 100, try_cleanup, d);
		return;
	}
	d->cleanup_first = false;
	if (es_action_cleanup(d->aws, d->conf, on_done, d, &d->cleanup) != ES_OK) {
		es_dash_log(d, ES_ACT_WARN, "cleanup: %s",
		            es_error_format(es_error_last(), line, sizeof(line)));
		again_later(d);
	}
}

void es_dash_cleanup_start(struct es_dash *d)
{
	if (d->cli->read_only || d->cleanup_timer || d->cleanup)
		return;
	d->cleanup_first = true;
	d->cleanup_first_until = es_loop_now_ms() + FIRST_WAIT_MS;
	d->cleanup_timer = es_loop_timer(d->loop, 0, try_cleanup, d);
}

void es_dash_cleanup_free(struct es_dash *d)
{
	if (d->cleanup_timer)
		es_loop_timer_cancel(d->loop, d->cleanup_timer);
	d->cleanup_timer = 0;
	d->cleanup_first = false;
	es_action_abandon(d->cleanup);
	d->cleanup = NULL;
}
