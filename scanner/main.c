/* main.c: admit-gate, the headless gate scanner: argument parsing, input
 * readers (texts, PNG images, cameras, keyboard wedges on stdin), JSON
 * output, verdict hooks, enrollment and sync commands. The verdicts come
 * from scanner/gate.c, frames are decoded by scanner/frame.c, sync is
 * scanner/syncer.c. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scanner/enroll.h"
#include "scanner/frame.h"
#include "scanner/source.h"
#include "scanner/gate-sync.h"
#include "scanner/gate.h"
#include "scanner/syncer.h"
#include "sync/client.h"
#include "sync/qr.h"

enum { EXIT_ALL_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

#define MAX_HOOKS 16
#define WEDGE_MAX ADM_QR_TEXT_MAX /* a keyboard-wedge code longer than this is oversize */
#define ONLINE_CATCH_UP_MS 3000   /* scan --online: how long to wait for the feed first */
#define ONLINE_FLUSH_MS 5000      /* scan --online: how long to wait for the last uploads */
#define CAMERA_POLL_MS 200        /* how often the camera loop looks at SIGINT/SIGTERM */

static const char *prog = "admit-gate";

static const char usage_main[] =
    "usage: admit-gate COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  enroll   enroll this device with admitd (enrollment code) and sync\n"
    "  sync     upload the journal and pull the event feed (once, or --follow)\n"
    "  status   print the store's device, event, sync state and counts (JSON)\n"
    "  init     create or update a gate store from an event snapshot (offline use)\n"
    "  scan     check scanned codes and journal every scan (offline, or --online)\n"
    "  journal  print this device's scan journal as JSON lines\n"
    "\n"
    "Run 'admit-gate COMMAND --help' for a command's options.\n"
    "Exit status: 0 every scan accepted, 1 a scan refused or an error, 2 usage.\n";

static const char usage_init[] =
    "usage: admit-gate init --db FILE --snapshot FILE.json\n"
    "\n"
    "Creates the store FILE if needed and replaces its event snapshot (keys,\n"
    "ticket types, statuses, revocations, check-in lists, remote check-ins; format\n"
    "in docs/scanning.md). The scan journal is kept.\n";

static const char usage_scan[] =
    "usage: admit-gate scan --db FILE --list ID --gate NAME [OPTIONS]\n"
    "                       (TEXT... | --image FILE... | --stdin | --camera SOURCE)\n"
    "\n"
    "Prints one JSON line per scan; every scan is journaled before it is printed.\n"
    "  --db FILE        the gate store (see 'admit-gate enroll' or 'admit-gate init')\n"
    "  --list ID        check-in list id\n"
    "  --gate NAME      this gate's name\n"
    "  --exit           exit scans (default: entry)\n"
    "  --at T           scan time, unix seconds (default: now)\n"
    "  --image          the arguments are PNG files holding QR codes\n"
    "  --stdin          read a keyboard-wedge scanner on stdin: a line, or a pause\n"
    "                   of --pause-ms without input, ends a code\n"
    "  --pause-ms N     pause that ends a code on --stdin (1..10000, default 80)\n"
    "  --camera SOURCE  scan QR codes seen by a camera until SIGINT or SIGTERM:\n"
    "                   a V4L2 device (/dev/video0 or v4l2:/dev/video0), or PNG\n"
    "                   images played as camera frames until the last one:\n"
    "                   folder:DIR[?fps=10&hold=5&loop=0] (name order) or\n"
    "                   image:FILE.png\n"
    "  --repeat-ms N    --camera: a code seen again within N ms of its last sighting\n"
    "                   is not scanned again (0..600000, default 2000)\n"
    "  --online         sync while scanning (enrolled stores): pull the feed first,\n"
    "                   upload each scan at once, keep pulling; a scan the server\n"
    "                   flags prints {\"conflict\":true,\"nonce\":...}\n"
    "  --hook CLASS=CMD run CMD (sh -c) per verdict of CLASS: accept, refuse or\n"
    "                   attention (special tickets); $1 is the verdict name, the\n"
    "                   verdict JSON is in $ADMIT_VERDICT. Repeatable (at most 16).\n";

static const char usage_journal[] =
    "usage: admit-gate journal --db FILE\n"
    "\n"
    "Prints every journaled scan (admitted or refused) as a JSON line, oldest first,\n"
    "with its upload state and the server's conflict flag.\n";

static const char usage_enroll[] =
    "usage: admit-gate enroll --db FILE (URI | --qr-image FILE.png) [OPTIONS]\n"
    "\n"
    "Trades a one-time enrollment code (admit-enroll:<server URL>#<token>, from\n"
    "'admitctl enroll create') for this device's credentials, stores them in FILE\n"
    "and runs a first full sync.\n"
    "  --qr-image FILE  read the code from a PNG image of its QR code\n"
    "  --name NAME      a name for this device on the server\n"
    "  --ca FILE        trust this PEM bundle instead of the system CA store\n"
    "  --pin PIN        also pin the server's public key (sha256//<base64>)\n"
    "  --insecure-http  allow a plain http:// server URL (tests, a LAN without TLS)\n";

