// Progressive enhancement only: every page works without this file.
// Copy buttons: <button data-copy="input-id" hidden> next to a read-only input.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = "✓ " + label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      target.focus();
      target.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();
