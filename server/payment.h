/* payment.h: how admitd takes money for an order: a payment provider is a
 * table of function pointers (one file per provider), found by name in a
 * registry. Built in: "free" and "manual". Not for order state: the caller
 * records the outcome with adm_store_order_pay() / adm_store_order_refund(). */
#ifndef ADM_PAYMENT_H
#define ADM_PAYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"
#include "sync/err.h"

#define ADM_PAYMENTS_MAX 16 /* providers per registry */
#define ADM_PAYMENT_URL_MAX 512
#define ADM_PAYMENT_MANUAL_TTL_DEFAULT (3 * 86400) /* seconds a "manual" payment may take */

typedef enum adm_payment_status {
    ADM_PAYMENT_PENDING = 0, /* nothing paid yet: wait for a confirmation
                              * (organiser, or later a gateway's webhook) */
    ADM_PAYMENT_PAID = 1,    /* the money is taken: mark the order paid now */
    ADM_PAYMENT_FAILED = 2,  /* declined; the order stays pending */
} adm_payment_status_t;

/* What a provider call says. ref identifies the payment at the provider and
 * is unique per order: adm_store_order_pay() stores it, and paying again
 * with the same provider and ref is a no-op, so replays (double clicks,
 * webhook retries) never double-book. */
typedef struct adm_payment_result {
    adm_payment_status_t status;
    char ref[ADM_STORE_PROVIDER_REF_MAX + 1];
    char redirect_url[ADM_PAYMENT_URL_MAX]; /* a gateway's checkout page; "" = none */
    char message[128];                      /* for humans, e.g. transfer instructions */
} adm_payment_result_t;

/* A payment provider. Every function is called from any HTTP thread at once
 * and gets the provider's own state; the order is the store's current copy.
 * Each returns ADM_OK with *out filled, or an error the route maps onto HTTP:
 * ADM_ERR_INVALID_ARG (this provider cannot pay this order, e.g. "free" for
 * a non-zero total), ADM_ERR_STORE_UNAVAILABLE (the provider cannot be
 * reached: retry). A gateway will add a webhook handler that calls
 * adm_store_order_pay() with its ref; that is why refs must be deterministic
 * per order or recorded by the provider. */
typedef struct adm_payment_provider {
    const char *name;        /* [a-z0-9_-]{1,ADM_STORE_PROVIDER_MAX}, e.g. "manual" */
    bool organiser_confirms; /* pending payments are confirmed by an organiser */
    int64_t pending_ttl_s;   /* when start() answers PENDING, the order's payment
                              * deadline moves to now + this (never earlier:
                              * adm_store_order_extend), so a bank transfer is not
                              * reaped after the checkout's 15 minutes; 0 = the
                              * checkout deadline stands; <= ADM_STORE_PAY_TTL_MAX */
    void *state;             /* owned by the provider, passed to every call */

    /* Starts paying order (pending). PAID: the caller marks it paid with
     * out->ref; PENDING: it stays pending until confirm; FAILED: declined. */
    adm_err_t (*start)(void *state, const adm_order_t *order, adm_payment_result_t *out);

    /* Confirms a pending payment of order (organiser action or gateway
     * callback). PAID with out->ref, or FAILED / PENDING when not (yet) paid. */
    adm_err_t (*confirm)(void *state, const adm_order_t *order, adm_payment_result_t *out);

    /* Gives back the money of paid order (out->status PAID means "refunded").
     * Must be idempotent per order: a retry after the store failed to record
     * the refund must not pay out twice. */
    adm_err_t (*refund)(void *state, const adm_order_t *order, adm_payment_result_t *out);

    /* Frees state when the registry is freed; may be NULL. */
    void (*free_state)(void *state);
} adm_payment_provider_t;

typedef struct adm_payments adm_payments_t;

/* Creates a registry holding the built-in providers "free" (orders with a
 * total of 0 only; paid at once, ref "free:<order code>") and "manual"
 * (bank transfer, cash at the box office: pending until an organiser
 * confirms, for up to ADM_PAYMENT_MANUAL_TTL_DEFAULT seconds from the
 * customer's choice; ref "manual:<order code>") into *out; free with
 * adm_payments_free(). ADM_ERR_NOMEM. */
adm_err_t adm_payments_new(struct adm_payments **out);

/* Frees the registry and the state of every provider. NULL is accepted. */
void adm_payments_free(struct adm_payments *p);

/* Adds provider (the struct is copied, its name is borrowed and must outlive
 * the registry, e.g. a literal; its state is owned by the registry from now
 * on, also on failure). Only before the registry is shared between threads.
 * ADM_ERR_INVALID_ARG (bad name, missing function), ADM_ERR_EXISTS (name
 * taken), ADM_ERR_TOO_BIG (ADM_PAYMENTS_MAX providers). */
adm_err_t adm_payments_register(adm_payments_t *p, const adm_payment_provider_t *provider);

/* Sets the pending_ttl_s of provider name (configuration: how long a
 * "manual" payment may take). Only before the registry is shared between
 * threads. ADM_ERR_NOT_FOUND (no such provider), ADM_ERR_INVALID_ARG
 * (ttl_s outside 0..ADM_STORE_PAY_TTL_MAX). */
adm_err_t adm_payments_set_pending_ttl(adm_payments_t *p, const char *name, int64_t ttl_s);

/* The provider called name (borrowed from p), or NULL. */
const adm_payment_provider_t *adm_payments_find(const adm_payments_t *p, const char *name);

/* Number of providers and the i-th one (registration order), for listings. */
size_t adm_payments_count(const adm_payments_t *p);
const adm_payment_provider_t *adm_payments_at(const adm_payments_t *p, size_t i);

/* Stable names for JSON: "pending", "paid", "failed"; "unknown" otherwise. */
const char *adm_payment_status_name(adm_payment_status_t s);

#endif
