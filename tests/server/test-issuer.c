/* test-issuer.c: server/issuer.c against a temporary SQLite store: first
 * key on first use (also racing threads and two issuers on one database),
 * signing paid tickets, rotation, retirement, the recovery sweep. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/issuer.h"
#include "server/store.h"
#include "sync/keyring.h"
#include "sync/token.h"
#include "tests/testutil/testutil.h"

#define NOW 1767225600 /* 2026-01-01 */
#define EV_START (NOW + 30 * 86400)
#define EV_END (EV_START + 4 * 3600)

static char db_path[512];

struct fixture {
    adm_store_t *st;
    adm_issuer_t *is;
    int64_t event_id, type_id, user_id;
};

static adm_store_t *open_store(void)
{
    adm_store_config_t cfg = {.backend = ADM_STORE_SQLITE, .sqlite_path = db_path};
    adm_store_t *st = NULL;

    CHECK_ERR(adm_store_open(&cfg, &st), ADM_OK);
    if (st == NULL)
        exit(1);
    return st;
}

/* A fresh database with one on-sale event, a free ticket type of capacity
 * capacity and a customer. */
static void setup(struct fixture *f, int64_t capacity, int64_t starts_at)
{
    adm_venue_spec_t venue = {
        .name = "Hall", .city = "Kuala Lumpur", .address = "", .capacity = 1000};
    adm_event_spec_t ev = {.title = "Concert",
                           .category = "music",
                           .description = "",
                           .starts_at = starts_at,
                           .ends_at = starts_at + 4 * 3600};
    adm_ticket_type_spec_t type = {.name = "General",
                                   .price = 0,
                                   .currency = "MYR",
                                   .capacity = capacity,
                                   .per_order_max = 100};
    adm_user_spec_t user = {.email = "buyer@example.com",
                            .password_hash = "$argon2id$x",
                            .display_name = "Buyer",
                            .role = ADM_ROLE_CUSTOMER};

    snprintf(db_path, sizeof db_path, "%s/admit.db", adm_test_tmpdir());
    memset(f, 0, sizeof *f);
    f->st = open_store();
    CHECK_ERR(adm_store_venue_create(f->st, &venue, NOW, &ev.venue_id), ADM_OK);
    CHECK_ERR(adm_store_event_create(f->st, &ev, NOW, &f->event_id), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(f->st, f->event_id, ADM_EVENT_ON_SALE, NOW), ADM_OK);
    type.event_id = f->event_id;
    CHECK_ERR(adm_store_ticket_type_create(f->st, &type, NOW, &f->type_id), ADM_OK);
    CHECK_ERR(adm_store_user_create(f->st, &user, NOW, &f->user_id), ADM_OK);
    CHECK_ERR(adm_issuer_new(f->st, &f->is), ADM_OK);
}

static void teardown(struct fixture *f)
{
    adm_issuer_free(f->is);
    adm_store_close(f->st);
}

/* A second event (same venue) on f's store. */
static int64_t add_event(struct fixture *f)
{
    adm_event_t ev;
    adm_event_spec_t spec = {.title = "Second",
                             .category = "",
                             .description = "",
                             .starts_at = EV_START,
                             .ends_at = EV_END};
    int64_t id = 0;

    CHECK_ERR(adm_store_event_get(f->st, ADM_READ_HINT_PRIMARY, f->event_id, &ev), ADM_OK);
    spec.venue_id = ev.venue_id;
    CHECK_ERR(adm_store_event_create(f->st, &spec, NOW, &id), ADM_OK);
    return id;
}

/* Holds quantity tickets, checks out and pays (unsigned tickets). */
static int64_t buy(struct fixture *f, int32_t quantity)
{
    adm_hold_t hold;
    adm_order_t order;
    const char *ids[1];
    char ref[64];

    CHECK_ERR(adm_store_hold_create(f->st, f->user_id, f->type_id, quantity, 600, NOW, &hold),
              ADM_OK);
    ids[0] = hold.id;
    CHECK_ERR(adm_store_checkout(f->st, f->user_id, ids, 1, 0, NOW, &order), ADM_OK);
    snprintf(ref, sizeof ref, "free:%s", order.code);
    CHECK_ERR(adm_store_order_pay(f->st, order.id, "free", ref, NOW, NULL), ADM_OK);
    return order.id;
}

