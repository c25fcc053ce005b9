/* route-booking.c: admitd's booking API: holds, orders and payment, tickets
 * with their tokens and QR codes, revocations and the public event keyrings
 * (docs/api.md, "Booking"). Not for SQL (store*.c), signing (issuer.c) or
 * payment providers (payment.c): handlers check input, call them, reply. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/issuer.h"
#include "server/payment.h"
#include "sync/qr.h"

#define BODY_MAX 8192        /* booking requests are small; larger is 413 */
#define HOLD_TTL_DEFAULT 600 /* seconds, when there is no configuration */
#define QR_MODULE_MAX 20     /* pixels per module a client may ask for */
#define QR_QUIET_MAX 16      /* quiet-zone modules a client may ask for */
#define REVOCATIONS_DEFAULT 1000

/* ---- input ---- */

/* Reads the body as a JSON object whose keys are all in allowed. An empty
 * body gives *out = NULL when allow_empty. Replies itself and returns false
 * on a body over BODY_MAX (413), bad JSON or an unknown field (400). *out
 * is borrowed from the request. */
static bool read_body(adm_http_req_t *req, const char *const *allowed, bool allow_empty,
                      json_t **out)
{
    size_t len = 0;

    *out = NULL;
    (void)adm_http_body(req, &len);
    if (len > BODY_MAX) {
        adm_http_reply_error(req, 413, "too_large", "request body is larger than %d bytes",
                             BODY_MAX);
        return false;
    }
    if (len == 0 && allow_empty)
        return true;
    *out = adm_http_body_json(req);
    if (*out == NULL)
        return false;
    return adm_app_check_fields(req, *out, allowed);
}

/* A POST without parameters: an empty body or {}. */
static bool read_empty_body(adm_http_req_t *req)
{
    static const char *const none[] = {NULL};
    json_t *in;

    return read_body(req, none, true, &in);
}

/* Hold ids are 32 hex digits; stored lower-case. */
static bool hold_id_parse(const char *s, char out[ADM_STORE_HOLD_ID_LEN + 1])
{
    size_t i;

    if (s == NULL || strlen(s) != ADM_STORE_HOLD_ID_LEN)
        return false;
    for (i = 0; i < ADM_STORE_HOLD_ID_LEN; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[ADM_STORE_HOLD_ID_LEN] = '\0';
    return true;
}

static bool path_hold_id(adm_http_req_t *req, char out[ADM_STORE_HOLD_ID_LEN + 1])
{
    if (hold_id_parse(adm_http_param(req, "id"), out))
        return true;
    adm_http_reply_error(req, 400, "bad_id", "a hold id is %d hexadecimal digits",
                         ADM_STORE_HOLD_ID_LEN);
    return false;
}

static int32_t hold_ttl(const adm_app_t *app)
{
    int64_t ttl = app->cfg != NULL ? app->cfg->hold_ttl_s : HOLD_TTL_DEFAULT;

    /* the configuration allows more than the store keeps a hold */
    if (ttl > ADM_STORE_HOLD_TTL_MAX)
        ttl = ADM_STORE_HOLD_TTL_MAX;
    if (ttl < 1)
        ttl = HOLD_TTL_DEFAULT;
    return (int32_t)ttl;
}

/* Replies err through idem, with code and message when err is the one this
 * handler explains (4xx only); anything else gets the generic mapping. */
static void reply_err(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, adm_err_t err,
                      adm_err_t which, unsigned status, const char *code, const char *message)
{
    if (err == which)
        adm_idem_reply_error(req, app, idem, status, code, "%s", message);
    else
        adm_idem_reply_err(req, app, idem, err);
}

/* ---- JSON views ---- */

static const char *hold_state_name(const adm_hold_t *h, int64_t now)
{
    switch (h->state) {
    case ADM_HOLD_ACTIVE:
        return now < h->expires_at ? "active" : "expired";
    case ADM_HOLD_RELEASED:
        return "released";
    case ADM_HOLD_EXPIRED:
        return "expired";
    case ADM_HOLD_CONVERTED:
        return "converted";
    }
    return "unknown";
}

/* {"id","ticket_type_id","event_id","quantity","state","created","expires_at","order_id"} */
static json_t *hold_json(const adm_hold_t *h, int64_t now)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:i, s:s, s:I, s:I}", "id", h->id, "ticket_type_id",
                          (json_int_t)h->type_id, "event_id", (json_int_t)h->event_id, "quantity",
                          (int)h->quantity, "state", hold_state_name(h, now), "created",
                          (json_int_t)h->created, "expires_at", (json_int_t)h->expires_at);

    if (o != NULL &&
        json_object_set_new(o, "order_id", h->order_id ? json_integer(h->order_id) : json_null())) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static json_t *text_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

/* {"id","code","state","total","currency","created","updated","expires_at",
 *  "paid_at","provider","provider_ref","items":[...]} */
