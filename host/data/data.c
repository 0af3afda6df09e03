/*
 * Data: reading a CSV table and turning chosen columns into a dataset ready
 * to train on (missing values handled, standardised, split chronologically,
 * cut into windows).
 *
 * R = rows of the table (or of the dataset, after drops), C = numeric
 * columns, F = features, K = targets, T = seq_len.
 *
 * Messages name the place in the file as PATH:LINE:COL, where COL is the
 * 1-based field number in the file (the label column counts), so a person
 * can go straight to the cell.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrnn.h"
#include "core/error.h"
#include "io/files.h"

/* ----------------------------------------------------------------- table */

struct clrnn_table {
    char *path;
    char *text; /* the whole file; names, labels and bad cells point into it */
    size_t n_rows, n_cols;
    int has_labels;   /* the first field of each row is a label, not a column */
    char *label_name; /* the label column's header ("" or date-like), or NULL */
    char **col_names; /* (C) */
    char **labels;    /* (R) the first field of each row (a label when has_labels) */
    size_t *lines;    /* (R) 1-based line each row starts on */
    double *values;   /* (R, C) NaN where empty or not a number */
    char **cells;     /* (R, C) each cell's text, into text (a series id may be text) */
    size_t *bad_row;  /* (C) first non-numeric cell's row, SIZE_MAX for none */
    char **bad_text;  /* (C) its text */
};

/* malloc of n elements of size bytes, NULL on overflow as on failure. */
static void *alloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return malloc(n && size ? n * size : 1);
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* A CSV tokenizer working in place: quoted fields are unescaped over their
 * own text and every field is NUL-terminated where its delimiter was, so
 * fields[] points into the file buffer and nothing is copied. */
typedef struct csv_parser {
    const char *path;
    char *text;
    size_t size, pos;
    size_t line;   /* 1-based line at pos */
    char **fields; /* fields of the last record */
    size_t n_fields, cap_fields;
} csv_parser;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int at_line_end(const csv_parser *p)
{
    return p->pos >= p->size || p->text[p->pos] == '\n' || p->text[p->pos] == '\r';
}

/* Steps over "\n", "\r\n" or a lone "\r". */
static void skip_line_end(csv_parser *p)
{
    if (p->pos < p->size && p->text[p->pos] == '\r')
        p->pos++;
    if (p->pos < p->size && p->text[p->pos] == '\n')
        p->pos++;
    p->line++;
}

static clrnn_status push_field(csv_parser *p, char *field, clrnn_error *err)
{
    if (p->n_fields == p->cap_fields) {
        size_t cap = p->cap_fields ? 2 * p->cap_fields : 16;
        char **bigger =
            cap < SIZE_MAX / sizeof *bigger ? realloc(p->fields, cap * sizeof *bigger) : NULL;
        if (!bigger)
            return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", p->path);
        p->fields = bigger;
        p->cap_fields = cap;
    }
    p->fields[p->n_fields++] = field;
    return CLRNN_OK;
}

/* A NUL byte cuts C strings: a cell "5\0" would read as 5. Text tables
 * have none; UTF-16 and binary files have many. */
static clrnn_status nul_byte(const csv_parser *p, size_t line, size_t column, clrnn_error *err)
{
    return clrnn__fail(err, CLRNN_E_INPUT,
                       "%s:%zu:%zu: a NUL byte in the field (a UTF-16 or binary file? clrnn "
                       "reads UTF-8 text)",
                       p->path, line, column);
}

/* "..." with "" for a quote; may span lines. Leaves pos after the closing
 * quote and returns where the unescaped text ends. */
static clrnn_status parse_quoted(csv_parser *p, char **end, clrnn_error *err)
{
    size_t open_line = p->line, column = p->n_fields + 1;
    char *w = p->text + p->pos + 1; /* unescaped text overwrites the field itself */
    p->pos++;
    for (;;) {
        if (p->pos >= p->size)
            return clrnn__fail(err, CLRNN_E_INPUT, "%s:%zu:%zu: unterminated quoted field", p->path,
                               open_line, column);
        char c = p->text[p->pos++];
        if (c == '\0')
            return nul_byte(p, p->line, column, err);
        if (c == '"' && p->pos < p->size && p->text[p->pos] == '"')
            p->pos++;
        else if (c == '"')
            break;
        else if (c == '\n' || (c == '\r' && (p->pos >= p->size || p->text[p->pos] != '\n')))
            p->line++;
        *w++ = c;
    }
    while (p->pos < p->size && is_blank(p->text[p->pos]))
        p->pos++;
    if (!at_line_end(p) && p->text[p->pos] != ',')
        return clrnn__fail(err, CLRNN_E_INPUT, "%s:%zu:%zu: text after the closing quote", p->path,
                           p->line, column);
    *end = w;
    return CLRNN_OK;
}

/* One record into p->fields, skipping blank lines. *line is where it starts;
 * *got is 0 at the end of the file. */
static clrnn_status csv_next_record(csv_parser *p, int *got, size_t *line, clrnn_error *err)
{
    p->n_fields = 0;
    *got = 0;
    for (;;) { /* blank lines (spaces only) are no records */
        size_t i = p->pos;
        while (i < p->size && is_blank(p->text[i]))
            i++;
        if (i >= p->size)
            return CLRNN_OK;
        if (p->text[i] != '\n' && p->text[i] != '\r')
            break;
        p->pos = i;
        skip_line_end(p);
    }
    *got = 1;
    *line = p->line;
    for (;;) {
        while (p->pos < p->size && is_blank(p->text[p->pos]))
            p->pos++;
        char *start = p->text + p->pos, *end = start;
        if (p->pos < p->size && p->text[p->pos] == '"') {
            clrnn_status st = parse_quoted(p, &end, err);
            if (st != CLRNN_OK)
                return st;
            start++;
        } else {
            while (!at_line_end(p) && p->text[p->pos] != ',')
                p->pos++;
            end = p->text + p->pos;
            if (memchr(start, '\0', (size_t)(end - start)))
                return nul_byte(p, *line, p->n_fields + 1, err);
            while (end > start && is_blank(end[-1]))
                end--;
        }
        int more = p->pos < p->size && p->text[p->pos] == ',';
        if (more)
            p->pos++;
        else if (p->pos < p->size)
            skip_line_end(p);
        *end = '\0'; /* may be where the delimiter was, hence after stepping over it */
        clrnn_status st = push_field(p, start, err);
        if (st != CLRNN_OK || !more)
            return st;
    }
}

typedef enum cell_kind { CELL_NUMBER, CELL_EMPTY, CELL_BAD } cell_kind;

/* The largest magnitude a cell may have: sums of squares of differences of
 * such values (the scaler's variance, RMSE in the data's units) stay finite
 * in a double over any table that fits in memory. */
#define MAX_CELL_MAGNITUDE 1e150

/* A cell is empty, "NA"/"NaN"/"nan", or a finite decimal number of at most
 * `limit` in magnitude with optional surrounding spaces. strtod alone would also take "inf",
 * "nan(...)" and hex, which no table of measurements means. */
static cell_kind parse_cell_within(const char *text, double *value, double limit)
{
    while (is_blank(*text))
        text++;
    size_t n = strlen(text);
    while (n && is_blank(text[n - 1]))
        n--;
    if (n == 0 || (n == 2 && !strncmp(text, "NA", 2)) || (n == 3 && !strncmp(text, "NaN", 3)) ||
        (n == 3 && !strncmp(text, "nan", 3)))
        return CELL_EMPTY;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", text[i]))
            return CELL_BAD;
    char *end;
    double v = strtod(text, &end);
    if (end != text + n || !isfinite(v) || fabs(v) > limit)
        return CELL_BAD;
    *value = v;
    return CELL_NUMBER;
}

static cell_kind parse_cell(const char *text, double *value)
{
    return parse_cell_within(text, value, MAX_CELL_MAGNITUDE);
}

/* A header that names a column of dates: date, time, timestamp, datetime
 * (case-insensitive). */
static int is_date_name(const char *name)
{
    static const char *const names[] = {"date", "time", "timestamp", "datetime"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]), j = 0;
        while (j < n && name[j] && (name[j] | 0x20) == names[i][j])
            j++;
        if (j == n && name[j] == '\0')
            return 1;
    }
    return 0;
}

/* Column names from the header record. */
static clrnn_status read_header(clrnn_table *t, csv_parser *p, size_t line, clrnn_error *err)
{
    t->has_labels = p->fields[0][0] == '\0' || (p->n_fields > 1 && is_date_name(p->fields[0]));
    t->label_name = t->has_labels ? p->fields[0] : NULL;
    size_t first = t->has_labels ? 1 : 0;
    t->n_cols = p->n_fields - first;
    if (t->n_cols == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "%s:%zu: the header names no numeric column",
                           t->path, line);
    t->col_names = alloc_array(t->n_cols, sizeof *t->col_names);
    if (!t->col_names)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    for (size_t c = 0; c < t->n_cols; c++) {
        char *name = p->fields[first + c];
        if (name[0] == '\0')
            return clrnn__fail(err, CLRNN_E_INPUT, "%s:%zu:%zu: column %zu has no name", t->path,
                               line, first + c + 1, first + c + 1);
        for (size_t other = 0; other < c; other++)
            if (!strcmp(name, t->col_names[other]))
                return clrnn__fail(err, CLRNN_E_INPUT,
                                   "%s:%zu:%zu: duplicate column name '%s' (also column %zu)",
                                   t->path, line, first + c + 1, name, first + other + 1);
        t->col_names[c] = name;
    }
    return CLRNN_OK;
}

