/* The JSON pieces both halves of the pipeline template are made of: text
 * (never NULL, so a bad string cannot silently drop a key) and
 * CloudFormation's intrinsic functions. */
#include "config.h"

#include "pipegen_int.h"

json_t *pg_str(struct pg *g, const char *s)
{
	json_t *v = json_string(s ? s : "");

	if (!v) {
		g->bad_text = true;
		return json_null();
	}
	return v;
}

json_t *pg_ref(const char *name)
{
	return json_pack("{s:s}", "Ref", name);
}

json_t *pg_sub(struct pg *g, const char *s)
{
	return json_pack("{s:o}", "Fn::Sub", pg_str(g, s));
}

json_t *pg_getatt(const char *resource, const char *attr)
{
	return json_pack("{s:[s,s]}", "Fn::GetAtt", resource, attr);
}
