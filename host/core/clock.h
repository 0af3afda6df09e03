/* Internal: the monotonic clock every timing in clrnn reads (epoch times,
 * throughput, benchmarks). */
#ifndef CLRNN_CORE_CLOCK_H
#define CLRNN_CORE_CLOCK_H

/* Seconds since an arbitrary fixed point; only differences mean anything. */
double clock_seconds(void);

#endif
