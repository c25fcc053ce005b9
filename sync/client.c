/* client.c: the sync client of client.h on libcurl (docs/sync.md): one easy
 * handle per client for keep-alive, bounded reply bodies, error mapping, the
 * enrollment URI, the feed page validator (§2) and retry backoff (§6).
 * Not the stores that apply pages, and no retry loop: callers own both. */
#include "sync/client.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "sync/checkin.h"
#include "sync/keyring.h"

#define CONNECT_TIMEOUT_DEFAULT_MS 5000L
#define TIMEOUT_DEFAULT_MS 30000L
#define EXTRA_TIMEOUT_MAX_MS (24L * 3600L * 1000L)
#define PATH_MAX_BYTES 1024            /* request path with query */
#define BODY_INITIAL_CAP (16u * 1024u) /* receive buffer start */
#define BODY_KEEP_CAP (1u << 20)       /* larger buffers are freed after a request */
#define ENROLL_PREFIX "admit-enroll:"
#define ABORT_POLL_MS 100 /* how often a running request looks at the abort flag */

/* Page bounds (docs/sync.md §2 and the store's limits in docs/store.md). */
#define PAGE_FORMAT "admit-sync"
#define PAGE_VERSION 1
#define PAGE_ROWS_MAX 5000     /* limit's maximum: rows of one kind per page */
#define PAGE_TYPES_MAX 100     /* ticket types per event */
#define PAGE_LISTS_MAX 1000    /* check-in lists per event */
#define PAGE_LIST_GATES_MAX 16 /* gates per check-in list */
#define PAGE_NAME_MAX 100      /* ticket type and list names, bytes */
#define PAGE_TITLE_MAX 200     /* event title, bytes */
#define PAGE_REASON_MAX 32     /* revocation reason, [a-z0-9_] */
#define PAGE_NONCE_LEN 32      /* lower-case hex */
#define PAGE_KIND_MAX 16       /* device kind */

struct adm_sync_client {
    CURLM *multi; /* owns the connection cache: connections outlive a request */
    CURL *curl;
    const volatile int *abort_flag;
    char base[ADM_SYNC_URL_MAX + 1];
    char device_id[ADM_SYNC_DEVICE_ID_MAX + 1];
    char secret[ADM_SYNC_TOKEN_MAX + 1];
    long connect_timeout_ms;
    long timeout_ms;
    long status;
    char error[ADM_SYNC_ERROR_MAX];
    char curl_error[CURL_ERROR_SIZE];
    /* reply body of the current request, at most ADM_SYNC_REPLY_MAX bytes */
    char *body;
    size_t len;
    size_t cap;
    bool too_big;
    bool nomem;
};

/* ---- global init ---------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small validators ------------------------------------------------------ */

static bool is_b64url(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* 1..max base64url characters (enrollment tokens, device secrets, device ids). */
static bool is_b64url_text(const char *s, size_t len, size_t max)
{
    size_t i;

    if (s == NULL || len == 0 || len > max)
        return false;
    for (i = 0; i < len; i++)
        if (!is_b64url(s[i]))
            return false;
    return true;
}

/* A base URL s[0..len): "http[s]://" then a non-empty host part, printable
 * ASCII without spaces, '#', '?' or '@' (no credentials). *out_len gets len
 * without trailing '/'. */
static bool check_base(const char *s, size_t len, bool allow_http, size_t *out_len)
{
    size_t skip;
    size_t i;

    if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (allow_http && len >= 7 && strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    while (len > skip && s[len - 1] == '/')
        len--;
    if (len == skip || s[skip] == '/' || s[skip] == ':')
        return false;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '#' || ch == '?' || ch == '\\' || ch == '@')
            return false;
    }
    *out_len = len;
    return true;
}

/* "sha256//<44 base64>" pins joined by ';'. */
static bool check_pin(const char *pin)
{
    const char *p = pin;

    if (strlen(pin) > ADM_SYNC_PIN_MAX)
        return false;
    for (;;) {
        size_t n = 0;
        if (strncmp(p, "sha256//", 8) != 0)
            return false;
        p += 8;
        while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') ||
               (p[n] >= '0' && p[n] <= '9') || p[n] == '+' || p[n] == '/' || p[n] == '=')
            n++;
        if (n != 44)
            return false;
        p += n;
        if (*p == '\0')
            return true;
        if (*p != ';')
            return false;
        p++;
    }
}

/* Copies src[0..len) into dst (cap bytes) with a NUL; false if it does not fit. */
static bool copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    if (dst == NULL || cap == 0 || len >= cap)
        return false;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

static void clear_text(char *dst, size_t cap)
{
    if (dst != NULL && cap > 0)
        memset(dst, 0, cap);
}

/* ---- client ------------------------------------------------------------------ */

