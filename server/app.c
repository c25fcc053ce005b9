/* app.c: the application layer's shared pieces: registering every /v1 route
 * table, the clock, path id and body field checks, the mapping from store
 * errors to HTTP replies, the booking counters and the housekeeping thread.
 * Not for handlers (route-*.c), auth (auth.c) or idempotency (idem.c). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "server/app.h"
#include "server/issuer.h"

int64_t adm_app_now(const adm_app_t *app)
{
    if (app != NULL && app->now != NULL)
        return app->now();
    return (int64_t)time(NULL);
}

/* Registers the booking counters of app->metrics into app->counters. */
static adm_err_t counters_register(adm_app_t *app)
{
    static const char *const result_label[] = {"result"};
    static const char *const event_label[] = {"event"};
    static const char *const hold_results[] = {"created",     "sold_out",    "limit_exceeded",
                                               "sale_closed", "not_on_sale", "not_found",
                                               "error"};
    static const char *const order_events[] = {"created", "paid", "cancelled", "refunded",
                                               "expired"};
    adm_app_counters_t c = {0};
    adm_err_t result = ADM_OK;

    if (app->metrics == NULL)
        goto out;
    if ((result = adm_metrics_counter(app->metrics, "admit_holds_total",
                                      "Hold requests by result: created, sold_out, "
                                      "limit_exceeded, sale_closed, not_on_sale, not_found, error.",
                                      1, result_label, &c.holds)) != ADM_OK ||
        (result = adm_metrics_counter(app->metrics, "admit_holds_expired_total",
                                      "Expired holds whose seats housekeeping released.", 0, NULL,
                                      &c.holds_expired)) != ADM_OK ||
        (result = adm_metrics_counter(app->metrics, "admit_orders_total",
                                      "Order lifecycle events: created, paid, cancelled, refunded, "
                                      "expired.",
                                      1, event_label, &c.orders)) != ADM_OK ||
        (result = adm_metrics_counter(app->metrics, "admit_tickets_issued_total",
                                      "Tickets signed and attached to their order.", 0, NULL,
                                      &c.tickets_issued)) != ADM_OK)
        goto out;
    /* every known series from 0, so rate() and absent() work from the start */
    for (size_t i = 0; i < sizeof hold_results / sizeof hold_results[0]; i++)
        adm_counter_add(c.holds, &hold_results[i], 0);
    for (size_t i = 0; i < sizeof order_events / sizeof order_events[0]; i++)
        adm_counter_add(c.orders, &order_events[i], 0);
    adm_counter_add(c.holds_expired, NULL, 0);
    adm_counter_add(c.tickets_issued, NULL, 0);
    app->counters = c;
out:
    return result;
}

void adm_app_count_hold(adm_app_t *app, const char *result)
{
    if (app->counters.holds != NULL)
        adm_counter_inc(app->counters.holds, &result);
}

void adm_app_count_order(adm_app_t *app, const char *event, size_t n)
{
    if (app->counters.orders != NULL && n > 0)
        adm_counter_add(app->counters.orders, &event, n);
}

void adm_app_count_tickets(adm_app_t *app, size_t n)
{
    if (app->counters.tickets_issued != NULL && n > 0)
        adm_counter_add(app->counters.tickets_issued, NULL, n);
}

adm_err_t adm_app_routes(adm_app_t *app, adm_http_server_t *srv)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (app == NULL || srv == NULL || app->store == NULL)
        goto out;
    if (sodium_init() < 0) { /* hashing and random tokens need it */
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    if ((result = counters_register(app)) != ADM_OK ||
        (result = adm_routes_accounts(app, srv)) != ADM_OK)
        goto out;
    /* an edge relay sells nothing: it serves its gates (sync) and its staff
     * (accounts), and its catalog tables stay empty */
    if ((app->cfg == NULL || app->cfg->mode != ADM_MODE_EDGE) &&
        ((result = adm_routes_catalog(app, srv)) != ADM_OK ||
         (result = adm_routes_organiser(app, srv)) != ADM_OK ||
         (result = adm_routes_booking(app, srv)) != ADM_OK))
        goto out;
    result = adm_routes_sync(app, srv);
out:
    return result;
}

