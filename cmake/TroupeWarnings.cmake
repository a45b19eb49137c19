# troupe_strict(target): the strictest warnings, as errors, for our own code only.
# Third-party headers (CAF, Cap'n Proto, Boost) are included as system headers by their imported targets
# or via SYSTEM, so their warnings do not fail our build.
function(troupe_strict target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
    -Wno-missing-field-initializers)
endfunction()

# troupe_library(NAME SOURCES ... [DEPS ...]): a static library of ours with strict warnings, rooted at
# the repository so includes read "runtime/wire/frame.hpp".
function(troupe_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  troupe_strict(${name})
endfunction()
