#include "service/detalle_mensaje.h"

#include <fmt/format.h>

#include "service/reception.h"

namespace llavero::service {

std::string detalle_mensaje(Environment env, const std::vector<HaciendaError>& errors) {
  std::string out;
  if (env == Environment::kPruebas) out = std::string(kSandboxNotice);
  if (errors.empty()) return out.empty() ? std::string("Aceptado") : out;
  if (!out.empty()) out += "\n\n";
  out +=
      "El comprobante electrónico tiene los siguientes errores:\n\n[\ncodigo, mensaje, fila, "
      "columna\n";
  for (const HaciendaError& e : errors) {
    std::string quoted;
    for (char c : e.mensaje) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
    out += fmt::format("{}, \"{}\", {}, {}\n", e.codigo, quoted, e.fila, e.columna);
  }
  out += "\n]";
  return out;
}

}  // namespace llavero::service
