/* Deterministic zips: walk the tree, sort the paths, then let libzip write
 * every entry with a fixed time, a normalised mode and no extra fields. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <zip.h>

#include "base/error.h"
#include "zipdet.h"

#define MAX_DEPTH 128

struct entry {
	char *rel;  /* name in the archive */
	char *path; /* file to read (through links) */
	bool exec;
};

struct walk {
	const char *root; /* realpath of the root */
	char *confine;    /* realpath of o->confine, or NULL */
	const struct es_zip_options *o;
	struct entry *v;
	size_t n, cap;
	struct stat dirs[MAX_DEPTH]; /* directories being walked, for link loops */
	size_t depth;
};

static void entries_free(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].rel);
		free(v[i].path);
	}
	free(v);
}

static bool excluded(const struct es_zip_options *o, const char *rel, const char *name)
{
	if (!strcmp(name, ".git"))
		return true;
	for (size_t i = 0; o && i < o->n_excludes; i++)
		if (!fnmatch(o->excludes[i], rel, 0) || !fnmatch(o->excludes[i], name, 0))
			return true;
	return false;
}

/* Is path (a realpath) root itself or below it? */
static bool inside(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (strncmp(root, path, n))
		return false;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && root[0] == '/');
}

static int add_entry(struct walk *w, const char *rel, const char *path, const struct stat *st)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct entry *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return es_fail(ES_ENOMEM, "out of memory");
		w->v = v;
		w->cap = cap;
	}
	struct entry *e = &w->v[w->n];
	e->rel = strdup(rel);
	e->path = strdup(path);
	e->exec = (st->st_mode & 0111) != 0;
	if (!e->rel || !e->path) {
		free(e->rel);
		free(e->path);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	w->n++;
	return ES_OK;
}

static int walk_dir(struct walk *w, const char *path, const char *rel, const struct stat *st);

/* One directory entry: a file to add, a directory to descend, or nothing. */
static int visit(struct walk *w, const char *path, const char *rel)
{
	struct stat st;
	char *real = NULL;
	int rc = ES_OK;

	if (lstat(path, &st))
		return es_fail(ES_ERR, "%s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		/* Follow only links that stay in the tree: a link out of it
		 * would ship files nobody meant to publish, and one out of the
		 * repository is refused outright. */
		real = realpath(path, NULL);
		if (real && w->confine && !inside(w->confine, real)) {
			const char *shown = path;
			size_t n = strlen(w->confine);
			if (inside(w->confine, path) && path[n] == '/')
				shown = path + n + 1;
			rc = es_fail(ES_EREFUSED,
			             "%s is a symbolic link to %s, outside the repository: only "
			             "files committed in the repository are deployed; replace the "
			             "link with the files it points to",
			             shown, real);
			free(real);
			return rc;
		}
		if (!real || !inside(w->root, real) || stat(real, &st)) {
			free(real);
			return ES_OK;
		}
	}
	if (S_ISREG(st.st_mode))
		rc = add_entry(w, rel, real ? real : path, &st);
	else if (S_ISDIR(st.st_mode))
		rc = walk_dir(w, real ? real : path, rel, &st);
	free(real);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk *w, const char *path, const char *rel, const struct stat *st)
{
	struct dirent *d;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = ES_OK;
	DIR *dir;

	for (size_t i = 0; i < w->depth; i++)
		if (w->dirs[i].st_dev == st->st_dev && w->dirs[i].st_ino == st->st_ino)
			return ES_OK; /* a link back up the tree */
	if (w->depth == MAX_DEPTH)
		return es_fail(ES_EINVAL, "%s: directories nested more than %d deep", path,
		               MAX_DEPTH);
	if (!(dir = opendir(path)))
		return es_fail(ES_ERR, "%s: %s", path, strerror(errno));
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p) {
				rc = es_fail(ES_ENOMEM, "out of memory");
				break;
			}
			names = p;
		}
		if (!(names[n] = strdup(d->d_name))) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(dir);
	/* Sorted here only to make error reports stable; the archive order
	 * comes from the final sort of whole paths. */
	if (!rc && n)
		qsort(names, n, sizeof(*names), by_name);
	w->dirs[w->depth++] = *st;
	for (size_t i = 0; !rc && i < n; i++) {
		char *child, *child_rel;
		if (asprintf(&child, "%s/%s", path, names[i]) < 0)
			child = NULL;
		if (asprintf(&child_rel, "%s%s%s", rel, *rel ? "/" : "", names[i]) < 0)
			child_rel = NULL;
		if (!child || !child_rel)
			rc = es_fail(ES_ENOMEM, "out of memory");
		else if (!excluded(w->o, child_rel, names[i]))
			rc = visit(w, child, child_rel);
		free(child);
		free(child_rel);
	}
	w->depth--;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->rel, ((const struct entry *)b)->rel);
}

