/* admitctl.c: the admin command line: main() and the key, token and QR
 * commands (the database commands are in admitctl-store.c). Parses arguments
 * and calls the libraries; no logic a test or admitd would need lives here. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <jansson.h>

#include "server/admitctl.h"
#include "sync/err.h"
#include "sync/keyring.h"
#include "sync/qr.h"
#include "sync/token.h"

enum { EXIT_VALID = ADM_CTL_OK, EXIT_REFUSED = ADM_CTL_FAIL, EXIT_USAGE = ADM_CTL_USAGE };

static const char *prog = "admitctl";

static const char usage_main[] =
    "usage: admitctl COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  keygen   create a ticket-signing key pair in a key directory\n"
    "  retire   retire a key so it no longer signs or verifies\n"
    "  issue    issue a signed ticket token\n"
    "  qr       render a token as a QR code (PNG, SVG or terminal)\n"
    "  verify   check a token or a QR image against public keys\n"
    "\n"
    "Commands on admitd's database (same configuration as admitd):\n"
    "  init     create or migrate the database, optionally the first organiser\n"
    "  user     add an account (customer, crew, organiser)\n"
    "  venue    add a venue\n"
    "  event    add, list, change status, show or rotate signing keys\n"
    "  type     add or list an event's ticket types\n"
    "  order    list a user's orders\n"
    "  ticket   list an order's tickets, revoke a ticket\n"
    "\n"
    "Gates and sync (docs/sync.md):\n"
    "  checkin-list  add or list an event's check-in lists\n"
    "  enroll        create a one-time enrollment token (and QR) for a device\n"
    "  device        list an event's devices, revoke a device\n"
    "  checkin       list scans, conflicts, counts per list and gate\n"
    "\n"
    "Run 'admitctl COMMAND --help' for a command's options.\n";

static const char usage_keygen[] =
    "usage: admitctl keygen --dir DIR\n"
    "\n"
    "Creates a new Ed25519 key pair in DIR (created if missing) and makes it the\n"
    "signing key; keys already in DIR stay valid for verification (rotation).\n"
    "Writes DIR/<kid>.key (secret, mode 0600) and DIR/keys.json (public keys for\n"
    "scanners). Prints the new key id.\n";

static const char usage_retire[] =
    "usage: admitctl retire --dir DIR KID\n"
    "\n"
    "Marks key KID in DIR as retired: tickets it signed are refused and it no\n"
    "longer signs. Updates DIR/keys.json.\n";

static const char usage_issue[] =
    "usage: admitctl issue --key DIR --event N --ticket N --type N [OPTIONS]\n"
    "\n"
    "Prints a signed ticket token (text for a QR code).\n"
    "  --key DIR          key directory (signs with its newest key)\n"
    "  --kid KID          sign with this key id instead\n"
    "  --event N          event id (1..4294967295)\n"
    "  --ticket N         ticket id (1..2^64-1)\n"
    "  --type N           ticket type id (1..4294967295)\n"
    "  --valid-from T     not valid before T (unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
    "  --valid-until T    not valid after T\n"
    "  --seat TEXT        seat or zone label (UTF-8, at most 32 bytes)\n"
    "  --special          special-attention ticket (shown in amber at the gate)\n"
    "  --reentry          re-entry allowed\n";

static const char usage_qr[] =
    "usage: admitctl qr TOKEN (--png FILE | --svg FILE | --term) [OPTIONS]\n"
    "\n"
    "Renders TOKEN ('-' reads it from standard input) as a QR code.\n"
    "  --png FILE         write a PNG image\n"
    "  --svg FILE         write an SVG image\n"
    "  --term             print UTF-8 block art to standard output\n"
    "  --module PX        pixels per module (1..64, default 8)\n"
    "  --quiet N          quiet zone in modules (0..16, default 4)\n";

static const char usage_verify[] =
    "usage: admitctl verify --pub KEYS.json (TOKEN | --image FILE) [--at T]\n"
    "\n"
    "Checks a ticket token's format and signature against the public keys in\n"
    "KEYS.json, reading it from the argument ('-' for standard input) or by\n"
    "decoding the QR code in a PNG image. Prints one JSON object with \"ok\",\n"
    "\"reason\" and the decoded fields; \"window\" tells whether time T (default:\n"
    "now) lies in the ticket's validity window.\n"
    "Exit status: 0 valid, 1 refused, 2 usage or input error.\n";

__attribute__((format(printf, 2, 3))) static int usage_error(const char *usage, const char *fmt,
                                                             ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* Unix seconds, or an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SSZ". */
