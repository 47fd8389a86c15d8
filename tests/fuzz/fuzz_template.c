/* Fuzz target: the template reader (YAML and JSON) and its writer. Besides
 * not crashing, a template that reads must write JSON that reads back to the
 * same bytes. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const json_t *tpl)
{
	char *once = es_template_dump(tpl), *twice;
	json_t *again = NULL;

	if (!once)
		return; /* a value JSON cannot carry is refused, not a crash */
	if (es_template_parse(once, strlen(once), "dumped.json", &again) != ES_OK) {
		fprintf(stderr, "written template does not read back: %s\n%s\n",
		        es_error_last()->message, once);
		abort();
	}
	twice = es_template_dump(again);
	if (!twice || strcmp(once, twice) != 0) {
		fprintf(stderr, "template changes on a second round:\n%s\n%s\n", once,
		        twice ? twice : "(null)");
		abort();
	}
	free(twice);
	json_decref(again);
	free(once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_t *tpl = NULL;

	if (es_template_parse(text, size, "template.yaml", &tpl) == ES_OK) {
		check_round_trip(tpl);
		json_decref(tpl);
	}
	/* Under a .json name, JSON that does not parse is reported by jansson
	 * instead of being handed to the YAML reader. */
	if (size && data[0] == '{' && es_template_parse(text, size, "template.json", &tpl) == ES_OK)
		json_decref(tpl);
	return 0;
}
