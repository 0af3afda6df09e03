/* A tiny test harness: every check prints what it compared and its figure;
 * CHECK_SUMMARY prints "N passed, M failed" and gives the exit code. */
#ifndef CLRNN_TEST_CHECK_H
#define CLRNN_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

/* Records a check; NaN or infinite figures fail. */
static inline int check(int ok, const char *what, double figure, double limit)
{
    ok = ok && isfinite(figure);
    printf("%-64s %-12.3e (limit %.1e)  %s\n", what, figure, limit, ok ? "OK" : "NOT OK");
    if (ok)
        check_passed++;
    else
        check_failed++;
    return ok;
}

static inline int check_true(int ok, const char *what)
{
    printf("%-64s %s\n", what, ok ? "OK" : "NOT OK");
    if (ok)
        check_passed++;
    else
        check_failed++;
    return ok;
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

static inline double rel_diff(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-300);
}

#endif
