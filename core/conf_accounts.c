/* Checking the account keys of edgeship.conf: who reaches each stage's
 * account and bucket, and where the ledger lives. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "conf_accounts.h"

const char *es_conf_bad_role_arn(const char *arn)
{
	const char *p = arn, *colon;
	int digits = 0;

	if (strncmp(p, "arn:", 4) != 0)
		return "a role ARN starts with arn:";
	p += 4;
	colon = strchr(p, ':');
	if (!colon || strncmp(p, "aws", 3) != 0)
		return "a role ARN reads arn:aws:iam::ACCOUNT:role/NAME";
	p = colon + 1;
	if (strncmp(p, "iam::", 5) != 0)
		return "a role ARN names the iam service and no region: "
		       "arn:aws:iam::ACCOUNT:role/NAME";
	p += 5;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits++;
	}
	if (digits != 12 || *p != ':')
		return "a role ARN holds a 12-digit account: arn:aws:iam::ACCOUNT:role/NAME";
	p++;
	if (strncmp(p, "role/", 5) != 0 || !p[5])
		return "the ARN names no role: arn:aws:iam::ACCOUNT:role/NAME";
	for (p += 5; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+=,.@_/-", *p))
			return "a role name has only letters, digits and +=,.@_-/";
	return NULL;
}

void es_conf_role_account(const char *arn, char out[13])
{
	out[0] = '\0';
	if (!arn || es_conf_bad_role_arn(arn))
		return;
	const char *p = strstr(arn, ":iam::");
	memcpy(out, p + 6, 12);
	out[12] = '\0';
}

bool es_creds_conf_same(const struct es_creds_conf *a, const struct es_creds_conf *b)
{
#define SAME(f) ((!a->f && !b->f) || (a->f && b->f && strcmp(a->f, b->f) == 0))
	return SAME(profile) && SAME(role_arn) && SAME(external_id) && SAME(session_name);
#undef SAME
}

/* The characters STS takes in RoleSessionName / ExternalId. */
static bool sts_text(const char *v, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(v);

	if (n < min || n > max)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr(extra, *v))
			return false;
	return true;
}

/* One stage's or the ledger's credentials; section/sub as in the file. */
static int check_creds(const struct es_config *c, const char *text, const struct es_conf_helpers *h,
                       const char *section, const char *sub, const struct es_creds_conf *k)
{
	const char *why;
	int line;

#define LINE(key) h->find_line(text, section, sub, key)
	if (k->profile && k->role_arn)
		return es_fail(ES_ECONFIG,
		               "%s:%d: profile and role-arn are both set; keep one: a profile of "
		               "~/.aws/config (which may itself assume a role), or role-arn, "
		               "assumed from the default credentials",
		               c->path, LINE("role-arn"));
	if (k->profile && !sts_text(k->profile, 1, 64, "-_.+@"))
		return es_fail(ES_ECONFIG,
		               "%s:%d: profile = %s is not a profile name of ~/.aws/config; e.g. "
		               "profile = prod",
		               c->path, LINE("profile"), k->profile);
	if (k->role_arn && (why = es_conf_bad_role_arn(k->role_arn)))
		return es_fail(ES_ECONFIG,
		               "%s:%d: role-arn = %s is not an IAM role ARN: %s, e.g. role-arn = "
		               "arn:aws:iam::222222222222:role/edgeship-deploy",
		               c->path, LINE("role-arn"), k->role_arn, why);
	if ((k->external_id || k->session_name) && !k->role_arn) {
		line = LINE(k->external_id ? "external-id" : "session-name");
		return es_fail(ES_ECONFIG,
		               "%s:%d: %s is used only with role-arn; add role-arn or "
		               "remove this line",
		               c->path, line, k->external_id ? "external-id" : "session-name");
	}
	if (k->external_id && !sts_text(k->external_id, 2, 1224, "+=,.@:/-_"))
		return es_fail(ES_ECONFIG,
		               "%s:%d: external-id has 2 to 1224 letters, digits or +=,.@:/-_",
		               c->path, LINE("external-id"));
	if (k->session_name && !sts_text(k->session_name, 2, 64, "+=,.@-_"))
		return es_fail(ES_ECONFIG,
		               "%s:%d: session-name = %s: a session name has 2 to 64 letters, "
		               "digits or +=,.@-_, e.g. session-name = edgeship-prod",
		               c->path, LINE("session-name"), k->session_name);
#undef LINE
	return ES_OK;
}

static int own_bucket(char **field, const char *dflt)
{
	if (*field)
		return ES_OK;
	*field = strdup(dflt);
	return *field ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
}

int es_conf_accounts_check(struct es_config *c, const char *text, const struct es_conf_helpers *h)
{
	const char *why;
	int rc;

	for (size_t i = 0; i < c->n_stages; i++) {
		struct es_stage_conf *s = &c->stages[i];
		if ((rc = check_creds(c, text, h, "stage", s->name, &s->creds)))
			return rc;
		if (s->bucket && (why = h->bad_bucket(s->bucket)))
			return es_fail(ES_ECONFIG,
			               "%s:%d: bucket = %s is not a valid S3 bucket name: %s",
			               c->path, h->find_line(text, "stage", s->name, "bucket"),
			               s->bucket, why);
		if ((rc = own_bucket(&s->bucket, c->bucket)))
			return rc;
	}
	if ((rc = check_creds(c, text, h, "ledger", NULL, &c->ledger_creds)))
		return rc;
	if (c->ledger_bucket && (why = h->bad_bucket(c->ledger_bucket)))
		return es_fail(ES_ECONFIG, "%s:%d: bucket = %s is not a valid S3 bucket name: %s",
		               c->path, h->find_line(text, "ledger", NULL, "bucket"),
		               c->ledger_bucket, why);
	return own_bucket(&c->ledger_bucket, c->bucket);
}

static void creds_free(struct es_creds_conf *k)
{
	free(k->profile);
	free(k->role_arn);
	free(k->external_id);
	free(k->session_name);
	memset(k, 0, sizeof(*k));
}

void es_conf_accounts_free_stage(struct es_stage_conf *s)
{
	creds_free(&s->creds);
	free(s->bucket);
}

void es_conf_accounts_free(struct es_config *c)
{
	creds_free(&c->ledger_creds);
	free(c->ledger_bucket);
}
