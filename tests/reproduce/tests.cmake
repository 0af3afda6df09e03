# The reference notebook's two runs, reproduced on the CPU reference.
clrnn_add_test(test_reproduce LABEL repro CLI SOURCES reproduce/test_reproduce.c ARGS cpu)
