/* edge.c: the edge relay's upstream link (edge.h, docs/sync.md §5). Two
 * threads, each with its own sync client: pull (the upstream feed, long-
 * polled, into the mirror and the check-in table) and push (check-ins not
 * yet acknowledged upstream, in batches). Neither ever drops a row: a row
 * leaves the upload queue only when upstream acknowledged it, and a feed
 * cursor moves only after its page was stored. */
#include "server/edge.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "server/store.h"
#include "sync/client.h"

#define SET_UPSTREAM "edge.upstream"
#define SET_DEVICE "edge.device_id"
#define SET_SECRET "edge.secret"
#define SET_EVENT "edge.event_id"
#define UPSTREAM_UPLOADER "upstream" /* uploader of rows that came from the upstream feed */

struct adm_edge {
    adm_app_t *app;
    adm_http_server_t *srv;
    int64_t event_id;
    char device_id[ADM_SYNC_DEVICE_ID_MAX + 1];
    char secret[ADM_SYNC_TOKEN_MAX + 1];
    volatile int stop;
    pthread_mutex_t lock; /* guards status, stop wake-ups */
    pthread_cond_t cond;
    adm_edge_status_t status;
    pthread_t pull_thread, push_thread;
    bool pull_started, push_started;
    char *header; /* last stored mirror header (pull thread only) */
};

static int64_t now_s(adm_edge_t *e)
{
    return adm_app_now(e->app);
}

static bool stopping(adm_edge_t *e)
{
    return __atomic_load_n(&e->stop, __ATOMIC_ACQUIRE) != 0;
}

/* Sleeps ms or until stop; returns true when stopping. */
static bool nap(adm_edge_t *e, long ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->lock);
    while (!stopping(e) && pthread_cond_timedwait(&e->cond, &e->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&e->lock);
    return stopping(e);
}

static void set_online(adm_edge_t *e, bool online, bool pulled, uint64_t n)
{
    pthread_mutex_lock(&e->lock);
    if (online != e->status.online)
        adm_log(online ? ADM_LOG_INFO : ADM_LOG_WARN, "edge: upstream %s",
                online ? "reachable" : "unreachable");
    e->status.online = online;
    if (online && pulled) {
        e->status.last_pull = now_s(e);
        e->status.pulled += n;
    } else if (online) {
        e->status.last_push = now_s(e);
        e->status.pushed += n;
    }
    pthread_mutex_unlock(&e->lock);
}

static adm_err_t new_client(adm_edge_t *e, adm_sync_client_t **out)
{
    const adm_config_t *cfg = e->app->cfg;
    adm_sync_opts_t o = {
        .base_url = cfg->upstream,
        .device_id = e->device_id[0] ? e->device_id : NULL,
        .secret = e->secret[0] ? e->secret : NULL,
        .ca_file = cfg->upstream_ca[0] ? cfg->upstream_ca : NULL,
        .pin = cfg->upstream_pin[0] ? cfg->upstream_pin : NULL,
        .allow_http = strncmp(cfg->upstream, "http://", 7) == 0, /* written so by the operator */
    };
    adm_err_t rc = adm_sync_client_new(&o, out);
    if (rc == ADM_OK)
        adm_sync_client_set_abort(*out, &e->stop);
    return rc;
}

/* ---- pull: upstream feed -> mirror + check-ins ---- */