static adm_keyring_t *public_keyring(struct fixture *f, int64_t event_id)
{
    adm_keyring_t *kr = NULL;
    char *json = NULL;
    size_t len = 0;

    CHECK_ERR(adm_issuer_public_json(f->is, event_id, NOW, &json, &len), ADM_OK);
    CHECK_ERR(adm_keyring_new(&kr), ADM_OK);
    CHECK(json != NULL && len == strlen(json));
    if (json != NULL)
        CHECK_ERR(adm_keyring_load_public_json(kr, json, len), ADM_OK);
    free(json);
    return kr;
}

static size_t order_tickets(struct fixture *f, int64_t order_id, adm_store_ticket_t **t)
{
    size_t n = 0;

    CHECK_ERR(adm_store_order_tickets(f->st, ADM_READ_HINT_PRIMARY, 0, order_id, t, &n), ADM_OK);
    return n;
}

static size_t key_count(struct fixture *f, int64_t event_id)
{
    adm_event_key_t *keys = NULL;
    size_t n = 0;

    CHECK_ERR(adm_store_event_key_list(f->st, ADM_READ_HINT_PRIMARY, event_id, &keys, &n), ADM_OK);
    adm_store_event_keys_free(keys, n);
    return n;
}

static void test_kid_text(void)
{
    char s[ADM_ISSUER_KID_TEXT];
    uint32_t kid = 0;

    adm_issuer_kid_text(0x9d24e2eeu, s);
    CHECK_STR(s, "9d24e2ee");
    adm_issuer_kid_text(0x1u, s);
    CHECK_STR(s, "00000001");
    CHECK(adm_issuer_kid_parse("9d24e2ee", &kid));
    CHECK_INT(kid, 0x9d24e2eeu);
    CHECK(!adm_issuer_kid_parse("9D24E2EE", &kid));
    CHECK(!adm_issuer_kid_parse("00000000", &kid));
    CHECK(!adm_issuer_kid_parse("9d24e2e", &kid));
    CHECK(!adm_issuer_kid_parse("9d24e2eee", &kid));
    CHECK(!adm_issuer_kid_parse("9d24e2eg", &kid));
    CHECK(!adm_issuer_kid_parse(NULL, &kid));
}

static void test_first_key(void)
{
    struct fixture f;
    adm_event_key_t *keys = NULL;
    adm_keyring_t *kr;
    uint32_t kid = 0, again = 0, signing = 0;
    char *json = NULL;
    size_t n = 0;

    setup(&f, 10, EV_START);
    CHECK_INT(key_count(&f, f.event_id), 0);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &kid), ADM_OK);
    CHECK(kid != 0);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW + 5, &again), ADM_OK);
    CHECK_INT(again, kid);
    CHECK_ERR(adm_store_event_key_list(f.st, ADM_READ_HINT_PRIMARY, f.event_id, &keys, &n), ADM_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(keys[0].kid, kid);
        CHECK_INT(keys[0].created, NOW);
        CHECK(!keys[0].retired);
    }
    adm_store_event_keys_free(keys, n);

    /* the public document: one active key, the store's created time, no secret */
    CHECK_ERR(adm_issuer_public_json(f.is, f.event_id, NOW, &json, NULL), ADM_OK);
    CHECK(json != NULL && strstr(json, "\"created\": 1767225600") != NULL);
    CHECK(json != NULL && strstr(json, "admit-keyring") != NULL);
    free(json);
    kr = public_keyring(&f, f.event_id);
    CHECK_INT(adm_keyring_count(kr), 1);
    CHECK_ERR(adm_keyring_signing_kid(kr, &signing), ADM_ERR_NOT_FOUND); /* public only */
    adm_keyring_free(kr);

    /* a new event's document already holds its first key */
    {
        int64_t other = add_event(&f);
        kr = public_keyring(&f, other);
        CHECK_INT(adm_keyring_count(kr), 1);
        CHECK_INT(key_count(&f, other), 1);
        adm_keyring_free(kr);
    }

    CHECK_ERR(adm_issuer_signing_kid(f.is, 999999, NOW, &kid), ADM_ERR_NOT_FOUND);
    CHECK_INT(kid, 0);
    CHECK_ERR(adm_issuer_public_json(f.is, 999999, NOW, &json, NULL), ADM_ERR_NOT_FOUND);
    CHECK(json == NULL);
    CHECK_ERR(adm_issuer_rotate(f.is, 999999, NOW, &kid), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_issuer_retire(f.is, 999999, 1, NOW), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_issuer_signing_kid(NULL, f.event_id, NOW, &kid), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_issuer_signing_kid(f.is, 0, NOW, &kid), ADM_ERR_INVALID_ARG);
    teardown(&f);
}