static bool parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;
    char *num_end = NULL;
    long long v;

    if (s == NULL || *s == '\0')
        return false;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end != NULL && *end == '\0') {
        *out = (int64_t)timegm(&tm);
        return *out >= 0 && *out <= UINT32_MAX;
    }
    if (*s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoll(s, &num_end, 10);
    if (errno != 0 || *num_end != '\0' || v < 0 || v > (long long)UINT32_MAX)
        return false;
    *out = v;
    return true;
}

static bool parse_kid(const char *s, uint32_t *kid)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || strlen(s) != 8)
        return false;
    errno = 0;
    v = strtoul(s, &end, 16);
    if (errno != 0 || *end != '\0')
        return false;
    *kid = (uint32_t)v;
    return true;
}

/* Reads one token from stdin into buf (trailing whitespace trimmed). */
static bool read_stdin_token(char *buf, size_t cap)
{
    size_t n;

    if (fgets(buf, (int)cap, stdin) == NULL)
        return false;
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        buf[--n] = '\0';
    return n > 0;
}

static int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *dir = NULL;
    adm_keyring_t *kr = NULL;
    struct stat st;
    uint32_t kid = 0;
    adm_err_t err;
    int c, result = EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'h')
            return fputs(usage_keygen, stdout), EXIT_VALID;
        else
            return fputs(usage_keygen, stderr), EXIT_USAGE;
    }
    if (dir == NULL || optind != argc)
        return usage_error(usage_keygen, "keygen needs --dir DIR and no other arguments");

    if ((err = adm_keyring_new(&kr)) != ADM_OK)
        goto fail;
    /* an existing directory keeps its keys (rotation); a new one starts empty */
    if (stat(dir, &st) == 0 && (err = adm_keyring_load_dir(kr, dir)) != ADM_OK)
        goto fail;
    if ((err = adm_keyring_generate(kr, &kid)) != ADM_OK)
        goto fail;
    if ((err = adm_keyring_save_dir(kr, dir)) != ADM_OK)
        goto fail;
    printf("%08" PRIx32 "\n", kid);
    result = EXIT_VALID;
    goto out;
fail:
    fprintf(stderr, "%s keygen: %s: %s\n", prog, dir, adm_strerror(err));
    result = EXIT_REFUSED;
out:
    adm_keyring_free(kr);
    return result;
}

static int cmd_retire(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *dir = NULL;
    adm_keyring_t *kr = NULL;
    uint32_t kid = 0;
    adm_err_t err;
    int c, result = EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'h')
            return fputs(usage_retire, stdout), EXIT_VALID;
        else
            return fputs(usage_retire, stderr), EXIT_USAGE;
    }
    if (dir == NULL || optind != argc - 1)
        return usage_error(usage_retire, "retire needs --dir DIR and one KID");
    if (!parse_kid(argv[optind], &kid))
        return usage_error(usage_retire, "bad key id '%s' (8 hex digits)", argv[optind]);

    if ((err = adm_keyring_new(&kr)) != ADM_OK || (err = adm_keyring_load_dir(kr, dir)) != ADM_OK ||
        (err = adm_keyring_retire(kr, kid)) != ADM_OK ||
        (err = adm_keyring_save_dir(kr, dir)) != ADM_OK) {
        fprintf(stderr, "%s retire: %s %08" PRIx32 ": %s\n", prog, dir, kid, adm_strerror(err));
        result = EXIT_REFUSED;
        goto out;
    }
    result = EXIT_VALID;
out:
    adm_keyring_free(kr);
    return result;
}

