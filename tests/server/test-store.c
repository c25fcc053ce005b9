/* test-store.c: the store conformance suite (server/store.h): every backend
 * must pass it unchanged. ADMIT_TEST_STORE picks the backend: sqlite (default,
 * a file in a temp dir) or mysql (ADMIT_TEST_MYSQL_PRIMARY[/_REPLICA] URLs;
 * exit 77 when unset or not built). Works on a shared, non-empty database:
 * names and emails are unique per run, and times are never near the real
 * clock: rows live in 2100 (T0), where no real-clock reaper expires them, and
 * only the tests that call the global reaper work in 2001 (TP), where reaping
 * releases nothing a real-clock user holds. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "server/store.h"
#include "tests/testutil/testutil.h"

#define T0 ((int64_t)4102444800)                /* 2100-01-01: "now" of the suite */
#define TP ((int64_t)1000000000)                /* 2001-09-09: "now" of the tests that reap */
#define MISSING(id) ((id) + ((int64_t)1 << 40)) /* an id no row has */

static adm_store_config_t cfg;
static adm_store_t *st;
static bool is_sqlite;
static char sqlite_path[4200];
static char run_id[17]; /* random per run: makes names and emails unique */
static atomic_int serial;

/* ---- helpers ---- */

static int next_serial(void)
{
    return atomic_fetch_add(&serial, 1) + 1;
}

static int64_t mk_user_in(adm_store_t *s, const char *tag)
{
    char email[ADM_STORE_EMAIL_MAX + 1];
    adm_user_spec_t u = {.email = email,
                         .password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
                         .display_name = tag,
                         .role = ADM_ROLE_CUSTOMER};
    int64_t id = 0;

    snprintf(email, sizeof email, "%s-%s-%ld-%d@example.test", tag, run_id, (long)getpid(),
             next_serial());
    CHECK_ERR(adm_store_user_create(s, &u, T0, &id), ADM_OK);
    return id;
}

static int64_t mk_user(const char *tag)
{
    return mk_user_in(st, tag);
}

static int64_t mk_venue(const char *city)
{
    adm_venue_spec_t v = {.name = "Hall", .city = city, .address = "1 Jalan Test", .capacity = 500};
    int64_t id = 0;

    CHECK_ERR(adm_store_venue_create(st, &v, T0, &id), ADM_OK);
    CHECK(id > 0);
    return id;
}

/* A unique city name for this run (search tests filter on it). */
static void unique_city(char *out, size_t cap, const char *base)
{
    snprintf(out, cap, "%s %s %d", base, run_id, next_serial());
}

static int64_t mk_event_full(int64_t venue, const char *title, const char *city,
                             const char *category, const char *description, int64_t starts_at,
                             bool on_sale)
{
    adm_event_spec_t e = {.venue_id = venue,
                          .title = title,
                          .city = city,
                          .category = category,
                          .description = description,
                          .starts_at = starts_at,
                          .ends_at = starts_at + 7200};
    int64_t id = 0;

    CHECK_ERR(adm_store_event_create(st, &e, T0, &id), ADM_OK);
    if (on_sale)
        CHECK_ERR(adm_store_event_set_status(st, id, ADM_EVENT_ON_SALE, T0), ADM_OK);
    return id;
}

/* An on-sale event in a fresh venue of its own. */
static int64_t mk_event(void)
{
    char city[ADM_STORE_CITY_MAX + 1];

    unique_city(city, sizeof city, "Ipoh");
    return mk_event_full(mk_venue(city), "Concert", NULL, "music", NULL, T0 + 86400, true);
}

static int64_t mk_type_full(int64_t event, const char *name, int64_t capacity, int64_t price,
                            const char *currency, int32_t per_order, int32_t per_customer,
                            int64_t sale_starts, int64_t sale_ends)
{
    adm_ticket_type_spec_t t = {.event_id = event,
                                .name = name,
                                .price = price,
                                .currency = currency,
                                .capacity = capacity,
                                .per_order_max = per_order,
                                .per_customer_max = per_customer,
                                .sale_starts = sale_starts,
                                .sale_ends = sale_ends};
    int64_t id = 0;

    CHECK_ERR(adm_store_ticket_type_create(st, &t, T0, &id), ADM_OK);
    CHECK(id > 0);
    return id;
}

static int64_t mk_type(int64_t event, int64_t capacity)
{
    return mk_type_full(event, "General", capacity, 2500, "MYR", 10, 0, 0, 0);
}

static void make_ref(char *out, size_t cap)
{
    /* the pid: forked children share the serial counter's state */
    snprintf(out, cap, "ref-%s-%ld-%d", run_id, (long)getpid(), next_serial());
}

/* hold + checkout + pay of q seats of type for user at now, on store s. */
static adm_err_t buy_in(adm_store_t *s, int64_t user, int64_t type, int32_t q, int64_t now,
                        adm_order_t *o)
{
    char ref[64];
    adm_hold_t h;
    const char *ids[1];
    adm_err_t r = adm_store_hold_create(s, user, type, q, 600, now, &h);

    if (r != ADM_OK)
        return r;
    ids[0] = h.id;
    if ((r = adm_store_checkout(s, user, ids, 1, 0, now, o)) != ADM_OK)
        return r;
    make_ref(ref, sizeof ref);
    return adm_store_order_pay(s, o->id, "test", ref, now, o);
}

static adm_err_t buy(int64_t user, int64_t type, int32_t q, int64_t now, adm_order_t *o)
{
    return buy_in(st, user, type, q, now, o);
}

static adm_availability_t avail(int64_t type)
{
    adm_availability_t a;

    CHECK_ERR(adm_store_availability(st, ADM_READ_HINT_PRIMARY, type, &a), ADM_OK);
    CHECK_INT(a.available, a.capacity - a.sold - a.held);
    CHECK(a.available >= 0);
    return a;
}

/* The hint that reads back this thread's own writes on any backend:
 * ADM_READ_AFTER its write position ("" on SQLite: the one database). A plain
 * ADM_READ_ANY may be answered by a replica that has not applied them yet. */
static adm_read_t fresh(void)
{
    static _Thread_local char pos[ADM_STORE_GTID_MAX + 1];

    if (adm_store_write_position(st, pos, sizeof pos) != ADM_OK)
        pos[0] = '\0';
    return ADM_READ_HINT_AFTER(pos);
}

static adm_err_t open_store(adm_store_t **out)
{
    return adm_store_open(&cfg, out);
}

/* ---- lifecycle ---- */

static void test_open(void)
{
    char pos[ADM_STORE_GTID_MAX + 1];
    char tiny[1];
    int version = 0;

    CHECK_ERR(adm_store_ping(st), ADM_OK);
    CHECK_ERR(adm_store_schema_version(st, &version), ADM_OK);
    CHECK(version >= 1);
    CHECK_STR(adm_store_backend_name(st), is_sqlite ? "sqlite" : "mysql");
    CHECK_ERR(adm_store_write_position(st, pos, sizeof pos), ADM_OK);
    if (is_sqlite) {
        CHECK_STR(pos, "");
        CHECK_ERR(adm_store_write_position(st, tiny, sizeof tiny), ADM_OK);
    }
}

static void test_reopen(void)
{
    adm_store_t *again = NULL;
    int v1 = 0, v2 = 0;
    adm_venue_t v;
    int64_t venue = mk_venue("Reopen");

    CHECK_ERR(adm_store_schema_version(st, &v1), ADM_OK);
    /* a second store on the same database runs the migrations again: a no-op */
    CHECK_ERR(open_store(&again), ADM_OK);
    if (again == NULL)
        return;
    CHECK_ERR(adm_store_schema_version(again, &v2), ADM_OK);
    CHECK_INT(v2, v1);
    CHECK_ERR(adm_store_venue_get(again, ADM_READ_HINT_PRIMARY, venue, &v), ADM_OK);
    CHECK_STR(v.city, "Reopen");
    adm_store_close(again);
    /* and after closing the first one too */
    adm_store_close(st);
    st = NULL;
    CHECK_ERR(open_store(&st), ADM_OK);
    if (st == NULL)
        exit(adm_test_done());
    CHECK_ERR(adm_store_schema_version(st, &v2), ADM_OK);
    CHECK_INT(v2, v1);
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_PRIMARY, venue, &v), ADM_OK);
    adm_store_close(NULL);
}

/* ---- catalog ---- */

static void test_venue_event_crud(void)
{
    adm_venue_spec_t vs = {.name = "Arena", .city = "Penang", .address = "", .capacity = 9000};
    adm_event_spec_t es = {
        .title = "Opening", .category = "Sport", .starts_at = T0 + 3600, .ends_at = T0 + 7200};
    adm_venue_t v;
    adm_event_t e;
    int64_t venue = 0, event = 0, missing;

    CHECK_ERR(adm_store_venue_create(st, &vs, T0, &venue), ADM_OK);
    CHECK_ERR(adm_store_venue_get(st, fresh(), venue, &v), ADM_OK);
    CHECK_STR(v.name, "Arena");
    CHECK_STR(v.city, "Penang");
    CHECK_STR(v.address, "");
    CHECK_INT(v.capacity, 9000);
    CHECK_INT(v.created, T0);
    vs.name = "Arena Two";
    vs.address = "Line 1\nLine 2";
    CHECK_ERR(adm_store_venue_update(st, venue, &vs, T0 + 5), ADM_OK);
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_PRIMARY, venue, &v), ADM_OK);
    CHECK_STR(v.name, "Arena Two");
    CHECK_STR(v.address, "Line 1\nLine 2");
    CHECK_INT(v.updated, T0 + 5);
    missing = MISSING(venue);
    CHECK_ERR(adm_store_venue_update(st, missing, &vs, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_PRIMARY, missing, &v), ADM_ERR_NOT_FOUND);
    CHECK_INT(v.id, 0);

    es.venue_id = missing;
    CHECK_ERR(adm_store_event_create(st, &es, T0, &event), ADM_ERR_NOT_FOUND);
    CHECK_INT(event, 0);
    es.venue_id = venue;
    CHECK_ERR(adm_store_event_create(st, &es, T0, &event), ADM_OK);
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, event, &e), ADM_OK);
    CHECK_STR(e.city, "Penang"); /* NULL city = the venue's */
    CHECK_STR(e.title, "Opening");
    CHECK_STR(e.category, "Sport");
    CHECK_STR(e.description, "");
    CHECK_INT(e.status, ADM_EVENT_DRAFT);
    CHECK_INT(e.venue_id, venue);
    CHECK_INT(e.starts_at, T0 + 3600);
    CHECK_INT(e.revocation_seq, 0);
    es.title = "Opening Night";
    es.city = "George Town";
    es.description = "Doors at 7.\n\tBring ID.";
    CHECK_ERR(adm_store_event_update(st, event, &es, T0 + 9), ADM_OK);
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, event, &e), ADM_OK);
    CHECK_STR(e.title, "Opening Night");
    CHECK_STR(e.city, "George Town");
    CHECK_STR(e.description, "Doors at 7.\n\tBring ID.");
    CHECK_INT(e.updated, T0 + 9);
    es.city = "";
    CHECK_ERR(adm_store_event_update(st, event, &es, T0 + 9), ADM_OK);
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, event, &e), ADM_OK);
    CHECK_STR(e.city, "Penang");
    CHECK_ERR(adm_store_event_update(st, MISSING(event), &es, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, MISSING(event), &e),
              ADM_ERR_NOT_FOUND);

    /* status machine */
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ENDED, T0), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_DRAFT, T0), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_DRAFT, T0), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0 + 20), ADM_OK);
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, event, &e), ADM_OK);
    CHECK_INT(e.status, ADM_EVENT_ON_SALE);
    CHECK_INT(e.updated, T0 + 20);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ENDED, T0), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_CANCELLED, T0), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ENDED, T0), ADM_OK);
    event = mk_event_full(venue, "Gala", NULL, "", NULL, T0 + 100, false);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_CANCELLED, T0), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_DRAFT, T0), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, MISSING(event), ADM_EVENT_ON_SALE, T0),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_event_set_status(st, event, (adm_event_status_t)9, T0),
              ADM_ERR_INVALID_ARG);
}

static void test_ticket_type_crud(void)
{
    int64_t event = mk_event(), type, user = mk_user("types");
    adm_ticket_type_spec_t spec = {.event_id = event,
                                   .name = "VIP",
                                   .price = 15000,
                                   .currency = "MYR",
                                   .capacity = 50,
                                   .per_order_max = 4,
                                   .per_customer_max = 8,
                                   .sale_starts = T0 - 10,
                                   .sale_ends = T0 + 100000};
    adm_ticket_type_t t, *list = NULL;
    adm_hold_t h;
    size_t n = 0;

    type = mk_type_full(event, "VIP", 50, 15000, "MYR", 4, 8, T0 - 10, T0 + 100000);
    CHECK_ERR(adm_store_ticket_type_get(st, fresh(), type, &t), ADM_OK);
    CHECK_INT(t.event_id, event);
    CHECK_STR(t.name, "VIP");
    CHECK_INT(t.price, 15000);
    CHECK_STR(t.currency, "MYR");
    CHECK_INT(t.capacity, 50);
    CHECK_INT(t.sold, 0);
    CHECK_INT(t.held, 0);
    CHECK_INT(t.per_order_max, 4);
    CHECK_INT(t.per_customer_max, 8);
    CHECK_INT(t.sale_starts, T0 - 10);
    CHECK_INT(t.sale_ends, T0 + 100000);
    CHECK(!t.special && !t.reentry);
    CHECK_STR(t.zone, "");
    CHECK_ERR(adm_store_ticket_type_get(st, ADM_READ_HINT_ANY, MISSING(type), &t),
              ADM_ERR_NOT_FOUND);

    mk_type(event, 10);
    CHECK_ERR(adm_store_ticket_type_list(st, ADM_READ_HINT_PRIMARY, event, &list, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(list[0].id, type);
        CHECK(list[1].id > list[0].id);
        CHECK_STR(list[1].name, "General");
    }
    free(list);
    CHECK_ERR(adm_store_ticket_type_list(st, ADM_READ_HINT_PRIMARY, MISSING(event), &list, &n),
              ADM_ERR_NOT_FOUND);
    CHECK(list == NULL && n == 0);

    /* update: capacity may not drop below sold + held */
    CHECK_ERR(adm_store_hold_create(st, user, type, 4, 600, T0, &h), ADM_OK);
    spec.name = "VIP Plus";
    spec.price = 17000;
    spec.capacity = 3;
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0 + 1), ADM_ERR_STATE);
    spec.capacity = 4;
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0 + 1), ADM_OK);
    CHECK_ERR(adm_store_ticket_type_get(st, ADM_READ_HINT_PRIMARY, type, &t), ADM_OK);
    CHECK_STR(t.name, "VIP Plus");
    CHECK_INT(t.price, 17000);
    CHECK_INT(t.capacity, 4);
    CHECK_INT(t.held, 4);
    CHECK_INT(t.updated, T0 + 1);
    CHECK_INT(avail(type).available, 0);
    CHECK(!t.special && !t.reentry);

    /* the attributes tickets carry: flags and a seat/zone label (UTF-8, bounded) */
    spec.special = true;
    spec.reentry = true;
    spec.zone = "Balcony \xc3\xa9st";
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0 + 2), ADM_OK);
    CHECK_ERR(adm_store_ticket_type_get(st, ADM_READ_HINT_PRIMARY, type, &t), ADM_OK);
    CHECK(t.special && t.reentry);
    CHECK_STR(t.zone, "Balcony \xc3\xa9st");
    spec.reentry = false;
    spec.zone = NULL;
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0 + 3), ADM_OK);
    CHECK_ERR(adm_store_ticket_type_get(st, ADM_READ_HINT_PRIMARY, type, &t), ADM_OK);
    CHECK(t.special && !t.reentry);
    CHECK_STR(t.zone, "");
    spec.zone = "123456789012345678901234567890123"; /* 33 bytes */
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0 + 4), ADM_ERR_TOO_BIG);
    spec.zone = "tab\there";
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0 + 4), ADM_ERR_INVALID_ARG);
    spec.zone = "A";
    spec.capacity = 4;
    CHECK_ERR(adm_store_ticket_type_update(st, MISSING(type), &spec, T0), ADM_ERR_NOT_FOUND);

    spec.event_id = MISSING(event);
    CHECK_ERR(adm_store_ticket_type_create(st, &spec, T0, &type), ADM_ERR_NOT_FOUND);
    CHECK_INT(type, 0);
}

static void test_type_limit_per_event(void)
{
    int64_t event = mk_event(), id = 0;
    adm_ticket_type_spec_t spec = {
        .event_id = event, .name = "Zone", .currency = "MYR", .capacity = 1, .per_order_max = 1};

    for (int i = 0; i < ADM_STORE_TYPES_MAX; i++)
        CHECK_ERR(adm_store_ticket_type_create(st, &spec, T0, &id), ADM_OK);
    CHECK_ERR(adm_store_ticket_type_create(st, &spec, T0, &id), ADM_ERR_LIMIT);
}

static void test_field_bounds(void)
{
    char big[ADM_STORE_DESCRIPTION_MAX + 2], title[ADM_STORE_TITLE_MAX + 1];
    char name[ADM_STORE_NAME_MAX + 2], email[ADM_STORE_EMAIL_MAX + 2];
    adm_venue_spec_t vs = {.name = "V", .city = "C", .capacity = 1};
    adm_event_spec_t es = {.title = "T", .starts_at = T0, .ends_at = T0};
    adm_ticket_type_spec_t ts = {.name = "N", .currency = "MYR", .capacity = 1, .per_order_max = 1};
    adm_user_spec_t us = {.email = "a@b.c", .password_hash = "h", .role = ADM_ROLE_CUSTOMER};
    adm_event_t e;
    adm_ticket_type_t t;
    int64_t id = 0, venue = mk_venue("Bounds");
    size_t i;

    /* names at the bound are stored whole, one byte more is TOO_BIG */
    memset(name, 'n', sizeof name);
    name[ADM_STORE_NAME_MAX] = '\0';
    vs.name = name;
    CHECK_ERR(adm_store_venue_create(st, &vs, T0, &id), ADM_OK);
    name[ADM_STORE_NAME_MAX] = 'n';
    name[ADM_STORE_NAME_MAX + 1] = '\0';
    CHECK_ERR(adm_store_venue_create(st, &vs, T0, &id), ADM_ERR_TOO_BIG);
    CHECK_INT(id, 0);
    vs.name = "";
    CHECK_ERR(adm_store_venue_create(st, &vs, T0, &id), ADM_ERR_INVALID_ARG);
    vs.name = "V";
    vs.capacity = -1;
    CHECK_ERR(adm_store_venue_create(st, &vs, T0, &id), ADM_ERR_INVALID_ARG);
    vs.capacity = ADM_STORE_CAPACITY_MAX + 1;
    CHECK_ERR(adm_store_venue_create(st, &vs, T0, &id), ADM_ERR_INVALID_ARG);

    /* a title of exactly ADM_STORE_TITLE_MAX bytes of two-byte characters
     * (a backend counting characters, not bytes, would differ here) */
    for (i = 0; i + 2 <= ADM_STORE_TITLE_MAX; i += 2) {
        title[i] = (char)0xc3;
        title[i + 1] = (char)0xa9; /* é */
    }
    title[i] = '\0';
    CHECK_INT(strlen(title), ADM_STORE_TITLE_MAX);
    memset(big, 'd', sizeof big);
    big[0] = '\n';
    big[1] = '\t';
    big[ADM_STORE_DESCRIPTION_MAX] = '\0';
    es.venue_id = venue;
    es.title = title;
    es.description = big;
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_OK);
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, id, &e), ADM_OK);
    CHECK_STR(e.title, title);
    CHECK_STR(e.description, big);
    big[ADM_STORE_DESCRIPTION_MAX] = 'd';
    big[ADM_STORE_DESCRIPTION_MAX + 1] = '\0';
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_TOO_BIG);
    es.description = NULL;
    es.title = "bad\x01title";
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);
    es.title = "line\nbreak"; /* only descriptions and addresses are multi-line */
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);
    es.title = "bad \xc3\x28 utf8";
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);
    es.title = "overlong \xc0\xaf";
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);
    es.title = "";
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);
    es.title = "ok";
    es.ends_at = T0 - 1;
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);
    es.ends_at = T0;
    es.starts_at = 0;
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_ERR_INVALID_ARG);

    es.starts_at = T0;
    CHECK_ERR(adm_store_event_create(st, &es, T0, &id), ADM_OK);
    ts.event_id = id;
    ts.price = ADM_STORE_PRICE_MAX;
    ts.capacity = ADM_STORE_CAPACITY_MAX;
    ts.per_order_max = ADM_STORE_QUANTITY_MAX;
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_OK);
    CHECK_ERR(adm_store_ticket_type_get(st, ADM_READ_HINT_PRIMARY, id, &t), ADM_OK);
    CHECK_INT(t.price, ADM_STORE_PRICE_MAX);
    CHECK_INT(t.capacity, ADM_STORE_CAPACITY_MAX);
    ts.event_id = t.event_id;
    ts.price = ADM_STORE_PRICE_MAX + 1;
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_ERR_INVALID_ARG);
    ts.price = 1;
    ts.currency = "myr";
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_ERR_INVALID_ARG);
    ts.currency = "MYRR";
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_ERR_INVALID_ARG);
    ts.currency = "MYR";
    ts.per_order_max = 0;
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_ERR_INVALID_ARG);
    ts.per_order_max = ADM_STORE_QUANTITY_MAX + 1;
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_ERR_INVALID_ARG);
    ts.per_order_max = 1;
    ts.sale_starts = T0;
    ts.sale_ends = T0;
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, T0, &id), ADM_ERR_INVALID_ARG);

    /* emails */
    us.email = "no-at-sign";
    CHECK_ERR(adm_store_user_create(st, &us, T0, &id), ADM_ERR_INVALID_ARG);
    us.email = "two@@example.test";
    CHECK_ERR(adm_store_user_create(st, &us, T0, &id), ADM_ERR_INVALID_ARG);
    memset(email, 'e', sizeof email);
    memcpy(email + ADM_STORE_EMAIL_MAX - 12, "@example.com", 12);
    email[ADM_STORE_EMAIL_MAX] = '\0';
    email[0] = run_id[0]; /* unique per run: the database may be shared */
    memcpy(email + 1, run_id, 16);
    us.email = email;
    CHECK_ERR(adm_store_user_create(st, &us, T0, &id), ADM_OK);
    email[ADM_STORE_EMAIL_MAX] = 'm';
    email[ADM_STORE_EMAIL_MAX + 1] = '\0';
    CHECK_ERR(adm_store_user_create(st, &us, T0, &id), ADM_ERR_TOO_BIG);
}

