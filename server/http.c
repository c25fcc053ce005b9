/* http.c: the libmicrohttpd wrapper behind http.h (server, router, request
 * and reply, per-request arena, access log, request metrics, built-in
 * health/readiness/metrics routes, long-poll deferral, gzip of large
 * replies). Not for route handlers of the booking API, and no knowledge of
 * the store beyond a readiness callback. */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#define REQ_ARENA_INLINE 2048 /* first arena chunk, inside the request struct */
#define ARENA_CHUNK 8192      /* later chunks, unless one allocation needs more */
#define ARENA_HDR 16          /* chunk header, keeps chunk data 16-aligned */
#define BODY_INITIAL 4096     /* first body buffer when the length is unknown */
#define LOG_PATH_MAX 256      /* path bytes in an access log line */
#define DISCARD_FACTOR 4      /* oversized chunked bodies: read and drop up to 4x the limit */
#define ADDR_MAX 256          /* listen address, including the NUL */
#define GZIP_MIN 1024         /* replies up to this many bytes are never compressed */
#define DEFER_MAX_MS 60000    /* longest adm_http_defer() */

static const char body_internal[] =
    "{\"error\":\"internal\",\"message\":\"internal server error\"}";
static const char body_healthz[] = "{\"status\":\"ok\"}";
static const char body_ready[] = "{\"status\":\"ready\"}";

/* ====================================================================== */
/* Logging */

static atomic_int log_format = ADM_LOG_LOGFMT;
static atomic_int log_level = ADM_LOG_INFO;
static atomic_int log_fd = 2;

void adm_log_setup(adm_log_format_t format, adm_log_level_t level, int fd)
{
    atomic_store(&log_format, (int)format);
    atomic_store(&log_level, (int)level);
    atomic_store(&log_fd, fd);
}

static bool log_enabled(adm_log_level_t level)
{
    return level >= (adm_log_level_t)atomic_load(&log_level) && level < ADM_LOG_OFF &&
           atomic_load(&log_fd) >= 0;
}

/* One log line being built: logfmt `k=v k="v w"` or a JSON object. Every
 * append is bounded; SLACK bytes stay free for a closing quote, "}" and
 * "\n", so a cut line is still well-formed. */
#define SLACK 8
struct logrec {
    char buf[ADM_HTTP_LOG_LINE_MAX];
    size_t len;
    bool json;
    bool cut;
};

static bool rec_room(const struct logrec *r, size_t n)
{
    return r->len + n + SLACK <= sizeof r->buf;
}

static void rec_raw(struct logrec *r, const char *s, size_t n)
{
    if (r->cut || !rec_room(r, n)) {
        r->cut = true;
        return;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

/* Writes a key only when a short value can follow it, so a cut line never
 * ends in a key without its value. */
static void rec_key(struct logrec *r, const char *key)
{
    bool first = r->len == (r->json ? 1u : 0u);

    if (!rec_room(r, strlen(key) + 4 + 24)) {
        r->cut = true;
        return;
    }

    if (r->json) {
        rec_raw(r, first ? "\"" : ",\"", first ? 1 : 2);
        rec_raw(r, key, strlen(key));
        rec_raw(r, "\":", 2);
    } else {
        if (!first)
            rec_raw(r, " ", 1);
        rec_raw(r, key, strlen(key));
        rec_raw(r, "=", 1);
    }
}

static bool logfmt_needs_quotes(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return true;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f)
            return true;
    }
    return false;
}

/* A string value, escaped for the format; non-ASCII bytes are escaped too
 * so a line is always valid ASCII whatever a client sent. */
static void rec_str(struct logrec *r, const char *key, const char *s, size_t n)
{
    bool quote = r->json || logfmt_needs_quotes(s, n);
    size_t i;

    rec_key(r, key);
    if (r->cut)
        return;
    if (!quote) {
        rec_raw(r, s, n);
        return;
    }
    rec_raw(r, "\"", 1);
    for (i = 0; i < n && !r->cut; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t k;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            k = 2;
        } else if (c < 0x20 || c >= 0x7f) {
            k = (size_t)snprintf(esc, sizeof esc, r->json ? "\\u%04x" : "\\x%02x", c);
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        if (!rec_room(r, k))
            break; /* value cut short; still close the quote below */
        memcpy(r->buf + r->len, esc, k);
        r->len += k;
    }
    /* the closing quote uses the slack, so it always fits */
    r->buf[r->len++] = '"';
}

static void rec_cstr(struct logrec *r, const char *key, const char *s)
{
    rec_str(r, key, s, strlen(s));
}

static void rec_uint(struct logrec *r, const char *key, unsigned long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", v);

    rec_key(r, key);
    if (!r->cut)
        rec_raw(r, tmp, (size_t)n);
}

static void rec_begin(struct logrec *r)
{
    struct timespec ts;
    struct tm tm;
    char tmp[40];
    int n;

    r->len = 0;
    r->cut = false;
    r->json = atomic_load(&log_format) == ADM_LOG_JSON;
    if (r->json)
        rec_raw(r, "{", 1);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L);
    rec_str(r, "ts", tmp, (size_t)n);
}

static void rec_write(struct logrec *r)
{
    int fd = atomic_load(&log_fd);
    ssize_t w;

    /* the slack holds these two bytes */
    if (r->json)
        r->buf[r->len++] = '}';
    r->buf[r->len++] = '\n';
    if (fd < 0)
        return;
    /* one write() per line: lines from pool threads never interleave */
    do {
        w = write(fd, r->buf, r->len);
    } while (w < 0 && errno == EINTR);
}

static const char *level_name(adm_log_level_t level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};

    return (unsigned)level < 4 ? names[level] : "error";
}

__attribute__((format(printf, 2, 0))) static void log_va(adm_log_level_t level, const char *fmt,
                                                         va_list ap)
{
    struct logrec r;
    char msg[1024];
    int n;

    if (!log_enabled(level))
        return;
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = (int)sizeof msg - 1;
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    rec_begin(&r);
    rec_cstr(&r, "level", level_name(level));
    rec_str(&r, "msg", msg, (size_t)n);
    rec_write(&r);
}

void adm_log(adm_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_va(level, fmt, ap);
    va_end(ap);
}

/* libmicrohttpd's own complaints (bad requests, resource limits); the
 * format string is libmicrohttpd's, hence the pragma. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    log_va(ADM_LOG_WARN, fmt, ap);
}
#pragma GCC diagnostic pop

/* ====================================================================== */
/* Arena */

struct chunk {
    struct chunk *next;
};

struct adm_arena {
    struct chunk *chunks; /* heap chunks, newest first */
    char *cur;
    size_t left;
    size_t size; /* bytes held, chunk headers included */
    size_t max;
};

_Static_assert(sizeof(struct chunk) <= ARENA_HDR, "chunk header must fit ARENA_HDR");

static void arena_init(adm_arena_t *a, size_t max, void *first, size_t first_len)
{
    a->chunks = NULL;
    a->cur = first;
    a->left = first_len;
    a->size = first_len;
    a->max = max;
}

static void arena_release(adm_arena_t *a)
{
    struct chunk *c = a->chunks, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->left = 0;
}

