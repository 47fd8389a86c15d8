/* Stage locks in the artifact bucket: one action per stage at a time across
 * every console, renewed while the action runs, expiring when its console
 * is gone, and removable by hand with a ledger record. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deploy_int.h"
#include "aws/s3.h"
#include "base/timefmt.h"

/* How long a lock outlives a crashed console before others may take it; a
 * running action renews it every LOCK_RENEW_MS. */
#define LOCK_TTL_S    600
#define LOCK_RENEW_MS 60000L

/* One action per stage at a time, across every console: a conditional
 * create of <prefix>locks/<stage>.json; the loser is refused with who
 * holds it. */
static void lock_body(struct es_deploy *d)
{
	char when[32], exp[32];
	time_t expires = time(NULL) + LOCK_TTL_S;
	struct tm tm;
	const char *who = es_ledger_who(d->ledger);

	gmtime_r(&expires, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(d->lock_body, sizeof(d->lock_body),
	         "{\"kind\": \"%s\", \"stage\": \"%s\", \"who\": \"%s\", \"when\": \"%s\", "
	         "\"expires\": \"%s\"}\n",
	         d->kind, d->stage->name, who ? who : "", es_ledger_now(when), exp);
}

static void renew_lock(struct es_loop *loop, void *ud)
{
	struct es_deploy *d = ud;
	struct es_s3_put put = {.content_type = "application/json"};

	(void)loop;
	d->lock_timer = 0;
	if (!d->lock_key[0] || d->st == ST_DONE)
		return;
	lock_body(d);
	if (es_s3_put_object(d->aws, d->conf->bucket, d->lock_key, d->lock_body,
	                     strlen(d->lock_body), &put) != ES_OK)
		es_dp_log(d, "warning: could not renew the %s lock; it may expire", d->stage->name);
	d->lock_timer = es_loop_timer(d->loop, LOCK_RENEW_MS, renew_lock, d);
}

int es_dp_take_lock(struct es_deploy *d)
{
	struct es_s3_put put = {.content_type = "application/json", .if_none_match = true};
	const char *prefix = d->conf->prefix;

	snprintf(d->lock_key, sizeof(d->lock_key), "%s%slocks/%s.json", prefix,
	         *prefix && prefix[strlen(prefix) - 1] != '/' ? "/" : "", d->stage->name);
	lock_body(d);
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc = es_s3_put_object(d->aws, d->conf->bucket, d->lock_key, d->lock_body,
		                          strlen(d->lock_body), &put);
		if (rc == ES_OK) {
			d->lock_timer = es_loop_timer(d->loop, LOCK_RENEW_MS, renew_lock, d);
			return ES_OK;
		}
		if (!(rc == ES_EAWS && es_error_last()->http_status == 412)) {
			d->lock_key[0] = '\0';
			return es_fail_prefix("taking the %s lock", d->stage->name);
		}
		struct es_buf held = ES_BUF_INIT;
		if (es_s3_get_object(d->aws, d->conf->bucket, d->lock_key, &held) != ES_OK) {
			es_buf_free(&held);
			continue; /* released meanwhile: try again */
		}
		json_t *o = json_loadb(es_buf_str(&held), held.len, 0, NULL);
		const char *hwho = json_string_value(json_object_get(o, "who"));
		const char *hkind = json_string_value(json_object_get(o, "kind"));
		const char *hwhen = json_string_value(json_object_get(o, "when"));
		double hexp = es_time_parse(json_string_value(json_object_get(o, "expires")));
		char msg[900];
		snprintf(msg, sizeof(msg),
		         "a %s to %s is already running (started by %s at %s): wait for it, or "
		         "if that console died, run `edgeship unlock --stage %s`",
		         hkind ? hkind : "release action", d->stage->name, hwho ? hwho : "someone",
		         hwhen ? hwhen : "an unknown time", d->stage->name);
		json_decref(o);
		es_buf_free(&held);
		if (hexp > 0 && hexp < es_time_now() && attempt == 0) {
			/* Its console died long ago: take the stale lock over. */
			es_dp_log(d, "taking over a stale lock: %s", msg);
			es_s3_delete_object(d->aws, d->conf->bucket, d->lock_key);
			continue;
		}
		d->lock_key[0] = '\0';
		return es_fail(ES_EBUSY, "%s", msg);
	}
	d->lock_key[0] = '\0';
	return es_fail(ES_EBUSY, "the %s lock is contended; try again", d->stage->name);
}

void es_dp_drop_lock(struct es_deploy *d)
{
	if (d->lock_timer) {
		es_loop_timer_cancel(d->loop, d->lock_timer);
		d->lock_timer = 0;
	}
	if (!d->lock_key[0])
		return;
	if (es_s3_delete_object(d->aws, d->conf->bucket, d->lock_key) != ES_OK) {
		char line[600];
		es_dp_log(d, "warning: could not release the %s lock (%s); it expires by itself",
		          d->stage->name, es_error_format(es_error_last(), line, sizeof(line)));
	}
	d->lock_key[0] = '\0';
}

int es_deploy_unlock(struct es_aws_client *aws, const struct es_config *conf, const char *stage)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	const char *prefix = conf->prefix;
	struct es_s3_head head;
	struct es_ledger *l;
	char key[600];
	long seq;
	int rc;

	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	snprintf(key, sizeof(key), "%s%slocks/%s.json", prefix,
	         *prefix && prefix[strlen(prefix) - 1] != '/' ? "/" : "", sc->name);
	rc = es_s3_head_object(aws, conf->bucket, key, &head);
	if (rc)
		return rc;
	if (!head.exists)
		return es_fail(ES_ENOTFOUND, "stage %s is not locked", sc->name);
	rc = es_s3_delete_object(aws, conf->bucket, key);
	if (rc)
		return rc;
	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (rc)
		return rc;
	json_t *r =
	        json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "unlock", "phase", "outcome", "stage",
	                  sc->name, "result", "success", "message", "stale lock removed");
	rc = es_ledger_append(l, r, &seq);
	json_decref(r);
	es_ledger_free(l);
	return rc;
}
