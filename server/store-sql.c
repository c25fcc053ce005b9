/* store-sql.c: the store's domain logic, written once for every SQL backend:
 * catalog, holds, orders and tickets, accounts, idempotency, signing keys and
 * the reaper, each op a transaction body run by the backend's run() through
 * the driver interface of store-sql.h. Not for connections, pools,
 * transactions, retries or migrations (store-sqlite.c, store-mysql.c).
 *
 * Rules the bodies keep for MariaDB's row locks (docs/store.md §8), which
 * are free on SQLite: a check-then-write reads its row with a *_LOCK
 * statement first; rows of several ticket types are updated in type-id
 * order (sort_items); the hold's counter UPDATE comes before its INSERT; one
 * statement at a time per connection, so a body collects a result's rows
 * before it runs the next statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/store-sql.h"

#define BATCH 64         /* expired holds or orders released per transaction */
#define LAZY_BATCHES 4   /* a hold releases at most LAZY_BATCHES * BATCH expired holds */
#define DELETE_BATCH 500 /* sessions or idempotency rows deleted per transaction */

/* ---- the driver, by short names ---- */

static inline adm_err_t use(adm_sql_t *c, int q)
{
    return c->drv->use(c, q);
}

static inline void pi(adm_sql_t *c, int64_t v)
{
    c->drv->bind_int(c, v);
}

static inline void pt(adm_sql_t *c, const char *v)
{
    c->drv->bind_text(c, v);
}

static inline void pb(adm_sql_t *c, const void *p, size_t n)
{
    c->drv->bind_blob(c, p, n);
}

static inline adm_err_t exec(adm_sql_t *c)
{
    return c->drv->exec(c);
}

static inline adm_err_t step(adm_sql_t *c, bool *row)
{
    return c->drv->step(c, row);
}

static inline int64_t ci(adm_sql_t *c, unsigned i)
{
    return c->drv->col_int(c, i);
}

static inline void ct(adm_sql_t *c, unsigned i, char *buf, size_t cap)
{
    c->drv->col_text(c, i, buf, cap);
}

static inline const void *cb(adm_sql_t *c, unsigned i, size_t *len)
{
    return c->drv->col_blob(c, i, len);
}

static inline void done(adm_sql_t *c)
{
    c->drv->done(c);
}

static inline adm_err_t take_bad(adm_sql_t *c)
{
    return c->drv->take_bad(c);
}

static inline int64_t insert_id(adm_sql_t *c)
{
    return c->drv->insert_id(c);
}

adm_err_t adm_sql_run(adm_sql_t *c, int *changes)
{
    adm_err_t result = exec(c);
    bool row;

    if (changes != NULL)
        *changes = 0;
    if (result != ADM_OK)
        goto out;
    do
        result = step(c, &row);
    while (result == ADM_OK && row);
    done(c);
    if (result == ADM_OK && changes != NULL)
        *changes = c->drv->changes(c);
out:
    return result;
}

adm_err_t adm_sql_one_int(adm_sql_t *c, int64_t *v, bool *found)
{
    adm_err_t result = exec(c);
    bool row = false;

    *found = false;
    *v = 0;
    if (result == ADM_OK) {
        result = step(c, &row);
        *found = result == ADM_OK && row;
        *v = *found ? ci(c, 0) : 0;
        done(c);
    }
    if (result == ADM_OK)
        result = take_bad(c);
    return result;
}

static inline adm_err_t run(adm_sql_t *c, int *changes)
{
    return adm_sql_run(c, changes);
}

static inline adm_err_t one_int(adm_sql_t *c, int64_t *v, bool *found)
{
    return adm_sql_one_int(c, v, found);
}

/* ---- transactions: the backend's run() ---- */

static adm_err_t run_read(void *be, adm_read_t rd, adm_sql_body_fn fn, void *arg)
{
    adm_sql_store_t *st = be;

    return st->run(st, ADM_SQL_READ, rd, fn, arg);
}

static adm_err_t run_write(void *be, adm_sql_body_fn fn, void *arg)
{
    adm_sql_store_t *st = be;

    return st->run(st, ADM_SQL_WRITE, ADM_READ_HINT_PRIMARY, fn, arg);
}

static adm_err_t run_durable(void *be, adm_sql_body_fn fn, void *arg)
{
    adm_sql_store_t *st = be;

    return st->run(st, ADM_SQL_DURABLE, ADM_READ_HINT_PRIMARY, fn, arg);
}

/* ---- row readers (column orders: the *_COLS lists) ---- */

static adm_err_t read_venue(adm_sql_t *c, adm_venue_t *v)
{
    v->id = ci(c, 0);
    ct(c, 1, v->name, sizeof v->name);
    ct(c, 2, v->city, sizeof v->city);
    ct(c, 3, v->address, sizeof v->address);
    v->capacity = ci(c, 4);
    v->created = ci(c, 5);
    v->updated = ci(c, 6);
    return take_bad(c);
}

static adm_err_t read_event(adm_sql_t *c, adm_event_t *e)
{
    e->id = ci(c, 0);
    e->venue_id = ci(c, 1);
    ct(c, 2, e->title, sizeof e->title);
    ct(c, 3, e->city, sizeof e->city);
    ct(c, 4, e->category, sizeof e->category);
    ct(c, 5, e->description, sizeof e->description);
    e->starts_at = ci(c, 6);
    e->ends_at = ci(c, 7);
    e->status = (adm_event_status_t)ci(c, 8);
    e->revocation_seq = ci(c, 9);
    e->created = ci(c, 10);
    e->updated = ci(c, 11);
    return take_bad(c);
}

static adm_err_t read_type(adm_sql_t *c, adm_ticket_type_t *t)
{
    t->id = ci(c, 0);
    t->event_id = ci(c, 1);
    ct(c, 2, t->name, sizeof t->name);
    t->price = ci(c, 3);
    ct(c, 4, t->currency, sizeof t->currency);
    t->capacity = ci(c, 5);
    t->sold = ci(c, 6);
    t->held = ci(c, 7);
    t->per_order_max = (int32_t)ci(c, 8);
    t->per_customer_max = (int32_t)ci(c, 9);
    t->sale_starts = ci(c, 10);
    t->sale_ends = ci(c, 11);
    t->created = ci(c, 12);
    t->updated = ci(c, 13);
    return take_bad(c);
}

static adm_err_t read_hold(adm_sql_t *c, adm_hold_t *h)
{
    ct(c, 0, h->id, sizeof h->id);
    h->user_id = ci(c, 1);
    h->type_id = ci(c, 2);
    h->event_id = ci(c, 3);
    h->quantity = (int32_t)ci(c, 4);
    h->state = (adm_hold_state_t)ci(c, 5);
    h->created = ci(c, 6);
    h->expires_at = ci(c, 7);
    h->order_id = ci(c, 8);
    return take_bad(c);
}

static adm_err_t read_order(adm_sql_t *c, adm_order_t *o)
{
    o->id = ci(c, 0);
    ct(c, 1, o->code, sizeof o->code);
    o->user_id = ci(c, 2);
    o->state = (adm_order_state_t)ci(c, 3);
    o->total = ci(c, 4);
    ct(c, 5, o->currency, sizeof o->currency);
    o->created = ci(c, 6);
    o->updated = ci(c, 7);
    o->expires_at = ci(c, 8);
    o->paid_at = ci(c, 9);
    ct(c, 10, o->provider, sizeof o->provider);
    ct(c, 11, o->provider_ref, sizeof o->provider_ref);
    o->n_items = 0;
    return take_bad(c);
}

static adm_err_t read_ticket(adm_sql_t *c, adm_store_ticket_t *t)
{
    t->id = ci(c, 0);
    t->event_id = ci(c, 1);
    t->type_id = ci(c, 2);
    t->order_id = ci(c, 3);
    t->user_id = ci(c, 4);
    t->status = (adm_ticket_status_t)ci(c, 5);
    t->created = ci(c, 6);
    t->revoked_at = ci(c, 7);
    t->key_id = (uint32_t)ci(c, 8);
    ct(c, 9, t->token, sizeof t->token);
    return take_bad(c);
}

static adm_err_t read_user(adm_sql_t *c, adm_user_t *u)
{
    u->id = ci(c, 0);
    ct(c, 1, u->email, sizeof u->email);
    ct(c, 2, u->password_hash, sizeof u->password_hash);
    ct(c, 3, u->display_name, sizeof u->display_name);
    u->role = (adm_role_t)ci(c, 4);
    u->created = ci(c, 5);
    return take_bad(c);
}

