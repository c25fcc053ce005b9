/* test-api-accounts.c: the account endpoints over HTTP (route-accounts.c,
 * auth.c, idem.c) against an in-process admitd: sign-up, sign-in, sessions,
 * roles and Idempotency-Key replays. Never asserts timings. */
#include <jansson.h>

#include "server/app.h"
#include "tests/testutil/api.h"
#include "tests/testutil/testutil.h"

static adm_api_t *api;

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(missing)";
}

static long long num(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

/* POSTs body to path and checks status and error code (NULL = no check). */
static void expect(const char *method, const char *path, const char *token, const char *body,
                   long want_status, const char *want_error)
{
    long status = 0;
    json_t *res = NULL;

    CHECK_ERR(adm_api_request(api, method, path, token, body, NULL, &status, &res), ADM_OK);
    if (status != want_status || (want_error != NULL && strcmp(str(res, "error"), want_error) != 0))
        fprintf(stderr, "  %s %s %.200s -> %ld %s\n", method, path, body ? body : "", status,
                str(res, "message"));
    CHECK_INT(status, want_status);
    if (want_error != NULL)
        CHECK_STR(str(res, "error"), want_error);
    if (want_error != NULL && res != NULL)
        CHECK(json_is_string(json_object_get(res, "message")));
    json_decref(res);
}

static void test_register(void)
{
    long status = 0;
    json_t *res = NULL;

    CHECK_ERR(adm_api_request(api, "POST", "/v1/accounts", NULL,
                              "{\"email\":\"Alice@Example.com\",\"password\":\"hunter2hunter2\","
                              "\"name\":\"Alice\"}",
                              NULL, &status, &res),
              ADM_OK);
    CHECK_INT(status, 201);
    CHECK(num(res, "id") > 0);
    CHECK_STR(str(res, "email"), "alice@example.com");
    CHECK_STR(str(res, "name"), "Alice");
    CHECK_STR(str(res, "role"), "customer");
    CHECK(json_object_get(res, "password_hash") == NULL);
    CHECK(json_object_get(res, "password") == NULL);
    json_decref(res);

    /* name is optional */
    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"noname@example.com\",\"password\":\"12345678\"}", 201, NULL);
    /* the same address in another case is taken */
    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"ALICE@example.COM\",\"password\":\"another-pass\",\"name\":\"A2\"}", 409,
           "email_taken");
}

static void test_register_validation(void)
{
    static const char *const bad_emails[] = {"",
                                             "plain",
                                             "@example.com",
                                             "a@",
                                             "a@b",
                                             "a b@example.com",
                                             "a@@example.com",
                                             "a@example..com",
                                             "a@.example.com",
                                             "a@example.com.",
                                             "\\\"q\\\"@example.com"};
    char body[4096], big[1100];
    size_t i;

    for (i = 0; i < sizeof bad_emails / sizeof bad_emails[0]; i++) {
        snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"12345678\"}", bad_emails[i]);
        expect("POST", "/v1/accounts", NULL, body, 400, "bad_field");
    }
    /* passwords: 8..1024 characters, counted as characters not bytes */
    expect("POST", "/v1/accounts", NULL, "{\"email\":\"p1@example.com\",\"password\":\"1234567\"}",
           400, "bad_field");
    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"p2@example.com\",\"password\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
           "\\u00e9\"}",
           400, "bad_field");
    expect("POST", "/v1/accounts", NULL, /* JSON parsing refuses NUL already */
           "{\"email\":\"p3@example.com\",\"password\":\"1234\\u00005678\"}", 400, "bad_json");
    memset(big, 'x', 1025);
    big[1025] = '\0';
    snprintf(body, sizeof body, "{\"email\":\"p4@example.com\",\"password\":\"%s\"}", big);
    expect("POST", "/v1/accounts", NULL, body, 400, "bad_field");
    big[1024] = '\0';
    snprintf(body, sizeof body, "{\"email\":\"p5@example.com\",\"password\":\"%s\"}", big);
    expect("POST", "/v1/accounts", NULL, body, 201, NULL);

    /* types, missing and unknown fields, JSON syntax */
    expect("POST", "/v1/accounts", NULL, "{\"email\":\"t@example.com\"}", 400, "bad_field");
    expect("POST", "/v1/accounts", NULL, "{\"email\":7,\"password\":\"12345678\"}", 400,
           "bad_field");
    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"t@example.com\",\"password\":\"12345678\",\"role\":\"organiser\"}", 400,
           "unknown_field");
    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"t@example.com\",\"password\":\"12345678\",\"name\":\"a\\u0007b\"}", 400,
           "bad_field");
    expect("POST", "/v1/accounts", NULL, "{\"email\":\"t@example.com\",", 400, "bad_json");
    expect("POST", "/v1/accounts", NULL, "[1,2]", 400, "bad_field");
    expect("POST", "/v1/accounts", NULL, "", 400, "bad_json");
    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"t@example.com\",\"email\":\"u@example.com\",\"password\":\"12345678\"}",
           400, "bad_json");
}

