/* The OpenCL kernel sources of the kernels/ folder, embedded at build time by
 * cmake/embed_kernels.cmake. */
#ifndef CLRNN_KERNELS_EMBEDDED_H
#define CLRNN_KERNELS_EMBEDDED_H

/* Source of kernels/<name>.cl as a NUL-terminated string, or NULL. */
const char *clrnn__kernel_source(const char *name);

#endif
