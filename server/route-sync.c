/* route-sync.c: admitd's sync endpoints (docs/sync.md §1-§4): enrollment,
 * the device feed with long-poll, check-in upload, the crews' lookup by
 * order or ticket (§2b), and the organiser views of check-in lists,
 * devices, scans and counts. On an edge (cfg->mode edge)
 * the feed's header and revocations come from the mirror of the upstream.
 * Not for the edge's own upstream client (edge.c) nor for SQL (store*.c). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/app.h"
#include "server/issuer.h"
#include "sync/qr.h"

#define TIME_MAX 253402300799LL          /* 9999-12-31T23:59:59Z */
#define TICKET_ID_MAX 9007199254740991LL /* 2^53 - 1: exact as a JSON number */
#define ENROLL_TTL_MIN 60
#define ENROLL_TTL_MAX 2592000
#define ENROLL_TTL_DEFAULT 86400
#define FEED_LIMIT_DEFAULT 1000
#define FEED_LIMIT_MAX 5000
#define FEED_WAIT_MAX 30    /* seconds */
#define FEED_RECHECK_MS 500 /* long-poll re-check of the store (other processes' writes) */
#define SCANS_LIMIT_DEFAULT 100

_Static_assert(FEED_LIMIT_MAX <= ADM_STORE_CHECKINS_PAGE_MAX, "feed page within the store's");

/* ---- helpers ------------------------------------------------------------------ */

static bool is_edge(const adm_app_t *app)
{
    return app->cfg != NULL && app->cfg->mode == ADM_MODE_EDGE;
}

adm_err_t adm_app_sync_event_store_check(adm_store_t *st, bool edge, int64_t event_id)
{
    adm_err_t result;

    if (edge) {
        adm_mirror_t m;
        memset(&m, 0, sizeof m);
        result = adm_store_mirror_get(st, event_id, &m);
        adm_store_mirror_clear(&m);
    } else {
        adm_event_t *e = malloc(sizeof *e);
        if (e == NULL)
            return ADM_ERR_NOMEM;
        result = adm_store_event_get(st, ADM_READ_HINT_PRIMARY, event_id, e);
        free(e);
    }
    return result;
}

adm_err_t adm_app_sync_event_check(adm_app_t *app, int64_t event_id)
{
    return adm_app_sync_event_store_check(app->store, is_edge(app), event_id);
}

void adm_app_public_url(const adm_config_t *cfg, char *out, size_t cap)
{
    size_t n;

    if (cap == 0)
        return;
    if (cfg->public_url[0] != '\0')
        snprintf(out, cap, "%s", cfg->public_url);
    else if (strchr(cfg->listen, ':') != NULL)
        snprintf(out, cap, "http://[%s]:%d", cfg->listen, cfg->port);
    else
        snprintf(out, cap, "http://%s:%d", cfg->listen, cfg->port);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

adm_err_t adm_app_enroll_uri(const char *base, const char *token, char *out, size_t cap)
{
    int n = snprintf(out, cap, "admit-enroll:%s#%s", base, token);

    return n < 0 || (size_t)n >= cap ? ADM_ERR_TOO_BIG : ADM_OK;
}

/* Replies 404 for an event that has no sync data here, else the store error;
 * true when the event is there. */
static bool event_there(adm_http_req_t *req, adm_app_t *app, int64_t event_id)
{
    adm_err_t rc = adm_app_sync_event_check(app, event_id);

    if (rc == ADM_ERR_NOT_FOUND) {
        adm_http_reply_error(req, 404, "not_found", "event %lld does not exist%s",
                             (long long)event_id, is_edge(app) ? " on this edge" : "");
        return false;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return false;
    }
    return true;
}

static bool lower_hex(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* "dv_" + 16 lower-case hex digits */
static bool device_id_ok(const char *s)
{
    return s != NULL && strncmp(s, "dv_", 3) == 0 && lower_hex(s + 3, ADM_STORE_DEVICE_ID_LEN - 3);
}

static const char *kind_name(adm_device_kind_t k)
{
    return k == ADM_DEVICE_RELAY ? "relay" : "gate";
}

static json_t *time_or_null(int64_t t)
{
    return t != 0 ? json_integer(t) : json_null();
}

static json_t *ticket_or_null(int64_t id)
{
    return id != 0 ? json_integer(id) : json_null();
}

json_t *adm_app_checkin_list_json(const adm_checkin_list_t *l, bool full)
{
    json_t *types = json_array(), *gates = json_array(), *o = NULL;
    size_t i;

    if (types == NULL || gates == NULL)
        goto fail;
    for (i = 0; i < l->n_types; i++)
        if (json_array_append_new(types, json_integer(l->types[i])) != 0)
            goto fail;
    for (i = 0; i < l->n_gates; i++)
        if (json_array_append_new(gates, json_string(l->gates[i])) != 0)
            goto fail;
    if (full)
        o = json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:I}", "id", (json_int_t)l->id, "event_id",
                      (json_int_t)l->event_id, "name", l->name, "reentry",
                      adm_reentry_name(l->reentry), "ticket_types", types, "gates", gates,
                      "created", (json_int_t)l->created);
    else
        o = json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)l->id, "name", l->name,
                      "reentry", adm_reentry_name(l->reentry), "ticket_types", types, "gates",
                      gates);
    return o; /* json_pack's "o" took types and gates, even on failure */
fail:
    json_decref(types);
    json_decref(gates);
    return NULL;
}

json_t *adm_app_device_json(const adm_device_t *d)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:o}", "id", d->id, "event_id",
                     (json_int_t)d->event_id, "name", d->name, "gate", d->gate, "kind",
                     kind_name(d->kind), "created", (json_int_t)d->created, "last_seen",
                     time_or_null(d->last_seen), "revoked_at", time_or_null(d->revoked_at));
}

/* A feed row (accepted scans only, so no verdict). */
static json_t *checkin_feed_json(const adm_checkin_t *c)
{
    return json_pack("{s:I, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:b}", "seq", (json_int_t)c->seq,
                     "nonce", c->nonce, "ticket_id", ticket_or_null(c->ticket_id), "list_id",
                     (json_int_t)c->list_id, "at", (json_int_t)c->at, "gate", c->gate, "device",
                     c->device, "direction", adm_direction_name(c->direction), "conflict",
                     c->conflict);
}

json_t *adm_app_checkin_json(const adm_checkin_t *c)
{
    return json_pack("{s:I, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b, "
                     "s:I}",
                     "seq", (json_int_t)c->seq, "nonce", c->nonce, "ticket_id",
                     ticket_or_null(c->ticket_id), "list_id", (json_int_t)c->list_id, "at",
                     (json_int_t)c->at, "gate", c->gate, "device", c->device, "uploader",
                     c->uploader, "direction", adm_direction_name(c->direction), "verdict",
                     adm_verdict_name(c->verdict), "reason", c->reason, "attention", c->attention,
                     "text_hash", c->text_hash, "conflict", c->conflict, "received_at",
                     (json_int_t)c->received_at);
}

/* Appends v (taken) to arr; false (v released) when out of memory. */
static bool append(json_t *arr, json_t *v)
{
    return v != NULL && json_array_append_new(arr, v) == 0;
}

/* ---- enrollment (§1) -------------------------------------------------------------- */

/* POST /v1/events/{id}/enrollments {gate, kind?, name?, ttl_s?, qr?} (organiser).
 * Not recorded under Idempotency-Key: the reply holds a credential. */
