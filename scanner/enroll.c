/* enroll.c: a gate's whole enrollment, from the admit-enroll URI to the
 * first sync (scanner/enroll.h), with the sentences the CLI and the UI show.
 * Not reading the code from an image or a camera: the callers do that. */
#include "scanner/enroll.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The code traded for credentials: enrollment errors mapped to enroll.h's. */
static adm_err_t trade(adm_sync_client_t *c, const char *token, const char *name,
                       adm_enrolled_t *en, char *why, size_t cap)
{
    adm_err_t result = adm_sync_enroll(c, token, name, en);
    long status = adm_sync_client_status(c);
    const char *detail = adm_sync_client_error(c);
    const char *fatal;

    if (result == ADM_ERR_HTTP_STATUS && status == 410) {
        result = ADM_ERR_EXPIRED;
        (void)adm_err_detail(
            ADM_OK, why, cap,
            "This enrollment code was already used or has expired: ask the organiser for a new "
            "one (%s).",
            detail);
    } else if (result == ADM_ERR_HTTP_STATUS && status == 404) {
        result = ADM_ERR_NOT_FOUND;
        (void)adm_err_detail(ADM_OK, why, cap,
                             "The server does not know this enrollment code (%s).", detail);
    } else if (result != ADM_OK) {
        if (result == ADM_ERR_FORMAT || result == ADM_ERR_TOO_BIG)
            result = ADM_ERR_HTTP_STATUS; /* the server's fault, not the code's */
        fatal = adm_syncer_fatal_message(result);
        (void)adm_err_detail(ADM_OK, why, cap, "Enrollment failed: %s%s%s.",
                             fatal != NULL ? fatal : adm_strerror(result), detail[0] ? ": " : "",
                             detail);
    } else if (en->relay) {
        result = ADM_ERR_STATE;
        (void)adm_err_detail(
            ADM_OK, why, cap,
            "This enrollment code is for an edge relay (admitd --mode edge), not a gate.");
    }
    return result;
}

adm_err_t adm_gate_enroll(adm_gate_t *g, const char *uri, const adm_gate_enroll_opts_t *opts,
                          adm_gate_enroll_result_t *out, char *why, size_t cap)
{
    static const adm_gate_enroll_opts_t none = {0};
    char base[ADM_SYNC_URL_MAX + 1], token[ADM_SYNC_TOKEN_MAX + 1];
    adm_gate_sync_conf_t conf;
    adm_enrolled_t en;
    adm_syncer_round_t round = {0};
    adm_sync_opts_t so = {0};
    adm_sync_client_t *client = NULL;
    const char *fatal, *detail;
    adm_err_t result;

    memset(&conf, 0, sizeof conf);
    memset(&en, 0, sizeof en);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    (void)adm_err_detail(ADM_OK, why, cap, "%s", "");
    if (opts == NULL)
        opts = &none;
    if (g == NULL || uri == NULL) {
        result = ADM_ERR_INVALID_ARG;
        (void)adm_err_detail(ADM_OK, why, cap, "Enrollment failed: %s.", adm_strerror(result));
        goto out;
    }
    /* 1. the code (never echoed: the token is a credential) */
    if (adm_enroll_uri_parse(uri, base, sizeof base, token, sizeof token) != ADM_OK) {
        result = ADM_ERR_FORMAT;
        (void)adm_err_detail(
            ADM_OK, why, cap,
            "This is not an enrollment code: expected admit-enroll:<server URL>#<token>, as "
            "printed by 'admitctl enroll create'.");
        goto out;
    }
    if (strncmp(base, "http://", 7) == 0 && !opts->allow_http) {
        result = ADM_ERR_INVALID_ARG;
        (void)adm_err_detail(
            ADM_OK, why, cap,
            "The server URL %s is plain http: allow an unencrypted link with --insecure-http "
            "(tests, a venue LAN without TLS).",
            base);
        goto out;
    }
    if ((opts->ca_file != NULL && strlen(opts->ca_file) > ADM_GATE_PATH_MAX) ||
        (opts->pin != NULL && strlen(opts->pin) > ADM_SYNC_PIN_MAX)) {
        result = ADM_ERR_TOO_BIG;
        (void)adm_err_detail(ADM_OK, why, cap,
                             "The CA file path or the pin is too long (at most %d and %d bytes).",
                             ADM_GATE_PATH_MAX, ADM_SYNC_PIN_MAX);
        goto out;
    }
    /* 2. trade it for credentials */
    so.base_url = base;
    so.ca_file = opts->ca_file;
    so.pin = opts->pin;
    so.allow_http = opts->allow_http;
    if ((result = adm_sync_client_new(&so, &client)) != ADM_OK) {
        (void)adm_err_detail(ADM_OK, why, cap, "Cannot use the server URL %s: %s.", base,
                             adm_strerror(result));
        goto out;
    }
    if ((result = trade(client, token, opts->name, &en, why, cap)) != ADM_OK)
        goto out;
    /* 3. keep them */
    snprintf(conf.server, sizeof conf.server, "%s", base);
    snprintf(conf.device_id, sizeof conf.device_id, "%s", en.device_id);
    snprintf(conf.secret, sizeof conf.secret, "%s", en.secret);
    conf.event_id = en.event_id;
    snprintf(conf.gate, sizeof conf.gate, "%s", en.gate);
    snprintf(conf.ca_file, sizeof conf.ca_file, "%s", opts->ca_file ? opts->ca_file : "");
    snprintf(conf.pin, sizeof conf.pin, "%s", opts->pin ? opts->pin : "");
    conf.allow_http = opts->allow_http;
    if ((result = adm_gate_sync_enroll_store(g, &conf)) != ADM_OK) {
        if (result == ADM_ERR_CONFLICT)
            (void)adm_err_detail(
                ADM_OK, why, cap,
                "This gate store holds scans of event %u and the code is for event %lld: use a "
                "new gate store (--db) for the new event.",
                adm_gate_event_id(g), (long long)en.event_id);
        else
            (void)adm_err_detail(ADM_OK, why, cap, "Cannot store the enrollment: %s.",
                                 adm_strerror(result));
        goto out;
    }
    if (out != NULL) {
        snprintf(out->server, sizeof out->server, "%s", base);
        snprintf(out->device_id, sizeof out->device_id, "%s", en.device_id);
        out->event_id = en.event_id;
        snprintf(out->gate, sizeof out->gate, "%s", en.gate);
    }
    /* 4. the first full sync: its failure is reported, not returned */
    if ((result = adm_syncer_round(g, client, &round)) != ADM_OK) {
        fatal = adm_syncer_fatal_message(result);
        detail = adm_sync_client_error(client);
        (void)adm_err_detail(
            ADM_OK, why, cap,
            "Enrolled as %s for event %lld at gate %s, but the first sync failed: %s%s%s.",
            en.device_id, (long long)en.event_id, en.gate,
            fatal != NULL ? fatal : adm_strerror(result), detail[0] ? ": " : "", detail);
    } else {
        (void)adm_err_detail(ADM_OK, why, cap, "Enrolled as %s for event %lld at gate %s.",
                             en.device_id, (long long)en.event_id, en.gate);
    }
    if (out != NULL) {
        out->round = round;
        out->sync_err = result;
    }
    result = ADM_OK;
out:
    sodium_memzero(token, sizeof token);
    sodium_memzero(&en, sizeof en);
    adm_gate_sync_conf_wipe(&conf);
    adm_sync_client_free(client); /* it holds the secret too */
    return result;
}
