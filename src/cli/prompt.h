// Reading a PIN without ever taking it from argv: from the terminal with echo
// off (asked twice), or from standard input (one line, optionally a second
// line with the confirmation).
#pragma once

#include <optional>

#include "util/result.h"
#include "util/secret.h"

namespace llavero::cli {

struct TypedPin {
  SecretString pin;
  std::optional<SecretString> confirmation;  // absent when none was given
};

// The first line of stdin, and the second if there is one.
Result<TypedPin> read_pin_from_stdin();
// Asks on the terminal, twice, without echo. Fails if stdin is not a terminal.
Result<TypedPin> ask_pin_on_terminal();
// Asks once, without echo, for the PIN of an existing .p12 (to sign with it).
Result<SecretString> ask_existing_pin_on_terminal();

}  // namespace llavero::cli
