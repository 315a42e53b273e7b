// Progressive enhancement only: every flow works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before a destructive form is sent (forms marked data-confirm).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
