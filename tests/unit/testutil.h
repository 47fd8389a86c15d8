/* Helpers shared by the unit tests: locating test data and reading files. */
#ifndef ES_TESTUTIL_H
#define ES_TESTUTIL_H

#include <stddef.h>

/* $ES_TESTDATA (the shared test vectors), or NULL when unset. */
const char *tu_testdata_dir(void);
/* $ES_SRCDIR, or "." when unset. */
const char *tu_srcdir(void);
/* Read a whole file; returns malloc'd NUL-terminated bytes or NULL. */
char *tu_read_file(const char *path, size_t *len);
/* Make a fresh temporary directory; returns malloc'd path. */
char *tu_mkdtemp(void);
/* Write text to dir/name, creating it; returns malloc'd full path. */
char *tu_write_file(const char *dir, const char *name, const char *text);
/* Run a shell command (printf format): 0 when it succeeded; a failed one is
 * printed to stderr. The tests wrap it as sh(), which asserts success. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TU_SH(...) assert_int_equal(tu_sh(__VA_ARGS__), 0)
/* Remove a directory tree made by tu_mkdtemp(). */
void tu_rmtree(const char *dir);

#endif
