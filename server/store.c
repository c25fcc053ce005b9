/* store.c: the backend-neutral half of the store: checks and normalises every
 * argument once, then dispatches through the backend's ops table
 * (store-impl.h), counting and timing each call for the metrics.
 * No SQL here; each backend file owns its queries. */
#include "server/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "server/store-impl.h"
#include "sync/keyring.h"

struct adm_store {
    const adm_store_ops_t *ops;
    void *be;
    /* set by adm_store_set_metrics() before the store is shared; NULL = off */
    adm_counter_t *m_queries;       /* admit_store_queries_total{backend,role} */
    adm_counter_t *m_ops;           /* admit_store_operations_total{backend,op,result} */
    adm_histogram_t *m_op_duration; /* admit_store_operation_duration_seconds{backend,op} */
};

/* ---- metrics ---- */

/* adm_store_hooks_t.note_query: ctx is the adm_store_t. */
static void note_query(void *ctx, adm_store_role_t role)
{
    adm_store_t *st = ctx;
    const char *labels[2];

    if (st->m_queries == NULL)
        return;
    labels[0] = st->ops->name;
    labels[1] = role == ADM_STORE_ROLE_REPLICA ? "replica" : "primary";
    adm_counter_inc(st->m_queries, labels);
}

/* Monotonic nanoseconds when the store records metrics, else 0 (no clock read). */
static uint64_t op_start(const adm_store_t *st)
{
    struct timespec ts;

    if (st->m_ops == NULL)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Counts and times one backend call that started at t0 (op_start()). */
static void op_done(adm_store_t *st, const char *op, uint64_t t0, adm_err_t result)
{
    const char *labels[3];
    uint64_t t1;

    if (st->m_ops == NULL)
        return;
    t1 = op_start(st);
    labels[0] = st->ops->name;
    labels[1] = op;
    labels[2] = adm_err_name(result); /* "ok", "sold_out", "store_unavailable", ... */
    adm_counter_inc(st->m_ops, labels);
    adm_histogram_observe(st->m_op_duration, labels, t1 > t0 ? (double)(t1 - t0) / 1e9 : 0.0);
}

/* result = backend op `op` of st with the arguments after st->be, counted and
 * timed under the op's name in the ops table ("hold_create", "order_get"). */
#define BACKEND(result, st, op, ...)                                                               \
    do {                                                                                           \
        uint64_t t0_ = op_start(st);                                                               \
        (result) = (st)->ops->op((st)->be, __VA_ARGS__);                                           \
        op_done((st), #op, t0_, (result));                                                         \
    } while (0)

adm_err_t adm_store_set_metrics(adm_store_t *st, adm_metrics_t *m)
{
    static const char *const query_labels[] = {"backend", "role"};
    static const char *const op_labels[] = {"backend", "op", "result"};
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_counter_t *queries = NULL, *ops = NULL;
    adm_histogram_t *duration = NULL;

    if (st == NULL)
        goto out;
    result = ADM_OK;
    if (m != NULL &&
        ((result = adm_metrics_counter(m, "admit_store_queries_total",
                                       "Store transaction attempts, by backend and the role of "
                                       "the database server that ran them.",
                                       2, query_labels, &queries)) != ADM_OK ||
         (result = adm_metrics_counter(m, "admit_store_operations_total",
                                       "Store operations, by backend, operation and result.", 3,
                                       op_labels, &ops)) != ADM_OK ||
         (result = adm_metrics_histogram(m, "admit_store_operation_duration_seconds",
                                         "Time a store operation took, retries included, by "
                                         "backend and operation.",
                                         2, op_labels, ADM_METRICS_LATENCY_BUCKETS,
                                         ADM_METRICS_LATENCY_N_BUCKETS, &duration)) != ADM_OK)) {
        queries = ops = NULL; /* all or nothing */
        duration = NULL;
    }
    st->m_queries = queries;
    st->m_ops = ops;
    st->m_op_duration = duration;
out:
    return result;
}

/* ---- argument checks ---- */

/* Length of s if it is at most max bytes, else max + 1. */
static size_t bounded_len(const char *s, size_t max)
{
    return strnlen(s, max + 1);
}

typedef enum controls {
    CONTROLS_NONE,   /* one line of text */
    CONTROLS_TAB_NL, /* text that may hold \t and \n */
    CONTROLS_ANY,    /* any well-formed UTF-8 (JSON documents) */
} controls_t;

/* Checks that s[0..len) is well-formed UTF-8 without the control characters
 * that controls forbids. */
static bool utf8_ok(const char *s, size_t len, controls_t controls)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    bool result = false;

    while (p < end) {
        unsigned c = *p;
        size_t need;
        uint32_t cp;

        if (c < 0x80) {
            if ((c < 0x20 || c == 0x7f) && controls != CONTROLS_ANY &&
                !(controls == CONTROLS_TAB_NL && (c == '\n' || c == '\t')))
                goto out;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            goto out;
        }
        if ((size_t)(end - p) <= need)
            goto out;
        for (size_t i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                goto out;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f && controls != CONTROLS_ANY))
            goto out;
        p += need + 1;
    }
    result = true;
out:
    return result;
}

/* Checks that s[0..len) is well-formed UTF-8 without control characters
 * (\t and \n allowed when multiline). */
static bool text_ok(const char *s, size_t len, bool multiline)
{
    return utf8_ok(s, len, multiline ? CONTROLS_TAB_NL : CONTROLS_NONE);
}

/* A user-visible string field: NULL is accepted (as "") unless required. */
static adm_err_t check_text(const char *s, size_t max, bool required, bool multiline)
{
    adm_err_t result = ADM_OK;
    size_t len;

    if (s == NULL) {
        result = required ? ADM_ERR_INVALID_ARG : ADM_OK;
        goto out;
    }
    len = bounded_len(s, max);
    if (len > max)
        result = ADM_ERR_TOO_BIG;
    else if ((required && len == 0) || !text_ok(s, len, multiline))
        result = ADM_ERR_INVALID_ARG;
out:
    return result;
}

/* A machine string: printable ASCII without spaces, 1..max bytes. */
static adm_err_t check_word(const char *s, size_t max)
{
    adm_err_t result = ADM_OK;
    size_t len;

    if (s == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    len = bounded_len(s, max);
    if (len > max) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0)
        result = ADM_ERR_INVALID_ARG;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            result = ADM_ERR_INVALID_ARG;
out:
    return result;
}

static bool currency_ok(const char *c)
{
    return c != NULL && strlen(c) == ADM_STORE_CURRENCY_LEN && c[0] >= 'A' && c[0] <= 'Z' &&
           c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z';
}

