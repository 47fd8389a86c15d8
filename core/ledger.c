/* The release ledger in S3 with conditional creates and a local cache. */
#include "config.h"

#include <dirent.h>
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ledger.h"
#include "aws/s3.h"
#include "aws/sts.h"
#include "aws/xml.h"

#define SEQ_DIGITS 10
/* How many numbers a writer tries before giving up on a crowded ledger. */
#define MAX_CLAIMS 64

struct es_ledger {
	struct es_aws_client *aws;
	char *bucket;
	char *prefix; /* "" or "x/" form: always ends with '/' when non-empty */
	char *cache;  /* local directory */
	char *who;
	long next_hint; /* first number worth trying */
};

const char *es_ledger_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int mkdirs(const char *path)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static char *cache_dir_for(const char *bucket, const char *prefix)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL;

	int n;

	if (state && *state)
		n = asprintf(&dir, "%s/edgeship/%s/%sledger", state, bucket, prefix);
	else
		n = asprintf(&dir, "%s/.local/state/edgeship/%s/%sledger", home ? home : "/tmp",
		             bucket, prefix);
	return n < 0 ? NULL : dir;
}

int es_ledger_open(struct es_aws_client *c, const char *bucket, const char *prefix,
                   struct es_ledger **out)
{
	struct es_ledger *l = calloc(1, sizeof(*l));
	size_t n = prefix ? strlen(prefix) : 0;

	*out = NULL;
	if (!l)
		return es_fail(ES_ENOMEM, "out of memory");
	l->aws = c;
	l->bucket = strdup(bucket);
	if (n) {
		if (asprintf(&l->prefix, "%s%s", prefix, prefix[n - 1] == '/' ? "" : "/") < 0)
			l->prefix = NULL;
	} else
		l->prefix = strdup("");
	l->cache = l->prefix ? cache_dir_for(bucket, l->prefix) : NULL;
	l->next_hint = 1;
	if (!l->bucket || !l->prefix || !l->cache) {
		es_ledger_free(l);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	*out = l;
	return ES_OK;
}

void es_ledger_free(struct es_ledger *l)
{
	if (!l)
		return;
	free(l->bucket);
	free(l->prefix);
	free(l->cache);
	free(l->who);
	free(l);
}

const char *es_ledger_cache_dir(const struct es_ledger *l)
{
	return l->cache;
}

const char *es_ledger_who(struct es_ledger *l)
{
	struct es_caller_identity id;

	if (l->who)
		return l->who;
	if (es_sts_get_caller_identity(l->aws, &id) != ES_OK)
		return NULL;
	l->who = id.arn;
	id.arn = NULL;
	es_caller_identity_free(&id);
	return l->who;
}

static void key_for(const struct es_ledger *l, long seq, char *key, size_t len)
{
	snprintf(key, len, "%sledger/%0*ld.json", l->prefix, SEQ_DIGITS, seq);
}

static void cache_write(const struct es_ledger *l, long seq, const char *text, size_t len)
{
	char path[4200], tmp[4300];
	FILE *f;

	if (mkdirs(l->cache) != 0)
		return; /* the cache is a convenience; S3 holds the record */
	snprintf(path, sizeof(path), "%s/%0*ld.json", l->cache, SEQ_DIGITS, seq);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		return;
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		remove(tmp);
		return;
	}
	rename(tmp, path);
}

/* Largest sequence number present in S3 (0 when none). */
static int last_seq(struct es_ledger *l, long after, long *last)
{
	struct es_s3_listing ls;
	char prefix[1024], start[1100];
	int rc;

	snprintf(prefix, sizeof(prefix), "%sledger/", l->prefix);
	key_for(l, after, start, sizeof(start));
	rc = es_s3_list(l->aws, l->bucket, prefix, after > 0 ? start : NULL, &ls);
	if (rc)
		return rc;
	*last = after;
	for (size_t i = 0; i < ls.n; i++) {
		const char *base = strrchr(ls.keys[i], '/');
		long s = atol(base ? base + 1 : ls.keys[i]);
		if (s > *last)
			*last = s;
	}
	es_s3_listing_free(&ls);
	return ES_OK;
}

