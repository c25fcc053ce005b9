/* qr-render.c: ticket text to QR code with libqrencode (ECC level M), drawn
 * as a greyscale PNG (libpng, in memory or to a file), an SVG document or
 * UTF-8 half-block terminal art. Not for decoding (qr-decode.c) or general
 * image I/O (image.c). */
#include "sync/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STYLE_MODULE_PX_MAX 64
#define STYLE_QUIET_MAX 16

static bool style_ok(const adm_qr_style_t *style)
{
    return style != NULL && style->module_px >= 1 && style->module_px <= STYLE_MODULE_PX_MAX &&
           style->quiet_modules >= 0 && style->quiet_modules <= STYLE_QUIET_MAX;
}

/* Encodes text into a new QRcode (free with QRcode_free()). Empty text is
 * ADM_ERR_INVALID_ARG, longer than ADM_QR_TEXT_MAX is ADM_ERR_TOO_BIG. */
static adm_err_t encode(const char *text, QRcode **out)
{
    size_t len;
    QRcode *qr;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    *out = NULL;
    if (text == NULL)
        goto out;
    len = strnlen(text, ADM_QR_TEXT_MAX + 1);
    if (len == 0)
        goto out;
    result = ADM_ERR_TOO_BIG;
    if (len > ADM_QR_TEXT_MAX)
        goto out;
    /* QR_MODE_8 as the hint lets libqrencode split the text into numeric,
     * alphanumeric and byte segments; case-sensitive keeps lower case bytes */
    errno = 0;
    qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL) {
        result = errno == ENOMEM ? ADM_ERR_NOMEM : ADM_ERR_QR_ENCODE;
        goto out;
    }
    *out = qr;
    result = ADM_OK;
out:
    return result;
}

static bool dark(const QRcode *qr, int x, int y)
{
    return x >= 0 && y >= 0 && x < qr->width && y < qr->width &&
           (qr->data[(size_t)y * (size_t)qr->width + (size_t)x] & 1);
}

adm_err_t adm_qr_version(const char *text, int *version)
{
    QRcode *qr = NULL;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (version == NULL)
        goto out;
    *version = 0;
    result = encode(text, &qr);
    if (result != ADM_OK)
        goto out;
    *version = qr->version;
out:
    QRcode_free(qr);
    return result;
}

/* Draws the symbol black on white into a new image (quiet zone included).
 * ADM_ERR_TOO_BIG when it would exceed ADM_IMAGE_MAX_PIXELS. */
static adm_err_t draw(const QRcode *qr, const adm_qr_style_t *style, adm_image_t *img)
{
    int q = style->quiet_modules, px = style->module_px;
    int modules = qr->width + 2 * q;
    int side, x, y, row;
    adm_err_t result = ADM_ERR_TOO_BIG;

    if ((uint64_t)modules * (uint64_t)px * (uint64_t)modules * (uint64_t)px > ADM_IMAGE_MAX_PIXELS)
        goto out;
    side = modules * px;
    result = adm_image_new(side, side, 255, img);
    if (result != ADM_OK)
        goto out;
    for (y = 0; y < qr->width; y++) {
        uint8_t *line = img->pixels + (size_t)(y + q) * (size_t)px * (size_t)side;
        for (x = 0; x < qr->width; x++) {
            if (dark(qr, x, y))
                memset(line + (size_t)(x + q) * (size_t)px, 0, (size_t)px);
        }
        for (row = 1; row < px; row++)
            memcpy(line + (size_t)row * (size_t)side, line, (size_t)side);
    }
out:
    return result;
}

/* text → QR → image, shared by the PNG renderers. */
static adm_err_t render_image(const char *text, const adm_qr_style_t *style, adm_image_t *img)
{
    QRcode *qr = NULL;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    *img = (adm_image_t){0, 0, NULL};
    if (!style_ok(style))
        goto out;
    result = encode(text, &qr);
    if (result != ADM_OK)
        goto out;
    result = draw(qr, style, img);
out:
    QRcode_free(qr);
    return result;
}

adm_err_t adm_qr_render_png(const char *text, const adm_qr_style_t *style, uint8_t **png,
                            size_t *len)
{
    adm_image_t img = {0, 0, NULL};
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (png == NULL || len == NULL)
        goto out;
    *png = NULL;
    *len = 0;
    result = render_image(text, style, &img);
    if (result != ADM_OK)
        goto out;
    result = adm_image_encode_png(&img, png, len);
out:
    adm_image_free(&img);
    return result;
}

