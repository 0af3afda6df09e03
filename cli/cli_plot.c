/*
 * --plot report.svg: a self-contained SVG (plain SVG 1.1, no scripts, no
 * external references): a header with the figures given, the training and
 * validation loss per epoch with the kept epoch marked, then for each
 * output a group of three panels over the test split: the whole split
 * (truth, the model, the baselines), the last part of it, and the model's
 * residual (prediction - truth). Legends sit in a band of their own
 * between a panel's title and its plotting area, never over the data;
 * series are thin lines, with dots only where there are few points.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_plot.h"
#include "core/error.h"
#include "io/files.h"

enum {
    WIDTH = 1100,
    MARGIN_LEFT = 80,
    MARGIN_RIGHT = 30,
    PANEL_TOP = 44,    /* above a plotting area: its title and its legend band */
    PANEL_BOTTOM = 48, /* below: ticks and the axis label */
    LINE = 17,         /* a line of text in the header and the group headers */
    LOSS_HEIGHT = 220,
    FULL_HEIGHT = 260,
    ZOOM_HEIGHT = 200,
    RESIDUAL_HEIGHT = 130,
    ZOOM_POINTS = 200, /* the zoom: the last 10% of the split, at least this many */
    DOTS_UP_TO = 60    /* points a series may have and still get a dot on each */
};

#define PLOT_W ((double)(WIDTH - MARGIN_LEFT - MARGIN_RIGHT))

static const char *const COLOUR_TRUTH = "#333333", *const COLOUR_MODEL = "#d62728";
static const char *const COLOUR_TRAIN = "#1f77b4", *const COLOUR_VAL = "#ff7f0e";
static const char *const SERIES_COLOURS[CLI_PLOT_MAX_SERIES] = {
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

typedef struct panel {
    double x0, y0, w, h;           /* pixel box of the plotting area */
    double xmin, xmax, ymin, ymax; /* data range */
    int log_y;                     /* y values are log10 of the data: ticks at decades */
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

/* A range with room around the data; [0, 1] for none. */
static void finish_range(double *lo, double *hi, double pad_share)
{
    if (!(*lo <= *hi)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi - *lo < 1e-12 * fmax(1.0, fabs(*hi))) {
        *lo -= 0.5;
        *hi += 0.5;
    }
    double pad = pad_share * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

/* Text content with XML's special characters escaped: column names, row
 * labels and messages come from the user's data. Bytes that are not
 * allowed in XML 1.0 (control characters) become '?'. */
static void svg_text(FILE *f, const char *text)
{
    for (; text && *text; text++) {
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
            fputc((unsigned char)*text < 0x20 ? '?' : *text, f);
        }
    }
}

static void text_at(FILE *f, double x, double y, int size, const char *anchor, const char *colour,
                    const char *text)
{
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='%d' text-anchor='%s' fill='%s'>", x, y, size,
            anchor, colour);
    svg_text(f, text);
    fprintf(f, "</text>\n");
}

/* ------------------------------------------------------------ x axes */

/* Days since 1970-01-01 <-> proleptic Gregorian dates (H. Hinnant's
 * algorithms), so that the axis needs neither gmtime nor timegm. */
static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const long era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned long doe = (unsigned long)(z - era * 146097);
    const unsigned long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned long mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (long)yoe + era * 400 + (*m <= 2);
}

static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned long yoe = (unsigned long)(y - era * 400);
    const unsigned long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

typedef enum axis_kind { AXIS_ROWS, AXIS_LABELS, AXIS_TIME } axis_kind;

/* How a panel's x values read: row numbers, row numbers shown as the
 * labels of the points at the ticks, or times. */
typedef struct xaxis {
    axis_kind kind;
    const double *x;           /* (n) the points' x values, increasing */
    const char *const *labels; /* (n) AXIS_LABELS */
    size_t n;
} xaxis;

static const char *axis_title(const xaxis *a)
{
    return a->kind == AXIS_ROWS ? "row of the predicted value" : "date of the predicted row";
}

