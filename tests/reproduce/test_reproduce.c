/*
 * `reproduce toy` and `reproduce weather` against the numbers the notebook
 * printed (../shared/reference/rnn_notebook.txt), to 1e-9 relative.
 * Usage: test_reproduce cpu|opencl (opencl runs in fp64).
 * The toy run's final outputs were printed by numpy with 8 decimals, so they
 * are compared to the printed rounding (|d| <= 5e-9 absolute, ~1e-10 relative).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "reproduce.h"

static const double toy_losses[10] = {641.4295974443879, 582.2808127930862, 2.278011331045261,
                                      2.356390502453872, 2.244332611170712, 2.2603650494965044,
                                      2.242822600390181, 2.252173115395604, 2.236721500567034,
                                      2.2464579462336025};
static const double toy_final[2][10] = {
    {52.86525189, 52.93442906, 52.93389858, 52.9336197, 52.93332997, 52.93295864, 52.93248346,
     52.93188872, 52.93113802, 52.93017165},
    {52.85779326, 52.92445304, 52.92346299, 52.92434006, 52.9245707, 52.92409876, 52.92292779,
     52.92115118, 52.9185935, 52.91504262}};

/* Epoch 0 of the weather run: its loss and the three gradient norms. */
static const double weather_epoch0[4] = {59.36530548954579, 9.23545522609929, 0.1513727467003833,
                                         28.82272775042941};

static int device_missing(const clrnn_error *err)
{
    return err->status == CLRNN_E_UNSUPPORTED;
}

static void toy(const char *device)
{
    reproduce_options o;
    reproduce_toy_defaults(&o);
    o.device = device;
    o.out = tmpfile();
    clrnn_error err;
    if (reproduce_toy(&o, &err) != CLRNN_OK) {
        check_true(0, err.message);
        return;
    }
    rewind(o.out);
    char line[4096];
    size_t n_loss = 0, n_arrays = 0;
    double worst_loss = 0.0, worst_final = 0.0;
    while (fgets(line, sizeof line, o.out)) {
        int which;
        double v;
        if (sscanf(line, "Loss %d: %lf", &which, &v) == 2 && n_loss < 10) {
            double r = rel_diff(v, toy_losses[n_loss++]);
            worst_loss = r > worst_loss ? r : worst_loss;
        } else if (line[0] == '[' && n_arrays < 4) {
            if (n_arrays % 2 == 0) { /* predictions; odd lines are the targets */
                char *p = line + 1;
                for (int i = 0; i < 10; i++) {
                    double d = fabs(strtod(p, &p) - toy_final[n_arrays / 2][i]);
                    worst_final = d > worst_final ? d : worst_final;
                }
            }
            n_arrays++;
        }
    }
    fclose(o.out);
    char what[128];
    snprintf(what, sizeof what, "toy %s: %zu printed losses, worst relative difference", device,
             n_loss);
    check(n_loss == 10 && worst_loss <= 1e-9, what, worst_loss, 1e-9);
    snprintf(what, sizeof what, "toy %s: final outputs vs numpy's 8 decimals (abs)", device);
    check(n_arrays == 4 && worst_final <= 5e-9, what, worst_final, 5e-9);
}

static void weather(const char *device)
{
    reproduce_options o;
    reproduce_weather_defaults(&o);
    o.device = device;
    o.data = CLRNN_DATA_DIR "/clean_weather.csv";
    o.epochs = 2;
    o.out = tmpfile();
    clrnn_error err;
    if (reproduce_weather(&o, &err) != CLRNN_OK) {
        check_true(0, err.message);
        return;
    }
    rewind(o.out);
    char line[4096];
    double got[4] = {NAN, NAN, NAN, NAN};
    int have_loss = 0, have_norms = 0;
    while (fgets(line, sizeof line, o.out)) {
        if (!have_loss && sscanf(line, "Epoch loss 0: %lf", &got[0]) == 1)
            have_loss = 1;
        else if (!have_norms &&
                 sscanf(line, "dInput weights: %lf, dhidden weights: %lf, doutput weights: %lf",
                        &got[1], &got[2], &got[3]) == 3)
            have_norms = 1;
    }
    fclose(o.out);
    static const char *const names[4] = {"epoch loss 0", "||dW_i||", "||dW_h||", "||dW_o||"};
    for (int i = 0; i < 4; i++) {
        char what[128];
        double r = rel_diff(got[i], weather_epoch0[i]);
        snprintf(what, sizeof what, "weather %s: %s = %.17g", device, names[i], got[i]);
        check(have_loss && have_norms && r <= 1e-9, what, r, 1e-9);
    }
}

int main(int argc, char **argv)
{
    const char *device = argc > 1 ? argv[1] : "cpu";
    if (strcmp(device, "cpu") != 0) {
        /* Is there an OpenCL device with fp64? Skip only outside CI. */
        reproduce_options probe;
        reproduce_toy_defaults(&probe);
        probe.device = device;
        probe.epochs = 0;
        probe.out = tmpfile();
        clrnn_error err;
        clrnn_status st = reproduce_toy(&probe, &err);
        fclose(probe.out);
        if (st != CLRNN_OK && device_missing(&err)) {
            printf("no OpenCL fp64 device: %s\n", err.message);
            return getenv("CI") ? 1 : 77;
        }
    }
    toy(device);
    weather(device);
    return check_summary();
}