/* ---- search ---- */

typedef struct search_fixture {
    char city[ADM_STORE_CITY_MAX + 1];
    int64_t ids[40];
    size_t n_on_sale; /* ids[0..n_on_sale) on sale, the rest drafts */
    size_t n;
} search_fixture_t;

static search_fixture_t sf;

static void search_setup(void)
{
    static const char *const special[][2] = {
        {"100% Rock", ""},   {"100 Rock", ""},   {"a_b night", ""},        {"axb night", ""},
        {"Bang! night", ""}, {"Bang night", ""}, {"Plain", "has 50% off"}, {"Plain", "half off"},
    };
    char other[ADM_STORE_CITY_MAX + 1], title[64];
    int64_t venue;

    memset(&sf, 0, sizeof sf);
    unique_city(sf.city, sizeof sf.city, "Melaka");
    unique_city(other, sizeof other, "Johor");
    venue = mk_venue(sf.city);
    /* 21 on sale: 13 plain (start times with ties, given out of order) + 8 special */
    for (int i = 0; i < 13; i++) {
        snprintf(title, sizeof title, "Show %d", i);
        sf.ids[sf.n++] = mk_event_full(venue, title, NULL, i % 2 ? "Music" : "Sport", NULL,
                                       T0 + 3600 * ((13 - i) / 3), true);
    }
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        sf.ids[sf.n++] = mk_event_full(venue, special[i][0], NULL, "Comedy", special[i][1],
                                       T0 + 100000 + (int64_t)i, true);
    sf.n_on_sale = sf.n;
    for (int i = 0; i < 3; i++)
        sf.ids[sf.n++] = mk_event_full(venue, "Draft show", NULL, "Music", NULL, T0 + 50, false);
    /* same titles elsewhere: never returned when filtering by city */
    mk_event_full(mk_venue(other), "100% Rock", NULL, "Music", NULL, T0 + 3600, true);
}

/* Pages through q with page size limit; returns the ids in order, checks
 * strict (starts_at, id) order and that only the last page ends the walk. */
static size_t search_all(adm_event_query_t q, size_t limit, int64_t *ids, size_t cap)
{
    adm_event_cursor_t next;
    size_t total = 0;
    int64_t last_start = 0, last_id = 0;

    q.limit = limit;
    memset(&q.after, 0, sizeof q.after);
    for (int page = 0; page < 100; page++) {
        adm_event_t *ev = NULL;
        size_t n = 0;

        CHECK_ERR(adm_store_event_search(st, fresh(), &q, &ev, &n, &next), ADM_OK);
        CHECK(n <= limit);
        CHECK((n == 0) == (ev == NULL));
        for (size_t i = 0; i < n; i++) {
            CHECK(ev[i].starts_at > last_start ||
                  (ev[i].starts_at == last_start && ev[i].id > last_id));
            last_start = ev[i].starts_at;
            last_id = ev[i].id;
            if (total < cap)
                ids[total] = ev[i].id;
            total++;
        }
        if (next.id == 0) {
            CHECK_INT(next.starts_at, 0);
            free(ev);
            break;
        }
        CHECK_INT(n, limit); /* only a full page has a next page */
        CHECK_INT(next.id, ev[n - 1].id);
        CHECK_INT(next.starts_at, ev[n - 1].starts_at);
        q.after = next;
        free(ev);
    }
    return total;
}

static bool has_id(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void test_search_pagination(void)
{
    adm_event_query_t q = {.city = sf.city};
    int64_t ids[64];
    char upper[ADM_STORE_CITY_MAX + 1];
    size_t n;

    /* every page size gives the same events, each once */
    for (size_t limit = 1; limit <= 22; limit += (limit < 8 ? 1 : 7)) {
        n = search_all(q, limit, ids, 64);
        CHECK_INT(n, sf.n_on_sale);
        for (size_t i = 0; i < sf.n_on_sale; i++)
            CHECK(has_id(ids, n, sf.ids[i]));
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                CHECK(ids[i] != ids[j]);
    }
    /* 21 = 3 pages of 7 exactly: the third page has no next */
    CHECK_INT(search_all(q, 7, ids, 64), 21);
    /* city is ASCII case-insensitive */
    for (size_t i = 0; i <= strlen(sf.city); i++)
        upper[i] = (char)(sf.city[i] >= 'a' && sf.city[i] <= 'z' ? sf.city[i] - 32 : sf.city[i]);
    q.city = upper;
    CHECK_INT(search_all(q, 20, ids, 64), sf.n_on_sale);
    q.all_statuses = true;
    CHECK_INT(search_all(q, 20, ids, 64), sf.n);
    for (size_t i = sf.n_on_sale; i < sf.n; i++)
        CHECK(has_id(ids, sf.n, sf.ids[i]));
}

static void test_search_filters(void)
{
    adm_event_query_t q = {.city = sf.city};
    adm_event_t *ev = NULL, one;
    adm_event_cursor_t next;
    int64_t ids[64];
    size_t n;

    q.category = "music"; /* stored as "Music" */
    n = search_all(q, 5, ids, 64);
    CHECK_INT(n, 6);
    for (size_t i = 0; i < n; i++) {
        CHECK_ERR(adm_store_event_get(st, fresh(), ids[i], &one), ADM_OK);
        CHECK_STR(one.category, "Music");
    }
    q.category = "COMEDY";
    CHECK_INT(search_all(q, 5, ids, 64), 8);
    q.category = NULL;

    /* date range: starts_from inclusive, starts_before exclusive */
    q.starts_from = T0 + 3600;
    q.starts_before = T0 + 3 * 3600;
    n = search_all(q, 100, ids, 64);
    CHECK_INT(n, 6); /* i = 5..10: (13 - i) / 3 is 1 or 2 */
    q.starts_from = T0 + 100000;
    q.starts_before = 0;
    CHECK_INT(search_all(q, 100, ids, 64), 8);
    q.starts_from = 0;

    /* free text: LIKE wildcards are literal; ASCII case-insensitive */
    q.text = "100%";
    n = search_all(q, 100, ids, 64);
    CHECK_INT(n, 1);
    CHECK_INT(ids[0], sf.ids[13]);
    q.text = "a_b";
    n = search_all(q, 100, ids, 64);
    CHECK_INT(n, 1);
    CHECK_INT(ids[0], sf.ids[15]);
    q.text = "bang!";
    n = search_all(q, 100, ids, 64);
    CHECK_INT(n, 1);
    CHECK_INT(ids[0], sf.ids[17]);
    q.text = "ROCK";
    CHECK_INT(search_all(q, 100, ids, 64), 2);
    q.text = "50%"; /* matches the description */
    n = search_all(q, 100, ids, 64);
    CHECK_INT(n, 1);
    CHECK_INT(ids[0], sf.ids[19]);
    q.text = "%";
    CHECK_INT(search_all(q, 100, ids, 64), 2);
    q.text = "_";
    CHECK_INT(search_all(q, 100, ids, 64), 1);
    q.text = "no such words anywhere";
    CHECK_ERR(adm_store_event_search(st, fresh(), &q, &ev, &n, &next), ADM_OK);
    CHECK(ev == NULL && n == 0 && next.id == 0);

    /* bounds of the query */
    q.text = NULL;
    q.limit = ADM_STORE_PAGE_MAX + 1;
    CHECK_ERR(adm_store_event_search(st, fresh(), &q, &ev, &n, &next),
              ADM_ERR_INVALID_ARG);
    q.limit = 0; /* default page */
    CHECK_ERR(adm_store_event_search(st, fresh(), &q, &ev, &n, &next), ADM_OK);
    CHECK_INT(n, ADM_STORE_PAGE_DEFAULT);
    free(ev);
    {
        char longtext[ADM_STORE_SEARCH_TEXT_MAX + 2];
        memset(longtext, '%', sizeof longtext);
        longtext[ADM_STORE_SEARCH_TEXT_MAX] = '\0';
        q.text = longtext; /* 100 escaped wildcards still fit the pattern */
        CHECK_ERR(adm_store_event_search(st, fresh(), &q, &ev, &n, &next), ADM_OK);
        CHECK_INT(n, 0);
        longtext[ADM_STORE_SEARCH_TEXT_MAX] = '%';
        longtext[ADM_STORE_SEARCH_TEXT_MAX + 1] = '\0';
        CHECK_ERR(adm_store_event_search(st, fresh(), &q, &ev, &n, &next),
                  ADM_ERR_TOO_BIG);
    }
}

/* ---- booking ---- */

static void test_purchase_flow(void)
{
    int64_t event = mk_event(), type = mk_type(event, 10), user = mk_user("buyer"),
            other = mk_user("other");
    adm_store_ticket_t *tickets = NULL, *unsigned_list = NULL, t;
    char ref[64], code[16], token[64];
    adm_availability_t a;
    adm_order_t o, o2;
    adm_hold_t h, h2;
    const char *ids[1];
    size_t n = 0, nu = 0;

    a = avail(type);
    CHECK_INT(a.type_id, type);
    CHECK_INT(a.capacity, 10);
    CHECK_INT(a.available, 10);

    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, T0, &h), ADM_OK);
    CHECK_INT(strlen(h.id), ADM_STORE_HOLD_ID_LEN);
    CHECK_INT(h.user_id, user);
    CHECK_INT(h.type_id, type);
    CHECK_INT(h.event_id, event);
    CHECK_INT(h.quantity, 3);
    CHECK_INT(h.state, ADM_HOLD_ACTIVE);
    CHECK_INT(h.created, T0);
    CHECK_INT(h.expires_at, T0 + 600);
    CHECK_INT(h.order_id, 0);
    a = avail(type);
    CHECK_INT(a.held, 3);
    CHECK_INT(a.available, 7);
    CHECK_ERR(adm_store_hold_get(st, user, h.id, &h2), ADM_OK);
    CHECK_STR(h2.id, h.id);
    CHECK_INT(h2.quantity, 3);

    /* someone else's hold does not exist for them */
    CHECK_ERR(adm_store_hold_get(st, other, h.id, &h2), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_hold_release(st, other, h.id, T0), ADM_ERR_NOT_FOUND);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, other, ids, 1, 0, T0, &o), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_hold_get(st, user, "00000000000000000000000000000000", &h2),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_hold_get(st, user, "not-a-hold-id", &h2), ADM_ERR_NOT_FOUND);

    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, T0 + 10, &o), ADM_OK);
    CHECK(o.id > 0);
    CHECK_INT(strlen(o.code), ADM_STORE_ORDER_CODE_LEN);
    CHECK(o.code[4] == '-');
    CHECK_INT(o.user_id, user);
    CHECK_INT(o.state, ADM_ORDER_PENDING);
    CHECK_INT(o.total, 3 * 2500);
    CHECK_STR(o.currency, "MYR");
    CHECK_INT(o.created, T0 + 10);
    CHECK_INT(o.expires_at, T0 + 10 + ADM_STORE_PAY_TTL_DEFAULT);
    CHECK_INT(o.paid_at, 0);
    CHECK_STR(o.provider, "");
    CHECK_INT(o.n_items, 1);
    CHECK_INT(o.items[0].type_id, type);
    CHECK_INT(o.items[0].event_id, event);
    CHECK_INT(o.items[0].quantity, 3);
    CHECK_INT(o.items[0].unit_price, 2500);
    CHECK_ERR(adm_store_hold_get(st, user, h.id, &h2), ADM_OK);
    CHECK_INT(h2.state, ADM_HOLD_CONVERTED);
    CHECK_INT(h2.order_id, o.id);
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, T0 + 10, &o2), ADM_ERR_STATE);
    CHECK_ERR(adm_store_hold_release(st, user, h.id, T0 + 10), ADM_ERR_STATE);
    a = avail(type); /* still held while pending */
    CHECK_INT(a.held, 3);
    CHECK_INT(a.sold, 0);

    make_ref(ref, sizeof ref);
    CHECK_ERR(adm_store_order_pay(st, o.id, "fpx", ref, T0 + 20, &o2), ADM_OK);
    CHECK_INT(o2.state, ADM_ORDER_PAID);
    CHECK_INT(o2.paid_at, T0 + 20);
    CHECK_STR(o2.provider, "fpx");
    CHECK_STR(o2.provider_ref, ref);
    CHECK_STR(o2.code, o.code);
    a = avail(type);
    CHECK_INT(a.sold, 3);
    CHECK_INT(a.held, 0);
    CHECK_INT(a.available, 7);
    /* a replayed callback is a no-op; anything else is not */
    CHECK_ERR(adm_store_order_pay(st, o.id, "fpx", ref, T0 + 30, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_pay(st, o.id, "fpx", "other-ref", T0 + 30, NULL), ADM_ERR_STATE);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, T0 + 30, NULL), ADM_ERR_STATE);
    CHECK_INT(avail(type).sold, 3);
    CHECK_ERR(adm_store_order_pay(st, MISSING(o.id), "fpx", "x", T0, NULL), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_order_pay(st, o.id, "FPX", ref, T0, NULL), ADM_ERR_INVALID_ARG);

    /* the provider reference belongs to that order */
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h2), ADM_OK);
    ids[0] = h2.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, T0, &o2), ADM_OK);
    CHECK_ERR(adm_store_order_pay(st, o2.id, "fpx", ref, T0, NULL), ADM_ERR_EXISTS);
    CHECK_INT(avail(type).held, 1);
    CHECK_ERR(adm_store_order_pay(st, o2.id, "card", ref, T0, NULL), ADM_OK);

    /* tickets: one per seat, valid, unsigned */
    CHECK_ERR(adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, user, o.id, &tickets, &n), ADM_OK);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        CHECK(tickets[i].id > 0);
        CHECK(i == 0 || tickets[i].id > tickets[i - 1].id);
        CHECK_INT(tickets[i].event_id, event);
        CHECK_INT(tickets[i].type_id, type);
        CHECK_INT(tickets[i].order_id, o.id);
        CHECK_INT(tickets[i].user_id, user);
        CHECK_INT(tickets[i].status, ADM_TICKET_VALID);
        CHECK_INT(tickets[i].key_id, 0);
        CHECK_STR(tickets[i].token, "");
    }
    CHECK_ERR(adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, other, o.id, &unsigned_list, &nu),
              ADM_ERR_NOT_FOUND);
    CHECK(unsigned_list == NULL);
    CHECK_ERR(adm_store_ticket_list_unsigned(st, ADM_STORE_PAGE_MAX, &unsigned_list, &nu), ADM_OK);
    if (nu < ADM_STORE_PAGE_MAX) /* else older unsigned tickets of others fill the page */
        for (size_t i = 0; i < n; i++) {
            bool found = false;
            for (size_t j = 0; j < nu; j++)
                found = found || unsigned_list[j].id == tickets[i].id;
            CHECK(found);
        }
    free(unsigned_list);
    for (size_t i = 0; i < n; i++) {
        snprintf(token, sizeof token, "AD1:TOKEN%zu-%s", i, run_id);
        CHECK_ERR(adm_store_ticket_set_token(st, tickets[i].id, 7, token), ADM_OK);
        CHECK_ERR(adm_store_ticket_set_token(st, tickets[i].id, 7, token), ADM_OK);
        CHECK_ERR(adm_store_ticket_set_token(st, tickets[i].id, 7, "AD1:DIFFERENT"),
                  ADM_ERR_EXISTS);
        CHECK_ERR(adm_store_ticket_get(st, ADM_READ_HINT_PRIMARY, tickets[i].id, &t), ADM_OK);
        CHECK_STR(t.token, token);
        CHECK_INT(t.key_id, 7);
    }
    CHECK_ERR(adm_store_ticket_set_token(st, tickets[0].id ^ 0x5a5a5a, 7, "AD1:X"),
              ADM_ERR_NOT_FOUND); /* 2^-63 odds that someone has that id */
    CHECK_ERR(adm_store_ticket_get(st, ADM_READ_HINT_PRIMARY, tickets[0].id ^ 0x5a5a5a, &t),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_ticket_set_token(st, tickets[0].id, 0, "AD1:X"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_ticket_list_unsigned(st, ADM_STORE_PAGE_MAX, &unsigned_list, &nu), ADM_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nu; j++)
            CHECK(unsigned_list[j].id != tickets[i].id);
    free(unsigned_list);
    free(tickets);

    /* lookups by code: case-insensitive, dash optional; owner checked */
    snprintf(code, sizeof code, "%.4s%.4s", o.code, o.code + 5);
    for (char *p = code; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    CHECK_ERR(adm_store_order_get_by_code(st, ADM_READ_HINT_PRIMARY, user, code, &o2), ADM_OK);
    CHECK_INT(o2.id, o.id);
    CHECK_INT(o2.n_items, 1);
    CHECK_ERR(adm_store_order_get_by_code(st, ADM_READ_HINT_PRIMARY, 0, o.code, &o2), ADM_OK);
    CHECK_ERR(adm_store_order_get_by_code(st, ADM_READ_HINT_PRIMARY, other, o.code, &o2),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_order_get_by_code(st, ADM_READ_HINT_PRIMARY, user, "UUUU-UUUU", &o2),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, other, o.id, &o2), ADM_ERR_NOT_FOUND);
    CHECK_INT(o2.id, 0);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_AFTER(""), user, o.id, &o2), ADM_OK);
    CHECK_INT(o2.state, ADM_ORDER_PAID);
}

