#include "id/identification.h"

#include <fmt/format.h>

#include <cctype>
#include <optional>

#include "util/error_codes.h"

namespace llavero {

namespace {

constexpr std::string_view kExpectedFormats =
    "Use una cédula física de 9 dígitos (1-0647-0958), una jurídica de 10 que empiece "
    "con 2 a 5 (3-101-522899), un DIMEX de 11 o 12 dígitos sin cero inicial "
    "(155812345678) o un NITE de 10 dígitos (4000123456); los guiones y espacios son "
    "opcionales.";

Error invalid(std::string_view text, std::string_view why) {
  return make_error(
      errc::kIdentificacionInvalida,
      fmt::format("Identificación inválida \"{}\": {}. {}", text, why, kExpectedFormats));
}

}  // namespace

std::string_view id_type_code(IdType type) {
  switch (type) {
    case IdType::kFisica: return "01";
    case IdType::kJuridica: return "02";
    case IdType::kDimex: return "03";
    case IdType::kNite: return "04";
  }
  return "";
}

std::string_view id_type_name(IdType type) {
  switch (type) {
    case IdType::kFisica: return "Física";
    case IdType::kJuridica: return "Jurídica";
    case IdType::kDimex: return "DIMEX";
    case IdType::kNite: return "NITE";
  }
  return "";
}

namespace {

// The type named by a certificate-style prefix ("CPF-01-", "CPJ-", "DIMEX-",
// "NITE-", any case), which is removed from `text`. The prefix is the only
// way to write a NITE whose first digit is 2-5 (e.g. NITE-4000123456).
std::optional<IdType> take_type_prefix(std::string_view& text) {
  struct Prefix {
    std::string_view spelling;
    IdType type;
  };
  static constexpr Prefix kPrefixes[] = {{"cpf-", IdType::kFisica},
                                         {"cpj-", IdType::kJuridica},
                                         {"dimex-", IdType::kDimex},
                                         {"nite-", IdType::kNite}};
  for (const Prefix& p : kPrefixes) {
    if (text.size() < p.spelling.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < p.spelling.size(); ++i)
      same = same && std::tolower(static_cast<unsigned char>(text[i])) == p.spelling[i];
    if (same) {
      text.remove_prefix(p.spelling.size());
      return p.type;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<Identification> Identification::parse(std::string_view text) {
  constexpr std::size_t kMaxInput = 64;
  if (text.size() > kMaxInput) return invalid(text.substr(0, 20), "es demasiado larga");
  const std::string_view original = text;
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const std::optional<IdType> named = take_type_prefix(text);
  // The serialNumber of a Física pads its first digit: CPF-01-0647-0958.
  if (named == IdType::kFisica && text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  auto result = parse_digits(original, text);
  if (!result || !named || result->type_ == *named) return result;
  // A NITE may look like a Jurídica; any other mismatch is an error.
  if (*named == IdType::kNite && result->digits_.size() == 10)
    return Identification(IdType::kNite, result->digits_);
  return invalid(original, fmt::format("el prefijo no corresponde a una identificación {}",
                                       id_type_name(*named)));
}

Result<Identification> Identification::parse_digits(std::string_view original,
                                                    std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != '-' && c != ' ') {
      return invalid(original, "solo se admiten dígitos, guiones y espacios");
    }
  }
  if (digits.empty()) return invalid(original, "no contiene dígitos");
  const char first = digits.front();
  switch (digits.size()) {
    case 9:
      if (first == '0') return invalid(original, "una cédula física no empieza con 0");
      return Identification(IdType::kFisica, digits);
    case 10:
      if (first >= '2' && first <= '5') return Identification(IdType::kJuridica, digits);
      if (first == '0') return invalid(original, "un número de 10 dígitos no empieza con 0");
      return Identification(IdType::kNite, digits);
    case 11:
    case 12:
      if (first == '0') return invalid(original, "un DIMEX no empieza con 0");
      return Identification(IdType::kDimex, digits);
    default: return invalid(original, fmt::format("tiene {} dígitos", digits.size()));
  }
}

std::string Identification::printed() const {
  switch (type_) {
    case IdType::kFisica:
      return fmt::format("{}-{}-{}", digits_.substr(0, 1), digits_.substr(1, 4), digits_.substr(5));
    case IdType::kJuridica:
      return fmt::format("{}-{}-{}", digits_.substr(0, 1), digits_.substr(1, 3), digits_.substr(4));
    case IdType::kDimex:
    case IdType::kNite: return digits_;
  }
  return digits_;
}

std::string Identification::certificate_serial_number() const {
  switch (type_) {
    // The 10-digit padded number, grouped 2-4-4: 1-0647-0958 → CPF-01-0647-0958.
    case IdType::kFisica: return "CPF-0" + printed();
    case IdType::kJuridica: return "CPJ-" + printed();
    case IdType::kDimex: return "DIMEX-" + digits_;
    case IdType::kNite: return "NITE-" + digits_;
  }
  return digits_;
}

std::string Identification::api_user(Environment env, std::string_view user_domain) const {
  std::string user = certificate_serial_number();
  for (char& c : user) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return fmt::format("{}@{}.{}", user, environment_short(env), user_domain);
}

std::string Identification::padded() const {
  const std::size_t width = type_ == IdType::kDimex ? 12 : 10;
  return std::string(width - digits_.size(), '0') + digits_;
}

std::string Identification::p12_file_name() const {
  const std::string number = padded();
  return number + iso7064_mod97_10(number) + ".p12";
}

std::string_view Identification::organizational_unit() const {
  switch (type_) {
    case IdType::kFisica: return "CPF";
    case IdType::kJuridica: return "CPJ";
    case IdType::kDimex: return "DIMEX";
    case IdType::kNite: return "NITE";
  }
  return "";
}

std::string iso7064_mod97_10(std::string_view digits) {
  // The check digits make number·100 + check ≡ 1 (mod 97), as in IBAN.
  unsigned remainder = 0;
  for (char c : digits) remainder = (remainder * 10 + static_cast<unsigned>(c - '0')) % 97;
  remainder = (remainder * 100) % 97;
  return fmt::format("{:02}", 98 - remainder);
}

}  // namespace llavero
