# CMake-based ports (rp2, esp32): USER_C_MODULES=<repo>/usermod_c/micropython.cmake
add_library(usermod_tinyml INTERFACE)

file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/core_sources.txt TINYML_CORE_SOURCES)
list(TRANSFORM TINYML_CORE_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/)

target_sources(usermod_tinyml INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modtinyml.c
    ${TINYML_CORE_SOURCES}
)
target_include_directories(usermod_tinyml INTERFACE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(usermod INTERFACE usermod_tinyml)
