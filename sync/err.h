/* err.h: admit's error codes and their messages, shared by every component.
 * Not for GLib code (ui/ uses GError). Values are part of the tools' output
 * and logs: never renumber a released value; add new ones before ADM_ERR__MAX. */
#ifndef ADM_ERR_H
#define ADM_ERR_H

#include <stddef.h>

typedef enum adm_err {
    ADM_OK = 0,
    /* generic */
    ADM_ERR_NOMEM = 1,       /* an allocation failed */
    ADM_ERR_INVALID_ARG = 2, /* caller passed something the API does not accept */
    ADM_ERR_IO = 3,          /* reading or writing a file failed (see errno) */
    ADM_ERR_TOO_BIG = 4,     /* input or output exceeds a documented bound */
    ADM_ERR_CRYPTO = 5,      /* libsodium could not be initialised or failed */
    ADM_ERR_NOT_FOUND = 6,   /* the named object does not exist */
    ADM_ERR_EXISTS = 7,      /* the object already exists */
    ADM_ERR_FORMAT = 8,      /* a file or document is not in the expected format */

    /* ticket token decoding (docs/ticket-format.md §6) */
    ADM_ERR_TOKEN_PREFIX = 20,    /* text does not start with the scheme prefix */
    ADM_ERR_TOKEN_BASE45 = 21,    /* text after the prefix is not valid Base45 */
    ADM_ERR_TOKEN_LENGTH = 22,    /* binary token shorter than its fields say */
    ADM_ERR_TOKEN_VERSION = 23,   /* unknown format version */
    ADM_ERR_TOKEN_KEY = 24,       /* key id not in the keyring */
    ADM_ERR_TOKEN_SIGNATURE = 25, /* Ed25519 signature does not verify */
    ADM_ERR_TOKEN_TRAILING = 26,  /* bytes after the signature */
    ADM_ERR_TOKEN_OVERSIZE = 27,  /* text longer than ADM_TOKEN_TEXT_MAX */
    ADM_ERR_TOKEN_FIELD = 28,     /* a field holds a value the format forbids */
    ADM_ERR_TOKEN_KEY_RETIRED = 29, /* key id known but retired */

    /* QR codes and images */
    ADM_ERR_QR_ENCODE = 40,    /* libqrencode could not encode the text */
    ADM_ERR_QR_NOT_FOUND = 41, /* no QR code found in the image */
    ADM_ERR_IMAGE = 42,        /* the image file cannot be read or is not supported */

    /* configuration, storage and booking (server/) */
    ADM_ERR_CONFIG = 60,            /* configuration file, variable or flag is invalid */
    ADM_ERR_STORE = 61,             /* the database reported an error */
    ADM_ERR_STORE_UNAVAILABLE = 62, /* the database cannot be reached */
    ADM_ERR_CONFLICT = 63,          /* a concurrent change or a duplicate prevented the write */
    ADM_ERR_SOLD_OUT = 64,          /* not enough tickets left */
    ADM_ERR_LIMIT = 65,             /* a per-order or per-customer limit would be exceeded */
    ADM_ERR_EXPIRED = 66,           /* the hold or session has expired */
    ADM_ERR_STATE = 67,             /* the object is not in a state that allows this */
    ADM_ERR_SALE_CLOSED = 68,       /* outside the ticket type's sale window */
    /* 69-79: more storage/booking codes */

    /* HTTP server (server/http.c) */
    ADM_ERR_LISTEN = 80, /* the server cannot listen on the configured address */
    ADM_ERR_HTTP_SHUTDOWN_TIMEOUT = 81, /* requests still running when the stop deadline passed */
    /* 82-89: more HTTP codes */

    /* sync client (sync/client.c) */
    ADM_ERR_NETWORK = 90,     /* the server cannot be reached, or the connection broke or timed out */
    ADM_ERR_TLS = 91,         /* TLS failed: certificate not trusted, wrong name, pin mismatch */
    ADM_ERR_HTTP_STATUS = 92, /* the server answered with an error status (see the reply) */
    ADM_ERR_UNAUTHORIZED = 93, /* the credentials were refused (401) */
    ADM_ERR_REVOKED = 94,     /* this device was revoked (403 device_revoked) */
    /* 95-99: more sync codes */

    ADM_ERR__MAX
} adm_err_t;

/* Writes a human-readable detail (printf of fmt) into buf for an API that
 * takes a "why" or "errbuf" argument: nothing when buf is NULL or cap 0,
 * cut to cap - 1 bytes. Returns err, so a failure path can be one line:
 *     return adm_err_detail(ADM_ERR_FORMAT, why, cap, "bad %s", what); */
adm_err_t adm_err_detail(adm_err_t err, char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Returns a static, human-readable message for err (never NULL). */
const char *adm_strerror(adm_err_t err);

/* Returns a static, stable machine name for err, e.g. "bad_signature"
 * (never NULL); used as the "reason" in JSON output. */
const char *adm_err_name(adm_err_t err);

#endif
