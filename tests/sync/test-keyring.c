/* test-keyring.c: unit tests of sync/keyring.c: RFC 8032 vectors, key ids,
 * retirement and rotation, the public keyring document (including every
 * malformed case) and the key directory. Not for tokens (test-token.c). */
#include "sync/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil/testutil.h"

/* RFC 8032 §7.1, TEST 1-3; kid = first 4 bytes of BLAKE2b-256(public),
 * computed independently (Python hashlib.blake2b(digest_size=32)). */
static const struct {
    const char *seed, *pk, *msg, *sig;
    uint32_t kid;
} rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
     0x7849ac30},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
     0x6ec9e955},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
     0xa64ff339},
};

#define NVEC (sizeof rfc8032 / sizeof rfc8032[0])

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    CHECK_INT(adm_test_unhex(hex, out, n), (long)n);
}

static adm_keyring_t *new_keyring(void)
{
    adm_keyring_t *kr = NULL;

    CHECK_ERR(adm_keyring_new(&kr), ADM_OK);
    if (kr == NULL)
        abort();
    return kr;
}

static void test_rfc8032(void)
{
    size_t v;

    for (v = 0; v < NVEC; v++) {
        adm_keyring_t *kr = new_keyring();
        adm_keyring_t *pub = new_keyring();
        uint8_t seed[32], pk[32], msg[2], sig[64], out[64], back[32];
        size_t mlen = strlen(rfc8032[v].msg) / 2;
        uint32_t kid = 0, pkid = 0, skid = 0;

        unhex(rfc8032[v].seed, seed, 32);
        unhex(rfc8032[v].pk, pk, 32);
        unhex(rfc8032[v].msg, msg, mlen);
        unhex(rfc8032[v].sig, sig, 64);
        CHECK_INT(adm_key_id(pk), rfc8032[v].kid);

        CHECK_ERR(adm_keyring_add_seed(kr, seed, &kid), ADM_OK);
        CHECK_INT(kid, rfc8032[v].kid);
        CHECK_ERR(adm_keyring_signing_kid(kr, &skid), ADM_OK);
        CHECK_INT(skid, kid);
        CHECK_ERR(adm_keyring_export_seed(kr, kid, back), ADM_OK);
        CHECK_MEM(back, seed, 32);
        CHECK_ERR(adm_keyring_sign(kr, kid, msg, mlen, out), ADM_OK);
        CHECK_MEM(out, sig, 64);
        CHECK_ERR(adm_keyring_verify(kr, kid, msg, mlen, sig), ADM_OK);

        /* a scanner holding only the public key */
        CHECK_ERR(adm_keyring_add_public(pub, pk, false, &pkid), ADM_OK);
        CHECK_INT(pkid, rfc8032[v].kid);
        CHECK_ERR(adm_keyring_verify(pub, kid, msg, mlen, sig), ADM_OK);
        CHECK_ERR(adm_keyring_sign(pub, kid, msg, mlen, out), ADM_ERR_NOT_FOUND);
        CHECK_MEM(out, (uint8_t[64]){0}, 64); /* zeroed on failure */
        CHECK_ERR(adm_keyring_export_seed(pub, kid, back), ADM_ERR_NOT_FOUND);
        CHECK_ERR(adm_keyring_signing_kid(pub, &skid), ADM_ERR_NOT_FOUND);
        CHECK_INT(skid, 0);

        /* altered signature, altered message, unknown key */
        sig[v * 7] ^= 0x01;
        CHECK_ERR(adm_keyring_verify(pub, kid, msg, mlen, sig), ADM_ERR_TOKEN_SIGNATURE);
        sig[v * 7] ^= 0x01;
        CHECK_ERR(adm_keyring_verify(pub, kid, (const uint8_t *)"x", 1, sig),
                  ADM_ERR_TOKEN_SIGNATURE);
        CHECK_ERR(adm_keyring_verify(pub, kid ^ 1, msg, mlen, sig), ADM_ERR_TOKEN_KEY);
        CHECK_ERR(adm_keyring_verify(pub, 0, msg, mlen, sig), ADM_ERR_TOKEN_KEY);
        adm_keyring_free(kr);
        adm_keyring_free(pub);
    }
}

