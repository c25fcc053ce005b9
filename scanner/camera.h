/* camera.h: greyscale frames from a V4L2 camera through ZBar's video API
 * (zbar_video_*). Only capture: frames go through frame.h like still
 * images do. Not thread-safe: one camera, one thread. */
#ifndef ADM_CAMERA_H
#define ADM_CAMERA_H

#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

typedef struct adm_camera adm_camera_t;

/* Opens device (e.g. "/dev/video0"), negotiates a format and starts
 * capture (*out, adm_camera_close()). ADM_ERR_NOT_FOUND when device does not
 * exist, ADM_ERR_IO when it cannot be opened or is not a usable video
 * capture device; why (cap bytes, may be NULL) gets the detail.
 * ADM_ERR_NOMEM, ADM_ERR_INVALID_ARG. */
adm_err_t adm_camera_open(const char *device, adm_camera_t **out, char *why, size_t cap);
void adm_camera_close(adm_camera_t *cam);

/* Waits up to timeout_ms for the next frame. ADM_OK with *y800 set to the
 * frame's 8-bit grey pixels (stride == *width; owned by cam, valid until
 * the next call or close), or with *y800 NULL when none came in time.
 * ADM_ERR_IO when capture failed (why gets the detail). */
adm_err_t adm_camera_next(adm_camera_t *cam, int timeout_ms, const uint8_t **y800, int *width,
                          int *height, char *why, size_t cap);

#endif
