/* store.h: the inventory store interface admitd uses (catalog, holds, orders,
 * tickets, accounts, and the sync tables of docs/sync.md). One interface, backends of equal standing behind a
 * table of function pointers: store-sqlite.c (embedded default) and
 * store-mysql.c (MariaDB primary + read replicas). Not for HTTP concerns. */
#ifndef ADM_STORE_H
#define ADM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/metrics.h"
#include "sync/checkin.h"
#include "sync/err.h"
#include "sync/token.h"

#define ADM_STORE_MAX_REPLICAS 16

typedef struct adm_store adm_store_t;

typedef enum adm_store_backend {
    ADM_STORE_SQLITE = 0,
    ADM_STORE_MYSQL = 1,
} adm_store_backend_t;

/* Where the store lives. Strings are borrowed for the duration of adm_store_open(). */
typedef struct adm_store_config {
    adm_store_backend_t backend;
    const char *sqlite_path;     /* sqlite: database file (created if missing) */
    const char *mysql_primary;   /* mysql: "mysql://user:pass@host:port/db" or the socket
                                  * form "mysql://user:pass@/db?socket=/path" (docs/store.md §8) */
    const char *mysql_replicas[ADM_STORE_MAX_REPLICAS];
    size_t n_replicas;
    int pool_size;               /* connections per backend server; 0 = default */
    int replica_max_lag_s;       /* a replica lagging more leaves rotation; 0 = default (5) */
} adm_store_config_t;

/* Opens (and migrates) the store into *out; free with adm_store_close().
 * ADM_ERR_CONFIG for a bad config, ADM_ERR_STORE_UNAVAILABLE when the
 * database cannot be reached, ADM_ERR_STORE when a migration fails. */
adm_err_t adm_store_open(const adm_store_config_t *cfg, adm_store_t **out);

/* Closes the store and its connections. NULL is accepted. */
void adm_store_close(adm_store_t *st);

/* ADM_OK when the primary answers a trivial query (for /readyz). */
adm_err_t adm_store_ping(adm_store_t *st);

/* Backend name for metrics and logs: "sqlite" or "mysql". */
const char *adm_store_backend_name(const adm_store_t *st);

/* Records the store's metrics into m (borrowed: it must outlive the store):
 *   admit_store_queries_total{backend,role}: transaction attempts by the
 *     role ("primary" or "replica") of the database server that ran them;
 *   admit_store_operations_total{backend,op,result}: calls that reached the
 *     backend, by operation ("hold_create", ...) and result ("ok" or the
 *     adm_err_name() of the error);
 *   admit_store_operation_duration_seconds{backend,op}: their latency.
 * Call it after adm_store_open() and before other threads use the store;
 * NULL m turns recording off. Registering again in the same registry is
 * fine. ADM_ERR_INVALID_ARG for a NULL st; the errors of
 * adm_metrics_counter() (ADM_ERR_EXISTS, ADM_ERR_TOO_BIG, ADM_ERR_NOMEM),
 * after which the store records nothing. */
adm_err_t adm_store_set_metrics(adm_store_t *st, adm_metrics_t *m);

/* ------------------------------------------------------------------------
 * Conventions for everything below (docs/store.md has the full model).
 *
 * - Every function is safe to call from any number of threads at once on
 *   one adm_store_t; the backend keeps a pool of connections.
 * - Ids are positive int64_t. Event and ticket type ids also fit the 32-bit
 *   fields of a signed ticket (sync/token.h); ticket ids are random 53-bit (exact as JSON numbers).
 * - Times are unix seconds passed in by the caller ("now"): the store never
 *   reads the clock, so expiry is deterministic and testable.
 * - Input strings are borrowed for the call, NUL-terminated, UTF-8 without
 *   control characters (descriptions and addresses may hold \n and \t).
 *   They are checked once in store.c before any backend runs: longer than
 *   the bound below -> ADM_ERR_TOO_BIG; empty where required, malformed or
 *   out of range -> ADM_ERR_INVALID_ARG.
 * - Output structs have fixed-size string fields (bound + 1 for the NUL).
 *   Lists are returned as a new array of *n structs: the caller frees it with
 *   free() (event keys: adm_store_event_keys_free(), which wipes the seeds).
 *   On failure list outputs are NULL/0 and struct outputs are zeroed.
 * - Failure modes shared by every call: ADM_ERR_STORE (the database reported
 *   an error), ADM_ERR_STORE_UNAVAILABLE (cannot reach it, or it stayed busy
 *   past the bounded retries; retry later), ADM_ERR_NOMEM.
 * ---------------------------------------------------------------------- */

#define ADM_STORE_NAME_MAX 100      /* venue, ticket type and display names */
#define ADM_STORE_CITY_MAX 100
#define ADM_STORE_ADDRESS_MAX 300
#define ADM_STORE_TITLE_MAX 200
#define ADM_STORE_CATEGORY_MAX 50
#define ADM_STORE_DESCRIPTION_MAX 4000
#define ADM_STORE_EMAIL_MAX 254
#define ADM_STORE_PWHASH_MAX 255    /* libsodium crypto_pwhash_STRBYTES is 128 */
#define ADM_STORE_CURRENCY_LEN 3    /* ISO 4217, three upper-case letters */
#define ADM_STORE_ZONE_MAX 32       /* ticket type seat/zone label, bytes (= ADM_TOKEN_LABEL_MAX) */
#define ADM_STORE_SEARCH_TEXT_MAX 100
#define ADM_STORE_HOLD_ID_LEN 32    /* 128 random bits as lower-case hex */
#define ADM_STORE_ORDER_CODE_LEN 9  /* "A7K3-9QXM" */
#define ADM_STORE_SESSION_HASH_BYTES 32
#define ADM_STORE_PROVIDER_MAX 32   /* payment provider name: [a-z0-9_-] */
#define ADM_STORE_PROVIDER_REF_MAX 128
#define ADM_STORE_IDEM_SCOPE_MAX 64 /* "u:<user id>" or a client key */
#define ADM_STORE_IDEM_KEY_MAX 128
#define ADM_STORE_IDEM_FINGERPRINT_MAX 64
#define ADM_STORE_IDEM_BODY_MAX (64 * 1024)
#define ADM_STORE_IDEM_TTL_S (24 * 3600)
#define ADM_STORE_GTID_MAX 255

