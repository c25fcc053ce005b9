/* test-oversell.c: the concurrency acceptance test on the real executables.
 * 200 clients (100 customer accounts, two devices each), started together
 * behind a barrier, race for 100 free seats through admitd (one process on
 * SQLite; two processes on one MariaDB when ADMIT_TEST_MYSQL_PRIMARY is set):
 * exactly 100 tickets must come out, all distinct, all verifying against the
 * event's public keys, with no 5xx and no transport error.
 * Not a benchmark: timings are printed, never asserted. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sync/keyring.h"
#include "sync/token.h"
#include "tests/testutil/testutil.h"

#define BUYERS 200
#define ACCOUNTS 100 /* each shared by BUYERS / ACCOUNTS buyers: see below */
#define SEATS 100
#define MAX_WANT 3  /* each buyer wants 1..MAX_WANT seats */
#define PER_ORDER 4 /* the ticket type's per-order limit */
#define MAX_SERVERS 2
#define RESP_MAX (64 * 1024) /* largest response body a client accepts */
#define CTL_OUT_MAX (64 * 1024)
#define PASSWORD "oversell-password"
#define TOKEN_MAX 128
#define PROBLEM_MAX 512
#define DIR_MAX 512       /* the run's temporary directory */
#define FILE_MAX 1024     /* a file in it, or an executable */
#define START_WAIT_S 30   /* for admitd to print its port */
#define STOP_WAIT_S 20    /* for admitd to exit after SIGTERM (its own limit is 10 s) */
#define REPLICA_WAIT_S 10 /* for a replica to show what the primary has */

/* ---- admitd processes ----------------------------------------------------------- */

struct server {
    pid_t pid; /* 0 when not running */
    uint16_t port;
    char base[64]; /* http://127.0.0.1:PORT */
    char out[FILE_MAX], err[FILE_MAX];
};

/* Global so the atexit() handler finds them whatever way the test ends. */
static struct server servers[MAX_SERVERS];

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Starts argv[0] with stdout and stderr in the files out and err. The child
 * gets SIGKILL if this process dies first, so no server outlives a crashed or
 * killed test. Returns the pid, or -1 (reported) on failure. */
static pid_t spawn(const char *const *argv, const char *out, const char *err)
{
    pid_t pid = fork();

    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) { /* only async-signal-safe calls until exec */
        int in = open("/dev/null", O_RDONLY);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || fo < 0 || fe < 0 || dup2(in, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits up to secs for pid; returns its wait status, or -1 if it is still running. */
static int wait_for(pid_t pid, double secs)
{
    double deadline = now_s() + secs;
    int st = 0;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_s() > deadline)
            return -1;
        sleep_ms(20);
    }
}

static void print_tail(const char *what, const char *path)
{
    size_t len = 0;
    char *text = adm_test_read_file(path, &len);
    const char *from;

    if (text == NULL)
        return;
    from = len > 3000 ? text + len - 3000 : text;
    fprintf(stderr, "---- %s (%s)%s\n%s\n----\n", what, path,
            from != text ? ", last 3000 bytes" : "", from);
    free(text);
}

/* Stops every running admitd: SIGTERM, then SIGKILL if it does not exit in
 * time. With check, a server that did not exit with status 0 is a failure
 * (a crash or a sanitizer report under load shows up here). */
