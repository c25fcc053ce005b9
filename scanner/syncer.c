/* syncer.c: one-shot sync rounds and the background syncer (docs/scanning.md
 * §6): a feed thread that long-polls GET /v1/sync and applies each page, and
 * an upload thread woken by each scan, each with its own store handle and
 * HTTP client. Not the store logic (sync-apply.c, sync-queue.c) and not
 * HTTP (sync/client.c). */
#include "scanner/syncer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- one-shot rounds ---------------------------------------------------------- */

adm_err_t adm_syncer_client_new(adm_gate_t *g, adm_sync_client_t **out)
{
    adm_gate_sync_conf_t conf;
    adm_sync_opts_t o = {0};
    adm_err_t result;

    if (out != NULL)
        *out = NULL;
    if (g == NULL || out == NULL)
        return ADM_ERR_INVALID_ARG;
    if ((result = adm_gate_sync_conf_get(g, &conf)) != ADM_OK)
        return result;
    o.base_url = conf.server;
    o.device_id = conf.device_id;
    o.secret = conf.secret;
    o.ca_file = conf.ca_file[0] ? conf.ca_file : NULL;
    o.pin = conf.pin[0] ? conf.pin : NULL;
    o.allow_http = conf.allow_http;
    result = adm_sync_client_new(&o, out);
    adm_gate_sync_conf_wipe(&conf);
    return result;
}

/* Uploads one batch; *n gets its size (0: nothing was pending). */
static adm_err_t push_batch(adm_gate_t *g, adm_sync_client_t *c, size_t *n, size_t *conflicts,
                            const adm_syncer_opts_t *hooks)
{
    adm_err_t result;
    json_t *rows = NULL, *reply = NULL, *r;
    size_t i;

    *n = 0;
    *conflicts = 0;
    if ((result = adm_gate_upload_pending(g, ADM_SYNC_PUSH_MAX, &rows)) != ADM_OK ||
        json_array_size(rows) == 0)
        goto out;
    if ((result = adm_sync_push(c, rows, &reply)) != ADM_OK ||
        (result = adm_gate_upload_ack(g, reply, conflicts)) != ADM_OK)
        goto out;
    *n = json_array_size(rows);
    if (hooks != NULL && hooks->conflict != NULL && *conflicts > 0)
        json_array_foreach(json_object_get(reply, "results"), i, r)
        {
            if (json_is_true(json_object_get(r, "conflict")))
                hooks->conflict(hooks->ud, json_string_value(json_object_get(r, "nonce")));
        }
out:
    json_decref(rows);
    json_decref(reply);
    return result;
}

adm_err_t adm_syncer_push(adm_gate_t *g, adm_sync_client_t *c, adm_syncer_round_t *r)
{
    adm_err_t result;
    int64_t pending = 0;
    size_t n, conflicts;

    if (g == NULL || c == NULL || r == NULL)
        return ADM_ERR_INVALID_ARG;
    if ((result = adm_gate_upload_count(g, &pending)) != ADM_OK)
        return result;
    /* the rows pending now, and at most one batch more of scans made meanwhile */
    for (int64_t batches = pending / ADM_SYNC_PUSH_MAX + 2; batches > 0; batches--) {
        if ((result = push_batch(g, c, &n, &conflicts, NULL)) != ADM_OK || n == 0)
            break;
        r->pushed += n;
        r->conflicts += conflicts;
    }
    return result;
}

/* Pulls and applies one page; *more says whether the feed has more now. */
static adm_err_t pull_page(adm_gate_t *g, adm_sync_client_t *c, int wait_s, bool *more,
                           adm_syncer_round_t *r)
{
    adm_err_t result;
    adm_sync_cursor_t before, after;
    adm_gate_apply_stats_t st;
    json_t *page = NULL;

    *more = false;
    if ((result = adm_gate_sync_cursor(g, &before)) != ADM_OK ||
        (result = adm_sync_pull(c, before, ADM_SYNCER_PAGE_ROWS, wait_s, &page)) != ADM_OK ||
        (result = adm_gate_sync_apply(g, page, &st)) != ADM_OK)
        goto out;
    after = adm_sync_page_cursor(page);
    *more = adm_sync_page_more(page);
    r->pages++;
    r->revocations += st.revocations;
    r->checkins += st.checkins;
    r->cursor = after;
    /* "more" with a cursor that did not move would loop for ever */
    if (*more && after.revocations == before.revocations && after.checkins == before.checkins)
        result = ADM_ERR_FORMAT;
out:
    json_decref(page);
    return result;
}

