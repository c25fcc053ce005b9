/* store-sql.h: the SQL driver interface between the store's domain logic
 * (store-sql.c, written once) and the SQL backends that run it
 * (store-sqlite.c, store-mysql.c). Private to server/store*.c; callers use
 * store.h. Not for pools, transactions or migrations: each backend keeps its own. */
#ifndef ADM_STORE_SQL_H
#define ADM_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store-impl.h"

/* Every data statement the domain logic runs, by id. Each backend holds the
 * SQL text of every id in a table indexed by this enum (its own dialect,
 * its own locking clauses) and may append private ids after Q_SHARED_N.
 * Placeholders are positional '?' only, in the order store-sql.c binds them;
 * a value used twice is bound twice. The *_LOCK ids read a row the
 * transaction then changes: MariaDB spells them SELECT ... FOR UPDATE; SQLite,
 * whose write transactions already hold the database's write lock, spells
 * them as the plain SELECT (docs/store.md §8). */
enum adm_sql_query {
    Q_PING,
    Q_SCHEMA_VERSION,
    Q_VENUE_INSERT,
    Q_VENUE_UPDATE,
    Q_VENUE_GET,
    Q_VENUE_CITY,
    Q_EVENT_INSERT,
    Q_EVENT_UPDATE,
    Q_EVENT_GET,
    Q_EVENT_STATUS,
    Q_EVENT_LOCK,
    Q_EVENT_SET_STATUS,
    Q_EVENT_SEARCH,
    Q_EVENT_BUMP_SEQ,
    Q_EVENT_SEQ,
    Q_TYPE_COUNT,
    Q_TYPE_INSERT,
    Q_TYPE_UPDATE,
    Q_TYPE_GET,
    Q_TYPE_LIST,
    Q_TYPE_FOR_HOLD,
    Q_TYPE_PRICE,
    Q_TYPE_HOLD,
    Q_TYPE_UNHOLD,
    Q_TYPE_SELL,
    Q_TYPE_UNSELL,
    Q_USER_EXISTS,
    Q_USER_LOCK,
    Q_CUSTOMER_SEATS,
    Q_HOLD_INSERT,
    Q_HOLD_GET,
    Q_HOLD_LOCK,
    Q_HOLD_SET_STATE,
    Q_HOLD_EXPIRED_OF_TYPE,
    Q_HOLD_EXPIRED,
    Q_HOLD_CONVERT,
    Q_ORDER_INSERT,
    Q_ITEM_INSERT,
    Q_ORDER_GET,
    Q_ORDER_LOCK,
    Q_ORDER_GET_CODE,
    Q_ORDER_ITEMS,
    Q_ORDER_FINISH,
    Q_ORDER_EXPIRE,
    Q_ORDER_EXPIRED,
    Q_ORDER_EXTEND,
    Q_ORDER_REF_OWNER,
    Q_ORDER_OFF_SALE,
    Q_ORDER_MARK_PAID,
    Q_ORDER_MARK_REFUNDED,
    Q_ORDER_LIST,
    Q_TICKET_INSERT,
    Q_TICKET_GET,
    Q_TICKET_LOCK,
    Q_TICKETS_OF_ORDER,
    Q_TICKETS_VALID_OF_ORDER,
    Q_TICKET_REVOKE,
    Q_TICKET_SET_TOKEN,
    Q_TICKETS_UNSIGNED,
    Q_REVOCATION_INSERT,
    Q_REVOCATIONS,
    Q_USER_INSERT,
    Q_USER_GET,
    Q_USER_BY_EMAIL,
    Q_USER_SET_PASSWORD,
    Q_SESSION_INSERT,
    Q_SESSION_GET,
    Q_SESSION_DELETE,
    Q_SESSION_REAP,
    Q_IDEM_GET,
    Q_IDEM_DELETE_STALE,
    Q_IDEM_INSERT,
    Q_IDEM_COMPLETE,
    Q_IDEM_RELEASE,
    Q_IDEM_REAP,
    Q_KEY_INSERT,
    Q_KEY_COUNT,
    Q_KEY_COUNT_ACTIVE,
    Q_KEY_EXISTS,
    Q_KEY_LIST,
    Q_KEY_RETIRE,
    Q_SALES,
    Q_SYNC_LOCK,
    Q_LIST_COUNT,
    Q_LIST_EVENT,
    Q_LIST_INSERT,
    Q_LIST_INSERT_ID,
    Q_LIST_DELETE,
    Q_LIST_TYPES_DELETE,
    Q_LIST_GATES_DELETE,
    Q_LIST_TYPE_INSERT,
    Q_LIST_GATE_INSERT,
    Q_LISTS,
    Q_LIST_TYPES,
    Q_LIST_GATES,
    Q_LIST_REENTRY,
    Q_ENROLLMENT_INSERT,
    Q_ENROLLMENT_LOCK,
    Q_ENROLLMENT_USE,
    Q_DEVICE_INSERT,
    Q_DEVICE_GET,
    Q_DEVICES,
    Q_DEVICE_REVOKE,
    Q_DEVICE_SEEN,
    Q_CHECKIN_INSERT, /* 1 row; then 2, 4, ... ADM_SQL_CHECKIN_INSERT_ROWS rows */
    Q_CHECKIN_INSERT_2,
    Q_CHECKIN_INSERT_4,
    Q_CHECKIN_INSERT_8,
    Q_CHECKIN_INSERT_16,
    Q_CHECKIN_INSERT_32,
    Q_CHECKIN_INSERT_64,
    Q_CHECKIN_BY_NONCE,
    /* each IN statement in three widths: 1, ADM_SQL_IN_SMALL, ADM_SQL_IN_N */
    Q_CHECKIN_BY_NONCES_1,
    Q_CHECKIN_BY_NONCES_SMALL,
    Q_CHECKIN_BY_NONCES,
    Q_CHECKIN_REPLAY_TICKETS_1,
    Q_CHECKIN_REPLAY_TICKETS_SMALL,
    Q_CHECKIN_REPLAY_TICKETS,
    Q_CHECKIN_REPLAY_TICKET,
    Q_CHECKIN_SET_CONFLICTS_1,
    Q_CHECKIN_SET_CONFLICTS_SMALL,
    Q_CHECKIN_SET_CONFLICTS,
    Q_CHECKINS,
    Q_CHECKINS_ACCEPTED,
    Q_CHECKINS_PENDING,
    Q_CHECKINS_TICKET,
    Q_CHECKIN_LAST_SEQ,
    Q_CHECKIN_MARK_UPSTREAM,
    Q_CHECKIN_COUNTS,
    Q_CHECKIN_INSIDE,
    Q_MIRROR_PUT,
    Q_MIRROR_GET,
    Q_MIRROR_LOCK,
    Q_MIRROR_CURSORS,
    Q_MIRROR_REV_INSERT,
    Q_MIRROR_REVS,
    Q_SETTING_PUT,
    Q_SETTING_GET,
    Q_SHARED_N
};

