#!/usr/bin/env python3
"""Writes an unsigned comprobante with a ds:Signature template in the style of
one of the signers found in the wild, for `xmlsec1 --sign` to complete
(tests/xades/firmas_test.sh). The templates are written from the public
descriptions of each signer (docs/firmas.md), not copied from them.

    plantilla_firma.py ESTILO DOCUMENTO CERT.pem [CADENA.pem ...] > plantilla.xml

ESTILO:
  net     FirmaXadesNet / .NET: inclusive C14N, enveloped-signature, three
          references (document, KeyInfo, SignedProperties), KeyInfo with
          X509Certificate and RSAKeyValue, " />" self-closing tags, Ids
          Signature-<guid>, Reference-<guid>, ReferenceKeyInfo,
          XadesObjectId-<guid>; EPES with the v4.4 policy.
  java    xades4j / javax.xml.crypto: exclusive C14N, two references, CRLF
          line ends, standalone="no" (the &#13; inside base64 values is put in
          after signing by crlf_base64); EPES with the v4.3 policy.
  dss     EU DSS (Hacienda's MensajeHacienda): XPath filter
          not(ancestor-or-self::ds:Signature) then exclusive C14N, SHA-1
          CertDigest, no policy (XAdES-BES), SigningTime in UTC with Z.
  sha1 | sha384 | sha512
          the net style with that digest everywhere (references, CertDigest)
          and RSA-SHA1 / RSA-SHA384 / RSA-SHA512.
Options (after ESTILO): --policy-id URI --policy-hash B64 --policy-alg URI
  --no-policy --signing-time TEXT.
"""
import base64
import hashlib
import subprocess
import sys
import uuid

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
INCL = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXCL = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = DS + "enveloped-signature"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
DIGESTS = {
    "sha1": (DS + "sha1", hashlib.sha1),
    "sha256": ("http://www.w3.org/2001/04/xmlenc#sha256", hashlib.sha256),
    "sha384": ("http://www.w3.org/2001/04/xmldsig-more#sha384", hashlib.sha384),
    "sha512": ("http://www.w3.org/2001/04/xmlenc#sha512", hashlib.sha512),
}
SIGNATURES = {
    "sha1": DS + "rsa-sha1",
    "sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
}
POLICY_44 = (
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/Resoluci%C3%B3n_General_sobre_"
    "disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf")
POLICY_43 = (
    "https://atv.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.3/Resoluci%C3%B3n_"
    "General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_"
    "tributarios.pdf")
POLICY_44_HASH = "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8="


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def cert_facts(pem_path):
    pem = open(pem_path, "rb").read()
    der = openssl("x509", "-outform", "DER", data=pem)
    issuer = openssl("x509", "-noout", "-issuer", "-nameopt", "RFC2253", data=pem).decode()
    serial = openssl("x509", "-noout", "-serial", data=pem).decode()
    modulus = openssl("x509", "-noout", "-modulus", data=pem).decode()
    n = bytes.fromhex(modulus.strip().split("=", 1)[1])
    return {
        "der": der,
        "b64": base64.b64encode(der).decode(),
        "issuer": issuer.strip().split("=", 1)[1],
        "serial": str(int(serial.strip().split("=", 1)[1], 16)),
        "modulus": base64.b64encode(n).decode(),
    }


def wrap(b64, width=76, eol="\n"):
    return eol.join(b64[i:i + width] for i in range(0, len(b64), width))


