/* bench-token.c: throughput of the ticket token codec (sync/token.c) next to
 * raw libsodium verification, so the cost of our layer is visible.
 * Usage: bench-token [iterations] (default 20000). Not a test: no assertions
 * beyond "every operation succeeded". */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync/keyring.h"
#include "sync/token.h"

#define DEFAULT_ITERATIONS 20000ul
#define MAX_ITERATIONS 1000000000ul
#define BLOCK 500ul

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, unsigned long n, double seconds)
{
    printf("%-44s %12.0f ops/s %10.2f us/op\n", what, (double)n / seconds,
           seconds * 1e6 / (double)n);
}

int main(int argc, char **argv)
{
    int result = 1;
    unsigned long n = DEFAULT_ITERATIONS;
    adm_keyring_t *kr = NULL;
    adm_ticket_t t;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    uint8_t signed_bytes[ADM_TOKEN_BYTES_MAX];
    uint8_t sig[ADM_SIGNATURE_BYTES];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t seed[ADM_KEY_SEED_BYTES];
    size_t len = 0;
    size_t signed_len = 0;
    uint32_t kid = 0;
    unsigned long i;
    unsigned long failures = 0;
    double t0, t_encode, t_decode, t_parse, t_raw;

    if (argc > 1) {
        char *end = NULL;
        n = strtoul(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0' || n == 0 || n > MAX_ITERATIONS) {
            fprintf(stderr, "usage: %s [iterations 1..%lu]\n", argv[0], MAX_ITERATIONS);
            goto out;
        }
    }
    for (i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    if (adm_keyring_new(&kr) != ADM_OK || adm_keyring_add_seed(kr, seed, &kid) != ADM_OK) {
        fprintf(stderr, "cannot set up the keyring\n");
        goto out;
    }
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(seed, sizeof seed);

    /* a typical ticket: both times and a 21-byte label (178 characters) */
    memset(&t, 0, sizeof t);
    t.event_id = 2024;
    t.ticket_id = 1234567890123ull;
    t.type_id = 3;
    t.flags = ADM_TICKET_REENTRY;
    t.has_valid_from = t.has_valid_until = true;
    t.valid_from = 1767225600;
    t.valid_until = 1767311999;
    strcpy(t.label, "Block C Row 12 Seat 7");

    t0 = now_seconds();
    for (i = 0; i < n; i++) {
        t.ticket_id = 1234567890123ull + i; /* a different message each time */
        failures += adm_token_encode(&t, kr, 0, text, sizeof text, &len) != ADM_OK;
    }
    t_encode = now_seconds() - t0;

    /* Decode, parse and raw verify run interleaved in blocks, so that clock
     * changes and noisy neighbours hit all three alike. */
    t_decode = t_parse = t_raw = 0.0;
    for (i = 0; i < n; i += BLOCK) {
        unsigned long j, m = n - i < BLOCK ? n - i : BLOCK;
        t0 = now_seconds();
        for (j = 0; j < m; j++) {
            adm_ticket_t out;
            failures += adm_token_decode(text, len, kr, &out) != ADM_OK;
        }
        t_decode += now_seconds() - t0;
        t0 = now_seconds();
        for (j = 0; j < m; j++) {
            adm_ticket_t out;
            failures += adm_token_parse(text, len, &out, signed_bytes, &signed_len, sig) != ADM_OK;
        }
        t_parse += now_seconds() - t0;
        t0 = now_seconds();
        for (j = 0; j < m; j++)
            failures += crypto_sign_verify_detached(sig, signed_bytes, signed_len, pk) != 0;
        t_raw += now_seconds() - t0;
    }

    if (failures != 0) {
        fprintf(stderr, "%lu operations failed\n", failures);
        goto out;
    }
    printf("bench-token: %lu iterations, token of %zu characters (%zu signed bytes)\n", n, len,
           signed_len);
    report("adm_token_encode (encode + Ed25519 sign)", n, t_encode);
    report("adm_token_decode (parse + verify)", n, t_decode);
    report("adm_token_parse (no signature check)", n, t_parse);
    report("crypto_sign_verify_detached (libsodium)", n, t_raw);
    printf("decode overhead over raw verify: %+.2f us/op (%+.1f%%); parse alone %.2f us/op\n",
           (t_decode - t_raw) * 1e6 / (double)n, (t_decode - t_raw) / t_raw * 100.0,
           t_parse * 1e6 / (double)n);
    result = 0;
out:
    adm_keyring_free(kr);
    return result;
}
