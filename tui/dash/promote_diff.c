/* The promotion question's account of what changes: commits newest first,
 * files with their line counts as git diff --stat gives them, and the
 * template's resources; every list cut short with a count of the rest. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dash/promote_diff.h"
#include "dash/screen.h"

/* s cut to w columns and padded with spaces to w, into out. */
static const char *column(char *out, size_t len, const char *s, int w)
{
	size_t n;

	es_scr_fit(out, len, s, w);
	n = strlen(out);
	for (int cols = es_scr_width(out); cols < w && n + 1 < len; cols++)
		out[n++] = ' ';
	out[n] = '\0';
	return out;
}

static void commit_lines(struct es_dialog *dlg, const struct es_commit_info *cs, size_t n,
                         bool more)
{
	char author[64], summary[256];
	size_t shown = n < ES_PROMOTE_SHOW_COMMITS ? n : ES_PROMOTE_SHOW_COMMITS;

	for (size_t i = 0; i < shown; i++)
		es_dialog_bodyf(dlg, "  %s %s %s", cs[i].short_oid,
		                column(author, sizeof(author), cs[i].author, 14),
		                es_scr_fit(summary, sizeof(summary), cs[i].summary, 50));
	if (n > shown)
		es_dialog_bodyf(dlg, "  \u2026 and %zu%s more", n - shown, more ? "+" : "");
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void commits(struct es_dialog *dlg, const struct es_repo_compare *c, const char *stage,
                    const char *now, const char *next)
{
	if (c->fast_forward) {
		es_dialog_bodyf(dlg, "%zu%s %s from %.7s to %.7s, newest first:", c->n_ahead,
		                c->ahead_more ? "+" : "", plural(c->n_ahead, "commit", "commits"),
		                now, next);
		commit_lines(dlg, c->ahead, c->n_ahead, c->ahead_more);
		return;
	}
	es_dialog_bodyf(dlg,
	                "Not a fast-forward: %.7s, which %s runs now, is not an ancestor of "
	                "%.7s (a rollback, or another branch).",
	                now, stage, next);
	es_dialog_bodyf(dlg, "%zu%s %s only in %.7s (coming):", c->n_ahead,
	                c->ahead_more ? "+" : "", plural(c->n_ahead, "commit", "commits"), next);
	commit_lines(dlg, c->ahead, c->n_ahead, c->ahead_more);
	es_dialog_bodyf(dlg, "%zu%s %s only in %.7s (%s leaves them):", c->n_behind,
	                c->behind_more ? "+" : "", plural(c->n_behind, "commit", "commits"), now,
	                stage);
	commit_lines(dlg, c->behind, c->n_behind, c->behind_more);
}

static void files(struct es_dialog *dlg, const struct es_repo_compare *c)
{
	size_t shown = c->n_files < ES_PROMOTE_SHOW_FILES ? c->n_files : ES_PROMOTE_SHOW_FILES;
	char path[256];

	es_dialog_bodyf(dlg,
	                "%zu %s changed, %zu%s insertions(+), %zu deletions(-):", c->files_total,
	                plural(c->files_total, "file", "files"), c->lines_added,
	                c->n_files < c->files_total ? "+" : "", c->lines_deleted);
	for (size_t i = 0; i < shown; i++) {
		const struct es_file_stat *f = &c->files[i];
		column(path, sizeof(path), f->path, 44);
		if (f->binary)
			es_dialog_bodyf(dlg, "  %c %s | binary", f->status, path);
		else
			es_dialog_bodyf(dlg, "  %c %s | +%zu -%zu", f->status, path, f->added,
			                f->deleted);
	}
	if (c->files_total > shown)
		es_dialog_bodyf(dlg, "  \u2026 and %zu more", c->files_total - shown);
}

static void resources(struct es_dialog *dlg, const struct es_repo_compare *c,
                      const char *template_path)
{
	size_t shown = c->n_resources < ES_PROMOTE_SHOW_RESOURCES ? c->n_resources
	                                                          : ES_PROMOTE_SHOW_RESOURCES;
	char id[128], type[128];

	if (c->template_note[0]) {
		es_dialog_bodyf(dlg, "Template resources not compared: %s", c->template_note);
		return;
	}
	if (!c->n_resources) {
		es_dialog_bodyf(dlg, "Template resources: none changed in %s", template_path);
		return;
	}
	es_dialog_bodyf(dlg, "Template resources (%s): %zu changed", template_path, c->n_resources);
	for (size_t i = 0; i < shown; i++) {
		const struct es_resource_change *r = &c->resources[i];
		es_dialog_bodyf(dlg, "  %c %s %s", r->kind,
		                column(id, sizeof(id), r->logical_id, 32),
		                es_scr_fit(type, sizeof(type), r->type, 38));
	}
	if (c->n_resources > shown)
		es_dialog_bodyf(dlg, "  \u2026 and %zu more", c->n_resources - shown);
}

void es_promote_diff_body(struct es_dialog *dlg, const struct es_repo_compare *c, const char *stage,
                          const char *now, const char *next, const char *template_path)
{
	es_dialog_body(dlg, "");
	if (c->first) {
		es_dialog_bodyf(dlg,
		                "First release to %s: it runs nothing yet; %.7s will be its "
		                "first commit.",
		                stage, next);
		if (c->n_resources)
			es_dialog_bodyf(dlg, "Template resources (%s): %zu to create",
			                template_path, c->n_resources);
		return;
	}
	if (c->same) {
		es_dialog_bodyf(dlg, "%s already runs %.7s: no commits, files or resources change.",
		                stage, next);
		return;
	}
	commits(dlg, c, stage, now, next);
	es_dialog_body(dlg, "");
	files(dlg, c);
	es_dialog_body(dlg, "");
	resources(dlg, c, template_path);
}
