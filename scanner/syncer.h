/* syncer.h: keeps a gate store in step with its server over the sync
 * protocol (docs/sync.md, docs/scanning.md §6): one-shot rounds (upload the
 * journal, then pull the feed to its end) and a background syncer of two
 * threads (feed long-poll, prompt upload) with a thread-safe status for the
 * CLI and the UI. Not the store (gate-sync.h) and not HTTP (sync/client.h). */
#ifndef ADM_SYNCER_H
#define ADM_SYNCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner/gate-sync.h"
#include "sync/client.h"
#include "sync/err.h"

#define ADM_SYNCER_WAIT_S 25    /* long-poll seconds of the feed thread */
#define ADM_SYNCER_IDLE_MS 1000 /* the upload thread looks at the journal at least this often */
#define ADM_SYNCER_PAGE_ROWS 5000 /* feed rows asked per page: the server's maximum, so a
                                   * catch-up after hours offline takes few round trips */
#define ADM_SYNCER_ERROR_MAX (ADM_SYNC_ERROR_MAX + 128)

/* What a one-shot round did. Zero-initialise; the functions add to it. */
typedef struct adm_syncer_round {
    size_t pushed;            /* journal rows acknowledged by the server */
    size_t conflicts;         /* of those, rows the server flagged as conflicts */
    size_t pages;             /* feed pages applied */
    size_t revocations;       /* new revocations */
    size_t checkins;          /* new remote check-ins */
    adm_sync_cursor_t cursor; /* the stored cursor afterwards */
} adm_syncer_round_t;

/* A client (*out, adm_sync_client_free()) for the store's enrollment: its
 * server, credentials, CA file, pin and http permission. ADM_ERR_NOT_FOUND
 * when the store is not enrolled; the errors of adm_sync_client_new(). */
adm_err_t adm_syncer_client_new(adm_gate_t *g, adm_sync_client_t **out);

/* Uploads every pending journal row in batches of ADM_SYNC_PUSH_MAX
 * (adm_sync_push) and marks each batch uploaded after the reply. Errors of
 * adm_sync_push() and the store; rows not acknowledged stay pending. */
adm_err_t adm_syncer_push(adm_gate_t *g, adm_sync_client_t *c, adm_syncer_round_t *r);

/* Pulls feed pages from the stored cursor and applies each (one
 * transaction per page, cursor included) until "more" is false. Errors of
 * adm_sync_pull() and adm_gate_sync_apply(); ADM_ERR_FORMAT also for a
 * feed whose cursor does not advance while it says "more". */
adm_err_t adm_syncer_pull(adm_gate_t *g, adm_sync_client_t *c, adm_syncer_round_t *r);

/* One round: adm_syncer_push() then adm_syncer_pull(). */
adm_err_t adm_syncer_round(adm_gate_t *g, adm_sync_client_t *c, adm_syncer_round_t *r);

/* For errors after which retrying cannot help (ADM_ERR_UNAUTHORIZED,
 * ADM_ERR_REVOKED, ADM_ERR_CONFLICT): what the crew should do (static);
 * NULL for every other error. */
const char *adm_syncer_fatal_message(adm_err_t e);

/* ---- the background syncer ---------------------------------------------------- */

typedef struct adm_syncer adm_syncer_t;

typedef struct adm_syncer_opts {
    int wait_s;   /* long-poll seconds, 1..ADM_SYNC_WAIT_MAX; 0 = ADM_SYNCER_WAIT_S */
    long idle_ms; /* upload queue look-ups when not notified; 0 = ADM_SYNCER_IDLE_MS */
    /* Called from the syncer's threads, never with a lock held: a state
     * change or failure worth logging; a journal row (nonce) the server
     * flagged as a conflict. Both may be NULL. */
    void (*log)(void *ud, const char *msg);
    void (*conflict)(void *ud, const char *nonce);
    void *ud;
} adm_syncer_opts_t;

typedef struct adm_syncer_status {
    bool running;      /* the threads work (false once stopped or after a fatal error) */
    bool caught_up;    /* the feed was pulled to its end at least once since start */
    bool online;       /* the last request to the server succeeded */
    int64_t last_sync; /* unix seconds of the last successful pull or upload; 0 = never */
    int64_t pending;   /* journal rows not yet acknowledged by the server */
    adm_sync_cursor_t cursor;
    adm_err_t last_err;                    /* of the last failed request; ADM_OK after a success */
    char last_error[ADM_SYNCER_ERROR_MAX]; /* what failed, for people; "" when nothing */
    adm_err_t fatal; /* set when the syncer stopped itself (adm_syncer_fatal_message()) */
    uint64_t pushed, pulled, conflicts; /* rows since start */
} adm_syncer_status_t;

/* Starts the syncer on the store at db_path (which must be enrolled): a
 * feed thread (pull with long-poll, apply each page) and an upload thread
 * (uploads pending journal rows as soon as adm_syncer_notify() is called,
 * and every idle_ms), each with its own adm_gate_t and adm_sync_client_t, so
 * an upload never waits behind a long-poll. Failed requests are retried with
 * adm_backoff_t; ADM_ERR_UNAUTHORIZED, ADM_ERR_REVOKED and ADM_ERR_CONFLICT
 * stop both threads (status.fatal). The threads block every signal. opts
 * may be NULL. ADM_ERR_NOT_FOUND when not enrolled, errors of
 * adm_gate_open() and adm_sync_client_new(), ADM_ERR_NOMEM, ADM_ERR_IO
 * (threads). Stop and free with adm_syncer_stop(). */
adm_err_t adm_syncer_start(const char *db_path, const adm_syncer_opts_t *opts, adm_syncer_t **out);

/* A scan was journaled: upload it now. Cheap and non-blocking (takes the
 * status lock briefly); call it from the scanning thread after adm_gate_scan(). */
void adm_syncer_notify(adm_syncer_t *s);

/* Copies the current status (thread-safe). */
void adm_syncer_status(adm_syncer_t *s, adm_syncer_status_t *out);

/* Waits up to timeout_ms until the feed was pulled to its end once (true)
 * or a pull failed or the syncer stopped (false). */
bool adm_syncer_wait_caught_up(adm_syncer_t *s, long timeout_ms);

/* Asks for an upload and waits up to timeout_ms until nothing is pending
 * (true) or the syncer stopped (false). */
bool adm_syncer_flush(adm_syncer_t *s, long timeout_ms);

/* Stops the threads (a request in flight, long-poll included, is aborted
 * within about 100 ms), joins them and frees s. NULL is accepted. */
void adm_syncer_stop(adm_syncer_t *s);

#endif
