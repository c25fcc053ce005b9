/* keyring.h: Ed25519 ticket-signing keys with key ids, rotation and
 * retirement (docs/ticket-format.md §4). Holds secret keys for an issuer and
 * public keys for a scanner. Not thread-safe for writes; concurrent sign and
 * verify calls on an unchanging keyring are safe. */
#ifndef ADM_KEYRING_H
#define ADM_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

#define ADM_KEY_PUBLIC_BYTES 32
#define ADM_KEY_SEED_BYTES 32
#define ADM_SIGNATURE_BYTES 64
#define ADM_KEYRING_MAX_KEYS 64          /* keys per keyring */
#define ADM_KEYRING_JSON_MAX (64 * 1024) /* public keyring document size limit */

typedef struct adm_keyring adm_keyring_t;

/* Initialises libsodium (idempotent, thread-safe). ADM_ERR_CRYPTO on failure. */
adm_err_t adm_crypto_init(void);

/* Creates an empty keyring in *out; free with adm_keyring_free(). */
adm_err_t adm_keyring_new(adm_keyring_t **out);

/* Frees kr and wipes its secret keys. NULL is accepted. */
void adm_keyring_free(adm_keyring_t *kr);

/* The key id of a public key: the first 4 bytes, big-endian, of
 * BLAKE2b-256(public key). Id 0 is reserved ("the signing key"): a key whose
 * id would be 0 (probability 2^-32) is refused with ADM_ERR_INVALID_ARG. */
uint32_t adm_key_id(const uint8_t pk[ADM_KEY_PUBLIC_BYTES]);

/* Generates a new key pair, adds it, and makes it the signing key.
 * *kid gets its key id. ADM_ERR_TOO_BIG when the keyring is full. */
adm_err_t adm_keyring_generate(adm_keyring_t *kr, uint32_t *kid);

/* Adds a secret key from its 32-byte seed (the newest added secret key
 * becomes the signing key). ADM_ERR_EXISTS if its key id is already present. */
adm_err_t adm_keyring_add_seed(adm_keyring_t *kr, const uint8_t seed[ADM_KEY_SEED_BYTES],
                               uint32_t *kid);

/* Adds a public-only key. ADM_ERR_EXISTS if its key id is already present. */
adm_err_t adm_keyring_add_public(adm_keyring_t *kr, const uint8_t pk[ADM_KEY_PUBLIC_BYTES],
                                 bool retired, uint32_t *kid);

/* Marks a key retired: it no longer verifies and no longer signs.
 * ADM_ERR_NOT_FOUND if kid is absent. */
adm_err_t adm_keyring_retire(adm_keyring_t *kr, uint32_t kid);

/* Number of keys, and the key id of the current signing key (0 and
 * ADM_ERR_NOT_FOUND if the keyring has no active secret key). */
size_t adm_keyring_count(const adm_keyring_t *kr);
adm_err_t adm_keyring_signing_kid(const adm_keyring_t *kr, uint32_t *kid);

/* Copies the 32-byte seed of key kid into seed (for persisting an issuer's
 * keys in a database). ADM_ERR_NOT_FOUND if absent or public-only. */
adm_err_t adm_keyring_export_seed(const adm_keyring_t *kr, uint32_t kid,
                                  uint8_t seed[ADM_KEY_SEED_BYTES]);

/* Signs msg with key kid (detached Ed25519). ADM_ERR_NOT_FOUND if kid has no
 * secret key, ADM_ERR_TOKEN_KEY_RETIRED if retired. sig is zeroed on failure. */
adm_err_t adm_keyring_sign(const adm_keyring_t *kr, uint32_t kid, const uint8_t *msg,
                           size_t len, uint8_t sig[ADM_SIGNATURE_BYTES]);

/* Verifies a detached signature with key kid: ADM_OK, ADM_ERR_TOKEN_KEY (unknown),
 * ADM_ERR_TOKEN_KEY_RETIRED or ADM_ERR_TOKEN_SIGNATURE. */
__attribute__((warn_unused_result)) adm_err_t
adm_keyring_verify(const adm_keyring_t *kr, uint32_t kid, const uint8_t *msg, size_t len,
                   const uint8_t sig[ADM_SIGNATURE_BYTES]);

/* The public keyring document (JSON, docs/ticket-format.md §4.2) in a new
 * NUL-terminated string; free with free(). */
adm_err_t adm_keyring_public_json(const adm_keyring_t *kr, char **json);

/* Adds the keys of a public keyring document (len bytes, at most
 * ADM_KEYRING_JSON_MAX). Keys already present are merged (retirement is
 * carried over, never undone). ADM_ERR_FORMAT on any malformed entry or an
 * oversize document, ADM_ERR_TOO_BIG if the keys would not fit, in which
 * cases the keyring is left unchanged. */
adm_err_t adm_keyring_load_public_json(adm_keyring_t *kr, const char *json, size_t len);

/* Reads a public keyring document from a file (same errors, plus ADM_ERR_IO). */
adm_err_t adm_keyring_load_public_file(adm_keyring_t *kr, const char *path);

/* Key directory: DIR/keys.json (public document, includes retirement) and one
 * DIR/<kid>.key per secret key (64 hex characters of the seed, mode 0600).
 * save creates DIR (0700) if needed and writes files atomically (temp + rename);
 * ADM_ERR_EXISTS if DIR holds a .key file of a key not in kr. load is
 * all-or-nothing (ADM_ERR_IO, ADM_ERR_FORMAT; a directory without keys.json
 * or .key files loads as empty) and then makes the newest active secret key
 * the signing key (spec §4.3). */
adm_err_t adm_keyring_save_dir(const adm_keyring_t *kr, const char *dir);
adm_err_t adm_keyring_load_dir(adm_keyring_t *kr, const char *dir);

#endif
