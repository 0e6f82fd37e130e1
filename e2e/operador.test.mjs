// The operators' console in a real browser (issue 15; docs/operador.md):
// each role logs in with its password and a TOTP code computed here by
// python3's hmac/hashlib (independently of the server), and does what it
// may, and is refused what it may not. What the console did is then checked
// with independent tools: openssl ocsp (a revocation on behalf is "revoked"
// at once) and sqlite3 (the audit rows name the operator, role and note).
// axe-core finds nothing on each page; one role works at phone size.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Env, FIRST, SECOND, THIRD, certOfP12, login, mainText, must, ocsp, run, shot, submit } from './helpers.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };
const TIMEOUT = { timeout: 300_000 };
const PASSWORD = 'contraseña-de-operador';
const OPERATORS = {
  jefa: { rol: 'administrador' },
  ana: { rol: 'soporte' },
  luis: { rol: 'auditor' },
  marta: { rol: 'administrador' },
};

let env;
const S = {};  // per operator: { context, page, secret, lastStep }

before(async () => {
  env = new Env();
  await env.start();
  for (const [usuario, { rol }] of Object.entries(OPERATORS))
    env.cli(['operador', 'crear', '--usuario', usuario, '--rol', rol], { input: `${PASSWORD}\n` });
}, { timeout: 300_000 });
after(async () => { await env?.stop(); });

const pathOf = (page) => new URL(page.url()).pathname;

// RFC 6238 with python3's own HMAC-SHA1: the code of the base32 SECRET at STEP.
function totp(secret, step) {
  const script = `
import base64, hashlib, hmac, struct, sys
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(sys.argv[2])), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000))
`;
  return must('python3', ['-c', script, secret, String(step)]).stdout.trim();
}
const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// A code not used before by WHO: this step's, or the next one's (the server
// accepts ±1 step and never the same step twice).
function freshCode(who) {
  const s = S[who];
  const step = Math.max(stepNow(), (s.lastStep ?? 0) + 1);
  assert.ok(step <= stepNow() + 1, 'los códigos de este paso y del siguiente ya se usaron');
  s.lastStep = step;
  return totp(s.secret, step);
}

async function axe(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `axe en ${name} (${page.url()})`);
}

async function fillLogin(page, usuario, password, code = '') {
  await page.goto('/operador/ingresar');
  await page.getByLabel('Usuario').fill(usuario);
  await page.getByLabel('Contraseña').fill(password);
  await page.getByLabel('Código de verificación').fill(code);
  return submit(page, page.getByRole('button', { name: 'Ingresar' }));
}

// The first log-in of WHO: password only, then the enrolment of the second factor.
async function enrol(who, { viewport } = {}) {
  const context = await env.newContext();
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  S[who] = { context, page };
  await fillLogin(page, who, PASSWORD);
  assert.equal(pathOf(page), '/operador/segundo-factor', await mainText(page));
  assert.equal(await page.locator('figure.qr svg[role="img"]').count(), 1);
  S[who].secret = (await page.locator('#secreto-totp').innerText()).trim();
  assert.match(S[who].secret, /^[A-Z2-7]{32}$/);
  await axe(page, `segundo factor de ${who}`);
  // Before enrolment nothing else opens.
  await page.goto('/operador/auditoria');
  assert.equal(pathOf(page), '/operador/segundo-factor');
  return page;
}

async function confirm(who, code) {
  const { page } = S[who];
  await page.getByLabel('Código que muestra la aplicación').fill(code);
  return submit(page, page.getByRole('button', { name: 'Activar' }));
}

// POST as the operator's browser would, with its own CSRF token, to a form
// the page does not offer: the answer the server gives.
async function postAs(who, path, fields = {}) {
  const { page } = S[who];
  await page.goto('/operador');
  const csrf = await page.locator('form[action="/operador/salir"] input[name="csrf"]').getAttribute('value');
  const r = await page.request.post(path, { form: { csrf, ...fields }, maxRedirects: 0 });
  return r.status();
}

const audit = (where) => env.sql(`select actor || '|' || action || '|' || subject || '|' || detail from audit_log where ${where} order by seq`);