static void stop_servers(bool check)
{
    int i;

    for (i = 0; i < MAX_SERVERS; i++)
        if (servers[i].pid > 0)
            kill(servers[i].pid, SIGTERM);
    for (i = 0; i < MAX_SERVERS; i++) {
        struct server *s = &servers[i];
        int st;

        if (s->pid <= 0)
            continue;
        st = wait_for(s->pid, STOP_WAIT_S);
        if (st == -1) {
            kill(s->pid, SIGKILL);
            (void)waitpid(s->pid, &st, 0);
            if (check)
                adm_test_fail(__FILE__, __LINE__, "admitd %d did not stop within %d s of SIGTERM",
                              i, STOP_WAIT_S);
        } else if (check && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            adm_test_fail(__FILE__, __LINE__, "admitd %d ended with %s %d after SIGTERM", i,
                          WIFEXITED(st) ? "exit status" : "signal",
                          WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            print_tail("admitd stderr", s->err);
        }
        s->pid = 0;
    }
}

static void stop_servers_atexit(void)
{
    stop_servers(false);
}

/* Starts admitd number idx on the database options db (NULL-terminated) and
 * waits for "admitd listening on 127.0.0.1:PORT". false (reported) on failure. */
static bool start_server(int idx, const char *dir, const char *const *db)
{
    struct server *s = &servers[idx];
    const char *argv[32];
    char exe[FILE_MAX];
    const char *build = getenv("ADMIT_BUILDDIR");
    double deadline;
    size_t n = 0;

    snprintf(exe, sizeof exe, "%.500s/server/admitd", build);
    snprintf(s->out, sizeof s->out, "%.500s/admitd%d.out", dir, idx);
    snprintf(s->err, sizeof s->err, "%.500s/admitd%d.err", dir, idx);
    argv[n++] = exe;
    for (; *db != NULL && n < 24; db++)
        argv[n++] = *db;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--access-log";
    argv[n++] = "false";
    argv[n] = NULL;
    s->pid = spawn(argv, s->out, s->err);
    if (s->pid < 0) {
        s->pid = 0;
        adm_test_fail(__FILE__, __LINE__, "cannot start %s", exe);
        return false;
    }
    deadline = now_s() + START_WAIT_S;
    while (now_s() < deadline) {
        char *text = adm_test_read_file(s->out, NULL);
        const char *p = text ? strstr(text, "admitd listening on 127.0.0.1:") : NULL;
        unsigned port = 0;
        int st;

        if (p != NULL && strchr(p, '\n') != NULL &&
            sscanf(p, "admitd listening on 127.0.0.1:%u", &port) == 1 && port > 0 &&
            port <= 65535) {
            free(text);
            s->port = (uint16_t)port;
            snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", port);
            return true;
        }
        free(text);
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            adm_test_fail(__FILE__, __LINE__, "admitd %d exited at start-up", idx);
            print_tail("admitd stderr", s->err);
            return false;
        }
        sleep_ms(20);
    }
    adm_test_fail(__FILE__, __LINE__, "admitd %d did not report its port within %d s", idx,
                  START_WAIT_S);
    print_tail("admitd stderr", s->err);
    return false;
}

/* ---- admitctl ----------------------------------------------------------------- */

struct run {
    const char *label; /* "sqlite" or "mysql" */
    int nservers;
    char dir[DIR_MAX];
    const char *db[8]; /* database options for admitctl and admitd, NULL-terminated */
    char id[17];       /* random run id (and PRNG seed): unique names and emails */
    char org_email[128];
    char org_token[TOKEN_MAX];
    int64_t event, type;
    pthread_barrier_t go;
};

/* Runs admitctl with args (NULL-terminated), then the database options;
 * its stdout goes to out (cap bytes, NUL-terminated). Returns its exit status,
 * or -1 if it could not run or was killed (both reported, with its stderr). */
static int ctl(const struct run *r, char *out, size_t cap, const char *const *args)
{
    const char *argv[32];
    char exe[FILE_MAX], opath[FILE_MAX], epath[FILE_MAX];
    const char *const *db;
    const char *sub, *sub2;
    size_t n = 0, len = 0;
    char *text;
    pid_t pid;
    int st = 0;

    snprintf(exe, sizeof exe, "%.500s/server/admitctl", getenv("ADMIT_BUILDDIR"));
    snprintf(opath, sizeof opath, "%.500s/admitctl.out", r->dir);
    snprintf(epath, sizeof epath, "%.500s/admitctl.err", r->dir);
    argv[n++] = exe;
    for (; *args != NULL && n < 20; args++)
        argv[n++] = *args;
    for (db = r->db; *db != NULL && n < 30; db++)
        argv[n++] = *db;
    argv[n] = NULL;
    sub = n > 1 ? argv[1] : "";
    sub2 = n > 2 ? argv[2] : "";
    out[0] = '\0';
    pid = spawn(argv, opath, epath);
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
        adm_test_fail(__FILE__, __LINE__, "admitctl %s %s did not run", sub, sub2);
        print_tail("admitctl stderr", epath);
        return -1;
    }
    text = adm_test_read_file(opath, &len);
    if (text != NULL) {
        snprintf(out, cap, "%s", text);
        free(text);
    }
    if (WEXITSTATUS(st) != 0) {
        fprintf(stderr, "admitctl %s %s exited with %d\n", sub, sub2, WEXITSTATUS(st));
        print_tail("admitctl stderr", epath);
    }
    return WEXITSTATUS(st);
}

/* The id admitctl printed (a positive decimal and a newline), or 0. */
static int64_t parse_id(const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v <= 0 || (*end != '\n' && *end != '\0'))
        return 0;
    return v;
}

/* ---- HTTP client ----------------------------------------------------------------- */

struct http {
    CURL *curl;
    char body[RESP_MAX + 1]; /* the last response body, NUL-terminated */
    size_t len;
    bool overflow;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct http *h = ctx;
    size_t k = size * n;

    if (k > RESP_MAX - h->len) {
        h->overflow = true;
        return 0; /* makes curl fail the transfer */
    }
    memcpy(h->body + h->len, p, k);
    h->len += k;
    h->body[h->len] = '\0';
    return k;
}