#define ADM_STORE_PAGE_MAX 100           /* events or orders per page */
#define ADM_STORE_PAGE_DEFAULT 20
#define ADM_STORE_REVOCATIONS_PAGE_MAX 1000
#define ADM_STORE_TYPES_MAX 100          /* ticket types per event */
#define ADM_STORE_EVENT_KEYS_MAX 64      /* signing keys per event, retired ones included */
#define ADM_STORE_ORDER_ITEMS_MAX 16     /* holds per checkout = items per order */
#define ADM_STORE_QUANTITY_MAX 100       /* seats per hold and per-order limit cap */
#define ADM_STORE_CAPACITY_MAX 10000000  /* venue and ticket type capacity */
#define ADM_STORE_PRICE_MAX 1000000000   /* minor units; keeps revenue sums in int64 */
#define ADM_STORE_HOLD_TTL_MAX 3600
#define ADM_STORE_PAY_TTL_DEFAULT 900    /* seconds a pending order waits for payment */
#define ADM_STORE_PAY_TTL_MAX (7 * 86400) /* 86400 until a pending order could be extended for
                                          * a bank transfer (adm_store_order_extend) */
#define ADM_STORE_ORDER_TICKETS_MAX (ADM_STORE_ORDER_ITEMS_MAX * ADM_STORE_QUANTITY_MAX)

/* ---- read routing ------------------------------------------------------- */

/* Where a read may be answered. Writes always go to the primary; SQLite has
 * one database and ignores the hint. Anything that decides seats or money
 * (holds, checkout, pay, limits, sessions, idempotency) reads the primary
 * inside its own transaction and takes no hint. */
typedef enum adm_read_mode {
    ADM_READ_ANY = 0,     /* a replica within replica_max_lag_s, else the primary */
    ADM_READ_PRIMARY = 1, /* the primary: the answer must be current */
    ADM_READ_AFTER = 2,   /* a replica that has applied .gtid, else the primary */
} adm_read_mode_t;

typedef struct adm_read {
    adm_read_mode_t mode;
    const char *gtid; /* ADM_READ_AFTER: a position from adm_store_write_position(),
                       * borrowed for the call; "" behaves as ADM_READ_PRIMARY */
} adm_read_t;

#define ADM_READ_HINT_ANY ((adm_read_t){.mode = ADM_READ_ANY, .gtid = NULL})
#define ADM_READ_HINT_PRIMARY ((adm_read_t){.mode = ADM_READ_PRIMARY, .gtid = NULL})
#define ADM_READ_HINT_AFTER(g) ((adm_read_t){.mode = ADM_READ_AFTER, .gtid = (g)})

/* Copies into out (cap bytes, NUL-terminated) the primary's replication
 * position after the caller's last write, for a session cookie that makes
 * its next reads ADM_READ_AFTER (read-your-writes). SQLite writes "".
 * ADM_ERR_TOO_BIG when cap is too small (ADM_STORE_GTID_MAX + 1 suffices). */
adm_err_t adm_store_write_position(adm_store_t *st, char *out, size_t cap);

/* *version gets the highest migration applied to the database. */
adm_err_t adm_store_schema_version(adm_store_t *st, int *version);

/* ---- catalog ------------------------------------------------------------ */

typedef struct adm_venue_spec {
    const char *name;    /* required, <= ADM_STORE_NAME_MAX */
    const char *city;    /* required, <= ADM_STORE_CITY_MAX */
    const char *address; /* may be "", <= ADM_STORE_ADDRESS_MAX */
    int64_t capacity;    /* 0..ADM_STORE_CAPACITY_MAX */
} adm_venue_spec_t;

typedef struct adm_venue {
    int64_t id;
    char name[ADM_STORE_NAME_MAX + 1];
    char city[ADM_STORE_CITY_MAX + 1];
    char address[ADM_STORE_ADDRESS_MAX + 1];
    int64_t capacity;
    int64_t created, updated;
} adm_venue_t;

typedef enum adm_event_status {
    ADM_EVENT_DRAFT = 0,
    ADM_EVENT_ON_SALE = 1,
    ADM_EVENT_CANCELLED = 2,
    ADM_EVENT_ENDED = 3,
} adm_event_status_t;

typedef struct adm_event_spec {
    int64_t venue_id;        /* create only; ignored by update */
    const char *title;       /* required, <= ADM_STORE_TITLE_MAX */
    const char *city;        /* NULL or "" = the venue's city; <= ADM_STORE_CITY_MAX */
    const char *category;    /* may be "", <= ADM_STORE_CATEGORY_MAX */
    const char *description; /* may be "" or NULL, <= ADM_STORE_DESCRIPTION_MAX */
    int64_t starts_at;       /* > 0 */
    int64_t ends_at;         /* >= starts_at */
} adm_event_spec_t;

typedef struct adm_event {
    int64_t id;
    int64_t venue_id;
    char title[ADM_STORE_TITLE_MAX + 1];
    char city[ADM_STORE_CITY_MAX + 1];
    char category[ADM_STORE_CATEGORY_MAX + 1];
    char description[ADM_STORE_DESCRIPTION_MAX + 1];
    int64_t starts_at, ends_at;
    adm_event_status_t status;
    int64_t revocation_seq; /* last revocation sequence number, 0 = none */
    int64_t created, updated;
} adm_event_t;

/* Keyset position in a search: the last (starts_at, id) of a page. The zero
 * cursor means "from the start". */
typedef struct adm_event_cursor {
    int64_t starts_at;
    int64_t id;
} adm_event_cursor_t;

typedef struct adm_event_query {
    const char *city;     /* exact, ASCII case-insensitive; NULL or "" = any */
    const char *category; /* exact, ASCII case-insensitive; NULL or "" = any */
    const char *text;     /* substring of title or description, ASCII
                           * case-insensitive, % and _ literal; NULL or "" = any;
                           * <= ADM_STORE_SEARCH_TEXT_MAX */
    int64_t starts_from;  /* starts_at >= this; 0 = unbounded */
    int64_t starts_before; /* starts_at < this; 0 = unbounded */
    bool all_statuses;    /* organiser view; otherwise only ADM_EVENT_ON_SALE */
    adm_event_cursor_t after; /* return events strictly after this position */
    size_t limit;         /* 1..ADM_STORE_PAGE_MAX; 0 = ADM_STORE_PAGE_DEFAULT */
} adm_event_query_t;

typedef struct adm_ticket_type_spec {
    int64_t event_id;         /* create only; ignored by update */
    const char *name;         /* required, <= ADM_STORE_NAME_MAX */
    int64_t price;            /* minor units, 0..ADM_STORE_PRICE_MAX */
    const char *currency;     /* ISO 4217, e.g. "MYR" */
    int64_t capacity;         /* 0..ADM_STORE_CAPACITY_MAX */
    int32_t per_order_max;    /* seats per hold/order, 1..ADM_STORE_QUANTITY_MAX */
    int32_t per_customer_max; /* seats per customer (held + bought); 0 = unlimited */
    int64_t sale_starts;      /* holds allowed when sale_starts <= now (0 = any time) */
    int64_t sale_ends;        /* ... and now < sale_ends (0 = no end) */
    bool special;             /* tickets carry ADM_TICKET_SPECIAL: gates flag them for attention
                               * (accessibility, VIP, check ID) */
    bool reentry;             /* tickets carry ADM_TICKET_REENTRY: re-entry after an exit even
                               * on a "once" check-in list */
    const char *zone;         /* seat/zone label printed in the tickets ("Block A", "Balcony");
                               * NULL or "" = none; <= ADM_STORE_ZONE_MAX */
} adm_ticket_type_spec_t;

