/* test-scan-controller.c: admit-scan's controller without a display
 * (ui/scan-controller.c, scan-present.c, scan-settings.c, scan-camera.c,
 * scan-lookup.c): verdict classes and texts, the settings round trip and PIN
 * provisioning, the kiosk PIN, scan order through the worker, the camera
 * worker's repeat suppression and frames dropped while a scan is in
 * progress, and the local ticket search. Not the widgets
 * (tests/ui/test-admit-scan.sh) and not the network. */
#include <glib/gstdio.h>
#include <string.h>
#include <time.h>

#include "scanner/gate.h"
#include "sync/base45.h"
#include "sync/keyring.h"
#include "sync/qr.h"
#include "sync/token.h"
#include "tests/testutil/testutil.h"
#include "ui/scan-controller.h"

#define EVENT 7

static adm_keyring_t *issuer;
static uint32_t kid;
static char *keys_json;

static const char *tok(uint64_t id, uint32_t type, uint8_t flags, const char *seat, int forged)
{
    static char buf[8][ADM_TOKEN_TEXT_MAX + 1];
    static int slot;
    char *out = buf[slot++ % 8];
    adm_ticket_t t;
    size_t len;

    memset(&t, 0, sizeof t);
    t.event_id = EVENT;
    t.ticket_id = id;
    t.type_id = type;
    t.flags = flags;
    snprintf(t.label, sizeof t.label, "%s", seat != NULL ? seat : "");
    CHECK_ERR(adm_token_encode(&t, issuer, kid, out, ADM_TOKEN_TEXT_MAX + 1, &len), ADM_OK);
    if (forged) {
        /* a valid token with one bit of its signature flipped: a forgery */
        uint8_t bin[ADM_TOKEN_BYTES_MAX];
        size_t n = 0;
        CHECK_ERR(adm_base45_decode(out + ADM_TOKEN_PREFIX_LEN, len - ADM_TOKEN_PREFIX_LEN, bin,
                                    sizeof bin, &n),
                  ADM_OK);
        bin[n - 1] ^= 1;
        CHECK_ERR(adm_base45_encode(bin, n, out + ADM_TOKEN_PREFIX_LEN,
                                    ADM_TOKEN_TEXT_MAX + 1 - ADM_TOKEN_PREFIX_LEN, &len),
                  ADM_OK);
    }
    return out;
}

/* A store with event EVENT: types 21 GA, 22 VIP; list 1 Main (once) at North/South. */
static char *make_store(const char *dir)
{
    static const char fmt[] =
        "{\"format\":\"admit-gate-snapshot\",\"version\":1,\"event\":{\"id\":%d,\"name\":\"T\"},"
        "\"keys\":%s,\"ticket_types\":[{\"id\":21,\"name\":\"GA\"},{\"id\":22,\"name\":\"VIP\"}],"
        "\"revocations\":{\"revocations\":[{\"seq\":1,\"ticket_id\":40,\"revoked_at\":1767312000,"
        "\"reason\":\"revoked\"}],\"next\":1,\"more\":false},"
        "\"checkin_lists\":[{\"id\":1,\"name\":\"Main\",\"reentry\":\"once\",\"ticket_types\":[],"
        "\"gates\":[\"North\",\"South\"]}]}";
    char *path = g_build_filename(dir, "gate.db", NULL);
    g_autofree char *snap = g_strdup_printf(fmt, EVENT, keys_json);
    adm_gate_t *g = NULL;

    CHECK_ERR(adm_gate_open(path, &g), ADM_OK);
    CHECK_ERR(adm_gate_snapshot_import_json(g, snap, strlen(snap)), ADM_OK);
    adm_gate_close(g);
    return path;
}

/* ---- collecting what the controller says ---- */

typedef struct seen {
    GPtrArray *verdicts; /* adm_scan_verdict_t copies */
    char *search_body;
    char *notice;
    int unlock_results, unlock_ok;
    int statuses;
} seen_t;

static void on_verdict(AdmScanController *c, adm_scan_verdict_t *v, seen_t *s)
{
    g_ptr_array_add(s->verdicts, adm_scan_verdict_copy(v));
}

static void on_search(AdmScanController *c, const char *title, const char *body, seen_t *s)
{
    g_free(s->search_body);
    s->search_body = g_strdup(body);
}

static void on_notice(AdmScanController *c, const char *msg, seen_t *s)
{
    g_free(s->notice);
    s->notice = g_strdup(msg);
}

