/* History streamed with libgit2's revwalk in its default order; each commit
 * read as a raw object, its header and summary parsed here, and the object
 * let go before the next. */
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
	git_odb *odb;
};

/* What the History pane shows of a raw commit; pointers into it. */
struct raw_commit {
	const char *author; /* the author's name, trimmed */
	size_t author_len;
	int64_t when;
	unsigned parents;
	const char *message; /* after the headers */
	size_t message_len;
};

/* git's whitespace, as libgit2 trims it. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v';
}

/* "Name <email> 1700000000 +0100" (the text after "author "): the name
 * before the last '<', trimmed, and the seconds after the last '>'. A
 * malformed line gives what can be read of it, never an error. */
static void parse_author(const char *s, const char *end, struct raw_commit *out)
{
	const char *lt = memrchr(s, '<', (size_t)(end - s));
	const char *gt = memrchr(s, '>', (size_t)(end - s));
	const char *name_end = lt && gt && gt > lt ? lt : end;
	bool neg = false;

	while (s < name_end && is_space(*s))
		s++;
	while (name_end > s && is_space(name_end[-1]))
		name_end--;
	out->author = s;
	out->author_len = (size_t)(name_end - s);
	if (!lt || !gt || gt < lt)
		return;
	const char *p = gt + 1;
	while (p < end && *p == ' ')
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	int64_t t = 0;
	for (; p < end && *p >= '0' && *p <= '9' && t < INT64_MAX / 10 - 9; p++)
		t = t * 10 + (*p - '0');
	out->when = neg ? -t : t;
}

/* Header lines up to the first empty one, then the message. */
static void parse_raw(const char *buf, size_t len, struct raw_commit *out)
{
	const char *p = buf, *end = buf + len;
	bool author = false;

	memset(out, 0, sizeof(*out));
	out->author = out->message = end;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return; /* no message at all */
		if (eol == p) {
			out->message = p + 1;
			out->message_len = (size_t)(end - p - 1);
			return;
		}
		if (eol - p > 7 && memcmp(p, "parent ", 7) == 0)
			out->parents++;
		else if (!author && eol - p >= 7 && memcmp(p, "author ", 7) == 0) {
			parse_author(p + 7, eol, out);
			author = true;
		}
		p = eol + 1;
	}
}

/* The message's first paragraph on one line, as git_commit_summary makes
 * it (leading newlines skipped, runs of whitespace holding a newline folded
 * into one space, trailing whitespace dropped), writing at most cap bytes:
 * how many. */
static size_t summarize(const char *msg, size_t len, char *out, size_t cap)
{
	const char *end = msg + len, *space = NULL;
	bool space_nl = false;
	size_t n = 0;

	while (msg < end && *msg == '\n')
		msg++;
	for (; msg < end && *msg && n < cap; msg++) {
		char c = *msg;
		if (c == '\n') {
			const char *next = msg + 1;
			while (next < end && *next && *next != '\n' && is_space(*next))
				next++;
			if (next >= end || !*next || *next == '\n')
				break; /* the next line is empty: end of the paragraph */
		}
		if (is_space(c)) {
			if (!space) {
				space = msg;
				space_nl = false;
			}
			space_nl |= c == '\n';
			continue;
		}
		if (space && space_nl)
			out[n++] = ' ';
		else if (space)
			for (; space < msg && n < cap; space++)
				out[n++] = *space;
		space = NULL;
		if (n < cap)
			out[n++] = c;
	}
	return n;
}

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
	if (git_repository_odb(&h->odb, es_repo_git(r)) < 0 ||
	    git_revwalk_new(&h->walk, es_repo_git(r)) < 0 ||
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

/* The next commit's id and raw object (the caller frees it). */
static int next_raw(struct es_history *h, git_oid *id, git_odb_object **obj)
{
	int rc = git_revwalk_next(id, h->walk);

	if (rc == GIT_ITEROVER)
		return ES_ENOTFOUND;
	if (rc < 0)
		return es_repo_git_fail(ES_ERR, "walking history");
	if (git_odb_read(obj, h->odb, id) < 0)
		return es_repo_git_fail(ES_ERR, "reading a commit");
	if (git_odb_object_type(*obj) != GIT_OBJECT_COMMIT) {
		git_odb_object_free(*obj);
		return es_fail(ES_ERR, "reading a commit: %s is not a commit", git_oid_tostr_s(id));
	}
	return ES_OK;
}

int es_history_next(struct es_history *h, struct es_commit_info *out)
{
	git_oid id;
	git_odb_object *obj;
	struct raw_commit c;
	int rc = next_raw(h, &id, &obj);
	size_t n;

	if (rc)
		return rc;
	parse_raw(git_odb_object_data(obj), git_odb_object_size(obj), &c);
	memset(out, 0, sizeof(*out));
	git_oid_tostr(out->oid, sizeof(out->oid), &id);
	memcpy(out->short_oid, out->oid, 7);
	n = summarize(c.message, c.message_len, out->summary, sizeof(out->summary) - 1);
	out->summary[n] = '\0';
	es_sanitize(out->summary, false);
	n = c.author_len < sizeof(out->author) ? c.author_len : sizeof(out->author) - 1;
	memcpy(out->author, c.author, n);
	out->author[n] = '\0';
	es_sanitize(out->author, false);
	out->when = (time_t)c.when;
	out->parents = c.parents;
	git_odb_object_free(obj);
	return ES_OK;
}

int es_history_read(struct es_history *h, struct es_commit_list *list, size_t max, size_t *added)
{
	/* one byte past the most kept, so the cut can see a character's end */
	char summary[ES_COMMIT_SUMMARY_MAX + 1];

	*added = 0;
	while (*added < max) {
		git_oid id;
		git_odb_object *obj;
		struct raw_commit c;
		int rc = next_raw(h, &id, &obj);

		if (rc)
			return rc;
		parse_raw(git_odb_object_data(obj), git_odb_object_size(obj), &c);
		size_t n = summarize(c.message, c.message_len, summary, sizeof(summary));
		rc = es_commit_list_add(list, id.id, (time_t)c.when, summary, n, c.author,
		                        c.author_len);
		git_odb_object_free(obj);
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
	git_odb_free(h->odb);
	free(h);
}
