/* route-organiser.c: admitd's organiser endpoints: create and edit venues,
 * events (including their status) and ticket types, and per-event sales.
 * Every route needs the organiser role. Not for public reads
 * (route-catalog.c) nor for refunds after a cancellation (route-booking.c). */
#include <string.h>

#include "server/app.h"

#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define PER_ORDER_DEFAULT 10

/* ---- helpers ------------------------------------------------------------------ */

/* Optional integer field: *present tells whether obj has key; *out is left
 * unchanged when absent. Replies 400 bad_field on failure. */
static bool opt_int(adm_http_req_t *req, const json_t *obj, const char *key, json_int_t min,
                    json_int_t max, json_int_t *out, bool *present)
{
    *present = json_object_get(obj, key) != NULL;
    return adm_http_json_int(req, obj, key, false, min, max, out);
}

static bool currency_ok(const char *c)
{
    return c != NULL && strlen(c) == ADM_STORE_CURRENCY_LEN && c[0] >= 'A' && c[0] <= 'Z' &&
           c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z';
}

static bool parse_status(const char *s, adm_event_status_t *out)
{
    static const adm_event_status_t all[] = {ADM_EVENT_DRAFT, ADM_EVENT_ON_SALE,
                                             ADM_EVENT_CANCELLED, ADM_EVENT_ENDED};
    size_t i;

    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, adm_event_status_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

/* The moves adm_store_event_set_status() allows (store.h). */
static bool transition_ok(adm_event_status_t from, adm_event_status_t to)
{
    if (from == to)
        return true;
    switch (from) {
    case ADM_EVENT_DRAFT:
        return to == ADM_EVENT_ON_SALE || to == ADM_EVENT_CANCELLED;
    case ADM_EVENT_ON_SALE:
        return to == ADM_EVENT_DRAFT || to == ADM_EVENT_CANCELLED || to == ADM_EVENT_ENDED;
    default:
        return false;
    }
}

static void reply_missing(adm_http_req_t *req, const char *what, int64_t id)
{
    adm_http_reply_error(req, 404, "not_found", "%s %lld does not exist", what, (long long)id);
}

/* ---- venues ---------------------------------------------------------------------- */

/* Reads the venue fields of in over *spec; required fields only when create. */
static bool venue_fields(adm_http_req_t *req, const json_t *in, bool create, adm_venue_spec_t *spec)
{
    static const char *const fields[] = {"name", "city", "address", "capacity", NULL};
    const char *name, *city, *address;
    json_int_t capacity = spec->capacity;
    bool has_capacity;

    if (!adm_app_check_fields(req, in, fields) ||
        !adm_app_json_text(req, in, "name", create, ADM_STORE_NAME_MAX, false, &name) ||
        !adm_app_json_text(req, in, "city", create, ADM_STORE_CITY_MAX, false, &city) ||
        !adm_app_json_text(req, in, "address", false, ADM_STORE_ADDRESS_MAX, true, &address) ||
        !opt_int(req, in, "capacity", 0, ADM_STORE_CAPACITY_MAX, &capacity, &has_capacity))
        return false;
    if ((name != NULL && name[0] == '\0') || (city != NULL && city[0] == '\0')) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" must not be empty",
                             name != NULL && name[0] == '\0' ? "name" : "city");
        return false;
    }
    if (name != NULL)
        spec->name = name;
    if (city != NULL)
        spec->city = city;
    if (address != NULL)
        spec->address = address;
    spec->capacity = capacity;
    return true;
}

/* POST /v1/venues {name, city, address?, capacity?} */
static void post_venue(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_venue_spec_t spec = {.address = "", .capacity = 0};
    adm_venue_t v;
    int64_t id = 0;
    adm_err_t rc;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        (in = adm_http_body_json(req)) == NULL || !venue_fields(req, in, true, &spec) ||
        !adm_idem_begin(req, app, &who, &idem))
        return;
    rc = adm_store_venue_create(app->store, &spec, adm_app_now(app), &id);
    if (rc == ADM_OK)
        rc = adm_store_venue_get(app->store, ADM_READ_HINT_PRIMARY, id, &v);
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        return;
    }
    adm_idem_reply_json(req, app, idem, 201, adm_app_venue_json(&v));
}

