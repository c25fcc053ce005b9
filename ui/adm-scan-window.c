/* adm-scan-window.c: admit-scan's main window (see the header). Everything
 * here runs on the UI thread; nothing blocks (the controller's workers do
 * the disk, camera and network). */
#include "ui/adm-scan-window.h"

#include <jansson.h>
#include <string.h>

#include "ui/adm-scan-view.h"
#include "ui/adm-setup-view.h"
#include "ui/adm-status-bar.h"
#include "ui/adm-unlock-view.h"
#include "ui/adm-verdict-view.h"
#include "ui/scan-teststate.h"

#define WIDE_PX 1000  /* from this width on, the "wide" style (bigger verdict text) */
#define NARROW_PX 600 /* below it, "narrow" */

struct _AdmScanWindow {
    GtkApplicationWindow parent_instance;

    AdmScanController *ctl;
    GtkWidget *header;
    GtkWidget *setup_button;
    GtkWidget *search_button;
    GtkWidget *mute_button;
    GtkStack *stack;
    AdmScanView *scan_view;
    AdmVerdictView *verdict_view;
    AdmSetupView *setup_view;
    AdmUnlockView *unlock_view;
    AdmStatusBar *status_bar;

    guint verdict_timer;
    adm_scan_verdict_t *last; /* the verdict on screen, for the test state */
    GtkMediaStream *sounds[3];
    char *last_state_key; /* the status fields last written to the test state */
    gboolean kiosk_applied;
    gboolean quit_after_unlock;
};

G_DEFINE_FINAL_TYPE(AdmScanWindow, adm_scan_window, GTK_TYPE_APPLICATION_WINDOW)

static const char *const sound_paths[] = {
    "/org/admit/Scan/sounds/admit.wav",
    "/org/admit/Scan/sounds/refuse.wav",
    "/org/admit/Scan/sounds/attention.wav",
};

/* ---- test state ---- */

static void write_state(AdmScanWindow *self, const char *event)
{
    const adm_scan_status_t *st;
    json_t *o;

    if (!adm_scan_teststate_enabled())
        return;
    st = adm_scan_controller_get_status(self->ctl);
    o = json_object();
    json_object_set_new(o, "view", json_string(gtk_stack_get_visible_child_name(self->stack)));
    json_object_set_new(o, "kiosk", json_boolean(adm_scan_controller_get_kiosk(self->ctl)));
    json_object_set_new(o, "fullscreen", json_boolean(gtk_window_is_fullscreen(GTK_WINDOW(self))));
    json_object_set_new(o, "decorated", json_boolean(gtk_window_get_decorated(GTK_WINDOW(self))));
    json_object_set_new(o, "width", json_integer(gtk_widget_get_width(GTK_WIDGET(self))));
    json_object_set_new(o, "height", json_integer(gtk_widget_get_height(GTK_WIDGET(self))));
    json_object_set_new(o, "link", json_string(adm_status_bar_get_link(self->status_bar)));
    json_object_set_new(o, "enrolled", json_boolean(st->enrolled));
    json_object_set_new(o, "event_id", json_integer(st->event_id));
    json_object_set_new(o, "gate", json_string(st->gate));
    json_object_set_new(o, "list_id", json_integer(st->list_id));
    json_object_set_new(o, "list_name", json_string(st->list_name != NULL ? st->list_name : ""));
    json_object_set_new(o, "lists", json_integer(st->lists != NULL ? st->lists->len : 0));
    json_object_set_new(o, "exit_mode", json_boolean(st->exit_mode));
    json_object_set_new(o, "pending", json_integer(st->pending));
    json_object_set_new(o, "admitted", json_integer(st->admitted));
    json_object_set_new(o, "refused", json_integer(st->refused));
    json_object_set_new(o, "camera", json_string(st->camera));
    if (self->last != NULL && strcmp(event, "verdict") == 0) {
        const adm_scan_verdict_t *v = self->last;
        json_object_set_new(o, "verdict", json_string(v->verdict));
        json_object_set_new(o, "reason", json_string(v->reason));
        json_object_set_new(o, "class", json_string(adm_scan_class_name(v->klass)));
        json_object_set_new(o, "title",
                            json_string(adm_verdict_view_get_title(self->verdict_view)));
        json_object_set_new(o, "detail", json_string(v->detail));
        json_object_set_new(o, "type", json_string(v->type_name));
        json_object_set_new(o, "seat", json_string(v->seat));
        json_object_set_new(o, "direction", json_string(v->direction));
        json_object_set_new(o, "first_used", json_string(v->first_used));
        json_object_set_new(o, "input",
                            json_string(v->input == ADM_SCAN_INPUT_CAMERA ? "camera" : "keyboard"));
        if (v->has_ticket)
            json_object_set_new(o, "ticket", json_integer((json_int_t)v->ticket_id));
    }
    adm_scan_teststate_write(event, o);
    json_decref(o);
}

