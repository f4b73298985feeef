#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { STYLE_OFF, STYLE_LINE, STYLE_PLAIN };

static struct {
    int style;
    double delay;   /* seconds into the run before anything is shown */
    double started; /* the run's start */
    char phase[32], unit[16];
    int64_t first, done, total;
    double bytes_per_unit, phase_start, last_print;
    int decile;  /* the last tenth printed (plain) */
    int showing; /* a terminal line is on screen */
} pg;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dp_progress_init(dp_progress_mode_t mode, int rank)
{
    memset(&pg, 0, sizeof pg);
    pg.started = now();
    if (rank != 0 || mode == DP_PROGRESS_NONE)
        return;
    const int tty = isatty(STDERR_FILENO);
    pg.style =
        mode == DP_PROGRESS_LINE || (mode == DP_PROGRESS_AUTO && tty) ? STYLE_LINE : STYLE_PLAIN;
    pg.delay = mode == DP_PROGRESS_AUTO ? 2.0 : 0.0;
}

/* Seconds as M:SS, or H:MM:SS from an hour on. */
static void clock_text(double s, char *buf, size_t size)
{
    const long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void show(double t)
{
    const double in_phase = t - pg.phase_start;
    const double rate = in_phase > 0 ? (double)(pg.done - pg.first) / in_phase : 0;
    char elapsed[32], eta[32], speed[48];
    clock_text(t - pg.started, elapsed, sizeof elapsed);
    if (rate > 0)
        clock_text((double)(pg.total - pg.done) / rate, eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "?");
    if (pg.bytes_per_unit > 0)
        snprintf(speed, sizeof speed, "%.1f MB/s", rate * pg.bytes_per_unit / 1e6);
    else
        snprintf(speed, sizeof speed, "%.1f %s/s", rate, pg.unit);
    char amount[96];
    if (!strcmp(pg.unit, "bytes")) {
        const double scale = pg.total >= 1e9 ? 1e9 : pg.total >= 1e6 ? 1e6 : 1e3;
        snprintf(amount, sizeof amount, "%.1f/%.1f %s", (double)pg.done / scale,
                 (double)pg.total / scale,
                 scale == 1e9   ? "GB"
                 : scale == 1e6 ? "MB"
                                : "kB");
    } else
        snprintf(amount, sizeof amount, "%lld/%lld %s", (long long)pg.done, (long long)pg.total,
                 pg.unit);
    const int pct = pg.total > 0 ? (int)(100 * pg.done / pg.total) : 100;
    fprintf(stderr, "%sdproc: progress: %s %s (%d%%), %s, elapsed %s, eta %s%s",
            pg.style == STYLE_LINE ? "\r" : "", pg.phase, amount, pct, speed, elapsed, eta,
            pg.style == STYLE_LINE ? "\033[K" : "\n");
    fflush(stderr);
    pg.last_print = t;
    pg.showing = pg.style == STYLE_LINE;
}

void dp_progress_begin(const char *phase, const char *unit, int64_t done, int64_t total,
                       double bytes_per_unit)
{
    if (pg.style == STYLE_OFF)
        return;
    snprintf(pg.phase, sizeof pg.phase, "%s", phase);
    snprintf(pg.unit, sizeof pg.unit, "%s", unit);
    pg.first = pg.done = done;
    pg.total = total;
    pg.bytes_per_unit = bytes_per_unit;
    pg.phase_start = now();
    pg.decile = total > 0 ? (int)(10 * done / total) : 10;
}

void dp_progress_update(int64_t done)
{
    if (pg.style == STYLE_OFF)
        return;
    pg.done = done < pg.total ? done : pg.total; /* a rank's last record may end past its range */
    const double t = now();
    if (t - pg.started < pg.delay)
        return;
    if (pg.style == STYLE_LINE) {
        if (t - pg.last_print >= 0.1)
            show(t);
        return;
    }
    const int decile = pg.total > 0 ? (int)(10 * done / pg.total) : 10;
    if (decile > pg.decile) {
        pg.decile = decile;
        show(t);
    }
}

void dp_progress_end(void)
{
    if (pg.style != STYLE_LINE || !pg.showing)
        return;
    show(now());
    fputc('\n', stderr);
    pg.showing = 0;
}
