/* ~/.aws/config and ~/.aws/credentials through libinih, kept as a flat list
 * of (file, section, key[, nested key], value) so lookups can follow the AWS
 * CLI's rules: [profile NAME] in config, [NAME] in credentials, credentials
 * winning, and indented sub-keys under `services` sections. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awsconfig.h"
#include "base/buf.h"
#include "base/error.h"

/* Session tokens run past a thousand characters, far beyond inih's default
 * 200-byte line; Debian's libinih lets us raise that at run time. */
#define MAX_LINE (64 * 1024)

enum section_kind {
	SECTION_PROFILE,
	SECTION_SERVICES,
	SECTION_OTHER, /* sso-session and friends: read, never consulted */
};

struct entry {
	enum es_awsconfig_file file;
	enum section_kind kind;
	char *name;   /* profile or services name */
	char *key;    /* NULL marks "this section exists" */
	char *subkey; /* the indented key under key, or NULL */
	char *value;
};

struct es_awsconfig {
	struct entry *v;
	size_t n, cap;
	char *path[2]; /* indexed by enum es_awsconfig_file; NULL when there is no home */
};

/* What the line reader and the inih handler share while one file is read. */
struct parse {
	struct es_awsconfig *c;
	enum es_awsconfig_file file;
	FILE *f;
	int line;           /* the line the handler is looking at */
	bool at_line_start; /* the next reader call begins a new line */
	bool indented;      /* the current line begins with blanks */
	char *prev_section; /* section and key of the previous handler call */
	char *prev_key;
	const char *error; /* why the handler refused a line */
	bool oom;
};

