/* test-api-sync.c: admitd's sync endpoints over HTTP (server/route-sync.c,
 * device auth in server/auth.c; docs/sync.md §1-§4): enrollment and every
 * refusal, the feed in pages and deltas, upload idempotency, device
 * spoofing, conflicts, counts, long-poll, malformed uploads. Uses the
 * in-process admitd of tests/testutil/api.h, on SQLite, or on MariaDB when
 * ADMIT_TEST_STORE=mysql (shared database: every fixture is fresh). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil/api.h"
#include "tests/testutil/testutil.h"

#define T0 1767312000 /* the frozen test clock */

struct world {
    adm_api_t *api;
    int64_t event, type, type2, other_event, other_type;
    char org[ADM_AUTH_TOKEN_MAX], cust[ADM_AUTH_TOKEN_MAX];
    int64_t cust_id;
};

static struct world w;
static unsigned nonce_seq;
static unsigned run_id; /* keeps nonces unique across runs on a shared database */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "(none)";
}

static long long num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static const char *err_code(const json_t *o)
{
    return str(o, "error");
}

/* method path as token, body a JSON text or NULL; *res gets the reply. */
static long call(const char *method, const char *path, const char *token, const char *body,
                 json_t **res)
{
    long status = 0;

    CHECK_ERR(adm_api_request(w.api, method, path, token, body, NULL, &status, res), ADM_OK);
    return status;
}

static long callf(const char *method, const char *path, const char *token, json_t **res,
                  const char *fmt, ...)
{
    json_t *body;
    char *text;
    long status;
    va_list ap;

    va_start(ap, fmt);
    body = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        abort();
    status = call(method, path, token, text, res);
    free(text);
    return status;
}

/* ---- fixtures ---------------------------------------------------------- */

struct device {
    char id[32];
    char secret[64];
    char bearer[128]; /* "<id>.<secret>" */
};

/* Creates an enrollment for gate/kind in event (ttl_s 0 = default) and
 * returns its token in token (64 bytes). */
static void make_token(int64_t event, const char *gate, const char *kind, int ttl_s, char *token)
{
    char path[96];
    json_t *res = NULL;
    long st;

    snprintf(path, sizeof path, "/v1/events/%lld/enrollments", (long long)event);
    if (ttl_s > 0)
        st = callf("POST", path, w.org, &res, "{s:s, s:s, s:i}", "gate", gate, "kind", kind,
                   "ttl_s", ttl_s);
    else
        st = callf("POST", path, w.org, &res, "{s:s, s:s}", "gate", gate, "kind", kind);
    CHECK_INT(st, 201);
    snprintf(token, 64, "%s", str(res, "token"));
    json_decref(res);
}

static void enroll(int64_t event, const char *gate, const char *kind, struct device *d)
{
    char token[64];
    json_t *res = NULL;

    make_token(event, gate, kind, 0, token);
    CHECK_INT(
        callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s, s:s}", "token", token, "name", gate),
        201);
    snprintf(d->id, sizeof d->id, "%s", str(res, "device_id"));
    snprintf(d->secret, sizeof d->secret, "%s", str(res, "secret"));
    snprintf(d->bearer, sizeof d->bearer, "%s.%s", d->id, d->secret);
    json_decref(res);
}

/* A check-in list of event; types NULL = every type. Returns its id. */
static int64_t make_list(int64_t event, const char *name, const char *reentry)
{
    char path[96];
    json_t *res = NULL;
    int64_t id;

    snprintf(path, sizeof path, "/v1/events/%lld/checkin-lists", (long long)event);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s}", "name", name, "reentry", reentry),
              201);
    id = num(res, "id");
    json_decref(res);
    return id;
}

/* A fresh 32-hex nonce into out (33 bytes). */
static void new_nonce(char *out)
{
    snprintf(out, 33, "%08x%08x%016x", run_id, (unsigned)getpid(), ++nonce_seq);
}

/* One upload row. ticket 0 = null. */
static json_t *row(const char *nonce, const char *device, int64_t ticket, int64_t list, int64_t at,
                   const char *gate, const char *direction, const char *verdict)
{
    return json_pack(
        "{s:s, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:s}", "nonce", nonce, "device", device,
        "ticket_id", ticket ? json_integer(ticket) : json_null(), "list_id", (json_int_t)list, "at",
        (json_int_t)at, "gate", gate, "direction", direction, "verdict", verdict, "reason",
        strcmp(verdict, "accept") == 0 ? "ok" : verdict, "attention", 0, "text_hash", "");
}

/* POSTs {"checkins": rows} (taken) as dev; returns the status, *res the reply. */
static long upload(const struct device *dev, json_t *rows, json_t **res)
{
    json_t *body = json_pack("{s:o}", "checkins", rows);
    char *text = json_dumps(body, JSON_COMPACT);
    long st;

    json_decref(body);
    if (text == NULL)
        abort();
    st = call("POST", "/v1/sync/checkins", dev->bearer, text, res);
    free(text);
    return st;
}

/* Uploads one accepted scan; returns its seq (0 on failure). *conflict may be NULL. */
static int64_t scan(const struct device *dev, int64_t ticket, int64_t list, int64_t at,
                    const char *gate, const char *direction, const char *verdict, bool *conflict)
{
    char nonce[33];
    json_t *res = NULL, *r0;
    int64_t seq = 0;

    new_nonce(nonce);
    if (upload(dev,
               json_pack("[o]", row(nonce, dev->id, ticket, list, at, gate, direction, verdict)),
               &res) == 200) {
        r0 = json_array_get(json_object_get(res, "results"), 0);
        seq = num(r0, "seq");
        if (conflict != NULL)
            *conflict = json_is_true(json_object_get(r0, "conflict"));
    }
    CHECK(seq > 0);
    json_decref(res);
    return seq;
}

/* GET /v1/sync as dev. */
static long feed(const struct device *dev, int64_t rev, int64_t ck, int limit, int wait,
                 json_t **page)
{
    char path[160];
    int n = snprintf(path, sizeof path, "/v1/sync?revocations=%lld&checkins=%lld", (long long)rev,
                     (long long)ck);

    if (limit > 0)
        n += snprintf(path + n, sizeof path - (size_t)n, "&limit=%d", limit);
    if (wait > 0)
        snprintf(path + n, sizeof path - (size_t)n, "&wait=%d", wait);
    return call("GET", path, dev->bearer, NULL, page);
}

/* The stored scans of the event (up to 5000) as an array (new reference). */
static json_t *stored_scans(int64_t event, bool conflicts)
{
    char path[128];
    json_t *res = NULL, *arr;

    snprintf(path, sizeof path, "/v1/events/%lld/checkins?limit=5000%s", (long long)event,
             conflicts ? "&conflicts=1" : "");
    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    arr = json_incref(json_object_get(res, "checkins"));
    json_decref(res);
    return arr ? arr : json_array();
}

static size_t n_scans(int64_t event)
{
    json_t *a = stored_scans(event, false);
    size_t n = json_array_size(a);

    json_decref(a);
    return n;
}