static void test_multi_item_checkout(void)
{
    int64_t event = mk_event(), a = mk_type(event, 10),
            b = mk_type_full(event, "Balcony", 10, 1000, "MYR", 10, 0, 0, 0),
            sgd = mk_type_full(event, "Abroad", 10, 1000, "SGD", 10, 0, 0, 0),
            user = mk_user("multi");
    adm_hold_t h1, h2, h3;
    adm_order_t o;
    adm_type_sales_t *rows = NULL;
    size_t n = 0;
    const char *ids[3];
    char ref[64];

    CHECK_ERR(adm_store_hold_create(st, user, a, 2, 600, T0, &h1), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, b, 3, 600, T0, &h2), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, sgd, 1, 600, T0, &h3), ADM_OK);
    ids[0] = h1.id;
    ids[1] = h2.id;
    ids[2] = h3.id;
    /* mixed currencies: nothing changes */
    CHECK_ERR(adm_store_checkout(st, user, ids, 3, 0, T0, &o), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_hold_get(st, user, h1.id, &h1), ADM_OK);
    CHECK_INT(h1.state, ADM_HOLD_ACTIVE);
    /* duplicates are refused before any backend runs */
    ids[1] = h1.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 2, 0, T0, &o), ADM_ERR_INVALID_ARG);
    ids[1] = h2.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 2, 60, T0, &o), ADM_OK);
    CHECK_INT(o.n_items, 2);
    CHECK_INT(o.total, 2 * 2500 + 3 * 1000);
    CHECK_INT(o.expires_at, T0 + 60);
    CHECK_INT(o.items[0].type_id, a);
    CHECK_INT(o.items[1].type_id, b);
    make_ref(ref, sizeof ref);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, T0 + 59, &o), ADM_OK);
    CHECK_INT(avail(a).sold, 2);
    CHECK_INT(avail(b).sold, 3);
    CHECK_ERR(adm_store_sales_by_type(st, ADM_READ_HINT_PRIMARY, event, &rows, &n), ADM_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(rows[0].type_id, a);
        CHECK_INT(rows[0].sold, 2);
        CHECK_INT(rows[0].revenue, 5000);
        CHECK_STR(rows[0].name, "General");
        CHECK_INT(rows[1].revenue, 3000);
        CHECK_INT(rows[2].held, 1);
        CHECK_INT(rows[2].revenue, 0);
        CHECK_STR(rows[2].currency, "SGD");
        CHECK_INT(rows[2].capacity, 10);
    }
    free(rows);
    CHECK_ERR(adm_store_sales_by_type(st, ADM_READ_HINT_PRIMARY, MISSING(event), &rows, &n),
              ADM_ERR_NOT_FOUND);
}

static void test_order_list(void)
{
    int64_t event = mk_event(), type = mk_type(event, 50), user = mk_user("lister");
    adm_order_t o, *list = NULL;
    int64_t ids[5];
    size_t n = 0;

    for (int i = 0; i < 5; i++) {
        CHECK_ERR(buy(user, type, 1 + i % 2, T0 + i, &o), ADM_OK);
        ids[i] = o.id;
    }
    CHECK_ERR(adm_store_order_list(st, ADM_READ_HINT_PRIMARY, user, 0, 2, &list, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(list[0].id, ids[4]);
        CHECK_INT(list[1].id, ids[3]);
        CHECK_INT(list[0].n_items, 1);
        CHECK_INT(list[0].items[0].quantity, 1);
        CHECK_INT(list[1].items[0].quantity, 2);
    }
    free(list);
    CHECK_ERR(adm_store_order_list(st, ADM_READ_HINT_PRIMARY, user, ids[3], 2, &list, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(list[0].id, ids[2]);
        CHECK_INT(list[1].id, ids[1]);
    }
    free(list);
    CHECK_ERR(adm_store_order_list(st, ADM_READ_HINT_PRIMARY, user, ids[1], 2, &list, &n), ADM_OK);
    CHECK_INT(n, 1);
    free(list);
    CHECK_ERR(adm_store_order_list(st, ADM_READ_HINT_PRIMARY, user, ids[0], 2, &list, &n), ADM_OK);
    CHECK(n == 0 && list == NULL);
    CHECK_ERR(adm_store_order_list(st, ADM_READ_HINT_PRIMARY, mk_user("nobody"), 0, 0, &list, &n),
              ADM_OK);
    CHECK(n == 0 && list == NULL);
}

static void test_limits(void)
{
    int64_t event = mk_event(), type = mk_type_full(event, "Limited", 100, 100, "MYR", 4, 6, 0, 0),
            user = mk_user("limits"), other = mk_user("limits");
    adm_hold_t h1, h2, h3;
    adm_order_t o;

    CHECK_ERR(adm_store_hold_create(st, user, type, 5, 600, T0, &h1), ADM_ERR_LIMIT);
    CHECK_ERR(adm_store_hold_create(st, user, type, ADM_STORE_QUANTITY_MAX + 1, 600, T0, &h1),
              ADM_ERR_LIMIT);
    CHECK_ERR(adm_store_hold_create(st, user, type, 0, 600, T0, &h1), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_hold_create(st, user, type, 4, 600, T0, &h1), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, T0, &h2), ADM_ERR_LIMIT);
    CHECK_INT(avail(type).held, 4);
    CHECK_ERR(adm_store_hold_create(st, user, type, 2, 600, T0, &h2), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h3), ADM_ERR_LIMIT);
    CHECK_ERR(adm_store_hold_create(st, other, type, 4, 600, T0, &h3), ADM_OK); /* per customer */
    /* released seats no longer count */
    CHECK_ERR(adm_store_hold_release(st, user, h2.id, T0 + 1), ADM_OK);
    CHECK_ERR(adm_store_hold_get(st, user, h2.id, &h2), ADM_OK);
    CHECK_INT(h2.state, ADM_HOLD_RELEASED);
    CHECK_ERR(adm_store_hold_release(st, user, h2.id, T0 + 1), ADM_ERR_STATE);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h2), ADM_OK);
    CHECK_ERR(adm_store_hold_release(st, user, h2.id, T0 + 1), ADM_OK);
    /* bought seats count as well */
    CHECK_ERR(adm_store_hold_release(st, user, h1.id, T0 + 1), ADM_OK);
    CHECK_ERR(buy(user, type, 4, T0 + 2, &o), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, T0 + 3, &h1), ADM_ERR_LIMIT);
    CHECK_ERR(buy(user, type, 2, T0 + 3, &o), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0 + 3, &h1), ADM_ERR_LIMIT);
    /* ... until refunded */
    CHECK_ERR(adm_store_order_refund(st, o.id, T0 + 4, NULL), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 2, 600, T0 + 4, &h1), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, MISSING(user), type, 1, 600, T0, &h1), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_hold_create(st, user, MISSING(type), 1, 600, T0, &h1), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, ADM_STORE_HOLD_TTL_MAX + 1, T0, &h1),
              ADM_ERR_INVALID_ARG);
}

static void test_sale_window(void)
{
    int64_t event = mk_event(),
            type = mk_type_full(event, "Early", 10, 100, "MYR", 10, 0, T0 + 100, T0 + 200),
            open_end = mk_type_full(event, "Late", 10, 100, "MYR", 10, 0, T0 + 100, 0),
            user = mk_user("window");
    adm_hold_t h;

    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0 + 99, &h), ADM_ERR_SALE_CLOSED);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0 + 100, &h), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0 + 199, &h), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0 + 200, &h), ADM_ERR_SALE_CLOSED);
    CHECK_ERR(adm_store_hold_create(st, user, open_end, 1, 60, T0 + 99, &h), ADM_ERR_SALE_CLOSED);
    CHECK_ERR(adm_store_hold_create(st, user, open_end, 1, 60, T0 + 9999999, &h), ADM_OK);
}

static void test_not_on_sale(void)
{
    char city[ADM_STORE_CITY_MAX + 1];
    int64_t event, type, user = mk_user("paused");
    adm_hold_t h;
    adm_order_t o;
    const char *ids[1];
    char ref[64];

    unique_city(city, sizeof city, "Kuching");
    event = mk_event_full(mk_venue(city), "Soon", NULL, "", NULL, T0 + 999, false);
    type = mk_type(event, 10);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0, &h), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0, &h), ADM_OK);
    /* paused between hold and checkout */
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_DRAFT, T0), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, T0, &o), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_OK);
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, T0, &o), ADM_OK);
    /* paused between checkout and payment */
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_DRAFT, T0), ADM_OK);
    make_ref(ref, sizeof ref);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, T0, NULL), ADM_ERR_STATE);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ON_SALE, T0), ADM_OK);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, T0, NULL), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, event, ADM_EVENT_ENDED, T0), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 60, T0, &h), ADM_ERR_STATE);
}

static void test_sold_out(void)
{
    int64_t event = mk_event(), type = mk_type(event, 5), user = mk_user("soldout");
    adm_ticket_type_spec_t spec = {
        .name = "General", .price = 2500, .currency = "MYR", .capacity = 6, .per_order_max = 10};
    adm_hold_t h;
    adm_order_t o;

    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, T0, &h), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, T0, &h), ADM_ERR_SOLD_OUT);
    CHECK_ERR(buy(user, type, 2, T0, &o), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h), ADM_ERR_SOLD_OUT);
    CHECK_INT(avail(type).available, 0);
    CHECK_INT(avail(type).sold, 2);
    CHECK_INT(avail(type).held, 3);
    CHECK_ERR(adm_store_ticket_type_update(st, type, &spec, T0), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h), ADM_ERR_SOLD_OUT);
    /* capacity 0: nothing to sell */
    type = mk_type(event, 0);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, T0, &h), ADM_ERR_SOLD_OUT);
}

/* ---- expiry ---- */

static void test_hold_expiry_lazy(void)
{
    int64_t event = mk_event(), type = mk_type(event, 4), user = mk_user("lazy"),
            other = mk_user("lazy");
    const int64_t t = T0 + 1000;
    adm_hold_t h1, h2;
    adm_order_t o;
    const char *ids[1];

    CHECK_ERR(adm_store_hold_create(st, user, type, 4, 60, t, &h1), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, other, type, 1, 60, t + 59, &h2), ADM_ERR_SOLD_OUT);
    /* at expires_at the hold is over; the next hold on the type releases it */
    CHECK_INT(avail(type).held, 4); /* counted until released: never over-reports */
    CHECK_ERR(adm_store_hold_create(st, other, type, 1, 60, t + 60, &h2), ADM_OK);
    CHECK_INT(avail(type).held, 1);
    CHECK_ERR(adm_store_hold_get(st, user, h1.id, &h1), ADM_OK);
    CHECK_INT(h1.state, ADM_HOLD_EXPIRED);
    ids[0] = h1.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, t + 60, &o), ADM_ERR_EXPIRED);
    CHECK_ERR(adm_store_hold_release(st, user, h1.id, t + 60), ADM_ERR_EXPIRED);
    /* active but past expiry: checkout refuses and changes nothing */
    ids[0] = h2.id;
    CHECK_ERR(adm_store_checkout(st, other, ids, 1, 0, t + 120, &o), ADM_ERR_EXPIRED);
    CHECK_ERR(adm_store_hold_get(st, other, h2.id, &h2), ADM_OK);
    CHECK_INT(h2.state, ADM_HOLD_ACTIVE);
    CHECK_INT(avail(type).held, 1);
    /* releasing it says EXPIRED and still gives the seat back */
    CHECK_ERR(adm_store_hold_release(st, other, h2.id, t + 120), ADM_ERR_EXPIRED);
    CHECK_INT(avail(type).held, 0);
    CHECK_ERR(adm_store_hold_get(st, other, h2.id, &h2), ADM_OK);
    CHECK_INT(h2.state, ADM_HOLD_EXPIRED);
    CHECK_ERR(adm_store_hold_release(st, other, h2.id, t + 120), ADM_ERR_EXPIRED);
    CHECK_INT(avail(type).held, 0);
}

static void test_reaper(void)
{
    int64_t event = mk_event(), type = mk_type(event, 10), user = mk_user("reap");
    const int64_t t = TP + 2000; /* reaping in 2001 touches no live row of anyone */
    adm_reap_stats_t stats;
    adm_hold_t h1, h2, h3;
    adm_order_t o, o2;
    const char *ids[1];
    size_t released = 0;
    char ref[64];

    CHECK_ERR(adm_store_hold_create(st, user, type, 2, 10, t, &h1), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 20, t, &h2), ADM_OK);
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 30, t, &h3), ADM_OK);
    ids[0] = h3.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 15, t, &o), ADM_OK); /* pay by t + 15 */
    CHECK_INT(avail(type).held, 6);
    CHECK_ERR(adm_store_reap_holds(st, t + 9, &released), ADM_OK);
    CHECK_INT(avail(type).held, 6);
    CHECK_ERR(adm_store_reap_holds(st, t + 10, &released), ADM_OK);
    CHECK(released >= 1);
    CHECK_INT(avail(type).held, 4);
    CHECK_ERR(adm_store_hold_get(st, user, h1.id, &h1), ADM_OK);
    CHECK_INT(h1.state, ADM_HOLD_EXPIRED);
    /* the pending order expires at its payment deadline */
    make_ref(ref, sizeof ref);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, t + 15, NULL), ADM_ERR_EXPIRED);
    CHECK_ERR(adm_store_reap(st, t + 20, &stats), ADM_OK);
    CHECK(stats.holds >= 1);
    CHECK(stats.orders >= 1);
    CHECK_INT(avail(type).held, 0);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o.id, &o2), ADM_OK);
    CHECK_INT(o2.state, ADM_ORDER_EXPIRED);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, t + 16, NULL), ADM_ERR_STATE);
    CHECK_ERR(adm_store_order_cancel(st, user, o.id, t + 16), ADM_ERR_STATE);
    CHECK_ERR(adm_store_hold_get(st, user, h2.id, &h2), ADM_OK);
    CHECK_INT(h2.state, ADM_HOLD_EXPIRED);
    /* reaping again changes nothing */
    CHECK_ERR(adm_store_reap_holds(st, t + 20, NULL), ADM_OK);
    CHECK_INT(avail(type).held, 0);
    CHECK_INT(avail(type).sold, 0);
    CHECK_ERR(adm_store_reap(st, t + 20, NULL), ADM_OK);
}

/* A pending order's deadline moves later (a bank transfer), never earlier;
 * the reaper keeps to the new deadline. Runs in 2001 like test_reaper. */
static void test_order_extend(void)
{
    int64_t event = mk_event(), type = mk_type(event, 10), user = mk_user("extend");
    const int64_t t = TP + 5000;
    const int64_t later = t + 3 * 86400;
    adm_hold_t h;
    adm_order_t o, o2, got;
    const char *ids[1];
    char ref[64];

    CHECK_ERR(adm_store_hold_create(st, user, type, 2, 600, t, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, t, &o), ADM_OK);
    CHECK_INT(o.expires_at, t + ADM_STORE_PAY_TTL_DEFAULT);
    CHECK_ERR(adm_store_order_extend(st, o.id, later, t + 10, &got), ADM_OK);
    CHECK_INT(got.id, o.id);
    CHECK_INT(got.state, ADM_ORDER_PENDING);
    CHECK_INT(got.expires_at, later);
    CHECK_INT(got.updated, t + 10);
    CHECK_INT(got.n_items, 1);
    /* never shortens: an earlier or equal deadline changes nothing */
    CHECK_ERR(adm_store_order_extend(st, o.id, t + 86400, t + 20, &got), ADM_OK);
    CHECK_INT(got.expires_at, later);
    CHECK_INT(got.updated, t + 10);
    CHECK_ERR(adm_store_order_extend(st, o.id, later, t + 20, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o.id, &got), ADM_OK);
    CHECK_INT(got.expires_at, later);
    CHECK_INT(got.updated, t + 10);
    /* bounds: after now, within ADM_STORE_PAY_TTL_MAX */
    CHECK_ERR(adm_store_order_extend(st, o.id, t + 20, t + 20, &got), ADM_ERR_INVALID_ARG);
    CHECK_INT(got.id, 0);
    CHECK_ERR(adm_store_order_extend(st, o.id, t + 20 + ADM_STORE_PAY_TTL_MAX + 1, t + 20, NULL),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_order_extend(st, o.id, t + 20 + ADM_STORE_PAY_TTL_MAX, t + 20, NULL),
              ADM_OK);
    CHECK_ERR(adm_store_order_extend(st, MISSING(o.id), later, t + 20, NULL), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_order_extend(st, 0, later, t + 20, NULL), ADM_ERR_INVALID_ARG);

    /* the reaper past the checkout deadline leaves it pending, seats held */
    CHECK_ERR(adm_store_reap_holds(st, t + 1000, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o.id, &got), ADM_OK);
    CHECK_INT(got.state, ADM_ORDER_PENDING);
    CHECK_INT(avail(type).held, 2);
    /* and it can be paid then; a paid order is not extended */
    make_ref(ref, sizeof ref);
    CHECK_ERR(adm_store_order_pay(st, o.id, "manual", ref, t + 2 * 86400, NULL), ADM_OK);
    CHECK_INT(avail(type).sold, 2);
    CHECK_INT(avail(type).held, 0);
    CHECK_ERR(adm_store_order_extend(st, o.id, t + 4 * 86400, t + 2 * 86400, &got), ADM_ERR_STATE);
    CHECK_INT(got.id, 0);

    /* past its deadline it is not extended (pay would refuse it too), and the
     * reaper expires it */
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, t, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 10, t, &o2), ADM_OK);
    CHECK_ERR(adm_store_order_extend(st, o2.id, later, t + 10, NULL), ADM_ERR_EXPIRED);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o2.id, &got), ADM_OK);
    CHECK_INT(got.expires_at, t + 10);
    CHECK_ERR(adm_store_reap_holds(st, t + 11, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o2.id, &got), ADM_OK);
    CHECK_INT(got.state, ADM_ORDER_EXPIRED);
    CHECK_ERR(adm_store_order_extend(st, o2.id, later, t + 11, NULL), ADM_ERR_STATE);
    /* a cancelled order is not extended */
    CHECK_ERR(adm_store_hold_create(st, user, type, 1, 600, t, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, t, &o2), ADM_OK);
    CHECK_ERR(adm_store_order_cancel(st, user, o2.id, t + 1), ADM_OK);
    CHECK_ERR(adm_store_order_extend(st, o2.id, later, t + 1, NULL), ADM_ERR_STATE);
    CHECK_INT(avail(type).held, 0);

    /* an extended order expires at its new deadline */
    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, t, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, t, &o2), ADM_OK);
    CHECK_ERR(adm_store_order_extend(st, o2.id, t + 5000, t + 1, NULL), ADM_OK);
    CHECK_ERR(adm_store_reap_holds(st, t + 4999, NULL), ADM_OK);
    CHECK_INT(avail(type).held, 3);
    CHECK_ERR(adm_store_reap_holds(st, t + 5000, NULL), ADM_OK);
    CHECK_INT(avail(type).held, 0);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o2.id, &got), ADM_OK);
    CHECK_INT(got.state, ADM_ORDER_EXPIRED);
}

/* ---- cancel, refund, revocation ---- */

static void test_cancel(void)
{
    int64_t event = mk_event(), type = mk_type(event, 10), user = mk_user("cancel"),
            other = mk_user("cancel");
    adm_hold_t h;
    adm_order_t o, paid;
    const char *ids[1];
    char ref[64];

    CHECK_ERR(adm_store_hold_create(st, user, type, 3, 600, T0, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 0, T0, &o), ADM_OK);
    CHECK_ERR(adm_store_order_refund(st, o.id, T0, NULL), ADM_ERR_STATE);
    CHECK_ERR(adm_store_order_cancel(st, other, o.id, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_order_cancel(st, user, o.id, T0 + 1), ADM_OK);
    CHECK_INT(avail(type).held, 0);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, 0, o.id, &o), ADM_OK);
    CHECK_INT(o.state, ADM_ORDER_CANCELLED);
    CHECK_INT(o.updated, T0 + 1);
    CHECK_ERR(adm_store_order_cancel(st, user, o.id, T0 + 1), ADM_ERR_STATE);
    make_ref(ref, sizeof ref);
    CHECK_ERR(adm_store_order_pay(st, o.id, "card", ref, T0 + 1, NULL), ADM_ERR_STATE);
    CHECK_ERR(adm_store_order_refund(st, o.id, T0 + 1, NULL), ADM_ERR_STATE);
    CHECK_INT(avail(type).held, 0);

    /* an expired, unreaped order can still be cancelled (organiser: user 0) */
    CHECK_ERR(adm_store_hold_create(st, user, type, 2, 600, T0, &h), ADM_OK);
    ids[0] = h.id;
    CHECK_ERR(adm_store_checkout(st, user, ids, 1, 10, T0, &o), ADM_OK);
    CHECK_ERR(adm_store_order_cancel(st, 0, o.id, T0 + 11), ADM_OK);
    CHECK_INT(avail(type).held, 0);
    /* paid orders are refunded, not cancelled */
    CHECK_ERR(buy(user, type, 1, T0, &paid), ADM_OK);
    CHECK_ERR(adm_store_order_cancel(st, user, paid.id, T0), ADM_ERR_STATE);
    CHECK_ERR(adm_store_order_cancel(st, user, MISSING(paid.id), T0), ADM_ERR_NOT_FOUND);
}

