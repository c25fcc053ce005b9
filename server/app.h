/* app.h: admitd's application layer, the glue between the HTTP core
 * (http.h) and the store (store.h): the shared context every route handler
 * receives, authentication, idempotent POSTs, and the route tables. Not for
 * SQL (store*.c) nor for HTTP parsing (http.c). */
#ifndef ADM_APP_H
#define ADM_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "server/config.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/store.h"
#include "sync/err.h"

struct adm_issuer;   /* issuer.h: per-event signing keys, token issuance */
struct adm_payments; /* payment.h: payment provider registry */

/* The booking counters in adm_app_t.metrics (docs/api.md "Metrics"). */
typedef struct adm_app_counters {
    adm_counter_t *holds;          /* admit_holds_total{result} */
    adm_counter_t *holds_expired;  /* admit_holds_expired_total */
    adm_counter_t *orders;         /* admit_orders_total{event} */
    adm_counter_t *tickets_issued; /* admit_tickets_issued_total */
} adm_app_counters_t;

/* The context passed (as ctx) to every route handler. Owned by main.c (or a
 * test); every member outlives the HTTP server. Handlers may use it from any
 * pool thread: store, issuer, payments and metrics are thread-safe. */
typedef struct adm_app {
    adm_store_t *store;
    const adm_config_t *cfg;
    struct adm_issuer *issuer;
    struct adm_payments *payments;
    int64_t (*now)(void);        /* unix seconds; tests may substitute a clock; NULL = time() */
    int64_t session_ttl_s;       /* lifetime of a login session; 0 = ADM_AUTH_SESSION_TTL_DEFAULT */
    adm_metrics_t *metrics;      /* registry for the booking counters (borrowed); NULL = none */
    adm_app_counters_t counters; /* registered by adm_app_routes(); leave zeroed */
} adm_app_t;

/* app->now() when set, else the wall clock (unix seconds). */
int64_t adm_app_now(const adm_app_t *app);

/* Registers every /v1 route of admitd on srv (accounts, catalog, organiser,
 * booking, tickets) and, when app->metrics is set, the booking counters in
 * app->counters. ADM_ERR_NOMEM / ADM_ERR_INVALID_ARG from adm_http_route,
 * the errors of adm_metrics_counter(). */
adm_err_t adm_app_routes(adm_app_t *app, adm_http_server_t *srv);

/* Booking metrics: count one hold request outcome (result: a static label
 * such as "created" or "sold_out"), one order event ("created", "paid",
 * "cancelled", "refunded", "expired"), n tickets signed. No-ops until
 * adm_app_routes() registered the counters, or without app->metrics. */
void adm_app_count_hold(adm_app_t *app, const char *result);
void adm_app_count_order(adm_app_t *app, const char *event, size_t n);
void adm_app_count_tickets(adm_app_t *app, size_t n);

/* Route tables, one per file (route-*.c); adm_app_routes calls them all. */
adm_err_t adm_routes_accounts(adm_app_t *app, adm_http_server_t *srv);
adm_err_t adm_routes_catalog(adm_app_t *app, adm_http_server_t *srv);
adm_err_t adm_routes_organiser(adm_app_t *app, adm_http_server_t *srv);
adm_err_t adm_routes_booking(adm_app_t *app, adm_http_server_t *srv);

/* ---- request helpers (app.c) --------------------------------------------- */

/* Parses path parameter name as an id: decimal digits only, 1..INT64_MAX.
 * On failure replies 400 {"error":"bad_id"} and returns false, so a handler
 * just returns. */
bool adm_app_path_id(adm_http_req_t *req, const char *name, int64_t *out);

/* Checks that obj is a JSON object whose keys are all in allowed (a
 * NULL-terminated list). On failure replies 400 {"error":"bad_field"} ("body
 * must be a JSON object") or 400 {"error":"unknown_field"} naming the first
 * unknown key, and returns false. */
bool adm_app_check_fields(adm_http_req_t *req, const json_t *obj, const char *const *allowed);

/* Reads obj[key] as text for the store: a JSON string of at most max_bytes
 * bytes, without NUL or control characters (multiline allows \n and \t),
 * non-empty when required. *out is borrowed from obj; NULL when the key
 * is absent and !required. On failure replies 400 {"error":"bad_field"}
 * naming the key and returns false. */
