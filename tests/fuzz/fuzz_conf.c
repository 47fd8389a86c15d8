/* Fuzz target: edgeship.conf (libgit2's config parser and our mapping and
 * checks on top). es_config_load reads a file, so each input is written to
 * one temporary file, made once per process and removed at exit. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/edgeship-fuzz-conf-XXXXXX";
static char path[sizeof(dir) + 32];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_config *c = NULL;
	FILE *f;
	int rc;

	if (!path[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/edgeship.conf", dir);
		atexit(cleanup);
	}
	if (!(f = fopen(path, "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	es_error_clear();
	rc = es_config_load(path, &c);
	if (rc == ES_OK) {
		/* What the loader promises to every caller. */
		const struct es_stage_conf *first = es_config_first_stage(c);
		if (!c->app || !c->bucket || !c->region || !c->template_path || !first ||
		    first->promotes_from || c->n_stages == 0)
			abort();
		for (size_t i = 0; i < c->n_stages; i++)
			if (es_config_stage(c, c->stages[i].name) != &c->stages[i] ||
			    !c->stages[i].stack)
				abort();
		es_config_free(c);
	} else if (c || es_error_last()->status != rc) {
		abort();
	} else if (rc == ES_ECONFIG && strncmp(es_error_last()->message, path, strlen(path)) != 0) {
		/* conf.h: every mistake is reported as "FILE:LINE: message". */
		fprintf(stderr, "error without the file name: %s\n", es_error_last()->message);
		abort();
	}
	return 0;
}