static int read_all(const char *path, void **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	*data = NULL;
	*len = 0;
	if (!f)
		return es_fail(ES_ERR, "%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return es_fail(ES_ENOMEM, "out of memory reading %s", path);
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return es_fail(ES_ERR, "%s: read failed", path);
	}
	fclose(f);
	*data = buf;
	*len = n;
	return ES_OK;
}

/* 1980-01-01 00:00, the zip epoch; libzip turns time_t into a DOS date
 * through localtime, so ask mktime for local midnight. */
static time_t zip_epoch(void)
{
	struct tm tm = {.tm_year = 80, .tm_mon = 0, .tm_mday = 1, .tm_isdst = -1};
	return mktime(&tm);
}

static int zip_failed(zip_t *za, const char *what)
{
	return es_fail(ES_ERR, "writing the zip: %s: %s", what,
	               zip_error_strerror(zip_get_error(za)));
}

static int add_file(zip_t *za, const struct entry *e, time_t epoch)
{
	zip_uint32_t attrs = (zip_uint32_t)(S_IFREG | (e->exec ? 0755 : 0644)) << 16;
	zip_source_t *src;
	zip_int64_t idx;
	size_t len;
	void *data;
	int rc;

	if ((rc = read_all(e->path, &data, &len)))
		return rc;
	/* libzip keeps no buffer of length 0, so it would not free one. */
	if (len == 0) {
		free(data);
		data = NULL;
	}
	if (!(src = zip_source_buffer(za, data, len, data != NULL))) {
		free(data);
		return zip_failed(za, e->rel);
	}
	if ((idx = zip_file_add(za, e->rel, src, ZIP_FL_ENC_GUESS)) < 0) {
		zip_source_free(src);
		return zip_failed(za, e->rel);
	}
	zip_uint64_t i = (zip_uint64_t)idx;
	if (zip_set_file_compression(za, i, ZIP_CM_DEFLATE, 0) ||
	    zip_file_set_mtime(za, i, epoch, 0) ||
	    zip_file_set_external_attributes(za, i, 0, ZIP_OPSYS_UNIX, attrs))
		return zip_failed(za, e->rel);
	/* libzip writes none today; make sure nothing variable (an "UT"
	 * timestamp, a uid/gid field) ever reaches the archive. */
	if (zip_file_extra_fields_count(za, i, ZIP_FL_LOCAL | ZIP_FL_CENTRAL) > 0 &&
	    zip_file_extra_field_delete(za, i, ZIP_EXTRA_FIELD_ALL, ZIP_FL_LOCAL | ZIP_FL_CENTRAL))
		return zip_failed(za, e->rel);
	return ES_OK;
}

