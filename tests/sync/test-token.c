/* test-token.c: unit tests of sync/token.c: round trips, every decode error
 * with a hand-built input, bit flips, truncations, size limits and the
 * reference vectors of tests/vectors/token-v1.txt. Not for QR codes. */
#include "sync/token.h"

#include <sodium.h>

#include "sync/base45.h"
#include "tests/testutil/testutil.h"

#define HAS_FROM 0x04
#define HAS_UNTIL 0x08
#define HAS_LABEL 0x10

/* the test issuer: key A of the vectors file (seed 00 01 .. 1f) */
static const char seed_a_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char seed_b_hex[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
static adm_keyring_t *issuer;  /* secret A (signing), secret B (retired) */
static adm_keyring_t *scanner; /* public A, public B retired */
static uint32_t kid_a, kid_b;

static void setup(void)
{
    uint8_t seed[32], pk[32], sk[64];
    uint32_t kid;

    if (adm_keyring_new(&issuer) != ADM_OK || adm_keyring_new(&scanner) != ADM_OK)
        abort();
    adm_test_unhex(seed_b_hex, seed, 32);
    CHECK_ERR(adm_keyring_add_seed(issuer, seed, &kid_b), ADM_OK);
    CHECK_ERR(adm_keyring_retire(issuer, kid_b), ADM_OK);
    crypto_sign_seed_keypair(pk, sk, seed);
    CHECK_ERR(adm_keyring_add_public(scanner, pk, true, &kid), ADM_OK);
    adm_test_unhex(seed_a_hex, seed, 32);
    CHECK_ERR(adm_keyring_add_seed(issuer, seed, &kid_a), ADM_OK);
    crypto_sign_seed_keypair(pk, sk, seed);
    CHECK_ERR(adm_keyring_add_public(scanner, pk, false, &kid), ADM_OK);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(seed, sizeof seed);
}

static adm_ticket_t ticket(uint32_t event, uint64_t id, uint32_t type)
{
    adm_ticket_t t;

    memset(&t, 0, sizeof t);
    t.event_id = event;
    t.ticket_id = id;
    t.type_id = type;
    return t;
}

static void check_same(const adm_ticket_t *got, const adm_ticket_t *want, uint32_t kid)
{
    CHECK_INT(got->key_id, kid);
    CHECK_INT(got->event_id, want->event_id);
    CHECK(got->ticket_id == want->ticket_id);
    CHECK_INT(got->type_id, want->type_id);
    CHECK_INT(got->flags, want->flags);
    CHECK_INT(got->has_valid_from, want->has_valid_from);
    CHECK_INT(got->has_valid_until, want->has_valid_until);
    CHECK_INT(got->valid_from, want->has_valid_from ? want->valid_from : 0);
    CHECK_INT(got->valid_until, want->has_valid_until ? want->valid_until : 0);
    CHECK_STR(got->label, want->label);
}

static bool is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* Decodes exactly len bytes from a heap copy of that size, so that ASan
 * catches any read past the end; checks the zeroing contract on failure. */
static adm_err_t decode_exact(const char *text, size_t len, const adm_keyring_t *kr,
                              adm_ticket_t *t)
{
    char *copy = malloc(len ? len : 1);
    adm_err_t e;

    if (copy == NULL)
        abort();
    memcpy(copy, text, len);
    memset(t, 0xA5, sizeof *t);
    e = adm_token_decode(copy, len, kr, t);
    if (e != ADM_OK)
        CHECK(is_zero(t, sizeof *t));
    free(copy);
    return e;
}

static adm_err_t decode_str(const char *text, adm_ticket_t *t)
{
    return decode_exact(text, strlen(text), scanner, t);
}

/* ---- hand-built binary tokens ---- */

struct bin {
    uint8_t b[256];
    size_t n;
};

static void put32(struct bin *x, uint32_t v)
{
    x->b[x->n++] = (uint8_t)(v >> 24);
    x->b[x->n++] = (uint8_t)(v >> 16);
    x->b[x->n++] = (uint8_t)(v >> 8);
    x->b[x->n++] = (uint8_t)v;
}

/* version, flags, key id, event 1, ticket 1, type 1 */
static struct bin fixed(uint8_t version, uint8_t flags, uint32_t kid)
{
    struct bin x = {.n = 0};

    x.b[x.n++] = version;
    x.b[x.n++] = flags;
    put32(&x, kid);
    put32(&x, 1);
    put32(&x, 0);
    put32(&x, 1);
    put32(&x, 1);
    return x;
}

/* appends the Ed25519 signature of everything so far, made with kid */
static void sign_with(struct bin *x, const adm_keyring_t *kr, uint32_t kid)
{
    CHECK_ERR(adm_keyring_sign(kr, kid, x->b, x->n, x->b + x->n), ADM_OK);
    x->n += 64;
}

static void sign(struct bin *x)
{
    sign_with(x, issuer, kid_a);
}

/* "AD1:" + Base45(x) into text */
static void text_of(const struct bin *x, char *text, size_t cap)
{
    size_t n = 0;

    memcpy(text, ADM_TOKEN_PREFIX, ADM_TOKEN_PREFIX_LEN);
    CHECK_ERR(adm_base45_encode(x->b, x->n, text + 4, cap - 4, &n), ADM_OK);
}

static adm_err_t decode_bin(const struct bin *x)
{
    char text[512];
    adm_ticket_t t;

    text_of(x, text, sizeof text);
    return decode_exact(text, strlen(text), scanner, &t);
}

/* ---- tests ---- */

static void test_round_trip_basic(void)
{
    adm_ticket_t t = ticket(2024, 1234567890123ull, 3), got;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len = 0;

    t.flags = ADM_TICKET_REENTRY;
    t.key_id = 0x12345678; /* ignored by encode */
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    CHECK_INT(len, strlen(text));
    CHECK_INT(len, 133);
    CHECK(strncmp(text, "AD1:", 4) == 0);
    CHECK_ERR(decode_str(text, &got), ADM_OK);
    check_same(&got, &t, kid_a);
    /* explicit kid equals the signing key */
    CHECK_ERR(adm_token_encode(&t, issuer, kid_a, text, sizeof text, &len), ADM_OK);
    CHECK_ERR(decode_str(text, &got), ADM_OK);
    CHECK_INT(got.key_id, kid_a);
}

/* a random label of valid UTF-8 without control characters, up to 32 bytes */
static void random_label(char *out)
{
    size_t n = 0;
    size_t want = (size_t)(adm_test_rand() % (ADM_TOKEN_LABEL_MAX + 1));

    while (n < want) {
        uint32_t cp;
        uint8_t u[4];
        size_t k;
        switch (adm_test_rand() % 4) {
        case 0:
            cp = 0x20 + (uint32_t)(adm_test_rand() % 0x5F); /* printable ASCII */
            break;
        case 1:
            cp = 0xA0 + (uint32_t)(adm_test_rand() % (0x800 - 0xA0));
            break;
        case 2:
            do
                cp = 0x800 + (uint32_t)(adm_test_rand() % (0x10000 - 0x800));
            while (cp >= 0xD800 && cp <= 0xDFFF);
            break;
        default:
            cp = 0x10000 + (uint32_t)(adm_test_rand() % (0x110000 - 0x10000));
            break;
        }
        if (cp < 0x80) {
            u[0] = (uint8_t)cp;
            k = 1;
        } else if (cp < 0x800) {
            u[0] = (uint8_t)(0xC0 | cp >> 6);
            u[1] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            u[0] = (uint8_t)(0xE0 | cp >> 12);
            u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            u[2] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            u[0] = (uint8_t)(0xF0 | cp >> 18);
            u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
            u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            u[3] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 4;
        }
        if (n + k > ADM_TOKEN_LABEL_MAX)
            break;
        memcpy(out + n, u, k);
        n += k;
    }
    out[n] = '\0';
}

static bool qr_alphanumeric(const char *s)
{
    for (; *s; s++)
        if (strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", *s) == NULL)
            return false;
    return true;
}

static void test_round_trip_random(void)
{
    int iter;

    adm_test_seed(20240601);
    for (iter = 0; iter < 3000; iter++) {
        adm_ticket_t t, got;
        char text[ADM_TOKEN_TEXT_MAX + 1];
        uint8_t signed_bytes[ADM_TOKEN_BYTES_MAX], sig[64];
        size_t len = 0, slen = 0, expect;

        t = ticket((uint32_t)(adm_test_rand() % UINT32_MAX) + 1, adm_test_rand() % UINT64_MAX + 1,
                   (uint32_t)(adm_test_rand() % UINT32_MAX) + 1);
        t.flags = (uint8_t)(adm_test_rand() & ADM_TICKET_FLAGS_PUBLIC);
        t.has_valid_from = adm_test_rand() & 1;
        t.has_valid_until = adm_test_rand() & 1;
        t.valid_from = (int64_t)(adm_test_rand() & 0xFFFFFFFFu);
        t.valid_until = (int64_t)(adm_test_rand() & 0xFFFFFFFFu);
        if (t.has_valid_from && t.has_valid_until && t.valid_from > t.valid_until) {
            int64_t s = t.valid_from;
            t.valid_from = t.valid_until;
            t.valid_until = s;
        }
        if (adm_test_rand() & 1)
            random_label(t.label);

        CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
        expect = 22 + 64 + (t.has_valid_from ? 4 : 0) + (t.has_valid_until ? 4 : 0) +
                 (t.label[0] ? 1 + strlen(t.label) : 0);
        CHECK_INT(len, 4 + ADM_BASE45_ENCODED_LEN(expect));
        CHECK(len <= ADM_TOKEN_TEXT_MAX);
        CHECK(qr_alphanumeric(text));
        CHECK_ERR(decode_exact(text, len, scanner, &got), ADM_OK);
        check_same(&got, &t, kid_a);
        CHECK_ERR(adm_token_parse(text, len, &got, signed_bytes, &slen, sig), ADM_OK);
        CHECK_INT(slen, expect - 64);
        CHECK_ERR(adm_keyring_verify(scanner, kid_a, signed_bytes, slen, sig), ADM_OK);
    }
}

static void test_sizes(void)
{
    adm_ticket_t t = ticket(1, 1, 1), got;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len = 0;

    CHECK_INT(ADM_TOKEN_BYTES_MAX, 127);
    CHECK_INT(ADM_TOKEN_TEXT_MAX, 195);
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    CHECK_INT(len, 133); /* 86 bytes */
    t.has_valid_from = t.has_valid_until = true;
    t.valid_from = 1;
    t.valid_until = 2;
    memcpy(t.label, "123456789012345678901", 22); /* 21 bytes: QR version 7-M */
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    CHECK_INT(len, 178);
    memcpy(t.label, "1234567890123456789012", 23); /* 22 bytes */
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    CHECK_INT(len, 180); /* 117 bytes: past version 7-M */
    memcpy(t.label, "12345678901234567890123456789012", 33);
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    CHECK_INT(len, ADM_TOKEN_TEXT_MAX);
    CHECK_ERR(decode_exact(text, len, scanner, &got), ADM_OK);
    check_same(&got, &t, kid_a);
}

static void test_encode_errors(void)
{
    adm_ticket_t t = ticket(1, 1, 1);
    adm_keyring_t *empty = NULL;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len = 99;
    static const char *bad_labels[] = {
        "\t",       "a\nb",         "\x7f",         "\xc2\x80",         "\xc2\x9f",
        "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\x80",     "\xe2\x82",     "\xff"};
    size_t i;

#define ENC_FAIL(expr, err)                                                                        \
    do {                                                                                           \
        adm_ticket_t c_ = t;                                                                       \
        expr;                                                                                      \
        memset(text, 'x', sizeof text);                                                            \
        len = 99;                                                                                  \
        CHECK_ERR(adm_token_encode(&c_, issuer, 0, text, sizeof text, &len), err);                 \
        CHECK_INT(len, 0);                                                                         \
        CHECK(is_zero(text, sizeof text));                                                         \
    } while (0)

    ENC_FAIL(c_.flags = 0x04, ADM_ERR_TOKEN_FIELD);
    ENC_FAIL(c_.flags = 0x80, ADM_ERR_TOKEN_FIELD);
    ENC_FAIL(c_.event_id = 0, ADM_ERR_TOKEN_FIELD);
    ENC_FAIL(c_.ticket_id = 0, ADM_ERR_TOKEN_FIELD);
    ENC_FAIL(c_.type_id = 0, ADM_ERR_TOKEN_FIELD);
    ENC_FAIL((c_.has_valid_from = true, c_.valid_from = -1), ADM_ERR_TOKEN_FIELD);
    ENC_FAIL((c_.has_valid_until = true, c_.valid_until = (int64_t)UINT32_MAX + 1),
             ADM_ERR_TOKEN_FIELD);
    ENC_FAIL(
        (c_.has_valid_from = c_.has_valid_until = true, c_.valid_from = 10, c_.valid_until = 9),
        ADM_ERR_TOKEN_FIELD);
    ENC_FAIL(memset(c_.label, 'x', sizeof c_.label), ADM_ERR_TOKEN_FIELD); /* no NUL */
    for (i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++)
        ENC_FAIL(strcpy(c_.label, bad_labels[i]), ADM_ERR_TOKEN_FIELD);
    /* out-of-range times are ignored when absent */
    t.valid_from = -5;
    t.valid_until = INT64_MAX;
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    /* equal times are allowed */
    t.has_valid_from = t.has_valid_until = true;
    t.valid_from = t.valid_until = UINT32_MAX;
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);

    /* keys */
    t = ticket(1, 1, 1);
    CHECK_ERR(adm_keyring_new(&empty), ADM_OK);
    CHECK_ERR(adm_token_encode(&t, empty, 0, text, sizeof text, &len), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_token_encode(&t, scanner, 0, text, sizeof text, &len), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_token_encode(&t, scanner, kid_a, text, sizeof text, &len), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_token_encode(&t, issuer, 0x01020304, text, sizeof text, &len), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_token_encode(&t, issuer, kid_b, text, sizeof text, &len),
              ADM_ERR_TOKEN_KEY_RETIRED);
    adm_keyring_free(empty);

    /* output buffer: exactly 133 + NUL fits */
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, 134, &len), ADM_OK);
    CHECK_INT(len, 133);
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, 133, &len), ADM_ERR_TOO_BIG);
    CHECK_INT(len, 0);
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, 0, &len), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_token_encode(NULL, issuer, 0, text, sizeof text, &len), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_token_encode(&t, NULL, 0, text, sizeof text, &len), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_token_encode(&t, issuer, 0, NULL, 0, &len), ADM_ERR_INVALID_ARG);
#undef ENC_FAIL
}

