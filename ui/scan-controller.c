/* scan-controller.c: admit-scan's controller (see the header). Threads:
 *   - the UI thread (the GMainContext captured at construction) owns every
 *     field not marked otherwise and emits every signal;
 *   - the scan worker owns the adm_gate_t (scans and the lookups of
 *     scan-lookup.c) and runs jobs from a queue in order (scans, status
 *     refreshes, local searches);
 *   - the camera's capture and decode threads (scan-camera.c): the decode
 *     thread queues a scan job and waits for it, so frames arriving while a
 *     scan is in progress are dropped;
 *   - the syncer's two threads (scanner/syncer.c);
 *   - GTask threads for the network and slow hashing: enrollment, sync now,
 *     online search, syncer start, PIN hash and check.
 * Results come back as idle sources on that context (adm_scan_post()); each delivery holds a
 * reference on the controller and is dropped once it has stopped. */
#include "ui/scan-controller.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "scanner/enroll.h"
#include "scanner/gate-sync.h"
#include "scanner/gate.h"
#include "scanner/syncer.h"
#include "sync/client.h"
#include "sync/qr.h"

#define STATUS_PERIOD_MS 1000
#define REFRESH_EVERY 3 /* a store refresh every this many status ticks */
#define SEARCH_MAX 128  /* query bytes */
#define ENROLL_PREFIX "admit-enroll:"

struct _AdmScanController {
    GObject parent_instance;

    GMainContext *ctx;
    adm_scan_settings_t *settings; /* in effect: the stored ones plus this run's options */
    adm_scan_settings_t *stored;   /* what is saved (options other than --kiosk are not) */
    char *settings_path;
    gboolean insecure_http;
    gboolean started, stopped;
    gint stopping; /* atomic: deliveries are dropped */

    /* scan worker */
    GThread *worker;
    GAsyncQueue *jobs;
    guint test_scan_delay_ms; /* read by the worker (set before scans) */

    /* camera */
    adm_scan_camera_t *camera;

    /* syncer: the pointer is read by the worker for adm_syncer_notify */
    GMutex syncer_lock;
    adm_syncer_t *syncer;
    gboolean syncer_starting;

    gint enroll_armed; /* atomic, read by the decode thread */
    gint kiosk;        /* atomic mirror of settings->kiosk */
    gboolean enrolling;
    gboolean store_seen;  /* the worker has opened (created, migrated) the store */
    char *pending_enroll; /* an enrollment asked for before that */

    adm_scan_status_t status;
    guint tick_source;
    guint ticks;
};

G_DEFINE_FINAL_TYPE(AdmScanController, adm_scan_controller, G_TYPE_OBJECT)

enum {
    SIG_VERDICT,
    SIG_STATUS,
    SIG_PREVIEW,
    SIG_SEARCH,
    SIG_ENROLLED,
    SIG_NOTICE,
    SIG_KIOSK,
    SIG_UNLOCK,
    N_SIGNALS
};
static guint signals[N_SIGNALS];

/* ---- small helpers ---- */

static void set_str(char **field, const char *value)
{
    if (g_strcmp0(*field, value) == 0)
        return;
    g_free(*field);
    *field = g_strdup(value != NULL ? value : "");
}

static void save_settings(AdmScanController *self)
{
    g_autoptr(GError) err = NULL;

    if (self->settings_path == NULL)
        return;
    if (!adm_scan_settings_save(self->stored, self->settings_path, &err))
        g_warning("cannot save the settings: %s", err->message);
}

/* Runs fn(self, data) on the UI context unless the controller stopped; the
 * delivery holds a reference on self; free_fn frees data in every case. */
typedef struct delivery {
    AdmScanController *self;
    void (*fn)(AdmScanController *self, gpointer data);
    gpointer data;
    GDestroyNotify free_fn;
} delivery_t;

static gboolean delivery_run(gpointer p)
{
    delivery_t *d = p;

    if (!g_atomic_int_get(&d->self->stopping))
        d->fn(d->self, d->data);
    return G_SOURCE_REMOVE;
}

static void delivery_free(gpointer p)
{
    delivery_t *d = p;

    if (d->free_fn != NULL && d->data != NULL)
        d->free_fn(d->data);
    g_object_unref(d->self);
    g_free(d);
}

static void deliver(AdmScanController *self, void (*fn)(AdmScanController *, gpointer),
                    gpointer data, GDestroyNotify free_fn)
{
    delivery_t *d = g_new0(delivery_t, 1);

    d->self = g_object_ref(self);
    d->fn = fn;
    d->data = data;
    d->free_fn = free_fn;
    adm_scan_post(self->ctx, G_PRIORITY_DEFAULT, delivery_run, d, delivery_free);
}

/* ---- the scan worker ---- */

typedef enum job_kind { JOB_SCAN, JOB_REFRESH, JOB_LOOKUP, JOB_QUIT } job_kind_t;

/* A one-shot completion a thread can wait on (the camera's decode thread). */
typedef struct completion {
    gint refs;
    GMutex m;
    GCond c;
    gboolean done;
} completion_t;

static completion_t *completion_new(void)
{
    completion_t *c = g_new0(completion_t, 1);
    c->refs = 1;
    g_mutex_init(&c->m);
    g_cond_init(&c->c);
    return c;
}

static void completion_unref(completion_t *c)
{
    if (c == NULL || !g_atomic_int_dec_and_test(&c->refs))
        return;
    g_mutex_clear(&c->m);
    g_cond_clear(&c->c);
    g_free(c);
}

static void completion_done(completion_t *c)
{
    if (c == NULL)
        return;
    g_mutex_lock(&c->m);
    c->done = TRUE;
    g_cond_broadcast(&c->c);
    g_mutex_unlock(&c->m);
}

typedef struct job {
    job_kind_t kind;
    char *text;
    size_t len;
    adm_scan_input_t input;
    uint32_t list_id; /* requested context: 0 / NULL = automatic */
    char *gate;
    adm_direction_t dir;
    uint64_t ticket_id;
    completion_t *done; /* signalled when the job has run (may be NULL) */
} job_t;