/* PATCH /v1/venues/{id} with any of the POST fields */
static void patch_venue(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_venue_t v;
    adm_venue_spec_t spec;
    int64_t id;
    adm_err_t rc;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        (in = adm_http_body_json(req)) == NULL)
        return;
    rc = adm_store_venue_get(app->store, ADM_READ_HINT_PRIMARY, id, &v);
    if (rc == ADM_ERR_NOT_FOUND) {
        reply_missing(req, "venue", id);
        return;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    spec = (adm_venue_spec_t){
        .name = v.name, .city = v.city, .address = v.address, .capacity = v.capacity};
    if (!venue_fields(req, in, false, &spec))
        return;
    rc = adm_store_venue_update(app->store, id, &spec, adm_app_now(app));
    if (rc == ADM_OK)
        rc = adm_store_venue_get(app->store, ADM_READ_HINT_PRIMARY, id, &v);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_json(req, 200, adm_app_venue_json(&v));
}

/* ---- events ----------------------------------------------------------------------- */

/* Reads the editable event fields of in over *spec (required ones only when
 * create); checks ends_at >= starts_at after merging. */
static bool event_fields(adm_http_req_t *req, const json_t *in, bool create, adm_event_spec_t *spec)
{
    const char *title, *city, *category, *description;
    json_int_t starts = spec->starts_at, ends = spec->ends_at;
    bool has_starts, has_ends;

    if (!adm_app_json_text(req, in, "title", create, ADM_STORE_TITLE_MAX, false, &title) ||
        !adm_app_json_text(req, in, "city", false, ADM_STORE_CITY_MAX, false, &city) ||
        !adm_app_json_text(req, in, "category", false, ADM_STORE_CATEGORY_MAX, false, &category) ||
        !adm_app_json_text(req, in, "description", false, ADM_STORE_DESCRIPTION_MAX, true,
                           &description))
        return false;
    if (create && !adm_http_json_int(req, in, "starts_at", true, 1, TIME_MAX, &starts))
        return false;
    if (!opt_int(req, in, "starts_at", 1, TIME_MAX, &starts, &has_starts) ||
        !opt_int(req, in, "ends_at", 1, TIME_MAX, &ends, &has_ends))
        return false;
    if (title != NULL && title[0] == '\0') {
        adm_http_reply_error(req, 400, "bad_field", "field \"title\" must not be empty");
        return false;
    }
    if (create && !has_ends)
        ends = starts;
    if (ends < starts) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"ends_at\" must not be before \"starts_at\"");
        return false;
    }
    if (title != NULL)
        spec->title = title;
    if (city != NULL)
        spec->city = city;
    if (category != NULL)
        spec->category = category;
    if (description != NULL)
        spec->description = description;
    spec->starts_at = starts;
    spec->ends_at = ends;
    return true;
}

/* POST /v1/events {venue_id, title, starts_at, ends_at?, city?, category?,
 * description?}: a draft. */
static void post_event(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"venue_id",    "title",     "city",    "category",
                                         "description", "starts_at", "ends_at", NULL};
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_event_spec_t spec = {0};
    adm_event_t *e;
    json_int_t venue_id = 0;
    int64_t id = 0;
    adm_err_t rc;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        (in = adm_http_body_json(req)) == NULL || !adm_app_check_fields(req, in, fields) ||
        !adm_http_json_int(req, in, "venue_id", true, 1, INT64_MAX, &venue_id) ||
        !event_fields(req, in, true, &spec))
        return;
    spec.venue_id = venue_id;
    if ((e = adm_arena_alloc(adm_http_arena(req), sizeof *e)) == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        return;
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    rc = adm_store_event_create(app->store, &spec, adm_app_now(app), &id);
    if (rc == ADM_ERR_NOT_FOUND) {
        adm_idem_reply_error(req, app, idem, 404, "venue_not_found", "venue %lld does not exist",
                             (long long)spec.venue_id);
        return;
    }
    if (rc == ADM_OK)
        rc = adm_store_event_get(app->store, ADM_READ_HINT_PRIMARY, id, e);
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        return;
    }
    adm_idem_reply_json(req, app, idem, 201, adm_app_event_json(e));
}

