// An OCSP request as a relying party sends it (DER, POST body or the GET
// path's base64): parsed, and each CertID looked at as the responder does.
#include <cstdint>
#include <span>

#include "pki/ocsp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto request = llavero::OcspRequest::parse(std::span<const std::uint8_t>(data, size));
  if (!request) return 0;
  for (int i = 0; i < request->count(); ++i) {
    (void)request->serial_hex(i);
    (void)llavero::match_issuer(request->id(i), {});
  }
  (void)request->has_nonce();
  return 0;
}
