/* testutil.h: the small test harness every C test links (tests/testutil).
 * A test file defines static void test_*(void) functions and a main() that
 * runs them with ADM_RUN(); a failed check prints file:line and the values,
 * and the process exits 1. Not a framework: no fixtures, no forking. */
#ifndef ADM_TESTUTIL_H
#define ADM_TESTUTIL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int adm_test_failures;

void adm_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            adm_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                         \
    } while (0)

#define CHECK_INT(a, b)                                                                    \
    do {                                                                                   \
        long long va_ = (long long)(a), vb_ = (long long)(b);                              \
        if (va_ != vb_)                                                                    \
            adm_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, va_,  \
                          #b, vb_);                                                        \
    } while (0)

/* compares adm_err_t values and prints their names */
#define CHECK_ERR(a, b)                                                                    \
    do {                                                                                   \
        int ea_ = (int)(a), eb_ = (int)(b);                                                \
        if (ea_ != eb_)                                                                    \
            adm_test_fail(__FILE__, __LINE__, "%s -> %s (%d), expected %s (%d)", #a,       \
                          adm_err_name((adm_err_t)ea_), ea_, adm_err_name((adm_err_t)eb_), \
                          eb_);                                                            \
    } while (0)

#define CHECK_STR(a, b)                                                                    \
    do {                                                                                   \
        const char *sa_ = (a), *sb_ = (b);                                                 \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0)                           \
            adm_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,          \
                          sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                     \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                 \
    do {                                                                                   \
        if (memcmp((a), (b), (n)) != 0)                                                    \
            adm_test_fail(__FILE__, __LINE__, "memory %s != %s (%zu bytes)", #a, #b,       \
                          (size_t)(n));                                                    \
    } while (0)

/* Runs one test function and reports it. */
#define ADM_RUN(fn) adm_test_run(#fn, fn)
void adm_test_run(const char *name, void (*fn)(void));

/* Exit status for main(): 0 when every check passed. */
int adm_test_done(void);

/* Decodes hex (whitespace ignored) into out; returns the byte count or -1. */
long adm_test_unhex(const char *hex, uint8_t *out, size_t cap);

/* Makes a fresh temporary directory (mkdtemp under $TMPDIR or /tmp); returns a
 * static path that stays valid until the next call. Aborts on failure. */
const char *adm_test_tmpdir(void);

/* Reads a whole file into a new NUL-terminated buffer (free with free());
 * NULL on failure. */
char *adm_test_read_file(const char *path, size_t *len);

/* Deterministic PRNG for reproducible random tests (xorshift64*). */
uint64_t adm_test_rand(void);
void adm_test_seed(uint64_t seed);

#endif
