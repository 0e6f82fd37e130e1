// The Herramienta Gratuita in a real browser (issue 11; docs/herramienta.md):
// a taxpayer generates a key in pruebas with "Soy usuario del Facturador
// Gratuito de Hacienda" ticked, emits a factura from the portal's form, sees
// it aceptado in Emitidos and downloads its signed XML and its PDF, emits a nota de
// crédito against it from its page and sees it aceptado, and searches Emitidos; a
// negative quantity is shown beside its field and emits nothing; Emitir (also a factura
// de compra) works with JavaScript off on a phone; axe-core finds nothing on each new page.
// Recibidos: a second taxpayer emits a factura to the first through the tool; the
// first sees it in Comprobantes recibidos and rejects it with a reason (JavaScript
// off, on a phone), and the answer (a MensajeReceptor) is aceptado.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { Env, FIRST, SECOND, eventually, login, mainText, menu, shot, submit } from './helpers.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };
const TIMEOUT = { timeout: 300_000 };
const HERRAMIENTA = 'Herramienta Gratuita';

let env;
before(async () => { env = new Env(); await env.start(); }, { timeout: 300_000 });
after(async () => { await env?.stop(); });

const pathOf = (page) => new URL(page.url()).pathname;
const emitted = () => Number(env.sql('select count(*) from emitidos'));

// axe-core on the page as it is (as e2e/portal-ux.test.mjs does it).
// A signed document the tool made, verified by npm xadesjs, the second XAdES
// implementation the signature tests use (tests/xades/xadesjs.mjs): exit 0
// when its references and SignatureValue hold with the KeyInfo's certificate.
function verifiedByXadesjs(path) {
  const script = new URL('../tests/xades/xadesjs.mjs', import.meta.url).pathname;
  execFileSync('node', [script, 'verificar', path], { stdio: 'pipe' });
  return true;
}

async function axe(page, name, { javaScriptEnabled = true } = {}) {
  await page.evaluate(AXE);
  if (!javaScriptEnabled) {
    await page.evaluate(() => {
      window.setTimeout = (fn, _ms, ...args) => { Promise.resolve().then(() => fn(...args)); return 0; };
      window.clearTimeout = () => {};
    });
  }
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `axe en ${name} (${page.url()})`);
}

async function open({ javaScriptEnabled = true, viewport, who = FIRST } = {}) {
  const context = await env.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  await login(page, who.id, who.password);
  assert.equal(pathOf(page), '/portal');
  return { context, page };
}

const label = (page, text) => page.getByLabel(text, { exact: true });

// The form's common part: a factura to a física receptor, in colones.
async function fillHeader(page) {
  await label(page, 'Tipo de comprobante').selectOption('01');
  await label(page, 'Tipo de identificación del receptor').selectOption('01');
  await label(page, 'Número de identificación del receptor').fill('2-0456-0789');
  await label(page, 'Nombre del receptor').fill('ANA MORA SOLÍS');
  await label(page, 'Otras señas').fill('Avenida 2, calles 5 y 7');
}

async function fillLine(page, n, { cabys = '8313100000000', detalle, cantidad, precio, descuento = '', razon = '' }) {
  await label(page, `Código CABYS (línea ${n})`).fill(cabys);
  await label(page, `Descripción (línea ${n})`).fill(detalle);
  await label(page, `Cantidad (línea ${n})`).fill(cantidad);
  await label(page, `Precio unitario (línea ${n})`).fill(precio);
  await label(page, `Descuento (monto, opcional) (línea ${n})`).fill(descuento);
  await label(page, `Razón del descuento (línea ${n})`).fill(razon);
}

test('sin llave en custodia: la página lo dice y solo ofrece Generar', TIMEOUT, async () => {
  const { context, page } = await open();
  await menu(page, HERRAMIENTA, 'Emitir comprobante en pruebas');
  const text = await mainText(page);
  assert.match(text, /No tiene una llave criptográfica guardada para firmar automáticamente en pruebas/);
  assert.equal(await page.locator('main form').count(), 0, 'ningún formulario');
  assert.equal(await page.locator('main a').count(), 1, 'solo el enlace a Generar');
  await axe(page, 'sin llave');
  await submit(page, page.getByRole('link', { name: 'Generar llave criptográfica en pruebas' }));
  assert.equal(pathOf(page), '/llaves/pruebas/generar');
  await context.close();
});