/* Column lists shared by both backends' SELECTs and store-sql.c's row readers. */
#define ADM_SQL_VENUE_COLS "id, name, city, address, capacity, created, updated"
#define ADM_SQL_EVENT_COLS                                                                         \
    "id, venue_id, title, city, category, description, starts_at, ends_at, status, "               \
    "revocation_seq, created, updated"
#define ADM_SQL_TYPE_COLS                                                                          \
    "id, event_id, name, price, currency, capacity, sold, held, per_order_max, "                   \
    "per_customer_max, sale_starts, sale_ends, created, updated, flags, zone"
#define ADM_SQL_HOLD_COLS                                                                          \
    "id, user_id, type_id, event_id, quantity, state, created, expires_at, "                       \
    "COALESCE(order_id, 0)"
#define ADM_SQL_ORDER_COLS                                                                         \
    "id, code, user_id, state, total, currency, created, updated, expires_at, paid_at, "           \
    "COALESCE(provider, ''), COALESCE(provider_ref, '')"
#define ADM_SQL_TICKET_COLS                                                                        \
    "id, event_id, type_id, order_id, user_id, status, created, revoked_at, key_id, "              \
    "COALESCE(token, '')"
#define ADM_SQL_USER_COLS "id, email, password_hash, display_name, role, created"
#define ADM_SQL_LIST_COLS "id, event_id, name, reentry, created"
#define ADM_SQL_DEVICE_COLS                                                                        \
    "id, event_id, name, gate, kind, secret_hash, created, last_seen, revoked_at"