static const char usage_sync[] =
    "usage: admit-gate sync --db FILE [--follow]\n"
    "\n"
    "Uploads the journal rows not yet acknowledged, then pulls the event feed to\n"
    "its end, and prints a JSON summary. With --follow, keeps doing so (long-poll,\n"
    "uploads within a second) until SIGINT or SIGTERM, logging to stderr.\n";

static const char usage_status[] =
    "usage: admit-gate status --db FILE\n"
    "\n"
    "Prints the store's device, event, enrollment, feed cursors, pending uploads\n"
    "and journal counts by verdict as one JSON object.\n";

/* SIGINT/SIGTERM for the long-running modes (camera, --online, sync --follow) */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() and sleeps return at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints a JSON value as one line on stdout and frees it. */
static void print_json(json_t *o)
{
    char *line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    if (line != NULL)
        puts(line);
    else
        fprintf(stderr, "%s: out of memory\n", prog);
    fflush(stdout);
    free(line);
    json_decref(o);
}

static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

static bool parse_num(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s == '\0' || *s == '+' || *s == '-')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Reads a whole file of at most max bytes into a new buffer (free with free()). */
static adm_err_t read_file(const char *path, size_t max, char **out, size_t *len)
{
    adm_err_t result = ADM_ERR_IO;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    if (f == NULL)
        goto out;
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            if (cap > max) {
                result = ADM_ERR_TOO_BIG;
                goto out;
            }
            cap = cap ? cap * 2 : 65536;
            if ((nb = realloc(buf, cap + 1)) == NULL) {
                result = ADM_ERR_NOMEM;
                goto out;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto out;
    if (n > max) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    result = ADM_OK;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    return result;
}

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"snapshot", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *snap = NULL;
    adm_gate_t *g = NULL;
    char *json = NULL;
    size_t len = 0;
    adm_err_t e;
    int c, result = EXIT_REFUSED;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 's':
            snap = optarg;
            break;
        case 'h':
            return fputs(usage_init, stdout), EXIT_ALL_OK;
        default:
            return fputs(usage_init, stderr), EXIT_USAGE;
        }
    }
    if (db == NULL || snap == NULL || optind != argc)
        return usage_error(usage_init, "init needs --db and --snapshot and no other arguments");
    if ((e = read_file(snap, ADM_GATE_SNAPSHOT_MAX, &json, &len)) != ADM_OK) {
        fprintf(stderr, "%s: cannot read snapshot %s: %s\n", prog, snap, adm_strerror(e));
        goto out;
    }
    if ((e = adm_gate_open(db, &g)) != ADM_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, db, adm_strerror(e));
        goto out;
    }
    if ((e = adm_gate_snapshot_import_json(g, json, len)) != ADM_OK) {
        fprintf(stderr, "%s: snapshot %s refused: %s\n", prog, snap, adm_strerror(e));
        goto out;
    }
    printf("{\"device\":\"%s\",\"event_id\":%u}\n", adm_gate_device_id(g), adm_gate_event_id(g));
    result = EXIT_ALL_OK;
out:
    adm_gate_close(g);
    free(json);
    return result;
}

typedef struct hook {
    const char *cls; /* "accept", "refuse", "attention" */
    const char *cmd;
} hook_t;

typedef struct scan_ctx {
    adm_gate_t *g;
    adm_gate_ctx_t ctx;
    bool have_at;
    int64_t at;
    hook_t hooks[MAX_HOOKS];
    int n_hooks;
    bool any_refused;
    adm_syncer_t *syncer; /* --online: told about every journaled scan */
} scan_ctx_t;