test('TOTP: enrolment with the QR code, then log-in with password and code', TIMEOUT, async () => {
  const page = await enrol('ana');
  await shot(page, 'operador-segundo-factor');
  await confirm('ana', '123456x');
  assert.equal(pathOf(page), '/operador/segundo-factor');
  assert.match(await mainText(page), /El código no es correcto/);
  assert.match(await page.title(), /^Error: /);
  await confirm('ana', freshCode('ana'));
  assert.equal(pathOf(page), '/operador', await mainText(page));
  await axe(page, 'inicio de la consola');

  // Out, then in again: the code is needed, and a code is good only once.
  await submit(page, page.getByRole('button', { name: 'Salir' }));
  assert.equal(pathOf(page), '/operador/ingresar');
  await fillLogin(page, 'ana', PASSWORD, '');
  assert.equal(pathOf(page), '/operador/ingresar');
  assert.match(await mainText(page), /Usuario, contraseña o código de verificación incorrecto/);
  await axe(page, 'ingreso con error');
  const code = freshCode('ana');
  await fillLogin(page, 'ana', PASSWORD, code);
  assert.equal(pathOf(page), '/operador', await mainText(page));
  const other = await (await env.newContext()).newPage();
  await fillLogin(other, 'ana', PASSWORD, code);
  assert.equal(pathOf(other), '/operador/ingresar', 'el mismo código dos veces');
  await other.context().close();
  assert.ok(audit("action = 'operador.segundo_factor'").includes('operador:ana|operador.segundo_factor|ana|rol=soporte'));
  // The secret never reaches the audit log or the server's log.
  assert.ok(!env.sql('select group_concat(detail) from audit_log').includes(S.ana.secret));
  assert.ok(!readFileSync(env.log, 'utf8').includes(S.ana.secret));

  for (const who of ['jefa', 'luis']) {
    await enrol(who, who === 'luis' ? { viewport: PHONE } : {});
    await confirm(who, freshCode(who));
    assert.equal(pathOf(S[who].page), '/operador', who);
  }
});

test('soporte finds a taxpayer, unlocks the portal log-in; audited with the operator', TIMEOUT, async () => {
  // THIRD types a wrong password until the portal makes them wait.
  const taxpayer = await (await env.newContext()).newPage();
  for (let i = 0; i < 5; i++) await login(taxpayer, THIRD.id, 'equivocada-equivocada');
  await login(taxpayer, THIRD.id, THIRD.password);
  assert.equal(pathOf(taxpayer), '/ingresar', 'bloqueado');

  const { page } = S.ana;
  await page.goto('/operador');
  await page.getByLabel('Buscar por identificación o nombre').fill('vargas');
  await submit(page, page.getByRole('button', { name: 'Buscar' }));
  await axe(page, 'resultados de búsqueda');
  await submit(page, page.getByRole('link', { name: THIRD.id }));
  assert.equal(pathOf(page), '/operador/contribuyentes/111111111');
  assert.match(await mainText(page), /Bloqueado por contraseñas equivocadas desde: 127\.0\.0\.1/);
  await axe(page, 'contribuyente bloqueado');
  await shot(page, 'operador-contribuyente-bloqueado');
  await submit(page, page.getByRole('button', { name: 'Desbloquear' }));
  assert.match(await mainText(page), /El ingreso al portal quedó desbloqueado/);
  assert.match(await mainText(page), /Sin bloqueo/);
  assert.equal(audit("action = 'contribuyente.desbloquear'"), 'operador:ana|contribuyente.desbloquear|111111111|rol=soporte');

  await login(taxpayer, THIRD.id, THIRD.password);
  assert.equal(pathOf(taxpayer), '/portal', 'desbloqueado');
  await taxpayer.context().close();
});

test('soporte revokes a key on behalf: a note is required, OCSP says revoked at once', TIMEOUT, async () => {
  const out = join(env.files, 'llave');
  mkdirSync(out);
  env.cli(['llave', 'generar', '--id', FIRST.id, '--ambiente', 'pruebas', '--pin-stdin', '--salida', out], { input: '1234\n1234\n' });
  const p12 = join(out, readdirSync(out).find((f) => f.endsWith('.p12')));
  const pem = join(env.files, 'first.pem');
  certOfP12(p12, '1234', pem);
  assert.equal(ocsp(env, 'pruebas', pem).status, 'good');

  const { page } = S.ana;
  await page.goto('/operador/contribuyentes/106470958');
  assert.match(await mainText(page), /Pruebas Activa/);
  await page.getByLabel('Motivo').selectOption('keyCompromise');
  await submit(page, page.getByRole('button', { name: 'Revocar' }));
  assert.match(await page.title(), /^Error: /);
  assert.match(await mainText(page), /Escriba quién pidió la revocación/);
  await axe(page, 'revocación sin nota');
  assert.equal(ocsp(env, 'pruebas', pem).status, 'good', 'sin nota no se revoca');

  await page.getByLabel('Nota (obligatoria)').fill('Llamó el contribuyente; identidad verificada con cédula.');
  await submit(page, page.getByRole('button', { name: 'Revocar' }));
  assert.match(await mainText(page), /La llave quedó revocada/);
  assert.match(await mainText(page), /Pruebas Revocada/);
  const answer = ocsp(env, 'pruebas', pem);
  assert.equal(answer.status, 'revoked', answer.text);
  assert.match(answer.text, /Reason: keyCompromise/);
  assert.equal(audit("action = 'llave.revocar'"),
    'operador:ana|llave.revocar|106470958|ambiente=pruebas motivo=keyCompromise rol=soporte nota=Llamó el contribuyente; identidad verificada con cédula.');
  assert.equal(env.keys(FIRST.id).filter((k) => k.estado === 'activa').length, 0);
});