static void post_enrollment(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"gate", "kind", "name", "ttl_s", "qr", NULL};
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_enrollment_spec_t spec = {.kind = ADM_DEVICE_GATE};
    const char *gate, *kind, *name, *qr;
    char token[ADM_AUTH_TOKEN_MAX], base[ADM_CONFIG_URL_MAX], uri[ADM_APP_ENROLL_URI_MAX];
    json_int_t ttl = ENROLL_TTL_DEFAULT;
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    char *svg = NULL;
    int64_t event_id, now = adm_app_now(app);
    adm_err_t rc;
    json_t *in, *body;

    token[0] = '\0';
    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) || (in = adm_http_body_json(req)) == NULL ||
        !adm_app_check_fields(req, in, fields) ||
        !adm_app_json_text(req, in, "gate", true, ADM_STORE_GATE_MAX, false, &gate) ||
        !adm_app_json_text(req, in, "kind", false, 16, false, &kind) ||
        !adm_app_json_text(req, in, "name", false, ADM_STORE_NAME_MAX, false, &name) ||
        !adm_app_json_text(req, in, "qr", false, 16, false, &qr) ||
        !adm_http_json_int(req, in, "ttl_s", false, ENROLL_TTL_MIN, ENROLL_TTL_MAX, &ttl))
        goto out;
    if (kind != NULL && strcmp(kind, "gate") != 0 && strcmp(kind, "relay") != 0) {
        adm_http_reply_error(req, 400, "bad_field", "field \"kind\" must be \"gate\" or \"relay\"");
        goto out;
    }
    if (qr != NULL && strcmp(qr, "svg") != 0) {
        adm_http_reply_error(req, 400, "bad_field", "field \"qr\" must be \"svg\"");
        goto out;
    }
    if (!event_there(req, app, event_id))
        goto out;
    spec.event_id = event_id;
    spec.gate = gate;
    spec.kind = kind != NULL && strcmp(kind, "relay") == 0 ? ADM_DEVICE_RELAY : ADM_DEVICE_GATE;
    spec.expires_at = now + ttl;
    adm_app_public_url(app->cfg, base, sizeof base);
    if ((rc = adm_auth_enrollment_create(app->store, &spec, now, token, sizeof token)) != ADM_OK ||
        (rc = adm_app_enroll_uri(base, token, uri, sizeof uri)) != ADM_OK ||
        (qr != NULL && (rc = adm_qr_render_svg(uri, &style, &svg)) != ADM_OK)) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    body = json_pack("{s:s, s:I, s:s, s:s, s:I, s:s}", "token", token, "event_id",
                     (json_int_t)event_id, "gate", gate, "kind", kind_name(spec.kind), "expires_at",
                     (json_int_t)spec.expires_at, "enroll_uri", uri);
    if (body != NULL && svg != NULL && json_object_set_new(body, "qr_svg", json_string(svg)) != 0) {
        json_decref(body);
        body = NULL;
    }
    (void)adm_http_set_header(req, "Cache-Control", "no-store");
    adm_http_reply_json(req, 201, body);
out:
    free(svg);
    sodium_memzero(token, sizeof token);
}

/* POST /v1/devices/enroll {token, name?} (no other authentication) */
static void post_device_enroll(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"token", "name", NULL};
    adm_app_t *app = ctx;
    const char *token, *name;
    char secret[ADM_AUTH_TOKEN_MAX];
    adm_device_t d;
    adm_err_t rc;
    json_t *in;

    secret[0] = '\0';
    if ((in = adm_http_body_json(req)) == NULL || !adm_app_check_fields(req, in, fields) ||
        !adm_app_json_text(req, in, "token", true, ADM_AUTH_TOKEN_MAX, false, &token) ||
        !adm_app_json_text(req, in, "name", false, ADM_STORE_NAME_MAX, false, &name))
        goto out;
    rc = adm_auth_device_enroll(app->store, token, name, adm_app_now(app), &d, secret,
                                sizeof secret);
    switch (rc) {
    case ADM_OK:
        (void)adm_http_set_header(req, "Cache-Control", "no-store");
        adm_http_reply_json(req, 201,
                            json_pack("{s:s, s:s, s:I, s:s, s:s}", "device_id", d.id, "secret",
                                      secret, "event_id", (json_int_t)d.event_id, "gate", d.gate,
                                      "kind", kind_name(d.kind)));
        break;
    case ADM_ERR_NOT_FOUND:
        adm_http_reply_error(req, 404, "not_found",
                             "unknown enrollment token; ask the organiser for a new one");
        break;
    case ADM_ERR_EXPIRED:
        adm_http_reply_error(req, 410, "expired",
                             "the enrollment token has expired; ask the organiser for a new one");
        break;
    case ADM_ERR_STATE:
        adm_http_reply_error(req, 410, "enrollment_used",
                             "the enrollment token was used already; ask the organiser for a "
                             "new one");
        break;
    default:
        adm_app_reply_err(req, rc);
    }
out:
    sodium_memzero(secret, sizeof secret);
}

/* ---- the feed (§2) ----------------------------------------------------------------- */

/* What the first call of GET /v1/sync parsed, kept across deferrals (arena). */
struct feed {
    adm_device_t dev;
    int64_t rev_after, ck_after;
    size_t limit;
    uint64_t wait_ms;
    adm_event_t event; /* central: the event as of the last probe */
    char *header;      /* edge: the mirrored header as of the last probe (malloc) */
    int64_t rev_last, ck_last;
    bool probed;        /* the store was asked at least once */
    uint64_t probed_ms; /* adm_http_waited_ms() at the last probe */
    uint64_t gen;       /* event_gen of the event's slot at the last probe */
};

/* A wake (adm_http_server_wake) resumes every waiting feed, whatever its
 * event. So that a check-in at one event does not make every device of
 * every other event ask the store, uploads bump a generation counter of
 * their event's slot, and a woken feed whose slot did not move goes back to
 * waiting until its next periodic re-check (which finds writes made by
 * other processes or other routes). Events sharing a slot only cost an
 * extra probe. Process-wide: several servers in one process (tests) only
 * see extra probes too. */
#define GEN_SLOTS 1024
static _Atomic uint64_t event_gen[GEN_SLOTS];

static _Atomic uint64_t *gen_slot(int64_t event_id)
{
    return &event_gen[((uint64_t)event_id * 0x9E3779B97F4A7C15ull) >> 54]; /* top 10 bits */
}

/* Reads the newest revocation and accepted check-in seqs of the device's
 * event (and the header source) into f. */
static adm_err_t feed_probe(adm_app_t *app, struct feed *f)
{
    adm_err_t result;
    int64_t event_id = f->dev.event_id;

    free(f->header);
    f->header = NULL;
    if (is_edge(app)) {
        adm_mirror_t m;
        memset(&m, 0, sizeof m);
        result = adm_store_mirror_get(app->store, event_id, &m);
        if (result == ADM_OK) {
            f->rev_last = m.revocations_cursor;
            f->header = m.header;
            m.header = NULL;
        }
        adm_store_mirror_clear(&m);
    } else {
        result = adm_store_event_get(app->store, ADM_READ_HINT_PRIMARY, event_id, &f->event);
        f->rev_last = f->event.revocation_seq;
    }
    if (result == ADM_OK)
        result =
            adm_store_checkins_last_seq(app->store, ADM_READ_HINT_PRIMARY, event_id, &f->ck_last);
    return result;
}

/* Sets the header members (event, keys, ticket_types, checkin_lists) of a
 * central feed page. */
