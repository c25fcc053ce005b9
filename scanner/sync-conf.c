/* sync-conf.c: the device's enrollment, feed cursors and status summary in
 * the gate store's meta table (docs/scanning.md §6). Not applying pages
 * (sync-apply.c) and not the upload queue (sync-queue.c). */
#include "scanner/gate-impl.h"
#include "scanner/gate-sync.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* meta keys; the values are text */
#define K_SERVER "sync.server"
#define K_DEVICE "sync.device_id"
#define K_SECRET "sync.secret"
#define K_EVENT "sync.event_id"
#define K_GATE "sync.gate"
#define K_KIND "sync.kind"
#define K_CA "sync.ca_file"
#define K_PIN "sync.pin"
#define K_HTTP "sync.allow_http"
#define K_CUR_REV "sync.cursor.revocations"
#define K_CUR_CHK "sync.cursor.checkins"

static bool fits(const char *s, size_t max, bool may_be_empty)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    return s != NULL && n <= max && (may_be_empty || n > 0);
}

static adm_err_t set_int(sqlite3 *db, const char *key, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return adm_gate_meta_set(db, key, buf);
}

/* Reads meta key as an integer into *v (0 when absent). */
static adm_err_t get_int(sqlite3 *db, const char *key, int64_t *v)
{
    char *s = NULL;
    adm_err_t result = adm_gate_meta_get(db, key, &s);

    *v = s != NULL ? strtoll(s, NULL, 10) : 0;
    free(s);
    return result;
}

/* Copies meta key into out (cap bytes; "" when absent). */
static adm_err_t get_str(sqlite3 *db, const char *key, char *out, size_t cap)
{
    char *s = NULL;
    adm_err_t result = adm_gate_meta_get(db, key, &s);

    snprintf(out, cap, "%s", s ? s : "");
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
    return result;
}

/* The store file and its WAL/SHM companions readable by the owner only. */
static void make_private(sqlite3 *db)
{
    const char *path = sqlite3_db_filename(db, "main");
    char buf[4096];

    if (path == NULL || path[0] == '\0')
        return;
    chmod(path, 0600);
    snprintf(buf, sizeof buf, "%s-wal", path);
    chmod(buf, 0600);
    snprintf(buf, sizeof buf, "%s-shm", path);
    chmod(buf, 0600);
}

adm_err_t adm_gate_sync_enroll_store(adm_gate_t *g, const adm_gate_sync_conf_t *c)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    bool in_tx = false;
    int64_t stored_event = 0;
    int rc;

    if (g == NULL || c == NULL || !fits(c->server, ADM_SYNC_URL_MAX, false) ||
        !fits(c->device_id, ADM_SYNC_DEVICE_ID_MAX, false) ||
        !fits(c->secret, ADM_SYNC_TOKEN_MAX, false) || !fits(c->gate, ADM_SYNC_GATE_MAX, false) ||
        !fits(c->ca_file, ADM_GATE_PATH_MAX, true) || !fits(c->pin, ADM_SYNC_PIN_MAX, true) ||
        c->event_id < 1 || c->event_id > UINT32_MAX)
        goto out;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_BEGIN)) != SQLITE_DONE)
        goto out;
    in_tx = true;
    if ((result = get_int(g->db, "event_id", &stored_event)) != ADM_OK)
        goto out;
    if (stored_event != 0 && stored_event != c->event_id) {
        rc = adm_gate_sql(g->db, "SELECT 1 FROM journal LIMIT 1", "");
        result = rc == SQLITE_ROW ? ADM_ERR_CONFLICT : ADM_ERR_STORE;
        if (rc != SQLITE_DONE)
            goto out;
    }
    if ((result = adm_gate_meta_set(g->db, K_SERVER, c->server)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_DEVICE, c->device_id)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_SECRET, c->secret)) != ADM_OK ||
        (result = set_int(g->db, K_EVENT, c->event_id)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_GATE, c->gate)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_KIND, c->relay ? "relay" : "gate")) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_CA, c->ca_file)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_PIN, c->pin)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, K_HTTP, c->allow_http ? "1" : "0")) != ADM_OK ||
        (result = set_int(g->db, K_CUR_REV, 0)) != ADM_OK ||
        (result = set_int(g->db, K_CUR_CHK, 0)) != ADM_OK ||
        (result = adm_gate_meta_set(g->db, "device", c->device_id)) != ADM_OK)
        goto out;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_COMMIT)) != SQLITE_DONE)
        goto out;
    in_tx = false;
    snprintf(g->device, sizeof g->device, "%s", c->device_id);
    make_private(g->db);
    result = ADM_OK;
out:
    if (in_tx)
        adm_gate_step(adm_gate_stmt(g, Q_ROLLBACK));
    return result;
}

adm_err_t adm_gate_sync_conf_get(adm_gate_t *g, adm_gate_sync_conf_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char kind[16], http[4];

    if (g == NULL || out == NULL)
        goto out;
    memset(out, 0, sizeof *out);
    if ((result = get_str(g->db, K_SERVER, out->server, sizeof out->server)) != ADM_OK ||
        (result = get_str(g->db, K_DEVICE, out->device_id, sizeof out->device_id)) != ADM_OK ||
        (result = get_str(g->db, K_SECRET, out->secret, sizeof out->secret)) != ADM_OK ||
        (result = get_int(g->db, K_EVENT, &out->event_id)) != ADM_OK ||
        (result = get_str(g->db, K_GATE, out->gate, sizeof out->gate)) != ADM_OK ||
        (result = get_str(g->db, K_KIND, kind, sizeof kind)) != ADM_OK ||
        (result = get_str(g->db, K_CA, out->ca_file, sizeof out->ca_file)) != ADM_OK ||
        (result = get_str(g->db, K_PIN, out->pin, sizeof out->pin)) != ADM_OK ||
        (result = get_str(g->db, K_HTTP, http, sizeof http)) != ADM_OK)
        goto out;
    out->relay = strcmp(kind, "relay") == 0;
    out->allow_http = strcmp(http, "1") == 0;
    result = out->server[0] && out->device_id[0] && out->secret[0] ? ADM_OK : ADM_ERR_NOT_FOUND;
out:
    if (result != ADM_OK && out != NULL)
        adm_gate_sync_conf_wipe(out);
    return result;
}

