/* scan-teststate.h: admit-scan's test-only introspection channel: when the
 * environment variable ADMIT_SCAN_TEST_STATE names a file, every state change
 * of the app (view, verdict and its texts and colour class, kiosk, window
 * size, ...) is appended to it as one JSON line, for tests/ui to read. Off
 * (a no-op) otherwise. Not a log for people. No GTK. */
#ifndef ADM_SCAN_TESTSTATE_H
#define ADM_SCAN_TESTSTATE_H

#include <glib.h>
#include <jansson.h>

/* TRUE when ADMIT_SCAN_TEST_STATE is set. */
gboolean adm_scan_teststate_enabled(void);

/* Appends obj (borrowed) with "event" and a monotonic "ms" added, as one
 * line, flushed. */
void adm_scan_teststate_write(const char *event, json_t *obj);

#endif