static void test_register_wire(void)
{
    adm_api_resp_t r;
    size_t big = (size_t)api->cfg->max_body_bytes + 1;
    char *body = malloc(big);

    CHECK(body != NULL);
    if (body == NULL)
        return;
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, big, NULL, NULL, &r),
              ADM_OK);
    CHECK_INT(r.status, 413);
    adm_api_resp_free(&r);
    free(body);

    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, "email=a", 7,
                                  "application/x-www-form-urlencoded", NULL, &r),
              ADM_OK);
    CHECK_INT(r.status, 415);
    adm_api_resp_free(&r);

    /* wrong method on a known path */
    CHECK_ERR(adm_api_request_raw(api, "GET", "/v1/accounts", NULL, NULL, 0, NULL, NULL, &r),
              ADM_OK);
    CHECK_INT(r.status, 405);
    adm_api_resp_free(&r);
}

static void test_login(void)
{
    long status = 0;
    json_t *res = NULL, *user;
    char token[ADM_AUTH_TOKEN_MAX];
    int64_t t0 = 1900000000;

    expect("POST", "/v1/accounts", NULL,
           "{\"email\":\"bob@example.com\",\"password\":\"bob-password\",\"name\":\"Bob\"}", 201,
           NULL);
    adm_api_set_now(api, t0);
    CHECK_ERR(adm_api_request(api, "POST", "/v1/sessions", NULL,
                              "{\"email\":\"BOB@example.com\",\"password\":\"bob-password\"}", NULL,
                              &status, &res),
              ADM_OK);
    CHECK_INT(status, 201);
    CHECK_INT(strlen(str(res, "token")), 43); /* 32 bytes, base64url without padding */
    CHECK_INT(num(res, "expires_at"), t0 + ADM_AUTH_SESSION_TTL_DEFAULT);
    user = json_object_get(res, "user");
    CHECK_STR(str(user, "email"), "bob@example.com");
    CHECK_STR(str(user, "role"), "customer");
    CHECK(json_object_get(user, "password_hash") == NULL);
    snprintf(token, sizeof token, "%s", str(res, "token"));
    json_decref(res);
    adm_api_set_now(api, 0);

    res = NULL;
    CHECK_ERR(adm_api_request(api, "GET", "/v1/me", token, NULL, NULL, &status, &res), ADM_OK);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "name"), "Bob");
    json_decref(res);

    expect("POST", "/v1/sessions", NULL,
           "{\"email\":\"bob@example.com\",\"password\":\"bob-passwore\"}", 401, "bad_credentials");
    expect("POST", "/v1/sessions", NULL,
           "{\"email\":\"nobody@example.com\",\"password\":\"bob-password\"}", 401,
           "bad_credentials");
    expect("POST", "/v1/sessions", NULL, "{\"email\":\"not an email\",\"password\":\"x\"}", 401,
           "bad_credentials");
    expect("POST", "/v1/sessions", NULL, "{\"email\":\"bob@example.com\"}", 400, "bad_field");
    expect("POST", "/v1/sessions", NULL,
           "{\"email\":\"bob@example.com\",\"password\":\"bob-password\",\"x\":1}", 400,
           "unknown_field");
}

