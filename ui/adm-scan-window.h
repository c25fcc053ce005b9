/* adm-scan-window.h: admit-scan's main window: a stack of pages (scan,
 * verdict, setup, unlock) over the status bar, the verdict timer and
 * sounds, kiosk mode (fullscreen, no window controls, leaving only through
 * the organiser PIN), keyboard shortcuts, and the test state channel
 * (ui/scan-teststate.h). The logic it shows lives in the controller. */
#ifndef ADM_SCAN_WINDOW_H
#define ADM_SCAN_WINDOW_H

#include <gtk/gtk.h>

#include "ui/scan-controller.h"

G_BEGIN_DECLS

#define ADM_TYPE_SCAN_WINDOW (adm_scan_window_get_type())
G_DECLARE_FINAL_TYPE(AdmScanWindow, adm_scan_window, ADM, SCAN_WINDOW, GtkApplicationWindow)

/* A window on ctl (a new reference is taken). */
AdmScanWindow *adm_scan_window_new(GtkApplication *app, AdmScanController *ctl);

/* Asks to quit: in kiosk mode this shows the PIN page instead. */
void adm_scan_window_request_quit(AdmScanWindow *self);

G_END_DECLS

#endif
