// Log lines as JSON objects, one a line, for an operator whose log
// collector wants structure (llavero serve --registro-json): {"hora":
// "2026-12-02T13:45:01.123Z", "nivel": "info", "registro": "…",
// "mensaje": "…"}. The message is the same text as the plain log, escaped;
// bytes that are not UTF-8 (a client's odd path in the access log) become
// U+FFFD, so every line parses.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace llavero {

std::unique_ptr<spdlog::formatter> json_log_formatter();

// `text` as the inside of a JSON string (without the quotes).
std::string json_escape(std::string_view text);

}  // namespace llavero
