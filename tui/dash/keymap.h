/* Every user request is one row of ES_REQUESTS: the enum, the names used in
 * ~/.config/edgeship/config and the help screen all come from it, so help
 * never drifts from the keys. */
#ifndef ES_KEYMAP_H
#define ES_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

enum es_req_flags {
	ES_REQ_MOVE = 1 << 0,     /* moves within a view */
	ES_REQ_VIEW = 1 << 1,     /* opens, closes or switches views */
	ES_REQ_MUTATING = 1 << 2, /* changes something in AWS or git: upper-case keys only */
};

/* id, config name, default keys (space separated), flags, help text. */
#define ES_REQUESTS(X)                                                                             \
	X(MOVE_DOWN, "move-down", "j Down", ES_REQ_MOVE, "Move down")                              \
	X(MOVE_UP, "move-up", "k Up", ES_REQ_MOVE, "Move up")                                      \
	X(PAGE_DOWN, "page-down", "C-f PgDn Space", ES_REQ_MOVE, "Move down a page")               \
	X(PAGE_UP, "page-up", "C-b PgUp", ES_REQ_MOVE, "Move up a page")                           \
	X(HALF_DOWN, "half-page-down", "C-d", ES_REQ_MOVE, "Move down half a page")                \
	X(HALF_UP, "half-page-up", "C-u", ES_REQ_MOVE, "Move up half a page")                      \
	X(MOVE_FIRST, "move-first", "g Home", ES_REQ_MOVE, "Move to the first line")               \
	X(MOVE_LAST, "move-last", "G End", ES_REQ_MOVE, "Move to the last line")                   \
	X(NEXT_PANE, "next-pane", "Tab l Right", ES_REQ_VIEW, "Focus the next pane")               \
	X(PREV_PANE, "prev-pane", "BackTab h Left", ES_REQ_VIEW, "Focus the previous pane")        \
	X(ENTER, "enter", "Enter", ES_REQ_VIEW, "Open the selected commit (message, files, diff)") \
	X(BACK, "back", "Esc", ES_REQ_VIEW, "Close the open view or dialog")                       \
	X(SEARCH, "search", "/", ES_REQ_MOVE, "Search the focused pane")                           \
	X(FIND_NEXT, "find-next", "n", ES_REQ_MOVE, "Next search match")                           \
	X(FIND_PREV, "find-prev", "N", ES_REQ_MOVE, "Previous search match")                       \
	X(REFRESH, "refresh", "R", 0, "Poll AWS again now")                                        \
	X(REDRAW, "redraw", "C-l", 0, "Redraw the screen")                                         \
	X(HELP, "help", "? F1", ES_REQ_VIEW, "Show this help")                                     \
	X(LEDGER, "ledger", "L", ES_REQ_VIEW,                                                      \
	  "The stage's ledger: who did what, when, outcome, why")                                  \
	X(LEDGER_ALL, "ledger-all", "t", ES_REQ_VIEW,                                              \
	  "In the ledger: all stages or the selected one")                                         \
	X(PIPELINE, "pipeline", "P", ES_REQ_VIEW,                                                  \
	  "The pipeline deploying the stages (pipeline mode); P again reloads it")                 \
	X(CANARY, "canary", "c", ES_REQ_VIEW,                                                      \
	  "The selected stage's canary: its primary beside its staging")                           \
	X(COPY, "copy", "y", 0, "Copy the selected commit id (History) or stage URL (OSC 52)")     \
	X(OPEN_URL, "open-url", "o", 0, "Open the selected stage's URL (xdg-open)")                \
	X(DRIFT, "drift", "f", 0, "Check the selected stage's stack for drift now (read-only)")    \
	X(GUARD_ERRORS, "guard-errors", "w", ES_REQ_VIEW,                                          \
	  "Where it fails: a guard breach's recent function errors")                               \
	X(QUIT, "quit", "q", ES_REQ_VIEW, "Close the open view; quit from the dashboard")          \
	X(DEPLOY, "deploy", "D", ES_REQ_MUTATING,                                                  \
	  "Deploy the selected commit (to the first stage, or choose)")                            \
	X(PROMOTE, "promote", "A", ES_REQ_MUTATING,                                                \
	  "Approve: promote the validated release to the next stage")                              \
	X(INVALIDATE, "invalidate", "I", ES_REQ_MUTATING,                                          \
	  "Invalidate the CloudFront cache of a stage (paths, default /*)")                        \
	X(VALIDATE, "validate", "V", ES_REQ_MUTATING, "Run a stage's validation checks now")       \
	X(ROLLBACK, "rollback", "X", ES_REQ_MUTATING,                                              \
	  "Roll a stage back to the selected commit's recorded release")                           \
	X(REVERT, "revert", "U", ES_REQ_MUTATING, "Create a git revert of the selected commit")    \
	X(GUARD_ROLLBACK, "guard-rollback", "B", ES_REQ_MUTATING,                                  \
	  "Roll the stage the error-rate guard found breaching back to its previous release")      \
	X(PIPE_REJECT, "pipeline-reject", "J", ES_REQ_MUTATING,                                    \
	  "In the pipeline view: reject the waiting approval (A approves)")                        \
	X(PIPE_RETRY, "pipeline-retry", "T", ES_REQ_MUTATING,                                      \
	  "In the pipeline view: retry the failed stage")                                          \
	X(PIPE_START, "pipeline-start", "E", ES_REQ_MUTATING,                                      \
	  "In the pipeline view: execute the pipeline on its newest source")                       \
	X(PIPE_STOP, "pipeline-stop", "S", ES_REQ_MUTATING,                                        \
	  "In the pipeline view: stop the running execution")                                      \
	X(CANARY_START, "canary-start", "C", ES_REQ_MUTATING,                                      \
	  "Start a canary on the selected stage (its canary key; A promotes in the canary view)")  \
	X(CANARY_WIDEN, "canary-widen", "W", ES_REQ_MUTATING,                                      \
	  "In the canary view: send a larger share of requests to the canary")                     \
	X(CANARY_CHECK, "canary-check", "K", ES_REQ_MUTATING,                                      \
	  "In the canary view: run the checks through a header canary's header")                   \
	X(CANARY_DISCARD, "canary-discard", "Z", ES_REQ_MUTATING,                                  \
	  "In the canary view: discard the canary (every request to the primary)")

