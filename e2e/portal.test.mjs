// The taxpayer portal in a real browser (issue 4; docs/p12.md, docs/portal.md): Debian's
// chromium driven by playwright-core, against a `llavero serve` that the
// tests start on a data directory of their own. Each test does what a user
// does (the form, the menus, the buttons) and checks what the user sees, and
// then what happened with independent tools: openssl (the .p12, OCSP), the
// `llavero` command (`llave estado --json`) and sqlite3 (the store).
//   bash e2e/run.sh build          (what `ctest -R browser` runs), or
//   LLAVERO=build/llavero SCREENSHOT_DIR=build/screenshots node --test e2e/
// The tests run in order and build on each other (one key's life).
// E2E_KEEP=1 keeps the data directory, E2E_SERVER_LOG=1 prints the server's
// log at the end, CHROMIUM=path picks another chromium binary.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';

import {
  Env, FIRST, SECOND, THIRD, T, argon2Verify, certField, certOfP12, eventually, login, mainText,
  menu, normSerial, ocsp, run, sha256hex, shot, submit,
} from './helpers.mjs';

const AMB = {
  pruebas: {
    name: 'pruebas', label: 'Pruebas', menu: 'Llave Criptográfica de Pruebas',
    generar: 'Generar llave criptográfica en pruebas', revocar: 'Revocar llave criptográfica en pruebas',
    contrasena: 'Generar contraseña en pruebas',
  },
  produccion: {
    name: 'produccion', label: 'Producción', menu: 'Llave Criptográfica de Producción',
    generar: 'Generar llave criptográfica en producción', revocar: 'Revocar llave criptográfica en producción',
    contrasena: 'Generar contraseña en producción',
  },
};
const ESTADO = 'Estado de mis llaves criptográficas';
const API_PASSWORD = /^[A-Za-z0-9!#$%&()+\-./:;=>?@[\]^_{|}]{20}$/;
const TIMEOUT = { timeout: 240_000 };

let env;
// What the tests share: a browser context per user, and what was issued.
const S = { contexts: {}, first: {} };

before(async () => {
  env = new Env();
  await env.start();
}, { timeout: 300_000 });
after(async () => {
  if (env && process.env.E2E_SERVER_LOG) console.log(env.serverLog());
  await env?.stop();
});

// --- helpers ---------------------------------------------------------------------

// The page of a user's browser (one context per KEY), logged in.
async function session(key, who, { javaScriptEnabled = true, identification = who.id } = {}) {
  let s = S.contexts[key];
  if (!s) {
    const context = await env.newContext({ javaScriptEnabled });
    s = S.contexts[key] = { context, page: await context.newPage() };
  }
  await s.page.goto('/portal');
  if (new URL(s.page.url()).pathname !== '/portal') {
    const r = await login(s.page, identification, who.password);
    assert.equal(new URL(s.page.url()).pathname, '/portal', `ingreso de ${who.id}: ${r?.status()} ${await mainText(s.page)}`);
  }
  return s.page;
}

const pathOf = (page) => new URL(page.url()).pathname;
const fullName = (who) => `${who.nombre} ${who.apellidos}`;
const keysOf = (who, amb) => env.keys(who.id).filter((k) => !amb || k.ambiente === amb.name);
const activeOf = (who, amb) => keysOf(who, amb).filter((k) => k.estado === 'activa');
const bySerial = (who, serial) => env.keys(who.id).find((k) => normSerial(k.serie) === normSerial(serial));
const taxpayerRow = (who) => `(select id from taxpayers where identification = '${who.id.replace(/-/g, '').replace(/^0/, '')}')`;

// Everything a rejected request must leave as it was.
function snapshot() {
  return {
    llaves: [FIRST, SECOND, THIRD].map((w) => JSON.stringify(env.keys(w.id))),
    db: env.sql("select 'auditoria', count(*) from audit_log union all select 'descargas', count(*) from pending_downloads " +
      "union all select 'certificados', count(*) from certificates union all select 'api', group_concat(password_hash) from api_credentials"),
  };
}

// Generar → Aceptar → Descargar, through the menu, as a user; checks the
// file with openssl and that a second download is refused. Returns the key.
async function generateAndDownload(page, who, amb, pin, tag, { screenshots = true, facturador = false } = {}) {
  const name = (what) => (screenshots ? `${tag}-${what}` : undefined);
  await menu(page, amb.menu, amb.generar, name(`menu-${amb.name}`));
  assert.equal(pathOf(page), `/llaves/${amb.name}/generar`);
  const form = await mainText(page);
  for (const text of ['Generar llave criptográfica', 'En esta sección puede Generar la llave criptográfica.',
    '1. Debe crear un "PIN" que contenga 4 números:', '2. Debe escribir nuevamente el PIN para confirmar:',
    '3. Debe dar clic para generar nueva llave criptográfica:', 'Soy usuario del Facturador Gratuito de Hacienda *',
    'NOTA:', amb.generar]) {
    assert.ok(form.includes(text), `el formulario Generar dice «${text}»; dice: ${form}`);
  }
  const before = keysOf(who, amb);
  await page.getByLabel('1. Debe crear un "PIN" que contenga 4 números:').fill(pin);
  await page.getByLabel('2. Debe escribir nuevamente el PIN para confirmar:').fill(pin);
  if (facturador) await page.getByLabel('Soy usuario del Facturador Gratuito de Hacienda *').check();
  if (screenshots) await shot(page, `${tag}-generar-formulario`);
  const generated = await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
  assert.equal(generated.status(), 200, await mainText(page));

  // The message of the guide, with its [Aceptar].
  const dialog = page.getByRole('alertdialog');
  assert.equal((await dialog.getByText(T.avisoDescargar, { exact: true }).count()), 1, await mainText(page));
  if (screenshots) await shot(page, `${tag}-aviso-descargar`);
  const after = keysOf(who, amb);
  assert.equal(after.length, before.length + 1, 'Generar emitió exactamente una llave');
  // The new key waits for its download; the old one is still active.
  const fresh = after.filter((k) => !before.some((b) => b.serie === k.serie));
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0].estado, 'pendiente', 'la nueva llave está pendiente de descarga');
  const oldActive = before.filter((k) => k.estado === 'activa');
  assert.deepEqual(after.filter((k) => k.estado === 'activa').map((k) => k.serie), oldActive.map((k) => k.serie),
    'la llave anterior sigue activa hasta la descarga');
  assert.equal(fresh[0].facturador_gratuito, facturador, 'la casilla del Facturador Gratuito quedó registrada');
  const active = fresh;

  await submit(page, dialog.getByRole('button', { name: 'Aceptar' }));
  assert.equal(pathOf(page), `/llaves/${amb.name}/generar/paso4`);
  const token = await page.locator('input[name=descarga]').inputValue();
  const tokenHash = await sha256hex(token);
  assert.equal(env.sql(`select count(*) from pending_downloads where token_hash = '${tokenHash}'`), '1',
    'el .p12 espera su descarga en el almacén');
  assert.equal(await page.getByText(T.paso4).count(), 1, await mainText(page));
  const descargar = page.getByRole('button', { name: 'Descargar' });
  assert.ok(await descargar.isVisible(), 'el botón Descargar se ve');
  if (screenshots) await shot(page, `${tag}-paso4-descargar`);

  const response = page.waitForResponse((r) => new URL(r.url()).pathname === '/llaves/descargar', { timeout: 5_000 }).catch(() => null);
  const [download] = await Promise.all([page.waitForEvent('download'), descargar.click()]);
  assert.equal(download.suggestedFilename(), who.p12, 'nombre del archivo (docs/p12.md)');
  const headers = (await response)?.headers();
  assert.ok(headers, 'la respuesta de la descarga');
  assert.equal(headers['content-disposition'], `attachment; filename="${who.p12}"`);
  assert.equal(headers['cache-control'], 'no-store');
  assert.equal(headers['content-type'], 'application/x-pkcs12');
  const file = join(env.files, `${tag}-${active[0].serie}-${download.suggestedFilename()}`);
  await download.saveAs(file);
  assert.equal(await download.failure(), null, 'la descarga terminó');

  // The file opens with openssl and the PIN; its subject is the taxpayer.
  const pem = `${file}.cert.pem`;
  certOfP12(file, pin, pem);
  const subject = certField(pem, '-subject', '-nameopt', 'utf8,sep_comma_plus');
  assert.ok(subject.includes(`serialNumber=CPF-${who.cpf}`), subject);
  assert.ok(subject.includes(`CN=${fullName(who)}`), subject);
  assert.equal(normSerial(certField(pem, '-serial')), normSerial(active[0].serie), 'el archivo trae la llave activa');
  const wrongPin = run('openssl', ['pkcs12', '-in', file, '-passin', `pass:${pin === '0000' ? '1111' : '0000'}`, '-nokeys']);
  assert.notEqual(wrongPin.status, 0, 'otro PIN no abre el archivo');

  // Kept until the first complete download, then wiped: a second attempt
  // gets the message, on the page.
  const wiped = await eventually(() => env.sql(`select count(*) from pending_downloads where token_hash = '${tokenHash}'`) === '0');
  assert.ok(wiped, 'el servidor borró el .p12 después de la descarga completa');
  // Now, and only now, the new key is the active one and the old one superseded.
  assert.equal(bySerial(who, active[0].serie).estado, 'activa', 'la descarga completa activó la llave');
  for (const k of oldActive) {
    assert.equal(bySerial(who, k.serie).estado, 'revocada');
    assert.equal(bySerial(who, k.serie).motivo, 'superseded');
  }
  assert.equal(activeOf(who, amb).length, 1, 'una sola llave activa');
  // Step 4 is still on the screen: a second Descargar gets the message, on
  // the page (410).
  const again = await submit(page, descargar);
  assert.equal(again.status(), 410);
  const message = await mainText(page);
  assert.ok(message.includes(T.noDisponible) && message.includes(T.generarNueva), message);
  if (screenshots) await shot(page, `${tag}-error-segunda-descarga`);
  // Back to step 4 shows what happened instead of offering the spent file.
  await page.goBack();
  assert.equal(pathOf(page), `/llaves/${amb.name}/generar/listo`);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Su llave criptográfica fue descargada');
  if (screenshots) await shot(page, `${tag}-descargada`);

  return { serial: active[0].serie, file, pem, pin, amb: amb.name };
}

