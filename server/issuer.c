/* issuer.c: per-event signing keys (store rows -> cached keyrings) and token
 * issuance for paid tickets (issuer.h, docs/ticket-format.md §4-5). Not for
 * payments or HTTP; the store stays the only truth about which keys exist. */
#include "server/issuer.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/keyring.h"

#define FP_BYTES 32       /* fingerprint of an event's key rows */
#define NEW_KEY_TRIES 8   /* key id 0 or a key id taken by another event */
#define ENSURE_ROUNDS 4   /* a key we just made was retired before we used it */
#define SWEEP_PASSES 1000 /* batches per adm_issuer_sign_unsigned() call */

/* An immutable view of one event's keys, shared by reference: built from
 * the store's rows outside any lock, replaced (never changed) when the rows
 * change, freed when the last user lets go. */
struct keyset {
    unsigned refs; /* guarded by adm_issuer.mu */
    int64_t event_id;
    uint8_t fp[FP_BYTES];
    adm_keyring_t *kr;      /* the active keys, with their secrets */
    uint32_t signing;       /* newest active key in the store's order; 0 = none */
    int64_t newest_created; /* greatest created over every key, retired ones too */
    char *json;             /* public keyring document */
    size_t json_len;
};

struct slot {
    int64_t event_id;
    struct keyset *ks; /* NULL = empty slot */
    uint64_t used;
};

struct adm_issuer {
    adm_store_t *st;
    pthread_mutex_t mu;        /* the cache and every keyset's refs */
    pthread_mutex_t create_mu; /* key creation: one at a time in this process */
    uint64_t tick;
    struct slot slots[ADM_ISSUER_CACHE_EVENTS];
};

/* What a run of signatures keeps between tickets of the same event. */
struct batch {
    int64_t event_id;  /* 0 = nothing loaded */
    adm_ticket_t base; /* event id and validity window */
    struct keyset *ks;
    int64_t type_id;   /* 0 = no type loaded */
    struct type_attrs {
        uint8_t flags;                       /* ADM_TICKET_SPECIAL, ADM_TICKET_REENTRY */
        char label[ADM_TOKEN_LABEL_MAX + 1]; /* the type's seat/zone */
    } type;
};

/* ---- key ids ---- */

void adm_issuer_kid_text(uint32_t kid, char out[ADM_ISSUER_KID_TEXT])
{
    snprintf(out, ADM_ISSUER_KID_TEXT, "%08x", (unsigned)kid);
}

bool adm_issuer_kid_parse(const char *s, uint32_t *kid)
{
    uint32_t v = 0;
    size_t i;

    if (s == NULL || kid == NULL || strlen(s) != ADM_ISSUER_KID_TEXT - 1)
        return false;
    for (i = 0; i < ADM_ISSUER_KID_TEXT - 1; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    if (v == 0)
        return false;
    *kid = v;
    return true;
}

/* ---- keysets ---- */

static void keyset_free(struct keyset *ks)
{
    if (ks == NULL)
        return;
    adm_keyring_free(ks->kr);
    free(ks->json);
    free(ks);
}

static void fingerprint(const adm_event_key_t *keys, size_t n, uint8_t fp[FP_BYTES])
{
    crypto_generichash_state h;
    uint8_t rec[4 + 1 + 8];
    size_t i;

    crypto_generichash_init(&h, NULL, 0, FP_BYTES);
    for (i = 0; i < n; i++) {
        uint64_t created = (uint64_t)keys[i].created;
        int b;
        for (b = 0; b < 4; b++)
            rec[b] = (uint8_t)(keys[i].kid >> (24 - 8 * b));
        rec[4] = keys[i].retired ? 1 : 0;
        for (b = 0; b < 8; b++)
            rec[5 + b] = (uint8_t)(created >> (56 - 8 * b));
        crypto_generichash_update(&h, rec, sizeof rec);
    }
    crypto_generichash_final(&h, fp, FP_BYTES);
}

/* One key of the public document: {"kid","alg","public","retired","created"}. */
static json_t *public_entry(const adm_event_key_t *k)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char kid[ADM_ISSUER_KID_TEXT], hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
    json_t *o = NULL;

    if (crypto_sign_seed_keypair(pk, sk, k->seed) != 0)
        goto out;
    if (adm_key_id(pk) != k->kid)
        goto out; /* a row whose seed does not give its kid: refuse it */
    adm_issuer_kid_text(k->kid, kid);
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    o = json_pack("{s:s, s:s, s:s, s:b, s:I}", "kid", kid, "alg", "Ed25519", "public", hex,
                  "retired", k->retired ? 1 : 0, "created", (json_int_t)k->created);
out:
    sodium_memzero(sk, sizeof sk);
    return o;
}