/* PATCH /v1/events/{id} with any of the POST fields but venue_id, and
 * "status" (draft, on_sale, cancelled, ended; see transition_ok). */
static void patch_event(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"title",     "city",    "category", "description",
                                         "starts_at", "ends_at", "status",   NULL};
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_event_t *e;
    adm_event_spec_t spec;
    adm_event_status_t status = ADM_EVENT_DRAFT; /* set when status_s is */
    const char *status_s;
    int64_t id, now = adm_app_now(app);
    adm_err_t rc = ADM_OK;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        (in = adm_http_body_json(req)) == NULL || !adm_app_check_fields(req, in, fields) ||
        !adm_app_json_text(req, in, "status", false, 32, false, &status_s))
        return;
    if (status_s != NULL && !parse_status(status_s, &status)) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"status\" must be \"draft\", \"on_sale\", \"cancelled\" or "
                             "\"ended\"");
        return;
    }
    if ((e = adm_arena_alloc(adm_http_arena(req), sizeof *e)) == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        return;
    }
    rc = adm_store_event_get(app->store, ADM_READ_HINT_PRIMARY, id, e);
    if (rc == ADM_ERR_NOT_FOUND) {
        reply_missing(req, "event", id);
        return;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    spec = (adm_event_spec_t){.venue_id = e->venue_id,
                              .title = e->title,
                              .city = e->city,
                              .category = e->category,
                              .description = e->description,
                              .starts_at = e->starts_at,
                              .ends_at = e->ends_at};
    if (!event_fields(req, in, false, &spec))
        return;
    if (status_s != NULL && !transition_ok(e->status, status)) {
        adm_http_reply_error(req, 409, "invalid_state", "an event cannot go from %s to %s",
                             adm_event_status_name(e->status), adm_event_status_name(status));
        return;
    }
    if (json_object_size(in) > (status_s != NULL ? 1u : 0u))
        rc = adm_store_event_update(app->store, id, &spec, now);
    if (rc == ADM_OK && status_s != NULL)
        rc = adm_store_event_set_status(app->store, id, status, now);
    if (rc == ADM_OK)
        rc = adm_store_event_get(app->store, ADM_READ_HINT_PRIMARY, id, e);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_json(req, 200, adm_app_event_json(e));
}

/* ---- ticket types --------------------------------------------------------------- */

/* Reads the ticket type fields of in over *spec (required ones only when
 * create). */
static bool type_fields(adm_http_req_t *req, const json_t *in, bool create,
                        adm_ticket_type_spec_t *spec)
{
    static const char *const fields[] = {"name",        "price",         "currency",
                                         "capacity",    "per_order_max", "per_customer_max",
                                         "sale_starts", "sale_ends",     "special",
                                         "reentry",     "zone",          NULL};
    const char *name, *currency, *zone;
    const json_t *flag;
    json_int_t price = spec->price, capacity = spec->capacity;
    json_int_t per_order = spec->per_order_max, per_customer = spec->per_customer_max;
    json_int_t starts = spec->sale_starts, ends = spec->sale_ends;
    bool present;

    if (!adm_app_check_fields(req, in, fields) ||
        !adm_app_json_text(req, in, "name", create, ADM_STORE_NAME_MAX, false, &name) ||
        !adm_app_json_text(req, in, "currency", create, ADM_STORE_CURRENCY_LEN, false, &currency) ||
        !adm_http_json_int(req, in, "price", create, 0, ADM_STORE_PRICE_MAX, &price) ||
        !adm_http_json_int(req, in, "capacity", create, 0, ADM_STORE_CAPACITY_MAX, &capacity) ||
        !opt_int(req, in, "per_order_max", 1, ADM_STORE_QUANTITY_MAX, &per_order, &present) ||
        !opt_int(req, in, "per_customer_max", 0, ADM_STORE_CAPACITY_MAX, &per_customer, &present) ||
        !opt_int(req, in, "sale_starts", 0, TIME_MAX, &starts, &present) ||
        !opt_int(req, in, "sale_ends", 0, TIME_MAX, &ends, &present) ||
        !adm_app_json_text(req, in, "zone", false, ADM_STORE_ZONE_MAX, false, &zone))
        return false;
    for (int i = 0; i < 2; i++) {
        const char *key = i == 0 ? "special" : "reentry";
        if ((flag = json_object_get(in, key)) != NULL && !json_is_boolean(flag)) {
            adm_http_reply_error(req, 400, "bad_field", "field \"%s\" must be true or false", key);
            return false;
        }
        if (flag != NULL)
            *(i == 0 ? &spec->special : &spec->reentry) = json_is_true(flag);
    }
    if (zone != NULL)
        spec->zone = zone;
    if (name != NULL && name[0] == '\0') {
        adm_http_reply_error(req, 400, "bad_field", "field \"name\" must not be empty");
        return false;
    }
    if (currency != NULL && !currency_ok(currency)) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"currency\" must be an ISO 4217 code such as \"MYR\"");
        return false;
    }
    if (ends != 0 && ends <= starts) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"sale_ends\" must be after \"sale_starts\" (or 0 for no end)");
        return false;
    }
    if (name != NULL)
        spec->name = name;
    if (currency != NULL)
        spec->currency = currency;
    spec->price = price;
    spec->capacity = capacity;
    spec->per_order_max = (int32_t)per_order;
    spec->per_customer_max = (int32_t)per_customer; /* <= ADM_STORE_CAPACITY_MAX */
    spec->sale_starts = starts;
    spec->sale_ends = ends;
    return true;
}

