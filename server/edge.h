/* edge.h: admitd's edge relay (docs/sync.md §5): the threads that keep a
 * venue admitd in step with its upstream (central) admitd over the same sync
 * protocol the gates use: enrollment as a relay device, the upstream feed
 * into the local mirror and check-in table, and the upload of the check-ins
 * its own gates made. Not the device endpoints (route-sync.c serves those
 * from the local store in both modes). */
#ifndef ADM_EDGE_H
#define ADM_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/app.h"
#include "server/http.h"
#include "sync/err.h"

#define ADM_EDGE_WAIT_S 25      /* long-poll seconds per upstream feed call */
#define ADM_EDGE_PUSH_IDLE_MS 250 /* how often the upload queue is looked at when idle */

typedef struct adm_edge adm_edge_t;

/* What the relay knows about its upstream link, for logs and /metrics. */
typedef struct adm_edge_status {
    bool enrolled;
    int64_t event_id;
    bool online;            /* the last upstream call succeeded */
    int64_t last_pull;      /* unix seconds of the last applied feed page, 0 = never */
    int64_t last_push;      /* unix seconds of the last acknowledged upload, 0 = never */
    uint64_t pushed, pulled; /* check-ins uploaded / received since start */
} adm_edge_status_t;

/* Loads the relay's upstream credentials from the store (settings
 * "edge.*"), or enrolls with app->cfg->upstream_token when there are none
 * (one attempt; the token is single-use, so a failure is reported, not
 * retried), then starts the pull and push threads. srv is woken whenever
 * upstream data is stored so the gates' long-polls return. app and srv are
 * borrowed and must outlive the relay. ADM_ERR_CONFIG (not enrolled and no
 * token, or the store is enrolled with another upstream URL; errbuf says
 * which), the errors of adm_sync_enroll() for the enrollment,
 * ADM_ERR_NOMEM, ADM_ERR_IO (threads). */
adm_err_t adm_edge_start(adm_app_t *app, adm_http_server_t *srv, adm_edge_t **out, char *errbuf,
                         size_t errlen);

/* Snapshot of the relay's status (thread-safe). */
void adm_edge_status(adm_edge_t *e, adm_edge_status_t *out);

/* Stops the threads (a long-poll in flight is aborted), joins and frees.
 * NULL is accepted. */
void adm_edge_stop(adm_edge_t *e);

#endif
