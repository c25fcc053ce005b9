/* fuzz-token.c: libFuzzer target for the ticket decoder (sync/token.c) and
 * Base45 (sync/base45.c). Any input must be rejected or accepted without a
 * crash or an out-of-bounds read, and whatever is accepted must be canonical:
 * it re-encodes to exactly the same text. Not a unit test (test-token.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/base45.h"
#include "sync/keyring.h"
#include "sync/token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* key A of tests/vectors/token-v1.txt (active) and key B (retired) */
static adm_keyring_t *kr;
static uint32_t kid_a;

static void die(const char *what)
{
    fprintf(stderr, "fuzz-token: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t seed[ADM_KEY_SEED_BYTES];
    uint32_t kid_b;
    size_t i;

    (void)argc;
    (void)argv;
    if (adm_keyring_new(&kr) != ADM_OK)
        die("keyring");
    for (i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)(0x20 + i);
    if (adm_keyring_add_seed(kr, seed, &kid_b) != ADM_OK || adm_keyring_retire(kr, kid_b) != ADM_OK)
        die("key B");
    for (i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    if (adm_keyring_add_seed(kr, seed, &kid_a) != ADM_OK)
        die("key A");
    return 0;
}

static void check_base45(const uint8_t *data, size_t size)
{
    uint8_t bin[512];
    char back[800];
    size_t n = 0, m = 0;

    if (adm_base45_decode((const char *)data, size, bin, sizeof bin, &n) != ADM_OK)
        return;
    if (adm_base45_encode(bin, n, back, sizeof back, &m) != ADM_OK || m != size ||
        memcmp(back, data, size) != 0)
        die("Base45 accepted a non-canonical text");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    uint8_t signed_bytes[ADM_TOKEN_BYTES_MAX];
    uint8_t sig[ADM_SIGNATURE_BYTES];
    size_t signed_len = 0;
    adm_ticket_t t;
    adm_err_t parsed;
    adm_err_t decoded;

    if (kr == NULL)
        LLVMFuzzerInitialize(NULL, NULL);
    check_base45(data, size);
    parsed = adm_token_parse(text, size, &t, signed_bytes, &signed_len, sig);
    if (parsed == ADM_OK) {
        /* the parsed parts are exactly the text's binary */
        uint8_t bin[ADM_TOKEN_BYTES_MAX];
        char back[ADM_TOKEN_TEXT_MAX + 1];
        size_t m = 0;
        if (signed_len + ADM_SIGNATURE_BYTES > sizeof bin)
            die("signed part too long");
        memcpy(bin, signed_bytes, signed_len);
        memcpy(bin + signed_len, sig, ADM_SIGNATURE_BYTES);
        if (adm_base45_encode(bin, signed_len + ADM_SIGNATURE_BYTES, back, sizeof back, &m) !=
                ADM_OK ||
            m + ADM_TOKEN_PREFIX_LEN != size || memcmp(back, text + ADM_TOKEN_PREFIX_LEN, m) != 0)
            die("parse does not round-trip");
    }
    decoded = adm_token_decode(text, size, kr, &t);
    if (decoded == ADM_OK) {
        char back[ADM_TOKEN_TEXT_MAX + 1];
        size_t m = 0;
        if (parsed != ADM_OK || t.key_id != kid_a)
            die("decode accepted what parse rejected");
        /* Ed25519 is deterministic: a valid token re-encodes identically */
        if (adm_token_encode(&t, kr, t.key_id, back, sizeof back, &m) != ADM_OK || m != size ||
            memcmp(back, text, size) != 0)
            die("decode accepted a non-canonical token");
    }
    return 0;
}
