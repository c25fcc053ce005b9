/* adm-setup-view.h: admit-scan's Setup page for the crew lead: enroll (type
 * the enrollment URI, or show its QR code to the camera while this page is
 * open), pick the check-in list, gate and entry/exit mode, the verdict
 * delay, sound, camera, the organiser PIN, start kiosk mode, sync now. Acts
 * on the controller it is given; emits "done" to go back to scanning. */
#ifndef ADM_SETUP_VIEW_H
#define ADM_SETUP_VIEW_H

#include <gtk/gtk.h>

#include "ui/scan-controller.h"

G_BEGIN_DECLS

#define ADM_TYPE_SETUP_VIEW (adm_setup_view_get_type())
G_DECLARE_FINAL_TYPE(AdmSetupView, adm_setup_view, ADM, SETUP_VIEW, GtkWidget)

/* The controller (borrowed; must outlive the view's use). Fills the fields
 * from its settings. */
void adm_setup_view_set_controller(AdmSetupView *self, AdmScanController *ctl);
/* Refreshes the lists and enrollment state from the controller's status. */
void adm_setup_view_update(AdmSetupView *self);
/* A message for the organiser (enrollment result, sync result, PIN saved). */
void adm_setup_view_set_message(AdmSetupView *self, const char *msg);
void adm_setup_view_focus(AdmSetupView *self);

G_END_DECLS

#endif
