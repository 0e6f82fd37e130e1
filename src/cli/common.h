// What every command of `llavero` shares: leaving with a Spanish message and
// status 1, the actor named in the audit log, opening the data directory with
// the services a command needs, and reading a new PIN.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "app/data_dir.h"
#include "pki/pin.h"
#include "service/authorities.h"
#include "service/key_service.h"
#include "util/result.h"

namespace llavero::cli {

// Every failure leaves through here: main() prints the message, status 1.
struct Failure {
  Error error;
};

template <typename T>
T must(Result<T> result) {
  if (!result) throw Failure{result.error()};
  return std::move(*result);
}
[[noreturn]] void fail(std::string_view code, std::string message);

// Refuses an empty mandatory option, naming it.
void require(const std::string& value, std::string_view option);

// "cli:<user>", who the audit log says acted.
std::string actor();

// An opened data directory with the key service on it.
struct Session {
  std::unique_ptr<app::DataDir> dir;
  std::unique_ptr<service::CaKeyring> keyring;
  std::unique_ptr<service::KeyService> keys;
};
// Opens the data directory named by --data (or its default); the CA
// passphrase is asked for only when the command signs.
Session open_session(const std::string& data_flag, bool needs_ca_keys);

// A new PIN from stdin or asked twice on the terminal; the PIN rule and the
// confirmation are checked here, once for every command.
Pin read_new_pin(bool from_stdin);

}  // namespace llavero::cli
