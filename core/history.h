/* A repository's history streamed in libgit2's default (unsorted) order,
 * which starts at once instead of reading the whole graph first. */
#ifndef ES_HISTORY_H
#define ES_HISTORY_H

struct es_repo;
struct es_commit_info;
struct es_history;

/* Stream history from rev (NULL: HEAD). */
int es_history_open(struct es_repo *r, const char *rev, struct es_history **out);
/* Next commit: ES_OK, or ES_ENOTFOUND at the end. */
int es_history_next(struct es_history *h, struct es_commit_info *out);
void es_history_close(struct es_history *h);

#endif
