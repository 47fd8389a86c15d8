/* What a promotion changes, written into the promotion question: the
 * commits, files and template resources between what the stage runs now
 * and what it is about to run. */
#ifndef ES_PROMOTE_DIFF_H
#define ES_PROMOTE_DIFF_H

#include "dash/dialog.h"
#include "repo.h"

/* Lines shown of each list before "… and N more". */
enum { ES_PROMOTE_SHOW_COMMITS = 8, ES_PROMOTE_SHOW_FILES = 8, ES_PROMOTE_SHOW_RESOURCES = 12 };
/* Bounds of the comparison itself, so that it stays quick. */
enum { ES_PROMOTE_MAX_COMMITS = 200, ES_PROMOTE_MAX_FILES = 500 };

/* Add c (from es_repo_compare(now, next)) to dlg's body: stage is the
 * stage promoted to, now the commit it runs ("" when none), next the one
 * it will run, template_path the template compared. */
void es_promote_diff_body(struct es_dialog *dlg, const struct es_repo_compare *c, const char *stage,
                          const char *now, const char *next, const char *template_path);

#endif
