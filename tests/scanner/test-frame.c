/* test-frame.c: unit tests of scanner/frame.c, the frame -> text path that
 * admit-gate's --image and --camera share: real ZBar decoding of rendered
 * QR codes, and the repeat filter of consecutive camera frames. Not the
 * camera itself (no device here; tests/scanner/test-admit-gate.sh checks
 * the errors of a missing one). */
#include "scanner/frame.h"

#include "sync/qr.h"
#include "tests/testutil/testutil.h"

/* A rendered QR code of text as a greyscale frame. */
static void frame_of(const char *text, adm_image_t *img)
{
    adm_qr_style_t style = ADM_QR_STYLE_DEFAULT;
    uint8_t *png = NULL;
    size_t len = 0;

    CHECK_ERR(adm_qr_render_png(text, &style, &png, &len), ADM_OK);
    CHECK_ERR(adm_image_load_png_mem(png, len, img), ADM_OK);
    free(png);
}

static adm_err_t read_at(adm_frame_reader_t *r, const adm_image_t *img, int64_t ms, char *out)
{
    size_t len = 0;
    return adm_frame_reader_read(r, img->pixels, img->width, img->height, ms, out,
                                 ADM_QR_TEXT_MAX + 1, &len);
}

static void test_repeat_filter(void)
{
    adm_frame_reader_t *r = NULL;
    adm_image_t a = {0}, b = {0}, blank = {0};
    char out[ADM_QR_TEXT_MAX + 1];

    frame_of("AD1:FIRST-CODE", &a);
    frame_of("AD1:SECOND-CODE", &b);
    CHECK_ERR(adm_image_new(320, 240, 255, &blank), ADM_OK);
    CHECK_ERR(adm_frame_reader_new(-1, &r), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_frame_reader_new(ADM_FRAME_REPEAT_MS_MAX + 1, &r), ADM_ERR_INVALID_ARG);
    CHECK_ERR(adm_frame_reader_new(2000, &r), ADM_OK);
    CHECK_ERR(read_at(r, &a, 0, out), ADM_OK);
    CHECK_STR(out, "AD1:FIRST-CODE");
    /* held in front of the camera: every frame within 2 s of the last sighting is a repeat */
    CHECK_ERR(read_at(r, &a, 40, out), ADM_ERR_EXISTS);
    CHECK_ERR(read_at(r, &a, 1900, out), ADM_ERR_EXISTS);
    CHECK_ERR(read_at(r, &a, 3800, out), ADM_ERR_EXISTS); /* 1.9 s after the last sighting */
    /* frames without a code do not end the sighting */
    CHECK_ERR(read_at(r, &blank, 4000, out), ADM_ERR_QR_NOT_FOUND);
    CHECK_ERR(read_at(r, &a, 5000, out), ADM_ERR_EXISTS);
    /* gone for 2 s: scanned again (the holder presents it once more) */
    CHECK_ERR(read_at(r, &a, 7000, out), ADM_OK);
    /* another code, then the first again at once: not "twice in a row" */
    CHECK_ERR(read_at(r, &b, 7100, out), ADM_OK);
    CHECK_STR(out, "AD1:SECOND-CODE");
    CHECK_ERR(read_at(r, &a, 7200, out), ADM_OK);
    CHECK_STR(out, "AD1:FIRST-CODE");
    /* the caller's buffer must fit the text */
    {
        size_t len = 9;
        char small[4];
        CHECK_ERR(
            adm_frame_reader_read(r, b.pixels, b.width, b.height, 9000, small, sizeof small, &len),
            ADM_ERR_TOO_BIG);
        CHECK_INT(len, 0);
        CHECK_ERR(adm_frame_reader_read(r, NULL, 1, 1, 9000, out, sizeof out, &len),
                  ADM_ERR_INVALID_ARG);
    }
    adm_frame_reader_free(r);
    /* repeat 0 (still images): every decoded frame is a scan */
    CHECK_ERR(adm_frame_reader_new(0, &r), ADM_OK);
    CHECK_ERR(read_at(r, &a, 0, out), ADM_OK);
    CHECK_ERR(read_at(r, &a, 0, out), ADM_OK);
    adm_frame_reader_free(r);
    adm_image_free(&a);
    adm_image_free(&b);
    adm_image_free(&blank);
}

int main(void)
{
    ADM_RUN(test_repeat_filter);
    return adm_test_done();
}
