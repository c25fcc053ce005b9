/* idem.c: Idempotency-Key handling for admitd's POSTs: reserve the key in the
 * store, replay a stored response byte for byte, refuse a different body or
 * a request still in progress. Not for deciding what a handler does: it only
 * records the reply the handler chose (contract in app.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/app.h"

struct adm_idem_ctx {
    char scope[ADM_STORE_IDEM_SCOPE_MAX + 1];
    char key[ADM_STORE_IDEM_KEY_MAX + 1];
};

/* What a replay returns when the original response was too big to keep. */
static const char body_too_big[] =
    "{\"error\":\"response_not_stored\",\"message\":\"the original response was too large to "
    "keep for Idempotency-Key replays; fetch the resource instead\"}";

static const char body_internal[] = "{\"error\":\"internal\",\"message\":\"internal error\"}";

void adm_idem_fingerprint(const char *method, const char *path, const void *body, size_t len,
                          char out[ADM_IDEM_FINGERPRINT_HEX + 1])
{
    crypto_generichash_state st;
    uint8_t body_hash[32], fp[32];

    crypto_generichash(body_hash, sizeof body_hash, body, body != NULL ? len : 0, NULL, 0);
    crypto_generichash_init(&st, NULL, 0, sizeof fp);
    crypto_generichash_update(&st, (const unsigned char *)method, strlen(method) + 1);
    crypto_generichash_update(&st, (const unsigned char *)path, strlen(path) + 1);
    crypto_generichash_update(&st, body_hash, sizeof body_hash);
    crypto_generichash_final(&st, fp, sizeof fp);
    sodium_bin2hex(out, ADM_IDEM_FINGERPRINT_HEX + 1, fp, sizeof fp);
}

/* 1..ADM_STORE_IDEM_KEY_MAX printable ASCII characters without spaces. */
static bool key_ok(const char *key)
{
    size_t n = 0;

    for (; key[n] != '\0'; n++)
        if (n >= ADM_STORE_IDEM_KEY_MAX || key[n] < 0x21 || key[n] > 0x7e)
            return false;
    return n > 0;
}

bool adm_idem_begin(adm_http_req_t *req, adm_app_t *app, const adm_principal_t *who,
                    adm_idem_ctx_t **out)
{
    bool result = false;
    const char *key = adm_http_header(req, ADM_IDEM_HEADER);
    char fp[ADM_IDEM_FINGERPRINT_HEX + 1];
    adm_idem_ctx_t *ctx;
    adm_idem_t rec = {0};
    const char *body;
    size_t len;
    int64_t now = adm_app_now(app);
    adm_err_t rc = ADM_OK;
    int attempt;

    *out = NULL;
    if (key == NULL) {
        result = true;
        goto out;
    }
    if (!key_ok(key)) {
        adm_http_reply_error(req, 400, "bad_idempotency_key",
                             ADM_IDEM_HEADER " must be 1..%d printable ASCII characters without "
                                             "spaces (a UUID is a good choice)",
                             ADM_STORE_IDEM_KEY_MAX);
        goto out;
    }
    ctx = adm_arena_alloc(adm_http_arena(req), sizeof *ctx);
    if (ctx == NULL) {
        adm_app_reply_err(req, ADM_ERR_NOMEM);
        goto out;
    }
    if (who != NULL && who->user_id > 0)
        snprintf(ctx->scope, sizeof ctx->scope, "u:%lld", (long long)who->user_id);
    else
        snprintf(ctx->scope, sizeof ctx->scope, "ip:%s", adm_http_client_ip(req));
    snprintf(ctx->key, sizeof ctx->key, "%s", key);
    body = adm_http_body(req, &len);
    adm_idem_fingerprint(adm_http_method(req), adm_http_path(req), body, len, fp);

    /* A record can expire between put and get; then the second put wins. */
    for (attempt = 0; attempt < 2; attempt++) {
        rc = adm_store_idem_put(app->store, ctx->scope, ctx->key, fp, 0, NULL, 0, now);
        if (rc == ADM_OK) {
            *out = ctx;
            result = true;
            goto out;
        }
        if (rc != ADM_ERR_EXISTS)
            break;
        rc = adm_store_idem_get(app->store, ctx->scope, ctx->key, now, &rec);
        if (rc != ADM_ERR_NOT_FOUND)
            break;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc == ADM_ERR_NOT_FOUND ? ADM_ERR_CONFLICT : rc);
        goto out;
    }
    if (strcmp(rec.fingerprint, fp) != 0) {
        adm_http_reply_error(req, 422, "idempotency_mismatch",
                             ADM_IDEM_HEADER " was already used for a different request; use a "
                                             "new key for a new request");
    } else if (rec.status == 0) {
        (void)adm_http_set_header(req, "Retry-After", "1");
        adm_http_reply_error(req, 409, "idempotency_in_progress",
                             "a request with this " ADM_IDEM_HEADER
                             " is still being processed; retry shortly");
    } else {
        (void)adm_http_set_header(req, "Idempotent-Replayed", "true");
        adm_http_reply_bytes(req, (unsigned)rec.status, "application/json", rec.body, rec.body_len,
                             ADM_HTTP_TAKE);
        rec.body = NULL;
    }