/* n paid tickets of w.type for the customer: ids into out. */
static void buy(int n, int64_t *out)
{
    static int ref_seq;
    adm_hold_t h;
    adm_order_t o;
    adm_store_ticket_t *t = NULL;
    size_t nt = 0;
    char ref[64];
    const char *ids[1];
    int64_t now = adm_api_now(w.api);

    CHECK_ERR(adm_store_hold_create(w.api->store, w.cust_id, w.type, n, 600, now, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(w.api->store, w.cust_id, ids, 1, 0, now, &o), ADM_OK);
    snprintf(ref, sizeof ref, "sync-%u-%d-%d", run_id, (int)getpid(), ++ref_seq);
    CHECK_ERR(adm_store_order_pay(w.api->store, o.id, "test", ref, now, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_tickets(w.api->store, ADM_READ_HINT_PRIMARY, 0, o.id, &t, &nt),
              ADM_OK);
    CHECK_INT(nt, n);
    for (size_t i = 0; i < nt && (int)i < n; i++)
        out[i] = t[i].id;
    free(t);
}

/* A new on-sale event with one type into *event / *type. */
static void new_event(int64_t *event, int64_t *type)
{
    int64_t venue = 0;

    CHECK_ERR(adm_api_venue(w.api, NULL, &venue), ADM_OK);
    CHECK_ERR(adm_api_event(w.api, venue, "Sync Night", 0, ADM_EVENT_ON_SALE, event), ADM_OK);
    CHECK_ERR(adm_api_ticket_type(w.api, *event, "GA", 0, 1000, type), ADM_OK);
}

/* ---- enrollment (§1) ----------------------------------------------------- */

static void test_enrollment(void)
{
    char path[96], token[64], want[256], bogus[64];
    json_t *res = NULL, *list;
    struct device gate, relay;
    long st;

    snprintf(path, sizeof path, "/v1/events/%lld/enrollments", (long long)w.event);

    /* who may create one, and what */
    CHECK_INT(callf("POST", path, NULL, &res, "{s:s}", "gate", "North"), 401);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.cust, &res, "{s:s}", "gate", "North"), 403);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{}"), 400);
    CHECK_STR(err_code(res), "bad_field");
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s}", "gate", "North", "kind", "phone"),
              400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:i}", "gate", "North", "ttl_s", 59), 400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:i}", "gate", "North", "ttl_s", 2592001),
              400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s}", "gate", "North", "qr", "png"), 400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s}", "gate", "North", "colour", "red"),
              400);
    CHECK_STR(err_code(res), "unknown_field");
    json_decref(res);
    CHECK_INT(
        callf("POST", "/v1/events/999999999/enrollments", w.org, &res, "{s:s}", "gate", "North"),
        404);
    json_decref(res);

    /* a token with its URI and QR code */
    st = callf("POST", path, w.org, &res, "{s:s, s:s, s:s}", "gate", "North", "name", "", "qr",
               "svg");
    CHECK_INT(st, 201);
    CHECK_INT(strlen(str(res, "token")), 43);
    CHECK_INT(num(res, "event_id"), w.event);
    CHECK_STR(str(res, "gate"), "North");
    CHECK_STR(str(res, "kind"), "gate");
    CHECK_INT(num(res, "expires_at"), T0 + 86400);
    snprintf(want, sizeof want, "admit-enroll:%s#%s", w.api->base_url, str(res, "token"));
    CHECK_STR(str(res, "enroll_uri"), want);
    CHECK(strstr(str(res, "qr_svg"), "<svg") != NULL);
    snprintf(token, sizeof token, "%s", str(res, "token"));
    json_decref(res);

    /* trade it once */
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s, s:s}", "token", token, "name",
                    "handheld 3"),
              201);
    CHECK_INT(strlen(str(res, "device_id")), 19);
    CHECK(strncmp(str(res, "device_id"), "dv_", 3) == 0);
    CHECK_INT(strspn(str(res, "device_id") + 3, "0123456789abcdef"), 16);
    CHECK_INT(strlen(str(res, "secret")), 43);
    CHECK_INT(num(res, "event_id"), w.event);
    CHECK_STR(str(res, "gate"), "North");
    CHECK_STR(str(res, "kind"), "gate");
    snprintf(gate.id, sizeof gate.id, "%s", str(res, "device_id"));
    snprintf(gate.secret, sizeof gate.secret, "%s", str(res, "secret"));
    snprintf(gate.bearer, sizeof gate.bearer, "%s.%s", gate.id, gate.secret);
    json_decref(res);
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", token), 410);
    CHECK_STR(err_code(res), "enrollment_used");
    json_decref(res);

    /* unknown, malformed and expired tokens */
    memset(bogus, 'A', 43);
    bogus[43] = '\0';
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", bogus), 404);
    CHECK_STR(err_code(res), "not_found");
    json_decref(res);
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", "short"), 404);
    json_decref(res);
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{}"), 400);
    json_decref(res);
    make_token(w.event, "South", "gate", 60, token);
    adm_api_advance(w.api, 61);
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", token), 410);
    CHECK_STR(err_code(res), "expired");
    json_decref(res);
    adm_api_set_now(w.api, T0);

    /* a relay */
    enroll(w.event, "Edge", "relay", &relay);
    CHECK_INT(feed(&relay, 0, 0, 1, 0, &res), 200);
    CHECK_STR(str(json_object_get(res, "device"), "kind"), "relay");
    CHECK_STR(str(json_object_get(res, "device"), "id"), relay.id);
    json_decref(res);

    /* the organiser's view */
    snprintf(path, sizeof path, "/v1/events/%lld/devices", (long long)w.event);
    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    list = json_object_get(res, "devices");
    CHECK(json_array_size(list) >= 2);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *d = json_array_get(list, i);
        if (strcmp(str(d, "id"), gate.id) == 0) {
            CHECK_STR(str(d, "name"), "handheld 3");
            CHECK_STR(str(d, "gate"), "North");
            CHECK_STR(str(d, "kind"), "gate");
            CHECK_INT(num(d, "created"), T0);
            CHECK(json_is_null(json_object_get(d, "revoked_at")));
        }
    }
    json_decref(res);
    CHECK_INT(call("GET", path, w.cust, NULL, &res), 403);
    json_decref(res);
    CHECK_INT(call("GET", "/v1/events/999999999/devices", w.org, NULL, &res), 404);
    json_decref(res);
}

static void test_device_auth(void)
{
    struct device d, other;
    char bad[160], path[96];
    adm_api_resp_t r;
    json_t *res = NULL;
    char hdr[128];
    long long revoked_at;

    enroll(w.event, "North", "gate", &d);
    enroll(w.event, "South", "gate", &other);
    CHECK_INT(feed(&d, 0, 0, 1, 0, &res), 200);
    json_decref(res);

    /* no credential: 401 with a challenge */
    CHECK_ERR(adm_api_request_raw(w.api, "GET", "/v1/sync", NULL, NULL, 0, NULL, NULL, &r), ADM_OK);
    CHECK_INT(r.status, 401);
    CHECK(adm_api_resp_header(&r, "WWW-Authenticate", hdr, sizeof hdr) != NULL);
    adm_api_resp_free(&r);
    /* a session token is not a device credential */
    CHECK_INT(call("GET", "/v1/sync", w.org, NULL, &res), 401);
    CHECK_STR(err_code(res), "unauthorized");
    json_decref(res);
    /* wrong secret (another device's), unknown device, malformed */
    snprintf(bad, sizeof bad, "%s.%s", d.id, other.secret);
    CHECK_INT(call("GET", "/v1/sync", bad, NULL, &res), 401);
    json_decref(res);
    snprintf(bad, sizeof bad, "dv_0000000000000000.%s", d.secret);
    CHECK_INT(call("GET", "/v1/sync", bad, NULL, &res), 401);
    json_decref(res);
    snprintf(bad, sizeof bad, "%s", d.id);
    CHECK_INT(call("GET", "/v1/sync", bad, NULL, &res), 401);
    json_decref(res);
    snprintf(bad, sizeof bad, "%s.%s", d.id, "tooshort");
    CHECK_INT(call("GET", "/v1/sync", bad, NULL, &res), 401);
    json_decref(res);

    /* revocation: idempotent, then 403 for the device, other devices unaffected */
    snprintf(path, sizeof path, "/v1/devices/%s/revoke", d.id);
    CHECK_INT(call("POST", path, w.cust, NULL, &res), 403);
    json_decref(res);
    CHECK_INT(call("POST", path, w.org, NULL, &res), 200);
    CHECK_STR(str(res, "id"), d.id);
    revoked_at = num(res, "revoked_at");
    CHECK_INT(revoked_at, T0);
    json_decref(res);
    adm_api_advance(w.api, 5);
    CHECK_INT(call("POST", path, w.org, NULL, &res), 200);
    CHECK_INT(num(res, "revoked_at"), revoked_at);
    json_decref(res);
    adm_api_set_now(w.api, T0);
    CHECK_INT(feed(&d, 0, 0, 1, 0, &res), 403);
    CHECK_STR(err_code(res), "device_revoked");
    json_decref(res);
    CHECK_INT(upload(&d, json_array(), &res), 403);
    json_decref(res);
    CHECK_INT(feed(&other, 0, 0, 1, 0, &res), 200);
    json_decref(res);
    CHECK_INT(call("POST", "/v1/devices/dv_ffffffffffffffff/revoke", w.org, NULL, &res), 404);
    json_decref(res);
    CHECK_INT(call("POST", "/v1/devices/7/revoke", w.org, NULL, &res), 400);
    CHECK_STR(err_code(res), "bad_id");
    json_decref(res);
}

