# tests/cli/boot.cmake — CLI regression tests (included from tests/CMakeLists.txt when the CLI is built).
# D: tests/data, X: tests/cli/expect-exit.sh (expect-exit.sh CODE CMD...).
