/* History streamed with libgit2's revwalk in its default order. */
#include "config.h"

#include <git2.h>
#include <stdlib.h>

#include "base/error.h"
#include "history.h"
#include "repo_int.h"

struct es_history {
	git_revwalk *walk;
	git_repository *repo;
};

int es_history_open(struct es_repo *r, const char *rev, struct es_history **out)
{
	struct es_history *h = calloc(1, sizeof(*h));
	git_commit *start;
	int rc;

	*out = NULL;
	if (!h)
		return es_fail(ES_ENOMEM, "out of memory");
	rc = es_repo_lookup_commit(r, rev ? rev : "HEAD", &start);
	if (rc) {
		free(h);
		if (!rev && git_repository_head_unborn(es_repo_git(r)) == 1)
			return es_fail(ES_ENOTFOUND, "the repository has no commits yet");
		return rc;
	}
	if (git_revwalk_new(&h->walk, es_repo_git(r)) < 0 ||
	    git_revwalk_push(h->walk, git_commit_id(start)) < 0) {
		git_commit_free(start);
		git_revwalk_free(h->walk);
		free(h);
		return es_repo_git_fail(ES_ERR, "walking history");
	}
	/* Default order (no sorting): commits stream as they are read. */
	git_revwalk_sorting(h->walk, GIT_SORT_NONE);
	git_commit_free(start);
	h->repo = es_repo_git(r);
	*out = h;
	return ES_OK;
}

int es_history_next(struct es_history *h, struct es_commit_info *out)
{
	git_oid id;
	git_commit *c;
	int rc = git_revwalk_next(&id, h->walk);

	if (rc == GIT_ITEROVER)
		return ES_ENOTFOUND;
	if (rc < 0)
		return es_repo_git_fail(ES_ERR, "walking history");
	if (git_commit_lookup(&c, h->repo, &id) < 0)
		return es_repo_git_fail(ES_ERR, "reading a commit");
	es_repo_commit_info(c, out);
	git_commit_free(c);
	return ES_OK;
}

void es_history_close(struct es_history *h)
{
	if (!h)
		return;
	git_revwalk_free(h->walk);
	free(h);
}
