// Small progressive enhancements; everything works without them.
// (No inline handlers: the Content-Security-Policy forbids inline script.)
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-remove-row]");
  if (button) {
    event.preventDefault();
    var row = button.closest("[data-row]");
    if (row) row.remove();
  }
});

// Keyboard shortcuts: "g" then a report's key opens it (links marked data-shortcut).
(function () {
  var armed = 0;
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.key === "g") { armed = Date.now(); return; }
    if (armed && Date.now() - armed < 1500) {
      armed = 0;
      var link = document.querySelector('a[data-shortcut="' + event.key + '"]');
      if (link) { event.preventDefault(); window.location.assign(link.href); }
    }
  });
})();