def main(argv):
    style, document, cert = argv[1], argv[2], argv[3]
    chain, options, rest = [], {}, argv[4:]
    i = 0
    while i < len(rest):
        if rest[i] == "--no-policy":
            options["no-policy"] = True
            i += 1
        elif rest[i].startswith("--"):
            options[rest[i][2:]] = rest[i + 1]
            i += 2
        else:
            chain.append(rest[i])
            i += 1

    digest = {"sha1": "sha1", "sha384": "sha384", "sha512": "sha512"}.get(style, "sha256")
    digest_uri, _ = DIGESTS[digest]
    cert_digest = "sha1" if style == "dss" else digest
    cert_digest_uri, cert_hash = DIGESTS[cert_digest]
    c14n = EXCL if style in ("java", "dss") else INCL
    close = " />" if style not in ("java", "dss") else "/>"
    gid = str(uuid.uuid4())
    sig_id = f"Signature-{gid}" if style != "java" else f"xmldsig-{gid}"
    sp_id = f"SignedProperties-{sig_id}" if style != "java" else f"{sig_id}-signedprops"
    ki_id = f"KeyInfoId-{sig_id}"
    facts = cert_facts(cert)
    chain_facts = [cert_facts(c) for c in chain]
    signing_time = options.get("signing-time",
                               "2024-05-02T10:15:30.123Z" if style == "dss" else
                               "2024-05-02T10:15:30-06:00")

    no_policy = options.get("no-policy") or style == "dss"
    if no_policy:
        policy = ""
    else:
        pid = options.get("policy-id", POLICY_43 if style == "java" else POLICY_44)
        palg = options.get("policy-alg", DIGESTS["sha256"][0])
        phash = options.get("policy-hash", POLICY_44_HASH)
        policy = (f'<xades:SignaturePolicyIdentifier><xades:SignaturePolicyId><xades:SigPolicyId>'
                  f'<xades:Identifier>{pid}</xades:Identifier></xades:SigPolicyId>'
                  f'<xades:SigPolicyHash><ds:DigestMethod Algorithm="{palg}"{close}'
                  f'<ds:DigestValue>{phash}</ds:DigestValue></xades:SigPolicyHash>'
                  f'</xades:SignaturePolicyId></xades:SignaturePolicyIdentifier>')

    if style == "dss":
        doc_transforms = (f'<ds:Transform Algorithm="{XPATH}"><ds:XPath>'
                          f'not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>'
                          f'<ds:Transform Algorithm="{EXCL}"{close}')
    elif style == "java":
        doc_transforms = f'<ds:Transform Algorithm="{ENVELOPED}"{close}<ds:Transform Algorithm="{EXCL}"{close}'
    else:
        doc_transforms = f'<ds:Transform Algorithm="{ENVELOPED}"{close}'
    props_transforms = (f'<ds:Transforms><ds:Transform Algorithm="{EXCL}"{close}</ds:Transforms>'
                        if style in ("java", "dss") else "")

    refs = [f'<ds:Reference Id="Reference-{gid}" URI=""><ds:Transforms>{doc_transforms}'
            f'</ds:Transforms><ds:DigestMethod Algorithm="{digest_uri}"{close}'
            f'<ds:DigestValue></ds:DigestValue></ds:Reference>']
    if style not in ("java", "dss"):
        refs.append(f'<ds:Reference Id="ReferenceKeyInfo" URI="#{ki_id}">'
                    f'<ds:DigestMethod Algorithm="{digest_uri}"{close}'
                    f'<ds:DigestValue></ds:DigestValue></ds:Reference>')
    refs.append(f'<ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#{sp_id}">'
                f'{props_transforms}<ds:DigestMethod Algorithm="{digest_uri}"{close}'
                f'<ds:DigestValue></ds:DigestValue></ds:Reference>')

    certs = "".join(f"<ds:X509Certificate>{f['b64']}</ds:X509Certificate>"
                    for f in [facts] + chain_facts)
    key_value = (f"<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{facts['modulus']}</ds:Modulus>"
                 f"<ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>"
                 if style not in ("java", "dss") else "")
    signature = (
        f'<ds:Signature xmlns:ds="{DS}" Id="{sig_id}">'
        f'<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"{close}'
        f'<ds:SignatureMethod Algorithm="{SIGNATURES[digest]}"{close}{"".join(refs)}</ds:SignedInfo>'
        f'<ds:SignatureValue Id="SignatureValue-{sig_id}"></ds:SignatureValue>'
        f'<ds:KeyInfo Id="{ki_id}"><ds:X509Data>{certs}</ds:X509Data>{key_value}</ds:KeyInfo>'
        f'<ds:Object Id="XadesObjectId-{gid}"><xades:QualifyingProperties xmlns:xades="{XADES}" '
        f'Id="QualifyingProperties-{gid}" Target="#{sig_id}">'
        f'<xades:SignedProperties Id="{sp_id}"><xades:SignedSignatureProperties>'
        f'<xades:SigningTime>{signing_time}</xades:SigningTime>'
        f'<xades:SigningCertificate><xades:Cert><xades:CertDigest>'
        f'<ds:DigestMethod Algorithm="{cert_digest_uri}"{close}'
        f'<ds:DigestValue>{base64.b64encode(cert_hash(facts["der"]).digest()).decode()}'
        f'</ds:DigestValue></xades:CertDigest><xades:IssuerSerial>'
        f'<ds:X509IssuerName>{facts["issuer"]}</ds:X509IssuerName>'
        f'<ds:X509SerialNumber>{facts["serial"]}</ds:X509SerialNumber>'
        f'</xades:IssuerSerial></xades:Cert></xades:SigningCertificate>{policy}'
        f'<xades:SignerRole><xades:ClaimedRoles><xades:ClaimedRole>emisor</xades:ClaimedRole>'
        f'</xades:ClaimedRoles></xades:SignerRole></xades:SignedSignatureProperties>'
        f'<xades:SignedDataObjectProperties><xades:DataObjectFormat '
        f'ObjectReference="#Reference-{gid}"><xades:MimeType>text/xml</xades:MimeType>'
        f'<xades:Encoding>UTF-8</xades:Encoding></xades:DataObjectFormat>'
        f'</xades:SignedDataObjectProperties></xades:SignedProperties>'
        f'</xades:QualifyingProperties></ds:Object></ds:Signature>')

    text = open(document, encoding="utf-8").read()
    end = text.rstrip().rfind("</")
    out = text[:end] + signature + text[end:]
    if style == "java":
        out = out.replace('<?xml version="1.0" encoding="UTF-8"?>',
                          '<?xml version="1.0" encoding="UTF-8" standalone="no"?>', 1)
        out = out.replace("\r\n", "\n").replace("\n", "\r\n")
    sys.stdout.write(out)


def crlf_base64(path):
    """After signing: the values of SignatureValue, X509Certificate and Modulus
    wrapped at 76 columns with "&#13;" and a line feed, as Java writes them
    (none of them is signed in this style), and every line end CRLF again
    (xmlsec1 writes LF; a parser reads CRLF as LF, so no digest changes)."""
    text = open(path, encoding="utf-8", newline="").read().replace("\r\n", "\n")
    for tag in ("ds:SignatureValue", "ds:X509Certificate", "ds:Modulus"):
        parts, pos = [], 0
        while True:
            start = text.find("<" + tag, pos)
            if start < 0:
                break
            open_end = text.find(">", start) + 1
            close = text.find("</" + tag + ">", open_end)
            value = "".join(text[open_end:close].split()).replace("&#13;", "")
            parts.append(text[pos:open_end] + wrap(value, 76, "&#13;\n"))
            pos = close
        text = "".join(parts) + text[pos:]
    open(path, "w", encoding="utf-8", newline="").write(text.replace("\n", "\r\n"))


if __name__ == "__main__":
    if sys.argv[1] == "crlf-base64":
        crlf_base64(sys.argv[2])
    else:
        main(sys.argv)
