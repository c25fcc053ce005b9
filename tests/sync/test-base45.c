/* test-base45.c: unit tests of sync/base45.c against RFC 9285 and its edge
 * cases (alphabet, group overflow, lengths, buffer bounds). Not for tokens. */
#include "sync/base45.h"

#include "tests/testutil/testutil.h"

static void check_pair(const char *bin, const char *text)
{
    char enc[256];
    uint8_t dec[256];
    size_t n = 99;

    CHECK_ERR(adm_base45_encode((const uint8_t *)bin, strlen(bin), enc, sizeof enc, &n), ADM_OK);
    CHECK_STR(enc, text);
    CHECK_INT(n, strlen(text));
    CHECK_INT(ADM_BASE45_ENCODED_LEN(strlen(bin)), strlen(text));
    n = 99;
    CHECK_ERR(adm_base45_decode(text, strlen(text), dec, sizeof dec, &n), ADM_OK);
    CHECK_INT(n, strlen(bin));
    CHECK_MEM(dec, bin, strlen(bin));
}

static void test_rfc9285_examples(void)
{
    /* RFC 9285 §4.3 and §4.4 */
    check_pair("AB", "BB8");
    check_pair("Hello!!", "%69 VD92EX0");
    check_pair("base-45", "UJCLQE7W581");
    check_pair("ietf!", "QED8WEX0");
}

static void test_rfc9285_decode(void)
{
    uint8_t out[16];
    size_t n = 0;

    CHECK_ERR(adm_base45_decode("QED8WEX0", 8, out, sizeof out, &n), ADM_OK);
    CHECK_INT(n, 5);
    CHECK_MEM(out, "ietf!", 5);
}

static void test_empty(void)
{
    char enc[4] = "xyz";
    uint8_t dec[4] = {1, 2, 3, 4};
    size_t n = 99;

    CHECK_ERR(adm_base45_encode((const uint8_t *)"", 0, enc, sizeof enc, &n), ADM_OK);
    CHECK_INT(n, 0);
    CHECK_STR(enc, "");
    n = 99;
    CHECK_ERR(adm_base45_decode("", 0, dec, sizeof dec, &n), ADM_OK);
    CHECK_INT(n, 0);
    n = 99;
    CHECK_ERR(adm_base45_decode(NULL, 0, NULL, 0, &n), ADM_OK);
    CHECK_INT(n, 0);
}

