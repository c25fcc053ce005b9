/* store-sqlite.c: the embedded store backend: one SQLite file in WAL mode
 * behind a pool of connections, schema by numbered migrations (docs/store.md).
 * It runs the shared operations of store-sql.c through the driver below and
 * keeps only what differs: pool, transactions, migrations, SQL text.
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

#include "server/store-sql.h"

#define POOL_DEFAULT 8
#define BUSY_TIMEOUT_MS 1000 /* per attempt; a write makes ADM_STORE_WRITE_ATTEMPTS */

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

    /* 2: sync (docs/sync.md): check-in lists, enrollments, devices, scans, the
     * edge's mirror of an upstream event, settings. Event ids without foreign
     * keys: an edge keeps these rows for events it has no catalog rows of. */
    "CREATE TABLE sync_locks ("
    "  event_id INTEGER PRIMARY KEY,"
    "  writes INTEGER NOT NULL);"
    "CREATE TABLE checkin_lists ("
    "  id INTEGER PRIMARY KEY,"
    "  event_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  reentry TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX checkin_lists_by_event ON checkin_lists(event_id, id);"
    "CREATE TABLE checkin_list_types ("
    "  list_id INTEGER NOT NULL REFERENCES checkin_lists(id),"
    "  pos INTEGER NOT NULL,"
    "  type_id INTEGER NOT NULL,"
    "  PRIMARY KEY (list_id, pos));"
    "CREATE TABLE checkin_list_gates ("
    "  list_id INTEGER NOT NULL REFERENCES checkin_lists(id),"
    "  pos INTEGER NOT NULL,"
    "  gate TEXT NOT NULL,"
    "  PRIMARY KEY (list_id, pos));"
    "CREATE TABLE enrollments ("
    "  token_hash TEXT PRIMARY KEY,"
    "  event_id INTEGER NOT NULL,"
    "  gate TEXT NOT NULL,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 1),"
    "  created INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER NOT NULL DEFAULT 0,"
    "  device_id TEXT);"
    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY,"
    "  event_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  gate TEXT NOT NULL,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 1),"
    "  secret_hash BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX devices_by_event ON devices(event_id, created, id);"
    /* AUTOINCREMENT: a seq is never reused, even after the newest row is gone */
    "CREATE TABLE checkins ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  event_id INTEGER NOT NULL,"
    "  nonce TEXT NOT NULL UNIQUE,"
    "  device TEXT NOT NULL,"
    "  uploader TEXT NOT NULL,"
    "  ticket_id INTEGER NOT NULL,"
    "  list_id INTEGER NOT NULL,"
    "  scanned_at INTEGER NOT NULL,"
    "  gate TEXT NOT NULL,"
    "  direction TEXT NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  attention INTEGER NOT NULL,"
    "  text_hash TEXT NOT NULL,"
    "  conflict INTEGER NOT NULL DEFAULT 0,"
    "  upstream_done INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL);"
    "CREATE INDEX checkins_by_event ON checkins(event_id, seq);"
    "CREATE INDEX checkins_by_ticket ON checkins(event_id, ticket_id, list_id, scanned_at);"
    "CREATE INDEX checkins_accepted ON checkins(event_id, verdict, seq);"
    "CREATE INDEX checkins_pending ON checkins(event_id, upstream_done, seq);"
    "CREATE TABLE mirror ("
    "  event_id INTEGER PRIMARY KEY,"
    "  header TEXT NOT NULL,"
    "  revocations_cursor INTEGER NOT NULL,"
    "  checkins_cursor INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE mirror_revocations ("
    "  event_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  ticket_id INTEGER NOT NULL,"
    "  revoked_at INTEGER NOT NULL,"
    "  PRIMARY KEY (event_id, seq));"
    "CREATE TABLE settings ("
    "  name TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);",

    /* 3: ticket type attributes carried by its tickets: flags (1 special,
     * 2 re-entry) and a seat/zone label */
    "ALTER TABLE ticket_types ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE ticket_types ADD COLUMN zone TEXT NOT NULL DEFAULT '';",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ----------------------------------------------------------
 * Every statement the backend runs, prepared once per connection on first
 * use. Column lists are shared by the row readers below. */


/* statements only this backend runs, after the shared ones */
enum {
    Q_BEGIN = Q_SHARED_N,
    Q_BEGIN_WRITE,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SYNC_FULL,
    Q_SYNC_NORMAL,
    N_Q
};

#define CHECKIN_INSERT                                                                             \
    "INSERT INTO checkins (event_id, nonce, device, uploader, ticket_id, list_id, scanned_at, "    \
    "gate, direction, verdict, reason, attention, text_hash, upstream_done, received_at) VALUES "