static void test_add_errors(void)
{
    adm_keyring_t *kr = new_keyring();
    uint8_t seed[32], pk[32], out[32], sig[64];
    uint32_t kid = 1;

    unhex(rfc8032[0].seed, seed, 32);
    unhex(rfc8032[0].pk, pk, 32);
    CHECK_INT(adm_keyring_count(kr), 0);
    CHECK_ERR(adm_keyring_signing_kid(kr, &kid), ADM_ERR_NOT_FOUND);
    CHECK_INT(kid, 0);
    CHECK_ERR(adm_keyring_add_seed(kr, seed, &kid), ADM_OK);
    CHECK_ERR(adm_keyring_add_seed(kr, seed, &kid), ADM_ERR_EXISTS);
    CHECK_ERR(adm_keyring_add_public(kr, pk, false, &kid), ADM_ERR_EXISTS);
    CHECK_INT(adm_keyring_count(kr), 1);
    CHECK_ERR(adm_keyring_retire(kr, 0x12345678), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_keyring_export_seed(kr, 0x12345678, out), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_keyring_sign(kr, 0x12345678, seed, 1, sig), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_keyring_sign(kr, 0, seed, 1, sig), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_keyring_new(NULL), ADM_ERR_INVALID_ARG);
    CHECK_INT(adm_keyring_count(NULL), 0);
    adm_keyring_free(NULL);
    adm_keyring_free(kr);
}

static void test_full(void)
{
    adm_keyring_t *kr = new_keyring();
    uint32_t kid = 0, last = 0, skid = 0;
    int i;

    for (i = 0; i < ADM_KEYRING_MAX_KEYS; i++)
        CHECK_ERR(adm_keyring_generate(kr, &last), ADM_OK);
    CHECK_INT(adm_keyring_count(kr), ADM_KEYRING_MAX_KEYS);
    CHECK_ERR(adm_keyring_generate(kr, &kid), ADM_ERR_TOO_BIG);
    CHECK_INT(kid, 0);
    CHECK_ERR(adm_keyring_signing_kid(kr, &skid), ADM_OK);
    CHECK_INT(skid, last);
    adm_keyring_free(kr);
}

/* two secret keys (the second signs), one retired public key */
static adm_keyring_t *sample_keyring(uint32_t kids[3])
{
    adm_keyring_t *kr = new_keyring();
    uint8_t seed[32], pk[32];

    unhex(rfc8032[0].seed, seed, 32);
    CHECK_ERR(adm_keyring_add_seed(kr, seed, &kids[0]), ADM_OK);
    unhex(rfc8032[1].seed, seed, 32);
    CHECK_ERR(adm_keyring_add_seed(kr, seed, &kids[1]), ADM_OK);
    unhex(rfc8032[2].pk, pk, 32);
    CHECK_ERR(adm_keyring_add_public(kr, pk, true, &kids[2]), ADM_OK);
    return kr;
}

static void test_json_round_trip(void)
{
    uint32_t kids[3];
    adm_keyring_t *kr = sample_keyring(kids);
    adm_keyring_t *pub = new_keyring();
    char *json = NULL, *json2 = NULL;
    uint8_t sig[64], msg[1] = {0x72};
    uint32_t kid;

    CHECK_ERR(adm_keyring_public_json(kr, &json), ADM_OK);
    CHECK(json != NULL && strstr(json, "\"format\": \"admit-keyring\"") != NULL);
    CHECK(strstr(json, "\"kid\": \"7849ac30\"") != NULL);
    CHECK(strstr(json, rfc8032[2].pk) != NULL);
    CHECK(strstr(json, rfc8032[0].seed) == NULL); /* never the secret */
    CHECK_ERR(adm_keyring_load_public_json(pub, json, strlen(json)), ADM_OK);
    CHECK_INT(adm_keyring_count(pub), 3);
    CHECK_ERR(adm_keyring_signing_kid(pub, &kid), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_keyring_public_json(pub, &json2), ADM_OK);
    CHECK_STR(json2, json);

    CHECK_ERR(adm_keyring_sign(kr, kids[0], msg, 1, sig), ADM_OK);
    CHECK_ERR(adm_keyring_verify(pub, kids[0], msg, 1, sig), ADM_OK);
    CHECK_ERR(adm_keyring_sign(kr, kids[1], msg, 1, sig), ADM_OK);
    CHECK_ERR(adm_keyring_verify(pub, kids[1], msg, 1, sig), ADM_OK);
    unhex(rfc8032[2].sig, sig, 64);
    CHECK_ERR(adm_keyring_verify(pub, kids[2], (const uint8_t *)"\xaf\x82", 2, sig),
              ADM_ERR_TOKEN_KEY_RETIRED);

    /* loading the same document again changes nothing */
    CHECK_ERR(adm_keyring_load_public_json(pub, json, strlen(json)), ADM_OK);
    CHECK_INT(adm_keyring_count(pub), 3);
    /* nor does loading it into the issuer's own keyring */
    CHECK_ERR(adm_keyring_load_public_json(kr, json, strlen(json)), ADM_OK);
    CHECK_INT(adm_keyring_count(kr), 3);
    CHECK_ERR(adm_keyring_signing_kid(kr, &kid), ADM_OK);
    CHECK_INT(kid, kids[1]);
    free(json);
    free(json2);
    adm_keyring_free(kr);
    adm_keyring_free(pub);
}

