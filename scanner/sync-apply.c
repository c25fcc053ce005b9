/* sync-apply.c: applies one page of the sync feed (docs/sync.md §2) to the
 * gate store in one transaction, cursor included (docs/scanning.md §6).
 * Not the network (syncer.c) and not the snapshot document (snapshot.c). */
#include "scanner/gate-impl.h"
#include "scanner/gate-sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* statements of one apply, prepared once for the row loops */
enum { S_REVOKE, S_OWN, S_REMOTE, N_S };

static const char *const apply_sql[N_S] = {
    [S_REVOKE] = "INSERT OR IGNORE INTO revocations(seq, ticket_id, revoked_at, reason)"
                 " VALUES(?1, ?2, ?3, ?4)",
    /* a row of ours: the server has it (the upload reply may have been lost) */
    [S_OWN] = "UPDATE journal SET uploaded = 1,"
              " conflict = CASE WHEN ?2 THEN 1 ELSE conflict END WHERE nonce = ?1",
    [S_REMOTE] = "INSERT OR IGNORE INTO remote_checkins(nonce, ticket_id, list_id, at, gate,"
                 " device, direction) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
};

static bool get_int(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *v)
{
    const json_t *j = json_object_get(o, key);
    if (!json_is_integer(j) || json_integer_value(j) < min || json_integer_value(j) > max)
        return false;
    *v = json_integer_value(j);
    return true;
}

/* A string member without NUL bytes, 1..max bytes (0..max when may_be_empty). */
static const char *get_str(const json_t *o, const char *key, size_t max, bool may_be_empty)
{
    const json_t *j = json_object_get(o, key);
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);

    if (s == NULL || strlen(s) != n || n > max || (n == 0 && !may_be_empty))
        return NULL;
    return s;
}

static adm_err_t run(sqlite3 *db, const char *sql)
{
    return adm_gate_sql(db, sql, "") == SQLITE_DONE ? ADM_OK : ADM_ERR_STORE;
}

/* Replaces ticket types and check-in lists with the page's header. */
static adm_err_t apply_header(adm_gate_t *g, const json_t *page)
{
    adm_err_t result = ADM_ERR_STORE;
    const json_t *types = json_object_get(page, "ticket_types"),
                 *lists = json_object_get(page, "checkin_lists"), *e, *x;
    size_t i, k;
    int64_t id, v;

    if (run(g->db, "DELETE FROM ticket_types") != ADM_OK ||
        run(g->db, "DELETE FROM lists") != ADM_OK ||
        run(g->db, "DELETE FROM list_types") != ADM_OK ||
        run(g->db, "DELETE FROM list_gates") != ADM_OK)
        goto out;
    json_array_foreach(types, i, e)
    {
        const char *name = get_str(e, "name", 1024, true);
        result = ADM_ERR_FORMAT;
        if (!get_int(e, "id", 1, INT64_MAX, &id) || name == NULL)
            goto out;
        result = ADM_ERR_STORE;
        if (adm_gate_sql(g->db, "INSERT OR REPLACE INTO ticket_types(id, name) VALUES(?1, ?2)",
                         "it", id, name) != SQLITE_DONE)
            goto out;
    }
    json_array_foreach(lists, i, e)
    {
        const char *name = get_str(e, "name", 1024, true),
                   *re = json_string_value(json_object_get(e, "reentry"));
        const json_t *lt = json_object_get(e, "ticket_types"), *gates = json_object_get(e, "gates");
        adm_reentry_t rule;
        result = ADM_ERR_FORMAT;
        if (!get_int(e, "id", 1, UINT32_MAX, &id) || name == NULL ||
            !adm_reentry_parse(re, &rule) || !json_is_array(lt) ||
            (gates != NULL && !json_is_array(gates)))
            goto out;
        result = ADM_ERR_STORE;
        if (adm_gate_sql(g->db,
                         "INSERT OR REPLACE INTO lists(id, name, reentry) VALUES(?1, ?2, ?3)",
                         "iti", id, name, (int64_t)rule) != SQLITE_DONE)
            goto out;
        json_array_foreach(lt, k, x)
        {
            result = ADM_ERR_FORMAT;
            if (!json_is_integer(x) || json_integer_value(x) < 1)
                goto out;
            v = json_integer_value(x);
            result = ADM_ERR_STORE;
            if (adm_gate_sql(g->db,
                             "INSERT OR IGNORE INTO list_types(list_id, type_id) VALUES(?1, ?2)",
                             "ii", id, v) != SQLITE_DONE)
                goto out;
        }
        json_array_foreach(gates, k, x)
        {
            result = ADM_ERR_FORMAT;
            if (!adm_gate_name_ok(json_string_value(x)))
                goto out;
            result = ADM_ERR_STORE;
            if (adm_gate_sql(g->db,
                             "INSERT OR IGNORE INTO list_gates(list_id, name) VALUES(?1, ?2)", "it",
                             id, json_string_value(x)) != SQLITE_DONE)
                goto out;
        }
    }
    result = ADM_OK;
out:
    return result;
}