static void set_error(adm_sync_client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(adm_sync_client_t *c, const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    /* the text may come from the server: keep it printable for logs */
    for (p = c->error; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    adm_sync_client_t *c = userdata;
    size_t n = size * nmemb;

    if (n > ADM_SYNC_REPLY_MAX - c->len) {
        c->too_big = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap > 0 ? c->cap : BODY_INITIAL_CAP;
        char *b;
        while (cap < c->len + n + 1)
            cap *= 2;
        if (cap > (size_t)ADM_SYNC_REPLY_MAX + 1)
            cap = (size_t)ADM_SYNC_REPLY_MAX + 1;
        b = realloc(c->body, cap);
        if (b == NULL) {
            c->nomem = true;
            return 0;
        }
        c->body = b;
        c->cap = cap;
    }
    memcpy(c->body + c->len, data, n);
    c->len += n;
    c->body[c->len] = '\0';
    return n;
}

/* Copies and checks credentials into c (both NULL clears them). */
static adm_err_t store_credentials(adm_sync_client_t *c, const char *device_id, const char *secret)
{
    adm_err_t result = ADM_OK;

    if ((device_id == NULL) != (secret == NULL)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (device_id != NULL &&
        (!is_b64url_text(device_id, strlen(device_id), ADM_SYNC_DEVICE_ID_MAX) ||
         !is_b64url_text(secret, strlen(secret), ADM_SYNC_TOKEN_MAX))) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    sodium_memzero(c->secret, sizeof c->secret);
    memset(c->device_id, 0, sizeof c->device_id);
    if (device_id != NULL) {
        memcpy(c->device_id, device_id, strlen(device_id) + 1);
        memcpy(c->secret, secret, strlen(secret) + 1);
    }
out:
    return result;
}

adm_err_t adm_sync_client_new(const adm_sync_opts_t *opts, adm_sync_client_t **out)
{
    adm_err_t result = ADM_OK;
    adm_sync_client_t *c = NULL;
    size_t base_len;
    bool ok = true;

    if (out != NULL)
        *out = NULL;
    if (opts == NULL || out == NULL || opts->base_url == NULL ||
        strlen(opts->base_url) > ADM_SYNC_URL_MAX ||
        !check_base(opts->base_url, strlen(opts->base_url), opts->allow_http, &base_len) ||
        opts->connect_timeout_ms < 0 || opts->timeout_ms < 0 ||
        opts->connect_timeout_ms > EXTRA_TIMEOUT_MAX_MS ||
        opts->timeout_ms > EXTRA_TIMEOUT_MAX_MS || (opts->pin != NULL && !check_pin(opts->pin)) ||
        (opts->ca_file != NULL &&
         (opts->ca_file[0] == '\0' || strlen(opts->ca_file) >= PATH_MAX))) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK || adm_crypto_init() != ADM_OK) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    memcpy(c->base, opts->base_url, base_len);
    c->base[base_len] = '\0';
    result = store_credentials(c, opts->device_id, opts->secret);
    if (result != ADM_OK)
        goto out;
    c->connect_timeout_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : CONNECT_TIMEOUT_DEFAULT_MS;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : TIMEOUT_DEFAULT_MS;
    c->multi = curl_multi_init();
    c->curl = curl_easy_init();
    if (c->multi == NULL || c->curl == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    /* options that stay for every request; string options are copied by libcurl */
    ok &= curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR,
                           opts->allow_http ? "http,https" : "https") == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ADM_SYNC_REPLY_MAX) ==
          CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_error) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "admit-sync/" ADM_VERSION) == CURLE_OK;
    if (opts->ca_file != NULL) {
        /* the bundle replaces the system store: no CA directory either */
        ok &= curl_easy_setopt(c->curl, CURLOPT_CAINFO, opts->ca_file) == CURLE_OK;
        ok &= curl_easy_setopt(c->curl, CURLOPT_CAPATH, NULL) == CURLE_OK;
    }
    if (opts->pin != NULL)
        ok &= curl_easy_setopt(c->curl, CURLOPT_PINNEDPUBLICKEY, opts->pin) == CURLE_OK;
    if (!ok) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    *out = c;
    c = NULL;
out:
    adm_sync_client_free(c);
    return result;
}

void adm_sync_client_free(adm_sync_client_t *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    sodium_memzero(c->secret, sizeof c->secret);
    free(c->body);
    free(c);
}

adm_err_t adm_sync_client_set_credentials(adm_sync_client_t *c, const char *device_id,
                                          const char *secret)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (c != NULL)
        result = store_credentials(c, device_id, secret);
    return result;
}

void adm_sync_client_set_abort(adm_sync_client_t *c, const volatile int *flag)
{
    if (c != NULL)
        c->abort_flag = flag;
}

const char *adm_sync_client_error(const adm_sync_client_t *c)
{
    return c != NULL ? c->error : "";
}

long adm_sync_client_status(const adm_sync_client_t *c)
{
    return c != NULL ? c->status : 0;
}

/* libcurl's result to ours: TLS problems, our own aborts, the rest is the network. */
static adm_err_t map_curl(const adm_sync_client_t *c, CURLcode rc, long os_errno)
{
    adm_err_t result = ADM_ERR_NETWORK;

    switch (rc) {
    case CURLE_OUT_OF_MEMORY:
        result = ADM_ERR_NOMEM;
        break;
    case CURLE_WRITE_ERROR:
        result = c->too_big ? ADM_ERR_TOO_BIG : c->nomem ? ADM_ERR_NOMEM : ADM_ERR_NETWORK;
        break;
    case CURLE_FILESIZE_EXCEEDED:
        result = ADM_ERR_TOO_BIG;
        break;
    case CURLE_SSL_CONNECT_ERROR:
        /* a reset or a refused socket during the handshake is the network's fault */
        result = os_errno != 0 ? ADM_ERR_NETWORK : ADM_ERR_TLS;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        result = ADM_ERR_TLS;
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        result = ADM_ERR_INVALID_ARG;
        break;
    default:
        /* couldn't connect/resolve, timeouts, resets, PARTIAL_FILE (a body cut
         * short of its Content-Length or chunk), bad content encoding */
        break;
    }
    return result;
}

