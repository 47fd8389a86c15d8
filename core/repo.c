/* libgit2 behind a small API: discovery, streamed history, details, export. */
#include "config.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/error.h"
#include "pathcheck.h"
#include "repo.h"
#include "repo_int.h"
#include "template.h"

struct es_repo {
	git_repository *repo;
	char *root;
};

int es_repo_git_fail(int status, const char *what)
{
	const git_error *e = git_error_last();
	return es_fail(status, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* libgit2's defaults suit a server: 1 GiB pack windows, up to 8 GiB of them
 * mapped, 256 MiB of cached objects. A console that walks a whole history
 * once reads each commit once and keeps what it shows itself, so windows
 * stay small (pages of a mapped pack count in its memory) and the cache only
 * spares the second read of a commit the walk has just parsed. The settings
 * are process-wide; libgit2 is ours alone here. */
#define PACK_WINDOW      ((size_t)1 << 20)
#define PACK_MAPPED      ((size_t)4 << 20)
#define OBJECT_CACHE_MAX ((ssize_t)2 << 20)

static void bound_memory(void)
{
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, PACK_WINDOW);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, PACK_MAPPED);
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, OBJECT_CACHE_MAX);
	/* Reading the whole history hashed every commit again to check its id
	 * (a tenth of the load); git itself leaves that to fsck. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
}

int es_repo_discover(const char *dir, struct es_repo **out)
{
	git_buf path = {0};
	struct es_repo *r;
	const char *wd;

	*out = NULL;
	git_libgit2_init();
	bound_memory();
	if (git_repository_discover(&path, dir ? dir : ".", 0, NULL) < 0)
		return es_fail(ES_ENOTFOUND,
		               "%s is not inside a git repository: run edgeship in "
		               "your application's repository",
		               dir ? dir : "the current directory");
	r = calloc(1, sizeof(*r));
	if (!r) {
		git_buf_dispose(&path);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	if (git_repository_open(&r->repo, path.ptr) < 0) {
		git_buf_dispose(&path);
		free(r);
		return es_repo_git_fail(ES_ERR, "opening the repository");
	}
	git_buf_dispose(&path);
	wd = git_repository_workdir(r->repo);
	if (!wd) {
		es_repo_free(r);
		return es_fail(ES_EINVAL, "the repository is bare: edgeship needs a working tree");
	}
	r->root = strdup(wd);
	if (r->root) {
		size_t n = strlen(r->root);
		while (n > 1 && r->root[n - 1] == '/')
			r->root[--n] = '\0';
	}
	*out = r;
	return ES_OK;
}

/* Fold one file's identity (size, change time, inode) into a stamp: a
 * stat, no read, so polling it every second costs nothing. */
static void stamp_file(char *buf, size_t len, const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	size_t used = strlen(buf);

	snprintf(path, sizeof(path), "%s%s", dir, name);
	if (used + 1 >= len)
		return;
	if (stat(path, &st) != 0)
		snprintf(buf + used, len - used, "%s:-;", name);
	else
		snprintf(buf + used, len - used, "%s:%lld.%09ld/%lld/%llu;", name,
		         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_size,
		         (unsigned long long)st.st_ino);
}

int es_repo_head_stamp(struct es_repo *r, char *buf, size_t len)
{
	const char *gitdir = git_repository_path(r->repo);
	const char *common = git_repository_commondir(r->repo);
	git_reference *head = NULL;
	git_oid oid;
	size_t used;

	if (!len)
		return ES_EINVAL;
	buf[0] = '\0';
	stamp_file(buf, len, gitdir, "HEAD");
	stamp_file(buf, len, common ? common : gitdir, "packed-refs");
	/* HEAD names a branch (or a commit): where it points now. A commit,
	 * pull, reset or branch switch changes that, whichever way git wrote it. */
	used = strlen(buf);
	if (git_reference_lookup(&head, r->repo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC && used + 1 < len) {
		snprintf(buf + used, len - used, "%s=", git_reference_symbolic_target(head));
		used = strlen(buf);
	}
	git_reference_free(head);
	if (git_reference_name_to_id(&oid, r->repo, "HEAD") == 0 && used + GIT_OID_HEXSZ + 1 < len)
		git_oid_tostr(buf + used, len - used, &oid);
	return ES_OK;
}

void es_repo_free(struct es_repo *r)
{
	if (!r)
		return;
	git_repository_free(r->repo);
	free(r->root);
	free(r);
}

const char *es_repo_root(const struct es_repo *r)
{
	return r->root;
}

git_repository *es_repo_git(struct es_repo *r)
{
	return r->repo;
}

int es_repo_lookup_commit(struct es_repo *r, const char *rev, git_commit **out)
{
	git_object *obj = NULL;

	if (git_revparse_single(&obj, r->repo, rev) < 0)
		return es_fail(ES_ENOTFOUND, "no commit '%s' in this repository", rev);
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		return es_fail(ES_EINVAL, "'%s' is not a commit", rev);
	}
	git_object_free(obj);
	return ES_OK;
}