/* Grows *arr (elem-byte entries, *cap of them) to hold n + 1, never past max. */
static adm_err_t grow(void **arr, size_t *cap, size_t n, size_t elem, size_t max)
{
    adm_err_t result = ADM_OK;
    size_t want;
    void *p;

    if (n < *cap)
        goto out;
    if (n >= max) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    want = *cap ? *cap * 2 : 16;
    if (want > max)
        want = max;
    p = realloc(*arr, want * elem);
    if (p == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    *arr = p;
    *cap = want;
out:
    return result;
}

/* Frees n rows of elem bytes; secret rows are wiped first. */
static void free_rows(void *arr, size_t n, size_t elem, bool secret)
{
    if (arr != NULL && secret)
        sodium_memzero(arr, n * elem);
    free(arr);
}

typedef adm_err_t (*reader_fn)(adm_sql_t *c, void *entry);

/* Runs the selected, bound statement and reads every row into a new array
 * of elem-byte entries via reader (at most max rows). Secret rows are
 * allocated at their maximum at once, so no realloc leaves a copy behind,
 * and wiped when freed on failure. */
static adm_err_t read_all(adm_sql_t *c, reader_fn reader, size_t elem, size_t max, bool secret,
                          void **arr, size_t *n)
{
    adm_err_t result;
    size_t cap = 0;
    bool row;

    *arr = NULL;
    *n = 0;
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if (secret && max > 0) {
        if ((*arr = calloc(max, elem)) == NULL) {
            result = ADM_ERR_NOMEM;
            done(c);
            goto out;
        }
        cap = max;
    }
    while ((result = step(c, &row)) == ADM_OK && row) {
        if ((result = grow(arr, &cap, *n, elem, max)) != ADM_OK)
            break;
        memset((char *)*arr + *n * elem, 0, elem);
        if ((result = reader(c, (char *)*arr + *n * elem)) != ADM_OK)
            break;
        (*n)++;
    }
    done(c);
out:
    if (result != ADM_OK || *n == 0) {
        free_rows(*arr, cap, elem, secret);
        *arr = NULL;
        *n = 0;
    }
    return result;
}

static adm_err_t rd_venue(adm_sql_t *c, void *e)
{
    return read_venue(c, e);
}

static adm_err_t rd_type(adm_sql_t *c, void *e)
{
    return read_type(c, e);
}

static adm_err_t rd_event(adm_sql_t *c, void *e)
{
    return read_event(c, e);
}

static adm_err_t rd_ticket(adm_sql_t *c, void *e)
{
    return read_ticket(c, e);
}

static adm_err_t rd_order(adm_sql_t *c, void *e)
{
    return read_order(c, e);
}

static adm_err_t rd_user(adm_sql_t *c, void *e)
{
    return read_user(c, e);
}

static adm_err_t rd_revocation(adm_sql_t *c, void *e)
{
    adm_revocation_t *r = e;

    r->seq = ci(c, 0);
    r->ticket_id = ci(c, 1);
    r->revoked_at = ci(c, 2);
    return take_bad(c);
}

static adm_err_t rd_key(adm_sql_t *c, void *e)
{
    adm_event_key_t *k = e;
    size_t len;
    const void *seed = cb(c, 2, &len);

    k->event_id = ci(c, 0);
    k->kid = (uint32_t)ci(c, 1);
    if (len != ADM_KEY_SEED_BYTES)
        return ADM_ERR_STORE;
    memcpy(k->seed, seed, ADM_KEY_SEED_BYTES);
    k->created = ci(c, 3);
    k->retired_at = ci(c, 4);
    k->retired = k->retired_at != 0;
    return take_bad(c);
}

static adm_err_t rd_sales(adm_sql_t *c, void *e)
{
    adm_type_sales_t *r = e;

    r->type_id = ci(c, 0);
    ct(c, 1, r->name, sizeof r->name);
    ct(c, 2, r->currency, sizeof r->currency);
    r->capacity = ci(c, 3);
    r->sold = ci(c, 4);
    r->held = ci(c, 5);
    r->revenue = ci(c, 6);
    return take_bad(c);
}

static adm_err_t rd_availability(adm_sql_t *c, void *e)
{
    adm_availability_t *av = e;
    adm_ticket_type_t t;
    adm_err_t result;

    memset(&t, 0, sizeof t);
    result = read_type(c, &t);
    av->type_id = t.id;
    av->capacity = t.capacity;
    av->sold = t.sold;
    av->held = t.held;
    av->available = t.capacity - t.sold - t.held;
    if (av->available < 0)
        av->available = 0;
    return result;
}

/* Reads one row of statement q bound with the single id into out via
 * reader. ADM_ERR_NOT_FOUND without a row. */
static adm_err_t get_by_id(adm_sql_t *c, int q, int64_t id, reader_fn reader, void *out)
{
    adm_err_t result;
    bool row;

    if ((result = use(c, q)) != ADM_OK)
        goto out;
    pi(c, id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? reader(c, out) : ADM_ERR_NOT_FOUND;
    done(c);
out:
    return result;
}

/* ADM_OK when statement q bound with the single id returns a row, else ADM_ERR_NOT_FOUND. */
static adm_err_t exists(adm_sql_t *c, int q, int64_t id)
{
    adm_err_t result;
    int64_t v;
    bool found;

    if ((result = use(c, q)) != ADM_OK)
        goto out;
    pi(c, id);
    if ((result = one_int(c, &v, &found)) == ADM_OK && !found)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

/* ---- shared write steps ---- */

/* Moves hold id from active to state to (released or expired) and gives its
 * quantity back to its type; *did says whether this call made the change.
 * The conditional UPDATE is what makes a second releaser a no-op. */
static adm_err_t release_hold(adm_sql_t *c, const char *id, int64_t type_id, int64_t quantity,
                              adm_hold_state_t to, bool *did)
{
    adm_err_t result;
    int changes;

    *did = false;
    if ((result = use(c, Q_HOLD_SET_STATE)) != ADM_OK)
        goto out;
    pi(c, to);
    pt(c, id);
    if ((result = run(c, &changes)) != ADM_OK || changes == 0)
        goto out;
    if ((result = use(c, Q_TYPE_UNHOLD)) != ADM_OK)
        goto out;
    pi(c, quantity);
    pi(c, type_id);
    pi(c, quantity);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_STORE; /* held would go negative: the counters are corrupt */
    *did = result == ADM_OK;
out:
    return result;
}

typedef struct expired_hold {
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    int64_t type_id, quantity;
} expired_hold_t;

/* Releases up to BATCH active holds expired at now: of type_id, or of any
 * type when type_id is 0. *count gets how many; *more whether a full batch
 * was found (there may be more). */
static adm_err_t expire_holds(adm_sql_t *c, int64_t type_id, int64_t now, size_t *count, bool *more)
{
    expired_hold_t batch[BATCH];
    adm_err_t result;
    size_t n = 0;
    bool row, did;

    *count = 0;
    *more = false;
    if ((result = use(c, type_id ? Q_HOLD_EXPIRED_OF_TYPE : Q_HOLD_EXPIRED)) != ADM_OK)
        goto out;
    if (type_id)
        pi(c, type_id);
    pi(c, now);
    pi(c, BATCH);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row && n < BATCH) {
        ct(c, 0, batch[n].id, sizeof batch[n].id);
        batch[n].type_id = ci(c, 1);
        batch[n].quantity = ci(c, 2);
        n++;
    }
    done(c);
    if (result != ADM_OK || (result = take_bad(c)) != ADM_OK)
        goto out;
    *more = n == BATCH;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        result = release_hold(c, batch[i].id, batch[i].type_id, batch[i].quantity, ADM_HOLD_EXPIRED,
                              &did);
        *count += did;
    }
out:
    return result;
}

typedef struct item_row {
    int64_t type_id, quantity;
} item_row_t;

/* Sorts items by type id: transactions that lock several type rows take
 * them in one order, so two of them cannot deadlock on each other. */
static void sort_items(item_row_t *items, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        item_row_t t = items[i];
        size_t j = i;
        for (; j > 0 && items[j - 1].type_id > t.type_id; j--)
            items[j] = items[j - 1];
        items[j] = t;
    }
}

/* The items of order_id, sorted by type id. */
static adm_err_t order_item_rows(adm_sql_t *c, int64_t order_id, item_row_t *items, size_t *n)
{
    adm_err_t result;
    bool row;

    *n = 0;
    if ((result = use(c, Q_ORDER_ITEMS)) != ADM_OK)
        goto out;
    pi(c, order_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        if (*n == ADM_STORE_ORDER_ITEMS_MAX) {
            result = ADM_ERR_STORE;
            break;
        }
        items[*n].type_id = ci(c, 1);
        items[*n].quantity = ci(c, 3);
        (*n)++;
    }
    done(c);
    sort_items(items, *n);
out:
    return result;
}

/* Moves pending order order_id to state to (cancelled or expired) and
 * releases its held seats; *did says whether this call made the change. */