struct race {
    adm_issuer_t *is;
    int64_t event_id;
    uint32_t kid;
    adm_err_t rc;
    pthread_barrier_t *go;
};

static void *race_main(void *arg)
{
    struct race *r = arg;

    pthread_barrier_wait(r->go);
    r->rc = adm_issuer_signing_kid(r->is, r->event_id, NOW, &r->kid);
    return NULL;
}

/* Many threads of one issuer ask for a new event's key at once: one key. */
static void test_first_key_threads(void)
{
    enum { N = 16 };
    struct fixture f;
    struct race r[N];
    pthread_t th[N];
    pthread_barrier_t go;
    int i;

    setup(&f, 10, EV_START);
    pthread_barrier_init(&go, NULL, N);
    for (i = 0; i < N; i++) {
        r[i] = (struct race){.is = f.is, .event_id = f.event_id, .go = &go};
        CHECK_INT(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    }
    for (i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < N; i++) {
        CHECK_ERR(r[i].rc, ADM_OK);
        CHECK_INT(r[i].kid, r[0].kid);
    }
    CHECK_INT(key_count(&f, f.event_id), 1);
    pthread_barrier_destroy(&go);
    teardown(&f);
}

/* Two issuers, each on its own connection to one database file (as two
 * admitd processes): racing first use stores exactly one key (the store's
 * add_first), every thread of either signs with it, and it is published. */
static void test_first_key_two_processes(void)
{
    enum { N = 8 };
    struct fixture f;
    adm_store_t *st2;
    adm_issuer_t *is2 = NULL;
    struct race r[N];
    pthread_t th[N];
    pthread_barrier_t go;
    uint32_t k1 = 0, k2 = 0;
    adm_keyring_t *kr;
    size_t keys;
    int i;

    setup(&f, 10, EV_START);
    st2 = open_store();
    CHECK_ERR(adm_issuer_new(st2, &is2), ADM_OK);
    pthread_barrier_init(&go, NULL, N);
    for (i = 0; i < N; i++) {
        r[i] = (struct race){.is = i % 2 ? is2 : f.is, .event_id = f.event_id, .go = &go};
        CHECK_INT(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    }
    for (i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < N; i++) {
        CHECK_ERR(r[i].rc, ADM_OK);
        CHECK_INT(r[i].kid, r[0].kid);
    }
    keys = key_count(&f, f.event_id);
    CHECK_INT(keys, 1);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &k1), ADM_OK);
    CHECK_ERR(adm_issuer_signing_kid(is2, f.event_id, NOW, &k2), ADM_OK);
    CHECK_INT(k1, k2);
    CHECK_INT(k1, r[0].kid);
    kr = public_keyring(&f, f.event_id);
    CHECK_INT(adm_keyring_count(kr), keys);
    for (i = 0; i < N; i++) {
        uint8_t msg = 0, sig[ADM_SIGNATURE_BYTES] = {0};
        /* every key a thread saw is published (verify says "bad signature",
         * not "unknown key") */
        CHECK_ERR(adm_keyring_verify(kr, r[i].kid, &msg, 1, sig), ADM_ERR_TOKEN_SIGNATURE);
    }
    adm_keyring_free(kr);

    /* a rotation by one process is used by the other at its next signature */
    CHECK_ERR(adm_issuer_rotate(is2, f.event_id, NOW, &k2), ADM_OK);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &k1), ADM_OK);
    CHECK_INT(k1, k2);
    /* and a retirement too: the first process makes the successor */
    CHECK_ERR(adm_issuer_retire(is2, f.event_id, k2, NOW), ADM_OK);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &k1), ADM_OK);
    CHECK(k1 != k2);
    CHECK_ERR(adm_issuer_signing_kid(is2, f.event_id, NOW, &k2), ADM_OK);
    CHECK_INT(k1, k2);

    /* a second event's first key, raced by N issuers on N stores: one key */
    {
        enum { M = 4 };
        adm_store_t *sts[M] = {NULL};
        adm_issuer_t *iss[M] = {NULL};
        struct race rr[2 * M];
        pthread_t tt[2 * M];
        pthread_barrier_t go2;
        int64_t ev2 = add_event(&f);
        int k;

        for (k = 0; k < M; k++) {
            sts[k] = open_store();
            CHECK_ERR(adm_issuer_new(sts[k], &iss[k]), ADM_OK);
        }
        pthread_barrier_init(&go2, NULL, 2 * M);
        for (k = 0; k < 2 * M; k++) {
            rr[k] = (struct race){.is = iss[k % M], .event_id = ev2, .go = &go2};
            CHECK_INT(pthread_create(&tt[k], NULL, race_main, &rr[k]), 0);
        }
        for (k = 0; k < 2 * M; k++)
            pthread_join(tt[k], NULL);
        for (k = 0; k < 2 * M; k++) {
            CHECK_ERR(rr[k].rc, ADM_OK);
            CHECK_INT(rr[k].kid, rr[0].kid);
        }
        CHECK_INT(key_count(&f, ev2), 1);
        pthread_barrier_destroy(&go2);
        for (k = 0; k < M; k++) {
            adm_issuer_free(iss[k]);
            adm_store_close(sts[k]);
        }
    }

    pthread_barrier_destroy(&go);
    adm_issuer_free(is2);
    adm_store_close(st2);
    teardown(&f);
}