static void run_hook(const char *cmd, const char *verdict, const char *json)
{
    pid_t pid;
    int status;

    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: hook not run: fork: %s\n", prog, strerror(errno));
        return;
    }
    if (pid == 0) {
        setenv("ADMIT_VERDICT", json, 1);
        execl("/bin/sh", "sh", "-c", cmd, "admit-gate-hook", verdict, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

/* Prints the verdict as one JSON line and runs the matching hooks. */
static void report(scan_ctx_t *sc, const adm_gate_result_t *r)
{
    json_t *o = json_object();
    char *line = NULL;

    if (o == NULL)
        goto out;
    json_object_set_new(o, "verdict", json_string(adm_verdict_name(r->verdict)));
    json_object_set_new(o, "reason", json_string(r->reason));
    json_object_set_new(o, "at", json_integer(r->at));
    json_object_set_new(o, "gate", json_string(sc->ctx.gate));
    json_object_set_new(o, "list_id", json_integer(sc->ctx.list_id));
    json_object_set_new(o, "direction", json_string(adm_direction_name(sc->ctx.direction)));
    json_object_set_new(o, "attention", json_boolean(r->attention));
    if (r->parsed) {
        json_t *t = json_object();
        char kid[9];
        snprintf(kid, sizeof kid, "%08x", r->ticket.key_id);
        json_object_set_new(t, "id", json_integer((json_int_t)r->ticket.ticket_id));
        json_object_set_new(t, "event_id", json_integer(r->ticket.event_id));
        json_object_set_new(t, "type_id", json_integer(r->ticket.type_id));
        json_object_set_new(t, "kid", json_string(kid));
        json_object_set_new(t, "verified", json_boolean(r->verified));
        json_object_set_new(t, "special", json_boolean(r->ticket.flags & ADM_TICKET_SPECIAL));
        json_object_set_new(t, "reentry", json_boolean(r->ticket.flags & ADM_TICKET_REENTRY));
        if (r->ticket.label[0] != '\0')
            json_object_set_new(t, "seat", json_string(r->ticket.label));
        if (r->ticket.has_valid_from)
            json_object_set_new(t, "valid_from", json_integer(r->ticket.valid_from));
        if (r->ticket.has_valid_until)
            json_object_set_new(t, "valid_until", json_integer(r->ticket.valid_until));
        json_object_set_new(o, "ticket", t);
    }
    if (r->has_first_used)
        json_object_set_new(o, "first_used",
                            json_pack("{s:I,s:s,s:s}", "at", (json_int_t)r->first_at, "gate",
                                      r->first_gate, "device", r->first_device));
    if (r->nonce[0] != '\0')
        json_object_set_new(o, "nonce", json_string(r->nonce));
    line = json_dumps(o, JSON_COMPACT);
    if (line == NULL)
        goto out;
    puts(line);
    fflush(stdout);
    for (int i = 0; i < sc->n_hooks; i++) {
        const char *cls = sc->hooks[i].cls;
        if ((strcmp(cls, "accept") == 0 && r->verdict == ADM_VERDICT_ACCEPT) ||
            (strcmp(cls, "refuse") == 0 && r->verdict != ADM_VERDICT_ACCEPT) ||
            (strcmp(cls, "attention") == 0 && r->attention))
            run_hook(sc->hooks[i].cmd, adm_verdict_name(r->verdict), line);
    }
out:
    free(line);
    json_decref(o);
}

/* Scans one text; returns false on a store error (the scan then has no verdict). */
static bool scan_text(scan_ctx_t *sc, const char *text, size_t len)
{
    adm_gate_result_t r;
    int64_t now = sc->have_at ? sc->at : (int64_t)time(NULL);
    adm_err_t e = adm_gate_scan(sc->g, text, len, now, &sc->ctx, &r);

    if (e == ADM_ERR_NOT_FOUND) {
        fprintf(stderr, "%s: list %u or gate '%s' is not in the snapshot\n", prog, sc->ctx.list_id,
                sc->ctx.gate);
        sc->any_refused = true;
        return false;
    }
    if (e != ADM_OK) {
        fprintf(stderr, "%s: scan not recorded: %s\n", prog, adm_strerror(e));
        sc->any_refused = true;
        return false;
    }
    adm_syncer_notify(sc->syncer); /* the row is durable: upload it now */
    if (r.verdict != ADM_VERDICT_ACCEPT)
        sc->any_refused = true;
    report(sc, &r);
    return true;
}

/* An image from which no code was read: nothing to journal. */
static void report_unread(scan_ctx_t *sc, const char *image, adm_err_t e)
{
    print_json(json_pack("{s:s,s:s,s:s}", "verdict", "malformed", "reason", adm_err_name(e),
                         "image", image));
    fprintf(stderr, "%s: %s: %s\n", prog, image, adm_strerror(e));
    sc->any_refused = true;
}

/* Frame -> text -> verdict: the one path of --image and --camera. image
 * names a still image (every failure is reported); NULL for camera frames
 * (frames without a new code are skipped quietly). */
static bool scan_frame(scan_ctx_t *sc, adm_frame_reader_t *rd, const uint8_t *y800, int w, int h,
                       const char *image)
{
    char text[ADM_QR_TEXT_MAX + 1];
    size_t len = 0;
    adm_err_t e = adm_frame_reader_read(rd, y800, w, h, monotonic_ms(), text, sizeof text, &len);

    if (e == ADM_OK)
        return scan_text(sc, text, len);
    if (image != NULL)
        report_unread(sc, image, e);
    return true;
}

static bool scan_image(scan_ctx_t *sc, adm_frame_reader_t *rd, const char *path)
{
    adm_image_t img = {0, 0, NULL};
    adm_err_t e = adm_image_load_png(path, &img);
    bool ok = true;

    if (e != ADM_OK)
        report_unread(sc, path, e);
    else
        ok = scan_frame(sc, rd, img.pixels, img.width, img.height, path);
    adm_image_free(&img);
    return ok;
}

/* Opens the --camera source, saying why not on stderr. A plain path (/dev/video0,
 * ./video0, or any absolute path) is a V4L2 device, as before source specs. */
static adm_source_t *open_source(const char *spec)
{
    adm_source_t *src = NULL;
    char buf[ADM_SOURCE_SPEC_MAX + 8];
    char why[512];
    adm_err_t e;

    if ((spec[0] == '/' || spec[0] == '.') && strlen(spec) < sizeof buf - 5) {
        snprintf(buf, sizeof buf, "v4l2:%s", spec);
        e = adm_source_open(buf, &src, why, sizeof why);
    } else {
        e = adm_source_open(spec, &src, why, sizeof why);
    }
    if (e != ADM_OK)
        fprintf(stderr, "%s: cannot use camera %s: %s\n", prog, spec,
                why[0] ? why : adm_strerror(e));
    return src;
}

/* Scans what the source sees until SIGINT/SIGTERM, or until a finite source
 * (folder:, image:) ends. An image the source cannot read is reported and
 * skipped (and counts as refused). EXIT_REFUSED when the camera fails, or on
 * a store error. */
static int scan_camera(scan_ctx_t *sc, adm_source_t *src, long repeat_ms)
{
    adm_frame_reader_t *rd = NULL;
    const char *what = adm_source_describe(src);
    char why[512];
    adm_err_t e;
    int result = EXIT_REFUSED;

    if ((e = adm_frame_reader_new(repeat_ms, &rd)) != ADM_OK) {
        fprintf(stderr, "%s: %s\n", prog, adm_strerror(e));
        goto out;
    }
    fprintf(stderr, "%s: scanning with %s; Ctrl-C stops\n", prog, what);
    while (!got_signal) {
        const uint8_t *y800 = NULL;
        int w = 0, h = 0;
        e = adm_source_next(src, CAMERA_POLL_MS, &y800, &w, &h, why, sizeof why);
        if (e == ADM_ERR_NOT_FOUND)
            break; /* the last image was played */
        if (e == ADM_ERR_IMAGE) {
            fprintf(stderr, "%s: %s: skipped %s\n", prog, what, why[0] ? why : adm_strerror(e));
            sc->any_refused = true;
            continue;
        }
        if (e != ADM_OK) {
            fprintf(stderr, "%s: %s: %s\n", prog, what, why[0] ? why : adm_strerror(e));
            goto out;
        }
        if (y800 != NULL && !scan_frame(sc, rd, y800, w, h, NULL))
            goto out;
    }
    result = EXIT_ALL_OK;
out:
    adm_frame_reader_free(rd);
    return result;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* Keyboard wedge: CR or LF ends a code, and so does a pause of pause_ms
 * (scanners configured without a suffix). A code longer than WEDGE_MAX is
 * scanned as its first WEDGE_MAX + 1 bytes, which the token decoder refuses
 * as oversize; the rest up to the next end is dropped. */
static int scan_stdin(scan_ctx_t *sc, int pause_ms)
{
    char buf[WEDGE_MAX + 1];
    size_t n = 0;
    bool overflow = false, eof = false;

    while (!eof && !got_signal) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int rc = poll(&p, 1, n > 0 || overflow ? pause_ms : -1);
        char chunk[512];
        ssize_t got;

        if (rc < 0) {
            if (errno == EINTR && got_signal)
                break; /* the code being typed is dropped: it was never complete */
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
            return EXIT_REFUSED;
        }
        if (rc == 0) { /* pause: the code is complete */
            if (n > 0 && !blank(buf, n) && !scan_text(sc, buf, n))
                return EXIT_REFUSED;
            n = 0;
            overflow = false;
            continue;
        }
        got = read(STDIN_FILENO, chunk, sizeof chunk);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fprintf(stderr, "%s: read: %s\n", prog, strerror(errno));
            return EXIT_REFUSED;
        }
        if (got == 0)
            eof = true;
        for (ssize_t i = 0; i < got && !got_signal; i++) {
            char ch = chunk[i];
            if (ch == '\n' || ch == '\r') {
                if (n > 0 && !blank(buf, n) && !scan_text(sc, buf, n))
                    return EXIT_REFUSED;
                n = 0;
                overflow = false;
            } else if (n < sizeof buf) {
                buf[n++] = ch;
            } else {
                overflow = true;
            }
        }
    }
    if (!got_signal && n > 0 && !blank(buf, n) && !scan_text(sc, buf, n))
        return EXIT_REFUSED;
    return EXIT_ALL_OK;
}

/* syncer hooks, called from its threads: one line per call (stdio locks) */
static void sync_log(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "%s: sync: %s\n", prog, msg);
}