static char *trimmed_dup(const char *s, size_t n)
{
	char *out;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

/* Map a section title to what it means in this file. */
static enum section_kind classify(enum es_awsconfig_file file, const char *title, char **name)
{
	size_t n = strlen(title);
	enum section_kind kind = SECTION_PROFILE;
	const char *rest = title;

	if (file == ES_AWSCONFIG_CONFIG) {
		if (strncmp(title, "profile", 7) == 0 && (title[7] == ' ' || title[7] == '\t')) {
			rest = title + 7;
		} else if (strncmp(title, "services", 8) == 0 &&
		           (title[8] == ' ' || title[8] == '\t')) {
			rest = title + 8;
			kind = SECTION_SERVICES;
		} else if (strcmp(title, "default") != 0) {
			kind = SECTION_OTHER;
		}
	}
	*name = trimmed_dup(rest, n - (size_t)(rest - title));
	return kind;
}

static struct entry *add_entry(struct parse *p, const char *section)
{
	struct es_awsconfig *c = p->c;
	struct entry *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct entry *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->file = p->file;
	e->kind = classify(p->file, section, &e->name);
	if (!e->name)
		return NULL;
	c->n++;
	return e;
}

static void free_entry(struct entry *e)
{
	free(e->name);
	free(e->key);
	free(e->subkey);
	if (e->value) {
		explicit_bzero(e->value, strlen(e->value));
		free(e->value);
	}
}

/* An indented line below `key =`: either "sub = value" (nested settings such
 * as `s3 =` / `  endpoint_url = …`) or more text for a multi-line value. */
static int add_continuation(struct parse *p, const char *section, const char *text)
{
	const char *eq = strchr(text, '=');
	struct entry *e;

	if (!eq) {
		struct es_awsconfig *c = p->c;
		struct es_buf b = ES_BUF_INIT;
		struct entry *last = c->n ? &c->v[c->n - 1] : NULL;

		if (!last || !last->key || last->subkey || strcmp(last->key, p->prev_key) != 0)
			return 1;
		if (es_buf_puts(&b, last->value) || es_buf_putc(&b, '\n') || es_buf_puts(&b, text))
			goto oom;
		explicit_bzero(last->value, strlen(last->value));
		free(last->value);
		last->value = es_buf_steal(&b);
		return 1;
	oom:
		es_buf_free(&b);
		p->oom = true;
		return 0;
	}
	e = add_entry(p, section);
	if (!e || !(e->key = strdup(p->prev_key)) ||
	    !(e->subkey = trimmed_dup(text, (size_t)(eq - text))) ||
	    !(e->value = trimmed_dup(eq + 1, strlen(eq + 1)))) {
		p->oom = true;
		return 0;
	}
	return 1;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct entry *e;

	if (!*section) {
		p->error = "setting outside any [section]";
		return 0;
	}
	if (p->indented && p->prev_key && strcmp(p->prev_section, section) == 0 &&
	    strcmp(p->prev_key, name) == 0)
		return add_continuation(p, section, value);

	free(p->prev_section);
	free(p->prev_key);
	p->prev_section = strdup(section);
	p->prev_key = strdup(name);
	e = add_entry(p, section);
	if (!e || !p->prev_section || !p->prev_key || !(e->key = strdup(name)) ||
	    !(e->value = strdup(value))) {
		p->oom = true;
		return 0;
	}
	return 1;
}

/* Record a section the moment its header is read, so an empty [profile x]
 * still counts as existing (inih only reports key = value lines). */
static void note_section(struct parse *p, const char *line)
{
	const char *open = line + strspn(line, " \t");
	const char *close;
	struct entry *e;
	char *title;

	if (*open != '[' || !(close = strchr(open, ']')))
		return;
	title = trimmed_dup(open + 1, (size_t)(close - open - 1));
	if (!title) {
		p->oom = true;
		return;
	}
	e = add_entry(p, title);
	if (!e)
		p->oom = true;
	free(title);
}

/* inih's line source: counts lines and notices headers and indentation.
 * Long lines arrive in several calls; only the first piece starts a line. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *got = fgets(str, num, p->f);
	size_t n;

	if (!got)
		return NULL;
	if (p->at_line_start) {
		p->line++;
		p->indented = str[0] == ' ' || str[0] == '\t';
		note_section(p, str);
	}
	n = strlen(str);
	p->at_line_start = n > 0 && str[n - 1] == '\n';
	return got;
}

/* Run inih over one file with options that match how the AWS CLI reads it
 * (no inline comments, long lines), restoring the library's globals after. */
static int parse_file(struct es_awsconfig *c, enum es_awsconfig_file which)
{
	const char *path = c->path[which];
	struct parse p = {.c = c, .file = which, .at_line_start = true};
	bool use_stack = ini_use_stack, allow_realloc = ini_allow_realloc;
	bool inline_comments = ini_allow_inline_comments, stop = ini_stop_on_first_error;
	bool multiline = ini_allow_multiline, no_value = ini_allow_no_value;
	int max_line = ini_max_line, initial = ini_initial_alloc;
	int rc;

	if (!path)
		return ES_OK;
	p.f = fopen(path, "r");
	if (!p.f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ES_OK;
		return es_fail(ES_ECONFIG, "%s: %s", path, strerror(errno));
	}
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = MAX_LINE;
	ini_initial_alloc = 512;
	ini_allow_inline_comments = false;
	ini_stop_on_first_error = true;
	ini_allow_multiline = true;
	ini_allow_no_value = false;
	rc = ini_parse_stream(read_line, &p, on_value, &p);
	ini_use_stack = use_stack;
	ini_allow_realloc = allow_realloc;
	ini_max_line = max_line;
	ini_initial_alloc = initial;
	ini_allow_inline_comments = inline_comments;
	ini_stop_on_first_error = stop;
	ini_allow_multiline = multiline;
	ini_allow_no_value = no_value;
	fclose(p.f);
	free(p.prev_section);
	free(p.prev_key);

	if (p.oom || rc == -2)
		return es_fail(ES_ENOMEM, "out of memory reading %s", path);
	if (rc > 0)
		return es_fail(ES_ECONFIG, "%s:%d: %s", path, rc,
		               p.error ? p.error : "expected `key = value` or a [section] header");
	if (rc < 0)
		return es_fail(ES_ECONFIG, "%s: cannot be read", path);
	return ES_OK;
}

/* $VAR, else ~/.aws/NAME; "~/" expanded.  NULL (no file) when there is no
 * home to look in.  The result is malloc'd. */
static char *default_path(const char *given, const char *var, const char *name)
{
	const char *home = getenv("HOME");
	const char *p = given;
	char *out = NULL;

	if (!p) {
		p = getenv(var);
		if (p && !*p)
			p = NULL;
	}
	if (p && strncmp(p, "~/", 2) == 0 && home && *home) {
		if (asprintf(&out, "%s/%s", home, p + 2) < 0)
			out = NULL;
		return out;
	}
	if (p)
		return strdup(p);
	if (!home || !*home)
		return NULL;
	if (asprintf(&out, "%s/.aws/%s", home, name) < 0)
		out = NULL;
	return out;
}

int es_awsconfig_load(const char *config_path, const char *credentials_path,
                      struct es_awsconfig **out)
{
	struct es_awsconfig *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return es_fail(ES_ENOMEM, "out of memory");
	c->path[ES_AWSCONFIG_CONFIG] = default_path(config_path, "AWS_CONFIG_FILE", "config");
	c->path[ES_AWSCONFIG_CREDENTIALS] =
	        default_path(credentials_path, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
	rc = parse_file(c, ES_AWSCONFIG_CONFIG);
	if (!rc)
		rc = parse_file(c, ES_AWSCONFIG_CREDENTIALS);
	if (rc) {
		es_awsconfig_free(c);
		return rc;
	}
	*out = c;
	return ES_OK;
}

static const struct entry *find(const struct es_awsconfig *c, enum es_awsconfig_file which,
                                enum section_kind kind, const char *name, const char *key,
                                const char *subkey)
{
	if (!c || !name || !key)
		return NULL;
	/* Backwards, so a later duplicate wins. */
	for (size_t i = c->n; i-- > 0;) {
		const struct entry *e = &c->v[i];
		if (e->file != which || e->kind != kind || !e->key || strcmp(e->name, name) != 0 ||
		    strcasecmp(e->key, key) != 0)
			continue;
		if (subkey ? e->subkey && strcasecmp(e->subkey, subkey) == 0 : !e->subkey)
			return e;
	}
	return NULL;
}

const char *es_awsconfig_get_in(const struct es_awsconfig *c, enum es_awsconfig_file which,
                                const char *profile, const char *key)
{
	const struct entry *e = find(c, which, SECTION_PROFILE, profile, key, NULL);
	return e ? e->value : NULL;
}

const char *es_awsconfig_get(const struct es_awsconfig *c, const char *profile, const char *key)
{
	const char *v = es_awsconfig_get_in(c, ES_AWSCONFIG_CREDENTIALS, profile, key);
	return v ? v : es_awsconfig_get_in(c, ES_AWSCONFIG_CONFIG, profile, key);
}

const char *es_awsconfig_get_service(const struct es_awsconfig *c, const char *profile,
                                     const char *service_id, const char *key)
{
	const char *services = es_awsconfig_get_in(c, ES_AWSCONFIG_CONFIG, profile, "services");
	const struct entry *e;

	if (!services || !*services)
		return NULL;
	e = find(c, ES_AWSCONFIG_CONFIG, SECTION_SERVICES, services, service_id, key);
	return e ? e->value : NULL;
}

bool es_awsconfig_has_profile(const struct es_awsconfig *c, const char *profile)
{
	if (!c || !profile)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].kind == SECTION_PROFILE && strcmp(c->v[i].name, profile) == 0)
			return true;
	return false;
}

const char *es_awsconfig_path(const struct es_awsconfig *c, enum es_awsconfig_file which)
{
	return c ? c->path[which] : NULL;
}

void es_awsconfig_free(struct es_awsconfig *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free_entry(&c->v[i]);
	free(c->v);
	free(c->path[0]);
	free(c->path[1]);
	free(c);
}
