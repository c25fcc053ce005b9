/* test-api-catalog.c: the catalog over HTTP (route-catalog.c,
 * route-organiser.c) against an in-process admitd: organisers create and
 * edit venues, events and ticket types; the public sees only what is on
 * sale; search, pagination, validation and sales figures. No timing asserts. */
#include <time.h>

#include <jansson.h>

#include "server/app.h"
#include "tests/testutil/api.h"
#include "tests/testutil/testutil.h"

static adm_api_t *api;
static char organiser[ADM_AUTH_TOKEN_MAX], customer[ADM_AUTH_TOKEN_MAX];

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(missing)";
}

static long long num(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

/* Sends a request, checks status (and error code when want_error), returns
 * the response (caller decrefs; may be NULL). */
static json_t *call(const char *method, const char *path, const char *token, const char *body,
                    long want_status, const char *want_error)
{
    long status = 0;
    json_t *res = NULL;

    CHECK_ERR(adm_api_request(api, method, path, token, body, NULL, &status, &res), ADM_OK);
    if (status != want_status || (want_error != NULL && strcmp(str(res, "error"), want_error) != 0))
        fprintf(stderr, "  %s %s %.200s -> %ld %s %s\n", method, path, body ? body : "", status,
                str(res, "error"), str(res, "message"));
    CHECK_INT(status, want_status);
    if (want_error != NULL)
        CHECK_STR(str(res, "error"), want_error);
    return res;
}

static void expect(const char *method, const char *path, const char *token, const char *body,
                   long want_status, const char *want_error)
{
    json_decref(call(method, path, token, body, want_status, want_error));
}

/* POSTs body and returns the new object's id (0 on failure). */
static int64_t create(const char *path, const char *body)
{
    json_t *res = call("POST", path, organiser, body, 201, NULL);
    int64_t id = num(res, "id");

    json_decref(res);
    CHECK(id > 0);
    return id;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static int64_t new_event(int64_t venue, const char *title, const char *city, const char *category,
                         int64_t starts, bool on_sale)
{
    char body[1024], path[64];
    int64_t id;

    snprintf(body, sizeof body,
             "{\"venue_id\":%lld,\"title\":\"%s\",\"city\":\"%s\",\"category\":\"%s\","
             "\"description\":\"Line one\\nline two\",\"starts_at\":%lld,\"ends_at\":%lld}",
             (long long)venue, title, city, category, (long long)starts, (long long)starts + 7200);
    id = create("/v1/events", body);
    if (on_sale) {
        snprintf(path, sizeof path, "/v1/events/%lld", (long long)id);
        expect("PATCH", path, organiser, "{\"status\":\"on_sale\"}", 200, NULL);
    }
    return id;
}

static void test_venues(void)
{
    json_t *res;
    char path[64];
    int64_t id;

    id = create("/v1/venues", "{\"name\":\"Arena\",\"city\":\"Penang\",\"address\":\"1 Jalan "
                              "Arena\\nGeorge Town\",\"capacity\":5000}");
    snprintf(path, sizeof path, "/v1/venues/%lld", (long long)id);
    res = call("GET", path, NULL, NULL, 200, NULL);
    CHECK_STR(str(res, "name"), "Arena");
    CHECK_STR(str(res, "city"), "Penang");
    CHECK_STR(str(res, "address"), "1 Jalan Arena\nGeorge Town");
    CHECK_INT(num(res, "capacity"), 5000);
    json_decref(res);

    res = call("PATCH", path, organiser, "{\"name\":\"Big Arena\",\"capacity\":6000}", 200, NULL);
    CHECK_STR(str(res, "name"), "Big Arena");
    CHECK_STR(str(res, "city"), "Penang"); /* untouched fields stay */
    CHECK_INT(num(res, "capacity"), 6000);
    json_decref(res);

    /* roles, validation */
    expect("POST", "/v1/venues", customer, "{\"name\":\"X\",\"city\":\"Y\"}", 403, "forbidden");
    expect("POST", "/v1/venues", NULL, "{\"name\":\"X\",\"city\":\"Y\"}", 401, "unauthorized");
    expect("PATCH", path, customer, "{\"name\":\"X\"}", 403, "forbidden");
    expect("POST", "/v1/venues", organiser, "{\"name\":\"X\"}", 400, "bad_field");
    expect("POST", "/v1/venues", organiser, "{\"name\":\"\",\"city\":\"Y\"}", 400, "bad_field");
    expect("POST", "/v1/venues", organiser, "{\"name\":\"X\",\"city\":\"Y\",\"capacity\":-1}", 400,
           "bad_field");
    expect("POST", "/v1/venues", organiser, "{\"name\":\"X\",\"city\":\"Y\",\"seats\":1}", 400,
           "unknown_field");
    expect("PATCH", path, organiser, "{\"capacity\":\"many\"}", 400, "bad_field");
    expect("PATCH", path, organiser, "{\"city\":\"\"}", 400, "bad_field");
    expect("PATCH", path, organiser, "{\"id\":5}", 400, "unknown_field");
    expect("PATCH", "/v1/venues/999999", organiser, "{\"name\":\"X\"}", 404, "not_found");
    expect("GET", "/v1/venues/999999", NULL, NULL, 404, "not_found");
    expect("GET", "/v1/venues/abc", NULL, NULL, 400, "bad_id");
}

static void test_events_and_types(void)
{
    char body[1024], path[96], tpath[96];
    int64_t venue, event, type;
    int64_t starts = utc(2031, 3, 14, 20, 0);
    json_t *res, *types, *t;

    venue = create("/v1/venues", "{\"name\":\"Hall\",\"city\":\"Ipoh\"}");

    /* create: a draft, city defaults to the venue's */
    snprintf(body, sizeof body, "{\"venue_id\":%lld,\"title\":\"Pi Night\",\"starts_at\":%lld}",
             (long long)venue, (long long)starts);
    res = call("POST", "/v1/events", organiser, body, 201, NULL);
    event = num(res, "id");
    CHECK_STR(str(res, "status"), "draft");
    CHECK_STR(str(res, "city"), "Ipoh");
    CHECK_INT(num(res, "ends_at"), starts);
    json_decref(res);

    snprintf(body, sizeof body, "{\"venue_id\":999999,\"title\":\"X\",\"starts_at\":%lld}",
             (long long)starts);
    expect("POST", "/v1/events", organiser, body, 404, "venue_not_found");
    snprintf(body, sizeof body,
             "{\"venue_id\":%lld,\"title\":\"X\",\"starts_at\":%lld,\"ends_at\":%lld}",
             (long long)venue, (long long)starts, (long long)starts - 1);
    expect("POST", "/v1/events", organiser, body, 400, "bad_field");
    snprintf(body, sizeof body, "{\"venue_id\":%lld,\"starts_at\":%lld}", (long long)venue,
             (long long)starts);
    expect("POST", "/v1/events", organiser, body, 400, "bad_field");
    snprintf(body, sizeof body, "{\"venue_id\":%lld,\"title\":\"X\",\"starts_at\":\"soon\"}",
             (long long)venue);
    expect("POST", "/v1/events", organiser, body, 400, "bad_field");
    snprintf(body, sizeof body, "{\"venue_id\":%lld,\"title\":\"X\",\"starts_at\":%lld}",
             (long long)venue, (long long)starts);
    expect("POST", "/v1/events", customer, body, 403, "forbidden");

    /* ticket types */
    snprintf(path, sizeof path, "/v1/events/%lld/ticket-types", (long long)event);
    res = call("POST", path, organiser,
               "{\"name\":\"Standard\",\"price\":31400,\"currency\":\"MYR\",\"capacity\":314,"
               "\"per_order_max\":4}",
               201, NULL);
    type = num(res, "id");
    CHECK_INT(num(res, "price"), 31400);
    CHECK_INT(num(res, "per_order_max"), 4);
    CHECK_INT(num(res, "available"), 314);
    CHECK_INT(num(res, "sold"), 0);
    CHECK(json_is_false(json_object_get(res, "on_sale"))); /* the event is a draft */
    json_decref(res);
    create(path, "{\"name\":\"VIP\",\"price\":99900,\"currency\":\"MYR\",\"capacity\":10}");
    expect("POST", path, organiser,
           "{\"name\":\"X\",\"price\":1,\"currency\":\"myr\",\"capacity\":1}", 400, "bad_field");
    expect("POST", path, organiser,
           "{\"name\":\"X\",\"price\":-1,\"currency\":\"MYR\",\"capacity\":1}", 400, "bad_field");
    expect("POST", path, organiser,
           "{\"name\":\"X\",\"price\":1,\"currency\":\"MYR\",\"capacity\":1,\"per_order_max\":0}",
           400, "bad_field");
    expect("POST", path, organiser,
           "{\"name\":\"X\",\"price\":1,\"currency\":\"MYR\",\"capacity\":1,\"sale_starts\":100,"
           "\"sale_ends\":100}",
           400, "bad_field");
    expect("POST", path, organiser, "{\"name\":\"X\",\"currency\":\"MYR\",\"capacity\":1}", 400,
           "bad_field");
    expect("POST", "/v1/events/999999/ticket-types", organiser,
           "{\"name\":\"X\",\"price\":1,\"currency\":\"MYR\",\"capacity\":1}", 404, "not_found");

    /* the draft is invisible to the public and to customers, visible to organisers */
    snprintf(path, sizeof path, "/v1/events/%lld", (long long)event);
    snprintf(tpath, sizeof tpath, "/v1/events/%lld/ticket-types", (long long)event);
    expect("GET", path, NULL, NULL, 404, "not_found");
    expect("GET", path, customer, NULL, 404, "not_found");
    expect("GET", tpath, NULL, NULL, 404, "not_found");
    res = call("GET", path, organiser, NULL, 200, NULL);
    CHECK_STR(str(res, "status"), "draft");
    json_decref(res);
    res = call("GET", "/v1/events?city=Ipoh", NULL, NULL, 200, NULL);
    CHECK_INT(json_array_size(json_object_get(res, "events")), 0);
    json_decref(res);
    res = call("GET", "/v1/events?city=Ipoh", organiser, NULL, 200, NULL);
    CHECK_INT(json_array_size(json_object_get(res, "events")), 1);
    json_decref(res);

    /* edits, then on sale */
    res = call("PATCH", path, organiser,
               "{\"title\":\"Pi Night 2031\",\"category\":\"science\",\"status\":\"on_sale\"}", 200,
               NULL);
    CHECK_STR(str(res, "title"), "Pi Night 2031");
    CHECK_STR(str(res, "category"), "science");
    CHECK_STR(str(res, "status"), "on_sale");
    CHECK_INT(num(res, "starts_at"), starts); /* untouched */
    json_decref(res);
    res = call("GET", path, NULL, NULL, 200, NULL);
    CHECK_STR(str(res, "title"), "Pi Night 2031");
    CHECK_STR(str(json_object_get(res, "venue"), "name"), "Hall");
    types = json_object_get(res, "ticket_types");
    CHECK_INT(json_array_size(types), 2);
    t = json_array_get(types, 0);
    CHECK_STR(str(t, "name"), "Standard");
    CHECK_INT(num(t, "available"), 314);
    CHECK(json_is_true(json_object_get(t, "on_sale")));
    CHECK(json_object_get(t, "sold") == NULL); /* staff-only figures */
    json_decref(res);
    res = call("GET", tpath, NULL, NULL, 200, NULL);
    CHECK_INT(json_array_size(json_object_get(res, "ticket_types")), 2);
    json_decref(res);

    /* PATCH validation and transitions */
    expect("PATCH", path, organiser, "{\"venue_id\":1}", 400, "unknown_field");
    expect("PATCH", path, organiser, "{\"status\":\"sold\"}", 400, "bad_field");
    snprintf(body, sizeof body, "{\"ends_at\":%lld}", (long long)starts - 60);
    expect("PATCH", path, organiser, body, 400, "bad_field");
    expect("PATCH", path, organiser, "{\"title\":\"\"}", 400, "bad_field");
    expect("PATCH", path, customer, "{\"title\":\"Mine\"}", 403, "forbidden");
    expect("PATCH", "/v1/events/999999", organiser, "{\"title\":\"X\"}", 404, "not_found");
    res = call("PATCH", path, organiser, "{\"status\":\"ended\"}", 200, NULL);
    CHECK_STR(str(res, "status"), "ended");
    json_decref(res);
    expect("PATCH", path, organiser, "{\"status\":\"on_sale\"}", 409, "invalid_state");
    expect("PATCH", path, organiser, "{\"status\":\"ended\"}", 200, NULL); /* same: no-op */
    {
        int64_t other = new_event(venue, "Draft", "Ipoh", "x", starts, false);
        snprintf(path, sizeof path, "/v1/events/%lld", (long long)other);
        expect("PATCH", path, organiser, "{\"status\":\"ended\"}", 409, "invalid_state");
        /* a refused status change leaves the other fields alone */
        expect("PATCH", path, organiser, "{\"title\":\"Renamed\",\"status\":\"ended\"}", 409,
               "invalid_state");
        res = call("GET", path, organiser, NULL, 200, NULL);
        CHECK_STR(str(res, "title"), "Draft");
        json_decref(res);
        expect("PATCH", path, organiser, "{\"status\":\"cancelled\"}", 200, NULL);
        expect("PATCH", path, organiser, "{\"status\":\"draft\"}", 409, "invalid_state");
        /* cancelled events stay readable by the public (ticket holders) */
        expect("GET", path, NULL, NULL, 200, NULL);
    }

    /* ticket type edits */
    snprintf(path, sizeof path, "/v1/ticket-types/%lld", (long long)type);
    res = call("PATCH", path, organiser, "{\"price\":30000,\"capacity\":300}", 200, NULL);
    CHECK_INT(num(res, "price"), 30000);
    CHECK_INT(num(res, "capacity"), 300);
    CHECK_STR(str(res, "name"), "Standard");
    CHECK_INT(num(res, "per_order_max"), 4);
    json_decref(res);
    expect("PATCH", path, organiser, "{\"currency\":\"EURO\"}", 400, "bad_field");
    expect("PATCH", path, organiser, "{\"event_id\":3}", 400, "unknown_field");
    expect("PATCH", path, organiser, "{\"sale_starts\":200,\"sale_ends\":100}", 400, "bad_field");
    expect("PATCH", path, customer, "{\"price\":1}", 403, "forbidden");
    expect("PATCH", "/v1/ticket-types/999999", organiser, "{\"price\":1}", 404, "not_found");
}

static void test_bad_ids(void)
{
    static const char *const bad[] = {"/v1/events/abc",
                                      "/v1/events/0",
                                      "/v1/events/-1",
                                      "/v1/events/1.5",
                                      "/v1/events/0x10",
                                      "/v1/events/+7",
                                      "/v1/events/99999999999999999999",
                                      "/v1/events/9223372036854775808",
                                      "/v1/events/x/ticket-types",
                                      "/v1/venues/0"};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect("GET", bad[i], NULL, NULL, 400, "bad_id");
    expect("GET", "/v1/events/9223372036854775807", NULL, NULL, 404, "not_found");
    expect("GET", "/v1/events/424242", NULL, NULL, 404, "not_found");
    expect("GET", "/v1/events/424242/ticket-types", NULL, NULL, 404, "not_found");
    expect("PATCH", "/v1/events/abc", organiser, "{\"title\":\"X\"}", 400, "bad_id");
    expect("PATCH", "/v1/ticket-types/0", organiser, "{\"price\":1}", 400, "bad_id");
    expect("GET", "/v1/events/abc/sales", organiser, NULL, 400, "bad_id");
    expect("GET", "/v1/events/424242/sales", organiser, NULL, 404, "not_found");
}

static void test_search(void)
{
    int64_t kch, mlk, ids[6];
    json_t *res, *events;
    char path[256];

    kch = create("/v1/venues", "{\"name\":\"Waterfront\",\"city\":\"Kuching\"}");
    mlk = create("/v1/venues", "{\"name\":\"Fort\",\"city\":\"Melaka\"}");
    ids[0] = new_event(kch, "Rainforest Music", "Kuching", "music", utc(2032, 7, 10, 18, 0), true);
    ids[1] = new_event(kch, "Jazz by the River", "Kuching", "music", utc(2032, 7, 11, 20, 0), true);
    ids[2] = new_event(kch, "Food Fair", "Kuching", "food", utc(2032, 8, 1, 10, 0), true);
    ids[3] = new_event(mlk, "Heritage Jazz Walk", "Melaka", "tour", utc(2032, 7, 10, 9, 0), true);
    ids[4] = new_event(mlk, "Hidden draft jazz", "Melaka", "music", utc(2032, 7, 10, 9, 0), false);
    ids[5] = new_event(kch, "100% Sambal", "Kuching", "food", utc(2032, 8, 2, 10, 0), true);

    /* city, case-insensitive; ordered by start */
    res = call("GET", "/v1/events?city=kuching", NULL, NULL, 200, NULL);
    events = json_object_get(res, "events");
    CHECK_INT(json_array_size(events), 4);
    CHECK_INT(num(json_array_get(events, 0), "id"), ids[0]);
    CHECK_INT(num(json_array_get(events, 1), "id"), ids[1]);
    CHECK_INT(num(json_array_get(events, 2), "id"), ids[2]);
    CHECK(json_is_null(json_object_get(res, "next_cursor")));
    json_decref(res);

    res = call("GET", "/v1/events?city=Kuching&category=FOOD", NULL, NULL, 200, NULL);
    CHECK_INT(json_array_size(json_object_get(res, "events")), 2);
    json_decref(res);

    /* text in title or description; the draft stays hidden */
    res = call("GET", "/v1/events?q=jazz", NULL, NULL, 200, NULL);
    events = json_object_get(res, "events");
    CHECK_INT(json_array_size(events), 2);
    CHECK_INT(num(json_array_get(events, 0), "id"), ids[3]);
    CHECK_INT(num(json_array_get(events, 1), "id"), ids[1]);
    json_decref(res);
    res = call("GET", "/v1/events?q=100%25", NULL, NULL, 200, NULL); /* % is literal */
    events = json_object_get(res, "events");
    CHECK_INT(json_array_size(events), 1);
    CHECK_INT(num(json_array_get(events, 0), "id"), ids[5]);
    json_decref(res);

    /* dates: from inclusive, a date-only "to" includes that day */
    res =
        call("GET", "/v1/events?city=Kuching&from=2032-07-11&to=2032-08-01", NULL, NULL, 200, NULL);
    events = json_object_get(res, "events");
    CHECK_INT(json_array_size(events), 2);
    CHECK_INT(num(json_array_get(events, 0), "id"), ids[1]);
    CHECK_INT(num(json_array_get(events, 1), "id"), ids[2]);
    json_decref(res);
    snprintf(path, sizeof path, "/v1/events?city=Kuching&from=%lld&to=%lld",
             (long long)utc(2032, 7, 10, 18, 0), (long long)utc(2032, 7, 11, 20, 0));
    res = call("GET", path, NULL, NULL, 200, NULL);
    events = json_object_get(res, "events");
    CHECK_INT(json_array_size(events), 1); /* unix seconds: "to" is exclusive */
    CHECK_INT(num(json_array_get(events, 0), "id"), ids[0]);
    json_decref(res);
    res = call("GET",
               "/v1/events?city=Kuching&from=2032-07-11T04:00:00%2B08:00&to=2032-07-11T21:00:00Z",
               NULL, NULL, 200, NULL);
    events = json_object_get(res, "events");
    CHECK_INT(json_array_size(events), 1);
    CHECK_INT(num(json_array_get(events, 0), "id"), ids[1]);
    json_decref(res);

    /* organisers also see drafts */
    res = call("GET", "/v1/events?q=jazz", organiser, NULL, 200, NULL);
    CHECK_INT(json_array_size(json_object_get(res, "events")), 3);
    json_decref(res);

    /* bad arguments */
    expect("GET", "/v1/events?from=yesterday", NULL, NULL, 400, "bad_query");
    expect("GET", "/v1/events?from=2032-02-30", NULL, NULL, 400, "bad_query");
    expect("GET", "/v1/events?to=2032-07-11T25:00:00Z", NULL, NULL, 400, "bad_query");
    expect("GET", "/v1/events?limit=0", NULL, NULL, 400, "bad_query");
    expect("GET", "/v1/events?limit=101", NULL, NULL, 400, "bad_query");
    expect("GET", "/v1/events?limit=ten", NULL, NULL, 400, "bad_query");
    expect("GET", "/v1/events?cursor=nonsense!", NULL, NULL, 400, "bad_cursor");
    expect("GET", "/v1/events?cursor=MTIzNA", NULL, NULL, 400, "bad_cursor"); /* "1234" */
    expect("GET", "/v1/events?city=%01", NULL, NULL, 400, "bad_query");
    {
        char q[160];
        memset(q, 'a', 101);
        q[101] = '\0';
        snprintf(path, sizeof path, "/v1/events?q=%s", q);
        expect("GET", path, NULL, NULL, 400, "bad_query");
    }
}

static void test_pagination(void)
{
    enum { N = 23, LIMIT = 5 };
    int64_t venue, made[N], seen[N + LIMIT];
    size_t n_seen = 0, pages = 0, i, j;
    char path[256], cursor[128] = "";
    int64_t base = utc(2033, 1, 1, 12, 0);

    venue = create("/v1/venues", "{\"name\":\"Dome\",\"city\":\"Kota Kinabalu\"}");
    for (i = 0; i < N; i++) /* pairs share a start time: ties break by id */
        made[i] =
            new_event(venue, "Page", "Kota Kinabalu", "misc", base + (int64_t)(i / 2) * 3600, true);
    for (;;) {
        json_t *res, *events, *next;

        snprintf(path, sizeof path, "/v1/events?city=Kota%%20Kinabalu&limit=%d%s%s", LIMIT,
                 cursor[0] ? "&cursor=" : "", cursor);
        res = call("GET", path, NULL, NULL, 200, NULL);
        events = json_object_get(res, "events");
        CHECK(json_array_size(events) <= LIMIT);
        for (i = 0; i < json_array_size(events) && n_seen < N + LIMIT; i++)
            seen[n_seen++] = num(json_array_get(events, i), "id");
        next = json_object_get(res, "next_cursor");
        pages++;
        if (!json_is_string(next) || pages > N) {
            json_decref(res);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(res);
    }
    CHECK_INT(n_seen, N);
    CHECK(pages >= (N + LIMIT - 1) / LIMIT);
    for (i = 0; i < n_seen && i < N; i++) {
        CHECK_INT(seen[i], made[i]); /* in (starts_at, id) order: the creation order here */
        for (j = i + 1; j < n_seen; j++)
            CHECK(seen[i] != seen[j]);
    }
}

static void test_idempotent_create(void)
{
    const char *const key[] = {"Idempotency-Key: venue-create-1", NULL};
    const char *body = "{\"name\":\"Once\",\"city\":\"Seremban\"}";
    const char *other = "{\"name\":\"Twice\",\"city\":\"Seremban\"}";
    adm_api_resp_t a, b;

    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/venues", organiser, body, strlen(body), NULL,
                                  key, &a),
              ADM_OK);
    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/venues", organiser, body, strlen(body), NULL,
                                  key, &b),
              ADM_OK);
    CHECK_INT(a.status, 201);
    CHECK_INT(b.status, 201);
    CHECK(a.len == b.len && memcmp(a.body, b.body, a.len) == 0);
    adm_api_resp_free(&b);
    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/venues", organiser, other, strlen(other), NULL,
                                  key, &b),
              ADM_OK);
    CHECK_INT(b.status, 422);
    adm_api_resp_free(&b);
    /* one venue was made: the next id follows it directly */
    {
        json_t *first = json_loadb(a.body, a.len, 0, NULL);
        int64_t next = create("/v1/venues", other);
        CHECK_INT(next, num(first, "id") + 1);
        json_decref(first);
    }
    adm_api_resp_free(&a);
}

