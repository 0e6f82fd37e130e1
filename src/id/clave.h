// The 50-digit "clave" of a comprobante (docs/api.md): 506 + DDMMYY + the
// emisor's identification padded to 12 + consecutivo (20: sucursal 3,
// terminal 5, tipo 2, número 10) + situación (1) + security code (8).
// Clave::parse owns that rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace llavero {

struct Clave {
  std::string text;                  // the 50 digits
  int day = 0, month = 0, year = 0;  // year with century (20YY)
  std::string identification;        // 12 digits, zero-padded
  std::string consecutivo;           // 20 digits
  std::string sucursal, terminal, tipo, numero;
  char situacion = '1';  // 1 normal, 2 contingencia, 3 sin internet
  std::string security_code;

  static Result<Clave> parse(std::string_view text);
  // The clave of a new comprobante: the date (Costa Rica's), the emisor's
  // identification digits, the 20-digit consecutivo, the situación and the
  // 8-digit security code, checked by parse.
  static Result<Clave> compose(int day, int month, int year, std::string_view identification,
                               std::string_view consecutivo, char situacion,
                               std::string_view security_code);
};

// The consecutivo's 20 digits: sucursal (3), terminal (5), tipo (2), número (10).
std::string compose_consecutivo(std::string_view sucursal, std::string_view terminal,
                                std::string_view tipo, std::int64_t numero);

// The document type names of the consecutivo's "tipo" ("01" → "Factura
// electrónica"); empty for an unknown tipo.
std::string_view comprobante_type_name(std::string_view tipo);

}  // namespace llavero
