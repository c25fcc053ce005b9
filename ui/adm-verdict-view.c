/* adm-verdict-view.c: admit-scan's verdict page (see the header). */
#include "ui/adm-verdict-view.h"

struct _AdmVerdictView {
    GtkWidget parent_instance;

    GtkWidget *box;
    GtkLabel *title;
    GtkLabel *detail;
    GtkLabel *ticket_type;
    GtkLabel *seat;
    GtkLabel *direction;
    GtkLabel *first_used;
    GtkButton *next_button;
};

G_DEFINE_FINAL_TYPE(AdmVerdictView, adm_verdict_view, GTK_TYPE_WIDGET)

enum { SIG_DISMISSED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const char *const classes[] = {"verdict-admit", "verdict-refuse", "verdict-attention"};

static void set_or_hide(GtkLabel *l, const char *text)
{
    gtk_label_set_text(l, text != NULL ? text : "");
    gtk_widget_set_visible(GTK_WIDGET(l), text != NULL && text[0] != '\0');
}

void adm_verdict_view_show(AdmVerdictView *self, const adm_scan_verdict_t *v)
{
    g_autofree char *type = NULL, *seat = NULL, *label = NULL;

    for (guint i = 0; i < G_N_ELEMENTS(classes); i++)
        gtk_widget_remove_css_class(GTK_WIDGET(self), classes[i]);
    gtk_widget_add_css_class(GTK_WIDGET(self), classes[v->klass]);
    gtk_label_set_text(self->title, v->title);
    set_or_hide(self->detail, v->detail);
    type = v->type_name[0] ? g_strdup_printf("Ticket: %s", v->type_name) : NULL;
    set_or_hide(self->ticket_type, type);
    seat = v->seat[0] ? g_strdup_printf("Seat / zone: %s", v->seat) : NULL;
    set_or_hide(self->seat, seat);
    gtk_label_set_text(self->direction, v->direction);
    set_or_hide(self->first_used, v->first_used);
    /* one sentence for screen readers, announced with the page */
    label = g_strdup_printf("%s. %s %s %s %s", v->title, v->detail, type ? type : "",
                            seat ? seat : "", v->first_used);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

const char *adm_verdict_view_get_title(AdmVerdictView *self)
{
    return gtk_label_get_text(self->title);
}

static void on_next(AdmVerdictView *self)
{
    g_signal_emit(self, signals[SIG_DISMISSED], 0);
}

static void on_click(GtkGestureClick *g, int n, double x, double y, AdmVerdictView *self)
{
    g_signal_emit(self, signals[SIG_DISMISSED], 0);
}

static void adm_verdict_view_dispose(GObject *obj)
{
    gtk_widget_dispose_template(GTK_WIDGET(obj), ADM_TYPE_VERDICT_VIEW);
    G_OBJECT_CLASS(adm_verdict_view_parent_class)->dispose(obj);
}

static void adm_verdict_view_init(AdmVerdictView *self)
{
    GtkGesture *click = gtk_gesture_click_new();

    gtk_widget_init_template(GTK_WIDGET(self));
    g_signal_connect(click, "released", G_CALLBACK(on_click), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(click));
}

static void adm_verdict_view_class_init(AdmVerdictViewClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

    G_OBJECT_CLASS(klass)->dispose = adm_verdict_view_dispose;
    signals[SIG_DISMISSED] = g_signal_new("dismissed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
    gtk_widget_class_set_template_from_resource(wc, "/org/admit/Scan/adm-verdict-view.ui");
    gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(wc, "verdictview");
    gtk_widget_class_set_accessible_role(wc, GTK_ACCESSIBLE_ROLE_GROUP);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, box);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, title);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, detail);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, ticket_type);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, seat);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, direction);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, first_used);
    gtk_widget_class_bind_template_child(wc, AdmVerdictView, next_button);
    gtk_widget_class_bind_template_callback(wc, on_next);
}
