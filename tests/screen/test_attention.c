/* The bytes the dashboard sends on purpose (bell aside: one BEL), their
 * cleaning (control characters, credentials), the notify setting, and the
 * attention tracker that decides when to send them. TAP output. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/attention.h"
#include "dash/termseq.h"

static int n, failed;

static void ok(bool cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", n, what);
}

/* got equals want; shown escaped when not. */
static void eq(char *got, const char *want, const char *what)
{
	bool same = got && !strcmp(got, want);

	ok(same, what);
	if (!same) {
		printf("#   got:  ");
		for (const char *c = got ? got : "(null)"; *c; c++)
			printf((unsigned char)*c < 0x20 ? "\\x%02x" : "%c", (unsigned char)*c);
		printf("\n");
	}
	free(got);
}

static char *clean(const char *s, size_t max)
{
	char *t = strdup(s);
	es_term_clean(t, max);
	return t;
}

static void sequences(void)
{
	eq(es_term_osc9("deploy to staging: success", false),
	   "\033]9;deploy to staging: success\a", "OSC 9 carries the text, ended by BEL");
	eq(es_term_osc777("edgeship app", "deploy to staging: success", false),
	   "\033]777;notify;edgeship app;deploy to staging: success\a",
	   "OSC 777 notify carries a title and a body");
	eq(es_term_osc777("a;b", "c;d", false), "\033]777;notify;a,b;c;d\a",
	   "a ';' cannot end the OSC 777 title early");
	eq(es_term_osc52("abc", false), "\033]52;c;YWJj\a", "OSC 52 carries base64");
	eq(es_term_osc52("https://staging.example.com/", false),
	   "\033]52;c;aHR0cHM6Ly9zdGFnaW5nLmV4YW1wbGUuY29tLw==\a", "OSC 52 pads base64");
	eq(es_term_osc9("hi", true), "\033Ptmux;\033\033]9;hi\a\033\\",
	   "under tmux the sequence is wrapped and its ESC doubled");
	eq(es_term_osc52("x", true), "\033Ptmux;\033\033]52;c;eA==\a\033\\",
	   "OSC 52 is wrapped for tmux too");
	eq(es_term_osc9("fix \033]0;pwned\a \033[2J\xc2\x9b" "31m done", false),
	   "\033]9;fix  ]0;pwned   [2J  31m done\a",
	   "escape sequences in the text are stripped (ESC, BEL, C1 CSI)");
	eq(es_term_osc777("t\033]", "b\033\\x", false), "\033]777;notify;t ];b \\x\a",
	   "and from both OSC 777 fields");
	eq(es_term_osc52("abc\033[0m", false), "\033]52;c;YWJjIFswbQ==\a",
	   "no control character reaches the clipboard");
}

static void cleaning(void)
{
	setenv("AWS_SECRET_ACCESS_KEY", "edgesim/test/secret/not-a-real-key/0001", 1);
	setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//////////wEaDM", 1);
	eq(clean("denied for AKIAEDGESIM000000001 in us-east-1", 400),
	   "denied for [redacted] in us-east-1", "an access key id is masked");
	eq(clean("key edgesim/test/secret/not-a-real-key/0001 leaked", 400),
	   "key [redacted] leaked", "the secret key's value is masked");
	eq(clean("token FwoGZXIvYXdzEJr//////////wEaDM.", 400), "token [redacted].",
	   "the session token's value is masked");
	eq(clean("x wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY y", 400), "x [redacted] y",
	   "a secret-shaped word is masked");
	eq(clean("commit c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809 ok", 400),
	   "commit c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809 ok", "a commit id stays");
	eq(clean("caf\xc3\xa9 au lait", 4), "caf", "a cut never splits a UTF-8 character");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

static void modes(void)
{
	ok(es_notify_mode_parse("osc9") == ES_NOTIFY_OSC9 &&
	           es_notify_mode_parse("OSC777") == ES_NOTIFY_OSC777 &&
	           es_notify_mode_parse("notify-send") == ES_NOTIFY_SEND &&
	           es_notify_mode_parse("off") == ES_NOTIFY_OFF &&
	           es_notify_mode_parse("auto") == ES_NOTIFY_AUTO &&
	           es_notify_mode_parse("growl") == -1,
	   "the notify setting's names");
	unsetenv("TERM_PROGRAM");
	unsetenv("DISPLAY");
	unsetenv("WAYLAND_DISPLAY");
	setenv("TERM", "foot", 1);
	ok(es_notify_mode_auto(true) == ES_NOTIFY_OSC777, "auto: foot takes OSC 777");
	setenv("TERM", "xterm-kitty", 1);
	ok(es_notify_mode_auto(true) == ES_NOTIFY_OSC9, "auto: kitty takes OSC 9");
	setenv("TERM", "xterm-256color", 1);
	setenv("TERM_PROGRAM", "WezTerm", 1);
	ok(es_notify_mode_auto(false) == ES_NOTIFY_OSC9, "auto: WezTerm takes OSC 9");
	unsetenv("TERM_PROGRAM");
	ok(es_notify_mode_auto(true) == ES_NOTIFY_OFF,
	   "auto: no display, no known terminal: the bell only");
	setenv("DISPLAY", ":0", 1);
	ok(es_notify_mode_auto(true) == ES_NOTIFY_SEND, "auto: a display and notify-send");
	ok(es_notify_mode_auto(false) == ES_NOTIFY_OFF, "auto: a display without notify-send");
	unsetenv("DISPLAY");
}

/* ------------------------------------------------------------ tracker */

static struct es_record recs[16];
static struct es_record_list list = {.items = recs};

static void add(long seq, const char *kind, const char *phase, const char *stage,
                const char *result, const char *when, const char *message)
{
	struct es_record *r = &recs[list.n++];
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->phase, sizeof(r->phase), "%s", phase);
	snprintf(r->stage, sizeof(r->stage), "%s", stage);
	snprintf(r->result, sizeof(r->result), "%s", result);
	snprintf(r->when, sizeof(r->when), "%s", when);
	snprintf(r->message, sizeof(r->message), "%s", message);
	snprintf(r->who, sizeof(r->who), "arn:aws:sts::123456789012:assumed-role/release/alice");
	snprintf(r->commit, sizeof(r->commit), "c6d1f0e2a9b84c3d5e6f708192a3b4c5d6e7f809");
}