static adm_err_t central_header(adm_app_t *app, struct feed *f, json_t *page)
{
    adm_err_t result = ADM_ERR_NOMEM;
    adm_ticket_type_t *types = NULL;
    adm_checkin_list_t *lists = NULL;
    size_t n_types = 0, n_lists = 0, i;
    char *keys_text = NULL;
    size_t keys_len = 0;
    json_t *keys = NULL, *jtypes = NULL, *jlists = NULL;
    const adm_event_t *e = &f->event;
    bool ok;

    if (app->issuer != NULL) {
        result =
            adm_issuer_public_json(app->issuer, e->id, adm_app_now(app), &keys_text, &keys_len);
        if (result != ADM_OK)
            goto out;
        result = ADM_ERR_FORMAT;
        if ((keys = json_loadb(keys_text, keys_len, 0, NULL)) == NULL)
            goto out;
    } else if ((keys = json_pack("{s:s, s:i, s:[]}", "format", "admit-keyring", "version", 1,
                                 "keys")) == NULL) {
        goto out;
    }
    if ((result = adm_store_ticket_type_list(app->store, ADM_READ_HINT_PRIMARY, e->id, &types,
                                             &n_types)) != ADM_OK ||
        (result = adm_store_checkin_list_list(app->store, ADM_READ_HINT_PRIMARY, e->id, &lists,
                                              &n_lists)) != ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    if ((jtypes = json_array()) == NULL || (jlists = json_array()) == NULL)
        goto out;
    for (i = 0; i < n_types; i++)
        if (!append(jtypes,
                    json_pack("{s:I, s:s}", "id", (json_int_t)types[i].id, "name", types[i].name)))
            goto out;
    for (i = 0; i < n_lists; i++)
        if (!append(jlists, adm_app_checkin_list_json(&lists[i], false)))
            goto out;
    if (json_object_set_new(page, "event",
                            json_pack("{s:I, s:s, s:I, s:I, s:s}", "id", (json_int_t)e->id, "title",
                                      e->title, "starts_at", (json_int_t)e->starts_at, "ends_at",
                                      (json_int_t)e->ends_at, "status",
                                      adm_event_status_name(e->status))) != 0)
        goto out;
    /* json_object_set_new takes its value even when it fails */
    ok = json_object_set_new(page, "keys", keys) == 0;
    keys = NULL;
    if (json_object_set_new(page, "ticket_types", jtypes) != 0)
        ok = false;
    jtypes = NULL;
    if (json_object_set_new(page, "checkin_lists", jlists) != 0)
        ok = false;
    jlists = NULL;
    if (ok)
        result = ADM_OK;
out:
    json_decref(keys);
    json_decref(jtypes);
    json_decref(jlists);
    free(keys_text);
    free(types);
    free(lists);
    return result;
}

/* Copies the members of an edge's mirrored header into page, in order. */
static adm_err_t edge_header(struct feed *f, json_t *page)
{
    adm_err_t result = ADM_ERR_FORMAT;
    json_t *h = f->header != NULL ? json_loads(f->header, 0, NULL) : NULL;
    const char *key;
    json_t *v;

    if (!json_is_object(h)) {
        adm_log(ADM_LOG_ERROR, "sync: the mirrored header of event %lld is not a JSON object",
                (long long)f->dev.event_id);
        goto out;
    }
    result = ADM_ERR_NOMEM;
    json_object_foreach(h, key, v)
    {
        if (json_object_set(page, key, v) != 0)
            goto out;
    }
    result = ADM_OK;
out:
    json_decref(h);
    return result;
}

/* Appends revocations after f->rev_after to arr until it holds limit + 1 rows
 * or none are left; *cursor gets the last seq kept (not the extra one). */
static adm_err_t feed_revocations(adm_app_t *app, struct feed *f, json_t *arr, size_t *n_out,
                                  bool *more, int64_t *cursor)
{
    adm_err_t result = ADM_OK;
    size_t have = 0, want = f->limit + 1, got, i;
    int64_t after = f->rev_after;
    adm_revocation_t *revs = NULL;

    *more = false;
    *cursor = f->rev_after;
    while (have < want) {
        size_t ask = want - have;
        if (ask > ADM_STORE_REVOCATIONS_PAGE_MAX)
            ask = ADM_STORE_REVOCATIONS_PAGE_MAX;
        got = 0;
        if (is_edge(app))
            result = adm_store_mirror_revocations_since(app->store, f->dev.event_id, after, ask,
                                                        &revs, &got);
        else
            result = adm_store_revocations_since(app->store, ADM_READ_HINT_PRIMARY, f->dev.event_id,
                                                 after, ask, &revs, &got);
        if (result != ADM_OK)
            goto out;
        for (i = 0; i < got; i++, have++) {
            if (have == f->limit) {
                *more = true;
                goto out;
            }
            if (!append(arr, json_pack("{s:I, s:I, s:I, s:s}", "seq", (json_int_t)revs[i].seq,
                                       "ticket_id", (json_int_t)revs[i].ticket_id, "revoked_at",
                                       (json_int_t)revs[i].revoked_at, "reason", "revoked"))) {
                result = ADM_ERR_NOMEM;
                goto out;
            }
            *cursor = after = revs[i].seq;
        }
        free(revs);
        revs = NULL;
        if (got < ask)
            break;
    }
out:
    free(revs);
    *n_out = have > f->limit ? f->limit : have;
    return result;
}

/* Appends up to room accepted check-ins after f->ck_after to arr. */
static adm_err_t feed_checkins(adm_app_t *app, struct feed *f, size_t room, json_t *arr, bool *more,
                               int64_t *cursor)
{
    adm_err_t result = ADM_OK;
    adm_checkin_query_t q = {.event_id = f->dev.event_id,
                             .after_seq = f->ck_after,
                             .accepted_only = true,
                             .not_uploader = f->dev.id};
    adm_checkin_t *rows = NULL;
    size_t n = 0, i;

    *more = false;
    *cursor = f->ck_after;
    if (room == 0) {
        *more = f->ck_last > f->ck_after;
        goto out;
    }
    q.limit = room + 1 <= ADM_STORE_CHECKINS_PAGE_MAX ? room + 1 : room;
    if ((result = adm_store_checkins_list(app->store, ADM_READ_HINT_PRIMARY, &q, &rows, &n)) !=
        ADM_OK)
        goto out;
    for (i = 0; i < n && i < room; i++) {
        if (!append(arr, checkin_feed_json(&rows[i]))) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        *cursor = rows[i].seq;
    }
    /* one row past the page says there is more; a page of the store's
     * maximum asks the probe instead */
    *more = n > room || (n == room && q.limit == room && f->ck_last > *cursor);
    /* the caller's own uploads are left out, so the cursor may stand below
     * rows it will never be sent: when the page holds everything there is,
     * it moves to the probe's last seq. Safe because an event's rows commit
     * in seq order (the store serialises them) and the probe ran before this
     * query: every row up to ck_last was visible to it. */
    if (!*more && f->ck_last > *cursor)
        *cursor = f->ck_last;
out:
    free(rows);
    return result;
}

static void feed_reply(adm_http_req_t *req, adm_app_t *app, struct feed *f)
{
    adm_err_t rc = ADM_ERR_NOMEM;
    json_t *page = NULL, *revs = NULL, *cks = NULL;
    size_t n_revs = 0;
    bool more_revs = false, more_cks = false;
    int64_t rev_cursor = f->rev_after, ck_cursor = f->ck_after;

    page = json_pack("{s:s, s:i, s:I, s:{s:s, s:s, s:s}}", "format", "admit-sync", "version", 1,
                     "server_time", (json_int_t)adm_app_now(app), "device", "id", f->dev.id, "gate",
                     f->dev.gate, "kind", kind_name(f->dev.kind));
    if (page == NULL || (revs = json_array()) == NULL || (cks = json_array()) == NULL)
        goto fail;
    rc = is_edge(app) ? edge_header(f, page) : central_header(app, f, page);
    if (rc != ADM_OK)
        goto fail;
    if ((rc = feed_revocations(app, f, revs, &n_revs, &more_revs, &rev_cursor)) != ADM_OK)
        goto fail;
    if ((rc = feed_checkins(app, f, more_revs ? 0 : f->limit - n_revs, cks, &more_cks,
                            &ck_cursor)) != ADM_OK)
        goto fail;
    rc = ADM_ERR_NOMEM;
    if (json_object_set_new(page, "revocations", revs) != 0) {
        revs = NULL;
        goto fail;
    }
    revs = NULL;
    if (json_object_set_new(page, "checkins", cks) != 0) {
        cks = NULL;
        goto fail;
    }
    cks = NULL;
    if (json_object_set_new(page, "cursor",
                            json_pack("{s:I, s:I}", "revocations", (json_int_t)rev_cursor,
                                      "checkins", (json_int_t)ck_cursor)) != 0 ||
        json_object_set_new(page, "more", json_boolean(more_revs || more_cks)) != 0)
        goto fail;
    adm_http_reply_json(req, 200, page);
    return;
fail:
    json_decref(page);
    json_decref(revs);
    json_decref(cks);
    adm_app_reply_err(req, rc);
}

/* GET /v1/sync?revocations=R&checkins=C&limit=N&wait=S (device). Runs again
 * after each deferral: the first call authenticates and parses into a
 * struct feed kept in the request's arena. */
static void get_sync(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    struct feed *f = adm_http_userdata(req);
    long long rev = 0, ck = 0, limit = 0, wait = 0;
    adm_err_t rc;

    if (f == NULL) {
        if ((f = adm_arena_alloc(adm_http_arena(req), sizeof *f)) == NULL) {
            adm_app_reply_err(req, ADM_ERR_NOMEM);
            return;
        }
        memset(f, 0, sizeof *f);
        if (!adm_auth_device(req, app, &f->dev) ||
            !adm_http_query_int(req, "revocations", 0, 0, INT64_MAX, &rev) ||
            !adm_http_query_int(req, "checkins", 0, 0, INT64_MAX, &ck) ||
            !adm_http_query_int(req, "limit", FEED_LIMIT_DEFAULT, 1, FEED_LIMIT_MAX, &limit) ||
            !adm_http_query_int(req, "wait", 0, 0, FEED_WAIT_MAX, &wait))
            return;
        f->rev_after = rev;
        f->ck_after = ck;
        f->limit = (size_t)limit;
        f->wait_ms = (uint64_t)wait * 1000u;
        adm_http_set_userdata(req, f);
    }
    if (f->probed) {
        /* woken or timed out: a wake for another event changes nothing */
        uint64_t waited = adm_http_waited_ms(req), since = waited - f->probed_ms;
        if (atomic_load(gen_slot(f->dev.event_id)) == f->gen && since < FEED_RECHECK_MS &&
            waited < f->wait_ms) {
            uint64_t ms = FEED_RECHECK_MS - since;
            if (ms > f->wait_ms - waited)
                ms = f->wait_ms - waited;
            if (adm_http_defer(req, (unsigned)ms) == ADM_OK)
                return;
        }
    }
    f->gen = atomic_load(gen_slot(f->dev.event_id));
    f->probed_ms = adm_http_waited_ms(req);
    f->probed = true;
    rc = feed_probe(app, f);
    if (rc != ADM_OK) {
        free(f->header);
        f->header = NULL;
        adm_app_reply_err(req, rc);
        return;
    }
    if (f->rev_last <= f->rev_after && f->ck_last <= f->ck_after) {
        uint64_t waited = adm_http_waited_ms(req);
        if (waited < f->wait_ms) {
            uint64_t ms = f->wait_ms - waited;
            free(f->header);
            f->header = NULL;
            if (adm_http_defer(req, ms < FEED_RECHECK_MS ? (unsigned)ms : FEED_RECHECK_MS) ==
                ADM_OK)
                return;
        }
    }
    feed_reply(req, app, f);
    free(f->header);
    f->header = NULL;
}

/* ---- upload (§3) --------------------------------------------------------------------- */

/* Replies 400 bad_field about row i. */
__attribute__((format(printf, 3, 4))) static void bad_row(adm_http_req_t *req, size_t i,
                                                          const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    adm_http_reply_error(req, 400, "bad_field", "checkins[%zu]: %s", i, msg);
}

/* A JSON string of 1..max bytes without control characters; NULL otherwise. */
static const char *text_of(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i;

    if (s == NULL || n == 0 || n > max || strlen(s) != n)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return NULL;
    }
    return s;
}