/* The public document of keys[0..n), in the keyring library's own form:
 * built here from the rows (their created times are the store's), then read
 * back and written out by sync/keyring.c, which also validates it. */
static adm_err_t public_doc(const adm_event_key_t *keys, size_t n, char **json, size_t *len)
{
    adm_err_t result = ADM_ERR_NOMEM;
    adm_keyring_t *pub = NULL;
    json_t *doc = NULL, *arr;
    char *text = NULL;
    size_t i;

    *json = NULL;
    *len = 0;
    doc = json_pack("{s:s, s:i, s:[]}", "format", "admit-keyring", "version", 1, "keys");
    if (doc == NULL)
        goto out;
    arr = json_object_get(doc, "keys");
    for (i = 0; i < n; i++) {
        json_t *e = public_entry(&keys[i]);
        if (e == NULL) {
            result = ADM_ERR_STORE;
            goto out;
        }
        if (json_array_append_new(arr, e) != 0)
            goto out;
    }
    text = json_dumps(doc, JSON_COMPACT);
    if (text == NULL)
        goto out;
    if ((result = adm_keyring_new(&pub)) != ADM_OK)
        goto out;
    result = adm_keyring_load_public_json(pub, text, strlen(text));
    if (result == ADM_ERR_FORMAT || result == ADM_ERR_TOO_BIG)
        result = ADM_ERR_STORE; /* the rows themselves are wrong */
    if (result != ADM_OK)
        goto out;
    if ((result = adm_keyring_public_json(pub, json)) != ADM_OK)
        goto out;
    *len = strlen(*json);
out:
    free(text);
    json_decref(doc);
    adm_keyring_free(pub);
    return result;
}

static adm_err_t keyset_build(int64_t event_id, const adm_event_key_t *keys, size_t n,
                              const uint8_t fp[FP_BYTES], struct keyset **out)
{
    adm_err_t result = ADM_ERR_NOMEM;
    struct keyset *ks;
    size_t i;

    *out = NULL;
    ks = calloc(1, sizeof *ks);
    if (ks == NULL)
        goto out;
    ks->event_id = event_id;
    memcpy(ks->fp, fp, FP_BYTES);
    if ((result = adm_keyring_new(&ks->kr)) != ADM_OK)
        goto out;
    for (i = 0; i < n; i++) {
        uint32_t kid = 0;
        if (keys[i].created > ks->newest_created)
            ks->newest_created = keys[i].created;
        if (keys[i].retired)
            continue;
        result = adm_keyring_add_seed(ks->kr, keys[i].seed, &kid);
        if (result == ADM_OK && kid != keys[i].kid)
            result = ADM_ERR_STORE;
        if (result != ADM_OK)
            goto out;
        ks->signing = kid; /* the store lists oldest first: the last active wins */
    }
    result = public_doc(keys, n, &ks->json, &ks->json_len);
out:
    if (result != ADM_OK) {
        keyset_free(ks);
        ks = NULL;
    }
    *out = ks;
    return result;
}

/* Under is->mu: the slot of event_id, or NULL. */
static struct slot *slot_find(adm_issuer_t *is, int64_t event_id)
{
    size_t i;

    for (i = 0; i < ADM_ISSUER_CACHE_EVENTS; i++)
        if (is->slots[i].ks != NULL && is->slots[i].event_id == event_id)
            return &is->slots[i];
    return NULL;
}

/* Under is->mu: a slot for event_id, evicting the least recently used. */
static struct slot *slot_take(adm_issuer_t *is, int64_t event_id)
{
    struct slot *s = slot_find(is, event_id), *lru = NULL;
    size_t i;

    if (s != NULL)
        return s;
    for (i = 0; i < ADM_ISSUER_CACHE_EVENTS; i++) {
        s = &is->slots[i];
        if (s->ks == NULL)
            return s;
        if (lru == NULL || s->used < lru->used)
            lru = s;
    }
    return lru;
}

/* Under is->mu. */
static void keyset_unref_locked(struct keyset *ks)
{
    if (ks != NULL && --ks->refs == 0)
        keyset_free(ks);
}

static void keyset_release(adm_issuer_t *is, struct keyset *ks)
{
    if (ks == NULL)
        return;
    pthread_mutex_lock(&is->mu);
    keyset_unref_locked(ks);
    pthread_mutex_unlock(&is->mu);
}

