// Identification::parse takes what a person typed, or a certificate's
// serialNumber. Every accepted value parses back to itself from its
// serialNumber form, and to the same digits from its printed form (printed
// digits alone cannot tell a NITE from a Jurídica that starts with 2-5:
// the type then follows the rule of Identification::parse).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "id/identification.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto id = llavero::Identification::parse(text);
  if (!id) {
    if (id.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  auto again = llavero::Identification::parse(id->certificate_serial_number());
  if (!again || !(*again == *id)) std::abort();
  for (const std::string& form : {id->printed(), id->digits()}) {
    auto printed = llavero::Identification::parse(form);
    if (!printed || printed->digits() != id->digits()) std::abort();
  }
  (void)id->p12_file_name();
  return 0;
}
