/* test-client.c: integration tests of sync/client.c against a libmicrohttpd
 * server in this process that serves canned replies, an openssl s_server for
 * TLS and the faultproxy tool for a failing link. Covers the request
 * plumbing, error mapping, the page validator, the enrollment URI and
 * backoff; not the real admitd endpoints (tests/server). */
#include "sync/client.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "sync/keyring.h"
#include "tests/testutil/testutil.h"

#define DEVICE "dv_0123456789abcdef"
#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw"
#define BIG_CHUNK (64 * 1024)

/* ---- the canned server ------------------------------------------------------ */

static struct MHD_Daemon *mhd;
static int mhd_port;
static atomic_int mhd_connections;

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char method[8];
    char url[256];
    char query[256];
    char auth[256];
    bool has_auth;
    char accept_encoding[128];
    char *body;
} rec;

static char *page_text;      /* reply of GET /v1/sync (set by tests, under rec_lock) */
static atomic_int push_mode; /* 0 = right results, 1 = one result short, 2 = wrong nonce */
static unsigned char *gz_body;
static size_t gz_len;
static const char gz_plain[] = "{\"gz\":\"hello hello hello hello hello hello hello hello\"}";

struct req {
    char *body;
    size_t len;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text,
                                  const char *ctype)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", ctype);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    enum MHD_Result ret = reply_text(conn, status, text, "application/json");

    free(text);
    json_decref(doc);
    return ret;
}

/* 100 bytes of a 1000-byte body, then the connection drops */
static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= 100)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (max > 100 - pos)
        max = (size_t)(100 - pos);
    memset(buf, ' ', max);
    if (pos == 0)
        buf[0] = '{';
    return (ssize_t)max;
}

/* spaces, a little past ADM_SYNC_REPLY_MAX */
static ssize_t big_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos > (uint64_t)ADM_SYNC_REPLY_MAX + BIG_CHUNK)
        return MHD_CONTENT_READER_END_OF_STREAM;
    memset(buf, ' ', max);
    return (ssize_t)max;
}

static enum MHD_Result reply_push(struct MHD_Connection *conn, const char *body)
{
    json_t *in = json_loads(body != NULL ? body : "", 0, NULL);
    json_t *rows = json_object_get(in, "checkins");
    json_t *results = json_array();
    json_t *row;
    size_t i;

    json_array_foreach(rows, i, row)
    {
        const char *nonce = json_string_value(json_object_get(row, "nonce"));
        if (push_mode == 1 && i + 1 == json_array_size(rows))
            break;
        if (push_mode == 2)
            nonce = "ffffffffffffffffffffffffffffffff";
        json_array_append_new(results,
                              json_pack("{s:s,s:I,s:b,s:b}", "nonce", nonce != NULL ? nonce : "",
                                        "seq", (json_int_t)(200 + i), "stored", 1, "conflict", 0));
    }
    json_decref(in);
    return reply_json(conn, 200,
                      json_pack("{s:I,s:i,s:o}", "stored", (json_int_t)json_array_size(results),
                                "duplicates", 0, "results", results));
}

static enum MHD_Result reply_enroll(struct MHD_Connection *conn, const char *body)
{
    json_t *in = json_loads(body != NULL ? body : "", 0, NULL);
    const char *token = json_string_value(json_object_get(in, "token"));
    enum MHD_Result ret;

    if (token != NULL && strcmp(token, "good-token") == 0)
        ret = reply_json(conn, 201,
                         json_pack("{s:s,s:s,s:i,s:s,s:s}", "device_id", "dv_00000000000000aa",
                                   "secret", "bmV3LXNlY3JldA", "event_id", 7, "gate", "North",
                                   "kind", "relay"));
    else if (token != NULL && strcmp(token, "used-token") == 0)
        ret = reply_json(conn, 410,
                         json_pack("{s:s,s:s}", "error", "enrollment_used", "message",
                                   "this enrollment token was already used"));
    else if (token != NULL && strcmp(token, "bad-reply") == 0)
        ret = reply_json(conn, 201,
                         json_pack("{s:s,s:s,s:i,s:s,s:s}", "device_id", "dv 1", "secret", "x",
                                   "event_id", 7, "gate", "North", "kind", "gate"));
    else
        ret = reply_json(conn, 404, json_pack("{s:s}", "error", "not_found"));
    json_decref(in);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct req *q = *con_cls;
    struct MHD_Response *r;
    enum MHD_Result ret;
    const char *v;

    (void)cls;
    (void)version;
    if (q == NULL) {
        q = calloc(1, sizeof *q);
        *con_cls = q;
        return q != NULL ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        char *b = realloc(q->body, q->len + *upload_size + 1);
        if (b == NULL)
            return MHD_NO;
        memcpy(b + q->len, upload, *upload_size);
        q->len += *upload_size;
        b[q->len] = '\0';
        q->body = b;
        *upload_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&rec_lock);
    copy_field(rec.method, sizeof rec.method, method);
    copy_field(rec.url, sizeof rec.url, url);
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    rec.has_auth = v != NULL;
    copy_field(rec.auth, sizeof rec.auth, v);
    copy_field(rec.accept_encoding, sizeof rec.accept_encoding,
               MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding"));
    snprintf(rec.query, sizeof rec.query, "revocations=%s&checkins=%s&limit=%s&wait=%s",
             MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "revocations") ?: "-",
             MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "checkins") ?: "-",
             MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit") ?: "-",
             MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait") ?: "-");
    free(rec.body);
    rec.body = q->body != NULL ? strdup(q->body) : NULL;
    pthread_mutex_unlock(&rec_lock);

    if (strcmp(url, "/echo") == 0 || strcmp(url, "/prefix/echo") == 0)
        return reply_text(conn, 200, "{\"ok\":true}", "application/json");
    if (strcmp(url, "/gzip") == 0) {
        r = MHD_create_response_from_buffer(gz_len, gz_body, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "Content-Encoding", "gzip");
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(url, "/status/401") == 0)
        return reply_text(conn, 401, "{\"error\":\"unauthorized\",\"message\":\"unknown device\"}",
                          "application/json");
    if (strcmp(url, "/status/403r") == 0)
        return reply_text(conn, 403, "{\"error\":\"device_revoked\"}", "application/json");
    if (strcmp(url, "/status/403") == 0)
        return reply_text(conn, 403, "{\"error\":\"forbidden\",\"message\":\"not yours\"}",
                          "application/json");
    if (strcmp(url, "/status/404") == 0)
        return reply_text(conn, 404,
                          "{\"error\":\"not_found\",\"message\":\"no such thing\\u0001here\"}",
                          "application/json");
    if (strcmp(url, "/status/410") == 0)
        return reply_text(conn, 410, "{\"error\":\"expired\",\"message\":\"token expired\"}",
                          "application/json");
    if (strcmp(url, "/status/500") == 0)
        return reply_text(conn, 500, "<html>oops</html>", "text/html");
    if (strcmp(url, "/notjson") == 0)
        return reply_text(conn, 200, "hello", "text/plain");
    if (strcmp(url, "/array") == 0)
        return reply_text(conn, 200, "[1,2]", "application/json");
    if (strcmp(url, "/dupkey") == 0)
        return reply_text(conn, 200, "{\"a\":1,\"a\":2}", "application/json");
    if (strcmp(url, "/empty") == 0)
        return reply_text(conn, 200, "", "application/json");
    if (strcmp(url, "/blob") == 0) {
        /* 4 KiB JSON with Content-Length: for the proxy's cut mode */
        static char blob[4096 + 16];
        memset(blob, ' ', sizeof blob - 1);
        memcpy(blob, "{\"blob\":\"", 9);
        memcpy(blob + sizeof blob - 3, "\"}", 2);
        blob[sizeof blob - 1] = '\0';
        return reply_text(conn, 200, blob, "application/json");
    }
    if (strcmp(url, "/cut") == 0) {
        r = MHD_create_response_from_callback(1000, 1024, cut_reader, NULL, NULL);
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(url, "/big") == 0 || strcmp(url, "/bigdeclared") == 0) {
        uint64_t size =
            strcmp(url, "/big") == 0 ? MHD_SIZE_UNKNOWN : (uint64_t)ADM_SYNC_REPLY_MAX + 10;
        r = MHD_create_response_from_callback(size, BIG_CHUNK, big_reader, NULL, NULL);
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(url, "/v1/sync") == 0) {
        char *text;
        pthread_mutex_lock(&rec_lock);
        text = strdup(page_text != NULL ? page_text : "{}");
        pthread_mutex_unlock(&rec_lock);
        ret = reply_text(conn, 200, text, "application/json");
        free(text);
        return ret;
    }
    if (strcmp(url, "/v1/sync/checkins") == 0 && strcmp(method, "POST") == 0)
        return reply_push(conn, q->body);
    if (strcmp(url, "/v1/devices/enroll") == 0 && strcmp(method, "POST") == 0)
        return reply_enroll(conn, q->body);
    return reply_text(conn, 404, "{\"error\":\"not_found\"}", "application/json");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *q = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (q != NULL) {
        free(q->body);
        free(q);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)conn;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&mhd_connections, 1);
}

