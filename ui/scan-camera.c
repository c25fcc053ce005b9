/* scan-camera.c: admit-scan's capture and decode threads (see the header).
 * The two threads share one frame slot under a mutex; main-context callbacks
 * hold a reference on the shared state and are skipped after stop. */
#include "ui/scan-camera.h"

#include <string.h>

#include "scanner/frame.h"
#include "scanner/source.h"
#include "sync/qr.h"

#define NEXT_TIMEOUT_MS 100           /* how often the capture thread looks at the stop flag */
#define PREVIEW_MIN_US (1000000 / 20) /* at most 20 preview frames a second */
#define FRAME_MAX_PIXELS (4096 * 4096)

struct adm_scan_camera {
    gint refs;
    char *spec;
    long repeat_ms;
    GMainContext *ctx;
    adm_scan_camera_cbs_t cbs;
    gint stop;         /* atomic: threads end */
    gint preview_busy; /* atomic: a preview is queued on ctx */
    GThread *capture, *decode;

    GMutex lock; /* protects the slot and stats */
    GCond cond;
    gboolean busy;  /* the decode thread holds a frame */
    gboolean ended; /* capture ended: the decode thread may finish */
    guint8 *slot;   /* the frame handed over */
    size_t slot_cap;
    int slot_w, slot_h;
    gint64 slot_ms;
    adm_scan_camera_stats_t stats;
};

void adm_scan_post(GMainContext *ctx, int prio, GSourceFunc fn, gpointer data,
                   GDestroyNotify destroy)
{
    GSource *src = g_idle_source_new();

    g_source_set_priority(src, prio);
    g_source_set_callback(src, fn, data, destroy);
    g_source_attach(src, ctx);
    g_source_unref(src);
}

static adm_scan_camera_t *cam_ref(adm_scan_camera_t *c)
{
    g_atomic_int_inc(&c->refs);
    return c;
}

static void cam_unref(gpointer p)
{
    adm_scan_camera_t *c = p;

    if (!g_atomic_int_dec_and_test(&c->refs))
        return;
    g_mutex_clear(&c->lock);
    g_cond_clear(&c->cond);
    g_free(c->slot);
    g_free(c->spec);
    g_main_context_unref(c->ctx);
    g_free(c);
}

/* ---- main-context deliveries ---- */

typedef struct preview_msg {
    adm_scan_camera_t *cam;
    GBytes *pixels;
    int w, h;
} preview_msg_t;

static gboolean preview_run(gpointer p)
{
    preview_msg_t *m = p;

    if (!g_atomic_int_get(&m->cam->stop) && m->cam->cbs.preview != NULL)
        m->cam->cbs.preview(m->cam->cbs.ud, m->pixels, m->w, m->h);
    g_atomic_int_set(&m->cam->preview_busy, 0);
    return G_SOURCE_REMOVE;
}

static void preview_free(gpointer p)
{
    preview_msg_t *m = p;

    g_bytes_unref(m->pixels);
    cam_unref(m->cam);
    g_free(m);
}

typedef struct state_msg {
    adm_scan_camera_t *cam;
    gboolean running;
    char *message;
} state_msg_t;

static gboolean state_run(gpointer p)
{
    state_msg_t *m = p;

    if (!g_atomic_int_get(&m->cam->stop) && m->cam->cbs.state != NULL)
        m->cam->cbs.state(m->cam->cbs.ud, m->running, m->message);
    return G_SOURCE_REMOVE;
}

static void state_free(gpointer p)
{
    state_msg_t *m = p;

    g_free(m->message);
    cam_unref(m->cam);
    g_free(m);
}

static void post_state(adm_scan_camera_t *c, gboolean running, const char *message)
{
    state_msg_t *m = g_new0(state_msg_t, 1);

    m->cam = cam_ref(c);
    m->running = running;
    m->message = g_strdup(message);
    adm_scan_post(c->ctx, G_PRIORITY_DEFAULT, state_run, m, state_free);
}

/* ---- the decode thread ---- */

static gpointer decode_main(gpointer p)
{
    adm_scan_camera_t *c = p;
    adm_frame_reader_t *reader = NULL;
    char text[ADM_QR_TEXT_MAX + 1];
    guint8 *frame = NULL;
    size_t frame_cap = 0;

    if (adm_frame_reader_new(c->repeat_ms, &reader) != ADM_OK) {
        post_state(c, FALSE, "cannot start the QR decoder (out of memory)");
        return NULL;
    }
    g_mutex_lock(&c->lock);
    for (;;) {
        int w, h;
        gint64 ms;
        size_t len = 0;
        adm_err_t e;

        while (!c->busy && !c->ended && !g_atomic_int_get(&c->stop))
            g_cond_wait(&c->cond, &c->lock);
        if (!c->busy)
            break;
        /* swap buffers: capture may fill the slot again only after busy is cleared */
        {
            guint8 *t = frame;
            size_t tc = frame_cap;
            frame = c->slot;
            frame_cap = c->slot_cap;
            c->slot = t;
            c->slot_cap = tc;
        }
        w = c->slot_w;
        h = c->slot_h;
        ms = c->slot_ms;
        g_mutex_unlock(&c->lock);

        e = adm_frame_reader_read(reader, frame, w, h, ms, text, sizeof text, &len);
        if (e == ADM_OK && c->cbs.text != NULL && !g_atomic_int_get(&c->stop))
            c->cbs.text(c->cbs.ud, text, len);

        g_mutex_lock(&c->lock);
        if (e == ADM_OK)
            c->stats.texts++;
        c->busy = FALSE;
    }
    g_mutex_unlock(&c->lock);
    g_free(frame);
    adm_frame_reader_free(reader);
    return NULL;
}

