# Writes the ctest entries of the unit and integration tests: one entry per
# gtest suite (and per backend of a suite on both backends), not one per
# test. Each test process makes the CA hierarchy of tests/testing.cc once
# (RSA keys), which costs more than most tests do; a process per suite makes
# it once per suite. A failing test is still named in the entry's output,
# and `llavero_tests --gtest_filter=Suite.Test` runs one alone. An entry
# in which gtest skipped a test is reported skipped, not passed.
#
# Run after each link of llavero_tests (tests/CMakeLists.txt):
#   cmake -DTEST_BINARY=… -DOUTPUT=… -DPG_URL=… -P gtest_suites.cmake
cmake_minimum_required(VERSION 3.20)
execute_process(COMMAND "${TEST_BINARY}" --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${TEST_BINARY} --gtest_list_tests falló (${status})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(entries "")
set(suite "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z0-9_/]+)\\.")
    set(suite "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^  ([A-Za-z0-9_]+)(/([A-Za-z0-9_]+))?")
    set(test "${CMAKE_MATCH_1}")
    set(param "${CMAKE_MATCH_3}")  # the backend of a suite on both
    if(suite STREQUAL "" OR test MATCHES "^DISABLED_" OR suite MATCHES "^DISABLED_")
      continue()
    endif()
    if(NOT param STREQUAL "")
      set(entry "${suite}/${param}")
      set(filter "${suite}.*/${param}")
    else()
      set(entry "${suite}")
      set(filter "${suite}.*")
    endif()
    if(NOT entry IN_LIST entries)
      list(APPEND entries "${entry}")
      set(filter_${entry} "${filter}")
    endif()
  endif()
endforeach()
if(entries STREQUAL "")
  message(FATAL_ERROR "${TEST_BINARY} no listó ninguna prueba")
endif()

set(out "# Written by tests/gtest_suites.cmake; do not edit.\n")
foreach(entry IN LISTS entries)
  string(APPEND out "add_test([=[${entry}]=] [==[${TEST_BINARY}]==] [==[--gtest_filter=${filter_${entry}}]==])\n"
                    "set_tests_properties([=[${entry}]=] PROPERTIES TIMEOUT 900 FIXTURES_REQUIRED postgres "
                    "SKIP_REGULAR_EXPRESSION [==[\\[  SKIPPED \\]]==] "
                    "ENVIRONMENT [==[LLAVERO_TEST_POSTGRES=${PG_URL}]==])\n")
endforeach()
file(WRITE "${OUTPUT}.new" "${out}")
file(RENAME "${OUTPUT}.new" "${OUTPUT}")
