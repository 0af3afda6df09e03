/*
 * Model groups: each model of a group trained in lock-step
 * (clrnn_train_group) ends bitwise as the same settings trained alone
 * (clrnn_train) on the same device and family: parameters, optimizer state
 * and step, the report's losses and epochs, the test metrics. One group
 * mixes SGD and Adam, clipping on and off, learning rates, momentum, weight
 * decay, schedules, patience (a model that stops early) and a model that
 * diverges (it stops alone; the others go on).
 *
 * test_group [DEVICE [FAMILY [small]]]: DEVICE cpu (default) or opencl,
 * FAMILY an OpenCL kernel family; OpenCL runs fp32 and fp64, and skips (77)
 * without a device outside CI. small (for Oclgrind): 2 epochs, the batch
 * of 37 only (tile: also a stack of two layers), and no early stop to
 * check. Families with the model as a grid dimension (fused, tile) say
 * so in the backend's description.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

#define SMALL_CSV CLRNN_FIXTURE_DIR "/cli_small.csv"
#define M 6
#define SEQ 5

static clrnn_dataset *open_data(void)
{
    static const char *const features[] = {"a", "b"};
    static const char *const targets[] = {"y"};
    clrnn_table *table = NULL;
    clrnn_dataset *data = NULL;
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 2;
    cfg.targets = targets;
    cfg.n_targets = 1;
    cfg.seq_len = SEQ;
    if (clrnn_table_read_csv(&table, SMALL_CSV, NULL) != CLRNN_OK)
        return NULL;
    if (clrnn_dataset_create(&data, table, &cfg, NULL) != CLRNN_OK)
        data = NULL;
    clrnn_table_free(table);
    return data;
}

/* Model k's settings: every optimizer setting a group may mix. */
static int small; /* the Oclgrind run's size */

static void model_config(clrnn_train_config *c, size_t k, size_t batch)
{
    clrnn_train_config_default(c);
    c->epochs = 4;
    c->batch = batch;
    c->seed = (uint32_t)(100 + k);
    switch (k) {
    case 0: /* the defaults: Adam, clipped, cosine */
        break;
    case 1:
        c->optimizer.clip_norm = 0;
        c->optimizer.lr = 1e-2;
        c->optimizer.weight_decay = 0.01;
        c->schedule = CLRNN_LR_CONSTANT;
        break;
    case 2:
        c->optimizer.kind = CLRNN_SGD;
        c->optimizer.lr = 0.05;
        c->optimizer.clip_norm = 0.5;
        c->warmup_steps = 5;
        break;
    case 3:
        c->optimizer.kind = CLRNN_SGD;
        c->optimizer.lr = 0.02;
        c->optimizer.momentum = 0.5;
        c->optimizer.clip_norm = 0;
        c->schedule = CLRNN_LR_STEP;
        c->step_epochs = 1;
        break;
    case 4: /* diverges */
        c->optimizer.kind = CLRNN_SGD;
        c->optimizer.lr = 1e30;
        c->optimizer.momentum = 0.99;
        c->optimizer.clip_norm = 0;
        c->schedule = CLRNN_LR_CONSTANT;
        break;
    default: /* stops early: more epochs than the others, patience 1 */
        c->epochs = 12;
        c->patience = 1;
        c->optimizer.lr = 0.3;
        c->shuffle = k % 2;
        break;
    }
    if (small && c->epochs > 2)
        c->epochs = 2;
}

typedef struct outcome {
    double *params, *m, *v;
    long step;
    clrnn_train_report report;
    clrnn_status status;
    clrnn_metrics test;
} outcome;

