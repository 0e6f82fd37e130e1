#include "util/secret.h"

#include <sodium.h>

namespace llavero {

void wipe_memory(void* data, std::size_t size) {
  if (data != nullptr && size > 0) sodium_memzero(data, size);
}

void SecretString::wipe() {
  // Wipe the whole capacity: a shorter value may sit on top of a longer one.
  wipe_memory(value_.data(), value_.capacity());
  value_.clear();
}

SecretString& SecretString::operator=(const SecretString& other) {
  if (this != &other) {
    wipe();
    value_ = other.value_;
  }
  return *this;
}

SecretString::SecretString(SecretString&& other) noexcept : value_(other.value_) {
  other.wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = other.value_;
    other.wipe();
  }
  return *this;
}

SecretString::~SecretString() {
  wipe();
}

}  // namespace llavero