static json_t *order_json(const adm_order_t *o)
{
    json_t *j, *items;
    size_t i;

    j = json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:[]}", "id",
                  (json_int_t)o->id, "code", o->code, "state", adm_order_state_name(o->state),
                  "total", (json_int_t)o->total, "currency", o->currency, "created",
                  (json_int_t)o->created, "updated", (json_int_t)o->updated, "expires_at",
                  (json_int_t)o->expires_at, "paid_at", (json_int_t)o->paid_at, "provider",
                  text_or_null(o->provider), "provider_ref", text_or_null(o->provider_ref),
                  "items");
    if (j == NULL)
        return NULL;
    items = json_object_get(j, "items");
    for (i = 0; i < o->n_items && i < ADM_STORE_ORDER_ITEMS_MAX; i++) {
        const adm_order_item_t *it = &o->items[i];
        if (json_array_append_new(items,
                                  json_pack("{s:I, s:I, s:I, s:i, s:I}", "id", (json_int_t)it->id,
                                            "ticket_type_id", (json_int_t)it->type_id, "event_id",
                                            (json_int_t)it->event_id, "quantity", (int)it->quantity,
                                            "unit_price", (json_int_t)it->unit_price)) != 0) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

/* {"id","event_id","ticket_type_id","order_id","status","created",
 *  "revoked_at","kid","token"}; the token only while the ticket is valid. */
static json_t *ticket_json(const adm_store_ticket_t *t)
{
    char kid[ADM_ISSUER_KID_TEXT];
    bool valid = t->status == ADM_TICKET_VALID;

    adm_issuer_kid_text(t->key_id, kid);
    return json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:o, s:o}", "id", (json_int_t)t->id,
                     "event_id", (json_int_t)t->event_id, "ticket_type_id", (json_int_t)t->type_id,
                     "order_id", (json_int_t)t->order_id, "status", valid ? "valid" : "revoked",
                     "created", (json_int_t)t->created, "revoked_at", (json_int_t)t->revoked_at,
                     "kid", t->key_id ? json_string(kid) : json_null(), "token",
                     valid && t->token[0] ? json_string(t->token) : json_null());
}

/* {"provider","status","reference","message","redirect_url"} */
static json_t *payment_json(const char *provider, const adm_payment_result_t *r)
{
    return json_pack("{s:s, s:s, s:o, s:s, s:o}", "provider", provider, "status",
                     adm_payment_status_name(r->status), "reference", text_or_null(r->ref),
                     "message", r->message, "redirect_url", text_or_null(r->redirect_url));
}

static bool tickets_unsigned(const adm_store_ticket_t *t, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (t[i].status == ADM_TICKET_VALID && t[i].token[0] == '\0')
            return true;
    return false;
}

/* Reads order order_id (user_id 0 = any owner) with its tickets from the
 * primary into a new JSON object in *out. A paid order whose tickets are not
 * all signed (a crash or a failure after payment) is signed first. */
static adm_err_t order_body(adm_app_t *app, int64_t user_id, int64_t order_id, json_t **out)
{
    adm_err_t result = ADM_ERR_NOMEM;
    adm_store_ticket_t *tickets = NULL;
    adm_order_t *o;
    json_t *j = NULL, *arr;
    size_t n = 0, i;
    int64_t now = adm_app_now(app);

    *out = NULL;
    o = malloc(sizeof *o);
    if (o == NULL)
        goto out;
    result = adm_store_order_get(app->store, ADM_READ_HINT_PRIMARY, user_id, order_id, o);
    if (result != ADM_OK)
        goto out;
    result =
        adm_store_order_tickets(app->store, ADM_READ_HINT_PRIMARY, user_id, order_id, &tickets, &n);
    if (result != ADM_OK)
        goto out;
    if (o->state == ADM_ORDER_PAID && tickets_unsigned(tickets, n)) {
        size_t n_signed = 0;
        adm_err_t rc = adm_issuer_sign_order(app->issuer, order_id, now, &n_signed);
        adm_app_count_tickets(app, n_signed);
        if (rc != ADM_OK)
            adm_log(ADM_LOG_WARN, "order %lld: signing tickets failed: %s", (long long)order_id,
                    adm_strerror(rc));
        free(tickets);
        tickets = NULL;
        result = adm_store_order_tickets(app->store, ADM_READ_HINT_PRIMARY, user_id, order_id,
                                         &tickets, &n);
        if (result != ADM_OK)
            goto out;
    }
    result = ADM_ERR_NOMEM;
    j = order_json(o);
    arr = json_array();
    if (j == NULL || arr == NULL || json_object_set_new(j, "tickets", arr) != 0)
        goto out;
    for (i = 0; i < n; i++)
        if (json_array_append_new(arr, ticket_json(&tickets[i])) != 0)
            goto out;
    result = ADM_OK;
    *out = j;
    j = NULL;
out:
    json_decref(j);
    free(tickets);
    free(o);
    return result;
}

/* ---- holds ---- */

/* The admit_holds_total result of a hold attempt (docs/api.md "Metrics"). */
static const char *hold_result(adm_err_t rc)
{
    switch (rc) {
    case ADM_OK:
        return "created";
    case ADM_ERR_NOT_FOUND:
        return "not_found";
    case ADM_ERR_STATE:
        return "not_on_sale";
    case ADM_ERR_SALE_CLOSED:
        return "sale_closed";
    case ADM_ERR_SOLD_OUT:
        return "sold_out";
    case ADM_ERR_LIMIT:
        return "limit_exceeded";
    default:
        return "error";
    }
}

