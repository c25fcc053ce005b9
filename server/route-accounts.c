/* route-accounts.c: admitd's account endpoints: sign-up (POST /v1/accounts),
 * sign-in and sign-out (/v1/sessions), the caller's profile (GET /v1/me) and
 * staff accounts made by organisers (POST /v1/users). Not for the session
 * and password mechanics themselves (auth.c). docs/api.md describes them. */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "server/app.h"

/* ---- helpers -------------------------------------------------------------- */

/* A plausible address: local@domain, no spaces or quotes, a dot in the
 * domain, no empty labels. Deliverability is not our business. */
static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    size_t len = strlen(s), local, i;
    const char *dom;

    if (at == NULL || strchr(at + 1, '@') != NULL || len > ADM_STORE_EMAIL_MAX)
        return false;
    local = (size_t)(at - s);
    dom = at + 1;
    if (local == 0 || local > 64 || strlen(dom) < 3 || strchr(dom, '.') == NULL)
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr("\"(),:;<>[\\]", c) != NULL)
            return false;
    }
    if (dom[0] == '.' || dom[0] == '-' || dom[strlen(dom) - 1] == '.' ||
        dom[strlen(dom) - 1] == '-' || strstr(dom, "..") != NULL || s[0] == '.' || at[-1] == '.' ||
        strstr(s, "..") != NULL)
        return false;
    return true;
}

/* Code points in a UTF-8 string of len bytes. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0, i;

    for (i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

/* Reads and checks "email" and "password" for a new account; replies on failure. */
static bool new_credentials(adm_http_req_t *req, const json_t *in, const char **email,
                            const char **password)
{
    json_t *pw;
    size_t chars;

    if (!adm_app_json_text(req, in, "email", true, ADM_STORE_EMAIL_MAX, false, email))
        return false;
    if (!email_ok(*email)) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"email\" must be an email address like name@example.com");
        return false;
    }
    if (!adm_http_json_string(req, in, "password", true, password))
        return false;
    pw = json_object_get(in, "password");
    chars = utf8_chars(*password, json_string_length(pw));
    if (strlen(*password) != json_string_length(pw) || chars < ADM_AUTH_PASSWORD_MIN ||
        chars > ADM_AUTH_PASSWORD_MAX) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"password\" must be %d..%d characters without NUL",
                             ADM_AUTH_PASSWORD_MIN, ADM_AUTH_PASSWORD_MAX);
        return false;
    }
    return true;
}

/* The public view of a user (never the password hash). NULL when out of memory. */
static json_t *user_json(const adm_user_t *u)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)u->id, "email", u->email,
                     "name", u->display_name, "role", adm_role_name(u->role), "created",
                     (json_int_t)u->created);
}

static bool parse_role(const char *s, adm_role_t *out)
{
    static const adm_role_t roles[] = {ADM_ROLE_CUSTOMER, ADM_ROLE_CREW, ADM_ROLE_ORGANISER};
    size_t i;

    for (i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(s, adm_role_name(roles[i])) == 0) {
            *out = roles[i];
            return true;
        }
    return false;
}

/* Hashes the password, creates the user and replies 201 with it (through
 * idem): 409 email_taken for a used address. */
static void create_user(adm_http_req_t *req, adm_app_t *app, adm_idem_ctx_t *idem,
                        const char *email, const char *password, const char *name, adm_role_t role)
{
    char hash[crypto_pwhash_STRBYTES];
    adm_user_spec_t spec = {
        .email = email, .password_hash = hash, .display_name = name ? name : "", .role = role};
    adm_user_t u;
    int64_t id = 0;
    adm_err_t rc;

    rc = adm_auth_hash_password(password, hash, sizeof hash);
    if (rc == ADM_OK)
        rc = adm_store_user_create(app->store, &spec, adm_app_now(app), &id);
    if (rc == ADM_ERR_EXISTS) {
        adm_idem_reply_error(req, app, idem, 409, "email_taken",
                             "an account with this email already exists; sign in instead");
        goto out;
    }
    if (rc == ADM_OK)
        rc = adm_store_user_get(app->store, ADM_READ_HINT_PRIMARY, id, &u);
    if (rc != ADM_OK) {
        adm_idem_reply_err(req, app, idem, rc);
        goto out;
    }
    adm_idem_reply_json(req, app, idem, 201, user_json(&u));
out:
    sodium_memzero(hash, sizeof hash);
}

/* ---- POST /v1/accounts ---------------------------------------------------- */

static void post_account(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"email", "password", "name", NULL};
    adm_app_t *app = ctx;
    adm_idem_ctx_t *idem;
    const char *email, *password, *name;
    json_t *in = adm_http_body_json(req);

    if (in == NULL || !adm_app_check_fields(req, in, fields) ||
        !new_credentials(req, in, &email, &password) ||
        !adm_app_json_text(req, in, "name", false, ADM_STORE_NAME_MAX, false, &name))
        return;
    if (!adm_idem_begin(req, app, NULL, &idem)) /* anonymous: scoped by client IP */
        return;
    create_user(req, app, idem, email, password, name, ADM_ROLE_CUSTOMER);
}

/* ---- POST /v1/users (organiser) -------------------------------------------- */