/* Sends method base+path with an optional bearer token and JSON body on h's
 * connection (kept alive between calls). On a complete response returns true
 * with the status in *status and the body (parsed, NULL unless a JSON object;
 * caller decrefs) in *res; the raw body stays in h->body. On a transport
 * error or an oversize body returns false with a description in why. */
static bool request(struct http *h, const char *base, const char *method, const char *path,
                    const char *token, const char *body, long *status, json_t **res, char *why,
                    size_t whycap)
{
    struct curl_slist *hdrs = NULL, *t;
    char url[512], auth[TOKEN_MAX + 32];
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    bool ok = false;

    *status = 0;
    *res = NULL;
    h->len = 0;
    h->body[0] = '\0';
    h->overflow = false;
    snprintf(url, sizeof url, "%s%s", base, path);
    if (body != NULL) {
        if ((t = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
            goto out;
        hdrs = t;
    }
    if (token != NULL && token[0] != '\0') {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        if ((t = curl_slist_append(hdrs, auth)) == NULL)
            goto out;
        hdrs = t;
    }
    curl_easy_reset(h->curl); /* keeps the open connection */
    if ((cc = curl_easy_setopt(h->curl, CURLOPT_URL, url)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 30L)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 120L)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h)) != CURLE_OK)
        goto out;
    if (body != NULL &&
        ((cc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body)) != CURLE_OK ||
         (cc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body))) != CURLE_OK))
        goto out;
    cc = curl_easy_perform(h->curl);
    if (cc == CURLE_OK)
        cc = curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    if (cc == CURLE_OK) {
        json_t *j = json_loadb(h->body, h->len, 0, NULL);
        if (json_is_object(j))
            *res = j;
        else
            json_decref(j);
        ok = true;
    }
out:
    if (!ok)
        snprintf(why, whycap, "%s %s: %s%s", method, path,
                 h->overflow ? "response body over the limit; " : "", curl_easy_strerror(cc));
    curl_slist_free_all(hdrs);
    return ok;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int64_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* ---- clients ----------------------------------------------------------------- */

/* One HTTP client (one thread, one kept-alive connection to one admitd). */
struct client {
    struct run *run;
    const char *base; /* the admitd it talks to */
    char token[TOKEN_MAX];
    int requests, server_errors, transport_errors, problems;
    char problem[PROBLEM_MAX]; /* the first thing that went wrong */
    struct http http;
};

/* A customer account, signed up and signed in by its own thread. */
struct account {
    struct client c;
    int index;
    bool ready; /* c.token holds a session token */
};

/* A buyer: one thread with the session of an account it shares with
 * BUYERS / ACCOUNTS - 1 other buyers (one person on several devices). */
struct buyer {
    struct client c;
    int want;     /* seats wanted at first, 1..MAX_WANT */
    int bought;   /* seats in the paid order; 0 when sold out */
    int sold_out; /* sold_out replies seen */
    int64_t ids[PER_ORDER];
    char tokens[PER_ORDER][ADM_TOKEN_TEXT_MAX + 1];
};

static void problem(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct client *c, const char *fmt, ...)
{
    va_list ap;

    if (c->problems++ > 0)
        return;
    va_start(ap, fmt);
    vsnprintf(c->problem, sizeof c->problem, fmt, ap);
    va_end(ap);
}

/* One request from c with its session token; counts it and reports anything
 * that is not a well-formed response: a transport error, a 5xx, a body that
 * is not a JSON object, an error reply without "error" and "message". Returns
 * the parsed body (caller decrefs) or NULL, and the status in *status (0 on a
 * transport error). */
static json_t *call(struct client *c, const char *method, const char *path, const char *body,
                    long *status)
{
    char why[PROBLEM_MAX];
    json_t *res = NULL;

    c->requests++;
    if (!request(&c->http, c->base, method, path, c->token, body, status, &res, why, sizeof why)) {
        c->transport_errors++;
        problem(c, "transport error: %s", why);
        return NULL;
    }
    if (*status >= 500) {
        c->server_errors++;
        problem(c, "%s %s -> %ld %.300s", method, path, *status, c->http.body);
    } else if (res == NULL) {
        problem(c, "%s %s -> %ld with a body that is not a JSON object: %.300s", method, path,
                *status, c->http.body);
    } else if (*status >= 400 && (str(res, "error") == NULL || str(res, "message") == NULL)) {
        problem(c, "%s %s -> %ld without error and message: %.300s", method, path, *status,
                c->http.body);
    }
    return res;
}

