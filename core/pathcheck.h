/* Lexical checks of the paths that name files to deploy, shared by
 * edgeship.conf and packaging: a path written in the repository may not
 * leave the repository. */
#ifndef ES_PATHCHECK_H
#define ES_PATHCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Join rel onto base (a directory relative to the root; "" or "." for the
 * root itself) and resolve "." and ".." without looking at the disk, into
 * out ("." for the root, else "a/b" with no leading or trailing '/').
 * False when rel is absolute, when the result would climb above the root,
 * or when it does not fit in len bytes. */
bool es_path_join_inside(const char *base, const char *rel, char *out, size_t len);

/* Is path (a resolved absolute path) root itself or below it? */
bool es_path_is_under(const char *root, const char *path);

#endif