/* ---- check-in lists and the feed header (§2, §4) ------------------------- */

static void test_lists(void)
{
    char path[96];
    json_t *res = NULL, *lists, *l;
    struct device d;
    int64_t id;

    snprintf(path, sizeof path, "/v1/events/%lld/checkin-lists", (long long)w.event);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s, s:[I], s:[s, s]}", "name", "Main",
                    "reentry", "once", "ticket_types", (json_int_t)w.type, "gates", "North",
                    "South"),
              201);
    id = num(res, "id");
    CHECK(id > 0);
    CHECK_INT(num(res, "event_id"), w.event);
    CHECK_STR(str(res, "name"), "Main");
    CHECK_STR(str(res, "reentry"), "once");
    CHECK_INT(json_array_size(json_object_get(res, "ticket_types")), 1);
    CHECK_INT(json_integer_value(json_array_get(json_object_get(res, "ticket_types"), 0)), w.type);
    CHECK_STR(json_string_value(json_array_get(json_object_get(res, "gates"), 1)), "South");
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s, s:[], s:[]}", "name", "Everyone",
                    "reentry", "unlimited", "ticket_types", "gates"),
              201);
    CHECK_INT(json_array_size(json_object_get(res, "ticket_types")), 0);
    json_decref(res);

    /* refusals */
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:[I]}", "name", "X", "ticket_types",
                    (json_int_t)w.other_type),
              400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:[I, I]}", "name", "X", "ticket_types",
                    (json_int_t)w.type, (json_int_t)w.type),
              400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:[s, s]}", "name", "X", "gates", "N", "N"),
              400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:[s]}", "name", "X", "gates", ""), 400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s, s:s}", "name", "X", "reentry", "twice"), 400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s}", "reentry", "once"), 400);
    json_decref(res);
    CHECK_INT(callf("POST", path, w.cust, &res, "{s:s}", "name", "X"), 403);
    json_decref(res);
    CHECK_INT(
        callf("POST", "/v1/events/999999999/checkin-lists", w.org, &res, "{s:s}", "name", "X"),
        404);
    json_decref(res);

    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    lists = json_object_get(res, "checkin_lists");
    CHECK_INT(json_array_size(lists), 2);
    CHECK_INT(num(json_array_get(lists, 0), "id"), id);
    json_decref(res);

    /* the feed's header: event, keys, types, lists */
    enroll(w.event, "North", "gate", &d);
    CHECK_INT(feed(&d, 0, 0, 0, 0, &res), 200);
    CHECK_STR(str(res, "format"), "admit-sync");
    CHECK_INT(num(res, "version"), 1);
    CHECK_INT(num(res, "server_time"), T0);
    CHECK_INT(num(json_object_get(res, "event"), "id"), w.event);
    CHECK_STR(str(json_object_get(res, "event"), "status"), "on_sale");
    CHECK_STR(str(json_object_get(res, "keys"), "format"), "admit-keyring");
    CHECK(json_array_size(json_object_get(json_object_get(res, "keys"), "keys")) >= 1);
    CHECK_INT(json_array_size(json_object_get(res, "ticket_types")), 2);
    CHECK_STR(str(json_array_get(json_object_get(res, "ticket_types"), 0), "name"), "GA");
    lists = json_object_get(res, "checkin_lists");
    CHECK_INT(json_array_size(lists), 2);
    l = json_array_get(lists, 0);
    CHECK_INT(num(l, "id"), id);
    CHECK_STR(str(l, "reentry"), "once");
    CHECK_INT(json_array_size(json_object_get(l, "gates")), 2);
    json_decref(res);
}

/* ---- feed paging (§2) ------------------------------------------------------ */

/* Pulls pages of limit from the cursors until more is false; appends the rows
 * to revs/cks and updates the cursors. Returns the number of pages. */
static int pull_all(const struct device *d, int64_t *rev, int64_t *ck, int limit, json_t *revs,
                    json_t *cks)
{
    int pages = 0;
    bool more = true;

    while (more && pages < 1000) {
        json_t *p = NULL, *c;
        CHECK_INT(feed(d, *rev, *ck, limit, 0, &p), 200);
        if (p == NULL)
            break;
        pages++;
        CHECK(json_array_size(json_object_get(p, "revocations")) +
                  json_array_size(json_object_get(p, "checkins")) <=
              (size_t)limit);
        json_array_extend(revs, json_object_get(p, "revocations"));
        json_array_extend(cks, json_object_get(p, "checkins"));
        c = json_object_get(p, "cursor");
        *rev = num(c, "revocations");
        *ck = num(c, "checkins");
        more = json_is_true(json_object_get(p, "more"));
        json_decref(p);
    }
    return pages;
}

