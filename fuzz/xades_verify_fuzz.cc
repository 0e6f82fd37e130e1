// XAdES verification of an untrusted document, with no trust anchors: every
// input must end in a Verification or an Error, never a crash, and never be
// judged valid (nothing can chain to an empty trust set).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xades/xades.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  llavero::xades::VerifyOptions options;
  options.now = 1764547200;  // 2025-12-01: the same answer on every run
  auto verification = llavero::xades::verify(xml, options);
  if (verification && verification->valid) std::abort();
  return 0;
}
