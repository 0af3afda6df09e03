# The CPU reference and the notebook reproduction.
clrnn_add_test(test_rng LABEL unit SOURCES test_rng.c)
clrnn_add_test(test_gradcheck LABEL unit SOURCES test_gradcheck.c)
clrnn_add_test(test_reproduce LABEL repro SOURCES test_reproduce.c ARGS cpu)
