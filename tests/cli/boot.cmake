# tests/cli/boot.cmake — CLI regression tests (included from tests/CMakeLists.txt when the CLI is built).
# D: tests/data, X: tests/cli/expect-exit.sh (expect-exit.sh CODE CMD...).
# E: tests/cli/boot-expect.sh CODE REGEX CMD... (the exit code and a line of the output).
set(E ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh)
set(C $<TARGET_FILE:cmasim>)

# issue 10 #2: a directory as --memblock threw std::ios_failure (terminate, exit 134).
add_test(NAME cli.boot.memblock-directory-exits-2
         COMMAND sh ${E} 2 "cmasim boot: --memblock ${D}: is a directory" ${C} boot --memblock ${D})
add_test(NAME cli.boot.memblock-missing-exits-2
         COMMAND sh ${E} 2 "cmasim boot: --memblock /nonexistent/boot.log: cannot open" ${C} boot --memblock /nonexistent/boot.log)

# issue 10 #2: any exception escaping a subcommand is "cmasim: <reason>", exit 2 — here
# std::bad_alloc from a workload that cannot fit an address-space limit (was exit 134).
# Not under ASan, which needs far more address space than the limit to start.
if(NOT CMASIM_SANITIZE)
  add_test(NAME cli.main.bad-alloc-exits-2
           COMMAND sh ${E} 2 "^cmasim: out of memory" sh -c "ulimit -v 300000; exec ${C} workload --seed 1 --ops 10000000 >/dev/null")
endif()

# issue 10 #5: a failed write of the output (full disk) exited 0.
add_test(NAME cli.boot.full-disk-exits-2
         COMMAND sh ${E} 2 "cmasim boot: cannot write the output: No space left on device"
                 sh -c "${C} boot --mem 1G --cmdline 'cma=64M' >/dev/full")
add_test(NAME cli.boot.full-disk-json-exits-2
         COMMAND sh ${E} 2 "cmasim boot: cannot write the output"
                 sh -c "${C} boot --mem 1G --cmdline 'cma=64M' --json >/dev/full")
add_test(NAME cli.workload.full-disk-exits-2
         COMMAND sh ${E} 2 "cmasim workload: cannot write the output: No space left on device"
                 sh -c "${C} workload --seed 1 --ops 10 >/dev/full")
add_test(NAME cli.workload.full-disk-large-exits-2
         COMMAND sh ${E} 2 "cmasim workload: cannot write the output"
                 sh -c "${C} workload --seed 1 --ops 20000 >/dev/full")

# issue 10 #12: --seed -1 became 2^64-1; non-numeric and negative counts are refused.
add_test(NAME cli.workload.negative-seed-exits-2
         COMMAND sh ${E} 2 "--seed: expected a non-negative decimal integer, got '-1'" ${C} workload --seed -1 --ops 10)
add_test(NAME cli.workload.negative-ops-exits-2
         COMMAND sh ${E} 2 "--ops: expected a non-negative decimal integer" ${C} workload --seed 1 --ops -5)
add_test(NAME cli.workload.non-numeric-seed-exits-2
         COMMAND sh ${E} 2 "--seed: expected a non-negative decimal integer" ${C} workload --seed 12abc --ops 10)
add_test(NAME cli.workload.huge-seed-exits-2
         COMMAND sh ${X} 2 ${C} workload --seed 18446744073709551616 --ops 10)
add_test(NAME cli.workload.max-seed
         COMMAND sh ${E} 0 "^# cmasim workload --seed 18446744073709551615 --ops 3" ${C} workload --seed 18446744073709551615 --ops 3)

# issue 10 #12: --kernel 6..1 was read as 6.0; a version older than every profile is named.
add_test(NAME cli.boot.kernel-malformed-exits-2
         COMMAND sh ${E} 2 "--kernel: not a kernel version: '6..1'" ${C} boot --kernel 6..1 --mem 1G --cmdline "")
add_test(NAME cli.boot.kernel-trailing-junk-exits-2
         COMMAND sh ${X} 2 ${C} boot --kernel 6.1x --mem 1G --cmdline "")
add_test(NAME cli.boot.kernel-release-string
         COMMAND sh ${E} 0 "^kernel 6.1 arm64" ${C} boot --kernel 6.1.0-56-arm64 --mem 1G --cmdline "")
add_test(NAME cli.boot.kernel-older-than-profiles
         COMMAND sh ${E} 0 "kernel 3.10 is older than every modelled profile \\(4.15\\): the 4.15 rules are used"
                 ${C} boot --kernel 3.10 --mem 1G --cmdline "cma=64M")
add_test(NAME cli.boot.kernel-older-than-profiles-json
         COMMAND sh ${E} 0 "\"kernel 2.6 is older than every modelled profile"
                 ${C} boot --kernel 2.6 --mem 1G --cmdline "cma=64M" --json)

# issue 10 #11: --mem takes QEMU's -m syntax: a bare number is MiB (was 2048 bytes).
add_test(NAME cli.boot.mem-bare-number-is-mib
         COMMAND sh ${E} 0 "RAM 2048 MiB" ${C} boot --mem 2048 --cmdline "")
