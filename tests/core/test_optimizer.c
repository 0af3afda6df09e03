/*
 * The optimizer settings a checkpoint carries, on the CPU reference:
 * - the learning-rate schedules and warm-up at chosen steps (clrnn_lr_at);
 * - global-norm clipping: an SGD step with clip c < ||g|| moves the
 *   parameters by exactly -lr g c / ||g||, and by -lr g when c > ||g||;
 * - Adam's first step with bias correction: m_hat = g, v_hat = g^2, so each
 *   parameter moves by -lr (g / (|g| + eps) + weight_decay w);
 * - the gradient norm the trainer reports is taken before clipping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

#define SMALL_CSV CLRNN_FIXTURE_DIR "/cli_small.csv"

static void test_schedules(void)
{
    clrnn_train_config c;
    clrnn_train_config_default(&c);
    c.optimizer.lr = 0.1;
    c.schedule = CLRNN_LR_CONSTANT;
    double worst = 0.0;
    /* warm-up of 4 steps: lr/4, 2lr/4, 3lr/4, then lr */
    c.warmup_steps = 4;
    for (long s = 0; s < 6; s++)
        worst = fmax(worst, fabs(clrnn_lr_at(&c, s, 10, 100) - 0.1 * fmin(1.0, (s + 1) / 4.0)));
    check(worst < 1e-15, "constant with warm-up 4: lr at steps 0..5", worst, 1e-15);
    /* step: halve every 2 epochs of 10 steps */
    c.warmup_steps = 0;
    c.schedule = CLRNN_LR_STEP;
    c.step_epochs = 2;
    c.step_gamma = 0.5;
    worst = fabs(clrnn_lr_at(&c, 19, 10, 100) - 0.1) + fabs(clrnn_lr_at(&c, 20, 10, 100) - 0.05) +
            fabs(clrnn_lr_at(&c, 45, 10, 100) - 0.025);
    check(worst < 1e-15, "step: lr, lr/2, lr/4 at steps 19, 20, 45", worst, 1e-15);
    /* cosine over 100 steps: lr, lr/2 half way, small but positive at the end */
    c.schedule = CLRNN_LR_COSINE;
    double last = clrnn_lr_at(&c, 99, 10, 100);
    worst = fabs(clrnn_lr_at(&c, 0, 10, 100) - 0.1) + fabs(clrnn_lr_at(&c, 50, 10, 100) - 0.05);
    check(worst < 1e-15, "cosine: lr at step 0, lr/2 at step 50 of 100", worst, 1e-15);
    check(last > 0 && last < 1e-4, "cosine: the last step's lr is positive and small", last, 1e-4);
}

typedef struct fixture {
    clrnn_dataset *data;
    clrnn_model *model;
    clrnn_backend *backend;
    size_t P;
} fixture;

static int fixture_open(fixture *f, size_t batch)
{
    static const char *const features[] = {"a", "b"};
    static const char *const targets[] = {"y"};
    static const clrnn_layer_shape layers[2] = {{2, 6, 3}, {3, 4, 1}};
    clrnn_table *table = NULL;
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 2;
    cfg.targets = targets;
    cfg.n_targets = 1;
    cfg.seq_len = 5;
    clrnn_backend_config bc = {.device = "cpu",
                               .precision = CLRNN_FP64,
                               .seq_len = 5,
                               .max_batch = batch,
                               .loss_steps = CLRNN_LOSS_ALL};
    clrnn_rng rng;
    memset(f, 0, sizeof *f);
    if (clrnn_table_read_csv(&table, SMALL_CSV, NULL) != CLRNN_OK)
        return 0;
    int ok = clrnn_dataset_create(&f->data, table, &cfg, NULL) == CLRNN_OK &&
             clrnn_model_create(&f->model, layers, 2, NULL) == CLRNN_OK;
    clrnn_table_free(table);
    if (!ok)
        return 0;
    clrnn_rng_seed(&rng, 1);
    clrnn_model_init_uniform(f->model, &rng);
    f->P = clrnn_model_n_params(f->model);
    return clrnn_backend_create(&f->backend, f->model, &bc, NULL) == CLRNN_OK &&
           clrnn_backend_stage_dataset(f->backend, f->data, NULL) == CLRNN_OK;
}

static void fixture_close(fixture *f)
{
    clrnn_backend_free(f->backend);
    clrnn_model_free(f->model);
    clrnn_dataset_free(f->data);
}

