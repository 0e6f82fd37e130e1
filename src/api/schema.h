// Validation of comprobantes against Hacienda's official v4.4 XML schemas
// (../shared/hacienda/xsd/2024/v4.4 by default; `esquemas_xsd` in
// llavero.conf or $LLAVERO_XSD_DIR elsewhere). Each schema is compiled once
// and shared; validation itself is thread-safe.
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

namespace llavero::api {

// The schema directory: $LLAVERO_XSD_DIR, else `configured`, else the
// default next to the source tree.
std::filesystem::path schema_directory(const std::string& configured);

class SchemaValidator {
 public:
  explicit SchemaValidator(std::filesystem::path directory);
  ~SchemaValidator();

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
  std::filesystem::path directory_;
  std::map<std::string, _xmlSchema*> schemas_;
};

}  // namespace llavero::api