static void test_label_utf8(void)
{
    static const char *good[] = {"A",
                                 " ",
                                 "~",
                                 "\xc2\xa0",
                                 "\xc3\xa9",
                                 "\xdf\xbf",
                                 "\xe0\xa0\x80",
                                 "\xe2\x82\xac",
                                 "\xed\x9f\xbf",
                                 "\xee\x80\x80",
                                 "\xef\xbf\xbd",
                                 "\xf0\x90\x80\x80",
                                 "\xf0\x9d\x84\x9e",
                                 "\xf4\x8f\xbf\xbf"};
    size_t i;

    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        adm_ticket_t t = ticket(1, 1, 1), got;
        char text[ADM_TOKEN_TEXT_MAX + 1];
        size_t len;
        strcpy(t.label, good[i]);
        CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
        CHECK_ERR(decode_exact(text, len, scanner, &got), ADM_OK);
        CHECK_STR(got.label, good[i]);
    }
}

static void test_decode_oversize(void)
{
    char text[ADM_TOKEN_TEXT_MAX + 2];
    adm_ticket_t t;

    memset(text, '0', sizeof text);
    memcpy(text, "AD1:", 4);
    CHECK_ERR(decode_exact(text, ADM_TOKEN_TEXT_MAX + 1, scanner, &t), ADM_ERR_TOKEN_OVERSIZE);
    /* checked before anything else */
    memset(text, 'x', sizeof text);
    CHECK_ERR(decode_exact(text, ADM_TOKEN_TEXT_MAX + 1, scanner, &t), ADM_ERR_TOKEN_OVERSIZE);
    CHECK_ERR(decode_exact(text, sizeof text, scanner, &t), ADM_ERR_TOKEN_OVERSIZE);
    CHECK_ERR(adm_token_decode(text, SIZE_MAX, scanner, &t), ADM_ERR_TOKEN_OVERSIZE);
}

