# The installed library (label install): for a shared build, that
# libclrnn exports exactly the public API.
if(BUILD_SHARED_LIBS)
  add_test(NAME shared_exports_only_api
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_exports.sh $<TARGET_FILE:clrnn_lib>
                   ${CMAKE_NM} ${CMAKE_C_COMPILER} ${PROJECT_SOURCE_DIR}/include
                   ${CLRNN_GENERATED_INCLUDE})
  set_tests_properties(shared_exports_only_api PROPERTIES LABELS install)
endif()
