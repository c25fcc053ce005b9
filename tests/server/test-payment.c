/* test-payment.c: server/payment.c: the registry, the built-in "free" and
 * "manual" providers, and their results recorded in a temporary SQLite
 * store (refs are unique per order, replays are no-ops). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/payment.h"
#include "server/store.h"
#include "tests/testutil/testutil.h"

#define NOW 1767225600

struct fixture {
    adm_store_t *st;
    adm_payments_t *pay;
    int64_t free_type, priced_type, user_id;
};

static void setup(struct fixture *f)
{
    adm_store_config_t cfg = {.backend = ADM_STORE_SQLITE};
    adm_venue_spec_t venue = {.name = "Hall", .city = "Penang", .address = "", .capacity = 100};
    adm_event_spec_t ev = {.title = "Talk",
                           .category = "",
                           .description = "",
                           .starts_at = NOW + 86400,
                           .ends_at = NOW + 90000};
    adm_ticket_type_spec_t type = {
        .name = "Free", .price = 0, .currency = "MYR", .capacity = 20, .per_order_max = 10};
    adm_user_spec_t user = {.email = "a@example.com",
                            .password_hash = "$argon2id$x",
                            .display_name = "",
                            .role = ADM_ROLE_CUSTOMER};
    char path[512];
    int64_t event_id = 0;

    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/admit.db", adm_test_tmpdir());
    cfg.sqlite_path = path;
    CHECK_ERR(adm_store_open(&cfg, &f->st), ADM_OK);
    if (f->st == NULL)
        exit(1);
    CHECK_ERR(adm_store_venue_create(f->st, &venue, NOW, &ev.venue_id), ADM_OK);
    CHECK_ERR(adm_store_event_create(f->st, &ev, NOW, &event_id), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(f->st, event_id, ADM_EVENT_ON_SALE, NOW), ADM_OK);
    type.event_id = event_id;
    CHECK_ERR(adm_store_ticket_type_create(f->st, &type, NOW, &f->free_type), ADM_OK);
    type.name = "Seated";
    type.price = 5000;
    CHECK_ERR(adm_store_ticket_type_create(f->st, &type, NOW, &f->priced_type), ADM_OK);
    CHECK_ERR(adm_store_user_create(f->st, &user, NOW, &f->user_id), ADM_OK);
    CHECK_ERR(adm_payments_new(&f->pay), ADM_OK);
}

static void teardown(struct fixture *f)
{
    adm_payments_free(f->pay);
    adm_store_close(f->st);
}

static void pending_order(struct fixture *f, int64_t type_id, int32_t quantity, adm_order_t *o)
{
    adm_hold_t hold;
    const char *ids[1];

    CHECK_ERR(adm_store_hold_create(f->st, f->user_id, type_id, quantity, 600, NOW, &hold), ADM_OK);
    ids[0] = hold.id;
    CHECK_ERR(adm_store_checkout(f->st, f->user_id, ids, 1, 0, NOW, o), ADM_OK);
}

static void test_registry(void)
{
    adm_payments_t *p = NULL;
    const adm_payment_provider_t *free_p, *manual;

    CHECK_ERR(adm_payments_new(&p), ADM_OK);
    CHECK_INT(adm_payments_count(p), 2);
    free_p = adm_payments_find(p, "free");
    manual = adm_payments_find(p, "manual");
    CHECK(free_p != NULL && manual != NULL);
    CHECK(free_p == adm_payments_at(p, 0) && manual == adm_payments_at(p, 1));
    CHECK(adm_payments_at(p, 2) == NULL);
    CHECK(!free_p->organiser_confirms);
    CHECK(manual->organiser_confirms);
    /* a bank transfer keeps its seats for days, a free order needs no wait */
    CHECK_INT(free_p->pending_ttl_s, 0);
    CHECK_INT(manual->pending_ttl_s, ADM_PAYMENT_MANUAL_TTL_DEFAULT);
    CHECK_INT(ADM_PAYMENT_MANUAL_TTL_DEFAULT, 3 * 86400);
    CHECK(ADM_PAYMENT_MANUAL_TTL_DEFAULT <= ADM_STORE_PAY_TTL_MAX);
    CHECK_ERR(adm_payments_set_pending_ttl(p, "manual", 5 * 86400), ADM_OK);
    CHECK_INT(manual->pending_ttl_s, 5 * 86400);
    CHECK_ERR(adm_payments_set_pending_ttl(p, "manual", 0), ADM_OK);
    CHECK_INT(manual->pending_ttl_s, 0);
    CHECK_ERR(adm_payments_set_pending_ttl(p, "manual", ADM_STORE_PAY_TTL_MAX + 1),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_payments_set_pending_ttl(p, "manual", -1), ADM_ERR_INVALID_ARG);
    CHECK_INT(manual->pending_ttl_s, 0);
    CHECK_ERR(adm_payments_set_pending_ttl(p, "card", 60), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_payments_set_pending_ttl(p, NULL, 60), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_payments_set_pending_ttl(NULL, "manual", 60), ADM_ERR_INVALID_ARG);
    CHECK(adm_payments_find(p, "card") == NULL);
    CHECK(adm_payments_find(p, "FREE") == NULL);
    CHECK(adm_payments_find(p, NULL) == NULL);
    CHECK(adm_payments_find(NULL, "free") == NULL);
    CHECK_STR(adm_payment_status_name(ADM_PAYMENT_PENDING), "pending");
    CHECK_STR(adm_payment_status_name(ADM_PAYMENT_PAID), "paid");
    CHECK_STR(adm_payment_status_name(ADM_PAYMENT_FAILED), "failed");
    CHECK_STR(adm_payment_status_name((adm_payment_status_t)9), "unknown");
    adm_payments_free(p);
    adm_payments_free(NULL);
    CHECK_ERR(adm_payments_new(NULL), ADM_ERR_INVALID_ARG);
}