static adm_err_t finish_order(adm_sql_t *c, int64_t order_id, adm_order_state_t to, int64_t now,
                              bool *did)
{
    item_row_t items[ADM_STORE_ORDER_ITEMS_MAX];
    adm_err_t result;
    size_t n;
    int changes;

    *did = false;
    if ((result = use(c, Q_ORDER_FINISH)) != ADM_OK)
        goto out;
    pi(c, to);
    pi(c, now);
    pi(c, order_id);
    if ((result = run(c, &changes)) != ADM_OK || changes == 0)
        goto out;
    if ((result = order_item_rows(c, order_id, items, &n)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        if ((result = use(c, Q_TYPE_UNHOLD)) != ADM_OK)
            break;
        pi(c, items[i].quantity);
        pi(c, items[i].type_id);
        pi(c, items[i].quantity);
        if ((result = run(c, &changes)) == ADM_OK && changes != 1)
            result = ADM_ERR_STORE;
    }
    *did = result == ADM_OK;
out:
    return result;
}

/* Revokes valid ticket ticket_id of event_id and appends it to the event's
 * revocation list; *seq gets its number. ADM_ERR_STATE when not valid. The
 * event row stays locked until commit, so numbers commit in order. */
static adm_err_t revoke_ticket(adm_sql_t *c, int64_t ticket_id, int64_t event_id, int64_t now,
                               int64_t *seq)
{
    adm_err_t result;
    int changes;
    bool found;

    *seq = 0;
    if ((result = use(c, Q_TICKET_REVOKE)) != ADM_OK)
        goto out;
    pi(c, now);
    pi(c, ticket_id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes == 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_EVENT_BUMP_SEQ)) != ADM_OK)
        goto out;
    pi(c, event_id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_EVENT_SEQ)) != ADM_OK)
        goto out;
    pi(c, event_id);
    if ((result = one_int(c, seq, &found)) != ADM_OK)
        goto out;
    if (!found || changes != 1) {
        result = ADM_ERR_STORE;
        goto out;
    }
    if ((result = use(c, Q_REVOCATION_INSERT)) != ADM_OK)
        goto out;
    pi(c, event_id);
    pi(c, *seq);
    pi(c, ticket_id);
    pi(c, now);
    result = run(c, NULL);
out:
    return result;
}

/* Loads order id (or, when id is 0, the order with code) with its items;
 * lock: read it with Q_ORDER_LOCK (FOR UPDATE on MariaDB), for the write
 * paths. user_id non-zero: someone else's order is ADM_ERR_NOT_FOUND. */
static adm_err_t load_order(adm_sql_t *c, int64_t user_id, int64_t id, const char *code, bool lock,
                            adm_order_t *o)
{
    adm_err_t result;
    bool row;

    memset(o, 0, sizeof *o);
    if ((result = use(c, id ? (lock ? Q_ORDER_LOCK : Q_ORDER_GET) : Q_ORDER_GET_CODE)) != ADM_OK)
        goto out;
    if (id)
        pi(c, id);
    else
        pt(c, code);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? read_order(c, o) : ADM_ERR_NOT_FOUND;
    done(c);
    if (result != ADM_OK)
        goto out;
    if (user_id != 0 && o->user_id != user_id) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if ((result = use(c, Q_ORDER_ITEMS)) != ADM_OK)
        goto out;
    pi(c, o->id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        adm_order_item_t *it;
        if (o->n_items == ADM_STORE_ORDER_ITEMS_MAX) {
            result = ADM_ERR_STORE;
            break;
        }
        it = &o->items[o->n_items++];
        it->id = ci(c, 0);
        it->type_id = ci(c, 1);
        it->event_id = ci(c, 2);
        it->quantity = (int32_t)ci(c, 3);
        it->unit_price = ci(c, 4);
    }
    done(c);
out:
    if (result != ADM_OK)
        memset(o, 0, sizeof *o);
    return result;
}

/* ---- lifecycle ops ---- */

static adm_err_t ping_body(adm_sql_t *c, void *arg, bool *keep)
{
    int64_t v;
    bool found;
    adm_err_t result = use(c, Q_PING);

    if (result == ADM_OK)
        result = one_int(c, &v, &found);
    return result;
}

adm_err_t adm_sql_ping(void *be)
{
    return run_read(be, ADM_READ_HINT_PRIMARY, ping_body, NULL);
}

static adm_err_t schema_version_body(adm_sql_t *c, void *arg, bool *keep)
{
    int64_t v = 0;
    bool found;
    adm_err_t result = use(c, Q_SCHEMA_VERSION);

    if (result == ADM_OK)
        result = one_int(c, &v, &found);
    *(int *)arg = (int)v;
    return result;
}

adm_err_t adm_sql_schema_version(void *be, int *version)
{
    return run_read(be, ADM_READ_HINT_PRIMARY, schema_version_body, version);
}

/* ---- catalog ops ---- */

struct venue_args {
    int64_t id;
    const adm_venue_spec_t *spec;
    int64_t now;
    int64_t *out_id;
};

static adm_err_t venue_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct venue_args *a = arg;
    adm_err_t result;

    if ((result = use(c, Q_VENUE_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->spec->name);
    pt(c, a->spec->city);
    pt(c, a->spec->address);
    pi(c, a->spec->capacity);
    pi(c, a->now);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

adm_err_t adm_sql_venue_create(void *be, const adm_venue_spec_t *spec, int64_t now, int64_t *id)
{
    struct venue_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, venue_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t venue_update_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct venue_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_VENUE_UPDATE)) != ADM_OK)
        goto out;
    pt(c, a->spec->name);
    pt(c, a->spec->city);
    pt(c, a->spec->address);
    pi(c, a->spec->capacity);
    pi(c, a->now);
    pi(c, a->id);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

adm_err_t adm_sql_venue_update(void *be, int64_t id, const adm_venue_spec_t *spec, int64_t now)
{
    struct venue_args a = {.id = id, .spec = spec, .now = now};

    return run_write(be, venue_update_body, &a);
}

struct get_args {
    int q;
    int64_t id;
    reader_fn reader;
    void *out;
    size_t size;
};

static adm_err_t get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct get_args *a = arg;

    memset(a->out, 0, a->size); /* from an earlier attempt */
    return get_by_id(c, a->q, a->id, a->reader, a->out);
}

/* Runs a one-row read of statement q by id. */
static adm_err_t get_one(void *be, adm_read_t rd, int q, int64_t id, reader_fn reader, void *out,
                         size_t size)
{
    struct get_args a = {.q = q, .id = id, .reader = reader, .out = out, .size = size};

    return run_read(be, rd, get_body, &a);
}

adm_err_t adm_sql_venue_get(void *be, adm_read_t rd, int64_t id, adm_venue_t *out)
{
    return get_one(be, rd, Q_VENUE_GET, id, rd_venue, out, sizeof *out);
}

struct event_args {
    int64_t id;
    const adm_event_spec_t *spec;
    adm_event_status_t status;
    int64_t now;
    int64_t *out_id;
};

static adm_err_t event_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    char venue_city[ADM_STORE_CITY_MAX + 1];
    adm_err_t result;
    bool row;

    /* the venue must exist; its city is the default */
    if ((result = use(c, Q_VENUE_CITY)) != ADM_OK)
        goto out;
    pi(c, a->spec->venue_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK) {
        if (row)
            ct(c, 0, venue_city, sizeof venue_city);
        else
            result = ADM_ERR_NOT_FOUND;
    }
    done(c);
    if (result != ADM_OK || (result = take_bad(c)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_EVENT_INSERT)) != ADM_OK)
        goto out;
    pi(c, a->spec->venue_id);
    pt(c, a->spec->title);
    pt(c, a->spec->city[0] ? a->spec->city : venue_city);
    pt(c, a->spec->category);
    pt(c, a->spec->description);
    pi(c, a->spec->starts_at);
    pi(c, a->spec->ends_at);
    pi(c, a->now);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

adm_err_t adm_sql_event_create(void *be, const adm_event_spec_t *spec, int64_t now, int64_t *id)
{
    struct event_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, event_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t event_update_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_EVENT_UPDATE)) != ADM_OK)
        goto out;
    pt(c, a->spec->title);
    pt(c, a->spec->city);
    pt(c, a->spec->city);
    pt(c, a->spec->category);
    pt(c, a->spec->description);
    pi(c, a->spec->starts_at);
    pi(c, a->spec->ends_at);
    pi(c, a->now);
    pi(c, a->id);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

adm_err_t adm_sql_event_update(void *be, int64_t id, const adm_event_spec_t *spec, int64_t now)
{
    struct event_args a = {.id = id, .spec = spec, .now = now};

    return run_write(be, event_update_body, &a);
}

/* draft -> on_sale | cancelled; on_sale -> draft | cancelled | ended */
static bool status_move_ok(adm_event_status_t from, adm_event_status_t to)
{
    return from == to ||
           (from == ADM_EVENT_DRAFT && (to == ADM_EVENT_ON_SALE || to == ADM_EVENT_CANCELLED)) ||
           (from == ADM_EVENT_ON_SALE &&
            (to == ADM_EVENT_DRAFT || to == ADM_EVENT_CANCELLED || to == ADM_EVENT_ENDED));
}