/* ---- the capture thread ---- */

/* Hands the frame to the decode thread if it is idle; otherwise drops it. */
static void offer(adm_scan_camera_t *c, const uint8_t *y800, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;

    g_mutex_lock(&c->lock);
    c->stats.frames++;
    if (c->busy) {
        c->stats.dropped++;
    } else {
        if (c->slot_cap < n) {
            g_free(c->slot);
            c->slot = g_malloc(n);
            c->slot_cap = n;
        }
        memcpy(c->slot, y800, n);
        c->slot_w = w;
        c->slot_h = h;
        c->slot_ms = g_get_monotonic_time() / 1000;
        c->busy = TRUE;
        c->stats.decoded++;
        g_cond_signal(&c->cond);
    }
    g_mutex_unlock(&c->lock);
}

static void preview(adm_scan_camera_t *c, const uint8_t *y800, int w, int h, gint64 *last_us)
{
    gint64 now = g_get_monotonic_time();
    preview_msg_t *m;

    if (c->cbs.preview == NULL || now - *last_us < PREVIEW_MIN_US ||
        !g_atomic_int_compare_and_exchange(&c->preview_busy, 0, 1))
        return; /* the UI has not shown the previous one yet: skip */
    *last_us = now;
    m = g_new0(preview_msg_t, 1);
    m->cam = cam_ref(c);
    m->pixels = g_bytes_new(y800, (size_t)w * (size_t)h);
    m->w = w;
    m->h = h;
    adm_scan_post(c->ctx, G_PRIORITY_DEFAULT_IDLE, preview_run, m, preview_free);
}

static gpointer capture_main(gpointer p)
{
    adm_scan_camera_t *c = p;
    adm_source_t *src = NULL;
    char why[256] = "";
    gint64 last_preview = 0;
    adm_err_t e;

    if ((e = adm_source_open(c->spec, &src, why, sizeof why)) != ADM_OK) {
        g_autofree char *msg =
            g_strdup_printf("cannot use camera %s: %s", c->spec, why[0] ? why : adm_strerror(e));
        post_state(c, FALSE, msg);
        goto out;
    }
    post_state(c, TRUE, adm_source_describe(src));
    while (!g_atomic_int_get(&c->stop)) {
        const uint8_t *y800 = NULL;
        int w = 0, h = 0;

        why[0] = '\0';
        e = adm_source_next(src, NEXT_TIMEOUT_MS, &y800, &w, &h, why, sizeof why);
        if (e == ADM_ERR_NOT_FOUND) {
            post_state(c, FALSE, "the camera source ended");
            break;
        }
        if (e == ADM_ERR_IMAGE) {
            /* an unreadable file of a folder source is skipped */
            g_autofree char *msg = g_strdup_printf("skipped a frame: %s", why);
            post_state(c, TRUE, msg);
            continue;
        }
        if (e != ADM_OK) {
            g_autofree char *msg =
                g_strdup_printf("camera failed: %s", why[0] ? why : adm_strerror(e));
            post_state(c, FALSE, msg);
            break;
        }
        if (y800 == NULL || w <= 0 || h <= 0 || (gint64)w * h > FRAME_MAX_PIXELS)
            continue;
        preview(c, y800, w, h, &last_preview);
        offer(c, y800, w, h);
    }
out:
    adm_source_close(src);
    g_mutex_lock(&c->lock);
    c->ended = TRUE;
    g_cond_signal(&c->cond);
    g_mutex_unlock(&c->lock);
    return NULL;
}

adm_scan_camera_t *adm_scan_camera_start(const char *spec, long repeat_ms, GMainContext *ctx,
                                         const adm_scan_camera_cbs_t *cbs)
{
    adm_scan_camera_t *c;

    if (spec == NULL || spec[0] == '\0' || ctx == NULL || cbs == NULL || repeat_ms < 0 ||
        repeat_ms > ADM_FRAME_REPEAT_MS_MAX)
        return NULL;
    c = g_new0(adm_scan_camera_t, 1);
    c->refs = 1;
    c->spec = g_strdup(spec);
    c->repeat_ms = repeat_ms;
    c->ctx = g_main_context_ref(ctx);
    c->cbs = *cbs;
    g_mutex_init(&c->lock);
    g_cond_init(&c->cond);
    c->decode = g_thread_new("adm-decode", decode_main, c);
    c->capture = g_thread_new("adm-capture", capture_main, c);
    return c;
}

void adm_scan_camera_stop(adm_scan_camera_t *c)
{
    if (c == NULL)
        return;
    g_atomic_int_set(&c->stop, 1);
    g_mutex_lock(&c->lock);
    g_cond_broadcast(&c->cond);
    g_mutex_unlock(&c->lock);
    g_thread_join(c->capture);
    g_thread_join(c->decode);
    cam_unref(c);
}

void adm_scan_camera_get_stats(adm_scan_camera_t *c, adm_scan_camera_stats_t *out)
{
    g_mutex_lock(&c->lock);
    *out = c->stats;
    g_mutex_unlock(&c->lock);
}