/* The label of the point nearest x (x values increase). */
static const char *nearest_label(const xaxis *a, double x)
{
    size_t lo = 0, hi = a->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->x[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    if (lo + 1 < a->n && fabs(a->x[lo + 1] - x) < fabs(a->x[lo] - x))
        lo++;
    return a->labels[lo];
}

/* A round tick spacing (1, 2 or 5 times a power of ten) giving about
 * `ticks` ticks over span; at least 1 on integer axes (epochs, rows). */
static double tick_step(double span, int ticks, int integer)
{
    double raw = span / ticks;
    double magnitude = pow(10.0, floor(log10(raw)));
    double f = raw / magnitude;
    double step = (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * magnitude;
    return integer && step < 1.0 ? 1.0 : step;
}

static void x_tick(FILE *f, const panel *p, double xv, const char *label)
{
    double x = px(p, xv), y = p->y0 + p->h + 16;
    /* a date is ~70 px wide: near an edge it starts or ends at its tick */
    const char *anchor = x > p->x0 + p->w - 40 ? "end" : x < p->x0 + 40 ? "start" : "middle";
    fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#444'/>\n", x, x,
            p->y0 + p->h, p->y0 + p->h + 4);
    text_at(f, x, y, 11, anchor, "#000", label);
}

/* Ticks on a time axis: whole hours or days, or first days of months or
 * years, about 7 over the panel. */
static void time_ticks(FILE *f, const panel *p)
{
    const double day = 86400.0, span = p->xmax - p->xmin;
    static const double sub_month[] = {3600,  3 * 3600,  6 * 3600,  12 * 3600,
                                       86400, 2 * 86400, 7 * 86400, 14 * 86400};
    for (size_t i = 0; i < sizeof sub_month / sizeof sub_month[0]; i++) {
        if (span / sub_month[i] > 8)
            continue;
        const double step = sub_month[i];
        for (double t = ceil(p->xmin / step) * step; t <= p->xmax; t += step) {
            long days = (long)floor(t / day), y;
            unsigned m, d;
            civil_from_days(days, &y, &m, &d);
            long second = (long)(t - (double)days * day);
            char label[48];
            if (step < day)
                snprintf(label, sizeof label, "%02u-%02u %02ld:%02ld", m, d, second / 3600,
                         second / 60 % 60);
            else
                snprintf(label, sizeof label, "%ld-%02u-%02u", y, m, d);
            x_tick(f, p, t, label);
        }
        return;
    }
    static const unsigned months[] = {1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200};
    unsigned every = months[sizeof months / sizeof months[0] - 1];
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++)
        if (span / (30.44 * day * months[i]) <= 8) {
            every = months[i];
            break;
        }
    long y;
    unsigned m, d;
    civil_from_days((long)floor(p->xmin / day), &y, &m, &d);
    long index = y * 12 + (long)(m - 1); /* months since year 0 */
    index = (index + (long)every - 1) / (long)every * (long)every;
    for (int guard = 0; guard < 64; guard++, index += (long)every) {
        y = index / 12;
        m = (unsigned)(index % 12) + 1;
        double t = (double)days_from_civil(y, m, 1) * day;
        if (t < p->xmin)
            continue;
        if (t > p->xmax)
            break;
        char label[32];
        if (every % 12 == 0)
            snprintf(label, sizeof label, "%ld", y);
        else
            snprintf(label, sizeof label, "%ld-%02u", y, m);
        x_tick(f, p, t, label);
    }
}

/* The plotting area's frame, grid lines and ticks, and the axis labels.
 * a NULL: plain numbers on x (epochs). */