/* Write the sorted entries as one archive appended to out. */
static int build_zip(const struct entry *v, size_t n, struct es_buf *out)
{
	zip_error_t ze;
	zip_source_t *mem;
	zip_t *za;
	time_t epoch = zip_epoch();
	int rc = ES_OK;

	zip_error_init(&ze);
	if (!(mem = zip_source_buffer_create(NULL, 0, 0, &ze))) {
		zip_error_fini(&ze);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	if (!(za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze))) {
		rc = es_fail(ES_ERR, "creating a zip: %s", zip_error_strerror(&ze));
		zip_source_free(mem);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	zip_source_keep(mem); /* read it back after zip_close */
	for (size_t i = 0; !rc && i < n; i++)
		rc = add_file(za, &v[i], epoch);
	if (rc) {
		zip_discard(za);
		zip_source_free(mem);
		return rc;
	}
	if (zip_close(za)) {
		rc = zip_failed(za, "closing");
		zip_discard(za);
		zip_source_free(mem);
		return rc;
	}
	if (zip_source_open(mem)) {
		zip_source_free(mem);
		return es_fail(ES_ERR, "reading the zip back failed");
	}
	for (;;) {
		char chunk[65536];
		zip_int64_t r = zip_source_read(mem, chunk, sizeof(chunk));
		if (r < 0)
			rc = es_fail(ES_ERR, "reading the zip back failed");
		if (r <= 0)
			break;
		if ((rc = es_buf_append(out, chunk, (size_t)r)))
			break;
	}
	zip_source_close(mem);
	zip_source_free(mem);
	return rc;
}

int es_zip_dir(const char *dir, const struct es_zip_options *o, struct es_buf *out, size_t *n_files)
{
	struct walk w = {.o = o};
	struct stat st;
	char *root;
	int rc;

	if (n_files)
		*n_files = 0;
	if (!(root = realpath(dir, NULL)) || stat(root, &st)) {
		free(root);
		return es_fail(ES_ENOTFOUND, "%s: no such directory", dir);
	}
	if (!S_ISDIR(st.st_mode)) {
		free(root);
		return es_fail(ES_EINVAL, "%s: not a directory", dir);
	}
	w.root = root;
	if (o && o->confine && !(w.confine = realpath(o->confine, NULL))) {
		free(root);
		return es_fail(ES_ENOTFOUND, "%s: no such directory", o->confine);
	}
	rc = walk_dir(&w, root, "", &st);
	if (!rc && w.n == 0)
		rc = es_fail(ES_EINVAL, "%s: nothing to package (empty, or every file excluded)",
		             dir);
	if (!rc) {
		qsort(w.v, w.n, sizeof(*w.v), by_rel);
		rc = build_zip(w.v, w.n, out);
	}
	if (!rc && n_files)
		*n_files = w.n;
	entries_free(w.v, w.n);
	free(w.confine);
	free(root);
	return rc;
}

int es_zip_file(const char *path, struct es_buf *out)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	struct entry e = {.rel = (char *)(slash ? slash + 1 : path), .path = (char *)path};

	if (stat(path, &st))
		return es_fail(ES_ENOTFOUND, "%s: no such file", path);
	if (!S_ISREG(st.st_mode) || !*e.rel)
		return es_fail(ES_EINVAL, "%s: not a regular file", path);
	e.exec = (st.st_mode & 0111) != 0;
	return build_zip(&e, 1, out);
}

void es_zip_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int es_zip_names(const void *data, size_t len, char ***names, size_t *n)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_int64_t count;
	int rc = ES_OK;

	*names = NULL;
	*n = 0;
	zip_error_init(&ze);
	if (!(src = zip_source_buffer_create(data, len, 0, &ze))) {
		zip_error_fini(&ze);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	if (!(za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze))) {
		rc = es_fail(ES_EINVAL, "not a zip archive: %s", zip_error_strerror(&ze));
		zip_source_free(src);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	count = zip_get_num_entries(za, 0);
	if (count > 0 && !(*names = calloc((size_t)count, sizeof(char *))))
		rc = es_fail(ES_ENOMEM, "out of memory");
	for (zip_int64_t i = 0; !rc && i < count; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
		if (name && !((*names)[(*n)++] = strdup(name)))
			rc = es_fail(ES_ENOMEM, "out of memory");
	}
	zip_discard(za);
	if (rc) {
		es_zip_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}