static void on_unlock(AdmScanController *c, gboolean ok, seen_t *s)
{
    s->unlock_results++;
    s->unlock_ok = ok;
}

static void on_status(AdmScanController *c, seen_t *s)
{
    s->statuses++;
}

static AdmScanController *controller(adm_scan_settings_t *set, const char *path, seen_t *s)
{
    AdmScanController *c = adm_scan_controller_new(set, path);

    memset(s, 0, sizeof *s);
    s->verdicts = g_ptr_array_new_with_free_func((GDestroyNotify)adm_scan_verdict_free);
    g_signal_connect(c, "verdict", G_CALLBACK(on_verdict), s);
    g_signal_connect(c, "search-result", G_CALLBACK(on_search), s);
    g_signal_connect(c, "notice", G_CALLBACK(on_notice), s);
    g_signal_connect(c, "unlock-result", G_CALLBACK(on_unlock), s);
    g_signal_connect(c, "status-changed", G_CALLBACK(on_status), s);
    return c;
}

static void finish(AdmScanController *c, seen_t *s)
{
    adm_scan_controller_stop(c);
    g_object_unref(c);
    /* queued deliveries hold references: let them run (they do nothing now) */
    for (int i = 0; i < 200 && g_main_context_iteration(NULL, FALSE); i++)
        ;
    g_ptr_array_unref(s->verdicts);
    g_free(s->search_body);
    g_free(s->notice);
}