static void test_sign_order(void)
{
    struct fixture f;
    adm_store_ticket_t *t = NULL;
    adm_keyring_t *kr;
    adm_ticket_t dec, want;
    size_t n, i, signed_n = 0;
    uint32_t kid = 0;
    int64_t order;

    setup(&f, 10, EV_START);
    order = buy(&f, 3);
    n = order_tickets(&f, order, &t);
    CHECK_INT(n, 3);
    for (i = 0; i < n; i++)
        CHECK(t[i].token[0] == '\0' && t[i].key_id == 0);
    free(t);

    CHECK_ERR(adm_issuer_sign_order(f.is, order, NOW, &signed_n), ADM_OK);
    CHECK_INT(signed_n, 3);
    CHECK_ERR(adm_issuer_sign_order(f.is, order, NOW, &signed_n), ADM_OK); /* nothing left */
    CHECK_INT(signed_n, 0);
    CHECK_ERR(adm_issuer_sign_order(f.is, 424242, NOW, &signed_n), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &kid), ADM_OK);

    kr = public_keyring(&f, f.event_id);
    n = order_tickets(&f, order, &t);
    for (i = 0; i < n; i++) {
        CHECK_INT(t[i].key_id, kid);
        CHECK_ERR(adm_token_decode(t[i].token, strlen(t[i].token), kr, &dec), ADM_OK);
        CHECK_INT(dec.key_id, kid);
        CHECK_INT(dec.event_id, f.event_id);
        CHECK_INT(dec.ticket_id, t[i].id);
        CHECK_INT(dec.type_id, f.type_id);
        CHECK_INT(dec.flags, 0);
        CHECK(dec.has_valid_from && dec.has_valid_until);
        CHECK_INT(dec.valid_from, EV_START - ADM_ISSUER_VALID_BEFORE_S);
        CHECK_INT(dec.valid_until, EV_END + ADM_ISSUER_VALID_AFTER_S);
        CHECK_STR(dec.label, "");
        CHECK_ERR(adm_issuer_ticket_payload(f.is, &t[i], &want), ADM_OK);
        CHECK_INT(want.valid_from, dec.valid_from);
        /* signing again leaves the token alone */
        {
            adm_store_ticket_t copy = t[i];
            CHECK_ERR(adm_issuer_sign_ticket(f.is, &copy, NOW), ADM_OK);
            CHECK_STR(copy.token, t[i].token);
        }
    }
    free(t);
    adm_keyring_free(kr);
    teardown(&f);
}

/* A ticket type's attributes reach its tokens: special and re-entry flags,
 * the seat/zone label; changing the type changes tickets signed afterwards. */