adm_err_t adm_arena_new(size_t max_bytes, adm_arena_t **out)
{
    adm_err_t result = ADM_OK;
    adm_arena_t *a;

    *out = NULL;
    a = malloc(sizeof *a);
    if (a == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    arena_init(a, max_bytes, NULL, 0);
    *out = a;
out:
    return result;
}

void adm_arena_free(adm_arena_t *a)
{
    if (a == NULL)
        return;
    arena_release(a);
    free(a);
}

void *adm_arena_alloc(adm_arena_t *a, size_t n)
{
    struct chunk *c;
    size_t csize, room;
    char *p;

    if (n > SIZE_MAX / 2)
        return NULL;
    n = n == 0 ? 16 : (n + 15) & ~(size_t)15;
    if (n <= a->left) {
        p = a->cur;
        a->cur += n;
        a->left -= n;
        return p;
    }
    room = a->size < a->max ? a->max - a->size : 0;
    csize = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    if (csize + ARENA_HDR > room)
        csize = n; /* near the cap: take only what this call needs */
    if (csize + ARENA_HDR > room)
        return NULL;
    c = malloc(ARENA_HDR + csize);
    if (c == NULL)
        return NULL;
    c->next = a->chunks;
    a->chunks = c;
    a->size += ARENA_HDR + csize;
    p = (char *)c + ARENA_HDR;
    if (csize - n >= a->left) { /* keep whichever chunk has more room left */
        a->cur = p + n;
        a->left = csize - n;
    }
    return p;
}

char *adm_arena_strndup(adm_arena_t *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = adm_arena_alloc(a, len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *adm_arena_strdup(adm_arena_t *a, const char *s)
{
    return adm_arena_strndup(a, s, SIZE_MAX);
}

char *adm_arena_printf(adm_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        goto out;
    p = adm_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        goto out;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
out:
    return p;
}

size_t adm_arena_size(const adm_arena_t *a)
{
    return a->size;
}

/* ====================================================================== */
/* Types */

struct seg {
    uint16_t off, len; /* into the pattern; for a param, the name inside {} */
    bool param;
};

struct route {
    char method[16];
    char pattern[ADM_HTTP_PATTERN_MAX];
    char name[ADM_HTTP_ROUTE_NAME_MAX];
    size_t n_segs;
    struct seg segs[ADM_HTTP_MAX_SEGMENTS];
    uint32_t literal_mask; /* bit (31 - i) set when segment i is a literal */
    adm_http_handler_fn fn;
    void *ctx;
};

struct header {
    const char *name, *value; /* arena copies */
};

struct adm_http_req {
    adm_http_server_t *srv;
    struct MHD_Connection *conn;
    const char *method; /* owned by libmicrohttpd for the request's lifetime */
    const char *path;
    const struct route *route;
    const char *route_label;
    uint64_t start_ns;
    const char *allow; /* 405: methods the path accepts */
    char *params[ADM_HTTP_MAX_PARAMS];

    char *body; /* malloc'd, NUL-terminated, at most max_body_bytes + 1 */
    size_t body_len, body_cap;
    uint64_t declared_len; /* Content-Length, 0 when absent */
    uint64_t discarded;    /* bytes read and dropped after the limit */
    bool too_large;
    bool failed; /* out of memory or arena: answered 500 */
    json_t *body_json;

    bool replied, queued, recorded;
    unsigned status;
    const char *ctype;
    void *rbody; /* owned when rmem == ADM_HTTP_TAKE */
    size_t rlen;
    adm_http_mem_t rmem;
    size_t n_headers;
    struct header headers[ADM_HTTP_MAX_HEADERS];
    const char *ip;

    /* long-poll (adm_http_defer): the server's deferral heap owns the
     * request between suspend and resume */
    unsigned defer_ms;    /* set by adm_http_defer() during the current handler call */
    bool deferred_once;   /* suspended at least once */
    uint64_t handler_ns;  /* first handler call, 0 before */
    uint64_t deadline_ns; /* resume time while suspended */
    void *userdata;       /* adm_http_set_userdata() */

    adm_arena_t arena;
    _Alignas(16) char arena_first[REQ_ARENA_INLINE];
};

struct adm_http_server {
    adm_http_server_config_t cfg;
    char listen_addr[ADDR_MAX];
    struct MHD_Daemon *daemon;
    uint16_t port;
    bool started;
    adm_metrics_t *metrics;
    bool own_metrics;
    adm_counter_t *m_requests;
    adm_histogram_t *m_duration;
    adm_http_ready_fn ready;
    void *ready_ctx;
    atomic_uint active;
    atomic_bool stopping;

    /* deferred (suspended) requests: a binary min-heap by deadline, at most
     * max_connections entries, guarded by dmu; the timer thread resumes
     * expired ones, adm_http_server_wake() all of them */
    pthread_mutex_t dmu;
    pthread_cond_t dcv; /* CLOCK_MONOTONIC; wakes the timer thread */
    adm_http_req_t **heap;
    size_t n_heap, heap_cap;
    atomic_size_t n_deferred;
    pthread_t timer;
    bool timer_running, timer_quit;
    bool sync_init;

    size_t n_routes;
    struct route routes[ADM_HTTP_MAX_ROUTES];

    size_t n_proxies; /* trusted reverse proxies, IPv4 as v4-mapped IPv6 */
    struct in6_addr proxies[ADM_HTTP_MAX_PROXIES];
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ====================================================================== */
/* Router */

static bool param_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* Splits r->pattern into r->segs. False for a malformed pattern. */
static bool parse_pattern(struct route *r)
{
    const char *pat = r->pattern;
    const char *p = pat + 1;
    size_t n_params = 0, i, j;

    r->n_segs = 0;
    r->literal_mask = 0;
    if (pat[0] != '/')
        return false;
    if (pat[1] == '\0')
        return true; /* "/" has no segments */
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        struct seg *s;

        if (len == 0 || r->n_segs >= ADM_HTTP_MAX_SEGMENTS)
            return false;
        s = &r->segs[r->n_segs];
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || !param_name_ok(p + 1, len - 2) ||
                n_params >= ADM_HTTP_MAX_PARAMS)
                return false;
            s->param = true;
            s->off = (uint16_t)(p + 1 - pat);
            s->len = (uint16_t)(len - 2);
            n_params++;
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len))
                return false;
            s->param = false;
            s->off = (uint16_t)(p - pat);
            s->len = (uint16_t)len;
            r->literal_mask |= 1u << (31 - r->n_segs);
        }
        r->n_segs++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    /* parameter names are unique within a pattern */
    for (i = 0; i < r->n_segs; i++)
        for (j = i + 1; j < r->n_segs; j++)
            if (r->segs[i].param && r->segs[j].param && r->segs[i].len == r->segs[j].len &&
                memcmp(pat + r->segs[i].off, pat + r->segs[j].off, r->segs[i].len) == 0)
                return false;
    return true;
}

static bool same_shape(const struct route *a, const struct route *b)
{
    size_t i;

    if (a->n_segs != b->n_segs)
        return false;
    for (i = 0; i < a->n_segs; i++) {
        const struct seg *x = &a->segs[i], *y = &b->segs[i];
        if (x->param != y->param)
            return false;
        if (!x->param &&
            (x->len != y->len || memcmp(a->pattern + x->off, b->pattern + y->off, x->len) != 0))
            return false;
    }
    return true;
}

adm_err_t adm_http_route(adm_http_server_t *srv, const char *method, const char *pattern,
                         adm_http_handler_fn handler, void *ctx, const char *name)
{
    adm_err_t result = ADM_OK;
    struct route *r;
    size_t i;

    if (srv == NULL || method == NULL || pattern == NULL || handler == NULL || name == NULL ||
        method[0] == '\0' || strlen(method) >= sizeof r->method ||
        strlen(pattern) >= ADM_HTTP_PATTERN_MAX || name[0] == '\0' ||
        strlen(name) >= ADM_HTTP_ROUTE_NAME_MAX) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (srv->started) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (srv->n_routes >= ADM_HTTP_MAX_ROUTES) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    r = &srv->routes[srv->n_routes];
    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->pattern, sizeof r->pattern, "%s", pattern);
    snprintf(r->name, sizeof r->name, "%s", name);
    for (i = 0; r->method[i]; i++) {
        if (r->method[i] < 'A' || r->method[i] > 'Z') {
            result = ADM_ERR_INVALID_ARG;
            goto out;
        }
    }
    if (!parse_pattern(r)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    for (i = 0; i < srv->n_routes; i++) {
        if (strcmp(srv->routes[i].method, r->method) == 0 && same_shape(&srv->routes[i], r)) {
            result = ADM_ERR_EXISTS;
            goto out;
        }
    }
    r->fn = handler;
    r->ctx = ctx;
    srv->n_routes++;
out:
    return result;
}