static void axes(FILE *f, const panel *p, const char *xlabel, const char *ylabel, const xaxis *a)
{
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n",
            p->x0, p->y0, p->w, p->h);
    text_at(f, p->x0 + p->w / 2, p->y0 + p->h + 36, 12, "middle", "#000", xlabel);
    double yc = p->y0 + p->h / 2, xc = p->x0 - 58;
    fprintf(f,
            "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle' "
            "transform='rotate(-90 %.1f %.1f)'>",
            xc, yc, xc, yc);
    svg_text(f, ylabel);
    fprintf(f, "</text>\n");
    double step = tick_step(p->ymax - p->ymin, p->h < 150 ? 3 : 5, p->log_y);
    for (double yv = ceil(p->ymin / step) * step; yv <= p->ymax; yv += step) {
        double y = py(p, yv);
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#e4e4e4'/>\n", p->x0,
                p->x0 + p->w, y, y);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n",
                p->x0 - 6, y + 4,
                p->log_y                 ? pow(10.0, yv)
                : fabs(yv) < step * 1e-9 ? 0.0
                                         : yv);
    }
    if (a && a->kind == AXIS_TIME) {
        time_ticks(f, p);
        return;
    }
    int labels = a && a->kind == AXIS_LABELS;
    step = tick_step(p->xmax - p->xmin, labels ? 6 : 10, 1);
    for (double xv = ceil(p->xmin / step) * step; xv <= p->xmax; xv += step) {
        char number[32];
        snprintf(number, sizeof number, "%g", xv);
        x_tick(f, p, xv, labels ? nearest_label(a, xv) : number);
    }
}

/* A panel's title, left, over its legend band. */
static void panel_title(FILE *f, const panel *p, const char *title)
{
    text_at(f, p->x0, p->y0 - 26, 14, "start", "#000", title);
}

/* A legend in the band between a panel's title and its plotting area:
 * entries left to right, a short line of each colour before its text. */
typedef struct legend_row {
    FILE *f;
    double x, y;
} legend_row;

static legend_row legend_start(FILE *f, const panel *p)
{
    return (legend_row){f, p->x0, p->y0 - 9};
}

static void legend_entry(legend_row *r, const char *colour, const char *dash, const char *text)
{
    /* about 6.5 px a character at 12 px sans-serif; past the right edge,
     * entries are left out (each baseline's figures line has its colour) */
    const double width = 27 + 6.5 * (double)strlen(text);
    if (r->x + width > WIDTH - 4)
        return;
    fprintf(
        r->f,
        "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='2.5'%s%s%s/>\n",
        r->x, r->x + 22, r->y - 4, r->y - 4, colour, dash ? " stroke-dasharray='" : "",
        dash ? dash : "", dash ? "'" : "");
    text_at(r->f, r->x + 27, r->y, 12, "start", "#000", text);
    r->x += width + 18;
}

/* Lines through (x[i], v[i]), broken where a value is missing, clipped to
 * the panel's x range by the caller's choice of points; a dot on each point
 * where there are few. */
static void series(FILE *f, const panel *p, const double *x, const double *v, size_t n,
                   const char *colour, double width)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && !(isfinite(v[i]) && isfinite(x[i])))
            i++;
        if (i == n)
            break;
        fprintf(f,
                "<polyline fill='none' stroke='%s' stroke-width='%.1f' stroke-linejoin='round' "
                "points='",
                colour, width);
        for (; i < n && isfinite(v[i]) && isfinite(x[i]); i++)
            fprintf(f, "%.1f,%.1f ", px(p, x[i]), py(p, v[i]));
        fprintf(f, "'/>\n");
    }
    for (i = 0; n <= DOTS_UP_TO && i < n; i++)
        if (isfinite(v[i]) && isfinite(x[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='%.1f' fill='%s'/>\n", px(p, x[i]),
                    py(p, v[i]), width + 1.5, colour);
}

/* ---------------------------------------------------------- figures */

typedef struct score {
    double rmse, mae;
    size_t n;
} score;

/* RMSE and MAE of v against truth over the points where both are known. */
static score score_of(const double *v, const double *truth, size_t n)
{
    double sq = 0.0, abs_sum = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && isfinite(truth[i])) {
            double d = v[i] - truth[i];
            sq += d * d;
            abs_sum += fabs(d);
            count++;
        }
    return count ? (score){sqrt(sq / (double)count), abs_sum / (double)count, count}
                 : (score){NAN, NAN, 0};
}

/* The same over the points where `where` is known too: the model on the
 * points a baseline covers. */
static score score_where(const double *v, const double *truth, const double *where, size_t n)
{
    double sq = 0.0, abs_sum = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && isfinite(truth[i]) && isfinite(where[i])) {
            double d = v[i] - truth[i];
            sq += d * d;
            abs_sum += fabs(d);
            count++;
        }
    return count ? (score){sqrt(sq / (double)count), abs_sum / (double)count, count}
                 : (score){NAN, NAN, 0};
}

