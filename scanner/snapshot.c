/* snapshot.c: imports the event snapshot document (docs/scanning.md §2)
 * into the gate store in one transaction, for offline use without a
 * server. Not the sync feed (sync-apply.c) and not incremental updates
 * (gate.c). */
#include "scanner/gate-impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"valid", "revoked", "refunded", "blocked"};

static bool get_id(json_t *o, const char *key, int64_t max, int64_t *v)
{
    json_t *j = json_object_get(o, key);
    if (!json_is_integer(j) || json_integer_value(j) < 1 || json_integer_value(j) > max)
        return false;
    *v = json_integer_value(j);
    return true;
}

static const char *get_name(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return adm_gate_name_ok(s) ? s : NULL;
}

/* One ticket status of the document (16 bytes: there can be a million); pos
 * keeps "the last one wins" for repeated ids. */
struct status_row {
    int64_t id;
    uint32_t pos;
    uint8_t status; /* index in status_names */
};

static int status_row_cmp(const void *a, const void *b)
{
    const struct status_row *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Inserts the snapshot's tables (already emptied). ADM_ERR_FORMAT, ADM_ERR_NOMEM
 * or ADM_ERR_STORE. */
static adm_err_t import_tables(adm_gate_t *g, json_t *doc)
{
    adm_err_t result = ADM_ERR_FORMAT;
    size_t i, k;
    json_t *e, *x;
    int64_t id, id2, at;
    json_t *types = json_object_get(doc, "ticket_types"),
           *tickets = json_object_get(doc, "tickets");
    json_t *revs = json_object_get(json_object_get(doc, "revocations"), "revocations");
    json_t *lists = json_object_get(doc, "checkin_lists"),
           *checkins = json_object_get(doc, "checkins");
    sqlite3_stmt *ins = NULL;
    struct status_row *rows = NULL;
    size_t n;

    if (!json_is_array(types) || !json_is_array(lists) || (tickets && !json_is_array(tickets)) ||
        (revs && !json_is_array(revs)) || (checkins && !json_is_array(checkins)))
        goto out;
    json_array_foreach(types, i, e)
    {
        if (!get_id(e, "id", UINT32_MAX, &id) || !json_is_string(json_object_get(e, "name")))
            goto out;
        if (!adm_gate_sql_ok(adm_gate_sql(g->db,
                                          "INSERT INTO ticket_types(id, name) VALUES(?1, ?2)", "it",
                                          id, json_string_value(json_object_get(e, "name")))))
            goto out;
    }
    /* Tickets can number a million: one prepared statement, rows in id order
     * (random ids inserted as they come thrash SQLite's page cache; bench/bench-gate.c). */
    n = json_array_size(tickets);
    if (n > 0) {
        if ((rows = malloc(n * sizeof *rows)) == NULL) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        if (sqlite3_prepare_v2(
                g->db, "INSERT OR REPLACE INTO ticket_status(ticket_id, status) VALUES(?1, ?2)", -1,
                &ins, NULL) != SQLITE_OK) {
            result = ADM_ERR_STORE;
            goto out;
        }
    }
    json_array_foreach(tickets, i, e)
    {
        const char *st = json_string_value(json_object_get(e, "status"));
        uint8_t code = 0, n_names = sizeof status_names / sizeof status_names[0];
        while (st != NULL && code < n_names && strcmp(st, status_names[code]) != 0)
            code++;
        if (!get_id(e, "id", INT64_MAX, &id) || st == NULL || code == n_names)
            goto out;
        /* i < 2^32: the document limit allows far fewer tickets */
        rows[i] = (struct status_row){.id = id, .pos = (uint32_t)i, .status = code};
    }
    if (n > 0)
        qsort(rows, n, sizeof *rows, status_row_cmp);
    for (i = 0; i < n; i++) {
        sqlite3_bind_int64(ins, 1, rows[i].id);
        sqlite3_bind_text(ins, 2, status_names[rows[i].status], -1, SQLITE_STATIC);
        if (adm_gate_step(ins) != SQLITE_DONE)
            goto out;
    }
    sqlite3_finalize(ins);
    ins = NULL;
    /* revocations, likewise (a few thousand): one prepared statement */
    if (json_array_size(revs) > 0 &&
        sqlite3_prepare_v2(g->db,
                           "INSERT OR IGNORE INTO revocations(seq, ticket_id, revoked_at,"
                           " reason) VALUES(?1, ?2, ?3, ?4)",
                           -1, &ins, NULL) != SQLITE_OK) {
        result = ADM_ERR_STORE;
        goto out;
    }
    json_array_foreach(revs, i, e)
    {
        x = json_object_get(e, "revoked_at");
        if (!get_id(e, "seq", INT64_MAX, &id) || !get_id(e, "ticket_id", INT64_MAX, &id2) ||
            (x && !json_is_integer(x)))
            goto out;
        /* as adm_gate_add_revocation(): a seq already stored is ignored */
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, id2);
        sqlite3_bind_int64(ins, 3, x ? json_integer_value(x) : 0);
        sqlite3_bind_text(
            ins, 4, adm_gate_revocation_reason(json_string_value(json_object_get(e, "reason"))), -1,
            SQLITE_STATIC);
        if (adm_gate_step(ins) != SQLITE_DONE)
            goto out;
    }
    json_array_foreach(lists, i, e)
    {
        const char *name = get_name(e, "name"),
                   *re = json_string_value(json_object_get(e, "reentry"));
        json_t *lt = json_object_get(e, "ticket_types"), *gates = json_object_get(e, "gates");
        adm_reentry_t rule;
        if (!get_id(e, "id", UINT32_MAX, &id) || name == NULL || !adm_reentry_parse(re, &rule) ||
            !json_is_array(lt) || (gates && !json_is_array(gates)))
            goto out;
        if (!adm_gate_sql_ok(adm_gate_sql(g->db,
                                          "INSERT INTO lists(id, name, reentry) VALUES(?1, ?2, ?3)",
                                          "iti", id, name, (int64_t)rule)))
            goto out;
        json_array_foreach(lt, k, x)
        {
            if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                json_integer_value(x) > UINT32_MAX)
                goto out;
            if (!adm_gate_sql_ok(adm_gate_sql(
                    g->db, "INSERT OR IGNORE INTO list_types(list_id, type_id) VALUES(?1, ?2)",
                    "ii", id, (int64_t)json_integer_value(x))))
                goto out;
        }
        json_array_foreach(gates, k, x)
        {
            if (!adm_gate_name_ok(json_string_value(x)))
                goto out;
            if (!adm_gate_sql_ok(adm_gate_sql(
                    g->db, "INSERT OR IGNORE INTO list_gates(list_id, name) VALUES(?1, ?2)", "it",
                    id, json_string_value(x))))
                goto out;
        }
    }
    json_array_foreach(checkins, i, e)
    {
        adm_gate_checkin_t c = {0};
        const char *dir = json_string_value(json_object_get(e, "direction"));
        x = json_object_get(e, "at");
        if (!get_id(e, "ticket_id", INT64_MAX, &id) || !get_id(e, "list_id", UINT32_MAX, &id2) ||
            !json_is_integer(x) || dir == NULL ||
            (strcmp(dir, "entry") != 0 && strcmp(dir, "exit") != 0))
            goto out;
        at = json_integer_value(x);
        c.nonce = json_string_value(json_object_get(e, "nonce"));
        c.ticket_id = (uint64_t)id;
        c.list_id = (uint32_t)id2;
        c.at = at;
        c.gate = get_name(e, "gate");
        c.device = get_name(e, "device");
        c.direction = strcmp(dir, "exit") == 0 ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY;
        /* presence is rebuilt afterwards, so insert only */
        if (c.gate == NULL || c.device == NULL)
            goto out;
        if (adm_gate_sql(g->db, "SELECT 1 FROM lists WHERE id = ?1", "i", id2) != SQLITE_ROW)
            goto out; /* unknown list */
        if (!adm_gate_sql_ok(adm_gate_sql(
                g->db,
                "INSERT OR IGNORE INTO remote_checkins(nonce, ticket_id, list_id, at, gate,"
                " device, direction) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                "tiiittt", c.nonce, (int64_t)c.ticket_id, (int64_t)c.list_id, c.at, c.gate,
                c.device, dir)))
            goto out;
    }
    result = ADM_OK;
