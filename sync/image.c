/* image.c: the 8-bit greyscale image type (qr.h) and its only file format,
 * PNG via libpng: any PNG in, greyscale PNG out (atomically).
 * Not a general image library: no scaling, no colour, no other formats. */
#include "sync/qr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where libpng reads from: a memory buffer or an open file. */
struct png_source {
    const uint8_t *data; /* memory source, or NULL for file */
    size_t len;
    size_t pos;
    FILE *file;
    adm_err_t err; /* ADM_ERR_IO after a read error (not a short file) */
};

/* What one PNG load produces; lives in the caller of the setjmp frame so its
 * contents survive a longjmp (see decode_png). */
struct load_state {
    uint8_t *rows; /* one row, or every row for interlaced input */
    adm_image_t img;
    adm_err_t err; /* set before png_error() when the cause is ours */
};

/* Our growable output buffer for PNG encoding. */
struct png_sink {
    uint8_t *data;
    size_t len;
    size_t cap;
    adm_err_t err;
};

/* An 8-bit grey PNG of at most ADM_IMAGE_MAX_PIXELS pixels stays well under
 * this even uncompressed (one filter byte per row, deflate stored-block overhead). */
#define PNG_OUT_MAX ((size_t)2 * ADM_IMAGE_MAX_PIXELS + 65536)

adm_err_t adm_image_new(int w, int h, uint8_t fill, adm_image_t *img)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    uint8_t *px;

    if (img == NULL)
        goto out;
    img->width = 0;
    img->height = 0;
    img->pixels = NULL;
    if (w <= 0 || h <= 0)
        goto out;
    if ((uint64_t)w * (uint64_t)h > ADM_IMAGE_MAX_PIXELS) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    px = malloc((size_t)w * (size_t)h);
    if (px == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    memset(px, fill, (size_t)w * (size_t)h);
    img->width = w;
    img->height = h;
    img->pixels = px;
    result = ADM_OK;
out:
    return result;
}

void adm_image_free(adm_image_t *img)
{
    if (img == NULL)
        return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = 0;
    img->height = 0;
}

/* libpng must not return from an error callback; stay quiet (the caller maps
 * the failure to an adm_err_t) and unwind to the setjmp in the caller. */
static void on_png_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void read_source(png_structp png, png_bytep out, size_t n)
{
    struct png_source *src = png_get_io_ptr(png);

    if (src->data != NULL) {
        if (n > src->len - src->pos)
            png_error(png, "truncated");
        memcpy(out, src->data + src->pos, n);
        src->pos += n;
    } else if (fread(out, 1, n, src->file) != n) {
        if (ferror(src->file))
            src->err = ADM_ERR_IO;
        png_error(png, "truncated");
    }
}

/* One row as libpng hands it over after the transforms (8-bit grey, or grey
 * and alpha) to plain grey, alpha composited on white so transparent areas
 * read as paper. */
static void grey_row(const uint8_t *in, int channels, int width, uint8_t *out)
{
    int x;

    for (x = 0; x < width; x++) {
        if (channels == 2) {
            unsigned v = in[2 * x], a = in[2 * x + 1];
            out[x] = (uint8_t)((v * a + 255u * (255u - a) + 127u) / 255u);
        } else {
            out[x] = in[x];
        }
    }
}

/* The libpng part of a load, with its own setjmp frame. Everything it
 * allocates is recorded in *st (owned by the caller, who frees it whatever
 * the outcome), so nothing local needs to survive a longjmp. */
