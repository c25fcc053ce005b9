/* adm-scan-view.h: admit-scan's scanning page: the live camera preview, the
 * large self-service instructions (kiosk), one entry for keyboard-wedge
 * scanners, typed codes and searches, and the search answer. Emits
 * "submit" (text to scan) and "search" (query); the window routes them to the
 * controller. */
#ifndef ADM_SCAN_VIEW_H
#define ADM_SCAN_VIEW_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define ADM_TYPE_SCAN_VIEW (adm_scan_view_get_type())
G_DECLARE_FINAL_TYPE(AdmScanView, adm_scan_view, ADM, SCAN_VIEW, GtkWidget)

/* Shows a grey frame (stride == width) as the preview. */
void adm_scan_view_set_frame(AdmScanView *self, GBytes *grey, int width, int height);
void adm_scan_view_set_camera_text(AdmScanView *self, const char *text);
void adm_scan_view_set_search_result(AdmScanView *self, const char *title, const char *body);
/* Kiosk: big instructions, no search. */
void adm_scan_view_set_kiosk(AdmScanView *self, gboolean kiosk);
/* Focuses the entry and optionally appends text to it (a key typed while the
 * verdict was shown). */
void adm_scan_view_focus_entry(AdmScanView *self, const char *append);
/* Focuses the entry for a search (Ctrl+F). */
void adm_scan_view_start_search(AdmScanView *self);

G_END_DECLS

#endif