/* "model: RMSE 4.6932, MAE 3.4210" into line; the MAE left out where NaN. */
static void figure_line(char *line, size_t size, const char *name, double rmse, double mae)
{
    int used = snprintf(line, size, "%s: RMSE %.4f", name, rmse);
    if (used > 0 && (size_t)used < size && isfinite(mae))
        snprintf(line + used, size - (size_t)used, ", MAE %.4f", mae);
}

static int any_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

/* ------------------------------------------------------- the report */

/* One output's points, gathered from the (n_points, n_outputs) arrays. */
typedef struct output_view {
    double *x, *truth, *prediction, *residual; /* (n) */
    double *series[CLI_PLOT_MAX_SERIES];       /* (n) */
    const char **labels;                       /* (n) */
    xaxis axis;
} output_view;

static void view_free(output_view *v)
{
    free(v->x);
    free(v->truth);
    free(v->prediction);
    free(v->residual);
    for (size_t s = 0; s < CLI_PLOT_MAX_SERIES; s++)
        free(v->series[s]);
    free(v->labels);
}

/* Output k's points and the axis they read on; 0 when out of memory. */
static int view_of(const cli_plot_data *d, size_t k, output_view *v)
{
    const size_t n = d->n_points, K = d->n_outputs, bytes = (n ? n : 1) * sizeof(double);
    memset(v, 0, sizeof *v);
    v->x = malloc(bytes);
    v->truth = malloc(bytes);
    v->prediction = malloc(bytes);
    v->residual = malloc(bytes);
    v->labels = malloc((n ? n : 1) * sizeof *v->labels);
    int ok = v->x && v->truth && v->prediction && v->residual && v->labels;
    for (size_t s = 0; s < d->n_series; s++)
        ok = ok && (v->series[s] = malloc(bytes)) != NULL;
    if (!ok)
        return 0;
    int have_times = d->times != NULL, have_labels = d->labels != NULL;
    for (size_t i = 0; i < n; i++) {
        const size_t at = i * K + k;
        v->truth[i] = d->truth[at];
        v->prediction[i] = d->prediction[at];
        v->residual[i] = d->prediction[at] - d->truth[at];
        for (size_t s = 0; s < d->n_series; s++)
            v->series[s][i] = d->series[s].values[at];
        have_times = have_times && isfinite(d->times[at]);
        v->labels[i] = have_labels ? d->labels[at] : NULL;
        have_labels = have_labels && v->labels[i];
    }
    /* Times only where they increase: a time axis must not fold back. */
    for (size_t i = 1; have_times && i < n; i++)
        have_times = d->times[i * K + k] > d->times[(i - 1) * K + k];
    for (size_t i = 0; i < n; i++)
        v->x[i] = have_times ? d->times[i * K + k]
                  : d->rows  ? (double)d->rows[i * K + k]
                             : (double)i;
    v->axis = (xaxis){have_times    ? AXIS_TIME
                      : have_labels ? AXIS_LABELS
                                    : AXIS_ROWS,
                      v->x, v->labels, n};
    return 1;
}

/* The x range of points [first, first + n): a little room at both ends. */
static void x_range(const output_view *v, size_t first, size_t n, panel *p)
{
    p->xmin = v->x[first];
    p->xmax = v->x[first + n - 1];
    if (p->xmax <= p->xmin) {
        p->xmin -= 0.5;
        p->xmax += 0.5;
    }
}

/* Truth, the model and, where `baselines` says, the baselines over points
 * [first, first + n) in a panel at y of height h: its title, legend band,
 * axes and lines. (Over a whole split of thousands of points a baseline
 * that follows the truth a step late would hide it: the zoom has them.) */
