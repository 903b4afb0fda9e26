# tests/cli/plan.cmake — `cmasim plan` (issue 13).
# D: tests/data; boot-expect.sh CODE REGEX CMD… checks the exit code and a line of the output.
set(P $<TARGET_FILE:cmasim>)
set(BE ${CMAKE_CURRENT_SOURCE_DIR}/cli/boot-expect.sh)
# exit 0: some size serves every request; the smallest is named (frag_run1: 72M, from a run).
add_test(NAME cli.plan.frag_run1-smallest-exits-0 COMMAND sh ${BE} 0 "^  6\\.1: 72M$"
  ${P} plan ${D}/traces/frag_run1 --sizes 32M..96M/4M --jobs 2)
# exit 3: no size serves everything; the original size reproduces the kernel's 10 failures.
add_test(NAME cli.plan.frag_run1-none-serves-exits-3 COMMAND sh ${BE} 3 "^6\\.1 +32M +0 +0x7cc00 +10 "
  ${P} plan ${D}/traces/frag_run1 --sizes 28M,32M --busy-from-trace)
# exit 2: bad input or usage.
add_test(NAME cli.plan.bad-sizes-exits-2 COMMAND sh ${BE} 2 "not a size" ${P} plan ${D}/traces/frag_run1 --sizes 12Q)
add_test(NAME cli.plan.bad-failed-exits-2 COMMAND sh ${BE} 2 "hold or drop" ${P} plan ${D}/traces/frag_run1 --failed keep)
add_test(NAME cli.plan.missing-input-exits-2 COMMAND sh ${BE} 2 "plan" ${P} plan ${D}/traces/no-such-folder --sizes 32M)
add_test(NAME cli.plan.base-and-mem-exits-2 COMMAND sh ${BE} 2 "two ways" ${P} plan ${D}/traces/frag_run1 --base 0x7cc00000 --mem 1G)
# JSON: the documented keys.
add_test(NAME cli.plan.json-keys COMMAND sh -c
  "${P} plan ${D}/traces/frag_run1 --sizes 32M,72M --kernel 6.1,6.12 --json > plan.json; test $? -eq 0 && python3 -c \"import json; j=json.load(open('plan.json')); assert j['schema']==1; c=j['configurations'][0]; assert {'kernel','size','base_pfn','failures','first_failure','peak_used'} <= set(c), c; assert c['first_failure']['line']==247; assert {'kernel','size'} <= set(j['smallest'][0]); assert isinstance(j['non_monotonic'], list) and j['assumptions']\"")
# placement through the boot model: the base each size gets is reported.
add_test(NAME cli.plan.boot-placement COMMAND sh ${BE} 0 "^6\\.1 +72M +0 +0x[0-9a-f]+ +0 "
  ${P} plan ${D}/traces/frag_run1 --sizes 72M --mem 1G --cmdline "cma=32M")
# a workload in the recorder's format, through the DMA layer of the emulated kernel: at the
# recorded size (48M, placed at 0x7bc00 as the real boot did) the kernel's 18 failures; 120M serves all.
add_test(NAME cli.plan.workload COMMAND sh ${BE} 0 "^6\\.12 +48M +0 +0x7bc00 +18 "
  ${P} plan --workload ${D}/recorded/rand-6.12-cma48M/workload.txt --kernel 6.12 --sizes 32M,48M,120M)
# what-if semantics from the command line: rand-6.12-cma48M's kernel failed 18 allocations; at its
# own size the plan reproduces 18 with --busy-from-trace, and finds 20 when no page is busy
# (allocations land where busy windows were and the rest follows differently).
add_test(NAME cli.plan.busy-from-trace-reproduces-18 COMMAND sh ${BE} 3 "^6\\.12 +48M +0 +0x7bc00 +18 "
  ${P} plan ${D}/recorded/rand-6.12-cma48M --busy-from-trace)
add_test(NAME cli.plan.no-busy-20 COMMAND sh ${BE} 3 "^6\\.12 +48M +0 +0x7bc00 +20 "
  ${P} plan ${D}/recorded/rand-6.12-cma48M)
add_test(NAME cli.plan.failed-drop-stated COMMAND sh ${BE} 3 "released at once \\(--failed drop\\)"
  ${P} plan ${D}/recorded/rand-6.12-cma48M --failed drop)
