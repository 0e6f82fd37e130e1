#include "id/environment.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero {

Result<Environment> parse_environment(std::string_view text) {
  if (text == "produccion" || text == "producción" || text == "prod")
    return Environment::kProduccion;
  if (text == "pruebas" || text == "stag") return Environment::kPruebas;
  return make_error(
      errc::kAmbienteInvalido,
      fmt::format("Ambiente desconocido \"{}\": use \"produccion\" o \"pruebas\".", text));
}

std::string_view environment_name(Environment env) {
  return env == Environment::kProduccion ? "produccion" : "pruebas";
}

std::string_view environment_label(Environment env) {
  return env == Environment::kProduccion ? "Producción" : "Pruebas";
}

std::string_view environment_short(Environment env) {
  return env == Environment::kProduccion ? "prod" : "stag";
}

}  // namespace llavero
