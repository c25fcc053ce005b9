/* admitctl-store.c: admitctl's commands that work on admitd's database
 * (init, users, venues, events, ticket types, orders, tickets, revocation,
 * and the sync side: check-in lists, enrollment tokens, devices, scans).
 * Argument parsing and output only: everything else is the server library
 * (store.h, auth). Not for the token/QR commands (admitctl.c). */
#include "server/admitctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "server/app.h"
#include "server/config.h"
#include "server/issuer.h"
#include "server/store.h"
#include "sync/qr.h"

#define CFG_ARGS_MAX 32
#define PASSWORD_MAX 1024

/* Store options every database command accepts, passed on to adm_config_load
 * so admitctl reads the same file, variables and flags as admitd. */
#define STORE_OPTIONS                                                                              \
    {"config", required_argument, NULL, 'C'}, {"store", required_argument, NULL, 'S'},             \
        {"sqlite", required_argument, NULL, 'L'}, {"mysql-primary", required_argument, NULL, 'P'}, \
        {"mysql-replica", required_argument, NULL, 'R'},                                           \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

#define STORE_USAGE                                                                                \
    "Database (as admitd: --config FILE, ADMIT_* variables, or):\n"                                \
    "  --config FILE        admitd configuration file\n"                                           \
    "  --store sqlite|mysql backend (default sqlite)\n"                                            \
    "  --sqlite FILE        SQLite database (default admit.db)\n"                                  \
    "  --mysql-primary URL  mysql://user:pass@host:port/db\n"                                      \
    "  --mysql-replica URL  a read replica (repeatable)\n"

struct cfg_args {
    int argc;
    char *argv[CFG_ARGS_MAX];
};

/* Collects a store option for adm_config_load; false when c is not one. */
static bool cfg_arg(struct cfg_args *ca, int c, char *value)
{
    static const struct {
        int c;
        char *flag;
    } map[] = {{'C', "--config"},        {'S', "--store"},         {'L', "--sqlite"},
               {'P', "--mysql-primary"}, {'R', "--mysql-replica"}, {'U', "--public-url"}};
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].c == c && ca->argc + 2 < CFG_ARGS_MAX) {
            ca->argv[ca->argc++] = map[i].flag;
            ca->argv[ca->argc++] = value;
            return true;
        }
    }
    return false;
}

/* Loads the configuration and opens the store; prints the reason on
 * failure. Returns an exit status: ADM_CTL_USAGE for a configuration error,
 * ADM_CTL_FAIL when the store cannot be opened. */
static int open_store(struct cfg_args *ca, adm_config_t *cfg, adm_store_t **st)
{
    adm_store_config_t scfg;
    char err[512] = "";
    adm_err_t e;
    int result = ADM_CTL_USAGE;

    ca->argv[0] = "admitctl";
    if (ca->argc == 0)
        ca->argc = 1;
    e = adm_config_load(ca->argc, ca->argv, NULL, cfg, err, sizeof err);
    if (e != ADM_OK) {
        fprintf(stderr, "admitctl: %s\n", err[0] ? err : adm_strerror(e));
        goto out;
    }
    result = ADM_CTL_FAIL;
    adm_config_to_store(cfg, &scfg);
    e = adm_store_open(&scfg, st);
    if (e != ADM_OK) {
        fprintf(stderr, "admitctl: cannot open the %s store: %s\n",
                cfg->backend == ADM_STORE_MYSQL ? "mysql" : "sqlite", adm_strerror(e));
        goto out;
    }
    result = ADM_CTL_OK;
out:
    return result;
}

static int fail_usage(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;

    fputs("admitctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return ADM_CTL_USAGE;
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Unix seconds or YYYY-MM-DDTHH:MM:SSZ. */
static bool parse_when(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof tm);
    end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (end != NULL && *end == '\0') {
        *out = (int64_t)timegm(&tm);
        return *out > 0;
    }
    return parse_i64(s, 1, INT64_MAX / 2, out);
}

/* Reads a password from a file ("-" = standard input): the first line. */
static bool read_password(const char *path, char *out, size_t cap)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    bool ok = false;
    size_t n;

    if (f == NULL)
        return false;
    if (fgets(out, (int)cap, f) != NULL) {
        n = strcspn(out, "\r\n");
        out[n] = '\0';
        ok = n > 0;
    }
    if (f != stdin)
        fclose(f);
    return ok;
}

static void print_json(json_t *obj)
{
    if (obj != NULL) {
        json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(obj);
    }
}

static const char usage_init[] =
    "usage: admitctl init [DATABASE OPTIONS] [--organiser EMAIL --password-file FILE]\n"
    "\n"
    "Creates or migrates admitd's database and prints its schema version; with\n"
    "--organiser, also creates the first organiser account (password read from\n"
    "FILE, '-' for standard input). Event signing keys are created with the\n"
    "event ('admitctl event add') or by admitd on first use.\n"
    "\n" STORE_USAGE;

static const char usage_user[] =
    "usage: admitctl user add --email EMAIL --password-file FILE [--name NAME]\n"
    "                         [--role customer|crew|organiser] [DATABASE OPTIONS]\n"
    "\n"
    "Creates an account (password from FILE, '-' for standard input) and prints\n"
    "its id.\n"
    "\n" STORE_USAGE;

static const char usage_venue[] =
    "usage: admitctl venue add --name NAME --city CITY [--address TEXT] [--capacity N]\n"
    "                          [DATABASE OPTIONS]\n"
    "\n"
    "Creates a venue and prints its id.\n"
    "\n" STORE_USAGE;

static const char usage_event[] =
    "usage: admitctl event add --venue ID --title TEXT --start T --end T [--city CITY]\n"
    "                          [--category TEXT] [--description TEXT] [--on-sale]\n"
    "       admitctl event status --event ID draft|on_sale|cancelled|ended\n"
    "       admitctl event list [--all] [--city CITY] [--text TEXT]\n"
    "       admitctl event keys --event ID [--rotate | --retire KID]\n"
    "\n"
    "T is unix seconds or YYYY-MM-DDTHH:MM:SSZ. 'add' creates the event (a draft\n"
    "unless --on-sale) with its first signing key and prints its id. 'keys'\n"
    "prints the event's public keyring document for scanners, after rotating\n"
    "(a new signing key; old tickets stay valid) or retiring a key.\n"
    "\n" STORE_USAGE;

