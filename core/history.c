/* History streamed with libgit2's revwalk in its default order; each commit
 * parsed by libgit2, copied into the compact list and let go before the
 * next, so what stays is the list (libgit2's own caches are bounded in
 * repo.c). */
#include "config.h"

#include <git2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"
#include "commit_list.h"
#include "history.h"
#include "repo_int.h"

struct es_history {
	git_revwalk *walk;
	git_repository *repo; /* borrowed from the es_repo */
};

/* What the History pane shows of a commit, read through libgit2's parser;
 * the strings point into the commit, which the caller frees. */
struct parsed_commit {
	git_commit *commit;
	git_oid id;
	const char *summary;
	const char *author;
	int64_t when;
	unsigned parents;
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
	h->repo = es_repo_git(r);
	if (git_revwalk_new(&h->walk, h->repo) < 0 ||
	    git_revwalk_push(h->walk, git_commit_id(start)) < 0) {
		git_commit_free(start);
		es_history_close(h);
		return es_repo_git_fail(ES_ERR, "walking history");
	}
	/* Default order (no sorting): commits stream as they are read. */
	git_revwalk_sorting(h->walk, GIT_SORT_NONE);
	git_commit_free(start);
	*out = h;
	return ES_OK;
}

/* The next commit, parsed (the caller frees out->commit). */
static int next_commit(struct es_history *h, struct parsed_commit *out)
{
	int rc = git_revwalk_next(&out->id, h->walk);

	if (rc == GIT_ITEROVER)
		return ES_ENOTFOUND;
	if (rc < 0)
		return es_repo_git_fail(ES_ERR, "walking history");
	if (git_commit_lookup(&out->commit, h->repo, &out->id) < 0)
		return es_repo_git_fail(ES_ERR, "reading a commit");
	const git_signature *sig = git_commit_author(out->commit);
	out->summary = git_commit_summary(out->commit);
	out->author = sig && sig->name ? sig->name : "";
	out->when = sig ? (int64_t)sig->when.time : (int64_t)git_commit_time(out->commit);
	out->parents = git_commit_parentcount(out->commit);
	if (!out->summary)
		out->summary = "";
	return ES_OK;
}

int es_history_next(struct es_history *h, struct es_commit_info *out)
{
	struct parsed_commit c;
	int rc = next_commit(h, &c);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	git_oid_tostr(out->oid, sizeof(out->oid), &c.id);
	memcpy(out->short_oid, out->oid, 7);
	snprintf(out->summary, sizeof(out->summary), "%s", c.summary);
	es_sanitize(out->summary, false);
	snprintf(out->author, sizeof(out->author), "%s", c.author);
	es_sanitize(out->author, false);
	out->when = (time_t)c.when;
	out->parents = c.parents;
	git_commit_free(c.commit);
	return ES_OK;
}

int es_history_read(struct es_history *h, struct es_commit_list *list, size_t max, size_t *added)
{
	*added = 0;
	while (*added < max) {
		struct parsed_commit c;
		int rc = next_commit(h, &c);

		if (rc)
			return rc;
		rc = es_commit_list_add(list, c.id.id, (time_t)c.when, c.summary, strlen(c.summary),
		                        c.author, strlen(c.author));
		git_commit_free(c.commit);
		if (rc)
			return rc;
		(*added)++;
	}
	return ES_OK;
}

void es_history_close(struct es_history *h)
{
	if (!h)
		return;
	git_revwalk_free(h->walk);
	free(h);
}
