/* source.c: camera sources behind one interface (source.h): a V4L2 camera
 * (camera.c), or PNG files played as camera frames (a folder in name order,
 * or one image) for tests, the demo and a GUI without a camera. Only
 * capture: no decoding (frame.c), no scan loop (admit-gate, admit-scan). */
#include "scanner/source.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "scanner/camera.h"
#include "sync/qr.h"

#define FOLDER_FILES_MAX 10000 /* PNG files in a folder source */
#define FPS_DEFAULT 10
#define FPS_MAX 1000
#define HOLD_DEFAULT 5
#define HOLD_MAX 100000
#define NAME_MAX_BYTES 255 /* one file name in the folder */
#define DESCRIBE_MAX (ADM_SOURCE_SPEC_MAX + 64)

typedef enum { KIND_CAMERA, KIND_FILES } kind_t;

struct adm_source {
    kind_t kind;
    adm_camera_t *cam;
    /* KIND_FILES: the PNG paths in name order, played at fps, each for hold frames */
    char **paths;
    size_t n_paths;
    int fps;
    int hold;
    bool loop;
    size_t file;     /* index of the file the next frame comes from */
    int shown;       /* frames of paths[file] handed out so far */
    bool ended;      /* loop=0 and every frame has been handed out */
    adm_image_t img; /* paths[loaded], or no pixels */
    size_t loaded;   /* valid when img.pixels != NULL */
    bool have_last;  /* a frame has been handed out */
    int64_t last_ns; /* when (CLOCK_MONOTONIC) */
    char describe[DESCRIBE_MAX];
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool has_png_suffix(const char *name)
{
    size_t n = strlen(name);

    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A whole decimal number in lo..hi. */
static bool parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
    long v = 0;

    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* "fps=N&loop=0|1&hold=N" (any order, each optional). */
static adm_err_t parse_options(adm_source_t *s, const char *q, char *why, size_t cap)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t klen = eq != NULL ? (size_t)(eq - q) : n;
        const char *val = eq != NULL ? eq + 1 : q + n;
        size_t vlen = eq != NULL ? n - klen - 1 : 0;
        int v = 0;
        bool ok;

        if (klen == 3 && memcmp(q, "fps", 3) == 0)
            ok = parse_int(val, vlen, 1, FPS_MAX, &s->fps);
        else if (klen == 4 && memcmp(q, "hold", 4) == 0)
            ok = parse_int(val, vlen, 1, HOLD_MAX, &s->hold);
        else if (klen == 4 && memcmp(q, "loop", 4) == 0) {
            ok = parse_int(val, vlen, 0, 1, &v);
            s->loop = v == 1;
        } else {
            (void)adm_err_detail(ADM_OK, why, cap, "unknown option '%.*s' (fps, loop, hold)",
                                 (int)klen, q);
            return ADM_ERR_INVALID_ARG;
        }
        if (!ok) {
            (void)adm_err_detail(ADM_OK, why, cap,
                                 "bad value for %.*s (fps 1..%d, loop 0 or 1, hold 1..%d)",
                                 (int)klen, q, FPS_MAX, HOLD_MAX);
            return ADM_ERR_INVALID_ARG;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return ADM_OK;
}

static adm_err_t add_path(adm_source_t *s, const char *dir, const char *name)
{
    char **grown;
    char *p;
    size_t n;

    if (s->n_paths == FOLDER_FILES_MAX)
        return ADM_ERR_IO;
    n = (dir != NULL ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    if ((p = malloc(n)) == NULL)
        return ADM_ERR_NOMEM;
    if (dir != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    else
        snprintf(p, n, "%s", name);
    if ((grown = realloc(s->paths, (s->n_paths + 1) * sizeof *grown)) == NULL) {
        free(p);
        return ADM_ERR_NOMEM;
    }
    s->paths = grown;
    s->paths[s->n_paths++] = p;
    return ADM_OK;
}

/* The folder's regular *.png files (case-insensitive suffix), sorted by
 * name (strcmp: byte order). Other names are skipped. */
static adm_err_t list_folder(adm_source_t *s, const char *dir, char *why, size_t cap)
{
    adm_err_t result = ADM_ERR_IO;
    DIR *d = NULL;
    struct dirent *de;
    struct stat st;
    char **names = NULL;
    size_t n_names = 0;

    if (stat(dir, &st) != 0) {
        result = errno == ENOENT ? ADM_ERR_NOT_FOUND : ADM_ERR_IO;
        (void)adm_err_detail(ADM_OK, why, cap, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        (void)adm_err_detail(ADM_OK, why, cap, "%s: not a folder", dir);
        goto out;
    }
    if ((d = opendir(dir)) == NULL) {
        (void)adm_err_detail(ADM_OK, why, cap, "%s: %s", dir, strerror(errno));
        goto out;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        char **grown;
        char path[4096 + NAME_MAX_BYTES + 2];
        if (!has_png_suffix(de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n_names == FOLDER_FILES_MAX) {
            result = ADM_ERR_IO;
            (void)adm_err_detail(ADM_OK, why, cap, "%s: more than %d PNG files", dir,
                                 FOLDER_FILES_MAX);
            goto out;
        }
        result = ADM_ERR_NOMEM;
        if ((grown = realloc(names, (n_names + 1) * sizeof *grown)) == NULL)
            goto out;
        names = grown;
        if ((names[n_names] = strdup(de->d_name)) == NULL)
            goto out;
        n_names++;
    }
    if (errno != 0) {
        result = ADM_ERR_IO;
        (void)adm_err_detail(ADM_OK, why, cap, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if (n_names == 0) {
        result = ADM_ERR_NOT_FOUND;
        (void)adm_err_detail(ADM_OK, why, cap, "%s: no .png files in this folder", dir);
        goto out;
    }
    qsort(names, n_names, sizeof *names, cmp_names);
    for (size_t i = 0; i < n_names; i++)
        if ((result = add_path(s, dir, names[i])) != ADM_OK)
            goto out;
    result = ADM_OK;
out:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    if (d != NULL)
        closedir(d);
    return result;
}

/* "folder:DIR[?opts]" or "image:FILE[?opts]" (body is what follows the colon). */
static adm_err_t open_files(adm_source_t *s, const char *body, bool folder, char *why, size_t cap)
{
    adm_err_t result;
    char path[ADM_SOURCE_SPEC_MAX + 1];
    const char *q = strchr(body, '?');
    size_t n = q != NULL ? (size_t)(q - body) : strlen(body);
    struct stat st;

    s->kind = KIND_FILES;
    s->fps = FPS_DEFAULT;
    s->hold = HOLD_DEFAULT;
    if (n == 0) {
        (void)adm_err_detail(ADM_OK, why, cap, "%s needs a path", folder ? "folder:" : "image:");
        return ADM_ERR_INVALID_ARG;
    }
    memcpy(path, body, n);
    path[n] = '\0';
    if (q != NULL && (result = parse_options(s, q + 1, why, cap)) != ADM_OK)
        return result;
    if (folder) {
        if ((result = list_folder(s, path, why, cap)) != ADM_OK)
            return result;
        snprintf(s->describe, sizeof s->describe, "folder %s (%zu image%s)", path, s->n_paths,
                 s->n_paths == 1 ? "" : "s");
        return ADM_OK;
    }
    if (stat(path, &st) != 0) {
        (void)adm_err_detail(ADM_OK, why, cap, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? ADM_ERR_NOT_FOUND : ADM_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        (void)adm_err_detail(ADM_OK, why, cap, "%s: not a regular file", path);
        return ADM_ERR_IO;
    }
    if ((result = add_path(s, NULL, path)) != ADM_OK)
        return result;
    snprintf(s->describe, sizeof s->describe, "image %s", path);
    return ADM_OK;
}

adm_err_t adm_source_open(const char *spec, adm_source_t **out, char *why, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_source_t *s = NULL;
    const char *device = NULL;

    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (out == NULL)
        goto out;
    *out = NULL;
    if (spec == NULL || spec[0] == '\0' || strlen(spec) > ADM_SOURCE_SPEC_MAX) {
        (void)adm_err_detail(ADM_OK, why, cap,
                             "bad source (v4l2:DEVICE, /dev/..., folder:DIR, image:FILE)");
        goto out;
    }
    result = ADM_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL)
        goto out;
    result = ADM_ERR_INVALID_ARG;
    if (strncmp(spec, "v4l2:", 5) == 0)
        device = spec + 5;
    else if (strncmp(spec, "/dev/", 5) == 0)
        device = spec;
    if (device != NULL) {
        s->kind = KIND_CAMERA;
        if (device[0] == '\0') {
            (void)adm_err_detail(ADM_OK, why, cap, "v4l2: needs a device, e.g. v4l2:/dev/video0");
            goto out;
        }
        if ((result = adm_camera_open(device, &s->cam, why, cap)) != ADM_OK)
            goto out;
        snprintf(s->describe, sizeof s->describe, "camera %s", device);
    } else if (strncmp(spec, "folder:", 7) == 0) {
        if ((result = open_files(s, spec + 7, true, why, cap)) != ADM_OK)
            goto out;
    } else if (strncmp(spec, "image:", 6) == 0) {
        if ((result = open_files(s, spec + 6, false, why, cap)) != ADM_OK)
            goto out;
    } else {
        (void)adm_err_detail(ADM_OK, why, cap,
                             "unknown source '%s' (v4l2:DEVICE, /dev/..., folder:DIR, image:FILE)",
                             spec);
        goto out;
    }
    *out = s;
    s = NULL;
    result = ADM_OK;
out:
    adm_source_close(s);
    return result;
}

void adm_source_close(adm_source_t *s)
{
    if (s == NULL)
        return;
    adm_camera_close(s->cam);
    for (size_t i = 0; i < s->n_paths; i++)
        free(s->paths[i]);
    free(s->paths);
    adm_image_free(&s->img);
    free(s);
}

/* Sleeps ns (> 0); false when a signal cut it short. */
static bool sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};

    return clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == 0;
}

/* The next file frame: one frame period after the previous one (never
 * sooner, never skipped: a slow reader slows the source down instead of
 * losing an image, unlike a camera). */
static adm_err_t next_file_frame(adm_source_t *s, int timeout_ms, const uint8_t **y800, int *width,
                                 int *height, char *why, size_t cap)
{
    adm_err_t e;
    int64_t period = 1000000000 / s->fps, wait_ns = 0, now;

    if (s->ended)
        return ADM_ERR_NOT_FOUND;
    now = now_ns();
    if (s->have_last && s->last_ns + period > now)
        wait_ns = s->last_ns + period - now;
    if (wait_ns > 0) {
        if (timeout_ms >= 0 && wait_ns > (int64_t)timeout_ms * 1000000) {
            if (timeout_ms > 0)
                sleep_ns((int64_t)timeout_ms * 1000000);
            return ADM_OK; /* nothing in time */
        }
        if (!sleep_ns(wait_ns))
            return ADM_OK; /* a signal: the caller looks at its flags */
    }
    if (s->img.pixels == NULL || s->loaded != s->file) {
        adm_image_free(&s->img);
        e = adm_image_load_png(s->paths[s->file], &s->img);
        if (e != ADM_OK) {
            /* skip the file: a caller that goes on gets the next one, one
             * frame period later (a looping folder of bad files never spins) */
            (void)adm_err_detail(ADM_OK, why, cap, "%s: %s", s->paths[s->file], adm_strerror(e));
            s->have_last = true;
            s->last_ns = now_ns();
            s->shown = 0;
            if (++s->file == s->n_paths) {
                s->file = 0;
                s->ended = !s->loop;
            }
            return e == ADM_ERR_IO || e == ADM_ERR_NOMEM ? e : ADM_ERR_IMAGE;
        }
        s->loaded = s->file;
    }
    *y800 = s->img.pixels;
    *width = s->img.width;
    *height = s->img.height;
    s->have_last = true;
    s->last_ns = now_ns();
    if (++s->shown == s->hold) {
        s->shown = 0;
        if (++s->file == s->n_paths) {
            s->file = 0;
            s->ended = !s->loop;
        }
    }
    return ADM_OK;
}

adm_err_t adm_source_next(adm_source_t *s, int timeout_ms, const uint8_t **y800, int *width,
                          int *height, char *why, size_t cap)
{
    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (s == NULL || y800 == NULL || width == NULL || height == NULL)
        return ADM_ERR_INVALID_ARG;
    *y800 = NULL;
    *width = *height = 0;
    if (s->kind == KIND_CAMERA)
        return adm_camera_next(s->cam, timeout_ms, y800, width, height, why, cap);
    return next_file_frame(s, timeout_ms, y800, width, height, why, cap);
}

const char *adm_source_describe(const adm_source_t *s)
{
    return s != NULL ? s->describe : "";
}
