/* gate-query.h: read-only questions about the gate store for people (admit-scan's
 * Setup and Search, docs/scanning.md §1): ticket type names, the check-in lists, and
 * what the store knows of one ticket. Never writes; not the verdict (gate.h), not
 * sync (gate-sync.h). Like gate.h, one adm_gate_t per thread. */
#ifndef ADM_GATE_QUERY_H
#define ADM_GATE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner/gate.h"
#include "sync/checkin.h"
#include "sync/err.h"

#define ADM_GATE_TYPE_NAME_MAX 1024 /* a ticket type name as the sync feed allows it, bytes */
#define ADM_GATE_LIST_GATES_MAX 256 /* gate names passed for one list */
#define ADM_GATE_HISTORY_MAX 64     /* entries/exits returned for one ticket */

/* Copies the name of ticket type type_id and a NUL into buf (cap bytes; a
 * buffer of ADM_GATE_TYPE_NAME_MAX + 1 holds every name the feed allows).
 * buf is "" on any failure. ADM_ERR_NOT_FOUND for a type the snapshot does
 * not name, ADM_ERR_TOO_BIG when the name does not fit, ADM_ERR_INVALID_ARG
 * for a NULL g or buf or cap 0, ADM_ERR_STORE. */
adm_err_t adm_gate_type_name(adm_gate_t *g, uint32_t type_id, char *buf, size_t cap);

/* One check-in list, as passed to adm_gate_lists_each(); every pointer is
 * borrowed and valid only during the call. */
typedef struct adm_gate_list_info {
    uint32_t id;
    const char *name;
    adm_reentry_t reentry;
    const char *const *gates; /* n_gates gate names in name order */
    size_t n_gates;           /* 0: the list admits scans at any gate */
} adm_gate_list_info_t;

/* Calls fn for every check-in list of the snapshot in id order; stops at
 * the first non-zero return of fn (still ADM_OK). No list: fn is never
 * called. ADM_ERR_TOO_BIG for a list naming more than
 * ADM_GATE_LIST_GATES_MAX gates, ADM_ERR_FORMAT for a stored re-entry rule
 * this version does not know, ADM_ERR_NOMEM, ADM_ERR_INVALID_ARG,
 * ADM_ERR_STORE; lists already passed to fn stay passed. */
adm_err_t adm_gate_lists_each(adm_gate_t *g, int (*fn)(const adm_gate_list_info_t *list, void *ud),
                              void *ud);

/* Where a history row comes from. */
typedef enum adm_gate_source {
    ADM_GATE_SOURCE_LOCAL = 0,  /* an accepted scan in this device's journal */
    ADM_GATE_SOURCE_SYNCED = 1, /* another device's check-in (sync feed or snapshot) */
} adm_gate_source_t;

/* One accepted entry or exit of a ticket. */
typedef struct adm_gate_history_row {
    int64_t at;
    char gate[ADM_GATE_NAME_MAX + 1];
    char device[ADM_GATE_NAME_MAX + 1];
    adm_direction_t direction;
    uint32_t list_id;
    adm_gate_source_t source;
} adm_gate_history_row_t;

/* What the store knows of one ticket (caller-allocated, about 10 KiB). */
typedef struct adm_gate_ticket_info {
    uint64_t ticket_id;
    bool revoked;               /* a revocation is stored (the latest by seq is described) */
    int64_t revoked_at;         /* revoked: its time */
    const char *revoked_reason; /* revoked: "revoked" or "refunded" (static); else NULL */
    const char *status;         /* the snapshot's status row: "valid", "revoked", "refunded",
                                 * "blocked" or "unknown" (static); NULL without a row */
    size_t n_history;
    adm_gate_history_row_t history[ADM_GATE_HISTORY_MAX]; /* by time, synced rows first on ties */
    bool truncated;  /* more rows exist: history holds the earliest ADM_GATE_HISTORY_MAX */
    int64_t refused; /* scans of the ticket refused on this device (journal) */
} adm_gate_ticket_info_t;

/* Fills *out (zeroed first) with what the store knows of ticket_id:
 * revocation, status row, accepted entries and exits from this device's
 * journal and other devices' check-ins, and the count of refused scans
 * here, all read in one read transaction. A ticket the store never heard of
 * is ADM_OK with nothing set. ADM_ERR_INVALID_ARG for a NULL argument or a
 * ticket id of 0 or above INT64_MAX, ADM_ERR_STORE (then *out is zeroed). */
adm_err_t adm_gate_ticket_info(adm_gate_t *g, uint64_t ticket_id, adm_gate_ticket_info_t *out);

#endif