static void holds_create(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"ticket_type_id", "quantity", NULL};
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_hold_t hold;
    json_t *in, *q;
    json_int_t type_id = 0, quantity;
    int64_t now;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !read_body(req, fields, false, &in))
        return;
    if (!adm_http_json_int(req, in, "ticket_type_id", true, 1, INT64_MAX, &type_id))
        return;
    q = json_object_get(in, "quantity");
    if (!json_is_integer(q)) {
        adm_http_reply_error(req, 400, "bad_field",
                             q == NULL ? "field \"quantity\" is required"
                                       : "field \"quantity\" must be a whole number");
        return;
    }
    quantity = json_integer_value(q);
    if (quantity <= 0) {
        adm_http_reply_error(req, 400, "bad_quantity", "quantity must be at least 1");
        return;
    }
    if (quantity > ADM_STORE_QUANTITY_MAX) {
        adm_app_count_hold(app, hold_result(ADM_ERR_LIMIT));
        adm_http_reply_error(req, 422, "limit_exceeded", "at most %d tickets can be held at once",
                             ADM_STORE_QUANTITY_MAX);
        return;
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    now = adm_app_now(app);
    rc = adm_store_hold_create(app->store, who.user_id, type_id, (int32_t)quantity, hold_ttl(app),
                               now, &hold);
    adm_app_count_hold(app, hold_result(rc));
    switch (rc) {
    case ADM_OK:
        adm_idem_reply_json(req, app, idem, 201, hold_json(&hold, now));
        break;
    case ADM_ERR_NOT_FOUND:
        adm_idem_reply_error(req, app, idem, 404, "not_found", "ticket type %lld does not exist",
                             (long long)type_id);
        break;
    case ADM_ERR_STATE:
        adm_idem_reply_error(req, app, idem, 409, "not_on_sale", "the event is not on sale");
        break;
    case ADM_ERR_SOLD_OUT:
        adm_idem_reply_error(req, app, idem, 409, "sold_out",
                             "not enough tickets left for %lld; try a smaller quantity",
                             (long long)quantity);
        break;
    case ADM_ERR_LIMIT:
        adm_idem_reply_error(req, app, idem, 422, "limit_exceeded",
                             "over the limit of tickets per order or per customer for this type");
        break;
    default:
        adm_idem_reply_err(req, app, idem, rc);
        break;
    }
}

static void holds_get(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    adm_hold_t hold;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !path_hold_id(req, id))
        return;
    rc = adm_store_hold_get(app->store, who.user_id, id, &hold);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_json(req, 200, hold_json(&hold, adm_app_now(app)));
}

static void holds_delete(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    adm_hold_t hold;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !path_hold_id(req, id))
        return;
    rc = adm_store_hold_release(app->store, who.user_id, id, adm_app_now(app));
    if (rc == ADM_ERR_STATE) {
        /* released before: deleting again is fine; converted: it is an order now */
        rc = adm_store_hold_get(app->store, who.user_id, id, &hold);
        if (rc == ADM_OK && hold.state == ADM_HOLD_CONVERTED) {
            adm_http_reply_error(req, 409, "invalid_state",
                                 "the hold became order %lld; cancel the order instead",
                                 (long long)hold.order_id);
            return;
        }
    }
    if (rc == ADM_ERR_EXPIRED) /* its seats are released now as well */
        rc = ADM_OK;
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_bytes(req, 204, "application/json", NULL, 0, ADM_HTTP_STATIC);
}

/* ---- orders ---- */

static void orders_create(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"hold_ids", NULL};
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    char ids[ADM_STORE_ORDER_ITEMS_MAX][ADM_STORE_HOLD_ID_LEN + 1];
    const char *ptrs[ADM_STORE_ORDER_ITEMS_MAX];
    adm_order_t *order = NULL;
    json_t *in, *arr, *body = NULL;
    size_t n, i, k;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !read_body(req, fields, false, &in))
        return;
    arr = json_object_get(in, "hold_ids");
    n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > ADM_STORE_ORDER_ITEMS_MAX) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"hold_ids\" must be an array of 1..%d hold ids",
                             ADM_STORE_ORDER_ITEMS_MAX);
        return;
    }
    for (i = 0; i < n; i++) {
        if (!hold_id_parse(json_string_value(json_array_get(arr, i)), ids[i])) {
            adm_http_reply_error(req, 400, "bad_field",
                                 "hold_ids[%zu] is not a hold id (%d hexadecimal digits)", i,
                                 ADM_STORE_HOLD_ID_LEN);
            return;
        }
        for (k = 0; k < i; k++) {
            if (strcmp(ids[k], ids[i]) == 0) {
                adm_http_reply_error(req, 400, "bad_field", "hold_ids[%zu] repeats hold_ids[%zu]",
                                     i, k);
                return;
            }
        }
        ptrs[i] = ids[i];
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    order = malloc(sizeof *order);
    if (order == NULL) {
        adm_idem_reply_err(req, app, idem, ADM_ERR_NOMEM);
        return;
    }
    rc = adm_store_checkout(app->store, who.user_id, ptrs, n, 0, adm_app_now(app), order);
    if (rc == ADM_OK) {
        adm_app_count_order(app, "created", 1);
        rc = order_body(app, who.user_id, order->id, &body);
    }
    switch (rc) {
    case ADM_OK:
        adm_idem_reply_json(req, app, idem, 201, body);
        break;
    case ADM_ERR_NOT_FOUND:
        adm_idem_reply_error(req, app, idem, 404, "hold_not_found",
                             "a hold does not exist or is not yours");
        break;
    case ADM_ERR_EXPIRED:
        adm_idem_reply_error(req, app, idem, 410, "hold_expired",
                             "a hold has expired and its tickets were released; hold again");
        break;
    case ADM_ERR_STATE:
        adm_idem_reply_error(req, app, idem, 409, "invalid_state",
                             "a hold was released or already ordered, or its event is no "
                             "longer on sale");
        break;
    case ADM_ERR_INVALID_ARG:
        adm_idem_reply_error(req, app, idem, 422, "mixed_currencies",
                             "holds priced in different currencies need separate orders");
        break;
    default:
        adm_idem_reply_err(req, app, idem, rc);
        break;
    }
    free(order);
}