static const char usage_type[] =
    "usage: admitctl type add --event ID --name NAME --price MINOR --currency CUR\n"
    "                         --capacity N [--per-order N] [--per-customer N]\n"
    "                         [--sale-start T] [--sale-end T] [--special] [--reentry]\n"
    "                         [--zone LABEL] [DATABASE OPTIONS]\n"
    "       admitctl type list --event ID\n"
    "\n"
    "Creates a ticket type (price in minor units, e.g. 4500 for 45.00) and prints\n"
    "its id; 'list' prints each type with its availability, one JSON object a line.\n"
    "Its tickets carry the type's attributes: --special (gates flag them for\n"
    "attention: accessibility, VIP, check ID), --reentry (re-entry after an exit\n"
    "even on a once-only check-in list), --zone (seat/zone label, <= 32 bytes).\n"
    "\n" STORE_USAGE;

static const char usage_order[] = "usage: admitctl order list --user ID [DATABASE OPTIONS]\n"
                                  "\n"
                                  "Prints the user's orders, one JSON object a line.\n"
                                  "\n" STORE_USAGE;

static const char usage_ticket[] =
    "usage: admitctl ticket list --order ID --user ID [DATABASE OPTIONS]\n"
    "       admitctl ticket revoke --ticket ID [DATABASE OPTIONS]\n"
    "\n"
    "'list' prints the order's tickets with their tokens, one JSON object a\n"
    "line; 'revoke' revokes a ticket and adds it to its event's revocation\n"
    "list, which scanners sync.\n"
    "\n" STORE_USAGE;

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int store_fail(const char *what, adm_err_t err)
{
    fprintf(stderr, "admitctl: %s: %s\n", what, adm_strerror(err));
    return ADM_CTL_FAIL;
}

/* A command's subcommands: argv[1] names one of subs (ending with {NULL, NULL}),
 * which runs on argv + 1; --help prints usage. */
struct subcmd {
    const char *name;
    int (*run)(int argc, char **argv);
};

static int run_subcommand(int argc, char **argv, const char *usage, const struct subcmd *subs)
{
    for (; argc >= 2 && subs->name != NULL; subs++)
        if (strcmp(argv[1], subs->name) == 0)
            return subs->run(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return fputs(usage, stdout), ADM_CTL_OK;
    return fputs(usage, stderr), ADM_CTL_USAGE;
}

int adm_ctl_init(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"organiser", required_argument, NULL, 'o'},
                                         {"password-file", required_argument, NULL, 'p'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    const char *email = NULL, *pwfile = NULL;
    char password[PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t id = 0;
    int version = 0, c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage_init, stdout), ADM_CTL_OK;
        if (c == 'o')
            email = optarg;
        else if (c == 'p')
            pwfile = optarg;
        else if (!cfg_arg(&ca, c, optarg))
            return fputs(usage_init, stderr), ADM_CTL_USAGE;
    }
    if (optind != argc || (email == NULL) != (pwfile == NULL))
        return fail_usage(usage_init, "--organiser and --password-file go together");
    if (email != NULL && !read_password(pwfile, password, sizeof password))
        return fail_usage(usage_init, "cannot read a password from %s", pwfile);

    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_schema_version(st, &version)) != ADM_OK) {
        result = store_fail("schema version", err);
        goto out;
    }
    if (email != NULL) {
        adm_user_spec_t spec = {
            .email = email, .password_hash = hash, .display_name = "", .role = ADM_ROLE_ORGANISER};
        if ((err = adm_auth_hash_password(password, hash, sizeof hash)) != ADM_OK ||
            (err = adm_store_user_create(st, &spec, now_s(), &id)) != ADM_OK) {
            result = store_fail(email, err);
            goto out;
        }
    }
    print_json(json_pack("{s:s, s:i, s:o}", "store", adm_store_backend_name(st), "schema_version",
                         version, "organiser_id", id ? json_integer(id) : json_null()));
    result = ADM_CTL_OK;
out:
    sodium_memzero(password, sizeof password);
    adm_store_close(st);
    return result;
}

static int user_add(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"email", required_argument, NULL, 'e'},
                                         {"password-file", required_argument, NULL, 'p'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"role", required_argument, NULL, 'r'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_user_spec_t spec = {.display_name = "", .role = ADM_ROLE_CUSTOMER};
    const char *pwfile = NULL;
    char password[PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t id = 0;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return fputs(usage_user, stdout), ADM_CTL_OK;
        case 'e':
            spec.email = optarg;
            break;
        case 'p':
            pwfile = optarg;
            break;
        case 'n':
            spec.display_name = optarg;
            break;
        case 'r':
            if (strcmp(optarg, "customer") == 0)
                spec.role = ADM_ROLE_CUSTOMER;
            else if (strcmp(optarg, "crew") == 0)
                spec.role = ADM_ROLE_CREW;
            else if (strcmp(optarg, "organiser") == 0)
                spec.role = ADM_ROLE_ORGANISER;
            else
                return fail_usage(usage_user, "unknown role '%s'", optarg);
            break;
        default:
            if (!cfg_arg(&ca, c, optarg))
                return fputs(usage_user, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || spec.email == NULL || pwfile == NULL)
        return fail_usage(usage_user, "user add needs --email and --password-file");
    if (!read_password(pwfile, password, sizeof password) || strlen(password) < 8)
        return fail_usage(usage_user, "the password from %s must have 8 characters or more",
                          pwfile);

    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    spec.password_hash = hash;
    if ((err = adm_auth_hash_password(password, hash, sizeof hash)) != ADM_OK ||
        (err = adm_store_user_create(st, &spec, now_s(), &id)) != ADM_OK) {
        result = store_fail(spec.email, err);
        goto out;
    }
    printf("%" PRId64 "\n", id);
    result = ADM_CTL_OK;
out:
    sodium_memzero(password, sizeof password);
    adm_store_close(st);
    return result;
}

int adm_ctl_user(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"add", user_add}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_user, subs);
}

