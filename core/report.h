/* Machine-readable output shared by every headless command's --json mode. */
#ifndef ES_REPORT_H
#define ES_REPORT_H

#include "error.h"

/* {"ok":false,"command":…,"error":{"status":…,"http_status":…,"code":…,
 *  "message":…,"request_id":…}} as malloc'd text (caller frees). */
char *es_report_error_json(const char *command, const struct es_error *e);

#endif
