/* main.c: admit-gate, the headless gate scanner: argument parsing, input
 * readers (texts, PNG images, keyboard wedges on stdin), JSON output and
 * verdict hooks. The verdicts themselves come from scanner/gate.c. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scanner/gate.h"
#include "sync/qr.h"

enum { EXIT_ALL_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

#define MAX_HOOKS 16
#define WEDGE_MAX ADM_QR_TEXT_MAX /* a keyboard-wedge code longer than this is oversize */

static const char *prog = "admit-gate";

static const char usage_main[] =
    "usage: admit-gate COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  init     create or update a gate store from an event snapshot (JSON)\n"
    "  scan     check scanned codes offline and journal every scan\n"
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
    "usage: admit-gate scan --db FILE --list ID --gate NAME [OPTIONS] (TEXT... | --image FILE... | "
    "--stdin)\n"
    "\n"
    "Prints one JSON line per scan; every scan is journaled before it is printed.\n"
    "  --db FILE        the gate store (see 'admit-gate init')\n"
    "  --list ID        check-in list id\n"
    "  --gate NAME      this gate's name\n"
    "  --exit           exit scans (default: entry)\n"
    "  --at T           scan time, unix seconds (default: now)\n"
    "  --image          the arguments are PNG files holding QR codes\n"
    "  --stdin          read a keyboard-wedge scanner on stdin: a line, or a pause\n"
    "                   of --pause-ms without input, ends a code\n"
    "  --pause-ms N     pause that ends a code on --stdin (1..10000, default 80)\n"
    "  --hook CLASS=CMD run CMD (sh -c) per verdict of CLASS: accept, refuse or\n"
    "                   attention (special tickets); $1 is the verdict name, the\n"
    "                   verdict JSON is in $ADMIT_VERDICT. Repeatable (at most 16).\n";

static const char usage_journal[] =
    "usage: admit-gate journal --db FILE\n"
    "\n"
    "Prints every journaled scan (admitted or refused) as a JSON line, oldest first.\n";

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
    if (r.verdict != ADM_VERDICT_ACCEPT)
        sc->any_refused = true;
    report(sc, &r);
    return true;
}

static bool scan_image(scan_ctx_t *sc, const char *path)
{
    char text[ADM_QR_TEXT_MAX + 1];
    size_t len = 0;
    adm_err_t e = adm_qr_decode_png_file(path, text, sizeof text, &len);

    if (e != ADM_OK) {
        /* no code was read, so there is nothing to journal */
        json_t *o = json_pack("{s:s,s:s,s:s?}", "verdict", "malformed", "reason", adm_err_name(e),
                              "image", path);
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line != NULL)
            puts(line);
        fflush(stdout);
        free(line);
        json_decref(o);
        fprintf(stderr, "%s: %s: %s\n", prog, path, adm_strerror(e));
        sc->any_refused = true;
        return true;
    }
    return scan_text(sc, text, len);
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

    while (!eof) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int rc = poll(&p, 1, n > 0 || overflow ? pause_ms : -1);
        char chunk[512];
        ssize_t got;

        if (rc < 0) {
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
        for (ssize_t i = 0; i < got; i++) {
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
    if (n > 0 && !blank(buf, n) && !scan_text(sc, buf, n))
        return EXIT_REFUSED;
    return EXIT_ALL_OK;
}

static int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"list", required_argument, NULL, 'l'},
        {"gate", required_argument, NULL, 'g'},
        {"exit", no_argument, NULL, 'x'},
        {"at", required_argument, NULL, 'a'},
        {"image", no_argument, NULL, 'i'},
        {"stdin", no_argument, NULL, 's'},
        {"pause-ms", required_argument, NULL, 'p'},
        {"hook", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    scan_ctx_t sc = {0};
    const char *db = NULL;
    bool images = false, from_stdin = false;
    long long v, pause_ms = 80;
    int c, result = EXIT_REFUSED;
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
    if (images && from_stdin)
        return usage_error(usage_scan, "--image and --stdin exclude each other");
    if (from_stdin ? optind != argc : optind == argc)
        return usage_error(usage_scan, from_stdin
                                           ? "--stdin takes no TEXT arguments"
                                           : "nothing to scan: give TEXT, --image FILE or --stdin");
    if ((e = adm_gate_open(db, &sc.g)) != ADM_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, db, adm_strerror(e));
        goto out;
    }
    if (adm_gate_event_id(sc.g) == 0) {
        fprintf(stderr, "%s: %s has no snapshot: run 'admit-gate init' first\n", prog, db);
        goto out;
    }
    if (from_stdin) {
        if (scan_stdin(&sc, (int)pause_ms) != EXIT_ALL_OK)
            goto out;
    } else {
        for (int i = optind; i < argc; i++) {
            if (!(images ? scan_image(&sc, argv[i]) : scan_text(&sc, argv[i], strlen(argv[i]))))
                goto out;
        }
    }
    result = sc.any_refused ? EXIT_REFUSED : EXIT_ALL_OK;
out:
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
    line = json_dumps(o, JSON_COMPACT);
    if (line != NULL)
        puts(line);
    free(line);
    json_decref(o);
    return line == NULL;
}

static int cmd_journal(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    adm_gate_t *g = NULL;
    adm_err_t e;
    int c, result = EXIT_REFUSED;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'h':
            return fputs(usage_journal, stdout), EXIT_ALL_OK;
        default:
            return fputs(usage_journal, stderr), EXIT_USAGE;
        }
    }
    if (db == NULL || optind != argc)
        return usage_error(usage_journal, "journal needs --db and no other arguments");
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "%s: %s does not exist\n", prog, db);
        goto out;
    }
    if ((e = adm_gate_open(db, &g)) != ADM_OK ||
        (e = adm_gate_journal_each(g, journal_row, NULL)) != ADM_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, db, adm_strerror(e));
        goto out;
    }
    result = EXIT_ALL_OK;
out:
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
    fprintf(stderr, "%s: unknown command '%s'\n%s", prog, cmd, usage_main);
    return EXIT_USAGE;
}
