/* test-source.c: unit tests of scanner/source.c, the camera sources: specs,
 * folders of PNG files played as frames (name order, pacing, hold, loop,
 * end), one image, and real ZBar decoding of rendered ticket QR codes through
 * source -> frame reader. Not a real V4L2 device (none here): only the
 * errors of a missing or unusable one. */
#include "scanner/source.h"

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scanner/frame.h"
#include "sync/qr.h"
#include "tests/testutil/testutil.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A plain grey PNG w pixels wide (the width tells frames apart). */
static void write_blank(const char *dir, const char *name, int w)
{
    char path[4096];
    adm_image_t img = {0};

    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_ERR(adm_image_new(w, 8, 200, &img), ADM_OK);
    CHECK_ERR(adm_image_write_png(&img, path), ADM_OK);
    adm_image_free(&img);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Opens "KIND:PATH?OPTS" (opts without the '?', may be empty). */
static adm_source_t *open_ok(const char *kind, const char *path, const char *opts)
{
    char spec[ADM_SOURCE_SPEC_MAX + 1];
    char why[256];
    adm_source_t *s = NULL;

    snprintf(spec, sizeof spec, "%s:%s%s%s", kind, path, opts[0] ? "?" : "", opts);
    CHECK_ERR(adm_source_open(spec, &s, why, sizeof why), ADM_OK);
    CHECK(s != NULL);
    return s;
}

/* The next frame (waiting as long as needed): its width, or -1 at the end. */
static int next_width(adm_source_t *s)
{
    const uint8_t *y = NULL;
    int w = 0, h = 0;
    char why[256];
    adm_err_t e = adm_source_next(s, -1, &y, &w, &h, why, sizeof why);

    if (e == ADM_ERR_NOT_FOUND)
        return -1;
    CHECK_ERR(e, ADM_OK);
    CHECK(y != NULL);
    CHECK_INT(h, 8);
    return w;
}

static void test_bad_specs(void)
{
    static const char *const bad[] = {
        "",
        "webcam",
        "folder:",
        "image:",
        "v4l2:",
        "gst:videotestsrc",
        "folder:/tmp?fps=0",
        "folder:/tmp?fps=1001",
        "folder:/tmp?fps=x",
        "folder:/tmp?hold=0",
        "folder:/tmp?loop=2",
        "folder:/tmp?speed=3",
        "folder:/tmp?fps",
        "image:/tmp/x.png?hold=-1",
    };
    adm_source_t *s = (adm_source_t *)1;
    char why[256];
    char *huge;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        CHECK_ERR(adm_source_open(bad[i], &s, why, sizeof why), ADM_ERR_INVALID_ARG);
        CHECK(s == NULL);
        if (why[0] == '\0')
            adm_test_fail(__FILE__, __LINE__, "no reason given for '%s'", bad[i]);
    }
    CHECK_ERR(adm_source_open(NULL, &s, why, sizeof why), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_source_open("folder:/tmp", NULL, why, sizeof why), ADM_ERR_INVALID_ARG);
    huge = malloc(ADM_SOURCE_SPEC_MAX + 16);
    CHECK(huge != NULL);
    if (huge != NULL) {
        memcpy(huge, "folder:", 7);
        memset(huge + 7, 'a', ADM_SOURCE_SPEC_MAX);
        huge[ADM_SOURCE_SPEC_MAX + 7] = '\0';
        CHECK_ERR(adm_source_open(huge, &s, NULL, 0), ADM_ERR_INVALID_ARG);
        free(huge);
    }
    /* NULL arguments to next/describe */
    {
        const uint8_t *y;
        int w, h;
        CHECK_ERR(adm_source_next(NULL, 0, &y, &w, &h, NULL, 0), ADM_ERR_INVALID_ARG);
        CHECK_STR(adm_source_describe(NULL), "");
        adm_source_close(NULL);
    }
}

static void test_missing(void)
{
    adm_source_t *s = NULL;
    char why[256];
    char path[4096];
    const char *dir = adm_test_tmpdir();

    CHECK_ERR(adm_source_open("folder:/nonexistent/admit-frames", &s, why, sizeof why),
              ADM_ERR_NOT_FOUND);
    CHECK(strstr(why, "No such file") != NULL);
    CHECK_ERR(adm_source_open("image:/nonexistent/t.png", &s, why, sizeof why), ADM_ERR_NOT_FOUND);
    /* an empty folder, or one without .png files, has no frames: refused at open */
    snprintf(path, sizeof path, "folder:%s", dir);
    CHECK_ERR(adm_source_open(path, &s, why, sizeof why), ADM_ERR_NOT_FOUND);
    CHECK(strstr(why, "no .png files") != NULL);
    write_text(dir, "notes.txt", "hello");
    CHECK_ERR(adm_source_open(path, &s, why, sizeof why), ADM_ERR_NOT_FOUND);
    /* a file given as a folder, a folder given as an image */
    snprintf(path, sizeof path, "folder:%s/notes.txt", dir);
    CHECK_ERR(adm_source_open(path, &s, why, sizeof why), ADM_ERR_IO);
    CHECK(strstr(why, "not a folder") != NULL);
    snprintf(path, sizeof path, "image:%s", dir);
    CHECK_ERR(adm_source_open(path, &s, why, sizeof why), ADM_ERR_IO);
    /* cameras: a missing device, a file that is no device */
    CHECK_ERR(adm_source_open("/dev/admit-no-such-video", &s, why, sizeof why), ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_source_open("v4l2:/dev/admit-no-such-video", &s, why, sizeof why),
              ADM_ERR_NOT_FOUND);
    CHECK_ERR(adm_source_open("v4l2:/dev/null", &s, why, sizeof why), ADM_ERR_IO);
    CHECK(s == NULL);
    rm_tree(dir);
}

