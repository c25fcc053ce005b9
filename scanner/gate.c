/* gate.c: the gate engine's SQLite store: open, migrations, the cached
 * header (event, device, keys), presence, incremental revocations and
 * check-ins, the journal reader. Not the verdict (verdict.c), not the
 * snapshot document (snapshot.c), not sync feed pages (sync-apply.c). */
#include "scanner/gate-impl.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbered migrations; PRAGMA user_version is the number applied. Append only. */
static const char *const migrations[] = {
    /* 1: snapshot, presence, journal */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE ticket_types(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE ticket_status(ticket_id INTEGER PRIMARY KEY, status TEXT NOT NULL);"
    "CREATE TABLE revocations(seq INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL);"
    "CREATE INDEX revocations_ticket ON revocations(ticket_id);"
    "CREATE TABLE lists(id INTEGER PRIMARY KEY, name TEXT NOT NULL, reentry INTEGER NOT NULL);"
    "CREATE TABLE list_types(list_id INTEGER NOT NULL, type_id INTEGER NOT NULL,"
    " PRIMARY KEY(list_id, type_id)) WITHOUT ROWID;"
    "CREATE TABLE list_gates(list_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " PRIMARY KEY(list_id, name)) WITHOUT ROWID;"
    "CREATE TABLE remote_checkins(id INTEGER PRIMARY KEY, nonce TEXT UNIQUE,"
    " ticket_id INTEGER NOT NULL, list_id INTEGER NOT NULL, at INTEGER NOT NULL,"
    " gate TEXT NOT NULL, device TEXT NOT NULL, direction TEXT NOT NULL);"
    "CREATE TABLE presence(list_id INTEGER NOT NULL, ticket_id INTEGER NOT NULL,"
    " entries INTEGER NOT NULL, inside INTEGER NOT NULL, first_at INTEGER,"
    " first_gate TEXT, first_device TEXT, PRIMARY KEY(list_id, ticket_id)) WITHOUT ROWID;"
    "CREATE TABLE journal(seq INTEGER PRIMARY KEY, nonce TEXT NOT NULL UNIQUE,"
    " at INTEGER NOT NULL, gate TEXT NOT NULL, device TEXT NOT NULL, list_id INTEGER NOT NULL,"
    " direction TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL, ticket_id INTEGER,"
    " attention INTEGER NOT NULL, text_hash TEXT NOT NULL, uploaded INTEGER NOT NULL DEFAULT 0);",
    /* 2: sync (docs/scanning.md §6): conflict flags from the server, the upload
     * queue, revocation reasons, presence's latest applied time, per-ticket lookups */
    "ALTER TABLE journal ADD COLUMN conflict INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX journal_pending ON journal(seq) WHERE uploaded = 0;"
    "CREATE INDEX journal_ticket ON journal(ticket_id, list_id);"
    "ALTER TABLE revocations ADD COLUMN reason TEXT NOT NULL DEFAULT 'revoked';"
    "ALTER TABLE presence ADD COLUMN last_at INTEGER;"
    "CREATE INDEX remote_checkins_ticket ON remote_checkins(ticket_id, list_id);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const sql_text[N_Q] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_LIST] = "SELECT reentry, (SELECT count(*) FROM list_gates WHERE list_id = ?1),"
               " EXISTS(SELECT 1 FROM list_gates WHERE list_id = ?1 AND name = ?2)"
               " FROM lists WHERE id = ?1",
    /* a list without ticket types admits every type (docs/sync.md §4) */
    [Q_TYPE_OK] = "SELECT 1 WHERE EXISTS(SELECT 1 FROM list_types WHERE list_id = ?1 AND"
                  " type_id = ?2) OR NOT EXISTS(SELECT 1 FROM list_types WHERE list_id = ?1)",
    [Q_REVOKED] = "SELECT reason FROM revocations WHERE ticket_id = ?1 ORDER BY seq DESC LIMIT 1",
    [Q_STATUS] = "SELECT status FROM ticket_status WHERE ticket_id = ?1",
    [Q_PRESENCE] = "SELECT entries, inside, first_at, first_gate, first_device FROM presence"
                   " WHERE list_id = ?1 AND ticket_id = ?2",
    [Q_ENTER] = "INSERT INTO presence(list_id, ticket_id, entries, inside, first_at, first_gate,"
                " first_device, last_at) VALUES(?1, ?2, 1, 1, ?3, ?4, ?5, ?3)"
                " ON CONFLICT(list_id, ticket_id) DO UPDATE SET entries = entries + 1,"
                " inside = 1,"
                " first_gate = CASE WHEN first_at IS NULL OR excluded.first_at < first_at"
                "  THEN excluded.first_gate ELSE first_gate END,"
                " first_device = CASE WHEN first_at IS NULL OR excluded.first_at < first_at"
                "  THEN excluded.first_device ELSE first_device END,"
                " first_at = CASE WHEN first_at IS NULL OR excluded.first_at < first_at"
                "  THEN excluded.first_at ELSE first_at END,"
                " last_at = CASE WHEN last_at IS NULL OR excluded.last_at > last_at"
                "  THEN excluded.last_at ELSE last_at END",
    [Q_EXIT] = "INSERT INTO presence(list_id, ticket_id, entries, inside, last_at)"
               " VALUES(?1, ?2, 0, 0, ?3)"
               " ON CONFLICT(list_id, ticket_id) DO UPDATE SET inside = 0,"
               " last_at = CASE WHEN last_at IS NULL OR excluded.last_at > last_at"
               "  THEN excluded.last_at ELSE last_at END",
    [Q_JOURNAL] = "INSERT INTO journal(nonce, at, gate, device, list_id, direction, verdict,"
                  " reason, ticket_id, attention, text_hash)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [Q_DATA_VERSION] = "PRAGMA data_version",
    /* presence rows without last_at predate migration 2: recompute them */
    [Q_LAST_AT] = "SELECT last_at FROM presence WHERE list_id = ?1 AND ticket_id = ?2",
    [Q_TICKET_ROWS] = "SELECT at, gate, device, direction FROM ("
                      " SELECT at, gate, device, direction, 0 AS src, id AS n"
                      " FROM remote_checkins WHERE ticket_id = ?2 AND list_id = ?1 UNION ALL"
                      " SELECT at, gate, device, direction, 1, seq FROM journal"
                      " WHERE ticket_id = ?2 AND list_id = ?1 AND verdict = 'accept')"
                      " ORDER BY at, src, n",
};

