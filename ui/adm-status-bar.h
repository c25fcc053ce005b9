/* adm-status-bar.h: admit-scan's status bar: online/offline, last sync,
 * scans waiting to upload, snapshot age, device, gate and list, entry/exit
 * mode, and this device's admitted/refused counts. Only shows a status
 * (ui/scan-controller.h); wraps onto several lines on narrow screens. */
#ifndef ADM_STATUS_BAR_H
#define ADM_STATUS_BAR_H

#include <gtk/gtk.h>

#include "ui/scan-controller.h"

G_BEGIN_DECLS

#define ADM_TYPE_STATUS_BAR (adm_status_bar_get_type())
G_DECLARE_FINAL_TYPE(AdmStatusBar, adm_status_bar, ADM, STATUS_BAR, GtkWidget)

void adm_status_bar_update(AdmStatusBar *self, const adm_scan_status_t *st, gint64 now);

/* "online" / "offline" / "not enrolled", for tests. */
const char *adm_status_bar_get_link(AdmStatusBar *self);

G_END_DECLS

#endif
