// The two environments of docs/product.md#environments. They share nothing: each has its own CAs,
// keys, API users, token realm and reception endpoint.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace llavero {

enum class Environment { kProduccion, kPruebas };

inline constexpr Environment kAllEnvironments[] = {Environment::kProduccion, Environment::kPruebas};

// Accepts "produccion"/"producción"/"prod" and "pruebas"/"stag".
Result<Environment> parse_environment(std::string_view text);

std::string_view environment_name(Environment env);   // "produccion" | "pruebas"
std::string_view environment_label(Environment env);  // "Producción" | "Pruebas"
std::string_view environment_short(Environment env);  // "prod" | "stag" (URLs, API users)

}  // namespace llavero