static void test_decode_prefix(void)
{
    struct bin x = fixed(1, 0, kid_a);
    char text[512];
    adm_ticket_t t;

    sign(&x);
    text_of(&x, text, sizeof text);
    CHECK_ERR(decode_str(text, &t), ADM_OK);
    CHECK_ERR(decode_exact(text, 0, scanner, &t), ADM_ERR_TOKEN_PREFIX);
    CHECK_ERR(decode_exact(text, 3, scanner, &t), ADM_ERR_TOKEN_PREFIX);
    CHECK_ERR(adm_token_decode(NULL, 0, scanner, &t), ADM_ERR_TOKEN_PREFIX);
    text[0] = 'a';
    CHECK_ERR(decode_str(text, &t), ADM_ERR_TOKEN_PREFIX);
    text[0] = 'A';
    text[2] = '2';
    CHECK_ERR(decode_str(text, &t), ADM_ERR_TOKEN_PREFIX);
    text[2] = '1';
    text[3] = ';';
    CHECK_ERR(decode_str(text, &t), ADM_ERR_TOKEN_PREFIX);
    text[3] = ':';
    CHECK_ERR(decode_exact(text + 1, strlen(text) - 1, scanner, &t), ADM_ERR_TOKEN_PREFIX);
    {
        char spaced[520];
        snprintf(spaced, sizeof spaced, " %s", text); /* scanners must trim */
        CHECK_ERR(decode_str(spaced, &t), ADM_ERR_TOKEN_PREFIX);
    }
}

