// Validation of comprobantes against Hacienda's official v4.4 XML schemas,
// which ship with the project in schemas/hacienda/v4.4 (`esquemas_xsd` in
// llavero.conf or $LLAVERO_XSD_DIR name another copy). Each schema is
// compiled once and shared; validation itself is thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/result.h"

struct _xmlDoc;
struct _xmlSchema;

namespace llavero::xml {

// The schema directory: $LLAVERO_XSD_DIR, else `configured`, else the
// project's own copy (installed beside the binary, or in the repository).
std::filesystem::path schema_directory(const std::string& configured);

class SchemaValidator {
 public:
  explicit SchemaValidator(std::filesystem::path directory);
  ~SchemaValidator();
  SchemaValidator(const SchemaValidator&) = delete;
  SchemaValidator& operator=(const SchemaValidator&) = delete;

  // Compiles every schema; an error names a missing or broken file.
  Status load();

  // The schema file of a document, by its root element's local name
  // ("FacturaElectronica" → FacturaElectronica_V4.4.xsd); empty if none.
  static std::string schema_file_for(std::string_view root_name);

  // Validation errors of `doc` against the schema of its root element
  // (Spanish summary lines, at most a few); empty means valid.
  std::vector<std::string> validate(_xmlDoc* doc) const;
  // The same for a named schema (e.g. our own MensajeHacienda).
  std::vector<std::string> validate_against(_xmlDoc* doc, const std::string& schema_file) const;

 private:
  struct FreeSchema {
    void operator()(_xmlSchema* schema) const;
  };
  using Schema = std::unique_ptr<_xmlSchema, FreeSchema>;

  std::filesystem::path directory_;
  std::map<std::string, Schema> schemas_;
};

}  // namespace llavero::xml