int es_repo_resolve(struct es_repo *r, const char *rev, char oid[41])
{
	git_commit *c;
	int rc = es_repo_lookup_commit(r, rev, &c);

	if (rc)
		return rc;
	git_oid_tostr(oid, 41, git_commit_id(c));
	git_commit_free(c);
	return ES_OK;
}

int es_repo_tree_id(struct es_repo *r, const char *rev, char oid[41])
{
	git_commit *c;
	int rc = es_repo_lookup_commit(r, rev, &c);

	if (rc)
		return rc;
	git_oid_tostr(oid, 41, git_commit_tree_id(c));
	git_commit_free(c);
	return ES_OK;
}

void es_repo_commit_info(git_commit *c, struct es_commit_info *out)
{
	const git_signature *a = git_commit_author(c);
	const char *summary = git_commit_summary(c);

	memset(out, 0, sizeof(*out));
	git_oid_tostr(out->oid, sizeof(out->oid), git_commit_id(c));
	memcpy(out->short_oid, out->oid, 7);
	snprintf(out->summary, sizeof(out->summary), "%s", summary ? summary : "");
	es_sanitize(out->summary, false);
	snprintf(out->author, sizeof(out->author), "%s", a && a->name ? a->name : "");
	es_sanitize(out->author, false);
	out->when = a ? (time_t)a->when.time : 0;
	out->parents = git_commit_parentcount(c);
}

struct patch_ctx {
	struct es_buf *b;
	size_t max;
	bool cut;
};

static int on_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l,
                   void *payload)
{
	struct patch_ctx *p = payload;

	(void)d;
	(void)h;
	if (p->cut)
		return 0;
	if (p->b->len + l->content_len + 2 > p->max) {
		es_buf_puts(p->b, "\n[diff cut: too long]\n");
		p->cut = true;
		return 0;
	}
	if (l->origin == GIT_DIFF_LINE_CONTEXT || l->origin == GIT_DIFF_LINE_ADDITION ||
	    l->origin == GIT_DIFF_LINE_DELETION)
		es_buf_putc(p->b, l->origin);
	es_buf_append(p->b, l->content, l->content_len);
	return 0;
}

