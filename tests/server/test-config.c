/* test-config.c: tests server/config.c: defaults, the INI parser, the
 * precedence file < environment < flags, every error message, replica
 * lists and --check-config output (which must load back to the same values). */
#include <stdarg.h>

#include "server/config.h"
#include "tests/testutil/testutil.h"

static const char *tmp;
static char errbuf[ADM_CONFIG_ERR_MAX];
static adm_config_t cfg; /* ~30 KiB: static, not on the stack */

/* Writes text to tmp/name and returns the path (static buffer per call slot). */
static const char *write_file(const char *name, const char *text)
{
    static char paths[4][4096];
    static int slot;
    char *path = paths[slot++ % 4];
    FILE *f;

    snprintf(path, 4096, "%s/%s", tmp, name);
    f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
    return path;
}

/* Loads with argv (NULL-terminated list after argv[0]) and envp. */
static adm_err_t load(char **envp, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    char *a;

    argv[argc++] = "admitd";
    va_start(ap, envp);
    while ((a = va_arg(ap, char *)) != NULL && argc < 63)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return adm_config_load(argc, argv, envp, &cfg, errbuf, sizeof errbuf);
}

static char *noenv[] = {NULL};
#define END ((char *)NULL) /* ends load()'s argument list */

#define CHECK_CONFIG_ERR(call, fragment)                                                           \
    do {                                                                                           \
        errbuf[0] = '\0';                                                                          \
        CHECK_ERR(call, ADM_ERR_CONFIG);                                                           \
        if (strstr(errbuf, (fragment)) == NULL)                                                    \
            adm_test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", errbuf, (fragment));  \
    } while (0)

static void test_defaults(void)
{
    CHECK_ERR(load(noenv, END), ADM_OK);
    CHECK_STR(cfg.listen, "127.0.0.1");
    CHECK_INT(cfg.port, 8080);
    CHECK(cfg.threads >= 2);
    CHECK_INT(cfg.max_body_bytes, 1 << 20);
    CHECK_INT(cfg.backend, ADM_STORE_SQLITE);
    CHECK_STR(cfg.sqlite_path, "admit.db");
    CHECK_STR(cfg.mysql_primary, "");
    CHECK_INT(cfg.n_replicas, 0);
    CHECK_INT(cfg.replica_max_lag_s, 5);
    CHECK_INT(cfg.pool_size, 0);
    CHECK_INT(cfg.hold_ttl_s, 600);
    CHECK_INT(cfg.reaper_interval_s, 5);
    CHECK_INT(cfg.mode, ADM_MODE_CENTRAL);
    CHECK_STR(cfg.upstream, "");
    CHECK_INT(cfg.log_format, ADM_LOG_LOGFMT);
    CHECK_INT(cfg.log_level, ADM_LOG_INFO);
    CHECK(cfg.access_log);
    CHECK_INT(cfg.action, ADM_CONFIG_RUN);
    CHECK_STR(cfg.config_file, "");
}

static void test_file_parsing(void)
{
    const char *path =
        write_file("a.ini", "\xEF\xBB\xBF# admitd test configuration\n"
                            "; another comment style\n"
                            "\n"
                            "  [server]  \n"
                            "listen=0.0.0.0\n"
                            "  port   =   9001   # trailing comment\n"
                            "threads = 3 ; other trailing comment\n"
                            "max_body_bytes = 2048\r\n"
                            "mode = Central\n"
                            "upstream = \"https://central.example/admit#frag\"  # quoted keeps #\n"
                            "[store]\n"
                            "backend = MySQL\n"
                            "pool_size = 8\n"
                            "[sqlite]\n"
                            "path = 'C:\\dir with spaces\\a.db'\n"
                            "[mysql]\n"
                            "primary = mysql://app:s3cret@db1:3306/admit\n"
                            "replicas = mysql://r1/admit, mysql://r2/admit\n"
                            "replicas = mysql://r3/admit\n"
                            "replica_max_lag_s = 2\n"
                            "[booking]\n"
                            "hold_ttl_s = 120\n"
                            "reaper_interval_s = 1\n"
                            "[log]\n"
                            "format = json\n"
                            "level = warn\n"
                            "access = off\n"
                            "[server]\n"
                            "port = 9002\n");

    CHECK_ERR(load(noenv, "--config", path, END), ADM_OK);
    CHECK_STR(cfg.listen, "0.0.0.0");
    CHECK_INT(cfg.port, 9002); /* a later line wins */
    CHECK_INT(cfg.threads, 3);
    CHECK_INT(cfg.max_body_bytes, 2048);
    CHECK_INT(cfg.mode, ADM_MODE_CENTRAL);
    CHECK_STR(cfg.upstream, "https://central.example/admit#frag");
    CHECK_INT(cfg.backend, ADM_STORE_MYSQL);
    CHECK_INT(cfg.pool_size, 8);
    CHECK_STR(cfg.sqlite_path, "C:\\dir with spaces\\a.db");
    CHECK_STR(cfg.mysql_primary, "mysql://app:s3cret@db1:3306/admit");
    CHECK_INT(cfg.n_replicas, 3);
    CHECK_STR(cfg.mysql_replicas[0], "mysql://r1/admit");
    CHECK_STR(cfg.mysql_replicas[1], "mysql://r2/admit");
    CHECK_STR(cfg.mysql_replicas[2], "mysql://r3/admit");
    CHECK_INT(cfg.replica_max_lag_s, 2);
    CHECK_INT(cfg.hold_ttl_s, 120);
    CHECK_INT(cfg.reaper_interval_s, 1);
    CHECK_INT(cfg.log_format, ADM_LOG_JSON);
    CHECK_INT(cfg.log_level, ADM_LOG_WARN);
    CHECK(!cfg.access_log);
    CHECK_STR(cfg.config_file, path);

    /* escapes inside a quoted value */
    path = write_file("q.ini", "[server]\nupstream = \"keys \\\"quoted\\\" \\\\ dir\"\n");
    CHECK_ERR(load(noenv, "--config", path, END), ADM_OK);
    CHECK_STR(cfg.upstream, "keys \"quoted\" \\ dir");

    /* an empty value and an empty quoted value */
    path =
        write_file("b.ini", "[server]\nupstream =\n[sqlite]\npath = \"x\"\n[mysql]\nprimary = \"\"\n");
    CHECK_ERR(load(noenv, "--config", path, END), ADM_OK);
    CHECK_STR(cfg.upstream, "");
    CHECK_STR(cfg.mysql_primary, "");
}

static void test_precedence(void)
{
    const char *path = write_file("p.ini", "[server]\nport = 8001\nthreads = 5\n"
                                           "[store]\nbackend = sqlite\n[sqlite]\npath = file.db\n");
    char env_config[4200];
    char *env[] = {env_config,
                   "ADMIT_SERVER_PORT=8002",
                   "ADMIT_SQLITE_PATH=env.db",
                   "ADMIT_SRCDIR=/src",
                   "ADMIT_VECTORS=/v",
                   "PATH=/bin",
                   NULL};

    snprintf(env_config, sizeof env_config, "ADMIT_CONFIG=%s", path);
    /* file via ADMIT_CONFIG, environment over file */
    CHECK_ERR(load(env, END), ADM_OK);
    CHECK_INT(cfg.port, 8002);
    CHECK_INT(cfg.threads, 5);
    CHECK_STR(cfg.sqlite_path, "env.db");
    /* flags over environment, both spellings */
    CHECK_ERR(load(env, "--port", "8003", "--sqlite=flag.db", END), ADM_OK);
    CHECK_INT(cfg.port, 8003);
    CHECK_STR(cfg.sqlite_path, "flag.db");
    CHECK_INT(cfg.threads, 5);
    /* the last flag wins */
    CHECK_ERR(load(env, "--port", "8003", "--port=8004", END), ADM_OK);
    CHECK_INT(cfg.port, 8004);
    /* --config beats ADMIT_CONFIG */
    path = write_file("q.ini", "[server]\nthreads = 7\n");
    CHECK_ERR(load(env, "--config", path, END), ADM_OK);
    CHECK_INT(cfg.threads, 7);
    CHECK_INT(cfg.port, 8002);
    /* every kind of setting through a flag */
    CHECK_ERR(load(noenv, "--listen", "::1", "--threads", "9", "--max-connections", "50",
                   "--connection-timeout", "7", "--max-body-bytes", "4096", "--shutdown-timeout",
                   "0", "--store", "mysql", "--mysql-primary", "mysql://p/db", "--pool-size", "4",
                   "--replica-max-lag", "9", "--hold-ttl", "60", "--reaper-interval", "2",
                   "--sqlite", "k", "--mode", "central", "--upstream", "http://c", "--log-format",
                   "json", "--log-level", "off", "--access-log", "false", END),
              ADM_OK);
    CHECK_STR(cfg.listen, "::1");
    CHECK_INT(cfg.threads, 9);
    CHECK_INT(cfg.max_connections, 50);
    CHECK_INT(cfg.connection_timeout_s, 7);
    CHECK_INT(cfg.max_body_bytes, 4096);
    CHECK_INT(cfg.shutdown_timeout_s, 0);
    CHECK_INT(cfg.backend, ADM_STORE_MYSQL);
    CHECK_INT(cfg.pool_size, 4);
    CHECK_INT(cfg.replica_max_lag_s, 9);
    CHECK_INT(cfg.hold_ttl_s, 60);
    CHECK_INT(cfg.reaper_interval_s, 2);
    CHECK_STR(cfg.sqlite_path, "k");
    CHECK_INT(cfg.mode, ADM_MODE_CENTRAL);
    CHECK_STR(cfg.upstream, "http://c");
    CHECK_INT(cfg.log_format, ADM_LOG_JSON);
    CHECK_INT(cfg.log_level, ADM_LOG_OFF);
    CHECK(!cfg.access_log);
    /* every kind of setting through the environment */
    {
        char *env2[] = {"ADMIT_STORE_BACKEND=mysql",      "ADMIT_MYSQL_PRIMARY=mysql://e/db",
                        "ADMIT_SERVER_MODE=central",      "ADMIT_LOG_ACCESS=no",
                        "ADMIT_BOOKING_HOLD_TTL_S=30",    "ADMIT_SQLITE_PATH=/keys",
                        "ADMIT_SERVER_MAX_BODY_BYTES=99", NULL};
        CHECK_ERR(load(env2, END), ADM_OK);
        CHECK_INT(cfg.backend, ADM_STORE_MYSQL);
        CHECK_STR(cfg.mysql_primary, "mysql://e/db");
        CHECK(!cfg.access_log);
        CHECK_INT(cfg.hold_ttl_s, 30);
        CHECK_STR(cfg.sqlite_path, "/keys");
        CHECK_INT(cfg.max_body_bytes, 99);
    }
}

static void test_replicas(void)
{
    const char *path =
        write_file("r.ini", "[store]\nbackend = mysql\n[mysql]\nprimary = mysql://p/db\n"
                            "replicas = mysql://f1/db,mysql://f2/db\n");
    char *env[] = {"ADMIT_MYSQL_REPLICAS= mysql://e1/db , , mysql://e2/db,mysql://e3/db ", NULL};
    adm_store_config_t sc;
    char many[20 * 16 + 1] = "";
    int i;

    CHECK_ERR(load(noenv, "--config", path, END), ADM_OK);
    CHECK_INT(cfg.n_replicas, 2);
    /* the environment replaces the file's list (and trims, skips empties) */
    CHECK_ERR(load(env, "--config", path, END), ADM_OK);
    CHECK_INT(cfg.n_replicas, 3);
    CHECK_STR(cfg.mysql_replicas[0], "mysql://e1/db");
    CHECK_STR(cfg.mysql_replicas[2], "mysql://e3/db");
    /* repeated flags replace the environment's list and append to each other */
    CHECK_ERR(load(env, "--config", path, "--mysql-replica", "mysql://a/db", "--mysql-replica",
                   "mysql://b/db,mysql://c/db", END),
              ADM_OK);
    CHECK_INT(cfg.n_replicas, 3);
    CHECK_STR(cfg.mysql_replicas[0], "mysql://a/db");
    CHECK_STR(cfg.mysql_replicas[1], "mysql://b/db");
    CHECK_STR(cfg.mysql_replicas[2], "mysql://c/db");

    adm_config_to_store(&cfg, &sc);
    CHECK_INT(sc.backend, ADM_STORE_MYSQL);
    CHECK_STR(sc.mysql_primary, "mysql://p/db");
    CHECK_INT(sc.n_replicas, 3);
    CHECK_STR(sc.mysql_replicas[1], "mysql://b/db");
    CHECK_STR(sc.sqlite_path, "admit.db");
    CHECK_INT(sc.replica_max_lag_s, 5);
    CHECK_INT(sc.pool_size, 0);

    for (i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sr%d", i ? "," : "", i);
    CHECK_CONFIG_ERR(load(noenv, "--mysql-replica", many, END),
                     "--mysql-replica: more than 16 replicas");
}

static void test_file_errors(void)
{
    char want[4200];
    const char *path;

    path = write_file("e1.ini", "[server]\nport = 1\n\n# c\nprot = 2\n");
    snprintf(want, sizeof want, "%s:5: unknown key prot in [server]", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e2.ini", "[server]\n[database]\n");
    snprintf(want, sizeof want, "%s:2: unknown section [database]", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e3.ini", "[server]\nport = eighty\n");
    snprintf(want, sizeof want, "%s:2: server.port: \"eighty\" is not a number", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e4.ini", "[server]\n\nport = 70000\n");
    snprintf(want, sizeof want, "%s:3: server.port: 70000 is out of range (0..65535)", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e5.ini", "[store]\nbackend = postgres\n");
    snprintf(want, sizeof want,
             "%s:2: store.backend: unknown value \"postgres\" (expected sqlite|mysql)", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e6.ini", "port = 1\n");
    snprintf(want, sizeof want, "%s:1: key port appears before any [section]", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e7.ini", "[sqlite]\npath = \"unterminated\n");
    snprintf(want, sizeof want, "%s:2: sqlite.path: unterminated quoted value", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e8.ini", "[sqlite]\npath = \"a\" b\n");
    snprintf(want, sizeof want, "%s:2: sqlite.path: unexpected text after the closing quote", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e9.ini", "[server]\njust some words\n");
    snprintf(want, sizeof want, "%s:2: expected key = value", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e10.ini", "[server\n");
    snprintf(want, sizeof want, "%s:1: missing ]", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e11.ini", "[log]\naccess = maybe\n");
    snprintf(want, sizeof want, "%s:2: log.access: \"maybe\" is not a boolean", path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e12.ini", "[server]\nmax_body_bytes = 0\n");
    snprintf(want, sizeof want, "%s:2: server.max_body_bytes: 0 is out of range (1..1073741824)",
             path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    path = write_file("e13.ini", "[server]\nthreads = 99999999999999999999\n");
    snprintf(want, sizeof want, "%s:2: server.threads: \"99999999999999999999\" is not a number",
             path);
    CHECK_CONFIG_ERR(load(noenv, "--config", path, END), want);

    snprintf(want, sizeof want, "cannot read config file %s/missing.ini: No such file", tmp);
    snprintf(want + 2000, 2000, "%s/missing.ini", tmp);
    CHECK_CONFIG_ERR(load(noenv, "--config", want + 2000, END), want);
    CHECK_CONFIG_ERR(load(noenv, "--config", END), "--config needs a file name");
}

static void test_env_and_flag_errors(void)
{
    char *e1[] = {"ADMIT_SERVER_PORT=abc", NULL};
    char *e2[] = {"ADMIT_SERVER_PROT=1", NULL};
    char *e3[] = {"ADMIT_STORE_BACKEND=oracle", NULL};
    char *e4[] = {"ADMIT_BOOKING_HOLD_TTL_S=1", NULL};
    char *e5[] = {"ADMIT_CONFIG=/nonexistent/admit.ini", NULL};

    CHECK_CONFIG_ERR(load(e1, END), "ADMIT_SERVER_PORT: \"abc\" is not a number");
    CHECK_CONFIG_ERR(load(e2, END), "ADMIT_SERVER_PROT: unknown variable");
    CHECK_CONFIG_ERR(load(e3, END), "ADMIT_STORE_BACKEND: unknown value \"oracle\"");
    CHECK_CONFIG_ERR(load(e4, END), "ADMIT_BOOKING_HOLD_TTL_S: 1 is out of range (10..3600)");
    CHECK_CONFIG_ERR(load(e5, END), "cannot read config file /nonexistent/admit.ini");

    CHECK_CONFIG_ERR(load(noenv, "--port", "-1", END), "--port: -1 is out of range (0..65535)");
    CHECK_CONFIG_ERR(load(noenv, "--port", "", END), "--port: \"\" is not a number");
    CHECK_CONFIG_ERR(load(noenv, "--port", "12 ", END), "--port: \"12 \" is not a number");
    CHECK_CONFIG_ERR(load(noenv, "--threads", "0", END), "--threads: 0 is out of range");
    CHECK_CONFIG_ERR(load(noenv, "--store", "oracle", END),
                     "--store: unknown value \"oracle\" (expected sqlite|mysql)");
    CHECK_CONFIG_ERR(load(noenv, "--prot", "1", END), "unknown option --prot");
    CHECK_CONFIG_ERR(load(noenv, "--port", END), "--port needs a value");
    CHECK_CONFIG_ERR(load(noenv, "serve", END), "unexpected argument \"serve\"");
    CHECK_CONFIG_ERR(load(noenv, "--store", "mysql", END),
                     "store.backend is mysql but mysql.primary is empty");
    CHECK_CONFIG_ERR(load(noenv, "--mode", "edge", END),
                     "server.mode is edge but server.upstream is empty");
    CHECK_CONFIG_ERR(load(noenv, "--mode", "edge", "--upstream", "https://c", "--store", "mysql",
                          "--mysql-primary", "mysql://p/db", END),
                     "server.mode is edge but store.backend is not sqlite");
    /* an edge relay: upstream, its enrollment token, CA, pin and public URL */
    CHECK_ERR(load(noenv, "--mode", "edge", "--upstream", "https://central.example",
                   "--upstream-token", "tok", "--upstream-ca", "/etc/ca.pem", "--upstream-pin",
                   "sha256//AAAA", "--public-url", "http://10.0.0.2:8080", END),
              ADM_OK);
    CHECK_INT(cfg.mode, ADM_MODE_EDGE);
    CHECK_STR(cfg.upstream_token, "tok");
    CHECK_STR(cfg.upstream_ca, "/etc/ca.pem");
    CHECK_STR(cfg.upstream_pin, "sha256//AAAA");
    CHECK_STR(cfg.public_url, "http://10.0.0.2:8080");
    /* reverse proxies and the session lifetime */
    CHECK_ERR(load(noenv, "--trusted-proxies", "10.0.0.1, ::1", "--session-ttl", "3600", END),
              ADM_OK);
    CHECK_STR(cfg.trusted_proxies, "10.0.0.1, ::1");
    CHECK_INT(cfg.session_ttl_s, 3600);
    CHECK_INT(cfg.manual_payment_window_s, 3 * 24 * 3600);
    CHECK_ERR(load(noenv, "--manual-payment-window", "86400", END), ADM_OK);
    CHECK_INT(cfg.manual_payment_window_s, 86400);
    CHECK_CONFIG_ERR(load(noenv, "--manual-payment-window", "60", END),
                     "--manual-payment-window");
    CHECK_CONFIG_ERR(load(noenv, "--trusted-proxies", "10.0.0.1,proxy.example", END),
                     "server.trusted_proxies must be IP addresses");
    CHECK_CONFIG_ERR(load(noenv, "--trusted-proxies", "10.0.0.1,,10.0.0.2", END),
                     "server.trusted_proxies must be IP addresses");
    CHECK_CONFIG_ERR(load(noenv, "--session-ttl", "10", END), "--session-ttl");
    CHECK_CONFIG_ERR(load(noenv, "--listen", "", END), "server.listen is empty");
    CHECK_CONFIG_ERR(load(noenv, "--sqlite", "", END), "sqlite.path is empty");
}

static void test_actions(void)
{
    CHECK_ERR(load(noenv, "--help", END), ADM_OK);
    CHECK_INT(cfg.action, ADM_CONFIG_HELP);
    /* --help wins even over an invalid configuration */
    CHECK_ERR(load(noenv, "--port", "nope", "-h", END), ADM_OK);
    CHECK_INT(cfg.action, ADM_CONFIG_HELP);
    CHECK_ERR(load(noenv, "--version", END), ADM_OK);
    CHECK_INT(cfg.action, ADM_CONFIG_VERSION);
    CHECK_ERR(load(noenv, "--check-config", END), ADM_OK);
    CHECK_INT(cfg.action, ADM_CONFIG_CHECK);
    /* a flag value that looks like --help is a value, not the flag */
    CHECK_ERR(load(noenv, "--sqlite", "--help", END), ADM_OK);
    CHECK_INT(cfg.action, ADM_CONFIG_RUN);
    CHECK_STR(cfg.sqlite_path, "--help");
}

static char *ini_text(const adm_config_t *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        abort();
    CHECK_ERR(adm_config_write_ini(c, f), ADM_OK);
    fclose(f);
    return text;
}

static void test_check_config_output(void)
{
    char *text, *again;
    const char *path;
    char *env[] = {"ADMIT_MYSQL_REPLICAS=mysql://u:pw@r1/db,mysql://r2/db", NULL};
    adm_config_t *first = malloc(sizeof *first);

    if (first == NULL)
        abort();
    CHECK_ERR(load(env, "--check-config", "--port", "9090", "--store", "mysql", "--mysql-primary",
                   "mysql://app:s3cret@db1:3306/admit", "--sqlite", "dir # with ; specials",
                   "--upstream", "  padded  ", END),
              ADM_OK);
    CHECK_INT(cfg.action, ADM_CONFIG_CHECK);
    text = ini_text(&cfg);
    CHECK(strstr(text, "\n[server]\nlisten = 127.0.0.1\nport = 9090\n") != NULL);
    CHECK(strstr(text, "\n[store]\nbackend = mysql\n") != NULL);
    CHECK(strstr(text, "primary = mysql://app:***@db1:3306/admit\n") != NULL);
    CHECK(strstr(text, "replicas = mysql://u:***@r1/db, mysql://r2/db\n") != NULL);
    CHECK(strstr(text, "s3cret") == NULL && strstr(text, ":pw@") == NULL);
    CHECK(strstr(text, "path = \"dir # with ; specials\"\n") != NULL);
    CHECK(strstr(text, "upstream = \"  padded  \"\n") != NULL);
    CHECK(strstr(text, "\n[log]\nformat = logfmt\nlevel = info\naccess = true\n") != NULL);
    CHECK(strstr(text, "hold_ttl_s = 600\n") != NULL);

    /* the output loads back to the same configuration (passwords aside) */
    memcpy(first, &cfg, sizeof cfg);
    path = write_file("round.ini", text);
    if (load(noenv, "--config", path, END) != ADM_OK)
        adm_test_fail(__FILE__, __LINE__, "reloading --check-config output: %s", errbuf);
    CHECK_INT(cfg.port, 9090);
    CHECK_STR(cfg.sqlite_path, first->sqlite_path);
    CHECK_STR(cfg.upstream, "  padded  ");
    CHECK_INT(cfg.n_replicas, 2);
    CHECK_STR(cfg.mysql_replicas[0], "mysql://u:***@r1/db");
    CHECK_INT(cfg.threads, first->threads);
    again = ini_text(&cfg);
    /* identical apart from the first line, which names the file */
    CHECK_STR(strchr(again, '\n'), strchr(text, '\n'));
    free(text);
    free(again);
    free(first);
}

static void test_usage_and_redact(void)
{
    char *text = NULL, out[256];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        abort();
    adm_config_usage(f);
    fclose(f);
    CHECK(strstr(text, "--port N") != NULL);
    CHECK(strstr(text, "[ADMIT_SERVER_PORT] port = 8080") != NULL);
    CHECK(strstr(text, "--mysql-replica URL") != NULL);
    CHECK(strstr(text, "[ADMIT_MYSQL_REPLICAS]") != NULL);
    CHECK(strstr(text, "--check-config") != NULL);
    free(text);

    adm_config_redact_url("mysql://app:pw@db:3306/x", out, sizeof out);
    CHECK_STR(out, "mysql://app:***@db:3306/x");
    adm_config_redact_url("mysql://app@db/x", out, sizeof out);
    CHECK_STR(out, "mysql://app@db/x");
    adm_config_redact_url("mysql://db/x@y", out, sizeof out);
    CHECK_STR(out, "mysql://db/x@y");
    adm_config_redact_url("mysql://a:b:c@d@h/x", out, sizeof out);
    CHECK_STR(out, "mysql://a:***@h/x");
    adm_config_redact_url("/var/run/mysqld.sock", out, sizeof out);
    CHECK_STR(out, "/var/run/mysqld.sock");
}

static void test_to_http(void)
{
    adm_http_server_config_t h;

    CHECK_ERR(load(noenv, "--port", "0", "--threads", "3", "--max-body-bytes", "5000",
                   "--shutdown-timeout", "2", "--access-log", "no", END),
              ADM_OK);
    adm_config_to_http(&cfg, &h);
    CHECK_STR(h.listen_addr, "127.0.0.1");
    CHECK_INT(h.port, 0);
    CHECK_INT(h.threads, 3);
    CHECK_INT(h.max_body_bytes, 5000);
    CHECK_INT(h.shutdown_timeout_ms, 2000);
    CHECK(!h.access_log);
    CHECK(h.metrics == NULL);
}

int main(void)
{
    tmp = strdup(adm_test_tmpdir());
    if (tmp == NULL)
        return 1;
    ADM_RUN(test_defaults);
    ADM_RUN(test_file_parsing);
    ADM_RUN(test_precedence);
    ADM_RUN(test_replicas);
    ADM_RUN(test_file_errors);
    ADM_RUN(test_env_and_flag_errors);
    ADM_RUN(test_actions);
    ADM_RUN(test_check_config_output);
    ADM_RUN(test_usage_and_redact);
    ADM_RUN(test_to_http);
    free((void *)tmp);
    return adm_test_done();
}