/* Signs account a up and in (POST /v1/accounts, POST /v1/sessions). */
static void *account_main(void *arg)
{
    struct account *a = arg;
    struct client *c = &a->c;
    char body[512];
    long status;
    json_t *res;
    const char *tok;

    snprintf(body, sizeof body,
             "{\"email\":\"oversell-%s-%03d@test.example\",\"password\":\"" PASSWORD
             "\",\"name\":\"Buyer %d\"}",
             c->run->id, a->index, a->index);
    res = call(c, "POST", "/v1/accounts", body, &status);
    json_decref(res);
    if (status != 201) {
        problem(c, "sign-up -> %ld %.300s", status, c->http.body);
        return NULL;
    }
    snprintf(body, sizeof body,
             "{\"email\":\"oversell-%s-%03d@test.example\",\"password\":\"" PASSWORD "\"}",
             c->run->id, a->index);
    res = call(c, "POST", "/v1/sessions", body, &status);
    tok = str(res, "token");
    if (status != 201 || tok == NULL || strlen(tok) >= sizeof c->token) {
        problem(c, "sign-in -> %ld %.300s", status, c->http.body);
        json_decref(res);
        return NULL;
    }
    snprintf(c->token, sizeof c->token, "%s", tok);
    a->ready = true;
    json_decref(res);
    return NULL;
}

/* Checks a paid order's reply and keeps its tickets. */
static void take_tickets(struct buyer *b, const json_t *paid, int quantity)
{
    const json_t *tickets = json_object_get(paid, "tickets"), *t;
    const char *state = str(paid, "state");
    size_t i;

    if (state == NULL || strcmp(state, "paid") != 0 || num(paid, "total") != 0 ||
        !json_is_array(tickets) || json_array_size(tickets) != (size_t)quantity) {
        problem(&b->c, "pay: not a paid order with %d tickets: %.300s", quantity, b->c.http.body);
        return;
    }
    json_array_foreach(tickets, i, t)
    {
        const char *tok = str(t, "token"), *st = str(t, "status");
        int64_t id = num(t, "id");

        if (tok == NULL || strlen(tok) > ADM_TOKEN_TEXT_MAX || id <= 0 || st == NULL ||
            strcmp(st, "valid") != 0 || num(t, "event_id") != b->c.run->event ||
            num(t, "ticket_type_id") != b->c.run->type) {
            problem(&b->c, "pay: malformed ticket %zu: %.300s", i, b->c.http.body);
            continue;
        }
        b->ids[b->bought] = id;
        snprintf(b->tokens[b->bought], sizeof b->tokens[0], "%s", tok);
        b->bought++;
    }
}

/* Waits for the others, then holds b->want seats, retrying one fewer on each
 * sold_out down to 1, orders and pays them with the free provider. */
static void *buyer_main(void *arg)
{
    struct buyer *b = arg;
    struct client *c = &b->c;
    int quantity = b->want;
    char body[256], path[128];
    const char *hold_id;
    int64_t order_id;
    long status;
    json_t *h, *o, *p;

    pthread_barrier_wait(&c->run->go);
    for (;;) {
        snprintf(body, sizeof body, "{\"ticket_type_id\":%" PRId64 ",\"quantity\":%d}",
                 c->run->type, quantity);
        h = call(c, "POST", "/v1/holds", body, &status);
        if (status == 409 && str(h, "error") != NULL && strcmp(str(h, "error"), "sold_out") == 0) {
            json_decref(h);
            b->sold_out++;
            if (quantity == 1)
                return NULL; /* nothing left: a normal outcome */
            quantity--;
            continue;
        }
        break;
    }
    hold_id = str(h, "id");
    if (status != 201 || hold_id == NULL || num(h, "quantity") != quantity ||
        strlen(hold_id) > 64) {
        problem(c, "hold %d -> %ld %.300s", quantity, status, c->http.body);
        json_decref(h);
        return NULL;
    }
    snprintf(body, sizeof body, "{\"hold_ids\":[\"%s\"]}", hold_id);
    json_decref(h);
    o = call(c, "POST", "/v1/orders", body, &status);
    order_id = num(o, "id");
    if (status != 201 || order_id <= 0 || str(o, "state") == NULL ||
        strcmp(str(o, "state"), "pending") != 0) {
        problem(c, "order -> %ld %.300s", status, c->http.body);
        json_decref(o);
        return NULL;
    }
    json_decref(o);
    snprintf(path, sizeof path, "/v1/orders/%" PRId64 "/pay", order_id);
    p = call(c, "POST", path, "{\"provider\":\"free\"}", &status);
    if (status != 200)
        problem(c, "pay -> %ld %.300s", status, c->http.body);
    else
        take_tickets(b, p, quantity);
    json_decref(p);
    return NULL;
}

/* ---- the run ------------------------------------------------------------------- */

