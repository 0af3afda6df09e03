/*
 * oneDNN baseline for `clrnn bench` (built and run by scripts/bench.sh where
 * Debian's libdnnl-dev is installed): training throughput of one tanh RNN
 * layer and its output projection, fp32, on oneDNN's CPU engine.
 *
 * A measured step is what `clrnn bench` measures: the vanilla RNN (tanh)
 * forward-training over a (T, B, I) batch, the output projection as an
 * inner product forward (T*B rows), an MSE loss on every step's output,
 * the inner product's backward data and weights, the RNN's backward (full
 * BPTT through all T steps), and an SGD step with momentum 0.9 on every
 * parameter (plain loops, as clrnn's update). Timing is wall-clock over
 * whole steps after warm-up steps, the step count doubling until --seconds
 * have passed (clrnn bench's schedule).
 *
 * Data: as clrnn bench and bench_torch.py, a random table of B + T + 1000
 * rows and a ring of 8 batches of random windows, gathered into (T, B, I)
 * tensors before timing. Before timing, the gradients of a few windows
 * are checked against a plain C reference (BPTT in double precision), to
 * 1e-3 relative to each tensor's largest value: a failure exits 1.
 *
 * usage: bench_onednn [--shapes LIST] [--seconds S] [--warmup N] [--csv FILE]
 *   LIST: notebook, weather, medium, large or NAME=I:H:O/T/B (default: all)
 * Exit status: 0 ok, 1 gradient check failed, 2 bad arguments or an error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        dnnl_status_t s_ = (call);                                                                 \
        if (s_ != dnnl_success) {                                                                  \
            fprintf(stderr, "bench_onednn: %s failed: status %d (line %d)\n", #call, (int)s_,      \
                    __LINE__);                                                                     \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

typedef struct shape {
    char name[32];
    long I, H, O, T, B;
} shape;

static const shape suite[] = {
    {"notebook", 3, 4, 1, 7, 668},
    {"weather", 3, 16, 1, 7, 32},
    {"medium", 8, 64, 1, 32, 1024},
    {"large", 32, 256, 1, 64, 256},
};
enum { N_BATCHES = 8 };
static const float LR = 1e-6f, MOMENTUM = 0.9f;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned long long rng_state = 42;
static float uniform(void) /* in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

/* The oneDNN side of one shape at batch B: memories and primitives. */
typedef struct net {
    long I, H, O, T, B;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    /* the parameters, plain: W_i (I,H) = ldigo, W_h (H,H), b (H), W_o as oi (O,H), b_o (O) */
    float *w_i, *w_h, *b_i, *w_o, *b_o;
    float *d_w_i, *d_w_h, *d_b_i, *d_w_o, *d_b_o;
    float *v;                        /* SGD velocity, all parameters */
    float *x, *h, *y, *dy, *dh, *dx; /* (T,B,I) (T,B,H) (T,B,O) (T,B,O) (T,B,H) (T,B,I) */
    dnnl_memory_t m_x, m_wi, m_wh, m_bi, m_h, m_ws, m_wo, m_bo, m_y, m_dy, m_dh, m_dx;
    dnnl_memory_t m_s, m_ds;   /* (1,1,B,H) zero initial state, its gradient */
    dnnl_memory_t m_hr, m_dhr; /* h and its gradient as the projection's (T*B, H) rows */
    dnnl_memory_t m_dwi, m_dwh, m_dbi, m_dwo, m_dbo, m_wi_b, m_wh_b;
    dnnl_primitive_t rnn_fwd, rnn_bwd, ip_fwd, ip_bwd_data, ip_bwd_weights, re_wi, re_wh;
} net;

static dnnl_memory_desc_t md(int n, const dnnl_dims_t dims, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t d;
    CHECK(dnnl_memory_desc_init_by_tag(&d, n, dims, dnnl_f32, tag));
    return d;
}

