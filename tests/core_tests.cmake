# The CPU reference and the notebook reproduction.
clrnn_add_test(test_rng LABEL unit SOURCES test_rng.c)
clrnn_add_test(test_gradcheck LABEL unit SOURCES test_gradcheck.c)
clrnn_add_test(test_reproduce LABEL repro SOURCES test_reproduce.c ARGS cpu)
# The same run on OpenCL in fp64 (issue: reproduce toy --device opencl).
add_test(NAME test_reproduce_opencl COMMAND test_reproduce opencl)
set_tests_properties(test_reproduce_opencl PROPERTIES LABELS "repro;parity" SKIP_RETURN_CODE 77)
