/* The AWS CLI's own settings files, ~/.aws/config and ~/.aws/credentials,
 * read once into memory so the credentials chain, region and endpoint
 * lookups can ask for "key in profile" without touching the disk again. */
#ifndef ES_AWSCONFIG_H
#define ES_AWSCONFIG_H

#include <stdbool.h>

struct es_awsconfig;

/* Which of the two files a lookup should consult. */
enum es_awsconfig_file {
	ES_AWSCONFIG_CONFIG,      /* ~/.aws/config: [default], [profile NAME], [services NAME] */
	ES_AWSCONFIG_CREDENTIALS, /* ~/.aws/credentials: [NAME] */
};

/* Read both files.  A NULL path means the default: $AWS_CONFIG_FILE or
 * ~/.aws/config, $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials (a
 * leading "~/" is expanded).  Missing files read as empty; a malformed one
 * fails with ES_ECONFIG and "FILE:LINE: message".  On success *out is owned
 * by the caller (es_awsconfig_free()); on failure it is NULL. */
int es_awsconfig_load(const char *config_path, const char *credentials_path,
                      struct es_awsconfig **out);

/* key in profile; the credentials file wins over the config file for keys
 * present in both.  NULL if absent.  The string belongs to c. */
const char *es_awsconfig_get(const struct es_awsconfig *c, const char *profile, const char *key);

/* key in profile from one file only, e.g. to tell the user where static keys
 * came from.  NULL if absent; the string belongs to c. */
const char *es_awsconfig_get_in(const struct es_awsconfig *c, enum es_awsconfig_file which,
                                const char *profile, const char *key);

/* A nested per-service setting: the profile's `services = NAME` names a
 * [services NAME] section whose `service_id =` line is followed by indented
 * `key = value` lines.  NULL if any link is missing; the string belongs to c. */
const char *es_awsconfig_get_service(const struct es_awsconfig *c, const char *profile,
                                     const char *service_id, const char *key);

/* Whether either file has a section for profile (even an empty one). */
bool es_awsconfig_has_profile(const struct es_awsconfig *c, const char *profile);

/* The path that was read (or looked for) for one file; belongs to c. */
const char *es_awsconfig_path(const struct es_awsconfig *c, enum es_awsconfig_file which);

/* Free c, wiping the values first (the credentials file holds secrets).
 * NULL is fine. */
void es_awsconfig_free(struct es_awsconfig *c);

#endif
