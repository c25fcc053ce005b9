/* api.c: the in-process admitd and libcurl client behind tests/testutil/api.h,
 * shared by the API test suites. Not a general HTTP client: bodies and
 * headers are small, and every failure is reported, never retried. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "server/issuer.h"
#include "server/payment.h"
#include "tests/testutil/api.h"

#define RESP_MAX (16u << 20) /* response bodies beyond this fail the request */
#define HEADERS_MAX (64u << 10)

static _Atomic int64_t fake_now; /* 0 = the wall clock */
static unsigned run_tag;         /* mysql: makes made-up emails unique across runs */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static atomic_uint user_seq;

static int64_t harness_now(void)
{
    int64_t t = atomic_load(&fake_now);

    return t != 0 ? t : (int64_t)time(NULL);
}

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void adm_api_set_now(adm_api_t *api, int64_t now)
{
    (void)api;
    atomic_store(&fake_now, now);
}

void adm_api_advance(adm_api_t *api, int64_t secs)
{
    (void)api;
    atomic_store(&fake_now, harness_now() + secs);
}

int64_t adm_api_now(const adm_api_t *api)
{
    (void)api;
    return harness_now();
}

adm_err_t adm_api_start(adm_api_t **out)
{
    adm_err_t result = ADM_ERR_NOMEM;
    adm_api_t *api = NULL;
    adm_store_config_t scfg;
    adm_http_server_config_t hcfg;
    const char *tmp = getenv("TMPDIR");
    const char *log = getenv("ADMIT_TEST_LOG");
    const char *backend, *primary;
    bool verbose = log != NULL && log[0] != '\0' && strcmp(log, "0") != 0;
    char err[ADM_CONFIG_ERR_MAX] = "";

    *out = NULL;
    pthread_once(&curl_once, curl_setup);
    atomic_store(&fake_now, 0);
    adm_log_setup(ADM_LOG_LOGFMT, verbose ? ADM_LOG_DEBUG : ADM_LOG_OFF, verbose ? 2 : -1);
    if ((api = calloc(1, sizeof *api)) == NULL || (api->cfg = malloc(sizeof *api->cfg)) == NULL)
        goto fail;
    snprintf(api->dir, sizeof api->dir, "%s/admit-api-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(api->dir) == NULL) {
        result = ADM_ERR_IO;
        goto fail;
    }
    adm_config_defaults(api->cfg);
    snprintf(api->cfg->sqlite_path, sizeof api->cfg->sqlite_path, "%s/admit.db", api->dir);
    backend = getenv("ADMIT_TEST_STORE");
    primary = getenv("ADMIT_TEST_MYSQL_PRIMARY");
    if (backend != NULL && strcmp(backend, "mysql") == 0) {
        if (primary == NULL || strlen(primary) >= sizeof api->cfg->mysql_primary) {
            fprintf(stderr,
                    "adm_api_start: ADMIT_TEST_STORE=mysql needs ADMIT_TEST_MYSQL_PRIMARY\n");
            result = ADM_ERR_CONFIG;
            goto fail;
        }
        api->cfg->backend = ADM_STORE_MYSQL;
        snprintf(api->cfg->mysql_primary, sizeof api->cfg->mysql_primary, "%s", primary);
        run_tag = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    }
    api->cfg->port = 0;
    api->cfg->threads = 4;
    api->cfg->shutdown_timeout_s = 5;
    api->cfg->access_log = verbose;
    adm_config_to_store(api->cfg, &scfg);
    if ((result = adm_metrics_new(&api->metrics)) != ADM_OK ||
        (result = adm_store_open(&scfg, &api->store)) != ADM_OK ||
        (result = adm_store_set_metrics(api->store, api->metrics)) != ADM_OK ||
        (result = adm_issuer_new(api->store, &api->issuer)) != ADM_OK ||
        (result = adm_payments_new(&api->payments)) != ADM_OK)
        goto fail;
    if ((result = adm_auth_hash_password(ADM_API_PASSWORD, api->pwhash, sizeof api->pwhash)) !=
        ADM_OK)
        goto fail;
    api->app = (adm_app_t){.store = api->store,
                           .cfg = api->cfg,
                           .issuer = api->issuer,
                           .payments = api->payments,
                           .now = harness_now,
                           .metrics = api->metrics};
    adm_config_to_http(api->cfg, &hcfg);
    hcfg.metrics = api->metrics;
    if ((result = adm_http_server_new(&hcfg, &api->srv)) != ADM_OK ||
        (result = adm_http_add_builtin_routes(api->srv, NULL, NULL)) != ADM_OK ||
        (result = adm_app_routes(&api->app, api->srv)) != ADM_OK)
        goto fail;
    if ((result = adm_http_server_start(api->srv, err, sizeof err)) != ADM_OK) {
        fprintf(stderr, "adm_api_start: %s\n", err);
        goto fail;
    }
    api->port = adm_http_server_port(api->srv);
    snprintf(api->base_url, sizeof api->base_url, "http://127.0.0.1:%u", (unsigned)api->port);
    /* the address devices are told in enrollment URIs (cfg has port 0) */
    if (api->cfg->public_url[0] == '\0')
        snprintf(api->cfg->public_url, sizeof api->cfg->public_url, "%s", api->base_url);
    *out = api;
    return ADM_OK;
fail:
    fprintf(stderr, "adm_api_start: %s\n", adm_strerror(result));
    adm_api_stop(api);
    return result;
}

