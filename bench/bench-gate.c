/* bench-gate.c: the offline gate engine (scanner/) at event scale: import of a
 * 1,000,000-ticket snapshot, verdict latency with its durable journal commit next
 * to the floors it stands on (Ed25519 verify, a bare fsync'ed SQLite commit),
 * decode-to-verdict on camera-like frames next to ZBar alone, and peak memory.
 * Usage: bench-gate [TICKETS [SCANS [FRAMES]]] (defaults 1000000 20000 300); the
 * store goes in a temporary directory under $TMPDIR (default /tmp), so that is the
 * disk whose fsync is measured. Not a test: no assertions beyond "every step worked". */
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scanner/gate.h"
#include "sync/keyring.h"
#include "sync/qr.h"
#include "sync/token.h"
#include "tests/testutil/degrade.h"

#define DEFAULT_TICKETS 1000000ul
#define DEFAULT_SCANS 20000ul
#define DEFAULT_FRAMES 300ul
#define MAX_TICKETS 1200000ul /* the document must stay under ADM_GATE_SNAPSHOT_MAX */
#define MAX_SCANS 1000000ul
#define MAX_FRAMES 100000ul
#define REVOCATIONS 3000ul
#define BLOCK 500ul /* scans per interleaved block */
#define EVENT_ID 2024u
#define SCAN_AT 1767260000 /* inside every ticket's validity window */
#define FRAME_W 640
#define FRAME_H 480
#define TEXT_STRIDE (ADM_TOKEN_TEXT_MAX + 1)

static const adm_gate_ctx_t entry_ctx = {
    .list_id = 1, .gate = "North", .direction = ADM_DIRECTION_ENTRY};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* splitmix64: deterministic ticket ids and picks, the same in every run */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A /proc/self/status field in KiB (VmRSS, VmHWM), -1 when unreadable. */
static long status_kib(const char *key)
{
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long long file_bytes(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile (0 < p <= 1) of n values, sorted in place (nearest rank). */
static double quantile(double *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p * (double)n);

    qsort(v, n, sizeof *v, cmp_double);
    return v[k == 0 ? 0 : (k > n ? n : k) - 1];
}

static void row(const char *what, double *lat, size_t n, bool p999)
{
    double p50 = quantile(lat, n, 0.50), p99 = quantile(lat, n, 0.99);

    if (p999)
        printf("  %-50s %8.3f %8.3f %8.3f\n", what, p50, p99, quantile(lat, n, 0.999));
    else
        printf("  %-50s %8.3f %8.3f %8s\n", what, p50, p99, "-");
}

/* A text buffer of fixed capacity (sized up front); put() fails when full. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

typedef struct import_figures {
    size_t doc_bytes;
    double ms;
    long long wal_bytes, closed_bytes; /* after import; after close */
    long hwm_kib;                      /* VmHWM right after the import */
} import_figures_t;

/* Imports doc into a new store dir/name and closes it (which checkpoints the WAL). */
static bool import_store(const char *dir, const char *name, const buf_t *doc, import_figures_t *f)
{
    char path[4096], wal[4096 + 8];
    adm_gate_t *g = NULL;
    double t0;
    bool ok = false;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(wal, sizeof wal, "%s-wal", name);
    f->doc_bytes = doc->len;
    if (adm_gate_open(path, &g) != ADM_OK)
        goto out;
    t0 = now_ms();
    if (adm_gate_snapshot_import_json(g, doc->p, doc->len) != ADM_OK)
        goto out;
    f->ms = now_ms() - t0;
    f->hwm_kib = status_kib("VmHWM");
    f->wal_bytes = file_bytes(dir, wal);
    adm_gate_close(g);
    g = NULL;
    f->closed_bytes = file_bytes(dir, name);
    ok = true;
out:
    adm_gate_close(g);
    return ok;
}

static bool put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        return false;
    b->len += (size_t)n;
    return true;
}

static const char *status_of(size_t i)
{
    return i % 200 == 50 ? "blocked" : i % 200 == 150 ? "revoked" : "valid";
}