static void make_gzip(void)
{
    z_stream zs;
    static unsigned char out[1024];

    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = (unsigned char *)gz_plain;
    zs.avail_in = (uInt)strlen(gz_plain);
    zs.next_out = out;
    zs.avail_out = sizeof out;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    gz_len = zs.total_out;
    gz_body = out;
    deflateEnd(&zs);
    CHECK(gz_len < strlen(gz_plain)); /* really compressed */
}

static void server_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                           handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (mhd == NULL) {
        fprintf(stderr, "cannot start libmicrohttpd\n");
        exit(1);
    }
    info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
    mhd_port = info->port;
}

/* ---- helpers ------------------------------------------------------------------ */

static adm_sync_client_t *client_at(int port, const char *prefix, bool creds, long timeout_ms)
{
    char base[128];
    adm_sync_client_t *c = NULL;
    adm_sync_opts_t o = {
        .base_url = base,
        .device_id = creds ? DEVICE : NULL,
        .secret = creds ? SECRET : NULL,
        .allow_http = true,
        .connect_timeout_ms = 2000,
        .timeout_ms = timeout_ms,
    };

    snprintf(base, sizeof base, "http://127.0.0.1:%d%s", port, prefix);
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    if (c == NULL)
        abort();
    return c;
}

static adm_sync_client_t *client(bool creds)
{
    return client_at(mhd_port, "", creds, 5000);
}

static adm_err_t get(adm_sync_client_t *c, const char *path)
{
    json_t *reply = NULL;
    adm_err_t err = adm_sync_request(c, "GET", path, NULL, 0, &reply);

    if (err != ADM_OK)
        CHECK(reply == NULL);
    json_decref(reply);
    return err;
}

static void rec_get(char *auth, size_t cap, bool *has_auth)
{
    pthread_mutex_lock(&rec_lock);
    copy_field(auth, cap, rec.auth);
    *has_auth = rec.has_auth;
    pthread_mutex_unlock(&rec_lock);
}

static bool contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* Spawns argv with stdout (and stderr when both) on a pipe; *out gets the read end. */
static pid_t spawn(char *const argv[], int *out, bool both)
{
    int p[2];
    pid_t pid;

    if (pipe(p) != 0)
        abort();
    pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        dup2(p[1], 1);
        if (both)
            dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *out = p[0];
    return pid;
}

/* Reads one line from fd within ms; false on timeout or EOF. */
static bool read_line(int fd, char *line, size_t cap, int ms)
{
    size_t n = 0;
    int64_t end = now_ms() + ms;

    while (n + 1 < cap) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = end - now_ms();
        char ch;
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || read(fd, &ch, 1) != 1)
            return false;
        if (ch == '\n')
            break;
        line[n++] = ch;
    }
    line[n] = '\0';
    return true;
}

static void stop_child(pid_t pid, int fd, int *status)
{
    int st = 0;

    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    close(fd);
    if (status != NULL)
        *status = st;
}

/* Removes a directory made by adm_test_tmpdir() and what the test put in it. */
static void remove_dir(const char *dir)
{
    char cmd[4200];

    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
}

/* ---- options, auth, keep-alive, gzip ------------------------------------------- */

static void test_options(void)
{
    adm_sync_client_t *c = NULL;
    adm_sync_opts_t o = {0};
    char longurl[ADM_SYNC_URL_MAX + 16];

    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    CHECK(c == NULL);
    CHECK_ERR(adm_sync_client_new(NULL, &c), ADM_ERR_INVALID_ARG);
    o.base_url = "ftp://example.org";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.base_url = "https://";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.base_url = "https:///path";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.base_url = "https://user:pw@example.org";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.base_url = "https://exa mple.org";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    memset(longurl, 'a', sizeof longurl - 1);
    memcpy(longurl, "https://", 8);
    longurl[sizeof longurl - 1] = '\0';
    o.base_url = longurl;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);

    o.base_url = "https://tickets.example.org/";
    o.pin = "sha256//short";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;sha256//"
            "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=";
    o.device_id = DEVICE;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG); /* secret missing */
    o.secret = "has.dot";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.secret = SECRET;
    o.timeout_ms = -1;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.timeout_ms = 0;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_STR(adm_sync_client_error(c), "");
    CHECK_INT(adm_sync_client_status(c), 0);
    CHECK_ERR(adm_sync_client_set_credentials(c, "dv_x", NULL), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_client_set_credentials(c, NULL, NULL), ADM_OK);
    adm_sync_client_free(c);
    adm_sync_client_free(NULL);
}

/* http:// is refused unless the caller allows it, at creation and by curl. */
static void test_https_only(void)
{
    adm_sync_client_t *c = NULL;
    char base[64];
    adm_sync_opts_t o = {.base_url = base};

    snprintf(base, sizeof base, "http://127.0.0.1:%d", mhd_port);
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    CHECK(c == NULL);
    snprintf(base, sizeof base, "HTTP://127.0.0.1:%d", mhd_port);
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_ERR_INVALID_ARG);
    o.allow_http = true;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    adm_sync_client_free(c);
}