int es_ledger_append(struct es_ledger *l, json_t *record, long *seq)
{
	struct es_s3_put put = {.content_type = "application/json", .if_none_match = true};
	char when[32], key[1100];
	const char *who = es_ledger_who(l);
	long last = 0;
	int rc;

	if (!who)
		return es_fail_prefix("ledger: cannot tell who is acting");
	rc = last_seq(l, l->next_hint > 1 ? l->next_hint - 1 : 0, &last);
	if (rc)
		return es_fail_prefix("ledger: reading s3://%s/%sledger/", l->bucket, l->prefix);
	if (!json_object_get(record, "when"))
		json_object_set_new(record, "when", json_string(es_ledger_now(when)));
	json_object_set_new(record, "who", json_string(who));
	for (int attempt = 0; attempt < MAX_CLAIMS; attempt++) {
		long n = last + 1 + attempt;
		json_object_set_new(record, "seq", json_integer(n));
		if (json_integer_value(json_object_get(record, "intent_seq")) == 0 &&
		    strcmp(json_string_value(json_object_get(record, "phase")) ?: "", "intent") ==
		            0)
			json_object_set_new(record, "intent_seq", json_integer(n));
		char *text = json_dumps(record, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text)
			return es_fail(ES_ENOMEM, "out of memory");
		key_for(l, n, key, sizeof(key));
		rc = es_s3_put_object(l->aws, l->bucket, key, text, strlen(text), &put);
		if (rc == ES_OK) {
			cache_write(l, n, text, strlen(text));
			free(text);
			l->next_hint = n + 1;
			*seq = n;
			return ES_OK;
		}
		free(text);
		/* 412: someone else holds this number; take the next. */
		if (!(rc == ES_EAWS && es_error_last()->http_status == 412))
			return es_fail_prefix("ledger: writing s3://%s/%s", l->bucket, key);
		if (strcmp(json_string_value(json_object_get(record, "phase")) ?: "", "intent") ==
		    0)
			json_object_set_new(record, "intent_seq", json_integer(0));
	}
	return es_fail(ES_ERR, "ledger: %d writers raced for the next record; try again",
	               MAX_CLAIMS);
}

static void copy_str(char *dst, size_t len, json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	snprintf(dst, len, "%s", v ? v : "");
}

static int add_record(struct es_record_list *out, long seq, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(text, len, 0, &jerr);
	struct es_record *r;

	if (!json_is_object(o)) {
		json_decref(o);
		return ES_OK; /* an unreadable record is skipped, not fatal */
	}
	r = realloc(out->items, (out->n + 1) * sizeof(*r));
	if (!r) {
		json_decref(o);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	out->items = r;
	r = &r[out->n++];
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->intent_seq = (long)json_integer_value(json_object_get(o, "intent_seq"));
	copy_str(r->kind, sizeof(r->kind), o, "kind");
	copy_str(r->phase, sizeof(r->phase), o, "phase");
	copy_str(r->stage, sizeof(r->stage), o, "stage");
	copy_str(r->commit, sizeof(r->commit), o, "commit");
	copy_str(r->release, sizeof(r->release), o, "release");
	copy_str(r->who, sizeof(r->who), o, "who");
	copy_str(r->when, sizeof(r->when), o, "when");
	copy_str(r->result, sizeof(r->result), o, "result");
	copy_str(r->message, sizeof(r->message), o, "message");
	r->json = strndup(text, len);
	json_decref(o);
	return r->json ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
}

static int by_seq(const void *a, const void *b)
{
	const struct es_record *x = a, *y = b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Load cached records; returns the highest seq seen. */
static long read_cache(struct es_ledger *l, struct es_record_list *out)
{
	DIR *d = opendir(l->cache);
	struct dirent *e;
	long max = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[4400];
		size_t len;
		long seq;
		char *end;

		seq = strtol(e->d_name, &end, 10);
		if (seq <= 0 || strcmp(end, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->cache, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		struct es_buf b = ES_BUF_INIT;
		char chunk[4096];
		while ((len = fread(chunk, 1, sizeof(chunk), f)) > 0)
			es_buf_append(&b, chunk, len);
		fclose(f);
		if (add_record(out, seq, es_buf_str(&b), b.len) == ES_OK && seq > max)
			max = seq;
		es_buf_free(&b);
	}
	closedir(d);
	return max;
}

static void mark_open(struct es_record_list *out)
{
	for (size_t i = 0; i < out->n; i++) {
		struct es_record *r = &out->items[i];
		if (strcmp(r->phase, "intent") != 0)
			continue;
		r->open = true;
		for (size_t j = i + 1; j < out->n; j++)
			if (strcmp(out->items[j].phase, "outcome") == 0 &&
			    out->items[j].intent_seq == r->seq) {
				r->open = false;
				break;
			}
	}
}

int es_ledger_read(struct es_ledger *l, struct es_record_list *out)
{
	struct es_s3_listing ls;
	char prefix[1024], start[1100];
	long cached;
	int rc;

	memset(out, 0, sizeof(*out));
	cached = read_cache(l, out);
	snprintf(prefix, sizeof(prefix), "%sledger/", l->prefix);
	key_for(l, cached, start, sizeof(start));
	rc = es_s3_list(l->aws, l->bucket, prefix, cached > 0 ? start : NULL, &ls);
	if (rc) {
		char line[300];
		out->offline = true;
		snprintf(out->offline_reason, sizeof(out->offline_reason), "%s",
		         es_error_format(es_error_last(), line, sizeof(line)));
	} else {
		for (size_t i = 0; i < ls.n && !rc; i++) {
			const char *base = strrchr(ls.keys[i], '/');
			long seq = atol(base ? base + 1 : ls.keys[i]);
			struct es_buf body = ES_BUF_INIT;
			if (seq <= cached)
				continue;
			rc = es_s3_get_object(l->aws, l->bucket, ls.keys[i], &body);
			if (rc == ES_OK) {
				cache_write(l, seq, es_buf_str(&body), body.len);
				rc = add_record(out, seq, es_buf_str(&body), body.len);
			} else if (rc == ES_ENOTFOUND) {
				rc = ES_OK;
			}
			es_buf_free(&body);
			if (seq >= l->next_hint)
				l->next_hint = seq + 1;
		}
		es_s3_listing_free(&ls);
		if (rc) {
			char line[300];
			out->offline = true;
			snprintf(out->offline_reason, sizeof(out->offline_reason), "%s",
			         es_error_format(es_error_last(), line, sizeof(line)));
		}
	}
	qsort(out->items, out->n, sizeof(*out->items), by_seq);
	mark_open(out);
	return ES_OK;
}

void es_record_list_free(struct es_record_list *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i].json);
	free(r->items);
	memset(r, 0, sizeof(*r));
}

int es_ledger_read_cache(struct es_ledger *l, struct es_record_list *out)
{
	memset(out, 0, sizeof(*out));
	read_cache(l, out);
	qsort(out->items, out->n, sizeof(*out->items), by_seq);
	mark_open(out);
	return ES_OK;
}

long es_ledger_cached_max(struct es_ledger *l)
{
	DIR *d = opendir(l->cache);
	struct dirent *e;
	long max = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long seq = strtol(e->d_name, &end, 10);
		if (seq > max && strcmp(end, ".json") == 0)
			max = seq;
	}
	closedir(d);
	return max;
}