int es_repo_commit_detail(struct es_repo *r, const char *rev, size_t max_patch,
                          struct es_commit_detail *out)
{
	git_commit *c = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	git_diff *diff = NULL;
	const git_signature *a;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_repo_lookup_commit(r, rev, &c);
	if (rc)
		return rc;
	es_repo_commit_info(c, &out->info);
	out->message = strdup(git_commit_message(c) ? git_commit_message(c) : "");
	if (out->message)
		es_sanitize(out->message, true);
	a = git_commit_author(c);
	out->author_email = strdup(a && a->email ? a->email : "");
	if (git_commit_tree(&tree, c) < 0) {
		rc = es_repo_git_fail(ES_ERR, "reading the commit's tree");
		goto out;
	}
	if (git_commit_parentcount(c) > 0 &&
	    (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&ptree, parent) < 0)) {
		rc = es_repo_git_fail(ES_ERR, "reading the parent commit");
		goto out;
	}
	if (git_diff_tree_to_tree(&diff, r->repo, ptree, tree, NULL) < 0) {
		rc = es_repo_git_fail(ES_ERR, "comparing with the parent");
		goto out;
	}
	git_diff_find_similar(diff, NULL);
	size_t n = git_diff_num_deltas(diff);
	out->files = calloc(n ? n : 1, sizeof(*out->files));
	if (!out->files) {
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		char st;
		switch (d->status) {
		case GIT_DELTA_ADDED: st = ES_FILE_ADDED; break;
		case GIT_DELTA_DELETED: st = ES_FILE_DELETED; break;
		case GIT_DELTA_MODIFIED: st = ES_FILE_MODIFIED; break;
		case GIT_DELTA_RENAMED: st = ES_FILE_RENAMED; break;
		default: st = ES_FILE_OTHER; break;
		}
		out->files[i].status = st;
		out->files[i].path = strdup(d->new_file.path ? d->new_file.path : d->old_file.path);
		out->n_files++;
	}
	if (max_patch) {
		struct es_buf b = ES_BUF_INIT;
		struct patch_ctx p = {&b, max_patch, false};
		git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, on_line, &p);
		out->patch = es_buf_steal(&b);
		if (out->patch)
			es_sanitize(out->patch, true);
	}
out:
	git_diff_free(diff);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_commit_free(c);
	if (rc)
		es_commit_detail_free(out);
	return rc;
}

void es_commit_detail_free(struct es_commit_detail *d)
{
	if (!d)
		return;
	free(d->message);
	free(d->author_email);
	for (size_t i = 0; i < d->n_files; i++)
		free(d->files[i].path);
	free(d->files);
	free(d->patch);
	memset(d, 0, sizeof(*d));
}

/* Symbolic links of an exported commit, each checked once written. */
struct link_check {
	const char *dest;
	char *real_dest;
	const char *commit;
	int rc;
};

static int check_link(const char *parent, const git_tree_entry *e, void *payload)
{
	struct link_check *lc = payload;
	char *path, *real;

	if (git_tree_entry_filemode(e) != GIT_FILEMODE_LINK)
		return 0;
	if (asprintf(&path, "%s/%s%s", lc->dest, parent, git_tree_entry_name(e)) < 0) {
		lc->rc = es_fail(ES_ENOMEM, "out of memory");
		return -1;
	}
	/* A dangling link delivers nothing; one that resolves must stay. */
	real = realpath(path, NULL);
	free(path);
	if (real && !es_path_is_under(lc->real_dest, real))
		lc->rc = es_fail(ES_EREFUSED,
		                 "commit %.7s: %s%s is a symbolic link to %s, outside the "
		                 "repository: deploys package only the commit's own files; replace "
		                 "the link with the files it points to",
		                 lc->commit, parent, git_tree_entry_name(e), real);
	free(real);
	return lc->rc ? -1 : 0;
}

struct export_meter {
	es_repo_export_fn fn;
	void *ud;
};

static void on_checkout(const char *path, size_t done, size_t total, void *payload)
{
	struct export_meter *m = payload;

	(void)path;
	m->fn(done, total, m->ud);
}

int es_repo_export(struct es_repo *r, const char *rev, const char *dest)
{
	return es_repo_export_with(r, rev, dest, NULL, NULL);
}

