/* test-api-booking.c: admitd's booking API over HTTP (server/route-booking.c
 * with the issuer and payment providers): holds, orders, free and manual
 * payment, tickets with verifiable tokens and QR codes, refunds and
 * revocations, key rotation, idempotent replays, bad input, and 32 buyers
 * racing for 50 seats. Uses the in-process admitd of tests/testutil/api.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/issuer.h"
#include "server/payment.h"
#include "sync/keyring.h"
#include "sync/qr.h"
#include "sync/token.h"
#include "tests/testutil/api.h"
#include "tests/testutil/testutil.h"

struct world {
    adm_api_t *api;
    int64_t venue, event, free_type, priced_type;
    char cust[ADM_AUTH_TOKEN_MAX], cust2[ADM_AUTH_TOKEN_MAX];
    char crew[ADM_AUTH_TOKEN_MAX], org[ADM_AUTH_TOKEN_MAX];
    int64_t cust_id;
};

static void start(struct world *w)
{
    memset(w, 0, sizeof *w);
    CHECK_ERR(adm_api_start(&w->api), ADM_OK);
    if (w->api == NULL)
        exit(1);
    CHECK_ERR(adm_api_venue(w->api, NULL, &w->venue), ADM_OK);
    CHECK_ERR(adm_api_event(w->api, w->venue, NULL, 0, ADM_EVENT_ON_SALE, &w->event), ADM_OK);
    CHECK_ERR(adm_api_ticket_type(w->api, w->event, "Free", 0, 100, &w->free_type), ADM_OK);
    CHECK_ERR(adm_api_ticket_type(w->api, w->event, "Paid", 5000, 100, &w->priced_type), ADM_OK);
    CHECK_ERR(adm_api_user(w->api, ADM_ROLE_CUSTOMER, NULL, w->cust, &w->cust_id), ADM_OK);
    CHECK_ERR(adm_api_user(w->api, ADM_ROLE_CUSTOMER, NULL, w->cust2, NULL), ADM_OK);
    CHECK_ERR(adm_api_user(w->api, ADM_ROLE_CREW, NULL, w->crew, NULL), ADM_OK);
    CHECK_ERR(adm_api_user(w->api, ADM_ROLE_ORGANISER, NULL, w->org, NULL), ADM_OK);
}

static void stop(struct world *w)
{
    adm_api_stop(w->api);
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

/* method path with an optional JSON body and one optional header; returns
 * the parsed response (caller decrefs) and the status in *status. */
static json_t *call(struct world *w, const char *method, const char *path, const char *token,
                    const char *body, const char *header, long *status)
{
    json_t *res = NULL;

    *status = 0;
    CHECK_ERR(adm_api_request(w->api, method, path, token, body, header, status, &res), ADM_OK);
    return res;
}

/* Expects status and, when code is not NULL, {"error": code}. */
static void expect(struct world *w, const char *method, const char *path, const char *token,
                   const char *body, long want, const char *code, int line)
{
    long status = 0;
    json_t *res = call(w, method, path, token, body, NULL, &status);

    if (status != want)
        adm_test_fail(__FILE__, line, "%s %s -> %ld, expected %ld (%s)", method, path, status, want,
                      res ? str(res, "message") : "");
    if (code != NULL && strcmp(str(res, "error"), code) != 0)
        adm_test_fail(__FILE__, line, "%s %s -> error %s, expected %s", method, path,
                      str(res, "error"), code);
    json_decref(res);
}
#define EXPECT(m, p, t, b, s, c) expect(w, m, p, t, b, s, c, __LINE__)

static json_t *hold(struct world *w, const char *token, int64_t type, int quantity,
                    const char *header, long *status)
{
    char body[128];

    snprintf(body, sizeof body, "{\"ticket_type_id\":%lld,\"quantity\":%d}", (long long)type,
             quantity);
    return call(w, "POST", "/v1/holds", token, body, header, status);
}

/* A pending order for quantity seats of type; returns the order. */
static json_t *order_for(struct world *w, const char *token, int64_t type, int quantity)
{
    long status = 0;
    json_t *h = hold(w, token, type, quantity, NULL, &status), *o;
    char body[128];

    CHECK_INT(status, 201);
    snprintf(body, sizeof body, "{\"hold_ids\":[\"%s\"]}", str(h, "id"));
    json_decref(h);
    o = call(w, "POST", "/v1/orders", token, body, NULL, &status);
    CHECK_INT(status, 201);
    CHECK_STR(str(o, "state"), "pending");
    return o;
}

static json_t *pay(struct world *w, const char *token, int64_t order_id, const char *provider,
                   const char *header, long *status)
{
    char path[64], body[64];

    snprintf(path, sizeof path, "/v1/orders/%lld/pay", (long long)order_id);
    snprintf(body, sizeof body, "{\"provider\":\"%s\"}", provider);
    return call(w, "POST", path, token, body, header, status);
}

/* hold -> order -> pay(free): returns the paid order with its tickets. */
static json_t *buy_free(struct world *w, const char *token, int quantity)
{
    json_t *o = order_for(w, token, w->free_type, quantity), *paid;
    long status = 0;

    paid = pay(w, token, num(o, "id"), "free", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(paid, "state"), "paid");
    CHECK_INT(json_array_size(json_object_get(paid, "tickets")), quantity);
    json_decref(o);
    return paid;
}

/* The event's public keyring, fetched without authentication. */
static adm_keyring_t *keyring_of(struct world *w, int64_t event)
{
    adm_api_resp_t r;
    adm_keyring_t *kr = NULL;
    char path[64], ct[64];

    snprintf(path, sizeof path, "/v1/events/%lld/keys", (long long)event);
    CHECK_ERR(adm_api_request_raw(w->api, "GET", path, NULL, NULL, 0, NULL, NULL, &r), ADM_OK);
    CHECK_INT(r.status, 200);
    CHECK(adm_api_resp_header(&r, "Content-Type", ct, sizeof ct) != NULL);
    CHECK_STR(ct, "application/json");
    CHECK_ERR(adm_keyring_new(&kr), ADM_OK);
    CHECK_ERR(adm_keyring_load_public_json(kr, r.body, r.len), ADM_OK);
    adm_api_resp_free(&r);
    return kr;
}

static adm_err_t decode(const json_t *ticket, const adm_keyring_t *kr, adm_ticket_t *out)
{
    const char *tok = json_string_value(json_object_get(ticket, "token"));

    if (tok == NULL)
        return ADM_ERR_NOT_FOUND;
    return adm_token_decode(tok, strlen(tok), kr, out);
}

static int64_t sold(struct world *w, int64_t type)
{
    adm_availability_t a;

    CHECK_ERR(adm_store_availability(w->api->store, ADM_READ_HINT_PRIMARY, type, &a), ADM_OK);
    return a.sold;
}

static int64_t held(struct world *w, int64_t type)
{
    adm_availability_t a;

    CHECK_ERR(adm_store_availability(w->api->store, ADM_READ_HINT_PRIMARY, type, &a), ADM_OK);
    return a.held;
}

/* ---- tests ---- */