void adm_api_stop(adm_api_t *api)
{
    if (api == NULL)
        return;
    adm_http_server_free(api->srv); /* stops first: no handler runs after this */
    adm_payments_free(api->payments);
    adm_issuer_free(api->issuer);
    adm_store_close(api->store);
    adm_metrics_free(api->metrics); /* last: the server and the store record into it */
    free(api->cfg);
    free(api);
    atomic_store(&fake_now, 0);
}

/* ---- requests ---------------------------------------------------------- */

struct sink {
    char *buf;
    size_t len, max;
    bool overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = size * n;
    char *nb;

    if (s->len + add > s->max) {
        s->overflow = true;
        return 0;
    }
    nb = realloc(s->buf, s->len + add + 1);
    if (nb == NULL)
        return 0;
    s->buf = nb;
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

void adm_api_resp_free(adm_api_resp_t *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

const char *adm_api_resp_header(const adm_api_resp_t *r, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = r->headers;

    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t line = eol ? (size_t)(eol - p) : strlen(p);

        if (line > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t vlen = line - nlen - 1;

            while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
            }
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            if (cap == 0)
                return NULL;
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

adm_err_t adm_api_request_raw(adm_api_t *api, const char *method, const char *path,
                              const char *token, const void *body, size_t len,
                              const char *content_type, const char *const *headers,
                              adm_api_resp_t *r)
{
    adm_err_t result = ADM_ERR_NOMEM;
    struct sink bsink = {.max = RESP_MAX}, hsink = {.max = HEADERS_MAX};
    struct curl_slist *hl = NULL, *tmp;
    char url[2048], line[512];
    CURL *c = NULL;
    CURLcode rc;

    memset(r, 0, sizeof *r);
    if ((size_t)snprintf(url, sizeof url, "%s%s", api->base_url, path) >= sizeof url) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if ((c = curl_easy_init()) == NULL)
        goto out;
    if (token != NULL) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        if ((tmp = curl_slist_append(hl, line)) == NULL)
            goto out;
        hl = tmp;
    }
    if (body != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        if ((tmp = curl_slist_append(hl, line)) == NULL)
            goto out;
        hl = tmp;
    }
    if ((tmp = curl_slist_append(hl, "Expect:")) == NULL) /* no 100-continue round trip */
        goto out;
    hl = tmp;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if ((tmp = curl_slist_append(hl, headers[i])) == NULL)
            goto out;
        hl = tmp;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bsink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hsink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "adm_api_request %s %s: %s\n", method, path, curl_easy_strerror(rc));
        result = ADM_ERR_IO;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = bsink.buf ? bsink.buf : strdup("");
    r->len = bsink.len;
    r->headers = hsink.buf ? hsink.buf : strdup("");
    r->headers_len = hsink.len;
    bsink.buf = hsink.buf = NULL;
    if (r->body == NULL || r->headers == NULL) {
        adm_api_resp_free(r);
        goto out;
    }
    result = ADM_OK;
out:
    free(bsink.buf);
    free(hsink.buf);
    curl_slist_free_all(hl);
    if (c != NULL)
        curl_easy_cleanup(c);
    return result;
}

adm_err_t adm_api_request(adm_api_t *api, const char *method, const char *path, const char *token,
                          const char *json_body, const char *header, long *status,
                          json_t **response)
{
    const char *const headers[] = {header, NULL};
    adm_api_resp_t r;
    adm_err_t result;

    if (response != NULL)
        *response = NULL;
    result = adm_api_request_raw(api, method, path, token, json_body,
                                 json_body ? strlen(json_body) : 0, NULL, headers, &r);
    *status = r.status;
    if (result == ADM_OK && response != NULL && r.len > 0)
        *response = json_loadb(r.body, r.len, 0, NULL);
    adm_api_resp_free(&r);
    return result;
}

adm_err_t adm_api_requestf(adm_api_t *api, const char *method, const char *path, const char *token,
                           const char *header, long *status, json_t **response, const char *fmt,
                           ...)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    json_error_t jerr;
    json_t *body;
    char *text = NULL;
    va_list ap;

