/* Streaming the history: each streamed commit says what the commit detail
 * says (summary, author, date, parents), for awkward messages too, and the
 * compact list read in slices gets the same. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "commit_list.h"
#include "history.h"
#include "repo.h"
#include "testutil.h"

static char *dir;

#define sh TU_SH

/* Messages as git stores them (fast-import keeps them verbatim). */
static const char *const messages[] = {
        "plain subject\n",
        "\n\n  leading newlines and spaces  \n\nbody\n",
        "first line\nsecond line of the same paragraph\n\nbody\n",
        "subject\n   \t \nafter a blank-looking line\n",
        "tabs\tinside  and   runs\r\nwith CRLF\r\n\r\nbody\r\n",
        "evil \033[2J\r title \033]0;x\007\n\nbody\n",
        "no newline at all",
        "",
        "d\xc3\xa9j\xc3\xa0 vu: caf\xc3\xa9 \xe2\x86\x92 th\xc3\xa9\n",
        "trailing spaces   \n  \n",
};

static int setup(void **state)
{
	FILE *f;
	char path[1024];

	(void)state;
	dir = tu_mkdtemp();
	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/import", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		fprintf(f, "commit refs/heads/main\nmark :%zu\n", i + 1);
		fprintf(f, "author %s <a%zu@example.com> %zu +0200\n",
		        i % 2 ? "  Spaced   Name " : "R\xc3\xa9n\xc3\xa9 Tester", i,
		        1600000000 + i * 60);
		fprintf(f, "committer C <c@example.com> %zu +0000\n", 1700000000 + i);
		fprintf(f, "data %zu\n%s\n", strlen(messages[i]), messages[i]);
		if (i > 0)
			fprintf(f, "from :%zu\n", i);
		if (i == 6) /* a merge of a side commit */
			fprintf(f, "merge :2\n");
		fprintf(f, "M 644 inline f%zu\ndata 2\nv\n\n", i);
	}
	fclose(f);
	sh("cd %s && git init -q -b main . && git fast-import --quiet < import && "
	   "git reset -q --hard main",
	   dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static void streamed_commits_match_detail(void **state)
{
	struct es_repo *r;
	struct es_history *h;
	struct es_commit_info ci;
	struct es_commit_detail det;
	size_t n = 0, merges = 0;

	(void)state;
	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_history_open(r, NULL, &h), ES_OK);
	while (es_history_next(h, &ci) == ES_OK) {
		/* es_repo_commit_detail reads the commit through git_commit. */
		assert_int_equal(es_repo_commit_detail(r, ci.oid, 0, &det), ES_OK);
		assert_string_equal(ci.summary, det.info.summary);
		assert_string_equal(ci.author, det.info.author);
		assert_int_equal(ci.when, det.info.when);
		assert_int_equal(ci.parents, det.info.parents);
		assert_string_equal(ci.short_oid, det.info.short_oid);
		assert_null(strchr(ci.summary, '\033'));
		merges += ci.parents > 1;
		es_commit_detail_free(&det);
		n++;
	}
	assert_int_equal(n, sizeof(messages) / sizeof(messages[0]));
	assert_int_equal(merges, 1);
	es_history_close(h);
	es_repo_free(r);
}

static void summaries_as_git_makes_them(void **state)
{
	struct es_repo *r;
	struct es_history *h;
	struct es_commit_info ci;
	int seen = 0;

	(void)state;
	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_history_open(r, NULL, &h), ES_OK);
	while (es_history_next(h, &ci) == ES_OK) {
		if (strstr(ci.summary, "leading newlines")) {
			assert_string_equal(ci.summary, "  leading newlines and spaces");
			seen++;
		} else if (strstr(ci.summary, "first line")) {
			assert_string_equal(ci.summary,
			                    "first line second line of the same paragraph");
			seen++;
		} else if (strncmp(ci.summary, "subject", 7) == 0) {
			assert_string_equal(ci.summary, "subject");
			seen++;
		} else if (strncmp(ci.summary, "tabs", 4) == 0) {
			/* a tab and a CR become spaces on the screen */
			assert_string_equal(ci.summary, "tabs inside  and   runs with CRLF");
			seen++;
		}
		if (strcmp(ci.author, "Spaced   Name") == 0)
			seen += 100;
	}
	assert_int_equal(seen % 100, 4);
	assert_int_equal(seen / 100, 5);
	es_history_close(h);
	es_repo_free(r);
}

static void the_list_gets_what_next_gives(void **state)
{
	struct es_repo *r;
	struct es_history *a, *b;
	struct es_commit_info ci;
	struct es_commit_row row;
	struct es_commit_list *l = es_commit_list_new();
	size_t added, total = 0;
	int rc;

	(void)state;
	assert_int_equal(es_repo_discover(dir, &r), ES_OK);
	assert_int_equal(es_history_open(r, NULL, &a), ES_OK);
	assert_int_equal(es_history_open(r, NULL, &b), ES_OK);
	/* in slices of 3, as the dashboard reads in slices */
	while ((rc = es_history_read(a, l, 3, &added)) == ES_OK) {
		assert_int_equal(added, 3);
		total += added;
	}
	assert_int_equal(rc, ES_ENOTFOUND);
	total += added;
	assert_int_equal(total, es_commit_list_count(l));
	for (size_t i = 0; i < total; i++) {
		assert_int_equal(es_history_next(b, &ci), ES_OK);
		es_commit_list_get(l, i, &row);
		assert_string_equal(row.oid, ci.oid);
		assert_string_equal(row.summary, ci.summary);
		assert_string_equal(row.author, ci.author);
		assert_int_equal(row.when, ci.when);
	}
	assert_int_equal(es_history_next(b, &ci), ES_ENOTFOUND);
	es_history_close(a);
	es_history_close(b);
	es_commit_list_free(l);
	es_repo_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(streamed_commits_match_detail),
	        cmocka_unit_test(summaries_as_git_makes_them),
	        cmocka_unit_test(the_list_gets_what_next_gives),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
