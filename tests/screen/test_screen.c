/* Screen golden tests: render fixture data with newterm() on /dev/null at
 * fixed sizes, dump the screen as text (line drawing as ASCII) and compare
 * with tests/screen/golden/NAME.txt. ES_UPDATE_GOLDEN=1 rewrites them
 * (`make update-golden`). TAP output. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash/dialog.h"
#include "dash/promote_diff.h"
#include "dash/view_ledger.h"
#include "fixtures.h"
#include "dash/pager.h"
#include "dash/theme.h"
#include "dash/view.h"

static int n_tests, n_failed;
static struct es_ui ui;
static struct es_keymap km;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* The theme areas a cell's look belongs to ("stage-ok", or
 * "pane-title/stage-name" when they look alike), else the closest with
 * what it adds ("pane-title+bold"). */
static const char *area_names(attr_t attr, void *ud)
{
	static char buf[512];
	size_t o = 0;
	int best = -1, best_bits = -1;

	(void)ud;
	buf[0] = 0;
	for (int a = 0; a < ES_AREA_COUNT; a++)
		if (es_theme_attr((enum es_area)a) == attr && o < sizeof(buf))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? "/" : "",
			                      es_theme_area_name((enum es_area)a));
	if (o)
		return buf;
	for (int a = 0; a < ES_AREA_COUNT; a++) {
		attr_t t = es_theme_attr((enum es_area)a);
		if ((t & A_COLOR) != (attr & A_COLOR) || (t & ~attr))
			continue;
		int bits = __builtin_popcount((unsigned)(t & ~A_COLOR));
		if (bits > best_bits) {
			best = a;
			best_bits = bits;
		}
	}
	if (best < 0)
		return "?";
	attr_t extra = attr & ~es_theme_attr((enum es_area)best);
	snprintf(buf, sizeof(buf), "%s%s%s%s%s", es_theme_area_name((enum es_area)best),
	         extra & A_BOLD ? "+bold" : "", extra & A_REVERSE ? "+reverse" : "",
	         extra & A_UNDERLINE ? "+underline" : "", extra & A_DIM ? "+dim" : "");
	return buf;
}

static char *dump(bool attrs)
{
	char *got = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&got, &len);

	if (attrs)
		es_scr_dump_attrs(m, area_names, NULL);
	else
		es_scr_dump(m);
	fclose(m);
	return got;
}