#define ADM_SQL_CHECKIN_COLS                                                                       \
    "seq, event_id, nonce, device, uploader, ticket_id, list_id, scanned_at, gate, direction, "    \
    "verdict, reason, attention, text_hash, conflict, upstream_done, received_at"

/* Batched statements (check-in uploads, docs/store.md §10). A list of
 * values is bound into a fixed number of placeholders so each statement is
 * prepared once: an IN list holds 1, ADM_SQL_IN_SMALL or ADM_SQL_IN_N of
 * them (the narrowest that fits, so a one-row upload binds one), the
 * unused ones bound to NULL (which matches nothing); a multi-row INSERT comes in every
 * power of two up to ADM_SQL_CHECKIN_INSERT_ROWS rows. No statement has
 * more than ADM_SQL_MAX_PARAMS placeholders: SQLite's limit before 3.32,
 * and the size of the MariaDB driver's bind arrays. */
#define ADM_SQL_MAX_PARAMS 999
#define ADM_SQL_IN_N 256
#define ADM_SQL_IN_SMALL 16
#define ADM_SQL_CHECKIN_INSERT_COLS 15 /* placeholders per inserted check-in */
#define ADM_SQL_CHECKIN_INSERT_ROWS 64
#define ADM_SQL_X2(s) s ", " s
#define ADM_SQL_X4(s) ADM_SQL_X2(ADM_SQL_X2(s))
#define ADM_SQL_X8(s) ADM_SQL_X2(ADM_SQL_X4(s))
#define ADM_SQL_X16(s) ADM_SQL_X2(ADM_SQL_X8(s))
#define ADM_SQL_X32(s) ADM_SQL_X2(ADM_SQL_X16(s))
#define ADM_SQL_X64(s) ADM_SQL_X2(ADM_SQL_X32(s))
#define ADM_SQL_X128(s) ADM_SQL_X2(ADM_SQL_X64(s))
#define ADM_SQL_X256(s) ADM_SQL_X2(ADM_SQL_X128(s))
#define ADM_SQL_IN "(" ADM_SQL_X256("?") ")"           /* ADM_SQL_IN_N placeholders */
#define ADM_SQL_IN_SMALL_LIST "(" ADM_SQL_X16("?") ")" /* ADM_SQL_IN_SMALL placeholders */
_Static_assert(ADM_SQL_IN_N == 256 && ADM_SQL_IN_SMALL == 16, "ADM_SQL_IN* spell these widths");
_Static_assert(ADM_SQL_CHECKIN_INSERT_ROWS == 64 &&
                   ADM_SQL_CHECKIN_INSERT_ROWS * ADM_SQL_CHECKIN_INSERT_COLS <=
                       ADM_SQL_MAX_PARAMS &&
                   ADM_SQL_IN_N + 3 <= ADM_SQL_MAX_PARAMS,
               "Q_CHECKIN_INSERT_* run up to Q_CHECKIN_INSERT_64; every statement fits the limit");

/* A backend's pooled connection, seen by the domain logic. A backend's
 * connection struct starts with an adm_sql_t whose drv it sets once. */
typedef struct adm_sql adm_sql_t;

