/* test-store-mysql.c: what only the MariaDB backend does (server/store-mysql.c):
 * migrations racing at open, replica routing, lag, read-your-writes, pools
 * that survive killed connections, and the flash-sale count on InnoDB. The
 * backend-neutral semantics are tests/server/test-store.c's job.
 *
 * Needs the servers of scripts/services (ADMIT_TEST_MYSQL_PRIMARY, _REPLICA,
 * _PRIMARY_SOCK, _REPLICA_SOCK); exits 77 (skip) without them. Each run works
 * in its own databases, created and dropped as root over the sockets. The
 * replica is shared with other tests: whatever a test stops, it restarts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "server/store.h"
#include "tests/testutil/testutil.h"

#define DEADLINE_S 60 /* generous bound for anything replication must catch up with */
#define NOW 1800000000
#define REPLICA_ONLY_ID 900000001

static const char *primary_sock, *replica_sock;
static MYSQL *root_primary, *root_replica;
static char db[64], db2[64];
static char primary_url[1024], replica_url[1024], primary_url2[1024];
static adm_store_t *st;
static adm_metrics_t *metrics; /* st records into it */

/* ---- helpers ---- */

static MYSQL *root_connect(const char *sock)
{
    MYSQL *m = mysql_init(NULL);

    if (m == NULL || mysql_real_connect(m, "localhost", "root", NULL, NULL, 0, sock, 0) == NULL) {
        fprintf(stderr, "cannot connect as root to %s: %s\n", sock, m ? mysql_error(m) : "nomem");
        if (m != NULL)
            mysql_close(m);
        return NULL;
    }
    return m;
}

/* Runs SQL (printf-style; test-built text, no outside input) as root; false on error. */
__attribute__((format(printf, 2, 3))) static bool root_exec(MYSQL *m, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    MYSQL_RES *res;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (mysql_query(m, sql) != 0) {
        fprintf(stderr, "root: %s: %s\n", sql, mysql_error(m));
        return false;
    }
    res = mysql_store_result(m);
    if (res != NULL)
        mysql_free_result(res);
    return true;
}