static void test_refund_and_revocations(void)
{
    int64_t event = mk_event(), type = mk_type(event, 10), user = mk_user("refund");
    adm_store_ticket_t *tickets = NULL, t;
    adm_revocation_t *revs = NULL;
    adm_order_t o1, o2;
    adm_event_t e;
    size_t n = 0, nr = 0, revoked = 0;
    int64_t seq = 0;

    CHECK_ERR(buy(user, type, 3, T0, &o1), ADM_OK);
    CHECK_ERR(buy(user, type, 2, T0, &o2), ADM_OK);
    CHECK_INT(avail(type).sold, 5);
    CHECK_ERR(adm_store_revocations_since(st, fresh(), event, 0, 0, &revs, &nr), ADM_OK);
    CHECK(nr == 0 && revs == NULL);

    /* single revoke: seat stays sold */
    CHECK_ERR(adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, 0, o2.id, &tickets, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n != 2)
        return;
    CHECK_ERR(adm_store_ticket_revoke(st, tickets[0].id, T0 + 5, &seq), ADM_OK);
    CHECK_INT(seq, 1);
    CHECK_ERR(adm_store_ticket_revoke(st, tickets[0].id, T0 + 5, &seq), ADM_ERR_STATE);
    CHECK_INT(seq, 0);
    CHECK_ERR(adm_store_ticket_revoke(st, tickets[0].id ^ 0x5a5a5a, T0, NULL), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_ticket_get(st, ADM_READ_HINT_PRIMARY, tickets[0].id, &t), ADM_OK);
    CHECK_INT(t.status, ADM_TICKET_REVOKED);
    CHECK_INT(t.revoked_at, T0 + 5);
    CHECK_INT(avail(type).sold, 5);

    /* refund: every still-valid ticket is revoked, seats leave sold */
    CHECK_ERR(adm_store_order_refund(st, o1.id, T0 + 6, &revoked), ADM_OK);
    CHECK_INT(revoked, 3);
    CHECK_INT(avail(type).sold, 2);
    CHECK_ERR(adm_store_order_refund(st, o1.id, T0 + 6, &revoked), ADM_ERR_STATE);
    CHECK_INT(revoked, 0);
    CHECK_ERR(adm_store_order_refund(st, o2.id, T0 + 7, &revoked), ADM_OK);
    CHECK_INT(revoked, 1); /* one was revoked already */
    CHECK_INT(avail(type).sold, 0);
    CHECK_ERR(adm_store_order_get(st, ADM_READ_HINT_PRIMARY, user, o2.id, &o2), ADM_OK);
    CHECK_INT(o2.state, ADM_ORDER_REFUNDED);
    CHECK_INT(o2.paid_at, T0);
    CHECK_ERR(adm_store_order_refund(st, MISSING(o2.id), T0, NULL), ADM_ERR_NOT_FOUND);
    free(tickets);
    CHECK_ERR(adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, user, o1.id, &tickets, &n),
              ADM_OK);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(tickets[i].status, ADM_TICKET_REVOKED);
        CHECK_INT(tickets[i].revoked_at, T0 + 6);
    }
    free(tickets);

    /* the list grows by seq; the cursor and the limit page through it */
    CHECK_ERR(adm_store_event_get(st, ADM_READ_HINT_PRIMARY, event, &e), ADM_OK);
    CHECK_INT(e.revocation_seq, 5);
    CHECK_ERR(adm_store_revocations_since(st, fresh(), event, 0, 0, &revs, &nr), ADM_OK);
    CHECK_INT(nr, 5);
    for (size_t i = 0; i < nr; i++)
        CHECK_INT(revs[i].seq, (int64_t)i + 1);
    if (nr == 5) {
        CHECK_INT(revs[0].revoked_at, T0 + 5);
        CHECK_INT(revs[4].revoked_at, T0 + 7);
        for (size_t i = 0; i < nr; i++)
            for (size_t j = i + 1; j < nr; j++)
                CHECK(revs[i].ticket_id != revs[j].ticket_id);
    }
    free(revs);
    CHECK_ERR(adm_store_revocations_since(st, fresh(), event, 3, 0, &revs, &nr), ADM_OK);
    CHECK_INT(nr, 2);
    if (nr == 2)
        CHECK_INT(revs[0].seq, 4);
    free(revs);
    CHECK_ERR(adm_store_revocations_since(st, fresh(), event, 1, 2, &revs, &nr), ADM_OK);
    CHECK_INT(nr, 2);
    if (nr == 2)
        CHECK_INT(revs[1].seq, 3);
    free(revs);
    CHECK_ERR(adm_store_revocations_since(st, fresh(), event, 5, 0, &revs, &nr), ADM_OK);
    CHECK(nr == 0 && revs == NULL);
    CHECK_ERR(adm_store_revocations_since(st, ADM_READ_HINT_ANY, MISSING(event), 0, 0, &revs, &nr),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_revocations_since(st, fresh(), event, 0,
                                          ADM_STORE_REVOCATIONS_PAGE_MAX + 1, &revs, &nr),
              ADM_ERR_INVALID_ARG);
    /* sequences are per event */
    {
        int64_t ev2 = mk_event(), ty2 = mk_type(ev2, 5);
        adm_store_ticket_t *t2 = NULL;
        size_t n2 = 0;
        CHECK_ERR(buy(user, ty2, 1, T0, &o1), ADM_OK);
        CHECK_ERR(adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, user, o1.id, &t2, &n2),
                  ADM_OK);
        if (n2 == 1) {
            CHECK_ERR(adm_store_ticket_revoke(st, t2[0].id, T0, &seq), ADM_OK);
            CHECK_INT(seq, 1);
        }
        free(t2);
    }
}

/* ---- accounts ---- */

static void test_users(void)
{
    char email[128], lower[128];
    adm_user_spec_t u = {.email = email,
                         .password_hash = "hash-1",
                         .display_name = "Siti",
                         .role = ADM_ROLE_ORGANISER};
    adm_user_t got;
    int64_t id = 0, id2 = 0;

    snprintf(email, sizeof email, "Siti.%s@Example.TEST", run_id);
    for (size_t i = 0; i <= strlen(email); i++)
        lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
    CHECK_ERR(adm_store_user_create(st, &u, T0, &id), ADM_OK);
    CHECK(id > 0);
    u.email = lower;
    CHECK_ERR(adm_store_user_create(st, &u, T0, &id2), ADM_ERR_EXISTS);
    CHECK_INT(id2, 0);
    CHECK_ERR(adm_store_user_get(st, ADM_READ_HINT_PRIMARY, id, &got), ADM_OK);
    CHECK_STR(got.email, lower);
    CHECK_STR(got.display_name, "Siti");
    CHECK_STR(got.password_hash, "hash-1");
    CHECK_INT(got.role, ADM_ROLE_ORGANISER);
    CHECK_INT(got.created, T0);
    CHECK_ERR(adm_store_user_find_email(st, email, &got), ADM_OK);
    CHECK_INT(got.id, id);
    CHECK_ERR(adm_store_user_set_password(st, id, "hash-2"), ADM_OK);
    CHECK_ERR(adm_store_user_find_email(st, lower, &got), ADM_OK);
    CHECK_STR(got.password_hash, "hash-2");
    CHECK_ERR(adm_store_user_set_password(st, MISSING(id), "hash-3"), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_user_get(st, ADM_READ_HINT_ANY, MISSING(id), &got), ADM_ERR_NOT_FOUND);
    CHECK_INT(got.id, 0);
    snprintf(email, sizeof email, "nobody.%s@example.test", run_id);
    CHECK_ERR(adm_store_user_find_email(st, email, &got), ADM_ERR_NOT_FOUND);
}

static void test_sessions(void)
{
    int64_t user = mk_user("session");
    uint8_t h1[ADM_STORE_SESSION_HASH_BYTES], h2[ADM_STORE_SESSION_HASH_BYTES];
    adm_reap_stats_t stats;
    adm_session_t s;

    randombytes_buf(h1, sizeof h1);
    randombytes_buf(h2, sizeof h2);
    CHECK_ERR(adm_store_session_create(st, h1, user, T0, T0 + 100), ADM_OK);
    CHECK_ERR(adm_store_session_create(st, h1, user, T0, T0 + 100), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_session_create(st, h2, MISSING(user), T0, T0 + 100), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_session_create(st, h2, user, T0, T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_session_lookup(st, h1, T0 + 99, &s), ADM_OK);
    CHECK_INT(s.user_id, user);
    CHECK_INT(s.role, ADM_ROLE_CUSTOMER);
    CHECK_INT(s.created, T0);
    CHECK_INT(s.expires_at, T0 + 100);
    CHECK_ERR(adm_store_session_lookup(st, h1, T0 + 100, &s), ADM_ERR_EXPIRED);
    CHECK_INT(s.user_id, 0);
    CHECK_ERR(adm_store_session_lookup(st, h2, T0, &s), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_session_create(st, h2, user, T0, T0 + 1000), ADM_OK);
    CHECK_ERR(adm_store_session_delete(st, h2), ADM_OK);
    CHECK_ERR(adm_store_session_delete(st, h2), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_session_lookup(st, h2, T0, &s), ADM_ERR_NOT_FOUND);
    /* the reaper deletes expired sessions (in 2001: see the top of the file) */
    CHECK_ERR(adm_store_session_create(st, h2, user, TP, TP + 100), ADM_OK);
    CHECK_ERR(adm_store_reap(st, TP + 99, &stats), ADM_OK);
    CHECK_ERR(adm_store_session_lookup(st, h2, TP + 99, &s), ADM_OK);
    CHECK_ERR(adm_store_reap(st, TP + 100, &stats), ADM_OK);
    CHECK(stats.sessions >= 1);
    CHECK_ERR(adm_store_session_lookup(st, h2, TP, &s), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_session_lookup(st, h1, T0 + 100, &s), ADM_ERR_EXPIRED);
}

/* ---- idempotency ---- */

static void test_idempotency(void)
{
    char scope[64], key[64];
    static const char body[] = "{\"id\":1}\0tail"; /* binary-safe: holds a NUL */
    adm_reap_stats_t stats;
    adm_idem_t rec;

    snprintf(scope, sizeof scope, "u:%s", run_id);
    snprintf(key, sizeof key, "k-%d", next_serial());
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0, &rec), ADM_ERR_NOT_FOUND);
    CHECK(rec.body == NULL);
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp-1", 0, NULL, 0, T0), ADM_OK);
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp-2", 0, NULL, 0, T0 + 1), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + 1, &rec), ADM_OK);
    CHECK_INT(rec.status, 0);
    CHECK_STR(rec.fingerprint, "fp-1");
    CHECK_INT(rec.body_len, 0);
    CHECK(rec.body != NULL && rec.body[0] == '\0');
    CHECK_INT(rec.created, T0);
    free(rec.body);
    CHECK_ERR(adm_store_idem_complete(st, scope, key, 201, body, sizeof body, T0 + 2), ADM_OK);
    CHECK_ERR(adm_store_idem_complete(st, scope, key, 500, "x", 1, T0 + 2), ADM_ERR_STATE);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + 3, &rec), ADM_OK);
    CHECK_INT(rec.status, 201);
    CHECK_INT(rec.body_len, sizeof body);
    if (rec.body_len == sizeof body)
        CHECK_MEM(rec.body, body, sizeof body);
    free(rec.body);
    CHECK_ERR(adm_store_idem_complete(st, scope, "never-put", 200, NULL, 0, T0), ADM_ERR_NOT_FOUND);

    /* a server error releases the reservation: the same key runs again */
    snprintf(key, sizeof key, "k-%d", next_serial());
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp-1", 0, NULL, 0, T0), ADM_OK);
    CHECK_ERR(adm_store_idem_complete(st, scope, key, 503, "busy", 4, T0 + 1), ADM_OK);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + 2, &rec), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp-1", 0, NULL, 0, T0 + 2), ADM_OK);
    CHECK_ERR(adm_store_idem_complete(st, scope, key, 201, "{}", 2, T0 + 3), ADM_OK);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + 3, &rec), ADM_OK);
    CHECK_INT(rec.status, 201);
    free(rec.body);
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp", 99, NULL, 0, T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_idem_put(st, scope, "has space", "fp", 0, NULL, 0, T0),
              ADM_ERR_INVALID_ARG);

    /* a stored response in one go */
    snprintf(key, sizeof key, "k-%d", next_serial());
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp", 200, "ok", 2, T0), ADM_OK);
    CHECK_ERR(adm_store_idem_complete(st, scope, key, 200, "ok", 2, T0), ADM_ERR_STATE);

    /* past the TTL the record is gone for every call, and may be reused */
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + ADM_STORE_IDEM_TTL_S - 1, &rec), ADM_OK);
    free(rec.body);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + ADM_STORE_IDEM_TTL_S, &rec),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp-new", 0, NULL, 0, T0 + ADM_STORE_IDEM_TTL_S),
              ADM_OK);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0 + ADM_STORE_IDEM_TTL_S, &rec), ADM_OK);
    CHECK_STR(rec.fingerprint, "fp-new");
    free(rec.body);

    /* the reaper deletes old records */
    snprintf(key, sizeof key, "k-%d", next_serial());
    CHECK_ERR(adm_store_idem_put(st, scope, key, "fp", 200, NULL, 0, TP), ADM_OK);
    CHECK_ERR(adm_store_reap(st, TP + ADM_STORE_IDEM_TTL_S - 1, &stats), ADM_OK);
    CHECK_ERR(adm_store_idem_get(st, scope, key, TP, &rec), ADM_OK);
    free(rec.body);
    CHECK_ERR(adm_store_reap(st, TP + ADM_STORE_IDEM_TTL_S, &stats), ADM_OK);
    CHECK(stats.idempotency >= 1);
    CHECK_ERR(adm_store_idem_get(st, scope, key, TP, &rec), ADM_ERR_NOT_FOUND);
}

#define IDEM_THREADS 8

typedef struct idem_race {
    const char *scope, *key;
    int index;
    adm_err_t result;
} idem_race_t;

static void *idem_racer(void *p)
{
    idem_race_t *r = p;
    char fp[32];

    snprintf(fp, sizeof fp, "fp-%d", r->index);
    r->result = adm_store_idem_put(st, r->scope, r->key, fp, 0, NULL, 0, T0);
    return NULL;
}

static void test_idempotency_first_writer_wins(void)
{
    idem_race_t races[IDEM_THREADS];
    pthread_t threads[IDEM_THREADS];
    char scope[64], key[64], fp[32];
    int ok = 0, exists = 0, winner = -1;
    adm_idem_t rec;

    snprintf(scope, sizeof scope, "race:%s", run_id);
    snprintf(key, sizeof key, "k-%d", next_serial());
    for (int i = 0; i < IDEM_THREADS; i++) {
        races[i] = (idem_race_t){.scope = scope, .key = key, .index = i};
        CHECK_INT(pthread_create(&threads[i], NULL, idem_racer, &races[i]), 0);
    }
    for (int i = 0; i < IDEM_THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (races[i].result == ADM_OK) {
            ok++;
            winner = i;
        } else {
            CHECK_ERR(races[i].result, ADM_ERR_EXISTS);
            exists++;
        }
    }
    CHECK_INT(ok, 1);
    CHECK_INT(exists, IDEM_THREADS - 1);
    CHECK_ERR(adm_store_idem_get(st, scope, key, T0, &rec), ADM_OK);
    snprintf(fp, sizeof fp, "fp-%d", winner);
    CHECK_STR(rec.fingerprint, fp);
    free(rec.body);
}

/* ---- event keys ---- */

