/* degrade.h: camera-like degradations of greyscale images, so QR decoding can
 * be tested against frames that resemble what a gate scanner sees (placement,
 * rotation, blur, sensor noise, poor contrast, uneven light). Test support
 * only: simple, deterministic and slow rather than physically accurate. */
#ifndef ADM_TEST_DEGRADE_H
#define ADM_TEST_DEGRADE_H

#include <stdint.h>

#include "sync/qr.h"

/* Places src in a new frame_w x frame_h frame (*out, free with
 * adm_image_free()): scaled with bilinear sampling so its width is fraction
 * of the frame's shorter side (0 < fraction <= 2), rotated by angle_deg
 * (counter-clockwise) about its centre, centred in the frame. Pixels outside
 * the placed image are background: a horizontal gradient from bg_left to
 * bg_right (equal values for a flat background). ADM_ERR_INVALID_ARG for bad
 * arguments, ADM_ERR_NOMEM / ADM_ERR_TOO_BIG from the allocation. */
adm_err_t adm_degrade_place(const adm_image_t *src, int frame_w, int frame_h, double fraction,
                            double angle_deg, uint8_t bg_left, uint8_t bg_right, adm_image_t *out);

/* Box blur in place: each pixel becomes the mean of the (2r+1)^2 square
 * around it (edges clamped), as two separable passes. radius 0 is a no-op.
 * ADM_ERR_INVALID_ARG for a negative radius, ADM_ERR_NOMEM. */
adm_err_t adm_degrade_box_blur(adm_image_t *img, int radius);

/* Gaussian blur in place with standard deviation sigma pixels (kernel
 * truncated at 3 sigma, separable). sigma 0 is a no-op. Same errors. */
adm_err_t adm_degrade_gaussian_blur(adm_image_t *img, double sigma);

/* Adds zero-mean gaussian noise with standard deviation sigma (grey levels),
 * clamped to 0..255. Deterministic for a given seed. */
adm_err_t adm_degrade_noise(adm_image_t *img, double sigma, uint64_t seed);

/* Reduces contrast: maps 0..255 linearly onto lo..hi (lo <= hi). */
adm_err_t adm_degrade_contrast(adm_image_t *img, uint8_t lo, uint8_t hi);

/* Uneven lighting: adds a brightness ramp along the diagonal, from -delta at
 * the top left corner to +delta at the bottom right, clamped to 0..255. */
adm_err_t adm_degrade_gradient(adm_image_t *img, int delta);

#endif