/* The numeric cells of one data record into row `row`. */
static void read_row(clrnn_table *t, const csv_parser *p, size_t row)
{
    size_t first = t->has_labels ? 1 : 0;
    t->labels[row] = p->fields[0]; /* parse_cell leaves the text as it is */
    double *values = t->values + row * t->n_cols;
    for (size_t c = 0; c < t->n_cols; c++) {
        char *text = p->fields[first + c];
        t->cells[row * t->n_cols + c] = text;
        cell_kind kind = parse_cell(text, &values[c]);
        if (kind == CELL_NUMBER)
            continue;
        values[c] = NAN;
        if (kind == CELL_BAD && t->bad_row[c] == SIZE_MAX) {
            t->bad_row[c] = row;
            t->bad_text[c] = text;
        }
    }
}

/* The per-column bookkeeping, and room for the first rows. */
static clrnn_status alloc_rows(clrnn_table *t, size_t *cap_rows, clrnn_error *err)
{
    *cap_rows = 256;
    if (t->n_cols > SIZE_MAX / sizeof *t->values)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    t->values = alloc_array(*cap_rows, t->n_cols * sizeof *t->values);
    t->lines = alloc_array(*cap_rows, sizeof *t->lines);
    t->labels = alloc_array(*cap_rows, sizeof *t->labels);
    t->cells = alloc_array(*cap_rows, t->n_cols * sizeof *t->cells);
    t->bad_row = alloc_array(t->n_cols, sizeof *t->bad_row);
    t->bad_text = alloc_array(t->n_cols, sizeof *t->bad_text);
    if (!t->values || !t->lines || !t->labels || !t->cells || !t->bad_row || !t->bad_text)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    for (size_t c = 0; c < t->n_cols; c++) {
        t->bad_row[c] = SIZE_MAX;
        t->bad_text[c] = NULL;
    }
    return CLRNN_OK;
}

/* realloc of n elements of size bytes; *p is kept on failure. */
static int grow_array(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return 0;
    void *bigger = realloc(*(void **)p, n * size);
    if (!bigger)
        return 0;
    *(void **)p = bigger;
    return 1;
}

/* Twice the room for rows: the table is sized by the rows it has, not by
 * the lines of the file (a million blank lines cost nothing). */
static clrnn_status grow_rows(clrnn_table *t, size_t *cap_rows, clrnn_error *err)
{
    size_t cap = *cap_rows <= SIZE_MAX / 2 ? 2 * *cap_rows : SIZE_MAX;
    if (t->n_cols > SIZE_MAX / sizeof *t->values ||
        !grow_array(&t->values, cap, t->n_cols * sizeof *t->values) ||
        !grow_array(&t->lines, cap, sizeof *t->lines) ||
        !grow_array(&t->labels, cap, sizeof *t->labels) ||
        !grow_array(&t->cells, cap, t->n_cols * sizeof *t->cells))
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory at row %zu", t->path,
                           t->n_rows + 1);
    *cap_rows = cap;
    return CLRNN_OK;
}

static clrnn_status parse_table(clrnn_table *t, csv_parser *p, clrnn_error *err)
{
    static const char bom[] = "\xEF\xBB\xBF";
    if (p->size >= 3 && !memcmp(p->text, bom, 3))
        p->pos = 3;
    if (p->size >= 2 && (!memcmp(p->text, "\xFF\xFE", 2) || !memcmp(p->text, "\xFE\xFF", 2)))
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: the file is UTF-16 (it starts with a UTF-16 byte-order mark); "
                           "clrnn reads UTF-8: convert it, e.g. iconv -f UTF-16 -t UTF-8",
                           t->path);
    int got;
    size_t line;
    clrnn_status st = csv_next_record(p, &got, &line, err);
    if (st != CLRNN_OK)
        return st;
    if (!got)
        return clrnn__fail(err, CLRNN_E_INPUT, "%s: the file is empty (expected a header row)",
                           t->path);
    size_t n_header = p->n_fields, cap_rows;
    if ((st = read_header(t, p, line, err)) != CLRNN_OK ||
        (st = alloc_rows(t, &cap_rows, err)) != CLRNN_OK)
        return st;
    for (;;) {
        if ((st = csv_next_record(p, &got, &line, err)) != CLRNN_OK)
            return st;
        if (!got)
            break;
        if (p->n_fields != n_header)
            return clrnn__fail(err, CLRNN_E_INPUT, "%s:%zu: row has %zu fields, the header has %zu",
                               t->path, line, p->n_fields, n_header);
        if (t->n_rows == cap_rows && (st = grow_rows(t, &cap_rows, err)) != CLRNN_OK)
            return st;
        t->lines[t->n_rows] = line;
        read_row(t, p, t->n_rows);
        t->n_rows++;
    }
    if (t->n_rows == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "%s: no data rows after the header", t->path);
    return CLRNN_OK;
}