static void test_event_keys(void)
{
    int64_t event = mk_event();
    uint8_t seed1[ADM_KEY_SEED_BYTES], seed2[ADM_KEY_SEED_BYTES];
    adm_event_key_t *keys = NULL;
    uint32_t kid1, kid2;
    size_t n = 0;

    randombytes_buf(seed1, sizeof seed1);
    randombytes_buf(seed2, sizeof seed2);
    do {
        kid1 = randombytes_random();
        kid2 = randombytes_random();
    } while (kid1 == 0 || kid2 == 0 || kid1 == kid2);
    CHECK_ERR(adm_store_event_key_add(st, event, kid1, seed1, T0), ADM_OK);
    CHECK_ERR(adm_store_event_key_add(st, event, kid2, seed2, T0 + 1), ADM_OK);
    CHECK_ERR(adm_store_event_key_add(st, event, kid1, seed2, T0 + 2), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_event_key_add(st, mk_event(), kid1, seed2, T0 + 2), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_event_key_add(st, MISSING(event), kid1 ^ 1, seed1, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_event_key_list(st, ADM_READ_HINT_PRIMARY, event, &keys, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(keys[0].kid, kid1);
        CHECK_INT(keys[0].event_id, event);
        CHECK_MEM(keys[0].seed, seed1, sizeof seed1);
        CHECK_INT(keys[0].created, T0);
        CHECK(!keys[0].retired);
        CHECK_INT(keys[0].retired_at, 0);
        CHECK_INT(keys[1].kid, kid2);
        CHECK_MEM(keys[1].seed, seed2, sizeof seed2);
    }
    adm_store_event_keys_free(keys, n);
    CHECK_ERR(adm_store_event_key_retire(st, event, kid1, T0 + 10), ADM_OK);
    CHECK_ERR(adm_store_event_key_retire(st, event, kid1, T0 + 20), ADM_OK);
    CHECK_ERR(adm_store_event_key_retire(st, MISSING(event), kid1, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_event_key_retire(st, event, kid1 ^ 0x80000000u, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_event_key_list(st, ADM_READ_HINT_PRIMARY, event, &keys, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK(keys[0].retired);
        CHECK_INT(keys[0].retired_at, T0 + 10);
        CHECK(!keys[1].retired);
    }
    adm_store_event_keys_free(keys, n);
    CHECK_ERR(adm_store_event_key_list(st, ADM_READ_HINT_PRIMARY, MISSING(event), &keys, &n),
              ADM_ERR_NOT_FOUND);
    CHECK(keys == NULL && n == 0);
    sodium_memzero(seed1, sizeof seed1);
    sodium_memzero(seed2, sizeof seed2);
}

/* A random key id (non-zero) not in taken[0..n). */
static uint32_t fresh_kid(const uint32_t *taken, size_t n)
{
    uint32_t kid;
    size_t i;

    for (;;) {
        kid = randombytes_random();
        for (i = 0; i < n && taken[i] != kid; i++)
            ;
        if (kid != 0 && i == n)
            return kid;
    }
}

struct first_key_race {
    adm_store_t *s;
    int64_t event;
    uint32_t kid;
    adm_err_t rc;
    pthread_barrier_t *go;
};

static void *first_key_main(void *arg)
{
    struct first_key_race *r = arg;
    uint8_t seed[ADM_KEY_SEED_BYTES];

    randombytes_buf(seed, sizeof seed);
    pthread_barrier_wait(r->go);
    r->rc = adm_store_event_key_add_first(r->s, r->event, r->kid, seed, T0);
    sodium_memzero(seed, sizeof seed);
    return NULL;
}

/* event_key_add_first stores a key only while the event has no active one,
 * also when many connections (two stores: as two admitd processes) race. */
static void test_event_key_add_first(void)
{
    enum { N = 8 };
    int64_t event = mk_event(), other = mk_event(), racy = mk_event();
    uint8_t seed[ADM_KEY_SEED_BYTES];
    uint32_t kids[N + 4];
    struct first_key_race r[N];
    pthread_t th[N];
    pthread_barrier_t go;
    adm_event_key_t *keys = NULL;
    adm_store_t *st2 = NULL;
    size_t n = 0, i, won = 0;

    randombytes_buf(seed, sizeof seed);
    for (i = 0; i < N + 4; i++)
        kids[i] = fresh_kid(kids, i);
    CHECK_ERR(adm_store_event_key_add_first(st, event, kids[0], seed, T0), ADM_OK);
    CHECK_ERR(adm_store_event_key_add_first(st, event, kids[1], seed, T0 + 1), ADM_ERR_EXISTS);
    /* a kid another event holds is refused as by event_key_add */
    CHECK_ERR(adm_store_event_key_add_first(st, other, kids[0], seed, T0), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_event_key_add_first(st, MISSING(event), kids[1], seed, T0),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_event_key_add_first(st, event, 0, seed, T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_event_key_add_first(st, event, kids[1], NULL, T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_event_key_list(st, ADM_READ_HINT_PRIMARY, event, &keys, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(keys[0].kid, kids[0]);
        CHECK_MEM(keys[0].seed, seed, sizeof seed);
        CHECK_INT(keys[0].created, T0);
    }
    adm_store_event_keys_free(keys, n);
    /* rotation (plain add) still adds; once every key is retired the next
     * add_first is the successor, and only one */
    CHECK_ERR(adm_store_event_key_add(st, event, kids[1], seed, T0 + 2), ADM_OK);
    CHECK_ERR(adm_store_event_key_retire(st, event, kids[0], T0 + 3), ADM_OK);
    CHECK_ERR(adm_store_event_key_add_first(st, event, kids[2], seed, T0 + 3), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_event_key_retire(st, event, kids[1], T0 + 3), ADM_OK);
    CHECK_ERR(adm_store_event_key_add_first(st, event, kids[2], seed, T0 + 4), ADM_OK);
    CHECK_ERR(adm_store_event_key_add_first(st, event, kids[3], seed, T0 + 5), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_event_key_list(st, ADM_READ_HINT_PRIMARY, event, &keys, &n), ADM_OK);
    CHECK_INT(n, 3);
    adm_store_event_keys_free(keys, n);

    /* N threads on two stores race for one event's first key: exactly one wins */
    CHECK_ERR(open_store(&st2), ADM_OK);
    if (st2 == NULL)
        goto out;
    pthread_barrier_init(&go, NULL, N);
    for (i = 0; i < N; i++) {
        r[i] = (struct first_key_race){
            .s = i % 2 ? st2 : st, .event = racy, .kid = kids[4 + i], .go = &go};
        CHECK_INT(pthread_create(&th[i], NULL, first_key_main, &r[i]), 0);
    }
    for (i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (i = 0; i < N; i++) {
        if (r[i].rc == ADM_OK)
            won++;
        else
            CHECK_ERR(r[i].rc, ADM_ERR_EXISTS);
    }
    CHECK_INT(won, 1);
    CHECK_ERR(adm_store_event_key_list(st, ADM_READ_HINT_PRIMARY, racy, &keys, &n), ADM_OK);
    CHECK_INT(n, 1);
    for (i = 0; i < N && n == 1; i++)
        if (r[i].rc == ADM_OK)
            CHECK_INT(keys[0].kid, r[i].kid);
    adm_store_event_keys_free(keys, n);
out:
    adm_store_close(st2);
    sodium_memzero(seed, sizeof seed);
}

/* ---- sync: check-in lists, devices, scans, mirror, settings ---- */

/* A new random nonce (32 lower-case hex digits). */
static void mk_nonce(char out[ADM_STORE_NONCE_LEN + 1])
{
    uint8_t raw[ADM_STORE_NONCE_LEN / 2];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, ADM_STORE_NONCE_LEN + 1, raw, sizeof raw);
}

/* A new random device id "dv_" + 16 hex digits. */
static void mk_device_id(char out[ADM_STORE_DEVICE_ID_LEN + 1])
{
    uint8_t raw[8];
    char hex[17];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(out, ADM_STORE_DEVICE_ID_LEN + 1, "dv_%s", hex);
}

/* A scan and the nonce it borrows. */
typedef struct scan_buf {
    char nonce[ADM_STORE_NONCE_LEN + 1];
    adm_scan_t s;
} scan_buf_t;

/* Fills b with a new scan (fresh nonce; the verdict's name as its reason). */
static adm_scan_t *mk_scan(scan_buf_t *b, int64_t ticket, int64_t list, int64_t at,
                           adm_direction_t dir, adm_verdict_t v, const char *gate)
{
    mk_nonce(b->nonce);
    b->s = (adm_scan_t){.nonce = b->nonce,
                        .device = "dv_test",
                        .ticket_id = ticket,
                        .list_id = list,
                        .at = at,
                        .gate = gate,
                        .direction = dir,
                        .verdict = v,
                        .reason = v == ADM_VERDICT_ACCEPT ? "ok" : adm_verdict_name(v),
                        .attention = false,
                        .text_hash = ""};
    return &b->s;
}

static adm_scan_t *entry(scan_buf_t *b, int64_t ticket, int64_t list, int64_t at)
{
    return mk_scan(b, ticket, list, at, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "North");
}

static adm_scan_t *exit_scan(scan_buf_t *b, int64_t ticket, int64_t list, int64_t at)
{
    return mk_scan(b, ticket, list, at, ADM_DIRECTION_EXIT, ADM_VERDICT_ACCEPT, "North");
}

/* Uploads scans b[0..n) of event (as device "dv_up") into r; returns the result. */
static adm_err_t upload(int64_t event, scan_buf_t *b, size_t n, adm_checkin_result_t *r)
{
    adm_scan_t scans[16];

    CHECK(n <= 16);
    for (size_t i = 0; i < n && i < 16; i++)
        scans[i] = b[i].s;
    return adm_store_checkins_add(st, event, "dv_up", scans, n, false, T0 + 1000, r);
}

static int64_t mk_list(int64_t event, const char *name, adm_reentry_t reentry)
{
    adm_checkin_list_spec_t l = {.event_id = event, .name = name, .reentry = reentry};
    int64_t id = 0;

    CHECK_ERR(adm_store_checkin_list_create(st, &l, T0, &id), ADM_OK);
    CHECK(id > 0);
    return id;
}

/* The conflict flag of the stored row with seq (event's rows, read back fresh). */
static bool conflict_of(int64_t event, int64_t seq)
{
    adm_checkin_query_t q = {.event_id = event, .after_seq = seq - 1, .limit = 1};
    adm_checkin_t *rows = NULL;
    size_t n = 0;
    bool result = false;

    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(rows[0].seq, seq);
        result = rows[0].conflict;
    }
    free(rows);
    return result;
}

static void test_checkin_lists(void)
{
    int64_t event = mk_event(), other = mk_event(), t1 = mk_type(event, 10),
            t2 = mk_type(event, 10), id1 = 0, id2 = 0, id3;
    int64_t types[] = {t2, t1}, dup_types[] = {t1, t1};
    const char *gates[] = {"North", "Süd"}, *dup_gates[] = {"North", "North"};
    char long_gate[ADM_STORE_GATE_MAX + 2];
    adm_checkin_list_spec_t spec = {.event_id = event,
                                    .name = "Main",
                                    .reentry = ADM_REENTRY_ONCE,
                                    .types = types,
                                    .n_types = 2,
                                    .gates = gates,
                                    .n_gates = 2};
    adm_checkin_list_spec_t bad;
    adm_checkin_list_t *lists = NULL, put;
    size_t n = 0;

    CHECK_ERR(adm_store_checkin_list_create(st, &spec, T0, &id1), ADM_OK);
    CHECK(id1 > 0);
    id2 = mk_list(event, "VIP", ADM_REENTRY_AFTER_EXIT);
    CHECK(id2 > id1);
    CHECK_ERR(adm_store_checkin_list_list(st, fresh(), event, &lists, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(lists[0].id, id1);
        CHECK_INT(lists[0].event_id, event);
        CHECK_STR(lists[0].name, "Main");
        CHECK_INT(lists[0].reentry, ADM_REENTRY_ONCE);
        CHECK_INT(lists[0].n_types, 2);
        CHECK_INT(lists[0].types[0], t2); /* in the order given */
        CHECK_INT(lists[0].types[1], t1);
        CHECK_INT(lists[0].n_gates, 2);
        CHECK_STR(lists[0].gates[0], "North");
        CHECK_STR(lists[0].gates[1], "Süd");
        CHECK_INT(lists[0].created, T0);
        CHECK_INT(lists[1].id, id2);
        CHECK_STR(lists[1].name, "VIP");
        CHECK_INT(lists[1].reentry, ADM_REENTRY_AFTER_EXIT);
        CHECK_INT(lists[1].n_types, 0);
        CHECK_INT(lists[1].n_gates, 0);
    }
    free(lists);
    CHECK_ERR(adm_store_checkin_list_list(st, fresh(), other, &lists, &n), ADM_OK);
    CHECK(lists == NULL && n == 0);

    /* bad specs */
    memset(long_gate, 'g', sizeof long_gate - 1);
    long_gate[sizeof long_gate - 1] = '\0';
    bad = spec;
    bad.types = dup_types;
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_INVALID_ARG);
    CHECK_INT(id3, 0);
    bad = spec;
    bad.gates = dup_gates;
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_INVALID_ARG);
    bad = spec;
    gates[1] = "";
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_INVALID_ARG);
    gates[1] = long_gate;
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_TOO_BIG);
    gates[1] = "Süd";
    bad.reentry = ADM_REENTRY__MAX;
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_INVALID_ARG);
    bad = spec;
    bad.name = "";
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_INVALID_ARG);
    bad = spec;
    bad.n_types = ADM_STORE_TYPES_MAX + 1;
    CHECK_ERR(adm_store_checkin_list_create(st, &bad, T0, &id3), ADM_ERR_INVALID_ARG);

    /* put replaces list id1 whole, and inserts a list with an id of its own */
    memset(&put, 0, sizeof put);
    put.id = id1;
    put.event_id = event;
    snprintf(put.name, sizeof put.name, "Main (mirrored)");
    put.reentry = ADM_REENTRY_UNLIMITED;
    put.n_types = 1;
    put.types[0] = t1;
    put.n_gates = 1;
    snprintf(put.gates[0], sizeof put.gates[0], "East");
    put.created = T0 - 5;
    CHECK_ERR(adm_store_checkin_list_put(st, &put), ADM_OK);
    CHECK_ERR(adm_store_checkin_list_put(st, &put), ADM_OK); /* again: same result */
    put.id = id3 = id2 + 1000;
    put.n_types = 0;
    put.n_gates = 0;
    CHECK_ERR(adm_store_checkin_list_put(st, &put), ADM_OK);
    put.n_gates = 2;
    snprintf(put.gates[1], sizeof put.gates[1], "East");
    CHECK_ERR(adm_store_checkin_list_put(st, &put), ADM_ERR_INVALID_ARG); /* duplicate gate */
    put.n_gates = 0;
    put.id = 0;
    CHECK_ERR(adm_store_checkin_list_put(st, &put), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_checkin_list_list(st, fresh(), event, &lists, &n), ADM_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(lists[0].id, id1);
        CHECK_STR(lists[0].name, "Main (mirrored)");
        CHECK_INT(lists[0].reentry, ADM_REENTRY_UNLIMITED);
        CHECK_INT(lists[0].n_types, 1);
        CHECK_INT(lists[0].types[0], t1);
        CHECK_INT(lists[0].n_gates, 1);
        CHECK_STR(lists[0].gates[0], "East");
        CHECK_INT(lists[0].created, T0 - 5);
        CHECK_INT(lists[1].id, id2);
        CHECK_INT(lists[2].id, id3);
        CHECK_INT(lists[2].n_gates, 0);
    }
    free(lists);

    /* at most ADM_STORE_CHECKIN_LISTS_MAX per event, by create and by put */
    for (int i = 0; i < ADM_STORE_CHECKIN_LISTS_MAX; i++) {
        adm_checkin_list_spec_t l = {.event_id = other, .name = "L"};
        CHECK_ERR(adm_store_checkin_list_create(st, &l, T0, &id3), ADM_OK);
    }
    spec.event_id = other;
    CHECK_ERR(adm_store_checkin_list_create(st, &spec, T0, &id3), ADM_ERR_LIMIT);
    put.id = id2 + 2000;
    put.event_id = other;
    CHECK_ERR(adm_store_checkin_list_put(st, &put), ADM_ERR_LIMIT);
    CHECK_ERR(adm_store_checkin_list_list(st, fresh(), other, &lists, &n), ADM_OK);
    CHECK_INT(n, ADM_STORE_CHECKIN_LISTS_MAX);
    free(lists);
}

static void test_enrollment_devices(void)
{
    int64_t event = mk_event(), other = mk_event();
    uint8_t tok1[32], tok2[32], tok3[32], tok4[32], secret[32];
    char dev1[ADM_STORE_DEVICE_ID_LEN + 1], dev2[ADM_STORE_DEVICE_ID_LEN + 1],
        dev3[ADM_STORE_DEVICE_ID_LEN + 1];
    adm_enrollment_spec_t e = {
        .event_id = event, .gate = "North", .kind = ADM_DEVICE_GATE, .expires_at = T0 + 3600};
    adm_device_t d, *devs = NULL;
    adm_scan_t s;
    scan_buf_t b;
    size_t n = 0;

    randombytes_buf(tok1, sizeof tok1);
    randombytes_buf(tok2, sizeof tok2);
    randombytes_buf(tok3, sizeof tok3);
    randombytes_buf(tok4, sizeof tok4);
    randombytes_buf(secret, sizeof secret);
    mk_device_id(dev1);
    mk_device_id(dev2);
    mk_device_id(dev3);

    CHECK_ERR(adm_store_enrollment_create(st, tok1, &e, T0), ADM_OK);
    CHECK_ERR(adm_store_enrollment_create(st, tok1, &e, T0), ADM_ERR_EXISTS);
    e.expires_at = T0;
    CHECK_ERR(adm_store_enrollment_create(st, tok2, &e, T0), ADM_ERR_INVALID_ARG);
    e.expires_at = T0 + 100;
    e.gate = "";
    CHECK_ERR(adm_store_enrollment_create(st, tok2, &e, T0), ADM_ERR_INVALID_ARG);
    e.gate = "South";
    CHECK_ERR(adm_store_enrollment_create(st, tok2, &e, T0), ADM_OK); /* expires at T0 + 100 */
    e.kind = ADM_DEVICE_RELAY;
    e.expires_at = T0 + 3600;
    CHECK_ERR(adm_store_enrollment_create(st, tok3, &e, T0), ADM_OK);

    /* trade tok1 */
    CHECK_ERR(adm_store_device_enroll(st, tok1, dev1, secret, "handheld 3", T0 + 10, &d), ADM_OK);
    CHECK_STR(d.id, dev1);
    CHECK_INT(d.event_id, event);
    CHECK_STR(d.name, "handheld 3");
    CHECK_STR(d.gate, "North");
    CHECK_INT(d.kind, ADM_DEVICE_GATE);
    CHECK_MEM(d.secret_hash, secret, sizeof secret);
    CHECK_INT(d.created, T0 + 10);
    CHECK_INT(d.last_seen, 0);
    CHECK_INT(d.revoked_at, 0);
    /* used twice, expired, unknown */
    CHECK_ERR(adm_store_device_enroll(st, tok1, dev2, secret, "", T0 + 11, &d), ADM_ERR_STATE);
    CHECK_STR(d.id, "");
    CHECK_ERR(adm_store_device_enroll(st, tok2, dev2, secret, "", T0 + 100, &d), ADM_ERR_EXPIRED);
    CHECK_ERR(adm_store_device_enroll(st, tok4, dev2, secret, "", T0 + 11, &d), ADM_ERR_NOT_FOUND);
    /* a taken device id leaves the token unused */
    CHECK_ERR(adm_store_device_enroll(st, tok3, dev1, secret, "", T0 + 20, &d), ADM_ERR_EXISTS);
    CHECK_ERR(adm_store_device_enroll(st, tok3, dev3, secret, NULL, T0 + 20, &d), ADM_OK);
    CHECK_INT(d.kind, ADM_DEVICE_RELAY);
    CHECK_STR(d.gate, "South");
    CHECK_STR(d.name, "");
    /* bad device ids */
    CHECK_ERR(adm_store_device_enroll(st, tok2, "dv_short", secret, "", T0 + 1, &d),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_device_enroll(st, tok2, "dv_0123456789abcdef0", secret, "", T0 + 1, &d),
              ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_store_device_enroll(st, tok2, "dv 0123456789abcdef", secret, "", T0 + 1, &d),
              ADM_ERR_INVALID_ARG);

    /* get, list */
    CHECK_ERR(adm_store_device_get(st, dev1, &d), ADM_OK);
    CHECK_STR(d.id, dev1);
    CHECK_STR(d.name, "handheld 3");
    CHECK_MEM(d.secret_hash, secret, sizeof secret);
    CHECK_ERR(adm_store_device_get(st, dev2, &d), ADM_ERR_NOT_FOUND);
    CHECK_STR(d.id, "");
    CHECK_ERR(adm_store_device_get(st, "no such id!", &d), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_device_list(st, fresh(), event, &devs, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(devs[0].id, dev1); /* by creation */
        CHECK_STR(devs[1].id, dev3);
        CHECK_INT(devs[1].kind, ADM_DEVICE_RELAY);
    }
    free(devs);
    CHECK_ERR(adm_store_device_list(st, fresh(), other, &devs, &n), ADM_OK);
    CHECK(devs == NULL && n == 0);

    /* an upload notes its uploader */
    s = *entry(&b, 1, 1, T0);
    CHECK_ERR(adm_store_checkins_add(st, event, dev3, &s, 1, false, T0 + 50, NULL), ADM_OK);
    CHECK_ERR(adm_store_device_get(st, dev3, &d), ADM_OK);
    CHECK_INT(d.last_seen, T0 + 50);
    CHECK_ERR(adm_store_device_get(st, dev1, &d), ADM_OK);
    CHECK_INT(d.last_seen, 0);

    /* revoke: idempotent, the first time stays */
    CHECK_ERR(adm_store_device_revoke(st, dev1, T0 + 30), ADM_OK);
    CHECK_ERR(adm_store_device_revoke(st, dev1, T0 + 40), ADM_OK);
    CHECK_ERR(adm_store_device_get(st, dev1, &d), ADM_OK);
    CHECK_INT(d.revoked_at, T0 + 30);
    CHECK_ERR(adm_store_device_revoke(st, dev2, T0 + 30), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_device_get(st, dev3, &d), ADM_OK);
    CHECK_INT(d.revoked_at, 0);
}

static void test_checkins_idempotent(void)
{
    int64_t event = mk_event(), list = mk_list(event, "Main", ADM_REENTRY_ONCE);
    adm_checkin_query_t q = {.event_id = event};
    adm_checkin_result_t r[4], r2[4];
    adm_checkin_t *rows = NULL;
    scan_buf_t b[4];
    size_t n = 0;

    entry(&b[0], 1, list, T0);
    mk_scan(&b[1], 2, list, T0 + 1, ADM_DIRECTION_EXIT, ADM_VERDICT_NOT_INSIDE, "Süd");
    mk_scan(&b[2], 0, list, T0 + 2, ADM_DIRECTION_ENTRY, ADM_VERDICT_MALFORMED, "North");
    b[0].s.attention = true;
    b[0].s.text_hash = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    b[0].s.device = "dv_gate_1";
    CHECK_ERR(upload(event, b, 3, r), ADM_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(r[i].stored);
        CHECK(r[i].seq > 0);
        CHECK(!r[i].conflict);
        if (i > 0)
            CHECK(r[i].seq > r[i - 1].seq);
    }
    /* the same batch again: all duplicates with their seqs, nothing new */
    CHECK_ERR(upload(event, b, 3, r2), ADM_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(!r2[i].stored);
        CHECK_INT(r2[i].seq, r[i].seq);
        CHECK(!r2[i].conflict);
    }
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(rows[0].seq, r[0].seq);
        CHECK_INT(rows[0].event_id, event);
        CHECK_STR(rows[0].nonce, b[0].nonce);
        CHECK_STR(rows[0].device, "dv_gate_1");
        CHECK_STR(rows[0].uploader, "dv_up");
        CHECK_INT(rows[0].ticket_id, 1);
        CHECK_INT(rows[0].list_id, list);
        CHECK_INT(rows[0].at, T0);
        CHECK_STR(rows[0].gate, "North");
        CHECK_INT(rows[0].direction, ADM_DIRECTION_ENTRY);
        CHECK_INT(rows[0].verdict, ADM_VERDICT_ACCEPT);
        CHECK_STR(rows[0].reason, "ok");
        CHECK(rows[0].attention);
        CHECK_STR(rows[0].text_hash, b[0].s.text_hash);
        CHECK(!rows[0].conflict);
        CHECK(!rows[0].upstream_done);
        CHECK_INT(rows[0].received_at, T0 + 1000);
        CHECK_STR(rows[1].gate, "Süd");
        CHECK_INT(rows[1].direction, ADM_DIRECTION_EXIT);
        CHECK_INT(rows[1].verdict, ADM_VERDICT_NOT_INSIDE);
        CHECK_STR(rows[1].reason, "not_inside");
        CHECK(!rows[1].attention);
        CHECK_STR(rows[1].text_hash, "");
        CHECK_INT(rows[2].ticket_id, 0);
        CHECK_INT(rows[2].verdict, ADM_VERDICT_MALFORMED);
    }
    free(rows);
    /* an old row and a new one; a nonce twice in one batch */
    b[1] = b[0];
    b[1].s.nonce = b[1].nonce;
    entry(&b[2], 3, list, T0 + 3);
    b[3] = b[2];
    b[3].s.nonce = b[3].nonce;
    CHECK_ERR(upload(event, &b[1], 3, r2), ADM_OK);
    CHECK(!r2[0].stored);
    CHECK_INT(r2[0].seq, r[0].seq);
    CHECK(r2[1].stored);
    CHECK(r2[1].seq > r[2].seq);
    CHECK(!r2[2].stored);
    CHECK_INT(r2[2].seq, r2[1].seq);
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 4);
    free(rows);
    /* results may be NULL */
    CHECK_ERR(adm_store_checkins_add(st, event, "", &b[0].s, 1, false, T0, NULL), ADM_OK);
}

static void test_checkin_conflicts(void)
{
    int64_t event = mk_event(), once = mk_list(event, "Once", ADM_REENTRY_ONCE),
            after = mk_list(event, "After exit", ADM_REENTRY_AFTER_EXIT),
            unlimited = mk_list(event, "Unlimited", ADM_REENTRY_UNLIMITED),
            unknown = MISSING(unlimited);
    adm_checkin_query_t q = {.event_id = event, .conflicts_only = true};
    adm_checkin_result_t r[8], r2[8];
    adm_checkin_t *rows = NULL;
    scan_buf_t b[8], c[8];
    size_t n = 0;

    /* once: the second entry conflicts */
    entry(&b[0], 10, once, T0 + 100);
    entry(&b[1], 10, once, T0 + 200);
    CHECK_ERR(upload(event, b, 2, r), ADM_OK);
    CHECK(!r[0].conflict);
    CHECK(r[1].conflict);
    /* the earliest entry arrives last: it wins, the row stored first is flagged */
    entry(&c[0], 10, once, T0 + 50);
    exit_scan(&c[1], 10, once, T0 + 300); /* exits never conflict */
    entry(&c[2], 10, once, T0 + 400);
    CHECK_ERR(upload(event, c, 3, r2), ADM_OK);
    CHECK(r2[0].stored && !r2[0].conflict);
    CHECK(r2[1].stored && !r2[1].conflict);
    CHECK(r2[2].stored && r2[2].conflict);
    CHECK(conflict_of(event, r[0].seq));
    CHECK(conflict_of(event, r[1].seq));
    /* a duplicate reports the row's current flag */
    CHECK_ERR(upload(event, b, 1, r2), ADM_OK);
    CHECK(!r2[0].stored);
    CHECK(r2[0].conflict);

    /* after_exit: an entry while inside conflicts; an exit lets in again */
    entry(&b[0], 20, after, T0 + 350);
    entry(&b[1], 20, after, T0 + 150);
    exit_scan(&b[2], 20, after, T0 + 200);
    entry(&b[3], 20, after, T0 + 100);
    entry(&b[4], 20, after, T0 + 300);
    CHECK_ERR(upload(event, b, 5, r), ADM_OK);
    CHECK(r[0].conflict);  /* 350: inside since 300 */
    CHECK(r[1].conflict);  /* 150: inside since 100 */
    CHECK(!r[2].conflict); /* 200: exit */
    CHECK(!r[3].conflict); /* 100 */
    CHECK(!r[4].conflict); /* 300 */
    /* a late exit at 120 makes 150 a valid re-entry */
    exit_scan(&c[0], 20, after, T0 + 120);
    CHECK_ERR(upload(event, c, 1, r2), ADM_OK);
    CHECK(!r2[0].conflict);
    CHECK(!conflict_of(event, r[1].seq));
    CHECK(conflict_of(event, r[0].seq));

    /* unlimited: never; a list id without a stored list counts as once */
    entry(&b[0], 30, unlimited, T0 + 100);
    entry(&b[1], 30, unlimited, T0 + 200);
    entry(&b[2], 30, unlimited, T0 + 300);
    entry(&b[3], 40, unknown, T0 + 100);
    entry(&b[4], 40, unknown, T0 + 200);
    /* the same ticket on another list, and refused scans, are independent */
    entry(&b[5], 30, once, T0 + 100);
    mk_scan(&b[6], 30, once, T0 + 150, ADM_DIRECTION_ENTRY, ADM_VERDICT_ALREADY_USED, "North");
    mk_scan(&b[7], 41, unknown, T0 + 50, ADM_DIRECTION_ENTRY, ADM_VERDICT_REVOKED, "North");
    CHECK_ERR(upload(event, b, 8, r), ADM_OK);
    CHECK(!r[0].conflict && !r[1].conflict && !r[2].conflict);
    CHECK(!r[3].conflict);
    CHECK(r[4].conflict);
    CHECK(!r[5].conflict && !r[6].conflict && !r[7].conflict);

    /* the conflict listing: by seq, accepted entries only */
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 5); /* once: 100, 200, 400; after_exit: 350; unknown list: 200 */
    for (size_t i = 0; i < n; i++) {
        CHECK(rows[i].conflict);
        CHECK_INT(rows[i].verdict, ADM_VERDICT_ACCEPT);
        CHECK_INT(rows[i].direction, ADM_DIRECTION_ENTRY);
        if (i > 0)
            CHECK(rows[i].seq > rows[i - 1].seq);
    }
    free(rows);
}