typedef struct adm_ticket_type {
    int64_t id;
    int64_t event_id;
    char name[ADM_STORE_NAME_MAX + 1];
    int64_t price;
    char currency[ADM_STORE_CURRENCY_LEN + 1];
    int64_t capacity;
    int64_t sold; /* seats of paid orders */
    int64_t held; /* seats of holds and pending orders, including expired ones
                   * not yet released by the reaper */
    int32_t per_order_max, per_customer_max;
    int64_t sale_starts, sale_ends;
    bool special, reentry;
    char zone[ADM_STORE_ZONE_MAX + 1];
    int64_t created, updated;
} adm_ticket_type_t;

typedef struct adm_availability {
    int64_t type_id;
    int64_t capacity, sold, held;
    int64_t available; /* capacity - sold - held, never negative */
} adm_availability_t;

/* Creates a venue; *id gets its id. */
adm_err_t adm_store_venue_create(adm_store_t *st, const adm_venue_spec_t *spec, int64_t now,
                                 int64_t *id);

/* Replaces the editable fields of venue id. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_venue_update(adm_store_t *st, int64_t id, const adm_venue_spec_t *spec,
                                 int64_t now);

/* Fills *out. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_venue_get(adm_store_t *st, adm_read_t rd, int64_t id, adm_venue_t *out);

/* Creates an event in ADM_EVENT_DRAFT; *id gets its id. ADM_ERR_NOT_FOUND
 * when the venue does not exist. */
adm_err_t adm_store_event_create(adm_store_t *st, const adm_event_spec_t *spec, int64_t now,
                                 int64_t *id);

/* Replaces title, city, category, description and times of event id.
 * ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_event_update(adm_store_t *st, int64_t id, const adm_event_spec_t *spec,
                                 int64_t now);

/* Moves event id to status. Allowed: draft -> on_sale | cancelled;
 * on_sale -> draft (pause) | cancelled | ended; the same status is a no-op.
 * Anything else is ADM_ERR_STATE (cancelled and ended are final).
 * ADM_ERR_NOT_FOUND. Cancelling does not refund orders: the caller does. */
adm_err_t adm_store_event_set_status(adm_store_t *st, int64_t id, adm_event_status_t status,
                                     int64_t now);

/* Fills *out. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_event_get(adm_store_t *st, adm_read_t rd, int64_t id, adm_event_t *out);

/* Searches events ordered by (starts_at, id). *events gets a new array of *n
 * events (free with free(); NULL when *n is 0); *next gets the cursor for
 * the next page, or the zero cursor when this was the last page. */
adm_err_t adm_store_event_search(adm_store_t *st, adm_read_t rd, const adm_event_query_t *q,
                                 adm_event_t **events, size_t *n, adm_event_cursor_t *next);

/* Creates a ticket type; *id gets its id. ADM_ERR_NOT_FOUND without the
 * event; ADM_ERR_LIMIT when the event has ADM_STORE_TYPES_MAX types. */
adm_err_t adm_store_ticket_type_create(adm_store_t *st, const adm_ticket_type_spec_t *spec,
                                       int64_t now, int64_t *id);

/* Replaces the editable fields (everything in the spec but event_id) of type
 * id. ADM_ERR_NOT_FOUND; ADM_ERR_STATE when the new capacity is below
 * sold + held. Prices of existing orders do not change. */
adm_err_t adm_store_ticket_type_update(adm_store_t *st, int64_t id,
                                       const adm_ticket_type_spec_t *spec, int64_t now);

/* Fills *out. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_ticket_type_get(adm_store_t *st, adm_read_t rd, int64_t id,
                                    adm_ticket_type_t *out);

/* The ticket types of event_id by id: a new array of *n (free with free()).
 * ADM_ERR_NOT_FOUND when the event does not exist. */
adm_err_t adm_store_ticket_type_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                     adm_ticket_type_t **types, size_t *n);

/* One-row availability of type_id. Expired holds count until released (by
 * the reaper or the next hold on the type), so this never over-reports.
 * ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_availability(adm_store_t *st, adm_read_t rd, int64_t type_id,
                                 adm_availability_t *out);

/* ---- holds -------------------------------------------------------------- */

typedef enum adm_hold_state {
    ADM_HOLD_ACTIVE = 0,
    ADM_HOLD_RELEASED = 1,  /* released by the customer */
    ADM_HOLD_EXPIRED = 2,   /* released by the reaper or lazily */
    ADM_HOLD_CONVERTED = 3, /* became an order item at checkout */
} adm_hold_state_t;

typedef struct adm_hold {
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    int64_t user_id;
    int64_t type_id;
    int64_t event_id;
    int32_t quantity;
    adm_hold_state_t state;
    int64_t created;
    int64_t expires_at; /* the hold is active while now < expires_at */
    int64_t order_id;   /* ADM_HOLD_CONVERTED: the order; else 0 */
} adm_hold_t;

/* Reserves quantity seats of type_id for user_id until now + ttl_s, in one
 * transaction that first releases the type's expired holds. quantity
 * 1..ADM_STORE_QUANTITY_MAX, ttl_s 1..ADM_STORE_HOLD_TTL_MAX.
 * ADM_ERR_NOT_FOUND (no such type or user), ADM_ERR_STATE (event not on
 * sale), ADM_ERR_SALE_CLOSED (outside the type's sale window), ADM_ERR_LIMIT
 * (over the per-order or per-customer limit), ADM_ERR_SOLD_OUT (not enough
 * seats). Fills *out with the new hold. */
adm_err_t adm_store_hold_create(adm_store_t *st, int64_t user_id, int64_t type_id,
                                int32_t quantity, int32_t ttl_s, int64_t now, adm_hold_t *out);

/* Fills *out with hold hold_id of user_id (always from the primary);
 * hold_id may be out->id (refresh in place). ADM_ERR_NOT_FOUND when absent
 * or someone else's. */
adm_err_t adm_store_hold_get(adm_store_t *st, int64_t user_id, const char *hold_id,
                             adm_hold_t *out);

/* Releases an active hold of user_id and its seats. ADM_ERR_NOT_FOUND
 * (absent or someone else's), ADM_ERR_STATE (already converted or released),
 * ADM_ERR_EXPIRED (already expired; its seats are released as well). */
adm_err_t adm_store_hold_release(adm_store_t *st, int64_t user_id, const char *hold_id,
                                 int64_t now);

