/* store-mysql.c: the MariaDB store backend: a primary and read replicas, each
 * behind its own pool of Connector/C connections, schema by numbered
 * migrations, reads routed by the adm_read_t hint (docs/store.md "MariaDB").
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

#include "server/store-impl.h"

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
#define BATCH 64           /* expired holds or orders released per transaction */
#define LAZY_BATCHES 4     /* a hold releases at most LAZY_BATCHES * BATCH expired holds */
#define DELETE_BATCH 500   /* sessions or idempotency rows deleted per transaction */
#define MAX_PARAMS 24      /* placeholders in the largest statement */
#define MAX_COLS 16        /* columns in the widest result */
#define COL_MAX (1u << 20) /* a fetched value longer than this is corrupt */
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

static const char *const *const migrations[] = {
    migration_1,
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ----------------------------------------------------------
 * Every data statement the backend runs, prepared once per connection on
 * first use. Placeholders are positional: the ops bind in the order the ?s
 * appear. Column lists are shared by the row readers below. */

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
    Q_PING,
    Q_SCHEMA_VERSION,
    Q_MIGRATION_INSERT,
    Q_GTID_WAIT,
    Q_BINLOG_POS,
    Q_MIGRATE_LOCK,
    Q_MIGRATE_UNLOCK,
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
    Q_ORDER_EXPIRED,
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
    [Q_VENUE_GET] = "SELECT " VENUE_COLS " FROM venues WHERE id = ?",
    [Q_VENUE_CITY] = "SELECT city FROM venues WHERE id = ?",

    [Q_EVENT_INSERT] =
        "INSERT INTO events (venue_id, title, city, category, description, starts_at, ends_at, "
        "status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
    [Q_EVENT_UPDATE] =
        "UPDATE events SET title = ?, city = CASE WHEN ? = '' THEN (SELECT v.city FROM venues "
        "v WHERE v.id = events.venue_id) ELSE ? END, category = ?, description = ?, "
        "starts_at = ?, ends_at = ?, updated = ? WHERE id = ?",
    [Q_EVENT_GET] = "SELECT " EVENT_COLS " FROM events WHERE id = ?",
    [Q_EVENT_STATUS] = "SELECT status FROM events WHERE id = ?",
    /* serialises the count-then-insert of ticket types and keys per event */
    [Q_EVENT_LOCK] = "SELECT status FROM events WHERE id = ? FOR UPDATE",
    [Q_EVENT_SET_STATUS] = "UPDATE events SET status = ?, updated = ? WHERE id = ? AND status = ?",
    [Q_EVENT_SEARCH] = "SELECT " EVENT_COLS " FROM events"
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
        "per_customer_max, sale_starts, sale_ends, created, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_TYPE_UPDATE] = "UPDATE ticket_types SET name = ?, price = ?, currency = ?, capacity = ?, "
                      "per_order_max = ?, per_customer_max = ?, sale_starts = ?, sale_ends = ?, "
                      "updated = ? WHERE id = ? AND sold + held <= ?",
    [Q_TYPE_GET] = "SELECT " TYPE_COLS " FROM ticket_types WHERE id = ?",
    [Q_TYPE_LIST] = "SELECT " TYPE_COLS " FROM ticket_types WHERE event_id = ? ORDER BY id",
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
    [Q_HOLD_GET] = "SELECT " HOLD_COLS " FROM holds WHERE id = ?",
    [Q_HOLD_LOCK] = "SELECT " HOLD_COLS " FROM holds WHERE id = ? FOR UPDATE",
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
    [Q_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?",
    [Q_ORDER_LOCK] = "SELECT " ORDER_COLS " FROM orders WHERE id = ? FOR UPDATE",
    [Q_ORDER_GET_CODE] = "SELECT " ORDER_COLS " FROM orders WHERE code = ?",
    [Q_ORDER_ITEMS] = "SELECT id, type_id, event_id, quantity, unit_price FROM order_items "
                      "WHERE order_id = ? ORDER BY id",
    [Q_ORDER_FINISH] = "UPDATE orders SET state = ?, updated = ? WHERE id = ? AND state = 0",
    [Q_ORDER_EXPIRED] = "SELECT id FROM orders WHERE state = 0 AND expires_at <= ? "
                        "ORDER BY expires_at, id LIMIT ?",
    [Q_ORDER_REF_OWNER] = "SELECT id FROM orders WHERE provider = ? AND provider_ref = ?",
    [Q_ORDER_OFF_SALE] = "SELECT COUNT(*) FROM order_items i JOIN events e "
                         "ON e.id = i.event_id WHERE i.order_id = ? AND e.status <> 1",
    [Q_ORDER_MARK_PAID] = "UPDATE orders SET state = 1, paid_at = ?, updated = ?, "
                          "provider = ?, provider_ref = ? WHERE id = ? AND state = 0",
    [Q_ORDER_MARK_REFUNDED] = "UPDATE orders SET state = 3, updated = ? WHERE id = ? AND state = 1",
    [Q_ORDER_LIST] = "SELECT " ORDER_COLS " FROM orders WHERE user_id = ? "
                     "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",

    [Q_TICKET_INSERT] = "INSERT INTO tickets (id, event_id, type_id, order_id, user_id, status, "
                        "created) VALUES (?, ?, ?, ?, ?, 0, ?)",
    [Q_TICKET_GET] = "SELECT " TICKET_COLS " FROM tickets WHERE id = ?",
    [Q_TICKET_LOCK] = "SELECT " TICKET_COLS " FROM tickets WHERE id = ? FOR UPDATE",
    [Q_TICKETS_OF_ORDER] = "SELECT " TICKET_COLS " FROM tickets WHERE order_id = ? ORDER BY id",
    [Q_TICKETS_VALID_OF_ORDER] =
        "SELECT id, event_id FROM tickets WHERE order_id = ? AND status = 0 ORDER BY id",
    [Q_TICKET_REVOKE] = "UPDATE tickets SET status = 1, revoked_at = ? WHERE id = ? AND status = 0",
    [Q_TICKET_SET_TOKEN] =
        "UPDATE tickets SET token = ?, key_id = ? WHERE id = ? AND token IS NULL",
    [Q_TICKETS_UNSIGNED] = "SELECT " TICKET_COLS " FROM tickets WHERE key_id = 0 "
                           "AND status = 0 ORDER BY created, id LIMIT ?",
    [Q_REVOCATION_INSERT] =
        "INSERT INTO revocations (event_id, seq, ticket_id, revoked_at) VALUES (?, ?, ?, ?)",
    [Q_REVOCATIONS] = "SELECT seq, ticket_id, revoked_at FROM revocations "
                      "WHERE event_id = ? AND seq > ? ORDER BY seq LIMIT ?",

    [Q_USER_INSERT] = "INSERT INTO users (email, password_hash, display_name, role, created) "
                      "VALUES (?, ?, ?, ?, ?)",
    [Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?",
    [Q_USER_BY_EMAIL] = "SELECT " USER_COLS " FROM users WHERE email = ?",
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
    [Q_IDEM_REAP] = "DELETE FROM idempotency WHERE created <= ? LIMIT ?",

    [Q_KEY_INSERT] = "INSERT INTO event_keys (kid, event_id, seed, created) VALUES (?, ?, ?, ?)",
    [Q_KEY_COUNT] = "SELECT COUNT(*) FROM event_keys WHERE event_id = ?",
    [Q_KEY_EXISTS] = "SELECT 1 FROM event_keys WHERE event_id = ? AND kid = ?",
    [Q_KEY_LIST] = "SELECT event_id, kid, seed, created, retired_at FROM event_keys "
                   "WHERE event_id = ? ORDER BY created, kid",
    [Q_KEY_RETIRE] = "UPDATE event_keys SET retired_at = ? "
                     "WHERE event_id = ? AND kid = ? AND retired_at = 0",

    [Q_SALES] = "SELECT t.id, t.name, t.currency, t.capacity, t.sold, t.held, "
                "CAST(COALESCE((SELECT SUM(i.quantity * i.unit_price) FROM order_items i "
                "JOIN orders o ON o.id = i.order_id WHERE i.type_id = t.id AND o.state = 1), 0) "
                "AS SIGNED) FROM ticket_types t WHERE t.event_id = ? ORDER BY t.id",
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
    MYSQL *db; /* NULL while disconnected; connected on checkout */
    struct server *srv;
    MYSQL_STMT *q[N_Q];     /* prepared on first use, closed with the connection */
    uint8_t n_cols[N_Q];    /* result columns of each statement */
    uint16_t int_cols[N_Q]; /* bit i: column i is fetched as an integer */

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

static adm_err_t use(conn_t *c, int q)
{
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
                    c->int_cols[q] |= (uint16_t)(1u << i);
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
static void pi(conn_t *c, int64_t v)
{
    MYSQL_BIND *b = next_param(c);

    if (b == NULL)
        return;
    c->pv[c->np - 1] = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &c->pv[c->np - 1];
}

/* binds text v (borrowed until exec()); NULL binds SQL NULL */
static void pt(conn_t *c, const char *v)
{
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
static void pb(conn_t *c, const void *p, size_t n)
{
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
static adm_err_t exec(conn_t *c)
{
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
static adm_err_t step(conn_t *c, bool *row)
{
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
        uint16_t cut = 0;

        for (unsigned i = 0; i < n; i++) {
            need[i] = c->rlen[i];
            if (!c->rerr[i])
                continue;
            if (c->int_cols[c->cur_q] & (1u << i))
                c->bad = true; /* an integer beyond int64 */
            else
                cut |= (uint16_t)(1u << i);
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
static void done(conn_t *c)
{
    if (c->cur != NULL && c->n_cols[c->cur_q] != 0)
        mysql_stmt_free_result(c->cur);
}

static int64_t ci(conn_t *c, unsigned i)
{
    return c->rnull[i] ? 0 : (int64_t)c->rv[i];
}

/* Copies text column i into buf (cap bytes with the NUL); flags c->bad when it does not fit. */
static void ct(conn_t *c, unsigned i, char *buf, size_t cap)
{
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
static const void *cb(conn_t *c, unsigned i, size_t *len)
{
    *len = c->rnull[i] ? 0 : c->rlen[i];
    return *len ? c->rbuf[i] : "";
}

/* ADM_ERR_STORE when a row reader found a value that does not fit, and clears the flag. */
static adm_err_t take_bad(conn_t *c)
{
    adm_err_t result = c->bad ? ADM_ERR_STORE : ADM_OK;

    c->bad = false;
    return result;
}

/* Runs the selected statement to completion; *changes (may be NULL) gets the
 * rows it matched. */
static adm_err_t run(conn_t *c, int *changes)
{
    adm_err_t result = exec(c);
    bool row;

    if (changes != NULL)
        *changes = 0;
    if (result != ADM_OK)
        goto out;
    do
        result = step(c, &row);
    while (result == ADM_OK && row);
    done(c);
    if (result == ADM_OK && changes != NULL) {
        my_ulonglong n = mysql_stmt_affected_rows(c->cur);
        *changes = n == (my_ulonglong)-1 ? 0 : (int)n;
    }
out:
    return result;
}

static int64_t insert_id(conn_t *c)
{
    return (int64_t)mysql_stmt_insert_id(c->cur);
}

/* Runs the selected statement and reads one integer column: *found says
 * whether a row came. */
static adm_err_t one_int(conn_t *c, int64_t *v, bool *found)
{
    adm_err_t result = exec(c);
    bool row = false;

    if (result == ADM_OK) {
        result = step(c, &row);
        *found = result == ADM_OK && row;
        *v = *found ? ci(c, 0) : 0;
        done(c);
    } else {
        *found = false;
        *v = 0;
    }
    if (result == ADM_OK)
        result = take_bad(c);
    return result;
}

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
        if (use(c, Q_GTID_WAIT) != ADM_OK)
            goto fail;
        pt(c, rd.gtid);
        if (exec(c) != ADM_OK)
            goto fail;
        v = step(c, &row) == ADM_OK && row && !c->rnull[0] ? ci(c, 0) : -1;
        done(c);
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

typedef adm_err_t (*body_fn)(conn_t *c, void *arg, bool *keep);

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
static adm_err_t attempt(conn_t *c, enum tx_kind kind, body_fn fn, void *arg, bool *unsure)
{
    adm_err_t result, r;
    bool keep = false, committed = false;

    *unsure = false;
    if (kind == TX_WRITE && (result = exec_text(c, "START TRANSACTION")) != ADM_OK)
        goto out;
    result = fn(c, arg, &keep);
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

static adm_err_t run_tx(be_t *be, enum tx_kind kind, adm_read_t rd, body_fn fn, void *arg)
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

static adm_err_t run_write(be_t *be, body_fn fn, void *arg)
{
    return run_tx(be, TX_WRITE, ADM_READ_HINT_PRIMARY, fn, arg);
}

static adm_err_t run_read(be_t *be, adm_read_t rd, body_fn fn, void *arg)
{
    return run_tx(be, TX_READ, rd, fn, arg);
}

/* ---- opening: migrations ---- */

/* Applies the migrations the database lacks on c, holding a server-wide
 * named lock so two processes opening one new database apply each once. */
static adm_err_t migrate(conn_t *c)
{
    adm_err_t result;
    int64_t version = 0, got = 0;
    bool found, locked = false;

    if ((result = use(c, Q_MIGRATE_LOCK)) != ADM_OK ||
        (result = one_int(c, &got, &found)) != ADM_OK)
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
    if ((result = use(c, Q_SCHEMA_VERSION)) != ADM_OK ||
        (result = one_int(c, &version, &found)) != ADM_OK)
        goto out;
    if (version < 0 || version > N_MIGRATIONS) {
        result = ADM_ERR_STORE; /* written by a newer admitd: refuse to run on it */
        goto out;
    }
    for (int i = (int)version; i < N_MIGRATIONS; i++) { /* migration i + 1 */
        for (const char *const *sql = migrations[i]; *sql != NULL; sql++)
            if ((result = exec_text(c, *sql)) != ADM_OK)
                goto out;
        if ((result = use(c, Q_MIGRATION_INSERT)) != ADM_OK)
            goto out;
        pi(c, i + 1);
        pi(c, (int64_t)time(NULL));
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
    }
out:
    if (locked && !c->lost) {
        adm_err_t r = use(c, Q_MIGRATE_UNLOCK);
        if (r == ADM_OK)
            r = one_int(c, &got, &found);
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

/* ---- row readers (column orders: the *_COLS lists) ---- */

static adm_err_t read_venue(conn_t *c, adm_venue_t *v)
{
    v->id = ci(c, 0);
    ct(c, 1, v->name, sizeof v->name);
    ct(c, 2, v->city, sizeof v->city);
    ct(c, 3, v->address, sizeof v->address);
    v->capacity = ci(c, 4);
    v->created = ci(c, 5);
    v->updated = ci(c, 6);
    return take_bad(c);
}

static adm_err_t read_event(conn_t *c, adm_event_t *e)
{
    e->id = ci(c, 0);
    e->venue_id = ci(c, 1);
    ct(c, 2, e->title, sizeof e->title);
    ct(c, 3, e->city, sizeof e->city);
    ct(c, 4, e->category, sizeof e->category);
    ct(c, 5, e->description, sizeof e->description);
    e->starts_at = ci(c, 6);
    e->ends_at = ci(c, 7);
    e->status = (adm_event_status_t)ci(c, 8);
    e->revocation_seq = ci(c, 9);
    e->created = ci(c, 10);
    e->updated = ci(c, 11);
    return take_bad(c);
}

static adm_err_t read_type(conn_t *c, adm_ticket_type_t *t)
{
    t->id = ci(c, 0);
    t->event_id = ci(c, 1);
    ct(c, 2, t->name, sizeof t->name);
    t->price = ci(c, 3);
    ct(c, 4, t->currency, sizeof t->currency);
    t->capacity = ci(c, 5);
    t->sold = ci(c, 6);
    t->held = ci(c, 7);
    t->per_order_max = (int32_t)ci(c, 8);
    t->per_customer_max = (int32_t)ci(c, 9);
    t->sale_starts = ci(c, 10);
    t->sale_ends = ci(c, 11);
    t->created = ci(c, 12);
    t->updated = ci(c, 13);
    return take_bad(c);
}

static adm_err_t read_hold(conn_t *c, adm_hold_t *h)
{
    ct(c, 0, h->id, sizeof h->id);
    h->user_id = ci(c, 1);
    h->type_id = ci(c, 2);
    h->event_id = ci(c, 3);
    h->quantity = (int32_t)ci(c, 4);
    h->state = (adm_hold_state_t)ci(c, 5);
    h->created = ci(c, 6);
    h->expires_at = ci(c, 7);
    h->order_id = ci(c, 8);
    return take_bad(c);
}

static adm_err_t read_order(conn_t *c, adm_order_t *o)
{
    o->id = ci(c, 0);
    ct(c, 1, o->code, sizeof o->code);
    o->user_id = ci(c, 2);
    o->state = (adm_order_state_t)ci(c, 3);
    o->total = ci(c, 4);
    ct(c, 5, o->currency, sizeof o->currency);
    o->created = ci(c, 6);
    o->updated = ci(c, 7);
    o->expires_at = ci(c, 8);
    o->paid_at = ci(c, 9);
    ct(c, 10, o->provider, sizeof o->provider);
    ct(c, 11, o->provider_ref, sizeof o->provider_ref);
    o->n_items = 0;
    return take_bad(c);
}

static adm_err_t read_ticket(conn_t *c, adm_store_ticket_t *t)
{
    t->id = ci(c, 0);
    t->event_id = ci(c, 1);
    t->type_id = ci(c, 2);
    t->order_id = ci(c, 3);
    t->user_id = ci(c, 4);
    t->status = (adm_ticket_status_t)ci(c, 5);
    t->created = ci(c, 6);
    t->revoked_at = ci(c, 7);
    t->key_id = (uint32_t)ci(c, 8);
    ct(c, 9, t->token, sizeof t->token);
    return take_bad(c);
}

static adm_err_t read_user(conn_t *c, adm_user_t *u)
{
    u->id = ci(c, 0);
    ct(c, 1, u->email, sizeof u->email);
    ct(c, 2, u->password_hash, sizeof u->password_hash);
    ct(c, 3, u->display_name, sizeof u->display_name);
    u->role = (adm_role_t)ci(c, 4);
    u->created = ci(c, 5);
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

typedef adm_err_t (*reader_fn)(conn_t *c, void *entry);

/* Runs the selected, bound statement and reads every row into a new array
 * of elem-byte entries via reader (at most max rows). secret: wipe what is
 * freed on failure. */
static adm_err_t read_all(conn_t *c, reader_fn reader, size_t elem, size_t max, bool secret,
                          void **arr, size_t *n)
{
    adm_err_t result;
    size_t cap = 0;
    bool row;

    *arr = NULL;
    *n = 0;
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        if ((result = grow(arr, &cap, *n, elem, max)) != ADM_OK)
            break;
        memset((char *)*arr + *n * elem, 0, elem);
        if ((result = reader(c, (char *)*arr + *n * elem)) != ADM_OK)
            break;
        (*n)++;
    }
    done(c);
out:
    if (result != ADM_OK) {
        if (secret && *arr != NULL)
            memset(*arr, 0, cap * elem);
        free(*arr);
        *arr = NULL;
        *n = 0;
    }
    return result;
}

static adm_err_t rd_venue(conn_t *c, void *e)
{
    return read_venue(c, e);
}

static adm_err_t rd_type(conn_t *c, void *e)
{
    return read_type(c, e);
}

static adm_err_t rd_event(conn_t *c, void *e)
{
    return read_event(c, e);
}

static adm_err_t rd_ticket(conn_t *c, void *e)
{
    return read_ticket(c, e);
}

static adm_err_t rd_order(conn_t *c, void *e)
{
    return read_order(c, e);
}

static adm_err_t rd_user(conn_t *c, void *e)
{
    return read_user(c, e);
}

static adm_err_t rd_revocation(conn_t *c, void *e)
{
    adm_revocation_t *r = e;

    r->seq = ci(c, 0);
    r->ticket_id = ci(c, 1);
    r->revoked_at = ci(c, 2);
    return take_bad(c);
}

static adm_err_t rd_key(conn_t *c, void *e)
{
    adm_event_key_t *k = e;
    size_t len;
    const void *seed = cb(c, 2, &len);

    k->event_id = ci(c, 0);
    k->kid = (uint32_t)ci(c, 1);
    if (len != ADM_KEY_SEED_BYTES)
        return ADM_ERR_STORE;
    memcpy(k->seed, seed, ADM_KEY_SEED_BYTES);
    k->created = ci(c, 3);
    k->retired_at = ci(c, 4);
    k->retired = k->retired_at != 0;
    return take_bad(c);
}

static adm_err_t rd_sales(conn_t *c, void *e)
{
    adm_type_sales_t *r = e;

    r->type_id = ci(c, 0);
    ct(c, 1, r->name, sizeof r->name);
    ct(c, 2, r->currency, sizeof r->currency);
    r->capacity = ci(c, 3);
    r->sold = ci(c, 4);
    r->held = ci(c, 5);
    r->revenue = ci(c, 6);
    return take_bad(c);
}

static adm_err_t rd_availability(conn_t *c, void *e)
{
    adm_availability_t *av = e;
    adm_ticket_type_t t;
    adm_err_t result;

    memset(&t, 0, sizeof t);
    result = read_type(c, &t);
    av->type_id = t.id;
    av->capacity = t.capacity;
    av->sold = t.sold;
    av->held = t.held;
    av->available = t.capacity - t.sold - t.held;
    if (av->available < 0)
        av->available = 0;
    return result;
}

/* Reads one row of statement q bound with the single id into out via
 * reader. ADM_ERR_NOT_FOUND without a row. */
static adm_err_t get_by_id(conn_t *c, int q, int64_t id, reader_fn reader, void *out)
{
    adm_err_t result;
    bool row;

    if ((result = use(c, q)) != ADM_OK)
        goto out;
    pi(c, id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? reader(c, out) : ADM_ERR_NOT_FOUND;
    done(c);
out:
    return result;
}

/* ADM_OK when statement q bound with the single id returns a row, else ADM_ERR_NOT_FOUND. */
static adm_err_t exists(conn_t *c, int q, int64_t id)
{
    adm_err_t result;
    int64_t v;
    bool found;

    if ((result = use(c, q)) != ADM_OK)
        goto out;
    pi(c, id);
    if ((result = one_int(c, &v, &found)) == ADM_OK && !found)
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
    int changes;

    *did = false;
    if ((result = use(c, Q_HOLD_SET_STATE)) != ADM_OK)
        goto out;
    pi(c, to);
    pt(c, id);
    if ((result = run(c, &changes)) != ADM_OK || changes == 0)
        goto out;
    if ((result = use(c, Q_TYPE_UNHOLD)) != ADM_OK)
        goto out;
    pi(c, quantity);
    pi(c, type_id);
    pi(c, quantity);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
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
    size_t n = 0;
    bool row, did;

    *count = 0;
    *more = false;
    if ((result = use(c, type_id ? Q_HOLD_EXPIRED_OF_TYPE : Q_HOLD_EXPIRED)) != ADM_OK)
        goto out;
    if (type_id)
        pi(c, type_id);
    pi(c, now);
    pi(c, BATCH);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row && n < BATCH) {
        ct(c, 0, batch[n].id, sizeof batch[n].id);
        batch[n].type_id = ci(c, 1);
        batch[n].quantity = ci(c, 2);
        n++;
    }
    done(c);
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

/* Sorts items by type id: transactions that lock several type rows take
 * them in one order, so two of them cannot deadlock on each other. */
static void sort_items(item_row_t *items, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        item_row_t t = items[i];
        size_t j = i;
        for (; j > 0 && items[j - 1].type_id > t.type_id; j--)
            items[j] = items[j - 1];
        items[j] = t;
    }
}

/* The items of order_id, sorted by type id. */
static adm_err_t order_item_rows(conn_t *c, int64_t order_id, item_row_t *items, size_t *n)
{
    adm_err_t result;
    bool row;

    *n = 0;
    if ((result = use(c, Q_ORDER_ITEMS)) != ADM_OK)
        goto out;
    pi(c, order_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        if (*n == ADM_STORE_ORDER_ITEMS_MAX) {
            result = ADM_ERR_STORE;
            break;
        }
        items[*n].type_id = ci(c, 1);
        items[*n].quantity = ci(c, 3);
        (*n)++;
    }
    done(c);
    sort_items(items, *n);
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
    size_t n;
    int changes;

    *did = false;
    if ((result = use(c, Q_ORDER_FINISH)) != ADM_OK)
        goto out;
    pi(c, to);
    pi(c, now);
    pi(c, order_id);
    if ((result = run(c, &changes)) != ADM_OK || changes == 0)
        goto out;
    if ((result = order_item_rows(c, order_id, items, &n)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        if ((result = use(c, Q_TYPE_UNHOLD)) != ADM_OK)
            break;
        pi(c, items[i].quantity);
        pi(c, items[i].type_id);
        pi(c, items[i].quantity);
        if ((result = run(c, &changes)) == ADM_OK && changes != 1)
            result = ADM_ERR_STORE;
    }
    *did = result == ADM_OK;
out:
    return result;
}

/* Revokes valid ticket ticket_id of event_id and appends it to the event's
 * revocation list; *seq gets its number. ADM_ERR_STATE when not valid. The
 * event row stays locked until commit, so numbers commit in order. */
static adm_err_t revoke_ticket(conn_t *c, int64_t ticket_id, int64_t event_id, int64_t now,
                               int64_t *seq)
{
    adm_err_t result;
    int changes;
    bool found;

    *seq = 0;
    if ((result = use(c, Q_TICKET_REVOKE)) != ADM_OK)
        goto out;
    pi(c, now);
    pi(c, ticket_id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes == 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_EVENT_BUMP_SEQ)) != ADM_OK)
        goto out;
    pi(c, event_id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_EVENT_SEQ)) != ADM_OK)
        goto out;
    pi(c, event_id);
    if ((result = one_int(c, seq, &found)) != ADM_OK)
        goto out;
    if (!found || changes != 1) {
        result = ADM_ERR_STORE;
        goto out;
    }
    if ((result = use(c, Q_REVOCATION_INSERT)) != ADM_OK)
        goto out;
    pi(c, event_id);
    pi(c, *seq);
    pi(c, ticket_id);
    pi(c, now);
    result = run(c, NULL);
out:
    return result;
}

/* Loads order id (or, when id is 0, the order with code) with its items;
 * lock: FOR UPDATE, for the write paths. user_id non-zero: someone else's
 * order is ADM_ERR_NOT_FOUND. */
static adm_err_t load_order(conn_t *c, int64_t user_id, int64_t id, const char *code, bool lock,
                            adm_order_t *o)
{
    adm_err_t result;
    bool row;

    memset(o, 0, sizeof *o);
    if ((result = use(c, id ? (lock ? Q_ORDER_LOCK : Q_ORDER_GET) : Q_ORDER_GET_CODE)) != ADM_OK)
        goto out;
    if (id)
        pi(c, id);
    else
        pt(c, code);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? read_order(c, o) : ADM_ERR_NOT_FOUND;
    done(c);
    if (result != ADM_OK)
        goto out;
    if (user_id != 0 && o->user_id != user_id) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if ((result = use(c, Q_ORDER_ITEMS)) != ADM_OK)
        goto out;
    pi(c, o->id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        adm_order_item_t *it;
        if (o->n_items == ADM_STORE_ORDER_ITEMS_MAX) {
            result = ADM_ERR_STORE;
            break;
        }
        it = &o->items[o->n_items++];
        it->id = ci(c, 0);
        it->type_id = ci(c, 1);
        it->event_id = ci(c, 2);
        it->quantity = (int32_t)ci(c, 3);
        it->unit_price = ci(c, 4);
    }
    done(c);
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
    adm_err_t result = use(c, Q_PING);

    if (result == ADM_OK)
        result = one_int(c, &v, &found);
    return result;
}

static adm_err_t my_ping(void *be)
{
    return run_read(be, ADM_READ_HINT_PRIMARY, ping_body, NULL);
}

struct position_args {
    char pos[ADM_STORE_GTID_MAX + 1];
};

static adm_err_t position_body(conn_t *c, void *arg, bool *keep)
{
    struct position_args *a = arg;
    adm_err_t result;
    bool row;

    if ((result = use(c, Q_BINLOG_POS)) != ADM_OK || (result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && row)
        ct(c, 0, a->pos, sizeof a->pos);
    done(c);
    if (result == ADM_OK)
        result = take_bad(c); /* longer than ADM_STORE_GTID_MAX */
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
    else if ((result = run_read(be, ADM_READ_HINT_PRIMARY, position_body, &a)) != ADM_OK)
        goto out;
    if (strlen(a.pos) >= cap) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    memcpy(out, a.pos, strlen(a.pos) + 1);
out:
    return result;
}

static adm_err_t schema_version_body(conn_t *c, void *arg, bool *keep)
{
    int64_t v = 0;
    bool found;
    adm_err_t result = use(c, Q_SCHEMA_VERSION);

    if (result == ADM_OK)
        result = one_int(c, &v, &found);
    *(int *)arg = (int)v;
    return result;
}

static adm_err_t my_schema_version(void *be, int *version)
{
    return run_read(be, ADM_READ_HINT_PRIMARY, schema_version_body, version);
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
    adm_err_t result;

    if ((result = use(c, Q_VENUE_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->spec->name);
    pt(c, a->spec->city);
    pt(c, a->spec->address);
    pi(c, a->spec->capacity);
    pi(c, a->now);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

static adm_err_t my_venue_create(void *be, const adm_venue_spec_t *spec, int64_t now, int64_t *id)
{
    struct venue_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, venue_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t venue_update_body(conn_t *c, void *arg, bool *keep)
{
    struct venue_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_VENUE_UPDATE)) != ADM_OK)
        goto out;
    pt(c, a->spec->name);
    pt(c, a->spec->city);
    pt(c, a->spec->address);
    pi(c, a->spec->capacity);
    pi(c, a->now);
    pi(c, a->id);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t my_venue_update(void *be, int64_t id, const adm_venue_spec_t *spec, int64_t now)
{
    struct venue_args a = {.id = id, .spec = spec, .now = now};

    return run_write(be, venue_update_body, &a);
}

struct get_args {
    int q;
    int64_t id;
    reader_fn reader;
    void *out;
    size_t size;
};

static adm_err_t get_body(conn_t *c, void *arg, bool *keep)
{
    struct get_args *a = arg;

    memset(a->out, 0, a->size); /* from an earlier attempt */
    return get_by_id(c, a->q, a->id, a->reader, a->out);
}

/* Runs a one-row read of statement q by id. */
static adm_err_t get_one(be_t *be, adm_read_t rd, int q, int64_t id, reader_fn reader, void *out,
                         size_t size)
{
    struct get_args a = {.q = q, .id = id, .reader = reader, .out = out, .size = size};

    return run_read(be, rd, get_body, &a);
}

static adm_err_t my_venue_get(void *be, adm_read_t rd, int64_t id, adm_venue_t *out)
{
    return get_one(be, rd, Q_VENUE_GET, id, rd_venue, out, sizeof *out);
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
    char venue_city[ADM_STORE_CITY_MAX + 1];
    adm_err_t result;
    bool row;

    /* the venue must exist; its city is the default */
    if ((result = use(c, Q_VENUE_CITY)) != ADM_OK)
        goto out;
    pi(c, a->spec->venue_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK) {
        if (row)
            ct(c, 0, venue_city, sizeof venue_city);
        else
            result = ADM_ERR_NOT_FOUND;
    }
    done(c);
    if (result != ADM_OK || (result = take_bad(c)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_EVENT_INSERT)) != ADM_OK)
        goto out;
    pi(c, a->spec->venue_id);
    pt(c, a->spec->title);
    pt(c, a->spec->city[0] ? a->spec->city : venue_city);
    pt(c, a->spec->category);
    pt(c, a->spec->description);
    pi(c, a->spec->starts_at);
    pi(c, a->spec->ends_at);
    pi(c, a->now);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

static adm_err_t my_event_create(void *be, const adm_event_spec_t *spec, int64_t now, int64_t *id)
{
    struct event_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, event_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t event_update_body(conn_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_EVENT_UPDATE)) != ADM_OK)
        goto out;
    pt(c, a->spec->title);
    pt(c, a->spec->city);
    pt(c, a->spec->city);
    pt(c, a->spec->category);
    pt(c, a->spec->description);
    pi(c, a->spec->starts_at);
    pi(c, a->spec->ends_at);
    pi(c, a->now);
    pi(c, a->id);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t my_event_update(void *be, int64_t id, const adm_event_spec_t *spec, int64_t now)
{
    struct event_args a = {.id = id, .spec = spec, .now = now};

    return run_write(be, event_update_body, &a);
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
    adm_err_t result;
    int64_t from;
    int changes;
    bool found;

    if ((result = use(c, Q_EVENT_LOCK)) != ADM_OK)
        goto out;
    pi(c, a->id);
    if ((result = one_int(c, &from, &found)) != ADM_OK)
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
    if ((result = use(c, Q_EVENT_SET_STATUS)) != ADM_OK)
        goto out;
    pi(c, a->status);
    pi(c, a->now);
    pi(c, a->id);
    pi(c, from);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_CONFLICT;
out:
    return result;
}

static adm_err_t my_event_set_status(void *be, int64_t id, adm_event_status_t status, int64_t now)
{
    struct event_args a = {.id = id, .status = status, .now = now};

    return run_write(be, event_set_status_body, &a);
}

static adm_err_t my_event_get(void *be, adm_read_t rd, int64_t id, adm_event_t *out)
{
    return get_one(be, rd, Q_EVENT_GET, id, rd_event, out, sizeof *out);
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
    adm_err_t result;
    void *arr = NULL;
    size_t n = 0;

    free(*a->events); /* from an earlier attempt */
    *a->events = NULL;
    *a->n = 0;
    memset(a->next, 0, sizeof *a->next);
    if ((result = use(c, Q_EVENT_SEARCH)) != ADM_OK)
        goto out;
    pt(c, q->city);
    pt(c, q->city);
    pt(c, q->category);
    pt(c, q->category);
    pt(c, q->text);
    pt(c, q->text);
    pt(c, q->text);
    pi(c, q->starts_from);
    pi(c, q->starts_from);
    pi(c, q->starts_before);
    pi(c, q->starts_before);
    pi(c, q->all_statuses);
    pi(c, q->after.starts_at);
    pi(c, q->after.starts_at);
    pi(c, q->after.id);
    pi(c, (int64_t)q->limit + 1); /* one more tells whether a next page exists */
    if ((result = read_all(c, rd_event, sizeof(adm_event_t), q->limit + 1, false, &arr, &n)) !=
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

static adm_err_t my_event_search(void *be, adm_read_t rd, const adm_event_query_t *q,
                                 adm_event_t **events, size_t *n, adm_event_cursor_t *next)
{
    struct search_args a = {.q = q, .events = events, .n = n, .next = next};

    return run_read(be, rd, event_search_body, &a);
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
    adm_err_t result;
    int64_t count;
    bool found;

    /* the event row lock makes count-then-insert safe against a concurrent create */
    if ((result = exists(c, Q_EVENT_LOCK, t->event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_TYPE_COUNT)) != ADM_OK)
        goto out;
    pi(c, t->event_id);
    if ((result = one_int(c, &count, &found)) != ADM_OK)
        goto out;
    if (count >= ADM_STORE_TYPES_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    if ((result = use(c, Q_TYPE_INSERT)) != ADM_OK)
        goto out;
    pi(c, t->event_id);
    pt(c, t->name);
    pi(c, t->price);
    pt(c, t->currency);
    pi(c, t->capacity);
    pi(c, t->per_order_max);
    pi(c, t->per_customer_max);
    pi(c, t->sale_starts);
    pi(c, t->sale_ends);
    pi(c, a->now);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

static adm_err_t my_type_create(void *be, const adm_ticket_type_spec_t *spec, int64_t now,
                                int64_t *id)
{
    struct type_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, type_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t type_update_body(conn_t *c, void *arg, bool *keep)
{
    struct type_args *a = arg;
    const adm_ticket_type_spec_t *t = a->spec;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_TYPE_UPDATE)) != ADM_OK)
        goto out;
    pt(c, t->name);
    pi(c, t->price);
    pt(c, t->currency);
    pi(c, t->capacity);
    pi(c, t->per_order_max);
    pi(c, t->per_customer_max);
    pi(c, t->sale_starts);
    pi(c, t->sale_ends);
    pi(c, a->now);
    pi(c, a->id);
    pi(c, t->capacity);
    if ((result = run(c, &changes)) != ADM_OK || changes == 1)
        goto out;
    /* no row matched: absent, or the new capacity is below sold + held */
    result = exists(c, Q_TYPE_GET, a->id);
    if (result == ADM_OK)
        result = ADM_ERR_STATE;
out:
    return result;
}

static adm_err_t my_type_update(void *be, int64_t id, const adm_ticket_type_spec_t *spec,
                                int64_t now)
{
    struct type_args a = {.id = id, .spec = spec, .now = now};

    return run_write(be, type_update_body, &a);
}

static adm_err_t my_type_get(void *be, adm_read_t rd, int64_t id, adm_ticket_type_t *out)
{
    return get_one(be, rd, Q_TYPE_GET, id, rd_type, out, sizeof *out);
}

/* A list of rows of statement q bound with up to three integers, after
 * checking that check_q finds p1 (ADM_ERR_NOT_FOUND otherwise; -1 = no check). */
struct list_args {
    int check_q, q;
    int64_t p1, p2, p3;
    int n_args;
    reader_fn reader;
    size_t elem, max;
    bool secret; /* wipe the rows when freeing them (signing seeds) */
    void **arr;
    size_t *n;
};

static adm_err_t list_body(conn_t *c, void *arg, bool *keep)
{
    struct list_args *a = arg;
    adm_err_t result;

    if (*a->arr != NULL && a->secret)
        memset(*a->arr, 0, *a->n * a->elem);
    free(*a->arr); /* from an earlier attempt */
    *a->arr = NULL;
    *a->n = 0;
    if (a->check_q >= 0 && (result = exists(c, a->check_q, a->p1)) != ADM_OK)
        goto out;
    if ((result = use(c, a->q)) != ADM_OK)
        goto out;
    pi(c, a->p1);
    if (a->n_args >= 2)
        pi(c, a->p2);
    if (a->n_args >= 3)
        pi(c, a->p3);
    result = read_all(c, a->reader, a->elem, a->max, a->secret, a->arr, a->n);
out:
    return result;
}

static adm_err_t my_type_list(void *be, adm_read_t rd, int64_t event_id, adm_ticket_type_t **types,
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

    return run_read(be, rd, list_body, &a);
}

static adm_err_t my_availability(void *be, adm_read_t rd, int64_t type_id, adm_availability_t *out)
{
    return get_one(be, rd, Q_TYPE_GET, type_id, rd_availability, out, sizeof *out);
}

/* ---- holds ---- */

/* Fills *h with hold id (lock: FOR UPDATE). ADM_ERR_NOT_FOUND. */
static adm_err_t load_hold(conn_t *c, const char *id, bool lock, adm_hold_t *h)
{
    adm_err_t result;
    bool row;

    memset(h, 0, sizeof *h);
    if ((result = use(c, lock ? Q_HOLD_LOCK : Q_HOLD_GET)) != ADM_OK)
        goto out;
    pt(c, id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? read_hold(c, h) : ADM_ERR_NOT_FOUND;
    done(c);
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
 * of the type's expired holds, the per-customer limit (under the customer's
 * row lock), the conditional UPDATE that decides whether the seats exist,
 * then the hold row. The UPDATE comes before the INSERT: the INSERT's
 * foreign-key check share-locks the type row, and two holds that each held
 * that share lock would deadlock upgrading it. */
static adm_err_t hold_create_body(conn_t *c, void *arg, bool *keep)
{
    struct hold_args *a = arg;
    int64_t event_id, per_order_max, per_customer_max, sale_starts, sale_ends, status, seats;
    adm_err_t result;
    size_t released;
    bool row, more = true;
    int changes;

    memset(a->out, 0, sizeof *a->out);
    if ((result = use(c, Q_TYPE_FOR_HOLD)) != ADM_OK)
        goto out;
    pi(c, a->type_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) != ADM_OK || !row) {
        done(c);
        result = result != ADM_OK ? result : ADM_ERR_NOT_FOUND;
        goto out;
    }
    event_id = ci(c, 0);
    per_order_max = ci(c, 1);
    per_customer_max = ci(c, 2);
    sale_starts = ci(c, 3);
    sale_ends = ci(c, 4);
    status = ci(c, 5);
    done(c);
    if ((result = exists(c, Q_USER_LOCK, a->user_id)) != ADM_OK)
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
        if ((result = use(c, Q_CUSTOMER_SEATS)) != ADM_OK)
            goto out;
        pi(c, a->user_id);
        pi(c, a->type_id);
        pi(c, a->now);
        pi(c, a->user_id);
        pi(c, a->type_id);
        pi(c, a->now);
        if ((result = one_int(c, &seats, &row)) != ADM_OK)
            goto out;
        if (seats + a->quantity > per_customer_max) {
            result = ADM_ERR_LIMIT;
            goto out;
        }
    }
    if ((result = use(c, Q_TYPE_HOLD)) != ADM_OK)
        goto out;
    pi(c, a->quantity);
    pi(c, a->type_id);
    pi(c, a->quantity);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes == 0) {
        result = ADM_ERR_SOLD_OUT;
        goto out;
    }
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
        if ((result = use(c, Q_HOLD_INSERT)) != ADM_OK)
            goto out;
        pt(c, a->id);
        pi(c, a->user_id);
        pi(c, a->type_id);
        pi(c, event_id);
        pi(c, a->quantity);
        pi(c, a->now);
        pi(c, a->now + a->ttl_s);
        result = run(c, NULL);
        if (result != ADM_ERR_EXISTS)
            break;
        adm_store_random_hold_id(a->id); /* 128-bit collision: practically never */
    }
    if (result != ADM_OK)
        goto out;
    memcpy(a->out->id, a->id, sizeof a->out->id);
    a->out->user_id = a->user_id;
    a->out->type_id = a->type_id;
    a->out->event_id = event_id;
    a->out->quantity = a->quantity;
    a->out->state = ADM_HOLD_ACTIVE;
    a->out->created = a->now;
    a->out->expires_at = a->now + a->ttl_s;
out:
    if (result != ADM_OK)
        memset(a->out, 0, sizeof *a->out);
    return result;
}

static adm_err_t my_hold_create(void *be, const char *hold_id, int64_t user_id, int64_t type_id,
                                int32_t quantity, int32_t ttl_s, int64_t now, adm_hold_t *out)
{
    struct hold_args a = {.user_id = user_id,
                          .type_id = type_id,
                          .quantity = quantity,
                          .ttl_s = ttl_s,
                          .now = now,
                          .out = out};

    snprintf(a.id, sizeof a.id, "%s", hold_id);
    return run_write(be, hold_create_body, &a);
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
    adm_err_t result = load_hold(c, a->id, false, a->out);

    if (result == ADM_OK && a->out->user_id != a->user_id) {
        memset(a->out, 0, sizeof *a->out);
        result = ADM_ERR_NOT_FOUND;
    }
    return result;
}

static adm_err_t my_hold_get(void *be, int64_t user_id, const char *hold_id, adm_hold_t *out)
{
    struct hold_ref_args a = {.user_id = user_id, .id = hold_id, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, hold_get_body, &a);
}

static adm_err_t hold_release_body(conn_t *c, void *arg, bool *keep)
{
    struct hold_ref_args *a = arg;
    adm_hold_t h;
    adm_err_t result;
    bool did;

    if ((result = load_hold(c, a->id, true, &h)) != ADM_OK)
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

static adm_err_t my_hold_release(void *be, int64_t user_id, const char *hold_id, int64_t now)
{
    struct hold_ref_args a = {.user_id = user_id, .id = hold_id, .now = now};

    return run_write(be, hold_release_body, &a);
}

struct reap_args {
    int64_t now;
    size_t count;
    bool more;
    int q; /* reap_delete_body: the DELETE statement */
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
    adm_err_t result;
    size_t n = 0;
    bool row, did;

    a->count = 0;
    a->more = false;
    if ((result = use(c, Q_ORDER_EXPIRED)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, BATCH);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row && n < BATCH)
        ids[n++] = ci(c, 0);
    done(c);
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

static adm_err_t my_reap_holds(void *be, int64_t now, size_t *holds, size_t *orders)
{
    struct reap_args a = {.now = now, .more = true};
    adm_err_t result = ADM_OK;

    *holds = 0;
    *orders = 0;
    /* short transactions, so holds and checkouts get the rows in between */
    while (result == ADM_OK && a.more) {
        result = run_write(be, reap_holds_body, &a);
        if (result == ADM_OK)
            *holds += a.count;
    }
    a.more = true;
    while (result == ADM_OK && a.more) {
        result = run_write(be, reap_orders_body, &a);
        if (result == ADM_OK)
            *orders += a.count;
    }
    return result;
}

static adm_err_t reap_delete_body(conn_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;
    adm_err_t result;
    int changes = 0;

    a->count = 0;
    if ((result = use(c, a->q)) != ADM_OK)
        goto out;
    pi(c, a->q == Q_IDEM_REAP ? a->now - ADM_STORE_IDEM_TTL_S : a->now);
    pi(c, DELETE_BATCH);
    result = run(c, &changes);
    a->count = (size_t)changes;
    a->more = changes == DELETE_BATCH;
out:
    return result;
}

static adm_err_t reap_deletes(be_t *be, int q, int64_t now, size_t *total)
{
    struct reap_args a = {.now = now, .more = true, .q = q};
    adm_err_t result = ADM_OK;

    *total = 0;
    while (result == ADM_OK && a.more) {
        result = run_write(be, reap_delete_body, &a);
        if (result == ADM_OK)
            *total += a.count;
    }
    return result;
}

static adm_err_t my_reap_other(void *be, int64_t now, size_t *sessions, size_t *idempotency)
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
    adm_err_t result = ADM_OK;
    adm_hold_t h;
    int changes;
    bool row;

    for (size_t i = 0; i < a->n; i++) {
        int64_t status;

        /* the hold row stays locked, so its state cannot change under us */
        if ((result = load_hold(c, a->hold_ids[i], true, &h)) != ADM_OK)
            goto out;
        if ((result = use(c, Q_TYPE_PRICE)) != ADM_OK)
            goto out;
        pi(c, h.type_id);
        if ((result = exec(c)) != ADM_OK)
            goto out;
        if ((result = step(c, &row)) != ADM_OK || !row) {
            done(c);
            result = result != ADM_OK ? result : ADM_ERR_STORE; /* a hold without its type */
            goto out;
        }
        items[i].price = ci(c, 0);
        ct(c, 1, cur, sizeof cur);
        status = ci(c, 2);
        done(c);
        if ((result = take_bad(c)) != ADM_OK)
            goto out;
        items[i].type_id = h.type_id;
        items[i].event_id = h.event_id;
        items[i].quantity = h.quantity;
        if (h.user_id != a->user_id)
            result = ADM_ERR_NOT_FOUND;
        else if (h.state == ADM_HOLD_EXPIRED ||
                 (h.state == ADM_HOLD_ACTIVE && h.expires_at <= a->now))
            result = ADM_ERR_EXPIRED;
        else if (h.state != ADM_HOLD_ACTIVE || status != ADM_EVENT_ON_SALE)
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
        if ((result = use(c, Q_ORDER_INSERT)) != ADM_OK)
            goto out;
        pt(c, code);
        pi(c, a->user_id);
        pi(c, total);
        pt(c, currency);
        pi(c, a->now);
        pi(c, a->now);
        pi(c, a->now + a->pay_ttl_s);
        if ((result = run(c, NULL)) != ADM_ERR_EXISTS) /* 40-bit codes can collide */
            break;
    }
    if (result != ADM_OK)
        goto out;
    order_id = insert_id(c);
    for (size_t i = 0; i < a->n; i++) {
        if ((result = use(c, Q_ITEM_INSERT)) != ADM_OK)
            goto out;
        pi(c, order_id);
        pi(c, items[i].type_id);
        pi(c, items[i].event_id);
        pi(c, items[i].quantity);
        pi(c, items[i].price);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
        if ((result = use(c, Q_HOLD_CONVERT)) != ADM_OK)
            goto out;
        pi(c, order_id);
        pt(c, a->hold_ids[i]);
        if ((result = run(c, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STATE;
            goto out;
        }
    }
    result = load_order(c, 0, order_id, NULL, false, a->out);
out:
    return result;
}

static adm_err_t my_checkout(void *be, int64_t user_id, const char *const *hold_ids, size_t n,
                             int32_t pay_ttl_s, int64_t now, adm_order_t *out)
{
    struct checkout_args a = {.user_id = user_id,
                              .hold_ids = hold_ids,
                              .n = n,
                              .pay_ttl_s = pay_ttl_s,
                              .now = now,
                              .out = out};

    return run_write(be, checkout_body, &a);
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
    item_row_t items[ADM_STORE_ORDER_ITEMS_MAX];
    adm_err_t result;
    int64_t v;
    int changes;
    bool found;

    if ((result = load_order(c, 0, a->order_id, NULL, true, o)) != ADM_OK)
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
    if ((result = use(c, Q_ORDER_OFF_SALE)) != ADM_OK)
        goto out;
    pi(c, o->id);
    if ((result = one_int(c, &v, &found)) != ADM_OK)
        goto out;
    if (v != 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_ORDER_REF_OWNER)) != ADM_OK)
        goto out;
    pt(c, a->provider);
    pt(c, a->provider_ref);
    if ((result = one_int(c, &v, &found)) != ADM_OK)
        goto out;
    if (found) {
        result = ADM_ERR_EXISTS;
        goto out;
    }
    if ((result = use(c, Q_ORDER_MARK_PAID)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, a->now);
    pt(c, a->provider);
    pt(c, a->provider_ref);
    pi(c, o->id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    /* counters first, in type order (see sort_items), so the tickets'
     * foreign-key share locks on those rows come after our exclusive ones */
    for (size_t i = 0; i < o->n_items; i++) {
        items[i].type_id = o->items[i].type_id;
        items[i].quantity = o->items[i].quantity;
    }
    sort_items(items, o->n_items);
    for (size_t i = 0; i < o->n_items; i++) {
        if ((result = use(c, Q_TYPE_SELL)) != ADM_OK)
            goto out;
        pi(c, items[i].quantity);
        pi(c, items[i].quantity);
        pi(c, items[i].type_id);
        pi(c, items[i].quantity);
        if ((result = run(c, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STORE; /* the order's seats were not held: corrupt counters */
            goto out;
        }
    }
    for (size_t i = 0; i < o->n_items; i++) {
        const adm_order_item_t *it = &o->items[i];

        for (int32_t q = 0; q < it->quantity; q++) {
            for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
                if ((result = use(c, Q_TICKET_INSERT)) != ADM_OK)
                    goto out;
                pi(c, adm_store_random_ticket_id());
                pi(c, it->event_id);
                pi(c, it->type_id);
                pi(c, o->id);
                pi(c, o->user_id);
                pi(c, a->now);
                if ((result = run(c, NULL)) != ADM_ERR_EXISTS)
                    break;
            }
            if (result != ADM_OK)
                goto out;
        }
    }
    result = load_order(c, 0, o->id, NULL, false, o);
out:
    if (result != ADM_OK)
        memset(o, 0, sizeof *o);
    return result;
}

static adm_err_t my_order_pay(void *be, int64_t order_id, const char *provider,
                              const char *provider_ref, int64_t now, adm_order_t *out)
{
    struct order_args a = {.order_id = order_id,
                           .provider = provider,
                           .provider_ref = provider_ref,
                           .now = now,
                           .out = out};

    return run_write(be, order_pay_body, &a);
}

static adm_err_t order_cancel_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    adm_order_t o;
    adm_err_t result;
    bool did;

    if ((result = load_order(c, a->user_id, a->order_id, NULL, true, &o)) != ADM_OK)
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

static adm_err_t my_order_cancel(void *be, int64_t user_id, int64_t order_id, int64_t now)
{
    struct order_args a = {.user_id = user_id, .order_id = order_id, .now = now};

    return run_write(be, order_cancel_body, &a);
}

static adm_err_t order_refund_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    struct ticket_ref {
        int64_t id, event_id;
    } *tickets = NULL;
    item_row_t items[ADM_STORE_ORDER_ITEMS_MAX];
    size_t n = 0, cap = 0;
    adm_order_t o;
    adm_err_t result;
    int64_t seq;
    int changes;
    bool row;

    a->revoked = 0;
    if ((result = load_order(c, 0, a->order_id, NULL, true, &o)) != ADM_OK)
        goto out;
    if (o.state != ADM_ORDER_PAID) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_ORDER_MARK_REFUNDED)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, o.id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_TICKETS_VALID_OF_ORDER)) != ADM_OK)
        goto out;
    pi(c, o.id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        if ((result = grow((void **)&tickets, &cap, n, sizeof *tickets,
                           ADM_STORE_ORDER_TICKETS_MAX)) != ADM_OK)
            break;
        tickets[n].id = ci(c, 0);
        tickets[n].event_id = ci(c, 1);
        n++;
    }
    done(c);
    if (result != ADM_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((result = revoke_ticket(c, tickets[i].id, tickets[i].event_id, a->now, &seq)) != ADM_OK)
            goto out;
        a->revoked++;
    }
    for (size_t i = 0; i < o.n_items; i++) {
        items[i].type_id = o.items[i].type_id;
        items[i].quantity = o.items[i].quantity;
    }
    sort_items(items, o.n_items);
    for (size_t i = 0; i < o.n_items; i++) {
        if ((result = use(c, Q_TYPE_UNSELL)) != ADM_OK)
            goto out;
        pi(c, items[i].quantity);
        pi(c, items[i].type_id);
        pi(c, items[i].quantity);
        if ((result = run(c, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STORE;
            goto out;
        }
    }
out:
    free(tickets);
    return result;
}

static adm_err_t my_order_refund(void *be, int64_t order_id, int64_t now, size_t *revoked)
{
    struct order_args a = {.order_id = order_id, .now = now};
    adm_err_t result = run_write(be, order_refund_body, &a);

    *revoked = result == ADM_OK ? a.revoked : 0;
    return result;
}

static adm_err_t order_get_body(conn_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;

    return load_order(c, a->user_id, a->order_id, a->code, false, a->out);
}

static adm_err_t my_order_get(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                              const char *code, adm_order_t *out)
{
    struct order_args a = {.user_id = user_id, .order_id = order_id, .code = code, .out = out};

    return run_read(be, rd, order_get_body, &a);
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
    adm_err_t result;
    void *arr = NULL;
    size_t n = 0;

    free(*a->orders); /* from an earlier attempt */
    *a->orders = NULL;
    *a->n = 0;
    if ((result = use(c, Q_ORDER_LIST)) != ADM_OK)
        goto out;
    pi(c, a->user_id);
    pi(c, a->before_id);
    pi(c, a->before_id);
    pi(c, (int64_t)a->limit);
    if ((result = read_all(c, rd_order, sizeof(adm_order_t), a->limit, false, &arr, &n)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        adm_order_t *o = (adm_order_t *)arr + i;
        result = load_order(c, a->user_id, o->id, NULL, false, o);
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

static adm_err_t my_order_list(void *be, adm_read_t rd, int64_t user_id, int64_t before_id,
                               size_t limit, adm_order_t **orders, size_t *n)
{
    struct order_list_args a = {
        .user_id = user_id, .before_id = before_id, .limit = limit, .orders = orders, .n = n};

    return run_read(be, rd, order_list_body, &a);
}

struct tickets_args {
    int64_t user_id, order_id;
    adm_store_ticket_t **tickets;
    size_t *n;
};

static adm_err_t order_tickets_body(conn_t *c, void *arg, bool *keep)
{
    struct tickets_args *a = arg;
    adm_order_t o;
    adm_err_t result;

    free(*a->tickets); /* from an earlier attempt */
    *a->tickets = NULL;
    *a->n = 0;
    if ((result = load_order(c, a->user_id, a->order_id, NULL, false, &o)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_TICKETS_OF_ORDER)) != ADM_OK)
        goto out;
    pi(c, o.id);
    result = read_all(c, rd_ticket, sizeof(adm_store_ticket_t), ADM_STORE_ORDER_TICKETS_MAX, false,
                      (void **)a->tickets, a->n);
out:
    return result;
}

static adm_err_t my_order_tickets(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                                  adm_store_ticket_t **tickets, size_t *n)
{
    struct tickets_args a = {.user_id = user_id, .order_id = order_id, .tickets = tickets, .n = n};

    return run_read(be, rd, order_tickets_body, &a);
}

static adm_err_t my_ticket_get(void *be, adm_read_t rd, int64_t ticket_id, adm_store_ticket_t *out)
{
    return get_one(be, rd, Q_TICKET_GET, ticket_id, rd_ticket, out, sizeof *out);
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
    adm_err_t result;
    int changes;

    memset(&t, 0, sizeof t);
    if ((result = get_by_id(c, Q_TICKET_LOCK, a->ticket_id, rd_ticket, &t)) != ADM_OK)
        goto out;
    if (t.key_id != 0 || t.token[0] != '\0') {
        result = strcmp(t.token, a->token) == 0 ? ADM_OK : ADM_ERR_EXISTS;
        goto out;
    }
    if ((result = use(c, Q_TICKET_SET_TOKEN)) != ADM_OK)
        goto out;
    pt(c, a->token);
    pi(c, a->key_id);
    pi(c, a->ticket_id);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_EXISTS;
out:
    return result;
}

static adm_err_t my_ticket_set_token(void *be, int64_t ticket_id, uint32_t key_id,
                                     const char *token)
{
    struct ticket_args a = {.ticket_id = ticket_id, .key_id = key_id, .token = token};

    return run_write(be, ticket_set_token_body, &a);
}

static adm_err_t my_ticket_list_unsigned(void *be, size_t limit, adm_store_ticket_t **tickets,
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

    return run_read(be, ADM_READ_HINT_PRIMARY, list_body, &a);
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

static adm_err_t my_ticket_revoke(void *be, int64_t ticket_id, int64_t now, int64_t *seq)
{
    struct ticket_args a = {.ticket_id = ticket_id, .now = now};
    adm_err_t result = run_write(be, ticket_revoke_body, &a);

    *seq = result == ADM_OK ? a.seq : 0;
    return result;
}

static adm_err_t my_revocations_since(void *be, adm_read_t rd, int64_t event_id, int64_t after_seq,
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

    return run_read(be, rd, list_body, &a);
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
    adm_err_t result;

    if ((result = use(c, Q_USER_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->spec->email);
    pt(c, a->spec->password_hash);
    pt(c, a->spec->display_name);
    pi(c, a->spec->role);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

static adm_err_t my_user_create(void *be, const adm_user_spec_t *spec, int64_t now, int64_t *id)
{
    struct user_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, user_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t user_get_body(conn_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    adm_err_t result;
    bool row;

    memset(a->out, 0, sizeof *a->out);
    if (a->id != 0) {
        result = get_by_id(c, Q_USER_GET, a->id, rd_user, a->out);
        goto out;
    }
    if ((result = use(c, Q_USER_BY_EMAIL)) != ADM_OK)
        goto out;
    pt(c, a->email);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? read_user(c, a->out) : ADM_ERR_NOT_FOUND;
    done(c);
out:
    if (result != ADM_OK)
        memset(a->out, 0, sizeof *a->out);
    return result;
}

static adm_err_t my_user_get(void *be, adm_read_t rd, int64_t id, const char *email,
                             adm_user_t *out)
{
    struct user_args a = {.id = id, .email = email, .out = out};

    return run_read(be, rd, user_get_body, &a);
}

static adm_err_t user_set_password_body(conn_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_USER_SET_PASSWORD)) != ADM_OK)
        goto out;
    pt(c, a->password_hash);
    pi(c, a->id);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t my_user_set_password(void *be, int64_t id, const char *password_hash)
{
    struct user_args a = {.id = id, .password_hash = password_hash};

    return run_write(be, user_set_password_body, &a);
}

struct session_args {
    const char *hash;
    int64_t user_id, now, expires_at;
    adm_session_t *out;
};

static adm_err_t session_create_body(conn_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    adm_err_t result;

    if ((result = exists(c, Q_USER_EXISTS, a->user_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_SESSION_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    pi(c, a->user_id);
    pi(c, a->now);
    pi(c, a->expires_at);
    result = run(c, NULL);
out:
    return result;
}

static adm_err_t my_session_create(void *be, const char *hash_hex, int64_t user_id, int64_t now,
                                   int64_t expires_at)
{
    struct session_args a = {
        .hash = hash_hex, .user_id = user_id, .now = now, .expires_at = expires_at};

    return run_write(be, session_create_body, &a);
}

static adm_err_t session_lookup_body(conn_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    adm_err_t result;
    bool row;

    memset(a->out, 0, sizeof *a->out);
    if ((result = use(c, Q_SESSION_GET)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && !row)
        result = ADM_ERR_NOT_FOUND;
    if (result == ADM_OK) {
        a->out->user_id = ci(c, 0);
        a->out->role = (adm_role_t)ci(c, 1);
        a->out->created = ci(c, 2);
        a->out->expires_at = ci(c, 3);
        if (a->out->expires_at <= a->now) {
            memset(a->out, 0, sizeof *a->out);
            result = ADM_ERR_EXPIRED;
        }
    }
    done(c);
out:
    return result;
}

static adm_err_t my_session_lookup(void *be, const char *hash_hex, int64_t now, adm_session_t *out)
{
    struct session_args a = {.hash = hash_hex, .now = now, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, session_lookup_body, &a);
}

static adm_err_t session_delete_body(conn_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_SESSION_DELETE)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

static adm_err_t my_session_delete(void *be, const char *hash_hex)
{
    struct session_args a = {.hash = hash_hex};

    return run_write(be, session_delete_body, &a);
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

/* Reads the record of (scope, key): *found when it is live, *stale when it
 * is past its TTL, and its status. */
static adm_err_t idem_status(conn_t *c, const struct idem_args *a, bool *found, bool *stale,
                             int64_t *status)
{
    adm_err_t result;
    bool row;

    *found = *stale = false;
    *status = 0;
    if ((result = use(c, Q_IDEM_GET)) != ADM_OK)
        goto out;
    pt(c, a->scope);
    pt(c, a->key);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && row) {
        *status = ci(c, 0);
        *stale = ci(c, 3) + ADM_STORE_IDEM_TTL_S <= a->now;
        *found = !*stale;
    }
    done(c);
out:
    return result;
}

static adm_err_t idem_put_body(conn_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
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
        if ((result = use(c, Q_IDEM_DELETE_STALE)) != ADM_OK)
            goto out;
        pt(c, a->scope);
        pt(c, a->key);
        pi(c, a->now - ADM_STORE_IDEM_TTL_S);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
    }
    /* a concurrent first writer makes this a duplicate key: ADM_ERR_EXISTS */
    if ((result = use(c, Q_IDEM_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->scope);
    pt(c, a->key);
    pt(c, a->fingerprint);
    pi(c, a->status);
    pb(c, a->body, a->body_len);
    pi(c, a->now);
    result = run(c, NULL);
out:
    return result;
}

static adm_err_t my_idem_put(void *be, const char *scope, const char *key, const char *fingerprint,
                             int status, const void *body, size_t body_len, int64_t now)
{
    struct idem_args a = {.scope = scope,
                          .key = key,
                          .fingerprint = fingerprint,
                          .status = status,
                          .body = body,
                          .body_len = body_len,
                          .now = now};

    return run_write(be, idem_put_body, &a);
}

static adm_err_t idem_complete_body(conn_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
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
    if ((result = use(c, Q_IDEM_COMPLETE)) != ADM_OK)
        goto out;
    pi(c, a->status);
    pb(c, a->body, a->body_len);
    pt(c, a->scope);
    pt(c, a->key);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_STATE;
out:
    return result;
}

static adm_err_t my_idem_complete(void *be, const char *scope, const char *key, int status,
                                  const void *body, size_t body_len, int64_t now)
{
    struct idem_args a = {.scope = scope,
                          .key = key,
                          .status = status,
                          .body = body,
                          .body_len = body_len,
                          .now = now};

    return run_write(be, idem_complete_body, &a);
}

static adm_err_t idem_get_body(conn_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    adm_idem_t *out = a->out;
    const void *blob;
    adm_err_t result;
    size_t len;
    bool row;

    free(out->body); /* from an earlier attempt */
    memset(out, 0, sizeof *out);
    if ((result = use(c, Q_IDEM_GET)) != ADM_OK)
        goto out;
    pt(c, a->scope);
    pt(c, a->key);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) != ADM_OK)
        goto done;
    if (!row || ci(c, 3) + ADM_STORE_IDEM_TTL_S <= a->now) {
        result = ADM_ERR_NOT_FOUND;
        goto done;
    }
    out->status = (int)ci(c, 0);
    ct(c, 1, out->fingerprint, sizeof out->fingerprint);
    out->created = ci(c, 3);
    blob = cb(c, 2, &len);
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
    done(c);
out:
    if (result != ADM_OK) {
        free(out->body);
        memset(out, 0, sizeof *out);
    }
    return result;
}

static adm_err_t my_idem_get(void *be, const char *scope, const char *key, int64_t now,
                             adm_idem_t *out)
{
    struct idem_args a = {.scope = scope, .key = key, .now = now, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, idem_get_body, &a);
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
    adm_err_t result;
    int64_t count;
    bool found;

    /* the event row lock makes count-then-insert safe against a concurrent add */
    if ((result = exists(c, Q_EVENT_LOCK, a->event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_KEY_COUNT)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    if ((result = one_int(c, &count, &found)) != ADM_OK)
        goto out;
    if (count >= ADM_STORE_EVENT_KEYS_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    if ((result = use(c, Q_KEY_INSERT)) != ADM_OK)
        goto out;
    pi(c, a->kid);
    pi(c, a->event_id);
    pb(c, a->seed, ADM_KEY_SEED_BYTES);
    pi(c, a->now);
    result = run(c, NULL);
out:
    return result;
}

static adm_err_t my_event_key_add(void *be, int64_t event_id, uint32_t kid,
                                  const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .seed = seed, .now = now};

    return run_write(be, event_key_add_body, &a);
}

static adm_err_t my_event_key_list(void *be, adm_read_t rd, int64_t event_id,
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

    return run_read(be, rd, list_body, &a);
}

static adm_err_t event_key_retire_body(conn_t *c, void *arg, bool *keep)
{
    struct key_args *a = arg;
    adm_err_t result;
    int64_t v;
    bool found;

    if ((result = use(c, Q_KEY_EXISTS)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    pi(c, a->kid);
    if ((result = one_int(c, &v, &found)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if ((result = use(c, Q_KEY_RETIRE)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, a->event_id);
    pi(c, a->kid);
    result = run(c, NULL); /* already retired: no row changes, still ADM_OK */
out:
    return result;
}

static adm_err_t my_event_key_retire(void *be, int64_t event_id, uint32_t kid, int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .now = now};

    return run_write(be, event_key_retire_body, &a);
}

/* ---- reports ---- */

static adm_err_t my_sales_by_type(void *be, adm_read_t rd, int64_t event_id,
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

    return run_read(be, rd, list_body, &a);
}

const adm_store_ops_t adm_store_mysql_ops = {
    .name = "mysql",
    .open = my_open,
    .close = my_close,
    .ping = my_ping,
    .write_position = my_write_position,
    .schema_version = my_schema_version,
    .venue_create = my_venue_create,
    .venue_update = my_venue_update,
    .venue_get = my_venue_get,
    .event_create = my_event_create,
    .event_update = my_event_update,
    .event_set_status = my_event_set_status,
    .event_get = my_event_get,
    .event_search = my_event_search,
    .type_create = my_type_create,
    .type_update = my_type_update,
    .type_get = my_type_get,
    .type_list = my_type_list,
    .availability = my_availability,
    .hold_create = my_hold_create,
    .hold_get = my_hold_get,
    .hold_release = my_hold_release,
    .reap_holds = my_reap_holds,
    .reap_other = my_reap_other,
    .checkout = my_checkout,
    .order_pay = my_order_pay,
    .order_cancel = my_order_cancel,
    .order_refund = my_order_refund,
    .order_get = my_order_get,
    .order_list = my_order_list,
    .order_tickets = my_order_tickets,
    .ticket_get = my_ticket_get,
    .ticket_set_token = my_ticket_set_token,
    .ticket_list_unsigned = my_ticket_list_unsigned,
    .ticket_revoke = my_ticket_revoke,
    .revocations_since = my_revocations_since,
    .user_create = my_user_create,
    .user_get = my_user_get,
    .user_set_password = my_user_set_password,
    .session_create = my_session_create,
    .session_lookup = my_session_lookup,
    .session_delete = my_session_delete,
    .idem_put = my_idem_put,
    .idem_complete = my_idem_complete,
    .idem_get = my_idem_get,
    .event_key_add = my_event_key_add,
    .event_key_list = my_event_key_list,
    .event_key_retire = my_event_key_retire,
    .sales_by_type = my_sales_by_type,
};
