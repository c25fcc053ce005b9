/* store-sqlite.c: the embedded store backend: one SQLite file in WAL mode
 * behind a pool of connections, schema by numbered migrations (docs/store.md).
 * Arguments arrive checked by store.c; not for MariaDB (store-mysql.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "server/store-impl.h"

#define POOL_DEFAULT 8
#define BUSY_TIMEOUT_MS 1000 /* per attempt; a write makes ADM_STORE_WRITE_ATTEMPTS */
#define BATCH 64             /* expired holds or orders released per transaction */
#define LAZY_BATCHES 4       /* a hold releases at most LAZY_BATCHES * BATCH expired holds */
#define DELETE_BATCH 500     /* sessions or idempotency rows deleted per transaction */

_Static_assert(ADM_STORE_LIKE_ESCAPE == '!', "the search statement spells the escape '!'");

/* ---- schema ------------------------------------------------------------
 * Numbered migrations, applied in order at open, each once (docs/store.md
 * "Migrations"). Never edit a released entry: append a new one. */

static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE venues ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  city TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  capacity INTEGER NOT NULL CHECK (capacity >= 0),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  venue_id INTEGER NOT NULL REFERENCES venues(id),"
    "  title TEXT NOT NULL,"
    "  city TEXT NOT NULL COLLATE NOCASE,"
    "  category TEXT NOT NULL COLLATE NOCASE,"
    "  description TEXT NOT NULL,"
    "  starts_at INTEGER NOT NULL,"
    "  ends_at INTEGER NOT NULL,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
    "  revocation_seq INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE INDEX events_by_start ON events(starts_at, id);"
    "CREATE INDEX events_by_city ON events(city, starts_at, id);"
    "CREATE INDEX events_by_venue ON events(venue_id);"
    "CREATE TABLE ticket_types ("
    "  id INTEGER PRIMARY KEY,"
    "  event_id INTEGER NOT NULL REFERENCES events(id),"
    "  name TEXT NOT NULL,"
    "  price INTEGER NOT NULL CHECK (price >= 0),"
    "  currency TEXT NOT NULL,"
    "  capacity INTEGER NOT NULL,"
    "  sold INTEGER NOT NULL DEFAULT 0,"
    "  held INTEGER NOT NULL DEFAULT 0,"
    "  per_order_max INTEGER NOT NULL,"
    "  per_customer_max INTEGER NOT NULL,"
    "  sale_starts INTEGER NOT NULL,"
    "  sale_ends INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  CHECK (sold >= 0 AND held >= 0 AND sold + held <= capacity));"
    "CREATE INDEX ticket_types_by_event ON ticket_types(event_id, id);"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  display_name TEXT NOT NULL,"
    "  role INTEGER NOT NULL CHECK (role BETWEEN 0 AND 2),"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE sessions ("
    "  token_hash TEXT PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  created INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL);"
    "CREATE INDEX sessions_by_expiry ON sessions(expires_at);"
    "CREATE INDEX sessions_by_user ON sessions(user_id);"
    "CREATE TABLE orders ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
    "  total INTEGER NOT NULL,"
    "  currency TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  paid_at INTEGER NOT NULL DEFAULT 0,"
    "  provider TEXT,"
    "  provider_ref TEXT,"
    "  UNIQUE (provider, provider_ref));"
    "CREATE INDEX orders_by_user ON orders(user_id, id);"
    "CREATE INDEX orders_by_expiry ON orders(state, expires_at);"
    "CREATE TABLE order_items ("
    "  id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  type_id INTEGER NOT NULL REFERENCES ticket_types(id),"
    "  event_id INTEGER NOT NULL REFERENCES events(id),"
    "  quantity INTEGER NOT NULL CHECK (quantity > 0),"
    "  unit_price INTEGER NOT NULL);"
    "CREATE INDEX order_items_by_order ON order_items(order_id, id);"
    "CREATE INDEX order_items_by_type ON order_items(type_id);"
    "CREATE TABLE holds ("
    "  id TEXT PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  type_id INTEGER NOT NULL REFERENCES ticket_types(id),"
    "  event_id INTEGER NOT NULL REFERENCES events(id),"
    "  quantity INTEGER NOT NULL CHECK (quantity > 0),"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),"
    "  created INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  order_id INTEGER REFERENCES orders(id));"
    "CREATE INDEX holds_by_expiry ON holds(state, expires_at);"
    "CREATE INDEX holds_by_type ON holds(type_id, state, expires_at);"
    "CREATE INDEX holds_by_user ON holds(user_id, type_id, state);"
    "CREATE TABLE tickets ("
    "  id INTEGER PRIMARY KEY,"
    "  event_id INTEGER NOT NULL REFERENCES events(id),"
    "  type_id INTEGER NOT NULL REFERENCES ticket_types(id),"
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 1),"
    "  created INTEGER NOT NULL,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0,"
    "  key_id INTEGER NOT NULL DEFAULT 0,"
    "  token TEXT);"
    "CREATE INDEX tickets_by_order ON tickets(order_id, id);"
    "CREATE INDEX tickets_unsigned ON tickets(key_id, status, created, id);"
    "CREATE TABLE revocations ("
    "  event_id INTEGER NOT NULL REFERENCES events(id),"
    "  seq INTEGER NOT NULL,"
    "  ticket_id INTEGER NOT NULL UNIQUE REFERENCES tickets(id),"
    "  revoked_at INTEGER NOT NULL,"
    "  PRIMARY KEY (event_id, seq));"
    "CREATE TABLE event_keys ("
    "  kid INTEGER PRIMARY KEY,"
    "  event_id INTEGER NOT NULL REFERENCES events(id),"
    "  seed BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  retired_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX event_keys_by_event ON event_keys(event_id, created, kid);"
    "CREATE TABLE idempotency ("
    "  scope TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  UNIQUE (scope, idem_key));"
    "CREATE INDEX idempotency_by_created ON idempotency(created);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ----------------------------------------------------------
 * Every statement the backend runs, prepared once per connection on first
 * use. Column lists are shared by the row readers below. */

#define VENUE_COLS "id, name, city, address, capacity, created, updated"
#define EVENT_COLS                                                                                 \
    "id, venue_id, title, city, category, description, starts_at, ends_at, status, "               \
    "revocation_seq, created, updated"
#define TYPE_COLS                                                                                  \
    "id, event_id, name, price, currency, capacity, sold, held, per_order_max, "                   \
    "per_customer_max, sale_starts, sale_ends, created, updated"
#define HOLD_COLS                                                                                  \
    "id, user_id, type_id, event_id, quantity, state, created, expires_at, "                       \
    "COALESCE(order_id, 0)"
#define ORDER_COLS                                                                                 \
    "id, code, user_id, state, total, currency, created, updated, expires_at, paid_at, "           \
    "COALESCE(provider, ''), COALESCE(provider_ref, '')"
#define TICKET_COLS                                                                                \
    "id, event_id, type_id, order_id, user_id, status, created, revoked_at, key_id, "              \
    "COALESCE(token, '')"
#define USER_COLS "id, email, password_hash, display_name, role, created"

enum {
    Q_BEGIN,
    Q_BEGIN_WRITE,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SYNC_FULL,
    Q_SYNC_NORMAL,
    Q_PING,
    Q_SCHEMA_VERSION,
    Q_VENUE_INSERT,
    Q_VENUE_UPDATE,
    Q_VENUE_GET,
    Q_EVENT_INSERT,
    Q_EVENT_UPDATE,
    Q_EVENT_GET,
    Q_EVENT_STATUS,
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
    Q_TYPE_HOLD,
    Q_TYPE_UNHOLD,
    Q_TYPE_SELL,
    Q_TYPE_UNSELL,
    Q_USER_EXISTS,
    Q_CUSTOMER_SEATS,
    Q_HOLD_INSERT,
    Q_HOLD_GET,
    Q_HOLD_SET_STATE,
    Q_HOLD_EXPIRED_OF_TYPE,
    Q_HOLD_EXPIRED,
    Q_HOLD_FOR_CHECKOUT,
    Q_HOLD_CONVERT,
    Q_ORDER_INSERT,
    Q_ITEM_INSERT,
    Q_ORDER_GET,
    Q_ORDER_GET_CODE,
    Q_ORDER_ITEMS,
    Q_ORDER_FINISH,
    Q_ORDER_EXPIRED,
    Q_ORDER_REF_OWNER,
    Q_ORDER_OFF_SALE,
    Q_ORDER_MARK_PAID,
    Q_ORDER_MARK_REFUNDED,
    Q_ORDER_LIST,
    Q_TICKET_INSERT,
    Q_TICKET_GET,
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
    Q_IDEM_DELETE,
    Q_IDEM_INSERT,
    Q_IDEM_COMPLETE,
    Q_IDEM_REAP,
    Q_KEY_INSERT,
    Q_KEY_COUNT,
    Q_KEY_EXISTS,
    Q_KEY_LIST,
    Q_KEY_RETIRE,
    Q_SALES,
    N_Q
};

