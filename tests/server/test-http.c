/* test-http.c: tests server/http.c and server/metrics.c in-process: test
 * routes on 127.0.0.1, ephemeral ports, libcurl as the client. No store.
 * Never asserts timings: slow handlers only order events, and long-poll
 * tests check which path (wake, timer, stop) answered, not how fast. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <zlib.h>

#include "server/http.h"
#include "server/metrics.h"
#include "sync/err.h"
#include "tests/testutil/testutil.h"

#define BODY_LIMIT (64 * 1024) /* the test server's max body */

static adm_http_server_t *srv;
static uint16_t port;
static atomic_bool ready_flag;
static const char *extra_header; /* one more request header line, or NULL */
static const char *start_proxies; /* trusted proxies of servers start_server() makes */

/* ---------------------------------------------------------------------- */
/* client */

struct resp {
    long status;
    char *body;
    size_t len;
    char headers[16384];
    size_t hlen;
    long connects;
    CURLcode rc;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t add = size * n;
    char *nb = realloc(r->body, r->len + add + 1);

    if (nb == NULL)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t add = size * n;

    if (r->hlen + add < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, add);
        r->hlen += add;
        r->headers[r->hlen] = '\0';
    }
    return add;
}

/* chunked upload source: `left` bytes of 'x' */
struct upload {
    size_t left;
};

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t k = size * n < u->left ? size * n : u->left;

    memset(p, 'x', k);
    u->left -= k;
    return k;
}

static void resp_reset(struct resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Performs one request on handle c (reused for keep-alive). body_len < 0
 * sends -body_len bytes chunked (unknown length). */
static void request_on(CURL *c, uint16_t p, const char *method, const char *path, const char *ctype,
                       const char *body, long body_len, struct resp *r)
{
    char url[512], ct[128];
    struct curl_slist *hdrs = NULL;
    struct upload up = {0};

    resp_reset(r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)p, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* resets POST and NOBODY */
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    if (body != NULL || body_len < 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        if (body_len < 0) {
            up.left = (size_t)-body_len;
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, &up);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, -1L);
            hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        } else {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body_len);
        }
    }
    if (ctype != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, ct);
    }
    if (extra_header != NULL)
        hdrs = curl_slist_append(hdrs, extra_header);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                     strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
                             (strcmp(method, "POST") == 0)
                         ? NULL
                         : method);
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        if (r->body == NULL)
            abort();
    }
}

static void request(const char *method, const char *path, const char *ctype, const char *body,
                    long body_len, struct resp *r)
{
    CURL *c = curl_easy_init();

    if (c == NULL)
        abort();
    request_on(c, port, method, path, ctype, body, body_len, r);
    curl_easy_cleanup(c);
}

/* POSTs the NUL-terminated JSON text doc to path. */
static void post_json(const char *path, const char *doc, struct resp *r)
{
    request("POST", path, "application/json", doc, (long)strlen(doc), r);
}

/* Value of response header name (case-insensitive) copied into out, or false. */
static bool header_value(const struct resp *r, const char *name, char *out, size_t outlen)
{
    const char *p = r->headers;
    size_t n = strlen(name);

    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len;
            while (*v == ' ')
                v++;
            len = eol ? (size_t)(eol - v) : strlen(v);
            snprintf(out, outlen, "%.*s", (int)len, v);
            return true;
        }
        p = eol ? eol + 2 : NULL;
    }
    return false;
}

/* The "error" member of a JSON error body, or "" */
static void error_code(const struct resp *r, char *out, size_t outlen)
{
    json_t *j = json_loads(r->body, 0, NULL);
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;

    snprintf(out, outlen, "%s", e ? e : "");
    json_decref(j);
}

#define CHECK_ERROR_REPLY(r, want_status, want_code)                                               \
    do {                                                                                           \
        char code_[64], ct_[128];                                                                  \
        CHECK_INT((r)->status, (want_status));                                                     \
        error_code((r), code_, sizeof code_);                                                      \
        CHECK_STR(code_, (want_code));                                                             \
        CHECK(header_value((r), "Content-Type", ct_, sizeof ct_));                                 \
        CHECK_STR(ct_, "application/json");                                                        \
    } while (0)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------------- */
/* test handlers */

