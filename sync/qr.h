/* qr.h: ticket QR codes. Rendering (libqrencode → PNG via libpng, SVG, UTF-8
 * block art) and decoding (ZBar, QR symbology only, 8-bit grey frames).
 * Not a general image library: PNG is the only file format read or written. */
#ifndef ADM_QR_H
#define ADM_QR_H

#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

#define ADM_QR_TEXT_MAX 1024         /* longest text we render or report */
#define ADM_IMAGE_MAX_PIXELS (16u * 1024u * 1024u) /* decode refuses larger images */

typedef struct adm_qr_style {
    int module_px;     /* pixels per module (PNG, SVG units); 1..64, default 8 */
    int quiet_modules; /* quiet zone in modules on each side; 0..16, default 4 */
} adm_qr_style_t;

#define ADM_QR_STYLE_DEFAULT ((adm_qr_style_t){.module_px = 8, .quiet_modules = 4})

/* The QR version (1..40) libqrencode picks for text at ECC level M.
 * For every function taking text: ADM_ERR_INVALID_ARG for NULL or empty text,
 * ADM_ERR_TOO_BIG for text longer than ADM_QR_TEXT_MAX. */
adm_err_t adm_qr_version(const char *text, int *version);

/* Renders text as a black-on-white 8-bit greyscale PNG in a new buffer
 * (*png, *len; free with free()). ADM_ERR_INVALID_ARG for a bad style,
 * ADM_ERR_QR_ENCODE when the text cannot be encoded, ADM_ERR_TOO_BIG when the
 * image would exceed ADM_IMAGE_MAX_PIXELS (so every PNG rendered here loads). */
adm_err_t adm_qr_render_png(const char *text, const adm_qr_style_t *style, uint8_t **png,
                            size_t *len);

/* Same, written to path (atomically: temp file + rename; mode 0600, a ticket
 * is a bearer credential). ADM_ERR_IO when the file cannot be written. */
adm_err_t adm_qr_write_png(const char *text, const adm_qr_style_t *style, const char *path);

/* Renders text as a standalone SVG document in a new NUL-terminated string
 * (free with free()). */
adm_err_t adm_qr_render_svg(const char *text, const adm_qr_style_t *style, char **svg);

/* Renders text as UTF-8 half-block art (two modules rows per line), dark
 * modules drawn as spaces on a light background so phones and scanners can
 * read it from a dark terminal. New NUL-terminated string, free with free(). */
adm_err_t adm_qr_render_term(const char *text, int quiet_modules, char **art);

/* An 8-bit greyscale image (Y800), row-major, stride == width. */
typedef struct adm_image {
    int width;
    int height;
    uint8_t *pixels; /* owned; free with adm_image_free() */
} adm_image_t;

/* Allocates a w x h image filled with value. ADM_ERR_TOO_BIG beyond ADM_IMAGE_MAX_PIXELS. */
adm_err_t adm_image_new(int w, int h, uint8_t fill, adm_image_t *img);
void adm_image_free(adm_image_t *img);

/* Loads a PNG of any colour type / bit depth as greyscale (transparency
 * composited on white) into *img (free with adm_image_free(); zeroed on
 * failure). ADM_ERR_IO when the file cannot be opened, ADM_ERR_IMAGE for
 * non-PNG or corrupt data, ADM_ERR_TOO_BIG beyond ADM_IMAGE_MAX_PIXELS. */
adm_err_t adm_image_load_png(const char *path, adm_image_t *img);
adm_err_t adm_image_load_png_mem(const uint8_t *data, size_t len, adm_image_t *img);

/* Encodes img as an 8-bit greyscale PNG in a new buffer (*png, *len; free
 * with free()). ADM_ERR_TOO_BIG beyond ADM_IMAGE_MAX_PIXELS. */
adm_err_t adm_image_encode_png(const adm_image_t *img, uint8_t **png, size_t *len);

/* Writes img as an 8-bit greyscale PNG (atomically, mode 0600). ADM_ERR_IO. */
adm_err_t adm_image_write_png(const adm_image_t *img, const char *path);

/* A reusable QR decoder (one ZBar scanner configured for QR only). Not
 * thread-safe: use one per thread. */
typedef struct adm_qr_decoder adm_qr_decoder_t;

adm_err_t adm_qr_decoder_new(adm_qr_decoder_t **out);
void adm_qr_decoder_free(adm_qr_decoder_t *dec);

/* Decodes the first QR code in a greyscale frame into out (cap bytes,
 * NUL-terminated, *outlen = length). ADM_ERR_QR_NOT_FOUND when the frame holds
 * none, ADM_ERR_TOO_BIG when the text does not fit out. */
adm_err_t adm_qr_decode_frame(adm_qr_decoder_t *dec, const uint8_t *y800, int width,
                              int height, char *out, size_t cap, size_t *outlen);

/* Convenience: load a PNG file and decode it with a temporary decoder. */
adm_err_t adm_qr_decode_png_file(const char *path, char *out, size_t cap, size_t *outlen);

#endif
