/* degrade.c: implementation of the test-only camera degradations (degrade.h).
 * Plain loops over doubles; speed and physical accuracy are not goals. */
#include "tests/testutil/degrade.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool image_ok(const adm_image_t *img)
{
    return img != NULL && img->pixels != NULL && img->width > 0 && img->height > 0;
}

static uint8_t clamp_u8(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)lround(v);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Bilinear sample of img at (x, y) in pixel-centre coordinates; the caller
 * keeps (x, y) inside [0, w-1] x [0, h-1]. */
static double bilinear(const adm_image_t *img, double x, double y)
{
    int x0 = clampi((int)floor(x), 0, img->width - 1);
    int y0 = clampi((int)floor(y), 0, img->height - 1);
    int x1 = clampi(x0 + 1, 0, img->width - 1), y1 = clampi(y0 + 1, 0, img->height - 1);
    double fx = x - x0, fy = y - y0;
    const uint8_t *p = img->pixels;
    size_t w = (size_t)img->width;
    double top = p[y0 * w + x0] * (1 - fx) + p[y0 * w + x1] * fx;
    double bottom = p[y1 * w + x0] * (1 - fx) + p[y1 * w + x1] * fx;

    return top * (1 - fy) + bottom * fy;
}

adm_err_t adm_degrade_place(const adm_image_t *src, int frame_w, int frame_h, double fraction,
                            double angle_deg, uint8_t bg_left, uint8_t bg_right, adm_image_t *out)
{
    const double pi = 3.14159265358979323846;
    double side, scale, c, s, cx, cy, sx, sy;
    int x, y;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out == NULL)
        goto out;
    *out = (adm_image_t){0, 0, NULL};
    if (!image_ok(src) || frame_w <= 0 || frame_h <= 0 || !(fraction > 0.0) || fraction > 2.0 ||
        !isfinite(angle_deg))
        goto out;
    result = adm_image_new(frame_w, frame_h, bg_left, out);
    if (result != ADM_OK)
        goto out;
    side = (frame_w < frame_h ? frame_w : frame_h) * fraction;
    scale = src->width / side; /* source pixels per frame pixel */
    c = cos(angle_deg * pi / 180.0);
    s = sin(angle_deg * pi / 180.0);
    cx = frame_w / 2.0;
    cy = frame_h / 2.0;
    for (y = 0; y < frame_h; y++) {
        for (x = 0; x < frame_w; x++) {
            /* inverse mapping: frame pixel centre → rotate back → source */
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double ux = c * dx - s * dy, uy = s * dx + c * dy; /* y axis points down */
            double v;
            sx = ux * scale + src->width / 2.0 - 0.5;
            sy = uy * scale + src->height / 2.0 - 0.5;
            if (sx < -0.5 || sy < -0.5 || sx > src->width - 0.5 || sy > src->height - 0.5) {
                v = bg_left + (double)(bg_right - bg_left) * x / (frame_w > 1 ? frame_w - 1 : 1);
            } else {
                /* when shrinking, average a few taps so thin modules do not alias away */
                int taps = scale > 1.0 ? (int)ceil(scale) : 1, i, j;
                double sum = 0;
                for (j = 0; j < taps; j++)
                    for (i = 0; i < taps; i++)
                        sum += bilinear(
                            src,
                            fmin(fmax(sx + ((i + 0.5) / taps - 0.5) * scale, 0), src->width - 1),
                            fmin(fmax(sy + ((j + 0.5) / taps - 0.5) * scale, 0), src->height - 1));
                v = sum / (taps * taps);
            }
            out->pixels[(size_t)y * (size_t)frame_w + (size_t)x] = clamp_u8(v);
        }
    }
    result = ADM_OK;
out:
    return result;
}

/* One separable pass of a normalised kernel k[0..2r] along rows (horizontal)
 * or columns, from img into tmp, edges clamped. */
static void convolve(const adm_image_t *img, uint8_t *tmp, const double *k, int r, bool horizontal)
{
    int w = img->width, h = img->height, x, y, i;

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            double sum = 0;
            for (i = 0; i <= 2 * r; i++) {
                int sx = horizontal ? clampi(x + i - r, 0, w - 1) : x;
                int sy = horizontal ? y : clampi(y + i - r, 0, h - 1);
                sum += k[i] * img->pixels[(size_t)sy * (size_t)w + (size_t)sx];
            }
            tmp[(size_t)y * (size_t)w + (size_t)x] = clamp_u8(sum);
        }
    }
}

