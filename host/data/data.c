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
    char **col_names; /* (C) */
    char **labels;    /* (R) or NULL */
    size_t *lines;    /* (R) 1-based line each row starts on */
    double *values;   /* (R, C) NaN where empty or not a number */
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

/* Column names from the header record. */
static clrnn_status read_header(clrnn_table *t, csv_parser *p, size_t line, clrnn_error *err)
{
    t->has_labels = p->fields[0][0] == '\0';
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
    if (t->has_labels)
        t->labels[row] = p->fields[0];
    double *values = t->values + row * t->n_cols;
    for (size_t c = 0; c < t->n_cols; c++) {
        char *text = p->fields[first + c];
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
    t->labels = t->has_labels ? alloc_array(*cap_rows, sizeof *t->labels) : NULL;
    t->bad_row = alloc_array(t->n_cols, sizeof *t->bad_row);
    t->bad_text = alloc_array(t->n_cols, sizeof *t->bad_text);
    if (!t->values || !t->lines || (t->has_labels && !t->labels) || !t->bad_row || !t->bad_text)
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
        (t->has_labels && !grow_array(&t->labels, cap, sizeof *t->labels)))
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
    return table->labels && row < table->n_rows ? table->labels[row] : NULL;
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
    size_t n_rows, n_features, n_targets, seq_len;
    double *x;     /* (R, F) standardised features */
    double *y;     /* (R, K) targets, standardised if scale_targets */
    double *y_raw; /* (R, K) targets in the data's units */
    double *stats; /* feature mean (F), feature std (F), target mean (K), target std (K) */
    char **labels; /* (R) into label_text, or NULL */
    char *label_text;
    char **names; /* (F + K) the feature then the target column names, owned */
    size_t begin[CLRNN_N_SPLITS], end[CLRNN_N_SPLITS];
    size_t cells_filled, rows_dropped;
    double *y_col; /* (K, R) each output's target column, data units */
    size_t season;
};

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
    /* The forecast framing's contract is in clrnn.h; until it lands here,
     * only its neutral settings are taken. */
    for (size_t j = 0; c->horizons && j < c->n_horizons; j++)
        if (c->horizons[j] != 0)
            return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                               "`horizons` other than 0 are not built yet");
    if (c->n_horizons > 1)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "more than one of `horizons` is not built yet");
    if (c->difference || c->date_features)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "`difference` and `date_features` are not built yet");
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
 * distinct ones in file order into used (*n_used of them). */
static clrnn_status resolve_columns(const clrnn_table *t, const clrnn_data_config *c, size_t *cols,
                                    size_t *used, size_t *n_used, clrnn_error *err)
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
    return CLRNN_OK;
}

/* Applies the missing-value policy to which rows are kept (keep, (R_table))
 * and counts the cells ffill will fill. A cell of a used column is NaN only
 * when empty: columns with non-numeric cells were refused before. */
static clrnn_status choose_rows(clrnn_dataset *d, unsigned char *keep, const clrnn_table *t,
                                const size_t *used, size_t n_used, clrnn_missing missing,
                                clrnn_error *err)
{
    d->n_rows = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t n_empty = 0, first_empty = 0;
        for (size_t u = 0; u < n_used; u++)
            if (isnan(t->values[r * t->n_cols + used[u]]) && n_empty++ == 0)
                first_empty = used[u];
        keep[r] = n_empty == 0 || missing == CLRNN_MISSING_FFILL;
        d->n_rows += keep[r];
        if (n_empty == 0)
            continue;
        if (missing == CLRNN_MISSING_ERROR)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s:%zu:%zu: column '%s' is empty (see `missing`)", t->path,
                               t->lines[r], file_column(t, first_empty), t->col_names[first_empty]);
        if (missing == CLRNN_MISSING_FFILL && r == 0)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "%s:%zu:%zu: column '%s' is empty in the first row; nothing to "
                               "carry forward (try `missing` drop)",
                               t->path, t->lines[r], file_column(t, first_empty),
                               t->col_names[first_empty]);
        if (missing == CLRNN_MISSING_FFILL)
            d->cells_filled += n_empty;
        else
            d->rows_dropped++;
    }
    return CLRNN_OK;
}

/* Chronological split of the R kept rows: floor(fraction * R) rows each for
 * training and validation, as python's int(0.7 * len(X)); test is the rest. */
