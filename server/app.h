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
 * booking, tickets, sync; in edge mode only accounts and sync) and, when
 * app->metrics is set, the booking counters in app->counters. ADM_ERR_NOMEM / ADM_ERR_INVALID_ARG from adm_http_route,
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
adm_err_t adm_routes_sync(adm_app_t *app, adm_http_server_t *srv);

/* New revocations or check-ins of event_id were stored (by a route or an
 * edge's upstream link): the feeds long-polling on srv for that event
 * answer now instead of at their next 0.5 s re-check. Thread-safe. */
void adm_app_sync_notify(adm_http_server_t *srv, int64_t event_id);

/* ---- sync helpers (route-sync.c) ------------------------------------------ */

#define ADM_APP_ENROLL_URI_MAX (ADM_CONFIG_URL_MAX + 64) /* "admit-enroll:<base>#<token>" + NUL */

/* Writes the base URL devices reach this server at into out (cap bytes,
 * NUL-terminated, no trailing '/'): cfg->public_url, or
 * "http://<listen>:<port>" when that is empty (IPv6 in brackets). */
void adm_app_public_url(const adm_config_t *cfg, char *out, size_t cap);

/* Writes "admit-enroll:<base>#<token>" (docs/sync.md §1) into out (cap
 * bytes). ADM_ERR_TOO_BIG when it does not fit. */
adm_err_t adm_app_enroll_uri(const char *base, const char *token, char *out, size_t cap);

/* JSON views of sync objects; each returns a new object (NULL when out of
 * memory). Times are unix seconds; 0 times and ticket ids are null.
 *   check-in list: {"id","name","reentry","ticket_types","gates"}, plus
 *     "event_id" and "created" when full (the organiser view);
 *   device: {"id","event_id","name","gate","kind","created","last_seen",
 *     "revoked_at"} (the secret hash never leaves the store);
 *   stored scan: {"seq","nonce","ticket_id","list_id","at","gate","device",
 *     "uploader","direction","verdict","reason","attention","text_hash",
 *     "conflict","received_at"};
 *   counts (GET /v1/events/{id}/checkins/stats): rows from
 *     adm_store_checkin_stats(), names from the event's lists. */
json_t *adm_app_checkin_list_json(const adm_checkin_list_t *l, bool full);
json_t *adm_app_device_json(const adm_device_t *d);
json_t *adm_app_checkin_json(const adm_checkin_t *c);
json_t *adm_app_checkin_stats_json(int64_t event_id, const adm_checkin_stats_row_t *rows, size_t n,
                                   const adm_checkin_list_t *lists, size_t n_lists);

/* ADM_OK when event_id can have devices, lists and scans here: a catalog
 * event (central), or an event this edge mirrors (app->cfg->mode edge, or
 * edge true). ADM_ERR_NOT_FOUND when it is not; store errors. The
 * store-only form serves admitctl. */
adm_err_t adm_app_sync_event_check(adm_app_t *app, int64_t event_id);
adm_err_t adm_app_sync_event_store_check(adm_store_t *st, bool edge, int64_t event_id);

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
 *  "per_order_max","per_customer_max","sale_starts","sale_ends","on_sale",
 *  "special","reentry","zone"},
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

/* ---- device authentication (auth.c, docs/sync.md §1) ---------------------
 * Enrollment tokens and device secrets are ADM_AUTH_TOKEN_BYTES random bytes
 * as base64url without padding (43 characters); the store keeps only
 * adm_auth_secret_hash() of the text. */

#define ADM_AUTH_SECRET_TEXT_LEN 43 /* base64url of ADM_AUTH_TOKEN_BYTES, no padding */

/* BLAKE2b-256 of len bytes of text into out. */
void adm_auth_secret_hash(const char *text, size_t len,
                          uint8_t out[ADM_STORE_SECRET_HASH_BYTES]);

/* Makes a one-time enrollment token for spec and stores its hash: token
 * (cap >= ADM_AUTH_TOKEN_MAX) gets the text to hand to the device, wiped on
 * failure. The caller has checked the event. ADM_ERR_INVALID_ARG, store
 * errors (a hash collision, ADM_ERR_EXISTS, is retried). */
adm_err_t adm_auth_enrollment_create(adm_store_t *st, const adm_enrollment_spec_t *spec,
                                     int64_t now, char *token, size_t cap);

/* Trades an enrollment token for a new device "dv_<16 hex>" named name
 * (may be NULL or ""): *out gets the device and secret (cap >=
 * ADM_AUTH_TOKEN_MAX) its new secret, wiped on failure. ADM_ERR_NOT_FOUND
 * (unknown or malformed token), ADM_ERR_EXPIRED, ADM_ERR_STATE (used), store
 * errors. */
adm_err_t adm_auth_device_enroll(adm_store_t *st, const char *token, const char *name,
                                 int64_t now, adm_device_t *out, char *secret, size_t cap);

/* Authenticates "Authorization: Bearer <device_id>.<secret>" (the hashes
 * are compared in constant time) into *out. On failure replies itself (401
 * unauthorized with WWW-Authenticate for a missing, malformed or unknown
 * credential; 403 device_revoked; 503 store_unavailable) and returns false. */
bool adm_auth_device(adm_http_req_t *req, adm_app_t *app, adm_device_t *out);

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
 * who NULL (anonymous) scopes the key by client IP ("ip:<addr>", see
 * adm_http_client_ip() for trusted proxies), else by
 * user ("u:<id>"). The fingerprint is adm_idem_fingerprint() of the request.
 * Replays carry the stored status and body byte for byte, plus the header
 * "Idempotent-Replayed: true". A malformed key (1..ADM_STORE_IDEM_KEY_MAX
 * printable ASCII characters, no spaces) is 400 bad_idempotency_key.
 * 2xx-4xx responses are stored and replayed; a 5xx releases the key
 * instead (the first attempt failed on our side, so a retry with the same
 * key runs again). */
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