static void draw_values(FILE *f, const cli_plot_data *d, const output_view *v, size_t first,
                        size_t n, double y, double h, const char *name, const char *title,
                        double shade_from, int baselines)
{
    const size_t n_series = baselines ? d->n_series : 0;
    panel p = {MARGIN_LEFT, y + PANEL_TOP, PLOT_W, h, 0, 1, INFINITY, -INFINITY, 0};
    x_range(v, first, n, &p);
    range(v->truth + first, n, &p.ymin, &p.ymax);
    range(v->prediction + first, n, &p.ymin, &p.ymax);
    for (size_t s = 0; s < n_series; s++)
        range(v->series[s] + first, n, &p.ymin, &p.ymax);
    finish_range(&p.ymin, &p.ymax, 0.04);
    panel_title(f, &p, title);
    if (isfinite(shade_from)) /* where the zoom below looks */
        fprintf(f,
                "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#000' "
                "fill-opacity='0.06'/>\n",
                px(&p, shade_from), p.y0, p.x0 + p.w - px(&p, shade_from), p.h);
    axes(f, &p, axis_title(&v->axis), name, &v->axis);
    double width = n > 500 ? 0.8 : 1.2;
    series(f, &p, v->x + first, v->truth + first, n, COLOUR_TRUTH, width);
    for (size_t s = 0; s < n_series; s++)
        series(f, &p, v->x + first, v->series[s] + first, n, SERIES_COLOURS[s], width);
    series(f, &p, v->x + first, v->prediction + first, n, COLOUR_MODEL, width);
    legend_row r = legend_start(f, &p);
    legend_entry(&r, COLOUR_TRUTH, NULL, "actual");
    legend_entry(&r, COLOUR_MODEL, NULL, "model");
    for (size_t s = 0; s < n_series; s++)
        if (any_finite(v->series[s] + first, n))
            legend_entry(&r, SERIES_COLOURS[s], NULL, d->series[s].name);
    if (isfinite(shade_from))
        legend_entry(&r, "#d0d0d0", NULL, "shaded: the zoom below");
}

static void draw_residual(FILE *f, const output_view *v, size_t n, double y, const char *name)
{
    panel p = {MARGIN_LEFT, y + PANEL_TOP, PLOT_W, RESIDUAL_HEIGHT, 0, 1, INFINITY, -INFINITY, 0};
    x_range(v, 0, n, &p);
    range(v->residual, n, &p.ymin, &p.ymax);
    /* symmetric about 0, so that a bias shows */
    double reach = fmax(fabs(p.ymin), fabs(p.ymax));
    p.ymin = -reach;
    p.ymax = reach;
    finish_range(&p.ymin, &p.ymax, 0.06);
    char title[300];
    snprintf(title, sizeof title, "%s: residual of the model (prediction - actual)", name);
    panel_title(f, &p, title);
    axes(f, &p, axis_title(&v->axis), "prediction - actual", &v->axis);
    fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#777'/>\n", p.x0, p.x0 + p.w,
            py(&p, 0), py(&p, 0));
    series(f, &p, v->x, v->residual, n, COLOUR_MODEL, n > 500 ? 0.7 : 1.0);
    legend_row r = legend_start(f, &p);
    legend_entry(&r, COLOUR_MODEL, NULL, "model - actual");
    legend_entry(&r, "#777", NULL, "0");
}

static double loss_panel_height(void)
{
    return PANEL_TOP + LOSS_HEIGHT + PANEL_BOTTOM;
}