static dnnl_memory_t mem(net *n, const dnnl_memory_desc_t *d, void *data)
{
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, d, n->engine, data ? data : DNNL_MEMORY_ALLOCATE));
    return m;
}

static dnnl_primitive_t make(dnnl_primitive_desc_t pd)
{
    dnnl_primitive_t p;
    CHECK(dnnl_primitive_create(&p, pd));
    return p;
}

static float *zeros(long n)
{
    float *p = calloc((size_t)n, sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_onednn: out of memory\n");
        exit(2);
    }
    return p;
}

static void net_init(net *n, long I, long H, long O, long T, long B)
{
    memset(n, 0, sizeof *n);
    n->I = I, n->H = H, n->O = O, n->T = T, n->B = B;
    CHECK(dnnl_engine_create(&n->engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&n->stream, n->engine, dnnl_stream_default_flags));
    float scale = 1.0f / sqrtf((float)H); /* as clrnn's uniform init */
    float **params[] = {&n->w_i, &n->w_h, &n->b_i, &n->w_o, &n->b_o};
    float **grads[] = {&n->d_w_i, &n->d_w_h, &n->d_b_i, &n->d_w_o, &n->d_b_o};
    long sizes[] = {I * H, H * H, H, O * H, O};
    for (int i = 0; i < 5; i++) {
        *params[i] = zeros(sizes[i]);
        *grads[i] = zeros(sizes[i]);
        for (long k = 0; k < sizes[i]; k++)
            (*params[i])[k] = scale * uniform();
    }
    n->v = zeros(I * H + H * H + H + O * H + O);
    n->x = zeros(T * B * I), n->h = zeros(T * B * H), n->y = zeros(T * B * O);
    n->dy = zeros(T * B * O), n->dh = zeros(T * B * H), n->dx = zeros(T * B * I);

    dnnl_memory_desc_t x_md = md(3, (dnnl_dims_t){T, B, I}, dnnl_tnc);
    dnnl_memory_desc_t h_md = md(3, (dnnl_dims_t){T, B, H}, dnnl_tnc);
    dnnl_memory_desc_t wi_md = md(5, (dnnl_dims_t){1, 1, I, 1, H}, dnnl_ldigo);
    dnnl_memory_desc_t wh_md = md(5, (dnnl_dims_t){1, 1, H, 1, H}, dnnl_ldigo);
    dnnl_memory_desc_t wi_any = md(5, (dnnl_dims_t){1, 1, I, 1, H}, dnnl_format_tag_any);
    dnnl_memory_desc_t wh_any = md(5, (dnnl_dims_t){1, 1, H, 1, H}, dnnl_format_tag_any);
    dnnl_memory_desc_t b_md = md(4, (dnnl_dims_t){1, 1, 1, H}, dnnl_ldgo);
    /* an explicit zero initial state (h_0 = 0, as clrnn's) */
    dnnl_memory_desc_t s_md = md(4, (dnnl_dims_t){1, 1, B, H}, dnnl_ldnc);
    dnnl_rnn_desc_t fwd_d, bwd_d;
    CHECK(dnnl_vanilla_rnn_forward_desc_init(&fwd_d, dnnl_forward_training, dnnl_eltwise_tanh,
                                             dnnl_unidirectional_left2right, &x_md, &s_md, &wi_md,
                                             &wh_md, &b_md, &h_md, NULL, 0, 0.f, 0.f));
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    CHECK(dnnl_primitive_desc_create(&fwd_pd, &fwd_d, NULL, n->engine, NULL));
    CHECK(dnnl_vanilla_rnn_backward_desc_init(&bwd_d, dnnl_backward, dnnl_eltwise_tanh,
                                              dnnl_unidirectional_left2right, &x_md, &s_md, &wi_any,
                                              &wh_any, &b_md, &h_md, NULL, &x_md, &s_md, &wi_md,
                                              &wh_md, &b_md, &h_md, NULL, 0, 0.f, 0.f));
    CHECK(dnnl_primitive_desc_create(&bwd_pd, &bwd_d, NULL, n->engine, fwd_pd));
    n->rnn_fwd = make(fwd_pd);
    n->rnn_bwd = make(bwd_pd);
    n->m_x = mem(n, &x_md, n->x), n->m_h = mem(n, &h_md, n->h), n->m_dx = mem(n, &x_md, n->dx);
    n->m_dh = mem(n, &h_md, n->dh);
    n->m_s = mem(n, &s_md, zeros(B * H)), n->m_ds = mem(n, &s_md, zeros(B * H));
    n->m_wi = mem(n, &wi_md, n->w_i), n->m_wh = mem(n, &wh_md, n->w_h);
    n->m_bi = mem(n, &b_md, n->b_i);
    n->m_dwi = mem(n, &wi_md, n->d_w_i), n->m_dwh = mem(n, &wh_md, n->d_w_h);
    n->m_dbi = mem(n, &b_md, n->d_b_i);
    n->m_ws = mem(n, dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_workspace_md, 0), NULL);
    /* backward wants its own weight layouts: reordered from the plain ones each step */
    const dnnl_memory_desc_t *wi_b =
        dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
    const dnnl_memory_desc_t *wh_b =
        dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
    n->m_wi_b = mem(n, wi_b, NULL), n->m_wh_b = mem(n, wh_b, NULL);
    dnnl_primitive_desc_t re;
    CHECK(dnnl_reorder_primitive_desc_create(&re, &wi_md, n->engine, wi_b, n->engine, NULL));
    n->re_wi = make(re);
    dnnl_primitive_desc_destroy(re);
    CHECK(dnnl_reorder_primitive_desc_create(&re, &wh_md, n->engine, wh_b, n->engine, NULL));
    n->re_wh = make(re);
    dnnl_primitive_desc_destroy(re);

    /* the output projection on the (T*B, H) rows of h */
    dnnl_memory_desc_t r_md = md(2, (dnnl_dims_t){T * B, H}, dnnl_nc);
    dnnl_memory_desc_t y_md = md(2, (dnnl_dims_t){T * B, O}, dnnl_nc);
    dnnl_memory_desc_t wo_md = md(2, (dnnl_dims_t){O, H}, dnnl_oi);
    dnnl_memory_desc_t bo_md = md(1, (dnnl_dims_t){O}, dnnl_x);
    dnnl_inner_product_desc_t ip_f, ip_d, ip_w;
    CHECK(dnnl_inner_product_forward_desc_init(&ip_f, dnnl_forward_training, &r_md, &wo_md, &bo_md,
                                               &y_md));
    CHECK(dnnl_inner_product_backward_data_desc_init(&ip_d, &r_md, &wo_md, &y_md));
    CHECK(dnnl_inner_product_backward_weights_desc_init(&ip_w, &r_md, &wo_md, &bo_md, &y_md));
    dnnl_primitive_desc_t ipf_pd, ipd_pd, ipw_pd;
    CHECK(dnnl_primitive_desc_create(&ipf_pd, &ip_f, NULL, n->engine, NULL));
    CHECK(dnnl_primitive_desc_create(&ipd_pd, &ip_d, NULL, n->engine, ipf_pd));
    CHECK(dnnl_primitive_desc_create(&ipw_pd, &ip_w, NULL, n->engine, ipf_pd));
    n->ip_fwd = make(ipf_pd), n->ip_bwd_data = make(ipd_pd), n->ip_bwd_weights = make(ipw_pd);
    n->m_wo = mem(n, &wo_md, n->w_o), n->m_bo = mem(n, &bo_md, n->b_o);
    n->m_dwo = mem(n, &wo_md, n->d_w_o), n->m_dbo = mem(n, &bo_md, n->d_b_o);
    n->m_y = mem(n, &y_md, n->y), n->m_dy = mem(n, &y_md, n->dy);
    /* the RNN's dst and the projection's src are the same buffer h, as (T,B,H) = (T*B,H) */
    n->m_hr = mem(n, &r_md, n->h), n->m_dhr = mem(n, &r_md, n->dh);
    dnnl_primitive_desc_destroy(fwd_pd), dnnl_primitive_desc_destroy(bwd_pd);
    dnnl_primitive_desc_destroy(ipf_pd), dnnl_primitive_desc_destroy(ipd_pd);
    dnnl_primitive_desc_destroy(ipw_pd);
}