static void test_decode_base45(void)
{
    struct bin x = fixed(1, 0, kid_a);
    char text[512], work[520];
    adm_ticket_t t;
    size_t i, len;

    sign(&x);
    text_of(&x, text, sizeof text);
    len = strlen(text);
    /* lowercase body */
    strcpy(work, text);
    for (i = 4; i < len; i++)
        if (work[i] >= 'A' && work[i] <= 'Z')
            work[i] = (char)(work[i] - 'A' + 'a');
    CHECK_ERR(decode_str(work, &t), ADM_ERR_TOKEN_BASE45);
    /* keyboard-wedge line endings are the caller's to trim */
    snprintf(work, sizeof work, "%s\r\n", text);
    CHECK_ERR(decode_str(work, &t), ADM_ERR_TOKEN_BASE45);
    snprintf(work, sizeof work, "%s\n", text);
    CHECK_ERR(decode_str(work, &t), ADM_ERR_TOKEN_BASE45);
    /* an invalid character anywhere after the prefix */
    for (i = 4; i < len; i++) {
        strcpy(work, text);
        work[i] = '#';
        CHECK_ERR(decode_str(work, &t), ADM_ERR_TOKEN_BASE45);
        work[i] = '\0';
        CHECK_ERR(decode_exact(work, len, scanner, &t), ADM_ERR_TOKEN_BASE45);
    }
    CHECK_ERR(decode_str("AD1:GGW", &t), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(decode_str("AD1:::", &t), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(decode_str("AD1:0", &t), ADM_ERR_TOKEN_BASE45);
}

static void test_decode_length(void)
{
    struct bin x;
    adm_ticket_t t;
    size_t n;

    CHECK_ERR(decode_str("AD1:", &t), ADM_ERR_TOKEN_LENGTH);
    /* every binary length below the minimum */
    for (n = 1; n < 86; n++) {
        x = fixed(1, 0, kid_a);
        sign(&x);
        x.n = n;
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_LENGTH);
    }
    /* presence bits whose fields are missing */
    x = fixed(1, HAS_FROM, kid_a);
    sign(&x); /* 86 bytes, needs 90 */
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_LENGTH);
    x = fixed(1, HAS_FROM | HAS_UNTIL, kid_a);
    put32(&x, 1);
    sign(&x); /* 90 bytes, needs 94 */
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_LENGTH);
    x = fixed(1, HAS_LABEL, kid_a);
    sign(&x); /* no label length byte */
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_LENGTH);
    x = fixed(1, HAS_LABEL, kid_a);
    x.b[x.n++] = 5;
    memcpy(x.b + x.n, "abcd", 4);
    x.n += 4;
    sign(&x); /* label one byte short */
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_LENGTH);
    x = fixed(1, HAS_LABEL | 0xE0, kid_a);
    x.b[x.n++] = 255;
    sign(&x); /* a length check comes before field checks */
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_LENGTH);
}

