/* The application's git repository through libgit2: discovery, history
 * (streamed by history.h), commit details, exporting a commit's tree for
 * packaging (deploys come from commits, never the working directory). */
#ifndef ES_REPO_H
#define ES_REPO_H

#include "base/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct es_repo;

struct es_commit_info {
	char oid[41];
	char short_oid[8];
	char summary[256]; /* first line of the message, control characters removed */
	char author[128];
	time_t when;
	unsigned parents;
};

enum es_file_change {
	ES_FILE_ADDED = 'A',
	ES_FILE_MODIFIED = 'M',
	ES_FILE_DELETED = 'D',
	ES_FILE_RENAMED = 'R',
	ES_FILE_OTHER = '?'
};

struct es_changed_file {
	char status; /* enum es_file_change */
	char *path;  /* owned */
};

struct es_commit_detail {
	struct es_commit_info info;
	char *message; /* whole message, control characters removed */
	char *author_email;
	struct es_changed_file *files;
	size_t n_files;
	char *patch; /* unified diff against the first parent (bounded) */
};

/* Find the repository containing dir (NULL: current directory).
 * ES_ENOTFOUND outside a repository. */
int es_repo_discover(const char *dir, struct es_repo **out);
void es_repo_free(struct es_repo *r);
/* The working directory root (no trailing slash). */
const char *es_repo_root(const struct es_repo *r);

/* A short text that changes whenever HEAD, the branch it names or the
 * packed refs change (a commit, pull, reset, branch switch): stats and two
 * small ref reads, cheap enough to poll every second. */
int es_repo_head_stamp(struct es_repo *r, char *buf, size_t len);

/* Resolve a revision ("HEAD", "main~2", an abbreviated id) to a full id. */
int es_repo_resolve(struct es_repo *r, const char *rev, char oid[41]);
/* The id of rev's tree: what a build depends on (two commits with the same
 * tree build the same). */
int es_repo_tree_id(struct es_repo *r, const char *rev, char oid[41]);

/* Message, changed files and patch (max_patch bytes; 0: none). */
int es_repo_commit_detail(struct es_repo *r, const char *rev, size_t max_patch,
                          struct es_commit_detail *out);
void es_commit_detail_free(struct es_commit_detail *d);

/* Write the tree of rev into dest (created; must be empty or absent).
 * ES_EREFUSED, naming the link, when the commit holds a symbolic link that
 * resolves outside dest: nothing outside the commit may be packaged. */
int es_repo_export(struct es_repo *r, const char *rev, const char *dest);
/* The same, telling fn (may be NULL) how many of the commit's files are
 * written so far, out of how many. */
typedef void (*es_repo_export_fn)(size_t done, size_t total, void *ud);
int es_repo_export_with(struct es_repo *r, const char *rev, const char *dest, es_repo_export_fn fn,
                        void *ud);

/* Does the working tree differ from HEAD (untracked files excluded)? */
int es_repo_dirty(struct es_repo *r, bool *dirty, size_t *n_changed);

/* Commit the revert of rev on top of HEAD and update the working tree
 * (which must be clean). new_oid gets the new commit's id. */
int es_repo_revert(struct es_repo *r, const char *rev, char new_oid[41]);

/* What changes between the commit a stage runs and the one it is about to
 * run, bounded so that it stays quick on a large history. */
struct es_file_stat {
	char status; /* enum es_file_change */
	char *path;  /* owned */
	size_t added, deleted;
	bool binary;
};

struct es_resource_change {
	char kind;        /* '+' added, '-' removed, '~' modified */
	char *logical_id; /* owned */
	char *type;       /* owned, "" when the template names none */
};

struct es_repo_compare {
	bool first;        /* from was empty: the stage runs nothing yet */
	bool same;         /* from and to are the same commit */
	bool fast_forward; /* from is an ancestor of to */
	/* Commits reachable from to and not from (newest first) and, when not a
	 * fast-forward, those only from has: at most max_commits each, *_more
	 * set when the walk stopped there. */
	struct es_commit_info *ahead, *behind;
	size_t n_ahead, n_behind;
	bool ahead_more, behind_more;
	/* Files changed from from's tree to to's: the first max_files of
	 * files_total, with the line counts summed over those. */
	struct es_file_stat *files;
	size_t n_files, files_total, lines_added, lines_deleted;
	/* Resources added, removed or modified in the template at
	 * template_path; template_note says why none could be compared. */
	struct es_resource_change *resources;
	size_t n_resources;
	char template_note[256];
};

/* Compare from (NULL or "": nothing deployed yet) with to. Without from,
 * only to's template resources are listed, all as added. Everything in
 * *out is owned by it: es_repo_compare_free. */
int es_repo_compare(struct es_repo *r, const char *from, const char *to, const char *template_path,
                    size_t max_commits, size_t max_files, struct es_repo_compare *out);
void es_repo_compare_free(struct es_repo_compare *c);

/* Streaming the history lives in history.h. */
#include "history.h"

#endif
