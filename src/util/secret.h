// SecretString: a string that wipes its memory when it goes away. PINs and
// passphrases live in one of these and nowhere else.
#pragma once

#include <string>
#include <string_view>

namespace llavero {

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(const SecretString& other) : value_(other.value_) {}
  SecretString& operator=(const SecretString& other);
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  ~SecretString();

  std::string_view view() const { return value_; }
  const char* c_str() const { return value_.c_str(); }
  std::size_t size() const { return value_.size(); }
  bool empty() const { return value_.empty(); }

 private:
  void wipe();
  std::string value_;
};

// Wipes the bytes of a buffer that held a secret.
void wipe_memory(void* data, std::size_t size);

}  // namespace llavero
