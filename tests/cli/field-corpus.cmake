# tests/cli/field-corpus.cmake — `cmasim diagnose` on the synthetic field corpus
# (tests/data/field/corpus/NAME.log, one case per wrapper / line kind / cause / reservation why
# of ../shared/LOGS-IN-THE-WILD.md), each against its hand-derived NAME.expected.json
# (tests/cli/field_corpus.py).  Included where Python3_EXECUTABLE and D (tests/data) are defined.
set(FIELD_CORPUS_CASES
    android-suppressed-no-window
    bare-too-large
    bypass-dt
    clean-dt-pools
    dmesgH-busy-1page
    dmesgT-driver-failure
    join-3x-isolation
    journal-busy-dt
    kernel-prefix-nvgpu
    kernelpid-busy-retries
    mediatek-fragmented-unaligned
    mixed-order
    plain-fragmented
    printk-caller-exhausted-empty
    resv-alignment-dt
    resv-boundary
    resv-limit
    resv-outside-ram
    resv-overlap
    resv-too-large
    resv-unknown-node
    syslog-vc4-exhausted
)
foreach(name ${FIELD_CORPUS_CASES})
  add_test(NAME cli.diagnose.field-${name}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/field_corpus.py $<TARGET_FILE:cmasim>
                   ${D}/field/corpus --only ${name})
endforeach()