static void write_state_msg(AdmScanWindow *self, const char *event, const char *key,
                            const char *value, gboolean ok)
{
    json_t *o;

    if (!adm_scan_teststate_enabled())
        return;
    o = json_pack("{s:s,s:b,s:s}", key, value != NULL ? value : "", "ok", ok, "view",
                  gtk_stack_get_visible_child_name(self->stack));
    adm_scan_teststate_write(event, o);
    json_decref(o);
}

/* ---- pages ---- */

static void show_page(AdmScanWindow *self, const char *name)
{
    gboolean setup = strcmp(name, "setup") == 0;

    if (strcmp(name, "verdict") != 0 && self->verdict_timer != 0) {
        g_source_remove(self->verdict_timer);
        self->verdict_timer = 0;
    }
    gtk_stack_set_visible_child_name(self->stack, name);
    adm_scan_controller_arm_enrollment(self->ctl, setup);
    if (strcmp(name, "scan") == 0)
        adm_scan_view_focus_entry(self->scan_view, NULL);
    else if (setup)
        adm_setup_view_focus(self->setup_view);
    else if (strcmp(name, "verdict") == 0)
        gtk_widget_grab_focus(GTK_WIDGET(self->verdict_view));
    write_state(self, "view");
}

static const char *page(AdmScanWindow *self)
{
    const char *n = gtk_stack_get_visible_child_name(self->stack);
    return n != NULL ? n : "";
}

static void ask_pin(AdmScanWindow *self, const char *why)
{
    show_page(self, "unlock");
    adm_unlock_view_reset(self->unlock_view, why);
}

/* ---- kiosk ---- */

static void apply_kiosk(AdmScanWindow *self)
{
    gboolean kiosk = adm_scan_controller_get_kiosk(self->ctl);

    gtk_window_set_decorated(GTK_WINDOW(self), !kiosk);
    gtk_window_set_deletable(GTK_WINDOW(self), !kiosk);
    gtk_widget_set_visible(self->header, !kiosk);
    adm_scan_view_set_kiosk(self->scan_view, kiosk);
    if (kiosk) {
        GListModel *monitors = gdk_display_get_monitors(gtk_widget_get_display(GTK_WIDGET(self)));
        GdkMonitor *m =
            g_list_model_get_n_items(monitors) > 0 ? g_list_model_get_item(monitors, 0) : NULL;
        gtk_widget_add_css_class(GTK_WIDGET(self), "kiosk");
        /* the whole screen even where nothing honours fullscreen (a bare X
         * server without a window manager, as on some kiosks) */
        if (m != NULL) {
            GdkRectangle r;
            gdk_monitor_get_geometry(m, &r);
            gtk_window_set_default_size(GTK_WINDOW(self), r.width, r.height);
            g_object_unref(m);
        }
        gtk_window_fullscreen(GTK_WINDOW(self));
    } else {
        gtk_widget_remove_css_class(GTK_WIDGET(self), "kiosk");
        if (self->kiosk_applied)
            gtk_window_unfullscreen(GTK_WINDOW(self));
    }
    self->kiosk_applied = kiosk;
}

