# Warnings are errors on the project's own targets (never imposed on consumers).
function(strata_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
  target_link_libraries(${target} PRIVATE strata::core)
endfunction()
