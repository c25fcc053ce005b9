/* err.c: messages and stable names for adm_err_t.
 * Messages say what went wrong and, where it helps, what to do. */
#include "sync/err.h"

#include <stdarg.h>
#include <stdio.h>

#include <stddef.h>

static const struct {
    const char *name;
    const char *msg;
} table[ADM_ERR__MAX] = {
    [ADM_OK] = {"ok", "success"},
    [ADM_ERR_NOMEM] = {"no_memory", "out of memory"},
    [ADM_ERR_INVALID_ARG] = {"invalid_argument", "invalid argument"},
    [ADM_ERR_IO] = {"io_error", "file could not be read or written"},
    [ADM_ERR_TOO_BIG] = {"too_big", "input exceeds the allowed size"},
    [ADM_ERR_CRYPTO] = {"crypto_error", "cryptography library failure"},
    [ADM_ERR_NOT_FOUND] = {"not_found", "not found"},
    [ADM_ERR_EXISTS] = {"exists", "already exists"},
    [ADM_ERR_FORMAT] = {"bad_format", "document is not in the expected format"},
    [ADM_ERR_TOKEN_PREFIX] = {"bad_prefix", "not an admit ticket (wrong prefix)"},
    [ADM_ERR_TOKEN_BASE45] = {"bad_base45", "ticket text is corrupted (invalid Base45)"},
    [ADM_ERR_TOKEN_LENGTH] = {"bad_length", "ticket is truncated or has a wrong length"},
    [ADM_ERR_TOKEN_VERSION] = {"unknown_version", "ticket format version is not supported"},
    [ADM_ERR_TOKEN_KEY] = {"unknown_key",
                           "ticket signed by a key this device does not know; sync keys"},
    [ADM_ERR_TOKEN_SIGNATURE] = {"bad_signature",
                                 "ticket signature is invalid (forged or altered)"},
    [ADM_ERR_TOKEN_TRAILING] = {"trailing_bytes",
                                "ticket has unexpected bytes after the signature"},
    [ADM_ERR_TOKEN_OVERSIZE] = {"oversize", "scanned text is too long to be a ticket"},
    [ADM_ERR_TOKEN_FIELD] = {"bad_field", "ticket holds a field value the format forbids"},
    [ADM_ERR_TOKEN_KEY_RETIRED] = {"retired_key", "ticket signed by a retired key"},
    [ADM_ERR_QR_ENCODE] = {"qr_encode", "text could not be encoded as a QR code"},
    [ADM_ERR_QR_NOT_FOUND] = {"qr_not_found", "no QR code found in the image"},
    [ADM_ERR_IMAGE] = {"bad_image", "image cannot be read (unsupported or corrupt file)"},
    [ADM_ERR_CONFIG] = {"bad_config", "invalid configuration"},
    [ADM_ERR_STORE] = {"store_error", "database error"},
    [ADM_ERR_STORE_UNAVAILABLE] = {"store_unavailable", "database unavailable; retry later"},
    [ADM_ERR_CONFLICT] = {"conflict", "conflicting change; retry"},
    [ADM_ERR_SOLD_OUT] = {"sold_out", "not enough tickets left"},
    [ADM_ERR_LIMIT] = {"limit_exceeded", "ticket limit per order or per customer exceeded"},
    [ADM_ERR_EXPIRED] = {"expired", "expired"},
    [ADM_ERR_STATE] = {"invalid_state", "not allowed in the current state"},
    [ADM_ERR_SALE_CLOSED] = {"sale_closed",
                             "tickets of this type are not on sale now; check the sale dates"},
    [ADM_ERR_LISTEN] = {"listen_failed", "cannot listen on the configured address"},
    [ADM_ERR_HTTP_SHUTDOWN_TIMEOUT] =
        {"shutdown_timeout",
         "requests were still running at the shutdown deadline; raise server.shutdown_timeout_s"},
    [ADM_ERR_NETWORK] = {"network", "the server cannot be reached, or the connection broke"},
    [ADM_ERR_TLS] = {"tls", "TLS failed: untrusted certificate, wrong name or pin mismatch"},
    [ADM_ERR_HTTP_STATUS] = {"http_status", "the server answered with an error status"},
    [ADM_ERR_UNAUTHORIZED] = {"unauthorized", "the server refused the credentials"},
    [ADM_ERR_REVOKED] = {"device_revoked", "this device has been revoked"},
};

const char *adm_strerror(adm_err_t err)
{
    const char *result = "unknown error";

    if ((unsigned)err < ADM_ERR__MAX && table[err].msg != NULL)
        result = table[err].msg;
    return result;
}

const char *adm_err_name(adm_err_t err)
{
    const char *result = "unknown_error";

    if ((unsigned)err < ADM_ERR__MAX && table[err].name != NULL)
        result = table[err].name;
    return result;
}

adm_err_t adm_err_detail(adm_err_t err, char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (buf != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(buf, cap, fmt, ap);
        va_end(ap);
    }
    return err;
}
