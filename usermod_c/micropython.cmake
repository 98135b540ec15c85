# CMake-based ports (rp2, esp32): USER_C_MODULES=<repo>/usermod_c/micropython.cmake
# core_sources.txt has the architecture paths' .S files (each assembles to
# nothing off its own path, tml_arch.h), hence the ASM language.
enable_language(ASM)
add_library(usermod_tinyml INTERFACE)

file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/core_sources.txt TINYML_CORE_SOURCES)
# A source added to the list re-runs CMake's configure, which alone reads it:
# without this an existing build folder links without the new file.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/core_sources.txt)
list(TRANSFORM TINYML_CORE_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/)

target_sources(usermod_tinyml INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modtinyml.c
    ${CMAKE_CURRENT_LIST_DIR}/modtinyml_audio.c
    ${TINYML_CORE_SOURCES}
)
target_include_directories(usermod_tinyml INTERFACE ${CMAKE_CURRENT_LIST_DIR})
# TINYML_TERSE_ERRORS=1 (CMake variable or environment, read when a build
# folder is configured) leaves out the loader's sentences, ~10 KB of flash.
if(TINYML_TERSE_ERRORS OR "$ENV{TINYML_TERSE_ERRORS}" STREQUAL "1")
    target_compile_definitions(usermod_tinyml INTERFACE TML_TERSE_ERRORS)
endif()
# TINYML_OPS_HEADER=<file from `tinyml inspect MODEL --ops-header FILE`>
# (CMake variable or environment): only the ops its models use.
if(NOT TINYML_OPS_HEADER AND DEFINED ENV{TINYML_OPS_HEADER})
    set(TINYML_OPS_HEADER "$ENV{TINYML_OPS_HEADER}")
endif()
if(TINYML_OPS_HEADER)
    get_filename_component(TINYML_OPS_HEADER_ABS "${TINYML_OPS_HEADER}" ABSOLUTE)
    target_compile_definitions(usermod_tinyml INTERFACE TML_OPS_SUBSET="${TINYML_OPS_HEADER_ABS}")
endif()
target_link_libraries(usermod INTERFACE usermod_tinyml)

# The matrix kernels at -O2 rather than the port's -Os, except on the
# RP2040 (Cortex-M0+), where -Os is smaller and faster (see micropython.mk).
if(NOT PICO_PLATFORM STREQUAL "rp2040")
    set_source_files_properties(
        ${CMAKE_CURRENT_LIST_DIR}/tml_conv.c
        ${CMAKE_CURRENT_LIST_DIR}/tml_fc.c
        PROPERTIES COMPILE_OPTIONS "-O2"
    )
endif()
