/* sync-queue.c: the journal upload queue (docs/sync.md §3, docs/scanning.md
 * §6): pending rows as upload JSON, and marking them uploaded (with the
 * server's conflict flags) once the server acknowledged them. Not the
 * network (syncer.c). */
#include "scanner/gate-impl.h"
#include "scanner/gate-sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One journal row as an upload row; NULL on allocation failure. */
static json_t *upload_row(sqlite3_stmt *s, const char *device)
{
#define T(i) ((const char *)sqlite3_column_text(s, (i)))
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:b,s:s}", "nonce", T(0), "device",
                          device, "list_id", (json_int_t)sqlite3_column_int64(s, 1), "at",
                          (json_int_t)sqlite3_column_int64(s, 2), "gate", T(3), "direction", T(4),
                          "verdict", T(5), "reason", T(6), "attention",
                          sqlite3_column_int(s, 7) != 0, "text_hash", T(8));
#undef T
    if (o != NULL &&
        json_object_set_new(o, "ticket_id",
                            sqlite3_column_type(s, 9) == SQLITE_NULL
                                ? json_null()
                                : json_integer((json_int_t)sqlite3_column_int64(s, 9))) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

adm_err_t adm_gate_upload_pending(adm_gate_t *g, size_t limit, json_t **rows)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    json_t *a = NULL;
    char *device = NULL;
    int rc;

    if (rows != NULL)
        *rows = NULL;
    if (g == NULL || rows == NULL || limit < 1 || limit > ADM_SYNC_PUSH_MAX)
        goto out;
    /* every row goes up under the enrolled id: the server takes only the caller's */
    if ((result = adm_gate_meta_get(g->db, "sync.device_id", &device)) != ADM_OK)
        goto out;
    result = ADM_ERR_STORE;
    if (sqlite3_prepare_v2(g->db,
                           "SELECT nonce, list_id, at, gate, direction, verdict, reason,"
                           " attention, text_hash, ticket_id FROM journal WHERE uploaded = 0"
                           " ORDER BY seq LIMIT ?1",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(s, 1, (int64_t)limit) != SQLITE_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    if ((a = json_array()) == NULL)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (json_array_append_new(a, upload_row(s, device && device[0] ? device : g->device)) != 0)
            goto out;
    }
    result = ADM_ERR_STORE;
    if (rc != SQLITE_DONE)
        goto out;
    *rows = a;
    a = NULL;
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    json_decref(a);
    free(device);
    return result;
}

adm_err_t adm_gate_upload_ack(adm_gate_t *g, const json_t *reply, size_t *conflicts)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    const json_t *results = json_object_get(reply, "results"), *r, *flag;
    sqlite3_stmt *s = NULL;
    bool in_tx = false;
    size_t i, n = 0;
    char now[24];

    if (conflicts != NULL)
        *conflicts = 0;
    if (g == NULL || reply == NULL)
        goto out;
    result = ADM_ERR_FORMAT;
    if (!json_is_array(results))
        goto out;
    json_array_foreach(results, i, r)
    {
        flag = json_object_get(r, "conflict");
        if (!adm_gate_name_ok(json_string_value(json_object_get(r, "nonce"))) ||
            (flag != NULL && !json_is_boolean(flag)))
            goto out;
    }
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_BEGIN)) != SQLITE_DONE)
        goto out;
    in_tx = true;
    if (sqlite3_prepare_v2(g->db,
                           "UPDATE journal SET uploaded = 1,"
                           " conflict = CASE WHEN ?2 THEN 1 ELSE conflict END WHERE nonce = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        goto out;
    json_array_foreach(results, i, r)
    {
        bool c = json_is_true(json_object_get(r, "conflict"));
        sqlite3_bind_text(s, 1, json_string_value(json_object_get(r, "nonce")), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, c);
        if (adm_gate_step(s) != SQLITE_DONE)
            goto out;
        n += c && sqlite3_changes(g->db) > 0;
    }
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    if (adm_gate_meta_set(g->db, "sync.last_push", now) != ADM_OK)
        goto out;
    sqlite3_finalize(s);
    s = NULL;
    /* durable before the rows count as acknowledged (synchronous=FULL) */
    if (adm_gate_step(adm_gate_stmt(g, Q_COMMIT)) != SQLITE_DONE)
        goto out;
    in_tx = false;
    if (conflicts != NULL)
        *conflicts = n;
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    if (in_tx)
        adm_gate_step(adm_gate_stmt(g, Q_ROLLBACK));
    return result;
}

adm_err_t adm_gate_upload_count(adm_gate_t *g, int64_t *pending)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;

    if (g == NULL || pending == NULL)
        goto out;
    result = ADM_ERR_STORE;
    if (sqlite3_prepare_v2(g->db, "SELECT count(*) FROM journal WHERE uploaded = 0", -1, &s,
                           NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW)
        goto out;
    *pending = sqlite3_column_int64(s, 0);
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}
