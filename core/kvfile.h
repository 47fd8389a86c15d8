/* Reading any git-config-syntax file (themes, user preferences) entry by
 * entry through libgit2's config parser, for callers outside core. */
#ifndef ES_KVFILE_H
#define ES_KVFILE_H

typedef void (*es_kvfile_fn)(const char *section, const char *subsection, const char *key,
                             const char *value, void *ud);

/* Call fn for every entry of path in file order. section and key are
 * lower-case; subsection is NULL when absent. ES_ENOTFOUND when path does
 * not exist; ES_ECONFIG with "FILE:LINE: message" when it cannot be parsed. */
int es_kvfile_read(const char *path, es_kvfile_fn fn, void *ud);

#endif