/* A stand-in gateway: declines orders over a limit, counts its calls, and
 * owns heap state the registry must free. */
struct gw {
    int starts, refunds;
    int *freed;
};

static adm_err_t gw_start(void *state, const adm_order_t *o, adm_payment_result_t *out)
{
    struct gw *g = state;

    memset(out, 0, sizeof *out);
    g->starts++;
    out->status = o->total > 100000 ? ADM_PAYMENT_FAILED : ADM_PAYMENT_PENDING;
    snprintf(out->ref, sizeof out->ref, "gw_%s", o->code);
    snprintf(out->redirect_url, sizeof out->redirect_url, "https://pay.example/%s", o->code);
    return ADM_OK;
}

static adm_err_t gw_confirm(void *state, const adm_order_t *o, adm_payment_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->status = ADM_PAYMENT_PAID;
    snprintf(out->ref, sizeof out->ref, "gw_%s", o->code);
    return ADM_OK;
}

static adm_err_t gw_refund(void *state, const adm_order_t *o, adm_payment_result_t *out)
{
    struct gw *g = state;

    g->refunds++;
    return gw_confirm(state, o, out);
}

static void gw_free(void *state)
{
    struct gw *g = state;

    (*g->freed)++;
    free(g);
}

static void test_register(void)
{
    adm_payments_t *p = NULL;
    adm_payment_provider_t prov = {.name = "gw",
                                   .start = gw_start,
                                   .confirm = gw_confirm,
                                   .refund = gw_refund,
                                   .free_state = gw_free};
    adm_order_t o = {.id = 1, .code = "A7K3-9QXM", .total = 500};
    adm_payment_result_t r;
    const adm_payment_provider_t *found;
    struct gw *g;
    int freed = 0;
    size_t i;

    CHECK_ERR(adm_payments_new(&p), ADM_OK);
    g = calloc(1, sizeof *g);
    if (g == NULL)
        exit(1);
    g->freed = &freed;
    prov.state = g;
    CHECK_ERR(adm_payments_register(p, &prov), ADM_OK);
    found = adm_payments_find(p, "gw");
    CHECK(found != NULL);
    if (found != NULL) {
        CHECK_ERR(found->start(found->state, &o, &r), ADM_OK);
        CHECK_INT(r.status, ADM_PAYMENT_PENDING);
        CHECK_STR(r.ref, "gw_A7K3-9QXM");
        CHECK_STR(r.redirect_url, "https://pay.example/A7K3-9QXM");
        o.total = 200000;
        CHECK_ERR(found->start(found->state, &o, &r), ADM_OK);
        CHECK_INT(r.status, ADM_PAYMENT_FAILED);
        CHECK_INT(g->starts, 2);
    }

    /* refused registrations free the state they were given */
    prov.state = calloc(1, sizeof(struct gw));
    if (prov.state == NULL)
        exit(1);
    ((struct gw *)prov.state)->freed = &freed;
    CHECK_ERR(adm_payments_register(p, &prov), ADM_ERR_EXISTS);
    CHECK_INT(freed, 1);
    {
        const char *bad[] = {
            "", "Card", "with space", "x/y", "a-name-longer-than-thirty-two-chars", NULL};
        for (i = 0; bad[i] != NULL; i++) {
            adm_payment_provider_t b = prov;
            b.name = bad[i];
            b.state = NULL;
            b.free_state = NULL;
            CHECK_ERR(adm_payments_register(p, &b), ADM_ERR_INVALID_ARG);
        }
    }
    {
        adm_payment_provider_t b = {.name = "nostart", .confirm = gw_confirm, .refund = gw_refund};
        CHECK_ERR(adm_payments_register(p, &b), ADM_ERR_INVALID_ARG);
    }
    {
        /* a pending window the store cannot keep an order for */
        adm_payment_provider_t b = {.name = "slow",
                                    .pending_ttl_s = ADM_STORE_PAY_TTL_MAX + 1,
                                    .start = gw_start,
                                    .confirm = gw_confirm,
                                    .refund = gw_refund};
        CHECK_ERR(adm_payments_register(p, &b), ADM_ERR_INVALID_ARG);
        b.pending_ttl_s = -1;
        CHECK_ERR(adm_payments_register(p, &b), ADM_ERR_INVALID_ARG);
    }
    /* the registry is bounded */
    {
        static const char *names[] = {"p0", "p1", "p2", "p3",  "p4",  "p5",  "p6",
                                      "p7", "p8", "p9", "p10", "p11", "p12", "p13"};
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            adm_payment_provider_t b = {
                .name = names[i], .start = gw_start, .confirm = gw_confirm, .refund = gw_refund};
            adm_err_t want = adm_payments_count(p) < ADM_PAYMENTS_MAX ? ADM_OK : ADM_ERR_TOO_BIG;
            CHECK_ERR(adm_payments_register(p, &b), want);
        }
        CHECK_INT(adm_payments_count(p), ADM_PAYMENTS_MAX);
    }
    adm_payments_free(p);
    CHECK_INT(freed, 2);
}

