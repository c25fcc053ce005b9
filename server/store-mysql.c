/* store-mysql.c: the MariaDB store backend: a primary and read replicas, each
 * behind its own pool of Connector/C connections, schema by numbered
 * migrations, reads routed by the adm_read_t hint (docs/store.md "MariaDB").
 * It runs the shared operations of store-sql.c through the driver below and
 * keeps only what differs: pools, routing, transactions, migrations, SQL text.
 * Arguments arrive checked by store.c; not for SQLite (store-sqlite.c).
 *
 * Every statement that carries data is a prepared statement (mysql_stmt_*);
 * constant text without inputs (transaction control, DDL, health probes)
 * goes through mysql_real_query. Sessions run READ COMMITTED: every decision
 * about seats is a conditional UPDATE whose affected-row count is checked,
 * and the few check-then-write steps lock their row with SELECT ... FOR
 * UPDATE first, so the answer never depends on a snapshot. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <sodium.h>

#include "server/store-sql.h"

#define POOL_DEFAULT 8
#define LAG_DEFAULT_S 5
#define CONNECT_TIMEOUT_S 3 /* per connection attempt */
#define READ_TIMEOUT_S 60   /* a server that stops answering mid-query */
#define REPLICA_READ_TIMEOUT_S 5 /* replicas only serve short catalog reads: a hung
                                  * one fails fast and the read reruns on the primary */
#define WRITE_TIMEOUT_S 30
#define LOCK_WAIT_S 10     /* innodb_lock_wait_timeout of our sessions */
#define CHECKOUT_WAIT_S 10 /* waiting for a free pooled connection */
#define MONITOR_PERIOD_MS 1000
#define MONITOR_TIMEOUT_S 2 /* connect/read timeout of the health checks */
#define GTID_WAIT "0.2"     /* seconds a read-after waits for a replica */
#define MIGRATE_LOCK_S 30
#define MAX_PARAMS ADM_SQL_MAX_PARAMS /* placeholders in the largest statement */
#define MAX_COLS 24   /* columns in the widest result (at most 32: a bit mask) */
#define COL_MAX ADM_STORE_MIRROR_HEADER_MAX /* a fetched value longer than this is corrupt */
#define DSN_PART_MAX 256

#define STR_(x) #x
#define STR(x) STR_(x)

_Static_assert(ADM_STORE_LIKE_ESCAPE == '!', "the search statement spells the escape '!'");
_Static_assert(ADM_STORE_NAME_MAX == 100 && ADM_STORE_CITY_MAX == 100 &&
                   ADM_STORE_ADDRESS_MAX == 300 && ADM_STORE_TITLE_MAX == 200 &&
                   ADM_STORE_CATEGORY_MAX == 50 && ADM_STORE_DESCRIPTION_MAX == 4000 &&
                   ADM_STORE_EMAIL_MAX == 254 && ADM_STORE_PWHASH_MAX == 255 &&
                   ADM_STORE_PROVIDER_MAX == 32 && ADM_STORE_PROVIDER_REF_MAX == 128 &&
                   ADM_STORE_IDEM_SCOPE_MAX == 64 && ADM_STORE_IDEM_KEY_MAX == 128 &&
                   ADM_STORE_IDEM_FINGERPRINT_MAX == 64 && ADM_TOKEN_TEXT_MAX <= 1000 &&
                   ADM_STORE_IDEM_BODY_MAX < (1 << 24) && ADM_KEY_SEED_BYTES == 32,
               "the column sizes in the migrations below spell these bounds");
_Static_assert(ADM_STORE_GATE_MAX == 64 && ADM_STORE_DEVICE_ID_LEN == 19 &&
                   ADM_STORE_NONCE_LEN == 32 && ADM_STORE_TEXT_HASH_LEN == 64 &&
                   ADM_STORE_REASON_MAX == 32 && ADM_STORE_SECRET_HASH_BYTES == 32 &&
                   ADM_STORE_SETTING_KEY_MAX == 64 && ADM_STORE_SETTING_VALUE_MAX == 1024,
               "the sync tables of migration 2 spell these bounds");
_Static_assert(MAX_COLS <= 32 && COL_MAX >= ADM_STORE_IDEM_BODY_MAX, "column buffers");

/* ---- schema ------------------------------------------------------------
 * Numbered migrations, applied in order at open, each once, under a named
 * server lock (docs/store.md "Migrations"). MariaDB commits DDL implicitly,
 * so a migration is a list of statements that are each safe to run again
 * (IF NOT EXISTS): a process that dies half-way leaves a database the next
 * open finishes. Never edit a released entry: append a new one.
 *
 * Byte bounds from store.h become VARCHAR(n) characters, which hold at least
 * n bytes. Machine strings are ascii_bin; text is utf8mb4_bin, except the
 * searched columns (city, category, title, description), which compare case-
 * but not accent-insensitively (utf8mb4_uca1400_nopad_as_ci). */

#define TABLE_OPTS " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
#define CI " COLLATE utf8mb4_uca1400_nopad_as_ci"
#define ASCII " CHARACTER SET ascii COLLATE ascii_bin"
#define NOPAD " COLLATE utf8mb4_nopad_bin" /* "A" and "A " differ, as on SQLite */

static const char *const migration_1[] = {
    "CREATE TABLE IF NOT EXISTS venues ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  name VARCHAR(100) NOT NULL,"
    "  city VARCHAR(100) NOT NULL,"
    "  address VARCHAR(300) NOT NULL,"
    "  capacity BIGINT NOT NULL CHECK (capacity >= 0),"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL)" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS events ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  venue_id BIGINT NOT NULL,"
    "  title VARCHAR(200)" CI " NOT NULL,"
    "  city VARCHAR(100)" CI " NOT NULL,"
    "  category VARCHAR(50)" CI " NOT NULL,"
    "  description TEXT" CI " NOT NULL,"
    "  starts_at BIGINT NOT NULL,"
    "  ends_at BIGINT NOT NULL,"
    "  status TINYINT NOT NULL CHECK (status BETWEEN 0 AND 3),"
    "  revocation_seq BIGINT NOT NULL DEFAULT 0,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL,"
    "  KEY events_by_start (starts_at, id),"
    "  KEY events_by_city (city, starts_at, id),"
    "  CONSTRAINT events_venue FOREIGN KEY (venue_id) REFERENCES venues (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS ticket_types ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  name VARCHAR(100) NOT NULL,"
    "  price BIGINT NOT NULL CHECK (price >= 0),"
    "  currency CHAR(3)" ASCII " NOT NULL,"
    "  capacity BIGINT NOT NULL,"
    "  sold BIGINT NOT NULL DEFAULT 0,"
    "  held BIGINT NOT NULL DEFAULT 0,"
    "  per_order_max INT NOT NULL,"
    "  per_customer_max INT NOT NULL,"
    "  sale_starts BIGINT NOT NULL,"
    "  sale_ends BIGINT NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL,"
    "  KEY ticket_types_by_event (event_id, id),"
    "  CONSTRAINT ticket_types_counters CHECK (sold >= 0 AND held >= 0 AND "
    "    sold + held <= capacity),"
    "  CONSTRAINT ticket_types_event FOREIGN KEY (event_id) REFERENCES events (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS users ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  email VARCHAR(254) NOT NULL,"
    "  password_hash VARCHAR(255)" ASCII " NOT NULL,"
    "  display_name VARCHAR(100) NOT NULL,"
    "  role TINYINT NOT NULL CHECK (role BETWEEN 0 AND 2),"
    "  created BIGINT NOT NULL,"
    "  UNIQUE KEY users_by_email (email))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  token_hash CHAR(64)" ASCII " NOT NULL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  KEY sessions_by_expiry (expires_at),"
    "  KEY sessions_by_user (user_id),"
    "  CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS orders ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  code CHAR(9)" ASCII " NOT NULL,"
    "  user_id BIGINT NOT NULL,"
    "  state TINYINT NOT NULL CHECK (state BETWEEN 0 AND 4),"
    "  total BIGINT NOT NULL,"
    "  currency CHAR(3)" ASCII " NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  paid_at BIGINT NOT NULL DEFAULT 0,"
    "  provider VARCHAR(32)" ASCII " NULL,"
    "  provider_ref VARCHAR(128)" ASCII " NULL,"
    "  UNIQUE KEY orders_by_code (code),"
    "  UNIQUE KEY orders_by_provider_ref (provider, provider_ref),"
    "  KEY orders_by_user (user_id, id),"
    "  KEY orders_by_expiry (state, expires_at),"
    "  CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS order_items ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  order_id BIGINT NOT NULL,"
    "  type_id BIGINT NOT NULL,"
    "  event_id BIGINT NOT NULL,"
    "  quantity INT NOT NULL CHECK (quantity > 0),"
    "  unit_price BIGINT NOT NULL,"
    "  KEY order_items_by_order (order_id, id),"
    "  KEY order_items_by_type (type_id),"
    "  CONSTRAINT order_items_order FOREIGN KEY (order_id) REFERENCES orders (id),"
    "  CONSTRAINT order_items_type FOREIGN KEY (type_id) REFERENCES ticket_types (id),"
    "  CONSTRAINT order_items_event FOREIGN KEY (event_id) REFERENCES events (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS holds ("
    "  id CHAR(32)" ASCII " NOT NULL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL,"
    "  type_id BIGINT NOT NULL,"
    "  event_id BIGINT NOT NULL,"
    "  quantity INT NOT NULL CHECK (quantity > 0),"
    "  state TINYINT NOT NULL CHECK (state BETWEEN 0 AND 3),"
    "  created BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  order_id BIGINT NULL,"
    "  KEY holds_by_expiry (state, expires_at),"
    "  KEY holds_by_type (type_id, state, expires_at),"
    "  KEY holds_by_user (user_id, type_id, state),"
    "  CONSTRAINT holds_user FOREIGN KEY (user_id) REFERENCES users (id),"
    "  CONSTRAINT holds_type FOREIGN KEY (type_id) REFERENCES ticket_types (id),"
    "  CONSTRAINT holds_event FOREIGN KEY (event_id) REFERENCES events (id),"
    "  CONSTRAINT holds_order FOREIGN KEY (order_id) REFERENCES orders (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS tickets ("
    "  id BIGINT NOT NULL PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  type_id BIGINT NOT NULL,"
    "  order_id BIGINT NOT NULL,"
    "  user_id BIGINT NOT NULL,"
    "  status TINYINT NOT NULL CHECK (status BETWEEN 0 AND 1),"
    "  created BIGINT NOT NULL,"
    "  revoked_at BIGINT NOT NULL DEFAULT 0,"
    "  key_id BIGINT NOT NULL DEFAULT 0,"
    "  token VARCHAR(1000)" ASCII " NULL,"
    "  KEY tickets_by_order (order_id, id),"
    "  KEY tickets_unsigned (key_id, status, created, id),"
    "  CONSTRAINT tickets_event FOREIGN KEY (event_id) REFERENCES events (id),"
    "  CONSTRAINT tickets_type FOREIGN KEY (type_id) REFERENCES ticket_types (id),"
    "  CONSTRAINT tickets_order FOREIGN KEY (order_id) REFERENCES orders (id),"
    "  CONSTRAINT tickets_user FOREIGN KEY (user_id) REFERENCES users (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS revocations ("
    "  event_id BIGINT NOT NULL,"
    "  seq BIGINT NOT NULL,"
    "  ticket_id BIGINT NOT NULL,"
    "  revoked_at BIGINT NOT NULL,"
    "  PRIMARY KEY (event_id, seq),"
    "  UNIQUE KEY revocations_by_ticket (ticket_id),"
    "  CONSTRAINT revocations_event FOREIGN KEY (event_id) REFERENCES events (id),"
    "  CONSTRAINT revocations_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS event_keys ("
    "  kid BIGINT NOT NULL PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  seed VARBINARY(32) NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  retired_at BIGINT NOT NULL DEFAULT 0,"
    "  KEY event_keys_by_event (event_id, created, kid),"
    "  CONSTRAINT event_keys_event FOREIGN KEY (event_id) REFERENCES events (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS idempotency ("
    "  scope VARCHAR(64)" ASCII " NOT NULL,"
    "  idem_key VARCHAR(128)" ASCII " NOT NULL,"
    "  fingerprint VARCHAR(64)" ASCII " NOT NULL,"
    "  status INT NOT NULL,"
    "  body MEDIUMBLOB NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  PRIMARY KEY (scope, idem_key),"
    "  KEY idempotency_by_created (created))" TABLE_OPTS,
    NULL,
};