static void h_hello(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_hello_delete(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_bytes(req, 204, "application/json", NULL, 0, ADM_HTTP_STATIC);
}

static void h_event(adm_http_req_t *req, void *ctx)
{
    uint64_t id;

    if (!adm_http_param_u64(req, "id", &id))
        return;
    adm_http_reply_json(req, 200, json_pack("{s:I}", "id", (json_int_t)id));
}

static void h_event_search(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_json(req, 200, json_pack("{s:b}", "search", 1));
}

static void h_types(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_json(req, 200,
                        json_pack("{s:s,s:s,s:s}", "id", adm_http_param(req, "id"), "tt",
                                  adm_http_param(req, "tt"), "route", adm_http_route_name(req)));
}

static void h_query(adm_http_req_t *req, void *ctx)
{
    long long limit;
    const char *q = adm_http_query(req, "q");

    if (!adm_http_query_int(req, "limit", 10, 1, 100, &limit))
        return;
    adm_http_reply_json(req, 200, json_pack("{s:s?,s:I}", "q", q, "limit", (json_int_t)limit));
}

static void h_echo(adm_http_req_t *req, void *ctx)
{
    json_t *in = adm_http_body_json(req);

    if (in == NULL)
        return;
    adm_http_reply_json(req, 200, json_pack("{s:O}", "echo", in));
}

static void h_fields(adm_http_req_t *req, void *ctx)
{
    json_t *in = adm_http_body_json(req);
    const char *name = NULL;
    json_int_t qty = 1;

    if (in == NULL || !adm_http_json_string(req, in, "name", true, &name) ||
        !adm_http_json_int(req, in, "qty", false, 1, 10, &qty))
        return;
    adm_http_reply_json(req, 201, json_pack("{s:s,s:I}", "name", name, "qty", qty));
}

static void h_raw(adm_http_req_t *req, void *ctx)
{
    size_t len;
    const char *body = adm_http_body(req, &len);
    char *out = adm_arena_printf(adm_http_arena(req), "got %zu bytes: %.8s", len, body);

    adm_http_set_header(req, "X-Test", "yes");
    adm_http_reply_bytes(req, 200, "text/plain", out, strlen(out), ADM_HTTP_COPY);
}

static void h_forget(adm_http_req_t *req, void *ctx)
{
}

static void h_twice(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_error(req, 409, "first", "first reply");
    adm_http_reply_json(req, 200, json_pack("{s:s}", "second", "reply"));
    CHECK(adm_http_replied(req));
}

static void h_headers(adm_http_req_t *req, void *ctx)
{
    const char *ua = adm_http_header(req, "x-client");

    adm_http_reply_json(req, 200,
                        json_pack("{s:s?,s:s,s:s}", "client", ua, "method", adm_http_method(req),
                                  "ip", adm_http_client_ip(req)));
}

static void h_conc(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_bytes(req, 200, "application/json", "{}", 2, ADM_HTTP_STATIC);
}

static atomic_bool slow_started, slow_finished;

static void h_slow(adm_http_req_t *req, void *ctx)
{
    atomic_store(&slow_started, true);
    sleep_ms(200);
    adm_http_reply_json(req, 200, json_pack("{s:s}", "slow", "done"));
    atomic_store(&slow_finished, true);
}


/* ---- long-poll and gzip handlers ---- */

static atomic_uint parked;      /* requests that reached their first deferral */
static atomic_bool park_release; /* h_park replies once this is set */

/* Counts the calls of one request in its arena (userdata). */
static unsigned count_call(adm_http_req_t *req)
{
    unsigned *calls = adm_http_userdata(req);

    if (calls == NULL) {
        calls = adm_arena_alloc(adm_http_arena(req), sizeof *calls);
        if (calls == NULL)
            abort();
        *calls = 0;
        adm_http_set_userdata(req, calls);
    }
    return ++*calls;
}

/* /v1/defer?ms=N: defers N ms once, then replies how it came back. */
static void h_defer(adm_http_req_t *req, void *ctx)
{
    long long ms;
    unsigned calls = count_call(req);

    if (!adm_http_query_int(req, "ms", 100, 1, 60000, &ms))
        return;
    if (calls == 1) {
        CHECK_ERR(adm_http_defer(req, 0), ADM_ERR_INVALID_ARG);
        CHECK_ERR(adm_http_defer(req, 60001), ADM_ERR_INVALID_ARG);
        CHECK(adm_http_req_server(req) != NULL);
        CHECK_ERR(adm_http_defer(req, (unsigned)ms), ADM_OK);
        atomic_fetch_add(&parked, 1);
        return;
    }
    adm_http_reply_json(req, 200,
                        json_pack("{s:i, s:I}", "calls", (int)calls, "waited",
                                  (json_int_t)adm_http_waited_ms(req)));
    CHECK_ERR(adm_http_defer(req, 10), ADM_ERR_STATE); /* after the reply */
}

/* /v1/park: defers 30 s at a time until park_release, then replies. */
static void h_park(adm_http_req_t *req, void *ctx)
{
    unsigned calls = count_call(req);

    if (calls == 1)
        atomic_fetch_add(&parked, 1);
    if (!atomic_load(&park_release)) {
        CHECK_ERR(adm_http_defer(req, 30000), ADM_OK);
        return;
    }
    adm_http_reply_json(req, 200, json_pack("{s:s, s:i}", "park", "released", "calls", (int)calls));
}

/* /v1/big?n=N: a JSON document of about N bytes (compressible). */
static void h_big(adm_http_req_t *req, void *ctx)
{
    long long n;
    char *text;
    json_t *body;

    if (!adm_http_query_int(req, "n", 5000, 1, 1 << 20, &n))
        return;
    text = adm_arena_alloc(adm_http_arena(req), (size_t)n + 1);
    if (text == NULL)
        abort();
    for (long long i = 0; i < n; i++)
        text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    text[n] = '\0';
    body = json_pack("{s:s}", "text", text);
    adm_http_reply_json(req, 200, body);
}

/* /v1/png: 4 KiB of "image/png" (never compressed). */
static void h_png(adm_http_req_t *req, void *ctx)
{
    static char zeros[4096];

    adm_http_reply_bytes(req, 200, "image/png", zeros, sizeof zeros, ADM_HTTP_STATIC);
}

static bool ready_cb(void *ctx)
{
    return atomic_load((atomic_bool *)ctx);
}

static adm_http_server_t *start_server(unsigned threads, bool access_log)
{
    adm_http_server_config_t cfg;
    adm_http_server_t *s = NULL;
    char err[256] = "";

    adm_http_server_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = threads;
    cfg.max_body_bytes = BODY_LIMIT;
    cfg.access_log = access_log;
    cfg.trusted_proxies = start_proxies;
    CHECK_ERR(adm_http_server_new(&cfg, &s), ADM_OK);
    if (s == NULL)
        abort();
    CHECK_ERR(adm_http_add_builtin_routes(s, ready_cb, &ready_flag), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/hello", h_hello, NULL, "hello"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "DELETE", "/v1/hello", h_hello_delete, NULL, "hello.delete"),
              ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/events/{id}", h_event, NULL, "events.get"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/events/search", h_event_search, NULL, "events.search"),
              ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/events/{id}/ticket-types/{tt}", h_types, NULL,
                             "events.types"),
              ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/query", h_query, NULL, "query"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "POST", "/v1/echo", h_echo, NULL, "echo"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "POST", "/v1/fields", h_fields, NULL, "fields"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "POST", "/v1/raw", h_raw, NULL, "raw"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/forget", h_forget, NULL, "forget"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/twice", h_twice, NULL, "twice"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/headers", h_headers, NULL, "headers"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/conc", h_conc, NULL, "conc"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/slow", h_slow, NULL, "slow"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/defer", h_defer, NULL, "defer"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/park", h_park, NULL, "park"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/big", h_big, NULL, "big"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/v1/png", h_png, NULL, "png"), ADM_OK);
    CHECK_ERR(adm_http_server_start(s, err, sizeof err), ADM_OK);
    CHECK(adm_http_server_port(s) != 0);
    return s;
}

/* ---------------------------------------------------------------------- */
/* unit tests: arena, metrics, router registration */

static void test_arena(void)
{
    adm_arena_t *a = NULL;
    void *p;
    char *s;
    size_t i, got = 0;

    CHECK_ERR(adm_arena_new(64 * 1024, &a), ADM_OK);
    for (i = 0; i < 100; i++) {
        p = adm_arena_alloc(a, i * 7 + 1);
        CHECK(p != NULL);
        CHECK_INT((uintptr_t)p % 16, 0);
        if (p != NULL)
            memset(p, 0xAB, i * 7 + 1);
    }
    s = adm_arena_printf(a, "%s-%d", "x", 42);
    CHECK_STR(s, "x-42");
    CHECK_STR(adm_arena_strndup(a, "abcdef", 3), "abc");
    CHECK_STR(adm_arena_strdup(a, "hello"), "hello");
    CHECK(adm_arena_alloc(a, 0) != NULL);
    /* the cap holds: allocate until refused, never beyond 64 KiB held */
    while ((p = adm_arena_alloc(a, 1000)) != NULL && got < 1000)
        got++;
    CHECK(p == NULL);
    CHECK(adm_arena_size(a) <= 64 * 1024);
    CHECK(adm_arena_alloc(a, SIZE_MAX) == NULL);
    CHECK(adm_arena_alloc(a, 1u << 20) == NULL);
    adm_arena_free(a);
    adm_arena_free(NULL);
}

