# Test helpers. Every test executable is GoogleTest, registered with CTest under a label:
#   unit     fast, single process        mpi      under mpirun -np N
#   e2e      drives the ember CLI        interop  checked by Python readers (transformers, h5py, ...)
find_package(GTest REQUIRED)
include(GoogleTest)

# ember_add_gtest(NAME name SOURCES ... LIBS ... [LABEL unit])
# One executable per tests/ folder; each GoogleTest case becomes a CTest test.
function(ember_add_gtest)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  if(NOT T_SOURCES)
    return()  # a folder whose tests are not written yet
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main ember_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    EMBER_SOURCE_DIR="${CMAKE_SOURCE_DIR}" EMBER_BINARY_DIR="${CMAKE_BINARY_DIR}")
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${T_NAME} PROPERTIES LABELS ${T_LABEL} DISCOVERY_TIMEOUT 60
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endfunction()

# ember_add_mpi_test(NAME name TARGET exe NP n [ARGS ...])
# Runs a GoogleTest executable under mpirun; the test passes when every rank passes.
function(ember_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TARGET;NP;TIMEOUT" "ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME}
    COMMAND ${EMBER_MPIEXEC} --oversubscribe --bind-to none -np ${T_NP} $<TARGET_FILE:${T_TARGET}> ${T_ARGS}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${T_NAME} PROPERTIES LABELS mpi TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
endfunction()

# ember_add_script_test(NAME name LABEL label COMMAND cmd args... [TIMEOUT s])
# A test run by a script (bash or the venv's Python). The environment names the binary and the
# interpreter: EMBER_BIN (build/bin/ember), EMBER_PYTHON, EMBER_SOURCE_DIR, EMBER_BINARY_DIR,
# EMBER_TEST_TMP (a scratch directory unique to the test).
function(ember_add_script_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(scratch ${CMAKE_BINARY_DIR}/test-scratch/${T_NAME})
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "EMBER_BIN=${CMAKE_BINARY_DIR}/bin/ember;EMBER_PYTHON=${EMBER_PYTHON};EMBER_SOURCE_DIR=${CMAKE_SOURCE_DIR};EMBER_BINARY_DIR=${CMAKE_BINARY_DIR};EMBER_TEST_TMP=${scratch};OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;PYTHONDONTWRITEBYTECODE=1")
endfunction()
