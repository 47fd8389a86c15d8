/* The account an action ran in, taken from who acted, for every ledger
 * record (a file of its own: both the ledger and the accounts use it). */
#include "config.h"

#include <jansson.h>
#include <string.h>

#include "ledger.h"

void es_ledger_note_account(json_t *record, const char *who)
{
	const char *p = who;

	if (!record || !who || json_object_get(record, "account"))
		return;
	/* arn:PARTITION:sts::ACCOUNT:… (or iam::) */
	for (int i = 0; i < 4 && p; i++)
		if ((p = strchr(p, ':')))
			p++;
	if (!p)
		return;
	size_t n = strcspn(p, ":");
	if (n == 12)
		json_object_set_new(record, "account", json_stringn(p, n));
}