static void job_free(job_t *j)
{
    if (j == NULL)
        return;
    if (j->text != NULL)
        memset(j->text, 0, j->len); /* an enrollment URI may pass through */
    g_free(j->text);
    g_free(j->gate);
    completion_done(j->done);
    completion_unref(j->done);
    g_free(j);
}

/* What a refresh found (worker → UI). */
typedef struct refresh {
    gboolean store_ok;
    char *store_error;
    gboolean enrolled;
    char *device, *server, *enrolled_gate;
    uint32_t event_id;
    int64_t last_pull, pending, admitted, refused;
    GPtrArray *lists;
    char *gate;
    uint32_t list_id;
    char *list_name;
} refresh_t;

static void refresh_free(gpointer p)
{
    refresh_t *r = p;

    g_free(r->store_error);
    g_free(r->device);
    g_free(r->server);
    g_free(r->enrolled_gate);
    g_free(r->gate);
    g_free(r->list_name);
    if (r->lists != NULL)
        g_ptr_array_unref(r->lists);
    g_free(r);
}

typedef struct worker {
    AdmScanController *self; /* borrowed: stop() joins the worker */
    adm_gate_t *g;
    char *db_path;
    char *open_error;
} worker_t;

/* Resolves the scanning context: the requested gate or the enrolled one (or
 * "Gate"), the requested list or the first that fits the gate. */
static void resolve(worker_t *w, uint32_t req_list, const char *req_gate, GPtrArray *lists,
                    char **gate, uint32_t *list_id, char **list_name)
{
    adm_gate_sync_conf_t conf;
    g_autoptr(GPtrArray) own = NULL;

    if (req_gate != NULL && req_gate[0] != '\0') {
        *gate = g_strdup(req_gate);
    } else if (adm_gate_sync_conf_get(w->g, &conf) == ADM_OK && conf.gate[0] != '\0') {
        *gate = g_strdup(conf.gate);
    } else {
        *gate = g_strdup("Gate");
    }
    adm_gate_sync_conf_wipe(&conf);
    if (lists == NULL)
        lists = own = adm_scan_lookup_lists(w->g);
    *list_id = req_list != 0 ? req_list : adm_scan_lookup_pick_list(lists, *gate);
    *list_name = NULL;
    for (guint i = 0; i < lists->len; i++) {
        adm_scan_list_t *li = g_ptr_array_index(lists, i);
        if (li->id == *list_id)
            *list_name = g_strdup(li->name);
    }
    if (*list_name == NULL)
        *list_name = g_strdup(*list_id != 0 ? "(unknown list)" : "(no list)");
}

static void on_verdict(AdmScanController *self, gpointer data)
{
    adm_scan_verdict_t *v = data;

    if (v->klass == ADM_SCAN_CLASS_ADMIT ||
        (v->klass == ADM_SCAN_CLASS_ATTENTION && strcmp(v->verdict, "accept") == 0))
        self->status.admitted++;
    else if (strcmp(v->verdict, "error") != 0)
        self->status.refused++;
    g_signal_emit(self, signals[SIG_VERDICT], 0, v);
}

static void on_refresh(AdmScanController *self, gpointer data);
static void on_search_local(AdmScanController *self, gpointer data);

static void worker_scan(worker_t *w, job_t *j)
{
    AdmScanController *self = w->self;
    adm_gate_result_t res;
    adm_gate_ctx_t ctx;
    g_autofree char *gate = NULL, *list_name = NULL, *type_name = NULL;
    uint32_t list_id = 0;
    adm_scan_verdict_t *v;
    adm_err_t e;

    if (self->test_scan_delay_ms > 0)
        g_usleep((gulong)self->test_scan_delay_ms * 1000);
    memset(&res, 0, sizeof res);
    if (w->g == NULL) {
        v = adm_scan_verdict_new_error(ADM_ERR_STORE, j->dir);
        goto deliver;
    }
    resolve(w, j->list_id, j->gate, NULL, &gate, &list_id, &list_name);
    ctx.list_id = list_id;
    ctx.gate = gate;
    ctx.direction = j->dir;
    e = adm_gate_scan(w->g, j->text, j->len, (int64_t)time(NULL), &ctx, &res);
    if (e != ADM_OK) {
        v = adm_scan_verdict_new_error(
            list_id == 0 && e == ADM_ERR_INVALID_ARG ? ADM_ERR_NOT_FOUND : e, j->dir);
        goto deliver;
    }
    g_mutex_lock(&self->syncer_lock);
    if (self->syncer != NULL)
        adm_syncer_notify(self->syncer);
    g_mutex_unlock(&self->syncer_lock);
    if (res.parsed && res.verified)
        type_name = adm_scan_lookup_type_name(w->g, res.ticket.type_id);
    v = adm_scan_verdict_new(&res, j->dir, type_name, (int64_t)time(NULL));
deliver:
    v->input = j->input;
    deliver(self, on_verdict, v, (GDestroyNotify)adm_scan_verdict_free);
}

static void worker_refresh(worker_t *w, job_t *j)
{
    refresh_t *r = g_new0(refresh_t, 1);
    json_t *st = NULL;
    adm_gate_sync_conf_t conf;

    r->store_ok = w->g != NULL;
    r->store_error = g_strdup(w->open_error != NULL ? w->open_error : "");
    if (w->g == NULL)
        goto out;
    r->device = g_strdup(adm_gate_device_id(w->g));
    r->event_id = adm_gate_event_id(w->g);
    if (adm_gate_sync_conf_get(w->g, &conf) == ADM_OK) {
        r->enrolled = TRUE;
        r->server = g_strdup(conf.server);
        r->enrolled_gate = g_strdup(conf.gate);
    }
    adm_gate_sync_conf_wipe(&conf);
    if (adm_gate_status_json(w->g, &st) == ADM_OK) {
        json_t *journal = json_object_get(st, "journal");
        json_int_t total = json_integer_value(json_object_get(journal, "total"));
        json_int_t accept = json_integer_value(json_object_get(journal, "accept"));
        r->last_pull = json_integer_value(json_object_get(st, "last_pull"));
        r->pending = json_integer_value(json_object_get(st, "pending_uploads"));
        r->admitted = accept;
        r->refused = total - accept;
        json_decref(st);
    }
    r->lists = adm_scan_lookup_lists(w->g);
    resolve(w, j->list_id, j->gate, r->lists, &r->gate, &r->list_id, &r->list_name);
out:
    deliver(w->self, on_refresh, r, refresh_free);
}