/* First column of the first row of a root query, copied into out ("" when none). */
__attribute__((format(printf, 4, 5))) static bool root_value(MYSQL *m, char *out, size_t cap,
                                                             const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    MYSQL_RES *res;
    MYSQL_ROW row;
    bool ok = false;

    out[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (mysql_query(m, sql) != 0 || (res = mysql_store_result(m)) == NULL) {
        fprintf(stderr, "root: %s: %s\n", sql, mysql_error(m));
        return false;
    }
    row = mysql_fetch_row(res);
    if (row != NULL) {
        snprintf(out, cap, "%s", row[0] ? row[0] : "");
        ok = true;
    }
    mysql_free_result(res);
    return ok;
}

/* url with its database replaced by name */
static void url_with_db(const char *url, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(url, '/');

    snprintf(out, cap, "%.*s/%s", (int)(slash - url), url, name);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static time_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Waits until the replica has applied everything the primary has written. */
static bool replica_caught_up(void)
{
    char pos[512], r[32];

    return root_value(root_primary, pos, sizeof pos, "SELECT @@gtid_binlog_pos") &&
           root_value(root_replica, r, sizeof r, "SELECT MASTER_GTID_WAIT('%s', %d)", pos,
                      DEADLINE_S) &&
           strcmp(r, "0") == 0;
}

static adm_err_t open_store(const char *primary, const char *replica, adm_store_t **out)
{
    adm_store_config_t cfg = {
        .backend = ADM_STORE_MYSQL,
        .mysql_primary = primary,
        .pool_size = 4,
        .replica_max_lag_s = 1,
    };

    if (replica != NULL) {
        cfg.mysql_replicas[0] = replica;
        cfg.n_replicas = 1;
    }
    return adm_store_open(&cfg, out);
}

static int64_t make_venue(adm_store_t *s, const char *name)
{
    adm_venue_spec_t v = {.name = name, .city = "Kuala Lumpur", .address = "", .capacity = 1000};
    int64_t id = 0;

    CHECK_ERR(adm_store_venue_create(s, &v, NOW, &id), ADM_OK);
    return id;
}

/* Waits until venue id reads as want with hint rd. */
static bool venue_reads_as(adm_read_t rd, int64_t id, adm_err_t want)
{
    time_t deadline = mono_s() + DEADLINE_S;
    adm_venue_t v;

    while (mono_s() < deadline) {
        if (adm_store_venue_get(st, rd, id, &v) == want)
            return true;
        sleep_ms(100);
    }
    return false;
}

static bool insert_replica_only_venue(void)
{
    return root_exec(root_replica, "SET SESSION sql_log_bin = 0") &&
           root_exec(root_replica,
                     "INSERT INTO `%s`.venues (id, name, city, address, capacity, created, "
                     "updated) VALUES (%d, 'replica only', 'Nowhere', '', 1, 1, 1)",
                     db, REPLICA_ONLY_ID);
}

static void delete_replica_only_venue(void)
{
    CHECK(root_exec(root_replica, "SET SESSION sql_log_bin = 0"));
    CHECK(root_exec(root_replica, "DELETE FROM `%s`.venues WHERE id = %d", db, REPLICA_ONLY_ID));
}

/* Kills every connection user admit has open to database name on server m;
 * returns how many. */
static int kill_admit_connections(MYSQL *m, const char *name)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    unsigned long ids[256];
    int n = 0;
    char sql[256];

    snprintf(sql, sizeof sql,
             "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'admit' AND DB = '%s'",
             name);
    if (mysql_query(m, sql) != 0 || (res = mysql_store_result(m)) == NULL)
        return -1;
    while ((row = mysql_fetch_row(res)) != NULL && n < 256)
        ids[n++] = strtoul(row[0], NULL, 10);
    mysql_free_result(res);
    for (int i = 0; i < n; i++)
        (void)root_exec(m, "KILL CONNECTION %lu", ids[i]);
    return n;
}

/* ---- tests ---- */

struct opener {
    adm_err_t result;
    int version;
};

static void *open_second_db(void *arg)
{
    struct opener *o = arg;
    adm_store_t *s = NULL;

    o->result = open_store(primary_url2, NULL, &s);
    if (o->result == ADM_OK)
        o->result = adm_store_schema_version(s, &o->version);
    adm_store_close(s);
    return NULL;
}

/* Two processes starting at once on an empty database: GET_LOCK lets one
 * migrate while the other waits, and both end up on the same version. */
static void test_concurrent_migrations(void)
{
    struct opener o[4];
    pthread_t t[4];

    memset(o, 0, sizeof o);
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, open_second_db, &o[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_ERR(o[i].result, ADM_OK);
        CHECK(o[i].version >= 1);
        CHECK_INT(o[i].version, o[0].version);
    }
}

static void test_bad_urls(void)
{
    static const char *const bad[] = {
        "postgres://admit:admit@127.0.0.1/admit",
        "mysql://admit:admit@127.0.0.1:0/admit",
        "mysql://admit:admit@127.0.0.1:99999/admit",
        "mysql://admit:admit@127.0.0.1:3306",
        "mysql://admit:admit@127.0.0.1:3306/",
        "mysql://admit@/admit",
        "mysql://admit@/admit?socket=relative.sock",
        "mysql://admit:admit@127.0.0.1:3306/admit?sslmode=on",
        "mysql://admit:%zz@127.0.0.1:3306/admit",
    };
    adm_store_t *s = NULL;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(open_store(bad[i], NULL, &s), ADM_ERR_CONFIG);
        CHECK(s == NULL);
    }
}

/* The socket form reaches the primary too (as root would need its own
 * grant; here only that the form parses and a refused login is UNAVAILABLE). */
static void test_socket_url(void)
{
    char url[1200];
    adm_store_t *s = NULL;

    snprintf(url, sizeof url, "mysql://nobody:wrong@/%s?socket=%s", db, primary_sock);
    CHECK_ERR(open_store(url, NULL, &s), ADM_ERR_STORE_UNAVAILABLE);
    CHECK(s == NULL);
}