static void test_checkins_feed(void)
{
    int64_t event = mk_event(), other = mk_event(), list = mk_list(event, "Main", ADM_REENTRY_ONCE),
            seq = -1, marks[2];
    adm_checkin_query_t q = {.event_id = event};
    adm_checkin_result_t r[4];
    adm_checkin_t *rows = NULL;
    adm_scan_t s;
    scan_buf_t b[4];
    size_t n = 0;

    CHECK_ERR(adm_store_checkins_last_seq(st, fresh(), event, &seq), ADM_OK);
    CHECK_INT(seq, 0);
    entry(&b[0], 1, list, T0);
    mk_scan(&b[1], 2, list, T0, ADM_DIRECTION_ENTRY, ADM_VERDICT_REVOKED, "North");
    exit_scan(&b[2], 1, list, T0 + 1);
    CHECK_ERR(upload(event, b, 3, r), ADM_OK);
    mk_scan(&b[3], 3, list, T0 + 2, ADM_DIRECTION_ENTRY, ADM_VERDICT_EXPIRED, "North");
    CHECK_ERR(upload(event, &b[3], 1, &r[3]), ADM_OK);
    s = *entry(&b[0], 1, list, T0); /* another event's rows stay apart */
    CHECK_ERR(adm_store_checkins_add(st, other, "", &s, 1, false, T0, NULL), ADM_OK);

    CHECK_ERR(adm_store_checkins_last_seq(st, fresh(), event, &seq), ADM_OK);
    CHECK_INT(seq, r[2].seq); /* refused scans do not move it */
    q.accepted_only = true;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(rows[0].seq, r[0].seq);
        CHECK_INT(rows[1].seq, r[2].seq);
    }
    free(rows);
    q.not_uploader = "dv_up"; /* the uploader's own feed leaves its rows out */
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 0);
    free(rows);
    q.not_uploader = "dv_other";
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 2);
    free(rows);
    q.not_uploader = NULL;
    q.after_seq = r[0].seq;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    free(rows);
    q.after_seq = 0;
    q.limit = 1;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(rows[0].seq, r[0].seq);
    free(rows);
    q.limit = 0;
    q.accepted_only = false;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 4); /* refused scans are stored */
    free(rows);

    /* the upload queue of an edge */
    q.upstream_pending = true;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 4);
    free(rows);
    marks[0] = r[0].seq;
    marks[1] = r[1].seq;
    CHECK_ERR(adm_store_checkins_mark_upstream(st, marks, 2), ADM_OK);
    CHECK_ERR(adm_store_checkins_mark_upstream(st, marks, 2), ADM_OK);
    CHECK_ERR(adm_store_checkins_mark_upstream(st, NULL, 0), ADM_OK);
    marks[1] = 0;
    CHECK_ERR(adm_store_checkins_mark_upstream(st, marks, 2), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(rows[0].seq, r[2].seq);
        CHECK_INT(rows[1].seq, r[3].seq);
        CHECK(!rows[0].upstream_done);
    }
    free(rows);
    q.accepted_only = true;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    free(rows);
    /* rows an edge takes from its upstream's feed are not queued */
    s = *entry(&b[0], 5, list, T0 + 5);
    CHECK_ERR(adm_store_checkins_add(st, event, "upstream", &s, 1, true, T0, r), ADM_OK);
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    free(rows);
    q.upstream_pending = false;
    q.after_seq = r[0].seq - 1;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK(rows[0].upstream_done);
        CHECK_STR(rows[0].uploader, "upstream");
    }
    free(rows);
    CHECK_ERR(adm_store_checkins_last_seq(st, fresh(), event, &seq), ADM_OK);
    CHECK_INT(seq, r[0].seq);
    q.limit = ADM_STORE_CHECKINS_PAGE_MAX + 1;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_ERR_INVALID_ARG);
}

/* One ticket's scans (a crew's lookup at the gate): by seq, combined with
 * the other filters, other tickets and other events apart. */
static void test_checkins_by_ticket(void)
{
    int64_t event = mk_event(), other = mk_event(), list = mk_list(event, "Main", ADM_REENTRY_ONCE);
    adm_checkin_query_t q = {.event_id = event, .ticket_id = 77};
    adm_checkin_result_t r[5];
    adm_checkin_t *rows = NULL;
    adm_scan_t s;
    scan_buf_t b[5];
    size_t n = 0;

    entry(&b[0], 77, list, T0 + 10);
    entry(&b[1], 78, list, T0 + 11);
    mk_scan(&b[2], 77, list, T0 + 12, ADM_DIRECTION_ENTRY, ADM_VERDICT_ALREADY_USED, "South");
    exit_scan(&b[3], 77, list, T0 + 13);
    entry(&b[4], 77, list, T0 + 5); /* the earliest entry, stored last: the other conflicts */
    CHECK_ERR(upload(event, b, 5, r), ADM_OK);
    s = *entry(&b[0], 77, list, T0); /* the same ticket id at another event stays apart */
    CHECK_ERR(adm_store_checkins_add(st, other, "", &s, 1, false, T0, NULL), ADM_OK);

    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 4);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(rows[i].ticket_id, 77);
        CHECK_INT(rows[i].event_id, event);
        if (i > 0)
            CHECK(rows[i].seq > rows[i - 1].seq);
    }
    free(rows);
    q.accepted_only = true;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(rows[0].seq, r[0].seq);
        CHECK(rows[0].conflict);
        CHECK_INT(rows[1].direction, ADM_DIRECTION_EXIT);
        CHECK_INT(rows[2].at, T0 + 5);
        CHECK(!rows[2].conflict);
    }
    free(rows);
    q.conflicts_only = true;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    free(rows);
    q.conflicts_only = false;
    q.after_seq = r[0].seq;
    q.limit = 1;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(rows[0].seq, r[3].seq);
    free(rows);
    q.after_seq = 0;
    q.limit = 0;
    q.upstream_pending = true;
    CHECK_ERR(adm_store_checkins_mark_upstream(st, &r[0].seq, 1), ADM_OK);
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 2);
    free(rows);
    q.upstream_pending = false;
    q.ticket_id = 79; /* no scans */
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 0);
    free(rows);
    q.ticket_id = -1;
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_ERR_INVALID_ARG);
}

static void test_checkin_stats(void)
{
    int64_t event = mk_event(), l1 = mk_list(event, "Main", ADM_REENTRY_ONCE),
            l2 = mk_list(event, "VIP", ADM_REENTRY_AFTER_EXIT);
    adm_checkin_stats_row_t *rows = NULL;
    adm_checkin_result_t r[16];
    scan_buf_t b[16];
    size_t n = 0;

    mk_scan(&b[0], 1, l1, T0 + 100, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "North");
    /* ticket 1 again, at another gate: a conflict */
    mk_scan(&b[1], 1, l1, T0 + 200, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "South");
    mk_scan(&b[2], 2, l1, T0 + 110, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "North");
    mk_scan(&b[3], 2, l1, T0 + 300, ADM_DIRECTION_EXIT, ADM_VERDICT_ACCEPT, "South");
    mk_scan(&b[4], 3, l1, T0 + 120, ADM_DIRECTION_ENTRY, ADM_VERDICT_REVOKED, "North");
    mk_scan(&b[5], 0, l1, T0 + 130, ADM_DIRECTION_ENTRY, ADM_VERDICT_MALFORMED, "South");
    mk_scan(&b[6], 4, l1, T0 + 140, ADM_DIRECTION_ENTRY, ADM_VERDICT_ALREADY_USED, "North");
    mk_scan(&b[7], 5, l2, T0 + 100, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "Gate A");
    mk_scan(&b[8], 6, l2, T0 + 100, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "Gate A");
    mk_scan(&b[9], 6, l2, T0 + 200, ADM_DIRECTION_EXIT, ADM_VERDICT_ACCEPT, "Gate A");
    mk_scan(&b[10], 6, l2, T0 + 300, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "Gate A");
    mk_scan(&b[11], 7, l2, T0 + 100, ADM_DIRECTION_ENTRY, ADM_VERDICT_ACCEPT, "Gate A");
    mk_scan(&b[12], 7, l2, T0 + 150, ADM_DIRECTION_EXIT, ADM_VERDICT_ACCEPT, "Gate A");
    CHECK_ERR(upload(event, b, 13, r), ADM_OK);
    CHECK(r[1].conflict);

    CHECK_ERR(adm_store_checkin_stats(st, fresh(), event, &rows, &n), ADM_OK);
    CHECK_INT(n, 5);
    if (n == 5) {
        /* list 1 total: tickets 1 (inside) and 2 (left) */
        CHECK_INT(rows[0].list_id, l1);
        CHECK_STR(rows[0].gate, "");
        CHECK_INT(rows[0].admitted, 3);
        CHECK_INT(rows[0].conflicts, 1);
        CHECK_INT(rows[0].exits, 1);
        CHECK_INT(rows[0].refused[ADM_VERDICT_ACCEPT], 0);
        CHECK_INT(rows[0].refused[ADM_VERDICT_REVOKED], 1);
        CHECK_INT(rows[0].refused[ADM_VERDICT_MALFORMED], 1);
        CHECK_INT(rows[0].refused[ADM_VERDICT_ALREADY_USED], 1);
        CHECK_INT(rows[0].refused[ADM_VERDICT_EXPIRED], 0);
        CHECK_INT(rows[0].inside, 1);
        CHECK_INT(rows[1].list_id, l1);
        CHECK_STR(rows[1].gate, "North");
        CHECK_INT(rows[1].admitted, 2);
        CHECK_INT(rows[1].conflicts, 0);
        CHECK_INT(rows[1].exits, 0);
        CHECK_INT(rows[1].refused[ADM_VERDICT_REVOKED], 1);
        CHECK_INT(rows[1].refused[ADM_VERDICT_ALREADY_USED], 1);
        CHECK_INT(rows[1].refused[ADM_VERDICT_MALFORMED], 0);
        CHECK_INT(rows[1].inside, 0); /* totals only */
        CHECK_STR(rows[2].gate, "South");
        CHECK_INT(rows[2].admitted, 1);
        CHECK_INT(rows[2].conflicts, 1);
        CHECK_INT(rows[2].exits, 1);
        CHECK_INT(rows[2].refused[ADM_VERDICT_MALFORMED], 1);
        /* list 2: tickets 5 and 6 inside, 7 left */
        CHECK_INT(rows[3].list_id, l2);
        CHECK_STR(rows[3].gate, "");
        CHECK_INT(rows[3].admitted, 4);
        CHECK_INT(rows[3].exits, 2);
        CHECK_INT(rows[3].conflicts, 0);
        CHECK_INT(rows[3].inside, 2);
        CHECK_STR(rows[4].gate, "Gate A");
        CHECK_INT(rows[4].admitted, 4);
    }
    free(rows);
    CHECK_ERR(adm_store_checkin_stats(st, fresh(), mk_event(), &rows, &n), ADM_OK);
    CHECK(rows == NULL && n == 0);
}

static void test_checkins_bad_batch(void)
{
    int64_t event = mk_event(), list = mk_list(event, "Main", ADM_REENTRY_ONCE);
    char nonce[ADM_STORE_NONCE_LEN + 1], long_gate[ADM_STORE_GATE_MAX + 2];
    adm_checkin_query_t q = {.event_id = event};
    adm_checkin_result_t r[3];
    adm_checkin_t *rows = NULL;
    adm_scan_t scans[3], bad;
    scan_buf_t b[3];
    size_t n = 0;

    memset(long_gate, 'g', sizeof long_gate - 1);
    long_gate[sizeof long_gate - 1] = '\0';
    for (int i = 0; i < 3; i++)
        scans[i] = *entry(&b[i], i + 1, list, T0 + i);
#define BAD_ROW(field, value, err)                                                                 \
    do {                                                                                           \
        bad = scans[2];                                                                            \
        bad.field = value;                                                                         \
        scans[2] = bad;                                                                            \
        memset(r, 0xff, sizeof r);                                                                 \
        CHECK_ERR(adm_store_checkins_add(st, event, "dv_up", scans, 3, false, T0, r), err);        \
        CHECK(r[0].seq == 0 && !r[0].stored);                                                      \
        scans[2] = b[2].s;                                                                         \
    } while (0)
    snprintf(nonce, sizeof nonce, "%s", b[2].nonce);
    nonce[0] = 'A';
    BAD_ROW(nonce, nonce, ADM_ERR_INVALID_ARG);
    BAD_ROW(nonce, "0123", ADM_ERR_INVALID_ARG);
    BAD_ROW(nonce, NULL, ADM_ERR_INVALID_ARG);
    BAD_ROW(device, "", ADM_ERR_INVALID_ARG);
    BAD_ROW(device, "dv test", ADM_ERR_INVALID_ARG);
    BAD_ROW(device, "dv_0123456789abcdef0", ADM_ERR_TOO_BIG);
    BAD_ROW(ticket_id, -1, ADM_ERR_INVALID_ARG);
    BAD_ROW(ticket_id, 0, ADM_ERR_INVALID_ARG); /* accepted without a ticket */
    BAD_ROW(list_id, 0, ADM_ERR_INVALID_ARG);
    BAD_ROW(at, 0, ADM_ERR_INVALID_ARG);
    BAD_ROW(gate, "", ADM_ERR_INVALID_ARG);
    BAD_ROW(gate, "Nor\nth", ADM_ERR_INVALID_ARG);
    BAD_ROW(gate, long_gate, ADM_ERR_TOO_BIG);
    BAD_ROW(direction, (adm_direction_t)2, ADM_ERR_INVALID_ARG);
    BAD_ROW(verdict, ADM_VERDICT__MAX, ADM_ERR_INVALID_ARG);
    BAD_ROW(reason, "Ok", ADM_ERR_INVALID_ARG);
    BAD_ROW(reason, "", ADM_ERR_INVALID_ARG);
    BAD_ROW(reason, "a_reason_longer_than_thirty_two_b", ADM_ERR_TOO_BIG);
    BAD_ROW(text_hash, "abc", ADM_ERR_INVALID_ARG);
    BAD_ROW(text_hash, NULL, ADM_ERR_INVALID_ARG);
#undef BAD_ROW
    CHECK_ERR(adm_store_checkins_add(st, event, "dv up", scans, 3, false, T0, r),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_checkins_add(st, event, "", scans, 0, false, T0, r), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_checkins_add(st, event, "", scans, ADM_STORE_CHECKINS_BATCH_MAX + 1, false,
                                     T0, NULL),
              ADM_ERR_TOO_BIG);
    /* nothing was stored: the same rows are new now */
    CHECK_ERR(adm_store_checkins_list(st, fresh(), &q, &rows, &n), ADM_OK);
    CHECK_INT(n, 0);
    free(rows);
    CHECK_ERR(adm_store_checkins_add(st, event, "dv_up", scans, 3, false, T0, r), ADM_OK);
    for (int i = 0; i < 3; i++)
        CHECK(r[i].stored);
}