typedef struct search_res {
    char *title, *body;
    gboolean ask_server;
    uint64_t ticket_id;
} search_res_t;

static void search_res_free(gpointer p)
{
    search_res_t *s = p;
    g_free(s->title);
    g_free(s->body);
    g_free(s);
}

static void worker_lookup(worker_t *w, job_t *j)
{
    search_res_t *s = g_new0(search_res_t, 1);

    s->ticket_id = j->ticket_id;
    s->title = g_strdup_printf("Ticket %" G_GUINT64_FORMAT, j->ticket_id);
    if (w->g == NULL)
        s->body = g_strdup("The gate store is not open.");
    else
        s->body = adm_scan_lookup_ticket(w->g, j->ticket_id, (int64_t)time(NULL));
    s->ask_server = TRUE;
    deliver(w->self, on_search_local, s, search_res_free);
}

static gpointer worker_main(gpointer p)
{
    worker_t *w = p;
    adm_err_t e;

    if ((e = adm_gate_open(w->db_path, &w->g)) != ADM_OK) {
        w->open_error =
            g_strdup_printf("cannot open the gate store %s: %s", w->db_path, adm_strerror(e));
        w->g = NULL;
    }
    for (;;) {
        job_t *j = g_async_queue_pop(w->self->jobs);
        job_kind_t kind = j->kind;

        if (kind == JOB_SCAN)
            worker_scan(w, j);
        else if (kind == JOB_REFRESH)
            worker_refresh(w, j);
        else if (kind == JOB_LOOKUP)
            worker_lookup(w, j);
        job_free(j);
        if (kind == JOB_QUIT)
            break;
    }
    adm_gate_close(w->g);
    g_free(w->open_error);
    g_free(w->db_path);
    g_free(w);
    return NULL;
}

static job_t *job_new(AdmScanController *self, job_kind_t kind)
{
    job_t *j = g_new0(job_t, 1);

    j->kind = kind;
    j->list_id = self->settings->list_id;
    j->gate = g_strdup(self->settings->gate);
    j->dir = self->settings->exit_mode ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY;
    return j;
}

static void push_job(AdmScanController *self, job_t *j)
{
    if (self->worker == NULL || self->stopped) {
        job_free(j);
        return;
    }
    g_async_queue_push(self->jobs, j);
}

static void request_refresh(AdmScanController *self)
{
    push_job(self, job_new(self, JOB_REFRESH));
}

/* ---- syncer ---- */

static void syncer_started(GObject *src, GAsyncResult *res, gpointer ud)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(src);
    adm_syncer_t *s = g_task_propagate_pointer(G_TASK(res), NULL);

    self->syncer_starting = FALSE;
    if (s == NULL)
        return;
    if (self->stopped) {
        adm_syncer_stop(s);
        return;
    }
    g_mutex_lock(&self->syncer_lock);
    if (self->syncer == NULL) {
        self->syncer = s;
        s = NULL;
    }
    g_mutex_unlock(&self->syncer_lock);
    adm_syncer_stop(s);
}

static void syncer_start_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    const char *db = data;
    adm_syncer_t *s = NULL;

    if (adm_syncer_start(db, NULL, &s) != ADM_OK)
        s = NULL; /* not enrolled (or cannot start): the status says so */
    g_task_return_pointer(task, s, (GDestroyNotify)adm_syncer_stop);
}

static void start_syncer(AdmScanController *self)
{
    GTask *task;

    if (self->syncer != NULL || self->syncer_starting || self->stopped)
        return;
    self->syncer_starting = TRUE;
    task = g_task_new(self, NULL, syncer_started, NULL);
    g_task_set_task_data(task, g_strdup(self->settings->db_path), g_free);
    g_task_run_in_thread(task, syncer_start_thread);
    g_object_unref(task);
}

/* ---- status ---- */

static void emit_status(AdmScanController *self)
{
    g_signal_emit(self, signals[SIG_STATUS], 0);
}

static void on_refresh(AdmScanController *self, gpointer data)
{
    refresh_t *r = data;
    adm_scan_status_t *st = &self->status;
    gboolean lists_changed = FALSE;

    st->store_ok = r->store_ok;
    set_str(&st->store_error, r->store_error);
    if (r->store_ok) {
        st->enrolled = r->enrolled;
        set_str(&st->device, r->device);
        set_str(&st->server, r->server);
        st->event_id = r->event_id;
        st->last_pull = r->last_pull;
        st->admitted = r->admitted;
        st->refused = r->refused;
        set_str(&st->gate, r->gate);
        st->list_id = r->list_id;
        set_str(&st->list_name, r->list_name);
        if (self->syncer == NULL)
            st->pending = r->pending;
        lists_changed = st->lists == NULL || st->lists->len != r->lists->len;
        for (guint i = 0; !lists_changed && i < r->lists->len; i++) {
            adm_scan_list_t *a = g_ptr_array_index(st->lists, i);
            adm_scan_list_t *b = g_ptr_array_index(r->lists, i);
            lists_changed =
                a->id != b->id || strcmp(a->name, b->name) != 0 ||
                !g_strv_equal((const char *const *)a->gates, (const char *const *)b->gates);
        }
        if (lists_changed) {
            if (st->lists != NULL)
                g_ptr_array_unref(st->lists);
            st->lists = g_ptr_array_ref(r->lists);
            st->lists_serial++;
        }
        if (r->enrolled)
            start_syncer(self);
    }
    if (!self->store_seen) {
        /* other handles open the store only once the worker has created it:
         * two first opens of a new file at once would race on its migrations */
        self->store_seen = TRUE;
        if (self->pending_enroll != NULL) {
            g_autofree char *uri = g_steal_pointer(&self->pending_enroll);
            adm_scan_controller_enroll(self, uri);
            memset(uri, 0, strlen(uri));
        }
    }
    st->exit_mode = self->settings->exit_mode;
    emit_status(self);
}

