/* adm-verdict-view.h: the verdict page of admit-scan: the whole page in the
 * verdict's colour (CSS classes verdict-admit / -refuse / -attention), the
 * reason in very large text, ticket type, seat or zone, direction and the
 * first use of an ALREADY_USED ticket. Emits "dismissed" on a click, tap or
 * the Next button. Not the timer or the sound (adm-scan-window.c). */
#ifndef ADM_VERDICT_VIEW_H
#define ADM_VERDICT_VIEW_H

#include <gtk/gtk.h>

#include "ui/scan-present.h"

G_BEGIN_DECLS

#define ADM_TYPE_VERDICT_VIEW (adm_verdict_view_get_type())
G_DECLARE_FINAL_TYPE(AdmVerdictView, adm_verdict_view, ADM, VERDICT_VIEW, GtkWidget)

/* Shows v (copied into the labels). */
void adm_verdict_view_show(AdmVerdictView *self, const adm_scan_verdict_t *v);

/* The big reason text shown now (owned by the label). */
const char *adm_verdict_view_get_title(AdmVerdictView *self);

G_END_DECLS

#endif
