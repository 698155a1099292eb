// The controls page: each form or button is one control API call (Inspector.control), then the
// page reloads to show the new state, with what happened in a flash line.
"use strict";

(() => {
  const FLASH = "ctmp-controls-flash";

  function number(value) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`${value} is not a number`);
    return n;
  }

  function faultRule(form) {
    const rule = {};
    for (const input of form.querySelectorAll("input[name]")) {
      const value = input.value.trim();
      if (!value) continue;
      rule[input.name] = input.hasAttribute("data-number") ? number(value) : value;
    }
    if (rule.method) rule.method = rule.method.toUpperCase();
    return rule;
  }

  async function readFile(form) {
    const file = form.file.files[0];
    if (!file) throw new Error("choose a file first");
    return { name: file.name, text: await file.text() };
  }

  // Each action: the call it makes and what to say when it worked. Answers are JSON.
  const actions = {
    async reset(form) {
      const tenant = form.tenant.value;
      const query = tenant ? `?tenant=${encodeURIComponent(tenant)}` : "";
      const done = await Inspector.control("POST", `/reset${query}`);
      return `Reset ${tenant || "everything"}: ${done.journal_entries_removed ?? 0} journal entries forgotten.`;
    },
    async "clock-freeze"() {
      const clock = await Inspector.control("POST", "/clock/freeze", {});
      return `Clock frozen at ${clock.iso}.`;
    },
    async "clock-unfreeze"() {
      const clock = await Inspector.control("POST", "/clock/unfreeze");
      return `Clock running from ${clock.iso}.`;
    },
    async "clock-set"(form) {
      const at = new Date(form.at.value).toISOString();
      const clock = await Inspector.control("POST", "/clock/set", { at });
      return `Clock set to ${clock.iso}.`;
    },
    async "clock-advance"(form) {
      const clock = await Inspector.control("POST", "/clock/advance", { seconds: number(form.seconds.value) });
      return `Clock advanced to ${clock.iso}.`;
    },
    async "fault-add"(form) {
      const rule = await Inspector.control("POST", "/faults", faultRule(form));
      return `Fault ${rule.id} added.`;
    },
    async "fault-delete"(button) {
      await Inspector.control("DELETE", `/faults/${encodeURIComponent(button.dataset.id)}`);
      return `Fault ${button.dataset.id} removed.`;
    },
    async "faults-clear"() {
      const done = await Inspector.control("DELETE", "/faults");
      return `${done.cleared} fault rule(s) removed.`;
    },
    async "state-upload"(form) {
      const { text } = await readFile(form);
      let document;
      try {
        document = JSON.parse(text);
      } catch (error) {
        throw new Error(`the file is not JSON: ${error.message}`);
      }
      await Inspector.control("PUT", "/state", document);
      return "State loaded.";
    },
  };

  function flash(message, bad) {
    const line = document.querySelector(".flash");
    line.textContent = message;
    line.classList.toggle("error", Boolean(bad));
    line.hidden = false;
  }

  async function perform(name, element) {
    try {
      const said = await actions[name](element);
      sessionStorage.setItem(FLASH, said);
      location.reload();
    } catch (error) {
      flash(error.message, true);
    }
  }

  // The scenario's verdict stays on this page (nothing here changed): built as DOM nodes.
  async function runScenario(form) {
    const box = form.parentElement.querySelector(".verdict");
    box.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "Running…" }));
    try {
      const { name, text } = await readFile(form);
      const response = await fetch(`${Inspector.prefix}/controls/scenario`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ yaml: text, name }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
      box.replaceChildren(...verdictNodes(data));
    } catch (error) {
      box.replaceChildren(Object.assign(document.createElement("p"), { className: "error", textContent: error.message }));
    }
  }

  function el(tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children);
    return node;
  }

  function verdictNodes(data) {
    const badge = el("span", { className: `badge ${data.ok ? "ok" : "bad"}`, textContent: data.ok ? "passed" : "failed" });
    if (!data.loaded) {
      return [el("p", {}, badge, " the file is not a scenario:"), el("ul", {}, ...data.problems.map((p) => el("li", { className: "mono", textContent: p })))];
    }
    const head = el("p", {}, badge, ` ${data.name} (${data.seconds} s)`);
    const nodes = [head];
    if (data.setup_error) nodes.push(el("p", { className: "error", textContent: `setup: ${data.setup_error}` }));
    const rows = data.steps.map((s) =>
      el(
        "tr",
        {},
        el("td", { className: "num", textContent: String(s.n) }),
        el("td", {}, el("span", { className: `badge ${s.ok ? "ok" : "bad"}`, textContent: s.ok ? "ok" : "fail" })),
        el("td", { className: "mono", textContent: s.label }),
        el("td", { textContent: s.problems.join("; ") }),
      ),
    );
    nodes.push(el("table", { className: "rows steps" }, el("tbody", {}, ...rows)));
    return nodes;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const said = sessionStorage.getItem(FLASH);
    if (said) {
      sessionStorage.removeItem(FLASH);
      flash(said, false);
    }
    for (const form of document.querySelectorAll("form[data-control]")) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (form.dataset.control === "scenario") runScenario(form);
        else perform(form.dataset.control, form);
      });
    }
    for (const button of document.querySelectorAll("[data-control-button]")) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        perform(button.dataset.controlButton, button);
      });
    }
  });
})();