static void poll_syncer(AdmScanController *self)
{
    adm_scan_status_t *st = &self->status;
    adm_syncer_status_t ss;
    const char *fatal;

    if (self->syncer == NULL) {
        st->syncing = FALSE;
        st->online = FALSE;
        return;
    }
    adm_syncer_status(self->syncer, &ss);
    st->syncing = ss.running;
    st->online = ss.running && ss.online;
    st->last_sync = ss.last_sync;
    st->pending = ss.pending;
    fatal = ss.fatal != ADM_OK ? adm_syncer_fatal_message(ss.fatal) : NULL;
    set_str(&st->sync_error, fatal != NULL ? fatal : ss.last_error);
}

static gboolean on_tick(gpointer p)
{
    AdmScanController *self = p;

    poll_syncer(self);
    if (self->ticks++ % REFRESH_EVERY == 0)
        request_refresh(self);
    else
        emit_status(self);
    return G_SOURCE_CONTINUE;
}

/* ---- camera ---- */

static void enroll_from_camera(AdmScanController *self, gpointer uri)
{
    adm_scan_controller_enroll(self, uri);
}

static void on_camera_text(void *ud, const char *text, size_t len)
{
    AdmScanController *self = ud;
    completion_t *done;
    job_t *j;

    /* decode thread: enrollment codes while armed go to the UI thread */
    if (g_atomic_int_get(&self->enroll_armed) && len > strlen(ENROLL_PREFIX) &&
        strncmp(text, ENROLL_PREFIX, strlen(ENROLL_PREFIX)) == 0) {
        deliver(self, enroll_from_camera, g_strndup(text, len), g_free);
        return;
    }
    done = completion_new();
    j = g_new0(job_t, 1);
    j->kind = JOB_SCAN;
    j->text = g_strndup(text, len);
    j->len = len;
    j->input = ADM_SCAN_INPUT_CAMERA;
    j->done = done;
    g_atomic_int_inc(&done->refs);
    /* the context is the UI thread's: read it under the queue's lock */
    g_async_queue_lock(self->jobs);
    j->list_id = self->settings->list_id;
    j->gate = g_strdup(self->settings->gate);
    j->dir = self->settings->exit_mode ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY;
    g_async_queue_push_unlocked(self->jobs, j);
    g_async_queue_unlock(self->jobs);
    /* wait for the scan: frames that arrive meanwhile are dropped */
    g_mutex_lock(&done->m);
    while (!done->done)
        g_cond_wait(&done->c, &done->m);
    g_mutex_unlock(&done->m);
    completion_unref(done);
}

static void on_camera_preview(void *ud, GBytes *pixels, int w, int h)
{
    AdmScanController *self = ud;

    g_signal_emit(self, signals[SIG_PREVIEW], 0, pixels, w, h);
}

static void on_camera_state(void *ud, gboolean running, const char *message)
{
    AdmScanController *self = ud;

    self->status.camera_running = running;
    set_str(&self->status.camera, message);
    emit_status(self);
}

static void start_camera(AdmScanController *self)
{
    adm_scan_camera_cbs_t cbs = {
        .text = on_camera_text,
        .preview = on_camera_preview,
        .state = on_camera_state,
        .ud = self,
    };

    adm_scan_camera_stop(self->camera);
    self->camera = NULL;
    self->status.camera_running = FALSE;
    set_str(&self->status.camera, "");
    if (self->settings->camera == NULL || self->settings->camera[0] == '\0' || self->stopped)
        return;
    self->camera =
        adm_scan_camera_start(self->settings->camera, self->settings->repeat_ms, self->ctx, &cbs);
    set_str(&self->status.camera, self->camera != NULL ? "starting camera…" : "bad camera spec");
}

/* ---- life cycle ---- */

AdmScanController *adm_scan_controller_new(adm_scan_settings_t *settings, const char *settings_path)
{
    AdmScanController *self = g_object_new(ADM_TYPE_SCAN_CONTROLLER, NULL);

    adm_scan_settings_free(self->settings);
    self->settings = settings;
    self->stored = adm_scan_settings_copy(settings);
    self->settings_path = g_strdup(settings_path);
    self->kiosk = settings->kiosk;
    self->status.exit_mode = settings->exit_mode;
    return self;
}

void adm_scan_controller_override(AdmScanController *self, const adm_scan_settings_t *effective)
{
    g_return_if_fail(!self->started);
    adm_scan_settings_free(self->settings);
    self->settings = adm_scan_settings_copy(effective);
    self->kiosk = self->settings->kiosk;
    self->status.exit_mode = self->settings->exit_mode;
}

void adm_scan_controller_set_insecure_http(AdmScanController *self, gboolean allow)
{
    self->insecure_http = allow;
}

void adm_scan_controller_start(AdmScanController *self)
{
    worker_t *w;
    g_autofree char *dir = NULL;

    g_return_if_fail(!self->started);
    self->started = TRUE;
    dir = g_path_get_dirname(self->settings->db_path);
    if (g_mkdir_with_parents(dir, 0700) != 0)
        g_warning("cannot create %s: %s", dir, g_strerror(errno));
    w = g_new0(worker_t, 1);
    w->self = self; /* no reference: stop() joins the worker before finalize */
    w->db_path = g_strdup(self->settings->db_path);
    self->worker = g_thread_new("adm-scan", worker_main, w);
    request_refresh(self);
    start_camera(self);
    self->tick_source = g_timeout_add(STATUS_PERIOD_MS, on_tick, self);
}

