# tests/cli/replay.cmake — CLI regression tests (included from tests/CMakeLists.txt when the CLI is built).
# D: tests/data, X: tests/cli/expect-exit.sh (expect-exit.sh CODE CMD...).
set(R $<TARGET_FILE:cmasim>)
set(C ${CMAKE_CURRENT_SOURCE_DIR}/cli)
# #1: an area no kernel could have is refused (exit 2), nothing proportional to it allocated.
add_test(NAME cli.replay.reserved-4294967295MiB-exits-2 COMMAND sh -c
  "printf '[    0.000000] cma: Reserved 4294967295 MiB at 0x0000000040000000\\n' | ${R} replay - > out.txt; test $? -eq 2 && grep -q 'kmalloc' out.txt")
# #2, #3: --area is validated as the kernel validates an area.
foreach(bad "size=-1" "size=4294967296M" "size=16777216G" "size=4097" "size=17179869185G" "size=0"
            "size=32M,order_per_bit=4294967296" "size=32M,order_per_bit=20" "size=32M,base=0x1000" "size=32M,speed=1")
  string(MAKE_C_IDENTIFIER "${bad}" id)
  add_test(NAME cli.replay.area-${id}-exits-2 COMMAND sh ${X} 2 ${R} replay --area base=0x7cc00000,${bad} ${D}/traces/smoke/trace.txt)
endforeach()
add_test(NAME cli.replay.area-unaligned-base-exits-2 COMMAND sh ${X} 2 ${R} replay --area base=0x7cc00123,size=32M ${D}/traces/smoke/trace.txt)
add_test(NAME cli.replay.area-negative-base-exits-2 COMMAND sh ${X} 2 ${R} replay --area base=-1,size=32M ${D}/traces/smoke/trace.txt)
add_test(NAME cli.replay.area-valid COMMAND sh ${X} 0 ${R} replay --area base=0x76c00000,size=128M,order_per_bit=0 --kernel 6.1 ${D}/traces/smoke/trace.txt)
# #4: a FIFO is read once; a divergence's context comes from what was read (no hang).
add_test(NAME cli.replay.fifo-divergence-context COMMAND bash -c
  "timeout 20 ${R} replay <(cat ${C}/tampered-smoke.trace) <(cat ${D}/traces/smoke/dmesg.txt) > out.txt; rc=$?; test $rc -eq 1 && grep -q '>     21 |' out.txt")
# #5: operations and no area; a failed write; trace.txt that is a directory.
add_test(NAME cli.replay.no-area-exits-2 COMMAND sh ${X} 2 ${R} replay ${D}/traces/smoke/trace.txt)
add_test(NAME cli.replay.full-disk-exits-2 COMMAND sh -c "${R} replay ${D}/traces/frag_run1 > /dev/full; test $? -eq 2")
add_test(NAME cli.replay.json-full-disk-exits-2 COMMAND sh -c "${R} replay --json ${D}/traces/frag_run1 > /dev/full; test $? -eq 2")
add_test(NAME cli.replay.trace-txt-directory-exits-2 COMMAND sh -c "mkdir -p dirtrace/trace.txt && ${R} replay dirtrace; test $? -eq 2")
# #9: control bytes from the input are escaped on the terminal (context lines, banner).
add_test(NAME cli.replay.escapes-control-bytes COMMAND sh -c
  "${R} replay ${C}/escape-smoke.trace ${D}/traces/smoke/dmesg.txt > out.txt; test $? -eq 1 && grep -q 'x1b' out.txt && ! grep -q \"$(printf '\\033')\" out.txt")
# #12: --strict names the lines; --context must be sensible.
add_test(NAME cli.replay.strict-names-lines COMMAND sh -c
  "${R} replay --strict ${D}/field-notes-4.15.md > /dev/null 2> err.txt; test $? -eq 2 && grep -q 'field-notes-4.15.md:[0-9]' err.txt")
add_test(NAME cli.replay.negative-context-exits-2 COMMAND sh ${X} 2 ${R} replay --context -1 ${D}/traces/smoke)
add_test(NAME cli.replay.kernel-6..1-exits-2 COMMAND sh ${X} 2 ${R} replay --kernel 6..1 ${D}/traces/smoke)
# -v and --json give the same records as before the spool (frag_run1: 177 operations).
add_test(NAME cli.replay.verbose-lists-every-operation COMMAND sh -c
  "test $(${R} replay -v ${D}/traces/frag_run1 | grep -c '^  matched ') -eq 177")
add_test(NAME cli.replay.json-ops-complete COMMAND sh -c
  "${R} replay --json ${D}/traces/frag_run1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"ops\"])==d[\"summary\"][\"ops\"]==177 and d[\"first_divergence\"] is None, d[\"summary\"]'")
