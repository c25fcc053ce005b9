/* token.c: encoder and strict decoder of the signed ticket token, format v1
 * (docs/ticket-format.md §3 layout, §6 decode order). Not for key management
 * (keyring.c) and not for admission verdicts (the scanner's business). */
#include "sync/token.h"

#include <string.h>

#include "sync/base45.h"

/* presence bits of the binary flags byte (spec §3.1); bits 0-1 are public */
#define FLAG_HAS_VALID_FROM 0x04u
#define FLAG_HAS_VALID_UNTIL 0x08u
#define FLAG_HAS_LABEL 0x10u
#define FLAGS_RESERVED 0xE0u
/* longest signed part: everything but the signature */
#define SIGNED_MAX (ADM_TOKEN_BYTES_MAX - ADM_SIGNATURE_BYTES)

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Label rule (spec §3.3): well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF) without control characters: C0 (< 0x20), DEL and
 * C1 (U+0080..U+009F). */
static bool label_ok(const uint8_t *s, size_t n)
{
    bool result = true;
    size_t i = 0;

    while (result && i < n) {
        uint8_t c = s[i];
        size_t more = 0;
        uint8_t lo = 0x80; /* allowed range of the first continuation byte */
        uint8_t hi = 0xBF;
        size_t k;

        if (c < 0x80) {
            result = c >= 0x20 && c != 0x7F;
        } else if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
            if (c == 0xC2)
                lo = 0xA0; /* C2 80..C2 9F are the C1 controls */
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            result = false; /* continuation byte, C0, C1 or F5..FF lead */
        }
        if (result && more > n - i - 1)
            result = false;
        for (k = 1; result && k <= more; k++) {
            uint8_t b = s[i + k];
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
                result = false;
        }
        i += 1 + more;
    }
    return result;
}

static bool time_ok(int64_t v)
{
    return v >= 0 && v <= (int64_t)UINT32_MAX;
}

