/* scan-camera.h: admit-scan's camera worker: a capture thread pulls frames
 * from a camera source (scanner/source.h) and hands the newest one to a
 * decode thread (ZBar and the repeat filter, scanner/frame.h) only when that
 * thread is idle: a frame that arrives while it is busy is dropped, so
 * decoding never falls behind the camera. Preview frames and state changes
 * go to a GMainContext (the UI's); decoded texts go to a callback on the
 * decode thread (the controller queues them for the scan worker). No GTK. */
#ifndef ADM_SCAN_CAMERA_H
#define ADM_SCAN_CAMERA_H

#include <glib.h>
#include <stddef.h>

typedef struct adm_scan_camera adm_scan_camera_t;

/* Runs fn(data) once on ctx as an idle source of priority prio, from any
 * thread; destroy(data) afterwards. Unlike g_main_context_invoke_full() it
 * never runs fn on the calling thread, even when ctx is the global default
 * context and nobody is iterating it at that moment. */
void adm_scan_post(GMainContext *ctx, int prio, GSourceFunc fn, gpointer data,
                   GDestroyNotify destroy);

typedef struct adm_scan_camera_cbs {
    /* decode thread: a text to scan (the repeat filter let it through). */
    void (*text)(void *ud, const char *text, size_t len);
    /* main context: the latest frame, 8-bit grey, stride == width (pixels
     * borrowed for the call). At most one is queued at a time. May be NULL. */
    void (*preview)(void *ud, GBytes *pixels, int width, int height);
    /* main context: the camera opened (running, its description), ended or
     * failed (not running, why). May be NULL. */
    void (*state)(void *ud, gboolean running, const char *message);
    void *ud;
} adm_scan_camera_cbs_t;

typedef struct adm_scan_camera_stats {
    guint64 frames;  /* frames captured */
    guint64 decoded; /* frames given to the decode thread */
    guint64 dropped; /* frames dropped because the decode thread was busy */
    guint64 texts;   /* texts passed to cbs.text */
} adm_scan_camera_stats_t;

/* Starts the worker on source spec (opened on the capture thread: a slow or
 * missing device never blocks the caller; failures come through cbs.state).
 * repeat_ms as for adm_frame_reader_new(). ctx (borrowed; must outlive the
 * camera's last callback) receives preview and state; cbs is copied.
 * Returns NULL only for a bad argument. Stop with adm_scan_camera_stop(). */
adm_scan_camera_t *adm_scan_camera_start(const char *spec, long repeat_ms, GMainContext *ctx,
                                         const adm_scan_camera_cbs_t *cbs);

/* Stops and joins both threads; callbacks queued on ctx but not yet run are
 * skipped. NULL is accepted. */
void adm_scan_camera_stop(adm_scan_camera_t *c);

/* Copies the counters (thread-safe). */
void adm_scan_camera_get_stats(adm_scan_camera_t *c, adm_scan_camera_stats_t *out);

#endif