/* 2: sync (docs/sync.md): check-in lists, enrollments, devices, scans, the
 * edge's mirror of an upstream event, settings. Event ids without foreign
 * keys: an edge keeps these rows for events it has no catalog rows of.
 * Gate names compare without padding (NOPAD), like every SQLite string. */
static const char *const migration_2[] = {
    "CREATE TABLE IF NOT EXISTS sync_locks ("
    "  event_id BIGINT NOT NULL PRIMARY KEY,"
    "  writes BIGINT NOT NULL)" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS checkin_lists ("
    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  name VARCHAR(100) NOT NULL,"
    "  reentry VARCHAR(16)" ASCII " NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  KEY checkin_lists_by_event (event_id, id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS checkin_list_types ("
    "  list_id BIGINT NOT NULL,"
    "  pos INT NOT NULL,"
    "  type_id BIGINT NOT NULL,"
    "  PRIMARY KEY (list_id, pos),"
    "  CONSTRAINT checkin_list_types_list FOREIGN KEY (list_id) "
    "    REFERENCES checkin_lists (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS checkin_list_gates ("
    "  list_id BIGINT NOT NULL,"
    "  pos INT NOT NULL,"
    "  gate VARCHAR(64)" NOPAD " NOT NULL,"
    "  PRIMARY KEY (list_id, pos),"
    "  CONSTRAINT checkin_list_gates_list FOREIGN KEY (list_id) "
    "    REFERENCES checkin_lists (id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS enrollments ("
    "  token_hash CHAR(64)" ASCII " NOT NULL PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  gate VARCHAR(64)" NOPAD " NOT NULL,"
    "  kind TINYINT NOT NULL CHECK (kind BETWEEN 0 AND 1),"
    "  created BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT NOT NULL DEFAULT 0,"
    "  device_id VARCHAR(19)" ASCII " NULL)" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS devices ("
    "  id VARCHAR(19)" ASCII " NOT NULL PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  name VARCHAR(100) NOT NULL,"
    "  gate VARCHAR(64)" NOPAD " NOT NULL,"
    "  kind TINYINT NOT NULL CHECK (kind BETWEEN 0 AND 1),"
    "  secret_hash VARBINARY(32) NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  last_seen BIGINT NOT NULL DEFAULT 0,"
    "  revoked_at BIGINT NOT NULL DEFAULT 0,"
    "  KEY devices_by_event (event_id, created, id))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS checkins ("
    "  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  event_id BIGINT NOT NULL,"
    "  nonce CHAR(32)" ASCII " NOT NULL,"
    "  device VARCHAR(19)" ASCII " NOT NULL,"
    "  uploader VARCHAR(19)" ASCII " NOT NULL,"
    "  ticket_id BIGINT NOT NULL,"
    "  list_id BIGINT NOT NULL,"
    "  scanned_at BIGINT NOT NULL,"
    "  gate VARCHAR(64)" NOPAD " NOT NULL,"
    "  direction VARCHAR(16)" ASCII " NOT NULL,"
    "  verdict VARCHAR(32)" ASCII " NOT NULL,"
    "  reason VARCHAR(32)" ASCII " NOT NULL,"
    "  attention TINYINT NOT NULL,"
    "  text_hash VARCHAR(64)" ASCII " NOT NULL,"
    "  conflict TINYINT NOT NULL DEFAULT 0,"
    "  upstream_done TINYINT NOT NULL,"
    "  received_at BIGINT NOT NULL,"
    "  UNIQUE KEY checkins_by_nonce (nonce),"
    "  KEY checkins_by_event (event_id, seq),"
    "  KEY checkins_by_ticket (event_id, ticket_id, list_id, scanned_at),"
    "  KEY checkins_accepted (event_id, verdict, seq),"
    "  KEY checkins_pending (event_id, upstream_done, seq))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS mirror ("
    "  event_id BIGINT NOT NULL PRIMARY KEY,"
    "  header LONGTEXT NOT NULL,"
    "  revocations_cursor BIGINT NOT NULL,"
    "  checkins_cursor BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL)" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS mirror_revocations ("
    "  event_id BIGINT NOT NULL,"
    "  seq BIGINT NOT NULL,"
    "  ticket_id BIGINT NOT NULL,"
    "  revoked_at BIGINT NOT NULL,"
    "  PRIMARY KEY (event_id, seq))" TABLE_OPTS,
    "CREATE TABLE IF NOT EXISTS settings ("
    "  name VARCHAR(64)" ASCII " NOT NULL PRIMARY KEY,"
    "  value VARCHAR(1024) NOT NULL)" TABLE_OPTS,
    NULL,
};

/* 3: ticket type attributes carried by its tickets: flags (1 special,
 * 2 re-entry) and a seat/zone label */
static const char *const migration_3[] = {
    "ALTER TABLE ticket_types ADD COLUMN IF NOT EXISTS flags INT NOT NULL DEFAULT 0",
    "ALTER TABLE ticket_types ADD COLUMN IF NOT EXISTS zone VARCHAR(32) NOT NULL DEFAULT ''",
    NULL,
};

static const char *const *const migrations[] = {
    migration_1,
    migration_2,
    migration_3,
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ----------------------------------------------------------
 * Every data statement the backend runs, prepared once per connection on
 * first use. Placeholders are positional: the ops bind in the order the ?s
 * appear. Column lists are shared by the row readers below. */


/* statements only this backend runs, after the shared ones */
enum {
    Q_MIGRATION_INSERT = Q_SHARED_N,
    Q_GTID_WAIT,
    Q_BINLOG_POS,
    Q_MIGRATE_LOCK,
    Q_MIGRATE_UNLOCK,
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
    [Q_PING] = "SELECT 1",
    [Q_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
    [Q_MIGRATION_INSERT] = "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
    [Q_GTID_WAIT] = "SELECT MASTER_GTID_WAIT(?, " GTID_WAIT ")",
    [Q_BINLOG_POS] = "SELECT @@gtid_binlog_pos",
    /* named per database, so two admitd opening one new database migrate it once */
    [Q_MIGRATE_LOCK] =
        "SELECT GET_LOCK(CONCAT('admit_migrate.', DATABASE()), " STR(MIGRATE_LOCK_S) ")",
    [Q_MIGRATE_UNLOCK] = "SELECT RELEASE_LOCK(CONCAT('admit_migrate.', DATABASE()))",

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
    /* serialises the count-then-insert of ticket types and keys per event */
    [Q_EVENT_LOCK] = "SELECT status FROM events WHERE id = ? FOR UPDATE",
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
    /* one customer's holds queue here, so the per-customer limit holds */
    [Q_USER_LOCK] = "SELECT 1 FROM users WHERE id = ? FOR UPDATE",
    [Q_CUSTOMER_SEATS] =
        "SELECT CAST((SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE user_id = ? "
        "AND type_id = ? AND state = 0 AND expires_at > ?) + "
        "(SELECT COALESCE(SUM(i.quantity), 0) FROM orders o JOIN order_items i "
        "ON i.order_id = o.id WHERE o.user_id = ? AND i.type_id = ? "
        "AND (o.state = 1 OR (o.state = 0 AND o.expires_at > ?))) AS SIGNED)",
    [Q_HOLD_INSERT] = "INSERT INTO holds (id, user_id, type_id, event_id, quantity, state, "
                      "created, expires_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
    [Q_HOLD_GET] = "SELECT " ADM_SQL_HOLD_COLS " FROM holds WHERE id = ?",
    [Q_HOLD_LOCK] = "SELECT " ADM_SQL_HOLD_COLS " FROM holds WHERE id = ? FOR UPDATE",
    [Q_HOLD_SET_STATE] = "UPDATE holds SET state = ? WHERE id = ? AND state = 0",
    [Q_HOLD_EXPIRED_OF_TYPE] = "SELECT id, type_id, quantity FROM holds WHERE type_id = ? "
                               "AND state = 0 AND expires_at <= ? ORDER BY expires_at, id "
                               "LIMIT ?",
    [Q_HOLD_EXPIRED] = "SELECT id, type_id, quantity FROM holds "
                       "WHERE state = 0 AND expires_at <= ? ORDER BY expires_at, id LIMIT ?",
    [Q_HOLD_CONVERT] = "UPDATE holds SET state = 3, order_id = ? WHERE id = ? AND state = 0",

    [Q_ORDER_INSERT] = "INSERT INTO orders (code, user_id, state, total, currency, created, "
                       "updated, expires_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?)",
    [Q_ITEM_INSERT] = "INSERT INTO order_items (order_id, type_id, event_id, quantity, "
                      "unit_price) VALUES (?, ?, ?, ?, ?)",
    [Q_ORDER_GET] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE id = ?",
    [Q_ORDER_LOCK] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE id = ? FOR UPDATE",
    [Q_ORDER_GET_CODE] = "SELECT " ADM_SQL_ORDER_COLS " FROM orders WHERE code = ?",
    [Q_ORDER_ITEMS] = "SELECT id, type_id, event_id, quantity, unit_price FROM order_items "
                      "WHERE order_id = ? ORDER BY id",
    [Q_ORDER_FINISH] = "UPDATE orders SET state = ?, updated = ? WHERE id = ? AND state = 0",
    [Q_ORDER_EXPIRE] = "UPDATE orders SET state = 4, updated = ? "
                       "WHERE id = ? AND state = 0 AND expires_at <= ?",
    [Q_ORDER_EXTEND] = "UPDATE orders SET expires_at = ?, updated = ? "
                       "WHERE id = ? AND state = 0 AND expires_at < ?",
    [Q_ORDER_EXPIRED] = "SELECT id FROM orders WHERE state = 0 AND expires_at <= ? "
                        "ORDER BY expires_at, id LIMIT ?",
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
    [Q_TICKET_LOCK] = "SELECT " ADM_SQL_TICKET_COLS " FROM tickets WHERE id = ? FOR UPDATE",
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
    [Q_SESSION_REAP] = "DELETE FROM sessions WHERE expires_at <= ? LIMIT ?",

    [Q_IDEM_GET] = "SELECT status, fingerprint, body, created FROM idempotency "
                   "WHERE scope = ? AND idem_key = ?",
    /* conditional, so a record a concurrent put just wrote is never taken for stale */
    [Q_IDEM_DELETE_STALE] =
        "DELETE FROM idempotency WHERE scope = ? AND idem_key = ? AND created <= ?",
    [Q_IDEM_INSERT] = "INSERT INTO idempotency (scope, idem_key, fingerprint, status, body, "
                      "created) VALUES (?, ?, ?, ?, ?, ?)",
    [Q_IDEM_COMPLETE] = "UPDATE idempotency SET status = ?, body = ? "
                        "WHERE scope = ? AND idem_key = ? AND status = 0",
    [Q_IDEM_RELEASE] = "DELETE FROM idempotency WHERE scope = ? AND idem_key = ? AND status = 0",
    [Q_IDEM_REAP] = "DELETE FROM idempotency WHERE created <= ? LIMIT ?",

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
                "CAST(COALESCE((SELECT SUM(i.quantity * i.unit_price) FROM order_items i "
                "JOIN orders o ON o.id = i.order_id WHERE i.type_id = t.id AND o.state = 1), 0) "
                "AS SIGNED) FROM ticket_types t WHERE t.event_id = ? ORDER BY t.id",

    /* holds the event's sync rows in line until commit (store-sql.c sync_lock) */
    [Q_SYNC_LOCK] = "INSERT INTO sync_locks (event_id, writes) VALUES (?, 1) "
                    "ON DUPLICATE KEY UPDATE writes = writes + 1",
    [Q_LIST_COUNT] = "SELECT COUNT(*) FROM checkin_lists WHERE event_id = ?",
    [Q_LIST_EVENT] = "SELECT event_id FROM checkin_lists WHERE id = ? FOR UPDATE",
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
    /* two devices trading one token queue here; the second sees it used */
    [Q_ENROLLMENT_LOCK] = "SELECT event_id, gate, kind, expires_at, used_at FROM enrollments "
                          "WHERE token_hash = ? FOR UPDATE",
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
    [Q_CHECKIN_COUNTS] = "SELECT list_id, gate, verdict, direction, COUNT(*), "
                         "CAST(SUM(conflict) AS SIGNED) FROM checkins WHERE event_id = ? "
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
                     "updated) VALUES (?, ?, 0, 0, ?) ON DUPLICATE KEY UPDATE "
                     "header = VALUES(header), updated = VALUES(updated)",
    [Q_MIRROR_GET] = "SELECT event_id, header, revocations_cursor, checkins_cursor, updated "
                     "FROM mirror WHERE event_id = ?",
    [Q_MIRROR_LOCK] = "SELECT 1 FROM mirror WHERE event_id = ? FOR UPDATE",
    [Q_MIRROR_CURSORS] = "UPDATE mirror SET "
                         "revocations_cursor = CASE WHEN ? < 0 THEN revocations_cursor ELSE ? END, "
                         "checkins_cursor = CASE WHEN ? < 0 THEN checkins_cursor ELSE ? END, "
                         "updated = ? WHERE event_id = ?",
    [Q_MIRROR_REV_INSERT] = "INSERT INTO mirror_revocations (event_id, seq, ticket_id, "
                            "revoked_at) VALUES (?, ?, ?, ?)",
    [Q_MIRROR_REVS] = "SELECT seq, ticket_id, revoked_at FROM mirror_revocations "
                      "WHERE event_id = ? AND seq > ? ORDER BY seq LIMIT ?",

    [Q_SETTING_PUT] = "INSERT INTO settings (name, value) VALUES (?, ?) "
                      "ON DUPLICATE KEY UPDATE value = VALUES(value)",
    [Q_SETTING_GET] = "SELECT value FROM settings WHERE name = ?",
};

/* ---- where a server lives ---- */

typedef struct dsn {
    char host[DSN_PART_MAX];
    char user[DSN_PART_MAX];
    char pass[DSN_PART_MAX];
    char db[DSN_PART_MAX];
    char socket[DSN_PART_MAX];
    unsigned port; /* 0 = the default (3306) */
} dsn_t;

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Copies s[0..n) into out (cap bytes with the NUL), %XX-decoded. */
static adm_err_t decode_part(const char *s, size_t n, char *out, size_t cap)
{
    adm_err_t result = ADM_ERR_CONFIG;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= n)
                goto out;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto out;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= cap)
            goto out;
        out[o++] = ch;
    }
    out[o] = '\0';
    result = ADM_OK;
out:
    return result;
}

/* Parses "mysql://user:pass@host:port/db", "mysql://user:pass@[::1]:port/db"
 * or the socket form "mysql://user:pass@localhost/db?socket=/run/mysqld.sock"
 * (the host may be empty then). user and pass are %-decoded. ADM_ERR_CONFIG. */
static adm_err_t parse_dsn(const char *url, dsn_t *d)
{
    adm_err_t result = ADM_ERR_CONFIG;
    const char *p, *auth_end, *at = NULL, *colon, *host, *host_end, *path, *query;
    char port[8];

    memset(d, 0, sizeof *d);
    if (url == NULL)
        goto out;
    if (strncmp(url, "mysql://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "mariadb://", 10) == 0)
        p = url + 10;
    else
        goto out;
    auth_end = p + strcspn(p, "/?#");
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    host = p;
    if (at != NULL) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (decode_part(p, (size_t)((colon ? colon : at) - p), d->user, sizeof d->user) != ADM_OK)
            goto out;
        if (colon != NULL &&
            decode_part(colon + 1, (size_t)(at - colon - 1), d->pass, sizeof d->pass) != ADM_OK)
            goto out;
        host = at + 1;
    }
    host_end = auth_end;
    if (*host == '[') { /* IPv6 literal */
        const char *close = memchr(host, ']', (size_t)(auth_end - host));
        if (close == NULL)
            goto out;
        if (decode_part(host + 1, (size_t)(close - host - 1), d->host, sizeof d->host) != ADM_OK)
            goto out;
        colon = close + 1 < auth_end && close[1] == ':' ? close + 1 : NULL;
        if (close + 1 != auth_end && colon == NULL)
            goto out;
    } else {
        colon = memchr(host, ':', (size_t)(auth_end - host));
        if (decode_part(host, (size_t)((colon ? colon : host_end) - host), d->host,
                        sizeof d->host) != ADM_OK)
            goto out;
    }
    if (colon != NULL) {
        size_t n = (size_t)(auth_end - colon - 1);
        char *end;
        unsigned long v;
        if (n == 0 || n >= sizeof port)
            goto out;
        memcpy(port, colon + 1, n);
        port[n] = '\0';
        errno = 0;
        v = strtoul(port, &end, 10);
        if (*end != '\0' || errno != 0 || v == 0 || v > 65535 || port[0] < '0' || port[0] > '9')
            goto out;
        d->port = (unsigned)v;
    }
    if (*auth_end != '/')
        goto out; /* the database is required */
    path = auth_end + 1;
    query = strchr(path, '?');
    if (decode_part(path, query ? (size_t)(query - path) : strcspn(path, "#"), d->db,
                    sizeof d->db) != ADM_OK ||
        d->db[0] == '\0' || strchr(d->db, '/') != NULL)
        goto out;
    if (query != NULL) {
        const char *v = query + 1;
        size_t n = strcspn(v, "#");
        if (strncmp(v, "socket=", 7) != 0 || memchr(v, '&', n) != NULL ||
            decode_part(v + 7, n - 7, d->socket, sizeof d->socket) != ADM_OK || d->socket[0] != '/')
            goto out;
    }
    if (d->host[0] == '\0') {
        if (d->socket[0] == '\0')
            goto out;
        snprintf(d->host, sizeof d->host, "localhost");
    }
    if (d->user[0] == '\0')
        goto out;
    result = ADM_OK;
out:
    return result;
}

/* ---- Connector/C setup ----
 * mysql_library_init is not thread-safe and mysql_library_end frees what it
 * set up, so both run under lib_mu, counted across open stores. Every thread
 * that uses a connection calls mysql_thread_init once; a key destructor runs
 * mysql_thread_end when the thread exits. */

static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t lib_users;
static pthread_key_t thread_key;
static bool thread_key_ok;

static void thread_end(void *p)
{
    (void)p;
    mysql_thread_end();
}

static adm_err_t lib_acquire(void)
{
    adm_err_t result = ADM_OK;

    pthread_mutex_lock(&lib_mu);
    if (!thread_key_ok) {
        if (pthread_key_create(&thread_key, thread_end) != 0) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        thread_key_ok = true;
    }
    if (lib_users == 0 && mysql_library_init(0, NULL, NULL) != 0) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    lib_users++;
out:
    pthread_mutex_unlock(&lib_mu);
    return result;
}

static void lib_release(void)
{
    pthread_mutex_lock(&lib_mu);
    if (lib_users > 0 && --lib_users == 0)
        mysql_library_end();
    pthread_mutex_unlock(&lib_mu);
}

static void thread_ready(void)
{
    if (pthread_getspecific(thread_key) == NULL && mysql_thread_init() == 0)
        (void)pthread_setspecific(thread_key, (void *)1);
}

/* ---- connections ---- */

struct server;

typedef struct conn {
    adm_sql_t base; /* first: store-sql.c sees this connection as an adm_sql_t */
    MYSQL *db; /* NULL while disconnected; connected on checkout */
    struct server *srv;
    MYSQL_STMT *q[N_Q];     /* prepared on first use, closed with the connection */
    uint8_t n_cols[N_Q];    /* result columns of each statement */
    uint32_t int_cols[N_Q]; /* bit i: column i is fetched as an integer */

    /* the statement being run: parameters, then the current row */
    MYSQL_STMT *cur;
    int cur_q;
    int np;
    bool too_many;
    MYSQL_BIND pb[MAX_PARAMS];
    long long pv[MAX_PARAMS];
    unsigned long plen[MAX_PARAMS];
    MYSQL_BIND rb[MAX_COLS];
    long long rv[MAX_COLS];
    char *rbuf[MAX_COLS];
    unsigned long rcap[MAX_COLS], rlen[MAX_COLS];
    my_bool rnull[MAX_COLS], rerr[MAX_COLS];

    unsigned err; /* last error number from the server or the client library */
    bool lost;    /* the connection broke: discard it at release */
    bool bad;     /* a stored value did not fit its output field */
} conn_t;

typedef struct server {
    struct be *be;
    const char *role; /* "primary" or "replica" */
    dsn_t dsn;
    pthread_mutex_t mu; /* guards idle[] */
    pthread_cond_t cv;  /* signalled when a connection returns to idle[] */
    bool sync_ok;
    conn_t *conns;
    size_t n_conns;
    conn_t **idle;
    size_t n_idle;

    /* replicas: health, written by the monitor (positions under be->health_mu) */
    atomic_bool in_rotation;              /* answering and within replica_max_lag_s */
    MYSQL *mon;                           /* the monitor's own connection */
    char applied[ADM_STORE_GTID_MAX + 1]; /* @@gtid_slave_pos at the last check */
    char target[ADM_STORE_GTID_MAX + 1];  /* a primary position it had not applied... */
    double target_at;                     /* ...seen at this monotonic time */
    double lag_s;
} server_t;

typedef struct be {
    adm_sql_store_t base; /* first: store-sql.c runs its bodies through base.run */
    server_t primary;
    server_t replicas[ADM_STORE_MAX_REPLICAS];
    size_t n_replicas;
    int max_lag_s;
    uint64_t id;    /* unique in the process, for last_write */
    atomic_uint rr; /* round-robin cursor over the replicas */
    bool lib_ok;

    pthread_mutex_t health_mu; /* guards the replicas' applied/target/lag */
    pthread_mutex_t mon_mu;    /* guards stopping */
    pthread_cond_t mon_cv;     /* wakes the monitor to stop */
    bool mon_sync_ok;
    bool stopping;
    pthread_t monitor;
    bool monitor_running;
    MYSQL *mon_primary;      /* the monitor's connection to the primary */
    adm_store_hooks_t hooks; /* from store.c: run_tx reports the role of each attempt */
} be_t;

/* The position of the last write this thread committed, per store (see
 * my_write_position). */
static _Thread_local struct {
    uint64_t store; /* be_t.id of the store written to */
    char gtid[ADM_STORE_GTID_MAX + 1];
} last_write;

static atomic_uint_fast64_t next_store_id = 1;

static bool err_is_lost(unsigned e)
{
    switch (e) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_UNKNOWN_STMT_HANDLER:
    case ER_NEED_REPREPARE:
    case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT: idle past wait_timeout */
        return true;
    default:
        return false;
    }
}

static adm_err_t map_err(unsigned e)
{
    adm_err_t result;

    switch (e) {
    case 0:
        result = ADM_OK;
        break;
    case ER_DUP_ENTRY:
    case 1586: /* ER_DUP_ENTRY_WITH_KEY_NAME */
        result = ADM_ERR_EXISTS;
        break;
    case 1216: /* ER_NO_REFERENCED_ROW */
    case ER_NO_REFERENCED_ROW_2:
        result = ADM_ERR_NOT_FOUND;
        break;
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
        result = ADM_ERR_CONFLICT; /* retried by run_tx, then STORE_UNAVAILABLE */
        break;
    case CR_OUT_OF_MEMORY:
    case 1037: /* ER_OUTOFMEMORY */
    case 1038: /* ER_OUT_OF_SORTMEMORY */
        result = ADM_ERR_NOMEM;
        break;
    case 1040:                         /* ER_CON_COUNT_ERROR */
    case 1044:                         /* ER_DBACCESS_DENIED_ERROR */
    case 1045:                         /* ER_ACCESS_DENIED_ERROR */
    case 1049:                         /* ER_BAD_DB_ERROR */
    case 1203:                         /* ER_TOO_MANY_USER_CONNECTIONS */
    case ER_OPTION_PREVENTS_STATEMENT: /* the primary went read-only (failover) */
        result = ADM_ERR_STORE_UNAVAILABLE;
        break;
    default:
        result = err_is_lost(e) ? ADM_ERR_STORE_UNAVAILABLE : ADM_ERR_STORE;
        break;
    }
    return result;
}

/* Records error e on c and maps it. */
static adm_err_t fail(conn_t *c, unsigned e)
{
    c->err = e;
    if (err_is_lost(e))
        c->lost = true;
    return e == 0 ? ADM_ERR_STORE : map_err(e);
}

static adm_err_t fail_db(conn_t *c)
{
    return fail(c, mysql_errno(c->db));
}

static adm_err_t fail_stmt(conn_t *c, MYSQL_STMT *s)
{
    unsigned e = mysql_stmt_errno(s);

    return fail(c, e ? e : mysql_errno(c->db));
}

/* Opens a configured MYSQL handle to d into *out. */
static adm_err_t dial(const dsn_t *d, unsigned timeout_s, unsigned read_timeout_s, MYSQL **out)
{
    static const char init[] =
        "SET SESSION tx_isolation = 'READ-COMMITTED', "
        "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION', "
        "innodb_lock_wait_timeout = " STR(
            LOCK_WAIT_S) ", "
                         "session_track_system_variables = 'last_gtid', time_zone = '+00:00'";
    adm_err_t result = ADM_ERR_STORE_UNAVAILABLE;
    unsigned write_timeout = WRITE_TIMEOUT_S;
    my_bool off = 0, on = 1;
    MYSQL *db;

    *out = NULL;
    db = mysql_init(NULL);
    if (db == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    /* no auto-reconnect: it would silently drop a transaction and the session
     * settings; run_tx reconnects where that is safe */
    if (mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s) != 0 ||
        mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &read_timeout_s) != 0 ||
        mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout) != 0 ||
        mysql_options(db, MYSQL_OPT_RECONNECT, &off) != 0 ||
        mysql_options(db, MYSQL_REPORT_DATA_TRUNCATION, &on) != 0 ||
        mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
        mysql_options(db, MYSQL_INIT_COMMAND, init) != 0) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    /* CLIENT_FOUND_ROWS: affected rows count the rows matched, as SQLite's
     * changes do, so an UPDATE that writes the same values still finds its row */
    if (mysql_real_connect(db, d->host, d->user, d->pass, d->db, d->port,
                           d->socket[0] ? d->socket : NULL, CLIENT_FOUND_ROWS) == NULL) {
        unsigned e = mysql_errno(db);
        result = e == CR_OUT_OF_MEMORY ? ADM_ERR_NOMEM : ADM_ERR_STORE_UNAVAILABLE;
        goto out;
    }
    *out = db;
    db = NULL;
    result = ADM_OK;
out:
    if (db != NULL)
        mysql_close(db);
    return result;
}