#define PK1 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define PK2 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
#define HEAD "{\"format\":\"admit-keyring\",\"version\":1,\"keys\":["
#define KEY1 "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1 "\",\"retired\":false}"
#define KEY2 "{\"kid\":\"6ec9e955\",\"alg\":\"Ed25519\",\"public\":\"" PK2 "\",\"retired\":false}"

static void test_json_malformed(void)
{
    static const char *bad[] = {
        "",
        "not json",
        "[]",
        "null",
        HEAD KEY1,        /* truncated */
        HEAD KEY1 "]} x", /* trailing garbage */
        HEAD KEY1 "]",    /* unterminated object */
        "{\"format\":\"admit-keys\",\"version\":1,\"keys\":[]}",
        "{\"format\":\"admit-keyring\",\"version\":2,\"keys\":[]}",
        "{\"format\":\"admit-keyring\",\"version\":\"1\",\"keys\":[]}",
        "{\"format\":\"admit-keyring\",\"version\":1.0,\"keys\":[]}",
        "{\"format\":\"admit-keyring\",\"version\":1,\"keys\":{}}",
        "{\"format\":\"admit-keyring\",\"version\":1}",
        "{\"version\":1,\"keys\":[]}",
        "{\"format\":\"admit-keyring\",\"keys\":[]}",
        "{\"format\":\"admit-keyring\",\"version\":1,\"keys\":[],\"extra\":0}",
        "{\"format\":\"admit-keyring\",\"format\":\"admit-keyring\",\"version\":1,\"keys\":[]}",
        HEAD "1]}",
        HEAD "null]}",
        HEAD KEY1 "," KEY1 "]}", /* the same key twice */
        HEAD KEY2 ",{}]}",       /* a good key, then a bad one: nothing is added */
        /* kid */
        HEAD "{\"kid\":\"7849ac31\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":false}]}",
        HEAD "{\"kid\":\"7849AC30\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":false}]}",
        HEAD "{\"kid\":\"7849ac3\",\"alg\":\"Ed25519\",\"public\":\"" PK1 "\",\"retired\":false}]}",
        HEAD "{\"kid\":\"07849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":false}]}",
        HEAD "{\"kid\":2018094128,\"alg\":\"Ed25519\",\"public\":\"" PK1 "\",\"retired\":false}]}",
        HEAD "{\"alg\":\"Ed25519\",\"public\":\"" PK1 "\",\"retired\":false}]}",
        /* alg */
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"ed25519\",\"public\":\"" PK1
             "\",\"retired\":false}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed448\",\"public\":\"" PK1 "\",\"retired\":false}]}",
        HEAD "{\"kid\":\"7849ac30\",\"public\":\"" PK1 "\",\"retired\":false}]}",
        /* public */
        HEAD
        "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":"
        "\"D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A\",\"retired\":false}]}",
        HEAD
        "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":"
        "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511\",\"retired\":false}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":"
             "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a00\",\"retired\":"
             "false}]}",
        HEAD
        "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":"
        "\"g75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"retired\":false}]}",
        HEAD
        "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":"
        "\" 75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"retired\":false}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"retired\":false}]}",
        /* retired, created, extra members */
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1 "\"}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1 "\",\"retired\":0}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":\"no\"}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":false,\"created\":-1}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":false,\"created\":\"2024\"}]}",
        HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\",\"public\":\"" PK1
             "\",\"retired\":false,\"secret\":\"00\"}]}",
    };
    uint32_t kids[3];
    adm_keyring_t *kr = sample_keyring(kids);
    char *before = NULL, *after = NULL;
    char *big;
    size_t i;

    CHECK_ERR(adm_keyring_public_json(kr, &before), ADM_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        adm_keyring_t *empty = new_keyring();
        adm_err_t e = adm_keyring_load_public_json(empty, bad[i], strlen(bad[i]));
        if (e != ADM_ERR_FORMAT)
            fprintf(stderr, "case %zu: %s\n", i, bad[i]);
        CHECK_ERR(e, ADM_ERR_FORMAT);
        CHECK_INT(adm_keyring_count(empty), 0);
        CHECK_ERR(adm_keyring_load_public_json(kr, bad[i], strlen(bad[i])), ADM_ERR_FORMAT);
        adm_keyring_free(empty);
    }
    /* an embedded NUL */
    CHECK_ERR(adm_keyring_load_public_json(kr, HEAD "]}\0", sizeof HEAD + 2), ADM_ERR_FORMAT);

    /* oversize: a valid document padded with whitespace past the limit */
    big = malloc(ADM_KEYRING_JSON_MAX + 2);
    if (big == NULL)
        abort();
    memset(big, ' ', ADM_KEYRING_JSON_MAX + 1);
    memcpy(big, HEAD KEY2 "]}", strlen(HEAD KEY2 "]}"));
    big[ADM_KEYRING_JSON_MAX + 1] = '\0';
    CHECK_ERR(adm_keyring_load_public_json(kr, big, ADM_KEYRING_JSON_MAX + 1), ADM_ERR_FORMAT);
    {
        adm_keyring_t *k2 = new_keyring();
        CHECK_ERR(adm_keyring_load_public_json(k2, big, ADM_KEYRING_JSON_MAX), ADM_OK);
        CHECK_INT(adm_keyring_count(k2), 1);
        adm_keyring_free(k2);
    }
    free(big);

    CHECK_INT(adm_keyring_count(kr), 3);
    CHECK_ERR(adm_keyring_public_json(kr, &after), ADM_OK);
    CHECK_STR(after, before);
    free(before);
    free(after);
    adm_keyring_free(kr);
}

