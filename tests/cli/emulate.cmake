# tests/cli/emulate.cmake — `cmasim emulate` (issue 12), included from tests/CMakeLists.txt.
# D: tests/data, X: tests/cli/expect-exit.sh (expect-exit.sh CODE CMD...).
# emulate-compare.sh emulates a real recording's workload (its kernel, -m and command line) and
# checks that `cmasim replay --strict` matches every operation of the emulated folder and that
# its `cma_test: v1` dmesg lines are the real ones (timestamps and page-allocator pfns aside).
set(EMU_C $<TARGET_FILE:cmasim>)
set(EMU_CMP ${CMAKE_CURRENT_SOURCE_DIR}/cli/emulate-compare.sh)
set(EMU_E ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh)

# Every recording: 6.1, 6.12 and 7.3, the two-area (hugetlb_cma=) ones included.
foreach(rec smoke-6.1 smoke-6.12 busy-6.1 busy-6.12 legacy-6.1-cma1G legacy-6.12-cma1G rand-6.1-cma64M rand-6.12-cma48M
            regress-6.12-nowarn-failure-order exhaust-6.12-cma16M toolarge-6.12-cma16M toolarge-6.12-cma16M-insmod32M
            rand-7.3-cma48M toolarge-7.3-cma16M
            huge-6.1-cma32M-hugetlb1G huge-6.12-cma32M-hugetlb1G huge-7.3-cma32M-hugetlb1G)
  add_test(NAME cli.emulate.recorded-${rec} COMMAND sh ${EMU_CMP} ${EMU_C} ${D}/recorded/${rec})
endforeach()

# Bad input: exit 2 with the reason.
add_test(NAME cli.emulate.bad-workload-line-exits-2
         COMMAND sh ${EMU_E} 2 "emulate-bad.workload:2: control byte 0x01; expected a device command"
                 ${EMU_C} emulate --kernel 6.1 --mem 1G --cmdline cma=64M
                 --workload ${CMAKE_CURRENT_SOURCE_DIR}/cli/emulate-bad.workload --out ${CMAKE_CURRENT_BINARY_DIR}/emulate-bad-out)
add_test(NAME cli.emulate.huge-step-without-hugetlb-cma-exits-2
         COMMAND sh ${EMU_E} 2 "huge.txt:12: 'huge 32M 4': the emulation models gigantic pages .* on the hugetlb area only; expected hugetlb_cma= on the command line"
                 ${EMU_C} emulate --kernel 6.12 --mem 3G --cmdline cma=32M
                 --workload ${D}/workloads/huge.txt --out ${CMAKE_CURRENT_BINARY_DIR}/emulate-huge-nohugetlb-out)
add_test(NAME cli.emulate.missing-workload-exits-2
         COMMAND sh ${EMU_E} 2 "cmasim emulate: --workload /nonexistent/workload.txt: cannot open: No such file"
                 ${EMU_C} emulate --kernel 6.1 --mem 1G --cmdline cma=64M
                 --workload /nonexistent/workload.txt --out ${CMAKE_CURRENT_BINARY_DIR}/emulate-missing-out)
add_test(NAME cli.emulate.unsupported-kernel-exits-2
         COMMAND sh ${EMU_E} 2 "cmasim emulate: --kernel '5.4': not a kernel series the emulation models"
                 ${EMU_C} emulate --kernel 5.4 --mem 1G --cmdline cma=64M
                 --workload ${D}/recorded/smoke-6.1/workload.txt --out ${CMAKE_CURRENT_BINARY_DIR}/emulate-54-out)
add_test(NAME cli.emulate.unwritable-out-exits-2
         COMMAND sh ${EMU_E} 2 "cmasim emulate: --out /dev/null/out: "
                 ${EMU_C} emulate --kernel 6.1 --mem 1G --cmdline cma=64M
                 --workload ${D}/recorded/smoke-6.1/workload.txt --out /dev/null/out)
add_test(NAME cli.emulate.full-disk-exits-2
         COMMAND sh ${EMU_E} 2 "cmasim emulate: cannot write the output: No space left on device"
                 sh -c "${EMU_C} emulate --kernel 6.12 --mem 1G --cmdline cma=64M --workload ${D}/recorded/smoke-6.12/workload.txt --out ${CMAKE_CURRENT_BINARY_DIR}/emulate-full-out >/dev/full")