static void test_free_flow(void)
{
    struct world wb, *w = &wb;
    json_t *h, *o, *paid, *again, *tickets, *t, *list;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    long status = 0;
    char path[128], body[128];
    int64_t now = 1767225600, order_id;
    size_t i;

    start(w);
    adm_api_set_now(w->api, now);

    h = hold(w, w->cust, w->free_type, 2, NULL, &status);
    CHECK_INT(status, 201);
    CHECK_INT(strlen(str(h, "id")), 32);
    CHECK_INT(num(h, "ticket_type_id"), w->free_type);
    CHECK_INT(num(h, "event_id"), w->event);
    CHECK_INT(num(h, "quantity"), 2);
    CHECK_INT(num(h, "expires_at"), now + 600); /* the configured hold TTL */
    CHECK_STR(str(h, "state"), "active");
    CHECK_INT(held(w, w->free_type), 2);

    snprintf(path, sizeof path, "/v1/holds/%s", str(h, "id"));
    o = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(o, "id"), str(h, "id"));
    json_decref(o);

    snprintf(body, sizeof body, "{\"hold_ids\":[\"%s\"]}", str(h, "id"));
    o = call(w, "POST", "/v1/orders", w->cust, body, NULL, &status);
    CHECK_INT(status, 201);
    CHECK_STR(str(o, "state"), "pending");
    CHECK_INT(num(o, "total"), 0);
    CHECK_STR(str(o, "currency"), "MYR");
    CHECK_INT(strlen(str(o, "code")), 9);
    CHECK_INT(json_array_size(json_object_get(o, "items")), 1);
    CHECK_INT(json_array_size(json_object_get(o, "tickets")), 0);
    order_id = num(o, "id");
    json_decref(o);
    /* the hold became the order */
    o = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_STR(str(o, "state"), "converted");
    CHECK_INT(num(o, "order_id"), order_id);
    json_decref(o);
    EXPECT("DELETE", path, w->cust, NULL, 409, "invalid_state");

    paid = pay(w, w->cust, order_id, "free", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(paid, "state"), "paid");
    CHECK_STR(str(paid, "provider"), "free");
    CHECK_STR(str(json_object_get(paid, "payment"), "status"), "paid");
    tickets = json_object_get(paid, "tickets");
    CHECK_INT(json_array_size(tickets), 2);
    CHECK_INT(sold(w, w->free_type), 2);
    CHECK_INT(held(w, w->free_type), 0);

    /* every token verifies with the event's public keyring */
    kr = keyring_of(w, w->event);
    json_array_foreach(tickets, i, t)
    {
        CHECK_STR(str(t, "status"), "valid");
        CHECK_ERR(decode(t, kr, &dec), ADM_OK);
        CHECK_INT(dec.ticket_id, num(t, "id"));
        CHECK_INT(dec.event_id, w->event);
        CHECK_INT(dec.type_id, w->free_type);
        CHECK(dec.has_valid_from && dec.has_valid_until);
        CHECK(dec.valid_from < dec.valid_until);
        {
            char kid[ADM_ISSUER_KID_TEXT];
            adm_issuer_kid_text(dec.key_id, kid);
            CHECK_STR(str(t, "kid"), kid);
        }
    }
    CHECK(num(json_array_get(tickets, 0), "id") != num(json_array_get(tickets, 1), "id"));

    /* GET order and GET ticket show the same tokens */
    snprintf(path, sizeof path, "/v1/orders/%lld", (long long)order_id);
    again = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK(json_equal(json_object_get(again, "tickets"), tickets));
    json_decref(again);
    t = json_array_get(tickets, 0);
    snprintf(path, sizeof path, "/v1/tickets/%lld", num(t, "id"));
    again = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(again, "token"), str(t, "token"));
    json_decref(again);

    /* QR PNG decodes (ZBar) to the token; SVG has its type */
    {
        adm_api_resp_t r;
        adm_image_t img;
        adm_qr_decoder_t *dec_qr = NULL;
        char text[ADM_QR_TEXT_MAX + 1], ct[64];
        size_t len = 0, big_len;

        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png", num(t, "id"));
        CHECK_ERR(adm_api_request_raw(w->api, "GET", path, w->cust, NULL, 0, NULL, NULL, &r),
                  ADM_OK);
        CHECK_INT(r.status, 200);
        CHECK(adm_api_resp_header(&r, "Content-Type", ct, sizeof ct) != NULL);
        CHECK_STR(ct, "image/png");
        CHECK(adm_api_resp_header(&r, "Cache-Control", ct, sizeof ct) != NULL);
        CHECK_STR(ct, "private, no-store");
        big_len = r.len;
        CHECK_ERR(adm_image_load_png_mem((const uint8_t *)r.body, r.len, &img), ADM_OK);
        CHECK_ERR(adm_qr_decoder_new(&dec_qr), ADM_OK);
        CHECK_ERR(
            adm_qr_decode_frame(dec_qr, img.pixels, img.width, img.height, text, sizeof text, &len),
            ADM_OK);
        CHECK_STR(text, str(t, "token"));
        adm_qr_decoder_free(dec_qr);
        adm_image_free(&img);
        adm_api_resp_free(&r);

        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png?module=2&quiet=1", num(t, "id"));
        CHECK_ERR(adm_api_request_raw(w->api, "GET", path, w->cust, NULL, 0, NULL, NULL, &r),
                  ADM_OK);
        CHECK_INT(r.status, 200);
        CHECK(r.len < big_len);
        CHECK_ERR(adm_image_load_png_mem((const uint8_t *)r.body, r.len, &img), ADM_OK);
        CHECK(img.width < 200);
        adm_image_free(&img);
        adm_api_resp_free(&r);

        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.svg", num(t, "id"));
        CHECK_ERR(adm_api_request_raw(w->api, "GET", path, w->cust, NULL, 0, NULL, NULL, &r),
                  ADM_OK);
        CHECK_INT(r.status, 200);
        CHECK(adm_api_resp_header(&r, "Content-Type", ct, sizeof ct) != NULL);
        CHECK_STR(ct, "image/svg+xml");
        CHECK(strstr(r.body, "<svg") != NULL);
        adm_api_resp_free(&r);

        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png?module=0", num(t, "id"));
        EXPECT("GET", path, w->cust, NULL, 400, "bad_query");
        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png?module=65", num(t, "id"));
        EXPECT("GET", path, w->cust, NULL, 400, "bad_query");
        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.svg?quiet=-1", num(t, "id"));
        EXPECT("GET", path, w->cust, NULL, 400, "bad_query");
        snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png", num(t, "id"));
        EXPECT("GET", path, NULL, NULL, 401, NULL);
    }

    /* paying again is a no-op: same tickets, nothing more sold */
    again = pay(w, w->cust, order_id, "free", NULL, &status);
    CHECK_INT(status, 200);
    CHECK(json_equal(json_object_get(again, "tickets"), tickets));
    CHECK_INT(sold(w, w->free_type), 2);
    json_decref(again);

    /* own orders list */
    list = call(w, "GET", "/v1/orders", w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(json_array_size(json_object_get(list, "orders")), 1);
    CHECK_INT(num(json_array_get(json_object_get(list, "orders"), 0), "id"), order_id);
    json_decref(list);
    list = call(w, "GET", "/v1/orders", w->cust2, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(json_array_size(json_object_get(list, "orders")), 0);
    json_decref(list);
    EXPECT("GET", "/v1/orders?limit=0", w->cust, NULL, 400, "bad_query");

    adm_keyring_free(kr);
    json_decref(paid);
    json_decref(h);
    stop(w);
}

static void test_manual_flow(void)
{
    struct world wb, *w = &wb;
    json_t *o, *res, *t;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    long status = 0;
    char path[128];
    int64_t id;
    size_t i;

    start(w);
    o = order_for(w, w->cust, w->priced_type, 3);
    id = num(o, "id");
    CHECK_INT(num(o, "total"), 15000);

    res = pay(w, w->cust, id, "free", NULL, &status);
    CHECK_INT(status, 422);
    CHECK_STR(str(res, "error"), "payment_not_applicable");
    json_decref(res);
    res = pay(w, w->cust, id, "bitcoin", NULL, &status);
    CHECK_INT(status, 400);
    CHECK_STR(str(res, "error"), "unknown_provider");
    json_decref(res);

    res = pay(w, w->cust, id, "manual", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "pending");
    CHECK_STR(str(json_object_get(res, "payment"), "status"), "pending");
    CHECK_STR(str(json_object_get(res, "payment"), "provider"), "manual");
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 0);
    json_decref(res);
    CHECK_INT(sold(w, w->priced_type), 0);

    snprintf(path, sizeof path, "/v1/orders/%lld/confirm", (long long)id);
    EXPECT("POST", path, w->cust, NULL, 403, NULL);
    EXPECT("POST", path, w->crew, NULL, 403, NULL);
    EXPECT("POST", path, w->org, "{\"provider\":\"free\"}", 400, "unknown_provider");
    EXPECT("POST", path, w->org, "{\"amount\":1}", 400, "unknown_field");
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "paid");
    CHECK_STR(str(res, "provider"), "manual");
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 3);
    kr = keyring_of(w, w->event);
    json_array_foreach(json_object_get(res, "tickets"), i, t)
        CHECK_ERR(decode(t, kr, &dec), ADM_OK);
    json_decref(res);
    CHECK_INT(sold(w, w->priced_type), 3);

    /* confirming again changes nothing */
    res = call(w, "POST", path, w->org, "{}", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(json_object_get(res, "payment"), "message"), "already paid");
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 3);
    json_decref(res);
    CHECK_INT(sold(w, w->priced_type), 3);

    /* the owner sees the paid order */
    snprintf(path, sizeof path, "/v1/orders/%lld", (long long)id);
    res = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "paid");
    json_decref(res);

    adm_keyring_free(kr);
    json_decref(o);
    stop(w);
}

