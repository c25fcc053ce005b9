/* gen-tones.c: writes admit-scan's verdict sounds as small WAV files at build
 * time (compiled into the GResource): a rising two-note chime for admit, a
 * low double buzz for refuse, three short mid beeps for attention. Not
 * installed. Usage: gen-tones OUTDIR */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 22050
#define TAU 6.283185307179586
#define MAX_SAMPLES (RATE * 2)

typedef struct note {
    double hz; /* 0 = silence */
    int ms;
    int square; /* 1: a harsher square-ish wave */
} note_t;

static void put16(FILE *f, uint16_t v)
{
    fputc(v & 0xff, f);
    fputc(v >> 8, f);
}

static void put32(FILE *f, uint32_t v)
{
    put16(f, (uint16_t)(v & 0xffff));
    put16(f, (uint16_t)(v >> 16));
}

static int write_wav(const char *dir, const char *name, const note_t *notes, int n)
{
    static int16_t pcm[MAX_SAMPLES];
    size_t len = 0;
    char path[4096];
    FILE *f;

    for (int i = 0; i < n; i++) {
        int count = RATE * notes[i].ms / 1000;
        for (int k = 0; k < count && len < MAX_SAMPLES; k++) {
            double t = (double)k / RATE, env = 1.0, v = 0.0;
            int fade = RATE / 200; /* 5 ms fades: no clicks */
            if (k < fade)
                env = (double)k / fade;
            else if (count - k < fade)
                env = (double)(count - k) / fade;
            if (notes[i].hz > 0) {
                v = sin(TAU * notes[i].hz * t);
                if (notes[i].square)
                    v = v > 0 ? 0.6 : -0.6;
            }
            pcm[len++] = (int16_t)(v * env * 0.5 * 32767);
        }
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "wb")) == NULL) {
        perror(path);
        return 1;
    }
    fwrite("RIFF", 1, 4, f);
    put32(f, (uint32_t)(36 + len * 2));
    fwrite("WAVEfmt ", 1, 8, f);
    put32(f, 16);
    put16(f, 1); /* PCM */
    put16(f, 1); /* mono */
    put32(f, RATE);
    put32(f, RATE * 2);
    put16(f, 2);
    put16(f, 16);
    fwrite("data", 1, 4, f);
    put32(f, (uint32_t)(len * 2));
    for (size_t i = 0; i < len; i++)
        put16(f, (uint16_t)pcm[i]);
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    static const note_t admit[] = {{880, 110, 0}, {0, 30, 0}, {1320, 180, 0}};
    static const note_t refuse[] = {{196, 260, 1}, {0, 80, 0}, {196, 260, 1}};
    static const note_t attention[] = {
        {660, 90, 0}, {0, 60, 0}, {660, 90, 0}, {0, 60, 0}, {660, 90, 0}};

    if (argc != 2) {
        fputs("usage: gen-tones OUTDIR\n", stderr);
        return 2;
    }
    return write_wav(argv[1], "admit.wav", admit, 3) | write_wav(argv[1], "refuse.wav", refuse, 3) |
           write_wav(argv[1], "attention.wav", attention, 5);
}