static void conn_disconnect(conn_t *c)
{
    for (int i = 0; i < N_Q; i++) {
        if (c->q[i] != NULL)
            mysql_stmt_close(c->q[i]);
        c->q[i] = NULL;
    }
    if (c->db != NULL)
        mysql_close(c->db);
    c->db = NULL;
    c->cur = NULL;
    c->lost = false;
    c->bad = false;
    c->err = 0;
}

static void conn_free(conn_t *c)
{
    conn_disconnect(c);
    for (int i = 0; i < MAX_COLS; i++) {
        free(c->rbuf[i]);
        c->rbuf[i] = NULL;
        c->rcap[i] = 0;
    }
}

static adm_err_t conn_connect(conn_t *c)
{
    conn_disconnect(c);
    bool replica = strcmp(c->srv->role, "replica") == 0;

    return dial(&c->srv->dsn, CONNECT_TIMEOUT_S, replica ? REPLICA_READ_TIMEOUT_S : READ_TIMEOUT_S,
                &c->db);
}

/* Runs constant SQL text without inputs (transaction control, DDL) and
 * discards any result. */
static adm_err_t exec_text(conn_t *c, const char *sql)
{
    adm_err_t result = ADM_OK;
    MYSQL_RES *res;

    if (mysql_real_query(c->db, sql, strlen(sql)) != 0) {
        result = fail_db(c);
        goto out;
    }
    res = mysql_store_result(c->db);
    if (res != NULL)
        mysql_free_result(res);
    else if (mysql_field_count(c->db) != 0)
        result = fail_db(c);
out:
    return result;
}