/* Releases the seats of every hold and pending order that expired at or
 * before now (in batches of short transactions). *released (may be NULL)
 * gets the number of holds plus orders released. admitd calls it
 * periodically; running it from several processes at once is safe. */
adm_err_t adm_store_reap_holds(adm_store_t *st, int64_t now, size_t *released);

typedef struct adm_reap_stats {
    size_t holds;        /* expired holds released */
    size_t orders;       /* pending orders expired */
    size_t sessions;     /* expired sessions deleted */
    size_t idempotency;  /* idempotency records older than ADM_STORE_IDEM_TTL_S deleted */
} adm_reap_stats_t;

/* adm_store_reap_holds() plus expired sessions and idempotency records.
 * *stats may be NULL. */
adm_err_t adm_store_reap(adm_store_t *st, int64_t now, adm_reap_stats_t *stats);

/* ---- orders and tickets ------------------------------------------------- */

typedef enum adm_order_state {
    ADM_ORDER_PENDING = 0,   /* seats held, waiting for payment until expires_at */
    ADM_ORDER_PAID = 1,      /* seats sold, tickets issued */
    ADM_ORDER_CANCELLED = 2, /* cancelled while pending; seats released */
    ADM_ORDER_REFUNDED = 3,  /* refunded after payment; tickets revoked */
    ADM_ORDER_EXPIRED = 4,   /* not paid in time; seats released */
} adm_order_state_t;

typedef struct adm_order_item {
    int64_t id;
    int64_t type_id;
    int64_t event_id;
    int32_t quantity;
    int64_t unit_price; /* the type's price at checkout, minor units */
} adm_order_item_t;

typedef struct adm_order {
    int64_t id;
    char code[ADM_STORE_ORDER_CODE_LEN + 1]; /* public, random, e.g. "A7K3-9QXM" */
    int64_t user_id;
    adm_order_state_t state;
    int64_t total; /* sum of quantity * unit_price, minor units */
    char currency[ADM_STORE_CURRENCY_LEN + 1];
    int64_t created, updated;
    int64_t expires_at; /* pending: payment deadline */
    int64_t paid_at;    /* 0 unless paid or refunded */
    char provider[ADM_STORE_PROVIDER_MAX + 1];
    char provider_ref[ADM_STORE_PROVIDER_REF_MAX + 1];
    size_t n_items;
    adm_order_item_t items[ADM_STORE_ORDER_ITEMS_MAX];
} adm_order_t;

typedef enum adm_ticket_status {
    ADM_TICKET_VALID = 0,
    ADM_TICKET_REVOKED = 1,
} adm_ticket_status_t;

/* An issued ticket as stored (adm_ticket_t in sync/token.h is the signed payload). */
typedef struct adm_store_ticket {
    int64_t id; /* random, 1..2^53-1 (exact as a JSON number); the token's ticket_id */
    int64_t event_id, type_id, order_id, user_id;
    adm_ticket_status_t status;
    int64_t created;
    int64_t revoked_at; /* 0 unless revoked */
    uint32_t key_id;    /* key that signed token; 0 while unsigned */
    char token[ADM_TOKEN_TEXT_MAX + 1]; /* "" until adm_store_ticket_set_token() */
} adm_store_ticket_t;

typedef struct adm_revocation {
    int64_t seq; /* per event, strictly increasing from 1 */
    int64_t ticket_id;
    int64_t revoked_at;
} adm_revocation_t;

/* Turns the active holds hold_ids[0..n) of user_id (1..ADM_STORE_ORDER_ITEMS_MAX,
 * no duplicates, all in one currency) into a pending order, atomically: one
 * item per hold, priced at the type's current price; the seats stay held
 * until payment, cancellation or expiry at now + pay_ttl_s (0 = default,
 * max ADM_STORE_PAY_TTL_MAX). Fills *out.
 * ADM_ERR_NOT_FOUND (a hold is absent or someone else's), ADM_ERR_EXPIRED (a
 * hold has expired), ADM_ERR_STATE (a hold was already released or checked
 * out, or its event is no longer on sale), ADM_ERR_INVALID_ARG (currencies
 * differ). Nothing changes on failure. */
adm_err_t adm_store_checkout(adm_store_t *st, int64_t user_id, const char *const *hold_ids,
                             size_t n, int32_t pay_ttl_s, int64_t now, adm_order_t *out);

/* Marks pending order order_id paid by provider/provider_ref: moves its seats
 * from held to sold and creates one valid, unsigned ticket per seat, in one
 * transaction that is synced to disk before returning. The caller then signs
 * each ticket (adm_store_order_tickets()) and attaches the text with
 * adm_store_ticket_set_token(); adm_store_ticket_list_unsigned() finds any
 * left unsigned by a crash. Paying an order already paid with the same
 * provider and ref is a no-op (ADM_OK), for replayed provider callbacks.
 * ADM_ERR_NOT_FOUND, ADM_ERR_EXPIRED (payment deadline passed),
 * ADM_ERR_STATE (not pending, or event no longer on sale), ADM_ERR_EXISTS
 * (provider_ref already used by another order). *out (may be NULL) gets the
 * order. */
adm_err_t adm_store_order_pay(adm_store_t *st, int64_t order_id, const char *provider,
                              const char *provider_ref, int64_t now, adm_order_t *out);

/* Moves the payment deadline of pending order order_id to expires_at, for a
 * payment that takes days (a bank transfer the customer was told to make):
 * the seats stay held and the reaper leaves the order alone until then.
 * Never shortens: an expires_at at or before the current deadline changes
 * nothing (ADM_OK). expires_at is in (now, now + ADM_STORE_PAY_TTL_MAX].
 * *out (may be NULL) gets the order as stored afterwards.
 * ADM_ERR_NOT_FOUND, ADM_ERR_STATE (not pending), ADM_ERR_EXPIRED (the
 * deadline has already passed: now >= expires_at; the reaper will release
 * it, as adm_store_order_pay() would refuse it). */
adm_err_t adm_store_order_extend(adm_store_t *st, int64_t order_id, int64_t expires_at,
                                 int64_t now, adm_order_t *out);

/* Cancels a pending order and releases its seats. user_id 0 = any owner
 * (organiser), else it must own the order (ADM_ERR_NOT_FOUND otherwise).
 * ADM_ERR_STATE unless pending (an expired-but-unreaped order is cancelled). */
adm_err_t adm_store_order_cancel(adm_store_t *st, int64_t user_id, int64_t order_id,
                                 int64_t now);

/* Refunds a paid order: state refunded, seats leave sold, every still-valid
 * ticket is revoked and appended to its event's revocation list. Synced to
 * disk before returning. *revoked (may be NULL) gets the number of tickets
 * revoked. ADM_ERR_NOT_FOUND, ADM_ERR_STATE unless paid. */
