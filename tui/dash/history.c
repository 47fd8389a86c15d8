/* The History pane's commits, read from git in idle slices so the first
 * frame never waits for a long history, straight into core's compact
 * commit list. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "dash.h"

#define HISTORY_SLICE 200

/* The commit selected before a reload, once it is read again: selected. */
static void reselect(struct es_dash *d, size_t from, size_t to)
{
	struct es_commit_row row;

	for (size_t i = from; d->hist_keep[0] && i < to; i++) {
		es_commit_list_get(d->history.commits, i, &row);
		if (strcmp(row.oid, d->hist_keep) != 0)
			continue;
		struct es_view *v = &d->ui.views[ES_PANE_HISTORY];
		v->cursor = i;
		if (v->cursor >= v->offset + (size_t)(v->height > 0 ? v->height : 1))
			v->offset = v->cursor;
		d->hist_keep[0] = '\0';
	}
}

static bool history_slice(struct es_loop *loop, void *ud)
{
	struct es_dash *d = ud;
	size_t before = es_history_list_count(&d->history), added = 0;
	int rc;

	(void)loop;
	if (!d->hist_iter)
		return false;
	if (!d->history.commits && !(d->history.commits = es_commit_list_new()))
		rc = es_fail(ES_ENOMEM, "out of memory");
	else
		rc = es_history_read(d->hist_iter, d->history.commits, HISTORY_SLICE, &added);
	reselect(d, before, before + added);
	/* redraw while the visible part fills, then now and then for the count */
	if (before + added < 400 || ++d->history_slices % 10 == 0 || rc)
		d->dirty = true;
	if (rc == ES_OK)
		return true;
	if (rc != ES_ENOTFOUND) {
		char line[1400];
		snprintf(d->history.error, sizeof(d->history.error), "history: %s",
		         es_error_format(es_error_last(), line, sizeof(line)));
	}
	es_history_close(d->hist_iter);
	d->hist_iter = NULL;
	d->history.loading = false;
	if (d->timing) {
		/* the benchmark reads when the whole history was in, and the
		 * processor time it took (on a busy machine, far less) */
		struct timespec cpu = {0};
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		fprintf(d->timing, "history-loaded %lld ms %zu commits cpu %lld ms\n",
		        (long long)(es_loop_now_ms() - d->start_ms), before + added,
		        (long long)cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000);
		fflush(d->timing);
	}
	return false;
}
void es_dash_reload_history(struct es_dash *d)
{
	const struct es_hist_commit *sel = es_ui_selected_commit(&d->ui);

	snprintf(d->hist_keep, sizeof(d->hist_keep), "%s",
	         sel && d->ui.views[ES_PANE_HISTORY].cursor > 0 ? sel->oid : "");
	if (es_repo_head_stamp(d->repo, d->head_stamp, sizeof(d->head_stamp)) != ES_OK)
		d->head_stamp[0] = '\0';
	if (d->hist_iter) {
		es_loop_idle_cancel(d->loop, history_slice, d);
		es_history_close(d->hist_iter);
		d->hist_iter = NULL;
	}
	es_history_list_free(&d->history);
	d->ui.views[ES_PANE_HISTORY].cursor = d->ui.views[ES_PANE_HISTORY].offset = 0;
	if (es_history_open(d->repo, NULL, &d->hist_iter) != ES_OK) {
		char line[1400];
		snprintf(d->history.error, sizeof(d->history.error), "%s",
		         es_error_format(es_error_last(), line, sizeof(line)));
		d->hist_iter = NULL;
		return;
	}
	d->history.loading = true;
	es_loop_idle(d->loop, history_slice, d);
}

void es_dash_watch_history(struct es_dash *d)
{
	char now[sizeof(d->head_stamp)];

	if (!d->repo || es_repo_head_stamp(d->repo, now, sizeof(now)) != ES_OK ||
	    strcmp(now, d->head_stamp) == 0)
		return;
	es_dash_log(d, ES_ACT_INFO,
	            "the repository changed (HEAD or a branch moved): history reloaded");
	es_dash_reload_history(d);
	d->dirty = true;
}
