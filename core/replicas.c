/* Lambda@Edge functions a teardown retained, and their later deletion (see
 * replicas.h). */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "base/text.h"
#include "base/error.h"
#include "aws/lambda.h"
#include "replicas.h"

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

bool es_replicas_error_is_replicated(const char *text)
{
	return text && strstr(text, "because it is a replicated function");
}

static bool is_retention(json_t *o)
{
	return strcmp(str(o, "kind"), "destroy") == 0 && strcmp(str(o, "phase"), "step") == 0 &&
	       strcmp(str(o, "step"), "function-retained") == 0 && *str(o, "arn");
}

static bool is_removal(json_t *o)
{
	return strcmp(str(o, "kind"), "cleanup") == 0 && strcmp(str(o, "result"), "success") == 0 &&
	       *str(o, "arn");
}

int es_replicas_pending(const struct es_record_list *recs, struct es_retained_function **out,
                        size_t *n)
{
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < recs->n; i++) {
		json_t *o = recs->items[i].json ? json_loads(recs->items[i].json, 0, NULL) : NULL;
		if (!o)
			continue;
		const char *arn = str(o, "arn");
		size_t k = 0;
		while (k < *n && strcmp((*out)[k].arn, arn) != 0)
			k++;
		if (is_retention(o) && k == *n) {
			struct es_retained_function *f = realloc(*out, (*n + 1) * sizeof(*f));
			if (!f) {
				json_decref(o);
				return es_fail(ES_ENOMEM, "out of memory");
			}
			*out = f;
			f = &f[(*n)++];
			memset(f, 0, sizeof(*f));
			copy(f->logical_id, sizeof(f->logical_id), str(o, "logical_id"));
			copy(f->name, sizeof(f->name), str(o, "function"));
			copy(f->arn, sizeof(f->arn), arn);
			copy(f->region, sizeof(f->region), str(o, "region"));
			copy(f->stage, sizeof(f->stage), str(o, "stage"));
			copy(f->when, sizeof(f->when), recs->items[i].when);
		} else if (is_removal(o) && k < *n) {
			memmove(&(*out)[k], &(*out)[k + 1], (*n - k - 1) * sizeof(**out));
			(*n)--;
		}
		json_decref(o);
	}
	return ES_OK;
}

void es_replicas_count(const struct es_record_list *recs, size_t *n)
{
	struct es_retained_function *all = NULL;

	if (es_replicas_pending(recs, &all, n))
		*n = 0;
	free(all);
}

/* The client of the account stage lived in: its function is there (the
 * command's own when the stage is no longer configured). */
static struct es_aws_client *stage_client(struct es_aws_client *aws, const struct es_config *conf,
                                          const char *stage)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct es_aws_client *c = sc ? es_accounts_client(aws, conf, sc) : NULL;

	return c ? c : aws;
}

/* One DeleteFunction; item->result says how it went. */
static void delete_one(struct es_aws_client *aws, struct es_cleanup_item *item)
{
	struct es_aws_call call;
	struct es_http_response resp;
	const struct es_error *e = es_error_last();
	int rc;

	if (es_lambda_delete_function_call(&call, item->fn.name)) {
		es_aws_call_free(&call);
		es_fail(ES_ENOMEM, "out of memory");
		rc = ES_ENOMEM;
	} else {
		rc = es_aws_send_sync(aws, &call, &resp);
	}
	if (!rc) {
		es_http_response_free(&resp);
		copy(item->result, sizeof(item->result), "deleted");
		snprintf(item->message, sizeof(item->message),
		         "%s deleted with every version (its replicas were gone)", item->fn.name);
	} else if (rc == ES_EAWS && strcmp(e->code, "ResourceNotFoundException") == 0) {
		copy(item->result, sizeof(item->result), "gone");
		snprintf(item->message, sizeof(item->message), "%s no longer exists",
		         item->fn.name);
	} else if (rc == ES_EAWS && es_replicas_error_is_replicated(e->message)) {
		copy(item->result, sizeof(item->result), "replicated");
		snprintf(item->message, sizeof(item->message),
		         "%s still has edge replicas: Lambda refuses to delete it until "
		         "CloudFront has removed them",
		         item->fn.name);
	} else {
		char line[600];
		copy(item->result, sizeof(item->result), "failed");
		snprintf(item->message, sizeof(item->message), "%s could not be deleted: %s",
		         item->fn.name, es_error_format(e, line, sizeof(line)));
	}
}