// Revocar, through the menu: the question, [Aceptar], the answer.
async function revokeInPortal(page, amb, tag, { cancelFirst = false } = {}) {
  if (cancelFirst) {
    await menu(page, amb.menu, amb.revocar);
    await submit(page, page.getByRole('link', { name: 'Cancelar' }));
    assert.equal(pathOf(page), '/portal', 'Cancelar vuelve al inicio');
  }
  await menu(page, amb.menu, amb.revocar);
  assert.equal(pathOf(page), `/llaves/${amb.name}/revocar`);
  const text = await mainText(page);
  assert.ok(text.includes('En esta sección puede Revocar la llave criptográfica.'), text);
  assert.equal(await page.getByText(T.preguntaRevocar, { exact: true }).count(), 1, text);
  assert.ok(await page.getByRole('link', { name: 'Cancelar' }).isVisible());
  await shot(page, `${tag}-revocar-pregunta`);
  assert.ok(text.includes('Llave que se revocará'), 'la página nombra la llave');
  const r = await submit(page, page.getByRole('button', { name: 'Aceptar' }));
  assert.equal(r.status(), 200, await mainText(page));
  assert.equal(pathOf(page), `/llaves/${amb.name}/revocar/hecha`, 'Post/Redirect/Get');
  assert.equal(await page.getByText(T.revocada, { exact: true }).count(), 1, await mainText(page));
  await shot(page, `${tag}-revocada`);
  // Reload repeats nothing.
  const again = await page.reload();
  assert.equal(again.status(), 200);
}

