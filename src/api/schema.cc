#include "api/schema.h"

#include <fmt/format.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <cstdlib>

#ifndef LLAVERO_DEFAULT_XSD_DIR
#define LLAVERO_DEFAULT_XSD_DIR "../shared/hacienda/xsd/2024/v4.4"
#endif

namespace llavero::api {

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

}  // namespace

std::filesystem::path schema_directory(const std::string& configured) {
  if (const char* env = std::getenv("LLAVERO_XSD_DIR"); env && *env) return env;
  if (!configured.empty()) return configured;
  return LLAVERO_DEFAULT_XSD_DIR;
}

SchemaValidator::SchemaValidator(std::filesystem::path directory)
    : directory_(std::move(directory)) {}

SchemaValidator::~SchemaValidator() {
  for (auto& [name, schema] : schemas_) xmlSchemaFree(schema);
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
      return make_error("esquemas_no_disponibles",
                        fmt::format("No se encontró el esquema oficial {} (configure esquemas_xsd "
                                    "en llavero.conf o LLAVERO_XSD_DIR).",
                                    path.string()));
    xmlSchemaParserCtxtPtr parser = xmlSchemaNewParserCtxt(path.c_str());
    xmlSchemaSetParserStructuredErrors(parser, ignore, nullptr);
    xmlSchemaPtr schema = xmlSchemaParse(parser);
    xmlSchemaFreeParserCtxt(parser);
    if (schema == nullptr)
      return make_error("esquemas_no_disponibles",
                        fmt::format("El esquema {} no se pudo compilar.", path.string()));
    schemas_[file] = schema;
  }
  return Ok{};
}

std::vector<std::string> SchemaValidator::validate_against(xmlDocPtr doc,
                                                           const std::string& schema_file) const {
  auto it = schemas_.find(schema_file);
  if (it == schemas_.end()) return {fmt::format("No hay esquema {}.", schema_file)};
  Collected errors;
  xmlSchemaValidCtxtPtr context = xmlSchemaNewValidCtxt(it->second);
  xmlSchemaSetValidStructuredErrors(context, collect, &errors);
  const int rc = xmlSchemaValidateDoc(context, doc);
  xmlSchemaFreeValidCtxt(context);
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

}  // namespace llavero::api