static int cmd_issue(int argc, char **argv)
{
    enum { O_KEY = 1, O_KID, O_EVENT, O_TICKET, O_TYPE, O_FROM, O_UNTIL, O_SEAT, O_SPECIAL,
           O_REENTRY, O_HELP };
    static const struct option opts[] = {
        {"key", required_argument, NULL, O_KEY},
        {"kid", required_argument, NULL, O_KID},
        {"event", required_argument, NULL, O_EVENT},
        {"ticket", required_argument, NULL, O_TICKET},
        {"type", required_argument, NULL, O_TYPE},
        {"valid-from", required_argument, NULL, O_FROM},
        {"valid-until", required_argument, NULL, O_UNTIL},
        {"seat", required_argument, NULL, O_SEAT},
        {"special", no_argument, NULL, O_SPECIAL},
        {"reentry", no_argument, NULL, O_REENTRY},
        {"help", no_argument, NULL, O_HELP},
        {0}};
    adm_ticket_t t;
    const char *dir = NULL;
    adm_keyring_t *kr = NULL;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len = 0;
    uint64_t v = 0;
    uint32_t kid = 0;
    adm_err_t err;
    int c, result = EXIT_USAGE;

    memset(&t, 0, sizeof t);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_KEY:
            dir = optarg;
            break;
        case O_KID:
            if (!parse_kid(optarg, &kid))
                return usage_error(usage_issue, "bad --kid '%s' (8 hex digits)", optarg);
            break;
        case O_EVENT:
            if (!parse_u64(optarg, UINT32_MAX, &v))
                return usage_error(usage_issue, "bad --event '%s'", optarg);
            t.event_id = (uint32_t)v;
            break;
        case O_TICKET:
            if (!parse_u64(optarg, UINT64_MAX, &v))
                return usage_error(usage_issue, "bad --ticket '%s'", optarg);
            t.ticket_id = v;
            break;
        case O_TYPE:
            if (!parse_u64(optarg, UINT32_MAX, &v))
                return usage_error(usage_issue, "bad --type '%s'", optarg);
            t.type_id = (uint32_t)v;
            break;
        case O_FROM:
            if (!parse_time(optarg, &t.valid_from))
                return usage_error(usage_issue, "bad --valid-from '%s'", optarg);
            t.has_valid_from = true;
            break;
        case O_UNTIL:
            if (!parse_time(optarg, &t.valid_until))
                return usage_error(usage_issue, "bad --valid-until '%s'", optarg);
            t.has_valid_until = true;
            break;
        case O_SEAT:
            if (strlen(optarg) == 0 || strlen(optarg) > ADM_TOKEN_LABEL_MAX)
                return usage_error(usage_issue, "--seat '%s' must be 1..32 bytes", optarg);
            memcpy(t.label, optarg, strlen(optarg) + 1);
            break;
        case O_SPECIAL:
            t.flags |= ADM_TICKET_SPECIAL;
            break;
        case O_REENTRY:
            t.flags |= ADM_TICKET_REENTRY;
            break;
        case O_HELP:
            return fputs(usage_issue, stdout), EXIT_VALID;
        default:
            return fputs(usage_issue, stderr), EXIT_USAGE;
        }
    }
    if (optind != argc)
        return usage_error(usage_issue, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || t.event_id == 0 || t.ticket_id == 0 || t.type_id == 0)
        return usage_error(usage_issue, "issue needs --key, --event, --ticket and --type");
    if (t.has_valid_from && t.has_valid_until && t.valid_from > t.valid_until)
        return usage_error(usage_issue, "--valid-from is after --valid-until");

    if ((err = adm_keyring_new(&kr)) != ADM_OK || (err = adm_keyring_load_dir(kr, dir)) != ADM_OK ||
        (err = adm_token_encode(&t, kr, kid, text, sizeof text, &len)) != ADM_OK) {
        fprintf(stderr, "%s issue: %s\n", prog, adm_strerror(err));
        result = EXIT_REFUSED;
        goto out;
    }
    printf("%s\n", text);
    result = EXIT_VALID;
out:
    adm_keyring_free(kr);
    return result;
}