static adm_err_t event_set_status_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct event_args *a = arg;
    adm_err_t result;
    int64_t from;
    int changes;
    bool found;

    if ((result = use(c, Q_EVENT_LOCK)) != ADM_OK)
        goto out;
    pi(c, a->id);
    if ((result = one_int(c, &from, &found)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (!status_move_ok((adm_event_status_t)from, a->status)) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (from == a->status)
        goto out;
    if ((result = use(c, Q_EVENT_SET_STATUS)) != ADM_OK)
        goto out;
    pi(c, a->status);
    pi(c, a->now);
    pi(c, a->id);
    pi(c, from);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_CONFLICT;
out:
    return result;
}

adm_err_t adm_sql_event_set_status(void *be, int64_t id, adm_event_status_t status, int64_t now)
{
    struct event_args a = {.id = id, .status = status, .now = now};

    return run_write(be, event_set_status_body, &a);
}

adm_err_t adm_sql_event_get(void *be, adm_read_t rd, int64_t id, adm_event_t *out)
{
    return get_one(be, rd, Q_EVENT_GET, id, rd_event, out, sizeof *out);
}

struct search_args {
    const adm_event_query_t *q;
    adm_event_t **events;
    size_t *n;
    adm_event_cursor_t *next;
};

static adm_err_t event_search_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct search_args *a = arg;
    const adm_event_query_t *q = a->q;
    adm_err_t result;
    void *arr = NULL;
    size_t n = 0;

    free(*a->events); /* from an earlier attempt */
    *a->events = NULL;
    *a->n = 0;
    memset(a->next, 0, sizeof *a->next);
    if ((result = use(c, Q_EVENT_SEARCH)) != ADM_OK)
        goto out;
    pt(c, q->city);
    pt(c, q->city);
    pt(c, q->category);
    pt(c, q->category);
    pt(c, q->text);
    pt(c, q->text);
    pt(c, q->text);
    pi(c, q->starts_from);
    pi(c, q->starts_from);
    pi(c, q->starts_before);
    pi(c, q->starts_before);
    pi(c, q->all_statuses);
    pi(c, q->after.starts_at);
    pi(c, q->after.starts_at);
    pi(c, q->after.id);
    pi(c, (int64_t)q->limit + 1); /* one more tells whether a next page exists */
    if ((result = read_all(c, rd_event, sizeof(adm_event_t), q->limit + 1, false, &arr, &n)) !=
        ADM_OK)
        goto out;
    if (n > q->limit) {
        adm_event_t *last = (adm_event_t *)arr + q->limit - 1;
        a->next->starts_at = last->starts_at;
        a->next->id = last->id;
        n = q->limit;
    }
    if (n == 0) {
        free(arr);
        arr = NULL;
    }
    *a->events = arr;
    *a->n = n;
out:
    return result;
}

adm_err_t adm_sql_event_search(void *be, adm_read_t rd, const adm_event_query_t *q,
                               adm_event_t **events, size_t *n, adm_event_cursor_t *next)
{
    struct search_args a = {.q = q, .events = events, .n = n, .next = next};

    return run_read(be, rd, event_search_body, &a);
}

struct type_args {
    int64_t id;
    const adm_ticket_type_spec_t *spec;
    int64_t now;
    int64_t *out_id;
};

static adm_err_t type_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct type_args *a = arg;
    const adm_ticket_type_spec_t *t = a->spec;
    adm_err_t result;
    int64_t count;
    bool found;

    /* the event row lock makes count-then-insert safe against a concurrent create */
    if ((result = exists(c, Q_EVENT_LOCK, t->event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_TYPE_COUNT)) != ADM_OK)
        goto out;
    pi(c, t->event_id);
    if ((result = one_int(c, &count, &found)) != ADM_OK)
        goto out;
    if (count >= ADM_STORE_TYPES_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    if ((result = use(c, Q_TYPE_INSERT)) != ADM_OK)
        goto out;
    pi(c, t->event_id);
    pt(c, t->name);
    pi(c, t->price);
    pt(c, t->currency);
    pi(c, t->capacity);
    pi(c, t->per_order_max);
    pi(c, t->per_customer_max);
    pi(c, t->sale_starts);
    pi(c, t->sale_ends);
    pi(c, a->now);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

adm_err_t adm_sql_type_create(void *be, const adm_ticket_type_spec_t *spec, int64_t now,
                              int64_t *id)
{
    struct type_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, type_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t type_update_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct type_args *a = arg;
    const adm_ticket_type_spec_t *t = a->spec;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_TYPE_UPDATE)) != ADM_OK)
        goto out;
    pt(c, t->name);
    pi(c, t->price);
    pt(c, t->currency);
    pi(c, t->capacity);
    pi(c, t->per_order_max);
    pi(c, t->per_customer_max);
    pi(c, t->sale_starts);
    pi(c, t->sale_ends);
    pi(c, a->now);
    pi(c, a->id);
    pi(c, t->capacity);
    if ((result = run(c, &changes)) != ADM_OK || changes == 1)
        goto out;
    /* no row matched: absent, or the new capacity is below sold + held */
    result = exists(c, Q_TYPE_GET, a->id);
    if (result == ADM_OK)
        result = ADM_ERR_STATE;
out:
    return result;
}

adm_err_t adm_sql_type_update(void *be, int64_t id, const adm_ticket_type_spec_t *spec, int64_t now)
{
    struct type_args a = {.id = id, .spec = spec, .now = now};

    return run_write(be, type_update_body, &a);
}

adm_err_t adm_sql_type_get(void *be, adm_read_t rd, int64_t id, adm_ticket_type_t *out)
{
    return get_one(be, rd, Q_TYPE_GET, id, rd_type, out, sizeof *out);
}

/* A list of rows of statement q bound with up to three integers, after
 * checking that check_q finds p1 (ADM_ERR_NOT_FOUND otherwise; -1 = no check). */
struct list_args {
    int check_q, q;
    int64_t p1, p2, p3;
    int n_args;
    reader_fn reader;
    size_t elem, max;
    bool secret; /* wipe the rows when freeing them (signing seeds) */
    void **arr;
    size_t *n;
};

static adm_err_t list_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct list_args *a = arg;
    adm_err_t result;

    free_rows(*a->arr, *a->n, a->elem, a->secret); /* from an earlier attempt */
    *a->arr = NULL;
    *a->n = 0;
    if (a->check_q >= 0 && (result = exists(c, a->check_q, a->p1)) != ADM_OK)
        goto out;
    if ((result = use(c, a->q)) != ADM_OK)
        goto out;
    pi(c, a->p1);
    if (a->n_args >= 2)
        pi(c, a->p2);
    if (a->n_args >= 3)
        pi(c, a->p3);
    result = read_all(c, a->reader, a->elem, a->max, a->secret, a->arr, a->n);
out:
    return result;
}

adm_err_t adm_sql_type_list(void *be, adm_read_t rd, int64_t event_id, adm_ticket_type_t **types,
                            size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_TYPE_LIST,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_type,
                          .elem = sizeof **types,
                          .max = ADM_STORE_TYPES_MAX,
                          .arr = (void **)types,
                          .n = n};

    return run_read(be, rd, list_body, &a);
}

adm_err_t adm_sql_availability(void *be, adm_read_t rd, int64_t type_id, adm_availability_t *out)
{
    return get_one(be, rd, Q_TYPE_GET, type_id, rd_availability, out, sizeof *out);
}

/* ---- holds ---- */

