/* config.c: loads adm_config_t from defaults, an INI file, the environment
 * and flags, all through one table of settings (so file keys, variables,
 * flags, --help, --check-config and docs/configuration.md agree).
 * Not for validating what a store or peer will accept at run time. */
#include "server/config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

enum type { T_STR, T_INT, T_LLONG, T_BOOL, T_ENUM, T_LIST };

/* where a value came from; a list set from a higher origin replaces the
 * lower one, repeated values from the same origin append */
enum origin { ORIGIN_DEFAULT, ORIGIN_FILE, ORIGIN_ENV, ORIGIN_FLAG };

struct setting {
    const char *section, *key; /* [section] key = ... ; env ADMIT_SECTION_KEY */
    const char *flag;          /* --flag VALUE */
    const char *metavar;
    const char *help;
    enum type type;
    size_t off;  /* offsetof(adm_config_t, field) */
    size_t size; /* T_STR: buffer size */
    long long min, max;
    const char *const *names; /* T_ENUM: accepted values, by enum value */
};

static const char *const mode_names[] = {"central", "edge", NULL};
static const char *const backend_names[] = {"sqlite", "mysql", NULL};
static const char *const format_names[] = {"logfmt", "json", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", "off", NULL};

_Static_assert(sizeof(adm_config_mode_t) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(adm_store_backend_t) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(adm_log_format_t) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(adm_log_level_t) == sizeof(int), "enum fields are int-sized");
_Static_assert(ADM_MODE_EDGE == 1 && ADM_STORE_MYSQL == 1 && ADM_LOG_JSON == 1 && ADM_LOG_OFF == 4,
               "enum values index the name tables");

#define OFF(field) offsetof(adm_config_t, field)
#define STR(sec, key, flag, mv, field, help)                                                       \
    {                                                                                              \
        sec, key, flag, mv, help, T_STR, OFF(field), sizeof(((adm_config_t *)0)->field), 0, 0,     \
            NULL                                                                                   \
    }
#define INT(sec, key, flag, mv, field, lo, hi, help)                                               \
    {                                                                                              \
        sec, key, flag, mv, help, T_INT, OFF(field), 0, lo, hi, NULL                               \
    }
#define ENUM(sec, key, flag, mv, field, names, help)                                               \
    {                                                                                              \
        sec, key, flag, mv, help, T_ENUM, OFF(field), 0, 0, 0, names                               \
    }

static const struct setting settings[] = {
    STR("server", "listen", "--listen", "ADDR", listen, "IP address (or host name) to listen on"),
    INT("server", "port", "--port", "N", port, 0, 65535, "TCP port; 0 picks a free port"),
    INT("server", "threads", "--threads", "N", threads, 1, 1024,
        "HTTP worker threads (default: number of CPUs, at least 2)"),
    INT("server", "max_connections", "--max-connections", "N", max_connections, 1, 1000000,
        "concurrent client connections"),
    INT("server", "connection_timeout_s", "--connection-timeout", "SECONDS", connection_timeout_s,
        1, 86400, "idle keep-alive connections are closed after this"),
    {"server", "max_body_bytes", "--max-body-bytes", "BYTES",
     "request bodies larger than this get 413", T_LLONG, OFF(max_body_bytes), 0, 1, 1ll << 30,
     NULL},
    INT("server", "shutdown_timeout_s", "--shutdown-timeout", "SECONDS", shutdown_timeout_s, 0,
        3600, "on SIGTERM, wait this long for requests in flight"),
    ENUM("server", "mode", "--mode", "central|edge", mode, mode_names,
         "central: the booking server; edge: a venue server syncing with upstream"),
    STR("server", "upstream", "--upstream", "URL", upstream,
        "edge mode: URL of the central server"),
    STR("server", "upstream_token", "--upstream-token", "TOKEN", upstream_token,
        "edge mode: one-time enrollment token (relay) from the central server, used once"),
    STR("server", "upstream_ca", "--upstream-ca", "FILE", upstream_ca,
        "edge mode: PEM certificates to trust for upstream instead of the system store"),
    STR("server", "upstream_pin", "--upstream-pin", "PIN", upstream_pin,
        "edge mode: pin upstream's public key, sha256//<base64>"),
    STR("server", "public_url", "--public-url", "URL", public_url,
        "base URL devices use to reach this server (enrollment QR codes)"),
    STR("server", "trusted_proxies", "--trusted-proxies", "ADDR[,ADDR...]", trusted_proxies,
        "reverse proxies (IP addresses) whose X-Forwarded-For names the client"),
    INT("accounts", "session_ttl_s", "--session-ttl", "SECONDS", session_ttl_s, 300, 31536000,
        "how long a login session lasts"),
    ENUM("store", "backend", "--store", "sqlite|mysql", backend, backend_names,
         "inventory store backend"),
    INT("store", "pool_size", "--pool-size", "N", pool_size, 0, 1024,
        "database connections per server; 0 = backend default"),
    STR("sqlite", "path", "--sqlite", "FILE", sqlite_path,
        "SQLite database file (created if missing)"),
    STR("mysql", "primary", "--mysql-primary", "URL", mysql_primary,
        "MariaDB/MySQL primary, mysql://user:pass@host:port/db"),
    {"mysql", "replicas", "--mysql-replica", "URL",
     "read replica URL; repeat the flag or separate with commas", T_LIST, OFF(mysql_replicas), 0, 0,
     0, NULL},
    INT("mysql", "replica_max_lag_s", "--replica-max-lag", "SECONDS", replica_max_lag_s, 1, 3600,
        "a replica lagging more than this stops serving reads"),
    INT("booking", "hold_ttl_s", "--hold-ttl", "SECONDS", hold_ttl_s, 10, 3600,
        "how long a hold reserves tickets before it expires"),
    INT("booking", "manual_payment_window_s", "--manual-payment-window", "SECONDS",
        manual_payment_window_s, 900, 604800,
        "how long an order paid by bank transfer (provider manual) waits for confirmation"),
    INT("booking", "reaper_interval_s", "--reaper-interval", "SECONDS", reaper_interval_s, 1, 3600,
        "how often expired holds are released"),
    ENUM("log", "format", "--log-format", "logfmt|json", log_format, format_names,
         "log line format"),
    ENUM("log", "level", "--log-level", "debug|info|warn|error|off", log_level, level_names,
         "lowest level logged"),
    {"log", "access", "--access-log", "BOOL", "one log line per HTTP request (info level)", T_BOOL,
     OFF(access_log), 0, 0, 0, NULL},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

static const char *const sections[] = {"server", "store",   "sqlite", "mysql",
                                       "accounts", "booking", "log"};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

struct loader {
    adm_config_t *cfg;
    enum origin replicas_origin;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static adm_err_t fail(struct loader *ld, const char *fmt, ...)
{
    va_list ap;

    if (ld->err != NULL && ld->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(ld->err, ld->errlen, fmt, ap);
        va_end(ap);
    }
    return ADM_ERR_CONFIG;
}

static void *field(adm_config_t *cfg, const struct setting *s)
{
    return (char *)cfg + s->off;
}

static const void *cfield(const adm_config_t *cfg, const struct setting *s)
{
    return (const char *)cfg + s->off;
}

/* ---------------------------------------------------------------------- */
/* Defaults */

void adm_config_defaults(adm_config_t *cfg)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1");
    cfg->port = 8080;
    cfg->threads = ncpu < 2 ? 2 : ncpu > 256 ? 256 : (int)ncpu;
    cfg->max_connections = 1024;
    cfg->connection_timeout_s = 30;
    cfg->max_body_bytes = 1ll << 20;
    cfg->shutdown_timeout_s = 10;
    cfg->mode = ADM_MODE_CENTRAL;
    cfg->backend = ADM_STORE_SQLITE;
    cfg->pool_size = 0;
    snprintf(cfg->sqlite_path, sizeof cfg->sqlite_path, "admit.db");
    cfg->replica_max_lag_s = 5;
    cfg->hold_ttl_s = 600;
    cfg->manual_payment_window_s = 3 * 24 * 3600;
    cfg->session_ttl_s = 30 * 24 * 3600;
    cfg->reaper_interval_s = 5;
    cfg->log_format = ADM_LOG_LOGFMT;
    cfg->log_level = ADM_LOG_INFO;
    cfg->access_log = true;
    cfg->action = ADM_CONFIG_RUN;
}

/* ---------------------------------------------------------------------- */
/* Setting one value */

static bool parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    long long v;

    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static adm_err_t add_replicas(struct loader *ld, const char *where, const char *value)
{
    adm_config_t *cfg = ld->cfg;
    const char *p = value;

    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        size_t n;

        while (p < end && isspace((unsigned char)*p))
            p++;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        n = (size_t)(end - p);
        if (n > 0) {
            if (cfg->n_replicas >= ADM_STORE_MAX_REPLICAS)
                return fail(ld, "%s: more than %d replicas", where, ADM_STORE_MAX_REPLICAS);
            if (n >= ADM_CONFIG_URL_MAX)
                return fail(ld, "%s: replica URL longer than %d bytes", where,
                            ADM_CONFIG_URL_MAX - 1);
            memcpy(cfg->mysql_replicas[cfg->n_replicas], p, n);
            cfg->mysql_replicas[cfg->n_replicas][n] = '\0';
            cfg->n_replicas++;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return ADM_OK;
}

static adm_err_t apply(struct loader *ld, const struct setting *s, const char *value,
                       enum origin origin, const char *where)
{
    adm_err_t result = ADM_OK;
    void *dst = field(ld->cfg, s);
    long long v = 0;
    bool b = false;
    size_t i;

    switch (s->type) {
    case T_STR:
        if (strlen(value) >= s->size) {
            result = fail(ld, "%s: value longer than %zu bytes", where, s->size - 1);
            goto out;
        }
        memcpy(dst, value, strlen(value) + 1);
        break;
    case T_INT:
    case T_LLONG:
        if (!parse_ll(value, &v)) {
            result = fail(ld, "%s: \"%.64s\" is not a number", where, value);
            goto out;
        }
        if (v < s->min || v > s->max) {
            result = fail(ld, "%s: %lld is out of range (%lld..%lld)", where, v, s->min, s->max);
            goto out;
        }
        if (s->type == T_INT) {
            int iv = (int)v;
            memcpy(dst, &iv, sizeof iv);
        } else {
            memcpy(dst, &v, sizeof v);
        }
        break;
    case T_BOOL:
        if (!parse_bool(value, &b)) {
            result = fail(ld, "%s: \"%.64s\" is not a boolean (true or false)", where, value);
            goto out;
        }
        memcpy(dst, &b, sizeof b);
        break;
    case T_ENUM:
        for (i = 0; s->names[i] != NULL; i++) {
            if (strcasecmp(value, s->names[i]) == 0) {
                int ev = (int)i;
                memcpy(dst, &ev, sizeof ev);
                goto out;
            }
        }
        result = fail(ld, "%s: unknown value \"%.64s\" (expected %s)", where, value, s->metavar);
        break;
    case T_LIST:
        if (origin > ld->replicas_origin) {
            ld->cfg->n_replicas = 0; /* a higher source replaces the list */
            ld->replicas_origin = origin;
        }
        result = add_replicas(ld, where, value);
        break;
    }
out:
    return result;
}

static const struct setting *find_setting(const char *section, const char *key)
{
    size_t i;

    for (i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].section, section) == 0 && strcmp(settings[i].key, key) == 0)
            return &settings[i];
    return NULL;
}

static bool known_section(const char *name)
{
    size_t i;

    for (i = 0; i < N_SECTIONS; i++)
        if (strcmp(sections[i], name) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------------- */
/* INI file */

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Parses the value after '=' in place: "quoted" (with \" \\ \n \t escapes)
 * or 'quoted' (literal), or bare up to a # or ; that follows whitespace.
 * Returns the value or NULL with *why set. */
static char *parse_value(char *s, const char **why)
{
    char *p, *out, q;

    while (isspace((unsigned char)*s))
        s++;
    if (*s == '"' || *s == '\'') {
        q = *s;
        out = s;
        p = s + 1;
        while (*p && *p != q) {
            if (q == '"' && *p == '\\' && p[1] != '\0') {
                p++;
                *out++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                p++;
            } else {
                *out++ = *p++;
            }
        }
        if (*p != q) {
            *why = "unterminated quoted value";
            return NULL;
        }
        *out = '\0';
        p++;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '\0' && *p != '#' && *p != ';') {
            *why = "unexpected text after the closing quote";
            return NULL;
        }
        return s;
    }
    for (p = s; *p; p++) {
        if ((*p == '#' || *p == ';') && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
    }
    return trim(s);
}

static adm_err_t load_file(struct loader *ld, const char *path)
{
    adm_err_t result = ADM_OK;
    FILE *f = NULL;
    char *text = NULL, *line, *next;
    char section[64] = "";
    char where[ADM_CONFIG_PATH_MAX + 160];
    size_t len;
    int lineno = 0;

    f = fopen(path, "re");
    if (f == NULL) {
        result = fail(ld, "cannot read config file %s: %s", path, strerror(errno));
        goto out;
    }
    text = malloc(ADM_CONFIG_FILE_MAX + 1);
    if (text == NULL) {
        result = fail(ld, "%s: out of memory", path);
        goto out;
    }
    len = fread(text, 1, ADM_CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        result = fail(ld, "cannot read config file %s: %s", path, strerror(errno));
        goto out;
    }
    if (len > ADM_CONFIG_FILE_MAX) {
        result = fail(ld, "%s: file larger than %u bytes", path, ADM_CONFIG_FILE_MAX);
        goto out;
    }
    if (memchr(text, '\0', len) != NULL) {
        result = fail(ld, "%s: not a text file (contains NUL bytes)", path);
        goto out;
    }
    text[len] = '\0';
    line = text;
    if (strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* UTF-8 byte order mark */
    for (; line != NULL; line = next) {
        char *s, *eq, *key, *value;
        const char *why = NULL;
        const struct setting *st;

        lineno++;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strlen(line) > ADM_CONFIG_LINE_MAX) {
            result =
                fail(ld, "%s:%d: line longer than %d bytes", path, lineno, ADM_CONFIG_LINE_MAX);
            goto out;
        }
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']'), *rest, *name;
            if (close == NULL) {
                result = fail(ld, "%s:%d: missing ] in section header", path, lineno);
                goto out;
            }
            *close = '\0';
            rest = trim(close + 1);
            name = trim(s + 1);
            if (*rest != '\0' && *rest != '#' && *rest != ';') {
                result = fail(ld, "%s:%d: unexpected text after [%s]", path, lineno, name);
                goto out;
            }
            if (!known_section(name)) {
                result = fail(ld, "%s:%d: unknown section [%.64s]", path, lineno, name);
                goto out;
            }
            snprintf(section, sizeof section, "%s", name);
            continue;
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            result = fail(ld, "%s:%d: expected key = value or [section]", path, lineno);
            goto out;
        }
        *eq = '\0';
        key = trim(s);
        if (section[0] == '\0') {
            result = fail(ld, "%s:%d: key %.64s appears before any [section]", path, lineno, key);
            goto out;
        }
        st = find_setting(section, key);
        if (st == NULL) {
            result = fail(ld, "%s:%d: unknown key %.64s in [%s]", path, lineno, key, section);
            goto out;
        }
        value = parse_value(eq + 1, &why);
        if (value == NULL) {
            result = fail(ld, "%s:%d: %s.%s: %s", path, lineno, section, key, why);
            goto out;
        }
        snprintf(where, sizeof where, "%s:%d: %s.%s", path, lineno, section, key);
        result = apply(ld, st, value, ORIGIN_FILE, where);
        if (result != ADM_OK)
            goto out;
    }
    snprintf(ld->cfg->config_file, sizeof ld->cfg->config_file, "%s", path);
out:
    free(text);
    if (f != NULL)
        fclose(f);
    return result;
}

adm_err_t adm_config_load_file(adm_config_t *cfg, const char *path, char *errbuf, size_t errlen)
{
    struct loader ld = {cfg, ORIGIN_DEFAULT, errbuf, errlen};

    return load_file(&ld, path);
}

/* ---------------------------------------------------------------------- */
/* Environment */

static void env_name(const struct setting *s, char *out, size_t outlen)
{
    size_t i;

    snprintf(out, outlen, "ADMIT_%s_%s", s->section, s->key);
    for (i = 0; out[i]; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

static adm_err_t load_env(struct loader *ld, char **envp)
{
    adm_err_t result = ADM_OK;
    char name[128], prefix[64];
    char **e;
    size_t i;

    for (e = envp; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        size_t nlen;
        bool done = false;

        if (strncmp(*e, "ADMIT_", 6) != 0 || eq == NULL)
            continue;
        nlen = (size_t)(eq - *e);
        for (i = 0; i < N_SETTINGS && !done; i++) {
            env_name(&settings[i], name, sizeof name);
            if (strlen(name) == nlen && memcmp(name, *e, nlen) == 0) {
                result = apply(ld, &settings[i], eq + 1, ORIGIN_ENV, name);
                if (result != ADM_OK)
                    goto out;
                done = true;
            }
        }
        for (i = 0; i < N_SECTIONS && !done; i++) {
            size_t j, plen;
            snprintf(prefix, sizeof prefix, "ADMIT_%s_", sections[i]);
            for (j = 0; prefix[j]; j++)
                prefix[j] = (char)toupper((unsigned char)prefix[j]);
            plen = strlen(prefix);
            if (nlen > plen && strncmp(*e, prefix, plen) == 0) {
                result = fail(ld, "%.*s: unknown variable (see admitd --help)", (int)nlen, *e);
                goto out;
            }
        }
    }
out:
    return result;
}

/* ---------------------------------------------------------------------- */
/* Flags */

static const struct setting *find_flag(const char *arg, size_t len)
{
    size_t i;

    for (i = 0; i < N_SETTINGS; i++)
        if (strlen(settings[i].flag) == len && strncmp(settings[i].flag, arg, len) == 0)
            return &settings[i];
    return NULL;
}

/* Splits "--name=value" / "--name value"; returns the value (NULL when
 * missing) and advances *i past a separate value. */
static const char *flag_value(int argc, char **argv, int *i, size_t namelen)
{
    const char *arg = argv[*i];

    if (arg[namelen] == '=')
        return arg + namelen + 1;
    if (*i + 1 < argc) {
        (*i)++;
        return argv[*i];
    }
    return NULL;
}

/* First pass: --help, --version and --config, which decide what to read. */
static adm_err_t prescan(struct loader *ld, int argc, char **argv, const char **config_path)
{
    adm_err_t result = ADM_OK;
    int i;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        size_t n = strcspn(arg, "=");

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            ld->cfg->action = ADM_CONFIG_HELP;
            goto out;
        }
        if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
            ld->cfg->action = ADM_CONFIG_VERSION;
            goto out;
        }
        if (n == 8 && strncmp(arg, "--config", 8) == 0) {
            const char *v = flag_value(argc, argv, &i, n);
            if (v == NULL || *v == '\0') {
                result = fail(ld, "--config needs a file name");
                goto out;
            }
            *config_path = v;
        } else if (find_flag(arg, n) != NULL && arg[n] != '=') {
            i++; /* skip the flag's value */
        }
    }
out:
    return result;
}

static adm_err_t load_flags(struct loader *ld, int argc, char **argv)
{
    adm_err_t result = ADM_OK;
    int i;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        size_t n = strcspn(arg, "=");
        const struct setting *s;
        const char *v;
        char where[64];

        if (strcmp(arg, "--check-config") == 0) {
            ld->cfg->action = ADM_CONFIG_CHECK;
            continue;
        }
        if (n == 8 && strncmp(arg, "--config", 8) == 0) {
            flag_value(argc, argv, &i, n); /* read in prescan */
            continue;
        }
        if (strncmp(arg, "-", 1) != 0 || strcmp(arg, "-") == 0 || strcmp(arg, "--") == 0) {
            result = fail(ld, "unexpected argument \"%.64s\" (see admitd --help)", arg);
            goto out;
        }
        s = find_flag(arg, n);
        if (s == NULL) {
            result =
                fail(ld, "unknown option %.*s (see admitd --help)", (int)(n > 64 ? 64 : n), arg);
            goto out;
        }
        v = flag_value(argc, argv, &i, n);
        if (v == NULL) {
            result = fail(ld, "%s needs a value (%s)", s->flag, s->metavar);
            goto out;
        }
        snprintf(where, sizeof where, "%s", s->flag);
        result = apply(ld, s, v, ORIGIN_FLAG, where);
        if (result != ADM_OK)
            goto out;
    }
out:
    return result;
}