/* Parses row i of an upload into *scan (strings borrowed from row).
 * Replies 400 (or 403 for a gate uploading another device's row). */
static bool parse_row(adm_http_req_t *req, const adm_device_t *caller, size_t i, const json_t *row,
                      adm_scan_t *scan)
{
    static const char *const fields[] = {"nonce",  "device",    "ticket_id", "list_id",
                                         "at",     "gate",      "direction", "verdict",
                                         "reason", "attention", "text_hash", NULL};
    const char *key, *s;
    json_t *v;

    if (!json_is_object(row)) {
        bad_row(req, i, "a row must be a JSON object");
        return false;
    }
    json_object_foreach((json_t *)row, key, v)
    {
        const char *const *a;
        for (a = fields; *a != NULL && strcmp(*a, key) != 0; a++)
            ;
        if (*a == NULL) {
            adm_http_reply_error(req, 400, "unknown_field",
                                 "checkins[%zu]: field \"%.64s\" is not accepted here", i, key);
            return false;
        }
    }
    memset(scan, 0, sizeof *scan);
    s = json_string_value(json_object_get(row, "nonce"));
    if (s == NULL || !lower_hex(s, ADM_STORE_NONCE_LEN)) {
        bad_row(req, i, "\"nonce\" must be %d lower-case hex digits", ADM_STORE_NONCE_LEN);
        return false;
    }
    scan->nonce = s;
    s = json_string_value(json_object_get(row, "device"));
    if (s == NULL || s[0] == '\0' || strlen(s) > ADM_STORE_DEVICE_ID_LEN ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
            strlen(s)) {
        bad_row(req, i, "\"device\" must be a device id");
        return false;
    }
    if (caller->kind != ADM_DEVICE_RELAY && strcmp(s, caller->id) != 0) {
        adm_http_reply_error(req, 403, "device_mismatch",
                             "checkins[%zu]: \"device\" must be this device's id (%s); only a "
                             "relay uploads other devices' scans",
                             i, caller->id);
        return false;
    }
    scan->device = s;
    v = json_object_get(row, "ticket_id");
    if (v != NULL && !json_is_null(v)) {
        json_int_t t = json_is_integer(v) ? json_integer_value(v) : 0;
        if (t < 1 || t > TICKET_ID_MAX) {
            bad_row(req, i, "\"ticket_id\" must be null or an integer in 1..%lld",
                    (long long)TICKET_ID_MAX);
            return false;
        }
        scan->ticket_id = t;
    }
    v = json_object_get(row, "list_id");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        bad_row(req, i, "\"list_id\" must be a positive integer");
        return false;
    }
    scan->list_id = json_integer_value(v);
    v = json_object_get(row, "at");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > TIME_MAX) {
        bad_row(req, i, "\"at\" must be unix seconds");
        return false;
    }
    scan->at = json_integer_value(v);
    if ((scan->gate = text_of(json_object_get(row, "gate"), ADM_STORE_GATE_MAX)) == NULL) {
        bad_row(req, i, "\"gate\" must be a name of 1..%d bytes", ADM_STORE_GATE_MAX);
        return false;
    }
    if (!adm_direction_parse(json_string_value(json_object_get(row, "direction")),
                             &scan->direction)) {
        bad_row(req, i, "\"direction\" must be \"entry\" or \"exit\"");
        return false;
    }
    if (!adm_verdict_parse(json_string_value(json_object_get(row, "verdict")), &scan->verdict)) {
        bad_row(req, i, "\"verdict\" is not a known verdict (docs/scanning.md)");
        return false;
    }
    s = json_string_value(json_object_get(row, "reason"));
    if (s == NULL || s[0] == '\0' || strlen(s) > ADM_STORE_REASON_MAX ||
        strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(s)) {
        bad_row(req, i, "\"reason\" must be 1..%d characters [a-z0-9_]", ADM_STORE_REASON_MAX);
        return false;
    }
    scan->reason = s;
    v = json_object_get(row, "attention");
    if (v != NULL && !json_is_boolean(v)) {
        bad_row(req, i, "\"attention\" must be true or false");
        return false;
    }
    scan->attention = json_is_true(v);
    v = json_object_get(row, "text_hash");
    scan->text_hash = "";
    if (v != NULL) {
        s = json_string_value(v);
        if (s == NULL || (s[0] != '\0' && !lower_hex(s, ADM_STORE_TEXT_HASH_LEN))) {
            bad_row(req, i, "\"text_hash\" must be \"\" or %d lower-case hex digits",
                    ADM_STORE_TEXT_HASH_LEN);
            return false;
        }
        scan->text_hash = s;
    }
    if (scan->verdict == ADM_VERDICT_ACCEPT && scan->ticket_id == 0) {
        bad_row(req, i, "an accepted scan needs a \"ticket_id\"");
        return false;
    }
    return true;
}