bool adm_app_json_text(adm_http_req_t *req, const json_t *obj, const char *key, bool required,
                       size_t max_bytes, bool multiline, const char **out);

/* ---- JSON views of catalog objects (route-catalog.c) ----------------------
 * Each returns a new object (json_decref it, or hand it to a reply), NULL
 * when out of memory. Times are unix seconds, money in minor units. */

/* {"id","name","city","address","capacity","created","updated"} */
json_t *adm_app_venue_json(const adm_venue_t *v);

/* {"id","venue_id","title","city","category","description","starts_at",
 *  "ends_at","status","created","updated"} */
json_t *adm_app_event_json(const adm_event_t *e);

/* {"id","event_id","name","price","currency","capacity","available",
 *  "per_order_max","per_customer_max","sale_starts","sale_ends","on_sale"},
 * plus "sold" and "held" when staff. on_sale: the event is on sale (pass its
 * status) and now is inside the type's sale window. */
json_t *adm_app_type_json(const adm_ticket_type_t *t, adm_event_status_t event_status, int64_t now,
                          bool staff);

/* ---- authentication (auth.c) --------------------------------------------- */

typedef struct adm_principal {
    int64_t user_id;
    adm_role_t role;
} adm_principal_t;

/* Authenticates the request's "Authorization: Bearer <token>" against the
 * store's sessions and checks that the user's role is at least min_role
 * (customer < crew < organiser). On failure replies itself (401 unauthorized
 * with WWW-Authenticate, 403 forbidden, 503 store_unavailable) and returns
 * false; the handler then just returns. */
bool adm_auth_require(adm_http_req_t *req, adm_app_t *app, adm_role_t min_role,
                      adm_principal_t *out);

/* As adm_auth_require(..., ADM_ROLE_CUSTOMER, out) when the request carries
 * an Authorization header; without one, fills *out with user_id 0 (anonymous,
 * role customer) and returns true. For public endpoints that show more to
 * organisers. A header that does not authenticate is still 401. */
bool adm_auth_optional(adm_http_req_t *req, adm_app_t *app, adm_principal_t *out);

/* Deletes the session of the request's bearer token (logout).
 * ADM_ERR_NOT_FOUND when the request has no (known) token, store errors. */
adm_err_t adm_auth_logout(adm_http_req_t *req, adm_app_t *app);

/* Password hashing (Argon2id, libsodium crypto_pwhash_str with the
 * interactive limits). adm_auth_hash_password writes into out (cap >=
 * crypto_pwhash_STRBYTES). adm_auth_check_password: ADM_OK on match,
 * ADM_ERR_INVALID_ARG on mismatch. */
adm_err_t adm_auth_hash_password(const char *password, char *out, size_t cap);
adm_err_t adm_auth_check_password(const char *hash, const char *password);

/* Creates a session for user_id: writes a new random bearer token (base64url,
 * NUL-terminated) into token (cap >= ADM_AUTH_TOKEN_MAX); only its BLAKE2b
 * hash is stored. */
#define ADM_AUTH_TOKEN_MAX 64
#define ADM_AUTH_TOKEN_BYTES 32                       /* random bytes behind a token */
#define ADM_AUTH_SESSION_TTL_DEFAULT (30 * 24 * 3600) /* seconds */
#define ADM_AUTH_PASSWORD_MIN 8                       /* characters (code points) */
#define ADM_AUTH_PASSWORD_MAX 1024
adm_err_t adm_auth_session_create(adm_app_t *app, int64_t user_id, int64_t ttl_s, char *token,
                                  size_t cap);

/* ---- idempotent POSTs (idem.c) -------------------------------------------- */