/* Compare got with golden file NAME.EXT (or rewrite it); true when equal. */
static bool compare(const char *name, const char *ext, char *got, bool quiet)
{
	char path[4096];
	const char *src = getenv("ES_SRCDIR");

	snprintf(path, sizeof(path), "%s/tests/screen/golden/%s.%s", src && *src ? src : ".", name,
	         ext);
	if (!quiet && getenv("ES_UPDATE_GOLDEN") && *getenv("ES_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
		return true;
	}
	char *want = slurp(path);
	bool same = want && strcmp(want, got) == 0;
	if (!same && !quiet) {
		if (!want) {
			printf("# missing %s (run make update-golden)\n", path);
		} else {
			/* the first differing line, to see why */
			const char *a = want, *b = got;
			int line = 1;
			while (*a && *a == *b) {
				if (*a == '\n')
					line++;
				a++;
				b++;
			}
			printf("# %s.%s: first difference at line %d\n", name, ext, line);
		}
		printf("# got:\n");
		for (char *l = strtok(got, "\n"); l; l = strtok(NULL, "\n"))
			printf("#   %s\n", l);
	}
	free(want);
	return same;
}

/* Compare the screen with golden NAME: its text (NAME.txt) and which
 * theme area paints each character (NAME.attr). */
static void expect_screen(const char *name)
{
	char *text = dump(false), *attrs = dump(true);
	bool same = compare(name, "txt", text, false);

	same = compare(name, "attr", attrs, false) && same;
	n_tests++;
	if (!same)
		n_failed++;
	printf("%s %d - %s%s\n", same ? "ok" : "not ok", n_tests, name,
	       getenv("ES_UPDATE_GOLDEN") && *getenv("ES_UPDATE_GOLDEN") ? " (golden rewritten)"
	                                                                 : "");
	free(text);
	free(attrs);
}

/* Whether the screen's colours match golden NAME.attr, without a word. */
static bool attrs_match(const char *name)
{
	char *attrs = dump(true);
	bool same = compare(name, "attr", attrs, true);
	free(attrs);
	return same;
}

/* Row y of the screen as text. */
static char *screen_line(int y)
{
	char *all = dump(false), *p = all;

	for (int i = 0; i < y && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	char *line = strdup(p ? p : "");
	line[strcspn(line, "\n")] = 0;
	free(all);
	return line;
}

static void ok(bool cond, const char *name)
{
	n_tests++;
	if (!cond)
		n_failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", n_tests, name);
}

static void size(int cols, int lines)
{
	resizeterm(lines, cols);
	for (int i = 0; i < ES_PANE_COUNT; i++)
		ui.views[i].offset = 0;
}

static bool screen_contains(const char *needle)
{
	char *got = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&got, &len);
	es_scr_dump(m);
	fclose(m);
	bool found = strstr(got, needle) != NULL;
	free(got);
	return found;
}

/* The promotion question as the dashboard asks it, with what changes
 * between production's commit and staging's. */
static struct es_dialog *promotion_dialog(const struct es_repo_compare *c, const char *now)
{
	struct es_dialog *dlg = es_dialog_new(
	        ES_DLG_CONFIRM, "Promote to production",
	        "Promote staging's release 9c1e2f0-4b7d91aa to production?", NULL, NULL);

	es_dialog_body(dlg, "Exactly the artifact validated in the previous stage is deployed;");
	es_dialog_body(dlg, "the change set is shown next and needs the stage name typed.");
	es_promote_diff_body(dlg, c, "production", now, "9c1e2f0a5b6c7d8e9f00112233445566778899aa",
	                     "template.yaml");
	es_dialog_arm(dlg);
	return dlg;
}

/* Commits newest first and cut after a screenful with a count of the rest,
 * files with their line counts (a long path shortened), the template's
 * resources; a rollback in between is not a fast-forward; a stage that runs
 * nothing yet gets its first release. */
static void promotion_question(void)
{
	static struct es_commit_info commits[12], behind[2];
	static const char *const subjects[] = {
	        "Serve a 404 page for missing assets",
	        "Evil \x1b]0;title\x07 subject",
	        "Add security headers",
	        "Cache images for a day",
	};
	static struct es_file_stat files[11] = {
	        {'M', "src/index.js", 12, 3, false},
	        {'A', "src/headers.js", 40, 0, false},
	        {'M', "template.yaml", 9, 1, false},
	        {'D', "src/old.js", 0, 25, false},
	        {'A', "public/img/logo.png", 0, 0, true},
	        {'M', "src/lib/very/deeply/nested/folder/with/a/long/name/handler_util.js", 2, 2,
	         false},
	        {'M', "README.md", 4, 0, false},
	        {'M', "package.json", 1, 1, false},
	        {'A', "src/a.js", 1, 0, false},
	        {'A', "src/b.js", 1, 0, false},
	        {'A', "src/c.js", 1, 0, false},
	};
	static struct es_resource_change res[] = {
	        {'+', "SecurityHeadersPolicy", "AWS::CloudFront::ResponseHeadersPolicy"},
	        {'~', "LambdaEdgeFunctionSample", "AWS::Serverless::Function"},
	        {'-', "OldLoggingBucket", "AWS::S3::Bucket"},
	};
	struct es_repo_compare c = {0};
	struct es_dialog *dlg;

	for (size_t i = 0; i < 12; i++) {
		snprintf(commits[i].short_oid, sizeof(commits[i].short_oid), "%07zx",
		         0x9c1e2f0 - i);
		snprintf(commits[i].author, sizeof(commits[i].author), "%s",
		         i % 2 ? "Bob Builder-Longname" : "Ann Operator");
		snprintf(commits[i].summary, sizeof(commits[i].summary), "%s (%zu)",
		         subjects[i % 4], 12 - i);
	}
	c.fast_forward = true;
	c.ahead = commits;
	c.n_ahead = 12;
	c.files = files;
	c.n_files = c.files_total = 11;
	for (size_t i = 0; i < 11; i++) {
		c.lines_added += files[i].added;
		c.lines_deleted += files[i].deleted;
	}
	c.resources = res;
	c.n_resources = 3;
	size(120, 40);
	es_ui_draw(&ui);
	dlg = promotion_dialog(&c, "1a2b3c4d5e6f");
	es_dialog_draw(dlg);
	expect_screen("dialog-promote-120x40");
	ok(screen_contains("12 commits from 1a2b3c4 to 9c1e2f0, newest first:") &&
	           screen_contains(
	                   "9c1e2f0 Ann Operator   Serve a 404 page for missing assets (12)") &&
	           screen_contains("\u2026 and 4 more"),
	   "the commits between, newest first, counted and cut with the rest counted");
	ok(!screen_contains("\x1b") && screen_contains("Evil  ]0;title  subject"),
	   "escape sequences in subjects are cleaned");
	ok(screen_contains("11 files changed, 71 insertions(+), 32 deletions(-):") &&
	           screen_contains("D src/old.js") && screen_contains("| +0 -25") &&
	           screen_contains("| binary") && screen_contains("\u2026 and 3 more"),
	   "files changed with their line counts and a total");
	ok(screen_contains("+ SecurityHeadersPolicy") &&
	           screen_contains("~ LambdaEdgeFunctionSample") &&
	           screen_contains("- OldLoggingBucket"),
	   "template resources added, modified and removed");
	ok(screen_contains("Exactly the artifact validated") &&
	           screen_contains("Promote staging's release 9c1e2f0-4b7d91aa to production?"),
	   "the question and what it said before stay");
	es_dialog_free(dlg);

	c.fast_forward = false;
	c.n_ahead = 2;
	for (size_t i = 0; i < 2; i++) {
		snprintf(behind[i].short_oid, sizeof(behind[i].short_oid), "%07zx", 0x7e7e7e0 + i);
		snprintf(behind[i].author, sizeof(behind[i].author), "Ann Operator");
		snprintf(behind[i].summary, sizeof(behind[i].summary), "hotfix %zu on production",
		         2 - i);
	}
	c.behind = behind;
	c.n_behind = 2;
	c.n_files = c.files_total = 2;
	c.lines_added = 52;
	c.lines_deleted = 3;
	c.n_resources = 0;
	size(100, 36);
	es_ui_draw(&ui);
	dlg = promotion_dialog(&c, "7e7e7e1aa");
	es_dialog_draw(dlg);
	expect_screen("dialog-promote-rollback-100x36");
	ok(screen_contains("Not a fast-forward") && screen_contains("only in 7e7e7e1") &&
	           screen_contains("hotfix 1 on production"),
	   "a target that is not an ancestor is no fast-forward, with the commits on each side");
	ok(screen_contains("Template resources: none changed in template.yaml"),
	   "a template without changed resources says so");
	es_dialog_free(dlg);

	memset(&c, 0, sizeof(c));
	c.first = true;
	c.n_resources = 3;
	c.resources = res;
	dlg = promotion_dialog(&c, "");
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	ok(screen_contains("First release to production: it runs nothing yet; 9c1e2f0 will be") &&
	           screen_contains("(template.yaml): 3 to create") &&
	           !screen_contains("files changed"),
	   "a stage that runs nothing yet gets its first release");
	es_dialog_free(dlg);
}

/* A change set as CloudFormation lists it: action, logical id, type and
 * Replacement (True / Conditional / False, "-" for Add and Remove), column
 * widths from the content, a logical id too long for the screen shortened
 * with an ellipsis, and a set longer than the screen that scrolls. */
static void change_set_table(void)
{
	static const char *const rows[][4] = {
	        {"Modify", "LambdaEdgeFunctionSample", "AWS::Lambda::Function", "True"},
	        {"Modify", "LambdaEdgeFunctionSampleVersion0a1b2c3d4e", "AWS::Lambda::Version",
	         "Conditional"},
	        {"Modify", "LambdaEdgeFunctionSampleAliaslive", "AWS::Lambda::Alias",
	         "Conditional"},
	        {"Modify", "CFDistribution", "AWS::CloudFront::Distribution", "False"},
	        {"Add", "OriginRequestLoggingBucketForTheStagingDistributionOfTheEdgeDemoApp0f9e8d",
	         "AWS::S3::Bucket", NULL},
	        {"Remove", "OldRole", "AWS::IAM::Role", NULL},
	};
	struct es_dialog *dlg = es_dialog_new(ES_DLG_YES_ENTER, "deploy to staging: change set",
	                                      "Execute the change set (26 changes)?", NULL, NULL);
	char id[64];

	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
		es_dialog_change(dlg, rows[i][0], rows[i][1], rows[i][2], rows[i][3]);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "Parameter%02dSsm", i);
		es_dialog_change(dlg, "Add", id, "AWS::SSM::Parameter", NULL);
	}
	es_dialog_arm(dlg);
	size(100, 30);
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	expect_screen("dialog-change-set-table-100x30");
	ok(screen_contains("Action  Logical ID") && screen_contains("Replacement") &&
	           screen_contains(" True") && screen_contains(" Conditional") &&
	           screen_contains(" False"),
	   "the change-set table has a Replacement column with True, Conditional and False");
	ok(screen_contains("OriginRequestLoggingBucke\u2026emoApp0f9e8d") &&
	           !screen_contains("TheEdgeDemoApp0f9e8d"),
	   "a logical id too long for the screen is shortened with an ellipsis");
	ok(!screen_contains("Parameter19Ssm") && screen_contains("lines 1-"),
	   "a long change set shows its first screenful and says there is more");
	es_dialog_key(dlg, KEY_END);
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	ok(screen_contains("Parameter19Ssm") && !screen_contains("LambdaEdgeFunctionSample ") &&
	           screen_contains("Action  Logical ID"),
	   "End scrolls to the last change; the header row stays");
	es_dialog_key(dlg, KEY_HOME);
	es_dialog_key(dlg, KEY_NPAGE);
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	ok(!screen_contains("CFDistribution") && screen_contains("Parameter1"),
	   "PgDn moves a screenful down");
	es_dialog_key(dlg, 'y');
	es_dialog_key(dlg, '\n');
	ok(dlg->done && dlg->ok, "scrolling keys do not answer the question; y then Enter does");
	es_dialog_free(dlg);
}

