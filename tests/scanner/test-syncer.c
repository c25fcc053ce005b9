/* test-syncer.c: integration tests of scanner/syncer.c and scanner/enroll.c
 * against a fake sync server in this process (libmicrohttpd, one thread per
 * connection so a long-poll really blocks): one-shot rounds, the background
 * syncer's two threads (an upload is not stuck behind a pending long-poll; a
 * feed row arrives while one waits; stop aborts it), offline retries and the
 * link coming back, the fatal errors, and enrollment's outcomes. Not
 * admitd's endpoints (tests/e2e). */
#include "scanner/syncer.h"

#include "scanner/enroll.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sync/keyring.h"
#include "sync/token.h"
#include "tests/testutil/testutil.h"

#define EVENT 7
#define ME "dv_00000000000000aa"
#define DEV_B "dv_00000000000000bb"
#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw"

/* ---- the fake server ----------------------------------------------------------- */

enum { MODE_OK, MODE_DOWN, MODE_REVOKED, MODE_UNAUTHORIZED };

static struct MHD_Daemon *mhd;
static int port;
static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t srv_cv = PTHREAD_COND_INITIALIZER; /* a feed row was added, or shutdown */
static json_t *feed;                                     /* check-in rows, by seq */
static json_t *seen;                                     /* nonce -> seq of uploaded rows */
static int mode;                                         /* MODE_* */
static int polls_waiting;                                /* long-polls blocked right now */
static bool shutting_down;
static uint64_t conflict_ticket; /* uploads of this ticket are flagged */
static bool feed_down;           /* GET /v1/sync answers 503, enrollment still works */
static char *keys_json;

struct req {
    char *body;
    size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    json_decref(doc);
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* a feed row (under srv_lock) */
static void feed_add(const char *nonce, uint64_t ticket, int64_t at, const char *gate,
                     const char *device, bool conflict)
{
    json_array_append_new(feed, json_pack("{s:I,s:s,s:I,s:i,s:I,s:s,s:s,s:s,s:b}", "seq",
                                          (json_int_t)json_array_size(feed) + 1, "nonce", nonce,
                                          "ticket_id", (json_int_t)ticket, "list_id", 1, "at",
                                          (json_int_t)at, "gate", gate, "device", device,
                                          "direction", "entry", "conflict", (int)conflict));
    pthread_cond_broadcast(&srv_cv);
}

static enum MHD_Result get_sync(struct MHD_Connection *conn)
{
    const char *c = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "checkins");
    const char *w = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait");
    int64_t after = c ? strtoll(c, NULL, 10) : 0;
    int wait_s = w ? atoi(w) : 0;
    struct timespec until;
    json_t *rows = json_array(), *page;
    size_t i;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_s;
    pthread_mutex_lock(&srv_lock);
    /* the long-poll: hold while nothing is after the cursor */
    polls_waiting++;
    while (!shutting_down && (int64_t)json_array_size(feed) <= after && wait_s > 0 &&
           pthread_cond_timedwait(&srv_cv, &srv_lock, &until) == 0)
        ;
    polls_waiting--;
    for (i = (size_t)after; i < json_array_size(feed); i++)
        json_array_append(rows, json_array_get(feed, i));
    page = json_pack(
        "{s:s,s:i,s:I,s:{s:s,s:s,s:s},s:{s:i,s:s,s:i,s:i,s:s},s:o,s:[{s:i,s:s}],"
        "s:[{s:i,s:s,s:s,s:[i],s:[]}],s:[],s:o,s:{s:i,s:I},s:b}",
        "format", "admit-sync", "version", 1, "server_time", (json_int_t)time(NULL), "device", "id",
        ME, "gate", "North", "kind", "gate", "event", "id", EVENT, "title", "Test", "starts_at", 0,
        "ends_at", 2000000000, "status", "on_sale", "keys", json_loads(keys_json, 0, NULL),
        "ticket_types", "id", 21, "name", "GA", "checkin_lists", "id", 1, "name", "Main", "reentry",
        "once", "ticket_types", 21, "gates", "revocations", "checkins", rows, "cursor",
        "revocations", 0, "checkins",
        (json_int_t)(after > (int64_t)json_array_size(feed) ? after
                                                            : (int64_t)json_array_size(feed)),
        "more", 0);
    pthread_mutex_unlock(&srv_lock);
    return reply(conn, 200, page);
}