// The rows of the key state page for one environment: serial → cells.
async function stateRows(page, amb) {
  const section = page.locator('section', { has: page.getByRole('heading', { name: `Llave Criptográfica de ${amb.label}` }) });
  const rows = {};
  for (const row of await section.locator('tbody tr').all()) {
    const cells = (await row.locator('td').allInnerTexts()).map((c) => c.trim());
    rows[normSerial(cells[0])] = { estado: cells[1], fecha: cells[2], motivo: cells[3] };
  }
  return { rows, text: (await section.innerText()).replace(/\s+/g, ' ') };
}

// Tests 1–3 as one function each, so that test 7 runs them again without
// JavaScript.
async function flowGenerate(page, who, amb, tag, keep) {
  keep.k1 = await generateAndDownload(page, who, amb, '4826', tag);
}

async function flowRevoke(page, who, amb, tag, keep) {
  assert.ok(keep.k1, 'hay una llave del paso anterior');
  const good = ocsp(env, amb.name, keep.k1.pem);
  assert.equal(good.status, 'good', good.text);
  assert.match(good.text, /Response verify OK/);
  assert.ok(good.url.startsWith(env.base), `la URL OCSP del certificado es la de este servidor: ${good.url}`);
  await revokeInPortal(page, amb, tag, { cancelFirst: true });
  const k = bySerial(who, keep.k1.serial);
  assert.equal(k.estado, 'revocada', JSON.stringify(k));
  assert.equal(activeOf(who, amb).length, 0, 'no queda llave activa');
  const revoked = ocsp(env, amb.name, keep.k1.pem);
  assert.equal(revoked.status, 'revoked', revoked.text);
  assert.match(revoked.text, /Response verify OK/);

  // Nothing left to revoke: the message on the same page, nothing changes.
  const before = snapshot();
  await menu(page, amb.menu, amb.revocar);
  assert.equal(pathOf(page), `/llaves/${amb.name}/revocar`);
  const error = await page.locator('#sin-llave').innerText();
  assert.match(error, /no hay nada que revocar/, `mensaje de nada que revocar: ${error}`);
  assert.equal(await page.getByRole('button', { name: 'Aceptar' }).count(), 0, 'no pregunta');
  await shot(page, `${tag}-error-nada-que-revocar`);
  assert.deepEqual(snapshot(), before, 'revocar sin llave activa no cambia nada');
}

