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