void adm_app_sync_notify(adm_http_server_t *srv, int64_t event_id)
{
    atomic_fetch_add(gen_slot(event_id), 1);
    adm_http_server_wake(srv);
}

/* New rows of event_id are stored: the long-polls of this process look. */
static void wake_event(adm_http_req_t *req, int64_t event_id)
{
    adm_app_sync_notify(adm_http_req_server(req), event_id);
}

static int cmp_nonce(const void *a, const void *b)
{
    const adm_scan_t *x = *(const adm_scan_t *const *)a, *y = *(const adm_scan_t *const *)b;

    return strcmp(x->nonce, y->nonce);
}

/* POST /v1/sync/checkins {"checkins":[…]} (device). Not recorded under
 * Idempotency-Key: rows are idempotent by nonce. */
static void post_checkins(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"checkins", NULL};
    adm_app_t *app = ctx;
    adm_arena_t *arena = adm_http_arena(req);
    adm_device_t dev;
    adm_scan_t *scans;
    const adm_scan_t **sorted;
    adm_checkin_result_t *results;
    size_t n, i, stored = 0;
    adm_err_t rc;
    json_t *in, *rows, *out = NULL, *jres;

    if (!adm_auth_device(req, app, &dev) || (in = adm_http_body_json(req)) == NULL ||
        !adm_app_check_fields(req, in, fields))
        return;
    rows = json_object_get(in, "checkins");
    if (!json_is_array(rows) || json_array_size(rows) == 0) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"checkins\" must be an array of 1..%d rows",
                             ADM_STORE_CHECKINS_BATCH_MAX);
        return;
    }
    n = json_array_size(rows);
    if (n > ADM_STORE_CHECKINS_BATCH_MAX) {
        adm_http_reply_error(req, 400, "batch_too_large",
                             "at most %d check-ins per batch; send the rest in another",
                             ADM_STORE_CHECKINS_BATCH_MAX);
        return;
    }
    scans = adm_arena_alloc(arena, n * sizeof *scans);
    sorted = adm_arena_alloc(arena, n * sizeof *sorted);
    results = adm_arena_alloc(arena, n * sizeof *results);
    if (scans == NULL || sorted == NULL || results == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        return;
    }
    for (i = 0; i < n; i++) {
        if (!parse_row(req, &dev, i, json_array_get(rows, i), &scans[i]))
            return;
        sorted[i] = &scans[i];
    }
    qsort(sorted, n, sizeof *sorted, cmp_nonce);
    for (i = 1; i < n; i++) {
        if (strcmp(sorted[i - 1]->nonce, sorted[i]->nonce) == 0) {
            adm_http_reply_error(req, 400, "bad_field", "nonce %s appears twice in the batch",
                                 sorted[i]->nonce);
            return;
        }
    }
    rc = adm_store_checkins_add(app->store, dev.event_id, dev.id, scans, n, false, adm_app_now(app),
                                results);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    if ((jres = json_array()) == NULL)
        goto nomem;
    for (i = 0; i < n; i++) {
        stored += results[i].stored ? 1 : 0;
        if (!append(jres, json_pack("{s:s, s:I, s:b, s:b}", "nonce", scans[i].nonce, "seq",
                                    (json_int_t)results[i].seq, "stored", results[i].stored,
                                    "conflict", results[i].conflict))) {
            json_decref(jres);
            goto nomem;
        }
    }
    out = json_pack("{s:I, s:I, s:o}", "stored", (json_int_t)stored, "duplicates",
                    (json_int_t)(n - stored), "results", jres);
    if (stored > 0)
        wake_event(req, dev.event_id);
    adm_http_reply_json(req, 200, out);
    return;
nomem:
    if (stored > 0)
        wake_event(req, dev.event_id);
    adm_app_reply_err(req, ADM_ERR_NOMEM);
}

/* ---- organiser (§4) -------------------------------------------------------------------- */

/* Reads obj[key] as an array of at most max items into *out (NULL when
 * absent). Replies 400 bad_field and returns false otherwise. */
static bool opt_array(adm_http_req_t *req, const json_t *obj, const char *key, size_t max,
                      json_t **out)
{
    json_t *v = json_object_get(obj, key);

    *out = v;
    if (v != NULL && (!json_is_array(v) || json_array_size(v) > max)) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" must be an array of at most %zu",
                             key, max);
        return false;
    }
    return true;
}

