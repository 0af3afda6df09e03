/* The kernel families (family.h), one entry each. */
#include <string.h>

#include "opencl/family.h"

extern const ocl_family ocl_family_group, ocl_family_tile, ocl_family_fused, ocl_family_gpu;

/* Indexed by clrnn_kernels; CLRNN_KERNELS_AUTO (0) is the automatic choice. */
static const ocl_family *const families[] = {
    [CLRNN_KERNELS_GROUP] = &ocl_family_group,
    [CLRNN_KERNELS_TILE] = &ocl_family_tile,
    [CLRNN_KERNELS_FUSED] = &ocl_family_fused,
    [CLRNN_KERNELS_GPU] = &ocl_family_gpu,
};
#define N_INDICES (sizeof families / sizeof families[0])

const ocl_family *ocl_family_at(clrnn_kernels kernels)
{
    return (size_t)kernels < N_INDICES ? families[kernels] : NULL;
}

clrnn_kernels ocl_family_named(const char *name)
{
    for (size_t k = 0; k < N_INDICES; k++)
        if (families[k] && strcmp(families[k]->name, name) == 0)
            return (clrnn_kernels)k;
    return CLRNN_KERNELS_AUTO;
}

const char *backend_opencl_family_name(clrnn_kernels kernels)
{
    const ocl_family *f = ocl_family_at(kernels);
    return f ? f->name : NULL;
}

size_t backend_opencl_family_slots(void)
{
    return N_INDICES;
}
