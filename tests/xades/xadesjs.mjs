// npm xadesjs as a second, independent XAdES implementation for
// tests/xades/firmas_test.sh: it verifies what llavero signs, and signs what
// llavero must verify.
//
//   node xadesjs.mjs verificar FIRMADO.xml
//       exit 0 when xadesjs finds the signature valid with the key of the
//       certificate in its KeyInfo (references and SignatureValue), 1 if not
//   node xadesjs.mjs firmar epes|bes DOCUMENTO.xml LLAVE.pem CERT.pem SALIDA.xml [CADENA.pem...]
//       an enveloped signature (exclusive C14N, RSA-SHA256, SHA-256) with
//       SigningTime, SigningCertificate and SignerRole "emisor", and for epes
//       Hacienda's v4.4 policy with the SHA-256 of its PDF; KeyInfo holds the
//       certificate and then the chain. xadesjs omits the document
//       reference's URI and writes the issuer name in X.500 order.
import { readFileSync, writeFileSync } from "node:fs";
import * as xmldom from "@xmldom/xmldom";
import * as xadesjs from "xadesjs";

const POLICY =
  "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/Resoluci%C3%B3n_General_sobre_" +
  "disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf";
const POLICY_SHA256 = "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=";
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

xadesjs.Application.setEngine("NodeJS", globalThis.crypto);
xadesjs.setNodeDependencies({
  DOMParser: xmldom.DOMParser,
  XMLSerializer: xmldom.XMLSerializer,
  DOMImplementation: xmldom.DOMImplementation,
});

function pemBody(path) {
  return readFileSync(path, "utf8")
    .replace(/-----[^-]+-----/g, "")
    .replace(/\s+/g, "");
}

async function verify(path) {
  const doc = xadesjs.Parse(readFileSync(path, "utf8"));
  const signatures = doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Signature");
  if (signatures.length !== 1) throw new Error(`${signatures.length} firmas`);
  const signed = new xadesjs.SignedXml(doc);
  signed.LoadXml(signatures[0]);
  const certificate = signed.XmlSignature.KeyInfo.Item(0).Certificates[0];
  const key = await certificate.exportKey(RSA);
  return signed.Verify(key);
}

async function sign(kind, input, keyPath, certPath, output, ...chainPaths) {
  const doc = xadesjs.Parse(readFileSync(input, "utf8"));
  const key = await globalThis.crypto.subtle.importKey(
    "pkcs8",
    Buffer.from(pemBody(keyPath), "base64"),
    RSA,
    false,
    ["sign"],
  );
  const certificate = pemBody(certPath);
  const signed = new xadesjs.SignedXml();
  const options = {
    references: [{ hash: "SHA-256", transforms: ["enveloped", "exc-c14n"] }],
    x509: [certificate, ...chainPaths.map(pemBody)],
    signingCertificate: certificate,
    signerRole: { claimed: ["emisor"] },
  };
  if (kind === "epes")
    options.policy = { hash: "SHA-256", digestValue: POLICY_SHA256, identifier: { value: POLICY } };
  await signed.Sign(RSA, key, doc, options);
  doc.documentElement.appendChild(signed.GetXml());
  writeFileSync(output, new xmldom.XMLSerializer().serializeToString(doc));
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === "verificar") {
    const ok = await verify(args[0]);
    console.log(ok ? "xadesjs: firma válida" : "xadesjs: firma NO válida");
    process.exit(ok ? 0 : 1);
  } else if (command === "firmar") {
    await sign(...args);
  } else {
    console.error("uso: node xadesjs.mjs verificar ARCHIVO | firmar epes|bes DOC LLAVE CERT SALIDA");
    process.exit(2);
  }
} catch (e) {
  console.error(`xadesjs: ${e.message}`);
  process.exit(1);
}