/* POST /v1/events/{id}/checkin-lists {name, reentry?, ticket_types?, gates?} */
static void post_list(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"name", "reentry", "ticket_types", "gates", NULL};
    adm_app_t *app = ctx;
    adm_arena_t *arena = adm_http_arena(req);
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_checkin_list_spec_t spec = {.reentry = ADM_REENTRY_ONCE};
    adm_ticket_type_t *types = NULL;
    adm_checkin_list_t *lists = NULL, *made = NULL;
    size_t n_types = 0, n_lists = 0, i, j;
    const char *name, *reentry;
    int64_t event_id, id = 0, *want = NULL;
    const char **gates = NULL;
    adm_err_t rc;
    json_t *in, *jtypes, *jgates;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) || (in = adm_http_body_json(req)) == NULL ||
        !adm_app_check_fields(req, in, fields) ||
        !adm_app_json_text(req, in, "name", true, ADM_STORE_NAME_MAX, false, &name) ||
        !adm_app_json_text(req, in, "reentry", false, 16, false, &reentry) ||
        !opt_array(req, in, "ticket_types", ADM_STORE_TYPES_MAX, &jtypes) ||
        !opt_array(req, in, "gates", ADM_STORE_LIST_GATES_MAX, &jgates))
        goto out;
    if (reentry != NULL && !adm_reentry_parse(reentry, &spec.reentry)) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"reentry\" must be \"once\", \"after_exit\" or \"unlimited\"");
        goto out;
    }
    spec.n_types = json_array_size(jtypes);
    spec.n_gates = json_array_size(jgates);
    want = adm_arena_alloc(arena, (spec.n_types + 1) * sizeof *want);
    gates = adm_arena_alloc(arena, (spec.n_gates + 1) * sizeof *gates);
    if (want == NULL || gates == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        goto out;
    }
    for (i = 0; i < spec.n_types; i++) {
        json_t *v = json_array_get(jtypes, i);
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            adm_http_reply_error(req, 400, "bad_field",
                                 "field \"ticket_types\" must hold ticket type ids");
            goto out;
        }
        want[i] = json_integer_value(v);
        for (j = 0; j < i; j++)
            if (want[j] == want[i]) {
                adm_http_reply_error(req, 400, "bad_field",
                                     "ticket type %lld appears twice in \"ticket_types\"",
                                     (long long)want[i]);
                goto out;
            }
    }
    for (i = 0; i < spec.n_gates; i++) {
        if ((gates[i] = text_of(json_array_get(jgates, i), ADM_STORE_GATE_MAX)) == NULL) {
            adm_http_reply_error(req, 400, "bad_field",
                                 "field \"gates\" must hold gate names of 1..%d bytes",
                                 ADM_STORE_GATE_MAX);
            goto out;
        }
        for (j = 0; j < i; j++)
            if (strcmp(gates[j], gates[i]) == 0) {
                adm_http_reply_error(req, 400, "bad_field",
                                     "gate \"%s\" appears twice in \"gates\"", gates[i]);
                goto out;
            }
    }
    if (is_edge(app)) {
        adm_http_reply_error(req, 409, "invalid_state",
                             "this is an edge server: check-in lists are made on the central "
                             "server and reach the edge with its feed");
        goto out;
    }
    rc = adm_store_ticket_type_list(app->store, ADM_READ_HINT_PRIMARY, event_id, &types, &n_types);
    if (rc == ADM_ERR_NOT_FOUND) {
        adm_http_reply_error(req, 404, "not_found", "event %lld does not exist",
                             (long long)event_id);
        goto out;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    for (i = 0; i < spec.n_types; i++) {
        for (j = 0; j < n_types && types[j].id != want[i]; j++)
            ;
        if (j == n_types) {
            adm_http_reply_error(req, 400, "bad_field",
                                 "ticket type %lld is not a type of event %lld", (long long)want[i],
                                 (long long)event_id);
            goto out;
        }
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        goto out;
    spec.event_id = event_id;
    spec.name = name;
    spec.types = want;
    spec.gates = gates;
    rc = adm_store_checkin_list_create(app->store, &spec, adm_app_now(app), &id);
    if (rc == ADM_OK)
        rc = adm_store_checkin_list_list(app->store, ADM_READ_HINT_PRIMARY, event_id, &lists,
                                         &n_lists);
    for (i = 0; rc == ADM_OK && i < n_lists; i++)
        if (lists[i].id == id)
            made = &lists[i];
    if (rc == ADM_OK && made == NULL)
        rc = ADM_ERR_NOT_FOUND;
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        goto out;
    }
    adm_idem_reply_json(req, app, idem, 201, adm_app_checkin_list_json(made, true));
out:
    free(types);
    free(lists);
}

/* Replies 200 {"event_id": event_id, key: [view(item) ...]} for the n
 * items (size bytes each) of a store list, or the store's error rc. */
static void reply_event_list(adm_http_req_t *req, adm_err_t rc, int64_t event_id, const char *key,
                             const void *items, size_t n, size_t size,
                             json_t *(*view)(const void *item))
{
    json_t *arr = rc == ADM_OK ? json_array() : NULL;

    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (!append(arr, view((const char *)items + i * size))) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        return;
    }
    adm_http_reply_json(req, 200,
                        json_pack("{s:I, s:o}", "event_id", (json_int_t)event_id, key, arr));
}

static json_t *list_view(const void *item)
{
    return adm_app_checkin_list_json(item, true);
}

static json_t *device_view(const void *item)
{
    return adm_app_device_json(item);
}

/* GET /v1/events/{id}/checkin-lists */
static void get_lists(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_checkin_list_t *lists = NULL;
    size_t n = 0;
    int64_t event_id;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) || !event_there(req, app, event_id))
        return;
    rc = adm_store_checkin_list_list(app->store, ADM_READ_HINT_PRIMARY, event_id, &lists, &n);
    reply_event_list(req, rc, event_id, "checkin_lists", lists, n, sizeof *lists, list_view);
    free(lists);
}

/* GET /v1/events/{id}/devices */
static void get_devices(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_device_t *devs = NULL;
    size_t n = 0;
    int64_t event_id;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) || !event_there(req, app, event_id))
        return;
    rc = adm_store_device_list(app->store, ADM_READ_HINT_PRIMARY, event_id, &devs, &n);
    reply_event_list(req, rc, event_id, "devices", devs, n, sizeof *devs, device_view);
    free(devs);
}

/* POST /v1/devices/{id}/revoke (idempotent) */
static void post_revoke(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    const char *id = adm_http_param(req, "id");
    adm_device_t d;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who))
        return;
    if (!device_id_ok(id)) {
        adm_http_reply_error(req, 400, "bad_id", "id must be a device id (dv_ and 16 hex digits)");
        return;
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    rc = adm_store_device_revoke(app->store, id, adm_app_now(app));
    if (rc == ADM_OK)
        rc = adm_store_device_get(app->store, id, &d);
    if (rc == ADM_ERR_NOT_FOUND) {
        adm_idem_reply_error(req, app, idem, 404, "not_found", "device %s does not exist", id);
        return;
    }
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        return;
    }
    adm_idem_reply_json(req, app, idem, 200, adm_app_device_json(&d));
}

/* GET /v1/events/{id}/checkins?after=S&limit=N&conflicts=1 */
static void get_checkins(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_checkin_query_t q = {0};
    adm_checkin_t *rows = NULL;
    size_t n = 0, i;
    long long after = 0, limit = 0, conflicts = 0;
    int64_t event_id;
    adm_err_t rc;
    json_t *arr = NULL;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) ||
        !adm_http_query_int(req, "after", 0, 0, INT64_MAX, &after) ||
        !adm_http_query_int(req, "limit", SCANS_LIMIT_DEFAULT, 1, ADM_STORE_CHECKINS_PAGE_MAX,
                            &limit) ||
        !adm_http_query_int(req, "conflicts", 0, 0, 1, &conflicts) ||
        !event_there(req, app, event_id))
        goto out;
    q.event_id = event_id;
    q.after_seq = after;
    q.conflicts_only = conflicts == 1;
    q.limit = (size_t)limit;
    rc = adm_store_checkins_list(app->store, ADM_READ_HINT_PRIMARY, &q, &rows, &n);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    if ((arr = json_array()) == NULL)
        goto nomem;
    for (i = 0; i < n; i++)
        if (!append(arr, adm_app_checkin_json(&rows[i])))
            goto nomem;
    adm_http_reply_json(
        req, 200,
        json_pack("{s:I, s:o, s:o}", "event_id", (json_int_t)event_id, "checkins", arr,
                  "next_after", n == (size_t)limit ? json_integer(rows[n - 1].seq) : json_null()));
    arr = NULL;
    goto out;
nomem:
    adm_app_reply_err(req, ADM_ERR_NOMEM);
out:
    json_decref(arr);
    free(rows);
}