adm_err_t adm_store_order_refund(adm_store_t *st, int64_t order_id, int64_t now,
                                 size_t *revoked);

/* Fills *out with order order_id and its items. user_id 0 = any owner, else
 * someone else's order is ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_order_get(adm_store_t *st, adm_read_t rd, int64_t user_id, int64_t order_id,
                              adm_order_t *out);

/* As adm_store_order_get() by public code (case-insensitive, dash optional). */
adm_err_t adm_store_order_get_by_code(adm_store_t *st, adm_read_t rd, int64_t user_id,
                                      const char *code, adm_order_t *out);

/* Orders of user_id, newest first, with items: those with id < before_id
 * (0 = from the newest), at most limit (0 = default, max ADM_STORE_PAGE_MAX).
 * *orders gets a new array of *n (free with free()); the next page starts
 * before the last id returned. */
adm_err_t adm_store_order_list(adm_store_t *st, adm_read_t rd, int64_t user_id,
                               int64_t before_id, size_t limit, adm_order_t **orders,
                               size_t *n);

/* The tickets of order_id by id: a new array of *n (free with free()).
 * user_id 0 = any owner. ADM_ERR_NOT_FOUND for an absent or foreign order. */
adm_err_t adm_store_order_tickets(adm_store_t *st, adm_read_t rd, int64_t user_id,
                                  int64_t order_id, adm_store_ticket_t **tickets, size_t *n);

/* Fills *out with ticket ticket_id. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_ticket_get(adm_store_t *st, adm_read_t rd, int64_t ticket_id,
                               adm_store_ticket_t *out);

/* Attaches the signed token text (printable ASCII, <= ADM_TOKEN_TEXT_MAX)
 * made with key key_id (non-zero) to ticket_id. Setting the same text again
 * is a no-op; ADM_ERR_EXISTS when a different token is already attached;
 * ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_ticket_set_token(adm_store_t *st, int64_t ticket_id, uint32_t key_id,
                                     const char *token);

/* Valid tickets still without a token (oldest first, at most limit, max
 * ADM_STORE_PAGE_MAX): a new array of *n (free with free()). From the primary. */
adm_err_t adm_store_ticket_list_unsigned(adm_store_t *st, size_t limit,
                                         adm_store_ticket_t **tickets, size_t *n);

/* Revokes one valid ticket (organiser) and appends it to its event's
 * revocation list; *seq (may be NULL) gets its sequence number. The seat
 * stays sold. ADM_ERR_NOT_FOUND, ADM_ERR_STATE when already revoked. */
adm_err_t adm_store_ticket_revoke(adm_store_t *st, int64_t ticket_id, int64_t now,
                                  int64_t *seq);

/* Revocations of event_id with seq > after_seq, by seq, at most limit
 * (0 = max = ADM_STORE_REVOCATIONS_PAGE_MAX): a new array of *n (free with
 * free()). ADM_ERR_NOT_FOUND when the event does not exist. */
adm_err_t adm_store_revocations_since(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                      int64_t after_seq, size_t limit,
                                      adm_revocation_t **revs, size_t *n);

/* ---- accounts ----------------------------------------------------------- */

typedef enum adm_role {
    ADM_ROLE_CUSTOMER = 0,
    ADM_ROLE_CREW = 1,
    ADM_ROLE_ORGANISER = 2,
} adm_role_t;

typedef struct adm_user_spec {
    const char *email;         /* required, <= ADM_STORE_EMAIL_MAX; stored with
                                * ASCII letters lower-cased */
    const char *password_hash; /* crypto_pwhash_str() output, <= ADM_STORE_PWHASH_MAX */
    const char *display_name;  /* may be "", <= ADM_STORE_NAME_MAX */
    adm_role_t role;
} adm_user_spec_t;

typedef struct adm_user {
    int64_t id;
    char email[ADM_STORE_EMAIL_MAX + 1];
    char password_hash[ADM_STORE_PWHASH_MAX + 1];
    char display_name[ADM_STORE_NAME_MAX + 1];
    adm_role_t role;
    int64_t created;
} adm_user_t;

typedef struct adm_session {
    int64_t user_id;
    adm_role_t role;
    int64_t created;
    int64_t expires_at; /* valid while now < expires_at */
} adm_session_t;

/* Creates a user; *id gets its id. ADM_ERR_EXISTS when the email (compared
 * case-insensitively) is taken. */
adm_err_t adm_store_user_create(adm_store_t *st, const adm_user_spec_t *spec, int64_t now,
                                int64_t *id);

/* Fills *out. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_user_get(adm_store_t *st, adm_read_t rd, int64_t id, adm_user_t *out);

/* Fills *out with the user of email, case-insensitively, from the primary
 * (login). ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_user_find_email(adm_store_t *st, const char *email, adm_user_t *out);

/* Replaces the password hash of user id (rehash on login). ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_user_set_password(adm_store_t *st, int64_t id, const char *password_hash);

/* Stores a session by the hash of its token (the token itself is never
 * stored). expires_at > now. ADM_ERR_NOT_FOUND (no user), ADM_ERR_EXISTS. */
adm_err_t adm_store_session_create(adm_store_t *st,
                                   const uint8_t token_hash[ADM_STORE_SESSION_HASH_BYTES],
                                   int64_t user_id, int64_t now, int64_t expires_at);

/* Fills *out from the primary. ADM_ERR_NOT_FOUND, ADM_ERR_EXPIRED (expired,
 * not yet reaped). */
adm_err_t adm_store_session_lookup(adm_store_t *st,
                                   const uint8_t token_hash[ADM_STORE_SESSION_HASH_BYTES],
                                   int64_t now, adm_session_t *out);

/* Deletes a session (logout). ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_session_delete(adm_store_t *st,
                                   const uint8_t token_hash[ADM_STORE_SESSION_HASH_BYTES]);

/* ---- idempotency keys --------------------------------------------------- */

/* A stored response. status 0 means "reserved: the first request is still
 * being processed" (see adm_store_idem_put()). */
typedef struct adm_idem {
    int status; /* 0, or the HTTP status 100..599 */
    char fingerprint[ADM_STORE_IDEM_FINGERPRINT_MAX + 1]; /* of the request */
    char *body;       /* new NUL-terminated buffer of body_len bytes: free with free() */
    size_t body_len;
    int64_t created;
} adm_idem_t;

/* Records (scope, key) -> status, fingerprint, body if absent: the first
 * writer wins; a concurrent or later second gets ADM_ERR_EXISTS and reads the
 * stored one with adm_store_idem_get(). scope, key and fingerprint are
 * printable ASCII without spaces; body may be NULL when body_len is 0
 * (<= ADM_STORE_IDEM_BODY_MAX). Status 0 reserves the key before processing;
 * adm_store_idem_complete() then stores the response. A record older than
 * ADM_STORE_IDEM_TTL_S is treated as absent. */
