#include "xml/schema.h"

#include <fmt/format.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <cstdlib>
#include <system_error>

#include "util/error_codes.h"

#ifndef LLAVERO_SOURCE_DIR
#define LLAVERO_SOURCE_DIR "."
#endif

namespace llavero::xml {

namespace {

constexpr const char* kRoots[] = {
    "FacturaElectronica",    "TiqueteElectronico",       "NotaCreditoElectronica",
    "NotaDebitoElectronica", "FacturaElectronicaCompra", "FacturaElectronicaExportacion",
    "ReciboElectronicoPago", "MensajeReceptor",          "MensajeHacienda"};

struct Collected {
  std::vector<std::string> lines;
};

// libxml2 reports each validity error through this; keep the first few.
void collect(void* context, xmlErrorPtr error) {
  auto* out = static_cast<Collected*>(context);
  if (out->lines.size() >= 5 || error == nullptr || error->message == nullptr) return;
  std::string message = error->message;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  out->lines.push_back(fmt::format("línea {}: {}", error->line, message));
}

void ignore(void*, xmlErrorPtr) {}

// Where the binary is, from /proc; empty if unknown.
std::filesystem::path executable_directory() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

struct SchemaParserFree {
  void operator()(xmlSchemaParserCtxtPtr p) const { xmlSchemaFreeParserCtxt(p); }
};
struct SchemaValidFree {
  void operator()(xmlSchemaValidCtxtPtr p) const { xmlSchemaFreeValidCtxt(p); }
};
using SchemaParser = std::unique_ptr<xmlSchemaParserCtxt, SchemaParserFree>;
using SchemaValidation = std::unique_ptr<xmlSchemaValidCtxt, SchemaValidFree>;

}  // namespace

std::filesystem::path schema_directory(const std::string& configured) {
  if (const char* env = std::getenv("LLAVERO_XSD_DIR"); env && *env) return env;
  if (!configured.empty()) return configured;
  // The schemas ship with the project (schemas/hacienda/v4.4): installed
  // under share/llavero beside the binary's prefix, or in the repository the
  // binary was built from (its build directory sits inside it).
  const std::filesystem::path relative = "schemas/hacienda/v4.4";
  std::vector<std::filesystem::path> candidates;
  if (auto exe = executable_directory(); !exe.empty()) {
    candidates.push_back(exe.parent_path() / "share/llavero" / relative);
    candidates.push_back(exe.parent_path() / relative);
  }
  candidates.push_back(std::filesystem::path(LLAVERO_SOURCE_DIR) / relative);
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::is_directory(candidate, ec)) return candidate;
  }
  return candidates.back();  // missing: load() names it in its error
}

SchemaValidator::SchemaValidator(std::filesystem::path directory)
    : directory_(std::move(directory)) {}

SchemaValidator::~SchemaValidator() = default;

void SchemaValidator::FreeSchema::operator()(_xmlSchema* schema) const {
  xmlSchemaFree(schema);
}

std::string SchemaValidator::schema_file_for(std::string_view root_name) {
  for (const char* root : kRoots)
    if (root_name == root) return fmt::format("{}_V4.4.xsd", root);
  return {};
}

Status SchemaValidator::load() {
  for (const char* root : kRoots) {
    const std::string file = schema_file_for(root);
    const std::filesystem::path path = directory_ / file;
    if (!std::filesystem::exists(path))
      return make_error(errc::kEsquemasNoDisponibles,
                        fmt::format("No se encontró el esquema oficial {} (configure esquemas_xsd "
                                    "en llavero.conf o LLAVERO_XSD_DIR).",
                                    path.string()));
    SchemaParser parser(xmlSchemaNewParserCtxt(path.c_str()));
    if (!parser)
      return make_error(errc::kEsquemasNoDisponibles,
                        fmt::format("El esquema {} no se pudo leer.", path.string()));
    xmlSchemaSetParserStructuredErrors(parser.get(), ignore, nullptr);
    Schema schema(xmlSchemaParse(parser.get()));
    if (!schema)
      return make_error(errc::kEsquemasNoDisponibles,
                        fmt::format("El esquema {} no se pudo compilar.", path.string()));
    schemas_[file] = std::move(schema);
  }
  return Ok{};
}

std::vector<std::string> SchemaValidator::validate_against(xmlDocPtr doc,
                                                           const std::string& schema_file) const {
  auto it = schemas_.find(schema_file);
  if (it == schemas_.end()) return {fmt::format("No hay esquema {}.", schema_file)};
  Collected errors;
  SchemaValidation context(xmlSchemaNewValidCtxt(it->second.get()));
  if (!context) return {"no se pudo preparar la validación"};
  xmlSchemaSetValidStructuredErrors(context.get(), collect, &errors);
  const int rc = xmlSchemaValidateDoc(context.get(), doc);
  if (rc != 0 && errors.lines.empty()) errors.lines.push_back("el documento no es válido");
  return errors.lines;
}

std::vector<std::string> SchemaValidator::validate(xmlDocPtr doc) const {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  const std::string file =
      root ? schema_file_for(reinterpret_cast<const char*>(root->name)) : std::string();
  if (file.empty())
    return {fmt::format("el elemento raíz <{}> no es un comprobante v4.4",
                        root ? reinterpret_cast<const char*>(root->name) : "")};
  return validate_against(doc, file);
}

}  // namespace llavero::xml