static adm_err_t check_read(adm_read_t rd)
{
    adm_err_t result = ADM_OK;

    if (rd.mode == ADM_READ_AFTER) {
        if (rd.gtid == NULL)
            result = ADM_ERR_INVALID_ARG;
        else if (bounded_len(rd.gtid, ADM_STORE_GTID_MAX) > ADM_STORE_GTID_MAX)
            result = ADM_ERR_TOO_BIG;
    } else if (rd.mode != ADM_READ_ANY && rd.mode != ADM_READ_PRIMARY) {
        result = ADM_ERR_INVALID_ARG;
    }
    return result;
}

static bool hold_id_ok(const char *id)
{
    bool result = id != NULL && bounded_len(id, ADM_STORE_HOLD_ID_LEN) == ADM_STORE_HOLD_ID_LEN;

    for (size_t i = 0; result && i < ADM_STORE_HOLD_ID_LEN; i++)
        result = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
    return result;
}

/* Copies s with ASCII letters lower-cased; checks it looks like an address. */
static adm_err_t normalise_email(const char *s, char out[ADM_STORE_EMAIL_MAX + 1])
{
    adm_err_t result = check_text(s, ADM_STORE_EMAIL_MAX, true, false);
    const char *at;
    size_t len;

    if (result != ADM_OK)
        goto out;
    len = strlen(s);
    at = strchr(s, '@');
    if (at == NULL || at == s || at == s + len - 1 || strchr(at + 1, '@') != NULL ||
        strchr(s, ' ') != NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    for (size_t i = 0; i <= len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
out:
    return result;
}

static const char code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* "a7k3-9qxm" or "A7K39QXM" -> "A7K3-9QXM" (Crockford: O reads as 0, I and L as 1). */
static adm_err_t normalise_code(const char *s, char out[ADM_STORE_ORDER_CODE_LEN + 1])
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t n = 0;

    if (s == NULL || bounded_len(s, 16) > 16)
        goto out;
    for (; *s; s++) {
        int c = toupper((unsigned char)*s);
        if (c == '-')
            continue;
        if (c == 'O')
            c = '0';
        else if (c == 'I' || c == 'L')
            c = '1';
        if (strchr(code_alphabet, c) == NULL || n == 8)
            goto out;
        out[n < 4 ? n : n + 1] = (char)c;
        n++;
    }
    if (n != 8)
        goto out;
    out[4] = '-';
    out[ADM_STORE_ORDER_CODE_LEN] = '\0';
    result = ADM_OK;
out:
    return result;
}

static adm_err_t check_venue(const adm_venue_spec_t *v)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (v == NULL || v->capacity < 0 || v->capacity > ADM_STORE_CAPACITY_MAX)
        goto out;
    if ((result = check_text(v->name, ADM_STORE_NAME_MAX, true, false)) != ADM_OK ||
        (result = check_text(v->city, ADM_STORE_CITY_MAX, true, false)) != ADM_OK ||
        (result = check_text(v->address, ADM_STORE_ADDRESS_MAX, false, true)) != ADM_OK)
        goto out;
out:
    return result;
}

static adm_err_t check_event(const adm_event_spec_t *e)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (e == NULL || e->starts_at <= 0 || e->ends_at < e->starts_at)
        goto out;
    if ((result = check_text(e->title, ADM_STORE_TITLE_MAX, true, false)) != ADM_OK ||
        (result = check_text(e->city, ADM_STORE_CITY_MAX, false, false)) != ADM_OK ||
        (result = check_text(e->category, ADM_STORE_CATEGORY_MAX, false, false)) != ADM_OK ||
        (result = check_text(e->description, ADM_STORE_DESCRIPTION_MAX, false, true)) != ADM_OK)
        goto out;
out:
    return result;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static adm_err_t check_type(const adm_ticket_type_spec_t *t)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (t == NULL || t->price < 0 || t->price > ADM_STORE_PRICE_MAX || t->capacity < 0 ||
        t->capacity > ADM_STORE_CAPACITY_MAX || t->per_order_max < 1 ||
        t->per_order_max > ADM_STORE_QUANTITY_MAX || t->per_customer_max < 0 ||
        t->sale_starts < 0 || t->sale_ends < 0 ||
        (t->sale_ends != 0 && t->sale_ends <= t->sale_starts) || !currency_ok(t->currency))
        goto out;
    if ((result = check_text(t->name, ADM_STORE_NAME_MAX, true, false)) != ADM_OK)
        goto out;
    result = check_text(or_empty(t->zone), ADM_STORE_ZONE_MAX, false, false);
out:
    return result;
}

/* ---- lifecycle ---- */

adm_err_t adm_store_open(const adm_store_config_t *cfg, adm_store_t **out)
{
    adm_err_t result = ADM_OK;
    adm_store_t *st = NULL;
    adm_store_hooks_t hooks;

    if (out == NULL || cfg == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    *out = NULL;
    if (cfg->pool_size < 0 || cfg->pool_size > 256 || cfg->n_replicas > ADM_STORE_MAX_REPLICAS ||
        cfg->replica_max_lag_s < 0) {
        result = ADM_ERR_CONFIG;
        goto out;
    }
    if ((result = adm_crypto_init()) != ADM_OK)
        goto out;
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    switch (cfg->backend) {
    case ADM_STORE_SQLITE:
        st->ops = &adm_store_sqlite_ops;
        break;
#ifdef ADM_HAVE_STORE_MYSQL
    case ADM_STORE_MYSQL:
        st->ops = &adm_store_mysql_ops;
        break;
#endif
    default:
        result = ADM_ERR_CONFIG; /* unknown, or not built in */
        goto out;
    }
    hooks = (adm_store_hooks_t){.note_query = note_query, .ctx = st}; /* copied by open */
    if ((result = st->ops->open(cfg, &hooks, &st->be)) != ADM_OK)
        goto out;
    *out = st;
    st = NULL;
out:
    free(st);
    return result;
}

void adm_store_close(adm_store_t *st)
{
    if (st == NULL)
        return;
    st->ops->close(st->be);
    free(st);
}

adm_err_t adm_store_ping(adm_store_t *st)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    uint64_t t0;

    if (st == NULL)
        goto out;
    t0 = op_start(st);
    result = st->ops->ping(st->be);
    op_done(st, "ping", t0, result);
out:
    return result;
}

const char *adm_store_backend_name(const adm_store_t *st)
{
    return st ? st->ops->name : "none";
}

adm_err_t adm_store_write_position(adm_store_t *st, char *out, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || out == NULL || cap == 0)
        goto out;
    out[0] = '\0';
    BACKEND(result, st, write_position, out, cap);
    if (result != ADM_OK)
        out[0] = '\0';
out:
    return result;
}

adm_err_t adm_store_schema_version(adm_store_t *st, int *version)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || version == NULL)
        goto out;
    *version = 0;
    BACKEND(result, st, schema_version, version);
out:
    return result;
}

/* ---- catalog ---- */

