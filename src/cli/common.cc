#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "cli/prompt.h"
#include "util/error_codes.h"

namespace llavero::cli {

void fail(std::string_view code, std::string message) {
  throw Failure{make_error(code, std::move(message))};
}

void require(const std::string& value, std::string_view option) {
  if (value.empty())
    fail(errc::kOpcionFaltante, fmt::format("Falta la opción obligatoria {}.", option));
}

std::string actor() {
  const char* user = std::getenv("USER");
  return fmt::format("cli:{}", user && *user ? user : std::to_string(getuid()));
}

Session open_session(const std::string& data_flag, bool needs_ca_keys) {
  Session s;
  s.dir = must(app::DataDir::open(app::default_data_path(data_flag)));
  // Without CA keys (and without a token's PIN), a keyring that only reads
  // certificates.
  std::unique_ptr<KeyStore> keys =
      needs_ca_keys ? must(s.dir->ca_key_store()) : passphrase_key_store(SecretString());
  s.keyring = std::make_unique<service::CaKeyring>(s.dir->store(), std::move(keys));
  s.keys = std::make_unique<service::KeyService>(s.dir->store(), s.dir->config(), *s.keyring);
  return s;
}

Pin read_new_pin(bool from_stdin) {
  TypedPin typed = must(from_stdin ? read_pin_from_stdin() : ask_pin_on_terminal());
  Pin pin = must(Pin::parse(typed.pin.view()));
  if (typed.confirmation && typed.confirmation->view() != typed.pin.view())
    fail(errc::kPinNoCoincide, "El PIN y su confirmación no coinciden.");
  return pin;
}

}  // namespace llavero::cli
