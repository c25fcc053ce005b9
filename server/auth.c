/* auth.c: admitd's authentication: Argon2id password hashes, bearer-token
 * sessions (only the token's BLAKE2b hash is stored) and the role check run
 * at the top of protected handlers. Not for the account routes themselves
 * (route-accounts.c). */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "server/app.h"

#define BEARER_CHALLENGE "Bearer realm=\"admit\""
#define BEARER_INVALID "Bearer realm=\"admit\", error=\"invalid_token\""

adm_err_t adm_auth_hash_password(const char *password, char *out, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (password == NULL || out == NULL || cap < crypto_pwhash_STRBYTES)
        goto out;
    if (sodium_init() < 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        out[0] = '\0';
        result = ADM_ERR_NOMEM; /* libsodium fails here only when it cannot allocate */
        goto out;
    }
    result = ADM_OK;
out:
    return result;
}

adm_err_t adm_auth_check_password(const char *hash, const char *password)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (hash == NULL || password == NULL)
        goto out;
    if (sodium_init() < 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) == 0)
        result = ADM_OK;
out:
    return result;
}

/* BLAKE2b-256 of the token text: what the store keeps instead of the token. */
static void token_hash(const char *token, size_t len, uint8_t hash[ADM_STORE_SESSION_HASH_BYTES])
{
    crypto_generichash(hash, ADM_STORE_SESSION_HASH_BYTES, (const unsigned char *)token, len, NULL,
                       0);
}

adm_err_t adm_auth_session_create(adm_app_t *app, int64_t user_id, int64_t ttl_s, char *token,
                                  size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    uint8_t raw[ADM_AUTH_TOKEN_BYTES], hash[ADM_STORE_SESSION_HASH_BYTES];
    int64_t now;

    if (token != NULL && cap > 0)
        token[0] = '\0';
    if (app == NULL || app->store == NULL || user_id <= 0 || ttl_s <= 0 || token == NULL ||
        cap < ADM_AUTH_TOKEN_MAX)
        goto out;
    if (sodium_init() < 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    now = adm_app_now(app);
    if (ttl_s > INT64_MAX - now)
        goto out;
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    token_hash(token, strlen(token), hash);
    result = adm_store_session_create(app->store, hash, user_id, now, now + ttl_s);
    if (result != ADM_OK)
        sodium_memzero(token, cap);
out:
    sodium_memzero(raw, sizeof raw);
    return result;
}

/* The bearer token of req (not NUL-terminated: *len bytes, owned by the
 * request), or NULL when the request has no Authorization header.
 * *malformed is set when a header is present but is not "Bearer
 * <base64url>" of a plausible length. */
static const char *bearer_token(adm_http_req_t *req, size_t *len, bool *malformed)
{
    const char *h = adm_http_header(req, "Authorization");
    size_t n;

    *malformed = false;
    *len = 0;
    if (h == NULL)
        return NULL;
    *malformed = true;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    n = strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    if (n == 0 || n >= ADM_AUTH_TOKEN_MAX || h[n + strspn(h + n, " ")] != '\0')
        return NULL;
    *malformed = false;
    *len = n;
    return h;
}

static void reply_unauthorized(adm_http_req_t *req, const char *challenge, const char *msg)
{
    (void)adm_http_set_header(req, "WWW-Authenticate", challenge);
    adm_http_reply_error(req, 401, "unauthorized", "%s", msg);
}

/* Resolves the request's token into *out; replies itself on failure. */
static bool authenticate(adm_http_req_t *req, adm_app_t *app, const char *token, size_t len,
                         bool malformed, adm_principal_t *out)
{
    uint8_t hash[ADM_STORE_SESSION_HASH_BYTES];
    adm_session_t s;
    adm_err_t rc;

    if (malformed) {
        reply_unauthorized(req, BEARER_INVALID,
                           "the Authorization header must be \"Bearer <token>\"");
        return false;
    }
    if (token == NULL) {
        reply_unauthorized(
            req, BEARER_CHALLENGE,
            "sign in: send \"Authorization: Bearer <token>\" from POST /v1/sessions");
        return false;
    }
    token_hash(token, len, hash);
    rc = adm_store_session_lookup(app->store, hash, adm_app_now(app), &s);
    if (rc == ADM_ERR_NOT_FOUND || rc == ADM_ERR_EXPIRED) {
        reply_unauthorized(req, BEARER_INVALID,
                           rc == ADM_ERR_EXPIRED ? "the session has expired; sign in again"
                                                 : "the token is not valid; sign in again");
        return false;
    }
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return false;
    }
    out->user_id = s.user_id;
    out->role = s.role;
    return true;
}

bool adm_auth_require(adm_http_req_t *req, adm_app_t *app, adm_role_t min_role,
                      adm_principal_t *out)
{
    bool malformed;
    size_t len;
    const char *token = bearer_token(req, &len, &malformed);
    adm_principal_t p = {0, ADM_ROLE_CUSTOMER};

    memset(out, 0, sizeof *out);
    if (!authenticate(req, app, token, len, malformed, &p))
        return false;
    if (p.role < min_role) {
        adm_http_reply_error(req, 403, "forbidden", "this needs the %s role",
                             adm_role_name(min_role));
        return false;
    }
    *out = p;
    return true;
}

bool adm_auth_optional(adm_http_req_t *req, adm_app_t *app, adm_principal_t *out)
{
    memset(out, 0, sizeof *out);
    out->role = ADM_ROLE_CUSTOMER;
    if (adm_http_header(req, "Authorization") == NULL)
        return true;
    return adm_auth_require(req, app, ADM_ROLE_CUSTOMER, out);
}

adm_err_t adm_auth_logout(adm_http_req_t *req, adm_app_t *app)
{
    adm_err_t result = ADM_ERR_NOT_FOUND;
    uint8_t hash[ADM_STORE_SESSION_HASH_BYTES];
    bool malformed;
    size_t len;
    const char *token = bearer_token(req, &len, &malformed);

    if (token == NULL)
        goto out;
    token_hash(token, len, hash);
    result = adm_store_session_delete(app->store, hash);
out:
    return result;
}
