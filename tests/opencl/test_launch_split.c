/* ocl_cpu_group_size (host/opencl/runtime.h), without a device: a CPU
 * launch's work-groups never exceed the limit; the busiest compute unit
 * takes no more work-items than with the fewest groups that fit (the
 * choice before), and, for up to 64 work-items, no more than the best
 * local size of a brute-force search gives it. At the large bench shape
 * (64 work-items, 6 a group, 2 units) that is 32 a unit, where 11 groups
 * of 6 gave one unit 36. */
#include <stdio.h>

#include "check.h"
#include "opencl/runtime.h"

/* The busiest unit's work-items: groups of `local` dealt out in turn. */
static size_t busiest(size_t n, size_t local, size_t units)
{
    const size_t groups = (n + local - 1) / local;
    return (groups + units - 1) / units * local;
}

int main(void)
{
    check_true(ocl_cpu_group_size(64, 6, 2) == 4, "64 items, 6 a group, 2 units: 16 groups of 4");
    check_true(ocl_cpu_group_size(0, 6, 2) == 1 && ocl_cpu_group_size(1, 6, 2) == 1,
               "no item or one: groups of 1");
    check_true(ocl_cpu_group_size(5, 0, 0) == 1, "a limit or unit count of 0 is taken as 1");
    int within = 1, no_worse = 1, best_at_small = 1;
    for (size_t units = 1; units <= 8; units *= 2)
        for (size_t limit = 1; limit <= 40; limit += 3)
            for (size_t n = 1; n <= 300; n++) {
                const size_t local = ocl_cpu_group_size(n, limit, units);
                within &= local >= 1 && local <= limit;
                size_t fewest = (n + limit - 1) / limit;
                if (fewest < units)
                    fewest = units;
                no_worse &=
                    busiest(n, local, units) <= busiest(n, (n + fewest - 1) / fewest, units);
                if (n <= 64) { /* a brute-force search over every local size */
                    size_t best = busiest(n, 1, units);
                    for (size_t l = 2; l <= limit; l++)
                        if (busiest(n, l, units) < best)
                            best = busiest(n, l, units);
                    best_at_small &= busiest(n, local, units) == best;
                }
            }
    check_true(within, "every group within the limit");
    check_true(no_worse, "the busiest unit never takes more than with the fewest groups");
    check_true(best_at_small, "up to 64 items: the busiest unit takes what the best split gives");
    return check_summary();
}