static void run(net *n, dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args)
{
    CHECK(dnnl_primitive_execute(p, n->stream, nargs, args));
}

/* One step's gradients for the batch in n->x with targets (T,B,O): the
 * mean over windows of each window's mean-over-steps squared error. */
static void gradients(net *n, const float *targets)
{
    const long T = n->T, B = n->B, O = n->O, H = n->H;
    run(n, n->rnn_fwd, 7,
        (dnnl_exec_arg_t[]){{DNNL_ARG_SRC_LAYER, n->m_x},
                            {DNNL_ARG_SRC_ITER, n->m_s},
                            {DNNL_ARG_WEIGHTS_LAYER, n->m_wi},
                            {DNNL_ARG_WEIGHTS_ITER, n->m_wh},
                            {DNNL_ARG_BIAS, n->m_bi},
                            {DNNL_ARG_DST_LAYER, n->m_h},
                            {DNNL_ARG_WORKSPACE, n->m_ws}});
    dnnl_memory_t m_hr = n->m_hr, m_dhr = n->m_dhr;
    run(n, n->ip_fwd, 4,
        (dnnl_exec_arg_t[]){{DNNL_ARG_SRC, m_hr},
                            {DNNL_ARG_WEIGHTS, n->m_wo},
                            {DNNL_ARG_BIAS, n->m_bo},
                            {DNNL_ARG_DST, n->m_y}});
    CHECK(dnnl_stream_wait(n->stream));
    const float scale = 2.0f / (float)(T * O * B);
    for (long i = 0; i < T * B * O; i++)
        n->dy[i] = scale * (n->y[i] - targets[i]);
    run(n, n->ip_bwd_data, 3,
        (dnnl_exec_arg_t[]){
            {DNNL_ARG_DIFF_DST, n->m_dy}, {DNNL_ARG_WEIGHTS, n->m_wo}, {DNNL_ARG_DIFF_SRC, m_dhr}});
    run(n, n->ip_bwd_weights, 4,
        (dnnl_exec_arg_t[]){{DNNL_ARG_SRC, m_hr},
                            {DNNL_ARG_DIFF_DST, n->m_dy},
                            {DNNL_ARG_DIFF_WEIGHTS, n->m_dwo},
                            {DNNL_ARG_DIFF_BIAS, n->m_dbo}});
    run(n, n->re_wi, 2, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, n->m_wi}, {DNNL_ARG_TO, n->m_wi_b}});
    run(n, n->re_wh, 2, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, n->m_wh}, {DNNL_ARG_TO, n->m_wh_b}});
    CHECK(dnnl_stream_wait(n->stream));
    /* oneDNN's RNN backward adds into its weight gradients */
    memset(n->d_w_i, 0, (size_t)(n->I * H) * sizeof(float));
    memset(n->d_w_h, 0, (size_t)(H * H) * sizeof(float));
    memset(n->d_b_i, 0, (size_t)H * sizeof(float));
    run(n, n->rnn_bwd, 13,
        (dnnl_exec_arg_t[]){{DNNL_ARG_SRC_LAYER, n->m_x},
                            {DNNL_ARG_SRC_ITER, n->m_s},
                            {DNNL_ARG_DIFF_SRC_ITER, n->m_ds},
                            {DNNL_ARG_WEIGHTS_LAYER, n->m_wi_b},
                            {DNNL_ARG_WEIGHTS_ITER, n->m_wh_b},
                            {DNNL_ARG_BIAS, n->m_bi},
                            {DNNL_ARG_DST_LAYER, n->m_h},
                            {DNNL_ARG_WORKSPACE, n->m_ws},
                            {DNNL_ARG_DIFF_DST_LAYER, n->m_dh},
                            {DNNL_ARG_DIFF_SRC_LAYER, n->m_dx},
                            {DNNL_ARG_DIFF_WEIGHTS_LAYER, n->m_dwi},
                            {DNNL_ARG_DIFF_WEIGHTS_ITER, n->m_dwh},
                            {DNNL_ARG_DIFF_BIAS, n->m_dbi}});
    CHECK(dnnl_stream_wait(n->stream));
}

