/* A repository's history streamed in libgit2's default (unsorted) order,
 * which starts at once instead of reading the whole graph first. Each
 * commit is read once as a raw object and its header parsed here, without
 * libgit2's parsed commit and signatures; the compact list it fills is
 * commit_list.h. */
#ifndef ES_HISTORY_H
#define ES_HISTORY_H

#include <stddef.h>

struct es_repo;
struct es_commit_info;
struct es_commit_list;
struct es_history;

/* Stream history from rev (NULL: HEAD). */
int es_history_open(struct es_repo *r, const char *rev, struct es_history **out);
/* Next commit: ES_OK, or ES_ENOTFOUND at the end. */
int es_history_next(struct es_history *h, struct es_commit_info *out);
/* Append up to max commits to list (*added says how many): ES_OK when more
 * may follow, ES_ENOTFOUND at the end. */
int es_history_read(struct es_history *h, struct es_commit_list *list, size_t max, size_t *added);
void es_history_close(struct es_history *h);

#endif