adm_err_t adm_store_idem_put(adm_store_t *st, const char *scope, const char *key,
                             const char *fingerprint, int status, const void *body,
                             size_t body_len, int64_t now);

/* Stores the response (status 100..499) of a reserved (status 0) record. A
 * server error (500..599) is not an answer worth replaying: the reservation
 * is released instead (the record deleted), so a retry with the same key
 * runs again. ADM_ERR_NOT_FOUND, ADM_ERR_STATE when it already has a
 * response. */
adm_err_t adm_store_idem_complete(adm_store_t *st, const char *scope, const char *key,
                                  int status, const void *body, size_t body_len, int64_t now);

/* Fills *out (from the primary) with the record of (scope, key); out->body is
 * owned by the caller. ADM_ERR_NOT_FOUND (absent or older than the TTL). */
adm_err_t adm_store_idem_get(adm_store_t *st, const char *scope, const char *key, int64_t now,
                             adm_idem_t *out);

/* ---- event signing keys ------------------------------------------------- */

typedef struct adm_event_key {
    int64_t event_id;
    uint32_t kid;
    uint8_t seed[ADM_KEY_SEED_BYTES]; /* secret: wipe after use */
    int64_t created;
    bool retired;
    int64_t retired_at; /* 0 unless retired */
} adm_event_key_t;

/* Stores signing key kid (non-zero) of event_id from its seed, synced to
 * disk before returning. Key ids are unique across events (a scanner's
 * keyring holds several events). ADM_ERR_NOT_FOUND (no event),
 * ADM_ERR_EXISTS (kid already stored, for any event), ADM_ERR_LIMIT (the
 * event has ADM_STORE_EVENT_KEYS_MAX keys). */
adm_err_t adm_store_event_key_add(adm_store_t *st, int64_t event_id, uint32_t kid,
                                  const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now);

/* As adm_store_event_key_add(), but only when event_id has no active
 * (unretired) key: its first key, or the successor after every key was
 * retired. The check and the insert are one transaction under the event's
 * row lock, so of several processes racing to make an event's first key
 * exactly one stores it. ADM_ERR_EXISTS when the event already has an
 * active key (read the keys and use it) or kid is already stored for any
 * event (the keys tell the two apart); ADM_ERR_NOT_FOUND, ADM_ERR_LIMIT as
 * adm_store_event_key_add(). */
adm_err_t adm_store_event_key_add_first(adm_store_t *st, int64_t event_id, uint32_t kid,
                                        const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now);

/* The keys of event_id, oldest first: a new array of *n; free it with
 * adm_store_event_keys_free(), which wipes the seeds. ADM_ERR_NOT_FOUND when
 * the event does not exist. */
adm_err_t adm_store_event_key_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                   adm_event_key_t **keys, size_t *n);

/* Marks key kid of event_id retired (idempotent). ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_event_key_retire(adm_store_t *st, int64_t event_id, uint32_t kid,
                                     int64_t now);

/* Wipes and frees a list from adm_store_event_key_list(). NULL is accepted. */
void adm_store_event_keys_free(adm_event_key_t *keys, size_t n);

/* ---- organiser reports -------------------------------------------------- */

typedef struct adm_type_sales {
    int64_t type_id;
    char name[ADM_STORE_NAME_MAX + 1];
    char currency[ADM_STORE_CURRENCY_LEN + 1];
    int64_t capacity, sold, held;
    int64_t revenue; /* sum of quantity * unit_price over paid (not refunded) orders */
} adm_type_sales_t;

/* Sales per ticket type of event_id, by type id: a new array of *n (free with
 * free()). ADM_ERR_NOT_FOUND when the event does not exist. */
adm_err_t adm_store_sales_by_type(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                  adm_type_sales_t **rows, size_t *n);

/* ---- check-in lists, devices, scans (docs/sync.md) -----------------------
 * The sync tables hold event ids without a foreign key to events: an edge
 * relay keeps them for events it only mirrors (no catalog rows). Callers
 * check that an event exists (catalog or mirror) before creating rows. */

#define ADM_STORE_GATE_MAX 64          /* gate names, bytes */
#define ADM_STORE_LIST_GATES_MAX 16    /* gates per check-in list */
#define ADM_STORE_DEVICE_ID_LEN 19     /* "dv_" + 16 lower-case hex digits */
#define ADM_STORE_NONCE_LEN 32         /* scan nonce: 32 lower-case hex digits */
#define ADM_STORE_TEXT_HASH_LEN 64     /* BLAKE2b-256 of the scanned text, hex */
#define ADM_STORE_REASON_MAX 32        /* verdict reason: [a-z0-9_] */
#define ADM_STORE_SECRET_HASH_BYTES 32 /* BLAKE2b-256 of an enrollment token or device secret */
#define ADM_STORE_CHECKINS_BATCH_MAX 1000
#define ADM_STORE_CHECKINS_PAGE_MAX 5000
#define ADM_STORE_MIRROR_HEADER_MAX (4u * 1024u * 1024u)
#define ADM_STORE_CHECKIN_LISTS_MAX 100 /* check-in lists per event */
#define ADM_STORE_DEVICES_MAX 10000     /* devices adm_store_device_list() returns */
#define ADM_STORE_STATS_ROWS_MAX 4096   /* rows adm_store_checkin_stats() returns */

typedef struct adm_checkin_list_spec {
    int64_t event_id;
    const char *name;         /* required, <= ADM_STORE_NAME_MAX */
    adm_reentry_t reentry;
    const int64_t *types;     /* admitted ticket type ids; n_types 0 = every type */
    size_t n_types;           /* <= ADM_STORE_TYPES_MAX, no duplicates */
    const char *const *gates; /* gate names (1..ADM_STORE_GATE_MAX bytes); 0 = any gate */
    size_t n_gates;           /* <= ADM_STORE_LIST_GATES_MAX, no duplicates */
} adm_checkin_list_spec_t;

typedef struct adm_checkin_list {
    int64_t id;
    int64_t event_id;
    char name[ADM_STORE_NAME_MAX + 1];
    adm_reentry_t reentry;
    size_t n_types;
    int64_t types[ADM_STORE_TYPES_MAX];
    size_t n_gates;
    char gates[ADM_STORE_LIST_GATES_MAX][ADM_STORE_GATE_MAX + 1];
    int64_t created;
} adm_checkin_list_t;

/* Creates a check-in list; *id gets its id. The caller has checked the
 * event and that the types belong to it. ADM_ERR_LIMIT when the event has
 * ADM_STORE_CHECKIN_LISTS_MAX lists. */
adm_err_t adm_store_checkin_list_create(adm_store_t *st, const adm_checkin_list_spec_t *spec,
                                        int64_t now, int64_t *id);