static void post_user(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"email", "password", "name", "role", NULL};
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_idem_ctx_t *idem;
    const char *email, *password, *name, *role_s;
    adm_role_t role;
    json_t *in;

    if (!adm_auth_require(req, app, ADM_ROLE_ORGANISER, &who))
        return;
    in = adm_http_body_json(req);
    if (in == NULL || !adm_app_check_fields(req, in, fields) ||
        !new_credentials(req, in, &email, &password) ||
        !adm_app_json_text(req, in, "name", false, ADM_STORE_NAME_MAX, false, &name) ||
        !adm_app_json_text(req, in, "role", true, 32, false, &role_s))
        return;
    if (!parse_role(role_s, &role)) {
        adm_http_reply_error(req, 400, "bad_field",
                             "field \"role\" must be \"customer\", \"crew\" or \"organiser\"");
        return;
    }
    if (!adm_idem_begin(req, app, &who, &idem))
        return;
    create_user(req, app, idem, email, password, name, role);
}

/* ---- POST /v1/sessions ------------------------------------------------------ */

/* A hash of a random password, verified against when the email is unknown
 * so that both failures take about as long. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    char pw[33];
    uint8_t raw[16];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(pw, sizeof pw, raw, sizeof raw);
    if (adm_auth_hash_password(pw, dummy_hash, sizeof dummy_hash) != ADM_OK)
        dummy_hash[0] = '\0';
    sodium_memzero(pw, sizeof pw);
}

/* Sign-in is deliberately not idempotent-replayable: the response holds a
 * bearer token, which must never be stored in the clear. Retrying simply
 * creates another session. */
static void post_session(adm_http_req_t *req, void *ctx)
{
    static const char *const fields[] = {"email", "password", NULL};
    adm_app_t *app = ctx;
    const char *email, *password;
    char token[ADM_AUTH_TOKEN_MAX];
    int64_t ttl = app->session_ttl_s > 0 ? app->session_ttl_s : ADM_AUTH_SESSION_TTL_DEFAULT;
    int64_t now = adm_app_now(app);
    adm_user_t u;
    adm_err_t rc;
    bool ok = false;
    json_t *in = adm_http_body_json(req), *user, *body;

    token[0] = '\0';
    if (in == NULL || !adm_app_check_fields(req, in, fields) ||
        !adm_http_json_string(req, in, "email", true, &email) ||
        !adm_http_json_string(req, in, "password", true, &password))
        goto out;
    rc = adm_store_user_find_email(app->store, email, &u);
    if (rc == ADM_OK) {
        ok = adm_auth_check_password(u.password_hash, password) == ADM_OK;
    } else if (rc == ADM_ERR_NOT_FOUND || rc == ADM_ERR_INVALID_ARG || rc == ADM_ERR_TOO_BIG) {
        pthread_once(&dummy_once, make_dummy);
        if (dummy_hash[0] != '\0')
            (void)adm_auth_check_password(dummy_hash, password);
    } else {
        adm_app_reply_err(req, rc);
        goto out;
    }
    if (!ok) {
        adm_http_reply_error(req, 401, "bad_credentials", "the email or password is wrong");
        goto out;
    }
    if (crypto_pwhash_str_needs_rehash(u.password_hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        char hash[crypto_pwhash_STRBYTES];
        if (adm_auth_hash_password(password, hash, sizeof hash) == ADM_OK &&
            adm_store_user_set_password(app->store, u.id, hash) != ADM_OK)
            adm_log(ADM_LOG_WARN, "cannot rehash the password of user %lld", (long long)u.id);
    }
    rc = adm_auth_session_create(app, u.id, ttl, token, sizeof token);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        goto out;
    }
    user = user_json(&u);
    body = user ? json_pack("{s:s, s:I, s:o}", "token", token, "expires_at",
                            (json_int_t)(now + ttl), "user", user)
                : NULL;
    (void)adm_http_set_header(req, "Cache-Control", "no-store");
    adm_http_reply_json(req, 201, body);
out:
    sodium_memzero(token, sizeof token);
}

/* ---- DELETE /v1/sessions/current ------------------------------------------- */

static void delete_session(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who))
        return;
    rc = adm_auth_logout(req, app);
    if (rc != ADM_OK && rc != ADM_ERR_NOT_FOUND) { /* gone already: same outcome */
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_bytes(req, 204, "application/json", "", 0, ADM_HTTP_STATIC);
}

/* ---- GET /v1/me ------------------------------------------------------------- */

static void get_me(adm_http_req_t *req, void *ctx)
{
    adm_app_t *app = ctx;
    adm_principal_t who;
    adm_user_t u;
    adm_err_t rc;

    if (!adm_auth_require(req, app, ADM_ROLE_CUSTOMER, &who))
        return;
    rc = adm_store_user_get(app->store, ADM_READ_HINT_PRIMARY, who.user_id, &u);
    if (rc != ADM_OK) {
        adm_app_reply_err(req, rc);
        return;
    }
    adm_http_reply_json(req, 200, user_json(&u));
}

adm_err_t adm_routes_accounts(adm_app_t *app, adm_http_server_t *srv)
{
    adm_err_t result;

    if ((result = adm_http_route(srv, "POST", "/v1/accounts", post_account, app,
                                 "accounts.create")) != ADM_OK ||
        (result = adm_http_route(srv, "POST", "/v1/sessions", post_session, app,
                                 "sessions.create")) != ADM_OK ||
        (result = adm_http_route(srv, "DELETE", "/v1/sessions/current", delete_session, app,
                                 "sessions.delete")) != ADM_OK ||
        (result = adm_http_route(srv, "GET", "/v1/me", get_me, app, "me.get")) != ADM_OK)
        goto out;
    result = adm_http_route(srv, "POST", "/v1/users", post_user, app, "users.create");
out:
    return result;
}
