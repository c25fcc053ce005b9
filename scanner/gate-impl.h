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
    N_Q
};

struct adm_gate {
    sqlite3 *db;
    sqlite3_stmt *q[N_Q];
    adm_keyring_t *kr; /* public keys of the snapshot */
    uint32_t event_id;
    char device[ADM_GATE_NAME_MAX + 1];
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
/* The verdict named s (as stored in the journal); MALFORMED when unknown. */
adm_verdict_t adm_gate_verdict_from_name(const char *s);

#endif