clrnn_status clrnn_table_read_csv(clrnn_table **out, const char *path, clrnn_error *err)
{
    if (!out || !path)
        return clrnn__fail(err, CLRNN_E_INPUT, "clrnn_table_read_csv: NULL argument");
    *out = NULL;
    csv_parser p = {0};
    clrnn_status st;
    clrnn_table *t = calloc(1, sizeof *t);
    if (!t || !(t->path = copy_string(path))) {
        st = clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    unsigned char *text = NULL;
    st = read_file_all(path, SIZE_MAX, "a table", &text, &p.size, err);
    t->text = (char *)text;
    if (st != CLRNN_OK)
        goto fail;
    p.path = t->path;
    p.text = t->text;
    p.line = 1;
    if ((st = parse_table(t, &p, err)) != CLRNN_OK)
        goto fail;
    free(p.fields);
    *out = t;
    return CLRNN_OK;
fail:
    free(p.fields);
    clrnn_table_free(t);
    return st;
}

void clrnn_table_free(clrnn_table *table)
{
    if (!table)
        return;
    free(table->path);
    free(table->text);
    free(table->col_names);
    free(table->labels);
    free(table->lines);
    free(table->values);
    free(table->cells);
    free(table->bad_row);
    free(table->bad_text);
    free(table);
}

const char *clrnn_table_path(const clrnn_table *table)
{
    return table->path;
}

size_t clrnn_table_n_rows(const clrnn_table *table)
{
    return table->n_rows;
}

size_t clrnn_table_n_cols(const clrnn_table *table)
{
    return table->n_cols;
}

const char *clrnn_table_col_name(const clrnn_table *table, size_t col)
{
    return col < table->n_cols ? table->col_names[col] : NULL;
}

long clrnn_table_find_col(const clrnn_table *table, const char *name)
{
    for (size_t c = 0; name && c < table->n_cols; c++)
        if (!strcmp(table->col_names[c], name))
            return (long)c;
    return -1;
}

const char *clrnn_table_row_label(const clrnn_table *table, size_t row)
{
    return table->has_labels && row < table->n_rows ? table->labels[row] : NULL;
}

double clrnn_table_value(const clrnn_table *table, size_t row, size_t col)
{
    if (row >= table->n_rows || col >= table->n_cols)
        return NAN;
    return table->values[row * table->n_cols + col];
}

int clrnn_table_bad_cell(const clrnn_table *table, size_t col, size_t *row, const char **text)
{
    if (col >= table->n_cols || table->bad_row[col] == SIZE_MAX)
        return 0;
    if (row)
        *row = table->bad_row[col];
    if (text)
        *text = table->bad_text[col];
    return 1;
}

const char *clrnn_table_cell_text(const clrnn_table *table, size_t row, size_t col)
{
    if (row >= table->n_rows || col >= table->n_cols)
        return NULL;
    return table->cells[row * table->n_cols + col];
}

size_t clrnn_table_row_line(const clrnn_table *table, size_t row)
{
    return row < table->n_rows ? table->lines[row] : 0;
}

/* 1-based field number of numeric column col in the file. */
static size_t file_column(const clrnn_table *table, size_t col)
{
    return col + (table->has_labels ? 2 : 1);
}

/* --------------------------------------------------------------- dataset */

clrnn_data_config clrnn_data_config_default(void)
{
    clrnn_data_config c;
    memset(&c, 0, sizeof c);
    c.seq_len = 7;
    c.train_fraction = 0.7;
    c.val_fraction = 0.15;
    c.missing = CLRNN_MISSING_FFILL;
    c.scaler_fit = CLRNN_SCALER_FIT_TRAIN;
    c.scale_targets = 1;
    return c;
}

struct clrnn_dataset {
    size_t n_rows, n_features, n_targets, seq_len; /* n_targets: K outputs */
    size_t n_target_cols, n_horizons, h_max;       /* C, H: K = C H */
    size_t *horizons;                              /* (H) */
    int difference;
    double *x;      /* (R, F) standardised features */
    double *y;      /* (R, K) what output k learns at row r: the level, or its change from
                       y_base when differenced; standardised if scale_targets; NaN: masked */
    double *y_raw;  /* (R, K) the level row r's output k predicts, data units (NaN: missing) */
    double *y_base; /* (R, K) that output's last known value (the naive forecast) */
    double *y_col;  /* (K, R) each output's target column, data units */
    double *times;  /* (R) seconds since 1970-01-01 UTC, or NULL */
    double *stats;  /* feature mean (F), feature std (F), target mean (K), target std (K) */
    char **labels;  /* (R) into label_text, or NULL */
    char *label_text;
    char **names;      /* (F + C) the feature then the target column names, owned */
    char **out_labels; /* (K) "tmax", "tmax+7", owned */
    size_t begin[CLRNN_N_SPLITS], end[CLRNN_N_SPLITS];
    size_t win_first[CLRNN_N_SPLITS], n_win[CLRNN_N_SPLITS]; /* into starts */
    size_t *starts;           /* (windows) each split's window starts, split by split */
    size_t n_series;          /* S >= 1 */
    size_t *series_begin;     /* (S + 1) first row of each series, then R */
    size_t *row_series;       /* (R) each row's series */
    char **series_ids;        /* (S) owned, or NULL without a series column */
    char *series_column;      /* its name, owned, or NULL */
    unsigned char *row_split; /* (R) the split each row is in */
    double *series_stats;     /* (S, 2 (F + K)) as stats, with scale_per_series; or NULL */
    double *ranges;           /* (F + C, 4) training min, max, test min, max */
    size_t cells_filled, rows_dropped, targets_missing;
    size_t season;
};

/* The date features, in the order of their bits, and their names. */
static const char *const date_feature_names[] = {"doy", "dow", "month", "hour"};
#define N_DATE_FEATURES 4

static size_t n_date_features(unsigned bits)
{
    size_t n = 0;
    for (size_t i = 0; i < N_DATE_FEATURES; i++)
        n += (bits >> i) & 1u;
    return 2 * n; /* a sine and a cosine each */
}

/* The horizons of a config: {0} when none are given. */
static size_t config_n_horizons(const clrnn_data_config *c)
{
    return c->horizons && c->n_horizons ? c->n_horizons : 1;
}

static size_t config_horizon(const clrnn_data_config *c, size_t j)
{
    return c->horizons && c->n_horizons ? c->horizons[j] : 0;
}

static clrnn_status check_config(const clrnn_data_config *c, clrnn_error *err)
{
    if (c->n_features < 1 || !c->features)
        return clrnn__fail(err, CLRNN_E_INPUT, "no feature columns chosen (n_features is 0)");
    if (c->n_targets < 1 || !c->targets)
        return clrnn__fail(err, CLRNN_E_INPUT, "no target columns chosen (n_targets is 0)");
    if (c->seq_len < 1)
        return clrnn__fail(err, CLRNN_E_INPUT, "seq_len is 0; a window needs at least one step");
    if (!(c->train_fraction > 0.0 && c->train_fraction <= 1.0))
        return clrnn__fail(err, CLRNN_E_INPUT, "train fraction %g is not in (0, 1]",
                           c->train_fraction);
    if (!(c->val_fraction >= 0.0 && c->val_fraction < 1.0))
        return clrnn__fail(err, CLRNN_E_INPUT, "validation fraction %g is not in [0, 1)",
                           c->val_fraction);
    if (c->train_fraction + c->val_fraction > 1.0 + 1e-12)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "train fraction %g and validation fraction %g add up to more than 1",
                           c->train_fraction, c->val_fraction);
    if (c->missing != CLRNN_MISSING_FFILL && c->missing != CLRNN_MISSING_DROP &&
        c->missing != CLRNN_MISSING_ERROR)
        return clrnn__fail(err, CLRNN_E_INPUT, "unknown missing-value policy %d", (int)c->missing);
    if (c->scaler_fit != CLRNN_SCALER_FIT_TRAIN && c->scaler_fit != CLRNN_SCALER_FIT_ALL)
        return clrnn__fail(err, CLRNN_E_INPUT, "unknown scaler fit %d", (int)c->scaler_fit);
    for (size_t i = 0; i < c->n_features + c->n_targets; i++)
        if (!(i < c->n_features ? c->features[i] : c->targets[i - c->n_features]))
            return clrnn__fail(err, CLRNN_E_INPUT, "a column name is NULL");
    if (c->n_horizons && !c->horizons)
        return clrnn__fail(err, CLRNN_E_INPUT, "`horizons` is NULL and `n_horizons` is %zu",
                           c->n_horizons);
    for (size_t j = 0; c->horizons && j < c->n_horizons; j++) {
        if (c->horizons[j] > ((size_t)1 << 30))
            return clrnn__fail(err, CLRNN_E_INPUT, "`horizons`: %zu rows ahead is too far",
                               c->horizons[j]);
        for (size_t i = 0; i < j; i++)
            if (c->horizons[i] == c->horizons[j])
                return clrnn__fail(err, CLRNN_E_INPUT, "`horizons` lists %zu twice",
                                   c->horizons[j]);
    }
    if (c->n_targets > SIZE_MAX / 64 / config_n_horizons(c))
        return clrnn__fail(err, CLRNN_E_INPUT, "too many `targets` times `horizons`");
    if (!(c->scale_fraction >= 0.0 && c->scale_fraction <= 1.0))
        return clrnn__fail(err, CLRNN_E_INPUT, "`scale_fraction` %g is not in [0, 1]",
                           c->scale_fraction);
    if (c->split_by_series && !c->series_column)
        return clrnn__fail(err, CLRNN_E_INPUT, "`split_by_series` needs a `series_column`");
    if (c->split_by_series && c->scale_per_series)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "`scale_per_series` fits each series on its own training rows, and "
                           "with `split_by_series` a held-out series has none: scale globally");
    if (c->date_features & ~((1u << N_DATE_FEATURES) - 1))
        return clrnn__fail(err, CLRNN_E_INPUT, "unknown `date_features` bits 0x%x",
                           c->date_features & ~((1u << N_DATE_FEATURES) - 1));
    return CLRNN_OK;
}

/* "PATH: no column named 'x' (columns: a, b, c)". */
static clrnn_status unknown_column(const clrnn_table *t, const char *name, clrnn_error *err)
{
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (size_t c = 0; c < t->n_cols && n < sizeof list; c++) {
        int w = snprintf(list + n, sizeof list - n, "%s%s", c ? ", " : "", t->col_names[c]);
        n = w < 0 ? sizeof list : n + (size_t)w;
    }
    return clrnn__fail(err, CLRNN_E_INPUT, "%s: no column named '%s' (columns: %s%s)", t->path,
                       name, list, n >= sizeof list ? " ..." : "");
}

/* cols[i] of a target column the table lacks, with targets_optional. */
#define ABSENT_COLUMN SIZE_MAX

/* Table columns of the features then the targets (F + K) into cols, and the
 * distinct ones in file order into used (*n_used of them). A
 * target that is also a feature at horizon 0 would let the model copy its
 * input, and is refused. date_col (or -1) is the column that holds the row
 * labels. */
static clrnn_status resolve_columns(const clrnn_table *t, const clrnn_data_config *c, long date_col,
                                    size_t *cols, size_t *used, size_t *n_used, clrnn_error *err)
{
    *n_used = 0;
    for (size_t i = 0; i < c->n_features + c->n_targets; i++) {
        const char *name = i < c->n_features ? c->features[i] : c->targets[i - c->n_features];
        long col = clrnn_table_find_col(t, name);
        if (col < 0 && i >= c->n_features && c->targets_optional) {
            cols[i] = ABSENT_COLUMN; /* all NaN: gather */
            continue;
        }
        if (col < 0)
            return unknown_column(t, name, err);
        if (col == date_col)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: column '%s' is the `date_column` (row labels), not data",
                               t->path, name);
        size_t row;
        const char *text;
        if (clrnn_table_bad_cell(t, (size_t)col, &row, &text)) {
            double value; /* a number, but past MAX_CELL_MAGNITUDE? */
            char why[128] = "is not a number";
            if (parse_cell_within(text, &value, INFINITY) == CELL_NUMBER)
                snprintf(why, sizeof why,
                         "is too large (clrnn takes values up to %g in magnitude, so that their "
                         "squares add up in a double)",
                         MAX_CELL_MAGNITUDE);
            return clrnn__fail(err, CLRNN_E_INPUT, "%s:%zu:%zu: column '%s': '%.80s' %s", t->path,
                               t->lines[row], file_column(t, (size_t)col), name, text, why);
        }
        cols[i] = (size_t)col;
        size_t at = *n_used; /* insertion into the sorted, distinct list */
        while (at > 0 && used[at - 1] > (size_t)col)
            at--;
        if (at > 0 && used[at - 1] == (size_t)col)
            continue;
        memmove(used + at + 1, used + at, (*n_used - at) * sizeof *used);
        used[at] = (size_t)col;
        (*n_used)++;
    }
    int at_zero = 0;
    for (size_t j = 0; j < config_n_horizons(c); j++)
        at_zero |= config_horizon(c, j) == 0;
    for (size_t k = 0; at_zero && k < c->n_targets; k++)
        for (size_t f = 0; f < c->n_features; f++)
            if (cols[c->n_features + k] == cols[f])
                return clrnn__fail(err, CLRNN_E_INPUT,
                                   "target '%s' is also a feature at horizon 0: the model would "
                                   "copy its input (predict it `horizons` >= 1 rows ahead)",
                                   c->targets[k]);
    return CLRNN_OK;
}

/* Where the row labels come from: *use_labels, and the table column that
 * holds them (`date_column` naming the first column) or -1. */