/* *out gets a reference to the keyset matching the store's current rows for
 * event_id (from the cache when they have not changed); release it with
 * keyset_release(). Never creates keys. */
static adm_err_t keyset_acquire(adm_issuer_t *is, int64_t event_id, struct keyset **out)
{
    adm_err_t result;
    adm_event_key_t *keys = NULL;
    struct keyset *ks = NULL;
    uint8_t fp[FP_BYTES];
    struct slot *s;
    size_t n = 0;

    *out = NULL;
    result = adm_store_event_key_list(is->st, ADM_READ_HINT_PRIMARY, event_id, &keys, &n);
    if (result != ADM_OK)
        goto out;
    fingerprint(keys, n, fp);

    pthread_mutex_lock(&is->mu);
    s = slot_find(is, event_id);
    if (s != NULL && sodium_memcmp(s->ks->fp, fp, FP_BYTES) == 0) {
        s->used = ++is->tick;
        s->ks->refs++;
        *out = s->ks;
    }
    pthread_mutex_unlock(&is->mu);
    if (*out != NULL)
        goto out;

    /* miss or stale: build outside the lock (key derivation, JSON) */
    if ((result = keyset_build(event_id, keys, n, fp, &ks)) != ADM_OK)
        goto out;
    pthread_mutex_lock(&is->mu);
    s = slot_take(is, event_id);
    if (s->ks != NULL && s->event_id == event_id && sodium_memcmp(s->ks->fp, fp, FP_BYTES) == 0) {
        keyset_free(ks); /* another thread built the same one meanwhile */
        ks = s->ks;
    } else {
        keyset_unref_locked(s->ks);
        s->event_id = event_id;
        s->ks = ks;
        ks->refs = 1; /* the cache's */
    }
    s->used = ++is->tick;
    ks->refs++;
    *out = ks;
    pthread_mutex_unlock(&is->mu);
out:
    adm_store_event_keys_free(keys, n);
    return result;
}

/* Makes a random key and stores it for event_id with the given created time.
 * Retries the 2^-32 cases: key id 0, a key id taken by any event. first:
 * store it only while the event has no active key (adm_store_event_key_add_first);
 * ADM_ERR_EXISTS then, unretried: another process made one (or, 2^-32, the
 * kid is taken), and the caller reads the keys again. */
static adm_err_t store_new_key(adm_issuer_t *is, int64_t event_id, int64_t created, bool first,
                               uint32_t *kid)
{
    adm_err_t result = ADM_ERR_CRYPTO;
    uint8_t seed[ADM_KEY_SEED_BYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES];
    uint32_t id = 0;
    int tries;

    for (tries = 0; tries < NEW_KEY_TRIES; tries++) {
        randombytes_buf(seed, sizeof seed);
        if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
            result = ADM_ERR_CRYPTO;
            break;
        }
        id = adm_key_id(pk);
        if (id == 0)
            continue;
        result = first ? adm_store_event_key_add_first(is->st, event_id, id, seed, created)
                       : adm_store_event_key_add(is->st, event_id, id, seed, created);
        if (result != ADM_ERR_EXISTS || first)
            break;
    }
    if (result == ADM_ERR_EXISTS && !first)
        result = ADM_ERR_CONFLICT;
    if (result == ADM_OK)
        *kid = id;
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    return result;
}

/* A created time that sorts after every key of the event (see rotate). */
static int64_t next_created(const struct keyset *ks, int64_t now)
{
    return ks->newest_created >= now ? ks->newest_created + 1 : now;
}

/* *out gets a keyset of event_id with a signing key, making one if needed. */
static adm_err_t keyset_signing(adm_issuer_t *is, int64_t event_id, int64_t now,
                                struct keyset **out)
{
    adm_err_t result;
    struct keyset *ks = NULL;
    uint32_t kid;
    int round;