/* Every POST honours an "Idempotency-Key" header: the first request with a
 * key runs and its response is stored; a replay (same key, same principal)
 * returns the stored response and creates nothing; the same key with a
 * different request body is 422 idempotency_mismatch; a replay while the
 * first is still running is 409 idempotency_in_progress.
 *
 * Usage in a POST handler, after authentication:
 *     adm_idem_ctx_t *idem;
 *     if (!adm_idem_begin(req, app, &principal, &idem)) return; // replied
 *     ... do the work, build json_t *body ...
 *     adm_idem_reply_json(req, app, idem, 201, body);           // stores + replies
 *     (or adm_idem_reply_error(...) for a 4xx that must also replay)
 * idem is NULL when the request carries no key; the reply helpers then just
 * reply. Handlers never free idem: the reply helpers do.
 *
 * Validate the request body BEFORE adm_idem_begin (adm_http_body_json,
 * adm_http_json_*, adm_app_check_fields reply by themselves and are not
 * recorded: an invalid request creates nothing, so a retry with a corrected
 * body may reuse the key). Once begin returned a non-NULL idem, reply only
 * through adm_idem_reply_*: any other reply leaves the key "in progress"
 * until ADM_STORE_IDEM_TTL_S passes.
 *
 * who NULL (anonymous) scopes the key by client IP ("ip:<addr>"), else by
 * user ("u:<id>"). The fingerprint is adm_idem_fingerprint() of the request.
 * Replays carry the stored status and body byte for byte, plus the header
 * "Idempotent-Replayed: true". A malformed key (1..ADM_STORE_IDEM_KEY_MAX
 * printable ASCII characters, no spaces) is 400 bad_idempotency_key.
 * Responses are stored whatever their status, 5xx included (the store has
 * no way to drop a reservation): after a 5xx, retry with a new key. */
typedef struct adm_idem_ctx adm_idem_ctx_t;
bool adm_idem_begin(adm_http_req_t *req, adm_app_t *app, const adm_principal_t *who,
                    adm_idem_ctx_t **out);
void adm_idem_reply_json(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, unsigned status,
                         json_t *body);
void adm_idem_reply_error(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem,
                          unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* adm_app_reply_err() through idem: stores and replies the mapped error. */
void adm_idem_reply_err(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, adm_err_t err);

#define ADM_IDEM_HEADER "Idempotency-Key"
#define ADM_IDEM_FINGERPRINT_HEX 64 /* hex digits of a fingerprint */

/* Writes the fingerprint of a request into out (ADM_IDEM_FINGERPRINT_HEX
 * + 1 bytes): lower-case hex of BLAKE2b-256 over method, NUL, path, NUL,
 * and the body's BLAKE2b-256. body may be NULL when len is 0. */
void adm_idem_fingerprint(const char *method, const char *path, const void *body, size_t len,
                          char out[ADM_IDEM_FINGERPRINT_HEX + 1]);

/* ---- housekeeping (app.c) ------------------------------------------------- */

typedef struct adm_reaper adm_reaper_t;

/* One housekeeping pass at adm_app_now(app): adm_store_reap() (expired holds
 * and unpaid orders, sessions, idempotency records) and, when app->issuer is
 * set, adm_issuer_sign_unsigned() (tickets a crash left unsigned), counted in
 * admit_holds_expired_total, admit_orders_total{event="expired"} and
 * admit_tickets_issued_total. *stats and *n_signed may be NULL. Returns the
 * first failure; both steps always run. */
adm_err_t adm_app_housekeep(adm_app_t *app, adm_reap_stats_t *stats, size_t *n_signed);

/* Starts a thread that runs adm_app_housekeep() at once and then every
 * interval_s (>= 1) seconds, logging what it did, until adm_reaper_stop().
 * app is borrowed and must outlive the reaper. ADM_ERR_INVALID_ARG,
 * ADM_ERR_NOMEM, ADM_ERR_IO when the thread cannot start. */
adm_err_t adm_reaper_start(adm_app_t *app, int interval_s, adm_reaper_t **out);

/* Wakes the thread, waits for a pass in progress to finish, joins and frees
 * it. NULL is accepted. */
void adm_reaper_stop(adm_reaper_t *r);

/* Maps a store error to an HTTP reply: NOT_FOUND 404 not_found, EXISTS 409
 * exists, CONFLICT 409 conflict, SOLD_OUT 409 sold_out, SALE_CLOSED 409
 * sale_closed, LIMIT 422 limit_exceeded, EXPIRED 410 expired, STATE 409
 * invalid_state, INVALID_ARG 400 bad_request, TOO_BIG 400 too_big,
 * STORE_UNAVAILABLE 503 store_unavailable (with Retry-After: 1), anything
 * else 500 internal. The message is adm_strerror(err). */
unsigned adm_app_status_for(adm_err_t err);
void adm_app_reply_err(adm_http_req_t *req, adm_err_t err);

/* The "error" code adm_app_reply_err() sends for err (static string). */
const char *adm_app_err_code(adm_err_t err);

#endif