static void on_kiosk_changed(AdmScanController *ctl, gboolean on, AdmScanWindow *self)
{
    apply_kiosk(self);
    if (!on && strcmp(page(self), "unlock") == 0)
        show_page(self, "scan");
    write_state(self, "kiosk");
}

static void on_unlock_result(AdmScanController *ctl, gboolean ok, AdmScanWindow *self)
{
    write_state_msg(self, "unlock", "result", ok ? "unlocked" : "wrong_pin", ok);
    if (!ok) {
        adm_unlock_view_reset(self->unlock_view, "Wrong PIN. The kiosk stays locked.");
        return;
    }
    if (self->quit_after_unlock) {
        GApplication *app = G_APPLICATION(gtk_window_get_application(GTK_WINDOW(self)));
        if (app != NULL)
            g_application_quit(app);
    }
}

static void on_unlock(AdmUnlockView *v, const char *pin, AdmScanWindow *self)
{
    if (!adm_scan_controller_get_kiosk(self->ctl)) {
        show_page(self, "scan");
        return;
    }
    adm_scan_controller_unlock(self->ctl, pin);
}

static void on_unlock_cancel(AdmUnlockView *v, AdmScanWindow *self)
{
    self->quit_after_unlock = FALSE;
    show_page(self, "scan");
}

static gboolean on_close_request(GtkWindow *w, gpointer ud)
{
    AdmScanWindow *self = ADM_SCAN_WINDOW(w);

    if (!adm_scan_controller_get_kiosk(self->ctl))
        return FALSE;
    self->quit_after_unlock = TRUE;
    ask_pin(self, "Closing the kiosk needs the organiser PIN.");
    return TRUE; /* stays open */
}

void adm_scan_window_request_quit(AdmScanWindow *self)
{
    if (adm_scan_controller_get_kiosk(self->ctl)) {
        self->quit_after_unlock = TRUE;
        ask_pin(self, "Closing the kiosk needs the organiser PIN.");
        return;
    }
    gtk_window_destroy(GTK_WINDOW(self));
}

/* ---- verdicts ---- */

static void play_sound(AdmScanWindow *self, adm_scan_class_t k)
{
    GtkMediaStream *s;

    if (adm_scan_controller_get_settings(self->ctl)->muted || (guint)k >= 3)
        return;
    if (self->sounds[k] == NULL)
        self->sounds[k] = gtk_media_file_new_for_resource(sound_paths[k]);
    s = self->sounds[k];
    write_state_msg(self, "sound", "class", adm_scan_class_name(k),
                    gtk_media_stream_get_error(s) == NULL);
    if (gtk_media_stream_get_error(s) != NULL)
        return; /* no audio here (no media backend or sound device): stay silent */
    if (gtk_media_stream_get_playing(s))
        gtk_media_stream_pause(s);
    if (gtk_media_stream_is_seekable(s))
        gtk_media_stream_seek(s, 0);
    gtk_media_stream_play(s);
}

static gboolean on_verdict_timeout(gpointer p)
{
    AdmScanWindow *self = p;

    self->verdict_timer = 0;
    if (strcmp(page(self), "verdict") == 0)
        show_page(self, "scan");
    return G_SOURCE_REMOVE;
}

static void on_verdict(AdmScanController *ctl, adm_scan_verdict_t *v, AdmScanWindow *self)
{
    const char *p = page(self);

    adm_scan_verdict_free(self->last);
    self->last = adm_scan_verdict_copy(v);
    adm_verdict_view_show(self->verdict_view, v);
    /* a scan from the camera while Setup or the PIN page is open is still
     * journaled, but it does not take the screen away from the organiser */
    if (strcmp(p, "setup") != 0 && strcmp(p, "unlock") != 0) {
        if (self->verdict_timer != 0)
            g_source_remove(self->verdict_timer);
        self->verdict_timer = 0;
        gtk_stack_set_visible_child_name(self->stack, "verdict");
        gtk_widget_grab_focus(GTK_WIDGET(self->verdict_view));
        self->verdict_timer = g_timeout_add(adm_scan_controller_get_settings(ctl)->delay_ms,
                                            on_verdict_timeout, self);
    }
    play_sound(self, v->klass);
    write_state(self, "verdict");
}