void adm_gate_sync_conf_wipe(adm_gate_sync_conf_t *conf)
{
    if (conf != NULL)
        sodium_memzero(conf, sizeof *conf);
}

adm_err_t adm_gate_sync_cursor(adm_gate_t *g, adm_sync_cursor_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (g == NULL || out == NULL)
        goto out;
    *out = (adm_sync_cursor_t){0, 0};
    if ((result = get_int(g->db, K_CUR_REV, &out->revocations)) != ADM_OK ||
        (result = get_int(g->db, K_CUR_CHK, &out->checkins)) != ADM_OK)
        goto out;
    if (out->revocations < 0 || out->checkins < 0)
        *out = (adm_sync_cursor_t){0, 0}; /* never written so; restart rather than fail */
out:
    return result;
}

/* Sets o[key] to the integer result of sql (one row, one column). */
static adm_err_t count_into(sqlite3 *db, json_t *o, const char *key, const char *sql)
{
    sqlite3_stmt *s = NULL;
    adm_err_t result = ADM_ERR_STORE;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
        goto out;
    result = json_object_set_new(o, key, json_integer(sqlite3_column_int64(s, 0))) == 0
                 ? ADM_OK
                 : ADM_ERR_NOMEM;
out:
    sqlite3_finalize(s);
    return result;
}

adm_err_t adm_gate_status_json(adm_gate_t *g, json_t **out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_gate_sync_conf_t c;
    adm_sync_cursor_t cur;
    json_t *o = NULL, *verdicts = NULL;
    sqlite3_stmt *s = NULL;
    int64_t last_pull = 0, last_push = 0;
    bool enrolled;
    int rc;

    memset(&c, 0, sizeof c);
    if (g == NULL || out == NULL)
        goto out;
    *out = NULL;
    if ((result = adm_gate_reload(g)) != ADM_OK)
        goto out;
    result = adm_gate_sync_conf_get(g, &c);
    if (result != ADM_OK && result != ADM_ERR_NOT_FOUND)
        goto out;
    enrolled = result == ADM_OK;
    if ((result = adm_gate_sync_cursor(g, &cur)) != ADM_OK ||
        (result = get_int(g->db, "sync.last_pull", &last_pull)) != ADM_OK ||
        (result = get_int(g->db, "sync.last_push", &last_push)) != ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    o = json_pack("{s:s,s:I,s:b}", "device", g->device, "event_id", (json_int_t)g->event_id,
                  "enrolled", (int)enrolled);
    verdicts = json_object();
    if (o == NULL || verdicts == NULL)
        goto out;
    if (enrolled &&
        json_object_update_new(
            o, json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:b}", "server", c.server, "gate", c.gate, "kind",
                         c.relay ? "relay" : "gate", "ca_file", c.ca_file[0] ? c.ca_file : NULL,
                         "pin", c.pin[0] ? c.pin : NULL, "insecure_http", (int)c.allow_http)) != 0)
        goto out;
    if (json_object_set_new(o, "cursor",
                            json_pack("{s:I,s:I}", "revocations", (json_int_t)cur.revocations,
                                      "checkins", (json_int_t)cur.checkins)) != 0 ||
        json_object_set_new(o, "last_pull", json_integer(last_pull)) != 0 ||
        json_object_set_new(o, "last_push", json_integer(last_push)) != 0)
        goto out;
    if ((result = count_into(g->db, o, "pending_uploads",
                             "SELECT count(*) FROM journal WHERE uploaded = 0")) != ADM_OK ||
        (result = count_into(g->db, o, "conflicts",
                             "SELECT count(*) FROM journal WHERE conflict = 1")) != ADM_OK ||
        (result = count_into(g->db, o, "remote_checkins",
                             "SELECT count(*) FROM remote_checkins")) != ADM_OK ||
        (result = count_into(g->db, o, "revocations", "SELECT count(*) FROM revocations")) !=
            ADM_OK ||
        (result = count_into(g->db, o, "inside",
                             "SELECT count(*) FROM presence WHERE inside = 1")) != ADM_OK)
        goto out;
    /* every verdict, 0 when none, so consumers need not test for absence */
    result = ADM_ERR_NOMEM;
    for (int v = 0; v < ADM_VERDICT__MAX; v++)
        if (json_object_set_new(verdicts, adm_verdict_name((adm_verdict_t)v), json_integer(0)) != 0)
            goto out;
    result = ADM_ERR_STORE;
    if (sqlite3_prepare_v2(g->db, "SELECT verdict, count(*) FROM journal GROUP BY verdict", -1, &s,
                           NULL) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        if (v != NULL &&
            json_object_set_new(verdicts, v, json_integer(sqlite3_column_int64(s, 1))) != 0) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        goto out;
    if ((result = count_into(g->db, verdicts, "total", "SELECT count(*) FROM journal")) != ADM_OK)
        goto out;
    if (json_object_set_new(o, "journal", verdicts) != 0) {
        verdicts = NULL;
        result = ADM_ERR_NOMEM;
        goto out;
    }
    verdicts = NULL;
    *out = o;
    o = NULL;
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    json_decref(verdicts);
    json_decref(o);
    adm_gate_sync_conf_wipe(&c);
    return result;
}