/* Choosing "manual" (bank transfer) moves the order's payment deadline from
 * the checkout's 15 minutes to ADM_PAYMENT_MANUAL_TTL_DEFAULT from then: the
 * reaper keeps its seats until an organiser confirms, or until that ends. */
static void test_manual_deadline(void)
{
    struct world wb, *w = &wb;
    json_t *o, *res;
    adm_order_t got;
    long status = 0;
    char path[128];
    int64_t now = 1767225600, id;

    start(w);
    adm_api_set_now(w->api, now);
    o = order_for(w, w->cust, w->priced_type, 2);
    id = num(o, "id");
    CHECK_INT(num(o, "expires_at"), now + ADM_STORE_PAY_TTL_DEFAULT);
    json_decref(o);

    adm_api_advance(w->api, 100);
    res = pay(w, w->cust, id, "manual", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "pending");
    CHECK_INT(num(res, "expires_at"), now + 100 + ADM_PAYMENT_MANUAL_TTL_DEFAULT);
    CHECK_INT(num(res, "expires_at"), now + 100 + 3 * 86400);
    json_decref(res);
    /* asking again later does not move it back */
    adm_api_advance(w->api, 50);
    res = pay(w, w->cust, id, "manual", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(num(res, "expires_at"), now + 150 + ADM_PAYMENT_MANUAL_TTL_DEFAULT);
    json_decref(res);

    /* the reaper past the checkout deadline leaves it pending, seats held */
    CHECK_ERR(adm_store_reap_holds(w->api->store, now + 1000, NULL), ADM_OK);
    CHECK_ERR(adm_store_order_get(w->api->store, ADM_READ_HINT_PRIMARY, 0, id, &got), ADM_OK);
    CHECK_INT(got.state, ADM_ORDER_PENDING);
    CHECK_INT(held(w, w->priced_type), 2);

    /* two days later the organiser confirms the transfer: tickets issued */
    adm_api_set_now(w->api, now + 2 * 86400);
    snprintf(path, sizeof path, "/v1/orders/%lld/confirm", (long long)id);
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "paid");
    CHECK_STR(str(res, "provider"), "manual");
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 2);
    json_decref(res);
    CHECK_INT(sold(w, w->priced_type), 2);
    CHECK_INT(held(w, w->priced_type), 0);

    /* a transfer that never arrives is released when the window ends */
    adm_api_set_now(w->api, now);
    o = order_for(w, w->cust, w->priced_type, 1);
    id = num(o, "id");
    json_decref(o);
    res = pay(w, w->cust, id, "manual", NULL, &status);
    CHECK_INT(status, 200);
    json_decref(res);
    CHECK_ERR(adm_store_reap_holds(w->api->store, now + ADM_PAYMENT_MANUAL_TTL_DEFAULT - 1, NULL),
              ADM_OK);
    CHECK_INT(held(w, w->priced_type), 1);
    CHECK_ERR(adm_store_reap_holds(w->api->store, now + ADM_PAYMENT_MANUAL_TTL_DEFAULT, NULL),
              ADM_OK);
    CHECK_INT(held(w, w->priced_type), 0);
    adm_api_set_now(w->api, now + ADM_PAYMENT_MANUAL_TTL_DEFAULT);
    snprintf(path, sizeof path, "/v1/orders/%lld/confirm", (long long)id);
    EXPECT("POST", path, w->org, NULL, 409, "invalid_state");
    stop(w);
}

static void test_cancel(void)
{
    struct world wb, *w = &wb;
    json_t *o, *res;
    long status = 0;
    char path[128];

    start(w);
    o = order_for(w, w->cust, w->priced_type, 4);
    CHECK_INT(held(w, w->priced_type), 4);
    snprintf(path, sizeof path, "/v1/orders/%lld/cancel", num(o, "id"));
    EXPECT("POST", path, w->cust2, NULL, 404, NULL);
    EXPECT("POST", path, w->cust, "{\"why\":1}", 400, "unknown_field");
    res = call(w, "POST", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "cancelled");
    json_decref(res);
    CHECK_INT(held(w, w->priced_type), 0);
    EXPECT("POST", path, w->cust, NULL, 409, "invalid_state");
    res = pay(w, w->cust, num(o, "id"), "manual", NULL, &status);
    CHECK_INT(status, 409);
    json_decref(res);
    json_decref(o);

    /* a paid order cannot be cancelled, only refunded */
    o = buy_free(w, w->cust, 1);
    snprintf(path, sizeof path, "/v1/orders/%lld/cancel", num(o, "id"));
    EXPECT("POST", path, w->cust, NULL, 409, "invalid_state");
    json_decref(o);
    stop(w);
}