bool adm_app_path_id(adm_http_req_t *req, const char *name, int64_t *out)
{
    const char *s = adm_http_param(req, name);
    uint64_t v = 0;
    bool ok = s != NULL && *s != '\0';

    for (; ok && *s; s++) {
        if (*s < '0' || *s > '9' || v > ((uint64_t)INT64_MAX - (uint64_t)(*s - '0')) / 10) {
            ok = false;
            break;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (!ok || v == 0) {
        adm_http_reply_error(req, 400, "bad_id", "%s must be a positive integer id", name);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

bool adm_app_check_fields(adm_http_req_t *req, const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;

    if (!json_is_object(obj)) {
        adm_http_reply_error(req, 400, "bad_field", "request body must be a JSON object");
        return false;
    }
    json_object_foreach((json_t *)obj, key, value)
    {
        const char *const *a;

        (void)value;
        for (a = allowed; *a != NULL; a++)
            if (strcmp(*a, key) == 0)
                break;
        if (*a == NULL) {
            adm_http_reply_error(req, 400, "unknown_field", "field \"%.64s\" is not accepted here",
                                 key);
            return false;
        }
    }
    return true;
}

bool adm_app_json_text(adm_http_req_t *req, const json_t *obj, const char *key, bool required,
                       size_t max_bytes, bool multiline, const char **out)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    const char *s;
    size_t len, i;

    *out = NULL;
    if (!json_is_object(obj)) {
        adm_http_reply_error(req, 400, "bad_field", "request body must be a JSON object");
        return false;
    }
    if (v == NULL && !required)
        return true;
    if (v == NULL) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" is required", key);
        return false;
    }
    if (!json_is_string(v)) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" must be a string", key);
        return false;
    }
    s = json_string_value(v);
    len = json_string_length(v);
    if (len > max_bytes) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" is longer than %zu bytes", key,
                             max_bytes);
        return false;
    }
    if (required && len == 0) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" must not be empty", key);
        return false;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool c1 = c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f; /* U+0080..9F */
        if (c == 0x7f || c1 || (c < 0x20 && !(multiline && (c == '\n' || c == '\t')))) {
            adm_http_reply_error(req, 400, "bad_field",
                                 "field \"%s\" must not contain control characters", key);
            return false;
        }
    }
    *out = s;
    return true;
}

unsigned adm_app_status_for(adm_err_t err)
{
    switch (err) {
    case ADM_OK:
        return 200;
    case ADM_ERR_NOT_FOUND:
        return 404;
    case ADM_ERR_EXISTS:
    case ADM_ERR_CONFLICT:
    case ADM_ERR_SOLD_OUT:
    case ADM_ERR_SALE_CLOSED:
    case ADM_ERR_STATE:
        return 409;
    case ADM_ERR_LIMIT:
        return 422;
    case ADM_ERR_EXPIRED:
        return 410;
    case ADM_ERR_INVALID_ARG:
    case ADM_ERR_TOO_BIG:
        return 400;
    case ADM_ERR_STORE_UNAVAILABLE:
        return 503;
    default:
        return 500;
    }
}

const char *adm_app_err_code(adm_err_t err)
{
    switch (err) {
    case ADM_ERR_INVALID_ARG:
        return "bad_request";
    case ADM_ERR_NOT_FOUND:
    case ADM_ERR_EXISTS:
    case ADM_ERR_CONFLICT:
    case ADM_ERR_SOLD_OUT:
    case ADM_ERR_SALE_CLOSED:
    case ADM_ERR_STATE:
    case ADM_ERR_LIMIT:
    case ADM_ERR_EXPIRED:
    case ADM_ERR_TOO_BIG:
    case ADM_ERR_STORE_UNAVAILABLE:
        return adm_err_name(err);
    default:
        return "internal";
    }
}