adm_err_t adm_store_venue_create(adm_store_t *st, const adm_venue_spec_t *spec, int64_t now,
                                 int64_t *id)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_venue_spec_t v;

    if (st == NULL || id == NULL || now <= 0)
        goto out;
    *id = 0;
    if ((result = check_venue(spec)) != ADM_OK)
        goto out;
    v = *spec;
    v.address = or_empty(v.address);
    BACKEND(result, st, venue_create, &v, now, id);
out:
    return result;
}

adm_err_t adm_store_venue_update(adm_store_t *st, int64_t id, const adm_venue_spec_t *spec,
                                 int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_venue_spec_t v;

    if (st == NULL || id <= 0 || now <= 0)
        goto out;
    if ((result = check_venue(spec)) != ADM_OK)
        goto out;
    v = *spec;
    v.address = or_empty(v.address);
    BACKEND(result, st, venue_update, id, &v, now);
out:
    return result;
}

adm_err_t adm_store_venue_get(adm_store_t *st, adm_read_t rd, int64_t id, adm_venue_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, venue_get, rd, id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

static void event_defaults(adm_event_spec_t *e)
{
    e->city = or_empty(e->city);
    e->category = or_empty(e->category);
    e->description = or_empty(e->description);
}

adm_err_t adm_store_event_create(adm_store_t *st, const adm_event_spec_t *spec, int64_t now,
                                 int64_t *id)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_event_spec_t e;

    if (st == NULL || id == NULL || now <= 0)
        goto out;
    *id = 0;
    if ((result = check_event(spec)) != ADM_OK)
        goto out;
    if (spec->venue_id <= 0) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    e = *spec;
    event_defaults(&e);
    BACKEND(result, st, event_create, &e, now, id);
out:
    return result;
}

adm_err_t adm_store_event_update(adm_store_t *st, int64_t id, const adm_event_spec_t *spec,
                                 int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_event_spec_t e;

    if (st == NULL || id <= 0 || now <= 0)
        goto out;
    if ((result = check_event(spec)) != ADM_OK)
        goto out;
    e = *spec;
    event_defaults(&e);
    BACKEND(result, st, event_update, id, &e, now);
out:
    return result;
}

adm_err_t adm_store_event_set_status(adm_store_t *st, int64_t id, adm_event_status_t status,
                                     int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || id <= 0 || now <= 0 || (unsigned)status > ADM_EVENT_ENDED)
        goto out;
    BACKEND(result, st, event_set_status, id, status, now);
out:
    return result;
}

adm_err_t adm_store_event_get(adm_store_t *st, adm_read_t rd, int64_t id, adm_event_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, event_get, rd, id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

/* "%" + text with %, _ and the escape character escaped + "%" */
static void like_pattern(const char *text, char *out)
{
    size_t n = 0;

    out[n++] = '%';
    for (; *text; text++) {
        if (*text == '%' || *text == '_' || *text == ADM_STORE_LIKE_ESCAPE)
            out[n++] = ADM_STORE_LIKE_ESCAPE;
        out[n++] = *text;
    }
    out[n++] = '%';
    out[n] = '\0';
}

adm_err_t adm_store_event_search(adm_store_t *st, adm_read_t rd, const adm_event_query_t *q,
                                 adm_event_t **events, size_t *n, adm_event_cursor_t *next)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char pattern[2 * ADM_STORE_SEARCH_TEXT_MAX + 3];
    adm_event_query_t nq;

    if (events != NULL)
        *events = NULL;
    if (n != NULL)
        *n = 0;
    if (next != NULL)
        memset(next, 0, sizeof *next);
    if (st == NULL || q == NULL || events == NULL || n == NULL || next == NULL ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    result = ADM_ERR_INVALID_ARG;
    if (q->limit > ADM_STORE_PAGE_MAX || q->starts_from < 0 || q->starts_before < 0 ||
        q->after.id < 0)
        goto out;
    if ((result = check_text(q->city, ADM_STORE_CITY_MAX, false, false)) != ADM_OK ||
        (result = check_text(q->category, ADM_STORE_CATEGORY_MAX, false, false)) != ADM_OK ||
        (result = check_text(q->text, ADM_STORE_SEARCH_TEXT_MAX, false, false)) != ADM_OK)
        goto out;
    nq = *q;
    if (nq.limit == 0)
        nq.limit = ADM_STORE_PAGE_DEFAULT;
    if (nq.city != NULL && nq.city[0] == '\0')
        nq.city = NULL;
    if (nq.category != NULL && nq.category[0] == '\0')
        nq.category = NULL;
    if (nq.text != NULL && nq.text[0] != '\0') {
        like_pattern(nq.text, pattern);
        nq.text = pattern;
    } else {
        nq.text = NULL;
    }
    BACKEND(result, st, event_search, rd, &nq, events, n, next);
    if (result != ADM_OK) {
        free(*events);
        *events = NULL;
        *n = 0;
        memset(next, 0, sizeof *next);
    }
out:
    return result;
}

adm_err_t adm_store_ticket_type_create(adm_store_t *st, const adm_ticket_type_spec_t *spec,
                                       int64_t now, int64_t *id)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_ticket_type_spec_t norm;

    if (st == NULL || id == NULL || now <= 0)
        goto out;
    *id = 0;
    if ((result = check_type(spec)) != ADM_OK)
        goto out;
    if (spec->event_id <= 0) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    norm = *spec;
    norm.zone = or_empty(spec->zone);
    BACKEND(result, st, type_create, &norm, now, id);
out:
    return result;
}

adm_err_t adm_store_ticket_type_update(adm_store_t *st, int64_t id,
                                       const adm_ticket_type_spec_t *spec, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_ticket_type_spec_t norm;

    if (st == NULL || id <= 0 || now <= 0)
        goto out;
    if ((result = check_type(spec)) != ADM_OK)
        goto out;
    norm = *spec;
    norm.zone = or_empty(spec->zone);
    BACKEND(result, st, type_update, id, &norm, now);
out:
    return result;
}

adm_err_t adm_store_ticket_type_get(adm_store_t *st, adm_read_t rd, int64_t id,
                                    adm_ticket_type_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, type_get, rd, id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

/* Runs a list op and keeps the "NULL/0 on failure" promise whatever the backend did. */
#define LIST_GUARD(result, list, n)                                                        \
    do {                                                                                   \
        if ((result) != ADM_OK) {                                                          \
            free(*(list));                                                                 \
            *(list) = NULL;                                                                \
            *(n) = 0;                                                                      \
        }                                                                                  \
    } while (0)

#define LIST_INIT(list, n)                                                                 \
    do {                                                                                   \
        if ((list) != NULL)                                                                \
            *(list) = NULL;                                                                \
        if ((n) != NULL)                                                                   \
            *(n) = 0;                                                                      \
    } while (0)

adm_err_t adm_store_ticket_type_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                     adm_ticket_type_t **types, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(types, n);
    if (st == NULL || types == NULL || n == NULL || event_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, type_list, rd, event_id, types, n);
    LIST_GUARD(result, types, n);
out:
    return result;
}