static adm_err_t apply_revocations(sqlite3_stmt *ins, sqlite3 *db, const json_t *revs,
                                   adm_gate_apply_stats_t *st)
{
    const json_t *e;
    size_t i;
    int64_t seq, ticket, at;

    json_array_foreach(revs, i, e)
    {
        const char *reason = json_string_value(json_object_get(e, "reason"));
        if (!get_int(e, "seq", 1, INT64_MAX, &seq) ||
            !get_int(e, "ticket_id", 1, INT64_MAX, &ticket) ||
            !get_int(e, "revoked_at", INT64_MIN, INT64_MAX, &at) || reason == NULL)
            return ADM_ERR_FORMAT;
        sqlite3_bind_int64(ins, 1, seq);
        sqlite3_bind_int64(ins, 2, ticket);
        sqlite3_bind_int64(ins, 3, at);
        sqlite3_bind_text(ins, 4, adm_gate_revocation_reason(reason), -1, SQLITE_STATIC);
        if (adm_gate_step(ins) != SQLITE_DONE)
            return ADM_ERR_STORE;
        st->revocations += (size_t)sqlite3_changes(db);
    }
    return ADM_OK;
}

static adm_err_t apply_checkins(adm_gate_t *g, sqlite3_stmt *own, sqlite3_stmt *ins,
                                const json_t *rows, adm_gate_apply_stats_t *st)
{
    const json_t *e, *flag;
    size_t i;
    int64_t ticket, list, at;
    adm_direction_t dir;
    adm_err_t result;
    bool late;

    json_array_foreach(rows, i, e)
    {
        const char *nonce = json_string_value(json_object_get(e, "nonce")),
                   *gate = json_string_value(json_object_get(e, "gate")),
                   *device = json_string_value(json_object_get(e, "device"));
        flag = json_object_get(e, "conflict");
        if (!adm_gate_name_ok(nonce) || !get_int(e, "ticket_id", 1, INT64_MAX, &ticket) ||
            !get_int(e, "list_id", 1, UINT32_MAX, &list) ||
            !get_int(e, "at", INT64_MIN, INT64_MAX, &at) || !adm_gate_name_ok(gate) ||
            !adm_gate_name_ok(device) ||
            !adm_direction_parse(json_string_value(json_object_get(e, "direction")), &dir) ||
            (flag != NULL && !json_is_boolean(flag)))
            return ADM_ERR_FORMAT;
        /* this device's own scan: already in the journal (and in presence) */
        sqlite3_bind_text(own, 1, nonce, -1, SQLITE_STATIC);
        sqlite3_bind_int(own, 2, json_is_true(flag));
        if (adm_gate_step(own) != SQLITE_DONE)
            return ADM_ERR_STORE;
        if (sqlite3_changes(g->db) > 0) {
            st->own++;
            st->own_conflicts += json_is_true(flag);
            continue;
        }
        sqlite3_bind_text(ins, 1, nonce, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, ticket);
        sqlite3_bind_int64(ins, 3, list);
        sqlite3_bind_int64(ins, 4, at);
        sqlite3_bind_text(ins, 5, gate, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, adm_direction_name(dir), -1, SQLITE_STATIC);
        if (adm_gate_step(ins) != SQLITE_DONE)
            return ADM_ERR_STORE;
        if (sqlite3_changes(g->db) == 0)
            continue; /* seen before */
        st->checkins++;
        result = adm_gate_presence_add(g, (uint32_t)list, (uint64_t)ticket, at, gate, device, dir,
                                       &late);
        st->recomputed += late;
        if (result != ADM_OK)
            return result;
    }
    return ADM_OK;
}

/* The page fields every step relies on; the rows are checked as they are applied. */
static bool page_shape_ok(const json_t *page, int64_t *event, adm_sync_cursor_t *cur)
{
    const json_t *c = json_object_get(page, "cursor");

    return json_is_object(page) &&
           get_int(json_object_get(page, "event"), "id", 1, UINT32_MAX, event) &&
           json_is_object(json_object_get(page, "keys")) &&
           json_is_array(json_object_get(page, "ticket_types")) &&
           json_is_array(json_object_get(page, "checkin_lists")) &&
           json_is_array(json_object_get(page, "revocations")) &&
           json_is_array(json_object_get(page, "checkins")) &&
           get_int(c, "revocations", 0, INT64_MAX, &cur->revocations) &&
           get_int(c, "checkins", 0, INT64_MAX, &cur->checkins);
}