void adm_scan_controller_stop(AdmScanController *self)
{
    adm_syncer_t *s;

    if (!self->started || self->stopped)
        return;
    self->stopped = TRUE;
    g_atomic_int_set(&self->stopping, 1);
    if (self->tick_source != 0)
        g_source_remove(self->tick_source);
    self->tick_source = 0;
    /* the camera first: its decode thread may wait on a scan job */
    adm_scan_camera_stop(self->camera);
    self->camera = NULL;
    {
        job_t *quit = g_new0(job_t, 1);
        quit->kind = JOB_QUIT;
        g_async_queue_push(self->jobs, quit);
    }
    g_thread_join(self->worker);
    self->worker = NULL;
    g_mutex_lock(&self->syncer_lock);
    s = self->syncer;
    self->syncer = NULL;
    g_mutex_unlock(&self->syncer_lock);
    adm_syncer_stop(s);
}

static void adm_scan_controller_dispose(GObject *obj)
{
    adm_scan_controller_stop(ADM_SCAN_CONTROLLER(obj));
    G_OBJECT_CLASS(adm_scan_controller_parent_class)->dispose(obj);
}

static void adm_scan_controller_finalize(GObject *obj)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(obj);
    adm_scan_status_t *st = &self->status;
    job_t *j;

    while ((j = g_async_queue_try_pop(self->jobs)) != NULL)
        job_free(j);
    g_async_queue_unref(self->jobs);
    g_mutex_clear(&self->syncer_lock);
    adm_scan_settings_free(self->settings);
    adm_scan_settings_free(self->stored);
    g_free(self->settings_path);
    g_free(self->pending_enroll);
    g_free(st->store_error);
    g_free(st->device);
    g_free(st->server);
    g_free(st->sync_error);
    g_free(st->gate);
    g_free(st->list_name);
    g_free(st->camera);
    if (st->lists != NULL)
        g_ptr_array_unref(st->lists);
    g_main_context_unref(self->ctx);
    G_OBJECT_CLASS(adm_scan_controller_parent_class)->finalize(obj);
}

static void adm_scan_controller_init(AdmScanController *self)
{
    self->ctx = g_main_context_ref_thread_default();
    self->settings = adm_scan_settings_new();
    self->jobs = g_async_queue_new();
    g_mutex_init(&self->syncer_lock);
    self->status.store_ok = TRUE; /* until the worker says otherwise */
    self->status.device = g_strdup("");
    self->status.server = g_strdup("");
    self->status.store_error = g_strdup("");
    self->status.sync_error = g_strdup("");
    self->status.gate = g_strdup("");
    self->status.list_name = g_strdup("");
    self->status.camera = g_strdup("");
}

