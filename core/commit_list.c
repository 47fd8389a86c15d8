/* The compact commit list: fixed records in pages, strings in an arena of
 * large blocks, authors interned through a small open-addressing table. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"
#include "commit_list.h"

/* Records per page and bytes per text block: large enough that a whole
 * history takes a few dozen allocations, small enough that a short one
 * costs little. */
#define PAGE_RECORDS 4096
#define BLOCK_SHIFT  18
#define BLOCK_BYTES  ((size_t)1 << BLOCK_SHIFT)

struct record {
	int64_t when;
	uint32_t summary; /* offsets into the arena */
	uint32_t author;
	unsigned char id[ES_OID_RAWSZ];
};

struct es_commit_list {
	struct record **pages;
	size_t n, n_pages, cap_pages;
	char **blocks; /* the arena: block b holds offsets b << BLOCK_SHIFT onwards */
	size_t n_blocks, cap_blocks, used;
	uint32_t *names; /* interned authors: arena offset + 1, 0 empty */
	size_t n_names, cap_names;
};

struct es_commit_list *es_commit_list_new(void)
{
	return calloc(1, sizeof(struct es_commit_list));
}

void es_commit_list_free(struct es_commit_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_pages; i++)
		free(l->pages[i]);
	free(l->pages);
	for (size_t i = 0; i < l->n_blocks; i++)
		free(l->blocks[i]);
	free(l->blocks);
	free(l->names);
	free(l);
}

static const char *text_at(const struct es_commit_list *l, uint32_t off)
{
	return l->blocks[off >> BLOCK_SHIFT] + (off & (BLOCK_BYTES - 1));
}

/* arr grown by doubling to hold need entries of size bytes (arr itself when
 * it does already); NULL when out of memory, arr then untouched. */
static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return arr;
	while (c < need)
		c *= 2;
	void *q = realloc(arr, c * size);
	if (q)
		*cap = c;
	return q;
}

/* The first len bytes of s (up to a NUL), no more than max, not ending
 * inside a UTF-8 sequence. */
