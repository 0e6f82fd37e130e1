// The PIN that protects a .p12 file: exactly four ASCII digits (docs/p12.md).
// Pin::parse owns that rule; a Pin can only exist if it holds.
#pragma once

#include <string_view>

#include "util/result.h"
#include "util/secret.h"

namespace llavero {

class Pin {
 public:
  static Result<Pin> parse(std::string_view typed);
  const SecretString& secret() const { return value_; }

 private:
  explicit Pin(SecretString value) : value_(std::move(value)) {}
  SecretString value_;
};

}  // namespace llavero