/* The ticket type in a GET /v1/events/{id}/ticket-types reply, or NULL. */
static const json_t *find_type(const json_t *res, int64_t type)
{
    const json_t *t;
    size_t i;

    json_array_foreach(json_object_get(res, "ticket_types"), i, t)
    {
        if (num(t, "id") == type)
            return t;
    }
    return NULL;
}

/* GETs path on server base (as token, when not NULL) until pred accepts the
 * reply or REPLICA_WAIT_S pass (a replica may lag behind the primary).
 * Returns the last reply (caller decrefs) with its status. */
static json_t *poll_get(struct http *h, const char *base, const char *path, const char *token,
                        bool (*pred)(const json_t *res, const struct run *r), const struct run *r,
                        long *status)
{
    double deadline = now_s() + REPLICA_WAIT_S;
    char why[PROBLEM_MAX];
    json_t *res = NULL;

    for (;;) {
        json_decref(res);
        res = NULL;
        if (!request(h, base, "GET", path, token, NULL, status, &res, why, sizeof why))
            fprintf(stderr, "%s\n", why);
        if ((*status == 200 && pred(res, r)) || now_s() > deadline)
            return res;
        sleep_ms(100);
    }
}

static bool all_available(const json_t *res, const struct run *r)
{
    return num(find_type(res, r->type), "available") == SEATS;
}

static bool all_sold(const json_t *res, const struct run *r)
{
    const json_t *t = find_type(res, r->type);

    return num(t, "sold") == SEATS && num(t, "held") == 0;
}

static bool has_keys(const json_t *res, const struct run *r)
{
    return json_array_size(json_object_get(res, "keys")) > 0;
}

/* Database, organiser, venue, event and ticket type with admitctl. */
static bool prepare(struct run *r)
{
    char out[CTL_OUT_MAX], pw[FILE_MAX], name[128], start[32], end[32], id[32], seats[16], per[16];
    int64_t venue;
    time_t now = time(NULL);
    FILE *f = NULL;
    int fd, rc;

    snprintf(pw, sizeof pw, "%.500s/org.pw", r->dir);
    fd = open(pw, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL || fputs(PASSWORD "\n", f) < 0 || fclose(f) != 0) {
        adm_test_fail(__FILE__, __LINE__, "cannot write %s", pw);
        if (fd >= 0 && f == NULL)
            close(fd);
        return false;
    }
    snprintf(r->org_email, sizeof r->org_email, "oversell-%s-org@test.example", r->id);
    rc = ctl(r, out, sizeof out,
             (const char *[]){"init", "--organiser", r->org_email, "--password-file", pw, NULL});
    if (rc != 0) {
        adm_test_fail(__FILE__, __LINE__, "admitctl init -> %d: %s", rc, out);
        return false;
    }
    snprintf(name, sizeof name, "Oversell Hall %s", r->id);
    CHECK_INT(ctl(r, out, sizeof out,
                  (const char *[]){"venue", "add", "--name", name, "--city", "Kuching", NULL}),
              0);
    venue = parse_id(out);
    snprintf(id, sizeof id, "%" PRId64, venue);
    snprintf(name, sizeof name, "Oversell %s", r->id);
    snprintf(start, sizeof start, "%lld", (long long)now + 86400);
    snprintf(end, sizeof end, "%lld", (long long)now + 90000);
    CHECK_INT(ctl(r, out, sizeof out,
                  (const char *[]){"event", "add", "--venue", id, "--title", name, "--category",
                                   "test", "--start", start, "--end", end, "--on-sale", NULL}),
              0);
    r->event = parse_id(out);
    snprintf(id, sizeof id, "%" PRId64, r->event);
    snprintf(seats, sizeof seats, "%d", SEATS);
    snprintf(per, sizeof per, "%d", PER_ORDER);
    CHECK_INT(
        ctl(r, out, sizeof out,
            (const char *[]){"type", "add", "--event", id, "--name", "Rush", "--price", "0",
                             "--currency", "MYR", "--capacity", seats, "--per-order", per, NULL}),
        0);
    r->type = parse_id(out);
    if (venue <= 0 || r->event <= 0 || r->type <= 0) {
        adm_test_fail(__FILE__, __LINE__,
                      "admitctl gave no ids: venue %" PRId64 " event %" PRId64 " type %" PRId64,
                      venue, r->event, r->type);
        return false;
    }
    return true;
}

/* Signs the organiser in on servers[0] and waits until every server sees the
 * event's ticket type with every seat available. */