/* admit_store_queries_total{backend="mysql",role} from the test's registry. */
static uint64_t queries(const char *role)
{
    static const char *const labels[] = {"backend", "role"};
    const char *values[] = {"mysql", role};
    adm_counter_t *c = NULL;

    CHECK_ERR(adm_metrics_counter(metrics, "admit_store_queries_total", "", 2, labels, &c), ADM_OK);
    return adm_counter_value(c, values);
}

/* admit_store_operations_total{backend="mysql",op,result} */
static uint64_t operations(const char *op, const char *result)
{
    static const char *const labels[] = {"backend", "op", "result"};
    const char *values[] = {"mysql", op, result};
    adm_counter_t *c = NULL;

    CHECK_ERR(adm_metrics_counter(metrics, "admit_store_operations_total", "", 3, labels, &c),
              ADM_OK);
    return adm_counter_value(c, values);
}

/* A row that exists only on the replica proves which server answered; the
 * queries counter names the same server. */
static void test_replica_routing(void)
{
    uint64_t primary, replica, gets, misses;
    adm_venue_t v;

    CHECK(replica_caught_up());
    CHECK(insert_replica_only_venue());
    /* served by the replica once the monitor has it in rotation */
    CHECK(venue_reads_as(ADM_READ_HINT_ANY, REPLICA_ONLY_ID, ADM_OK));
    primary = queries("primary");
    replica = queries("replica");
    gets = operations("venue_get", "ok");
    misses = operations("venue_get", "not_found");
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_ANY, REPLICA_ONLY_ID, &v), ADM_OK);
    CHECK_STR(v.name, "replica only");
    CHECK_INT(queries("replica"), replica + 1);
    CHECK_INT(queries("primary"), primary);
    CHECK_INT(operations("venue_get", "ok"), gets + 1);
    /* never by the replica */
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_PRIMARY, REPLICA_ONLY_ID, &v),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_AFTER(""), REPLICA_ONLY_ID, &v),
              ADM_ERR_NOT_FOUND);
    CHECK_INT(queries("replica"), replica + 1);
    CHECK_INT(queries("primary"), primary + 2);
    CHECK_INT(operations("venue_get", "not_found"), misses + 2);
    /* writes: the primary */
    make_venue(st, "counted");
    CHECK_INT(queries("replica"), replica + 1);
    CHECK_INT(queries("primary"), primary + 3);
    delete_replica_only_venue();
}

/* After a write, its position reads back on a replica that has it. */
static void test_read_after(void)
{
    char pos[ADM_STORE_GTID_MAX + 1], small[4];
    int64_t id = make_venue(st, "after");
    adm_venue_t v;

    CHECK_ERR(adm_store_write_position(st, pos, sizeof pos), ADM_OK);
    CHECK(pos[0] >= '0' && pos[0] <= '9' && strchr(pos, '-') != NULL);
    CHECK_ERR(adm_store_write_position(st, small, sizeof small), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_AFTER(pos), id, &v), ADM_OK);
    CHECK_STR(v.name, "after");
    /* a malformed position is not an error: the primary answers */
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_AFTER("not-a-gtid"), id, &v), ADM_OK);
}

static void *position_in_new_thread(void *arg)
{
    char *pos = arg;

    if (adm_store_write_position(st, pos, ADM_STORE_GTID_MAX + 1) != ADM_OK)
        pos[0] = '\0';
    return NULL;
}

/* A thread that wrote nothing gets the primary's whole binlog position. */
static void test_write_position_without_write(void)
{
    char pos[ADM_STORE_GTID_MAX + 1] = "", want[ADM_STORE_GTID_MAX + 1];
    pthread_t t;

    make_venue(st, "position");
    CHECK_INT(pthread_create(&t, NULL, position_in_new_thread, pos), 0);
    pthread_join(t, NULL);
    CHECK(root_value(root_primary, want, sizeof want, "SELECT @@gtid_binlog_pos"));
    CHECK_STR(pos, want);
}

/* STOP SLAVE: the replica falls behind; reads leave it once the lag passes
 * replica_max_lag_s, read-your-writes holds all along, and it comes back
 * after START SLAVE. */