static const char *const sql_text[N_Q] = {
    [Q_BEGIN] = "BEGIN",
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [Q_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [Q_PING] = "SELECT 1",
    [Q_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",

    [Q_VENUE_INSERT] = "INSERT INTO venues (name, city, address, capacity, created, updated) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [Q_VENUE_UPDATE] = "UPDATE venues SET name = ?2, city = ?3, address = ?4, capacity = ?5, "
                       "updated = ?6 WHERE id = ?1",
    [Q_VENUE_GET] = "SELECT " VENUE_COLS " FROM venues WHERE id = ?1",

    [Q_EVENT_INSERT] =
        "INSERT INTO events (venue_id, title, city, category, description, starts_at, ends_at, "
        "status, created, updated) VALUES (?1, ?2, CASE WHEN ?3 = '' THEN (SELECT city FROM "
        "venues WHERE id = ?1) ELSE ?3 END, ?4, ?5, ?6, ?7, 0, ?8, ?8)",
    [Q_EVENT_UPDATE] =
        "UPDATE events SET title = ?2, city = CASE WHEN ?3 = '' THEN (SELECT v.city FROM venues "
        "v WHERE v.id = events.venue_id) ELSE ?3 END, category = ?4, description = ?5, "
        "starts_at = ?6, ends_at = ?7, updated = ?8 WHERE id = ?1",
    [Q_EVENT_GET] = "SELECT " EVENT_COLS " FROM events WHERE id = ?1",
    [Q_EVENT_STATUS] = "SELECT status FROM events WHERE id = ?1",
    [Q_EVENT_SET_STATUS] =
        "UPDATE events SET status = ?3, updated = ?4 WHERE id = ?1 AND status = ?2",
    [Q_EVENT_SEARCH] = "SELECT " EVENT_COLS " FROM events"
                       " WHERE (?1 IS NULL OR city = ?1)"
                       " AND (?2 IS NULL OR category = ?2)"
                       " AND (?3 IS NULL OR title LIKE ?3 ESCAPE '!'"
                       "      OR description LIKE ?3 ESCAPE '!')"
                       " AND (?4 = 0 OR starts_at >= ?4)"
                       " AND (?5 = 0 OR starts_at < ?5)"
                       " AND (?6 <> 0 OR status = 1)"
                       " AND (starts_at > ?7 OR (starts_at = ?7 AND id > ?8))"
                       " ORDER BY starts_at, id LIMIT ?9",
    [Q_EVENT_BUMP_SEQ] = "UPDATE events SET revocation_seq = revocation_seq + 1 WHERE id = ?1",
    [Q_EVENT_SEQ] = "SELECT revocation_seq FROM events WHERE id = ?1",

    [Q_TYPE_COUNT] = "SELECT COUNT(*) FROM ticket_types WHERE event_id = ?1",
    [Q_TYPE_INSERT] =
        "INSERT INTO ticket_types (event_id, name, price, currency, capacity, per_order_max, "
        "per_customer_max, sale_starts, sale_ends, created, updated) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    [Q_TYPE_UPDATE] =
        "UPDATE ticket_types SET name = ?2, price = ?3, currency = ?4, capacity = ?5, "
        "per_order_max = ?6, per_customer_max = ?7, sale_starts = ?8, sale_ends = ?9, "
        "updated = ?10 WHERE id = ?1 AND sold + held <= ?5",
    [Q_TYPE_GET] = "SELECT " TYPE_COLS " FROM ticket_types WHERE id = ?1",
    [Q_TYPE_LIST] = "SELECT " TYPE_COLS " FROM ticket_types WHERE event_id = ?1 ORDER BY id",
    [Q_TYPE_FOR_HOLD] = "SELECT t.event_id, t.per_order_max, t.per_customer_max, "
                        "t.sale_starts, t.sale_ends, e.status FROM ticket_types t "
                        "JOIN events e ON e.id = t.event_id WHERE t.id = ?1",
    /* the authoritative stock check: no row changes unless the seats exist */
    [Q_TYPE_HOLD] = "UPDATE ticket_types SET held = held + ?2 "
                    "WHERE id = ?1 AND sold + held + ?2 <= capacity",
    [Q_TYPE_UNHOLD] = "UPDATE ticket_types SET held = held - ?2 WHERE id = ?1 AND held >= ?2",
    [Q_TYPE_SELL] = "UPDATE ticket_types SET held = held - ?2, sold = sold + ?2 "
                    "WHERE id = ?1 AND held >= ?2",
    [Q_TYPE_UNSELL] = "UPDATE ticket_types SET sold = sold - ?2 WHERE id = ?1 AND sold >= ?2",

    [Q_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1",
    [Q_CUSTOMER_SEATS] = "SELECT (SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE user_id = ?1 "
                         "AND type_id = ?2 AND state = 0 AND expires_at > ?3) + "
                         "(SELECT COALESCE(SUM(i.quantity), 0) FROM orders o JOIN order_items i "
                         "ON i.order_id = o.id WHERE o.user_id = ?1 AND i.type_id = ?2 "
                         "AND (o.state = 1 OR (o.state = 0 AND o.expires_at > ?3)))",
    [Q_HOLD_INSERT] = "INSERT INTO holds (id, user_id, type_id, event_id, quantity, state, "
                      "created, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
    [Q_HOLD_GET] = "SELECT " HOLD_COLS " FROM holds WHERE id = ?1",
    [Q_HOLD_SET_STATE] = "UPDATE holds SET state = ?2 WHERE id = ?1 AND state = 0",
    [Q_HOLD_EXPIRED_OF_TYPE] = "SELECT id, type_id, quantity FROM holds WHERE type_id = ?1 "
                               "AND state = 0 AND expires_at <= ?2 LIMIT ?3",
    [Q_HOLD_EXPIRED] = "SELECT id, type_id, quantity FROM holds "
                       "WHERE state = 0 AND expires_at <= ?1 LIMIT ?2",
    [Q_HOLD_FOR_CHECKOUT] =
        "SELECT h.user_id, h.type_id, h.event_id, h.quantity, h.state, h.expires_at, t.price, "
        "t.currency, e.status FROM holds h JOIN ticket_types t ON t.id = h.type_id "
        "JOIN events e ON e.id = h.event_id WHERE h.id = ?1",
    [Q_HOLD_CONVERT] = "UPDATE holds SET state = 3, order_id = ?2 WHERE id = ?1 AND state = 0",

    [Q_ORDER_INSERT] = "INSERT INTO orders (code, user_id, state, total, currency, created, "
                       "updated, expires_at) VALUES (?1, ?2, 0, ?3, ?4, ?5, ?5, ?6)",
    [Q_ITEM_INSERT] = "INSERT INTO order_items (order_id, type_id, event_id, quantity, "
                      "unit_price) VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [Q_ORDER_GET_CODE] = "SELECT " ORDER_COLS " FROM orders WHERE code = ?1",
    [Q_ORDER_ITEMS] = "SELECT id, type_id, event_id, quantity, unit_price FROM order_items "
                      "WHERE order_id = ?1 ORDER BY id",
    [Q_ORDER_FINISH] = "UPDATE orders SET state = ?2, updated = ?3 WHERE id = ?1 AND state = 0",
    [Q_ORDER_EXPIRED] = "SELECT id FROM orders WHERE state = 0 AND expires_at <= ?1 LIMIT ?2",
    [Q_ORDER_REF_OWNER] = "SELECT id FROM orders WHERE provider = ?1 AND provider_ref = ?2",
    [Q_ORDER_OFF_SALE] = "SELECT COUNT(*) FROM order_items i JOIN events e "
                         "ON e.id = i.event_id WHERE i.order_id = ?1 AND e.status <> 1",
    [Q_ORDER_MARK_PAID] = "UPDATE orders SET state = 1, paid_at = ?2, updated = ?2, "
                          "provider = ?3, provider_ref = ?4 WHERE id = ?1 AND state = 0",
    [Q_ORDER_MARK_REFUNDED] =
        "UPDATE orders SET state = 3, updated = ?2 WHERE id = ?1 AND state = 1",
    [Q_ORDER_LIST] = "SELECT " ORDER_COLS " FROM orders WHERE user_id = ?1 "
                     "AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3",

    [Q_TICKET_INSERT] = "INSERT INTO tickets (id, event_id, type_id, order_id, user_id, status, "
                        "created) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    [Q_TICKET_GET] = "SELECT " TICKET_COLS " FROM tickets WHERE id = ?1",
    [Q_TICKETS_OF_ORDER] = "SELECT " TICKET_COLS " FROM tickets WHERE order_id = ?1 ORDER BY id",
    [Q_TICKETS_VALID_OF_ORDER] =
        "SELECT id, event_id FROM tickets WHERE order_id = ?1 AND status = 0 ORDER BY id",
    [Q_TICKET_REVOKE] =
        "UPDATE tickets SET status = 1, revoked_at = ?2 WHERE id = ?1 AND status = 0",
    [Q_TICKET_SET_TOKEN] =
        "UPDATE tickets SET token = ?2, key_id = ?3 WHERE id = ?1 AND token IS NULL",
    [Q_TICKETS_UNSIGNED] = "SELECT " TICKET_COLS " FROM tickets WHERE key_id = 0 "
                           "AND status = 0 ORDER BY created, id LIMIT ?1",
    [Q_REVOCATION_INSERT] =
        "INSERT INTO revocations (event_id, seq, ticket_id, revoked_at) VALUES (?1, ?2, ?3, ?4)",
    [Q_REVOCATIONS] = "SELECT seq, ticket_id, revoked_at FROM revocations "
                      "WHERE event_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",

    [Q_USER_INSERT] = "INSERT INTO users (email, password_hash, display_name, role, created) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [Q_USER_BY_EMAIL] = "SELECT " USER_COLS " FROM users WHERE email = ?1",
    [Q_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",

    [Q_SESSION_INSERT] = "INSERT INTO sessions (token_hash, user_id, created, expires_at) "
                         "VALUES (?1, ?2, ?3, ?4)",
    [Q_SESSION_GET] = "SELECT s.user_id, u.role, s.created, s.expires_at FROM sessions s "
                      "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
    [Q_SESSION_REAP] = "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM "
                       "sessions WHERE expires_at <= ?1 LIMIT ?2)",

    [Q_IDEM_GET] = "SELECT status, fingerprint, body, created FROM idempotency "
                   "WHERE scope = ?1 AND idem_key = ?2",
    [Q_IDEM_DELETE] = "DELETE FROM idempotency WHERE scope = ?1 AND idem_key = ?2",
    [Q_IDEM_INSERT] = "INSERT INTO idempotency (scope, idem_key, fingerprint, status, body, "
                      "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_IDEM_COMPLETE] = "UPDATE idempotency SET status = ?3, body = ?4 "
                        "WHERE scope = ?1 AND idem_key = ?2 AND status = 0",
    [Q_IDEM_REAP] = "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency "
                    "WHERE created <= ?1 LIMIT ?2)",

    [Q_KEY_INSERT] =
        "INSERT INTO event_keys (kid, event_id, seed, created) VALUES (?1, ?2, ?3, ?4)",
    [Q_KEY_COUNT] = "SELECT COUNT(*) FROM event_keys WHERE event_id = ?1",
    [Q_KEY_EXISTS] = "SELECT 1 FROM event_keys WHERE event_id = ?1 AND kid = ?2",
    [Q_KEY_LIST] = "SELECT event_id, kid, seed, created, retired_at FROM event_keys "
                   "WHERE event_id = ?1 ORDER BY created, kid",
    [Q_KEY_RETIRE] = "UPDATE event_keys SET retired_at = ?3 "
                     "WHERE event_id = ?1 AND kid = ?2 AND retired_at = 0",

    [Q_SALES] = "SELECT t.id, t.name, t.currency, t.capacity, t.sold, t.held, "
                "COALESCE((SELECT SUM(i.quantity * i.unit_price) FROM order_items i "
                "JOIN orders o ON o.id = i.order_id WHERE i.type_id = t.id AND o.state = 1), 0) "
                "FROM ticket_types t WHERE t.event_id = ?1 ORDER BY t.id",
};

/* ---- connections and the pool ---- */

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *q[N_Q]; /* prepared on first use, finalized at close */
    int bind_rc;          /* first failed bind since the last step */
    bool bad;             /* a stored value did not fit its output field */
} conn_t;

typedef struct be {
    pthread_mutex_t mu;       /* guards idle[] */
    pthread_cond_t cv;        /* signalled when a connection returns to idle[] */
    pthread_mutex_t write_mu; /* one writer per process; other processes wait in SQLite */
    conn_t *conns;
    size_t n_conns;
    conn_t **idle;
    size_t n_idle;
    bool sync_ok, write_ok;
    adm_store_hooks_t hooks; /* from store.c: every transaction is the primary's */
} be_t;

static adm_err_t map_rc(int rc)
{
    adm_err_t result;

    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        result = ADM_OK;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        result = ADM_ERR_CONFLICT; /* retried by run_tx, then STORE_UNAVAILABLE */
        break;
    case SQLITE_NOMEM:
        result = ADM_ERR_NOMEM;
        break;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            result = ADM_ERR_EXISTS;
        else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            result = ADM_ERR_NOT_FOUND;
        else
            result = ADM_ERR_STORE; /* a CHECK: an invariant the code should have kept */
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        result = ADM_ERR_STORE_UNAVAILABLE;
        break;
    default:
        result = ADM_ERR_STORE;
        break;
    }
    return result;
}

/* *out gets statement q of c, ready for binding. */
static adm_err_t use(conn_t *c, int q, sqlite3_stmt **out)
{
    adm_err_t result = ADM_OK;

    if (c->q[q] == NULL)
        result = map_rc(
            sqlite3_prepare_v3(c->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &c->q[q], NULL));
    *out = result == ADM_OK ? c->q[q] : NULL;
    c->bind_rc = SQLITE_OK;
    return result;
}

static void bi(conn_t *c, sqlite3_stmt *s, int i, int64_t v)
{
    int rc = sqlite3_bind_int64(s, i, v);

    if (rc != SQLITE_OK && c->bind_rc == SQLITE_OK)
        c->bind_rc = rc;
}

/* binds text v (borrowed until done()); NULL binds SQL NULL */
static void bt(conn_t *c, sqlite3_stmt *s, int i, const char *v)
{
    int rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);

    if (rc != SQLITE_OK && c->bind_rc == SQLITE_OK)
        c->bind_rc = rc;
}

static void bb(conn_t *c, sqlite3_stmt *s, int i, const void *p, size_t n)
{
    int rc = n > (size_t)INT32_MAX ? SQLITE_TOOBIG
             : n == 0              ? sqlite3_bind_zeroblob(s, i, 0)
                                   : sqlite3_bind_blob(s, i, p, (int)n, SQLITE_STATIC);

    if (rc != SQLITE_OK && c->bind_rc == SQLITE_OK)
        c->bind_rc = rc;
}

/* Resets s and drops its borrowed arguments. NULL is accepted. */
static void done(sqlite3_stmt *s)
{
    if (s != NULL) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

/* Steps s once: *row tells whether a row is ready to read. */
static adm_err_t step(conn_t *c, sqlite3_stmt *s, bool *row)
{
    adm_err_t result;
    int rc;

    *row = false;
    if (c->bind_rc != SQLITE_OK) {
        result = map_rc(c->bind_rc);
        c->bind_rc = SQLITE_OK;
        goto out;
    }
    rc = sqlite3_step(s);
    *row = rc == SQLITE_ROW;
    result = map_rc(rc == SQLITE_ROW || rc == SQLITE_DONE ? rc : sqlite3_extended_errcode(c->db));
out:
    return result;
}

/* Runs s to completion and resets it; *changes (may be NULL) gets the rows changed. */
static adm_err_t run(conn_t *c, sqlite3_stmt *s, int *changes)
{
    adm_err_t result;
    bool row;

    do
        result = step(c, s, &row);
    while (result == ADM_OK && row);
    if (changes != NULL)
        *changes = result == ADM_OK ? sqlite3_changes(c->db) : 0;
    done(s);
    return result;
}

/* Runs statement q, which takes no arguments. */
static adm_err_t run_q(conn_t *c, int q)
{
    sqlite3_stmt *s;
    adm_err_t result = use(c, q, &s);

    if (result == ADM_OK)
        result = run(c, s, NULL);
    return result;
}

/* Steps s once and reads one integer column: *found says whether a row came.
 * Resets s. */
static adm_err_t one_int(conn_t *c, sqlite3_stmt *s, int64_t *v, bool *found)
{
    bool row;
    adm_err_t result = step(c, s, &row);

    *v = result == ADM_OK && row ? sqlite3_column_int64(s, 0) : 0;
    *found = result == ADM_OK && row;
    done(s);
    return result;
}

static int64_t ci(sqlite3_stmt *s, int i)
{
    return sqlite3_column_int64(s, i);
}

/* Copies text column i into buf (cap bytes with the NUL); flags c->bad when it does not fit. */
static void ct(conn_t *c, sqlite3_stmt *s, int i, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);

    buf[0] = '\0';
    if (t == NULL)
        return;
    if (n >= cap) {
        c->bad = true;
        return;
    }
    memcpy(buf, t, n);
    buf[n] = '\0';
}

/* ADM_ERR_STORE when a row reader found a value that does not fit, and clears the flag. */
static adm_err_t take_bad(conn_t *c)
{
    adm_err_t result = c->bad ? ADM_ERR_STORE : ADM_OK;

    c->bad = false;
    return result;
}

static conn_t *acquire(be_t *be)
{
    conn_t *c;

    pthread_mutex_lock(&be->mu);
    while (be->n_idle == 0)
        pthread_cond_wait(&be->cv, &be->mu);
    c = be->idle[--be->n_idle];
    pthread_mutex_unlock(&be->mu);
    return c;
}

static void release(be_t *be, conn_t *c)
{
    pthread_mutex_lock(&be->mu);
    be->idle[be->n_idle++] = c;
    pthread_cond_signal(&be->cv);
    pthread_mutex_unlock(&be->mu);
}

/* ---- transactions ----
 * Every op is a body run by run_tx() inside one transaction on one pooled
 * connection. A body fills its outputs only from the database and may run
 * again after SQLITE_BUSY, so it must not keep state between runs. It returns
 * its result; *keep asks for a commit even though the result is an error
 * (hold_release of an expired hold releases its seats and says EXPIRED). */

typedef adm_err_t (*body_fn)(conn_t *c, void *arg, bool *keep);

enum tx_kind {
    TX_READ,    /* BEGIN (deferred): a consistent snapshot for several SELECTs */
    TX_WRITE,   /* BEGIN IMMEDIATE, commit fsynced at the next checkpoint */
    TX_DURABLE, /* BEGIN IMMEDIATE, commit fsynced before returning (money, revocations) */
};

static adm_err_t run_tx(be_t *be, enum tx_kind kind, body_fn fn, void *arg)
{
    adm_err_t result = ADM_ERR_CONFLICT, r;
    conn_t *c;

    /* In-process writers queue on a mutex rather than in SQLite's busy
     * handler, which sleeps; other processes still meet busy_timeout. */
    if (kind != TX_READ)
        pthread_mutex_lock(&be->write_mu);
    c = acquire(be);
    if (kind == TX_DURABLE && (result = run_q(c, Q_SYNC_FULL)) != ADM_OK)
        goto out;
    result = ADM_ERR_CONFLICT;
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS && result == ADM_ERR_CONFLICT;
         attempt++) {
        bool keep = false;

        be->hooks.note_query(be->hooks.ctx, ADM_STORE_ROLE_PRIMARY); /* one database */
        result = run_q(c, kind == TX_READ ? Q_BEGIN : Q_BEGIN_WRITE);
        if (result != ADM_OK)
            continue;
        result = fn(c, arg, &keep);
        c->bad = false;
        if (result == ADM_OK || (keep && result != ADM_ERR_CONFLICT)) {
            r = run_q(c, Q_COMMIT);
            if (r != ADM_OK)
                result = r;
        }
        if (!sqlite3_get_autocommit(c->db))
            (void)run_q(c, Q_ROLLBACK);
    }
    if (result == ADM_ERR_CONFLICT)
        result = ADM_ERR_STORE_UNAVAILABLE; /* busy past the bounded retries */
    if (kind == TX_DURABLE && (r = run_q(c, Q_SYNC_NORMAL)) != ADM_OK && result == ADM_OK)
        result = r;
out:
    release(be, c);
    if (kind != TX_READ)
        pthread_mutex_unlock(&be->write_mu);
    return result;
}

