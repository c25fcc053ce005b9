/* metrics.c: the Prometheus registry behind metrics.h. One mutex per metric
 * guards its series table (open addressing on a hash of the label values);
 * the registry mutex only guards registration and rendering order.
 * Not for HTTP: GET /metrics is served by http.c, which calls render. */
#include "server/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * ADM_METRICS_MAX_SERIES) /* power of two, load factor <= 0.5 */

const double ADM_METRICS_LATENCY_BUCKETS[ADM_METRICS_LATENCY_N_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct series {
    uint64_t hash;
    char values[ADM_METRICS_MAX_LABELS][ADM_METRICS_LABEL_VALUE_MAX];
    uint64_t count;     /* counter value, or histogram observation count */
    double value;       /* gauge value, or histogram sum */
    uint64_t buckets[]; /* histogram: per-bucket counts, n_buckets + 1 (+Inf) */
};

/* adm_counter_t, adm_gauge_t and adm_histogram_t are all a struct family:
 * the public types stay distinct for the compiler and are never defined. */
struct family {
    adm_metrics_t *owner;
    enum kind kind;
    char name[ADM_METRICS_NAME_MAX];
    char help[ADM_METRICS_HELP_MAX];
    size_t n_labels;
    char label_names[ADM_METRICS_MAX_LABELS][ADM_METRICS_LABEL_NAME_MAX];
    double bounds[ADM_METRICS_MAX_BUCKETS];
    size_t n_buckets;
    pthread_mutex_t lock;
    size_t n_series;
    struct series *series[ADM_METRICS_MAX_SERIES]; /* in creation order */
    uint16_t slots[SLOTS];                         /* index + 1 into series; 0 = empty */
};

struct adm_metrics {
    pthread_mutex_t lock;
    size_t n_families;
    struct family *families[ADM_METRICS_MAX_FAMILIES];
    atomic_uint_fast64_t dropped;
};

/* ---- small bounded string builder for rendering ---- */

struct buf {
    char *p;
    size_t len, cap;
    adm_err_t err;
};

static void buf_grow(struct buf *b, size_t need)
{
    size_t cap;
    char *p;

    if (b->err != ADM_OK)
        return;
    if (need > ADM_METRICS_RENDER_MAX) {
        b->err = ADM_ERR_TOO_BIG;
        return;
    }
    cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap > ADM_METRICS_RENDER_MAX)
        cap = ADM_METRICS_RENDER_MAX;
    p = realloc(b->p, cap);
    if (p == NULL) {
        b->err = ADM_ERR_NOMEM;
        return;
    }
    b->p = p;
    b->cap = cap;
}

__attribute__((format(printf, 2, 3))) static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->err != ADM_OK)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = ADM_ERR_INVALID_ARG;
        return;
    }
    if (b->p == NULL || b->len + (size_t)n + 1 > b->cap) {
        buf_grow(b, b->len + (size_t)n + 1);
        if (b->err != ADM_OK)
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

static void buf_putc(struct buf *b, char c)
{
    if (b->err != ADM_OK)
        return;
    if (b->p == NULL || b->len + 2 > b->cap) {
        buf_grow(b, b->len + 2);
        if (b->err != ADM_OK)
            return;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/* Label values escape backslash, double quote and newline; HELP text only
 * backslash and newline (exposition format rules). */
static void buf_escaped(struct buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, '\\');
        } else if (*s == '\n') {
            buf_putc(b, '\\');
            buf_putc(b, 'n');
        } else if (quote && *s == '"') {
            buf_putc(b, '\\');
            buf_putc(b, '"');
        } else {
            buf_putc(b, *s);
        }
    }
}

/* Shortest text that reads back as the same double. */
static void buf_double(struct buf *b, double v)
{
    char tmp[40];

    if (isnan(v)) {
        buf_printf(b, "NaN");
    } else if (isinf(v)) {
        buf_printf(b, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof tmp, "%.17g", v);
        buf_printf(b, "%s", tmp);
    }
}

/* ---- registration ---- */

