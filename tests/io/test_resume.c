/*
 * Resuming and keeping the best epoch, through the library's checkpoint
 * capture and restore.
 *
 * - Training interrupted after epoch 2 of 4 by a callback, saved, loaded
 *   and resumed ends with the same bits as 4 epochs straight, for SGD with
 *   momentum and Adam, shuffled, with a cosine schedule (which depends on
 *   the total, unlike what the CLI test can interrupt).
 * - Capture records what a run needs; restore refuses other shapes.
 * - An early stop, and a run that diverges under patience, leave the
 *   backend, and so a saved model, exactly at the best epoch's weights and
 *   optimizer state.
 */
#include "core/error.h" /* clrnn__fail, to stop a run from a callback */
#include "io_util.h"

/* ------------------------------------------------------------ training */

static clrnn_dataset *small_dataset(void)
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
    cfg.seq_len = 5;
    if (clrnn_table_read_csv(&table, SMALL_CSV, NULL) == CLRNN_OK)
        clrnn_dataset_create(&data, table, &cfg, NULL);
    clrnn_table_free(table);
    return data;
}

/* What a training run leaves in the backend, read back. */
typedef struct trained_state {
    double *params, *a, *b; /* (P) */
    long step;
} trained_state;

static int read_state(trained_state *s, clrnn_backend *backend)
{
    size_t P = clrnn_backend_n_params(backend);
    s->params = malloc(P * sizeof(double));
    s->a = malloc(P * sizeof(double));
    s->b = malloc(P * sizeof(double));
    return s->params && s->a && s->b &&
           clrnn_backend_get_params(backend, s->params, NULL) == CLRNN_OK &&
           clrnn_backend_get_optimizer_state(backend, s->a, s->b, &s->step, NULL) == CLRNN_OK;
}

static void free_state(trained_state *s)
{
    free(s->params);
    free(s->a);
    free(s->b);
}

static int same_state(const trained_state *x, const trained_state *y, size_t P)
{
    return x->step == y->step && same_doubles(x->params, y->params, P) &&
           same_doubles(x->a, y->a, P) && same_doubles(x->b, y->b, P);
}

/* The interrupting callback: captures and saves the checkpoint after
 * `stop_after` epochs, as clrnn train --save does, then stops the run. */
typedef struct interrupt {
    const clrnn_dataset *data;
    const clrnn_train_config *cfg;
    const char *path;
    size_t stop_after;
} interrupt;

static clrnn_status save_and_stop(void *context, const clrnn_epoch_stats *stats,
                                  clrnn_backend *backend, clrnn_error *err)
{
    interrupt *in = context;
    if (stats->epoch < in->stop_after)
        return CLRNN_OK;
    clrnn_checkpoint *c;
    clrnn_status st = clrnn_checkpoint_capture(&c, backend, in->data, in->cfg, stats->epoch, err);
    if (st == CLRNN_OK)
        st = clrnn_checkpoint_save(c, in->path, err);
    clrnn_checkpoint_free(c);
    return st != CLRNN_OK
               ? st
               : clrnn__fail(err, CLRNN_E_INPUT, "interrupted after epoch %zu", stats->epoch);
}

/* Trains a fresh model (seed 3, 2:8:1) on data with cfg; the backend is
 * returned for reading back. */
static clrnn_backend *train_fresh(const clrnn_dataset *data, clrnn_train_config *cfg,
                                  clrnn_model **model, clrnn_status *st, clrnn_error *err)
{
    static const clrnn_layer_shape shape = {2, 8, 1};
    clrnn_backend *backend = NULL;
    clrnn_backend_config bc = {.device = "cpu",
                               .precision = CLRNN_FP64,
                               .seq_len = 5,
                               .max_batch = cfg->batch,
                               .loss_steps = CLRNN_LOSS_ALL};
    clrnn_train_report report;
    clrnn_rng rng;
    *st = clrnn_model_create(model, &shape, 1, err);
    if (*st != CLRNN_OK)
        return NULL;
    clrnn_rng_seed(&rng, 3);
    clrnn_model_init_uniform(*model, &rng);
    *st = clrnn_backend_create(&backend, *model, &bc, err);
    if (*st == CLRNN_OK)
        *st = clrnn_backend_stage_dataset(backend, data, err);
    if (*st == CLRNN_OK)
        *st = clrnn_train(backend, data, cfg, &report, err);
    return backend;
}

/* Continues from the file: a backend for its model, its optimizer state
 * and step, start_epoch its epoch count, up to cfg->epochs. */