static clrnn_status choose_label_column(const clrnn_table *t, const clrnn_data_config *c,
                                        int *use_labels, long *date_col, clrnn_error *err)
{
    *use_labels = t->has_labels;
    *date_col = -1;
    if (!c->date_column)
        return CLRNN_OK;
    if (t->has_labels && !strcmp(t->label_name, c->date_column))
        return CLRNN_OK;
    if (!t->has_labels && !strcmp(t->col_names[0], c->date_column)) {
        *use_labels = 1;
        *date_col = 0;
        return CLRNN_OK;
    }
    long col = clrnn_table_find_col(t, c->date_column);
    if (col < 0 && !t->has_labels)
        return unknown_column(t, c->date_column, err);
    if (col < 0 && !t->label_name[0])
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: `date_column` '%s': no such column; the first column (no header) "
                           "holds the row labels already",
                           t->path, c->date_column);
    return clrnn__fail(err, CLRNN_E_INPUT,
                       "%s: `date_column` '%s' is not the first column (the first is '%s'): the "
                       "row labels must come first",
                       t->path, c->date_column, t->has_labels ? t->label_name : t->col_names[0]);
}

/* ----------------------------------------------------------------- series */

typedef struct series_first {
    const char *id;
    size_t row; /* table row where the series starts */
} series_first;

static int compare_first(const void *a, const void *b)
{
    const series_first *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* Each table row's series (tseries, (R_table)) from the series column: a
 * new series starts where the id changes; an id seen before another series
 * is refused (rows of a series must be contiguous). *series_col: its table
 * column, or -1 without one. */
static clrnn_status find_series(const clrnn_table *t, const clrnn_data_config *c, long date_col,
                                const size_t *cols, size_t *tseries, long *series_col,
                                clrnn_error *err)
{
    *series_col = -1;
    if (!c->series_column) {
        memset(tseries, 0, t->n_rows * sizeof *tseries);
        return CLRNN_OK;
    }
    long col = clrnn_table_find_col(t, c->series_column);
    if (col < 0)
        return unknown_column(t, c->series_column, err);
    if (col == date_col)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: `series_column` '%s' is the `date_column` (row labels)", t->path,
                           c->series_column);
    for (size_t i = 0; i < c->n_features + c->n_targets; i++)
        if (cols[i] == (size_t)col)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: `series_column` '%s' is also a %s column; an id is not data",
                               t->path, c->series_column, i < c->n_features ? "feature" : "target");
    size_t C = t->n_cols, n = 0;
    series_first *first = alloc_array(t->n_rows, sizeof *first);
    if (!first)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *id = t->cells[r * C + (size_t)col];
        if (id[0] == '\0') {
            free(first);
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s:%zu:%zu: column '%s' is empty: every row needs a series id",
                               t->path, t->lines[r], file_column(t, (size_t)col), c->series_column);
        }
        if (r == 0 || strcmp(id, t->cells[(r - 1) * C + (size_t)col]))
            first[n++] = (series_first){id, r};
        tseries[r] = n - 1;
    }
    qsort(first, n, sizeof *first, compare_first);
    clrnn_status st = CLRNN_OK;
    size_t again = SIZE_MAX, before = 0;
    for (size_t i = 1; i < n; i++)
        if (!strcmp(first[i].id, first[i - 1].id) && first[i].row < again) {
            again = first[i].row;
            before = first[i - 1].row;
        }
    if (again != SIZE_MAX)
        st = clrnn__fail(err, CLRNN_E_INPUT,
                         "%s:%zu: series '%.40s' appears again after series '%.40s' (it started "
                         "on line %zu): the rows of each series must be together",
                         t->path, t->lines[again], t->cells[again * C + (size_t)col],
                         t->cells[(again - 1) * C + (size_t)col], t->lines[before]);
    free(first);
    *series_col = col;
    return st;
}

/* The kept rows' series: boundaries, each row's series and the ids. A
 * series whose rows were all dropped is gone. */
static clrnn_status keep_series(clrnn_dataset *d, const clrnn_table *t, const unsigned char *keep,
                                const size_t *tseries, long series_col, clrnn_error *err)
{
    size_t R = d->n_rows, S = 0;
    d->row_series = alloc_array(R, sizeof *d->row_series);
    d->series_begin = alloc_array(R + 1, sizeof *d->series_begin);
    if (!d->row_series || !d->series_begin)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    size_t last = SIZE_MAX;
    for (size_t r = 0, i = 0; r < t->n_rows; r++) {
        if (!keep[r])
            continue;
        if (tseries[r] != last || i == 0)
            d->series_begin[S++] = i;
        last = tseries[r];
        d->row_series[i++] = S - 1;
    }
    d->series_begin[S] = R;
    d->n_series = S ? S : 1;
    if (series_col < 0)
        return CLRNN_OK;
    if (!(d->series_ids = calloc(d->n_series, sizeof *d->series_ids)) ||
        !(d->series_column = copy_string(t->col_names[series_col])))
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    for (size_t r = 0, i = 0, s = 0; r < t->n_rows && s < S; r++) {
        if (!keep[r])
            continue;
        if (i++ == d->series_begin[s] &&
            !(d->series_ids[s++] = copy_string(t->cells[r * t->n_cols + (size_t)series_col])))
            return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    }
    return CLRNN_OK;
}

static int is_feature_column(size_t col, const size_t *cols, size_t n_features)
{
    for (size_t f = 0; f < n_features; f++)
        if (cols[f] == col)
            return 1;
    return 0;
}

/* Applies the missing-value policy to which rows are kept (keep, (R_table))
 * and counts the cells ffill will fill. A cell of a used column is NaN only
 * when empty: columns with non-numeric cells were refused before. ffill
 * fills feature cells only: an empty cell of a column that is only a
 * target stays empty (a masked cell). */
static clrnn_status choose_rows(clrnn_dataset *d, unsigned char *keep, const clrnn_table *t,
                                const size_t *used, size_t n_used, const size_t *cols,
                                size_t n_features, clrnn_missing missing, const size_t *tseries,
                                clrnn_error *err)
{
    d->n_rows = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t n_empty = 0, first_empty = 0;
        for (size_t u = 0; u < n_used; u++)
            if (isnan(t->values[r * t->n_cols + used[u]]) &&
                (missing != CLRNN_MISSING_FFILL || is_feature_column(used[u], cols, n_features)) &&
                n_empty++ == 0)
                first_empty = used[u];
        keep[r] = n_empty == 0 || missing == CLRNN_MISSING_FFILL;
        d->n_rows += keep[r];
        if (n_empty == 0)
            continue;
        if (missing == CLRNN_MISSING_ERROR)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s:%zu:%zu: column '%s' is empty (see `missing`)", t->path,
                               t->lines[r], file_column(t, first_empty), t->col_names[first_empty]);
        if (missing == CLRNN_MISSING_FFILL && (r == 0 || tseries[r] != tseries[r - 1]))
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s:%zu:%zu: column '%s' is empty in the first row%s; nothing to "
                               "carry forward (try `missing` drop)",
                               t->path, t->lines[r], file_column(t, first_empty),
                               t->col_names[first_empty], r ? " of its series" : "");
        if (missing == CLRNN_MISSING_FFILL)
            d->cells_filled += n_empty;
        else
            d->rows_dropped++;
    }
    return CLRNN_OK;
}

/* " and horizon 7" when there is a horizon. */
static void horizon_words(char *out, size_t size, size_t h_max)
{
    if (h_max)
        snprintf(out, size, " and `horizons` up to %zu", h_max);
    else
        out[0] = '\0';
}

/*
 * Chronological split of the R kept rows: floor(fraction * R) rows each for
 * training and validation, as python's int(0.7 * len(X)); test is the rest.
 *
 * A window belongs to the split that holds the row its farthest horizon
 * predicts, p = start + T - 1 + h_max: so every row of the validation and
 * test splits is predicted by one window, whatever T, and no cell counts
 * in a split earlier than its row's. A window's earlier steps read rows
 * before its split (as inputs; with the loss on every step, their targets
 * count too, all of them in that split or an earlier one).
 */
static clrnn_status split_rows(clrnn_dataset *d, const clrnn_table *t, const clrnn_data_config *c,
                               clrnn_error *err)
{
    size_t R = d->n_rows, T = c->seq_len, lead = T - 1 + d->h_max;
    char hw[64];
    horizon_words(hw, sizeof hw, d->h_max);
    if (R <= lead && d->rows_dropped)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: %zu rows (after dropping %zu with empty cells), fewer than one "
                           "window of seq_len %zu%s",
                           t->path, R, d->rows_dropped, T, hw);
    if (R <= lead)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: %zu rows, fewer than one window of seq_len %zu%s", t->path, R, T,
                           hw);
    size_t n_train = (size_t)(c->train_fraction * (double)R);
    size_t n_val = (size_t)(c->val_fraction * (double)R);
    if (n_train > R)
        n_train = R;
    if (n_val > R - n_train) /* fractions may add up to 1 + 1e-12 */
        n_val = R - n_train;
    if (n_train <= lead)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: the training split has %zu rows, fewer than one window of seq_len "
                           "%zu%s (%zu rows)",
                           t->path, n_train, T, hw, lead + 1);
    double test_fraction = 1.0 - c->train_fraction - c->val_fraction;
    if (c->val_fraction > 0 && n_val == 0)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: the validation split has no row (`val_fraction` %g of %zu rows); "
                           "raise it, or set it to 0",
                           t->path, c->val_fraction, R);
    if (test_fraction > 1e-9 && n_train + n_val == R)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: the test split has no row (%g of %zu rows); lower "
                           "`train_fraction` or `val_fraction`",
                           t->path, test_fraction, R);
    d->begin[CLRNN_SPLIT_TRAIN] = 0;
    d->end[CLRNN_SPLIT_TRAIN] = d->begin[CLRNN_SPLIT_VAL] = n_train;
    d->end[CLRNN_SPLIT_VAL] = d->begin[CLRNN_SPLIT_TEST] = n_train + n_val;
    d->end[CLRNN_SPLIT_TEST] = R;
    for (size_t r = 0; r < R; r++)
        d->row_split[r] = r < n_train ? CLRNN_SPLIT_TRAIN
                                      : (r < n_train + n_val ? CLRNN_SPLIT_VAL : CLRNN_SPLIT_TEST);
    return CLRNN_OK;
}