struct pathseg {
    const char *p;
    size_t len;
};

/* Splits a request path; -1 when it does not start with '/' or has too
 * many segments (no route can match either). */
static int split_path(const char *path, struct pathseg *segs)
{
    const char *p;
    int n = 0;

    if (path[0] != '/')
        return -1;
    if (path[1] == '\0')
        return 0;
    p = path + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);

        if (n >= ADM_HTTP_MAX_SEGMENTS)
            return -1;
        segs[n].p = p;
        segs[n].len = len;
        n++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return n;
}

static bool route_matches(const struct route *r, const struct pathseg *segs, int n)
{
    size_t i;

    if ((int)r->n_segs != n)
        return false;
    for (i = 0; i < r->n_segs; i++) {
        const struct seg *s = &r->segs[i];
        if (s->param) {
            if (segs[i].len == 0)
                return false;
        } else if (s->len != segs[i].len || memcmp(r->pattern + s->off, segs[i].p, s->len) != 0) {
            return false;
        }
    }
    return true;
}

/* Appends method to the comma-separated list allow (capacity cap) unless present. */
static void allow_add(char *allow, size_t cap, const char *method)
{
    size_t mlen = strlen(method), len = strlen(allow);
    const char *p = allow;

    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == mlen && memcmp(p, method, n) == 0)
            return;
        p = comma ? comma + 2 : p + n;
    }
    if (len + mlen + 3 > cap)
        return;
    snprintf(allow + len, cap - len, "%s%s", len ? ", " : "", method);
}

/* Finds the route for req->method and req->path and fills req->route and
 * its params, or leaves req->route NULL and sets req->allow when the path
 * exists for other methods. */
static void route_lookup(adm_http_req_t *req)
{
    adm_http_server_t *srv = req->srv;
    struct pathseg segs[ADM_HTTP_MAX_SEGMENTS];
    const struct route *best = NULL;
    uint64_t best_score = 0;
    bool is_head = strcmp(req->method, "HEAD") == 0;
    bool path_known = false;
    char allow[128] = "";
    size_t i, k;
    int n = split_path(req->path, segs);

    if (n < 0)
        return;
    for (i = 0; i < srv->n_routes; i++) {
        const struct route *r = &srv->routes[i];
        bool exact, usable;
        uint64_t score;

        if (!route_matches(r, segs, n))
            continue;
        path_known = true;
        allow_add(allow, sizeof allow, r->method);
        if (strcmp(r->method, "GET") == 0)
            allow_add(allow, sizeof allow, "HEAD");
        exact = strcmp(r->method, req->method) == 0;
        usable = exact || (is_head && strcmp(r->method, "GET") == 0);
        if (!usable)
            continue;
        score = ((uint64_t)r->literal_mask << 1) | (exact ? 1u : 0u);
        if (best == NULL || score > best_score) {
            best = r;
            best_score = score;
        }
    }
    if (best == NULL) {
        if (path_known)
            req->allow = adm_arena_strdup(&req->arena, allow);
        return;
    }
    k = 0;
    for (i = 0; i < best->n_segs; i++) {
        if (!best->segs[i].param)
            continue;
        req->params[k] = adm_arena_strndup(&req->arena, segs[i].p, segs[i].len);
        if (req->params[k] == NULL) {
            req->failed = true; /* arena exhausted: answered 500 */
            return;
        }
        k++;
    }
    req->route = best;
    req->route_label = best->name;
}

/* ====================================================================== */
/* Request accessors */

const char *adm_http_method(const adm_http_req_t *req)
{
    return req->method;
}

const char *adm_http_path(const adm_http_req_t *req)
{
    return req->path;
}

const char *adm_http_route_name(const adm_http_req_t *req)
{
    return req->route_label;
}

const char *adm_http_param(const adm_http_req_t *req, const char *name)
{
    const struct route *r = req->route;
    size_t i, k = 0, nlen = strlen(name);

    if (r == NULL)
        return NULL;
    for (i = 0; i < r->n_segs; i++) {
        const struct seg *s = &r->segs[i];
        if (!s->param)
            continue;
        if (s->len == nlen && memcmp(r->pattern + s->off, name, nlen) == 0)
            return req->params[k];
        k++;
    }
    return NULL;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

bool adm_http_param_u64(adm_http_req_t *req, const char *name, uint64_t *out)
{
    const char *s = adm_http_param(req, name);
    uint64_t v = 0;

    if (!parse_u64(s, &v) || v == 0) {
        adm_http_reply_error(req, 400, "bad_param", "path parameter %s must be a positive integer",
                             name);
        return false;
    }
    *out = v;
    return true;
}

const char *adm_http_query(const adm_http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool adm_http_query_int(adm_http_req_t *req, const char *name, long long def, long long min,
                        long long max, long long *out)
{
    const char *s = adm_http_query(req, name);
    char *end = NULL;
    long long v;

    if (s == NULL) {
        *out = def;
        return true;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        adm_http_reply_error(req, 400, "bad_query",
                             "query argument %s must be an integer in %lld..%lld", name, min, max);
        return false;
    }
    *out = v;
    return true;
}

const char *adm_http_header(const adm_http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Parses an IPv4 or IPv6 address (n bytes of s) into *out, IPv4 as
 * v4-mapped IPv6. */
static bool parse_ip(const char *s, size_t n, struct in6_addr *out)
{
    char buf[INET6_ADDRSTRLEN];
    struct in_addr v4;

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, out) == 1)
        return true;
    if (inet_pton(AF_INET, buf, &v4) != 1)
        return false;
    memset(out, 0, sizeof *out);
    out->s6_addr[10] = out->s6_addr[11] = 0xff;
    memcpy(&out->s6_addr[12], &v4, 4);
    return true;
}

static bool is_proxy(const adm_http_server_t *srv, const struct in6_addr *a)
{
    for (size_t i = 0; i < srv->n_proxies; i++)
        if (memcmp(&srv->proxies[i], a, sizeof *a) == 0)
            return true;
    return false;
}

static void ip_text(const struct in6_addr *a, char out[INET6_ADDRSTRLEN])
{
    if (IN6_IS_ADDR_V4MAPPED(a))
        inet_ntop(AF_INET, &a->s6_addr[12], out, INET6_ADDRSTRLEN);
    else
        inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
}

const char *adm_http_client_ip(adm_http_req_t *req)
{
    const union MHD_ConnectionInfo *ci;
    char tmp[INET6_ADDRSTRLEN] = "-";
    struct in6_addr peer, hop;
    bool have_peer = false;
    const char *xff, *end;

    if (req->ip != NULL)
        return req->ip;
    ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        have_peer = true;
        if (sa->sa_family == AF_INET) {
            memset(&peer, 0, sizeof peer);
            peer.s6_addr[10] = peer.s6_addr[11] = 0xff;
            memcpy(&peer.s6_addr[12], &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        } else if (sa->sa_family == AF_INET6) {
            peer = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        } else {
            have_peer = false;
        }
    }
    /* behind trusted proxies: walk X-Forwarded-For from the right */
    xff = have_peer && is_proxy(req->srv, &peer) ? adm_http_header(req, "X-Forwarded-For") : NULL;
    for (end = xff ? xff + strlen(xff) : NULL; end != NULL;) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        if (!parse_ip(start, (size_t)(end - start), &hop))
            break; /* not an address: keep the last trusted hop */
        peer = hop;
        if (!is_proxy(req->srv, &hop))
            break;
        end = start > xff ? start - 1 : NULL;
    }
    if (have_peer)
        ip_text(&peer, tmp);
    req->ip = adm_arena_strdup(&req->arena, tmp);
    return req->ip ? req->ip : "-";
}