static enum MHD_Result post_checkins(struct MHD_Connection *conn, const char *body)
{
    json_t *in = json_loads(body ? body : "", 0, NULL), *results = json_array(), *row;
    size_t i, stored = 0;

    if (!json_is_array(json_object_get(in, "checkins")))
        return json_decref(in), json_decref(results),
               reply(conn, 400, json_pack("{s:s}", "error", "bad_request"));
    pthread_mutex_lock(&srv_lock);
    json_array_foreach(json_object_get(in, "checkins"), i, row)
    {
        const char *nonce = json_string_value(json_object_get(row, "nonce"));
        uint64_t ticket = (uint64_t)json_integer_value(json_object_get(row, "ticket_id"));
        bool fresh = json_object_get(seen, nonce) == NULL, flagged = ticket == conflict_ticket;
        if (fresh) {
            feed_add(nonce, ticket, json_integer_value(json_object_get(row, "at")),
                     json_string_value(json_object_get(row, "gate")),
                     json_string_value(json_object_get(row, "device")), flagged);
            json_object_set_new(seen, nonce, json_integer((json_int_t)json_array_size(feed)));
            stored++;
        }
        json_array_append_new(results, json_pack("{s:s,s:I,s:b,s:b}", "nonce", nonce, "seq",
                                                 json_integer_value(json_object_get(seen, nonce)),
                                                 "stored", (int)fresh, "conflict", (int)flagged));
    }
    pthread_mutex_unlock(&srv_lock);
    i = json_array_size(results);
    json_decref(in);
    return reply(conn, 200,
                 json_pack("{s:I,s:I,s:o}", "stored", (json_int_t)stored, "duplicates",
                           (json_int_t)(i - stored), "results", results));
}

/* POST /v1/devices/enroll: the token says what happens (good: event EVENT,
 * other: event EVENT + 1, relay: a relay, used: 410, anything else: 404) */
static enum MHD_Result post_enroll(struct MHD_Connection *conn, const char *body)
{
    json_t *in = json_loads(body ? body : "", 0, NULL);
    const char *t = json_string_value(json_object_get(in, "token"));
    enum MHD_Result ret;

