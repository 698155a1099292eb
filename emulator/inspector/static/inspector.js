// ctmp-emulator inspector: small progressive enhancements over server-rendered pages.
// No framework and no build step; every page works without it except the live parts.
"use strict";

const Inspector = (() => {
  const prefix = document.body.dataset.prefix || "/_emulator/ui";
  const root = document.documentElement;

  // Theme: the system's, unless the user chose one (kept in localStorage).
  const saved = localStorage.getItem("ctmp-theme");
  if (saved) root.dataset.theme = saved;
  function toggleTheme() {
    const dark = root.dataset.theme
      ? root.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("ctmp-theme", root.dataset.theme);
  }

  // JSON calls to the control API; the session cookie carries the token.
  async function control(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch("/_emulator" + path, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const message = data && data.error ? data.error.message : response.statusText;
      throw new Error(`${response.status} ${message}`);
    }
    return data;
  }

  async function signIn(form) {
    const error = form.querySelector(".error");
    error.hidden = true;
    const response = await fetch(prefix + "/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ token: form.token.value }),
    });
    if (response.ok) {
      location.assign(form.dataset.next || prefix);
      return;
    }
    const data = await response.json().catch(() => null);
    error.textContent = data && data.error ? data.error.message : response.statusText;
    error.hidden = false;
  }

  async function signOut() {
    await fetch(prefix + "/session", { method: "DELETE", credentials: "same-origin" });
    location.assign(prefix + "/login");
  }

  // Rows with data-href open on click and on Enter (they are focusable).
  function openRow(event) {
    const row = event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, select")) return;
    if (event.type === "keydown" && event.key !== "Enter") return;
    location.assign(row.dataset.href);
  }

  // Epoch seconds in <time data-epoch> shown in the reader's time zone.
  function localTimes(scope) {
    for (const el of scope.querySelectorAll("time[data-epoch]")) {
      const seconds = Number(el.dataset.epoch);
      if (!Number.isFinite(seconds)) continue;
      const date = new Date(seconds * 1000);
      el.dateTime = date.toISOString();
      el.textContent = date.toLocaleString();
    }
  }

  document.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]");
    if (action && action.dataset.action === "theme") toggleTheme();
    else if (action && action.dataset.action === "sign-out") signOut();
    else openRow(event);
  });
  // Keyboard: j/k or arrows move through a table's rows, Enter opens the row, / focuses the
  // filter, t switches the theme.
  function moveRow(step) {
    const rows = [...document.querySelectorAll("tr[data-href]")];
    if (!rows.length) return;
    const at = rows.indexOf(document.activeElement.closest && document.activeElement.closest("tr[data-href]"));
    const next = rows[Math.min(rows.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
    for (const row of rows) row.classList.toggle("selected", row === next);
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.matches("input, textarea, select")) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "t") toggleTheme();
    else if (event.key === "j" || event.key === "ArrowDown") {
      if (!document.querySelector("tr[data-href]")) return;
      event.preventDefault();
      moveRow(1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      if (!document.querySelector("tr[data-href]")) return;
      event.preventDefault();
      moveRow(-1);
    } else if (event.key === "/") {
      const filter = document.querySelector("[data-filter]") || document.querySelector(".filters input");
      if (filter) {
        event.preventDefault();
        filter.focus();
      }
    } else openRow(event);
  });
  document.addEventListener("DOMContentLoaded", () => {
    const login = document.getElementById("login");
    if (login) {
      login.addEventListener("submit", (event) => {
        event.preventDefault();
        signIn(login);
      });
    }
    localTimes(document);
  });

  return { prefix, control, localTimes };
})();
