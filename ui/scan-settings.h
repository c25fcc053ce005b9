/* scan-settings.h: admit-scan's persisted settings: a GKeyFile in the XDG
 * config directory ($XDG_CONFIG_HOME/admit-scan/settings.ini, group [scan];
 * keys in docs/admit-scan.md) and the kiosk PIN hash (libsodium
 * crypto_pwhash_str). Not the server enrollment: that lives in the gate store
 * (scanner/gate-sync.h). Plain GLib, no GTK. */
#ifndef ADM_SCAN_SETTINGS_H
#define ADM_SCAN_SETTINGS_H

#include <glib.h>
#include <stdint.h>

#define ADM_SCAN_DELAY_MS_DEFAULT 2500
#define ADM_SCAN_DELAY_MS_MIN 300
#define ADM_SCAN_DELAY_MS_MAX 60000
#define ADM_SCAN_PIN_MIN 4 /* digits or characters */
#define ADM_SCAN_PIN_MAX 64

typedef struct adm_scan_settings {
    char *db_path;      /* gate store; default $XDG_DATA_HOME/admit-scan/gate.db */
    uint32_t list_id;   /* check-in list; 0 = choose the first one that fits the gate */
    char *gate;         /* gate name; NULL = the enrolled gate */
    gboolean exit_mode; /* exit scans instead of entry */
    guint delay_ms;     /* how long a verdict stays on screen */
    gboolean muted;     /* no verdict sounds */
    gboolean kiosk;     /* self-service kiosk; persists until the PIN unlocks it */
    char *pin_hash;     /* crypto_pwhash_str of the organiser PIN; NULL = none */
    char *camera;       /* source spec (scanner/source.h); NULL or "" = no camera */
    guint repeat_ms;    /* the same code is not scanned again within this (frame.h) */
} adm_scan_settings_t;

/* Default settings (new, adm_scan_settings_free()). */
adm_scan_settings_t *adm_scan_settings_new(void);
void adm_scan_settings_free(adm_scan_settings_t *s);
adm_scan_settings_t *adm_scan_settings_copy(const adm_scan_settings_t *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(adm_scan_settings_t, adm_scan_settings_free)

/* $XDG_CONFIG_HOME/admit-scan/settings.ini (new string, g_free()). */
char *adm_scan_settings_default_path(void);
/* $XDG_DATA_HOME/admit-scan/gate.db (new string, g_free()). */
char *adm_scan_settings_default_db(void);

/* Loads path into a new settings object (*out). A missing file gives the
 * defaults; out-of-range values are clamped, unknown keys ignored. A
 * plaintext "kiosk_pin" key (provisioning) is hashed, removed and the file
 * rewritten. FALSE with error when the file exists but cannot be parsed. */
gboolean adm_scan_settings_load(const char *path, adm_scan_settings_t **out, GError **error);

/* Writes s to path atomically (mode 0600; the directory is created). */
gboolean adm_scan_settings_save(const adm_scan_settings_t *s, const char *path, GError **error);

/* The PIN's hash (new string, g_free()); FALSE for a PIN shorter than
 * ADM_SCAN_PIN_MIN or longer than ADM_SCAN_PIN_MAX, or when hashing fails.
 * Slow on purpose (about 0.1 s): call it off the UI thread. */
gboolean adm_scan_pin_hash(const char *pin, char **hash, GError **error);

/* TRUE when pin matches hash (constant-time; slow like adm_scan_pin_hash). */
gboolean adm_scan_pin_check(const char *hash, const char *pin);

#endif