/* One update from the initial parameters: p0 (P) before, p1 after, g the
 * gradient of windows 0..7 (P); returns ||g||. */
static double one_step(fixture *f, const clrnn_optimizer *opt, double *p0, double *p1, double *g)
{
    uint32_t starts[8] = {0, 5, 10, 15, 20, 25, 30, 35};
    double norm = 0.0;
    clrnn_backend_set_params(f->backend, clrnn_model_params_const(f->model), NULL);
    clrnn_backend_get_params(f->backend, p0, NULL);
    clrnn_backend_gradients(f->backend, starts, 8, NULL);
    clrnn_backend_get_grads(f->backend, g, NULL);
    clrnn_backend_update(f->backend, opt, NULL);
    clrnn_backend_get_params(f->backend, p1, NULL);
    for (size_t i = 0; i < f->P; i++)
        norm += g[i] * g[i];
    return sqrt(norm);
}

/* max over i of |(p1 - p0) - want_i| / max |want| */
static double step_error(const double *p0, const double *p1, const double *want, size_t n)
{
    double worst = 0.0, scale = 1e-300;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((p1[i] - p0[i]) - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    return worst / scale;
}

static void test_updates(fixture *f)
{
    size_t P = f->P;
    double *p0 = calloc(P, sizeof *p0), *p1 = calloc(P, sizeof *p1);
    double *g = calloc(P, sizeof *g), *want = calloc(P, sizeof *want);
    if (!check_true(p0 && p1 && g && want, "buffers"))
        goto done;
    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = 0.1, .momentum = 0.0};
    double norm = one_step(f, &sgd, p0, p1, g);
    sgd.clip_norm = norm / 4;
    one_step(f, &sgd, p0, p1, g);
    for (size_t i = 0; i < P; i++)
        want[i] = -0.1 * g[i] / 4;
    check(step_error(p0, p1, want, P) < 1e-12, "SGD, clip at ||g||/4: step = -lr g / 4",
          step_error(p0, p1, want, P), 1e-12);
    sgd.clip_norm = norm * 4;
    one_step(f, &sgd, p0, p1, g);
    for (size_t i = 0; i < P; i++)
        want[i] = -0.1 * g[i];
    check(step_error(p0, p1, want, P) < 1e-12, "SGD, clip at 4 ||g||: step = -lr g (unclipped)",
          step_error(p0, p1, want, P), 1e-12);
    clrnn_optimizer adam = {CLRNN_ADAM, 1e-3, 0.0, 0.9, 0.999, 1e-8, 0.01, 0.0};
    one_step(f, &adam, p0, p1, g);
    for (size_t i = 0; i < P; i++)
        want[i] = -1e-3 * (g[i] / (fabs(g[i]) + 1e-8) + 0.01 * p0[i]);
    check(step_error(p0, p1, want, P) < 1e-9,
          "Adam step 1 (bias-corrected), weight decay 0.01: -lr (g/(|g|+eps) + wd w)",
          step_error(p0, p1, want, P), 1e-9);
done:
    free(p0);
    free(p1);
    free(g);
    free(want);
}

static clrnn_status keep_norm(void *context, const clrnn_epoch_stats *stats, clrnn_backend *backend,
                              clrnn_error *err)
{
    *(double *)context = stats->grad_norm;
    return CLRNN_OK;
}

static void test_reported_norm(fixture *f)
{
    clrnn_train_config cfg;
    clrnn_train_report report;
    double norm = NAN;
    clrnn_train_config_default(&cfg);
    cfg.epochs = 1;
    cfg.batch = 8;
    cfg.optimizer.clip_norm = 1e-6;
    cfg.on_epoch = keep_norm;
    cfg.context = &norm;
    clrnn_backend_set_params(f->backend, clrnn_model_params_const(f->model), NULL);
    int ok = clrnn_train(f->backend, f->data, &cfg, &report, NULL) == CLRNN_OK;
    check(ok && norm > 1e-3, "reported gradient norm is before clipping (clip 1e-6)", norm, 1e-3);
}

int main(void)
{
    fixture f;
    test_schedules();
    if (check_true(fixture_open(&f, 8), "a 2-layer model on " SMALL_CSV)) {
        test_updates(&f);
        test_reported_norm(&f);
    }
    fixture_close(&f);
    return check_summary();
}
