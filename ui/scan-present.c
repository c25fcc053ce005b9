/* scan-present.c: verdict texts and colour classes for admit-scan
 * (docs/admit-scan.md "What the colours mean"). Not the verdict rules:
 * those are scanner/verdict.c. */
#include "ui/scan-present.h"

#include <string.h>

#include "sync/checkin.h"

const char *adm_scan_class_name(adm_scan_class_t c)
{
    switch (c) {
    case ADM_SCAN_CLASS_ADMIT:
        return "admit";
    case ADM_SCAN_CLASS_REFUSE:
        return "refuse";
    case ADM_SCAN_CLASS_ATTENTION:
        return "attention";
    }
    return "refuse";
}

char *adm_scan_format_time(int64_t at, int64_t now)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(at);
    g_autoptr(GDateTime) n = g_date_time_new_from_unix_local(now);

    if (t == NULL)
        return g_strdup("?");
    if (n != NULL && g_date_time_get_year(t) == g_date_time_get_year(n) &&
        g_date_time_get_day_of_year(t) == g_date_time_get_day_of_year(n))
        return g_date_time_format(t, "%H:%M:%S");
    return g_date_time_format(t, "%a %e %b %H:%M");
}

/* title and detail for each verdict and reason */
static void words(const adm_gate_result_t *r, adm_direction_t dir, const char **title,
                  const char **detail)
{
    const char *reason = r->reason != NULL ? r->reason : "";

    *detail = "";
    switch (r->verdict) {
    case ADM_VERDICT_ACCEPT:
        *title = dir == ADM_DIRECTION_EXIT ? "EXIT OK" : "ADMIT";
        *detail = r->attention ? "Special ticket: check with the holder" : "";
        return;
    case ADM_VERDICT_ALREADY_USED:
        *title = "ALREADY USED";
        *detail = strcmp(reason, "already_inside") == 0
                      ? "The holder is already inside: an exit was not scanned"
                      : "This ticket was used before";
        return;
    case ADM_VERDICT_REVOKED:
        if (strcmp(reason, "refunded") == 0) {
            *title = "REFUNDED";
            *detail = "This ticket was refunded and is no longer valid";
        } else if (strcmp(reason, "blocked") == 0) {
            *title = "BLOCKED";
            *detail = "The organiser blocked this ticket";
        } else {
            *title = "REVOKED";
            *detail = "The organiser cancelled this ticket";
        }
        return;
    case ADM_VERDICT_WRONG_EVENT:
        *title = "WRONG EVENT";
        *detail = "This ticket is for another event";
        return;
    case ADM_VERDICT_WRONG_GATE:
        *title = "WRONG ENTRANCE";
        *detail = "This ticket type is not admitted at this check-in list";
        return;
    case ADM_VERDICT_NOT_YET_VALID:
        *title = "NOT YET VALID";
        *detail = "The ticket's entry time has not started";
        return;
    case ADM_VERDICT_EXPIRED:
        *title = "EXPIRED";
        *detail = "The ticket's validity has ended";
        return;
    case ADM_VERDICT_BAD_SIGNATURE:
        *title = "FORGED TICKET";
        *detail = "The ticket's signature does not verify";
        return;
    case ADM_VERDICT_UNKNOWN_KEY:
        *title = "INVALID TICKET";
        *detail = strcmp(reason, "retired_key") == 0
                      ? "Signed with a retired key: ask the holder for a fresh ticket"
                      : "Not signed by this event's keys";
        return;
    case ADM_VERDICT_MALFORMED:
        *title = "NOT A TICKET";
        *detail = strcmp(reason, "oversize") == 0 ? "The code is too long to be a ticket"
                                                  : "This code is not an admit ticket";
        return;
    case ADM_VERDICT_NOT_INSIDE:
        *title = "NOT INSIDE";
        *detail = "No entry was recorded for this ticket: exit noted";
        return;
    case ADM_VERDICT__MAX:
        break;
    }
    *title = "REFUSED";
}