static void test_decode_version(void)
{
    static const uint8_t versions[] = {0, 2, 3, 0x7F, 0x80, 0xFF};
    struct bin x;
    size_t i;

    for (i = 0; i < sizeof versions; i++) {
        x = fixed(versions[i], 0, kid_a);
        sign(&x);
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_VERSION);
        x.n = 1; /* the version is checked before the length */
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_VERSION);
    }
}

static void test_decode_field(void)
{
    /* bytes and length: some hold a NUL */
    static const struct {
        const char *s;
        size_t n;
    } bad_labels[] = {
        {"\t", 1},
        {"\x1f", 1},
        {"\x7f", 1},
        {"a\0b", 3},
        {"\xc2\x80", 2},
        {"\xc2\x9f", 2},
        {"\xc0\xaf", 2},
        {"\xc1\xbf", 2},
        {"\xe0\x80\xaf", 3},
        {"\xe0\x9f\xbf", 3},
        {"\xed\xa0\x80", 3},
        {"\xed\xbf\xbf", 3},
        {"\xf0\x80\x80\x80", 4},
        {"\xf4\x90\x80\x80", 4},
        {"\xf5\x80\x80\x80", 4},
        {"\xf8\x88\x80\x80", 4},
        {"\x80", 1},
        {"\xbf", 1},
        {"\xe2\x82", 2},
        {"\xe2\x82\x41", 3},
        {"\xff", 1},
        {"\xfe", 1},
        {"ab\xc3", 3},
    };
    struct bin x;
    size_t i;
    int bit;

    for (bit = 5; bit < 8; bit++) {
        x = fixed(1, (uint8_t)(1u << bit), kid_a);
        sign(&x);
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
    }
    for (i = 2; i < 22; i += 4) { /* zero key id, event id, ticket id (both halves), type id */
        x = fixed(1, 0, kid_a);
        if (i == 10) {
            memset(x.b + 10, 0, 8);
            i += 4;
        } else {
            memset(x.b + i, 0, 4);
        }
        sign(&x);
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
    }
    /* a ticket id with only its high half set is fine */
    x = fixed(1, 0, kid_a);
    memcpy(x.b + 10, "\x00\x00\x00\x01\x00\x00\x00\x00", 8);
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_OK);
    /* valid_from > valid_until; equal is fine */
    x = fixed(1, HAS_FROM | HAS_UNTIL, kid_a);
    put32(&x, 1000);
    put32(&x, 999);
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
    x = fixed(1, HAS_FROM | HAS_UNTIL, kid_a);
    put32(&x, 1000);
    put32(&x, 1000);
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_OK);
    /* label length 0 and 33 */
    x = fixed(1, HAS_LABEL, kid_a);
    x.b[x.n++] = 0;
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
    x = fixed(1, HAS_LABEL, kid_a);
    x.b[x.n++] = 33;
    memset(x.b + x.n, 'x', 33);
    x.n += 33;
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
    x = fixed(1, HAS_LABEL, kid_a);
    x.b[x.n++] = 32;
    memset(x.b + x.n, 'x', 32);
    x.n += 32;
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_OK);
    /* bad UTF-8 and control characters, alone and after valid text */
    for (i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
        size_t n = bad_labels[i].n;
        x = fixed(1, HAS_LABEL, kid_a);
        x.b[x.n++] = (uint8_t)n;
        memcpy(x.b + x.n, bad_labels[i].s, n);
        x.n += n;
        sign(&x);
        if (decode_bin(&x) != ADM_ERR_TOKEN_FIELD)
            fprintf(stderr, "label case %zu accepted\n", i);
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
        x = fixed(1, HAS_LABEL, kid_a);
        x.b[x.n++] = (uint8_t)(n + 3);
        memcpy(x.b + x.n, "Ok ", 3);
        memcpy(x.b + x.n + 3, bad_labels[i].s, n);
        x.n += n + 3;
        sign(&x);
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
    }
    /* a field error comes before trailing bytes */
    x = fixed(1, 0x40, kid_a);
    sign(&x);
    x.b[x.n++] = 0;
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_FIELD);
}