static void test_auth_header(void)
{
    adm_sync_client_t *c = client(true);
    char auth[256];
    bool has;
    int before;

    before = atomic_load(&mhd_connections);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    CHECK_INT(adm_sync_client_status(c), 200);
    CHECK_STR(adm_sync_client_error(c), "");
    rec_get(auth, sizeof auth, &has);
    CHECK(has);
    CHECK_STR(auth, "Bearer " DEVICE "." SECRET);
    pthread_mutex_lock(&rec_lock);
    CHECK(contains(rec.accept_encoding, "gzip"));
    CHECK_STR(rec.method, "GET");
    pthread_mutex_unlock(&rec_lock);

    /* new credentials, same connection: keep-alive */
    CHECK_ERR(adm_sync_client_set_credentials(c, "dv_00000000000000bb", "c2Vj"), ADM_OK);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    rec_get(auth, sizeof auth, &has);
    CHECK_STR(auth, "Bearer dv_00000000000000bb.c2Vj");
    CHECK_ERR(get(c, "/status/404"), ADM_ERR_HTTP_STATUS);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    CHECK_STR(adm_sync_client_error(c), "");
    CHECK_INT(atomic_load(&mhd_connections) - before, 1);

    /* without credentials: no header at all */
    CHECK_ERR(adm_sync_client_set_credentials(c, NULL, NULL), ADM_OK);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    rec_get(auth, sizeof auth, &has);
    CHECK(!has);
    adm_sync_client_free(c);

    /* a base URL with a path prefix and a trailing '/' */
    c = client_at(mhd_port, "/prefix/", false, 5000);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.url, "/prefix/echo");
    pthread_mutex_unlock(&rec_lock);
    adm_sync_client_free(c);
}

static void test_gzip(void)
{
    adm_sync_client_t *c = client(true);
    json_t *reply = NULL;

    CHECK_ERR(adm_sync_request(c, "GET", "/gzip", NULL, 0, &reply), ADM_OK);
    CHECK_STR(json_string_value(json_object_get(reply, "gz")),
              "hello hello hello hello hello hello hello hello");
    json_decref(reply);
    adm_sync_client_free(c);
}

static void test_request_args(void)
{
    adm_sync_client_t *c = client(true);
    json_t *reply = NULL;
    json_t *body = json_object();

    CHECK_ERR(adm_sync_request(c, "PUT", "/echo", NULL, 0, &reply), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_request(c, "GET", "/echo", body, 0, &reply), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_request(c, "GET", "echo", NULL, 0, &reply), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_request(c, "GET", "/e cho", NULL, 0, &reply), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_request(c, "GET", "/echo", NULL, -1, &reply), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_request(c, "GET", "/echo", NULL, 0, NULL), ADM_ERR_INVALID_ARG);
    CHECK(reply == NULL);
    json_object_set_new(body, "x", json_integer(1));
    CHECK_ERR(adm_sync_request(c, "POST", "/echo", body, 0, &reply), ADM_OK);
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.method, "POST");
    CHECK_STR(rec.body, "{\"x\":1}");
    pthread_mutex_unlock(&rec_lock);
    json_decref(reply);
    json_decref(body);
    adm_sync_client_free(c);
}

/* ---- error mapping ------------------------------------------------------------- */

static void test_status_mapping(void)
{
    adm_sync_client_t *c = client(true);

    CHECK_ERR(get(c, "/status/401"), ADM_ERR_UNAUTHORIZED);
    CHECK_INT(adm_sync_client_status(c), 401);
    CHECK(contains(adm_sync_client_error(c), "unknown device"));

    CHECK_ERR(get(c, "/status/403r"), ADM_ERR_REVOKED);
    CHECK_INT(adm_sync_client_status(c), 403);
    CHECK(contains(adm_sync_client_error(c), "device_revoked"));

    CHECK_ERR(get(c, "/status/403"), ADM_ERR_HTTP_STATUS);
    CHECK_INT(adm_sync_client_status(c), 403);
    CHECK_STR(adm_sync_client_error(c), "HTTP 403: forbidden: not yours");

    CHECK_ERR(get(c, "/status/404"), ADM_ERR_HTTP_STATUS);
    CHECK_INT(adm_sync_client_status(c), 404);
    /* the server's control character is not passed on */
    CHECK_STR(adm_sync_client_error(c), "HTTP 404: not_found: no such thing?here");

    CHECK_ERR(get(c, "/status/410"), ADM_ERR_HTTP_STATUS);
    CHECK_INT(adm_sync_client_status(c), 410);
    CHECK_STR(adm_sync_client_error(c), "HTTP 410: expired: token expired");

    CHECK_ERR(get(c, "/status/500"), ADM_ERR_HTTP_STATUS);
    CHECK_STR(adm_sync_client_error(c), "HTTP 500");

    CHECK_ERR(get(c, "/echo"), ADM_OK);
    CHECK_STR(adm_sync_client_error(c), "");
    adm_sync_client_free(c);
}

static void test_not_json(void)
{
    adm_sync_client_t *c = client(true);

    CHECK_ERR(get(c, "/notjson"), ADM_ERR_FORMAT);
    CHECK_INT(adm_sync_client_status(c), 200);
    CHECK(adm_sync_client_error(c)[0] != '\0');
    CHECK_ERR(get(c, "/array"), ADM_ERR_FORMAT);
    CHECK_ERR(get(c, "/dupkey"), ADM_ERR_FORMAT);
    CHECK_ERR(get(c, "/empty"), ADM_ERR_FORMAT);
    adm_sync_client_free(c);
}

static void test_truncated(void)
{
    adm_sync_client_t *c = client(true);

    CHECK_ERR(get(c, "/cut"), ADM_ERR_NETWORK);
    CHECK(adm_sync_client_error(c)[0] != '\0');
    /* and the handle still works afterwards */
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    adm_sync_client_free(c);
}

static void test_too_big(void)
{
    adm_sync_client_t *c = client(true);

    CHECK_ERR(get(c, "/bigdeclared"), ADM_ERR_TOO_BIG);
    CHECK(contains(adm_sync_client_error(c), "larger than"));
    CHECK_ERR(get(c, "/big"), ADM_ERR_TOO_BIG);
    CHECK(contains(adm_sync_client_error(c), "larger than"));
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    adm_sync_client_free(c);
}

/* A listening socket that is never accepted: connect works, nothing answers. */
static int silent_listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_timeout(void)
{
    int port;
    int fd = silent_listener(&port);
    adm_sync_client_t *c = client_at(port, "", true, 600);
    json_t *reply = NULL;
    int64_t t0;
    int64_t dt;

    t0 = now_ms();
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);
    dt = now_ms() - t0;
    CHECK(dt >= 550 && dt < 3000);
    CHECK_INT(adm_sync_client_status(c), 0);
    CHECK(contains(adm_sync_client_error(c), "imeout") ||
          contains(adm_sync_client_error(c), "timed out"));

    /* a long-poll's wait extends the deadline */
    t0 = now_ms();
    CHECK_ERR(adm_sync_request(c, "GET", "/echo", NULL, 700, &reply), ADM_ERR_NETWORK);
    dt = now_ms() - t0;
    CHECK(dt >= 1250 && dt < 4000);
    adm_sync_client_free(c);
    close(fd);

    /* nothing listening at all */
    c = client_at(port, "", true, 600);
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);
    adm_sync_client_free(c);
}

static volatile int abort_flag;

static void *raise_abort(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    abort_flag = 1;
    return NULL;
}