async function flowRegenerate(page, who, amb, tag, keep) {
  assert.ok(keep.k1, 'hay una llave del paso anterior');
  keep.k2 = await generateAndDownload(page, who, amb, '1357', tag, { screenshots: false });
  // Generating with an active key revokes it (superseded) in the same step.
  keep.k3 = await generateAndDownload(page, who, amb, '2468', tag, { screenshots: false, facturador: true });
  const k2 = bySerial(who, keep.k2.serial);
  assert.equal(k2.estado, 'revocada', JSON.stringify(k2));
  assert.equal(k2.motivo, 'superseded', JSON.stringify(k2));
  const superseded = ocsp(env, amb.name, keep.k2.pem);
  assert.equal(superseded.status, 'revoked', superseded.text);
  assert.match(superseded.text, /Reason: superseded/);
  assert.equal(ocsp(env, amb.name, keep.k3.pem).status, 'good');

  await menu(page, null, ESTADO);
  assert.equal(pathOf(page), '/llaves');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), T.estadoTitulo);
  const { rows, text } = await stateRows(page, amb);
  await shot(page, `${tag}-estado-llaves`);
  assert.ok(text.replace(/ /g, '').includes(normSerial(keep.k3.serial)), `la llave activa es la última: ${text}`);
  assert.match(text, /válida del \d{1,2} de \w+ de \d{4}, \d\d:\d\d al/);
  const r1 = rows[normSerial(keep.k1.serial)];
  const r2 = rows[normSerial(keep.k2.serial)];
  assert.ok(r1 && r2, `las dos llaves anteriores están en la tabla: ${JSON.stringify(rows)}`);
  assert.equal(r2.estado, 'Revocada');
  assert.equal(r2.motivo, 'reemplazada por una nueva llave');
  assert.match(r2.fecha, /^\d{1,2} de \w+ de \d{4}, \d\d:\d\d$/, 'hora de Costa Rica');
  assert.equal(r1.estado, 'Revocada');
  assert.doesNotMatch(r1.motivo, /reemplazada|superseded/, 'la llave revocada a mano no dice reemplazada');
  assert.equal(rows[normSerial(keep.k3.serial)], undefined, 'la llave activa no está entre las anteriores');
}

// --- the tests ---------------------------------------------------------------------