adm_err_t adm_store_availability(adm_store_t *st, adm_read_t rd, int64_t type_id,
                                 adm_availability_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || type_id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, availability, rd, type_id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

/* ---- holds ---- */

adm_err_t adm_store_hold_create(adm_store_t *st, int64_t user_id, int64_t type_id,
                                int32_t quantity, int32_t ttl_s, int64_t now, adm_hold_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char id[ADM_STORE_HOLD_ID_LEN + 1];

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || user_id <= 0 || type_id <= 0 || now <= 0 || ttl_s < 1 ||
        ttl_s > ADM_STORE_HOLD_TTL_MAX || quantity < 1)
        goto out;
    if (quantity > ADM_STORE_QUANTITY_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    adm_store_random_hold_id(id);
    BACKEND(result, st, hold_create, id, user_id, type_id, quantity, ttl_s, now, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_hold_get(adm_store_t *st, int64_t user_id, const char *hold_id,
                             adm_hold_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char id[ADM_STORE_HOLD_ID_LEN + 1];
    bool id_ok = hold_id_ok(hold_id);

    /* copied first: refreshing a hold in place passes out->id as hold_id */
    if (id_ok)
        memcpy(id, hold_id, sizeof id);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || user_id <= 0 || hold_id == NULL)
        goto out;
    if (!id_ok) {
        result = ADM_ERR_NOT_FOUND; /* nobody's hold has that id */
        goto out;
    }
    BACKEND(result, st, hold_get, user_id, id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_hold_release(adm_store_t *st, int64_t user_id, const char *hold_id,
                                 int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || user_id <= 0 || hold_id == NULL || now <= 0)
        goto out;
    if (!hold_id_ok(hold_id)) {
        result = ADM_ERR_NOT_FOUND;
        goto out;
    }
    BACKEND(result, st, hold_release, user_id, hold_id, now);
out:
    return result;
}

adm_err_t adm_store_reap_holds(adm_store_t *st, int64_t now, size_t *released)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t holds = 0, orders = 0;

    if (released != NULL)
        *released = 0;
    if (st == NULL || now <= 0)
        goto out;
    BACKEND(result, st, reap_holds, now, &holds, &orders);
    if (released != NULL)
        *released = holds + orders;
out:
    return result;
}

adm_err_t adm_store_reap(adm_store_t *st, int64_t now, adm_reap_stats_t *stats)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_reap_stats_t s = {0};

    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    if (st == NULL || now <= 0)
        goto out;
    BACKEND(result, st, reap_holds, now, &s.holds, &s.orders);
    if (result == ADM_OK)
        BACKEND(result, st, reap_other, now, &s.sessions, &s.idempotency);
    if (stats != NULL)
        *stats = s;
out:
    return result;
}

/* ---- orders and tickets ---- */

adm_err_t adm_store_checkout(adm_store_t *st, int64_t user_id, const char *const *hold_ids,
                             size_t n, int32_t pay_ttl_s, int64_t now, adm_order_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || user_id <= 0 || hold_ids == NULL || n == 0 || now <= 0 ||
        pay_ttl_s < 0 || pay_ttl_s > ADM_STORE_PAY_TTL_MAX)
        goto out;
    if (n > ADM_STORE_ORDER_ITEMS_MAX) {
        result = ADM_ERR_LIMIT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (hold_ids[i] == NULL)
            goto out;
        if (!hold_id_ok(hold_ids[i])) {
            result = ADM_ERR_NOT_FOUND;
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(hold_ids[i], hold_ids[j]) == 0)
                goto out;
    }
    if (pay_ttl_s == 0)
        pay_ttl_s = ADM_STORE_PAY_TTL_DEFAULT;
    BACKEND(result, st, checkout, user_id, hold_ids, n, pay_ttl_s, now, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

static bool provider_ok(const char *p)
{
    bool result = p != NULL && p[0] != '\0' &&
                  bounded_len(p, ADM_STORE_PROVIDER_MAX) <= ADM_STORE_PROVIDER_MAX;

    for (; result && *p; p++)
        result = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
    return result;
}

adm_err_t adm_store_order_pay(adm_store_t *st, int64_t order_id, const char *provider,
                              const char *provider_ref, int64_t now, adm_order_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_order_t scratch;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || order_id <= 0 || now <= 0)
        goto out;
    if (provider != NULL && bounded_len(provider, ADM_STORE_PROVIDER_MAX) > ADM_STORE_PROVIDER_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (!provider_ok(provider))
        goto out;
    if ((result = check_word(provider_ref, ADM_STORE_PROVIDER_REF_MAX)) != ADM_OK)
        goto out;
    memset(&scratch, 0, sizeof scratch);
    BACKEND(result, st, order_pay, order_id, provider, provider_ref, now,
            out != NULL ? out : &scratch);
    if (result != ADM_OK && out != NULL)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_order_extend(adm_store_t *st, int64_t order_id, int64_t expires_at,
                                 int64_t now, adm_order_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_order_t scratch;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || order_id <= 0 || now <= 0 || expires_at <= now ||
        expires_at - now > ADM_STORE_PAY_TTL_MAX)
        goto out;
    memset(&scratch, 0, sizeof scratch);
    BACKEND(result, st, order_extend, order_id, expires_at, now, out != NULL ? out : &scratch);
    if (result != ADM_OK && out != NULL)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_order_cancel(adm_store_t *st, int64_t user_id, int64_t order_id,
                                 int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || user_id < 0 || order_id <= 0 || now <= 0)
        goto out;
    BACKEND(result, st, order_cancel, user_id, order_id, now);
out:
    return result;
}

adm_err_t adm_store_order_refund(adm_store_t *st, int64_t order_id, int64_t now,
                                 size_t *revoked)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t count = 0;

    if (revoked != NULL)
        *revoked = 0;
    if (st == NULL || order_id <= 0 || now <= 0)
        goto out;
    BACKEND(result, st, order_refund, order_id, now, &count);
    if (result == ADM_OK && revoked != NULL)
        *revoked = count;
out:
    return result;
}

adm_err_t adm_store_order_get(adm_store_t *st, adm_read_t rd, int64_t user_id, int64_t order_id,
                              adm_order_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || user_id < 0 || order_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, order_get, rd, user_id, order_id, NULL, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_order_get_by_code(adm_store_t *st, adm_read_t rd, int64_t user_id,
                                      const char *code, adm_order_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char norm[ADM_STORE_ORDER_CODE_LEN + 1];

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || user_id < 0 || code == NULL ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    if (normalise_code(code, norm) != ADM_OK) {
        result = ADM_ERR_NOT_FOUND; /* no order has such a code */
        goto out;
    }
    BACKEND(result, st, order_get, rd, user_id, 0, norm, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_order_list(adm_store_t *st, adm_read_t rd, int64_t user_id,
                               int64_t before_id, size_t limit, adm_order_t **orders,
                               size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(orders, n);
    if (st == NULL || orders == NULL || n == NULL || user_id <= 0 || before_id < 0 ||
        limit > ADM_STORE_PAGE_MAX || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, order_list, rd, user_id, before_id,
            limit ? limit : ADM_STORE_PAGE_DEFAULT, orders, n);
    LIST_GUARD(result, orders, n);
out:
    return result;
}

adm_err_t adm_store_order_tickets(adm_store_t *st, adm_read_t rd, int64_t user_id,
                                  int64_t order_id, adm_store_ticket_t **tickets, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(tickets, n);
    if (st == NULL || tickets == NULL || n == NULL || user_id < 0 || order_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, order_tickets, rd, user_id, order_id, tickets, n);
    LIST_GUARD(result, tickets, n);
out:
    return result;
}

adm_err_t adm_store_ticket_get(adm_store_t *st, adm_read_t rd, int64_t ticket_id,
                               adm_store_ticket_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || ticket_id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, ticket_get, rd, ticket_id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_ticket_set_token(adm_store_t *st, int64_t ticket_id, uint32_t key_id,
                                     const char *token)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t len;

    if (st == NULL || ticket_id <= 0 || key_id == 0 || token == NULL)
        goto out;
    len = bounded_len(token, ADM_TOKEN_TEXT_MAX);
    if (len > ADM_TOKEN_TEXT_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0)
        goto out;
    for (size_t i = 0; i < len; i++)
        if (token[i] < 0x20 || token[i] > 0x7e)
            goto out;
    BACKEND(result, st, ticket_set_token, ticket_id, key_id, token);
out:
    return result;
}

adm_err_t adm_store_ticket_list_unsigned(adm_store_t *st, size_t limit,
                                         adm_store_ticket_t **tickets, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(tickets, n);
    if (st == NULL || tickets == NULL || n == NULL || limit > ADM_STORE_PAGE_MAX)
        goto out;
    BACKEND(result, st, ticket_list_unsigned, limit ? limit : ADM_STORE_PAGE_DEFAULT,
            tickets, n);
    LIST_GUARD(result, tickets, n);
out:
    return result;
}

adm_err_t adm_store_ticket_revoke(adm_store_t *st, int64_t ticket_id, int64_t now,
                                  int64_t *seq)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    int64_t s = 0;

    if (seq != NULL)
        *seq = 0;
    if (st == NULL || ticket_id <= 0 || now <= 0)
        goto out;
    BACKEND(result, st, ticket_revoke, ticket_id, now, &s);
    if (result == ADM_OK && seq != NULL)
        *seq = s;
out:
    return result;
}

adm_err_t adm_store_revocations_since(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                      int64_t after_seq, size_t limit,
                                      adm_revocation_t **revs, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(revs, n);
    if (st == NULL || revs == NULL || n == NULL || event_id <= 0 || after_seq < 0 ||
        limit > ADM_STORE_REVOCATIONS_PAGE_MAX || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, revocations_since, rd, event_id, after_seq,
            limit ? limit : ADM_STORE_REVOCATIONS_PAGE_MAX, revs, n);
    LIST_GUARD(result, revs, n);
out:
    return result;
}

/* ---- accounts ---- */

static adm_err_t check_pwhash(const char *h)
{
    return check_word(h, ADM_STORE_PWHASH_MAX);
}

adm_err_t adm_store_user_create(adm_store_t *st, const adm_user_spec_t *spec, int64_t now,
                                int64_t *id)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char email[ADM_STORE_EMAIL_MAX + 1];
    adm_user_spec_t u;

    if (id != NULL)
        *id = 0;
    if (st == NULL || spec == NULL || id == NULL || now <= 0 ||
        (unsigned)spec->role > ADM_ROLE_ORGANISER)
        goto out;
    if ((result = normalise_email(spec->email, email)) != ADM_OK ||
        (result = check_pwhash(spec->password_hash)) != ADM_OK ||
        (result = check_text(spec->display_name, ADM_STORE_NAME_MAX, false, false)) != ADM_OK)
        goto out;
    u = *spec;
    u.email = email;
    u.display_name = or_empty(u.display_name);
    BACKEND(result, st, user_create, &u, now, id);
out:
    return result;
}

adm_err_t adm_store_user_get(adm_store_t *st, adm_read_t rd, int64_t id, adm_user_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, user_get, rd, id, NULL, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_user_find_email(adm_store_t *st, const char *email, adm_user_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char norm[ADM_STORE_EMAIL_MAX + 1];

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || (result = normalise_email(email, norm)) != ADM_OK)
        goto out;
    BACKEND(result, st, user_get, ADM_READ_HINT_PRIMARY, 0, norm, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_user_set_password(adm_store_t *st, int64_t id, const char *password_hash)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || id <= 0 || (result = check_pwhash(password_hash)) != ADM_OK)
        goto out;
    BACKEND(result, st, user_set_password, id, password_hash);
out:
    return result;
}

static void hash_hex(const uint8_t h[ADM_STORE_SESSION_HASH_BYTES],
                     char out[2 * ADM_STORE_SESSION_HASH_BYTES + 1])
{
    sodium_bin2hex(out, 2 * ADM_STORE_SESSION_HASH_BYTES + 1, h, ADM_STORE_SESSION_HASH_BYTES);
}

adm_err_t adm_store_session_create(adm_store_t *st,
                                   const uint8_t token_hash[ADM_STORE_SESSION_HASH_BYTES],
                                   int64_t user_id, int64_t now, int64_t expires_at)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char hex[2 * ADM_STORE_SESSION_HASH_BYTES + 1];

    if (st == NULL || token_hash == NULL || user_id <= 0 || now <= 0 || expires_at <= now)
        goto out;
    hash_hex(token_hash, hex);
    BACKEND(result, st, session_create, hex, user_id, now, expires_at);
out:
    return result;
}

adm_err_t adm_store_session_lookup(adm_store_t *st,
                                   const uint8_t token_hash[ADM_STORE_SESSION_HASH_BYTES],
                                   int64_t now, adm_session_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char hex[2 * ADM_STORE_SESSION_HASH_BYTES + 1];

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || token_hash == NULL || out == NULL || now <= 0)
        goto out;
    hash_hex(token_hash, hex);
    BACKEND(result, st, session_lookup, hex, now, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_session_delete(adm_store_t *st,
                                   const uint8_t token_hash[ADM_STORE_SESSION_HASH_BYTES])
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char hex[2 * ADM_STORE_SESSION_HASH_BYTES + 1];

    if (st == NULL || token_hash == NULL)
        goto out;
    hash_hex(token_hash, hex);
    BACKEND(result, st, session_delete, hex);
out:
    return result;
}

/* ---- idempotency ---- */

static adm_err_t check_idem(const char *scope, const char *key)
{
    adm_err_t result = check_word(scope, ADM_STORE_IDEM_SCOPE_MAX);

    if (result == ADM_OK)
        result = check_word(key, ADM_STORE_IDEM_KEY_MAX);
    return result;
}

static adm_err_t check_body(const void *body, size_t body_len)
{
    adm_err_t result = ADM_OK;

    if (body_len > ADM_STORE_IDEM_BODY_MAX)
        result = ADM_ERR_TOO_BIG;
    else if (body == NULL && body_len != 0)
        result = ADM_ERR_INVALID_ARG;
    return result;
}

adm_err_t adm_store_idem_put(adm_store_t *st, const char *scope, const char *key,
                             const char *fingerprint, int status, const void *body,
                             size_t body_len, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || now <= 0 || (status != 0 && (status < 100 || status > 599)))
        goto out;
    if ((result = check_idem(scope, key)) != ADM_OK ||
        (result = check_word(fingerprint, ADM_STORE_IDEM_FINGERPRINT_MAX)) != ADM_OK ||
        (result = check_body(body, body_len)) != ADM_OK)
        goto out;
    BACKEND(result, st, idem_put, scope, key, fingerprint, status, body ? body : "",
            body_len, now);
out:
    return result;
}

