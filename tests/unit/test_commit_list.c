/* The compact commit list: a whole history's worth of commits, ids that
 * come back as they went in, long and hostile subjects cut and made safe,
 * authors stored once, strings that never move. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "commit_list.h"

#define MANY 100000

/* A different, deterministic id for each i. */
static void id_of(size_t i, unsigned char id[ES_OID_RAWSZ])
{
	uint32_t x = (uint32_t)i * 2654435761u + 1;

	for (size_t k = 0; k < ES_OID_RAWSZ; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		id[k] = (unsigned char)(x >> 24);
	}
	memcpy(id, &i, sizeof(uint32_t)); /* unique whatever the mixing does */
}

static void hex_of(const unsigned char id[ES_OID_RAWSZ], char out[41])
{
	for (size_t k = 0; k < ES_OID_RAWSZ; k++)
		snprintf(out + 2 * k, 3, "%02x", id[k]);
}

static void many_commits_round_trip(void **state)
{
	struct es_commit_list *l = es_commit_list_new();
	static const char *const authors[] = {"Junio C Hamano", "Jeff King", "René Scharfe",
	                                      "Ævar Arnfjörð Bjarmason"};
	const char *first_summary = NULL;
	char summary[128], want[41];
	unsigned char id[ES_OID_RAWSZ];
	struct es_commit_row row;

	(void)state;
	assert_non_null(l);
	for (size_t i = 0; i < MANY; i++) {
		int n = snprintf(summary, sizeof(summary), "Change %zu: adjust the handler", i);
		id_of(i, id);
		assert_int_equal(es_commit_list_add(l, id, (time_t)(1600000000 + i), summary,
		                                    (size_t)n, authors[i % 4],
		                                    strlen(authors[i % 4])),
		                 ES_OK);
		if (i == 0)
			first_summary = es_commit_list_summary(l, 0);
	}
	assert_int_equal(es_commit_list_count(l), MANY);
	for (size_t i = 0; i < MANY; i += 997) {
		id_of(i, id);
		hex_of(id, want);
		es_commit_list_get(l, i, &row);
		assert_string_equal(row.oid, want);
		assert_int_equal(row.when, 1600000000 + i);
		snprintf(summary, sizeof(summary), "Change %zu: adjust the handler", i);
		assert_string_equal(row.summary, summary);
		assert_string_equal(row.author, authors[i % 4]);
		assert_int_equal(es_commit_list_find(l, want), i);
	}
	/* Strings never move as the list grows. */
	assert_ptr_equal(es_commit_list_summary(l, 0), first_summary);
	/* Authors are stored once: a single pointer for every commit of one. */
	assert_ptr_equal(es_commit_list_author(l, 4), es_commit_list_author(l, MANY - 4));
	/* Subjects, ids and dates only: well under 80 bytes a commit. */
	assert_true(es_commit_list_bytes(l) < (size_t)MANY * 80);
	assert_int_equal(es_commit_list_find(l, "0000000000000000000000000000000000000000"),
	                 (size_t)-1);
	assert_int_equal(es_commit_list_find(l, "abc"), (size_t)-1);
	es_commit_list_free(l);
}

static void long_subjects_are_cut_on_a_character(void **state)
{
	struct es_commit_list *l = es_commit_list_new();
	unsigned char id[ES_OID_RAWSZ] = {1};
	char subject[1000];
	size_t len = 0;

	(void)state;
	/* Two-byte characters from the start: byte 255 is the second half of
	 * one, which goes whole. */
	while (len + 2 < sizeof(subject)) {
		subject[len++] = (char)0xc3;
		subject[len++] = (char)0xa9; /* é */
	}
	subject[len] = '\0';
	assert_int_equal(es_commit_list_add(l, id, 0, subject, len, "x", 1), ES_OK);
	const char *kept = es_commit_list_summary(l, 0);
	assert_int_equal(strlen(kept), ES_COMMIT_SUMMARY_MAX - 1); /* 127 characters */
	assert_int_equal(strncmp(kept, subject, strlen(kept)), 0);
	assert_null(strchr(kept, '?')); /* no broken character left at the end */

	/* Many long subjects in a row fill blocks and go on in new ones. */
	memset(subject, 'z', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	for (int i = 0; i < 5000; i++) {
		id[1] = (unsigned char)i;
		assert_int_equal(es_commit_list_add(l, id, i, subject, sizeof(subject) - 1, "x", 1),
		                 ES_OK);
	}
	for (int i = 1; i <= 5000; i += 499)
		assert_int_equal(strlen(es_commit_list_summary(l, (size_t)i)),
		                 ES_COMMIT_SUMMARY_MAX);

	/* A long author is cut too; a NUL ends a subject. */
	assert_int_equal(es_commit_list_add(l, id, 0, "before\0after", 12, subject, 500), ES_OK);
	assert_string_equal(es_commit_list_summary(l, 5001), "before");
	assert_int_equal(strlen(es_commit_list_author(l, 5001)), ES_COMMIT_AUTHOR_MAX);
	es_commit_list_free(l);
}

static void control_characters_never_survive(void **state)
{
	struct es_commit_list *l = es_commit_list_new();
	struct es_commit_row row;
	const char *evil = "Evil \x1b]0;title\x07 message \x1b[2J\r\tcleared \xc2\x9b"
	                   "31m \xff end";
	const char *author = "Mal\x1b[31mlory\x7f";

	(void)state;
	assert_int_equal(es_commit_list_add_hex(l, "c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809", 7,
	                                        evil, author),
	                 ES_OK);
	es_commit_list_get(l, 0, &row);
	for (const unsigned char *p = (const unsigned char *)row.summary; *p; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
	assert_string_equal(row.summary, "Evil  ]0;title  message  [2J  cleared   31m ? end");
	assert_string_equal(row.author, "Mal [31mlory ");
	assert_string_equal(row.oid, "c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809");
	assert_int_equal(row.when, 7);
	/* The same author made safe is the same author. */
	assert_int_equal(es_commit_list_add_hex(l, "C6D1F0E2A9B84C3D5E6F708192A3B4C5D6E7F800", 8,
	                                        "", author),
	                 ES_OK);
	es_commit_list_get(l, 1, &row);
	assert_string_equal(row.oid, "c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f800");
	assert_string_equal(row.summary, "");
	assert_ptr_equal(row.author, es_commit_list_author(l, 0));
	/* Ids that are not 40 hex digits are refused. */
	assert_int_equal(es_commit_list_add_hex(l, "c6d1f0e", 0, "s", "a"), ES_EINVAL);
	assert_int_equal(
	        es_commit_list_add_hex(l, "g6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809", 0, "s", "a"),
	        ES_EINVAL);
	assert_int_equal(es_commit_list_count(l), 2);
	es_commit_list_free(l);
}

static void an_empty_list(void **state)
{
	struct es_commit_list *l = es_commit_list_new();

	(void)state;
	assert_int_equal(es_commit_list_count(l), 0);
	assert_int_equal(es_commit_list_count(NULL), 0);
	assert_int_equal(es_commit_list_find(l, "c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809"),
	                 (size_t)-1);
	es_commit_list_free(l);
	es_commit_list_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(many_commits_round_trip),
	        cmocka_unit_test(long_subjects_are_cut_on_a_character),
	        cmocka_unit_test(control_characters_never_survive),
	        cmocka_unit_test(an_empty_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