test('1. ingresar, Generar en Pruebas por el menú, Aceptar, Descargar: el .p12 abre con el PIN', TIMEOUT, async () => {
  const context = await env.newContext();
  const page = await context.newPage();
  S.contexts.first = { context, page };

  await page.goto('/');
  assert.equal(pathOf(page), '/ingresar', 'sin sesión, / lleva a ingresar');
  assert.equal(await page.getAttribute('html', 'lang'), 'es');
  await page.getByLabel('Identificación').fill('1-0647-0958');
  await page.getByLabel('Contraseña').fill(FIRST.password);
  await shot(page, 'ingresar');
  await submit(page, page.getByRole('button', { name: 'Ingresar' }));
  assert.equal(pathOf(page), '/portal', await mainText(page));

  const bar = page.locator('header');
  assert.equal(await bar.locator('.nombre').innerText(), fullName(FIRST));
  assert.equal(await bar.locator('.identificacion').innerText(), '1-0647-0958');
  assert.ok(await bar.getByRole('button', { name: 'Salir' }).isVisible());
  assert.ok((await mainText(page)).includes(`Bienvenido(a), ${FIRST.nombre}`));
  await shot(page, 'inicio');

  // The session cookie and the security headers of the pages.
  const cookie = (await context.cookies()).find((c) => c.name === 'llavero_sesion');
  assert.ok(cookie, 'cookie de sesión');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.ok(cookie.value.length >= 43, 'identificador de 256 bits');
  const headers = (await page.request.get('/portal')).headers();
  assert.match(headers['content-security-policy'] ?? '', /default-src 'none'/);
  assert.doesNotMatch(headers['content-security-policy'] ?? '', /unsafe-inline/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');

  await flowGenerate(page, FIRST, AMB.pruebas, 'js', S.first);
});

test('2. OCSP dice good; Revocar en el portal; OCSP dice revoked', TIMEOUT, async () => {
  const page = await session('first', FIRST);
  await flowRevoke(page, FIRST, AMB.pruebas, 'js', S.first);
});

test('3. generar de nuevo: la llave anterior aparece revocada (superseded) en el estado de las llaves', TIMEOUT, async () => {
  const page = await session('first', FIRST);
  await flowRegenerate(page, FIRST, AMB.pruebas, 'js', S.first);
});

test('4. PIN distinto, PIN de 3 dígitos y doble envío: su mensaje en la misma página, ninguna llave emitida', TIMEOUT, async () => {
  const page = await session('first', FIRST);
  await menu(page, AMB.pruebas.menu, AMB.pruebas.generar);
  const pin1 = page.getByLabel('1. Debe crear un "PIN" que contenga 4 números:');
  const pin2 = page.getByLabel('2. Debe escribir nuevamente el PIN para confirmar:');
  const cases = [
    ['1234', '1243', T.pinNoCoincide, 'pin2', 'error-pin-distinto'],
    ['123', '123', T.pinCuatro, 'pin', 'error-pin-3-digitos'],
    ['12345', '12345', T.pinCuatro, 'pin', null],
    ['12a4', '12a4', T.pinCuatro, 'pin', null],
    ['', '', 'Escriba un PIN de 4 números', 'pin', 'error-pin-vacio'],
  ];
  for (const [a, b, message, fieldId, screenshot] of cases) {
    const before = snapshot();
    await pin1.fill(a);
    await pin2.fill(b);
    await page.getByLabel('Soy usuario del Facturador Gratuito de Hacienda *').check();
    const r = await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
    assert.equal(r.status(), 200, `PIN «${a}»/«${b}»: Post/Redirect/Get`);
    assert.equal(pathOf(page), '/llaves/pruebas/generar', 'la misma página');
    // GOV.UK: the summary on top links to the field, the message beside it.
    const summary = page.locator('.resumen-errores');
    assert.ok((await summary.innerText()).includes(message), `PIN «${a}»/«${b}»: ${await summary.innerText()}`);
    assert.equal(await summary.getByRole('link', { name: message }).getAttribute('href'), `#${fieldId}`);
    assert.equal((await page.locator(`#${fieldId}-error`).innerText()).replace(/^Error:\s*/, ''), message);
    assert.equal(await page.locator(`#${fieldId}`).getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator(`#${fieldId}`).getAttribute('aria-describedby'), new RegExp(`${fieldId}-error`));
    assert.ok(await summary.evaluate((e) => e === document.activeElement), 'el foco va al resumen');
    assert.match(await page.title(), /^Error: /);
    assert.equal(await pin1.inputValue(), '', 'el PIN nunca se conserva');
    assert.equal(await page.getByLabel('Soy usuario del Facturador Gratuito de Hacienda *').isChecked(), true, 'la casilla se conserva');
    assert.ok(await pin1.isVisible() && await pin1.isEditable(), 'el formulario sigue ahí para corregir');
    if (screenshot) await shot(page, screenshot);
    assert.deepEqual(snapshot(), before, `PIN «${a}»/«${b}»: no se emitió ninguna llave ni cambió nada`);
  }

  // The same form sent twice (a double click, a replay): one key only.
  await menu(page, AMB.pruebas.menu, AMB.pruebas.generar);
  const form = {
    csrf: await page.locator('form[action="/llaves/pruebas/generar"] input[name=csrf]').inputValue(),
    solicitud: await page.locator('input[name=solicitud]').inputValue(),
    pin: '9753', pin2: '9753',
  };
  const count = keysOf(FIRST).length;
  const first = await page.request.post('/llaves/pruebas/generar', { form });
  assert.equal(first.status(), 200);
  assert.ok((await first.text()).includes(T.avisoDescargar));
  const second = await page.request.post('/llaves/pruebas/generar', { form });
  assert.equal(second.status(), 200);
  assert.match(await second.text(), /ya fue procesada/);
  assert.equal(keysOf(FIRST).length, count + 1, 'el doble envío emitió una sola llave');
});

test('5. Generar contraseña en Pruebas: usuario de la API y 20 caracteres; la anterior deja de servir', TIMEOUT, async () => {
  const page = await session('first', FIRST);
  const stored = () => env.sql(`select password_hash from api_credentials where taxpayer_id = ${taxpayerRow(FIRST)} and environment = 'pruebas'`);
  const generate = async (screenshot) => {
    await menu(page, AMB.pruebas.menu, AMB.pruebas.contrasena);
    assert.equal(pathOf(page), '/llaves/pruebas/contrasena');
    assert.equal(await page.locator('#banda-ambiente').innerText(), 'Ambiente de pruebas: sin validez tributaria');
    if (await page.locator('#confirmar').count()) {
      // A second password needs its own confirmation.
      const refused = await submit(page, page.getByRole('main').getByRole('button', { name: 'Generar', exact: true }));
      assert.equal(refused.status(), 200);
      assert.equal(await page.locator('#confirmar').getAttribute('aria-invalid'), 'true');
      if (screenshot === null) await shot(page, 'error-contrasena-sin-confirmar');
      await page.getByLabel('Entiendo que la contraseña actual dejará de funcionar').check();
    }
    const r = await submit(page, page.getByRole('main').getByRole('button', { name: 'Generar', exact: true }));
    assert.equal(r.status(), 200, await mainText(page));
    assert.equal(pathOf(page), '/llaves/pruebas/contrasena/nueva', 'Post/Redirect/Get');
    const user = (await page.locator('#usuario-api').inputValue()).trim();
    const password = (await page.locator('#contrasena-api').inputValue()).trim();
    if (screenshot) await shot(page, screenshot);
    // Reload shows it no more and makes no other password.
    const hash = stored();
    await page.reload();
    assert.equal(await page.locator('#contrasena-api').count(), 0);
    assert.equal(stored(), hash, 'Reload no generó otra contraseña');
    return { user, password };
  };

  const one = await generate('contrasena');
  assert.equal(one.user, FIRST.apiUser.pruebas);
  assert.match(one.password, API_PASSWORD, 'veinte letras, dígitos y símbolos (docs/portal.md)');
  const hash1 = stored();
  assert.match(hash1, /^\$argon2id\$/, 'guardada solo como hash Argon2id');
  assert.ok(!hash1.includes(one.password));

  // Shown once: the page again shows no password.
  await menu(page, AMB.pruebas.menu, AMB.pruebas.contrasena);
  assert.ok(!(await mainText(page)).includes(one.password), 'la contraseña no se vuelve a mostrar');
  assert.equal(await page.locator('#contrasena-api').count(), 0);

  const two = await generate(null);
  assert.equal(two.user, one.user);
  assert.match(two.password, API_PASSWORD);
  assert.notEqual(two.password, one.password);
  const hash2 = stored();
  assert.notEqual(hash2, hash1, 'el hash guardado cambió');
  assert.equal(env.sql(`select count(*) from api_credentials where taxpayer_id = ${taxpayerRow(FIRST)} and environment = 'pruebas'`), '1',
    'una sola credencial por ambiente');
  const oldWorks = argon2Verify(hash2, one.password);
  if (oldWorks === null) {
    console.log('# sin python3/libsodium: no se verificó el hash Argon2id');
  } else {
    assert.equal(argon2Verify(hash1, one.password), true, 'la primera contraseña valía');
    assert.equal(oldWorks, false, 'la primera contraseña ya no sirve');
    assert.equal(argon2Verify(hash2, two.password), true, 'la nueva contraseña sirve');
  }
});

test('6a. un POST sin token CSRF → 403, nada cambia', TIMEOUT, async () => {
  const page = await session('first', FIRST);
  // The session cookie goes with page.request (a positive control).
  const home = await page.request.get('/portal', { maxRedirects: 0 });
  assert.equal(home.status(), 200);
  assert.ok((await home.text()).includes(fullName(FIRST)));

  const before = snapshot();
  const csrf = await page.locator('header form[action="/salir"] input[name=csrf]').inputValue();
  const forged = [
    ['/llaves/pruebas/revocar', {}],
    ['/llaves/pruebas/revocar', { csrf: 'x'.repeat(csrf.length) }],
    ['/llaves/pruebas/generar', { pin: '1111', pin2: '1111', solicitud: 'solicitud-forjada' }],
    ['/llaves/pruebas/contrasena', {}],
    ['/llaves/produccion/revocar', { csrf: '' }],
    ['/salir', {}],
  ];
  for (const [path, form] of forged) {
    const r = await page.request.post(path, { form, maxRedirects: 0 });
    assert.equal(r.status(), 403, `POST ${path} ${JSON.stringify(form)}`);
    assert.match(await r.text(), /Solicitud rechazada/);
  }
  // The same in the browser: a form whose token was taken out.
  await menu(page, AMB.pruebas.menu, AMB.pruebas.revocar);
  await page.locator('main form input[name=csrf]').evaluate((input) => input.remove());
  const r = await submit(page, page.getByRole('button', { name: 'Aceptar' }));
  assert.equal(r.status(), 403);
  assert.ok((await mainText(page)).includes('no se realizó ningún cambio'));
  await shot(page, 'error-csrf-403');
  assert.deepEqual(snapshot(), before, 'nada cambió');
  // The session survived the forged /salir.
  assert.equal((await page.request.get('/portal', { maxRedirects: 0 })).status(), 200);
});

test('6b. la sesión de un contribuyente no alcanza las llaves de otro', TIMEOUT, async () => {
  const first = await session('first', FIRST);
  // The first taxpayer generates and stops at the message: a live download.
  await menu(first, AMB.pruebas.menu, AMB.pruebas.generar);
  await first.getByLabel('1. Debe crear un "PIN" que contenga 4 números:').fill('8642');
  await first.getByLabel('2. Debe escribir nuevamente el PIN para confirmar:').fill('8642');
  await submit(first, first.getByRole('button', { name: 'Generar', exact: true }));
  assert.equal(await first.getByText(T.avisoDescargar).count(), 1);
  const token = (await S.contexts.first.context.cookies()).find((c) => c.name === 'llavero_descarga').value;
  const firstSerials = env.keys(FIRST.id).map((k) => normSerial(k.serie));
  assert.ok(firstSerials.length >= 1);
  const firstActive = activeOf(FIRST, AMB.pruebas)[0].serie;
  const firstPending = keysOf(FIRST, AMB.pruebas).find((k) => k.estado === 'pendiente').serie;

  const second = await session('second', SECOND);
  assert.equal(await second.locator('header .nombre').innerText(), fullName(SECOND));
  assert.equal(await second.locator('header .identificacion').innerText(), SECOND.id);
  await menu(second, null, ESTADO);
  const html = (await second.content()).toUpperCase();
  for (const serial of firstSerials) assert.ok(!html.includes(serial), `el segundo no ve la serie ${serial}`);
  const text = await mainText(second);
  assert.ok(text.includes('No tiene una llave criptográfica activa en Pruebas.'), text);
  assert.ok(text.includes('No tiene una llave criptográfica activa en Producción.'), text);
  await shot(second, 'segundo-contribuyente-estado');

  // The first's download token, with the second's session and CSRF token.
  const before = snapshot();
  const csrf = await second.locator('header form[action="/salir"] input[name=csrf]').inputValue();
  await second.evaluate(({ csrf, token }) => {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/llaves/descargar';
    for (const [name, value] of Object.entries({ csrf, descarga: token })) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const button = document.createElement('button');
    button.textContent = 'Descargar ajeno';
    form.append(button);
    document.querySelector('main').append(form);
  }, { csrf, token });
  let downloaded = false;
  second.on('download', () => { downloaded = true; });
  const r = await submit(second, second.getByRole('button', { name: 'Descargar ajeno' }));
  assert.equal(r.status(), 410);
  assert.equal(downloaded, false, 'no se descargó nada');
  assert.ok((await mainText(second)).includes('no está disponible'), await mainText(second));
  await shot(second, 'error-descarga-ajena');

  // Revocar with the second's session touches only the second's keys (none).
  const rv = await second.request.post('/llaves/pruebas/revocar', { form: { csrf }, maxRedirects: 0 });
  assert.equal(rv.status(), 303);
  assert.deepEqual(snapshot(), before, 'nada cambió');
  assert.equal(activeOf(FIRST, AMB.pruebas)[0]?.serie, firstActive, 'la llave del primero sigue activa');

  // The token was live all along: its owner downloads it.
  await submit(first, first.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
  const [download] = await Promise.all([first.waitForEvent('download'), first.getByRole('button', { name: 'Descargar' }).click()]);
  assert.equal(download.suggestedFilename(), FIRST.p12);
  const file = join(env.files, `6b-${download.suggestedFilename()}`);
  await download.saveAs(file);
  certOfP12(file, '8642', `${file}.pem`);
  assert.equal(normSerial(certField(`${file}.pem`, '-serial')), normSerial(firstPending));
  assert.ok(await eventually(() => activeOf(FIRST, AMB.pruebas)[0]?.serie === firstPending), 'activa tras la descarga');
});

test('6c. tras cinco contraseñas equivocadas hay que esperar, con la hora; la correcta también espera', TIMEOUT, async () => {
  const context = await env.newContext();
  const page = await context.newPage();
  try {
    for (let i = 1; i <= 5; i++) {
      const r = await login(page, THIRD.id, `equivocada-${i}`);
      assert.equal(pathOf(page), '/ingresar');
      const error = await page.getByRole('alert').innerText();
      assert.equal(r.status(), 200, `intento ${i}: Post/Redirect/Get`);
      assert.ok(error.includes(T.credenciales), `intento ${i}: ${error}`);
      if (i === 1) await shot(page, 'error-contrasena-incorrecta');
      const warning = await page.locator('#intentos').count() ? await page.locator('#intentos').innerText() : '';
      if (i === 3) assert.match(warning, /Le quedan 2 intentos/);
      if (i === 4) {
        assert.match(warning, /Le queda 1 intento/, 'antes del último intento');
        await shot(page, 'error-ultimo-intento');
      }
      if (i < 3 || i === 5) assert.equal(warning, '', `intento ${i}`);
      assert.equal(await page.getByLabel('Identificación').inputValue(), THIRD.id, 'la identificación se conserva');
    }
    await login(page, THIRD.id, THIRD.password);
    assert.equal(pathOf(page), '/ingresar');
    const waiting = await page.getByRole('alert').innerText();
    assert.match(waiting, /Demasiados intentos fallidos/);
    assert.match(waiting, /espere (30|29|28) segundos/);
    assert.match(waiting, /hora de Costa Rica/);
    await shot(page, 'error-demasiados-intentos');
    await page.goto('/portal');
    assert.equal(pathOf(page), '/ingresar', 'sin sesión');
    assert.equal(env.sql(`select count(*) from sessions where taxpayer_id = ${taxpayerRow(THIRD)}`), '0');
  } finally {
    await context.close();
  }
});

test('7. todo el recorrido 1–3 sin JavaScript (Producción)', TIMEOUT, async () => {
  const context = await env.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  S.contexts.nojs = { context, page };
  // Another accepted way to write the identification.
  const r = await login(page, '106470958', FIRST.password);
  assert.equal(pathOf(page), '/portal', `${r.status()} ${await mainText(page)}`);
  assert.equal(await page.locator('header .identificacion').innerText(), '1-0647-0958');
  assert.equal(await page.locator('header .nombre').innerText(), fullName(FIRST));
  const keep = {};
  await flowGenerate(page, FIRST, AMB.produccion, 'sin-js', keep);
  await flowRevoke(page, FIRST, AMB.produccion, 'sin-js', keep);
  await flowRegenerate(page, FIRST, AMB.produccion, 'sin-js', keep);
  // Generar contraseña works without JavaScript too.
  await menu(page, AMB.produccion.menu, AMB.produccion.contrasena);
  await submit(page, page.getByRole('main').getByRole('button', { name: 'Generar', exact: true }));
  assert.match((await page.locator('#contrasena-api').inputValue()).trim(), API_PASSWORD);
  assert.match(await page.locator('#usuario-api').inputValue(), /^cpf-01-0647-0958@/);
});

test('8. Salir termina la sesión', TIMEOUT, async () => {
  const page = await session('second', SECOND);
  const sessions = () => env.sql(`select count(*) from sessions where taxpayer_id = ${taxpayerRow(SECOND)}`);
  assert.equal(sessions(), '1');
  await menu(page, AMB.pruebas.menu, AMB.pruebas.generar);
  const staleCsrf = await page.locator('header form[action="/salir"] input[name=csrf]').inputValue();
  await submit(page, page.getByRole('button', { name: 'Salir' }));
  // Redirected after the POST, so that a reload does not post the form again.
  assert.equal(pathOf(page), '/ingresar');
  assert.equal(await page.getByRole('status').innerText(), T.sesionTermino);
  assert.ok(await page.getByLabel('Contraseña').isVisible(), 'vuelve el formulario de ingreso');
  await shot(page, 'salir');
  assert.equal(sessions(), '0', 'la sesión se borró del almacén');
  await page.goto('/portal');
  assert.equal(pathOf(page), '/ingresar', '/portal lleva a ingresar');
  await page.goto('/llaves');
  assert.equal(pathOf(page), '/ingresar', '/llaves lleva a ingresar');
  // A form of the closed session does nothing.
  const before = snapshot();
  const r = await page.request.post('/llaves/pruebas/generar', {
    form: { csrf: staleCsrf, pin: '1234', pin2: '1234', solicitud: 'despues-de-salir' }, maxRedirects: 0,
  });
  assert.equal(r.status(), 401);
  assert.deepEqual(snapshot(), before);
});

test('9. una sesión inactiva 20 minutos: «Su sesión expiró» y nada cambia', TIMEOUT, async () => {
  delete S.contexts.second;
  const page = await session('second', SECOND);
  await menu(page, AMB.pruebas.menu, AMB.pruebas.generar);
  await page.getByLabel('1. Debe crear un "PIN" que contenga 4 números:').fill('1234');
  await page.getByLabel('2. Debe escribir nuevamente el PIN para confirmar:').fill('1234');
  env.sql(`update sessions set last_seen = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-20 minutes') where taxpayer_id = ${taxpayerRow(SECOND)}`);
  const before = snapshot();
  const r = await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
  assert.equal(r.status(), 401);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), T.sesionExpiro);
  const text = await mainText(page);
  assert.ok(text.includes('No se realizó ningún cambio'), text);
  assert.ok(await page.getByRole('link', { name: 'Ingresar' }).isVisible());
  await shot(page, 'error-sesion-expirada');
  assert.deepEqual(snapshot(), before, 'no se emitió ninguna llave');
  assert.equal(keysOf(SECOND).length, 0);
  await page.goto('/portal');
  assert.equal(pathOf(page), '/ingresar', 'la sesión expirada ya no sirve');
});
