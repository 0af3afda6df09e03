# The baselines (naive, seasonal naive, ridge) on tables with known answers.
clrnn_add_test(test_baseline LABEL unit SOURCES baseline/test_baseline.c)
