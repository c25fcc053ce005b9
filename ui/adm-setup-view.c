/* adm-setup-view.c: admit-scan's Setup page (see the header). */
#include "ui/adm-setup-view.h"

#include <string.h>

struct _AdmSetupView {
    GtkWidget parent_instance;

    AdmScanController *ctl;
    guint lists_serial;
    GArray *list_ids; /* uint32_t per dropdown row; row 0 = automatic */

    GtkLabel *enroll_state;
    GtkEntry *enroll_entry;
    GtkDropDown *list_dropdown;
    GtkStringList *list_model;
    GtkEntry *gate_entry;
    GtkDropDown *direction_dropdown;
    GtkSpinButton *delay_spin;
    GtkCheckButton *muted_check;
    GtkEntry *camera_entry;
    GtkPasswordEntry *pin_entry;
    GtkLabel *message;
    GtkButton *back_button;
};

G_DEFINE_FINAL_TYPE(AdmSetupView, adm_setup_view, GTK_TYPE_WIDGET)

enum { SIG_DONE, SIG_KIOSK, N_SIGNALS };
static guint signals[N_SIGNALS];

void adm_setup_view_set_message(AdmSetupView *self, const char *msg)
{
    gtk_label_set_text(self->message, msg);
}

void adm_setup_view_focus(AdmSetupView *self)
{
    gtk_widget_grab_focus(GTK_WIDGET(self->enroll_entry));
}

static void fill_lists(AdmSetupView *self, const adm_scan_status_t *st)
{
    const adm_scan_settings_t *set = adm_scan_controller_get_settings(self->ctl);
    guint n = g_list_model_get_n_items(G_LIST_MODEL(self->list_model)), selected = 0;
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    uint32_t zero = 0;

    g_array_set_size(self->list_ids, 0);
    g_array_append_val(self->list_ids, zero);
    g_ptr_array_add(items, g_strdup("Automatic (first list for this gate)"));
    for (guint i = 0; st->lists != NULL && i < st->lists->len; i++) {
        adm_scan_list_t *li = g_ptr_array_index(st->lists, i);
        g_autofree char *gates = li->gates[0] ? g_strjoinv(", ", li->gates) : g_strdup("any gate");
        g_ptr_array_add(items,
                        g_strdup_printf("%u · %s (%s; %s)", li->id, li->name, gates, li->reentry));
        g_array_append_val(self->list_ids, li->id);
        if (li->id == set->list_id)
            selected = i + 1;
    }
    g_ptr_array_add(items, NULL);
    gtk_string_list_splice(self->list_model, 0, n, (const char *const *)items->pdata);
    g_ptr_array_unref(items);
    gtk_drop_down_set_selected(self->list_dropdown, selected);
}

void adm_setup_view_update(AdmSetupView *self)
{
    const adm_scan_status_t *st;
    g_autofree char *state = NULL;

    if (self->ctl == NULL)
        return;
    st = adm_scan_controller_get_status(self->ctl);
    if (!st->store_ok)
        state = g_strdup_printf("Gate store problem: %s", st->store_error);
    else if (st->enrolled)
        state = g_strdup_printf("Enrolled as %s with %s, event %u.", st->device, st->server,
                                st->event_id);
    else
        state = g_strdup("Not enrolled. Type the organiser's enrollment code, or hold its QR "
                         "code in front of the camera while this page is open.");
    if (g_strcmp0(gtk_label_get_text(self->enroll_state), state) != 0)
        gtk_label_set_text(self->enroll_state, state);
    if (st->lists_serial != self->lists_serial) {
        self->lists_serial = st->lists_serial;
        fill_lists(self, st);
    }
}

void adm_setup_view_set_controller(AdmSetupView *self, AdmScanController *ctl)
{
    const adm_scan_settings_t *set = adm_scan_controller_get_settings(ctl);

    self->ctl = ctl;
    gtk_editable_set_text(GTK_EDITABLE(self->gate_entry), set->gate != NULL ? set->gate : "");
    gtk_drop_down_set_selected(self->direction_dropdown, set->exit_mode ? 1 : 0);
    gtk_spin_button_set_value(self->delay_spin, set->delay_ms);
    gtk_check_button_set_active(self->muted_check, set->muted);
    gtk_editable_set_text(GTK_EDITABLE(self->camera_entry), set->camera != NULL ? set->camera : "");
    self->lists_serial = G_MAXUINT;
    adm_setup_view_update(self);
}

