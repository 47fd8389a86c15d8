/* A compact, append-only list of commits, as the History pane keeps a whole
 * history (git.git's 82,000 commits in a few MB): ids and dates in pages of
 * fixed records, subjects and authors in an arena of large blocks, each
 * author stored once; nothing is allocated per commit, and a string once
 * added never moves. */
#ifndef ES_COMMIT_LIST_H
#define ES_COMMIT_LIST_H

#include <stddef.h>
#include <time.h>

#define ES_OID_RAWSZ 20
/* Longest summary and author kept, in bytes (cut on a character boundary). */
#define ES_COMMIT_SUMMARY_MAX 255
#define ES_COMMIT_AUTHOR_MAX  127

struct es_commit_list;

/* One commit as read back: the strings are owned by the list and stay put
 * until it is freed. */
struct es_commit_row {
	char oid[41];
	time_t when;
	const char *summary; /* control characters removed */
	const char *author;  /* control characters removed */
};

/* An empty list (NULL when out of memory). */
struct es_commit_list *es_commit_list_new(void);
void es_commit_list_free(struct es_commit_list *l);

/* Append a commit: id is its raw id; summary (summary_len bytes) and author
 * (author_len bytes) are copied, cut to the maximums above, with control
 * characters and invalid UTF-8 made safe as es_sanitize does. ES_ENOMEM. */
int es_commit_list_add(struct es_commit_list *l, const unsigned char id[ES_OID_RAWSZ], time_t when,
                       const char *summary, size_t summary_len, const char *author,
                       size_t author_len);
/* The same with the id as 40 hex digits (ES_EINVAL otherwise). */
int es_commit_list_add_hex(struct es_commit_list *l, const char *oid, time_t when,
                           const char *summary, const char *author);

size_t es_commit_list_count(const struct es_commit_list *l);
/* Commit i (< count). */
void es_commit_list_get(const struct es_commit_list *l, size_t i, struct es_commit_row *out);
const char *es_commit_list_summary(const struct es_commit_list *l, size_t i);
const char *es_commit_list_author(const struct es_commit_list *l, size_t i);
/* Where the commit with this full hex id is (its first place), or (size_t)-1. */
size_t es_commit_list_find(const struct es_commit_list *l, const char *oid);
/* Bytes allocated for the list: what a whole history costs. */
size_t es_commit_list_bytes(const struct es_commit_list *l);

#endif