/* ---- opening: pragmas and migrations ---- */

/* Runs constant SQL text (possibly several statements) on db; *text_out
 * (may be NULL, cap bytes) gets the first column of the first row. */
static adm_err_t exec_text(sqlite3 *db, const char *sql, char *text_out, size_t cap)
{
    adm_err_t result = ADM_OK;
    sqlite3_stmt *s = NULL;
    const char *tail = sql;
    bool first = true;
    int rc;

    if (text_out != NULL)
        text_out[0] = '\0';
    while (result == ADM_OK && tail != NULL && *tail != '\0') {
        rc = sqlite3_prepare_v2(db, tail, -1, &s, &tail);
        if (rc != SQLITE_OK) {
            result = map_rc(sqlite3_extended_errcode(db));
            break;
        }
        if (s == NULL) /* trailing whitespace */
            break;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(s, 0);
            if (first && text_out != NULL && t != NULL)
                snprintf(text_out, cap, "%s", (const char *)t);
            first = false;
        }
        if (rc != SQLITE_DONE)
            result = map_rc(sqlite3_extended_errcode(db));
        sqlite3_finalize(s);
        s = NULL;
    }
    return result;
}

/* Runs exec_text, retrying while another process holds a lock it needs. */
static adm_err_t exec_retry(sqlite3 *db, const char *sql, char *text_out, size_t cap)
{
    adm_err_t result = ADM_ERR_CONFLICT;

    for (int i = 0; i < ADM_STORE_WRITE_ATTEMPTS && result == ADM_ERR_CONFLICT; i++)
        result = exec_text(db, sql, text_out, cap);
    return result == ADM_ERR_CONFLICT ? ADM_ERR_STORE_UNAVAILABLE : result;
}

static adm_err_t conn_open(const char *path, conn_t *c)
{
    adm_err_t result;
    char mode[16], fk[16];
    int rc;

    memset(c, 0, sizeof *c);
    rc = sqlite3_open_v2(path, &c->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        result = rc == SQLITE_NOMEM ? ADM_ERR_NOMEM : ADM_ERR_STORE_UNAVAILABLE;
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    if ((rc = sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS)) != SQLITE_OK) {
        result = map_rc(rc);
        goto out;
    }
    /* WAL: readers never block the writer; NORMAL: commits reach the disk at
     * checkpoints, except TX_DURABLE ones (see docs/store.md "Durability"). */
    if ((result = exec_retry(c->db, "PRAGMA journal_mode = WAL", mode, sizeof mode)) != ADM_OK)
        goto out;
    if (strcmp(mode, "wal") != 0) {
        result = ADM_ERR_STORE; /* e.g. a file system without shared memory */
        goto out;
    }
    if ((result = exec_text(c->db, "PRAGMA synchronous = NORMAL", NULL, 0)) != ADM_OK ||
        (result = exec_text(c->db, "PRAGMA foreign_keys = ON", NULL, 0)) != ADM_OK ||
        (result = exec_text(c->db, "PRAGMA foreign_keys", fk, sizeof fk)) != ADM_OK)
        goto out;
    if (strcmp(fk, "1") != 0)
        result = ADM_ERR_STORE; /* SQLite built without foreign keys */
out:
    if (result != ADM_OK) {
        sqlite3_close(c->db);
        c->db = NULL;
    }
    return result;
}