static void test_refund_and_revocations(void)
{
    struct world wb, *w = &wb;
    json_t *o, *res, *t, *revs;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    long status = 0;
    char path[128];
    size_t i, j;
    int64_t id, next;

    start(w);
    o = buy_free(w, w->cust, 3);
    id = num(o, "id");
    kr = keyring_of(w, w->event);

    snprintf(path, sizeof path, "/v1/orders/%lld/refund", (long long)id);
    EXPECT("POST", path, w->cust, NULL, 403, NULL);
    EXPECT("POST", path, w->crew, NULL, 403, NULL);
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "refunded");
    CHECK_INT(num(res, "revoked"), 3);
    json_array_foreach(json_object_get(res, "tickets"), i, t)
    {
        CHECK_STR(str(t, "status"), "revoked");
        CHECK(json_is_null(json_object_get(t, "token")));
        CHECK(num(t, "revoked_at") > 0);
    }
    json_decref(res);
    CHECK_INT(sold(w, w->free_type), 0);
    EXPECT("POST", path, w->org, NULL, 409, "invalid_state");

    /* every ticket is on the event's revocation list */
    snprintf(path, sizeof path, "/v1/events/%lld/revocations?since=0", (long long)w->event);
    EXPECT("GET", path, w->cust, NULL, 403, NULL);
    EXPECT("GET", path, NULL, NULL, 401, NULL);
    revs = call(w, "GET", path, w->crew, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(json_array_size(json_object_get(revs, "revocations")), 3);
    json_array_foreach(json_object_get(o, "tickets"), i, t)
    {
        bool found = false;
        json_t *r;
        json_array_foreach(json_object_get(revs, "revocations"), j, r)
        {
            if (num(r, "ticket_id") == num(t, "id")) {
                found = true;
                CHECK_STR(str(r, "reason"), "revoked");
                CHECK(num(r, "seq") >= 1);
            }
        }
        CHECK(found);
        /* the token itself still verifies: revocation is a list, not a key */
        CHECK_ERR(decode(t, kr, &dec), ADM_OK);
    }
    next = num(revs, "next");
    CHECK_INT(next, 3);
    CHECK(json_is_false(json_object_get(revs, "more")));
    json_decref(revs);

    /* paging: since the last seq -> nothing; limit 2 -> more */
    snprintf(path, sizeof path, "/v1/events/%lld/revocations?since=%lld", (long long)w->event,
             (long long)next);
    revs = call(w, "GET", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(json_array_size(json_object_get(revs, "revocations")), 0);
    CHECK_INT(num(revs, "next"), next);
    json_decref(revs);
    snprintf(path, sizeof path, "/v1/events/%lld/revocations?limit=2", (long long)w->event);
    revs = call(w, "GET", path, w->crew, NULL, NULL, &status);
    CHECK_INT(json_array_size(json_object_get(revs, "revocations")), 2);
    CHECK(json_is_true(json_object_get(revs, "more")));
    CHECK_INT(num(revs, "next"), 2);
    json_decref(revs);
    EXPECT("GET", "/v1/events/987654/revocations", w->crew, NULL, 404, NULL);
    snprintf(path, sizeof path, "/v1/events/%lld/revocations?limit=5000", (long long)w->event);
    EXPECT("GET", path, w->crew, NULL, 400, "bad_query");
    snprintf(path, sizeof path, "/v1/events/%lld/revocations?since=-1", (long long)w->event);
    EXPECT("GET", path, w->crew, NULL, 400, "bad_query");

    /* a pending order cannot be refunded */
    json_decref(o);
    o = order_for(w, w->cust, w->free_type, 1);
    snprintf(path, sizeof path, "/v1/orders/%lld/refund", num(o, "id"));
    EXPECT("POST", path, w->org, NULL, 409, "invalid_state");
    json_decref(o);
    adm_keyring_free(kr);
    stop(w);
}

static void test_revoke_ticket(void)
{
    struct world wb, *w = &wb;
    json_t *o, *res, *revs, *t;
    long status = 0;
    char path[128];

    start(w);
    o = buy_free(w, w->cust, 2);
    t = json_array_get(json_object_get(o, "tickets"), 0);
    snprintf(path, sizeof path, "/v1/tickets/%lld/revoke", num(t, "id"));
    EXPECT("POST", path, w->cust, NULL, 403, NULL);
    EXPECT("POST", path, w->crew, NULL, 403, NULL);
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "status"), "revoked");
    CHECK_INT(num(res, "revocation_seq"), 1);
    json_decref(res);
    EXPECT("POST", path, w->org, NULL, 409, "invalid_state");
    EXPECT("POST", "/v1/tickets/12345/revoke", w->org, NULL, 404, NULL);

    snprintf(path, sizeof path, "/v1/events/%lld/revocations", (long long)w->event);
    revs = call(w, "GET", path, w->crew, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(json_array_size(json_object_get(revs, "revocations")), 1);
    CHECK_INT(num(json_array_get(json_object_get(revs, "revocations"), 0), "ticket_id"),
              num(t, "id"));
    json_decref(revs);

    /* the revoked ticket has no QR any more; the other still does */
    snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png", num(t, "id"));
    EXPECT("GET", path, w->cust, NULL, 410, "ticket_revoked");
    snprintf(path, sizeof path, "/v1/tickets/%lld", num(t, "id"));
    res = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "status"), "revoked");
    json_decref(res);
    t = json_array_get(json_object_get(o, "tickets"), 1);
    snprintf(path, sizeof path, "/v1/tickets/%lld/qr.svg", num(t, "id"));
    EXPECT("GET", path, w->cust, NULL, 200, NULL);
    /* the order is still paid, its seat still sold */
    CHECK_INT(sold(w, w->free_type), 2);
    json_decref(o);
    stop(w);
}

static void test_key_rotation(void)
{
    struct world wb, *w = &wb;
    json_t *o1, *o2, *res, *t;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    uint32_t k1 = 0, k2 = 0;
    long status = 0;
    char path[128], k1s[ADM_ISSUER_KID_TEXT];
    size_t i;

    start(w);
    o1 = buy_free(w, w->cust, 2);
    kr = keyring_of(w, w->event);
    CHECK_INT(adm_keyring_count(kr), 1);
    CHECK_ERR(decode(json_array_get(json_object_get(o1, "tickets"), 0), kr, &dec), ADM_OK);
    k1 = dec.key_id;
    adm_keyring_free(kr);

    snprintf(path, sizeof path, "/v1/events/%lld/keys/rotate", (long long)w->event);
    EXPECT("POST", path, w->cust, NULL, 403, NULL);
    EXPECT("POST", path, w->crew, NULL, 403, NULL);
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 201);
    CHECK_STR(str(res, "kid"), str(res, "signing_kid"));
    CHECK_INT(json_array_size(json_object_get(json_object_get(res, "keyring"), "keys")), 2);
    CHECK(adm_issuer_kid_parse(str(res, "kid"), &k2));
    CHECK(k2 != k1);
    json_decref(res);

    /* new tickets use the new key; old and new verify against the new keyring */
    o2 = buy_free(w, w->cust, 2);
    kr = keyring_of(w, w->event);
    CHECK_INT(adm_keyring_count(kr), 2);
    json_array_foreach(json_object_get(o1, "tickets"), i, t)
    {
        CHECK_ERR(decode(t, kr, &dec), ADM_OK);
        CHECK_INT(dec.key_id, k1);
    }
    json_array_foreach(json_object_get(o2, "tickets"), i, t)
    {
        CHECK_ERR(decode(t, kr, &dec), ADM_OK);
        CHECK_INT(dec.key_id, k2);
    }
    adm_keyring_free(kr);

    /* retire the old key: its tickets stop verifying */
    adm_issuer_kid_text(k1, k1s);
    snprintf(path, sizeof path, "/v1/events/%lld/keys/%s/retire", (long long)w->event, k1s);
    EXPECT("POST", path, w->crew, NULL, 403, NULL);
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "kid"), k1s);
    CHECK(json_is_true(json_object_get(res, "retired")));
    json_decref(res);
    res = call(w, "POST", path, w->org, NULL, NULL, &status); /* idempotent */
    CHECK_INT(status, 200);
    json_decref(res);
    kr = keyring_of(w, w->event);
    json_array_foreach(json_object_get(o1, "tickets"), i, t)
        CHECK_ERR(decode(t, kr, &dec), ADM_ERR_TOKEN_KEY_RETIRED);
    json_array_foreach(json_object_get(o2, "tickets"), i, t) CHECK_ERR(decode(t, kr, &dec), ADM_OK);
    adm_keyring_free(kr);

    snprintf(path, sizeof path, "/v1/events/%lld/keys/XYZ/retire", (long long)w->event);
    EXPECT("POST", path, w->org, NULL, 400, "bad_id");
    snprintf(path, sizeof path, "/v1/events/%lld/keys/12345678/retire", (long long)w->event);
    EXPECT("POST", path, w->org, NULL, 404, NULL);
    EXPECT("GET", "/v1/events/987654/keys", NULL, NULL, 404, NULL);
    /* a draft event's keys: staff only, like the event itself */
    {
        int64_t draft = 0;
        CHECK_ERR(adm_api_event(w->api, w->venue, "Draft", 0, ADM_EVENT_DRAFT, &draft), ADM_OK);
        snprintf(path, sizeof path, "/v1/events/%lld/keys", (long long)draft);
        EXPECT("GET", path, NULL, NULL, 404, NULL);
        EXPECT("GET", path, w->cust, NULL, 404, NULL);
        EXPECT("GET", path, w->crew, NULL, 200, NULL);
        EXPECT("GET", path, "not-a-valid-token", NULL, 401, NULL);
    }
    EXPECT("GET", "/v1/events/abc/keys", NULL, NULL, 400, "bad_id");
    EXPECT("POST", "/v1/events/987654/keys/rotate", w->org, NULL, 404, NULL);

    json_decref(o1);
    json_decref(o2);
    stop(w);
}