adm_err_t adm_syncer_pull(adm_gate_t *g, adm_sync_client_t *c, adm_syncer_round_t *r)
{
    adm_err_t result;
    bool more = true;

    if (g == NULL || c == NULL || r == NULL)
        return ADM_ERR_INVALID_ARG;
    if ((result = adm_gate_sync_cursor(g, &r->cursor)) != ADM_OK)
        return result;
    while (more && (result = pull_page(g, c, 0, &more, r)) == ADM_OK)
        ;
    return result;
}

adm_err_t adm_syncer_round(adm_gate_t *g, adm_sync_client_t *c, adm_syncer_round_t *r)
{
    adm_err_t result = adm_syncer_push(g, c, r);

    if (result == ADM_OK)
        result = adm_syncer_pull(g, c, r);
    return result;
}

const char *adm_syncer_fatal_message(adm_err_t e)
{
    switch (e) {
    case ADM_ERR_UNAUTHORIZED:
        return "the server no longer accepts this device's credentials: enroll it again "
               "(admit-gate enroll) with a new enrollment code";
    case ADM_ERR_REVOKED:
        return "this device was revoked by the organiser: enroll it again (admit-gate enroll) "
               "with a new enrollment code";
    case ADM_ERR_CONFLICT:
        return "the server's event is not the event this store holds scans of: use a new --db "
               "file for the new event";
    default:
        return NULL;
    }
}

/* ---- the background syncer ------------------------------------------------------ */

struct adm_syncer {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; broadcast on every state change */
    pthread_t puller, pusher;
    bool puller_started, pusher_started;
    int abort_flag; /* read by the clients while a request runs (atomics) */
    bool stopping;
    bool kick;       /* an upload was asked for */
    bool pushing;    /* the upload thread is in a pass */
    bool link_up;    /* the feed thread saw the link come back: cut the upload backoff */
    bool pull_tried; /* the feed thread finished one catch-up attempt */
    adm_syncer_status_t st;
    adm_syncer_opts_t opts;
    adm_gate_t *pull_g, *push_g;
    adm_sync_client_t *pull_c, *push_c;
};