static void sgd(net *n)
{
    float *p[] = {n->w_i, n->w_h, n->b_i, n->w_o, n->b_o};
    const float *g[] = {n->d_w_i, n->d_w_h, n->d_b_i, n->d_w_o, n->d_b_o};
    long sizes[] = {n->I * n->H, n->H * n->H, n->H, n->O * n->H, n->O};
    float *v = n->v;
    for (int t = 0; t < 5; t++, v += sizes[t - 1])
        for (long k = 0; k < sizes[t]; k++) {
            v[k] = MOMENTUM * v[k] - LR * g[t][k];
            p[t][k] += v[k];
        }
}

/* The plain C reference (double): the same gradients for the batch in
 * n->x (T,B,I) and targets; worst relative error over the five tensors. */
static double check_gradients(net *n, const float *targets)
{
    const long I = n->I, H = n->H, O = n->O, T = n->T, B = n->B;
    double *h = calloc((size_t)((T + 1) * H), sizeof *h), *g = calloc((size_t)H, sizeof *g);
    double *gn = calloc((size_t)H, sizeof *gn);
    double *d[5];
    long sizes[] = {I * H, H * H, H, O * H, O};
    for (int t = 0; t < 5; t++)
        d[t] = calloc((size_t)sizes[t], sizeof *d[t]);
    for (long b = 0; b < B; b++) {
        for (long t = 0; t < T; t++) /* h[t+1] = tanh(x W_i + h[t] W_h + b) */
            for (long j = 0; j < H; j++) {
                double z = n->b_i[j];
                for (long i = 0; i < I; i++)
                    z += n->x[(t * B + b) * I + i] * (double)n->w_i[i * H + j];
                for (long k = 0; k < H; k++)
                    z += h[t * H + k] * (double)n->w_h[k * H + j];
                h[(t + 1) * H + j] = tanh(z);
            }
        memset(gn, 0, (size_t)H * sizeof *gn);
        for (long t = T - 1; t >= 0; t--) {
            const double *ht = h + (t + 1) * H, *hp = h + t * H;
            for (long j = 0; j < H; j++) {
                double a = 0;
                for (long o = 0; o < O; o++) {
                    double y = n->b_o[o];
                    for (long k = 0; k < H; k++)
                        y += ht[k] * (double)n->w_o[o * H + k];
                    double dy = 2.0 * (y - targets[(t * B + b) * O + o]) / (double)(T * O * B);
                    a += dy * n->w_o[o * H + j];
                    if (j == 0) {
                        for (long k = 0; k < H; k++)
                            d[3][o * H + k] += dy * ht[k];
                        d[4][o] += dy;
                    }
                }
                for (long k = 0; k < H; k++)
                    a += gn[k] * (double)n->w_h[j * H + k];
                g[j] = a * (1 - ht[j] * ht[j]);
            }
            for (long j = 0; j < H; j++) {
                for (long i = 0; i < I; i++)
                    d[0][i * H + j] += n->x[(t * B + b) * I + i] * g[j];
                for (long k = 0; k < H; k++)
                    d[1][k * H + j] += hp[k] * g[j];
                d[2][j] += g[j];
            }
            memcpy(gn, g, (size_t)H * sizeof *g);
        }
    }
    const float *got[] = {n->d_w_i, n->d_w_h, n->d_b_i, n->d_w_o, n->d_b_o};
    double worst = 0;
    for (int t = 0; t < 5; t++) {
        double diff = 0, scale = 0;
        for (long k = 0; k < sizes[t]; k++) {
            diff = fmax(diff, fabs(got[t][k] - d[t][k]));
            scale = fmax(scale, fabs(d[t][k]));
        }
        worst = fmax(worst, isfinite(diff) ? diff / fmax(scale, 1e-30) : INFINITY);
        free(d[t]);
    }
    free(h), free(g), free(gn);
    return worst;
}