test('emitir una factura de tres líneas con descuento: aceptada, su XML se descarga', TIMEOUT, async () => {
  const { context, page } = await open();
  // A key with the Facturador Gratuito box ticked, downloaded.
  await page.goto('/llaves/pruebas/generar');
  await label(page, '1. Debe crear un "PIN" que contenga 4 números:').fill('2580');
  await label(page, '2. Debe escribir nuevamente el PIN para confirmar:').fill('2580');
  await page.locator('#facturador').check();
  await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
  await submit(page, page.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
  const [p12] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Descargar' }).click()]);
  assert.equal(await p12.failure(), null);

  await menu(page, HERRAMIENTA, 'Emitir comprobante en pruebas');
  assert.equal(pathOf(page), '/herramienta/pruebas/emitir');
  await axe(page, 'emitir');

  // A negative quantity: the message beside the field, nothing emitted.
  await fillHeader(page);
  await fillLine(page, 1, { detalle: 'Consultoría', cantidad: '-1', precio: '1000' });
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(page), '/herramienta/pruebas/emitir');
  assert.match(await page.title(), /^Error: \[PRUEBAS\]/);
  const cantidad = label(page, 'Cantidad (línea 1)');
  assert.equal(await cantidad.getAttribute('aria-invalid'), 'true');
  assert.equal(await cantidad.inputValue(), '-1', 'el valor escrito se conserva');
  const described = (await cantidad.getAttribute('aria-describedby')).split(' ');
  assert.ok(described.includes('linea1_cantidad-error'));
  assert.match(await page.locator('#linea1_cantidad-error').innerText(), /la cantidad debe ser mayor que cero/);
  assert.match(await page.locator('.resumen-errores').innerText(), /Hay un problema/);
  assert.equal(emitted(), 0, 'nada emitido');
  await axe(page, 'emitir con error');
  await shot(page, 'herramienta-error');

  // Three lines, one with a discount; the values typed are kept.
  assert.equal(await label(page, 'Nombre del receptor').inputValue(), 'ANA MORA SOLÍS');
  await fillLine(page, 1, { detalle: 'Consultoría', cantidad: '2', precio: '15000', descuento: '1000', razon: 'Cliente frecuente' });
  await fillLine(page, 2, { cabys: '4321000000000', detalle: 'Teclado', cantidad: '1', precio: '12500.50' });
  await fillLine(page, 3, { detalle: 'Soporte', cantidad: '1.5', precio: '8000' });
  const before = emitted();
  // A double click: one comprobante. The second click's POST aborts the
  // navigation of the first, so wait for whichever page lands, and for the
  // server to finish the first POST (it goes on when the browser leaves).
  await page.getByRole('button', { name: 'Emitir', exact: true }).dblclick();
  assert.ok(await eventually(() => pathOf(page) !== '/herramienta/pruebas/emitir', 30_000),
    'la emisión lleva a otra página');
  await page.waitForLoadState('domcontentloaded');
  assert.ok(await eventually(() => emitted() === before + 1, 30_000), 'el comprobante se emitió');
  await page.waitForTimeout(1000);
  assert.equal(emitted(), before + 1, 'un doble clic emite un solo comprobante');

  await menu(page, HERRAMIENTA, 'Comprobantes emitidos en pruebas');
  let row;
  for (let i = 0; i < 60; i++) {
    row = page.locator('#emitidos tbody tr').first();
    if (/aceptado/.test(await row.innerText())) break;
    await page.waitForTimeout(500);
    await page.reload();
  }
  const rowText = await row.innerText();
  assert.match(rowText, /aceptado/);
  assert.match(rowText, /ANA MORA SOLÍS/);
  assert.match(rowText, /Factura electrónica 00100001010000000001/);
  await axe(page, 'emitidos');
  await shot(page, 'herramienta-emitidos');

  await submit(page, row.getByRole('link'));
  assert.equal(pathOf(page), '/herramienta/pruebas/comprobante');
  assert.match(await page.locator('#estado').innerText(), /aceptado/);
  await axe(page, 'comprobante');
  const [xml] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Comprobante firmado (XML)' }).click()]);
  const text = readFileSync(await xml.path(), 'utf8');
  assert.match(text, /<FacturaElectronica /);
  assert.match(text, /<MontoDescuento>1000\.00000<\/MontoDescuento>/);
  assert.equal((text.match(/<LineaDetalle>/g) || []).length, 3);
  assert.match(text, /ds:Signature|<Signature/);
  assert.ok(verifiedByXadesjs(await xml.path()), 'xadesjs verifica la factura firmada');
  const [respuesta] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: /MensajeHacienda/ }).click()]);
  assert.match(readFileSync(await respuesta.path(), 'utf8'), /aceptado/);
  // The PDF, read back with pdftotext: the clave, the receptor and TotalComprobante.
  const clave = text.match(/<Clave>(\d{50})<\/Clave>/)[1];
  const total = text.match(/<TotalComprobante>([\d.]+)<\/TotalComprobante>/)[1];
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Descargar PDF/ }).click()]);
  assert.equal(pdf.suggestedFilename(), `${clave}.pdf`);
  const pdfText = execFileSync('pdftotext', ['-layout', await pdf.path(), '-'], { encoding: 'utf8' });
  assert.ok(pdfText.includes(clave), pdfText);
  assert.match(pdfText, /ANA MORA SOLÍS/);
  assert.ok(pdfText.includes(total), pdfText);
  assert.match(pdfText, /aceptado/);

  // Its page shows what was signed: the three lines and the totals.
  assert.equal(await page.locator('#lineas tbody tr').count(), 3);
  assert.ok((await page.locator('#totales').innerText()).includes(total));
  const facturaPage = page.url();

  // A nota de crédito against it, from its page: the kind and the clave come prefilled.
  await submit(page, page.getByRole('link', { name: 'Emitir nota de crédito' }));
  assert.equal(pathOf(page), '/herramienta/pruebas/emitir');
  assert.equal(await label(page, 'Tipo de comprobante').inputValue(), '03');
  assert.equal(await label(page, 'Clave del comprobante al que se refiere la nota').inputValue(), clave);
  await label(page, 'Razón de la nota').fill('Devolución del teclado');
  await label(page, 'Otras señas').fill('Avenida 2, calles 5 y 7');
  await fillLine(page, 1, { cabys: '4321000000000', detalle: 'Teclado devuelto', cantidad: '1', precio: '12500.50' });
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(page), '/herramienta/pruebas/comprobante');
  assert.match(await page.locator('main h1').innerText(), /Nota de crédito electrónica 00100001030000000001/);
  for (let i = 0; i < 60 && !/aceptado/.test(await page.locator('#estado').innerText()); i++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.match(await page.locator('#estado').innerText(), /aceptado/);
  const referencia = await page.locator('#referencia').innerText();
  assert.ok(referencia.includes(clave), referencia);
  assert.match(referencia, /Factura electrónica 00100001010000000001/);
  assert.equal(await page.getByRole('link', { name: 'Emitir nota de crédito' }).count(), 0, 'no se ofrece una nota de una nota');
  const [notaXml] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Comprobante firmado (XML)' }).click()]);
  assert.match(readFileSync(await notaXml.path(), 'utf8'), /<NotaCreditoElectronica /);
  assert.ok(verifiedByXadesjs(await notaXml.path()), 'xadesjs verifica la nota de crédito firmada');
  await axe(page, 'nota de crédito');
  await submit(page, page.locator('#referencia').getByRole('link'));
  assert.equal(page.url(), facturaPage);

  // Emitidos searched by receptor, state and date; the search is kept in the form.
  await page.goto('/herramienta/pruebas/emitidos');
  await label(page, 'Receptor o proveedor').fill('ana mora');
  await label(page, 'Estado').selectOption('aceptado');
  await submit(page, page.getByRole('button', { name: 'Buscar' }));
  let rows = await page.locator('#emitidos tbody tr').allInnerTexts();
  assert.equal(rows.length, 1, rows.join('\n'));
  assert.match(rows[0], /Factura electrónica 00100001010000000001/);
  assert.equal(await label(page, 'Receptor o proveedor').inputValue(), 'ana mora');
  await axe(page, 'emitidos buscados');
  await label(page, 'Receptor o proveedor').fill('');
  await submit(page, page.getByRole('button', { name: 'Buscar' }));
  assert.equal(await page.locator('#emitidos tbody tr').count(), 2, 'la factura y la nota, aceptadas');
  await label(page, 'Estado').selectOption('rechazado');
  await submit(page, page.getByRole('button', { name: 'Buscar' }));
  assert.match(await mainText(page), /Ningún comprobante coincide con la búsqueda/);
  // A malformed date: its message beside the field, not a 500.
  const bad = await page.goto('/herramienta/pruebas/emitidos?desde=2026-13-45&estado=aceptado');
  assert.equal(bad.status(), 400);
  const desde = label(page, 'Desde');
  assert.equal(await desde.getAttribute('aria-invalid'), 'true');
  assert.equal(await desde.inputValue(), '2026-13-45');
  assert.match(await page.locator('#desde-error').innerText(), /La fecha «desde» no es válida: escríbala como AAAA-MM-DD/);
  assert.match(await page.title(), /^Error: /);
  await axe(page, 'emitidos con fecha mal escrita');

  // Dejar de firmar automáticamente: check before you act.
  await page.goto('/herramienta/pruebas/detener');
  await axe(page, 'detener');
  assert.match(await mainText(page), /No se puede deshacer/);
  await submit(page, page.getByRole('button', { name: 'Dejar de firmar' }));
  assert.equal(pathOf(page), '/herramienta/pruebas/detenida');
  await axe(page, 'detenida');
  assert.equal(env.keys(FIRST.id).find((k) => k.ambiente === 'pruebas' && k.estado === 'activa') !== undefined, true,
    'la llave sigue activa');
  await page.goto('/herramienta/pruebas/emitir');
  assert.match(await mainText(page), /No tiene una llave criptográfica guardada/);
  await context.close();
});