/* name order, other files skipped, hold, end without loop, describe */
static void test_folder_order_hold_end(void)
{
    const char *dir = adm_test_tmpdir();
    adm_source_t *s;
    char sub[4096];

    write_blank(dir, "b.png", 30);
    write_blank(dir, "a.png", 10);
    write_blank(dir, "c.PNG", 40); /* the suffix is case-insensitive */
    write_blank(dir, "B.png", 20); /* byte order: "B" < "a" */
    write_text(dir, "README.txt", "not an image");
    write_text(dir, "a.png.txt", "not an image either");
    snprintf(sub, sizeof sub, "%s/d.png", dir); /* a folder named like an image */
    CHECK(mkdir(sub, 0700) == 0);

    s = open_ok("folder", dir, "fps=1000&hold=2");
    {
        char want[4200];
        snprintf(want, sizeof want, "folder %s (4 images)", dir);
        CHECK_STR(adm_source_describe(s), want);
    }
    static const int order[] = {20, 20, 10, 10, 30, 30, 40, 40};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        CHECK_INT(next_width(s), order[i]);
    CHECK_INT(next_width(s), -1); /* loop=0 (the default): the source has ended */
    CHECK_INT(next_width(s), -1); /* and stays ended */
    adm_source_close(s);

    /* hold=1, explicit loop=0 */
    s = open_ok("folder", dir, "hold=1&loop=0&fps=1000");
    for (int i = 0; i < 4; i++)
        CHECK(next_width(s) > 0);
    CHECK_INT(next_width(s), -1);
    adm_source_close(s);

    /* the default hold is 5 frames per image */
    s = open_ok("folder", dir, "fps=1000");
    for (int i = 0; i < 5; i++)
        CHECK_INT(next_width(s), 20);
    CHECK_INT(next_width(s), 10);
    adm_source_close(s);

    /* loop=1 starts over after the last image */
    s = open_ok("folder", dir, "loop=1&hold=1&fps=1000");
    static const int looped[] = {20, 10, 30, 40, 20, 10, 30, 40, 20};
    for (size_t i = 0; i < sizeof looped / sizeof looped[0]; i++)
        CHECK_INT(next_width(s), looped[i]);
    adm_source_close(s);
    rm_tree(dir);
}

/* frames come at roughly fps; a short timeout returns no frame */
static void test_pacing(void)
{
    const char *dir = adm_test_tmpdir();
    adm_source_t *s;
    const uint8_t *y;
    int w, h;
    int64_t t0, dt;

    write_blank(dir, "a.png", 10);
    s = open_ok("folder", dir, "fps=50&hold=11");
    t0 = now_ms();
    for (int i = 0; i < 11; i++)
        CHECK_INT(next_width(s), 10);
    dt = now_ms() - t0;
    /* 10 periods of 20 ms after the first frame; generous upper bound for slow builds */
    if (dt < 190 || dt > 2000)
        adm_test_fail(__FILE__, __LINE__, "11 frames at 50 fps took %lld ms", (long long)dt);
    CHECK_INT(next_width(s), -1);
    adm_source_close(s);

    s = open_ok("folder", dir, "fps=2&hold=3");
    CHECK_INT(next_width(s), 10); /* the first frame at once */
    t0 = now_ms();
    CHECK_ERR(adm_source_next(s, 50, &y, &w, &h, NULL, 0), ADM_OK);
    CHECK(y == NULL); /* the next one is due in 500 ms */
    dt = now_ms() - t0;
    if (dt < 45 || dt > 400)
        adm_test_fail(__FILE__, __LINE__, "a 50 ms timeout took %lld ms", (long long)dt);
    CHECK_ERR(adm_source_next(s, 0, &y, &w, &h, NULL, 0), ADM_OK);
    CHECK(y == NULL);
    CHECK_ERR(adm_source_next(s, 1000, &y, &w, &h, NULL, 0), ADM_OK);
    CHECK(y != NULL);
    dt = now_ms() - t0;
    if (dt < 450 || dt > 1500)
        adm_test_fail(__FILE__, __LINE__, "a frame at 2 fps came after %lld ms", (long long)dt);
    adm_source_close(s);
    rm_tree(dir);
}

