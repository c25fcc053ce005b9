/* main.c: admit-scan, the GTK4 crew scanner and gate kiosk
 * (docs/admit-scan.md). Thin: the application is ui/adm-scan-app.c. */
#include <locale.h>

#include "ui/adm-scan-app.h"

int main(int argc, char **argv)
{
    AdmScanApp *app;
    int status;

    setlocale(LC_ALL, "");
    app = adm_scan_app_new();
    status = g_application_run(G_APPLICATION(app), argc, argv);
    g_object_unref(app);
    return status;
}