static clrnn_status split_rows(clrnn_dataset *d, const clrnn_table *t, const clrnn_data_config *c,
                               clrnn_error *err)
{
    size_t R = d->n_rows, T = c->seq_len;
    if (R < T && d->rows_dropped)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: %zu rows (after dropping %zu with empty cells), fewer than one "
                           "window of seq_len %zu",
                           t->path, R, d->rows_dropped, T);
    if (R < T)
        return clrnn__fail(err, CLRNN_E_INPUT, "%s: %zu rows, fewer than one window of seq_len %zu",
                           t->path, R, T);
    size_t n_train = (size_t)(c->train_fraction * (double)R);
    size_t n_val = (size_t)(c->val_fraction * (double)R);
    if (n_train > R)
        n_train = R;
    if (n_val > R - n_train) /* fractions may add up to 1 + 1e-12 */
        n_val = R - n_train;
    if (n_train < T)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "%s: the training split has %zu rows, fewer than one window of seq_len "
                           "%zu",
                           t->path, n_train, T);
    d->begin[CLRNN_SPLIT_TRAIN] = 0;
    d->end[CLRNN_SPLIT_TRAIN] = d->begin[CLRNN_SPLIT_VAL] = n_train;
    d->end[CLRNN_SPLIT_VAL] = d->begin[CLRNN_SPLIT_TEST] = n_train + n_val;
    d->end[CLRNN_SPLIT_TEST] = R;
    return CLRNN_OK;
}

/* Kept rows of the given table columns into out (R, n_cols), NaN and all. */
static void gather(double *out, const clrnn_table *t, const unsigned char *keep, const size_t *cols,
                   size_t n_cols)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!keep[r])
            continue;
        for (size_t j = 0; j < n_cols; j++)
            out[j] = cols[j] == ABSENT_COLUMN ? NAN : t->values[r * t->n_cols + cols[j]];
        out += n_cols;
    }
}

/* Mean and population std of the present (non-NaN) cells among the first
 * n_rows of column v (stride apart), like numpy's nanmean and nanstd: mean
 * as a plain sum over n, variance two-pass. A std of 0, or no cell at all,
 * gives 1, as sklearn's StandardScaler does, so scaling stays finite. */