static int cmd_qr(int argc, char **argv)
{
    enum { O_PNG = 1, O_SVG, O_TERM, O_MODULE, O_QUIET, O_HELP };
    static const struct option opts[] = {
        {"png", required_argument, NULL, O_PNG},     {"svg", required_argument, NULL, O_SVG},
        {"term", no_argument, NULL, O_TERM},         {"module", required_argument, NULL, O_MODULE},
        {"quiet", required_argument, NULL, O_QUIET}, {"help", no_argument, NULL, O_HELP},
        {0}};
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    const char *png = NULL, *svg = NULL, *token;
    char buf[ADM_QR_TEXT_MAX + 2];
    char *out = NULL;
    bool term = false;
    uint64_t v = 0;
    adm_err_t err = ADM_OK;
    int c, outputs, result = EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_PNG:
            png = optarg;
            break;
        case O_SVG:
            svg = optarg;
            break;
        case O_TERM:
            term = true;
            break;
        case O_MODULE:
            if (!parse_u64(optarg, 64, &v))
                return usage_error(usage_qr, "bad --module '%s' (1..64)", optarg);
            style.module_px = (int)v;
            break;
        case O_QUIET:
            if (strcmp(optarg, "0") == 0)
                v = 0;
            else if (!parse_u64(optarg, 16, &v))
                return usage_error(usage_qr, "bad --quiet '%s' (0..16)", optarg);
            style.quiet_modules = (int)v;
            break;
        case O_HELP:
            return fputs(usage_qr, stdout), EXIT_VALID;
        default:
            return fputs(usage_qr, stderr), EXIT_USAGE;
        }
    }
    outputs = (png != NULL) + (svg != NULL) + term;
    if (optind != argc - 1 || outputs != 1)
        return usage_error(usage_qr, "qr needs one TOKEN and one of --png, --svg, --term");
    token = argv[optind];
    if (strcmp(token, "-") == 0) {
        if (!read_stdin_token(buf, sizeof buf))
            return usage_error(usage_qr, "no token on standard input");
        token = buf;
    }

    if (png != NULL) {
        err = adm_qr_write_png(token, &style, png);
    } else if (svg != NULL) {
        FILE *f;
        if ((err = adm_qr_render_svg(token, &style, &out)) == ADM_OK) {
            f = fopen(svg, "w");
            if (f == NULL || fputs(out, f) == EOF)
                err = ADM_ERR_IO;
            if (f != NULL && fclose(f) != 0)
                err = ADM_ERR_IO;
        }
    } else {
        if ((err = adm_qr_render_term(token, style.quiet_modules, &out)) == ADM_OK)
            fputs(out, stdout);
    }
    if (err != ADM_OK) {
        fprintf(stderr, "%s qr: %s\n", prog, adm_strerror(err));
        result = EXIT_REFUSED;
        goto out;
    }
    result = EXIT_VALID;
out:
    free(out);
    return result;
}

/* Adds the ticket's fields to obj. */
static void ticket_to_json(json_t *obj, const adm_ticket_t *t, int64_t at)
{
    char kid[9];
    const char *window = "open";

    snprintf(kid, sizeof kid, "%08" PRIx32, t->key_id);
    json_object_set_new(obj, "kid", json_string(kid));
    json_object_set_new(obj, "event", json_integer(t->event_id));
    /* ticket ids above 2^63 do not fit a JSON integer in jansson: print as string then */
    if (t->ticket_id <= (uint64_t)INT64_MAX) {
        json_object_set_new(obj, "ticket", json_integer((json_int_t)t->ticket_id));
    } else {
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, t->ticket_id);
        json_object_set_new(obj, "ticket", json_string(id));
    }
    json_object_set_new(obj, "type", json_integer(t->type_id));
    json_object_set_new(obj, "reentry", json_boolean(t->flags & ADM_TICKET_REENTRY));
    json_object_set_new(obj, "special", json_boolean(t->flags & ADM_TICKET_SPECIAL));
    json_object_set_new(obj, "valid_from", t->has_valid_from ? json_integer(t->valid_from) : json_null());
    json_object_set_new(obj, "valid_until",
                        t->has_valid_until ? json_integer(t->valid_until) : json_null());
    json_object_set_new(obj, "seat", t->label[0] ? json_string(t->label) : json_null());
    if (t->has_valid_from && at < t->valid_from)
        window = "not_yet_valid";
    else if (t->has_valid_until && at > t->valid_until)
        window = "expired";
    json_object_set_new(obj, "window", json_string(window));
}

