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
#include "error.h"

enum { WIDTH = 900, PANEL_HEIGHT = 320, MARGIN_LEFT = 70, MARGIN_RIGHT = 20, MARGIN_TOP = 40,
       MARGIN_BOTTOM = 40 };

typedef struct panel {
    double x0, y0, w, h;          /* pixel box of the plotting area */
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

static void axes(FILE *f, const panel *p, const char *title, const char *xlabel)
{
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n",
            p->x0, p->y0, p->w, p->h);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='15' text-anchor='middle'>%s</text>\n",
            p->x0 + p->w / 2, p->y0 - 12, title);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n",
            p->x0 + p->w / 2, p->y0 + p->h + 32, xlabel);
    for (int i = 0; i <= 4; i++) {
        double yv = p->ymin + (p->ymax - p->ymin) * i / 4.0;
        double xv = p->xmin + (p->xmax - p->xmin) * i / 4.0;
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#ddd'/>\n", p->x0,
                p->x0 + p->w, py(p, yv), py(p, yv));
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%.4g</text>\n",
                p->x0 - 6, py(p, yv) + 4, yv);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%.4g</text>\n",
                px(p, xv), p->y0 + p->h + 16, xv);
    }
}

/* A polyline of (x0 + i * dx, v[i]), skipping non-finite values. */
static void series(FILE *f, const panel *p, const double *v, size_t n, double x_first, double dx,
                   const char *colour, double width)
{
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='%.1f' points='", colour, width);
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            fprintf(f, "%.1f,%.1f ", px(p, x_first + dx * (double)i), py(p, v[i]));
    fprintf(f, "'/>\n");
}

static void legend(FILE *f, const panel *p, int row, const char *colour, const char *text)
{
    double x = p->x0 + p->w - 190, y = p->y0 + 18 + 18 * row;
    fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>\n",
            x, x + 24, y - 4, y - 4, colour);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='12'>%s</text>\n", x + 30, y, text);
}

int cli_plot_svg(const char *path, const cli_plot_data *d, clrnn_error *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return clrnn_fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(errno)), 0;
    int height = 2 * (PANEL_HEIGHT + MARGIN_TOP + MARGIN_BOTTOM);
    fprintf(f,
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "viewBox='0 0 %d %d' font-family='sans-serif'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n",
            WIDTH, height, WIDTH, height);

    panel loss = {MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_LEFT - MARGIN_RIGHT, PANEL_HEIGHT,
                  1, d->n_epochs > 1 ? (double)d->n_epochs : 2, INFINITY, -INFINITY};
    range(d->train_loss, d->n_epochs, &loss.ymin, &loss.ymax);
    range(d->val_loss, d->n_epochs, &loss.ymin, &loss.ymax);
    finish_range(&loss.ymin, &loss.ymax);
    axes(f, &loss, "Loss per epoch (mean window loss, standardised units)", "epoch");
    series(f, &loss, d->train_loss, d->n_epochs, 1, 1, "#1f77b4", 2);
    series(f, &loss, d->val_loss, d->n_epochs, 1, 1, "#ff7f0e", 2);
    legend(f, &loss, 0, "#1f77b4", "training");
    legend(f, &loss, 1, "#ff7f0e", "validation");

    panel pred = {MARGIN_LEFT, 2 * MARGIN_TOP + MARGIN_BOTTOM + PANEL_HEIGHT,
                  WIDTH - MARGIN_LEFT - MARGIN_RIGHT, PANEL_HEIGHT, 0,
                  d->n_points > 1 ? (double)(d->n_points - 1) : 1, INFINITY, -INFINITY};
    range(d->truth, d->n_points, &pred.ymin, &pred.ymax);
    range(d->prediction, d->n_points, &pred.ymin, &pred.ymax);
    finish_range(&pred.ymin, &pred.ymax);
    char title[256];
    snprintf(title, sizeof title, "%s over the test split: actual and predicted", d->target_name);
    axes(f, &pred, title, "test window");
    series(f, &pred, d->truth, d->n_points, 0, 1, "#999999", 1);
    series(f, &pred, d->prediction, d->n_points, 0, 1, "#d62728", 1);
    legend(f, &pred, 0, "#999999", "actual");
    legend(f, &pred, 1, "#d62728", "predicted");
    fprintf(f, "</svg>\n");

    int ok = !ferror(f);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        clrnn_fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(errno));
        remove(tmp);
        return 0;
    }
    return 1;
}