int es_ledger_list_call(struct es_ledger *l, long after_seq, struct es_aws_call *call)
{
	char prefix[1024], start[1100];

	snprintf(prefix, sizeof(prefix), "%sledger/", l->prefix);
	key_for(l, after_seq, start, sizeof(start));
	return es_s3_list_call(call, l->bucket, prefix, after_seq > 0 ? start : NULL, NULL);
}

int es_ledger_parse_list(const char *xml, size_t len, long **seqs, size_t *n)
{
	xmlDoc *doc = es_xml_parse(xml, len);

	*seqs = NULL;
	*n = 0;
	if (!doc)
		return es_fail_prefix("ListObjectsV2");
	for (xmlNode *k = es_xml_child(xmlDocGetRootElement(doc), "Contents"); k;
	     k = es_xml_next(k)) {
		char *key = es_xml_path_text(k, "Key");
		const char *base = key ? strrchr(key, '/') : NULL;
		long seq = atol(base ? base + 1 : key ? key : "0");
		free(key);
		if (seq <= 0)
			continue;
		long *v = realloc(*seqs, (*n + 1) * sizeof(*v));
		if (!v) {
			xmlFreeDoc(doc);
			return es_fail(ES_ENOMEM, "out of memory");
		}
		*seqs = v;
		v[(*n)++] = seq;
	}
	xmlFreeDoc(doc);
	return ES_OK;
}

int es_ledger_get_call(struct es_ledger *l, long seq, struct es_aws_call *call)
{
	char key[1100];

	key_for(l, seq, key, sizeof(key));
	return es_s3_get_object_call(call, l->bucket, key);
}

void es_ledger_store(struct es_ledger *l, long seq, const char *text, size_t len)
{
	cache_write(l, seq, text, len);
	if (seq >= l->next_hint)
		l->next_hint = seq + 1;
}

void es_ledger_set_who(struct es_ledger *l, const char *arn)
{
	char *who = arn ? strdup(arn) : NULL;

	if (!who)
		return;
	free(l->who);
	l->who = who;
}

int es_ledger_claim_call(struct es_ledger *l, json_t *record, long seq, struct es_aws_call *call,
                         char **text)
{
	struct es_s3_put put = {.content_type = "application/json", .if_none_match = true};
	char when[32], key[1100];

	*text = NULL;
	if (!json_object_get(record, "when"))
		json_object_set_new(record, "when", json_string(es_ledger_now(when)));
	if (l->who)
		json_object_set_new(record, "who", json_string(l->who));
	json_object_set_new(record, "seq", json_integer(seq));
	*text = json_dumps(record, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!*text)
		return es_fail(ES_ENOMEM, "out of memory");
	key_for(l, seq, key, sizeof(key));
	return es_s3_put_object_call(call, l->bucket, key, *text, strlen(*text), &put);
}