static void adm_scan_controller_class_init(AdmScanControllerClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);

    oc->dispose = adm_scan_controller_dispose;
    oc->finalize = adm_scan_controller_finalize;
    /* verdict (adm_scan_verdict_t *, valid during the emission) */
    signals[SIG_VERDICT] = g_signal_new("verdict", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
    signals[SIG_STATUS] = g_signal_new("status-changed", G_TYPE_FROM_CLASS(klass),
                                       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
    /* preview (grey pixels, width, height) */
    signals[SIG_PREVIEW] =
        g_signal_new("preview", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                     G_TYPE_NONE, 3, G_TYPE_BYTES, G_TYPE_INT, G_TYPE_INT);
    /* search-result (title, body) */
    signals[SIG_SEARCH] =
        g_signal_new("search-result", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
    /* enrolled (ok, message) */
    signals[SIG_ENROLLED] =
        g_signal_new("enrolled", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                     G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
    /* notice (message for people) */
    signals[SIG_NOTICE] = g_signal_new("notice", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
    /* kiosk-changed (on) */
    signals[SIG_KIOSK] = g_signal_new("kiosk-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
    /* unlock-result (ok) */
    signals[SIG_UNLOCK] = g_signal_new("unlock-result", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

/* ---- scanning ---- */

void adm_scan_controller_submit(AdmScanController *self, const char *text, adm_scan_input_t input)
{
    job_t *j;
    size_t len;

    g_return_if_fail(text != NULL);
    len = strlen(text);
    {
        g_autofree char *t = g_strstrip(g_strdup(text));
        if (g_str_has_prefix(t, ENROLL_PREFIX) &&
            (g_atomic_int_get(&self->enroll_armed) ||
             (!self->status.enrolled && !g_atomic_int_get(&self->kiosk)))) {
            adm_scan_controller_enroll(self, t);
            return;
        }
    }
    j = job_new(self, JOB_SCAN);
    j->text = g_strndup(text, len);
    j->len = len;
    j->input = input;
    push_job(self, j);
}

/* ---- search ---- */

typedef struct online_search {
    char *db;
    char *path; /* /v1/sync/lookup?… */
    char *title;
    char *prefix; /* the local answer, shown above the server's */
} online_search_t;

static void online_search_free(gpointer p)
{
    online_search_t *o = p;
    g_free(o->db);
    g_free(o->path);
    g_free(o->title);
    g_free(o->prefix);
    g_free(o);
}

/* one line per scalar member of obj, nested objects flattened as a.b */
static void describe_json(GString *s, const char *prefix, json_t *v, int depth)
{
    const char *key;
    json_t *m;
    size_t i;

    if (depth > 4)
        return;
    if (json_is_object(v)) {
        json_object_foreach(v, key, m)
        {
            g_autofree char *p = prefix[0] ? g_strdup_printf("%s.%s", prefix, key) : g_strdup(key);
            describe_json(s, p, m, depth + 1);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            if (json_is_object(m) || json_is_array(m)) {
                g_string_append_printf(s, "%s[%zu]:\n", prefix, i + 1);
                describe_json(s, "  ", m, depth + 1);
            } else {
                g_autofree char *p = g_strdup_printf("%s[%zu]", prefix, i + 1);
                describe_json(s, p, m, depth + 1);
            }
        }
    } else {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        g_string_append_printf(s, "%s: %s\n", prefix, t != NULL ? t : "?");
        free(t);
    }
}

/* A reply of GET /v1/sync/lookup (docs/sync.md §2b) for people. */
static void describe_lookup(GString *s, json_t *reply)
{
    json_t *order = json_object_get(reply, "order"), *t, *c;
    int64_t now = (int64_t)time(NULL);
    size_t i, k;

    g_string_append(s, "From the server:\n");
    if (json_is_object(order))
        g_string_append_printf(s, "Order %s: %s\n",
                               json_string_value(json_object_get(order, "code")) ?: "?",
                               json_string_value(json_object_get(order, "state")) ?: "?");
    if (json_array_size(json_object_get(reply, "tickets")) == 0)
        g_string_append(s, "No tickets of this event.\n");
    json_array_foreach(json_object_get(reply, "tickets"), i, t)
    {
        const char *status = json_string_value(json_object_get(t, "status"));
        const char *type = json_string_value(json_object_get(t, "type_name"));
        g_string_append_printf(s, "Ticket %" JSON_INTEGER_FORMAT " · %s · %s\n",
                               json_integer_value(json_object_get(t, "id")), type ? type : "?",
                               g_strcmp0(status, "revoked") == 0 ? "REVOKED"
                                                                 : (status ? status : "?"));
        if (json_array_size(json_object_get(t, "checkins")) == 0)
            g_string_append(s, "    never checked in\n");
        json_array_foreach(json_object_get(t, "checkins"), k, c)
        {
            g_autofree char *when =
                adm_scan_format_time(json_integer_value(json_object_get(c, "at")), now);
            const char *dir = json_string_value(json_object_get(c, "direction"));
            g_string_append_printf(s, "    %s %s at %s (device %s)%s\n",
                                   g_strcmp0(dir, "exit") == 0 ? "Exit" : "Entry", when,
                                   json_string_value(json_object_get(c, "gate")) ?: "?",
                                   json_string_value(json_object_get(c, "device")) ?: "?",
                                   json_is_true(json_object_get(c, "conflict")) ? ", CONFLICT"
                                                                                : "");
        }
    }
}

static void online_search_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    online_search_t *o = data;
    GString *s = g_string_new(o->prefix);
    adm_gate_t *g = NULL;
    adm_sync_client_t *client = NULL;
    json_t *reply = NULL;
    adm_err_t e;

    if (s->len > 0)
        g_string_append(s, "\n");
    if (adm_gate_open(o->db, &g) != ADM_OK ||
        (e = adm_syncer_client_new(g, &client)) == ADM_ERR_NOT_FOUND) {
        g_string_append(s, "Search by order needs the server: this device is not enrolled.");
        goto out;
    } else if (e != ADM_OK) {
        g_string_append_printf(s, "Search needs the server: %s", adm_strerror(e));
        goto out;
    }
    e = adm_sync_request(client, "GET", o->path, NULL, 0, &reply);
    if (e == ADM_OK && json_is_array(json_object_get(reply, "tickets"))) {
        describe_lookup(s, reply);
    } else if (e == ADM_OK) {
        g_string_append(s, "From the server:\n");
        describe_json(s, "", reply, 0);
    } else if (e == ADM_ERR_HTTP_STATUS && adm_sync_client_status(client) == 404) {
        g_string_append_printf(s, "The server found nothing (%s).", adm_sync_client_error(client));
    } else {
        g_string_append_printf(s, "Search needs the server (offline: %s%s%s).", adm_strerror(e),
                               adm_sync_client_error(client)[0] ? ": " : "",
                               adm_sync_client_error(client));
    }
out:
    json_decref(reply);
    adm_sync_client_free(client);
    adm_gate_close(g);
    g_task_return_pointer(task, g_string_free(s, FALSE), g_free);
}

static void online_search_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(src);
    online_search_t *o = g_task_get_task_data(G_TASK(res));
    g_autofree char *body = g_task_propagate_pointer(G_TASK(res), NULL);

    if (!self->stopped && body != NULL)
        g_signal_emit(self, signals[SIG_SEARCH], 0, o->title, body);
}

static void search_online(AdmScanController *self, const char *title, const char *query_path,
                          const char *prefix)
{
    online_search_t *o = g_new0(online_search_t, 1);
    GTask *task = g_task_new(self, NULL, online_search_done, NULL);

    o->db = g_strdup(self->settings->db_path);
    o->path = g_strdup(query_path);
    o->title = g_strdup(title);
    o->prefix = g_strdup(prefix != NULL ? prefix : "");
    g_task_set_task_data(task, o, online_search_free);
    g_task_run_in_thread(task, online_search_thread);
    g_object_unref(task);
}

static void on_search_local(AdmScanController *self, gpointer data)
{
    search_res_t *s = data;
    g_autofree char *path = NULL;

    g_signal_emit(self, signals[SIG_SEARCH], 0, s->title, s->body);
    if (s->ask_server && self->status.enrolled) {
        path = g_strdup_printf("/v1/sync/lookup?ticket=%" G_GUINT64_FORMAT, s->ticket_id);
        search_online(self, s->title, path, s->body);
    }
}

void adm_scan_controller_search(AdmScanController *self, const char *query)
{
    g_autofree char *q = g_strstrip(g_strdup(query != NULL ? query : ""));
    guint64 id = 0;

    if (q[0] == '\0' || strlen(q) > SEARCH_MAX) {
        g_signal_emit(self, signals[SIG_SEARCH], 0, "Search",
                      "Type a ticket number or an order code.");
        return;
    }
    if (g_ascii_string_to_unsigned(q, 10, 1, G_MAXUINT64, &id, NULL)) {
        job_t *j = job_new(self, JOB_LOOKUP);
        j->ticket_id = id;
        push_job(self, j);
        return;
    }
    for (const char *p = q; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_') {
            g_signal_emit(self, signals[SIG_SEARCH], 0, "Search",
                          "An order code has only letters, digits, '-' and '_'.");
            return;
        }
    }
    {
        g_autofree char *title = g_strdup_printf("Order %s", q);
        g_autofree char *path = g_strdup_printf("/v1/sync/lookup?order=%s", q);
        if (!self->status.enrolled) {
            g_signal_emit(self, signals[SIG_SEARCH], 0, title,
                          "Search by order needs the server: this device is not enrolled.");
            return;
        }
        g_signal_emit(self, signals[SIG_SEARCH], 0, title, "Asking the server…");
        search_online(self, title, path, NULL);
    }
}

/* ---- enrollment and sync now ---- */

typedef struct enroll_req {
    char *db;
    char *uri;
    gboolean insecure;
    char *name;
} enroll_req_t;

static void enroll_req_free(gpointer p)
{
    enroll_req_t *r = p;

    if (r->uri != NULL)
        memset(r->uri, 0, strlen(r->uri));
    g_free(r->uri);
    g_free(r->db);
    g_free(r->name);
    g_free(r);
}

static void enroll_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    enroll_req_t *r = data;
    adm_gate_enroll_opts_t opts = {.name = r->name, .allow_http = r->insecure};
    adm_gate_enroll_result_t en;
    char why[ADM_GATE_ENROLL_WHY_MAX];
    adm_gate_t *g = NULL;
    adm_err_t e;

    if ((e = adm_gate_open(r->db, &g)) != ADM_OK)
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
                                "Cannot open the gate store %s: %s", r->db, adm_strerror(e));
    else if (adm_gate_enroll(g, r->uri, &opts, &en, why, sizeof why) != ADM_OK)
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", why);
    else if (en.sync_err != ADM_OK)
        g_task_return_pointer(task, g_strconcat(why, " It will be retried.", NULL), g_free);
    else
        g_task_return_pointer(task, g_strdup(why), g_free);
    adm_gate_close(g);
}

static void enroll_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(src);
    g_autoptr(GError) err = NULL;
    g_autofree char *msg = g_task_propagate_pointer(G_TASK(res), &err);

    self->enrolling = FALSE;
    if (self->stopped)
        return;
    if (msg != NULL) {
        /* a new enrollment: a new syncer with the new credentials */
        adm_syncer_t *s;
        g_mutex_lock(&self->syncer_lock);
        s = self->syncer;
        self->syncer = NULL;
        g_mutex_unlock(&self->syncer_lock);
        adm_syncer_stop(s);
        self->status.enrolled = TRUE;
        start_syncer(self);
        request_refresh(self);
    }
    g_signal_emit(self, signals[SIG_ENROLLED], 0, msg != NULL, msg != NULL ? msg : err->message);
}

void adm_scan_controller_enroll(AdmScanController *self, const char *uri)
{
    enroll_req_t *r;
    GTask *task;

    if (self->enrolling || self->stopped)
        return;
    if (!self->store_seen) {
        g_free(self->pending_enroll);
        self->pending_enroll = g_strdup(uri);
        return;
    }
    if (g_atomic_int_get(&self->kiosk)) {
        g_signal_emit(self, signals[SIG_ENROLLED], 0, FALSE,
                      "Leave kiosk mode (organiser PIN) before enrolling.");
        return;
    }
    self->enrolling = TRUE;
    r = g_new0(enroll_req_t, 1);
    r->db = g_strdup(self->settings->db_path);
    r->uri = g_strstrip(g_strdup(uri));
    r->insecure = self->insecure_http;
    r->name = g_strdup_printf("admit-scan on %s", g_get_host_name());
    task = g_task_new(self, NULL, enroll_done, NULL);
    g_task_set_task_data(task, r, enroll_req_free);
    g_task_run_in_thread(task, enroll_thread);
    g_object_unref(task);
}

void adm_scan_controller_arm_enrollment(AdmScanController *self, gboolean armed)
{
    g_atomic_int_set(&self->enroll_armed, armed ? 1 : 0);
}

static void sync_now_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    const char *db = data;
    adm_gate_t *g = NULL;
    adm_sync_client_t *client = NULL;
    adm_syncer_round_t round = {0};
    char *msg;
    adm_err_t e;

    if ((e = adm_gate_open(db, &g)) != ADM_OK)
        msg = g_strdup_printf("Sync failed: cannot open the store: %s", adm_strerror(e));
    else if ((e = adm_syncer_client_new(g, &client)) != ADM_OK)
        msg = g_strdup(e == ADM_ERR_NOT_FOUND ? "Not enrolled: enroll this device first."
                                              : adm_strerror(e));
    else if ((e = adm_syncer_round(g, client, &round)) != ADM_OK)
        msg = g_strdup_printf("Sync failed: %s%s%s", adm_strerror(e),
                              adm_sync_client_error(client)[0] ? ": " : "",
                              adm_sync_client_error(client));
    else
        msg = g_strdup_printf("Synced: %zu scans uploaded, %zu pages, %zu new check-ins, %zu "
                              "new revocations.",
                              round.pushed, round.pages, round.checkins, round.revocations);
    adm_sync_client_free(client);
    adm_gate_close(g);
    g_task_return_pointer(task, msg, g_free);
}