static void test_lagging_replica(void)
{
    char pos[ADM_STORE_GTID_MAX + 1];
    adm_venue_t v;
    int64_t id;

    CHECK(replica_caught_up());
    CHECK(insert_replica_only_venue());
    CHECK(venue_reads_as(ADM_READ_HINT_ANY, REPLICA_ONLY_ID, ADM_OK));
    if (!root_exec(root_replica, "STOP SLAVE")) {
        CHECK(false);
        delete_replica_only_venue();
        return;
    }
    id = make_venue(st, "written while the replica is stopped");
    CHECK_ERR(adm_store_write_position(st, pos, sizeof pos), ADM_OK);
    /* read-your-writes: the replica cannot have it; the primary answers */
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_AFTER(pos), id, &v), ADM_OK);
    CHECK_STR(v.name, "written while the replica is stopped");
    /* ANY: from the replica (not found) until the lag exceeds 1 s, then the primary */
    CHECK(venue_reads_as(ADM_READ_HINT_ANY, id, ADM_OK));
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_ANY, REPLICA_ONLY_ID, &v), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_AFTER(pos), id, &v), ADM_OK);

    CHECK(root_exec(root_replica, "START SLAVE"));
    CHECK(replica_caught_up());
    /* back in rotation: the replica-only row is visible again */
    CHECK(venue_reads_as(ADM_READ_HINT_ANY, REPLICA_ONLY_ID, ADM_OK));
    CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_ANY, id, &v), ADM_OK);
    delete_replica_only_venue();
}

struct loop_args {
    int n;
    int ok;
};

/* a->n rounds of a write and a read of it on the primary; a->ok counts the rounds that worked */
static void *busy_ops(void *arg)
{
    struct loop_args *a = arg;
    adm_venue_spec_t spec = {.name = "busy", .city = "Ipoh", .address = "", .capacity = 1};
    adm_venue_t v;
    int64_t id;

    for (int i = 0; i < a->n; i++)
        a->ok += adm_store_venue_create(st, &spec, NOW, &id) == ADM_OK &&
                 adm_store_venue_get(st, ADM_READ_HINT_PRIMARY, id, &v) == ADM_OK;
    return NULL;
}