/* ---- prepared statements ----
 * use() selects statement q of c; the p*() calls bind its placeholders in
 * order; exec() runs it; step() fetches rows into c's buffers, read with
 * ci()/ct()/cb(); done() frees the result. One statement at a time per
 * connection: bodies read what they need before running the next. */

static adm_err_t use(adm_sql_t *sc, int q)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = ADM_OK;
    MYSQL_STMT *s = c->q[q];
    MYSQL_RES *meta;

    c->cur = NULL;
    c->np = 0;
    c->too_many = false;
    if (s == NULL) {
        s = mysql_stmt_init(c->db);
        if (s == NULL) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        if (mysql_stmt_prepare(s, sql_text[q], strlen(sql_text[q])) != 0) {
            result = fail_stmt(c, s);
            mysql_stmt_close(s);
            goto out;
        }
        c->n_cols[q] = 0;
        c->int_cols[q] = 0;
        meta = mysql_stmt_result_metadata(s);
        if (meta != NULL) {
            unsigned n = mysql_num_fields(meta);
            MYSQL_FIELD *f = mysql_fetch_fields(meta);
            if (n > MAX_COLS) {
                mysql_free_result(meta);
                mysql_stmt_close(s);
                result = ADM_ERR_STORE;
                goto out;
            }
            for (unsigned i = 0; i < n; i++) {
                switch (f[i].type) {
                case MYSQL_TYPE_TINY:
                case MYSQL_TYPE_SHORT:
                case MYSQL_TYPE_LONG:
                case MYSQL_TYPE_INT24:
                case MYSQL_TYPE_LONGLONG:
                case MYSQL_TYPE_DECIMAL:
                case MYSQL_TYPE_NEWDECIMAL:
                case MYSQL_TYPE_YEAR:
                    c->int_cols[q] |= (uint32_t)1 << i;
                    break;
                default:
                    break;
                }
            }
            c->n_cols[q] = (uint8_t)n;
            mysql_free_result(meta);
        } else if (mysql_stmt_errno(s) != 0) {
            result = fail_stmt(c, s);
            mysql_stmt_close(s);
            goto out;
        }
        c->q[q] = s;
    }
    c->cur = s;
    c->cur_q = q;
