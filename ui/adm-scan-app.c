/* adm-scan-app.c: admit-scan's application: parses the command line
 *   admit-scan [--db FILE] [--camera SPEC] [--kiosk] [--list ID] [--gate NAME]
 *              [--exit] [--enroll URI] [--insecure-http] [--settings FILE]
 * (options override the settings for this run; --kiosk persists), loads the
 * settings, and creates the controller and the window. Not the window's
 * behaviour (adm-scan-window.c). */
#include "ui/adm-scan-app.h"

#include <stdio.h>
#include <string.h>

#include "ui/adm-scan-window.h"
#include "ui/scan-controller.h"
#include "ui/scan-teststate.h"

struct _AdmScanApp {
    GtkApplication parent_instance;

    char *opt_db, *opt_camera, *opt_gate, *opt_enroll, *opt_settings;
    gint64 opt_list;
    gboolean opt_kiosk, opt_exit, opt_insecure;

    AdmScanController *ctl;
    AdmScanWindow *window;
};

G_DEFINE_FINAL_TYPE(AdmScanApp, adm_scan_app, GTK_TYPE_APPLICATION)

static gint handle_local_options(GApplication *app, GVariantDict *opts, gpointer ud)
{
    AdmScanApp *self = ADM_SCAN_APP(app);
    const char *s;
    gint64 list;

    if (g_variant_dict_lookup(opts, "version", "b", NULL)) {
        printf("admit-scan %s\n", ADM_VERSION);
        return 0;
    }
    if (g_variant_dict_lookup(opts, "db", "^&ay", &s))
        self->opt_db = g_strdup(s);
    if (g_variant_dict_lookup(opts, "settings", "^&ay", &s))
        self->opt_settings = g_strdup(s);
    if (g_variant_dict_lookup(opts, "camera", "&s", &s))
        self->opt_camera = g_strdup(s);
    if (g_variant_dict_lookup(opts, "gate", "&s", &s))
        self->opt_gate = g_strdup(s);
    if (g_variant_dict_lookup(opts, "enroll", "&s", &s))
        self->opt_enroll = g_strdup(s);
    if (g_variant_dict_lookup(opts, "list", "x", &list)) {
        if (list < 1 || list > G_MAXUINT32) {
            fprintf(stderr, "admit-scan: --list needs a check-in list id (1..4294967295)\n");
            return 2;
        }
        self->opt_list = list;
    }
    if (self->opt_gate != NULL && (self->opt_gate[0] == '\0' || strlen(self->opt_gate) > 64)) {
        fprintf(stderr, "admit-scan: --gate needs a name of 1 to 64 bytes\n");
        return 2;
    }
    self->opt_kiosk = g_variant_dict_contains(opts, "kiosk");
    self->opt_exit = g_variant_dict_contains(opts, "exit");
    self->opt_insecure = g_variant_dict_contains(opts, "insecure-http");
    return -1;
}

static const char css_fallback[] = "";

static void load_css(void)
{
    GtkCssProvider *css = gtk_css_provider_new();

    gtk_css_provider_load_from_resource(css, "/org/admit/Scan/style.css");
    gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(css);
    (void)css_fallback;
}

static void on_window_destroy(GtkWidget *w, AdmScanApp *self)
{
    self->window = NULL;
}

