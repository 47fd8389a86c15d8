/* Reading git-config files entry by entry (themes, preferences): sections
 * and keys lower-cased, subsections kept as written, entries in file order,
 * a missing file told apart from a broken one, which names file and line. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "kvfile.h"
#include "testutil.h"

struct seen {
	char lines[16][160];
	int n;
};

static void on_entry(const char *section, const char *subsection, const char *key,
                     const char *value, void *ud)
{
	struct seen *s = ud;

	if (s->n < 16)
		snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s|%s|%s|%s", section,
		         subsection ? subsection : "(none)", key, value);
}

static void entries_come_in_file_order(void **state)
{
	char *dir = tu_mkdtemp();
	char *path = tu_write_file(dir, "light.theme",
	                           "# a theme\n"
	                           "[Theme]\n"
	                           "\tName = light\n"
	                           "[color \"Status.Bar\"]\n"
	                           "\tFG = black\n"
	                           "\tbg = \"light grey\"\n"
	                           "[color \"title\"]\n"
	                           "\tbold\n"
	                           "[theme]\n"
	                           "\tname = again\n");
	struct seen s = {0};

	(void)state;
	assert_int_equal(es_kvfile_read(path, on_entry, &s), ES_OK);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.lines[0], "theme|(none)|name|light");
	/* The subsection keeps its case and its dot. */
	assert_string_equal(s.lines[1], "color|Status.Bar|fg|black");
	assert_string_equal(s.lines[2], "color|Status.Bar|bg|light grey");
	/* A key without a value reads as "". */
	assert_string_equal(s.lines[3], "color|title|bold|");
	assert_string_equal(s.lines[4], "theme|(none)|name|again");
	free(path);
	tu_rmtree(dir);
	free(dir);
}

static void missing_and_broken_files_are_told_apart(void **state)
{
	char *dir = tu_mkdtemp();
	char *path = tu_write_file(dir, "broken.theme", "[theme]\n\tname = ok\n[color \"x\"\n");
	struct seen s = {0};
	char missing[4200];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/none.theme", dir);
	assert_int_equal(es_kvfile_read(missing, on_entry, &s), ES_ENOTFOUND);
	assert_non_null(strstr(es_error_last()->message, "none.theme not found"));
	assert_int_equal(es_kvfile_read(path, on_entry, &s), ES_ECONFIG);
	const char *msg = es_error_last()->message;
	/* FILE:LINE: what is wrong. */
	char want[4300];
	snprintf(want, sizeof(want), "%s:3: ", path);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("%s", msg);
	assert_int_equal(s.n, 0);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(entries_come_in_file_order),
	        cmocka_unit_test(missing_and_broken_files_are_told_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
