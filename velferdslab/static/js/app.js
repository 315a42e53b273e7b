// Progressive enhancement only: every flow works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before a destructive form is sent (forms marked data-confirm).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});

// cases: the suggested overall level, live, on the assessment and meeting forms. The rule mirrors
// cases/themes.py suggest_overall_level (the server applies it when the form is sent; this only
// saves a round trip): the median of the team's theme levels, rounded down, but never more than one
// step above the lowest theme. tests/browser/test_meeting_scale.py checks the two agree.
const suggestOverallLevel = (values) => {
  const levels = values.filter((n) => n >= 1 && n <= 4).sort((a, b) => a - b);
  if (!levels.length) return null;
  const n = levels.length;
  const median = n % 2 ? levels[(n - 1) / 2] : Math.floor((levels[n / 2 - 1] + levels[n / 2]) / 2);
  return Math.min(median, levels[0] + 1);
};

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-suggest]").forEach((box) => {
    const output = box.querySelector("output.suggestion");
    const overall = box.querySelector("select[name=overall_level]");
    if (!output || !overall) return;
    const names = {};
    overall.querySelectorAll("option").forEach((o) => { if (o.value) names[o.value] = o.textContent; });
    const update = () => {
      // The team's level per theme: a checked radio (the scale) or a select's value.
      const values = [...box.querySelectorAll("input[data-team-level]:checked, select[data-team-level]")]
        .map((el) => parseInt(el.value, 10));
      const suggested = suggestOverallLevel(values);
      output.textContent = suggested === null ? "" : `${output.dataset.prefix || ""} ${names[String(suggested)] || suggested}.`;
    };
    box.addEventListener("change", update);
    update();
  });
});

// The rating scale (cases/_ratings.html): a level different from the last assessment is marked
// ("Endret fra stabil", class "changed"), and the distance since the start follows the choice. The
// server renders the same marks for the state it sends, so without this script they still show.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".ratings[data-level-names]").forEach((box) => {
    let names = {};
    try { names = JSON.parse(box.dataset.levelNames || "{}"); } catch (e) { names = {}; }
    const msg = box.dataset;
    const diffText = (d) => (d > 0 ? `+${d}` : d < 0 ? `\u2212${-d}` : "\u00b10");
    const mark = (group) => {
      const checked = group.querySelector("input[type=radio]:checked");
      const now = checked ? checked.value : "";
      const previous = group.dataset.previous || "";
      const start = group.dataset.start || "";
      const changed = previous !== "" && now !== previous;
      group.classList.toggle("changed", changed);
      const change = group.querySelector(".rating-change");
      const wanted = changed ? msg.msgChanged.replace("{level}", names[previous] || previous) : "";
      if (change && change.textContent !== wanted) change.textContent = wanted;
      const distance = group.querySelector(".rating-distance");
      if (distance && start) {
        distance.textContent = now
          ? msg.msgDistance.replace("{start}", names[start] || start).replace("{now}", names[now] || now)
            .replace("{diff}", diffText(parseInt(now, 10) - parseInt(start, 10)))
          : msg.msgStart.replace("{start}", names[start] || start);
      }
    };
    box.addEventListener("change", (event) => {
      const group = event.target.closest && event.target.closest("[data-rating]");
      if (group) mark(group);
    });
    box.querySelectorAll("[data-rating]").forEach(mark);
  });
});