/* The snapshot document of an event of nt tickets (1 in 200 blocked, 1 in 200
 * revoked by status), REVOCATIONS revocation entries, one list with two gates.
 * Every ticket is listed, or with sparse only those that are not valid (the
 * format allows it: a valid ticket needs no row, its token is signed). */
static bool build_snapshot(buf_t *b, const char *keys, const uint64_t *ids, size_t nt, bool sparse)
{
    size_t listed = 0;
    bool ok = put(b,
                  "{\"format\":\"admit-gate-snapshot\",\"version\":1,"
                  "\"event\":{\"id\":%u,\"name\":\"Bench Festival\"},\"keys\":%s,"
                  "\"ticket_types\":[{\"id\":1,\"name\":\"GA\"},{\"id\":2,\"name\":\"VIP\"}],"
                  "\"tickets\":[",
                  EVENT_ID, keys);

    for (size_t i = 0; ok && i < nt; i++)
        if (!sparse || strcmp(status_of(i), "valid") != 0)
            ok = put(b, "%s{\"id\":%llu,\"status\":\"%s\"}", listed++ ? "," : "",
                     (unsigned long long)ids[i], status_of(i));
    ok = ok && put(b, "],\"revocations\":{\"revocations\":[");
    for (size_t k = 0; ok && k < REVOCATIONS; k++)
        ok = put(b,
                 "%s{\"seq\":%zu,\"ticket_id\":%llu,\"revoked_at\":1767200000,"
                 "\"reason\":\"revoked\"}",
                 k ? "," : "", k + 1, (unsigned long long)ids[(k * 7919 + 13) % nt]);
    ok = ok && put(b,
                   "],\"next\":%lu,\"more\":false},"
                   "\"checkin_lists\":[{\"id\":1,\"name\":\"Main\",\"reentry\":\"once\","
                   "\"ticket_types\":[1,2],\"gates\":[\"North\",\"South\"]}],"
                   "\"checkins\":[]}",
                   REVOCATIONS);
    return ok;
}

static bool encode(const adm_keyring_t *kr, uint64_t id, char *text, size_t *len)
{
    adm_ticket_t t;

    memset(&t, 0, sizeof t);
    t.event_id = EVENT_ID;
    t.ticket_id = id;
    t.type_id = 1 + (uint32_t)(id % 2);
    t.has_valid_from = t.has_valid_until = true;
    t.valid_from = 1767225600;
    t.valid_until = 1767311999;
    strcpy(t.label, "Block C Row 12 Seat 7");
    return adm_token_encode(&t, kr, 0, text, TEXT_STRIDE, len) == ADM_OK;
}

/* The camera-like frame of a token: QR at 40% of the frame height on a grey
 * gradient, box blur radius 1, gaussian noise sigma 8. */
static bool make_frame(const char *text, uint64_t seed, adm_image_t *frame)
{
    uint8_t *png = NULL;
    size_t len = 0;
    adm_image_t code = {0, 0, NULL};
    bool ok = adm_qr_render_png(text, &ADM_QR_STYLE_DEFAULT, &png, &len) == ADM_OK &&
              adm_image_load_png_mem(png, len, &code) == ADM_OK &&
              adm_degrade_place(&code, FRAME_W, FRAME_H, 0.40, 0, 110, 150, frame) == ADM_OK &&
              adm_degrade_box_blur(frame, 1) == ADM_OK &&
              adm_degrade_noise(frame, 8, seed) == ADM_OK;

    adm_image_free(&code);
    free(png);
    return ok;
}