static void sync_conflict(void *ud, const char *nonce)
{
    (void)ud;
    print_json(json_pack("{s:b,s:s}", "conflict", 1, "nonce", nonce));
}

/* Starts the background syncer for --online / sync --follow. */
static adm_err_t start_syncer(const char *db, adm_syncer_t **out)
{
    adm_syncer_opts_t o = {.log = sync_log, .conflict = sync_conflict};
    adm_err_t e = adm_syncer_start(db, &o, out);

    if (e == ADM_ERR_NOT_FOUND)
        fprintf(stderr, "%s: %s is not enrolled: run 'admit-gate enroll' first\n", prog, db);
    else if (e != ADM_OK)
        fprintf(stderr, "%s: cannot start syncing %s: %s\n", prog, db, adm_strerror(e));
    return e;
}

static int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"list", required_argument, NULL, 'l'},
        {"gate", required_argument, NULL, 'g'},   {"exit", no_argument, NULL, 'x'},
        {"at", required_argument, NULL, 'a'},     {"image", no_argument, NULL, 'i'},
        {"stdin", no_argument, NULL, 's'},        {"pause-ms", required_argument, NULL, 'p'},
        {"camera", required_argument, NULL, 'c'}, {"repeat-ms", required_argument, NULL, 'r'},
        {"online", no_argument, NULL, 'o'},       {"hook", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    scan_ctx_t sc = {0};
    const char *db = NULL, *camera = NULL;
    bool images = false, from_stdin = false, online = false;
    long long v, pause_ms = 80, repeat_ms = ADM_FRAME_REPEAT_MS_DEFAULT;
    int c, result = EXIT_REFUSED, sources;
    adm_frame_reader_t *still = NULL;
    adm_source_t *src = NULL;
    adm_err_t e;

    sc.ctx.direction = ADM_DIRECTION_ENTRY;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'l':
            if (!parse_num(optarg, 1, UINT32_MAX, &v))
                return usage_error(usage_scan, "bad --list '%s' (1..4294967295)", optarg);
            sc.ctx.list_id = (uint32_t)v;
            break;
        case 'g':
            if (strlen(optarg) == 0 || strlen(optarg) > ADM_GATE_NAME_MAX)
                return usage_error(usage_scan, "bad --gate '%s' (1..%d bytes)", optarg,
                                   ADM_GATE_NAME_MAX);
            sc.ctx.gate = optarg;
            break;
        case 'x':
            sc.ctx.direction = ADM_DIRECTION_EXIT;
            break;
        case 'a':
            if (!parse_num(optarg, 0, UINT32_MAX, &v))
                return usage_error(usage_scan, "bad --at '%s' (unix seconds)", optarg);
            sc.have_at = true;
            sc.at = v;
            break;
        case 'i':
            images = true;
            break;
        case 's':
            from_stdin = true;
            break;
        case 'p':
            if (!parse_num(optarg, 1, 10000, &pause_ms))
                return usage_error(usage_scan, "bad --pause-ms '%s' (1..10000)", optarg);
            break;
        case 'c':
            if (optarg[0] == '\0')
                return usage_error(usage_scan,
                                   "--camera needs a source, e.g. /dev/video0 or folder:DIR");
            camera = optarg;
            break;
        case 'r':
            if (!parse_num(optarg, 0, ADM_FRAME_REPEAT_MS_MAX, &repeat_ms))
                return usage_error(usage_scan, "bad --repeat-ms '%s' (0..%d)", optarg,
                                   ADM_FRAME_REPEAT_MS_MAX);
            break;
        case 'o':
            online = true;
            break;
        case 'k': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || eq[1] == '\0' || sc.n_hooks == MAX_HOOKS)
                return usage_error(usage_scan, "bad --hook '%s' (CLASS=CMD, at most %d)", optarg,
                                   MAX_HOOKS);
            *eq = '\0';
            if (strcmp(optarg, "accept") != 0 && strcmp(optarg, "refuse") != 0 &&
                strcmp(optarg, "attention") != 0)
                return usage_error(usage_scan, "bad hook class '%s' (accept, refuse, attention)",
                                   optarg);
            sc.hooks[sc.n_hooks++] = (hook_t){.cls = optarg, .cmd = eq + 1};
            break;
        }
        case 'h':
            return fputs(usage_scan, stdout), EXIT_ALL_OK;
        default:
            return fputs(usage_scan, stderr), EXIT_USAGE;
        }
    }
    if (db == NULL || sc.ctx.list_id == 0 || sc.ctx.gate == NULL)
        return usage_error(usage_scan, "scan needs --db, --list and --gate");
    sources = (int)images + (int)from_stdin + (camera != NULL);
    if (sources > 1)
        return usage_error(usage_scan, "--image, --stdin and --camera exclude each other");
    if ((from_stdin || camera != NULL) ? optind != argc : optind == argc)
        return usage_error(usage_scan,
                           (from_stdin || camera != NULL)
                               ? "--stdin and --camera take no TEXT arguments"
                               : "nothing to scan: give TEXT, --image FILE, --stdin or --camera");
    /* the source first: a wrong --camera fails before anything else happens */
    if (camera != NULL && (src = open_source(camera)) == NULL)
        goto out;
    if (online || camera != NULL)
        catch_stop_signals();
    if (online) {
        if (start_syncer(db, &sc.syncer) != ADM_OK)
            goto out;
        if (!adm_syncer_wait_caught_up(sc.syncer, ONLINE_CATCH_UP_MS)) {
            adm_syncer_status_t st;
            adm_syncer_status(sc.syncer, &st);
            if (st.fatal != ADM_OK)
                goto out; /* the syncer said why */
            fprintf(stderr, "%s: offline, scanning with the stored data%s%s\n", prog,
                    st.last_error[0] ? ": " : "", st.last_error);
        }
    }
    if ((e = adm_gate_open(db, &sc.g)) != ADM_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, db, adm_strerror(e));
        goto out;
    }
    if (adm_gate_event_id(sc.g) == 0) {
        fprintf(stderr,
                "%s: %s has no event data: run 'admit-gate enroll' or 'admit-gate init' first\n",
                prog, db);
        goto out;
    }
    if (camera != NULL) {
        if (scan_camera(&sc, src, (long)repeat_ms) != EXIT_ALL_OK)
            goto out;
    } else if (from_stdin) {
        if (scan_stdin(&sc, (int)pause_ms) != EXIT_ALL_OK)
            goto out;
    } else {
        /* still images are independent: no repeat filter */
        if (images && (e = adm_frame_reader_new(0, &still)) != ADM_OK) {
            fprintf(stderr, "%s: %s\n", prog, adm_strerror(e));
            goto out;
        }
        for (int i = optind; i < argc && !got_signal; i++) {
            if (!(images ? scan_image(&sc, still, argv[i])
                         : scan_text(&sc, argv[i], strlen(argv[i]))))
                goto out;
        }
    }
    result = sc.any_refused ? EXIT_REFUSED : EXIT_ALL_OK;