static void test_type_attributes(void)
{
    struct fixture f;
    adm_ticket_type_t tt;
    adm_ticket_type_spec_t spec;
    adm_store_ticket_t *t = NULL;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    size_t n;
    int64_t order;

    setup(&f, 10, EV_START);
    CHECK_ERR(adm_store_ticket_type_get(f.st, ADM_READ_HINT_PRIMARY, f.type_id, &tt), ADM_OK);
    spec = (adm_ticket_type_spec_t){.name = tt.name, .price = tt.price, .currency = tt.currency,
                                    .capacity = tt.capacity, .per_order_max = tt.per_order_max,
                                    .special = true, .reentry = true, .zone = "Wheelchair Bay 2"};
    CHECK_ERR(adm_store_ticket_type_update(f.st, f.type_id, &spec, NOW), ADM_OK);
    order = buy(&f, 2);
    CHECK_ERR(adm_issuer_sign_order(f.is, order, NOW, NULL), ADM_OK);
    kr = public_keyring(&f, f.event_id);
    n = order_tickets(&f, order, &t);
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK_ERR(adm_token_decode(t[i].token, strlen(t[i].token), kr, &dec), ADM_OK);
        CHECK_INT(dec.flags, ADM_TICKET_SPECIAL | ADM_TICKET_REENTRY);
        CHECK_STR(dec.label, "Wheelchair Bay 2");
    }
    free(t);
    adm_keyring_free(kr);
    teardown(&f);
}

/* An event starting within the first hours of 1970 clamps valid_from to 0. */
static void test_window_clamp(void)
{
    struct fixture f;
    adm_store_ticket_t t = {.id = 77, .type_id = 1, .status = ADM_TICKET_VALID};
    adm_ticket_t p;

    setup(&f, 10, 3600);
    t.event_id = f.event_id;
    CHECK_ERR(adm_issuer_ticket_payload(f.is, &t, &p), ADM_OK);
    CHECK_INT(p.valid_from, 0);
    CHECK_INT(p.valid_until, 3600 + 4 * 3600 + ADM_ISSUER_VALID_AFTER_S);
    t.type_id = (int64_t)UINT32_MAX + 1;
    CHECK_ERR(adm_issuer_ticket_payload(f.is, &t, &p), ADM_ERR_TOKEN_FIELD);
    CHECK_INT(p.event_id, 0);
    t.type_id = 1;
    t.event_id = 123456;
    CHECK_ERR(adm_issuer_ticket_payload(f.is, &t, &p), ADM_ERR_NOT_FOUND);
    t.event_id = f.event_id;
    t.type_id = f.type_id + 1000; /* no such type */
    CHECK_ERR(adm_issuer_ticket_payload(f.is, &t, &p), ADM_ERR_NOT_FOUND);
    teardown(&f);
}

