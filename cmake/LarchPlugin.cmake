# larch_add_plugin(<name> SOURCES ...): a MODULE library <name>.so that exports only the entry
# symbol, links the SDK statically and refuses undefined symbols (-z defs).
function(larch_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${LARCH_PLUGIN_BUILD_DIR})
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE larch::sdk ${P_LIBS})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR}
    LINK_DEPENDS ${LARCH_PLUGIN_EXPORTS_MAP})
  target_link_options(${name} PRIVATE -Wl,-z,defs -Wl,--version-script=${LARCH_PLUGIN_EXPORTS_MAP})
endfunction()
set(LARCH_PLUGIN_EXPORTS_MAP ${CMAKE_CURRENT_LIST_DIR}/plugin-exports.map CACHE INTERNAL "")
