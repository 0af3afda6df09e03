# The core and the CPU reference: random numbers, gradients, optimizers.
clrnn_add_test(test_rng LABEL unit SOURCES core/test_rng.c)
clrnn_add_test(test_gradcheck LABEL unit SOURCES core/test_gradcheck.c)
# The optimizer settings a checkpoint carries (schedules, clipping, Adam's
# bias correction), checked on the CPU reference.
clrnn_add_test(test_optimizer LABEL unit SOURCES core/test_optimizer.c)
# clrnn_forecast: the last window's prediction, with or without the
# target columns (targets_optional).
clrnn_add_test(test_forecast LABEL unit SOURCES core/test_forecast.c)
# Model groups: each model of a group bitwise as itself alone (the CPU
# reference here; each OpenCL family in opencl/tests.cmake).
clrnn_add_test(test_group LABEL unit SOURCES core/test_group.c)
# Carried hidden state (--stateful) on the CPU reference: the training plan,
# one stream of windows == one long window (bitwise), stateful training of
# one whole-series window == full BPTT (bitwise), the model file.
clrnn_add_test(test_stateful LABEL unit SOURCES core/test_stateful.c)
# Input attributions of the CPU reference against central differences of
# the model's own predictions.
clrnn_add_test(test_input_gradients_fd LABEL unit SOURCES core/test_input_gradients_fd.c)