out:
    if (sc.syncer != NULL && sc.g != NULL && !adm_syncer_flush(sc.syncer, ONLINE_FLUSH_MS)) {
        adm_syncer_status_t st;
        adm_syncer_status(sc.syncer, &st);
        if (st.pending > 0)
            fprintf(stderr,
                    "%s: %lld scan(s) not uploaded yet; 'admit-gate sync --db %s' uploads them\n",
                    prog, (long long)st.pending, db);
    }
    adm_syncer_stop(sc.syncer);
    adm_source_close(src);
    adm_frame_reader_free(still);
    adm_gate_close(sc.g);
    return result;
}

static int journal_row(const adm_gate_journal_row_t *r, void *ud)
{
    json_t *o =
        json_pack("{s:I,s:s,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:b,s:s}", "seq", (json_int_t)r->seq,
                  "nonce", r->nonce, "at", (json_int_t)r->at, "gate", r->gate, "device", r->device,
                  "list_id", (json_int_t)r->list_id, "direction", adm_direction_name(r->direction),
                  "verdict", adm_verdict_name(r->verdict), "reason", r->reason, "attention",
                  (int)r->attention, "text_hash", r->text_hash);
    char *line;

    (void)ud;
    if (o == NULL)
        return 1;
    if (r->has_ticket)
        json_object_set_new(o, "ticket_id", json_integer((json_int_t)r->ticket_id));
    json_object_set_new(o, "uploaded", json_boolean(r->uploaded));
    json_object_set_new(o, "conflict", json_boolean(r->conflict));
    line = json_dumps(o, JSON_COMPACT);
    if (line != NULL)
        puts(line);
    free(line);
    json_decref(o);
    return line == NULL;
}