static clrnn_backend *resume_from(const char *path, const clrnn_dataset *data,
                                  clrnn_train_config cfg, clrnn_status *st, clrnn_error *err)
{
    clrnn_checkpoint *c;
    clrnn_backend *backend = NULL;
    clrnn_train_report report;
    *st = clrnn_checkpoint_load(&c, path, err);
    if (*st != CLRNN_OK)
        return NULL;
    clrnn_backend_config bc = {.device = "cpu", .max_batch = cfg.batch};
    clrnn_checkpoint_backend_config(c, &bc);
    *st = clrnn_backend_create(&backend, clrnn_checkpoint_model(c), &bc, err);
    if (*st == CLRNN_OK)
        *st = clrnn_backend_stage_dataset(backend, data, err);
    if (*st == CLRNN_OK)
        *st = clrnn_checkpoint_restore(c, backend, &cfg, err);
    if (*st == CLRNN_OK)
        *st = clrnn_train(backend, data, &cfg, &report, err);
    clrnn_checkpoint_free(c);
    return backend;
}

static void resume_case(const char *what, const clrnn_dataset *data, clrnn_train_config cfg)
{
    char path[128], line[160];
    clrnn_model *model_a = NULL, *model_b = NULL;
    trained_state straight = {0}, resumed = {0}, half = {0};
    clrnn_status st_a, st_b, st_c = CLRNN_E_INPUT;
    clrnn_error err;
    path_in(path, sizeof path, "interrupted.clrnn");
    cfg.epochs = 4;
    clrnn_backend *a = train_fresh(data, &cfg, &model_a, &st_a, &err);
    int ok = st_a == CLRNN_OK && read_state(&straight, a);
    interrupt in = {data, &cfg, path, 2};
    clrnn_train_config stopping = cfg;
    stopping.on_epoch = save_and_stop;
    stopping.context = &in;
    clrnn_backend *b = ok ? train_fresh(data, &stopping, &model_b, &st_b, &err) : NULL;
    ok = ok && st_b == CLRNN_E_INPUT && strstr(err.message, "interrupted after epoch 2");
    ok = ok && read_state(&half, b);
    clrnn_backend *c = ok ? resume_from(path, data, cfg, &st_c, &err) : NULL;
    ok = ok && st_c == CLRNN_OK && read_state(&resumed, c);
    size_t P = ok ? clrnn_backend_n_params(c) : 0;
    snprintf(line, sizeof line, "%s: 2 of 4 epochs, save, load, resume == 4 straight (bits)", what);
    check_true(ok && same_state(&straight, &resumed, P) && straight.step == 4 * 12, line);
    snprintf(line, sizeof line, "%s: (the interrupted run had not reached the end)", what);
    check_true(ok && !same_doubles(half.params, straight.params, P), line);
    if (!ok && err.message[0])
        printf("  %s\n", err.message);
    free_state(&straight);
    free_state(&resumed);
    free_state(&half);
    clrnn_backend_free(a);
    clrnn_backend_free(b);
    clrnn_backend_free(c);
    clrnn_model_free(model_a);
    clrnn_model_free(model_b);
}

/* capture takes what a run needs from the backend, the data and the
 * config; restore puts it back, and refuses a backend of other shapes. */
