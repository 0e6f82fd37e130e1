// Issue 14 in a real browser: the pending key, Post/Redirect/Get, the error
// summary, the pruebas band, Costa Rica's time, the phone layout, the menus,
// and axe-core on every page (JavaScript on and off, 1366×768 and 390×844).
// axe-core is evaluated through the DevTools protocol, which the pages' CSP
// (script-src 'self') does not block; nothing is relaxed for it. With
// JavaScript off the page's own scripts never run, but timers do not fire
// either, and axe.run waits on setTimeout: in those pages the test replaces
// setTimeout (for axe only) with a microtask, so axe checks the very DOM a
// browser without JavaScript shows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';

import { Env, FIRST, SECOND, eventually, login, shot, submit } from './helpers.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
const TIMEOUT = { timeout: 300_000 };
const PINS = { pin: '1. Debe crear un "PIN" que contenga 4 números:', pin2: '2. Debe escribir nuevamente el PIN para confirmar:' };

let env;
before(async () => { env = new Env(); await env.start(); }, { timeout: 300_000 });
after(async () => { await env?.stop(); });

const pathOf = (page) => new URL(page.url()).pathname;
const keys = (amb) => env.keys(FIRST.id).filter((k) => k.ambiente === amb);
const state = (serial) => env.keys(FIRST.id).find((k) => k.serie === serial)?.estado;

async function open(viewport, javaScriptEnabled = true, who = FIRST) {
  const context = await env.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  await login(page, who.id, who.password);
  assert.equal(pathOf(page), '/portal');
  return { context, page };
}

// axe-core on the page as it is; fails on any violation.
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

async function generate(page, amb, pin = '2580') {
  await page.goto(`/llaves/${amb}/generar`);
  await page.getByLabel(PINS.pin).fill(pin);
  await page.getByLabel(PINS.pin2).fill(pin);
  await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
  assert.equal(pathOf(page), `/llaves/${amb}/generar/aviso`);
  return new URL(page.url()).searchParams.get('serie');
}