/* Fills *h with hold id (lock: Q_HOLD_LOCK, FOR UPDATE on MariaDB). ADM_ERR_NOT_FOUND. */
static adm_err_t load_hold(adm_sql_t *c, const char *id, bool lock, adm_hold_t *h)
{
    adm_err_t result;
    bool row;

    memset(h, 0, sizeof *h);
    if ((result = use(c, lock ? Q_HOLD_LOCK : Q_HOLD_GET)) != ADM_OK)
        goto out;
    pt(c, id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? read_hold(c, h) : ADM_ERR_NOT_FOUND;
    done(c);
out:
    if (result != ADM_OK)
        memset(h, 0, sizeof *h);
    return result;
}

struct hold_args {
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    int64_t user_id, type_id;
    int32_t quantity, ttl_s;
    int64_t now;
    adm_hold_t *out;
};

/* The hold transaction (docs/store.md "Never oversell"): checks, lazy release
 * of the type's expired holds, the per-customer limit (under the customer's
 * row lock), the conditional UPDATE that decides whether the seats exist,
 * then the hold row. The UPDATE comes before the INSERT: the INSERT's
 * foreign-key check share-locks the type row, and two holds that each held
 * that share lock would deadlock upgrading it. */
static adm_err_t hold_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct hold_args *a = arg;
    int64_t event_id, per_order_max, per_customer_max, sale_starts, sale_ends, status, seats;
    adm_err_t result;
    size_t released;
    bool row, more = true;
    int changes;

    memset(a->out, 0, sizeof *a->out);
    if ((result = use(c, Q_TYPE_FOR_HOLD)) != ADM_OK)
        goto out;
    pi(c, a->type_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) != ADM_OK || !row) {
        done(c);
        result = result != ADM_OK ? result : ADM_ERR_NOT_FOUND;
        goto out;
    }
    event_id = ci(c, 0);
    per_order_max = ci(c, 1);
    per_customer_max = ci(c, 2);
    sale_starts = ci(c, 3);
    sale_ends = ci(c, 4);
    status = ci(c, 5);
    done(c);
    if ((result = exists(c, Q_USER_LOCK, a->user_id)) != ADM_OK)
        goto out;
    if (status != ADM_EVENT_ON_SALE) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((sale_starts != 0 && a->now < sale_starts) || (sale_ends != 0 && a->now >= sale_ends)) {
        result = ADM_ERR_SALE_CLOSED;
        goto out;
    }
    if (a->quantity > per_order_max) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    for (int i = 0; i < LAZY_BATCHES && more && result == ADM_OK; i++)
        result = expire_holds(c, a->type_id, a->now, &released, &more);
    if (result != ADM_OK)
        goto out;
    if (per_customer_max > 0) {
        if ((result = use(c, Q_CUSTOMER_SEATS)) != ADM_OK)
            goto out;
        pi(c, a->user_id);
        pi(c, a->type_id);
        pi(c, a->now);
        pi(c, a->user_id);
        pi(c, a->type_id);
        pi(c, a->now);
        if ((result = one_int(c, &seats, &row)) != ADM_OK)
            goto out;
        if (seats + a->quantity > per_customer_max) {
            result = ADM_ERR_LIMIT;
            goto out;
        }
    }
    if ((result = use(c, Q_TYPE_HOLD)) != ADM_OK)
        goto out;
    pi(c, a->quantity);
    pi(c, a->type_id);
    pi(c, a->quantity);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes == 0) {
        result = ADM_ERR_SOLD_OUT;
        goto out;
    }
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
        if ((result = use(c, Q_HOLD_INSERT)) != ADM_OK)
            goto out;
        pt(c, a->id);
        pi(c, a->user_id);
        pi(c, a->type_id);
        pi(c, event_id);
        pi(c, a->quantity);
        pi(c, a->now);
        pi(c, a->now + a->ttl_s);
        result = run(c, NULL);
        if (result != ADM_ERR_EXISTS)
            break;
        adm_store_random_hold_id(a->id); /* 128-bit collision: practically never */
    }
    if (result != ADM_OK)
        goto out;
    memcpy(a->out->id, a->id, sizeof a->out->id);
    a->out->user_id = a->user_id;
    a->out->type_id = a->type_id;
    a->out->event_id = event_id;
    a->out->quantity = a->quantity;
    a->out->state = ADM_HOLD_ACTIVE;
    a->out->created = a->now;
    a->out->expires_at = a->now + a->ttl_s;
out:
    if (result != ADM_OK)
        memset(a->out, 0, sizeof *a->out);
    return result;
}

adm_err_t adm_sql_hold_create(void *be, const char *hold_id, int64_t user_id, int64_t type_id,
                              int32_t quantity, int32_t ttl_s, int64_t now, adm_hold_t *out)
{
    struct hold_args a = {.user_id = user_id,
                          .type_id = type_id,
                          .quantity = quantity,
                          .ttl_s = ttl_s,
                          .now = now,
                          .out = out};

    snprintf(a.id, sizeof a.id, "%s", hold_id);
    return run_write(be, hold_create_body, &a);
}

struct hold_ref_args {
    int64_t user_id;
    const char *id;
    int64_t now;
    adm_hold_t *out;
};

static adm_err_t hold_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct hold_ref_args *a = arg;
    adm_err_t result = load_hold(c, a->id, false, a->out);

    if (result == ADM_OK && a->out->user_id != a->user_id) {
        memset(a->out, 0, sizeof *a->out);
        result = ADM_ERR_NOT_FOUND;
    }
    return result;
}

adm_err_t adm_sql_hold_get(void *be, int64_t user_id, const char *hold_id, adm_hold_t *out)
{
    struct hold_ref_args a = {.user_id = user_id, .id = hold_id, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, hold_get_body, &a);
}

static adm_err_t hold_release_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct hold_ref_args *a = arg;
    adm_hold_t h;
    adm_err_t result;
    bool did;

    if ((result = load_hold(c, a->id, true, &h)) != ADM_OK)
        goto out;
    if (h.user_id != a->user_id) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (h.state == ADM_HOLD_EXPIRED) {
        result = ADM_ERR_EXPIRED;
        goto out;
    }
    if (h.state != ADM_HOLD_ACTIVE) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (h.expires_at <= a->now) {
        /* expired but not yet reaped: release it as expired and say so */
        result = release_hold(c, h.id, h.type_id, h.quantity, ADM_HOLD_EXPIRED, &did);
        if (result == ADM_OK) {
            *keep = true;
            result = ADM_ERR_EXPIRED;
        }
        goto out;
    }
    result = release_hold(c, h.id, h.type_id, h.quantity, ADM_HOLD_RELEASED, &did);
    if (result == ADM_OK && !did)
        result = ADM_ERR_STATE;
out:
    return result;
}

adm_err_t adm_sql_hold_release(void *be, int64_t user_id, const char *hold_id, int64_t now)
{
    struct hold_ref_args a = {.user_id = user_id, .id = hold_id, .now = now};

    return run_write(be, hold_release_body, &a);
}

struct reap_args {
    int64_t now;
    size_t count;
    bool more;
    int q; /* reap_delete_body: the DELETE statement */
};

static adm_err_t reap_holds_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;

    return expire_holds(c, 0, a->now, &a->count, &a->more);
}

static adm_err_t reap_orders_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;
    int64_t ids[BATCH];
    adm_err_t result;
    size_t n = 0;
    bool row, did;

    a->count = 0;
    a->more = false;
    if ((result = use(c, Q_ORDER_EXPIRED)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, BATCH);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row && n < BATCH)
        ids[n++] = ci(c, 0);
    done(c);
    if (result != ADM_OK)
        goto out;
    a->more = n == BATCH;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        result = finish_order(c, ids[i], ADM_ORDER_EXPIRED, a->now, &did);
        a->count += did;
    }
out:
    return result;
}

adm_err_t adm_sql_reap_holds(void *be, int64_t now, size_t *holds, size_t *orders)
{
    struct reap_args a = {.now = now, .more = true};
    adm_err_t result = ADM_OK;

    *holds = 0;
    *orders = 0;
    /* short transactions, so holds and checkouts get the rows in between */
    while (result == ADM_OK && a.more) {
        result = run_write(be, reap_holds_body, &a);
        if (result == ADM_OK)
            *holds += a.count;
    }
    a.more = true;
    while (result == ADM_OK && a.more) {
        result = run_write(be, reap_orders_body, &a);
        if (result == ADM_OK)
            *orders += a.count;
    }
    return result;
}

static adm_err_t reap_delete_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct reap_args *a = arg;
    adm_err_t result;
    int changes = 0;

    a->count = 0;
    if ((result = use(c, a->q)) != ADM_OK)
        goto out;
    pi(c, a->q == Q_IDEM_REAP ? a->now - ADM_STORE_IDEM_TTL_S : a->now);
    pi(c, DELETE_BATCH);
    result = run(c, &changes);
    a->count = (size_t)changes;
    a->more = changes == DELETE_BATCH;
out:
    return result;
}

static adm_err_t reap_deletes(void *be, int q, int64_t now, size_t *total)
{
    struct reap_args a = {.now = now, .more = true, .q = q};
    adm_err_t result = ADM_OK;

    *total = 0;
    while (result == ADM_OK && a.more) {
        result = run_write(be, reap_delete_body, &a);
        if (result == ADM_OK)
            *total += a.count;
    }
    return result;
}

adm_err_t adm_sql_reap_other(void *be, int64_t now, size_t *sessions, size_t *idempotency)
{
    adm_err_t result = reap_deletes(be, Q_SESSION_REAP, now, sessions);

    if (result == ADM_OK)
        result = reap_deletes(be, Q_IDEM_REAP, now, idempotency);
    return result;
}

/* ---- orders and tickets ---- */

struct checkout_args {
    int64_t user_id;
    const char *const *hold_ids;
    size_t n;
    int32_t pay_ttl_s;
    int64_t now;
    adm_order_t *out;
};

