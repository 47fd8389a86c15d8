/* Fuzz target: ~/.aws/config and ~/.aws/credentials (libinih with our line
 * reader, sections, continuation lines and nested service settings). The
 * input is the config file, then a NUL byte and the credentials file; both
 * are written to temporary files made once per process. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/awsconfig.h"
#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/edgeship-fuzz-aws-XXXXXX";
static char config[sizeof(dir) + 32], credentials[sizeof(dir) + 32];

static void cleanup(void)
{
	unlink(config);
	unlink(credentials);
	rmdir(dir);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = {"default", "dev", "prod", "sso", ""};
	static const char *const keys[] = {"region",   "aws_access_key_id", "aws_secret_access_key",
	                                   "role_arn", "source_profile",    "endpoint_url"};
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n_config = nul ? (size_t)(nul - data) : size;
	struct es_awsconfig *c = NULL;
	int rc;

	if (!config[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(config, sizeof(config), "%s/config", dir);
		snprintf(credentials, sizeof(credentials), "%s/credentials", dir);
		atexit(cleanup);
	}
	write_file(config, data, n_config);
	if (nul)
		write_file(credentials, nul + 1, size - n_config - 1);
	else
		unlink(credentials); /* a missing file reads as empty */
	es_error_clear();
	rc = es_awsconfig_load(config, credentials, &c);
	if (rc != ES_OK) {
		if (c || es_error_last()->status != rc)
			abort();
		return 0;
	}
	for (size_t p = 0; p < sizeof(profiles) / sizeof(*profiles); p++) {
		(void)es_awsconfig_has_profile(c, profiles[p]);
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
			const char *v = es_awsconfig_get(c, profiles[p], keys[k]);
			if (v)
				(void)strlen(v);
			(void)es_awsconfig_get_in(c, ES_AWSCONFIG_CREDENTIALS, profiles[p],
			                          keys[k]);
		}
		(void)es_awsconfig_get_service(c, profiles[p], "s3", "endpoint_url");
		(void)es_awsconfig_get_service(c, profiles[p], "cloudformation", "endpoint_url");
	}
	es_awsconfig_free(c);
	return 0;
}
