#include "cli/prompt.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "util/error_codes.h"

namespace llavero::cli {

namespace {

constexpr std::size_t kMaxLine = 256;

// Reads one line from fd 0 byte by byte, so nothing past it is buffered
// anywhere we do not wipe. Returns false at end of input with nothing read.
bool read_line(std::string& out) {
  out.clear();
  char c = 0;
  bool any = false;
  while (::read(STDIN_FILENO, &c, 1) == 1) {
    any = true;
    if (c == '\n') break;
    if (out.size() < kMaxLine) out.push_back(c);
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return any;
}

class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

Result<TypedPin> read_pin_from_stdin() {
  std::string line;
  if (!read_line(line))
    return make_error(errc::kPinInvalido, "No se recibió el PIN en la entrada estándar.");
  TypedPin typed{SecretString(line), std::nullopt};
  wipe_memory(line.data(), line.capacity());
  if (read_line(line)) typed.confirmation = SecretString(line);
  wipe_memory(line.data(), line.capacity());
  return typed;
}

namespace {

// Echo off, one prompt, one line: what a PIN typed at the terminal needs.
Result<SecretString> ask_hidden(std::string_view prompt) {
  if (!isatty(STDIN_FILENO))
    return make_error(errc::kPinNoDisponible,
                      "La entrada estándar no es una terminal: use --pin-stdin para leer el PIN "
                      "de ella (el PIN nunca se acepta como argumento).");
  EchoOff quiet;
  std::string line;
  std::cerr << prompt << std::flush;
  read_line(line);
  SecretString typed(line);
  wipe_memory(line.data(), line.capacity());
  std::cerr << "\n";
  return typed;
}

}  // namespace

Result<TypedPin> ask_pin_on_terminal() {
  auto pin = ask_hidden("1. Debe crear un \"PIN\" que contenga 4 números: ");
  if (!pin) return pin.error();
  auto confirmation = ask_hidden("2. Debe escribir nuevamente el PIN para confirmar: ");
  if (!confirmation) return confirmation.error();
  return TypedPin{std::move(*pin), std::move(*confirmation)};
}

Result<SecretString> ask_existing_pin_on_terminal() {
  return ask_hidden("Digite el PIN de su llave criptográfica: ");
}

}  // namespace llavero::cli
