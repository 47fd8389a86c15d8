/* The git layer on a small repository made with the git command. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "repo.h"
#include "testutil.h"

static char *dir;

#define sh TU_SH

static int setup(void **state)
{
	dir = tu_mkdtemp();
	if (!dir)
		return -1;
	sh("cd %s && git init -q -b main . && git config user.name 'Ann Tester' && "
	   "git config user.email ann@example.com && git config commit.gpgsign false && "
	   "mkdir src && echo 'v1' > src/index.js && echo readme > README.md && "
	   "git add . && git commit -qm 'first: add handler' && "
	   "echo 'v2' > src/index.js && git commit -qam 'second: change handler' && "
	   "git rm -q README.md && printf 'evil \\033[2J\\r title\\n\\nbody\\n' > msg && "
	   "git commit -q -F msg && rm msg",
	   dir);
	return 0;
}

static int teardown(void **state)
{
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static void discovers_from_a_subdirectory(void **state)
{
	struct es_repo *r;
	char sub[1024];

	snprintf(sub, sizeof(sub), "%s/src", dir);
	assert_int_equal(es_repo_discover(sub, &r), ES_OK);
	/* mkdtemp may sit under a symlinked /tmp: compare the tail. */
	assert_non_null(strstr(es_repo_root(r), strrchr(dir, '/')));
	es_repo_free(r);
}

static void outside_a_repository(void **state)
{
	struct es_repo *r;
	char *empty = tu_mkdtemp();

	/* Stop discovery from climbing into a repository above TMPDIR. */
	setenv("GIT_CEILING_DIRECTORIES", empty, 1);
	assert_int_equal(es_repo_discover(empty, &r), ES_ENOTFOUND);
	assert_non_null(strstr(es_error_last()->message, "not inside a git repository"));
	unsetenv("GIT_CEILING_DIRECTORIES");
	tu_rmtree(empty);
	free(empty);
}

static void history_streams_every_commit(void **state)
{
	struct es_repo *r;
	struct es_history *h;
	struct es_commit_info ci;
	int n = 0;

	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_history_open(r, NULL, &h), ES_OK);
	while (es_history_next(h, &ci) == ES_OK) {
		assert_int_equal(strlen(ci.oid), 40);
		assert_string_equal(ci.author, "Ann Tester");
		/* Escape sequences in a message never survive. */
		assert_null(strchr(ci.summary, '\033'));
		assert_null(strchr(ci.summary, '\r'));
		n++;
	}
	assert_int_equal(n, 3);
	es_history_close(h);
	es_repo_free(r);
}

static void resolve_revisions(void **state)
{
	struct es_repo *r;
	char a[41], b[41];

	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_repo_resolve(r, "HEAD~1", a), ES_OK);
	assert_int_equal(es_repo_resolve(r, "main~1", b), ES_OK);
	assert_string_equal(a, b);
	assert_int_equal(es_repo_resolve(r, "nope", a), ES_ENOTFOUND);
	assert_non_null(strstr(es_error_last()->message, "nope"));
	es_repo_free(r);
}

static void commit_detail_lists_files_and_patch(void **state)
{
	struct es_repo *r;
	struct es_commit_detail d;

	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_repo_commit_detail(r, "HEAD~1", 4096, &d), ES_OK);
	assert_string_equal(d.info.summary, "second: change handler");
	assert_int_equal(d.n_files, 1);
	assert_int_equal(d.files[0].status, ES_FILE_MODIFIED);
	assert_string_equal(d.files[0].path, "src/index.js");
	assert_non_null(strstr(d.patch, "-v1"));
	assert_non_null(strstr(d.patch, "+v2"));
	es_commit_detail_free(&d);
	assert_int_equal(es_repo_commit_detail(r, "HEAD", 16, &d), ES_OK);
	assert_int_equal(d.files[0].status, ES_FILE_DELETED);
	assert_null(strchr(d.message, '\033'));
	assert_non_null(strstr(d.message, "body"));
	es_commit_detail_free(&d);
	es_repo_free(r);
}

static void export_writes_the_commit_not_the_worktree(void **state)
{
	struct es_repo *r;
	char out[1024], file[1100];
	size_t len;
	bool dirty;
	size_t n;

	sh("cd %s && echo 'local edit' > src/index.js", dir);
	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_repo_dirty(r, &dirty, &n), ES_OK);
	assert_true(dirty);
	assert_int_equal(n, 1);
	snprintf(out, sizeof(out), "%s.export", dir);
	assert_int_equal(es_repo_export(r, "HEAD~2", out), ES_OK);
	snprintf(file, sizeof(file), "%s/src/index.js", out);
	char *text = tu_read_file(file, &len);
	assert_non_null(text);
	assert_string_equal(text, "v1\n");
	free(text);
	snprintf(file, sizeof(file), "%s/README.md", out);
	assert_int_equal(access(file, F_OK), 0);
	/* The working tree and index are untouched. */
	snprintf(file, sizeof(file), "%s/src/index.js", dir);
	text = tu_read_file(file, &len);
	assert_string_equal(text, "local edit\n");
	free(text);
	sh("cd %s && git checkout -q -- src/index.js", dir);
	assert_int_equal(es_repo_dirty(r, &dirty, &n), ES_OK);
	assert_false(dirty);
	tu_rmtree(out);
	es_repo_free(r);
}

