/* The ledger's local cache directory (core/ledger.c owns which one). A NULL
 * dir is a cache that holds nothing: writes are dropped, reads are empty.
 * The cache is a convenience: S3 holds every record. */
#ifndef ES_LEDGER_CACHE_H
#define ES_LEDGER_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "ledger.h"

/* Record numbers are zero-padded to this width in S3 keys and cache files,
 * so listing order is number order. */
#define ES_LEDGER_SEQ_DIGITS 10

/* mkdir -p with mode 0700; 0 on success. */
int es_lcache_mkdirs(const char *path);
/* Keep record seq's text (atomically: a reader never sees half of it). */
void es_lcache_write(const char *dir, long seq, const char *text, size_t len);
bool es_lcache_has(const char *dir, long seq);
/* Below the watermark the cache holds every record S3 has (0: none). */
long es_lcache_watermark(const char *dir);
void es_lcache_set_watermark(const char *dir, long w);
/* The highest record number kept (0: none). */
long es_lcache_max(const char *dir);
/* The records kept, as es_ledger_records() returns them. */
int es_lcache_records(const char *dir, struct es_record_list *out);

#endif