add_test(NAME cli.boot.mem-fraction
         COMMAND sh ${E} 0 "RAM 1536 MiB" ${C} boot --mem 1.5G --cmdline "")
add_test(NAME cli.boot.mem-lower-case-suffix
         COMMAND sh ${E} 0 "RAM 1024 MiB" ${C} boot --mem 1048576k --cmdline "")
add_test(NAME cli.boot.mem-hex-exits-2
         COMMAND sh ${E} 2 "--mem '0x40000000': hex is not accepted" ${C} boot --mem 0x40000000 --cmdline "")
add_test(NAME cli.boot.mem-negative-exits-2
         COMMAND sh ${E} 2 "--mem '-1': not a size" ${C} boot --mem=-1 --cmdline "")
add_test(NAME cli.boot.mem-bad-suffix-exits-2
         COMMAND sh ${E} 2 "unknown suffix 'X'" ${C} boot --mem 1X --cmdline "")
add_test(NAME cli.boot.mem-too-small-exits-2
         COMMAND sh ${E} 2 "below the qemu-virt profile's minimum of 64 MiB" ${C} boot --mem 2048B --cmdline "")

# issue 10 #11: --machine pc with an extreme --mem printed inverted ranges (overflow).
add_test(NAME cli.boot.mem-beyond-pc-exits-2
         COMMAND sh ${E} 2 "more than the pc profile can hold" ${C} boot --arch x86_64 --machine pc --mem 16777215T --cmdline "")
add_test(NAME cli.boot.mem-beyond-virt-exits-2
         COMMAND sh ${E} 2 "QEMU virt maps at most 255 GiB" ${C} boot --mem 256G --cmdline "")
add_test(NAME cli.boot.mem-u64-overflow-exits-2
         COMMAND sh ${E} 2 "--mem '99999999999999999999': too large" ${C} boot --mem 99999999999999999999 --cmdline "")

# issue 10 #11: --arch arm64 --machine pc was accepted without a word.
add_test(NAME cli.boot.arch-machine-mismatch-exits-2
         COMMAND sh ${E} 2 "machine profile pc is an x86_64 machine" ${C} boot --arch arm64 --machine pc --mem 1G --cmdline "")
add_test(NAME cli.boot.machine-with-memblock-exits-2
         COMMAND sh ${X} 2 ${C} boot --machine qemu-virt --memblock ${D}/traces/place_fixed_0x48/dmesg.txt)

# issue 10 #11: --memblock with a different --mem printed the wrong RAM: the log wins.
add_test(NAME cli.boot.memblock-ram-wins
         COMMAND sh ${E} 0 "^kernel 6.1 arm64, machine memblock log, RAM 1024 MiB"
                 ${C} boot --memblock ${D}/traces/place_fixed_0x48/dmesg.txt --mem 2G)
add_test(NAME cli.boot.memblock-ram-wins-note
         COMMAND sh ${E} 0 "the RAM size given \\(2048 MiB\\) is ignored"
                 ${C} boot --memblock ${D}/traces/place_fixed_0x48/dmesg.txt --mem 2G)

# issue 10 #11: cma=2^64-1 printed "Reserved 0 MiB": it is the kernel's "no cma=" marker,
# and a size that rounds up to 0 fails as the kernel's does.
add_test(NAME cli.boot.cma-u64-max-is-kconfig-default
         COMMAND sh ${E} 0 "^cma: Reserved 64 MiB at 0x000000007ac00000"
                 ${C} boot --kernel 6.1 --mem 1G --cmdline "cma=18446744073709551615")
add_test(NAME cli.boot.cma-rounds-to-zero-fails
         COMMAND sh ${E} 0 "^cma: Failed to reserve 0 MiB$"
                 ${C} boot --kernel 6.1 --mem 1G --cmdline "cma=18446744073709551614")

# issue 10 #11: a command line beyond COMMAND_LINE_SIZE was not truncated.
string(REPEAT "x" 2100 CMASIM_LONG_WORD)
add_test(NAME cli.boot.cmdline-truncated
         COMMAND sh ${E} 0 "the command line has 2109 characters; the kernel keeps the first 2047"
                 ${C} boot --kernel 6.1 --mem 1G --cmdline "${CMASIM_LONG_WORD} cma=128M")