/* ---------------------------------------------------------------------- */
/* Loading */

/* A comma-separated list of 0..ADM_HTTP_MAX_PROXIES IPv4/IPv6 addresses. */
static bool proxies_ok(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];
    char one[INET6_ADDRSTRLEN];
    int n = 0;

    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        while (len > 0 && *s == ' ')
            s++, len--;
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == 0 || len >= sizeof one || ++n > ADM_HTTP_MAX_PROXIES)
            return false;
        memcpy(one, s, len);
        one[len] = '\0';
        if (inet_pton(AF_INET, one, addr) != 1 && inet_pton(AF_INET6, one, addr) != 1)
            return false;
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    return true;
}

static adm_err_t validate(struct loader *ld)
{
    adm_err_t result = ADM_OK;
    const adm_config_t *cfg = ld->cfg;

    if (cfg->listen[0] == '\0')
        result = fail(ld, "server.listen is empty (set --listen, ADMIT_SERVER_LISTEN or "
                          "[server] listen)");
    else if (cfg->backend == ADM_STORE_SQLITE && cfg->sqlite_path[0] == '\0')
        result = fail(ld, "store.backend is sqlite but sqlite.path is empty (set --sqlite, "
                          "ADMIT_SQLITE_PATH or [sqlite] path)");
    else if (cfg->backend == ADM_STORE_MYSQL && cfg->mysql_primary[0] == '\0')
        result = fail(ld, "store.backend is mysql but mysql.primary is empty (set "
                          "--mysql-primary, ADMIT_MYSQL_PRIMARY or [mysql] primary)");
    else if (cfg->mode == ADM_MODE_EDGE && cfg->upstream[0] == '\0')
        result = fail(ld, "server.mode is edge but server.upstream is empty (set --upstream, "
                          "ADMIT_SERVER_UPSTREAM or [server] upstream)");
    else if (!proxies_ok(cfg->trusted_proxies))
        result = fail(ld, "server.trusted_proxies must be IP addresses separated by commas "
                          "(at most %d), not \"%s\"",
                      ADM_HTTP_MAX_PROXIES, cfg->trusted_proxies);
    else if (cfg->mode == ADM_MODE_EDGE && cfg->backend != ADM_STORE_SQLITE)
        result = fail(ld, "server.mode is edge but store.backend is not sqlite (an edge relay "
                          "keeps its venue's data in embedded SQLite)");
    return result;
}