/* One backend's statement operations on a connection. One statement at a
 * time per connection: use() selects statement q (preparing and caching it
 * on first use) and forgets earlier bindings; the bind_* calls bind its
 * placeholders in order; exec() runs it; step() makes the next row readable
 * by the col_* calls; done() releases the result and the bindings. Failures
 * of bind_* surface at exec(). Strings and bytes passed to bind_* are
 * borrowed until done(). */
typedef struct adm_sql_driver {
    adm_err_t (*use)(adm_sql_t *c, int q);
    void (*bind_int)(adm_sql_t *c, int64_t v);
    void (*bind_text)(adm_sql_t *c, const char *v); /* NULL binds SQL NULL */
    void (*bind_blob)(adm_sql_t *c, const void *p, size_t n);
    /* ADM_ERR_STORE when the bound values do not match the placeholders */
    adm_err_t (*exec)(adm_sql_t *c);
    adm_err_t (*step)(adm_sql_t *c, bool *row); /* *row: a row is ready */
    int64_t (*col_int)(adm_sql_t *c, unsigned i);
    /* copies text column i into buf (cap bytes with the NUL); a value that
     * does not fit leaves buf empty and flags the connection (take_bad) */
    void (*col_text)(adm_sql_t *c, unsigned i, char *buf, size_t cap);
    /* bytes of column i, valid until the next step()/done(); never NULL */
    const void *(*col_blob)(adm_sql_t *c, unsigned i, size_t *len);
    void (*done)(adm_sql_t *c);
    int (*changes)(adm_sql_t *c);        /* rows the last statement matched */
    int64_t (*insert_id)(adm_sql_t *c);  /* id the last INSERT generated */
    adm_err_t (*take_bad)(adm_sql_t *c); /* ADM_ERR_STORE once after a col_* misfit */
} adm_sql_driver_t;

struct adm_sql {
    const adm_sql_driver_t *drv;
};

/* Runs the statement use() selected and bound to completion; *changes (may
 * be NULL) gets the rows it matched. */
adm_err_t adm_sql_run(adm_sql_t *c, int *changes);

/* Runs the statement use() selected and bound and reads one integer column:
 * *found says whether a row came (*v is 0 without one). */
adm_err_t adm_sql_one_int(adm_sql_t *c, int64_t *v, bool *found);

/* A transaction body: runs on one pooled connection, may run again after a
 * conflict, so it keeps no state between runs. *keep asks for a commit even
 * though the result is an error. */
typedef adm_err_t (*adm_sql_body_fn)(adm_sql_t *c, void *arg, bool *keep);

typedef enum adm_sql_tx {
    ADM_SQL_READ,    /* reads, routed by the hint where the backend has replicas */
    ADM_SQL_WRITE,   /* one transaction on the primary */
    ADM_SQL_DURABLE, /* a write that must be on disk before returning (money, keys,
                        revocations); a backend that always syncs treats it as WRITE */
} adm_sql_tx_t;

/* A backend's state (the be of the ops) starts with an adm_sql_store_t:
 * run() runs fn in a transaction of the given kind, with the backend's
 * retry policy, and returns its result. */
typedef struct adm_sql_store adm_sql_store_t;
struct adm_sql_store {
    adm_err_t (*run)(adm_sql_store_t *st, adm_sql_tx_t kind, adm_read_t rd, adm_sql_body_fn fn,
                     void *arg);
};

/* ---- the ops written once (store-sql.c), each taking be = an adm_sql_store_t * ---- */

adm_err_t adm_sql_ping(void *be);
adm_err_t adm_sql_schema_version(void *be, int *version);
adm_err_t adm_sql_venue_create(void *be, const adm_venue_spec_t *spec, int64_t now, int64_t *id);
adm_err_t adm_sql_venue_update(void *be, int64_t id, const adm_venue_spec_t *spec, int64_t now);
adm_err_t adm_sql_venue_get(void *be, adm_read_t rd, int64_t id, adm_venue_t *out);
adm_err_t adm_sql_event_create(void *be, const adm_event_spec_t *spec, int64_t now, int64_t *id);
adm_err_t adm_sql_event_update(void *be, int64_t id, const adm_event_spec_t *spec, int64_t now);
adm_err_t adm_sql_event_set_status(void *be, int64_t id, adm_event_status_t status, int64_t now);
adm_err_t adm_sql_event_get(void *be, adm_read_t rd, int64_t id, adm_event_t *out);
adm_err_t adm_sql_event_search(void *be, adm_read_t rd, const adm_event_query_t *q,
                               adm_event_t **events, size_t *n, adm_event_cursor_t *next);