    *out = NULL;
    if ((result = keyset_acquire(is, event_id, &ks)) != ADM_OK || ks->signing != 0)
        goto out;
    for (round = 0; round < ENSURE_ROUNDS; round++) {
        pthread_mutex_lock(&is->create_mu);
        /* look again: another thread or process may have made one meanwhile */
        keyset_release(is, ks);
        ks = NULL;
        result = keyset_acquire(is, event_id, &ks);
        if (result == ADM_OK && ks->signing == 0) {
            /* stored only while the event still has no active key, so two
             * processes racing here cannot both add one */
            result = store_new_key(is, event_id, next_created(ks, now), true, &kid);
            if (result == ADM_ERR_EXISTS)
                result = ADM_OK; /* another process's key won: use it */
        }
        pthread_mutex_unlock(&is->create_mu);
        if (result != ADM_OK)
            goto out;
        if (ks->signing != 0)
            goto out;
        /* reload from the store: ours, or the key another process stored first */
        keyset_release(is, ks);
        ks = NULL;
        if ((result = keyset_acquire(is, event_id, &ks)) != ADM_OK || ks->signing != 0)
            goto out;
    }
    result = ADM_ERR_CONFLICT; /* our new keys were retired as fast as we made them */
out:
    if (result != ADM_OK) {
        keyset_release(is, ks);
        ks = NULL;
    }
    *out = ks;
    return result;
}

/* ---- public API: keys ---- */

adm_err_t adm_issuer_new(adm_store_t *st, struct adm_issuer **out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_issuer_t *is = NULL;
    bool mu = false;

    if (out == NULL)
        goto out;
    *out = NULL;
    if (st == NULL)
        goto out;
    if ((result = adm_crypto_init()) != ADM_OK)
        goto out;
    result = ADM_ERR_NOMEM;
    is = calloc(1, sizeof *is);
    if (is == NULL)
        goto out;
    is->st = st;
    if (pthread_mutex_init(&is->mu, NULL) != 0)
        goto out;
    mu = true;
    if (pthread_mutex_init(&is->create_mu, NULL) != 0)
        goto out;
    result = ADM_OK;
    *out = is;
    is = NULL;
out:
    if (is != NULL) {
        if (mu)
            pthread_mutex_destroy(&is->mu);
        free(is);
    }
    return result;
}

void adm_issuer_free(struct adm_issuer *is)
{
    size_t i;

    if (is == NULL)
        return;
    for (i = 0; i < ADM_ISSUER_CACHE_EVENTS; i++) {
        /* every user has released its reference by now: drop the cache's */
        if (is->slots[i].ks != NULL)
            keyset_free(is->slots[i].ks);
    }
    pthread_mutex_destroy(&is->create_mu);
    pthread_mutex_destroy(&is->mu);
    free(is);
}

adm_err_t adm_issuer_signing_kid(adm_issuer_t *is, int64_t event_id, int64_t now, uint32_t *kid)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    struct keyset *ks = NULL;

    if (kid != NULL)
        *kid = 0;
    if (is == NULL || kid == NULL || event_id <= 0 || now <= 0)
        goto out;
    if ((result = keyset_signing(is, event_id, now, &ks)) != ADM_OK)
        goto out;
    *kid = ks->signing;
out:
    keyset_release(is, ks);
    return result;
}

adm_err_t adm_issuer_rotate(adm_issuer_t *is, int64_t event_id, int64_t now, uint32_t *kid)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    struct keyset *ks = NULL;
    uint32_t id = 0;

    if (kid != NULL)
        *kid = 0;
    if (is == NULL || event_id <= 0 || now <= 0)
        goto out;
    pthread_mutex_lock(&is->create_mu);
    result = keyset_acquire(is, event_id, &ks);
    if (result == ADM_OK)
        result = store_new_key(is, event_id, next_created(ks, now), false, &id);
    pthread_mutex_unlock(&is->create_mu);
    if (result != ADM_OK)
        goto out;
    if (kid != NULL)
        *kid = id;
out:
    keyset_release(is, ks);
    return result;
}

adm_err_t adm_issuer_retire(adm_issuer_t *is, int64_t event_id, uint32_t kid, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    struct keyset *ks = NULL;

    if (is == NULL || event_id <= 0 || kid == 0 || now <= 0)
        goto out;
    if ((result = adm_store_event_key_retire(is->st, event_id, kid, now)) != ADM_OK)
        goto out;
    /* a successor right away, so the next document scanners load has it; the
     * event having used up its keys does not undo the retirement */
    result = keyset_signing(is, event_id, now, &ks);
    if (result == ADM_ERR_LIMIT)
        result = ADM_OK;
out:
    keyset_release(is, ks);
    return result;
}

