/* frame.h: from greyscale frames to the texts to scan: ZBar QR decoding
 * (sync/qr.h) and the repeat filter (a code held in front of a camera is in
 * many consecutive frames but is scanned once). The one path from pixels to
 * text for admit-gate's --image and --camera (and a GUI's camera worker).
 * Not capture (camera.h) and not the verdict (gate.h). One reader per thread. */
#ifndef ADM_FRAME_H
#define ADM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

#define ADM_FRAME_REPEAT_MS_DEFAULT 2000
#define ADM_FRAME_REPEAT_MS_MAX 600000

typedef struct adm_frame_reader adm_frame_reader_t;

/* A reader (*out, adm_frame_reader_free()) that suppresses a text equal to
 * the last one returned while it keeps being seen less than repeat_ms
 * (0..ADM_FRAME_REPEAT_MS_MAX) apart; 0 returns every decoded text (still
 * images). ADM_ERR_INVALID_ARG, ADM_ERR_NOMEM. */
adm_err_t adm_frame_reader_new(long repeat_ms, adm_frame_reader_t **out);
void adm_frame_reader_free(adm_frame_reader_t *r);

/* Decodes an 8-bit greyscale frame (stride == width) seen at now_ms (a
 * monotonic clock). ADM_OK: a text to scan, copied to out (cap bytes,
 * NUL-terminated, *len bytes). ADM_ERR_QR_NOT_FOUND: no QR code.
 * ADM_ERR_EXISTS: the same text as the last one, seen again within
 * repeat_ms of its previous sighting (not to be scanned again; the window
 * restarts). ADM_ERR_TOO_BIG: the code's text does not fit out.
 * ADM_ERR_INVALID_ARG, ADM_ERR_IMAGE, ADM_ERR_NOMEM. */
adm_err_t adm_frame_reader_read(adm_frame_reader_t *r, const uint8_t *y800, int width, int height,
                                int64_t now_ms, char *out, size_t cap, size_t *len);

#endif