static void draw_loss(FILE *f, const cli_plot_data *d, double y)
{
    const size_t n = d->n_epochs;
    panel p = {MARGIN_LEFT, y + PANEL_TOP, PLOT_W, LOSS_HEIGHT, 1, n > 1 ? (double)n : 2,
               INFINITY,    -INFINITY,     0};
    range(d->train_loss, n, &p.ymin, &p.ymax);
    range(d->val_loss, n, &p.ymin, &p.ymax);
    /* Losses over more than two decades (a run on its way to diverging)
     * on a log scale, so that the early epochs still show. */
    p.log_y = p.ymin > 0 && p.ymax / p.ymin > 100;
    double *epochs = malloc((n ? n : 1) * sizeof *epochs);
    double *train = malloc((n ? n : 1) * sizeof *train), *val = malloc((n ? n : 1) * sizeof *val);
    for (size_t e = 0; epochs && train && val && e < n; e++) {
        epochs[e] = (double)(e + 1);
        train[e] = p.log_y ? log10(d->train_loss[e]) : d->train_loss[e];
        val[e] = p.log_y ? log10(d->val_loss[e]) : d->val_loss[e];
    }
    if (p.log_y) {
        p.ymin = log10(p.ymin);
        p.ymax = log10(p.ymax);
    }
    finish_range(&p.ymin, &p.ymax, 0.05);
    panel_title(f, &p, p.log_y ? "Loss per epoch (log scale)" : "Loss per epoch");
    axes(f, &p, "epoch", "mean window loss (standardised)", NULL);
    if (epochs && train && val) {
        series(f, &p, epochs, train, n, COLOUR_TRAIN, 2);
        series(f, &p, epochs, val, n, COLOUR_VAL, 2);
    }
    legend_row r = legend_start(f, &p);
    legend_entry(&r, COLOUR_TRAIN, NULL, "training");
    legend_entry(&r, COLOUR_VAL, NULL, "validation");
    if (d->kept_epoch >= 1 && d->kept_epoch <= n) {
        double x = px(&p, (double)d->kept_epoch);
        fprintf(f,
                "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#2ca02c' "
                "stroke-width='1.5' stroke-dasharray='5,4'/>\n",
                x, x, p.y0, p.y0 + p.h);
        double v = val ? val[d->kept_epoch - 1] : NAN;
        if (isfinite(v))
            fprintf(f,
                    "<circle cx='%.1f' cy='%.1f' r='5' fill='none' stroke='#2ca02c' "
                    "stroke-width='2'/>\n",
                    x, py(&p, v));
        char text[64];
        snprintf(text, sizeof text, "kept epoch %zu", d->kept_epoch);
        legend_entry(&r, "#2ca02c", "5,4", text);
    }
    free(epochs);
    free(train);
    free(val);
}

/* An output's group: its name and figures, then the whole split, the
 * residual and the zoom. Returns its height. */
static double group_height(const cli_plot_data *d)
{
    return LINE * (double)(2 + d->n_series) + 3 * (PANEL_TOP + PANEL_BOTTOM) + FULL_HEIGHT +
           RESIDUAL_HEIGHT + ZOOM_HEIGHT;
}

static void draw_group(FILE *f, const cli_plot_data *d, size_t k, const output_view *v, double y)
{
    const size_t n = d->n_points;
    const char *name = d->output_names[k] ? d->output_names[k] : "output";
    char line[512];
    snprintf(line, sizeof line, "Output %zu of %zu: %s, test split (%zu points)", k + 1,
             d->n_outputs, name, n);
    fprintf(f, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#bbb'/>\n", MARGIN_LEFT / 2,
            WIDTH - MARGIN_RIGHT / 2, y + 2, y + 2);
    fprintf(f, "<text x='%d' y='%.1f' font-size='15' font-weight='bold'>", MARGIN_LEFT / 2,
            y + LINE + 4);
    svg_text(f, line);
    fprintf(f, "</text>\n");
    y += LINE + 6;
    score model = score_of(v->prediction, v->truth, n);
    figure_line(line, sizeof line, "model", model.rmse, model.mae);
    text_at(f, MARGIN_LEFT, y + LINE - 4, 12, "start", COLOUR_MODEL, line);
    y += LINE;
    for (size_t s = 0; s < d->n_series; s++, y += LINE) {
        score b = score_of(v->series[s], v->truth, n);
        char figures[400];
        if (b.n == 0) {
            snprintf(figures, sizeof figures, "%s: does not cover this output", d->series[s].name);
        } else {
            figure_line(figures, sizeof figures, d->series[s].name, b.rmse, b.mae);
            /* against the model on the same points */
            score same = score_where(v->prediction, v->truth, v->series[s], n);
            size_t used = strlen(figures);
            if (b.n < model.n)
                snprintf(figures + used, sizeof figures - used,
                         " (on %zu of the points, where the model's RMSE is %.4f)", b.n, same.rmse);
            used = strlen(figures);
            if (isfinite(same.rmse) && b.rmse < same.rmse)
                snprintf(figures + used, sizeof figures - used, ": better than the model");
        }
        text_at(f, MARGIN_LEFT, y + LINE - 4, 12, "start", SERIES_COLOURS[s], figures);
    }
    y += 4;
    /* The zoom: the last 10% of the split, at least ZOOM_POINTS; the last
     * half where the split has fewer. */
    size_t zoom = n / 10 > ZOOM_POINTS ? n / 10 : ZOOM_POINTS;
    if (zoom >= n)
        zoom = n > 1 ? (n + 1) / 2 : n;
    char title[400];
    snprintf(title, sizeof title, "%s over the test split: actual and predicted", name);
    draw_values(f, d, v, 0, n, y, FULL_HEIGHT, name, title, zoom < n ? v->x[n - zoom] : NAN, 0);
    y += PANEL_TOP + FULL_HEIGHT + PANEL_BOTTOM;
    draw_residual(f, v, n, y, name);
    y += PANEL_TOP + RESIDUAL_HEIGHT + PANEL_BOTTOM;
    snprintf(title, sizeof title, "%s: the last %zu test points (zoom)%s", name, zoom,
             d->n_series ? ", with the baselines" : "");
    draw_values(f, d, v, n - zoom, zoom, y, ZOOM_HEIGHT, name, title, NAN, 1);
}