static void test_json_invalid_point(void)
{
    /* a public key that is not a point of the curve, with its matching kid */
    uint8_t pk[32];
    char doc[512];
    char hex[65];
    adm_keyring_t *kr = new_keyring();
    size_t i;

    memset(pk, 0xff, sizeof pk);
    pk[31] = 0x7f; /* y = 2^255 - 1: not canonical */
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", pk[i]);
    snprintf(doc, sizeof doc,
             HEAD "{\"kid\":\"%08x\",\"alg\":\"Ed25519\",\"public\":\"%s\",\"retired\":false}]}",
             (unsigned)adm_key_id(pk), hex);
    CHECK_ERR(adm_keyring_load_public_json(kr, doc, strlen(doc)), ADM_ERR_FORMAT);
    CHECK_INT(adm_keyring_count(kr), 0);
    adm_keyring_free(kr);
}

static void test_json_edge_valid(void)
{
    static const char empty[] = "{\"format\":\"admit-keyring\",\"version\":1,\"keys\":[]}";
    static const char with_created[] = HEAD "{\"kid\":\"7849ac30\",\"alg\":\"Ed25519\","
                                            "\"public\":\"" PK1 "\",\"retired\":true,"
                                            "\"created\":1700000000}]}";
    adm_keyring_t *kr = new_keyring();
    uint8_t sig[64];
    uint32_t kid;

    CHECK_ERR(adm_keyring_load_public_json(kr, empty, strlen(empty)), ADM_OK);
    CHECK_INT(adm_keyring_count(kr), 0);
    CHECK_ERR(adm_keyring_load_public_json(kr, HEAD KEY1 "]}", strlen(HEAD KEY1 "]}")), ADM_OK);
    unhex(rfc8032[0].sig, sig, 64);
    CHECK_ERR(adm_keyring_verify(kr, 0x7849ac30, NULL, 0, sig), ADM_OK);
    /* a later document retires it; retirement is never undone */
    CHECK_ERR(adm_keyring_load_public_json(kr, with_created, strlen(with_created)), ADM_OK);
    CHECK_INT(adm_keyring_count(kr), 1);
    CHECK_ERR(adm_keyring_verify(kr, 0x7849ac30, NULL, 0, sig), ADM_ERR_TOKEN_KEY_RETIRED);
    CHECK_ERR(adm_keyring_load_public_json(kr, HEAD KEY1 "]}", strlen(HEAD KEY1 "]}")), ADM_OK);
    CHECK_ERR(adm_keyring_verify(kr, 0x7849ac30, NULL, 0, sig), ADM_ERR_TOKEN_KEY_RETIRED);
    CHECK_ERR(adm_keyring_signing_kid(kr, &kid), ADM_ERR_NOT_FOUND);
    adm_keyring_free(kr);

    /* a document that retires the issuer's own signing key moves signing on */
    {
        uint8_t seed[32];
        uint32_t a, b;
        kr = new_keyring();
        unhex(rfc8032[1].seed, seed, 32);
        CHECK_ERR(adm_keyring_add_seed(kr, seed, &b), ADM_OK);
        unhex(rfc8032[0].seed, seed, 32);
        CHECK_ERR(adm_keyring_add_seed(kr, seed, &a), ADM_OK);
        CHECK_ERR(adm_keyring_signing_kid(kr, &kid), ADM_OK);
        CHECK_INT(kid, a);
        CHECK_ERR(adm_keyring_load_public_json(kr, with_created, strlen(with_created)), ADM_OK);
        CHECK_ERR(adm_keyring_signing_kid(kr, &kid), ADM_OK);
        CHECK_INT(kid, b);
        adm_keyring_free(kr);
    }
}