static void conn_close(conn_t *c)
{
    for (int i = 0; i < N_Q; i++)
        sqlite3_finalize(c->q[i]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

/* Applies the migrations the database lacks, in one IMMEDIATE transaction,
 * so two processes opening a new file at once apply each exactly once. */
static adm_err_t migrate(conn_t *c)
{
    adm_err_t result = ADM_ERR_CONFLICT;
    sqlite3_stmt *s = NULL;
    char v[32];
    long version;
    int rc;

    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS && result == ADM_ERR_CONFLICT;
         attempt++) {
        if ((result = exec_text(c->db, "BEGIN IMMEDIATE", NULL, 0)) != ADM_OK)
            continue;
        result = exec_text(c->db,
                           "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
                           "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                           v, sizeof v);
        version = strtol(v, NULL, 10);
        if (result == ADM_OK && (version < 0 || version > N_MIGRATIONS))
            result = ADM_ERR_STORE; /* written by a newer admitd: refuse to run on it */
        /* migrations[i] is version i + 1 */
        for (long i = version; result == ADM_OK && i >= 0 && i < N_MIGRATIONS; i++) {
            long m = i + 1;
            result = exec_text(c->db, migrations[i], NULL, 0);
            if (result != ADM_OK)
                break;
            rc = sqlite3_prepare_v2(c->db,
                                    "INSERT INTO schema_migrations (version, applied_at) "
                                    "VALUES (?1, ?2)",
                                    -1, &s, NULL);
            if (rc == SQLITE_OK && (rc = sqlite3_bind_int64(s, 1, m)) == SQLITE_OK &&
                (rc = sqlite3_bind_int64(s, 2, (int64_t)time(NULL))) == SQLITE_OK)
                rc = sqlite3_step(s);
            if (rc != SQLITE_DONE)
                result = map_rc(sqlite3_extended_errcode(c->db));
            sqlite3_finalize(s);
            s = NULL;
        }
        if (result == ADM_OK)
            result = exec_text(c->db, "COMMIT", NULL, 0);
        if (!sqlite3_get_autocommit(c->db))
            (void)exec_text(c->db, "ROLLBACK", NULL, 0);
    }
    if (result == ADM_ERR_CONFLICT)
        result = ADM_ERR_STORE_UNAVAILABLE;
    else if (result != ADM_OK && result != ADM_ERR_NOMEM && result != ADM_ERR_STORE_UNAVAILABLE)
        result = ADM_ERR_STORE;
    return result;
}

static void sq_close(void *p)
{
    be_t *be = p;

    if (be == NULL)
        return;
    for (size_t i = 0; i < be->n_conns; i++)
        conn_close(&be->conns[i]);
    free(be->conns);
    free(be->idle);
    if (be->sync_ok) {
        pthread_cond_destroy(&be->cv);
        pthread_mutex_destroy(&be->mu);
    }
    if (be->write_ok)
        pthread_mutex_destroy(&be->write_mu);
    free(be);
}

static adm_err_t sq_open(const adm_store_config_t *cfg, const adm_store_hooks_t *hooks, void **out)
{
    adm_err_t result = ADM_ERR_NOMEM;
    size_t pool = cfg->pool_size > 0 ? (size_t)cfg->pool_size : POOL_DEFAULT;
    be_t *be = NULL;
    int fd;

    *out = NULL;
    if (cfg->sqlite_path == NULL || cfg->sqlite_path[0] == '\0' || sqlite3_threadsafe() == 0) {
        result = ADM_ERR_CONFIG;
        goto out;
    }
    be = calloc(1, sizeof *be);
    if (be == NULL)
        goto out;
    be->hooks = *hooks;
    if (pthread_mutex_init(&be->mu, NULL) != 0)
        goto out;
    if (pthread_cond_init(&be->cv, NULL) != 0) {
        pthread_mutex_destroy(&be->mu);
        goto out;
    }
    be->sync_ok = true;
    if (pthread_mutex_init(&be->write_mu, NULL) != 0)
        goto out;
    be->write_ok = true;
    be->conns = calloc(pool, sizeof *be->conns);
    be->idle = calloc(pool, sizeof *be->idle);
    if (be->conns == NULL || be->idle == NULL)
        goto out;
    /* The file holds signing seeds and password hashes: create it private.
     * SQLite gives the -wal and -shm files the same permissions. */
    fd = open(cfg->sqlite_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        result = errno == ENOMEM ? ADM_ERR_NOMEM : ADM_ERR_STORE_UNAVAILABLE;
        goto out;
    }
    close(fd);
    for (size_t i = 0; i < pool; i++) {
        if ((result = conn_open(cfg->sqlite_path, &be->conns[i])) != ADM_OK)
            goto out;
        be->n_conns++;
        be->idle[be->n_idle++] = &be->conns[i];
        if (i == 0 && (result = migrate(&be->conns[0])) != ADM_OK)
            goto out;
    }
    *out = be;
    be = NULL;
    result = ADM_OK;
out:
    sq_close(be);
    return result;
}

/* ---- row readers (column orders: the *_COLS lists) ---- */

static adm_err_t read_venue(conn_t *c, sqlite3_stmt *s, adm_venue_t *v)
{
    v->id = ci(s, 0);
    ct(c, s, 1, v->name, sizeof v->name);
    ct(c, s, 2, v->city, sizeof v->city);
    ct(c, s, 3, v->address, sizeof v->address);
    v->capacity = ci(s, 4);
    v->created = ci(s, 5);
    v->updated = ci(s, 6);
    return take_bad(c);
}

static adm_err_t read_event(conn_t *c, sqlite3_stmt *s, adm_event_t *e)
{
    e->id = ci(s, 0);
    e->venue_id = ci(s, 1);
    ct(c, s, 2, e->title, sizeof e->title);
    ct(c, s, 3, e->city, sizeof e->city);
    ct(c, s, 4, e->category, sizeof e->category);
    ct(c, s, 5, e->description, sizeof e->description);
    e->starts_at = ci(s, 6);
    e->ends_at = ci(s, 7);
    e->status = (adm_event_status_t)ci(s, 8);
    e->revocation_seq = ci(s, 9);
    e->created = ci(s, 10);
    e->updated = ci(s, 11);
    return take_bad(c);
}

static adm_err_t read_type(conn_t *c, sqlite3_stmt *s, adm_ticket_type_t *t)
{
    t->id = ci(s, 0);
    t->event_id = ci(s, 1);
    ct(c, s, 2, t->name, sizeof t->name);
    t->price = ci(s, 3);
    ct(c, s, 4, t->currency, sizeof t->currency);
    t->capacity = ci(s, 5);
    t->sold = ci(s, 6);
    t->held = ci(s, 7);
    t->per_order_max = (int32_t)ci(s, 8);
    t->per_customer_max = (int32_t)ci(s, 9);
    t->sale_starts = ci(s, 10);
    t->sale_ends = ci(s, 11);
    t->created = ci(s, 12);
    t->updated = ci(s, 13);
    return take_bad(c);
}

static adm_err_t read_hold(conn_t *c, sqlite3_stmt *s, adm_hold_t *h)
{
    ct(c, s, 0, h->id, sizeof h->id);
    h->user_id = ci(s, 1);
    h->type_id = ci(s, 2);
    h->event_id = ci(s, 3);
    h->quantity = (int32_t)ci(s, 4);
    h->state = (adm_hold_state_t)ci(s, 5);
    h->created = ci(s, 6);
    h->expires_at = ci(s, 7);
    h->order_id = ci(s, 8);
    return take_bad(c);
}

static adm_err_t read_order(conn_t *c, sqlite3_stmt *s, adm_order_t *o)
{
    o->id = ci(s, 0);
    ct(c, s, 1, o->code, sizeof o->code);
    o->user_id = ci(s, 2);
    o->state = (adm_order_state_t)ci(s, 3);
    o->total = ci(s, 4);
    ct(c, s, 5, o->currency, sizeof o->currency);
    o->created = ci(s, 6);
    o->updated = ci(s, 7);
    o->expires_at = ci(s, 8);
    o->paid_at = ci(s, 9);
    ct(c, s, 10, o->provider, sizeof o->provider);
    ct(c, s, 11, o->provider_ref, sizeof o->provider_ref);
    o->n_items = 0;
    return take_bad(c);
}

static adm_err_t read_ticket(conn_t *c, sqlite3_stmt *s, adm_store_ticket_t *t)
{
    t->id = ci(s, 0);
    t->event_id = ci(s, 1);
    t->type_id = ci(s, 2);
    t->order_id = ci(s, 3);
    t->user_id = ci(s, 4);
    t->status = (adm_ticket_status_t)ci(s, 5);
    t->created = ci(s, 6);
    t->revoked_at = ci(s, 7);
    t->key_id = (uint32_t)ci(s, 8);
    ct(c, s, 9, t->token, sizeof t->token);
    return take_bad(c);
}

static adm_err_t read_user(conn_t *c, sqlite3_stmt *s, adm_user_t *u)
{
    u->id = ci(s, 0);
    ct(c, s, 1, u->email, sizeof u->email);
    ct(c, s, 2, u->password_hash, sizeof u->password_hash);
    ct(c, s, 3, u->display_name, sizeof u->display_name);
    u->role = (adm_role_t)ci(s, 4);
    u->created = ci(s, 5);
    return take_bad(c);
}

/* Grows *arr (elem-byte entries, *cap of them) to hold n + 1, never past max. */
static adm_err_t grow(void **arr, size_t *cap, size_t n, size_t elem, size_t max)
{
    adm_err_t result = ADM_OK;
    size_t want;
    void *p;

    if (n < *cap)
        goto out;
    if (n >= max) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    want = *cap ? *cap * 2 : 16;
    if (want > max)
        want = max;
    p = realloc(*arr, want * elem);
    if (p == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    *arr = p;
    *cap = want;
out:
    return result;
}

/* Frees n rows of elem bytes; secret rows are wiped first. */
static void free_rows(void *arr, size_t n, size_t elem, bool secret)
{
    if (arr != NULL && secret)
        sodium_memzero(arr, n * elem);
    free(arr);
}

/* Reads every row of the bound statement s into a new array of elem-byte
 * entries via reader (at most max rows). Resets s. Secret rows are allocated
 * at their maximum at once, so no realloc leaves a copy behind, and wiped
 * when freed on failure. */
typedef adm_err_t (*reader_fn)(conn_t *c, sqlite3_stmt *s, void *entry);

static adm_err_t read_all(conn_t *c, sqlite3_stmt *s, reader_fn reader, size_t elem, size_t max,
                          bool secret, void **arr, size_t *n)
{
    adm_err_t result = ADM_OK;
    size_t cap = 0;
    bool row;

    *arr = NULL;
    *n = 0;
    if (secret && max > 0) {
        if ((*arr = calloc(max, elem)) == NULL) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        cap = max;
    }
    while ((result = step(c, s, &row)) == ADM_OK && row) {
        if ((result = grow(arr, &cap, *n, elem, max)) != ADM_OK)
            break;
        memset((char *)*arr + *n * elem, 0, elem);
        if ((result = reader(c, s, (char *)*arr + *n * elem)) != ADM_OK)
            break;
        (*n)++;
    }
out:
    done(s);
    if (result != ADM_OK || *n == 0) {
        free_rows(*arr, cap, elem, secret);
        *arr = NULL;
        *n = 0;
    }
    return result;
}

static adm_err_t rd_type(conn_t *c, sqlite3_stmt *s, void *e)
{
    return read_type(c, s, e);
}

static adm_err_t rd_event(conn_t *c, sqlite3_stmt *s, void *e)
{
    return read_event(c, s, e);
}

static adm_err_t rd_ticket(conn_t *c, sqlite3_stmt *s, void *e)
{
    return read_ticket(c, s, e);
}

static adm_err_t rd_order(conn_t *c, sqlite3_stmt *s, void *e)
{
    return read_order(c, s, e);
}

static adm_err_t rd_revocation(conn_t *c, sqlite3_stmt *s, void *e)
{
    adm_revocation_t *r = e;

    r->seq = ci(s, 0);
    r->ticket_id = ci(s, 1);
    r->revoked_at = ci(s, 2);
    return take_bad(c);
}

static adm_err_t rd_key(conn_t *c, sqlite3_stmt *s, void *e)
{
    adm_event_key_t *k = e;
    const void *seed = sqlite3_column_blob(s, 2);

    k->event_id = ci(s, 0);
    k->kid = (uint32_t)ci(s, 1);
    if (seed == NULL || sqlite3_column_bytes(s, 2) != ADM_KEY_SEED_BYTES)
        return ADM_ERR_STORE;
    memcpy(k->seed, seed, ADM_KEY_SEED_BYTES);
    k->created = ci(s, 3);
    k->retired_at = ci(s, 4);
    k->retired = k->retired_at != 0;
    return take_bad(c);
}

static adm_err_t rd_sales(conn_t *c, sqlite3_stmt *s, void *e)
{
    adm_type_sales_t *r = e;

    r->type_id = ci(s, 0);
    ct(c, s, 1, r->name, sizeof r->name);
    ct(c, s, 2, r->currency, sizeof r->currency);
    r->capacity = ci(s, 3);
    r->sold = ci(s, 4);
    r->held = ci(s, 5);
    r->revenue = ci(s, 6);
    return take_bad(c);
}

/* Reads one row of statement q bound with the single id into out via reader.
 * ADM_ERR_NOT_FOUND without a row. */
static adm_err_t get_by_id(conn_t *c, int q, int64_t id, reader_fn reader, void *out)
{
    sqlite3_stmt *s;
    adm_err_t result;
    bool row;

    if ((result = use(c, q, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, id);
    if ((result = step(c, s, &row)) == ADM_OK)
        result = row ? reader(c, s, out) : ADM_ERR_NOT_FOUND;
    done(s);
out:
    return result;
}

/* ADM_OK when statement q bound with the single id returns a row, else ADM_ERR_NOT_FOUND. */
static adm_err_t exists(conn_t *c, int q, int64_t id)
{
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t v;
    bool found;

    if ((result = use(c, q, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, id);
    if ((result = one_int(c, s, &v, &found)) == ADM_OK && !found)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

/* ---- shared write steps ---- */

/* Moves hold id from active to state to (released or expired) and gives its
 * quantity back to its type; *did says whether this call made the change.
 * The conditional UPDATE is what makes a second releaser a no-op. */
static adm_err_t release_hold(conn_t *c, const char *id, int64_t type_id, int64_t quantity,
                              adm_hold_state_t to, bool *did)
{
    adm_err_t result;
    sqlite3_stmt *s;
    int changes;

    *did = false;
    if ((result = use(c, Q_HOLD_SET_STATE, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, id);
    bi(c, s, 2, to);
    if ((result = run(c, s, &changes)) != ADM_OK || changes == 0)
        goto out;
    if ((result = use(c, Q_TYPE_UNHOLD, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, type_id);
    bi(c, s, 2, quantity);
    if ((result = run(c, s, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_STORE; /* held would go negative: the counters are corrupt */
    *did = result == ADM_OK;
out:
    return result;
}

typedef struct expired_hold {
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    int64_t type_id, quantity;
} expired_hold_t;

/* Releases up to BATCH active holds expired at now: of type_id, or of any
 * type when type_id is 0. *count gets how many; *more whether a full batch
 * was found (there may be more). */
static adm_err_t expire_holds(conn_t *c, int64_t type_id, int64_t now, size_t *count, bool *more)
{
    expired_hold_t batch[BATCH];
    adm_err_t result;
    sqlite3_stmt *s;
    size_t n = 0;
    bool row, did;

    *count = 0;
    *more = false;
    if ((result = use(c, type_id ? Q_HOLD_EXPIRED_OF_TYPE : Q_HOLD_EXPIRED, &s)) != ADM_OK)
        goto out;
    if (type_id) {
        bi(c, s, 1, type_id);
        bi(c, s, 2, now);
        bi(c, s, 3, BATCH);
    } else {
        bi(c, s, 1, now);
        bi(c, s, 2, BATCH);
    }
    /* collect first: changing rows under an open cursor on their index is undefined */
    while ((result = step(c, s, &row)) == ADM_OK && row && n < BATCH) {
        ct(c, s, 0, batch[n].id, sizeof batch[n].id);
        batch[n].type_id = ci(s, 1);
        batch[n].quantity = ci(s, 2);
        n++;
    }
    done(s);
    if (result != ADM_OK || (result = take_bad(c)) != ADM_OK)
        goto out;
    *more = n == BATCH;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        result = release_hold(c, batch[i].id, batch[i].type_id, batch[i].quantity, ADM_HOLD_EXPIRED,
                              &did);
        *count += did;
    }
out:
    return result;
}

typedef struct item_row {
    int64_t type_id, quantity;
} item_row_t;

static adm_err_t order_item_rows(conn_t *c, int64_t order_id, item_row_t *items, size_t *n)
{
    adm_err_t result;
    sqlite3_stmt *s;
    bool row;

    *n = 0;
    if ((result = use(c, Q_ORDER_ITEMS, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, order_id);
    while ((result = step(c, s, &row)) == ADM_OK && row) {
        if (*n == ADM_STORE_ORDER_ITEMS_MAX) {
            result = ADM_ERR_STORE;
            break;
        }
        items[*n].type_id = ci(s, 1);
        items[*n].quantity = ci(s, 3);
        (*n)++;
    }
    done(s);
out:
    return result;
}

/* Moves pending order order_id to state to (cancelled or expired) and
 * releases its held seats; *did says whether this call made the change. */
static adm_err_t finish_order(conn_t *c, int64_t order_id, adm_order_state_t to, int64_t now,
                              bool *did)
{
    item_row_t items[ADM_STORE_ORDER_ITEMS_MAX];
    adm_err_t result;
    sqlite3_stmt *s;
    size_t n;
    int changes;

    *did = false;
    if ((result = use(c, Q_ORDER_FINISH, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, order_id);
    bi(c, s, 2, to);
    bi(c, s, 3, now);
    if ((result = run(c, s, &changes)) != ADM_OK || changes == 0)
        goto out;
    if ((result = order_item_rows(c, order_id, items, &n)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        if ((result = use(c, Q_TYPE_UNHOLD, &s)) != ADM_OK)
            break;
        bi(c, s, 1, items[i].type_id);
        bi(c, s, 2, items[i].quantity);
        if ((result = run(c, s, &changes)) == ADM_OK && changes != 1)
            result = ADM_ERR_STORE;
    }
    *did = result == ADM_OK;
out:
    return result;
}

/* Revokes valid ticket ticket_id of event_id and appends it to the event's
 * revocation list; *seq gets its number. ADM_ERR_STATE when not valid. */
static adm_err_t revoke_ticket(conn_t *c, int64_t ticket_id, int64_t event_id, int64_t now,
                               int64_t *seq)
{
    adm_err_t result;
    sqlite3_stmt *s;
    int changes;
    bool found;

    *seq = 0;
    if ((result = use(c, Q_TICKET_REVOKE, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, ticket_id);
    bi(c, s, 2, now);
    if ((result = run(c, s, &changes)) != ADM_OK)
        goto out;
    if (changes == 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_EVENT_BUMP_SEQ, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, event_id);
    if ((result = run(c, s, &changes)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_EVENT_SEQ, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, event_id);
    if ((result = one_int(c, s, seq, &found)) != ADM_OK)
        goto out;
    if (!found || changes != 1) {
        result = ADM_ERR_STORE;
        goto out;
    }
    if ((result = use(c, Q_REVOCATION_INSERT, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, event_id);
    bi(c, s, 2, *seq);
    bi(c, s, 3, ticket_id);
    bi(c, s, 4, now);
    result = run(c, s, NULL);
out:
    return result;
}

/* Fills o->items and o->n_items from the items of order o->id. */
static adm_err_t load_items(conn_t *c, adm_order_t *o)
{
    adm_err_t result;
    sqlite3_stmt *s;
    bool row;

    o->n_items = 0;
    if ((result = use(c, Q_ORDER_ITEMS, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, o->id);
    while ((result = step(c, s, &row)) == ADM_OK && row) {
        adm_order_item_t *it;
        if (o->n_items == ADM_STORE_ORDER_ITEMS_MAX) {
            result = ADM_ERR_STORE;
            break;
        }
        it = &o->items[o->n_items++];
        it->id = ci(s, 0);
        it->type_id = ci(s, 1);
        it->event_id = ci(s, 2);
        it->quantity = (int32_t)ci(s, 3);
        it->unit_price = ci(s, 4);
    }
    done(s);
out:
    return result;
}

/* Loads order id (or, when id is 0, the order with code) with its items.
 * user_id non-zero: someone else's order is ADM_ERR_NOT_FOUND. */
static adm_err_t load_order(conn_t *c, int64_t user_id, int64_t id, const char *code,
                            adm_order_t *o)
{
    adm_err_t result;
    sqlite3_stmt *s;
    bool row;

    memset(o, 0, sizeof *o);
    if ((result = use(c, id ? Q_ORDER_GET : Q_ORDER_GET_CODE, &s)) != ADM_OK)
        goto out;
    if (id)
        bi(c, s, 1, id);
    else
        bt(c, s, 1, code);
    if ((result = step(c, s, &row)) == ADM_OK)
        result = row ? read_order(c, s, o) : ADM_ERR_NOT_FOUND;
    done(s);
    if (result != ADM_OK)
        goto out;
    if (user_id != 0 && o->user_id != user_id) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    result = load_items(c, o);
out:
    if (result != ADM_OK)
        memset(o, 0, sizeof *o);
    return result;
}

/* ---- lifecycle ops ---- */

static adm_err_t ping_body(conn_t *c, void *arg, bool *keep)
{
    int64_t v;
    bool found;
    sqlite3_stmt *s;
    adm_err_t result = use(c, Q_PING, &s);

    if (result == ADM_OK)
        result = one_int(c, s, &v, &found);
    return result;
}

static adm_err_t sq_ping(void *be)
{
    return run_tx(be, TX_READ, ping_body, NULL);
}

static adm_err_t sq_write_position(void *be, char *out, size_t cap)
{
    out[0] = '\0'; /* one database: every read already sees every write */
    return ADM_OK;
}

static adm_err_t schema_version_body(conn_t *c, void *arg, bool *keep)
{
    int64_t v = 0;
    bool found;
    sqlite3_stmt *s;
    adm_err_t result = use(c, Q_SCHEMA_VERSION, &s);

    if (result == ADM_OK)
        result = one_int(c, s, &v, &found);
    *(int *)arg = (int)v;
    return result;
}

static adm_err_t sq_schema_version(void *be, int *version)
{
    return run_tx(be, TX_READ, schema_version_body, version);
}

/* ---- catalog ops ---- */

struct venue_args {
    int64_t id;
    const adm_venue_spec_t *spec;
    int64_t now;
    int64_t *out_id;
};

static adm_err_t venue_create_body(conn_t *c, void *arg, bool *keep)
{
    struct venue_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;

    if ((result = use(c, Q_VENUE_INSERT, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->spec->name);
    bt(c, s, 2, a->spec->city);
    bt(c, s, 3, a->spec->address);
    bi(c, s, 4, a->spec->capacity);
    bi(c, s, 5, a->now);
    if ((result = run(c, s, NULL)) == ADM_OK)
        *a->out_id = sqlite3_last_insert_rowid(c->db);
out:
    return result;
}

static adm_err_t sq_venue_create(void *be, const adm_venue_spec_t *spec, int64_t now, int64_t *id)
{
    struct venue_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_tx(be, TX_WRITE, venue_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t venue_update_body(conn_t *c, void *arg, bool *keep)
{
    struct venue_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_VENUE_UPDATE, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->id);
    bt(c, s, 2, a->spec->name);
    bt(c, s, 3, a->spec->city);
    bt(c, s, 4, a->spec->address);
    bi(c, s, 5, a->spec->capacity);
    bi(c, s, 6, a->now);
    if ((result = run(c, s, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t sq_venue_update(void *be, int64_t id, const adm_venue_spec_t *spec, int64_t now)
{
    struct venue_args a = {.id = id, .spec = spec, .now = now};

    return run_tx(be, TX_WRITE, venue_update_body, &a);
}

struct get_args {
    int q;
    int64_t id;
    reader_fn reader;
    void *out;
};

static adm_err_t get_body(conn_t *c, void *arg, bool *keep)
{
    struct get_args *a = arg;

    return get_by_id(c, a->q, a->id, a->reader, a->out);
}

/* Runs a one-row read of statement q by id. */
static adm_err_t get_one(be_t *be, int q, int64_t id, reader_fn reader, void *out)
{
    struct get_args a = {.q = q, .id = id, .reader = reader, .out = out};

    return run_tx(be, TX_READ, get_body, &a);
}

static adm_err_t rd_venue(conn_t *c, sqlite3_stmt *s, void *e)
{
    return read_venue(c, s, e);
}

static adm_err_t sq_venue_get(void *be, adm_read_t rd, int64_t id, adm_venue_t *out)
{
    return get_one(be, Q_VENUE_GET, id, rd_venue, out);
}

struct event_args {
    int64_t id;
    const adm_event_spec_t *spec;
    adm_event_status_t status;
    int64_t now;
    int64_t *out_id;
};

static adm_err_t event_create_body(conn_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;

    if ((result = exists(c, Q_VENUE_GET, a->spec->venue_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_EVENT_INSERT, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->spec->venue_id);
    bt(c, s, 2, a->spec->title);
    bt(c, s, 3, a->spec->city);
    bt(c, s, 4, a->spec->category);
    bt(c, s, 5, a->spec->description);
    bi(c, s, 6, a->spec->starts_at);
    bi(c, s, 7, a->spec->ends_at);
    bi(c, s, 8, a->now);
    if ((result = run(c, s, NULL)) == ADM_OK)
        *a->out_id = sqlite3_last_insert_rowid(c->db);
out:
    return result;
}

static adm_err_t sq_event_create(void *be, const adm_event_spec_t *spec, int64_t now, int64_t *id)
{
    struct event_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_tx(be, TX_WRITE, event_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t event_update_body(conn_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_EVENT_UPDATE, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->id);
    bt(c, s, 2, a->spec->title);
    bt(c, s, 3, a->spec->city);
    bt(c, s, 4, a->spec->category);
    bt(c, s, 5, a->spec->description);
    bi(c, s, 6, a->spec->starts_at);
    bi(c, s, 7, a->spec->ends_at);
    bi(c, s, 8, a->now);
    if ((result = run(c, s, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t sq_event_update(void *be, int64_t id, const adm_event_spec_t *spec, int64_t now)
{
    struct event_args a = {.id = id, .spec = spec, .now = now};

    return run_tx(be, TX_WRITE, event_update_body, &a);
}

/* draft -> on_sale | cancelled; on_sale -> draft | cancelled | ended */
static bool status_move_ok(adm_event_status_t from, adm_event_status_t to)
{
    return from == to ||
           (from == ADM_EVENT_DRAFT && (to == ADM_EVENT_ON_SALE || to == ADM_EVENT_CANCELLED)) ||
           (from == ADM_EVENT_ON_SALE &&
            (to == ADM_EVENT_DRAFT || to == ADM_EVENT_CANCELLED || to == ADM_EVENT_ENDED));
}

static adm_err_t event_set_status_body(conn_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t from;
    int changes;
    bool found;

    if ((result = use(c, Q_EVENT_STATUS, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->id);
    if ((result = one_int(c, s, &from, &found)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (!status_move_ok((adm_event_status_t)from, a->status)) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (from == a->status)
        goto out;
    if ((result = use(c, Q_EVENT_SET_STATUS, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->id);
    bi(c, s, 2, from);
    bi(c, s, 3, a->status);
    bi(c, s, 4, a->now);
    if ((result = run(c, s, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_CONFLICT;
out:
    return result;
}

static adm_err_t sq_event_set_status(void *be, int64_t id, adm_event_status_t status, int64_t now)
{
    struct event_args a = {.id = id, .status = status, .now = now};

    return run_tx(be, TX_WRITE, event_set_status_body, &a);
}

static adm_err_t sq_event_get(void *be, adm_read_t rd, int64_t id, adm_event_t *out)
{
    return get_one(be, Q_EVENT_GET, id, rd_event, out);
}

struct search_args {
    const adm_event_query_t *q;
    adm_event_t **events;
    size_t *n;
    adm_event_cursor_t *next;
};

static adm_err_t event_search_body(conn_t *c, void *arg, bool *keep)
{
    struct search_args *a = arg;
    const adm_event_query_t *q = a->q;
    sqlite3_stmt *s;
    adm_err_t result;
    void *arr = NULL;
    size_t n = 0;

    free(*a->events); /* from an earlier attempt */
    *a->events = NULL;
    *a->n = 0;
    memset(a->next, 0, sizeof *a->next);
    if ((result = use(c, Q_EVENT_SEARCH, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, q->city);
    bt(c, s, 2, q->category);
    bt(c, s, 3, q->text);
    bi(c, s, 4, q->starts_from);
    bi(c, s, 5, q->starts_before);
    bi(c, s, 6, q->all_statuses);
    bi(c, s, 7, q->after.starts_at);
    bi(c, s, 8, q->after.id);
    bi(c, s, 9, (int64_t)q->limit + 1); /* one more tells whether a next page exists */
    if ((result = read_all(c, s, rd_event, sizeof(adm_event_t), q->limit + 1, false, &arr, &n)) !=
        ADM_OK)
        goto out;
    if (n > q->limit) {
        adm_event_t *last = (adm_event_t *)arr + q->limit - 1;
        a->next->starts_at = last->starts_at;
        a->next->id = last->id;
        n = q->limit;
    }
    if (n == 0) {
        free(arr);
        arr = NULL;
    }
    *a->events = arr;
    *a->n = n;
out:
    return result;
}

static adm_err_t sq_event_search(void *be, adm_read_t rd, const adm_event_query_t *q,
                                 adm_event_t **events, size_t *n, adm_event_cursor_t *next)
{
    struct search_args a = {.q = q, .events = events, .n = n, .next = next};

    return run_tx(be, TX_READ, event_search_body, &a);
}

struct type_args {
    int64_t id;
    const adm_ticket_type_spec_t *spec;
    int64_t now;
    int64_t *out_id;
};

static adm_err_t type_create_body(conn_t *c, void *arg, bool *keep)
{
    struct type_args *a = arg;
    const adm_ticket_type_spec_t *t = a->spec;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t count;
    bool found;

    if ((result = exists(c, Q_EVENT_STATUS, t->event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_TYPE_COUNT, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, t->event_id);
    if ((result = one_int(c, s, &count, &found)) != ADM_OK)
        goto out;
    if (count >= ADM_STORE_TYPES_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    if ((result = use(c, Q_TYPE_INSERT, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, t->event_id);
    bt(c, s, 2, t->name);
    bi(c, s, 3, t->price);
    bt(c, s, 4, t->currency);
    bi(c, s, 5, t->capacity);
    bi(c, s, 6, t->per_order_max);
    bi(c, s, 7, t->per_customer_max);
    bi(c, s, 8, t->sale_starts);
    bi(c, s, 9, t->sale_ends);
    bi(c, s, 10, a->now);
    if ((result = run(c, s, NULL)) == ADM_OK)
        *a->out_id = sqlite3_last_insert_rowid(c->db);
out:
    return result;
}

static adm_err_t sq_type_create(void *be, const adm_ticket_type_spec_t *spec, int64_t now,
                                int64_t *id)
{
    struct type_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_tx(be, TX_WRITE, type_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t type_update_body(conn_t *c, void *arg, bool *keep)
{
    struct type_args *a = arg;
    const adm_ticket_type_spec_t *t = a->spec;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_TYPE_UPDATE, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->id);
    bt(c, s, 2, t->name);
    bi(c, s, 3, t->price);
    bt(c, s, 4, t->currency);
    bi(c, s, 5, t->capacity);
    bi(c, s, 6, t->per_order_max);
    bi(c, s, 7, t->per_customer_max);
    bi(c, s, 8, t->sale_starts);
    bi(c, s, 9, t->sale_ends);
    bi(c, s, 10, a->now);
    if ((result = run(c, s, &changes)) != ADM_OK || changes == 1)
        goto out;
    /* no row changed: absent, or the new capacity is below sold + held */
    result = exists(c, Q_TYPE_GET, a->id);
    if (result == ADM_OK)
        result = ADM_ERR_STATE;
out:
    return result;
}

static adm_err_t sq_type_update(void *be, int64_t id, const adm_ticket_type_spec_t *spec,
                                int64_t now)
{
    struct type_args a = {.id = id, .spec = spec, .now = now};

    return run_tx(be, TX_WRITE, type_update_body, &a);
}

static adm_err_t sq_type_get(void *be, adm_read_t rd, int64_t id, adm_ticket_type_t *out)
{
    return get_one(be, Q_TYPE_GET, id, rd_type, out);
}

/* A list of the rows of statement q bound with ?1..?n_args, after checking
 * that check_q (-1 = none) finds p1 (ADM_ERR_NOT_FOUND otherwise). */
struct list_args {
    int check_q, q;
    int64_t p1, p2, p3;
    int n_args;
    reader_fn reader;
    size_t elem, max;
    bool secret; /* rows hold key material: see read_all() */
    void **arr;
    size_t *n;
};

static adm_err_t list_body(conn_t *c, void *arg, bool *keep)
{
    struct list_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;

    free_rows(*a->arr, *a->n, a->elem, a->secret); /* from an earlier attempt */
    *a->arr = NULL;
    *a->n = 0;
    if (a->check_q >= 0 && (result = exists(c, a->check_q, a->p1)) != ADM_OK)
        goto out;
    if ((result = use(c, a->q, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->p1);
    if (a->n_args >= 2)
        bi(c, s, 2, a->p2);
    if (a->n_args >= 3)
        bi(c, s, 3, a->p3);
    result = read_all(c, s, a->reader, a->elem, a->max, a->secret, a->arr, a->n);
out:
    return result;
}

static adm_err_t sq_type_list(void *be, adm_read_t rd, int64_t event_id, adm_ticket_type_t **types,
                              size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_TYPE_LIST,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_type,
                          .elem = sizeof **types,
                          .max = ADM_STORE_TYPES_MAX,
                          .arr = (void **)types,
                          .n = n};

    return run_tx(be, TX_READ, list_body, &a);
}

static adm_err_t rd_availability(conn_t *c, sqlite3_stmt *s, void *e)
{
    adm_availability_t *av = e;
    adm_ticket_type_t t;
    adm_err_t result;

    memset(&t, 0, sizeof t);
    result = read_type(c, s, &t);
    av->type_id = t.id;
    av->capacity = t.capacity;
    av->sold = t.sold;
    av->held = t.held;
    av->available = t.capacity - t.sold - t.held;
    if (av->available < 0)
        av->available = 0;
    return result;
}

static adm_err_t sq_availability(void *be, adm_read_t rd, int64_t type_id, adm_availability_t *out)
{
    return get_one(be, Q_TYPE_GET, type_id, rd_availability, out);
}

/* ---- holds ---- */

/* Fills *h with hold id. ADM_ERR_NOT_FOUND. */
static adm_err_t load_hold(conn_t *c, const char *id, adm_hold_t *h)
{
    sqlite3_stmt *s;
    adm_err_t result;
    bool row;

    memset(h, 0, sizeof *h);
    if ((result = use(c, Q_HOLD_GET, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, id);
    if ((result = step(c, s, &row)) == ADM_OK)
        result = row ? read_hold(c, s, h) : ADM_ERR_NOT_FOUND;
    done(s);
out:
    if (result != ADM_OK)
        memset(h, 0, sizeof *h);
    return result;
}

struct hold_args {
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    int64_t user_id, type_id;
    int32_t quantity, ttl_s;
    int64_t now;
    adm_hold_t *out;
};

/* The hold transaction (docs/store.md "Never oversell"): checks, lazy release
 * of the type's expired holds, the per-customer limit, then the conditional
 * UPDATE that decides whether the seats exist, then the hold row. */
static adm_err_t hold_create_body(conn_t *c, void *arg, bool *keep)
{
    struct hold_args *a = arg;
    int64_t event_id, per_order_max, per_customer_max, sale_starts, sale_ends, status, seats;
    sqlite3_stmt *s;
    adm_err_t result;
    size_t released;
    bool row, more = true;
    int changes;

    if ((result = use(c, Q_TYPE_FOR_HOLD, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->type_id);
    if ((result = step(c, s, &row)) != ADM_OK || !row) {
        done(s);
        result = result != ADM_OK ? result : ADM_ERR_NOT_FOUND;
        goto out;
    }
    event_id = ci(s, 0);
    per_order_max = ci(s, 1);
    per_customer_max = ci(s, 2);
    sale_starts = ci(s, 3);
    sale_ends = ci(s, 4);
    status = ci(s, 5);
    done(s);
    if ((result = exists(c, Q_USER_EXISTS, a->user_id)) != ADM_OK)
        goto out;
    if (status != ADM_EVENT_ON_SALE) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((sale_starts != 0 && a->now < sale_starts) || (sale_ends != 0 && a->now >= sale_ends)) {
        result = ADM_ERR_SALE_CLOSED;
        goto out;
    }
    if (a->quantity > per_order_max) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    for (int i = 0; i < LAZY_BATCHES && more && result == ADM_OK; i++)
        result = expire_holds(c, a->type_id, a->now, &released, &more);
    if (result != ADM_OK)
        goto out;
    if (per_customer_max > 0) {
        if ((result = use(c, Q_CUSTOMER_SEATS, &s)) != ADM_OK)
            goto out;
        bi(c, s, 1, a->user_id);
        bi(c, s, 2, a->type_id);
        bi(c, s, 3, a->now);
        if ((result = one_int(c, s, &seats, &row)) != ADM_OK)
            goto out;
        if (seats + a->quantity > per_customer_max) {
            result = ADM_ERR_LIMIT;
            goto out;
        }
    }
    if ((result = use(c, Q_TYPE_HOLD, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->type_id);
    bi(c, s, 2, a->quantity);
    if ((result = run(c, s, &changes)) != ADM_OK)
        goto out;
    if (changes == 0) {
        result = ADM_ERR_SOLD_OUT;
        goto out;
    }
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
        if ((result = use(c, Q_HOLD_INSERT, &s)) != ADM_OK)
            goto out;
        bt(c, s, 1, a->id);
        bi(c, s, 2, a->user_id);
        bi(c, s, 3, a->type_id);
        bi(c, s, 4, event_id);
        bi(c, s, 5, a->quantity);
        bi(c, s, 6, a->now);
        bi(c, s, 7, a->now + a->ttl_s);
        result = run(c, s, NULL);
        if (result != ADM_ERR_EXISTS)
            break;
        adm_store_random_hold_id(a->id); /* 128-bit collision: practically never */
    }
    if (result != ADM_OK)
        goto out;
    result = load_hold(c, a->id, a->out);
out:
    return result;
}

static adm_err_t sq_hold_create(void *be, const char *hold_id, int64_t user_id, int64_t type_id,
                                int32_t quantity, int32_t ttl_s, int64_t now, adm_hold_t *out)
{
    struct hold_args a = {.user_id = user_id,
                          .type_id = type_id,
                          .quantity = quantity,
                          .ttl_s = ttl_s,
                          .now = now,
                          .out = out};

    snprintf(a.id, sizeof a.id, "%s", hold_id);
    return run_tx(be, TX_WRITE, hold_create_body, &a);
}

struct hold_ref_args {
    int64_t user_id;
    const char *id;
    int64_t now;
    adm_hold_t *out;
};

static adm_err_t hold_get_body(conn_t *c, void *arg, bool *keep)
{
    struct hold_ref_args *a = arg;
    adm_err_t result = load_hold(c, a->id, a->out);

    if (result == ADM_OK && a->out->user_id != a->user_id) {
        memset(a->out, 0, sizeof *a->out);
        result = ADM_ERR_NOT_FOUND;
    }
    return result;
}

static adm_err_t sq_hold_get(void *be, int64_t user_id, const char *hold_id, adm_hold_t *out)
{
    struct hold_ref_args a = {.user_id = user_id, .id = hold_id, .out = out};

    return run_tx(be, TX_READ, hold_get_body, &a);
}

static adm_err_t hold_release_body(conn_t *c, void *arg, bool *keep)
{
    struct hold_ref_args *a = arg;
    adm_hold_t h;
    adm_err_t result;
    bool did;

    if ((result = load_hold(c, a->id, &h)) != ADM_OK)
        goto out;
    if (h.user_id != a->user_id) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (h.state == ADM_HOLD_EXPIRED) {
        result = ADM_ERR_EXPIRED;
        goto out;
    }
    if (h.state != ADM_HOLD_ACTIVE) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (h.expires_at <= a->now) {
        /* expired but not yet reaped: release it as expired and say so */
        result = release_hold(c, h.id, h.type_id, h.quantity, ADM_HOLD_EXPIRED, &did);
        if (result == ADM_OK) {
            *keep = true;
            result = ADM_ERR_EXPIRED;
        }
        goto out;
    }
    result = release_hold(c, h.id, h.type_id, h.quantity, ADM_HOLD_RELEASED, &did);
    if (result == ADM_OK && !did)
        result = ADM_ERR_STATE;
out:
    return result;
}

static adm_err_t sq_hold_release(void *be, int64_t user_id, const char *hold_id, int64_t now)
{
    struct hold_ref_args a = {.user_id = user_id, .id = hold_id, .now = now};

    return run_tx(be, TX_WRITE, hold_release_body, &a);
}

struct reap_args {
    int64_t now;
    int q; /* reap_delete_body: the DELETE to run */
    size_t count;
    bool more;
};

static adm_err_t reap_holds_body(conn_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;

    return expire_holds(c, 0, a->now, &a->count, &a->more);
}

static adm_err_t reap_orders_body(conn_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;
    int64_t ids[BATCH];
    sqlite3_stmt *s;
    adm_err_t result;
    size_t n = 0;
    bool row, did;

    a->count = 0;
    a->more = false;
    if ((result = use(c, Q_ORDER_EXPIRED, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->now);
    bi(c, s, 2, BATCH);
    while ((result = step(c, s, &row)) == ADM_OK && row && n < BATCH)
        ids[n++] = ci(s, 0);
    done(s);
    if (result != ADM_OK)
        goto out;
    a->more = n == BATCH;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        result = finish_order(c, ids[i], ADM_ORDER_EXPIRED, a->now, &did);
        a->count += did;
    }
out:
    return result;
}

static adm_err_t sq_reap_holds(void *be, int64_t now, size_t *holds, size_t *orders)
{
    struct reap_args a = {.now = now, .more = true};
    adm_err_t result = ADM_OK;

    *holds = 0;
    *orders = 0;
    /* short transactions, so holds and checkouts get the write lock in between */
    while (result == ADM_OK && a.more) {
        result = run_tx(be, TX_WRITE, reap_holds_body, &a);
        if (result == ADM_OK)
            *holds += a.count;
    }
    a.more = true;
    while (result == ADM_OK && a.more) {
        result = run_tx(be, TX_WRITE, reap_orders_body, &a);
        if (result == ADM_OK)
            *orders += a.count;
    }
    return result;
}

static adm_err_t reap_delete_body(conn_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes = 0;

    a->count = 0;
    if ((result = use(c, a->q, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->q == Q_IDEM_REAP ? a->now - ADM_STORE_IDEM_TTL_S : a->now);
    bi(c, s, 2, DELETE_BATCH);
    result = run(c, s, &changes);
    a->count = (size_t)changes;
    a->more = changes == DELETE_BATCH;
out:
    return result;
}

static adm_err_t reap_deletes(be_t *be, int q, int64_t now, size_t *total)
{
    struct reap_args a = {.now = now, .q = q, .more = true};
    adm_err_t result = ADM_OK;

    *total = 0;
    while (result == ADM_OK && a.more) {
        result = run_tx(be, TX_WRITE, reap_delete_body, &a);
        if (result == ADM_OK)
            *total += a.count;
    }
    return result;
}

static adm_err_t sq_reap_other(void *be, int64_t now, size_t *sessions, size_t *idempotency)
{
    adm_err_t result = reap_deletes(be, Q_SESSION_REAP, now, sessions);

    if (result == ADM_OK)
        result = reap_deletes(be, Q_IDEM_REAP, now, idempotency);
    return result;
}

/* ---- orders and tickets ---- */

struct checkout_args {
    int64_t user_id;
    const char *const *hold_ids;
    size_t n;
    int32_t pay_ttl_s;
    int64_t now;
    adm_order_t *out;
};

static adm_err_t checkout_body(conn_t *c, void *arg, bool *keep)
{
    struct checkout_args *a = arg;
    struct {
        int64_t type_id, event_id, quantity, price;
    } items[ADM_STORE_ORDER_ITEMS_MAX];
    char currency[ADM_STORE_CURRENCY_LEN + 1] = "", cur[ADM_STORE_CURRENCY_LEN + 1];
    char code[ADM_STORE_ORDER_CODE_LEN + 1];
    int64_t total = 0, order_id = 0;
    sqlite3_stmt *s;
    adm_err_t result = ADM_OK;
    int changes;
    bool row;

    for (size_t i = 0; i < a->n; i++) {
        int64_t user_id, state, expires_at, status;

        if ((result = use(c, Q_HOLD_FOR_CHECKOUT, &s)) != ADM_OK)
            goto out;
        bt(c, s, 1, a->hold_ids[i]);
        if ((result = step(c, s, &row)) != ADM_OK || !row) {
            done(s);
            result = result != ADM_OK ? result : ADM_ERR_NOT_FOUND;
            goto out;
        }
        user_id = ci(s, 0);
        items[i].type_id = ci(s, 1);
        items[i].event_id = ci(s, 2);
        items[i].quantity = ci(s, 3);
        state = ci(s, 4);
        expires_at = ci(s, 5);
        items[i].price = ci(s, 6);
        ct(c, s, 7, cur, sizeof cur);
        status = ci(s, 8);
        done(s);
        if ((result = take_bad(c)) != ADM_OK)
            goto out;
        if (user_id != a->user_id)
            result = ADM_ERR_NOT_FOUND;
        else if (state == ADM_HOLD_EXPIRED || (state == ADM_HOLD_ACTIVE && expires_at <= a->now))
            result = ADM_ERR_EXPIRED;
        else if (state != ADM_HOLD_ACTIVE || status != ADM_EVENT_ON_SALE)
            result = ADM_ERR_STATE;
        else if (i > 0 && strcmp(cur, currency) != 0)
            result = ADM_ERR_INVALID_ARG;
        if (result != ADM_OK)
            goto out;
        memcpy(currency, cur, sizeof currency);
        total += items[i].quantity * items[i].price;
    }
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
        adm_store_random_order_code(code);
        if ((result = use(c, Q_ORDER_INSERT, &s)) != ADM_OK)
            goto out;
        bt(c, s, 1, code);
        bi(c, s, 2, a->user_id);
        bi(c, s, 3, total);
        bt(c, s, 4, currency);
        bi(c, s, 5, a->now);
        bi(c, s, 6, a->now + a->pay_ttl_s);
        if ((result = run(c, s, NULL)) != ADM_ERR_EXISTS) /* 40-bit codes can collide */
            break;
    }
    if (result != ADM_OK)
        goto out;
    order_id = sqlite3_last_insert_rowid(c->db);
    for (size_t i = 0; i < a->n; i++) {
        if ((result = use(c, Q_ITEM_INSERT, &s)) != ADM_OK)
            goto out;
        bi(c, s, 1, order_id);
        bi(c, s, 2, items[i].type_id);
        bi(c, s, 3, items[i].event_id);
        bi(c, s, 4, items[i].quantity);
        bi(c, s, 5, items[i].price);
        if ((result = run(c, s, NULL)) != ADM_OK)
            goto out;
        if ((result = use(c, Q_HOLD_CONVERT, &s)) != ADM_OK)
            goto out;
        bt(c, s, 1, a->hold_ids[i]);
        bi(c, s, 2, order_id);
        if ((result = run(c, s, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STATE;
            goto out;
        }
    }
    result = load_order(c, 0, order_id, NULL, a->out);
out:
    return result;
}

static adm_err_t sq_checkout(void *be, int64_t user_id, const char *const *hold_ids, size_t n,
                             int32_t pay_ttl_s, int64_t now, adm_order_t *out)
{
    struct checkout_args a = {.user_id = user_id,
                              .hold_ids = hold_ids,
                              .n = n,
                              .pay_ttl_s = pay_ttl_s,
                              .now = now,
                              .out = out};

    return run_tx(be, TX_WRITE, checkout_body, &a);
}

struct order_args {
    int64_t user_id, order_id;
    const char *code;
    const char *provider, *provider_ref;
    int64_t now;
    adm_order_t *out;
    size_t revoked;
};

static adm_err_t order_pay_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    adm_order_t *o = a->out;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t v;
    int changes;
    bool found;

    if ((result = load_order(c, 0, a->order_id, NULL, o)) != ADM_OK)
        goto out;
    if (o->state == ADM_ORDER_PAID && strcmp(o->provider, a->provider) == 0 &&
        strcmp(o->provider_ref, a->provider_ref) == 0)
        goto out; /* a replayed provider callback */
    if (o->state != ADM_ORDER_PENDING) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (o->expires_at <= a->now) {
        result = ADM_ERR_EXPIRED;
        goto out;
    }
    if ((result = use(c, Q_ORDER_OFF_SALE, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, o->id);
    if ((result = one_int(c, s, &v, &found)) != ADM_OK)
        goto out;
    if (v != 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_ORDER_REF_OWNER, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->provider);
    bt(c, s, 2, a->provider_ref);
    if ((result = one_int(c, s, &v, &found)) != ADM_OK)
        goto out;
    if (found) {
        result = ADM_ERR_EXISTS;
        goto out;
    }
    if ((result = use(c, Q_ORDER_MARK_PAID, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, o->id);
    bi(c, s, 2, a->now);
    bt(c, s, 3, a->provider);
    bt(c, s, 4, a->provider_ref);
    if ((result = run(c, s, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    for (size_t i = 0; i < o->n_items; i++) {
        const adm_order_item_t *it = &o->items[i];

        if ((result = use(c, Q_TYPE_SELL, &s)) != ADM_OK)
            goto out;
        bi(c, s, 1, it->type_id);
        bi(c, s, 2, it->quantity);
        if ((result = run(c, s, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STORE; /* the order's seats were not held: corrupt counters */
            goto out;
        }
        for (int32_t q = 0; q < it->quantity; q++) {
            for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
                if ((result = use(c, Q_TICKET_INSERT, &s)) != ADM_OK)
                    goto out;
                bi(c, s, 1, adm_store_random_ticket_id());
                bi(c, s, 2, it->event_id);
                bi(c, s, 3, it->type_id);
                bi(c, s, 4, o->id);
                bi(c, s, 5, o->user_id);
                bi(c, s, 6, a->now);
                if ((result = run(c, s, NULL)) != ADM_ERR_EXISTS)
                    break;
            }
            if (result != ADM_OK)
                goto out;
        }
    }
    result = load_order(c, 0, o->id, NULL, o);
out:
    if (result != ADM_OK)
        memset(o, 0, sizeof *o);
    return result;
}

static adm_err_t sq_order_pay(void *be, int64_t order_id, const char *provider,
                              const char *provider_ref, int64_t now, adm_order_t *out)
{
    struct order_args a = {.order_id = order_id,
                           .provider = provider,
                           .provider_ref = provider_ref,
                           .now = now,
                           .out = out};

    return run_tx(be, TX_DURABLE, order_pay_body, &a);
}

static adm_err_t order_cancel_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    adm_order_t o;
    adm_err_t result;
    bool did;

    if ((result = load_order(c, a->user_id, a->order_id, NULL, &o)) != ADM_OK)
        goto out;
    if (o.state != ADM_ORDER_PENDING) {
        result = ADM_ERR_STATE;
        goto out;
    }
    result = finish_order(c, o.id, ADM_ORDER_CANCELLED, a->now, &did);
    if (result == ADM_OK && !did)
        result = ADM_ERR_STATE;
out:
    return result;
}

static adm_err_t sq_order_cancel(void *be, int64_t user_id, int64_t order_id, int64_t now)
{
    struct order_args a = {.user_id = user_id, .order_id = order_id, .now = now};

    return run_tx(be, TX_WRITE, order_cancel_body, &a);
}

static adm_err_t order_refund_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    struct ticket_ref {
        int64_t id, event_id;
    } *tickets = NULL;
    size_t n = 0, cap = 0;
    adm_order_t o;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t seq;
    int changes;
    bool row;

    a->revoked = 0;
    if ((result = load_order(c, 0, a->order_id, NULL, &o)) != ADM_OK)
        goto out;
    if (o.state != ADM_ORDER_PAID) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_ORDER_MARK_REFUNDED, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, o.id);
    bi(c, s, 2, a->now);
    if ((result = run(c, s, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    for (size_t i = 0; i < o.n_items; i++) {
        if ((result = use(c, Q_TYPE_UNSELL, &s)) != ADM_OK)
            goto out;
        bi(c, s, 1, o.items[i].type_id);
        bi(c, s, 2, o.items[i].quantity);
        if ((result = run(c, s, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STORE;
            goto out;
        }
    }
    if ((result = use(c, Q_TICKETS_VALID_OF_ORDER, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, o.id);
    while ((result = step(c, s, &row)) == ADM_OK && row) {
        if ((result = grow((void **)&tickets, &cap, n, sizeof *tickets,
                           ADM_STORE_ORDER_TICKETS_MAX)) != ADM_OK)
            break;
        tickets[n].id = ci(s, 0);
        tickets[n].event_id = ci(s, 1);
        n++;
    }
    done(s);
    if (result != ADM_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((result = revoke_ticket(c, tickets[i].id, tickets[i].event_id, a->now, &seq)) != ADM_OK)
            goto out;
        a->revoked++;
    }
out:
    free(tickets);
    return result;
}

static adm_err_t sq_order_refund(void *be, int64_t order_id, int64_t now, size_t *revoked)
{
    struct order_args a = {.order_id = order_id, .now = now};
    adm_err_t result = run_tx(be, TX_DURABLE, order_refund_body, &a);

    *revoked = result == ADM_OK ? a.revoked : 0;
    return result;
}

static adm_err_t order_get_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;

    return load_order(c, a->user_id, a->order_id, a->code, a->out);
}

static adm_err_t sq_order_get(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                              const char *code, adm_order_t *out)
{
    struct order_args a = {.user_id = user_id, .order_id = order_id, .code = code, .out = out};

    return run_tx(be, TX_READ, order_get_body, &a);
}

struct order_list_args {
    int64_t user_id, before_id;
    size_t limit;
    adm_order_t **orders;
    size_t *n;
};

static adm_err_t order_list_body(conn_t *c, void *arg, bool *keep)
{
    struct order_list_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    void *arr = NULL;
    size_t n = 0;

    free(*a->orders); /* from an earlier attempt */
    *a->orders = NULL;
    *a->n = 0;
    if ((result = use(c, Q_ORDER_LIST, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->user_id);
    bi(c, s, 2, a->before_id);
    bi(c, s, 3, (int64_t)a->limit);
    if ((result = read_all(c, s, rd_order, sizeof(adm_order_t), a->limit, false, &arr, &n)) !=
        ADM_OK)
        goto out;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        result = load_items(c, (adm_order_t *)arr + i);
    }
    if (result != ADM_OK) {
        free(arr);
        goto out;
    }
    *a->orders = arr;
    *a->n = n;
out:
    return result;
}

static adm_err_t sq_order_list(void *be, adm_read_t rd, int64_t user_id, int64_t before_id,
                               size_t limit, adm_order_t **orders, size_t *n)
{
    struct order_list_args a = {
        .user_id = user_id, .before_id = before_id, .limit = limit, .orders = orders, .n = n};

    return run_tx(be, TX_READ, order_list_body, &a);
}

struct tickets_args {
    int64_t user_id, order_id;
    adm_store_ticket_t **tickets;
    size_t *n;
};

static adm_err_t order_tickets_body(conn_t *c, void *arg, bool *keep)
{
    struct tickets_args *a = arg;
    sqlite3_stmt *s;
    adm_order_t o;
    adm_err_t result;

    free(*a->tickets); /* from an earlier attempt */
    *a->tickets = NULL;
    *a->n = 0;
    if ((result = load_order(c, a->user_id, a->order_id, NULL, &o)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_TICKETS_OF_ORDER, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, o.id);
    result = read_all(c, s, rd_ticket, sizeof(adm_store_ticket_t), ADM_STORE_ORDER_TICKETS_MAX,
                      false, (void **)a->tickets, a->n);
out:
    return result;
}

static adm_err_t sq_order_tickets(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                                  adm_store_ticket_t **tickets, size_t *n)
{
    struct tickets_args a = {.user_id = user_id, .order_id = order_id, .tickets = tickets, .n = n};

    return run_tx(be, TX_READ, order_tickets_body, &a);
}

static adm_err_t sq_ticket_get(void *be, adm_read_t rd, int64_t ticket_id, adm_store_ticket_t *out)
{
    return get_one(be, Q_TICKET_GET, ticket_id, rd_ticket, out);
}

struct ticket_args {
    int64_t ticket_id;
    uint32_t key_id;
    const char *token;
    int64_t now;
    int64_t seq;
};

static adm_err_t ticket_set_token_body(conn_t *c, void *arg, bool *keep)
{
    struct ticket_args *a = arg;
    adm_store_ticket_t t;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes;

    memset(&t, 0, sizeof t);
    if ((result = get_by_id(c, Q_TICKET_GET, a->ticket_id, rd_ticket, &t)) != ADM_OK)
        goto out;
    if (t.key_id != 0 || t.token[0] != '\0') {
        result = strcmp(t.token, a->token) == 0 ? ADM_OK : ADM_ERR_EXISTS;
        goto out;
    }
    if ((result = use(c, Q_TICKET_SET_TOKEN, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->ticket_id);
    bt(c, s, 2, a->token);
    bi(c, s, 3, a->key_id);
    if ((result = run(c, s, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_EXISTS;
out:
    return result;
}

static adm_err_t sq_ticket_set_token(void *be, int64_t ticket_id, uint32_t key_id,
                                     const char *token)
{
    struct ticket_args a = {.ticket_id = ticket_id, .key_id = key_id, .token = token};

    return run_tx(be, TX_WRITE, ticket_set_token_body, &a);
}

static adm_err_t sq_ticket_list_unsigned(void *be, size_t limit, adm_store_ticket_t **tickets,
                                         size_t *n)
{
    struct list_args a = {.check_q = -1,
                          .q = Q_TICKETS_UNSIGNED,
                          .p1 = (int64_t)limit,
                          .n_args = 1,
                          .reader = rd_ticket,
                          .elem = sizeof **tickets,
                          .max = limit,
                          .arr = (void **)tickets,
                          .n = n};

    return run_tx(be, TX_READ, list_body, &a);
}

static adm_err_t ticket_revoke_body(conn_t *c, void *arg, bool *keep)
{
    struct ticket_args *a = arg;
    adm_store_ticket_t t;
    adm_err_t result;

    memset(&t, 0, sizeof t);
    if ((result = get_by_id(c, Q_TICKET_GET, a->ticket_id, rd_ticket, &t)) != ADM_OK)
        goto out;
    result = revoke_ticket(c, t.id, t.event_id, a->now, &a->seq);
out:
    return result;
}

static adm_err_t sq_ticket_revoke(void *be, int64_t ticket_id, int64_t now, int64_t *seq)
{
    struct ticket_args a = {.ticket_id = ticket_id, .now = now};
    adm_err_t result = run_tx(be, TX_DURABLE, ticket_revoke_body, &a);

    *seq = result == ADM_OK ? a.seq : 0;
    return result;
}

static adm_err_t sq_revocations_since(void *be, adm_read_t rd, int64_t event_id, int64_t after_seq,
                                      size_t limit, adm_revocation_t **revs, size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_REVOCATIONS,
                          .p1 = event_id,
                          .p2 = after_seq,
                          .p3 = (int64_t)limit,
                          .n_args = 3,
                          .reader = rd_revocation,
                          .elem = sizeof **revs,
                          .max = limit,
                          .arr = (void **)revs,
                          .n = n};

    return run_tx(be, TX_READ, list_body, &a);
}

/* ---- accounts ---- */

struct user_args {
    int64_t id;
    const adm_user_spec_t *spec;
    const char *email, *password_hash;
    int64_t now;
    int64_t *out_id;
    adm_user_t *out;
};

static adm_err_t user_create_body(conn_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;

    if ((result = use(c, Q_USER_INSERT, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->spec->email);
    bt(c, s, 2, a->spec->password_hash);
    bt(c, s, 3, a->spec->display_name);
    bi(c, s, 4, a->spec->role);
    bi(c, s, 5, a->now);
    if ((result = run(c, s, NULL)) == ADM_OK)
        *a->out_id = sqlite3_last_insert_rowid(c->db);
out:
    return result;
}

static adm_err_t sq_user_create(void *be, const adm_user_spec_t *spec, int64_t now, int64_t *id)
{
    struct user_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_tx(be, TX_WRITE, user_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t rd_user(conn_t *c, sqlite3_stmt *s, void *e)
{
    return read_user(c, s, e);
}

static adm_err_t user_get_body(conn_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    bool row;

    if (a->id != 0) {
        result = get_by_id(c, Q_USER_GET, a->id, rd_user, a->out);
        goto out;
    }
    if ((result = use(c, Q_USER_BY_EMAIL, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->email);
    if ((result = step(c, s, &row)) == ADM_OK)
        result = row ? read_user(c, s, a->out) : ADM_ERR_NOT_FOUND;
    done(s);
out:
    if (result != ADM_OK)
        memset(a->out, 0, sizeof *a->out);
    return result;
}

static adm_err_t sq_user_get(void *be, adm_read_t rd, int64_t id, const char *email,
                             adm_user_t *out)
{
    struct user_args a = {.id = id, .email = email, .out = out};

    return run_tx(be, TX_READ, user_get_body, &a);
}

static adm_err_t user_set_password_body(conn_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_USER_SET_PASSWORD, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->id);
    bt(c, s, 2, a->password_hash);
    if ((result = run(c, s, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t sq_user_set_password(void *be, int64_t id, const char *password_hash)
{
    struct user_args a = {.id = id, .password_hash = password_hash};

    return run_tx(be, TX_WRITE, user_set_password_body, &a);
}

struct session_args {
    const char *hash;
    int64_t user_id, now, expires_at;
    adm_session_t *out;
};

static adm_err_t session_create_body(conn_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;

    if ((result = exists(c, Q_USER_EXISTS, a->user_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_SESSION_INSERT, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->hash);
    bi(c, s, 2, a->user_id);
    bi(c, s, 3, a->now);
    bi(c, s, 4, a->expires_at);
    result = run(c, s, NULL);
out:
    return result;
}

static adm_err_t sq_session_create(void *be, const char *hash_hex, int64_t user_id, int64_t now,
                                   int64_t expires_at)
{
    struct session_args a = {
        .hash = hash_hex, .user_id = user_id, .now = now, .expires_at = expires_at};

    return run_tx(be, TX_WRITE, session_create_body, &a);
}

static adm_err_t session_lookup_body(conn_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    bool row;

    memset(a->out, 0, sizeof *a->out);
    if ((result = use(c, Q_SESSION_GET, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->hash);
    if ((result = step(c, s, &row)) == ADM_OK && !row)
        result = ADM_ERR_NOT_FOUND;
    if (result == ADM_OK) {
        a->out->user_id = ci(s, 0);
        a->out->role = (adm_role_t)ci(s, 1);
        a->out->created = ci(s, 2);
        a->out->expires_at = ci(s, 3);
        if (a->out->expires_at <= a->now) {
            memset(a->out, 0, sizeof *a->out);
            result = ADM_ERR_EXPIRED;
        }
    }
    done(s);
out:
    return result;
}

static adm_err_t sq_session_lookup(void *be, const char *hash_hex, int64_t now, adm_session_t *out)
{
    struct session_args a = {.hash = hash_hex, .now = now, .out = out};

    return run_tx(be, TX_READ, session_lookup_body, &a);
}

static adm_err_t session_delete_body(conn_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_SESSION_DELETE, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->hash);
    if ((result = run(c, s, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t sq_session_delete(void *be, const char *hash_hex)
{
    struct session_args a = {.hash = hash_hex};

    return run_tx(be, TX_WRITE, session_delete_body, &a);
}

/* ---- idempotency ---- */

struct idem_args {
    const char *scope, *key, *fingerprint;
    int status;
    const void *body;
    size_t body_len;
    int64_t now;
    adm_idem_t *out;
};

/* Reads the live record of (scope, key): *found, and its status. A record
 * past its TTL counts as absent. */
static adm_err_t idem_status(conn_t *c, const struct idem_args *a, bool *found, bool *stale,
                             int64_t *status)
{
    sqlite3_stmt *s;
    adm_err_t result;
    bool row;

    *found = *stale = false;
    *status = 0;
    if ((result = use(c, Q_IDEM_GET, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->scope);
    bt(c, s, 2, a->key);
    if ((result = step(c, s, &row)) == ADM_OK && row) {
        *status = ci(s, 0);
        *stale = ci(s, 3) + ADM_STORE_IDEM_TTL_S <= a->now;
        *found = !*stale;
    }
    done(s);
out:
    return result;
}

static adm_err_t idem_put_body(conn_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t status;
    bool found, stale;

    if ((result = idem_status(c, a, &found, &stale, &status)) != ADM_OK)
        goto out;
    if (found) {
        result = ADM_ERR_EXISTS; /* the first writer won */
        goto out;
    }
    if (stale) {
        if ((result = use(c, Q_IDEM_DELETE, &s)) != ADM_OK)
            goto out;
        bt(c, s, 1, a->scope);
        bt(c, s, 2, a->key);
        if ((result = run(c, s, NULL)) != ADM_OK)
            goto out;
    }
    if ((result = use(c, Q_IDEM_INSERT, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->scope);
    bt(c, s, 2, a->key);
    bt(c, s, 3, a->fingerprint);
    bi(c, s, 4, a->status);
    bb(c, s, 5, a->body, a->body_len);
    bi(c, s, 6, a->now);
    result = run(c, s, NULL);
out:
    return result;
}

static adm_err_t sq_idem_put(void *be, const char *scope, const char *key, const char *fingerprint,
                             int status, const void *body, size_t body_len, int64_t now)
{
    struct idem_args a = {.scope = scope,
                          .key = key,
                          .fingerprint = fingerprint,
                          .status = status,
                          .body = body,
                          .body_len = body_len,
                          .now = now};

    return run_tx(be, TX_WRITE, idem_put_body, &a);
}

static adm_err_t idem_complete_body(conn_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t status;
    bool found, stale;
    int changes;

    if ((result = idem_status(c, a, &found, &stale, &status)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (status != 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_IDEM_COMPLETE, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->scope);
    bt(c, s, 2, a->key);
    bi(c, s, 3, a->status);
    bb(c, s, 4, a->body, a->body_len);
    if ((result = run(c, s, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_STATE;
out:
    return result;
}

static adm_err_t sq_idem_complete(void *be, const char *scope, const char *key, int status,
                                  const void *body, size_t body_len, int64_t now)
{
    struct idem_args a = {.scope = scope,
                          .key = key,
                          .status = status,
                          .body = body,
                          .body_len = body_len,
                          .now = now};

    return run_tx(be, TX_WRITE, idem_complete_body, &a);
}

static adm_err_t idem_get_body(conn_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    adm_idem_t *out = a->out;
    const void *blob;
    sqlite3_stmt *s;
    adm_err_t result;
    size_t len;
    bool row;

    free(out->body); /* from an earlier attempt */
    memset(out, 0, sizeof *out);
    if ((result = use(c, Q_IDEM_GET, &s)) != ADM_OK)
        goto out;
    bt(c, s, 1, a->scope);
    bt(c, s, 2, a->key);
    if ((result = step(c, s, &row)) != ADM_OK)
        goto done;
    if (!row || ci(s, 3) + ADM_STORE_IDEM_TTL_S <= a->now) {
        result = ADM_ERR_NOT_FOUND;
        goto done;
    }
    out->status = (int)ci(s, 0);
    ct(c, s, 1, out->fingerprint, sizeof out->fingerprint);
    out->created = ci(s, 3);
    blob = sqlite3_column_blob(s, 2);
    len = (size_t)sqlite3_column_bytes(s, 2);
    if ((result = take_bad(c)) != ADM_OK)
        goto done;
    if (len > ADM_STORE_IDEM_BODY_MAX) {
        result = ADM_ERR_STORE;
        goto done;
    }
    out->body = malloc(len + 1);
    if (out->body == NULL) {
        result = ADM_ERR_NOMEM;
        goto done;
    }
    if (len > 0)
        memcpy(out->body, blob, len);
    out->body[len] = '\0';
    out->body_len = len;
done:
    done(s);
out:
    if (result != ADM_OK) {
        free(out->body);
        memset(out, 0, sizeof *out);
    }
    return result;
}

static adm_err_t sq_idem_get(void *be, const char *scope, const char *key, int64_t now,
                             adm_idem_t *out)
{
    struct idem_args a = {.scope = scope, .key = key, .now = now, .out = out};

    return run_tx(be, TX_READ, idem_get_body, &a);
}

/* ---- event signing keys ---- */

struct key_args {
    int64_t event_id;
    uint32_t kid;
    const uint8_t *seed;
    int64_t now;
};

static adm_err_t event_key_add_body(conn_t *c, void *arg, bool *keep)
{
    struct key_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t count;
    bool found;

    if ((result = exists(c, Q_EVENT_STATUS, a->event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_KEY_COUNT, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->event_id);
    if ((result = one_int(c, s, &count, &found)) != ADM_OK)
        goto out;
    if (count >= ADM_STORE_EVENT_KEYS_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    if ((result = use(c, Q_KEY_INSERT, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->kid);
    bi(c, s, 2, a->event_id);
    bb(c, s, 3, a->seed, ADM_KEY_SEED_BYTES);
    bi(c, s, 4, a->now);
    result = run(c, s, NULL);
out:
    return result;
}

static adm_err_t sq_event_key_add(void *be, int64_t event_id, uint32_t kid,
                                  const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .seed = seed, .now = now};

    /* durable: tokens signed with a key lost in a crash would never verify */
    return run_tx(be, TX_DURABLE, event_key_add_body, &a);
}

static adm_err_t sq_event_key_list(void *be, adm_read_t rd, int64_t event_id,
                                   adm_event_key_t **keys, size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_KEY_LIST,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_key,
                          .elem = sizeof **keys,
                          .max = ADM_STORE_EVENT_KEYS_MAX,
                          .secret = true,
                          .arr = (void **)keys,
                          .n = n};

    return run_tx(be, TX_READ, list_body, &a);
}

static adm_err_t event_key_retire_body(conn_t *c, void *arg, bool *keep)
{
    struct key_args *a = arg;
    sqlite3_stmt *s;
    adm_err_t result;
    int64_t v;
    bool found;

    if ((result = use(c, Q_KEY_EXISTS, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->event_id);
    bi(c, s, 2, a->kid);
    if ((result = one_int(c, s, &v, &found)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if ((result = use(c, Q_KEY_RETIRE, &s)) != ADM_OK)
        goto out;
    bi(c, s, 1, a->event_id);
    bi(c, s, 2, a->kid);
    bi(c, s, 3, a->now);
    result = run(c, s, NULL); /* already retired: no row changes, still ADM_OK */
out:
    return result;
}

static adm_err_t sq_event_key_retire(void *be, int64_t event_id, uint32_t kid, int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .now = now};

    return run_tx(be, TX_DURABLE, event_key_retire_body, &a);
}

/* ---- reports ---- */

static adm_err_t sq_sales_by_type(void *be, adm_read_t rd, int64_t event_id,
                                  adm_type_sales_t **rows, size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_SALES,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_sales,
                          .elem = sizeof **rows,
                          .max = ADM_STORE_TYPES_MAX,
                          .arr = (void **)rows,
                          .n = n};

    return run_tx(be, TX_READ, list_body, &a);
}

const adm_store_ops_t adm_store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .ping = sq_ping,
    .write_position = sq_write_position,
    .schema_version = sq_schema_version,
    .venue_create = sq_venue_create,
    .venue_update = sq_venue_update,
    .venue_get = sq_venue_get,
    .event_create = sq_event_create,
    .event_update = sq_event_update,
    .event_set_status = sq_event_set_status,
    .event_get = sq_event_get,
    .event_search = sq_event_search,
    .type_create = sq_type_create,
    .type_update = sq_type_update,
    .type_get = sq_type_get,
    .type_list = sq_type_list,
    .availability = sq_availability,
    .hold_create = sq_hold_create,
    .hold_get = sq_hold_get,
    .hold_release = sq_hold_release,
    .reap_holds = sq_reap_holds,
    .reap_other = sq_reap_other,
    .checkout = sq_checkout,
    .order_pay = sq_order_pay,
    .order_cancel = sq_order_cancel,
    .order_refund = sq_order_refund,
    .order_get = sq_order_get,
    .order_list = sq_order_list,
    .order_tickets = sq_order_tickets,
    .ticket_get = sq_ticket_get,
    .ticket_set_token = sq_ticket_set_token,
    .ticket_list_unsigned = sq_ticket_list_unsigned,
    .ticket_revoke = sq_ticket_revoke,
    .revocations_since = sq_revocations_since,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_set_password = sq_user_set_password,
    .session_create = sq_session_create,
    .session_lookup = sq_session_lookup,
    .session_delete = sq_session_delete,
    .idem_put = sq_idem_put,
    .idem_complete = sq_idem_complete,
    .idem_get = sq_idem_get,
    .event_key_add = sq_event_key_add,
    .event_key_list = sq_event_key_list,
    .event_key_retire = sq_event_key_retire,
    .sales_by_type = sq_sales_by_type,
};