int cli_plot_svg(const char *path, const cli_plot_data *d, clrnn_error *err)
{
    if (d->n_series > CLI_PLOT_MAX_SERIES)
        return clrnn__fail(err, CLRNN_E_INPUT, "the plot takes at most %d baselines",
                           CLI_PLOT_MAX_SERIES),
               0;
    const size_t drawn =
        d->n_points ? (d->n_outputs < CLI_PLOT_MAX_OUTPUTS ? d->n_outputs : CLI_PLOT_MAX_OUTPUTS)
                    : 0;
    size_t header_lines = d->n_metrics + (d->note != NULL) + (drawn < d->n_outputs && drawn);
    double header = 34 + LINE * (double)header_lines + 6;
    double height = header + loss_panel_height() + (double)drawn * group_height(d) + 10;
    atomic_out out;
    if (atomic_open(&out, path, err) != CLRNN_OK)
        return 0;
    FILE *f = out.f;
    fprintf(f,
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%.0f' "
            "viewBox='0 0 %d %.0f' font-family='sans-serif'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n",
            WIDTH, ceil(height), WIDTH, ceil(height));
    text_at(f, MARGIN_LEFT / 2, 26, 18, "start", "#000", d->title ? d->title : "clrnn train");
    double y = 34;
    if (d->note) {
        text_at(f, MARGIN_LEFT / 2, y + LINE - 4, 13, "start", "#c00000", d->note);
        y += LINE;
    }
    for (size_t m = 0; m < d->n_metrics; m++, y += LINE) {
        char line[512];
        figure_line(line, sizeof line, d->metrics[m].name, d->metrics[m].rmse, d->metrics[m].mae);
        text_at(f, MARGIN_LEFT / 2, y + LINE - 4, 13, "start", "#000", line);
    }
    if (drawn < d->n_outputs && drawn) {
        char line[128];
        snprintf(line, sizeof line, "the first %zu of %zu outputs are drawn", drawn, d->n_outputs);
        text_at(f, MARGIN_LEFT / 2, y + LINE - 4, 13, "start", "#000", line);
        y += LINE;
    }
    y = header;
    draw_loss(f, d, y);
    y += loss_panel_height();
    int ok = 1;
    for (size_t k = 0; k < drawn && ok; k++, y += group_height(d)) {
        output_view v;
        ok = view_of(d, k, &v);
        if (ok)
            draw_group(f, d, k, &v, y);
        view_free(&v);
    }
    fprintf(f, "</svg>\n");
    if (!ok) {
        atomic_abort(&out);
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory drawing the plot"), 0;
    }
    return atomic_commit(&out, err) == CLRNN_OK;
}

/* ------------------------------------------------------------ heat map */

enum {
    HEAT_LEFT = 150,     /* feature names */
    HEAT_CELL_MAX = 70,  /* a cell's width at most */
    HEAT_CELL_H = 26,    /* and height */
    HEAT_PANEL_TOP = 30, /* the panel's title */
    HEAT_PANEL_BOTTOM = 44
};

/* The shade of v of a panel whose largest |value| is top: white to red
 * (positive) or blue (negative) by |v| / top. */