/* Runs sql with parameters described by fmt: 'i' int64_t, 't' const char *
 * (NULL binds NULL). Returns the last sqlite3_step code (SQLITE_DONE,
 * SQLITE_ROW) or an error code. For the cold paths (import, open). */
int adm_gate_sql(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s = NULL;
    va_list ap;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    if (rc != SQLITE_OK)
        return rc;
    va_start(ap, fmt);
    for (int i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
        if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
        } else {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(s, i + 1, t, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(s, i + 1);
        }
    }
    va_end(ap);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc;
}

bool adm_gate_sql_ok(int rc)
{
    return rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW;
}

/* one bound, stepped hot-path statement; reset by done() */
sqlite3_stmt *adm_gate_stmt(adm_gate_t *g, int q)
{
    sqlite3_reset(g->q[q]);
    sqlite3_clear_bindings(g->q[q]);
    return g->q[q];
}

int adm_gate_step(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc;
}

void adm_gate_hex(const uint8_t *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static adm_err_t migrate(sqlite3 *db)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s = NULL;
    int version = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    if (version < 0 || version > N_MIGRATIONS)
        goto out; /* unreadable or written by a newer admit-gate */
    for (int v = version; v < N_MIGRATIONS; v++) {
        char pragma[48];
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto out;
        }
        if (v == 0) { /* a new store: its device id */
            uint8_t rnd[8];
            char hex[17];
            randombytes_buf(rnd, sizeof rnd);
            adm_gate_hex(rnd, sizeof rnd, hex);
            if (adm_gate_meta_set(db, "device", hex) != ADM_OK) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                goto out;
            }
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
    }
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}

adm_err_t adm_gate_meta_get(sqlite3 *db, const char *key, char **out)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s = NULL;
    int rc;

    *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        *out = strdup(v ? v : "");
        if (*out == NULL) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
    } else if (rc != SQLITE_DONE) {
        goto out;
    }
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}

