/* scan-teststate.c: the ADMIT_SCAN_TEST_STATE JSON-lines writer (see the
 * header). Main thread only. */
#include "ui/scan-teststate.h"

#include <stdio.h>

static FILE *out;
static gboolean looked;

gboolean adm_scan_teststate_enabled(void)
{
    if (!looked) {
        const char *path = g_getenv("ADMIT_SCAN_TEST_STATE");
        looked = TRUE;
        if (path != NULL && path[0] != '\0' && (out = fopen(path, "a")) == NULL)
            g_warning("ADMIT_SCAN_TEST_STATE: cannot open %s", path);
    }
    return out != NULL;
}

void adm_scan_teststate_write(const char *event, json_t *obj)
{
    json_t *o;
    char *line;

    if (!adm_scan_teststate_enabled())
        return;
    o = obj != NULL ? json_deep_copy(obj) : json_object();
    if (o == NULL)
        return;
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "ms", json_integer(g_get_monotonic_time() / 1000));
    line = json_dumps(o, JSON_COMPACT);
    if (line != NULL) {
        fprintf(out, "%s\n", line);
        fflush(out);
        free(line);
    }
    json_decref(o);
}