/* The JSON string at o[key], or "" (the page was checked, so present ones are valid). */
static const char *str_at(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* Stores the page's lists (with the upstream's ids, for the re-entry rules
 * of this relay's conflict flags) and its header, when it changed. */
static adm_err_t apply_header(adm_edge_t *e, const json_t *page)
{
    adm_store_t *st = e->app->store;
    json_t *hdr = NULL, *lists = json_object_get(page, "checkin_lists"), *l;
    adm_checkin_list_t *cl = NULL;
    char *text = NULL;
    size_t i;
    adm_err_t rc = ADM_OK;

    hdr = json_pack("{s:O, s:O, s:O, s:O}", "event", json_object_get(page, "event"), "keys",
                    json_object_get(page, "keys"), "ticket_types",
                    json_object_get(page, "ticket_types"), "checkin_lists", lists);
    text = hdr != NULL ? json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text == NULL) {
        rc = ADM_ERR_NOMEM;
        goto out;
    }
    if (e->header != NULL && strcmp(e->header, text) == 0)
        goto out; /* unchanged: the usual case on every long-poll round */
    cl = malloc(sizeof *cl);
    if (cl == NULL) {
        rc = ADM_ERR_NOMEM;
        goto out;
    }
    json_array_foreach(lists, i, l)
    {
        json_t *types = json_object_get(l, "ticket_types"), *gates = json_object_get(l, "gates");
        memset(cl, 0, sizeof *cl);
        cl->id = json_integer_value(json_object_get(l, "id"));
        cl->event_id = e->event_id;
        snprintf(cl->name, sizeof cl->name, "%s", str_at(l, "name"));
        if (!adm_reentry_parse(str_at(l, "reentry"), &cl->reentry) ||
            json_array_size(types) > ADM_STORE_TYPES_MAX ||
            json_array_size(gates) > ADM_STORE_LIST_GATES_MAX) {
            rc = ADM_ERR_FORMAT;
            goto out;
        }
        for (cl->n_types = 0; cl->n_types < json_array_size(types); cl->n_types++)
            cl->types[cl->n_types] = json_integer_value(json_array_get(types, cl->n_types));
        for (cl->n_gates = 0; cl->n_gates < json_array_size(gates); cl->n_gates++)
            snprintf(cl->gates[cl->n_gates], sizeof cl->gates[0], "%s",
                     json_string_value(json_array_get(gates, cl->n_gates)));
        cl->created = now_s(e);
        rc = adm_store_checkin_list_put(st, cl);
        if (rc != ADM_OK)
            goto out;
    }
    rc = adm_store_mirror_put_header(st, e->event_id, text, now_s(e));
    if (rc == ADM_OK) {
        free(e->header);
        e->header = text;
        text = NULL;
    }
out:
    free(cl);
    free(text);
    json_decref(hdr);
    return rc;
}

/* Stores the page's check-ins (as already known upstream, so they are not
 * sent back) in batches. *n gets how many rows were offered. */
static adm_err_t apply_checkins(adm_edge_t *e, const json_t *rows, size_t *n)
{
    adm_scan_t *scans = NULL;
    size_t total = json_array_size(rows), done = 0;
    adm_err_t rc = ADM_OK;

    *n = total;
    if (total == 0)
        return ADM_OK;
    scans = calloc(total < ADM_STORE_CHECKINS_BATCH_MAX ? total : ADM_STORE_CHECKINS_BATCH_MAX,
                   sizeof *scans);
    if (scans == NULL)
        return ADM_ERR_NOMEM;
    while (rc == ADM_OK && done < total) {
        size_t k = 0;
        for (; k < ADM_STORE_CHECKINS_BATCH_MAX && done + k < total; k++) {
            const json_t *r = json_array_get(rows, done + k);
            adm_scan_t *s = &scans[k];
            *s = (adm_scan_t){
                .nonce = str_at(r, "nonce"),
                .device = str_at(r, "device"),
                .ticket_id = json_integer_value(json_object_get(r, "ticket_id")),
                .list_id = json_integer_value(json_object_get(r, "list_id")),
                .at = json_integer_value(json_object_get(r, "at")),
                .gate = str_at(r, "gate"),
                .verdict = ADM_VERDICT_ACCEPT, /* the feed carries accepted scans only */
                .reason = "ok",
                .text_hash = "",
            };
            adm_direction_parse(str_at(r, "direction"), &s->direction);
        }
        rc = adm_store_checkins_add(e->app->store, e->event_id, UPSTREAM_UPLOADER, scans, k, true,
                                    now_s(e), NULL);
        done += k;
    }
    free(scans);
    return rc;
}

