/* route-catalog.c: admitd's public catalog reads: event search with keyset
 * pagination, one event with its venue and ticket types, a venue. Draft
 * events exist only for organisers. Also the JSON views of catalog objects
 * (app.h). Not for changing the catalog (route-organiser.c). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "server/app.h"

#define CURSOR_TEXT_MAX 64      /* longest cursor accepted, characters */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* ---- JSON views ------------------------------------------------------------- */

json_t *adm_app_venue_json(const adm_venue_t *v)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "id", (json_int_t)v->id, "name",
                     v->name, "city", v->city, "address", v->address, "capacity",
                     (json_int_t)v->capacity, "created", (json_int_t)v->created, "updated",
                     (json_int_t)v->updated);
}

json_t *adm_app_event_json(const adm_event_t *e)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I}", "id",
                     (json_int_t)e->id, "venue_id", (json_int_t)e->venue_id, "title", e->title,
                     "city", e->city, "category", e->category, "description", e->description,
                     "starts_at", (json_int_t)e->starts_at, "ends_at", (json_int_t)e->ends_at,
                     "status", adm_event_status_name(e->status), "created", (json_int_t)e->created,
                     "updated", (json_int_t)e->updated);
}

json_t *adm_app_type_json(const adm_ticket_type_t *t, adm_event_status_t event_status, int64_t now,
                          bool staff)
{
    int64_t avail = t->capacity - t->sold - t->held;
    bool open = event_status == ADM_EVENT_ON_SALE &&
                (t->sale_starts == 0 || t->sale_starts <= now) &&
                (t->sale_ends == 0 || now < t->sale_ends);
    json_t *j;

    j = json_pack("{s:I, s:I, s:s, s:I, s:s, s:I, s:I, s:i, s:i, s:I, s:I, s:b, s:b, s:b, s:s}",
                  "id", (json_int_t)t->id, "event_id", (json_int_t)t->event_id, "name", t->name,
                  "price", (json_int_t)t->price, "currency", t->currency, "capacity",
                  (json_int_t)t->capacity, "available", (json_int_t)(avail > 0 ? avail : 0),
                  "per_order_max", (int)t->per_order_max, "per_customer_max",
                  (int)t->per_customer_max, "sale_starts", (json_int_t)t->sale_starts, "sale_ends",
                  (json_int_t)t->sale_ends, "on_sale", open ? 1 : 0, "special", (int)t->special,
                  "reentry", (int)t->reentry, "zone", t->zone);
    if (j != NULL && staff &&
        (json_object_set_new(j, "sold", json_integer(t->sold)) != 0 ||
         json_object_set_new(j, "held", json_integer(t->held)) != 0)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* ---- query arguments ---------------------------------------------------------- */

/* Optional text argument name of at most max bytes without control
 * characters; *out NULL when absent. Replies 400 bad_query on failure. */
static bool query_text(adm_http_req_t *req, const char *name, size_t max, const char **out)
{
    const char *s = adm_http_query(req, name);
    size_t i;

    *out = s;
    if (s == NULL)
        return true;
    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            break;
    if (i > max || s[i] != '\0') {
        adm_http_reply_error(req, 400, "bad_query",
                             "query argument %s must be at most %zu characters of text", name, max);
        return false;
    }
    return true;
}

/* Parses "n" digits of s into *out; false unless they are all digits. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Unix seconds from unix seconds ("1735689600"), a date ("2025-01-01",
 * midnight UTC; the next midnight when end_of_day, so that "to" includes
 * the day) or an RFC 3339 time ("2025-01-01T18:30:00Z", "...+08:00"). */
static bool parse_time(const char *s, bool end_of_day, int64_t *out)
{
    struct tm tm = {0}, chk;
    int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
    size_t len = strlen(s);
    time_t t;

    if (len > 0 && strspn(s, "0123456789") == len) {
        if (len > 12)
            return false;
        *out = strtoll(s, NULL, 10);
        return *out <= TIME_MAX;
    }
    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    if (len != 10) {
        end_of_day = false;
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 20 || !digits(s + 11, 2, &h) ||
            s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
            return false;
        if (len == 20 && (s[19] == 'Z' || s[19] == 'z'))
            sign = 0;
        else if (len == 25 && (s[19] == '+' || s[19] == '-') && digits(s + 20, 2, &oh) &&
                 s[22] == ':' && digits(s + 23, 2, &om) && oh < 24 && om < 60)
            sign = s[19] == '+' ? 1 : -1;
        else
            return false;
        if (h > 23 || mi > 59 || se > 59)
            return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = timegm(&tm);
    if (t == (time_t)-1 || gmtime_r(&t, &chk) == NULL || chk.tm_mday != d) /* Feb 30 */
        return false;
    *out = (int64_t)t - sign * (oh * 3600 + om * 60) + (end_of_day ? 86400 : 0);
    return *out >= 0 && *out <= TIME_MAX;
}

/* Optional time argument; replies 400 bad_query on failure. */
static bool query_time(adm_http_req_t *req, const char *name, bool end_of_day, int64_t *out)
{
    const char *s = adm_http_query(req, name);

    *out = 0;
    if (s == NULL || parse_time(s, end_of_day, out))
        return true;
    adm_http_reply_error(req, 400, "bad_query",
                         "query argument %s must be unix seconds, a date (2025-01-31) or an "
                         "RFC 3339 time (2025-01-31T18:00:00Z)",
                         name);
    return false;
}

/* A cursor is base64url("<starts_at>.<id>"): opaque to clients. */
static bool cursor_encode(const adm_event_cursor_t *c, char *out, size_t cap)
{
    char plain[48];
    int n = snprintf(plain, sizeof plain, "%lld.%lld", (long long)c->starts_at, (long long)c->id);

    if (n < 0 || (size_t)n >= sizeof plain ||
        cap < sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return false;
    sodium_bin2base64(out, cap, (const unsigned char *)plain, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return true;
}

static bool cursor_decode(const char *s, adm_event_cursor_t *c)
{
    char plain[48], tail;
    size_t n = 0;
    long long a, b;

    if (strlen(s) > CURSOR_TEXT_MAX ||
        sodium_base642bin((unsigned char *)plain, sizeof plain - 1, s, strlen(s), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    plain[n] = '\0';
    if (strspn(plain, "-0123456789.") != n || sscanf(plain, "%lld.%lld%c", &a, &b, &tail) != 2 ||
        b <= 0 || a < 0 || a > TIME_MAX)
        return false;
    c->starts_at = a;
    c->id = b;
    return true;
}

/* ---- handlers ------------------------------------------------------------------ */

/* GET /v1/events?city=&from=&to=&category=&q=&cursor=&limit= */
static void get_events(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_event_query_t q = {0};
    adm_event_t *events = NULL;
    adm_event_cursor_t next;
    const char *cursor;
    char next_text[CURSOR_TEXT_MAX + 1];
    long long limit;
    size_t n = 0, i;
    adm_err_t rc;
    json_t *list = NULL, *body;

    if (!adm_auth_optional(req, app, &who) ||
        !query_text(req, "city", ADM_STORE_CITY_MAX, &q.city) ||
        !query_text(req, "category", ADM_STORE_CATEGORY_MAX, &q.category) ||
        !query_text(req, "q", ADM_STORE_SEARCH_TEXT_MAX, &q.text) ||
        !query_time(req, "from", false, &q.starts_from) ||
        !query_time(req, "to", true, &q.starts_before) ||
        !adm_http_query_int(req, "limit", ADM_STORE_PAGE_DEFAULT, 1, ADM_STORE_PAGE_MAX, &limit))
        goto out;
    cursor = adm_http_query(req, "cursor");
    if (cursor != NULL && cursor[0] != '\0' && !cursor_decode(cursor, &q.after)) {
        adm_http_reply_error(req, 400, "bad_cursor",
                             "cursor is not one this server returned; start again without it");
        goto out;
    }
    q.all_statuses = who.role == ADM_ROLE_ORGANISER;
    q.limit = (size_t)limit;
    rc = adm_store_event_search(app->store,
                                q.all_statuses ? ADM_READ_HINT_PRIMARY : ADM_READ_HINT_ANY, &q,
                                &events, &n, &next);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    list = json_array();
    for (i = 0; list != NULL && i < n; i++)
        if (json_array_append_new(list, adm_app_event_json(&events[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    if (list == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        goto out;
    }
    if (next.id != 0 && !cursor_encode(&next, next_text, sizeof next_text)) {
        json_decref(list);
        adm_app_reply_err(req, ADM_ERR_TOO_BIG);
        goto out;
    }
    body = json_pack("{s:o, s:o}", "events", list, "next_cursor",
                     next.id != 0 ? json_string(next_text) : json_null());
    adm_http_reply_json(req, 200, body);
out:
    free(events);
}

/* Loads event id for req: 404 when absent, or a draft and the caller is not
 * an organiser. Replies itself on failure. */
static bool load_event(adm_http_req_t *req, adm_app_t *app, bool staff, adm_event_t *e)
{
    int64_t id;
    adm_err_t rc;

    if (!adm_app_path_id(req, "id", &id))
        return false;
    rc = adm_store_event_get(app->store, staff ? ADM_READ_HINT_PRIMARY : ADM_READ_HINT_ANY, id, e);
    if (rc == ADM_OK && e->status == ADM_EVENT_DRAFT && !staff)
        rc = ADM_ERR_NOT_FOUND;
    if (rc == ADM_ERR_NOT_FOUND) {
        adm_http_reply_error(req, 404, "not_found", "event %lld does not exist", (long long)id);
        return false;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return false;
    }
    return true;
}

/* The ticket types of e as a JSON array; NULL after replying on failure. */
static json_t *types_json(adm_http_req_t *req, adm_app_t *app, const adm_event_t *e, bool staff)
{
    adm_ticket_type_t *types = NULL;
    size_t n = 0, i;
    int64_t now = adm_app_now(app);
    json_t *list = NULL;
    adm_err_t rc;

    rc = adm_store_ticket_type_list(app->store, staff ? ADM_READ_HINT_PRIMARY : ADM_READ_HINT_ANY,
                                    e->id, &types, &n);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    list = json_array();
    for (i = 0; list != NULL && i < n; i++)
        if (json_array_append_new(list, adm_app_type_json(&types[i], e->status, now, staff)) != 0) {
            json_decref(list);
            list = NULL;
        }
    if (list == NULL)
        adm_app_reply_err(req, ADM_ERR_NOMEM);
out:
    free(types);
    return list;
}

/* GET /v1/events/{id}: the event with "venue" and "ticket_types". */
static void get_event(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_event_t *e = NULL; /* ~4.6 KiB: keep it off the pool thread's stack */
    adm_venue_t v;
    adm_err_t rc;
    bool staff;
    json_t *body = NULL, *types;

    if (!adm_auth_optional(req, app, &who))
        goto out;
    staff = who.role == ADM_ROLE_ORGANISER;
    e = adm_arena_alloc(adm_http_arena(req), sizeof *e);
    if (e == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        goto out;
    }
    if (!load_event(req, app, staff, e))
        goto out;
    rc = adm_store_venue_get(app->store, staff ? ADM_READ_HINT_PRIMARY : ADM_READ_HINT_ANY,
                             e->venue_id, &v);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    if ((types = types_json(req, app, e, staff)) == NULL)
        goto out;
    body = adm_app_event_json(e);
    if (body == NULL || json_object_set_new(body, "venue", adm_app_venue_json(&v)) != 0 ||
        json_object_set_new(body, "ticket_types", types) != 0) {
        json_decref(body);
        body = NULL;
    }
    adm_http_reply_json(req, 200, body);
out:
    return;
}

/* GET /v1/events/{id}/ticket-types */
static void get_event_types(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_event_t *e;
    json_t *types;

    if (!adm_auth_optional(req, app, &who))
        return;
    e = adm_arena_alloc(adm_http_arena(req), sizeof *e);
    if (e == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        return;
    }
    if (!load_event(req, app, who.role == ADM_ROLE_ORGANISER, e))
        return;
    if ((types = types_json(req, app, e, who.role == ADM_ROLE_ORGANISER)) == NULL)
        return;
    adm_http_reply_json(req, 200, json_pack("{s:o}", "ticket_types", types));
}

/* GET /v1/venues/{id} */
static void get_venue(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_venue_t v;
    int64_t id;
    adm_err_t rc;

    if (!adm_app_path_id(req, "id", &id))
        return;
    rc = adm_store_venue_get(app->store, ADM_READ_HINT_ANY, id, &v);
    if (rc == ADM_ERR_NOT_FOUND) {
        adm_http_reply_error(req, 404, "not_found", "venue %lld does not exist", (long long)id);
        return;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_json(req, 200, adm_app_venue_json(&v));
}

adm_err_t adm_routes_catalog(adm_app_t *app, adm_http_server_t *srv)
{
    adm_err_t result;

    if ((result = adm_http_route(srv, "GET", "/v1/events", get_events, app, "events.search")) !=
            ADM_OK ||
        (result = adm_http_route(srv, "GET", "/v1/events/{id}", get_event, app, "events.get")) !=
            ADM_OK ||
        (result = adm_http_route(srv, "GET", "/v1/events/{id}/ticket-types", get_event_types, app,
                                 "events.types")) != ADM_OK)
        goto out;
    result = adm_http_route(srv, "GET", "/v1/venues/{id}", get_venue, app, "venues.get");
out:
    return result;
}
