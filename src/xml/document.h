// XML documents on libxml2: owned handles, the one parser of untrusted XML,
// finding elements and their text, and building documents with libxml2 doing
// every escape.
//
// The parser is the only way llavero reads XML it did not write (signing,
// verifying, the reception). It never touches the network, never loads or
// applies a DTD (a DOCTYPE is refused outright: that is where entity
// declarations, billion laughs and external entities come from), never
// substitutes entities, refuses documents over a size limit, and keeps
// libxml2's nesting limit (kMaxDepth) by never asking for XML_PARSE_HUGE.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace llavero::xml {

// --- owned handles -------------------------------------------------------------------

struct FreeDocument {
  void operator()(xmlDoc* doc) const;
};
struct FreeString {
  void operator()(xmlChar* text) const;
};
using Document = std::unique_ptr<xmlDoc, FreeDocument>;
using String = std::unique_ptr<xmlChar, FreeString>;  // what libxml2 allocates (xmlFree)

// --- parsing untrusted XML -----------------------------------------------------------

// libxml2's nesting limit without XML_PARSE_HUGE: the root and kMaxDepth
// levels of elements under it; a deeper document is not well-formed for the
// parser.
inline constexpr int kMaxDepth = 256;

// Parses `text`, a complete document of at most `max_bytes`. Errors, in
// Spanish: "xml_grande" (too large), "xml_invalido" (empty, not well-formed,
// no root element, too deep), "xml_dtd" (a DOCTYPE), "error_interno".
Result<Document> parse(std::string_view text, std::size_t max_bytes);

// --- reading ------------------------------------------------------------------------

// libxml2's strings are UTF-8 bytes.
inline const char* chars(const xmlChar* s) {
  return reinterpret_cast<const char*>(s);
}
inline const xmlChar* xml_chars(const std::string& s) {
  return reinterpret_cast<const xmlChar*>(s.c_str());
}
// Only for views of string literals, which end in NUL (the namespaces).
inline const xmlChar* xml_chars(std::string_view literal) {
  return reinterpret_cast<const xmlChar*>(literal.data());
}

// Whether `n` is the element {ns}name.
bool is_element(const xmlNode* n, std::string_view ns, std::string_view name);

// The element children of `parent` named {ns}name, in order; the first of
// them or null. A null parent has none.
std::vector<xmlNode*> children(const xmlNode* parent, std::string_view ns, std::string_view name);
xmlNode* child(const xmlNode* parent, std::string_view ns, std::string_view name);

// Follows a path of {ns} elements, each the first child of that name; null
// if a step is missing.
xmlNode* descend(const xmlNode* from, std::string_view ns,
                 std::initializer_list<std::string_view> path);

// The first element reached from `from` by a path of local names
// ("Emisor/Identificacion/Numero"), whatever their namespaces; null if a
// step is missing.
xmlNode* find_path(const xmlNode* from, std::string_view path);

// Every {ns}name element from `first` and its following siblings down, in
// document order (the depth is bounded by the parser).
std::vector<xmlNode*> descendants(xmlNode* first, std::string_view ns, std::string_view name);

// The text content of `n` (its descendants' text, entities as written);
// empty for null.
std::string text(const xmlNode* n);
// `s` without leading and trailing XML white space.
std::string trimmed(std::string_view s);

// An attribute without namespace, or nullopt.
std::optional<std::string> attribute(const xmlNode* n, const char* name);

// The name as written, with its prefix ("ds:Signature").
std::string qualified_name(const xmlNode* n);

// Makes `attr` an ID, the target of "#value" references. False if another
// node already holds that ID (e.g. an xml:id elsewhere in the document).
bool register_id(xmlDoc* doc, xmlAttr* attr);

// --- building -----------------------------------------------------------------------

// A new document whose root element is `name` in the default namespace `ns`
// (none if empty). Null only when memory runs out.
Document new_document(const std::string& name, const std::string& ns);

// Appends an element `name` in the namespace of `parent`, holding `text`
// (escaped by libxml2 on output), and returns it; null when `parent` is null
// or memory runs out.
xmlNode* add_element(xmlNode* parent, const std::string& name, const std::string& text = {});
// Sets an attribute without namespace; false when `n` is null or memory runs out.
bool set_attribute(xmlNode* n, const std::string& name, const std::string& value);

// The document as UTF-8 text with its XML declaration, as libxml2 writes it.
Result<std::string> to_string(xmlDoc* doc);

// One element and its subtree as text without declaration, in `encoding`
// (e.g. "ASCII": anything else as character references).
Result<std::string> to_string(xmlNode* node, const char* encoding);

}  // namespace llavero::xml