/* {"<verdict>": n, ...} of the refused counts that are not zero. */
static json_t *refused_json(const adm_checkin_stats_row_t *r, int64_t *total)
{
    json_t *o = json_object();
    int v;

    *total = 0;
    for (v = 1; o != NULL && v < ADM_VERDICT__MAX; v++) {
        if (r->refused[v] == 0)
            continue;
        *total += r->refused[v];
        if (json_object_set_new(o, adm_verdict_name((adm_verdict_t)v),
                                json_integer(r->refused[v])) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *stats_json(const adm_checkin_stats_row_t *r, bool total, const char *name)
{
    int64_t refused_total = 0;
    json_t *refused = refused_json(r, &refused_total);

    if (refused == NULL)
        return NULL;
    if (total)
        return json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:[]}", "list_id",
                         (json_int_t)r->list_id, "name", name, "admitted", (json_int_t)r->admitted,
                         "exits", (json_int_t)r->exits, "conflicts", (json_int_t)r->conflicts,
                         "refused_total", (json_int_t)refused_total, "refused", refused, "inside",
                         (json_int_t)r->inside, "gates");
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "gate", r->gate, "admitted",
                     (json_int_t)r->admitted, "exits", (json_int_t)r->exits, "conflicts",
                     (json_int_t)r->conflicts, "refused_total", (json_int_t)refused_total,
                     "refused", refused);
}

json_t *adm_app_checkin_stats_json(int64_t event_id, const adm_checkin_stats_row_t *rows, size_t n,
                                   const adm_checkin_list_t *lists, size_t n_lists)
{
    adm_checkin_stats_row_t sum;
    int64_t refused_total = 0;
    json_t *arr = json_array(), *cur = NULL, *totals;
    size_t i, k;

    memset(&sum, 0, sizeof sum);
    if (arr == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        const adm_checkin_stats_row_t *r = &rows[i];
        if (r->gate[0] == '\0') {
            const char *name = "";
            for (k = 0; k < n_lists; k++)
                if (lists[k].id == r->list_id)
                    name = lists[k].name;
            if ((cur = stats_json(r, true, name)) == NULL || json_array_append_new(arr, cur) != 0)
                goto fail;
            sum.admitted += r->admitted;
            sum.exits += r->exits;
            sum.conflicts += r->conflicts;
            sum.inside += r->inside;
            for (k = 0; k < ADM_VERDICT__MAX; k++)
                sum.refused[k] += r->refused[k];
        } else if (cur != NULL) {
            if (!append(json_object_get(cur, "gates"), stats_json(r, false, NULL)))
                goto fail;
        }
    }
    if ((totals = refused_json(&sum, &refused_total)) == NULL)
        goto fail;
    return json_pack("{s:I, s:o, s:{s:I, s:I, s:I, s:I, s:o, s:I}}", "event_id",
                     (json_int_t)event_id, "lists", arr, "totals", "admitted",
                     (json_int_t)sum.admitted, "exits", (json_int_t)sum.exits, "conflicts",
                     (json_int_t)sum.conflicts, "refused_total", (json_int_t)refused_total,
                     "refused", totals, "inside", (json_int_t)sum.inside);
fail:
    json_decref(arr);
    return NULL;
}

/* GET /v1/events/{id}/checkins/stats */
static void get_stats(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_checkin_stats_row_t *rows = NULL;
    adm_checkin_list_t *lists = NULL;
    size_t n = 0, n_lists = 0;
    int64_t event_id;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) || !event_there(req, app, event_id))
        goto out;
    rc = adm_store_checkin_stats(app->store, ADM_READ_HINT_PRIMARY, event_id, &rows, &n);
    if (rc == ADM_OK)
        rc = adm_store_checkin_list_list(app->store, ADM_READ_HINT_PRIMARY, event_id, &lists,
                                         &n_lists);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    adm_http_reply_json(req, 200, adm_app_checkin_stats_json(event_id, rows, n, lists, n_lists));
out:
    free(rows);
    free(lists);
}

/* ---- crew lookup (§2b) ---------------------------------------------------------------- */

#define LOOKUP_CHECKINS_MAX 200 /* accepted scans listed per ticket */
#define LOOKUP_CODE_MAX 16      /* an order code as typed, dashes included */

/* "A7K3-9QXM", any case, dashes anywhere: 8 letters or digits. The store
 * maps Crockford look-alikes and tells unknown codes apart (404). */
static bool order_code_shape(const char *s)
{
    size_t n = 0, len = strlen(s);

    if (len == 0 || len > LOOKUP_CODE_MAX)
        return false;
    for (; *s != '\0'; s++) {
        if (*s == '-')
            continue;
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
            return false;
        n++;
    }
    return n == 8;
}

