/* auth.c: admitd's authentication: Argon2id password hashes, bearer-token
 * sessions (only the token's BLAKE2b hash is stored), the role check run
 * at the top of protected handlers, and device credentials (enrollment
 * tokens, device secrets, docs/sync.md §1). Not for the account or sync
 * routes themselves (route-accounts.c, route-sync.c). */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "server/app.h"

#define BEARER_CHALLENGE "Bearer realm=\"admit\""
#define BEARER_INVALID "Bearer realm=\"admit\", error=\"invalid_token\""
#define DEVICE_ID_PREFIX "dv_"
#define ENROLL_ATTEMPTS 4 /* fresh random values tried on a (practically impossible) collision */

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

/* ---- devices ------------------------------------------------------------------- */

void adm_auth_secret_hash(const char *text, size_t len, uint8_t out[ADM_STORE_SECRET_HASH_BYTES])
{
    crypto_generichash(out, ADM_STORE_SECRET_HASH_BYTES, (const unsigned char *)text, len, NULL,
                       0);
}

/* 32 random bytes as base64url text into out (cap >= ADM_AUTH_TOKEN_MAX). */
static void random_secret(char *out, size_t cap)
{
    uint8_t raw[ADM_AUTH_TOKEN_BYTES];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

/* Base64url text of exactly ADM_AUTH_SECRET_TEXT_LEN characters. */
static bool secret_text_ok(const char *s, size_t n)
{
    return n == ADM_AUTH_SECRET_TEXT_LEN &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >= n;
}

adm_err_t adm_auth_enrollment_create(adm_store_t *st, const adm_enrollment_spec_t *spec,
                                     int64_t now, char *token, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    uint8_t hash[ADM_STORE_SECRET_HASH_BYTES];
    int attempt;

    if (token != NULL && cap > 0)
        token[0] = '\0';
    if (st == NULL || spec == NULL || token == NULL || cap < ADM_AUTH_TOKEN_MAX)
        goto out;
    if (sodium_init() < 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    for (attempt = 0; attempt < ENROLL_ATTEMPTS; attempt++) {
        random_secret(token, cap);
        adm_auth_secret_hash(token, strlen(token), hash);
        result = adm_store_enrollment_create(st, hash, spec, now);
        if (result != ADM_ERR_EXISTS)
            break;
    }
    if (result != ADM_OK)
        sodium_memzero(token, cap);
out:
    return result;
}

adm_err_t adm_auth_device_enroll(adm_store_t *st, const char *token, const char *name,
                                 int64_t now, adm_device_t *out, char *secret, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    uint8_t token_hash[ADM_STORE_SECRET_HASH_BYTES], secret_hash[ADM_STORE_SECRET_HASH_BYTES];
    uint8_t raw_id[8];
    char id[ADM_STORE_DEVICE_ID_LEN + 1];
    int attempt;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (secret != NULL && cap > 0)
        secret[0] = '\0';
    if (st == NULL || token == NULL || out == NULL || secret == NULL || cap < ADM_AUTH_TOKEN_MAX)
        goto out;
    if (sodium_init() < 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    if (!secret_text_ok(token, strlen(token))) {
        result = ADM_ERR_NOT_FOUND; /* no token of ours looks like that */
        goto out;
    }
    adm_auth_secret_hash(token, strlen(token), token_hash);
    for (attempt = 0; attempt < ENROLL_ATTEMPTS; attempt++) {
        randombytes_buf(raw_id, sizeof raw_id);
        memcpy(id, DEVICE_ID_PREFIX, 3);
        sodium_bin2hex(id + 3, sizeof id - 3, raw_id, sizeof raw_id);
        random_secret(secret, cap);
        adm_auth_secret_hash(secret, strlen(secret), secret_hash);
        result = adm_store_device_enroll(st, token_hash, id, secret_hash, name ? name : "", now,
                                         out);
        if (result != ADM_ERR_EXISTS)
            break;
    }
    if (result != ADM_OK)
        sodium_memzero(secret, cap);
out:
    sodium_memzero(secret_hash, sizeof secret_hash);
    return result;
}

/* Splits "Bearer dv_<16 hex>.<secret>": id (ADM_STORE_DEVICE_ID_LEN + 1
 * bytes) and *secret / *secret_len (pointing into the header). False when
 * the header is not of that form. */
static bool device_credential(const char *h, char *id, const char **secret, size_t *secret_len)
{
    size_t n;

    if (strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    if (strncmp(h, DEVICE_ID_PREFIX, 3) != 0 || strspn(h + 3, "0123456789abcdef") != 16 ||
        h[ADM_STORE_DEVICE_ID_LEN] != '.')
        return false;
    memcpy(id, h, ADM_STORE_DEVICE_ID_LEN);
    id[ADM_STORE_DEVICE_ID_LEN] = '\0';
    h += ADM_STORE_DEVICE_ID_LEN + 1;
    n = strcspn(h, " ");
    if (!secret_text_ok(h, n) || h[n + strspn(h + n, " ")] != '\0')
        return false;
    *secret = h;
    *secret_len = n;
    return true;
}

bool adm_auth_device(adm_http_req_t *req, adm_app_t *app, adm_device_t *out)
{
    const char *h = adm_http_header(req, "Authorization");
    char id[ADM_STORE_DEVICE_ID_LEN + 1];
    uint8_t hash[ADM_STORE_SECRET_HASH_BYTES];
    const char *secret = NULL;
    size_t len = 0;
    adm_device_t d;
    adm_err_t rc;
    bool ok = false;

    memset(out, 0, sizeof *out);
    if (h == NULL) {
        reply_unauthorized(req, BEARER_CHALLENGE,
                           "send \"Authorization: Bearer <device_id>.<secret>\" from "
                           "POST /v1/devices/enroll");
        goto out;
    }
    if (!device_credential(h, id, &secret, &len)) {
        reply_unauthorized(req, BEARER_INVALID,
                           "the Authorization header must be \"Bearer <device_id>.<secret>\"");
        goto out;
    }
    adm_auth_secret_hash(secret, len, hash);
    rc = adm_store_device_get(app->store, id, &d);
    if (rc != ADM_OK && rc != ADM_ERR_NOT_FOUND) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    if (rc == ADM_ERR_NOT_FOUND ||
        sodium_memcmp(hash, d.secret_hash, ADM_STORE_SECRET_HASH_BYTES) != 0) {
        reply_unauthorized(req, BEARER_INVALID,
                           "unknown device or wrong secret; enroll the device again");
        goto out;
    }
    if (d.revoked_at != 0) {
        adm_http_reply_error(req, 403, "device_revoked",
                             "this device was revoked; enroll it again with a new token");
        goto out;
    }
    *out = d;
    ok = true;
out:
    sodium_memzero(hash, sizeof hash);
    sodium_memzero(&d, sizeof d);
    return ok;
}