static void test_feed_paging(void)
{
    int64_t event, type, list, tickets[6] = {0}, rev = 0, ck = 0, last = 0;
    struct device d, rd; /* d scans and uploads; rd, another gate, reads the feed */
    json_t *revs = json_array(), *cks = json_array(), *p = NULL;
    size_t i;
    int pages;
    adm_api_resp_t r;
    char enc[32];
    const char *const gz[] = {"Accept-Encoding: gzip", NULL};
    char auth[160];

    /* the world's event and type for buy(); a fresh event keeps counts exact */
    new_event(&event, &type);
    {
        int64_t save_event = w.event, save_type = w.type;
        w.event = event;
        w.type = type;
        buy(6, tickets);
        list = make_list(event, "Main", "once");
        enroll(event, "North", "gate", &d);
        enroll(event, "South", "gate", &rd);
        w.event = save_event;
        w.type = save_type;
    }
    for (i = 0; i < 3; i++)
        CHECK_ERR(adm_store_ticket_revoke(w.api->store, tickets[i], T0, NULL), ADM_OK);
    for (i = 0; i < 7; i++)
        scan(&d, 1000 + (int64_t)i, list, T0 + (int64_t)i, "North", "entry", "accept", NULL);
    scan(&d, 2000, list, T0 + 10, "North", "entry", "revoked", NULL);
    scan(&d, 0, list, T0 + 11, "North", "entry", "malformed", NULL);

    /* the snapshot in pages of 2: 3 revocations, 7 accepted scans, each once, by seq */
    pages = pull_all(&rd, &rev, &ck, 2, revs, cks);
    CHECK_INT(pages, 5);
    CHECK_INT(json_array_size(revs), 3);
    CHECK_INT(json_array_size(cks), 7);
    for (i = 0; i < json_array_size(revs); i++) {
        json_t *x = json_array_get(revs, i);
        CHECK_INT(num(x, "seq"), (long long)i + 1);
        CHECK_INT(num(x, "ticket_id"), tickets[i]);
        CHECK_STR(str(x, "reason"), "revoked");
    }
    for (i = 0; i < json_array_size(cks); i++) {
        json_t *x = json_array_get(cks, i);
        CHECK(num(x, "seq") > last);
        last = num(x, "seq");
        CHECK_INT(num(x, "ticket_id"), 1000 + (long long)i);
        CHECK_INT(num(x, "list_id"), list);
        CHECK_STR(str(x, "device"), d.id);
        CHECK_STR(str(x, "gate"), "North");
        CHECK_STR(str(x, "direction"), "entry");
        CHECK(json_is_false(json_object_get(x, "conflict")));
        CHECK(json_object_get(x, "verdict") == NULL);
    }
    CHECK_INT(rev, 3);
    CHECK_INT(ck, last);

    /* the uploader is not sent its own rows back, but its cursor passes them */
    CHECK_INT(feed(&d, 0, 0, 0, 0, &p), 200);
    CHECK_INT(json_array_size(json_object_get(p, "revocations")), 3);
    CHECK_INT(json_array_size(json_object_get(p, "checkins")), 0);
    CHECK_INT(num(json_object_get(p, "cursor"), "checkins"), last);
    CHECK(json_is_false(json_object_get(p, "more")));
    json_decref(p);

    /* the same in one page */
    CHECK_INT(feed(&rd, 0, 0, 0, 0, &p), 200);
    CHECK_INT(json_array_size(json_object_get(p, "revocations")), 3);
    CHECK_INT(json_array_size(json_object_get(p, "checkins")), 7);
    CHECK(json_is_false(json_object_get(p, "more")));
    json_decref(p);

    /* deltas from the stored cursors: nothing, then exactly what is new */
    CHECK_INT(feed(&rd, rev, ck, 0, 0, &p), 200);
    CHECK_INT(json_array_size(json_object_get(p, "revocations")), 0);
    CHECK_INT(json_array_size(json_object_get(p, "checkins")), 0);
    CHECK_INT(num(json_object_get(p, "cursor"), "checkins"), ck);
    CHECK(json_is_false(json_object_get(p, "more")));
    json_decref(p);
    CHECK_ERR(adm_store_ticket_revoke(w.api->store, tickets[3], T0, NULL), ADM_OK);
    last = scan(&d, 1010, list, T0 + 20, "North", "entry", "accept", NULL);
    json_array_clear(revs);
    json_array_clear(cks);
    pull_all(&rd, &rev, &ck, 1000, revs, cks);
    CHECK_INT(json_array_size(revs), 1);
    CHECK_INT(num(json_array_get(revs, 0), "seq"), 4);
    CHECK_INT(json_array_size(cks), 1);
    CHECK_INT(num(json_array_get(cks, 0), "seq"), last);
    CHECK_INT(rev, 4);
    CHECK_INT(ck, last);

    /* query limits */
    CHECK_INT(call("GET", "/v1/sync?limit=0", d.bearer, NULL, &p), 400);
    json_decref(p);
    CHECK_INT(call("GET", "/v1/sync?limit=5001", d.bearer, NULL, &p), 400);
    json_decref(p);
    CHECK_INT(call("GET", "/v1/sync?wait=31", d.bearer, NULL, &p), 400);
    json_decref(p);
    CHECK_INT(call("GET", "/v1/sync?checkins=-1", d.bearer, NULL, &p), 400);
    json_decref(p);

    /* gzip when asked for */
    snprintf(auth, sizeof auth, "%s", rd.bearer);
    CHECK_ERR(adm_api_request_raw(w.api, "GET", "/v1/sync", auth, NULL, 0, NULL, gz, &r), ADM_OK);
    CHECK_INT(r.status, 200);
    CHECK_STR(adm_api_resp_header(&r, "Content-Encoding", enc, sizeof enc), "gzip");
    CHECK(r.len > 18 && (unsigned char)r.body[0] == 0x1f && (unsigned char)r.body[1] == 0x8b);
    adm_api_resp_free(&r);
    CHECK_ERR(adm_api_request_raw(w.api, "GET", "/v1/sync", auth, NULL, 0, NULL, NULL, &r), ADM_OK);
    CHECK(r.len > 1024); /* the same page, plain, is what made it worth compressing */
    CHECK(adm_api_resp_header(&r, "Content-Encoding", enc, sizeof enc) == NULL);
    adm_api_resp_free(&r);

    json_decref(revs);
    json_decref(cks);
}

/* ---- upload (§3) ------------------------------------------------------------- */

static void test_upload(void)
{
    int64_t event, type, list;
    struct device gate, relay;
    char n1[33], n2[33], n3[33];
    json_t *rows, *res = NULL, *again = NULL, *all;

    new_event(&event, &type);
    list = make_list(event, "Main", "once");
    enroll(event, "North", "gate", &gate);
    enroll(event, "Edge", "relay", &relay);

    new_nonce(n1);
    new_nonce(n2);
    new_nonce(n3);
    rows = json_pack("[o, o, o]", row(n1, gate.id, 11, list, T0, "North", "entry", "accept"),
                     row(n2, gate.id, 12, list, T0 + 1, "North", "entry", "accept"),
                     row(n3, gate.id, 0, list, T0 + 2, "North", "entry", "malformed"));
    CHECK_INT(upload(&gate, json_deep_copy(rows), &res), 200);
    CHECK_INT(num(res, "stored"), 3);
    CHECK_INT(num(res, "duplicates"), 0);
    CHECK_INT(json_array_size(json_object_get(res, "results")), 3);
    CHECK_STR(str(json_array_get(json_object_get(res, "results"), 0), "nonce"), n1);
    CHECK_STR(str(json_array_get(json_object_get(res, "results"), 2), "nonce"), n3);
    CHECK(json_is_true(
        json_object_get(json_array_get(json_object_get(res, "results"), 1), "stored")));
    CHECK_INT(n_scans(event), 3);

    /* a replay creates nothing and reports the same seqs */
    CHECK_INT(upload(&gate, rows, &again), 200);
    CHECK_INT(num(again, "stored"), 0);
    CHECK_INT(num(again, "duplicates"), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_array_get(json_object_get(res, "results"), i);
        json_t *b = json_array_get(json_object_get(again, "results"), i);
        CHECK_INT(num(b, "seq"), num(a, "seq"));
        CHECK(json_is_false(json_object_get(b, "stored")));
    }
    json_decref(res);
    json_decref(again);
    CHECK_INT(n_scans(event), 3);

    /* the refused row is stored with its verdict but not fed */
    all = stored_scans(event, false);
    CHECK_STR(str(json_array_get(all, 2), "verdict"), "malformed");
    CHECK(json_is_null(json_object_get(json_array_get(all, 2), "ticket_id")));
    CHECK_STR(str(json_array_get(all, 0), "uploader"), gate.id);
    CHECK_INT(num(json_array_get(all, 0), "received_at"), T0);
    json_decref(all);

    /* a gate may not upload another device's scans; a relay may */
    new_nonce(n1);
    CHECK_INT(upload(&gate,
                     json_pack("[o]", row(n1, relay.id, 13, list, T0, "North", "entry", "accept")),
                     &res),
              403);
    CHECK_STR(err_code(res), "device_mismatch");
    json_decref(res);
    CHECK_INT(n_scans(event), 3);
    new_nonce(n2);
    CHECK_INT(
        upload(
            &relay,
            json_pack("[o, o]", row(n1, gate.id, 13, list, T0 + 3, "North", "entry", "accept"),
                      row(n2, "dv_00000000000000aa", 14, list, T0 + 4, "South", "entry", "accept")),
            &res),
        200);
    CHECK_INT(num(res, "stored"), 2);
    json_decref(res);
    all = stored_scans(event, false);
    CHECK_INT(json_array_size(all), 5);
    CHECK_STR(str(json_array_get(all, 3), "device"), gate.id);
    CHECK_STR(str(json_array_get(all, 3), "uploader"), relay.id);
    CHECK_STR(str(json_array_get(all, 4), "device"), "dv_00000000000000aa");
    json_decref(all);
}

