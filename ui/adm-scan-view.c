/* adm-scan-view.c: admit-scan's scanning page (see the header). */
#include "ui/adm-scan-view.h"

#include <string.h>

struct _AdmScanView {
    GtkWidget parent_instance;

    GtkLabel *instructions;
    GtkPicture *preview;
    GtkLabel *camera_label;
    GtkEntry *entry;
    GtkButton *check_button;
    GtkButton *search_button;
    GtkWidget *search_box;
    GtkLabel *search_title;
    GtkLabel *search_body;
    gboolean kiosk;
};

G_DEFINE_FINAL_TYPE(AdmScanView, adm_scan_view, GTK_TYPE_WIDGET)

enum { SIG_SUBMIT, SIG_SEARCH, N_SIGNALS };
static guint signals[N_SIGNALS];

#define MAX_PREVIEW_SIDE 4096

void adm_scan_view_set_frame(AdmScanView *self, GBytes *grey, int width, int height)
{
    gsize n = 0;
    const guint8 *src = g_bytes_get_data(grey, &n);
    g_autoptr(GBytes) rgb = NULL;
    g_autoptr(GdkTexture) tex = NULL;
    guint8 *dst;

    if (width <= 0 || height <= 0 || width > MAX_PREVIEW_SIDE || height > MAX_PREVIEW_SIDE ||
        n < (gsize)width * (gsize)height)
        return;
    /* GTK 4.8 has no grey memory format: expand to RGB */
    dst = g_malloc((gsize)width * height * 3);
    for (gsize i = 0; i < (gsize)width * height; i++)
        dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
    rgb = g_bytes_new_take(dst, (gsize)width * height * 3);
    tex = gdk_memory_texture_new(width, height, GDK_MEMORY_R8G8B8, rgb, (gsize)width * 3);
    gtk_picture_set_paintable(self->preview, GDK_PAINTABLE(tex));
}

void adm_scan_view_set_camera_text(AdmScanView *self, const char *text)
{
    gtk_label_set_text(self->camera_label, text);
}

void adm_scan_view_set_search_result(AdmScanView *self, const char *title, const char *body)
{
    gtk_label_set_text(self->search_title, title);
    gtk_label_set_text(self->search_body, body);
    gtk_widget_set_visible(self->search_box, TRUE);
}

void adm_scan_view_set_kiosk(AdmScanView *self, gboolean kiosk)
{
    self->kiosk = kiosk;
    gtk_widget_set_visible(GTK_WIDGET(self->instructions), kiosk);
    gtk_widget_set_visible(GTK_WIDGET(self->search_button), !kiosk);
    if (kiosk)
        gtk_widget_set_visible(self->search_box, FALSE);
}

void adm_scan_view_focus_entry(AdmScanView *self, const char *append)
{
    gtk_widget_grab_focus(GTK_WIDGET(self->entry));
    if (append != NULL && append[0] != '\0') {
        int pos = -1;
        gtk_editable_insert_text(GTK_EDITABLE(self->entry), append, -1, &pos);
        gtk_editable_set_position(GTK_EDITABLE(self->entry), -1);
    }
}

void adm_scan_view_start_search(AdmScanView *self)
{
    if (self->kiosk)
        return;
    gtk_widget_grab_focus(GTK_WIDGET(self->entry));
    gtk_widget_set_visible(self->search_box, TRUE);
    gtk_label_set_text(self->search_title, "Search");
    gtk_label_set_text(self->search_body,
                       "Type a ticket number or an order code, then press the Search button "
                       "(Alt+S).");
}

static char *take_text(AdmScanView *self)
{
    char *t = g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry)));

    gtk_editable_set_text(GTK_EDITABLE(self->entry), "");
    return g_strstrip(t);
}

static void on_activate(AdmScanView *self)
{
    g_autofree char *t = take_text(self);

    if (t[0] != '\0')
        g_signal_emit(self, signals[SIG_SUBMIT], 0, t);
}

static void on_search(AdmScanView *self)
{
    g_autofree char *t = take_text(self);

    g_signal_emit(self, signals[SIG_SEARCH], 0, t);
    gtk_widget_grab_focus(GTK_WIDGET(self->entry));
}

static void adm_scan_view_dispose(GObject *obj)
{
    gtk_widget_dispose_template(GTK_WIDGET(obj), ADM_TYPE_SCAN_VIEW);
    G_OBJECT_CLASS(adm_scan_view_parent_class)->dispose(obj);
}

static void adm_scan_view_init(AdmScanView *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    gtk_accessible_update_relation(GTK_ACCESSIBLE(self->entry),
                                   GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->camera_label, NULL,
                                   -1);
}

static void adm_scan_view_class_init(AdmScanViewClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

    G_OBJECT_CLASS(klass)->dispose = adm_scan_view_dispose;
    /* submit (text): a code to scan */
    signals[SIG_SUBMIT] = g_signal_new("submit", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
    /* search (query) */
    signals[SIG_SEARCH] = g_signal_new("search", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
    gtk_widget_class_set_template_from_resource(wc, "/org/admit/Scan/adm-scan-view.ui");
    gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(wc, "scanview");
    gtk_widget_class_bind_template_child(wc, AdmScanView, instructions);
    gtk_widget_class_bind_template_child(wc, AdmScanView, preview);
    gtk_widget_class_bind_template_child(wc, AdmScanView, camera_label);
    gtk_widget_class_bind_template_child(wc, AdmScanView, entry);
    gtk_widget_class_bind_template_child(wc, AdmScanView, check_button);
    gtk_widget_class_bind_template_child(wc, AdmScanView, search_button);
    gtk_widget_class_bind_template_child(wc, AdmScanView, search_box);
    gtk_widget_class_bind_template_child(wc, AdmScanView, search_title);
    gtk_widget_class_bind_template_child(wc, AdmScanView, search_body);
    gtk_widget_class_bind_template_callback(wc, on_activate);
    gtk_widget_class_bind_template_callback(wc, on_search);
}