const char *adm_http_body(const adm_http_req_t *req, size_t *len)
{
    if (len != NULL)
        *len = req->body ? req->body_len : 0;
    return req->body ? req->body : "";
}

adm_arena_t *adm_http_arena(adm_http_req_t *req)
{
    return &req->arena;
}

bool adm_http_replied(const adm_http_req_t *req)
{
    return req->replied;
}

/* application/json or application/<anything>+json, parameters ignored. */
static bool json_media_type(const char *ct)
{
    size_t n;

    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

json_t *adm_http_body_json(adm_http_req_t *req)
{
    json_t *result = NULL;
    json_error_t jerr;
    const char *ct;

    if (req->body_json != NULL) {
        result = req->body_json;
        goto out;
    }
    if (req->replied)
        goto out;
    ct = adm_http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct != NULL && !json_media_type(ct)) {
        adm_http_reply_error(req, 415, "unsupported_media_type",
                             "Content-Type %.64s is not supported; send application/json", ct);
        goto out;
    }
    if (req->body == NULL || req->body_len == 0) {
        adm_http_reply_error(req, 400, "bad_json", "request body is empty; send a JSON document");
        goto out;
    }
    req->body_json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (req->body_json == NULL) {
        adm_http_reply_error(req, 400, "bad_json", "invalid JSON at line %d column %d: %s",
                             jerr.line, jerr.column, jerr.text);
        goto out;
    }
    result = req->body_json;
out:
    return result;
}

static bool need_object(adm_http_req_t *req, const json_t *obj)
{
    if (json_is_object(obj))
        return true;
    adm_http_reply_error(req, 400, "bad_field", "request body must be a JSON object");
    return false;
}

bool adm_http_json_string(adm_http_req_t *req, const json_t *obj, const char *key, bool required,
                          const char **out)
{
    json_t *v;

    if (!need_object(req, obj))
        return false;
    v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) {
            adm_http_reply_error(req, 400, "bad_field", "field \"%s\" is required", key);
            return false;
        }
        *out = NULL;
        return true;
    }
    if (!json_is_string(v)) {
        adm_http_reply_error(req, 400, "bad_field", "field \"%s\" must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool adm_http_json_int(adm_http_req_t *req, const json_t *obj, const char *key, bool required,
                       json_int_t min, json_int_t max, json_int_t *out)
{
    json_t *v;
    json_int_t n;

    if (!need_object(req, obj))
        return false;
    v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) {
            adm_http_reply_error(req, 400, "bad_field", "field \"%s\" is required", key);
            return false;
        }
        return true;
    }
    n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v) || n < min || n > max) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"%s\" must be an integer in %" JSON_INTEGER_FORMAT
                             "..%" JSON_INTEGER_FORMAT,
                             key, min, max);
        return false;
    }
    *out = n;
    return true;
}

/* ====================================================================== */
/* Replies */

static bool header_text_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

adm_err_t adm_http_set_header(adm_http_req_t *req, const char *name, const char *value)
{
    adm_err_t result = ADM_OK;
    struct header *h;

    if (!header_text_ok(name) || name[0] == '\0' || strchr(name, ':') || !header_text_ok(value)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (req->n_headers >= ADM_HTTP_MAX_HEADERS) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    h = &req->headers[req->n_headers];
    h->name = adm_arena_strdup(&req->arena, name);
    h->value = adm_arena_strdup(&req->arena, value);
    if (h->name == NULL || h->value == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    req->n_headers++;
out:
    return result;
}

/* A second reply is a bug in the handler: logged and ignored. */
static bool replied_already(adm_http_req_t *req, unsigned status)
{
    if (req->replied)
        adm_log(ADM_LOG_ERROR, "route %s replied twice (status %u ignored)", req->route_label,
                status);
    return req->replied;
}

/* Stores the reply; body is owned (freed later) when mem == ADM_HTTP_TAKE. */
static void set_reply(adm_http_req_t *req, unsigned status, const char *ctype, void *body,
                      size_t len, adm_http_mem_t mem)
{
    if (replied_already(req, status)) {
        if (mem == ADM_HTTP_TAKE)
            free(body);
        return;
    }
    if (status < 100 || status > 999) {
        adm_log(ADM_LOG_ERROR, "route %s replied with invalid status %u", req->route_label, status);
        if (mem == ADM_HTTP_TAKE)
            free(body);
        status = 500;
        ctype = "application/json";
        body = (void *)body_internal;
        len = sizeof body_internal - 1;
        mem = ADM_HTTP_STATIC;
    }
    req->replied = true;
    req->status = status;
    req->ctype = ctype;
    req->rbody = body;
    req->rlen = len;
    req->rmem = mem;
}

static void reply_internal(adm_http_req_t *req)
{
    set_reply(req, 500, "application/json", (void *)body_internal, sizeof body_internal - 1,
              ADM_HTTP_STATIC);
}

void adm_http_reply_json(adm_http_req_t *req, unsigned status, json_t *body)
{
    char *text = NULL;

    if (replied_already(req, status)) {
        json_decref(body);
        return;
    }
    if (body != NULL)
        text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL) {
        adm_log(ADM_LOG_ERROR, "route %s: reply body missing or not serialisable",
                req->route_label);
        reply_internal(req);
        return;
    }
    set_reply(req, status, "application/json", text, strlen(text), ADM_HTTP_TAKE);
}

/* A JSON string even for text that is not valid UTF-8 (bytes >= 0x80 become '?'). */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    char tmp[ADM_HTTP_ERROR_MESSAGE_MAX];
    size_t i;

    if (j != NULL)
        return j;
    snprintf(tmp, sizeof tmp, "%s", s);
    for (i = 0; tmp[i]; i++)
        if ((unsigned char)tmp[i] >= 0x80)
            tmp[i] = '?';
    return json_string(tmp);
}

void adm_http_reply_error(adm_http_req_t *req, unsigned status, const char *code, const char *fmt,
                          ...)
{
    char msg[ADM_HTTP_ERROR_MESSAGE_MAX];
    json_t *body = NULL, *jcode, *jmsg;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    body = json_object();
    jcode = safe_string(code);
    jmsg = safe_string(msg);
    if (body == NULL || json_object_set_new(body, "error", jcode) != 0 ||
        json_object_set_new(body, "message", jmsg) != 0) {
        json_decref(body);
        body = NULL;
    }
    adm_http_reply_json(req, status, body);
}

void adm_http_reply_bytes(adm_http_req_t *req, unsigned status, const char *content_type,
                          const void *bytes, size_t len, adm_http_mem_t mem)
{
    const char *ctype;
    void *body = (void *)bytes;

    if (replied_already(req, status)) {
        if (mem == ADM_HTTP_TAKE)
            free(body);
        return;
    }
    if (bytes == NULL && len > 0) {
        reply_internal(req);
        return;
    }
    ctype = adm_arena_strdup(&req->arena, content_type ? content_type : "application/octet-stream");
    if (ctype == NULL || !header_text_ok(ctype)) {
        if (mem == ADM_HTTP_TAKE)
            free(body);
        reply_internal(req);
        return;
    }
    if (mem == ADM_HTTP_COPY) {
        body = malloc(len ? len : 1);
        if (body == NULL) {
            reply_internal(req);
            return;
        }
        if (len)
            memcpy(body, bytes, len);
        mem = ADM_HTTP_TAKE;
    }
    set_reply(req, status, ctype, body, len, mem);
}