adm_err_t adm_store_idem_complete(adm_store_t *st, const char *scope, const char *key,
                                  int status, const void *body, size_t body_len, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || now <= 0 || status < 100 || status > 599)
        goto out;
    if ((result = check_idem(scope, key)) != ADM_OK ||
        (result = check_body(body, body_len)) != ADM_OK)
        goto out;
    BACKEND(result, st, idem_complete, scope, key, status, body ? body : "", body_len, now);
out:
    return result;
}

adm_err_t adm_store_idem_get(adm_store_t *st, const char *scope, const char *key, int64_t now,
                             adm_idem_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || now <= 0 || (result = check_idem(scope, key)) != ADM_OK)
        goto out;
    BACKEND(result, st, idem_get, scope, key, now, out);
    if (result != ADM_OK) {
        free(out->body);
        memset(out, 0, sizeof *out);
    }
out:
    return result;
}

/* ---- event keys ---- */

adm_err_t adm_store_event_key_add(adm_store_t *st, int64_t event_id, uint32_t kid,
                                  const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || event_id <= 0 || kid == 0 || seed == NULL || now <= 0)
        goto out;
    BACKEND(result, st, event_key_add, event_id, kid, seed, now);
out:
    return result;
}

adm_err_t adm_store_event_key_add_first(adm_store_t *st, int64_t event_id, uint32_t kid,
                                        const uint8_t seed[ADM_KEY_SEED_BYTES], int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || event_id <= 0 || kid == 0 || seed == NULL || now <= 0)
        goto out;
    BACKEND(result, st, event_key_add_first, event_id, kid, seed, now);