static void orders_list(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_order_t *orders = NULL;
    long long before, limit;
    json_t *body = NULL, *arr;
    size_t n = 0, i;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) ||
        !adm_http_query_int(req, "before", 0, 0, INT64_MAX, &before) ||
        !adm_http_query_int(req, "limit", ADM_STORE_PAGE_DEFAULT, 1, ADM_STORE_PAGE_MAX, &limit))
        return;
    rc = adm_store_order_list(app->store, ADM_READ_HINT_PRIMARY, who.user_id, before, (size_t)limit,
                              &orders, &n);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    body = json_pack("{s:[], s:o}", "orders", "next_before",
                     n == (size_t)limit ? json_integer(orders[n - 1].id) : json_null());
    arr = json_object_get(body, "orders");
    for (i = 0; body != NULL && i < n; i++) {
        if (json_array_append_new(arr, order_json(&orders[i])) != 0) {
            json_decref(body);
            body = NULL;
        }
    }
    free(orders);
    adm_http_reply_json(req, 200, body);
}

static void orders_get(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    int64_t id;
    json_t *body;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !adm_app_path_id(req, "id", &id))
        return;
    rc = order_body(app, who.role == ADM_ROLE_ORGANISER ? 0 : who.user_id, id, &body);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_json(req, 200, body);
}

/* Records a PAID provider result on order and signs its tickets, then
 * replies 200 with the order, its tickets and payment. */
static void finish_paid(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, int64_t user_id,
                        const adm_order_t *order, const char *provider,
                        const adm_payment_result_t *pay)
{
    int64_t now = adm_app_now(app);
    json_t *body = NULL;
    adm_err_t rc;

    rc = adm_store_order_pay(app->store, order->id, provider, pay->ref, now, NULL);
    if (rc == ADM_OK) {
        size_t n_signed = 0;
        /* order_body() signs too; doing it here first gives the log line a cause */
        adm_err_t sign = adm_issuer_sign_order(app->issuer, order->id, now, &n_signed);

        adm_app_count_order(app, "paid", 1);
        adm_app_count_tickets(app, n_signed);
        if (sign != ADM_OK)
            adm_log(ADM_LOG_WARN, "order %lld paid but not signed yet: %s", (long long)order->id,
                    adm_strerror(sign));
        rc = order_body(app, user_id, order->id, &body);
    }
    if (rc == ADM_OK && json_object_set_new(body, "payment", payment_json(provider, pay)) != 0)
        rc = ADM_ERR_NOMEM;
    switch (rc) {
    case ADM_OK:
        adm_idem_reply_json(req, app, idem, 200, body);
        body = NULL;
        break;
    case ADM_ERR_EXPIRED:
        adm_idem_reply_error(req, app, idem, 410, "order_expired",
                             "the payment deadline passed and the tickets were released");
        break;
    case ADM_ERR_STATE:
        adm_idem_reply_error(req, app, idem, 409, "invalid_state",
                             "the order is no longer pending, or its event is not on sale");
        break;
    case ADM_ERR_EXISTS:
        adm_idem_reply_error(req, app, idem, 409, "conflict",
                             "this payment reference already paid another order");
        break;
    default:
        adm_idem_reply_err(req, app, idem, rc);
        break;
    }
    json_decref(body);
}

/* Replies 200 with the order as it is plus a payment object. */
static void reply_order_payment(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem,
                                int64_t user_id, int64_t order_id, const char *provider,
                                const adm_payment_result_t *pay)
{
    json_t *body = NULL;
    adm_err_t rc = order_body(app, user_id, order_id, &body);

    if (rc == ADM_OK && json_object_set_new(body, "payment", payment_json(provider, pay)) != 0)
        rc = ADM_ERR_NOMEM;
    if (rc != ADM_OK) {
        json_decref(body);
        adm_idem_reply_err(req, app, idem, rc);
        return;
    }
    adm_idem_reply_json(req, app, idem, 200, body);
}