static bool servers_ready(struct run *r, struct http *h)
{
    char body[512], path[128], why[PROBLEM_MAX];
    long status = 0;
    json_t *res = NULL;
    int i;

    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"" PASSWORD "\"}", r->org_email);
    if (!request(h, servers[0].base, "POST", "/v1/sessions", NULL, body, &status, &res, why,
                 sizeof why) ||
        status != 201 || str(res, "token") == NULL || strlen(str(res, "token")) >= TOKEN_MAX) {
        adm_test_fail(__FILE__, __LINE__, "organiser sign-in -> %ld %s", status, h->body);
        json_decref(res);
        return false;
    }
    snprintf(r->org_token, sizeof r->org_token, "%s", str(res, "token"));
    json_decref(res);
    snprintf(path, sizeof path, "/v1/events/%" PRId64 "/ticket-types", r->event);
    for (i = 0; i < r->nservers; i++) {
        res = poll_get(h, servers[i].base, path, NULL, all_available, r, &status);
        if (status != 200 || !all_available(res, r)) {
            adm_test_fail(__FILE__, __LINE__, "admitd %d: GET %s -> %ld %s", i, path, status,
                          h->body);
            json_decref(res);
            return false;
        }
        json_decref(res);
    }
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Every check on the outcome, after all buyers have finished. */
static void check_outcome(struct run *r, const struct buyer *b, struct http *h)
{
    int64_t ids[BUYERS * PER_ORDER] = {0};
    adm_keyring_t *kr = NULL;
    adm_ticket_t dec;
    char path[128], arg[32], out[CTL_OUT_MAX], *line;
    int i, k, total = 0, verified = 0, dups = 0;
    long status;
    json_t *res;

    for (i = 0; i < BUYERS; i++)
        for (k = 0; k < b[i].bought; k++)
            ids[total++] = b[i].ids[k];
    CHECK_INT(total, SEATS);

    qsort(ids, (size_t)total, sizeof ids[0], cmp_i64);
    for (i = 1; i < total; i++)
        if (ids[i] == ids[i - 1] && dups++ < 10)
            adm_test_fail(__FILE__, __LINE__, "ticket id %" PRId64 " sold twice", ids[i]);
    CHECK_INT(dups, 0);

    /* every token verifies against the event's keys, as each server publishes them */
    CHECK_ERR(adm_keyring_new(&kr), ADM_OK);
    if (kr == NULL)
        exit(1);
    snprintf(path, sizeof path, "/v1/events/%" PRId64 "/keys", r->event);
    for (i = 0; i < r->nservers; i++) {
        res = poll_get(h, servers[i].base, path, NULL, has_keys, r, &status);
        CHECK_INT(status, 200);
        CHECK_ERR(adm_keyring_load_public_json(kr, h->body, h->len), ADM_OK);
        json_decref(res);
    }
    for (i = 0; i < BUYERS; i++) {
        for (k = 0; k < b[i].bought; k++) {
            adm_err_t rc = adm_token_decode(b[i].tokens[k], strlen(b[i].tokens[k]), kr, &dec);
            if (rc != ADM_OK) {
                adm_test_fail(__FILE__, __LINE__, "buyer %d ticket %" PRId64 ": %s", i, b[i].ids[k],
                              adm_err_name(rc));
                continue;
            }
            CHECK_INT(dec.event_id, r->event);
            CHECK_INT(dec.type_id, r->type);
            CHECK_INT(dec.ticket_id, b[i].ids[k]);
            verified++;
        }
    }
    CHECK_INT(verified, total);
    adm_keyring_free(kr);

    /* the database agrees: admitctl reads the primary ... */
    snprintf(arg, sizeof arg, "%" PRId64, r->event);
    CHECK_INT(ctl(r, out, sizeof out, (const char *[]){"type", "list", "--event", arg, NULL}), 0);
    res = NULL;
    for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        if (num(j, "id") == r->type) {
            json_decref(res);
            res = j;
        } else {
            json_decref(j);
        }
    }
    if (res == NULL)
        adm_test_fail(__FILE__, __LINE__, "admitctl type list lacks type %" PRId64, r->type);
    CHECK_INT(num(res, "sold"), SEATS);
    CHECK_INT(num(res, "held"), 0);
    CHECK_INT(num(res, "available"), 0);
    json_decref(res);

    /* ... and every admitd, as the organiser sees it */
    snprintf(path, sizeof path, "/v1/events/%" PRId64 "/ticket-types", r->event);
    for (i = 0; i < r->nservers; i++) {
        const json_t *t;

        res = poll_get(h, servers[i].base, path, r->org_token, all_sold, r, &status);
        CHECK_INT(status, 200);
        t = find_type(res, r->type);
        if (t == NULL)
            adm_test_fail(__FILE__, __LINE__, "admitd %d: no type %" PRId64 " in %s", i, r->type,
                          h->body);
        CHECK_INT(num(t, "sold"), SEATS);
        CHECK_INT(num(t, "held"), 0);
        CHECK_INT(num(t, "available"), 0);
        json_decref(res);
    }
}