test('soporte resets a portal password, shown once; the taxpayer logs in with it', TIMEOUT, async () => {
  const { page } = S.ana;
  await page.goto('/operador/contribuyentes/204560789');
  await submit(page, page.getByRole('button', { name: 'Restablecer la contraseña del portal' }));
  const password = (await page.locator('#contrasena-nueva').innerText()).replace(/\s+/g, '');
  assert.equal(password.length, 20);
  await axe(page, 'contraseña restablecida');
  const taxpayer = await (await env.newContext()).newPage();
  await login(taxpayer, SECOND.id, SECOND.password);
  assert.equal(pathOf(taxpayer), '/ingresar', 'la anterior ya no sirve');
  await login(taxpayer, SECOND.id, password);
  assert.equal(pathOf(taxpayer), '/portal');
  await taxpayer.context().close();
  assert.equal(audit("action = 'contribuyente.contrasena_restablecida'"),
    'operador:ana|contribuyente.contrasena_restablecida|204560789|rol=soporte');
  // Soporte does not manage operators.
  assert.equal(await postAs('ana', '/operador/operadores', { usuario: 'intruso', rol: 'administrador', contrasena: 'x'.repeat(20) }), 403);
  await page.goto('/operador/operadores');
  assert.match(await mainText(page), /no permite esta acción/);
});

