/* test-qr.c: tests for sync/qr-render.c, sync/qr-decode.c and sync/image.c:
 * rendering, PNG loading of every colour type, error paths, ZBar round trips
 * on clean and camera-degraded frames, and the QR size budget of real tokens. */
#include "tests/testutil/testutil.h"

#include <dirent.h>
#include <png.h>
#include <qrencode.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/err.h"
#include "sync/keyring.h"
#include "sync/qr.h"
#include "sync/token.h"
#include "tests/testutil/degrade.h"

#define FRAME_W 640
#define FRAME_H 480

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap)
        abort();
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Removes a flat temporary directory and its files, unless ADMIT_KEEP_TMP is
 * set (to look at the degraded frames, for instance). */
static void remove_dir(const char *dir)
{
    char path[4200];
    DIR *d;
    struct dirent *e;

    if (getenv("ADMIT_KEEP_TMP") != NULL) {
        printf("    kept %s\n", dir);
        return;
    }
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        join(path, sizeof path, dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* dark modules of libqrencode's own encoding, the reference for the renderers */
static QRcode *reference(const char *text)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

    if (qr == NULL)
        abort();
    return qr;
}

static size_t count_dark(const QRcode *qr)
{
    size_t n = 0;
    int i;

    for (i = 0; i < qr->width * qr->width; i++)
        n += qr->data[i] & 1;
    return n;
}

static bool ref_dark(const QRcode *qr, int x, int y)
{
    return x >= 0 && y >= 0 && x < qr->width && y < qr->width && (qr->data[y * qr->width + x] & 1);
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char sample_text[] = "AD1:HELLO ADMIT $%*+-./: 0123456789";

static void test_version(void)
{
    int v = -1;

    CHECK_ERR(adm_qr_version("A", &v), ADM_OK);
    CHECK_INT(v, 1);
    CHECK_ERR(adm_qr_version(sample_text, &v), ADM_OK);
    CHECK(v >= 1 && v <= 3);
    CHECK_ERR(adm_qr_version("", &v), ADM_ERR_INVALID_ARG);
    CHECK_INT(v, 0);
    CHECK_ERR(adm_qr_version(NULL, &v), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_version("A", NULL), ADM_ERR_INVALID_ARG);
}

static void check_png_render(const char *text, adm_qr_style_t style)
{
    QRcode *qr = reference(text);
    int side = (qr->width + 2 * style.quiet_modules) * style.module_px;
    uint8_t *png = NULL;
    size_t len = 0, i, dark = 0;
    adm_image_t img;
    bool binary = true, matches = true;
    int x, y;

    CHECK_ERR(adm_qr_render_png(text, &style, &png, &len), ADM_OK);
    CHECK(png != NULL && len > 8);
    CHECK_ERR(adm_image_load_png_mem(png, len, &img), ADM_OK);
    CHECK_INT(img.width, side);
    CHECK_INT(img.height, side);
    for (i = 0; img.pixels && i < (size_t)side * (size_t)side; i++) {
        binary &= img.pixels[i] == 0 || img.pixels[i] == 255;
        dark += img.pixels[i] == 0;
    }
    CHECK(binary);
    CHECK_INT(dark, count_dark(qr) * (size_t)style.module_px * (size_t)style.module_px);
    /* sample the centre of every module, quiet zone included */
    for (y = 0; img.pixels && y < side / style.module_px; y++) {
        for (x = 0; x < side / style.module_px; x++) {
            uint8_t px = img.pixels[(size_t)(y * style.module_px + style.module_px / 2) * side +
                                    (size_t)(x * style.module_px + style.module_px / 2)];
            bool want = ref_dark(qr, x - style.quiet_modules, y - style.quiet_modules);
            matches &= (px == 0) == want;
        }
    }
    CHECK(matches);
    adm_image_free(&img);
    free(png);
    QRcode_free(qr);
}

static void test_render_png(void)
{
    check_png_render(sample_text, ADM_QR_STYLE_DEFAULT);
    check_png_render(sample_text, (adm_qr_style_t){.module_px = 1, .quiet_modules = 0});
    check_png_render("A", (adm_qr_style_t){.module_px = 3, .quiet_modules = 16});
    check_png_render("lower case and UTF-8 \xc3\xa9", (adm_qr_style_t){5, 2});
}

static void test_write_png(void)
{
    const char *dir = adm_test_tmpdir();
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    char path[4200];
    adm_image_t img, back;
    uint8_t *png = NULL;
    size_t len = 0, flen = 0;
    char *file;
    DIR *d;
    struct dirent *e;
    struct stat st;
    int entries = 0;

    join(path, sizeof path, dir, "code.png");
    CHECK_ERR(adm_qr_write_png(sample_text, &style, path), ADM_OK);
    /* the file holds exactly what render_png produces, and nothing is left behind */
    CHECK_ERR(adm_qr_render_png(sample_text, &style, &png, &len), ADM_OK);
    file = adm_test_read_file(path, &flen);
    CHECK(file != NULL && flen == len && png != NULL && memcmp(file, png, len) == 0);
    free(file);
    free(png);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* overwrite in place with a different image */
    CHECK_ERR(adm_image_new(7, 5, 200, &img), ADM_OK);
    img.pixels[0] = 0;
    img.pixels[34] = 17;
    CHECK_ERR(adm_image_write_png(&img, path), ADM_OK);
    CHECK_ERR(adm_image_load_png(path, &back), ADM_OK);
    CHECK_INT(back.width, 7);
    CHECK_INT(back.height, 5);
    CHECK(back.pixels != NULL && memcmp(back.pixels, img.pixels, 35) == 0);
    adm_image_free(&back);
    d = opendir(dir);
    CHECK(d != NULL);
    while (d != NULL && (e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    CHECK_INT(entries, 1);
    /* a directory that does not exist */
    join(path, sizeof path, dir, "missing/code.png");
    CHECK_ERR(adm_image_write_png(&img, path), ADM_ERR_IO);
    CHECK_ERR(adm_qr_write_png(sample_text, &style, path), ADM_ERR_IO);
    CHECK_ERR(adm_image_write_png(NULL, path), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_write_png(sample_text, &style, NULL), ADM_ERR_INVALID_ARG);
    adm_image_free(&img);
    remove_dir(dir);
}

static void test_render_svg(void)
{
    adm_qr_style_t style = {.module_px = 5, .quiet_modules = 3};
    QRcode *qr = reference(sample_text);
    int n = qr->width + 2 * style.quiet_modules;
    char *svg = NULL, want[128];

    CHECK_ERR(adm_qr_render_svg(sample_text, &style, &svg), ADM_OK);
    CHECK(svg != NULL);
    if (svg != NULL) {
        CHECK(strncmp(svg, "<?xml", 5) == 0 || strncmp(svg, "<svg", 4) == 0);
        CHECK(ends_with(svg, "</svg>\n"));
        snprintf(want, sizeof want, "viewBox=\"0 0 %d %d\"", n, n);
        CHECK(strstr(svg, want) != NULL);
        snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", n * 5, n * 5);
        CHECK(strstr(svg, want) != NULL);
        CHECK(strstr(svg, "shape-rendering=\"crispEdges\"") != NULL);
        CHECK(strstr(svg, "fill=\"#fff\"") != NULL);
        CHECK_INT(count_str(svg, "<path"), 1);
        CHECK_INT(count_str(svg, "h1v1h-1z"), count_dark(qr));
        CHECK_INT(count_str(svg, "M"), count_dark(qr));
        /* the top-left finder pattern's corner module, offset by the quiet zone */
        CHECK(strstr(svg, "d=\"M3 3h1v1h-1z") != NULL);
    }
    free(svg);
    QRcode_free(qr);
}

/* Reads the art back into light/dark modules and compares with libqrencode. */
static void check_term(const char *text, int quiet)
{
    QRcode *qr = reference(text);
    int modules = qr->width + 2 * quiet, line = 0, x = 0;
    char *art = NULL;
    const char *p;
    bool ok = true;

    CHECK_ERR(adm_qr_render_term(text, quiet, &art), ADM_OK);
    CHECK(art != NULL);
    for (p = art; art != NULL && *p; line++) {
        for (x = 0; *p && *p != '\n'; x++) {
            bool top_light, bottom_light;
            if (*p == ' ') {
                top_light = bottom_light = false;
                p++;
            } else if (strncmp(p, "\xe2\x96\x80", 3) == 0 || strncmp(p, "\xe2\x96\x84", 3) == 0 ||
                       strncmp(p, "\xe2\x96\x88", 3) == 0) {
                top_light = p[2] != '\x84';
                bottom_light = p[2] != '\x80';
                p += 3;
            } else {
                ok = false;
                break;
            }
            ok &= top_light == !ref_dark(qr, x - quiet, 2 * line - quiet);
            if (2 * line + 1 < modules)
                ok &= bottom_light == !ref_dark(qr, x - quiet, 2 * line + 1 - quiet);
        }
        ok &= x == modules && *p == '\n';
        if (*p != '\n')
            break;
        p++;
    }
    CHECK(ok);
    CHECK_INT(line, (modules + 1) / 2);
    CHECK_INT(count_str(art ? art : "", "\n"), (modules + 1) / 2);
    free(art);
    QRcode_free(qr);
}

static void test_render_term(void)
{
    check_term(sample_text, 4);
    check_term(sample_text, 0);
    check_term("A", 1);
    check_term("A", 16);
}

static void test_bad_args(void)
{
    static const adm_qr_style_t bad[] = {{0, 4}, {65, 4}, {-1, 4}, {8, -1}, {8, 17}};
    adm_qr_style_t ok = ADM_QR_STYLE_DEFAULT, huge = {64, 16};
    char big[ADM_QR_TEXT_MAX + 2];
    const char *dir = adm_test_tmpdir();
    char path[4200];
    uint8_t *png = (uint8_t *)"x";
    size_t len = 99, i;
    char *s = (char *)"x";

    join(path, sizeof path, dir, "never.png");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(adm_qr_render_png(sample_text, &bad[i], &png, &len), ADM_ERR_INVALID_ARG);
        CHECK(png == NULL && len == 0);
        CHECK_ERR(adm_qr_render_svg(sample_text, &bad[i], &s), ADM_ERR_INVALID_ARG);
        CHECK(s == NULL);
        CHECK_ERR(adm_qr_write_png(sample_text, &bad[i], path), ADM_ERR_INVALID_ARG);
    }
    CHECK_ERR(adm_qr_render_png(sample_text, NULL, &png, &len), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_png(sample_text, &ok, NULL, &len), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_svg(sample_text, NULL, &s), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_term(sample_text, -1, &s), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_term(sample_text, 17, &s), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_term(sample_text, 4, NULL), ADM_ERR_INVALID_ARG);

    /* empty and oversize text */
    CHECK_ERR(adm_qr_render_png("", &ok, &png, &len), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_png(NULL, &ok, &png, &len), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_svg("", &ok, &s), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_render_term("", 4, &s), ADM_ERR_INVALID_ARG);
    memset(big, 'A', sizeof big);
    big[ADM_QR_TEXT_MAX + 1] = '\0';
    CHECK_ERR(adm_qr_render_png(big, &ok, &png, &len), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_qr_render_svg(big, &ok, &s), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_qr_render_term(big, 4, &s), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_qr_write_png(big, &ok, path), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_qr_version(big, &(int){0}), ADM_ERR_TOO_BIG);
    /* exactly ADM_QR_TEXT_MAX renders; at 64 px and a 16-module quiet zone its
     * PNG would pass ADM_IMAGE_MAX_PIXELS, which rendering refuses */
    big[ADM_QR_TEXT_MAX] = '\0';
    CHECK_ERR(adm_qr_render_svg(big, &ok, &s), ADM_OK);
    free(s);
    CHECK_ERR(adm_qr_render_png(big, &ok, &png, &len), ADM_OK);
    free(png);
    CHECK_ERR(adm_qr_render_png(big, &huge, &png, &len), ADM_ERR_TOO_BIG);
    CHECK(png == NULL);
    CHECK(access(path, F_OK) != 0);
    remove_dir(dir);
}

/* the 4-byte big-endian CRC-32 of a PNG chunk's type and data */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len)
{
    uint32_t crc;

    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    crc = crc32_png(out + 4, 4 + len);
    out[8 + len] = (uint8_t)(crc >> 24);
    out[9 + len] = (uint8_t)(crc >> 16);
    out[10 + len] = (uint8_t)(crc >> 8);
    out[11 + len] = (uint8_t)crc;
    return 12 + len;
}

/* A PNG whose IHDR (with a valid CRC) claims w x h 8-bit grey, followed by a
 * token IDAT and IEND: enough for png_read_info() to reach the size check. */
static size_t craft_png(uint8_t *out, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13] = {[8] = 8}; /* w, h, depth 8, grey, no interlace */
    static const uint8_t idat[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    size_t n = 0;
    int i;

    for (i = 0; i < 4; i++) {
        ihdr[i] = (uint8_t)(w >> (24 - 8 * i));
        ihdr[4 + i] = (uint8_t)(h >> (24 - 8 * i));
    }
    memcpy(out, sig, 8);
    n += 8;
    n += put_chunk(out + n, "IHDR", ihdr, sizeof ihdr);
    n += put_chunk(out + n, "IDAT", idat, sizeof idat);
    n += put_chunk(out + n, "IEND", NULL, 0);
    return n;
}

static void test_load_errors(void)
{
    const char *dir = adm_test_tmpdir();
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    char path[4200];
    uint8_t crafted[128], *png = NULL;
    size_t clen, len = 0;
    adm_image_t img = {1, 1, (uint8_t *)"x"};
    static const char not_png[] = "GIF89a this is not a PNG at all";

    join(path, sizeof path, dir, "missing.png");
    CHECK_ERR(adm_image_load_png(path, &img), ADM_ERR_IO);
    CHECK(img.pixels == NULL && img.width == 0);
    CHECK_ERR(adm_qr_decode_png_file(path, (char[8]){0}, 8, &len), ADM_ERR_IO);

    join(path, sizeof path, dir, "text.png");
    CHECK(write_bytes(path, not_png, sizeof not_png) == 0);
    CHECK_ERR(adm_image_load_png(path, &img), ADM_ERR_IMAGE);
    CHECK_ERR(adm_image_load_png_mem((const uint8_t *)not_png, sizeof not_png, &img),
              ADM_ERR_IMAGE);
    CHECK_ERR(adm_image_load_png_mem((const uint8_t *)not_png, 0, &img), ADM_ERR_IMAGE);
    join(path, sizeof path, dir, "empty.png");
    CHECK(write_bytes(path, "", 0) == 0);
    CHECK_ERR(adm_image_load_png(path, &img), ADM_ERR_IMAGE);
    CHECK_ERR(adm_image_load_png(dir, &img), ADM_ERR_IO); /* opens, but reading fails */

    /* truncated at several points: inside IHDR, inside IDAT, before IEND */
    CHECK_ERR(adm_qr_render_png(sample_text, &style, &png, &len), ADM_OK);
    if (png != NULL) {
        size_t cuts[] = {8, 20, 40, len / 2, len - 13, len - 1}, i;
        for (i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            CHECK_ERR(adm_image_load_png_mem(png, cuts[i], &img), ADM_ERR_IMAGE);
            CHECK(img.pixels == NULL);
        }
        join(path, sizeof path, dir, "truncated.png");
        CHECK(write_bytes(path, png, len / 2) == 0);
        CHECK_ERR(adm_image_load_png(path, &img), ADM_ERR_IMAGE);
        CHECK_ERR(adm_qr_decode_png_file(path, (char[8]){0}, 8, &len), ADM_ERR_IMAGE);
        /* a flipped bit in the image data fails the CRC */
        png[60] ^= 0x10;
        CHECK_ERR(adm_image_load_png_mem(png, len, &img), ADM_ERR_IMAGE);
    }
    free(png);

    /* dimensions are refused before any pixel memory is allocated */
    clen = craft_png(crafted, 5000, 5000);
    CHECK_ERR(adm_image_load_png_mem(crafted, clen, &img), ADM_ERR_TOO_BIG);
    join(path, sizeof path, dir, "huge.png");
    CHECK(write_bytes(path, crafted, clen) == 0);
    CHECK_ERR(adm_image_load_png(path, &img), ADM_ERR_TOO_BIG);
    CHECK(img.pixels == NULL);
    clen = craft_png(crafted, 0x7fffffffu, 0x7fffffffu); /* libpng's own limit */
    CHECK(adm_image_load_png_mem(crafted, clen, &img) != ADM_OK);
    /* within the limit, the header is fine and the truncated data is not */
    clen = craft_png(crafted, 4000, 4000);
    CHECK_ERR(adm_image_load_png_mem(crafted, clen, &img), ADM_ERR_IMAGE);

    CHECK_ERR(adm_image_load_png(NULL, &img), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_image_load_png(path, NULL), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_image_load_png_mem(NULL, 10, &img), ADM_ERR_INVALID_ARG);
    remove_dir(dir);
}

static void test_image_new(void)
{
    adm_image_t img;

    CHECK_ERR(adm_image_new(3, 2, 9, &img), ADM_OK);
    CHECK(img.pixels != NULL && img.width == 3 && img.height == 2 && img.pixels[5] == 9);
    adm_image_free(&img);
    CHECK(img.pixels == NULL);
    adm_image_free(&img); /* twice is harmless */
    adm_image_free(NULL);
    CHECK_ERR(adm_image_new(0, 2, 0, &img), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_image_new(2, -1, 0, &img), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_image_new(4097, 4096, 0, &img), ADM_ERR_TOO_BIG);
    CHECK_ERR(adm_image_new(65536, 65536, 0, &img), ADM_ERR_TOO_BIG);
    CHECK(img.pixels == NULL);
}

/* A PNG written by libpng directly in a given format, for the loader. */
struct fmt_case {
    const char *name;
    int color_type, bit_depth, interlace;
    bool trns; /* palette or grey tRNS chunk */
};

static void png_fail(png_structp png, png_const_charp msg)
{
    fprintf(stderr, "test libpng: %s\n", msg);
    png_longjmp(png, 1);
}

/* Pixels of the test pattern, as (grey, alpha) in 0..255; 4 wide, 3 high:
 * black, white, grey 128, and on row 2 transparent pixels that load as white. */
static void pattern(int x, int y, int *grey, int *alpha)
{
    static const int g[4] = {0, 255, 128, 64};
    *grey = g[x];
    *alpha = y == 2 && x >= 2 ? 0 : 255;
}

static bool write_format(const char *path, const struct fmt_case *fc)
{
    FILE *volatile f = fopen(path, "wb");
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t row[4 * 8];
    png_color pal[5];
    png_byte trans[5] = {255, 255, 255, 255, 0};
    png_color_16 grey_trans = {0};
    volatile bool ok = false;
    int x, y, pass, passes;

    if (f == NULL)
        return false;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL || setjmp(png_jmpbuf(png)))
        goto out;
    png_init_io(png, f);
    png_set_IHDR(png, info, 4, 3, fc->bit_depth, fc->color_type, fc->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (fc->color_type == PNG_COLOR_TYPE_PALETTE) {
        for (x = 0; x < 4; x++) {
            int grey, alpha;
            pattern(x, 0, &grey, &alpha);
            pal[x].red = pal[x].green = pal[x].blue = (png_byte)grey;
        }
        pal[4] = (png_color){10, 20, 30}; /* transparent entry */
        png_set_PLTE(png, info, pal, 5);
        if (fc->trns)
            png_set_tRNS(png, info, trans, 5, NULL);
    } else if (fc->trns) {
        grey_trans.gray = 1; /* 1-bit grey: white (1) is the transparent sample */
        png_set_tRNS(png, info, NULL, 0, &grey_trans);
    }
    png_write_info(png, info);
    if (fc->bit_depth < 8)
        png_set_packing(png);
    passes = png_set_interlace_handling(png);
    for (pass = 0; pass < passes; pass++) {
        for (y = 0; y < 3; y++) {
            uint8_t *p = row;
            memset(row, 0, sizeof row);
            for (x = 0; x < 4; x++) {
                int grey, alpha, c, ch;
                pattern(x, y, &grey, &alpha);
                switch (fc->color_type) {
                case PNG_COLOR_TYPE_PALETTE:
                    *p++ = (uint8_t)(alpha == 0 && fc->trns ? 4 : x);
                    break;
                case PNG_COLOR_TYPE_GRAY:
                    if (fc->bit_depth == 1)
                        *p++ = grey >= 128;
                    else if (fc->bit_depth == 16)
                        *p++ = (uint8_t)grey, *p++ = (uint8_t)grey; /* grey * 257 */
                    else
                        *p++ = (uint8_t)grey;
                    break;
                default:
                    ch = (fc->color_type & PNG_COLOR_MASK_COLOR ? 3 : 1) +
                         (fc->color_type & PNG_COLOR_MASK_ALPHA ? 1 : 0);
                    for (c = 0; c < ch; c++) {
                        int v =
                            (fc->color_type & PNG_COLOR_MASK_ALPHA) && c == ch - 1 ? alpha : grey;
                        if (fc->bit_depth == 16)
                            *p++ = (uint8_t)v;
                        *p++ = (uint8_t)v;
                    }
                }
            }
            png_write_row(png, row);
        }
    }
    png_write_end(png, info);
    ok = true;
out:
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 && ok;
}

static void test_load_formats(void)
{
    static const struct fmt_case cases[] = {
        {"grey8", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, false},
        {"grey8-interlaced", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, false},
        {"grey16", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, false},
        {"grey1", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, false},
        {"grey1-trns", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_ADAM7, true},
        {"grey-alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, false},
        {"rgb8", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, false},
        {"rgb16-interlaced", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_ADAM7, false},
        {"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, false},
        {"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, false},
        {"palette8", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, false},
        {"palette4-trns", PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, true},
        {"palette8-trns-interlaced", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_ADAM7, true},
    };
    const char *dir = adm_test_tmpdir();
    char path[4200];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct fmt_case *fc = &cases[i];
        bool alpha = (fc->color_type & PNG_COLOR_MASK_ALPHA) || fc->trns;
        adm_image_t img = {0, 0, NULL};
        bool ok = true;
        int x, y;

        join(path, sizeof path, dir, fc->name);
        if (!write_format(path, fc)) {
            adm_test_fail(__FILE__, __LINE__, "cannot write %s", fc->name);
            continue;
        }
        CHECK_ERR(adm_image_load_png(path, &img), ADM_OK);
        if (img.pixels == NULL || img.width != 4 || img.height != 3) {
            adm_test_fail(__FILE__, __LINE__, "%s: bad load", fc->name);
            adm_image_free(&img);
            continue;
        }
        for (y = 0; y < 3; y++) {
            for (x = 0; x < 4; x++) {
                int grey, a, want, got = img.pixels[y * 4 + x];
                pattern(x, y, &grey, &a);
                if (fc->bit_depth == 1)
                    want = grey >= 128 ? 255 : 0;
                else
                    want = grey;
                /* transparent pixels composite on white (a grey tRNS here
                 * marks white transparent, which leaves white) */
                if (alpha && a == 0 && fc->color_type != PNG_COLOR_TYPE_GRAY)
                    want = 255;
                if (abs(got - want) > 1) {
                    fprintf(stderr, "%s: (%d,%d) = %d, expected %d\n", fc->name, x, y, got, want);
                    ok = false;
                }
            }
        }
        if (!ok)
            adm_test_fail(__FILE__, __LINE__, "%s: pixel values", fc->name);
        adm_image_free(&img);
    }
    remove_dir(dir);
}

static void check_round_trip(adm_qr_decoder_t *dec, const char *text, adm_qr_style_t style)
{
    uint8_t *png = NULL;
    size_t len = 0, outlen = 0;
    adm_image_t img = {0, 0, NULL};
    char out[ADM_QR_TEXT_MAX + 1];

    CHECK_ERR(adm_qr_render_png(text, &style, &png, &len), ADM_OK);
    CHECK_ERR(adm_image_load_png_mem(png, len, &img), ADM_OK);
    CHECK_ERR(adm_qr_decode_frame(dec, img.pixels, img.width, img.height, out, sizeof out, &outlen),
              ADM_OK);
    CHECK_STR(out, text);
    CHECK_INT(outlen, strlen(text));
    adm_image_free(&img);
    free(png);
}

static void test_decode_round_trip(void)
{
    adm_qr_decoder_t *dec = NULL;
    char alnum[600];
    size_t i;
    static const char set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

    CHECK_ERR(adm_qr_decoder_new(&dec), ADM_OK);
    if (dec == NULL)
        return;
    check_round_trip(dec, "A", ADM_QR_STYLE_DEFAULT);
    check_round_trip(dec, sample_text, ADM_QR_STYLE_DEFAULT);
    check_round_trip(dec, "0123456789012345678901234567890", (adm_qr_style_t){2, 4});
    check_round_trip(dec, "https://admit.example/t/AD1:XYZ", (adm_qr_style_t){4, 2});
    adm_test_seed(7);
    memcpy(alnum, "AD1:", 4);
    for (i = 4; i < sizeof alnum - 1; i++)
        alnum[i] = set[adm_test_rand() % (sizeof set - 1)];
    alnum[sizeof alnum - 1] = '\0';
    check_round_trip(dec, alnum, (adm_qr_style_t){3, 4});
    /* the decoder is reusable and keeps no state between frames */
    check_round_trip(dec, sample_text, ADM_QR_STYLE_DEFAULT);
    check_round_trip(dec, sample_text, ADM_QR_STYLE_DEFAULT);
    adm_qr_decoder_free(dec);
    adm_qr_decoder_free(NULL);
}

static void test_decode_errors(void)
{
    adm_qr_decoder_t *dec = NULL;
    adm_image_t img = {0, 0, NULL}, blank = {0, 0, NULL};
    uint8_t *png = NULL;
    size_t len = 0, outlen = 99;
    char out[64];

    CHECK_ERR(adm_qr_decoder_new(&dec), ADM_OK);
    CHECK_ERR(adm_qr_decoder_new(NULL), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_image_new(FRAME_W, FRAME_H, 128, &blank), ADM_OK);
    CHECK_ERR(adm_qr_decode_frame(dec, blank.pixels, FRAME_W, FRAME_H, out, sizeof out, &outlen),
              ADM_ERR_QR_NOT_FOUND);
    CHECK_INT(outlen, 0);
    CHECK_STR(out, "");
    CHECK_ERR(adm_qr_render_png(sample_text, &ADM_QR_STYLE_DEFAULT, &png, &len), ADM_OK);
    CHECK_ERR(adm_image_load_png_mem(png, len, &img), ADM_OK);
    /* out too small by one: the text and its NUL must fit */
    CHECK_ERR(adm_qr_decode_frame(dec, img.pixels, img.width, img.height, out, strlen(sample_text),
                                  &outlen),
              ADM_ERR_TOO_BIG);
    CHECK_INT(outlen, 0);
    CHECK_ERR(adm_qr_decode_frame(dec, img.pixels, img.width, img.height, out,
                                  strlen(sample_text) + 1, &outlen),
              ADM_OK);
    CHECK_STR(out, sample_text);
    CHECK_ERR(adm_qr_decode_frame(dec, img.pixels, 0, img.height, out, sizeof out, &outlen),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_decode_frame(dec, img.pixels, 5000, 5000, out, sizeof out, &outlen),
              ADM_ERR_TOO_BIG);
    CHECK_ERR(
        adm_qr_decode_frame(NULL, img.pixels, img.width, img.height, out, sizeof out, &outlen),
        ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_decode_frame(dec, NULL, img.width, img.height, out, sizeof out, &outlen),
              ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_qr_decode_frame(dec, img.pixels, img.width, img.height, out, 0, &outlen),
              ADM_ERR_INVALID_ARG);
    adm_image_free(&img);
    adm_image_free(&blank);
    free(png);
    adm_qr_decoder_free(dec);
}

static void test_degrade_helpers(void)
{
    adm_image_t a = {0, 0, NULL}, b = {0, 0, NULL}, frame = {0, 0, NULL};
    size_t i, n = 64 * 64, diff = 0;

    CHECK_ERR(adm_image_new(64, 64, 100, &a), ADM_OK);
    CHECK_ERR(adm_image_new(64, 64, 100, &b), ADM_OK);
    /* same seed, same noise; different seed, different noise */
    CHECK_ERR(adm_degrade_noise(&a, 10, 42), ADM_OK);
    CHECK_ERR(adm_degrade_noise(&b, 10, 42), ADM_OK);
    CHECK(a.pixels && b.pixels && memcmp(a.pixels, b.pixels, n) == 0);
    memset(b.pixels, 100, n);
    CHECK_ERR(adm_degrade_noise(&b, 10, 43), ADM_OK);
    for (i = 0; i < n; i++)
        diff += a.pixels[i] != b.pixels[i];
    CHECK(diff > n / 2);
    CHECK_ERR(adm_degrade_contrast(&a, 80, 170), ADM_OK);
    for (i = 0; i < n; i++)
        CHECK(a.pixels[i] >= 80 && a.pixels[i] <= 170);
    CHECK_ERR(adm_degrade_contrast(&a, 170, 80), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_degrade_box_blur(&a, -1), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_degrade_gaussian_blur(&a, -1), ADM_ERR_INVALID_ARG);
    /* a flat image stays flat under blur; a gradient spans -delta..+delta */
    memset(a.pixels, 100, n);
    CHECK_ERR(adm_degrade_box_blur(&a, 2), ADM_OK);
    CHECK_ERR(adm_degrade_gaussian_blur(&a, 1.5), ADM_OK);
    CHECK(a.pixels[0] == 100 && a.pixels[n / 2 + 5] == 100 && a.pixels[n - 1] == 100);
    CHECK_ERR(adm_degrade_gradient(&a, 40), ADM_OK);
    CHECK_INT(a.pixels[0], 60);
    CHECK_INT(a.pixels[n - 1], 140);
    /* placement: a 0° copy at fraction 1 of a square frame is the source */
    memset(b.pixels, 255, n);
    for (i = 0; i < 32; i++)
        b.pixels[i * 64 + i] = 0;
    CHECK_ERR(adm_degrade_place(&b, 64, 64, 1.0, 0, 128, 128, &frame), ADM_OK);
    CHECK(frame.pixels && memcmp(frame.pixels, b.pixels, n) == 0);
    adm_image_free(&frame);
    /* 90°: the diagonal of the top-left quadrant moves to the bottom-left one */
    CHECK_ERR(adm_degrade_place(&b, 64, 64, 1.0, 90, 128, 128, &frame), ADM_OK);
    CHECK(frame.pixels && frame.pixels[63 * 64 + 0] == 0 && frame.pixels[32 * 64 + 31] == 0 &&
          frame.pixels[0] == 255);
    adm_image_free(&frame);
    /* half size in a wider frame: background outside, source inside */
    CHECK_ERR(adm_degrade_place(&b, 128, 64, 0.5, 0, 10, 10, &frame), ADM_OK);
    CHECK(frame.pixels && frame.pixels[0] == 10 && frame.pixels[32 * 128 + 64] == 255);
    adm_image_free(&frame);
    CHECK_ERR(adm_degrade_place(&b, 64, 64, 0, 0, 0, 0, &frame), ADM_ERR_INVALID_ARG);
    adm_image_free(&a);
    adm_image_free(&b);
}

/* --- tokens: the real payload, through every path a scanner sees --- */

static adm_keyring_t *keyring;

static void make_ticket(adm_ticket_t *t, const char *label, bool times)
{
    memset(t, 0, sizeof *t);
    t->event_id = 4242;
    t->ticket_id = 0x0123456789abcdefull;
    t->type_id = 7;
    t->flags = ADM_TICKET_SPECIAL;
    t->has_valid_from = times;
    t->has_valid_until = times;
    t->valid_from = times ? 1767225600 : 0;  /* 2026-01-01 */
    t->valid_until = times ? 1767312000 : 0; /* a day later */
    snprintf(t->label, sizeof t->label, "%s", label);
}

static bool same_ticket(const adm_ticket_t *a, const adm_ticket_t *b)
{
    return a->key_id == b->key_id && a->event_id == b->event_id && a->ticket_id == b->ticket_id &&
           a->type_id == b->type_id && a->flags == b->flags &&
           a->has_valid_from == b->has_valid_from && a->has_valid_until == b->has_valid_until &&
           a->valid_from == b->valid_from && a->valid_until == b->valid_until &&
           strcmp(a->label, b->label) == 0;
}

static void encode_ticket(const adm_ticket_t *t, char *out, size_t cap)
{
    size_t len = 0;

    CHECK_ERR(adm_token_encode(t, keyring, 0, out, cap, &len), ADM_OK);
    CHECK_INT(len, strlen(out));
}

static void test_size_budget(void)
{
    static const struct {
        const char *label;
        bool times;
        int max_version;
    } cases[] = {
        {"BLOCK A ROW 12 SEAT 7", true, 7},            /* typical: 21-byte label */
        {"ZONE 4 - RESERVED - GATE C - 010", true, 8}, /* maximal: 32 bytes */
        {"", false, 6},                                /* minimal */
    };
    char text[ADM_TOKEN_TEXT_MAX + 1];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        adm_ticket_t t;
        int v = 0;
        make_ticket(&t, cases[i].label, cases[i].times);
        if (i == 2)
            t.flags = 0;
        encode_ticket(&t, text, sizeof text);
        CHECK_ERR(adm_qr_version(text, &v), ADM_OK);
        printf("    size: label %2zu bytes, times %s: %3zu chars, QR version %d (budget %d)\n",
               strlen(cases[i].label), cases[i].times ? "yes" : "no ", strlen(text), v,
               cases[i].max_version);
        CHECK(v >= 1 && v <= cases[i].max_version);
    }
    CHECK_INT(strlen(cases[1].label), ADM_TOKEN_LABEL_MAX);
}

/* One degraded frame: saved as PNG, decoded from the file, verified. */
struct degradation {
    const char *name;
    double fraction; /* of the frame height */
    double angle;
    double noise; /* gaussian sigma, grey levels */
    int box_radius;
    int lo, hi; /* contrast, 0..255 for none */
    int gradient;
};

/* Code placement used unless a case says otherwise: ~6.3 px per module for a
 * version 7 code (45 modules + 2 x 4 quiet) in a 480-pixel-high frame. */
#define BASE_FRACTION 0.70

static adm_err_t make_frame(const adm_image_t *code, const struct degradation *d,
                            adm_image_t *frame, uint64_t seed)
{
    adm_err_t err;

    err = adm_degrade_place(code, FRAME_W, FRAME_H, d->fraction, d->angle, 110, 150, frame);
    if (err == ADM_OK)
        err = adm_degrade_box_blur(frame, d->box_radius);
    if (err == ADM_OK)
        err = adm_degrade_noise(frame, d->noise, seed);
    if (err == ADM_OK)
        err = adm_degrade_contrast(frame, (uint8_t)d->lo, (uint8_t)d->hi);
    if (err == ADM_OK)
        err = adm_degrade_gradient(frame, d->gradient);
    return err;
}

static void test_token_degraded(void)
{
    /* Limits measured with ZBar 0.23.92 on a version 7 ticket (178 chars,
     * 5 seeds each), asserted here only with margin:
     *  - box blur: radius 1 reads at 6.3 px/module; radius 2 (a 5 px box, 0.8
     *    module) fails for about one token in eight there (measured over 30
     *    random keys), but read 40/40 at 8.6 px/module (code filling the frame
     *    height); at 40% height (3.6 px/module) radius 1 reads and 2 does not.
     *    Gaussian blur reads up to sigma about 0.4 module.
     *  - noise: sigma 32 reads, 40 fails at 6.3 px/module (4/5 at 3.6).
     *  - contrast: 120..130 (with noise 2) still reads; 123..128 does not.
     *  - size: reliable from ~2.3 px/module (25% of the height); 1.8-2.0 px
     *    works or not depending on aliasing at 0 degrees; below 1.6 never.
     *  - rotation: every angle in 3-degree steps reads; gradients of +-200 read. */
    static const struct degradation cases[] = {
        {"clean", BASE_FRACTION, 0, 0, 0, 0, 255, 0},
        {"rotate-7", BASE_FRACTION, 7, 0, 0, 0, 255, 0},
        {"rotate-30", BASE_FRACTION, 30, 0, 0, 0, 255, 0},
        {"rotate-90", BASE_FRACTION, 90, 0, 0, 0, 255, 0},
        {"rotate-180", BASE_FRACTION, 180, 0, 0, 0, 255, 0},
        {"box-blur-1", BASE_FRACTION, 0, 0, 1, 0, 255, 0},
        {"box-blur-2-near", 0.95, 0, 0, 2, 0, 255, 0}, /* code filling the frame height */
        {"noise-12", BASE_FRACTION, 0, 12, 0, 0, 255, 0},
        {"contrast-80-170", BASE_FRACTION, 0, 0, 0, 80, 170, 0},
        {"gradient-50", BASE_FRACTION, 0, 0, 0, 0, 255, 50},
        {"size-40pct", 0.40, 0, 0, 0, 0, 255, 0},
        {"size-40pct-blur-1", 0.40, 0, 4, 1, 0, 255, 0},
        {"combined", BASE_FRACTION, 12, 8, 1, 70, 180, 0},
    };
    const char *dir = adm_test_tmpdir();
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    adm_ticket_t t, got;
    char text[ADM_TOKEN_TEXT_MAX + 1], out[ADM_QR_TEXT_MAX + 1], path[4200];
    adm_image_t code = {0, 0, NULL}, frame = {0, 0, NULL};
    adm_qr_decoder_t *dec = NULL;
    double total_ms = 0;
    size_t i, outlen = 0;
    int frames = 0;

    make_ticket(&t, "BLOCK A ROW 12 SEAT 7", true);
    encode_ticket(&t, text, sizeof text);
    CHECK_ERR(adm_keyring_signing_kid(keyring, &t.key_id), ADM_OK);

    /* the clean path: render to a file, load, decode, verify */
    join(path, sizeof path, dir, "ticket.png");
    CHECK_ERR(adm_qr_write_png(text, &style, path), ADM_OK);
    CHECK_ERR(adm_qr_decode_png_file(path, out, sizeof out, &outlen), ADM_OK);
    CHECK_STR(out, text);
    CHECK_ERR(adm_token_decode(out, outlen, keyring, &got), ADM_OK);
    CHECK(same_ticket(&got, &t));
    CHECK_ERR(adm_image_load_png(path, &code), ADM_OK);
    CHECK_ERR(adm_qr_decoder_new(&dec), ADM_OK);
    if (code.pixels == NULL || dec == NULL)
        goto out;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct degradation *d = &cases[i];
        char name[64];
        double t0, ms;
        adm_err_t err;

        memset(&got, 0, sizeof got);
        CHECK_ERR(make_frame(&code, d, &frame, 1000 + i), ADM_OK);
        snprintf(name, sizeof name, "%s.png", d->name);
        join(path, sizeof path, dir, name);
        CHECK_ERR(adm_image_write_png(&frame, path), ADM_OK);
        /* timing: decode of the in-memory frame alone, not the PNG load */
        t0 = now_ms();
        err = adm_qr_decode_frame(dec, frame.pixels, frame.width, frame.height, out, sizeof out,
                                  &outlen);
        ms = now_ms() - t0;
        total_ms += ms;
        frames++;
        CHECK_ERR(err, ADM_OK);
        CHECK_ERR(adm_qr_decode_png_file(path, out, sizeof out, &outlen), ADM_OK);
        CHECK_ERR(adm_token_decode(out, outlen, keyring, &got), ADM_OK);
        if (!same_ticket(&got, &t))
            adm_test_fail(__FILE__, __LINE__, "%s: decoded ticket differs", d->name);
        printf("    %-18s %s in %.1f ms\n", d->name, err == ADM_OK ? "decoded" : "FAILED", ms);
        adm_image_free(&frame);
    }
    if (frames)
        printf("    mean decode time per %dx%d frame: %.1f ms (sanitizer build)\n", FRAME_W,
               FRAME_H, total_ms / frames);

    {
        /* negatives: an empty frame, and a code blurred into a grey smear */
        struct degradation smear = {"smear", BASE_FRACTION, 0, 0, 12, 0, 255, 0};
        CHECK_ERR(adm_image_new(FRAME_W, FRAME_H, 128, &frame), ADM_OK);
        CHECK_ERR(adm_degrade_noise(&frame, 8, 5), ADM_OK);
        join(path, sizeof path, dir, "empty.png");
        CHECK_ERR(adm_image_write_png(&frame, path), ADM_OK);
        CHECK_ERR(adm_qr_decode_png_file(path, out, sizeof out, &outlen), ADM_ERR_QR_NOT_FOUND);
        adm_image_free(&frame);
        CHECK_ERR(make_frame(&code, &smear, &frame, 99), ADM_OK);
        join(path, sizeof path, dir, "smear.png");
        CHECK_ERR(adm_image_write_png(&frame, path), ADM_OK);
        CHECK(adm_qr_decode_png_file(path, out, sizeof out, &outlen) != ADM_OK);
        adm_image_free(&frame);
    }
out:
    adm_qr_decoder_free(dec);
    adm_image_free(&code);
    remove_dir(dir);
}

int main(void)
{
    uint32_t kid = 0;

    ADM_RUN(test_version);
    ADM_RUN(test_render_png);
    ADM_RUN(test_write_png);
    ADM_RUN(test_render_svg);
    ADM_RUN(test_render_term);
    ADM_RUN(test_bad_args);
    ADM_RUN(test_load_errors);
    ADM_RUN(test_image_new);
    ADM_RUN(test_load_formats);
    ADM_RUN(test_decode_round_trip);
    ADM_RUN(test_decode_errors);
    ADM_RUN(test_degrade_helpers);

    /* A fixed key, so the token text and its QR (and whether a borderline
     * degradation still reads) are the same on every run. */
    static const uint8_t seed[ADM_KEY_SEED_BYTES] = {
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
        0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
        0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

    if (adm_crypto_init() != ADM_OK || adm_keyring_new(&keyring) != ADM_OK ||
        adm_keyring_add_seed(keyring, seed, &kid) != ADM_OK) {
        adm_test_fail(__FILE__, __LINE__, "cannot set up a keyring");
    } else {
        ADM_RUN(test_size_budget);
        ADM_RUN(test_token_degraded);
    }
    adm_keyring_free(keyring);
    return adm_test_done();
}
