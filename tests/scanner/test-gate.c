/* test-gate.c: unit tests of scanner/gate.c, snapshot.c and verdict.c: every verdict with crafted
 * tokens, the re-entry rules, remote check-ins and revocations, the journal,
 * snapshot import, and durability under kill -9. Not for the CLI (that is
 * tests/scanner/test-admit-gate.sh). */
#include "scanner/gate.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

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
    adm_keyring_free(issuer);
    adm_keyring_free(other);
    free(keys_json);
    return adm_test_done();
}
