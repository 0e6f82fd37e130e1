#include "xml/document.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/valid.h>
#include <libxml/xmlsave.h>

#include "util/error_codes.h"

namespace llavero::xml {

void FreeDocument::operator()(xmlDoc* doc) const {
  xmlFreeDoc(doc);
}

void FreeString::operator()(xmlChar* text) const {
  xmlFree(text);
}

namespace {

struct FreeParser {
  void operator()(xmlParserCtxt* parser) const { xmlFreeParserCtxt(parser); }
};
struct FreeBuffer {
  void operator()(xmlBuffer* buffer) const { xmlBufferFree(buffer); }
};
using Parser = std::unique_ptr<xmlParserCtxt, FreeParser>;
using Buffer = std::unique_ptr<xmlBuffer, FreeBuffer>;

constexpr std::string_view kDoctypeRefused =
    "El XML tiene una declaración DOCTYPE; no se admiten DTD ni entidades.";

// Comprobantes never have a DOCTYPE, so the parser stops at the first sign
// of one, before any declaration in it is read.
void refuse_doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* parser = static_cast<xmlParserCtxtPtr>(ctx);
  *static_cast<bool*>(parser->_private) = true;
  xmlStopParser(parser);
}

Error not_well_formed(xmlParserCtxt* parser) {
  const xmlError* e = xmlCtxtGetLastError(parser);
  std::string detail = e && e->message ? e->message : "error desconocido";
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  return make_error(errc::kXmlInvalido, fmt::format("El XML no está bien formado (línea {}): {}.",
                                                    e ? e->line : 0, detail));
}

}  // namespace

Result<Document> parse(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return make_error(errc::kXmlGrande, fmt::format("El XML tiene {} bytes; el máximo es {}.",
                                                    text.size(), max_bytes));
  if (text.empty()) return make_error(errc::kXmlInvalido, "El XML está vacío.");
  Parser parser(xmlNewParserCtxt());
  if (!parser) return make_error(errc::kErrorInterno, "No se pudo crear el analizador XML.");
  bool saw_doctype = false;
  parser->_private = &saw_doctype;
  parser->sax->internalSubset = refuse_doctype;
  // No XML_PARSE_NOENT (entities are not substituted), no DTDLOAD/DTDATTR,
  // no HUGE (libxml2 keeps its depth and size limits), no network.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  Document doc(xmlCtxtReadMemory(parser.get(), text.data(), static_cast<int>(text.size()), nullptr,
                                 nullptr, options));
  if (saw_doctype) return make_error(errc::kXmlDtd, std::string(kDoctypeRefused));
  if (!doc || !parser->wellFormed) return not_well_formed(parser.get());
  if (doc->intSubset != nullptr || doc->extSubset != nullptr)
    return make_error(errc::kXmlDtd, std::string(kDoctypeRefused));
  if (xmlDocGetRootElement(doc.get()) == nullptr)
    return make_error(errc::kXmlInvalido, "El XML no tiene elemento raíz.");
  return doc;
}

bool is_element(const xmlNode* n, std::string_view ns, std::string_view name) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && n->ns != nullptr &&
         n->ns->href != nullptr && ns == chars(n->ns->href) && name == chars(n->name);
}

std::vector<xmlNode*> children(const xmlNode* parent, std::string_view ns, std::string_view name) {
  std::vector<xmlNode*> out;
  if (parent == nullptr) return out;
  for (xmlNode* c = parent->children; c != nullptr; c = c->next)
    if (is_element(c, ns, name)) out.push_back(c);
  return out;
}

xmlNode* child(const xmlNode* parent, std::string_view ns, std::string_view name) {
  if (parent == nullptr) return nullptr;
  for (xmlNode* c = parent->children; c != nullptr; c = c->next)
    if (is_element(c, ns, name)) return c;
  return nullptr;
}

xmlNode* descend(const xmlNode* from, std::string_view ns,
                 std::initializer_list<std::string_view> path) {
  const xmlNode* at = from;
  for (std::string_view step : path) {
    at = child(at, ns, step);
    if (at == nullptr) return nullptr;
  }
  return const_cast<xmlNode*>(at);
}

