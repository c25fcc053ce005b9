/* metrics.h: a small thread-safe registry of counters, gauges and histograms
 * with up to three labels, rendered in the Prometheus text exposition format
 * (version 0.0.4) for GET /metrics. Not a client library: no push, no
 * summaries, no exemplars; tables are fixed-size and overflow is counted. */
#ifndef ADM_METRICS_H
#define ADM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sync/err.h"

#define ADM_METRICS_MAX_FAMILIES 64       /* registered metric names per registry */
#define ADM_METRICS_MAX_LABELS 3          /* label names per metric */
#define ADM_METRICS_MAX_SERIES 512        /* label-value combinations per metric */
#define ADM_METRICS_MAX_BUCKETS 24        /* histogram upper bounds (+Inf is implicit) */
#define ADM_METRICS_NAME_MAX 96           /* metric name, including the NUL */
#define ADM_METRICS_LABEL_NAME_MAX 32     /* label name, including the NUL */
#define ADM_METRICS_LABEL_VALUE_MAX 64    /* longer label values are truncated */
#define ADM_METRICS_HELP_MAX 256          /* longer help texts are truncated */
#define ADM_METRICS_RENDER_MAX (8u << 20) /* rendered exposition size limit */

/* Content-Type of adm_metrics_render() output. */
#define ADM_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Request-latency buckets in seconds (100 µs .. 10 s), for histograms that
 * time requests or queries: pass ADM_METRICS_LATENCY_BUCKETS and
 * ADM_METRICS_LATENCY_N_BUCKETS to adm_metrics_histogram(). */
extern const double ADM_METRICS_LATENCY_BUCKETS[];
#define ADM_METRICS_LATENCY_N_BUCKETS 16

typedef struct adm_metrics adm_metrics_t;
typedef struct adm_counter adm_counter_t;
typedef struct adm_gauge adm_gauge_t;
typedef struct adm_histogram adm_histogram_t;

/* Creates an empty registry in *out; free with adm_metrics_free() after
 * every user has stopped recording. ADM_ERR_NOMEM. */
adm_err_t adm_metrics_new(adm_metrics_t **out);

/* Frees the registry and every metric handle it returned. NULL is accepted. */
void adm_metrics_free(adm_metrics_t *m);

/* Registers (or finds) a counter named name with n_labels label names.
 * Registering the same name again with the same type and label names
 * returns the existing handle, so modules may register idempotently.
 * The handle is owned by the registry. ADM_ERR_INVALID_ARG for a name or
 * label name Prometheus does not accept or n_labels > ADM_METRICS_MAX_LABELS;
 * ADM_ERR_EXISTS when the name is taken by a different type or label set;
 * ADM_ERR_TOO_BIG when the registry is full; ADM_ERR_NOMEM. */
adm_err_t adm_metrics_counter(adm_metrics_t *m, const char *name, const char *help, size_t n_labels,
                              const char *const *label_names, adm_counter_t **out);

/* Same as adm_metrics_counter() for a gauge (a value that goes up and down). */
adm_err_t adm_metrics_gauge(adm_metrics_t *m, const char *name, const char *help, size_t n_labels,
                            const char *const *label_names, adm_gauge_t **out);

/* Same as adm_metrics_counter() for a histogram with n_buckets strictly
 * increasing finite upper bounds (the +Inf bucket is added). The bounds are
 * copied. ADM_ERR_INVALID_ARG for unsorted bounds or n_buckets outside
 * 1..ADM_METRICS_MAX_BUCKETS. */
adm_err_t adm_metrics_histogram(adm_metrics_t *m, const char *name, const char *help,
                                size_t n_labels, const char *const *label_names,
                                const double *buckets, size_t n_buckets, adm_histogram_t **out);

/* Recording. label_values holds exactly as many strings as the metric has
 * label names (NULL for a metric without labels); they are copied. These
 * never fail from the caller's point of view: when a metric already holds
 * ADM_METRICS_MAX_SERIES combinations or memory runs out, the sample is
 * dropped and admit_metrics_dropped_total is incremented. Thread-safe. */
void adm_counter_add(adm_counter_t *c, const char *const *label_values, uint64_t n);
void adm_counter_inc(adm_counter_t *c, const char *const *label_values);
void adm_gauge_set(adm_gauge_t *g, const char *const *label_values, double v);
void adm_gauge_add(adm_gauge_t *g, const char *const *label_values, double delta);
void adm_histogram_observe(adm_histogram_t *h, const char *const *label_values, double v);

/* Current value of one counter series (0 when never recorded); for tests. */
uint64_t adm_counter_value(adm_counter_t *c, const char *const *label_values);

/* Renders every metric in the text exposition format (HELP and TYPE lines,
 * cumulative histogram buckets with le="+Inf", _sum and _count) into a new
 * NUL-terminated string *out of *len bytes; free with free(). Thread-safe
 * against concurrent recording. ADM_ERR_TOO_BIG beyond
 * ADM_METRICS_RENDER_MAX, ADM_ERR_NOMEM. */
adm_err_t adm_metrics_render(adm_metrics_t *m, char **out, size_t *len);

#endif