static void test_me_and_tokens(void)
{
    adm_api_resp_t r;
    char token[ADM_AUTH_TOKEN_MAX], hdr[256];
    const char *const bad_scheme[] = {"Authorization: Basic Ym9iOnBhc3M=", NULL};
    const char *const bad_chars[] = {"Authorization: Bearer abc$def", NULL};
    int64_t uid = 0;

    CHECK_ERR(adm_api_request_raw(api, "GET", "/v1/me", NULL, NULL, 0, NULL, NULL, &r), ADM_OK);
    CHECK_INT(r.status, 401);
    CHECK(adm_api_resp_header(&r, "WWW-Authenticate", hdr, sizeof hdr) != NULL);
    CHECK(strncmp(hdr, "Bearer", 6) == 0);
    adm_api_resp_free(&r);

    expect("GET", "/v1/me", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, 401,
           "unauthorized");
    CHECK_ERR(adm_api_request_raw(api, "GET", "/v1/me", NULL, NULL, 0, NULL, bad_scheme, &r),
              ADM_OK);
    CHECK_INT(r.status, 401);
    adm_api_resp_free(&r);
    CHECK_ERR(adm_api_request_raw(api, "GET", "/v1/me", NULL, NULL, 0, NULL, bad_chars, &r),
              ADM_OK);
    CHECK_INT(r.status, 401);
    adm_api_resp_free(&r);

    /* an expired session is refused (the clock is the harness's) */
    CHECK_ERR(adm_api_user(api, ADM_ROLE_CUSTOMER, NULL, NULL, &uid), ADM_OK);
    CHECK_ERR(adm_auth_session_create(&api->app, uid, 60, token, sizeof token), ADM_OK);
    expect("GET", "/v1/me", token, NULL, 200, NULL);
    adm_api_advance(api, 61);
    expect("GET", "/v1/me", token, NULL, 401, "unauthorized");
    adm_api_set_now(api, 0);
}

static void test_logout(void)
{
    char token[ADM_AUTH_TOKEN_MAX], other[ADM_AUTH_TOKEN_MAX];

    CHECK_ERR(adm_api_user(api, ADM_ROLE_CUSTOMER, "carol@example.com", token, NULL), ADM_OK);
    CHECK_ERR(adm_api_login(api, "carol@example.com", ADM_API_PASSWORD, other, sizeof other),
              ADM_OK);
    expect("GET", "/v1/me", token, NULL, 200, NULL);
    expect("DELETE", "/v1/sessions/current", token, NULL, 204, NULL);
    expect("GET", "/v1/me", token, NULL, 401, "unauthorized");
    expect("DELETE", "/v1/sessions/current", token, NULL, 401, "unauthorized");
    /* only that session ended */
    expect("GET", "/v1/me", other, NULL, 200, NULL);
    expect("DELETE", "/v1/sessions/current", NULL, NULL, 401, "unauthorized");
}

static void test_staff_accounts(void)
{
    char customer[ADM_AUTH_TOKEN_MAX], organiser[ADM_AUTH_TOKEN_MAX], crew[ADM_AUTH_TOKEN_MAX];
    long status = 0;
    json_t *res = NULL;

    CHECK_ERR(adm_api_user(api, ADM_ROLE_CUSTOMER, NULL, customer, NULL), ADM_OK);
    CHECK_ERR(adm_api_user(api, ADM_ROLE_ORGANISER, NULL, organiser, NULL), ADM_OK);
    expect("POST", "/v1/users", customer,
           "{\"email\":\"crew1@example.com\",\"password\":\"crew-password\",\"role\":\"crew\"}",
           403, "forbidden");
    expect("POST", "/v1/users", NULL,
           "{\"email\":\"crew1@example.com\",\"password\":\"crew-password\",\"role\":\"crew\"}",
           401, "unauthorized");
    expect("POST", "/v1/users", organiser,
           "{\"email\":\"crew1@example.com\",\"password\":\"crew-password\",\"role\":\"boss\"}",
           400, "bad_field");
    expect("POST", "/v1/users", organiser,
           "{\"email\":\"crew1@example.com\",\"password\":\"crew-password\"}", 400, "bad_field");

    CHECK_ERR(adm_api_request(api, "POST", "/v1/users", organiser,
                              "{\"email\":\"crew1@example.com\",\"password\":\"crew-password\","
                              "\"name\":\"Gate 1\",\"role\":\"crew\"}",
                              NULL, &status, &res),
              ADM_OK);
    CHECK_INT(status, 201);
    CHECK_STR(str(res, "role"), "crew");
    CHECK_STR(str(res, "name"), "Gate 1");
    json_decref(res);

    CHECK_ERR(adm_api_login(api, "crew1@example.com", "crew-password", crew, sizeof crew), ADM_OK);
    res = NULL;
    CHECK_ERR(adm_api_request(api, "GET", "/v1/me", crew, NULL, NULL, &status, &res), ADM_OK);
    CHECK_INT(status, 200);
    CHECK_STR(str(res, "role"), "crew");
    json_decref(res);
    /* crew is not organiser */
    expect("POST", "/v1/users", crew,
           "{\"email\":\"crew2@example.com\",\"password\":\"crew-password\",\"role\":\"crew\"}",
           403, "forbidden");
    expect("POST", "/v1/users", organiser,
           "{\"email\":\"crew1@example.com\",\"password\":\"crew-password\",\"role\":\"crew\"}",
           409, "email_taken");
}