/* adm_sync_client_set_abort(): a waiting request gives up within ~100 ms. */
static void test_abort(void)
{
    int port;
    int fd = silent_listener(&port);
    adm_sync_client_t *c = client_at(port, "", true, 10000);
    json_t *reply = NULL;
    pthread_t th;
    int64_t t0;
    int64_t dt;

    adm_sync_client_set_abort(c, &abort_flag);
    abort_flag = 0;
    pthread_create(&th, NULL, raise_abort, NULL);
    t0 = now_ms();
    CHECK_ERR(adm_sync_request(c, "GET", "/v1/sync?wait=30", NULL, 30000, &reply), ADM_ERR_NETWORK);
    dt = now_ms() - t0;
    pthread_join(th, NULL);
    CHECK(reply == NULL);
    CHECK(dt >= 250 && dt < 1000);
    CHECK_STR(adm_sync_client_error(c), "aborted");
    /* a raised flag stops the next request before it starts */
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);
    adm_sync_client_free(c);
    close(fd);

    c = client(true);
    adm_sync_client_set_abort(c, &abort_flag);
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);
    abort_flag = 0;
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    adm_sync_client_set_abort(c, NULL);
    abort_flag = 1;
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    abort_flag = 0;
    adm_sync_client_free(c);
}

/* ---- the feed page ---------------------------------------------------------------- */

static char *keys_json;

static const char good_page_text[] =
    "{\"format\":\"admit-sync\",\"version\":1,\"server_time\":1767312000,"
    "\"device\":{\"id\":\"dv_0123456789abcdef\",\"gate\":\"North\",\"kind\":\"gate\"},"
    "\"event\":{\"id\":7,\"title\":\"Spring Gala\",\"starts_at\":1767312000,"
    "\"ends_at\":1767330000,\"status\":\"on_sale\"},"
    "\"ticket_types\":[{\"id\":21,\"name\":\"GA\"},{\"id\":22,\"name\":\"VIP\"}],"
    "\"checkin_lists\":[{\"id\":1,\"name\":\"Main\",\"reentry\":\"once\",\"ticket_types\":[21],"
    "\"gates\":[\"North\",\"South\"]},{\"id\":2,\"name\":\"Lounge\",\"reentry\":\"after_exit\","
    "\"ticket_types\":[],\"gates\":[]}],"
    "\"revocations\":[{\"seq\":2,\"ticket_id\":41,\"revoked_at\":1767300000,\"reason\":"
    "\"refunded\"},"
    "{\"seq\":3,\"ticket_id\":42,\"revoked_at\":1767300100,\"reason\":\"revoked\"}],"
    "\"checkins\":[{\"seq\":117,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"ticket_id\":3,"
    "\"list_id\":1,\"at\":1767312000,\"gate\":\"South\",\"device\":\"dv_fedcba9876543210\","
    "\"direction\":\"entry\",\"conflict\":false},"
    "{\"seq\":118,\"nonce\":\"fedcba9876543210fedcba9876543210\",\"ticket_id\":3,\"list_id\":1,"
    "\"at\":1767312060,\"gate\":\"South\",\"device\":\"dv_fedcba9876543210\","
    "\"direction\":\"exit\",\"conflict\":true}],"
    "\"cursor\":{\"revocations\":3,\"checkins\":118},\"more\":false}";

static json_t *good_page(void)
{
    json_t *page = json_loads(good_page_text, 0, NULL);
    json_t *keys = json_loads(keys_json, 0, NULL);

    if (page == NULL || keys == NULL)
        abort();
    json_object_set_new(page, "keys", keys);
    return page;
}

/* value: JSON text, "=rep:N" for a string of N 'a', NULL to delete. */
static json_t *mutation_value(const char *value)
{
    if (strncmp(value, "=rep:", 5) == 0) {
        size_t n = (size_t)atoi(value + 5);
        char *s = malloc(n + 1);
        json_t *v;
        memset(s, 'a', n);
        s[n] = '\0';
        v = json_string(s);
        free(s);
        return v;
    }
    return json_loads(value, JSON_DECODE_ANY, NULL);
}

/* Sets (or deletes) the member at a dotted path ("checkins.0.nonce"). */
static void mutate(json_t *root, const char *path, const char *value)
{
    char buf[128];
    char *tok;
    char *next;
    char *save = NULL;
    json_t *node = root;

    snprintf(buf, sizeof buf, "%s", path);
    tok = strtok_r(buf, ".", &save);
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        node = json_is_array(node) ? json_array_get(node, (size_t)atoi(tok))
                                   : json_object_get(node, tok);
        if (node == NULL) {
            adm_test_fail(__FILE__, __LINE__, "bad mutation path %s", path);
            return;
        }
        tok = next;
    }
    if (json_is_array(node)) {
        if (value == NULL)
            json_array_remove(node, (size_t)atoi(tok));
        else
            json_array_set_new(node, (size_t)atoi(tok), mutation_value(value));
    } else if (value == NULL) {
        json_object_del(node, tok);
    } else {
        json_t *v = mutation_value(value);
        if (v == NULL)
            adm_test_fail(__FILE__, __LINE__, "bad mutation value %s", value);
        json_object_set_new(node, tok, v);
    }
}