static void column_stats(double *mean, double *std, const double *v, size_t stride, size_t n_rows)
{
    double sum = 0.0, squares = 0.0;
    size_t n = 0;
    for (size_t r = 0; r < n_rows; r++)
        if (!isnan(v[r * stride])) {
            sum += v[r * stride];
            n++;
        }
    *mean = n ? sum / (double)n : 0.0;
    for (size_t r = 0; r < n_rows; r++)
        if (!isnan(v[r * stride]))
            squares += (v[r * stride] - *mean) * (v[r * stride] - *mean);
    *std = n ? sqrt(squares / (double)n) : 0.0;
    if (*std == 0.0)
        *std = 1.0;
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

/* Statistics over the first fit_rows rows, then the fill: statistics see
 * only the cells present in the file, never the copies ffill makes. */
static void fit_and_fill(double *v, double *mean, double *std, size_t n_cols, size_t n_rows,
                         size_t fit_rows)
{
    for (size_t j = 0; j < n_cols; j++) {
        column_stats(&mean[j], &std[j], v + j, n_cols, fit_rows);
        fill_forward(v + j, n_cols, n_rows);
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
                                clrnn_error *err)
{
    if (!t->labels)
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
    d->y_col = alloc_array(R, K * sizeof(double));
    d->stats = alloc_array(2 * (F + K), sizeof(double));
    if (!d->x || !d->y || !d->y_raw || !d->y_col || !d->stats)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    return CLRNN_OK;
}

/* The column names of the config (checked non-NULL), copied. */
static clrnn_status copy_names(clrnn_dataset *d, const clrnn_data_config *c, const char *path,
                               clrnn_error *err)
{
    size_t n = c->n_features + c->n_targets;
    if (!(d->names = calloc(n, sizeof *d->names)))
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        const char *name = i < c->n_features ? c->features[i] : c->targets[i - c->n_features];
        if (!(d->names[i] = malloc(strlen(name) + 1)))
            return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", path);
        strcpy(d->names[i], name);
    }
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
    size_t F = config->n_features, K = config->n_targets, n_used;
    size_t *cols = alloc_array(2 * (F + K), sizeof *cols); /* (F + K) then used (<= F + K) */
    unsigned char *keep = alloc_array(table->n_rows, 1);   /* (R_table) */
    clrnn_dataset *d = calloc(1, sizeof *d);
    if (!cols || !keep || !d) {
        st = clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory", table->path);
        goto fail;
    }
    d->n_features = F;
    d->n_targets = K;
    d->seq_len = config->seq_len;
    size_t *used = cols + F + K;
    if ((st = resolve_columns(table, config, cols, used, &n_used, err)) != CLRNN_OK ||
        (st = choose_rows(d, keep, table, used, n_used, config->missing, err)) != CLRNN_OK ||
        (st = split_rows(d, table, config, err)) != CLRNN_OK ||
        (st = alloc_matrices(d, table->path, err)) != CLRNN_OK ||
        (st = copy_labels(d, table, keep, err)) != CLRNN_OK ||
        (st = copy_names(d, config, table->path, err)) != CLRNN_OK)
        goto fail;
    size_t R = d->n_rows;
    size_t fit_rows = config->scaler_fit == CLRNN_SCALER_FIT_ALL ? R : d->end[CLRNN_SPLIT_TRAIN];
    double *feature_mean = d->stats, *feature_std = feature_mean + F;
    double *target_mean = feature_std + F, *target_std = target_mean + K;
    gather(d->x, table, keep, cols, F);
    gather(d->y, table, keep, cols + F, K);
    fit_and_fill(d->x, feature_mean, feature_std, F, R, fit_rows);
    fit_and_fill(d->y, target_mean, target_std, K, R, fit_rows);
    memcpy(d->y_raw, d->y, R * K * sizeof *d->y);
    for (size_t k = 0; k < K; k++)
        for (size_t r = 0; r < R; r++)
            d->y_col[k * R + r] = d->y_raw[r * K + k];
    d->season = config->season;
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
    standardise_columns(d->x, feature_mean, feature_std, F, R);
    if (config->scale_targets) {
        standardise_columns(d->y, target_mean, target_std, K, R);
    } else {
        for (size_t k = 0; k < K; k++) {
            target_mean[k] = 0.0;
            target_std[k] = 1.0;
        }
    }
    free(cols);
    free(keep);
    *out = d;
    return CLRNN_OK;
fail:
    free(cols);
    free(keep);
    clrnn_dataset_free(d);
    return st;
}

const char *clrnn_dataset_feature_name(const clrnn_dataset *data, size_t f)
{
    return f < data->n_features ? data->names[f] : NULL;
}

const char *clrnn_dataset_target_name(const clrnn_dataset *data, size_t k)
{
    return k < data->n_targets ? data->names[data->n_features + k] : NULL;
}

void clrnn_dataset_free(clrnn_dataset *data)
{
    if (!data)
        return;
    free(data->x);
    free(data->y);
    free(data->y_raw);
    free(data->y_col);
    free(data->stats);
    free(data->labels);
    free(data->label_text);
    for (size_t i = 0; data->names && i < data->n_features + data->n_targets; i++)
        free(data->names[i]);
    free(data->names);
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
    size_t begin, end;
    clrnn_dataset_split_rows(data, split, &begin, &end);
    return end - begin >= data->seq_len ? end - begin - data->seq_len + 1 : 0;
}

size_t clrnn_dataset_window_start(const clrnn_dataset *data, clrnn_split split, size_t window)
{
    size_t begin;
    clrnn_dataset_split_rows(data, split, &begin, NULL);
    return begin + window;
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

size_t clrnn_dataset_n_target_columns(const clrnn_dataset *data)
{
    return data->n_targets;
}

size_t clrnn_dataset_target_horizon(const clrnn_dataset *data, size_t k)
{
    (void)data;
    (void)k;
    return 0;
}

const char *clrnn_dataset_target_label(const clrnn_dataset *data, size_t k)
{
    return clrnn_dataset_target_name(data, k);
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
    (void)data;
    (void)row;
    return NAN;
}

int clrnn_dataset_differenced(const clrnn_dataset *data)
{
    (void)data;
    return 0;
}

size_t clrnn_dataset_season(const clrnn_dataset *data)
{
    return data->season;
}