out:
    return result;
}

static MYSQL_BIND *next_param(conn_t *c)
{
    MYSQL_BIND *b;

    if (c->np >= MAX_PARAMS) {
        c->too_many = true;
        return NULL;
    }
    b = &c->pb[c->np++];
    memset(b, 0, sizeof *b);
    return b;
}

/* binds an integer */
static void pi(adm_sql_t *sc, int64_t v)
{
    conn_t *c = (conn_t *)sc;

    MYSQL_BIND *b = next_param(c);

    if (b == NULL)
        return;
    c->pv[c->np - 1] = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &c->pv[c->np - 1];
}

/* binds text v (borrowed until exec()); NULL binds SQL NULL */
static void pt(adm_sql_t *sc, const char *v)
{
    conn_t *c = (conn_t *)sc;

    MYSQL_BIND *b = next_param(c);

    if (b == NULL)
        return;
    if (v == NULL) {
        b->buffer_type = MYSQL_TYPE_NULL;
        return;
    }
    c->plen[c->np - 1] = (unsigned long)strlen(v);
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = (void *)v;
    b->buffer_length = c->plen[c->np - 1];
    b->length = &c->plen[c->np - 1];
}

/* binds bytes (borrowed until exec()) */
static void pb(adm_sql_t *sc, const void *p, size_t n)
{
    conn_t *c = (conn_t *)sc;

    MYSQL_BIND *b = next_param(c);

    if (b == NULL)
        return;
    c->plen[c->np - 1] = (unsigned long)n;
    b->buffer_type = MYSQL_TYPE_BLOB;
    b->buffer = (void *)(n ? p : "");
    b->buffer_length = c->plen[c->np - 1];
    b->length = &c->plen[c->np - 1];
}

/* Runs the selected statement with its bound parameters; a result set is
 * stored client-side, ready for step(). */
static adm_err_t exec(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = ADM_OK;
    MYSQL_STMT *s = c->cur;
    unsigned n;

    if (s == NULL || c->too_many || (unsigned long)c->np != mysql_stmt_param_count(s)) {
        result = ADM_ERR_STORE; /* a statement bound with the wrong number of values */
        goto out;
    }
    if (c->np > 0 && mysql_stmt_bind_param(s, c->pb) != 0) {
        result = fail_stmt(c, s);
        goto out;
    }
    if (mysql_stmt_execute(s) != 0) {
        result = fail_stmt(c, s);
        goto out;
    }
    n = c->n_cols[c->cur_q];
    if (n == 0)
        goto out;
    if (mysql_stmt_store_result(s) != 0) {
        result = fail_stmt(c, s);
        goto out;
    }
    memset(c->rb, 0, sizeof c->rb);
    for (unsigned i = 0; i < n; i++) {
        MYSQL_BIND *b = &c->rb[i];
        if (c->int_cols[c->cur_q] & (1u << i)) {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &c->rv[i];
        } else {
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = c->rbuf[i];
            b->buffer_length = c->rcap[i];
            b->length = &c->rlen[i];
        }
        b->is_null = &c->rnull[i];
        b->error = &c->rerr[i];
    }
    if (mysql_stmt_bind_result(s, c->rb) != 0) {
        result = fail_stmt(c, s);
        mysql_stmt_free_result(s);
    }
out:
    return result;
}

/* Grows the buffer of column i to hold need bytes and fetches the column
 * again into it. The caller binds the buffers anew for the next rows. */
static adm_err_t refetch(conn_t *c, unsigned i, unsigned long need)
{
    adm_err_t result = ADM_OK;
    unsigned long want = c->rcap[i] ? c->rcap[i] : 256;
    char *p;

    if (need > COL_MAX) {
        c->bad = true;
        goto out;
    }
    while (want < need)
        want *= 2;
    if (want > c->rcap[i]) {
        p = realloc(c->rbuf[i], want);
        if (p == NULL) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        c->rbuf[i] = p;
        c->rcap[i] = want;
    }
    c->rb[i].buffer = c->rbuf[i];
    c->rb[i].buffer_length = c->rcap[i];
    if (mysql_stmt_fetch_column(c->cur, &c->rb[i], i, 0) != 0)
        result = fail_stmt(c, c->cur);
out:
    return result;
}

