/* Escape sequences sent on purpose, and the cleaning of what goes in them. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "termseq.h"

static const char *const mode_names[] = {
        [ES_NOTIFY_OFF] = "off",          [ES_NOTIFY_OSC9] = "osc9", [ES_NOTIFY_OSC777] = "osc777",
        [ES_NOTIFY_SEND] = "notify-send", [ES_NOTIFY_AUTO] = "auto",
};

int es_notify_mode_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcasecmp(name, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *es_notify_mode_name(enum es_notify_mode mode)
{
	return (size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

static bool env_is(const char *name, const char *value)
{
	const char *v = getenv(name);
	return v && strcmp(v, value) == 0;
}

enum es_notify_mode es_notify_mode_auto(bool have_notify_send)
{
	const char *term = getenv("TERM");

	if (!term)
		term = "";
	if (env_is("TERM_PROGRAM", "iTerm.app") || env_is("TERM_PROGRAM", "WezTerm") ||
	    env_is("TERM_PROGRAM", "ghostty") || strstr(term, "kitty") || strstr(term, "ghostty"))
		return ES_NOTIFY_OSC9;
	if (strncmp(term, "rxvt", 4) == 0 || strncmp(term, "foot", 4) == 0)
		return ES_NOTIFY_OSC777;
	if (have_notify_send && (env_set("DISPLAY") || env_set("WAYLAND_DISPLAY")))
		return ES_NOTIFY_SEND;
	return ES_NOTIFY_OFF;
}

/* ------------------------------------------------------------ cleaning */

static const char redacted[] = "[redacted]";

/* Replace every occurrence of needle in s by [redacted] (never longer). */
static void mask_value(char *s, const char *needle)
{
	size_t nl = needle ? strlen(needle) : 0, rl = sizeof(redacted) - 1;
	char *at;

	if (nl < 12)
		return; /* too short to be a credential, and would mask words */
	while ((at = strstr(s, needle))) {
		memcpy(at, redacted, rl);
		memmove(at + rl, at + nl, strlen(at + nl) + 1);
	}
}

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '/' || c == '+' || c == '=';
}

/* A word that looks like a credential: an access key id (AKIA…, ASIA…:
 * four capitals and sixteen capitals or digits), or 40 and more characters
 * of base64 mixing cases or carrying / or + (a secret key, a session token;
 * a commit id is lower-case hex and stays). */
static bool secret_shaped(const char *w, size_t n)
{
	static const char *const prefixes[] = {"AKIA", "ASIA", "AROA", "AIDA", "ANPA", "AGPA"};
	bool upper = false, lower = false, sym = false;

	if (n == 20)
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (strncmp(w, prefixes[i], 4) == 0) {
				size_t k = 4;
				while (k < n && (isupper((unsigned char)w[k]) ||
				                 isdigit((unsigned char)w[k])))
					k++;
				if (k == n)
					return true;
			}
	if (n < 40)
		return false;
	for (size_t i = 0; i < n; i++) {
		upper |= isupper((unsigned char)w[i]) != 0;
		lower |= islower((unsigned char)w[i]) != 0;
		sym |= w[i] == '/' || w[i] == '+';
	}
	return (upper && lower) || sym;
}

static void mask_shapes(char *s)
{
	char *p = s;

	while (*p) {
		if (!key_char(*p)) {
			p++;
			continue;
		}
		size_t n = 0;
		while (key_char(p[n]))
			n++;
		if (secret_shaped(p, n) && n >= sizeof(redacted) - 1) {
			memcpy(p, redacted, sizeof(redacted) - 1);
			memmove(p + sizeof(redacted) - 1, p + n, strlen(p + n) + 1);
			p += sizeof(redacted) - 1;
		} else {
			p += n;
		}
	}
}

void es_term_clean(char *s, size_t max)
{
	static const char *const vars[] = {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	                                   "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY_ID"};
	if (!s)
		return;
	es_sanitize(s, false);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		mask_value(s, getenv(vars[i]));
	mask_shapes(s);
	size_t len = strlen(s);
	if (len > max) {
		len = max;
		/* back to the start of a UTF-8 character */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		s[len] = '\0';
	}
}

/* ------------------------------------------------------------ sequences */

char *es_term_tmux_wrap(const char *seq)
{
	size_t n = 0;
	char *out, *o;

	for (const char *c = seq; *c; c++)
		n += *c == '\033' ? 2 : 1;
	out = malloc(n + sizeof("\033Ptmux;\033\\"));
	if (!out)
		return NULL;
	o = out + sprintf(out, "\033Ptmux;");
	for (const char *c = seq; *c; c++) {
		if (*c == '\033')
			*o++ = '\033';
		*o++ = *c;
	}
	strcpy(o, "\033\\");
	return out;
}

/* fmt's result, for tmux wrapped; malloc'd. */
static char *finish(char *seq, bool tmux)
{
	char *w;

	if (!seq || !tmux)
		return seq;
	w = es_term_tmux_wrap(seq);
	free(seq);
	return w;
}

/* A cleaned copy of text (at most max bytes). */
static char *cleaned(const char *text, size_t max)
{
	char *t = strdup(text ? text : "");

	if (t)
		es_term_clean(t, max);
	return t;
}

char *es_term_osc9(const char *text, bool tmux)
{
	char *t = cleaned(text, 400), *seq = NULL;

	if (t && asprintf(&seq, "\033]9;%s\a", t) < 0)
		seq = NULL;
	free(t);
	return finish(seq, tmux);
}

char *es_term_osc777(const char *title, const char *body, bool tmux)
{
	char *t = cleaned(title, 100), *b = cleaned(body, 400), *seq = NULL;

	/* the title ends at the first ';' */
	for (char *c = t; c && *c; c++)
		if (*c == ';')
			*c = ',';
	if (t && b && asprintf(&seq, "\033]777;notify;%s;%s\a", t, b) < 0)
		seq = NULL;
	free(t);
	free(b);
	return finish(seq, tmux);
}

char *es_term_osc52(const char *text, bool tmux)
{
	char *t = strdup(text ? text : ""), *b64 = NULL, *seq = NULL;

	if (t) {
		es_sanitize(t, false);
		b64 = es_base64(t, strlen(t));
	}
	if (b64 && asprintf(&seq, "\033]52;c;%s\a", b64) < 0)
		seq = NULL;
	free(t);
	free(b64);
	return finish(seq, tmux);
}