static void heat_colour(char *out, size_t size, double v, double top)
{
    double share = top > 0 && isfinite(v) ? fmin(1.0, fabs(v) / top) : 0.0;
    const int full[2][3] = {{214, 39, 40}, {31, 119, 180}}; /* the report's red and blue */
    const int *c = full[v < 0];
    snprintf(out, size, "#%02x%02x%02x", (int)lround(255 - share * (255 - c[0])),
             (int)lround(255 - share * (255 - c[1])), (int)lround(255 - share * (255 - c[2])));
}

int cli_plot_heatmap_svg(const char *path, const cli_heatmap *h, clrnn_error *err)
{
    const size_t F = h->n_features, L = h->n_lags;
    const double avail = WIDTH - HEAT_LEFT - MARGIN_RIGHT;
    const double cell_w = fmin(HEAT_CELL_MAX, avail / (double)(L ? L : 1));
    const double panel_h = HEAT_PANEL_TOP + (double)F * HEAT_CELL_H + HEAT_PANEL_BOTTOM;
    const double header = 34 + (h->subtitle ? LINE : 0) + 6;
    const double height = header + (double)h->n_outputs * panel_h + 10;
    atomic_out out;
    if (atomic_open(&out, path, err) != CLRNN_OK)
        return 0;
    FILE *f = out.f;
    fprintf(f,
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%.0f' "
            "viewBox='0 0 %d %.0f' font-family='sans-serif'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n",
            WIDTH, ceil(height), WIDTH, ceil(height));
    text_at(f, MARGIN_LEFT / 2, 26, 18, "start", "#000", h->title ? h->title : "clrnn explain");
    if (h->subtitle)
        text_at(f, MARGIN_LEFT / 2, 34 + LINE - 4, 13, "start", "#000", h->subtitle);
    for (size_t k = 0; k < h->n_outputs; k++) {
        const double y0 = header + (double)k * panel_h, top_y = y0 + HEAT_PANEL_TOP;
        const double *v = h->values + k * F * L;
        double top = 0;
        for (size_t i = 0; i < F * L; i++)
            top = isfinite(v[i]) ? fmax(top, fabs(v[i])) : top;
        char title[256], label[64], colour[16];
        snprintf(title, sizeof title, "%s (largest |value| %.3g)", h->output_names[k], top);
        text_at(f, HEAT_LEFT, y0 + HEAT_PANEL_TOP - 10, 14, "start", "#000", title);
        for (size_t fi = 0; fi < F; fi++) {
            const double cy = top_y + (double)fi * HEAT_CELL_H;
            text_at(f, HEAT_LEFT - 8, cy + HEAT_CELL_H / 2.0 + 4, 12, "end", "#000",
                    h->feature_names[fi]);
            for (size_t lag = 0; lag < L; lag++) {
                const double cx = HEAT_LEFT + (double)lag * cell_w, value = v[fi * L + lag];
                heat_colour(colour, sizeof colour, value, top);
                fprintf(f,
                        "<rect x='%.1f' y='%.1f' width='%.1f' height='%d' fill='%s' "
                        "stroke='#ffffff'/>\n",
                        cx, cy, cell_w, HEAT_CELL_H, colour);
                if (cell_w >= 34) {
                    const int dark = top > 0 && fabs(value) / top > 0.6;
                    snprintf(label, sizeof label, "%.2g", value);
                    text_at(f, cx + cell_w / 2, cy + HEAT_CELL_H / 2.0 + 4, 10, "middle",
                            dark ? "#fff" : "#333", label);
                }
            }
        }
        const double by = top_y + (double)F * HEAT_CELL_H;
        const size_t every = cell_w >= 24 ? 1 : (size_t)ceil(24 / cell_w);
        for (size_t lag = 0; lag < L; lag += every) {
            snprintf(label, sizeof label, "%zu", lag);
            text_at(f, HEAT_LEFT + ((double)lag + 0.5) * cell_w, by + 14, 11, "middle", "#000",
                    label);
        }
        text_at(f, HEAT_LEFT + cell_w * (double)L / 2, by + 32, 12, "middle", "#000",
                "lag (rows before the window's last row)");
    }
    fprintf(f, "</svg>\n");
    return atomic_commit(&out, err) == CLRNN_OK;
}