find_package(Python3 COMPONENTS Interpreter REQUIRED)
# Several areas: every operation of the default and the hugetlb area of real 6.1 / 6.12 / 7.3
# boots (`cma=32M hugetlb_cma=1G`), counted from the trace by tests/cli/areas-check.py.
# Per-node areas (2-node boots, the module's device on node 1): pernuma1 on 6.1, numa1 on 7.3,
# each falling back to the default area when it fails, every operation of both matched.
foreach(rec huge-6.1-cma32M-hugetlb1G huge-6.12-cma32M-hugetlb1G huge-7.3-cma32M-hugetlb1G
            numa-6.1-cma32M-pernuma16M numa-7.3-cma32M-numa_cma1-16M numa-7.3-cma32M-auto)
  add_test(NAME cli.replay.areas-${rec}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/areas-check.py $<TARGET_FILE:cmasim> ${D}/recorded/${rec})
endforeach()
# --area more than once (issue 14): huge-6.1's trace.txt alone (no boot lines) with its two
# areas as its dmesg.txt's Reserved lines give them (32 MiB at 0xba800000, 1024 MiB at
# 0xbf800000 for hugetlb0, order_per_bit 9): every traced operation (cma_alloc_finish and
# cma_release, counted here with grep) of both areas matched, as with the dmesg.
set(H61 ${D}/recorded/huge-6.1-cma32M-hugetlb1G)
set(A61 --area name=reserved,base=0xba800000,size=32M --area name=hugetlb0,base=0xbf800000,size=1G,order_per_bit=9)
string(REPLACE ";" " " A61s "${A61}")
add_test(NAME cli.replay.two-areas-huge-6.1-trace-alone COMMAND sh -c
  "grep -q 'Reserved 32 MiB at 0x00000000ba800000' ${H61}/dmesg.txt && grep -q 'Reserved 1024 MiB at 0x00000000bf800000' ${H61}/dmesg.txt || exit 1
   n=$(grep -cE ': (cma_alloc_finish|cma_release): name=' ${H61}/trace.txt); r=$(grep -cE ': (cma_alloc_finish|cma_release): name=reserved ' ${H61}/trace.txt); h=$(grep -cE ': (cma_alloc_finish|cma_release): name=hugetlb0 ' ${H61}/trace.txt)
   ${R} replay --strict --kernel 6.1 ${A61s} ${H61}/trace.txt > out.txt || { cat out.txt; exit 1; }
   grep -q \"^operations: $n seen, $n matched, 0 diverged, 0 inferred, 0 unchecked\" out.txt &&
   grep -q \"^  reserved: $r operations, $r matched\" out.txt && grep -q \"^  hugetlb0: $h operations, $h matched\" out.txt &&
   grep -q '^area hugetlb0: base_pfn 0xbf800, 262144 pages (1024 MiB), order_per_bit 9, from --area' out.txt || { cat out.txt; exit 1; }")
# Two --area with one name (no name= is name=reserved), or sharing a page: exit 2, naming both.
add_test(NAME cli.replay.area-twice-same-name-exits-2 COMMAND sh -c
  "${R} replay --kernel 6.1 --area base=0xba800000,size=32M --area name=reserved,base=0xbf800000,size=1G ${H61}/trace.txt > out.txt 2> err.txt; test $? -eq 2 &&
   grep -q \"area 'base=0xba800000,size=32M' and --area 'name=reserved,base=0xbf800000,size=1G' both name the area 'reserved'\" err.txt && test ! -s out.txt")
add_test(NAME cli.replay.areas-overlap-exits-2 COMMAND sh -c
  "${R} replay --kernel 6.1 --area name=reserved,base=0xba800000,size=32M --area name=hugetlb0,base=0xbc000000,size=1G ${H61}/trace.txt > out.txt 2> err.txt; test $? -eq 2 &&
   grep -q \"area 'name=reserved,base=0xba800000,size=32M' (bytes 0xba800000–0xbc7fffff) and --area 'name=hugetlb0,base=0xbc000000,size=1G' (bytes 0xbc000000–0xfbffffff) overlap\" err.txt")
# 6.15+ show_areas over four lines, checked range by range (issue 14): rand-7.3-cma48M's 13
# dumps (counted here) all pass; one run length edited in a copy of its dmesg.txt fails.
set(R73 ${D}/recorded/rand-7.3-cma48M)
add_test(NAME cli.replay.show-areas-7.3-checked COMMAND sh -c
  "n=$(grep -cE '^\\[ *[0-9.]+\\] => [0-9]+ free of [0-9]+ total pages$' ${R73}/dmesg.txt); test $n -eq 13 || exit 1
   ${R} replay --strict --json ${R73} | python3 -c 'import json,sys; d=json.load(sys.stdin); c=[x for x in d[\"checks\"] if x[\"what\"]==\"show_areas\"]; assert len(c)=='$n' and all(x[\"ok\"] for x in c), c; assert d[\"summary\"][\"checks_failed\"]==0'")
add_test(NAME cli.replay.show-areas-7.3-edited-run-exits-1 COMMAND sh -c
  "mkdir -p edited73 && cp ${R73}/trace.txt edited73/ && sed '0,/cma: range 0: +5@35+4@44+1@63+43@85+/s//cma: range 0: +5@35+4@44+1@63+44@85+/' ${R73}/dmesg.txt > edited73/dmesg.txt &&
   ! cmp -s ${R73}/dmesg.txt edited73/dmesg.txt || exit 1
   ${R} replay edited73 > out.txt; test $? -eq 1 && grep -q 'state checks: .* 1 failed' out.txt &&
   grep -q 'check failed: show_areas at edited73/dmesg.txt:2299: .*(range 0, run 4: kernel 44@85, model 43@85)' out.txt")
# A device-tree pool in a log as users paste it (issue 14 + LOGS-IN-THE-WILD: journalctl's
# "Mon DD HH:MM:SS host kernel: " instead of the stamp): tests/data/field/dt's dmesg alone,
# every operation matched on the area linux,cma (the trace's operations, counted with grep).
set(DT ${D}/field/dt)
add_test(NAME cli.replay.dt-pool-journalctl COMMAND sh -c
  "sed -E 's/^\\[ *[0-9]+\\.[0-9]+\\] /Dec 07 12:00:00 rpi4 kernel: /' ${DT}/rand-6.1-linux-cma.dmesg.txt > journal.txt &&
   grep -q '^Dec 07 12:00:00 rpi4 kernel: Reserved memory: created CMA memory pool at 0x000000007ac00000, size 64 MiB$' journal.txt || exit 1
   n=$(grep -cE ': (cma_alloc_finish|cma_release): name=' ${DT}/rand-6.1-linux-cma.trace.txt)
   ${R} replay --strict journal.txt > out.txt || { cat out.txt; exit 1; }
   grep -q \"^operations: $n seen, $n matched, 0 diverged\" out.txt && grep -q '^area linux,cma: base_pfn 0x7ac00, 16384 pages' out.txt || { cat out.txt; exit 1; }")
# The same recording replayed: every operation matched, every failure line paired with the
# failure it was printed during (none with the nowarn failure at trace.txt:122).
set(NW ${D}/field/nowarn-6.12-cma48M)
add_test(NAME cli.replay.field-nowarn-6.12 COMMAND sh -c
  "${R} replay --strict --json ${NW} > out.json && python3 - ${NW}/dmesg.txt out.json <<'PY'
import json, sys
dmesg = open(sys.argv[1]).read().splitlines()
d = json.load(open(sys.argv[2]))
fails = [o for o in d['ops'] if o['kind'] == 'alloc' and not o['observed']['ok']]
first = [o for o in fails if o['where']['line'] == 122 and o['where']['file'].endswith('trace.txt')]
assert len(first) == 1 and first[0]['count'] == 4096, first
# what reported it is its pr_debug call line, never a failure line (it printed none)
rep = first[0].get('also_reported')
assert rep is None or 'alloc failed' not in dmesg[rep['line'] - 1], rep
assert d['summary']['checks_failed'] == 0 and d['summary']['diverged'] == 0, d['summary']
PY")
# Debian's 6.12 has no CONFIG_DMA_NUMA_CMA: its boot says `Unknown kernel command line parameters
# "cma_pernuma=16M numa_cma=1:8M"` and lists them among init's environment; the replay reads
# every such line and says why there is no per-node area.
add_test(NAME cli.replay.numa-6.12-unknown-params-noted COMMAND sh -c
  "${R} replay --strict ${D}/recorded/numa-6.12-cma32M-ignored > out.txt || { cat out.txt; exit 1; }
   grep -q '^note: the kernel did not know cma_pernuma=16M numa_cma=1:8M: the code behind it is not built in' out.txt &&
   grep -q '^lines: [0-9]* read, [0-9]* about CMA, 0 not understood' out.txt || { cat out.txt; exit 1; }")
# 50,000 `cma: Reserved` lines (more than any kernel's MAX_CMA_AREAS): each used to rename all
# the areas before it (102 s, and an area each); the 64 first are kept, the rest counted.
add_test(NAME cli.replay.many-reserved-lines-bounded COMMAND sh -c
  "${Python3_EXECUTABLE} -c \"print('[0.0] Linux version 6.1.0-57-arm64 (x)'); [print('[0.0] cma: Reserved 16 MiB at 0x%016x' % (0x40000000 + i * 0x1000000)) for i in range(50000)]\" > many.log &&
   timeout 60 ${R} replay many.log > out.txt; grep -q '^note: 49936 .cma: Reserved. line(s) after the 64th ignored' out.txt || { tail -5 out.txt; exit 1; }
   timeout 60 ${R} diagnose many.log > diag.txt; test $? -le 3 || exit 1")
# With several areas each failed allocation says whose it is (numa-7.3: 35 on numa1, 3 on reserved).
add_test(NAME cli.replay.failures-name-their-area COMMAND sh -c
  "${R} replay ${D}/recorded/numa-7.3-cma32M-numa_cma1-16M > out.txt || { cat out.txt; exit 1; }
   test $(grep -cE '^  [^ ]+trace.txt:[0-9]+ numa1: [0-9]+ pages align' out.txt) -eq 35 &&
   test $(grep -cE '^  [^ ]+trace.txt:[0-9]+ reserved: [0-9]+ pages align' out.txt) -eq 3 || { grep -A3 'failed allocations' out.txt; exit 1; }")