static void activate(GApplication *app)
{
    AdmScanApp *self = ADM_SCAN_APP(app);
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    adm_scan_settings_t *settings = NULL;

    if (self->window != NULL) {
        gtk_window_present(GTK_WINDOW(self->window));
        return;
    }
    path = self->opt_settings != NULL ? g_strdup(self->opt_settings)
                                      : adm_scan_settings_default_path();
    if (!adm_scan_settings_load(path, &settings, &err)) {
        g_printerr("admit-scan: %s (using the defaults)\n", err->message);
        settings = adm_scan_settings_new();
    }
    if (self->opt_kiosk && settings->pin_hash == NULL)
        g_printerr("admit-scan: --kiosk needs an organiser PIN: set one in Setup (or kiosk_pin "
                   "in %s); starting without kiosk mode\n",
                   path);
    self->ctl = adm_scan_controller_new(adm_scan_settings_copy(settings), path);
    /* options override the settings for this run only */
    if (self->opt_db != NULL) {
        g_free(settings->db_path);
        settings->db_path = g_strdup(self->opt_db);
    }
    if (self->opt_camera != NULL) {
        g_free(settings->camera);
        settings->camera = g_strdup(self->opt_camera);
    }
    if (self->opt_gate != NULL) {
        g_free(settings->gate);
        settings->gate = g_strdup(self->opt_gate);
    }
    if (self->opt_list != 0)
        settings->list_id = (uint32_t)self->opt_list;
    if (self->opt_exit)
        settings->exit_mode = TRUE;
    adm_scan_controller_override(self->ctl, settings);
    adm_scan_settings_free(settings);
    adm_scan_controller_set_insecure_http(self->ctl, self->opt_insecure);
    /* --kiosk persists (it is the one option saved): it survives restarts */
    if (self->opt_kiosk)
        adm_scan_controller_enter_kiosk(self->ctl);
    load_css();
    self->window = adm_scan_window_new(GTK_APPLICATION(app), self->ctl);
    g_signal_connect(self->window, "destroy", G_CALLBACK(on_window_destroy), self);
    adm_scan_controller_start(self->ctl);
    if (self->opt_enroll != NULL)
        adm_scan_controller_enroll(self->ctl, self->opt_enroll);
    gtk_window_present(GTK_WINDOW(self->window));
}

static void shutdown_app(GApplication *app)
{
    AdmScanApp *self = ADM_SCAN_APP(app);

    if (self->ctl != NULL)
        adm_scan_controller_stop(self->ctl);
    G_APPLICATION_CLASS(adm_scan_app_parent_class)->shutdown(app);
}

static void adm_scan_app_finalize(GObject *obj)
{
    AdmScanApp *self = ADM_SCAN_APP(obj);

    g_clear_object(&self->ctl);
    g_free(self->opt_db);
    g_free(self->opt_camera);
    g_free(self->opt_gate);
    if (self->opt_enroll != NULL)
        memset(self->opt_enroll, 0, strlen(self->opt_enroll));
    g_free(self->opt_enroll);
    g_free(self->opt_settings);
    G_OBJECT_CLASS(adm_scan_app_parent_class)->finalize(obj);
}

static void adm_scan_app_init(AdmScanApp *self)
{
    static const GOptionEntry entries[] = {
        {"db", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Gate store (default: the settings' db)", "FILE"},
        {"camera", 0, 0, G_OPTION_ARG_STRING, NULL,
         "Camera source: v4l2:/dev/videoN, folder:DIR?fps=N, image:FILE", "SPEC"},
        {"kiosk", 0, 0, G_OPTION_ARG_NONE, NULL,
         "Self-service kiosk mode (persists until the organiser PIN unlocks it)", NULL},
        {"list", 0, 0, G_OPTION_ARG_INT64, NULL, "Check-in list id", "ID"},
        {"gate", 0, 0, G_OPTION_ARG_STRING, NULL, "Gate name (default: the enrolled gate)", "NAME"},
        {"exit", 0, 0, G_OPTION_ARG_NONE, NULL, "Exit scans instead of entry", NULL},
        {"enroll", 0, 0, G_OPTION_ARG_STRING, NULL,
         "Enroll with an enrollment code admit-enroll:<URL>#<token>", "URI"},
        {"insecure-http", 0, 0, G_OPTION_ARG_NONE, NULL,
         "Allow a plain http:// server (tests, a venue LAN without TLS)", NULL},
        {"settings", 0, 0, G_OPTION_ARG_FILENAME, NULL,
         "Settings file (default: $XDG_CONFIG_HOME/admit-scan/settings.ini)", "FILE"},
        {"version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };

    g_application_add_main_option_entries(G_APPLICATION(self), entries);
    g_application_set_option_context_summary(G_APPLICATION(self),
                                             "The admit crew scanner and self-service gate kiosk.");
    g_signal_connect(self, "handle-local-options", G_CALLBACK(handle_local_options), NULL);
}

static void adm_scan_app_class_init(AdmScanAppClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = adm_scan_app_finalize;
    G_APPLICATION_CLASS(klass)->activate = activate;
    G_APPLICATION_CLASS(klass)->shutdown = shutdown_app;
}

AdmScanApp *adm_scan_app_new(void)
{
    /* NON_UNIQUE: a gate runs one instance, but tests run several and a
     * kiosk must not depend on a session bus */
    return g_object_new(ADM_TYPE_SCAN_APP, "application-id", "org.admit.Scan", "flags",
                        G_APPLICATION_NON_UNIQUE, NULL);
}