/* Production Deployed while most sampled edges answer the old release from
 * their cache (with and without an Age), the function itself new on each
 * (a cache-bypassing probe): the grid, the legend and the invalidate hint. */
static void cached_edges(void)
{
	struct es_stage_view *p = fixtures_stage(1);
	struct es_stage_view saved = *p;
	static const struct {
		const char *pop;
		enum es_edge_state st;
		long age;
	} e[] = {
	        {"FRA56-P1", ES_EDGE_NEW, -1},          {"IAD89-P1", ES_EDGE_CACHED_OLD, 45},
	        {"NRT57-P2", ES_EDGE_CACHED_OLD, 3720}, {"GRU3-P1", ES_EDGE_CACHED_OLD, -1},
	        {"SYD1-P1", ES_EDGE_UNREACHABLE, -1},   {"LHR61-P1", ES_EDGE_ERROR, -1},
	};

	p->propagation = ES_PROP_DEPLOYED;
	p->n_edges = p->edges_new = p->edges_cached_old = p->edges_fn_new = 0;
	p->edges_bypassed = true;
	for (size_t i = 0; i < sizeof(e) / sizeof(*e); i++) {
		struct es_edge_sample *s = &p->edges[p->n_edges++];
		memset(s, 0, sizeof(*s));
		snprintf(s->pop, sizeof(s->pop), "%s", e[i].pop);
		s->state = e[i].st;
		s->age_s = e[i].age;
		s->status = e[i].st == ES_EDGE_UNREACHABLE ? 0
		            : e[i].st == ES_EDGE_ERROR     ? 503
		                                           : 200;
		s->is_new = e[i].st == ES_EDGE_NEW;
		s->bypassed = s->status != 0;
		s->fn_state = s->status == 200 ? ES_EDGE_NEW : ES_EDGE_ERROR;
		p->edges_new += s->is_new;
		p->edges_cached_old += e[i].st == ES_EDGE_CACHED_OLD;
		p->edges_fn_new += s->fn_state == ES_EDGE_NEW;
	}
	size(100, 30);
	ui.focus = ES_PANE_PROPAGATION;
	ui.stage_sel = 1;
	es_ui_draw(&ui);
	expect_screen("propagation-cached-100x30");
	ok(screen_contains("~ IAD89 cached 45s") && screen_contains("fn new") &&
	           screen_contains("~ GRU3  cached "),
	   "cached-old edges show ~, the age of their object and the function's state");
	ok(screen_contains("3 edges still answer from cache \u2014 I invalidates") &&
	           screen_contains("~ cached-old"),
	   "Deployed with cached edges: the pane says I invalidates, the legend names ~");
	ui.stage_sel = 0;
	*p = saved;
}