async function download(page, amb) {
  await submit(page, page.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
  assert.equal(pathOf(page), `/llaves/${amb}/generar/paso4`);
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Descargar' }).click()]);
  assert.equal(await file.failure(), null);
}

test('llave pendiente: completar, abandonar y vencer, Generar otra vez mientras una espera', TIMEOUT, async () => {
  const { context, page } = await open(DESKTOP);
  // First key: active after its download.
  const k1 = await generate(page, 'pruebas');
  assert.equal(state(k1), 'pendiente');
  await download(page, 'pruebas');
  assert.ok(await eventually(() => state(k1) === 'activa'), 'completa: activa');

  // Abandoned: the old key stays active; the window passes; annulled.
  const k2 = await generate(page, 'pruebas');
  assert.equal(state(k2), 'pendiente');
  assert.equal(state(k1), 'activa', 'la anterior sigue activa mientras la nueva espera');
  await page.goto('/llaves');
  assert.match(await page.locator('main').innerText(), /Pendiente de descarga/);
  await shot(page, 'ux-estado-pendiente');
  env.sql(`update certificates set pending_until = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hour') where status = 'pending'`);
  assert.ok(await eventually(() => state(k2) === 'revocada', 60_000), 'vencida: anulada');
  assert.equal(state(k1), 'activa', 'la anterior sigue activa');
  assert.equal(env.sql(`select count(*) from pending_downloads`), '0', 'el archivo retenido se destruyó');
  await page.goto(`/llaves/pruebas/generar/listo?serie=${k2}`);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Esta llave no se descargó');

  // Two tabs: the second Generar annuls the first pending key and its file.
  const other = await context.newPage();
  const k3 = await generate(page, 'pruebas');
  const k4 = await generate(other, 'pruebas');
  assert.equal(state(k3), 'revocada');
  assert.equal(state(k4), 'pendiente');
  assert.equal(state(k1), 'activa');
  await submit(page, page.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
  assert.equal(pathOf(page), '/llaves/pruebas/generar/listo', 'la primera pestaña ya no ofrece descargar');
  await download(other, 'pruebas');
  assert.ok(await eventually(() => state(k4) === 'activa'));
  assert.equal(state(k1), 'revocada');
  assert.equal(keys('pruebas').filter((k) => k.estado === 'activa').length, 1);
  await context.close();
});

test('Post/Redirect/Get: Reload y Atrás nunca repiten una acción', TIMEOUT, async () => {
  for (const javaScriptEnabled of [true, false]) {
    const { context, page } = await open(DESKTOP, javaScriptEnabled);
    const before = keys('produccion').length;
    await generate(page, 'produccion', '1470');
    await page.reload();
    await page.goBack();
    await page.goForward();
    assert.equal(keys('produccion').length, before + 1, `una sola llave (JS ${javaScriptEnabled})`);
    await download(page, 'produccion');
    await page.goBack();
    await page.goBack();
    assert.equal(keys('produccion').length, before + 1);
    await context.close();
  }
});

test('la banda de pruebas, títulos distintos y horas de Costa Rica', TIMEOUT, async () => {
  const { context, page } = await open(DESKTOP);
  for (const [amb, band, title] of [['pruebas', 'Ambiente de pruebas: sin validez tributaria', /^\[PRUEBAS\] Generar llave criptográfica en pruebas/],
    ['produccion', null, /^Generar llave criptográfica en producción/]]) {
    for (const action of ['generar', 'revocar', 'contrasena']) {
      await page.goto(`/llaves/${amb}/${action}`);
      const text = await page.locator('#banda-ambiente').innerText();
      if (band) assert.equal(text, band); else assert.doesNotMatch(text, /pruebas/);
    }
    await page.goto(`/llaves/${amb}/generar`);
    assert.match(await page.title(), title);
    await shot(page, `ux-banda-${amb}`);
  }
  await page.goto('/llaves');
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /UTC\b(?!−)/);
  assert.match(text, /\d{1,2} de \w+ de \d{4}, \d\d:\d\d/);
  await context.close();
});

test('teléfono 390 px: sin desplazamiento lateral, tablas en filas, series sin cortes, objetivos de 24 px', TIMEOUT, async () => {
  const { context, page } = await open(PHONE);
  for (const path of ['/portal', '/llaves', '/llaves/pruebas/generar', '/llaves/pruebas/revocar', '/ayuda']) {
    await page.goto(path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `${path}: ancho ${width}`);
  }
  await page.goto('/llaves');
  await shot(page, 'ux-telefono-estado');
  const display = await page.locator('tbody td').first().evaluate((e) => getComputedStyle(e).display);
  assert.equal(display, 'block', 'filas apiladas');
  for (const group of await page.locator('.serie span').all()) {
    const box = await group.boundingBox();
    assert.ok(box.height < 30, `un grupo de la serie en una línea: ${box.height}`);
  }
  const header = await page.locator('header').boundingBox();
  assert.ok(header.height < PHONE.height / 8, `cabecera compacta: ${header.height}`);
  await page.goto('/llaves/pruebas/generar');
  for (const target of [page.getByRole('button', { name: 'Salir' }), page.locator('#facturador'), page.getByRole('button', { name: 'Generar', exact: true })]) {
    const box = await target.boundingBox();
    assert.ok(box.width >= 24 && box.height >= 24, `objetivo ${JSON.stringify(box)}`);
  }
  await shot(page, 'ux-telefono-generar');
  await context.close();
});

test('menús: Escape y clic fuera los cierran; sin JavaScript <details> funciona', TIMEOUT, async () => {
  const { context, page } = await open(DESKTOP);
  const top = page.locator('.menu > details');
  const summary = page.locator('.menu > details > summary');
  const link = page.getByRole('navigation').getByRole('link', { name: 'Estado de mis llaves criptográficas' });
  await summary.click();
  assert.equal(await top.evaluate((d) => d.open), true);
  assert.ok(await link.isVisible());
  await page.keyboard.press('Escape');
  assert.equal(await top.evaluate((d) => d.open), false, 'Escape cierra');
  await summary.click();
  await page.locator('footer').getByText('Las horas se muestran').click();
  assert.equal(await top.evaluate((d) => d.open), false, 'clic fuera cierra');
  // The keyboard alone: Tab to the menu, Enter opens it, Escape closes it.
  await summary.focus();
  await page.keyboard.press('Enter');
  assert.equal(await top.evaluate((d) => d.open), true, 'Enter abre');
  await page.keyboard.press('Escape');
  assert.equal(await top.evaluate((d) => d.open), false, 'Escape cierra desde el teclado');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Comprobantes Electrónicos',
    'el foco vuelve al menú');
  await context.close();
  // Without JavaScript the <details> still open and close with a click.
  const nojs = await open(DESKTOP, false);
  const nojsSummary = nojs.page.locator('.menu > details > summary');
  const nojsLink = nojs.page.getByRole('navigation').getByRole('link', { name: 'Estado de mis llaves criptográficas' });
  assert.equal(await nojsLink.isVisible(), false);
  await nojsSummary.click();
  assert.ok(await nojsLink.isVisible());
  await nojsSummary.click();
  assert.equal(await nojsLink.isVisible(), false);
  await nojs.context.close();
});

test('404 en el marco del portal, enlace para saltar, pie con ayuda', TIMEOUT, async () => {
  const { context, page } = await open(DESKTOP);
  const r = await page.goto('/llaves/pruebas/nada');
  assert.equal(r.status(), 404);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Página no encontrada');
  assert.ok(await page.locator('footer').getByRole('link', { name: 'Ayuda' }).isVisible());
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Saltar al contenido principal');
  await context.close();
});

