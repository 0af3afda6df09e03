# Models on disk: the checkpoint format, the .npz export, resuming.
# The format: round trips, every truncation and flipped byte, fields that
# disagree, sizes the file cannot hold.
clrnn_add_test(test_checkpoint LABEL unit SOURCES io/test_checkpoint.c)
# The .npz export, parsed independently of the library.
clrnn_add_test(test_npz LABEL unit SOURCES io/test_npz.c)
# Resume (bitwise), capture and restore, early stopping and divergence.
clrnn_add_test(test_resume LABEL unit SOURCES io/test_resume.c)
# numpy reads the export and the documented format; skipped without numpy.
add_test(NAME npz_numpy COMMAND ${CMAKE_CURRENT_LIST_DIR}/npz_numpy_test.sh
         $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv)
set_tests_properties(npz_numpy PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# The one file path: bounded reads, atomic streamed writes, dirname.
clrnn_add_test(test_files LABEL unit SOURCES io/test_files.c)
# scripts/clrnn_model.py (numpy only) against clrnn predict and export, on
# a new model and on the version 1 fixture; skipped without numpy.
add_test(NAME clrnn_model_py COMMAND ${CMAKE_CURRENT_LIST_DIR}/clrnn_model_test.sh
         $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv ${FIX})
set_tests_properties(clrnn_model_py PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