/* ====================================================================== */
/* Long-poll: deferred requests are suspended connections in a min-heap by
 * deadline. A suspended connection holds no pool thread; the timer thread
 * or adm_http_server_wake() resumes it and libmicrohttpd calls on_request
 * again, which re-runs the handler. Lock order: dmu, then libmicrohttpd's
 * own locks (MHD_suspend/resume_connection). */

static void heap_swap(adm_http_server_t *srv, size_t i, size_t j)
{
    adm_http_req_t *t = srv->heap[i];

    srv->heap[i] = srv->heap[j];
    srv->heap[j] = t;
}

static void heap_push(adm_http_server_t *srv, adm_http_req_t *req)
{
    size_t i = srv->n_heap++;

    srv->heap[i] = req;
    while (i > 0 && srv->heap[(i - 1) / 2]->deadline_ns > srv->heap[i]->deadline_ns) {
        heap_swap(srv, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static adm_http_req_t *heap_pop(adm_http_server_t *srv)
{
    adm_http_req_t *top = srv->heap[0];
    size_t i = 0;

    srv->heap[0] = srv->heap[--srv->n_heap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < srv->n_heap && srv->heap[l]->deadline_ns < srv->heap[m]->deadline_ns)
            m = l;
        if (r < srv->n_heap && srv->heap[r]->deadline_ns < srv->heap[m]->deadline_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(srv, i, m);
        i = m;
    }
    return top;
}

/* Resumes one popped request; it may complete (and be freed) at once. */
static void resume_locked(adm_http_server_t *srv, adm_http_req_t *req)
{
    struct MHD_Connection *conn = req->conn;

    atomic_fetch_sub(&srv->n_deferred, 1);
    MHD_resume_connection(conn);
}

/* Resumes every deferred request. */
static void resume_all(adm_http_server_t *srv)
{
    size_t i, n;

    if (atomic_load(&srv->n_deferred) == 0)
        return;
    pthread_mutex_lock(&srv->dmu);
    n = srv->n_heap;
    srv->n_heap = 0;
    for (i = 0; i < n; i++)
        resume_locked(srv, srv->heap[i]);
    pthread_mutex_unlock(&srv->dmu);
}

/* Suspends req's connection until its deadline or a wake. False when the
 * server is stopping (or, defensively, the heap is full): the caller
 * replies instead. Runs inside on_request, as libmicrohttpd requires. */
static bool defer_suspend(adm_http_req_t *req, bool *full)
{
    adm_http_server_t *srv = req->srv;
    bool ok = false;

    *full = false;
    pthread_mutex_lock(&srv->dmu);
    if (atomic_load(&srv->stopping))
        goto out;
    if (srv->n_heap >= srv->heap_cap) {
        *full = true;
        goto out;
    }
    req->deadline_ns = now_ns() + (uint64_t)req->defer_ms * 1000000ull;
    req->deferred_once = true;
    MHD_suspend_connection(req->conn);
    heap_push(srv, req);
    atomic_fetch_add(&srv->n_deferred, 1);
    if (srv->heap[0] == req)
        pthread_cond_signal(&srv->dcv); /* a new earliest deadline */
    ok = true;
out:
    pthread_mutex_unlock(&srv->dmu);
    return ok;
}

static void *timer_main(void *arg)
{
    adm_http_server_t *srv = arg;

    pthread_mutex_lock(&srv->dmu);
    while (!srv->timer_quit) {
        uint64_t now = now_ns();

        while (srv->n_heap > 0 && srv->heap[0]->deadline_ns <= now)
            resume_locked(srv, heap_pop(srv));
        if (srv->n_heap == 0) {
            pthread_cond_wait(&srv->dcv, &srv->dmu);
        } else {
            uint64_t d = srv->heap[0]->deadline_ns;
            struct timespec ts = {.tv_sec = (time_t)(d / 1000000000ull),
                                  .tv_nsec = (long)(d % 1000000000ull)};
            pthread_cond_timedwait(&srv->dcv, &srv->dmu, &ts);
        }
    }
    pthread_mutex_unlock(&srv->dmu);
    return NULL;
}

static void timer_stop(adm_http_server_t *srv)
{
    if (!srv->timer_running)
        return;
    pthread_mutex_lock(&srv->dmu);
    srv->timer_quit = true;
    pthread_cond_signal(&srv->dcv);
    pthread_mutex_unlock(&srv->dmu);
    pthread_join(srv->timer, NULL);
    srv->timer_running = false;
}

adm_err_t adm_http_defer(adm_http_req_t *req, unsigned ms)
{
    if (req->replied)
        return ADM_ERR_STATE;
    if (ms == 0 || ms > DEFER_MAX_MS)
        return ADM_ERR_INVALID_ARG;
    req->defer_ms = ms;
    return ADM_OK;
}

uint64_t adm_http_waited_ms(const adm_http_req_t *req)
{
    if (req->handler_ns == 0)
        return 0;
    return (now_ns() - req->handler_ns) / 1000000ull;
}

void adm_http_set_userdata(adm_http_req_t *req, void *p)
{
    req->userdata = p;
}

void *adm_http_userdata(const adm_http_req_t *req)
{
    return req->userdata;
}

adm_http_server_t *adm_http_req_server(adm_http_req_t *req)
{
    return req->srv;
}

void adm_http_server_wake(adm_http_server_t *srv)
{
    if (srv != NULL)
        resume_all(srv);
}

/* ====================================================================== */
/* gzip */

/* q-value of one Accept-Encoding element's parameters: false for q=0
 * (0, 0., 0.0, 0.00, 0.000), true otherwise. params points after the
 * coding name, n bytes. */
static bool q_nonzero(const char *params, size_t n)
{
    size_t i = 0;

    while (i < n) {
        while (i < n && (params[i] == ';' || params[i] == ' ' || params[i] == '\t'))
            i++;
        if (i + 1 < n && (params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=') {
            i += 2;
            if (i < n && params[i] == '0') {
                i++;
                if (i < n && params[i] == '.')
                    i++;
                while (i < n && params[i] == '0')
                    i++;
                while (i < n && (params[i] == ' ' || params[i] == '\t'))
                    i++;
                return !(i == n || params[i] == ';');
            }
            return true;
        }
        while (i < n && params[i] != ';')
            i++;
    }
    return true;
}

/* True when an Accept-Encoding value allows gzip: "gzip" (or "x-gzip")
 * with a non-zero q, or else "*" with a non-zero q. */
static bool accepts_gzip(const char *ae)
{
    int gzip = -1, star = -1; /* -1 absent, 0 refused, 1 accepted */
    const char *p = ae;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p), nlen;

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        nlen = strcspn(p, ";, \t");
        if (nlen > len)
            nlen = len;
        if ((nlen == 4 && strncasecmp(p, "gzip", 4) == 0) ||
            (nlen == 6 && strncasecmp(p, "x-gzip", 6) == 0))
            gzip = q_nonzero(p + nlen, len - nlen) ? 1 : (gzip == 1 ? 1 : 0);
        else if (nlen == 1 && p[0] == '*')
            star = q_nonzero(p + nlen, len - nlen) ? 1 : 0;
        p = end ? end + 1 : NULL;
    }
    return gzip >= 0 ? gzip == 1 : star == 1;
}

/* Media types that are compressed already. */
static bool compressed_type(const char *ctype)
{
    return ctype != NULL && strncasecmp(ctype, "image/", 6) == 0 &&
           strncasecmp(ctype, "image/svg", 9) != 0;
}

/* Replaces the reply body by its gzip when that is smaller. False when the
 * body stays as it is (compression failed or did not help). */
static bool gzip_reply(adm_http_req_t *req)
{
    z_stream zs;
    uLong bound;
    unsigned char *out = NULL;
    bool ok = false;

    if (req->rlen > UINT_MAX / 2)
        return false;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    bound = deflateBound(&zs, (uLong)req->rlen);
    if ((out = malloc(bound)) == NULL)
        goto out;
    zs.next_in = (Bytef *)req->rbody;
    zs.avail_in = (uInt)req->rlen;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END || zs.total_out >= req->rlen)
        goto out;
    if (req->rmem == ADM_HTTP_TAKE)
        free(req->rbody);
    req->rbody = out;
    req->rlen = zs.total_out;
    req->rmem = ADM_HTTP_TAKE;
    out = NULL;
    ok = true;
out:
    deflateEnd(&zs);
    free(out);
    return ok;
}

/* ====================================================================== */
/* libmicrohttpd callbacks */

static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    size_t i;

    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER";
}

