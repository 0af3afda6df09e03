# The data path: CSV reader, missing values, scaler, split and windows.
clrnn_add_test(test_data LABEL unit SOURCES data/test_data.c)
clrnn_add_test(test_framing LABEL unit SOURCES data/test_framing.c)
clrnn_add_test(test_series LABEL unit SOURCES data/test_series.c)
