/* libFuzzer harness: the model file. Each input is loaded twice: as it is
 * (the envelope checks: magic, version, size, CRC) and resealed, its size
 * field and CRC made right, so that mutations reach the field decoder. A
 * model that loads must save, reload to the same bits, export as .npz, and
 * run one forward pass on the CPU reference. */
#include <math.h>
#include <stdint.h>

#include "clrnn.h"
#include "fuzz_util.h"
#include "io/crc32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A loaded model: save, reload (same parameters to the bit), export, and a
 * forward pass over one window of zeros. */
static void exercise(const clrnn_checkpoint *c)
{
    char saved[256], npz[256];
    clrnn_checkpoint *again;
    clrnn_error err;
    fuzz_path(saved, "saved.clrnn");
    fuzz_path(npz, "w.npz");
    const clrnn_model *model = clrnn_checkpoint_model(c);
    size_t P = clrnn_model_n_params(model);
    if (clrnn_checkpoint_save(c, saved, &err) != CLRNN_OK)
        abort(); /* what loads must save */
    if (clrnn_checkpoint_load(&again, saved, &err) != CLRNN_OK ||
        memcmp(clrnn_model_params_const(clrnn_checkpoint_model(again)),
               clrnn_model_params_const(model), P * sizeof(double)) != 0)
        abort();
    clrnn_checkpoint_free(again);
    if (clrnn_checkpoint_export_npz(c, npz, &err) != CLRNN_OK)
        abort();
    /* the model's inputs and outputs: date features and horizons make more
     * of them than the file has feature and target columns */
    size_t F = clrnn_model_layer(model, 0).n_in;
    size_t K = clrnn_model_layer(model, clrnn_model_n_layers(model) - 1).n_out;
    size_t T = clrnn_checkpoint_seq_len(c);
    if (P > 100000 || T > 64)
        return; /* the forward pass of a huge model proves nothing more */
    clrnn_backend_config bc = {.device = "cpu",
                               .seq_len = T,
                               .max_batch = 1,
                               .loss_steps = clrnn_checkpoint_loss_steps(c)};
    clrnn_backend *b = NULL;
    double *x = calloc(T * F + 1, sizeof *x), *y = calloc(T * K + 1, sizeof *y);
    uint32_t start = 0;
    if (x && y && clrnn_backend_create(&b, model, &bc, &err) == CLRNN_OK &&
        clrnn_backend_stage(b, x, y, T, &err) == CLRNN_OK)
        clrnn_backend_forward(b, &start, 1, &err);
    clrnn_backend_free(b);
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    clrnn_checkpoint *c;
    clrnn_error err;
    fuzz_write(path, "model.clrnn", data, size);
    if (clrnn_checkpoint_load(&c, path, &err) == CLRNN_OK) {
        exercise(c);
        clrnn_checkpoint_free(c);
    }
    if (size < 24)
        return 0;
    unsigned char *sealed = malloc(size);
    if (!sealed)
        return 0;
    memcpy(sealed, data, size);
    put_le(sealed + 12, size, 8);
    put_le(sealed + size - 4, crc32_update(0, sealed, size - 4), 4);
    fuzz_write(path, "sealed.clrnn", sealed, size);
    free(sealed);
    if (clrnn_checkpoint_load(&c, path, &err) == CLRNN_OK) {
        exercise(c);
        clrnn_checkpoint_free(c);
    }
    return 0;
}