static int same(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

/* What backend's selected model ends with. */
static int capture(clrnn_backend *b, const clrnn_dataset *data, outcome *o, size_t P, size_t batch)
{
    o->params = malloc(P * sizeof *o->params);
    o->m = malloc(P * sizeof *o->m);
    o->v = malloc(P * sizeof *o->v);
    memset(&o->test, 0, sizeof o->test);
    return o->params && o->m && o->v && clrnn_backend_get_params(b, o->params, NULL) == CLRNN_OK &&
           clrnn_backend_get_optimizer_state(b, o->m, o->v, &o->step, NULL) == CLRNN_OK &&
           clrnn_evaluate(b, data, CLRNN_SPLIT_TEST, batch, &o->test, NULL) == CLRNN_OK;
}

static void release(outcome *o)
{
    free(o->params);
    free(o->m);
    free(o->v);
}

static void init_params(clrnn_model *model, size_t k)
{
    clrnn_rng rng;
    clrnn_rng_seed(&rng, (uint32_t)(7 + k));
    clrnn_model_init_uniform(model, &rng);
}

static void run_case(const char *device, clrnn_kernels kernels, clrnn_precision precision,
                     const clrnn_layer_shape *layers, size_t n_layers, size_t batch,
                     const char *name, const clrnn_dataset *data)
{
    clrnn_model *model = NULL;
    clrnn_backend *group = NULL;
    clrnn_error err;
    char what[640];
    if (!check_true(clrnn_model_create(&model, layers, n_layers, NULL) == CLRNN_OK, "model"))
        return;
    size_t P = clrnn_model_n_params(model);
    clrnn_backend_config bc = {.device = device,
                               .precision = precision,
                               .seq_len = SEQ,
                               .max_batch = batch,
                               .kernels = kernels,
                               .n_models = M};
    clrnn_train_config configs[M];
    clrnn_train_report reports[M];
    clrnn_status status[M];
    clrnn_error errors[M];
    outcome grouped[M], alone[M];
    memset(grouped, 0, sizeof grouped);
    memset(alone, 0, sizeof alone);
    int ok = clrnn_backend_create(&group, model, &bc, &err) == CLRNN_OK &&
             clrnn_backend_stage_dataset(group, data, &err) == CLRNN_OK;
    if (!ok)
        printf("%s\n", err.message);
    snprintf(what, sizeof what, "%s: a group of %d models (%s)", name, M,
             ok ? clrnn_backend_describe(group) : "not made");
    check_true(ok && clrnn_backend_n_models(group) == M, what);
    if (ok && kernels != CLRNN_KERNELS_AUTO) {
        /* the model a grid dimension of its launches, not each model's in turn */
        char launch[32];
        snprintf(launch, sizeof launch, ", %d models a launch", M);
        snprintf(what, sizeof what, "%s: the group runs as one (\"%s\")", name, launch);
        check_true(strstr(clrnn_backend_describe(group), launch) != NULL, what);
    }
    for (size_t k = 0; ok && k < M; k++) {
        model_config(&configs[k], k, batch);
        init_params(model, k);
        ok = clrnn_backend_select_model(group, k, NULL) == CLRNN_OK &&
             clrnn_backend_set_params(group, clrnn_model_params_const(model), NULL) == CLRNN_OK;
    }
    ok = ok && clrnn_train_group(group, data, configs, reports, status, errors, &err) == CLRNN_OK;
    snprintf(what, sizeof what, "%s: clrnn_train_group runs (%.500s)", name, ok ? "" : err.message);
    check_true(ok, what);
    for (size_t k = 0; ok && k < M; k++) {
        ok = clrnn_backend_select_model(group, k, NULL) == CLRNN_OK &&
             capture(group, data, &grouped[k], P, batch);
        grouped[k].report = reports[k];
        grouped[k].status = status[k];
    }
    clrnn_backend_free(group);
    bc.n_models = 0;
    for (size_t k = 0; ok && k < M; k++) {
        clrnn_backend *one = NULL;
        init_params(model, k);
        ok = clrnn_backend_create(&one, model, &bc, NULL) == CLRNN_OK &&
             clrnn_backend_stage_dataset(one, data, NULL) == CLRNN_OK;
        alone[k].status =
            ok ? clrnn_train(one, data, &configs[k], &alone[k].report, NULL) : CLRNN_E_DEVICE;
        ok = ok && capture(one, data, &alone[k], P, batch);
        clrnn_backend_free(one);
    }
    check_true(ok, "each model trained alone");
    check_true(!ok || (status[4] == CLRNN_E_NUMERIC && alone[4].status == CLRNN_E_NUMERIC),
               "model 4 diverges, in the group and alone");
    if (!small)
        check_true(!ok || (reports[5].stopped_early && reports[5].epochs_run < configs[5].epochs),
                   "model 5 stops early, after the others are done");
    for (size_t k = 0; ok && k < M; k++) {
        const outcome *g = &grouped[k], *a = &alone[k];
        const clrnn_train_report *rg = &g->report, *ra = &a->report;
        int params = same(g->params, a->params, P * sizeof(double));
        int state = same(g->m, a->m, P * sizeof(double)) && same(g->v, a->v, P * sizeof(double)) &&
                    g->step == a->step;
        int report = g->status == a->status && rg->epochs_run == ra->epochs_run &&
                     rg->best_epoch == ra->best_epoch && rg->stopped_early == ra->stopped_early &&
                     same(&rg->train_loss, &ra->train_loss, sizeof(double)) &&
                     same(&rg->val_loss, &ra->val_loss, sizeof(double)) &&
                     same(&rg->best_val_loss, &ra->best_val_loss, sizeof(double));
        int metrics = same(&g->test.loss, &a->test.loss, sizeof(double)) &&
                      same(&g->test.rmse, &a->test.rmse, sizeof(double)) &&
                      same(&g->test.mae, &a->test.mae, sizeof(double));
        snprintf(what, sizeof what, "%s model %zu: parameters bitwise as alone", name, k);
        check_true(params, what);
        snprintf(what, sizeof what, "%s model %zu: optimizer state and step bitwise", name, k);
        check_true(state, what);
        snprintf(what, sizeof what, "%s model %zu: status, losses and epochs bitwise", name, k);
        check_true(report, what);
        snprintf(what, sizeof what, "%s model %zu: test loss, RMSE, MAE bitwise", name, k);
        check_true(metrics || k == 4, what);
    }
    for (size_t k = 0; k < M; k++) {
        release(&grouped[k]);
        release(&alone[k]);
    }
    clrnn_model_free(model);
}

int main(int argc, char **argv)
{
    const char *device = argc > 1 ? argv[1] : "cpu";
    clrnn_kernels kernels = CLRNN_KERNELS_AUTO;
    if (argc > 2 && !clrnn_parse_kernels(argv[2], &kernels)) {
        fprintf(stderr, "test_group: unknown family '%s'\n", argv[2]);
        return 2;
    }
    int opencl = strcmp(device, "cpu") != 0;
    small = argc > 3 && strcmp(argv[3], "small") == 0;
    if (opencl) {
        clrnn_model *probe = NULL;
        clrnn_backend *b = NULL;
        static const clrnn_layer_shape one[1] = {{1, 1, 1}};
        clrnn_backend_config bc = {.device = device, .seq_len = 1, .max_batch = 1};
        int have = clrnn_model_create(&probe, one, 1, NULL) == CLRNN_OK &&
                   clrnn_backend_create(&b, probe, &bc, NULL) == CLRNN_OK;
        clrnn_backend_free(b);
        clrnn_model_free(probe);
        if (!have) {
            printf("no OpenCL device%s\n", getenv("CI") ? " (CI: failing)" : ": skipped");
            return getenv("CI") ? 1 : 77;
        }
    }
    if (opencl && kernels == CLRNN_KERNELS_FUSED) {
        /* A group the device cannot hold: refused at creation, saying how
         * many models fit. */
        static const clrnn_layer_shape weather[1] = {{3, 16, 1}};
        clrnn_model *model = NULL;
        clrnn_backend *b = NULL;
        clrnn_error err = {CLRNN_OK, ""};
        clrnn_backend_config bc = {.device = device,
                                   .seq_len = 7,
                                   .max_batch = 200000,
                                   .kernels = kernels,
                                   .n_models = 4096};
        clrnn_status st = clrnn_model_create(&model, weather, 1, NULL);
        if (st == CLRNN_OK)
            st = clrnn_backend_create(&b, model, &bc, &err);
        printf("%s\n", err.message);
        check_true(st == CLRNN_E_NOMEM && strstr(err.message, "fit") != NULL,
                   "a group of 4096 models of 200000 windows: refused, saying how many fit");
        clrnn_backend_free(b);
        clrnn_model_free(model);
    }
    if (opencl && (kernels == CLRNN_KERNELS_TILE || kernels == CLRNN_KERNELS_GPU ||
                   kernels == CLRNN_KERNELS_GROUP)) {
        /* A group whose activations the device cannot hold (each model's
         * (B,T,H) tensors, 292 GB in all; the group's own buffers are
         * small): refused at creation, before the family's build, saying
         * how many models fit. */
        static const clrnn_layer_shape weather[1] = {{3, 16, 1}};
        clrnn_model *model = NULL;
        clrnn_backend *b = NULL;
        clrnn_error err = {CLRNN_OK, ""};
        clrnn_backend_config bc = {.device = device,
                                   .seq_len = 16384,
                                   .max_batch = 32,
                                   .kernels = kernels,
                                   .n_models = 4096};
        clrnn_status st = clrnn_model_create(&model, weather, 1, NULL);
        if (st == CLRNN_OK)
            st = clrnn_backend_create(&b, model, &bc, &err);
        printf("%s\n", err.message);
        check_true(st == CLRNN_E_NOMEM && strstr(err.message, "fit (a smaller `n_models`)") != NULL,
                   "a group of 4096 models of 32 windows of 16384 steps: refused, saying how "
                   "many fit");
        clrnn_backend_free(b);
        clrnn_model_free(model);
    }
    clrnn_dataset *data = open_data();
    if (!check_true(data != NULL, "the small table"))
        return check_summary();
    static const clrnn_layer_shape single[1] = {{2, 5, 1}};
    static const clrnn_layer_shape stack[2] = {{2, 6, 3}, {3, 4, 1}};
    /* Awkward sizes: one hidden unit, 19 (no multiple of a work-group size
     * or of the lanes: tile's windows one after another) and 32 (tile's
     * explicit vectors), a middle layer that takes and gives gradients;
     * and a small stack for the Oclgrind run. */
    static const clrnn_layer_shape awkward[3] = {{2, 1, 3}, {3, 19, 5}, {5, 32, 1}};
    static const clrnn_layer_shape small_stack[2] = {{2, 1, 3}, {3, 3, 1}};
    for (int p = opencl ? 0 : 1; p < 2; p++) {
        clrnn_precision precision = p ? CLRNN_FP64 : CLRNN_FP32;
        char name[64];
        snprintf(name, sizeof name, "%s 2:5:1 batch 8", p ? "fp64" : "fp32");
        if (!small)
            run_case(device, kernels, precision, single, 1, 8, name, data);
        /* two chunks of windows (32 a chunk), the last tile padded */
        snprintf(name, sizeof name, "%s 2:5:1 batch 37", p ? "fp64" : "fp32");
        run_case(device, kernels, precision, single, 1, 37, name, data);
        if (kernels != CLRNN_KERNELS_FUSED && !small) { /* fused: one layer */
            snprintf(name, sizeof name, "%s 2:6:3,3:4:1 batch 8", p ? "fp64" : "fp32");
            run_case(device, kernels, precision, stack, 2, 8, name, data);
            snprintf(name, sizeof name, "%s 2:1:3,3:19:5,5:32:1 batch 37", p ? "fp64" : "fp32");
            run_case(device, kernels, precision, awkward, 3, 37, name, data);
        }
        if (kernels != CLRNN_KERNELS_FUSED && small) {
            snprintf(name, sizeof name, "%s 2:1:3,3:3:1 batch 37", p ? "fp64" : "fp32");
            run_case(device, kernels, precision, small_stack, 2, 37, name, data);
        }
    }
    clrnn_dataset_free(data);
    return check_summary();
}