/* the example of docs/ticket-format.md §4.2, verbatim */
static void test_spec_example(void)
{
    static const char doc[] =
        "{\n"
        "  \"format\": \"admit-keyring\",\n"
        "  \"version\": 1,\n"
        "  \"keys\": [\n"
        "    {\n"
        "      \"kid\": \"9d24e2ee\",\n"
        "      \"alg\": \"Ed25519\",\n"
        "      \"public\": \"03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8\",\n"
        "      \"retired\": false,\n"
        "      \"created\": 1767225600\n"
        "    }\n"
        "  ]\n"
        "}\n";
    adm_keyring_t *kr = new_keyring();
    char *json = NULL;

    CHECK_ERR(adm_keyring_load_public_json(kr, doc, strlen(doc)), ADM_OK);
    CHECK_INT(adm_keyring_count(kr), 1);
    CHECK_ERR(adm_keyring_public_json(kr, &json), ADM_OK);
    CHECK(json != NULL && strncmp(json, doc, strlen(doc) - 1) == 0);
    free(json);
    adm_keyring_free(kr);
}

static void test_json_full(void)
{
    adm_keyring_t *kr = new_keyring();
    adm_keyring_t *other = new_keyring();
    char *json = NULL;
    uint32_t kid;
    int i;

    for (i = 0; i < ADM_KEYRING_MAX_KEYS; i++)
        CHECK_ERR(adm_keyring_generate(kr, &kid), ADM_OK);
    CHECK_ERR(adm_keyring_generate(other, &kid), ADM_OK);
    CHECK_ERR(adm_keyring_public_json(other, &json), ADM_OK);
    /* one more key than fits: refused as a whole */
    CHECK_ERR(adm_keyring_load_public_json(kr, json, strlen(json)), ADM_ERR_TOO_BIG);
    CHECK_INT(adm_keyring_count(kr), ADM_KEYRING_MAX_KEYS);
    /* a document listing 65 keys is refused even by an empty keyring */
    {
        char *json64 = NULL, *doc;
        const char *obj = strchr(json, '[') + 1;
        size_t objlen = (size_t)(strrchr(json, ']') - obj);
        size_t cut;
        adm_keyring_t *fresh = new_keyring();
        CHECK_ERR(adm_keyring_public_json(kr, &json64), ADM_OK);
        cut = (size_t)(strrchr(json64, ']') - json64);
        doc = malloc(strlen(json64) + objlen + 2);
        if (doc == NULL)
            abort();
        memcpy(doc, json64, cut);
        doc[cut] = ',';
        memcpy(doc + cut + 1, obj, objlen);
        strcpy(doc + cut + 1 + objlen, json64 + cut);
        CHECK_ERR(adm_keyring_load_public_json(fresh, doc, strlen(doc)), ADM_ERR_TOO_BIG);
        CHECK_INT(adm_keyring_count(fresh), 0);
        doc[cut] = ' '; /* the 64 keys alone load */
        memset(doc + cut + 1, ' ', objlen);
        CHECK_ERR(adm_keyring_load_public_json(fresh, doc, strlen(doc)), ADM_OK);
        CHECK_INT(adm_keyring_count(fresh), ADM_KEYRING_MAX_KEYS);
        free(doc);
        free(json64);
        adm_keyring_free(fresh);
    }
    free(json);
    adm_keyring_free(kr);
    adm_keyring_free(other);
}