int es_repo_export_with(struct es_repo *r, const char *rev, const char *dest, es_repo_export_fn fn,
                        void *ud)
{
	struct export_meter meter = {fn, ud};
	git_checkout_options opts;
	git_commit *c;
	git_tree *tree = NULL;
	int rc;

	git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
	if (mkdir(dest, 0700) != 0 && errno != EEXIST)
		return es_fail(ES_ERR, "cannot create %s: %s", dest, strerror(errno));
	rc = es_repo_lookup_commit(r, rev, &c);
	if (rc)
		return rc;
	if (git_commit_tree(&tree, c) < 0) {
		git_commit_free(c);
		return es_repo_git_fail(ES_ERR, "reading the commit's tree");
	}
	/* Write files into dest only: the index and HEAD stay as they are. */
	opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX |
	                         GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
	opts.target_directory = dest;
	opts.disable_filters = 0;
	if (fn) {
		opts.progress_cb = on_checkout;
		opts.progress_payload = &meter;
	}
	if (git_checkout_tree(r->repo, (git_object *)tree, &opts) < 0)
		rc = es_repo_git_fail(ES_ERR, "exporting the commit");
	/* Nothing outside the commit may be reachable from its export: a link
	 * out of it would make packaging read files nobody committed. */
	struct link_check lc = {.dest = dest, .commit = git_oid_tostr_s(git_commit_id(c))};
	if (!rc && !(lc.real_dest = realpath(dest, NULL)))
		rc = es_fail(ES_ERR, "%s: %s", dest, strerror(errno));
	if (!rc && git_tree_walk(tree, GIT_TREEWALK_PRE, check_link, &lc) < 0)
		rc = lc.rc ? lc.rc : es_repo_git_fail(ES_ERR, "reading the commit's tree");
	free(lc.real_dest);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

int es_repo_dirty(struct es_repo *r, bool *dirty, size_t *n_changed)
{
	git_status_options opts;
	git_status_list *list;

	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&list, r->repo, &opts) < 0)
		return es_repo_git_fail(ES_ERR, "reading the working tree status");
	*n_changed = git_status_list_entrycount(list);
	*dirty = *n_changed > 0;
	git_status_list_free(list);
	return ES_OK;
}

int es_repo_revert(struct es_repo *r, const char *rev, char new_oid[41])
{
	git_commit *c = NULL, *head = NULL;
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid tree_id, id;
	git_checkout_options co;
	bool dirty;
	size_t n;
	char msg[512];
	int rc;

	rc = es_repo_dirty(r, &dirty, &n);
	if (rc)
		return rc;
	if (dirty)
		return es_fail(
		        ES_EREFUSED,
		        "the working tree has %zu uncommitted change%s: commit or stash them "
		        "before reverting",
		        n, n == 1 ? "" : "s");
	rc = es_repo_lookup_commit(r, rev, &c);
	if (rc)
		return rc;
	rc = es_repo_lookup_commit(r, "HEAD", &head);
	if (rc)
		goto out;
	if (git_commit_parentcount(c) != 1) {
		rc = es_fail(ES_EREFUSED,
		             "%.7s is a merge or root commit: revert it with git revert -m",
		             git_oid_tostr_s(git_commit_id(c)));
		goto out;
	}
	if (git_revert_commit(&index, r->repo, c, head, 0, NULL) < 0) {
		rc = es_repo_git_fail(ES_ERR, "reverting");
		goto out;
	}
	if (git_index_has_conflicts(index)) {
		rc = es_fail(ES_EREFUSED,
		             "reverting %.7s conflicts with later commits: use git revert "
		             "and resolve the conflicts",
		             git_oid_tostr_s(git_commit_id(c)));
		goto out;
	}
	if (git_index_write_tree_to(&tree_id, index, r->repo) < 0 ||
	    git_tree_lookup(&tree, r->repo, &tree_id) < 0) {
		rc = es_repo_git_fail(ES_ERR, "writing the reverted tree");
		goto out;
	}
	if (git_signature_default(&sig, r->repo) < 0 &&
	    git_signature_now(&sig, "edgeship", "edgeship@localhost") < 0) {
		rc = es_repo_git_fail(ES_ERR, "making a signature");
		goto out;
	}
	snprintf(msg, sizeof(msg), "Revert \"%s\"\n\nThis reverts commit %s.\n",
	         git_commit_summary(c) ? git_commit_summary(c) : "",
	         git_oid_tostr_s(git_commit_id(c)));
	const git_commit *parents[] = {head};
	if (git_commit_create(&id, r->repo, "HEAD", sig, sig, NULL, msg, tree, 1, parents) < 0) {
		rc = es_repo_git_fail(ES_ERR, "committing the revert");
		goto out;
	}
	/* The tree was clean, so bring the index and files up to the new HEAD. */
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_checkout_head(r->repo, &co) < 0) {
		rc = es_repo_git_fail(ES_ERR, "updating the working tree");
		goto out;
	}
	git_oid_tostr(new_oid, 41, &id);