static void on_enroll(AdmSetupView *self)
{
    const char *uri = gtk_editable_get_text(GTK_EDITABLE(self->enroll_entry));

    if (uri[0] == '\0') {
        adm_setup_view_set_message(self, "Type or paste the enrollment code first.");
        return;
    }
    adm_setup_view_set_message(self, "Enrolling…");
    adm_scan_controller_enroll(self->ctl, uri);
    gtk_editable_set_text(GTK_EDITABLE(self->enroll_entry), "");
}

static void on_apply(AdmSetupView *self)
{
    guint sel = gtk_drop_down_get_selected(self->list_dropdown);
    uint32_t list = sel < self->list_ids->len ? g_array_index(self->list_ids, uint32_t, sel) : 0;
    const char *gate = gtk_editable_get_text(GTK_EDITABLE(self->gate_entry));
    gboolean exit_mode = gtk_drop_down_get_selected(self->direction_dropdown) == 1;
    const adm_scan_settings_t *set = adm_scan_controller_get_settings(self->ctl);
    const char *camera = gtk_editable_get_text(GTK_EDITABLE(self->camera_entry));

    adm_scan_controller_set_context(self->ctl, list, gate, exit_mode);
    adm_scan_controller_set_delay(self->ctl,
                                  (guint)gtk_spin_button_get_value_as_int(self->delay_spin));
    adm_scan_controller_set_muted(self->ctl, gtk_check_button_get_active(self->muted_check));
    if (g_strcmp0(camera, set->camera != NULL ? set->camera : "") != 0)
        adm_scan_controller_set_camera(self->ctl, camera);
    adm_setup_view_set_message(self, "Settings saved.");
}

static void on_sync(AdmSetupView *self)
{
    adm_setup_view_set_message(self, "Syncing…");
    adm_scan_controller_sync_now(self->ctl);
}

static void on_set_pin(AdmSetupView *self)
{
    const char *pin = gtk_editable_get_text(GTK_EDITABLE(self->pin_entry));

    adm_scan_controller_set_pin(self->ctl, pin);
    gtk_editable_set_text(GTK_EDITABLE(self->pin_entry), "");
    adm_setup_view_set_message(self, "Saving the PIN…");
}

static void on_kiosk(AdmSetupView *self)
{
    if (!adm_scan_controller_get_settings(self->ctl)->pin_hash) {
        adm_setup_view_set_message(self, "Set an organiser PIN first: it is needed to leave "
                                         "kiosk mode.");
        return;
    }
    g_signal_emit(self, signals[SIG_KIOSK], 0);
}

static void on_back(AdmSetupView *self)
{
    g_signal_emit(self, signals[SIG_DONE], 0);
}

static void adm_setup_view_dispose(GObject *obj)
{
    gtk_widget_dispose_template(GTK_WIDGET(obj), ADM_TYPE_SETUP_VIEW);
    G_OBJECT_CLASS(adm_setup_view_parent_class)->dispose(obj);
}

static void adm_setup_view_finalize(GObject *obj)
{
    g_array_unref(ADM_SETUP_VIEW(obj)->list_ids);
    G_OBJECT_CLASS(adm_setup_view_parent_class)->finalize(obj);
}

static void adm_setup_view_init(AdmSetupView *self)
{
    self->list_ids = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    gtk_widget_init_template(GTK_WIDGET(self));
}

static void adm_setup_view_class_init(AdmSetupViewClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

    G_OBJECT_CLASS(klass)->dispose = adm_setup_view_dispose;
    G_OBJECT_CLASS(klass)->finalize = adm_setup_view_finalize;
    signals[SIG_DONE] = g_signal_new("done", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                     NULL, NULL, G_TYPE_NONE, 0);
    signals[SIG_KIOSK] = g_signal_new("start-kiosk", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                      NULL, NULL, NULL, G_TYPE_NONE, 0);
    gtk_widget_class_set_template_from_resource(wc, "/org/admit/Scan/adm-setup-view.ui");
    gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(wc, "setupview");
    gtk_widget_class_bind_template_child(wc, AdmSetupView, enroll_state);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, enroll_entry);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, list_dropdown);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, list_model);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, gate_entry);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, direction_dropdown);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, delay_spin);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, muted_check);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, camera_entry);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, pin_entry);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, message);
    gtk_widget_class_bind_template_child(wc, AdmSetupView, back_button);
    gtk_widget_class_bind_template_callback(wc, on_enroll);
    gtk_widget_class_bind_template_callback(wc, on_apply);
    gtk_widget_class_bind_template_callback(wc, on_sync);
    gtk_widget_class_bind_template_callback(wc, on_set_pin);
    gtk_widget_class_bind_template_callback(wc, on_kiosk);
    gtk_widget_class_bind_template_callback(wc, on_back);
}
