/* main.c: admitd, the booking server (or, in edge mode, a venue relay):
 * loads the configuration, opens the store, serves the /v1 API over HTTP
 * with a housekeeping thread (and the edge's upstream threads) until
 * SIGTERM or SIGINT, then stops gracefully.
 * Not a place for logic: everything lives in the server library. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/config.h"
#include "server/edge.h"
#include "server/http.h"
#include "server/issuer.h"
#include "server/metrics.h"
#include "server/payment.h"
#include "server/store.h"

enum { EXIT_STARTUP = 1, EXIT_CONFIG = 2 };

static bool store_ready(void *ctx)
{
    return adm_store_ping(ctx) == ADM_OK;
}

/* "sqlite admit.db" / "mysql mysql://app:***@db1/admit (+2 replicas)" */
static void describe_store(const adm_config_t *cfg, char *out, size_t outlen)
{
    char url[ADM_CONFIG_URL_MAX];

    if (cfg->backend == ADM_STORE_SQLITE) {
        snprintf(out, outlen, "sqlite %s", cfg->sqlite_path);
        return;
    }
    adm_config_redact_url(cfg->mysql_primary, url, sizeof url);
    if (cfg->n_replicas > 0)
        snprintf(out, outlen, "mysql %s (+%zu replicas)", url, cfg->n_replicas);
    else
        snprintf(out, outlen, "mysql %s", url);
}

int main(int argc, char **argv)
{
    int result = EXIT_SUCCESS;
    adm_config_t *cfg = NULL;
    adm_store_config_t store_cfg;
    adm_http_server_config_t http_cfg;
    adm_store_t *store = NULL;
    adm_metrics_t *metrics = NULL;
    adm_http_server_t *srv = NULL;
    struct adm_issuer *issuer = NULL;
    struct adm_payments *payments = NULL;
    adm_reaper_t *reaper = NULL;
    adm_edge_t *edge = NULL;
    adm_app_t app;
    char err[ADM_CONFIG_ERR_MAX], where[ADM_CONFIG_PATH_MAX + 64];
    sigset_t sigs;
    adm_err_t rc;
    int sig = 0;

    cfg = malloc(sizeof *cfg); /* ~30 KiB of bounded strings */
    if (cfg == NULL) {
        fprintf(stderr, "admitd: out of memory\n");
        result = EXIT_STARTUP;
        goto out;
    }
    rc = adm_config_load(argc, argv, NULL, cfg, err, sizeof err);
    if (rc != ADM_OK) {
        fprintf(stderr, "admitd: %s\n", err);
        result = EXIT_CONFIG;
        goto out;
    }
    switch (cfg->action) {
    case ADM_CONFIG_HELP:
        adm_config_usage(stdout);
        goto out;
    case ADM_CONFIG_VERSION:
        printf("admitd %s\n", ADM_VERSION);
        goto out;
    case ADM_CONFIG_CHECK:
        if (adm_config_write_ini(cfg, stdout) != ADM_OK)
            result = EXIT_STARTUP;
        goto out;
    case ADM_CONFIG_RUN:
        break;
    }
    /* Block the stop signals in every thread (libmicrohttpd's inherit the
     * mask); this thread collects them with sigwait(). */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
        fprintf(stderr, "admitd: cannot block signals\n");
        result = EXIT_STARTUP;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    adm_log_setup(cfg->log_format, cfg->log_level, 2);

    describe_store(cfg, where, sizeof where);
    adm_config_to_store(cfg, &store_cfg);
    rc = adm_store_open(&store_cfg, &store);
    if (rc != ADM_OK) {
        fprintf(stderr, "admitd: cannot open store %s: %s\n", where, adm_strerror(rc));
        result = EXIT_STARTUP;
        goto out;
    }
    rc = adm_issuer_new(store, &issuer);
    if (rc == ADM_OK)
        rc = adm_payments_new(&payments);
    if (rc == ADM_OK) /* bank transfers wait this long for an organiser's confirmation */
        rc = adm_payments_set_pending_ttl(payments, "manual", cfg->manual_payment_window_s);
    if (rc != ADM_OK) {
        fprintf(stderr, "admitd: cannot set up ticket issuing and payments: %s\n",
                adm_strerror(rc));
        result = EXIT_STARTUP;
        goto out;
    }
    rc = adm_metrics_new(&metrics);
    if (rc == ADM_OK)
        rc = adm_store_set_metrics(store, metrics);
    app = (adm_app_t){.store = store,
                      .cfg = cfg,
                      .issuer = issuer,
                      .payments = payments,
                      .metrics = metrics,
                      .session_ttl_s = cfg->session_ttl_s};
    if (rc == ADM_OK) {
        adm_config_to_http(cfg, &http_cfg);
        http_cfg.metrics = metrics;
        rc = adm_http_server_new(&http_cfg, &srv);
    }
    if (rc == ADM_OK)
        rc = adm_http_add_builtin_routes(srv, store_ready, store);
    if (rc == ADM_OK)
        rc = adm_app_routes(&app, srv);
    if (rc != ADM_OK) {
        fprintf(stderr, "admitd: cannot set up the HTTP server: %s\n", adm_strerror(rc));
        result = EXIT_STARTUP;
        goto out;
    }
    /* expired holds, orders, sessions and idempotency keys; unsigned tickets */
    rc = adm_reaper_start(&app, cfg->reaper_interval_s, &reaper);
    if (rc != ADM_OK) {
        fprintf(stderr, "admitd: cannot start the housekeeping thread: %s\n", adm_strerror(rc));
        result = EXIT_STARTUP;
        goto out;
    }
    rc = adm_http_server_start(srv, err, sizeof err);
    if (rc != ADM_OK) {
        fprintf(stderr, "admitd: %s\n", err);
        result = EXIT_STARTUP;
        goto out;
    }
    if (cfg->mode == ADM_MODE_EDGE) {
        /* the venue relay: enroll once, then follow upstream in two threads */
        rc = adm_edge_start(&app, srv, &edge, err, sizeof err);
        if (rc != ADM_OK) {
            fprintf(stderr, "admitd: edge relay: %s\n", err[0] ? err : adm_strerror(rc));
            result = rc == ADM_ERR_CONFIG ? EXIT_CONFIG : EXIT_STARTUP;
            goto out;
        }
    }
    printf("admitd%s listening on %s%s%s:%u (store %s)\n",
           cfg->mode == ADM_MODE_EDGE ? " (edge relay)" : "", strchr(cfg->listen, ':') ? "[" : "",
           cfg->listen, strchr(cfg->listen, ':') ? "]" : "", (unsigned)adm_http_server_port(srv),
           where);
    fflush(stdout);

    while (sigwait(&sigs, &sig) != 0)
        ;
    adm_log(ADM_LOG_INFO, "received %s, stopping (up to %d s for requests in flight)",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg->shutdown_timeout_s);
    adm_edge_stop(edge); /* no upstream data arrives after this */
    edge = NULL;
    rc = adm_http_server_stop(srv);
    if (rc != ADM_OK)
        adm_log(ADM_LOG_WARN, "%s", adm_strerror(rc));
    adm_log(ADM_LOG_INFO, "stopped");
out:
    adm_edge_stop(edge);
    adm_http_server_free(srv); /* no handler runs after this */
    adm_reaper_stop(reaper);
    adm_payments_free(payments);
    adm_issuer_free(issuer);
    adm_store_close(store);
    adm_metrics_free(metrics);
    free(cfg);
    return result;
}