/* For the commands that take only --db FILE of an existing store: parses
 * argv and opens the store into *g. Returns -1 when *g is open (the caller
 * closes it), else the exit status for help, a usage error or a store that
 * is missing or cannot be opened (said on stderr). */
static int open_existing(int argc, char **argv, const char *usage, const char *cmd, const char **db,
                         adm_gate_t **g)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    adm_err_t e;
    int c;

    *db = NULL;
    *g = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *db = optarg;
            break;
        case 'h':
            return fputs(usage, stdout), EXIT_ALL_OK;
        default:
            return fputs(usage, stderr), EXIT_USAGE;
        }
    }
    if (*db == NULL || optind != argc)
        return usage_error(usage, "%s needs --db and no other arguments", cmd);
    if (access(*db, F_OK) != 0) {
        fprintf(stderr, "%s: %s does not exist\n", prog, *db);
        return EXIT_REFUSED;
    }
    if ((e = adm_gate_open(*db, g)) != ADM_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, *db, adm_strerror(e));
        return EXIT_REFUSED;
    }
    return -1;
}

static int cmd_journal(int argc, char **argv)
{
    const char *db;
    adm_gate_t *g;
    adm_err_t e;
    int result = open_existing(argc, argv, usage_journal, "journal", &db, &g);

    if (result >= 0)
        return result;
    result = EXIT_ALL_OK;
    if ((e = adm_gate_journal_each(g, journal_row, NULL)) != ADM_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, db, adm_strerror(e));
        result = EXIT_REFUSED;
    }
    adm_gate_close(g);
    return result;
}