static void test_rotate_retire(void)
{
    struct fixture f;
    adm_store_ticket_t *t1 = NULL, *t2 = NULL, *t3 = NULL;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    uint32_t k1 = 0, k2 = 0, k3 = 0, k4 = 0, cur = 0;
    int64_t o1, o2, o3, other;
    size_t n1, n2, n3, i;

    setup(&f, 20, EV_START);
    o1 = buy(&f, 2);
    CHECK_ERR(adm_issuer_sign_order(f.is, o1, NOW, NULL), ADM_OK);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &k1), ADM_OK);

    /* rotate twice within one second: the last rotation signs */
    CHECK_ERR(adm_issuer_rotate(f.is, f.event_id, NOW, &k2), ADM_OK);
    CHECK(k2 != 0 && k2 != k1);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &cur), ADM_OK);
    CHECK_INT(cur, k2);
    CHECK_ERR(adm_issuer_rotate(f.is, f.event_id, NOW, &k3), ADM_OK);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &cur), ADM_OK);
    CHECK_INT(cur, k3);
    CHECK_INT(key_count(&f, f.event_id), 3);

    o2 = buy(&f, 2);
    CHECK_ERR(adm_issuer_sign_order(f.is, o2, NOW, NULL), ADM_OK);
    n1 = order_tickets(&f, o1, &t1);
    n2 = order_tickets(&f, o2, &t2);

    /* old and new tickets verify against the new keyring */
    kr = public_keyring(&f, f.event_id);
    CHECK_INT(adm_keyring_count(kr), 3);
    for (i = 0; i < n1; i++) {
        CHECK_INT(t1[i].key_id, k1);
        CHECK_ERR(adm_token_decode(t1[i].token, strlen(t1[i].token), kr, &dec), ADM_OK);
    }
    for (i = 0; i < n2; i++) {
        CHECK_INT(t2[i].key_id, k3);
        CHECK_ERR(adm_token_decode(t2[i].token, strlen(t2[i].token), kr, &dec), ADM_OK);
        CHECK_INT(dec.key_id, k3);
    }
    adm_keyring_free(kr);

    /* retire k1: its tickets stop verifying, the others do not */
    CHECK_ERR(adm_issuer_retire(f.is, f.event_id, k1, NOW), ADM_OK);
    CHECK_ERR(adm_issuer_retire(f.is, f.event_id, k1, NOW), ADM_OK); /* idempotent */
    kr = public_keyring(&f, f.event_id);
    CHECK_INT(adm_keyring_count(kr), 3);
    for (i = 0; i < n1; i++)
        CHECK_ERR(adm_token_decode(t1[i].token, strlen(t1[i].token), kr, &dec),
                  ADM_ERR_TOKEN_KEY_RETIRED);
    for (i = 0; i < n2; i++)
        CHECK_ERR(adm_token_decode(t2[i].token, strlen(t2[i].token), kr, &dec), ADM_OK);
    adm_keyring_free(kr);

    /* retire the signing key k3: k2 signs again (newest active) */
    CHECK_ERR(adm_issuer_retire(f.is, f.event_id, k3, NOW), ADM_OK);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &cur), ADM_OK);
    CHECK_INT(cur, k2);
    /* retire the last active key: a successor is made at once */
    CHECK_ERR(adm_issuer_retire(f.is, f.event_id, k2, NOW + 10), ADM_OK);
    CHECK_INT(key_count(&f, f.event_id), 4);
    CHECK_ERR(adm_issuer_signing_kid(f.is, f.event_id, NOW, &k4), ADM_OK);
    CHECK(k4 != k1 && k4 != k2 && k4 != k3);
    o3 = buy(&f, 1);
    CHECK_ERR(adm_issuer_sign_order(f.is, o3, NOW, NULL), ADM_OK);
    n3 = order_tickets(&f, o3, &t3);
    kr = public_keyring(&f, f.event_id);
    for (i = 0; i < n3; i++) {
        CHECK_INT(t3[i].key_id, k4);
        CHECK_ERR(adm_token_decode(t3[i].token, strlen(t3[i].token), kr, &dec), ADM_OK);
    }
    for (i = 0; i < n2; i++)
        CHECK_ERR(adm_token_decode(t2[i].token, strlen(t2[i].token), kr, &dec),
                  ADM_ERR_TOKEN_KEY_RETIRED);
    adm_keyring_free(kr);

    /* a key of another event, or no key at all */
    other = add_event(&f);
    CHECK_ERR(adm_issuer_retire(f.is, other, k4, NOW), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_issuer_retire(f.is, f.event_id, 0x12345678u, NOW), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_issuer_retire(f.is, f.event_id, 0, NOW), ADM_ERR_INVALID_ARG);

    free(t1);
    free(t2);
    free(t3);
    teardown(&f);
}

/* A paid order whose tickets were never signed (crash after payment): the
 * sweep finds and signs them; revoked ones are left alone. */
static void test_sweep(void)
{
    struct fixture f;
    adm_store_ticket_t *t = NULL, *u = NULL;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    size_t n, nu = 0, signed_n = 0, i;
    int64_t o1, o2;

    setup(&f, 300, EV_START);
    o1 = buy(&f, 100);
    o2 = buy(&f, 60);
    n = order_tickets(&f, o2, &t);
    CHECK_INT(n, 60);
    CHECK_ERR(adm_store_ticket_revoke(f.st, t[0].id, NOW, NULL), ADM_OK);
    free(t);

    CHECK_ERR(adm_store_ticket_list_unsigned(f.st, 100, &u, &nu), ADM_OK);
    CHECK_INT(nu, 100);
    free(u);
    CHECK_ERR(adm_issuer_sign_unsigned(f.is, NOW, &signed_n), ADM_OK);
    CHECK_INT(signed_n, 159);
    CHECK_ERR(adm_store_ticket_list_unsigned(f.st, 100, &u, &nu), ADM_OK);
    CHECK_INT(nu, 0);
    free(u);
    CHECK_ERR(adm_issuer_sign_unsigned(f.is, NOW, &signed_n), ADM_OK);
    CHECK_INT(signed_n, 0);

    kr = public_keyring(&f, f.event_id);
    n = order_tickets(&f, o1, &t);
    for (i = 0; i < n; i++)
        CHECK_ERR(adm_token_decode(t[i].token, strlen(t[i].token), kr, &dec), ADM_OK);
    free(t);
    n = order_tickets(&f, o2, &t);
    CHECK_INT(t[0].status, ADM_TICKET_REVOKED);
    CHECK_STR(t[0].token, "");
    CHECK_ERR(adm_issuer_sign_ticket(f.is, &t[0], NOW), ADM_ERR_STATE);
    for (i = 1; i < n; i++)
        CHECK_ERR(adm_token_decode(t[i].token, strlen(t[i].token), kr, &dec), ADM_OK);
    free(t);
    adm_keyring_free(kr);
    teardown(&f);
}