static void test_metrics_render(void)
{
    static const char *const kl[] = {"k"};
    static const char *const kl2[] = {"route", "method"};
    static const double b[] = {0.1, 1, 10};
    adm_metrics_t *m = NULL;
    adm_counter_t *c = NULL, *c2 = NULL;
    adm_gauge_t *g = NULL;
    adm_histogram_t *h = NULL, *h2 = NULL;
    char *text = NULL;
    size_t len = 0;

    CHECK_ERR(adm_metrics_new(&m), ADM_OK);
    CHECK_ERR(adm_metrics_counter(m, "t_requests_total", "Requests.", 2, kl2, &c), ADM_OK);
    CHECK_ERR(adm_metrics_counter(m, "t_requests_total", "Requests.", 2, kl2, &c2), ADM_OK);
    CHECK(c == c2);
    CHECK_ERR(adm_metrics_counter(m, "t_requests_total", "x", 1, kl, &c2), ADM_ERR_EXISTS);
    CHECK_ERR(adm_metrics_gauge(m, "t_requests_total", "x", 2, kl2, &g), ADM_ERR_EXISTS);
    CHECK_ERR(adm_metrics_counter(m, "bad name", "x", 0, NULL, &c2), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_metrics_counter(m, "9starts_with_digit", "x", 0, NULL, &c2), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_metrics_counter(m, "t_le", "x", 1, (const char *const[]){"le"}, &c2),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_metrics_histogram(m, "t_unsorted", "x", 0, NULL, (const double[]){2, 1}, 2, &h2),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_metrics_gauge(m, "t_inflight", "In flight.", 0, NULL, &g), ADM_OK);
    CHECK_ERR(adm_metrics_histogram(m, "t_seconds", "Latency \\ with\nnewline.", 1, kl, b, 3, &h),
              ADM_OK);

    adm_counter_inc(c, (const char *const[]){"a", "GET"});
    adm_counter_add(c, (const char *const[]){"a", "GET"}, 4);
    adm_counter_inc(c, (const char *const[]){"quote\"back\\slash\nnl", "POST"});
    CHECK_INT(adm_counter_value(c, (const char *const[]){"a", "GET"}), 5);
    CHECK_INT(adm_counter_value(c, (const char *const[]){"a", "PUT"}), 0);
    adm_gauge_set(g, NULL, 3);
    adm_gauge_add(g, NULL, -1.5);
    adm_histogram_observe(h, kl, 0.05);
    adm_histogram_observe(h, kl, 0.1); /* le is inclusive */
    adm_histogram_observe(h, kl, 5);
    adm_histogram_observe(h, kl, 50);

    CHECK_ERR(adm_metrics_render(m, &text, &len), ADM_OK);
    CHECK(text != NULL && strlen(text) == len);
    if (text == NULL) {
        adm_metrics_free(m);
        return;
    }
    CHECK(strstr(text, "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n"));
    CHECK(strstr(text, "t_requests_total{route=\"a\",method=\"GET\"} 5\n"));
    CHECK(strstr(text,
                 "t_requests_total{route=\"quote\\\"back\\\\slash\\nnl\",method=\"POST\"} 1\n"));
    CHECK(strstr(text, "# TYPE t_inflight gauge\nt_inflight 1.5\n"));
    CHECK(strstr(text, "# HELP t_seconds Latency \\\\ with\\nnewline.\n"));
    CHECK(strstr(text, "# TYPE t_seconds histogram\n"));
    CHECK(strstr(text, "t_seconds_bucket{k=\"k\",le=\"0.1\"} 2\n"));
    CHECK(strstr(text, "t_seconds_bucket{k=\"k\",le=\"1\"} 2\n"));
    CHECK(strstr(text, "t_seconds_bucket{k=\"k\",le=\"10\"} 3\n"));
    CHECK(strstr(text, "t_seconds_bucket{k=\"k\",le=\"+Inf\"} 4\n"));
    CHECK(strstr(text, "t_seconds_sum{k=\"k\"} 55.15\n"));
    CHECK(strstr(text, "t_seconds_count{k=\"k\"} 4\n"));
    CHECK(strstr(text, "admit_metrics_dropped_total 0\n"));
    free(text);
    adm_metrics_free(m);
}

static void test_metrics_overflow(void)
{
    static const char *const kl[] = {"id"};
    adm_metrics_t *m = NULL;
    adm_counter_t *c = NULL;
    char *text = NULL, v[32], want[64];
    size_t len, i;

    CHECK_ERR(adm_metrics_new(&m), ADM_OK);
    CHECK_ERR(adm_metrics_counter(m, "t_many_total", "Many.", 1, kl, &c), ADM_OK);
    for (i = 0; i < ADM_METRICS_MAX_SERIES + 10; i++) {
        const char *lv[1] = {v};
        snprintf(v, sizeof v, "%zu", i);
        adm_counter_inc(c, lv);
        adm_counter_inc(c, lv);
    }
    CHECK_INT(adm_counter_value(c, (const char *const[]){"0"}), 2);
    CHECK_INT(adm_counter_value(c, (const char *const[]){"511"}), 2);
    CHECK_ERR(adm_metrics_render(m, &text, &len), ADM_OK);
    snprintf(want, sizeof want, "admit_metrics_dropped_total %d\n", 20);
    CHECK(text != NULL && strstr(text, want) != NULL);
    free(text);
    adm_metrics_free(m);
}

static void test_route_registration(void)
{
    adm_http_server_config_t cfg;
    adm_http_server_t *s = NULL;
    char err[256];

    adm_http_server_config_init(&cfg);
    cfg.port = 0;
    cfg.access_log = false;
    CHECK_ERR(adm_http_server_new(&cfg, &s), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/a/{id}", h_hello, NULL, "a"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/a/{other}", h_hello, NULL, "a2"), ADM_ERR_EXISTS);
    CHECK_ERR(adm_http_route(s, "POST", "/a/{other}", h_hello, NULL, "a3"), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "no-slash", h_hello, NULL, "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_http_route(s, "GET", "/a//b", h_hello, NULL, "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_http_route(s, "GET", "/a/{}", h_hello, NULL, "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_http_route(s, "GET", "/a/{x}/{x}", h_hello, NULL, "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_http_route(s, "GET", "/a/b{x}", h_hello, NULL, "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_http_route(s, "get", "/b", h_hello, NULL, "x"), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_http_route(s, "GET", "/", h_hello, NULL, "root"), ADM_OK);
    CHECK_ERR(adm_http_server_start(s, err, sizeof err), ADM_OK);
    CHECK_ERR(adm_http_route(s, "GET", "/late", h_hello, NULL, "late"), ADM_ERR_STATE);
    CHECK_ERR(adm_http_server_start(s, err, sizeof err), ADM_ERR_STATE);
    CHECK_ERR(adm_http_server_stop(s), ADM_OK);
    CHECK_ERR(adm_http_server_stop(s), ADM_OK);
    adm_http_server_free(s);
}