static void sync_now_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(src);
    g_autofree char *msg = g_task_propagate_pointer(G_TASK(res), NULL);

    if (self->stopped || msg == NULL)
        return;
    request_refresh(self);
    g_signal_emit(self, signals[SIG_NOTICE], 0, msg);
}

void adm_scan_controller_sync_now(AdmScanController *self)
{
    GTask *task = g_task_new(self, NULL, sync_now_done, NULL);

    g_task_set_task_data(task, g_strdup(self->settings->db_path), g_free);
    g_task_run_in_thread(task, sync_now_thread);
    g_object_unref(task);
}

/* ---- settings ---- */

void adm_scan_controller_set_context(AdmScanController *self, uint32_t list_id, const char *gate,
                                     gboolean exit_mode)
{
    g_async_queue_lock(self->jobs); /* the decode thread reads the context under this lock */
    self->settings->list_id = self->stored->list_id = list_id;
    g_free(self->settings->gate);
    g_free(self->stored->gate);
    /* typed by people: " North " is North, not a gate no list names */
    self->settings->gate = gate != NULL ? g_strstrip(g_strdup(gate)) : NULL;
    if (self->settings->gate != NULL && self->settings->gate[0] == '\0')
        g_clear_pointer(&self->settings->gate, g_free);
    self->stored->gate = g_strdup(self->settings->gate);
    self->settings->exit_mode = self->stored->exit_mode = exit_mode;
    g_async_queue_unlock(self->jobs);
    self->status.exit_mode = exit_mode;
    save_settings(self);
    request_refresh(self);
    emit_status(self);
}

