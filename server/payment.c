/* payment.c: the payment provider registry and the built-in providers
 * "free" and "manual" (payment.h). Not for card gateways: each of those
 * gets its own payment-<name>.c and registers itself here. */
#include "server/payment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct adm_payments {
    size_t n;
    adm_payment_provider_t providers[ADM_PAYMENTS_MAX];
};

static void result_init(adm_payment_result_t *out, adm_payment_status_t status, const char *prefix,
                        const adm_order_t *order, const char *message)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    if (prefix != NULL)
        snprintf(out->ref, sizeof out->ref, "%s:%s", prefix, order->code);
    snprintf(out->message, sizeof out->message, "%s", message);
}

/* ---- "free": zero-total orders ---- */

static adm_err_t free_start(void *state, const adm_order_t *order, adm_payment_result_t *out)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    memset(out, 0, sizeof *out);
    if (order->total != 0)
        goto out;
    result_init(out, ADM_PAYMENT_PAID, "free", order, "nothing to pay");
    result = ADM_OK;
out:
    return result;
}

static adm_err_t free_refund(void *state, const adm_order_t *order, adm_payment_result_t *out)
{
    result_init(out, ADM_PAYMENT_PAID, "free", order, "nothing to pay back");
    return ADM_OK;
}

/* ---- "manual": bank transfer, cash at the box office ---- */

static adm_err_t manual_start(void *state, const adm_order_t *order, adm_payment_result_t *out)
{
    result_init(out, ADM_PAYMENT_PENDING, "manual", order,
                "awaiting payment: quote the order code; an organiser confirms receipt");
    return ADM_OK;
}

static adm_err_t manual_confirm(void *state, const adm_order_t *order, adm_payment_result_t *out)
{
    result_init(out, ADM_PAYMENT_PAID, "manual", order, "payment received");
    return ADM_OK;
}

static adm_err_t manual_refund(void *state, const adm_order_t *order, adm_payment_result_t *out)
{
    result_init(out, ADM_PAYMENT_PAID, "manual", order,
                "refund recorded: pay the customer back outside admit");
    return ADM_OK;
}

/* ---- registry ---- */

static bool name_ok(const char *name)
{
    size_t i, n;

    if (name == NULL)
        return false;
    n = strlen(name);
    if (n == 0 || n > ADM_STORE_PROVIDER_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

adm_err_t adm_payments_register(adm_payments_t *p, const adm_payment_provider_t *provider)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;

    if (p == NULL || provider == NULL || !name_ok(provider->name) || provider->start == NULL ||
        provider->confirm == NULL || provider->refund == NULL || provider->pending_ttl_s < 0 ||
        provider->pending_ttl_s > ADM_STORE_PAY_TTL_MAX)
        goto out;
    if (adm_payments_find(p, provider->name) != NULL) {
        result = ADM_ERR_EXISTS;
        goto out;
    }
    if (p->n >= ADM_PAYMENTS_MAX) {
        result = ADM_ERR_TOO_BIG;
        goto out;
    }
    p->providers[p->n++] = *provider;
    result = ADM_OK;
out:
    if (result != ADM_OK && provider != NULL && provider->free_state != NULL)
        provider->free_state(provider->state);
    return result;
}

adm_err_t adm_payments_new(struct adm_payments **out)
{
    static const adm_payment_provider_t builtin[] = {
        {.name = "free", .start = free_start, .confirm = free_start, .refund = free_refund},
        {.name = "manual",
         .organiser_confirms = true,
         .pending_ttl_s = ADM_PAYMENT_MANUAL_TTL_DEFAULT,
         .start = manual_start,
         .confirm = manual_confirm,
         .refund = manual_refund},
    };
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_payments_t *p = NULL;
    size_t i;

    if (out == NULL)
        goto out;
    *out = NULL;
    result = ADM_ERR_NOMEM;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto out;
    for (i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if ((result = adm_payments_register(p, &builtin[i])) != ADM_OK)
            goto out;
    *out = p;
    p = NULL;
out:
    adm_payments_free(p);
    return result;
}

void adm_payments_free(struct adm_payments *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n; i++)
        if (p->providers[i].free_state != NULL)
            p->providers[i].free_state(p->providers[i].state);
    free(p);
}

adm_err_t adm_payments_set_pending_ttl(adm_payments_t *p, const char *name, int64_t ttl_s)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    size_t i;

    if (p == NULL || name == NULL || ttl_s < 0 || ttl_s > ADM_STORE_PAY_TTL_MAX)
        goto out;
    result = ADM_ERR_NOT_FOUND;
    for (i = 0; i < p->n; i++) {
        if (strcmp(p->providers[i].name, name) == 0) {
            p->providers[i].pending_ttl_s = ttl_s;
            result = ADM_OK;
            break;
        }
    }
out:
    return result;
}

const adm_payment_provider_t *adm_payments_find(const adm_payments_t *p, const char *name)
{
    size_t i;

    if (p == NULL || name == NULL)
        return NULL;
    for (i = 0; i < p->n; i++)
        if (strcmp(p->providers[i].name, name) == 0)
            return &p->providers[i];
    return NULL;
}

size_t adm_payments_count(const adm_payments_t *p)
{
    return p == NULL ? 0 : p->n;
}

const adm_payment_provider_t *adm_payments_at(const adm_payments_t *p, size_t i)
{
    return p == NULL || i >= p->n ? NULL : &p->providers[i];
}

const char *adm_payment_status_name(adm_payment_status_t s)
{
    switch (s) {
    case ADM_PAYMENT_PENDING:
        return "pending";
    case ADM_PAYMENT_PAID:
        return "paid";
    case ADM_PAYMENT_FAILED:
        return "failed";
    }
    return "unknown";
}