/* The batches of a ring: (N_BATCHES, T, B, I) inputs and (.., O) targets. */
static void make_batches(long I, long O, long T, long B, float **xs, float **ys)
{
    long rows = B + T + 1000;
    float *tx = zeros(rows * I), *ty = zeros(rows * O);
    for (long i = 0; i < rows * I; i++)
        tx[i] = uniform();
    for (long i = 0; i < rows * O; i++)
        ty[i] = uniform();
    *xs = zeros(N_BATCHES * T * B * I), *ys = zeros(N_BATCHES * T * B * O);
    for (long k = 0; k < N_BATCHES; k++)
        for (long b = 0; b < B; b++) {
            long start = (long)((uniform() + 1) / 2 * (double)(rows - T));
            for (long t = 0; t < T; t++) {
                memcpy(*xs + ((k * T + t) * B + b) * I, tx + (start + t) * I,
                       (size_t)I * sizeof(float));
                memcpy(*ys + ((k * T + t) * B + b) * O, ty + (start + t) * O,
                       (size_t)O * sizeof(float));
            }
        }
    free(tx), free(ty);
}

static int parse_shape(const char *text, shape *s)
{
    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++)
        if (strcmp(text, suite[i].name) == 0) {
            *s = suite[i];
            return 1;
        }
    const char *eq = strchr(text, '=');
    char tail;
    if (!eq || eq == text || eq - text >= (long)sizeof s->name ||
        sscanf(eq + 1, "%ld:%ld:%ld/%ld/%ld%c", &s->I, &s->H, &s->O, &s->T, &s->B, &tail) != 5 ||
        s->I < 1 || s->H < 1 || s->O < 1 || s->T < 1 || s->B < 1)
        return 0;
    memset(s->name, 0, sizeof s->name);
    memcpy(s->name, text, (size_t)(eq - text));
    return 1;
}