static int venue_add(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"name", required_argument, NULL, 'n'},
                                         {"city", required_argument, NULL, 'c'},
                                         {"address", required_argument, NULL, 'a'},
                                         {"capacity", required_argument, NULL, 'k'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_venue_spec_t spec = {.address = ""};
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t id = 0;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return fputs(usage_venue, stdout), ADM_CTL_OK;
        case 'n':
            spec.name = optarg;
            break;
        case 'c':
            spec.city = optarg;
            break;
        case 'a':
            spec.address = optarg;
            break;
        case 'k':
            if (!parse_i64(optarg, 0, ADM_STORE_CAPACITY_MAX, &spec.capacity))
                return fail_usage(usage_venue, "bad --capacity '%s'", optarg);
            break;
        default:
            if (!cfg_arg(&ca, c, optarg))
                return fputs(usage_venue, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || spec.name == NULL || spec.city == NULL)
        return fail_usage(usage_venue, "venue add needs --name and --city");
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_venue_create(st, &spec, now_s(), &id)) != ADM_OK) {
        result = store_fail("venue add", err);
        goto out;
    }
    printf("%" PRId64 "\n", id);
    result = ADM_CTL_OK;
out:
    adm_store_close(st);
    return result;
}

int adm_ctl_venue(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"add", venue_add}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_venue, subs);
}

static const char *const status_names[] = {"draft", "on_sale", "cancelled", "ended"};

static json_t *event_json(const adm_event_t *e)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:s}", "id", (json_int_t)e->id,
                     "venue_id", (json_int_t)e->venue_id, "title", e->title, "city", e->city,
                     "category", e->category, "starts_at", (json_int_t)e->starts_at, "ends_at",
                     (json_int_t)e->ends_at, "status",
                     (unsigned)e->status < 4 ? status_names[e->status] : "unknown");
}

static int event_add(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"venue", required_argument, NULL, 'v'},
                                         {"title", required_argument, NULL, 't'},
                                         {"start", required_argument, NULL, 's'},
                                         {"end", required_argument, NULL, 'e'},
                                         {"city", required_argument, NULL, 'c'},
                                         {"category", required_argument, NULL, 'g'},
                                         {"description", required_argument, NULL, 'd'},
                                         {"on-sale", no_argument, NULL, 'o'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_event_spec_t spec = {.category = "", .description = ""};
    struct adm_issuer *issuer = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    bool on_sale = false;
    int64_t id = 0;
    uint32_t kid = 0;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return fputs(usage_event, stdout), ADM_CTL_OK;
        case 'v':
            if (!parse_i64(optarg, 1, INT64_MAX, &spec.venue_id))
                return fail_usage(usage_event, "bad --venue '%s'", optarg);
            break;
        case 't':
            spec.title = optarg;
            break;
        case 's':
            if (!parse_when(optarg, &spec.starts_at))
                return fail_usage(usage_event, "bad --start '%s'", optarg);
            break;
        case 'e':
            if (!parse_when(optarg, &spec.ends_at))
                return fail_usage(usage_event, "bad --end '%s'", optarg);
            break;
        case 'c':
            spec.city = optarg;
            break;
        case 'g':
            spec.category = optarg;
            break;
        case 'd':
            spec.description = optarg;
            break;
        case 'o':
            on_sale = true;
            break;
        default:
            if (!cfg_arg(&ca, c, optarg))
                return fputs(usage_event, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || spec.venue_id == 0 || spec.title == NULL || spec.starts_at == 0 ||
        spec.ends_at == 0)
        return fail_usage(usage_event, "event add needs --venue, --title, --start and --end");
    if (spec.ends_at < spec.starts_at)
        return fail_usage(usage_event, "--end is before --start");

    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_event_create(st, &spec, now_s(), &id)) != ADM_OK) {
        result = store_fail("event add", err);
        goto out;
    }
    if (on_sale &&
        (err = adm_store_event_set_status(st, id, ADM_EVENT_ON_SALE, now_s())) != ADM_OK) {
        result = store_fail("event status", err);
        goto out;
    }
    if ((err = adm_issuer_new(st, &issuer)) != ADM_OK ||
        (err = adm_issuer_signing_kid(issuer, id, now_s(), &kid)) != ADM_OK) {
        result = store_fail("event signing key", err);
        goto out;
    }
    printf("%" PRId64 "\n", id);
    result = ADM_CTL_OK;
out:
    adm_issuer_free(issuer);
    adm_store_close(st);
    return result;
}

static int event_status(int argc, char **argv)
{
    static const struct option opts[] = {
        STORE_OPTIONS, {"event", required_argument, NULL, 'v'}, {0}};
    struct cfg_args ca = {.argc = 1};
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t id = 0;
    int c, status = -1, result = ADM_CTL_USAGE;
    size_t i;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage_event, stdout), ADM_CTL_OK;
        if (c == 'v') {
            if (!parse_i64(optarg, 1, INT64_MAX, &id))
                return fail_usage(usage_event, "bad --event '%s'", optarg);
        } else if (!cfg_arg(&ca, c, optarg)) {
            return fputs(usage_event, stderr), ADM_CTL_USAGE;
        }
    }
    if (id == 0 || optind != argc - 1)
        return fail_usage(usage_event, "event status needs --event and a status");
    for (i = 0; i < 4; i++)
        if (strcmp(argv[optind], status_names[i]) == 0)
            status = (int)i;
    if (status < 0)
        return fail_usage(usage_event, "unknown status '%s'", argv[optind]);
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_event_set_status(st, id, (adm_event_status_t)status, now_s())) != ADM_OK) {
        result = store_fail("event status", err);
        goto out;
    }
    result = ADM_CTL_OK;
out:
    adm_store_close(st);
    return result;
}