static void access_log(adm_http_req_t *req, unsigned status, size_t bytes, const char *abort)
{
    struct logrec r;
    size_t plen = strlen(req->path);

    if (!req->srv->cfg.access_log || !log_enabled(ADM_LOG_INFO))
        return;
    rec_begin(&r);
    rec_cstr(&r, "method", req->method);
    rec_str(&r, "path", req->path, plen > LOG_PATH_MAX ? LOG_PATH_MAX : plen);
    rec_cstr(&r, "route", req->route_label);
    rec_uint(&r, "status", status);
    rec_uint(&r, "bytes", bytes);
    rec_uint(&r, "dur_us", (now_ns() - req->start_ns) / 1000);
    rec_cstr(&r, "ip", adm_http_client_ip(req));
    if (abort != NULL)
        rec_cstr(&r, "aborted", abort);
    rec_write(&r);
}

/* Counts the answered request and logs it; once per request. */
static void record(adm_http_req_t *req)
{
    adm_http_server_t *srv = req->srv;
    char status[12];
    const char *labels[3];

    if (req->recorded)
        return;
    req->recorded = true;
    snprintf(status, sizeof status, "%u", req->status);
    labels[0] = req->route_label;
    labels[1] = method_label(req->method);
    labels[2] = status;
    adm_counter_inc(srv->m_requests, labels);
    adm_histogram_observe(srv->m_duration, labels, (double)(now_ns() - req->start_ns) / 1e9);
    access_log(req, req->status, req->rlen, NULL);
}