static void test_idempotent_signup(void)
{
    const char *body = "{\"email\":\"dave@example.com\",\"password\":\"dave-password\"}";
    const char *const key[] = {"Idempotency-Key: signup-dave-1", NULL};
    adm_api_resp_t first, again;
    char hdr[64];
    adm_user_t u;
    json_t *res;

    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL, key,
                                  &first),
              ADM_OK);
    CHECK_INT(first.status, 201);
    CHECK(adm_api_resp_header(&first, "Idempotent-Replayed", hdr, sizeof hdr) == NULL);
    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL, key,
                                  &again),
              ADM_OK);
    CHECK_INT(again.status, 201);
    CHECK_INT(again.len, first.len);
    CHECK(again.len == first.len && memcmp(again.body, first.body, first.len) == 0);
    CHECK(adm_api_resp_header(&again, "Idempotent-Replayed", hdr, sizeof hdr) != NULL);

    /* exactly one user, the one in the response */
    res = json_loadb(first.body, first.len, 0, NULL);
    CHECK_ERR(adm_store_user_find_email(api->store, "dave@example.com", &u), ADM_OK);
    CHECK_INT(u.id, num(res, "id"));
    json_decref(res);
    adm_api_resp_free(&first);
    adm_api_resp_free(&again);
    /* without the key the same body really runs, and finds the address taken */
    expect("POST", "/v1/accounts", NULL, body, 409, "email_taken");

    /* same key, different body */
    {
        const char *other = "{\"email\":\"dave2@example.com\",\"password\":\"dave-password\"}";
        CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, other, strlen(other), NULL,
                                      key, &again),
                  ADM_OK);
        CHECK_INT(again.status, 422);
        res = json_loadb(again.body, again.len, 0, NULL);
        CHECK_STR(str(res, "error"), "idempotency_mismatch");
        json_decref(res);
        adm_api_resp_free(&again);
        CHECK_ERR(adm_store_user_find_email(api->store, "dave2@example.com", &u),
                  ADM_ERR_NOT_FOUND);
    }

    /* an error reply is replayed too */
    {
        const char *const key2[] = {"Idempotency-Key: signup-dave-2", NULL};
        CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL,
                                      key2, &first),
                  ADM_OK);
        CHECK_INT(first.status, 409);
        CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL,
                                      key2, &again),
                  ADM_OK);
        CHECK_INT(again.status, 409);
        CHECK(again.len == first.len && memcmp(again.body, first.body, first.len) == 0);
        adm_api_resp_free(&first);
        adm_api_resp_free(&again);
    }
}