/* A fresh temporary directory for the run in r->dir; false (reported) if its
 * path is too long for the file names made from it. */
static bool make_dir(struct run *r)
{
    const char *d = adm_test_tmpdir();

    if (strlen(d) > 500) {
        adm_test_fail(__FILE__, __LINE__, "temporary directory path too long: %s", d);
        return false;
    }
    snprintf(r->dir, sizeof r->dir, "%s", d);
    return true;
}

/* Sums and prints what went wrong for clients (n of them, stride bytes apart,
 * as in an array of struct account or struct buyer, whose first member is
 * their struct client); returns the count. */
static int report(const char *what, const struct run *r, const char *first, size_t stride, int n)
{
    int i, problems = 0, shown = 0;

    for (i = 0; i < n; i++) {
        const struct client *c = (const struct client *)(const void *)(first + stride * (size_t)i);
        problems += c->problems;
        if (c->problems > 0 && shown++ < 10)
            fprintf(stderr, "%s %d (admitd %d): %d problem(s), first: %s\n", what, i,
                    i % r->nservers, c->problems, c->problem);
    }
    return problems;
}

/* Starts n threads running fn on the elements of first (stride bytes apart);
 * returns how many started. */
static int start_threads(pthread_t *th, void *(*fn)(void *), char *first, size_t stride, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, first + stride * (size_t)i) != 0)
            break;
    return i;
}

/* Removes the run's directory and the files in it (it holds no
 * subdirectories); used only after a run without failures, so a failed run
 * leaves its logs and database behind for a post-mortem. */
