/* gate-query.c: the read-only queries of gate-query.h (type names, check-in
 * lists, one ticket's local history) on the handle's own connection. SELECTs
 * only: every write is in gate.c, snapshot.c, verdict.c or sync-apply.c. */
#include "scanner/gate-query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/gate-impl.h"

/* Prepares sql on g's connection; NULL on failure. */
static sqlite3_stmt *prep(adm_gate_t *g, const char *sql)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(g->db, sql, -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        s = NULL;
    }
    return s;
}

/* Column i as text, "" for NULL. */
static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t != NULL ? (const char *)t : "";
}

adm_err_t adm_gate_type_name(adm_gate_t *g, uint32_t type_id, char *buf, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    sqlite3_stmt *s = NULL;
    int rc;

    if (g == NULL || buf == NULL || cap == 0)
        goto out;
    buf[0] = '\0';
    result = ADM_ERR_STORE;
    if ((s = prep(g, "SELECT name FROM ticket_types WHERE id = ?1")) == NULL ||
        sqlite3_bind_int64(s, 1, type_id) != SQLITE_OK)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        result = ADM_ERR_NOT_FOUND;
    } else if (rc == SQLITE_ROW) {
        const char *name = col_text(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (n >= cap) {
            result = ADM_ERR_TOO_BIG;
            goto out;
        }
        memcpy(buf, name, n);
        buf[n] = '\0';
        result = ADM_OK;
    }
out:
    sqlite3_finalize(s);
    return result;
}