static void tracker(void)
{
	struct es_attn_tracker t = {0};
	struct es_stage_view st[2];
	struct es_attn_event ev[8];
	double now = 1700000000.0; /* 2023-11-14T22:13:20Z */
	unsigned long gen = 1;
	size_t k;

	memset(st, 0, sizeof(st));
	snprintf(st[0].name, sizeof(st[0].name), "staging");
	snprintf(st[1].name, sizeof(st[1].name), "production");
	snprintf(st[0].commit, sizeof(st[0].commit), "aaaa");
	snprintf(st[1].commit, sizeof(st[1].commit), "aaaa");
	st[0].propagation = st[1].propagation = ES_PROP_DEPLOYED;
	add(1, "deploy", "outcome", "staging", "success", "2023-11-14T22:00:00Z", "");

	ok(es_attn_observe(&t, st, 2, &list, gen, now, ev, 8) == 0,
	   "the first look announces nothing that was already there");
	ok(es_attn_observe(&t, st, 2, &list, gen, now, ev, 8) == 0, "nothing changed: no event");

	add(2, "deploy", "intent", "staging", "", "2023-11-14T22:14:00Z", "");
	add(3, "deploy", "outcome", "staging", "success", "2023-11-14T22:15:00Z", "");
	add(4, "deploy", "outcome", "production", "cancelled", "2023-11-14T22:15:01Z", "");
	add(5, "validation", "outcome", "staging", "failed", "2023-11-14T22:15:02Z",
	    "home: 1/1 failed: header x is \"\033]0;pwned\a\"");
	add(6, "deploy", "outcome", "staging", "failed", "2023-11-13T08:00:00Z", "back-filled");
	k = es_attn_observe(&t, st, 2, &list, ++gen, now, ev, 8);
	ok(k == 2, "a deploy's outcome and a failed validation are events; an intent, a "
	           "cancel and an old back-filled record are not");
	ok(k >= 1 && ev[0].kind == ES_ATTN_ACTION_ENDED && !ev[0].bad &&
	           !strcmp(ev[0].text, "deploy to staging: success (by alice)"),
	   "the deploy's event says what, where, the outcome and who");
	ok(k >= 2 && ev[1].kind == ES_ATTN_VALIDATION_FAILED && ev[1].bad &&
	           !strchr(ev[1].text, '\033') && !strchr(ev[1].text, '\a') &&
	           strstr(ev[1].text, "validation of staging failed: home"),
	   "the failed validation's event is stripped of control characters");
	ok(es_attn_observe(&t, st, 2, &list, gen, now, ev, 8) == 0, "each record is told once");

	st[0].propagation = ES_PROP_IN_PROGRESS;
	ok(es_attn_observe(&t, st, 2, &list, gen, now, ev, 8) == 0, "InProgress is no event");
	st[0].propagation = ES_PROP_DEPLOYED;
	snprintf(st[0].release, sizeof(st[0].release), "r-bbbb");
	k = es_attn_observe(&t, st, 2, &list, gen, now, ev, 8);
	ok(k == 1 && ev[0].kind == ES_ATTN_PROPAGATED && !strcmp(ev[0].stage, "staging"),
	   "InProgress then Deployed: propagation finished");

	snprintf(st[0].commit, sizeof(st[0].commit), "bbbb");
	st[0].validated = st[0].validation_passed = true;
	k = es_attn_observe(&t, st, 2, &list, gen, now, ev, 8);
	ok(k == 1 && ev[0].kind == ES_ATTN_AWAITS_PROMOTION &&
	           strstr(ev[0].text, "promotion to production awaits approval"),
	   "staging validated and production behind: promotion awaits approval");
	ok(es_attn_observe(&t, st, 2, &list, gen, now, ev, 8) == 0,
	   "the same release waiting is told once");
	snprintf(st[1].commit, sizeof(st[1].commit), "bbbb");
	ok(es_attn_observe(&t, st, 2, &list, gen, now, ev, 8) == 0,
	   "once production runs it, nothing waits");
}

int main(void)
{
	sequences();
	cleaning();
	modes();
	tracker();
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