static void test_retirement(void)
{
    adm_keyring_t *kr = new_keyring();
    uint8_t seed[32], sig[64], msg[1] = {0x72};
    uint32_t kid, skid;

    unhex(rfc8032[1].seed, seed, 32);
    CHECK_ERR(adm_keyring_add_seed(kr, seed, &kid), ADM_OK);
    CHECK_ERR(adm_keyring_sign(kr, kid, msg, 1, sig), ADM_OK);
    CHECK_ERR(adm_keyring_retire(kr, kid), ADM_OK);
    CHECK_ERR(adm_keyring_retire(kr, kid), ADM_OK); /* idempotent */
    CHECK_ERR(adm_keyring_verify(kr, kid, msg, 1, sig), ADM_ERR_TOKEN_KEY_RETIRED);
    CHECK_ERR(adm_keyring_sign(kr, kid, msg, 1, sig), ADM_ERR_TOKEN_KEY_RETIRED);
    CHECK_MEM(sig, (uint8_t[64]){0}, 64);
    CHECK_ERR(adm_keyring_signing_kid(kr, &skid), ADM_ERR_NOT_FOUND);
    /* the seed stays exportable, for the issuer's records */
    CHECK_ERR(adm_keyring_export_seed(kr, kid, seed), ADM_OK);
    adm_keyring_free(kr);
}

static void test_rotation(void)
{
    adm_keyring_t *issuer = new_keyring();
    adm_keyring_t *scanner = new_keyring();
    uint8_t sig_a[64], sig_b[64], msg[3] = {1, 2, 3};
    uint32_t a, b, skid;
    char *json = NULL;

    CHECK_ERR(adm_keyring_generate(issuer, &a), ADM_OK);
    CHECK_ERR(adm_keyring_generate(issuer, &b), ADM_OK);
    CHECK(a != b);
    CHECK_ERR(adm_keyring_signing_kid(issuer, &skid), ADM_OK);
    CHECK_INT(skid, b);
    CHECK_ERR(adm_keyring_sign(issuer, a, msg, 3, sig_a), ADM_OK);
    CHECK_ERR(adm_keyring_sign(issuer, b, msg, 3, sig_b), ADM_OK);

    CHECK_ERR(adm_keyring_public_json(issuer, &json), ADM_OK);
    CHECK_ERR(adm_keyring_load_public_json(scanner, json, strlen(json)), ADM_OK);
    free(json);
    CHECK_ERR(adm_keyring_verify(scanner, a, msg, 3, sig_a), ADM_OK);
    CHECK_ERR(adm_keyring_verify(scanner, b, msg, 3, sig_b), ADM_OK);
    CHECK_ERR(adm_keyring_verify(scanner, a, msg, 3, sig_b), ADM_ERR_TOKEN_SIGNATURE);

    /* the old key is retired at the issuer, the scanner syncs */
    CHECK_ERR(adm_keyring_retire(issuer, a), ADM_OK);
    CHECK_ERR(adm_keyring_signing_kid(issuer, &skid), ADM_OK);
    CHECK_INT(skid, b);
    CHECK_ERR(adm_keyring_public_json(issuer, &json), ADM_OK);
    CHECK_ERR(adm_keyring_load_public_json(scanner, json, strlen(json)), ADM_OK);
    free(json);
    CHECK_ERR(adm_keyring_verify(scanner, a, msg, 3, sig_a), ADM_ERR_TOKEN_KEY_RETIRED);
    CHECK_ERR(adm_keyring_verify(scanner, b, msg, 3, sig_b), ADM_OK);

    /* retiring the signing key falls back to the newest active one, if any */
    CHECK_ERR(adm_keyring_retire(issuer, b), ADM_OK);
    CHECK_ERR(adm_keyring_signing_kid(issuer, &skid), ADM_ERR_NOT_FOUND);
    adm_keyring_free(issuer);
    adm_keyring_free(scanner);
}

