/* camera.c: V4L2 capture through ZBar's video API, frames converted to
 * 8-bit grey for frame.c. Not decoding (frame.c) and not the scan loop
 * (main.c). */
#include "scanner/camera.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zbar.h>

struct adm_camera {
    zbar_video_t *video;
    zbar_image_t *grey; /* the last frame handed out, converted to Y800 */
    bool enabled;
};

#define FOURCC_Y800 zbar_fourcc('Y', '8', '0', '0')

/* ZBar's last video error, on one line, after what. */
static void zbar_why(const zbar_video_t *v, const char *what, char *why, size_t cap)
{
    const char *z = zbar_video_error_string(v, 0);
    char line[512];
    size_t n = 0;

    if (why == NULL || cap == 0)
        return;
    /* "WARNING: zbar video in f():\n    system error: …": keep what follows "error: " */
    if (z != NULL) {
        const char *p = strstr(z, "error: ") != NULL ? strstr(z, "error: ") + 7 : z;
        for (; *p != '\0' && n + 1 < sizeof line; p++)
            line[n++] = (*p == '\n' || *p == '\t') ? ' ' : *p;
    }
    while (n > 0 && line[n - 1] == ' ')
        n--;
    line[n] = '\0';
    snprintf(why, cap, "%s%s%s", what, n ? ": " : "", line);
}

adm_err_t adm_camera_open(const char *device, adm_camera_t **out, char *why, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    adm_camera_t *cam = NULL;
    struct stat st;

    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (out == NULL || device == NULL || device[0] == '\0')
        goto out;
    *out = NULL;
    if (stat(device, &st) != 0) {
        result = errno == ENOENT ? ADM_ERR_NOT_FOUND : ADM_ERR_IO;
        if (why != NULL)
            snprintf(why, cap, "%s", strerror(errno));
        goto out;
    }
    result = ADM_ERR_IO;
    if (!S_ISCHR(st.st_mode)) {
        if (why != NULL)
            snprintf(why, cap, "not a video device (not a character device)");
        goto out;
    }
    result = ADM_ERR_NOMEM;
    if ((cam = calloc(1, sizeof *cam)) == NULL || (cam->video = zbar_video_create()) == NULL)
        goto out;
    result = ADM_ERR_IO;
    if (zbar_video_open(cam->video, device) != 0) {
        zbar_why(cam->video, "not a usable video capture device", why, cap);
        goto out;
    }
    /* no window: ZBar picks the capture format cheapest to scan */
    if (zbar_negotiate_format(cam->video, NULL) != 0) {
        zbar_why(cam->video, "no capture format ZBar can scan", why, cap);
        goto out;
    }
    if (zbar_video_enable(cam->video, 1) != 0) {
        zbar_why(cam->video, "cannot start capture", why, cap);
        goto out;
    }
    cam->enabled = true;
    *out = cam;
    cam = NULL;
    result = ADM_OK;
out:
    adm_camera_close(cam);
    return result;
}

void adm_camera_close(adm_camera_t *cam)
{
    if (cam == NULL)
        return;
    if (cam->grey != NULL)
        zbar_image_destroy(cam->grey);
    if (cam->video != NULL) {
        if (cam->enabled)
            zbar_video_enable(cam->video, 0);
        zbar_video_destroy(cam->video);
    }
    free(cam);
}

adm_err_t adm_camera_next(adm_camera_t *cam, int timeout_ms, const uint8_t **y800, int *width,
                          int *height, char *why, size_t cap)
{
    adm_err_t result = ADM_ERR_INVALID_ARG;
    zbar_image_t *img = NULL;
    int fd;

    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (cam == NULL || y800 == NULL || width == NULL || height == NULL)
        goto out;
    *y800 = NULL;
    *width = *height = 0;
    if (cam->grey != NULL) {
        zbar_image_destroy(cam->grey);
        cam->grey = NULL;
    }
    fd = zbar_video_get_fd(cam->video);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, timeout_ms);
        if (rc == 0 || (rc < 0 && errno == EINTR)) {
            result = ADM_OK; /* nothing in time (or a signal: the caller looks at its flags) */
            goto out;
        }
        result = ADM_ERR_IO;
        if (rc < 0) {
            if (why != NULL)
                snprintf(why, cap, "poll: %s", strerror(errno));
            goto out;
        }
    }
    result = ADM_ERR_IO;
    if ((img = zbar_video_next_image(cam->video)) == NULL) {
        zbar_why(cam->video, "capture failed", why, cap);
        goto out;
    }
    cam->grey = zbar_image_convert(img, FOURCC_Y800);
    if (cam->grey == NULL ||
        zbar_image_get_data_length(cam->grey) <
            (unsigned long)zbar_image_get_width(cam->grey) * zbar_image_get_height(cam->grey)) {
        if (why != NULL)
            snprintf(why, cap, "cannot convert the frame to greyscale");
        goto out;
    }
    *y800 = zbar_image_get_data(cam->grey);
    *width = (int)zbar_image_get_width(cam->grey);
    *height = (int)zbar_image_get_height(cam->grey);
    result = ADM_OK;
out:
    if (img != NULL)
        zbar_image_destroy(img); /* hands the buffer back to the video queue */
    return result;
}