static void on_verdict_dismissed(AdmVerdictView *v, AdmScanWindow *self)
{
    show_page(self, "scan");
}

/* Keys while a verdict is shown: Enter, Escape or Space go back to scanning;
 * a printable key goes back and starts the next code (a keyboard wedge does
 * not wait for the timer). Escape leaves Setup. */
static gboolean on_key(GtkEventControllerKey *kc, guint keyval, guint code, GdkModifierType state,
                       AdmScanWindow *self)
{
    const char *p = page(self);
    gunichar ch;

    if (strcmp(p, "setup") == 0 && keyval == GDK_KEY_Escape) {
        show_page(self, "scan");
        return TRUE;
    }
    if (strcmp(p, "unlock") == 0 && keyval == GDK_KEY_Escape) {
        on_unlock_cancel(self->unlock_view, self);
        return TRUE;
    }
    if (strcmp(p, "verdict") != 0 || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK)) != 0)
        return FALSE;
    if (keyval == GDK_KEY_Escape || keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter ||
        keyval == GDK_KEY_space) {
        show_page(self, "scan");
        return TRUE;
    }
    ch = gdk_keyval_to_unicode(keyval);
    if (ch != 0 && g_unichar_isprint(ch)) {
        char buf[8] = {0};
        g_unichar_to_utf8(ch, buf);
        show_page(self, "scan");
        adm_scan_view_focus_entry(self->scan_view, buf);
        return TRUE;
    }
    return FALSE;
}

/* ---- status, search, setup ---- */

static void on_status(AdmScanController *ctl, AdmScanWindow *self)
{
    const adm_scan_status_t *st = adm_scan_controller_get_status(ctl);
    g_autofree char *key = NULL;

    adm_status_bar_update(self->status_bar, st, g_get_real_time() / G_USEC_PER_SEC);
    adm_setup_view_update(self->setup_view);
    adm_scan_view_set_camera_text(self->scan_view,
                                  st->camera[0] ? st->camera
                                                : "No camera: scan with a keyboard-wedge scanner "
                                                  "or type the code");
    key = g_strdup_printf("%d|%d|%u|%s|%u|%d|%d|%u|%s|%" G_GINT64_FORMAT, st->enrolled, st->online,
                          st->event_id, st->gate, st->list_id, st->exit_mode, st->camera_running,
                          st->lists != NULL ? st->lists->len : 0, st->camera, st->pending);
    if (g_strcmp0(key, self->last_state_key) != 0) {
        g_free(self->last_state_key);
        self->last_state_key = g_steal_pointer(&key);
        write_state(self, "status");
    }
}

static void on_preview(AdmScanController *ctl, GBytes *px, int w, int h, AdmScanWindow *self)
{
    if (strcmp(page(self), "scan") == 0 || strcmp(page(self), "setup") == 0)
        adm_scan_view_set_frame(self->scan_view, px, w, h);
}

static void on_search_result(AdmScanController *ctl, const char *title, const char *body,
                             AdmScanWindow *self)
{
    adm_scan_view_set_search_result(self->scan_view, title, body);
    write_state_msg(self, "search", "body", body, TRUE);
}

static void on_enrolled(AdmScanController *ctl, gboolean ok, const char *msg, AdmScanWindow *self)
{
    adm_setup_view_set_message(self->setup_view, msg);
    write_state_msg(self, "enrolled", "message", msg, ok);
}

static void on_notice(AdmScanController *ctl, const char *msg, AdmScanWindow *self)
{
    adm_setup_view_set_message(self->setup_view, msg);
    write_state_msg(self, "notice", "message", msg, TRUE);
}

static void on_submit(AdmScanView *v, const char *text, AdmScanWindow *self)
{
    adm_scan_controller_submit(self->ctl, text, ADM_SCAN_INPUT_KEYBOARD);
}