/* Rows of each series to the splits: the first train_fraction of each
 * series' rows train, the next val_fraction validate, as split_rows does
 * for one series; or, split_by_series, whole series by the same fractions
 * of the series. */
static clrnn_status split_series(clrnn_dataset *d, const clrnn_table *t, const clrnn_data_config *c,
                                 clrnn_error *err)
{
    size_t S = d->n_series, n_train = 0, n_val = 0;
    double test_fraction = 1.0 - c->train_fraction - c->val_fraction;
    if (c->split_by_series) {
        n_train = (size_t)(c->train_fraction * (double)S);
        n_val = (size_t)(c->val_fraction * (double)S);
        n_train = n_train > S ? S : n_train;
        n_val = n_val > S - n_train ? S - n_train : n_val;
        if (n_train == 0)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: %zu series: `train_fraction` %g of them is no series; "
                               "training needs one (or split within each series)",
                               t->path, S, c->train_fraction);
        if (c->val_fraction > 0 && n_val == 0)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: %zu series: `val_fraction` %g of them is no series; raise "
                               "it, or set it to 0",
                               t->path, S, c->val_fraction);
        if (test_fraction > 1e-9 && n_train + n_val == S)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: %zu series leave none to test (%g of them); lower "
                               "`train_fraction` or `val_fraction`",
                               t->path, S, test_fraction);
    }
    for (size_t s = 0; s < S; s++) {
        size_t a = d->series_begin[s], b = d->series_begin[s + 1], n = b - a;
        size_t nt = (size_t)(c->train_fraction * (double)n);
        size_t nv = (size_t)(c->val_fraction * (double)n);
        nt = nt > n ? n : nt;
        nv = nv > n - nt ? n - nt : nv;
        if (c->split_by_series) {
            nt = s < n_train ? n : 0;
            nv = s >= n_train && s < n_train + n_val ? n : 0;
        }
        for (size_t r = a; r < b; r++)
            d->row_split[r] = r < a + nt ? CLRNN_SPLIT_TRAIN
                                         : (r < a + nt + nv ? CLRNN_SPLIT_VAL : CLRNN_SPLIT_TEST);
    }
    for (int sp = 0; sp < CLRNN_N_SPLITS; sp++) { /* the first and past the last row */
        d->begin[sp] = d->end[sp] = sp ? d->end[sp - 1] : 0;
        size_t r = 0;
        while (r < d->n_rows && d->row_split[r] != sp)
            r++;
        if (r == d->n_rows)
            continue;
        d->begin[sp] = r;
        for (r = d->n_rows; d->row_split[r - 1] != sp; r--)
            ;
        d->end[sp] = r;
    }
    return CLRNN_OK;
}

/* Each split's windows: every start whose rows and predicted rows lie in
 * one series, in the split of its farthest predicted row p = start + lead. */
static clrnn_status find_windows(clrnn_dataset *d, const clrnn_table *t, const clrnn_data_config *c,
                                 clrnn_error *err)
{
    size_t lead = c->seq_len - 1 + d->h_max, longest = 0;
    size_t count[CLRNN_N_SPLITS] = {0};
    for (int pass = 0; pass < 2; pass++) {
        for (int sp = 0; pass && sp < CLRNN_N_SPLITS; sp++) {
            d->win_first[sp] = sp ? d->win_first[sp - 1] + count[sp - 1] : 0;
            d->n_win[sp] = 0;
        }
        for (size_t s = 0; s < d->n_series; s++) {
            size_t a = d->series_begin[s], b = d->series_begin[s + 1];
            longest = b - a > longest ? b - a : longest;
            for (size_t p = a + lead; p < b; p++) {
                int sp = d->row_split[p];
                if (pass)
                    d->starts[d->win_first[sp] + d->n_win[sp]++] = p - lead;
                else
                    count[sp]++;
            }
        }
        if (!pass)
            memcpy(d->n_win, count, sizeof count);
    }
    if (!c->series_column)
        return CLRNN_OK; /* split_rows said why a split has no window */
    char hw[64];
    horizon_words(hw, sizeof hw, d->h_max);
    static const char *const names[CLRNN_N_SPLITS] = {"training", "validation", "test"};
    double fraction[CLRNN_N_SPLITS] = {1, c->val_fraction,
                                       1.0 - c->train_fraction - c->val_fraction};
    for (int sp = 0; sp < CLRNN_N_SPLITS; sp++)
        if (fraction[sp] > 1e-9 && d->n_win[sp] == 0)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: no series has a %s window of seq_len %zu%s (%zu rows; the "
                               "longest of the %zu series has %zu rows)",
                               t->path, names[sp], c->seq_len, hw, lead + 1, d->n_series, longest);
    return CLRNN_OK;
}

/* ------------------------------------------------------------------ dates */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static long days_in_month(long y, long m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* n digits at *s into *v; advances *s. */
static int take_digits(const char **s, int n, long *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return 0;
        *v = *v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    return 1;
}

/* An ISO date or time, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD[T ]HH:MM[:SS][Z],
 * as seconds since 1970-01-01 UTC; 0 for anything else. */
static int parse_iso_time(const char *s, double *out)
{
    long y, mo, d = 1, hh = 0, mi = 0, ss = 0;
    while (is_blank(*s))
        s++;
    if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || mo < 1 || mo > 12)
        return 0;
    if (*s == '-') {
        s++;
        if (!take_digits(&s, 2, &d) || d < 1 || d > days_in_month(y, mo))
            return 0;
        if (*s == 'T' || *s == ' ') {
            s++;
            if (!take_digits(&s, 2, &hh) || hh > 23 || *s++ != ':' || !take_digits(&s, 2, &mi) ||
                mi > 59)
                return 0;
            if (*s == ':' && (s++, !take_digits(&s, 2, &ss) || ss > 59))
                return 0;
            if (*s == 'Z')
                s++;
        }
    }
    while (is_blank(*s))
        s++;
    if (*s != '\0')
        return 0;
    *out = (double)days_from_civil(y, mo, d) * 86400.0 + (double)(hh * 3600 + mi * 60 + ss);
    return 1;
}

/* The fraction of each cycle (day of year, day of week from Monday, month
 * of year, hour of day: the day's time) that time t (seconds since 1970)
 * has gone through, in [0, 1). */
static void date_cycles(double t, double cycle[N_DATE_FEATURES])
{
    double days = floor(t / 86400.0), day_part = (t - days * 86400.0) / 86400.0;
    long z = (long)days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy_mar + 2) / 153;
    long d = doy_mar - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    long yday = (long)days - days_from_civil(y, 1, 1);
    long dow = (((long)days + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
    cycle[0] = ((double)yday + day_part) / (is_leap(y) ? 366.0 : 365.0);
    cycle[1] = ((double)dow + day_part) / 7.0;
    cycle[2] =
        ((double)(m - 1) + ((double)(d - 1) + day_part) / (double)days_in_month(y, m)) / 12.0;
    cycle[3] = day_part;
}

/* Each kept row's time (d->times), when every label is an ISO date or time;
 * rows with times must be in increasing order. rows (R) maps kept rows to
 * table rows. */
static clrnn_status read_times(clrnn_dataset *d, const clrnn_table *t, const size_t *rows,
                               const clrnn_data_config *c, clrnn_error *err)
{
    size_t R = d->n_rows, bad = SIZE_MAX;
    if (!d->labels) {
        if (c->date_features)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s: `date_features` needs a column of dates first (empty header, "
                               "'date', or `date_column`)",
                               t->path);
        return CLRNN_OK;
    }
    if (!(d->times = alloc_array(R, sizeof *d->times)))
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    for (size_t r = 0; r < R && bad == SIZE_MAX; r++)
        if (!parse_iso_time(d->labels[r], &d->times[r]))
            bad = r;
    if (bad != SIZE_MAX) {
        free(d->times);
        d->times = NULL;
        if (c->date_features)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s:%zu: `date_features` needs ISO dates (YYYY-MM-DD[ HH:MM[:SS]]), "
                               "and '%.40s' is not one",
                               t->path, t->lines[rows[bad]], d->labels[bad]);
        return CLRNN_OK;
    }
    for (size_t r = 1; r < R; r++)
        if (d->row_series[r] == d->row_series[r - 1] && !(d->times[r] > d->times[r - 1]))
            return clrnn__fail(
                err, CLRNN_E_INPUT,
                "%s:%zu: '%.40s' does not come after '%.40s' on the row before: rows "
                "must be in increasing date order%s",
                t->path, t->lines[rows[r]], d->labels[r], d->labels[r - 1],
                d->series_ids ? " within each series" : "");
    return CLRNN_OK;
}

