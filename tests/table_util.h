/*
 * Tests' helper: a dataset from CSV text, through a temporary file and the
 * library's own reader (clrnn_table_read_csv, clrnn_dataset_create). The
 * including file defines _POSIX_C_SOURCE (mkstemp, fdopen, unlink) first.
 */
#ifndef CLRNN_TESTS_TABLE_UTIL_H
#define CLRNN_TESTS_TABLE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clrnn.h"

static inline clrnn_status dataset_from_text(clrnn_dataset **data, const char *text,
                                             const clrnn_data_config *cfg, clrnn_error *err)
{
    char path[64] = "/tmp/clrnn_test_table_XXXXXX";
    *data = NULL;
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        snprintf(err->message, sizeof err->message, "cannot write a temporary file");
        return CLRNN_E_IO;
    }
    clrnn_table *table = NULL;
    clrnn_status st = clrnn_table_read_csv(&table, path, err);
    unlink(path);
    if (st == CLRNN_OK)
        st = clrnn_dataset_create(data, table, cfg, err);
    clrnn_table_free(table);
    return st;
}

#endif
