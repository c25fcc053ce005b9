/* client.h: the sync client (docs/sync.md) on libcurl: enrollment, the
 * sync feed (pull), check-in upload (push), the enrollment URI, feed page
 * validation and retry backoff. Used by admit-gate (scanner/) and by an
 * edge admitd for its upstream (server/edge.c). Not the local stores that
 * apply a page: each consumer owns its own. One adm_sync_client_t per
 * thread (it wraps one curl easy handle, so connections are reused). */
#ifndef ADM_SYNC_CLIENT_H
#define ADM_SYNC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sync/err.h"

#define ADM_SYNC_URL_MAX 512         /* base URL, bytes */
#define ADM_SYNC_TOKEN_MAX 64        /* enrollment token / device secret text, bytes */
#define ADM_SYNC_DEVICE_ID_MAX 32    /* device id text, bytes */
#define ADM_SYNC_GATE_MAX 64         /* gate name, bytes */
#define ADM_SYNC_PIN_MAX 128         /* "sha256//<base64>" (several joined by ';') */
#define ADM_SYNC_REPLY_MAX (64u << 20) /* a reply body larger than this is an error */
#define ADM_SYNC_ERROR_MAX 256       /* human-readable detail of the last failure */
#define ADM_SYNC_PUSH_MAX 1000       /* check-ins per upload batch */
#define ADM_SYNC_WAIT_MAX 30         /* long-poll seconds */

typedef struct adm_sync_client adm_sync_client_t;

typedef struct adm_sync_opts {
    const char *base_url;  /* "https://host[:port][/prefix]" without a trailing '/'; copied */
    const char *device_id; /* NULL before enrollment; copied */
    const char *secret;    /* NULL before enrollment; copied */
    const char *ca_file;   /* PEM bundle to trust instead of the system store; NULL = system */
    const char *pin;       /* "sha256//<base64>" public key pin; NULL = none */
    bool allow_http;       /* accept an http:// base URL (tests, a LAN without TLS) */
    long connect_timeout_ms; /* 0 = 5000 */
    long timeout_ms;         /* whole request, excluding a long-poll's wait; 0 = 30000 */
} adm_sync_opts_t;

/* Creates a client in *out (free with adm_sync_client_free()). Nothing is
 * sent yet. ADM_ERR_INVALID_ARG for a missing or non-https base URL (http
 * only with allow_http), over-long strings; ADM_ERR_NOMEM. */
adm_err_t adm_sync_client_new(const adm_sync_opts_t *opts, adm_sync_client_t **out);
void adm_sync_client_free(adm_sync_client_t *c);

/* Replaces the device credentials (after enrollment). */
adm_err_t adm_sync_client_set_credentials(adm_sync_client_t *c, const char *device_id,
                                          const char *secret);

/* Makes requests of c give up (ADM_ERR_NETWORK, "aborted") as soon as
 * *flag becomes non-zero, including one waiting in a long-poll; checked at
 * least every 100 ms. flag is borrowed (NULL = never). For a thread that
 * must stop promptly. */
void adm_sync_client_set_abort(adm_sync_client_t *c, const volatile int *flag);

/* Human-readable detail of the last failure ("" after a success): curl's
 * message, or the server's {"error","message"}. Owned by c. */
const char *adm_sync_client_error(const adm_sync_client_t *c);

/* HTTP status of the last reply, 0 when none arrived. */
long adm_sync_client_status(const adm_sync_client_t *c);

/* One request: method "GET" or "POST", path with query ("/v1/sync?..."),
 * JSON body (POST) or NULL, extra_timeout_ms added to the timeout (a
 * long-poll's wait). Sends Accept-Encoding: gzip and, with credentials,
 * Authorization: Bearer <device_id>.<secret>. On 2xx *reply gets the parsed
 * JSON body (new reference; json_decref it). Errors: ADM_ERR_NETWORK
 * (cannot connect, reset, timeout, truncated body), ADM_ERR_TLS,
 * ADM_ERR_UNAUTHORIZED (401), ADM_ERR_REVOKED (403 device_revoked),
 * ADM_ERR_HTTP_STATUS (any other non-2xx; adm_sync_client_status() and
 * _error() tell which), ADM_ERR_FORMAT (2xx whose body is not a JSON
 * object), ADM_ERR_TOO_BIG (body over ADM_SYNC_REPLY_MAX), ADM_ERR_NOMEM. */