adm_err_t adm_sql_type_create(void *be, const adm_ticket_type_spec_t *spec, int64_t now,
                              int64_t *id);
adm_err_t adm_sql_type_update(void *be, int64_t id, const adm_ticket_type_spec_t *spec,
                              int64_t now);
adm_err_t adm_sql_type_get(void *be, adm_read_t rd, int64_t id, adm_ticket_type_t *out);
adm_err_t adm_sql_type_list(void *be, adm_read_t rd, int64_t event_id, adm_ticket_type_t **types,
                            size_t *n);
adm_err_t adm_sql_availability(void *be, adm_read_t rd, int64_t type_id, adm_availability_t *out);
adm_err_t adm_sql_hold_create(void *be, const char *hold_id, int64_t user_id, int64_t type_id,
                              int32_t quantity, int32_t ttl_s, int64_t now, adm_hold_t *out);
adm_err_t adm_sql_hold_get(void *be, int64_t user_id, const char *hold_id, adm_hold_t *out);
adm_err_t adm_sql_hold_release(void *be, int64_t user_id, const char *hold_id, int64_t now);
adm_err_t adm_sql_reap_holds(void *be, int64_t now, size_t *holds, size_t *orders);
adm_err_t adm_sql_reap_other(void *be, int64_t now, size_t *sessions, size_t *idempotency);
adm_err_t adm_sql_checkout(void *be, int64_t user_id, const char *const *hold_ids, size_t n,
                           int32_t pay_ttl_s, int64_t now, adm_order_t *out);
adm_err_t adm_sql_order_pay(void *be, int64_t order_id, const char *provider,
                            const char *provider_ref, int64_t now, adm_order_t *out);
adm_err_t adm_sql_order_extend(void *be, int64_t order_id, int64_t expires_at, int64_t now,
                               adm_order_t *out);
adm_err_t adm_sql_order_cancel(void *be, int64_t user_id, int64_t order_id, int64_t now);
adm_err_t adm_sql_order_refund(void *be, int64_t order_id, int64_t now, size_t *revoked);
adm_err_t adm_sql_order_get(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                            const char *code, adm_order_t *out);
adm_err_t adm_sql_order_list(void *be, adm_read_t rd, int64_t user_id, int64_t before_id,
                             size_t limit, adm_order_t **orders, size_t *n);
adm_err_t adm_sql_order_tickets(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                                adm_store_ticket_t **tickets, size_t *n);
adm_err_t adm_sql_ticket_get(void *be, adm_read_t rd, int64_t ticket_id, adm_store_ticket_t *out);
adm_err_t adm_sql_ticket_set_token(void *be, int64_t ticket_id, uint32_t key_id, const char *token);
adm_err_t adm_sql_ticket_list_unsigned(void *be, size_t limit, adm_store_ticket_t **tickets,
                                       size_t *n);
adm_err_t adm_sql_ticket_revoke(void *be, int64_t ticket_id, int64_t now, int64_t *seq);
adm_err_t adm_sql_revocations_since(void *be, adm_read_t rd, int64_t event_id, int64_t after_seq,
                                    size_t limit, adm_revocation_t **revs, size_t *n);
adm_err_t adm_sql_user_create(void *be, const adm_user_spec_t *spec, int64_t now, int64_t *id);
adm_err_t adm_sql_user_get(void *be, adm_read_t rd, int64_t id, const char *email, adm_user_t *out);
adm_err_t adm_sql_user_set_password(void *be, int64_t id, const char *password_hash);
adm_err_t adm_sql_session_create(void *be, const char *hash_hex, int64_t user_id, int64_t now,
                                 int64_t expires_at);
