// Progressive enhancement only: every flow works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before a destructive form is sent (forms marked data-confirm).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});

// cases: show the suggested overall level live on the assessment and meeting forms (the server
// applies the same rule when the form is sent; this only saves a round trip).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-suggest]").forEach((box) => {
    const output = box.querySelector("output.suggestion");
    const overall = box.querySelector("select[name=overall_level]");
    if (!output || !overall) return;
    const names = {};
    overall.querySelectorAll("option").forEach((o) => { if (o.value) names[o.value] = o.textContent; });
    const update = () => {
      const levels = [...box.querySelectorAll("select[data-team-level]")]
        .map((s) => parseInt(s.value, 10)).filter((n) => n >= 1 && n <= 4).sort((a, b) => a - b);
      if (!levels.length) { output.textContent = ""; return; }
      const n = levels.length;
      const median = n % 2 ? levels[(n - 1) / 2] : Math.floor((levels[n / 2 - 1] + levels[n / 2]) / 2);
      const suggested = Math.min(median, levels[0] + 1);
      output.textContent = `${output.dataset.prefix || ""} ${names[String(suggested)] || suggested}.`;
    };
    box.addEventListener("change", update);
    update();
  });
});

// Forms marked data-no-enter-submit (the meeting form): Enter in a one-line field does not send
// the form (a meeting is recorded only with the save button). Enter in a textarea keeps its newline,
// and Enter on a button still presses it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-no-enter-submit]").forEach((form) => {
    form.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      const target = event.target;
      if (!(target instanceof HTMLInputElement)) return;
      if (["submit", "button", "reset", "image"].includes(target.type)) return;
      event.preventDefault();
    });
  });
});