static void test_retire_signing_falls_back(void)
{
    adm_keyring_t *kr = new_keyring();
    uint32_t a, b, skid;

    CHECK_ERR(adm_keyring_generate(kr, &a), ADM_OK);
    CHECK_ERR(adm_keyring_generate(kr, &b), ADM_OK);
    CHECK_ERR(adm_keyring_retire(kr, b), ADM_OK);
    CHECK_ERR(adm_keyring_signing_kid(kr, &skid), ADM_OK);
    CHECK_INT(skid, a);
    adm_keyring_free(kr);
}

static int file_mode(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs(data, f);
    fclose(f);
}

static void test_dir_round_trip(void)
{
    uint32_t kids[3];
    adm_keyring_t *kr = sample_keyring(kids);
    adm_keyring_t *back = new_keyring();
    char dir[4200], path[4300];
    uint8_t s1[32], s2[32], sig[64];
    char *content;
    size_t len = 0;
    uint32_t kid = 0, skid = 0;

    snprintf(dir, sizeof dir, "%s/keys", adm_test_tmpdir());
    CHECK_ERR(adm_keyring_save_dir(kr, dir), ADM_OK);
    CHECK_INT(file_mode(dir), 0700);
    snprintf(path, sizeof path, "%s/7849ac30.key", dir);
    CHECK_INT(file_mode(path), 0600);
    content = adm_test_read_file(path, &len);
    CHECK(content != NULL);
    CHECK_INT(len, 65);
    if (content != NULL)
        CHECK_STR(content, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
    free(content);
    snprintf(path, sizeof path, "%s/6ec9e955.key", dir);
    CHECK_INT(file_mode(path), 0600);
    snprintf(path, sizeof path, "%s/a64ff339.key", dir); /* public-only: no file */
    CHECK_INT(file_mode(path), -1);
    snprintf(path, sizeof path, "%s/keys.json", dir);
    CHECK_INT(file_mode(path), 0644);
    /* an unrelated file is ignored */
    snprintf(path, sizeof path, "%s/README", dir);
    write_file(path, "keys of the test issuer\n");

    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_OK);
    CHECK_INT(adm_keyring_count(back), 3);
    CHECK_ERR(adm_keyring_signing_kid(back, &skid), ADM_OK);
    CHECK_INT(skid, kids[1]);
    CHECK_ERR(adm_keyring_export_seed(back, kids[0], s1), ADM_OK);
    unhex(rfc8032[0].seed, s2, 32);
    CHECK_MEM(s1, s2, 32);
    CHECK_ERR(adm_keyring_export_seed(back, kids[2], s1), ADM_ERR_NOT_FOUND);
    unhex(rfc8032[2].sig, sig, 64);
    CHECK_ERR(adm_keyring_verify(back, kids[2], (const uint8_t *)"\xaf\x82", 2, sig),
              ADM_ERR_TOKEN_KEY_RETIRED);

    /* saving again over the same directory, after a rotation, and reloading */
    CHECK_ERR(adm_keyring_generate(back, &kid), ADM_OK);
    CHECK_ERR(adm_keyring_save_dir(back, dir), ADM_OK);
    adm_keyring_free(kr);
    kr = new_keyring();
    CHECK_ERR(adm_keyring_load_dir(kr, dir), ADM_OK);
    CHECK_INT(adm_keyring_count(kr), 4);
    CHECK_ERR(adm_keyring_signing_kid(kr, &skid), ADM_OK);
    CHECK_INT(skid, kid);

    /* a different keyring never overwrites this directory */
    {
        adm_keyring_t *other = new_keyring();
        CHECK_ERR(adm_keyring_generate(other, &kid), ADM_OK);
        CHECK_ERR(adm_keyring_save_dir(other, dir), ADM_ERR_EXISTS);
        adm_keyring_free(other);
    }
    adm_keyring_free(kr);
    adm_keyring_free(back);
}

