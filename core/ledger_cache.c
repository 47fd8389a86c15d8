/* The ledger's local cache: one directory per endpoint, account, bucket and
 * prefix, holding records as read from or written to S3 and the watermark
 * below which it holds all of them; and turning those files into the list
 * readers see (oldest first, each record id once, open intents marked). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "ledger_cache.h"

int es_lcache_mkdirs(const char *path)
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

static void write_file(const char *path, const char *text, size_t len)
{
	char tmp[4400];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	f = fopen(tmp, "wb");
	if (!f)
		return;
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		remove(tmp);
		return;
	}
	if (rename(tmp, path) != 0)
		remove(tmp);
}

void es_lcache_write(const char *dir, long seq, const char *text, size_t len)
{
	char path[4200];

	if (!dir || es_lcache_mkdirs(dir) != 0)
		return; /* the cache is a convenience; S3 holds the record */
	snprintf(path, sizeof(path), "%s/%0*ld.json", dir, ES_LEDGER_SEQ_DIGITS, seq);
	write_file(path, text, len);
}

bool es_lcache_has(const char *dir, long seq)
{
	char path[4200];

	if (!dir)
		return false;
	snprintf(path, sizeof(path), "%s/%0*ld.json", dir, ES_LEDGER_SEQ_DIGITS, seq);
	return access(path, F_OK) == 0;
}

/* Below the watermark the cache holds every record S3 has. */
long es_lcache_watermark(const char *dir)
{
	char path[4200], buf[32] = "";
	FILE *f;

	if (!dir)
		return 0;
	snprintf(path, sizeof(path), "%s/watermark", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	long w = atol(buf);
	return w > 0 ? w : 0;
}

void es_lcache_set_watermark(const char *dir, long w)
{
	char path[4200], buf[32];

	if (!dir || es_lcache_mkdirs(dir) != 0)
		return;
	snprintf(path, sizeof(path), "%s/watermark", dir);
	snprintf(buf, sizeof(buf), "%ld\n", w);
	write_file(path, buf, strlen(buf));
}

long es_lcache_max(const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
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

/* ------------------------------------------------------------ reading records */

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
	copy_str(r->action_id, sizeof(r->action_id), o, "action_id");
	copy_str(r->record_id, sizeof(r->record_id), o, "record_id");
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

static int read_cache(const char *dir, struct es_record_list *out)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int rc = ES_OK;

	if (!d)
		return ES_OK;
	while (!rc && (e = readdir(d))) {
		char path[4400], chunk[4096];
		size_t len;
		char *end;
		long seq = strtol(e->d_name, &end, 10);

		if (seq <= 0 || strcmp(end, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		struct es_buf b = ES_BUF_INIT;
		while ((len = fread(chunk, 1, sizeof(chunk), f)) > 0)
			es_buf_append(&b, chunk, len);
		fclose(f);
		rc = add_record(out, seq, es_buf_str(&b), b.len);
		es_buf_free(&b);
	}
	closedir(d);
	return rc;
}

/* The same record id at a higher number is a retried write: drop it. */
static void dedupe(struct es_record_list *out)
{
	size_t w = 0;

	for (size_t i = 0; i < out->n; i++) {
		struct es_record *r = &out->items[i];
		bool dup = false;
		for (size_t j = 0; j < w && r->record_id[0] && !dup; j++)
			dup = strcmp(out->items[j].record_id, r->record_id) == 0;
		if (dup) {
			free(r->json);
			continue;
		}
		out->items[w++] = *r;
	}
	out->n = w;
}

static bool closes(const struct es_record *intent, const struct es_record *o)
{
	if (strcmp(o->phase, "outcome") != 0)
		return false;
	if (intent->action_id[0] && o->action_id[0])
		return strcmp(intent->action_id, o->action_id) == 0;
	return o->intent_seq == intent->seq;
}

static void mark_open(struct es_record_list *out)
{
	for (size_t i = 0; i < out->n; i++) {
		struct es_record *r = &out->items[i];
		if (strcmp(r->phase, "intent") != 0)
			continue;
		r->open = true;
		r->detached = false;
		for (size_t j = i + 1; j < out->n; j++) {
			const struct es_record *o = &out->items[j];
			if (!closes(r, o))
				continue;
			bool detached = strcmp(o->result, "detached") == 0;
			r->open = detached;
			r->detached = detached;
			if (!detached)
				break;
		}
	}
}

int es_lcache_records(const char *dir, struct es_record_list *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_cache(dir, out);
	if (rc) {
		es_record_list_free(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->items, out->n, sizeof(*out->items), by_seq);
	dedupe(out);
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
