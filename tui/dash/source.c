/* The source the panes read the live data through (struct es_ui_source):
 * one place that turns "no source yet" into "nothing to show". */
#include "config.h"

#include "view.h"

size_t es_ui_stage_count(const struct es_ui *ui)
{
	return ui->source.stage_count ? ui->source.stage_count(ui->source.ctx) : 0;
}

const struct es_stage_view *es_ui_stage(const struct es_ui *ui, size_t i)
{
	if (!ui->source.stage || i >= es_ui_stage_count(ui))
		return NULL;
	return ui->source.stage(ui->source.ctx, i);
}

size_t es_ui_activity_count(const struct es_ui *ui)
{
	return ui->source.activity_count ? ui->source.activity_count(ui->source.ctx) : 0;
}

const struct es_activity *es_ui_activity(const struct es_ui *ui, size_t i)
{
	if (!ui->source.activity || i >= es_ui_activity_count(ui))
		return NULL;
	return ui->source.activity(ui->source.ctx, i);
}

const char *es_ui_connection(const struct es_ui *ui)
{
	const char *c = ui->source.connection ? ui->source.connection(ui->source.ctx) : NULL;

	return c ? c : "";
}
