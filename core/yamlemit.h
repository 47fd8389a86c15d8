/* JSON values written as block YAML through libyaml's emitter, each string
 * quoted whenever YAML would read it as anything but that same string. */
#ifndef ES_YAMLEMIT_H
#define ES_YAMLEMIT_H

#include <jansson.h>

/* v as one YAML document (keys in the object's order); multi-line strings
 * as literal blocks. *out is the caller's to free. ES_OK, or ES_ERR with
 * libyaml's complaint. */
int es_yaml_emit(const json_t *v, char **out);

#endif