static void test_capture_restore(const clrnn_dataset *data)
{
    static const clrnn_layer_shape shape = {2, 8, 1}, other = {2, 4, 1};
    clrnn_model *model = NULL, *small = NULL;
    clrnn_backend *backend = NULL, *wrong = NULL;
    clrnn_backend_config bc = {.device = "cpu",
                               .precision = CLRNN_FP64,
                               .seq_len = 5,
                               .max_batch = 8,
                               .loss_steps = CLRNN_LOSS_LAST};
    clrnn_train_config cfg;
    clrnn_train_config_default(&cfg);
    cfg.seed = 11;
    cfg.optimizer.kind = CLRNN_ADAM;
    clrnn_checkpoint *c = NULL;
    clrnn_rng rng;
    clrnn_error err;
    clrnn_rng_seed(&rng, 5);
    int ok = clrnn_model_create(&model, &shape, 1, &err) == CLRNN_OK &&
             clrnn_model_create(&small, &other, 1, &err) == CLRNN_OK;
    if (ok)
        clrnn_model_init_uniform(model, &rng);
    ok = ok && clrnn_backend_create(&backend, model, &bc, &err) == CLRNN_OK &&
         clrnn_backend_create(&wrong, small, &bc, &err) == CLRNN_OK &&
         clrnn_checkpoint_capture(&c, backend, data, &cfg, 3, &err) == CLRNN_OK;
    size_t P = ok ? clrnn_model_n_params(model) : 0;
    check_true(ok && clrnn_checkpoint_epoch(c) == 3 && clrnn_checkpoint_seed(c) == 11 &&
                   clrnn_checkpoint_optimizer(c).kind == CLRNN_ADAM &&
                   clrnn_checkpoint_loss_steps(c) == CLRNN_LOSS_LAST &&
                   clrnn_checkpoint_seq_len(c) == 5 && clrnn_checkpoint_n_features(c) == 2 &&
                   clrnn_checkpoint_n_targets(c) == 1 &&
                   strcmp(clrnn_checkpoint_feature_name(c, 1), "b") == 0 &&
                   strcmp(clrnn_checkpoint_target_name(c, 0), "y") == 0 &&
                   c->feature_std[1] == clrnn_dataset_feature_std(data, 1) &&
                   c->target_mean[0] == clrnn_dataset_target_mean(data, 0) &&
                   same_doubles(clrnn_model_params_const(clrnn_checkpoint_model(c)),
                                clrnn_model_params_const(model), P),
               "capture: epoch, seed, optimizer, loss steps, names, scaler, parameters");
    clrnn_data_config dc = clrnn_data_config_default();
    if (ok)
        clrnn_checkpoint_data_config(c, &dc);
    check_true(ok && dc.n_features == 2 && strcmp(dc.features[0], "a") == 0 && dc.seq_len == 5 &&
                   dc.feature_mean == c->feature_mean && dc.train_fraction == 0.7,
               "data settings from a checkpoint: names, seq_len, statistics; the rest kept");
    clrnn_train_config resumed;
    clrnn_train_config_default(&resumed);
    check_true(ok && clrnn_checkpoint_restore(c, wrong, &resumed, &err) == CLRNN_E_INPUT &&
                   resumed.start_epoch == 0,
               "restore onto a backend of other layers: CLRNN_E_INPUT, the config untouched");
    check_true(ok && clrnn_checkpoint_restore(c, backend, &resumed, &err) == CLRNN_OK &&
                   resumed.start_epoch == 3 && resumed.seed == 11 &&
                   resumed.optimizer.kind == CLRNN_ADAM,
               "restore: start epoch, seed and optimizer into the config");
    clrnn_checkpoint_free(c);
    clrnn_backend_free(backend);
    clrnn_backend_free(wrong);
    clrnn_model_free(model);
    clrnn_model_free(small);
}

static void test_resume(const clrnn_dataset *data)
{
    clrnn_train_config cfg;
    clrnn_train_config_default(&cfg);
    cfg.batch = 7; /* 80 training windows: 12 steps an epoch, the last one short */
    cfg.seed = 11;
    cfg.optimizer.kind = CLRNN_SGD;
    cfg.optimizer.lr = 0.01;
    cfg.schedule = CLRNN_LR_COSINE;
    cfg.warmup_steps = 5;
    cfg.optimizer.clip_norm = 1.0;
    resume_case("SGD momentum 0.9, cosine, warm-up, clipping, shuffled", data, cfg);
    cfg.optimizer.kind = CLRNN_ADAM;
    cfg.optimizer.lr = 3e-3;
    cfg.optimizer.weight_decay = 1e-2;
    resume_case("Adam, weight decay, cosine, warm-up, clipping, shuffled", data, cfg);
}

/* on_epoch for early stopping: the state after each epoch, by epoch. */
typedef struct epoch_states {
    trained_state by_epoch[64];
} epoch_states;

static clrnn_status remember(void *context, const clrnn_epoch_stats *stats, clrnn_backend *backend,
                             clrnn_error *err)
{
    epoch_states *s = context;
    return stats->epoch < 64 && read_state(&s->by_epoch[stats->epoch], backend)
               ? CLRNN_OK
               : clrnn__fail(err, CLRNN_E_NOMEM, "cannot read the state back");
}

/* Trains a fresh 2:8:1 model (seed 5, batch 4) on data with cfg, each
 * epoch's state remembered in *states; *end is the state afterwards, and
 * the status is clrnn_train's. */
static clrnn_status train_remembering(const clrnn_dataset *data, clrnn_train_config *cfg,
                                      epoch_states *states, trained_state *end,
                                      clrnn_train_report *report, size_t *n_params)
{
    static const clrnn_layer_shape shape = {2, 8, 1};
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    clrnn_rng rng;
    clrnn_error err;
    memset(states, 0, sizeof *states);
    cfg->batch = 4;
    cfg->context = states;
    clrnn_backend_config bc = {.device = "cpu",
                               .precision = CLRNN_FP64,
                               .seq_len = 5,
                               .max_batch = cfg->batch,
                               .loss_steps = CLRNN_LOSS_ALL};
    clrnn_status st = clrnn_model_create(&model, &shape, 1, &err);
    if (st == CLRNN_OK) {
        clrnn_rng_seed(&rng, 5);
        clrnn_model_init_uniform(model, &rng);
        *n_params = clrnn_model_n_params(model);
        st = clrnn_backend_create(&backend, model, &bc, &err);
    }
    if (st == CLRNN_OK)
        st = clrnn_backend_stage_dataset(backend, data, &err);
    if (st == CLRNN_OK)
        st = clrnn_train(backend, data, cfg, report, &err);
    if (backend && !read_state(end, backend))
        st = CLRNN_E_NOMEM;
    if (st != CLRNN_OK)
        printf("  %s: %s\n", clrnn_status_string(st), err.message);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    return st;
}