static double flops_per_step(const shape *s)
{
    double I = (double)s->I, H = (double)s->H, O = (double)s->O;
    double fwd = 2 * I * H + 2 * H * H + 2 * H * O + 2 * H + O, loss = 3 * O;
    double bwd = 2 * O * H + 2 * H * H + 3 * H + 2 * H * O + O + 2 * H * H + 2 * I * H + H;
    double P = I * H + H * H + H * O + O + H;
    return (double)(s->B * s->T) * (fwd + loss + bwd) + 4 * P;
}

int main(int argc, char **argv)
{
    shape shapes[16];
    size_t n_shapes = 0;
    double seconds = 1.0;
    long warmup = 2;
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--shapes") == 0 && v) {
            char list[1024];
            snprintf(list, sizeof list, "%s", v);
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
                if (n_shapes == 16 || !parse_shape(tok, &shapes[n_shapes++])) {
                    fprintf(stderr,
                            "bench_onednn: --shapes '%s': expected notebook, weather, "
                            "medium, large or NAME=I:H:O/T/B\n",
                            tok);
                    return 2;
                }
        } else if (strcmp(a, "--seconds") == 0 && v && (seconds = atof(v)) > 0) {
        } else if (strcmp(a, "--warmup") == 0 && v && (warmup = atol(v)) >= 0) {
        } else if (strcmp(a, "--precision") == 0 && v) { /* fp32 only; bench.sh passes it on */
        } else if (strcmp(a, "--csv") == 0 && v)
            csv = v;
        else {
            fprintf(stderr, "usage: bench_onednn [--shapes LIST] [--seconds S] [--warmup N] "
                            "[--csv FILE]\n");
            return 2;
        }
        i++;
    }
    if (!n_shapes)
        for (; n_shapes < sizeof suite / sizeof suite[0]; n_shapes++)
            shapes[n_shapes] = suite[n_shapes];
    const dnnl_version_t *ver = dnnl_version();
    char device[64];
    snprintf(device, sizeof device, "oneDNN %d.%d.%d (cpu)", ver->major, ver->minor, ver->patch);
    printf("# %s, fp32, vanilla RNN (tanh) + inner product, SGD\n", device);
    FILE *out = csv ? fopen(csv, "w") : NULL;
    if (csv && !out) {
        fprintf(stderr, "bench_onednn: cannot write '%s'\n", csv);
        return 2;
    }
    if (out)
        fprintf(out, "shape,n_in,n_hidden,n_out,seq_len,batch,device,precision,"
                     "window_steps_per_second,gflops\n");
    printf("%-10s %-5s %16s %9s %8s %8s  %s\n", "shape", "prec", "window-steps/s", "GFLOP/s",
           "steps", "seconds", "gradient check");
    int bad = 0;
    for (size_t i = 0; i < n_shapes; i++) {
        const shape *s = &shapes[i];
        /* the check: a few windows against the plain C reference */
        net c;
        const long check_b = 3;
        float *cx, *cy;
        make_batches(s->I, s->O, s->T, check_b, &cx, &cy);
        net_init(&c, s->I, s->H, s->O, s->T, check_b);
        memcpy(c.x, cx, (size_t)(s->T * check_b * s->I) * sizeof(float));
        gradients(&c, cy);
        double err = check_gradients(&c, cy);
        int ok = err <= 1e-3;
        bad |= !ok;
        free(cx), free(cy);

        net n;
        float *xs, *ys;
        make_batches(s->I, s->O, s->T, s->B, &xs, &ys);
        net_init(&n, s->I, s->H, s->O, s->T, s->B);
        const size_t xb = (size_t)(s->T * s->B * s->I), yb = (size_t)(s->T * s->B * s->O);
        long step = 0;
        for (; step < warmup; step++) {
            memcpy(n.x, xs + (step % N_BATCHES) * xb, xb * sizeof(float));
            gradients(&n, ys + (step % N_BATCHES) * yb);
            sgd(&n);
        }
        long done = 0, batch = 1;
        double elapsed = 0;
        while (ok) {
            double t0 = now();
            for (long k = 0; k < batch; k++, step++) {
                memcpy(n.x, xs + (step % N_BATCHES) * xb, xb * sizeof(float));
                gradients(&n, ys + (step % N_BATCHES) * yb);
                sgd(&n);
            }
            elapsed += now() - t0;
            done += batch;
            if (elapsed >= seconds)
                break;
            batch = done;
        }
        double rate = ok ? (double)(done * s->B * s->T) / elapsed : NAN;
        double gflops = ok ? flops_per_step(s) * (double)done / elapsed * 1e-9 : NAN;
        printf("%s: n_in %ld, n_hidden %ld, n_out %ld, seq-len %ld, batch %ld\n", s->name, s->I,
               s->H, s->O, s->T, s->B);
        printf("%-10s %-5s %16.4g %9.3g %8ld %8.3f  %s (worst relative error %.2e)\n", "", "fp32",
               rate, gflops, done, elapsed, ok ? "OK" : "NOT OK", err);
        if (out && ok)
            fprintf(out, "%s,%ld,%ld,%ld,%ld,%ld,%s,fp32,%.6g,%.6g\n", s->name, s->I, s->H, s->O,
                    s->T, s->B, device, rate, gflops);
        free(xs), free(ys);
        /* the process ends soon: oneDNN's objects are left to it */
    }
    if (out)
        fclose(out);
    return bad ? 1 : 0;
}