test('Emitir sin JavaScript en un teléfono: Agregar línea, error y emisión', TIMEOUT, async () => {
  const { context, page } = await open({ javaScriptEnabled: false, viewport: PHONE });
  // A new key with the box ticked (the previous one stopped signing).
  await page.goto('/llaves/pruebas/generar');
  await label(page, '1. Debe crear un "PIN" que contenga 4 números:').fill('1357');
  await label(page, '2. Debe escribir nuevamente el PIN para confirmar:').fill('1357');
  await page.locator('#facturador').check();
  await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
  await submit(page, page.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
  const [p12] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Descargar' }).click()]);
  assert.equal(await p12.failure(), null);

  await page.goto('/herramienta/pruebas/emitir');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `sin desplazamiento lateral (${width})`);
  await axe(page, 'emitir teléfono sin JS', { javaScriptEnabled: false });
  await fillHeader(page);
  await fillLine(page, 1, { detalle: 'Consultoría', cantidad: '1', precio: '1000' });
  assert.equal(await page.locator('fieldset.linea').count(), 3);
  await submit(page, page.getByRole('button', { name: 'Agregar línea' }));
  assert.equal(await page.locator('fieldset.linea').count(), 4, 'una línea más');
  assert.equal(await label(page, 'Descripción (línea 1)').inputValue(), 'Consultoría', 'los valores se conservan');
  await label(page, 'Cantidad (línea 1)').fill('-2');
  const before = emitted();
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(await label(page, 'Cantidad (línea 1)').getAttribute('aria-invalid'), 'true');
  assert.equal(emitted(), before);
  await axe(page, 'emitir teléfono con error', { javaScriptEnabled: false });
  await shot(page, 'herramienta-telefono-error');
  await label(page, 'Cantidad (línea 1)').fill('2');
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(page), '/herramienta/pruebas/comprobante');
  assert.equal(emitted(), before + 1);
  await axe(page, 'comprobante teléfono sin JS', { javaScriptEnabled: false });

  // A factura electrónica de compra: without its proveedor, a message beside the field.
  await page.goto('/herramienta/pruebas/emitir');
  await label(page, 'Tipo de comprobante').selectOption('08');
  await label(page, 'Otras señas').fill('Avenida 2, calles 5 y 7');
  await fillLine(page, 1, { detalle: 'Café en grano', cantidad: '10', precio: '3500' });
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  const proveedor = label(page, 'Número de identificación del proveedor');
  assert.equal(await proveedor.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#proveedor_identificacion-error').innerText(), /identificación del proveedor/);
  assert.equal(emitted(), before + 1, 'nada emitido');
  await proveedor.fill('1-0234-0567');
  await label(page, 'Nombre del proveedor').fill('JUAN PÉREZ, PRODUCTOR DE CAFÉ');
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(page), '/herramienta/pruebas/comprobante');
  assert.match(await page.locator('main h1').innerText(), /Factura electrónica de compra 00100001080000000001/);
  assert.match(await mainText(page), /Emisor JUAN PÉREZ, PRODUCTOR DE CAFÉ \(102340567\)/);
  assert.equal(emitted(), before + 2);
  await page.goto('/herramienta/pruebas/emitidos');
  await axe(page, 'emitidos teléfono sin JS', { javaScriptEnabled: false });
  await context.close();
});