adm_err_t adm_issuer_public_json(adm_issuer_t *is, int64_t event_id, int64_t now, char **json,
                                 size_t *len)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    struct keyset *ks = NULL;

    if (json != NULL)
        *json = NULL;
    if (len != NULL)
        *len = 0;
    if (is == NULL || json == NULL || event_id <= 0 || now <= 0)
        goto out;
    result = keyset_signing(is, event_id, now, &ks);
    if (result == ADM_ERR_LIMIT) /* every key retired and no room: publish as is */
        result = keyset_acquire(is, event_id, &ks);
    if (result != ADM_OK)
        goto out;
    *json = malloc(ks->json_len + 1);
    if (*json == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    memcpy(*json, ks->json, ks->json_len + 1);
    if (len != NULL)
        *len = ks->json_len;
out:
    keyset_release(is, ks);
    return result;
}

/* ---- public API: tickets ---- */

static int64_t clamp_u32(int64_t v)
{
    return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? (int64_t)UINT32_MAX : v;
}

/* The fields every ticket of one event shares: event id and window. */
static adm_err_t event_base(adm_issuer_t *is, int64_t event_id, adm_ticket_t *base)
{
    adm_err_t result = ADM_ERR_TOKEN_FIELD;
    adm_event_t *ev = NULL;

    memset(base, 0, sizeof *base);
    if (event_id <= 0 || event_id > (int64_t)UINT32_MAX)
        goto out;
    result = ADM_ERR_NOMEM;
    ev = malloc(sizeof *ev); /* ~4.5 KiB of text fields */
    if (ev == NULL)
        goto out;
    if ((result = adm_store_event_get(is->st, ADM_READ_HINT_PRIMARY, event_id, ev)) != ADM_OK)
        goto out;
    base->event_id = (uint32_t)event_id;
    base->has_valid_from = true;
    base->has_valid_until = true;
    /* both times are positive; subtract / add without overflow, then clamp */
    base->valid_from = clamp_u32(ev->starts_at - ADM_ISSUER_VALID_BEFORE_S);
    base->valid_until = ev->ends_at > (int64_t)UINT32_MAX
                            ? (int64_t)UINT32_MAX
                            : clamp_u32(ev->ends_at + ADM_ISSUER_VALID_AFTER_S);
    if (base->valid_until < base->valid_from)
        base->valid_until = base->valid_from;
out:
    free(ev);
    return result;
}

/* The attributes ticket type type_id gives its tickets. */
static adm_err_t load_type(adm_issuer_t *is, int64_t type_id, struct type_attrs *out)
{
    adm_ticket_type_t tt;
    adm_err_t result;

    memset(out, 0, sizeof *out);
    if (type_id <= 0 || type_id > (int64_t)UINT32_MAX) /* the token's field is 32 bits */
        return ADM_ERR_TOKEN_FIELD;
    result = adm_store_ticket_type_get(is->st, ADM_READ_HINT_PRIMARY, type_id, &tt);
    if (result != ADM_OK)
        return result;
    out->flags = (uint8_t)((tt.special ? ADM_TICKET_SPECIAL : 0) |
                           (tt.reentry ? ADM_TICKET_REENTRY : 0));
    _Static_assert(ADM_STORE_ZONE_MAX <= ADM_TOKEN_LABEL_MAX, "a zone fits a token label");
    memcpy(out->label, tt.zone, sizeof tt.zone);
    return ADM_OK;
}

static adm_err_t fill_payload(const adm_ticket_t *base, const struct type_attrs *type,
                              const adm_store_ticket_t *t, adm_ticket_t *out)
{
    adm_err_t result = ADM_ERR_TOKEN_FIELD;

    *out = *base;
    if (t->id <= 0 || t->type_id <= 0 || t->type_id > (int64_t)UINT32_MAX)
        goto out;
    out->ticket_id = (uint64_t)t->id;
    out->type_id = (uint32_t)t->type_id;
    out->flags = type->flags;
    memcpy(out->label, type->label, sizeof out->label);
    result = ADM_OK;
out:
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
    return result;
}

adm_err_t adm_issuer_ticket_payload(adm_issuer_t *is, const adm_store_ticket_t *t,
                                    adm_ticket_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_ticket_t base;
    struct type_attrs type;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (is == NULL || t == NULL || out == NULL)
        goto out;
    if ((result = event_base(is, t->event_id, &base)) != ADM_OK ||
        (result = load_type(is, t->type_id, &type)) != ADM_OK)
        goto out;
    result = fill_payload(&base, &type, t, out);
out:
    return result;
}

static void batch_done(adm_issuer_t *is, struct batch *b)
{
    keyset_release(is, b->ks);
    memset(b, 0, sizeof *b);
}

