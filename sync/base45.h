/* base45.h: Base45 (RFC 9285), the QR alphanumeric-mode text encoding used
 * for ticket tokens. Bounded, allocation-free; not a general codec library. */
#ifndef ADM_BASE45_H
#define ADM_BASE45_H

#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

/* Characters needed to encode n bytes (no terminating NUL). */
#define ADM_BASE45_ENCODED_LEN(n) (((n) / 2) * 3 + ((n) % 2) * 2)

/* Encodes n bytes of in into out (cap bytes, NUL-terminated).
 * *outlen gets the number of characters written (excluding the NUL).
 * Fails with ADM_ERR_TOO_BIG when out cannot hold the result and NUL. */
adm_err_t adm_base45_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *outlen);

/* Decodes n characters of in into out (cap bytes). *outlen gets the byte count.
 * Fails with ADM_ERR_TOKEN_BASE45 on a character outside the alphabet, a
 * length of 1 mod 3, or a group whose value overflows (RFC 9285 §4.2);
 * ADM_ERR_TOO_BIG when out is too small. out is zeroed on failure. */
__attribute__((warn_unused_result)) adm_err_t adm_base45_decode(const char *in, size_t n,
                                                                uint8_t *out, size_t cap,
                                                                size_t *outlen);

#endif
