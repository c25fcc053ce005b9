/* gate-impl.h: what the gate engine's files share (scanner/gate.c store,
 * snapshot.c import, verdict.c scan); internal, never included outside
 * scanner/. Not an API: callers use scanner/gate.h. */
#ifndef ADM_GATE_IMPL_H
#define ADM_GATE_IMPL_H

#include <sqlite3.h>

#include "scanner/gate.h"
#include "sync/keyring.h"

/* hot-path statements, prepared once at open */
enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_LIST,
    Q_TYPE_OK,
    Q_REVOKED,
    Q_STATUS,
    Q_PRESENCE,
    Q_ENTER,
    Q_EXIT,
    Q_JOURNAL,
    Q_DATA_VERSION,
    Q_LAST_AT,
    Q_TICKET_ROWS,
    N_Q
};

struct adm_gate {
    sqlite3 *db;
    sqlite3_stmt *q[N_Q];
    adm_keyring_t *kr; /* public keys of the snapshot */
    uint32_t event_id;
    char device[ADM_GATE_NAME_MAX + 1];
    int64_t data_version;  /* PRAGMA data_version when event_id, device and kr were read */
    uint8_t keys_hash[32]; /* BLAKE2b-256 of the keyring document kr was loaded from */
};

/* Runs sql with parameters described by fmt: 'i' int64_t, 't' const char *
 * (NULL binds NULL). Returns the last sqlite3_step code (SQLITE_DONE,
 * SQLITE_ROW) or an error code. For the cold paths (import, open). */
int adm_gate_sql(sqlite3 *db, const char *sql, const char *fmt, ...);
bool adm_gate_sql_ok(int rc);
/* The prepared hot-path statement q, reset and unbound. */
sqlite3_stmt *adm_gate_stmt(adm_gate_t *g, int q);
/* Steps s once and resets it; returns the step code. */
int adm_gate_step(sqlite3_stmt *s);
/* Writes n bytes as 2n lower-case hex digits and a NUL into out. */
void adm_gate_hex(const uint8_t *b, size_t n, char *out);
/* A gate, device, list or nonce name: 1..ADM_GATE_NAME_MAX bytes. */
bool adm_gate_name_ok(const char *s);
/* Applies one entry or exit to presence. ADM_ERR_STORE. */
adm_err_t adm_gate_presence_apply(adm_gate_t *g, uint32_t list, uint64_t ticket, int64_t at,
                                  const char *gate, const char *device, adm_direction_t dir);
/* Rebuilds presence from remote check-ins and accepted journal rows, in time order. */
adm_err_t adm_gate_presence_rebuild(adm_gate_t *g);
/* Presence after a remote check-in was inserted: applied on top when it is
 * newer than every row already applied to (list, ticket), else that ticket's
 * presence on the list is recomputed in time order (docs/scanning.md §4);
 * *recomputed (may be NULL) says which. */
adm_err_t adm_gate_presence_add(adm_gate_t *g, uint32_t list, uint64_t ticket, int64_t at,
                                const char *gate, const char *device, adm_direction_t dir,
                                bool *recomputed);
/* Rereads event id, device id and keyring when another connection committed
 * since they were read (PRAGMA data_version). ADM_ERR_STORE, ADM_ERR_FORMAT
 * (stored keyring corrupt: kr is kept), ADM_ERR_NOMEM. */
adm_err_t adm_gate_reload(adm_gate_t *g);
/* Reads meta value key into a new string (*out, free with free(); NULL when absent). */
adm_err_t adm_gate_meta_get(sqlite3 *db, const char *key, char **out);
/* Sets meta key to value (NULL deletes it). ADM_ERR_STORE. */
adm_err_t adm_gate_meta_set(sqlite3 *db, const char *key, const char *value);
/* Loads keys (a public keyring document) into g->kr when it differs from
 * the loaded one. ADM_ERR_FORMAT, ADM_ERR_NOMEM. */
adm_err_t adm_gate_keys_use(adm_gate_t *g, const char *keys);
/* Makes kr (taken) g's keyring, loaded from the document keys. */
void adm_gate_keys_take(adm_gate_t *g, adm_keyring_t *kr, const char *keys);
/* The revocation reason stored for a feed/snapshot reason name: "refunded"
 * or "revoked" (static). */
const char *adm_gate_revocation_reason(const char *s);
/* The verdict named s (as stored in the journal); MALFORMED when unknown. */
adm_verdict_t adm_gate_verdict_from_name(const char *s);

#endif