static int cmp_scan_time(const void *a, const void *b)
{
    const adm_checkin_t *x = a, *y = b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The accepted scans (entries and exits) of ticket_id at event_id, in scan
 * time order, as JSON into *out (new); *n gets how many. */
static adm_err_t lookup_checkins(adm_app_t *app, int64_t event_id, int64_t ticket_id, json_t **out,
                                 size_t *n)
{
    adm_err_t result;
    adm_checkin_query_t q = {.event_id = event_id,
                             .ticket_id = ticket_id,
                             .accepted_only = true,
                             .limit = LOOKUP_CHECKINS_MAX + 1};
    adm_checkin_t *rows = NULL;
    json_t *arr = NULL;
    size_t got = 0, i;

    *out = NULL;
    *n = 0;
    if ((result = adm_store_checkins_list(app->store, ADM_READ_HINT_PRIMARY, &q, &rows, &got)) !=
        ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    if ((arr = json_array()) == NULL)
        goto out;
    if (got > LOOKUP_CHECKINS_MAX)
        got = LOOKUP_CHECKINS_MAX; /* the first ones stored; the reply says there are more */
    if (got > 1) /* rows is NULL when there are none */
        qsort(rows, got, sizeof *rows, cmp_scan_time);
    for (i = 0; i < got; i++)
        if (!append(arr, json_pack("{s:I, s:s, s:s, s:s, s:I, s:b}", "at", (json_int_t)rows[i].at,
                                   "gate", rows[i].gate, "device", rows[i].device, "direction",
                                   adm_direction_name(rows[i].direction), "list_id",
                                   (json_int_t)rows[i].list_id, "conflict", rows[i].conflict)))
            goto out;
    *out = arr;
    arr = NULL;
    *n = got;
    result = ADM_OK;
out:
    json_decref(arr);
    free(rows);
    return result;
}

/* One ticket of the reply; type_id 0 = unknown (edge), type_name may be NULL. */
static adm_err_t lookup_ticket_json(adm_app_t *app, int64_t event_id, int64_t id, int64_t type_id,
                                    const char *type_name, bool revoked, json_t *tickets)
{
    adm_err_t result;
    json_t *cks = NULL, *o;
    size_t n = 0;

    if ((result = lookup_checkins(app, event_id, id, &cks, &n)) != ADM_OK)
        return result;
    o = json_pack("{s:I, s:o, s:o, s:s, s:o}", "id", (json_int_t)id, "type_id",
                  type_id != 0 ? json_integer(type_id) : json_null(), "type_name",
                  type_name != NULL ? json_string(type_name) : json_null(), "status",
                  revoked ? "revoked" : "valid", "checkins", cks);
    if (o != NULL && n == LOOKUP_CHECKINS_MAX &&
        json_object_set_new(o, "checkins_truncated", json_true()) != 0) {
        json_decref(o);
        o = NULL;
    }
    return append(tickets, o) ? ADM_OK : ADM_ERR_NOMEM;
}

static const char *type_name_of(const adm_ticket_type_t *types, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (types[i].id == id)
            return types[i].name;
    return NULL;
}

/* Central: the order's tickets of this event, or one ticket of this event. */
static void lookup_central(adm_http_req_t *req, adm_app_t *app, int64_t event_id, const char *code,
                           int64_t ticket_id)
{
    adm_err_t rc;
    adm_order_t *order = NULL;
    adm_store_ticket_t *tickets = NULL, one;
    adm_ticket_type_t *types = NULL;
    size_t n_tickets = 0, n_types = 0, i;
    json_t *arr = NULL, *reply = NULL;
    bool ours = false;

    if ((rc = adm_store_ticket_type_list(app->store, ADM_READ_HINT_PRIMARY, event_id, &types,
                                         &n_types)) != ADM_OK)
        goto fail;
    if (code != NULL) {
        rc = ADM_ERR_NOMEM;
        if ((order = malloc(sizeof *order)) == NULL)
            goto fail;
        rc = adm_store_order_get_by_code(app->store, ADM_READ_HINT_PRIMARY, 0, code, order);
        for (i = 0; rc == ADM_OK && i < order->n_items; i++)
            ours = ours || order->items[i].event_id == event_id;
        if (rc == ADM_ERR_NOT_FOUND || (rc == ADM_OK && !ours)) {
            adm_http_reply_error(req, 404, "not_found", "no order %s at this event", code);
            goto out;
        }
        if (rc != ADM_OK ||
            (rc = adm_store_order_tickets(app->store, ADM_READ_HINT_PRIMARY, 0, order->id, &tickets,
                                          &n_tickets)) != ADM_OK)
            goto fail;
    } else {
        rc = adm_store_ticket_get(app->store, ADM_READ_HINT_PRIMARY, ticket_id, &one);
        if (rc == ADM_ERR_NOT_FOUND || (rc == ADM_OK && one.event_id != event_id)) {
            adm_http_reply_error(req, 404, "not_found", "no ticket %lld at this event",
                                 (long long)ticket_id);
            goto out;
        }
        if (rc != ADM_OK)
            goto fail;
        tickets = &one;
        n_tickets = 1;
    }
    rc = ADM_ERR_NOMEM;
    if ((arr = json_array()) == NULL)
        goto fail;
    for (i = 0; i < n_tickets; i++) {
        const adm_store_ticket_t *t = &tickets[i];
        if (t->event_id != event_id) /* an order may hold other events' tickets */
            continue;
        if ((rc = lookup_ticket_json(app, event_id, t->id, t->type_id,
                                     type_name_of(types, n_types, t->type_id),
                                     t->status == ADM_TICKET_REVOKED, arr)) != ADM_OK)
            goto fail;
    }
    rc = ADM_ERR_NOMEM;
    if (order != NULL)
        reply = json_pack("{s:{s:s, s:s}, s:o}", "order", "code", order->code, "state",
                          adm_order_state_name(order->state), "tickets", arr);
    else
        reply = json_pack("{s:o}", "tickets", arr);
    arr = NULL; /* json_pack's "o" took it */
    if (reply == NULL)
        goto fail;
    adm_http_reply_json(req, 200, reply);
    goto out;
fail:
    adm_app_reply_err(req, rc);
out:
    json_decref(arr);
    if (tickets != &one)
        free(tickets);
    free(types);
    free(order);
}

/* Edge: no orders and no ticket rows here, only the check-ins its gates and
 * its upstream's feed brought and the mirrored revocations. */
static void lookup_edge(adm_http_req_t *req, adm_app_t *app, int64_t event_id, int64_t ticket_id)
{
    adm_err_t rc;
    adm_revocation_t *revs = NULL;
    adm_checkin_t *rows = NULL;
    adm_checkin_query_t q = {.event_id = event_id, .ticket_id = ticket_id, .limit = 1};
    size_t got = 0, n_rows = 0, i;
    int64_t after = 0;
    bool revoked = false;
    json_t *arr = NULL;

    /* revocations are the event's exceptions: a short scan of the mirror */
    do {
        free(revs);
        revs = NULL;
        if ((rc = adm_store_mirror_revocations_since(app->store, event_id, after, 0, &revs,
                                                     &got)) != ADM_OK)
            goto fail;
        for (i = 0; i < got && !revoked; i++)
            revoked = revs[i].ticket_id == ticket_id;
        if (got > 0)
            after = revs[got - 1].seq;
    } while (!revoked && got == ADM_STORE_REVOCATIONS_PAGE_MAX);
    if ((rc = adm_store_checkins_list(app->store, ADM_READ_HINT_PRIMARY, &q, &rows, &n_rows)) !=
        ADM_OK)
        goto fail;
    if (!revoked && n_rows == 0) {
        adm_http_reply_error(req, 404, "not_found",
                             "nothing known about ticket %lld at this edge (no scans, not "
                             "revoked); the central server knows every ticket",
                             (long long)ticket_id);
        goto out;
    }
    rc = ADM_ERR_NOMEM;
    if ((arr = json_array()) == NULL)
        goto fail;
    if ((rc = lookup_ticket_json(app, event_id, ticket_id, 0, NULL, revoked, arr)) != ADM_OK)
        goto fail;
    adm_http_reply_json(req, 200, json_pack("{s:o, s:s}", "tickets", arr, "source", "edge"));
    arr = NULL;
    goto out;
fail:
    adm_app_reply_err(req, rc);
out:
    json_decref(arr);
    free(revs);
    free(rows);
}

/* GET /v1/sync/lookup?order=CODE | ?ticket=ID (device): a crew searching at
 * the gate. Only the device's own event; another event's order or ticket is
 * 404 like an unknown one. */
static void get_lookup(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_device_t dev;
    const char *code, *ticket;
    long long ticket_id = 0;

    if (!adm_auth_device(req, app, &dev))
        return;
    code = adm_http_query(req, "order");
    ticket = adm_http_query(req, "ticket");
    if ((code == NULL) == (ticket == NULL)) {
        adm_http_reply_error(req, 400, "bad_query", "give either order=CODE or ticket=ID");
        return;
    }
    if (ticket != NULL && !adm_http_query_int(req, "ticket", 0, 1, TICKET_ID_MAX, &ticket_id))
        return;
    if (code != NULL && !order_code_shape(code)) {
        adm_http_reply_error(req, 400, "bad_query",
                             "order must be an order code like A7K3-9QXM (8 letters or digits)");
        return;
    }
    if (is_edge(app)) {
        if (code != NULL)
            adm_http_reply_error(req, 404, "not_available_at_edge",
                                 "orders are not kept at the edge: search by ticket id, or "
                                 "ask the central server");
        else
            lookup_edge(req, app, dev.event_id, ticket_id);
        return;
    }
    lookup_central(req, app, dev.event_id, code, ticket_id);
}

adm_err_t adm_routes_sync(adm_app_t *app, adm_http_server_t *srv)
{
    static const struct {
        const char *method, *pattern, *name;
        adm_http_handler_fn fn;
    } routes[] = {
        {"POST", "/v1/events/{id}/enrollments", "sync.enrollments.create", post_enrollment},
        {"POST", "/v1/devices/enroll", "sync.devices.enroll", post_device_enroll},
        {"GET", "/v1/sync", "sync.feed", get_sync},
        {"POST", "/v1/sync/checkins", "sync.checkins.upload", post_checkins},
        {"GET", "/v1/sync/lookup", "sync.lookup", get_lookup},
        {"POST", "/v1/events/{id}/checkin-lists", "sync.lists.create", post_list},
        {"GET", "/v1/events/{id}/checkin-lists", "sync.lists", get_lists},
        {"GET", "/v1/events/{id}/devices", "sync.devices", get_devices},
        {"POST", "/v1/devices/{id}/revoke", "sync.devices.revoke", post_revoke},
        {"GET", "/v1/events/{id}/checkins", "sync.checkins", get_checkins},
        {"GET", "/v1/events/{id}/checkins/stats", "sync.checkins.stats", get_stats},
    };
    adm_err_t result = ADM_OK;
    size_t i;

    for (i = 0; i < sizeof routes / sizeof routes[0] && result == ADM_OK; i++)
        result = adm_http_route(srv, routes[i].method, routes[i].pattern, routes[i].fn, app,
                                routes[i].name);
    return result;
}
