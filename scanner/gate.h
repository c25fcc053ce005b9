/* gate.h: the offline gate engine: a local SQLite store (event snapshot +
 * this device's scan journal) and the verdict for a scanned text
 * (docs/scanning.md). Not sync (gate-sync.h, syncer.h), not input devices
 * (frame.h, camera.h, main.c); one adm_gate_t per thread (several handles,
 * in threads or processes, may share one store file). */
#ifndef ADM_GATE_H
#define ADM_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/checkin.h"
#include "sync/err.h"
#include "sync/token.h"

#define ADM_GATE_NAME_MAX 64                        /* gate, device and list names, bytes */
#define ADM_GATE_NONCE_HEX 32                       /* 16 random bytes as hex */
#define ADM_GATE_SNAPSHOT_MAX (64u * 1024u * 1024u) /* snapshot document limit */

typedef struct adm_gate adm_gate_t;

/* Where a scan happens. gate must be non-empty, at most ADM_GATE_NAME_MAX bytes. */
typedef struct adm_gate_ctx {
    uint32_t list_id;
    const char *gate;
    adm_direction_t direction;
} adm_gate_ctx_t;

/* The outcome of one scan; every field is filled by adm_gate_scan(). */
typedef struct adm_gate_result {
    adm_verdict_t verdict;
    const char *reason; /* static machine name, e.g. "bad_signature", "blocked" */
    bool parsed;        /* ticket holds the token's fields (signature may be bad) */
    bool verified;      /* the signature verified */
    adm_ticket_t ticket;
    bool attention;      /* verified ADM_TICKET_SPECIAL ticket: show it to the crew */
    bool has_first_used; /* ALREADY_USED: the first entry on this list */
    int64_t first_at;
    char first_gate[ADM_GATE_NAME_MAX + 1];
    char first_device[ADM_GATE_NAME_MAX + 1];
    int64_t at;                         /* the scan time */
    char nonce[ADM_GATE_NONCE_HEX + 1]; /* the journal row's client nonce */
} adm_gate_result_t;

/* A check-in made by another device (from sync or a snapshot). */
typedef struct adm_gate_checkin {
    const char *nonce; /* optional: rows with a nonce already seen are ignored */
    uint64_t ticket_id;
    uint32_t list_id;
    int64_t at;
    const char *gate;
    const char *device;
    adm_direction_t direction;
} adm_gate_checkin_t;

/* One journal row, as passed to adm_gate_journal_each() (strings valid during the call). */
typedef struct adm_gate_journal_row {
    int64_t seq;
    const char *nonce;
    int64_t at;
    const char *gate;
    const char *device;
    uint32_t list_id;
    adm_direction_t direction;
    adm_verdict_t verdict;
    const char *reason;
    bool has_ticket;
    uint64_t ticket_id;
    bool attention;
    const char *text_hash; /* BLAKE2b-256 of the raw scanned text, hex */
    bool uploaded;         /* acknowledged by the server (docs/sync.md §3) */
    bool conflict;         /* the server flagged this accepted entry as a conflict */
} adm_gate_journal_row_t;

/* Opens or creates the store at path (WAL, synchronous=FULL, migrations
 * applied; a new store gets a random device id). *out is freed with
 * adm_gate_close(). ADM_ERR_STORE when SQLite fails (not a database, newer
 * schema), ADM_ERR_FORMAT when the stored keyring is corrupt. */
adm_err_t adm_gate_open(const char *path, adm_gate_t **out);
void adm_gate_close(adm_gate_t *g);

/* This device's id (owned by g): 16 random hex characters made with the
 * store, replaced by the server's "dv_…" id on enrollment (gate-sync.h). */
const char *adm_gate_device_id(const adm_gate_t *g);

/* The snapshot's event id, 0 when none was imported. */
uint32_t adm_gate_event_id(const adm_gate_t *g);

/* Replaces the event snapshot with the JSON document json (len bytes, at most
 * ADM_GATE_SNAPSHOT_MAX; format in docs/scanning.md §2) in one transaction;
 * the journal is kept and presence is rebuilt from the snapshot's check-ins
 * and the journal. ADM_ERR_FORMAT for a malformed document (the store is then
 * unchanged), ADM_ERR_TOO_BIG over the limit, ADM_ERR_CONFLICT when the
 * journal holds scans of another event, ADM_ERR_STORE. */
adm_err_t adm_gate_snapshot_import_json(adm_gate_t *g, const char *json, size_t len);

/* Adds one revocation (seq from GET /v1/events/{id}/revocations). A seq
 * already stored is ignored. ADM_ERR_INVALID_ARG for seq < 1 or ticket 0. */
adm_err_t adm_gate_add_revocation(adm_gate_t *g, int64_t seq, uint64_t ticket_id,
                                  int64_t revoked_at);

/* The highest revocation seq stored (the next `since`). */
adm_err_t adm_gate_revocation_seq(adm_gate_t *g, int64_t *seq);

/* Records another device's check-in and updates presence (in time order:
 * a check-in older than one applied already makes the ticket's presence on
 * the list be recomputed, docs/scanning.md §4). ADM_ERR_NOT_FOUND for an
 * unknown list, ADM_ERR_INVALID_ARG for bad fields. */
adm_err_t adm_gate_add_checkin(adm_gate_t *g, const adm_gate_checkin_t *c);

/* The verdict for a scanned text (len bytes; whitespace, CR and LF at both
 * ends are ignored) at time now in context ctx. Fully offline; no heap
 * allocation of ours (SQLite's page cache aside) unless another handle
 * changed the store's event or keys since the last scan (they are then
 * reread first, so a page applied by the syncer counts at once). Every scan, accepted or
 * refused, gets a journal row that is durably committed before this returns;
 * *res is filled (res->nonce is the row's nonce). Returns ADM_OK whenever a
 * verdict was reached, whatever it is; ADM_ERR_NOT_FOUND for an unknown list
 * or a gate not on the list, ADM_ERR_STATE without a snapshot,
 * ADM_ERR_INVALID_ARG for a bad ctx, ADM_ERR_STORE when the journal row could
 * not be committed (then no verdict may be shown: res->verdict is MALFORMED). */
adm_err_t adm_gate_scan(adm_gate_t *g, const char *text, size_t len, int64_t now,
                        const adm_gate_ctx_t *ctx, adm_gate_result_t *res);

/* Calls fn for every journal row in order; stops at the first non-zero
 * return of fn. ADM_ERR_STORE. */
adm_err_t adm_gate_journal_each(adm_gate_t *g,
                                int (*fn)(const adm_gate_journal_row_t *row, void *ud), void *ud);

#endif