/* The date features, sine then cosine of each chosen cycle, into columns
 * F0 .. F - 1 of x (R, F). */
static void fill_date_features(clrnn_dataset *d, size_t F0, unsigned bits)
{
    size_t F = d->n_features;
    const double two_pi = 6.283185307179586476925;
    for (size_t r = 0; r < d->n_rows; r++) {
        double cycle[N_DATE_FEATURES];
        date_cycles(d->times[r], cycle);
        size_t f = F0;
        for (size_t i = 0; i < N_DATE_FEATURES; i++) {
            if (!((bits >> i) & 1u))
                continue;
            d->x[r * F + f++] = sin(two_pi * cycle[i]);
            d->x[r * F + f++] = cos(two_pi * cycle[i]);
        }
    }
}

/* ---------------------------------------------------------------- columns */

/* Kept rows of the given table columns into out (R, stride), NaN and all. */
static void gather(double *out, size_t stride, const clrnn_table *t, const unsigned char *keep,
                   const size_t *cols, size_t n_cols)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!keep[r])
            continue;
        for (size_t j = 0; j < n_cols; j++)
            out[j] = cols[j] == ABSENT_COLUMN ? NAN : t->values[r * t->n_cols + cols[j]];
        out += stride;
    }
}

/* Mean and population std of the present (non-NaN) cells among the first
 * n_rows of column v (stride apart), like numpy's nanmean and nanstd: mean
 * as a plain sum over n, variance two-pass. A std of 0, or no cell at all,
 * gives 1, as sklearn's StandardScaler does, so scaling stays finite. */
static size_t column_stats(double *mean, double *std, const double *v, size_t stride, size_t n_rows,
                           const unsigned char *mask)
{
    double sum = 0.0, squares = 0.0;
    size_t n = 0;
    for (size_t r = 0; r < n_rows; r++)
        if ((!mask || mask[r]) && !isnan(v[r * stride])) {
            sum += v[r * stride];
            n++;
        }
    *mean = n ? sum / (double)n : 0.0;
    for (size_t r = 0; r < n_rows; r++)
        if ((!mask || mask[r]) && !isnan(v[r * stride]))
            squares += (v[r * stride] - *mean) * (v[r * stride] - *mean);
    *std = n ? sqrt(squares / (double)n) : 0.0;
    if (*std == 0.0)
        *std = 1.0;
    return n;
}

/* Every NaN of column v takes the value above it; row 0 has none. */
static void fill_forward(double *v, size_t stride, size_t n_rows)
{
    for (size_t r = 1; r < n_rows; r++)
        if (isnan(v[r * stride]))
            v[r * stride] = v[(r - 1) * stride];
}

static void standardise(double *v, size_t stride, size_t n_rows, double mean, double std)
{
    for (size_t r = 0; r < n_rows; r++)
        v[r * stride] = (v[r * stride] - mean) / std;
}

/* Statistics over the fitted rows (fit, (R)), then the fill within each
 * series: statistics see only the cells present in the file, never the
 * copies ffill makes. */
static void fit_and_fill(const clrnn_dataset *d, double *v, double *mean, double *std,
                         size_t n_cols, const unsigned char *fit)
{
    for (size_t j = 0; j < n_cols; j++) {
        column_stats(&mean[j], &std[j], v + j, n_cols, d->n_rows, fit);
        for (size_t s = 0; s < d->n_series; s++) {
            size_t a = d->series_begin[s];
            fill_forward(v + a * n_cols + j, n_cols, d->series_begin[s + 1] - a);
        }
    }
}

static void standardise_columns(double *v, const double *mean, const double *std, size_t n_cols,
                                size_t n_rows)
{
    for (size_t j = 0; j < n_cols; j++)
        standardise(v + j, n_cols, n_rows, mean[j], std[j]);
}

/* Copies the labels of the kept rows: the dataset outlives the table. */
static clrnn_status copy_labels(clrnn_dataset *d, const clrnn_table *t, const unsigned char *keep,
                                int use_labels, clrnn_error *err)
{
    if (!use_labels)
        return CLRNN_OK;
    size_t total = 0;
    for (size_t r = 0; r < t->n_rows; r++)
        if (keep[r])
            total += strlen(t->labels[r]) + 1;
    d->labels = alloc_array(d->n_rows, sizeof *d->labels);
    d->label_text = malloc(total ? total : 1);
    if (!d->labels || !d->label_text)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", t->path);
    char *w = d->label_text;
    size_t row = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!keep[r])
            continue;
        size_t n = strlen(t->labels[r]) + 1;
        memcpy(w, t->labels[r], n);
        d->labels[row++] = w;
        w += n;
    }
    return CLRNN_OK;
}

static clrnn_status alloc_matrices(clrnn_dataset *d, const char *path, clrnn_error *err)
{
    size_t R = d->n_rows, F = d->n_features, K = d->n_targets;
    d->x = alloc_array(R, F * sizeof(double));
    d->y = alloc_array(R, K * sizeof(double));
    d->y_raw = alloc_array(R, K * sizeof(double));
    d->y_base = alloc_array(R, K * sizeof(double));
    d->y_col = alloc_array(R, K * sizeof(double));
    d->stats = alloc_array(2 * (F + K), sizeof(double));
    d->ranges = alloc_array(4 * (F + d->n_target_cols), sizeof(double));
    if (!d->x || !d->y || !d->y_raw || !d->y_base || !d->y_col || !d->stats || !d->ranges)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    return CLRNN_OK;
}

static char *copy_text(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s", a, b);
    return out;
}

/* The column names: the config's features, the date features, the
 * targets; and each output's label. */
static clrnn_status copy_names(clrnn_dataset *d, const clrnn_data_config *c, const char *path,
                               clrnn_error *err)
{
    size_t F0 = c->n_features, F = d->n_features, C = d->n_target_cols, K = d->n_targets;
    if (!(d->names = calloc(F + C, sizeof *d->names)) ||
        !(d->out_labels = calloc(K, sizeof *d->out_labels)))
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    size_t f = F0;
    for (size_t i = 0; i < N_DATE_FEATURES; i++)
        if ((c->date_features >> i) & 1u) {
            d->names[f++] = copy_text(date_feature_names[i], "_sin");
            d->names[f++] = copy_text(date_feature_names[i], "_cos");
        }
    for (size_t i = 0; i < F0; i++)
        d->names[i] = copy_text(c->features[i], "");
    for (size_t j = 0; j < C; j++)
        d->names[F + j] = copy_text(c->targets[j], "");
    for (size_t i = 0; i < F + C; i++)
        if (!d->names[i])
            return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    for (size_t k = 0; k < K; k++) {
        char suffix[32] = "";
        if (d->horizons[k / C])
            snprintf(suffix, sizeof suffix, "+%zu", d->horizons[k / C]);
        if (!(d->out_labels[k] = copy_text(c->targets[k % C], suffix)))
            return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    }
    return CLRNN_OK;
}

/* The outputs from the target columns cols (R, C), unfilled: each output's
 * level (y_raw), last known value (y_base), column (y_col) and what it
 * learns (y, unscaled); the scaler's statistics of each output over the
 * rows whose predicted row is among the first fit_rows. */
static void frame_targets(clrnn_dataset *d, const double *cols, double *mean, double *std,
                          const unsigned char *fit, unsigned char *fit_change,
                          const unsigned char *sfit, unsigned char *sfit_change)
{
    size_t R = d->n_rows, C = d->n_target_cols, K = d->n_targets;
    for (size_t k = 0; k < K; k++) {
        size_t c = k % C, h = d->horizons[k / C];
        double last = NAN; /* the column carried forward, up to row r + h - max(h, 1) */
        for (size_t r = 0; r < R; r++) {
            size_t p = r + h, end = d->series_begin[d->row_series[r] + 1];
            if (r == d->series_begin[d->row_series[r]])
                last = NAN; /* nothing is known before a series starts */
            fit_change[r] = p < end && fit[p];
            sfit_change[r] = p < end && sfit[p];
            d->y_col[k * R + r] = cols[r * C + c];
            if (h == 0) {
                d->y_base[r * K + k] = last;
                if (!isnan(cols[r * C + c]))
                    last = cols[r * C + c];
            } else {
                if (!isnan(cols[r * C + c]))
                    last = cols[r * C + c];
                d->y_base[r * K + k] = last;
            }
            d->y_raw[r * K + k] = p < end ? cols[p * C + c] : NAN;
            d->y[r * K + k] =
                d->difference ? d->y_raw[r * K + k] - d->y_base[r * K + k] : d->y_raw[r * K + k];
        }
        if (d->difference) /* the changes of the rows predicted in the fitted rows */
            column_stats(&mean[k], &std[k], d->y + k, K, R, fit_change);
        else /* the column over the fitted rows, as for a feature */
            column_stats(&mean[k], &std[k], cols + c, C, R, fit);
        if (!d->series_stats)
            continue;
        for (size_t s = 0; s < d->n_series; s++) { /* each series' own, else the global */
            size_t a = d->series_begin[s], n = d->series_begin[s + 1] - a;
            double *stat = d->series_stats + s * 2 * (d->n_features + K) + 2 * d->n_features;
            int got = d->difference ? column_stats(&stat[k], &stat[K + k], d->y + a * K + k, K, n,
                                                   sfit_change + a) > 0
                                    : column_stats(&stat[k], &stat[K + k], cols + a * C + c, C, n,
                                                   sfit + a) > 0;
            if (!got) /* no fitted cell: the global statistics, see series_fallback */
                stat[k] = stat[K + k] = NAN;
        }
    }
}