adm_err_t adm_token_encode(const adm_ticket_t *t, const adm_keyring_t *kr, uint32_t kid, char *out,
                           size_t cap, size_t *outlen)
{
    adm_err_t result = ADM_OK;
    uint8_t bin[ADM_TOKEN_BYTES_MAX];
    size_t label_len = 0;
    size_t b45len = 0;
    size_t n = 0;
    uint8_t flags;

    if (outlen != NULL)
        *outlen = 0;
    if (t == NULL || kr == NULL || out == NULL || outlen == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    label_len = strnlen(t->label, sizeof t->label);
    if ((t->flags & ~ADM_TICKET_FLAGS_PUBLIC) != 0 || t->event_id == 0 || t->ticket_id == 0 ||
        t->type_id == 0 || (t->has_valid_from && !time_ok(t->valid_from)) ||
        (t->has_valid_until && !time_ok(t->valid_until)) ||
        (t->has_valid_from && t->has_valid_until && t->valid_from > t->valid_until) ||
        label_len > ADM_TOKEN_LABEL_MAX || !label_ok((const uint8_t *)t->label, label_len)) {
        result = ADM_ERR_TOKEN_FIELD;
        goto out;
    }
    if (kid == 0) {
        result = adm_keyring_signing_kid(kr, &kid);
        if (result != ADM_OK)
            goto out;
    }
    flags = t->flags;
    flags |= t->has_valid_from ? FLAG_HAS_VALID_FROM : 0;
    flags |= t->has_valid_until ? FLAG_HAS_VALID_UNTIL : 0;
    flags |= label_len > 0 ? FLAG_HAS_LABEL : 0;

    bin[n++] = ADM_TOKEN_VERSION;
    bin[n++] = flags;
    put_be32(bin + n, kid);
    n += 4;
    put_be32(bin + n, t->event_id);
    n += 4;
    put_be32(bin + n, (uint32_t)(t->ticket_id >> 32));
    put_be32(bin + n + 4, (uint32_t)t->ticket_id);
    n += 8;
    put_be32(bin + n, t->type_id);
    n += 4;
    if (t->has_valid_from) {
        put_be32(bin + n, (uint32_t)t->valid_from);
        n += 4;
    }
    if (t->has_valid_until) {
        put_be32(bin + n, (uint32_t)t->valid_until);
        n += 4;
    }
    if (label_len > 0) {
        bin[n++] = (uint8_t)label_len;
        memcpy(bin + n, t->label, label_len);
        n += label_len;
    }
    if (cap < ADM_TOKEN_PREFIX_LEN + ADM_BASE45_ENCODED_LEN(n + ADM_SIGNATURE_BYTES) + 1) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    result = adm_keyring_sign(kr, kid, bin, n, bin + n);
    if (result != ADM_OK)
        goto out;
    n += ADM_SIGNATURE_BYTES;
    memcpy(out, ADM_TOKEN_PREFIX, ADM_TOKEN_PREFIX_LEN);
    result =
        adm_base45_encode(bin, n, out + ADM_TOKEN_PREFIX_LEN, cap - ADM_TOKEN_PREFIX_LEN, &b45len);
    if (result != ADM_OK)
        goto out;
    *outlen = ADM_TOKEN_PREFIX_LEN + b45len;
out:
    if (result != ADM_OK && out != NULL)
        memset(out, 0, cap);
    return result;
}

adm_err_t adm_token_parse(const char *text, size_t len, adm_ticket_t *t, uint8_t *signed_bytes,
                          size_t *signed_len, uint8_t sig[ADM_SIGNATURE_BYTES])
{
    adm_err_t result = ADM_OK;
    uint8_t bin[ADM_TOKEN_BYTES_MAX];
    adm_ticket_t tk;
    size_t blen = 0;
    size_t need;
    size_t pos;
    size_t label_len = 0;
    uint8_t flags;

    memset(&tk, 0, sizeof tk);
    if (t == NULL || (text == NULL && len > 0)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    /* §6 step 1-3: text */
    if (len > ADM_TOKEN_TEXT_MAX) {
        result = ADM_ERR_TOKEN_OVERSIZE;
        goto out;
    }
    if (len < ADM_TOKEN_PREFIX_LEN || memcmp(text, ADM_TOKEN_PREFIX, ADM_TOKEN_PREFIX_LEN) != 0) {
        result = ADM_ERR_TOKEN_PREFIX;
        goto out;
    }
    /* ADM_TOKEN_TEXT_MAX guarantees the result fits bin: ADM_ERR_TOO_BIG cannot happen */
    if (adm_base45_decode(text + ADM_TOKEN_PREFIX_LEN, len - ADM_TOKEN_PREFIX_LEN, bin, sizeof bin,
                          &blen) != ADM_OK) {
        result = ADM_ERR_TOKEN_BASE45;
        goto out;
    }
    /* §6 step 4-6: structure */
    if (blen == 0) {
        result = ADM_ERR_TOKEN_LENGTH;
        goto out;
    }
    if (bin[0] != ADM_TOKEN_VERSION) {
        result = ADM_ERR_TOKEN_VERSION;
        goto out;
    }
    if (blen < ADM_TOKEN_FIXED_BYTES + ADM_SIGNATURE_BYTES) {
        result = ADM_ERR_TOKEN_LENGTH;
        goto out;
    }
    flags = bin[1];
    need = ADM_TOKEN_FIXED_BYTES;
    need += (flags & FLAG_HAS_VALID_FROM) ? 4 : 0;
    need += (flags & FLAG_HAS_VALID_UNTIL) ? 4 : 0;
    if (flags & FLAG_HAS_LABEL) {
        if (blen < need + 1 + ADM_SIGNATURE_BYTES) {
            result = ADM_ERR_TOKEN_LENGTH;
            goto out;
        }
        label_len = bin[need];
        need += 1 + label_len;
    }
    if (blen < need + ADM_SIGNATURE_BYTES) {
        result = ADM_ERR_TOKEN_LENGTH;
        goto out;
    }
    /* §6 step 7: field values */
    tk.key_id = get_be32(bin + 2);
    tk.event_id = get_be32(bin + 6);
    tk.ticket_id = (uint64_t)get_be32(bin + 10) << 32 | get_be32(bin + 14);
    tk.type_id = get_be32(bin + 18);
    tk.flags = flags & ADM_TICKET_FLAGS_PUBLIC;
    pos = ADM_TOKEN_FIXED_BYTES;
    if (flags & FLAG_HAS_VALID_FROM) {
        tk.has_valid_from = true;
        tk.valid_from = get_be32(bin + pos);
        pos += 4;
    }
    if (flags & FLAG_HAS_VALID_UNTIL) {
        tk.has_valid_until = true;
        tk.valid_until = get_be32(bin + pos);
        pos += 4;
    }
    if ((flags & FLAGS_RESERVED) != 0 || tk.key_id == 0 || tk.event_id == 0 || tk.ticket_id == 0 ||
        tk.type_id == 0 ||
        (tk.has_valid_from && tk.has_valid_until && tk.valid_from > tk.valid_until)) {
        result = ADM_ERR_TOKEN_FIELD;
        goto out;
    }
    if (flags & FLAG_HAS_LABEL) {
        if (label_len == 0 || label_len > ADM_TOKEN_LABEL_MAX ||
            !label_ok(bin + pos + 1, label_len)) {
            result = ADM_ERR_TOKEN_FIELD;
            goto out;
        }
        memcpy(tk.label, bin + pos + 1, label_len);
        tk.label[label_len] = '\0';
    }
    /* §6 step 8: nothing after the signature */
    if (blen > need + ADM_SIGNATURE_BYTES) {
        result = ADM_ERR_TOKEN_TRAILING;
        goto out;
    }
    if (signed_bytes != NULL)
        memcpy(signed_bytes, bin, need);
    if (signed_len != NULL)
        *signed_len = need;
    if (sig != NULL)
        memcpy(sig, bin + need, ADM_SIGNATURE_BYTES);
out:
    if (t != NULL) {
        if (result == ADM_OK)
            *t = tk;
        else
            memset(t, 0, sizeof *t);
    }
    if (result != ADM_OK) {
        if (signed_bytes != NULL)
            memset(signed_bytes, 0, SIGNED_MAX);
        if (signed_len != NULL)
            *signed_len = 0;
        if (sig != NULL)
            memset(sig, 0, ADM_SIGNATURE_BYTES);
    }
    return result;
}

adm_err_t adm_token_decode(const char *text, size_t len, const adm_keyring_t *kr, adm_ticket_t *t)
{
    adm_err_t result = ADM_OK;
    uint8_t signed_bytes[ADM_TOKEN_BYTES_MAX];
    uint8_t sig[ADM_SIGNATURE_BYTES];
    size_t signed_len = 0;
    adm_ticket_t tk;

    memset(&tk, 0, sizeof tk);
    if (t == NULL || kr == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    result = adm_token_parse(text, len, &tk, signed_bytes, &signed_len, sig);
    if (result != ADM_OK)
        goto out;
    /* §6 step 9-11: key id, retirement, signature */
    result = adm_keyring_verify(kr, tk.key_id, signed_bytes, signed_len, sig);
out:
    if (t != NULL) {
        if (result == ADM_OK)
            *t = tk;
        else
            memset(t, 0, sizeof *t);
    }
    return result;
}