/* ---- enrollment and sync ---- */

/* Explains a failed request to the server on stderr. */
static void say_sync_error(const char *what, adm_err_t e, adm_sync_client_t *c)
{
    const char *fatal = adm_syncer_fatal_message(e);
    const char *detail = c != NULL ? adm_sync_client_error(c) : "";

    fprintf(stderr, "%s: %s: %s%s%s\n", prog, what, fatal ? fatal : adm_strerror(e),
            detail[0] ? ": " : "", detail);
}

static json_t *round_json(const adm_syncer_round_t *r, adm_gate_t *g)
{
    int64_t pending = -1;

    adm_gate_upload_count(g, &pending);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I},s:I}", "pushed", (json_int_t)r->pushed,
                     "conflicts", (json_int_t)r->conflicts, "pages", (json_int_t)r->pages,
                     "revocations", (json_int_t)r->revocations, "checkins", (json_int_t)r->checkins,
                     "cursor", "revocations", (json_int_t)r->cursor.revocations, "checkins",
                     (json_int_t)r->cursor.checkins, "pending_uploads", (json_int_t)pending);
}

static int cmd_enroll(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},   {"qr-image", required_argument, NULL, 'q'},
        {"name", required_argument, NULL, 'n'}, {"ca", required_argument, NULL, 'c'},
        {"pin", required_argument, NULL, 'p'},  {"insecure-http", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *qr = NULL, *ca = NULL;
    char uri[ADM_QR_TEXT_MAX + 1], ca_abs[PATH_MAX], why[ADM_GATE_ENROLL_WHY_MAX];
    adm_gate_enroll_opts_t eo = {0};
    adm_gate_enroll_result_t en;
    adm_gate_sync_conf_t conf;
    adm_gate_t *g = NULL;
    size_t len = 0;
    adm_err_t e;
    int c, result = EXIT_REFUSED;

    memset(&conf, 0, sizeof conf);
    uri[0] = '\0';
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'q':
            qr = optarg;
            break;
        case 'n':
            eo.name = optarg;
            break;
        case 'c':
            ca = optarg;
            break;
        case 'p':
            if (strncmp(optarg, "sha256//", 8) != 0 || strlen(optarg) > ADM_SYNC_PIN_MAX)
                return usage_error(usage_enroll, "bad --pin (sha256//<base64>)");
            eo.pin = optarg;
            break;
        case 'k':
            eo.allow_http = true;
            break;
        case 'h':
            return fputs(usage_enroll, stdout), EXIT_ALL_OK;
        default:
            return fputs(usage_enroll, stderr), EXIT_USAGE;
        }
    }
    if (db == NULL || (qr != NULL ? optind != argc : optind != argc - 1))
        return usage_error(usage_enroll, "enroll needs --db and one enrollment URI or --qr-image");
    /* 1. the code: admit-enroll:<base>#<token> (never echoed: the token is a credential) */
    if (qr != NULL) {
        if ((e = adm_qr_decode_png_file(qr, uri, sizeof uri, &len)) != ADM_OK) {
            fprintf(stderr, "%s: cannot read an enrollment QR code in %s: %s\n", prog, qr,
                    adm_strerror(e));
            goto out;
        }
    } else if (strlen(argv[optind]) >= sizeof uri) {
        fprintf(stderr, "%s: the enrollment URI is too long\n", prog);
        goto out;
    } else {
        snprintf(uri, sizeof uri, "%s", argv[optind]);
    }
    if (ca != NULL && (realpath(ca, ca_abs) == NULL || access(ca_abs, R_OK) != 0)) {
        fprintf(stderr, "%s: cannot read --ca %s: %s\n", prog, ca, strerror(errno));
        goto out;
    }
    eo.ca_file = ca != NULL ? ca_abs : NULL;
    /* 2. the store first: a store that cannot be opened must not burn the code */
    if ((e = adm_gate_open(db, &g)) != ADM_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, db, adm_strerror(e));
        goto out;
    }
    if (adm_gate_sync_conf_get(g, &conf) == ADM_OK)
        fprintf(stderr, "%s: %s was enrolled as %s; replacing that enrollment\n", prog, db,
                conf.device_id);
    adm_gate_sync_conf_wipe(&conf);
    /* 3. trade the code, store the credentials, sync once */
    if (adm_gate_enroll(g, uri, &eo, &en, why, sizeof why) != ADM_OK) {
        fprintf(stderr, "%s: %s\n", prog, why);
        goto out;
    }
    if (en.sync_err != ADM_OK) {
        fprintf(stderr, "%s: %s\n%s: run 'admit-gate sync --db %s' to sync again\n", prog, why,
                prog, db);
        goto out;
    }
    print_json(json_pack("{s:s,s:I,s:s,s:s,s:s,s:o}", "device", en.device_id, "event_id",
                         (json_int_t)en.event_id, "gate", en.gate, "kind", "gate", "server",
                         en.server, "sync", round_json(&en.round, g)));
    result = EXIT_ALL_OK;
