/* http.h: admitd's HTTP layer on libmicrohttpd: server lifecycle, a router
 * with {param} patterns, request accessors, JSON replies and errors, a
 * per-request arena, access logging and request metrics. Not for business
 * logic: route handlers live in route-*.c and call the store themselves. */
#ifndef ADM_HTTP_H
#define ADM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/metrics.h"
#include "sync/err.h"

#define ADM_HTTP_MAX_ROUTES 128               /* routes per server */
#define ADM_HTTP_MAX_SEGMENTS 16              /* path segments in a pattern or a request */
#define ADM_HTTP_MAX_PARAMS 8                 /* {params} per pattern */
#define ADM_HTTP_PATTERN_MAX 256              /* pattern length, including the NUL */
#define ADM_HTTP_ROUTE_NAME_MAX 48            /* route name (metrics label), including the NUL */
#define ADM_HTTP_MAX_HEADERS 16               /* extra response headers per request */
#define ADM_HTTP_ERROR_MESSAGE_MAX 512        /* longer error messages are truncated */
#define ADM_HTTP_DEFAULT_BODY_MAX (1u << 20)  /* request body limit, bytes */
#define ADM_HTTP_DEFAULT_ARENA_MAX (1u << 20) /* per-request arena limit, bytes */
#define ADM_HTTP_LOG_LINE_MAX 2048            /* one log line, bytes; longer lines are cut */
#define ADM_HTTP_MAX_PROXIES 16               /* trusted reverse proxies */

/* ------------------------------------------------------------------ */
/* Logging: one line per event on a file descriptor (stderr by default), each
 * written with a single write() so lines from different threads never
 * interleave. Formats: logfmt (key=value) or JSON (one object per line). */

typedef enum adm_log_level {
    ADM_LOG_DEBUG = 0,
    ADM_LOG_INFO = 1,
    ADM_LOG_WARN = 2,
    ADM_LOG_ERROR = 3,
    ADM_LOG_OFF = 4,
} adm_log_level_t;

typedef enum adm_log_format {
    ADM_LOG_LOGFMT = 0,
    ADM_LOG_JSON = 1,
} adm_log_format_t;

/* Sets the process-wide log format, minimum level and file descriptor
 * (borrowed; -1 discards everything). Defaults: logfmt, info, 2. Call
 * before starting threads that log. */
void adm_log_setup(adm_log_format_t format, adm_log_level_t level, int fd);

/* Logs msg (printf format) at level with ts= and level= fields. Never fails
 * visibly: lines longer than ADM_HTTP_LOG_LINE_MAX are cut. Thread-safe. */
