/* store-sql.c: the store's domain logic, written once for every SQL backend:
 * catalog, holds, orders and tickets, accounts, idempotency, signing keys,
 * the reaper, and the sync tables (check-in lists, devices, scans and their
 * conflict flags, an edge's mirror, settings), each op a transaction body
 * run by the backend's run() through the driver interface of store-sql.h.
 * Not for connections, pools, transactions, retries or migrations
 * (store-sqlite.c, store-mysql.c).
 *
 * Rules the bodies keep for MariaDB's row locks (docs/store.md §8), which
 * are free on SQLite: a check-then-write reads its row with a *_LOCK
 * statement first; rows of several ticket types are updated in type-id
 * order (sort_items); the hold's counter UPDATE comes before its INSERT; an
 * event's sync rows are written under its sync_locks row (sync_lock); one
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

/* ticket_types.flags: the attributes a type gives its tickets */
#define ADM_SQL_TYPE_SPECIAL 1
#define ADM_SQL_TYPE_REENTRY 2

static int64_t type_flags(const adm_ticket_type_spec_t *t)
{
    return (t->special ? ADM_SQL_TYPE_SPECIAL : 0) | (t->reentry ? ADM_SQL_TYPE_REENTRY : 0);
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
    t->special = (ci(c, 14) & ADM_SQL_TYPE_SPECIAL) != 0;
    t->reentry = (ci(c, 14) & ADM_SQL_TYPE_REENTRY) != 0;
    ct(c, 15, t->zone, sizeof t->zone);
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
    if (to == ADM_ORDER_EXPIRED) {
        /* only while still past its deadline: the order may have been
         * extended (order_extend) since the reaper's unlocked SELECT */
        if ((result = use(c, Q_ORDER_EXPIRE)) != ADM_OK)
            goto out;
        pi(c, now);
        pi(c, order_id);
        pi(c, now);
    } else {
        if ((result = use(c, Q_ORDER_FINISH)) != ADM_OK)
            goto out;
        pi(c, to);
        pi(c, now);
        pi(c, order_id);
    }
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
    pi(c, type_flags(t));
    pt(c, t->zone);
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
    pi(c, type_flags(t));
    pt(c, t->zone);
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

struct extend_args {
    int64_t order_id, expires_at, now;
    adm_order_t *out;
};

static adm_err_t order_extend_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct extend_args *a = arg;
    adm_err_t result;
    int changes;

    /* the order row stays locked: a concurrent pay, cancel or reaper waits */
    if ((result = load_order(c, 0, a->order_id, NULL, true, a->out)) != ADM_OK)
        goto out;
    if (a->out->state != ADM_ORDER_PENDING) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (a->out->expires_at <= a->now) {
        result = ADM_ERR_EXPIRED;
        goto out;
    }
    if (a->expires_at <= a->out->expires_at)
        goto out; /* never shortens */
    if ((result = use(c, Q_ORDER_EXTEND)) != ADM_OK)
        goto out;
    pi(c, a->expires_at);
    pi(c, a->now);
    pi(c, a->order_id);
    pi(c, a->expires_at);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STORE; /* the locked row changed under us */
        goto out;
    }
    result = load_order(c, 0, a->order_id, NULL, false, a->out);
out:
    if (result != ADM_OK)
        memset(a->out, 0, sizeof *a->out);
    return result;
}

