// The identification of a taxpayer (docs/product.md#identifications) and every name derived from
// it.
//
// Identification::parse is the only place that reads an identification typed
// by a person or found in a file; everything else holds an Identification and
// asks it for the form it needs: the printed form, the certificate
// serialNumber, the API user name, the padded number and the .p12 file name.
#pragma once

#include <string>
#include <string_view>

#include "id/environment.h"
#include "util/result.h"

namespace llavero {

enum class IdType {
  kFisica,    // 01: 9 digits, first 1-9
  kJuridica,  // 02: 10 digits, first 2-5
  kDimex,     // 03: 11 or 12 digits, no leading 0
  kNite,      // 04: 10 digits
};

inline constexpr IdType kAllIdTypes[] = {IdType::kFisica, IdType::kJuridica, IdType::kDimex,
                                         IdType::kNite};

// The Hacienda code of a type: "01".."04".
std::string_view id_type_code(IdType type);
// Spanish name: "Física", "Jurídica", "DIMEX", "NITE".
std::string_view id_type_name(IdType type);

class Identification {
 public:
  // Accepts the digits with or without dashes and spaces ("1-0647-0958",
  // "106470958", "1 0647 0958"), optionally after the type prefix of the
  // certificate serialNumber ("CPF-01-0647-0958", "NITE-4000123456");
  // rejects anything else with a Spanish message that names the accepted
  // formats. Without a prefix, a 10-digit number starting with 2-5 is a
  // Jurídica and any other 10-digit number a NITE.
  static Result<Identification> parse(std::string_view text);

  IdType type() const { return type_; }
  const std::string& digits() const { return digits_; }  // "106470958"

  // As people write it: "1-0647-0958", "3-101-522899", DIMEX and NITE as digits.
  std::string printed() const;
  // The subject serialNumber: "CPF-01-0647-0958", "CPJ-3-101-522899",
  // "DIMEX-155812345678", "NITE-4000123456".
  std::string certificate_serial_number() const;
  // The API user of an environment, e.g.
  // "cpf-01-0647-0958@stag.comprobanteselectronicos.go.cr".
  std::string api_user(Environment env, std::string_view user_domain) const;
  // Zero-padded to 10 digits (12 for DIMEX): "0106470958".
  std::string padded() const;
  // The padded number followed by its ISO 7064 MOD 97-10 check digits, ".p12".
  std::string p12_file_name() const;
  // The organisational unit of the certificate subject: CPF, CPJ, DIMEX, NITE.
  std::string_view organizational_unit() const;

  friend bool operator==(const Identification&, const Identification&) = default;

 private:
  Identification(IdType type, std::string digits) : type_(type), digits_(std::move(digits)) {}
  static Result<Identification> parse_digits(std::string_view original, std::string_view text);
  IdType type_;
  std::string digits_;
};

// The two ISO 7064 MOD 97-10 check digits of a string of decimal digits.
std::string iso7064_mod97_10(std::string_view digits);

// The default user domain of API users (docs/product.md#environments).
inline constexpr std::string_view kDefaultUserDomain = "comprobanteselectronicos.go.cr";

}  // namespace llavero