/* min and max of the present cells of column v (stride apart) over rows
 * [begin, end) into range[0], range[1]; NaN when there is none. */
static void column_range(const double *v, size_t stride, const unsigned char *split, int which,
                         size_t n_rows, double *range)
{
    range[0] = range[1] = NAN;
    for (size_t r = 0; r < n_rows; r++) {
        if (split[r] != which)
            continue;
        double value = v[r * stride];
        if (isnan(value))
            continue;
        if (!(value >= range[0]))
            range[0] = value;
        if (!(value <= range[1]))
            range[1] = value;
    }
}

/* Each feature's and target column's range over the training and the test
 * rows (F + C, 4), in the data's units: x is not standardised yet. */
static void fit_ranges(clrnn_dataset *d, const double *tcols)
{
    size_t F = d->n_features, C = d->n_target_cols, R = d->n_rows;
    for (size_t i = 0; i < F + C; i++) {
        const double *v = i < F ? d->x + i : tcols + (i - F);
        size_t stride = i < F ? F : C;
        column_range(v, stride, d->row_split, CLRNN_SPLIT_TRAIN, R, d->ranges + 4 * i);
        column_range(v, stride, d->row_split, CLRNN_SPLIT_TEST, R, d->ranges + 4 * i + 2);
    }
}

/* Each series' feature statistics over its fitted rows, before the fill;
 * NaN for a series with no fitted cell (series_fallback). */
static void series_feature_stats(clrnn_dataset *d, const unsigned char *fit)
{
    size_t F = d->n_features, K = d->n_targets;
    for (size_t s = 0; s < d->n_series; s++) {
        size_t a = d->series_begin[s], n = d->series_begin[s + 1] - a;
        double *stat = d->series_stats + s * 2 * (F + K);
        for (size_t f = 0; f < F; f++)
            if (!column_stats(&stat[f], &stat[F + f], d->x + a * F + f, F, n, fit + a))
                stat[f] = stat[F + f] = NAN;
    }
}

/* A series' statistic it had no cell to fit takes the dataset's own. */
static void series_fallback(clrnn_dataset *d)
{
    size_t n = 2 * (d->n_features + d->n_targets);
    for (size_t s = 0; s < d->n_series; s++)
        for (size_t i = 0; i < n; i++)
            if (isnan(d->series_stats[s * n + i]))
                d->series_stats[s * n + i] = d->stats[i];
}

/* x (R, F), and y (R, K) when scale_targets, by each row's series' own
 * statistics. */
static void standardise_series(clrnn_dataset *d, int scale_targets)
{
    size_t F = d->n_features, K = d->n_targets;
    for (size_t r = 0; r < d->n_rows; r++) {
        const double *stat = d->series_stats + d->row_series[r] * 2 * (F + K);
        for (size_t f = 0; f < F; f++)
            d->x[r * F + f] = (d->x[r * F + f] - stat[f]) / stat[F + f];
        for (size_t k = 0; scale_targets && k < K; k++)
            d->y[r * K + k] = (d->y[r * K + k] - stat[2 * F + k]) / stat[2 * F + K + k];
    }
}

static clrnn_status alloc_series(clrnn_dataset *d, const clrnn_data_config *c, const char *path,
                                 clrnn_error *err)
{
    size_t R = d->n_rows;
    d->row_split = alloc_array(R, 1);
    d->starts = alloc_array(R, sizeof *d->starts);
    if (c->scale_per_series)
        d->series_stats =
            alloc_array(d->n_series, 2 * (d->n_features + d->n_targets) * sizeof(double));
    if (!d->row_split || !d->starts || (c->scale_per_series && !d->series_stats))
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    return CLRNN_OK;
}

clrnn_status clrnn_dataset_create(clrnn_dataset **out, const clrnn_table *table,
                                  const clrnn_data_config *config, clrnn_error *err)
{
    if (!out || !table || !config)
        return clrnn__fail(err, CLRNN_E_INPUT, "clrnn_dataset_create: NULL argument");
    *out = NULL;
    clrnn_status st = check_config(config, err);
    if (st != CLRNN_OK)
        return st;
    size_t F0 = config->n_features, C = config->n_targets, n_used;
    size_t H = config_n_horizons(config);
    size_t *cols = alloc_array(2 * (F0 + C), sizeof *cols);        /* (F0 + C) then used */
    unsigned char *keep = alloc_array(table->n_rows, 1);           /* (R_table) */
    size_t *rows = alloc_array(table->n_rows, sizeof *rows);       /* (R) kept row -> table row */
    double *tcols = alloc_array(table->n_rows, C * sizeof *tcols); /* (R, C) target columns */
    size_t *tseries = alloc_array(table->n_rows, sizeof *tseries); /* (R_table) */
    unsigned char *fit = alloc_array(table->n_rows, 4); /* (R) rows fitted, changes; per series */
    clrnn_dataset *d = calloc(1, sizeof *d);
    if (!cols || !keep || !rows || !tcols || !tseries || !fit || !d ||
        !(d->horizons = alloc_array(H, sizeof *d->horizons))) {
        st = clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", table->path);
        goto fail;
    }
    d->n_horizons = H;
    for (size_t j = 0; j < H; j++) {
        d->horizons[j] = config_horizon(config, j);
        d->h_max = d->horizons[j] > d->h_max ? d->horizons[j] : d->h_max;
    }
    d->n_features = F0 + n_date_features(config->date_features);
    d->n_target_cols = C;
    d->n_targets = C * H;
    d->seq_len = config->seq_len;
    d->difference = config->difference != 0;
    d->season = config->season;
    size_t F = d->n_features, K = d->n_targets;
    size_t *used = cols + F0 + C;
    int use_labels;
    long date_col, series_col;
    if ((st = choose_label_column(table, config, &use_labels, &date_col, err)) != CLRNN_OK ||
        (st = resolve_columns(table, config, date_col, cols, used, &n_used, err)) != CLRNN_OK ||
        (st = find_series(table, config, date_col, cols, tseries, &series_col, err)) != CLRNN_OK ||
        (st = choose_rows(d, keep, table, used, n_used, cols, F0, config->missing, tseries, err)) !=
            CLRNN_OK ||
        (st = keep_series(d, table, keep, tseries, series_col, err)) != CLRNN_OK ||
        (st = alloc_series(d, config, table->path, err)) != CLRNN_OK ||
        (st = config->series_column ? split_series(d, table, config, err)
                                    : split_rows(d, table, config, err)) != CLRNN_OK ||
        (st = find_windows(d, table, config, err)) != CLRNN_OK ||
        (st = alloc_matrices(d, table->path, err)) != CLRNN_OK ||
        (st = copy_labels(d, table, keep, use_labels, err)) != CLRNN_OK ||
        (st = copy_names(d, config, table->path, err)) != CLRNN_OK)
        goto fail;
    size_t R = d->n_rows;
    for (size_t r = 0, i = 0; r < table->n_rows; r++)
        if (keep[r])
            rows[i++] = r;
    if ((st = read_times(d, table, rows, config, err)) != CLRNN_OK)
        goto fail;
    int fit_all = config->scaler_fit == CLRNN_SCALER_FIT_ALL;
    unsigned char *sfit = fit + 2 * R; /* the rows that fit each series' own scaler */
    for (size_t r = 0; r < R; r++)
        fit[r] = sfit[r] = fit_all || d->row_split[r] == CLRNN_SPLIT_TRAIN;
    for (size_t s = 0; config->scale_fraction > 0 && s < d->n_series; s++) {
        size_t a = d->series_begin[s], b = d->series_begin[s + 1];
        size_t n = (size_t)(config->scale_fraction * (double)(b - a));
        for (size_t r = a; r < b; r++)
            sfit[r] = fit_all || r < a + n;
    }
    double *feature_mean = d->stats, *feature_std = feature_mean + F;
    double *target_mean = feature_std + F, *target_std = target_mean + K;
    gather(d->x, F, table, keep, cols, F0);
    if (config->date_features)
        fill_date_features(d, F0, config->date_features);
    gather(tcols, C, table, keep, cols + F0, C);
    for (size_t i = 0; i < R * C; i++)
        d->targets_missing += isnan(tcols[i]) != 0;
    if (d->series_stats)
        series_feature_stats(d, sfit);
    fit_and_fill(d, d->x, feature_mean, feature_std, F, fit);
    frame_targets(d, tcols, target_mean, target_std, fit, fit + R, sfit, fit + 3 * R);
    fit_ranges(d, tcols);
    /* A trained model brings its own statistics: the data must be scaled
     * exactly as the data it was trained on. */
    if (config->feature_mean && config->feature_std) {
        memcpy(feature_mean, config->feature_mean, F * sizeof *feature_mean);
        memcpy(feature_std, config->feature_std, F * sizeof *feature_std);
    }
    if (config->target_mean && config->target_std) {
        memcpy(target_mean, config->target_mean, K * sizeof *target_mean);
        memcpy(target_std, config->target_std, K * sizeof *target_std);
    }
    if (!config->scale_targets)
        for (size_t k = 0; k < K; k++) {
            target_mean[k] = 0.0;
            target_std[k] = 1.0;
        }
    if (d->series_stats) {
        series_fallback(d);
        for (size_t s = 0; !config->scale_targets && s < d->n_series; s++)
            for (size_t k = 0; k < K; k++) {
                d->series_stats[s * 2 * (F + K) + 2 * F + k] = 0.0;
                d->series_stats[s * 2 * (F + K) + 2 * F + K + k] = 1.0;
            }
        standardise_series(d, config->scale_targets);
    } else {
        standardise_columns(d->x, feature_mean, feature_std, F, R);
        if (config->scale_targets)
            standardise_columns(d->y, target_mean, target_std, K, R);
    }
    free(cols);
    free(keep);
    free(rows);
    free(tcols);
    free(tseries);
    free(fit);
    *out = d;
    return CLRNN_OK;
fail:
    free(cols);
    free(keep);
    free(rows);
    free(tcols);
    free(tseries);
    free(fit);
    clrnn_dataset_free(d);
    return st;
}