static bool valid_name(const char *s, bool allow_colon, size_t max)
{
    size_t i;

    if (s == NULL || s[0] == '\0' || strlen(s) >= max)
        return false;
    for (i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static adm_err_t family_register(adm_metrics_t *m, enum kind kind, const char *name,
                                 const char *help, size_t n_labels, const char *const *label_names,
                                 const double *buckets, size_t n_buckets, struct family **out)
{
    adm_err_t result = ADM_OK;
    struct family *f = NULL;
    size_t i;
    bool locked = false;

    *out = NULL;
    if (m == NULL || !valid_name(name, true, ADM_METRICS_NAME_MAX) ||
        n_labels > ADM_METRICS_MAX_LABELS || (n_labels > 0 && label_names == NULL)) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    for (i = 0; i < n_labels; i++) {
        if (!valid_name(label_names[i], false, ADM_METRICS_LABEL_NAME_MAX) ||
            strncmp(label_names[i], "__", 2) == 0 || strcmp(label_names[i], "le") == 0) {
            result = ADM_ERR_INVALID_ARG;
            goto out;
        }
    }
    if (kind == KIND_HISTOGRAM) {
        if (buckets == NULL || n_buckets == 0 || n_buckets > ADM_METRICS_MAX_BUCKETS) {
            result = ADM_ERR_INVALID_ARG;
            goto out;
        }
        for (i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
                result = ADM_ERR_INVALID_ARG;
                goto out;
            }
        }
    }

    pthread_mutex_lock(&m->lock);
    locked = true;
    for (i = 0; i < m->n_families; i++) {
        struct family *g = m->families[i];
        size_t j;
        bool same;

        if (strcmp(g->name, name) != 0)
            continue;
        same = g->kind == kind && g->n_labels == n_labels;
        for (j = 0; same && j < n_labels; j++)
            same = strcmp(g->label_names[j], label_names[j]) == 0;
        if (same && kind == KIND_HISTOGRAM) {
            same = g->n_buckets == n_buckets;
            for (j = 0; same && j < n_buckets; j++)
                same = g->bounds[j] == buckets[j];
        }
        if (!same) {
            result = ADM_ERR_EXISTS;
            goto out;
        }
        *out = g;
        goto out;
    }
    if (m->n_families >= ADM_METRICS_MAX_FAMILIES) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    if (pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        result = ADM_ERR_NOMEM;
        goto out;
    }
    f->owner = m;
    f->kind = kind;
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->help, sizeof f->help, "%s", help ? help : "");
    f->n_labels = n_labels;
    for (i = 0; i < n_labels; i++)
        snprintf(f->label_names[i], sizeof f->label_names[i], "%s", label_names[i]);
    for (i = 0; i < n_buckets && kind == KIND_HISTOGRAM; i++)
        f->bounds[i] = buckets[i];
    f->n_buckets = kind == KIND_HISTOGRAM ? n_buckets : 0;
    m->families[m->n_families++] = f;
    *out = f;

out:
    if (locked)
        pthread_mutex_unlock(&m->lock);
    return result;
}

adm_err_t adm_metrics_new(adm_metrics_t **out)
{
    adm_err_t result = ADM_OK;
    adm_metrics_t *m;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        result = ADM_ERR_NOMEM;
        goto out;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        result = ADM_ERR_NOMEM;
        goto out;
    }
    atomic_init(&m->dropped, 0);
    *out = m;
out:
    return result;
}