    *status = 0;
    if (response != NULL)
        *response = NULL;
    va_start(ap, fmt);
    body = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (body == NULL) {
        fprintf(stderr, "adm_api_requestf: bad json_pack format: %s\n", jerr.text);
        goto out;
    }
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    result = adm_api_request(api, method, path, token, text, header, status, response);
out:
    free(text);
    return result;
}

/* ---- fixtures ---------------------------------------------------------- */

adm_err_t adm_api_user(adm_api_t *api, adm_role_t role, const char *email, char *token, int64_t *id)
{
    adm_err_t result;
    char made[64];
    adm_user_spec_t spec = {
        .password_hash = api->pwhash, .display_name = "Test User", .role = role};
    int64_t uid = 0;

    if (email == NULL) {
        if (run_tag != 0)
            snprintf(made, sizeof made, "%s-%x-%u@example.com", adm_role_name(role), run_tag,
                     atomic_fetch_add(&user_seq, 1) + 1);
        else
            snprintf(made, sizeof made, "%s-%u@example.com", adm_role_name(role),
                     atomic_fetch_add(&user_seq, 1) + 1);
        email = made;
    }
    spec.email = email;
    result = adm_store_user_create(api->store, &spec, harness_now(), &uid);
    if (result == ADM_OK && token != NULL)
        result = adm_auth_session_create(&api->app, uid, ADM_AUTH_SESSION_TTL_DEFAULT, token,
                                         ADM_AUTH_TOKEN_MAX);
    if (id != NULL)
        *id = result == ADM_OK ? uid : 0;
    return result;
}

adm_err_t adm_api_login(adm_api_t *api, const char *email, const char *password, char *token,
                        size_t cap)
{
    adm_err_t result;
    long status = 0;
    json_t *res = NULL;
    const char *t;

    token[0] = '\0';
    result = adm_api_requestf(api, "POST", "/v1/sessions", NULL, NULL, &status, &res, "{s:s, s:s}",
                              "email", email, "password", password);
    if (result == ADM_OK && status != 201)
        result = ADM_ERR_INVALID_ARG;
    t = result == ADM_OK ? json_string_value(json_object_get(res, "token")) : NULL;
    if (result == ADM_OK && (t == NULL || strlen(t) >= cap))
        result = ADM_ERR_FORMAT;
    if (result == ADM_OK)
        snprintf(token, cap, "%s", t);
    json_decref(res);
    return result;
}

adm_err_t adm_api_venue(adm_api_t *api, const char *city, int64_t *id)
{
    adm_venue_spec_t spec = {.name = "Test Hall",
                             .city = city ? city : "Kuala Lumpur",
                             .address = "1 Jalan Test",
                             .capacity = 1000};

    return adm_store_venue_create(api->store, &spec, harness_now(), id);
}

adm_err_t adm_api_event(adm_api_t *api, int64_t venue_id, const char *title, int64_t starts_at,
                        adm_event_status_t status, int64_t *id)
{
    adm_err_t result;
    int64_t start = starts_at ? starts_at : harness_now() + 30 * 86400;
    adm_event_spec_t spec = {.venue_id = venue_id,
                             .title = title ? title : "Test Concert",
                             .category = "music",
                             .description = "A test event.",
                             .starts_at = start,
                             .ends_at = start + 3 * 3600};

    result = adm_store_event_create(api->store, &spec, harness_now(), id);
    if (result == ADM_OK && status == ADM_EVENT_ENDED)
        result = adm_store_event_set_status(api->store, *id, ADM_EVENT_ON_SALE, harness_now());
    if (result == ADM_OK && status != ADM_EVENT_DRAFT)
        result = adm_store_event_set_status(api->store, *id, status, harness_now());
    return result;
}

adm_err_t adm_api_ticket_type(adm_api_t *api, int64_t event_id, const char *name, int64_t price,
                              int64_t capacity, int64_t *id)
{
    adm_ticket_type_spec_t spec = {.event_id = event_id,
                                   .name = name ? name : "General",
                                   .price = price,
                                   .currency = "MYR",
                                   .capacity = capacity,
                                   .per_order_max = 10};

    return adm_store_ticket_type_create(api->store, &spec, harness_now(), id);
}

adm_err_t adm_api_catalog(adm_api_t *api, int64_t *event_id, int64_t *type_id)
{
    adm_err_t result;
    int64_t venue = 0, event = 0, type = 0;

    if ((result = adm_api_venue(api, NULL, &venue)) == ADM_OK &&
        (result = adm_api_event(api, venue, NULL, 0, ADM_EVENT_ON_SALE, &event)) == ADM_OK)
        result = adm_api_ticket_type(api, event, NULL, 5000, 100, &type);
    if (event_id != NULL)
        *event_id = event;
    if (type_id != NULL)
        *type_id = type;
    return result;
}
