# tests/cli/model.cmake — CLI regression tests (included from tests/CMakeLists.txt when the CLI is built).
# D: tests/data, X: tests/cli/expect-exit.sh (expect-exit.sh CODE CMD...).

# Issue 10 #10, a release of count 2^64 - 1 (pfn + count wraps past 2^64): the fast store
# used to clamp it and the reference to wrap it, and the replay called it matched.  Now
# both stores clamp alike; 6.1 (cma_pages_valid checks the pfn only) clears to the area's
# end, and the pages past the allocation were free, so the replay reports a divergence;
# 6.15 (count > cma->count) rejects it.  The same log with count=32 matches (exit 0).
set(_huge_release_log "printf '%s\\n' '[    0.000000] Linux version 6.1.0-56-arm64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.158-1 (2025-11-01)' '[    0.000000] cma: Reserved 64 MiB at 0x0000000076c00000' '            init-1       [000] .....     0.265202: cma_alloc_start: name=reserved count=32 align=5' '            init-1       [000] .....     0.265210: cma_alloc_finish: name=reserved pfn=0x76c00 page=00000000ed9cd6a3 count=32 align=5' '            init-1       [000] .....     0.265260: cma_release: name=reserved pfn=0x76c00 page=00000000ed9cd6a3 count=18446744073709551615'")
add_test(NAME cli.model.release-count-max-diverges-6.1 COMMAND sh -c
         "${_huge_release_log} > cli-model-huge-release.log && sh ${X} 1 $<TARGET_FILE:cmasim> replay cli-model-huge-release.log")
add_test(NAME cli.model.release-count-max-diverges-6.15 COMMAND sh -c
         "${_huge_release_log} > cli-model-huge-release-615.log && sh ${X} 1 $<TARGET_FILE:cmasim> replay --kernel 6.15 cli-model-huge-release-615.log")
add_test(NAME cli.model.release-count-32-matches COMMAND sh -c
         "${_huge_release_log} | sed 's/count=18446744073709551615/count=32/' > cli-model-release-32.log && sh ${X} 0 $<TARGET_FILE:cmasim> replay cli-model-release-32.log")

# Issue 10 #10, align=64: the kernel cannot print it meaningfully (1UL << 64), so the
# parsers accept align 0..63 and the line is not understood: --strict makes that exit 2.
add_test(NAME cli.model.align-64-not-understood-strict-exits-2 COMMAND sh ${X} 2 $<TARGET_FILE:cmasim> replay --strict
         --kernel 6.1 --area name=reserved,base=0x76c00000,size=64M ${CMAKE_CURRENT_SOURCE_DIR}/../fuzz/corpus/ftrace/regress-align-64)
