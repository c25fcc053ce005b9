/* keyring.c: Ed25519 ticket-signing keys, their ids, rotation and retirement,
 * and their persistence (public keyring JSON, key directory), as specified in
 * docs/ticket-format.md §4-5. Not for the token layout (token.c). */
#include "sync/keyring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SK_BYTES crypto_sign_SECRETKEYBYTES /* libsodium layout: seed || public key */
#define KID_HEX_LEN 8
#define KEY_FILE_LEN (ADM_KEY_SEED_BYTES * 2 + 1) /* hex seed + "\n" */
#define KEY_FILE_SUFFIX ".key"
#define KEYS_JSON "keys.json"
#define KEYRING_FORMAT "admit-keyring"
#define KEYRING_VERSION 1
#define GENERATE_TRIES 16

struct key {
    uint32_t kid;
    uint8_t pk[ADM_KEY_PUBLIC_BYTES];
    bool has_secret;
    bool retired;
    int64_t created; /* unix seconds, 0 = unknown; orders keys for rotation */
};

struct adm_keyring {
    size_t n;
    uint32_t signing; /* key id of the signing key, 0 = none */
    struct key keys[ADM_KEYRING_MAX_KEYS];
    /* sodium_malloc'd ADM_KEYRING_MAX_KEYS * SK_BYTES; slot i belongs to keys[i] */
    uint8_t *sk;
};

adm_err_t adm_crypto_init(void)
{
    adm_err_t result = ADM_OK;

    /* sodium_init() is itself thread-safe and returns 1 once initialised */
    if (sodium_init() < 0)
        result = ADM_ERR_CRYPTO;
    return result;
}