adm_err_t adm_gate_lists_each(adm_gate_t *g, int (*fn)(const adm_gate_list_info_t *list, void *ud),
                              void *ud)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    sqlite3_stmt *ls = NULL, *gs = NULL;
    char(*names)[ADM_GATE_NAME_MAX + 1] = NULL;
    const char **ptrs = NULL;
    int rc;

    if (g == NULL || fn == NULL)
        goto out;
    result = ADM_ERR_NOMEM;
    if ((names = calloc(ADM_GATE_LIST_GATES_MAX, sizeof *names)) == NULL ||
        (ptrs = calloc(ADM_GATE_LIST_GATES_MAX, sizeof *ptrs)) == NULL)
        goto out;
    result = ADM_ERR_STORE;
    if ((ls = prep(g, "SELECT id, name, reentry FROM lists ORDER BY id")) == NULL ||
        (gs = prep(g, "SELECT name FROM list_gates WHERE list_id = ?1 ORDER BY name")) == NULL)
        goto out;
    while ((rc = sqlite3_step(ls)) == SQLITE_ROW) {
        adm_gate_list_info_t li = {0};
        int64_t rule = sqlite3_column_int64(ls, 2);
        size_t n = 0;
        int grc;

        li.id = (uint32_t)sqlite3_column_int64(ls, 0);
        li.name = col_text(ls, 1);
        if (rule < 0 || rule >= ADM_REENTRY__MAX) {
            result = ADM_ERR_FORMAT;
            goto out;
        }
        li.reentry = (adm_reentry_t)rule;
        sqlite3_reset(gs);
        if (sqlite3_bind_int64(gs, 1, li.id) != SQLITE_OK)
            goto out;
        while ((grc = sqlite3_step(gs)) == SQLITE_ROW) {
            if (n == ADM_GATE_LIST_GATES_MAX) {
                result = ADM_ERR_TOO_BIG;
                goto out;
            }
            /* the store holds names of 1..ADM_GATE_NAME_MAX bytes (adm_gate_name_ok) */
            snprintf(names[n], sizeof names[n], "%s", col_text(gs, 0));
            ptrs[n] = names[n];
            n++;
        }
        if (grc != SQLITE_DONE)
            goto out;
        li.gates = ptrs;
        li.n_gates = n;
        if (fn(&li, ud) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        goto out;
    result = ADM_OK;
out:
    sqlite3_finalize(ls);
    sqlite3_finalize(gs);
    free(names);
    free(ptrs);
    return result;
}

/* The static name of a stored ticket status. */
static const char *status_name(const char *s)
{
    static const char *const names[] = {"valid", "revoked", "refunded", "blocked"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return names[i];
    return "unknown";
}

/* The reads of adm_gate_ticket_info(), inside its read transaction. */
static adm_err_t ticket_read(adm_gate_t *g, int64_t id, adm_gate_ticket_info_t *out)
{
    adm_err_t result = ADM_ERR_STORE;
    sqlite3_stmt *s = NULL;
    int rc;

    /* the latest revocation, as the verdict reads it (Q_REVOKED) */
    if ((s = prep(g, "SELECT revoked_at, reason FROM revocations WHERE ticket_id = ?1"
                     " ORDER BY seq DESC LIMIT 1")) == NULL ||
        sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out->revoked = true;
        out->revoked_at = sqlite3_column_int64(s, 0);
        out->revoked_reason = adm_gate_revocation_reason(col_text(s, 1));
    } else if (rc != SQLITE_DONE) {
        goto out;
    }
    sqlite3_finalize(s);
    if ((s = prep(g, "SELECT status FROM ticket_status WHERE ticket_id = ?1")) == NULL ||
        sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto out;
    if ((rc = sqlite3_step(s)) == SQLITE_ROW)
        out->status = status_name(col_text(s, 0));
    else if (rc != SQLITE_DONE)
        goto out;
    sqlite3_finalize(s);
    /* accepted entries and exits, ordered like presence (gate.c Q_TICKET_ROWS);
     * one row more than returned says whether there are more */
    if ((s = prep(g, "SELECT at, gate, device, direction, list_id, src FROM ("
                     " SELECT at, gate, device, direction, list_id, 0 AS src, id AS n"
                     " FROM remote_checkins WHERE ticket_id = ?1 UNION ALL"
                     " SELECT at, gate, device, direction, list_id, 1, seq FROM journal"
                     " WHERE ticket_id = ?1 AND verdict = 'accept')"
                     " ORDER BY at, src, n LIMIT ?2")) == NULL ||
        sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, ADM_GATE_HISTORY_MAX + 1) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        adm_gate_history_row_t *h;
        adm_direction_t dir = ADM_DIRECTION_ENTRY;
        if (out->n_history == ADM_GATE_HISTORY_MAX) {
            out->truncated = true;
            rc = SQLITE_DONE;
            break;
        }
        h = &out->history[out->n_history++];
        h->at = sqlite3_column_int64(s, 0);
        snprintf(h->gate, sizeof h->gate, "%s", col_text(s, 1));
        snprintf(h->device, sizeof h->device, "%s", col_text(s, 2));
        if (!adm_direction_parse(col_text(s, 3), &dir))
            dir = ADM_DIRECTION_ENTRY;
        h->direction = dir;
        h->list_id = (uint32_t)sqlite3_column_int64(s, 4);
        h->source = sqlite3_column_int(s, 5) == 0 ? ADM_GATE_SOURCE_SYNCED : ADM_GATE_SOURCE_LOCAL;
    }
    if (rc != SQLITE_DONE)
        goto out;
    sqlite3_finalize(s);
    if ((s = prep(g,
                  "SELECT count(*) FROM journal WHERE ticket_id = ?1 AND verdict != 'accept'")) ==
            NULL ||
        sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
        goto out;
    out->refused = sqlite3_column_int64(s, 0);
    result = ADM_OK;
out:
    sqlite3_finalize(s);
    return result;
}

adm_err_t adm_gate_ticket_info(adm_gate_t *g, uint64_t ticket_id, adm_gate_ticket_info_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (g == NULL || out == NULL || ticket_id == 0 || ticket_id > INT64_MAX)
        goto out;
    out->ticket_id = ticket_id;
    result = ADM_ERR_STORE;
    /* one read snapshot: a page applied by the syncer meanwhile shows entirely or not at all */
    if (sqlite3_exec(g->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    result = ticket_read(g, (int64_t)ticket_id, out);
    if (sqlite3_exec(g->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
        result = ADM_ERR_STORE;
    }
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}
