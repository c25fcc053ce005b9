/* scan-controller.h: admit-scan without the widgets: it owns the gate store
 * handle (on a scan worker thread, so adm_gate_scan's fsync never runs on the
 * UI thread), the background syncer, the camera worker (ui/scan-camera.h),
 * the settings (ui/scan-settings.h), enrollment, search and the kiosk lock,
 * and delivers verdicts, previews and status to the GMainContext that was
 * the thread default when it was made (the UI's), through signals. Tests
 * drive it without a display. No GTK. */
#ifndef ADM_SCAN_CONTROLLER_H
#define ADM_SCAN_CONTROLLER_H

#include <glib-object.h>
#include <stdint.h>

#include "ui/scan-camera.h"
#include "ui/scan-lookup.h"
#include "ui/scan-present.h"
#include "ui/scan-settings.h"

G_BEGIN_DECLS

#define ADM_TYPE_SCAN_CONTROLLER (adm_scan_controller_get_type())
G_DECLARE_FINAL_TYPE(AdmScanController, adm_scan_controller, ADM, SCAN_CONTROLLER, GObject)

/* What the status bar and Setup show; owned by the controller, valid until
 * the next "status-changed". */
typedef struct adm_scan_status {
    gboolean store_ok; /* the gate store opened */
    char *store_error; /* why not, else "" */
    gboolean enrolled;
    char *device;      /* this device's id ("dv_…" once enrolled), "" before the store opened */
    char *server;      /* "" when not enrolled */
    uint32_t event_id; /* 0: no event yet */
    gboolean syncing;  /* the background syncer runs */
    gboolean online;   /* its last request succeeded */
    int64_t last_sync; /* unix seconds of the last successful pull or upload, 0 = never */
    int64_t last_pull; /* server time of the last feed page applied (snapshot age), 0 = never */
    int64_t pending;   /* scans waiting to upload */
    char *sync_error;  /* the last sync failure or the fatal message, "" when none */
    char *gate;        /* the gate scans are made at */
    uint32_t list_id;  /* the check-in list scans use, 0 = none fits */
    char *list_name;
    gboolean exit_mode;
    int64_t admitted; /* this device's accepted scans */
    int64_t refused;  /* and the others */
    gboolean camera_running;
    char *camera;       /* the camera's description, or why it is not running ("" = none) */
    GPtrArray *lists;   /* adm_scan_list_t of the snapshot */
    guint lists_serial; /* changes when lists changed */
} adm_scan_status_t;

/* A controller on settings (takes ownership) saved to settings_path when
 * they change (NULL = never saved; tests). Nothing starts before
 * adm_scan_controller_start(). */
AdmScanController *adm_scan_controller_new(adm_scan_settings_t *settings,
                                           const char *settings_path);

/* Settings in effect for this run only (command-line options), before
 * start(): scans use them, but saving keeps the stored values (copied). */
void adm_scan_controller_override(AdmScanController *self, const adm_scan_settings_t *effective);

/* Allows an http:// server URL at enrollment (--insecure-http). */
void adm_scan_controller_set_insecure_http(AdmScanController *self, gboolean allow);

/* Starts the scan worker (opens the store; the store's directory is made),
 * the syncer when the store is enrolled, the camera when one is set, and a
 * status refresh every second. Failures are reported in the status. */
void adm_scan_controller_start(AdmScanController *self);

/* Stops the camera, the syncer and the worker (joins them). Called by
 * dispose too. Queued deliveries are then dropped. */
void adm_scan_controller_stop(AdmScanController *self);

/* Queues text (a keyboard wedge, typed text or a test) for the scan worker:
 * verdicts come back in submission order as "verdict" signals. An
 * enrollment URI is enrolled instead while enrollment is armed (Setup open)
 * or the store is not enrolled (and not in kiosk mode). */
void adm_scan_controller_submit(AdmScanController *self, const char *text, adm_scan_input_t input);

/* Search: a number is a ticket id (local store, then the server), anything
 * else an order code (server only, GET /v1/sync/lookup). The answer comes
 * as "search-result" (title, body). */
void adm_scan_controller_search(AdmScanController *self, const char *query);

/* Enrolls with an enrollment URI (admit-enroll:<URL>#<token>) on a thread,
 * then runs a first sync and starts the syncer. "enrolled" (ok, message). */
void adm_scan_controller_enroll(AdmScanController *self, const char *uri);

/* While armed, camera codes that are enrollment URIs enroll (Setup open). */
void adm_scan_controller_arm_enrollment(AdmScanController *self, gboolean armed);

/* One sync round now (upload, pull to the end) on a thread; "notice". */
void adm_scan_controller_sync_now(AdmScanController *self);

/* Changes the scanning context and saves the settings. list_id 0 and gate
 * NULL or "" mean automatic (the enrolled gate, the first fitting list). */
void adm_scan_controller_set_context(AdmScanController *self, uint32_t list_id, const char *gate,
                                     gboolean exit_mode);
void adm_scan_controller_set_muted(AdmScanController *self, gboolean muted);
void adm_scan_controller_set_delay(AdmScanController *self, guint delay_ms);
/* Restarts the camera worker on spec ("" or NULL = none) and saves it. */
void adm_scan_controller_set_camera(AdmScanController *self, const char *spec);

/* Kiosk: entering needs a PIN already set (FALSE otherwise); leaving goes
 * through adm_scan_controller_unlock(). Both persist. */
gboolean adm_scan_controller_enter_kiosk(AdmScanController *self);
/* Checks pin on a thread; "unlock-result" (ok). On success kiosk mode ends
 * and is saved. */
void adm_scan_controller_unlock(AdmScanController *self, const char *pin);
/* Hashes and saves a new organiser PIN on a thread; "notice". Not while
 * in kiosk mode. */
void adm_scan_controller_set_pin(AdmScanController *self, const char *pin);

const adm_scan_settings_t *adm_scan_controller_get_settings(AdmScanController *self);
const adm_scan_status_t *adm_scan_controller_get_status(AdmScanController *self);
gboolean adm_scan_controller_get_kiosk(AdmScanController *self);

/* Camera counters (zero without a camera), for tests and the status. */
void adm_scan_controller_camera_stats(AdmScanController *self, adm_scan_camera_stats_t *out);

/* Test hook: the scan worker sleeps delay_ms before each scan (to show that
 * the camera drops frames while busy and that order is kept). */
void adm_scan_controller_set_scan_delay_for_test(AdmScanController *self, guint delay_ms);

G_END_DECLS

#endif