static int event_list(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"all", no_argument, NULL, 'a'},
                                         {"city", required_argument, NULL, 'c'},
                                         {"text", required_argument, NULL, 't'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_event_query_t q = {.limit = ADM_STORE_PAGE_MAX};
    adm_event_t *events = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage_event, stdout), ADM_CTL_OK;
        if (c == 'a')
            q.all_statuses = true;
        else if (c == 'c')
            q.city = optarg;
        else if (c == 't')
            q.text = optarg;
        else if (!cfg_arg(&ca, c, optarg))
            return fputs(usage_event, stderr), ADM_CTL_USAGE;
    }
    if (optind != argc)
        return fail_usage(usage_event, "unexpected argument '%s'", argv[optind]);
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    do {
        adm_event_cursor_t next = {0, 0};
        err = adm_store_event_search(st, ADM_READ_HINT_PRIMARY, &q, &events, &n, &next);
        if (err != ADM_OK) {
            result = store_fail("event list", err);
            goto out;
        }
        for (i = 0; i < n; i++)
            print_json(event_json(&events[i]));
        free(events);
        events = NULL;
        q.after = next;
    } while (q.after.id != 0);
    result = ADM_CTL_OK;
out:
    free(events);
    adm_store_close(st);
    return result;
}

static int event_keys(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"event", required_argument, NULL, 'v'},
                                         {"rotate", no_argument, NULL, 'r'},
                                         {"retire", required_argument, NULL, 'x'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    struct adm_issuer *issuer = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    char *json = NULL;
    size_t len = 0;
    int64_t id = 0;
    uint32_t kid = 0, retire = 0;
    bool rotate = false;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage_event, stdout), ADM_CTL_OK;
        if (c == 'v') {
            if (!parse_i64(optarg, 1, INT64_MAX, &id))
                return fail_usage(usage_event, "bad --event '%s'", optarg);
        } else if (c == 'r') {
            rotate = true;
        } else if (c == 'x') {
            if (!adm_issuer_kid_parse(optarg, &retire))
                return fail_usage(usage_event, "bad key id '%s' (8 hex digits)", optarg);
        } else if (!cfg_arg(&ca, c, optarg)) {
            return fputs(usage_event, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || id == 0 || (rotate && retire != 0))
        return fail_usage(usage_event,
                          "event keys needs --event and at most one of --rotate, --retire");
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_issuer_new(st, &issuer)) != ADM_OK ||
        (rotate && (err = adm_issuer_rotate(issuer, id, now_s(), &kid)) != ADM_OK) ||
        (retire && (err = adm_issuer_retire(issuer, id, retire, now_s())) != ADM_OK) ||
        (err = adm_issuer_public_json(issuer, id, now_s(), &json, &len)) != ADM_OK) {
        result = store_fail("event keys", err);
        goto out;
    }
    fwrite(json, 1, len, stdout);
    if (len == 0 || json[len - 1] != '\n')
        putchar('\n');
    result = ADM_CTL_OK;
out:
    free(json);
    adm_issuer_free(issuer);
    adm_store_close(st);
    return result;
}

int adm_ctl_event(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"keys", event_keys},
                                         {"add", event_add},
                                         {"status", event_status},
                                         {"list", event_list},
                                         {NULL, NULL}};

    return run_subcommand(argc, argv, usage_event, subs);
}

static int type_add(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"event", required_argument, NULL, 'v'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"price", required_argument, NULL, 'p'},
                                         {"currency", required_argument, NULL, 'y'},
                                         {"capacity", required_argument, NULL, 'k'},
                                         {"per-order", required_argument, NULL, 'o'},
                                         {"per-customer", required_argument, NULL, 'u'},
                                         {"sale-start", required_argument, NULL, 's'},
                                         {"sale-end", required_argument, NULL, 'e'},
                                         {"special", no_argument, NULL, 'x'},
                                         {"reentry", no_argument, NULL, 'r'},
                                         {"zone", required_argument, NULL, 'z'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_ticket_type_spec_t spec = {.price = -1, .capacity = -1, .per_order_max = 10};
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t id = 0, v = 0;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return fputs(usage_type, stdout), ADM_CTL_OK;
        case 'v':
            if (!parse_i64(optarg, 1, INT64_MAX, &spec.event_id))
                return fail_usage(usage_type, "bad --event '%s'", optarg);
            break;
        case 'n':
            spec.name = optarg;
            break;
        case 'p':
            if (!parse_i64(optarg, 0, ADM_STORE_PRICE_MAX, &spec.price))
                return fail_usage(usage_type, "bad --price '%s' (minor units)", optarg);
            break;
        case 'y':
            spec.currency = optarg;
            break;
        case 'k':
            if (!parse_i64(optarg, 0, ADM_STORE_CAPACITY_MAX, &spec.capacity))
                return fail_usage(usage_type, "bad --capacity '%s'", optarg);
            break;
        case 'o':
            if (!parse_i64(optarg, 1, ADM_STORE_QUANTITY_MAX, &v))
                return fail_usage(usage_type, "bad --per-order '%s'", optarg);
            spec.per_order_max = (int32_t)v;
            break;
        case 'u':
            if (!parse_i64(optarg, 0, ADM_STORE_CAPACITY_MAX, &v))
                return fail_usage(usage_type, "bad --per-customer '%s'", optarg);
            spec.per_customer_max = (int32_t)v;
            break;
        case 's':
            if (!parse_when(optarg, &spec.sale_starts))
                return fail_usage(usage_type, "bad --sale-start '%s'", optarg);
            break;
        case 'e':
            if (!parse_when(optarg, &spec.sale_ends))
                return fail_usage(usage_type, "bad --sale-end '%s'", optarg);
            break;
        case 'x':
            spec.special = true;
            break;
        case 'r':
            spec.reentry = true;
            break;
        case 'z':
            if (strlen(optarg) > ADM_STORE_ZONE_MAX)
                return fail_usage(usage_type, "--zone is longer than %d bytes", ADM_STORE_ZONE_MAX);
            spec.zone = optarg;
            break;
        default:
            if (!cfg_arg(&ca, c, optarg))
                return fputs(usage_type, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || spec.event_id == 0 || spec.name == NULL || spec.price < 0 ||
        spec.currency == NULL || spec.capacity < 0)
        return fail_usage(usage_type,
                          "type add needs --event, --name, --price, --currency and --capacity");
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_ticket_type_create(st, &spec, now_s(), &id)) != ADM_OK) {
        result = store_fail("type add", err);
        goto out;
    }
    printf("%" PRId64 "\n", id);
    result = ADM_CTL_OK;
out:
    adm_store_close(st);
    return result;
}

