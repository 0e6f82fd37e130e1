#include "xades/certificate_names.h"

#include <algorithm>
#include <cctype>

#include "pki/openssl.h"
#include "xml/document.h"

namespace llavero::xades {

std::string name_line(const X509_NAME* name) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string common_name(const X509_NAME* name) {
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return name_line(name);
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::string serial_decimal(const X509& cert) {
  ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(&cert), nullptr));
  if (!bn) return "";
  ossl::OpensslString dec(BN_bn2dec(bn.get()));
  return dec ? std::string(dec.get()) : "";
}

namespace {

// One "type=value" of a name, the type in its usual upper-case short form.
std::pair<std::string, std::string> name_part(const std::string& text) {
  const auto eq = text.find('=');
  std::string type = xml::trimmed(text.substr(0, eq == std::string::npos ? 0 : eq));
  std::string value =
      eq == std::string::npos ? xml::trimmed(text) : xml::trimmed(text.substr(eq + 1));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static const std::pair<const char*, const char*> kAliases[] = {
      {"2.5.4.3", "CN"},           {"2.5.4.6", "C"},  {"2.5.4.7", "L"},
      {"2.5.4.8", "ST"},           {"2.5.4.10", "O"}, {"2.5.4.11", "OU"},
      {"2.5.4.5", "SERIALNUMBER"}, {"S", "ST"},       {"OID.2.5.4.5", "SERIALNUMBER"}};
  for (const auto& [from, to] : kAliases)
    if (type == from) type = to;
  return {std::move(type), std::move(value)};
}

int hex_value(char h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

}  // namespace

NameParts dn_parts(std::string_view dn) {
  NameParts parts;
  std::string current;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    const char c = dn[i];
    if (c == '\\' && i + 1 < dn.size()) {
      if (i + 2 < dn.size() && hex_value(dn[i + 1]) >= 0 && hex_value(dn[i + 2]) >= 0) {
        current.push_back(static_cast<char>(hex_value(dn[i + 1]) * 16 + hex_value(dn[i + 2])));
        i += 2;
      } else {
        current.push_back(dn[++i]);
      }
    } else if (c == ',' || c == '+' || c == ';') {
      parts.push_back(name_part(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty() || !parts.empty()) parts.push_back(name_part(current));
  return parts;
}

}  // namespace llavero::xades