static void test_decode_trailing(void)
{
    struct bin x;
    size_t extra;

    /* from 1 extra byte up to the largest binary that fits the text limit */
    for (extra = 1; 86 + extra <= ADM_TOKEN_BYTES_MAX; extra++) {
        x = fixed(1, 0, kid_a);
        sign(&x);
        memset(x.b + x.n, 0, extra);
        x.n += extra;
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_TRAILING);
    }
    x = fixed(1, HAS_LABEL, kid_a);
    x.b[x.n++] = 1;
    x.b[x.n++] = 'A';
    sign(&x);
    x.b[x.n++] = 'A';
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_TRAILING);
}

static void test_decode_keys(void)
{
    adm_keyring_t *other = NULL;
    adm_ticket_t t = ticket(1, 1, 1), got;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len;
    uint32_t kid;
    struct bin x;

    CHECK_ERR(adm_keyring_new(&other), ADM_OK);
    CHECK_ERR(adm_keyring_generate(other, &kid), ADM_OK);
    CHECK_ERR(adm_token_encode(&t, other, 0, text, sizeof text, &len), ADM_OK);
    CHECK_ERR(decode_exact(text, len, scanner, &got), ADM_ERR_TOKEN_KEY);
    CHECK_ERR(decode_exact(text, len, other, &got), ADM_OK);
    CHECK_INT(got.key_id, kid);
    /* parse alone does not look at keys */
    CHECK_ERR(adm_token_parse(text, len, &got, NULL, NULL, NULL), ADM_OK);
    CHECK_INT(got.key_id, kid);
    adm_keyring_free(other);

    /* signed by the retired key B */
    x = fixed(1, 0, kid_b);
    CHECK_ERR(adm_keyring_sign(issuer, kid_b, x.b, x.n, x.b + x.n), ADM_ERR_TOKEN_KEY_RETIRED);
    {
        adm_keyring_t *old = NULL;
        uint8_t seed[32];
        CHECK_ERR(adm_keyring_new(&old), ADM_OK);
        adm_test_unhex(seed_b_hex, seed, 32);
        CHECK_ERR(adm_keyring_add_seed(old, seed, &kid), ADM_OK);
        sign_with(&x, old, kid_b);
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_KEY_RETIRED);
        CHECK_ERR(adm_keyring_verify(old, kid_b, x.b, x.n - 64, x.b + x.n - 64), ADM_OK);
        adm_keyring_free(old);
    }
    /* the key id is part of the signed bytes: B's id on A's signature */
    x = fixed(1, 0, kid_b);
    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_KEY_RETIRED);
    /* an unknown key id is reported before the signature is looked at */
    x = fixed(1, 0, 0x01020304);
    x.n += 64;
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_KEY);
    CHECK_ERR(adm_token_decode("AD1:", 4, NULL, &got), ADM_ERR_INVALID_ARG);
}

static void test_decode_signature(void)
{
    struct bin x = fixed(1, 0, kid_a);
    size_t i;

    sign(&x);
    CHECK_ERR(decode_bin(&x), ADM_OK);
    for (i = 86 - 64; i < 86; i++) {
        x.b[i] ^= 0x40;
        CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_SIGNATURE);
        x.b[i] ^= 0x40;
    }
    memset(x.b + 22, 0, 64);
    CHECK_ERR(decode_bin(&x), ADM_ERR_TOKEN_SIGNATURE);
}

/* Flipping any bit of a valid token's binary never yields ADM_OK. */
static void test_bit_flips(void)
{
    adm_ticket_t t = ticket(2024, 1234567890123ull, 3), got;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    uint8_t bin[ADM_TOKEN_BYTES_MAX];
    size_t len, n, i;
    int bit;
    int flips = 0;

    t.flags = ADM_TICKET_REENTRY;
    t.has_valid_from = t.has_valid_until = true;
    t.valid_from = 1767225600;
    t.valid_until = 1767311999;
    strcpy(t.label, "Block C \xc2\xb7 Row 12 Seat 7");
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    CHECK_ERR(adm_base45_decode(text + 4, len - 4, bin, sizeof bin, &n), ADM_OK);
    for (i = 0; i < n; i++) {
        for (bit = 0; bit < 8; bit++) {
            struct bin x = {.n = n};
            memcpy(x.b, bin, n);
            x.b[i] ^= (uint8_t)(1u << bit);
            CHECK(decode_bin(&x) != ADM_OK);
            flips++;
        }
    }
    CHECK_INT(flips, (long)n * 8);
    {
        struct bin x = {.n = n};
        memcpy(x.b, bin, n);
        CHECK_ERR(decode_bin(&x), ADM_OK);
    }
    CHECK_ERR(decode_exact(text, len, scanner, &got), ADM_OK);
}

