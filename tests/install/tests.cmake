# The installed library (label install): what a program outside this tree
# gets from cmake --install, through find_package(clrnn) and pkg-config;
# and that libclrnn, shared or static, defines exactly the public API as
# global symbols.

# Not under the sanitizers: the example would need their runtime too.
if(NOT CLRNN_SANITIZE)
  add_test(NAME install_example
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install_test.sh ${PROJECT_BINARY_DIR}
                   ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/install_example
                   ${FIX}/cli_small.csv ${CMAKE_COMMAND})
  set_tests_properties(install_example PROPERTIES LABELS install TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
if(CLRNN_EXPORTS_ONLY_API)
  add_test(NAME exports_only_api
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_exports.sh $<TARGET_FILE:clrnn_lib>
                   ${CMAKE_NM} ${CMAKE_C_COMPILER} ${PROJECT_SOURCE_DIR}/include
                   ${CLRNN_GENERATED_INCLUDE})
  set_tests_properties(exports_only_api PROPERTIES LABELS install)
endif()
