/* adm-unlock-view.c: admit-scan's organiser PIN page (see the header). */
#include "ui/adm-unlock-view.h"

struct _AdmUnlockView {
    GtkWidget parent_instance;

    GtkPasswordEntry *pin_entry;
    GtkButton *unlock_button;
    GtkLabel *message;
};

G_DEFINE_FINAL_TYPE(AdmUnlockView, adm_unlock_view, GTK_TYPE_WIDGET)

enum { SIG_UNLOCK, SIG_CANCEL, N_SIGNALS };
static guint signals[N_SIGNALS];

void adm_unlock_view_reset(AdmUnlockView *self, const char *message)
{
    gtk_editable_set_text(GTK_EDITABLE(self->pin_entry), "");
    gtk_label_set_text(self->message, message != NULL ? message : "");
    adm_unlock_view_set_busy(self, FALSE);
    gtk_widget_grab_focus(GTK_WIDGET(self->pin_entry));
}

void adm_unlock_view_set_busy(AdmUnlockView *self, gboolean busy)
{
    gtk_widget_set_sensitive(GTK_WIDGET(self->unlock_button), !busy);
    gtk_editable_set_editable(GTK_EDITABLE(self->pin_entry), !busy);
}

static void on_unlock(AdmUnlockView *self)
{
    const char *pin = gtk_editable_get_text(GTK_EDITABLE(self->pin_entry));

    if (!gtk_widget_get_sensitive(GTK_WIDGET(self->unlock_button)))
        return;
    adm_unlock_view_set_busy(self, TRUE);
    gtk_label_set_text(self->message, "Checking…");
    g_signal_emit(self, signals[SIG_UNLOCK], 0, pin);
}

static void on_cancel(AdmUnlockView *self)
{
    g_signal_emit(self, signals[SIG_CANCEL], 0);
}

static void adm_unlock_view_dispose(GObject *obj)
{
    gtk_widget_dispose_template(GTK_WIDGET(obj), ADM_TYPE_UNLOCK_VIEW);
    G_OBJECT_CLASS(adm_unlock_view_parent_class)->dispose(obj);
}

static void adm_unlock_view_init(AdmUnlockView *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
}

static void adm_unlock_view_class_init(AdmUnlockViewClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

    G_OBJECT_CLASS(klass)->dispose = adm_unlock_view_dispose;
    /* unlock (pin) */
    signals[SIG_UNLOCK] = g_signal_new("unlock", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
    signals[SIG_CANCEL] = g_signal_new("cancel", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
    gtk_widget_class_set_template_from_resource(wc, "/org/admit/Scan/adm-unlock-view.ui");
    gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(wc, "unlockview");
    gtk_widget_class_bind_template_child(wc, AdmUnlockView, pin_entry);
    gtk_widget_class_bind_template_child(wc, AdmUnlockView, unlock_button);
    gtk_widget_class_bind_template_child(wc, AdmUnlockView, message);
    gtk_widget_class_bind_template_callback(wc, on_unlock);
    gtk_widget_class_bind_template_callback(wc, on_cancel);
}