/* The ledger of an application never deployed: the bucket is not there. */
static const struct es_record_list *no_bucket_records(const void *ctx)
{
	static struct es_record_list none = {.no_bucket = true};

	(void)ctx;
	return &none;
}

/* The bucket exists but holds no record. */
static const struct es_record_list *empty_records(const void *ctx)
{
	static struct es_record_list none;

	(void)ctx;
	return &none;
}

int main(void)
{
	FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");

	setenv("TZ", "UTC", 1);
	tzset();
	if (!setlocale(LC_ALL, "C.UTF-8"))
		setlocale(LC_ALL, "");
	setenv("COLUMNS", "120", 1);
	setenv("LINES", "36", 1);
	if (!out || !in || !newterm("xterm", out, in)) {
		printf("1..0 # SKIP no terminfo for xterm\n");
		return 0;
	}
	/* in colour: the .attr goldens see the colour pairs too */
	es_theme_defaults(false);
	es_theme_apply();
	fixtures_fill(&ui, &km);

	size(120, 36);
	es_ui_draw(&ui);
	expect_screen("wide-120x36");
	ok(!screen_contains("\x1b") && screen_contains("Evil  ]0;title  message"),
	   "escape sequences in commit messages are stripped");
	ok(screen_contains("S\u2713 \u2192P Serve a 404 page") &&
	           screen_contains("P\u2717    Add security headers"),
	   "history marks the commit each stage runs with its tag and validation outcome");
	ok(screen_contains("\u2192P"), "history marks the commit waiting for promotion");
	/* a theme regression: the same screen in other colours no longer matches */
	es_theme_defaults(true);
	es_theme_apply();
	es_ui_draw(&ui);
	ok(!attrs_match("wide-120x36"), "a change of colours fails the golden's attributes");
	es_theme_defaults(false);
	es_theme_apply();
	es_ui_draw(&ui);
	ok(attrs_match("wide-120x36"), "and the theme back in place matches it again");

	size(160, 48);
	ui.focus = ES_PANE_STAGES;
	es_ui_draw(&ui);
	expect_screen("wide-160x48-stages");

	size(80, 24);
	ui.focus = ES_PANE_PROPAGATION;
	es_ui_draw(&ui);
	expect_screen("narrow-80x24-propagation");

	ui.focus = ES_PANE_VALIDATION;
	es_ui_draw(&ui);
	expect_screen("narrow-80x24-validation");

	size(50, 12);
	es_ui_draw(&ui);
	expect_screen("too-small-50x12");
	ok(screen_contains("needs at least 60x16"), "below the minimum size a message says so");

	/* read-only, offline and a message on the status line */
	size(100, 30);
	ui.focus = ES_PANE_HISTORY;
	ui.read_only = true;
	fixtures_set_connection("offline: retrying in 8s (cannot reach 127.0.0.1:5000)");
	snprintf(ui.message, sizeof(ui.message),
	         "deploy is off: edgeship was started with --read-only");
	ui.message_error = true;
	es_ui_draw(&ui);
	expect_screen("readonly-offline-100x30");
	ok(screen_contains("READ-ONLY") && screen_contains("offline: retrying in 8s"),
	   "read-only flag and offline note are shown");
	ui.read_only = false;
	fixtures_set_connection("");
	ui.message[0] = 0;

	/* help from the request table */
	size(100, 40);
	struct es_pager *help = es_pager_help(&ui, &km, false);
	es_ui_draw(&ui);
	es_pager_draw(help);
	expect_screen("help-100x40");
	ok(screen_contains("  y                  copy") &&
	           screen_contains("  o                  open-url") &&
	           screen_contains("  L                  ledger"),
	   "help lists y, o and L from the request table");
	es_pager_free(help);

	/* the ledger view (L): the selected stage, newest first; t: every stage */
	size(120, 36);
	struct es_ledger_view *lv = es_ledger_view_new(
	        &ui, (struct es_ledger_source){.records = fixtures_records}, "staging");
	es_ui_draw(&ui);
	es_ledger_view_draw(lv);
	expect_screen("ledger-staging-120x36");
	ok(screen_contains("staging, 4 records") && screen_contains("all 2 checks passed") &&
	           !screen_contains("rollback"),
	   "the ledger view shows the selected stage's records only");
	ok(screen_contains("WHEN") && screen_contains("OUTCOME") && screen_contains("WHY"),
	   "the ledger view has column headings");
	es_ledger_view_toggle_all(lv);
	es_ui_draw(&ui);
	es_ledger_view_draw(lv);
	expect_screen("ledger-all-120x36");
	ok(screen_contains("all stages, 7 records") && screen_contains("rollback") &&
	           screen_contains("open"),
	   "t shows every stage's records, an open intent as open");
	ok(screen_contains("Resource hand\u2026"), "a long message is cut with an ellipsis");
	size(160, 48);
	es_ui_draw(&ui);
	es_ledger_view_draw(lv);
	ok(!screen_contains("\x1b") && screen_contains("message: \" [31mRate exc"),
	   "escape sequences in an AWS message are stripped");
	size(80, 24);
	es_ui_draw(&ui);
	es_ledger_view_draw(lv);
	expect_screen("ledger-all-80x24");
	ok(screen_contains("bob") && !screen_contains("COMMIT"),
	   "at 80 columns the commit column gives way");
	lv->view.cursor = 1;
	struct es_pager *rec = es_ledger_view_record(lv);
	ok(rec && !strcmp(rec->title, "ledger record #46"), "Enter opens the newest record");
	if (rec) {
		es_ui_draw(&ui);
		es_pager_draw(rec);
		ok(screen_contains("\"kind\": \"rollback\"") &&
		           screen_contains("who:    arn:aws:iam"),
		   "the record is shown whole");
		es_pager_free(rec);
	}
	es_ledger_view_free(lv);

	/* a fresh application: no bucket yet, so no record at all */
	size(120, 36);
	lv = es_ledger_view_new(&ui, (struct es_ledger_source){.records = no_bucket_records},
	                        "staging");
	es_ui_draw(&ui);
	es_ledger_view_draw(lv);
	expect_screen("ledger-fresh-120x36");
	ok(screen_contains("no releases recorded yet: the artifact bucket does not exist yet "
	                   "(the first deploy creates it)"),
	   "an empty ledger with no bucket says no releases yet, as status does");
	es_ledger_view_free(lv);
	lv = es_ledger_view_new(&ui, (struct es_ledger_source){.records = empty_records},
	                        "staging");
	es_ui_draw(&ui);
	es_ledger_view_draw(lv);
	ok(screen_contains("no releases recorded yet: the first deploy records one"),
	   "an empty ledger in an existing bucket says no releases yet");
	es_ledger_view_free(lv);

	/* key hints on the status line follow the focused pane */
	size(160, 48);
	ui.focus = ES_PANE_STAGES;
	es_ui_draw(&ui);
	ok(screen_contains("y:copy o:open L:ledger ?:help"), "a stage pane hints y, o and L");
	ui.focus = ES_PANE_HISTORY;
	es_ui_draw(&ui);
	ok(screen_contains("y:copy L:ledger ?:help"), "History hints y and L");

	/* a change-set confirmation for production */
	size(120, 36);
	struct es_dialog *dlg = es_dialog_new(
	        ES_DLG_TYPE, "deploy to production: change set",
	        "Execute the change set?  Type \"production\" to execute:", NULL, NULL);
	snprintf(dlg->expect, sizeof(dlg->expect), "production");
	es_dialog_body(dlg, "~ Modify  Fn                               AWS::Lambda::Function");
	es_dialog_body(dlg, "+ Add     FnVersion1a2b3c                  AWS::Lambda::Version");
	es_dialog_body(dlg,
	               "~ Modify  Distribution                     AWS::CloudFront::Distribution");
	es_dialog_body(
	        dlg, "! Modify  FnAliaslive                      AWS::Lambda::Alias  REPLACEMENT");
	es_dialog_arm(dlg);
	es_dialog_key(dlg, 'p');
	es_dialog_key(dlg, 'r');
	es_dialog_key(dlg, '\n');
	ok(!dlg->done && dlg->note[0], "a wrong stage name does not confirm");
	for (const char *c = "production"; *c; c++)
		es_dialog_key(dlg, *c);
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	expect_screen("dialog-production-120x36");
	es_dialog_key(dlg, '\n');
	ok(dlg->done && dlg->ok, "typing the stage name confirms");
	es_dialog_free(dlg);

	dlg = es_dialog_new(ES_DLG_CONFIRM, "Deploy to staging", "Deploy?", NULL, NULL);
	es_dialog_arm(dlg);
	es_dialog_key(dlg, '\n');
	ok(dlg->done && !dlg->ok, "Enter at a confirmation means No");
	es_dialog_free(dlg);

	/* keys typed before a question is drawn never answer it */
	dlg = es_dialog_new(ES_DLG_CONFIRM, "Deploy to staging",
	                    "Prepare a deploy of 1a2b3c4 to staging?", NULL, NULL);
	ok(!es_dialog_key(dlg, 'y') && !dlg->done && dlg->ignored == 1,
	   "an unarmed confirmation drops y");
	ok(!es_dialog_key(dlg, 27) && !dlg->done && dlg->ignored == 2,
	   "an unarmed confirmation drops Esc too");
	es_ui_draw(&ui);
	ok(es_dialog_draw(dlg), "the dialog is drawn at 120x36");
	expect_screen("dialog-typed-ahead-120x36");
	ok(screen_contains("2 keys typed before this question was shown were ignored"),
	   "the question says that keys typed ahead were ignored");
	es_dialog_arm(dlg);
	ok(es_dialog_key(dlg, 'y') && dlg->ok, "once armed, y answers it");
	es_dialog_free(dlg);

	dlg = es_dialog_new(ES_DLG_TYPE, "Roll staging back", "Type \"staging\" to go on:", NULL,
	                    NULL);
	snprintf(dlg->expect, sizeof(dlg->expect), "staging");
	for (const char *c = "staging\n"; *c; c++)
		es_dialog_key(dlg, *c);
	ok(!dlg->done && !dlg->input[0], "a stage name typed ahead is neither typed nor confirmed");
	es_dialog_free(dlg);

	/* executing a change set: y selects Yes, Enter confirms */
	size(100, 30);
	dlg = es_dialog_new(ES_DLG_YES_ENTER, "deploy to staging: change set",
	                    "Execute change set es-1a2b3c4d5e6f on stack edge-app-staging?", NULL,
	                    NULL);
	es_dialog_body(dlg, "~ Modify  Fn                               AWS::Lambda::Function");
	es_dialog_body(dlg, "+ Add     FnVersion1a2b3c                  AWS::Lambda::Version");
	es_dialog_body(dlg,
	               "~ Modify  Distribution                     AWS::CloudFront::Distribution");
	es_dialog_key(dlg, 'y');
	es_dialog_key(dlg, '\n');
	ok(!dlg->done && !dlg->yes, "y and Enter typed ahead neither select nor execute");
	es_dialog_arm(dlg);
	dlg->note[0] = 0;
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	expect_screen("dialog-change-set-no-100x30");
	ok(screen_contains("[*] No") && screen_contains("[ ] Yes"), "No is selected at first");
	ok(!es_dialog_key(dlg, 'y') && !dlg->done && dlg->yes, "a single y only selects Yes");
	es_ui_draw(&ui);
	es_dialog_draw(dlg);
	expect_screen("dialog-change-set-yes-100x30");
	ok(screen_contains("[*] Yes") && screen_contains("Enter: yes, execute"),
	   "Yes is shown selected with what Enter does");
	ok(es_dialog_key(dlg, '\n') && dlg->ok, "y then Enter executes");
	es_dialog_free(dlg);

	static const struct {
		const char *keys, *what;
	} no_answers[] = {
	        {"\n", "Enter alone is No"},   {"n", "n is No"},
	        {"\x1b", "Esc is No"},         {"yn", "y then n is No"},
	        {"y\x1b", "y then Esc is No"},
	};
	for (size_t i = 0; i < sizeof(no_answers) / sizeof(no_answers[0]); i++) {
		dlg = es_dialog_new(ES_DLG_YES_ENTER, "deploy to staging: change set", "Execute?",
		                    NULL, NULL);
		es_dialog_arm(dlg);
		for (const char *k = no_answers[i].keys; *k && !dlg->done; k++)
			es_dialog_key(dlg, (unsigned char)*k);
		ok(dlg->done && !dlg->ok, no_answers[i].what);
		es_dialog_free(dlg);
	}

	/* search moves the cursor */
	ui.focus = ES_PANE_HISTORY;
	ui.views[ES_PANE_HISTORY].cursor = 0;
	ok(es_view_search(&ui.views[ES_PANE_HISTORY], "security", 1) &&
	           ui.views[ES_PANE_HISTORY].cursor == 3,
	   "search finds a commit by its summary");
	ok(es_view_search(&ui.views[ES_PANE_HISTORY], "ALICE", 1) &&
	           ui.views[ES_PANE_HISTORY].cursor == 4,
	   "n finds the next match, case-insensitive, by author");

	/* Five stages at every size: each stage on a line of its own, the
	 * selected one expanded, the header shortened part by part. */
	static const struct {
		int cols, lines;
		const char *golden;
	} five[] = {
	        {60, 16, "five-60x16"},
	        {80, 24, "five-80x24"},
	        {100, 30, "five-100x30"},
	        {160, 48, "five-160x48"},
	};
	static const char *const five_names[] = {"staging", "production", "production-eu",
	                                         "canary-us", "sandbox"};
	fixtures_set_stages(5);
	ui.focus = ES_PANE_HISTORY;
	ui.stage_sel = 0;
	ui.views[ES_PANE_HISTORY].cursor = 0;
	for (size_t k = 0; k < sizeof(five) / sizeof(five[0]); k++) {
		char what[160];
		size(five[k].cols, five[k].lines);
		es_ui_draw(&ui);
		expect_screen(five[k].golden);
		bool all = true;
		for (size_t i = 0; i < 5; i++)
			all = all && screen_contains(five_names[i]);
		snprintf(what, sizeof(what), "%dx%d: every stage is on the screen", five[k].cols,
		         five[k].lines);
		ok(all, what);
		char *title = screen_line(0);
		snprintf(what, sizeof(what),
		         "%dx%d: the header keeps the region whole and cuts no word without an "
		         "ellipsis",
		         five[k].cols, five[k].lines);
		/* each part whole or left out: the region always there */
		ok(strstr(title, "us-east-1") &&
		           (!strstr(title, "127.0") || strstr(title, "127.0.0.1:5000")) &&
		           (!strstr(title, "arn:") ||
		            strstr(title,
		                   "arn:aws:sts::123456789012:assumed-role/release/alice")) &&
		           strstr(title, "alice"),
		   what);
		free(title);
	}
	/* at 80x24 the selected stage shows its propagation and validation */
	size(80, 24);
	es_ui_draw(&ui);
	ok(screen_contains("FRA56") && screen_contains("passed"),
	   "80x24: the selected stage shows its edges and its validation");
	ok(screen_contains("UPDATE_ROLLBACK_COMPLETE") && screen_contains("Add security headers"),
	   "80x24: a long stack status and a subject behind four markers are whole");
	/* the focus on Validation puts the selected stage's checks first */
	ui.focus = ES_PANE_VALIDATION;
	es_view_request(&ui.views[ES_PANE_VALIDATION], ES_REQ_MOVE_DOWN);
	es_ui_draw(&ui);
	expect_screen("five-80x24-production-validation");
	ok(es_ui_selected_stage(&ui) == 1 && screen_contains("expected 200, got 503"),
	   "moving in Validation selects production and shows its failed check");
	size(60, 16);
	es_ui_draw(&ui);
	ok(screen_contains("UPDATE_ROLLBACK_COMPL\u2026"),
	   "60x16: a stack status too long for its column ends in an ellipsis");

	/* Twelve stages: one selection for every stage pane, and the stage
	 * list scrolls as one. */
	fixtures_set_stages(12);
	ui.stage_sel = 0;
	ui.focus = ES_PANE_PROPAGATION;
	size(80, 24);
	for (int i = 0; i < 9; i++)
		es_view_request(&ui.views[ES_PANE_PROPAGATION], ES_REQ_MOVE_DOWN);
	es_ui_draw(&ui);
	expect_screen("twelve-80x24");
	ok(es_ui_selected_stage(&ui) == 9 && screen_contains("eu-lab") && screen_contains("10/12"),
	   "twelve stages at 80x24: the tenth is selected and in sight, the list says where");
	ok(es_view_stage_of(&ui.views[ES_PANE_STAGES], ui.views[ES_PANE_STAGES].cursor) == 9,
	   "moving in Propagation moved the Stages pane's selection");
	size(160, 48);
	es_ui_draw(&ui);
	expect_screen("twelve-160x48");
	ok(es_view_stage_of(&ui.views[ES_PANE_VALIDATION], ui.views[ES_PANE_VALIDATION].cursor) ==
	                   9 &&
	           es_view_stage_of(&ui.views[ES_PANE_STAGES], ui.views[ES_PANE_STAGES].cursor) ==
	                   9,
	   "twelve stages at 160x48: every stage pane shows the one selected stage");
	ok(screen_contains("preview-environment\u2026"),
	   "a stage name longer than its column ends in an ellipsis");
	es_view_request(&ui.views[ES_PANE_STAGES], ES_REQ_MOVE_LAST);
	ok(es_ui_selected_stage(&ui) == 11, "End in the Stages pane selects the last stage");
	fixtures_set_stages(2);
	ui.stage_sel = 0;

	/* The panes read the source when they draw: what changes behind it
	 * (a poll, a new activity line) shows at the next draw, nothing to
	 * copy in between. */
	size(160, 48);
	ui.focus = ES_PANE_STAGES;
	es_ui_draw(&ui);
	ok(!screen_contains("staging    UPDATE_IN_PROGRESS") &&
	           !screen_contains("edge location FRA56"),
	   "before the change the screen does not show it");
	struct es_stage_view *st = fixtures_stage(0);
	char saved[64];
	snprintf(saved, sizeof(saved), "%s", st->stack_status);
	snprintf(st->stack_status, sizeof(st->stack_status), "UPDATE_IN_PROGRESS");
	fixtures_log(ui.now - 1, ES_ACT_EVENT, "staging: edge location FRA56 serves version 8");
	es_ui_draw(&ui);
	ok(screen_contains("staging    UPDATE_IN_PROGRESS") &&
	           screen_contains("edge location FRA56"),
	   "a changed stage and a new activity line show at the next draw");
	snprintf(st->stack_status, sizeof(st->stack_status), "%s", saved);

	cached_edges();
	change_set_table();
	promotion_question();

	endwin();
	printf("1..%d\n", n_tests);
	return n_failed ? 1 : 0;
}