/* Shared by pay (customer, user_id = owner) and confirm (organiser, 0). */
static void pay_or_confirm(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem,
                           int64_t user_id, int64_t order_id, const adm_payment_provider_t *p,
                           bool confirm)
{
    adm_payment_result_t pay;
    adm_order_t *order;
    adm_err_t rc;

    memset(&pay, 0, sizeof pay);
    order = malloc(sizeof *order);
    if (order == NULL) {
        adm_idem_reply_err(req, app, idem, ADM_ERR_NOMEM);
        return;
    }
    rc = adm_store_order_get(app->store, ADM_READ_HINT_PRIMARY, user_id, order_id, order);
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        goto out;
    }
    if (order->state == ADM_ORDER_PAID) {
        /* paid before (replay without a key, a second confirm): say so */
        pay.status = ADM_PAYMENT_PAID;
        snprintf(pay.ref, sizeof pay.ref, "%s", order->provider_ref);
        snprintf(pay.message, sizeof pay.message, "already paid");
        reply_order_payment(req, app, idem, user_id, order_id, order->provider, &pay);
        goto out;
    }
    if (order->state != ADM_ORDER_PENDING) {
        adm_idem_reply_error(req, app, idem, 409, "invalid_state", "the order is %s, not pending",
                             adm_order_state_name(order->state));
        goto out;
    }
    if (order->expires_at <= adm_app_now(app)) {
        /* not reaped yet, but no provider should start on it */
        adm_idem_reply_error(req, app, idem, 410, "order_expired",
                             "the payment deadline passed and the tickets were released");
        goto out;
    }
    rc = confirm ? p->confirm(p->state, order, &pay) : p->start(p->state, order, &pay);
    if (rc == ADM_ERR_INVALID_ARG) {
        adm_idem_reply_error(req, app, idem, 422, "payment_not_applicable",
                             "payment provider %s cannot pay this order%s", p->name,
                             order->total != 0 && strcmp(p->name, "free") == 0 ? " (it has a price)"
                                                                               : "");
        goto out;
    }
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        goto out;
    }
    switch (pay.status) {
    case ADM_PAYMENT_PAID:
        finish_paid(req, app, idem, user_id, order, p->name, &pay);
        break;
    case ADM_PAYMENT_PENDING:
        if (!confirm && p->pending_ttl_s > 0) {
            /* a payment that takes days (bank transfer): keep the seats
             * held that long instead of the checkout's deadline */
            int64_t now = adm_app_now(app);

            rc = adm_store_order_extend(app->store, order_id, now + p->pending_ttl_s, now, NULL);
            if (rc == ADM_ERR_EXPIRED) {
                adm_idem_reply_error(req, app, idem, 410, "order_expired",
                                     "the payment deadline passed and the tickets were released");
                break;
            }
            if (rc != ADM_OK) {
                reply_err(req, app, idem, rc, ADM_ERR_STATE, 409, "invalid_state",
                          "the order is no longer pending");
                break;
            }
        }
        reply_order_payment(req, app, idem, user_id, order_id, p->name, &pay);
        break;
    default:
        adm_idem_reply_error(req, app, idem, 402, "payment_failed", "payment declined: %s",
                             pay.message[0] ? pay.message : "no reason given");
        break;
    }
out:
    free(order);
}

static void orders_pay(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"provider", NULL};
    adm_app_t *app = ctx;
    const adm_payment_provider_t *p;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    const char *name;
    json_t *in;
    int64_t id;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !adm_app_path_id(req, "id", &id) ||
        !read_body(req, fields, false, &in) ||
        !adm_app_json_text(req, in, "provider", true, ADM_STORE_PROVIDER_MAX, false, &name))
        return;
    p = adm_payments_find(app->payments, name);
    if (p == NULL) {
        adm_http_reply_error(req, 400, "unknown_provider", "no payment provider is called %s",
                             name);
        return;
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    pay_or_confirm(req, app, idem, who.user_id, id, p, false);
}

static void orders_confirm(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"provider", NULL};
    adm_app_t *app = ctx;
    const adm_payment_provider_t *p;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    const char *name = NULL;
    json_t *in;
    int64_t id;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        !read_body(req, fields, true, &in))
        return;
    if (in != NULL &&
        !adm_app_json_text(req, in, "provider", false, ADM_STORE_PROVIDER_MAX, false, &name))
        return;
    p = adm_payments_find(app->payments, name != NULL ? name : "manual");
    if (p == NULL || !p->organiser_confirms) {
        adm_http_reply_error(req, 400, "unknown_provider",
                             "%s is not a payment provider an organiser confirms",
                             name != NULL ? name : "manual");
        return;
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    pay_or_confirm(req, app, idem, 0, id, p, true);
}