/* Uploads the row made by mutate (from a valid one) and expects 400 and
 * nothing stored. */
static void expect_refused(const struct device *d, int64_t event, int64_t list, const char *key,
                           json_t *value, long want)
{
    char nonce[33];
    json_t *r, *res = NULL;
    size_t before = n_scans(event);

    new_nonce(nonce);
    r = row(nonce, d->id, 21, list, T0, "North", "entry", "accept");
    if (value != NULL)
        json_object_set_new(r, key, value);
    else
        json_object_del(r, key);
    CHECK_INT(upload(d, json_pack("[o]", r), &res), want);
    if (res == NULL || json_object_get(res, "error") == NULL)
        adm_test_fail(__FILE__, __LINE__, "no error for %s", key);
    json_decref(res);
    CHECK_INT(n_scans(event), before);
}

static void test_malformed(void)
{
    int64_t event, type, list;
    struct device d;
    json_t *res = NULL, *rows;
    char nonce[33];
    size_t i;

    new_event(&event, &type);
    list = make_list(event, "Main", "once");
    enroll(event, "North", "gate", &d);

    CHECK_INT(call("POST", "/v1/sync/checkins", d.bearer, "{\"checkins\": [", &res), 400);
    CHECK_STR(err_code(res), "bad_json");
    json_decref(res);
    CHECK_INT(call("POST", "/v1/sync/checkins", d.bearer, "{}", &res), 400);
    json_decref(res);
    CHECK_INT(call("POST", "/v1/sync/checkins", d.bearer, "{\"checkins\": []}", &res), 400);
    json_decref(res);
    CHECK_INT(call("POST", "/v1/sync/checkins", d.bearer, "{\"checkins\": {}}", &res), 400);
    json_decref(res);
    CHECK_INT(call("POST", "/v1/sync/checkins", d.bearer, "{\"checkins\": [1]}", &res), 400);
    json_decref(res);
    CHECK_INT(call("POST", "/v1/sync/checkins", d.bearer, "{\"checkins\": [], \"x\": 1}", &res),
              400);
    json_decref(res);

    /* 1001 rows */
    rows = json_array();
    for (i = 0; i < 1001; i++) {
        new_nonce(nonce);
        json_array_append_new(
            rows, row(nonce, d.id, 30 + (int64_t)i, list, T0, "North", "entry", "accept"));
    }
    CHECK_INT(upload(&d, rows, &res), 400);
    CHECK_STR(err_code(res), "batch_too_large");
    json_decref(res);
    CHECK_INT(n_scans(event), 0);

    /* one bad field fails the row, and the whole batch */
    expect_refused(&d, event, list, "nonce", json_string("xyz"), 400);
    expect_refused(&d, event, list, "nonce", json_string("ABCDEF0123456789ABCDEF0123456789"), 400);
    expect_refused(&d, event, list, "nonce", NULL, 400);
    expect_refused(&d, event, list, "verdict", json_string("maybe"), 400);
    expect_refused(&d, event, list, "direction", json_string("sideways"), 400);
    expect_refused(&d, event, list, "reason", json_string("Not OK"), 400);
    expect_refused(&d, event, list, "reason", json_string(""), 400);
    expect_refused(&d, event, list, "at", json_integer(0), 400);
    expect_refused(&d, event, list, "at", json_string("now"), 400);
    expect_refused(&d, event, list, "list_id", json_integer(0), 400);
    expect_refused(&d, event, list, "gate", json_string(""), 400);
    expect_refused(&d, event, list, "ticket_id", json_integer(-3), 400);
    expect_refused(&d, event, list, "ticket_id", json_null(), 400); /* accepted without a ticket */
    expect_refused(&d, event, list, "attention", json_string("yes"), 400);
    expect_refused(&d, event, list, "text_hash", json_string("abc"), 400);
    expect_refused(&d, event, list, "colour", json_string("red"), 400);
    expect_refused(&d, event, list, "device", json_string("dv bad!"), 400);

    /* a good row then a bad one: nothing stored */
    new_nonce(nonce);
    rows = json_pack("[o, o]", row(nonce, d.id, 40, list, T0, "North", "entry", "accept"),
                     row("nope", d.id, 41, list, T0, "North", "entry", "accept"));
    CHECK_INT(upload(&d, rows, &res), 400);
    json_decref(res);
    /* the same nonce twice in a batch */
    rows = json_pack("[o, o]", row(nonce, d.id, 40, list, T0, "North", "entry", "accept"),
                     row(nonce, d.id, 41, list, T0, "North", "entry", "accept"));
    CHECK_INT(upload(&d, rows, &res), 400);
    json_decref(res);
    CHECK_INT(n_scans(event), 0);
}

/* ---- conflicts and counts (§3, §4) ------------------------------------------- */

