/* scan-lookup.c: admit-scan's read-only questions to the gate store (type
 * names, lists, a ticket's local history) through scanner/gate-query.h, made
 * into GLib values and text for people. No SQL here: the store's schema is
 * the scanner's. */
#include "ui/scan-lookup.h"

#include <string.h>

#include "scanner/gate-query.h"
#include "ui/scan-present.h"

void adm_scan_list_free(adm_scan_list_t *l)
{
    if (l == NULL)
        return;
    g_free(l->name);
    g_free(l->reentry);
    g_strfreev(l->gates);
    g_free(l);
}

char *adm_scan_lookup_type_name(adm_gate_t *g, uint32_t type_id)
{
    char name[ADM_GATE_TYPE_NAME_MAX + 1];
    adm_err_t e = adm_gate_type_name(g, type_id, name, sizeof name);

    if (e != ADM_OK) {
        if (e != ADM_ERR_NOT_FOUND)
            g_debug("lookup: type %u: %s", type_id, adm_strerror(e));
        return NULL;
    }
    return g_strdup(name);
}

static int add_list(const adm_gate_list_info_t *info, void *ud)
{
    GPtrArray *out = ud;
    adm_scan_list_t *li = g_new0(adm_scan_list_t, 1);

    li->id = info->id;
    li->name = g_strdup(info->name);
    li->reentry = g_strdup(adm_reentry_name(info->reentry));
    li->gates = g_new0(char *, info->n_gates + 1);
    for (size_t i = 0; i < info->n_gates; i++)
        li->gates[i] = g_strdup(info->gates[i]);
    g_ptr_array_add(out, li);
    return 0;
}

GPtrArray *adm_scan_lookup_lists(adm_gate_t *g)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)adm_scan_list_free);
    adm_err_t e = adm_gate_lists_each(g, add_list, out);

    if (e != ADM_OK) {
        g_debug("lookup: lists: %s", adm_strerror(e));
        g_ptr_array_set_size(out, 0); /* none rather than some */
    }
    return out;
}

uint32_t adm_scan_lookup_pick_list(GPtrArray *lists, const char *gate)
{
    for (guint i = 0; gate != NULL && i < lists->len; i++) {
        adm_scan_list_t *li = g_ptr_array_index(lists, i);
        if (g_strv_contains((const char *const *)li->gates, gate))
            return li->id;
    }
    for (guint i = 0; i < lists->len; i++) {
        adm_scan_list_t *li = g_ptr_array_index(lists, i);
        if (li->gates[0] == NULL)
            return li->id;
    }
    return 0;
}

char *adm_scan_lookup_ticket(adm_gate_t *g, uint64_t ticket_id, int64_t now)
{
    g_autofree adm_gate_ticket_info_t *t = g_new0(adm_gate_ticket_info_t, 1);
    GString *s = g_string_new(NULL);
    adm_err_t e;
    int n = 0;

    g_string_append_printf(s, "Ticket %" G_GUINT64_FORMAT "\n", ticket_id);
    if ((e = adm_gate_ticket_info(g, ticket_id, t)) != ADM_OK) {
        g_string_append_printf(s, "Cannot read the gate store: %s\n", adm_strerror(e));
        return g_string_free(s, FALSE);
    }
    if (t->revoked) {
        g_autofree char *when = adm_scan_format_time(t->revoked_at, now);
        g_string_append_printf(s, "REVOKED (%s) at %s\n", t->revoked_reason, when);
        n++;
    }
    if (t->status != NULL && strcmp(t->status, "valid") != 0) {
        g_string_append_printf(s, "Status: %s\n", t->status);
        n++;
    }
    for (size_t i = 0; i < t->n_history; i++) {
        const adm_gate_history_row_t *h = &t->history[i];
        g_autofree char *when = adm_scan_format_time(h->at, now);
        g_string_append_printf(s, "%s %s at %s, list %u, device %s%s\n",
                               h->direction == ADM_DIRECTION_EXIT ? "Exit" : "Entry", when, h->gate,
                               h->list_id, h->device,
                               h->source == ADM_GATE_SOURCE_SYNCED ? " (synced)" : "");
        n++;
    }
    if (t->truncated)
        g_string_append_printf(s, "(only the first %d entries and exits are shown)\n",
                               ADM_GATE_HISTORY_MAX);
    if (t->refused > 0) {
        g_string_append_printf(s, "Refused here %lld time(s)\n", (long long)t->refused);
        n++;
    }
    if (n == 0)
        g_string_append(s, "Not revoked, never checked in (as far as this device knows)\n");
    return g_string_free(s, FALSE);
}