static void remove_dir(const struct run *r)
{
    char path[FILE_MAX];
    struct dirent *e;
    DIR *d = opendir(r->dir);

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%.500s/%.255s", r->dir, e->d_name);
        (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(r->dir);
}

static void oversell(struct run *r)
{
    struct account *a = NULL;
    struct buyer *b = NULL;
    pthread_t th[BUYERS];
    struct http *h = NULL;
    uint64_t rnd = 0;
    double t0, t1, t2;
    int failures = adm_test_failures;
    int i, n, ready = 0, requests = 0, got = 0, sold_out = 0, replies = 0, s5 = 0, tr = 0;

    if (r->dir[0] == '\0' && !make_dir(r))
        return;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
        rnd = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    snprintf(r->id, sizeof r->id, "%016" PRIx64, rnd);
    adm_test_seed(rnd);
    printf("# %s: run %s in %s\n", r->label, r->id, r->dir);

    a = calloc(ACCOUNTS, sizeof *a);
    b = calloc(BUYERS, sizeof *b);
    h = calloc(1, sizeof *h);
    if (a == NULL || b == NULL || h == NULL || (h->curl = curl_easy_init()) == NULL) {
        adm_test_fail(__FILE__, __LINE__, "out of memory");
        goto out;
    }
    t0 = now_s();
    if (!prepare(r))
        goto out;
    for (i = 0; i < r->nservers; i++)
        if (!start_server(i, r->dir, r->db))
            goto out;
    if (!servers_ready(r, h))
        goto out;
    printf("# %s: set-up with admitctl and %d admitd: %.1f s\n", r->label, r->nservers,
           now_s() - t0);

    /* The accounts, all at once over HTTP. Each sign-up and sign-in is an
     * Argon2id hash (~0.1 s of CPU, more under ASan): 200 accounts took
     * ~50 s on 2 cores, so ACCOUNTS accounts are shared by the buyers. */
    for (i = 0; i < ACCOUNTS; i++) {
        a[i].c.run = r;
        a[i].c.base = servers[i % r->nservers].base;
        a[i].index = i;
        if ((a[i].c.http.curl = curl_easy_init()) == NULL) {
            adm_test_fail(__FILE__, __LINE__, "curl_easy_init");
            goto out;
        }
    }
    t0 = now_s();
    n = start_threads(th, account_main, (char *)a, sizeof *a, ACCOUNTS);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    t1 = now_s();
    for (i = 0; i < ACCOUNTS; i++)
        ready += a[i].ready;
    printf("# %s: %d customers signed up and in over HTTP: %.1f s\n", r->label, ACCOUNTS, t1 - t0);
    CHECK_INT(n, ACCOUNTS);
    CHECK_INT(report("account", r, (const char *)a, sizeof *a, ACCOUNTS), 0);
    if (n != ACCOUNTS || ready != ACCOUNTS)
        goto out;

    /* The race: neighbouring buyers share an account (with two servers, one
     * on each: a session made on one server is used on the other), and all
     * wait on one barrier. */
    for (i = 0; i < BUYERS; i++) {
        const struct account *acc = &a[i / (BUYERS / ACCOUNTS)];
        b[i].c.run = r;
        b[i].c.base = servers[i % r->nservers].base;
        snprintf(b[i].c.token, sizeof b[i].c.token, "%s", acc->c.token);
        b[i].want = 1 + (int)(adm_test_rand() % MAX_WANT);
        if ((b[i].c.http.curl = curl_easy_init()) == NULL) {
            adm_test_fail(__FILE__, __LINE__, "curl_easy_init");
            goto out;
        }
    }
    if (pthread_barrier_init(&r->go, NULL, BUYERS + 1) != 0) {
        adm_test_fail(__FILE__, __LINE__, "pthread_barrier_init");
        goto out;
    }
    n = start_threads(th, buyer_main, (char *)b, sizeof *b, BUYERS);
    if (n != BUYERS) { /* the barrier would never open: nothing to do but give up */
        adm_test_fail(__FILE__, __LINE__, "pthread_create: only %d of %d buyers started", n,
                      BUYERS);
        exit(adm_test_done()); /* the atexit handler stops the servers */
    }
    pthread_barrier_wait(&r->go);
    t1 = now_s();
    for (i = 0; i < BUYERS; i++)
        pthread_join(th[i], NULL);
    t2 = now_s();
    pthread_barrier_destroy(&r->go);

    for (i = 0; i < BUYERS; i++) {
        requests += b[i].c.requests;
        got += b[i].bought > 0;
        sold_out += b[i].c.problems == 0 && b[i].bought == 0;
        replies += b[i].sold_out;
        s5 += b[i].c.server_errors;
        tr += b[i].c.transport_errors;
    }
    printf("# %s: %d buyers on %d admitd: %.2f s, %d requests, %.0f requests/s; %d got tickets, "
           "%d found them sold out (%d sold_out replies); %d 5xx, %d transport errors\n",
           r->label, BUYERS, r->nservers, t2 - t1, requests, t2 > t1 ? requests / (t2 - t1) : 0.0,
           got, sold_out, replies, s5, tr);
    CHECK_INT(report("buyer", r, (const char *)b, sizeof *b, BUYERS), 0);
    check_outcome(r, b, h);
out:
    stop_servers(true);
    for (i = 0; a != NULL && i < ACCOUNTS; i++)
        if (a[i].c.http.curl != NULL)
            curl_easy_cleanup(a[i].c.http.curl);
    for (i = 0; b != NULL && i < BUYERS; i++)
        if (b[i].c.http.curl != NULL)
            curl_easy_cleanup(b[i].c.http.curl);
    if (h != NULL && h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h);
    free(b);
    free(a);
    if (adm_test_failures == failures)
        remove_dir(r);
    else
        fprintf(stderr, "# %s: logs and database kept in %s\n", r->label, r->dir);
}

static void test_oversell_sqlite(void)
{
    struct run *r = calloc(1, sizeof *r);
    char db[FILE_MAX];

    if (r == NULL)
        exit(1);
    r->label = "sqlite";
    r->nservers = 1;
    if (!make_dir(r)) {
        free(r);
        return;
    }
    snprintf(db, sizeof db, "%.500s/admit.db", r->dir);
    r->db[0] = "--sqlite";
    r->db[1] = db;
    r->db[2] = NULL;
    oversell(r);
    free(r);
}

static void test_oversell_mysql(void)
{
    const char *primary = getenv("ADMIT_TEST_MYSQL_PRIMARY");
    const char *replica = getenv("ADMIT_TEST_MYSQL_REPLICA");
    struct run *r;
    int n = 0;

    if (primary == NULL || primary[0] == '\0') {
        printf("# mysql: skipped, ADMIT_TEST_MYSQL_PRIMARY is not set\n");
        return;
    }
    if ((r = calloc(1, sizeof *r)) == NULL)
        exit(1);
    r->label = "mysql";
    r->nservers = 2;
    r->db[n++] = "--store";
    r->db[n++] = "mysql";
    r->db[n++] = "--mysql-primary";
    r->db[n++] = primary;
    if (replica != NULL && replica[0] != '\0') {
        r->db[n++] = "--mysql-replica";
        r->db[n++] = replica;
    }
    r->db[n] = NULL;
    oversell(r);
    free(r);
}

int main(void)
{
    const char *build = getenv("ADMIT_BUILDDIR");

    if (build == NULL || build[0] == '\0' || strlen(build) > 500) {
        fprintf(stderr, "ADMIT_BUILDDIR is not set or too long (run through meson test)\n");
        return 1;
    }
    if (atexit(stop_servers_atexit) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        adm_crypto_init() != ADM_OK) {
        fprintf(stderr, "cannot set up the test process\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    ADM_RUN(test_oversell_sqlite);
    ADM_RUN(test_oversell_mysql);
    curl_global_cleanup();
    return adm_test_done();
}