static void test_conflicts_and_stats(void)
{
    int64_t event, type, once, reentry, s1, s2, s3;
    struct device north, south;
    json_t *res = NULL, *flagged, *lists, *l, *g, *page = NULL;
    char path[128];
    bool conflict = true;
    size_t i;

    new_event(&event, &type);
    once = make_list(event, "Main", "once");
    reentry = make_list(event, "Lounge", "after_exit");
    enroll(event, "North", "gate", &north);
    enroll(event, "South", "gate", &south);

    /* ticket 500 on "once": north at T0+100, south at T0+110 (conflict) */
    s1 = scan(&north, 500, once, T0 + 100, "North", "entry", "accept", &conflict);
    CHECK(!conflict);
    s2 = scan(&south, 500, once, T0 + 110, "South", "entry", "accept", &conflict);
    CHECK(conflict);
    /* an earlier admission uploaded last wins: north's row becomes a conflict */
    s3 = scan(&south, 500, once, T0 + 90, "South", "entry", "accept", &conflict);
    CHECK(!conflict);
    flagged = stored_scans(event, true);
    CHECK_INT(json_array_size(flagged), 2);
    CHECK_INT(num(json_array_get(flagged, 0), "seq"), s1);
    CHECK_INT(num(json_array_get(flagged, 1), "seq"), s2);
    for (i = 0; i < json_array_size(flagged); i++)
        CHECK(json_is_true(json_object_get(json_array_get(flagged, i), "conflict")));
    json_decref(flagged);
    /* the feed carries the flags */
    CHECK_INT(feed(&north, 0, s1 - 1, 0, 0, &page), 200);
    for (i = 0; i < json_array_size(json_object_get(page, "checkins")); i++) {
        json_t *x = json_array_get(json_object_get(page, "checkins"), i);
        CHECK(json_is_boolean(json_object_get(x, "conflict")));
        if (num(x, "seq") == s3)
            CHECK(json_is_false(json_object_get(x, "conflict")));
        else
            CHECK(json_is_true(json_object_get(x, "conflict")));
    }
    json_decref(page);

    /* ticket 600 on "after_exit": in, out, in again (fine), in while inside (conflict) */
    scan(&north, 600, reentry, T0 + 200, "North", "entry", "accept", &conflict);
    CHECK(!conflict);
    scan(&north, 600, reentry, T0 + 210, "North", "exit", "accept", &conflict);
    CHECK(!conflict);
    scan(&south, 600, reentry, T0 + 220, "South", "entry", "accept", &conflict);
    CHECK(!conflict);
    scan(&south, 600, reentry, T0 + 230, "South", "entry", "accept", &conflict);
    CHECK(conflict);
    /* refused scans count but are not conflicts */
    scan(&north, 700, once, T0 + 300, "North", "entry", "revoked", NULL);
    scan(&north, 701, once, T0 + 301, "North", "entry", "revoked", NULL);
    scan(&south, 0, once, T0 + 302, "South", "entry", "malformed", NULL);

    snprintf(path, sizeof path, "/v1/events/%lld/checkins/stats", (long long)event);
    CHECK_INT(call("GET", path, w.cust, NULL, &res), 403);
    json_decref(res);
    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    CHECK_INT(num(res, "event_id"), event);
    lists = json_object_get(res, "lists");
    CHECK_INT(json_array_size(lists), 2);
    l = json_array_get(lists, 0); /* "once" */
    CHECK_INT(num(l, "list_id"), once);
    CHECK_STR(str(l, "name"), "Main");
    CHECK_INT(num(l, "admitted"), 3);
    CHECK_INT(num(l, "conflicts"), 2);
    CHECK_INT(num(l, "exits"), 0);
    CHECK_INT(num(l, "inside"), 1);
    CHECK_INT(num(json_object_get(l, "refused"), "revoked"), 2);
    CHECK_INT(num(json_object_get(l, "refused"), "malformed"), 1);
    CHECK_INT(num(l, "refused_total"), 3);
    CHECK_INT(json_array_size(json_object_get(l, "gates")), 2);
    g = json_array_get(json_object_get(l, "gates"), 0);
    CHECK_STR(str(g, "gate"), "North");
    CHECK_INT(num(g, "admitted"), 1);
    CHECK_INT(num(json_object_get(g, "refused"), "revoked"), 2);
    g = json_array_get(json_object_get(l, "gates"), 1);
    CHECK_STR(str(g, "gate"), "South");
    CHECK_INT(num(g, "admitted"), 2);
    CHECK_INT(num(json_object_get(g, "refused"), "malformed"), 1);
    l = json_array_get(lists, 1); /* "after_exit" */
    CHECK_INT(num(l, "list_id"), reentry);
    CHECK_INT(num(l, "admitted"), 3);
    CHECK_INT(num(l, "exits"), 1);
    CHECK_INT(num(l, "conflicts"), 1);
    CHECK_INT(num(l, "inside"), 1);
    CHECK_INT(num(json_object_get(res, "totals"), "admitted"), 6);
    CHECK_INT(num(json_object_get(res, "totals"), "refused_total"), 3);
    json_decref(res);

    /* listing pages by seq */
    snprintf(path, sizeof path, "/v1/events/%lld/checkins?limit=2", (long long)event);
    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res, "checkins")), 2);
    CHECK_INT(num(res, "next_after"), s2);
    json_decref(res);
    snprintf(path, sizeof path, "/v1/events/%lld/checkins?conflicts=2", (long long)event);
    CHECK_INT(call("GET", path, w.org, NULL, &res), 400);
    json_decref(res);
    CHECK_INT(call("GET", "/v1/events/999999999/checkins", w.org, NULL, &res), 404);
    json_decref(res);
}

/* ---- long-poll (§2) ------------------------------------------------------------ */

struct poll_arg {
    const struct device *d;
    int64_t rev, ck;
    int wait;
    long status;
    json_t *page;
};

static void *poll_thread(void *arg)
{
    struct poll_arg *p = arg;

    p->status = feed(p->d, p->rev, p->ck, 0, p->wait, &p->page);
    return NULL;
}

/* The cursors at the end of the feed for d. */
static void catch_up(const struct device *d, int64_t *rev, int64_t *ck)
{
    json_t *revs = json_array(), *cks = json_array();

    *rev = *ck = 0;
    pull_all(d, rev, ck, 5000, revs, cks);
    json_decref(revs);
    json_decref(cks);
}

static void test_longpoll(void)
{
    int64_t event, type, list, seq, tickets[1] = {0};
    struct device north, south;
    struct poll_arg p;
    pthread_t t;
    json_t *cks;

    new_event(&event, &type);
    list = make_list(event, "Main", "once");
    enroll(event, "North", "gate", &north);
    enroll(event, "South", "gate", &south);
    scan(&north, 800, list, T0, "North", "entry", "accept", NULL);

    /* nothing happens: an empty page after the wait */
    memset(&p, 0, sizeof p);
    p.d = &south;
    catch_up(&south, &p.rev, &p.ck);
    p.wait = 1;
    poll_thread(&p);
    CHECK_INT(p.status, 200);
    CHECK_INT(json_array_size(json_object_get(p.page, "checkins")), 0);
    CHECK_INT(json_array_size(json_object_get(p.page, "revocations")), 0);
    CHECK(json_is_false(json_object_get(p.page, "more")));
    CHECK_INT(num(json_object_get(p.page, "cursor"), "checkins"), p.ck);
    json_decref(p.page);

    /* a check-in at another gate ends the wait, and the page holds it */
    p.page = NULL;
    p.wait = 10;
    CHECK_INT(pthread_create(&t, NULL, poll_thread, &p), 0);
    sleep_ms(300); /* usually parked by now; either way the row must come back */
    seq = scan(&north, 801, list, T0 + 5, "North", "entry", "accept", NULL);
    pthread_join(t, NULL);
    CHECK_INT(p.status, 200);
    cks = json_object_get(p.page, "checkins");
    CHECK_INT(json_array_size(cks), 1);
    CHECK_INT(num(json_array_get(cks, 0), "seq"), seq);
    CHECK_INT(num(json_array_get(cks, 0), "ticket_id"), 801);
    CHECK_STR(str(json_array_get(cks, 0), "device"), north.id);
    CHECK_INT(num(json_object_get(p.page, "cursor"), "checkins"), seq);
    json_decref(p.page);

    /* a revocation stored without a wake is found by the re-check */
    {
        int64_t save_event = w.event, save_type = w.type;
        w.event = event;
        w.type = type;
        buy(1, tickets);
        w.event = save_event;
        w.type = save_type;
    }
    p.page = NULL;
    p.ck = seq;
    p.wait = 10;
    CHECK_INT(pthread_create(&t, NULL, poll_thread, &p), 0);
    sleep_ms(300);
    CHECK_ERR(adm_store_ticket_revoke(w.api->store, tickets[0], T0, NULL), ADM_OK);
    pthread_join(t, NULL);
    CHECK_INT(p.status, 200);
    CHECK_INT(json_array_size(json_object_get(p.page, "revocations")), 1);
    CHECK_INT(num(json_array_get(json_object_get(p.page, "revocations"), 0), "ticket_id"),
              tickets[0]);
    json_decref(p.page);
}

/* ---- edge mode (§5): the header and revocations come from the mirror ----------- */