static int cmd_verify(int argc, char **argv)
{
    enum { O_PUB = 1, O_IMAGE, O_AT, O_HELP };
    static const struct option opts[] = {{"pub", required_argument, NULL, O_PUB},
                                         {"image", required_argument, NULL, O_IMAGE},
                                         {"at", required_argument, NULL, O_AT},
                                         {"help", no_argument, NULL, O_HELP},
                                         {0}};
    const char *pub = NULL, *image = NULL, *token = NULL;
    char buf[ADM_QR_TEXT_MAX + 2];
    adm_keyring_t *kr = NULL;
    adm_ticket_t t;
    json_t *obj = NULL;
    int64_t at = (int64_t)time(NULL);
    size_t len = 0;
    adm_err_t err;
    int c, result = EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_PUB:
            pub = optarg;
            break;
        case O_IMAGE:
            image = optarg;
            break;
        case O_AT:
            if (!parse_time(optarg, &at))
                return usage_error(usage_verify, "bad --at '%s'", optarg);
            break;
        case O_HELP:
            return fputs(usage_verify, stdout), EXIT_VALID;
        default:
            return fputs(usage_verify, stderr), EXIT_USAGE;
        }
    }
    if (pub == NULL || (image == NULL) == (optind == argc) || optind < argc - 1)
        return usage_error(usage_verify, "verify needs --pub and either TOKEN or --image");

    if ((err = adm_keyring_new(&kr)) != ADM_OK ||
        (err = adm_keyring_load_public_file(kr, pub)) != ADM_OK) {
        fprintf(stderr, "%s verify: %s: %s\n", prog, pub, adm_strerror(err));
        goto out;
    }
    if (image != NULL) {
        err = adm_qr_decode_png_file(image, buf, sizeof buf, &len);
        if (err == ADM_ERR_IO || err == ADM_ERR_IMAGE || err == ADM_ERR_TOO_BIG) {
            fprintf(stderr, "%s verify: %s: %s\n", prog, image, adm_strerror(err));
            goto out;
        }
        token = buf;
    } else {
        token = argv[optind];
        if (strcmp(token, "-") == 0) {
            if (!read_stdin_token(buf, sizeof buf)) {
                fprintf(stderr, "%s verify: no token on standard input\n", prog);
                goto out;
            }
            token = buf;
        }
        len = strlen(token);
        err = ADM_OK;
    }
    if (err == ADM_OK)
        err = adm_token_decode(token, len, kr, &t);

    obj = json_object();
    if (obj == NULL) {
        fprintf(stderr, "%s verify: %s\n", prog, adm_strerror(ADM_ERR_NOMEM));
        goto out;
    }
    json_object_set_new(obj, "ok", json_boolean(err == ADM_OK));
    json_object_set_new(obj, "reason", json_string(adm_err_name(err)));
    json_object_set_new(obj, "message", json_string(adm_strerror(err)));
    if (err == ADM_OK)
        ticket_to_json(obj, &t, at);
    if (json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
        fprintf(stderr, "%s verify: cannot write output\n", prog);
        goto out;
    }
    putchar('\n');
    result = err == ADM_OK ? EXIT_VALID : EXIT_REFUSED;
out:
    json_decref(obj);
    adm_keyring_free(kr);
    return result;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"keygen", cmd_keygen}, {"retire", cmd_retire}, {"issue", cmd_issue},
                {"qr", cmd_qr},         {"verify", cmd_verify},
                {"init", adm_ctl_init}, {"user", adm_ctl_user},
                {"venue", adm_ctl_venue}, {"event", adm_ctl_event},
                {"type", adm_ctl_type}, {"order", adm_ctl_order},
                {"ticket", adm_ctl_ticket}, {"checkin-list", adm_ctl_checkin_list},
                {"enroll", adm_ctl_enroll}, {"device", adm_ctl_device},
                {"checkin", adm_ctl_checkin}};
    size_t i;

    if (argc < 2)
        return fputs(usage_main, stderr), EXIT_USAGE;
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return fputs(usage_main, stdout), EXIT_VALID;
    if (adm_crypto_init() != ADM_OK) {
        fprintf(stderr, "%s: %s\n", prog, adm_strerror(ADM_ERR_CRYPTO));
        return EXIT_REFUSED;
    }
    for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n%s", prog, argv[1], usage_main);
    return EXIT_USAGE;
}
