/*
 * --plot report.svg: a self-contained SVG with two panels, the training and
 * validation loss per epoch, and predicted versus actual values over the
 * test split. Plain SVG 1.1, no scripts, no external references.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_plot.h"
#include "core/error.h"
#include "io/files.h"

enum {
    WIDTH = 900,
    PANEL_HEIGHT = 320,
    MARGIN_LEFT = 80,
    MARGIN_RIGHT = 20,
    MARGIN_TOP = 40,
    MARGIN_BOTTOM = 40
};

typedef struct panel {
    double x0, y0, w, h;           /* pixel box of the plotting area */
    double xmin, xmax, ymin, ymax; /* data range */
} panel;

static double px(const panel *p, double x)
{
    return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w;
}

static double py(const panel *p, double y)
{
    return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h;
}

static void range(const double *v, size_t n, double *lo, double *hi)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        *lo = v[i] < *lo ? v[i] : *lo;
        *hi = v[i] > *hi ? v[i] : *hi;
    }
}

static void finish_range(double *lo, double *hi)
{
    if (!(*lo <= *hi)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi - *lo < 1e-12) {
        *lo -= 0.5;
        *hi += 0.5;
    }
    double pad = 0.05 * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

/* Text content with XML's special characters escaped: column names and
 * row labels come from the user's CSV. */
static void svg_text(FILE *f, const char *text)
{
    for (; *text; text++) {
        switch (*text) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*text, f);
        }
    }
}

/* A round tick spacing (1, 2 or 5 times a power of ten) giving about
 * `ticks` ticks over span; at least 1 on integer axes (epochs, windows). */
static double tick_step(double span, int ticks, int integer)
{
    double raw = span / ticks;
    double magnitude = pow(10.0, floor(log10(raw)));
    double f = raw / magnitude;
    double step = (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * magnitude;
    return integer && step < 1.0 ? 1.0 : step;
}

/* Tick labels of the x axis: the number, or the row label (a date) of
 * that point when there are labels. */
static void x_tick_label(FILE *f, const panel *p, double xv, const char *const *labels)
{
    double x = px(p, xv), y = p->y0 + p->h + 16;
    /* a date is ~60 px wide: near the right edge it ends at its tick */
    const char *anchor = labels && x > p->x0 + p->w - 40 ? "end" : "middle";
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='%s'>", x, y, anchor);
    if (labels)
        svg_text(f, labels[(size_t)xv]);
    else
        fprintf(f, "%g", xv);
    fprintf(f, "</text>\n");
}

/* Frame, title, axis labels, grid lines and ticks of a panel. x_labels
 * (one per x value) may be NULL. */
static void axes(FILE *f, const panel *p, const char *title, const char *xlabel, const char *ylabel,
                 const char *const *x_labels)
{
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n",
            p->x0, p->y0, p->w, p->h);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='15' text-anchor='middle'>", p->x0 + p->w / 2,
            p->y0 - 12);
    svg_text(f, title);
    fprintf(f, "</text>\n<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>",
            p->x0 + p->w / 2, p->y0 + p->h + 34);
    svg_text(f, xlabel);
    double yc = p->y0 + p->h / 2, xc = p->x0 - 58;
    fprintf(f,
            "</text>\n<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle' "
            "transform='rotate(-90 %.1f %.1f)'>",
            xc, yc, xc, yc);
    svg_text(f, ylabel);
    fprintf(f, "</text>\n");
    double step = tick_step(p->ymax - p->ymin, 5, 0);
    for (double yv = ceil(p->ymin / step) * step; yv <= p->ymax; yv += step) {
        double y = py(p, yv);
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#ddd'/>\n", p->x0,
                p->x0 + p->w, y, y);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n",
                p->x0 - 6, y + 4, fabs(yv) < step * 1e-9 ? 0.0 : yv);
    }
    step = tick_step(p->xmax - p->xmin, x_labels ? 4 : 8, 1);
    for (double xv = ceil(p->xmin / step) * step; xv <= p->xmax; xv += step) {
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#444'/>\n", px(p, xv),
                px(p, xv), p->y0 + p->h, p->y0 + p->h + 4);
        x_tick_label(f, p, xv, x_labels);
    }
}