out:
    free(rec.body);
    return result;
}

/* Stores text (len bytes, malloc'ed; ownership taken) as the response of
 * idem and replies with it. */
static void store_and_reply(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem,
                            unsigned status, char *text, size_t len)
{
    adm_err_t rc;

    if (len <= ADM_STORE_IDEM_BODY_MAX)
        rc = adm_store_idem_complete(app->store, idem->scope, idem->key, (int)status, text, len,
                                     adm_app_now(app));
    else
        rc = adm_store_idem_complete(app->store, idem->scope, idem->key, (int)status, body_too_big,
                                     sizeof body_too_big - 1, adm_app_now(app));
    if (rc != ADM_OK)
        adm_log(ADM_LOG_WARN, "route %s: cannot store the response for an idempotency key: %s",
                adm_http_route_name(req), adm_strerror(rc));
    adm_http_reply_bytes(req, status, "application/json", text, len, ADM_HTTP_TAKE);
}

void adm_idem_reply_json(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, unsigned status,
                         json_t *body)
{
    char *text = NULL;

    if (idem == NULL) {
        adm_http_reply_json(req, status, body);
        return;
    }
    if (body != NULL)
        text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL) {
        adm_log(ADM_LOG_ERROR, "route %s: reply body missing or not serialisable",
                adm_http_route_name(req));
        status = 500;
        text = strdup(body_internal);
        if (text == NULL) { /* nothing stored: the key stays reserved until its TTL */
            adm_http_reply_bytes(req, 500, "application/json", body_internal,
                                 sizeof body_internal - 1, ADM_HTTP_STATIC);
            return;
        }
    }
    store_and_reply(req, app, idem, status, text, strlen(text));
}

/* A JSON string of s with bytes >= 0x80 replaced when s is not UTF-8. */
static json_t *safe_string(const char *s)
{
    char tmp[ADM_HTTP_ERROR_MESSAGE_MAX];
    json_t *j = json_string(s);
    size_t i;

    if (j != NULL)
        return j;
    snprintf(tmp, sizeof tmp, "%s", s);
    for (i = 0; tmp[i] != '\0'; i++)
        if ((unsigned char)tmp[i] >= 0x80)
            tmp[i] = '?';
    return json_string(tmp);
}

/* {"error":code,"message":msg}, or NULL when out of memory. */
static json_t *error_body(const char *code, const char *msg)
{
    json_t *body = json_object();

    if (body == NULL || json_object_set_new(body, "error", safe_string(code)) != 0 ||
        json_object_set_new(body, "message", safe_string(msg)) != 0) {
        json_decref(body);
        body = NULL;
    }
    return body;
}

void adm_idem_reply_error(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem,
                          unsigned status, const char *code, const char *fmt, ...)
{
    char msg[ADM_HTTP_ERROR_MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    adm_idem_reply_json(req, app, idem, status, error_body(code, msg));
}

void adm_idem_reply_err(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem, adm_err_t err)
{
    unsigned status = adm_app_status_for(err);

    if (idem == NULL) {
        adm_app_reply_err(req, err);
        return;
    }
    if (status == 503)
        (void)adm_http_set_header(req, "Retry-After", "1");
    if (status >= 500)
        adm_log(ADM_LOG_ERROR, "route %s: %s", adm_http_route_name(req), adm_strerror(err));
    if (status == 500)
        adm_idem_reply_error(req, app, idem, 500, "internal", "internal error; retry later");
    else
        adm_idem_reply_error(req, app, idem, status, adm_app_err_code(err), "%s",
                             adm_strerror(err));
}
