/* scan-lookup.c: admit-scan's read-only queries on the gate store (type
 * names, lists, a ticket's local history). SELECTs only: every write goes
 * through scanner/gate.c. */
#include "ui/scan-lookup.h"

#include <gio/gio.h>
#include <sqlite3.h>
#include <string.h>

#include "ui/scan-present.h"

struct adm_scan_lookup {
    sqlite3 *db;
};

void adm_scan_list_free(adm_scan_list_t *l)
{
    if (l == NULL)
        return;
    g_free(l->name);
    g_free(l->reentry);
    g_strfreev(l->gates);
    g_free(l);
}

gboolean adm_scan_lookup_open(const char *path, adm_scan_lookup_t **out, GError **error)
{
    adm_scan_lookup_t *l = g_new0(adm_scan_lookup_t, 1);

    *out = NULL;
    if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot open %s: %s", path,
                    l->db != NULL ? sqlite3_errmsg(l->db) : "out of memory");
        adm_scan_lookup_close(l);
        return FALSE;
    }
    sqlite3_busy_timeout(l->db, 2000);
    *out = l;
    return TRUE;
}

void adm_scan_lookup_close(adm_scan_lookup_t *l)
{
    if (l == NULL)
        return;
    sqlite3_close(l->db);
    g_free(l);
}

static sqlite3_stmt *prep(adm_scan_lookup_t *l, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
        g_debug("lookup: %s: %s", sql, sqlite3_errmsg(l->db));
        return NULL;
    }
    return st;
}

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return g_strdup(s != NULL ? (const char *)s : "");
}

char *adm_scan_lookup_type_name(adm_scan_lookup_t *l, uint32_t type_id)
{
    sqlite3_stmt *st = prep(l, "SELECT name FROM ticket_types WHERE id = ?1");
    char *name = NULL;

    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, type_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        name = col_str(st, 0);
    sqlite3_finalize(st);
    return name;
}

GPtrArray *adm_scan_lookup_lists(adm_scan_lookup_t *l)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)adm_scan_list_free);
    sqlite3_stmt *st = prep(l, "SELECT id, name, reentry FROM lists ORDER BY id");
    sqlite3_stmt *gs = prep(l, "SELECT name FROM list_gates WHERE list_id = ?1 ORDER BY name");
    static const char *const reentry[] = {"once", "after_exit", "unlimited"};

    while (st != NULL && gs != NULL && sqlite3_step(st) == SQLITE_ROW) {
        adm_scan_list_t *li = g_new0(adm_scan_list_t, 1);
        GPtrArray *gates = g_ptr_array_new();
        int r = sqlite3_column_int(st, 2);

        li->id = (uint32_t)sqlite3_column_int64(st, 0);
        li->name = col_str(st, 1);
        li->reentry = g_strdup(r >= 0 && r < 3 ? reentry[r] : "?");
        sqlite3_reset(gs);
        sqlite3_bind_int64(gs, 1, li->id);
        while (sqlite3_step(gs) == SQLITE_ROW)
            g_ptr_array_add(gates, col_str(gs, 0));
        g_ptr_array_add(gates, NULL);
        li->gates = (char **)g_ptr_array_free(gates, FALSE);
        g_ptr_array_add(out, li);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(gs);
    return out;
}

uint32_t adm_scan_lookup_pick_list(GPtrArray *lists, const char *gate)
{
    for (guint i = 0; gate != NULL && i < lists->len; i++) {
        adm_scan_list_t *li = g_ptr_array_index(lists, i);
        if (g_strv_contains((const char *const *)li->gates, gate))
            return li->id;
    }
    for (guint i = 0; i < lists->len; i++) {
        adm_scan_list_t *li = g_ptr_array_index(lists, i);
        if (li->gates[0] == NULL)
            return li->id;
    }
    return 0;
}

char *adm_scan_lookup_ticket(adm_scan_lookup_t *l, uint64_t ticket_id, int64_t now)
{
    GString *s = g_string_new(NULL);
    sqlite3_stmt *st;
    int n = 0;

    g_string_append_printf(s, "Ticket %" G_GUINT64_FORMAT "\n", ticket_id);
    if ((st = prep(l, "SELECT revoked_at, reason FROM revocations WHERE ticket_id = ?1"
                      " ORDER BY seq LIMIT 1")) != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ticket_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            g_autofree char *when = adm_scan_format_time(sqlite3_column_int64(st, 0), now);
            g_autofree char *why = col_str(st, 1);
            g_string_append_printf(s, "REVOKED (%s) at %s\n", why, when);
            n++;
        }
        sqlite3_finalize(st);
    }
    if ((st = prep(l, "SELECT status FROM ticket_status WHERE ticket_id = ?1")) != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ticket_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            g_autofree char *status = col_str(st, 0);
            if (strcmp(status, "valid") != 0) {
                g_string_append_printf(s, "Status: %s\n", status);
                n++;
            }
        }
        sqlite3_finalize(st);
    }
    /* entries and exits, this device's accepted scans and other devices' */
    if ((st = prep(l, "SELECT at, gate, device, direction, list_id, 'this device' FROM journal"
                      " WHERE ticket_id = ?1 AND verdict = 'accept'"
                      " UNION ALL SELECT at, gate, device, direction, list_id, 'synced'"
                      " FROM remote_checkins WHERE ticket_id = ?1 ORDER BY 1 LIMIT 20")) != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ticket_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            g_autofree char *when = adm_scan_format_time(sqlite3_column_int64(st, 0), now);
            g_autofree char *gate = col_str(st, 1), *dev = col_str(st, 2), *dir = col_str(st, 3);
            g_string_append_printf(s, "%s %s at %s, list %lld, device %s\n",
                                   strcmp(dir, "exit") == 0 ? "Exit" : "Entry", when, gate,
                                   (long long)sqlite3_column_int64(st, 4), dev);
            n++;
        }
        sqlite3_finalize(st);
    }
    if ((st = prep(l,
                   "SELECT count(*) FROM journal WHERE ticket_id = ?1 AND verdict != 'accept'")) !=
        NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ticket_id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
            g_string_append_printf(s, "Refused here %lld time(s)\n",
                                   (long long)sqlite3_column_int64(st, 0));
            n++;
        }
        sqlite3_finalize(st);
    }
    if (n == 0)
        g_string_append(s, "Not revoked, never checked in (as far as this device knows)\n");
    return g_string_free(s, FALSE);
}