static adm_err_t decode_png(png_structp png, png_infop info, struct load_state *st)
{
    png_uint_32 w, h;
    int depth, ctype, interlace, passes, channels, pass;
    size_t rowbytes;
    png_uint_32 y;
    adm_err_t result = ADM_ERR_IMAGE;

    if (setjmp(png_jmpbuf(png))) {
        result = st->err != ADM_OK ? st->err : ADM_ERR_IMAGE;
        goto out;
    }
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (w == 0 || h == 0 || w > INT_MAX || h > INT_MAX ||
        (uint64_t)w * (uint64_t)h > ADM_IMAGE_MAX_PIXELS) {
        st->err = ADM_ERR_TOO_BIG;
        png_error(png, "too big");
    }

    /* everything to 8-bit grey, with alpha where the file has transparency */
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_scale_16(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE || (ctype & PNG_COLOR_MASK_COLOR))
        png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, -1, -1);
    passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    channels = png_get_channels(png, info);
    rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || (channels != 1 && channels != 2) ||
        rowbytes != (size_t)w * (size_t)channels)
        png_error(png, "unexpected transform result");

    st->err = adm_image_new((int)w, (int)h, 255, &st->img);
    if (st->err != ADM_OK)
        png_error(png, "image");
    st->rows = malloc(rowbytes * (passes > 1 ? (size_t)h : 1));
    if (st->rows == NULL) {
        st->err = ADM_ERR_NOMEM;
        png_error(png, "rows");
    }
    for (pass = 0; pass < passes; pass++) {
        for (y = 0; y < h; y++) {
            uint8_t *row = st->rows + (passes > 1 ? rowbytes * y : 0);
            png_read_row(png, row, NULL);
            if (passes == 1)
                grey_row(row, channels, (int)w, st->img.pixels + (size_t)w * y);
        }
    }
    if (passes > 1) {
        for (y = 0; y < h; y++)
            grey_row(st->rows + rowbytes * y, channels, (int)w, st->img.pixels + (size_t)w * y);
    }
    png_read_end(png, NULL);
    result = ADM_OK;
out:
    return result;
}

/* Shared by the file and memory loaders: src is positioned after the
 * signature, which the caller has checked. */
static adm_err_t load_source(struct png_source *src, adm_image_t *img)
{
    struct load_state st = {.rows = NULL, .img = {0, 0, NULL}, .err = ADM_OK};
    png_structp png = NULL;
    png_infop info = NULL;
    adm_err_t result = ADM_ERR_NOMEM;

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, on_png_error, on_png_warning);
    if (png == NULL)
        goto out;
    info = png_create_info_struct(png);
    if (info == NULL)
        goto out;
    png_set_read_fn(png, src, read_source);
    result = decode_png(png, info, &st);
    if (result != ADM_OK && src->err != ADM_OK)
        result = src->err;
    if (result == ADM_OK) {
        *img = st.img;
        st.img.pixels = NULL;
    }
out:
    png_destroy_read_struct(&png, &info, NULL);
    free(st.rows);
    adm_image_free(&st.img);
    return result;
}

adm_err_t adm_image_load_png_mem(const uint8_t *data, size_t len, adm_image_t *img)
{
    struct png_source src = {.data = data, .len = len, .pos = 8, .file = NULL, .err = ADM_OK};
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (img == NULL)
        goto out;
    *img = (adm_image_t){0, 0, NULL};
    if (data == NULL)
        goto out;
    result = ADM_ERR_IMAGE;
    if (len < 8 || png_sig_cmp(data, 0, 8) != 0)
        goto out;
    result = load_source(&src, img);
out:
    return result;
}

adm_err_t adm_image_load_png(const char *path, adm_image_t *img)
{
    struct png_source src = {.data = NULL, .len = 0, .pos = 0, .file = NULL, .err = ADM_OK};
    uint8_t sig[8];
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (img == NULL)
        goto out;
    *img = (adm_image_t){0, 0, NULL};
    if (path == NULL)
        goto out;
    result = ADM_ERR_IO;
    src.file = fopen(path, "rb");
    if (src.file == NULL)
        goto out;
    if (fread(sig, 1, sizeof sig, src.file) != sizeof sig) {
        result = ferror(src.file) ? ADM_ERR_IO : ADM_ERR_IMAGE;
        goto out;
    }
    result = ADM_ERR_IMAGE;
    if (png_sig_cmp(sig, 0, 8) != 0)
        goto out;
    result = load_source(&src, img);
out:
    if (src.file != NULL)
        fclose(src.file);
    return result;
}

