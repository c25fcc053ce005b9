/* testutil.c: implementation of the shared test harness (testutil.h). */
#include "tests/testutil/testutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <unistd.h>

#include "sync/err.h"

int adm_test_failures;
static const char *current;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void adm_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "FAIL %s: %s:%d: ", current ? current : "-", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    adm_test_failures++;
}

void adm_test_run(const char *name, void (*fn)(void))
{
    int before = adm_test_failures;

    current = name;
    fn();
    printf("%s %s\n", adm_test_failures == before ? "ok  " : "FAIL", name);
    fflush(stdout);
    current = NULL;
}

int adm_test_done(void)
{
    if (adm_test_failures)
        fprintf(stderr, "%d check(s) failed\n", adm_test_failures);
    return adm_test_failures ? 1 : 0;
}

long adm_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;

    for (; *hex; hex++) {
        int v;
        if (isspace((unsigned char)*hex))
            continue;
        if (*hex >= '0' && *hex <= '9')
            v = *hex - '0';
        else if (*hex >= 'a' && *hex <= 'f')
            v = *hex - 'a' + 10;
        else if (*hex >= 'A' && *hex <= 'F')
            v = *hex - 'A' + 10;
        else
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)n : -1;
}

const char *adm_test_tmpdir(void)
{
    static char path[4096];
    const char *base = getenv("TMPDIR");

    snprintf(path, sizeof path, "%s/admit-test-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

char *adm_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)size + 1);
    if (buf == NULL)
        goto out;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
    if (len)
        *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

void adm_test_seed(uint64_t seed)
{
    rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t adm_test_rand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