void adm_log(adm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* Arena: a bump allocator in chunks with a hard cap, for memory that lives
 * as long as one request. Nothing is freed individually. Not thread-safe
 * (a request's arena belongs to the thread running its handler). */

typedef struct adm_arena adm_arena_t;

/* Creates an arena that hands out at most max_bytes in total (chunk
 * overhead included) into *out; free with adm_arena_free(). ADM_ERR_NOMEM. */
adm_err_t adm_arena_new(size_t max_bytes, adm_arena_t **out);

/* Frees every chunk and the arena itself. NULL is accepted. Do not call on
 * adm_http_arena(req): the server frees that one when the request ends. */
void adm_arena_free(adm_arena_t *a);

/* Returns n bytes aligned to 16, owned by the arena; NULL when the cap
 * would be exceeded or memory runs out. n == 0 returns a valid pointer. */
void *adm_arena_alloc(adm_arena_t *a, size_t n);

/* Arena copies of a string / of at most n bytes of it / of a printf
 * result, NUL-terminated; NULL on cap or memory exhaustion. */
char *adm_arena_strdup(adm_arena_t *a, const char *s);
char *adm_arena_strndup(adm_arena_t *a, const char *s, size_t n);
char *adm_arena_printf(adm_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes the arena holds (chunk sizes, not bytes handed out). */
size_t adm_arena_size(const adm_arena_t *a);

/* ------------------------------------------------------------------ */
/* Requests. A handler runs on one of the server's pool threads once the
 * whole request (headers and body) has arrived, and must reply exactly once
 * with one of the adm_http_reply_* functions before returning: the reply is
 * sent after the handler returns. A handler that returns without replying
 * produces 500 {"error":"internal"}; a second reply is ignored and logged.
 * Every string a request accessor returns lives until the request ends. */

typedef struct adm_http_req adm_http_req_t;
typedef struct adm_http_server adm_http_server_t;

typedef void (*adm_http_handler_fn)(adm_http_req_t *req, void *ctx);

/* Request line: method ("GET"), decoded path without the query string, and
 * the name the matched route was registered with. */
const char *adm_http_method(const adm_http_req_t *req);
const char *adm_http_path(const adm_http_req_t *req);
const char *adm_http_route_name(const adm_http_req_t *req);

/* Value of the {name} path parameter, NULL when the pattern has none. */
const char *adm_http_param(const adm_http_req_t *req, const char *name);

/* Parses path parameter name as a decimal integer in 1..UINT64_MAX into
 * *out. On failure replies 400 {"error":"bad_param"} and returns false, so a
 * handler just returns. */
bool adm_http_param_u64(adm_http_req_t *req, const char *name, uint64_t *out);

/* Value of query argument name (decoded), NULL when absent. */
const char *adm_http_query(const adm_http_req_t *req, const char *name);

/* Parses query argument name as a decimal integer in min..max into *out,
 * or sets *out = def when it is absent. On failure replies 400
 * {"error":"bad_query"} and returns false. */
bool adm_http_query_int(adm_http_req_t *req, const char *name, long long def, long long min,
                        long long max, long long *out);

/* Value of request header name (case-insensitive), NULL when absent. */
const char *adm_http_header(const adm_http_req_t *req, const char *name);

/* Client address as text ("127.0.0.1", "::1"), "-" when unknown. When the
 * peer is a trusted proxy (adm_http_server_config_t.trusted_proxies), the
 * client is the rightmost X-Forwarded-For entry that is not a trusted proxy
 * (entries left of it could be forged by the client); an entry that is not
 * an IP address stops the walk and the last trusted hop is used. */
const char *adm_http_client_ip(adm_http_req_t *req);

/* The request body (NUL-terminated for convenience; *len excludes the
 * NUL); "" with *len == 0 when there is none. Owned by the request. */
const char *adm_http_body(const adm_http_req_t *req, size_t *len);

/* Parses the body as JSON. Returns a BORROWED reference owned by the
 * request (released when it ends; json_incref to keep it), or NULL after
 * replying itself: 415 {"error":"unsupported_media_type"} when Content-Type
 * is present and not application/json (or +json), 400 {"error":"bad_json"}
 * for an empty or malformed body (the message says where). Usage:
 *     json_t *in = adm_http_body_json(req);
 *     if (in == NULL) return; */
json_t *adm_http_body_json(adm_http_req_t *req);

/* Reads obj[key] as a string / integer in min..max. A missing key gives
 * *out = NULL / leaves *out unchanged when !required. On a wrong type, out
 * of range, or a missing required key (or obj not an object): replies 400
 * {"error":"bad_field"} naming the key and returns false. */
bool adm_http_json_string(adm_http_req_t *req, const json_t *obj, const char *key, bool required,
                          const char **out);
bool adm_http_json_int(adm_http_req_t *req, const json_t *obj, const char *key, bool required,
                       json_int_t min, json_int_t max, json_int_t *out);

/* The request's arena (freed by the server when the request ends). */
adm_arena_t *adm_http_arena(adm_http_req_t *req);

/* Adds a response header (name and value copied). May be called before or
 * after the reply. ADM_ERR_TOO_BIG beyond ADM_HTTP_MAX_HEADERS, ADM_ERR_NOMEM,
 * ADM_ERR_INVALID_ARG for CR/LF in name or value. */
adm_err_t adm_http_set_header(adm_http_req_t *req, const char *name, const char *value);

/* Replies with status and body serialised as compact JSON
 * (application/json). Takes ownership of body (NULL, e.g. from a failed
 * json_pack, becomes 500 {"error":"internal"}). */
void adm_http_reply_json(adm_http_req_t *req, unsigned status, json_t *body);

/* Replies with status and {"error":code,"message":<printf of fmt>}. code
 * is a stable snake_case machine name; the message is for humans. */
void adm_http_reply_error(adm_http_req_t *req, unsigned status, const char *code, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

/* How adm_http_reply_bytes treats its buffer. */
typedef enum adm_http_mem {
    ADM_HTTP_COPY = 0,   /* copied before the call returns */
    ADM_HTTP_TAKE = 1,   /* ownership taken: released with free() after sending */
    ADM_HTTP_STATIC = 2, /* outlives the server (a string literal) */
} adm_http_mem_t;

/* Replies with len bytes of content_type (copied). */
void adm_http_reply_bytes(adm_http_req_t *req, unsigned status, const char *content_type,
                          const void *bytes, size_t len, adm_http_mem_t mem);

/* True once the handler has replied. */
bool adm_http_replied(const adm_http_req_t *req);

/* Long-poll. Instead of replying, a handler may call adm_http_defer(req, ms)
 * and return: the connection is suspended (no pool thread waits for it)
 * and the handler is called again with the same request (same arena,
 * accessors and body) after adm_http_server_wake() or ms milliseconds,
 * whichever comes first. It may then reply or defer again. Deferred
 * requests are resumed with a reply of 503 {"error":"shutting_down"}
 * (Retry-After: 1) when the server stops, without calling the handler.
 * A request deferred when the server is stopping gets that reply at once.
 * ADM_ERR_STATE after a reply, ADM_ERR_INVALID_ARG for ms 0 or over 60000. */
adm_err_t adm_http_defer(adm_http_req_t *req, unsigned ms);

/* Milliseconds since the handler was first called for this request. */
uint64_t adm_http_waited_ms(const adm_http_req_t *req);

/* A handler's own pointer that survives deferrals (NULL on the first
 * call), e.g. arena memory with what the first call parsed. Borrowed: the
 * server never frees it. */
void adm_http_set_userdata(adm_http_req_t *req, void *p);
void *adm_http_userdata(const adm_http_req_t *req);

/* The server running the request (to wake it from a handler). */
adm_http_server_t *adm_http_req_server(adm_http_req_t *req);

/* Resumes every deferred request now (something they may wait for
 * happened). Thread-safe, cheap when nothing waits. */
void adm_http_server_wake(adm_http_server_t *srv);

/* Replies larger than 1 KiB are sent gzip-compressed (Content-Encoding:
 * gzip, Vary: Accept-Encoding) when the request's Accept-Encoding allows
 * gzip ("gzip" or "*" without q=0), unless the handler set its own
 * Content-Encoding, the media type is an already compressed image, or
 * compression does not make it smaller. HEAD gets the same headers as GET.
 * Every reply over 1 KiB carries Vary: Accept-Encoding. */

/* ------------------------------------------------------------------ */
/* Server. */

typedef struct adm_http_server_config {
    const char *listen_addr;       /* IPv4/IPv6 address or host name (copied) */
    uint16_t port;                 /* 0 = an ephemeral port, see adm_http_server_port() */
    unsigned threads;              /* libmicrohttpd pool threads, >= 1 */
    unsigned max_connections;      /* concurrent connections */
    unsigned connection_timeout_s; /* idle connections are closed after this */
    size_t max_body_bytes;         /* larger bodies get 413 */
    size_t arena_max_bytes;        /* per-request arena cap */
    unsigned shutdown_timeout_ms;  /* adm_http_server_stop() waits this long for requests */
    bool access_log;               /* one log line per request (at info level) */
    adm_metrics_t *metrics;        /* borrowed; NULL = the server makes its own */
    const char *trusted_proxies;   /* comma-separated IPv4/IPv6 addresses of reverse proxies
                                    * whose X-Forwarded-For is believed (copied); NULL or ""
                                    * = none, at most ADM_HTTP_MAX_PROXIES */
} adm_http_server_config_t;

/* Fills cfg with defaults: 127.0.0.1:8080, 2 threads, 1024 connections,
 * 30 s idle timeout, 1 MiB bodies and arenas, 10 s shutdown, access log on. */
void adm_http_server_config_init(adm_http_server_config_t *cfg);

/* Creates a stopped server in *out; free with adm_http_server_free().
 * Registers admit_http_requests_total and
 * admit_http_request_duration_seconds in the metrics registry.
 * ADM_ERR_INVALID_ARG for a zero thread count or limit, or a trusted proxy
 * that is not an IP address (or more than ADM_HTTP_MAX_PROXIES),
 * ADM_ERR_NOMEM. */
adm_err_t adm_http_server_new(const adm_http_server_config_t *cfg, adm_http_server_t **out);

/* Registers handler for method ("GET", "POST", ...) on pattern, a path
 * whose segments are literals or {name} parameters, e.g.
 * "/v1/events/{id}/ticket-types". name labels the route in metrics and logs
 * ("events.types"). ctx is passed to the handler (borrowed). Literal
 * segments win over parameters; HEAD is served by GET routes. Only before
 * adm_http_server_start(). ADM_ERR_INVALID_ARG for a malformed pattern,
 * ADM_ERR_EXISTS for a duplicate method + pattern shape, ADM_ERR_TOO_BIG
 * beyond ADM_HTTP_MAX_ROUTES, ADM_ERR_STATE once started. */
adm_err_t adm_http_route(adm_http_server_t *srv, const char *method, const char *pattern,
                         adm_http_handler_fn handler, void *ctx, const char *name);

/* Readiness check for GET /readyz; return true when ready to serve. Runs on
 * a pool thread, concurrently with requests. */
typedef bool (*adm_http_ready_fn)(void *ctx);

/* Registers GET /healthz (200 {"status":"ok"} while the process runs),
 * GET /readyz (200 {"status":"ready"} when ready(ctx) says so and the
 * server is not stopping, else 503 {"error":"not_ready"}; ready NULL means
 * always ready) and GET /metrics (Prometheus text format). */
adm_err_t adm_http_add_builtin_routes(adm_http_server_t *srv, adm_http_ready_fn ready,
                                      void *ready_ctx);

/* Binds and starts serving. ADM_ERR_LISTEN when the address cannot be
 * resolved or bound (errbuf says why, e.g. "cannot listen on
 * 127.0.0.1:8080: Address already in use") or libmicrohttpd fails to
 * start; ADM_ERR_STATE when already started. */
adm_err_t adm_http_server_start(adm_http_server_t *srv, char *errbuf, size_t errlen);

/* The bound port (useful after port 0), 0 before start. */
uint16_t adm_http_server_port(const adm_http_server_t *srv);

/* The metrics registry the server records into (borrowed). */
adm_metrics_t *adm_http_server_metrics(adm_http_server_t *srv);

/* Requests currently being processed (for tests and shutdown). */
unsigned adm_http_server_active(const adm_http_server_t *srv);

/* Graceful stop: stops accepting connections, lets requests in flight
 * finish (replies during the drain carry Connection: close; /readyz says
 * 503) for up to shutdown_timeout_ms, then closes every connection.
 * ADM_ERR_HTTP_SHUTDOWN_TIMEOUT when requests were still running at the
 * deadline (the server is stopped anyway). A stopped server returns ADM_OK. */
adm_err_t adm_http_server_stop(adm_http_server_t *srv);

/* Stops the server if running and frees it. NULL is accepted. */
void adm_http_server_free(adm_http_server_t *srv);

#endif
