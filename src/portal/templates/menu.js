// The menu's <details> work without this file; with it, an open menu also
// closes on Escape (focus back on its summary) and on a click outside it.
(function () {
  'use strict';
  function openMenus() { return document.querySelectorAll('.menu details[open]'); }
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    var open = openMenus();
    if (!open.length) return;
    var inner = open[open.length - 1];
    var focusInside = inner.contains(document.activeElement);
    inner.open = false;
    if (focusInside) inner.querySelector('summary').focus();
  });
  document.addEventListener('click', function (event) {
    openMenus().forEach(function (d) { if (!d.contains(event.target)) d.open = false; });
  });
  // The error summary takes the focus, so that a screen reader reads it first.
  var summary = document.querySelector('.resumen-errores');
  if (summary) summary.focus();
})();
