/* scan-lookup.h: read-only questions admit-scan asks the gate store that the
 * engine's API does not answer: ticket type names, the check-in lists for
 * Setup, and a ticket's local status for Search (revoked? checked in where
 * and when?). Its own SQLite connection on the store file (schema in
 * docs/scanning.md §1), SELECTs only; never writes. One per thread (the
 * scan worker's). No GTK. */
#ifndef ADM_SCAN_LOOKUP_H
#define ADM_SCAN_LOOKUP_H

#include <glib.h>
#include <stdint.h>

typedef struct adm_scan_lookup adm_scan_lookup_t;

typedef struct adm_scan_list {
    uint32_t id;
    char *name;
    char *reentry; /* "once", "after_exit", "unlimited" */
    char **gates;  /* NULL-terminated; empty = any gate */
} adm_scan_list_t;

void adm_scan_list_free(adm_scan_list_t *l);

/* Opens path (which must exist) for lookups. FALSE with error otherwise. */
gboolean adm_scan_lookup_open(const char *path, adm_scan_lookup_t **out, GError **error);
void adm_scan_lookup_close(adm_scan_lookup_t *l);

/* The ticket type's name (new string) or NULL when unknown. */
char *adm_scan_lookup_type_name(adm_scan_lookup_t *l, uint32_t type_id);

/* The snapshot's check-in lists by id (new array of adm_scan_list_t, with
 * free function); empty when none. */
GPtrArray *adm_scan_lookup_lists(adm_scan_lookup_t *l);

/* The first list that admits scans at gate (a list naming gate, else one
 * naming no gates); 0 when none. */
uint32_t adm_scan_lookup_pick_list(GPtrArray *lists, const char *gate);

/* What the store knows about ticket_id, for people (new string, several
 * lines): revocation, status, and every entry/exit this device or others
 * made. now formats the times. */
char *adm_scan_lookup_ticket(adm_scan_lookup_t *l, uint64_t ticket_id, int64_t now);

#endif
