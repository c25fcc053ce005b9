/* scan-present.h: what admit-scan shows for a scan: the verdict's colour
 * class (admit / refuse / attention), the reason in words a crew reads from a
 * metre away, ticket type, seat or zone, direction, and for ALREADY_USED when
 * and where the ticket was first used. Pure functions over the gate engine's
 * result (scanner/gate.h), so they are tested without a display. No GTK. */
#ifndef ADM_SCAN_PRESENT_H
#define ADM_SCAN_PRESENT_H

#include <glib.h>
#include <stdint.h>

#include "scanner/gate.h"

typedef enum adm_scan_class {
    ADM_SCAN_CLASS_ADMIT = 0, /* green */
    ADM_SCAN_CLASS_REFUSE,    /* red */
    ADM_SCAN_CLASS_ATTENTION, /* amber: special ticket, or something the crew must look at */
} adm_scan_class_t;

/* How the scan reached the app. */
typedef enum adm_scan_input {
    ADM_SCAN_INPUT_CAMERA = 0,
    ADM_SCAN_INPUT_KEYBOARD, /* keyboard wedge or typed */
} adm_scan_input_t;

typedef struct adm_scan_verdict {
    adm_scan_class_t klass;
    char *verdict;    /* machine name ("accept", "already_used"; "error" when none was reached) */
    char *reason;     /* machine reason ("ok", "bad_signature", ...) */
    char *title;      /* big text: "ADMIT", "ALREADY USED", ... */
    char *detail;     /* one or two lines explaining the title, may be "" */
    char *type_name;  /* ticket type name from the snapshot ("" when unknown) */
    char *seat;       /* the token's seat/zone label, "" when none */
    char *direction;  /* "Entry" or "Exit" */
    char *first_used; /* ALREADY_USED: "First used 14:03 at North (device dv_…)", else "" */
    gboolean has_ticket;
    uint64_t ticket_id;
    gboolean attention; /* special ticket */
    adm_scan_input_t input;
    char nonce[ADM_GATE_NONCE_HEX + 1];
} adm_scan_verdict_t;

/* The presentation of a verdict (new, adm_scan_verdict_free()). type_name
 * may be NULL (then "Type N" when the ticket parsed). now is the local
 * time used to write "today"/a date for first_used (unix seconds). */
adm_scan_verdict_t *adm_scan_verdict_new(const adm_gate_result_t *r, adm_direction_t dir,
                                         const char *type_name, int64_t now);

/* The presentation of a scan that reached no verdict (adm_gate_scan error):
 * ADM_ERR_NOT_FOUND (list or gate not set up), ADM_ERR_STATE (no snapshot),
 * ADM_ERR_STORE (not recorded: scan again), anything else. */
adm_scan_verdict_t *adm_scan_verdict_new_error(adm_err_t e, adm_direction_t dir);

adm_scan_verdict_t *adm_scan_verdict_copy(const adm_scan_verdict_t *v);
void adm_scan_verdict_free(adm_scan_verdict_t *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(adm_scan_verdict_t, adm_scan_verdict_free)

/* "admit", "refuse", "attention" (also the CSS class suffix). */
const char *adm_scan_class_name(adm_scan_class_t c);

/* A local time for people: "14:03:22" today, "Mon 3 Mar 14:03" otherwise
 * (new string). */
char *adm_scan_format_time(int64_t at, int64_t now);

#endif