struct signer {
    adm_issuer_t *is;
    int64_t order_id;
    adm_err_t rc;
    pthread_barrier_t *go;
};

static void *signer_main(void *arg)
{
    struct signer *s = arg;

    pthread_barrier_wait(s->go);
    s->rc = (s->order_id > 0) ? adm_issuer_sign_order(s->is, s->order_id, NOW, NULL)
                              : adm_issuer_sign_unsigned(s->is, NOW, NULL);
    return NULL;
}

/* Threads signing the same tickets (order path and sweep at once) agree. */
static void test_sign_concurrently(void)
{
    enum { N = 8 };
    struct fixture f;
    struct signer s[N];
    pthread_t th[N];
    pthread_barrier_t go;
    adm_store_ticket_t *t = NULL;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    int64_t order;
    size_t n, i;

    setup(&f, 50, EV_START);
    order = buy(&f, 40);
    pthread_barrier_init(&go, NULL, N);
    for (i = 0; i < N; i++) {
        s[i] = (struct signer){.is = f.is, .order_id = i % 2 ? order : 0, .go = &go};
        CHECK_INT(pthread_create(&th[i], NULL, signer_main, &s[i]), 0);
    }
    for (i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < N; i++)
        CHECK_ERR(s[i].rc, ADM_OK);
    CHECK_INT(key_count(&f, f.event_id), 1);
    kr = public_keyring(&f, f.event_id);
    n = order_tickets(&f, order, &t);
    CHECK_INT(n, 40);
    for (i = 0; i < n; i++)
        CHECK_ERR(adm_token_decode(t[i].token, strlen(t[i].token), kr, &dec), ADM_OK);
    free(t);
    adm_keyring_free(kr);
    pthread_barrier_destroy(&go);
    teardown(&f);
}

/* More events than the cache holds: entries are evicted and rebuilt. */
static void test_cache_eviction(void)
{
    struct fixture f;
    enum { EVENTS = ADM_ISSUER_CACHE_EVENTS + 8 };
    int64_t *ids;
    uint32_t *kids, kid;
    size_t i;

    setup(&f, 10, EV_START);
    ids = calloc(EVENTS, sizeof *ids);
    kids = calloc(EVENTS, sizeof *kids);
    if (ids == NULL || kids == NULL)
        exit(1);
    for (i = 0; i < EVENTS; i++) {
        ids[i] = add_event(&f);
        CHECK_ERR(adm_issuer_signing_kid(f.is, ids[i], NOW, &kids[i]), ADM_OK);
    }
    for (i = 0; i < EVENTS; i++) {
        CHECK_ERR(adm_issuer_signing_kid(f.is, ids[i], NOW, &kid), ADM_OK);
        CHECK_INT(kid, kids[i]);
    }
    free(ids);
    free(kids);
    teardown(&f);
}

int main(void)
{
    ADM_RUN(test_kid_text);
    ADM_RUN(test_first_key);
    ADM_RUN(test_first_key_threads);
    ADM_RUN(test_first_key_two_processes);
    ADM_RUN(test_sign_order);
    ADM_RUN(test_type_attributes);
    ADM_RUN(test_window_clamp);
    ADM_RUN(test_rotate_retire);
    ADM_RUN(test_sweep);
    ADM_RUN(test_sign_concurrently);
    ADM_RUN(test_cache_eviction);
    return adm_test_done();
}