adm_err_t adm_sync_request(adm_sync_client_t *c, const char *method, const char *path,
                           const json_t *body, long extra_timeout_ms, json_t **reply);

/* ---- enrollment ----------------------------------------------------------- */

/* Enrollment URI "admit-enroll:<base URL>#<token>" (docs/sync.md §1). parse
 * copies the parts into base (cap ADM_SYNC_URL_MAX + 1) and token (cap
 * ADM_SYNC_TOKEN_MAX + 1); surrounding whitespace is ignored.
 * ADM_ERR_FORMAT when uri is not one; ADM_ERR_TOO_BIG. */
adm_err_t adm_enroll_uri_parse(const char *uri, char *base, size_t base_cap, char *token,
                               size_t token_cap);
adm_err_t adm_enroll_uri_format(const char *base, const char *token, char *out, size_t cap);

typedef struct adm_enrolled {
    char device_id[ADM_SYNC_DEVICE_ID_MAX + 1];
    char secret[ADM_SYNC_TOKEN_MAX + 1];
    int64_t event_id;
    char gate[ADM_SYNC_GATE_MAX + 1];
    bool relay; /* kind "relay" */
} adm_enrolled_t;

/* POST /v1/devices/enroll: trades token for device credentials (also set on
 * c). name may be NULL. Errors of adm_sync_request(); a used or expired
 * token is ADM_ERR_HTTP_STATUS (410), an unknown one ADM_ERR_HTTP_STATUS (404). */
adm_err_t adm_sync_enroll(adm_sync_client_t *c, const char *token, const char *name,
                          adm_enrolled_t *out);

/* ---- feed and upload ------------------------------------------------------ */

typedef struct adm_sync_cursor {
    int64_t revocations;
    int64_t checkins;
} adm_sync_cursor_t;

/* GET /v1/sync from cursor: *page gets a page that passed
 * adm_sync_page_check() (new reference). limit 0 = server default; wait_s
 * 0..ADM_SYNC_WAIT_MAX long-polls. ADM_ERR_FORMAT for a page that fails the
 * check; errors of adm_sync_request(). */
adm_err_t adm_sync_pull(adm_sync_client_t *c, adm_sync_cursor_t cursor, int limit, int wait_s,
                        json_t **page);

/* Validates a feed page completely (docs/sync.md §2: format, version, every
 * field's type and range, header arrays, rows, cursor, more) so consumers
 * may read it without further checks. ADM_OK or ADM_ERR_FORMAT with a
 * reason written to why (may be NULL, cap bytes). */
adm_err_t adm_sync_page_check(const json_t *page, char *why, size_t cap);

/* The page's cursor and more flag (page already checked). */
adm_sync_cursor_t adm_sync_page_cursor(const json_t *page);
bool adm_sync_page_more(const json_t *page);

/* POST /v1/sync/checkins with checkins (a JSON array of 1..ADM_SYNC_PUSH_MAX
 * rows, docs/sync.md §3; borrowed). *reply gets the server's reply (new
 * reference), checked to hold one result per row. */
adm_err_t adm_sync_push(adm_sync_client_t *c, const json_t *checkins, json_t **reply);

/* ---- retries ---------------------------------------------------------------- */

/* Exponential backoff with jitter: 500 ms doubling to 30 s, each delay
 * drawn uniformly from [d/2, d]. Zero-initialise. */
typedef struct adm_backoff {
    unsigned attempt;
} adm_backoff_t;

/* The delay before the next retry, in milliseconds; counts an attempt. */
long adm_backoff_next_ms(adm_backoff_t *b);
void adm_backoff_reset(adm_backoff_t *b);

#endif