/* Parses the options of a command whose only own option is one required
 * positive id, --NAME ID (e.g. "type list --event 7"); store options go to
 * ca. Returns -1 when the caller should go on with *id set, else the exit
 * status to return (--help printed, or a usage error reported). */
static int parse_id_command(int argc, char **argv, const char *usage, const char *command,
                            const char *name, struct cfg_args *ca, int64_t *id)
{
    const struct option opts[] = {STORE_OPTIONS, {name, required_argument, NULL, 'i'}, {0}};
    int c;

    *id = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage, stdout), ADM_CTL_OK;
        if (c == 'i') {
            if (!parse_i64(optarg, 1, INT64_MAX, id))
                return fail_usage(usage, "bad --%s '%s'", name, optarg);
        } else if (!cfg_arg(ca, c, optarg)) {
            return fputs(usage, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || *id == 0)
        return fail_usage(usage, "%s needs --%s", command, name);
    return -1;
}

static int type_list(int argc, char **argv)
{
    struct cfg_args ca = {.argc = 1};
    adm_ticket_type_t *types = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t event = 0;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    if ((c = parse_id_command(argc, argv, usage_type, "type list", "event", &ca, &event)) >= 0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_ticket_type_list(st, ADM_READ_HINT_PRIMARY, event, &types, &n)) !=
        ADM_OK) {
        result = store_fail("type list", err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        const adm_ticket_type_t *t = &types[i];
        int64_t avail = t->capacity - t->sold - t->held;
        print_json(json_pack(
            "{s:I, s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:b, s:b, s:s}", "id", (json_int_t)t->id,
            "event_id", (json_int_t)t->event_id, "name", t->name, "price", (json_int_t)t->price,
            "currency", t->currency, "capacity", (json_int_t)t->capacity, "sold",
            (json_int_t)t->sold, "held", (json_int_t)t->held, "available",
            (json_int_t)(avail > 0 ? avail : 0), "special", (int)t->special, "reentry",
            (int)t->reentry, "zone", t->zone));
    }
    result = ADM_CTL_OK;
out:
    free(types);
    adm_store_close(st);
    return result;
}

int adm_ctl_type(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"add", type_add}, {"list", type_list}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_type, subs);
}

static const char *const order_states[] = {"pending", "paid", "cancelled", "refunded", "expired"};

static int order_list(int argc, char **argv)
{
    struct cfg_args ca = {.argc = 1};
    adm_order_t *orders = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t user = 0, before = 0;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    if ((c = parse_id_command(argc, argv, usage_order, "order list", "user", &ca, &user)) >= 0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    do {
        err = adm_store_order_list(st, ADM_READ_HINT_PRIMARY, user, before, ADM_STORE_PAGE_MAX,
                                   &orders, &n);
        if (err != ADM_OK) {
            result = store_fail("order list", err);
            goto out;
        }
        for (i = 0; i < n; i++) {
            const adm_order_t *o = &orders[i];
            size_t k, seats = 0;
            for (k = 0; k < o->n_items; k++)
                seats += (size_t)o->items[k].quantity;
            print_json(
                json_pack("{s:I, s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:s}", "id", (json_int_t)o->id,
                          "code", o->code, "user_id", (json_int_t)o->user_id, "state",
                          (unsigned)o->state < 5 ? order_states[o->state] : "unknown", "total",
                          (json_int_t)o->total, "currency", o->currency, "seats", (json_int_t)seats,
                          "created", (json_int_t)o->created, "provider", o->provider));
        }
        before = n > 0 ? orders[n - 1].id : 0;
        free(orders);
        orders = NULL;
    } while (n == ADM_STORE_PAGE_MAX);
    result = ADM_CTL_OK;
out:
    free(orders);
    adm_store_close(st);
    return result;
}

int adm_ctl_order(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"list", order_list}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_order, subs);
}

static int ticket_list(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"order", required_argument, NULL, 'o'},
                                         {"user", required_argument, NULL, 'u'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_store_ticket_t *tickets = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t order = 0, user = 0;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage_ticket, stdout), ADM_CTL_OK;
        if (c == 'o') {
            if (!parse_i64(optarg, 1, INT64_MAX, &order))
                return fail_usage(usage_ticket, "bad --order '%s'", optarg);
        } else if (c == 'u') {
            if (!parse_i64(optarg, 1, INT64_MAX, &user))
                return fail_usage(usage_ticket, "bad --user '%s'", optarg);
        } else if (!cfg_arg(&ca, c, optarg)) {
            return fputs(usage_ticket, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || order == 0)
        return fail_usage(usage_ticket, "ticket list needs --order");
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    err = adm_store_order_tickets(st, ADM_READ_HINT_PRIMARY, user, order, &tickets, &n);
    if (err != ADM_OK) {
        result = store_fail("ticket list", err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        const adm_store_ticket_t *t = &tickets[i];
        print_json(json_pack("{s:I, s:I, s:I, s:I, s:s, s:s}", "id", (json_int_t)t->id, "event_id",
                             (json_int_t)t->event_id, "type_id", (json_int_t)t->type_id, "order_id",
                             (json_int_t)t->order_id, "status",
                             t->status == ADM_TICKET_VALID ? "valid" : "revoked", "token",
                             t->token));
    }
    result = ADM_CTL_OK;
out:
    free(tickets);
    adm_store_close(st);
    return result;
}

static int ticket_revoke(int argc, char **argv)
{
    struct cfg_args ca = {.argc = 1};
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t ticket = 0, seq = 0;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    if ((c = parse_id_command(argc, argv, usage_ticket, "ticket revoke", "ticket", &ca, &ticket)) >=
        0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_ticket_revoke(st, ticket, now_s(), &seq)) != ADM_OK) {
        result = store_fail("ticket revoke", err);
        goto out;
    }
    print_json(
        json_pack("{s:I, s:I}", "ticket", (json_int_t)ticket, "revocation_seq", (json_int_t)seq));
    result = ADM_CTL_OK;
out:
    adm_store_close(st);
    return result;
}

int adm_ctl_ticket(int argc, char **argv)
{
    static const struct subcmd subs[] = {
        {"list", ticket_list}, {"revoke", ticket_revoke}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_ticket, subs);
}

/* ---- sync: check-in lists, enrollment, devices, scans (docs/sync.md) ---------------- */