static adm_err_t checkout_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct checkout_args *a = arg;
    struct {
        int64_t type_id, event_id, quantity, price;
    } items[ADM_STORE_ORDER_ITEMS_MAX];
    char currency[ADM_STORE_CURRENCY_LEN + 1] = "", cur[ADM_STORE_CURRENCY_LEN + 1];
    char code[ADM_STORE_ORDER_CODE_LEN + 1];
    int64_t total = 0, order_id = 0;
    adm_err_t result = ADM_OK;
    adm_hold_t h;
    int changes;
    bool row;

    for (size_t i = 0; i < a->n; i++) {
        int64_t status;

        /* the hold row stays locked, so its state cannot change under us */
        if ((result = load_hold(c, a->hold_ids[i], true, &h)) != ADM_OK)
            goto out;
        if ((result = use(c, Q_TYPE_PRICE)) != ADM_OK)
            goto out;
        pi(c, h.type_id);
        if ((result = exec(c)) != ADM_OK)
            goto out;
        if ((result = step(c, &row)) != ADM_OK || !row) {
            done(c);
            result = result != ADM_OK ? result : ADM_ERR_STORE; /* a hold without its type */
            goto out;
        }
        items[i].price = ci(c, 0);
        ct(c, 1, cur, sizeof cur);
        status = ci(c, 2);
        done(c);
        if ((result = take_bad(c)) != ADM_OK)
            goto out;
        items[i].type_id = h.type_id;
        items[i].event_id = h.event_id;
        items[i].quantity = h.quantity;
        if (h.user_id != a->user_id)
            result = ADM_ERR_NOT_FOUND;
        else if (h.state == ADM_HOLD_EXPIRED ||
                 (h.state == ADM_HOLD_ACTIVE && h.expires_at <= a->now))
            result = ADM_ERR_EXPIRED;
        else if (h.state != ADM_HOLD_ACTIVE || status != ADM_EVENT_ON_SALE)
            result = ADM_ERR_STATE;
        else if (i > 0 && strcmp(cur, currency) != 0)
            result = ADM_ERR_INVALID_ARG;
        if (result != ADM_OK)
            goto out;
        memcpy(currency, cur, sizeof currency);
        total += items[i].quantity * items[i].price;
    }
    for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
        adm_store_random_order_code(code);
        if ((result = use(c, Q_ORDER_INSERT)) != ADM_OK)
            goto out;
        pt(c, code);
        pi(c, a->user_id);
        pi(c, total);
        pt(c, currency);
        pi(c, a->now);
        pi(c, a->now);
        pi(c, a->now + a->pay_ttl_s);
        if ((result = run(c, NULL)) != ADM_ERR_EXISTS) /* 40-bit codes can collide */
            break;
    }
    if (result != ADM_OK)
        goto out;
    order_id = insert_id(c);
    for (size_t i = 0; i < a->n; i++) {
        if ((result = use(c, Q_ITEM_INSERT)) != ADM_OK)
            goto out;
        pi(c, order_id);
        pi(c, items[i].type_id);
        pi(c, items[i].event_id);
        pi(c, items[i].quantity);
        pi(c, items[i].price);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
        if ((result = use(c, Q_HOLD_CONVERT)) != ADM_OK)
            goto out;
        pi(c, order_id);
        pt(c, a->hold_ids[i]);
        if ((result = run(c, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STATE;
            goto out;
        }
    }
    result = load_order(c, 0, order_id, NULL, false, a->out);
out:
    return result;
}

adm_err_t adm_sql_checkout(void *be, int64_t user_id, const char *const *hold_ids, size_t n,
                           int32_t pay_ttl_s, int64_t now, adm_order_t *out)
{
    struct checkout_args a = {.user_id = user_id,
                              .hold_ids = hold_ids,
                              .n = n,
                              .pay_ttl_s = pay_ttl_s,
                              .now = now,
                              .out = out};

    return run_write(be, checkout_body, &a);
}

struct order_args {
    int64_t user_id, order_id;
    const char *code;
    const char *provider, *provider_ref;
    int64_t now;
    adm_order_t *out;
    size_t revoked;
};

static adm_err_t order_pay_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    adm_order_t *o = a->out;
    item_row_t items[ADM_STORE_ORDER_ITEMS_MAX];
    adm_err_t result;
    int64_t v;
    int changes;
    bool found;

    if ((result = load_order(c, 0, a->order_id, NULL, true, o)) != ADM_OK)
        goto out;
    if (o->state == ADM_ORDER_PAID && strcmp(o->provider, a->provider) == 0 &&
        strcmp(o->provider_ref, a->provider_ref) == 0)
        goto out; /* a replayed provider callback */
    if (o->state != ADM_ORDER_PENDING) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (o->expires_at <= a->now) {
        result = ADM_ERR_EXPIRED;
        goto out;
    }
    if ((result = use(c, Q_ORDER_OFF_SALE)) != ADM_OK)
        goto out;
    pi(c, o->id);
    if ((result = one_int(c, &v, &found)) != ADM_OK)
        goto out;
    if (v != 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_ORDER_REF_OWNER)) != ADM_OK)
        goto out;
    pt(c, a->provider);
    pt(c, a->provider_ref);
    if ((result = one_int(c, &v, &found)) != ADM_OK)
        goto out;
    if (found) {
        result = ADM_ERR_EXISTS;
        goto out;
    }
    if ((result = use(c, Q_ORDER_MARK_PAID)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, a->now);
    pt(c, a->provider);
    pt(c, a->provider_ref);
    pi(c, o->id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    /* counters first, in type order (see sort_items), so the tickets'
     * foreign-key share locks on those rows come after our exclusive ones */
    for (size_t i = 0; i < o->n_items; i++) {
        items[i].type_id = o->items[i].type_id;
        items[i].quantity = o->items[i].quantity;
    }
    sort_items(items, o->n_items);
    for (size_t i = 0; i < o->n_items; i++) {
        if ((result = use(c, Q_TYPE_SELL)) != ADM_OK)
            goto out;
        pi(c, items[i].quantity);
        pi(c, items[i].quantity);
        pi(c, items[i].type_id);
        pi(c, items[i].quantity);
        if ((result = run(c, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STORE; /* the order's seats were not held: corrupt counters */
            goto out;
        }
    }
    for (size_t i = 0; i < o->n_items; i++) {
        const adm_order_item_t *it = &o->items[i];

        for (int32_t q = 0; q < it->quantity; q++) {
            for (int attempt = 0; attempt < ADM_STORE_WRITE_ATTEMPTS; attempt++) {
                if ((result = use(c, Q_TICKET_INSERT)) != ADM_OK)
                    goto out;
                pi(c, adm_store_random_ticket_id());
                pi(c, it->event_id);
                pi(c, it->type_id);
                pi(c, o->id);
                pi(c, o->user_id);
                pi(c, a->now);
                if ((result = run(c, NULL)) != ADM_ERR_EXISTS)
                    break;
            }
            if (result != ADM_OK)
                goto out;
        }
    }
    result = load_order(c, 0, o->id, NULL, false, o);
out:
    if (result != ADM_OK)
        memset(o, 0, sizeof *o);
    return result;
}

adm_err_t adm_sql_order_pay(void *be, int64_t order_id, const char *provider,
                            const char *provider_ref, int64_t now, adm_order_t *out)
{
    struct order_args a = {.order_id = order_id,
                           .provider = provider,
                           .provider_ref = provider_ref,
                           .now = now,
                           .out = out};

    return run_durable(be, order_pay_body, &a);
}

static adm_err_t order_cancel_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    adm_order_t o;
    adm_err_t result;
    bool did;

    if ((result = load_order(c, a->user_id, a->order_id, NULL, true, &o)) != ADM_OK)
        goto out;
    if (o.state != ADM_ORDER_PENDING) {
        result = ADM_ERR_STATE;
        goto out;
    }
    result = finish_order(c, o.id, ADM_ORDER_CANCELLED, a->now, &did);
    if (result == ADM_OK && !did)
        result = ADM_ERR_STATE;
out:
    return result;
}

adm_err_t adm_sql_order_cancel(void *be, int64_t user_id, int64_t order_id, int64_t now)
{
    struct order_args a = {.user_id = user_id, .order_id = order_id, .now = now};

    return run_write(be, order_cancel_body, &a);
}

static adm_err_t order_refund_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;
    struct ticket_ref {
        int64_t id, event_id;
    } *tickets = NULL;
    item_row_t items[ADM_STORE_ORDER_ITEMS_MAX];
    size_t n = 0, cap = 0;
    adm_order_t o;
    adm_err_t result;
    int64_t seq;
    int changes;
    bool row;

    a->revoked = 0;
    if ((result = load_order(c, 0, a->order_id, NULL, true, &o)) != ADM_OK)
        goto out;
    if (o.state != ADM_ORDER_PAID) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_ORDER_MARK_REFUNDED)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, o.id);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_TICKETS_VALID_OF_ORDER)) != ADM_OK)
        goto out;
    pi(c, o.id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        if ((result = grow((void **)&tickets, &cap, n, sizeof *tickets,
                           ADM_STORE_ORDER_TICKETS_MAX)) != ADM_OK)
            break;
        tickets[n].id = ci(c, 0);
        tickets[n].event_id = ci(c, 1);
        n++;
    }
    done(c);
    if (result != ADM_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((result = revoke_ticket(c, tickets[i].id, tickets[i].event_id, a->now, &seq)) != ADM_OK)
            goto out;
        a->revoked++;
    }
    for (size_t i = 0; i < o.n_items; i++) {
        items[i].type_id = o.items[i].type_id;
        items[i].quantity = o.items[i].quantity;
    }
    sort_items(items, o.n_items);
    for (size_t i = 0; i < o.n_items; i++) {
        if ((result = use(c, Q_TYPE_UNSELL)) != ADM_OK)
            goto out;
        pi(c, items[i].quantity);
        pi(c, items[i].type_id);
        pi(c, items[i].quantity);
        if ((result = run(c, &changes)) != ADM_OK)
            goto out;
        if (changes != 1) {
            result = ADM_ERR_STORE;
            goto out;
        }
    }