out:
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(index);
	git_commit_free(head);
	git_commit_free(c);
	return rc;
}

/* ------------------------------------------------------------ comparing */

/* Commits reachable from tip and not from hide, in the walk's own order
 * (newest first on a line of history), at most max. */
static int walk_between(git_repository *repo, const git_oid *tip, const git_oid *hide, size_t max,
                        struct es_commit_info **out, size_t *n, bool *more)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	int rc = ES_OK;

	*out = NULL;
	*n = 0;
	*more = false;
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_push(walk, tip) < 0 ||
	    (hide && git_revwalk_hide(walk, hide) < 0)) {
		git_revwalk_free(walk);
		return es_repo_git_fail(ES_ERR, "walking the history between the two commits");
	}
	*out = calloc(max ? max : 1, sizeof(**out));
	if (!*out) {
		git_revwalk_free(walk);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	while (git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;
		if (*n == max) {
			*more = true;
			break;
		}
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = es_repo_git_fail(ES_ERR, "reading a commit");
			break;
		}
		es_repo_commit_info(c, &(*out)[(*n)++]);
		git_commit_free(c);
	}
	git_revwalk_free(walk);
	return rc;
}

static int diff_files(git_repository *repo, git_commit *a, git_commit *b, size_t max,
                      struct es_repo_compare *out)
{
	git_tree *ta = NULL, *tb = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	int rc = ES_OK;

	/* Larger files count as binary: no line counts, no slow text diff. */
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.max_size = 1024 * 1024;
	if (git_commit_tree(&ta, a) < 0 || git_commit_tree(&tb, b) < 0 ||
	    git_diff_tree_to_tree(&diff, repo, ta, tb, &opts) < 0) {
		rc = es_repo_git_fail(ES_ERR, "comparing the two commits' files");
		goto out;
	}
	out->files_total = git_diff_num_deltas(diff);
	out->files = calloc(out->files_total < max ? out->files_total + 1 : max + 1,
	                    sizeof(*out->files));
	if (!out->files) {
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < out->files_total && out->n_files < max; i++) {
		const git_diff_delta *dd = git_diff_get_delta(diff, i);
		struct es_file_stat *f = &out->files[out->n_files];
		git_patch *p = NULL;
		size_t ctx = 0;

		switch (dd->status) {
		case GIT_DELTA_ADDED: f->status = ES_FILE_ADDED; break;
		case GIT_DELTA_DELETED: f->status = ES_FILE_DELETED; break;
		case GIT_DELTA_MODIFIED: f->status = ES_FILE_MODIFIED; break;
		case GIT_DELTA_RENAMED: f->status = ES_FILE_RENAMED; break;
		default: f->status = ES_FILE_OTHER; break;
		}
		f->path = strdup(dd->new_file.path ? dd->new_file.path : dd->old_file.path);
		if (!f->path) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			goto out;
		}
		es_sanitize(f->path, false);
		out->n_files++;
		if (git_patch_from_diff(&p, diff, i) == 0 && p) {
			f->binary = (git_patch_get_delta(p)->flags & GIT_DIFF_FLAG_BINARY) != 0;
			git_patch_line_stats(&ctx, &f->added, &f->deleted, p);
			out->lines_added += f->added;
			out->lines_deleted += f->deleted;
		}
		git_patch_free(p);
	}
out:
	git_diff_free(diff);
	git_tree_free(ta);
	git_tree_free(tb);
	return rc;
}

/* The template at path in commit c, parsed; NULL with a note when absent
 * or unreadable. */
static json_t *commit_template(git_commit *c, const char *path, char *note, size_t len)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	json_t *tpl = NULL;
	char label[80];

	snprintf(label, sizeof(label), "%.7s:%s", git_oid_tostr_s(git_commit_id(c)), path);
	if (git_commit_tree(&tree, c) < 0 || git_tree_entry_bypath(&e, tree, path) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&blob, git_commit_owner(c), git_tree_entry_id(e)) < 0)
		snprintf(note, len, "%s is not in commit %.7s", path,
		         git_oid_tostr_s(git_commit_id(c)));
	else if (es_template_parse(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), label,
	                           &tpl) != ES_OK)
		snprintf(note, len, "%s", es_error_last()->message);
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	if (note[0])
		es_sanitize(note, false);
	return tpl;
}

