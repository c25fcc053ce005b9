/* scan-lookup.h: read-only questions admit-scan asks the gate store, for
 * people: ticket type names, the check-in lists for Setup, and a ticket's
 * local status for Search (revoked? checked in where and when?). A GLib
 * face on the scanner's query API (scanner/gate-query.h) on the caller's
 * adm_gate_t (the scan worker's: one per thread); no SQL of its own. No GTK. */
#ifndef ADM_SCAN_LOOKUP_H
#define ADM_SCAN_LOOKUP_H

#include <glib.h>
#include <stdint.h>

#include "scanner/gate.h"

typedef struct adm_scan_list {
    uint32_t id;
    char *name;
    char *reentry; /* "once", "after_exit", "unlimited" */
    char **gates;  /* NULL-terminated; empty = any gate */
} adm_scan_list_t;

void adm_scan_list_free(adm_scan_list_t *l);

/* The ticket type's name (new string, g_free) or NULL when unknown or
 * unreadable. g is borrowed. */
char *adm_scan_lookup_type_name(adm_gate_t *g, uint32_t type_id);

/* The snapshot's check-in lists by id (new array of adm_scan_list_t, with
 * free function); empty when none or when the store cannot be read. */
GPtrArray *adm_scan_lookup_lists(adm_gate_t *g);

/* The first list that admits scans at gate (a list naming gate, else one
 * naming no gates); 0 when none. */
uint32_t adm_scan_lookup_pick_list(GPtrArray *lists, const char *gate);

/* What the store knows about ticket_id, for people (new string, several
 * lines): revocation, status, and the entries/exits this device or others
 * made (at most ADM_GATE_HISTORY_MAX, the earliest). now formats the times. */
char *adm_scan_lookup_ticket(adm_gate_t *g, uint64_t ticket_id, int64_t now);

#endif
