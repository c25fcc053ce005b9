/* issuer.h: admitd's ticket issuer: per-event Ed25519 signing keys kept in
 * the store (create on first use, rotate, retire, publish) and signed tokens
 * for issued tickets (docs/ticket-format.md). Not for verdicts at the gate
 * (scanner/) nor for HTTP (route-booking.c). */
#ifndef ADM_ISSUER_H
#define ADM_ISSUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"
#include "sync/err.h"
#include "sync/token.h"

/* A token is meant for [event start - ADM_ISSUER_VALID_BEFORE_S, event end +
 * ADM_ISSUER_VALID_AFTER_S] (doors open early, late leavers re-enter), clamped
 * to the format's 0..UINT32_MAX. Scanners compare the window with their clock. */
#define ADM_ISSUER_VALID_BEFORE_S (6 * 3600)
#define ADM_ISSUER_VALID_AFTER_S (6 * 3600)

/* Events whose keys are cached at once; older entries are evicted. */
#define ADM_ISSUER_CACHE_EVENTS 256

/* Tickets read per store call by adm_issuer_sign_unsigned(). */
#define ADM_ISSUER_SWEEP_BATCH ADM_STORE_PAGE_MAX

/* Longest key id text ("9d24e2ee") plus its NUL. */
#define ADM_ISSUER_KID_TEXT 9

typedef struct adm_issuer adm_issuer_t;

/* Creates an issuer over st (borrowed; must outlive the issuer) into *out;
 * free with adm_issuer_free(). ADM_ERR_CRYPTO when libsodium cannot start,
 * ADM_ERR_NOMEM. Every function below is thread-safe, and several admitd
 * processes may share one database: the store is the truth for keys, the
 * cache is checked against it before each use. */
adm_err_t adm_issuer_new(adm_store_t *st, struct adm_issuer **out);

/* Frees the issuer and wipes its cached secret keys. NULL is accepted. */
void adm_issuer_free(struct adm_issuer *is);

/* *kid gets the key that signs event_id's new tickets: the newest active key
 * in the store. When the event has none (first use, or every key retired)
 * a new key is made and stored first, only while the event still has no
 * active key (adm_store_event_key_add_first): of threads or processes racing
 * here exactly one stores a key and all of them sign with it.
 * ADM_ERR_NOT_FOUND (no such event), ADM_ERR_LIMIT (the event has
 * ADM_STORE_EVENT_KEYS_MAX keys, all retired), store errors. */
adm_err_t adm_issuer_signing_kid(adm_issuer_t *is, int64_t event_id, int64_t now, uint32_t *kid);

/* Makes a new key for event_id and makes it the signing key (rotation);
 * older keys keep verifying until retired. *kid (may be NULL) gets its id.
 * Its created time is now, or one second after the event's newest key when
 * that is later, so the store's order is the order of rotation.
 * ADM_ERR_NOT_FOUND, ADM_ERR_LIMIT (ADM_STORE_EVENT_KEYS_MAX keys), store errors. */
adm_err_t adm_issuer_rotate(adm_issuer_t *is, int64_t event_id, int64_t now, uint32_t *kid);

/* Retires key kid of event_id (idempotent): it neither signs nor verifies
 * any more, so every token it signed becomes invalid (use after a leak).
 * When no active key is left a successor is made at once, so the keyring
 * scanners load next already holds the key of future tickets.
 * ADM_ERR_NOT_FOUND (no such event, or kid is not one of its keys). */
adm_err_t adm_issuer_retire(adm_issuer_t *is, int64_t event_id, uint32_t kid, int64_t now);

/* The public keyring document of event_id (docs/ticket-format.md §4.2) in a
 * new NUL-terminated string (free with free()); *len (may be NULL) gets its
 * length. Makes the event's first key when it has none, so scanners that
 * sync before the sale already hold it. ADM_ERR_NOT_FOUND, store errors. */
adm_err_t adm_issuer_public_json(adm_issuer_t *is, int64_t event_id, int64_t now, char **json,
                                 size_t *len);

/* Fills *out with the payload adm_issuer_sign_ticket() signs for t: event,
 * ticket and type ids, flags 0 (ticket types carry no re-entry/special
 * attributes yet), the event's validity window, no label (no seating yet).
 * ADM_ERR_NOT_FOUND (event gone), ADM_ERR_TOKEN_FIELD (an id outside the
 * token's ranges). *out is zeroed on failure. */
adm_err_t adm_issuer_ticket_payload(adm_issuer_t *is, const adm_store_ticket_t *t,
                                    adm_ticket_t *out);

/* Signs ticket t (a valid ticket as stored) with its event's signing key and
 * attaches the token with adm_store_ticket_set_token(); on success t->token
 * and t->key_id hold what the store now has. A ticket that already has a
 * token is left alone (ADM_OK); when another signer attached a different
 * token first, t gets theirs. ADM_ERR_STATE for a revoked ticket, the
 * errors of adm_issuer_signing_kid() and adm_issuer_ticket_payload(). */
adm_err_t adm_issuer_sign_ticket(adm_issuer_t *is, adm_store_ticket_t *t, int64_t now);

/* Signs every unsigned valid ticket of order_id (any owner). *n_signed (may
 * be NULL) gets how many were signed by this call. Stops at the first
 * failure (what was signed stays signed). ADM_ERR_NOT_FOUND for no order. */
adm_err_t adm_issuer_sign_order(adm_issuer_t *is, int64_t order_id, int64_t now, size_t *n_signed);

/* The recovery sweep: signs every valid ticket the store lists as unsigned
 * (adm_store_ticket_list_unsigned), e.g. left by a crash between payment and
 * signing. Call at start-up and periodically. Keeps going past tickets that
 * fail, and stops when a batch signs nothing; returns the first failure (or
 * ADM_OK) and *n_signed (may be NULL) the number signed. */
adm_err_t adm_issuer_sign_unsigned(adm_issuer_t *is, int64_t now, size_t *n_signed);

/* Formats kid as 8 lower-case hex digits into out. */
void adm_issuer_kid_text(uint32_t kid, char out[ADM_ISSUER_KID_TEXT]);

/* Parses 8 lower-case hex digits (not "00000000") into *kid; false otherwise. */
bool adm_issuer_kid_parse(const char *s, uint32_t *kid);

#endif
