/* Lexical path joining and containment, without touching the disk (the
 * callers check symbolic links separately with realpath). */
#include "config.h"

#include <string.h>

#include "pathcheck.h"

/* Append the components of p to out (length *n), resolving "." and "..";
 * false when ".." would climb above the start. */
static bool walk(const char *p, char *out, size_t len, size_t *n)
{
	while (*p) {
		size_t c = strcspn(p, "/");
		if (c == 0 || (c == 1 && p[0] == '.')) {
			/* "//" and "." change nothing */
		} else if (c == 2 && p[0] == '.' && p[1] == '.') {
			if (*n == 0)
				return false;
			char *slash = memrchr(out, '/', *n);
			*n = slash ? (size_t)(slash - out) : 0;
		} else {
			if (*n + (*n ? 1 : 0) + c + 1 > len)
				return false;
			if (*n)
				out[(*n)++] = '/';
			memcpy(out + *n, p, c);
			*n += c;
		}
		p += c;
		while (*p == '/')
			p++;
	}
	return true;
}

bool es_path_join_inside(const char *base, const char *rel, char *out, size_t len)
{
	size_t n = 0;

	if (!len || !rel || rel[0] == '/' || (base && base[0] == '/'))
		return false;
	if ((base && !walk(base, out, len, &n)) || !walk(rel, out, len, &n))
		return false;
	if (n == 0) {
		if (len < 2)
			return false;
		out[n++] = '.';
	}
	out[n] = '\0';
	return true;
}

bool es_path_is_under(const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (strncmp(root, path, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && root[0] == '/');
}
