/* checkin.c: names of verdicts, directions and re-entry rules (checkin.h). */
#include "sync/checkin.h"

#include <string.h>

static const char *const verdict_names[ADM_VERDICT__MAX] = {
    [ADM_VERDICT_ACCEPT] = "accept",           [ADM_VERDICT_ALREADY_USED] = "already_used",
    [ADM_VERDICT_REVOKED] = "revoked",         [ADM_VERDICT_WRONG_EVENT] = "wrong_event",
    [ADM_VERDICT_WRONG_GATE] = "wrong_gate",   [ADM_VERDICT_NOT_YET_VALID] = "not_yet_valid",
    [ADM_VERDICT_EXPIRED] = "expired",         [ADM_VERDICT_BAD_SIGNATURE] = "bad_signature",
    [ADM_VERDICT_UNKNOWN_KEY] = "unknown_key", [ADM_VERDICT_MALFORMED] = "malformed",
    [ADM_VERDICT_NOT_INSIDE] = "not_inside",
};
static const char *const direction_names[] = {"entry", "exit"};
static const char *const reentry_names[ADM_REENTRY__MAX] = {"once", "after_exit", "unlimited"};

#define NAME_OF(table, n, v) ((unsigned)(v) < (n) ? (table)[v] : "unknown")

const char *adm_verdict_name(adm_verdict_t v)
{
    return NAME_OF(verdict_names, ADM_VERDICT__MAX, v);
}

const char *adm_direction_name(adm_direction_t d)
{
    return NAME_OF(direction_names, 2u, d);
}

const char *adm_reentry_name(adm_reentry_t r)
{
    return NAME_OF(reentry_names, ADM_REENTRY__MAX, r);
}

static int find(const char *const *table, int n, const char *s)
{
    for (int i = 0; s != NULL && i < n; i++)
        if (strcmp(s, table[i]) == 0)
            return i;
    return -1;
}

bool adm_verdict_parse(const char *s, adm_verdict_t *out)
{
    int i = find(verdict_names, ADM_VERDICT__MAX, s);
    if (i >= 0)
        *out = (adm_verdict_t)i;
    return i >= 0;
}

bool adm_direction_parse(const char *s, adm_direction_t *out)
{
    int i = find(direction_names, 2, s);
    if (i >= 0)
        *out = (adm_direction_t)i;
    return i >= 0;
}

bool adm_reentry_parse(const char *s, adm_reentry_t *out)
{
    int i = find(reentry_names, ADM_REENTRY__MAX, s);
    if (i >= 0)
        *out = (adm_reentry_t)i;
    return i >= 0;
}
