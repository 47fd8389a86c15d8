/* Fuzz target: the JSON edgeship reads back from the artifact bucket, which
 * anyone with write access to it can change: ledger records as the ledger's
 * cache reads them (es_lcache_records) and as the model and the release
 * rules judge them (es_stage_records_apply, es_validation_judge), and lock
 * objects (es_lock_parse). The input is up to 16 objects separated by NUL
 * bytes: each is ledger record 1, 2, …, and the first is also read as a
 * lock. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_cache.h"
#include "lock.h"
#include "stage_records.h"
#include "validate.h"

#define MAX_RECORDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096];
static int written; /* record files left by the previous input */

static void remove_dir(void)
{
	char path[4200];

	for (int i = 1; i <= MAX_RECORDS; i++) {
		snprintf(path, sizeof(path), "%s/%0*d.json", dir, ES_LEDGER_SEQ_DIGITS, i);
		unlink(path);
	}
	rmdir(dir);
}

static void bounded(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void lock(const char *in, size_t len)
{
	struct es_lock_info i;

	/* Modified at 1000 by S3's clock; now 1100 by it, or unknown. */
	es_lock_parse(in, len, 1000, 1100, &i);
	if (!i.held || i.expired != (i.expires_in_s <= 0))
		abort();
	bounded(i.who, sizeof(i.who));
	bounded(i.owner, sizeof(i.owner));
	bounded(i.action_id, sizeof(i.action_id));
	bounded(i.since, sizeof(i.since));
	es_lock_parse(in, len, 0, 0, &i);
	if (i.expired || i.expires_in_s <= 0)
		abort(); /* without S3's clock nothing expires */
}

static void records(void)
{
	struct es_record_list l;
	struct es_stage_view stages[2];
	struct es_stage_state now = {.release = "r1",
	                             .distribution_id = "E1",
	                             .distribution_etag = "E-E1",
	                             .distribution_modified = 1767312000.0};
	struct es_validation_verdict v;

	if (es_lcache_records(dir, &l) != ES_OK)
		abort();
	if ((size_t)written < l.n)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const struct es_record *r = &l.items[i];
		/* Oldest first, each record id once, every record's text kept. */
		if (!r->json || (i && r->seq <= l.items[i - 1].seq))
			abort();
		for (size_t j = 0; j < i && r->record_id[0]; j++)
			if (strcmp(l.items[j].record_id, r->record_id) == 0)
				abort();
		if ((r->open || r->detached) && strcmp(r->phase, "intent") != 0)
			abort();
	}
	es_validation_judge(&l, "staging", &now, &v);
	if (v.state != ES_VALIDATION_NONE && !v.record)
		abort();
	bounded(v.why, sizeof(v.why));
	memset(stages, 0, sizeof(stages));
	for (size_t i = 0; i < 2; i++) {
		snprintf(stages[i].name, sizeof(stages[i].name), "%s",
		         i ? "production" : "staging");
		snprintf(stages[i].release, sizeof(stages[i].release), "r1");
		snprintf(stages[i].distribution_id, sizeof(stages[i].distribution_id), "E1");
	}
	es_stage_records_apply(stages, 2, &l);
	for (size_t i = 0; i < 2; i++) {
		const struct es_stage_view *s = &stages[i];
		if (s->n_checks > ES_MODEL_MAX_CHECKS)
			abort();
		/* A check's detail reaches the screen: no control characters. */
		for (size_t k = 0; k < s->n_checks; k++)
			for (const char *c = s->checks[k].detail; *c; c++)
				if ((unsigned char)*c < ' ' || *c == 0x7f)
					abort();
		bounded(s->last_action, sizeof(s->last_action));
		if (s->validation_passed && !s->validated)
			abort();
	}
	es_record_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *end = in + size;
	char path[4200];
	int n = 0;

	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/fuzz-records-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	for (int i = 1; i <= written; i++) {
		snprintf(path, sizeof(path), "%s/%0*d.json", dir, ES_LEDGER_SEQ_DIGITS, i);
		unlink(path);
	}
	const char *nul = memchr(in, '\0', size);
	lock(in, nul ? (size_t)(nul - in) : size);
	while (n < MAX_RECORDS) {
		const char *next = memchr(in, '\0', (size_t)(end - in));
		size_t len = next ? (size_t)(next - in) : (size_t)(end - in);
		es_lcache_write(dir, ++n, in, len);
		if (!next)
			break;
		in = next + 1;
	}
	written = n;
	records();
	return 0;
}