static const struct {
    const char *path;
    const char *value;
} bad_pages[] = {
    {"format", NULL},
    {"format", "\"admit-sink\""},
    {"format", "1"},
    {"version", NULL},
    {"version", "2"},
    {"version", "\"1\""},
    {"version", "1.0"},
    {"server_time", NULL},
    {"server_time", "-1"},
    {"server_time", "\"now\""},
    {"device", NULL},
    {"device", "[]"},
    {"device.id", NULL},
    {"device.id", "\"\""},
    {"device.id", "\"dv 1\""},
    {"device.id", "\"dv_0123456789abcdef0123456789abcd\""},
    {"device.gate", "\"\""},
    {"device.gate", "=rep:65"},
    {"device.gate", "7"},
    {"device.kind", "\"phone\""},
    {"device.kind", NULL},
    {"event", NULL},
    {"event", "7"},
    {"event.id", "0"},
    {"event.id", "-3"},
    {"event.id", "\"7\""},
    {"event.title", "5"},
    {"event.title", "=rep:201"},
    {"event.title", NULL},
    {"event.starts_at", "\"soon\""},
    {"event.starts_at", "-5"},
    {"event.ends_at", "null"},
    {"event.status", "\"open\""},
    {"event.status", NULL},
    {"keys", NULL},
    {"keys", "[]"},
    {"keys", "\"keys\""},
    {"keys", "{}"},
    {"keys.version", "2"},
    {"keys.format", "\"admit-sync\""},
    {"keys.keys", "{}"},
    {"keys.keys.0.public", "\"00\""},
    {"keys.keys.0.kid", "\"00000000\""},
    {"keys.keys.0.retired", "\"no\""},
    {"keys.extra", "1"},
    {"ticket_types", NULL},
    {"ticket_types", "{}"},
    {"ticket_types.0", "21"},
    {"ticket_types.0.id", "0"},
    {"ticket_types.0.id", NULL},
    {"ticket_types.0.name", "3"},
    {"ticket_types.0.name", "=rep:101"},
    {"ticket_types.1.id", "21"},
    {"checkin_lists", NULL},
    {"checkin_lists", "null"},
    {"checkin_lists.0", "[]"},
    {"checkin_lists.0.id", "null"},
    {"checkin_lists.1.id", "1"},
    {"checkin_lists.0.name", NULL},
    {"checkin_lists.0.reentry", "\"twice\""},
    {"checkin_lists.0.reentry", "\"ONCE\""},
    {"checkin_lists.0.reentry", NULL},
    {"checkin_lists.0.ticket_types", "[0]"},
    {"checkin_lists.0.ticket_types", "[\"21\"]"},
    {"checkin_lists.0.ticket_types", "\"21\""},
    {"checkin_lists.0.ticket_types", NULL},
    {"checkin_lists.0.gates", "[\"\"]"},
    {"checkin_lists.0.gates", "[5]"},
    {"checkin_lists.0.gates", "\"North\""},
    {"checkin_lists.0.gates", NULL},
    {"checkin_lists.0.gates",
     "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\","
     "\"o\",\"p\",\"q\"]"},
    {"checkin_lists.0.gates.0", "=rep:65"},
    {"revocations", NULL},
    {"revocations", "{}"},
    {"revocations.0", "3"},
    {"revocations.0.seq", "0"},
    {"revocations.0.seq", "\"2\""},
    {"revocations.0.seq", NULL},
    {"revocations.1.seq", "2"},
    {"revocations.1.seq", "1"},
    {"revocations.0.ticket_id", "-1"},
    {"revocations.0.ticket_id", NULL},
    {"revocations.0.revoked_at", "-1"},
    {"revocations.0.revoked_at", "\"yesterday\""},
    {"revocations.0.reason", "\"Refunded!\""},
    {"revocations.0.reason", "\"\""},
    {"revocations.0.reason", "=rep:33"},
    {"revocations.0.reason", NULL},
    {"checkins", NULL},
    {"checkins", "\"none\""},
    {"checkins.0", "null"},
    {"checkins.0.seq", "-117"},
    {"checkins.1.seq", "100"},
    {"checkins.1.seq", "117"},
    {"checkins.0.seq", "117.5"},
    {"checkins.0.nonce", NULL},
    {"checkins.0.nonce", "\"0123456789ABCDEF0123456789ABCDEF\""},
    {"checkins.0.nonce", "\"0123456789abcdef0123456789abcde\""},
    {"checkins.0.nonce", "\"0123456789abcdef0123456789abcdef0\""},
    {"checkins.0.nonce", "\"0123456789abcdeg0123456789abcdef\""},
    {"checkins.0.nonce", "5"},
    {"checkins.0.ticket_id", "0"},
    {"checkins.0.ticket_id", "null"},
    {"checkins.0.list_id", "\"1\""},
    {"checkins.0.list_id", "0"},
    {"checkins.0.at", "1.5"},
    {"checkins.0.at", NULL},
    {"checkins.0.gate", "\"\""},
    {"checkins.0.gate", "=rep:65"},
    {"checkins.0.device", "\"\""},
    {"checkins.0.device", "\"dv_0123456789abcdef0123456789abcd\""},
    {"checkins.0.device", "\"dv/1\""},
    {"checkins.0.device", NULL},
    {"checkins.0.direction", "\"in\""},
    {"checkins.0.direction", "\"ENTRY\""},
    {"checkins.0.direction", NULL},
    {"checkins.0.conflict", "\"false\""},
    {"checkins.0.conflict", "0"},
    {"checkins.0.conflict", NULL},
    {"cursor", NULL},
    {"cursor", "[3,118]"},
    {"cursor.revocations", "-1"},
    {"cursor.revocations", "2"},
    {"cursor.revocations", NULL},
    {"cursor.checkins", "-1"},
    {"cursor.checkins", "117"},
    {"cursor.checkins", "\"118\""},
    {"more", NULL},
    {"more", "\"false\""},
    {"more", "0"},
    {"more", "null"},
};

static const struct {
    const char *path;
    const char *value;
} good_variants[] = {
    {"more", "true"},
    {"revocations", "[]"},
    {"checkins", "[]"},
    {"checkin_lists", "[]"},
    {"ticket_types", "[]"},
    {"cursor.checkins", "500"},
    {"device.kind", "\"relay\""},
    {"device.id", "\"dv_0123456789abcdef0123456789abc\""},
    {"device.gate", "=rep:64"},
    {"checkin_lists.0.reentry", "\"unlimited\""},
    {"checkin_lists.0.gates.0", "=rep:64"},
    {"event.status", "\"ended\""},
    {"event.title", "\"\""},
    {"event.title", "=rep:200"},
    {"checkins.0.nonce", "\"ffffffffffffffffffffffffffffffff\""},
    {"revocations.0.reason", "=rep:32"},
    {"server_time", "0"},
    {"extra", "{\"future\":1}"},
    {"keys.keys", "[]"},
};

static void test_page_check(void)
{
    char why[160];
    json_t *page = good_page();
    adm_sync_cursor_t cur;
    size_t i;

    CHECK_ERR(adm_sync_page_check(page, why, sizeof why), ADM_OK);
    CHECK_STR(why, "");
    CHECK_ERR(adm_sync_page_check(page, NULL, 0), ADM_OK);
    cur = adm_sync_page_cursor(page);
    CHECK_INT(cur.revocations, 3);
    CHECK_INT(cur.checkins, 118);
    CHECK(!adm_sync_page_more(page));
    json_decref(page);

    for (i = 0; i < sizeof good_variants / sizeof good_variants[0]; i++) {
        page = good_page();
        mutate(page, good_variants[i].path, good_variants[i].value);
        if (adm_sync_page_check(page, why, sizeof why) != ADM_OK)
            adm_test_fail(__FILE__, __LINE__, "good variant %s = %s rejected: %s",
                          good_variants[i].path, good_variants[i].value, why);
        json_decref(page);
    }
    for (i = 0; i < sizeof bad_pages / sizeof bad_pages[0]; i++) {
        page = good_page();
        mutate(page, bad_pages[i].path, bad_pages[i].value);
        why[0] = '\0';
        if (adm_sync_page_check(page, why, sizeof why) != ADM_ERR_FORMAT)
            adm_test_fail(__FILE__, __LINE__, "bad page %s = %s accepted", bad_pages[i].path,
                          bad_pages[i].value ? bad_pages[i].value : "(deleted)");
        else if (why[0] == '\0')
            adm_test_fail(__FILE__, __LINE__, "bad page %s: no reason", bad_pages[i].path);
        json_decref(page);
    }

    page = json_array();
    CHECK_ERR(adm_sync_page_check(page, why, sizeof why), ADM_ERR_FORMAT);
    json_decref(page);
    CHECK_ERR(adm_sync_page_check(NULL, why, sizeof why), ADM_ERR_FORMAT);
    /* a small reason buffer is truncated, not overrun */
    page = good_page();
    mutate(page, "checkins.0.nonce", "5");
    CHECK_ERR(adm_sync_page_check(page, why, 8), ADM_ERR_FORMAT);
    CHECK_INT(strlen(why), 7);
    json_decref(page);
}

static void set_page(json_t *page)
{
    char *text = json_dumps(page, JSON_COMPACT);

    pthread_mutex_lock(&rec_lock);
    free(page_text);
    page_text = text;
    pthread_mutex_unlock(&rec_lock);
}