static int add_resource(struct es_repo_compare *out, char kind, const char *id, const json_t *res)
{
	struct es_resource_change *grown, *rc;
	const char *type = json_string_value(json_object_get(res, "Type"));

	grown = realloc(out->resources, (out->n_resources + 1) * sizeof(*grown));
	if (!grown)
		return es_fail(ES_ENOMEM, "out of memory");
	out->resources = grown;
	rc = &out->resources[out->n_resources];
	rc->kind = kind;
	rc->logical_id = strdup(id);
	rc->type = strdup(type ? type : "");
	if (!rc->logical_id || !rc->type) {
		free(rc->logical_id);
		free(rc->type);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	es_sanitize(rc->logical_id, false);
	es_sanitize(rc->type, false);
	out->n_resources++;
	return ES_OK;
}

/* Logical ids added, removed or whose definition differs, in the order
 * the new template (then the old one, for removals) lists them. */
static int diff_resources(const json_t *old_tpl, const json_t *new_tpl, struct es_repo_compare *out)
{
	const json_t *old_res = json_object_get(old_tpl, "Resources");
	const json_t *new_res = json_object_get(new_tpl, "Resources");
	const char *id;
	json_t *v;
	int rc = ES_OK;

	json_object_foreach((json_t *)new_res, id, v)
	{
		const json_t *was = json_object_get(old_res, id);
		if (!was)
			rc = add_resource(out, '+', id, v);
		else if (!json_equal((json_t *)was, v))
			rc = add_resource(out, '~', id, v);
		if (rc)
			return rc;
	}
	json_object_foreach((json_t *)old_res, id, v)
	{
		if (!json_object_get(new_res, id) && (rc = add_resource(out, '-', id, v)) != ES_OK)
			return rc;
	}
	return ES_OK;
}

int es_repo_compare(struct es_repo *r, const char *from, const char *to, const char *template_path,
                    size_t max_commits, size_t max_files, struct es_repo_compare *out)
{
	git_commit *a = NULL, *b = NULL;
	json_t *ta = NULL, *tb = NULL;
	char note[256] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	out->first = !from || !from[0];
	if ((rc = es_repo_lookup_commit(r, to, &b)) != ES_OK)
		return rc;
	if (!out->first && (rc = es_repo_lookup_commit(r, from, &a)) != ES_OK)
		goto out;
	if (a) {
		const git_oid *ia = git_commit_id(a), *ib = git_commit_id(b);
		out->same = git_oid_equal(ia, ib);
		out->fast_forward = out->same || git_graph_descendant_of(r->repo, ib, ia) == 1;
		if ((rc = walk_between(r->repo, ib, ia, max_commits, &out->ahead, &out->n_ahead,
		                       &out->ahead_more)) != ES_OK ||
		    (!out->fast_forward &&
		     (rc = walk_between(r->repo, ia, ib, max_commits, &out->behind, &out->n_behind,
		                        &out->behind_more)) != ES_OK) ||
		    (rc = diff_files(r->repo, a, b, max_files, out)) != ES_OK)
			goto out;
	}
	if (!template_path || !template_path[0])
		goto out;
	tb = commit_template(b, template_path, note, sizeof(note));
	if (a && tb)
		ta = commit_template(a, template_path, note, sizeof(note));
	if (tb && (ta || !a))
		rc = diff_resources(ta, tb, out);
	snprintf(out->template_note, sizeof(out->template_note), "%s", note);
out:
	json_decref(ta);
	json_decref(tb);
	git_commit_free(a);
	git_commit_free(b);
	if (rc)
		es_repo_compare_free(out);
	return rc;
}

void es_repo_compare_free(struct es_repo_compare *c)
{
	if (!c)
		return;
	free(c->ahead);
	free(c->behind);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i].path);
	free(c->files);
	for (size_t i = 0; i < c->n_resources; i++) {
		free(c->resources[i].logical_id);
		free(c->resources[i].type);
	}
	free(c->resources);
	memset(c, 0, sizeof(*c));
}