static void on_search(AdmScanView *v, const char *q, AdmScanWindow *self)
{
    if (adm_scan_controller_get_kiosk(self->ctl))
        return;
    adm_scan_controller_search(self->ctl, q);
}

static void on_setup_done(AdmSetupView *v, AdmScanWindow *self)
{
    show_page(self, "scan");
}

static void on_start_kiosk(AdmSetupView *v, AdmScanWindow *self)
{
    if (adm_scan_controller_enter_kiosk(self->ctl))
        show_page(self, "scan");
}

/* ---- actions ---- */

static void act_setup(GtkWidget *w, const char *name, GVariant *param)
{
    AdmScanWindow *self = ADM_SCAN_WINDOW(w);

    if (adm_scan_controller_get_kiosk(self->ctl)) {
        self->quit_after_unlock = FALSE;
        ask_pin(self, "Setup needs the organiser PIN.");
        return;
    }
    show_page(self, strcmp(page(self), "setup") == 0 ? "scan" : "setup");
}

static void act_search(GtkWidget *w, const char *name, GVariant *param)
{
    AdmScanWindow *self = ADM_SCAN_WINDOW(w);

    if (adm_scan_controller_get_kiosk(self->ctl))
        return;
    show_page(self, "scan");
    adm_scan_view_start_search(self->scan_view);
}

static void act_mute(GtkWidget *w, const char *name, GVariant *param)
{
    AdmScanWindow *self = ADM_SCAN_WINDOW(w);
    gboolean muted = !adm_scan_controller_get_settings(self->ctl)->muted;

    if (adm_scan_controller_get_kiosk(self->ctl))
        return;
    adm_scan_controller_set_muted(self->ctl, muted);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(self->mute_button), muted);
    write_state_msg(self, "mute", "muted", muted ? "true" : "false", TRUE);
}

static void act_quit(GtkWidget *w, const char *name, GVariant *param)
{
    adm_scan_window_request_quit(ADM_SCAN_WINDOW(w));
}

/* ---- size classes ---- */

static void adm_scan_window_size_allocate(GtkWidget *w, int width, int height, int baseline)
{
    GTK_WIDGET_CLASS(adm_scan_window_parent_class)->size_allocate(w, width, height, baseline);
    /* only flips a class when a threshold is crossed: at most one relayout */
    if ((width >= WIDE_PX) != gtk_widget_has_css_class(w, "wide")) {
        if (width >= WIDE_PX)
            gtk_widget_add_css_class(w, "wide");
        else
            gtk_widget_remove_css_class(w, "wide");
    }
    if ((width < NARROW_PX) != gtk_widget_has_css_class(w, "narrow")) {
        if (width < NARROW_PX)
            gtk_widget_add_css_class(w, "narrow");
        else
            gtk_widget_remove_css_class(w, "narrow");
    }
}

static void on_map_state(AdmScanWindow *self)
{
    write_state(self, "window");
}

/* ---- life cycle ---- */

AdmScanWindow *adm_scan_window_new(GtkApplication *app, AdmScanController *ctl)
{
    AdmScanWindow *self = g_object_new(ADM_TYPE_SCAN_WINDOW, "application", app, NULL);

    self->ctl = g_object_ref(ctl);
    adm_setup_view_set_controller(self->setup_view, ctl);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(self->mute_button),
                                 adm_scan_controller_get_settings(ctl)->muted);
    g_signal_connect_object(ctl, "verdict", G_CALLBACK(on_verdict), self, 0);
    g_signal_connect_object(ctl, "status-changed", G_CALLBACK(on_status), self, 0);
    g_signal_connect_object(ctl, "preview", G_CALLBACK(on_preview), self, 0);
    g_signal_connect_object(ctl, "search-result", G_CALLBACK(on_search_result), self, 0);
    g_signal_connect_object(ctl, "enrolled", G_CALLBACK(on_enrolled), self, 0);
    g_signal_connect_object(ctl, "notice", G_CALLBACK(on_notice), self, 0);
    g_signal_connect_object(ctl, "kiosk-changed", G_CALLBACK(on_kiosk_changed), self, 0);
    g_signal_connect_object(ctl, "unlock-result", G_CALLBACK(on_unlock_result), self, 0);
    apply_kiosk(self);
    on_status(ctl, self);
    return self;
}

