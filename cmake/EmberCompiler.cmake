# Compiler settings shared by every target: warnings, ccache, sanitizers.
if(EMBER_USE_CCACHE)
  find_program(CCACHE_PROGRAM ccache)
  if(CCACHE_PROGRAM)
    set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  endif()
endif()

add_library(ember_warnings INTERFACE)
target_compile_options(ember_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)

if(EMBER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Link only the shared libraries a binary really uses, so that nothing pulls libcuda.so.1 into
# DT_NEEDED (the binary must start on machines without a GPU driver).
add_link_options(LINKER:--as-needed)

# ember_add_library(NAME name PUBLIC_LIBS ... PRIVATE_LIBS ...)
# One static library per top-level folder from every .cpp under it (an interface target while
# the folder has no sources yet, so dependants link it either way).
function(ember_add_library)
  cmake_parse_arguments(L "" "NAME" "PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(${L_NAME} STATIC ${sources})
    target_include_directories(${L_NAME} PUBLIC ${CMAKE_SOURCE_DIR})
    target_link_libraries(${L_NAME} PUBLIC ${L_PUBLIC_LIBS} PRIVATE ember_warnings ${L_PRIVATE_LIBS})
  else()
    add_library(${L_NAME} INTERFACE)
    target_link_libraries(${L_NAME} INTERFACE ${L_PUBLIC_LIBS})
  endif()
endfunction()
