/* Themes: each semantic area gets foreground, background and attributes from
 * the built-in table, then from a theme file ([color] AREA = FG BG ATTR…).
 * Colours beyond what the terminal has are folded onto the eight basic ones;
 * $NO_COLOR keeps only attributes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/error.h"
#include "kvfile.h"
#include "theme.h"

#ifndef ES_DATADIR
#define ES_DATADIR "/usr/local/share/edgeship"
#endif

struct area_style {
	short fg, bg; /* -1: terminal default */
	attr_t attr;
};

static const struct {
	const char *name;
	const char *colours;
	const char *mono;
} area_defaults[] = {
#define ES_AREA_ROW(id, name, colours, mono) {name, colours, mono},
        ES_THEME_AREAS(ES_AREA_ROW)
#undef ES_AREA_ROW
};

static struct area_style styles[ES_AREA_COUNT];
static attr_t attrs[ES_AREA_COUNT];
static bool no_color;

static const char *const colour_names[] = {"black", "red",     "green", "yellow",
                                           "blue",  "magenta", "cyan",  "white"};

static const struct {
	const char *name;
	attr_t attr;
} attr_names[] = {
        {"bold", A_BOLD},     {"dim", A_DIM},           {"underline", A_UNDERLINE},
        {"ul", A_UNDERLINE},  {"reverse", A_REVERSE},   {"blink", A_BLINK},
        {"italic", A_ITALIC}, {"standout", A_STANDOUT}, {"normal", A_NORMAL},
};

const char *es_theme_area_name(enum es_area a)
{
	return a < ES_AREA_COUNT ? area_defaults[a].name : "";
}

bool es_theme_no_color(void)
{
	return no_color;
}

/* A colour word: default, a name, brightNAME, colorN or N. -2 when unknown. */
static int parse_colour(const char *w)
{
	char *end;
	long n;

	if (strcasecmp(w, "default") == 0 || strcasecmp(w, "-1") == 0)
		return -1;
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(w, colour_names[i]) == 0)
			return i;
		if (strncasecmp(w, "bright", 6) == 0 && strcasecmp(w + 6, colour_names[i]) == 0)
			return i + 8;
	}
	if (strncasecmp(w, "color", 5) == 0)
		w += 5;
	n = strtol(w, &end, 10);
	if (end != w && !*end && n >= 0 && n <= 255)
		return (int)n;
	return -2;
}

static attr_t parse_attr(const char *w, bool *ok)
{
	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (strcasecmp(w, attr_names[i].name) == 0)
			return attr_names[i].attr;
	*ok = false;
	return 0;
}

/* "FG BG attr…" (or only attributes) into st; false on an unknown word. */
static bool parse_style(const char *value, struct area_style *st, bool attrs_only, char *bad,
                        size_t badlen)
{
	char copy[256], *save = NULL;
	int ncol = 0;
	struct area_style out = {-1, -1, A_NORMAL};

	snprintf(copy, sizeof(copy), "%s", value);
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		int c = attrs_only ? -2 : parse_colour(w);
		bool ok = true;
		if (c != -2 && ncol < 2) {
			if (ncol++ == 0)
				out.fg = (short)c;
			else
				out.bg = (short)c;
			continue;
		}
		out.attr |= parse_attr(w, &ok);
		if (!ok) {
			snprintf(bad, badlen, "%s", w);
			return false;
		}
	}
	*st = out;
	return true;
}

void es_theme_defaults(bool nocolour)
{
	char bad[64];

	no_color = nocolour;
	for (int i = 0; i < ES_AREA_COUNT; i++)
		parse_style(no_color ? area_defaults[i].mono : area_defaults[i].colours, &styles[i],
		            no_color, bad, sizeof(bad));
}

struct load_ctx {
	const char *path;
	char err[256];
};

static void on_entry(const char *section, const char *sub, const char *key, const char *value,
                     void *ud)
{
	struct load_ctx *lc = ud;
	char bad[64];

	if (strcmp(section, "color") != 0 && strcmp(section, "colour") != 0)
		return;
	(void)sub;
	for (int i = 0; i < ES_AREA_COUNT; i++) {
		if (strcmp(key, area_defaults[i].name) != 0)
			continue;
		struct area_style st;
		if (!parse_style(value, &st, false, bad, sizeof(bad))) {
			if (!lc->err[0])
				snprintf(lc->err, sizeof(lc->err),
				         "%s: %s: unknown colour or attribute '%s'", lc->path, key,
				         bad);
			return;
		}
		if (no_color) {
			/* keep the theme's attributes, drop its colours */
			styles[i].attr = st.attr ? st.attr : styles[i].attr;
		} else {
			styles[i] = st;
		}
		return;
	}
	if (!lc->err[0])
		snprintf(lc->err, sizeof(lc->err), "%s: unknown area '%s'", lc->path, key);
}