/* True when the handler set response header name. */
static bool has_header(const adm_http_req_t *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Builds the response from the stored reply and queues it. */
static enum MHD_Result respond(adm_http_req_t *req, bool close)
{
    adm_http_server_t *srv = req->srv;
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;
    bool vary = false, gzipped = false;
    size_t i;

    if (!req->replied)
        reply_internal(req);
    /* large replies: Vary always, gzip when the client takes it (HEAD too,
     * so its headers match GET's) */
    if (req->rlen > GZIP_MIN && req->status >= 200 && req->status != 204 && req->status != 304 &&
        !compressed_type(req->ctype)) {
        const char *ae = adm_http_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        vary = true;
        if (ae != NULL && accepts_gzip(ae) && !has_header(req, MHD_HTTP_HEADER_CONTENT_ENCODING))
            gzipped = gzip_reply(req);
    }
    resp = MHD_create_response_from_buffer(req->rlen, req->rbody,
                                           req->rmem == ADM_HTTP_TAKE ? MHD_RESPMEM_MUST_FREE
                                                                      : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        adm_log(ADM_LOG_ERROR, "cannot create a response (out of memory?)");
        goto out;
    }
    if (req->rmem == ADM_HTTP_TAKE)
        req->rbody = NULL; /* libmicrohttpd frees it with the response */
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->ctype) != MHD_YES)
        goto out;
    for (i = 0; i < req->n_headers; i++)
        if (MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value) != MHD_YES)
            adm_log(ADM_LOG_WARN, "route %s: header %s refused", req->route_label,
                    req->headers[i].name);
    if (gzipped &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip") != MHD_YES)
        goto out;
    if (vary && !has_header(req, MHD_HTTP_HEADER_VARY))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (close || atomic_load(&srv->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(req->conn, req->status, resp);
    if (ret == MHD_YES) {
        req->queued = true;
        record(req);
    }
out:
    if (resp != NULL)
        MHD_destroy_response(resp);
    return ret;
}

static void reply_too_large(adm_http_req_t *req)
{
    adm_http_reply_error(req, 413, "body_too_large", "request body exceeds %zu bytes",
                         req->srv->cfg.max_body_bytes);
}

static void req_free(adm_http_req_t *req)
{
    if (req->rmem == ADM_HTTP_TAKE)
        free(req->rbody);
    json_decref(req->body_json);
    free(req->body);
    arena_release(&req->arena);
    free(req);
}

/* Appends upload data to the body, up to the limit. Past the limit the
 * buffer is dropped and later data is only counted. */
static void take_upload(adm_http_req_t *req, const char *data, size_t n)
{
    size_t max = req->srv->cfg.max_body_bytes;
    size_t need, cap;
    char *p;

    if (req->too_large || req->failed || req->route == NULL) {
        req->discarded += n;
        if (req->discarded > max)
            req->too_large = true; /* the limit holds for unrouted requests too */
        return;
    }
    if (n > max - req->body_len) {
        req->too_large = true;
        req->discarded += req->body_len + n;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return;
    }
    need = req->body_len + n + 1;
    if (need > req->body_cap) {
        if (req->body_cap == 0 && req->declared_len > 0 && req->declared_len <= max)
            cap = (size_t)req->declared_len + 1;
        else
            cap = req->body_cap ? req->body_cap * 2 : BODY_INITIAL;
        while (cap < need)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        p = realloc(req->body, cap);
        if (p == NULL) {
            req->failed = true;
            free(req->body);
            req->body = NULL;
            req->body_len = req->body_cap = 0;
            return;
        }
        req->body = p;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

static enum MHD_Result first_call(adm_http_req_t *req)
{
    const char *cl;
    uint64_t len = 0;

    route_lookup(req);
    cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && parse_u64(cl, &len))
        req->declared_len = len;
    if (req->declared_len > req->srv->cfg.max_body_bytes) {
        req->too_large = true;
        /* Up to DISCARD_FACTOR times the limit the body is read and dropped
         * and 413 goes out at the end (a lingering close: closing with
         * unread input would make the kernel send a reset that destroys the
         * 413 before the client reads it). Beyond that, refuse at once,
         * before any 100 Continue, and let libmicrohttpd close. */
        if (req->declared_len / DISCARD_FACTOR > req->srv->cfg.max_body_bytes + 65536) {
            reply_too_large(req);
            return respond(req, true);
        }
    }
    return MHD_YES;
}

/* 503 for a deferred request the server will not resume any more. */
static void shutting_down(adm_http_req_t *req)
{
    (void)adm_http_set_header(req, "Retry-After", "1");
    adm_http_reply_error(req, 503, "shutting_down", "the server is shutting down; retry");
}

static enum MHD_Result last_call(adm_http_req_t *req)
{
    if (req->too_large) {
        reply_too_large(req);
        return respond(req, true);
    }
    if (req->failed) {
        reply_internal(req);
        return respond(req, true);
    }
    if (req->route == NULL) {
        if (req->allow != NULL) {
            adm_http_set_header(req, "Allow", req->allow);
            adm_http_reply_error(req, 405, "method_not_allowed",
                                 "method %.16s is not allowed here; use %s", req->method,
                                 req->allow);
        } else {
            adm_http_reply_error(req, 404, "not_found", "no such resource");
        }
        return respond(req, false);
    }
    if (req->deferred_once && atomic_load(&req->srv->stopping)) {
        shutting_down(req);
        return respond(req, true);
    }
    if (req->handler_ns == 0)
        req->handler_ns = now_ns();
    req->defer_ms = 0;
    req->route->fn(req, req->route->ctx);
    if (!req->replied && req->defer_ms > 0) {
        bool full;
        if (defer_suspend(req, &full))
            return MHD_YES; /* on_request runs again when resumed */
        if (full) {
            (void)adm_http_set_header(req, "Retry-After", "1");
            adm_http_reply_error(req, 503, "busy", "too many requests are waiting; retry");
        } else {
            shutting_down(req);
        }
        return respond(req, true);
    }
    if (!req->replied) {
        adm_log(ADM_LOG_ERROR, "route %s returned without replying", req->route_label);
        reply_internal(req);
    }
    return respond(req, false);
}

static adm_http_req_t *req_new(adm_http_server_t *srv, struct MHD_Connection *conn, const char *url,
                               const char *method)
{
    adm_http_req_t *req = malloc(sizeof *req);

    if (req == NULL)
        return NULL;
    memset(req, 0, offsetof(adm_http_req_t, arena));
    req->srv = srv;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->route_label = "unmatched";
    req->start_ns = now_ns();
    req->rmem = ADM_HTTP_STATIC;
    arena_init(&req->arena, srv->cfg.arena_max_bytes, req->arena_first, sizeof req->arena_first);
    return req;
}

/* Called by libmicrohttpd: once with the headers (*con_cls == NULL), then
 * once per chunk of body, then once with *upload_data_size == 0. The reply
 * is queued on that last call, never on the first (libmicrohttpd would
 * answer Connection: close), except for an oversized Content-Length. */
/* New connections are refused (closed at once) while the server stops. This
 * is how a stop stops accepting: MHD_quiesce_daemon() races with the pool
 * threads of an epoll daemon in libmicrohttpd 0.9.75 (both remove the
 * listening socket from a worker's epoll set; the loser panics). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    adm_http_server_t *srv = cls;

    (void)addr;
    (void)addrlen;
    return atomic_load(&srv->stopping) ? MHD_NO : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    adm_http_server_t *srv = cls;
    adm_http_req_t *req = *con_cls;

    if (req == NULL) {
        req = req_new(srv, conn, url, method);
        if (req == NULL)
            return MHD_NO; /* out of memory: libmicrohttpd drops the connection */
        *con_cls = req;
        atomic_fetch_add(&srv->active, 1);
        return first_call(req);
    }
    if (*upload_data_size > 0) {
        take_upload(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* A chunked body past the limit: libmicrohttpd 0.9.75 refuses
         * MHD_queue_response in the middle of a body, so what follows is
         * dropped unbuffered and 413 goes out at the end; a client still
         * sending beyond DISCARD_FACTOR times the limit loses the
         * connection instead. */
        if (req->too_large && req->discarded / DISCARD_FACTOR > srv->cfg.max_body_bytes + 65536)
            return MHD_NO;
        return MHD_YES;
    }
    if (req->queued)
        return MHD_YES;
    return last_call(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    adm_http_server_t *srv = cls;
    adm_http_req_t *req = *con_cls;

    if (req == NULL)
        return;
    if (!req->recorded) {
        static const char *const why[] = {
            [MHD_REQUEST_TERMINATED_COMPLETED_OK] = "ok",
            [MHD_REQUEST_TERMINATED_WITH_ERROR] = "error",
            [MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = "timeout",
            [MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = "shutdown",
            [MHD_REQUEST_TERMINATED_READ_ERROR] = "read_error",
            [MHD_REQUEST_TERMINATED_CLIENT_ABORT] = "client_abort",
        };
        access_log(req, 0, 0,
                   (unsigned)toe < sizeof why / sizeof why[0] && why[toe] ? why[toe] : "other");
    }
    *con_cls = NULL;
    req_free(req);
    atomic_fetch_sub(&srv->active, 1);
}

/* ====================================================================== */
/* Built-in routes */

static void handle_healthz(adm_http_req_t *req, void *ctx)
{
    adm_http_reply_bytes(req, 200, "application/json", body_healthz, sizeof body_healthz - 1,
                         ADM_HTTP_STATIC);
}

static void handle_readyz(adm_http_req_t *req, void *ctx)
{
    adm_http_server_t *srv = ctx;

    if (atomic_load(&srv->stopping))
        adm_http_reply_error(req, 503, "not_ready", "server is shutting down");
    else if (srv->ready != NULL && !srv->ready(srv->ready_ctx))
        adm_http_reply_error(req, 503, "not_ready", "a dependency (the store) is not ready");
    else
        adm_http_reply_bytes(req, 200, "application/json", body_ready, sizeof body_ready - 1,
                             ADM_HTTP_STATIC);
}

static void handle_metrics(adm_http_req_t *req, void *ctx)
{
    adm_http_server_t *srv = ctx;
    char *text = NULL;
    size_t len = 0;
    adm_err_t err = adm_metrics_render(srv->metrics, &text, &len);

    if (err != ADM_OK) {
        adm_http_reply_error(req, 500, "internal", "cannot render metrics: %s", adm_strerror(err));
        return;
    }
    adm_http_reply_bytes(req, 200, ADM_METRICS_CONTENT_TYPE, text, len, ADM_HTTP_TAKE);
}

adm_err_t adm_http_add_builtin_routes(adm_http_server_t *srv, adm_http_ready_fn ready,
                                      void *ready_ctx)
{
    adm_err_t result = ADM_OK;

    if (srv == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    srv->ready = ready;
    srv->ready_ctx = ready_ctx;
    result = adm_http_route(srv, "GET", "/healthz", handle_healthz, srv, "healthz");
    if (result != ADM_OK)
        goto out;
    result = adm_http_route(srv, "GET", "/readyz", handle_readyz, srv, "readyz");
    if (result != ADM_OK)
        goto out;
    result = adm_http_route(srv, "GET", "/metrics", handle_metrics, srv, "metrics");
out:
    return result;
}

/* ====================================================================== */
/* Server */

void adm_http_server_config_init(adm_http_server_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen_addr = "127.0.0.1";
    cfg->port = 8080;
    cfg->threads = 2;
    cfg->max_connections = 1024;
    cfg->connection_timeout_s = 30;
    cfg->max_body_bytes = ADM_HTTP_DEFAULT_BODY_MAX;
    cfg->arena_max_bytes = ADM_HTTP_DEFAULT_ARENA_MAX;
    cfg->shutdown_timeout_ms = 10000;
    cfg->access_log = true;
    cfg->metrics = NULL;
}

/* The deferral heap (one slot per possible connection) and its lock and
 * condition variable (on CLOCK_MONOTONIC, like now_ns()). */
static adm_err_t deferral_init(adm_http_server_t *srv)
{
    adm_err_t result = ADM_ERR_NOMEM;
    pthread_condattr_t ca;
    bool ca_init = false, mu_init = false;

    srv->heap_cap = srv->cfg.max_connections;
    if ((srv->heap = calloc(srv->heap_cap, sizeof *srv->heap)) == NULL)
        goto out;
    if (pthread_condattr_init(&ca) != 0)
        goto out;
    ca_init = true;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_mutex_init(&srv->dmu, NULL) != 0)
        goto out;
    mu_init = true;
    if (pthread_cond_init(&srv->dcv, &ca) != 0)
        goto out;
    srv->sync_init = true;
    result = ADM_OK;
out:
    if (result != ADM_OK && mu_init)
        pthread_mutex_destroy(&srv->dmu);
    if (ca_init)
        pthread_condattr_destroy(&ca);
    return result;
}

adm_err_t adm_http_server_new(const adm_http_server_config_t *cfg, adm_http_server_t **out)
{
    static const char *const req_labels[] = {"route", "method", "status"};
    static const char *const dur_labels[] = {"route"};
    adm_err_t result = ADM_OK;
    adm_http_server_t *srv = NULL;

    *out = NULL;
    if (cfg == NULL || cfg->threads == 0 || cfg->max_connections == 0 || cfg->max_body_bytes == 0 ||
        cfg->max_body_bytes > SIZE_MAX / 4 || cfg->arena_max_bytes < REQ_ARENA_INLINE ||
        (cfg->listen_addr != NULL && strlen(cfg->listen_addr) >= ADDR_MAX)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    srv->cfg = *cfg;
    srv->cfg.trusted_proxies = NULL; /* parsed below; the text is not kept */
    for (const char *p = cfg->trusted_proxies; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (srv->n_proxies == ADM_HTTP_MAX_PROXIES ||
            !parse_ip(p, n, &srv->proxies[srv->n_proxies++])) {
            result = ADM_ERR_INVALID_ARG;
            goto out;
        }
        p = comma ? comma + 1 : p + n;
    }
    snprintf(srv->listen_addr, sizeof srv->listen_addr, "%s",
             cfg->listen_addr ? cfg->listen_addr : "127.0.0.1");
    srv->cfg.listen_addr = srv->listen_addr;
    atomic_init(&srv->active, 0);
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->n_deferred, 0);
    result = deferral_init(srv);
    if (result != ADM_OK)
        goto out;
    srv->metrics = cfg->metrics;
    if (srv->metrics == NULL) {
        result = adm_metrics_new(&srv->metrics);
        if (result != ADM_OK)
            goto out;
        srv->own_metrics = true;
    }
    result = adm_metrics_counter(srv->metrics, "admit_http_requests_total",
                                 "HTTP requests answered, by route, method and status.", 3,
                                 req_labels, &srv->m_requests);
    if (result != ADM_OK)
        goto out;
    result = adm_metrics_histogram(srv->metrics, "admit_http_request_duration_seconds",
                                   "Time from request headers to queued reply, by route.", 1,
                                   dur_labels, ADM_METRICS_LATENCY_BUCKETS,
                                   ADM_METRICS_LATENCY_N_BUCKETS, &srv->m_duration);
    if (result != ADM_OK)
        goto out;
    *out = srv;
    srv = NULL;
out:
    adm_http_server_free(srv);
    return result;
}

/* Binds a listening socket for srv's address and port (so errors carry
 * errno, and port 0 works). Returns the fd or -1 with errbuf filled. */
static int bind_listener(adm_http_server_t *srv, int *family, char *errbuf, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    const char *host = srv->listen_addr;
    int fd = -1, one = 1, rc;
    bool v6 = strchr(host, ':') != NULL;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)srv->cfg.port);
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        (void)adm_err_detail(ADM_OK, errbuf, errlen, "cannot listen on %s%s%s:%u: %s",
                             v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)srv->cfg.port,
                             rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        goto out;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto fail;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        goto fail;
    if (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one))
        goto fail;
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0)
        goto fail;
    *family = res->ai_family;
    goto out;
fail:
    (void)adm_err_detail(ADM_OK, errbuf, errlen, "cannot listen on %s%s%s:%u: %s", v6 ? "[" : "",
                         host, v6 ? "]" : "", (unsigned)srv->cfg.port, strerror(errno));
    if (fd >= 0)
        close(fd);
    fd = -1;
out:
    if (res != NULL)
        freeaddrinfo(res);
    return fd;
}

adm_err_t adm_http_server_start(adm_http_server_t *srv, char *errbuf, size_t errlen)
{
    adm_err_t result = ADM_OK;
    const union MHD_DaemonInfo *info;
    /* ITC: so that a resumed connection is processed at once */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    int fd = -1, mhd_fd = -1, family = AF_INET;

    if (srv == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (srv->started) {
        (void)adm_err_detail(ADM_OK, errbuf, errlen, "server already started");
        result = ADM_ERR_STATE;
        goto out;
    }
    fd = bind_listener(srv, &family, errbuf, errlen);
    if (fd < 0) {
        result = ADM_ERR_LISTEN;
        goto out;
    }
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* libmicrohttpd gets its own descriptor for the socket: whatever it does
     * with it on a failed start, ours is closed exactly once below. */
    mhd_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (mhd_fd < 0) {
        (void)adm_err_detail(ADM_OK, errbuf, errlen, "cannot listen: %s", strerror(errno));
        result = ADM_ERR_LISTEN;
        goto out;
    }
    atomic_store(&srv->stopping, false);
    /* the logger goes first so that every later option's complaints reach it */
    srv->daemon =
        MHD_start_daemon(flags, 0, on_accept, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                         mhd_logger, srv, MHD_OPTION_LISTEN_SOCKET, mhd_fd,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)srv->cfg.threads,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv->cfg.max_connections,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)srv->cfg.connection_timeout_s,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        (void)adm_err_detail(ADM_OK, errbuf, errlen,
                             "libmicrohttpd could not start on %s:%u (see the log above)",
                             srv->listen_addr, (unsigned)srv->cfg.port);
        result = ADM_ERR_LISTEN;
        goto out;
    }
    srv->timer_quit = false;
    if (pthread_create(&srv->timer, NULL, timer_main, srv) != 0) {
        (void)adm_err_detail(ADM_OK, errbuf, errlen, "cannot start the long-poll timer thread");
        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
        result = ADM_ERR_LISTEN;
        goto out;
    }
    srv->timer_running = true;
    srv->started = true;
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : 0;
    if (srv->port == 0) {
        union {
            struct sockaddr sa;
            struct sockaddr_in in;
            struct sockaddr_in6 in6;
        } addr;
        socklen_t sl = sizeof addr;
        memset(&addr, 0, sizeof addr);
        if (getsockname(fd, &addr.sa, &sl) == 0)
            srv->port =
                ntohs(addr.sa.sa_family == AF_INET6 ? addr.in6.sin6_port : addr.in.sin_port);
    }
out:
    if (fd >= 0)
        close(fd); /* libmicrohttpd holds mhd_fd now (or failed with it) */
    return result;
}

