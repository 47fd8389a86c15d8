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

/* What a promotion changes: commits newest first and capped, files with
 * line counts and capped, template resources added, modified and removed;
 * the same commit, a first release and a target off the line. */
static void compare_between_two_commits(void **state)
{
	char *d = tu_mkdtemp();
	struct es_repo *r;
	struct es_repo_compare c;
	char first[41], head[41], side[41];

	assert_non_null(d);
	sh("cd %s && git init -q -b main . && git config user.name 'Ann Tester' && "
	   "git config user.email ann@example.com && git config commit.gpgsign false && "
	   "printf 'Resources:\\n  Fn:\\n    Type: AWS::Lambda::Function\\n    Properties:\\n"
	   "      Timeout: 5\\n  Old:\\n    Type: AWS::S3::Bucket\\n' > template.yaml && "
	   "echo v1 > index.js && git add . && git commit -qm base && "
	   "git branch side && "
	   "for i in 1 2 3 4 5; do printf 'a\\nb\\n' > f$i.js && git add f$i.js && "
	   "git commit -qm \"add f$i\"; done && "
	   "printf 'Resources:\\n  Fn:\\n    Type: AWS::Lambda::Function\\n    Properties:\\n"
	   "      Timeout: 4\\n  Topic:\\n    Type: AWS::SNS::Topic\\n' > template.yaml && "
	   "printf 'topic \\033[31mred\\n' > msg && git commit -q -a -F msg && rm msg && "
	   "git checkout -q side && echo hot > index.js && git commit -qam hotfix && "
	   "git checkout -q main",
	   d);
	assert_int_equal(es_repo_discover(d, &r), ES_OK);
	assert_int_equal(es_repo_resolve(r, "main~6", first), ES_OK);
	assert_int_equal(es_repo_resolve(r, "main", head), ES_OK);
	assert_int_equal(es_repo_resolve(r, "side", side), ES_OK);

	assert_int_equal(es_repo_compare(r, first, head, "template.yaml", 3, 4, &c), ES_OK);
	assert_true(c.fast_forward && !c.first && !c.same);
	assert_int_equal(c.n_ahead, 3);
	assert_true(c.ahead_more);
	assert_string_equal(c.ahead[0].oid, head);
	assert_string_equal(c.ahead[0].summary, "topic  [31mred");
	assert_string_equal(c.ahead[1].summary, "add f5");
	assert_int_equal(c.n_behind, 0);
	assert_int_equal(c.files_total, 6);
	assert_int_equal(c.n_files, 4);
	assert_int_equal(c.files[0].status, ES_FILE_ADDED);
	assert_string_equal(c.files[0].path, "f1.js");
	assert_int_equal(c.files[0].added, 2);
	assert_int_equal(c.lines_added, 8);
	assert_int_equal(c.n_resources, 3);
	assert_true(c.resources[0].kind == '~' && !strcmp(c.resources[0].logical_id, "Fn"));
	assert_true(c.resources[1].kind == '+' && !strcmp(c.resources[1].logical_id, "Topic") &&
	            !strcmp(c.resources[1].type, "AWS::SNS::Topic"));
	assert_true(c.resources[2].kind == '-' && !strcmp(c.resources[2].logical_id, "Old"));
	assert_string_equal(c.template_note, "");
	es_repo_compare_free(&c);

	assert_int_equal(es_repo_compare(r, first, head, "template.yaml", 200, 500, &c), ES_OK);
	assert_int_equal(c.n_ahead, 6);
	assert_false(c.ahead_more);
	assert_int_equal(c.n_files, 6);
	assert_string_equal(c.files[5].path, "template.yaml");
	assert_int_equal(c.files[5].status, ES_FILE_MODIFIED);
	assert_int_equal(c.files[5].added, 3);
	assert_int_equal(c.files[5].deleted, 3);
	es_repo_compare_free(&c);

	assert_int_equal(es_repo_compare(r, head, head, "template.yaml", 200, 500, &c), ES_OK);
	assert_true(c.same && c.fast_forward);
	assert_int_equal(c.n_ahead + c.n_files + c.n_resources, 0);
	es_repo_compare_free(&c);

	assert_int_equal(es_repo_compare(r, "", head, "template.yaml", 200, 500, &c), ES_OK);
	assert_true(c.first);
	assert_int_equal(c.n_ahead + c.n_files, 0);
	assert_int_equal(c.n_resources, 2);
	assert_true(c.resources[0].kind == '+' && c.resources[1].kind == '+');
	es_repo_compare_free(&c);

	assert_int_equal(es_repo_compare(r, side, head, "template.yaml", 200, 500, &c), ES_OK);
	assert_false(c.fast_forward);
	assert_int_equal(c.n_ahead, 6);
	assert_int_equal(c.n_behind, 1);
	assert_string_equal(c.behind[0].summary, "hotfix");
	es_repo_compare_free(&c);

	assert_int_equal(es_repo_compare(r, first, head, "nope.yaml", 200, 500, &c), ES_OK);
	assert_int_equal(c.n_resources, 0);
	assert_non_null(strstr(c.template_note, "nope.yaml"));
	es_repo_compare_free(&c);

	assert_int_equal(es_repo_compare(r, first, "no-such-rev", "template.yaml", 200, 500, &c),
	                 ES_ENOTFOUND);
	es_repo_free(r);
	tu_rmtree(d);
	free(d);
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
	        cmocka_unit_test(compare_between_two_commits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