static void run_busy(int rounds)
{
    struct loop_args la[4];
    pthread_t t[4];

    for (int i = 0; i < 4; i++) {
        la[i] = (struct loop_args){.n = rounds};
        CHECK_INT(pthread_create(&t[i], NULL, busy_ops, &la[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(la[i].ok, rounds);
    }
}

/* KILL CONNECTION from root: every pooled connection dies while idle; the
 * operations that meet one reconnect and succeed, concurrently too. */
static void test_killed_connections(void)
{
    adm_venue_t v;
    int64_t id = 0;

    for (int round = 0; round < 2; round++) {
        run_busy(10); /* opens every pooled connection */
        CHECK(kill_admit_connections(root_primary, db) >= 4);
        if (round == 0) {
            /* one at a time: each op meets a dead connection at most once */
            for (int i = 0; i < 8; i++) {
                id = make_venue(st, "after kill");
                CHECK(id > 0);
                CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_PRIMARY, id, &v), ADM_OK);
            }
            CHECK_ERR(adm_store_ping(st), ADM_OK);
        } else {
            run_busy(10); /* four threads, each likely to draw a dead connection */
        }
    }

    /* the replica's connections: reads still answer (the primary stands in) */
    CHECK(venue_reads_as(ADM_READ_HINT_ANY, id, ADM_OK));
    CHECK(kill_admit_connections(root_replica, db) >= 1);
    for (int i = 0; i < 8; i++)
        CHECK_ERR(adm_store_venue_get(st, ADM_READ_HINT_ANY, id, &v), ADM_OK);
}

/* A replica that refuses connections never serves a read. */
static void test_replica_down(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    char dead[1200], pos[ADM_STORE_GTID_MAX + 1];
    adm_store_t *s = NULL;
    adm_venue_t v;
    int64_t id;
    int fd;

    /* a port nothing listens on: bind one, read it, close it */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(dead, sizeof dead, "mysql://admit:admit@127.0.0.1:%u/%s", ntohs(sa.sin_port), db);

    CHECK_ERR(open_store(primary_url, dead, &s), ADM_OK);
    if (s == NULL)
        return;
    id = make_venue(s, "no replica");
    for (int i = 0; i < 4; i++)
        CHECK_ERR(adm_store_venue_get(s, ADM_READ_HINT_ANY, id, &v), ADM_OK);
    CHECK_ERR(adm_store_write_position(s, pos, sizeof pos), ADM_OK);
    CHECK_ERR(adm_store_venue_get(s, ADM_READ_HINT_AFTER(pos), id, &v), ADM_OK);
    CHECK_ERR(adm_store_ping(s), ADM_OK);
    adm_store_close(s);
}

/* ---- the flash sale on InnoDB ---- */

#define SALE_THREADS 16
#define SALE_CAPACITY 100

static int64_t sale_type;
static int64_t sale_users[SALE_THREADS];

struct buyer {
    int idx;
    int held, paid, sold_out, other;
};

static void *buyer_main(void *arg)
{
    struct buyer *b = arg;

    for (;;) {
        adm_hold_t h;
        adm_order_t o;
        char ref[64];
        const char *ids[1];
        adm_err_t r = adm_store_hold_create(st, sale_users[b->idx], sale_type, 1, 600, NOW, &h);

        if (r == ADM_ERR_SOLD_OUT) {
            b->sold_out++;
            break;
        }
        if (r != ADM_OK) {
            fprintf(stderr, "hold: %s\n", adm_err_name(r));
            b->other++;
            break;
        }
        b->held++;
        ids[0] = h.id;
        if ((r = adm_store_checkout(st, sale_users[b->idx], ids, 1, 0, NOW + 1, &o)) != ADM_OK) {
            fprintf(stderr, "checkout: %s\n", adm_err_name(r));
            b->other++;
            continue;
        }
        snprintf(ref, sizeof ref, "ref-%d-%d", b->idx, b->held);
        if ((r = adm_store_order_pay(st, o.id, "test", ref, NOW + 2, NULL)) != ADM_OK) {
            fprintf(stderr, "pay: %s\n", adm_err_name(r));
            b->other++;
            continue;
        }
        b->paid++;
    }
    return NULL;
}

/* 16 threads buy one seat at a time (hold, checkout, pay) until sold out:
 * exactly capacity seats are held and sold, none oversold. */
static void test_flash_sale(void)
{
    adm_venue_spec_t vs = {.name = "Arena", .city = "Kuala Lumpur", .address = "", .capacity = 100};
    adm_event_spec_t es = {.title = "Flash", .starts_at = NOW + 86400, .ends_at = NOW + 90000};
    adm_ticket_type_spec_t ts = {.name = "GA",
                                 .price = 5000,
                                 .currency = "MYR",
                                 .capacity = SALE_CAPACITY,
                                 .per_order_max = 4};
    struct buyer b[SALE_THREADS];
    pthread_t t[SALE_THREADS];
    adm_availability_t av;
    int held = 0, paid = 0, other = 0;

    CHECK_ERR(adm_store_venue_create(st, &vs, NOW, &es.venue_id), ADM_OK);
    CHECK_ERR(adm_store_event_create(st, &es, NOW, &ts.event_id), ADM_OK);
    CHECK_ERR(adm_store_ticket_type_create(st, &ts, NOW, &sale_type), ADM_OK);
    CHECK_ERR(adm_store_event_set_status(st, ts.event_id, ADM_EVENT_ON_SALE, NOW), ADM_OK);
    for (int i = 0; i < SALE_THREADS; i++) {
        char email[64];
        adm_user_spec_t us = {.email = email, .password_hash = "$argon2id$x", .display_name = ""};
        snprintf(email, sizeof email, "buyer%d@example.com", i);
        CHECK_ERR(adm_store_user_create(st, &us, NOW, &sale_users[i]), ADM_OK);
    }
    for (int i = 0; i < SALE_THREADS; i++) {
        b[i] = (struct buyer){.idx = i};
        CHECK_INT(pthread_create(&t[i], NULL, buyer_main, &b[i]), 0);
    }
    for (int i = 0; i < SALE_THREADS; i++) {
        pthread_join(t[i], NULL);
        held += b[i].held;
        paid += b[i].paid;
        other += b[i].other;
        CHECK_INT(b[i].sold_out, 1);
    }
    CHECK_INT(other, 0);
    CHECK_INT(held, SALE_CAPACITY);
    CHECK_INT(paid, SALE_CAPACITY);
    CHECK_ERR(adm_store_availability(st, ADM_READ_HINT_PRIMARY, sale_type, &av), ADM_OK);
    CHECK_INT(av.sold, SALE_CAPACITY);
    CHECK_INT(av.held, 0);
    CHECK_INT(av.available, 0);
    printf("# flash sale: %d threads, capacity %d: %d held, %d paid, sold %lld\n", SALE_THREADS,
           SALE_CAPACITY, held, paid, (long long)av.sold);
}

/* ---- setup ---- */

static bool setup(void)
{
    const char *primary = getenv("ADMIT_TEST_MYSQL_PRIMARY");
    const char *replica = getenv("ADMIT_TEST_MYSQL_REPLICA");

    primary_sock = getenv("ADMIT_TEST_MYSQL_PRIMARY_SOCK");
    replica_sock = getenv("ADMIT_TEST_MYSQL_REPLICA_SOCK");
    if (primary == NULL || primary[0] == '\0' || replica == NULL || replica_sock == NULL ||
        primary_sock == NULL)
        return false;
    root_primary = root_connect(primary_sock);
    root_replica = root_connect(replica_sock);
    if (root_primary == NULL || root_replica == NULL)
        return false;
    snprintf(db, sizeof db, "admit_t%ld_a", (long)getpid());
    snprintf(db2, sizeof db2, "admit_t%ld_b", (long)getpid());
    url_with_db(primary, db, primary_url, sizeof primary_url);
    url_with_db(replica, db, replica_url, sizeof replica_url);
    url_with_db(primary, db2, primary_url2, sizeof primary_url2);
    /* CREATE DATABASE and GRANT replicate, so the replica gets both */
    return root_exec(root_primary, "CREATE DATABASE `%s`", db) &&
           root_exec(root_primary, "CREATE DATABASE `%s`", db2) &&
           root_exec(root_primary, "GRANT ALL ON `%s`.* TO 'admit'@'127.0.0.1'", db) &&
           root_exec(root_primary, "GRANT ALL ON `%s`.* TO 'admit'@'127.0.0.1'", db2) &&
           replica_caught_up();
}

int main(void)
{
    if (!setup()) {
        fprintf(stderr, "MariaDB primary + replica not configured (scripts/services): skipped\n");
        if (root_primary != NULL)
            mysql_close(root_primary);
        if (root_replica != NULL)
            mysql_close(root_replica);
        mysql_library_end();
        return 77;
    }
    CHECK_ERR(adm_metrics_new(&metrics), ADM_OK);
    CHECK_ERR(open_store(primary_url, replica_url, &st), ADM_OK);
    CHECK_ERR(adm_store_set_metrics(st, metrics), ADM_OK);
    if (st != NULL) {
        ADM_RUN(test_concurrent_migrations);
        ADM_RUN(test_bad_urls);
        ADM_RUN(test_socket_url);
        ADM_RUN(test_replica_routing);
        ADM_RUN(test_read_after);
        ADM_RUN(test_write_position_without_write);
        ADM_RUN(test_flash_sale);
        ADM_RUN(test_killed_connections);
        ADM_RUN(test_replica_down);
        ADM_RUN(test_lagging_replica);
    }
    (void)root_exec(root_primary, "DROP DATABASE IF EXISTS `%s`", db);
    (void)root_exec(root_primary, "DROP DATABASE IF EXISTS `%s`", db2);
    mysql_close(root_primary);
    mysql_close(root_replica);
    /* last: closing the last store ends the Connector/C library */
    adm_store_close(st);
    adm_metrics_free(metrics);
    return adm_test_done();
}