// A key with the Facturador Gratuito box ticked, downloaded.
async function keepKey(page, pin) {
  await page.goto('/llaves/pruebas/generar');
  await label(page, '1. Debe crear un "PIN" que contenga 4 números:').fill(pin);
  await label(page, '2. Debe escribir nuevamente el PIN para confirmar:').fill(pin);
  await page.locator('#facturador').check();
  await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
  await submit(page, page.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
  const [p12] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Descargar' }).click()]);
  assert.equal(await p12.failure(), null);
}

test('Recibidos: una factura de otro contribuyente se rechaza con motivo, sin JavaScript en un teléfono', TIMEOUT, async () => {
  // The second taxpayer emits a factura to the first through the tool.
  const seller = await open({ who: SECOND });
  await keepKey(seller.page, '4680');
  await seller.page.goto('/herramienta/pruebas/emitir');
  await label(seller.page, 'Tipo de comprobante').selectOption('01');
  await label(seller.page, 'Tipo de identificación del receptor').selectOption('01');
  await label(seller.page, 'Número de identificación del receptor').fill(FIRST.id);
  await label(seller.page, 'Nombre del receptor').fill('CONTRIBUYENTE PEÑA DE PRUEBA');
  await label(seller.page, 'Otras señas').fill('Barrio Escalante, 100 m norte');
  await fillLine(seller.page, 1, { detalle: 'Diseño de logotipo', cantidad: '1', precio: '50000' });
  await submit(seller.page, seller.page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(seller.page), '/herramienta/pruebas/comprobante');
  const clave = new URL(seller.page.url()).searchParams.get('clave');
  await seller.context.close();
  assert.ok(await eventually(() => env.sql(`select estado from comprobantes where clave = '${clave}'`) === 'aceptado', 30_000),
    'Hacienda acepta la factura');

  // The first taxpayer (its key kept by the previous test) answers it.
  const { context, page } = await open({ javaScriptEnabled: false, viewport: PHONE });
  await menu(page, HERRAMIENTA, 'Comprobantes recibidos en pruebas');
  assert.equal(pathOf(page), '/herramienta/pruebas/recibidos');
  const row = page.locator('#recibidos tbody tr').first();
  const rowText = await row.innerText();
  assert.match(rowText, /ANA MORA SOLÍS/);
  assert.match(rowText, /Factura electrónica 00100001010000000001/);
  assert.match(rowText, /sin responder/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `sin desplazamiento lateral (${width})`);
  await axe(page, 'recibidos teléfono sin JS', { javaScriptEnabled: false });

  await submit(page, row.getByRole('link'));
  assert.equal(pathOf(page), '/herramienta/pruebas/recibido');
  assert.ok((await mainText(page)).includes(clave));
  await axe(page, 'recibido teléfono sin JS', { javaScriptEnabled: false });

  // Rechazar without a reason: the message beside Motivo, nothing sent.
  const answers = () => Number(env.sql("select count(*) from emitidos where tipo in ('05','06','07')"));
  await page.getByLabel('Rechazar', { exact: true }).check();
  await submit(page, page.getByRole('button', { name: 'Enviar respuesta' }));
  assert.match(await page.title(), /^Error: \[PRUEBAS\]/);
  const motivo = label(page, 'Motivo');
  assert.equal(await motivo.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#detalle-error').innerText(), /Escriba el motivo del rechazo/);
  assert.match(await page.locator('.resumen-errores').innerText(), /Escriba el motivo del rechazo/);
  assert.equal(await page.getByLabel('Rechazar', { exact: true }).isChecked(), true, 'la elección se conserva');
  assert.equal(answers(), 0, 'nada enviado');
  await axe(page, 'recibido con error', { javaScriptEnabled: false });
  await shot(page, 'herramienta-recibido-error');

  await motivo.fill('El servicio no fue contratado');
  await submit(page, page.getByRole('button', { name: 'Enviar respuesta' }));
  assert.equal(pathOf(page), '/herramienta/pruebas/recibido');
  assert.match(await page.locator('#aviso').innerText(), /Su respuesta fue firmada y enviada/);
  assert.equal(answers(), 1);
  assert.equal(await page.getByRole('button', { name: 'Enviar respuesta' }).count(), 0, 'se responde una sola vez');
  let answer;
  for (let i = 0; i < 60; i++) {
    answer = await page.locator('#su-respuesta').innerText();
    if (/Estado del mensaje en Hacienda\s+aceptado/.test(answer)) break;
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.match(answer, /rechazado/);
  assert.match(answer, /El servicio no fue contratado/);
  assert.match(answer, /Estado del mensaje en Hacienda\s+aceptado/);
  assert.match(answer, /00100001070000000001/);
  await axe(page, 'recibido respondido', { javaScriptEnabled: false });
  await shot(page, 'herramienta-recibido-respondido');
  const [xml] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: /mensaje receptor/ }).click()]);
  const text = readFileSync(await xml.path(), 'utf8');
  assert.match(text, /<MensajeReceptor /);
  assert.match(text, /<Mensaje>3<\/Mensaje>/);
  assert.ok(verifiedByXadesjs(await xml.path()), 'xadesjs verifica el MensajeReceptor firmado');
  assert.ok(text.includes(`<Clave>${clave}</Clave>`));

  await page.goto('/herramienta/pruebas/recibidos');
  assert.match(await page.locator('#recibidos tbody tr').first().innerText(), /rechazado \(mensaje aceptado\)/);
  // The answer is not a comprobante emitido.
  await page.goto('/herramienta/pruebas/emitidos');
  assert.doesNotMatch(await mainText(page), /00100001070000000001/);
  await context.close();

  // The seller cannot see the buyer's received document.
  const other = await open({ who: SECOND });
  const response = await other.page.goto(`/herramienta/pruebas/recibido?clave=${clave}`);
  assert.equal(response.status(), 404);
  await other.context.close();
});