static void orders_cancel(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    int64_t id, owner;
    json_t *body = NULL;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !adm_app_path_id(req, "id", &id) ||
        !read_empty_body(req) || !adm_idem_begin(req, app, &who, &idem))
        return;
    owner = who.role == ADM_ROLE_ORGANISER ? 0 : who.user_id;
    rc = adm_store_order_cancel(app->store, owner, id, adm_app_now(app));
    if (rc == ADM_OK) {
        adm_app_count_order(app, "cancelled", 1);
        rc = order_body(app, owner, id, &body);
    }
    if (rc == ADM_OK)
        adm_idem_reply_json(req, app, idem, 200, body);
    else
        reply_err(req, app, idem, rc, ADM_ERR_STATE, 409, "invalid_state",
                  "only a pending order can be cancelled");
}

static void orders_refund(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    const adm_payment_provider_t *p;
    adm_payment_result_t pay;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_order_t *order = NULL;
    json_t *body = NULL;
    size_t revoked = 0;
    int64_t id;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        !read_empty_body(req) || !adm_idem_begin(req, app, &who, &idem))
        return;
    order = malloc(sizeof *order);
    if (order == NULL) {
        adm_idem_reply_err(req, app, idem, ADM_ERR_NOMEM);
        return;
    }
    rc = adm_store_order_get(app->store, ADM_READ_HINT_PRIMARY, 0, id, order);
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        goto out;
    }
    if (order->state != ADM_ORDER_PAID) {
        adm_idem_reply_error(req, app, idem, 409, "invalid_state",
                             "only a paid order can be refunded; this one is %s",
                             adm_order_state_name(order->state));
        goto out;
    }
    p = adm_payments_find(app->payments, order->provider);
    if (p == NULL) {
        adm_idem_reply_error(req, app, idem, 409, "unknown_provider",
                             "the order was paid with %s, which this server does not offer",
                             order->provider);
        goto out;
    }
    /* money first: tickets are revoked only once the provider gave it back */
    rc = p->refund(p->state, order, &pay);
    if (rc == ADM_OK && pay.status != ADM_PAYMENT_PAID) {
        adm_idem_reply_error(req, app, idem, 402, "refund_failed", "refund declined: %s",
                             pay.message[0] ? pay.message : "no reason given");
        goto out;
    }
    if (rc == ADM_OK &&
        (rc = adm_store_order_refund(app->store, id, adm_app_now(app), &revoked)) == ADM_OK) {
        adm_app_count_order(app, "refunded", 1);
        for (size_t i = 0; i < order->n_items; i++) /* gates see the revocations now */
            adm_app_sync_notify(adm_http_req_server(req), order->items[i].event_id);
        rc = order_body(app, 0, id, &body);
    }
    if (rc == ADM_OK && json_object_set_new(body, "revoked", json_integer((json_int_t)revoked)))
        rc = ADM_ERR_NOMEM;
    if (rc == ADM_OK) {
        adm_idem_reply_json(req, app, idem, 200, body);
        body = NULL;
    } else {
        reply_err(req, app, idem, rc, ADM_ERR_STATE, 409, "invalid_state",
                  "only a paid order can be refunded");
    }
out:
    json_decref(body);
    free(order);
}

/* ---- tickets ---- */

/* Loads ticket id for who into *t: owners see theirs, crew and organisers
 * every ticket; anyone else gets 404. A valid unsigned ticket is signed
 * first. Replies itself and returns false on failure. */
static bool load_ticket(adm_http_req_t *req, adm_app_t *app, const adm_principal_t *who,
                        adm_store_ticket_t *t)
{
    int64_t id;
    adm_err_t rc;

    if (!adm_app_path_id(req, "id", &id))
        return false;
    rc = adm_store_ticket_get(app->store, ADM_READ_HINT_PRIMARY, id, t);
    if (rc == ADM_OK && who->role == ADM_ROLE_CUSTOMER && t->user_id != who->user_id)
        rc = ADM_ERR_NOT_FOUND;
    if (rc == ADM_OK && t->status == ADM_TICKET_VALID && t->token[0] == '\0') {
        adm_err_t sign = adm_issuer_sign_ticket(app->issuer, t, adm_app_now(app));
        if (sign == ADM_OK)
            adm_app_count_tickets(app, 1);
        else
            adm_log(ADM_LOG_WARN, "ticket %lld: signing failed: %s", (long long)id,
                    adm_strerror(sign));
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return false;
    }
    return true;
}

static void tickets_get(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_store_ticket_t t;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) || !load_ticket(req, app, &who, &t))
        return;
    adm_http_reply_json(req, 200, ticket_json(&t));
}