void adm_scan_controller_set_muted(AdmScanController *self, gboolean muted)
{
    self->settings->muted = self->stored->muted = muted;
    save_settings(self);
}

void adm_scan_controller_set_delay(AdmScanController *self, guint delay_ms)
{
    self->settings->delay_ms = CLAMP(delay_ms, ADM_SCAN_DELAY_MS_MIN, ADM_SCAN_DELAY_MS_MAX);
    self->stored->delay_ms = self->settings->delay_ms;
    save_settings(self);
}

void adm_scan_controller_set_camera(AdmScanController *self, const char *spec)
{
    g_free(self->settings->camera);
    self->settings->camera = spec != NULL && spec[0] != '\0' ? g_strdup(spec) : NULL;
    g_free(self->stored->camera);
    self->stored->camera = g_strdup(self->settings->camera);
    save_settings(self);
    if (self->started)
        start_camera(self);
    emit_status(self);
}

/* ---- kiosk ---- */

gboolean adm_scan_controller_enter_kiosk(AdmScanController *self)
{
    if (self->settings->pin_hash == NULL)
        return FALSE;
    if (!self->settings->kiosk || !self->stored->kiosk) {
        self->settings->kiosk = self->stored->kiosk = TRUE;
        g_atomic_int_set(&self->kiosk, 1);
        adm_scan_controller_arm_enrollment(self, FALSE);
        save_settings(self);
        g_signal_emit(self, signals[SIG_KIOSK], 0, TRUE);
    }
    return TRUE;
}

typedef struct pin_req {
    char *hash;
    char *pin;
} pin_req_t;

static void pin_req_free(gpointer p)
{
    pin_req_t *r = p;

    if (r->pin != NULL)
        memset(r->pin, 0, strlen(r->pin));
    g_free(r->pin);
    g_free(r->hash);
    g_free(r);
}

static void unlock_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    pin_req_t *r = data;

    g_task_return_boolean(task, adm_scan_pin_check(r->hash, r->pin));
}

static void unlock_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(src);
    gboolean ok = g_task_propagate_boolean(G_TASK(res), NULL);

    if (self->stopped)
        return;
    if (ok && self->settings->kiosk) {
        self->settings->kiosk = self->stored->kiosk = FALSE;
        g_atomic_int_set(&self->kiosk, 0);
        save_settings(self);
    }
    g_signal_emit(self, signals[SIG_UNLOCK], 0, ok);
    if (ok)
        g_signal_emit(self, signals[SIG_KIOSK], 0, FALSE);
}

void adm_scan_controller_unlock(AdmScanController *self, const char *pin)
{
    pin_req_t *r = g_new0(pin_req_t, 1);
    GTask *task = g_task_new(self, NULL, unlock_done, NULL);

    r->hash = g_strdup(self->settings->pin_hash);
    r->pin = g_strdup(pin != NULL ? pin : "");
    g_task_set_task_data(task, r, pin_req_free);
    g_task_run_in_thread(task, unlock_thread);
    g_object_unref(task);
}

static void set_pin_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    pin_req_t *r = data;
    GError *err = NULL;
    char *hash = NULL;

    if (adm_scan_pin_hash(r->pin, &hash, &err))
        g_task_return_pointer(task, hash, g_free);
    else
        g_task_return_error(task, err);
}

static void set_pin_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    AdmScanController *self = ADM_SCAN_CONTROLLER(src);
    g_autoptr(GError) err = NULL;
    char *hash = g_task_propagate_pointer(G_TASK(res), &err);

    if (self->stopped) {
        g_free(hash);
        return;
    }
    if (hash == NULL) {
        g_autofree char *msg = g_strdup_printf("PIN not set: %s", err->message);
        g_signal_emit(self, signals[SIG_NOTICE], 0, msg);
        return;
    }
    g_free(self->settings->pin_hash);
    g_free(self->stored->pin_hash);
    self->settings->pin_hash = hash;
    self->stored->pin_hash = g_strdup(hash);
    save_settings(self);
    g_signal_emit(self, signals[SIG_NOTICE], 0, "Organiser PIN saved.");
}

void adm_scan_controller_set_pin(AdmScanController *self, const char *pin)
{
    pin_req_t *r;
    GTask *task;

    if (self->settings->kiosk) {
        g_signal_emit(self, signals[SIG_NOTICE], 0, "Leave kiosk mode before changing the PIN.");
        return;
    }
    r = g_new0(pin_req_t, 1);
    r->pin = g_strdup(pin != NULL ? pin : "");
    task = g_task_new(self, NULL, set_pin_done, NULL);
    g_task_set_task_data(task, r, pin_req_free);
    g_task_run_in_thread(task, set_pin_thread);
    g_object_unref(task);
}

/* ---- getters ---- */

const adm_scan_settings_t *adm_scan_controller_get_settings(AdmScanController *self)
{
    return self->settings;
}

const adm_scan_status_t *adm_scan_controller_get_status(AdmScanController *self)
{
    return &self->status;
}

gboolean adm_scan_controller_get_kiosk(AdmScanController *self)
{
    return self->settings->kiosk;
}

void adm_scan_controller_camera_stats(AdmScanController *self, adm_scan_camera_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (self->camera != NULL)
        adm_scan_camera_get_stats(self->camera, out);
}

void adm_scan_controller_set_scan_delay_for_test(AdmScanController *self, guint delay_ms)
{
    self->test_scan_delay_ms = delay_ms;
}