static void test_listen_error(void)
{
    adm_http_server_config_t cfg;
    adm_http_server_t *s = NULL;
    char err[256] = "", want[64];

    /* the shared server's port is taken */
    adm_http_server_config_init(&cfg);
    cfg.port = port;
    cfg.access_log = false;
    CHECK_ERR(adm_http_server_new(&cfg, &s), ADM_OK);
    CHECK_ERR(adm_http_server_start(s, err, sizeof err), ADM_ERR_LISTEN);
    snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)port);
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, "in use") != NULL);
    adm_http_server_free(s);

    cfg.port = 0;
    cfg.listen_addr = "203.0.113.99"; /* TEST-NET-3: not a local address */
    CHECK_ERR(adm_http_server_new(&cfg, &s), ADM_OK);
    CHECK_ERR(adm_http_server_start(s, err, sizeof err), ADM_ERR_LISTEN);
    CHECK(strstr(err, "cannot listen on 203.0.113.99") != NULL);
    adm_http_server_free(s);
}

/* ---------------------------------------------------------------------- */
/* over HTTP */

static void test_get_json(void)
{
    struct resp r = {0};
    char ct[128];
    json_t *j;

    request("GET", "/v1/hello", NULL, NULL, 0, &r);
    CHECK_INT(r.rc, CURLE_OK);
    CHECK_INT(r.status, 200);
    CHECK(header_value(&r, "Content-Type", ct, sizeof ct));
    CHECK_STR(ct, "application/json");
    j = json_loads(r.body, 0, NULL);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "hello")), "world");
    json_decref(j);

    request("HEAD", "/v1/hello", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.len, 0);
    resp_reset(&r);
}

