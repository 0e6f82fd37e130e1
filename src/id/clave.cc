#include "id/clave.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero {

std::string_view comprobante_type_name(std::string_view tipo) {
  if (tipo == "01") return "Factura electrónica";
  if (tipo == "02") return "Nota de débito electrónica";
  if (tipo == "03") return "Nota de crédito electrónica";
  if (tipo == "04") return "Tiquete electrónico";
  if (tipo == "05") return "Confirmación de aceptación";
  if (tipo == "06") return "Confirmación de aceptación parcial";
  if (tipo == "07") return "Confirmación de rechazo";
  if (tipo == "08") return "Factura electrónica de compra";
  if (tipo == "09") return "Factura electrónica de exportación";
  if (tipo == "10") return "Recibo electrónico de pago";
  return "";
}

Result<Clave> Clave::parse(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return make_error(errc::kClaveInvalida,
                      fmt::format("La clave \"{}\" no es válida: {}. Debe tener 50 dígitos: 506, "
                                  "fecha DDMMAA, identificación (12), consecutivo (20), situación "
                                  "(1) y código de seguridad (8).",
                                  text.substr(0, 60), why));
  };
  if (text.size() != 50) return invalid(fmt::format("tiene {} caracteres", text.size()));
  for (char c : text)
    if (c < '0' || c > '9') return invalid("solo puede contener dígitos");
  if (text.substr(0, 3) != "506") return invalid("no empieza con 506 (Costa Rica)");
  Clave c;
  c.text = std::string(text);
  auto number = [&](std::size_t at, std::size_t len) {
    int v = 0;
    for (char ch : text.substr(at, len)) v = v * 10 + (ch - '0');
    return v;
  };
  c.day = number(3, 2);
  c.month = number(5, 2);
  c.year = 2000 + number(7, 2);
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31) return invalid("la fecha no existe");
  c.identification = std::string(text.substr(9, 12));
  c.consecutivo = std::string(text.substr(21, 20));
  c.sucursal = c.consecutivo.substr(0, 3);
  c.terminal = c.consecutivo.substr(3, 5);
  c.tipo = c.consecutivo.substr(8, 2);
  c.numero = c.consecutivo.substr(10, 10);
  c.situacion = text[41];
  c.security_code = std::string(text.substr(42, 8));
  if (comprobante_type_name(c.tipo).empty())
    return invalid(fmt::format("el tipo de comprobante {} no existe", c.tipo));
  if (c.situacion < '1' || c.situacion > '3') return invalid("la situación debe ser 1, 2 o 3");
  return c;
}

Result<Clave> Clave::compose(int day, int month, int year, std::string_view identification,
                             std::string_view consecutivo, char situacion,
                             std::string_view security_code) {
  if (identification.size() > 12)
    return make_error(errc::kClaveInvalida, "La identificación tiene más de 12 dígitos.");
  return parse(fmt::format("506{:02}{:02}{:02}{:0>12}{}{}{}", day, month, year % 100,
                           identification, consecutivo, situacion, security_code));
}

std::string compose_consecutivo(std::string_view sucursal, std::string_view terminal,
                                std::string_view tipo, std::int64_t numero) {
  return fmt::format("{:0>3}{:0>5}{:0>2}{:010}", sucursal, terminal, tipo, numero);
}

}  // namespace llavero