adm_err_t adm_sql_order_extend(void *be, int64_t order_id, int64_t expires_at, int64_t now,
                               adm_order_t *out)
{
    struct extend_args a = {.order_id = order_id, .expires_at = expires_at, .now = now, .out = out};

    return run_write(be, order_extend_body, &a);
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
    if (a->status >= 500) { /* release the key: a retry runs again */
        if ((result = use(c, Q_IDEM_RELEASE)) != ADM_OK)
            goto out;
        pt(c, a->scope);
        pt(c, a->key);
    } else {
        if ((result = use(c, Q_IDEM_COMPLETE)) != ADM_OK)
            goto out;
        pi(c, a->status);
        pb(c, a->body, a->body_len);
        pt(c, a->scope);
        pt(c, a->key);
    }
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
    bool first; /* only when the event has no active key */
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
    if (a->first) {
        if ((result = use(c, Q_KEY_COUNT_ACTIVE)) != ADM_OK)
            goto out;
        pi(c, a->event_id);
        if ((result = one_int(c, &count, &found)) != ADM_OK)
            goto out;
        if (count > 0) {
            result = ADM_ERR_EXISTS; /* another process made it first */
            goto out;
        }
    }
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

adm_err_t adm_sql_event_key_add_first(void *be, int64_t event_id, uint32_t kid,
                                      const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now)
{
    struct key_args a = {.event_id = event_id, .kid = kid, .seed = seed, .now = now, .first = true};

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

/* ---- sync: check-in lists, devices, scans (docs/sync.md) ----
 * The sync tables carry event ids without a foreign key (an edge keeps rows
 * of events it only mirrors). Verdicts, directions and re-entry rules are
 * stored by name (sync/checkin.h), bound as parameters so the names live in
 * one place. */

#define REPLAY_PAGE 1024 /* accepted scans read per replay statement */

static const char *accept_name(void)
{
    return adm_verdict_name(ADM_VERDICT_ACCEPT);
}

/* Takes the per-event row of sync_locks (inserted on first use), which every
 * transaction that numbers, recomputes or counts an event's sync rows
 * writes first: on MariaDB it holds them in line until commit, so an
 * event's check-in seqs commit in order and two uploads of one ticket never
 * replay its conflicts at once; on SQLite the write lock already does. */
static adm_err_t sync_lock(adm_sql_t *c, int64_t event_id)
{
    adm_err_t result = use(c, Q_SYNC_LOCK);

    if (result == ADM_OK) {
        pi(c, event_id);
        result = run(c, NULL);
    }
    return result;
}

/* ADM_ERR_LIMIT when event_id already has ADM_STORE_CHECKIN_LISTS_MAX lists. */
static adm_err_t list_room(adm_sql_t *c, int64_t event_id)
{
    adm_err_t result;
    int64_t count;
    bool found;

    if ((result = use(c, Q_LIST_COUNT)) != ADM_OK)
        goto out;
    pi(c, event_id);
    if ((result = one_int(c, &count, &found)) == ADM_OK && count >= ADM_STORE_CHECKIN_LISTS_MAX)
        result = ADM_ERR_LIMIT;
out:
    return result;
}

typedef struct list_row {
    int64_t id; /* 0: a new list, *id gets the generated one */
    int64_t event_id;
    const char *name;
    adm_reentry_t reentry;
    int64_t created;
    const int64_t *types;
    size_t n_types;
    const char *const *gates;
    size_t n_gates;
} list_row_t;

/* Inserts list l with its types and gates (pos = their order); *id gets its id. */
static adm_err_t list_insert(adm_sql_t *c, const list_row_t *l, int64_t *id)
{
    adm_err_t result;

    if ((result = use(c, l->id ? Q_LIST_INSERT_ID : Q_LIST_INSERT)) != ADM_OK)
        goto out;
    if (l->id)
        pi(c, l->id);
    pi(c, l->event_id);
    pt(c, l->name);
    pt(c, adm_reentry_name(l->reentry));
    pi(c, l->created);
    if ((result = run(c, NULL)) != ADM_OK)
        goto out;
    *id = l->id ? l->id : insert_id(c);
    for (size_t i = 0; i < l->n_types; i++) {
        if ((result = use(c, Q_LIST_TYPE_INSERT)) != ADM_OK)
            goto out;
        pi(c, *id);
        pi(c, (int64_t)i);
        pi(c, l->types[i]);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
    }
    for (size_t i = 0; i < l->n_gates; i++) {
        if ((result = use(c, Q_LIST_GATE_INSERT)) != ADM_OK)
            goto out;
        pi(c, *id);
        pi(c, (int64_t)i);
        pt(c, l->gates[i]);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
    }
out:
    return result;
}

struct list_put_args {
    list_row_t row;
    int64_t *out_id;
};

static adm_err_t checkin_list_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct list_put_args *a = arg;
    adm_err_t result;

    if ((result = sync_lock(c, a->row.event_id)) != ADM_OK ||
        (result = list_room(c, a->row.event_id)) != ADM_OK)
        goto out;
    result = list_insert(c, &a->row, a->out_id);
out:
    return result;
}

adm_err_t adm_sql_checkin_list_create(void *be, const adm_checkin_list_spec_t *spec, int64_t now,
                                      int64_t *id)
{
    struct list_put_args a = {.row = {.event_id = spec->event_id,
                                      .name = spec->name,
                                      .reentry = spec->reentry,
                                      .created = now,
                                      .types = spec->types,
                                      .n_types = spec->n_types,
                                      .gates = spec->gates,
                                      .n_gates = spec->n_gates},
                              .out_id = id};
    adm_err_t result = run_write(be, checkin_list_create_body, &a);

    if (result != ADM_OK)
        *id = 0;
    return result;
}

static adm_err_t checkin_list_put_body(adm_sql_t *c, void *arg, bool *keep)
{
    static const int deletes[] = {Q_LIST_TYPES_DELETE, Q_LIST_GATES_DELETE, Q_LIST_DELETE};
    struct list_put_args *a = arg;
    adm_err_t result;
    int64_t old_event, id;
    bool found;

    if ((result = sync_lock(c, a->row.event_id)) != ADM_OK)
        goto out;
    if ((result = use(c, Q_LIST_EVENT)) != ADM_OK)
        goto out;
    pi(c, a->row.id);
    if ((result = one_int(c, &old_event, &found)) != ADM_OK)
        goto out;
    if ((!found || old_event != a->row.event_id) &&
        (result = list_room(c, a->row.event_id)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < sizeof deletes / sizeof deletes[0]; i++) {
        if ((result = use(c, deletes[i])) != ADM_OK)
            goto out;
        pi(c, a->row.id);
        if ((result = run(c, NULL)) != ADM_OK)
            goto out;
    }
    result = list_insert(c, &a->row, &id);
out:
    return result;
}

adm_err_t adm_sql_checkin_list_put(void *be, const adm_checkin_list_t *l)
{
    const char *gates[ADM_STORE_LIST_GATES_MAX];
    struct list_put_args a = {.row = {.id = l->id,
                                      .event_id = l->event_id,
                                      .name = l->name,
                                      .reentry = l->reentry,
                                      .created = l->created,
                                      .types = l->types,
                                      .n_types = l->n_types,
                                      .gates = gates,
                                      .n_gates = l->n_gates}};

    for (size_t i = 0; i < l->n_gates; i++)
        gates[i] = l->gates[i];
    return run_write(be, checkin_list_put_body, &a);
}

static adm_err_t rd_list(adm_sql_t *c, void *e)
{
    adm_checkin_list_t *l = e;
    char reentry[16];

    l->id = ci(c, 0);
    l->event_id = ci(c, 1);
    ct(c, 2, l->name, sizeof l->name);
    ct(c, 3, reentry, sizeof reentry);
    l->created = ci(c, 4);
    if (!adm_reentry_parse(reentry, &l->reentry))
        return ADM_ERR_STORE;
    return take_bad(c);
}

/* The list with id in lists[0..n) (sorted by id), or NULL. */
static adm_checkin_list_t *find_list(adm_checkin_list_t *lists, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lists[mid].id == id)
            return &lists[mid];
        if (lists[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct lists_args {
    int64_t event_id;
    adm_checkin_list_t **lists;
    size_t *n;
};

/* The lists, then every type and every gate of the event's lists, merged by list id. */
static adm_err_t checkin_list_list_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct lists_args *a = arg;
    adm_checkin_list_t *lists, *l;
    adm_err_t result;
    bool row;

    free(*a->lists); /* from an earlier attempt */
    *a->lists = NULL;
    *a->n = 0;
    if ((result = use(c, Q_LISTS)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    if ((result = read_all(c, rd_list, sizeof **a->lists, ADM_STORE_CHECKIN_LISTS_MAX, false,
                           (void **)a->lists, a->n)) != ADM_OK ||
        *a->n == 0)
        goto out;
    lists = *a->lists;
    for (int q = Q_LIST_TYPES; q <= Q_LIST_GATES && result == ADM_OK; q++) {
        if ((result = use(c, q)) != ADM_OK)
            break;
        pi(c, a->event_id);
        if ((result = exec(c)) != ADM_OK)
            break;
        while (result == ADM_OK && (result = step(c, &row)) == ADM_OK && row) {
            if ((l = find_list(lists, *a->n, ci(c, 0))) == NULL)
                continue; /* a list created since the first read */
            if (q == Q_LIST_TYPES && l->n_types < ADM_STORE_TYPES_MAX)
                l->types[l->n_types++] = ci(c, 1);
            else if (q == Q_LIST_GATES && l->n_gates < ADM_STORE_LIST_GATES_MAX)
                ct(c, 1, l->gates[l->n_gates++], sizeof l->gates[0]);
            else
                result = ADM_ERR_STORE; /* more than a list may hold */
        }
        done(c);
        if (result == ADM_OK)
            result = take_bad(c);
    }
out:
    if (result != ADM_OK) {
        free(*a->lists);
        *a->lists = NULL;
        *a->n = 0;
    }
    return result;
}

_Static_assert(Q_LIST_GATES == Q_LIST_TYPES + 1, "checkin_list_list_body runs both in turn");

adm_err_t adm_sql_checkin_list_list(void *be, adm_read_t rd, int64_t event_id,
                                    adm_checkin_list_t **lists, size_t *n)
{
    struct lists_args a = {.event_id = event_id, .lists = lists, .n = n};

    return run_read(be, rd, checkin_list_list_body, &a);
}

/* ---- enrollment and devices ---- */

struct device_args {
    const char *hash; /* enrollment token hash, hex */
    const adm_enrollment_spec_t *spec;
    const char *id, *name;
    const uint8_t *secret_hash;
    int64_t now;
    adm_device_t *out;
};

static adm_err_t enrollment_create_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct device_args *a = arg;
    adm_err_t result;

    if ((result = use(c, Q_ENROLLMENT_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    pi(c, a->spec->event_id);
    pt(c, a->spec->gate);
    pi(c, a->spec->kind);
    pi(c, a->now);
    pi(c, a->spec->expires_at);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_enrollment_create(void *be, const char *hash_hex,
                                    const adm_enrollment_spec_t *spec, int64_t now)
{
    struct device_args a = {.hash = hash_hex, .spec = spec, .now = now};

    return run_durable(be, enrollment_create_body, &a);
}

static adm_err_t rd_device(adm_sql_t *c, void *e)
{
    adm_device_t *d = e;
    const void *secret;
    size_t len;

    ct(c, 0, d->id, sizeof d->id);
    d->event_id = ci(c, 1);
    ct(c, 2, d->name, sizeof d->name);
    ct(c, 3, d->gate, sizeof d->gate);
    d->kind = (adm_device_kind_t)ci(c, 4);
    secret = cb(c, 5, &len);
    if (len != ADM_STORE_SECRET_HASH_BYTES)
        return ADM_ERR_STORE;
    memcpy(d->secret_hash, secret, ADM_STORE_SECRET_HASH_BYTES);
    d->created = ci(c, 6);
    d->last_seen = ci(c, 7);
    d->revoked_at = ci(c, 8);
    return take_bad(c);
}

/* Fills *out with device id. ADM_ERR_NOT_FOUND. */
static adm_err_t load_device(adm_sql_t *c, const char *id, adm_device_t *out)
{
    adm_err_t result;
    bool row;

    memset(out, 0, sizeof *out);
    if ((result = use(c, Q_DEVICE_GET)) != ADM_OK)
        goto out;
    pt(c, id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK)
        result = row ? rd_device(c, out) : ADM_ERR_NOT_FOUND;
    done(c);
out:
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
    return result;
}

/* The token row is locked first (FOR UPDATE on MariaDB), so of two devices
 * trading one token concurrently the second sees it used. */
static adm_err_t device_enroll_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct device_args *a = arg;
    adm_device_t *d = a->out;
    int64_t expires_at = 0, used_at = 0;
    adm_err_t result;
    int changes;
    bool row;

    memset(d, 0, sizeof *d);
    if ((result = use(c, Q_ENROLLMENT_LOCK)) != ADM_OK)
        goto out;
    pt(c, a->hash);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && !row)
        result = ADM_ERR_NOT_FOUND;
    if (result == ADM_OK) {
        d->event_id = ci(c, 0);
        ct(c, 1, d->gate, sizeof d->gate);
        d->kind = (adm_device_kind_t)ci(c, 2);
        expires_at = ci(c, 3);
        used_at = ci(c, 4);
    }
    done(c);
    if (result != ADM_OK || (result = take_bad(c)) != ADM_OK)
        goto out;
    if (used_at != 0) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if (expires_at <= a->now) {
        result = ADM_ERR_EXPIRED;
        goto out;
    }
    if ((result = use(c, Q_ENROLLMENT_USE)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pt(c, a->id);
    pt(c, a->hash);
    if ((result = run(c, &changes)) != ADM_OK)
        goto out;
    if (changes != 1) {
        result = ADM_ERR_STATE;
        goto out;
    }
    if ((result = use(c, Q_DEVICE_INSERT)) != ADM_OK)
        goto out;
    pt(c, a->id);
    pi(c, d->event_id);
    pt(c, a->name);
    pt(c, d->gate);
    pi(c, d->kind);
    pb(c, a->secret_hash, ADM_STORE_SECRET_HASH_BYTES);
    pi(c, a->now);
    if ((result = run(c, NULL)) != ADM_OK) /* ADM_ERR_EXISTS: the id is taken */
        goto out;
    snprintf(d->id, sizeof d->id, "%s", a->id);
    snprintf(d->name, sizeof d->name, "%s", a->name);
    memcpy(d->secret_hash, a->secret_hash, ADM_STORE_SECRET_HASH_BYTES);
    d->created = a->now;
out:
    if (result != ADM_OK)
        memset(d, 0, sizeof *d);
    return result;
}

adm_err_t adm_sql_device_enroll(void *be, const char *hash_hex, const char *device_id,
                                const uint8_t secret_hash[ADM_STORE_SECRET_HASH_BYTES],
                                const char *name, int64_t now, adm_device_t *out)
{
    struct device_args a = {.hash = hash_hex,
                            .id = device_id,
                            .name = name,
                            .secret_hash = secret_hash,
                            .now = now,
                            .out = out};

    return run_durable(be, device_enroll_body, &a);
}

static adm_err_t device_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct device_args *a = arg;

    return load_device(c, a->id, a->out);
}

adm_err_t adm_sql_device_get(void *be, const char *id, adm_device_t *out)
{
    struct device_args a = {.id = id, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, device_get_body, &a);
}

adm_err_t adm_sql_device_list(void *be, adm_read_t rd, int64_t event_id, adm_device_t **devices,
                              size_t *n)
{
    struct list_args a = {.check_q = -1,
                          .q = Q_DEVICES,
                          .p1 = event_id,
                          .n_args = 1,
                          .reader = rd_device,
                          .elem = sizeof **devices,
                          .max = ADM_STORE_DEVICES_MAX,
                          .arr = (void **)devices,
                          .n = n};

    return run_read(be, rd, list_body, &a);
}

static adm_err_t device_revoke_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct device_args *a = arg;
    adm_device_t d;
    adm_err_t result;
    int changes;

    if ((result = use(c, Q_DEVICE_REVOKE)) != ADM_OK)
        goto out;
    pi(c, a->now);
    pt(c, a->id);
    if ((result = run(c, &changes)) != ADM_OK || changes == 1)
        goto out;
    /* no row changed: absent, or already revoked (the first time stays) */
    result = load_device(c, a->id, &d);
out:
    return result;
}

adm_err_t adm_sql_device_revoke(void *be, const char *id, int64_t now)
{
    struct device_args a = {.id = id, .now = now};

    return run_durable(be, device_revoke_body, &a);
}

/* ---- scans ----
 * An upload runs a bounded number of statements per chunk of rows, not one
 * per row (docs/store.md §10): the stored nonces are looked up
 * ADM_SQL_IN_N at a time, the new rows inserted up to
 * ADM_SQL_CHECKIN_INSERT_ROWS per statement and their seqs read back by
 * nonce (AUTO_INCREMENT ids of one statement need not be consecutive on
 * MariaDB), and the replays read the accepted scans of ADM_SQL_IN_N tickets
 * per statement and rewrite the changed flags ADM_SQL_IN_N per statement. */

typedef struct seq_ref {
    int64_t seq;
    size_t i; /* index into the results */
} seq_ref_t;

typedef struct pair {
    int64_t ticket_id, list_id;
} pair_t;

typedef struct nonce_ref {
    const char *nonce;
    size_t i; /* index into the scans */
} nonce_ref_t;

typedef struct list_rule {
    int64_t list_id;
    adm_reentry_t rule;
} list_rule_t;

/* Where a replay is: the (ticket, list) of the last row read, and its state. */
typedef struct replay_pos {
    int64_t ticket_id, list_id, at, seq; /* of the last row read */
    bool started;                        /* a row was read */
    bool touched;                        /* the pair is one the batch added to */
    bool inside, entered;
    adm_reentry_t rule;
} replay_pos_t;

struct checkins_args {
    int64_t event_id;
    const char *uploader;
    const adm_scan_t *scans;
    size_t n;
    bool upstream_done;
    int64_t now;
    adm_checkin_result_t *results; /* n */
    size_t *lead;                  /* n: the first scan with the same nonce */
    nonce_ref_t *by_nonce;         /* n_leads: the leads, by nonce */
    size_t n_leads;
    /* scratch of one run of the body */
    size_t *rows;       /* n: scans to look up or insert, in request order */
    seq_ref_t *by_seq;  /* n: results by seq */
    pair_t *pairs;      /* n: the (ticket, list) pairs to replay, sorted */
    int64_t *tickets;   /* n: their distinct tickets, ascending */
    list_rule_t *rules; /* n: the rules of their lists, by list id */
    int64_t *flips[2];  /* REPLAY_PAGE each: seqs whose flag becomes false / true */
    size_t n_pairs, n_tickets, n_rules, n_flips[2];
};

static int cmp_seq_ref(const void *x, const void *y)
{
    const seq_ref_t *a = x, *b = y;

    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_pair(const void *x, const void *y)
{
    const pair_t *a = x, *b = y;

    if (a->ticket_id != b->ticket_id)
        return a->ticket_id < b->ticket_id ? -1 : 1;
    return a->list_id < b->list_id ? -1 : a->list_id > b->list_id;
}

static int cmp_nonce(const void *x, const void *y)
{
    return strcmp(((const nonce_ref_t *)x)->nonce, ((const nonce_ref_t *)y)->nonce);
}

static int cmp_nonce_index(const void *x, const void *y)
{
    const nonce_ref_t *a = x, *b = y;
    int d = strcmp(a->nonce, b->nonce);

    return d != 0 ? d : (a->i > b->i) - (a->i < b->i);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

    return a < b ? -1 : a > b;
}

static int cmp_list_rule(const void *x, const void *y)
{
    return cmp_i64(&((const list_rule_t *)x)->list_id, &((const list_rule_t *)y)->list_id);
}

/* Fills a->lead (the first scan of each nonce leads; a later one repeats
 * it) and a->by_nonce with the leads. Input only: runs once per upload. */
static void index_nonces(struct checkins_args *a)
{
    size_t k = 0;

    for (size_t i = 0; i < a->n; i++)
        a->by_nonce[i] = (nonce_ref_t){a->scans[i].nonce, i};
    qsort(a->by_nonce, a->n, sizeof *a->by_nonce, cmp_nonce_index);
    for (size_t i = 0; i < a->n; i++) {
        if (k == 0 || strcmp(a->by_nonce[k - 1].nonce, a->by_nonce[i].nonce) != 0)
            a->by_nonce[k++] = a->by_nonce[i];
        a->lead[a->by_nonce[i].i] = a->by_nonce[k - 1].i;
    }
    a->n_leads = k;
}

/* Records conflict as the flag of every result whose row is seq. */
static void note_conflict(struct checkins_args *a, int64_t seq, bool conflict)
{
    seq_ref_t key = {.seq = seq};
    seq_ref_t *hit = bsearch(&key, a->by_seq, a->n, sizeof *a->by_seq, cmp_seq_ref);

    if (hit == NULL)
        return;
    while (hit > a->by_seq && hit[-1].seq == seq)
        hit--;
    for (; hit < a->by_seq + a->n && hit->seq == seq; hit++)
        a->results[hit->i].conflict = conflict;
}

_Static_assert(Q_CHECKIN_BY_NONCES == Q_CHECKIN_BY_NONCES_1 + 2 &&
                   Q_CHECKIN_REPLAY_TICKETS == Q_CHECKIN_REPLAY_TICKETS_1 + 2 &&
                   Q_CHECKIN_SET_CONFLICTS == Q_CHECKIN_SET_CONFLICTS_1 + 2,
               "each IN statement comes in widths 1, small, ADM_SQL_IN_N, in that order");

/* The narrowest IN list for n values (at most ADM_SQL_IN_N): its width,
 * and in *q the statement of that width of the family whose first is q1. */
static size_t in_width(size_t n, int q1, int *q)
{
    size_t width = n <= 1 ? 1 : n <= ADM_SQL_IN_SMALL ? ADM_SQL_IN_SMALL : ADM_SQL_IN_N;

    *q = q1 + (width == 1 ? 0 : width == ADM_SQL_IN_SMALL ? 1 : 2);
    return width;
}

/* Reads the stored rows of the nonces of scans rows[0..n) (leads), ADM_SQL_IN_N
 * a statement: each found one's result gets its seq and flag; the others
 * keep seq 0. */
static adm_err_t read_nonces(adm_sql_t *c, struct checkins_args *a, const size_t *rows, size_t n)
{
    char nonce[ADM_STORE_NONCE_LEN + 1];
    adm_err_t result = ADM_OK;
    nonce_ref_t key = {.nonce = nonce}, *hit;
    bool row;

    for (size_t pos = 0; pos < n && result == ADM_OK; pos += ADM_SQL_IN_N) {
        int q;
        size_t width = in_width(n - pos, Q_CHECKIN_BY_NONCES_1, &q);

        if ((result = use(c, q)) != ADM_OK)
            break;
        for (size_t j = pos; j < pos + width; j++)
            pt(c, j < n ? a->scans[rows[j]].nonce : NULL);
        if ((result = exec(c)) != ADM_OK)
            break;
        while ((result = step(c, &row)) == ADM_OK && row) {
            ct(c, 1, nonce, sizeof nonce);
            hit = bsearch(&key, a->by_nonce, a->n_leads, sizeof *a->by_nonce, cmp_nonce);
            if (hit == NULL) { /* a nonce not asked for, or one that did not fit */
                result = ADM_ERR_STORE;
                break;
            }
            a->results[hit->i].seq = ci(c, 0);
            a->results[hit->i].conflict = ci(c, 2) != 0;
        }
        done(c);
        if (result == ADM_OK)
            result = take_bad(c);
    }
    return result;
}

static void bind_scan(adm_sql_t *c, const struct checkins_args *a, const adm_scan_t *s)
{
    pi(c, a->event_id);
    pt(c, s->nonce);
    pt(c, s->device);
    pt(c, a->uploader);
    pi(c, s->ticket_id);
    pi(c, s->list_id);
    pi(c, s->at);
    pt(c, s->gate);
    pt(c, adm_direction_name(s->direction));
    pt(c, adm_verdict_name(s->verdict));
    pt(c, s->reason);
    pi(c, s->attention);
    pt(c, s->text_hash);
    pi(c, a->upstream_done);
    pi(c, a->now);
}

/* Stores scan s, or finds the row its nonce already has: *r gets the seq,
 * whether this call stored it, and the row's current flag. */
static adm_err_t store_scan(adm_sql_t *c, const struct checkins_args *a, const adm_scan_t *s,
                            adm_checkin_result_t *r)
{
    adm_err_t result;
    bool row;

    if ((result = use(c, Q_CHECKIN_INSERT)) != ADM_OK)
        goto out;
    bind_scan(c, a, s);
    result = run(c, NULL);
    if (result == ADM_OK) {
        r->seq = insert_id(c);
        r->stored = true;
        goto out;
    }
    if (result != ADM_ERR_EXISTS)
        goto out;
    /* a duplicate: the stored row answers (committed: its insert held the key until then) */
    if ((result = use(c, Q_CHECKIN_BY_NONCE)) != ADM_OK)
        goto out;
    pt(c, s->nonce);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK) {
        if (row) {
            r->seq = ci(c, 0);
            r->conflict = ci(c, 1) != 0;
        } else {
            result = ADM_ERR_STORE; /* EXISTS without the row */
        }
    }
    done(c);
out:
    return result;
}

/* Inserts scans rows[0..n) (leads whose nonce was not stored), in request
 * order, up to ADM_SQL_CHECKIN_INSERT_ROWS a statement, then reads back the
 * seqs of those a multi-row statement stored (rows[] is reordered). A
 * nonce that another event's upload stored meanwhile fails its statement
 * (ADM_ERR_EXISTS, which leaves the transaction open), whose rows then go
 * one at a time as store_scan. */
static adm_err_t insert_scans(adm_sql_t *c, struct checkins_args *a, size_t *rows, size_t n)
{
    adm_err_t result = ADM_OK;
    size_t m, k = 0;
    int q;

    for (size_t pos = 0; pos < n && result == ADM_OK; pos += m) {
        for (q = Q_CHECKIN_INSERT, m = 1; m * 2 <= n - pos && m * 2 <= ADM_SQL_CHECKIN_INSERT_ROWS;
             q++)
            m *= 2;
        if ((result = use(c, q)) != ADM_OK)
            break;
        for (size_t j = pos; j < pos + m; j++)
            bind_scan(c, a, &a->scans[rows[j]]);
        result = run(c, NULL);
        for (size_t j = pos; j < pos + m && result == ADM_OK; j++)
            a->results[rows[j]].stored = true;
        if (result == ADM_OK && m == 1) /* one row: its id is the statement's */
            a->results[rows[pos]].seq = insert_id(c);
        if (result != ADM_ERR_EXISTS)
            continue;
        result = ADM_OK;
        for (size_t j = pos; j < pos + m && result == ADM_OK; j++)
            result = store_scan(c, a, &a->scans[rows[j]], &a->results[rows[j]]);
    }
    for (size_t j = 0; j < n; j++) /* the rows of multi-row statements */
        if (a->results[rows[j]].seq == 0)
            rows[k++] = rows[j];
    if (result == ADM_OK)
        result = read_nonces(c, a, rows, k);
    for (size_t j = 0; j < k && result == ADM_OK; j++)
        if (a->results[rows[j]].seq == 0)
            result = ADM_ERR_STORE; /* inserted, yet not read back */
    return result;
}

/* The re-entry rule of list list_id of the event: "once" for a list id
 * without a stored list. */
static adm_err_t list_rule(adm_sql_t *c, int64_t event_id, int64_t list_id, adm_reentry_t *rule)
{
    char name[16] = "";
    adm_err_t result;
    bool row = false;

    *rule = ADM_REENTRY_ONCE;
    if ((result = use(c, Q_LIST_REENTRY)) != ADM_OK)
        goto out;
    pi(c, list_id);
    pi(c, event_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && row)
        ct(c, 0, name, sizeof name);
    done(c);
    if (result == ADM_OK && (result = take_bad(c)) == ADM_OK && row &&
        !adm_reentry_parse(name, rule))
        result = ADM_ERR_STORE;
out:
    return result;
}

/* Feeds one accepted scan, in (ticket, list, at, seq) order, to the replay
 * (docs/sync.md §3): once, every entry after the first is a conflict;
 * after_exit, an entry while inside is, an exit leaves; unlimited, none is.
 * A conflicting entry changes nothing (the ticket stays inside). Exits are
 * never conflicts. Rows of a pair the batch did not add to are passed over;
 * a flag that changes is queued in a->flips. */
static void replay_row(struct checkins_args *a, replay_pos_t *p, int64_t seq, int64_t ticket_id,
                       int64_t list_id, int64_t at, bool entry, bool conflict)
{
    bool want = false;

    if (!p->started || ticket_id != p->ticket_id || list_id != p->list_id) {
        pair_t key = {ticket_id, list_id};
        list_rule_t rkey = {.list_id = list_id}, *r;

        p->started = true;
        p->ticket_id = ticket_id;
        p->list_id = list_id;
        p->inside = p->entered = false;
        p->touched = bsearch(&key, a->pairs, a->n_pairs, sizeof *a->pairs, cmp_pair) != NULL;
        r = bsearch(&rkey, a->rules, a->n_rules, sizeof *a->rules, cmp_list_rule);
        p->rule = r != NULL ? r->rule : ADM_REENTRY_ONCE;
    }
    p->at = at;
    p->seq = seq;
    if (!p->touched)
        return;
    if (!entry) {
        p->inside = false;
    } else if (p->rule == ADM_REENTRY_ONCE) {
        want = p->entered;
        p->entered = true;
    } else if (p->rule == ADM_REENTRY_AFTER_EXIT) {
        want = p->inside;
        p->inside = true;
    }
    note_conflict(a, seq, want);
    if (want != conflict)
        a->flips[want][a->n_flips[want]++] = seq;
}

/* Writes the queued flag changes, ADM_SQL_IN_N rows a statement. */
static adm_err_t flush_flips(adm_sql_t *c, struct checkins_args *a)
{
    adm_err_t result = ADM_OK;

    for (int v = 0; v < 2; v++) {
        for (size_t pos = 0; pos < a->n_flips[v] && result == ADM_OK; pos += ADM_SQL_IN_N) {
            int q;
            size_t width = in_width(a->n_flips[v] - pos, Q_CHECKIN_SET_CONFLICTS_1, &q);

            if ((result = use(c, q)) != ADM_OK)
                break;
            pi(c, v);
            for (size_t j = pos; j < pos + width; j++) {
                if (j < a->n_flips[v])
                    pi(c, a->flips[v][j]);
                else
                    pt(c, NULL);
            }
            result = run(c, NULL);
        }
        a->n_flips[v] = 0;
    }
    return result;
}

/* Runs the replay statement use() selected and bound (at most REPLAY_PAGE
 * rows of the replay columns), feeds its rows to replay_row, then writes
 * the flags they changed; *n gets the rows read. */
static adm_err_t replay_page(adm_sql_t *c, struct checkins_args *a, replay_pos_t *p, size_t *n)
{
    adm_direction_t dir;
    char dir_name[16];
    adm_err_t result;
    bool row;

    *n = 0;
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while (*n < REPLAY_PAGE && (result = step(c, &row)) == ADM_OK && row) {
        ct(c, 4, dir_name, sizeof dir_name);
        if (!adm_direction_parse(dir_name, &dir)) {
            result = ADM_ERR_STORE;
            break;
        }
        replay_row(a, p, ci(c, 0), ci(c, 1), ci(c, 2), ci(c, 3), dir == ADM_DIRECTION_ENTRY,
                   ci(c, 5) != 0);
        (*n)++;
    }
    done(c);
    if (result == ADM_OK && (result = take_bad(c)) == ADM_OK)
        result = flush_flips(c, a);
out:
    return result;
}

/* Recomputes the conflict flags of every pair in a->pairs: reads the
 * accepted scans of ADM_SQL_IN_N of their tickets at a time in (ticket,
 * list, at, seq) order, REPLAY_PAGE rows a statement. A full page may end
 * inside a ticket: that ticket's rest is read on its own (keyset on (list,
 * at, seq)), so a ticket scanned a million times still runs in bounded
 * memory, and the next statement starts at the ticket after it. */
static adm_err_t replay_pairs(adm_sql_t *c, struct checkins_args *a)
{
    replay_pos_t p = {0};
    adm_err_t result = ADM_OK;
    size_t pos = 0, m, n, width;
    int q;

    while (pos < a->n_tickets) {
        m = a->n_tickets - pos < ADM_SQL_IN_N ? a->n_tickets - pos : ADM_SQL_IN_N;
        width = in_width(m, Q_CHECKIN_REPLAY_TICKETS_1, &q);
        if ((result = use(c, q)) != ADM_OK)
            goto out;
        pi(c, a->event_id);
        pt(c, accept_name());
        for (size_t j = 0; j < width; j++) {
            if (j < m)
                pi(c, a->tickets[pos + j]);
            else
                pt(c, NULL);
        }
        pi(c, REPLAY_PAGE);
        if ((result = replay_page(c, a, &p, &n)) != ADM_OK)
            goto out;
        if (n < REPLAY_PAGE) {
            pos += m;
            continue;
        }
        do {
            if ((result = use(c, Q_CHECKIN_REPLAY_TICKET)) != ADM_OK)
                goto out;
            pi(c, a->event_id);
            pi(c, p.ticket_id);
            pt(c, accept_name());
            pi(c, p.list_id);
            pi(c, p.list_id);
            pi(c, p.at);
            pi(c, p.at);
            pi(c, p.seq);
            pi(c, REPLAY_PAGE);
            if ((result = replay_page(c, a, &p, &n)) != ADM_OK)
                goto out;
        } while (n == REPLAY_PAGE);
        while (pos < a->n_tickets && a->tickets[pos] <= p.ticket_id)
            pos++;
    }
out:
    return result;
}

/* Sorts the (ticket, list) pairs the batch added accepted scans to, and
 * gathers their distinct tickets and the rules of their lists. */
static adm_err_t plan_replay(adm_sql_t *c, struct checkins_args *a)
{
    adm_err_t result = ADM_OK;
    size_t k = 0;

    a->n_pairs = a->n_tickets = a->n_rules = 0;
    for (size_t i = 0; i < a->n; i++) {
        const adm_scan_t *s = &a->scans[i];

        if (a->results[i].stored && s->verdict == ADM_VERDICT_ACCEPT && s->ticket_id != 0)
            a->pairs[a->n_pairs++] = (pair_t){s->ticket_id, s->list_id};
    }
    qsort(a->pairs, a->n_pairs, sizeof *a->pairs, cmp_pair);
    for (size_t i = 0; i < a->n_pairs; i++) /* distinct pairs only */
        if (k == 0 || cmp_pair(&a->pairs[k - 1], &a->pairs[i]) != 0)
            a->pairs[k++] = a->pairs[i];
    a->n_pairs = k;
    for (size_t i = 0; i < a->n_pairs; i++) {
        if (a->n_tickets == 0 || a->tickets[a->n_tickets - 1] != a->pairs[i].ticket_id)
            a->tickets[a->n_tickets++] = a->pairs[i].ticket_id;
        a->rules[i].list_id = a->pairs[i].list_id;
    }
    qsort(a->rules, a->n_pairs, sizeof *a->rules, cmp_list_rule);
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->n_rules == 0 || a->rules[a->n_rules - 1].list_id != a->rules[i].list_id)
            a->rules[a->n_rules++] = a->rules[i];
    for (size_t i = 0; i < a->n_rules && result == ADM_OK; i++)
        result = list_rule(c, a->event_id, a->rules[i].list_id, &a->rules[i].rule);
    return result;
}

/* Stores the batch under the event's sync lock, then replays every
 * (ticket, list) it added accepted scans to, then notes the uploader. */
static adm_err_t checkins_add_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct checkins_args *a = arg;
    adm_err_t result;
    size_t n_rows = 0, k = 0;

    memset(a->results, 0, a->n * sizeof *a->results); /* from an earlier attempt */
    a->n_flips[0] = a->n_flips[1] = 0;
    if ((result = sync_lock(c, a->event_id)) != ADM_OK)
        goto out;
    /* the leads' stored rows, then the leads without one inserted; one
     * nonce (an online gate's upload) is inserted straight away, a
     * duplicate key then reading the stored row: one statement, not two */
    for (size_t i = 0; i < a->n; i++)
        if (a->lead[i] == i)
            a->rows[n_rows++] = i;
    if (n_rows == 1) {
        if ((result = store_scan(c, a, &a->scans[a->rows[0]], &a->results[a->rows[0]])) != ADM_OK)
            goto out;
    } else {
        if ((result = read_nonces(c, a, a->rows, n_rows)) != ADM_OK)
            goto out;
        for (size_t i = 0; i < n_rows; i++)
            if (a->results[a->rows[i]].seq == 0)
                a->rows[k++] = a->rows[i];
        if ((result = insert_scans(c, a, a->rows, k)) != ADM_OK)
            goto out;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->lead[i] != i) { /* a repeat within the batch answers as a duplicate */
            a->results[i] = a->results[a->lead[i]];
            a->results[i].stored = false;
        }
        a->by_seq[i] = (seq_ref_t){a->results[i].seq, i};
    }
    qsort(a->by_seq, a->n, sizeof *a->by_seq, cmp_seq_ref);
    if ((result = plan_replay(c, a)) != ADM_OK || (result = replay_pairs(c, a)) != ADM_OK)
        goto out;
    if (a->uploader[0] != '\0') { /* no row changes unless the uploader is a device */
        if ((result = use(c, Q_DEVICE_SEEN)) != ADM_OK)
            goto out;
        pi(c, a->now);
        pt(c, a->uploader);
        result = run(c, NULL);
    }
out:
    return result;
}

adm_err_t adm_sql_checkins_add(void *be, int64_t event_id, const char *uploader,
                               const adm_scan_t *scans, size_t n, bool upstream_done, int64_t now,
                               adm_checkin_result_t *results)
{
    struct checkins_args a = {.event_id = event_id,
                              .uploader = uploader,
                              .scans = scans,
                              .n = n,
                              .upstream_done = upstream_done,
                              .now = now,
                              .results = results};
    size_t cap = n > 0 ? n : 1;
    adm_err_t result = ADM_ERR_NOMEM;

    a.lead = calloc(cap, sizeof *a.lead);
    a.by_nonce = calloc(cap, sizeof *a.by_nonce);
    a.rows = calloc(cap, sizeof *a.rows);
    a.by_seq = calloc(cap, sizeof *a.by_seq);
    a.pairs = calloc(cap, sizeof *a.pairs);
    a.tickets = calloc(cap, sizeof *a.tickets);
    a.rules = calloc(cap, sizeof *a.rules);
    a.flips[0] = calloc(2 * REPLAY_PAGE, sizeof *a.flips[0]);
    if (a.lead != NULL && a.by_nonce != NULL && a.rows != NULL && a.by_seq != NULL &&
        a.pairs != NULL && a.tickets != NULL && a.rules != NULL && a.flips[0] != NULL) {
        a.flips[1] = a.flips[0] + REPLAY_PAGE;
        index_nonces(&a);
        result = run_durable(be, checkins_add_body, &a);
    }
    if (result != ADM_OK)
        memset(results, 0, n * sizeof *results);
    free(a.lead);
    free(a.by_nonce);
    free(a.rows);
    free(a.by_seq);
    free(a.pairs);
    free(a.tickets);
    free(a.rules);
    free(a.flips[0]);
    return result;
}

static adm_err_t rd_checkin(adm_sql_t *c, void *e)
{
    adm_checkin_t *r = e;
    char dir[16], verdict[32];

    r->seq = ci(c, 0);
    r->event_id = ci(c, 1);
    ct(c, 2, r->nonce, sizeof r->nonce);
    ct(c, 3, r->device, sizeof r->device);
    ct(c, 4, r->uploader, sizeof r->uploader);
    r->ticket_id = ci(c, 5);
    r->list_id = ci(c, 6);
    r->at = ci(c, 7);
    ct(c, 8, r->gate, sizeof r->gate);
    ct(c, 9, dir, sizeof dir);
    ct(c, 10, verdict, sizeof verdict);
    ct(c, 11, r->reason, sizeof r->reason);
    r->attention = ci(c, 12) != 0;
    ct(c, 13, r->text_hash, sizeof r->text_hash);
    r->conflict = ci(c, 14) != 0;
    r->upstream_done = ci(c, 15) != 0;
    r->received_at = ci(c, 16);
    if (!adm_direction_parse(dir, &r->direction) || !adm_verdict_parse(verdict, &r->verdict))
        return ADM_ERR_STORE;
    return take_bad(c);
}

struct checkins_list_args {
    const adm_checkin_query_t *q;
    adm_checkin_t **rows;
    size_t *n;
};

/* Picks the statement whose index serves the query's main filter: one
 * ticket's scans, the upload queue, the accepted feed (conflicts are
 * accepted entries), or all. */
static adm_err_t checkins_list_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct checkins_list_args *a = arg;
    const adm_checkin_query_t *q = a->q;
    adm_err_t result;

    free(*a->rows); /* from an earlier attempt */
    *a->rows = NULL;
    *a->n = 0;
    if (q->ticket_id > 0) {
        if ((result = use(c, Q_CHECKINS_TICKET)) != ADM_OK)
            goto out;
        pi(c, q->event_id);
        pi(c, q->ticket_id);
        pi(c, q->after_seq);
        pi(c, q->accepted_only);
        pt(c, accept_name());
        pi(c, q->conflicts_only);
        pi(c, q->upstream_pending);
    } else if (q->upstream_pending) {
        if ((result = use(c, Q_CHECKINS_PENDING)) != ADM_OK)
            goto out;
        pi(c, q->event_id);
        pi(c, q->after_seq);
        pi(c, q->accepted_only);
        pt(c, accept_name());
        pi(c, q->conflicts_only);
    } else if (q->accepted_only || q->conflicts_only) {
        if ((result = use(c, Q_CHECKINS_ACCEPTED)) != ADM_OK)
            goto out;
        pi(c, q->event_id);
        pt(c, accept_name());
        pi(c, q->after_seq);
        pi(c, q->conflicts_only);
        pt(c, q->not_uploader);
        pt(c, q->not_uploader);
    } else {
        if ((result = use(c, Q_CHECKINS)) != ADM_OK)
            goto out;
        pi(c, q->event_id);
        pi(c, q->after_seq);
    }
    pi(c, (int64_t)q->limit);
    result = read_all(c, rd_checkin, sizeof **a->rows, q->limit, false, (void **)a->rows, a->n);
out:
    return result;
}

adm_err_t adm_sql_checkins_list(void *be, adm_read_t rd, const adm_checkin_query_t *q,
                                adm_checkin_t **rows, size_t *n)
{
    struct checkins_list_args a = {.q = q, .rows = rows, .n = n};

    return run_read(be, rd, checkins_list_body, &a);
}

struct seq_args {
    int64_t event_id;
    int64_t *seq;
    const int64_t *seqs;
    size_t n;
};

static adm_err_t checkins_last_seq_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct seq_args *a = arg;
    adm_err_t result;
    bool found;

    *a->seq = 0;
    if ((result = use(c, Q_CHECKIN_LAST_SEQ)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    pt(c, accept_name());
    result = one_int(c, a->seq, &found);
out:
    return result;
}

adm_err_t adm_sql_checkins_last_seq(void *be, adm_read_t rd, int64_t event_id, int64_t *seq)
{
    struct seq_args a = {.event_id = event_id, .seq = seq};

    return run_read(be, rd, checkins_last_seq_body, &a);
}

static adm_err_t checkins_mark_upstream_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct seq_args *a = arg;
    adm_err_t result = ADM_OK;

    for (size_t i = 0; i < a->n && result == ADM_OK; i++) {
        if ((result = use(c, Q_CHECKIN_MARK_UPSTREAM)) != ADM_OK)
            break;
        pi(c, a->seqs[i]);
        result = run(c, NULL);
    }
    return result;
}

adm_err_t adm_sql_checkins_mark_upstream(void *be, const int64_t *seqs, size_t n)
{
    struct seq_args a = {.seqs = seqs, .n = n};

    return run_write(be, checkins_mark_upstream_body, &a);
}

struct stats_args {
    int64_t event_id;
    adm_checkin_stats_row_t **rows;
    size_t *n;
};

/* Appends a zeroed row for list_id and gate to *rows. */
static adm_err_t stats_push(adm_checkin_stats_row_t **rows, size_t *n, size_t *cap, int64_t list_id,
                            const char *gate)
{
    adm_err_t result = grow((void **)rows, cap, *n, sizeof **rows, ADM_STORE_STATS_ROWS_MAX);

    if (result == ADM_OK) {
        memset(&(*rows)[*n], 0, sizeof **rows);
        (*rows)[*n].list_id = list_id;
        snprintf((*rows)[*n].gate, sizeof(*rows)[*n].gate, "%s", gate);
        (*n)++;
    }
    return result;
}

static void stats_add(adm_checkin_stats_row_t *r, adm_verdict_t v, adm_direction_t d, int64_t count,
                      int64_t conflicts)
{
    if (v != ADM_VERDICT_ACCEPT)
        r->refused[v] += count;
    else if (d == ADM_DIRECTION_ENTRY) {
        r->admitted += count;
        r->conflicts += conflicts;
    } else
        r->exits += count;
}

/* Counts by (list, gate, verdict, direction) in one aggregate, ordered by
 * list then gate, folded into a total row per list and a row per gate; then
 * the tickets inside per list, in a second aggregate. */
static adm_err_t checkin_stats_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct stats_args *a = arg;
    adm_checkin_stats_row_t *rows = NULL;
    char gate[ADM_STORE_GATE_MAX + 1], verdict[32], dir[16];
    size_t n = 0, cap = 0, total = 0, at_gate = 0;
    adm_verdict_t v;
    adm_direction_t d;
    adm_err_t result;
    bool row;

    free(*a->rows); /* from an earlier attempt */
    *a->rows = NULL;
    *a->n = 0;
    if ((result = use(c, Q_CHECKIN_COUNTS)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        int64_t list_id = ci(c, 0);

        ct(c, 1, gate, sizeof gate);
        ct(c, 2, verdict, sizeof verdict);
        ct(c, 3, dir, sizeof dir);
        if ((result = take_bad(c)) != ADM_OK)
            break;
        if (!adm_verdict_parse(verdict, &v) || !adm_direction_parse(dir, &d)) {
            result = ADM_ERR_STORE;
            break;
        }
        if (n == 0 || rows[total].list_id != list_id) {
            if ((result = stats_push(&rows, &n, &cap, list_id, "")) != ADM_OK)
                break;
            total = n - 1;
            at_gate = total;
        }
        if (at_gate == total || strcmp(rows[at_gate].gate, gate) != 0) {
            if ((result = stats_push(&rows, &n, &cap, list_id, gate)) != ADM_OK)
                break;
            at_gate = n - 1;
        }
        stats_add(&rows[total], v, d, ci(c, 4), ci(c, 5));
        stats_add(&rows[at_gate], v, d, ci(c, 4), ci(c, 5));
    }
    done(c);
    if (result != ADM_OK || n == 0)
        goto out;
    if ((result = use(c, Q_CHECKIN_INSIDE)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    pt(c, accept_name());
    pt(c, adm_direction_name(ADM_DIRECTION_ENTRY));
    pt(c, accept_name());
    if ((result = exec(c)) != ADM_OK)
        goto out;
    while ((result = step(c, &row)) == ADM_OK && row) {
        int64_t list_id = ci(c, 0);
        for (size_t i = 0; i < n; i++)
            if (rows[i].list_id == list_id && rows[i].gate[0] == '\0')
                rows[i].inside = ci(c, 1);
    }
    done(c);
out:
    if (result != ADM_OK || n == 0) {
        free(rows);
        rows = NULL;
        n = 0;
    }
    *a->rows = rows;
    *a->n = n;
    return result;
}

adm_err_t adm_sql_checkin_stats(void *be, adm_read_t rd, int64_t event_id,
                                adm_checkin_stats_row_t **rows, size_t *n)
{
    struct stats_args a = {.event_id = event_id, .rows = rows, .n = n};

    return run_read(be, rd, checkin_stats_body, &a);
}

/* ---- edge mirror of an upstream event ---- */

struct mirror_args {
    int64_t event_id;
    const char *header;
    const adm_revocation_t *revs;
    size_t n;
    int64_t revocations_cursor, checkins_cursor;
    int64_t now;
    adm_mirror_t *out;
};

static adm_err_t mirror_put_header_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct mirror_args *a = arg;
    adm_err_t result;

    if ((result = use(c, Q_MIRROR_PUT)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    pt(c, a->header);
    pi(c, a->now);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_mirror_put_header(void *be, int64_t event_id, const char *header, int64_t now)
{
    struct mirror_args a = {.event_id = event_id, .header = header, .now = now};

    return run_write(be, mirror_put_header_body, &a);
}

static adm_err_t mirror_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct mirror_args *a = arg;
    adm_mirror_t *m = a->out;
    const void *text;
    adm_err_t result;
    size_t len;
    bool row;

    adm_store_mirror_clear(m); /* from an earlier attempt */
    if ((result = use(c, Q_MIRROR_GET)) != ADM_OK)
        goto out;
    pi(c, a->event_id);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) != ADM_OK)
        goto done;
    if (!row) {
        result = ADM_ERR_NOT_FOUND;
        goto done;
    }
    m->event_id = ci(c, 0);
    text = cb(c, 1, &len);
    m->revocations_cursor = ci(c, 2);
    m->checkins_cursor = ci(c, 3);
    m->updated = ci(c, 4);
    if ((result = take_bad(c)) != ADM_OK)
        goto done;
    if (len > ADM_STORE_MIRROR_HEADER_MAX) {
        result = ADM_ERR_STORE;
        goto done;
    }
    if ((m->header = malloc(len + 1)) == NULL) {
        result = ADM_ERR_NOMEM;
        goto done;
    }
    memcpy(m->header, text, len);
    m->header[len] = '\0';
done:
    done(c);
out:
    if (result != ADM_OK)
        adm_store_mirror_clear(m);
    return result;
}

adm_err_t adm_sql_mirror_get(void *be, int64_t event_id, adm_mirror_t *out)
{
    struct mirror_args a = {.event_id = event_id, .out = out};

    return run_read(be, ADM_READ_HINT_PRIMARY, mirror_get_body, &a);
}

static adm_err_t mirror_advance_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct mirror_args *a = arg;
    adm_err_t result;

    /* the mirror row stays locked, so two advances apply one after the other */
    if ((result = exists(c, Q_MIRROR_LOCK, a->event_id)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < a->n; i++) {
        if ((result = use(c, Q_MIRROR_REV_INSERT)) != ADM_OK)
            goto out;
        pi(c, a->event_id);
        pi(c, a->revs[i].seq);
        pi(c, a->revs[i].ticket_id);
        pi(c, a->revs[i].revoked_at);
        if ((result = run(c, NULL)) == ADM_ERR_EXISTS)
            result = ADM_OK; /* a seq already mirrored */
        if (result != ADM_OK)
            goto out;
    }
    if ((result = use(c, Q_MIRROR_CURSORS)) != ADM_OK)
        goto out;
    pi(c, a->revocations_cursor);
    pi(c, a->revocations_cursor);
    pi(c, a->checkins_cursor);
    pi(c, a->checkins_cursor);
    pi(c, a->now);
    pi(c, a->event_id);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_mirror_advance(void *be, int64_t event_id, const adm_revocation_t *revs, size_t n,
                                 int64_t revocations_cursor, int64_t checkins_cursor, int64_t now)
{
    struct mirror_args a = {.event_id = event_id,
                            .revs = revs,
                            .n = n,
                            .revocations_cursor = revocations_cursor,
                            .checkins_cursor = checkins_cursor,
                            .now = now};

    return run_write(be, mirror_advance_body, &a);
}

adm_err_t adm_sql_mirror_revocations_since(void *be, int64_t event_id, int64_t after_seq,
                                           size_t limit, adm_revocation_t **revs, size_t *n)
{
    struct list_args a = {.check_q = -1,
                          .q = Q_MIRROR_REVS,
                          .p1 = event_id,
                          .p2 = after_seq,
                          .p3 = (int64_t)limit,
                          .n_args = 3,
                          .reader = rd_revocation,
                          .elem = sizeof **revs,
                          .max = limit,
                          .arr = (void **)revs,
                          .n = n};

    return run_read(be, ADM_READ_HINT_PRIMARY, list_body, &a);
}

/* ---- key/value settings ---- */

struct setting_args {
    const char *key, *value;
    char *out;
    size_t cap;
};

static adm_err_t setting_put_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct setting_args *a = arg;
    adm_err_t result;

    if ((result = use(c, Q_SETTING_PUT)) != ADM_OK)
        goto out;
    pt(c, a->key);
    pt(c, a->value);
    result = run(c, NULL);
out:
    return result;
}

adm_err_t adm_sql_setting_put(void *be, const char *key, const char *value)
{
    struct setting_args a = {.key = key, .value = value};

    return run_durable(be, setting_put_body, &a);
}

static adm_err_t setting_get_body(adm_sql_t *c, void *arg, bool *keep)
{
    struct setting_args *a = arg;
    char value[ADM_STORE_SETTING_VALUE_MAX + 1] = "";
    adm_err_t result;
    size_t len;
    bool row;

    a->out[0] = '\0';
    if ((result = use(c, Q_SETTING_GET)) != ADM_OK)
        goto out;
    pt(c, a->key);
    if ((result = exec(c)) != ADM_OK)
        goto out;
    if ((result = step(c, &row)) == ADM_OK && !row)
        result = ADM_ERR_NOT_FOUND;
    if (result == ADM_OK)
        ct(c, 0, value, sizeof value);
    done(c);
    if (result != ADM_OK || (result = take_bad(c)) != ADM_OK)
        goto out;
    len = strlen(value);
    if (len >= a->cap) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    memcpy(a->out, value, len + 1);
out:
    return result;
}

adm_err_t adm_sql_setting_get(void *be, const char *key, char *out, size_t cap)
{
    struct setting_args a = {.key = key, .out = out, .cap = cap};

    return run_read(be, ADM_READ_HINT_PRIMARY, setting_get_body, &a);
}