/* ADM_SQL_CHECKIN_INSERT_COLS placeholders */
#define CHECKIN_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define CHECKIN_REPLAY_COLS "seq, ticket_id, list_id, scanned_at, direction, conflict"
#define CHECKIN_BY_NONCES(in) "SELECT seq, nonce, conflict FROM checkins WHERE nonce IN " in
/* the accepted scans of a list of tickets, in replay order */
#define CHECKIN_REPLAY_TICKETS(in)                                                                 \
    "SELECT " CHECKIN_REPLAY_COLS " FROM checkins WHERE event_id = ? AND verdict = ? "             \
    "AND ticket_id IN " in " ORDER BY ticket_id, list_id, scanned_at, seq LIMIT ?"
#define CHECKIN_SET_CONFLICTS(in) "UPDATE checkins SET conflict = ? WHERE seq IN " in
_Static_assert(ADM_SQL_CHECKIN_INSERT_COLS == 15, "CHECKIN_ROW spells 15 placeholders");

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
                       "VALUES (?, ?, ?, ?, ?, ?)",
    [Q_VENUE_UPDATE] = "UPDATE venues SET name = ?, city = ?, address = ?, capacity = ?, "
                       "updated = ? WHERE id = ?",
    [Q_VENUE_GET] = "SELECT " ADM_SQL_VENUE_COLS " FROM venues WHERE id = ?",
    [Q_VENUE_CITY] = "SELECT city FROM venues WHERE id = ?",

    [Q_EVENT_INSERT] =
        "INSERT INTO events (venue_id, title, city, category, description, starts_at, ends_at, "
        "status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
    [Q_EVENT_UPDATE] =
        "UPDATE events SET title = ?, city = CASE WHEN ? = '' THEN (SELECT v.city FROM venues "
        "v WHERE v.id = events.venue_id) ELSE ? END, category = ?, description = ?, "
        "starts_at = ?, ends_at = ?, updated = ? WHERE id = ?",
    [Q_EVENT_GET] = "SELECT " ADM_SQL_EVENT_COLS " FROM events WHERE id = ?",
    [Q_EVENT_STATUS] = "SELECT status FROM events WHERE id = ?",
    /* the *_LOCK statements are plain SELECTs here: a write transaction
     * (BEGIN IMMEDIATE) already holds the database's only write lock */
    [Q_EVENT_LOCK] = "SELECT status FROM events WHERE id = ?",
    [Q_EVENT_SET_STATUS] = "UPDATE events SET status = ?, updated = ? WHERE id = ? AND status = ?",
    [Q_EVENT_SEARCH] = "SELECT " ADM_SQL_EVENT_COLS " FROM events"
                       " WHERE (? IS NULL OR city = ?)"
                       " AND (? IS NULL OR category = ?)"
                       " AND (? IS NULL OR title LIKE ? ESCAPE '!'"
                       "      OR description LIKE ? ESCAPE '!')"
                       " AND (? = 0 OR starts_at >= ?)"
                       " AND (? = 0 OR starts_at < ?)"
                       " AND (? <> 0 OR status = 1)"
                       " AND (starts_at > ? OR (starts_at = ? AND id > ?))"
                       " ORDER BY starts_at, id LIMIT ?",
    [Q_EVENT_BUMP_SEQ] = "UPDATE events SET revocation_seq = revocation_seq + 1 WHERE id = ?",
    [Q_EVENT_SEQ] = "SELECT revocation_seq FROM events WHERE id = ?",

    [Q_TYPE_COUNT] = "SELECT COUNT(*) FROM ticket_types WHERE event_id = ?",
    [Q_TYPE_INSERT] =
        "INSERT INTO ticket_types (event_id, name, price, currency, capacity, per_order_max, "
        "per_customer_max, sale_starts, sale_ends, created, updated, flags, zone) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_TYPE_UPDATE] = "UPDATE ticket_types SET name = ?, price = ?, currency = ?, capacity = ?, "
                      "per_order_max = ?, per_customer_max = ?, sale_starts = ?, sale_ends = ?, "
                      "updated = ?, flags = ?, zone = ? WHERE id = ? AND sold + held <= ?",
    [Q_TYPE_GET] = "SELECT " ADM_SQL_TYPE_COLS " FROM ticket_types WHERE id = ?",
    [Q_TYPE_LIST] = "SELECT " ADM_SQL_TYPE_COLS " FROM ticket_types WHERE event_id = ? ORDER BY id",
    [Q_TYPE_FOR_HOLD] = "SELECT t.event_id, t.per_order_max, t.per_customer_max, "
                        "t.sale_starts, t.sale_ends, e.status FROM ticket_types t "
                        "JOIN events e ON e.id = t.event_id WHERE t.id = ?",
    [Q_TYPE_PRICE] = "SELECT t.price, t.currency, e.status FROM ticket_types t "
                     "JOIN events e ON e.id = t.event_id WHERE t.id = ?",
    /* the authoritative stock check: no row changes unless the seats exist */
    [Q_TYPE_HOLD] = "UPDATE ticket_types SET held = held + ? "
                    "WHERE id = ? AND sold + held + ? <= capacity",
    [Q_TYPE_UNHOLD] = "UPDATE ticket_types SET held = held - ? WHERE id = ? AND held >= ?",
    [Q_TYPE_SELL] = "UPDATE ticket_types SET held = held - ?, sold = sold + ? "
                    "WHERE id = ? AND held >= ?",
    [Q_TYPE_UNSELL] = "UPDATE ticket_types SET sold = sold - ? WHERE id = ? AND sold >= ?",

    [Q_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?",
    [Q_USER_LOCK] = "SELECT 1 FROM users WHERE id = ?",
    [Q_CUSTOMER_SEATS] = "SELECT (SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE user_id = ? "
                         "AND type_id = ? AND state = 0 AND expires_at > ?) + "
                         "(SELECT COALESCE(SUM(i.quantity), 0) FROM orders o JOIN order_items i "
                         "ON i.order_id = o.id WHERE o.user_id = ? AND i.type_id = ? "
                         "AND (o.state = 1 OR (o.state = 0 AND o.expires_at > ?)))",
    [Q_HOLD_INSERT] = "INSERT INTO holds (id, user_id, type_id, event_id, quantity, state, "
                      "created, expires_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
    [Q_HOLD_GET] = "SELECT " ADM_SQL_HOLD_COLS " FROM holds WHERE id = ?",
    [Q_HOLD_LOCK] = "SELECT " ADM_SQL_HOLD_COLS " FROM holds WHERE id = ?",
    [Q_HOLD_SET_STATE] = "UPDATE holds SET state = ? WHERE id = ? AND state = 0",
    [Q_HOLD_EXPIRED_OF_TYPE] = "SELECT id, type_id, quantity FROM holds WHERE type_id = ? "
                               "AND state = 0 AND expires_at <= ? LIMIT ?",
    [Q_HOLD_EXPIRED] = "SELECT id, type_id, quantity FROM holds "
                       "WHERE state = 0 AND expires_at <= ? LIMIT ?",
    [Q_HOLD_CONVERT] = "UPDATE holds SET state = 3, order_id = ? WHERE id = ? AND state = 0",

    [Q_ORDER_INSERT] = "INSERT INTO orders (code, user_id, state, total, currency, created, "
                       "updated, expires_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?)",
    [Q_ITEM_INSERT] = "INSERT INTO order_items (order_id, type_id, event_id, quantity, "
                      "unit_price) VALUES (?, ?, ?, ?, ?)",
    [Q_ORDER_GET] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE id = ?",
    [Q_ORDER_LOCK] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE id = ?",
    [Q_ORDER_GET_CODE] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE code = ?",
    [Q_ORDER_ITEMS] = "SELECT id, type_id, event_id, quantity, unit_price FROM order_items "
                      "WHERE order_id = ? ORDER BY id",
    [Q_ORDER_FINISH] = "UPDATE orders SET state = ?, updated = ? WHERE id = ? AND state = 0",
    [Q_ORDER_EXPIRE] = "UPDATE orders SET state = 4, updated = ? "
                       "WHERE id = ? AND state = 0 AND expires_at <= ?",
    [Q_ORDER_EXTEND] = "UPDATE orders SET expires_at = ?, updated = ? "
                       "WHERE id = ? AND state = 0 AND expires_at < ?",
    [Q_ORDER_EXPIRED] = "SELECT id FROM orders WHERE state = 0 AND expires_at <= ? LIMIT ?",
    [Q_ORDER_REF_OWNER] = "SELECT id FROM orders WHERE provider = ? AND provider_ref = ?",
    [Q_ORDER_OFF_SALE] = "SELECT COUNT(*) FROM order_items i JOIN events e "
                         "ON e.id = i.event_id WHERE i.order_id = ? AND e.status <> 1",
    [Q_ORDER_MARK_PAID] = "UPDATE orders SET state = 1, paid_at = ?, updated = ?, "
                          "provider = ?, provider_ref = ? WHERE id = ? AND state = 0",
    [Q_ORDER_MARK_REFUNDED] = "UPDATE orders SET state = 3, updated = ? WHERE id = ? AND state = 1",
    [Q_ORDER_LIST] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE user_id = ? "
                     "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",

    [Q_TICKET_INSERT] = "INSERT INTO tickets (id, event_id, type_id, order_id, user_id, status, "
                        "created) VALUES (?, ?, ?, ?, ?, 0, ?)",
    [Q_TICKET_GET] = "SELECT " ADM_SQL_TICKET_COLS " FROM tickets WHERE id = ?",
    [Q_TICKET_LOCK] = "SELECT " ADM_SQL_TICKET_COLS " FROM tickets WHERE id = ?",
    [Q_TICKETS_OF_ORDER] =
        "SELECT " ADM_SQL_TICKET_COLS " FROM tickets WHERE order_id = ? ORDER BY id",
    [Q_TICKETS_VALID_OF_ORDER] =
        "SELECT id, event_id FROM tickets WHERE order_id = ? AND status = 0 ORDER BY id",
    [Q_TICKET_REVOKE] = "UPDATE tickets SET status = 1, revoked_at = ? WHERE id = ? AND status = 0",
    [Q_TICKET_SET_TOKEN] =
        "UPDATE tickets SET token = ?, key_id = ? WHERE id = ? AND token IS NULL",
    [Q_TICKETS_UNSIGNED] = "SELECT " ADM_SQL_TICKET_COLS " FROM tickets WHERE key_id = 0 "
                           "AND status = 0 ORDER BY created, id LIMIT ?",
    [Q_REVOCATION_INSERT] =
        "INSERT INTO revocations (event_id, seq, ticket_id, revoked_at) VALUES (?, ?, ?, ?)",
    [Q_REVOCATIONS] = "SELECT seq, ticket_id, revoked_at FROM revocations "
                      "WHERE event_id = ? AND seq > ? ORDER BY seq LIMIT ?",

    [Q_USER_INSERT] = "INSERT INTO users (email, password_hash, display_name, role, created) "
                      "VALUES (?, ?, ?, ?, ?)",
    [Q_USER_GET] = "SELECT " ADM_SQL_USER_COLS " FROM users WHERE id = ?",
    [Q_USER_BY_EMAIL] = "SELECT " ADM_SQL_USER_COLS " FROM users WHERE email = ?",
    [Q_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ? WHERE id = ?",

    [Q_SESSION_INSERT] = "INSERT INTO sessions (token_hash, user_id, created, expires_at) "
                         "VALUES (?, ?, ?, ?)",
    [Q_SESSION_GET] = "SELECT s.user_id, u.role, s.created, s.expires_at FROM sessions s "
                      "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?",
    /* SQLite's DELETE takes no LIMIT (without SQLITE_ENABLE_UPDATE_DELETE_LIMIT) */
    [Q_SESSION_REAP] = "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM "
                       "sessions WHERE expires_at <= ? LIMIT ?)",

    [Q_IDEM_GET] = "SELECT status, fingerprint, body, created FROM idempotency "
                   "WHERE scope = ? AND idem_key = ?",
    [Q_IDEM_DELETE_STALE] =
        "DELETE FROM idempotency WHERE scope = ? AND idem_key = ? AND created <= ?",
    [Q_IDEM_INSERT] = "INSERT INTO idempotency (scope, idem_key, fingerprint, status, body, "
                      "created) VALUES (?, ?, ?, ?, ?, ?)",
    [Q_IDEM_COMPLETE] = "UPDATE idempotency SET status = ?, body = ? "
                        "WHERE scope = ? AND idem_key = ? AND status = 0",
    [Q_IDEM_RELEASE] = "DELETE FROM idempotency WHERE scope = ? AND idem_key = ? AND status = 0",
    [Q_IDEM_REAP] = "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency "
                    "WHERE created <= ? LIMIT ?)",

    [Q_KEY_INSERT] = "INSERT INTO event_keys (kid, event_id, seed, created) VALUES (?, ?, ?, ?)",
    [Q_KEY_COUNT] = "SELECT COUNT(*) FROM event_keys WHERE event_id = ?",
    [Q_KEY_COUNT_ACTIVE] = "SELECT COUNT(*) FROM event_keys "
                           "WHERE event_id = ? AND retired_at = 0",
    [Q_KEY_EXISTS] = "SELECT 1 FROM event_keys WHERE event_id = ? AND kid = ?",
    [Q_KEY_LIST] = "SELECT event_id, kid, seed, created, retired_at FROM event_keys "
                   "WHERE event_id = ? ORDER BY created, kid",
    [Q_KEY_RETIRE] = "UPDATE event_keys SET retired_at = ? "
                     "WHERE event_id = ? AND kid = ? AND retired_at = 0",

    [Q_SALES] = "SELECT t.id, t.name, t.currency, t.capacity, t.sold, t.held, "
                "COALESCE((SELECT SUM(i.quantity * i.unit_price) FROM order_items i "
                "JOIN orders o ON o.id = i.order_id WHERE i.type_id = t.id AND o.state = 1), 0) "
                "FROM ticket_types t WHERE t.event_id = ? ORDER BY t.id",

    [Q_SYNC_LOCK] = "INSERT INTO sync_locks (event_id, writes) VALUES (?, 1) "
                    "ON CONFLICT (event_id) DO UPDATE SET writes = writes + 1",
    [Q_LIST_COUNT] = "SELECT COUNT(*) FROM checkin_lists WHERE event_id = ?",
    [Q_LIST_EVENT] = "SELECT event_id FROM checkin_lists WHERE id = ?",
    [Q_LIST_INSERT] =
        "INSERT INTO checkin_lists (event_id, name, reentry, created) VALUES (?, ?, ?, ?)",
    [Q_LIST_INSERT_ID] =
        "INSERT INTO checkin_lists (id, event_id, name, reentry, created) VALUES (?, ?, ?, ?, ?)",
    [Q_LIST_DELETE] = "DELETE FROM checkin_lists WHERE id = ?",
    [Q_LIST_TYPES_DELETE] = "DELETE FROM checkin_list_types WHERE list_id = ?",
    [Q_LIST_GATES_DELETE] = "DELETE FROM checkin_list_gates WHERE list_id = ?",
    [Q_LIST_TYPE_INSERT] =
        "INSERT INTO checkin_list_types (list_id, pos, type_id) VALUES (?, ?, ?)",
    [Q_LIST_GATE_INSERT] = "INSERT INTO checkin_list_gates (list_id, pos, gate) VALUES (?, ?, ?)",
    [Q_LISTS] = "SELECT " ADM_SQL_LIST_COLS " FROM checkin_lists WHERE event_id = ? ORDER BY id",
    [Q_LIST_TYPES] = "SELECT t.list_id, t.type_id FROM checkin_list_types t JOIN checkin_lists l "
                     "ON l.id = t.list_id WHERE l.event_id = ? ORDER BY t.list_id, t.pos",
    [Q_LIST_GATES] = "SELECT g.list_id, g.gate FROM checkin_list_gates g JOIN checkin_lists l "
                     "ON l.id = g.list_id WHERE l.event_id = ? ORDER BY g.list_id, g.pos",
    [Q_LIST_REENTRY] = "SELECT reentry FROM checkin_lists WHERE id = ? AND event_id = ?",

    [Q_ENROLLMENT_INSERT] = "INSERT INTO enrollments (token_hash, event_id, gate, kind, created, "
                            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    [Q_ENROLLMENT_LOCK] = "SELECT event_id, gate, kind, expires_at, used_at FROM enrollments "
                          "WHERE token_hash = ?",
    [Q_ENROLLMENT_USE] = "UPDATE enrollments SET used_at = ?, device_id = ? "
                         "WHERE token_hash = ? AND used_at = 0",
    [Q_DEVICE_INSERT] = "INSERT INTO devices (id, event_id, name, gate, kind, secret_hash, "
                        "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_DEVICE_GET] = "SELECT " ADM_SQL_DEVICE_COLS " FROM devices WHERE id = ?",
    [Q_DEVICES] = "SELECT " ADM_SQL_DEVICE_COLS " FROM devices WHERE event_id = ? "
                  "ORDER BY created, id",
    [Q_DEVICE_REVOKE] = "UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at = 0",
    [Q_DEVICE_SEEN] = "UPDATE devices SET last_seen = ? WHERE id = ?",

    [Q_CHECKIN_INSERT] = CHECKIN_INSERT CHECKIN_ROW,
    [Q_CHECKIN_INSERT_2] = CHECKIN_INSERT ADM_SQL_X2(CHECKIN_ROW),
    [Q_CHECKIN_INSERT_4] = CHECKIN_INSERT ADM_SQL_X4(CHECKIN_ROW),
    [Q_CHECKIN_INSERT_8] = CHECKIN_INSERT ADM_SQL_X8(CHECKIN_ROW),
    [Q_CHECKIN_INSERT_16] = CHECKIN_INSERT ADM_SQL_X16(CHECKIN_ROW),
    [Q_CHECKIN_INSERT_32] = CHECKIN_INSERT ADM_SQL_X32(CHECKIN_ROW),
    [Q_CHECKIN_INSERT_64] = CHECKIN_INSERT ADM_SQL_X64(CHECKIN_ROW),
    [Q_CHECKIN_BY_NONCE] = "SELECT seq, conflict FROM checkins WHERE nonce = ?",
    [Q_CHECKIN_BY_NONCES_1] = CHECKIN_BY_NONCES("(?)"),
    [Q_CHECKIN_BY_NONCES_SMALL] = CHECKIN_BY_NONCES(ADM_SQL_IN_SMALL_LIST),
    [Q_CHECKIN_BY_NONCES] = CHECKIN_BY_NONCES(ADM_SQL_IN),
    [Q_CHECKIN_REPLAY_TICKETS_1] = CHECKIN_REPLAY_TICKETS("(?)"),
    [Q_CHECKIN_REPLAY_TICKETS_SMALL] = CHECKIN_REPLAY_TICKETS(ADM_SQL_IN_SMALL_LIST),
    [Q_CHECKIN_REPLAY_TICKETS] = CHECKIN_REPLAY_TICKETS(ADM_SQL_IN),
    /* the rest of one ticket's, after (list_id, scanned_at, seq) */
    [Q_CHECKIN_REPLAY_TICKET] = "SELECT " CHECKIN_REPLAY_COLS " FROM checkins "
                                "WHERE event_id = ? AND ticket_id = ? AND verdict = ? "
                                "AND (list_id > ? OR (list_id = ? AND (scanned_at > ? "
                                "OR (scanned_at = ? AND seq > ?)))) "
                                "ORDER BY list_id, scanned_at, seq LIMIT ?",
    [Q_CHECKIN_SET_CONFLICTS_1] = CHECKIN_SET_CONFLICTS("(?)"),
    [Q_CHECKIN_SET_CONFLICTS_SMALL] = CHECKIN_SET_CONFLICTS(ADM_SQL_IN_SMALL_LIST),
    [Q_CHECKIN_SET_CONFLICTS] = CHECKIN_SET_CONFLICTS(ADM_SQL_IN),
    [Q_CHECKINS] = "SELECT " ADM_SQL_CHECKIN_COLS " FROM checkins WHERE event_id = ? "
                   "AND seq > ? ORDER BY seq LIMIT ?",
    [Q_CHECKINS_ACCEPTED] = "SELECT " ADM_SQL_CHECKIN_COLS " FROM checkins WHERE event_id = ? "
                            "AND verdict = ? AND seq > ? AND (? = 0 OR conflict = 1) "
                            "AND (? = '' OR uploader <> ?) ORDER BY seq LIMIT ?",
    [Q_CHECKINS_PENDING] = "SELECT " ADM_SQL_CHECKIN_COLS " FROM checkins WHERE event_id = ? "
                           "AND upstream_done = 0 AND seq > ? AND (? = 0 OR verdict = ?) "
                           "AND (? = 0 OR conflict = 1) ORDER BY seq LIMIT ?",
    [Q_CHECKINS_TICKET] = "SELECT " ADM_SQL_CHECKIN_COLS " FROM checkins WHERE event_id = ? "
                          "AND ticket_id = ? AND seq > ? AND (? = 0 OR verdict = ?) "
                          "AND (? = 0 OR conflict = 1) AND (? = 0 OR upstream_done = 0) "
                          "ORDER BY seq LIMIT ?",
    [Q_CHECKIN_LAST_SEQ] = "SELECT seq FROM checkins WHERE event_id = ? AND verdict = ? "
                           "ORDER BY seq DESC LIMIT 1",
    [Q_CHECKIN_MARK_UPSTREAM] = "UPDATE checkins SET upstream_done = 1 WHERE seq = ?",
    [Q_CHECKIN_COUNTS] = "SELECT list_id, gate, verdict, direction, COUNT(*), SUM(conflict) "
                         "FROM checkins WHERE event_id = ? "
                         "GROUP BY list_id, gate, verdict, direction ORDER BY list_id, gate",
    /* tickets whose last non-conflicting accepted scan (by at, seq) is an entry */
    [Q_CHECKIN_INSIDE] =
        "SELECT c.list_id, COUNT(*) FROM checkins c WHERE c.event_id = ? AND c.verdict = ? "
        "AND c.direction = ? AND c.conflict = 0 AND c.ticket_id <> 0 AND NOT EXISTS ("
        "SELECT 1 FROM checkins d WHERE d.event_id = c.event_id AND d.ticket_id = c.ticket_id "
        "AND d.list_id = c.list_id AND d.verdict = ? AND d.conflict = 0 "
        "AND (d.scanned_at > c.scanned_at OR (d.scanned_at = c.scanned_at AND d.seq > c.seq))) "
        "GROUP BY c.list_id ORDER BY c.list_id",

    [Q_MIRROR_PUT] = "INSERT INTO mirror (event_id, header, revocations_cursor, checkins_cursor, "
                     "updated) VALUES (?, ?, 0, 0, ?) ON CONFLICT (event_id) DO UPDATE SET "
                     "header = excluded.header, updated = excluded.updated",
    [Q_MIRROR_GET] = "SELECT event_id, header, revocations_cursor, checkins_cursor, updated "
                     "FROM mirror WHERE event_id = ?",
    [Q_MIRROR_LOCK] = "SELECT 1 FROM mirror WHERE event_id = ?",
    [Q_MIRROR_CURSORS] = "UPDATE mirror SET "
                         "revocations_cursor = CASE WHEN ? < 0 THEN revocations_cursor ELSE ? END, "
                         "checkins_cursor = CASE WHEN ? < 0 THEN checkins_cursor ELSE ? END, "
                         "updated = ? WHERE event_id = ?",
    [Q_MIRROR_REV_INSERT] = "INSERT INTO mirror_revocations (event_id, seq, ticket_id, "
                            "revoked_at) VALUES (?, ?, ?, ?)",
    [Q_MIRROR_REVS] = "SELECT seq, ticket_id, revoked_at FROM mirror_revocations "
                      "WHERE event_id = ? AND seq > ? ORDER BY seq LIMIT ?",

    [Q_SETTING_PUT] = "INSERT INTO settings (name, value) VALUES (?, ?) "
                      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    [Q_SETTING_GET] = "SELECT value FROM settings WHERE name = ?",
};

/* ---- connections and the pool ---- */

typedef struct conn {
    adm_sql_t base; /* first: store-sql.c sees this connection as an adm_sql_t */
    sqlite3 *db;
    sqlite3_stmt *q[N_Q]; /* prepared on first use, finalized at close */
    sqlite3_stmt *cur;    /* the statement use() selected */
    int np;               /* placeholders bound since use() */
    int bind_rc;          /* first failed bind since use() */
    bool bad;             /* a stored value did not fit its output field */
} conn_t;

typedef struct be {
    adm_sql_store_t base;     /* first: store-sql.c runs its bodies through base.run */
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

/* ---- prepared statements ----
 * use() selects statement q of c; the p*() calls bind its placeholders in
 * order (?1, ?2, ...); exec() checks the bindings; step() runs it a row at
 * a time; done() resets it and drops its borrowed arguments. */

static adm_err_t use(adm_sql_t *sc, int q)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = ADM_OK;

    if (c->q[q] == NULL)
        result = map_rc(
            sqlite3_prepare_v3(c->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &c->q[q], NULL));
    c->cur = result == ADM_OK ? c->q[q] : NULL;
    c->np = 0;
    c->bind_rc = SQLITE_OK;
    if (c->cur != NULL) { /* bindings left by a body that failed before done() */
        sqlite3_reset(c->cur);
        sqlite3_clear_bindings(c->cur);
    }
    return result;
}

static void bound(conn_t *c, int rc)
{
    if (rc != SQLITE_OK && c->bind_rc == SQLITE_OK)
        c->bind_rc = rc;
}

static void pi(adm_sql_t *sc, int64_t v)
{
    conn_t *c = (conn_t *)sc;

    c->np++;
    if (c->cur != NULL)
        bound(c, sqlite3_bind_int64(c->cur, c->np, v));
}

/* binds text v (borrowed until done()); NULL binds SQL NULL */
static void pt(adm_sql_t *sc, const char *v)
{
    conn_t *c = (conn_t *)sc;

    c->np++;
    if (c->cur != NULL)
        bound(c, v ? sqlite3_bind_text(c->cur, c->np, v, -1, SQLITE_STATIC)
                   : sqlite3_bind_null(c->cur, c->np));
}

/* binds bytes (borrowed until done()) */
static void pb(adm_sql_t *sc, const void *p, size_t n)
{
    conn_t *c = (conn_t *)sc;

    c->np++;
    if (c->cur != NULL)
        bound(c, n > (size_t)INT32_MAX ? SQLITE_TOOBIG
                 : n == 0              ? sqlite3_bind_zeroblob(c->cur, c->np, 0)
                          : sqlite3_bind_blob(c->cur, c->np, p, (int)n, SQLITE_STATIC));
}

/* The statement runs at the first step(); this checks what was bound. */
static adm_err_t exec(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = ADM_OK;

    if (c->cur == NULL || c->np != sqlite3_bind_parameter_count(c->cur))
        result = ADM_ERR_STORE; /* a statement bound with the wrong number of values */
    else if (c->bind_rc != SQLITE_OK)
        result = map_rc(c->bind_rc);
    c->bind_rc = SQLITE_OK;
    return result;
}

/* Steps the current statement once: *row tells whether a row is ready to read. */
static adm_err_t step(adm_sql_t *sc, bool *row)
{
    conn_t *c = (conn_t *)sc;
    int rc = sqlite3_step(c->cur);

    *row = rc == SQLITE_ROW;
    return map_rc(rc == SQLITE_ROW || rc == SQLITE_DONE ? rc : sqlite3_extended_errcode(c->db));
}

/* Resets the current statement and drops its borrowed arguments. */
static void done(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;

    if (c->cur != NULL) {
        sqlite3_reset(c->cur);
        sqlite3_clear_bindings(c->cur);
    }
}

/* Runs statement q, which takes no arguments. */
static adm_err_t run_q(conn_t *c, int q)
{
    adm_err_t result = use(&c->base, q);

    if (result == ADM_OK)
        result = adm_sql_run(&c->base, NULL);
    return result;
}

/* ---- the driver store-sql.c runs its bodies through ---- */

static int64_t col_int(adm_sql_t *c, unsigned i)
{
    return sqlite3_column_int64(((conn_t *)c)->cur, (int)i);
}

/* Copies text column i into buf (cap bytes with the NUL); flags c->bad when it does not fit. */
static void col_text(adm_sql_t *sc, unsigned i, char *buf, size_t cap)
{
    conn_t *c = (conn_t *)sc;
    const unsigned char *t = sqlite3_column_text(c->cur, (int)i);
    size_t n = (size_t)sqlite3_column_bytes(c->cur, (int)i);

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

static const void *col_blob(adm_sql_t *sc, unsigned i, size_t *len)
{
    conn_t *c = (conn_t *)sc;
    const void *p = sqlite3_column_blob(c->cur, (int)i);

    *len = p != NULL ? (size_t)sqlite3_column_bytes(c->cur, (int)i) : 0;
    return p != NULL ? p : "";
}

static int changes(adm_sql_t *c)
{
    return sqlite3_changes(((conn_t *)c)->db);
}

static int64_t insert_id(adm_sql_t *c)
{
    return sqlite3_last_insert_rowid(((conn_t *)c)->db);
}

/* ADM_ERR_STORE when a row reader found a value that does not fit, and clears the flag. */
static adm_err_t take_bad(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = c->bad ? ADM_ERR_STORE : ADM_OK;

    c->bad = false;
    return result;
}

static const adm_sql_driver_t driver = {
    .use = use,
    .bind_int = pi,
    .bind_text = pt,
    .bind_blob = pb,
    .exec = exec,
    .step = step,
    .col_int = col_int,
    .col_text = col_text,
    .col_blob = col_blob,
    .done = done,
    .changes = changes,
    .insert_id = insert_id,
    .take_bad = take_bad,
};

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

/* kinds (store-sql.h): ADM_SQL_READ is BEGIN (deferred), a consistent
 * snapshot for several SELECTs; ADM_SQL_WRITE is BEGIN IMMEDIATE, its commit
 * fsynced at the next checkpoint; ADM_SQL_DURABLE is BEGIN IMMEDIATE, its
 * commit fsynced before returning (money, keys, revocations). There is one
 * database, so the read hint changes nothing. This is base.run. */
static adm_err_t run_tx(adm_sql_store_t *st, adm_sql_tx_t kind, adm_read_t rd, adm_sql_body_fn fn,
                        void *arg)
{
    be_t *be = (be_t *)st;
    adm_err_t result = ADM_ERR_CONFLICT, r;
    conn_t *c;

    /* In-process writers queue on a mutex rather than in SQLite's busy
     * handler, which sleeps; other processes still meet busy_timeout. */
    if (kind != ADM_SQL_READ)
        pthread_mutex_lock(&be->write_mu);
    c = acquire(be);
    if (kind == ADM_SQL_DURABLE && (result = run_q(c, Q_SYNC_FULL)) != ADM_OK)
        goto out;
    result = ADM_ERR_CONFLICT;
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS && result == ADM_ERR_CONFLICT;
         attempt++) {
        bool keep = false;

        be->hooks.note_query(be->hooks.ctx, ADM_STORE_ROLE_PRIMARY); /* one database */
        result = run_q(c, kind == ADM_SQL_READ ? Q_BEGIN : Q_BEGIN_WRITE);
        if (result != ADM_OK)
            continue;
        result = fn(&c->base, arg, &keep);
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
    if (kind == ADM_SQL_DURABLE && (r = run_q(c, Q_SYNC_NORMAL)) != ADM_OK && result == ADM_OK)
        result = r;
out:
    release(be, c);
    if (kind != ADM_SQL_READ)
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
    c->base.drv = &driver;
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
     * checkpoints, except ADM_SQL_DURABLE ones (see docs/store.md "Durability"). */
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
    be->base.run = run_tx;
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

/* ---- lifecycle ops only this backend has ---- */

static adm_err_t sq_write_position(void *be, char *out, size_t cap)
{
    out[0] = '\0'; /* one database: every read already sees every write */
    return ADM_OK;
}

const adm_store_ops_t adm_store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .write_position = sq_write_position,
    ADM_SQL_STORE_OPS,
};