out:
    return result;
}

void adm_store_event_keys_free(adm_event_key_t *keys, size_t n)
{
    if (keys == NULL)
        return;
    sodium_memzero(keys, n * sizeof *keys);
    free(keys);
}

adm_err_t adm_store_event_key_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                   adm_event_key_t **keys, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(keys, n);
    if (st == NULL || keys == NULL || n == NULL || event_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, event_key_list, rd, event_id, keys, n);
    if (result != ADM_OK) {
        adm_store_event_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
out:
    return result;
}

adm_err_t adm_store_event_key_retire(adm_store_t *st, int64_t event_id, uint32_t kid,
                                     int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || event_id <= 0 || kid == 0 || now <= 0)
        goto out;
    BACKEND(result, st, event_key_retire, event_id, kid, now);
out:
    return result;
}

/* ---- reports ---- */

adm_err_t adm_store_sales_by_type(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                  adm_type_sales_t **rows, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(rows, n);
    if (st == NULL || rows == NULL || n == NULL || event_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, sales_by_type, rd, event_id, rows, n);
    LIST_GUARD(result, rows, n);
out:
    return result;
}

/* ---- sync: check-in lists, devices, scans, mirror, settings (docs/sync.md) ---- */

/* s holds exactly len characters [0-9a-f] (and its NUL). */
static bool lower_hex_ok(const char *s, size_t len)
{
    bool result = s != NULL && bounded_len(s, len) == len;

    for (size_t i = 0; result && i < len; i++)
        result = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    return result;
}

/* A device id, or an uploader: 1..ADM_STORE_DEVICE_ID_LEN characters [A-Za-z0-9_-]. */
static adm_err_t check_device_id(const char *s)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t len;

    if (s == NULL)
        goto out;
    len = bounded_len(s, ADM_STORE_DEVICE_ID_LEN);
    if (len > ADM_STORE_DEVICE_ID_LEN) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0)
        goto out;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            goto out;
    result = ADM_OK;
out:
    return result;
}

static adm_err_t check_gate(const char *gate)
{
    return check_text(gate, ADM_STORE_GATE_MAX, true, false);
}

/* A verdict reason: 1..ADM_STORE_REASON_MAX characters [a-z0-9_]. */
static adm_err_t check_reason(const char *s)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t len;

    if (s == NULL)
        goto out;
    len = bounded_len(s, ADM_STORE_REASON_MAX);
    if (len > ADM_STORE_REASON_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0)
        goto out;
    for (size_t i = 0; i < len; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && s[i] != '_')
            goto out;
    result = ADM_OK;
out:
    return result;
}

/* The fields a check-in list spec and a stored list share. */
static adm_err_t check_list(int64_t event_id, const char *name, adm_reentry_t reentry,
                            const int64_t *types, size_t n_types, const char *const *gates,
                            size_t n_gates)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (event_id <= 0 || (unsigned)reentry >= ADM_REENTRY__MAX || n_types > ADM_STORE_TYPES_MAX ||
        n_gates > ADM_STORE_LIST_GATES_MAX || (n_types > 0 && types == NULL) ||
        (n_gates > 0 && gates == NULL))
        goto out;
    if ((result = check_text(name, ADM_STORE_NAME_MAX, true, false)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n_types; i++) {
        result = ADM_ERR_INVALID_ARG;
        if (types[i] <= 0)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (types[j] == types[i])
                goto out;
    }
    for (size_t i = 0; i < n_gates; i++) {
        if ((result = check_gate(gates[i])) != ADM_OK)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (strcmp(gates[j], gates[i]) == 0) {
                result = ADM_ERR_INVALID_ARG;
                goto out;
            }
    }
    result = ADM_OK;
out:
    return result;
}