xmlNode* find_path(const xmlNode* from, std::string_view path) {
  const xmlNode* at = from;
  while (at != nullptr) {
    const std::size_t slash = path.find('/');
    const std::string_view step = path.substr(0, slash);
    xmlNode* next = at->children;
    while (next != nullptr && !(next->type == XML_ELEMENT_NODE && step == chars(next->name)))
      next = next->next;
    at = next;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return const_cast<xmlNode*>(at);
}

namespace {

void collect(xmlNode* n, std::string_view ns, std::string_view name, std::vector<xmlNode*>& out) {
  for (; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (is_element(n, ns, name)) out.push_back(n);
    collect(n->children, ns, name, out);
  }
}

}  // namespace

std::vector<xmlNode*> descendants(xmlNode* first, std::string_view ns, std::string_view name) {
  std::vector<xmlNode*> out;
  collect(first, ns, name, out);
  return out;
}

std::string text(const xmlNode* n) {
  if (n == nullptr) return "";
  String content(xmlNodeGetContent(n));
  return content ? chars(content.get()) : "";
}

std::string trimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> attribute(const xmlNode* n, const char* name) {
  if (n == nullptr) return std::nullopt;
  String value(xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(name)));
  if (!value) return std::nullopt;
  return std::string(chars(value.get()));
}

std::string qualified_name(const xmlNode* n) {
  std::string name = chars(n->name);
  if (n->ns != nullptr && n->ns->prefix != nullptr)
    name = std::string(chars(n->ns->prefix)) + ":" + name;
  return name;
}

bool register_id(xmlDoc* doc, xmlAttr* attr) {
  if (attr == nullptr) return false;
  String value(xmlNodeListGetString(doc, attr->children, 1));
  if (!value) return false;
  if (xmlAttr* existing = xmlGetID(doc, value.get()); existing != nullptr) return existing == attr;
  return xmlAddID(nullptr, doc, value.get(), attr) != nullptr;
}

Document new_document(const std::string& name, const std::string& ns) {
  Document doc(xmlNewDoc(BAD_CAST "1.0"));
  if (!doc) return doc;
  xmlNode* root = xmlNewDocNode(doc.get(), nullptr, xml_chars(name), nullptr);
  if (root == nullptr) return nullptr;
  xmlDocSetRootElement(doc.get(), root);
  if (!ns.empty()) {
    xmlNs* declared = xmlNewNs(root, xml_chars(ns), nullptr);
    if (declared == nullptr) return nullptr;
    xmlSetNs(root, declared);
  }
  return doc;
}

xmlNode* add_element(xmlNode* parent, const std::string& name, const std::string& text) {
  if (parent == nullptr) return nullptr;
  // xmlNewTextChild takes the content as text, not as markup.
  return xmlNewTextChild(parent, parent->ns, xml_chars(name), xml_chars(text));
}

bool set_attribute(xmlNode* n, const std::string& name, const std::string& value) {
  return n != nullptr && xmlSetProp(n, xml_chars(name), xml_chars(value)) != nullptr;
}

Result<std::string> to_string(xmlDoc* doc) {
  xmlChar* memory = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &memory, &size, "UTF-8");
  String owned(memory);
  if (!owned || size < 0) return make_error(errc::kErrorInterno, "No se pudo escribir el XML.");
  return std::string(chars(owned.get()), static_cast<std::size_t>(size));
}

Result<std::string> to_string(xmlNode* node, const char* encoding) {
  Buffer buffer(xmlBufferCreate());
  if (!buffer) return make_error(errc::kErrorInterno, "Sin memoria para escribir el XML.");
  xmlSaveCtxtPtr save = xmlSaveToBuffer(buffer.get(), encoding, XML_SAVE_NO_DECL | XML_SAVE_AS_XML);
  if (save == nullptr) return make_error(errc::kErrorInterno, "No se pudo escribir el XML.");
  const long written = xmlSaveTree(save, node);
  xmlSaveClose(save);
  if (written < 0) return make_error(errc::kErrorInterno, "No se pudo escribir el XML.");
  return std::string(chars(xmlBufferContent(buffer.get())),
                     static_cast<std::size_t>(xmlBufferLength(buffer.get())));
}

}  // namespace llavero::xml
