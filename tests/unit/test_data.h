// Reads a file of tests/unit/protocol/data (WEIR_PROTOCOL_TEST_DATA, set by
// the test target's CMake) whole; the test fails if it is missing.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace weir::test {

inline std::vector<uint8_t> load(const std::string& name) {
  std::ifstream f(std::string(WEIR_PROTOCOL_TEST_DATA) + "/" + name, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

}  // namespace weir::test