static void test_sold_out_and_limits(void)
{
    struct world wb, *w = &wb;
    int64_t small = 0;
    json_t *h1, *res;
    long status = 0;
    char body[128];

    start(w);
    CHECK_ERR(adm_api_ticket_type(w->api, w->event, "Small", 0, 3, &small), ADM_OK);
    res = hold(w, w->cust, small, 4, NULL, &status);
    CHECK_INT(status, 409);
    CHECK_STR(str(res, "error"), "sold_out");
    json_decref(res);
    h1 = hold(w, w->cust, small, 3, NULL, &status);
    CHECK_INT(status, 201);
    res = hold(w, w->cust2, small, 1, NULL, &status);
    CHECK_INT(status, 409);
    CHECK_STR(str(res, "error"), "sold_out");
    json_decref(res);

    /* per-order limit of the type (10) and the absolute cap (100) */
    res = hold(w, w->cust, w->free_type, 11, NULL, &status);
    CHECK_INT(status, 422);
    CHECK_STR(str(res, "error"), "limit_exceeded");
    json_decref(res);
    res = hold(w, w->cust, w->free_type, 101, NULL, &status);
    CHECK_INT(status, 422);
    CHECK_STR(str(res, "error"), "limit_exceeded");
    json_decref(res);

    /* per-customer limit: held and bought seats both count */
    {
        adm_ticket_type_spec_t spec = {.event_id = w->event,
                                       .name = "One per fan",
                                       .price = 0,
                                       .currency = "MYR",
                                       .capacity = 50,
                                       .per_order_max = 5,
                                       .per_customer_max = 2};
        int64_t limited = 0;
        json_t *o;

        CHECK_ERR(adm_store_ticket_type_create(w->api->store, &spec, adm_api_now(w->api), &limited),
                  ADM_OK);
        res = hold(w, w->cust, limited, 3, NULL, &status);
        CHECK_INT(status, 422);
        CHECK_STR(str(res, "error"), "limit_exceeded");
        json_decref(res);
        o = order_for(w, w->cust, limited, 2);
        res = pay(w, w->cust, num(o, "id"), "free", NULL, &status);
        CHECK_INT(status, 200);
        json_decref(res);
        json_decref(o);
        res = hold(w, w->cust, limited, 1, NULL, &status);
        CHECK_INT(status, 422);
        CHECK_STR(str(res, "error"), "limit_exceeded");
        json_decref(res);
        res = hold(w, w->cust2, limited, 2, NULL, &status); /* someone else may */
        CHECK_INT(status, 201);
        json_decref(res);
    }

    /* quantities that are not positive integers */
    res = hold(w, w->cust, w->free_type, 0, NULL, &status);
    CHECK_INT(status, 400);
    CHECK_STR(str(res, "error"), "bad_quantity");
    json_decref(res);
    res = hold(w, w->cust, w->free_type, -2, NULL, &status);
    CHECK_INT(status, 400);
    json_decref(res);
    snprintf(body, sizeof body, "{\"ticket_type_id\":%lld,\"quantity\":1.5}",
             (long long)w->free_type);
    EXPECT("POST", "/v1/holds", w->cust, body, 400, "bad_field");
    snprintf(body, sizeof body, "{\"ticket_type_id\":%lld,\"quantity\":\"2\"}",
             (long long)w->free_type);
    EXPECT("POST", "/v1/holds", w->cust, body, 400, "bad_field");
    snprintf(body, sizeof body, "{\"ticket_type_id\":%lld}", (long long)w->free_type);
    EXPECT("POST", "/v1/holds", w->cust, body, 400, "bad_field");
    EXPECT("POST", "/v1/holds", w->cust, "{\"quantity\":1}", 400, "bad_field");
    EXPECT("POST", "/v1/holds", w->cust, "{\"ticket_type_id\":0,\"quantity\":1}", 400, "bad_field");
    EXPECT("POST", "/v1/holds", w->cust, "{\"ticket_type_id\":987654,\"quantity\":1}", 404,
           "not_found");

    /* releasing a hold frees its seats */
    {
        char path[128];
        snprintf(path, sizeof path, "/v1/holds/%s", str(h1, "id"));
        EXPECT("DELETE", path, w->cust2, NULL, 404, NULL);
        EXPECT("DELETE", path, w->cust, NULL, 204, NULL);
        EXPECT("DELETE", path, w->cust, NULL, 204, NULL);
        res = hold(w, w->cust2, small, 3, NULL, &status);
        CHECK_INT(status, 201);
        json_decref(res);
    }
    json_decref(h1);

    /* a draft event is not on sale */
    {
        int64_t ev = 0, type = 0;
        CHECK_ERR(adm_api_event(w->api, w->venue, "Draft", 0, ADM_EVENT_DRAFT, &ev), ADM_OK);
        CHECK_ERR(adm_api_ticket_type(w->api, ev, NULL, 0, 10, &type), ADM_OK);
        res = hold(w, w->cust, type, 1, NULL, &status);
        CHECK_INT(status, 409);
        CHECK_STR(str(res, "error"), "not_on_sale");
        json_decref(res);
    }
    stop(w);
}

static void test_expired_hold(void)
{
    struct world wb, *w = &wb;
    json_t *h, *res;
    long status = 0;
    char body[128], path[128];
    int64_t now = 1767225600;

    start(w);
    adm_api_set_now(w->api, now);
    h = hold(w, w->cust, w->free_type, 2, NULL, &status);
    CHECK_INT(status, 201);
    adm_api_advance(w->api, 601);
    snprintf(path, sizeof path, "/v1/holds/%s", str(h, "id"));
    res = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "state"), "expired");
    json_decref(res);
    snprintf(body, sizeof body, "{\"hold_ids\":[\"%s\"]}", str(h, "id"));
    EXPECT("POST", "/v1/orders", w->cust, body, 410, "hold_expired");
    json_decref(h);

    /* an unpaid order past its deadline cannot be paid */
    adm_api_set_now(w->api, now + 10000);
    res = order_for(w, w->cust, w->free_type, 1);
    adm_api_advance(w->api, ADM_STORE_PAY_TTL_DEFAULT + 1);
    {
        json_t *p = pay(w, w->cust, num(res, "id"), "free", NULL, &status);
        CHECK_INT(status, 410);
        CHECK_STR(str(p, "error"), "order_expired");
        json_decref(p);
        p = pay(w, w->cust, num(res, "id"), "manual", NULL, &status);
        CHECK_INT(status, 410);
        json_decref(p);
        snprintf(path, sizeof path, "/v1/orders/%lld/confirm", num(res, "id"));
        EXPECT("POST", path, w->org, NULL, 410, "order_expired");
    }
    json_decref(res);
    stop(w);
}

/* Paid in the store but never signed (a crash between payment and signing):
 * reading the ticket or the order signs it, and the sweep finds the rest. */