static void test_edge_mode(void)
{
    int64_t event = 1900000000 + (int64_t)(run_id % 100000000), seq;
    adm_revocation_t revs[2] = {{.seq = 1, .ticket_id = 4242, .revoked_at = T0 - 10},
                                {.seq = 2, .ticket_id = 4343, .revoked_at = T0 - 5}};
    char header[1024], path[96], token[64];
    struct device d, rd; /* d uploads; rd reads the feed */
    json_t *res = NULL, *page = NULL;
    adm_config_mode_t mode = w.api->cfg->mode;

    snprintf(header, sizeof header,
             "{\"event\":{\"id\":%lld,\"title\":\"Mirrored\",\"starts_at\":%d,\"ends_at\":%d,"
             "\"status\":\"on_sale\"},\"keys\":{\"format\":\"admit-keyring\",\"version\":1,"
             "\"keys\":[]},\"ticket_types\":[{\"id\":5,\"name\":\"GA\"}],\"checkin_lists\":"
             "[{\"id\":77,\"name\":\"Main\",\"reentry\":\"once\",\"ticket_types\":[],"
             "\"gates\":[]}]}",
             (long long)event, T0, T0 + 3600);
    w.api->cfg->mode = ADM_MODE_EDGE; /* read per request; nothing else runs now */

    /* no mirror yet: the event does not exist here */
    snprintf(path, sizeof path, "/v1/events/%lld/enrollments", (long long)event);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s}", "gate", "East"), 404);
    json_decref(res);
    /* a catalog event without a mirror is not an edge's either */
    snprintf(path, sizeof path, "/v1/events/%lld/enrollments", (long long)w.event);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s}", "gate", "East"), 404);
    json_decref(res);

    CHECK_ERR(adm_store_mirror_put_header(w.api->store, event, header, T0), ADM_OK);
    CHECK_ERR(adm_store_mirror_advance(w.api->store, event, revs, 2, 2, -1, T0), ADM_OK);
    make_token(event, "East", "gate", 0, token);
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", token), 201);
    snprintf(d.id, sizeof d.id, "%s", str(res, "device_id"));
    snprintf(d.bearer, sizeof d.bearer, "%s.%s", d.id, str(res, "secret"));
    json_decref(res);
    make_token(event, "West", "gate", 0, token);
    CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", token), 201);
    snprintf(rd.id, sizeof rd.id, "%s", str(res, "device_id"));
    snprintf(rd.bearer, sizeof rd.bearer, "%s.%s", rd.id, str(res, "secret"));
    json_decref(res);

    CHECK_INT(feed(&d, 0, 0, 0, 0, &page), 200);
    CHECK_STR(str(json_object_get(page, "event"), "title"), "Mirrored");
    CHECK_INT(num(json_array_get(json_object_get(page, "checkin_lists"), 0), "id"), 77);
    CHECK_STR(str(json_array_get(json_object_get(page, "ticket_types"), 0), "name"), "GA");
    CHECK_INT(json_array_size(json_object_get(page, "revocations")), 2);
    CHECK_INT(num(json_array_get(json_object_get(page, "revocations"), 1), "ticket_id"), 4343);
    CHECK_INT(num(json_object_get(page, "cursor"), "revocations"), 2);
    json_decref(page);
    seq = scan(&d, 4444, 77, T0, "East", "entry", "accept", NULL);
    CHECK_INT(feed(&rd, 2, seq - 1, 0, 0, &page), 200);
    CHECK_INT(json_array_size(json_object_get(page, "checkins")), 1);
    CHECK_INT(num(json_array_get(json_object_get(page, "checkins"), 0), "seq"), seq);
    json_decref(page);

    /* lists come from the centre */
    snprintf(path, sizeof path, "/v1/events/%lld/checkin-lists", (long long)event);
    CHECK_INT(callf("POST", path, w.org, &res, "{s:s}", "name", "Local"), 409);
    json_decref(res);
    snprintf(path, sizeof path, "/v1/events/%lld/devices", (long long)event);
    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res, "devices")), 2);
    json_decref(res);
    snprintf(path, sizeof path, "/v1/events/%lld/checkins/stats", (long long)event);
    CHECK_INT(call("GET", path, w.org, NULL, &res), 200);
    CHECK_INT(num(json_object_get(res, "totals"), "admitted"), 1);
    json_decref(res);
    w.api->cfg->mode = mode;
}

/* ---- crew lookup (§2b) ------------------------------------------------------ */

/* GET /v1/sync/lookup?<query> as bearer; *res the reply. */
static long lookup(const char *bearer, const char *query, json_t **res)
{
    char path[256];

    snprintf(path, sizeof path, "/v1/sync/lookup?%s", query);
    return call("GET", path, bearer, NULL, res);
}

/* The ticket with id in the reply's "tickets" (borrowed), or NULL. */
static json_t *ticket_in(const json_t *res, int64_t id)
{
    json_t *arr = json_object_get(res, "tickets"), *t;
    size_t i;

    json_array_foreach(arr, i, t)
    {
        if (num(t, "id") == id)
            return t;
    }
    return NULL;
}

