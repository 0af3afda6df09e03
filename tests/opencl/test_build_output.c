/*
 * What the OpenCL compiler says stays out of the user's output (issue 12,
 * item 9): PoCL writes a build's summary ("1 warning generated.") to the
 * process's stderr from inside clBuildProgram; ocl_build catches it, with
 * the build log, for the backend's `verbose` stream. The log says once, and
 * only before a program's first build on the machine, that kernels are
 * being compiled. Skips (77) without an OpenCL device, except in CI.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "opencl/opencl_util.h"
#include "opencl/runtime.h"

/* A kernel with a warning ("using the result of an assignment as a
 * condition"), a new one each run (the pid in it) so no cache knows it. */
static void warning_source(char *out, size_t size)
{
    snprintf(out, size, "__kernel void warns(__global float *a) { if (a[0] = %d) a[1] = 3; }\n",
             (int)getpid());
}

/* The whole of a file, from its start, NUL terminated (static buffer). */
static const char *contents(FILE *f)
{
    static char text[65536];
    fflush(f);
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    return text;
}

int main(void)
{
    clrnn_error err;
    cl_platform_id platform;
    cl_device_id device;
    clrnn_status st = ocl_find_device(NULL, &platform, &device, &err);
    if (st == CLRNN_E_UNSUPPORTED) {
        printf("SKIP: %s\n", err.message);
        return getenv("CI") ? 1 : 77;
    }
    if (st != CLRNN_OK) {
        printf("%s\n", err.message);
        return 1;
    }
    cl_int rc;
    ocl_state s;
    memset(&s, 0, sizeof s);
    s.device = device;
    s.context = clCreateContext(NULL, 1, &device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        printf("clCreateContext: %s\n", ocl_status_name(rc));
        return 1;
    }
    /* The cache of markers in a folder of its own. */
    char cache[] = "/tmp/clrnn_build_output_XXXXXX";
    if (!mkdtemp(cache) || setenv("XDG_CACHE_HOME", cache, 1) != 0)
        return printf("no temporary folder\n"), 1;
    clrnn_layer_shape shape = {3, 5, 1};
    clrnn_backend b;
    memset(&b, 0, sizeof b);
    b.layers = &shape;
    b.n_layers = 1;
    b.seq_len = 4;
    b.family = CLRNN_KERNELS_TILE;
    FILE *log = tmpfile(), *verbose = tmpfile(), *stderr_file = tmpfile();
    if (!log || !verbose || !stderr_file)
        return printf("no temporary files\n"), 1;
    b.log = log;
    b.verbose = verbose;

    /* The test's own stderr into a file, to see what reaches fd 2. */
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(stderr_file), STDERR_FILENO);
    char text[256];
    warning_source(text, sizeof text);
    const char *sources[] = {text};
    cl_program first = NULL, second = NULL, third = NULL;
    clrnn_status built = ocl_build_sources(&b, &s, sources, 1, "", &first, &err);
    b.said_compiling = 0; /* a new backend, as far as the message goes */
    clrnn_status again = ocl_build_sources(&b, &s, sources, 1, "", &second, &err);
    b.verbose = NULL;
    clrnn_status quiet = ocl_build_sources(&b, &s, sources, 1, "", &third, &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    check_true(built == CLRNN_OK && again == CLRNN_OK && quiet == CLRNN_OK,
               "a source with a warning builds");
    const char *on_stderr = contents(stderr_file);
    printf("stderr during the builds: [%s]\n", on_stderr);
    check_true(on_stderr[0] == '\0', "nothing reached stderr during the builds");
    const char *said = contents(verbose);
    printf("verbose: [%s]\n", said);
    check_true(strstr(said, "assignment") != NULL, "verbose has the build log's warning");
    /* PoCL's summary line; other drivers may write nothing to stderr. */
    char vendor[128] = "";
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof vendor - 1, vendor, NULL);
    if (strstr(vendor, "Portable Computing Language"))
        check_true(strstr(said, "warning generated") != NULL,
                   "verbose has what PoCL wrote to stderr (\"1 warning generated.\")");
    const char *logged = contents(log);
    printf("log: [%s]\n", logged);
    const char *line = strstr(logged, "compiling kernels for layers 3:5:1, seq-len 4, fp32");
    check_true(line != NULL, "the log says it is compiling, naming the shape");
    check_true(line && !strstr(line + 1, "compiling kernels"),
               "only before the first build: the second found its marker");

    /* A failed build still writes its log, and what the compiler said, to
     * the log (the error says the first line). */
    const char *broken[] = {"__kernel void broken(__global float *a) { a[0] = nope; }\n"};
    cl_program bad = NULL;
    rewind(log);
    st = ocl_build_sources(&b, &s, broken, 1, "", &bad, &err);
    check_true(st == CLRNN_E_DEVICE && strstr(err.message, "building the OpenCL kernels failed"),
               "a failed build is an error naming the build");
    check_true(strstr(contents(log), "OpenCL build log:") != NULL, "and its log is on the log");

    ocl_release_program(&first);
    ocl_release_program(&second);
    ocl_release_program(&third);
    ocl_release_program(&bad);
    clReleaseContext(s.context);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", cache);
    if (system(command) != 0)
        printf("could not remove %s\n", cache);
    return check_summary();
}