adm_err_t adm_sql_session_lookup(void *be, const char *hash_hex, int64_t now, adm_session_t *out);
adm_err_t adm_sql_session_delete(void *be, const char *hash_hex);
adm_err_t adm_sql_idem_put(void *be, const char *scope, const char *key, const char *fingerprint,
                           int status, const void *body, size_t body_len, int64_t now);
adm_err_t adm_sql_idem_complete(void *be, const char *scope, const char *key, int status,
                                const void *body, size_t body_len, int64_t now);
adm_err_t adm_sql_idem_get(void *be, const char *scope, const char *key, int64_t now,
                           adm_idem_t *out);
adm_err_t adm_sql_event_key_add(void *be, int64_t event_id, uint32_t kid,
                                const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now);
adm_err_t adm_sql_event_key_add_first(void *be, int64_t event_id, uint32_t kid,
                                      const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now);
adm_err_t adm_sql_event_key_list(void *be, adm_read_t rd, int64_t event_id, adm_event_key_t **keys,
                                 size_t *n);
adm_err_t adm_sql_event_key_retire(void *be, int64_t event_id, uint32_t kid, int64_t now);
adm_err_t adm_sql_sales_by_type(void *be, adm_read_t rd, int64_t event_id, adm_type_sales_t **rows,
                                size_t *n);
adm_err_t adm_sql_checkin_list_create(void *be, const adm_checkin_list_spec_t *spec, int64_t now,
                                      int64_t *id);
adm_err_t adm_sql_checkin_list_put(void *be, const adm_checkin_list_t *l);
adm_err_t adm_sql_checkin_list_list(void *be, adm_read_t rd, int64_t event_id,
                                    adm_checkin_list_t **lists, size_t *n);
adm_err_t adm_sql_enrollment_create(void *be, const char *hash_hex,
                                    const adm_enrollment_spec_t *spec, int64_t now);
adm_err_t adm_sql_device_enroll(void *be, const char *hash_hex, const char *device_id,
                                const uint8_t secret_hash[ADM_STORE_SECRET_HASH_BYTES],
                                const char *name, int64_t now, adm_device_t *out);
adm_err_t adm_sql_device_get(void *be, const char *id, adm_device_t *out);
adm_err_t adm_sql_device_list(void *be, adm_read_t rd, int64_t event_id, adm_device_t **devices,
                              size_t *n);
adm_err_t adm_sql_device_revoke(void *be, const char *id, int64_t now);
adm_err_t adm_sql_checkins_add(void *be, int64_t event_id, const char *uploader,
                               const adm_scan_t *scans, size_t n, bool upstream_done, int64_t now,
                               adm_checkin_result_t *results);
adm_err_t adm_sql_checkins_list(void *be, adm_read_t rd, const adm_checkin_query_t *q,
                                adm_checkin_t **rows, size_t *n);
adm_err_t adm_sql_checkins_last_seq(void *be, adm_read_t rd, int64_t event_id, int64_t *seq);
adm_err_t adm_sql_checkins_mark_upstream(void *be, const int64_t *seqs, size_t n);
adm_err_t adm_sql_checkin_stats(void *be, adm_read_t rd, int64_t event_id,
                                adm_checkin_stats_row_t **rows, size_t *n);
adm_err_t adm_sql_mirror_put_header(void *be, int64_t event_id, const char *header, int64_t now);
adm_err_t adm_sql_mirror_get(void *be, int64_t event_id, adm_mirror_t *out);
adm_err_t adm_sql_mirror_advance(void *be, int64_t event_id, const adm_revocation_t *revs, size_t n,
                                 int64_t revocations_cursor, int64_t checkins_cursor, int64_t now);
adm_err_t adm_sql_mirror_revocations_since(void *be, int64_t event_id, int64_t after_seq,
                                           size_t limit, adm_revocation_t **revs, size_t *n);