static const char usage_checkin_list[] =
    "usage: admitctl checkin-list add --event ID --name NAME --reentry once|after_exit|unlimited\n"
    "                                 [--types ID,ID...] [--gates NAME,NAME...]\n"
    "                                 [DATABASE OPTIONS]\n"
    "       admitctl checkin-list list --event ID [DATABASE OPTIONS]\n"
    "\n"
    "'add' creates a check-in list (no --types: every ticket type; no --gates: any\n"
    "gate) and prints it as JSON; 'list' prints the event's lists, one JSON object\n"
    "a line. Lists are made on the central server; an edge mirrors them.\n"
    "\n" STORE_USAGE;

static const char usage_enroll[] =
    "usage: admitctl enroll create --event ID --gate NAME [--relay] [--ttl SECONDS]\n"
    "                              [--public-url URL] [--qr FILE.png|FILE.svg]\n"
    "                              [DATABASE OPTIONS]\n"
    "\n"
    "Makes a one-time enrollment token for a gate device (or, with --relay, an edge\n"
    "server) of the event and prints it with its enrollment URI as JSON; --qr also\n"
    "writes the URI as a QR code (mode 0600: it is a credential). The token expires\n"
    "after --ttl seconds (60..2592000, default 86400). The URI names admitd's\n"
    "public_url (--public-url, or the [server] setting; default http://LISTEN:PORT).\n"
    "On an edge's database the event is the one it mirrors.\n"
    "\n" STORE_USAGE;

static const char usage_device[] =
    "usage: admitctl device list --event ID [DATABASE OPTIONS]\n"
    "       admitctl device revoke DEVICE_ID [DATABASE OPTIONS]\n"
    "\n"
    "'list' prints the event's enrolled devices, one JSON object a line; 'revoke'\n"
    "revokes a device (its calls get 403 from then on) and prints it.\n"
    "\n" STORE_USAGE;

static const char usage_checkin[] =
    "usage: admitctl checkin list --event ID [DATABASE OPTIONS]\n"
    "       admitctl checkin conflicts --event ID [DATABASE OPTIONS]\n"
    "       admitctl checkin stats --event ID [DATABASE OPTIONS]\n"
    "\n"
    "'list' prints every stored scan of the event by seq, one JSON object a line;\n"
    "'conflicts' only those flagged as conflicts; 'stats' the counts per list and\n"
    "gate (admitted, exits, refused by verdict, conflicts, inside now) as JSON.\n"
    "\n" STORE_USAGE;

/* Splits a comma-separated option value into at most max non-empty parts
 * (pointers into s, which is modified). -1 for an empty part or too many. */
static int split_commas(char *s, char **parts, int max)
{
    int n = 0;

    for (;;) {
        char *comma = strchr(s, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*s == '\0' || n >= max)
            return -1;
        parts[n++] = s;
        if (comma == NULL)
            return n;
        s = comma + 1;
    }
}

/* The event exists here: in the catalog, or (an edge) as a mirror. */
static adm_err_t sync_event(adm_store_t *st, int64_t event)
{
    adm_err_t err = adm_app_sync_event_store_check(st, false, event);

    if (err == ADM_ERR_NOT_FOUND)
        err = adm_app_sync_event_store_check(st, true, event);
    return err;
}

static int list_add(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"event", required_argument, NULL, 'v'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"reentry", required_argument, NULL, 'r'},
                                         {"types", required_argument, NULL, 't'},
                                         {"gates", required_argument, NULL, 'g'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_checkin_list_spec_t spec = {.reentry = ADM_REENTRY__MAX};
    char *type_parts[ADM_STORE_TYPES_MAX], *gate_parts[ADM_STORE_LIST_GATES_MAX];
    int64_t types[ADM_STORE_TYPES_MAX];
    adm_ticket_type_t *known = NULL;
    adm_checkin_list_t *lists = NULL;
    size_t n_known = 0, n_lists = 0, i, j;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t id = 0;
    int c, n, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return fputs(usage_checkin_list, stdout), ADM_CTL_OK;
        case 'v':
            if (!parse_i64(optarg, 1, INT64_MAX, &spec.event_id))
                return fail_usage(usage_checkin_list, "bad --event '%s'", optarg);
            break;
        case 'n':
            spec.name = optarg;
            break;
        case 'r':
            if (!adm_reentry_parse(optarg, &spec.reentry))
                return fail_usage(usage_checkin_list,
                                  "bad --reentry '%s' (once, after_exit or unlimited)", optarg);
            break;
        case 't':
            if ((n = split_commas(optarg, type_parts, ADM_STORE_TYPES_MAX)) < 0)
                return fail_usage(usage_checkin_list, "bad --types (ids separated by commas)");
            for (i = 0; i < (size_t)n; i++) {
                if (!parse_i64(type_parts[i], 1, INT64_MAX, &types[i]))
                    return fail_usage(usage_checkin_list, "bad ticket type id '%s'", type_parts[i]);
                for (j = 0; j < i; j++)
                    if (types[j] == types[i])
                        return fail_usage(usage_checkin_list, "ticket type %s given twice",
                                          type_parts[i]);
            }
            spec.types = types;
            spec.n_types = (size_t)n;
            break;
        case 'g':
            if ((n = split_commas(optarg, gate_parts, ADM_STORE_LIST_GATES_MAX)) < 0)
                return fail_usage(usage_checkin_list,
                                  "bad --gates (at most %d names separated by commas)",
                                  ADM_STORE_LIST_GATES_MAX);
            for (i = 0; i < (size_t)n; i++)
                for (j = 0; j < i; j++)
                    if (strcmp(gate_parts[j], gate_parts[i]) == 0)
                        return fail_usage(usage_checkin_list, "gate '%s' given twice",
                                          gate_parts[i]);
            spec.gates = (const char *const *)gate_parts;
            spec.n_gates = (size_t)n;
            break;
        default:
            if (!cfg_arg(&ca, c, optarg))
                return fputs(usage_checkin_list, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || spec.event_id == 0 || spec.name == NULL ||
        spec.reentry == ADM_REENTRY__MAX)
        return fail_usage(usage_checkin_list,
                          "checkin-list add needs --event, --name and --reentry");
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    err = adm_store_ticket_type_list(st, ADM_READ_HINT_PRIMARY, spec.event_id, &known, &n_known);
    if (err == ADM_ERR_NOT_FOUND) {
        fprintf(stderr,
                "admitctl: event %" PRId64 " does not exist (on an edge, lists come from the "
                "central server)\n",
                spec.event_id);
        goto out;
    }
    if (err != ADM_OK) {
        result = store_fail("checkin-list add", err);
        goto out;
    }
    for (i = 0; i < spec.n_types; i++) {
        for (j = 0; j < n_known && known[j].id != spec.types[i]; j++)
            ;
        if (j == n_known) {
            fprintf(stderr,
                    "admitctl: ticket type %" PRId64 " is not a type of event %" PRId64 "\n",
                    spec.types[i], spec.event_id);
            goto out;
        }
    }
    if ((err = adm_store_checkin_list_create(st, &spec, now_s(), &id)) != ADM_OK ||
        (err = adm_store_checkin_list_list(st, ADM_READ_HINT_PRIMARY, spec.event_id, &lists,
                                           &n_lists)) != ADM_OK) {
        result = store_fail("checkin-list add", err);
        goto out;
    }
    for (i = 0; i < n_lists; i++)
        if (lists[i].id == id)
            print_json(adm_app_checkin_list_json(&lists[i], true));
    result = ADM_CTL_OK;
out:
    free(known);
    free(lists);
    adm_store_close(st);
    return result;
}

