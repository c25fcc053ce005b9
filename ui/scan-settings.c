/* scan-settings.c: admit-scan's settings keyfile and the kiosk PIN hash.
 * Not the gate store's enrollment (scanner/sync-conf.c). */
#include "ui/scan-settings.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "scanner/frame.h"

#define GROUP "scan"

adm_scan_settings_t *adm_scan_settings_new(void)
{
    adm_scan_settings_t *s = g_new0(adm_scan_settings_t, 1);

    s->db_path = adm_scan_settings_default_db();
    s->delay_ms = ADM_SCAN_DELAY_MS_DEFAULT;
    s->repeat_ms = ADM_FRAME_REPEAT_MS_DEFAULT;
    return s;
}

void adm_scan_settings_free(adm_scan_settings_t *s)
{
    if (s == NULL)
        return;
    g_free(s->db_path);
    g_free(s->gate);
    g_free(s->pin_hash);
    g_free(s->camera);
    g_free(s);
}

adm_scan_settings_t *adm_scan_settings_copy(const adm_scan_settings_t *s)
{
    adm_scan_settings_t *c = g_new0(adm_scan_settings_t, 1);

    *c = *s;
    c->db_path = g_strdup(s->db_path);
    c->gate = g_strdup(s->gate);
    c->pin_hash = g_strdup(s->pin_hash);
    c->camera = g_strdup(s->camera);
    return c;
}

char *adm_scan_settings_default_path(void)
{
    return g_build_filename(g_get_user_config_dir(), "admit-scan", "settings.ini", NULL);
}

char *adm_scan_settings_default_db(void)
{
    return g_build_filename(g_get_user_data_dir(), "admit-scan", "gate.db", NULL);
}

/* An integer key clamped to [lo, hi]; def when absent or not a number. */
static gint64 get_int(GKeyFile *kf, const char *key, gint64 def, gint64 lo, gint64 hi)
{
    g_autoptr(GError) err = NULL;
    gint64 v = g_key_file_get_int64(kf, GROUP, key, &err);

    if (err != NULL)
        return def;
    return CLAMP(v, lo, hi);
}

static gboolean get_bool(GKeyFile *kf, const char *key, gboolean def)
{
    g_autoptr(GError) err = NULL;
    gboolean v = g_key_file_get_boolean(kf, GROUP, key, &err);

    return err != NULL ? def : v;
}

/* A non-empty string key, or NULL. */
static char *get_str(GKeyFile *kf, const char *key)
{
    char *v = g_key_file_get_string(kf, GROUP, key, NULL);

    if (v != NULL && v[0] == '\0')
        g_clear_pointer(&v, g_free);
    return v;
}

gboolean adm_scan_settings_load(const char *path, adm_scan_settings_t **out, GError **error)
{
    g_autoptr(adm_scan_settings_t) s = adm_scan_settings_new();
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *db = NULL, *dir = NULL, *plain = NULL;

    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            *out = g_steal_pointer(&s);
            return TRUE;
        }
        g_propagate_prefixed_error(error, g_steal_pointer(&err), "cannot read %s: ", path);
        return FALSE;
    }
    if ((db = get_str(kf, "db")) != NULL) {
        g_free(s->db_path);
        s->db_path = g_steal_pointer(&db);
    }
    s->list_id = (uint32_t)get_int(kf, "list_id", 0, 0, UINT32_MAX);
    s->gate = get_str(kf, "gate");
    if (s->gate != NULL && strlen(s->gate) > 64)
        g_clear_pointer(&s->gate, g_free);
    {
        g_autofree char *dir_s = get_str(kf, "direction");
        s->exit_mode = dir_s != NULL && strcmp(dir_s, "exit") == 0;
    }
    s->delay_ms = (guint)get_int(kf, "verdict_delay_ms", ADM_SCAN_DELAY_MS_DEFAULT,
                                 ADM_SCAN_DELAY_MS_MIN, ADM_SCAN_DELAY_MS_MAX);
    s->muted = get_bool(kf, "muted", FALSE);
    s->kiosk = get_bool(kf, "kiosk", FALSE);
    s->pin_hash = get_str(kf, "kiosk_pin_hash");
    s->camera = get_str(kf, "camera");
    s->repeat_ms =
        (guint)get_int(kf, "repeat_ms", ADM_FRAME_REPEAT_MS_DEFAULT, 0, ADM_FRAME_REPEAT_MS_MAX);
    /* provisioning: a plaintext PIN is hashed once and never kept */
    if ((plain = get_str(kf, "kiosk_pin")) != NULL) {
        char *hash = NULL;
        if (adm_scan_pin_hash(plain, &hash, error)) {
            g_free(s->pin_hash);
            s->pin_hash = hash;
        } else {
            g_prefix_error(error, "%s: kiosk_pin: ", path);
        }
        sodium_memzero(plain, strlen(plain));
        if (hash == NULL || !adm_scan_settings_save(s, path, error))
            return FALSE;
    }
    *out = g_steal_pointer(&s);
    return TRUE;
}

gboolean adm_scan_settings_save(const adm_scan_settings_t *s, const char *path, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *data = NULL;
    gsize len = 0;

    g_key_file_set_comment(kf, NULL, NULL,
                           " admit-scan settings (docs/admit-scan.md); written by the app", NULL);
    g_key_file_set_string(kf, GROUP, "db", s->db_path != NULL ? s->db_path : "");
    g_key_file_set_int64(kf, GROUP, "list_id", s->list_id);
    g_key_file_set_string(kf, GROUP, "gate", s->gate != NULL ? s->gate : "");
    g_key_file_set_string(kf, GROUP, "direction", s->exit_mode ? "exit" : "entry");
    g_key_file_set_int64(kf, GROUP, "verdict_delay_ms", s->delay_ms);
    g_key_file_set_boolean(kf, GROUP, "muted", s->muted);
    g_key_file_set_boolean(kf, GROUP, "kiosk", s->kiosk);
    g_key_file_set_string(kf, GROUP, "kiosk_pin_hash", s->pin_hash != NULL ? s->pin_hash : "");
    g_key_file_set_string(kf, GROUP, "camera", s->camera != NULL ? s->camera : "");
    g_key_file_set_int64(kf, GROUP, "repeat_ms", s->repeat_ms);
    data = g_key_file_to_data(kf, &len, NULL);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot create %s: %s", dir,
                    g_strerror(e));
        return FALSE;
    }
    return g_file_set_contents_full(path, data, (gssize)len,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                    0600, error);
}

gboolean adm_scan_pin_hash(const char *pin, char **hash, GError **error)
{
    char out[crypto_pwhash_STRBYTES];
    size_t len = pin != NULL ? strlen(pin) : 0;

    *hash = NULL;
    if (len < ADM_SCAN_PIN_MIN || len > ADM_SCAN_PIN_MAX) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "the PIN must have %d to %d characters", ADM_SCAN_PIN_MIN, ADM_SCAN_PIN_MAX);
        return FALSE;
    }
    if (sodium_init() < 0 || crypto_pwhash_str(out, pin, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                               crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot hash the PIN (out of memory?)");
        return FALSE;
    }
    *hash = g_strdup(out);
    return TRUE;
}

gboolean adm_scan_pin_check(const char *hash, const char *pin)
{
    if (hash == NULL || hash[0] == '\0' || pin == NULL || sodium_init() < 0)
        return FALSE;
    if (strlen(hash) >= crypto_pwhash_STRBYTES)
        return FALSE;
    return crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0;
}
