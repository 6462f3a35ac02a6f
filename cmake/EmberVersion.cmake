# Writes ${CMAKE_BINARY_DIR}/generated/ember_version.cpp at every build with the current git
# revision, rewriting it only when it changed so that an unchanged tree does not relink.
set(EMBER_VERSION_CPP ${CMAKE_BINARY_DIR}/generated/ember_version.cpp)
add_custom_target(ember_version_file
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUT=${EMBER_VERSION_CPP}
          -DVERSION=${PROJECT_VERSION} -P ${CMAKE_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${EMBER_VERSION_CPP}
  COMMENT "Ember version stamp")