static int list_list(int argc, char **argv)
{
    struct cfg_args ca = {.argc = 1};
    adm_checkin_list_t *lists = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t event = 0;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    if ((c = parse_id_command(argc, argv, usage_checkin_list, "checkin-list list", "event", &ca,
                              &event)) >= 0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = sync_event(st, event)) != ADM_OK ||
        (err = adm_store_checkin_list_list(st, ADM_READ_HINT_PRIMARY, event, &lists, &n)) !=
            ADM_OK) {
        result = store_fail("checkin-list list", err);
        goto out;
    }
    for (i = 0; i < n; i++)
        print_json(adm_app_checkin_list_json(&lists[i], true));
    result = ADM_CTL_OK;
out:
    free(lists);
    adm_store_close(st);
    return result;
}

int adm_ctl_checkin_list(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"add", list_add}, {"list", list_list}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_checkin_list, subs);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

/* Writes the QR code of text to path (.png or .svg), mode 0600. */
static adm_err_t write_qr(const char *text, const char *path)
{
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    adm_err_t err;
    char *svg = NULL;
    size_t len;
    int fd = -1;

    if (ends_with(path, ".png"))
        return adm_qr_write_png(text, &style, path);
    if ((err = adm_qr_render_svg(text, &style, &svg)) != ADM_OK)
        goto out;
    err = ADM_ERR_IO;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    len = strlen(svg);
    if (write(fd, svg, len) != (ssize_t)len)
        goto out;
    err = ADM_OK;
out:
    if (fd >= 0 && close(fd) != 0)
        err = ADM_ERR_IO;
    free(svg);
    return err;
}

static int enroll_create(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS,
                                         {"event", required_argument, NULL, 'v'},
                                         {"gate", required_argument, NULL, 'g'},
                                         {"relay", no_argument, NULL, 'r'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"public-url", required_argument, NULL, 'U'},
                                         {"qr", required_argument, NULL, 'q'},
                                         {0}};
    struct cfg_args ca = {.argc = 1};
    adm_enrollment_spec_t spec = {.kind = ADM_DEVICE_GATE};
    char token[ADM_AUTH_TOKEN_MAX] = "", base[ADM_CONFIG_URL_MAX], uri[ADM_APP_ENROLL_URI_MAX];
    const char *qr = NULL;
    int64_t ttl = 86400, now = now_s();
    adm_config_t cfg;
    adm_store_t *st = NULL;
    json_t *out;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return fputs(usage_enroll, stdout), ADM_CTL_OK;
        case 'v':
            if (!parse_i64(optarg, 1, INT64_MAX, &spec.event_id))
                return fail_usage(usage_enroll, "bad --event '%s'", optarg);
            break;
        case 'g':
            if (optarg[0] == '\0' || strlen(optarg) > ADM_STORE_GATE_MAX)
                return fail_usage(usage_enroll, "--gate must be 1..%d bytes", ADM_STORE_GATE_MAX);
            spec.gate = optarg;
            break;
        case 'r':
            spec.kind = ADM_DEVICE_RELAY;
            break;
        case 't':
            if (!parse_i64(optarg, 60, 2592000, &ttl))
                return fail_usage(usage_enroll, "bad --ttl '%s' (60..2592000 seconds)", optarg);
            break;
        case 'q':
            if (!ends_with(optarg, ".png") && !ends_with(optarg, ".svg"))
                return fail_usage(usage_enroll, "--qr needs a .png or .svg file name");
            qr = optarg;
            break;
        default:
            if (!cfg_arg(&ca, c, optarg))
                return fputs(usage_enroll, stderr), ADM_CTL_USAGE;
        }
    }
    if (optind != argc || spec.event_id == 0 || spec.gate == NULL)
        return fail_usage(usage_enroll, "enroll create needs --event and --gate");
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = sync_event(st, spec.event_id)) != ADM_OK) {
        if (err == ADM_ERR_NOT_FOUND)
            fprintf(stderr,
                    "admitctl: event %" PRId64 " does not exist here (an edge knows an "
                    "event once it has synced it)\n",
                    spec.event_id);
        else
            store_fail("enroll create", err);
        goto out;
    }
    spec.expires_at = now + ttl;
    adm_app_public_url(&cfg, base, sizeof base);
    if ((err = adm_auth_enrollment_create(st, &spec, now, token, sizeof token)) != ADM_OK ||
        (err = adm_app_enroll_uri(base, token, uri, sizeof uri)) != ADM_OK) {
        result = store_fail("enroll create", err);
        goto out;
    }
    if (qr != NULL && (err = write_qr(uri, qr)) != ADM_OK) {
        fprintf(stderr, "admitctl: %s: %s\n", qr, adm_strerror(err));
        goto out;
    }
    out = json_pack("{s:s, s:I, s:s, s:s, s:I, s:s}", "token", token, "event_id",
                    (json_int_t)spec.event_id, "gate", spec.gate, "kind",
                    spec.kind == ADM_DEVICE_RELAY ? "relay" : "gate", "expires_at",
                    (json_int_t)spec.expires_at, "enroll_uri", uri);
    if (out != NULL && qr != NULL)
        json_object_set_new(out, "qr", json_string(qr));
    print_json(out);
    result = ADM_CTL_OK;