static void test_path_params(void)
{
    struct resp r = {0};

    request("GET", "/v1/events/42", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"id\":42}");
    request("GET", "/v1/events/search", NULL, NULL, 0, &r); /* literal beats {id} */
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"search\":true}");
    request("GET", "/v1/events/abc", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_param");
    request("GET", "/v1/events/0", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_param");
    request("GET", "/v1/events/7/ticket-types/vip", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"id\":\"7\",\"tt\":\"vip\",\"route\":\"events.types\"}");
    request("GET", "/v1/events/7/ticket-types/a%20b", NULL, NULL, 0, &r); /* decoded */
    CHECK_STR(r.body, "{\"id\":\"7\",\"tt\":\"a b\",\"route\":\"events.types\"}");
    request("GET", "/v1/events/7/ticket-types/", NULL, NULL, 0, &r); /* empty param */
    CHECK_ERROR_REPLY(&r, 404, "not_found");
    request("GET", "/v1/events//ticket-types/x", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 404, "not_found");
    resp_reset(&r);
}

static void test_query_and_headers(void)
{
    struct resp r = {0};
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "X-Client: tester/1.0");

    request("GET", "/v1/query?q=hello%20world&limit=5", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"q\":\"hello world\",\"limit\":5}");
    request("GET", "/v1/query", NULL, NULL, 0, &r);
    CHECK_STR(r.body, "{\"q\":null,\"limit\":10}");
    request("GET", "/v1/query?limit=500", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_query");
    request("GET", "/v1/query?limit=5x", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_query");

    /* request headers reach the handler (case-insensitive lookup) */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/headers", (unsigned)port);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        resp_reset(&r);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        CHECK_INT(curl_easy_perform(c), CURLE_OK);
        CHECK(r.body != NULL &&
              strcmp(r.body,
                     "{\"client\":\"tester/1.0\",\"method\":\"GET\",\"ip\":\"127.0.0.1\"}") == 0);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    resp_reset(&r);
}

static void test_post_json(void)
{
    struct resp r = {0};
    const char *doc = "{\"a\":[1,2,{\"b\":null}],\"s\":\"\\u00e9t\\u00e9\"}";
    json_t *j, *want;

    post_json("/v1/echo", doc, &r);
    CHECK_INT(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    want = json_loads(doc, 0, NULL);
    CHECK(j != NULL && want != NULL && json_equal(json_object_get(j, "echo"), want));
    json_decref(j);
    json_decref(want);

    /* charset parameter and +json types are JSON too; no Content-Type is accepted */
    request("POST", "/v1/echo", "application/json; charset=utf-8", "[1]", 3, &r);
    CHECK_STR(r.body, "{\"echo\":[1]}");
    request("POST", "/v1/echo", "application/merge-patch+json", "[2]", 3, &r);
    CHECK_STR(r.body, "{\"echo\":[2]}");

    post_json("/v1/echo", "{\"a\":", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_json");
    CHECK(strstr(r.body, "line 1") != NULL);
    post_json("/v1/echo", "{\"a\":1,\"a\":2}", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_json");
    post_json("/v1/echo", "", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_json");
    request("POST", "/v1/echo", "text/plain", "{}", 2, &r);
    CHECK_ERROR_REPLY(&r, 415, "unsupported_media_type");
    request("POST", "/v1/echo", "application/jsonx", "{}", 2, &r);
    CHECK_ERROR_REPLY(&r, 415, "unsupported_media_type");

    post_json("/v1/fields", "{\"name\":\"ann\",\"qty\":3}", &r);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body, "{\"name\":\"ann\",\"qty\":3}");
    post_json("/v1/fields", "{\"name\":\"ann\"}", &r);
    CHECK_STR(r.body, "{\"name\":\"ann\",\"qty\":1}");
    post_json("/v1/fields", "{\"qty\":3}", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_field");
    CHECK(strstr(r.body, "\\\"name\\\" is required") != NULL);
    post_json("/v1/fields", "{\"name\":\"a\",\"qty\":\"3\"}", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_field");
    post_json("/v1/fields", "{\"name\":\"a\",\"qty\":11}", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_field");
    post_json("/v1/fields", "[1]", &r);
    CHECK_ERROR_REPLY(&r, 400, "bad_field");
    resp_reset(&r);
}

static void test_bytes_arena_headers(void)
{
    struct resp r = {0};
    char v[64];

    request("POST", "/v1/raw", "application/octet-stream", "0123456789", 10, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "got 10 bytes: 01234567");
    CHECK(header_value(&r, "X-Test", v, sizeof v));
    CHECK_STR(v, "yes");
    CHECK(header_value(&r, "Content-Type", v, sizeof v));
    CHECK_STR(v, "text/plain");
    resp_reset(&r);
}

static void test_body_limit(void)
{
    struct resp r = {0};
    size_t big = BODY_LIMIT * 4;
    char *body = malloc(big);

    if (body == NULL)
        abort();
    memset(body, 'x', big);
    /* exactly at the limit is fine */
    request("POST", "/v1/raw", "application/octet-stream", body, BODY_LIMIT, &r);
    CHECK_INT(r.status, 200);
    CHECK(strncmp(r.body, "got 65536 bytes", 15) == 0);
    /* declared Content-Length over the limit, up to 4x: read, dropped, 413
     * (never a reset that would lose the 413 before the client reads it) */
    request("POST", "/v1/raw", "application/octet-stream", body, BODY_LIMIT + 1, &r);
    CHECK_ERROR_REPLY(&r, 413, "body_too_large");
    request("POST", "/v1/echo", "application/json", body, (long)big, &r);
    CHECK_ERROR_REPLY(&r, 413, "body_too_large");
    /* declared far over: refused at once without reading; 413 or a dropped connection */
    {
        size_t huge = BODY_LIMIT * 40;
        char *hbody = malloc(huge);
        if (hbody == NULL)
            abort();
        memset(hbody, 'x', huge);
        request("POST", "/v1/raw", "application/octet-stream", hbody, (long)huge, &r);
        CHECK(r.status == 413 || r.rc != CURLE_OK);
        free(hbody);
    }
    /* unknown length (chunked): counted as it arrives */
    request("POST", "/v1/raw", "application/octet-stream", NULL, -(long)(BODY_LIMIT * 2), &r);
    CHECK_ERROR_REPLY(&r, 413, "body_too_large");
    request("POST", "/v1/raw", "application/octet-stream", NULL, -1000, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "got 1000 bytes: xxxxxxxx");
    /* far over the limit: 413 or a dropped connection, never buffered */
    request("POST", "/v1/raw", "application/octet-stream", NULL, -(long)(BODY_LIMIT * 32), &r);
    CHECK(r.status == 413 || r.rc != CURLE_OK);
    /* the limit holds for unknown paths too */
    request("POST", "/nope", "application/octet-stream", NULL, -(long)(BODY_LIMIT * 2), &r);
    CHECK_ERROR_REPLY(&r, 413, "body_too_large");
    /* still healthy */
    request("GET", "/healthz", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    free(body);
    resp_reset(&r);
}

static void test_not_found_and_method(void)
{
    struct resp r = {0};
    char allow[128];

    request("GET", "/nope", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 404, "not_found");
    request("GET", "/v1/hello/", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 404, "not_found");
    request("POST", "/v1/hello", "application/json", "{}", 2, &r);
    CHECK_ERROR_REPLY(&r, 405, "method_not_allowed");
    CHECK(header_value(&r, "Allow", allow, sizeof allow));
    CHECK_STR(allow, "GET, HEAD, DELETE");
    request("DELETE", "/v1/hello", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 204);
    request("PUT", "/v1/events/1", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 405, "method_not_allowed");
    CHECK(header_value(&r, "Allow", allow, sizeof allow));
    CHECK_STR(allow, "GET, HEAD");
    resp_reset(&r);
}

static void test_handler_mistakes(void)
{
    struct resp r = {0};

    request("GET", "/v1/forget", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 500, "internal");
    request("GET", "/v1/twice", NULL, NULL, 0, &r); /* the first reply wins */
    CHECK_ERROR_REPLY(&r, 409, "first");
    resp_reset(&r);
}

static void test_keep_alive(void)
{
    struct resp r = {0};
    CURL *c = curl_easy_init();
    char conn[64];

    request_on(c, port, "GET", "/v1/hello", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.connects, 1);
    CHECK(strncmp(r.headers, "HTTP/1.1 200", 12) == 0);
    CHECK(!header_value(&r, "Connection", conn, sizeof conn) || strcasecmp(conn, "close") != 0);
    request_on(c, port, "GET", "/v1/events/9", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.connects, 0); /* reused the connection */
    CHECK(strncmp(r.headers, "HTTP/1.1 200", 12) == 0);
    CHECK(!header_value(&r, "Connection", conn, sizeof conn) || strcasecmp(conn, "close") != 0);
    /* and after a POST with a body, and after an error reply */
    request_on(c, port, "POST", "/v1/echo", "application/json", "[3]", 3, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.connects, 0);
    request_on(c, port, "GET", "/nope", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    request_on(c, port, "GET", "/v1/hello", NULL, NULL, 0, &r);
    CHECK_INT(r.connects, 0);
    curl_easy_cleanup(c);
    resp_reset(&r);
}

static void test_builtins(void)
{
    struct resp r = {0};
    char ct[128];

    request("GET", "/healthz", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"ok\"}");
    atomic_store(&ready_flag, false);
    request("GET", "/readyz", NULL, NULL, 0, &r);
    CHECK_ERROR_REPLY(&r, 503, "not_ready");
    atomic_store(&ready_flag, true);
    request("GET", "/readyz", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"ready\"}");

    request("GET", "/v1/hello", NULL, NULL, 0, &r);
    request("GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK(header_value(&r, "Content-Type", ct, sizeof ct));
    CHECK(strncmp(ct, "text/plain; version=0.0.4", 25) == 0);
    CHECK(strstr(r.body, "# TYPE admit_http_requests_total counter\n") != NULL);
    CHECK(strstr(r.body,
                 "admit_http_requests_total{route=\"hello\",method=\"GET\",status=\"200\"} ") !=
          NULL);
    CHECK(strstr(r.body, "admit_http_requests_total{route=\"unmatched\",method=\"GET\",status="
                         "\"404\"} ") != NULL);
    CHECK(strstr(r.body, "admit_http_requests_total{route=\"readyz\",method=\"GET\",status="
                         "\"503\"} ") != NULL);
    CHECK(strstr(r.body, "# TYPE admit_http_request_duration_seconds histogram\n") != NULL);
    CHECK(strstr(r.body,
                 "admit_http_request_duration_seconds_bucket{route=\"hello\",le=\"0.001\"} ") !=
          NULL);
    CHECK(strstr(r.body,
                 "admit_http_request_duration_seconds_bucket{route=\"hello\",le=\"+Inf\"} ") !=
          NULL);
    CHECK(strstr(r.body, "admit_http_request_duration_seconds_sum{route=\"hello\"} ") != NULL);
    CHECK(strstr(r.body, "admit_http_request_duration_seconds_count{route=\"hello\"} ") != NULL);
    resp_reset(&r);
}

#define CONC_THREADS 8
#define CONC_REQUESTS 200

static void *conc_worker(void *arg)
{
    int *ok = arg;
    CURL *c = curl_easy_init();
    struct resp r = {0};
    int i;

    for (i = 0; c != NULL && i < CONC_REQUESTS; i++) {
        request_on(c, port, "GET", "/v1/conc", NULL, NULL, 0, &r);
        if (r.rc == CURLE_OK && r.status == 200 && strcmp(r.body, "{}") == 0)
            (*ok)++;
    }
    curl_easy_cleanup(c);
    resp_reset(&r);
    return NULL;
}

static void test_concurrent(void)
{
    static const char *const labels[] = {"route", "method", "status"};
    pthread_t t[CONC_THREADS];
    int ok[CONC_THREADS] = {0};
    adm_counter_t *requests = NULL;
    struct resp r = {0};
    char want[128];
    int i, total = 0;

    for (i = 0; i < CONC_THREADS; i++)
        CHECK_INT(pthread_create(&t[i], NULL, conc_worker, &ok[i]), 0);
    for (i = 0; i < CONC_THREADS; i++) {
        pthread_join(t[i], NULL);
        total += ok[i];
    }
    CHECK_INT(total, CONC_THREADS * CONC_REQUESTS);
    CHECK_ERR(adm_metrics_counter(adm_http_server_metrics(srv), "admit_http_requests_total",
                                  "HTTP requests answered, by route, method and status.", 3, labels,
                                  &requests),
              ADM_OK);
    CHECK_INT(adm_counter_value(requests, (const char *const[]){"conc", "GET", "200"}),
              CONC_THREADS * CONC_REQUESTS);
    request("GET", "/metrics", NULL, NULL, 0, &r);
    snprintf(want, sizeof want,
             "admit_http_requests_total{route=\"conc\",method=\"GET\",status=\"200\"} %d\n",
             CONC_THREADS * CONC_REQUESTS);
    CHECK(strstr(r.body, want) != NULL);
    snprintf(want, sizeof want, "admit_http_request_duration_seconds_count{route=\"conc\"} %d\n",
             CONC_THREADS * CONC_REQUESTS);
    CHECK(strstr(r.body, want) != NULL);
    resp_reset(&r);
}

static void test_access_log(void)
{
    int fds[2];
    char buf[4096] = "";
    ssize_t n;
    struct resp r = {0};

    CHECK_INT(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    adm_log_setup(ADM_LOG_LOGFMT, ADM_LOG_INFO, fds[1]);
    adm_http_server_t *s = start_server(2, true);
    uint16_t p = adm_http_server_port(s);
    CURL *c = curl_easy_init();

    request_on(c, p, "GET", "/v1/events/5/ticket-types/a%20b", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    adm_log(ADM_LOG_WARN, "plain %s", "message");
    adm_log(ADM_LOG_DEBUG, "not shown");
    n = read(fds[0], buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strncmp(buf, "ts=", 3) == 0);
    CHECK(strstr(buf, "Z method=GET path=\"/v1/events/5/ticket-types/a b\" route=events.types "
                      "status=200 bytes=") != NULL);
    CHECK(strstr(buf, " dur_us=") != NULL);
    CHECK(strstr(buf, " ip=127.0.0.1\n") != NULL);
    CHECK(strstr(buf, " level=warn msg=\"plain message\"\n") != NULL);
    CHECK(strstr(buf, "not shown") == NULL);

    adm_log_setup(ADM_LOG_JSON, ADM_LOG_INFO, fds[1]);
    request_on(c, p, "GET", "/nope", NULL, NULL, 0, &r);
    n = read(fds[0], buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = '\0';
    {
        json_t *j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
        CHECK(j != NULL);
        CHECK_STR(json_string_value(json_object_get(j, "route")), "unmatched");
        CHECK_INT(json_integer_value(json_object_get(j, "status")), 404);
        json_decref(j);
    }
    /* a line cut at ADM_HTTP_LOG_LINE_MAX is still one valid JSON object */
    {
        char big[1100];
        json_t *j;
        memset(big, 0xE9, sizeof big - 1);
        big[sizeof big - 1] = '\0';
        adm_log(ADM_LOG_ERROR, "%s", big);
        n = read(fds[0], buf, sizeof buf - 1);
        CHECK(n > 0 && n <= ADM_HTTP_LOG_LINE_MAX);
        buf[n > 0 ? n : 0] = '\0';
        CHECK(n > 0 && buf[n - 1] == '\n');
        j = json_loads(buf, 0, NULL);
        CHECK(j != NULL);
        CHECK_STR(json_string_value(json_object_get(j, "level")), "error");
        json_decref(j);
    }
    adm_log_setup(ADM_LOG_LOGFMT, ADM_LOG_INFO, -1);
    curl_easy_cleanup(c);
    adm_http_server_free(s);
    close(fds[0]);
    close(fds[1]);
    resp_reset(&r);
}

struct slow_client {
    uint16_t port;
    struct resp r;
};

static void *slow_client(void *arg)
{
    struct slow_client *sc = arg;
    CURL *c = curl_easy_init();

    if (c != NULL)
        request_on(c, sc->port, "GET", "/v1/slow", NULL, NULL, 0, &sc->r);
    curl_easy_cleanup(c);
    return NULL;
}

/* The client address behind trusted reverse proxies (X-Forwarded-For). */
static const char *ip_seen(const char *xff, char *out, size_t cap)
{
    struct resp r = {0};
    char line[256];
    json_t *j;

    snprintf(line, sizeof line, "X-Forwarded-For: %s", xff);
    extra_header = xff != NULL ? line : NULL;
    request("GET", "/v1/headers", NULL, NULL, 0, &r);
    extra_header = NULL;
    j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    snprintf(out, cap, "%s", j ? json_string_value(json_object_get(j, "ip")) : "?");
    json_decref(j);
    resp_reset(&r);
    return out;
}

static void test_trusted_proxies(void)
{
    adm_http_server_config_t cfg;
    adm_http_server_t *s = NULL, *bad = NULL;
    uint16_t saved = port;
    char ip[64];

    /* not a trusted proxy: the header is ignored */
    CHECK_STR(ip_seen("203.0.113.9", ip, sizeof ip), "127.0.0.1");
    start_proxies = "10.9.9.9, 127.0.0.1 ,::1";
    s = start_server(2, false);
    start_proxies = NULL;
    port = adm_http_server_port(s);
    CHECK_STR(ip_seen(NULL, ip, sizeof ip), "127.0.0.1");
    CHECK_STR(ip_seen("203.0.113.9", ip, sizeof ip), "203.0.113.9");
    /* the rightmost hop that is not a trusted proxy; the left part can be forged */
    CHECK_STR(ip_seen("1.2.3.4, 198.51.100.7, 10.9.9.9", ip, sizeof ip), "198.51.100.7");
    CHECK_STR(ip_seen("2001:db8::5", ip, sizeof ip), "2001:db8::5");
    /* garbage stops the walk at the last trusted hop */
    CHECK_STR(ip_seen("198.51.100.7, not-an-ip", ip, sizeof ip), "127.0.0.1");
    CHECK_STR(ip_seen("198.51.100.7, not-an-ip, 10.9.9.9", ip, sizeof ip), "10.9.9.9");
    /* every hop a proxy: the leftmost one */
    CHECK_STR(ip_seen("10.9.9.9", ip, sizeof ip), "10.9.9.9");
    port = saved;
    adm_http_server_free(s);

    adm_http_server_config_init(&cfg);
    cfg.trusted_proxies = "10.0.0.1,proxy.example";
    CHECK_ERR(adm_http_server_new(&cfg, &bad), ADM_ERR_INVALID_ARG);
    CHECK(bad == NULL);
}

static void test_graceful_stop(void)
{
    adm_http_server_t *s = start_server(2, false);
    struct slow_client sc = {adm_http_server_port(s), {0}};
    pthread_t t;
    int waited = 0;

    atomic_store(&slow_started, false);
    atomic_store(&slow_finished, false);
    CHECK_INT(pthread_create(&t, NULL, slow_client, &sc), 0);
    while (!atomic_load(&slow_started) && waited++ < 30000)
        sleep_ms(1);
    CHECK(atomic_load(&slow_started));
    CHECK_ERR(adm_http_server_stop(s), ADM_OK);
    CHECK(atomic_load(&slow_finished)); /* the handler completed before stop returned */
    CHECK_INT(adm_http_server_active(s), 0);
    pthread_join(t, NULL);
    CHECK_INT(sc.r.rc, CURLE_OK);
    CHECK_INT(sc.r.status, 200);
    CHECK(sc.r.body != NULL && strcmp(sc.r.body, "{\"slow\":\"done\"}") == 0);
    adm_http_server_free(s);
    resp_reset(&sc.r);
}


/* ---------------------------------------------------------------------- */
/* long-poll */

static long json_int_member(const char *text, const char *key)
{
    json_t *j = json_loads(text, 0, NULL);
    long v = (long)json_integer_value(json_object_get(j, key));

    json_decref(j);
    return v;
}

static void wait_parked(unsigned n)
{
    for (int i = 0; i < 30000 && atomic_load(&parked) < n; i++)
        sleep_ms(1);
    CHECK(atomic_load(&parked) >= n);
}

struct bg_req {
    uint16_t port;
    const char *path;
    struct resp r;
};

static void *bg_request(void *arg)
{
    struct bg_req *b = arg;
    CURL *c = curl_easy_init();

    if (c != NULL)
        request_on(c, b->port, "GET", b->path, NULL, NULL, 0, &b->r);
    curl_easy_cleanup(c);
    return NULL;
}

/* A deferral with a long timer comes back at once on a wake. */
static void test_defer_wake(void)
{
    struct bg_req b = {port, "/v1/defer?ms=60000", {0}};
    pthread_t t;

    atomic_store(&parked, 0);
    CHECK_INT(pthread_create(&t, NULL, bg_request, &b), 0);
    wait_parked(1);
    /* the request may still be between its handler and the suspension:
     * wake until it answers (each wake is cheap) */
    for (int i = 0; i < 3000 && adm_http_server_active(srv) > 0; i++) {
        adm_http_server_wake(srv);
        sleep_ms(10);
    }
    pthread_join(t, NULL);
    CHECK_INT(b.r.status, 200);
    CHECK_INT(json_int_member(b.r.body, "calls"), 2);
    CHECK(json_int_member(b.r.body, "waited") < 60000); /* the wake, not the timer */
    resp_reset(&b.r);
    adm_http_server_wake(srv); /* nothing waits: a no-op */
}

/* Without a wake, the timer re-calls the handler after the deferral. */
static void test_defer_timeout(void)
{
    struct resp r = {0};

    request("GET", "/v1/defer?ms=150", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_int_member(r.body, "calls"), 2);
    CHECK(json_int_member(r.body, "waited") >= 150);
    resp_reset(&r);
}

/* 200 deferred requests on a 2-thread server hold no thread: other requests
 * are answered meanwhile, and a wake releases them all. */
static void test_defer_many(void)
{
    enum { N = 200 };
    adm_http_server_t *s = start_server(2, false);
    uint16_t p = adm_http_server_port(s);
    CURLM *multi = curl_multi_init();
    CURL *easy[N];
    struct resp rs[N];
    char url[128];
    struct resp r = {0};
    CURL *c = curl_easy_init();
    int running = 0, done = 0, i, msgs;
    CURLMsg *m;

    CHECK(multi != NULL && c != NULL);
    atomic_store(&parked, 0);
    atomic_store(&park_release, false);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/park", (unsigned)p);
    memset(rs, 0, sizeof rs);
    for (i = 0; i < N; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &rs[i]);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 60L);
        curl_multi_add_handle(multi, easy[i]);
    }
    for (i = 0; i < 30000 && atomic_load(&parked) < N; i++) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 1, NULL);
    }
    CHECK_INT(atomic_load(&parked), N);
    /* every pool thread is free: a plain request goes through */
    request_on(c, p, "GET", "/v1/hello", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK(adm_http_server_active(s) >= N); /* the parked ones (and maybe /v1/hello finishing) */
    atomic_store(&park_release, true);
    for (i = 0; i < 60000 && done < N; i++) {
        adm_http_server_wake(s);
        curl_multi_perform(multi, &running);
        while ((m = curl_multi_info_read(multi, &msgs)) != NULL)
            if (m->msg == CURLMSG_DONE) {
                long status = 0;
                curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
                CHECK_INT(m->data.result, CURLE_OK);
                CHECK_INT(status, 200);
                done++;
            }
        curl_multi_poll(multi, NULL, 0, 5, NULL);
    }
    CHECK_INT(done, N);
    for (i = 0; i < N; i++) {
        CHECK(rs[i].body != NULL && strstr(rs[i].body, "\"released\"") != NULL);
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        resp_reset(&rs[i]);
    }
    curl_multi_cleanup(multi);
    curl_easy_cleanup(c);
    resp_reset(&r);
    CHECK_ERR(adm_http_server_stop(s), ADM_OK);
    adm_http_server_free(s);
}

/* Stopping answers deferred requests 503 and does not wait for their timers. */
static void test_defer_stop(void)
{
    enum { N = 8 };
    adm_http_server_t *s = start_server(2, false);
    struct bg_req b[N];
    pthread_t t[N];
    int i;

    atomic_store(&parked, 0);
    atomic_store(&park_release, false);
    for (i = 0; i < N; i++) {
        b[i] = (struct bg_req){adm_http_server_port(s), "/v1/park", {0}};
        CHECK_INT(pthread_create(&t[i], NULL, bg_request, &b[i]), 0);
    }
    wait_parked(N);
    /* parked for 30 s each, with a 10 s shutdown timeout: a prompt 503 is
     * the only way stop returns ADM_OK */
    CHECK_ERR(adm_http_server_stop(s), ADM_OK);
    CHECK_INT(adm_http_server_active(s), 0);
    for (i = 0; i < N; i++) {
        char ra[16];
        pthread_join(t[i], NULL);
        CHECK_ERROR_REPLY(&b[i].r, 503, "shutting_down");
        CHECK(header_value(&b[i].r, "Retry-After", ra, sizeof ra));
        resp_reset(&b[i].r);
    }
    adm_http_server_free(s);
}

/* ---------------------------------------------------------------------- */
/* gzip */

/* Inflates a gzip body into a new NUL-terminated buffer (NULL on error). */
static char *gunzip(const char *in, size_t len, size_t *out_len)
{
    z_stream zs;
    size_t cap = len * 8 + 1024, n = 0;
    char *out = malloc(cap);
    int rc;

    memset(&zs, 0, sizeof zs);
    if (out == NULL || inflateInit2(&zs, 31) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    do {
        if (n + 1 >= cap) {
            char *nb = realloc(out, cap * 2);
            if (nb == NULL)
                break;
            out = nb;
            cap *= 2;
        }
        zs.next_out = (Bytef *)out + n;
        zs.avail_out = (uInt)(cap - n - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
        n = zs.total_out;
    } while (rc == Z_OK);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

static void get_with(const char *path, const char *accept_encoding, struct resp *r)
{
    char line[128];

    extra_header = NULL;
    if (accept_encoding != NULL) {
        snprintf(line, sizeof line, "Accept-Encoding: %s", accept_encoding);
        extra_header = line;
    }
    request("GET", path, NULL, NULL, 0, r);
    extra_header = NULL;
}

static bool gzipped(const struct resp *r)
{
    char v[64];

    return header_value(r, "Content-Encoding", v, sizeof v) && strcmp(v, "gzip") == 0;
}

static void test_gzip(void)
{
    static const char *const yes[] = {"gzip", "gzip, deflate, br", "deflate;q=1, gzip;q=0.5",
                                      "*", "GZIP", "br, x-gzip", "identity;q=0.5, *;q=0.1"};
    static const char *const no[] = {"gzip;q=0", "deflate, br", "gzip; q=0.000, *",
                                     "identity", "*;q=0", ""};
    struct resp plain = {0}, r = {0}, head = {0};
    char v[64], len_get[32], len_head[32];
    size_t i, n = 0;
    char *text;

    /* the plain reference: no Accept-Encoding, Vary still says it varies */
    get_with("/v1/big?n=20000", NULL, &plain);
    CHECK_INT(plain.status, 200);
    CHECK(!gzipped(&plain));
    CHECK(header_value(&plain, "Vary", v, sizeof v) && strcasecmp(v, "Accept-Encoding") == 0);

    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        get_with("/v1/big?n=20000", yes[i], &r);
        CHECK_INT(r.status, 200);
        if (!gzipped(&r)) {
            adm_test_fail(__FILE__, __LINE__, "not gzipped for Accept-Encoding: %s", yes[i]);
            continue;
        }
        CHECK(r.len < plain.len / 2);
        CHECK(header_value(&r, "Vary", v, sizeof v));
        text = gunzip(r.body, r.len, &n);
        CHECK(text != NULL && n == plain.len && memcmp(text, plain.body, n) == 0);
        free(text);
    }
    for (i = 0; i < sizeof no / sizeof no[0]; i++) {
        get_with("/v1/big?n=20000", no[i], &r);
        CHECK_INT(r.status, 200);
        if (gzipped(&r))
            adm_test_fail(__FILE__, __LINE__, "gzipped for Accept-Encoding: %s", no[i]);
        CHECK(r.len == plain.len);
    }

    /* small replies and compressed media types stay as they are */
    get_with("/v1/big?n=500", "gzip", &r);
    CHECK(!gzipped(&r));
    CHECK(!header_value(&r, "Vary", v, sizeof v));
    get_with("/v1/hello", "gzip", &r);
    CHECK(!gzipped(&r));
    CHECK_STR(r.body, "{\"hello\":\"world\"}");
    get_with("/v1/png", "gzip", &r);
    CHECK_INT(r.status, 200);
    CHECK(!gzipped(&r));
    CHECK_INT(r.len, 4096);

    /* HEAD carries the same encoding and length as GET */
    get_with("/v1/big?n=20000", "gzip", &r);
    extra_header = "Accept-Encoding: gzip";
    request("HEAD", "/v1/big?n=20000", NULL, NULL, 0, &head);
    extra_header = NULL;
    CHECK_INT(head.status, 200);
    CHECK(gzipped(&head));
    CHECK(header_value(&r, "Content-Length", len_get, sizeof len_get));
    CHECK(header_value(&head, "Content-Length", len_head, sizeof len_head));
    CHECK_STR(len_head, len_get);
    CHECK_INT(head.len, 0);

    resp_reset(&plain);
    resp_reset(&r);
    resp_reset(&head);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    adm_log_setup(ADM_LOG_LOGFMT, ADM_LOG_INFO, -1); /* quiet unless a test sets a pipe */
    atomic_store(&ready_flag, true);

    ADM_RUN(test_arena);
    ADM_RUN(test_metrics_render);
    ADM_RUN(test_metrics_overflow);
    ADM_RUN(test_route_registration);

    srv = start_server(4, false);
    port = adm_http_server_port(srv);
    ADM_RUN(test_listen_error);
    ADM_RUN(test_get_json);
    ADM_RUN(test_path_params);
    ADM_RUN(test_query_and_headers);
    ADM_RUN(test_post_json);
    ADM_RUN(test_bytes_arena_headers);
    ADM_RUN(test_body_limit);
    ADM_RUN(test_not_found_and_method);
    ADM_RUN(test_handler_mistakes);
    ADM_RUN(test_keep_alive);
    ADM_RUN(test_builtins);
    ADM_RUN(test_concurrent);
    ADM_RUN(test_defer_wake);
    ADM_RUN(test_defer_timeout);
    ADM_RUN(test_gzip);
    ADM_RUN(test_trusted_proxies);
    CHECK_ERR(adm_http_server_stop(srv), ADM_OK);
    adm_http_server_free(srv);

    ADM_RUN(test_access_log);
    ADM_RUN(test_graceful_stop);
    ADM_RUN(test_defer_many);
    ADM_RUN(test_defer_stop);

    curl_global_cleanup();
    return adm_test_done();
}