adm_err_t adm_config_load(int argc, char **argv, char **envp, adm_config_t *cfg, char *errbuf,
                          size_t errlen)
{
    adm_err_t result = ADM_OK;
    struct loader ld = {cfg, ORIGIN_DEFAULT, errbuf, errlen};
    const char *config_path = NULL;
    char **e;

    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    adm_config_defaults(cfg);
    if (envp == NULL)
        envp = environ;
    result = prescan(&ld, argc, argv, &config_path);
    if (result != ADM_OK || cfg->action != ADM_CONFIG_RUN)
        goto out;
    for (e = envp; config_path == NULL && e != NULL && *e != NULL; e++)
        if (strncmp(*e, "ADMIT_CONFIG=", 13) == 0)
            config_path = *e + 13;
    if (config_path != NULL && *config_path != '\0') {
        result = load_file(&ld, config_path);
        if (result != ADM_OK)
            goto out;
    }
    result = load_env(&ld, envp);
    if (result != ADM_OK)
        goto out;
    result = load_flags(&ld, argc, argv);
    if (result != ADM_OK)
        goto out;
    result = validate(&ld);
out:
    return result;
}

/* ---------------------------------------------------------------------- */
/* Output */

void adm_config_redact_url(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *auth, *auth_end, *at, *colon;

    if (outlen == 0)
        return;
    snprintf(out, outlen, "%s", url);
    if (scheme == NULL)
        return;
    auth = scheme + 3;
    auth_end = auth + strcspn(auth, "/?#");
    at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL)
        return;
    colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon == NULL)
        return;
    snprintf(out, outlen, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

/* The value of s in cfg as text (lists joined with ", "). */
static void value_text(const adm_config_t *cfg, const struct setting *s, bool redact, char *out,
                       size_t outlen)
{
    const void *src = cfield(cfg, s);
    size_t i, len;
    long long v;
    int iv;
    bool b;

    out[0] = '\0';
    switch (s->type) {
    case T_STR:
        if (redact && strcmp(s->section, "mysql") == 0)
            adm_config_redact_url(src, out, outlen);
        else
            snprintf(out, outlen, "%s", (const char *)src);
        break;
    case T_INT:
        memcpy(&iv, src, sizeof iv);
        snprintf(out, outlen, "%d", iv);
        break;
    case T_LLONG:
        memcpy(&v, src, sizeof v);
        snprintf(out, outlen, "%lld", v);
        break;
    case T_BOOL:
        memcpy(&b, src, sizeof b);
        snprintf(out, outlen, "%s", b ? "true" : "false");
        break;
    case T_ENUM:
        memcpy(&iv, src, sizeof iv);
        snprintf(out, outlen, "%s", s->names[iv]);
        break;
    case T_LIST:
        for (i = 0; i < cfg->n_replicas; i++) {
            char one[ADM_CONFIG_URL_MAX];
            if (redact)
                adm_config_redact_url(cfg->mysql_replicas[i], one, sizeof one);
            else
                snprintf(one, sizeof one, "%s", cfg->mysql_replicas[i]);
            len = strlen(out);
            snprintf(out + len, outlen - len, "%s%s", i ? ", " : "", one);
        }
        break;
    }
}

static bool needs_quotes(const char *v)
{
    size_t n = strlen(v);
    const char *p;

    if (n == 0 || isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) || v[0] == '"' ||
        v[0] == '\'')
        return true;
    for (p = v; *p; p++)
        if (*p == '#' || *p == ';' || *p == '\n' || *p == '\t' || *p == '\\')
            return true;
    return false;
}