adm_err_t adm_gate_meta_set(sqlite3 *db, const char *key, const char *value)
{
    int rc = value != NULL ? adm_gate_sql(db,
                                          "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                          "tt", key, value)
                           : adm_gate_sql(db, "DELETE FROM meta WHERE key = ?1", "t", key);
    return rc == SQLITE_DONE ? ADM_OK : ADM_ERR_STORE;
}

/* ---- the cached snapshot header: event id, device id, keyring ---- */

static void keys_hash(const char *keys, uint8_t out[32])
{
    crypto_generichash(out, 32, (const uint8_t *)keys, strlen(keys), NULL, 0);
}

void adm_gate_keys_take(adm_gate_t *g, adm_keyring_t *kr, const char *keys)
{
    adm_keyring_free(g->kr);
    g->kr = kr;
    keys_hash(keys, g->keys_hash);
}

adm_err_t adm_gate_keys_use(adm_gate_t *g, const char *keys)
{
    adm_err_t result;
    adm_keyring_t *kr = NULL;
    uint8_t h[32];

    keys_hash(keys, h);
    if (sodium_memcmp(h, g->keys_hash, sizeof h) == 0)
        return ADM_OK;
    if ((result = adm_keyring_new(&kr)) != ADM_OK ||
        (result = adm_keyring_load_public_json(kr, keys, strlen(keys))) != ADM_OK) {
        adm_keyring_free(kr);
        return result;
    }
    adm_gate_keys_take(g, kr, keys);
    return ADM_OK;
}

adm_err_t adm_gate_reload(adm_gate_t *g)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *q = adm_gate_stmt(g, Q_DATA_VERSION);
    int64_t version;
    char *v = NULL;

    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_reset(q);
        goto out;
    }
    version = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (version == g->data_version) {
        result = ADM_OK;
        goto out;
    }
    if ((result = adm_gate_meta_get(g->db, "device", &v)) != ADM_OK)
        goto out;
    snprintf(g->device, sizeof g->device, "%s", v ? v : "");
    free(v);
    if ((result = adm_gate_meta_get(g->db, "event_id", &v)) != ADM_OK)
        goto out;
    g->event_id = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
    free(v);
    if ((result = adm_gate_meta_get(g->db, "keys", &v)) != ADM_OK)
        goto out;
    if (v != NULL && (result = adm_gate_keys_use(g, v)) != ADM_OK)
        goto out;
    g->data_version = version;
    result = ADM_OK;
out:
    free(v);
    return result;
}