static void export_refuses_links_out_of_the_commit(void **state)
{
	struct es_repo *r;
	char out[1024], want[256], start[41];

	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_repo_resolve(r, "HEAD", start), ES_OK);
	/* A link that stays inside is written as a link and allowed. */
	sh("cd %s && ln -s src/index.js current.js && git add current.js && "
	   "git commit -qm 'inside link'",
	   dir);
	snprintf(out, sizeof(out), "%s.export-in", dir);
	assert_int_equal(es_repo_export(r, "HEAD", out), ES_OK);
	tu_rmtree(out);
	/* Links that reach outside, absolute or climbing, are refused. */
	sh("cd %s && mkdir -p lib && ln -s /etc lib/system && git add lib && "
	   "git commit -qm 'absolute link'",
	   dir);
	snprintf(out, sizeof(out), "%s.export-abs", dir);
	assert_int_equal(es_repo_export(r, "HEAD", out), ES_EREFUSED);
	assert_non_null(strstr(es_error_last()->message,
	                       "lib/system is a symbolic link to /etc, outside the repository"));
	tu_rmtree(out);
	sh("cd %s && git rm -q lib/system && mkdir -p lib && ln -s ../../.. lib/up && git add lib "
	   "&& "
	   "git commit -qm 'climbing link'",
	   dir);
	snprintf(out, sizeof(out), "%s.export-up", dir);
	assert_int_equal(es_repo_export(r, "HEAD", out), ES_EREFUSED);
	snprintf(want, sizeof(want), "lib/up is a symbolic link to ");
	assert_non_null(strstr(es_error_last()->message, want));
	tu_rmtree(out);
	/* Leave the history as the other tests expect it. */
	sh("cd %s && git reset -q --hard %s", dir, start);
	es_repo_free(r);
}

static void revert_creates_the_inverse_commit(void **state)
{
	struct es_repo *r;
	struct es_commit_detail d;
	char target[41], oid[41], file[1100];
	size_t len;

	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_repo_resolve(r, "HEAD~1", target), ES_OK);
	sh("cd %s && echo dirty > src/index.js", dir);
	assert_int_equal(es_repo_revert(r, "HEAD~1", oid), ES_EREFUSED);
	assert_non_null(strstr(es_error_last()->message, "uncommitted"));
	sh("cd %s && git checkout -q -- src/index.js", dir);
	assert_int_equal(es_repo_revert(r, "HEAD~1", oid), ES_OK);
	assert_int_equal(es_repo_commit_detail(r, "HEAD", 4096, &d), ES_OK);
	assert_string_equal(d.info.oid, oid);
	assert_string_equal(d.info.summary, "Revert \"second: change handler\"");
	assert_non_null(strstr(d.message, target));
	assert_int_equal(d.n_files, 1);
	es_commit_detail_free(&d);
	snprintf(file, sizeof(file), "%s/src/index.js", dir);
	char *text = tu_read_file(file, &len);
	assert_string_equal(text, "v1\n");
	free(text);
	/* Nothing left uncommitted. */
	bool dirty;
	size_t n;
	assert_int_equal(es_repo_dirty(r, &dirty, &n), ES_OK);
	assert_false(dirty);
	es_repo_free(r);
}

/* The stamp the dashboard polls changes with every way HEAD can move: a
 * commit, a branch switch, a reset, a pack of the refs; not without one. */
static void head_stamp_follows_the_refs(void **state)
{
	struct es_repo *r;
	char a[1024], b[1024];

	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_repo_head_stamp(r, a, sizeof(a)), ES_OK);
	assert_int_equal(es_repo_head_stamp(r, b, sizeof(b)), ES_OK);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "refs/heads/main="));
	sh("cd %s && echo v3 > src/index.js && git commit -qam 'third: while watched'", dir);
	assert_int_equal(es_repo_head_stamp(r, b, sizeof(b)), ES_OK);
	assert_string_not_equal(a, b);
	snprintf(a, sizeof(a), "%s", b);
	sh("cd %s && git checkout -q -b side HEAD~1", dir);
	assert_int_equal(es_repo_head_stamp(r, b, sizeof(b)), ES_OK);
	assert_string_not_equal(a, b);
	assert_non_null(strstr(b, "refs/heads/side="));
	snprintf(a, sizeof(a), "%s", b);
	sh("cd %s && git checkout -q main && git branch -q -D side && git reset -q --hard HEAD~1",
	   dir);
	assert_int_equal(es_repo_head_stamp(r, b, sizeof(b)), ES_OK);
	assert_string_not_equal(a, b);
	snprintf(a, sizeof(a), "%s", b);
	sh("cd %s && git pack-refs --all", dir);
	assert_int_equal(es_repo_head_stamp(r, b, sizeof(b)), ES_OK);
	assert_string_not_equal(a, b);
	es_repo_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(discovers_from_a_subdirectory),
	        cmocka_unit_test(outside_a_repository),
	        cmocka_unit_test(history_streams_every_commit),
	        cmocka_unit_test(resolve_revisions),
	        cmocka_unit_test(commit_detail_lists_files_and_patch),
	        cmocka_unit_test(export_writes_the_commit_not_the_worktree),
	        cmocka_unit_test(export_refuses_links_out_of_the_commit),
	        cmocka_unit_test(revert_creates_the_inverse_commit),
	        cmocka_unit_test(head_stamp_follows_the_refs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
