/* adm-unlock-view.h: the page that stands between a kiosk and everything
 * else: the organiser PIN entry. Emits "unlock" (pin) and "cancel"; the
 * window asks the controller to check the PIN. */
#ifndef ADM_UNLOCK_VIEW_H
#define ADM_UNLOCK_VIEW_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define ADM_TYPE_UNLOCK_VIEW (adm_unlock_view_get_type())
G_DECLARE_FINAL_TYPE(AdmUnlockView, adm_unlock_view, ADM, UNLOCK_VIEW, GtkWidget)

/* Clears the entry, shows message (may be NULL) and focuses the entry. */
void adm_unlock_view_reset(AdmUnlockView *self, const char *message);
void adm_unlock_view_set_busy(AdmUnlockView *self, gboolean busy);

G_END_DECLS

#endif