/* Replies status with the JSON of type id (staff view), through idem. */
static void reply_type(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, unsigned status,
                       int64_t id)
{
    adm_ticket_type_t t;
    adm_event_t *e = adm_arena_alloc(adm_http_arena(req), sizeof *e);
    adm_err_t rc = e != NULL ? ADM_OK : ADM_ERR_NOMEM;

    if (rc == ADM_OK)
        rc = adm_store_ticket_type_get(app->store, ADM_READ_HINT_PRIMARY, id, &t);
    if (rc == ADM_OK)
        rc = adm_store_event_get(app->store, ADM_READ_HINT_PRIMARY, t.event_id, e);
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        return;
    }
    adm_idem_reply_json(req, app, idem, status,
                        adm_app_type_json(&t, e->status, adm_app_now(app), true));
}

/* POST /v1/events/{id}/ticket-types {name, price, currency, capacity,
 * per_order_max?, per_customer_max?, sale_starts?, sale_ends?, special?,
 * reentry?, zone?} */
static void post_type(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    adm_ticket_type_spec_t spec = {.per_order_max = PER_ORDER_DEFAULT};
    int64_t event_id, id = 0;
    adm_err_t rc;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) ||
        !adm_app_path_id(req, "id", &event_id) || (in = adm_http_body_json(req)) == NULL ||
        !type_fields(req, in, true, &spec) || !adm_idem_begin(req, app, &who, &idem))
        return;
    spec.event_id = event_id;
    rc = adm_store_ticket_type_create(app->store, &spec, adm_app_now(app), &id);
    if (rc == ADM_ERR_NOT_FOUND) {
        adm_idem_reply_error(req, app, idem, 404, "not_found", "event %lld does not exist",
                             (long long)event_id);
        return;
    }
    if (rc == ADM_ERR_LIMIT) {
        adm_idem_reply_error(req, app, idem, 422, "limit_exceeded",
                             "an event has at most %d ticket types", ADM_STORE_TYPES_MAX);
        return;
    }
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        return;
    }
    reply_type(req, app, idem, 201, id);
}