static void test_dir_errors(void)
{
    uint32_t kids[3];
    adm_keyring_t *kr = sample_keyring(kids);
    adm_keyring_t *back = new_keyring();
    char dir[4200], path[4300];

    snprintf(dir, sizeof dir, "%s/missing", adm_test_tmpdir());
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_IO);
    CHECK_ERR(mkdir(dir, 0700) == 0 ? ADM_OK : ADM_ERR_IO, ADM_OK);
    /* an empty directory is an empty keyring; a key file without keys.json is not */
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_OK);
    CHECK_INT(adm_keyring_count(back), 0);
    snprintf(path, sizeof path, "%s/7849ac30.key", dir);
    write_file(path, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    CHECK_INT(adm_keyring_count(back), 0);
    /* keys.json that is not a file */
    snprintf(path, sizeof path, "%s/keys.json", dir);
    CHECK_INT(mkdir(path, 0700), 0);
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_IO);
    rmdir(path);

    CHECK_ERR(adm_keyring_save_dir(kr, dir), ADM_OK);
    snprintf(path, sizeof path, "%s/7849ac30.key", dir);

    /* uppercase hex */
    write_file(path, "9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    /* no newline, short, long */
    write_file(path, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    write_file(path, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    write_file(path, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    /* the seed of another key under this key id */
    write_file(path, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    write_file(path, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_OK);
    CHECK_INT(adm_keyring_count(back), 3);
    adm_keyring_free(back);
    back = new_keyring();

    /* a key file that keys.json does not list */
    snprintf(path, sizeof path, "%s/01234567.key", dir);
    write_file(path, "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    unlink(path);
    /* a badly named key file */
    snprintf(path, sizeof path, "%s/issuer.key", dir);
    write_file(path, "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7\n");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    unlink(path);
    /* a broken keys.json */
    snprintf(path, sizeof path, "%s/keys.json", dir);
    write_file(path, "{\"format\":\"admit-keyring\"");
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    CHECK_INT(adm_keyring_count(back), 0);
    CHECK_ERR(adm_keyring_load_public_file(back, path), ADM_ERR_FORMAT);
    snprintf(path, sizeof path, "%s/nothing.json", dir);
    CHECK_ERR(adm_keyring_load_public_file(back, path), ADM_ERR_IO);
    /* an oversize file is refused without reading it all */
    {
        FILE *f;
        size_t i;
        snprintf(path, sizeof path, "%s/big.json", dir);
        f = fopen(path, "w");
        CHECK(f != NULL);
        if (f != NULL) {
            fputs("{\"format\":\"admit-keyring\",\"version\":1,\"keys\":[]}", f);
            for (i = 0; i < ADM_KEYRING_JSON_MAX; i++)
                fputc(' ', f);
            fclose(f);
        }
        CHECK_ERR(adm_keyring_load_public_file(back, path), ADM_ERR_FORMAT);
        unlink(path);
    }
    adm_keyring_free(back);
    back = new_keyring();
    /* a directory where a key file should be */
    CHECK_ERR(adm_keyring_save_dir(kr, dir), ADM_OK);
    snprintf(path, sizeof path, "%s/0badc0de.key", dir);
    CHECK_INT(mkdir(path, 0700), 0);
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_ERR_FORMAT);
    rmdir(path);
    CHECK_ERR(adm_keyring_load_dir(back, dir), ADM_OK);
    CHECK_INT(adm_keyring_count(back), 3);
    adm_keyring_free(kr);
    adm_keyring_free(back);
}

static void test_load_public_file(void)
{
    uint32_t kids[3];
    adm_keyring_t *kr = sample_keyring(kids);
    adm_keyring_t *pub = new_keyring();
    char path[4300];
    char *json = NULL;

    CHECK_ERR(adm_keyring_public_json(kr, &json), ADM_OK);
    snprintf(path, sizeof path, "%s/public.json", adm_test_tmpdir());
    write_file(path, json);
    CHECK_ERR(adm_keyring_load_public_file(pub, path), ADM_OK);
    CHECK_INT(adm_keyring_count(pub), 3);
    free(json);
    adm_keyring_free(kr);
    adm_keyring_free(pub);
}

int main(void)
{
    if (adm_crypto_init() != ADM_OK || adm_crypto_init() != ADM_OK)
        return 1;
    ADM_RUN(test_rfc8032);
    ADM_RUN(test_add_errors);
    ADM_RUN(test_full);
    ADM_RUN(test_json_round_trip);
    ADM_RUN(test_json_malformed);
    ADM_RUN(test_json_invalid_point);
    ADM_RUN(test_json_edge_valid);
    ADM_RUN(test_spec_example);
    ADM_RUN(test_json_full);
    ADM_RUN(test_retirement);
    ADM_RUN(test_rotation);
    ADM_RUN(test_retire_signing_falls_back);
    ADM_RUN(test_dir_round_trip);
    ADM_RUN(test_dir_errors);
    ADM_RUN(test_load_public_file);
    return adm_test_done();
}
