/* adm-status-bar.c: admit-scan's status bar (see the header). */
#include "ui/adm-status-bar.h"

struct _AdmStatusBar {
    GtkWidget parent_instance;

    GtkWidget *flow;
    GtkLabel *link;
    GtkLabel *last_sync;
    GtkLabel *pending;
    GtkLabel *snapshot;
    GtkLabel *device;
    GtkLabel *gate;
    GtkLabel *mode;
    GtkLabel *counts;
    GtkLabel *camera;
};

G_DEFINE_FINAL_TYPE(AdmStatusBar, adm_status_bar, GTK_TYPE_WIDGET)

/* "12 s ago", "5 min ago", "3 h ago", "never" */
static char *ago(gint64 then, gint64 now)
{
    gint64 d = now - then;

    if (then <= 0)
        return g_strdup("never");
    if (d < 0)
        d = 0;
    if (d < 60)
        return g_strdup_printf("%" G_GINT64_FORMAT " s ago", d);
    if (d < 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT " min ago", d / 60);
    if (d < 86400 * 2)
        return g_strdup_printf("%" G_GINT64_FORMAT " h ago", d / 3600);
    return g_strdup_printf("%" G_GINT64_FORMAT " days ago", d / 86400);
}

static void set_label(GtkLabel *l, const char *text)
{
    if (g_strcmp0(gtk_label_get_text(l), text) != 0)
        gtk_label_set_text(l, text);
}

void adm_status_bar_update(AdmStatusBar *self, const adm_scan_status_t *st, gint64 now)
{
    g_autofree char *sync = NULL, *pending = NULL, *snap = NULL, *snap_ago = NULL;
    g_autofree char *sync_ago = NULL, *device = NULL, *gate = NULL, *counts = NULL;
    g_autofree char *camera = NULL;
    const char *link;

    if (!st->store_ok)
        link = "store error";
    else if (!st->enrolled)
        link = "not enrolled";
    else if (st->online)
        link = "online";
    else
        link = "offline";
    set_label(self->link, link);
    gtk_widget_remove_css_class(GTK_WIDGET(self->link), "status-online");
    gtk_widget_remove_css_class(GTK_WIDGET(self->link), "status-offline");
    gtk_widget_add_css_class(GTK_WIDGET(self->link),
                             st->online ? "status-online" : "status-offline");
    if (!st->online && st->sync_error != NULL && st->sync_error[0])
        gtk_widget_set_tooltip_text(GTK_WIDGET(self->link), st->sync_error);
    else if (!st->store_ok)
        gtk_widget_set_tooltip_text(GTK_WIDGET(self->link), st->store_error);
    else
        gtk_widget_set_tooltip_text(GTK_WIDGET(self->link), NULL);
    sync_ago = ago(st->last_sync, now);
    sync = g_strdup_printf("Last sync: %s", sync_ago);
    set_label(self->last_sync, sync);
    pending = g_strdup_printf("To upload: %" G_GINT64_FORMAT, st->pending);
    set_label(self->pending, pending);
    snap_ago = ago(st->last_pull, now);
    snap = g_strdup_printf("Snapshot: %s", st->event_id ? snap_ago : "none");
    set_label(self->snapshot, snap);
    device = g_strdup_printf("Device: %s", st->device != NULL && st->device[0] ? st->device : "?");
    set_label(self->device, device);
    gate = g_strdup_printf("Gate: %s · %s", st->gate != NULL && st->gate[0] ? st->gate : "?",
                           st->list_name != NULL && st->list_name[0] ? st->list_name : "no list");
    set_label(self->gate, gate);
    set_label(self->mode, st->exit_mode ? "EXIT" : "ENTRY");
    counts = g_strdup_printf("Admitted %" G_GINT64_FORMAT " · Refused %" G_GINT64_FORMAT,
                             st->admitted, st->refused);
    set_label(self->counts, counts);
    camera =
        g_strdup_printf("Camera: %s", st->camera != NULL && st->camera[0] ? st->camera : "none");
    set_label(self->camera, camera);
}

const char *adm_status_bar_get_link(AdmStatusBar *self)
{
    return gtk_label_get_text(self->link);
}

static void adm_status_bar_dispose(GObject *obj)
{
    gtk_widget_dispose_template(GTK_WIDGET(obj), ADM_TYPE_STATUS_BAR);
    G_OBJECT_CLASS(adm_status_bar_parent_class)->dispose(obj);
}

static void adm_status_bar_init(AdmStatusBar *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    /* the items are text, not controls: keep them out of the Tab order */
    for (GtkWidget *c = gtk_widget_get_first_child(self->flow); c != NULL;
         c = gtk_widget_get_next_sibling(c))
        gtk_widget_set_focusable(c, FALSE);
}

static void adm_status_bar_class_init(AdmStatusBarClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

    G_OBJECT_CLASS(klass)->dispose = adm_status_bar_dispose;
    gtk_widget_class_set_template_from_resource(wc, "/org/admit/Scan/adm-status-bar.ui");
    gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(wc, "statusbar");
    gtk_widget_class_set_accessible_role(wc, GTK_ACCESSIBLE_ROLE_STATUS);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, flow);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, link);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, last_sync);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, pending);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, snapshot);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, device);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, gate);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, mode);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, counts);
    gtk_widget_class_bind_template_child(wc, AdmStatusBar, camera);
}