out:
    free(tickets);
    return result;
}

adm_err_t adm_sql_order_refund(void *be, int64_t order_id, int64_t now, size_t *revoked)
{
    struct order_args a = {.order_id = order_id, .now = now};
    adm_err_t result = run_durable(be, order_refund_body, &a);

    *revoked = result == ADM_OK ? a.revoked : 0;
    return result;
}

static adm_err_t order_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct order_args *a = arg;

    return load_order(c, a->user_id, a->order_id, a->code, false, a->out);
}

adm_err_t adm_sql_order_get(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                            const char *code, adm_order_t *out)
{
    struct order_args a = {.user_id = user_id, .order_id = order_id, .code = code, .out = out};

    return run_read(be, rd, order_get_body, &a);
}

struct order_list_args {
    int64_t user_id, before_id;
    size_t limit;
    adm_order_t **orders;
    size_t *n;
};

static adm_err_t order_list_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct order_list_args *a = arg;
    adm_err_t result;
    void *arr = NULL;
    size_t n = 0;

    free(*a->orders); /* from an earlier attempt */
    *a->orders = NULL;
    *a->n = 0;
    if ((result = use(c, Q_ORDER_LIST)) != ADM_OK)
        goto out;
    pi(c, a->user_id);
    pi(c, a->before_id);
    pi(c, a->before_id);
    pi(c, (int64_t)a->limit);
    if ((result = read_all(c, rd_order, sizeof(adm_order_t), a->limit, false, &arr, &n)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n && result == ADM_OK; i++) {
        adm_order_t *o = (adm_order_t *)arr + i;
        result = load_order(c, a->user_id, o->id, NULL, false, o);
    }
    if (result != ADM_OK) {
        free(arr);
        goto out;
    }
    *a->orders = arr;
    *a->n = n;
out:
    return result;
}

adm_err_t adm_sql_order_list(void *be, adm_read_t rd, int64_t user_id, int64_t before_id,
                             size_t limit, adm_order_t **orders, size_t *n)
{
    struct order_list_args a = {
        .user_id = user_id, .before_id = before_id, .limit = limit, .orders = orders, .n = n};

    return run_read(be, rd, order_list_body, &a);
}

struct tickets_args {
    int64_t user_id, order_id;
    adm_store_ticket_t **tickets;
    size_t *n;
};

static adm_err_t order_tickets_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct tickets_args *a = arg;
    adm_order_t o;
    adm_err_t result;

    free(*a->tickets); /* from an earlier attempt */
    *a->tickets = NULL;
    *a->n = 0;
    if ((result = load_order(c, a->user_id, a->order_id, NULL, false, &o)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_TICKETS_OF_ORDER)) != ADM_OK)
        goto out;
    pi(c, o.id);
    result = read_all(c, rd_ticket, sizeof(adm_store_ticket_t), ADM_STORE_ORDER_TICKETS_MAX, false,
                      (void **)a->tickets, a->n);
out:
    return result;
}

adm_err_t adm_sql_order_tickets(void *be, adm_read_t rd, int64_t user_id, int64_t order_id,
                                adm_store_ticket_t **tickets, size_t *n)
{
    struct tickets_args a = {.user_id = user_id, .order_id = order_id, .tickets = tickets, .n = n};

    return run_read(be, rd, order_tickets_body, &a);
}

adm_err_t adm_sql_ticket_get(void *be, adm_read_t rd, int64_t ticket_id, adm_store_ticket_t *out)
{
    return get_one(be, rd, Q_TICKET_GET, ticket_id, rd_ticket, out, sizeof *out);
}

struct ticket_args {
    int64_t ticket_id;
    uint32_t key_id;
    const char *token;
    int64_t now;
    int64_t seq;
};

static adm_err_t ticket_set_token_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct ticket_args *a = arg;
    adm_store_ticket_t t;
    adm_err_t result;
    int changes;

    memset(&t, 0, sizeof t);
    if ((result = get_by_id(c, Q_TICKET_LOCK, a->ticket_id, rd_ticket, &t)) != ADM_OK)
        goto out;
    if (t.key_id != 0 || t.token[0] != '\0') {
        result = strcmp(t.token, a->token) == 0 ? ADM_OK : ADM_ERR_EXISTS;
        goto out;
    }
    if ((result = use(c, Q_TICKET_SET_TOKEN)) != ADM_OK)
        goto out;
    pt(c, a->token);
    pi(c, a->key_id);
    pi(c, a->ticket_id);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_EXISTS;
out:
    return result;
}

adm_err_t adm_sql_ticket_set_token(void *be, int64_t ticket_id, uint32_t key_id, const char *token)
{
    struct ticket_args a = {.ticket_id = ticket_id, .key_id = key_id, .token = token};

    return run_write(be, ticket_set_token_body, &a);
}

adm_err_t adm_sql_ticket_list_unsigned(void *be, size_t limit, adm_store_ticket_t **tickets,
                                       size_t *n)
{
    struct list_args a = {.check_q = -1,
                          .q = Q_TICKETS_UNSIGNED,
                          .p1 = (int64_t)limit,
                          .n_args = 1,
                          .reader = rd_ticket,
                          .elem = sizeof **tickets,
                          .max = limit,
                          .arr = (void **)tickets,
                          .n = n};

    return run_read(be, ADM_READ_HINT_PRIMARY, list_body, &a);
}

static adm_err_t ticket_revoke_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct ticket_args *a = arg;
    adm_store_ticket_t t;
    adm_err_t result;

    memset(&t, 0, sizeof t);
    if ((result = get_by_id(c, Q_TICKET_GET, a->ticket_id, rd_ticket, &t)) != ADM_OK)
        goto out;
    result = revoke_ticket(c, t.id, t.event_id, a->now, &a->seq);
out:
    return result;
}

adm_err_t adm_sql_ticket_revoke(void *be, int64_t ticket_id, int64_t now, int64_t *seq)
{
    struct ticket_args a = {.ticket_id = ticket_id, .now = now};
    adm_err_t result = run_durable(be, ticket_revoke_body, &a);

    *seq = result == ADM_OK ? a.seq : 0;
    return result;
}

adm_err_t adm_sql_revocations_since(void *be, adm_read_t rd, int64_t event_id, int64_t after_seq,
                                    size_t limit, adm_revocation_t **revs, size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_REVOCATIONS,
                          .p1 = event_id,
                          .p2 = after_seq,
                          .p3 = (int64_t)limit,
                          .n_args = 3,
                          .reader = rd_revocation,
                          .elem = sizeof **revs,
                          .max = limit,
                          .arr = (void **)revs,
                          .n = n};

    return run_read(be, rd, list_body, &a);
}

/* ---- accounts ---- */

struct user_args {
    int64_t id;
    const adm_user_spec_t *spec;
    const char *email, *password_hash;
    int64_t now;
    int64_t *out_id;
    adm_user_t *out;
};

static adm_err_t user_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    adm_err_t result;

    if ((result = use(c, Q_USER_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->spec->email);
    pt(c, a->spec->password_hash);
    pt(c, a->spec->display_name);
    pi(c, a->spec->role);
    pi(c, a->now);
    if ((result = run(c, NULL)) == ADM_OK)
        *a->out_id = insert_id(c);
out:
    return result;
}

adm_err_t adm_sql_user_create(void *be, const adm_user_spec_t *spec, int64_t now, int64_t *id)
{
    struct user_args a = {.spec = spec, .now = now, .out_id = id};
    adm_err_t result = run_write(be, user_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t user_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    adm_err_t result;
    bool row;

    memset(a->out, 0, sizeof *a->out);
    if (a->id != 0) {
        result = get_by_id(c, Q_USER_GET, a->id, rd_user, a->out);
        goto out;
    }
    if ((result = use(c, Q_USER_BY_EMAIL)) != ADM_OK)
        goto out;
    pt(c, a->email);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? read_user(c, a->out) : ADM_ERR_NOT_FOUND;
    done(c);
out:
    if (result != ADM_OK)
        memset(a->out, 0, sizeof *a->out);
    return result;
}

adm_err_t adm_sql_user_get(void *be, adm_read_t rd, int64_t id, const char *email, adm_user_t *out)
{
    struct user_args a = {.id = id, .email = email, .out = out};

    return run_read(be, rd, user_get_body, &a);
}

static adm_err_t user_set_password_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct user_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_USER_SET_PASSWORD)) != ADM_OK)
        goto out;
    pt(c, a->password_hash);
    pi(c, a->id);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

adm_err_t adm_sql_user_set_password(void *be, int64_t id, const char *password_hash)
{
    struct user_args a = {.id = id, .password_hash = password_hash};

    return run_write(be, user_set_password_body, &a);
}

struct session_args {
    const char *hash;
    int64_t user_id, now, expires_at;
    adm_session_t *out;
};