adm_err_t adm_gate_sync_apply(adm_gate_t *g, const json_t *page, adm_gate_apply_stats_t *stats)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_gate_apply_stats_t st = {0};
    adm_sync_cursor_t cur;
    adm_keyring_t *kr = NULL;
    sqlite3_stmt *s[N_S] = {NULL};
    char *keys = NULL, *stored = NULL, buf[24];
    int64_t event, server_time = 0;
    bool in_tx = false;
    int rc;

    if (g == NULL || page == NULL)
        goto out;
    result = ADM_ERR_FORMAT;
    if (!page_shape_ok(page, &event, &cur))
        goto out;
    get_int(page, "server_time", 0, INT64_MAX, &server_time); /* optional for us */
    result = ADM_ERR_NOMEM;
    if ((keys = json_dumps(json_object_get(page, "keys"), JSON_COMPACT)) == NULL ||
        (result = adm_keyring_new(&kr)) != ADM_OK)
        goto out;
    if ((result = adm_keyring_load_public_json(kr, keys, strlen(keys))) != ADM_OK)
        goto out;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_BEGIN)) != SQLITE_DONE)
        goto out;
    in_tx = true;
    for (int i = 0; i < N_S; i++)
        if (sqlite3_prepare_v2(g->db, apply_sql[i], -1, &s[i], NULL) != SQLITE_OK)
            goto out;
    /* the stored event, read inside the transaction: another handle may have moved it */
    if ((result = adm_gate_meta_get(g->db, "event_id", &stored)) != ADM_OK)
        goto out;
    if (stored == NULL || strtoll(stored, NULL, 10) != event) {
        /* a new device, or a new event: the old event's data goes; the journal
         * must hold no scans of that other event */
        if (stored != NULL) {
            rc = adm_gate_sql(g->db, "SELECT 1 FROM journal LIMIT 1", "");
            result = rc == SQLITE_ROW ? ADM_ERR_CONFLICT : ADM_ERR_STORE;
            if (rc != SQLITE_DONE)
                goto out;
        }
        result = ADM_ERR_STORE;
        if (run(g->db, "DELETE FROM ticket_status") != ADM_OK ||
            run(g->db, "DELETE FROM revocations") != ADM_OK ||
            run(g->db, "DELETE FROM remote_checkins") != ADM_OK ||
            run(g->db, "DELETE FROM presence") != ADM_OK)
            goto out;
    }
    if ((result = apply_header(g, page)) != ADM_OK ||
        (result = apply_revocations(s[S_REVOKE], g->db, json_object_get(page, "revocations"),
                                    &st)) != ADM_OK ||
        (result = apply_checkins(g, s[S_OWN], s[S_REMOTE], json_object_get(page, "checkins"),
                                 &st)) != ADM_OK)
        goto out;
    snprintf(buf, sizeof buf, "%lld", (long long)event);
    if ((result = adm_gate_meta_set(g->db, "event_id", buf)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, "keys", keys)) != ADM_OK)
        goto out;
    snprintf(buf, sizeof buf, "%lld", (long long)cur.revocations);
    if ((result = adm_gate_meta_set(g->db, "sync.cursor.revocations", buf)) != ADM_OK)
        goto out;
    snprintf(buf, sizeof buf, "%lld", (long long)cur.checkins);
    if ((result = adm_gate_meta_set(g->db, "sync.cursor.checkins", buf)) != ADM_OK)
        goto out;
    if (server_time > 0) {
        snprintf(buf, sizeof buf, "%lld", (long long)server_time);
        if ((result = adm_gate_meta_set(g->db, "sync.last_pull", buf)) != ADM_OK)
            goto out;
    }
    result = ADM_ERR_STORE;
    for (int i = 0; i < N_S; i++) {
        sqlite3_finalize(s[i]);
        s[i] = NULL;
    }
    if (adm_gate_step(adm_gate_stmt(g, Q_COMMIT)) != SQLITE_DONE)
        goto out;
    in_tx = false;
    adm_gate_keys_take(g, kr, keys);
    kr = NULL;
    g->event_id = (uint32_t)event;
    if (stats != NULL)
        *stats = st;
    result = ADM_OK;
out:
    for (int i = 0; i < N_S; i++)
        sqlite3_finalize(s[i]);
    if (in_tx)
        adm_gate_step(adm_gate_stmt(g, Q_ROLLBACK));
    adm_keyring_free(kr);
    free(keys);
    free(stored);
    return result;
}