static void test_idempotency_edges(void)
{
    const char *body = "{\"email\":\"erin@example.com\",\"password\":\"erin-password\"}";
    const char *const busy[] = {"Idempotency-Key: erin-busy", NULL};
    const char *const spaced[] = {"Idempotency-Key: has space", NULL};
    char fp[ADM_IDEM_FINGERPRINT_HEX + 1], big[200], line[256];
    const char *const toolong[] = {line, NULL};
    adm_api_resp_t r;
    adm_user_t u;

    /* a request still running under the key: 409, nothing created */
    adm_idem_fingerprint("POST", "/v1/accounts", body, strlen(body), fp);
    CHECK_ERR(adm_store_idem_put(api->store, "ip:127.0.0.1", "erin-busy", fp, 0, NULL, 0,
                                 adm_api_now(api)),
              ADM_OK);
    CHECK_ERR(
        adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL, busy, &r),
        ADM_OK);
    CHECK_INT(r.status, 409);
    CHECK(strstr(r.body, "idempotency_in_progress") != NULL);
    adm_api_resp_free(&r);
    CHECK_ERR(adm_store_user_find_email(api->store, "erin@example.com", &u), ADM_ERR_NOT_FOUND);

    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL,
                                  spaced, &r),
              ADM_OK);
    CHECK_INT(r.status, 400);
    CHECK(strstr(r.body, "bad_idempotency_key") != NULL);
    adm_api_resp_free(&r);
    memset(big, 'k', 129);
    big[129] = '\0';
    snprintf(line, sizeof line, "Idempotency-Key: %s", big);
    CHECK_ERR(adm_api_request_raw(api, "POST", "/v1/accounts", NULL, body, strlen(body), NULL,
                                  toolong, &r),
              ADM_OK);
    CHECK_INT(r.status, 400);
    adm_api_resp_free(&r);

    /* keys are per principal: an organiser's key does not collide with the IP scope */
    {
        char organiser[ADM_AUTH_TOKEN_MAX];
        const char *ubody =
            "{\"email\":\"erin@example.com\",\"password\":\"erin-password\",\"role\":\"crew\"}";
        long status = 0;

        CHECK_ERR(adm_api_user(api, ADM_ROLE_ORGANISER, NULL, organiser, NULL), ADM_OK);
        CHECK_ERR(adm_api_request(api, "POST", "/v1/users", organiser, ubody,
                                  "Idempotency-Key: erin-busy", &status, NULL),
                  ADM_OK);
        CHECK_INT(status, 201);
        CHECK_ERR(adm_api_request(api, "POST", "/v1/users", organiser, ubody,
                                  "Idempotency-Key: erin-busy", &status, NULL),
                  ADM_OK);
        CHECK_INT(status, 201);
    }
}

static void test_housekeeping(void)
{
    char token[ADM_AUTH_TOKEN_MAX];
    adm_reap_stats_t st = {0};
    adm_reaper_t *r = NULL;
    size_t n_signed = 1;
    int64_t uid = 0;

    CHECK_ERR(adm_api_user(api, ADM_ROLE_CUSTOMER, NULL, NULL, &uid), ADM_OK);
    CHECK_ERR(adm_auth_session_create(&api->app, uid, 5, token, sizeof token), ADM_OK);
    adm_api_advance(api, 10);
    CHECK_ERR(adm_app_housekeep(&api->app, &st, &n_signed), ADM_OK);
    CHECK(st.sessions >= 1);
    CHECK_INT(n_signed, 0);
    expect("GET", "/v1/me", token, NULL, 401, "unauthorized");
    adm_api_set_now(api, 0);

    /* the thread starts and stops on request (its first pass runs at once) */
    CHECK_ERR(adm_reaper_start(&api->app, 0, &r), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_reaper_start(&api->app, 3600, &r), ADM_OK);
    adm_reaper_stop(r);
    adm_reaper_stop(NULL);
}

int main(void)
{
    if (adm_api_start(&api) != ADM_OK)
        return 1;
    ADM_RUN(test_register);
    ADM_RUN(test_register_validation);
    ADM_RUN(test_register_wire);
    ADM_RUN(test_login);
    ADM_RUN(test_me_and_tokens);
    ADM_RUN(test_logout);
    ADM_RUN(test_staff_accounts);
    ADM_RUN(test_idempotent_signup);
    ADM_RUN(test_idempotency_edges);
    ADM_RUN(test_housekeeping);
    adm_api_stop(api);
    return adm_test_done();
}
