/* enroll.h: a gate's whole enrollment (docs/sync.md §1, docs/scanning.md §6):
 * the admit-enroll URI, the token traded for device credentials, the
 * credentials stored and the first sync, with one human sentence for every
 * outcome, shared by `admit-gate enroll` and admit-scan. Not the HTTP
 * (sync/client.h) nor the stored enrollment (scanner/gate-sync.h). */
#ifndef ADM_ENROLL_H
#define ADM_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner/gate-sync.h"
#include "scanner/syncer.h"
#include "sync/client.h"
#include "sync/err.h"

/* A why buffer of this size holds every sentence adm_gate_enroll() writes. */
#define ADM_GATE_ENROLL_WHY_MAX (ADM_SYNC_URL_MAX + ADM_SYNCER_ERROR_MAX + 256)

typedef struct adm_gate_enroll_opts {
    const char *name;    /* the device's name for the organiser; NULL = none */
    const char *ca_file; /* PEM bundle to trust instead of the system store, stored as
                          * given (pass an absolute path); NULL = the system store */
    const char *pin;     /* "sha256//<base64>" public key pin; NULL = none */
    bool allow_http;     /* accept a plain http:// server URL */
} adm_gate_enroll_opts_t;

typedef struct adm_gate_enroll_result {
    char server[ADM_SYNC_URL_MAX + 1]; /* the server's base URL */
    char device_id[ADM_SYNC_DEVICE_ID_MAX + 1];
    int64_t event_id;
    char gate[ADM_SYNC_GATE_MAX + 1];
    adm_syncer_round_t round; /* what the first sync did */
    adm_err_t sync_err;       /* ADM_OK when the first sync went through */
} adm_gate_enroll_result_t;

/* Enrolls the open store g with the code uri ("admit-enroll:<base URL>#<token>",
 * borrowed; the token is never written to why) and runs one sync round
 * (adm_syncer_round()). opts may be NULL (no name, system CA store, https
 * only). *out (may be NULL) is zeroed first and filled once the credentials
 * are stored. why (may be NULL, cap bytes, ADM_GATE_ENROLL_WHY_MAX fits all)
 * gets one sentence to show people as is: what happened, and on failure what
 * to do. The token and the secret are wiped from memory before returning.
 *
 * A first sync that fails after the credentials are stored is not an
 * enrollment failure: ADM_OK with out->sync_err set and why saying so (the
 * caller says how it will retry).
 *
 * Errors, each leaving the store as it was:
 *   ADM_ERR_FORMAT        uri is not an enrollment code
 *   ADM_ERR_INVALID_ARG   plain http:// server URL without opts->allow_http (why
 *                         names --insecure-http), or a name the server API refuses
 *   ADM_ERR_TOO_BIG       opts->ca_file over ADM_GATE_PATH_MAX or pin over
 *                         ADM_SYNC_PIN_MAX bytes
 *   ADM_ERR_EXPIRED       the code was already used or has expired (410)
 *   ADM_ERR_NOT_FOUND     the server does not know the code (404)
 *   ADM_ERR_STATE         the code is for an edge relay, not a gate (it is spent)
 *   ADM_ERR_CONFLICT      the store holds scans of another event: use a new store
 *   ADM_ERR_NETWORK, ADM_ERR_TLS, ADM_ERR_UNAUTHORIZED, ADM_ERR_REVOKED
 *                         as adm_sync_request()
 *   ADM_ERR_HTTP_STATUS   any other server failure, a malformed reply included
 *   ADM_ERR_STORE, ADM_ERR_NOMEM. */
adm_err_t adm_gate_enroll(adm_gate_t *g, const char *uri, const adm_gate_enroll_opts_t *opts,
                          adm_gate_enroll_result_t *out, char *why, size_t cap);

#endif