adm_err_t adm_qr_write_png(const char *text, const adm_qr_style_t *style, const char *path)
{
    adm_image_t img = {0, 0, NULL};
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (path == NULL)
        goto out;
    result = render_image(text, style, &img);
    if (result != ADM_OK)
        goto out;
    result = adm_image_write_png(&img, path);
out:
    adm_image_free(&img);
    return result;
}

/* Appends to a fixed buffer whose size was computed up front; running out
 * means the bound is wrong, reported as ADM_ERR_TOO_BIG rather than overrun. */
struct textbuf {
    char *s;
    size_t len;
    size_t cap;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct textbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

/* One path of unit squares ("M x yh1v1h-1z" per dark module) in a viewBox of
 * modules, the quiet zone included; width and height are in module_px units. */
adm_err_t adm_qr_render_svg(const char *text, const adm_qr_style_t *style, char **svg)
{
    static const char head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
        "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">\n"
        "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
        "<path fill=\"#000\" d=\"";
    static const char tail[] = "\"/>\n</svg>\n";
    struct textbuf b = {NULL, 0, 0, false};
    QRcode *qr = NULL;
    int modules, x, y;
    size_t ndark = 0;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (svg == NULL)
        goto out;
    *svg = NULL;
    if (!style_ok(style))
        goto out;
    result = encode(text, &qr);
    if (result != ADM_OK)
        goto out;
    modules = qr->width + 2 * style->quiet_modules; /* <= 177 + 32: 3 digits */
    for (y = 0; y < qr->width; y++)
        for (x = 0; x < qr->width; x++)
            ndark += dark(qr, x, y);
    /* head with six numbers of up to 5 digits, "M999 999h1v1h-1z" per module */
    b.cap = sizeof head + 6 * 5 + ndark * 16 + sizeof tail;
    b.s = malloc(b.cap);
    result = ADM_ERR_NOMEM;
    if (b.s == NULL)
        goto out;
    put(&b, head, modules * style->module_px, modules * style->module_px, modules, modules, modules,
        modules);
    for (y = 0; y < qr->width; y++)
        for (x = 0; x < qr->width; x++)
            if (dark(qr, x, y))
                put(&b, "M%d %dh1v1h-1z", x + style->quiet_modules, y + style->quiet_modules);
    put(&b, "%s", tail);
    result = ADM_ERR_TOO_BIG;
    if (b.overflow)
        goto out;
    *svg = b.s;
    b.s = NULL;
    result = ADM_OK;
out:
    free(b.s);
    QRcode_free(qr);
    return result;
}

/* Terminal art inverts the code: a dark module is a space (the terminal's
 * dark background) and a light module is ink (the terminal's light
 * foreground), because most terminals are light-on-dark and a scanner needs
 * dark modules on light. Each character covers two module rows: "█" both
 * light, "▀" top light, "▄" bottom light, " " both dark. On a dark-on-light
 * terminal the result is a negative image that many scanners reject. */
adm_err_t adm_qr_render_term(const char *text, int quiet_modules, char **art)
{
    static const char *const glyph[4] = {
        " ",            /* top dark, bottom dark */
        "\xe2\x96\x80", /* ▀ top light */
        "\xe2\x96\x84", /* ▄ bottom light */
        "\xe2\x96\x88", /* █ both light */
    };
    struct textbuf b = {NULL, 0, 0, false};
    QRcode *qr = NULL;
    int modules, lines, x, line;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (art == NULL)
        goto out;
    *art = NULL;
    if (quiet_modules < 0 || quiet_modules > STYLE_QUIET_MAX)
        goto out;
    result = encode(text, &qr);
    if (result != ADM_OK)
        goto out;
    modules = qr->width + 2 * quiet_modules;
    lines = (modules + 1) / 2;
    b.cap = (size_t)lines * ((size_t)modules * 3 + 1) + 1;
    b.s = malloc(b.cap);
    result = ADM_ERR_NOMEM;
    if (b.s == NULL)
        goto out;
    b.s[0] = '\0';
    for (line = 0; line < lines; line++) {
        int top = 2 * line - quiet_modules, bottom = top + 1;
        for (x = 0; x < modules; x++) {
            int qx = x - quiet_modules;
            /* the row below the last one (odd module counts) is background: dark */
            int top_light = !dark(qr, qx, top);
            int bottom_light = 2 * line + 1 < modules && !dark(qr, qx, bottom);
            put(&b, "%s", glyph[top_light | bottom_light << 1]);
        }
        put(&b, "\n");
    }
    result = ADM_ERR_TOO_BIG;
    if (b.overflow)
        goto out;
    *art = b.s;
    b.s = NULL;
    result = ADM_OK;
out:
    free(b.s);
    QRcode_free(qr);
    return result;
}