/* PATCH /v1/ticket-types/{id} with any of the POST fields */
static void patch_type(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_ticket_type_t t;
    adm_ticket_type_spec_t spec;
    int64_t id;
    adm_err_t rc;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id) ||
        (in = adm_http_body_json(req)) == NULL)
        return;
    rc = adm_store_ticket_type_get(app->store, ADM_READ_HINT_PRIMARY, id, &t);
    if (rc == ADM_ERR_NOT_FOUND) {
        reply_missing(req, "ticket type", id);
        return;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    spec = (adm_ticket_type_spec_t){.event_id = t.event_id,
                                    .name = t.name,
                                    .price = t.price,
                                    .currency = t.currency,
                                    .capacity = t.capacity,
                                    .per_order_max = t.per_order_max,
                                    .per_customer_max = t.per_customer_max,
                                    .sale_starts = t.sale_starts,
                                    .sale_ends = t.sale_ends,
                                    .special = t.special,
                                    .reentry = t.reentry,
                                    .zone = t.zone};
    if (!type_fields(req, in, false, &spec))
        return;
    rc = adm_store_ticket_type_update(app->store, id, &spec, adm_app_now(app));
    if (rc == ADM_ERR_STATE) {
        adm_http_reply_error(req, 409, "invalid_state",
                             "capacity cannot go below the seats already sold or held");
        return;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    reply_type(req, app, NULL, 200, id);
}

/* ---- GET /v1/events/{id}/sales ----------------------------------------------------- */

static void get_sales(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_type_sales_t *rows = NULL;
    size_t n = 0, i;
    int64_t id, capacity = 0, sold = 0, held = 0;
    adm_err_t rc;
    json_t *list = NULL, *revenue = NULL, *body;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who) || !adm_app_path_id(req, "id", &id))
        goto out;
    rc = adm_store_sales_by_type(app->store, ADM_READ_HINT_PRIMARY, id, &rows, &n);
    if (rc == ADM_ERR_NOT_FOUND) {
        reply_missing(req, "event", id);
        goto out;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    list = json_array();
    revenue = json_object();
    for (i = 0; list != NULL && revenue != NULL && i < n; i++) {
        const adm_type_sales_t *r = &rows[i];
        int64_t avail = r->capacity - r->sold - r->held;
        json_t *cur = json_object_get(revenue, r->currency);
        json_int_t sum = (cur ? json_integer_value(cur) : 0) + r->revenue;

        capacity += r->capacity;
        sold += r->sold;
        held += r->held;
        if (json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
                                                  "type_id", (json_int_t)r->type_id, "name",
                                                  r->name, "currency", r->currency, "capacity",
                                                  (json_int_t)r->capacity, "sold",
                                                  (json_int_t)r->sold, "held", (json_int_t)r->held,
                                                  "available", (json_int_t)(avail > 0 ? avail : 0),
                                                  "revenue", (json_int_t)r->revenue)) != 0 ||
            json_object_set_new(revenue, r->currency, json_integer(sum)) != 0)
            break;
    }
    if (list == NULL || revenue == NULL || i < n) {
        json_decref(list);
        json_decref(revenue);
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        goto out;
    }
    body = json_pack("{s:I, s:o, s:{s:I, s:I, s:I, s:o}}", "event_id", (json_int_t)id,
                     "ticket_types", list, "totals", "capacity", (json_int_t)capacity, "sold",
                     (json_int_t)sold, "held", (json_int_t)held, "revenue", revenue);
    adm_http_reply_json(req, 200, body);
out:
    free(rows);
}

adm_err_t adm_routes_organiser(adm_app_t *app, adm_http_server_t *srv)
{
    adm_err_t result;

    if ((result = adm_http_route(srv, "POST", "/v1/venues", post_venue, app, "venues.create")) !=
            ADM_OK ||
        (result = adm_http_route(srv, "PATCH", "/v1/venues/{id}", patch_venue, app,
                                 "venues.update")) != ADM_OK ||
        (result = adm_http_route(srv, "POST", "/v1/events", post_event, app, "events.create")) !=
            ADM_OK ||
        (result = adm_http_route(srv, "PATCH", "/v1/events/{id}", patch_event, app,
                                 "events.update")) != ADM_OK ||
        (result = adm_http_route(srv, "POST", "/v1/events/{id}/ticket-types", post_type, app,
                                 "types.create")) != ADM_OK ||
        (result = adm_http_route(srv, "PATCH", "/v1/ticket-types/{id}", patch_type, app,
                                 "types.update")) != ADM_OK)
        goto out;
    result = adm_http_route(srv, "GET", "/v1/events/{id}/sales", get_sales, app, "events.sales");
out:
    return result;
}