static adm_err_t apply_page(adm_edge_t *e, const json_t *page, size_t *n_rows)
{
    const json_t *revs_j = json_object_get(page, "revocations"), *r;
    adm_revocation_t *revs = NULL;
    adm_sync_cursor_t cur = adm_sync_page_cursor(page);
    int64_t ev = json_integer_value(json_object_get(json_object_get(page, "event"), "id"));
    size_t i, n_chk = 0;
    adm_err_t rc;

    *n_rows = 0;
    if (ev != e->event_id) {
        adm_log(ADM_LOG_ERROR, "edge: upstream sent event %lld, this relay serves %lld",
                (long long)ev, (long long)e->event_id);
        return ADM_ERR_FORMAT;
    }
    rc = apply_header(e, page);
    if (rc == ADM_OK)
        rc = apply_checkins(e, json_object_get(page, "checkins"), &n_chk);
    if (rc != ADM_OK)
        return rc;
    if (json_array_size(revs_j) > 0) {
        revs = calloc(json_array_size(revs_j), sizeof *revs);
        if (revs == NULL)
            return ADM_ERR_NOMEM;
    }
    json_array_foreach(revs_j, i, r)
    {
        revs[i].seq = json_integer_value(json_object_get(r, "seq"));
        revs[i].ticket_id = json_integer_value(json_object_get(r, "ticket_id"));
        revs[i].revoked_at = json_integer_value(json_object_get(r, "revoked_at"));
    }
    /* the cursor moves only now, after everything of the page is stored: a
     * crash before this re-fetches the page, whose rows are idempotent */
    rc = adm_store_mirror_advance(e->app->store, e->event_id, revs, json_array_size(revs_j),
                                  cur.revocations, cur.checkins, now_s(e));
    free(revs);
    *n_rows = n_chk + json_array_size(revs_j);
    return rc;
}

static void *pull_main(void *arg)
{
    adm_edge_t *e = arg;
    adm_sync_client_t *c = NULL;
    adm_backoff_t bo = {0};
    adm_mirror_t m = {0};
    adm_sync_cursor_t cur = {0, 0};
    bool have_header = false;

    if (new_client(e, &c) != ADM_OK) {
        adm_log(ADM_LOG_ERROR, "edge: cannot create the upstream client (pull)");
        return NULL;
    }
    if (adm_store_mirror_get(e->app->store, e->event_id, &m) == ADM_OK) {
        cur.revocations = m.revocations_cursor;
        cur.checkins = m.checkins_cursor;
        e->header = m.header; /* taken */
        m.header = NULL;
        have_header = true;
    }
    while (!stopping(e)) {
        json_t *page = NULL;
        size_t n = 0;
        adm_err_t rc = adm_sync_pull(c, cur, 0, have_header ? ADM_EDGE_WAIT_S : 0, &page);
        if (rc == ADM_OK)
            rc = apply_page(e, page, &n);
        if (rc == ADM_OK) {
            adm_sync_cursor_t next = adm_sync_page_cursor(page);
            have_header = true;
            set_online(e, true, true, n);
            adm_backoff_reset(&bo);
            if (n > 0) /* gates long-polling this relay get the news at once */
                adm_app_sync_notify(e->srv, e->event_id);
            cur = next;
        } else if (!stopping(e)) {
            long ms = adm_backoff_next_ms(&bo);
            adm_log(ADM_LOG_WARN, "edge: upstream feed: %s (%s); retrying in %ld ms",
                    adm_strerror(rc), adm_sync_client_error(c), ms);
            if (rc == ADM_ERR_NETWORK || rc == ADM_ERR_TLS || rc == ADM_ERR_HTTP_STATUS)
                set_online(e, false, true, 0);
            if (rc == ADM_ERR_REVOKED || rc == ADM_ERR_UNAUTHORIZED)
                ms = 60000; /* an organiser must act; keep trying slowly */
            nap(e, ms);
        }
        json_decref(page);
    }
    adm_sync_client_free(c);
    return NULL;
}

/* ---- push: this relay's gates' check-ins -> upstream ---- */