static void write_quoted(FILE *f, const char *v)
{
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else if (*v == '\t')
            fputs("\\t", f);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

adm_err_t adm_config_write_ini(const adm_config_t *cfg, FILE *f)
{
    adm_err_t result = ADM_OK;
    const char *section = "";
    char *value = NULL;
    const size_t vlen = ADM_STORE_MAX_REPLICAS * (ADM_CONFIG_URL_MAX + 2) + ADM_CONFIG_PATH_MAX;
    size_t i;

    value = malloc(vlen);
    if (value == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    if (cfg->config_file[0])
        fprintf(f, "# admitd %s effective configuration (file: %s)\n", ADM_VERSION,
                cfg->config_file);
    else
        fprintf(f, "# admitd %s effective configuration (no file)\n", ADM_VERSION);
    for (i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (strcmp(section, s->section) != 0) {
            fprintf(f, "\n[%s]\n", s->section);
            section = s->section;
        }
        value_text(cfg, s, true, value, vlen);
        fprintf(f, "%s = ", s->key);
        if (needs_quotes(value))
            write_quoted(f, value);
        else
            fputs(value, f);
        fputc('\n', f);
    }
    if (fflush(f) != 0 || ferror(f))
        result = ADM_ERR_IO;
out:
    free(value);
    return result;
}

void adm_config_usage(FILE *f)
{
    adm_config_t def;
    char name[128], value[ADM_CONFIG_PATH_MAX];
    size_t i;

    adm_config_defaults(&def);
    fputs("usage: admitd [OPTIONS]\n"
          "\n"
          "Runs the admit booking server. Each setting comes from the first of: a flag\n"
          "below, the environment variable in brackets, the INI file given by --config\n"
          "or ADMIT_CONFIG ([section] key = value), the built-in default.\n"
          "See docs/configuration.md.\n"
          "\n"
          "  --config FILE                 INI configuration file [ADMIT_CONFIG]\n"
          "  --check-config                print the effective configuration as INI and exit\n"
          "  --help, -h                    print this help and exit\n"
          "  --version, -V                 print the version and exit\n",
          f);
    for (i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        char flag[64];

        snprintf(flag, sizeof flag, "%s %s", s->flag, s->metavar);
        env_name(s, name, sizeof name);
        value_text(&def, s, true, value, sizeof value);
        if (strlen(flag) > 29)
            fprintf(f, "  %s\n  %-29s %s\n", flag, "", s->help);
        else
            fprintf(f, "  %-29s %s\n", flag, s->help);
        fprintf(f, "  %-29s [%s] %s = %s\n", "", name, s->key, value[0] ? value : "(empty)");
    }
}

void adm_config_to_store(const adm_config_t *cfg, adm_store_config_t *out)
{
    size_t i;

    memset(out, 0, sizeof *out);
    out->backend = cfg->backend;
    out->sqlite_path = cfg->sqlite_path;
    out->mysql_primary = cfg->mysql_primary;
    for (i = 0; i < cfg->n_replicas && i < ADM_STORE_MAX_REPLICAS; i++)
        out->mysql_replicas[i] = cfg->mysql_replicas[i];
    out->n_replicas = i;
    out->pool_size = cfg->pool_size;
    out->replica_max_lag_s = cfg->replica_max_lag_s;
}

void adm_config_to_http(const adm_config_t *cfg, adm_http_server_config_t *out)
{
    adm_http_server_config_init(out);
    out->listen_addr = cfg->listen;
    out->port = (uint16_t)cfg->port;
    out->threads = (unsigned)cfg->threads;
    out->max_connections = (unsigned)cfg->max_connections;
    out->connection_timeout_s = (unsigned)cfg->connection_timeout_s;
    out->max_body_bytes = (size_t)cfg->max_body_bytes;
    out->shutdown_timeout_ms = (unsigned)cfg->shutdown_timeout_s * 1000u;
    out->access_log = cfg->access_log;
    out->trusted_proxies = cfg->trusted_proxies;
}