static void say(adm_syncer_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(adm_syncer_t *s, const char *fmt, ...)
{
    char msg[ADM_SYNCER_ERROR_MAX + 64];
    va_list ap;

    if (s->opts.log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->opts.log(s->opts.ud, msg);
}

static bool stopping(adm_syncer_t *s)
{
    bool v;
    pthread_mutex_lock(&s->mu);
    v = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Sleeps ms, or less when stopping or *wake (cleared) is set. Called unlocked. */
static void nap(adm_syncer_t *s, long ms, bool *wake)
{
    struct timespec ts;

    deadline_after(&ts, ms);
    pthread_mutex_lock(&s->mu);
    while (!s->stopping && !(wake != NULL && *wake))
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    if (wake != NULL)
        *wake = false;
    pthread_mutex_unlock(&s->mu);
}

/* Stops both threads from inside (fatal error) or outside. */
static void halt_locked(adm_syncer_t *s)
{
    s->stopping = true;
    s->st.running = false;
    __atomic_store_n(&s->abort_flag, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&s->cv);
}

/* A request succeeded. */
static void note_ok(adm_syncer_t *s, bool from_feed)
{
    bool was_offline;

    pthread_mutex_lock(&s->mu);
    was_offline = !s->st.online;
    s->st.online = true;
    s->st.last_sync = (int64_t)time(NULL);
    s->st.last_err = ADM_OK;
    s->st.last_error[0] = '\0';
    if (was_offline && from_feed)
        s->link_up = true; /* the upload thread may be in a long backoff */
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (was_offline)
        say(s, "online");
}

/* A request failed; returns true when the syncer must stop. */
static bool note_err(adm_syncer_t *s, adm_err_t e, adm_sync_client_t *c, const char *what)
{
    const char *fatal = adm_syncer_fatal_message(e);
    const char *detail = c != NULL ? adm_sync_client_error(c) : "";
    bool was_online, changed;
    char msg[ADM_SYNCER_ERROR_MAX];

    snprintf(msg, sizeof msg, "%s: %s%s%s", what, fatal ? fatal : adm_strerror(e),
             detail && detail[0] ? ": " : "", detail ? detail : "");
    pthread_mutex_lock(&s->mu);
    if (s->stopping && !fatal) { /* our own abort, not a failure */
        pthread_mutex_unlock(&s->mu);
        return true;
    }
    was_online = s->st.online;
    changed = s->st.last_err != e || strcmp(s->st.last_error, msg) != 0;
    if (e == ADM_ERR_NETWORK || e == ADM_ERR_TLS || e == ADM_ERR_HTTP_STATUS || fatal)
        s->st.online = false;
    s->st.last_err = e;
    snprintf(s->st.last_error, sizeof s->st.last_error, "%s", msg);
    if (fatal) {
        s->st.fatal = e;
        halt_locked(s);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (fatal)
        say(s, "stopped: %s", msg);
    else if (changed || was_online)
        say(s, "%s (retrying)", msg);
    return fatal != NULL;
}

static void block_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, old);
}

static void *puller_main(void *arg)
{
    adm_syncer_t *s = arg;
    adm_backoff_t bo = {0};
    bool caught_up = false, more;
    adm_err_t e;

    while (!stopping(s)) {
        adm_syncer_round_t r = {0};
        e = pull_page(s->pull_g, s->pull_c, caught_up ? s->opts.wait_s : 0, &more, &r);
        if (e == ADM_OK) {
            adm_backoff_reset(&bo);
            caught_up = !more;
            pthread_mutex_lock(&s->mu);
            s->st.cursor = r.cursor;
            s->st.pulled += r.checkins + r.revocations;
            if (caught_up) {
                s->st.caught_up = true;
                s->pull_tried = true;
            }
            pthread_mutex_unlock(&s->mu);
            note_ok(s, true);
            continue;
        }
        caught_up = false;
        pthread_mutex_lock(&s->mu);
        s->pull_tried = true;
        pthread_mutex_unlock(&s->mu);
        if (note_err(s, e, s->pull_c, "feed"))
            break;
        nap(s, adm_backoff_next_ms(&bo), NULL);
    }
    return NULL;
}

/* Uploads until nothing is pending; false after a failure (then stop or back off). */
static bool push_pass(adm_syncer_t *s)
{
    adm_err_t e = ADM_OK;
    size_t n = 0, conflicts = 0;
    int64_t pending = -1;

    for (;;) {
        e = push_batch(s->push_g, s->push_c, &n, &conflicts, &s->opts);
        if (e != ADM_OK || n == 0 || stopping(s))
            break;
        pthread_mutex_lock(&s->mu);
        s->st.pushed += n;
        s->st.conflicts += conflicts;
        pthread_mutex_unlock(&s->mu);
        note_ok(s, false);
    }
    adm_gate_upload_count(s->push_g, &pending);
    pthread_mutex_lock(&s->mu);
    if (pending >= 0)
        s->st.pending = pending;
    pthread_mutex_unlock(&s->mu);
    if (e != ADM_OK && note_err(s, e, s->push_c, "upload"))
        return false;
    return e == ADM_OK;
}

static void *pusher_main(void *arg)
{
    adm_syncer_t *s = arg;
    adm_backoff_t bo = {0};
    struct timespec ts;
    bool ok;

    for (;;) {
        pthread_mutex_lock(&s->mu);
        deadline_after(&ts, s->opts.idle_ms);
        while (!s->kick && !s->stopping)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
                break;
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->kick = false;
        s->pushing = true;
        pthread_mutex_unlock(&s->mu);

        ok = push_pass(s);

        pthread_mutex_lock(&s->mu);
        s->pushing = false;
        if (!ok)
            s->kick = true; /* retry after the backoff */
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (ok) {
            adm_backoff_reset(&bo);
        } else if (!stopping(s)) {
            /* woken early when the feed thread sees the link come back */
            nap(s, adm_backoff_next_ms(&bo), &s->link_up);
        }
    }
    return NULL;
}

static void syncer_free(adm_syncer_t *s)
{
    if (s == NULL)
        return;
    adm_sync_client_free(s->pull_c);
    adm_sync_client_free(s->push_c);
    adm_gate_close(s->pull_g);
    adm_gate_close(s->push_g);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

adm_err_t adm_syncer_start(const char *db_path, const adm_syncer_opts_t *opts, adm_syncer_t **out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_syncer_t *s = NULL;
    pthread_condattr_t ca;
    sigset_t old;
    int64_t pending = 0;

    if (out != NULL)
        *out = NULL;
    if (db_path == NULL || out == NULL ||
        (opts != NULL && (opts->wait_s < 0 || opts->wait_s > ADM_SYNC_WAIT_MAX ||
                          opts->idle_ms < 0 || opts->idle_ms > 60000)))
        goto out;
    result = ADM_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL)
        goto out;
    if (opts != NULL)
        s->opts = *opts;
    if (s->opts.wait_s == 0)
        s->opts.wait_s = ADM_SYNCER_WAIT_S;
    if (s->opts.idle_ms == 0)
        s->opts.idle_ms = ADM_SYNCER_IDLE_MS;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        s = NULL;
        goto out;
    }
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&s->cv, &ca) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        s = NULL;
        goto out;
    }
    pthread_condattr_destroy(&ca);
    if ((result = adm_gate_open(db_path, &s->pull_g)) != ADM_OK ||
        (result = adm_gate_open(db_path, &s->push_g)) != ADM_OK ||
        (result = adm_syncer_client_new(s->pull_g, &s->pull_c)) != ADM_OK ||
        (result = adm_syncer_client_new(s->push_g, &s->push_c)) != ADM_OK ||
        (result = adm_gate_upload_count(s->push_g, &pending)) != ADM_OK ||
        (result = adm_gate_sync_cursor(s->pull_g, &s->st.cursor)) != ADM_OK)
        goto out;
    adm_sync_client_set_abort(s->pull_c, &s->abort_flag);
    adm_sync_client_set_abort(s->push_c, &s->abort_flag);
    s->st.running = true;
    s->st.pending = pending;
    s->kick = pending > 0;
    /* the threads take no signals: the caller's thread handles SIGINT/SIGTERM */
    result = ADM_ERR_IO;
    block_signals(&old);
    s->puller_started = pthread_create(&s->puller, NULL, puller_main, s) == 0;
    s->pusher_started = s->puller_started && pthread_create(&s->pusher, NULL, pusher_main, s) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!s->pusher_started)
        goto out;
    *out = s;
    s = NULL;
    result = ADM_OK;
out:
    if (s != NULL)
        adm_syncer_stop(s);
    return result;
}

void adm_syncer_notify(adm_syncer_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->kick = true;
    s->st.pending++; /* counted exactly after the upload */
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void adm_syncer_status(adm_syncer_t *s, adm_syncer_status_t *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

bool adm_syncer_wait_caught_up(adm_syncer_t *s, long timeout_ms)
{
    struct timespec ts;
    bool ok;

    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&s->mu);
    while (!s->pull_tried && !s->stopping)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    ok = s->st.caught_up;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool adm_syncer_flush(adm_syncer_t *s, long timeout_ms)
{
    struct timespec ts;
    bool done;

    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&s->mu);
    s->kick = true;
    pthread_cond_broadcast(&s->cv);
    while (!s->stopping && (s->kick || s->pushing || s->st.pending > 0))
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    done = !s->kick && !s->pushing && s->st.pending == 0;
    pthread_mutex_unlock(&s->mu);
    return done;
}

void adm_syncer_stop(adm_syncer_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    halt_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (s->puller_started)
        pthread_join(s->puller, NULL);
    if (s->pusher_started)
        pthread_join(s->pusher, NULL);
    syncer_free(s);
}