/* Fetches the next row of the executed statement: *row says whether one came. */
static adm_err_t step(adm_sql_t *sc, bool *row)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = ADM_OK;
    unsigned n = c->n_cols[c->cur_q];
    int rc;

    *row = false;
    if (n == 0)
        goto out;
    rc = mysql_stmt_fetch(c->cur);
    if (rc == MYSQL_NO_DATA)
        goto out;
    if (rc == 1) {
        result = fail_stmt(c, c->cur);
        goto out;
    }
    if (rc == 0 || rc == MYSQL_DATA_TRUNCATED) {
        /* collect first: fetching or binding a column may reset the others' flags */
        unsigned long need[MAX_COLS];
        uint32_t cut = 0;

        for (unsigned i = 0; i < n; i++) {
            need[i] = c->rlen[i];
            if (!c->rerr[i])
                continue;
            if (c->int_cols[c->cur_q] & (1u << i))
                c->bad = true; /* an integer beyond int64 */
            else
                cut |= (uint32_t)1 << i;
        }
        for (unsigned i = 0; i < n && result == ADM_OK; i++)
            if (cut & (1u << i))
                result = refetch(c, i, need[i]);
        /* later rows go straight into the bigger buffers */
        if (result == ADM_OK && cut != 0 && mysql_stmt_bind_result(c->cur, c->rb) != 0)
            result = fail_stmt(c, c->cur);
        if (result != ADM_OK)
            goto out;
    }
    *row = true;
out:
    return result;
}

/* Frees the stored result of the current statement. */
static void done(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;

    if (c->cur != NULL && c->n_cols[c->cur_q] != 0)
        mysql_stmt_free_result(c->cur);
}

static int64_t ci(adm_sql_t *sc, unsigned i)
{
    conn_t *c = (conn_t *)sc;

    return c->rnull[i] ? 0 : (int64_t)c->rv[i];
}

/* Copies text column i into buf (cap bytes with the NUL); flags c->bad when it does not fit. */
static void ct(adm_sql_t *sc, unsigned i, char *buf, size_t cap)
{
    conn_t *c = (conn_t *)sc;
    size_t n = c->rnull[i] ? 0 : c->rlen[i];

    buf[0] = '\0';
    if (n >= cap) {
        c->bad = true;
        return;
    }
    if (n > 0)
        memcpy(buf, c->rbuf[i], n);
    buf[n] = '\0';
}

/* Bytes of column i (valid until the next step()/done()); *len gets their count. */
static const void *cb(adm_sql_t *sc, unsigned i, size_t *len)
{
    conn_t *c = (conn_t *)sc;

    *len = c->rnull[i] ? 0 : c->rlen[i];
    return *len ? c->rbuf[i] : "";
}

/* ADM_ERR_STORE when a row reader found a value that does not fit, and clears the flag. */
static adm_err_t take_bad(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;
    adm_err_t result = c->bad ? ADM_ERR_STORE : ADM_OK;

    c->bad = false;
    return result;
}

static int64_t insert_id(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;

    return (int64_t)mysql_stmt_insert_id(c->cur);
}

/* ---- the driver store-sql.c runs its bodies through ---- */

/* rows the last statement matched (CLIENT_FOUND_ROWS, like SQLite's changes) */
static int changes(adm_sql_t *sc)
{
    conn_t *c = (conn_t *)sc;
    my_ulonglong n = mysql_stmt_affected_rows(c->cur);

    return n == (my_ulonglong)-1 ? 0 : (int)n;
}

static const adm_sql_driver_t driver = {
    .use = use,
    .bind_int = pi,
    .bind_text = pt,
    .bind_blob = pb,
    .exec = exec,
    .step = step,
    .col_int = ci,
    .col_text = ct,
    .col_blob = cb,
    .done = done,
    .changes = changes,
    .insert_id = insert_id,
    .take_bad = take_bad,
};

/* ---- pools ---- */

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* *out gets an idle connection of srv, connected. ADM_ERR_STORE_UNAVAILABLE
 * when none frees up within CHECKOUT_WAIT_S or the server cannot be reached. */
static adm_err_t checkout(server_t *srv, conn_t **out)
{
    adm_err_t result = ADM_OK;
    struct timespec deadline;
    conn_t *c = NULL;

    *out = NULL;
    thread_ready();
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += CHECKOUT_WAIT_S;
    pthread_mutex_lock(&srv->mu);
    while (srv->n_idle == 0) {
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &deadline) == ETIMEDOUT &&
            srv->n_idle == 0) {
            result = ADM_ERR_STORE_UNAVAILABLE;
            break;
        }
    }
    if (result == ADM_OK)
        c = srv->idle[--srv->n_idle];
    pthread_mutex_unlock(&srv->mu);
    if (c == NULL) {
        if (result == ADM_OK)
            result = ADM_ERR_STORE; /* cannot happen: idle[] holds only slots */
        goto out;
    }
    if (c->db == NULL && (result = conn_connect(c)) != ADM_OK) {
        pthread_mutex_lock(&srv->mu);
        srv->idle[srv->n_idle++] = c;
        pthread_cond_signal(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
        goto out;
    }
    *out = c;
out:
    return result;
}

/* Returns c to its pool; a broken connection is closed first and reopened
 * by the next checkout. */
