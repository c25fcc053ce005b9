/* gate-sync.h: the sync side of the gate store (docs/scanning.md §6): the
 * device's enrollment and feed cursors, applying pages of the sync feed
 * (docs/sync.md §2) and the journal upload queue (docs/sync.md §3). Not
 * the network: scanner/syncer.h moves these over sync/client.h. Like
 * gate.h, one adm_gate_t per thread. */
#ifndef ADM_GATE_SYNC_H
#define ADM_GATE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "scanner/gate.h"
#include "sync/client.h"
#include "sync/err.h"

#define ADM_GATE_PATH_MAX 1024 /* a CA file path, bytes */

/* What enrollment gave this device and how to reach its server. */
typedef struct adm_gate_sync_conf {
    char server[ADM_SYNC_URL_MAX + 1];          /* base URL */
    char device_id[ADM_SYNC_DEVICE_ID_MAX + 1]; /* "dv_…" */
    char secret[ADM_SYNC_TOKEN_MAX + 1];        /* key material: adm_gate_sync_conf_wipe() */
    int64_t event_id;
    char gate[ADM_SYNC_GATE_MAX + 1];
    bool relay;                          /* enrolled as kind "relay" */
    char ca_file[ADM_GATE_PATH_MAX + 1]; /* "" = the system CA store */
    char pin[ADM_SYNC_PIN_MAX + 1];      /* "" = no public key pin */
    bool allow_http;                     /* plain http:// was allowed explicitly */
} adm_gate_sync_conf_t;

/* Stores conf as this store's enrollment in one transaction: the device id
 * becomes conf->device_id (journal rows from now on carry it), both feed
 * cursors restart at 0 (the next pull is a full snapshot; rows already
 * stored are idempotent) and the store file is made private (mode 0600: it
 * holds the secret). ADM_ERR_INVALID_ARG for empty or over-long fields,
 * ADM_ERR_CONFLICT when the journal holds scans of another event (use a new
 * store), ADM_ERR_STORE. */
adm_err_t adm_gate_sync_enroll_store(adm_gate_t *g, const adm_gate_sync_conf_t *conf);

/* Reads the enrollment into *out (zeroed first). ADM_ERR_NOT_FOUND when the
 * store was never enrolled, ADM_ERR_STORE. Wipe *out after use. */
adm_err_t adm_gate_sync_conf_get(adm_gate_t *g, adm_gate_sync_conf_t *out);
void adm_gate_sync_conf_wipe(adm_gate_sync_conf_t *conf);

/* The stored feed cursors ({0, 0} before the first page). ADM_ERR_STORE. */
adm_err_t adm_gate_sync_cursor(adm_gate_t *g, adm_sync_cursor_t *out);

/* What one page changed. */
typedef struct adm_gate_apply_stats {
    size_t revocations;   /* new revocations (seq not stored before) */
    size_t checkins;      /* new remote check-ins (nonce not stored before) */
    size_t own;           /* rows of this device's journal (skipped by nonce) */
    size_t own_conflicts; /* of those, rows the server flags as conflicts */
    size_t recomputed;    /* late rows that made a ticket's presence be recomputed */
} adm_gate_apply_stats_t;

/* Applies one page of GET /v1/sync (docs/sync.md §2; normally already
 * checked by adm_sync_page_check(), but every field used is checked again)
 * in one transaction: the header (event, keys, ticket types, check-in
 * lists) replaces the stored one, keeping the journal, remote check-ins and
 * presence; revocations are added by seq and check-ins by nonce; a check-in
 * whose nonce is in this device's journal marks that row uploaded (and
 * conflicting when flagged) instead; presence is updated (recomputed in
 * time order for a row older than one applied already); and the page's
 * cursor is stored. A page of a new event, on a store with an empty
 * journal, first drops the old event's data. stats may be NULL.
 * ADM_ERR_FORMAT for a malformed page, ADM_ERR_CONFLICT for a page of
 * another event while the journal holds scans; in both cases and on
 * ADM_ERR_STORE / ADM_ERR_NOMEM nothing is changed, cursor included. */
adm_err_t adm_gate_sync_apply(adm_gate_t *g, const json_t *page, adm_gate_apply_stats_t *stats);

/* The first limit (1..ADM_SYNC_PUSH_MAX) journal rows not yet acknowledged,
 * in journal order, as the rows of POST /v1/sync/checkins (docs/sync.md §3)
 * in a new JSON array (*rows, json_decref it; empty when none is pending).
 * device is the enrolled device id (the store's device id before
 * enrollment). ADM_ERR_INVALID_ARG, ADM_ERR_STORE, ADM_ERR_NOMEM. */
adm_err_t adm_gate_upload_pending(adm_gate_t *g, size_t limit, json_t **rows);

/* Marks uploaded the journal rows named by reply["results"][*]["nonce"] (a
 * reply of POST /v1/sync/checkins, borrowed) and stores each row's conflict
 * flag, in one durable transaction. *conflicts (may be NULL) gets the
 * number of rows flagged. Nonces not in the journal are ignored.
 * ADM_ERR_FORMAT for a malformed reply (nothing marked), ADM_ERR_STORE. */
adm_err_t adm_gate_upload_ack(adm_gate_t *g, const json_t *reply, size_t *conflicts);

/* Number of journal rows not yet acknowledged. ADM_ERR_STORE. */
adm_err_t adm_gate_upload_count(adm_gate_t *g, int64_t *pending);

/* A summary of the store for `admit-gate status` (a new JSON object,
 * json_decref it): device, event, enrollment (never the secret), cursors,
 * last pull and upload times, pending uploads, journal counts by verdict,
 * conflicts, remote check-ins and revocations. ADM_ERR_STORE, ADM_ERR_NOMEM. */
adm_err_t adm_gate_status_json(adm_gate_t *g, json_t **out);

#endif