/* The floor of durability: one INSERT + COMMIT in WAL mode with synchronous=FULL. */
static bool floor_open(const char *dir, sqlite3 **db, sqlite3_stmt *q[3])
{
    char path[4096];

    snprintf(path, sizeof path, "%s/floor.db", dir);
    return sqlite3_open(path, db) == SQLITE_OK &&
           sqlite3_exec(*db,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                        "CREATE TABLE j(seq INTEGER PRIMARY KEY, nonce TEXT NOT NULL,"
                        " at INTEGER NOT NULL, hash TEXT NOT NULL)",
                        NULL, NULL, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(*db, "BEGIN IMMEDIATE", -1, &q[0], NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(*db, "INSERT INTO j(nonce, at, hash) VALUES(?1, ?2, ?3)", -1, &q[1],
                              NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(*db, "COMMIT", -1, &q[2], NULL) == SQLITE_OK;
}

static bool floor_commit(sqlite3_stmt *q[3], int64_t at)
{
    static const char nonce[] = "0123456789abcdef0123456789abcdef";
    static const char hash[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    bool ok;

    ok = sqlite3_step(q[0]) == SQLITE_DONE;
    sqlite3_reset(q[0]);
    sqlite3_bind_text(q[1], 1, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q[1], 2, at);
    sqlite3_bind_text(q[1], 3, hash, -1, SQLITE_STATIC);
    ok = ok && sqlite3_step(q[1]) == SQLITE_DONE;
    sqlite3_reset(q[1]);
    ok = ok && sqlite3_step(q[2]) == SQLITE_DONE;
    sqlite3_reset(q[2]);
    return ok;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The floor of the import: the nt rows, sorted by id as the import does, into a
 * fresh table with one statement in one transaction (sort included). */
static bool bare_insert(sqlite3 *db, const uint64_t *ids, size_t nt)
{
    sqlite3_stmt *s = NULL;
    uint64_t *sorted = malloc(nt * sizeof *sorted);
    bool ok = sorted != NULL;

    if (ok) {
        memcpy(sorted, ids, nt * sizeof *sorted);
        qsort(sorted, nt, sizeof *sorted, cmp_u64);
    }
    ok = ok &&
         sqlite3_exec(db,
                      "CREATE TABLE t(ticket_id INTEGER PRIMARY KEY, status TEXT NOT NULL);"
                      "BEGIN IMMEDIATE",
                      NULL, NULL, NULL) == SQLITE_OK &&
         sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t(ticket_id, status) VALUES(?1, ?2)", -1,
                            &s, NULL) == SQLITE_OK;

    for (size_t i = 0; ok && i < nt; i++) {
        sqlite3_bind_int64(s, 1, (int64_t)sorted[i]);
        sqlite3_bind_text(s, 2, status_of(i), -1, SQLITE_STATIC); /* the same mix */
        ok = sqlite3_step(s) == SQLITE_DONE;
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    free(sorted);
    return ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
}

static bool parse_count(const char *s, unsigned long max, unsigned long *v)
{
    char *end = NULL;
    unsigned long x = strtoul(s, &end, 10);

    if (end == s || *end != '\0' || x == 0 || x > max)
        return false;
    *v = x;
    return true;
}

int main(int argc, char **argv)
{
    int result = 1;
    unsigned long nt = DEFAULT_TICKETS, ns = DEFAULT_SCANS, nf = DEFAULT_FRAMES;
    char dir[1024], path[4096];
    const char *tmp = getenv("TMPDIR");
    bool have_dir = false;
    adm_keyring_t *kr = NULL, *pub = NULL;
    adm_gate_t *g = NULL;
    adm_qr_decoder_t *dec = NULL;
    sqlite3 *fdb = NULL;
    sqlite3_stmt *fq[3] = {NULL, NULL, NULL};
    char *keys = NULL, *texts = NULL;
    uint64_t *ids = NULL;
    size_t *lens = NULL;
    double *lat_scan = NULL, *lat_verify = NULL, *lat_floor = NULL, *lat_zbar = NULL,
           *lat_frame = NULL;
    buf_t doc = {NULL, 0, 0};
    unsigned long verdicts[ADM_VERDICT__MAX] = {0};
    unsigned long failures = 0, frame_verdicts[ADM_VERDICT__MAX] = {0};
    uint32_t kid = 0;
    long rss_before, hwm_end, rss_doc, rss_dom;
    import_figures_t imp_sparse = {0}, imp_full = {0};
    double t0, t_build, t_open, t_scan_total = 0, t_json, t_bare;
    json_t *dom = NULL;
    int64_t at = SCAN_AT;

    if ((argc > 1 && !parse_count(argv[1], MAX_TICKETS, &nt)) ||
        (argc > 2 && !parse_count(argv[2], MAX_SCANS, &ns)) ||
        (argc > 3 && !parse_count(argv[3], MAX_FRAMES, &nf)) || argc > 4) {
        fprintf(stderr, "usage: %s [TICKETS 1..%lu [SCANS 1..%lu [FRAMES 1..%lu]]]\n", argv[0],
                MAX_TICKETS, MAX_SCANS, MAX_FRAMES);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/bench-gate.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (adm_crypto_init() != ADM_OK || mkdtemp(dir) == NULL) {
        fprintf(stderr, "cannot make a temporary directory under %s\n", tmp ? tmp : "/tmp");
        goto out;
    }
    have_dir = true;

    /* ---- the event: keys, ticket ids, the snapshot document ---- */
    ids = malloc(nt * sizeof *ids);
    lens = malloc(ns * sizeof *lens);
    texts = malloc(ns * TEXT_STRIDE);
    lat_scan = malloc(ns * sizeof(double));
    lat_verify = malloc(ns * sizeof(double));
    lat_floor = malloc(ns * sizeof(double));
    lat_zbar = malloc(nf * sizeof(double));
    lat_frame = malloc(nf * sizeof(double));
    if (ids == NULL || lens == NULL || texts == NULL || lat_scan == NULL || lat_verify == NULL ||
        lat_floor == NULL || lat_zbar == NULL || lat_frame == NULL) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    if (adm_keyring_new(&kr) != ADM_OK || adm_keyring_generate(kr, &kid) != ADM_OK ||
        adm_keyring_public_json(kr, &keys) != ADM_OK || adm_keyring_new(&pub) != ADM_OK ||
        adm_keyring_load_public_json(pub, keys, strlen(keys)) != ADM_OK) {
        fprintf(stderr, "cannot set up the keyring\n");
        goto out;
    }
    for (size_t i = 0; i < nt; i++)
        ids[i] = (rng() >> 1) | 1; /* 63-bit, non-zero, like the issuer's random ids */
    doc.cap = strlen(keys) + nt * 48 + REVOCATIONS * 96 + 1024;
    if ((doc.p = malloc(doc.cap)) == NULL) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }

    /* ---- 1. import: first listing only the tickets that are not valid, then all ---- */
    if (!build_snapshot(&doc, keys, ids, nt, true) ||
        !import_store(dir, "sparse.db", &doc, &imp_sparse)) {
        fprintf(stderr, "the sparse snapshot failed\n");
        goto out;
    }
    doc.len = 0;
    t0 = now_ms();
    if (!build_snapshot(&doc, keys, ids, nt, false)) {
        fprintf(stderr, "cannot build the snapshot document\n");
        goto out;
    }
    t_build = now_ms() - t0;
    rss_before = status_kib("VmRSS");
    if (!import_store(dir, "gate.db", &doc, &imp_full)) {
        fprintf(stderr, "the full snapshot failed\n");
        goto out;
    }
    free(doc.p); /* rebuilt at the end for the references */
    doc.p = NULL;
    snprintf(path, sizeof path, "%s/gate.db", dir);
    t0 = now_ms();
    if (adm_gate_open(path, &g) != ADM_OK) {
        fprintf(stderr, "cannot reopen the gate store\n");
        goto out;
    }
    t_open = now_ms() - t0;

    /* ---- 2. scan latency: tokens of random tickets, one scan in ten a repeat ---- */
    for (size_t i = 0; i < ns; i++) {
        if (i % 10 == 9) { /* a repeat of an earlier scan in this run */
            size_t j = (size_t)(rng() % i);
            memcpy(texts + i * TEXT_STRIDE, texts + j * TEXT_STRIDE, TEXT_STRIDE);
            lens[i] = lens[j];
        } else if (!encode(kr, ids[rng() % nt], texts + i * TEXT_STRIDE, &lens[i])) {
            failures++;
        }
    }
    if (!floor_open(dir, &fdb, fq)) {
        fprintf(stderr, "cannot open the floor database: %s\n", sqlite3_errmsg(fdb));
        goto out;
    }
    /* Blocks of BLOCK scans, then the same tokens through verify alone, then as
     * many bare commits, so that noise from neighbours hits all three alike. */
    for (size_t i = 0; i < ns; i += BLOCK) {
        size_t m = ns - i < BLOCK ? ns - i : BLOCK;
        for (size_t j = i; j < i + m; j++) {
            adm_gate_result_t res;
            t0 = now_ms();
            if (adm_gate_scan(g, texts + j * TEXT_STRIDE, lens[j], at++, &entry_ctx, &res) !=
                ADM_OK)
                failures++;
            lat_scan[j] = now_ms() - t0;
            t_scan_total += lat_scan[j];
            verdicts[res.verdict]++;
        }
        for (size_t j = i; j < i + m; j++) {
            adm_ticket_t t;
            t0 = now_ms();
            if (adm_token_decode(texts + j * TEXT_STRIDE, lens[j], pub, &t) != ADM_OK)
                failures++;
            lat_verify[j] = now_ms() - t0;
        }
        for (size_t j = i; j < i + m; j++) {
            t0 = now_ms();
            if (!floor_commit(fq, at))
                failures++;
            lat_floor[j] = now_ms() - t0;
        }
    }

    /* ---- 3. camera frames: ZBar alone, then ZBar + scan, on fresh tickets ---- */
    if (adm_qr_decoder_new(&dec) != ADM_OK) {
        fprintf(stderr, "cannot create the QR decoder\n");
        goto out;
    }
    for (size_t i = 0; i < nf; i++) {
        adm_image_t frame = {0, 0, NULL};
        char text[TEXT_STRIDE], out[ADM_QR_TEXT_MAX + 1];
        size_t len = 0, outlen = 0;
        adm_gate_result_t res;

        if (!encode(kr, ids[rng() % nt], text, &len) || !make_frame(text, i + 1, &frame)) {
            failures++;
            adm_image_free(&frame);
            continue;
        }
        t0 = now_ms();
        if (adm_qr_decode_frame(dec, frame.pixels, frame.width, frame.height, out, sizeof out,
                                &outlen) != ADM_OK ||
            strcmp(out, text) != 0)
            failures++;
        lat_zbar[i] = now_ms() - t0;
        t0 = now_ms();
        if (adm_qr_decode_frame(dec, frame.pixels, frame.width, frame.height, out, sizeof out,
                                &outlen) != ADM_OK ||
            adm_gate_scan(g, out, outlen, at++, &entry_ctx, &res) != ADM_OK)
            failures++;
        else
            frame_verdicts[res.verdict]++;
        lat_frame[i] = now_ms() - t0;
        adm_image_free(&frame);
    }
    hwm_end = status_kib("VmHWM");
    if (failures != 0) {
        fprintf(stderr, "%lu operations failed\n", failures);
        goto out;
    }

    /* ---- references for the import, after every memory figure was read ---- */
    doc.len = 0;
    if ((doc.p = malloc(doc.cap)) == NULL || !build_snapshot(&doc, keys, ids, nt, false)) {
        fprintf(stderr, "cannot rebuild the snapshot document\n");
        goto out;
    }
    rss_doc = (long)(mallinfo2().uordblks / 1024); /* heap in use: freed pages stay resident */
    t0 = now_ms();
    dom = json_loadb(doc.p, doc.len, JSON_REJECT_DUPLICATES, NULL);
    t_json = now_ms() - t0;
    rss_dom = (long)(mallinfo2().uordblks / 1024);
    if (dom == NULL) {
        fprintf(stderr, "jansson cannot load the document\n");
        goto out;
    }
    json_decref(dom);
    dom = NULL;
    t0 = now_ms();
    if (!bare_insert(fdb, ids, nt)) {
        fprintf(stderr, "bare insert failed: %s\n", sqlite3_errmsg(fdb));
        goto out;
    }
    t_bare = now_ms() - t0;

    /* ---- the table ---- */
    printf("bench-gate: %lu tickets, %lu revocations, %lu scans, %lu frames (%dx%d), store in %s\n",
           nt, REVOCATIONS, ns, nf, FRAME_W, FRAME_H, dir);
    printf("\nsnapshot import (%lu tickets, %lu revocations)       %10s %9s %9s %9s\n", nt,
           REVOCATIONS, "ms", "JSON MB", "store MB", "VmHWM MB");
    printf("  %-50s %10.0f %9.1f %9.1f %9.1f\n", "adm_gate_snapshot_import_json, every ticket",
           imp_full.ms, (double)imp_full.doc_bytes / 1e6, (double)imp_full.closed_bytes / 1e6,
           (double)imp_full.hwm_kib / 1024.0);
    printf("  %-50s %10.0f %9.1f %9.1f %9.1f\n", "  same, only the 1% not valid listed",
           imp_sparse.ms, (double)imp_sparse.doc_bytes / 1e6, (double)imp_sparse.closed_bytes / 1e6,
           (double)imp_sparse.hwm_kib / 1024.0);
    printf("  %-50s %10.0f %9.1f %9s %+8.1f\n", "reference: jansson json_loadb alone (DOM heap)",
           t_json, (double)doc.len / 1e6, "-", (double)(rss_dom - rss_doc) / 1024.0);
    printf("  %-50s %10.0f %9s %9s %9s\n", "reference: sort + bare INSERTs, 1 transaction", t_bare,
           "-", "-", "-");
    printf("  every ticket: RSS before the import %.1f MB (document included), WAL %.1f MB"
           " at commit;\n  document built in %.0f ms; adm_gate_open of the store %.1f ms\n",
           (double)rss_before / 1024.0, (double)imp_full.wal_bytes / 1e6, t_build, t_open);
    printf("\nverdict latency, ms (%lu entry scans: %lu accept, %lu already_used, %lu revoked,"
           " %lu other; %.0f scans/s)\n",
           ns, verdicts[ADM_VERDICT_ACCEPT], verdicts[ADM_VERDICT_ALREADY_USED],
           verdicts[ADM_VERDICT_REVOKED],
           ns - verdicts[ADM_VERDICT_ACCEPT] - verdicts[ADM_VERDICT_ALREADY_USED] -
               verdicts[ADM_VERDICT_REVOKED],
           (double)ns / (t_scan_total / 1e3));
    printf("  %-50s %8s %8s %8s\n", "", "p50", "p99", "p99.9");
    row("adm_gate_scan (verify + lookups + journal commit)", lat_scan, ns, true);
    row("reference: adm_token_decode (Ed25519 verify)", lat_verify, ns, true);
    row("reference: SQLite INSERT+COMMIT, WAL, sync=FULL", lat_floor, ns, true);
    printf("\ndecode to verdict, ms (%lu frames: QR at 40%% height, blur 1, noise 8;"
           " %lu accept, %lu already_used, %lu revoked)\n",
           nf, frame_verdicts[ADM_VERDICT_ACCEPT], frame_verdicts[ADM_VERDICT_ALREADY_USED],
           frame_verdicts[ADM_VERDICT_REVOKED]);
    printf("  %-50s %8s %8s %8s\n", "", "p50", "p99", "");
    row("ZBar decode + adm_gate_scan", lat_frame, nf, false);
    row("reference: ZBar decode alone", lat_zbar, nf, false);
    printf("\npeak RSS of the process (VmHWM) at the end: %.1f MB (goal: under 150 MB)\n",
           (double)hwm_end / 1024.0);
    result = 0;
out:
    json_decref(dom);
    adm_qr_decoder_free(dec);
    for (int i = 0; i < 3; i++)
        sqlite3_finalize(fq[i]);
    sqlite3_close(fdb);
    adm_gate_close(g);
    adm_keyring_free(kr);
    adm_keyring_free(pub);
    free(keys);
    free(texts);
    free(ids);
    free(lens);
    free(doc.p);
    free(lat_scan);
    free(lat_verify);
    free(lat_floor);
    free(lat_zbar);
    free(lat_frame);
    if (have_dir) {
        static const char *const files[] = {"gate.db",   "gate.db-wal",   "gate.db-shm",
                                            "sparse.db", "sparse.db-wal", "sparse.db-shm",
                                            "floor.db",  "floor.db-wal",  "floor.db-shm"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return result;
}
