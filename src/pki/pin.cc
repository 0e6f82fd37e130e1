#include "pki/pin.h"

#include "util/error_codes.h"

namespace llavero {

Result<Pin> Pin::parse(std::string_view typed) {
  bool four_digits = typed.size() == 4;
  for (char c : typed) four_digits = four_digits && c >= '0' && c <= '9';
  if (!four_digits)
    return make_error(errc::kPinInvalido, "El PIN debe contener exactamente 4 números.");
  return Pin(SecretString(std::string(typed)));
}

}  // namespace llavero