static void free_states(epoch_states *states, trained_state *end)
{
    for (size_t e = 0; e < 64; e++)
        free_state(&states->by_epoch[e]);
    free_state(end);
}

static void test_early_stop(const clrnn_dataset *data)
{
    clrnn_train_config cfg;
    clrnn_train_report report = {0};
    epoch_states states;
    trained_state end = {0};
    size_t P = 0;
    clrnn_train_config_default(&cfg);
    cfg.epochs = 60;
    cfg.patience = 3;
    cfg.optimizer.kind = CLRNN_ADAM;
    cfg.optimizer.lr = 0.02; /* large enough for the validation loss to wander */
    cfg.optimizer.clip_norm = 0.0;
    cfg.schedule = CLRNN_LR_CONSTANT;
    cfg.on_epoch = remember;
    int ok = train_remembering(data, &cfg, &states, &end, &report, &P) == CLRNN_OK;
    printf("  early stop: ran %zu epochs, best epoch %zu, best validation loss %.6g\n",
           report.epochs_run, report.best_epoch, report.best_val_loss);
    check_true(ok && report.stopped_early && report.best_epoch + cfg.patience == report.epochs_run,
               "patience 3: stops 3 epochs after the best one");
    check_true(ok && report.best_epoch < 64 &&
                   same_state(&end, &states.by_epoch[report.best_epoch], P),
               "after the stop: the best epoch's weights, optimizer state and step (bits)");
    free_states(&states, &end);
}

/* on_epoch that remembers each epoch, then, after epoch 3, blows the
 * weights up so that epoch 4's loss is infinite: a diverging run. */
static clrnn_status remember_then_diverge(void *context, const clrnn_epoch_stats *stats,
                                          clrnn_backend *backend, clrnn_error *err)
{
    clrnn_status st = remember(context, stats, backend, err);
    if (st != CLRNN_OK || stats->epoch != 3)
        return st;
    size_t P = clrnn_backend_n_params(backend);
    double *huge = malloc(P * sizeof *huge);
    for (size_t i = 0; huge && i < P; i++)
        huge[i] = 1e300;
    st = huge ? clrnn_backend_set_params(backend, huge, err)
              : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory");
    free(huge);
    return st;
}

/* With patience, a run that diverges keeps its best epoch by validation
 * loss, not its last finite one (issue 11, item 5). */
static void test_diverged_keeps_best(const clrnn_dataset *data)
{
    clrnn_train_config cfg;
    clrnn_train_report report = {0};
    epoch_states states;
    trained_state end = {0};
    size_t P = 0;
    clrnn_train_config_default(&cfg);
    cfg.epochs = 10;
    cfg.patience = 5;
    cfg.optimizer = (clrnn_optimizer){.kind = CLRNN_SGD, .lr = 0.01, .momentum = 0.9};
    cfg.schedule = CLRNN_LR_CONSTANT;
    cfg.on_epoch = remember_then_diverge;
    clrnn_status st = train_remembering(data, &cfg, &states, &end, &report, &P);
    printf("  diverged at epoch 4: best epoch %zu, best validation loss %.6g\n", report.best_epoch,
           report.best_val_loss);
    check_true(st == CLRNN_E_NUMERIC && report.best_epoch >= 1 && report.best_epoch <= 3 &&
                   same_state(&end, &states.by_epoch[report.best_epoch], P),
               "a diverged run under patience: the error, and the best epoch's state (bits)");
    free_states(&states, &end);
}

int main(void)
{
    if (!make_test_dir("clrnn_test_resume"))
        return 1;
    clrnn_dataset *data = small_dataset();
    if (check_true(data != NULL, "read " SMALL_CSV)) {
        test_resume(data);
        test_capture_restore(data);
        test_diverged_keeps_best(data);
        test_early_stop(data);
    }
    clrnn_dataset_free(data);
    static const char *const names[] = {"interrupted.clrnn"};
    remove_test_dir(names, sizeof names / sizeof *names);
    return check_summary();
}
