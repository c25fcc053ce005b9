/* test-gate.c: unit tests of scanner/gate.c, snapshot.c, verdict.c and the
 * store's sync side (sync-conf.c, sync-apply.c, sync-queue.c): every verdict
 * with crafted tokens, the re-entry rules, remote check-ins and revocations,
 * the journal, snapshot import, durability under kill -9, feed pages (first
 * page, deltas, idempotence, atomicity, own rows, late rows), the upload
 * queue and enrollment, and the read-only queries (gate-query.c). Not for
 * the CLI (tests/scanner/test-admit-gate.sh) and not the network (the
 * syncer is tested end to end in tests/e2e). */
#include "scanner/gate.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scanner/gate-query.h"
#include "scanner/gate-sync.h"

#include "sync/base45.h"
#include "tests/testutil/testutil.h"

#define EVENT 7
#define NOW 1800000000
#define MAX_NONCES 4096

static adm_keyring_t *issuer; /* key A (signing), key R (retired) */
static adm_keyring_t *other;  /* key O, unknown to the gate */
static uint32_t kid_a, kid_r, kid_o;
static char retired_tok[ADM_TOKEN_TEXT_MAX + 1]; /* signed by R before it was retired */
static char *keys_json;
static char dbpath[512];
static adm_gate_t *g;
static char nonces[MAX_NONCES][ADM_GATE_NONCE_HEX + 1];
static int n_nonces;

static void tok_full(char *out, const adm_ticket_t *t, adm_keyring_t *kr, uint32_t kid)
{
    size_t len;
    CHECK_ERR(adm_token_encode(t, kr, kid, out, ADM_TOKEN_TEXT_MAX + 1, &len), ADM_OK);
}

static adm_ticket_t ticket(uint32_t event, uint64_t id, uint32_t type, uint8_t flags)
{
    adm_ticket_t t;
    memset(&t, 0, sizeof t);
    t.event_id = event;
    t.ticket_id = id;
    t.type_id = type;
    t.flags = flags;
    return t;
}

/* a token of key A for (EVENT, id, type, flags) in a static buffer per call slot */
static const char *tok(uint64_t id, uint32_t type, uint8_t flags)
{
    static char buf[8][ADM_TOKEN_TEXT_MAX + 1];
    static int slot;
    adm_ticket_t t = ticket(EVENT, id, type, flags);
    char *out = buf[slot++ % 8];
    tok_full(out, &t, issuer, kid_a);
    return out;
}

static void setup_keys(void)
{
    adm_ticket_t t = ticket(EVENT, 900, 21, 0);

    CHECK_ERR(adm_crypto_init(), ADM_OK);
    if (adm_keyring_new(&issuer) != ADM_OK || adm_keyring_new(&other) != ADM_OK)
        abort();
    CHECK_ERR(adm_keyring_generate(issuer, &kid_r), ADM_OK);
    tok_full(retired_tok, &t, issuer, kid_r);
    CHECK_ERR(adm_keyring_generate(issuer, &kid_a), ADM_OK);
    CHECK_ERR(adm_keyring_retire(issuer, kid_r), ADM_OK);
    CHECK_ERR(adm_keyring_generate(other, &kid_o), ADM_OK);
    CHECK_ERR(adm_keyring_public_json(issuer, &keys_json), ADM_OK);
}

/* The test snapshot (event EVENT):
 * types 21 GA, 22 VIP, 23 Staff; ticket 50 blocked, 51 refunded, 52 valid;
 * revocation seq 1 = ticket 40; lists 1 Main once [21,22] gates North/South,
 * 2 Lounge after_exit [22], 3 Staff unlimited [21,23];
 * a remote entry of ticket 60 on list 1 at South by dev-b. */
static char *snapshot(uint32_t event)
{
    static const char fmt[] =
        "{\"format\":\"admit-gate-snapshot\",\"version\":1,\"event\":{\"id\":%u,\"name\":\"Test\"},"
        "\"keys\":%s,"
        "\"ticket_types\":[{\"id\":21,\"name\":\"GA\"},{\"id\":22,\"name\":\"VIP\"},{\"id\":23,"
        "\"name\":\"Staff\"}],"
        "\"tickets\":[{\"id\":50,\"status\":\"blocked\"},{\"id\":51,\"status\":\"refunded\"},{"
        "\"id\":52,\"status\":\"valid\"}],"
        "\"revocations\":{\"revocations\":[{\"seq\":1,\"ticket_id\":40,\"revoked_at\":1767312000,"
        "\"reason\":\"revoked\"}],\"next\":1,\"more\":false},"
        "\"checkin_lists\":["
        "{\"id\":1,\"name\":\"Main\",\"reentry\":\"once\",\"ticket_types\":[21,22],\"gates\":["
        "\"North\",\"South\"]},"
        "{\"id\":2,\"name\":\"Lounge\",\"reentry\":\"after_exit\",\"ticket_types\":[22]},"
        "{\"id\":3,\"name\":\"Staff\",\"reentry\":\"unlimited\",\"ticket_types\":[21,23]}],"
        "\"checkins\":[{\"nonce\":\"r1\",\"ticket_id\":60,\"list_id\":1,\"at\":1799990000,\"gate\":"
        "\"South\","
        "\"device\":\"dev-b\",\"direction\":\"entry\"}]}";
    size_t cap = strlen(fmt) + strlen(keys_json) + 16;
    char *s = malloc(cap);
    if (s == NULL)
        abort();
    snprintf(s, cap, fmt, event, keys_json);
    return s;
}

static void open_fresh(void)
{
    char *snap = snapshot(EVENT);

    snprintf(dbpath, sizeof dbpath, "%s/gate.db", adm_test_tmpdir());
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_INT(adm_gate_event_id(g), 0);
    CHECK_ERR(adm_gate_snapshot_import_json(g, snap, strlen(snap)), ADM_OK);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    CHECK_INT(strlen(adm_gate_device_id(g)), 16);
    n_nonces = 0;
    free(snap);
}

static adm_verdict_t scan_at(const char *text, int64_t now, uint32_t list, const char *gate,
                             adm_direction_t dir, adm_gate_result_t *r)
{
    adm_gate_result_t local;
    adm_gate_ctx_t ctx = {.list_id = list, .gate = gate, .direction = dir};

    if (r == NULL)
        r = &local;
    CHECK_ERR(adm_gate_scan(g, text, strlen(text), now, &ctx, r), ADM_OK);
    CHECK_INT(strlen(r->nonce), ADM_GATE_NONCE_HEX);
    if (n_nonces < MAX_NONCES)
        memcpy(nonces[n_nonces++], r->nonce, sizeof nonces[0]);
    return r->verdict;
}

static adm_verdict_t in(const char *text, uint32_t list, adm_gate_result_t *r)
{
    return scan_at(text, NOW, list, list == 1 ? "North" : "Any", ADM_DIRECTION_ENTRY, r);
}

static adm_verdict_t out(const char *text, uint32_t list)
{
    return scan_at(text, NOW, list, list == 1 ? "North" : "Any", ADM_DIRECTION_EXIT, NULL);
}