/* a .png that is not a PNG: ADM_ERR_IMAGE for that file, then the next one */
static void test_not_a_png(void)
{
    const char *dir = adm_test_tmpdir();
    adm_source_t *s;
    const uint8_t *y;
    int w, h;
    char why[512];

    write_blank(dir, "a.png", 10);
    write_text(dir, "b.png", "this is text, not a PNG");
    write_blank(dir, "c.png", 30);
    s = open_ok("folder", dir, "fps=1000&hold=2");
    CHECK_INT(next_width(s), 10);
    CHECK_INT(next_width(s), 10);
    CHECK_ERR(adm_source_next(s, -1, &y, &w, &h, why, sizeof why), ADM_ERR_IMAGE);
    CHECK(y == NULL);
    CHECK(strstr(why, "b.png") != NULL);
    CHECK_INT(next_width(s), 30);
    CHECK_INT(next_width(s), 30);
    CHECK_INT(next_width(s), -1);
    adm_source_close(s);
    rm_tree(dir);
}

static void test_image_spec(void)
{
    const char *dir = adm_test_tmpdir();
    char path[4096], want[4200];
    adm_source_t *s;

    write_blank(dir, "one.png", 25);
    snprintf(path, sizeof path, "%s/one.png", dir);
    s = open_ok("image", path, "fps=1000");
    snprintf(want, sizeof want, "image %s", path);
    CHECK_STR(adm_source_describe(s), want);
    for (int i = 0; i < 5; i++) /* held 5 frames, like a code shown to a camera */
        CHECK_INT(next_width(s), 25);
    CHECK_INT(next_width(s), -1);
    adm_source_close(s);
    s = open_ok("image", path, "fps=1000&hold=1&loop=1");
    for (int i = 0; i < 20; i++)
        CHECK_INT(next_width(s), 25);
    adm_source_close(s);
    /* a text file as image: opens (it exists), fails on the first frame */
    write_text(dir, "fake.png", "nope");
    snprintf(path, sizeof path, "%s/fake.png", dir);
    s = open_ok("image", path, "");
    {
        const uint8_t *y;
        int w, h;
        CHECK_ERR(adm_source_next(s, -1, &y, &w, &h, NULL, 0), ADM_ERR_IMAGE);
        CHECK_ERR(adm_source_next(s, -1, &y, &w, &h, NULL, 0), ADM_ERR_NOT_FOUND);
    }
    adm_source_close(s);
    rm_tree(dir);
}

/* rendered QR codes -> folder source -> frame reader (real ZBar) */
static void test_decode_through_reader(void)
{
    const char *dir = adm_test_tmpdir();
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    adm_frame_reader_t *rd = NULL;
    adm_source_t *s;
    char path[4096], out[ADM_QR_TEXT_MAX + 1];
    const char *texts[] = {"AD1:TICKET-ONE", "AD1:TICKET-TWO", "AD1:TICKET-THREE"};
    const char *got[8];
    int n_got = 0, frames = 0, empty = 0;
    adm_image_t blank = {0};

    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/ticket-%d.png", dir, i + 1);
        CHECK_ERR(adm_qr_write_png(texts[i], &style, path), ADM_OK);
    }
    /* a frame without a code between two tickets */
    snprintf(path, sizeof path, "%s/ticket-2b.png", dir);
    CHECK_ERR(adm_image_new(200, 200, 255, &blank), ADM_OK);
    CHECK_ERR(adm_image_write_png(&blank, path), ADM_OK);
    adm_image_free(&blank);

    CHECK_ERR(adm_frame_reader_new(ADM_FRAME_REPEAT_MS_DEFAULT, &rd), ADM_OK);
    s = open_ok("folder", dir, "fps=200&hold=4");
    for (;;) {
        const uint8_t *y = NULL;
        int w = 0, h = 0;
        size_t len = 0;
        adm_err_t e = adm_source_next(s, 1000, &y, &w, &h, NULL, 0);
        if (e == ADM_ERR_NOT_FOUND)
            break;
        CHECK_ERR(e, ADM_OK);
        if (e != ADM_OK || y == NULL)
            break;
        frames++;
        e = adm_frame_reader_read(rd, y, w, h, now_ms(), out, sizeof out, &len);
        if (e == ADM_OK && n_got < 8)
            got[n_got++] = strdup(out);
        else if (e == ADM_ERR_QR_NOT_FOUND)
            empty++;
        else
            CHECK_ERR(e, ADM_ERR_EXISTS); /* the same code held in front of the camera */
    }
    CHECK_INT(frames, 16);
    CHECK_INT(empty, 4);
    /* each code once, in name order; the blank frames between do not rescan ticket 2 */
    CHECK_INT(n_got, 3);
    if (n_got == 3) {
        CHECK_STR(got[0], texts[0]);
        CHECK_STR(got[1], texts[1]);
        CHECK_STR(got[2], texts[2]);
    }
    for (int i = 0; i < n_got; i++)
        free((void *)got[i]);
    adm_source_close(s);
    adm_frame_reader_free(rd);
    rm_tree(dir);
}

int main(void)
{
    ADM_RUN(test_bad_specs);
    ADM_RUN(test_missing);
    ADM_RUN(test_folder_order_hold_end);
    ADM_RUN(test_pacing);
    ADM_RUN(test_not_a_png);
    ADM_RUN(test_image_spec);
    ADM_RUN(test_decode_through_reader);
    return adm_test_done();
}