/* Every proper prefix of a valid text is an error, never a read past it. */
static void test_truncations(void)
{
    adm_ticket_t t = ticket(7, 8, 9), got;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len, cut;

    t.has_valid_until = true;
    t.valid_until = 2000000000;
    strcpy(t.label, "Gate 4");
    CHECK_ERR(adm_token_encode(&t, issuer, 0, text, sizeof text, &len), ADM_OK);
    for (cut = 0; cut < len; cut++)
        CHECK(decode_exact(text, cut, scanner, &got) != ADM_OK);
    CHECK_ERR(decode_exact(text, len, scanner, &got), ADM_OK);
}

static void test_parse_outputs(void)
{
    struct bin x = fixed(1, HAS_LABEL, kid_a);
    uint8_t sb[ADM_TOKEN_BYTES_MAX], sig[64];
    char text[512];
    adm_ticket_t t;
    size_t slen = 0;

    x.b[x.n++] = 2;
    x.b[x.n++] = 'B';
    x.b[x.n++] = '7';
    sign(&x);
    text_of(&x, text, sizeof text);
    CHECK_ERR(adm_token_parse(text, strlen(text), &t, sb, &slen, sig), ADM_OK);
    CHECK_INT(slen, 25);
    CHECK_MEM(sb, x.b, 25);
    CHECK_MEM(sig, x.b + 25, 64);
    CHECK_STR(t.label, "B7");
    CHECK_ERR(adm_token_parse(text, strlen(text), &t, NULL, NULL, NULL), ADM_OK);
    /* failure zeroes every output */
    text[10] = '#';
    CHECK_ERR(adm_token_parse(text, strlen(text), &t, sb, &slen, sig), ADM_ERR_TOKEN_BASE45);
    CHECK(is_zero(&t, sizeof t));
    CHECK(is_zero(sb, ADM_TOKEN_BYTES_MAX - 64));
    CHECK(is_zero(sig, 64));
    CHECK_INT(slen, 0);
    CHECK_ERR(adm_token_parse(text, strlen(text), NULL, sb, &slen, sig), ADM_ERR_INVALID_ARG);
}

/* ---- reference vectors ---- */

#define MAX_FIELDS 16

struct record {
    const char *name[MAX_FIELDS];
    const char *value[MAX_FIELDS];
    size_t n;
};

static const char *field(const struct record *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0)
            return r->value[i];
    return NULL;
}

/* Splits the next record off *p (modifying the buffer); false at the end. */
static bool next_record(char **p, struct record *r)
{
    r->n = 0;
    while (**p != '\0') {
        char *line = *p;
        char *end = strchr(line, '\n');
        char *colon;
        if (end != NULL) {
            *end = '\0';
            *p = end + 1;
        } else {
            *p = line + strlen(line);
        }
        if (line[0] == '#')
            continue;
        if (line[0] == '\0') {
            if (r->n > 0)
                return true;
            continue;
        }
        colon = strchr(line, ':');
        if (colon == NULL || r->n == MAX_FIELDS) {
            adm_test_fail(__FILE__, __LINE__, "bad vectors line: %s", line);
            continue;
        }
        *colon = '\0';
        r->name[r->n] = line;
        r->value[r->n] = colon[1] == ' ' ? colon + 2 : colon + 1;
        r->n++;
    }
    return r->n > 0;
}

static bool time_field(const char *v, int64_t *out)
{
    *out = 0;
    if (v == NULL || strcmp(v, "-") == 0)
        return false;
    *out = strtoll(v, NULL, 10);
    return true;
}

