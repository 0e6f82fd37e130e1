// Clave::parse reads the 50-digit clave of a comprobante from a request;
// an accepted clave must parse again from its own text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "id/clave.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto clave = llavero::Clave::parse(text);
  if (!clave) {
    if (clave.error().message.empty()) std::abort();
    return 0;
  }
  if (!llavero::Clave::parse(clave->text)) std::abort();
  return 0;
}