static void test_accept_and_checks(void)
{
    adm_gate_result_t r;
    adm_ticket_t t;
    char buf[ADM_TOKEN_TEXT_MAX + 1];

    open_fresh();
    CHECK_INT(in(tok(1, 21, 0), 1, &r), ADM_VERDICT_ACCEPT);
    CHECK_STR(r.reason, "ok");
    CHECK(r.verified && !r.attention && !r.has_first_used);
    CHECK(r.ticket.ticket_id == 1);
    CHECK_INT(r.ticket.type_id, 21);
    /* special: attention */
    CHECK_INT(in(tok(2, 22, ADM_TICKET_SPECIAL), 1, &r), ADM_VERDICT_ACCEPT);
    CHECK(r.attention);
    /* already used, with where and when */
    CHECK_INT(scan_at(tok(1, 21, 0), NOW + 5, 1, "South", ADM_DIRECTION_ENTRY, &r),
              ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.reason, "already_used");
    CHECK(r.has_first_used);
    CHECK_INT(r.first_at, NOW);
    CHECK_STR(r.first_gate, "North");
    CHECK_STR(r.first_device, adm_gate_device_id(g));
    /* revoked, blocked, refunded; a status "valid" admits */
    CHECK_INT(in(tok(40, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "revoked");
    CHECK_INT(in(tok(50, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "blocked");
    CHECK_INT(in(tok(51, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "refunded");
    CHECK_INT(in(tok(52, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    /* another event: with our key, and with a key we do not know */
    t = ticket(EVENT + 1, 3, 21, 0);
    tok_full(buf, &t, issuer, kid_a);
    CHECK_INT(in(buf, 1, &r), ADM_VERDICT_WRONG_EVENT);
    CHECK(r.parsed && !r.verified);
    tok_full(buf, &t, other, kid_o);
    CHECK_INT(in(buf, 1, NULL), ADM_VERDICT_WRONG_EVENT);
    /* type not on the list */
    CHECK_INT(in(tok(4, 23, 0), 1, &r), ADM_VERDICT_WRONG_GATE);
    CHECK_STR(r.reason, "type_not_on_list");
    CHECK_INT(in(tok(4, 23, 0), 3, NULL), ADM_VERDICT_ACCEPT);
    /* validity window, inclusive at both ends */
    t = ticket(EVENT, 5, 21, 0);
    t.has_valid_from = true;
    t.valid_from = NOW + 100;
    t.has_valid_until = true;
    t.valid_until = NOW + 200;
    tok_full(buf, &t, issuer, kid_a);
    CHECK_INT(scan_at(buf, NOW + 99, 1, "North", ADM_DIRECTION_ENTRY, NULL),
              ADM_VERDICT_NOT_YET_VALID);
    CHECK_INT(scan_at(buf, NOW + 201, 1, "North", ADM_DIRECTION_ENTRY, NULL), ADM_VERDICT_EXPIRED);
    CHECK_INT(scan_at(buf, NOW + 200, 1, "North", ADM_DIRECTION_ENTRY, NULL), ADM_VERDICT_ACCEPT);
    t.ticket_id = 6;
    tok_full(buf, &t, issuer, kid_a);
    CHECK_INT(scan_at(buf, NOW + 100, 1, "North", ADM_DIRECTION_ENTRY, NULL), ADM_VERDICT_ACCEPT);
    /* keys: unknown, retired */
    t = ticket(EVENT, 7, 21, 0);
    tok_full(buf, &t, other, kid_o);
    CHECK_INT(in(buf, 1, &r), ADM_VERDICT_UNKNOWN_KEY);
    CHECK_STR(r.reason, adm_err_name(ADM_ERR_TOKEN_KEY));
    CHECK_INT(in(retired_tok, 1, &r), ADM_VERDICT_UNKNOWN_KEY);
    CHECK_STR(r.reason, adm_err_name(ADM_ERR_TOKEN_KEY_RETIRED));
    /* forged: a flipped signature bit, re-encoded canonically */
    {
        uint8_t bin[ADM_TOKEN_BYTES_MAX + ADM_SIGNATURE_BYTES], sig[ADM_SIGNATURE_BYTES];
        size_t signed_len = 0, n = 0;
        adm_ticket_t p;
        const char *good = tok(8, 21, 0);
        CHECK_ERR(adm_token_parse(good, strlen(good), &p, bin, &signed_len, sig), ADM_OK);
        sig[10] ^= 0x04;
        memcpy(bin + signed_len, sig, sizeof sig);
        memcpy(buf, ADM_TOKEN_PREFIX, ADM_TOKEN_PREFIX_LEN);
        CHECK_ERR(adm_base45_encode(bin, signed_len + sizeof sig, buf + ADM_TOKEN_PREFIX_LEN,
                                    sizeof buf - ADM_TOKEN_PREFIX_LEN, &n),
                  ADM_OK);
        CHECK_INT(in(buf, 1, &r), ADM_VERDICT_BAD_SIGNATURE);
        CHECK(r.parsed && !r.verified);
        CHECK_INT(in(good, 1, NULL), ADM_VERDICT_ACCEPT);
    }
    /* malformed: empty, garbage, lower-case prefix, truncated, oversize */
    CHECK_INT(in("", 1, &r), ADM_VERDICT_MALFORMED);
    CHECK_INT(in("   \r\n", 1, NULL), ADM_VERDICT_MALFORMED);
    CHECK_INT(in("hello", 1, &r), ADM_VERDICT_MALFORMED);
    CHECK_STR(r.reason, adm_err_name(ADM_ERR_TOKEN_PREFIX));
    snprintf(buf, sizeof buf, "ad1:%s", tok(9, 21, 0) + 4);
    CHECK_INT(in(buf, 1, NULL), ADM_VERDICT_MALFORMED);
    for (size_t cut = 1; cut < 40; cut += 3) {
        snprintf(buf, sizeof buf, "%s", tok(9, 21, 0));
        buf[strlen(buf) - cut] = '\0';
        CHECK_INT(in(buf, 1, &r), ADM_VERDICT_MALFORMED);
        CHECK(!r.verified);
    }
    {
        char big[4096];
        memset(big, 'A', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        memcpy(big, "AD1:", 4);
        CHECK_INT(in(big, 1, &r), ADM_VERDICT_MALFORMED);
        CHECK_STR(r.reason, adm_err_name(ADM_ERR_TOKEN_OVERSIZE));
    }
    /* keyboard-wedge whitespace at the ends is ignored */
    snprintf(buf, sizeof buf, "\r\n %s \r\n", tok(10, 21, 0));
    CHECK_INT(in(buf, 1, NULL), ADM_VERDICT_ACCEPT);
    adm_gate_close(g);
}

static void test_bit_flips(void)
{
    char good[ADM_TOKEN_TEXT_MAX + 1], buf[ADM_TOKEN_TEXT_MAX + 1];
    static const char repl[] = "0A:%";
    adm_gate_result_t r;
    int accepted = 0;

    open_fresh();
    snprintf(good, sizeof good, "%s", tok(100, 21, ADM_TICKET_SPECIAL));
    for (size_t i = 0; i < strlen(good); i++) {
        for (const char *c = repl; *c; c++) {
            if (good[i] == *c)
                continue;
            memcpy(buf, good, sizeof buf);
            buf[i] = *c;
            in(buf, 1, &r);
            if (r.verdict == ADM_VERDICT_ACCEPT || r.verified || r.attention)
                accepted++;
        }
    }
    CHECK_INT(accepted, 0);
    CHECK_INT(in(good, 1, NULL), ADM_VERDICT_ACCEPT);
    adm_gate_close(g);
}

static void test_reentry_rules(void)
{
    adm_gate_result_t r;
    adm_ticket_t t;
    char buf[ADM_TOKEN_TEXT_MAX + 1];

    open_fresh();
    /* once: a second entry is refused even after an exit */
    CHECK_INT(out(tok(20, 21, 0), 1), ADM_VERDICT_NOT_INSIDE);
    CHECK_INT(in(tok(20, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(out(tok(20, 21, 0), 1), ADM_VERDICT_ACCEPT);
    CHECK_INT(out(tok(20, 21, 0), 1), ADM_VERDICT_NOT_INSIDE);
    CHECK_INT(in(tok(20, 21, 0), 1, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.reason, "already_used");
    /* once + ticket flag REENTRY: again after an exit only */
    CHECK_INT(in(tok(21, 21, ADM_TICKET_REENTRY), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(21, 21, ADM_TICKET_REENTRY), 1, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.reason, "already_inside");
    CHECK_INT(out(tok(21, 21, ADM_TICKET_REENTRY), 1), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(21, 21, ADM_TICKET_REENTRY), 1, NULL), ADM_VERDICT_ACCEPT);
    /* after_exit */
    CHECK_INT(in(tok(22, 22, 0), 2, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(22, 22, 0), 2, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.reason, "already_inside");
    CHECK_STR(r.first_gate, "Any");
    CHECK_INT(out(tok(22, 22, 0), 2), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(22, 22, 0), 2, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(out(tok(22, 22, 0), 2), ADM_VERDICT_ACCEPT);
    CHECK_INT(out(tok(22, 22, 0), 2), ADM_VERDICT_NOT_INSIDE);
    /* unlimited */
    for (int i = 0; i < 3; i++)
        CHECK_INT(in(tok(23, 23, 0), 3, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(out(tok(23, 23, 0), 3), ADM_VERDICT_ACCEPT);
    /* lists are independent: ticket 20 is used on list 1, not on list 3 */
    CHECK_INT(in(tok(20, 21, 0), 3, NULL), ADM_VERDICT_ACCEPT);
    /* exits skip the revocation and validity checks: people can always leave */
    t = ticket(EVENT, 24, 21, 0);
    t.has_valid_until = true;
    t.valid_until = NOW + 10;
    tok_full(buf, &t, issuer, kid_a);
    CHECK_INT(scan_at(buf, NOW, 1, "North", ADM_DIRECTION_ENTRY, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(scan_at(buf, NOW + 3600, 1, "North", ADM_DIRECTION_EXIT, NULL), ADM_VERDICT_ACCEPT);
    /* but still the signature and the list */
    CHECK_INT(out(tok(25, 23, 0), 1), ADM_VERDICT_WRONG_GATE);
    adm_gate_close(g);
}

static void test_context(void)
{
    adm_gate_result_t r;
    adm_gate_ctx_t ctx = {.list_id = 1, .gate = "East", .direction = ADM_DIRECTION_ENTRY};
    const char *t = tok(30, 21, 0);
    adm_gate_t *empty = NULL;
    char path[600];

    open_fresh();
    CHECK_ERR(adm_gate_scan(g, t, strlen(t), NOW, &ctx, &r),
              ADM_ERR_NOT_FOUND); /* gate not on list */
    ctx.list_id = 9;
    ctx.gate = "North";
    CHECK_ERR(adm_gate_scan(g, t, strlen(t), NOW, &ctx, &r), ADM_ERR_NOT_FOUND);
    ctx.list_id = 1;
    ctx.gate = "";
    CHECK_ERR(adm_gate_scan(g, t, strlen(t), NOW, &ctx, &r), ADM_ERR_INVALID_ARG);
    snprintf(path, sizeof path, "%s/empty.db", adm_test_tmpdir());
    CHECK_ERR(adm_gate_open(path, &empty), ADM_OK);
    ctx.gate = "North";
    CHECK_ERR(adm_gate_scan(empty, t, strlen(t), NOW, &ctx, &r), ADM_ERR_STATE);
    adm_gate_close(empty);
    adm_gate_close(g);
}

static void test_remote_and_revocations(void)
{
    adm_gate_result_t r;
    int64_t seq = -1;
    adm_gate_checkin_t c = {.nonce = "n-1",
                            .ticket_id = 70,
                            .list_id = 1,
                            .at = NOW - 60,
                            .gate = "South",
                            .device = "dev-b",
                            .direction = ADM_DIRECTION_ENTRY};

    open_fresh();
    /* from the snapshot */
    CHECK_INT(in(tok(60, 21, 0), 1, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.first_gate, "South");
    CHECK_STR(r.first_device, "dev-b");
    CHECK_INT(r.first_at, 1799990000);
    /* added incrementally; a replay is ignored */
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
    CHECK_INT(in(tok(70, 21, 0), 1, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.first_gate, "South");
    CHECK_STR(r.first_device, "dev-b");
    CHECK_INT(r.first_at, NOW - 60);
    /* remote entry then exit on an after_exit list: entry allowed again */
    c = (adm_gate_checkin_t){.nonce = "n-2",
                             .ticket_id = 71,
                             .list_id = 2,
                             .at = NOW - 50,
                             .gate = "Lounge",
                             .device = "dev-c",
                             .direction = ADM_DIRECTION_ENTRY};
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
    CHECK_INT(in(tok(71, 22, 0), 2, NULL), ADM_VERDICT_ALREADY_USED);
    c.nonce = "n-3";
    c.at = NOW - 40;
    c.direction = ADM_DIRECTION_EXIT;
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
    CHECK_INT(in(tok(71, 22, 0), 2, NULL), ADM_VERDICT_ACCEPT);
    /* bad check-ins */
    c.nonce = NULL;
    c.list_id = 99;
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_ERR_NOT_FOUND);
    c.list_id = 1;
    c.gate = "";
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_ERR_INVALID_ARG);
    /* revocations */
    CHECK_ERR(adm_gate_revocation_seq(g, &seq), ADM_OK);
    CHECK_INT(seq, 1);
    CHECK_INT(in(tok(72, 21, 0), 3, NULL), ADM_VERDICT_ACCEPT);
    CHECK_ERR(adm_gate_add_revocation(g, 2, 72, NOW), ADM_OK);
    CHECK_ERR(adm_gate_add_revocation(g, 2, 72, NOW), ADM_OK);
    CHECK_ERR(adm_gate_add_revocation(g, 0, 72, NOW), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_gate_revocation_seq(g, &seq), ADM_OK);
    CHECK_INT(seq, 2);
    CHECK_INT(in(tok(72, 21, 0), 3, &r), ADM_VERDICT_REVOKED);
    CHECK_INT(out(tok(72, 21, 0), 3), ADM_VERDICT_ACCEPT); /* a revoked ticket inside may leave */
    adm_gate_close(g);
}

/* Ticket rows are inserted sorted by id (snapshot.c): a repeated id keeps the
 * document's last status whatever the order, and a bad status anywhere leaves
 * the store unchanged. */
static void test_snapshot_ticket_rows(void)
{
    static const char fmt[] =
        "{\"format\":\"admit-gate-snapshot\",\"version\":1,\"event\":{\"id\":%u},\"keys\":%s,"
        "\"ticket_types\":[{\"id\":21,\"name\":\"GA\"}],\"tickets\":[%s],"
        "\"checkin_lists\":[{\"id\":1,\"name\":\"Main\",\"reentry\":\"once\","
        "\"ticket_types\":[21]}]}";
    static const char *const good =
        "{\"id\":90,\"status\":\"blocked\"},{\"id\":80,\"status\":\"valid\"},"
        "{\"id\":90,\"status\":\"valid\"},{\"id\":81,\"status\":\"revoked\"},"
        "{\"id\":81,\"status\":\"refunded\"},{\"id\":79,\"status\":\"blocked\"}";
    static const char *const bad =
        "{\"id\":82,\"status\":\"blocked\"},{\"id\":5,\"status\":\"lost\"}";
    char doc[4096];
    adm_gate_result_t r;

    open_fresh();
    snprintf(doc, sizeof doc, fmt, EVENT, keys_json, good);
    CHECK_ERR(adm_gate_snapshot_import_json(g, doc, strlen(doc)), ADM_OK);
    CHECK_INT(in(tok(90, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(81, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "refunded");
    CHECK_INT(in(tok(79, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "blocked");
    CHECK_INT(in(tok(50, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT); /* the old snapshot's row is gone */
    snprintf(doc, sizeof doc, fmt, EVENT, keys_json, bad);
    CHECK_ERR(adm_gate_snapshot_import_json(g, doc, strlen(doc)), ADM_ERR_FORMAT);
    CHECK_INT(in(tok(82, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(80, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(79, 21, 0), 1, NULL), ADM_VERDICT_REVOKED);
    adm_gate_close(g);
}

static int collect(const adm_gate_journal_row_t *row, void *ud)
{
    int *seen = ud;
    bool found = false;

    for (int i = 0; i < n_nonces; i++)
        if (strcmp(nonces[i], row->nonce) == 0)
            found = true;
    CHECK(found);
    CHECK_INT(strlen(row->text_hash), 64);
    CHECK_STR(row->device, adm_gate_device_id(g));
    (*seen)++;
    return 0;
}

static void test_journal_and_persistence(void)
{
    int seen = 0;
    char *snap;

    open_fresh();
    CHECK_INT(in(tok(80, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in("junk", 1, NULL), ADM_VERDICT_MALFORMED);
    CHECK_INT(in(tok(80, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    CHECK_INT(out(tok(81, 21, 0), 1), ADM_VERDICT_NOT_INSIDE);
    /* every scan has a row, nonces unique */
    for (int i = 0; i < n_nonces; i++)
        for (int j = i + 1; j < n_nonces; j++)
            CHECK(strcmp(nonces[i], nonces[j]) != 0);
    CHECK_ERR(adm_gate_journal_each(g, collect, &seen), ADM_OK);
    CHECK_INT(seen, n_nonces);
    /* reopen: state survives */
    adm_gate_close(g);
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    CHECK_INT(in(tok(80, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    /* re-import: journal kept, presence rebuilt from it */
    snap = snapshot(EVENT);
    CHECK_ERR(adm_gate_snapshot_import_json(g, snap, strlen(snap)), ADM_OK);
    free(snap);
    CHECK_INT(in(tok(80, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    CHECK_INT(in(tok(60, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    /* another event while the journal holds scans: refused */
    snap = snapshot(EVENT + 1);
    CHECK_ERR(adm_gate_snapshot_import_json(g, snap, strlen(snap)), ADM_ERR_CONFLICT);
    free(snap);
    /* malformed snapshots leave the store unchanged */
    CHECK_ERR(adm_gate_snapshot_import_json(g, "{}", 2), ADM_ERR_FORMAT);
    CHECK_ERR(adm_gate_snapshot_import_json(g, "[", 1), ADM_ERR_FORMAT);
    {
        const char *bad = "{\"format\":\"admit-gate-snapshot\",\"version\":1,\"event\":{\"id\":7},"
                          "\"keys\":{\"format\":\"admit-keyring\",\"version\":1,\"keys\":[]},"
                          "\"ticket_types\":[],\"checkin_lists\":[{\"id\":1,\"name\":\"x\","
                          "\"reentry\":\"twice\",\"ticket_types\":[]}]}";
        CHECK_ERR(adm_gate_snapshot_import_json(g, bad, strlen(bad)), ADM_ERR_FORMAT);
    }
    CHECK_INT(in(tok(82, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    seen = 0;
    CHECK_ERR(adm_gate_journal_each(g, collect, &seen), ADM_OK);
    CHECK_INT(seen, n_nonces);
    adm_gate_close(g);
}

/* A child scans fresh tickets in a loop and writes each ACCEPT nonce to a
 * pipe after adm_gate_scan() returned; it is killed with SIGKILL at random
 * moments. Every nonce it reported must be in the journal afterwards. */
static void test_durability_kill9(void)
{
    char(*reported)[ADM_GATE_NONCE_HEX + 1] = calloc(20000, sizeof *reported);
    int n_reported = 0, found = 0;

    open_fresh();
    adm_gate_close(g);
    adm_test_seed(0x5eed);
    for (int run = 0; run < 6; run++) {
        int fds[2];
        pid_t pid;
        CHECK(pipe(fds) == 0);
        pid = fork();
        if (pid == 0) {
            adm_gate_t *cg = NULL;
            adm_gate_ctx_t ctx = {.list_id = 3, .gate = "Any", .direction = ADM_DIRECTION_ENTRY};
            close(fds[0]);
            if (adm_gate_open(dbpath, &cg) != ADM_OK)
                _exit(3);
            for (uint64_t k = 0; k < 100000; k++) {
                adm_gate_result_t r;
                const char *t = tok(1000000 + (uint64_t)run * 100000 + k, 21, 0);
                char line[ADM_GATE_NONCE_HEX + 2];
                if (adm_gate_scan(cg, t, strlen(t), NOW, &ctx, &r) != ADM_OK)
                    _exit(4);
                if (r.verdict == ADM_VERDICT_ACCEPT) {
                    snprintf(line, sizeof line, "%s\n", r.nonce);
                    if (write(fds[1], line, strlen(line)) != (ssize_t)strlen(line))
                        _exit(5);
                }
            }
            _exit(0);
        }
        close(fds[1]);
        usleep((useconds_t)(20000 + adm_test_rand() % 200000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        {
            size_t cap = 4u << 20, have = 0;
            char *buf = malloc(cap);
            ssize_t got;
            CHECK(buf != NULL);
            while (buf != NULL && have < cap && (got = read(fds[0], buf + have, cap - have)) > 0)
                have += (size_t)got;
            /* whole lines only: a line cut by the kill was never reported */
            for (size_t p = 0; buf != NULL && p + ADM_GATE_NONCE_HEX < have && n_reported < 20000;
                 p += ADM_GATE_NONCE_HEX + 1) {
                if (buf[p + ADM_GATE_NONCE_HEX] != '\n')
                    break;
                memcpy(reported[n_reported], buf + p, ADM_GATE_NONCE_HEX);
                reported[n_reported++][ADM_GATE_NONCE_HEX] = '\0';
            }
            free(buf);
        }
        close(fds[0]);
    }
    CHECK(n_reported > 0);
    /* integrity and every reported nonce present */
    {
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
        CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
        CHECK_INT(sqlite3_step(s), SQLITE_ROW);
        CHECK_STR((const char *)sqlite3_column_text(s, 0), "ok");
        sqlite3_finalize(s);
        CHECK_INT(
            sqlite3_prepare_v2(db, "SELECT 1 FROM journal WHERE nonce = ?1 AND verdict = 'accept'",
                               -1, &s, NULL),
            SQLITE_OK);
        for (int i = 0; i < n_reported; i++) {
            sqlite3_reset(s);
            sqlite3_bind_text(s, 1, reported[i], -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW)
                found++;
        }
        sqlite3_finalize(s);
        sqlite3_close(db);
    }
    CHECK_INT(found, n_reported);
    fprintf(stderr, "durability: %d reported accepts over 6 kills, all journaled\n", n_reported);
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_INT(in(tok(1000000, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT); /* list 1 untouched */
    adm_gate_close(g);
    free(reported);
}

/* ---- the sync side: feed pages, upload queue, enrollment ---- */

#define DEV_B "dv_00000000000000bb"
#define DEV_C "dv_00000000000000cc"
#define ME "dv_00000000000000aa"

static int64_t feed_seq; /* check-in seq of the hand-made feed */

/* A feed check-in row (docs/sync.md §2). */
static json_t *chk(const char *nonce, uint64_t ticket, uint32_t list, int64_t at, const char *gate,
                   const char *device, const char *dir, bool conflict)
{
    json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:b}", "seq", (json_int_t)++feed_seq,
                          "nonce", nonce, "ticket_id", (json_int_t)ticket, "list_id",
                          (json_int_t)list, "at", (json_int_t)at, "gate", gate, "device", device,
                          "direction", dir, "conflict", (int)conflict);
    if (o == NULL)
        abort();
    return o;
}

static json_t *rev(int64_t seq, uint64_t ticket, const char *reason)
{
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:s}", "seq", (json_int_t)seq, "ticket_id", (json_int_t)ticket,
                  "revoked_at", (json_int_t)NOW - 1000, "reason", reason);
    if (o == NULL)
        abort();
    return o;
}

/* A feed page of event, with the test lists (as in snapshot()) plus extra
 * lists (may be NULL), and the given rows (arrays, taken). */
static json_t *feed_page(uint32_t event, json_t *extra_lists, json_t *revs, json_t *checkins,
                         int64_t cur_rev, int64_t cur_chk)
{
    json_t *keys = json_loads(keys_json, 0, NULL);
    json_t *lists = json_pack(
        "[{s:i,s:s,s:s,s:[i,i],s:[s,s]},{s:i,s:s,s:s,s:[i],s:[]},{s:i,s:s,s:s,s:[i,i],s:[]}]", "id",
        1, "name", "Main", "reentry", "once", "ticket_types", 21, 22, "gates", "North", "South",
        "id", 2, "name", "Lounge", "reentry", "after_exit", "ticket_types", 22, "gates", "id", 3,
        "name", "Staff", "reentry", "unlimited", "ticket_types", 21, 23, "gates");
    json_t *p;

    if (keys == NULL || lists == NULL)
        abort();
    if (extra_lists != NULL)
        json_array_extend(lists, extra_lists);
    json_decref(extra_lists);
    p = json_pack("{s:s,s:i,s:I,s:{s:s,s:s,s:s},s:{s:I,s:s,s:I,s:I,s:s},s:o,s:[{s:i,s:s},{s:i,"
                  "s:s},{s:i,s:s}],s:o,s:o,s:o,s:{s:I,s:I},s:b}",
                  "format", "admit-sync", "version", 1, "server_time", (json_int_t)NOW, "device",
                  "id", ME, "gate", "North", "kind", "gate", "event", "id", (json_int_t)event,
                  "title", "Test", "starts_at", (json_int_t)NOW - 3600, "ends_at",
                  (json_int_t)NOW + 3600, "status", "on_sale", "keys", keys, "ticket_types", "id",
                  21, "name", "GA", "id", 22, "name", "VIP", "id", 23, "name", "Staff",
                  "checkin_lists", lists, "revocations", revs ? revs : json_array(), "checkins",
                  checkins ? checkins : json_array(), "cursor", "revocations", (json_int_t)cur_rev,
                  "checkins", (json_int_t)cur_chk, "more", 0);
    if (p == NULL)
        abort();
    return p;
}

static void open_empty(void)
{
    snprintf(dbpath, sizeof dbpath, "%s/sync.db", adm_test_tmpdir());
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    n_nonces = 0;
    feed_seq = 0;
}

static int64_t count(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static adm_sync_cursor_t cursor(void)
{
    adm_sync_cursor_t c = {-1, -1};
    CHECK_ERR(adm_gate_sync_cursor(g, &c), ADM_OK);
    return c;
}

static void enroll_me(int64_t event)
{
    adm_gate_sync_conf_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.server, sizeof c.server, "https://tickets.example.org");
    snprintf(c.device_id, sizeof c.device_id, ME);
    snprintf(c.secret, sizeof c.secret, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw");
    c.event_id = event;
    snprintf(c.gate, sizeof c.gate, "North");
    CHECK_ERR(adm_gate_sync_enroll_store(g, &c), ADM_OK);
}

/* A new device's first page: no snapshot before it. */
static void test_sync_first_page(void)
{
    adm_gate_apply_stats_t st;
    adm_gate_result_t r;
    json_t *p;
    adm_sync_cursor_t c;

    open_empty();
    enroll_me(EVENT);
    c = cursor();
    CHECK_INT(c.revocations, 0);
    CHECK_INT(c.checkins, 0);
    p = feed_page(EVENT, NULL, json_pack("[o,o]", rev(3, 40, "revoked"), rev(5, 41, "refunded")),
                  json_pack("[o,o]",
                            chk("00000000000000000000000000000001", 60, 1, NOW - 100, "South",
                                DEV_B, "entry", false),
                            chk("00000000000000000000000000000002", 61, 2, NOW - 90, "Lounge",
                                DEV_C, "entry", false)),
                  5, 2);
    CHECK_ERR(adm_gate_sync_apply(g, p, &st), ADM_OK);
    json_decref(p);
    CHECK_INT(st.revocations, 2);
    CHECK_INT(st.checkins, 2);
    CHECK_INT(st.own, 0);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    c = cursor();
    CHECK_INT(c.revocations, 5);
    CHECK_INT(c.checkins, 2);
    /* the page's keys, lists, revocations (with their reason) and check-ins are in force */
    CHECK_INT(in(tok(1, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(40, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "revoked");
    CHECK_INT(in(tok(41, 21, 0), 1, &r), ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "refunded");
    CHECK_INT(in(tok(60, 21, 0), 1, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.first_device, DEV_B);
    CHECK_INT(r.first_at, NOW - 100);
    CHECK_INT(in(tok(61, 22, 0), 2, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_STR(r.reason, "already_inside");
    CHECK_INT(in(tok(2, 23, 0), 1, NULL), ADM_VERDICT_WRONG_GATE);
    /* the journal rows carry the enrolled device id */
    CHECK_STR(adm_gate_device_id(g), ME);
    CHECK_INT(in(tok(3, 21, 0), 1, &r), ADM_VERDICT_ACCEPT);
    {
        json_t *rows = NULL;
        CHECK_ERR(adm_gate_upload_pending(g, 1000, &rows), ADM_OK);
        CHECK_INT(json_array_size(rows), n_nonces);
        CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 0), "device")), ME);
        json_decref(rows);
    }
    adm_gate_close(g);
    /* state survives a reopen */
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    CHECK_STR(adm_gate_device_id(g), ME);
    CHECK_INT(in(tok(60, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    adm_gate_close(g);
}

/* Deltas after the first page, and re-applied pages changing nothing. */
static void test_sync_deltas_idempotent(void)
{
    adm_gate_apply_stats_t st;
    json_t *p1, *p2;

    open_empty();
    enroll_me(EVENT);
    p1 = feed_page(EVENT, NULL, json_pack("[o]", rev(1, 40, "revoked")),
                   json_pack("[o]", chk("00000000000000000000000000000011", 70, 2, NOW - 50,
                                        "Lounge", DEV_B, "entry", false)),
                   1, 1);
    p2 = feed_page(EVENT,
                   json_pack("[{s:i,s:s,s:s,s:[],s:[]}]", "id", 4, "name", "Any type", "reentry",
                             "once", "ticket_types", "gates"),
                   json_pack("[o]", rev(2, 42, "revoked")),
                   json_pack("[o]", chk("00000000000000000000000000000012", 70, 2, NOW - 40,
                                        "Lounge", DEV_B, "exit", false)),
                   2, 2);
    CHECK_ERR(adm_gate_sync_apply(g, p1, &st), ADM_OK);
    CHECK_INT(in(tok(70, 22, 0), 2, NULL), ADM_VERDICT_ALREADY_USED); /* inside */
    CHECK_INT(in(tok(42, 21, 0), 3, NULL), ADM_VERDICT_ACCEPT);
    CHECK_ERR(adm_gate_sync_apply(g, p2, &st), ADM_OK);
    CHECK_INT(st.revocations, 1);
    CHECK_INT(st.checkins, 1);
    CHECK_INT(cursor().checkins, 2);
    CHECK_INT(in(tok(42, 21, 0), 1, NULL), ADM_VERDICT_REVOKED);
    /* a new list reaches the gate with the header; no types = every type */
    CHECK_INT(scan_at(tok(43, 23, 0), NOW, 4, "Any", ADM_DIRECTION_ENTRY, NULL),
              ADM_VERDICT_ACCEPT);
    /* the remote exit: ticket 70 may enter the after_exit list again */
    CHECK_INT(count("SELECT inside FROM presence WHERE list_id = 2 AND ticket_id = 70"), 0);
    /* replays: nothing new, presence unchanged */
    CHECK_ERR(adm_gate_sync_apply(g, p2, &st), ADM_OK);
    CHECK_INT(st.revocations + st.checkins, 0);
    CHECK_ERR(adm_gate_sync_apply(g, p1, &st), ADM_OK);
    CHECK_INT(st.revocations + st.checkins, 0);
    CHECK_INT(count("SELECT count(*) FROM remote_checkins"), 2);
    CHECK_INT(count("SELECT count(*) FROM revocations"), 2);
    CHECK_INT(count("SELECT entries FROM presence WHERE list_id = 2 AND ticket_id = 70"), 1);
    CHECK_INT(in(tok(70, 22, 0), 2, NULL), ADM_VERDICT_ACCEPT);
    json_decref(p1);
    json_decref(p2);
    adm_gate_close(g);
}

/* A malformed row anywhere in a page leaves the store, header and cursor unchanged. */
static void test_sync_atomic(void)
{
    static const char *const bad_rows[] = {"ticket_id", "direction", "gate", "at", "conflict"};
    json_t *p;

    open_empty();
    enroll_me(EVENT);
    p = feed_page(EVENT, NULL, json_pack("[o]", rev(1, 40, "revoked")),
                  json_pack("[o]", chk("00000000000000000000000000000021", 80, 1, NOW - 50, "South",
                                       DEV_B, "entry", false)),
                  1, 1);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_OK);
    json_decref(p);
    for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
        json_t *bad =
            chk("00000000000000000000000000000023", 82, 1, NOW, "North", DEV_C, "entry", false);
        json_object_set_new(bad, bad_rows[i],
                            strcmp(bad_rows[i], "ticket_id") == 0   ? json_string("82")
                            : strcmp(bad_rows[i], "direction") == 0 ? json_string("sideways")
                            : strcmp(bad_rows[i], "gate") == 0      ? json_string("")
                            : strcmp(bad_rows[i], "at") == 0        ? json_real(1.5)
                                                                    : json_string("no"));
        /* a good revocation, a new list and a good check-in come first */
        p = feed_page(EVENT,
                      json_pack("[{s:i,s:s,s:s,s:[],s:[]}]", "id", 9, "name", "New", "reentry",
                                "once", "ticket_types", "gates"),
                      json_pack("[o]", rev(2, 45, "revoked")),
                      json_pack("[o,o]",
                                chk("00000000000000000000000000000022", 81, 1, NOW - 10, "South",
                                    DEV_B, "entry", false),
                                bad),
                      2, 3);
        CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_ERR_FORMAT);
        json_decref(p);
        CHECK_INT(cursor().revocations, 1);
        CHECK_INT(cursor().checkins, 1);
        CHECK_INT(count("SELECT count(*) FROM revocations"), 1);
        CHECK_INT(count("SELECT count(*) FROM remote_checkins"), 1);
        CHECK_INT(count("SELECT count(*) FROM lists WHERE id = 9"), 0);
        CHECK_INT(count("SELECT count(*) FROM presence WHERE ticket_id = 81"), 0);
    }
    /* a malformed revocation, a bad cursor, a missing header part */
    p = feed_page(EVENT, NULL, json_pack("[{s:i,s:s}]", "seq", 2, "ticket_id", "x"), NULL, 2, 1);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_ERR_FORMAT);
    json_decref(p);
    p = feed_page(EVENT, NULL, NULL, NULL, -1, 1);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_ERR_FORMAT);
    json_object_del(p, "keys");
    json_object_set_new(json_object_get(p, "cursor"), "revocations", json_integer(3));
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_ERR_FORMAT);
    json_decref(p);
    CHECK_INT(cursor().revocations, 1);
    CHECK_INT(in(tok(45, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(80, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    adm_gate_close(g);
}

/* This device's rows come back in the feed: skipped by nonce, marked
 * uploaded, conflict flag kept; another event's page is refused. */
static void test_sync_own_rows_and_events(void)
{
    adm_gate_apply_stats_t st;
    adm_gate_result_t r1, r2;
    json_t *p;
    char *snap;

    open_empty();
    enroll_me(EVENT);
    p = feed_page(EVENT, NULL, NULL, NULL, 0, 0);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_OK);
    json_decref(p);
    CHECK_INT(in(tok(90, 21, 0), 1, &r1), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(91, 21, 0), 1, &r2), ADM_VERDICT_ACCEPT);
    p = feed_page(EVENT, NULL, NULL,
                  json_pack("[o,o]", chk(r1.nonce, 90, 1, NOW, "North", ME, "entry", false),
                            chk(r2.nonce, 91, 1, NOW, "North", ME, "entry", true)),
                  0, 2);
    CHECK_ERR(adm_gate_sync_apply(g, p, &st), ADM_OK);
    json_decref(p);
    CHECK_INT(st.own, 2);
    CHECK_INT(st.own_conflicts, 1);
    CHECK_INT(st.checkins, 0);
    CHECK_INT(count("SELECT count(*) FROM remote_checkins"), 0);
    CHECK_INT(count("SELECT entries FROM presence WHERE ticket_id = 90"), 1);
    CHECK_INT(count("SELECT count(*) FROM journal WHERE uploaded = 1"), 2);
    CHECK_INT(count("SELECT conflict FROM journal WHERE ticket_id = 91"), 1);
    CHECK_INT(count("SELECT conflict FROM journal WHERE ticket_id = 90"), 0);
    /* another event while the journal holds scans: refused, nothing changed */
    p = feed_page(EVENT + 1, NULL, json_pack("[o]", rev(1, 40, "revoked")), NULL, 1, 0);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_ERR_CONFLICT);
    json_decref(p);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    CHECK_INT(cursor().checkins, 2);
    adm_gate_close(g);
    /* with an empty journal the new event replaces the old one's data */
    snap = snapshot(EVENT);
    snprintf(dbpath, sizeof dbpath, "%s/switch.db", adm_test_tmpdir());
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_ERR(adm_gate_snapshot_import_json(g, snap, strlen(snap)), ADM_OK);
    free(snap);
    CHECK_INT(count("SELECT count(*) FROM remote_checkins"), 1);
    p = feed_page(EVENT + 1, NULL, NULL, NULL, 0, 0);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_OK);
    json_decref(p);
    CHECK_INT(adm_gate_event_id(g), EVENT + 1);
    CHECK_INT(count("SELECT count(*) FROM remote_checkins"), 0);
    CHECK_INT(count("SELECT count(*) FROM revocations"), 0);
    CHECK_INT(count("SELECT count(*) FROM ticket_status"), 0);
    adm_gate_close(g);
}

/* docs/scanning.md §4: a remote check-in that arrives late with an older
 * time leaves presence as if the rows had arrived in time order. */
static void test_sync_late_checkin(void)
{
    adm_gate_apply_stats_t st;
    adm_gate_result_t r;
    json_t *p;

    open_empty();
    enroll_me(EVENT);
    /* remote only: entry @100, exit @300; the entry @200 arrives last */
    p = feed_page(EVENT, NULL, NULL,
                  json_pack("[o,o]",
                            chk("00000000000000000000000000000031", 95, 2, NOW - 300, "Lounge",
                                DEV_B, "entry", false),
                            chk("00000000000000000000000000000032", 95, 2, NOW - 100, "Lounge",
                                DEV_B, "exit", false)),
                  0, 2);
    CHECK_ERR(adm_gate_sync_apply(g, p, &st), ADM_OK);
    json_decref(p);
    CHECK_INT(st.recomputed, 0);
    p = feed_page(EVENT, NULL, NULL,
                  json_pack("[o]", chk("00000000000000000000000000000033", 95, 2, NOW - 200,
                                       "Lounge", DEV_C, "entry", false)),
                  0, 3);
    CHECK_ERR(adm_gate_sync_apply(g, p, &st), ADM_OK);
    json_decref(p);
    CHECK_INT(st.recomputed, 1);
    CHECK_INT(count("SELECT inside FROM presence WHERE list_id = 2 AND ticket_id = 95"), 0);
    CHECK_INT(count("SELECT entries FROM presence WHERE list_id = 2 AND ticket_id = 95"), 2);
    CHECK_INT(in(tok(95, 22, 0), 2, NULL), ADM_VERDICT_ACCEPT); /* arrival order: already inside */
    /* with this device's journal: local entry @NOW, exit @NOW+10; a remote
     * entry @NOW+5 arrives afterwards: still outside */
    CHECK_INT(scan_at(tok(96, 22, 0), NOW, 2, "Lounge", ADM_DIRECTION_ENTRY, NULL),
              ADM_VERDICT_ACCEPT);
    CHECK_INT(scan_at(tok(96, 22, 0), NOW + 10, 2, "Lounge", ADM_DIRECTION_EXIT, NULL),
              ADM_VERDICT_ACCEPT);
    p = feed_page(EVENT, NULL, NULL,
                  json_pack("[o]", chk("00000000000000000000000000000034", 96, 2, NOW + 5, "Lounge",
                                       DEV_B, "entry", false)),
                  0, 4);
    CHECK_ERR(adm_gate_sync_apply(g, p, &st), ADM_OK);
    json_decref(p);
    CHECK_INT(st.recomputed, 1);
    CHECK_INT(scan_at(tok(96, 22, 0), NOW + 20, 2, "Lounge", ADM_DIRECTION_ENTRY, NULL),
              ADM_VERDICT_ACCEPT);
    /* once list: a late, earlier entry becomes the first use */
    p = feed_page(EVENT, NULL, NULL,
                  json_pack("[o]", chk("00000000000000000000000000000035", 97, 1, NOW - 10, "South",
                                       DEV_B, "entry", false)),
                  0, 5);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_OK);
    json_decref(p);
    p = feed_page(EVENT, NULL, NULL,
                  json_pack("[o]", chk("00000000000000000000000000000036", 97, 1, NOW - 20, "North",
                                       DEV_C, "entry", false)),
                  0, 6);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_OK);
    json_decref(p);
    CHECK_INT(in(tok(97, 21, 0), 1, &r), ADM_VERDICT_ALREADY_USED);
    CHECK_INT(r.first_at, NOW - 20);
    CHECK_STR(r.first_device, DEV_C);
    CHECK_STR(r.first_gate, "North");
    /* the same fix through adm_gate_add_checkin(): exit @+30 known, entry @+25 late */
    {
        adm_gate_checkin_t c = {.nonce = "late-1",
                                .ticket_id = 98,
                                .list_id = 2,
                                .at = NOW + 20,
                                .gate = "Lounge",
                                .device = DEV_B,
                                .direction = ADM_DIRECTION_ENTRY};
        CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
        c.nonce = "late-2";
        c.at = NOW + 30;
        c.direction = ADM_DIRECTION_EXIT;
        CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
        c.nonce = "late-3";
        c.at = NOW + 25;
        c.direction = ADM_DIRECTION_ENTRY;
        CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
        CHECK_INT(count("SELECT inside FROM presence WHERE list_id = 2 AND ticket_id = 98"), 0);
    }
    adm_gate_close(g);
}

static int journal_flags(const adm_gate_journal_row_t *row, void *ud)
{
    int *n = ud;
    n[0] += row->uploaded;
    n[1] += row->conflict;
    return 0;
}

/* The upload queue in journal order, marked by the server's reply. */
static void test_upload_queue(void)
{
    adm_gate_result_t r[3];
    json_t *rows = NULL, *reply, *row;
    int64_t pending = -1;
    size_t conflicts = 9;
    int flags[2] = {0, 0};
    char *snap = snapshot(EVENT);

    open_empty();
    CHECK_ERR(adm_gate_snapshot_import_json(g, snap, strlen(snap)), ADM_OK);
    free(snap);
    CHECK_INT(in(tok(100, 21, ADM_TICKET_SPECIAL), 1, &r[0]), ADM_VERDICT_ACCEPT);
    CHECK_INT(in("junk", 1, &r[1]), ADM_VERDICT_MALFORMED);
    CHECK_INT(in(tok(100, 21, 0), 1, &r[2]), ADM_VERDICT_ALREADY_USED);
    CHECK_ERR(adm_gate_upload_count(g, &pending), ADM_OK);
    CHECK_INT(pending, 3);
    CHECK_ERR(adm_gate_upload_pending(g, 0, &rows), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_gate_upload_pending(g, ADM_SYNC_PUSH_MAX + 1, &rows), ADM_ERR_INVALID_ARG);
    /* before enrollment the rows carry the store's own device id */
    CHECK_ERR(adm_gate_upload_pending(g, 2, &rows), ADM_OK);
    CHECK_INT(json_array_size(rows), 2);
    row = json_array_get(rows, 0);
    CHECK_STR(json_string_value(json_object_get(row, "nonce")), r[0].nonce);
    CHECK_STR(json_string_value(json_object_get(row, "device")), adm_gate_device_id(g));
    CHECK_INT(json_integer_value(json_object_get(row, "ticket_id")), 100);
    CHECK_INT(json_integer_value(json_object_get(row, "list_id")), 1);
    CHECK_INT(json_integer_value(json_object_get(row, "at")), NOW);
    CHECK_STR(json_string_value(json_object_get(row, "gate")), "North");
    CHECK_STR(json_string_value(json_object_get(row, "direction")), "entry");
    CHECK_STR(json_string_value(json_object_get(row, "verdict")), "accept");
    CHECK_STR(json_string_value(json_object_get(row, "reason")), "ok");
    CHECK(json_is_true(json_object_get(row, "attention")));
    CHECK_INT(strlen(json_string_value(json_object_get(row, "text_hash"))), 64);
    row = json_array_get(rows, 1);
    CHECK_STR(json_string_value(json_object_get(row, "nonce")), r[1].nonce);
    CHECK(json_is_null(json_object_get(row, "ticket_id")));
    CHECK_STR(json_string_value(json_object_get(row, "verdict")), "malformed");
    json_decref(rows);
    /* after enrollment: the enrolled id */
    enroll_me(EVENT);
    CHECK_ERR(adm_gate_upload_pending(g, 1000, &rows), ADM_OK);
    CHECK_INT(json_array_size(rows), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 2), "device")), ME);
    json_decref(rows);
    /* a malformed reply marks nothing */
    reply = json_pack("{s:[{s:s,s:i}]}", "results", "nonce", r[0].nonce, "conflict", 1);
    CHECK_ERR(adm_gate_upload_ack(g, reply, &conflicts), ADM_ERR_FORMAT);
    json_decref(reply);
    CHECK_ERR(adm_gate_upload_count(g, &pending), ADM_OK);
    CHECK_INT(pending, 3);
    /* the reply for the first two rows, the second flagged (and an unknown nonce) */
    reply =
        json_pack("{s:i,s:i,s:[{s:s,s:i,s:b,s:b},{s:s,s:i,s:b,s:b},{s:s,s:i,s:b,s:b}]}", "stored",
                  2, "duplicates", 0, "results", "nonce", r[0].nonce, "seq", 1, "stored", 1,
                  "conflict", 0, "nonce", r[1].nonce, "seq", 2, "stored", 1, "conflict", 1, "nonce",
                  "ffffffffffffffffffffffffffffffff", "seq", 3, "stored", 1, "conflict", 1);
    CHECK_ERR(adm_gate_upload_ack(g, reply, &conflicts), ADM_OK);
    json_decref(reply);
    CHECK_INT(conflicts, 1);
    CHECK_ERR(adm_gate_upload_count(g, &pending), ADM_OK);
    CHECK_INT(pending, 1);
    CHECK_ERR(adm_gate_upload_pending(g, 1000, &rows), ADM_OK);
    CHECK_INT(json_array_size(rows), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 0), "nonce")), r[2].nonce);
    json_decref(rows);
    CHECK_ERR(adm_gate_journal_each(g, journal_flags, flags), ADM_OK);
    CHECK_INT(flags[0], 2);
    CHECK_INT(flags[1], 1);
    /* durable: a new handle sees it */
    adm_gate_close(g);
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_ERR(adm_gate_upload_count(g, &pending), ADM_OK);
    CHECK_INT(pending, 1);
    {
        json_t *status = NULL;
        CHECK_ERR(adm_gate_status_json(g, &status), ADM_OK);
        CHECK_INT(json_integer_value(json_object_get(status, "pending_uploads")), 1);
        CHECK_INT(json_integer_value(json_object_get(status, "conflicts")), 1);
        CHECK_INT(
            json_integer_value(json_object_get(json_object_get(status, "journal"), "already_used")),
            1);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(status, "journal"), "total")),
                  3);
        CHECK(json_is_true(json_object_get(status, "enrolled")));
        CHECK(json_object_get(status, "secret") == NULL);
        json_decref(status);
    }
    adm_gate_close(g);
}

/* Enrollment: stored, read back, cursors reset, file private, event guard. */
static void test_enrollment_store(void)
{
    adm_gate_sync_conf_t c, back;
    struct stat sb;
    json_t *p;

    open_empty();
    CHECK_ERR(adm_gate_sync_conf_get(g, &back), ADM_ERR_NOT_FOUND);
    memset(&c, 0, sizeof c);
    CHECK_ERR(adm_gate_sync_enroll_store(g, &c), ADM_ERR_INVALID_ARG);
    enroll_me(EVENT);
    p = feed_page(EVENT, NULL, NULL, NULL, 4, 9);
    CHECK_ERR(adm_gate_sync_apply(g, p, NULL), ADM_OK);
    json_decref(p);
    CHECK_INT(cursor().checkins, 9);
    CHECK_ERR(adm_gate_sync_conf_get(g, &back), ADM_OK);
    CHECK_STR(back.server, "https://tickets.example.org");
    CHECK_STR(back.device_id, ME);
    CHECK_INT(back.event_id, EVENT);
    CHECK_STR(back.gate, "North");
    CHECK(!back.relay && !back.allow_http && back.ca_file[0] == '\0' && back.pin[0] == '\0');
    CHECK_STR(back.secret, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw");
    adm_gate_sync_conf_wipe(&back);
    CHECK(back.secret[0] == '\0');
    CHECK_INT(stat(dbpath, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0600);
    /* again (a new code): cursors restart */
    memset(&c, 0, sizeof c);
    snprintf(c.server, sizeof c.server, "http://127.0.0.1:8080");
    snprintf(c.device_id, sizeof c.device_id, DEV_C);
    snprintf(c.secret, sizeof c.secret, "x");
    snprintf(c.gate, sizeof c.gate, "South");
    snprintf(c.ca_file, sizeof c.ca_file, "/etc/ca.pem");
    c.allow_http = true;
    c.event_id = EVENT;
    CHECK_ERR(adm_gate_sync_enroll_store(g, &c), ADM_OK);
    CHECK_INT(cursor().checkins, 0);
    CHECK_STR(adm_gate_device_id(g), DEV_C);
    CHECK_ERR(adm_gate_sync_conf_get(g, &back), ADM_OK);
    CHECK(back.allow_http);
    CHECK_STR(back.ca_file, "/etc/ca.pem");
    /* another event while the journal holds scans: refused */
    CHECK_INT(in(tok(1, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    c.event_id = EVENT + 1;
    CHECK_ERR(adm_gate_sync_enroll_store(g, &c), ADM_ERR_CONFLICT);
    CHECK_ERR(adm_gate_sync_conf_get(g, &back), ADM_OK);
    CHECK_INT(back.event_id, EVENT);
    adm_gate_sync_conf_wipe(&back);
    adm_gate_close(g);
}

/* Two handles (the syncer's and the scanner's): keys and event applied by
 * one are used by the other's next scan. */
static void test_sync_two_handles(void)
{
    adm_gate_t *syncer = NULL;
    adm_keyring_t *next = NULL;
    uint32_t kid_n;
    char *next_json = NULL, buf[ADM_TOKEN_TEXT_MAX + 1];
    adm_ticket_t t = ticket(EVENT, 120, 21, 0);
    json_t *p;

    open_empty();
    CHECK_ERR(adm_gate_open(dbpath, &syncer), ADM_OK);
    p = feed_page(EVENT, NULL, NULL, NULL, 0, 0);
    {
        adm_gate_t *scanner = g;
        g = syncer;
        enroll_me(EVENT);
        g = scanner;
    }
    CHECK_ERR(adm_gate_sync_apply(syncer, p, NULL), ADM_OK);
    json_decref(p);
    /* the scanning handle was opened before the first page */
    CHECK_INT(in(tok(110, 21, 0), 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_STR(adm_gate_device_id(g), ME);
    /* key rotation: a new keyring document in the next page */
    CHECK_ERR(adm_keyring_new(&next), ADM_OK);
    CHECK_ERR(adm_keyring_generate(next, &kid_n), ADM_OK);
    CHECK_ERR(adm_keyring_public_json(next, &next_json), ADM_OK);
    tok_full(buf, &t, next, kid_n);
    CHECK_INT(in(buf, 1, NULL), ADM_VERDICT_UNKNOWN_KEY);
    p = feed_page(EVENT, NULL, NULL, NULL, 0, 0);
    json_object_set_new(p, "keys", json_loads(next_json, 0, NULL));
    CHECK_ERR(adm_gate_sync_apply(syncer, p, NULL), ADM_OK);
    json_decref(p);
    CHECK_INT(in(buf, 1, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(111, 21, 0), 1, NULL), ADM_VERDICT_UNKNOWN_KEY);
    adm_gate_close(syncer);
    adm_gate_close(g);
    adm_keyring_free(next);
    free(next_json);
}

/* A store made by the first admit-gate (schema 1, frozen) opens, migrates
 * and keeps working; its presence rows (no last_at) are recomputed. */
static void test_migration_from_v1(void)
{
    static const char v1[] =
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE ticket_types(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE ticket_status(ticket_id INTEGER PRIMARY KEY, status TEXT NOT NULL);"
        "CREATE TABLE revocations(seq INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL,"
        " revoked_at INTEGER NOT NULL);"
        "CREATE INDEX revocations_ticket ON revocations(ticket_id);"
        "CREATE TABLE lists(id INTEGER PRIMARY KEY, name TEXT NOT NULL, reentry INTEGER NOT "
        "NULL);"
        "CREATE TABLE list_types(list_id INTEGER NOT NULL, type_id INTEGER NOT NULL,"
        " PRIMARY KEY(list_id, type_id)) WITHOUT ROWID;"
        "CREATE TABLE list_gates(list_id INTEGER NOT NULL, name TEXT NOT NULL,"
        " PRIMARY KEY(list_id, name)) WITHOUT ROWID;"
        "CREATE TABLE remote_checkins(id INTEGER PRIMARY KEY, nonce TEXT UNIQUE,"
        " ticket_id INTEGER NOT NULL, list_id INTEGER NOT NULL, at INTEGER NOT NULL,"
        " gate TEXT NOT NULL, device TEXT NOT NULL, direction TEXT NOT NULL);"
        "CREATE TABLE presence(list_id INTEGER NOT NULL, ticket_id INTEGER NOT NULL,"
        " entries INTEGER NOT NULL, inside INTEGER NOT NULL, first_at INTEGER,"
        " first_gate TEXT, first_device TEXT, PRIMARY KEY(list_id, ticket_id)) WITHOUT ROWID;"
        "CREATE TABLE journal(seq INTEGER PRIMARY KEY, nonce TEXT NOT NULL UNIQUE,"
        " at INTEGER NOT NULL, gate TEXT NOT NULL, device TEXT NOT NULL, list_id INTEGER NOT "
        "NULL,"
        " direction TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL, ticket_id "
        "INTEGER,"
        " attention INTEGER NOT NULL, text_hash TEXT NOT NULL, uploaded INTEGER NOT NULL "
        "DEFAULT 0);"
        "INSERT INTO meta VALUES('device', '0123456789abcdef'), ('event_id', '7');"
        "INSERT INTO lists VALUES(2, 'Lounge', 1);"
        "INSERT INTO list_types VALUES(2, 22);"
        "INSERT INTO revocations VALUES(1, 40, 0);"
        "INSERT INTO remote_checkins VALUES(1, 'old-1', 99, 2, 1800000000, 'Lounge', 'dev-b',"
        " 'entry');"
        "INSERT INTO presence VALUES(2, 99, 1, 1, 1800000000, 'Lounge', 'dev-b');"
        "INSERT INTO journal VALUES(1, 'aaaa', 1800000000, 'Lounge', '0123456789abcdef', 2,"
        " 'entry', 'accept', 'ok', 98, 0, 'x', 0);"
        "PRAGMA user_version = 1;";
    sqlite3 *db = NULL;
    adm_gate_result_t r;
    adm_gate_checkin_t c = {.nonce = "old-2",
                            .ticket_id = 99,
                            .list_id = 2,
                            .at = NOW - 10, /* before the stored entry's time... */
                            .gate = "Lounge",
                            .device = "dev-c",
                            .direction = ADM_DIRECTION_EXIT};

    snprintf(dbpath, sizeof dbpath, "%s/v1.db", adm_test_tmpdir());
    CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    /* the keyring as v1 stored it */
    {
        sqlite3_stmt *s = NULL;
        CHECK_INT(sqlite3_prepare_v2(db, "INSERT INTO meta VALUES('keys', ?1)", -1, &s, NULL),
                  SQLITE_OK);
        sqlite3_bind_text(s, 1, keys_json, -1, SQLITE_STATIC);
        CHECK_INT(sqlite3_step(s), SQLITE_DONE);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    CHECK_ERR(adm_gate_open(dbpath, &g), ADM_OK);
    CHECK_INT(count("PRAGMA user_version"), 2);
    CHECK_INT(adm_gate_event_id(g), EVENT);
    CHECK_STR(adm_gate_device_id(g), "0123456789abcdef");
    /* v1 rows: pending upload, revocation reason defaulted */
    CHECK_INT(count("SELECT count(*) FROM journal WHERE uploaded = 0 AND conflict = 0"), 1);
    CHECK_INT(scan_at(tok(40, 22, 0), NOW, 2, "Lounge", ADM_DIRECTION_ENTRY, &r),
              ADM_VERDICT_REVOKED);
    CHECK_STR(r.reason, "revoked");
    /* ...so the exit is older than the presence row says: recomputed, not applied on top */
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
    CHECK_INT(count("SELECT inside FROM presence WHERE list_id = 2 AND ticket_id = 99"), 1);
    CHECK_INT(count("SELECT last_at FROM presence WHERE list_id = 2 AND ticket_id = 99"), NOW);
    CHECK_INT(scan_at(tok(99, 22, 0), NOW + 1, 2, "Lounge", ADM_DIRECTION_ENTRY, &r),
              ADM_VERDICT_ALREADY_USED);
    adm_gate_close(g);
}

/* ---- the read-only queries (gate-query.h) ---- */

#define QUERY_LISTS_MAX 8

typedef struct seen_lists {
    int n, stop_after;
    uint32_t id[QUERY_LISTS_MAX];
    char name[QUERY_LISTS_MAX][ADM_GATE_NAME_MAX + 1];
    adm_reentry_t reentry[QUERY_LISTS_MAX];
    size_t n_gates[QUERY_LISTS_MAX];
    char gates[QUERY_LISTS_MAX][2 * ADM_GATE_NAME_MAX + 2]; /* first two, comma-separated */
} seen_lists_t;

static int collect_list(const adm_gate_list_info_t *li, void *ud)
{
    seen_lists_t *s = ud;
    int i = s->n++;

    if (i >= QUERY_LISTS_MAX)
        return 1;
    s->id[i] = li->id;
    snprintf(s->name[i], sizeof s->name[i], "%s", li->name);
    s->reentry[i] = li->reentry;
    s->n_gates[i] = li->n_gates;
    snprintf(s->gates[i], sizeof s->gates[i], "%s%s%s", li->n_gates > 0 ? li->gates[0] : "",
             li->n_gates > 1 ? "," : "", li->n_gates > 1 ? li->gates[1] : "");
    return s->n == s->stop_after;
}

static void add_remote(const char *nonce, uint64_t ticket, uint32_t list, int64_t at,
                       const char *gate, const char *device, adm_direction_t dir)
{
    adm_gate_checkin_t c = {.nonce = nonce,
                            .ticket_id = ticket,
                            .list_id = list,
                            .at = at,
                            .gate = gate,
                            .device = device,
                            .direction = dir};
    CHECK_ERR(adm_gate_add_checkin(g, &c), ADM_OK);
}

static void test_query_types_and_lists(void)
{
    char name[ADM_GATE_TYPE_NAME_MAX + 1] = "x";
    char small[5] = "x";
    seen_lists_t s = {0};

    open_fresh();
    /* type names */
    CHECK_ERR(adm_gate_type_name(g, 22, name, sizeof name), ADM_OK);
    CHECK_STR(name, "VIP");
    CHECK_ERR(adm_gate_type_name(g, 99, name, sizeof name), ADM_ERR_NOT_FOUND);
    CHECK_STR(name, "");
    CHECK_ERR(adm_gate_type_name(g, 21, small, sizeof small), ADM_OK);
    CHECK_STR(small, "GA");
    CHECK_ERR(adm_gate_type_name(g, 23, small, sizeof small), ADM_ERR_TOO_BIG); /* "Staff" */
    CHECK_STR(small, "");
    CHECK_ERR(adm_gate_type_name(g, 22, small, 0), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_gate_type_name(g, 22, NULL, 8), ADM_ERR_INVALID_ARG);
    /* lists, in id order, with rules and gates */
    CHECK_ERR(adm_gate_lists_each(g, collect_list, &s), ADM_OK);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.id[0], 1);
    CHECK_STR(s.name[0], "Main");
    CHECK_INT(s.reentry[0], ADM_REENTRY_ONCE);
    CHECK_INT(s.n_gates[0], 2);
    CHECK_STR(s.gates[0], "North,South");
    CHECK_INT(s.id[1], 2);
    CHECK_STR(s.name[1], "Lounge");
    CHECK_INT(s.reentry[1], ADM_REENTRY_AFTER_EXIT);
    CHECK_INT(s.n_gates[1], 0);
    CHECK_INT(s.id[2], 3);
    CHECK_STR(s.name[2], "Staff");
    CHECK_INT(s.reentry[2], ADM_REENTRY_UNLIMITED);
    CHECK_INT(s.n_gates[2], 0);
    /* fn stops the walk */
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    CHECK_ERR(adm_gate_lists_each(g, collect_list, &s), ADM_OK);
    CHECK_INT(s.n, 1);
    CHECK_ERR(adm_gate_lists_each(g, NULL, &s), ADM_ERR_INVALID_ARG);
    adm_gate_close(g);

    /* an empty store: no type, no list */
    open_empty();
    CHECK_ERR(adm_gate_type_name(g, 21, name, sizeof name), ADM_ERR_NOT_FOUND);
    memset(&s, 0, sizeof s);
    CHECK_ERR(adm_gate_lists_each(g, collect_list, &s), ADM_OK);
    CHECK_INT(s.n, 0);
    adm_gate_close(g);
}

static void test_query_ticket(void)
{
    adm_gate_ticket_info_t *t = calloc(1, sizeof *t);
    const adm_gate_history_row_t *h;

    if (t == NULL)
        abort();
    open_fresh();
    /* ticket 60: a synced entry from the snapshot (list 1, South, dev-b, 1799990000) */
    CHECK_INT(in(tok(60, 21, 0), 3, NULL), ADM_VERDICT_ACCEPT);
    CHECK_INT(out(tok(60, 21, 0), 3), ADM_VERDICT_ACCEPT);
    CHECK_INT(in(tok(60, 21, 0), 1, NULL), ADM_VERDICT_ALREADY_USED);
    add_remote("q-1", 60, 2, NOW + 5, "Lounge", "dev-c", ADM_DIRECTION_EXIT);
    CHECK_ERR(adm_gate_add_revocation(g, 2, 60, NOW + 10), ADM_OK);
    CHECK_INT(scan_at(tok(60, 21, 0), NOW + 20, 3, "Any", ADM_DIRECTION_ENTRY, NULL),
              ADM_VERDICT_REVOKED);
    CHECK_INT(in(tok(61, 21, 0), 3, NULL), ADM_VERDICT_ACCEPT); /* another ticket */

    CHECK_ERR(adm_gate_ticket_info(g, 60, t), ADM_OK);
    CHECK_INT(t->ticket_id, 60);
    CHECK(t->revoked);
    CHECK_INT(t->revoked_at, NOW + 10);
    CHECK_STR(t->revoked_reason, "revoked");
    CHECK(t->status == NULL);
    CHECK_INT(t->refused, 2);
    CHECK(!t->truncated);
    CHECK_INT(t->n_history, 4);
    h = &t->history[0];
    CHECK_INT(h->at, 1799990000);
    CHECK_STR(h->gate, "South");
    CHECK_STR(h->device, "dev-b");
    CHECK_INT(h->list_id, 1);
    CHECK_INT(h->direction, ADM_DIRECTION_ENTRY);
    CHECK_INT(h->source, ADM_GATE_SOURCE_SYNCED);
    h = &t->history[1];
    CHECK_INT(h->at, NOW);
    CHECK_STR(h->gate, "Any");
    CHECK_STR(h->device, adm_gate_device_id(g));
    CHECK_INT(h->list_id, 3);
    CHECK_INT(h->direction, ADM_DIRECTION_ENTRY);
    CHECK_INT(h->source, ADM_GATE_SOURCE_LOCAL);
    h = &t->history[2];
    CHECK_INT(h->at, NOW);
    CHECK_INT(h->direction, ADM_DIRECTION_EXIT);
    CHECK_INT(h->source, ADM_GATE_SOURCE_LOCAL);
    h = &t->history[3];
    CHECK_INT(h->at, NOW + 5);
    CHECK_STR(h->gate, "Lounge");
    CHECK_STR(h->device, "dev-c");
    CHECK_INT(h->list_id, 2);
    CHECK_INT(h->direction, ADM_DIRECTION_EXIT);
    CHECK_INT(h->source, ADM_GATE_SOURCE_SYNCED);

    /* the snapshot's revocation and status rows */
    CHECK_ERR(adm_gate_ticket_info(g, 40, t), ADM_OK);
    CHECK(t->revoked);
    CHECK_INT(t->revoked_at, 1767312000);
    CHECK_STR(t->revoked_reason, "revoked");
    CHECK_INT(t->n_history, 0);
    CHECK_ERR(adm_gate_ticket_info(g, 50, t), ADM_OK);
    CHECK(!t->revoked && t->revoked_reason == NULL);
    CHECK_STR(t->status, "blocked");
    CHECK_ERR(adm_gate_ticket_info(g, 52, t), ADM_OK);
    CHECK_STR(t->status, "valid");
    /* never heard of */
    CHECK_ERR(adm_gate_ticket_info(g, 12345, t), ADM_OK);
    CHECK_INT(t->ticket_id, 12345);
    CHECK(!t->revoked && t->status == NULL && t->n_history == 0 && !t->truncated);
    CHECK_INT(t->refused, 0);
    CHECK_ERR(adm_gate_ticket_info(g, 0, t), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_gate_ticket_info(g, (uint64_t)INT64_MAX + 1, t), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_gate_ticket_info(g, 60, NULL), ADM_ERR_INVALID_ARG);
    adm_gate_close(g);
    free(t);
}

/* At most ADM_GATE_HISTORY_MAX rows, the earliest, with the truncated flag
 * set only when there are more. */
static void test_query_ticket_bound(void)
{
    adm_gate_ticket_info_t *t = calloc(1, sizeof *t);
    char nonce[32];

    if (t == NULL)
        abort();
    open_fresh();
    /* ticket 62: exactly the bound; ticket 63: the bound + 6 (one local) */
    for (int i = 0; i < ADM_GATE_HISTORY_MAX; i++) {
        snprintf(nonce, sizeof nonce, "b62-%d", i);
        add_remote(nonce, 62, 3, NOW - 1000 + i, "Any", "dev-b",
                   i % 2 ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY);
    }
    for (int i = 0; i < ADM_GATE_HISTORY_MAX + 5; i++) {
        snprintf(nonce, sizeof nonce, "b63-%d", i);
        add_remote(nonce, 63, 3, NOW - 1000 + i, "Any", "dev-b",
                   i % 2 ? ADM_DIRECTION_EXIT : ADM_DIRECTION_ENTRY);
    }
    CHECK_INT(in(tok(63, 21, 0), 3, NULL), ADM_VERDICT_ACCEPT); /* the latest row */

    CHECK_ERR(adm_gate_ticket_info(g, 62, t), ADM_OK);
    CHECK_INT(t->n_history, ADM_GATE_HISTORY_MAX);
    CHECK(!t->truncated);
    CHECK_ERR(adm_gate_ticket_info(g, 63, t), ADM_OK);
    CHECK_INT(t->n_history, ADM_GATE_HISTORY_MAX);
    CHECK(t->truncated);
    CHECK_INT(t->history[0].at, NOW - 1000);
    CHECK_INT(t->history[1].direction, ADM_DIRECTION_EXIT);
    CHECK_INT(t->history[ADM_GATE_HISTORY_MAX - 1].at, NOW - 1000 + ADM_GATE_HISTORY_MAX - 1);
    for (size_t i = 0; i < t->n_history; i++)
        CHECK_INT(t->history[i].source, ADM_GATE_SOURCE_SYNCED);
    adm_gate_close(g);
    free(t);
}

int main(void)
{
    setup_keys();
    ADM_RUN(test_accept_and_checks);
    ADM_RUN(test_bit_flips);
    ADM_RUN(test_reentry_rules);
    ADM_RUN(test_context);
    ADM_RUN(test_remote_and_revocations);
    ADM_RUN(test_snapshot_ticket_rows);
    ADM_RUN(test_journal_and_persistence);
    ADM_RUN(test_durability_kill9);
    ADM_RUN(test_sync_first_page);
    ADM_RUN(test_sync_deltas_idempotent);
    ADM_RUN(test_sync_atomic);
    ADM_RUN(test_sync_own_rows_and_events);
    ADM_RUN(test_sync_late_checkin);
    ADM_RUN(test_upload_queue);
    ADM_RUN(test_enrollment_store);
    ADM_RUN(test_sync_two_handles);
    ADM_RUN(test_migration_from_v1);
    ADM_RUN(test_query_types_and_lists);
    ADM_RUN(test_query_ticket);
    ADM_RUN(test_query_ticket_bound);
    adm_keyring_free(issuer);
    adm_keyring_free(other);
    free(keys_json);
    return adm_test_done();
}