static void test_pull(void)
{
    adm_sync_client_t *c = client(true);
    adm_sync_cursor_t from = {.revocations = 1, .checkins = 100};
    json_t *page = good_page();
    json_t *got = NULL;

    set_page(page);
    CHECK_ERR(adm_sync_pull(c, from, 50, 0, &got), ADM_OK);
    CHECK(got != NULL);
    CHECK(json_equal(got, page));
    CHECK_INT(adm_sync_page_cursor(got).checkins, 118);
    json_decref(got);
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.url, "/v1/sync");
    CHECK_STR(rec.query, "revocations=1&checkins=100&limit=50&wait=0");
    CHECK_STR(rec.auth, "Bearer " DEVICE "." SECRET);
    pthread_mutex_unlock(&rec_lock);

    /* limit 0 leaves the server default; a long-poll wait is passed on */
    CHECK_ERR(adm_sync_pull(c, from, 0, 1, &got), ADM_OK);
    json_decref(got);
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.query, "revocations=1&checkins=100&limit=-&wait=1");
    pthread_mutex_unlock(&rec_lock);

    /* rows at or before the requested cursor are a broken page */
    from.checkins = 117;
    CHECK_ERR(adm_sync_pull(c, from, 0, 0, &got), ADM_ERR_FORMAT);
    CHECK(got == NULL);
    from.checkins = 100;
    from.revocations = 2;
    CHECK_ERR(adm_sync_pull(c, from, 0, 0, &got), ADM_ERR_FORMAT);
    from.revocations = 0;

    /* a page that fails the check is never handed out */
    mutate(page, "checkins.0.direction", "\"sideways\"");
    set_page(page);
    CHECK_ERR(adm_sync_pull(c, from, 0, 0, &got), ADM_ERR_FORMAT);
    CHECK(got == NULL);
    CHECK(contains(adm_sync_client_error(c), "direction"));

    from.checkins = -1;
    CHECK_ERR(adm_sync_pull(c, from, 0, 0, &got), ADM_ERR_INVALID_ARG);
    from.checkins = 0;
    CHECK_ERR(adm_sync_pull(c, from, 5001, 0, &got), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_pull(c, from, -1, 0, &got), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_pull(c, from, 0, ADM_SYNC_WAIT_MAX + 1, &got), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_pull(c, from, 0, -1, &got), ADM_ERR_INVALID_ARG);
    json_decref(page);
    adm_sync_client_free(c);
}

static json_t *scan_rows(size_t n)
{
    json_t *rows = json_array();
    size_t i;

    for (i = 0; i < n; i++) {
        char nonce[33];
        snprintf(nonce, sizeof nonce, "%032zx", i + 1);
        json_array_append_new(
            rows, json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:b,s:s}", "nonce", nonce,
                            "device", DEVICE, "ticket_id", (json_int_t)3, "list_id", (json_int_t)1,
                            "at", (json_int_t)1767312000, "gate", "North", "direction", "entry",
                            "verdict", "accept", "reason", "ok", "attention", 0, "text_hash", ""));
    }
    return rows;
}

static void test_push(void)
{
    adm_sync_client_t *c = client(true);
    json_t *rows = scan_rows(3);
    json_t *reply = NULL;
    json_t *sent;

    push_mode = 0;
    CHECK_ERR(adm_sync_push(c, rows, &reply), ADM_OK);
    CHECK_INT(json_array_size(json_object_get(reply, "results")), 3);
    json_decref(reply);
    CHECK_INT(rows->refcount, 1); /* borrowed, given back */
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.method, "POST");
    CHECK_STR(rec.url, "/v1/sync/checkins");
    sent = json_loads(rec.body != NULL ? rec.body : "", 0, NULL);
    pthread_mutex_unlock(&rec_lock);
    CHECK(json_equal(json_object_get(sent, "checkins"), rows));
    json_decref(sent);

    push_mode = 1;
    CHECK_ERR(adm_sync_push(c, rows, &reply), ADM_ERR_FORMAT);
    CHECK(reply == NULL);
    push_mode = 2;
    CHECK_ERR(adm_sync_push(c, rows, &reply), ADM_ERR_FORMAT);
    CHECK(reply == NULL);
    push_mode = 0;
    json_decref(rows);

    rows = json_array();
    CHECK_ERR(adm_sync_push(c, rows, &reply), ADM_ERR_INVALID_ARG);
    json_decref(rows);
    rows = scan_rows(ADM_SYNC_PUSH_MAX + 1);
    CHECK_ERR(adm_sync_push(c, rows, &reply), ADM_ERR_INVALID_ARG);
    json_decref(rows);
    rows = scan_rows(ADM_SYNC_PUSH_MAX);
    CHECK_ERR(adm_sync_push(c, rows, &reply), ADM_OK);
    json_decref(reply);
    json_decref(rows);
    CHECK_ERR(adm_sync_push(c, NULL, &reply), ADM_ERR_INVALID_ARG);
    adm_sync_client_free(c);
}

/* ---- enrollment ----------------------------------------------------------------- */

static void test_enroll(void)
{
    adm_sync_client_t *c = client(true);
    adm_enrolled_t e;
    char auth[256];
    bool has;

    CHECK_ERR(adm_sync_enroll(c, "good-token", "handheld 3", &e), ADM_OK);
    CHECK_STR(e.device_id, "dv_00000000000000aa");
    CHECK_STR(e.secret, "bmV3LXNlY3JldA");
    CHECK_INT(e.event_id, 7);
    CHECK_STR(e.gate, "North");
    CHECK(e.relay);
    rec_get(auth, sizeof auth, &has);
    CHECK(!has); /* enrollment carries no credentials */
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.body, "{\"token\":\"good-token\",\"name\":\"handheld 3\"}");
    pthread_mutex_unlock(&rec_lock);
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    rec_get(auth, sizeof auth, &has);
    CHECK_STR(auth, "Bearer dv_00000000000000aa.bmV3LXNlY3JldA");

    CHECK_ERR(adm_sync_enroll(c, "used-token", NULL, &e), ADM_ERR_HTTP_STATUS);
    CHECK_INT(adm_sync_client_status(c), 410);
    CHECK(contains(adm_sync_client_error(c), "enrollment_used"));
    CHECK_STR(e.device_id, "");
    pthread_mutex_lock(&rec_lock);
    CHECK_STR(rec.body, "{\"token\":\"used-token\"}");
    pthread_mutex_unlock(&rec_lock);
    CHECK_ERR(adm_sync_enroll(c, "unknown", NULL, &e), ADM_ERR_HTTP_STATUS);
    CHECK_INT(adm_sync_client_status(c), 404);
    CHECK_ERR(adm_sync_enroll(c, "bad-reply", NULL, &e), ADM_ERR_FORMAT);
    CHECK_ERR(adm_sync_enroll(c, "not a token", NULL, &e), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_sync_enroll(c, "", NULL, &e), ADM_ERR_INVALID_ARG);
    /* a failed enrollment keeps the credentials there were */
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    rec_get(auth, sizeof auth, &has);
    CHECK_STR(auth, "Bearer dv_00000000000000aa.bmV3LXNlY3JldA");
    adm_sync_client_free(c);
}