out:
    sodium_memzero(uri, sizeof uri);
    adm_gate_close(g);
    return result;
}

/* sync --follow: the background syncer until a signal or a fatal error. */
static int sync_follow(const char *db)
{
    adm_syncer_t *s = NULL;
    adm_syncer_status_t st;
    int result = EXIT_REFUSED;

    catch_stop_signals();
    if (start_syncer(db, &s) != ADM_OK)
        goto out;
    for (;;) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
        adm_syncer_status(s, &st);
        if (got_signal || !st.running)
            break;
        nanosleep(&ts, NULL); /* a signal cuts it short */
    }
    adm_syncer_flush(s, got_signal ? 2000 : 0);
    adm_syncer_status(s, &st);
    print_json(json_pack(
        "{s:b,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I},s:s?}", "online", (int)st.online, "last_sync",
        (json_int_t)st.last_sync, "pushed", (json_int_t)st.pushed, "pulled", (json_int_t)st.pulled,
        "conflicts", (json_int_t)st.conflicts, "pending_uploads", (json_int_t)st.pending, "cursor",
        "revocations", (json_int_t)st.cursor.revocations, "checkins",
        (json_int_t)st.cursor.checkins, "error", st.fatal != ADM_OK ? st.last_error : NULL));
    result = st.fatal == ADM_OK ? EXIT_ALL_OK : EXIT_REFUSED;
out:
    adm_syncer_stop(s);
    return result;
}

static int cmd_sync(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    bool follow = false;
    adm_gate_t *g = NULL;
    adm_sync_client_t *client = NULL;
    adm_syncer_round_t round = {0};
    adm_err_t e;
    int c, result = EXIT_REFUSED;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'f':
            follow = true;
            break;
        case 'h':
            return fputs(usage_sync, stdout), EXIT_ALL_OK;
        default:
            return fputs(usage_sync, stderr), EXIT_USAGE;
        }
    }
    if (db == NULL || optind != argc)
        return usage_error(usage_sync, "sync needs --db and no other arguments");
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "%s: %s does not exist: run 'admit-gate enroll' first\n", prog, db);
        goto out;
    }
    if (follow)
        return sync_follow(db);
    if ((e = adm_gate_open(db, &g)) != ADM_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, db, adm_strerror(e));
        goto out;
    }
    if ((e = adm_syncer_client_new(g, &client)) != ADM_OK) {
        if (e == ADM_ERR_NOT_FOUND)
            fprintf(stderr, "%s: %s is not enrolled: run 'admit-gate enroll' first\n", prog, db);
        else
            fprintf(stderr, "%s: cannot use the stored server settings: %s\n", prog,
                    adm_strerror(e));
        goto out;
    }
    if ((e = adm_syncer_round(g, client, &round)) != ADM_OK) {
        say_sync_error("sync failed", e, client);
        if (round.pushed > 0 || round.pages > 0)
            print_json(round_json(&round, g));
        goto out;
    }
    print_json(round_json(&round, g));
    result = EXIT_ALL_OK;
out:
    adm_sync_client_free(client);
    adm_gate_close(g);
    return result;
}

static int cmd_status(int argc, char **argv)
{
    const char *db;
    adm_gate_t *g;
    json_t *o = NULL;
    adm_err_t e;
    int result = open_existing(argc, argv, usage_status, "status", &db, &g);

    if (result >= 0)
        return result;
    result = EXIT_ALL_OK;
    if ((e = adm_gate_status_json(g, &o)) != ADM_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, db, adm_strerror(e));
        result = EXIT_REFUSED;
    } else {
        print_json(o);
    }
    adm_gate_close(g);
    return result;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL)
        return fputs(usage_main, stderr), EXIT_USAGE;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return fputs(usage_main, stdout), EXIT_ALL_OK;
    if (strcmp(cmd, "--version") == 0)
        return puts("admit-gate " ADM_VERSION), EXIT_ALL_OK;
    if (strcmp(cmd, "init") == 0)
        return cmd_init(argc - 1, argv + 1);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "journal") == 0)
        return cmd_journal(argc - 1, argv + 1);
    if (strcmp(cmd, "enroll") == 0)
        return cmd_enroll(argc - 1, argv + 1);
    if (strcmp(cmd, "sync") == 0)
        return cmd_sync(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n%s", prog, cmd, usage_main);
    return EXIT_USAGE;
}
