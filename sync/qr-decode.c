/* qr-decode.c: finds and reads QR codes in 8-bit greyscale frames with ZBar,
 * configured for the QR symbology only. Not for camera capture or threading
 * (the scanner owns those) and not for validating what the code says (token.c). */
#include "sync/qr.h"

#include <stdlib.h>
#include <string.h>
#include <zbar.h>

struct adm_qr_decoder {
    zbar_image_scanner_t *scanner;
};

adm_err_t adm_qr_decoder_new(adm_qr_decoder_t **out)
{
    adm_qr_decoder_t *dec = NULL;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out == NULL)
        goto out;
    *out = NULL;
    result = ADM_ERR_NOMEM;
    dec = calloc(1, sizeof *dec);
    if (dec == NULL)
        goto out;
    dec->scanner = zbar_image_scanner_create();
    if (dec->scanner == NULL)
        goto out;
    /* QR only: every other symbology off, so 1D decoders cannot report a
     * false positive and frames scan faster */
    result = ADM_ERR_INVALID_ARG;
    if (zbar_image_scanner_set_config(dec->scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0) != 0 ||
        zbar_image_scanner_set_config(dec->scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) != 0)
        goto out;
    /* the inter-frame cache reports a code only once it has been seen in
     * several frames and then suppresses repeats; every frame must stand alone */
    zbar_image_scanner_enable_cache(dec->scanner, 0);
    *out = dec;
    dec = NULL;
    result = ADM_OK;
out:
    adm_qr_decoder_free(dec);
    return result;
}

void adm_qr_decoder_free(adm_qr_decoder_t *dec)
{
    if (dec == NULL)
        return;
    if (dec->scanner != NULL)
        zbar_image_scanner_destroy(dec->scanner);
    free(dec);
}

adm_err_t adm_qr_decode_frame(adm_qr_decoder_t *dec, const uint8_t *y800, int width, int height,
                              char *out, size_t cap, size_t *outlen)
{
    zbar_image_t *image = NULL;
    const zbar_symbol_t *sym;
    size_t n;
    int found;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (outlen != NULL)
        *outlen = 0;
    if (out == NULL || cap == 0 || outlen == NULL)
        goto out;
    out[0] = '\0';
    if (dec == NULL || y800 == NULL || width <= 0 || height <= 0)
        goto out;
    result = ADM_ERR_TOO_BIG;
    if ((uint64_t)width * (uint64_t)height > ADM_IMAGE_MAX_PIXELS)
        goto out;
    result = ADM_ERR_NOMEM;
    image = zbar_image_create();
    if (image == NULL)
        goto out;
    zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(image, (unsigned)width, (unsigned)height);
    /* borrowed, not copied: a NULL cleanup handler means ZBar never frees it */
    zbar_image_set_data(image, y800, (unsigned long)width * (unsigned long)height, NULL);
    found = zbar_scan_image(dec->scanner, image);
    result = ADM_ERR_IMAGE;
    if (found < 0)
        goto out;
    result = ADM_ERR_QR_NOT_FOUND;
    for (sym = zbar_image_first_symbol(image); sym != NULL; sym = zbar_symbol_next(sym))
        if (zbar_symbol_get_type(sym) == ZBAR_QRCODE)
            break;
    if (sym == NULL)
        goto out;
    /* ZBar hands back the payload converted to UTF-8; ticket texts are
     * ASCII, so bytes in are bytes out. Length, not strlen: a NUL is data. */
    n = zbar_symbol_get_data_length(sym);
    result = ADM_ERR_TOO_BIG;
    if (n > ADM_QR_TEXT_MAX || n >= cap)
        goto out;
    memcpy(out, zbar_symbol_get_data(sym), n);
    out[n] = '\0';
    *outlen = n;
    result = ADM_OK;
out:
    if (image != NULL)
        zbar_image_destroy(image);
    return result;
}

adm_err_t adm_qr_decode_png_file(const char *path, char *out, size_t cap, size_t *outlen)
{
    adm_image_t img = {0, 0, NULL};
    adm_qr_decoder_t *dec = NULL;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (outlen != NULL)
        *outlen = 0;
    if (out == NULL || cap == 0 || outlen == NULL)
        goto out;
    out[0] = '\0';
    result = adm_image_load_png(path, &img);
    if (result != ADM_OK)
        goto out;
    result = adm_qr_decoder_new(&dec);
    if (result != ADM_OK)
        goto out;
    result = adm_qr_decode_frame(dec, img.pixels, img.width, img.height, out, cap, outlen);
out:
    adm_qr_decoder_free(dec);
    adm_image_free(&img);
    return result;
}
