/* checkin.h: the vocabulary of check-ins shared by every hop of sync
 * (docs/sync.md): verdicts, scan directions and check-in list re-entry
 * rules, with their stable wire names. The gate engine (scanner/) decides
 * verdicts with them; admitd (server/) stores and counts them. Not the
 * verdict logic itself. */
#ifndef ADM_CHECKIN_H
#define ADM_CHECKIN_H

#include <stdbool.h>

/* Verdicts. On the wire and in every store by name, never by number. */
typedef enum adm_verdict {
    ADM_VERDICT_ACCEPT = 0,
    ADM_VERDICT_ALREADY_USED,  /* entry refused by the list's re-entry rule */
    ADM_VERDICT_REVOKED,       /* revoked, refunded or blocked ticket */
    ADM_VERDICT_WRONG_EVENT,   /* token for another event */
    ADM_VERDICT_WRONG_GATE,    /* ticket type not admitted on this check-in list */
    ADM_VERDICT_NOT_YET_VALID, /* now < valid_from */
    ADM_VERDICT_EXPIRED,       /* now > valid_until */
    ADM_VERDICT_BAD_SIGNATURE, /* signature does not verify */
    ADM_VERDICT_UNKNOWN_KEY,   /* key id unknown or retired */
    ADM_VERDICT_MALFORMED,     /* not a token (prefix, Base45, length, fields, size) */
    ADM_VERDICT_NOT_INSIDE,    /* exit scan of a ticket that is not inside */
    ADM_VERDICT__MAX
} adm_verdict_t;

typedef enum adm_direction { ADM_DIRECTION_ENTRY = 0, ADM_DIRECTION_EXIT = 1 } adm_direction_t;

/* Per check-in list re-entry rule. */
typedef enum adm_reentry {
    ADM_REENTRY_ONCE = 0,       /* one entry, ever (unless the ticket has ADM_TICKET_REENTRY) */
    ADM_REENTRY_AFTER_EXIT = 1, /* entry again only after an exit scan */
    ADM_REENTRY_UNLIMITED = 2,  /* every entry accepted */
    ADM_REENTRY__MAX
} adm_reentry_t;

/* Stable lower-case names ("accept", "already_used", ...; "entry", "exit";
 * "once", "after_exit", "unlimited"); "unknown" out of range. */
const char *adm_verdict_name(adm_verdict_t v);
const char *adm_direction_name(adm_direction_t d);
const char *adm_reentry_name(adm_reentry_t r);

/* The value named s into *out; false (and *out untouched) for NULL or an
 * unknown name. */
bool adm_verdict_parse(const char *s, adm_verdict_t *out);
bool adm_direction_parse(const char *s, adm_direction_t *out);
bool adm_reentry_parse(const char *s, adm_reentry_t *out);

#endif