void adm_app_reply_err(adm_http_req_t *req, adm_err_t err)
{
    unsigned status = adm_app_status_for(err);

    if (status == 503)
        (void)adm_http_set_header(req, "Retry-After", "1");
    if (status >= 500)
        adm_log(ADM_LOG_ERROR, "route %s: %s", adm_http_route_name(req), adm_strerror(err));
    if (status == 500)
        adm_http_reply_error(req, 500, "internal", "internal error; retry later");
    else
        adm_http_reply_error(req, status, adm_app_err_code(err), "%s", adm_strerror(err));
}

/* ---- housekeeping ---------------------------------------------------------------- */

struct adm_reaper {
    adm_app_t *app;
    int interval_s;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled by adm_reaper_stop(); waits on CLOCK_MONOTONIC */
    bool stop;
    pthread_t thread;
};

adm_err_t adm_app_housekeep(adm_app_t *app, adm_reap_stats_t *stats, size_t *n_signed)
{
    adm_err_t result, rc = ADM_OK;
    int64_t now = adm_app_now(app);
    adm_reap_stats_t st = {0};
    size_t signed_now = 0;

    result = adm_store_reap(app->store, now, &st);
    if (app->issuer != NULL)
        rc = adm_issuer_sign_unsigned(app->issuer, now, &signed_now);
    if (result == ADM_OK)
        result = rc;
    if (app->counters.holds_expired != NULL && st.holds > 0)
        adm_counter_add(app->counters.holds_expired, NULL, st.holds);
    adm_app_count_order(app, "expired", st.orders);
    adm_app_count_tickets(app, signed_now);
    if (stats != NULL)
        *stats = st;
    if (n_signed != NULL)
        *n_signed = signed_now;
    return result;
}

static void *reaper_main(void *arg)
{
    adm_reaper_t *r = arg;
    struct timespec deadline;

    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        adm_reap_stats_t st = {0};
        size_t n_signed = 0;
        adm_err_t rc;

        pthread_mutex_unlock(&r->mu);
        rc = adm_app_housekeep(r->app, &st, &n_signed);
        if (rc != ADM_OK)
            adm_log(ADM_LOG_WARN, "housekeeping: %s", adm_strerror(rc));
        if (st.holds + st.orders + st.sessions + st.idempotency + n_signed > 0)
            adm_log(ADM_LOG_INFO,
                    "housekeeping: released %zu holds and %zu orders, deleted %zu sessions and "
                    "%zu idempotency records, signed %zu tickets",
                    st.holds, st.orders, st.sessions, st.idempotency, n_signed);
        pthread_mutex_lock(&r->mu);
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += r->interval_s;
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &deadline) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

adm_err_t adm_reaper_start(adm_app_t *app, int interval_s, adm_reaper_t **out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    pthread_condattr_t ca;
    adm_reaper_t *r = NULL;
    bool ca_init = false, mu_init = false, cv_init = false;

    if (out != NULL)
        *out = NULL;
    if (app == NULL || app->store == NULL || interval_s < 1 || out == NULL)
        goto fail;
    result = ADM_ERR_NOMEM;
    if ((r = calloc(1, sizeof *r)) == NULL)
        goto fail;
    r->app = app;
    r->interval_s = interval_s;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    ca_init = true;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_mutex_init(&r->mu, NULL) != 0)
        goto fail;
    mu_init = true;
    if (pthread_cond_init(&r->cv, &ca) != 0)
        goto fail;
    cv_init = true;
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        result = ADM_ERR_IO;
        goto fail;
    }
    pthread_condattr_destroy(&ca);
    *out = r;
    return ADM_OK;
fail:
    if (cv_init)
        pthread_cond_destroy(&r->cv);
    if (mu_init)
        pthread_mutex_destroy(&r->mu);
    if (ca_init)
        pthread_condattr_destroy(&ca);
    free(r);
    return result;
}

void adm_reaper_stop(adm_reaper_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
