# Finds every dependency and exposes it as an imported target. All come from Debian 12 packages;
# scripts/install-deps.sh installs what is missing. DESIGN.md section 8 explains each quirk.

find_package(Threads REQUIRED)

# CAF 0.17.6 ships neither a CMake config nor a pkg-config file: declare imported targets by hand.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(caf::core SHARED IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(caf::io SHARED IMPORTED)
set_target_properties(caf::io PROPERTIES
  IMPORTED_LOCATION ${CAF_IO_LIBRARY}
  INTERFACE_LINK_LIBRARIES caf::core)

# Cap'n Proto: the config needs pkg-config and the C language (see project()).
find_package(CapnProto CONFIG REQUIRED)

find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)

# civetweb comes with prometheus-cpp-dev, whose CMake config already declares civetweb::civetweb-cpp.
# We run our own CivetServer for /metrics, /status and /health (DESIGN.md 7).
if(NOT TARGET civetweb::civetweb-cpp)
  find_package(civetweb CONFIG REQUIRED)
endif()
