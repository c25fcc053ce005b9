/* api.h: the harness for admitd's HTTP API tests (tests/server/test-api-*.c):
 * an in-process admitd (fresh SQLite store in a temporary directory, every
 * /v1 route, 127.0.0.1 on an ephemeral port, logging off) and a small
 * libcurl client, plus shortcuts to make users, sessions and a catalog.
 * With ADMIT_TEST_STORE=mysql the store is the MariaDB primary of
 * ADMIT_TEST_MYSQL_PRIMARY instead (a shared database: tests make fresh
 * fixtures and never count rows they did not create).
 * Not for unit tests of one module: those call the module directly.
 *
 *     adm_api_t *api;
 *     CHECK_ERR(adm_api_start(&api), ADM_OK);
 *     long status; json_t *res;
 *     adm_api_request(api, "GET", "/v1/events", NULL, NULL, NULL, &status, &res);
 *     CHECK_INT(status, 200);
 *     json_decref(res);
 *     adm_api_stop(api);
 *
 * Set ADMIT_TEST_LOG=1 to see admitd's logs (debug level, access log on). */
#ifndef ADM_TEST_API_H
#define ADM_TEST_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/app.h"
#include "server/config.h"
#include "server/http.h"
#include "server/store.h"

#define ADM_API_PASSWORD "correct horse battery" /* password of adm_api_user() users */

/* A running test server. Members are read-only for tests, except that a test
 * may call the store, issuer and payments directly (all thread-safe). */
typedef struct adm_api {
    adm_config_t *cfg; /* defaults, sqlite in dir (or mysql), port 0, public_url = base_url */
    adm_store_t *store;
    struct adm_issuer *issuer;
    struct adm_payments *payments;
    adm_app_t app;          /* app.now is the harness clock (adm_api_set_now) */
    adm_metrics_t *metrics; /* what GET /metrics shows: HTTP, store and booking metrics */
    adm_http_server_t *srv;
    uint16_t port;
    char dir[512];     /* temporary directory holding the database */
    char base_url[64]; /* "http://127.0.0.1:<port>" */
    char pwhash[256];  /* hash of ADM_API_PASSWORD, computed once */
} adm_api_t;

/* Starts a server into *out; stop it with adm_api_stop(). Only one at a time
 * per process (the clock is process-wide). ADM_ERR_NOMEM, store, issuer,
 * payments and listen errors. */
adm_err_t adm_api_start(adm_api_t **out);

/* Stops the server, closes the store and frees api. NULL is accepted. The
 * temporary directory is left behind for post-mortems (it lives in $TMPDIR). */
void adm_api_stop(adm_api_t *api);

/* The server's clock: 0 (the default) follows the wall clock; any other
 * value freezes it there. adm_api_advance() moves it by secs from now. */
void adm_api_set_now(adm_api_t *api, int64_t now);
void adm_api_advance(adm_api_t *api, int64_t secs);
int64_t adm_api_now(const adm_api_t *api);

/* ---- requests ---------------------------------------------------------- */

/* A raw response. body is NUL-terminated (len excludes the NUL); headers are
 * the raw response header lines. Free with adm_api_resp_free(). */
typedef struct adm_api_resp {
    long status;
    char *body;
    size_t len;
    char *headers;
    size_t headers_len;
} adm_api_resp_t;

void adm_api_resp_free(adm_api_resp_t *r);

/* The value of response header name (case-insensitive) copied into out (cap
 * bytes); NULL when absent. */
const char *adm_api_resp_header(const adm_api_resp_t *r, const char *name, char *out, size_t cap);

/* Sends method path (with any query string) to the server. token: a bearer
 * token or NULL. body: len bytes or NULL; sent with content_type (NULL =
 * "application/json"). headers: NULL-terminated extra "Name: value" lines or
 * NULL. Each call uses its own connection, so threads may call it at once.
 * ADM_ERR_IO when the request could not be made at all (r->status 0). */
adm_err_t adm_api_request_raw(adm_api_t *api, const char *method, const char *path,
                              const char *token, const void *body, size_t len,
                              const char *content_type, const char *const *headers,
                              adm_api_resp_t *r);

/* The JSON shortcut: json_body (a string, or NULL for none) as
 * application/json, one optional extra header ("Idempotency-Key: k1" or
 * NULL). *status gets the HTTP status (0 when the request failed); *response
 * (may be NULL) gets the parsed body, a new reference the caller decrefs, or
 * NULL for an empty or non-JSON body. */
adm_err_t adm_api_request(adm_api_t *api, const char *method, const char *path, const char *token,
                          const char *json_body, const char *header, long *status,
                          json_t **response);

/* As adm_api_request() with the body built from a json_pack() format. */
adm_err_t adm_api_requestf(adm_api_t *api, const char *method, const char *path, const char *token,
                           const char *header, long *status, json_t **response, const char *fmt,
                           ...);

/* ---- fixtures (straight through the store, fast) ---------------------- */

/* Creates a user with role and password ADM_API_PASSWORD (email made unique
 * when NULL) and a session for it: token (ADM_AUTH_TOKEN_MAX bytes) gets the
 * bearer token, *id (may be NULL) the user id. */
adm_err_t adm_api_user(adm_api_t *api, adm_role_t role, const char *email, char *token,
                       int64_t *id);

/* Signs in through POST /v1/sessions; token gets the bearer token.
 * ADM_ERR_INVALID_ARG when the server refuses (status not 201). */
adm_err_t adm_api_login(adm_api_t *api, const char *email, const char *password, char *token,
                        size_t cap);

/* A venue in city ("Kuala Lumpur" when NULL) with capacity 1000. */
adm_err_t adm_api_venue(adm_api_t *api, const char *city, int64_t *id);

/* An event at venue_id titled title (a default when NULL), starting at
 * starts_at (0 = now + 30 days) for 3 hours, moved to status. */
adm_err_t adm_api_event(adm_api_t *api, int64_t venue_id, const char *title, int64_t starts_at,
                        adm_event_status_t status, int64_t *id);

/* A ticket type of event_id: price in MYR minor units, capacity seats,
 * per-order max 10, no per-customer limit, always on sale. */
adm_err_t adm_api_ticket_type(adm_api_t *api, int64_t event_id, const char *name, int64_t price,
                              int64_t capacity, int64_t *id);

/* All three: a venue, an on-sale event and a type (5000 MYR, capacity 100).
 * event_id and type_id may be NULL. */
adm_err_t adm_api_catalog(adm_api_t *api, int64_t *event_id, int64_t *type_id);

#endif