static void test_lookup(void)
{
    struct device gate, other_gate;
    int64_t list = make_list(w.event, "Lookup", "once"), now = adm_api_now(w.api);
    adm_hold_t h, h2;
    adm_order_t paid, pending;
    adm_store_ticket_t *t = NULL;
    size_t nt = 0;
    const char *ids[2];
    char ref[64], q[128], lower[16];
    json_t *res = NULL, *tk, *cks;
    bool conflict = true;

    enroll(w.event, "North", "gate", &gate);
    enroll(w.other_event, "Far", "gate", &other_gate);
    /* one paid order of two GA and one VIP, one pending order */
    CHECK_ERR(adm_store_hold_create(w.api->store, w.cust_id, w.type, 2, 600, now, &h), ADM_OK);
    CHECK_ERR(adm_store_hold_create(w.api->store, w.cust_id, w.type2, 1, 600, now, &h2), ADM_OK);
    ids[0] = h.id;
    ids[1] = h2.id;
    CHECK_ERR(adm_store_checkout(w.api->store, w.cust_id, ids, 2, 0, now, &paid), ADM_OK);
    snprintf(ref, sizeof ref, "lookup-%u-%d", run_id, (int)getpid());
    CHECK_ERR(adm_store_order_pay(w.api->store, paid.id, "test", ref, now, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_tickets(w.api->store, ADM_READ_HINT_PRIMARY, 0, paid.id, &t, &nt),
              ADM_OK);
    CHECK_INT(nt, 3);
    if (nt != 3) {
        free(t);
        return;
    }
    CHECK_ERR(adm_store_hold_create(w.api->store, w.cust_id, w.type, 1, 600, now, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(w.api->store, w.cust_id, ids, 1, 0, now, &pending), ADM_OK);
    /* ticket 0 entered twice (the second flagged), left once; ticket 1 revoked */
    scan(&gate, t[0].id, list, T0 + 100, "North", "entry", "accept", &conflict);
    CHECK(!conflict);
    scan(&gate, t[0].id, list, T0 + 50, "South", "entry", "accept", &conflict);
    scan(&gate, t[0].id, list, T0 + 200, "North", "exit", "accept", NULL);
    scan(&gate, t[0].id, list, T0 + 300, "North", "entry", "already_used", NULL); /* refused */
    CHECK_ERR(adm_store_ticket_revoke(w.api->store, t[1].id, now, NULL), ADM_OK);

    /* by order code, as printed, lower case and without the dash */
    snprintf(q, sizeof q, "order=%s", paid.code);
    CHECK_INT(lookup(gate.bearer, q, &res), 200);
    CHECK_STR(str(json_object_get(res, "order"), "code"), paid.code);
    CHECK_STR(str(json_object_get(res, "order"), "state"), "paid");
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 3);
    tk = ticket_in(res, t[0].id);
    CHECK(tk != NULL);
    CHECK_STR(str(tk, "status"), "valid");
    CHECK_INT(num(tk, "type_id"), t[0].type_id);
    CHECK_STR(str(tk, "type_name"), t[0].type_id == w.type ? "GA" : "VIP");
    cks = json_object_get(tk, "checkins");
    CHECK_INT(json_array_size(cks), 3); /* accepted scans only, in scan time order */
    CHECK_INT(num(json_array_get(cks, 0), "at"), T0 + 50);
    CHECK_STR(str(json_array_get(cks, 0), "gate"), "South");
    CHECK_STR(str(json_array_get(cks, 0), "device"), gate.id);
    CHECK_STR(str(json_array_get(cks, 0), "direction"), "entry");
    CHECK(json_is_false(json_object_get(json_array_get(cks, 0), "conflict")));
    CHECK(json_is_true(json_object_get(json_array_get(cks, 1), "conflict")));
    CHECK_STR(str(json_array_get(cks, 2), "direction"), "exit");
    CHECK_STR(str(ticket_in(res, t[1].id), "status"), "revoked");
    CHECK_INT(json_array_size(json_object_get(ticket_in(res, t[2].id), "checkins")), 0);
    json_decref(res);
    snprintf(lower, sizeof lower, "%.4s%.4s", paid.code, paid.code + 5);
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    snprintf(q, sizeof q, "order=%s", lower);
    CHECK_INT(lookup(gate.bearer, q, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 3);
    json_decref(res);
    /* a pending order has no tickets yet */
    snprintf(q, sizeof q, "order=%s", pending.code);
    CHECK_INT(lookup(gate.bearer, q, &res), 200);
    CHECK_STR(str(json_object_get(res, "order"), "state"), "pending");
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 0);
    json_decref(res);

    /* by ticket id: no "order" member */
    snprintf(q, sizeof q, "ticket=%lld", (long long)t[1].id);
    CHECK_INT(lookup(gate.bearer, q, &res), 200);
    CHECK(json_object_get(res, "order") == NULL);
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 1);
    CHECK_STR(str(ticket_in(res, t[1].id), "status"), "revoked");
    json_decref(res);

    /* another event's order or ticket is as unknown as a missing one */
    snprintf(q, sizeof q, "order=%s", paid.code);
    CHECK_INT(lookup(other_gate.bearer, q, &res), 404);
    CHECK_STR(err_code(res), "not_found");
    json_decref(res);
    snprintf(q, sizeof q, "ticket=%lld", (long long)t[0].id);
    CHECK_INT(lookup(other_gate.bearer, q, &res), 404);
    json_decref(res);
    CHECK_INT(lookup(gate.bearer, "order=ZZZZ-ZZZZ", &res), 404);
    CHECK_STR(err_code(res), "not_found");
    json_decref(res);
    CHECK_INT(lookup(gate.bearer, "ticket=9007199254740991", &res), 404);
    json_decref(res);

    /* malformed queries */
    static const char *const bad[] = {
        "",         "order=AB",   "order=A7K3-9QX%21",       "order=A7K3-9QXM-12", "order=",
        "ticket=0", "ticket=abc", "ticket=9007199254740992", "ticket=-5",          "ticket=",
        "x=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(lookup(gate.bearer, bad[i], &res), 400);
        json_decref(res);
        res = NULL;
    }
    snprintf(q, sizeof q, "order=%s&ticket=%lld", paid.code, (long long)t[0].id);
    CHECK_INT(lookup(gate.bearer, q, &res), 400);
    json_decref(res);
    /* devices only */
    snprintf(q, sizeof q, "ticket=%lld", (long long)t[0].id);
    CHECK_INT(lookup(NULL, q, &res), 401);
    json_decref(res);
    CHECK_INT(lookup(w.org, q, &res), 401);
    json_decref(res);
    free(t);

    /* an edge: no orders; tickets from its check-ins and mirrored revocations */
    {
        int64_t event = 1950000000 + (int64_t)(run_id % 40000000);
        adm_revocation_t rev = {.seq = 1, .ticket_id = 5151, .revoked_at = T0 - 10};
        adm_config_mode_t mode = w.api->cfg->mode;
        char header[512], token[64];
        struct device e;

        snprintf(header, sizeof header,
                 "{\"event\":{\"id\":%lld,\"title\":\"Edge lookup\",\"starts_at\":%d,"
                 "\"ends_at\":%d,\"status\":\"on_sale\"},\"keys\":{\"format\":\"admit-keyring\","
                 "\"version\":1,\"keys\":[]},\"ticket_types\":[],\"checkin_lists\":[]}",
                 (long long)event, T0, T0 + 3600);
        w.api->cfg->mode = ADM_MODE_EDGE;
        CHECK_ERR(adm_store_mirror_put_header(w.api->store, event, header, T0), ADM_OK);
        CHECK_ERR(adm_store_mirror_advance(w.api->store, event, &rev, 1, 1, -1, T0), ADM_OK);
        make_token(event, "East", "gate", 0, token);
        CHECK_INT(callf("POST", "/v1/devices/enroll", NULL, &res, "{s:s}", "token", token), 201);
        snprintf(e.id, sizeof e.id, "%s", str(res, "device_id"));
        snprintf(e.bearer, sizeof e.bearer, "%s.%s", e.id, str(res, "secret"));
        json_decref(res);
        scan(&e, 5252, 1, T0 + 5, "East", "entry", "accept", NULL);

        CHECK_INT(lookup(e.bearer, "order=A7K3-9QXM", &res), 404);
        CHECK_STR(err_code(res), "not_available_at_edge");
        json_decref(res);
        CHECK_INT(lookup(e.bearer, "ticket=5151", &res), 200);
        CHECK_STR(str(res, "source"), "edge");
        tk = ticket_in(res, 5151);
        CHECK_STR(str(tk, "status"), "revoked");
        CHECK(json_is_null(json_object_get(tk, "type_id")));
        CHECK_INT(json_array_size(json_object_get(tk, "checkins")), 0);
        json_decref(res);
        CHECK_INT(lookup(e.bearer, "ticket=5252", &res), 200);
        tk = ticket_in(res, 5252);
        CHECK_STR(str(tk, "status"), "valid");
        CHECK_INT(json_array_size(json_object_get(tk, "checkins")), 1);
        CHECK_STR(str(json_array_get(json_object_get(tk, "checkins"), 0), "device"), e.id);
        json_decref(res);
        CHECK_INT(lookup(e.bearer, "ticket=5353", &res), 404); /* nothing known here */
        CHECK_STR(err_code(res), "not_found");
        json_decref(res);
        w.api->cfg->mode = mode;
    }
}

int main(void)
{
    const char *backend = getenv("ADMIT_TEST_STORE");

    if (backend != NULL && strcmp(backend, "mysql") == 0 &&
        getenv("ADMIT_TEST_MYSQL_PRIMARY") == NULL) {
        printf("SKIP: ADMIT_TEST_MYSQL_PRIMARY is not set\n");
        return 77;
    }
    run_id = (unsigned)time(NULL);
    CHECK_ERR(adm_api_start(&w.api), ADM_OK);
    if (w.api == NULL)
        return 1;
    adm_api_set_now(w.api, T0);
    CHECK_ERR(adm_api_user(w.api, ADM_ROLE_ORGANISER, NULL, w.org, NULL), ADM_OK);
    CHECK_ERR(adm_api_user(w.api, ADM_ROLE_CUSTOMER, NULL, w.cust, &w.cust_id), ADM_OK);
    new_event(&w.event, &w.type);
    CHECK_ERR(adm_api_ticket_type(w.api, w.event, "VIP", 0, 100, &w.type2), ADM_OK);
    new_event(&w.other_event, &w.other_type);

    ADM_RUN(test_enrollment);
    ADM_RUN(test_device_auth);
    ADM_RUN(test_lists);
    ADM_RUN(test_feed_paging);
    ADM_RUN(test_upload);
    ADM_RUN(test_malformed);
    ADM_RUN(test_conflicts_and_stats);
    ADM_RUN(test_longpoll);
    ADM_RUN(test_edge_mode);
    ADM_RUN(test_lookup);

    adm_api_stop(w.api);
    return adm_test_done();
}
