/* Semantic colour areas (what views use) and the themes that paint them:
 * git-config files under themes/, the user's themes directory or a path. */
#ifndef ES_THEME_H
#define ES_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "screen.h"

/* One row per area: id, name in theme files, default colours (256- or
 * 8-colour names: "FG BG [attributes]"), attributes without colour. */
#define ES_THEME_AREAS(X)                                                                          \
	X(NORMAL, "normal", "default default", "")                                                 \
	X(TITLE, "title", "white blue bold", "reverse bold")                                       \
	X(STATUS, "status", "black cyan", "reverse")                                               \
	X(HINT, "hint", "blue default", "dim")                                                     \
	X(MESSAGE, "message", "yellow default bold", "bold")                                       \
	X(BORDER, "border", "blue default", "dim")                                                 \
	X(BORDER_FOCUS, "border-focus", "cyan default bold", "bold")                               \
	X(PANE_TITLE, "pane-title", "default default bold", "bold")                                \
	X(CURSOR, "cursor", "black cyan", "reverse")                                               \
	X(COMMIT_ID, "commit-id", "yellow default", "")                                            \
	X(DATE, "date", "blue default", "")                                                        \
	X(AUTHOR, "author", "green default", "")                                                   \
	X(MARKER_STAGE, "marker-stage", "black green", "reverse")                                  \
	X(MARKER_PENDING, "marker-pending", "black yellow", "bold underline")                      \
	X(MARKER_FAILED, "marker-failed", "white red bold", "bold reverse")                        \
	X(STAGE_NAME, "stage-name", "default default bold", "bold")                                \
	X(STAGE_OK, "stage-ok", "green default bold", "bold")                                      \
	X(STAGE_BUSY, "stage-busy", "yellow default bold", "bold underline")                       \
	X(STAGE_FAILED, "stage-failed", "red default bold", "bold reverse")                        \
	X(STAGE_UNKNOWN, "stage-unknown", "magenta default", "dim")                                \
	X(LABEL, "label", "cyan default", "dim")                                                   \
	X(PROGRESS_DONE, "progress-done", "black green", "reverse")                                \
	X(PROGRESS_TODO, "progress-todo", "default default", "")                                   \
	X(EDGE_NEW, "edge-new", "black green", "reverse")                                          \
	X(EDGE_OLD, "edge-old", "black yellow", "")                                                \
	X(EDGE_CACHED, "edge-cached", "black magenta", "bold underline")                           \
	X(EDGE_DOWN, "edge-down", "white red", "underline")                                        \
	X(CHECK_PASS, "check-pass", "green default bold", "bold")                                  \
	X(CHECK_FAIL, "check-fail", "red default bold", "bold reverse")                            \
	X(ACT_INFO, "activity-info", "default default", "")                                        \
	X(ACT_WARN, "activity-warn", "yellow default", "bold")                                     \
	X(ACT_ERROR, "activity-error", "red default bold", "bold reverse")                         \
	X(ACT_EVENT, "activity-event", "cyan default", "")                                         \
	X(DIFF_ADD, "diff-add", "green default", "")                                               \
	X(DIFF_DEL, "diff-del", "red default", "")                                                 \
	X(DIFF_HUNK, "diff-hunk", "magenta default", "bold")                                       \
	X(DIFF_HEADER, "diff-header", "yellow default bold", "bold")                               \
	X(SEARCH_HIT, "search-hit", "black yellow", "underline")                                   \
	X(DIALOG, "dialog", "default default", "")                                                 \
	X(DIALOG_BORDER, "dialog-border", "yellow default bold", "bold")                           \
	X(DANGER, "danger", "white red bold", "bold reverse")                                      \
	X(READ_ONLY, "read-only", "white red bold", "reverse bold")                                \
	X(OFFLINE, "offline", "yellow default bold", "bold")

enum es_area {
#define ES_AREA_ENUM(id, name, colours, mono) ES_AREA_##id,
	ES_THEME_AREAS(ES_AREA_ENUM)
#undef ES_AREA_ENUM
	        ES_AREA_COUNT
};

/* The name of area a in theme files ("stage-failed"). */
const char *es_theme_area_name(enum es_area a);

/* Reset every area to the built-in defaults (colour unless no_color). */
void es_theme_defaults(bool no_color);

/* Apply a theme file over the current areas. ES_ENOTFOUND / ES_ECONFIG
 * ("FILE:LINE: message") as es_kvfile_read reports them. */
int es_theme_load_file(const char *path);

/* Find theme `name` (a path, or a name looked up in $XDG_CONFIG_HOME/
 * edgeship/themes, $ES_THEMES_DIR and the installed themes) and load it.
 * On failure err says why and the defaults stay. */
int es_theme_use(const char *name, char *err, size_t errlen);

/* True when colours are off ($NO_COLOR, a terminal without colours). */
bool es_theme_no_color(void);

/* Turn the areas into curses colour pairs: call after initscr/newterm
 * (and again after a theme change). */
void es_theme_apply(void);

/* The curses attributes (pair included) to draw area a with. */
attr_t es_theme_attr(enum es_area a);

#endif