/* Applies a symmetric kernel k[0..2r] horizontally then vertically. */
static adm_err_t separable(adm_image_t *img, const double *k, int r)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    uint8_t *tmp = malloc(n);
    adm_err_t result = ADM_ERR_NOMEM;

    if (tmp == NULL)
        goto out;
    convolve(img, tmp, k, r, true);
    memcpy(img->pixels, tmp, n);
    convolve(img, tmp, k, r, false);
    memcpy(img->pixels, tmp, n);
    result = ADM_OK;
out:
    free(tmp);
    return result;
}

adm_err_t adm_degrade_box_blur(adm_image_t *img, int radius)
{
    double *k = NULL;
    int i;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (!image_ok(img) || radius < 0 || radius > 1000)
        goto out;
    result = ADM_OK;
    if (radius == 0)
        goto out;
    result = ADM_ERR_NOMEM;
    k = malloc(sizeof *k * (size_t)(2 * radius + 1));
    if (k == NULL)
        goto out;
    for (i = 0; i < 2 * radius + 1; i++)
        k[i] = 1.0 / (2 * radius + 1);
    result = separable(img, k, radius);
out:
    free(k);
    return result;
}

adm_err_t adm_degrade_gaussian_blur(adm_image_t *img, double sigma)
{
    double *k = NULL, total = 0;
    int r, i;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (!image_ok(img) || !(sigma >= 0.0) || sigma > 300.0)
        goto out;
    result = ADM_OK;
    if (sigma == 0.0)
        goto out;
    r = (int)ceil(3 * sigma);
    result = ADM_ERR_NOMEM;
    k = malloc(sizeof *k * (size_t)(2 * r + 1));
    if (k == NULL)
        goto out;
    for (i = 0; i <= 2 * r; i++) {
        k[i] = exp(-(double)((i - r) * (i - r)) / (2 * sigma * sigma));
        total += k[i];
    }
    for (i = 0; i <= 2 * r; i++)
        k[i] /= total;
    result = separable(img, k, r);
out:
    free(k);
    return result;
}

/* xorshift64* as a private stream, so callers' seeds alone fix the output */
static uint64_t next_u64(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

/* uniform in (0, 1] */
static double next_unit(uint64_t *state)
{
    return ((next_u64(state) >> 11) + 1.0) / 9007199254740992.0;
}

adm_err_t adm_degrade_noise(adm_image_t *img, double sigma, uint64_t seed)
{
    const double two_pi = 6.28318530717958647692;
    uint64_t state = seed ? seed : 0x9E3779B97F4A7C15ull;
    size_t n, i;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (!image_ok(img) || !(sigma >= 0.0))
        goto out;
    n = (size_t)img->width * (size_t)img->height;
    for (i = 0; i < n; i += 2) {
        /* Box-Muller: two independent normals per pair of uniforms */
        double m = sqrt(-2.0 * log(next_unit(&state))), a = two_pi * next_unit(&state);
        img->pixels[i] = clamp_u8(img->pixels[i] + sigma * m * cos(a));
        if (i + 1 < n)
            img->pixels[i + 1] = clamp_u8(img->pixels[i + 1] + sigma * m * sin(a));
    }
    result = ADM_OK;
out:
    return result;
}

adm_err_t adm_degrade_contrast(adm_image_t *img, uint8_t lo, uint8_t hi)
{
    size_t n, i;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (!image_ok(img) || lo > hi)
        goto out;
    n = (size_t)img->width * (size_t)img->height;
    for (i = 0; i < n; i++)
        img->pixels[i] = clamp_u8(lo + (hi - lo) * (img->pixels[i] / 255.0));
    result = ADM_OK;
out:
    return result;
}

adm_err_t adm_degrade_gradient(adm_image_t *img, int delta)
{
    int x, y, w, h;
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (!image_ok(img) || delta < -255 || delta > 255)
        goto out;
    w = img->width;
    h = img->height;
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            double t = (w + h > 2) ? (double)(x + y) / (w + h - 2) : 0.5; /* 0..1 */
            uint8_t *p = &img->pixels[(size_t)y * (size_t)w + (size_t)x];
            *p = clamp_u8(*p + delta * (2 * t - 1));
        }
    }
    result = ADM_OK;
out:
    return result;
}
