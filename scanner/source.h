/* source.h: pluggable camera sources: where greyscale frames come from for
 * a scanning loop (admit-gate --camera, admit-scan's camera worker). A real
 * V4L2 device in production (camera.h), or a folder of images played as
 * camera frames for tests and the demo. Only capture: frames then go
 * through frame.h. Not thread-safe: one source, one thread. */
#ifndef ADM_SOURCE_H
#define ADM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

#define ADM_SOURCE_SPEC_MAX 4096 /* a source spec, bytes */

typedef struct adm_source adm_source_t;

/* Opens the source named by spec (*out, adm_source_close()):
 *   "v4l2:/dev/video0" or a path starting with "/dev/"   a V4L2 camera;
 *   "folder:/path/to/dir[?fps=N&loop=0|1&hold=N]"         the folder's PNG
 *       files in name order as frames at N frames per second (default
 *       10), each shown hold frames (default 5, like a code held in front
 *       of a camera), looping when loop=1 (default 0: after the last file
 *       the source ends);
 *   "image:/path/file.png"                                 one still image.
 * ADM_ERR_INVALID_ARG for an unknown spec, ADM_ERR_NOT_FOUND when the
 * device, folder or file does not exist, ADM_ERR_IO / ADM_ERR_IMAGE when
 * it cannot be used; why (cap bytes, may be NULL) gets the detail. */
adm_err_t adm_source_open(const char *spec, adm_source_t **out, char *why, size_t cap);
void adm_source_close(adm_source_t *s);

/* Waits up to timeout_ms for the next frame. ADM_OK with *y800 set to the
 * frame's 8-bit grey pixels (stride == *width; owned by s, valid until the
 * next call or close), or with *y800 NULL when none came in time.
 * ADM_ERR_NOT_FOUND when a finite source has ended. ADM_ERR_IO /
 * ADM_ERR_IMAGE when capture or decoding failed (why gets the detail). */
adm_err_t adm_source_next(adm_source_t *s, int timeout_ms, const uint8_t **y800, int *width,
                          int *height, char *why, size_t cap);

/* A short description for status lines ("camera /dev/video0",
 * "folder tests/tickets (3 images)"). Owned by s. */
const char *adm_source_describe(const adm_source_t *s);

#endif