static void test_enroll_uri(void)
{
    char base[ADM_SYNC_URL_MAX + 1];
    char token[ADM_SYNC_TOKEN_MAX + 1];
    char uri[ADM_SYNC_URL_MAX + ADM_SYNC_TOKEN_MAX + 32];
    char longbase[ADM_SYNC_URL_MAX + 32];
    static const char *const bad[] = {
        "",
        "admit-enroll:",
        "admit-enroll:https://x.org",
        "admit-enroll:https://x.org#",
        "admit-enroll:#tok",
        "admit-enroll:ftp://x.org#tok",
        "admit-enroll:https://#tok",
        "admit-enroll:x.org#tok",
        "admit-enroll:https://x.org#tok#tok",
        "admit-enroll:https://x.org#to+k",
        "admit-enroll:https://x.org#to k",
        "admit-enroll:https://x y.org#tok",
        "admit-enroll:https://x.org?q=1#tok",
        "admit-enroll https://x.org#tok",
        "enroll:https://x.org#tok",
        "https://x.org#tok",
    };
    size_t i;

    CHECK_ERR(adm_enroll_uri_format("https://tickets.example.org",
                                    "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri, sizeof uri),
              ADM_OK);
    CHECK_STR(
        uri,
        "admit-enroll:https://tickets.example.org#3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    CHECK_ERR(adm_enroll_uri_parse(uri, base, sizeof base, token, sizeof token), ADM_OK);
    CHECK_STR(base, "https://tickets.example.org");
    CHECK_STR(token, "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

    CHECK_ERR(adm_enroll_uri_parse("  \tadmit-enroll:http://10.0.0.2:8080/admit/#a_b-c\r\n", base,
                                   sizeof base, token, sizeof token),
              ADM_OK);
    CHECK_STR(base, "http://10.0.0.2:8080/admit");
    CHECK_STR(token, "a_b-c");
    CHECK_ERR(adm_enroll_uri_format(base, token, uri, sizeof uri), ADM_OK);
    CHECK_STR(uri, "admit-enroll:http://10.0.0.2:8080/admit#a_b-c");
    CHECK_ERR(adm_enroll_uri_parse("ADMIT-ENROLL:https://[::1]:8443#t", base, sizeof base, token,
                                   sizeof token),
              ADM_OK);
    CHECK_STR(base, "https://[::1]:8443");

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        adm_err_t err = adm_enroll_uri_parse(bad[i], base, sizeof base, token, sizeof token);
        if (err != ADM_ERR_FORMAT)
            adm_test_fail(__FILE__, __LINE__, "\"%s\" -> %s, expected bad_format", bad[i],
                          adm_err_name(err));
        CHECK_STR(base, "");
        CHECK_STR(token, "");
    }

    /* over-long parts and small buffers */
    memset(token, 'A', ADM_SYNC_TOKEN_MAX);
    token[ADM_SYNC_TOKEN_MAX] = '\0';
    snprintf(uri, sizeof uri, "admit-enroll:https://x.org#%sA", token);
    CHECK_ERR(adm_enroll_uri_parse(uri, base, sizeof base, token, sizeof token), ADM_ERR_TOO_BIG);
    snprintf(uri, sizeof uri, "admit-enroll:https://x.org#%.64s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    CHECK_ERR(adm_enroll_uri_parse(uri, base, sizeof base, token, sizeof token), ADM_OK);
    CHECK_INT(strlen(token), 64);
    memset(longbase, 'a', sizeof longbase - 1);
    memcpy(longbase, "https://", 8);
    longbase[ADM_SYNC_URL_MAX + 1] = '\0';
    snprintf(uri, sizeof uri, "admit-enroll:%s#tok", longbase);
    CHECK_ERR(adm_enroll_uri_parse(uri, base, sizeof base, token, sizeof token), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_enroll_uri_parse("admit-enroll:https://x.org#tok", base, 10, token, sizeof token),
              ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_enroll_uri_parse("admit-enroll:https://x.org#tok", base, sizeof base, token, 3),
              ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_enroll_uri_format("https://x.org", "tok", uri, 20), ADM_ERR_TOO_BIG);
    CHECK_STR(uri, "");
    CHECK_ERR(adm_enroll_uri_format("ftp://x.org", "tok", uri, sizeof uri), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_enroll_uri_format("https://x.org", "t#k", uri, sizeof uri), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_enroll_uri_format("https://x.org", "", uri, sizeof uri), ADM_ERR_INVALID_ARG);
}

/* ---- backoff ----------------------------------------------------------------------- */

static void test_backoff(void)
{
    adm_backoff_t b = {0};
    long lo_seen = 1000000;
    long hi_seen = 0;
    int k;
    int i;

    for (k = 0; k < 40; k++) {
        long d = k < 7 ? 500L << k : 30000L;
        long v;
        if (d > 30000)
            d = 30000;
        v = adm_backoff_next_ms(&b);
        if (v < d / 2 || v > d)
            adm_test_fail(__FILE__, __LINE__, "attempt %d: %ld outside [%ld, %ld]", k, v, d / 2, d);
    }
    adm_backoff_reset(&b);
    CHECK_INT(b.attempt, 0);
    for (i = 0; i < 200; i++) {
        adm_backoff_t first = {0};
        long v = adm_backoff_next_ms(&first);
        CHECK(v >= 250 && v <= 500);
        lo_seen = v < lo_seen ? v : lo_seen;
        hi_seen = v > hi_seen ? v : hi_seen;
    }
    CHECK(hi_seen - lo_seen > 100); /* jitter, not a constant */
    b.attempt = 1000000;
    CHECK(adm_backoff_next_ms(&b) <= 30000);
    b.attempt = ~0u;
    CHECK(adm_backoff_next_ms(&b) >= 15000);
}

/* ---- faultproxy ---------------------------------------------------------------------- */

static void proxy_mode(const char *path, const char *mode)
{
    char tmp[PATH_MAX];

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        abort();
    write_file(tmp, mode);
    if (rename(tmp, path) != 0)
        abort();
    usleep(150 * 1000); /* the proxy re-reads every 50 ms */
}

/* Starts faultproxy in front of 127.0.0.1:target with control file control;
 * *port gets its port. 0 when ADMIT_FAULTPROXY is not set or it failed. */
static pid_t start_proxy(int target, const char *control, int *fd, int *port)
{
    const char *exe = getenv("ADMIT_FAULTPROXY");
    char tport[16];
    char line[64];
    char *argv[6];
    pid_t pid;

    *port = 0;
    if (exe == NULL)
        return 0;
    snprintf(tport, sizeof tport, "%d", target);
    argv[0] = (char *)exe;
    argv[1] = "0";
    argv[2] = "127.0.0.1";
    argv[3] = tport;
    argv[4] = (char *)control;
    argv[5] = NULL;
    pid = spawn(argv, fd, false);
    if (!read_line(*fd, line, sizeof line, 5000) || sscanf(line, "ready %d", port) != 1 ||
        *port <= 0) {
        adm_test_fail(__FILE__, __LINE__, "faultproxy did not start");
        stop_child(pid, *fd, NULL);
        *port = 0;
        return 0;
    }
    return pid;
}

/* ---- TLS with openssl s_server ------------------------------------------------------- */

static bool have_openssl(void)
{
    return system("openssl version >/dev/null 2>&1") == 0;
}

static void test_tls(void)
{
    char dir[1024];
    char cmd[8192];
    char cert[1100];
    char key[1100];
    char pin[128];
    char line[256];
    char base[64];
    char *argv[12];
    char *pintext;
    size_t pinlen;
    adm_sync_client_t *c = NULL;
    adm_sync_opts_t o = {.base_url = base, .connect_timeout_ms = 3000, .timeout_ms = 5000};
    int fd = -1;
    int port = 0;
    int pfd = -1;
    int pport = 0;
    pid_t pid;
    pid_t ppid;

    if (!have_openssl()) {
        printf("# openssl CLI not found: TLS cases skipped\n");
        return;
    }
    snprintf(dir, sizeof dir, "%s", adm_test_tmpdir());
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1 && "
             "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform der | "
             "openssl dgst -sha256 -binary | openssl enc -base64 -A > '%s/pin'",
             key, cert, cert, dir);
    CHECK_INT(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/pin", dir);
    pintext = adm_test_read_file(cmd, &pinlen);
    CHECK(pintext != NULL && pinlen == 44);
    snprintf(pin, sizeof pin, "sha256//%s", pintext != NULL ? pintext : "");
    free(pintext);

    argv[0] = "openssl";
    argv[1] = "s_server";
    argv[2] = "-accept";
    argv[3] = "127.0.0.1:0";
    argv[4] = "-www";
    argv[5] = "-cert";
    argv[6] = cert;
    argv[7] = "-key";
    argv[8] = key;
    argv[9] = NULL;
    pid = spawn(argv, &fd, false);
    while (read_line(fd, line, sizeof line, 5000))
        if (sscanf(line, "ACCEPT 127.0.0.1:%d", &port) == 1)
            break;
    CHECK(port > 0);
    if (port <= 0) {
        stop_child(pid, fd, NULL);
        remove_dir(dir);
        return;
    }
    snprintf(base, sizeof base, "https://127.0.0.1:%d", port);

    /* the system store does not trust a self-signed certificate */
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_ERR(get(c, "/"), ADM_ERR_TLS);
    CHECK(adm_sync_client_error(c)[0] != '\0');
    adm_sync_client_free(c);

    /* trusted by ca_file: the request reaches s_server, whose HTML page is not JSON */
    o.ca_file = cert;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_ERR(get(c, "/"), ADM_ERR_FORMAT);
    CHECK_INT(adm_sync_client_status(c), 200);
    adm_sync_client_free(c);

    /* the right pin passes */
    o.pin = pin;
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_ERR(get(c, "/"), ADM_ERR_FORMAT);
    adm_sync_client_free(c);

    /* a wrong pin, alone or only one of several wrong ones */
    o.pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_ERR(get(c, "/"), ADM_ERR_TLS);
    CHECK(contains(adm_sync_client_error(c), "pin") ||
          contains(adm_sync_client_error(c), "public key"));
    adm_sync_client_free(c);

    /* a file that is not a CA bundle */
    o.pin = NULL;
    o.ca_file = "/nonexistent/ca.pem";
    CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
    CHECK_ERR(get(c, "/"), ADM_ERR_TLS);
    adm_sync_client_free(c);

    /* a link that fails during the handshake is the network, not TLS */
    snprintf(cmd, sizeof cmd, "%s/control", dir);
    ppid = start_proxy(port, cmd, &pfd, &pport);
    if (ppid != 0) {
        snprintf(base, sizeof base, "https://127.0.0.1:%d", pport);
        o.ca_file = cert;
        o.timeout_ms = 800;
        CHECK_ERR(adm_sync_client_new(&o, &c), ADM_OK);
        CHECK_ERR(get(c, "/"), ADM_ERR_FORMAT); /* pass */
        proxy_mode(cmd, "down\n");
        CHECK_ERR(get(c, "/"), ADM_ERR_NETWORK);
        proxy_mode(cmd, "cut 0\n");
        CHECK_ERR(get(c, "/"), ADM_ERR_NETWORK);
        proxy_mode(cmd, "cut 40\n");
        CHECK_ERR(get(c, "/"), ADM_ERR_NETWORK);
        proxy_mode(cmd, "blackhole\n");
        CHECK_ERR(get(c, "/"), ADM_ERR_NETWORK);
        adm_sync_client_free(c);
        stop_child(ppid, pfd, NULL);
    }
    stop_child(pid, fd, NULL);
    remove_dir(dir);
}

static void test_faultproxy(void)
{
    char dir[1024];
    char control[1100];
    adm_sync_client_t *c;
    json_t *reply = NULL;
    int64_t t0;
    int64_t dt;
    int port = 0;
    int status = 0;
    int fd = -1;
    pid_t pid;

    snprintf(dir, sizeof dir, "%s", adm_test_tmpdir());
    snprintf(control, sizeof control, "%s/control", dir);
    pid = start_proxy(mhd_port, control, &fd, &port);
    if (pid == 0) {
        printf("# ADMIT_FAULTPROXY not set: faultproxy cases skipped\n");
        remove_dir(dir);
        return;
    }
    c = client_at(port, "", true, 800);

    /* missing control file: pass; the reply is whole, gzip included */
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    CHECK_ERR(adm_sync_request(c, "GET", "/gzip", NULL, 0, &reply), ADM_OK);
    json_decref(reply);
    CHECK_ERR(get(c, "/blob"), ADM_OK);
    CHECK_ERR(get(c, "/status/401"), ADM_ERR_UNAUTHORIZED);

    /* the link dies 50 bytes into a 4 KiB reply: an error, never half a page */
    proxy_mode(control, "cut 50\n");
    CHECK_ERR(get(c, "/blob"), ADM_ERR_NETWORK);
    CHECK_ERR(get(c, "/blob"), ADM_ERR_NETWORK);

    /* slow link: each chunk held 300 ms, the reply still arrives */
    proxy_mode(control, "delay 300\n");
    t0 = now_ms();
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    dt = now_ms() - t0;
    CHECK(dt >= 550); /* request and reply both held */

    /* a link that swallows everything: the timeout ends the wait */
    proxy_mode(control, "blackhole\n");
    t0 = now_ms();
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);
    dt = now_ms() - t0;
    CHECK(dt >= 700 && dt < 3000);

    /* back to pass: the same handle recovers */
    proxy_mode(control, "pass\n");
    CHECK_ERR(get(c, "/echo"), ADM_OK);

    /* down: the live keep-alive connection is reset, new ones are refused */
    proxy_mode(control, "down\n");
    t0 = now_ms();
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);
    CHECK(now_ms() - t0 < 700);
    CHECK_ERR(get(c, "/echo"), ADM_ERR_NETWORK);

    proxy_mode(control, "pass\n");
    CHECK_ERR(get(c, "/echo"), ADM_OK);
    adm_sync_client_free(c);

    stop_child(pid, fd, &status);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    remove_dir(dir);
}

int main(void)
{
    adm_keyring_t *kr = NULL;
    uint32_t kid;

    /* loopback only: no proxy from the environment */
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    setenv("NO_PROXY", "*", 1);
    signal(SIGPIPE, SIG_IGN);

    if (adm_keyring_new(&kr) != ADM_OK || adm_keyring_generate(kr, &kid) != ADM_OK ||
        adm_keyring_generate(kr, &kid) != ADM_OK ||
        adm_keyring_public_json(kr, &keys_json) != ADM_OK)
        abort();
    adm_keyring_free(kr);
    make_gzip();
    server_start();

    ADM_RUN(test_options);
    ADM_RUN(test_https_only);
    ADM_RUN(test_auth_header);
    ADM_RUN(test_gzip);
    ADM_RUN(test_request_args);
    ADM_RUN(test_status_mapping);
    ADM_RUN(test_not_json);
    ADM_RUN(test_truncated);
    ADM_RUN(test_too_big);
    ADM_RUN(test_timeout);
    ADM_RUN(test_abort);
    ADM_RUN(test_page_check);
    ADM_RUN(test_pull);
    ADM_RUN(test_push);
    ADM_RUN(test_enroll);
    ADM_RUN(test_enroll_uri);
    ADM_RUN(test_backoff);
    ADM_RUN(test_tls);
    ADM_RUN(test_faultproxy);

    MHD_stop_daemon(mhd);
    free(page_text);
    free(rec.body);
    free(keys_json);
    return adm_test_done();
}