// Every member's voice (cases/_ratings.html, issue 15): the views of one theme about the household
// (a voice whose "gjelder" choice is a member is about that member, not the household) two or more
// steps apart are flagged "Ulike syn", as the server renders it for the state it sends.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".ratings[data-msg-differ]").forEach((box) => {
    const steps = parseInt(box.dataset.differSteps || "2", 10);
    const flag = (theme) => {
      const levels = [];
      theme.querySelectorAll("[data-voice]").forEach((group) => {
        const checked = group.querySelector("input[type=radio]:checked");
        const subject = group.querySelector("select[name$=_subject]");
        if (checked && checked.value && !(subject && subject.value)) levels.push(parseInt(checked.value, 10));
      });
      const out = theme.querySelector(".voices-differ");
      if (!out) return;
      const differ = levels.length > 1 && Math.max(...levels) - Math.min(...levels) >= steps;
      const shown = out.querySelector(".disagree-mark");
      if (differ && !shown) {
        const mark = document.createElement("strong");
        mark.className = "disagree-mark";
        mark.textContent = box.dataset.msgDiffer;
        out.appendChild(mark);
      } else if (!differ && shown) {
        shown.remove();
      }
    };
    box.addEventListener("change", (event) => {
      const theme = event.target.closest && event.target.closest("fieldset.theme-rating");
      if (theme) flag(theme);
    });
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

// The meeting form (form[data-draft-url]) never loses work: what is typed is saved as a server-side
// draft every few seconds (and before the form is sent), the session is kept alive while the form
// is open, a warning (role=alert) comes two minutes before the session's absolute limit, and when
// the session has ended the page says so and links to sign-in, which returns to the form and its
// draft. Without this script the form works as before, only without drafts.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-draft-url]");
  if (!form) return;
  const token = form.querySelector("input[name=csrf_token]");
  const status = document.getElementById("draft-status");
  const alertBox = document.getElementById("session-warning");
  const data = form.dataset;
  let dirty = false;
  let saving = null;
  let ended = false;
  let sending = false;

  const post = (url, body, keepalive) => fetch(url, {
    method: "POST", credentials: "same-origin", keepalive: Boolean(keepalive),
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
    body: JSON.stringify(body),
  });
  const signedOut = (r) => r.redirected || r.status === 401 || r.url.includes("/logg-inn");
  const clock = (ms) => new Date(ms).toLocaleTimeString("nb-NO", { hour: "2-digit", minute: "2-digit" });
  const show = (text, withLink) => {
    alertBox.textContent = "";
    const p = document.createElement("p");
    p.textContent = text;
    if (withLink) {
      const a = document.createElement("a");
      a.href = data.loginUrl;
      a.textContent = data.msgLogin;
      p.append(" ", a);
    }
    alertBox.append(p);
  };
  const sessionEnded = () => {
    if (ended) return;
    ended = true;
    show(data.msgEnded, true);
  };
  const fields = () => {
    const out = {};
    new FormData(form).forEach((value, name) => {
      if (name === "csrf_token" || typeof value !== "string") return;
      (out[name] = out[name] || []).push(value);
    });
    return out;
  };
  const save = (keepalive) => {
    if (!dirty || ended) return saving || Promise.resolve();
    if (saving) return saving;
    dirty = false;
    saving = post(data.draftUrl, { fields: fields() }, keepalive).then(async (r) => {
      if (signedOut(r)) { dirty = true; sessionEnded(); return; }
      if (!r.ok) { dirty = true; return; }
      const answer = await r.json();
      if (status) status.textContent = data.msgSaved.replace("{time}", answer.saved_at);
    }).catch(() => { dirty = true; }).finally(() => { saving = null; });
    return saving;
  };

  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("change", () => { dirty = true; });
  setInterval(() => { if (!sending) save(); }, 3000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && !sending) save(true);
  });
  // Sending: the latest keystrokes go to the draft first, so a send that fails (an ended session)
  // loses nothing; a successful save of the meeting then deletes the draft.
  form.addEventListener("submit", (event) => {
    if (sending) return;
    event.preventDefault();
    sending = true;
    Promise.resolve(save()).finally(() => form.submit());
  });

  // Keep-alive, and the warning before the absolute limit.
  const idle = parseInt(data.sessionIdle, 10) || 1800;
  const warnBefore = (parseInt(data.sessionWarn, 10) || 120) * 1000;
  let warnTimer = null;
  let endTimer = null;
  const schedule = (secondsLeft) => {
    if (secondsLeft === null || secondsLeft === undefined || Number.isNaN(secondsLeft)) return;
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    const endsAt = Date.now() + secondsLeft * 1000;
    warnTimer = setTimeout(() => { if (!ended) show(data.msgWarning.replace("{time}", clock(endsAt)), false); },
      Math.max(0, endsAt - warnBefore - Date.now()));
    endTimer = setTimeout(sessionEnded, Math.max(0, endsAt - Date.now()));
  };
  const ping = () => {
    if (ended) return;
    post(data.keepaliveUrl, {}).then(async (r) => {
      if (signedOut(r)) { sessionEnded(); return; }
      if (r.ok) schedule((await r.json()).seconds_left);
    }).catch(() => {});
  };
  schedule(data.sessionLeft === undefined ? null : parseInt(data.sessionLeft, 10));
  setInterval(ping, Math.max(5, Math.min(idle / 3, 300)) * 1000);
});

