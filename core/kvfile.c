/* git-config files read with libgit2, handed out entry by entry. */
#include "config.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "kvfile.h"

int es_kvfile_read(const char *path, es_kvfile_fn fn, void *ud)
{
	git_config *gc = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = ES_OK, grc;

	if (access(path, F_OK) != 0)
		return es_fail(ES_ENOTFOUND, "%s not found", path);
	git_libgit2_init();
	if (git_config_open_ondisk(&gc, path) < 0 || git_config_iterator_new(&it, gc) < 0) {
		const git_error *ge = git_error_last();
		const char *msg = ge && ge->message ? ge->message : "cannot be parsed";
		const char *in = strstr(msg, "(in ");
		const char *colon = in ? strrchr(in, ':') : NULL;
		if (colon)
			rc = es_fail(ES_ECONFIG, "%s:%d: %.*s", path, atoi(colon + 1),
			             (int)(in - msg - 1), msg);
		else
			rc = es_fail(ES_ECONFIG, "%s: %s", path, msg);
		goto out;
	}
	while ((grc = git_config_next(&e, it)) == 0) {
		char section[64], sub[256];
		const char *dot1 = strchr(e->name, '.'), *dot2 = strrchr(e->name, '.');
		if (!dot1)
			continue;
		snprintf(section, sizeof(section), "%.*s", (int)(dot1 - e->name), e->name);
		if (dot2 > dot1)
			snprintf(sub, sizeof(sub), "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
		fn(section, dot2 > dot1 ? sub : NULL, dot2 + 1, e->value ? e->value : "", ud);
	}
	if (grc != GIT_ITEROVER)
		rc = es_fail(ES_ECONFIG, "%s: cannot be read", path);
out:
	git_config_iterator_free(it);
	git_config_free(gc);
	return rc;
}
