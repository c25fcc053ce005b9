/* base45.c: Base45 (RFC 9285) encoder and strict decoder for ticket text.
 * Bounded and allocation-free; the decoder accepts only the canonical form
 * (no lowercase, no spaces to trim, no overflowing groups). */
#include "sync/base45.h"

#include <string.h>

static const char alphabet[45] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* value of a Base45 character, or -1 */
static int char_value(unsigned char c)
{
    int result = -1;

    if (c >= '0' && c <= '9')
        result = c - '0';
    else if (c >= 'A' && c <= 'Z')
        result = c - 'A' + 10;
    else {
        switch (c) {
        case ' ':
            result = 36;
            break;
        case '$':
            result = 37;
            break;
        case '%':
            result = 38;
            break;
        case '*':
            result = 39;
            break;
        case '+':
            result = 40;
            break;
        case '-':
            result = 41;
            break;
        case '.':
            result = 42;
            break;
        case '/':
            result = 43;
            break;
        case ':':
            result = 44;
            break;
        default:
            break;
        }
    }
    return result;
}

adm_err_t adm_base45_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    adm_err_t result = ADM_OK;
    size_t o = 0;
    size_t i;

    if (outlen != NULL)
        *outlen = 0;
    if ((in == NULL && n > 0) || out == NULL || outlen == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    /* ADM_BASE45_ENCODED_LEN(n) + 1 <= cap, written so that it cannot overflow */
    if (cap == 0 || n / 2 > (cap - 1) / 3 || (cap - 1) - (n / 2) * 3 < (n % 2) * 2) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    for (i = 0; i + 1 < n; i += 2) {
        unsigned v = (unsigned)in[i] << 8 | in[i + 1];
        out[o++] = alphabet[v % 45];
        v /= 45;
        out[o++] = alphabet[v % 45];
        out[o++] = alphabet[v / 45];
    }
    if (i < n) {
        unsigned v = in[i];
        out[o++] = alphabet[v % 45];
        out[o++] = alphabet[v / 45];
    }
    out[o] = '\0';
    *outlen = o;
out:
    if (result != ADM_OK && out != NULL && cap > 0)
        out[0] = '\0';
    return result;
}

adm_err_t adm_base45_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    adm_err_t result = ADM_OK;
    size_t need;
    size_t o = 0;
    size_t i;

    if (outlen != NULL)
        *outlen = 0;
    if ((in == NULL && n > 0) || (out == NULL && cap > 0) || outlen == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    if (n % 3 == 1) {
        result = ADM_ERR_TOKEN_BASE45;
        goto out;
    }
    need = (n / 3) * 2 + (n % 3 == 2 ? 1 : 0);
    /* Validate the whole input before looking at cap, so that malformed text
     * is reported as such whatever the buffer size. */
    for (i = 0; i < n; i += 3) {
        size_t group = n - i >= 3 ? 3 : 2;
        unsigned long v = 0;
        unsigned long mul = 1;
        size_t k;

        for (k = 0; k < group; k++) {
            int c = char_value((unsigned char)in[i + k]);
            if (c < 0) {
                result = ADM_ERR_TOKEN_BASE45;
                goto out;
            }
            v += (unsigned long)c * mul;
            mul *= 45;
        }
        if (v > (group == 3 ? 0xFFFFul : 0xFFul)) {
            result = ADM_ERR_TOKEN_BASE45;
            goto out;
        }
        if (need <= cap) {
            if (group == 3) {
                out[o++] = (uint8_t)(v >> 8);
                out[o++] = (uint8_t)(v & 0xFF);
            } else {
                out[o++] = (uint8_t)v;
            }
        }
    }
    if (need > cap) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    *outlen = o;
out:
    if (result != ADM_OK && out != NULL)
        memset(out, 0, cap);
    return result;
}