static void test_invalid_chars(void)
{
    static const char *bad[] = {"bb8", "BB8=",         "BB\x00", "A_B", "BB8\n",
                                "B#8", "\xff\xff\xff", "BB8 bb", "abc"};
    uint8_t out[16];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = i == 2 ? 3 : strlen(bad[i]);
        size_t n = 99;
        memset(out, 0xAA, sizeof out);
        CHECK_ERR(adm_base45_decode(bad[i], len, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
        CHECK_INT(n, 0);
        CHECK_INT(out[0] | out[15], 0); /* zeroed on failure */
    }
}

static void test_length_mod3(void)
{
    uint8_t out[16];
    size_t n = 99;

    CHECK_ERR(adm_base45_decode("B", 1, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_decode("BB8B", 4, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_decode("BB8BB8B", 7, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_INT(n, 0);
}

static void test_overflow_groups(void)
{
    uint8_t out[4];
    size_t n = 0;

    /* "FGW" = 15 + 16*45 + 32*2025 = 65535, the largest valid 3-char group;
     * "GGW" = 65536 is the smallest overflowing one */
    CHECK_ERR(adm_base45_decode("FGW", 3, out, sizeof out, &n), ADM_OK);
    CHECK_INT(n, 2);
    CHECK_INT(out[0], 0xFF);
    CHECK_INT(out[1], 0xFF);
    CHECK_ERR(adm_base45_decode("GGW", 3, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_decode("GGX", 3, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_decode(":::", 3, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_decode("BB8GGX", 6, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    /* a final 2-char group is one byte: "U5" = 30 + 5*45 = 255, "V5" = 256 */
    CHECK_ERR(adm_base45_decode("U5", 2, out, sizeof out, &n), ADM_OK);
    CHECK_INT(n, 1);
    CHECK_INT(out[0], 255);
    CHECK_ERR(adm_base45_decode("V5", 2, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_decode("::", 2, out, sizeof out, &n), ADM_ERR_TOKEN_BASE45);
}

static void test_small_buffers(void)
{
    const char *text = "%69 VD92EX0"; /* "Hello!!", 7 bytes */
    char enc[16];
    uint8_t dec[16];
    size_t n = 99;
    size_t cap;

    for (cap = 0; cap < 12; cap++) {
        enc[0] = 'x';
        CHECK_ERR(adm_base45_encode((const uint8_t *)"Hello!!", 7, enc, cap, &n), ADM_ERR_TOO_BIG);
        CHECK_INT(n, 0);
        if (cap > 0)
            CHECK_INT(enc[0], '\0');
    }
    CHECK_ERR(adm_base45_encode((const uint8_t *)"Hello!!", 7, enc, 12, &n), ADM_OK);
    CHECK_STR(enc, text);
    for (cap = 0; cap < 7; cap++) {
        memset(dec, 0xAA, sizeof dec);
        CHECK_ERR(adm_base45_decode(text, 11, dec, cap, &n), ADM_ERR_TOO_BIG);
        CHECK_INT(n, 0);
        CHECK_INT(dec[cap], 0xAA); /* nothing written past cap */
    }
    CHECK_ERR(adm_base45_decode(text, 11, dec, 7, &n), ADM_OK);
    CHECK_MEM(dec, "Hello!!", 7);
    /* malformed input is reported as such whatever the buffer size */
    CHECK_ERR(adm_base45_decode("GGX", 3, dec, 0, &n), ADM_ERR_TOKEN_BASE45);
    CHECK_ERR(adm_base45_encode((const uint8_t *)"A", 1, enc, sizeof enc, NULL),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_base45_decode("BB8", 3, dec, sizeof dec, NULL), ADM_ERR_INVALID_ARG);
}

static void test_all_byte_values(void)
{
    uint8_t in[256];
    char enc[ADM_BASE45_ENCODED_LEN(256) + 1];
    uint8_t dec[256];
    size_t n;
    int i;

    for (i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    CHECK_ERR(adm_base45_encode(in, sizeof in, enc, sizeof enc, &n), ADM_OK);
    CHECK_INT(n, ADM_BASE45_ENCODED_LEN(256));
    CHECK_ERR(adm_base45_decode(enc, n, dec, sizeof dec, &n), ADM_OK);
    CHECK_INT(n, 256);
    CHECK_MEM(dec, in, 256);
}

static void test_random_round_trips(void)
{
    uint8_t in[200];
    char enc[ADM_BASE45_ENCODED_LEN(200) + 1];
    uint8_t dec[200];
    int iter;

    adm_test_seed(45);
    for (iter = 0; iter < 5000; iter++) {
        size_t len = (size_t)(adm_test_rand() % (sizeof in + 1));
        size_t n = 0;
        size_t m = 0;
        size_t i;
        for (i = 0; i < len; i++)
            in[i] = (uint8_t)adm_test_rand();
        CHECK_ERR(adm_base45_encode(in, len, enc, sizeof enc, &n), ADM_OK);
        CHECK_INT(n, ADM_BASE45_ENCODED_LEN(len));
        CHECK_INT(strlen(enc), n);
        CHECK_ERR(adm_base45_decode(enc, n, dec, len, &m), ADM_OK);
        CHECK_INT(m, len);
        CHECK_MEM(dec, in, len);
    }
}

/* Every 2- and 3-character string over the alphabet decodes iff its value is
 * in range, and re-encodes to itself (the encoding is canonical). */
static void test_canonical(void)
{
    static const char alpha[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    int a, b, c;
    long ok3 = 0;

    for (a = 0; a < 45; a++) {
        for (b = 0; b < 45; b++) {
            for (c = 0; c < 45; c++) {
                char s[4] = {alpha[a], alpha[b], alpha[c], 0};
                char back[4];
                uint8_t d[2];
                size_t n = 0;
                long v = a + 45L * b + 2025L * c;
                adm_err_t e = adm_base45_decode(s, 3, d, sizeof d, &n);
                if (v > 65535) {
                    CHECK_ERR(e, ADM_ERR_TOKEN_BASE45);
                    continue;
                }
                ok3++;
                CHECK_ERR(e, ADM_OK);
                CHECK_ERR(adm_base45_encode(d, 2, back, sizeof back, &n), ADM_OK);
                CHECK_STR(back, s);
            }
        }
    }
    CHECK_INT(ok3, 65536);
}

int main(void)
{
    ADM_RUN(test_rfc9285_examples);
    ADM_RUN(test_rfc9285_decode);
    ADM_RUN(test_empty);
    ADM_RUN(test_invalid_chars);
    ADM_RUN(test_length_mod3);
    ADM_RUN(test_overflow_groups);
    ADM_RUN(test_small_buffers);
    ADM_RUN(test_all_byte_values);
    ADM_RUN(test_random_round_trips);
    ADM_RUN(test_canonical);
    return adm_test_done();
}