test('axe-core en cada página, con y sin JavaScript, en 1366×768 y 390×844', TIMEOUT, async () => {
  // The check itself finds a violation, with JavaScript on and off.
  for (const javaScriptEnabled of [true, false]) {
    const context = await env.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const r = await page.goto('/ayuda');
    assert.equal(r.status(), 200, await page.content());
    await page.evaluate(() => document.querySelector('main').append(Object.assign(document.createElement('img'), { src: '/nada.png' })));
    await assert.rejects(axe(page, 'autoprueba', { javaScriptEnabled }), /image-alt/);
    await context.close();
  }
  for (const viewport of [DESKTOP, PHONE]) {
    for (const javaScriptEnabled of [true, false]) {
      const context = await env.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      const tag = `${viewport.width}-${javaScriptEnabled ? 'js' : 'sin-js'}`;
      const js = { javaScriptEnabled };
      await page.goto('/ingresar');
      await axe(page, `ingresar ${tag}`, js);
      await submit(page, page.getByRole('button', { name: 'Ingresar' }));
      await axe(page, `ingresar con errores ${tag}`, js);
      if (viewport === DESKTOP && javaScriptEnabled) await shot(page, 'ux-error-ingresar-vacio');
      await login(page, SECOND.id, SECOND.password);
      for (const path of ['/portal', '/llaves', '/ayuda', '/llaves/pruebas/generar', '/llaves/produccion/generar',
        '/llaves/pruebas/revocar', '/llaves/pruebas/contrasena', '/llaves/pruebas/nada']) {
        await page.goto(path);
        await axe(page, `${path} ${tag}`, js);
      }
      await page.goto('/llaves/pruebas/generar');
      await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
      await axe(page, `generar con errores ${tag}`, js);
      await page.getByLabel(PINS.pin).fill('3698');
      await page.getByLabel(PINS.pin2).fill('3698');
      await submit(page, page.getByRole('button', { name: 'Generar', exact: true }));
      await axe(page, `aviso ${tag}`, js);
      await submit(page, page.getByRole('alertdialog').getByRole('button', { name: 'Aceptar' }));
      await axe(page, `paso 4 ${tag}`, js);
      await page.goto('/llaves');
      assert.match(await page.locator('main').innerText(), /Pendiente de descarga/);
      await axe(page, `estado con una llave pendiente ${tag}`, js);
      await page.goBack();
      const serial = new URL(page.url()).searchParams.get('serie');
      const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Descargar' }).click()]);
      assert.equal(await file.failure(), null);
      assert.ok(await eventually(() => env.keys(SECOND.id).find((k) => k.serie === serial)?.estado === 'activa'));
      // The one download was spent: the same form again is the 410 page.
      const gone = await submit(page, page.getByRole('button', { name: 'Descargar' }));
      assert.equal(gone.status(), 410);
      await axe(page, `410 ${tag}`, js);
      await page.goto(`/llaves/pruebas/generar/listo?serie=${serial}`);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Su llave criptográfica fue descargada');
      await axe(page, `descargada ${tag}`, js);
      await page.goto('/llaves/pruebas/revocar');
      await axe(page, `revocar ${tag}`, js);
      if (viewport === DESKTOP && javaScriptEnabled) await shot(page, 'ux-revocar-antes');
      await submit(page, page.getByRole('button', { name: 'Aceptar' }));
      await axe(page, `revocada ${tag}`, js);
      if (viewport === DESKTOP && javaScriptEnabled) await shot(page, 'ux-revocada');
      await page.goto('/llaves/pruebas/contrasena');
      if (await page.locator('#confirmar').count()) await page.locator('#confirmar').check();
      await submit(page, page.getByRole('main').getByRole('button', { name: 'Generar', exact: true }));
      await axe(page, `contraseña nueva ${tag}`, js);
      if (javaScriptEnabled) await shot(page, `ux-contrasena-${viewport.width}`);
      await page.reload();
      assert.ok(await page.locator('#ya-mostrada').isVisible(), 'Reload no muestra la contraseña otra vez');
      await axe(page, `contraseña ya mostrada ${tag}`, js);
      await page.goto('/llaves/pruebas/contrasena');
      await axe(page, `contraseña existente ${tag}`, js);
      await submit(page, page.getByRole('main').getByRole('button', { name: 'Generar', exact: true }));
      await axe(page, `contraseña sin confirmar ${tag}`, js);
      await page.goto('/llaves/pruebas/revocar');
      await axe(page, `revocar sin llave activa ${tag}`, js);
      await submit(page, page.getByRole('button', { name: 'Salir' }));
      await axe(page, `sesión terminada ${tag}`, js);
      await context.close();
    }
  }
});