int es_theme_load_file(const char *path)
{
	struct load_ctx lc = {.path = path};
	int rc = es_kvfile_read(path, on_entry, &lc);

	if (rc)
		return rc;
	if (lc.err[0])
		return es_fail(ES_ECONFIG, "%s", lc.err);
	return ES_OK;
}

static bool exists(const char *p)
{
	return access(p, R_OK) == 0;
}

int es_theme_use(const char *name, char *err, size_t errlen)
{
	char path[4096];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	const char *dirs[3] = {getenv("ES_THEMES_DIR"), NULL, ES_DATADIR "/themes"};
	char userdir[4096];
	int rc;

	if (err && errlen)
		err[0] = 0;
	if (!name || !*name)
		return ES_OK;
	if (xdg && *xdg)
		snprintf(userdir, sizeof(userdir), "%s/edgeship/themes", xdg);
	else
		snprintf(userdir, sizeof(userdir), "%s/.config/edgeship/themes", home ? home : ".");
	dirs[1] = userdir;
	path[0] = 0;
	if (strchr(name, '/') ||
	    (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".theme") == 0)) {
		snprintf(path, sizeof(path), "%s", name);
	} else {
		/* the user's own themes first, then $ES_THEMES_DIR, then installed */
		const char *order[3] = {dirs[1], dirs[0], dirs[2]};
		for (int i = 0; i < 3 && !path[0]; i++) {
			char cand[4096];
			if (!order[i] || !*order[i])
				continue;
			snprintf(cand, sizeof(cand), "%s/%s.theme", order[i], name);
			if (exists(cand))
				snprintf(path, sizeof(path), "%s", cand);
		}
		if (!path[0]) {
			if (strcmp(name, "default") == 0)
				return ES_OK; /* built in */
			if (err)
				snprintf(err, errlen, "theme '%s' not found in %s, %s%s%s", name,
				         userdir, dirs[0] && *dirs[0] ? dirs[0] : "",
				         dirs[0] && *dirs[0] ? ", " : "", dirs[2]);
			return es_fail(ES_ENOTFOUND, "theme '%s' not found", name);
		}
	}
	rc = es_theme_load_file(path);
	if (rc && err) {
		char line[1400];
		snprintf(err, errlen, "%s", es_error_format(es_error_last(), line, sizeof(line)));
	}
	if (rc)
		es_theme_defaults(no_color);
	return rc;
}

/* Fold a 256-colour index onto what the terminal has. */
static short fold_colour(short c)
{
	if (c < 0 || c < COLORS)
		return c;
	if (c < 16)
		return (short)(c - 8);
	int r, g, b;
	if (c >= 232) {
		int v = (c - 232) * 10 + 8;
		r = g = b = v;
	} else {
		int i = c - 16;
		r = (i / 36) * 51;
		g = ((i / 6) % 6) * 51;
		b = (i % 6) * 51;
	}
	int bits = (r > 110 ? 1 : 0) | (g > 110 ? 2 : 0) | (b > 110 ? 4 : 0);
	return (short)bits; /* black red green yellow blue magenta cyan white */
}

void es_theme_apply(void)
{
	bool colours = !no_color && has_colors();

	if (colours) {
		start_color();
		use_default_colors();
	}
	for (int i = 0; i < ES_AREA_COUNT; i++) {
		attrs[i] = styles[i].attr;
		if (colours && (styles[i].fg >= 0 || styles[i].bg >= 0) && i + 1 < COLOR_PAIRS) {
			init_pair((short)(i + 1), fold_colour(styles[i].fg),
			          fold_colour(styles[i].bg));
			attrs[i] |= COLOR_PAIR(i + 1);
		}
	}
}

attr_t es_theme_attr(enum es_area a)
{
	return a < ES_AREA_COUNT ? attrs[a] : A_NORMAL;
}
