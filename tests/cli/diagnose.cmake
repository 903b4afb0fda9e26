# tests/cli/diagnose.cmake — `cmasim diagnose` (issue 11), included from tests/CMakeLists.txt.
# Ground truth: each real recording's dmesg, stripped to what a field log has, diagnosed alone,
# against its trace (tests/cli/diagnose_groundtruth.py: one finding per printed failure line,
# the cause the trace's state gives; no-window where the kernel prints no show_areas).
set(DG_C $<TARGET_FILE:cmasim>)
set(DG_E ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh)
find_package(Python3 COMPONENTS Interpreter REQUIRED)
# With --with-trace the whole recording is diagnosed: every failed allocation of the trace,
# printed or not (≤6.14 too-large, rate-limited lines), with the cause the trace's state gives.
foreach(rec smoke-6.1 smoke-6.12 busy-6.1 busy-6.12 legacy-6.1-cma1G legacy-6.12-cma1G rand-6.1-cma64M rand-6.12-cma48M
            regress-6.12-nowarn-failure-order exhaust-6.12-cma16M toolarge-6.12-cma16M toolarge-6.12-cma16M-insmod32M
            rand-7.3-cma48M toolarge-7.3-cma16M numa-6.1-cma32M-pernuma16M numa-7.3-cma32M-numa_cma1-16M)
  add_test(NAME cli.diagnose.groundtruth-${rec}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py ${DG_C} ${D}/recorded/${rec})
  add_test(NAME cli.diagnose.groundtruth-with-trace-${rec}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py --with-trace ${DG_C}
                   ${D}/recorded/${rec})
endforeach()
# A real 6.12 recording kept by the CI (tests/data/field/nowarn-6.12-cma48M/README.md): its first
# failure printed nothing (nowarn) and shifted the pairing of every failure line after it.
foreach(mode "" --with-trace)
  add_test(NAME cli.diagnose.groundtruth${mode}-field-nowarn-6.12
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py ${mode} ${DG_C}
                   ${D}/field/nowarn-6.12-cma48M)
endforeach()
foreach(t frag_run1 smoke busy seed_cma1G)
  add_test(NAME cli.diagnose.groundtruth-traces-${t}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py ${DG_C} ${D}/traces/${t})
  add_test(NAME cli.diagnose.groundtruth-with-trace-traces-${t}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/diagnose_groundtruth.py --with-trace ${DG_C}
                   ${D}/traces/${t})
endforeach()
# The too-large requests of a real 6.12 trace (no failure line on ≤6.14) are named as such.
add_test(NAME cli.diagnose.too-large-from-trace
         COMMAND sh ${DG_E} 3 "^too-large: area reserved, 5000 pages, -12 \\(ENOMEM\\), at 4\\.862 s$"
                 ${DG_C} diagnose ${D}/recorded/toolarge-6.12-cma16M-insmod32M)
add_test(NAME cli.diagnose.too-large-from-trace-says-why
         COMMAND sh ${DG_E} 3 "prints no failure line for it: only the trace's cma_alloc_start, with no cma_alloc_finish"
                 ${DG_C} diagnose ${D}/recorded/toolarge-6.12-cma16M-insmod32M)
add_test(NAME cli.diagnose.trace-counts
         COMMAND sh ${DG_E} 3 "trace events too: 5 failed allocations, 3 of them with no failure line"
                 ${DG_C} diagnose ${D}/recorded/toolarge-6.12-cma16M-insmod32M)
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
# hugetlb_cma= rejected at boot, on real boots (tests/data/boot/hugetlb/: Debian 6.1, 6.12, 7.3
# under QEMU): 7.x wants a multiple of 1 GiB, 6.1/6.12 at least 1 GiB; a too-large area fails
# with cma_declare_contiguous_nid's line and hugetlb's, one finding.
set(DG_H ${D}/boot/hugetlb)
add_test(NAME cli.diagnose.hugetlb-multiple-7.3
         COMMAND sh ${DG_E} 3 "^reservation-failed \\(alignment\\): area hugetlb, "
                 ${DG_C} diagnose ${DG_H}/7.3-3G-hugetlb512M.excerpt.txt)
add_test(NAME cli.diagnose.hugetlb-at-least-6.1
         COMMAND sh ${DG_E} 3 "^reservation-failed \\(limit\\): area hugetlb, "
                 ${DG_C} diagnose ${DG_H}/6.1-3G-hugetlb512M.excerpt.txt)
add_test(NAME cli.diagnose.hugetlb-too-large-6.12
         COMMAND sh ${DG_E} 3 "^reservation-failed \\(too-large\\): area hugetlb0, "
                 ${DG_C} diagnose ${DG_H}/6.12-3G-hugetlb2G.excerpt.txt)
add_test(NAME cli.diagnose.hugetlb-too-large-6.12-one-finding
         COMMAND sh -c "test \"$(${DG_C} diagnose ${DG_H}/6.12-3G-hugetlb2G.excerpt.txt | grep -c '^reservation-failed')\" = 1")
# 6.1's hugetlb area cannot hold a 1 GiB page (base 0xbf800000 is not 1 GiB aligned): too-large
# from the trace (those allocations are __GFP_NOWARN: no failure line).
add_test(NAME cli.diagnose.hugetlb-gigantic-never-fits-6.1
         COMMAND sh ${DG_E} 3 "^too-large: area hugetlb0, 262144 pages"
                 ${DG_C} diagnose ${D}/recorded/huge-6.1-cma32M-hugetlb1G)
# A 7.3 dmesg with mm/cma.c's pr_debug lines (no trace): its 17 failed allocations (counted from
# the recording's trace) are found once each — 10 reported by a failure line (rate-limited),
# 7 from the pr_debug lines alone — not the 10 twice.
add_test(NAME cli.diagnose.pr-debug-failures-counted-once-7.3
         COMMAND ${Python3_EXECUTABLE} -c "import json,subprocess,sys; r=subprocess.run([sys.argv[1],'diagnose','--json',sys.argv[2]],capture_output=True,text=True); j=json.loads(r.stdout); n=sum(f['occurrences'] for f in j['findings'] if f['cause'] in ('fragmented','exhausted','too-large','no-window','busy')); print(n, j['trace']); sys.exit(0 if r.returncode==3 and n==17 and j['trace']=={'failed':17,'unreported':7} else 1)"
                 ${DG_C} ${D}/recorded/rand-7.3-cma48M/dmesg.txt)
