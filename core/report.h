/* Machine-readable output shared by every headless command's --json mode. */
#ifndef ES_REPORT_H
#define ES_REPORT_H

#include "base/error.h"

/* {"ok":false,"command":…,"error":{"status":…,"http_status":…,"code":…,
 *  "message":…,"request_id":…}} as malloc'd text (caller frees). */
char *es_report_error_json(const char *command, const struct es_error *e);

/* {"ok": true, "command": command, key: value, …} with every value a
 * string (NULL-terminated list of key, value pairs). malloc'd text. */
char *es_report_ok_json(const char *command, const char *const *pairs);

#endif