# issue 14: hugetlb_cma= — every real boot of tests/data/boot/hugetlb (6.1, 6.12, 7.3 on
# QEMU virt, see its README) is predicted line for line from its -m and -append alone.
file(GLOB CMASIM_HUGETLB_BOOTS ${D}/boot/hugetlb/*.log ${D}/boot/hugetlb/*.excerpt.txt)
foreach(f ${CMASIM_HUGETLB_BOOTS})
  get_filename_component(n ${f} NAME)
  string(REGEX REPLACE "\\.(log|excerpt\\.txt)$" "" n ${n})
  add_test(NAME cli.boot.hugetlb.${n}
           COMMAND sh ${D}/boot/hugetlb/check-fixture.sh ${C} ${f})
endforeach()
# The lines and bases of both areas (real boots: 6.1-3G-cma32M-hugetlb1G.log and its 6.12/7.3 twins).
add_test(NAME cli.boot.hugetlb-6.1-area-line
         COMMAND sh ${E} 0 "^cma: Reserved 1024 MiB at 0x00000000bf800000$"
                 ${C} boot --kernel 6.1 --mem 3G --cmdline "cma=32M hugetlb_cma=1G")
add_test(NAME cli.boot.hugetlb-6.1-default-after-it
         COMMAND sh ${E} 0 "^cma: Reserved 32 MiB at 0x00000000ba800000$"
                 ${C} boot --kernel 6.1 --mem 3G --cmdline "cma=32M hugetlb_cma=1G")
add_test(NAME cli.boot.hugetlb-6.1-no-1G-page
         COMMAND sh ${E} 0 "hugetlb0: no 1024 MiB-aligned window inside the area"
                 ${C} boot --kernel 6.1 --mem 3G --cmdline "cma=32M hugetlb_cma=1G")
add_test(NAME cli.boot.hugetlb-6.12-area-line
         COMMAND sh ${E} 0 "^cma: Reserved 1024 MiB at 0x0000000080000000 on node 0$"
                 ${C} boot --kernel 6.12 --mem 3G --cmdline "cma=32M hugetlb_cma=1G")
add_test(NAME cli.boot.hugetlb-6.12-1G-page
         COMMAND sh ${E} 0 "largest order that can ever be allocated: 18 .*1 x 1024 MiB pages"
                 ${C} boot --kernel 6.12 --mem 3G --cmdline "cma=32M hugetlb_cma=1G")
add_test(NAME cli.boot.hugetlb-7.3-range-line
         COMMAND sh ${E} 0 "^cma: Reserved 1024 MiB in 1 range$"
                 ${C} boot --kernel 7.3 --mem 3G --cmdline "cma=32M hugetlb_cma=1G")
add_test(NAME cli.boot.hugetlb-7.3-multiple-of
         COMMAND sh ${E} 0 "^hugetlb_cma: cma area must be a multiple of 1024 MiB$"
                 ${C} boot --kernel 7.3 --mem 3G --cmdline "hugetlb_cma=512M")
# --json: per-area fields; expected base from the 6.12 boot, order_per_bit 9 =
# HUGETLB_PAGE_ORDER (mm/hugetlb.c 6.12), order 18 because 0x80000000 is 1 GiB aligned.
add_test(NAME cli.boot.hugetlb-json
         COMMAND sh -c "${C} boot --kernel 6.12 --mem 3G --cmdline 'cma=32M hugetlb_cma=1G' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); a={x[\"name\"]: x for x in d[\"areas\"]}; h=a[\"hugetlb0\"]; r=a[\"reserved\"]; assert (h[\"kind\"], h[\"base\"], h[\"count\"], h[\"order_per_bit\"], h[\"max_alloc_order\"], h[\"max_gigantic_pages\"]) == (\"hugetlb\", \"0x80000000\", 262144, 9, 18, 1), h; assert (r[\"base\"], r[\"order_per_bit\"]) == (\"0xfa800000\", 0), r; assert d[\"memory_cma_reserved_k\"] == 1081344, d'")
add_test(NAME cli.boot.hugetlb-bare-hangs
         COMMAND sh ${E} 0 "read through a NULL pointer.*hangs before the console"
                 ${C} boot --kernel 6.12 --mem 3G --cmdline "hugetlb_cma")
# `cmasim boot` against real boots (issue 14): every `cma: Reserved` line of the recording, in
# order, and the Memory: line's cma-reserved, from its kernel, -m, -numa nodes and command
# line (tests/cli/boot-vs-recording.sh).  The numa-* boots have 2 nodes: 6.1 reserves
# pernuma0/1 before the default area; 6.12 (Debian: no CONFIG_DMA_NUMA_CMA) ignores
# cma_pernuma=/numa_cma=; 7.3 reserves the default area first, then numa<N> (with `cma=32M`
# alone one per node of the default area's size: CONFIG_CMA_SIZE_PERNUMA).
foreach(rec numa-6.1-cma32M-pernuma16M numa-6.12-cma32M-ignored numa-7.3-cma32M-auto numa-7.3-cma32M-numa_cma1-16M
            huge-6.1-cma32M-hugetlb1G huge-6.12-cma32M-hugetlb1G huge-7.3-cma32M-hugetlb1G
            rand-6.1-cma64M rand-6.12-cma48M rand-7.3-cma48M)
  add_test(NAME cli.boot.vs-recording-${rec}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-vs-recording.sh $<TARGET_FILE:cmasim> ${D}/recorded/${rec})
endforeach()
add_test(NAME cli.boot.numa-9-exits-2 COMMAND sh ${X} 2 $<TARGET_FILE:cmasim> boot --kernel 7.3 --mem 2G --numa 9 --cmdline cma=32M)
add_test(NAME cli.boot.numa-with-pc-exits-2 COMMAND sh ${E} 2 "NUMA nodes are modelled on the qemu-virt profile only"
         $<TARGET_FILE:cmasim> boot --kernel 6.1 --arch x86_64 --mem 2G --numa 2 --cmdline cma=32M)