static void test_unsigned_recovery(void)
{
    struct world wb, *w = &wb;
    adm_store_ticket_t *t = NULL;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    json_t *o1, *o2, *res, *tk;
    long status = 0;
    char path[128], ref[64];
    size_t n = 0, i, swept = 0;

    start(w);
    o1 = order_for(w, w->cust, w->free_type, 2);
    o2 = order_for(w, w->cust, w->free_type, 3);
    snprintf(ref, sizeof ref, "free:%s", str(o1, "code"));
    CHECK_ERR(
        adm_store_order_pay(w->api->store, num(o1, "id"), "free", ref, adm_api_now(w->api), NULL),
        ADM_OK);
    snprintf(ref, sizeof ref, "free:%s", str(o2, "code"));
    CHECK_ERR(
        adm_store_order_pay(w->api->store, num(o2, "id"), "free", ref, adm_api_now(w->api), NULL),
        ADM_OK);
    CHECK_ERR(
        adm_store_order_tickets(w->api->store, ADM_READ_HINT_PRIMARY, 0, num(o1, "id"), &t, &n),
        ADM_OK);
    CHECK_INT(n, 2);
    CHECK_STR(t[0].token, "");

    kr = keyring_of(w, w->event);
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)t[0].id);
    res = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_ERR(decode(res, kr, &dec), ADM_OK);
    json_decref(res);
    free(t);

    snprintf(path, sizeof path, "/v1/orders/%lld", num(o1, "id"));
    res = call(w, "GET", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    json_array_foreach(json_object_get(res, "tickets"), i, tk)
        CHECK_ERR(decode(tk, kr, &dec), ADM_OK);
    json_decref(res);

    CHECK_ERR(adm_issuer_sign_unsigned(w->api->issuer, adm_api_now(w->api), &swept), ADM_OK);
    /* the sweep signs every unsigned ticket of the database: on SQLite only
     * this test's three; a shared MariaDB also holds other suites' rows */
    if (strcmp(adm_store_backend_name(w->api->store), "sqlite") == 0)
        CHECK_INT(swept, 3);
    else
        CHECK(swept >= 3);
    CHECK_ERR(
        adm_store_order_tickets(w->api->store, ADM_READ_HINT_PRIMARY, 0, num(o2, "id"), &t, &n),
        ADM_OK);
    for (i = 0; i < n; i++)
        CHECK_ERR(adm_token_decode(t[i].token, strlen(t[i].token), kr, &dec), ADM_OK);
    free(t);
    adm_keyring_free(kr);
    json_decref(o1);
    json_decref(o2);
    stop(w);
}