/* A non-2xx reply: its error code (REVOKED, UNAUTHORIZED, HTTP_STATUS) and
 * the server's {"error","message"} in c->error. */
static adm_err_t map_status(adm_sync_client_t *c)
{
    adm_err_t result = ADM_ERR_HTTP_STATUS;
    json_t *doc = NULL;
    const char *code = NULL;
    const char *message = NULL;

    if (c->len > 0)
        doc = json_loadb(c->body, c->len, 0, NULL);
    if (json_is_object(doc)) {
        code = json_string_value(json_object_get(doc, "error"));
        message = json_string_value(json_object_get(doc, "message"));
    }
    if (c->status == 401)
        result = ADM_ERR_UNAUTHORIZED;
    else if (c->status == 403 && code != NULL && strcmp(code, "device_revoked") == 0)
        result = ADM_ERR_REVOKED;
    if (code != NULL && message != NULL && message[0] != '\0')
        set_error(c, "HTTP %ld: %s: %s", c->status, code, message);
    else if (code != NULL)
        set_error(c, "HTTP %ld: %s", c->status, code);
    else
        set_error(c, "HTTP %ld", c->status);
    json_decref(doc);
    return result;
}

/* Frees a header list after wiping its strings (one holds the secret). */
static void free_headers(struct curl_slist *h)
{
    struct curl_slist *p;

    for (p = h; p != NULL; p = p->next)
        sodium_memzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

static bool append_header(struct curl_slist **list, const char *h)
{
    struct curl_slist *n = curl_slist_append(*list, h);

    if (n == NULL)
        return false;
    *list = n;
    return true;
}

static bool path_ok(const char *path)
{
    size_t i;

    if (path == NULL || path[0] != '/' || strlen(path) > PATH_MAX_BYTES)
        return false;
    for (i = 0; path[i] != '\0'; i++)
        if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f || path[i] == '#')
            return false;
    return true;
}

static bool aborted(const adm_sync_client_t *c)
{
    return c->abort_flag != NULL && *c->abort_flag != 0;
}

/* Runs the transfer set up on c->curl through c->multi, waking at least
 * every ABORT_POLL_MS to look at the abort flag. *rc gets the transfer's
 * result; ADM_ERR_NETWORK when aborted, ADM_ERR_NOMEM when libcurl fails. */