/* "free": only for a zero total, paid at once with a ref unique per order;
 * recording it twice is a no-op and creates no extra tickets. */
static void test_free(void)
{
    struct fixture f;
    const adm_payment_provider_t *p;
    adm_payment_result_t r;
    adm_order_t o1, o2, priced, paid;
    adm_store_ticket_t *t = NULL;
    size_t n = 0;

    setup(&f);
    p = adm_payments_find(f.pay, "free");
    pending_order(&f, f.free_type, 2, &o1);
    pending_order(&f, f.free_type, 1, &o2);
    pending_order(&f, f.priced_type, 1, &priced);
    CHECK_INT(o1.total, 0);
    CHECK_INT(priced.total, 5000);

    CHECK_ERR(p->start(p->state, &priced, &r), ADM_ERR_INVALID_ARG);
    CHECK_INT(r.status, ADM_PAYMENT_PENDING);
    CHECK_STR(r.ref, "");
    CHECK_ERR(p->confirm(p->state, &priced, &r), ADM_ERR_INVALID_ARG);

    CHECK_ERR(p->start(p->state, &o1, &r), ADM_OK);
    CHECK_INT(r.status, ADM_PAYMENT_PAID);
    CHECK(strncmp(r.ref, "free:", 5) == 0 && strcmp(r.ref + 5, o1.code) == 0);
    CHECK_ERR(adm_store_order_pay(f.st, o1.id, p->name, r.ref, NOW, &paid), ADM_OK);
    CHECK_INT(paid.state, ADM_ORDER_PAID);
    CHECK_STR(paid.provider, "free");
    CHECK_STR(paid.provider_ref, r.ref);
    /* a replay records nothing new */
    CHECK_ERR(adm_store_order_pay(f.st, o1.id, p->name, r.ref, NOW, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_tickets(f.st, ADM_READ_HINT_PRIMARY, 0, o1.id, &t, &n), ADM_OK);
    CHECK_INT(n, 2);
    free(t);

    /* another order gets another ref, so refs never collide */
    {
        adm_payment_result_t r2;
        CHECK_ERR(p->start(p->state, &o2, &r2), ADM_OK);
        CHECK(strcmp(r.ref, r2.ref) != 0);
        /* a ref that paid one order cannot pay another */
        CHECK_ERR(adm_store_order_pay(f.st, o2.id, p->name, r.ref, NOW, NULL), ADM_ERR_EXISTS);
        CHECK_ERR(adm_store_order_pay(f.st, o2.id, p->name, r2.ref, NOW, NULL), ADM_OK);
    }

    CHECK_ERR(p->refund(p->state, &paid, &r), ADM_OK);
    CHECK_INT(r.status, ADM_PAYMENT_PAID);
    teardown(&f);
}

/* "manual": pending until an organiser confirms, then paid; refund gives
 * a PAID ("refunded") result so the store refund can follow. */
static void test_manual(void)
{
    struct fixture f;
    const adm_payment_provider_t *p;
    adm_payment_result_t r, c;
    adm_order_t o, cur;
    size_t revoked = 0;

    setup(&f);
    p = adm_payments_find(f.pay, "manual");
    pending_order(&f, f.priced_type, 3, &o);
    CHECK_ERR(p->start(p->state, &o, &r), ADM_OK);
    CHECK_INT(r.status, ADM_PAYMENT_PENDING);
    CHECK(strstr(r.ref, o.code) != NULL);
    CHECK(r.message[0] != '\0');
    CHECK_ERR(adm_store_order_get(f.st, ADM_READ_HINT_PRIMARY, 0, o.id, &cur), ADM_OK);
    CHECK_INT(cur.state, ADM_ORDER_PENDING);

    CHECK_ERR(p->confirm(p->state, &o, &c), ADM_OK);
    CHECK_INT(c.status, ADM_PAYMENT_PAID);
    CHECK_STR(c.ref, r.ref);
    CHECK_ERR(adm_store_order_pay(f.st, o.id, p->name, c.ref, NOW + 60, &cur), ADM_OK);
    CHECK_INT(cur.state, ADM_ORDER_PAID);
    CHECK_INT(cur.total, 15000);
    /* a second confirmation is a no-op */
    CHECK_ERR(adm_store_order_pay(f.st, o.id, p->name, c.ref, NOW + 61, NULL), ADM_OK);

    CHECK_ERR(p->refund(p->state, &cur, &r), ADM_OK);
    CHECK_INT(r.status, ADM_PAYMENT_PAID);
    CHECK_ERR(adm_store_order_refund(f.st, o.id, NOW + 120, &revoked), ADM_OK);
    CHECK_INT(revoked, 3);
    CHECK_ERR(adm_store_order_get(f.st, ADM_READ_HINT_PRIMARY, 0, o.id, &cur), ADM_OK);
    CHECK_INT(cur.state, ADM_ORDER_REFUNDED);
    teardown(&f);
}

int main(void)
{
    ADM_RUN(test_registry);
    ADM_RUN(test_register);
    ADM_RUN(test_free);
    ADM_RUN(test_manual);
    return adm_test_done();
}