out:
    sodium_memzero(token, sizeof token);
    adm_store_close(st);
    return result;
}

int adm_ctl_enroll(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"create", enroll_create}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_enroll, subs);
}

static int device_list(int argc, char **argv)
{
    struct cfg_args ca = {.argc = 1};
    adm_device_t *devs = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t event = 0;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    if ((c = parse_id_command(argc, argv, usage_device, "device list", "event", &ca, &event)) >= 0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = sync_event(st, event)) != ADM_OK ||
        (err = adm_store_device_list(st, ADM_READ_HINT_PRIMARY, event, &devs, &n)) != ADM_OK) {
        result = store_fail("device list", err);
        goto out;
    }
    for (i = 0; i < n; i++)
        print_json(adm_app_device_json(&devs[i]));
    result = ADM_CTL_OK;
out:
    free(devs);
    adm_store_close(st);
    return result;
}

static int device_revoke(int argc, char **argv)
{
    static const struct option opts[] = {STORE_OPTIONS, {0}};
    struct cfg_args ca = {.argc = 1};
    adm_config_t cfg;
    adm_store_t *st = NULL;
    adm_device_t d;
    const char *id;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return fputs(usage_device, stdout), ADM_CTL_OK;
        if (!cfg_arg(&ca, c, optarg))
            return fputs(usage_device, stderr), ADM_CTL_USAGE;
    }
    if (optind != argc - 1)
        return fail_usage(usage_device, "device revoke needs one DEVICE_ID");
    id = argv[optind];
    if (strlen(id) != ADM_STORE_DEVICE_ID_LEN || strncmp(id, "dv_", 3) != 0 ||
        strspn(id + 3, "0123456789abcdef") != ADM_STORE_DEVICE_ID_LEN - 3)
        return fail_usage(usage_device, "bad device id '%s' (dv_ and 16 hex digits)", id);
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = adm_store_device_revoke(st, id, now_s())) != ADM_OK ||
        (err = adm_store_device_get(st, id, &d)) != ADM_OK) {
        result = store_fail(id, err);
        goto out;
    }
    print_json(adm_app_device_json(&d));
    result = ADM_CTL_OK;
out:
    adm_store_close(st);
    return result;
}

int adm_ctl_device(int argc, char **argv)
{
    static const struct subcmd subs[] = {
        {"list", device_list}, {"revoke", device_revoke}, {NULL, NULL}};

    return run_subcommand(argc, argv, usage_device, subs);
}

/* checkin list / conflicts: every matching scan, page by page. */
static int checkin_rows(int argc, char **argv, bool conflicts)
{
    struct cfg_args ca = {.argc = 1};
    adm_checkin_query_t q = {.conflicts_only = conflicts, .limit = ADM_STORE_CHECKINS_PAGE_MAX};
    adm_checkin_t *rows = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    size_t n = 0, i;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;

    if ((c = parse_id_command(argc, argv, usage_checkin,
                              conflicts ? "checkin conflicts" : "checkin list", "event", &ca,
                              &q.event_id)) >= 0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = sync_event(st, q.event_id)) != ADM_OK) {
        result = store_fail("checkin", err);
        goto out;
    }
    do {
        if ((err = adm_store_checkins_list(st, ADM_READ_HINT_PRIMARY, &q, &rows, &n)) != ADM_OK) {
            result = store_fail("checkin", err);
            goto out;
        }
        for (i = 0; i < n; i++)
            print_json(adm_app_checkin_json(&rows[i]));
        if (n > 0)
            q.after_seq = rows[n - 1].seq;
        free(rows);
        rows = NULL;
    } while (n == q.limit);
    result = ADM_CTL_OK;
out:
    free(rows);
    adm_store_close(st);
    return result;
}

static int checkin_stats(int argc, char **argv)
{
    struct cfg_args ca = {.argc = 1};
    adm_checkin_stats_row_t *rows = NULL;
    adm_checkin_list_t *lists = NULL;
    adm_config_t cfg;
    adm_store_t *st = NULL;
    int64_t event = 0;
    size_t n = 0, n_lists = 0;
    int c, result = ADM_CTL_USAGE;
    adm_err_t err;
    json_t *doc;

    if ((c = parse_id_command(argc, argv, usage_checkin, "checkin stats", "event", &ca, &event)) >=
        0)
        return c;
    if ((result = open_store(&ca, &cfg, &st)) != ADM_CTL_OK)
        goto out;
    result = ADM_CTL_FAIL;
    if ((err = sync_event(st, event)) != ADM_OK ||
        (err = adm_store_checkin_stats(st, ADM_READ_HINT_PRIMARY, event, &rows, &n)) != ADM_OK ||
        (err = adm_store_checkin_list_list(st, ADM_READ_HINT_PRIMARY, event, &lists, &n_lists)) !=
            ADM_OK) {
        result = store_fail("checkin stats", err);
        goto out;
    }
    if ((doc = adm_app_checkin_stats_json(event, rows, n, lists, n_lists)) == NULL) {
        result = store_fail("checkin stats", ADM_ERR_NOMEM);
        goto out;
    }
    print_json(doc);
    result = ADM_CTL_OK;
out:
    free(rows);
    free(lists);
    adm_store_close(st);
    return result;
}

static int checkin_rows_list(int argc, char **argv)
{
    return checkin_rows(argc, argv, false);
}

static int checkin_rows_conflicts(int argc, char **argv)
{
    return checkin_rows(argc, argv, true);
}

int adm_ctl_checkin(int argc, char **argv)
{
    static const struct subcmd subs[] = {{"list", checkin_rows_list},
                                         {"conflicts", checkin_rows_conflicts},
                                         {"stats", checkin_stats},
                                         {NULL, NULL}};

    return run_subcommand(argc, argv, usage_checkin, subs);
}