adm_err_t adm_store_checkin_list_create(adm_store_t *st, const adm_checkin_list_spec_t *spec,
                                        int64_t now, int64_t *id)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (id != NULL)
        *id = 0;
    if (st == NULL || spec == NULL || id == NULL || now <= 0)
        goto out;
    if ((result = check_list(spec->event_id, spec->name, spec->reentry, spec->types, spec->n_types,
                             spec->gates, spec->n_gates)) != ADM_OK)
        goto out;
    BACKEND(result, st, checkin_list_create, spec, now, id);
out:
    return result;
}

adm_err_t adm_store_checkin_list_put(adm_store_t *st, const adm_checkin_list_t *l)
{
    const char *gates[ADM_STORE_LIST_GATES_MAX];
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || l == NULL || l->id <= 0 || l->created < 0 ||
        l->n_gates > ADM_STORE_LIST_GATES_MAX)
        goto out;
    /* the fixed fields must hold their NUL before they are read as strings */
    if (bounded_len(l->name, ADM_STORE_NAME_MAX) > ADM_STORE_NAME_MAX)
        goto out;
    for (size_t i = 0; i < l->n_gates; i++) {
        if (bounded_len(l->gates[i], ADM_STORE_GATE_MAX) > ADM_STORE_GATE_MAX)
            goto out;
        gates[i] = l->gates[i];
    }
    if ((result = check_list(l->event_id, l->name, l->reentry, l->types, l->n_types, gates,
                             l->n_gates)) != ADM_OK)
        goto out;
    BACKEND(result, st, checkin_list_put, l);
out:
    return result;
}

adm_err_t adm_store_checkin_list_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                      adm_checkin_list_t **lists, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(lists, n);
    if (st == NULL || lists == NULL || n == NULL || event_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, checkin_list_list, rd, event_id, lists, n);
    LIST_GUARD(result, lists, n);
out:
    return result;
}

adm_err_t adm_store_enrollment_create(adm_store_t *st,
                                      const uint8_t token_hash[ADM_STORE_SECRET_HASH_BYTES],
                                      const adm_enrollment_spec_t *spec, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char hex[2 * ADM_STORE_SECRET_HASH_BYTES + 1];

    if (st == NULL || token_hash == NULL || spec == NULL || spec->event_id <= 0 ||
        (unsigned)spec->kind > ADM_DEVICE_RELAY || now <= 0 || spec->expires_at <= now)
        goto out;
    if ((result = check_gate(spec->gate)) != ADM_OK)
        goto out;
    sodium_bin2hex(hex, sizeof hex, token_hash, ADM_STORE_SECRET_HASH_BYTES);
    BACKEND(result, st, enrollment_create, hex, spec, now);
out:
    return result;
}

adm_err_t adm_store_device_enroll(adm_store_t *st,
                                  const uint8_t token_hash[ADM_STORE_SECRET_HASH_BYTES],
                                  const char *device_id,
                                  const uint8_t secret_hash[ADM_STORE_SECRET_HASH_BYTES],
                                  const char *name, int64_t now, adm_device_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    char hex[2 * ADM_STORE_SECRET_HASH_BYTES + 1];

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || token_hash == NULL || secret_hash == NULL || out == NULL || now <= 0)
        goto out;
    if ((result = check_device_id(device_id)) != ADM_OK ||
        (result = check_text(name, ADM_STORE_NAME_MAX, false, false)) != ADM_OK)
        goto out;
    if (strlen(device_id) != ADM_STORE_DEVICE_ID_LEN) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    sodium_bin2hex(hex, sizeof hex, token_hash, ADM_STORE_SECRET_HASH_BYTES);
    BACKEND(result, st, device_enroll, hex, device_id, secret_hash, or_empty(name), now, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_device_get(adm_store_t *st, const char *id, adm_device_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || (result = check_device_id(id)) != ADM_OK)
        goto out;
    BACKEND(result, st, device_get, id, out);
    if (result != ADM_OK)
        memset(out, 0, sizeof *out);
out:
    return result;
}

adm_err_t adm_store_device_list(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                adm_device_t **devices, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(devices, n);
    if (st == NULL || devices == NULL || n == NULL || event_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, device_list, rd, event_id, devices, n);
    LIST_GUARD(result, devices, n);
out:
    return result;
}

adm_err_t adm_store_device_revoke(adm_store_t *st, const char *id, int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || now <= 0 || (result = check_device_id(id)) != ADM_OK)
        goto out;
    BACKEND(result, st, device_revoke, id, now);
out:
    return result;
}

/* One scan of an upload (adm_scan_t's comment). */
static adm_err_t check_scan(const adm_scan_t *s)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (!lower_hex_ok(s->nonce, ADM_STORE_NONCE_LEN) || s->ticket_id < 0 || s->list_id <= 0 ||
        s->at <= 0 || (unsigned)s->direction > ADM_DIRECTION_EXIT ||
        (unsigned)s->verdict >= ADM_VERDICT__MAX ||
        (s->verdict == ADM_VERDICT_ACCEPT && s->ticket_id == 0) || s->text_hash == NULL ||
        (s->text_hash[0] != '\0' && !lower_hex_ok(s->text_hash, ADM_STORE_TEXT_HASH_LEN)))
        goto out;
    if ((result = check_device_id(s->device)) != ADM_OK || (result = check_gate(s->gate)) != ADM_OK)
        goto out;
    result = check_reason(s->reason);
out:
    return result;
}