static void tickets_qr(adm_http_req_t *req, adm_app_t *app, bool png)
{
    adm_principal_t who;
    adm_store_ticket_t t;
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    long long module, quiet;
    uint8_t *img = NULL;
    char *svg = NULL;
    size_t len = 0;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who) ||
        !adm_http_query_int(req, "module", style.module_px, 1, QR_MODULE_MAX, &module) ||
        !adm_http_query_int(req, "quiet", style.quiet_modules, 0, QR_QUIET_MAX, &quiet) ||
        !load_ticket(req, app, &who, &t))
        return;
    if (t.status != ADM_TICKET_VALID) {
        adm_http_reply_error(req, 410, "ticket_revoked", "the ticket was revoked");
        return;
    }
    if (t.token[0] == '\0') {
        (void)adm_http_set_header(req, "Retry-After", "5");
        adm_http_reply_error(req, 503, "not_signed_yet",
                             "the ticket is paid but not signed yet; retry shortly");
        return;
    }
    style.module_px = (int)module;
    style.quiet_modules = (int)quiet;
    /* a ticket is a bearer credential: keep it out of shared caches */
    (void)adm_http_set_header(req, "Cache-Control", "private, no-store");
    if (png) {
        rc = adm_qr_render_png(t.token, &style, &img, &len);
        if (rc == ADM_OK)
            adm_http_reply_bytes(req, 200, "image/png", img, len, ADM_HTTP_TAKE);
    } else {
        rc = adm_qr_render_svg(t.token, &style, &svg);
        if (rc == ADM_OK)
            adm_http_reply_bytes(req, 200, "image/svg+xml", svg, strlen(svg), ADM_HTTP_TAKE);
    }
    if (rc != ADM_OK)
        adm_app_reply_err(req, rc);
}

static void tickets_qr_png(adm_http_req_t *req, void *ctx)
{
    tickets_qr(req, ctx, true);
}

static void tickets_qr_svg(adm_http_req_t *req, void *ctx)
{
    tickets_qr(req, ctx, false);
}

static void tickets_revoke(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_store_ticket_t t;
    int64_t id, seq = 0;
    json_t *body;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        !read_empty_body(req) || !adm_idem_begin(req, app, &who, &idem))
        return;
    rc = adm_store_ticket_revoke(app->store, id, adm_app_now(app), &seq);
    if (rc == ADM_OK)
        rc = adm_store_ticket_get(app->store, ADM_READ_HINT_PRIMARY, id, &t);
    if (rc == ADM_OK) /* gates following the event's feed see the revocation now */
        adm_app_sync_notify(adm_http_req_server(req), t.event_id);
    if (rc != ADM_OK) {
        reply_err(req, app, idem, rc, ADM_ERR_STATE, 409, "invalid_state",
                  "the ticket is already revoked");
        return;
    }
    body = ticket_json(&t);
    if (body != NULL && json_object_set_new(body, "revocation_seq", json_integer(seq)) != 0) {
        json_decref(body);
        body = NULL;
    }
    adm_idem_reply_json(req, app, idem, 200, body);
}

/* ---- events: revocations and keys ---- */

static void events_revocations(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_revocation_t *revs = NULL;
    long long since, limit;
    json_t *body, *arr;
    int64_t id, next;
    size_t n = 0, i;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CREW, &who) || !adm_app_path_id(req, "id", &id) ||
        !adm_http_query_int(req, "since", 0, 0, INT64_MAX, &since) ||
        !adm_http_query_int(req, "limit", REVOCATIONS_DEFAULT, 1, ADM_STORE_REVOCATIONS_PAGE_MAX,
                            &limit))
        return;
    rc = adm_store_revocations_since(app->store, ADM_READ_HINT_ANY, id, since, (size_t)limit, &revs,
                                     &n);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    next = n > 0 ? revs[n - 1].seq : since;
    body = json_pack("{s:[], s:I, s:b}", "revocations", "next", (json_int_t)next, "more",
                     n == (size_t)limit);
    arr = json_object_get(body, "revocations");
    for (i = 0; body != NULL && i < n; i++) {
        /* the store keeps no cause; "revoked" covers refunds and organiser revokes */
        if (json_array_append_new(
                arr, json_pack("{s:I, s:I, s:I, s:s}", "seq", (json_int_t)revs[i].seq, "ticket_id",
                               (json_int_t)revs[i].ticket_id, "revoked_at",
                               (json_int_t)revs[i].revoked_at, "reason", "revoked")) != 0) {
            json_decref(body);
            body = NULL;
        }
    }
    free(revs);
    adm_http_reply_json(req, 200, body);
}

static void events_keys(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_event_t *ev = NULL;
    char *json = NULL;
    size_t len = 0;
    int64_t id;
    adm_err_t rc = ADM_ERR_NOMEM;

    if (!adm_auth_optional(req, app, &who) || !adm_app_path_id(req, "id", &id))
        return;
    /* like the catalog, a draft event does not exist for the public; staff
     * (and their scanners) may load its keys ahead of the sale */
    ev = malloc(sizeof *ev);
    if (ev != NULL)
        rc = adm_store_event_get(app->store, ADM_READ_HINT_ANY, id, ev);
    if (rc == ADM_OK && ev->status == ADM_EVENT_DRAFT && who.role < ADM_ROLE_CREW)
        rc = ADM_ERR_NOT_FOUND;
    free(ev);
    if (rc == ADM_OK)
        rc = adm_issuer_public_json(app->issuer, id, adm_app_now(app), &json, &len);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    /* public and small; a short max-age lets a CDN absorb scanner polling
     * while a retirement still reaches scanners within a minute */
    (void)adm_http_set_header(req, "Cache-Control", "public, max-age=30");
    adm_http_reply_bytes(req, 200, "application/json", json, len, ADM_HTTP_TAKE);
}