static void release(conn_t *c)
{
    server_t *srv = c->srv;

    if (c->lost)
        conn_disconnect(c);
    c->bad = false;
    c->err = 0;
    pthread_mutex_lock(&srv->mu);
    srv->idle[srv->n_idle++] = c;
    pthread_cond_signal(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static void server_close(server_t *srv)
{
    for (size_t i = 0; i < srv->n_conns; i++)
        conn_free(&srv->conns[i]);
    free(srv->conns);
    free(srv->idle);
    srv->conns = NULL;
    srv->idle = NULL;
    srv->n_conns = srv->n_idle = 0;
    if (srv->mon != NULL)
        mysql_close(srv->mon);
    srv->mon = NULL;
    sodium_memzero(&srv->dsn, sizeof srv->dsn); /* the password */
    if (srv->sync_ok) {
        pthread_cond_destroy(&srv->cv);
        pthread_mutex_destroy(&srv->mu);
        srv->sync_ok = false;
    }
}

static adm_err_t server_init(be_t *be, server_t *srv, const char *role, const char *url,
                             size_t pool)
{
    adm_err_t result;
    pthread_condattr_t attr;

    srv->be = be;
    srv->role = role;
    if ((result = parse_dsn(url, &srv->dsn)) != ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    if (pthread_condattr_init(&attr) != 0)
        goto out;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_mutex_init(&srv->mu, NULL) != 0) {
        pthread_condattr_destroy(&attr);
        goto out;
    }
    if (pthread_cond_init(&srv->cv, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        pthread_mutex_destroy(&srv->mu);
        goto out;
    }
    pthread_condattr_destroy(&attr);
    srv->sync_ok = true;
    srv->conns = calloc(pool, sizeof *srv->conns);
    srv->idle = calloc(pool, sizeof *srv->idle);
    if (srv->conns == NULL || srv->idle == NULL)
        goto out;
    for (size_t i = 0; i < pool; i++) {
        srv->conns[i].base.drv = &driver;
        srv->conns[i].srv = srv;
        srv->idle[srv->n_idle++] = &srv->conns[i];
    }
    srv->n_conns = pool;
    result = ADM_OK;
out:
    return result;
}

/* ---- replica health ----
 * GTID positions are lists of domain-server-seq; position a contains b when
 * for every domain of b, a has reached at least b's sequence number. */

typedef struct gtid_entry {
    unsigned long domain;
    unsigned long long seq;
} gtid_entry_t;

#define GTID_ENTRIES_MAX 32

/* Parses position s into e (at most GTID_ENTRIES_MAX); false when malformed. */
static bool gtid_parse(const char *s, gtid_entry_t *e, size_t *n)
{
    *n = 0;
    while (*s) {
        unsigned long d;
        unsigned long long seq;
        char *end;

        while (*s == ' ' || *s == '\n' || *s == ',')
            s++;
        if (*s == '\0')
            break;
        if (*s < '0' || *s > '9' || *n == GTID_ENTRIES_MAX)
            return false;
        d = strtoul(s, &end, 10);
        if (*end != '-')
            return false;
        s = end + 1;
        (void)strtoul(s, &end, 10); /* server id */
        if (end == s || *end != '-')
            return false;
        s = end + 1;
        seq = strtoull(s, &end, 10);
        if (end == s)
            return false;
        s = end;
        e[*n].domain = d;
        e[*n].seq = seq;
        (*n)++;
    }
    return true;
}

/* true when position a has applied everything in position b */
static bool gtid_contains(const char *a, const char *b)
{
    gtid_entry_t ea[GTID_ENTRIES_MAX], eb[GTID_ENTRIES_MAX];
    size_t na, nb;

    if (!gtid_parse(a, ea, &na) || !gtid_parse(b, eb, &nb))
        return false;
    for (size_t i = 0; i < nb; i++) {
        bool ok = false;
        for (size_t j = 0; j < na && !ok; j++)
            ok = ea[j].domain == eb[i].domain && ea[j].seq >= eb[i].seq;
        if (!ok)
            return false;
    }
    return true;
}

/* Runs constant query sql on *db (dialled to d when NULL) and copies the
 * first column of its first row into out. Drops the connection on failure. */
static adm_err_t probe(MYSQL **db, const dsn_t *d, const char *sql, char *out, size_t cap)
{
    adm_err_t result = ADM_ERR_STORE_UNAVAILABLE;
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    unsigned long *len;

    out[0] = '\0';
    if (*db == NULL && dial(d, MONITOR_TIMEOUT_S, MONITOR_TIMEOUT_S, db) != ADM_OK)
        goto out;
    if (mysql_real_query(*db, sql, strlen(sql)) != 0 || (res = mysql_store_result(*db)) == NULL)
        goto out;
    row = mysql_fetch_row(res);
    len = mysql_fetch_lengths(res);
    if (row == NULL || len == NULL) {
        result = ADM_ERR_STORE;
        goto out;
    }
    if (row[0] != NULL && len[0] >= cap) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (row[0] != NULL) {
        memcpy(out, row[0], len[0]);
        out[len[0]] = '\0';
    }
    result = ADM_OK;
out:
    if (res != NULL)
        mysql_free_result(res);
    if (result == ADM_ERR_STORE_UNAVAILABLE && *db != NULL) {
        mysql_close(*db);
        *db = NULL;
    }
    return result;
}

/* One health check of every replica: answering (SELECT @@read_only), then
 * lag, estimated from GTIDs: a replica that has not yet applied a position
 * the primary had at time t is at least now - t behind. This needs no
 * privilege beyond the database's (SHOW SLAVE STATUS does). */
static void check_replicas(be_t *be)
{
    char primary_pos[ADM_STORE_GTID_MAX + 1], pos[ADM_STORE_GTID_MAX + 1], ro[16];
    bool have_primary;

    have_primary = probe(&be->mon_primary, &be->primary.dsn, "SELECT @@gtid_binlog_pos",
                         primary_pos, sizeof primary_pos) == ADM_OK;
    for (size_t i = 0; i < be->n_replicas; i++) {
        server_t *r = &be->replicas[i];
        bool up = probe(&r->mon, &r->dsn, "SELECT @@read_only", ro, sizeof ro) == ADM_OK &&
                  probe(&r->mon, &r->dsn, "SELECT @@gtid_slave_pos", pos, sizeof pos) == ADM_OK;
        double now = mono_now();
        bool within;

        pthread_mutex_lock(&be->health_mu);
        if (up) {
            snprintf(r->applied, sizeof r->applied, "%s", pos);
            if (have_primary) {
                if (gtid_contains(pos, primary_pos)) {
                    r->target[0] = '\0';
                } else if (r->target[0] == '\0' || gtid_contains(pos, r->target)) {
                    /* behind a newer position than before: start timing it */
                    snprintf(r->target, sizeof r->target, "%s", primary_pos);
                    r->target_at = now;
                }
                r->lag_s = r->target[0] ? now - r->target_at : 0;
            } /* else: the primary is unreachable; keep the last estimate */
        } else {
            r->applied[0] = '\0';
        }
        within = up && r->lag_s <= (double)be->max_lag_s;
        pthread_mutex_unlock(&be->health_mu);
        atomic_store(&r->in_rotation, within);
    }
}

static void *monitor_main(void *arg)
{
    be_t *be = arg;
    struct timespec next;

    thread_ready();
    pthread_mutex_lock(&be->mon_mu);
    while (!be->stopping) {
        pthread_mutex_unlock(&be->mon_mu);
        check_replicas(be);
        pthread_mutex_lock(&be->mon_mu);
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_nsec += (long)MONITOR_PERIOD_MS * 1000000L;
        next.tv_sec += next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        while (!be->stopping &&
               pthread_cond_timedwait(&be->mon_cv, &be->mon_mu, &next) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&be->mon_mu);
    return NULL;
}

/* ---- routing ---- */

/* A replica in rotation, round-robin, or NULL. */
static server_t *pick_replica(be_t *be)
{
    unsigned start;

    if (be->n_replicas == 0)
        return NULL;
    start = atomic_fetch_add(&be->rr, 1u);
    for (size_t i = 0; i < be->n_replicas; i++) {
        server_t *r = &be->replicas[(start + i) % be->n_replicas];
        if (atomic_load(&r->in_rotation))
            return r;
    }
    return NULL;
}

/* Takes replica r out of rotation until the monitor sees it healthy again. */
static void shun(server_t *r)
{
    if (r != &r->be->primary)
        atomic_store(&r->in_rotation, false);
}

/* For a read with hint rd: *out gets a connection of a replica that may
 * answer it, or NULL when the primary must. */
static void route_read(be_t *be, adm_read_t rd, conn_t **out)
{
    server_t *r = NULL;
    conn_t *c = NULL;
    bool applied = false, row = false;
    int64_t v;

    *out = NULL;
    if (rd.mode == ADM_READ_PRIMARY ||
        (rd.mode == ADM_READ_AFTER && (rd.gtid == NULL || rd.gtid[0] == '\0')))
        goto out;
    if ((r = pick_replica(be)) == NULL)
        goto out;
    if (rd.mode == ADM_READ_AFTER) {
        pthread_mutex_lock(&be->health_mu);
        applied = r->applied[0] != '\0' && gtid_contains(r->applied, rd.gtid);
        pthread_mutex_unlock(&be->health_mu);
    }
    if (checkout(r, &c) != ADM_OK) {
        shun(r);
        goto out;
    }
    if (rd.mode == ADM_READ_AFTER && !applied) {
        /* 0: applied; -1: not within GTID_WAIT seconds; an error: a bad position */
        if (use(&c->base, Q_GTID_WAIT) != ADM_OK)
            goto fail;
        pt(&c->base, rd.gtid);
        if (exec(&c->base) != ADM_OK)
            goto fail;
        v = step(&c->base, &row) == ADM_OK && row && !c->rnull[0] ? ci(&c->base, 0) : -1;
        done(&c->base);
        if (v != 0)
            goto fail;
    }
    *out = c;
    c = NULL;
fail:
    if (c != NULL) {
        if (c->lost)
            shun(r);
        release(c);
    }
out:
    return;
}

/* ---- transactions ----
 * Every op is a body run by run_tx() on one pooled connection: writes inside
 * START TRANSACTION ... COMMIT on the primary, reads in autocommit mode
 * (each statement sees the latest committed data) wherever the hint allows.
 * A body fills its outputs only from the database and may run again, so it
 * must not keep state between runs. It returns its result; *keep asks for a
 * commit even though the result is an error (hold_release of an expired hold
 * releases its seats and says EXPIRED).
 *
 * Retries: a deadlock or lock wait timeout reruns the body up to
 * ADM_STORE_WRITE_ATTEMPTS times. A connection that breaks (server restart,
 * KILL, network) is discarded and the body rerun once on a fresh connection
 * unless COMMIT had been sent: then the outcome is unknown and the caller
 * gets ADM_ERR_STORE_UNAVAILABLE. A read that fails on a replica is rerun on
 * the primary. */

enum tx_kind {
    TX_READ,  /* autocommit reads, routed by the hint */
    TX_WRITE, /* one transaction on the primary */
};

/* Copies the GTID of the transaction just committed on c (tracked in the OK
 * packet: session_track_system_variables = last_gtid) for write_position. */
static void note_commit(conn_t *c)
{
    const char *data;
    size_t len;
    bool next_is_value = false;

    for (int rc = mysql_session_track_get_first(c->db, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len);
         rc == 0;
         rc = mysql_session_track_get_next(c->db, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len)) {
        if (next_is_value) {
            if (len > 0 && len < sizeof last_write.gtid) {
                memcpy(last_write.gtid, data, len);
                last_write.gtid[len] = '\0';
                last_write.store = c->srv->be->id;
            }
            next_is_value = false;
        } else {
            next_is_value = len == 9 && memcmp(data, "last_gtid", 9) == 0;
        }
    }
}

/* One run of fn on c. *unsure: the connection broke after COMMIT was sent. */
static adm_err_t attempt(conn_t *c, enum tx_kind kind, adm_sql_body_fn fn, void *arg, bool *unsure)
{
    adm_err_t result, r;
    bool keep = false, committed = false;

    *unsure = false;
    if (kind == TX_WRITE && (result = exec_text(c, "START TRANSACTION")) != ADM_OK)
        goto out;
    result = fn(&c->base, arg, &keep);
    c->bad = false;
    if (kind != TX_WRITE || c->lost)
        goto out;
    if (result == ADM_OK || (keep && result != ADM_ERR_CONFLICT)) {
        r = exec_text(c, "COMMIT");
        if (r == ADM_OK) {
            committed = true;
            note_commit(c);
        } else {
            result = r;
            *unsure = c->lost;
        }
    }
    if (!committed && !c->lost)
        (void)exec_text(c, "ROLLBACK");
out:
    return result;
}

static void backoff(int attempt_no)
{
    struct timespec ts = {0, 0};
    unsigned jitter = (unsigned)(mono_now() * 1e6) % 1000u;

    ts.tv_nsec = (long)(attempt_no * 2000000L + (long)jitter * 1000L);
    nanosleep(&ts, NULL);
}

static adm_err_t run_tx(be_t *be, enum tx_kind kind, adm_read_t rd, adm_sql_body_fn fn, void *arg)
{
    adm_err_t result = ADM_ERR_STORE_UNAVAILABLE;
    int conflicts = 0;
    bool reconnected = false, on_replica, unsure, lost;
    conn_t *c = NULL;

    if (kind == TX_READ)
        route_read(be, rd, &c);
    for (;;) {
        if (c == NULL && (result = checkout(&be->primary, &c)) != ADM_OK)
            break;
        on_replica = c->srv != &be->primary;
        /* per attempt, on the server whose pool c came from (route_read's
         * MASTER_GTID_WAIT probe is routing, not counted) */
        be->hooks.note_query(be->hooks.ctx,
                             on_replica ? ADM_STORE_ROLE_REPLICA : ADM_STORE_ROLE_PRIMARY);
        result = attempt(c, kind, fn, arg, &unsure);
        lost = c->lost;
        if (on_replica && lost)
            shun(c->srv);
        release(c);
        c = NULL;
        if (on_replica && (result == ADM_ERR_STORE || result == ADM_ERR_STORE_UNAVAILABLE ||
                           result == ADM_ERR_NOMEM || result == ADM_ERR_CONFLICT))
            continue; /* the primary answers instead */
        if (lost) {
            if (unsure || reconnected) {
                result = ADM_ERR_STORE_UNAVAILABLE;
                break;
            }
            reconnected = true;
            continue;
        }
        if (result == ADM_ERR_CONFLICT && ++conflicts < ADM_STORE_WRITE_ATTEMPTS) {
            backoff(conflicts);
            continue;
        }
        break;
    }
    if (result == ADM_ERR_CONFLICT)
        result = ADM_ERR_STORE_UNAVAILABLE; /* busy past the bounded retries */
    return result;
}

/* base.run: store-sql.c's transactions; a durable write is a write (every
 * commit is durable on the primary: innodb_flush_log_at_trx_commit) */
static adm_err_t my_run(adm_sql_store_t *st, adm_sql_tx_t kind, adm_read_t rd, adm_sql_body_fn fn,
                        void *arg)
{
    return run_tx((be_t *)st, kind == ADM_SQL_READ ? TX_READ : TX_WRITE, rd, fn, arg);
}

/* ---- opening: migrations ---- */

/* Applies the migrations the database lacks on c, holding a server-wide
 * named lock so two processes opening one new database apply each once. */
static adm_err_t migrate(conn_t *c)
{
    adm_err_t result;
    int64_t version = 0, got = 0;
    bool found, locked = false;

    if ((result = use(&c->base, Q_MIGRATE_LOCK)) != ADM_OK ||
        (result = adm_sql_one_int(&c->base, &got, &found)) != ADM_OK)
        goto out;
    if (!found || got != 1) {
        result = ADM_ERR_STORE_UNAVAILABLE; /* another process kept migrating too long */
        goto out;
    }
    locked = true;
    if ((result = exec_text(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                               " version INT NOT NULL PRIMARY KEY,"
                               " applied_at BIGINT NOT NULL)" TABLE_OPTS)) != ADM_OK)
        goto out;
    if ((result = use(&c->base, Q_SCHEMA_VERSION)) != ADM_OK ||
        (result = adm_sql_one_int(&c->base, &version, &found)) != ADM_OK)
        goto out;
    if (version < 0 || version > N_MIGRATIONS) {
        result = ADM_ERR_STORE; /* written by a newer admitd: refuse to run on it */
        goto out;
    }
    for (int i = (int)version; i < N_MIGRATIONS; i++) { /* migration i + 1 */
        for (const char *const *sql = migrations[i]; *sql != NULL; sql++)
            if ((result = exec_text(c, *sql)) != ADM_OK)
                goto out;
        if ((result = use(&c->base, Q_MIGRATION_INSERT)) != ADM_OK)
            goto out;
        pi(&c->base, i + 1);
        pi(&c->base, (int64_t)time(NULL));
        if ((result = adm_sql_run(&c->base, NULL)) != ADM_OK)
            goto out;
    }
out:
    if (locked && !c->lost) {
        adm_err_t r = use(&c->base, Q_MIGRATE_UNLOCK);
        if (r == ADM_OK)
            r = adm_sql_one_int(&c->base, &got, &found);
        if (r != ADM_OK && result == ADM_OK)
            result = r;
    }
    if (result != ADM_OK && result != ADM_ERR_NOMEM && result != ADM_ERR_STORE_UNAVAILABLE)
        result = ADM_ERR_STORE;
    return result;
}

/* ---- lifecycle ---- */

static void my_close(void *p)
{
    be_t *be = p;

    if (be == NULL)
        return;
    if (be->monitor_running) {
        pthread_mutex_lock(&be->mon_mu);
        be->stopping = true;
        pthread_cond_signal(&be->mon_cv);
        pthread_mutex_unlock(&be->mon_mu);
        pthread_join(be->monitor, NULL);
    }
    if (be->mon_primary != NULL)
        mysql_close(be->mon_primary);
    server_close(&be->primary);
    for (size_t i = 0; i < be->n_replicas; i++)
        server_close(&be->replicas[i]);
    if (be->mon_sync_ok) {
        pthread_cond_destroy(&be->mon_cv);
        pthread_mutex_destroy(&be->mon_mu);
        pthread_mutex_destroy(&be->health_mu);
    }
    if (be->lib_ok)
        lib_release();
    free(be);
}

static adm_err_t my_open(const adm_store_config_t *cfg, const adm_store_hooks_t *hooks, void **out)
{
    adm_err_t result = ADM_ERR_NOMEM;
    size_t pool = cfg->pool_size > 0 ? (size_t)cfg->pool_size : POOL_DEFAULT;
    conn_t *c = NULL;
    be_t *be = NULL;

    *out = NULL;
    if (cfg->mysql_primary == NULL || cfg->mysql_primary[0] == '\0') {
        result = ADM_ERR_CONFIG;
        goto out;
    }
    be = calloc(1, sizeof *be);
    if (be == NULL)
        goto out;
    be->base.run = my_run;
    be->id = atomic_fetch_add(&next_store_id, 1);
    be->hooks = *hooks;
    be->max_lag_s = cfg->replica_max_lag_s > 0 ? cfg->replica_max_lag_s : LAG_DEFAULT_S;
    if (pthread_mutex_init(&be->health_mu, NULL) != 0)
        goto out;
    if (pthread_mutex_init(&be->mon_mu, NULL) != 0) {
        pthread_mutex_destroy(&be->health_mu);
        goto out;
    }
    if (pthread_cond_init(&be->mon_cv, NULL) != 0) {
        pthread_mutex_destroy(&be->mon_mu);
        pthread_mutex_destroy(&be->health_mu);
        goto out;
    }
    be->mon_sync_ok = true;
    if ((result = lib_acquire()) != ADM_OK)
        goto out;
    be->lib_ok = true;
    if ((result = server_init(be, &be->primary, "primary", cfg->mysql_primary, pool)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < cfg->n_replicas; i++) {
        if ((result = server_init(be, &be->replicas[i], "replica", cfg->mysql_replicas[i], pool)) !=
            ADM_OK)
            goto out;
        be->n_replicas++;
    }
    if ((result = checkout(&be->primary, &c)) != ADM_OK)
        goto out;
    result = migrate(c);
    release(c);
    if (result != ADM_OK)
        goto out;
    if (be->n_replicas > 0) {
        check_replicas(be); /* route reads from the first request on */
        if (pthread_create(&be->monitor, NULL, monitor_main, be) != 0) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        be->monitor_running = true;
    }
    *out = be;
    be = NULL;
    result = ADM_OK;
out:
    my_close(be);
    return result;
}

/* ---- lifecycle ops only this backend has ---- */

struct position_args {
    char pos[ADM_STORE_GTID_MAX + 1];
};

static adm_err_t position_body(adm_sql_t *sc, void *arg, bool *keep)
{
    struct position_args *a = arg;
    adm_err_t result;
    bool row;

    if ((result = use(sc, Q_BINLOG_POS)) != ADM_OK || (result = exec(sc)) != ADM_OK)
        goto out;
    if ((result = step(sc, &row)) == ADM_OK && row)
        ct(sc, 0, a->pos, sizeof a->pos);
    done(sc);
    if (result == ADM_OK)
        result = take_bad(sc); /* longer than ADM_STORE_GTID_MAX */
out:
    return result;
}

/* The GTID of the last transaction this thread committed through this store
 * (tracked from the COMMIT's OK packet), else the primary's whole binlog
 * position, which includes every write committed so far. */
static adm_err_t my_write_position(void *p, char *out, size_t cap)
{
    be_t *be = p;
    struct position_args a = {{0}};
    adm_err_t result = ADM_OK;

    if (last_write.store == be->id && last_write.gtid[0] != '\0')
        snprintf(a.pos, sizeof a.pos, "%s", last_write.gtid);
    else if ((result = run_tx(be, TX_READ, ADM_READ_HINT_PRIMARY, position_body, &a)) != ADM_OK)
        goto out;
    if (strlen(a.pos) >= cap) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    memcpy(out, a.pos, strlen(a.pos) + 1);
out:
    return result;
}

const adm_store_ops_t adm_store_mysql_ops = {
    .name = "mysql",
    .open = my_open,
    .close = my_close,
    .write_position = my_write_position,
    ADM_SQL_STORE_OPS,
};