static void write_sink(png_structp png, png_bytep data, size_t n)
{
    struct png_sink *sink = png_get_io_ptr(png);

    if (n > PNG_OUT_MAX - sink->len) {
        sink->err = ADM_ERR_TOO_BIG;
        png_error(png, "output too big");
    }
    if (sink->len + n > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 65536;
        uint8_t *grown;
        while (cap < sink->len + n)
            cap = cap > PNG_OUT_MAX / 2 ? PNG_OUT_MAX : cap * 2;
        grown = realloc(sink->data, cap);
        if (grown == NULL) {
            sink->err = ADM_ERR_NOMEM;
            png_error(png, "out of memory");
        }
        sink->data = grown;
        sink->cap = cap;
    }
    memcpy(sink->data + sink->len, data, n);
    sink->len += n;
}

static void flush_sink(png_structp png)
{
    (void)png;
}

/* The libpng part of an encode, with its own setjmp frame; output and any
 * error cause go to *sink (owned by the caller). */
static adm_err_t encode_png(png_structp png, png_infop info, const adm_image_t *img,
                            struct png_sink *sink)
{
    int y;
    adm_err_t result = ADM_ERR_IMAGE;

    if (setjmp(png_jmpbuf(png))) {
        result = sink->err != ADM_OK ? sink->err : ADM_ERR_IMAGE;
        goto out;
    }
    png_set_write_fn(png, sink, write_sink, flush_sink);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (y = 0; y < img->height; y++)
        png_write_row(png, img->pixels + (size_t)img->width * (size_t)y);
    png_write_end(png, NULL);
    result = ADM_OK;
out:
    return result;
}

/* Writes len bytes to path through a temp file in the same directory, fsync
 * and rename, so readers see the old file or the new one, never half of it.
 * The file is created mode 0600: a ticket image is a bearer credential. */
static adm_err_t write_atomic(const char *path, const uint8_t *data, size_t len)
{
    char tmp[PATH_MAX];
    int fd = -1;
    bool linked = false;
    size_t done = 0;
    adm_err_t result = ADM_ERR_TOO_BIG;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= sizeof tmp)
        goto out;
    result = ADM_ERR_IO;
    fd = mkstemp(tmp);
    if (fd < 0)
        goto out;
    linked = true;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        done += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    linked = false;
    result = ADM_OK;
out:
    if (fd >= 0)
        close(fd);
    if (linked)
        unlink(tmp);
    return result;
}

adm_err_t adm_image_encode_png(const adm_image_t *img, uint8_t **out, size_t *len)
{
    struct png_sink sink = {.data = NULL, .len = 0, .cap = 0, .err = ADM_OK};
    png_structp png = NULL;
    png_infop info = NULL;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out == NULL || len == NULL)
        goto out;
    *out = NULL;
    *len = 0;
    if (img == NULL || img->pixels == NULL || img->width <= 0 || img->height <= 0)
        goto out;
    result = ADM_ERR_TOO_BIG;
    if ((uint64_t)img->width * (uint64_t)img->height > ADM_IMAGE_MAX_PIXELS)
        goto out;
    result = ADM_ERR_NOMEM;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, on_png_error, on_png_warning);
    if (png == NULL)
        goto out;
    info = png_create_info_struct(png);
    if (info == NULL)
        goto out;
    result = encode_png(png, info, img, &sink);
    if (result != ADM_OK)
        goto out;
    *out = sink.data;
    *len = sink.len;
    sink.data = NULL;
out:
    png_destroy_write_struct(&png, &info);
    free(sink.data);
    return result;
}

adm_err_t adm_image_write_png(const adm_image_t *img, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (path == NULL)
        goto out;
    result = adm_image_encode_png(img, &data, &len);
    if (result != ADM_OK)
        goto out;
    result = write_atomic(path, data, len);
out:
    free(data);
    return result;
}