static void test_mirror(void)
{
    int64_t event = mk_event();
    adm_revocation_t revs[2], *got = NULL;
    adm_mirror_t m;
    size_t n = 0, big_len = 2u * 1024u * 1024u;
    char *big;

    CHECK_ERR(adm_store_mirror_get(st, event, &m), ADM_ERR_NOT_FOUND);
    CHECK(m.header == NULL && m.event_id == 0);
    revs[0] = (adm_revocation_t){.seq = 1, .ticket_id = 101, .revoked_at = T0};
    revs[1] = (adm_revocation_t){.seq = 2, .ticket_id = 102, .revoked_at = T0 + 1};
    CHECK_ERR(adm_store_mirror_advance(st, event, revs, 2, 2, 50, T0), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_mirror_put_header(st, event, "{\"event\":{\"id\":1}}", T0), ADM_OK);
    CHECK_ERR(adm_store_mirror_get(st, event, &m), ADM_OK);
    CHECK_INT(m.event_id, event);
    CHECK_STR(m.header, "{\"event\":{\"id\":1}}");
    CHECK_INT(m.revocations_cursor, 0);
    CHECK_INT(m.checkins_cursor, 0);
    CHECK_INT(m.updated, T0);
    adm_store_mirror_clear(&m);
    CHECK(m.header == NULL);
    adm_store_mirror_clear(NULL);

    CHECK_ERR(adm_store_mirror_advance(st, event, revs, 2, 2, 50, T0 + 1), ADM_OK);
    CHECK_ERR(adm_store_mirror_get(st, event, &m), ADM_OK);
    CHECK_INT(m.revocations_cursor, 2);
    CHECK_INT(m.checkins_cursor, 50);
    CHECK_INT(m.updated, T0 + 1);
    adm_store_mirror_clear(&m);
    /* a seq already stored is ignored; -1 leaves a cursor as it is */
    revs[0] = (adm_revocation_t){.seq = 2, .ticket_id = 999, .revoked_at = T0 + 2};
    revs[1] = (adm_revocation_t){.seq = 3, .ticket_id = 103, .revoked_at = T0 + 3};
    CHECK_ERR(adm_store_mirror_advance(st, event, revs, 2, -1, 60, T0 + 2), ADM_OK);
    CHECK_ERR(adm_store_mirror_advance(st, event, NULL, 0, -1, -1, T0 + 3), ADM_OK);
    CHECK_ERR(adm_store_mirror_get(st, event, &m), ADM_OK);
    CHECK_INT(m.revocations_cursor, 2);
    CHECK_INT(m.checkins_cursor, 60);
    adm_store_mirror_clear(&m);
    CHECK_ERR(adm_store_mirror_revocations_since(st, event, 0, 0, &got, &n), ADM_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(got[0].seq, 1);
        CHECK_INT(got[0].ticket_id, 101);
        CHECK_INT(got[0].revoked_at, T0);
        CHECK_INT(got[1].seq, 2);
        CHECK_INT(got[1].ticket_id, 102); /* the first stays */
        CHECK_INT(got[2].seq, 3);
        CHECK_INT(got[2].ticket_id, 103);
    }
    free(got);
    CHECK_ERR(adm_store_mirror_revocations_since(st, event, 1, 1, &got, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(got[0].seq, 2);
    free(got);
    CHECK_ERR(adm_store_mirror_revocations_since(st, MISSING(event), 0, 0, &got, &n), ADM_OK);
    CHECK(got == NULL && n == 0);

    /* a new header replaces the old one and keeps the cursors */
    CHECK_ERR(adm_store_mirror_put_header(st, event, "{\"event\":{\"id\":2}}\n", T0 + 4), ADM_OK);
    CHECK_ERR(adm_store_mirror_get(st, event, &m), ADM_OK);
    CHECK_STR(m.header, "{\"event\":{\"id\":2}}\n");
    CHECK_INT(m.revocations_cursor, 2);
    CHECK_INT(m.checkins_cursor, 60);
    CHECK_INT(m.updated, T0 + 4);
    adm_store_mirror_clear(&m);

    /* bad arguments */
    CHECK_ERR(adm_store_mirror_put_header(st, event, "", T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_mirror_put_header(st, event, "{\"a\":\"\xff\"}", T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_mirror_advance(st, event, NULL, 1, 0, 0, T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_mirror_advance(st, event, revs, 2, -2, 0, T0), ADM_ERR_INVALID_ARG);
    revs[0].seq = 0;
    CHECK_ERR(adm_store_mirror_advance(st, event, revs, 2, 0, 0, T0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_mirror_revocations_since(st, event, 0, ADM_STORE_REVOCATIONS_PAGE_MAX + 1,
                                                 &got, &n),
              ADM_ERR_INVALID_ARG);

    /* a big header round-trips; one over the bound is refused */
    big = malloc(ADM_STORE_MIRROR_HEADER_MAX + 2);
    CHECK(big != NULL);
    if (big == NULL)
        return;
    memset(big, 'x', ADM_STORE_MIRROR_HEADER_MAX + 1);
    big[0] = '"';
    big[big_len - 1] = '"';
    big[big_len] = '\0';
    CHECK_ERR(adm_store_mirror_put_header(st, event, big, T0 + 5), ADM_OK);
    CHECK_ERR(adm_store_mirror_get(st, event, &m), ADM_OK);
    CHECK(m.header != NULL && strlen(m.header) == big_len && strcmp(m.header, big) == 0);
    adm_store_mirror_clear(&m);
    big[big_len] = 'x';
    big[ADM_STORE_MIRROR_HEADER_MAX + 1] = '\0';
    CHECK_ERR(adm_store_mirror_put_header(st, event, big, T0 + 6), ADM_ERR_TOO_BIG);
    free(big);
}

static void test_settings(void)
{
    char key[ADM_STORE_SETTING_KEY_MAX + 2], out[ADM_STORE_SETTING_VALUE_MAX + 2], small[3];
    char value[ADM_STORE_SETTING_VALUE_MAX + 2];

    snprintf(key, sizeof key, "test.%s.%d", run_id, next_serial());
    memset(out, 'x', sizeof out);
    CHECK_ERR(adm_store_setting_get(st, key, out, sizeof out), ADM_ERR_NOT_FOUND);
    CHECK_STR(out, "");
    CHECK_ERR(adm_store_setting_put(st, key, "https://tickets.example.org"), ADM_OK);
    CHECK_ERR(adm_store_setting_get(st, key, out, sizeof out), ADM_OK);
    CHECK_STR(out, "https://tickets.example.org");
    CHECK_ERR(adm_store_setting_put(st, key, "v2"), ADM_OK);
    CHECK_ERR(adm_store_setting_get(st, key, out, sizeof out), ADM_OK);
    CHECK_STR(out, "v2");
    CHECK_ERR(adm_store_setting_get(st, key, small, 3), ADM_OK);
    CHECK_STR(small, "v2");
    CHECK_ERR(adm_store_setting_get(st, key, small, 2), ADM_ERR_TOO_BIG);
    CHECK_STR(small, "");
    CHECK_ERR(adm_store_setting_put(st, key, ""), ADM_OK);
    CHECK_ERR(adm_store_setting_get(st, key, out, sizeof out), ADM_OK);
    CHECK_STR(out, "");
    /* bounds */
    memset(value, 'v', sizeof value - 1);
    value[ADM_STORE_SETTING_VALUE_MAX] = '\0';
    CHECK_ERR(adm_store_setting_put(st, key, value), ADM_OK);
    CHECK_ERR(adm_store_setting_get(st, key, out, sizeof out), ADM_OK);
    CHECK_STR(out, value);
    value[ADM_STORE_SETTING_VALUE_MAX] = 'v';
    value[ADM_STORE_SETTING_VALUE_MAX + 1] = '\0';
    CHECK_ERR(adm_store_setting_put(st, key, value), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_store_setting_put(st, key, "a\nb"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_setting_put(st, key, NULL), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_setting_put(st, "", "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_store_setting_put(st, "a key", "x"), ADM_ERR_INVALID_ARG);
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    CHECK_ERR(adm_store_setting_put(st, key, "x"), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_store_setting_get(st, key, out, sizeof out), ADM_ERR_TOO_BIG);
}

/* ---- concurrency ---- */

#define BUYERS 16
#define FLASH_CAPACITY 100

typedef struct buyer {
    adm_store_t *store;
    int64_t user, type;
    uint64_t rng;
    int64_t seats; /* seats this buyer paid for */
    int orders;
    int unexpected; /* results other than OK / SOLD_OUT, and negative availability */
    adm_err_t last_bad;
} buyer_t;

static void *buyer_main(void *p)
{
    buyer_t *b = p;
    int32_t want = 0;

    for (int round = 0; round < 1000; round++) {
        adm_availability_t a;
        adm_order_t o;
        adm_err_t r;

        b->rng ^= b->rng << 13;
        b->rng ^= b->rng >> 7;
        b->rng ^= b->rng << 17;
        if (want == 0)
            want = (int32_t)(b->rng % 3) + 1;
        r = buy_in(b->store, b->user, b->type, want, T0 + 5000, &o);
        if (r == ADM_OK) {
            b->seats += want;
            b->orders++;
            want = 0;
        } else if (r == ADM_ERR_SOLD_OUT) {
            if (want == 1)
                break; /* nothing left: every hold in flight gets paid */
            want--;    /* maybe fewer seats are left */
        } else {
            b->unexpected++;
            b->last_bad = r;
            break;
        }
        r = adm_store_availability(b->store, ADM_READ_HINT_PRIMARY, b->type, &a);
        if (r != ADM_OK || a.available < 0 || a.sold + a.held > a.capacity ||
            a.available != a.capacity - a.sold - a.held) {
            b->unexpected++;
            b->last_bad = r;
        }
    }
    return NULL;
}

/* Total paid seats over the orders of users[0..n). */
static int64_t paid_seats(adm_store_t *s, const int64_t *users, size_t n, int64_t type)
{
    int64_t total = 0;

    for (size_t u = 0; u < n; u++) {
        int64_t before = 0;
        for (;;) {
            adm_order_t *list = NULL;
            size_t k = 0;
            CHECK_ERR(adm_store_order_list(s, ADM_READ_HINT_PRIMARY, users[u], before,
                                           ADM_STORE_PAGE_MAX, &list, &k),
                      ADM_OK);
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < list[i].n_items; j++)
                    if (list[i].state == ADM_ORDER_PAID && list[i].items[j].type_id == type)
                        total += list[i].items[j].quantity;
            before = k ? list[k - 1].id : 0;
            free(list);
            if (k < ADM_STORE_PAGE_MAX)
                break;
        }
    }
    return total;
}

#define UPLOADERS 8
#define UPLOAD_BATCHES 10
#define UPLOAD_ROWS 5

typedef struct uploader {
    int64_t event, list;
    uint64_t rng;
    int failures;
    adm_err_t last_bad;
} uploader_t;

/* Uploads entries of ticket 1 with random scan times. */
static void *uploader_main(void *p)
{
    uploader_t *u = p;

    for (int i = 0; i < UPLOAD_BATCHES; i++) {
        scan_buf_t b[UPLOAD_ROWS];
        adm_scan_t s[UPLOAD_ROWS];
        adm_err_t r;

        for (int k = 0; k < UPLOAD_ROWS; k++) {
            u->rng ^= u->rng << 13;
            u->rng ^= u->rng >> 7;
            u->rng ^= u->rng << 17;
            s[k] = *entry(&b[k], 1, u->list, T0 + (int64_t)(u->rng % 1000));
        }
        if ((r = adm_store_checkins_add(st, u->event, "", s, UPLOAD_ROWS, false, T0, NULL)) !=
            ADM_OK) {
            u->failures++;
            u->last_bad = r;
        }
    }
    return NULL;
}

typedef struct feed_reader {
    int64_t event;
    atomic_bool stop;
    size_t seen;
    int64_t cursor;
    int failures;
} feed_reader_t;

/* Follows the accepted feed by cursor, as a gate does, counting the rows. */
static void *feed_main(void *p)
{
    feed_reader_t *f = p;
    bool last = false;

    while (!last) {
        adm_checkin_query_t q = {
            .event_id = f->event, .after_seq = f->cursor, .accepted_only = true};
        adm_checkin_t *rows = NULL;
        size_t n = 0;

        last = atomic_load(&f->stop); /* one more full read after the writers are done */
        if (adm_store_checkins_list(st, ADM_READ_HINT_PRIMARY, &q, &rows, &n) != ADM_OK) {
            f->failures++;
            continue;
        }
        if (n > 0)
            f->cursor = rows[n - 1].seq;
        f->seen += n;
        free(rows);
    }
    return NULL;
}

/* ---- batched uploads (docs/store.md §10): chunks of nonces, inserts and replays ---- */

#define BIG_BATCH ADM_STORE_CHECKINS_BATCH_MAX

/* Every stored row of event, by seq (fresh reads, PAGE_MAX at a time); *n gets the count. */
static adm_checkin_t *all_rows(int64_t event, size_t *n)
{
    adm_checkin_query_t q = {.event_id = event, .limit = ADM_STORE_CHECKINS_PAGE_MAX};
    adm_checkin_t *all = NULL, *rows = NULL, *grown;
    size_t k = 0;

    *n = 0;
    do { /* the primary: other threads' writes are not behind fresh()'s position */
        CHECK_ERR(adm_store_checkins_list(st, ADM_READ_HINT_PRIMARY, &q, &rows, &k), ADM_OK);
        grown = realloc(all, (*n + k + 1) * sizeof *all);
        CHECK(grown != NULL);
        if (grown == NULL)
            break;
        all = grown;
        if (k > 0) {
            memcpy(all + *n, rows, k * sizeof *rows);
            *n += k;
            q.after_seq = rows[k - 1].seq;
        }
        free(rows);
        rows = NULL;
    } while (k == ADM_STORE_CHECKINS_PAGE_MAX);
    return all;
}

static int cmp_replay_order(const void *x, const void *y)
{
    const adm_checkin_t *a = *(adm_checkin_t *const *)x, *b = *(adm_checkin_t *const *)y;

    if (a->ticket_id != b->ticket_id)
        return a->ticket_id < b->ticket_id ? -1 : 1;
    if (a->list_id != b->list_id)
        return a->list_id < b->list_id ? -1 : 1;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Checks every stored flag of event against a replay of all its rows done
 * here (lists after_exit and unlimited as given, every other list once),
 * and that results r[0..n) of scans s carry their row's seq, nonce and
 * flag, with new rows' seqs rising in request order. */
static void check_flags(int64_t event, int64_t after, int64_t unlimited, const adm_scan_t *s,
                        const adm_checkin_result_t *r, size_t n)
{
    size_t m = 0, bad = 0;
    adm_checkin_t *rows = all_rows(event, &m), **order = calloc(m + 1, sizeof *order);
    int64_t last_new = 0;
    bool inside = false, entered = false;

    CHECK(order != NULL);
    if (rows == NULL || order == NULL)
        goto out;
    for (size_t i = 0; i < m; i++)
        order[i] = &rows[i];
    qsort(order, m, sizeof *order, cmp_replay_order);
    for (size_t i = 0; i < m; i++) {
        adm_checkin_t *c = order[i];
        bool want = false, accepted = c->verdict == ADM_VERDICT_ACCEPT && c->ticket_id != 0;

        if (i == 0 || c->ticket_id != order[i - 1]->ticket_id ||
            c->list_id != order[i - 1]->list_id)
            inside = entered = false;
        if (!accepted) {
            want = false;
        } else if (c->direction != ADM_DIRECTION_ENTRY) {
            inside = false;
        } else if (c->list_id == unlimited) {
            want = false;
        } else if (c->list_id == after) {
            want = inside;
            inside = true;
        } else {
            want = entered;
            entered = true;
        }
        bad += c->conflict != want;
    }
    CHECK_INT(bad, 0);
    for (size_t i = 0; i < n; i++) {
        adm_checkin_t key = {.seq = r[i].seq}, *hit = NULL;

        for (size_t lo = 0, hi = m; lo < hi;) { /* rows come by seq */
            size_t mid = lo + (hi - lo) / 2;
            if (rows[mid].seq == key.seq) {
                hit = &rows[mid];
                break;
            }
            if (rows[mid].seq < key.seq)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (hit == NULL || strcmp(hit->nonce, s[i].nonce) != 0 || hit->conflict != r[i].conflict ||
            hit->ticket_id != s[i].ticket_id || hit->at != s[i].at) {
            adm_test_fail(__FILE__, __LINE__, "result %zu: seq %lld does not match its row", i,
                          (long long)r[i].seq);
            break;
        }
        if (r[i].stored) {
            CHECK(r[i].seq > last_new);
            last_new = r[i].seq;
        }
    }
out:
    free(order);
    free(rows);
}

/* Uploads scans s[0..n) of event as "dv_up" into r. */
static adm_err_t upload_scans(int64_t event, const adm_scan_t *s, size_t n, adm_checkin_result_t *r)
{
    return adm_store_checkins_add(st, event, "dv_up", s, n, false, T0 + 1000, r);
}

/* A full batch: new rows, rows stored by an earlier batch and rows repeated
 * within the batch, interleaved in request order, over tickets and lists
 * an earlier batch used, with scan times that rewrite earlier rows' flags. */
static void test_checkins_big_batch(void)
{
    int64_t event = mk_event(), once = mk_list(event, "Once", ADM_REENTRY_ONCE),
            after = mk_list(event, "After exit", ADM_REENTRY_AFTER_EXIT);
    scan_buf_t *b = calloc(2 * BIG_BATCH, sizeof *b);
    adm_scan_t *s = calloc(BIG_BATCH, sizeof *s);
    adm_checkin_result_t *prior = calloc(BIG_BATCH / 2, sizeof *prior),
                         *r = calloc(BIG_BATCH, sizeof *r);
    size_t news = 0, m = 0;
    adm_checkin_t *rows;

    CHECK(b != NULL && s != NULL && prior != NULL && r != NULL);
    if (b == NULL || s == NULL || prior == NULL || r == NULL)
        goto out;
    /* an earlier batch of 500 over 200 tickets */
    for (size_t j = 0; j < BIG_BATCH / 2; j++) {
        int64_t ticket = 1 + (int64_t)(j * 13 % 200), at = T0 + (int64_t)(j * 53 % 1000);
        int64_t list = j % 3 == 0 ? after : once;

        s[j] = j % 10 == 4 ? *exit_scan(&b[j], ticket, list, at) : *entry(&b[j], ticket, list, at);
    }
    CHECK_ERR(upload_scans(event, s, BIG_BATCH / 2, prior), ADM_OK);
    check_flags(event, after, 0, s, prior, BIG_BATCH / 2);
    /* the full batch */
    for (size_t i = 0; i < BIG_BATCH; i++) {
        scan_buf_t *nb = &b[BIG_BATCH / 2 + i];
        int64_t ticket = 1 + (int64_t)(i * 7 % 250), at = T0 + (int64_t)(i * 37 % 1000);
        int64_t list = i % 4 == 0 ? after : once;

        if (i % 5 == 1) {
            s[i] = b[i % (BIG_BATCH / 2)].s; /* stored before */
        } else if (i % 5 == 3 && i >= 5) {
            s[i] = s[i - 3]; /* earlier in this batch */
        } else if (i % 25 == 7) {
            s[i] = *mk_scan(nb, ticket, list, at, ADM_DIRECTION_ENTRY, ADM_VERDICT_ALREADY_USED,
                            "North");
        } else {
            s[i] = i % 10 == 4 ? *exit_scan(nb, ticket, list, at) : *entry(nb, ticket, list, at);
        }
    }
    CHECK_ERR(upload_scans(event, s, BIG_BATCH, r), ADM_OK);
    for (size_t i = 0; i < BIG_BATCH; i++) {
        if (i % 5 == 1) {
            CHECK(!r[i].stored);
            CHECK_INT(r[i].seq, prior[i % (BIG_BATCH / 2)].seq);
        } else if (i % 5 == 3 && i >= 5) {
            CHECK(!r[i].stored);
            CHECK_INT(r[i].seq, r[i - 3].seq);
            CHECK(r[i].conflict == r[i - 3].conflict);
        } else {
            CHECK(r[i].stored);
            news++;
        }
    }
    check_flags(event, after, 0, s, r, BIG_BATCH);
    rows = all_rows(event, &m);
    CHECK_INT(m, BIG_BATCH / 2 + news);
    free(rows);
    /* the same batch again: nothing new, every seq and flag as stored */
    CHECK_ERR(upload_scans(event, s, BIG_BATCH, prior == NULL ? NULL : r), ADM_OK);
    for (size_t i = 0; i < BIG_BATCH; i++)
        CHECK(!r[i].stored);
    check_flags(event, after, 0, s, r, BIG_BATCH);
out:
    free(b);
    free(s);
    free(prior);
    free(r);
}

/* Replays over more tickets than one statement reads (310), more flag
 * changes than one UPDATE writes (300), and a ticket whose rows fill more
 * than a page (1,100 entries on one list). */
static void test_checkins_many_tickets(void)
{
    int64_t event = mk_event(), once = mk_list(event, "Once", ADM_REENTRY_ONCE),
            after = mk_list(event, "After exit", ADM_REENTRY_AFTER_EXIT),
            unlimited = mk_list(event, "Unlimited", ADM_REENTRY_UNLIMITED);
    scan_buf_t *b = calloc(BIG_BATCH, sizeof *b);
    adm_scan_t *s = calloc(BIG_BATCH, sizeof *s);
    adm_checkin_result_t *r = calloc(BIG_BATCH, sizeof *r);
    size_t n = 0, flagged = 0;

    CHECK(b != NULL && s != NULL && r != NULL);
    if (b == NULL || s == NULL || r == NULL)
        goto out;
    /* ticket 150: 1,100 entries on `once` from T0 + 500, in two batches */
    for (int half = 0; half < 2; half++) {
        for (size_t j = 0; j < 550; j++)
            s[j] = *entry(&b[j], 150, once, T0 + 500 + (int64_t)(half * 550 + j));
        CHECK_ERR(upload_scans(event, s, 550, r), ADM_OK);
    }
    /* one entry each at T0 + 400: tickets 1..300 on `once` or `after`, 301..310 on `unlimited` */
    for (size_t j = 0; j < 310; j++) {
        int64_t list = j >= 300 ? unlimited : j % 2 == 0 ? once : after;
        s[j] = *entry(&b[j], 1 + (int64_t)j, list, T0 + 400);
    }
    CHECK_ERR(upload_scans(event, s, 310, r), ADM_OK);
    check_flags(event, after, unlimited, s, r, 310);
    /* then an earlier entry and a second one for every ticket, and an exit
     * between for half: each T0 + 400 entry of tickets 1..300 becomes a conflict */
    for (size_t j = 0; j < 310; j++) {
        int64_t list = j >= 300 ? unlimited : j % 2 == 0 ? once : after, t = 1 + (int64_t)j;

        s[n] = *entry(&b[n], t, list, T0 + 100);
        n++;
        s[n] = *entry(&b[n], t, list, T0 + 300);
        n++;
        if (j % 4 < 2) {
            s[n] = *exit_scan(&b[n], t, list, T0 + 200);
            n++;
        }
    }
    CHECK_ERR(upload_scans(event, s, n, r), ADM_OK);
    check_flags(event, after, unlimited, s, r, n);
    for (size_t i = 0; i < n; i++)
        flagged += r[i].conflict;
    CHECK(flagged > 0);
    /* an entry of ticket 150 on `once` earlier than its 1,100 */
    s[0] = *entry(&b[0], 150, once, T0 + 1);
    s[1] = *entry(&b[1], 149, once, T0 + 1);
    CHECK_ERR(upload_scans(event, s, 2, r), ADM_OK);
    CHECK(!r[0].conflict && !r[1].conflict);
    check_flags(event, after, unlimited, s, r, 2);
out:
    free(b);
    free(s);
    free(r);
}

#define TWO_EVENTS_BATCHES 6
#define TWO_EVENTS_ROWS 200

typedef struct event_uploader {
    int64_t event, list;
    scan_buf_t b[TWO_EVENTS_BATCHES][TWO_EVENTS_ROWS];
    adm_checkin_result_t r[TWO_EVENTS_BATCHES][TWO_EVENTS_ROWS];
    adm_err_t err[TWO_EVENTS_BATCHES];
} event_uploader_t;

/* Uploads TWO_EVENTS_BATCHES batches of new rows (every tenth repeating
 * the batch before's) to its event. */
static void *event_uploader_main(void *p)
{
    event_uploader_t *u = p;
    adm_scan_t s[TWO_EVENTS_ROWS];

    for (int k = 0; k < TWO_EVENTS_BATCHES; k++) {
        for (int i = 0; i < TWO_EVENTS_ROWS; i++) {
            if (k > 0 && i % 10 == 9)
                u->b[k][i] = u->b[k - 1][i];
            else
                entry(&u->b[k][i], 1 + (i * 31 + k) % 97, u->list, T0 + (i * 17 + k * 5) % 600);
            u->b[k][i].s.nonce = u->b[k][i].nonce;
            s[i] = u->b[k][i].s;
        }
        u->err[k] =
            adm_store_checkins_add(st, u->event, "", s, TWO_EVENTS_ROWS, false, T0, u->r[k]);
    }
    return NULL;
}

/* Uploads to two events at once (on MariaDB their seqs interleave): every
 * result names the row of its own nonce, and the flags are exact. */
static void test_checkins_two_events(void)
{
    event_uploader_t *u = calloc(2, sizeof *u);
    pthread_t threads[2];

    CHECK(u != NULL);
    if (u == NULL)
        return;
    for (int t = 0; t < 2; t++) {
        u[t].event = mk_event();
        u[t].list = mk_list(u[t].event, "Main", ADM_REENTRY_ONCE);
    }
    for (int t = 0; t < 2; t++)
        CHECK_INT(pthread_create(&threads[t], NULL, event_uploader_main, &u[t]), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < 2; t++) {
        adm_scan_t s[TWO_EVENTS_ROWS];
        size_t m = 0, stored = 0;
        adm_checkin_t *rows;

        for (int k = 0; k < TWO_EVENTS_BATCHES; k++) {
            CHECK_ERR(u[t].err[k], ADM_OK);
            for (int i = 0; i < TWO_EVENTS_ROWS; i++) {
                s[i] = u[t].b[k][i].s;
                stored += u[t].r[k][i].stored;
                if (k > 0 && i % 10 == 9) {
                    CHECK(!u[t].r[k][i].stored);
                    CHECK_INT(u[t].r[k][i].seq, u[t].r[k - 1][i].seq);
                }
            }
            /* the flags of earlier batches may have changed since: check the last only */
            if (k == TWO_EVENTS_BATCHES - 1)
                check_flags(u[t].event, 0, 0, s, u[t].r[k], TWO_EVENTS_ROWS);
        }
        rows = all_rows(u[t].event, &m);
        CHECK_INT(m, stored);
        for (size_t j = 0; j < m && rows != NULL; j++)
            CHECK_INT(rows[j].event_id, u[t].event);
        free(rows);
        /* every batch's seqs still name its nonces */
        for (int k = 0; k < TWO_EVENTS_BATCHES; k++) {
            adm_checkin_result_t again[TWO_EVENTS_ROWS];

            for (int i = 0; i < TWO_EVENTS_ROWS; i++)
                s[i] = u[t].b[k][i].s;
            CHECK_ERR(
                adm_store_checkins_add(st, u[t].event, "", s, TWO_EVENTS_ROWS, false, T0, again),
                ADM_OK);
            for (int i = 0; i < TWO_EVENTS_ROWS; i++) {
                CHECK(!again[i].stored);
                CHECK_INT(again[i].seq, u[t].r[k][i].seq);
            }
            check_flags(u[t].event, 0, 0, s, again, TWO_EVENTS_ROWS);
        }
    }
    free(u);
}

/* Uploads of one ticket from many threads at once: the conflict flags come
 * out as if the scans had arrived one by one (exactly the earliest entry
 * wins), and a reader following the feed by cursor meanwhile misses none. */
static void test_checkins_concurrent(void)
{
    int64_t event = mk_event(), list = mk_list(event, "Main", ADM_REENTRY_ONCE);
    adm_checkin_query_t q = {.event_id = event, .limit = ADM_STORE_CHECKINS_PAGE_MAX};
    uploader_t ups[UPLOADERS];
    pthread_t threads[UPLOADERS], reader;
    feed_reader_t f = {.event = event};
    adm_checkin_t *rows = NULL, *first = NULL;
    size_t n = 0, conflicts = 0;

    CHECK_INT(pthread_create(&reader, NULL, feed_main, &f), 0);
    for (int i = 0; i < UPLOADERS; i++) {
        ups[i] = (uploader_t){
            .event = event, .list = list, .rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)};
        CHECK_INT(pthread_create(&threads[i], NULL, uploader_main, &ups[i]), 0);
    }
    for (int i = 0; i < UPLOADERS; i++) {
        pthread_join(threads[i], NULL);
        if (ups[i].failures)
            adm_test_fail(__FILE__, __LINE__, "uploader %d: %d failures, last %s", i,
                          ups[i].failures, adm_err_name(ups[i].last_bad));
    }
    atomic_store(&f.stop, true);
    pthread_join(reader, NULL);
    CHECK_INT(f.failures, 0);
    CHECK_INT(f.seen, UPLOADERS * UPLOAD_BATCHES * UPLOAD_ROWS);

    CHECK_ERR(adm_store_checkins_list(st, ADM_READ_HINT_PRIMARY, &q, &rows, &n), ADM_OK);
    CHECK_INT(n, UPLOADERS * UPLOAD_BATCHES * UPLOAD_ROWS);
    for (size_t i = 0; i < n; i++) {
        if (first == NULL || rows[i].at < first->at)
            first = &rows[i]; /* rows come by seq: the first of equal times wins */
        conflicts += rows[i].conflict;
    }
    CHECK_INT(conflicts, n - 1);
    CHECK(first != NULL && !first->conflict);
    free(rows);
}

static void test_concurrent_flash_sale(void)
{
    int64_t event = mk_event(), type = mk_type(event, FLASH_CAPACITY), users[BUYERS];
    buyer_t buyers[BUYERS];
    pthread_t threads[BUYERS];
    int64_t seats = 0, tickets = 0;
    adm_availability_t a;

    for (int i = 0; i < BUYERS; i++) {
        users[i] = mk_user("flash");
        buyers[i] = (buyer_t){.store = st,
                              .user = users[i],
                              .type = type,
                              .rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)};
    }
    for (int i = 0; i < BUYERS; i++)
        CHECK_INT(pthread_create(&threads[i], NULL, buyer_main, &buyers[i]), 0);
    for (int i = 0; i < BUYERS; i++) {
        pthread_join(threads[i], NULL);
        if (buyers[i].unexpected)
            adm_test_fail(__FILE__, __LINE__, "buyer %d: %d unexpected results, last %s", i,
                          buyers[i].unexpected, adm_err_name(buyers[i].last_bad));
        seats += buyers[i].seats;
    }
    a = avail(type);
    CHECK_INT(a.sold, FLASH_CAPACITY);
    CHECK_INT(a.held, 0);
    CHECK_INT(a.available, 0);
    CHECK_INT(seats, FLASH_CAPACITY);
    CHECK_INT(paid_seats(st, users, BUYERS, type), FLASH_CAPACITY);
    for (int i = 0; i < BUYERS; i++) {
        adm_order_t *list = NULL;
        size_t k = 0;
        CHECK_ERR(adm_store_order_list(st, ADM_READ_HINT_PRIMARY, users[i], 0, ADM_STORE_PAGE_MAX,
                                       &list, &k),
                  ADM_OK);
        for (size_t j = 0; j < k; j++) {
            adm_store_ticket_t *tk = NULL;
            size_t nt = 0;
            CHECK_ERR(
                adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, users[i], list[j].id, &tk, &nt),
                ADM_OK);
            tickets += (int64_t)nt;
            free(tk);
        }
        free(list);
    }
    CHECK_INT(tickets, FLASH_CAPACITY);
}

#define PROC_CAPACITY 60

/* Blocks until the parent closes the write end of the start pipe, so that
 * forked children start at the same moment. */
static void wait_start(int fds[2])
{
    char c;

    close(fds[1]);
    while (read(fds[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(fds[0]);
}

/* One of two processes racing for the same type with their own store. */
static int child_buyer(int64_t type, int index, int start[2])
{
    adm_store_t *mine = NULL;
    int64_t user, seats = 0;
    adm_err_t r = ADM_OK;
    adm_order_t o;

    if (open_store(&mine) != ADM_OK)
        return 2;
    wait_start(start);
    user = mk_user_in(mine, index ? "proc-b" : "proc-a");
    while ((r = buy_in(mine, user, type, 1, T0 + 7000, &o)) == ADM_OK)
        seats++;
    adm_store_close(mine);
    if (r != ADM_ERR_SOLD_OUT) {
        fprintf(stderr, "child %d: %s after %lld seats\n", index, adm_err_name(r),
                (long long)seats);
        return 1;
    }
    return adm_test_failures ? 1 : 0;
}

static void test_two_processes(void)
{
    int64_t event = mk_event(), type = mk_type(event, PROC_CAPACITY);
    adm_type_sales_t *rows = NULL;
    pid_t pids[2];
    int start[2];
    size_t n = 0;

    if (!is_sqlite)
        return; /* MariaDB serves many processes by construction */
    /* SQLite handles must not cross fork(): close ours, reopen after */
    adm_store_close(st);
    st = NULL;
    fflush(NULL);
    CHECK_INT(pipe(start), 0);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0)
            exit(child_buyer(type, i, start));
    }
    close(start[0]);
    close(start[1]); /* go */
    for (int i = 0; i < 2; i++) {
        int status = 0;
        if (pids[i] <= 0)
            continue;
        CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), 0);
    }
    CHECK_ERR(open_store(&st), ADM_OK);
    if (st == NULL)
        exit(adm_test_done());
    CHECK_INT(avail(type).sold, PROC_CAPACITY);
    CHECK_INT(avail(type).held, 0);
    CHECK_ERR(adm_store_sales_by_type(st, ADM_READ_HINT_PRIMARY, event, &rows, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(rows[0].revenue, 2500 * PROC_CAPACITY); /* = sum of paid quantities */
    free(rows);
}

#define OPENERS 4

/* Several processes open one new SQLite file at once: each migration is
 * applied exactly once and every opener sees the same schema version. Then
 * a schema from a newer binary is refused (SQLite only: it edits the file). */
static void test_concurrent_migrations(void)
{
    char path[sizeof sqlite_path + 16];
    adm_store_config_t fresh = cfg;
    adm_store_t *s = NULL;
    pid_t pids[OPENERS];
    int start[2], version = 0, main_version = 0;

    if (!is_sqlite)
        return;
    snprintf(path, sizeof path, "%s.fresh", sqlite_path);
    fresh.sqlite_path = path;
    fflush(NULL);
    CHECK_INT(pipe(start), 0);
    for (int i = 0; i < OPENERS; i++) {
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            int rc = 0, v = 0;
            wait_start(start);
            if (adm_store_open(&fresh, &s) != ADM_OK || adm_store_schema_version(s, &v) != ADM_OK ||
                v < 1)
                rc = 1;
            adm_store_close(s);
            exit(rc);
        }
    }
    close(start[0]);
    close(start[1]);
    for (int i = 0; i < OPENERS; i++) {
        int status = 0;
        if (pids[i] <= 0)
            continue;
        CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_ERR(adm_store_open(&fresh, &s), ADM_OK);
    CHECK_ERR(adm_store_schema_version(s, &version), ADM_OK);
    CHECK_ERR(adm_store_schema_version(st, &main_version), ADM_OK);
    CHECK(version >= 1);
    CHECK_INT(version, main_version);
    adm_store_close(s);
    s = NULL;

    /* a schema newer than this binary knows is refused, not written to */
    {
        sqlite3 *db = NULL;
        char sql[128];
        CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
        snprintf(sql, sizeof sql,
                 "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)", version + 1);
        CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        CHECK_ERR(adm_store_open(&fresh, &s), ADM_ERR_STORE);
        CHECK(s == NULL);
    }
}

/* ---- main ---- */

/* Removes the SQLite files of this run and their directory. */
static void remove_sqlite_files(void)
{
    static const char *const suffixes[] = {"",       "-wal",       "-shm",
                                           ".fresh", ".fresh-wal", ".fresh-shm"};
    char path[sizeof sqlite_path + 16];
    char *slash;

    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(path, sizeof path, "%s%s", sqlite_path, suffixes[i]);
        (void)unlink(path);
    }
    snprintf(path, sizeof path, "%s", sqlite_path);
    if ((slash = strrchr(path, '/')) != NULL) {
        *slash = '\0';
        (void)rmdir(path);
    }
}

static int configure(void)
{
    const char *backend = getenv("ADMIT_TEST_STORE");
    const char *primary, *replica;

    memset(&cfg, 0, sizeof cfg);
    if (backend == NULL || backend[0] == '\0' || strcmp(backend, "sqlite") == 0) {
        is_sqlite = true;
        cfg.backend = ADM_STORE_SQLITE;
        snprintf(sqlite_path, sizeof sqlite_path, "%s/store.db", adm_test_tmpdir());
        cfg.sqlite_path = sqlite_path;
        return 0;
    }
    if (strcmp(backend, "mysql") != 0) {
        fprintf(stderr, "ADMIT_TEST_STORE=%s: expected sqlite or mysql\n", backend);
        return 1;
    }
    primary = getenv("ADMIT_TEST_MYSQL_PRIMARY");
    replica = getenv("ADMIT_TEST_MYSQL_REPLICA");
    if (primary == NULL || primary[0] == '\0') {
        printf("SKIP: ADMIT_TEST_MYSQL_PRIMARY is not set\n");
        return 77;
    }
    cfg.backend = ADM_STORE_MYSQL;
    cfg.mysql_primary = primary;
    if (replica != NULL && replica[0] != '\0') {
        cfg.mysql_replicas[0] = replica;
        cfg.n_replicas = 1;
    }
    return 0;
}

int main(void)
{
    uint8_t raw[8];
    adm_err_t r;
    int rc;

    if ((rc = configure()) != 0)
        return rc;
    r = open_store(&st);
    if (r == ADM_ERR_CONFIG && !is_sqlite) {
        printf("SKIP: the mysql store backend is not built in\n");
        return 77;
    }
    if (r != ADM_OK) {
        fprintf(stderr, "cannot open the %s store: %s\n", is_sqlite ? "sqlite" : "mysql",
                adm_strerror(r));
        return 1;
    }
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(run_id, sizeof run_id, raw, sizeof raw);

    ADM_RUN(test_open);
    ADM_RUN(test_venue_event_crud);
    ADM_RUN(test_ticket_type_crud);
    ADM_RUN(test_type_limit_per_event);
    ADM_RUN(test_field_bounds);
    search_setup();
    ADM_RUN(test_search_pagination);
    ADM_RUN(test_search_filters);
    ADM_RUN(test_purchase_flow);
    ADM_RUN(test_multi_item_checkout);
    ADM_RUN(test_order_list);
    ADM_RUN(test_limits);
    ADM_RUN(test_sale_window);
    ADM_RUN(test_not_on_sale);
    ADM_RUN(test_sold_out);
    ADM_RUN(test_hold_expiry_lazy);
    ADM_RUN(test_reaper);
    ADM_RUN(test_order_extend);
    ADM_RUN(test_cancel);
    ADM_RUN(test_refund_and_revocations);
    ADM_RUN(test_users);
    ADM_RUN(test_sessions);
    ADM_RUN(test_idempotency);
    ADM_RUN(test_idempotency_first_writer_wins);
    ADM_RUN(test_event_keys);
    ADM_RUN(test_event_key_add_first);
    ADM_RUN(test_checkin_lists);
    ADM_RUN(test_enrollment_devices);
    ADM_RUN(test_checkins_idempotent);
    ADM_RUN(test_checkin_conflicts);
    ADM_RUN(test_checkins_feed);
    ADM_RUN(test_checkins_by_ticket);
    ADM_RUN(test_checkin_stats);
    ADM_RUN(test_checkins_bad_batch);
    ADM_RUN(test_mirror);
    ADM_RUN(test_settings);
    ADM_RUN(test_concurrent_flash_sale);
    ADM_RUN(test_checkins_concurrent);
    ADM_RUN(test_checkins_big_batch);
    ADM_RUN(test_checkins_many_tickets);
    ADM_RUN(test_checkins_two_events);
    ADM_RUN(test_two_processes);
    ADM_RUN(test_concurrent_migrations);
    ADM_RUN(test_reopen);
    adm_store_close(st);
    if (is_sqlite)
        remove_sqlite_files();
    return adm_test_done();
}