static void test_vectors(void)
{
    const char *dir = getenv("ADMIT_VECTORS");
    char path[4096];
    char *buf, *p;
    size_t size = 0;
    struct record r;
    adm_keyring_t *sign_kr = NULL, *verify_kr = NULL;
    int n_keys = 0, n_ok = 0, n_err = 0;

    snprintf(path, sizeof path, "%s/token-v1.txt", dir != NULL ? dir : "tests/vectors");
    buf = adm_test_read_file(path, &size);
    if (buf == NULL) {
        adm_test_fail(__FILE__, __LINE__, "cannot read %s (set ADMIT_VECTORS)", path);
        return;
    }
    CHECK_ERR(adm_keyring_new(&sign_kr), ADM_OK);
    CHECK_ERR(adm_keyring_new(&verify_kr), ADM_OK);
    p = buf;
    while (next_record(&p, &r)) {
        const char *text = field(&r, "text");
        const char *result = field(&r, "result");
        if (field(&r, "seed") != NULL) {
            uint8_t seed[32], pk[32], want_pk[32], sk[64];
            const char *status = field(&r, "status");
            uint32_t kid = 0, got;
            CHECK_INT(adm_test_unhex(field(&r, "seed"), seed, 32), 32);
            CHECK_INT(adm_test_unhex(field(&r, "public"), want_pk, 32), 32);
            kid = (uint32_t)strtoul(field(&r, "kid"), NULL, 16);
            crypto_sign_seed_keypair(pk, sk, seed);
            CHECK_MEM(pk, want_pk, 32);
            CHECK_INT(adm_key_id(pk), kid);
            if (strcmp(status, "active") == 0) {
                CHECK_ERR(adm_keyring_add_seed(sign_kr, seed, &got), ADM_OK);
                CHECK_ERR(adm_keyring_add_public(verify_kr, pk, false, &got), ADM_OK);
                CHECK_INT(kid, kid_a);
            } else if (strcmp(status, "retired") == 0) {
                CHECK_ERR(adm_keyring_add_public(verify_kr, pk, true, &got), ADM_OK);
            } else {
                CHECK_STR(status, "unknown");
            }
            n_keys++;
            continue;
        }
        if (text == NULL || result == NULL) {
            adm_test_fail(__FILE__, __LINE__, "vector without text or result");
            continue;
        }
        CHECK_INT(strlen(text), strtol(field(&r, "length"), NULL, 10));
        if (field(&r, "binary") != NULL && strncmp(text, "AD1:", 4) == 0) {
            uint8_t want[256], got[256];
            size_t n = 0;
            long wn = adm_test_unhex(field(&r, "binary"), want, sizeof want);
            CHECK_ERR(adm_base45_decode(text + 4, strlen(text) - 4, got, sizeof got, &n), ADM_OK);
            CHECK_INT(n, wn);
            CHECK_MEM(got, want, n);
        }
        if (strcmp(result, "ok") == 0) {
            adm_ticket_t t, dec;
            char enc[ADM_TOKEN_TEXT_MAX + 1];
            size_t len = 0;
            t = ticket((uint32_t)strtoul(field(&r, "event_id"), NULL, 10),
                       strtoull(field(&r, "ticket_id"), NULL, 10),
                       (uint32_t)strtoul(field(&r, "type_id"), NULL, 10));
            t.flags = (uint8_t)strtoul(field(&r, "flags"), NULL, 10);
            t.has_valid_from = time_field(field(&r, "valid_from"), &t.valid_from);
            t.has_valid_until = time_field(field(&r, "valid_until"), &t.valid_until);
            snprintf(t.label, sizeof t.label, "%s", field(&r, "label"));
            CHECK_ERR(adm_token_encode(&t, sign_kr, 0, enc, sizeof enc, &len), ADM_OK);
            if (strcmp(enc, text) != 0)
                fprintf(stderr, "vector %s differs\n", field(&r, "vector"));
            CHECK_STR(enc, text);
            CHECK_ERR(decode_exact(text, strlen(text), verify_kr, &dec), ADM_OK);
            check_same(&dec, &t, kid_a);
            n_ok++;
        } else {
            adm_ticket_t dec;
            adm_err_t e = decode_exact(text, strlen(text), verify_kr, &dec);
            if (strcmp(adm_err_name(e), result) != 0)
                fprintf(stderr, "vector %s: %s\n", field(&r, "vector"), adm_err_name(e));
            CHECK_STR(adm_err_name(e), result);
            n_err++;
        }
    }
    CHECK_INT(n_keys, 3);
    CHECK_INT(n_ok, 5);
    CHECK(n_err >= 25);
    adm_keyring_free(sign_kr);
    adm_keyring_free(verify_kr);
    free(buf);
}

int main(void)
{
    setup();
    ADM_RUN(test_round_trip_basic);
    ADM_RUN(test_round_trip_random);
    ADM_RUN(test_sizes);
    ADM_RUN(test_encode_errors);
    ADM_RUN(test_label_utf8);
    ADM_RUN(test_decode_oversize);
    ADM_RUN(test_decode_prefix);
    ADM_RUN(test_decode_base45);
    ADM_RUN(test_decode_length);
    ADM_RUN(test_decode_version);
    ADM_RUN(test_decode_field);
    ADM_RUN(test_decode_trailing);
    ADM_RUN(test_decode_keys);
    ADM_RUN(test_decode_signature);
    ADM_RUN(test_bit_flips);
    ADM_RUN(test_truncations);
    ADM_RUN(test_parse_outputs);
    ADM_RUN(test_vectors);
    adm_keyring_free(issuer);
    adm_keyring_free(scanner);
    return adm_test_done();
}