/* Inserts or replaces list l->id as given (an edge mirroring its upstream's
 * lists; ids are the upstream's). l->created (>= 0) is kept as given; the
 * rest is checked as for a spec. ADM_ERR_LIMIT when l->id is new and the
 * event has ADM_STORE_CHECKIN_LISTS_MAX lists. */
adm_err_t adm_store_checkin_list_put(adm_store_t *st, const adm_checkin_list_t *l);

/* The check-in lists of event_id by id, types and gates in the order they
 * were given: a new array of *n (free with free()); none is not an error. */
adm_err_t adm_store_checkin_list_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                      adm_checkin_list_t **lists, size_t *n);

typedef enum adm_device_kind {
    ADM_DEVICE_GATE = 0,  /* a scanner: uploads its own scans */
    ADM_DEVICE_RELAY = 1, /* an edge admitd: uploads the scans of its gates */
} adm_device_kind_t;

typedef struct adm_enrollment_spec {
    int64_t event_id;
    const char *gate;      /* required, <= ADM_STORE_GATE_MAX */
    adm_device_kind_t kind;
    int64_t expires_at;    /* > now */
} adm_enrollment_spec_t;

/* Stores a one-time enrollment token by its hash, synced to disk before
 * returning. ADM_ERR_EXISTS for a hash already stored. */
adm_err_t adm_store_enrollment_create(adm_store_t *st,
                                      const uint8_t token_hash[ADM_STORE_SECRET_HASH_BYTES],
                                      const adm_enrollment_spec_t *spec, int64_t now);

typedef struct adm_device {
    char id[ADM_STORE_DEVICE_ID_LEN + 1];
    int64_t event_id;
    char name[ADM_STORE_NAME_MAX + 1];
    char gate[ADM_STORE_GATE_MAX + 1];
    adm_device_kind_t kind;
    uint8_t secret_hash[ADM_STORE_SECRET_HASH_BYTES];
    int64_t created;
    int64_t last_seen;  /* last upload, 0 = never */
    int64_t revoked_at; /* 0 unless revoked */
} adm_device_t;

/* Consumes the enrollment token of token_hash and creates device
 * device_id (exactly ADM_STORE_DEVICE_ID_LEN characters [A-Za-z0-9_-], made
 * by the caller) named name (may be "" or NULL, <= ADM_STORE_NAME_MAX) with
 * the token's event, gate and kind, in one transaction synced to disk
 * before returning. Fills *out. ADM_ERR_NOT_FOUND (unknown token),
 * ADM_ERR_STATE (token already used, checked first), ADM_ERR_EXPIRED (token
 * expired: now >= expires_at), ADM_ERR_EXISTS (device id taken; the token
 * stays unused). */
adm_err_t adm_store_device_enroll(adm_store_t *st,
                                  const uint8_t token_hash[ADM_STORE_SECRET_HASH_BYTES],
                                  const char *device_id,
                                  const uint8_t secret_hash[ADM_STORE_SECRET_HASH_BYTES],
                                  const char *name, int64_t now, adm_device_t *out);

/* Fills *out with device id, from the primary (authentication).
 * ADM_ERR_NOT_FOUND; ADM_ERR_INVALID_ARG for an id that is not 1..
 * ADM_STORE_DEVICE_ID_LEN characters [A-Za-z0-9_-]. */
adm_err_t adm_store_device_get(adm_store_t *st, const char *id, adm_device_t *out);

/* The devices of event_id by creation (then id): a new array of *n (free
 * with free()). ADM_ERR_TOO_BIG past ADM_STORE_DEVICES_MAX devices. */
adm_err_t adm_store_device_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                adm_device_t **devices, size_t *n);

/* Revokes device id (idempotent: the first revocation time stays), synced
 * to disk before returning. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_device_revoke(adm_store_t *st, const char *id, int64_t now);

/* One scan as a device reports it (input of adm_store_checkins_add). Strings
 * are borrowed for the call. */
typedef struct adm_scan {
    const char *nonce;     /* ADM_STORE_NONCE_LEN lower-case hex; globally unique */
    const char *device;    /* the scanning device's id, 1..ADM_STORE_DEVICE_ID_LEN bytes
                            * [A-Za-z0-9_-] (a gate's own id is not checked here) */
    int64_t ticket_id;     /* 0 when the text did not parse */
    int64_t list_id;       /* > 0 */
    int64_t at;            /* scan time, unix seconds, > 0 */
    const char *gate;      /* 1..ADM_STORE_GATE_MAX bytes */
    adm_direction_t direction;
    adm_verdict_t verdict;
    const char *reason;    /* 1..ADM_STORE_REASON_MAX bytes [a-z0-9_] */
    bool attention;
    const char *text_hash; /* ADM_STORE_TEXT_HASH_LEN lower-case hex, or "" */
} adm_scan_t;

/* A stored scan. */
typedef struct adm_checkin {
    int64_t seq; /* store-wide, strictly increasing in insertion order (the feed cursor) */
    int64_t event_id;
    char nonce[ADM_STORE_NONCE_LEN + 1];
    char device[ADM_STORE_DEVICE_ID_LEN + 1];
    char uploader[ADM_STORE_DEVICE_ID_LEN + 1]; /* the device that sent it ("" = this server) */
    int64_t ticket_id;
    int64_t list_id;
    int64_t at;
    char gate[ADM_STORE_GATE_MAX + 1];
    adm_direction_t direction;
    adm_verdict_t verdict;
    char reason[ADM_STORE_REASON_MAX + 1];
    bool attention;
    char text_hash[ADM_STORE_TEXT_HASH_LEN + 1];
    bool conflict;
    bool upstream_done; /* edge: acknowledged by the upstream (or came from it) */
    int64_t received_at;
} adm_checkin_t;

typedef struct adm_checkin_result {
    int64_t seq;   /* the row's seq (the earlier one for a duplicate) */
    bool stored;   /* false: the nonce was already stored (duplicate) */
    bool conflict; /* the row's conflict flag after this batch */
} adm_checkin_result_t;

/* Stores scans[0..n) (1..ADM_STORE_CHECKINS_BATCH_MAX) of event_id sent by
 * uploader ("" for none) in one transaction, then recomputes the conflict
 * flags of every (ticket, list) the batch touched (docs/sync.md §3: among the
 * accepted entries ordered by (at, seq), those the list's re-entry rule would
 * refuse; a list id without a stored list counts as "once"). A nonce already
 * stored is a duplicate: nothing changes for it. upstream_done marks the new
 * rows as already known upstream (an edge storing its upstream's feed).
 * Updates the uploader's last_seen when it is a device. results (n entries,
 * may be NULL) gets one result per scan. Synced to disk before returning
 * (the device forgets rows once acknowledged). Uploads of one event are
 * serialised, so an event's seqs become visible in order. uploader is ""
 * or 1..ADM_STORE_DEVICE_ID_LEN characters [A-Za-z0-9_-].
 * ADM_ERR_INVALID_ARG for a bad row, ADM_ERR_TOO_BIG for a string of a row
 * over its bound; nothing is stored then. An accepted scan needs a
 * ticket_id; verdicts and directions are stored by name (sync/checkin.h). */
