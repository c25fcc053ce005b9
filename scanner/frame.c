/* frame.c: greyscale frame -> QR text, with the repeat filter of
 * frame.h. Not capture (camera.c) and not the verdict (verdict.c). */
#include "scanner/frame.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sync/qr.h"

struct adm_frame_reader {
    adm_qr_decoder_t *dec;
    long repeat_ms;
    bool have_last;
    int64_t last_seen_ms; /* the last frame the last text was in */
    size_t last_len;
    char last[ADM_QR_TEXT_MAX + 1];
};

adm_err_t adm_frame_reader_new(long repeat_ms, adm_frame_reader_t **out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_frame_reader_t *r = NULL;

    if (out == NULL)
        goto out;
    *out = NULL;
    if (repeat_ms < 0 || repeat_ms > ADM_FRAME_REPEAT_MS_MAX)
        goto out;
    result = ADM_ERR_NOMEM;
    if ((r = calloc(1, sizeof *r)) == NULL)
        goto out;
    if ((result = adm_qr_decoder_new(&r->dec)) != ADM_OK)
        goto out;
    r->repeat_ms = repeat_ms;
    *out = r;
    r = NULL;
out:
    adm_frame_reader_free(r);
    return result;
}

void adm_frame_reader_free(adm_frame_reader_t *r)
{
    if (r == NULL)
        return;
    adm_qr_decoder_free(r->dec);
    free(r);
}

adm_err_t adm_frame_reader_read(adm_frame_reader_t *r, const uint8_t *y800, int width, int height,
                                int64_t now_ms, char *out, size_t cap, size_t *len)
{
    char text[ADM_QR_TEXT_MAX + 1];
    size_t n = 0;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (len != NULL)
        *len = 0;
    if (r == NULL || out == NULL || cap == 0 || len == NULL)
        goto out;
    out[0] = '\0';
    if ((result = adm_qr_decode_frame(r->dec, y800, width, height, text, sizeof text, &n)) !=
        ADM_OK)
        goto out;
    if (r->repeat_ms > 0 && r->have_last && n == r->last_len && memcmp(text, r->last, n) == 0 &&
        now_ms - r->last_seen_ms < r->repeat_ms) {
        r->last_seen_ms = now_ms; /* still in view: the window restarts */
        result = ADM_ERR_EXISTS;
        goto out;
    }
    result = ADM_ERR_TOO_BIG;
    if (n >= cap)
        goto out;
    memcpy(out, text, n + 1);
    *len = n;
    memcpy(r->last, text, n + 1);
    r->last_len = n;
    r->last_seen_ms = now_ms;
    r->have_last = true;
    result = ADM_OK;
out:
    return result;
}