    if (t == NULL)
        ret = reply(conn, 400, json_pack("{s:s}", "error", "bad_request"));
    else if (strcmp(t, "used") == 0)
        ret = reply(conn, 410, json_pack("{s:s,s:s}", "error", "gone", "message", "token used"));
    else if (strcmp(t, "good") != 0 && strcmp(t, "other") != 0 && strcmp(t, "relay") != 0)
        ret = reply(conn, 404, json_pack("{s:s}", "error", "not_found"));
    else
        ret = reply(conn, 200,
                    json_pack("{s:s,s:s,s:i,s:s,s:s}", "device_id", ME, "secret", SECRET,
                              "event_id", strcmp(t, "other") == 0 ? EVENT + 1 : EVENT, "gate",
                              "North", "kind", strcmp(t, "relay") == 0 ? "relay" : "gate"));
    json_decref(in);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct req *q = *con_cls;
    int m;

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
    pthread_mutex_lock(&srv_lock);
    m = mode;
    if (feed_down && strcmp(url, "/v1/sync") == 0)
        m = MODE_DOWN;
    pthread_mutex_unlock(&srv_lock);
    if (m == MODE_DOWN)
        return reply(conn, 503, json_pack("{s:s}", "error", "unavailable"));
    if (m == MODE_REVOKED)
        return reply(conn, 403, json_pack("{s:s}", "error", "device_revoked"));
    if (m == MODE_UNAUTHORIZED)
        return reply(conn, 401, json_pack("{s:s}", "error", "unauthorized"));
    if (strcmp(url, "/v1/sync") == 0 && strcmp(method, "GET") == 0)
        return get_sync(conn);
    if (strcmp(url, "/v1/sync/checkins") == 0 && strcmp(method, "POST") == 0)
        return post_checkins(conn, q->body);
    if (strcmp(url, "/v1/devices/enroll") == 0 && strcmp(method, "POST") == 0)
        return post_enroll(conn, q->body);
    return reply(conn, 404, json_pack("{s:s}", "error", "not_found"));
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

static void server_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    feed = json_array();
    seen = json_object();
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                               MHD_USE_ERROR_LOG,
                           0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
                           (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (mhd == NULL || feed == NULL || seen == NULL) {
        fprintf(stderr, "cannot start libmicrohttpd\n");
        exit(1);
    }
    port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void server_stop(void)
{
    pthread_mutex_lock(&srv_lock);
    shutting_down = true;
    pthread_cond_broadcast(&srv_cv);
    pthread_mutex_unlock(&srv_lock);
    MHD_stop_daemon(mhd);
    json_decref(feed);
    json_decref(seen);
}

static void server_reset(int m)
{
    pthread_mutex_lock(&srv_lock);
    json_array_clear(feed);
    json_object_clear(seen);
    mode = m;
    conflict_ticket = 0;
    feed_down = false;
    pthread_mutex_unlock(&srv_lock);
}

static void server_mode(int m)
{
    pthread_mutex_lock(&srv_lock);
    mode = m;
    pthread_mutex_unlock(&srv_lock);
}

static bool server_has(const char *nonce)
{
    bool v;
    pthread_mutex_lock(&srv_lock);
    v = json_object_get(seen, nonce) != NULL;
    pthread_mutex_unlock(&srv_lock);
    return v;
}

static int server_polls_waiting(void)
{
    int v;
    pthread_mutex_lock(&srv_lock);
    v = polls_waiting;
    pthread_mutex_unlock(&srv_lock);
    return v;
}

/* ---- the gate side -------------------------------------------------------------- */

static adm_keyring_t *issuer;
static uint32_t kid;
static char dbpath[512];
static adm_gate_t *g;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* an enrolled store pointing at the fake server */
static void open_enrolled(void)
{
    adm_gate_sync_conf_t c;

    snprintf(dbpath, sizeof dbpath, "%s/gate.db", adm_test_tmpdir());
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    memset(&c, 0, sizeof c);
    snprintf(c.server, sizeof c.server, "http://127.0.0.1:%d", port);
    snprintf(c.device_id, sizeof c.device_id, ME);
    snprintf(c.secret, sizeof c.secret, SECRET);
    snprintf(c.gate, sizeof c.gate, "North");
    c.event_id = EVENT;
    c.allow_http = true;
    CHECK_ERR(adm_gate_sync_enroll_store(g, &c), ADM_OK);
}

/* scans ticket id on list 1 at North; returns the verdict, nonce to out */
static adm_verdict_t scan(uint64_t id, char *nonce_out)
{
    adm_ticket_t t;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len = 0;
    adm_gate_result_t r;
    adm_gate_ctx_t ctx = {.list_id = 1, .gate = "North", .direction = ADM_DIRECTION_ENTRY};

    memset(&t, 0, sizeof t);
    t.event_id = EVENT;
    t.ticket_id = id;
    t.type_id = 21;
    CHECK_ERR(adm_token_encode(&t, issuer, kid, text, sizeof text, &len), ADM_OK);
    CHECK_ERR(adm_gate_scan(g, text, len, (int64_t)time(NULL), &ctx, &r), ADM_OK);
    if (nonce_out != NULL)
        memcpy(nonce_out, r.nonce, sizeof r.nonce);
    return r.verdict;
}

static int64_t status_int(const char *key)
{
    json_t *s = NULL;
    int64_t v;
    CHECK_ERR(adm_gate_status_json(g, &s), ADM_OK);
    v = json_integer_value(json_object_get(s, key));
    json_decref(s);
    return v;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_round(void)
{
    adm_sync_client_t *c = NULL;
    adm_syncer_round_t r = {0};
    char n1[ADM_GATE_NONCE_HEX + 1], n2[ADM_GATE_NONCE_HEX + 1];

    server_reset(MODE_OK);
    open_enrolled();
    CHECK_ERR(adm_syncer_client_new(g, &c), ADM_OK);
    /* the first round is the snapshot: event and keys, nothing to upload */
    CHECK_ERR(adm_syncer_round(g, c, &r), ADM_OK);
    CHECK_INT(r.pushed, 0);
    CHECK_INT(r.pages, 1);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    /* scans go up; the flagged one comes back flagged; own rows are not remote */
    pthread_mutex_lock(&srv_lock);
    conflict_ticket = 2;
    pthread_mutex_unlock(&srv_lock);
    CHECK_INT(scan(1, n1), ADM_VERDICT_ACCEPT);
    CHECK_INT(scan(2, n2), ADM_VERDICT_ACCEPT);
    CHECK_INT(scan(1, NULL), ADM_VERDICT_ALREADY_USED);
    memset(&r, 0, sizeof r);
    CHECK_ERR(adm_syncer_round(g, c, &r), ADM_OK);
    CHECK_INT(r.pushed, 3);
    CHECK_INT(r.conflicts, 1);
    CHECK_INT(r.checkins, 0);
    CHECK_INT(r.cursor.checkins, 3);
    CHECK(server_has(n1) && server_has(n2));
    CHECK_INT(status_int("pending_uploads"), 0);
    CHECK_INT(status_int("conflicts"), 1);
    CHECK_INT(status_int("remote_checkins"), 0);
    /* another device's entry arrives with the next round */
    pthread_mutex_lock(&srv_lock);
    feed_add("000000000000000000000000000000b1", 5, time(NULL) - 5, "South", DEV_B, false);
    pthread_mutex_unlock(&srv_lock);
    memset(&r, 0, sizeof r);
    CHECK_ERR(adm_syncer_round(g, c, &r), ADM_OK);
    CHECK_INT(r.checkins, 1);
    CHECK_INT(scan(5, NULL), ADM_VERDICT_ALREADY_USED);
    /* the server down: the round fails, the row stays pending */
    server_mode(MODE_DOWN);
    memset(&r, 0, sizeof r);
    CHECK_ERR(adm_syncer_round(g, c, &r), ADM_ERR_HTTP_STATUS);
    CHECK_INT(status_int("pending_uploads"), 1);
    server_mode(MODE_OK);
    CHECK_ERR(adm_syncer_round(g, c, &r), ADM_OK);
    CHECK_INT(status_int("pending_uploads"), 0);
    adm_sync_client_free(c);
    adm_gate_close(g);
}

static atomic_int conflicts_seen;
static void on_conflict(void *ud, const char *nonce)
{
    (void)ud;
    CHECK_INT(strlen(nonce), ADM_GATE_NONCE_HEX);
    atomic_fetch_add(&conflicts_seen, 1);
}

/* The background syncer: a scan goes up at once although the feed thread is
 * blocked in a long-poll; a feed row ends the long-poll; stop aborts it. */
static void test_follow(void)
{
    adm_syncer_t *s = NULL;
    adm_syncer_status_t st;
    adm_syncer_opts_t o = {.conflict = on_conflict};
    char n1[ADM_GATE_NONCE_HEX + 1];
    int64_t t0, took;
    int i;

    server_reset(MODE_OK);
    open_enrolled();
    CHECK_ERR(adm_syncer_start(dbpath, &o, &s), ADM_OK);
    CHECK(adm_syncer_wait_caught_up(s, 5000));
    adm_syncer_status(s, &st);
    CHECK(st.running && st.online && st.caught_up && st.last_sync > 0);
    /* the feed thread is now waiting in its 25 s long-poll */
    for (i = 0; i < 100 && server_polls_waiting() == 0; i++)
        sleep_ms(20);
    CHECK(server_polls_waiting() > 0);
    pthread_mutex_lock(&srv_lock);
    conflict_ticket = 1;
    pthread_mutex_unlock(&srv_lock);
    CHECK_INT(scan(1, n1), ADM_VERDICT_ACCEPT);
    t0 = now_ms();
    adm_syncer_notify(s);
    while (!server_has(n1) && now_ms() - t0 < 5000)
        sleep_ms(5);
    took = now_ms() - t0;
    CHECK(server_has(n1));
    CHECK(took < 1000);
    fprintf(stderr, "scan uploaded %lld ms after notify, with a long-poll pending\n",
            (long long)took);
    CHECK(adm_syncer_flush(s, 5000));
    adm_syncer_status(s, &st);
    CHECK_INT(st.pending, 0);
    CHECK_INT(st.pushed, 1);
    CHECK_INT(st.conflicts, 1);
    CHECK_INT(atomic_load(&conflicts_seen), 1);
    /* another device's entry: the long-poll returns it */
    t0 = now_ms();
    pthread_mutex_lock(&srv_lock);
    feed_add("000000000000000000000000000000b2", 7, time(NULL), "South", DEV_B, false);
    pthread_mutex_unlock(&srv_lock);
    while (status_int("remote_checkins") < 1 && now_ms() - t0 < 5000)
        sleep_ms(10);
    took = now_ms() - t0;
    CHECK_INT(status_int("remote_checkins"), 1);
    CHECK(took < 1000);
    fprintf(stderr, "a remote entry reached the store %lld ms after the server had it\n",
            (long long)took);
    CHECK_INT(scan(7, NULL), ADM_VERDICT_ALREADY_USED); /* and the scanning handle sees it */
    /* stop cuts the pending long-poll */
    for (i = 0; i < 100 && server_polls_waiting() == 0; i++)
        sleep_ms(20);
    t0 = now_ms();
    adm_syncer_stop(s);
    took = now_ms() - t0;
    CHECK(took < 1500);
    fprintf(stderr, "stopped in %lld ms with a long-poll pending\n", (long long)took);
    adm_gate_close(g);
}

/* Offline at start: retries with backoff; the link back unblocks the upload. */
static void test_offline_then_back(void)
{
    adm_syncer_t *s = NULL;
    adm_syncer_status_t st;
    char n1[ADM_GATE_NONCE_HEX + 1];

    server_reset(MODE_OK);
    open_enrolled();
    {
        adm_sync_client_t *c = NULL;
        adm_syncer_round_t r = {0};
        CHECK_ERR(adm_syncer_client_new(g, &c), ADM_OK);
        CHECK_ERR(adm_syncer_round(g, c, &r), ADM_OK); /* the event, for scanning */
        adm_sync_client_free(c);
    }
    server_mode(MODE_DOWN);
    CHECK_ERR(adm_syncer_start(dbpath, NULL, &s), ADM_OK);
    CHECK(!adm_syncer_wait_caught_up(s, 5000));
    adm_syncer_status(s, &st);
    CHECK(st.running && !st.online);
    CHECK_INT(st.last_err, ADM_ERR_HTTP_STATUS);
    CHECK(strstr(st.last_error, "503") != NULL);
    CHECK_INT(scan(3, n1), ADM_VERDICT_ACCEPT);
    adm_syncer_notify(s);
    CHECK(!adm_syncer_flush(s, 800));
    adm_syncer_status(s, &st);
    CHECK_INT(st.pending, 1);
    CHECK(!server_has(n1));
    server_mode(MODE_OK);
    CHECK(adm_syncer_flush(s, 20000));
    CHECK(server_has(n1));
    adm_syncer_status(s, &st);
    CHECK(st.online && st.last_err == ADM_OK && st.last_error[0] == '\0');
    adm_syncer_stop(s);
    adm_gate_close(g);
}

/* A revoked device and refused credentials stop the syncer by itself. */
static void test_fatal(void)
{
    static const int modes[] = {MODE_REVOKED, MODE_UNAUTHORIZED};
    static const adm_err_t errs[] = {ADM_ERR_REVOKED, ADM_ERR_UNAUTHORIZED};

    for (size_t k = 0; k < 2; k++) {
        adm_syncer_t *s = NULL;
        adm_syncer_status_t st;
        int64_t t0;
        server_reset(modes[k]);
        open_enrolled();
        CHECK_ERR(adm_syncer_start(dbpath, NULL, &s), ADM_OK);
        t0 = now_ms();
        do {
            sleep_ms(20);
            adm_syncer_status(s, &st);
        } while (st.running && now_ms() - t0 < 5000);
        CHECK(!st.running);
        CHECK_INT(st.fatal, errs[k]);
        CHECK(strstr(st.last_error, "enroll it again") != NULL);
        CHECK(!adm_syncer_flush(s, 100));
        adm_syncer_stop(s);
        adm_gate_close(g);
    }
    /* not enrolled: refused at start */
    {
        adm_syncer_t *s = NULL;
        snprintf(dbpath, sizeof dbpath, "%s/plain.db", adm_test_tmpdir());
        CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
        adm_gate_close(g);
        CHECK_ERR(adm_syncer_start(dbpath, NULL, &s), ADM_ERR_NOT_FOUND);
        CHECK(s == NULL);
    }
}

/* adm_gate_enroll() with code token on a fresh store (or the open one) */
static adm_err_t enroll(const char *token, bool allow_http, adm_gate_enroll_result_t *res,
                        char *why, size_t cap)
{
    adm_gate_enroll_opts_t o = {.name = "test gate", .allow_http = allow_http};
    char uri[128];

    snprintf(uri, sizeof uri, " admit-enroll:http://127.0.0.1:%d#%s\n", port, token);
    return adm_gate_enroll(g, uri, &o, res, why, cap);
}

static void test_enroll(void)
{
    adm_gate_enroll_result_t res;
    adm_gate_sync_conf_t conf;
    char why[ADM_GATE_ENROLL_WHY_MAX];
    static const struct {
        const char *token;
        bool allow_http;
        adm_err_t err;
        const char *says;
    } bad[] = {
        {"good", false, ADM_ERR_INVALID_ARG, "--insecure-http"},
        {"used", true, ADM_ERR_EXPIRED, "already used or has expired"},
        {"nope", true, ADM_ERR_NOT_FOUND, "does not know this enrollment code"},
        {"relay", true, ADM_ERR_STATE, "edge relay"},
    };

    server_reset(MODE_OK);
    snprintf(dbpath, sizeof dbpath, "%s/enroll.db", adm_test_tmpdir());
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    /* refusals leave the store unenrolled; the token never shows */
    CHECK_ERR(adm_gate_enroll(g, "https://x.example#good", NULL, &res, why, sizeof why),
              ADM_ERR_FORMAT);
    CHECK(strstr(why, "not an enrollment code") != NULL);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK_ERR(enroll(bad[k].token, bad[k].allow_http, &res, why, sizeof why), bad[k].err);
        CHECK(strstr(why, bad[k].says) != NULL);
        CHECK(res.device_id[0] == '\0');
        CHECK_ERR(adm_gate_sync_conf_get(g, &conf), ADM_ERR_NOT_FOUND);
    }
    /* down: a network error, said as such */
    CHECK_ERR(adm_gate_enroll(g, "admit-enroll:http://127.0.0.1:1#good",
                              &(adm_gate_enroll_opts_t){.allow_http = true}, NULL, why, sizeof why),
              ADM_ERR_NETWORK);
    CHECK(strstr(why, "cannot be reached") != NULL && strstr(why, "good") == NULL);
    /* success: stored, and the first sync brought the event */
    CHECK_ERR(enroll("good", true, &res, why, sizeof why), ADM_OK);
    CHECK_STR(res.device_id, ME);
    CHECK_STR(res.gate, "North");
    CHECK_INT(res.event_id, EVENT);
    CHECK_INT(res.sync_err, ADM_OK);
    CHECK_INT(res.round.pages, 1);
    CHECK_STR(why, "Enrolled as " ME " for event 7 at gate North.");
    CHECK_INT(adm_gate_event_id(g), EVENT);
    CHECK_ERR(adm_gate_sync_conf_get(g, &conf), ADM_OK);
    CHECK_STR(conf.secret, SECRET);
    CHECK(conf.allow_http);
    adm_gate_sync_conf_wipe(&conf);
    /* a scan, then a code of another event: refused, the enrollment kept */
    CHECK_INT(scan(1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_ERR(enroll("other", true, &res, why, sizeof why), ADM_ERR_CONFLICT);
    CHECK(strstr(why, "holds scans of event 7") != NULL);
    CHECK_ERR(adm_gate_sync_conf_get(g, &conf), ADM_OK);
    CHECK_INT(conf.event_id, EVENT);
    adm_gate_sync_conf_wipe(&conf);
    /* the first sync failing is not an enrollment failure */
    pthread_mutex_lock(&srv_lock);
    feed_down = true;
    pthread_mutex_unlock(&srv_lock);
    CHECK_ERR(enroll("good", true, &res, why, sizeof why), ADM_OK);
    CHECK_INT(res.sync_err, ADM_ERR_HTTP_STATUS);
    CHECK_STR(res.device_id, ME);
    CHECK(strstr(why, "but the first sync failed") != NULL && strstr(why, "503") != NULL);
    adm_gate_close(g);
}

int main(void)
{
    CHECK_ERR(adm_crypto_init(), ADM_OK);
    if (adm_keyring_new(&issuer) != ADM_OK || adm_keyring_generate(issuer, &kid) != ADM_OK ||
        adm_keyring_public_json(issuer, &keys_json) != ADM_OK)
        abort();
    server_start();
    ADM_RUN(test_round);
    ADM_RUN(test_follow);
    ADM_RUN(test_offline_then_back);
    ADM_RUN(test_fatal);
    ADM_RUN(test_enroll);
    server_stop();
    adm_keyring_free(issuer);
    free(keys_json);
    return adm_test_done();
}
