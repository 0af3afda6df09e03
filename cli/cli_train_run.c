/* clrnn train: one training run: the data, the model and the backend, the
 * checkpoints, the epoch callbacks and resuming. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_mpi.h"
#include "cli_progress.h"
#include "cli_train.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/stateful.h"

/* The model's shapes: --layers as given (checked against the data), or one
 * layer of --hidden units from the features to the targets. */
static int model_shapes(const train_options *o, size_t n_features, size_t n_targets,
                        clrnn_layer_shape *layers, size_t *n_layers)
{
    if (o->layers.n == 0) {
        layers[0] = (clrnn_layer_shape){n_features, o->hidden, n_targets};
        *n_layers = 1;
        return 1;
    }
    memcpy(layers, o->layers.shape, o->layers.n * sizeof *layers);
    *n_layers = o->layers.n;
    if (layers[0].n_in != n_features || layers[o->layers.n - 1].n_out != n_targets) {
        fprintf(stderr,
                "clrnn train: --layers takes %zu inputs and gives %zu outputs, but the data has "
                "%zu features and %zu targets\n",
                layers[0].n_in, layers[o->layers.n - 1].n_out, n_features, n_targets);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------- checkpointing */

/* The run as of `epoch`, to --save: captured from the backend, the data
 * and the training settings (as resuming left them). */
static clrnn_status checkpoint_save(train_run *run, const clrnn_dataset *data,
                                    clrnn_backend *backend, size_t epoch, clrnn_error *err)
{
    clrnn_checkpoint *c;
    clrnn_status st = clrnn_checkpoint_capture_data(&c, backend, data, &run->o->data_cfg,
                                                    run->o->data, &run->o->train, epoch, err);
    if (st == CLRNN_OK)
        st = clrnn_checkpoint_save(c, run->o->save, err);
    clrnn_checkpoint_free(c);
    if (st == CLRNN_OK)
        run->epochs_saved = epoch;
    return st;
}

/* ---------------------------------------------------------- callbacks */

/* Room in the loss history for n epochs, grown as epochs finish (doubling,
 * NaN where no epoch ran): --epochs 100000000 costs nothing up front. */
static int grow_history(train_run *run, size_t n)
{
    if (n <= run->history_cap)
        return 1;
    size_t cap = run->history_cap ? run->history_cap : 64;
    while (cap < n)
        cap *= 2;
    double *train = realloc(run->train_loss, cap * sizeof *train);
    if (train)
        run->train_loss = train;
    double *val = train ? realloc(run->val_loss, cap * sizeof *val) : NULL;
    if (!val)
        return 0;
    run->val_loss = val;
    for (size_t e = run->history_cap; e < cap; e++)
        run->train_loss[e] = run->val_loss[e] = NAN;
    run->history_cap = cap;
    return 1;
}

static clrnn_status on_epoch(void *context, const clrnn_epoch_stats *s, clrnn_backend *backend,
                             clrnn_error *err)
{
    train_run *run = context;
    run->last_loss = s->train_loss;
    if (!grow_history(run, s->epoch))
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the loss history");
    run->train_loss[s->epoch - 1] = s->train_loss;
    run->val_loss[s->epoch - 1] = s->val_loss;
    train_log_epoch(run, s);
    clrnn_status st =
        run->o->save ? checkpoint_save(run, run->data, backend, s->epoch, err) : CLRNN_OK;
    run->epoch_start = clock_seconds(); /* the next epoch's batches start now */
    return st;
}

/* The progress line on stderr (a terminal). Training only enqueues work:
 * the OpenCL host is soon an epoch ahead of its device, so the line shows
 * what the device has done, asked with clrnn_backend_finish about every
 * PROGRESS_SYNC_SECONDS of the device's work (the number of windows that
 * takes at the rate so far), and drawn at most every PROGRESS_DRAW_SECONDS.
 * A wait costs the device the time the host takes to enqueue the next
 * batch: at 5 a second, well under 1% (measured: README). The line fits
 * the terminal's width, is cleared to its end at each draw, and is wiped
 * after the epoch's last batch so that the epoch's line on stdout starts on
 * a clean line. */
#define PROGRESS_SYNC_SECONDS 0.2
#define PROGRESS_DRAW_SECONDS 0.1

static void on_batch(void *context, size_t epoch, size_t done, size_t total)
{
    train_run *run = context;
    if (!run->progress)
        return;
    if (done == total) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        run->next_sync = 0; /* the next epoch's first batch: ask at once */
        return;
    }
    if (done < run->next_sync)
        return;
    /* Errors are the next call's to report: the line only shows less. */
    clrnn_backend_finish(run->backend, NULL);
    double now = clock_seconds();
    double rate = now > run->epoch_start ? (double)done / (now - run->epoch_start) : 0.0;
    size_t batch = run->o->train.batch, ahead = (size_t)(rate * PROGRESS_SYNC_SECONDS);
    run->next_sync = done + (ahead > batch ? ahead : batch);
    if (now - run->last_draw < PROGRESS_DRAW_SECONDS)
        return;
    run->last_draw = now;
    cli_progress_state p = {epoch + 1, run->o->train.epochs, done, total,
                            batch,     run->last_loss,       rate};
    char line[512];
    cli_progress_format(line, sizeof line, cli_terminal_width(STDERR_FILENO), &p);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
}

/* ---------------------------------------------------------- resuming */

/* The saved optimizer, with the hyper-parameters given on the command line
 * taking precedence (fine-tuning with a lower --lr, say). Its kind cannot
 * change: the saved state belongs to it. */
static int resume_optimizer(const train_options *o, const clrnn_checkpoint *c, clrnn_optimizer *opt)
{
    static const char *const kinds[] = {"sgd", "adam"};
    clrnn_optimizer given = *opt, saved = clrnn_checkpoint_optimizer(c);
    const cli_args *set = &o->args;
    if (cli_given(set, "--optimizer") && given.kind != saved.kind) {
        fprintf(stderr,
                "clrnn train: '%s' was trained with --optimizer %s; it cannot resume "
                "with %s\n",
                o->resume, kinds[saved.kind], kinds[given.kind]);
        return 0;
    }
    *opt = saved;
    opt->lr = cli_given(set, "--lr") ? given.lr : opt->lr;
    opt->momentum = cli_given(set, "--momentum") ? given.momentum : opt->momentum;
    opt->beta1 = cli_given(set, "--beta1") ? given.beta1 : opt->beta1;
    opt->beta2 = cli_given(set, "--beta2") ? given.beta2 : opt->beta2;
    opt->eps = cli_given(set, "--eps") ? given.eps : opt->eps;
    opt->weight_decay = cli_given(set, "--weight-decay") ? given.weight_decay : opt->weight_decay;
    opt->clip_norm = cli_given(set, "--clip-norm") ? given.clip_norm : opt->clip_norm;
    return 1;
}

/* Resuming: the saved optimizer state, step, epoch and seed, then the
 * hyper-parameters given on the command line over the saved ones. */
static int apply_resume(const train_options *o, const clrnn_checkpoint *c, clrnn_backend *backend,
                        clrnn_train_config *train)
{
    clrnn_error err;
    if (clrnn_checkpoint_epoch(c) >= train->epochs) {
        fprintf(stderr,
                "clrnn train: '%s' has done %zu epochs already; ask for more with --epochs\n",
                o->resume, clrnn_checkpoint_epoch(c));
        return 0;
    }
    /* The saved optimizer with the flags given over it, decided first:
     * restore puts the saved one into train. */
    clrnn_optimizer opt = train->optimizer;
    if (!resume_optimizer(o, c, &opt))
        return 0;
    if (train->stateful && !clrnn_checkpoint_stateful(c)) {
        fprintf(stderr,
                "clrnn train: --stateful: '%s' was trained without it (windows from h = 0); "
                "resume it without --stateful, or train a new model\n",
                o->resume);
        return 0;
    }
    if (clrnn_checkpoint_restore(c, backend, train, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    train->optimizer = opt;
    return 1;
}

/* The data's columns and window length must be the model's. */
static int check_resume_matches(const train_options *o, const clrnn_checkpoint *c)
{
    char feat[2048], targ[2048];
    cli_join_columns(feat, sizeof feat, c, 0);
    cli_join_columns(targ, sizeof targ, c, 1);
    int targets_set = cli_given(&o->args, "--target") || cli_given(&o->args, "--targets");
    if ((cli_given(&o->args, "--features") && strcmp(feat, o->features) != 0) ||
        (targets_set && strcmp(targ, o->targets) != 0) ||
        (cli_given(&o->args, "--seq-len") && o->data_cfg.seq_len != clrnn_checkpoint_seq_len(c))) {
        fprintf(stderr,
                "clrnn train: '%s' was trained on features %s, target %s, seq-len %zu; the "
                "options ask for something else\n",
                o->resume, feat, targ, clrnn_checkpoint_seq_len(c));
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- main */

static void job_free(train_job *job)
{
    atomic_abort(&job->run.log_csv); /* nothing when put in place */
    atomic_abort(&job->run.log_json);
    free(job->run.train_loss);
    free(job->run.val_loss);
    clrnn_checkpoint_free(job->resumed);
    clrnn_backend_free(job->backend);
    clrnn_model_free(job->model);
    clrnn_dataset_free(job->data);
}

/* The dataset: columns from the options, or from the resumed model along
 * with its scaler statistics. */
static int load_data(train_job *job)
{
    train_options *o = job->o;
    clrnn_error err;
    if (!o->resume)
        return cli_load_dataset("clrnn train", o->data, o->features, o->targets, o->data_cfg,
                                &job->data);
    if (clrnn_checkpoint_load(&job->resumed, o->resume, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    const clrnn_checkpoint *c = job->resumed;
    if (!check_resume_matches(o, c))
        return 0;
    /* Without --data, the data the model records (where it still is). */
    const char *absolute = clrnn_checkpoint_data_path(c, 1),
               *given = clrnn_checkpoint_data_path(c, 0);
    if (!cli_given(&o->args, "--data") && absolute)
        o->data = access(absolute, R_OK) == 0 ? absolute : given;
    o->features = cli_join_columns(job->features, sizeof job->features, c, 0);
    o->targets = cli_join_columns(job->targets, sizeof job->targets, c, 1);
    o->backend.loss_steps = clrnn_checkpoint_loss_steps(c);
    o->backend.precision = clrnn_checkpoint_precision(c);
    o->data_cfg.scale_targets = 1;
    clrnn_checkpoint_data_config(c, &o->data_cfg); /* what the saves record */
    return cli_load_dataset_for_model("clrnn train", o->data, c, o->data_cfg, &job->data);
}

/* The model: the resumed one, or new shapes initialised from --seed. */
static int make_model(train_job *job)
{
    clrnn_error err;
    clrnn_layer_shape layers[TRAIN_MAX_LAYERS];
    size_t n_layers;
    if (job->o->resume) {
        if (clrnn_model_clone(&job->model, clrnn_checkpoint_model(job->resumed), &err) != CLRNN_OK)
            return cli_error("clrnn train", &err), 0;
        return 1;
    }
    if (!model_shapes(job->o, clrnn_dataset_n_features(job->data),
                      clrnn_dataset_n_targets(job->data), layers, &n_layers))
        return 0;
    if (clrnn_model_create(&job->model, layers, n_layers, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, job->o->train.seed);
    clrnn_model_init_uniform(job->model, &rng);
    return 1;
}

/* Data, model and backend, every check done; nothing written yet. */
static int prepare(train_job *job)
{
    train_options *o = job->o;
    clrnn_error err;
    if (!load_data(job))
        return 0;
    size_t n_train = clrnn_dataset_n_windows(job->data, CLRNN_SPLIT_TRAIN);
    if (o->train.batch > n_train) {
        fprintf(stderr, "clrnn train: --batch %zu is larger than the %zu training windows\n",
                o->train.batch, n_train);
        return 0;
    }
    if (!make_model(job))
        return 0;
    o->backend.seq_len = clrnn_dataset_seq_len(job->data);
    o->backend.max_batch = o->train.batch;
    o->backend.log = o->quiet ? NULL : stdout;
    o->backend.verbose = o->verbose ? stderr : NULL;
    o->backend.tune_verbose = o->verbose;
    o->backend.tune_log = stderr;
    if (clrnn_backend_create(&job->backend, job->model, &o->backend, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(job->backend, job->data, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    if (o->resume && !apply_resume(o, job->resumed, job->backend, &o->train))
        return 0;
    if (!o->quiet) /* only once every check has passed: bad input gets one line */
        train_print_data_summary(o, job->data);
    return 1;
}

/* History, checkpoint description and log files for the callbacks. */
static int start_run(train_job *job)
{
    train_options *o = job->o;
    train_run *run = &job->run;
    run->o = o;
    run->last_loss = NAN;
    run->data = job->data;
    if (!grow_history(run, o->train.start_epoch + 1)) {
        fprintf(stderr, "clrnn train: out of memory\n");
        return 0;
    }
    if (o->log_csv && !train_open_log(&run->log_csv, o->log_csv,
                                      "epoch,train_loss,val_loss,lr,grad_norm,"
                                      "windows_per_second,seconds\n"))
        return 0;
    if (o->log_json && !train_open_log(&run->log_json, o->log_json, NULL))
        return 0;
    run->progress = !o->quiet && cli_progress_wanted();
    run->backend = job->backend;
    o->train.out = o->quiet ? NULL : stdout;
    o->train.on_epoch = on_epoch;
    o->train.on_batch = on_batch;
    o->train.context = run;
    return 1;
}

/* Ctrl-C: the trainer stops after the batch it is in. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

/* Stopped by Ctrl-C: one line saying which epoch the model file keeps. */
static int report_interrupt(const train_job *job, const clrnn_train_report *report)
{
    const train_options *o = job->o;
    if (o->save && job->run.epochs_saved)
        fprintf(stderr, "clrnn train: interrupted in epoch %zu; '%s' keeps epoch %zu\n",
                report->epochs_run + 1, o->save, job->run.epochs_saved);
    else
        fprintf(stderr, "clrnn train: interrupted in epoch %zu; nothing saved\n",
                report->epochs_run + 1);
    return 0;
}

/* A loss that went NaN or infinite under --save: one line saying so and
 * which epoch the model file keeps. With --patience the backend holds the
 * best epoch by validation loss, and that is saved; without, the file
 * holds the last epoch saved before the loss went bad. */
static int keep_after_divergence(train_job *job, const clrnn_train_report *report,
                                 const clrnn_error *why)
{
    const train_options *o = job->o;
    char message[600];
    clrnn_error err;
    const char *which = "the last good one";
    if (o->train.patience && report->best_epoch > o->train.start_epoch) {
        if (checkpoint_save(&job->run, job->data, job->backend, report->best_epoch, &err) !=
            CLRNN_OK)
            return cli_error("clrnn train", &err), 0;
        which = "the best by validation loss";
    }
    cli_message(message, sizeof message, why);
    if (job->run.epochs_saved)
        fprintf(stderr, "clrnn train: %s; '%s' keeps epoch %zu, %s\n", message, o->save,
                job->run.epochs_saved, which);
    else
        fprintf(stderr, "clrnn train: %s\n", message);
    return 0;
}

static int run_training(train_job *job, clrnn_train_report *report)
{
    train_options *o = job->o;
    clrnn_error err;
    if (!o->quiet) {
        if (strcmp(o->backend.device, "auto") != 0) /* auto said its choice already */
            printf("device: %s\n", clrnn_backend_describe(job->backend));
        printf("model: %zu layer(s), %zu parameters\n", clrnn_model_n_layers(job->model),
               clrnn_model_n_params(job->model));
        stateful_plan plan;
        if (o->train.stateful && stateful_plan_make(&plan, job->data, CLRNN_SPLIT_TRAIN,
                                                    o->train.batch, NULL) == CLRNN_OK) {
            printf("stateful: %zu back-to-back training windows of %zu rows in %zu streams; "
                   "h carried from batch to batch, 0 at a series' start and each epoch\n",
                   plan.n_windows, clrnn_dataset_seq_len(job->data), plan.streams);
            stateful_plan_free(&plan);
        }
        if (o->resume)
            printf("resume: %s after epoch %zu (step %ld)\n", o->resume,
                   clrnn_checkpoint_epoch(job->resumed), clrnn_checkpoint_step(job->resumed));
    }
    job->run.epoch_start = clock_seconds();
    interrupted = 0;
    o->train.cancel = &interrupted;
    void (*previous)(int) = signal(SIGINT, on_interrupt);
    clrnn_status st = clrnn_train(job->backend, job->data, &o->train, report, &err);
    signal(SIGINT, previous);
    if (job->run.progress)
        fprintf(stderr, "\r\033[K");
    if (st == CLRNN_E_CANCELLED) {
        job->interrupted = 1;
        return report_interrupt(job, report);
    }
    if (st == CLRNN_E_NUMERIC && o->plot) { /* the epochs done, and why it stopped */
        char message[600], note[700];
        cli_message(message, sizeof message, &err);
        snprintf(note, sizeof note, "training stopped: %s", message);
        train_write_plot(job, report, note); /* a failure has said so; the error stands */
    }
    if (st == CLRNN_E_NUMERIC && o->save)
        return keep_after_divergence(job, report, &err);
    if (st != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    /* After an early stop the backend holds the best epoch's state. */
    if (o->save &&
        checkpoint_save(&job->run, job->data, job->backend, report->best_epoch, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    printf("trained %zu epochs in %.2f s (%.0f windows/s)%s\n",
           report->epochs_run - o->train.start_epoch, report->seconds, report->windows_per_second,
           report->stopped_early ? ", stopped early" : "");
    if (report->best_epoch != report->epochs_run)
        printf("kept the weights of epoch %zu (best validation loss %.6g)\n", report->best_epoch,
               report->best_val_loss);
    return 1;
}

/* ------------------------------------------------- under mpirun */

/* Ranks past 0 print nothing and write no file; without --device each rank
 * takes its node's GPU number local rank (modulo the GPUs), where there are
 * GPUs, else the automatic choice (each rank its own context on it). */
static void dist_setup(train_options *o)
{
    static char spec[64];
    if (cli_dist_size() == 1)
        return;
    if (cli_dist_rank() != 0) {
        o->quiet = 1;
        o->save = o->plot = o->log_csv = o->log_json = NULL;
    }
    if (!cli_given(&o->args, "--device") &&
        clrnn__gpu_spec((size_t)cli_dist_local_rank(), spec, sizeof spec) > 0)
        o->backend.device = spec;
}

static uint64_t fnv1a(const char *text)
{
    uint64_t h = 1469598103934665603u;
    for (; *text; text++)
        h = (h ^ (unsigned char)*text) * 1099511628211u;
    return h;
}

/* One process's bits need every rank to run the same model, batches and
 * updates on the same kind of device, kernels and precision. */
static int dist_same_run(const train_job *job)
{
    if (cli_dist_size() == 1)
        return 1;
    const train_options *o = job->o;
    const clrnn_train_config *t = &o->train;
    const clrnn_optimizer *opt = &t->optimizer;
    char text[1024];
    snprintf(text, sizeof text, "%s|%zu|%zu|%zu|%zu|%u|%d|%zu|%zu|%d|%a|%a|%a|%a|%a|%a|%a|%d|%zu",
             clrnn_backend_describe(job->backend), clrnn_model_n_params(job->model), t->batch,
             clrnn_dataset_seq_len(job->data),
             clrnn_dataset_n_windows(job->data, CLRNN_SPLIT_TRAIN), (unsigned)t->seed, t->shuffle,
             t->epochs, t->start_epoch, (int)opt->kind, opt->lr, opt->momentum, opt->beta1,
             opt->beta2, opt->eps, opt->weight_decay, opt->clip_norm, (int)t->schedule,
             t->patience);
    int differs = cli_dist_differs(fnv1a(text));
    if (differs < 0)
        return 1;
    if (cli_dist_rank() == 0)
        fprintf(stderr,
                "clrnn train: rank %d runs another device or other options than rank 0 (%s); "
                "under mpirun every rank trains the same run on the same kind of device\n",
                differs, clrnn_backend_describe(job->backend));
    return 0;
}

/* Rank 0's line per rank: where a step's time went (exchange.h). */
static void dist_report(const train_job *job)
{
    clrnn_exchange *x = cli_dist_exchange();
    if (!x)
        return;
    double steps = x->batches ? (double)x->batches : 1.0;
    double mine[6] = {x->seconds_compute, x->seconds_recv,        x->seconds_send,
                      x->seconds_bcast,   (double)x->bytes_moved, (double)x->batches};
    double *all = malloc((size_t)x->size * 6 * sizeof *all);
    if (!all)
        return;
    cli_dist_gather(mine, all, 6);
    for (int r = 0; cli_dist_rank() == 0 && !job->o->quiet && r < x->size; r++) {
        const double *v = all + 6 * r;
        steps = v[5] > 0 ? v[5] : 1.0;
        printf("rank %d: a step %.3f ms own work, %.3f ms receiving the sums, %.3f ms sending "
               "them, %.3f ms the total's broadcast; %.0f bytes a step\n",
               r, 1e3 * v[0] / steps, 1e3 * v[1] / steps, 1e3 * v[2] / steps, 1e3 * v[3] / steps,
               v[4] / steps);
    }
    free(all);
}

int cli_train(int argc, char **argv)
{
    train_options o;
    cli_status st = train_parse(&o, argc, argv);
    /* One model's batches shared between ranks (a sweep's models, each
     * trained by one rank alone, may be stateful). */
    if (st == CLI_OK && o.train.stateful && cli_dist_size() > 1) {
        if (cli_dist_rank() == 0)
            fprintf(stderr, "clrnn train: --stateful runs in one process: its streams carry state "
                            "from batch to batch, which mpirun's ranks do not share\n");
        st = CLI_BAD_INPUT;
    }
    if (!cli_dist_agree(st == CLI_OK || st == CLI_HELP_SHOWN))
        return st == CLI_OK || st == CLI_HELP_SHOWN ? CLI_BAD_INPUT : st;
    if (st != CLI_OK)
        return st;
    dist_setup(&o);
    train_job job;
    memset(&job, 0, sizeof job);
    job.o = &o;
    clrnn_train_report report;
    /* Where a rank may fail before training, every rank learns it: none is
     * left waiting for it in the first batch. */
    int ok = cli_dist_agree(prepare(&job) && start_run(&job)) && dist_same_run(&job);
    if (ok)
        clrnn__backend_set_exchange(job.backend, cli_dist_exchange());
    ok = ok && run_training(&job, &report);
    if (ok)
        dist_report(&job);
    ok = ok && (cli_dist_rank() != 0 || train_report_test(&job)) &&
         (!o.plot || train_write_plot(&job, &report, NULL));
    ok = train_close_logs(&job.run) && ok; /* a run that stopped keeps its log too */
    if (ok && o.save)
        printf("model: %s\n", o.save);
    int was_interrupted = job.interrupted;
    job_free(&job);
    return ok ? CLI_OK : was_interrupted ? CLI_INTERRUPTED : CLI_BAD_INPUT;
}
