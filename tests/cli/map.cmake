# tests/cli/map.cmake — `cmasim map` (issue 13), included from tests/CMakeLists.txt.
# map-check.py: the SVG is well-formed XML (xmllint --noout, and python's parser) with both panels and one class="failure" per failed
# allocation in the trace; map-browser.sh: a real browser (chromium-headless-shell) renders it;
# map-scale.sh: a generated 1,000,000-operation trace in under 5 s, the SVG under 5 MB.
set(MAP_C $<TARGET_FILE:cmasim>)
set(MAP_W ${CMAKE_CURRENT_BINARY_DIR}/map-work)
find_package(Python3 COMPONENTS Interpreter REQUIRED)
file(MAKE_DIRECTORY ${MAP_W})
add_test(NAME cli.map.recorded-rand-6.12-cma48M
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-check.py ${MAP_C} ${D}/recorded/rand-6.12-cma48M
                 ${MAP_W}/rand-6.12-cma48M.svg)
add_test(NAME cli.map.traces-frag_run1
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-check.py ${MAP_C} ${D}/traces/frag_run1
                 ${MAP_W}/frag_run1.svg --check-spans)
add_test(NAME cli.map.trace-file-with-plan
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-check.py ${MAP_C} ${D}/recorded/rand-6.12-cma48M
                 ${MAP_W}/rand-plan.svg --plan ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-plan.json)
# A field log: no operations, the kernel's failure lines only.
add_test(NAME cli.map.field-log-failures
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-check.py ${MAP_C} ${D}/field/exhaust-6.12-cma16M.dmesg-only.txt
                 ${MAP_W}/field-exhaust.svg)
# An `emulate` folder (trace.txt + dmesg.txt, as `record` writes).
add_test(NAME cli.map.emulate-folder
         COMMAND sh -c "\"$1\" emulate --kernel 6.18 --cmdline cma=64M --workload \"$2\" --out \"$3/emu-6.18\" && \"$4\" \"$5\" \"$1\" \"$3/emu-6.18\" \"$3/emu-6.18.svg\""
                 map-emulate ${MAP_C} ${D}/workloads/rand-seed42-800-busy.txt ${MAP_W} ${Python3_EXECUTABLE}
                 ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-check.py)
# Exit 2: a missing input, a plan that is not one, no area, an output that cannot be written.
add_test(NAME cli.map.missing-file-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "cmasim map: /nonexistent/trace.txt: cannot open"
                 ${MAP_C} map /nonexistent/trace.txt -o ${MAP_W}/missing.svg)
add_test(NAME cli.map.bad-plan-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "not JSON"
                 ${MAP_C} map ${D}/traces/frag_run1 -o ${MAP_W}/bad-plan.svg --plan ${D}/traces/frag_run1/dmesg.txt)
add_test(NAME cli.map.no-area-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "no CMA area"
                 ${MAP_C} map ${D}/traces/frag_run1/trace.txt -o ${MAP_W}/no-area.svg)
add_test(NAME cli.map.unwritable-output-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "cannot write"
                 ${MAP_C} map ${D}/traces/frag_run1 -o /nonexistent-dir/map.svg)
add_test(NAME cli.map.no-output-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "nothing to write"
                 ${MAP_C} map ${D}/traces/frag_run1)
add_test(NAME cli.map.html-unwritable-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "cannot write"
                 ${MAP_C} map ${D}/traces/frag_run1 --html /nonexistent-dir/report.html)
# map-browser.sh: the SVG, then the HTML report (--html, with the plan) in chromium-headless-shell:
# the DOM's failure rows and markers against the trace (map-html-check.py), a 1400x900
# screenshot that is not blank, kept as map-work/report.png.
add_test(NAME cli.map.browser
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-browser.sh ${MAP_C} ${D}/recorded/rand-6.12-cma48M ${MAP_W}
                 ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-plan.json)
set_tests_properties(cli.map.browser PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME cli.map.scale-1M-ops COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-scale.sh ${MAP_C} ${MAP_W})
set_tests_properties(cli.map.scale-1M-ops PROPERTIES TIMEOUT 900 LABELS scale)
# --area draws another area than the default one: numa-6.1's pernuma1 (324 operations, 37 failed
# in its own trace lines); an unknown name exits 2 naming the input's areas.
add_test(NAME cli.map.area-pernuma1
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/map-check.py ${MAP_C} ${D}/recorded/numa-6.1-cma32M-pernuma16M
                 ${MAP_W}/numa-6.1-pernuma1.svg --area pernuma1)
add_test(NAME cli.map.area-unknown-exits-2
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh 2 "cmasim map: --area numa7: no such area in the input \\(its areas: reserved, pernuma0, pernuma1\\)"
                 ${MAP_C} map ${D}/recorded/numa-6.1-cma32M-pernuma16M -o ${MAP_W}/numa-unknown.svg --area numa7)