static size_t cut(const char *s, size_t len, size_t max)
{
	const char *nul = memchr(s, '\0', len);

	if (nul)
		len = (size_t)(nul - s);
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Copy s (len bytes, already cut) into the arena, made safe; its offset. */
static int store(struct es_commit_list *l, const char *s, size_t len, uint32_t *off)
{
	/* how full the last block is (used may sit exactly at its end) */
	size_t at = l->n_blocks ? l->used - ((l->n_blocks - 1) << BLOCK_SHIFT) : 0;

	if (!l->n_blocks || at + len + 1 > BLOCK_BYTES) {
		if ((l->n_blocks + 1) << BLOCK_SHIFT > UINT32_MAX)
			return es_fail(ES_ENOMEM, "the history is too large to keep");
		char **blocks = grow(l->blocks, &l->cap_blocks, l->n_blocks + 1, sizeof(*blocks));
		if (!blocks)
			return es_fail(ES_ENOMEM, "out of memory");
		l->blocks = blocks;
		if (!(l->blocks[l->n_blocks] = malloc(BLOCK_BYTES)))
			return es_fail(ES_ENOMEM, "out of memory");
		l->used = l->n_blocks++ << BLOCK_SHIFT;
		at = 0;
	}
	char *dst = l->blocks[l->n_blocks - 1] + at;
	memcpy(dst, s, len);
	dst[len] = '\0';
	es_sanitize(dst, false);
	*off = (uint32_t)l->used;
	l->used += len + 1;
	return ES_OK;
}

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The slot where name is, or the empty slot where it would go. */
static size_t name_slot(const struct es_commit_list *l, const char *name, size_t len)
{
	size_t mask = l->cap_names - 1, i = hash(name, len) & mask;

	while (l->names[i]) {
		const char *have = text_at(l, l->names[i] - 1);
		if (strncmp(have, name, len) == 0 && have[len] == '\0')
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int rehash(struct es_commit_list *l)
{
	size_t old_cap = l->cap_names;
	uint32_t *old = l->names;

	l->cap_names = old_cap ? old_cap * 2 : 1024;
	l->names = calloc(l->cap_names, sizeof(*l->names));
	if (!l->names) {
		l->names = old;
		l->cap_names = old_cap;
		return es_fail(ES_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i])
			continue;
		const char *s = text_at(l, old[i] - 1);
		l->names[name_slot(l, s, strlen(s))] = old[i];
	}
	free(old);
	return ES_OK;
}

/* The author's offset, stored once however many commits name it. The
 * table is keyed by the text as stored (made safe). */
static int intern(struct es_commit_list *l, const char *s, size_t len, uint32_t *off)
{
	char safe[ES_COMMIT_AUTHOR_MAX + 1];

	memcpy(safe, s, len);
	safe[len] = '\0';
	es_sanitize(safe, false);
	if ((l->n_names + 1) * 4 > l->cap_names * 3 && rehash(l))
		return ES_ENOMEM;
	size_t i = name_slot(l, safe, len);
	if (l->names[i]) {
		*off = l->names[i] - 1;
		return ES_OK;
	}
	if (store(l, safe, len, off))
		return ES_ENOMEM;
	l->names[i] = *off + 1;
	l->n_names++;
	return ES_OK;
}

int es_commit_list_add(struct es_commit_list *l, const unsigned char id[ES_OID_RAWSZ], time_t when,
                       const char *summary, size_t summary_len, const char *author,
                       size_t author_len)
{
	struct record rec = {.when = when};
	size_t slot = l->n % PAGE_RECORDS;

	if (l->n / PAGE_RECORDS == l->n_pages) {
		struct record **pages =
		        grow(l->pages, &l->cap_pages, l->n_pages + 1, sizeof(*pages));
		if (!pages)
			return es_fail(ES_ENOMEM, "out of memory");
		l->pages = pages;
		if (!(l->pages[l->n_pages] = malloc(PAGE_RECORDS * sizeof(struct record))))
			return es_fail(ES_ENOMEM, "out of memory");
		l->n_pages++;
	}
	memcpy(rec.id, id, ES_OID_RAWSZ);
	if (store(l, summary ? summary : "",
	          summary ? cut(summary, summary_len, ES_COMMIT_SUMMARY_MAX) : 0, &rec.summary) ||
	    intern(l, author ? author : "",
	           author ? cut(author, author_len, ES_COMMIT_AUTHOR_MAX) : 0, &rec.author))
		return ES_ENOMEM;
	l->pages[l->n / PAGE_RECORDS][slot] = rec;
	l->n++;
	return ES_OK;
}

static int parse_hex(const char *oid, unsigned char id[ES_OID_RAWSZ])
{
	if (!oid || strlen(oid) != 2 * ES_OID_RAWSZ)
		return ES_EINVAL;
	for (size_t i = 0; i < ES_OID_RAWSZ; i++) {
		int hi = es_hex_digit(oid[2 * i]), lo = es_hex_digit(oid[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ES_EINVAL;
		id[i] = (unsigned char)(hi << 4 | lo);
	}
	return ES_OK;
}

int es_commit_list_add_hex(struct es_commit_list *l, const char *oid, time_t when,
                           const char *summary, const char *author)
{
	unsigned char id[ES_OID_RAWSZ];

	if (parse_hex(oid, id))
		return es_fail(ES_EINVAL, "'%s' is not a full commit id", oid ? oid : "");
	return es_commit_list_add(l, id, when, summary, summary ? strlen(summary) : 0, author,
	                          author ? strlen(author) : 0);
}

size_t es_commit_list_count(const struct es_commit_list *l)
{
	return l ? l->n : 0;
}

static const struct record *record(const struct es_commit_list *l, size_t i)
{
	return &l->pages[i / PAGE_RECORDS][i % PAGE_RECORDS];
}

void es_commit_list_get(const struct es_commit_list *l, size_t i, struct es_commit_row *out)
{
	static const char hex[] = "0123456789abcdef";
	const struct record *r = record(l, i);

	for (size_t k = 0; k < ES_OID_RAWSZ; k++) {
		out->oid[2 * k] = hex[r->id[k] >> 4];
		out->oid[2 * k + 1] = hex[r->id[k] & 15];
	}
	out->oid[2 * ES_OID_RAWSZ] = '\0';
	out->when = (time_t)r->when;
	out->summary = text_at(l, r->summary);
	out->author = text_at(l, r->author);
}

const char *es_commit_list_summary(const struct es_commit_list *l, size_t i)
{
	return text_at(l, record(l, i)->summary);
}

const char *es_commit_list_author(const struct es_commit_list *l, size_t i)
{
	return text_at(l, record(l, i)->author);
}

size_t es_commit_list_find(const struct es_commit_list *l, const char *oid)
{
	unsigned char id[ES_OID_RAWSZ];

	if (!l || parse_hex(oid, id))
		return (size_t)-1;
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(record(l, i)->id, id, ES_OID_RAWSZ) == 0)
			return i;
	return (size_t)-1;
}

size_t es_commit_list_bytes(const struct es_commit_list *l)
{
	if (!l)
		return 0;
	return sizeof(*l) + l->n_pages * PAGE_RECORDS * sizeof(struct record) +
	       l->cap_pages * sizeof(*l->pages) + l->n_blocks * BLOCK_BYTES +
	       l->cap_blocks * sizeof(*l->blocks) + l->cap_names * sizeof(*l->names);
}