adm_err_t adm_store_checkins_add(adm_store_t *st, int64_t event_id, const char *uploader,
                                 const adm_scan_t *scans, size_t n, bool upstream_done, int64_t now,
                                 adm_checkin_result_t *results)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_checkin_result_t *own = NULL;

    if (results != NULL && n <= ADM_STORE_CHECKINS_BATCH_MAX)
        memset(results, 0, n * sizeof *results);
    if (st == NULL || event_id <= 0 || scans == NULL || n == 0 || now <= 0)
        goto out;
    if (n > ADM_STORE_CHECKINS_BATCH_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    uploader = or_empty(uploader);
    if (uploader[0] != '\0' && (result = check_device_id(uploader)) != ADM_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((result = check_scan(&scans[i])) != ADM_OK)
            goto out;
    if (results == NULL && (results = own = calloc(n, sizeof *own)) == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    BACKEND(result, st, checkins_add, event_id, uploader, scans, n, upstream_done, now, results);
    if (result != ADM_OK)
        memset(results, 0, n * sizeof *results);
out:
    free(own);
    return result;
}

adm_err_t adm_store_checkins_list(adm_store_t *st, adm_read_t rd, const adm_checkin_query_t *q,
                                  adm_checkin_t **rows, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_checkin_query_t nq;

    LIST_INIT(rows, n);
    if (st == NULL || q == NULL || rows == NULL || n == NULL || q->event_id <= 0 ||
        q->after_seq < 0 || q->ticket_id < 0 || q->limit > ADM_STORE_CHECKINS_PAGE_MAX ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    nq = *q;
    if (nq.limit == 0)
        nq.limit = 1000;
    nq.not_uploader = or_empty(q->not_uploader);
    BACKEND(result, st, checkins_list, rd, &nq, rows, n);
    LIST_GUARD(result, rows, n);
out:
    return result;
}

adm_err_t adm_store_checkins_last_seq(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                      int64_t *seq)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (seq != NULL)
        *seq = 0;
    if (st == NULL || seq == NULL || event_id <= 0 || (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, checkins_last_seq, rd, event_id, seq);
    if (result != ADM_OK)
        *seq = 0;
out:
    return result;
}

adm_err_t adm_store_checkins_mark_upstream(adm_store_t *st, const int64_t *seqs, size_t n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || (n > 0 && seqs == NULL))
        goto out;
    if (n > ADM_STORE_CHECKINS_PAGE_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (seqs[i] <= 0)
            goto out;
    result = ADM_OK;
    if (n > 0)
        BACKEND(result, st, checkins_mark_upstream, seqs, n);
out:
    return result;
}

adm_err_t adm_store_checkin_stats(adm_store_t *st, adm_read_t rd, int64_t event_id,
                                  adm_checkin_stats_row_t **rows, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(rows, n);
    if (st == NULL || rows == NULL || n == NULL || event_id <= 0 ||
        (result = check_read(rd)) != ADM_OK)
        goto out;
    BACKEND(result, st, checkin_stats, rd, event_id, rows, n);
    LIST_GUARD(result, rows, n);
out:
    return result;
}

adm_err_t adm_store_mirror_put_header(adm_store_t *st, int64_t event_id, const char *header,
                                      int64_t now)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t len;

    if (st == NULL || event_id <= 0 || header == NULL || now <= 0)
        goto out;
    len = bounded_len(header, ADM_STORE_MIRROR_HEADER_MAX);
    if (len > ADM_STORE_MIRROR_HEADER_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0 || !utf8_ok(header, len, CONTROLS_ANY))
        goto out;
    BACKEND(result, st, mirror_put_header, event_id, header, now);
out:
    return result;
}

void adm_store_mirror_clear(adm_mirror_t *m)
{
    if (m == NULL)
        return;
    free(m->header);
    memset(m, 0, sizeof *m);
}

adm_err_t adm_store_mirror_get(adm_store_t *st, int64_t event_id, adm_mirror_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL || out == NULL || event_id <= 0)
        goto out;
    BACKEND(result, st, mirror_get, event_id, out);
    if (result != ADM_OK)
        adm_store_mirror_clear(out);
out:
    return result;
}

adm_err_t adm_store_mirror_advance(adm_store_t *st, int64_t event_id, const adm_revocation_t *revs,
                                   size_t n, int64_t revocations_cursor, int64_t checkins_cursor,
                                   int64_t now)
{
    static const adm_revocation_t none[1];
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || event_id <= 0 || (n > 0 && revs == NULL) || revocations_cursor < -1 ||
        checkins_cursor < -1 || now <= 0)
        goto out;
    if (n > ADM_STORE_CHECKINS_PAGE_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (revs[i].seq <= 0 || revs[i].ticket_id <= 0 || revs[i].revoked_at < 0)
            goto out;
    BACKEND(result, st, mirror_advance, event_id, n > 0 ? revs : none, n, revocations_cursor,
            checkins_cursor, now);
out:
    return result;
}

adm_err_t adm_store_mirror_revocations_since(adm_store_t *st, int64_t event_id, int64_t after_seq,
                                             size_t limit, adm_revocation_t **revs, size_t *n)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    LIST_INIT(revs, n);
    if (st == NULL || revs == NULL || n == NULL || event_id <= 0 || after_seq < 0 ||
        limit > ADM_STORE_REVOCATIONS_PAGE_MAX)
        goto out;
    BACKEND(result, st, mirror_revocations_since, event_id, after_seq,
            limit ? limit : ADM_STORE_REVOCATIONS_PAGE_MAX, revs, n);
    LIST_GUARD(result, revs, n);
out:
    return result;
}

adm_err_t adm_store_setting_put(adm_store_t *st, const char *key, const char *value)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (st == NULL || value == NULL)
        goto out;
    if ((result = check_word(key, ADM_STORE_SETTING_KEY_MAX)) != ADM_OK ||
        (result = check_text(value, ADM_STORE_SETTING_VALUE_MAX, false, false)) != ADM_OK)
        goto out;
    BACKEND(result, st, setting_put, key, value);
out:
    return result;
}

adm_err_t adm_store_setting_get(adm_store_t *st, const char *key, char *out, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (st == NULL || out == NULL || cap == 0 ||
        (result = check_word(key, ADM_STORE_SETTING_KEY_MAX)) != ADM_OK)
        goto out;
    BACKEND(result, st, setting_get, key, out, cap);
    if (result != ADM_OK)
        out[0] = '\0';
out:
    return result;
}

/* ---- names ---- */

const char *adm_event_status_name(adm_event_status_t s)
{
    static const char *const names[] = {"draft", "on_sale", "cancelled", "ended"};

    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *adm_order_state_name(adm_order_state_t s)
{
    static const char *const names[] = {"pending", "paid", "cancelled", "refunded", "expired"};

    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *adm_role_name(adm_role_t r)
{
    static const char *const names[] = {"customer", "crew", "organiser"};

    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

/* ---- helpers for the backends ---- */

void adm_store_random_hold_id(char out[ADM_STORE_HOLD_ID_LEN + 1])
{
    uint8_t raw[ADM_STORE_HOLD_ID_LEN / 2];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, ADM_STORE_HOLD_ID_LEN + 1, raw, sizeof raw);
}

void adm_store_random_order_code(char out[ADM_STORE_ORDER_CODE_LEN + 1])
{
    uint8_t raw[5]; /* 40 bits = 8 symbols of 5 bits */
    uint64_t bits = 0;

    randombytes_buf(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        bits = bits << 8 | raw[i];
    for (size_t i = 0, o = 0; i < 8; i++, o++) {
        if (i == 4)
            out[o++] = '-';
        out[o] = code_alphabet[(bits >> (35 - 5 * i)) & 31];
    }
    out[ADM_STORE_ORDER_CODE_LEN] = '\0';
}

int64_t adm_store_random_ticket_id(void)
{
    uint64_t v;

    /* 53 bits: ids stay exact as JSON numbers in every client (JavaScript's
     * Number.MAX_SAFE_INTEGER, jq); the backends redraw on a collision */
    do {
        randombytes_buf(&v, sizeof v);
        v &= (UINT64_C(1) << 53) - 1;
    } while (v == 0);
    return (int64_t)v;
}