adm_scan_verdict_t *adm_scan_verdict_new(const adm_gate_result_t *r, adm_direction_t dir,
                                         const char *type_name, int64_t now)
{
    adm_scan_verdict_t *v = g_new0(adm_scan_verdict_t, 1);
    const char *title, *detail;

    words(r, dir, &title, &detail);
    if (r->verdict == ADM_VERDICT_ACCEPT)
        v->klass = r->attention ? ADM_SCAN_CLASS_ATTENTION : ADM_SCAN_CLASS_ADMIT;
    else if (r->verdict == ADM_VERDICT_NOT_INSIDE)
        v->klass = ADM_SCAN_CLASS_ATTENTION; /* letting someone out is never a risk */
    else
        v->klass = ADM_SCAN_CLASS_REFUSE;
    v->verdict = g_strdup(adm_verdict_name(r->verdict));
    v->reason = g_strdup(r->reason != NULL ? r->reason : "");
    v->title = g_strdup(title);
    v->detail = g_strdup(detail);
    v->direction = g_strdup(dir == ADM_DIRECTION_EXIT ? "Exit" : "Entry");
    v->attention = r->attention;
    /* fields of an unverified token are not shown: they may be made up */
    v->has_ticket = r->parsed && r->verified;
    v->ticket_id = v->has_ticket ? r->ticket.ticket_id : 0;
    if (v->has_ticket && type_name != NULL && type_name[0] != '\0')
        v->type_name = g_strdup(type_name);
    else if (v->has_ticket)
        v->type_name = g_strdup_printf("Type %u", r->ticket.type_id);
    else
        v->type_name = g_strdup("");
    v->seat = g_strdup(v->has_ticket ? r->ticket.label : "");
    if (r->verdict == ADM_VERDICT_ALREADY_USED && r->has_first_used) {
        g_autofree char *when = adm_scan_format_time(r->first_at, now);
        v->first_used = g_strdup_printf("First used %s at %s (device %s)", when,
                                        r->first_gate[0] ? r->first_gate : "?",
                                        r->first_device[0] ? r->first_device : "?");
    } else {
        v->first_used = g_strdup("");
    }
    g_strlcpy(v->nonce, r->nonce, sizeof v->nonce);
    return v;
}

adm_scan_verdict_t *adm_scan_verdict_new_error(adm_err_t e, adm_direction_t dir)
{
    adm_scan_verdict_t *v = g_new0(adm_scan_verdict_t, 1);

    v->verdict = g_strdup("error");
    v->reason = g_strdup(adm_err_name(e));
    v->direction = g_strdup(dir == ADM_DIRECTION_EXIT ? "Exit" : "Entry");
    v->type_name = g_strdup("");
    v->seat = g_strdup("");
    v->first_used = g_strdup("");
    switch (e) {
    case ADM_ERR_NOT_FOUND:
        v->klass = ADM_SCAN_CLASS_ATTENTION;
        v->title = g_strdup("CHECK SETUP");
        v->detail = g_strdup("The check-in list or gate is not set up on this device: open Setup");
        break;
    case ADM_ERR_STATE:
        v->klass = ADM_SCAN_CLASS_ATTENTION;
        v->title = g_strdup("NOT SET UP");
        v->detail = g_strdup("This device has no event yet: enroll it in Setup");
        break;
    case ADM_ERR_STORE:
        v->klass = ADM_SCAN_CLASS_REFUSE;
        v->title = g_strdup("NOT RECORDED");
        v->detail = g_strdup("The scan could not be saved: scan again, then call a supervisor");
        break;
    default:
        v->klass = ADM_SCAN_CLASS_REFUSE;
        v->title = g_strdup("SCAN FAILED");
        v->detail = g_strdup_printf("%s: scan again", adm_strerror(e));
        break;
    }
    return v;
}

adm_scan_verdict_t *adm_scan_verdict_copy(const adm_scan_verdict_t *v)
{
    adm_scan_verdict_t *c = g_new0(adm_scan_verdict_t, 1);

    *c = *v;
    c->verdict = g_strdup(v->verdict);
    c->reason = g_strdup(v->reason);
    c->title = g_strdup(v->title);
    c->detail = g_strdup(v->detail);
    c->type_name = g_strdup(v->type_name);
    c->seat = g_strdup(v->seat);
    c->direction = g_strdup(v->direction);
    c->first_used = g_strdup(v->first_used);
    return c;
}

void adm_scan_verdict_free(adm_scan_verdict_t *v)
{
    if (v == NULL)
        return;
    g_free(v->verdict);
    g_free(v->reason);
    g_free(v->title);
    g_free(v->detail);
    g_free(v->type_name);
    g_free(v->seat);
    g_free(v->direction);
    g_free(v->first_used);
    g_free(v);
}