static adm_err_t perform(adm_sync_client_t *c, CURLcode *rc)
{
    adm_err_t result = ADM_OK;
    CURLMcode mc;
    CURLMsg *msg;
    int running = 1;
    int left;

    *rc = CURLE_FAILED_INIT;
    if (aborted(c)) {
        set_error(c, "aborted");
        result = ADM_ERR_NETWORK;
        goto out;
    }
    if (curl_multi_add_handle(c->multi, c->curl) != CURLM_OK) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    while (running > 0) {
        mc = curl_multi_perform(c->multi, &running);
        if (mc == CURLM_OK && running > 0)
            mc = curl_multi_poll(c->multi, NULL, 0, ABORT_POLL_MS, NULL);
        if (mc != CURLM_OK) {
            set_error(c, "%s", curl_multi_strerror(mc));
            result = mc == CURLM_OUT_OF_MEMORY ? ADM_ERR_NOMEM : ADM_ERR_NETWORK;
            break;
        }
        if (running > 0 && aborted(c)) {
            set_error(c, "aborted");
            result = ADM_ERR_NETWORK;
            break;
        }
    }
    while (result == ADM_OK && (msg = curl_multi_info_read(c->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->curl)
            *rc = msg->data.result;
    curl_multi_remove_handle(c->multi, c->curl);
out:
    return result;
}

/* The request of adm_sync_request(); auth false leaves out the credentials
 * (enrollment needs none). */
static adm_err_t do_request(adm_sync_client_t *c, const char *method, const char *path,
                            const json_t *body, long extra_timeout_ms, bool auth, json_t **reply)
{
    adm_err_t result = ADM_OK;
    char url[ADM_SYNC_URL_MAX + PATH_MAX_BYTES + 1];
    char authz[sizeof "Authorization: Bearer " + ADM_SYNC_DEVICE_ID_MAX + 1 + ADM_SYNC_TOKEN_MAX];
    struct curl_slist *headers = NULL;
    char *payload = NULL;
    bool post;
    bool ok = true;
    CURLcode rc;
    long os_errno = 0;
    json_error_t jerr;

    if (reply != NULL)
        *reply = NULL;
    if (c == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    c->status = 0;
    c->error[0] = '\0';
    c->curl_error[0] = '\0';
    c->len = 0;
    c->too_big = false;
    c->nomem = false;
    if (method == NULL || reply == NULL || !path_ok(path) || extra_timeout_ms < 0 ||
        extra_timeout_ms > EXTRA_TIMEOUT_MAX_MS) {
        set_error(c, "invalid request arguments");
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    post = strcmp(method, "POST") == 0;
    if ((!post && strcmp(method, "GET") != 0) || (!post && body != NULL) ||
        (body != NULL && !json_is_object(body) && !json_is_array(body))) {
        set_error(c, "invalid request method or body");
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    snprintf(url, sizeof url, "%s%s", c->base, path);
    if (post) {
        payload = body != NULL ? json_dumps(body, JSON_COMPACT) : strdup("{}");
        if (payload == NULL) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
        if (strlen(payload) > ADM_SYNC_REPLY_MAX) {
            set_error(c, "request body larger than %u bytes", ADM_SYNC_REPLY_MAX);
            result = ADM_ERR_TOO_BIG;
            goto out;
        }
    }
    ok &= append_header(&headers, "Accept: application/json");
    if (post) {
        ok &= append_header(&headers, "Content-Type: application/json");
        ok &= append_header(&headers, "Expect:"); /* no 100-continue round trip */
    }
    if (auth && c->device_id[0] != '\0') {
        snprintf(authz, sizeof authz, "Authorization: Bearer %s.%s", c->device_id, c->secret);
        ok &= append_header(&headers, authz);
        sodium_memzero(authz, sizeof authz);
    }
    if (!ok) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    ok &= curl_easy_setopt(c->curl, CURLOPT_URL, url) == CURLE_OK;
    ok &= curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    ok &=
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms + extra_timeout_ms) == CURLE_OK;
    if (post) {
        ok &= curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload)) ==
              CURLE_OK;
        ok &= curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload) == CURLE_OK;
    } else {
        ok &= curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    if (!ok) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    result = perform(c, &rc);
    if (result != ADM_OK)
        goto out;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (rc != CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        result = map_curl(c, rc, os_errno);
        if (result == ADM_ERR_TOO_BIG)
            set_error(c, "reply body larger than %u bytes", ADM_SYNC_REPLY_MAX);
        else
            set_error(c, "%s", c->curl_error[0] != '\0' ? c->curl_error : curl_easy_strerror(rc));
        goto out;
    }
    if (c->status < 200 || c->status > 299) {
        result = map_status(c);
        goto out;
    }
    *reply = json_loadb(c->len > 0 ? c->body : "", c->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(*reply)) {
        set_error(c, "reply is not a JSON object: %s",
                  *reply == NULL ? jerr.text : "another JSON type");
        json_decref(*reply);
        *reply = NULL;
        result = ADM_ERR_FORMAT;
        goto out;
    }
out:
    if (c != NULL) {
        /* never leave pointers to freed memory in the handle */
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
        /* replies and requests may hold a secret (enrollment): wipe them */
        if (c->body != NULL)
            sodium_memzero(c->body, c->len);
        if (c->cap > BODY_KEEP_CAP) {
            free(c->body);
            c->body = NULL;
            c->cap = 0;
        }
        c->len = 0;
    }
    free_headers(headers);
    if (payload != NULL)
        sodium_memzero(payload, strlen(payload));
    free(payload);
    return result;
}

adm_err_t adm_sync_request(adm_sync_client_t *c, const char *method, const char *path,
                           const json_t *body, long extra_timeout_ms, json_t **reply)
{
    return do_request(c, method, path, body, extra_timeout_ms, true, reply);
}

/* ---- enrollment ----------------------------------------------------------- */

adm_err_t adm_enroll_uri_parse(const char *uri, char *base, size_t base_cap, char *token,
                               size_t token_cap)
{
    adm_err_t result = ADM_ERR_FORMAT;
    const char *start;
    const char *end;
    const char *hash;
    size_t base_len;
    size_t prefix = strlen(ENROLL_PREFIX);

    clear_text(base, base_cap);
    clear_text(token, token_cap);
    if (uri == NULL || base == NULL || token == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    start = uri;
    end = uri + strlen(uri);
    while (start < end && (*start == ' ' || (*start >= '\t' && *start <= '\r')))
        start++;
    while (end > start && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r')))
        end--;
    if ((size_t)(end - start) < prefix || strncasecmp(start, ENROLL_PREFIX, prefix) != 0)
        goto out;
    start += prefix;
    hash = memchr(start, '#', (size_t)(end - start));
    if (hash == NULL)
        goto out;
    if ((size_t)(hash - start) > ADM_SYNC_URL_MAX ||
        (size_t)(end - hash - 1) > ADM_SYNC_TOKEN_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (!check_base(start, (size_t)(hash - start), true, &base_len) ||
        !is_b64url_text(hash + 1, (size_t)(end - hash - 1), ADM_SYNC_TOKEN_MAX))
        goto out;
    if (!copy_text(base, base_cap, start, base_len) ||
        !copy_text(token, token_cap, hash + 1, (size_t)(end - hash - 1))) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    result = ADM_OK;
out:
    if (result != ADM_OK) {
        clear_text(base, base_cap);
        clear_text(token, token_cap);
    }
    return result;
}

adm_err_t adm_enroll_uri_format(const char *base, const char *token, char *out, size_t cap)
{
    adm_err_t result = ADM_OK;
    size_t base_len;
    int n;

    clear_text(out, cap);
    if (base == NULL || token == NULL || out == NULL || strlen(base) > ADM_SYNC_URL_MAX ||
        !check_base(base, strlen(base), true, &base_len) ||
        !is_b64url_text(token, strlen(token), ADM_SYNC_TOKEN_MAX)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    n = snprintf(out, cap, "%s%.*s#%s", ENROLL_PREFIX, (int)base_len, base, token);
    if (n < 0 || (size_t)n >= cap) {
        clear_text(out, cap);
        result = ADM_ERR_TOO_BIG;
    }
out:
    return result;
}

/* A string member of o: 1..max bytes (min 0 allows ""), no NUL inside. */
static bool member_str(const json_t *o, const char *key, size_t min, size_t max, const char **s)
{
    const json_t *v = json_object_get(o, key);
    size_t len;

    if (!json_is_string(v))
        return false;
    len = json_string_length(v);
    if (len < min || len > max || strlen(json_string_value(v)) != len)
        return false;
    *s = json_string_value(v);
    return true;
}

static bool member_int(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

adm_err_t adm_sync_enroll(adm_sync_client_t *c, const char *token, const char *name,
                          adm_enrolled_t *out)
{
    adm_err_t result = ADM_OK;
    json_t *body = NULL;
    json_t *reply = NULL;
    const char *device_id;
    const char *secret;
    const char *gate;
    const char *kind;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (c == NULL || out == NULL || token == NULL ||
        !is_b64url_text(token, strlen(token), ADM_SYNC_TOKEN_MAX) ||
        (name != NULL && strlen(name) > 100)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    body = json_pack("{s:s}", "token", token);
    if (body == NULL ||
        (name != NULL && json_object_set_new(body, "name", json_string(name)) != 0)) {
        /* json_string fails on invalid UTF-8 as well */
        result = body == NULL ? ADM_ERR_NOMEM : ADM_ERR_INVALID_ARG;
        goto out;
    }
    result = do_request(c, "POST", "/v1/devices/enroll", body, 0, false, &reply);
    if (result != ADM_OK)
        goto out;
    if (!member_str(reply, "device_id", 1, ADM_SYNC_DEVICE_ID_MAX, &device_id) ||
        !is_b64url_text(device_id, strlen(device_id), ADM_SYNC_DEVICE_ID_MAX) ||
        !member_str(reply, "secret", 1, ADM_SYNC_TOKEN_MAX, &secret) ||
        !is_b64url_text(secret, strlen(secret), ADM_SYNC_TOKEN_MAX) ||
        !member_int(reply, "event_id", 1, INT64_MAX, &out->event_id) ||
        !member_str(reply, "gate", 1, ADM_SYNC_GATE_MAX, &gate) ||
        !member_str(reply, "kind", 1, PAGE_KIND_MAX, &kind) ||
        (strcmp(kind, "gate") != 0 && strcmp(kind, "relay") != 0)) {
        set_error(c, "enrollment reply is malformed");
        result = ADM_ERR_FORMAT;
        goto out;
    }
    memcpy(out->device_id, device_id, strlen(device_id) + 1);
    memcpy(out->secret, secret, strlen(secret) + 1);
    memcpy(out->gate, gate, strlen(gate) + 1);
    out->relay = strcmp(kind, "relay") == 0;
    result = store_credentials(c, out->device_id, out->secret);
out:
    if (result != ADM_OK && out != NULL)
        sodium_memzero(out, sizeof *out);
    json_decref(body);
    json_decref(reply);
    return result;
}

/* ---- feed page validation (docs/sync.md §2) -------------------------------- */

/* A malformed page: the reason into why. */
#define page_fail(why, cap, ...) adm_err_detail(ADM_ERR_FORMAT, why, cap, __VA_ARGS__)

static bool is_reason(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool is_nonce(const char *s)
{
    size_t i;

    for (i = 0; i < PAGE_NONCE_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[i] == '\0';
}

static bool is_device_id(const char *s)
{
    return is_b64url_text(s, strlen(s), ADM_SYNC_DEVICE_ID_MAX);
}

/* Distinct "id" members among the objects of array a (already checked). */
static bool ids_distinct(const json_t *a)
{
    size_t n = json_array_size(a);
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        json_int_t id = json_integer_value(json_object_get(json_array_get(a, i), "id"));
        for (j = i + 1; j < n; j++)
            if (json_integer_value(json_object_get(json_array_get(a, j), "id")) == id)
                return false;
    }
    return true;
}

static adm_err_t check_device(const json_t *d, char *why, size_t cap)
{
    const char *s;

    if (!json_is_object(d))
        return page_fail(why, cap, "device: not an object");
    if (!member_str(d, "id", 1, ADM_SYNC_DEVICE_ID_MAX, &s) || !is_device_id(s))
        return page_fail(why, cap, "device.id: not a device id");
    if (!member_str(d, "gate", 1, ADM_SYNC_GATE_MAX, &s))
        return page_fail(why, cap, "device.gate: not a gate name of 1..%d bytes",
                         ADM_SYNC_GATE_MAX);
    if (!member_str(d, "kind", 1, PAGE_KIND_MAX, &s) ||
        (strcmp(s, "gate") != 0 && strcmp(s, "relay") != 0))
        return page_fail(why, cap, "device.kind: not \"gate\" or \"relay\"");
    return ADM_OK;
}

static adm_err_t check_event(const json_t *e, char *why, size_t cap)
{
    static const char *const statuses[] = {"draft", "on_sale", "cancelled", "ended"};
    const char *s;
    int64_t v;
    size_t i;

    if (!json_is_object(e))
        return page_fail(why, cap, "event: not an object");
    if (!member_int(e, "id", 1, INT64_MAX, &v))
        return page_fail(why, cap, "event.id: not a positive integer");
    if (!member_str(e, "title", 0, PAGE_TITLE_MAX, &s))
        return page_fail(why, cap, "event.title: not a string of at most %d bytes", PAGE_TITLE_MAX);
    if (!member_int(e, "starts_at", 0, INT64_MAX, &v))
        return page_fail(why, cap, "event.starts_at: not a time");
    if (!member_int(e, "ends_at", 0, INT64_MAX, &v))
        return page_fail(why, cap, "event.ends_at: not a time");
    if (!member_str(e, "status", 1, 16, &s))
        return page_fail(why, cap, "event.status: not a string");
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(s, statuses[i]) == 0)
            return ADM_OK;
    return page_fail(why, cap, "event.status: unknown status \"%s\"", s);
}

/* "keys" must be a public keyring document that sync/keyring.c accepts. */
static adm_err_t check_keys(const json_t *k, char *why, size_t cap)
{
    adm_err_t result = ADM_OK;
    adm_keyring_t *kr = NULL;
    char *text = NULL;

    if (!json_is_object(k)) {
        result = page_fail(why, cap, "keys: not an object");
        goto out;
    }
    text = json_dumps(k, JSON_COMPACT);
    if (text == NULL || adm_keyring_new(&kr) != ADM_OK) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    result = adm_keyring_load_public_json(kr, text, strlen(text));
    if (result == ADM_ERR_NOMEM)
        goto out;
    if (result != ADM_OK)
        result =
            page_fail(why, cap, "keys: not a valid keyring document (%s)", adm_err_name(result));
out:
    adm_keyring_free(kr);
    free(text);
    return result;
}

static adm_err_t check_ticket_types(const json_t *a, char *why, size_t cap)
{
    const json_t *t;
    const char *s;
    size_t i;
    int64_t v;

    if (!json_is_array(a) || json_array_size(a) > PAGE_TYPES_MAX)
        return page_fail(why, cap, "ticket_types: not an array of at most %d", PAGE_TYPES_MAX);
    json_array_foreach(a, i, t)
    {
        if (!json_is_object(t))
            return page_fail(why, cap, "ticket_types[%zu]: not an object", i);
        if (!member_int(t, "id", 1, INT64_MAX, &v))
            return page_fail(why, cap, "ticket_types[%zu].id: not a positive integer", i);
        if (!member_str(t, "name", 0, PAGE_NAME_MAX, &s))
            return page_fail(why, cap, "ticket_types[%zu].name: not a string of at most %d bytes",
                             i, PAGE_NAME_MAX);
    }
    if (!ids_distinct(a))
        return page_fail(why, cap, "ticket_types: duplicate id");
    return ADM_OK;
}

static adm_err_t check_list(const json_t *l, size_t i, char *why, size_t cap)
{
    const json_t *a;
    const json_t *v;
    const char *s;
    adm_reentry_t reentry;
    int64_t id;
    size_t j;

    if (!json_is_object(l))
        return page_fail(why, cap, "checkin_lists[%zu]: not an object", i);
    if (!member_int(l, "id", 1, INT64_MAX, &id))
        return page_fail(why, cap, "checkin_lists[%zu].id: not a positive integer", i);
    if (!member_str(l, "name", 0, PAGE_NAME_MAX, &s))
        return page_fail(why, cap, "checkin_lists[%zu].name: not a string of at most %d bytes", i,
                         PAGE_NAME_MAX);
    if (!member_str(l, "reentry", 1, 32, &s) || !adm_reentry_parse(s, &reentry))
        return page_fail(why, cap, "checkin_lists[%zu].reentry: unknown re-entry rule", i);
    a = json_object_get(l, "ticket_types");
    if (!json_is_array(a) || json_array_size(a) > PAGE_TYPES_MAX)
        return page_fail(why, cap, "checkin_lists[%zu].ticket_types: not an array of at most %d", i,
                         PAGE_TYPES_MAX);
    json_array_foreach(a, j, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return page_fail(why, cap, "checkin_lists[%zu].ticket_types[%zu]: not a type id", i, j);
    }
    a = json_object_get(l, "gates");
    if (!json_is_array(a) || json_array_size(a) > PAGE_LIST_GATES_MAX)
        return page_fail(why, cap, "checkin_lists[%zu].gates: not an array of at most %d", i,
                         PAGE_LIST_GATES_MAX);
    json_array_foreach(a, j, v)
    {
        if (!json_is_string(v) || json_string_length(v) < 1 ||
            json_string_length(v) > ADM_SYNC_GATE_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))
            return page_fail(why, cap, "checkin_lists[%zu].gates[%zu]: not a gate name", i, j);
    }
    return ADM_OK;
}

static adm_err_t check_revocations(const json_t *a, int64_t *last, char *why, size_t cap)
{
    const json_t *r;
    const char *s;
    int64_t seq;
    int64_t v;
    size_t i;

    *last = 0;
    if (!json_is_array(a) || json_array_size(a) > PAGE_ROWS_MAX)
        return page_fail(why, cap, "revocations: not an array of at most %d", PAGE_ROWS_MAX);
    json_array_foreach(a, i, r)
    {
        if (!json_is_object(r))
            return page_fail(why, cap, "revocations[%zu]: not an object", i);
        if (!member_int(r, "seq", 1, INT64_MAX, &seq))
            return page_fail(why, cap, "revocations[%zu].seq: not a positive integer", i);
        if (seq <= *last)
            return page_fail(why, cap, "revocations[%zu].seq: not after the previous row", i);
        *last = seq;
        if (!member_int(r, "ticket_id", 1, INT64_MAX, &v))
            return page_fail(why, cap, "revocations[%zu].ticket_id: not a positive integer", i);
        if (!member_int(r, "revoked_at", 0, INT64_MAX, &v))
            return page_fail(why, cap, "revocations[%zu].revoked_at: not a time", i);
        if (!member_str(r, "reason", 1, PAGE_REASON_MAX, &s) || !is_reason(s))
            return page_fail(why, cap, "revocations[%zu].reason: not a reason name", i);
    }
    return ADM_OK;
}

static adm_err_t check_checkins(const json_t *a, int64_t *last, char *why, size_t cap)
{
    const json_t *r;
    const char *s;
    adm_direction_t dir;
    int64_t seq;
    int64_t v;
    size_t i;

    *last = 0;
    if (!json_is_array(a) || json_array_size(a) > PAGE_ROWS_MAX)
        return page_fail(why, cap, "checkins: not an array of at most %d", PAGE_ROWS_MAX);
    json_array_foreach(a, i, r)
    {
        if (!json_is_object(r))
            return page_fail(why, cap, "checkins[%zu]: not an object", i);
        if (!member_int(r, "seq", 1, INT64_MAX, &seq))
            return page_fail(why, cap, "checkins[%zu].seq: not a positive integer", i);
        if (seq <= *last)
            return page_fail(why, cap, "checkins[%zu].seq: not after the previous row", i);
        *last = seq;
        if (!member_str(r, "nonce", PAGE_NONCE_LEN, PAGE_NONCE_LEN, &s) || !is_nonce(s))
            return page_fail(why, cap, "checkins[%zu].nonce: not %d lower-case hex digits", i,
                             PAGE_NONCE_LEN);
        if (!member_int(r, "ticket_id", 1, INT64_MAX, &v))
            return page_fail(why, cap, "checkins[%zu].ticket_id: not a positive integer", i);
        if (!member_int(r, "list_id", 1, INT64_MAX, &v))
            return page_fail(why, cap, "checkins[%zu].list_id: not a positive integer", i);
        if (!member_int(r, "at", 0, INT64_MAX, &v))
            return page_fail(why, cap, "checkins[%zu].at: not a time", i);
        if (!member_str(r, "gate", 1, ADM_SYNC_GATE_MAX, &s))
            return page_fail(why, cap, "checkins[%zu].gate: not a gate name of 1..%d bytes", i,
                             ADM_SYNC_GATE_MAX);
        if (!member_str(r, "device", 1, ADM_SYNC_DEVICE_ID_MAX, &s) || !is_device_id(s))
            return page_fail(why, cap, "checkins[%zu].device: not a device id", i);
        if (!member_str(r, "direction", 1, 16, &s) || !adm_direction_parse(s, &dir))
            return page_fail(why, cap, "checkins[%zu].direction: not \"entry\" or \"exit\"", i);
        if (!json_is_boolean(json_object_get(r, "conflict")))
            return page_fail(why, cap, "checkins[%zu].conflict: not a boolean", i);
    }
    return ADM_OK;
}

adm_err_t adm_sync_page_check(const json_t *page, char *why, size_t cap)
{
    adm_err_t result = ADM_OK;
    const json_t *a;
    const json_t *l;
    const json_t *cur;
    const char *s;
    int64_t v;
    int64_t last_rev;
    int64_t last_chk;
    size_t i;

    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (!json_is_object(page))
        return page_fail(why, cap, "page: not an object");
    if (!member_str(page, "format", 1, 32, &s) || strcmp(s, PAGE_FORMAT) != 0)
        return page_fail(why, cap, "format: not \"%s\"", PAGE_FORMAT);
    if (!member_int(page, "version", PAGE_VERSION, PAGE_VERSION, &v))
        return page_fail(why, cap, "version: not %d", PAGE_VERSION);
    if (!member_int(page, "server_time", 0, INT64_MAX, &v))
        return page_fail(why, cap, "server_time: not a time");
    result = check_device(json_object_get(page, "device"), why, cap);
    if (result != ADM_OK)
        return result;
    result = check_event(json_object_get(page, "event"), why, cap);
    if (result != ADM_OK)
        return result;
    result = check_keys(json_object_get(page, "keys"), why, cap);
    if (result != ADM_OK)
        return result;
    result = check_ticket_types(json_object_get(page, "ticket_types"), why, cap);
    if (result != ADM_OK)
        return result;
    a = json_object_get(page, "checkin_lists");
    if (!json_is_array(a) || json_array_size(a) > PAGE_LISTS_MAX)
        return page_fail(why, cap, "checkin_lists: not an array of at most %d", PAGE_LISTS_MAX);
    json_array_foreach(a, i, l)
    {
        result = check_list(l, i, why, cap);
        if (result != ADM_OK)
            return result;
    }
    if (!ids_distinct(a))
        return page_fail(why, cap, "checkin_lists: duplicate id");
    result = check_revocations(json_object_get(page, "revocations"), &last_rev, why, cap);
    if (result != ADM_OK)
        return result;
    result = check_checkins(json_object_get(page, "checkins"), &last_chk, why, cap);
    if (result != ADM_OK)
        return result;
    cur = json_object_get(page, "cursor");
    if (!json_is_object(cur))
        return page_fail(why, cap, "cursor: not an object");
    if (!member_int(cur, "revocations", 0, INT64_MAX, &v))
        return page_fail(why, cap, "cursor.revocations: not an integer >= 0");
    if (v < last_rev)
        return page_fail(why, cap, "cursor.revocations: before the last revocation row");
    if (!member_int(cur, "checkins", 0, INT64_MAX, &v))
        return page_fail(why, cap, "cursor.checkins: not an integer >= 0");
    if (v < last_chk)
        return page_fail(why, cap, "cursor.checkins: before the last check-in row");
    if (!json_is_boolean(json_object_get(page, "more")))
        return page_fail(why, cap, "more: not a boolean");
    return ADM_OK;
}

adm_sync_cursor_t adm_sync_page_cursor(const json_t *page)
{
    const json_t *cur = json_object_get(page, "cursor");
    adm_sync_cursor_t out = {
        .revocations = (int64_t)json_integer_value(json_object_get(cur, "revocations")),
        .checkins = (int64_t)json_integer_value(json_object_get(cur, "checkins")),
    };

    return out;
}

bool adm_sync_page_more(const json_t *page)
{
    return json_is_true(json_object_get(page, "more"));
}

/* ---- feed and upload ------------------------------------------------------ */

/* Rows of array key must all have "seq" > after (page already checked). */
static bool rows_after(const json_t *page, const char *key, int64_t after)
{
    const json_t *a = json_object_get(page, key);

    return json_array_size(a) == 0 ||
           json_integer_value(json_object_get(json_array_get(a, 0), "seq")) > after;
}

adm_err_t adm_sync_pull(adm_sync_client_t *c, adm_sync_cursor_t cursor, int limit, int wait_s,
                        json_t **page)
{
    adm_err_t result = ADM_OK;
    char path[160];
    char why[160];
    int n;

    if (page != NULL)
        *page = NULL;
    if (c == NULL || page == NULL || cursor.revocations < 0 || cursor.checkins < 0 || limit < 0 ||
        limit > PAGE_ROWS_MAX || wait_s < 0 || wait_s > ADM_SYNC_WAIT_MAX) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    n = snprintf(path, sizeof path, "/v1/sync?revocations=%lld&checkins=%lld",
                 (long long)cursor.revocations, (long long)cursor.checkins);
    if (limit > 0)
        n += snprintf(path + n, sizeof path - (size_t)n, "&limit=%d", limit);
    snprintf(path + n, sizeof path - (size_t)n, "&wait=%d", wait_s);
    result = adm_sync_request(c, "GET", path, NULL, (long)wait_s * 1000L, page);
    if (result != ADM_OK)
        goto out;
    result = adm_sync_page_check(*page, why, sizeof why);
    if (result == ADM_OK && (!rows_after(*page, "revocations", cursor.revocations) ||
                             !rows_after(*page, "checkins", cursor.checkins))) {
        snprintf(why, sizeof why, "rows at or before the requested cursor");
        result = ADM_ERR_FORMAT;
    }
    if (result != ADM_OK) {
        set_error(c, "bad sync page: %s", why);
        json_decref(*page);
        *page = NULL;
    }
out:
    return result;
}

adm_err_t adm_sync_push(adm_sync_client_t *c, const json_t *checkins, json_t **reply)
{
    adm_err_t result = ADM_OK;
    json_t *body = NULL;
    const json_t *results;
    const json_t *r;
    const json_t *row;
    size_t n;
    size_t i;
    int64_t v;
    const char *s;
    const char *nonce;

    if (reply != NULL)
        *reply = NULL;
    n = json_array_size(checkins);
    if (c == NULL || reply == NULL || !json_is_array(checkins) || n < 1 || n > ADM_SYNC_PUSH_MAX) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    /* json_object_set keeps checkins borrowed: it only takes a reference */
    body = json_object();
    if (body == NULL || json_object_set(body, "checkins", (json_t *)checkins) != 0) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    result = adm_sync_request(c, "POST", "/v1/sync/checkins", body, 0, reply);
    if (result != ADM_OK)
        goto out;
    results = json_object_get(*reply, "results");
    if (!json_is_array(results) || json_array_size(results) != n ||
        !member_int(*reply, "stored", 0, (int64_t)n, &v) ||
        !member_int(*reply, "duplicates", 0, (int64_t)n, &v)) {
        set_error(c, "upload reply does not hold one result per row");
        result = ADM_ERR_FORMAT;
        goto out;
    }
    json_array_foreach(results, i, r)
    {
        row = json_array_get(checkins, i);
        nonce = json_string_value(json_object_get(row, "nonce"));
        if (!json_is_object(r) || !member_int(r, "seq", 1, INT64_MAX, &v) ||
            !json_is_boolean(json_object_get(r, "stored")) ||
            !json_is_boolean(json_object_get(r, "conflict")) ||
            !member_str(r, "nonce", 1, PAGE_NONCE_LEN, &s) ||
            (nonce != NULL && strcmp(s, nonce) != 0)) {
            set_error(c, "upload reply: results[%zu] is malformed or out of order", i);
            result = ADM_ERR_FORMAT;
            goto out;
        }
    }
out:
    if (result != ADM_OK && reply != NULL) {
        json_decref(*reply);
        *reply = NULL;
    }
    json_decref(body);
    return result;
}

/* ---- retries ---------------------------------------------------------------- */

#define BACKOFF_FIRST_MS 500L
#define BACKOFF_MAX_MS 30000L

long adm_backoff_next_ms(adm_backoff_t *b)
{
    long d = BACKOFF_FIRST_MS;
    unsigned i;

    for (i = 0; i < b->attempt && d < BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > BACKOFF_MAX_MS)
        d = BACKOFF_MAX_MS;
    if (d < BACKOFF_MAX_MS)
        b->attempt++; /* stops counting at the cap: no overflow */
    /* randombytes works without sodium_init(); adm_sync_client_new() ran it anyway */
    return d / 2 + (long)randombytes_uniform((uint32_t)(d - d / 2 + 1));
}

void adm_backoff_reset(adm_backoff_t *b)
{
    b->attempt = 0;
}