static void test_foreign_access(void)
{
    struct world wb, *w = &wb;
    json_t *o, *h, *res, *t;
    long status = 0;
    char path[128], body[128];

    start(w);
    o = buy_free(w, w->cust, 1);
    t = json_array_get(json_object_get(o, "tickets"), 0);

    snprintf(path, sizeof path, "/v1/orders/%lld", num(o, "id"));
    EXPECT("GET", path, w->cust2, NULL, 404, NULL);
    EXPECT("GET", path, w->crew, NULL, 404, NULL);
    EXPECT("GET", path, NULL, NULL, 401, NULL);
    res = call(w, "GET", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    CHECK_INT(json_array_size(json_object_get(res, "tickets")), 1);
    json_decref(res);
    res = pay(w, w->cust2, num(o, "id"), "free", NULL, &status);
    CHECK_INT(status, 404);
    json_decref(res);
    snprintf(path, sizeof path, "/v1/orders/%lld/cancel", num(o, "id"));
    EXPECT("POST", path, w->cust2, NULL, 404, NULL);

    snprintf(path, sizeof path, "/v1/tickets/%lld", num(t, "id"));
    EXPECT("GET", path, w->cust2, NULL, 404, NULL);
    EXPECT("GET", path, w->crew, NULL, 200, NULL);
    EXPECT("GET", path, w->org, NULL, 200, NULL);
    snprintf(path, sizeof path, "/v1/tickets/%lld/qr.png", num(t, "id"));
    EXPECT("GET", path, w->cust2, NULL, 404, NULL);

    h = hold(w, w->cust, w->free_type, 1, NULL, &status);
    snprintf(path, sizeof path, "/v1/holds/%s", str(h, "id"));
    EXPECT("GET", path, w->cust2, NULL, 404, NULL);
    snprintf(body, sizeof body, "{\"hold_ids\":[\"%s\"]}", str(h, "id"));
    EXPECT("POST", "/v1/orders", w->cust2, body, 404, "hold_not_found");
    json_decref(h);
    json_decref(o);
    stop(w);
}

static void test_idempotency(void)
{
    struct world wb, *w = &wb;
    json_t *h1, *h2, *o, *p1, *p2;
    adm_store_ticket_t *t = NULL;
    long status = 0;
    size_t n = 0;

    start(w);
    h1 = hold(w, w->cust, w->free_type, 2, "Idempotency-Key: hold-1", &status);
    CHECK_INT(status, 201);
    h2 = hold(w, w->cust, w->free_type, 2, "Idempotency-Key: hold-1", &status);
    CHECK_INT(status, 201);
    CHECK_STR(str(h2, "id"), str(h1, "id"));
    CHECK_INT(held(w, w->free_type), 2);
    json_decref(h2);
    /* same key, different body */
    h2 = hold(w, w->cust, w->free_type, 3, "Idempotency-Key: hold-1", &status);
    CHECK_INT(status, 422);
    CHECK_STR(str(h2, "error"), "idempotency_mismatch");
    json_decref(h2);
    /* another user's key space is separate */
    h2 = hold(w, w->cust2, w->free_type, 2, "Idempotency-Key: hold-1", &status);
    CHECK_INT(status, 201);
    CHECK(strcmp(str(h2, "id"), str(h1, "id")) != 0);
    CHECK_INT(held(w, w->free_type), 4);
    json_decref(h2);
    json_decref(h1);

    o = order_for(w, w->cust, w->free_type, 3);
    p1 = pay(w, w->cust, num(o, "id"), "free", "Idempotency-Key: pay-1", &status);
    CHECK_INT(status, 200);
    p2 = pay(w, w->cust, num(o, "id"), "free", "Idempotency-Key: pay-1", &status);
    CHECK_INT(status, 200);
    CHECK(json_equal(p1, p2));
    CHECK_ERR(
        adm_store_order_tickets(w->api->store, ADM_READ_HINT_PRIMARY, 0, num(o, "id"), &t, &n),
        ADM_OK);
    CHECK_INT(n, 3);
    free(t);
    CHECK_INT(sold(w, w->free_type), 3);
    json_decref(p1);
    json_decref(p2);
    json_decref(o);

    /* a replayed error stays the same error */
    {
        int64_t small = 0;
        CHECK_ERR(adm_api_ticket_type(w->api, w->event, "Small", 0, 1, &small), ADM_OK);
        h1 = hold(w, w->cust, small, 2, "Idempotency-Key: so-1", &status);
        CHECK_INT(status, 409);
        json_decref(h1);
        h1 = hold(w, w->cust, small, 2, "Idempotency-Key: so-1", &status);
        CHECK_INT(status, 409);
        CHECK_STR(str(h1, "error"), "sold_out");
        json_decref(h1);
    }
    stop(w);
}

static void test_bad_input(void)
{
    struct world wb, *w = &wb;
    adm_api_resp_t r;
    char *big;
    char body[2048];
    size_t i;

    start(w);
    EXPECT("POST", "/v1/holds", NULL, "{}", 401, NULL);
    EXPECT("POST", "/v1/holds", w->cust, "{\"ticket_type_id\":", 400, "bad_json");
    EXPECT("POST", "/v1/holds", w->cust, "[1,2]", 400, "bad_field");
    EXPECT("POST", "/v1/holds", w->cust, "{\"ticket_type_id\":1,\"quantity\":1,\"x\":true}", 400,
           "unknown_field");
    EXPECT("POST", "/v1/holds", w->cust, NULL, 400, "bad_json");
    big = malloc(9001);
    if (big == NULL)
        exit(1);
    memset(big, ' ', 9000);
    big[0] = '{';
    big[8999] = '}';
    big[9000] = '\0';
    EXPECT("POST", "/v1/holds", w->cust, big, 413, "too_large");
    free(big);
    CHECK_ERR(adm_api_request_raw(w->api, "POST", "/v1/holds", w->cust, "a=1", 3,
                                  "application/x-www-form-urlencoded", NULL, &r),
              ADM_OK);
    CHECK_INT(r.status, 415);
    adm_api_resp_free(&r);

    EXPECT("GET", "/v1/holds/nothex", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/holds/0123456789abcdef0123456789abcdeg", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/holds/0123456789abcdef0123456789abcdef", w->cust, NULL, 404, NULL);
    EXPECT("DELETE", "/v1/holds/0123456789ABCDEF0123456789ABCDEF", w->cust, NULL, 404, NULL);
    EXPECT("GET", "/v1/orders/abc", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/orders/0", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/orders/-1", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/orders/99999999999999999999", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/orders/4242", w->cust, NULL, 404, NULL);
    EXPECT("GET", "/v1/tickets/x1", w->cust, NULL, 400, "bad_id");
    EXPECT("GET", "/v1/tickets/4242", w->cust, NULL, 404, NULL);
    EXPECT("POST", "/v1/orders/4242/pay", w->cust, "{\"provider\":\"free\"}", 404, NULL);
    EXPECT("POST", "/v1/orders/1/pay", w->cust, "{}", 400, "bad_field");
    EXPECT("POST", "/v1/orders/1/pay", w->cust, "{\"provider\":7}", 400, "bad_field");
    EXPECT("POST", "/v1/orders/1/pay", w->cust, "{\"provider\":\"free\",\"tip\":1}", 400,
           "unknown_field");

    EXPECT("POST", "/v1/orders", w->cust, "{}", 400, "bad_field");
    EXPECT("POST", "/v1/orders", w->cust, "{\"hold_ids\":\"abc\"}", 400, "bad_field");
    EXPECT("POST", "/v1/orders", w->cust, "{\"hold_ids\":[]}", 400, "bad_field");
    EXPECT("POST", "/v1/orders", w->cust, "{\"hold_ids\":[1]}", 400, "bad_field");
    EXPECT("POST", "/v1/orders", w->cust, "{\"hold_ids\":[\"xyz\"]}", 400, "bad_field");
    EXPECT("POST", "/v1/orders", w->cust,
           "{\"hold_ids\":[\"0123456789abcdef0123456789abcdef\","
           "\"0123456789ABCDEF0123456789ABCDEF\"]}",
           400, "bad_field");
    /* 17 holds: over the per-order maximum of 16 */
    {
        size_t off = (size_t)snprintf(body, sizeof body, "{\"hold_ids\":[");
        for (i = 0; i < 17; i++)
            off += (size_t)snprintf(body + off, sizeof body - off, "%s\"%032zx\"", i ? "," : "",
                                    i + 1);
        snprintf(body + off, sizeof body - off, "]}");
        EXPECT("POST", "/v1/orders", w->cust, body, 400, "bad_field");
    }
    EXPECT("POST", "/v1/orders", w->cust, "{\"hold_ids\":[\"0123456789abcdef0123456789abcdef\"]}",
           404, "hold_not_found");
    /* a bad Idempotency-Key */
    {
        long status = 0;
        json_t *res = hold(w, w->cust, w->free_type, 1, "Idempotency-Key: has space", &status);
        CHECK_INT(status, 400);
        CHECK_STR(str(res, "error"), "bad_idempotency_key");
        json_decref(res);
    }
    stop(w);
}

/* ---- 32 buyers, 50 seats ---- */

#define BUYERS 32
#define SEATS 50

struct buyer {
    struct world *w;
    int64_t type;
    char token[ADM_AUTH_TOKEN_MAX];
    unsigned seed;
    int tickets;
    int64_t ids[SEATS];
    char tokens[SEATS][ADM_TOKEN_TEXT_MAX + 1];
    int errors;
    pthread_barrier_t *go;
};

static void *buyer_main(void *arg)
{
    struct buyer *b = arg;
    long status = 0;
    int quantity = 1 + (int)(b->seed % 3);

    pthread_barrier_wait(b->go);
    for (;;) {
        json_t *h = hold(b->w, b->token, b->type, quantity, NULL, &status), *o, *p, *t;
        char body[128];
        size_t i;

        if (status == 409 && quantity > 1) { /* fewer left than we wanted */
            json_decref(h);
            quantity = 1;
            continue;
        }
        if (status == 409) {
            json_decref(h);
            break; /* sold out */
        }
        if (status != 201) {
            b->errors++;
            json_decref(h);
            break;
        }
        snprintf(body, sizeof body, "{\"hold_ids\":[\"%s\"]}", str(h, "id"));
        json_decref(h);
        o = call(b->w, "POST", "/v1/orders", b->token, body, NULL, &status);
        if (status != 201) {
            b->errors++;
            json_decref(o);
            break;
        }
        p = pay(b->w, b->token, num(o, "id"), "free", NULL, &status);
        json_decref(o);
        if (status != 200) {
            b->errors++;
            json_decref(p);
            break;
        }
        json_array_foreach(json_object_get(p, "tickets"), i, t)
        {
            const char *tok = json_string_value(json_object_get(t, "token"));
            if (b->tickets >= SEATS || tok == NULL) {
                b->errors++;
                continue;
            }
            b->ids[b->tickets] = num(t, "id");
            snprintf(b->tokens[b->tickets], sizeof b->tokens[0], "%s", tok);
            b->tickets++;
        }
        json_decref(p);
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static void test_concurrent_buyers(void)
{
    struct world wb, *w = &wb;
    struct buyer *b;
    pthread_t th[BUYERS];
    pthread_barrier_t go;
    adm_keyring_t *kr;
    adm_ticket_t dec;
    int64_t type = 0, all[SEATS * 2];
    int i, k, total = 0, errors = 0;

    start(w);
    CHECK_ERR(adm_api_ticket_type(w->api, w->event, "Rush", 0, SEATS, &type), ADM_OK);
    b = calloc(BUYERS, sizeof *b);
    if (b == NULL)
        exit(1);
    pthread_barrier_init(&go, NULL, BUYERS);
    for (i = 0; i < BUYERS; i++) {
        b[i].w = w;
        b[i].type = type;
        b[i].seed = (unsigned)i * 7u;
        b[i].go = &go;
        CHECK_ERR(adm_api_user(w->api, ADM_ROLE_CUSTOMER, NULL, b[i].token, NULL), ADM_OK);
    }
    for (i = 0; i < BUYERS; i++)
        CHECK_INT(pthread_create(&th[i], NULL, buyer_main, &b[i]), 0);
    for (i = 0; i < BUYERS; i++)
        pthread_join(th[i], NULL);

    kr = keyring_of(w, w->event);
    for (i = 0; i < BUYERS; i++) {
        errors += b[i].errors;
        for (k = 0; k < b[i].tickets; k++) {
            if (total < SEATS * 2)
                all[total] = b[i].ids[k];
            total++;
            CHECK_ERR(adm_token_decode(b[i].tokens[k], strlen(b[i].tokens[k]), kr, &dec), ADM_OK);
            CHECK_INT(dec.ticket_id, b[i].ids[k]);
            CHECK_INT(dec.type_id, type);
        }
    }
    CHECK_INT(errors, 0);
    CHECK_INT(total, SEATS);
    CHECK_INT(sold(w, type), SEATS);
    CHECK_INT(held(w, type), 0);
    if (total <= SEATS * 2) {
        qsort(all, (size_t)total, sizeof all[0], cmp_i64);
        for (i = 1; i < total; i++)
            CHECK(all[i] != all[i - 1]);
    }
    adm_keyring_free(kr);
    pthread_barrier_destroy(&go);
    free(b);
    stop(w);
}

/* The value of one series ("name{labels}" exactly as rendered) in a
 * Prometheus text exposition; -1 when absent. */
static long long metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *line = text;

    while (line != NULL && *line != '\0') {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtoll(line + n + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -1;
}

/* GET /metrics after a booking flow: holds, orders, tickets, store queries
 * and operations, and what housekeeping expired. */
/* metric() for a store metric named with backend="sqlite": the same series
 * of the backend the suite runs on (ADMIT_TEST_STORE). */
static long long metric_be(struct world *w, const char *body, const char *name)
{
    const char *be = adm_store_backend_name(w->api->store);
    const char *at = strstr(name, "backend=\"sqlite\"");
    char buf[512];

    if (at == NULL)
        return metric(body, name);
    snprintf(buf, sizeof buf, "%.*sbackend=\"%s\"%s", (int)(at - name), name, be,
             at + strlen("backend=\"sqlite\""));
    return metric(body, buf);
}

/* Housekeeping sweeps the whole database: its counts are exact on SQLite
 * (this test's own file), at least this test's share on the MariaDB other
 * suites use at the same time. */
#define CHECK_SWEPT(got, want) CHECK(own_db ? (got) == (want) : (got) >= (want))

static void test_metrics(void)
{
    struct world wb, *w = &wb;
    bool own_db;
    json_t *o, *h, *res;
    adm_reap_stats_t reaped;
    adm_api_resp_t r;
    long status = 0;
    char path[128], ct[128];
    size_t n_signed = 0;
    int64_t now = 1767225600;

    start(w);
    own_db = strcmp(adm_store_backend_name(w->api->store), "sqlite") == 0;
    adm_api_set_now(w->api, now);
    o = buy_free(w, w->cust, 2); /* hold created, order created and paid, 2 tickets */
    snprintf(path, sizeof path, "/v1/orders/%lld/refund", num(o, "id"));
    res = call(w, "POST", path, w->org, NULL, NULL, &status);
    CHECK_INT(status, 200);
    json_decref(res);
    json_decref(o);
    o = order_for(w, w->cust, w->free_type, 1);
    snprintf(path, sizeof path, "/v1/orders/%lld/cancel", num(o, "id"));
    res = call(w, "POST", path, w->cust, NULL, NULL, &status);
    CHECK_INT(status, 200);
    json_decref(res);
    json_decref(o);
    res = hold(w, w->cust, w->free_type, 11, NULL, &status); /* per-order max is 10 */
    CHECK_INT(status, 422);
    json_decref(res);
    res = hold(w, w->cust, w->free_type, ADM_STORE_QUANTITY_MAX + 1, NULL, &status);
    CHECK_INT(status, 422);
    json_decref(res);
    res = hold(w, w->cust, 999999, 1, NULL, &status);
    CHECK_INT(status, 404);
    json_decref(res);
    /* a hold and an order left to expire, then a housekeeping pass */
    h = hold(w, w->cust, w->free_type, 1, NULL, &status);
    CHECK_INT(status, 201);
    json_decref(h);
    o = order_for(w, w->cust, w->free_type, 1);
    json_decref(o);
    adm_api_advance(w->api, ADM_STORE_PAY_TTL_DEFAULT + 1);
    CHECK_ERR(adm_app_housekeep(&w->api->app, &reaped, &n_signed), ADM_OK);
    CHECK_SWEPT(reaped.holds, 1);
    CHECK_SWEPT(reaped.orders, 1);

    CHECK_ERR(adm_api_request_raw(w->api, "GET", "/metrics", NULL, NULL, 0, NULL, NULL, &r),
              ADM_OK);
    CHECK_INT(r.status, 200);
    CHECK(adm_api_resp_header(&r, "Content-Type", ct, sizeof ct) != NULL);
    CHECK_STR(ct, ADM_METRICS_CONTENT_TYPE);
    CHECK(r.body != NULL);
    if (r.body != NULL) {
        CHECK(strstr(r.body, "# TYPE admit_holds_total counter\n") != NULL);
        CHECK(strstr(r.body, "# TYPE admit_store_operation_duration_seconds histogram\n") != NULL);
        CHECK_INT(metric(r.body, "admit_holds_total{result=\"created\"}"), 4);
        CHECK_INT(metric(r.body, "admit_holds_total{result=\"limit_exceeded\"}"), 2);
        CHECK_INT(metric(r.body, "admit_holds_total{result=\"not_found\"}"), 1);
        CHECK_INT(metric(r.body, "admit_holds_total{result=\"sold_out\"}"), 0);
        CHECK_SWEPT(metric(r.body, "admit_holds_expired_total"), 1);
        CHECK_INT(metric(r.body, "admit_orders_total{event=\"created\"}"), 3);
        CHECK_INT(metric(r.body, "admit_orders_total{event=\"paid\"}"), 1);
        CHECK_INT(metric(r.body, "admit_orders_total{event=\"refunded\"}"), 1);
        CHECK_INT(metric(r.body, "admit_orders_total{event=\"cancelled\"}"), 1);
        CHECK_SWEPT(metric(r.body, "admit_orders_total{event=\"expired\"}"), 1);
        CHECK_SWEPT(metric(r.body, "admit_tickets_issued_total"), 2);
        CHECK(metric_be(w, r.body, "admit_store_queries_total{backend=\"sqlite\",role=\"primary\"}") > 0);
        CHECK_INT(metric_be(w, r.body, "admit_store_queries_total{backend=\"sqlite\",role=\"replica\"}"),
                  -1);
        CHECK_INT(metric_be(w, r.body, "admit_store_operations_total{backend=\"sqlite\",op="
                                 "\"hold_create\",result=\"ok\"}"),
                  4);
        CHECK_INT(metric_be(w, r.body, "admit_store_operations_total{backend=\"sqlite\",op="
                                 "\"hold_create\",result=\"limit_exceeded\"}"),
                  1);
        CHECK_INT(metric_be(w, r.body, "admit_store_operation_duration_seconds_count{backend="
                                 "\"sqlite\",op=\"hold_create\"}"),
                  6); /* 4 created, 1 over the per-order limit, 1 unknown type */
        CHECK(metric_be(w, r.body, "admit_store_operations_total{backend=\"sqlite\",op="
                             "\"order_pay\",result=\"ok\"}") == 1);
        CHECK(metric(r.body, "admit_http_requests_total{route=\"holds.create\",method=\"POST\","
                             "status=\"201\"}") == 4);
    }
    adm_api_resp_free(&r);
    stop(w);
}

int main(void)
{
    const char *backend = getenv("ADMIT_TEST_STORE");

    if (backend != NULL && strcmp(backend, "mysql") == 0 &&
        getenv("ADMIT_TEST_MYSQL_PRIMARY") == NULL) {
        printf("SKIP: ADMIT_TEST_MYSQL_PRIMARY is not set\n");
        return 77;
    }
    ADM_RUN(test_free_flow);
    ADM_RUN(test_manual_flow);
    ADM_RUN(test_manual_deadline);
    ADM_RUN(test_cancel);
    ADM_RUN(test_refund_and_revocations);
    ADM_RUN(test_revoke_ticket);
    ADM_RUN(test_key_rotation);
    ADM_RUN(test_sold_out_and_limits);
    ADM_RUN(test_expired_hold);
    ADM_RUN(test_unsigned_recovery);
    ADM_RUN(test_foreign_access);
    ADM_RUN(test_idempotency);
    ADM_RUN(test_bad_input);
    ADM_RUN(test_concurrent_buyers);
    ADM_RUN(test_metrics);
    return adm_test_done();
}
