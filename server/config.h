/* config.h: admitd's configuration: built-in defaults, an INI file, ADMIT_*
 * environment variables and command-line flags, in that order of
 * precedence (docs/configuration.md lists every setting). Not for run-time
 * state: the loaded adm_config_t is a plain value, read-only afterwards. */
#ifndef ADM_CONFIG_H
#define ADM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "server/http.h"
#include "server/store.h"
#include "sync/err.h"

#ifndef ADM_VERSION
#define ADM_VERSION "0.1.0" /* meson passes project() version; this is a fallback */
#endif

#define ADM_CONFIG_ADDR_MAX 256        /* listen address, including the NUL */
#define ADM_CONFIG_URL_MAX 1024        /* URLs, including the NUL */
#define ADM_CONFIG_PATH_MAX 4096       /* file and directory paths, including the NUL */
#define ADM_CONFIG_FILE_MAX (1u << 20) /* configuration file size limit */
#define ADM_CONFIG_LINE_MAX 8192       /* one line of the configuration file */
#define ADM_CONFIG_ERR_MAX 512         /* a useful size for the errbuf argument */

typedef enum adm_config_mode {
    ADM_MODE_CENTRAL = 0, /* the authoritative booking server */
    ADM_MODE_EDGE = 1,    /* a venue server that syncs with an upstream central */
} adm_config_mode_t;

/* What the command line asked for besides running. */
typedef enum adm_config_action {
    ADM_CONFIG_RUN = 0,
    ADM_CONFIG_HELP = 1,    /* --help: print adm_config_usage() */
    ADM_CONFIG_VERSION = 2, /* --version */
    ADM_CONFIG_CHECK = 3,   /* --check-config: print adm_config_write_ini() */
} adm_config_action_t;

typedef struct adm_config {
    /* [server] */
    char listen[ADM_CONFIG_ADDR_MAX];
    int port;    /* 0..65535; 0 = any free port */
    int threads; /* HTTP pool threads */
    int max_connections;
    int connection_timeout_s; /* idle keep-alive connections close after this */
    long long max_body_bytes;
    int shutdown_timeout_s; /* graceful stop waits this long for requests */
    adm_config_mode_t mode;
    char upstream[ADM_CONFIG_URL_MAX]; /* edge mode: the central server's URL */
    char upstream_token[ADM_CONFIG_URL_MAX]; /* edge: enrollment token for the first start */
    char upstream_ca[ADM_CONFIG_PATH_MAX];   /* edge: PEM bundle to trust; "" = system */
    char upstream_pin[ADM_CONFIG_URL_MAX];   /* edge: "sha256//<base64>" pin; "" = none */
    char public_url[ADM_CONFIG_URL_MAX];     /* base URL devices reach this server at;
                                              * "" = http://<listen>:<port> */
    char trusted_proxies[ADM_CONFIG_URL_MAX]; /* comma-separated reverse proxy addresses
                                               * whose X-Forwarded-For is believed */
    /* [store] */
    adm_store_backend_t backend;
    int pool_size; /* 0 = the backend's default */
    /* [sqlite] */
    char sqlite_path[ADM_CONFIG_PATH_MAX];
    /* [mysql] */
    char mysql_primary[ADM_CONFIG_URL_MAX];
    char mysql_replicas[ADM_STORE_MAX_REPLICAS][ADM_CONFIG_URL_MAX];
    size_t n_replicas;
    int replica_max_lag_s;
    /* [accounts] */
    int session_ttl_s; /* lifetime of a login session */
    /* [booking] */
    int hold_ttl_s;
    int manual_payment_window_s; /* how long a bank-transfer order waits for confirmation */
    int reaper_interval_s;
    /* [log] */
    adm_log_format_t log_format;
    adm_log_level_t log_level;
    bool access_log;

    /* where the values came from, and what the command line asked for */
    char config_file[ADM_CONFIG_PATH_MAX]; /* "" when no file was read */
    adm_config_action_t action;
} adm_config_t;

/* Fills cfg with the built-in defaults (threads = online CPUs, at least 2). */
void adm_config_defaults(adm_config_t *cfg);

/* Loads the configuration into *cfg: defaults, then the INI file named by
 * --config FILE or ADMIT_CONFIG, then ADMIT_<SECTION>_<KEY> variables from
 * envp (NULL = the process environment), then flags from argv[1..argc-1].
 * --help and --version stop early (cfg->action says which; nothing is
 * read). Returns ADM_ERR_CONFIG for an unreadable file, an unknown section,
 * key, variable or flag, a malformed or out-of-range value, or an
 * inconsistent combination (mysql without a primary, edge without an
 * upstream), with a message in errbuf naming "file:line", the variable or
 * the flag. A variable is only checked when its prefix names a known
 * section (ADMIT_SERVER_*, ADMIT_STORE_*, ...), so other ADMIT_* variables
 * may exist. */
adm_err_t adm_config_load(int argc, char **argv, char **envp, adm_config_t *cfg, char *errbuf,
                          size_t errlen);

/* Loads only an INI file over the current contents of cfg (what
 * adm_config_load does for --config). Same errors. */
adm_err_t adm_config_load_file(adm_config_t *cfg, const char *path, char *errbuf, size_t errlen);

/* Points out at cfg's store settings. The strings are borrowed from cfg,
 * which must outlive the use of out (adm_store_open copies what it keeps). */
void adm_config_to_store(const adm_config_t *cfg, adm_store_config_t *out);

/* Fills an HTTP server configuration from cfg; strings borrowed from cfg. */
void adm_config_to_http(const adm_config_t *cfg, adm_http_server_config_t *out);

/* Writes the effective configuration as an INI file that adm_config_load
 * reads back to the same values, except that passwords in URLs are
 * replaced by "***". ADM_ERR_IO when writing fails. */
adm_err_t adm_config_write_ini(const adm_config_t *cfg, FILE *f);

/* Writes --help text (every flag, its variable and default) to f. */
void adm_config_usage(FILE *f);

/* Copies url to out (outlen bytes) with the password, if any, replaced by
 * "***" ("mysql://app:***@db1:3306/admit"), for logs and messages. */
void adm_config_redact_url(const char *url, char *out, size_t outlen);

#endif