adm_err_t adm_keyring_new(adm_keyring_t **out)
{
    adm_err_t result = ADM_OK;
    adm_keyring_t *kr = NULL;

    if (out == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    *out = NULL;
    result = adm_crypto_init();
    if (result != ADM_OK)
        goto out;
    kr = calloc(1, sizeof *kr);
    if (kr == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    kr->sk = sodium_malloc((size_t)ADM_KEYRING_MAX_KEYS * SK_BYTES);
    if (kr->sk == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    sodium_memzero(kr->sk, (size_t)ADM_KEYRING_MAX_KEYS * SK_BYTES);
    *out = kr;
    kr = NULL;
out:
    adm_keyring_free(kr);
    return result;
}

void adm_keyring_free(adm_keyring_t *kr)
{
    if (kr != NULL) {
        if (kr->sk != NULL)
            sodium_free(kr->sk); /* wipes the whole region */
        sodium_memzero(kr, sizeof *kr);
        free(kr);
    }
}

uint32_t adm_key_id(const uint8_t pk[ADM_KEY_PUBLIC_BYTES])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof h, pk, ADM_KEY_PUBLIC_BYTES, NULL, 0);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* index of key kid, or -1 */
static long find_key(const adm_keyring_t *kr, uint32_t kid)
{
    long result = -1;
    size_t i;

    for (i = 0; kid != 0 && i < kr->n; i++) {
        if (kr->keys[i].kid == kid) {
            result = (long)i;
            break;
        }
    }
    return result;
}

static uint8_t *sk_slot(const adm_keyring_t *kr, size_t i)
{
    return kr->sk + i * SK_BYTES;
}

/* The signing key becomes the newest active secret key: greatest created
 * time, ties going to the later-added key. */
static void pick_signing(adm_keyring_t *kr)
{
    long best = -1;
    size_t i;

    for (i = 0; i < kr->n; i++) {
        const struct key *k = &kr->keys[i];
        if (!k->has_secret || k->retired)
            continue;
        if (best < 0 || k->created >= kr->keys[best].created)
            best = (long)i;
    }
    kr->signing = best < 0 ? 0 : kr->keys[best].kid;
}

static int64_t now(void)
{
    time_t t = time(NULL);

    return t < 0 ? 0 : (int64_t)t;
}

/* Appends a secret key from seed, key id in *kid. Does not change the signing key. */
static adm_err_t append_seed(adm_keyring_t *kr, const uint8_t seed[ADM_KEY_SEED_BYTES],
                             int64_t created, uint32_t *kid)
{
    adm_err_t result = ADM_OK;
    uint8_t pk[ADM_KEY_PUBLIC_BYTES];
    uint8_t *slot;
    uint32_t id;

    if (kr->n >= ADM_KEYRING_MAX_KEYS) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    slot = sk_slot(kr, kr->n);
    if (crypto_sign_seed_keypair(pk, slot, seed) != 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    id = adm_key_id(pk);
    if (id == 0) {
        /* 0 means "the signing key" in the token API: such a key is unusable */
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (find_key(kr, id) >= 0) {
        result = ADM_ERR_EXISTS;
        goto out;
    }
    kr->keys[kr->n] = (struct key){.kid = id, .has_secret = true, .created = created};
    memcpy(kr->keys[kr->n].pk, pk, sizeof pk);
    kr->n++;
    *kid = id;
out:
    if (result != ADM_OK && kr->n < ADM_KEYRING_MAX_KEYS)
        sodium_memzero(sk_slot(kr, kr->n), SK_BYTES);
    return result;
}

static adm_err_t append_public(adm_keyring_t *kr, const uint8_t pk[ADM_KEY_PUBLIC_BYTES],
                               bool retired, int64_t created, uint32_t *kid)
{
    adm_err_t result = ADM_OK;
    uint32_t id = adm_key_id(pk);

    if (id == 0) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (find_key(kr, id) >= 0) {
        result = ADM_ERR_EXISTS;
        goto out;
    }
    if (kr->n >= ADM_KEYRING_MAX_KEYS) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    kr->keys[kr->n] = (struct key){.kid = id, .retired = retired, .created = created};
    memcpy(kr->keys[kr->n].pk, pk, ADM_KEY_PUBLIC_BYTES);
    kr->n++;
    *kid = id;
out:
    return result;
}

adm_err_t adm_keyring_generate(adm_keyring_t *kr, uint32_t *kid)
{
    adm_err_t result = ADM_OK;
    uint8_t seed[ADM_KEY_SEED_BYTES];
    uint32_t id = 0;
    int tries;

    if (kr == NULL || kid == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    *kid = 0;
    /* retry on the (2^-32) key id 0 or a collision with a present key */
    for (tries = 0; tries < GENERATE_TRIES; tries++) {
        randombytes_buf(seed, sizeof seed);
        result = append_seed(kr, seed, now(), &id);
        if (result != ADM_ERR_EXISTS && result != ADM_ERR_INVALID_ARG)
            break;
    }
    if (result == ADM_ERR_EXISTS || result == ADM_ERR_INVALID_ARG)
        result = ADM_ERR_CRYPTO;
    if (result != ADM_OK)
        goto out;
    kr->signing = id;
    *kid = id;
out:
    sodium_memzero(seed, sizeof seed);
    return result;
}

adm_err_t adm_keyring_add_seed(adm_keyring_t *kr, const uint8_t seed[ADM_KEY_SEED_BYTES],
                               uint32_t *kid)
{
    adm_err_t result = ADM_OK;
    uint32_t id = 0;

    if (kr == NULL || seed == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    result = append_seed(kr, seed, now(), &id);
    if (result != ADM_OK)
        goto out;
    kr->signing = id;
out:
    if (kid != NULL)
        *kid = id;
    return result;
}

adm_err_t adm_keyring_add_public(adm_keyring_t *kr, const uint8_t pk[ADM_KEY_PUBLIC_BYTES],
                                 bool retired, uint32_t *kid)
{
    adm_err_t result = ADM_OK;
    uint32_t id = 0;

    if (kr == NULL || pk == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    result = append_public(kr, pk, retired, 0, &id);
out:
    if (kid != NULL)
        *kid = id;
    return result;
}

adm_err_t adm_keyring_retire(adm_keyring_t *kr, uint32_t kid)
{
    adm_err_t result = ADM_OK;
    long i;

    if (kr == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    i = find_key(kr, kid);
    if (i < 0) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    kr->keys[i].retired = true;
    if (kr->signing == kid)
        pick_signing(kr);
out:
    return result;
}

size_t adm_keyring_count(const adm_keyring_t *kr)
{
    return kr == NULL ? 0 : kr->n;
}

adm_err_t adm_keyring_signing_kid(const adm_keyring_t *kr, uint32_t *kid)
{
    adm_err_t result = ADM_OK;

    if (kid == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    *kid = kr == NULL ? 0 : kr->signing;
    if (*kid == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

adm_err_t adm_keyring_export_seed(const adm_keyring_t *kr, uint32_t kid,
                                  uint8_t seed[ADM_KEY_SEED_BYTES])
{
    adm_err_t result = ADM_OK;
    long i;

    if (kr == NULL || seed == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    i = find_key(kr, kid);
    if (i < 0 || !kr->keys[i].has_secret) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    memcpy(seed, sk_slot(kr, (size_t)i), ADM_KEY_SEED_BYTES);
out:
    if (result != ADM_OK && seed != NULL)
        sodium_memzero(seed, ADM_KEY_SEED_BYTES);
    return result;
}

adm_err_t adm_keyring_sign(const adm_keyring_t *kr, uint32_t kid, const uint8_t *msg, size_t len,
                           uint8_t sig[ADM_SIGNATURE_BYTES])
{
    adm_err_t result = ADM_OK;
    long i;

    if (kr == NULL || sig == NULL || (msg == NULL && len > 0)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    i = find_key(kr, kid);
    if (i < 0 || !kr->keys[i].has_secret) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (kr->keys[i].retired) {
        result = ADM_ERR_TOKEN_KEY_RETIRED;
        goto out;
    }
    if (crypto_sign_detached(sig, NULL, msg != NULL ? msg : (const uint8_t *)"", len,
                             sk_slot(kr, (size_t)i)) != 0)
        result = ADM_ERR_CRYPTO;
out:
    if (result != ADM_OK && sig != NULL)
        memset(sig, 0, ADM_SIGNATURE_BYTES);
    return result;
}

adm_err_t adm_keyring_verify(const adm_keyring_t *kr, uint32_t kid, const uint8_t *msg, size_t len,
                             const uint8_t sig[ADM_SIGNATURE_BYTES])
{
    adm_err_t result = ADM_OK;
    long i;

    if (kr == NULL || sig == NULL || (msg == NULL && len > 0)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    i = find_key(kr, kid);
    if (i < 0) {
        result = ADM_ERR_TOKEN_KEY;
        goto out;
    }
    if (kr->keys[i].retired) {
        result = ADM_ERR_TOKEN_KEY_RETIRED;
        goto out;
    }
    if (crypto_sign_verify_detached(sig, msg != NULL ? msg : (const uint8_t *)"", len,
                                    kr->keys[i].pk) != 0)
        result = ADM_ERR_TOKEN_SIGNATURE;
out:
    return result;
}

/* ---- hex ---- */

static int lower_hex_value(char c)
{
    int result = -1;

    if (c >= '0' && c <= '9')
        result = c - '0';
    else if (c >= 'a' && c <= 'f')
        result = c - 'a' + 10;
    return result;
}

/* Strict lowercase hex of exactly 2 * n characters into out. */
static bool unhex_strict(const char *s, size_t slen, uint8_t *out, size_t n)
{
    bool result = slen == 2 * n;
    size_t i;

    for (i = 0; result && i < n; i++) {
        int hi = lower_hex_value(s[2 * i]);
        int lo = lower_hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            result = false;
        else
            out[i] = (uint8_t)(hi << 4 | lo);
    }
    return result;
}

static bool parse_kid(const char *s, size_t slen, uint32_t *kid)
{
    uint8_t b[4];
    bool result = unhex_strict(s, slen, b, sizeof b);

    if (result)
        *kid = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return result;
}

static void format_kid(uint32_t kid, char out[KID_HEX_LEN + 1])
{
    snprintf(out, KID_HEX_LEN + 1, "%08x", (unsigned)kid);
}

/* ---- merging a staged keyring (all-or-nothing loads) ---- */

/* Adds every key of src to kr, or nothing: ADM_ERR_EXISTS on a key id that is
 * present with a different public key, ADM_ERR_TOO_BIG when kr would overflow.
 * A key already present keeps its place; it gains src's secret, retirement
 * (never un-retires) and, if it had none, creation time. */
static adm_err_t merge(adm_keyring_t *kr, const adm_keyring_t *src)
{
    adm_err_t result = ADM_OK;
    size_t add = 0;
    size_t i;

    for (i = 0; i < src->n; i++) {
        long j = find_key(kr, src->keys[i].kid);
        if (j < 0)
            add++;
        else if (memcmp(kr->keys[j].pk, src->keys[i].pk, ADM_KEY_PUBLIC_BYTES) != 0) {
            result = ADM_ERR_EXISTS;
            goto out;
        }
    }
    if (add > ADM_KEYRING_MAX_KEYS - kr->n) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    for (i = 0; i < src->n; i++) {
        const struct key *s = &src->keys[i];
        long j = find_key(kr, s->kid);
        struct key *d;
        if (j < 0) {
            j = (long)kr->n++;
            kr->keys[j] = *s;
            kr->keys[j].has_secret = false;
        }
        d = &kr->keys[j];
        d->retired = d->retired || s->retired;
        if (d->created == 0)
            d->created = s->created;
        if (s->has_secret && !d->has_secret) {
            memcpy(sk_slot(kr, (size_t)j), sk_slot(src, i), SK_BYTES);
            d->has_secret = true;
        }
    }
out:
    return result;
}

/* ---- public keyring document (spec §4.2) ---- */

adm_err_t adm_keyring_public_json(const adm_keyring_t *kr, char **json)
{
    adm_err_t result = ADM_OK;
    json_t *root = NULL;
    json_t *keys = NULL;
    size_t i;

    if (json != NULL)
        *json = NULL;
    if (kr == NULL || json == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    keys = json_array();
    root = json_object();
    if (keys == NULL || root == NULL ||
        json_object_set_new(root, "format", json_string(KEYRING_FORMAT)) != 0 ||
        json_object_set_new(root, "version", json_integer(KEYRING_VERSION)) != 0 ||
        json_object_set(root, "keys", keys) != 0) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < kr->n; i++) {
        const struct key *k = &kr->keys[i];
        char kid[KID_HEX_LEN + 1];
        char pk[ADM_KEY_PUBLIC_BYTES * 2 + 1];
        json_t *o = json_object();

        format_kid(k->kid, kid);
        sodium_bin2hex(pk, sizeof pk, k->pk, sizeof k->pk);
        if (o == NULL || json_array_append_new(keys, o) != 0 ||
            json_object_set_new(o, "kid", json_string(kid)) != 0 ||
            json_object_set_new(o, "alg", json_string("Ed25519")) != 0 ||
            json_object_set_new(o, "public", json_string(pk)) != 0 ||
            json_object_set_new(o, "retired", json_boolean(k->retired)) != 0 ||
            json_object_set_new(o, "created", json_integer((json_int_t)k->created)) != 0) {
            result = ADM_ERR_NOMEM;
            goto out;
        }
    }
    *json = json_dumps(root, JSON_INDENT(2));
    if (*json == NULL)
        result = ADM_ERR_NOMEM;
out:
    json_decref(keys);
    json_decref(root);
    return result;
}

static bool get_string(const json_t *o, const char *name, const char **s, size_t *len)
{
    const json_t *v = json_object_get(o, name);
    bool result = json_is_string(v);

    if (result) {
        *s = json_string_value(v);
        *len = json_string_length(v);
    }
    return result;
}

/* One entry of "keys" into tmp; ADM_ERR_FORMAT on anything unexpected. */
static adm_err_t parse_key_entry(adm_keyring_t *tmp, const json_t *o)
{
    adm_err_t result = ADM_ERR_FORMAT;
    const char *name;
    const json_t *v;
    const char *s;
    size_t len;
    uint32_t kid;
    uint32_t got;
    uint8_t pk[ADM_KEY_PUBLIC_BYTES];
    int64_t created = 0;
    bool retired;

    if (!json_is_object(o))
        goto out;
    json_object_foreach((json_t *)o, name, v)
    {
        if (strcmp(name, "kid") != 0 && strcmp(name, "alg") != 0 && strcmp(name, "public") != 0 &&
            strcmp(name, "retired") != 0 && strcmp(name, "created") != 0)
            goto out;
    }
    if (!get_string(o, "kid", &s, &len) || !parse_kid(s, len, &kid))
        goto out;
    if (!get_string(o, "alg", &s, &len) || len != 7 || memcmp(s, "Ed25519", 7) != 0)
        goto out;
    if (!get_string(o, "public", &s, &len) || !unhex_strict(s, len, pk, sizeof pk))
        goto out;
    v = json_object_get(o, "retired");
    if (!json_is_boolean(v))
        goto out;
    retired = json_is_true(v);
    v = json_object_get(o, "created");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            goto out;
        created = (int64_t)json_integer_value(v);
    }
    if (kid == 0 || adm_key_id(pk) != kid || crypto_core_ed25519_is_valid_point(pk) != 1)
        goto out;
    result = append_public(tmp, pk, retired, created, &got);
    if (result == ADM_ERR_EXISTS || result == ADM_ERR_INVALID_ARG)
        result = ADM_ERR_FORMAT; /* a key listed twice */
out:
    return result;
}

/* Parses a public keyring document into the empty keyring tmp. */
static adm_err_t parse_public_doc(adm_keyring_t *tmp, const char *json, size_t len)
{
    adm_err_t result = ADM_ERR_FORMAT;
    json_t *root = NULL;
    json_error_t jerr;
    const char *name;
    const json_t *v;
    const json_t *keys;
    const json_t *entry;
    const char *s;
    size_t slen;
    size_t i;

    if (len > ADM_KEYRING_JSON_MAX)
        goto out;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root))
        goto out;
    json_object_foreach(root, name, v)
    {
        if (strcmp(name, "format") != 0 && strcmp(name, "version") != 0 &&
            strcmp(name, "keys") != 0)
            goto out;
    }
    if (!get_string(root, "format", &s, &slen) || slen != strlen(KEYRING_FORMAT) ||
        memcmp(s, KEYRING_FORMAT, slen) != 0)
        goto out;
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != KEYRING_VERSION)
        goto out;
    keys = json_object_get(root, "keys");
    if (!json_is_array(keys))
        goto out;
    if (json_array_size(keys) > ADM_KEYRING_MAX_KEYS) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    result = ADM_OK;
    json_array_foreach(keys, i, entry)
    {
        result = parse_key_entry(tmp, entry);
        if (result != ADM_OK)
            goto out;
    }
out:
    json_decref(root);
    return result;
}

adm_err_t adm_keyring_load_public_json(adm_keyring_t *kr, const char *json, size_t len)
{
    adm_err_t result = ADM_OK;
    adm_keyring_t *tmp = NULL;

    if (kr == NULL || (json == NULL && len > 0)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (json == NULL || len > ADM_KEYRING_JSON_MAX) {
        result = ADM_ERR_FORMAT;
        goto out;
    }
    result = adm_keyring_new(&tmp);
    if (result != ADM_OK)
        goto out;
    result = parse_public_doc(tmp, json, len);
    if (result != ADM_OK)
        goto out;
    result = merge(kr, tmp);
    if (result != ADM_OK)
        goto out;
    if (kr->signing != 0 && kr->keys[find_key(kr, kr->signing)].retired)
        pick_signing(kr);
out:
    adm_keyring_free(tmp);
    return result;
}

/* ---- files ---- */

/* Reads all of fd into a new NUL-terminated buffer; ADM_ERR_FORMAT past max bytes. */
static adm_err_t read_fd_bounded(int fd, size_t max, char **buf, size_t *len)
{
    adm_err_t result = ADM_OK;
    char *b = NULL;
    size_t n = 0;

    *buf = NULL;
    *len = 0;
    b = malloc(max + 2);
    if (b == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, b + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            result = ADM_ERR_IO;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            result = ADM_ERR_FORMAT;
            goto out;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
out:
    free(b);
    return result;
}

static adm_err_t read_file_bounded(int dfd, const char *path, size_t max, char **buf, size_t *len)
{
    adm_err_t result = ADM_OK;
    int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    result = read_fd_bounded(fd, max, buf, len);
out:
    if (fd >= 0)
        close(fd);
    return result;
}

adm_err_t adm_keyring_load_public_file(adm_keyring_t *kr, const char *path)
{
    adm_err_t result = ADM_OK;
    char *buf = NULL;
    size_t len = 0;

    if (kr == NULL || path == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    result = read_file_bounded(AT_FDCWD, path, ADM_KEYRING_JSON_MAX, &buf, &len);
    if (result != ADM_OK)
        goto out;
    result = adm_keyring_load_public_json(kr, buf, len);
out:
    free(buf);
    return result;
}

/* "<8 lowercase hex>.key" → kid */
static bool key_file_name(const char *name, uint32_t *kid)
{
    size_t len = strlen(name);

    return len == KID_HEX_LEN + strlen(KEY_FILE_SUFFIX) &&
           strcmp(name + KID_HEX_LEN, KEY_FILE_SUFFIX) == 0 && parse_kid(name, KID_HEX_LEN, kid);
}

static bool has_key_suffix(const char *name)
{
    size_t len = strlen(name);
    size_t slen = strlen(KEY_FILE_SUFFIX);

    return len >= slen && strcmp(name + len - slen, KEY_FILE_SUFFIX) == 0;
}

/* Writes data to dir/name atomically: a hidden temp file created 0600,
 * fchmod'ed to mode before any byte is written, fsync'ed, then renamed. */
static adm_err_t write_atomic(const char *dir, const char *name, const void *data, size_t len,
                              mode_t mode)
{
    adm_err_t result = ADM_OK;
    char tmp[PATH_MAX];
    char final[PATH_MAX];
    const uint8_t *p = data;
    int fd = -1;
    int n;

    n = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp ||
        (n = snprintf(final, sizeof final, "%s/%s", dir, name)) < 0 || (size_t)n >= sizeof final) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        tmp[0] = '\0';
        result = ADM_ERR_IO;
        goto out;
    }
    if (fchmod(fd, mode) != 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            result = ADM_ERR_IO;
            goto out;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        result = ADM_ERR_IO;
        goto out;
    }
    fd = -1;
    if (rename(tmp, final) != 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    tmp[0] = '\0';
out:
    if (fd >= 0)
        close(fd);
    if (result != ADM_OK && tmp[0] != '\0')
        unlink(tmp);
    return result;
}

adm_err_t adm_keyring_save_dir(const adm_keyring_t *kr, const char *dir)
{
    adm_err_t result = ADM_OK;
    char *json = NULL;
    DIR *d = NULL;
    struct dirent *de;
    struct stat st;
    char hex[KEY_FILE_LEN + 1];
    char name[KID_HEX_LEN + sizeof KEY_FILE_SUFFIX];
    int dfd = -1;
    size_t i;

    if (kr == NULL || dir == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        result = ADM_ERR_IO;
        goto out;
    }
    d = opendir(dir);
    if (d == NULL || fstat(dirfd(d), &st) != 0 || !S_ISDIR(st.st_mode)) {
        result = ADM_ERR_IO;
        goto out;
    }
    /* Never orphan the secret keys of another keyring saved in the same place. */
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint32_t kid;
        if (key_file_name(de->d_name, &kid) && find_key(kr, kid) < 0) {
            result = ADM_ERR_EXISTS;
            goto out;
        }
    }
    if (errno != 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    dfd = dirfd(d);
    /* keys.json first: a crash before a .key file is written leaves a key that
     * loads public-only, never a .key file that keys.json does not list */
    result = adm_keyring_public_json(kr, &json);
    if (result != ADM_OK)
        goto out;
    result = write_atomic(dir, KEYS_JSON, json, strlen(json), 0644);
    if (result != ADM_OK)
        goto out;
    for (i = 0; i < kr->n; i++) {
        if (!kr->keys[i].has_secret)
            continue;
        format_kid(kr->keys[i].kid, name);
        memcpy(name + KID_HEX_LEN, KEY_FILE_SUFFIX, sizeof KEY_FILE_SUFFIX);
        sodium_bin2hex(hex, sizeof hex, sk_slot(kr, i), ADM_KEY_SEED_BYTES);
        hex[KEY_FILE_LEN - 1] = '\n';
        result = write_atomic(dir, name, hex, KEY_FILE_LEN, 0600);
        sodium_memzero(hex, sizeof hex);
        if (result != ADM_OK)
            goto out;
    }
    if (fsync(dfd) != 0)
        result = ADM_ERR_IO;
out:
    sodium_memzero(hex, sizeof hex);
    if (d != NULL)
        closedir(d);
    free(json);
    return result;
}

/* Reads dir/name (a "<kid>.key" file) and attaches its secret to tmp's key kid. */
static adm_err_t load_key_file(adm_keyring_t *tmp, int dfd, const char *name, uint32_t kid)
{
    adm_err_t result = ADM_OK;
    char buf[KEY_FILE_LEN + 1];
    uint8_t seed[ADM_KEY_SEED_BYTES];
    uint8_t pk[ADM_KEY_PUBLIC_BYTES];
    size_t n = 0;
    struct stat st;
    long i;
    int fd;

    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        result = ADM_ERR_FORMAT;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            result = ADM_ERR_IO;
            goto out;
        }
        if (r == 0 || (n += (size_t)r) == sizeof buf)
            break;
    }
    if (n != KEY_FILE_LEN || buf[KEY_FILE_LEN - 1] != '\n' ||
        !unhex_strict(buf, KEY_FILE_LEN - 1, seed, sizeof seed)) {
        result = ADM_ERR_FORMAT;
        goto out;
    }
    i = find_key(tmp, kid);
    if (i < 0 || tmp->keys[i].has_secret) {
        result = ADM_ERR_FORMAT; /* not listed in keys.json */
        goto out;
    }
    if (crypto_sign_seed_keypair(pk, sk_slot(tmp, (size_t)i), seed) != 0) {
        result = ADM_ERR_CRYPTO;
        goto out;
    }
    if (memcmp(pk, tmp->keys[i].pk, sizeof pk) != 0) {
        sodium_memzero(sk_slot(tmp, (size_t)i), SK_BYTES);
        result = ADM_ERR_FORMAT; /* seed does not belong to that key id */
        goto out;
    }
    tmp->keys[i].has_secret = true;
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(seed, sizeof seed);
    return result;
}

adm_err_t adm_keyring_load_dir(adm_keyring_t *kr, const char *dir)
{
    adm_err_t result = ADM_OK;
    adm_keyring_t *tmp = NULL;
    char *json = NULL;
    size_t len = 0;
    DIR *d = NULL;
    struct dirent *de;

    if (kr == NULL || dir == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    d = opendir(dir);
    if (d == NULL) {
        result = ADM_ERR_IO;
        goto out;
    }
    result = adm_keyring_new(&tmp);
    if (result != ADM_OK)
        goto out;
    result = read_file_bounded(dirfd(d), KEYS_JSON, ADM_KEYRING_JSON_MAX, &json, &len);
    if (result == ADM_ERR_IO && errno == ENOENT) {
        /* no keys.json: an empty key directory, unless a .key file is found */
        result = ADM_OK;
    } else if (result == ADM_OK) {
        result = parse_public_doc(tmp, json, len);
    }
    if (result != ADM_OK)
        goto out;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint32_t kid;
        if (de->d_name[0] == '.' || !has_key_suffix(de->d_name))
            continue; /* ".", "..", temp files, unrelated files */
        if (!key_file_name(de->d_name, &kid)) {
            result = ADM_ERR_FORMAT;
            goto out;
        }
        result = load_key_file(tmp, dirfd(d), de->d_name, kid);
        if (result != ADM_OK)
            goto out;
        errno = 0;
    }
    if (errno != 0) {
        result = ADM_ERR_IO;
        goto out;
    }
    result = merge(kr, tmp);
    if (result != ADM_OK)
        goto out;
    pick_signing(kr);
out:
    if (d != NULL)
        closedir(d);
    free(json);
    adm_keyring_free(tmp);
    return result;
}