const char *clrnn_dataset_feature_name(const clrnn_dataset *data, size_t f)
{
    return f < data->n_features ? data->names[f] : NULL;
}

const char *clrnn_dataset_target_name(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->names[data->n_features + k % data->n_target_cols] : NULL;
}

void clrnn_dataset_free(clrnn_dataset *data)
{
    if (!data)
        return;
    free(data->x);
    free(data->y);
    free(data->y_raw);
    free(data->y_base);
    free(data->y_col);
    free(data->times);
    free(data->stats);
    free(data->ranges);
    free(data->labels);
    free(data->label_text);
    for (size_t i = 0; data->names && i < data->n_features + data->n_target_cols; i++)
        free(data->names[i]);
    free(data->names);
    for (size_t k = 0; data->out_labels && k < data->n_targets; k++)
        free(data->out_labels[k]);
    free(data->out_labels);
    free(data->horizons);
    free(data->starts);
    free(data->series_begin);
    free(data->row_series);
    for (size_t s = 0; data->series_ids && s < data->n_series; s++)
        free(data->series_ids[s]);
    free(data->series_ids);
    free(data->series_column);
    free(data->row_split);
    free(data->series_stats);
    free(data);
}

size_t clrnn_dataset_n_rows(const clrnn_dataset *data)
{
    return data->n_rows;
}

size_t clrnn_dataset_n_features(const clrnn_dataset *data)
{
    return data->n_features;
}

size_t clrnn_dataset_n_targets(const clrnn_dataset *data)
{
    return data->n_targets;
}

size_t clrnn_dataset_seq_len(const clrnn_dataset *data)
{
    return data->seq_len;
}

const double *clrnn_dataset_x(const clrnn_dataset *data)
{
    return data->x;
}

const double *clrnn_dataset_y(const clrnn_dataset *data)
{
    return data->y;
}

const double *clrnn_dataset_y_raw(const clrnn_dataset *data)
{
    return data->y_raw;
}

const double *clrnn_dataset_y_base(const clrnn_dataset *data)
{
    return data->y_base;
}

const char *clrnn_dataset_row_label(const clrnn_dataset *data, size_t row)
{
    return data->labels && row < data->n_rows ? data->labels[row] : NULL;
}

void clrnn_dataset_split_rows(const clrnn_dataset *data, clrnn_split split, size_t *begin,
                              size_t *end)
{
    int ok = (unsigned)split < CLRNN_N_SPLITS;
    if (begin)
        *begin = ok ? data->begin[split] : 0;
    if (end)
        *end = ok ? data->end[split] : 0;
}

size_t clrnn_dataset_n_windows(const clrnn_dataset *data, clrnn_split split)
{
    return (unsigned)split < CLRNN_N_SPLITS ? data->n_win[split] : 0;
}

size_t clrnn_dataset_window_start(const clrnn_dataset *data, clrnn_split split, size_t window)
{
    if ((unsigned)split >= CLRNN_N_SPLITS || window >= data->n_win[split])
        return SIZE_MAX;
    return data->starts[data->win_first[split] + window];
}

size_t clrnn_dataset_n_series(const clrnn_dataset *data)
{
    return data->n_series;
}

const char *clrnn_dataset_series_column(const clrnn_dataset *data)
{
    return data->series_column;
}

const char *clrnn_dataset_series_id(const clrnn_dataset *data, size_t s)
{
    return data->series_ids && s < data->n_series ? data->series_ids[s] : NULL;
}

void clrnn_dataset_series_rows(const clrnn_dataset *data, size_t s, size_t *begin, size_t *end)
{
    int ok = s < data->n_series;
    if (begin)
        *begin = ok ? data->series_begin[s] : 0;
    if (end)
        *end = ok ? data->series_begin[s + 1] : 0;
}

size_t clrnn_dataset_row_series(const clrnn_dataset *data, size_t row)
{
    return row < data->n_rows ? data->row_series[row] : 0;
}

/* Statistic i of the 2 (F + K) (as stats) that row was scaled with. */
static double row_stat(const clrnn_dataset *data, size_t row, size_t i)
{
    if (!data->series_stats || row >= data->n_rows)
        return data->stats[i];
    return data->series_stats[data->row_series[row] * 2 * (data->n_features + data->n_targets) + i];
}

double clrnn_dataset_row_feature_mean(const clrnn_dataset *data, size_t row, size_t f)
{
    return f < data->n_features ? row_stat(data, row, f) : NAN;
}

double clrnn_dataset_row_feature_std(const clrnn_dataset *data, size_t row, size_t f)
{
    return f < data->n_features ? row_stat(data, row, data->n_features + f) : NAN;
}

double clrnn_dataset_row_target_mean(const clrnn_dataset *data, size_t row, size_t k)
{
    return k < data->n_targets ? row_stat(data, row, 2 * data->n_features + k) : NAN;
}

double clrnn_dataset_row_target_std(const clrnn_dataset *data, size_t row, size_t k)
{
    return k < data->n_targets ? row_stat(data, row, 2 * data->n_features + data->n_targets + k)
                               : NAN;
}

double clrnn_dataset_feature_mean(const clrnn_dataset *data, size_t f)
{
    return f < data->n_features ? data->stats[f] : NAN;
}

double clrnn_dataset_feature_std(const clrnn_dataset *data, size_t f)
{
    return f < data->n_features ? data->stats[data->n_features + f] : NAN;
}

double clrnn_dataset_target_mean(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->stats[2 * data->n_features + k] : NAN;
}

double clrnn_dataset_target_std(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->stats[2 * data->n_features + data->n_targets + k] : NAN;
}

size_t clrnn_dataset_cells_filled(const clrnn_dataset *data)
{
    return data->cells_filled;
}

size_t clrnn_dataset_rows_dropped(const clrnn_dataset *data)
{
    return data->rows_dropped;
}

size_t clrnn_dataset_targets_missing(const clrnn_dataset *data)
{
    return data->targets_missing;
}

size_t clrnn_dataset_n_target_columns(const clrnn_dataset *data)
{
    return data->n_target_cols;
}

size_t clrnn_dataset_target_horizon(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->horizons[k / data->n_target_cols] : 0;
}

const char *clrnn_dataset_target_label(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->out_labels[k] : NULL;
}

const double *clrnn_dataset_target_column(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->y_col + k * data->n_rows : NULL;
}

size_t clrnn_dataset_window_row(const clrnn_dataset *data, clrnn_split split, size_t window,
                                size_t k)
{
    return clrnn_dataset_window_start(data, split, window) + data->seq_len - 1 +
           clrnn_dataset_target_horizon(data, k);
}

double clrnn_dataset_row_time(const clrnn_dataset *data, size_t row)
{
    return data->times && row < data->n_rows ? data->times[row] : NAN;
}

int clrnn_dataset_differenced(const clrnn_dataset *data)
{
    return data->difference;
}

size_t clrnn_dataset_season(const clrnn_dataset *data)
{
    return data->season;
}

size_t clrnn_dataset_range_warning(const clrnn_dataset *data, char *line, size_t size)
{
    size_t F = data->n_features, C = data->n_target_cols, n = 0, used = 0;
    int target_out = 0;
    if (line && size)
        line[0] = '\0';
    for (size_t i = 0; i < F + C; i++) {
        const double *range = data->ranges + 4 * i; /* train lo, hi, test lo, hi */
        double margin = CLRNN_RANGE_MARGIN * (range[1] - range[0]);
        if (!(range[2] < range[0] - margin || range[3] > range[1] + margin))
            continue; /* inside, or no cell on one side (NaN) */
        n++;
        target_out |= i >= F;
        if (!line || used >= size)
            continue;
        int w = snprintf(
            line + used, size - used, "%s%s %s %g .. %g (trained on %g .. %g)",
            n == 1 ? "test values outside the training range by more than 10% of it: " : "; ",
            i < F ? "input" : "target", data->names[i], range[2], range[3], range[0], range[1]);
        used = w < 0 ? size : used + (size_t)w;
    }
    if (target_out && line && used < size && !data->difference)
        snprintf(line + used, size - used, " (a trend? try `difference`)");
    return n;
}
