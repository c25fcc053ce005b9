/* verdict.c: the offline verdict for a scanned text, in the order of
 * docs/scanning.md §3, and its durable journal row. Not input reading
 * (main.c) and not the store's schema (gate.c). */
#include "scanner/gate-impl.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

adm_verdict_t adm_gate_verdict_from_name(const char *s)
{
    adm_verdict_t v = ADM_VERDICT_MALFORMED;
    adm_verdict_parse(s, &v);
    return v;
}

/* ---- the verdict (docs/scanning.md §3) ---- */

static void refuse(adm_gate_result_t *res, adm_verdict_t v, const char *reason)
{
    res->verdict = v;
    res->reason = reason;
}

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    snprintf(out, cap, "%s", t ? t : "");
}

/* Decides the verdict inside the scan's transaction. ADM_ERR_STORE on a read failure. */
static adm_err_t decide(adm_gate_t *g, const char *s, size_t n, int64_t now,
                        const adm_gate_ctx_t *ctx, adm_reentry_t rule, adm_gate_result_t *res)
{
    adm_err_t result = ADM_ERR_STORE, e;
    adm_ticket_t t;
    sqlite3_stmt *q;
    int rc, entries = 0, inside = 0;
    bool entry = ctx->direction == ADM_DIRECTION_ENTRY;

    /* 1. parse (no trust yet) */
    e = adm_token_parse(s, n, &t, NULL, NULL, NULL);
    if (e != ADM_OK) {
        refuse(res, ADM_VERDICT_MALFORMED, adm_err_name(e));
        goto done;
    }
    res->parsed = true;
    res->ticket = t;
    /* 2. event: a refusal needs no trust, and another event's key is not ours */
    if (t.event_id != g->event_id) {
        refuse(res, ADM_VERDICT_WRONG_EVENT, "wrong_event");
        goto done;
    }
    /* 3. key and signature */
    e = adm_token_decode(s, n, g->kr, &t);
    if (e == ADM_ERR_TOKEN_KEY || e == ADM_ERR_TOKEN_KEY_RETIRED) {
        refuse(res, ADM_VERDICT_UNKNOWN_KEY, adm_err_name(e));
        goto done;
    }
    if (e == ADM_ERR_TOKEN_SIGNATURE) {
        refuse(res, ADM_VERDICT_BAD_SIGNATURE, adm_err_name(e));
        goto done;
    }
    if (e != ADM_OK) {
        refuse(res, ADM_VERDICT_MALFORMED, adm_err_name(e));
        goto done;
    }
    res->verified = true;
    res->ticket = t;
    res->attention = (t.flags & ADM_TICKET_SPECIAL) != 0;
    if (entry) {
        /* 4. revoked / refunded / blocked (entries only: letting someone out is never a risk) */
        q = adm_gate_stmt(g, Q_REVOKED);
        sqlite3_bind_int64(q, 1, (int64_t)t.ticket_id);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            const char *why = adm_gate_revocation_reason((const char *)sqlite3_column_text(q, 0));
            sqlite3_reset(q);
            refuse(res, ADM_VERDICT_REVOKED, why);
            goto done;
        }
        sqlite3_reset(q);
        if (rc != SQLITE_DONE)
            goto out;
        q = adm_gate_stmt(g, Q_STATUS);
        sqlite3_bind_int64(q, 1, (int64_t)t.ticket_id);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            const char *st = (const char *)sqlite3_column_text(q, 0);
            const char *why = st == NULL                    ? NULL
                              : strcmp(st, "revoked") == 0  ? "revoked"
                              : strcmp(st, "refunded") == 0 ? "refunded"
                              : strcmp(st, "blocked") == 0  ? "blocked"
                                                            : NULL;
            sqlite3_reset(q);
            if (why != NULL) {
                refuse(res, ADM_VERDICT_REVOKED, why);
                goto done;
            }
        } else {
            sqlite3_reset(q);
            if (rc != SQLITE_DONE)
                goto out;
        }
        /* 5. validity window (inclusive, docs/ticket-format.md §3) */
        if (t.has_valid_from && now < t.valid_from) {
            refuse(res, ADM_VERDICT_NOT_YET_VALID, "not_yet_valid");
            goto done;
        }
        if (t.has_valid_until && now > t.valid_until) {
            refuse(res, ADM_VERDICT_EXPIRED, "expired");
            goto done;
        }
    }
    /* 6. ticket type on this check-in list */
    q = adm_gate_stmt(g, Q_TYPE_OK);
    sqlite3_bind_int64(q, 1, ctx->list_id);
    sqlite3_bind_int64(q, 2, t.type_id);
    rc = adm_gate_step(q);
    if (rc == SQLITE_DONE) {
        refuse(res, ADM_VERDICT_WRONG_GATE, "type_not_on_list");
        goto done;
    }
    if (rc != SQLITE_ROW)
        goto out;
    /* 7. entry/exit rule */
    q = adm_gate_stmt(g, Q_PRESENCE);
    sqlite3_bind_int64(q, 1, ctx->list_id);
    sqlite3_bind_int64(q, 2, (int64_t)t.ticket_id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        entries = sqlite3_column_int(q, 0);
        inside = sqlite3_column_int(q, 1);
        if (sqlite3_column_type(q, 2) != SQLITE_NULL) {
            res->has_first_used = true;
            res->first_at = sqlite3_column_int64(q, 2);
            copy_col(q, 3, res->first_gate, sizeof res->first_gate);
            copy_col(q, 4, res->first_device, sizeof res->first_device);
        }
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto out;
    if (!entry) {
        if (!inside) {
            refuse(res, ADM_VERDICT_NOT_INSIDE, "not_inside");
            goto done;
        }
    } else if (entries > 0) {
        bool again =
            rule == ADM_REENTRY_UNLIMITED ||
            (!inside && (rule == ADM_REENTRY_AFTER_EXIT || (t.flags & ADM_TICKET_REENTRY)));
        if (!again) {
            bool may_reenter = rule == ADM_REENTRY_AFTER_EXIT || (t.flags & ADM_TICKET_REENTRY);
            refuse(res, ADM_VERDICT_ALREADY_USED,
                   inside && may_reenter ? "already_inside" : "already_used");
            goto done;
        }
    }
    res->verdict = ADM_VERDICT_ACCEPT;
    res->reason = "ok";
done:
    if (res->verdict != ADM_VERDICT_ALREADY_USED)
        res->has_first_used = false;
    result = ADM_OK;
out:
    return result;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

adm_err_t adm_gate_scan(adm_gate_t *g, const char *text, size_t len, int64_t now,
                        const adm_gate_ctx_t *ctx, adm_gate_result_t *res)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    const char *raw = text != NULL ? text : "", *s = raw;
    size_t n = len;
    int rc = SQLITE_OK;
    bool in_tx = false;
    uint8_t nonce[16], hash[32];
    char hash_hex[65];
    sqlite3_stmt *q;
    adm_reentry_t rule = ADM_REENTRY_ONCE;

    if (res == NULL)
        goto out;
    memset(res, 0, sizeof *res);
    refuse(res, ADM_VERDICT_MALFORMED, "store");
    res->at = now;
    if (g == NULL || ctx == NULL || (text == NULL && len > 0) || !adm_gate_name_ok(ctx->gate) ||
        ctx->list_id == 0 ||
        (ctx->direction != ADM_DIRECTION_ENTRY && ctx->direction != ADM_DIRECTION_EXIT))
        goto out;
    while (n > 0 && is_space(s[0]))
        s++, n--;
    while (n > 0 && is_space(s[n - 1]))
        n--;
    result = ADM_ERR_STORE;
    if (adm_gate_step(adm_gate_stmt(g, Q_BEGIN)) != SQLITE_DONE)
        goto out;
    in_tx = true;
    /* another connection (the syncer) may have changed the event or the keys */
    if (adm_gate_reload(g) != ADM_OK)
        goto out;
    result = ADM_ERR_STATE;
    if (g->event_id == 0)
        goto out;
    /* the context: list and gate */
    q = adm_gate_stmt(g, Q_LIST);
    sqlite3_bind_int64(q, 1, ctx->list_id);
    sqlite3_bind_text(q, 2, ctx->gate, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        rule = (adm_reentry_t)sqlite3_column_int(q, 0);
        if (sqlite3_column_int(q, 1) > 0 && sqlite3_column_int(q, 2) == 0)
            rc = SQLITE_DONE; /* the list names its gates and this is not one */
    }
    sqlite3_reset(q);
    if (rc == SQLITE_DONE) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    if ((result = decide(g, s, n, now, ctx, rule, res)) != ADM_OK)
        goto out;
    result = ADM_ERR_STORE;
    randombytes_buf(nonce, sizeof nonce);
    adm_gate_hex(nonce, sizeof nonce, res->nonce);
    crypto_generichash(hash, sizeof hash, (const uint8_t *)raw, len, NULL, 0);
    adm_gate_hex(hash, sizeof hash, hash_hex);
    q = adm_gate_stmt(g, Q_JOURNAL);
    sqlite3_bind_text(q, 1, res->nonce, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_text(q, 3, ctx->gate, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, g->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, ctx->list_id);
    sqlite3_bind_text(q, 6, adm_direction_name(ctx->direction), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, adm_verdict_name(res->verdict), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, res->reason, -1, SQLITE_STATIC);
    if (res->parsed)
        sqlite3_bind_int64(q, 9, (int64_t)res->ticket.ticket_id);
    sqlite3_bind_int(q, 10, res->attention);
    sqlite3_bind_text(q, 11, hash_hex, -1, SQLITE_STATIC);
    if (adm_gate_step(q) != SQLITE_DONE)
        goto out;
    if (res->verdict == ADM_VERDICT_ACCEPT &&
        adm_gate_presence_apply(g, ctx->list_id, res->ticket.ticket_id, now, ctx->gate, g->device,
                                ctx->direction) != ADM_OK)
        goto out;
    /* durable before the verdict is reported (WAL + synchronous=FULL) */
    if (adm_gate_step(adm_gate_stmt(g, Q_COMMIT)) != SQLITE_DONE)
        goto out;
    in_tx = false;
    result = ADM_OK;
out:
    if (in_tx)
        adm_gate_step(adm_gate_stmt(g, Q_ROLLBACK));
    if (result != ADM_OK && res != NULL) {
        memset(res, 0, sizeof *res);
        refuse(res, ADM_VERDICT_MALFORMED, "store");
        res->at = now;
    }
    return result;
}