// Clientes and Productos (docs/herramienta.md): kept per taxpayer and
// environment, checked by Emitir's own rules, they fill Emitir without
// JavaScript; another taxpayer can neither see nor change them.
test('Clientes y Productos: agregar, llenar Emitir con ellos, emitir; editar, borrar; ajenos, 404', TIMEOUT, async () => {
  const js = { javaScriptEnabled: false };
  const { context, page } = await open(js);
  const count = (table) => Number(env.sql(`select count(*) from ${table}`));
  const save = () => submit(page, page.getByRole('button', { name: 'Guardar', exact: true }));

  await menu(page, HERRAMIENTA, 'Clientes en pruebas');
  assert.equal(pathOf(page), '/herramienta/pruebas/clientes');
  assert.match(await mainText(page), /Aún no ha guardado clientes en pruebas/);
  await axe(page, 'clientes vacía', js);
  await submit(page, page.getByRole('link', { name: 'Agregar cliente' }));
  // An identification that is not of the type chosen: beside the field, nothing saved.
  await label(page, 'Tipo de identificación').selectOption('01');
  await label(page, 'Número de identificación').fill('3-101-522899');
  await label(page, 'Nombre o razón social').fill('EMPRESA DE PRUEBA S.A.');
  await save();
  assert.equal(pathOf(page), '/herramienta/pruebas/clientes/nuevo');
  const numero = label(page, 'Número de identificación');
  assert.equal(await numero.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#identificacion-error').innerText(), /no es del tipo elegido: es Jurídica/);
  assert.equal(await label(page, 'Nombre o razón social').inputValue(), 'EMPRESA DE PRUEBA S.A.');
  assert.equal(count('clientes'), 0);
  await axe(page, 'cliente con error', js);
  await label(page, 'Tipo de identificación').selectOption('02');
  await label(page, 'Correo electrónico (opcional)').fill('pagos@example.com');
  await save();
  assert.equal(pathOf(page), '/herramienta/pruebas/clientes');
  assert.match(await mainText(page), /El cliente se guardó/);
  assert.match(await page.locator('#clientes').innerText(), /EMPRESA DE PRUEBA S\.A\.\s+3-101-522899 \(Cédula jurídica\)/);
  await axe(page, 'clientes', js);
  // The same identification again, written otherwise: refused with its owner's name.
  await submit(page, page.getByRole('link', { name: 'Agregar cliente' }));
  await label(page, 'Tipo de identificación').selectOption('02');
  await label(page, 'Número de identificación').fill('3101522899');
  await label(page, 'Nombre o razón social').fill('Otra empresa');
  await save();
  assert.match(await page.locator('#identificacion-error').innerText(),
    /Ya tiene un cliente con esa identificación: EMPRESA DE PRUEBA S\.A\./);
  assert.equal(count('clientes'), 1);

  await menu(page, HERRAMIENTA, 'Productos en pruebas');
  await submit(page, page.getByRole('link', { name: 'Agregar producto' }));
  await label(page, 'Código CABYS').fill('83131');
  await label(page, 'Descripción').fill('Consultoría en facturación');
  await label(page, 'Unidad de medida').selectOption('h');
  await label(page, 'Precio unitario').fill('25000');
  await label(page, 'Tarifa de IVA').selectOption('08');
  await save();
  assert.match(await page.locator('#cabys-error').innerText(), /El código CABYS tiene 13 dígitos/);
  assert.equal(count('productos'), 0);
  await axe(page, 'producto con error', js);
  await label(page, 'Código CABYS').fill('8313100000000');
  await save();
  assert.equal(pathOf(page), '/herramienta/pruebas/productos');
  assert.match(await page.locator('#productos').innerText(), /Consultoría en facturación\s+8313100000000\s+Hora\s+25000\s+13 %/);
  await axe(page, 'productos', js);

  // Emitir: the receptor and line 1 filled from the lists, still editable.
  await page.goto('/herramienta/pruebas/emitir');
  await label(page, 'Cliente guardado').selectOption({ label: 'EMPRESA DE PRUEBA S.A. (3-101-522899)' });
  await submit(page, page.getByRole('button', { name: 'Usar este cliente' }));
  assert.equal(await label(page, 'Tipo de identificación del receptor').inputValue(), '02');
  assert.equal(await label(page, 'Número de identificación del receptor').inputValue(), '3-101-522899');
  assert.equal(await label(page, 'Nombre del receptor').inputValue(), 'EMPRESA DE PRUEBA S.A.');
  assert.equal(await label(page, 'Correo electrónico del receptor (opcional)').inputValue(), 'pagos@example.com');
  await label(page, 'Producto guardado (línea 1)').selectOption({ label: 'Consultoría en facturación (25000 h)' });
  await submit(page, page.getByRole('button', { name: 'Usar este producto en la línea 1' }));
  assert.equal(await label(page, 'Código CABYS (línea 1)').inputValue(), '8313100000000');
  assert.equal(await label(page, 'Descripción (línea 1)').inputValue(), 'Consultoría en facturación');
  assert.equal(await label(page, 'Unidad de medida (línea 1)').inputValue(), 'h');
  assert.equal(await label(page, 'Precio unitario (línea 1)').inputValue(), '25000');
  assert.equal(await label(page, 'Nombre del receptor').inputValue(), 'EMPRESA DE PRUEBA S.A.', 'el receptor se conserva');
  await axe(page, 'emitir con listas', js);
  await shot(page, 'herramienta-emitir-con-listas');
  await label(page, 'Precio unitario (línea 1)').fill('26000');
  await label(page, 'Cantidad (línea 1)').fill('2');
  await label(page, 'Otras señas').fill('Avenida 2, calles 5 y 7');
  const before = emitted();
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(page), '/herramienta/pruebas/comprobante');
  assert.equal(emitted(), before + 1);
  for (let i = 0; i < 60 && !/aceptado/.test(await page.locator('#estado').innerText()); i++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.match(await page.locator('#estado').innerText(), /aceptado/);
  const [xml] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Comprobante firmado (XML)' }).click()]);
  const signed = readFileSync(await xml.path(), 'utf8');
  assert.match(signed, /<Receptor><Nombre>EMPRESA DE PRUEBA S\.A\.<\/Nombre><Identificacion><Tipo>02<\/Tipo><Numero>3101522899<\/Numero>/);
  assert.match(signed, /<CodigoCABYS>8313100000000<\/CodigoCABYS><Cantidad>2\.000<\/Cantidad><UnidadMedida>h<\/UnidadMedida><Detalle>Consultoría en facturación<\/Detalle><PrecioUnitario>26000\.00000<\/PrecioUnitario>/);

  // A typed receptor saved with "Guardar en mis clientes" when emitting.
  await page.goto('/herramienta/pruebas/emitir');
  await fillHeader(page);
  await label(page, 'Producto guardado (línea 1)').selectOption({ label: 'Consultoría en facturación (25000 h)' });
  await submit(page, page.getByRole('button', { name: 'Usar este producto en la línea 1' }));
  await label(page, 'Cantidad (línea 1)').fill('1');
  await label(page, 'Guardar en mis clientes').check();
  await submit(page, page.getByRole('button', { name: 'Emitir', exact: true }));
  assert.equal(pathOf(page), '/herramienta/pruebas/comprobante');
  assert.match(await mainText(page), /El receptor se guardó en sus clientes\./);
  assert.equal(count('clientes'), 2);

  // Edit, then delete after the confirmation.
  await page.goto('/herramienta/pruebas/clientes');
  await submit(page, page.getByRole('link', { name: 'Editar EMPRESA DE PRUEBA S.A.' }));
  await label(page, 'Nombre o razón social').fill('EMPRESA RENOMBRADA S.A.');
  await save();
  assert.match(await mainText(page), /El cliente se actualizó/);
  assert.match(await page.locator('#clientes').innerText(), /EMPRESA RENOMBRADA S\.A\./);
  const id = env.sql("select id from clientes where nombre = 'EMPRESA RENOMBRADA S.A.'");
  await submit(page, page.getByRole('link', { name: 'Borrar EMPRESA RENOMBRADA S.A.' }));
  assert.equal(pathOf(page), '/herramienta/pruebas/clientes/borrar');
  assert.match(await mainText(page), /¿Desea borrar «EMPRESA RENOMBRADA S\.A\.» de sus clientes en pruebas\?/);
  assert.equal(count('clientes'), 2, 'nada se borra antes de confirmar');
  await axe(page, 'borrar cliente', js);
  await submit(page, page.getByRole('button', { name: 'Borrar', exact: true }));
  assert.match(await mainText(page), /El cliente se borró/);
  assert.equal(count('clientes'), 1);
  assert.equal(env.sql("select count(*) from audit_log where action like 'herramienta.cliente.%'"), '4');

  // On a phone: no sideways scrolling.
  await page.setViewportSize(PHONE);
  for (const list of ['clientes', 'productos']) {
    await page.goto(`/herramienta/pruebas/${list}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `${list} sin desplazamiento lateral (${width})`);
    await axe(page, `${list} teléfono`, js);
  }
  await shot(page, 'herramienta-productos-telefono');
  await context.close();

  // Another taxpayer neither sees nor changes them: 404, nothing changed.
  const other = await env.newContext(js);
  const page2 = await other.newPage();
  await login(page2, SECOND.id, SECOND.password);
  await page2.goto('/herramienta/pruebas/productos');
  assert.match(await mainText(page2), /Aún no ha guardado productos en pruebas/);
  const producto = env.sql('select id from productos');
  const cliente = env.sql('select id from clientes');
  for (const path of [`productos/editar?id=${producto}`, `productos/borrar?id=${producto}`,
    `clientes/editar?id=${cliente}`, `clientes/borrar?id=${cliente}`]) {
    const response = await page2.goto(`/herramienta/pruebas/${path}`);
    assert.equal(response.status(), 404, path);
  }
  const csrf = await page2.locator('input[name=csrf]').first().getAttribute('value');
  const deleted = await page2.request.post('/herramienta/pruebas/productos/borrar',
    { form: { csrf, solicitud: 'otra-solicitud-1', id: producto }, maxRedirects: 0 });
  assert.equal(deleted.status(), 404);
  const edited = await page2.request.post('/herramienta/pruebas/clientes/editar',
    { form: { csrf, solicitud: 'otra-solicitud-2', id: cliente, tipo: '01', identificacion: '1-0647-0958', nombre: 'Cambiado', correo: '' }, maxRedirects: 0 });
  assert.equal(edited.status(), 404);
  assert.equal(count('productos'), 1);
  assert.equal(env.sql(`select nombre from clientes where id = ${cliente}`), 'ANA MORA SOLÍS');
  await other.close();
});