uint16_t adm_http_server_port(const adm_http_server_t *srv)
{
    return srv->port;
}

adm_metrics_t *adm_http_server_metrics(adm_http_server_t *srv)
{
    return srv->metrics;
}

unsigned adm_http_server_active(const adm_http_server_t *srv)
{
    return atomic_load(&srv->active);
}

adm_err_t adm_http_server_stop(adm_http_server_t *srv)
{
    adm_err_t result = ADM_OK;
    uint64_t deadline;

    if (srv == NULL || srv->daemon == NULL)
        goto out;
    atomic_store(&srv->stopping, true); /* on_accept() refuses new connections from now */
    /* deferred requests come back and get 503; no new ones are suspended
     * (defer_suspend checks stopping under the same lock) */
    resume_all(srv);
    deadline = now_ns() + (uint64_t)srv->cfg.shutdown_timeout_ms * 1000000ull;
    while (atomic_load(&srv->active) > 0 && now_ns() < deadline) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&srv->active) > 0) {
        adm_log(ADM_LOG_WARN, "%u request(s) still running after %u ms; closing them",
                atomic_load(&srv->active), srv->cfg.shutdown_timeout_ms);
        result = ADM_ERR_HTTP_SHUTDOWN_TIMEOUT;
    }
    resume_all(srv); /* libmicrohttpd must not be stopped with suspended connections */
    timer_stop(srv);
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    srv->started = false;
out:
    return result;
}

void adm_http_server_free(adm_http_server_t *srv)
{
    if (srv == NULL)
        return;
    adm_http_server_stop(srv);
    if (srv->own_metrics)
        adm_metrics_free(srv->metrics);
    if (srv->sync_init) {
        pthread_cond_destroy(&srv->dcv);
        pthread_mutex_destroy(&srv->dmu);
    }
    free(srv->heap);
    free(srv);
}