// The spend request form: the goal list shows only goals of the chosen theme, "level now" follows
// the theme (the team's latest rating of it) and the hoped level defaults to one step up. The server
// refuses a goal of another theme either way.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-spend-form]");
  if (!form) return;
  const theme = form.querySelector("select[name=theme]");
  const goal = form.querySelector("select[name=goal_id]");
  const from = form.querySelector("select[name=level_from]");
  const to = form.querySelector("select[name=level_to]");
  if (!theme || !goal) return;
  let levels = {};
  try { levels = JSON.parse(form.dataset.levels || "{}"); } catch (e) { levels = {}; }
  let hopedTouched = false;
  if (to) to.addEventListener("change", () => { hopedTouched = true; });
  const filterGoals = () => {
    let selectedHidden = false;
    goal.querySelectorAll("option").forEach((option) => {
      const own = !option.dataset.theme || option.dataset.theme === theme.value;
      option.hidden = !own;
      option.disabled = !own;
      if (!own && option.selected) selectedHidden = true;
    });
    if (selectedHidden) goal.value = "0";
    const mine = [...goal.options].filter((o) => o.dataset.theme === theme.value);
    if (mine.length === 1 && goal.value === "0") goal.value = mine[0].value;
  };
  const followLevels = () => {
    if (!from) return;
    const level = levels[theme.value];
    from.value = level ? String(level) : "";
    if (to && !hopedTouched) to.value = String(level ? Math.min(level + 1, 4) : 2);
  };
  theme.addEventListener("change", () => { filterGoals(); followLevels(); });
  filterGoals();
});

// Layout (issue 13): a wide table scrolls in its own container, never the page. A table that the
// template did not put in <div class="table-scroll" role="region" aria-label="…" tabindex="0">
// gets one here, named by its caption; a chart that scrolls (a narrow screen) can be reached and
// scrolled from the keyboard.
document.addEventListener("DOMContentLoaded", () => {
  const named = (box, table) => {
    if (!box.hasAttribute("tabindex")) box.tabIndex = 0;
    if (!box.hasAttribute("role")) box.setAttribute("role", "region");
    const caption = table && table.querySelector("caption");
    const name = (caption ? caption.textContent : "").trim().replace(/\s+/g, " ");
    if (name && !box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
      box.setAttribute("aria-label", name);
    }
  };
  document.querySelectorAll("main table").forEach((table) => {
    const wrapped = table.closest(".table-scroll");
    if (wrapped) { named(wrapped, table); return; }
    const box = document.createElement("div");
    box.className = "table-scroll";
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
    named(box, table);
  });
  const charts = [...document.querySelectorAll("main .chart")];
  const reachable = () => charts.forEach((chart) => {
    if (chart.scrollWidth > chart.clientWidth + 1) chart.tabIndex = 0;
    else chart.removeAttribute("tabindex");
  });
  reachable();
  window.addEventListener("resize", reachable);
});