adm_err_t adm_gate_open(const char *path, adm_gate_t **out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_gate_t *g = NULL;

    if (out == NULL || path == NULL)
        goto out;
    *out = NULL;
    if ((result = adm_crypto_init()) != ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    if ((g = calloc(1, sizeof *g)) == NULL || adm_keyring_new(&g->kr) != ADM_OK)
        goto out;
    g->data_version = -1;
    result = ADM_ERR_STORE;
    if (sqlite3_open_v2(path, &g->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(g->db, 5000);
    /* WAL + FULL: a COMMIT returns only after the WAL is fsync'ed (journal durability) */
    if (sqlite3_exec(g->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(g->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(g->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
        /* up to 32 MiB of page cache (allocated as used): applying a large feed
         * touches presence and check-in index pages in ticket-id order, i.e. at
         * random, and SQLite's default 2 MiB made that mostly page I/O */
        sqlite3_exec(g->db, "PRAGMA cache_size = -32768", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if ((result = migrate(g->db)) != ADM_OK)
        goto out;
    for (int i = 0; i < N_Q; i++)
        if (sqlite3_prepare_v3(g->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &g->q[i], NULL) !=
            SQLITE_OK) {
            result = ADM_ERR_STORE;
            goto out;
        }
    if ((result = adm_gate_reload(g)) != ADM_OK)
        goto out;
    *out = g;
    g = NULL;
    result = ADM_OK;
out:
    adm_gate_close(g);
    return result;
}

void adm_gate_close(adm_gate_t *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < N_Q; i++)
        sqlite3_finalize(g->q[i]);
    sqlite3_close(g->db);
    adm_keyring_free(g->kr);
    free(g);
}

const char *adm_gate_device_id(const adm_gate_t *g)
{
    return g->device;
}

uint32_t adm_gate_event_id(const adm_gate_t *g)
{
    return g->event_id;
}

/* ---- presence: who is inside, derived from check-ins ---- */

adm_err_t adm_gate_presence_apply(adm_gate_t *g, uint32_t list, uint64_t ticket, int64_t at,
                                  const char *gate, const char *device, adm_direction_t dir)
{
    sqlite3_stmt *s = adm_gate_stmt(g, dir == ADM_DIRECTION_ENTRY ? Q_ENTER : Q_EXIT);

    sqlite3_bind_int64(s, 1, list);
    sqlite3_bind_int64(s, 2, (int64_t)ticket);
    sqlite3_bind_int64(s, 3, at);
    if (dir == ADM_DIRECTION_ENTRY) {
        sqlite3_bind_text(s, 4, gate, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, device, -1, SQLITE_STATIC);
    }
    return adm_gate_step(s) == SQLITE_DONE ? ADM_OK : ADM_ERR_STORE;
}

/* Rebuilds presence from remote check-ins and the journal's accepted scans, in time order. */
adm_err_t adm_gate_presence_rebuild(adm_gate_t *g)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s = NULL;
    int rc;

    if (!adm_gate_sql_ok(adm_gate_sql(g->db, "DELETE FROM presence", "")))
        goto out;
    if (sqlite3_prepare_v2(
            g->db,
            "SELECT list_id, ticket_id, at, gate, device, direction FROM ("
            " SELECT list_id, ticket_id, at, gate, device, direction, 0 AS src, id AS n"
            " FROM remote_checkins UNION ALL"
            " SELECT list_id, ticket_id, at, gate, device, direction, 1, seq"
            " FROM journal WHERE verdict = 'accept' AND ticket_id IS NOT NULL)"
            " ORDER BY at, src, n",
            -1, &s, NULL) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *dir = (const char *)sqlite3_column_text(s, 5);
        adm_err_t e = adm_gate_presence_apply(
            g, (uint32_t)sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
            sqlite3_column_int64(s, 2), (const char *)sqlite3_column_text(s, 3),
            (const char *)sqlite3_column_text(s, 4),
            dir && strcmp(dir, "exit") == 0 ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY);
        if (e != ADM_OK) {
            result = e;
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        goto out;
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}

/* Recomputes one ticket's presence on one list from its rows, in time order. */
static adm_err_t presence_recompute(adm_gate_t *g, uint32_t list, uint64_t ticket)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s;
    int rc;

    if (adm_gate_sql(g->db, "DELETE FROM presence WHERE list_id = ?1 AND ticket_id = ?2", "ii",
                     (int64_t)list, (int64_t)ticket) != SQLITE_DONE)
        goto out;
    s = adm_gate_stmt(g, Q_TICKET_ROWS);
    sqlite3_bind_int64(s, 1, list);
    sqlite3_bind_int64(s, 2, (int64_t)ticket);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *dir = (const char *)sqlite3_column_text(s, 3);
        adm_err_t e = adm_gate_presence_apply(
            g, list, ticket, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
            (const char *)sqlite3_column_text(s, 2),
            dir && strcmp(dir, "exit") == 0 ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY);
        if (e != ADM_OK) {
            sqlite3_reset(s);
            result = e;
            goto out;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        goto out;
    result = ADM_OK;
out:
    return result;
}

adm_err_t adm_gate_presence_add(adm_gate_t *g, uint32_t list, uint64_t ticket, int64_t at,
                                const char *gate, const char *device, adm_direction_t dir,
                                bool *recomputed)
{
    sqlite3_stmt *s = adm_gate_stmt(g, Q_LAST_AT);
    bool in_order;
    int rc;

    sqlite3_bind_int64(s, 1, list);
    sqlite3_bind_int64(s, 2, (int64_t)ticket);
    rc = sqlite3_step(s);
    /* no row yet: nothing to be out of order with; ties are recomputed too, as
     * the rebuild orders equal times remote rows first */
    in_order = rc == SQLITE_DONE || (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
                                     sqlite3_column_int64(s, 0) < at);
    sqlite3_reset(s);
    if (recomputed != NULL)
        *recomputed = !in_order;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ADM_ERR_STORE;
    return in_order ? adm_gate_presence_apply(g, list, ticket, at, gate, device, dir)
                    : presence_recompute(g, list, ticket);
}

bool adm_gate_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= ADM_GATE_NAME_MAX;
}

static adm_err_t checkin_insert(adm_gate_t *g, const adm_gate_checkin_t *c)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    int rc;

    if (c->ticket_id == 0 || c->ticket_id > INT64_MAX || c->list_id == 0 ||
        !adm_gate_name_ok(c->gate) || !adm_gate_name_ok(c->device) ||
        (c->nonce != NULL && !adm_gate_name_ok(c->nonce)) ||
        (c->direction != ADM_DIRECTION_ENTRY && c->direction != ADM_DIRECTION_EXIT))
        goto out;
    result = ADM_ERR_STORE;
    rc = adm_gate_sql(g->db, "SELECT 1 FROM lists WHERE id = ?1", "i", (int64_t)c->list_id);
    if (rc == SQLITE_DONE) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    rc = adm_gate_sql(
        g->db,
        "INSERT OR IGNORE INTO remote_checkins(nonce, ticket_id, list_id, at, gate, device,"
        " direction) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "tiiittt", c->nonce, (int64_t)c->ticket_id, (int64_t)c->list_id, c->at, c->gate, c->device,
        adm_direction_name(c->direction));
    if (rc != SQLITE_DONE)
        goto out;
    result = ADM_OK;
    if (sqlite3_changes(g->db) == 1)
        result = adm_gate_presence_add(g, c->list_id, c->ticket_id, c->at, c->gate, c->device,
                                       c->direction, NULL);
out:
    return result;
}

adm_err_t adm_gate_add_checkin(adm_gate_t *g, const adm_gate_checkin_t *c)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (g == NULL || c == NULL)
        goto out;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_BEGIN)) != SQLITE_DONE)
        goto out;
    result = checkin_insert(g, c);
    if (result == ADM_OK && adm_gate_step(adm_gate_stmt(g, Q_COMMIT)) != SQLITE_DONE)
        result = ADM_ERR_STORE;
    if (result != ADM_OK)
        adm_gate_step(adm_gate_stmt(g, Q_ROLLBACK));
out:
    return result;
}

const char *adm_gate_revocation_reason(const char *s)
{
    return s != NULL && strcmp(s, "refunded") == 0 ? "refunded" : "revoked";
}

adm_err_t adm_gate_add_revocation(adm_gate_t *g, int64_t seq, uint64_t ticket_id,
                                  int64_t revoked_at)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (g == NULL || seq < 1 || ticket_id == 0 || ticket_id > INT64_MAX)
        goto out;
    result = adm_gate_sql_ok(adm_gate_sql(
                 g->db,
                 "INSERT OR IGNORE INTO revocations(seq, ticket_id, revoked_at) VALUES(?1, ?2, ?3)",
                 "iii", seq, (int64_t)ticket_id, revoked_at))
                 ? ADM_OK
                 : ADM_ERR_STORE;
out:
    return result;
}

adm_err_t adm_gate_revocation_seq(adm_gate_t *g, int64_t *seq)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(g->db, "SELECT coalesce(max(seq), 0) FROM revocations", -1, &s, NULL) !=
            SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW)
        goto out;
    *seq = sqlite3_column_int64(s, 0);
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}