/* A polyline of (x0 + i * dx, v[i]), skipping non-finite values; short
 * series get a dot on each point too, so one epoch still shows. */
static void series(FILE *f, const panel *p, const double *v, size_t n, double x_first, double dx,
                   const char *colour, double width)
{
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='%.1f' points='", colour, width);
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            fprintf(f, "%.1f,%.1f ", px(p, x_first + dx * (double)i), py(p, v[i]));
    fprintf(f, "'/>\n");
    for (size_t i = 0; n <= 60 && i < n; i++)
        if (isfinite(v[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='%.1f' fill='%s'/>\n",
                    px(p, x_first + dx * (double)i), py(p, v[i]), width + 1.5, colour);
}

/* Legend entries in the panel's top right corner, on a white box so the
 * series do not run through the text. */
static void legend(FILE *f, const panel *p, const char *const *colours, const char *const *texts,
                   int n)
{
    double x = p->x0 + p->w - 150, y = p->y0 + 10;
    fprintf(f,
            "<rect x='%.1f' y='%.1f' width='140' height='%d' fill='white' fill-opacity='0.85' "
            "stroke='#bbb'/>\n",
            x, y, 8 + 18 * n);
    for (int i = 0; i < n; i++) {
        double row = y + 18 + 18 * i;
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>\n",
                x + 8, x + 32, row - 4, row - 4, colours[i]);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='12'>%s</text>\n", x + 38, row, texts[i]);
    }
}

int cli_plot_svg(const char *path, const cli_plot_data *d, clrnn_error *err)
{
    atomic_out out;
    if (atomic_open(&out, path, err) != CLRNN_OK)
        return 0;
    FILE *f = out.f;
    int height = 2 * (PANEL_HEIGHT + MARGIN_TOP + MARGIN_BOTTOM);
    fprintf(f,
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "viewBox='0 0 %d %d' font-family='sans-serif'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n",
            WIDTH, height, WIDTH, height);

    panel loss = {MARGIN_LEFT,  MARGIN_TOP, WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
                  PANEL_HEIGHT, 1,          d->n_epochs > 1 ? (double)d->n_epochs : 2,
                  INFINITY,     -INFINITY};
    range(d->train_loss, d->n_epochs, &loss.ymin, &loss.ymax);
    range(d->val_loss, d->n_epochs, &loss.ymin, &loss.ymax);
    finish_range(&loss.ymin, &loss.ymax);
    axes(f, &loss, "Loss per epoch", "epoch", "mean window loss (standardised units)", NULL);
    series(f, &loss, d->train_loss, d->n_epochs, 1, 1, "#1f77b4", 2);
    series(f, &loss, d->val_loss, d->n_epochs, 1, 1, "#ff7f0e", 2);
    static const char *const loss_colours[] = {"#1f77b4", "#ff7f0e"};
    static const char *const loss_texts[] = {"training", "validation"};
    legend(f, &loss, loss_colours, loss_texts, 2);

    panel pred = {MARGIN_LEFT,
                  2 * MARGIN_TOP + MARGIN_BOTTOM + PANEL_HEIGHT,
                  WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
                  PANEL_HEIGHT,
                  0,
                  d->n_points > 1 ? (double)(d->n_points - 1) : 1,
                  INFINITY,
                  -INFINITY};
    range(d->truth, d->n_points, &pred.ymin, &pred.ymax);
    range(d->prediction, d->n_points, &pred.ymin, &pred.ymax);
    finish_range(&pred.ymin, &pred.ymax);
    char title[256];
    snprintf(title, sizeof title, "%s over the test split: actual and predicted", d->target_name);
    axes(f, &pred, title, d->labels ? "date of the predicted row" : "test window", d->target_name,
         d->n_points > 1 ? d->labels : NULL);
    series(f, &pred, d->truth, d->n_points, 0, 1, "#999999", 1);
    series(f, &pred, d->prediction, d->n_points, 0, 1, "#d62728", 1);
    static const char *const pred_colours[] = {"#999999", "#d62728"};
    static const char *const pred_texts[] = {"actual", "predicted"};
    legend(f, &pred, pred_colours, pred_texts, 2);
    fprintf(f, "</svg>\n");

    return atomic_commit(&out, err) == CLRNN_OK;
}
