/* What core's git modules share beyond repo.h: the libgit2 handle, commit
 * lookup and the one error wrapper. */
#ifndef ES_REPO_INT_H
#define ES_REPO_INT_H

#include <git2.h>

#include "repo.h"

/* The repository's libgit2 handle (owned by r). */
git_repository *es_repo_git(struct es_repo *r);
/* rev peeled to a commit (the caller frees it). */
int es_repo_lookup_commit(struct es_repo *r, const char *rev, git_commit **out);
/* c's id, summary, author, date and parent count. */
void es_repo_commit_info(git_commit *c, struct es_commit_info *out);
/* status with libgit2's last error (which may be NULL on 1.5) as the message. */
int es_repo_git_fail(int status, const char *what);

#endif
