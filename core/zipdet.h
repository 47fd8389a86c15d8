/* Deterministic zip archives: the same files give the same bytes on every
 * machine and every run, so unchanged code keeps its S3 key and its Lambda
 * version. */
#ifndef ES_ZIPDET_H
#define ES_ZIPDET_H

#include <stddef.h>

#include "base/buf.h"

struct es_zip_options {
	/* fnmatch(3) globs, flags 0 (so '*' also crosses '/'), each tried on the
	 * path relative to the root and on every component of it; a matching
	 * directory is skipped whole. ".git" is always excluded. */
	const char *const *excludes;
	size_t n_excludes;
	/* When set, the directory nothing may come from outside of (the
	 * repository being packaged): a symbolic link whose target leaves it is
	 * an error (ES_EREFUSED naming the link), where a link that only leaves
	 * the zipped directory is skipped. */
	const char *confine;
};

/* Zip the regular files under dir into out (appended). Entries are sorted
 * bytewise by relative path, stamped 1980-01-01 00:00, given mode 0755 when
 * any execute bit is set and 0644 otherwise, deflated, and carry no extra
 * fields; directories are not stored. Symbolic links are followed only when
 * their target stays inside dir (a link back to an ancestor is skipped; see
 * confine for links that leave the repository).
 * o may be NULL. *n_files (may be NULL) gets the entry count.
 * ES_ENOTFOUND when dir does not exist, ES_EINVAL when it is not a
 * directory or nothing would be archived. out's bytes belong to the caller. */
int es_zip_dir(const char *dir, const struct es_zip_options *o, struct es_buf *out,
               size_t *n_files);

/* Zip the regular file at path as a single entry named by its basename,
 * with the same fixed stamps and modes. out's bytes belong to the caller. */
int es_zip_file(const char *path, struct es_buf *out);

/* The entry names of the zip archive in data (len bytes), in archive
 * order, into *names (a malloc'd array of malloc'd strings; free with
 * es_zip_names_free). ES_EINVAL when data is not a zip archive. */
int es_zip_names(const void *data, size_t len, char ***names, size_t *n);
void es_zip_names_free(char **names, size_t n);

#endif
