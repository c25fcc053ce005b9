/* adm-scan-app.h: admit-scan's GtkApplication (org.admit.Scan): command-line
 * options, settings, the controller, the CSS and the main window. main.c
 * only creates it and runs it. */
#ifndef ADM_SCAN_APP_H
#define ADM_SCAN_APP_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define ADM_TYPE_SCAN_APP (adm_scan_app_get_type())
G_DECLARE_FINAL_TYPE(AdmScanApp, adm_scan_app, ADM, SCAN_APP, GtkApplication)

AdmScanApp *adm_scan_app_new(void);

G_END_DECLS

#endif