adm_err_t adm_sql_setting_put(void *be, const char *key, const char *value);
adm_err_t adm_sql_setting_get(void *be, const char *key, char *out, size_t cap);

/* The entries of an adm_store_ops_t that store-sql.c implements; a backend's
 * table adds name, open, close and write_position. */
#define ADM_SQL_STORE_OPS                                                                          \
    .ping = adm_sql_ping, .schema_version = adm_sql_schema_version,                                \
    .venue_create = adm_sql_venue_create, .venue_update = adm_sql_venue_update,                    \
    .venue_get = adm_sql_venue_get, .event_create = adm_sql_event_create,                          \
    .event_update = adm_sql_event_update, .event_set_status = adm_sql_event_set_status,            \
    .event_get = adm_sql_event_get, .event_search = adm_sql_event_search,                          \
    .type_create = adm_sql_type_create, .type_update = adm_sql_type_update,                        \
    .type_get = adm_sql_type_get, .type_list = adm_sql_type_list,                                  \
    .availability = adm_sql_availability, .hold_create = adm_sql_hold_create,                      \
    .hold_get = adm_sql_hold_get, .hold_release = adm_sql_hold_release,                            \
    .reap_holds = adm_sql_reap_holds, .reap_other = adm_sql_reap_other,                            \
    .checkout = adm_sql_checkout, .order_pay = adm_sql_order_pay,                                  \
    .order_extend = adm_sql_order_extend, .order_cancel = adm_sql_order_cancel,                    \
    .order_refund = adm_sql_order_refund,                                                          \
    .order_get = adm_sql_order_get, .order_list = adm_sql_order_list,                              \
    .order_tickets = adm_sql_order_tickets, .ticket_get = adm_sql_ticket_get,                      \
    .ticket_set_token = adm_sql_ticket_set_token,                                                  \
    .ticket_list_unsigned = adm_sql_ticket_list_unsigned, .ticket_revoke = adm_sql_ticket_revoke,  \
    .revocations_since = adm_sql_revocations_since, .user_create = adm_sql_user_create,            \
    .user_get = adm_sql_user_get, .user_set_password = adm_sql_user_set_password,                  \
    .session_create = adm_sql_session_create, .session_lookup = adm_sql_session_lookup,            \
    .session_delete = adm_sql_session_delete, .idem_put = adm_sql_idem_put,                        \
    .idem_complete = adm_sql_idem_complete, .idem_get = adm_sql_idem_get,                          \
    .event_key_add = adm_sql_event_key_add, .event_key_add_first = adm_sql_event_key_add_first,    \
    .event_key_list = adm_sql_event_key_list,                                                      \
    .event_key_retire = adm_sql_event_key_retire, .sales_by_type = adm_sql_sales_by_type,          \
    .checkin_list_create = adm_sql_checkin_list_create,                                            \
    .checkin_list_put = adm_sql_checkin_list_put, .checkin_list_list = adm_sql_checkin_list_list,  \
    .enrollment_create = adm_sql_enrollment_create, .device_enroll = adm_sql_device_enroll,        \
    .device_get = adm_sql_device_get, .device_list = adm_sql_device_list,                          \
    .device_revoke = adm_sql_device_revoke, .checkins_add = adm_sql_checkins_add,                  \
    .checkins_list = adm_sql_checkins_list, .checkins_last_seq = adm_sql_checkins_last_seq,        \
    .checkins_mark_upstream = adm_sql_checkins_mark_upstream,                                      \
    .checkin_stats = adm_sql_checkin_stats, .mirror_put_header = adm_sql_mirror_put_header,        \
    .mirror_get = adm_sql_mirror_get, .mirror_advance = adm_sql_mirror_advance,                    \
    .mirror_revocations_since = adm_sql_mirror_revocations_since,                                  \
    .setting_put = adm_sql_setting_put, .setting_get = adm_sql_setting_get

#endif