void adm_metrics_free(adm_metrics_t *m)
{
    size_t i, j;

    if (m == NULL)
        return;
    for (i = 0; i < m->n_families; i++) {
        struct family *f = m->families[i];
        for (j = 0; j < f->n_series; j++)
            free(f->series[j]);
        pthread_mutex_destroy(&f->lock);
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

adm_err_t adm_metrics_counter(adm_metrics_t *m, const char *name, const char *help, size_t n_labels,
                              const char *const *label_names, adm_counter_t **out)
{
    struct family *f = NULL;
    adm_err_t result =
        family_register(m, KIND_COUNTER, name, help, n_labels, label_names, NULL, 0, &f);

    *out = (adm_counter_t *)f;
    return result;
}

adm_err_t adm_metrics_gauge(adm_metrics_t *m, const char *name, const char *help, size_t n_labels,
                            const char *const *label_names, adm_gauge_t **out)
{
    struct family *f = NULL;
    adm_err_t result =
        family_register(m, KIND_GAUGE, name, help, n_labels, label_names, NULL, 0, &f);

    *out = (adm_gauge_t *)f;
    return result;
}

adm_err_t adm_metrics_histogram(adm_metrics_t *m, const char *name, const char *help,
                                size_t n_labels, const char *const *label_names,
                                const double *buckets, size_t n_buckets, adm_histogram_t **out)
{
    struct family *f = NULL;
    adm_err_t result = family_register(m, KIND_HISTOGRAM, name, help, n_labels, label_names,
                                       buckets, n_buckets, &f);

    *out = (adm_histogram_t *)f;
    return result;
}

/* ---- recording ---- */

/* Length of v once truncated to fit a label value, cut on a UTF-8 boundary. */
static size_t value_len(const char *v)
{
    size_t n = strnlen(v, ADM_METRICS_LABEL_VALUE_MAX);

    if (n == ADM_METRICS_LABEL_VALUE_MAX) {
        n = ADM_METRICS_LABEL_VALUE_MAX - 1;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
    }
    return n;
}

static uint64_t labels_hash(const struct family *f, const char *const *values)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i, j;

    for (i = 0; i < f->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t n = value_len(v);
        for (j = 0; j < n; j++) {
            h ^= (unsigned char)v[j];
            h *= 0x100000001b3ull;
        }
        h ^= 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

static bool labels_equal(const struct family *f, const struct series *s, const char *const *values)
{
    size_t i;

    for (i = 0; i < f->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t n = value_len(v);
        if (strlen(s->values[i]) != n || memcmp(s->values[i], v, n) != 0)
            return false;
    }
    return true;
}

/* Finds or creates the series for values; the family lock must be held.
 * NULL (and a dropped sample) when the table is full or memory runs out. */
static struct series *series_get(struct family *f, const char *const *values, bool create)
{
    uint64_t h = labels_hash(f, values);
    size_t slot = (size_t)h & (SLOTS - 1);
    struct series *s = NULL;
    size_t i, extra;

    for (;;) {
        uint16_t idx = f->slots[slot];
        if (idx == 0)
            break;
        s = f->series[idx - 1];
        if (s->hash == h && labels_equal(f, s, values))
            return s;
        slot = (slot + 1) & (SLOTS - 1);
    }
    if (!create)
        return NULL;
    if (f->n_series >= ADM_METRICS_MAX_SERIES)
        goto drop;
    extra = f->kind == KIND_HISTOGRAM ? (f->n_buckets + 1) * sizeof(uint64_t) : 0;
    s = calloc(1, sizeof *s + extra);
    if (s == NULL)
        goto drop;
    s->hash = h;
    for (i = 0; i < f->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t n = value_len(v);
        memcpy(s->values[i], v, n);
        s->values[i][n] = '\0';
    }
    f->series[f->n_series++] = s;
    f->slots[slot] = (uint16_t)f->n_series;
    return s;

drop:
    atomic_fetch_add(&f->owner->dropped, 1);
    return NULL;
}

static bool labels_ok(const struct family *f, const char *const *values)
{
    return f->n_labels == 0 || values != NULL;
}

void adm_counter_add(adm_counter_t *c, const char *const *label_values, uint64_t n)
{
    struct family *f = (struct family *)c;
    struct series *s;

    if (f == NULL || !labels_ok(f, label_values))
        return;
    pthread_mutex_lock(&f->lock);
    s = series_get(f, label_values, true);
    if (s != NULL)
        s->count += n;
    pthread_mutex_unlock(&f->lock);
}

void adm_counter_inc(adm_counter_t *c, const char *const *label_values)
{
    adm_counter_add(c, label_values, 1);
}

uint64_t adm_counter_value(adm_counter_t *c, const char *const *label_values)
{
    struct family *f = (struct family *)c;
    struct series *s;
    uint64_t v = 0;

    if (f == NULL || !labels_ok(f, label_values))
        return 0;
    pthread_mutex_lock(&f->lock);
    s = series_get(f, label_values, false);
    if (s != NULL)
        v = s->count;
    pthread_mutex_unlock(&f->lock);
    return v;
}

static void gauge_update(adm_gauge_t *g, const char *const *label_values, double v, bool add)
{
    struct family *f = (struct family *)g;
    struct series *s;

    if (f == NULL || !labels_ok(f, label_values))
        return;
    pthread_mutex_lock(&f->lock);
    s = series_get(f, label_values, true);
    if (s != NULL)
        s->value = add ? s->value + v : v;
    pthread_mutex_unlock(&f->lock);
}

void adm_gauge_set(adm_gauge_t *g, const char *const *label_values, double v)
{
    gauge_update(g, label_values, v, false);
}

void adm_gauge_add(adm_gauge_t *g, const char *const *label_values, double delta)
{
    gauge_update(g, label_values, delta, true);
}

void adm_histogram_observe(adm_histogram_t *h, const char *const *label_values, double v)
{
    struct family *f = (struct family *)h;
    struct series *s;
    size_t i = 0;

    if (f == NULL || !labels_ok(f, label_values) || isnan(v))
        return;
    while (i < f->n_buckets && v > f->bounds[i])
        i++;
    pthread_mutex_lock(&f->lock);
    s = series_get(f, label_values, true);
    if (s != NULL) {
        s->buckets[i]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---- rendering ---- */

/* Writes name{a="x",b="y"[,le="..."]} ; le_bound NULL for no le label. */
static void render_labels(struct buf *b, const struct family *f, const struct series *s,
                          const char *suffix, const double *le_bound, bool le_inf)
{
    size_t i;
    bool any = f->n_labels > 0 || le_bound != NULL || le_inf;

    buf_printf(b, "%s%s", f->name, suffix);
    if (!any)
        return;
    buf_putc(b, '{');
    for (i = 0; i < f->n_labels; i++) {
        buf_printf(b, "%s%s=\"", i ? "," : "", f->label_names[i]);
        buf_escaped(b, s->values[i], true);
        buf_putc(b, '"');
    }
    if (le_bound != NULL || le_inf) {
        buf_printf(b, "%sle=\"", f->n_labels ? "," : "");
        if (le_inf)
            buf_printf(b, "+Inf");
        else
            buf_double(b, *le_bound);
        buf_putc(b, '"');
    }
    buf_putc(b, '}');
}

static void render_family(struct buf *b, struct family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    size_t i, j;

    buf_printf(b, "# HELP %s ", f->name);
    buf_escaped(b, f->help, false);
    buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->kind]);
    pthread_mutex_lock(&f->lock);
    for (i = 0; i < f->n_series; i++) {
        const struct series *s = f->series[i];
        uint64_t cum = 0;

        switch (f->kind) {
        case KIND_COUNTER:
            render_labels(b, f, s, "", NULL, false);
            buf_printf(b, " %llu\n", (unsigned long long)s->count);
            break;
        case KIND_GAUGE:
            render_labels(b, f, s, "", NULL, false);
            buf_putc(b, ' ');
            buf_double(b, s->value);
            buf_putc(b, '\n');
            break;
        case KIND_HISTOGRAM:
            for (j = 0; j <= f->n_buckets; j++) {
                cum += s->buckets[j];
                render_labels(b, f, s, "_bucket", j < f->n_buckets ? &f->bounds[j] : NULL,
                              j == f->n_buckets);
                buf_printf(b, " %llu\n", (unsigned long long)cum);
            }
            render_labels(b, f, s, "_sum", NULL, false);
            buf_putc(b, ' ');
            buf_double(b, s->value);
            buf_putc(b, '\n');
            render_labels(b, f, s, "_count", NULL, false);
            buf_printf(b, " %llu\n", (unsigned long long)s->count);
            break;
        }
    }
    pthread_mutex_unlock(&f->lock);
}

adm_err_t adm_metrics_render(adm_metrics_t *m, char **out, size_t *len)
{
    adm_err_t result = ADM_OK;
    struct buf b = {NULL, 0, 0, ADM_OK};
    size_t i;

    *out = NULL;
    *len = 0;
    if (m == NULL) {
        result = ADM_ERR_INVALID_ARG;
        goto out;
    }
    buf_grow(&b, 4096);
    if (b.err == ADM_OK)
        b.p[0] = '\0';
    pthread_mutex_lock(&m->lock);
    for (i = 0; i < m->n_families; i++)
        render_family(&b, m->families[i]);
    pthread_mutex_unlock(&m->lock);
    buf_printf(&b,
               "# HELP admit_metrics_dropped_total Samples dropped because a metric had too "
               "many label combinations or memory ran out.\n"
               "# TYPE admit_metrics_dropped_total counter\n"
               "admit_metrics_dropped_total %llu\n",
               (unsigned long long)atomic_load(&m->dropped));
    result = b.err;
    if (result != ADM_OK)
        goto out;
    *out = b.p;
    *len = b.len;
    b.p = NULL;
out:
    free(b.p);
    return result;
}