/* {"kid", "signing_kid", "keyring": <public document>} for event id. */
static adm_err_t keys_body(adm_app_t *app, int64_t id, uint32_t kid, json_t **out)
{
    adm_err_t result;
    char k[ADM_ISSUER_KID_TEXT], s[ADM_ISSUER_KID_TEXT];
    char *json = NULL;
    uint32_t signing = 0;
    json_t *doc;
    int64_t now = adm_app_now(app);

    *out = NULL;
    if ((result = adm_issuer_signing_kid(app->issuer, id, now, &signing)) != ADM_OK &&
        result != ADM_ERR_LIMIT)
        goto out;
    if ((result = adm_issuer_public_json(app->issuer, id, now, &json, NULL)) != ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    doc = json_loads(json, 0, NULL);
    if (doc == NULL)
        goto out;
    adm_issuer_kid_text(kid, k);
    adm_issuer_kid_text(signing, s);
    *out = json_pack("{s:s, s:o, s:o}", "kid", k, "signing_kid",
                     signing ? json_string(s) : json_null(), "keyring", doc);
    if (*out != NULL)
        result = ADM_OK;
out:
    free(json);
    return result;
}

static void events_keys_rotate(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    uint32_t kid = 0;
    int64_t id;
    json_t *body = NULL;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        !read_empty_body(req) || !adm_idem_begin(req, app, &who, &idem))
        return;
    rc = adm_issuer_rotate(app->issuer, id, adm_app_now(app), &kid);
    if (rc == ADM_OK)
        rc = keys_body(app, id, kid, &body);
    if (rc == ADM_OK)
        adm_idem_reply_json(req, app, idem, 201, body);
    else
        reply_err(req, app, idem, rc, ADM_ERR_LIMIT, 422, "key_limit",
                  "the event has the most signing keys it can have");
}

static void events_keys_retire(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    uint32_t kid = 0;
    int64_t id;
    json_t *body = NULL;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id))
        return;
    if (!adm_issuer_kid_parse(adm_http_param(req, "kid"), &kid)) {
        adm_http_reply_error(req, 400, "bad_id", "a key id is 8 lower-case hexadecimal digits");
        return;
    }
    if (!read_empty_body(req) || !adm_idem_begin(req, app, &who, &idem))
        return;
    rc = adm_issuer_retire(app->issuer, id, kid, adm_app_now(app));
    if (rc == ADM_OK)
        rc = keys_body(app, id, kid, &body);
    if (rc == ADM_OK && json_object_set_new(body, "retired", json_true()) != 0)
        rc = ADM_ERR_NOMEM;
    if (rc == ADM_OK) {
        adm_idem_reply_json(req, app, idem, 200, body);
        return;
    }
    json_decref(body);
    adm_idem_reply_err(req, app, idem, rc);
}

/* ---- table ---- */

adm_err_t adm_routes_booking(adm_app_t *app, adm_http_server_t *srv)
{
    static const struct {
        const char *method, *pattern, *name;
        adm_http_handler_fn fn;
    } routes[] = {
        {"POST", "/v1/holds", "holds.create", holds_create},
        {"GET", "/v1/holds/{id}", "holds.get", holds_get},
        {"DELETE", "/v1/holds/{id}", "holds.delete", holds_delete},
        {"POST", "/v1/orders", "orders.create", orders_create},
        {"GET", "/v1/orders", "orders.list", orders_list},
        {"GET", "/v1/orders/{id}", "orders.get", orders_get},
        {"POST", "/v1/orders/{id}/pay", "orders.pay", orders_pay},
        {"POST", "/v1/orders/{id}/confirm", "orders.confirm", orders_confirm},
        {"POST", "/v1/orders/{id}/cancel", "orders.cancel", orders_cancel},
        {"POST", "/v1/orders/{id}/refund", "orders.refund", orders_refund},
        {"GET", "/v1/tickets/{id}", "tickets.get", tickets_get},
        {"GET", "/v1/tickets/{id}/qr.png", "tickets.qr_png", tickets_qr_png},
        {"GET", "/v1/tickets/{id}/qr.svg", "tickets.qr_svg", tickets_qr_svg},
        {"POST", "/v1/tickets/{id}/revoke", "tickets.revoke", tickets_revoke},
        {"GET", "/v1/events/{id}/revocations", "events.revocations", events_revocations},
        {"GET", "/v1/events/{id}/keys", "events.keys", events_keys},
        {"POST", "/v1/events/{id}/keys/rotate", "events.keys_rotate", events_keys_rotate},
        {"POST", "/v1/events/{id}/keys/{kid}/retire", "events.keys_retire", events_keys_retire},
    };
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t i;

    if (app == NULL || srv == NULL || app->store == NULL || app->issuer == NULL ||
        app->payments == NULL)
        goto out;
    result = ADM_OK;
    for (i = 0; i < sizeof routes / sizeof routes[0] && result == ADM_OK; i++)
        result = adm_http_route(srv, routes[i].method, routes[i].pattern, routes[i].fn, app,
                                routes[i].name);
out:
    return result;
}