test('auditor (phone size) reads everything, changes nothing, exports the audit log', TIMEOUT, async () => {
  const { page } = S.luis;
  const before = env.sql('select count(*) from audit_log');
  await page.goto('/operador/contribuyentes/111111111');
  assert.match(await mainText(page), /Sin bloqueo/);
  assert.equal(await page.getByRole('button', { name: 'Desbloquear' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Restablecer la contraseña del portal' }).count(), 0);
  await axe(page, 'contribuyente visto por el auditor');
  await shot(page, 'operador-auditor-telefono');
  for (const action of ['desbloquear', 'contrasena', 'revocar'])
    assert.equal(await postAs('luis', `/operador/contribuyentes/111111111/${action}`, { ambiente: 'pruebas', motivo: 'keyCompromise', nota: 'x' }), 403, action);
  assert.equal(await postAs('luis', '/operador/operadores/ana/desactivar'), 403);
  assert.equal(env.sql('select count(*) from audit_log'), before, 'nada cambió');

  await page.goto('/operador/auditoria?actor=operador%3Aana');
  assert.match(await mainText(page), /Cadena de hashes íntegra/);
  const head = (await page.locator('#hash-cabeza').innerText()).trim();
  assert.equal(head, env.sql('select hash from audit_head'));
  assert.match(await mainText(page), /llave\.revocar/);
  assert.doesNotMatch(await mainText(page), /operador:luis/);
  await axe(page, 'bitácora filtrada');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^seq,fecha,actor,accion,sujeto,detalle,hash_anterior,hash\n/);
  assert.ok(csv.includes('"operador:ana","llave.revocar","106470958"'));
  assert.ok(csv.trimEnd().endsWith(head), 'el hash de la cabeza al final');
  const headNow = env.sql('select hash from audit_head');  // the CSV export is a row too
  const json = await (await page.request.get('/operador/auditoria.json?accion=llave.revocar')).json();
  assert.equal(json.cadena.hash_cabeza, headNow);
  assert.equal(json.cadena.integra, true);
  assert.deepEqual(json.filas.map((f) => f.actor), ['operador:ana']);
  assert.ok(audit("action = 'auditoria.exportar'").startsWith('operador:luis|auditoria.exportar||rol=auditor'));

  await page.goto('/operador/autoridades');
  const text = await mainText(page);
  assert.match(text, /Número de la CRL vigente \d+/);
  assert.match(text, /Respondedor OCSP vence \d/);
  assert.doesNotMatch(text, /vence en|venció/);
  await axe(page, 'autoridades');
});

test('administrador creates and disables an operator', TIMEOUT, async () => {
  const { page } = S.jefa;
  await page.goto('/operador/operadores');
  await page.getByLabel('Usuario').fill('eva');
  await page.getByLabel('Rol').selectOption('auditor');
  await page.getByLabel('Contraseña inicial (al menos 12 caracteres)').fill('corta');
  await submit(page, page.getByRole('button', { name: 'Crear' }));
  assert.match(await mainText(page), /al menos 12 caracteres/);
  await axe(page, 'operadores con error');
  await page.getByLabel('Usuario').fill('eva');
  await page.getByLabel('Rol').selectOption('auditor');
  await page.getByLabel('Contraseña inicial (al menos 12 caracteres)').fill('otra-contraseña-larga');
  await submit(page, page.getByRole('button', { name: 'Crear' }));
  assert.match(await mainText(page), /eva auditor pendiente activo/);
  await submit(page, page.getByRole('button', { name: 'Desactivar a eva' }));
  assert.match(await mainText(page), /eva auditor pendiente desactivado/);
  await axe(page, 'operadores');
  const other = await (await env.newContext()).newPage();
  await fillLogin(other, 'eva', 'otra-contraseña-larga');
  assert.equal(pathOf(other), '/operador/ingresar');
  await other.context().close();
  assert.equal(audit("subject = 'eva'"),
    'operador:jefa|operador.crear|eva|nuevo_rol=auditor rol=administrador\noperador:jefa|operador.desactivar|eva|rol=administrador\n' +
    'operador:127.0.0.1|operador.ingreso_fallido|eva|');
  const r = run('sqlite3', [join(env.data, 'llavero.db'), "select count(*) from audit_log where detail like '%" + S.jefa.secret + "%'"]);
  assert.equal(r.stdout.trim(), '0');
});

test('a CA rollover: one administrador asks, another approves; the asker and soporte may not', TIMEOUT, async () => {
  await enrol('marta');
  await confirm('marta', freshCode('marta'));
  const { page } = S.jefa;
  await page.goto('/operador/autoridades');
  await page.locator('#ambiente').selectOption('pruebas');
  await page.locator('#ca').selectOption('pf');
  await submit(page, page.getByRole('button', { name: 'Solicitar la renovación' }));
  assert.match(await mainText(page), /La renovación quedó solicitada/);
  assert.match(await mainText(page), /pendiente \(la aprueba otro administrador\)/);
  assert.equal(await page.getByRole('button', { name: /Aprobar la renovación/ }).count(), 0);
  await axe(page, 'renovación solicitada');
  const id = env.sql('select id from ca_rollovers where approved_by is null');
  assert.match(id, /^\d+$/);
  assert.equal(await postAs('jefa', `/operador/autoridades/aprobar/${id}`), 409, 'quien la pidió no la aprueba');
  assert.equal(await postAs('ana', `/operador/autoridades/aprobar/${id}`), 403, 'soporte');
  assert.equal(await postAs('luis', '/operador/autoridades', { ambiente: 'pruebas', ca: 'pj' }), 403, 'auditor');
  assert.equal(env.sql("select count(*) from authorities where environment = 'pruebas' and kind = 'pf'"), '1');

  const other = S.marta.page;
  await other.goto('/operador/autoridades');
  await submit(other, other.getByRole('button', { name: `Aprobar la renovación ${id}` }));
  assert.match(await mainText(other), /La nueva generación quedó creada/);
  assert.match(await mainText(other), /aprobada por marta/);
  await axe(other, 'renovación aprobada');
  await shot(other, 'operador-renovacion');
  assert.equal(env.sql("select count(*) from authorities where environment = 'pruebas' and kind = 'pf'"), '2');
  assert.ok(audit("action = 'ca.renovar.solicitar' and actor = 'operador:jefa'").length > 0);
  assert.ok(audit("action = 'ca.renovar.aprobar'").includes('operador:marta|ca.renovar.aprobar|'));
  assert.ok(audit("action = 'ca.renovar.aprobar'").includes('operador:jefa|ca.renovar.aprobar|'), 'the refusal is audited');
});
