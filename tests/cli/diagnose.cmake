# tests/cli/diagnose.cmake — `cmasim diagnose` (issue 11), included from tests/CMakeLists.txt.
# Ground truth: each real recording's dmesg, stripped to what a field log has, diagnosed alone,
# against its trace (tests/cli/diagnose_groundtruth.py: one finding per printed failure line,
# the cause the trace's state gives; no-window where the kernel prints no show_areas).
set(DG_C $<TARGET_FILE:cmasim>)
set(DG_E ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh)
find_package(Python3 COMPONENTS Interpreter REQUIRED)
foreach(rec smoke-6.1 smoke-6.12 busy-6.1 busy-6.12 legacy-6.1-cma1G legacy-6.12-cma1G rand-6.1-cma64M rand-6.12-cma48M
            regress-6.12-nowarn-failure-order exhaust-6.12-cma16M toolarge-6.12-cma16M)
  add_test(NAME cli.diagnose.groundtruth-${rec}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py ${DG_C} ${D}/recorded/${rec})
endforeach()
foreach(t frag_run1 smoke busy seed_cma1G)
  add_test(NAME cli.diagnose.groundtruth-traces-${t}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py ${DG_C} ${D}/traces/${t})
endforeach()
# Exit codes: 0 no failure, 3 failures, 2 unreadable input.
add_test(NAME cli.diagnose.no-failure-exits-0 COMMAND sh ${X} 0 ${DG_C} diagnose ${D}/recorded/smoke-6.12/dmesg.txt)
add_test(NAME cli.diagnose.failures-exit-3 COMMAND sh ${X} 3 ${DG_C} diagnose ${D}/recorded/exhaust-6.12-cma16M/dmesg.txt)
add_test(NAME cli.diagnose.missing-file-exits-2
         COMMAND sh ${DG_E} 2 "cmasim diagnose: /nonexistent/dmesg.log: cannot open" ${DG_C} diagnose /nonexistent/dmesg.log)
# Reservations, from real boots that failed to reserve (tests/data/traces/place_*).
add_test(NAME cli.diagnose.reservation-too-large
         COMMAND sh ${DG_E} 3 "reservation-failed [(]too-large[)]" ${DG_C} diagnose ${D}/traces/place_toobig/dmesg.txt)
add_test(NAME cli.diagnose.reservation-overlap-boot-model
         COMMAND sh ${DG_E} 3 "cma=64M is accepted on this machine [(]boot model[)]" ${DG_C} diagnose ${D}/traces/place_fixed_0x48/dmesg.txt)
# Compressed input: gzip, xz, zstd by magic bytes; truncated/corrupt exit 2.
add_test(NAME cli.diagnose.compressed
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose-compressed.sh ${DG_C} ${D}/recorded/rand-6.12-cma48M/dmesg.txt)
# replay of a field log: the failures with their causes, the occupancy unknown.
add_test(NAME cli.replay.field-log-failures
         COMMAND sh ${DG_E} 0 "occupancy: unknown" ${DG_C} replay ${D}/field/exhaust-6.12-cma16M.dmesg-only.txt)
# The header names the rules' series and the release the banner printed.
add_test(NAME cli.diagnose.kernel-rules-and-release
         COMMAND sh ${DG_E} 3 "^kernel 6.12 rules [(]6.12.118[+]deb12-arm64[)];"
                 ${DG_C} diagnose ${D}/field/exhaust-6.12-cma16M.dmesg-only.txt)