/* Iterates the default context until *count >= want or timeout_ms. */
static gboolean wait_count(const guint *count, guint want, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (*count < want && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return *count >= want;
}

static gboolean wait_int(const int *v, int want, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (*v < want && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return *v >= want;
}

static gboolean wait_str(char *const *v, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (*v == NULL && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return *v != NULL;
}

static adm_scan_verdict_t *nth(seen_t *s, guint i)
{
    return g_ptr_array_index(s->verdicts, i);
}

/* ---- presentation ---- */

static adm_gate_result_t result(adm_verdict_t v, const char *reason)
{
    adm_gate_result_t r;

    memset(&r, 0, sizeof r);
    r.verdict = v;
    r.reason = reason;
    r.parsed = r.verified = TRUE;
    r.ticket.ticket_id = 99;
    r.ticket.type_id = 21;
    snprintf(r.ticket.label, sizeof r.ticket.label, "Row C 12");
    return r;
}

static void test_present(void)
{
    adm_gate_result_t r = result(ADM_VERDICT_ACCEPT, "ok");
    int64_t now = (int64_t)time(NULL);
    adm_scan_verdict_t *v;

    v = adm_scan_verdict_new(&r, ADM_DIRECTION_ENTRY, "GA", now);
    CHECK_INT(v->klass, ADM_SCAN_CLASS_ADMIT);
    CHECK_STR(v->title, "ADMIT");
    CHECK_STR(v->type_name, "GA");
    CHECK_STR(v->seat, "Row C 12");
    CHECK_STR(v->direction, "Entry");
    CHECK_STR(adm_scan_class_name(v->klass), "admit");
    adm_scan_verdict_free(v);

    r.attention = TRUE; /* special ticket: amber even when admitted */
    v = adm_scan_verdict_new(&r, ADM_DIRECTION_ENTRY, NULL, now);
    CHECK_INT(v->klass, ADM_SCAN_CLASS_ATTENTION);
    CHECK_STR(v->type_name, "Type 21");
    CHECK(strstr(v->detail, "Special") != NULL);
    adm_scan_verdict_free(v);

    v = adm_scan_verdict_new(&r, ADM_DIRECTION_EXIT, "GA", now);
    CHECK_STR(v->title, "EXIT OK");
    CHECK_STR(v->direction, "Exit");
    adm_scan_verdict_free(v);

    r = result(ADM_VERDICT_ALREADY_USED, "already_used");
    r.has_first_used = TRUE;
    r.first_at = now - 60;
    snprintf(r.first_gate, sizeof r.first_gate, "South");
    snprintf(r.first_device, sizeof r.first_device, "dv_0123");
    v = adm_scan_verdict_new(&r, ADM_DIRECTION_ENTRY, "GA", now);
    CHECK_INT(v->klass, ADM_SCAN_CLASS_REFUSE);
    CHECK_STR(v->title, "ALREADY USED");
    CHECK(strstr(v->first_used, "at South") != NULL);
    CHECK(strstr(v->first_used, "dv_0123") != NULL);
    CHECK(strstr(v->first_used, ":") != NULL); /* a time of day */
    adm_scan_verdict_free(v);

    r = result(ADM_VERDICT_REVOKED, "refunded");
    v = adm_scan_verdict_new(&r, ADM_DIRECTION_ENTRY, "GA", now);
    CHECK_STR(v->title, "REFUNDED");
    CHECK_INT(v->klass, ADM_SCAN_CLASS_REFUSE);
    adm_scan_verdict_free(v);

    r = result(ADM_VERDICT_BAD_SIGNATURE, "bad_signature");
    r.verified = FALSE; /* nothing of an unverified token is shown */
    v = adm_scan_verdict_new(&r, ADM_DIRECTION_ENTRY, "GA", now);
    CHECK_STR(v->title, "FORGED TICKET");
    CHECK_STR(v->type_name, "");
    CHECK_STR(v->seat, "");
    CHECK(!v->has_ticket);
    adm_scan_verdict_free(v);

    r = result(ADM_VERDICT_MALFORMED, "bad_prefix");
    r.parsed = r.verified = FALSE;
    v = adm_scan_verdict_new(&r, ADM_DIRECTION_ENTRY, NULL, now);
    CHECK_STR(v->title, "NOT A TICKET");
    CHECK_STR(v->verdict, "malformed");
    adm_scan_verdict_free(v);

    r = result(ADM_VERDICT_NOT_INSIDE, "not_inside");
    v = adm_scan_verdict_new(&r, ADM_DIRECTION_EXIT, "GA", now);
    CHECK_INT(v->klass, ADM_SCAN_CLASS_ATTENTION);
    adm_scan_verdict_free(v);

    v = adm_scan_verdict_new_error(ADM_ERR_NOT_FOUND, ADM_DIRECTION_ENTRY);
    CHECK_INT(v->klass, ADM_SCAN_CLASS_ATTENTION);
    CHECK_STR(v->title, "CHECK SETUP");
    adm_scan_verdict_free(v);
    v = adm_scan_verdict_new_error(ADM_ERR_STORE, ADM_DIRECTION_ENTRY);
    CHECK_INT(v->klass, ADM_SCAN_CLASS_REFUSE);
    CHECK_STR(v->title, "NOT RECORDED");
    adm_scan_verdict_free(v);
}

/* ---- settings and PIN ---- */

static void test_settings(void)
{
    const char *dir = adm_test_tmpdir();
    g_autofree char *path = g_build_filename(dir, "cfg", "admit-scan", "settings.ini", NULL);
    g_autoptr(adm_scan_settings_t) s = adm_scan_settings_new();
    adm_scan_settings_t *back = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    GStatBuf st;

    /* a missing file gives the defaults */
    CHECK(adm_scan_settings_load(path, &back, &err));
    CHECK_INT(back->delay_ms, ADM_SCAN_DELAY_MS_DEFAULT);
    CHECK(!back->kiosk);
    adm_scan_settings_free(back);

    g_free(s->db_path);
    s->db_path = g_strdup("/tmp/x.db");
    s->list_id = 3;
    s->gate = g_strdup("North");
    s->exit_mode = TRUE;
    s->delay_ms = 1200;
    s->muted = TRUE;
    s->kiosk = TRUE;
    CHECK(adm_scan_pin_hash("2468", &s->pin_hash, NULL));
    s->camera = g_strdup("folder:/tmp/t?fps=5");
    s->repeat_ms = 700;
    CHECK(adm_scan_settings_save(s, path, &err));
    CHECK(g_stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(adm_scan_settings_load(path, &back, &err));
    CHECK_STR(back->db_path, "/tmp/x.db");
    CHECK_INT(back->list_id, 3);
    CHECK_STR(back->gate, "North");
    CHECK(back->exit_mode);
    CHECK_INT(back->delay_ms, 1200);
    CHECK(back->muted);
    CHECK(back->kiosk);
    CHECK_STR(back->pin_hash, s->pin_hash);
    CHECK_STR(back->camera, "folder:/tmp/t?fps=5");
    CHECK_INT(back->repeat_ms, 700);
    adm_scan_settings_free(back);

    /* out-of-range values are clamped; a plaintext PIN is hashed and removed */
    CHECK(g_file_set_contents(path,
                              "[scan]\nverdict_delay_ms=5\nrepeat_ms=-4\nkiosk_pin=9753\n"
                              "direction=sideways\n",
                              -1, NULL));
    CHECK(adm_scan_settings_load(path, &back, &err));
    CHECK_INT(back->delay_ms, ADM_SCAN_DELAY_MS_MIN);
    CHECK_INT(back->repeat_ms, 0);
    CHECK(!back->exit_mode);
    CHECK(back->pin_hash != NULL && adm_scan_pin_check(back->pin_hash, "9753"));
    adm_scan_settings_free(back);
    CHECK(g_file_get_contents(path, &text, NULL, NULL));
    CHECK(strstr(text, "9753") == NULL);
    CHECK(strstr(text, "kiosk_pin_hash=$argon2") != NULL);

    /* a broken file is an error, not silently the defaults */
    CHECK(g_file_set_contents(path, "this is [not a keyfile\n", -1, NULL));
    back = NULL;
    CHECK(!adm_scan_settings_load(path, &back, NULL));
    CHECK(back == NULL);
}

static void test_pin(void)
{
    g_autofree char *h = NULL;
    char *none = NULL;

    CHECK(adm_scan_pin_hash("1357", &h, NULL));
    CHECK(strncmp(h, "$argon2", 7) == 0);
    CHECK(adm_scan_pin_check(h, "1357"));
    CHECK(!adm_scan_pin_check(h, "1358"));
    CHECK(!adm_scan_pin_check(h, ""));
    CHECK(!adm_scan_pin_check(NULL, "1357"));
    CHECK(!adm_scan_pin_hash("12", &none, NULL));
    CHECK(none == NULL);
}

/* ---- the scan worker ---- */

static void test_scan_order(void)
{
    const char *dir = adm_test_tmpdir();
    g_autofree char *db = make_store(dir);
    adm_scan_settings_t *set = adm_scan_settings_new();
    const char *a = tok(101, 21, 0, "A-7", 0), *vip = tok(102, 22, ADM_TICKET_SPECIAL, NULL, 0);
    const char *forged = tok(103, 21, 0, NULL, 1);
    AdmScanController *c;
    seen_t s;

    g_free(set->db_path);
    set->db_path = g_strdup(db);
    set->gate = g_strdup("North");
    c = controller(set, NULL, &s);
    adm_scan_controller_start(c);
    /* a slow worker: submissions pile up in the queue, verdicts keep the order */
    adm_scan_controller_set_scan_delay_for_test(c, 30);
    adm_scan_controller_submit(c, a, ADM_SCAN_INPUT_KEYBOARD);
    adm_scan_controller_submit(c, a, ADM_SCAN_INPUT_KEYBOARD);
    adm_scan_controller_submit(c, forged, ADM_SCAN_INPUT_KEYBOARD);
    adm_scan_controller_submit(c, vip, ADM_SCAN_INPUT_KEYBOARD);
    adm_scan_controller_submit(c, "hello\r\n", ADM_SCAN_INPUT_KEYBOARD);
    CHECK(wait_count(&s.verdicts->len, 5, 10000));
    if (s.verdicts->len == 5) {
        CHECK_STR(nth(&s, 0)->verdict, "accept");
        CHECK_STR(nth(&s, 0)->type_name, "GA");
        CHECK_STR(nth(&s, 0)->seat, "A-7");
        CHECK_INT(nth(&s, 0)->ticket_id, 101);
        CHECK_INT(nth(&s, 0)->input, ADM_SCAN_INPUT_KEYBOARD);
        CHECK_STR(nth(&s, 1)->verdict, "already_used");
        CHECK(strstr(nth(&s, 1)->first_used, "at North") != NULL);
        CHECK_INT(nth(&s, 2)->klass, ADM_SCAN_CLASS_REFUSE);
        CHECK_STR(nth(&s, 2)->verdict, "bad_signature");
        CHECK_STR(nth(&s, 3)->verdict, "accept");
        CHECK_INT(nth(&s, 3)->klass, ADM_SCAN_CLASS_ATTENTION);
        CHECK_STR(nth(&s, 3)->type_name, "VIP");
        CHECK_STR(nth(&s, 4)->title, "NOT A TICKET");
        /* journal order == submission order: nonces are all different */
        CHECK(strcmp(nth(&s, 0)->nonce, nth(&s, 1)->nonce) != 0);
    }
    /* the status: gate North resolves to list 1; counts from the journal */
    {
        const adm_scan_status_t *st = adm_scan_controller_get_status(c);
        int before = s.statuses;
        CHECK(wait_int(&s.statuses, before + 1, 5000));
        CHECK_INT(st->list_id, 1);
        CHECK_STR(st->gate, "North");
        CHECK_INT(st->event_id, EVENT);
        CHECK(!st->enrolled);
        CHECK(st->admitted >= 2);
        CHECK(st->refused >= 3);
        CHECK(st->lists != NULL && st->lists->len == 1);
    }
    /* local search: ticket 101 was checked in at North; 40 is revoked */
    adm_scan_controller_search(c, "101");
    CHECK(wait_str(&s.search_body, 5000));
    CHECK(s.search_body != NULL && strstr(s.search_body, "Entry") != NULL &&
          strstr(s.search_body, "North") != NULL);
    g_clear_pointer(&s.search_body, g_free);
    adm_scan_controller_search(c, "40");
    CHECK(wait_str(&s.search_body, 5000));
    CHECK(s.search_body != NULL && strstr(s.search_body, "REVOKED") != NULL);
    g_clear_pointer(&s.search_body, g_free);
    /* an order code needs the server: not enrolled */
    adm_scan_controller_search(c, "ORD-42");
    CHECK(wait_str(&s.search_body, 5000));
    CHECK(s.search_body != NULL && strstr(s.search_body, "needs the server") != NULL);
    /* a gate that is not on any list: no verdict, "check setup" */
    adm_scan_controller_set_context(c, 0, "  Nowhere ", FALSE);
    CHECK_STR(adm_scan_controller_get_settings(c)->gate, "Nowhere"); /* typed: trimmed */
    adm_scan_controller_submit(c, tok(104, 21, 0, NULL, 0), ADM_SCAN_INPUT_KEYBOARD);
    CHECK(wait_count(&s.verdicts->len, 6, 5000));
    if (s.verdicts->len == 6)
        CHECK_STR(nth(&s, 5)->title, "CHECK SETUP");
    finish(c, &s);
}

/* ---- the camera worker ---- */

static void write_qr(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    CHECK_ERR(adm_qr_write_png(text, &ADM_QR_STYLE_DEFAULT, path), ADM_OK);
}

static void write_blank(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    adm_image_t img;

    CHECK_ERR(adm_image_new(200, 200, 255, &img), ADM_OK);
    CHECK_ERR(adm_image_write_png(&img, path), ADM_OK);
    adm_image_free(&img);
}

static void test_camera(void)
{
    const char *dir = adm_test_tmpdir();
    g_autofree char *db = make_store(dir);
    g_autofree char *frames = g_build_filename(dir, "frames", NULL);
    g_autofree char *spec = NULL;
    adm_scan_settings_t *set = adm_scan_settings_new();
    adm_scan_camera_stats_t stats;
    AdmScanController *c;
    seen_t s;

    g_mkdir(frames, 0700);
    /* ticket C held for 12 frames (one scan), D for 12 (one scan), C again
     * right after D (another code in between: scanned again) */
    write_qr(frames, "1.png", tok(201, 21, 0, NULL, 0));
    write_qr(frames, "2.png", tok(202, 21, 0, NULL, 0));
    write_qr(frames, "3.png", tok(201, 21, 0, NULL, 0));
    write_blank(frames, "4.png");
    spec = g_strdup_printf("folder:%s?fps=40&hold=12", frames);
    g_free(set->db_path);
    set->db_path = g_strdup(db);
    set->gate = g_strdup("South");
    set->camera = g_strdup(spec);
    set->repeat_ms = 2000;
    c = controller(set, NULL, &s);
    /* each scan takes 150 ms: frames that arrive meanwhile are dropped */
    adm_scan_controller_set_scan_delay_for_test(c, 150);
    adm_scan_controller_start(c);
    CHECK(wait_count(&s.verdicts->len, 3, 15000));
    /* the source ends after 48 frames; give it time to finish */
    {
        gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
        while (g_get_monotonic_time() < end)
            if (!g_main_context_iteration(NULL, FALSE))
                g_usleep(5000);
    }
    CHECK_INT(s.verdicts->len, 3);
    if (s.verdicts->len == 3) {
        CHECK_STR(nth(&s, 0)->verdict, "accept");
        CHECK_INT(nth(&s, 0)->ticket_id, 201);
        CHECK_INT(nth(&s, 0)->input, ADM_SCAN_INPUT_CAMERA);
        CHECK_STR(nth(&s, 1)->verdict, "accept");
        CHECK_INT(nth(&s, 1)->ticket_id, 202);
        CHECK_STR(nth(&s, 2)->verdict, "already_used");
        CHECK_INT(nth(&s, 2)->ticket_id, 201);
    }
    adm_scan_controller_camera_stats(c, &stats);
    CHECK_INT(stats.frames, 48);
    CHECK(stats.dropped > 0);
    CHECK_INT(stats.decoded + stats.dropped, stats.frames);
    CHECK_INT(stats.texts, 3);
    CHECK(strstr(adm_scan_controller_get_status(c)->camera, "ended") != NULL);
    finish(c, &s);
}

static void test_camera_missing(void)
{
    adm_scan_settings_t *set = adm_scan_settings_new();
    AdmScanController *c;
    seen_t s;
    int n;

    g_free(set->db_path);
    set->db_path = g_build_filename(adm_test_tmpdir(), "gate.db", NULL);
    set->camera = g_strdup("folder:/nonexistent/admit-frames");
    c = controller(set, NULL, &s);
    adm_scan_controller_start(c);
    n = s.statuses;
    for (int i = 0; i < 50 && strstr(adm_scan_controller_get_status(c)->camera, "cannot") == NULL;
         i++)
        wait_int(&s.statuses, ++n, 200);
    CHECK(strstr(adm_scan_controller_get_status(c)->camera, "cannot use camera") != NULL);
    CHECK(!adm_scan_controller_get_status(c)->camera_running);
    finish(c, &s);
}

/* ---- kiosk ---- */

static void test_kiosk(void)
{
    const char *dir = adm_test_tmpdir();
    g_autofree char *path = g_build_filename(dir, "settings.ini", NULL);
    adm_scan_settings_t *set = adm_scan_settings_new(), *back = NULL;
    AdmScanController *c;
    seen_t s;

    g_free(set->db_path);
    set->db_path = g_build_filename(dir, "gate.db", NULL);
    c = controller(set, path, &s);
    adm_scan_controller_start(c);
    CHECK(!adm_scan_controller_enter_kiosk(c)); /* no PIN yet */
    adm_scan_controller_set_pin(c, "12");       /* too short */
    CHECK(wait_str(&s.notice, 10000));
    CHECK(s.notice != NULL && strstr(s.notice, "not set") != NULL);
    g_clear_pointer(&s.notice, g_free);
    adm_scan_controller_set_pin(c, "4321");
    CHECK(wait_str(&s.notice, 10000));
    CHECK(adm_scan_controller_enter_kiosk(c));
    CHECK(adm_scan_controller_get_kiosk(c));
    /* persisted at once: a crash now restarts in kiosk mode */
    CHECK(adm_scan_settings_load(path, &back, NULL));
    CHECK(back->kiosk);
    adm_scan_settings_free(back);
    adm_scan_controller_unlock(c, "0000");
    CHECK(wait_int(&s.unlock_results, 1, 10000));
    CHECK(!s.unlock_ok);
    CHECK(adm_scan_controller_get_kiosk(c));
    adm_scan_controller_unlock(c, "4321");
    CHECK(wait_int(&s.unlock_results, 2, 10000));
    CHECK(s.unlock_ok);
    CHECK(!adm_scan_controller_get_kiosk(c));
    CHECK(adm_scan_settings_load(path, &back, NULL));
    CHECK(!back->kiosk);
    adm_scan_settings_free(back);
    finish(c, &s);
}

int main(void)
{
    CHECK_ERR(adm_crypto_init(), ADM_OK);
    if (adm_keyring_new(&issuer) != ADM_OK || adm_keyring_generate(issuer, &kid) != ADM_OK ||
        adm_keyring_public_json(issuer, &keys_json) != ADM_OK)
        abort();
    ADM_RUN(test_present);
    ADM_RUN(test_settings);
    ADM_RUN(test_pin);
    ADM_RUN(test_scan_order);
    ADM_RUN(test_camera);
    ADM_RUN(test_camera_missing);
    ADM_RUN(test_kiosk);
    free(keys_json);
    adm_keyring_free(issuer);
    return adm_test_done();
}
