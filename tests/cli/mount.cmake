# tests/cli/mount.cmake — `cmasim mount` (issue 12): unmodified shell commands on a FUSE mount.
# mount-session.sh exits 77 where it cannot mount (no /dev/fuse, no fusermount3, not root):
# ctest then reports the test as skipped, with the script's "SKIPPED: <reason>" in its output,
# never as passed.  RUN_SERIAL: each part mounts and unmounts a FUSE file system.
foreach(part field-notes errno concurrent signals state versions)
  add_test(NAME cli.mount.${part} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/mount-session.sh $<TARGET_FILE:cmasim> ${part})
  set_tests_properties(cli.mount.${part} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE)
endforeach()