out:
    sqlite3_finalize(ins);
    free(rows);
    return result;
}

adm_err_t adm_gate_snapshot_import_json(adm_gate_t *g, const char *json, size_t len)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    json_t *doc = NULL;
    adm_keyring_t *kr = NULL;
    char *keys = NULL, event[24];
    int64_t event_id;
    bool in_tx = false;

    if (g == NULL || json == NULL)
        goto out;
    result = ADM_ERR_TOO_BIG;
    if (len > ADM_GATE_SNAPSHOT_MAX)
        goto out;
    result = ADM_ERR_FORMAT;
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "format")) ||
        strcmp(json_string_value(json_object_get(doc, "format")), "admit-gate-snapshot") != 0 ||
        json_integer_value(json_object_get(doc, "version")) != 1 ||
        !get_id(json_object_get(doc, "event"), "id", UINT32_MAX, &event_id) ||
        !json_is_object(json_object_get(doc, "keys")))
        goto out;
    if ((keys = json_dumps(json_object_get(doc, "keys"), JSON_COMPACT)) == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    if ((result = adm_keyring_new(&kr)) != ADM_OK)
        goto out;
    if ((result = adm_keyring_load_public_json(kr, keys, strlen(keys))) != ADM_OK)
        goto out;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_BEGIN)) != SQLITE_DONE)
        goto out;
    in_tx = true;
    if (adm_gate_reload(g) != ADM_OK) /* another handle may have changed the event */
        goto out;
    if (g->event_id != 0 && g->event_id != (uint32_t)event_id) {
        int rc = adm_gate_sql(g->db, "SELECT 1 FROM journal LIMIT 1", "");
        if (rc == SQLITE_ROW) {
            result = ADM_ERR_CONFLICT;
            goto out;
        }
        if (rc != SQLITE_DONE)
            goto out;
    }
    static const char *const wipe[] = {"ticket_types", "ticket_status", "revocations",
                                       "list_types",   "list_gates",    "remote_checkins",
                                       "presence",     "lists"};
    for (size_t i = 0; i < sizeof wipe / sizeof wipe[0]; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM %s", wipe[i]); /* fixed table names */
        if (!adm_gate_sql_ok(adm_gate_sql(g->db, sql, "")))
            goto out;
    }
    if ((result = import_tables(g, doc)) != ADM_OK)
        goto out;
    snprintf(event, sizeof event, "%lld", (long long)event_id);
    result = ADM_ERR_STORE;
    if (!adm_gate_sql_ok(adm_gate_sql(
            g->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('event_id', ?1)", "t", event)) ||
        !adm_gate_sql_ok(adm_gate_sql(
            g->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('keys', ?1)", "t", keys)))
        goto out;
    if ((result = adm_gate_presence_rebuild(g)) != ADM_OK)
        goto out;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_COMMIT)) != SQLITE_DONE)
        goto out;
    in_tx = false;
    adm_gate_keys_take(g, kr, keys);
    kr = NULL;
    g->event_id = (uint32_t)event_id;
    result = ADM_OK;
out:
    if (in_tx)
        adm_gate_step(adm_gate_stmt(g, Q_ROLLBACK));
    adm_keyring_free(kr);
    free(keys);
    json_decref(doc);
    return result;
}
