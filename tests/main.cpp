// Catch2 v2 entry point for all of cmasim's tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