static int record_removal(struct es_ledger *l, const struct es_cleanup_item *item)
{
	char id[33], rid[400];
	json_t *o;
	int rc;

	es_ledger_new_id(id);
	/* Idempotency: one removal record per function, whoever writes it. */
	snprintf(rid, sizeof(rid), "cleanup:%s", item->fn.arn);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "cleanup", "phase",
	              "outcome", "action_id", id, "record_id", rid, "stage", item->fn.stage,
	              "result", "success", "function", item->fn.name, "arn", item->fn.arn, "region",
	              item->fn.region, "logical_id", item->fn.logical_id, "message", item->message);
	if (!o)
		return es_fail(ES_ENOMEM, "out of memory");
	long seq;
	rc = es_ledger_append(l, o, &seq);
	json_decref(o);
	return rc;
}

int es_cleanup(struct es_aws_client *aws, const struct es_config *conf, es_cleanup_note_fn fn,
               void *ud, struct es_cleanup_result *res)
{
	struct es_ledger *l = NULL;
	struct es_record_list recs;
	struct es_retained_function *pending = NULL;
	size_t n = 0;
	int rc, first_err = ES_OK;
	size_t replicated = 0;

	memset(res, 0, sizeof(*res));
	rc = es_ledger_open_home(aws, conf, NULL, &l);
	if (rc)
		return rc;
	rc = es_ledger_read(l, &recs);
	if (!rc && recs.offline)
		rc = es_fail(ES_ERR, "ledger: %s", recs.offline_reason);
	if (!rc)
		rc = es_replicas_pending(&recs, &pending, &n);
	es_record_list_free(&recs);
	if (!rc && n && !es_ledger_who(l))
		rc = es_fail_prefix("ledger: cannot tell who is acting");
	if (!rc && n && !(res->items = calloc(n, sizeof(*res->items))))
		rc = es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		struct es_cleanup_item *item = &res->items[res->n++];
		item->fn = pending[i];
		es_notef(fn, ud, "deleting %s (retained from %s on %s)", item->fn.name,
		         item->fn.stage, item->fn.when);
		delete_one(stage_client(aws, conf, item->fn.stage), item);
		es_notef(fn, ud, "%s", item->message);
		if (strcmp(item->result, "deleted") == 0 || strcmp(item->result, "gone") == 0) {
			res->deleted++;
			rc = record_removal(l, item);
			continue;
		}
		res->remaining++;
		if (strcmp(item->result, "replicated") == 0)
			replicated++;
		else if (!first_err)
			first_err = es_fail(ES_ERR, "%s", item->message);
	}
	free(pending);
	es_ledger_free(l);
	if (rc)
		return rc;
	if (first_err) {
		/* The message of the first failure is the last error still. */
		return first_err;
	}
	if (replicated)
		return es_fail(ES_EBUSY,
		               "%zu function%s still %s edge replicas. CloudFront removes them on "
		               "its own, typically within a few hours of the last association "
		               "going (sometimes up to a day); run `edgeship cleanup` again later "
		               "(the dashboard retries every 10 minutes)",
		               replicated, replicated == 1 ? "" : "s",
		               replicated == 1 ? "has" : "have");
	return ES_OK;
}

void es_cleanup_result_free(struct es_cleanup_result *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof(*r));
}

char *es_cleanup_result_json(const struct es_cleanup_result *r)
{
	json_t *o = json_pack("{s:I,s:I}", "deleted", (json_int_t)r->deleted, "remaining",
	                      (json_int_t)r->remaining);
	json_t *list = json_array();
	char *text = NULL;

	for (size_t i = 0; o && list && i < r->n; i++) {
		const struct es_cleanup_item *it = &r->items[i];
		json_array_append_new(
		        list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "function", it->fn.name, "arn",
		                        it->fn.arn, "stage", it->fn.stage, "retained", it->fn.when,
		                        "result", it->result, "message", it->message));
	}
	if (o && list) {
		json_object_set_new(o, "functions", list);
		list = NULL;
		text = json_dumps(o, JSON_COMPACT);
	}
	json_decref(list);
	json_decref(o);
	return text;
}