adm_err_t adm_gate_journal_each(adm_gate_t *g,
                                int (*fn)(const adm_gate_journal_row_t *row, void *ud), void *ud)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s = NULL;
    int rc;

    if (sqlite3_prepare_v2(
            g->db,
            "SELECT seq, nonce, at, gate, device, list_id, direction, verdict, reason,"
            " ticket_id, attention, text_hash, uploaded, conflict FROM journal ORDER BY seq",
            -1, &s, NULL) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        adm_gate_journal_row_t r = {0};
        const char *dir = (const char *)sqlite3_column_text(s, 6);
        r.seq = sqlite3_column_int64(s, 0);
        r.nonce = (const char *)sqlite3_column_text(s, 1);
        r.at = sqlite3_column_int64(s, 2);
        r.gate = (const char *)sqlite3_column_text(s, 3);
        r.device = (const char *)sqlite3_column_text(s, 4);
        r.list_id = (uint32_t)sqlite3_column_int64(s, 5);
        r.direction = dir && strcmp(dir, "exit") == 0 ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY;
        r.verdict = adm_gate_verdict_from_name((const char *)sqlite3_column_text(s, 7));
        r.reason = (const char *)sqlite3_column_text(s, 8);
        r.has_ticket = sqlite3_column_type(s, 9) != SQLITE_NULL;
        r.ticket_id = (uint64_t)sqlite3_column_int64(s, 9);
        r.attention = sqlite3_column_int(s, 10) != 0;
        r.text_hash = (const char *)sqlite3_column_text(s, 11);
        r.uploaded = sqlite3_column_int(s, 12) != 0;
        r.conflict = sqlite3_column_int(s, 13) != 0;
        if (fn(&r, ud) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto out;
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}