static json_t *row_json(const adm_checkin_t *r)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:s}", "nonce", r->nonce,
                          "device", r->device, "list_id", (json_int_t)r->list_id, "at",
                          (json_int_t)r->at, "gate", r->gate, "direction",
                          adm_direction_name(r->direction), "verdict",
                          adm_verdict_name(r->verdict), "reason", r->reason, "attention",
                          (int)r->attention, "text_hash", r->text_hash);
    if (o != NULL && json_object_set_new(o, "ticket_id", r->ticket_id > 0
                                                             ? json_integer(r->ticket_id)
                                                             : json_null()) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* One batch: *n gets how many rows were acknowledged (0 = queue empty). */
static adm_err_t push_once(adm_edge_t *e, adm_sync_client_t *c, size_t *n)
{
    adm_checkin_query_t q = {.event_id = e->event_id,
                             .upstream_pending = true,
                             .limit = ADM_SYNC_PUSH_MAX};
    adm_checkin_t *rows = NULL;
    int64_t *seqs = NULL;
    json_t *arr = NULL, *reply = NULL;
    size_t k = 0;
    adm_err_t rc;

    *n = 0;
    rc = adm_store_checkins_list(e->app->store, ADM_READ_HINT_PRIMARY, &q, &rows, &k);
    if (rc != ADM_OK || k == 0)
        goto out;
    arr = json_array();
    seqs = calloc(k, sizeof *seqs);
    if (arr == NULL || seqs == NULL) {
        rc = ADM_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        seqs[i] = rows[i].seq;
        if (json_array_append_new(arr, row_json(&rows[i])) != 0) {
            rc = ADM_ERR_NOMEM;
            goto out;
        }
    }
    rc = adm_sync_push(c, arr, &reply);
    /* acknowledged (stored or duplicate, one result per row): off the queue */
    if (rc == ADM_OK)
        rc = adm_store_checkins_mark_upstream(e->app->store, seqs, k);
    if (rc == ADM_OK)
        *n = k;
out:
    json_decref(reply);
    json_decref(arr);
    free(seqs);
    free(rows);
    return rc;
}

static void *push_main(void *arg)
{
    adm_edge_t *e = arg;
    adm_sync_client_t *c = NULL;
    adm_backoff_t bo = {0};

    if (new_client(e, &c) != ADM_OK) {
        adm_log(ADM_LOG_ERROR, "edge: cannot create the upstream client (push)");
        return NULL;
    }
    while (!stopping(e)) {
        size_t n = 0;
        adm_err_t rc = push_once(e, c, &n);
        if (rc == ADM_OK) {
            adm_backoff_reset(&bo);
            if (n > 0) {
                set_online(e, true, false, n);
                continue; /* more may be queued */
            }
            nap(e, ADM_EDGE_PUSH_IDLE_MS);
        } else if (!stopping(e)) {
            long ms = adm_backoff_next_ms(&bo);
            adm_log(ADM_LOG_WARN, "edge: upload: %s (%s); retrying in %ld ms", adm_strerror(rc),
                    adm_sync_client_error(c), ms);
            if (rc == ADM_ERR_NETWORK || rc == ADM_ERR_TLS || rc == ADM_ERR_HTTP_STATUS)
                set_online(e, false, false, 0);
            nap(e, ms);
        }
    }
    adm_sync_client_free(c);
    return NULL;
}

/* ---- start / stop ---- */

static adm_err_t load_or_enroll(adm_edge_t *e, char *errbuf, size_t errlen)
{
    adm_store_t *st = e->app->store;
    const adm_config_t *cfg = e->app->cfg;
    char up[ADM_STORE_SETTING_VALUE_MAX + 1], ev[32];
    adm_sync_client_t *c = NULL;
    adm_enrolled_t en;
    adm_err_t rc;

    rc = adm_store_setting_get(st, SET_UPSTREAM, up, sizeof up);
    if (rc == ADM_OK) {
        if (strcmp(up, cfg->upstream) != 0) {
            snprintf(errbuf, errlen,
                     "this edge database is enrolled with upstream %s, not %s (use a new "
                     "database to relay for another server)",
                     up, cfg->upstream);
            return ADM_ERR_CONFIG;
        }
        rc = adm_store_setting_get(st, SET_DEVICE, e->device_id, sizeof e->device_id);
        if (rc == ADM_OK)
            rc = adm_store_setting_get(st, SET_SECRET, e->secret, sizeof e->secret);
        if (rc == ADM_OK)
            rc = adm_store_setting_get(st, SET_EVENT, ev, sizeof ev);
        if (rc != ADM_OK) {
            snprintf(errbuf, errlen, "the edge credentials in the database are incomplete: %s",
                     adm_strerror(rc));
            return rc == ADM_ERR_NOT_FOUND ? ADM_ERR_CONFIG : rc;
        }
        e->event_id = strtoll(ev, NULL, 10);
        return e->event_id > 0 ? ADM_OK : ADM_ERR_CONFIG;
    }
    if (rc != ADM_ERR_NOT_FOUND) {
        snprintf(errbuf, errlen, "cannot read the edge credentials: %s", adm_strerror(rc));
        return rc;
    }
    if (cfg->upstream_token[0] == '\0') {
        snprintf(errbuf, errlen,
                 "this edge is not enrolled with %s yet: pass a relay enrollment token "
                 "(--upstream-token, ADMIT_SERVER_UPSTREAM_TOKEN or [server] upstream_token)",
                 cfg->upstream);
        return ADM_ERR_CONFIG;
    }
    rc = new_client(e, &c);
    if (rc == ADM_OK)
        rc = adm_sync_enroll(c, cfg->upstream_token, "edge relay", &en);
    if (rc != ADM_OK) {
        snprintf(errbuf, errlen, "cannot enroll with %s: %s (%s)", cfg->upstream,
                 adm_strerror(rc), c != NULL ? adm_sync_client_error(c) : "");
        adm_sync_client_free(c);
        return rc;
    }
    adm_sync_client_free(c);
    if (!en.relay) {
        snprintf(errbuf, errlen, "the upstream token enrolls a gate device, not a relay (make "
                                 "one with admitctl enroll create --relay)");
        return ADM_ERR_CONFIG;
    }
    snprintf(e->device_id, sizeof e->device_id, "%s", en.device_id);
    snprintf(e->secret, sizeof e->secret, "%s", en.secret);
    e->event_id = en.event_id;
    snprintf(ev, sizeof ev, "%lld", (long long)en.event_id);
    /* the URL last: it is what marks the credentials complete */
    rc = adm_store_setting_put(st, SET_DEVICE, e->device_id);
    if (rc == ADM_OK)
        rc = adm_store_setting_put(st, SET_SECRET, e->secret);
    if (rc == ADM_OK)
        rc = adm_store_setting_put(st, SET_EVENT, ev);
    if (rc == ADM_OK)
        rc = adm_store_setting_put(st, SET_UPSTREAM, cfg->upstream);
    if (rc != ADM_OK)
        snprintf(errbuf, errlen, "enrolled as %s but cannot store the credentials: %s",
                 e->device_id, adm_strerror(rc));
    else
        adm_log(ADM_LOG_INFO, "edge: enrolled with %s as relay %s for event %lld",
                cfg->upstream, e->device_id, (long long)e->event_id);
    return rc;
}

adm_err_t adm_edge_start(adm_app_t *app, adm_http_server_t *srv, adm_edge_t **out, char *errbuf,
                         size_t errlen)
{
    adm_edge_t *e;
    adm_err_t rc;

    *out = NULL;
    if (errlen > 0)
        errbuf[0] = '\0';
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return ADM_ERR_NOMEM;
    e->app = app;
    e->srv = srv;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    rc = load_or_enroll(e, errbuf, errlen);
    if (rc != ADM_OK) {
        adm_edge_stop(e);
        return rc;
    }
    e->status.enrolled = true;
    e->status.event_id = e->event_id;
    e->pull_started = pthread_create(&e->pull_thread, NULL, pull_main, e) == 0;
    e->push_started = e->pull_started && pthread_create(&e->push_thread, NULL, push_main, e) == 0;
    if (!e->push_started) {
        snprintf(errbuf, errlen, "cannot start the edge threads");
        adm_edge_stop(e);
        return ADM_ERR_IO;
    }
    *out = e;
    return ADM_OK;
}

void adm_edge_status(adm_edge_t *e, adm_edge_status_t *out)
{
    pthread_mutex_lock(&e->lock);
    *out = e->status;
    pthread_mutex_unlock(&e->lock);
}

void adm_edge_stop(adm_edge_t *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    __atomic_store_n(&e->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    if (e->pull_started)
        pthread_join(e->pull_thread, NULL);
    if (e->push_started)
        pthread_join(e->push_thread, NULL);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e->header);
    sodium_memzero(e->secret, sizeof e->secret);
    free(e);
}