static void adm_scan_window_dispose(GObject *obj)
{
    AdmScanWindow *self = ADM_SCAN_WINDOW(obj);

    if (self->verdict_timer != 0)
        g_source_remove(self->verdict_timer);
    self->verdict_timer = 0;
    for (guint i = 0; i < G_N_ELEMENTS(self->sounds); i++)
        g_clear_object(&self->sounds[i]);
    if (self->ctl != NULL)
        g_signal_handlers_disconnect_by_data(self->ctl, self);
    g_clear_object(&self->ctl);
    g_clear_pointer(&self->last, adm_scan_verdict_free);
    g_clear_pointer(&self->last_state_key, g_free);
    gtk_widget_dispose_template(GTK_WIDGET(obj), ADM_TYPE_SCAN_WINDOW);
    G_OBJECT_CLASS(adm_scan_window_parent_class)->dispose(obj);
}

static void adm_scan_window_init(AdmScanWindow *self)
{
    GtkEventController *keys = gtk_event_controller_key_new();

    g_type_ensure(ADM_TYPE_SCAN_VIEW);
    g_type_ensure(ADM_TYPE_VERDICT_VIEW);
    g_type_ensure(ADM_TYPE_SETUP_VIEW);
    g_type_ensure(ADM_TYPE_UNLOCK_VIEW);
    g_type_ensure(ADM_TYPE_STATUS_BAR);
    gtk_widget_init_template(GTK_WIDGET(self));
    gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
    g_signal_connect(keys, "key-pressed", G_CALLBACK(on_key), self);
    gtk_widget_add_controller(GTK_WIDGET(self), keys);
    g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), NULL);
    g_signal_connect(self->verdict_view, "dismissed", G_CALLBACK(on_verdict_dismissed), self);
    g_signal_connect(self->scan_view, "submit", G_CALLBACK(on_submit), self);
    g_signal_connect(self->scan_view, "search", G_CALLBACK(on_search), self);
    g_signal_connect(self->setup_view, "done", G_CALLBACK(on_setup_done), self);
    g_signal_connect(self->setup_view, "start-kiosk", G_CALLBACK(on_start_kiosk), self);
    g_signal_connect(self->unlock_view, "unlock", G_CALLBACK(on_unlock), self);
    g_signal_connect(self->unlock_view, "cancel", G_CALLBACK(on_unlock_cancel), self);
    g_signal_connect(self, "map", G_CALLBACK(on_map_state), NULL);
    g_signal_connect_swapped(self, "notify::fullscreened", G_CALLBACK(on_map_state), self);
    gtk_widget_set_focusable(GTK_WIDGET(self->verdict_view), TRUE);
}

static void adm_scan_window_class_init(AdmScanWindowClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

    G_OBJECT_CLASS(klass)->dispose = adm_scan_window_dispose;
    wc->size_allocate = adm_scan_window_size_allocate;
    gtk_widget_class_set_template_from_resource(wc, "/org/admit/Scan/adm-scan-window.ui");
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, header);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, setup_button);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, search_button);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, mute_button);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, stack);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, scan_view);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, verdict_view);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, setup_view);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, unlock_view);
    gtk_widget_class_bind_template_child(wc, AdmScanWindow, status_bar);
    gtk_widget_class_install_action(wc, "win.setup", NULL, act_setup);
    gtk_widget_class_install_action(wc, "win.search", NULL, act_search);
    gtk_widget_class_install_action(wc, "win.mute", NULL, act_mute);
    gtk_widget_class_install_action(wc, "win.quit", NULL, act_quit);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_comma, GDK_CONTROL_MASK, "win.setup", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_m, GDK_CONTROL_MASK, "win.mute", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_q, GDK_CONTROL_MASK, "win.quit", NULL);
}