static adm_err_t session_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    adm_err_t result;

    if ((result = exists(c, Q_USER_EXISTS, a->user_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_SESSION_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    pi(c, a->user_id);
    pi(c, a->now);
    pi(c, a->expires_at);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_session_create(void *be, const char *hash_hex, int64_t user_id, int64_t now,
                                 int64_t expires_at)
{
    struct session_args a = {
        .hash = hash_hex, .user_id = user_id, .now = now, .expires_at = expires_at};

    return run_write(be, session_create_body, &a);
}

static adm_err_t session_lookup_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    adm_err_t result;
    bool row;

    memset(a->out, 0, sizeof *a->out);
    if ((result = use(c, Q_SESSION_GET)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && !row)
        result = ADM_ERR_NOT_FOUND;
    if (result == ADM_OK) {
        a->out->user_id = ci(c, 0);
        a->out->role = (adm_role_t)ci(c, 1);
        a->out->created = ci(c, 2);
        a->out->expires_at = ci(c, 3);
        if (a->out->expires_at <= a->now) {
            memset(a->out, 0, sizeof *a->out);
            result = ADM_ERR_EXPIRED;
        }
    }
    done(c);
out:
    return result;
}

adm_err_t adm_sql_session_lookup(void *be, const char *hash_hex, int64_t now, adm_session_t *out)
{
    struct session_args a = {.hash = hash_hex, .now = now, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, session_lookup_body, &a);
}

static adm_err_t session_delete_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct session_args *a = arg;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_SESSION_DELETE)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    if ((result = run(c, &changes)) == ADM_OK && changes == 0)
        result = ADM_ERR_NOT_FOUND;
out:
    return result;
}

adm_err_t adm_sql_session_delete(void *be, const char *hash_hex)
{
    struct session_args a = {.hash = hash_hex};

    return run_write(be, session_delete_body, &a);
}

/* ---- idempotency ---- */

struct idem_args {
    const char *scope, *key, *fingerprint;
    int status;
    const void *body;
    size_t body_len;
    int64_t now;
    adm_idem_t *out;
};

/* Reads the record of (scope, key): *found when it is live, *stale when it
 * is past its TTL, and its status. */
static adm_err_t idem_status(adm_sql_t *c, const struct idem_args *a, bool *found, bool *stale,
                             int64_t *status)
{
    adm_err_t result;
    bool row;

    *found = *stale = false;
    *status = 0;
    if ((result = use(c, Q_IDEM_GET)) != ADM_OK)
        goto out;
    pt(c, a->scope);
    pt(c, a->key);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && row) {
        *status = ci(c, 0);
        *stale = ci(c, 3) + ADM_STORE_IDEM_TTL_S <= a->now;
        *found = !*stale;
    }
    done(c);
out:
    return result;
}

static adm_err_t idem_put_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    adm_err_t result;
    int64_t status;
    bool found, stale;

    if ((result = idem_status(c, a, &found, &stale, &status)) != ADM_OK)
        goto out;
    if (found) {
        result = ADM_ERR_EXISTS; /* the first writer won */
        goto out;
    }
    if (stale) {
        if ((result = use(c, Q_IDEM_DELETE_STALE)) != ADM_OK)
            goto out;
        pt(c, a->scope);
        pt(c, a->key);
        pi(c, a->now - ADM_STORE_IDEM_TTL_S);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
    }
    /* a concurrent first writer makes this a duplicate key: ADM_ERR_EXISTS */
    if ((result = use(c, Q_IDEM_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->scope);
    pt(c, a->key);
    pt(c, a->fingerprint);
    pi(c, a->status);
    pb(c, a->body, a->body_len);
    pi(c, a->now);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_idem_put(void *be, const char *scope, const char *key, const char *fingerprint,
                           int status, const void *body, size_t body_len, int64_t now)
{
    struct idem_args a = {.scope = scope,
                          .key = key,
                          .fingerprint = fingerprint,
                          .status = status,
                          .body = body,
                          .body_len = body_len,
                          .now = now};

    return run_write(be, idem_put_body, &a);
}

static adm_err_t idem_complete_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    adm_err_t result;
    int64_t status;
    bool found, stale;
    int changes;

    if ((result = idem_status(c, a, &found, &stale, &status)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if (status != 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_IDEM_COMPLETE)) != ADM_OK)
        goto out;
    pi(c, a->status);
    pb(c, a->body, a->body_len);
    pt(c, a->scope);
    pt(c, a->key);
    if ((result = run(c, &changes)) == ADM_OK && changes != 1)
        result = ADM_ERR_STATE;
out:
    return result;
}

adm_err_t adm_sql_idem_complete(void *be, const char *scope, const char *key, int status,
                                const void *body, size_t body_len, int64_t now)
{
    struct idem_args a = {.scope = scope,
                          .key = key,
                          .status = status,
                          .body = body,
                          .body_len = body_len,
                          .now = now};

    return run_write(be, idem_complete_body, &a);
}

static adm_err_t idem_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct idem_args *a = arg;
    adm_idem_t *out = a->out;
    const void *blob;
    adm_err_t result;
    size_t len;
    bool row;

    free(out->body); /* from an earlier attempt */
    memset(out, 0, sizeof *out);
    if ((result = use(c, Q_IDEM_GET)) != ADM_OK)
        goto out;
    pt(c, a->scope);
    pt(c, a->key);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) != ADM_OK)
        goto done;
    if (!row || ci(c, 3) + ADM_STORE_IDEM_TTL_S <= a->now) {
        result = ADM_ERR_NOT_FOUND;
        goto done;
    }
    out->status = (int)ci(c, 0);
    ct(c, 1, out->fingerprint, sizeof out->fingerprint);
    out->created = ci(c, 3);
    blob = cb(c, 2, &len);
    if ((result = take_bad(c)) != ADM_OK)
        goto done;
    if (len > ADM_STORE_IDEM_BODY_MAX) {
        result = ADM_ERR_STORE;
        goto done;
    }
    out->body = malloc(len + 1);
    if (out->body == NULL) {
        result = ADM_ERR_NOMEM;
        goto done;
    }
    if (len > 0)
        memcpy(out->body, blob, len);
    out->body[len] = '\0';
    out->body_len = len;
done:
    done(c);
out:
    if (result != ADM_OK) {
        free(out->body);
        memset(out, 0, sizeof *out);
    }
    return result;
}

adm_err_t adm_sql_idem_get(void *be, const char *scope, const char *key, int64_t now,
                           adm_idem_t *out)
{
    struct idem_args a = {.scope = scope, .key = key, .now = now, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, idem_get_body, &a);
}

/* ---- event signing keys ---- */

struct key_args {
    int64_t event_id;
    uint32_t kid;
    const uint8_t *seed;
    int64_t now;
};

static adm_err_t event_key_add_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct key_args *a = arg;
    adm_err_t result;
    int64_t count;
    bool found;

    /* the event row lock makes count-then-insert safe against a concurrent add */
    if ((result = exists(c, Q_EVENT_LOCK, a->event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_KEY_COUNT)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    if ((result = one_int(c, &count, &found)) != ADM_OK)
        goto out;
    if (count >= ADM_STORE_EVENT_KEYS_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    if ((result = use(c, Q_KEY_INSERT)) != ADM_OK)
        goto out;
    pi(c, a->kid);
    pi(c, a->event_id);
    pb(c, a->seed, ADM_KEY_SEED_BYTES);
    pi(c, a->now);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_event_key_add(void *be, int64_t event_id, uint32_t kid,
                                const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .seed = seed, .now = now};

    return run_durable(be, event_key_add_body, &a);
}

adm_err_t adm_sql_event_key_list(void *be, adm_read_t rd, int64_t event_id, adm_event_key_t **keys,
                                 size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_KEY_LIST,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_key,
                          .elem = sizeof **keys,
                          .max = ADM_STORE_EVENT_KEYS_MAX,
                          .secret = true,
                          .arr = (void **)keys,
                          .n = n};

    return run_read(be, rd, list_body, &a);
}

static adm_err_t event_key_retire_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct key_args *a = arg;
    adm_err_t result;
    int64_t v;
    bool found;

    if ((result = use(c, Q_KEY_EXISTS)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    pi(c, a->kid);
    if ((result = one_int(c, &v, &found)) != ADM_OK)
        goto out;
    if (!found) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    if ((result = use(c, Q_KEY_RETIRE)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pi(c, a->event_id);
    pi(c, a->kid);
    result = run(c, NULL); /* already retired: no row changes, still ADM_OK */
out:
    return result;
}

adm_err_t adm_sql_event_key_retire(void *be, int64_t event_id, uint32_t kid, int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .now = now};

    return run_durable(be, event_key_retire_body, &a);
}

/* ---- reports ---- */

adm_err_t adm_sql_sales_by_type(void *be, adm_read_t rd, int64_t event_id, adm_type_sales_t **rows,
                                size_t *n)
{
    struct list_args a = {.check_q = Q_EVENT_STATUS,
                          .q = Q_SALES,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_sales,
                          .elem = sizeof **rows,
                          .max = ADM_STORE_TYPES_MAX,
                          .arr = (void **)rows,
                          .n = n};

    return run_read(be, rd, list_body, &a);
}