static void test_sales(void)
{
    int64_t venue, event, std, vip, buyer;
    char path[96], hold_id[1][ADM_STORE_HOLD_ID_LEN + 1];
    const char *holds[1];
    adm_hold_t h;
    adm_order_t order;
    json_t *res, *types, *totals;
    int64_t now = adm_api_now(api);

    CHECK_ERR(adm_api_venue(api, "Sandakan", &venue), ADM_OK);
    CHECK_ERR(adm_api_event(api, venue, "Sales Test", 0, ADM_EVENT_ON_SALE, &event), ADM_OK);
    CHECK_ERR(adm_api_ticket_type(api, event, "Standard", 2500, 50, &std), ADM_OK);
    CHECK_ERR(adm_api_ticket_type(api, event, "VIP", 10000, 5, &vip), ADM_OK);
    CHECK_ERR(adm_api_user(api, ADM_ROLE_CUSTOMER, NULL, NULL, &buyer), ADM_OK);

    /* 3 standard sold (paid), 2 VIP held */
    CHECK_ERR(adm_store_hold_create(api->store, buyer, std, 3, 600, now, &h), ADM_OK);
    snprintf(hold_id[0], sizeof hold_id[0], "%s", h.id);
    holds[0] = hold_id[0];
    CHECK_ERR(adm_store_checkout(api->store, buyer, holds, 1, 0, now, &order), ADM_OK);
    CHECK_ERR(adm_store_order_pay(api->store, order.id, "test", "sales-ref-1", now, NULL), ADM_OK);
    CHECK_ERR(adm_store_hold_create(api->store, buyer, vip, 2, 600, now, &h), ADM_OK);

    snprintf(path, sizeof path, "/v1/events/%lld/sales", (long long)event);
    expect("GET", path, customer, NULL, 403, "forbidden");
    expect("GET", path, NULL, NULL, 401, "unauthorized");
    res = call("GET", path, organiser, NULL, 200, NULL);
    CHECK_INT(num(res, "event_id"), event);
    types = json_object_get(res, "ticket_types");
    CHECK_INT(json_array_size(types), 2);
    CHECK_INT(num(json_array_get(types, 0), "type_id"), std);
    CHECK_INT(num(json_array_get(types, 0), "sold"), 3);
    CHECK_INT(num(json_array_get(types, 0), "held"), 0);
    CHECK_INT(num(json_array_get(types, 0), "available"), 47);
    CHECK_INT(num(json_array_get(types, 0), "revenue"), 7500);
    CHECK_INT(num(json_array_get(types, 1), "held"), 2);
    CHECK_INT(num(json_array_get(types, 1), "available"), 3);
    CHECK_INT(num(json_array_get(types, 1), "revenue"), 0);
    totals = json_object_get(res, "totals");
    CHECK_INT(num(totals, "capacity"), 55);
    CHECK_INT(num(totals, "sold"), 3);
    CHECK_INT(num(totals, "held"), 2);
    CHECK_INT(num(json_object_get(totals, "revenue"), "MYR"), 7500);
    json_decref(res);

    /* public availability counts held seats as gone; organisers see the split */
    snprintf(path, sizeof path, "/v1/events/%lld/ticket-types", (long long)event);
    res = call("GET", path, NULL, NULL, 200, NULL);
    CHECK_INT(num(json_array_get(json_object_get(res, "ticket_types"), 1), "available"), 3);
    json_decref(res);
    res = call("GET", path, organiser, NULL, 200, NULL);
    CHECK_INT(num(json_array_get(json_object_get(res, "ticket_types"), 0), "sold"), 3);
    json_decref(res);

    /* capacity cannot drop below sold + held */
    snprintf(path, sizeof path, "/v1/ticket-types/%lld", (long long)vip);
    expect("PATCH", path, organiser, "{\"capacity\":1}", 409, "invalid_state");
    expect("PATCH", path, organiser, "{\"capacity\":2}", 200, NULL);
}

int main(void)
{
    if (adm_api_start(&api) != ADM_OK)
        return 1;
    if (adm_api_user(api, ADM_ROLE_ORGANISER, NULL, organiser, NULL) != ADM_OK ||
        adm_api_user(api, ADM_ROLE_CUSTOMER, NULL, customer, NULL) != ADM_OK)
        return 1;
    ADM_RUN(test_venues);
    ADM_RUN(test_events_and_types);
    ADM_RUN(test_bad_ids);
    ADM_RUN(test_search);
    ADM_RUN(test_pagination);
    ADM_RUN(test_idempotent_create);
    ADM_RUN(test_sales);
    adm_api_stop(api);
    return adm_test_done();
}