adm_err_t adm_store_checkins_add(adm_store_t *st, int64_t event_id, const char *uploader,
                                 const adm_scan_t *scans, size_t n, bool upstream_done,
                                 int64_t now, adm_checkin_result_t *results);

typedef struct adm_checkin_query {
    int64_t event_id;
    int64_t after_seq;     /* seq > this */
    bool accepted_only;    /* verdict accept only (the feed) */
    bool conflicts_only;   /* conflict flag set only */
    bool upstream_pending; /* !upstream_done only (an edge's upload queue) */
    int64_t ticket_id;     /* > 0: this ticket's scans only (a crew's lookup); 0 = all */
    const char *not_uploader; /* accepted_only feed without ticket_id: leave out the rows
                               * this device uploaded (it has them); NULL or "" = none */
    size_t limit;          /* 1..ADM_STORE_CHECKINS_PAGE_MAX; 0 = 1000 */
} adm_checkin_query_t;

/* Stored scans matching q by seq (the filters combine; a conflict flag is
 * only ever set on an accepted entry): a new array of *n (free with free()). */
adm_err_t adm_store_checkins_list(adm_store_t *st, adm_read_t rd, const adm_checkin_query_t *q,
                                  adm_checkin_t **rows, size_t *n);

/* The highest seq of an accepted scan of event_id (0 = none): the long-poll
 * probe, cheap (an index lookup). */
adm_err_t adm_store_checkins_last_seq(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                      int64_t *seq);

/* Marks rows seqs[0..n) upstream_done (edge, after the upstream acknowledged
 * them). n 0..ADM_STORE_CHECKINS_PAGE_MAX; seqs may be NULL when n is 0;
 * unknown seqs are ignored. */
adm_err_t adm_store_checkins_mark_upstream(adm_store_t *st, const int64_t *seqs, size_t n);

typedef struct adm_checkin_stats_row {
    int64_t list_id;
    char gate[ADM_STORE_GATE_MAX + 1]; /* "" = the list's total */
    int64_t admitted;                  /* accepted entries (conflicting ones included) */
    int64_t exits;                     /* accepted exits */
    int64_t conflicts;                 /* accepted entries flagged conflict */
    int64_t refused[ADM_VERDICT__MAX]; /* refused scans by verdict (ACCEPT stays 0) */
    int64_t inside;                    /* list totals only: tickets inside now (last
                                        * non-conflicting accepted scan is an entry) */
} adm_checkin_stats_row_t;

/* Counts of event_id: for every list with scans, one total row (gate "")
 * followed by one row per gate, by list id then gate (bytewise): a new array
 * of *n (free with free()). ADM_ERR_TOO_BIG past ADM_STORE_STATS_ROWS_MAX
 * rows. */
adm_err_t adm_store_checkin_stats(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                  adm_checkin_stats_row_t **rows, size_t *n);

/* ---- edge mirror of an upstream event (docs/sync.md §5) ----------------- */

typedef struct adm_mirror {
    int64_t event_id;
    char *header;            /* the feed header JSON (event, keys, ticket_types,
                              * checkin_lists) as last received: new buffer, free() */
    int64_t revocations_cursor, checkins_cursor; /* upstream feed cursors applied */
    int64_t updated;
} adm_mirror_t;

/* Stores (replaces) the header of event_id (JSON text: UTF-8, 1..
 * ADM_STORE_MIRROR_HEADER_MAX bytes); a new mirror starts with both cursors
 * at 0. */
adm_err_t adm_store_mirror_put_header(adm_store_t *st, int64_t event_id, const char *header,
                                      int64_t now);

/* Fills *out (out->header owned by the caller; free with
 * adm_store_mirror_clear()), from the primary. ADM_ERR_NOT_FOUND. */
adm_err_t adm_store_mirror_get(adm_store_t *st, int64_t event_id, adm_mirror_t *out);

/* Adds upstream revocations revs[0..n) (seq as upstream numbered them; a seq
 * already stored is ignored) and sets the cursors to revocations_cursor and
 * checkins_cursor (-1 = leave unchanged), in one transaction. n is
 * 0..ADM_STORE_CHECKINS_PAGE_MAX (revs may be NULL when 0); seq and
 * ticket_id > 0, revoked_at >= 0. ADM_ERR_NOT_FOUND without a header. */
adm_err_t adm_store_mirror_advance(adm_store_t *st, int64_t event_id, const adm_revocation_t *revs,
                                   size_t n, int64_t revocations_cursor, int64_t checkins_cursor,
                                   int64_t now);

/* Mirrored revocations of event_id with seq > after_seq, by seq, at most
 * limit (0 = max = ADM_STORE_REVOCATIONS_PAGE_MAX), from the primary: a new
 * array of *n (free with free()); none (or no mirror) is not an error. */
adm_err_t adm_store_mirror_revocations_since(adm_store_t *st, int64_t event_id,
                                             int64_t after_seq, size_t limit,
                                             adm_revocation_t **revs, size_t *n);

/* Frees out->header and zeroes *out. NULL is accepted. */
void adm_store_mirror_clear(adm_mirror_t *m);

/* ---- key/value settings (an edge's upstream credentials) ---------------- */

#define ADM_STORE_SETTING_KEY_MAX 64
#define ADM_STORE_SETTING_VALUE_MAX 1024

/* Stores value under key (replacing), synced to disk before returning. key:
 * printable ASCII without spaces, 1..ADM_STORE_SETTING_KEY_MAX bytes; value:
 * UTF-8 without control characters, 0..ADM_STORE_SETTING_VALUE_MAX bytes.
 * ADM_ERR_TOO_BIG, ADM_ERR_INVALID_ARG. */
adm_err_t adm_store_setting_put(adm_store_t *st, const char *key, const char *value);

/* Copies the value of key into out (cap bytes with the NUL), from the
 * primary. ADM_ERR_NOT_FOUND, ADM_ERR_TOO_BIG (cap too small); out is ""
 * on failure. */
adm_err_t adm_store_setting_get(adm_store_t *st, const char *key, char *out, size_t cap);

/* Stable lower-case names for logs and JSON ("on_sale", "pending", ...);
 * "unknown" for a value out of range. */
const char *adm_event_status_name(adm_event_status_t s);
const char *adm_order_state_name(adm_order_state_t s);
const char *adm_role_name(adm_role_t r);

#endif
