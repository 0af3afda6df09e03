# Data parallel training under mpirun (CLRNN_MPI): bitwise equal to one
# process for 1-3 ranks on the CPU reference and on PoCL (each rank its own
# context), resuming across rank counts, and failures that stop every rank;
# sweeps dealt out over 1-3 ranks, every file as one process's.
if(CLRNN_MPI)
  set(MPI_TEST ${CMAKE_CURRENT_LIST_DIR}/mpi_test.sh)
  function(clrnn_mpi_test name)
    add_test(NAME mpi_${name} COMMAND ${MPI_TEST} ${ARGN})
    set_tests_properties(mpi_${name} PROPERTIES LABELS mpi TIMEOUT 120 SKIP_RETURN_CODE 77)
  endfunction()
  set(CLRNN_MPI_RUN $<TARGET_FILE:clrnn> ${MPIEXEC_EXECUTABLE})
  # 4 chunks at 1, 2 and 3 ranks (3 does not divide them), 1 chunk at 3
  # (ranks without windows); PoCL the fused kernels (its default here) and
  # the tile kernels on two layers.
  clrnn_mpi_test(train_cpu train ${CLRNN_MPI_RUN} 100@1:2:3,32@3 --device cpu)
  clrnn_mpi_test(train_pocl train ${CLRNN_MPI_RUN} 100@2:3,32@3 --device opencl)
  clrnn_mpi_test(train_pocl_tile_layers train ${CLRNN_MPI_RUN} 100@3 --device opencl
                 --kernels tile --layers 3:8:4,4:5:1 --loss-on last)
  # The gpu kernels (grad_gpu's groups of GCW windows write each chunk's
  # sums) on two layers, 4 chunks at 2 and 3 ranks, 1 chunk at 3.
  clrnn_mpi_test(train_pocl_gpu_layers train ${CLRNN_MPI_RUN} 100@2:3,32@3 --device opencl
                 --kernels gpu --layers 3:8:4,4:5:1)
  clrnn_mpi_test(resume_cpu resume ${CLRNN_MPI_RUN} --device cpu)
  clrnn_mpi_test(resume_pocl resume ${CLRNN_MPI_RUN} --device opencl)
  clrnn_mpi_test(failures fail ${CLRNN_MPI_RUN})
  # Distributed sweeps: models dealt out over the ranks, one table (issue 15).
  clrnn_mpi_test(sweep_cpu sweep ${CLRNN_MPI_RUN} ${FIX}/cli_small.csv --device cpu)
  clrnn_mpi_test(sweep_pocl sweep ${CLRNN_MPI_RUN} ${FIX}/cli_small.csv --device opencl)
  clrnn_mpi_test(sweep_failures sweep_fail ${CLRNN_MPI_RUN} ${FIX}/cli_small.csv)
  # Each family's shared batches (its kernels stopping at the chunks' sums,
  # the fold and the spread of kernels/common/share.cl) under Oclgrind's
  # race and memory checks, at 2 ranks with a chunk and a part each.
  foreach(family fused tile group gpu)
    add_test(NAME mpi_oclgrind_${family}
             COMMAND ${MPIEXEC_EXECUTABLE} --oversubscribe --quiet -np 2
                     ${PROJECT_SOURCE_DIR}/tests/opencl/oclgrind_check.sh $<TARGET_FILE:clrnn>
                     train --data ${FIX}/cli_small.csv --features a,b --target y --seq-len 3
                     --hidden 4 --batch 40 --epochs 1 --device opencl --kernels ${family} --quiet)
    set_tests_properties(mpi_oclgrind_${family} PROPERTIES LABELS oclgrind TIMEOUT 300
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl=self,vader")
  endforeach()
endif()
# --stateful carries state from batch to batch in one process: refused
# under mpirun in one line from rank 0 (exit 2).
if(CLRNN_MPI)
  add_test(NAME mpi_stateful_refused
           COMMAND ${EXPECT} 2 "^clrnn train: --stateful runs in one process"
                   ${MPIEXEC_EXECUTABLE} --oversubscribe --quiet -np 2 $<TARGET_FILE:clrnn> train
                   --data ${FIX}/cli_small.csv --features a,b --target y --stateful --batch 2
                   --epochs 1 --device cpu --quiet)
  set_tests_properties(mpi_stateful_refused PROPERTIES LABELS mpi TIMEOUT 120
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl=self,vader")
endif()