/* Signs t using (and refreshing) what b holds for t's event. */
static adm_err_t sign_one(adm_issuer_t *is, struct batch *b, adm_store_ticket_t *t, int64_t now)
{
    adm_err_t result = ADM_OK;
    adm_store_ticket_t *cur = NULL;
    adm_ticket_t payload;
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t len = 0;

    if (t->token[0] != '\0')
        goto out;
    if (t->status != ADM_TICKET_VALID) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (b->ks == NULL || b->event_id != t->event_id) {
        batch_done(is, b);
        if ((result = event_base(is, t->event_id, &b->base)) != ADM_OK)
            goto out;
        if ((result = keyset_signing(is, t->event_id, now, &b->ks)) != ADM_OK)
            goto out;
        b->event_id = t->event_id;
    }
    if (b->type_id != t->type_id) {
        b->type_id = 0;
        if ((result = load_type(is, t->type_id, &b->type)) != ADM_OK)
            goto out;
        b->type_id = t->type_id;
    }
    if ((result = fill_payload(&b->base, &b->type, t, &payload)) != ADM_OK)
        goto out;
    result = adm_token_encode(&payload, b->ks->kr, b->ks->signing, text, sizeof text, &len);
    if (result != ADM_OK)
        goto out;
    result = adm_store_ticket_set_token(is->st, t->id, b->ks->signing, text);
    if (result == ADM_OK) {
        memcpy(t->token, text, len + 1);
        t->key_id = b->ks->signing;
    } else if (result == ADM_ERR_EXISTS) {
        /* a concurrent signer (another thread, process or a rotation) won */
        result = ADM_ERR_NOMEM;
        cur = malloc(sizeof *cur);
        if (cur == NULL)
            goto out;
        result = adm_store_ticket_get(is->st, ADM_READ_HINT_PRIMARY, t->id, cur);
        if (result == ADM_OK) {
            memcpy(t->token, cur->token, sizeof t->token);
            t->key_id = cur->key_id;
        }
    }
out:
    free(cur);
    return result;
}

adm_err_t adm_issuer_sign_ticket(adm_issuer_t *is, adm_store_ticket_t *t, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    struct batch b = {0};

    if (is == NULL || t == NULL || now <= 0)
        goto out;
    result = sign_one(is, &b, t, now);
out:
    if (is != NULL)
        batch_done(is, &b);
    return result;
}

adm_err_t adm_issuer_sign_order(adm_issuer_t *is, int64_t order_id, int64_t now, size_t *n_signed)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_store_ticket_t *tickets = NULL;
    struct batch b = {0};
    size_t n = 0, i, done = 0;

    if (n_signed != NULL)
        *n_signed = 0;
    if (is == NULL || order_id <= 0 || now <= 0)
        goto out;
    result = adm_store_order_tickets(is->st, ADM_READ_HINT_PRIMARY, 0, order_id, &tickets, &n);
    if (result != ADM_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if (tickets[i].status != ADM_TICKET_VALID || tickets[i].token[0] != '\0')
            continue;
        if ((result = sign_one(is, &b, &tickets[i], now)) != ADM_OK)
            goto out;
        done++;
    }
out:
    if (is != NULL)
        batch_done(is, &b);
    free(tickets);
    if (n_signed != NULL)
        *n_signed = done;
    return result;
}

adm_err_t adm_issuer_sign_unsigned(adm_issuer_t *is, int64_t now, size_t *n_signed)
{
    adm_err_t result = ADM_ERR_INVALID_ARG, first = ADM_OK;
    adm_store_ticket_t *tickets = NULL;
    struct batch b = {0};
    size_t n = 0, i, done = 0, pass_done;
    int pass;

    if (n_signed != NULL)
        *n_signed = 0;
    if (is == NULL || now <= 0)
        goto out;
    for (pass = 0; pass < SWEEP_PASSES; pass++) {
        result = adm_store_ticket_list_unsigned(is->st, ADM_ISSUER_SWEEP_BATCH, &tickets, &n);
        if (result != ADM_OK)
            goto out;
        pass_done = 0;
        for (i = 0; i < n; i++) {
            adm_err_t rc = sign_one(is, &b, &tickets[i], now);
            if (rc == ADM_OK)
                pass_done++;
            else if (first == ADM_OK)
                first = rc;
        }
        free(tickets);
        tickets = NULL;
        done += pass_done;
        /* the list is oldest first: a batch that signed nothing would repeat */
        if (n < ADM_ISSUER_SWEEP_BATCH || pass_done == 0)
            break;
    }
    result = first;
out:
    if (is != NULL)
        batch_done(is, &b);
    free(tickets);
    if (n_signed != NULL)
        *n_signed = done;
    return result;
}
