// The portal's templates and stylesheet, embedded at build time from
// src/portal/templates/ (see cmake/embed_templates.cmake).
#pragma once

#include <string_view>

namespace llavero::portal {

// The content of a file of src/portal/templates/, empty if there is none.
std::string_view embedded_file(std::string_view name);

}  // namespace llavero::portal