enum es_request {
	ES_REQ_NONE = 0,
#define ES_REQ_ENUM(id, name, keys, flags, help) ES_REQ_##id,
	ES_REQUESTS(ES_REQ_ENUM)
#undef ES_REQ_ENUM
	        ES_REQ_COUNT
};

struct es_request_info {
	enum es_request req;
	const char *name;
	const char *keys; /* defaults */
	unsigned flags;
	const char *help;
};

/* The table row of req (req in 1 .. ES_REQ_COUNT-1), or NULL. */
const struct es_request_info *es_request_info(enum es_request req);
/* The request named name ("move-down"), or ES_REQ_NONE. */
enum es_request es_request_by_name(const char *name);

/* Key names: "j", "D", "Enter", "Tab", "BackTab", "Esc", "Space", "Up",
 * "Down", "Left", "Right", "PgUp", "PgDn", "Home", "End", "F1".."F12",
 * "C-x" (control). Returns the curses key code or -1. */
int es_key_parse(const char *name);
/* The name of key into buf. */
const char *es_key_name(int key, char *buf, size_t len);

#define ES_KEYMAP_MAX 128

struct es_keymap {
	struct {
		int key;
		enum es_request req;
	} bind[ES_KEYMAP_MAX];
	size_t n;
};

/* The default bindings. */
void es_keymap_defaults(struct es_keymap *km);
/* Bind key to req (replacing what key did). Refuses (returns false) a
 * mutating request on a lower-case letter. */
bool es_keymap_bind(struct es_keymap *km, int key, enum es_request req);
/* Read [bind] REQUEST = KEY… from a git-config file (the user's config).
 * A request named there loses its default keys. ES_ENOTFOUND when there is
 * no file; otherwise problems are described in err (first one) and the
 * rest is applied. */
int es_keymap_load(struct es_keymap *km, const char *path, char *err, size_t errlen);
/* The request bound to key, or ES_REQ_NONE. */
enum es_request es_keymap_lookup(const struct es_keymap *km, int key);
/* The keys bound to req ("j, Down") into buf. */
const char *es_keymap_keys(const struct es_keymap *km, enum es_request req, char *buf, size_t len);

#endif
