/* token.h: the signed ticket token, the contract between the issuer and every
 * scanner (docs/ticket-format.md). Encoding signs with a keyring's key;
 * decoding is strict, bounded and allocation-free. Not for verdicts: whether a
 * valid ticket is admitted is the scanner's business. */
#ifndef ADM_TOKEN_H
#define ADM_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"
#include "sync/keyring.h"

#define ADM_TOKEN_PREFIX "AD1:"  /* scheme + text-form version */
#define ADM_TOKEN_PREFIX_LEN 4
#define ADM_TOKEN_VERSION 1      /* binary format version byte */
#define ADM_TOKEN_LABEL_MAX 32   /* seat/zone label, bytes of UTF-8 */
#define ADM_TOKEN_FIXED_BYTES 22 /* version..ticket type id, see spec §3 */
#define ADM_TOKEN_BYTES_MAX (ADM_TOKEN_FIXED_BYTES + 4 + 4 + 1 + ADM_TOKEN_LABEL_MAX + 64)
/* longest valid text form, without NUL; a longer scan is ADM_ERR_TOKEN_OVERSIZE */
#define ADM_TOKEN_TEXT_MAX (ADM_TOKEN_PREFIX_LEN + (ADM_TOKEN_BYTES_MAX / 2) * 3 + (ADM_TOKEN_BYTES_MAX % 2) * 2)

/* ticket flags */
#define ADM_TICKET_REENTRY 0x01u /* re-entry allowed */
#define ADM_TICKET_SPECIAL 0x02u /* special attention (accessibility, VIP, check ID...) */
#define ADM_TICKET_FLAGS_PUBLIC (ADM_TICKET_REENTRY | ADM_TICKET_SPECIAL)

typedef struct adm_ticket {
    uint32_t key_id;    /* set by encode from the signing key; filled by decode */
    uint32_t event_id;
    uint64_t ticket_id;
    uint32_t type_id;
    uint8_t flags;      /* ADM_TICKET_* */
    bool has_valid_from;
    bool has_valid_until;
    int64_t valid_from;  /* unix seconds, 0..UINT32_MAX when present */
    int64_t valid_until; /* unix seconds, 0..UINT32_MAX, >= valid_from when both */
    char label[ADM_TOKEN_LABEL_MAX + 1]; /* seat/zone, UTF-8, "" = none */
} adm_ticket_t;

/* Encodes and signs t with the keyring's signing key (or key kid when kid is
 * non-zero) into out (cap bytes, NUL-terminated); *outlen gets the text length.
 * ADM_ERR_TOKEN_FIELD for an out-of-range field (zero ids, times, label too
 * long or not valid UTF-8 or with control characters, unknown flag bits);
 * ADM_ERR_NOT_FOUND without a usable secret key (ADM_ERR_TOKEN_KEY_RETIRED
 * when kid is retired); ADM_ERR_TOO_BIG if out is small (cap of
 * ADM_TOKEN_TEXT_MAX + 1 always suffices). out is zeroed on failure. */
adm_err_t adm_token_encode(const adm_ticket_t *t, const adm_keyring_t *kr, uint32_t kid,
                           char *out, size_t cap, size_t *outlen);

/* Parses text (len bytes, not necessarily NUL-terminated) without checking the
 * signature: fills *t and, when non-NULL, copies the signed bytes into
 * signed_bytes (a buffer of ADM_TOKEN_BYTES_MAX bytes), their length, and the
 * signature. Every malformed input has its own code (ADM_ERR_TOKEN_*, spec §6).
 * *t and the other outputs are zeroed on failure. */
__attribute__((warn_unused_result)) adm_err_t
adm_token_parse(const char *text, size_t len, adm_ticket_t *t, uint8_t *signed_bytes,
                size_t *signed_len, uint8_t sig[ADM_SIGNATURE_BYTES]);

/* Parses and verifies text against kr: adm_token_parse() errors, then
 * ADM_ERR_TOKEN_KEY, ADM_ERR_TOKEN_KEY_RETIRED or ADM_ERR_TOKEN_SIGNATURE.
 * *t is filled only on success (zeroed otherwise). */
__attribute__((warn_unused_result)) adm_err_t
adm_token_decode(const char *text, size_t len, const adm_keyring_t *kr, adm_ticket_t *t);

#endif
