// GateRouter console: progressive enhancement over server-rendered pages. Changes go through the same JSON APIs
// scripts use (/admin/v1 for the admin, /api/v1 for an account), authenticated by the session cookie plus the page's
// CSRF token. No framework, no build step.
"use strict";

const page = document.body.dataset.page;
const apiBase = document.body.dataset.api;
const accountID = document.body.dataset.account;
const isAdmin = document.body.dataset.admin === "true";
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Calls a gateway API; throws an Error carrying the OpenAI-style error message. */
async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!response.ok) throw new Error(json?.error?.message ?? `${response.status} ${text.slice(0, 200)}`);
  return json;
}

/** Re-reads this page and swaps in a fresh copy of one element (a table after a change). */
async function refresh(selector) {
  const html = await (await fetch(location.href, { credentials: "same-origin" })).text();
  const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
  const current = $(selector);
  if (fresh && current) { current.replaceWith(fresh); wire(); }
}

function show(element, message) {
  if (!element) return;
  element.textContent = message;
  element.hidden = !message;
}

const list = (text) => text.split(",").map((item) => item.trim()).filter(Boolean);
const numberOrNull = (text) => (text.trim() === "" ? null : Number(text));

function limitsFrom(form) {
  const data = new FormData(form);
  return {
    requests_per_minute: numberOrNull(data.get("requests_per_minute") ?? ""),
    tokens_per_minute: numberOrNull(data.get("tokens_per_minute") ?? ""),
    budget: (data.get("budget") ?? "").trim() || null,
    budget_period: data.get("budget_period") || "total",
    allowed_models: list(data.get("allowed_models") ?? ""),
  };
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  }
}

// The key this tab signed in with (or created last), kept only in this tab's session storage for the snippets.
const storedKey = () => sessionStorage.getItem("gaterouter-key");

/** Wires the page's controls (again after a refresh replaced part of the page). */
function wire() {
  for (const form of $$(".edit-limits")) {
    form.onsubmit = async (event) => {
      event.preventDefault();
      try {
        await api("PATCH", `${apiBase}/keys/${form.dataset.keyId}`, { limits: limitsFrom(form) });
        await refresh("#keys");
      } catch (error) { show($("#key-error"), error.message); }
    };
  }
  for (const button of $$(".revoke")) {
    button.onclick = async () => {
      if (!confirm(`Revoke the key "${button.dataset.keyName}"? Requests with it stop at once.`)) return;
      try {
        await api("DELETE", `${apiBase}/keys/${button.dataset.keyId}`);
        await refresh("#keys");
      } catch (error) { show($("#key-error"), error.message); }
    };
  }
  for (const button of $$(".copy")) {
    button.onclick = () => {
      const source = button.dataset.copyFrom ? document.getElementById(button.dataset.copyFrom) : null;
      let text = button.dataset.copy ?? "";
      if (source) {
        const clone = source.cloneNode(true);
        const key = storedKey();
        for (const slot of $$(".key-slot", clone)) slot.textContent = key ?? "YOUR_GATEROUTER_KEY";
        text = clone.textContent;
      }
      copy(text, button);
    };
  }
}

const handlers = {
  login() {
    $("#login")?.addEventListener("submit", () => {
      const key = $("#key").value.trim();
      if (key.startsWith("gr-")) sessionStorage.setItem("gaterouter-key", key);
    });
  },

  keys() {
    $("#create-key")?.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { name: form.name.value.trim(), limits: limitsFrom(form) };
      if (isAdmin) {
        body.account_id = accountID;
        body.scope = form.scope.value;
      }
      const button = $("#create-key-button");
      button.disabled = true;
      try {
        const created = await api("POST", `${apiBase}/keys`, body);
        $("#new-key-secret").textContent = created.key;
        $("#new-key").hidden = false;
        show($("#key-error"), "");
        sessionStorage.setItem("gaterouter-key", created.key);
        form.reset();
        await refresh("#keys");
      } catch (error) {
        show($("#key-error"), error.message);
      } finally {
        button.disabled = false;
      }
    });
    $("#copy-key")?.addEventListener("click", (event) => copy($("#new-key-secret").textContent, event.target));
  },

  settings() {
    $("#routing-settings")?.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const status = $("#settings-status");
      const body = {
        auto_routing: form.auto_routing.checked,
        strict_params: form.strict_params.checked,
        fallback: form.fallback.checked,
        routing_strategy: form.routing_strategy.value,
        hedging_percent: Number(form.hedging_percent.value || 0),
        allowed_providers: list(form.allowed_providers.value),
        blocked_providers: list(form.blocked_providers.value),
        allowed_models: list(form.allowed_models.value),
        blocked_models: list(form.blocked_models.value),
        max_output_price: form.max_output_price.value.trim() || null,
      };
      status.textContent = "Saving…";
      status.classList.remove("error");
      try {
        const query = isAdmin ? `?account_id=${encodeURIComponent(accountID)}` : "";
        await api("PATCH", `${apiBase}/settings${query}`, body);
        status.textContent = "Saved. The next request uses these settings.";
      } catch (error) {
        status.textContent = error.message;
        status.classList.add("error");
      }
    });
    // The toggle saves at once: it is the setting people come here for.
    $("#auto-routing")?.addEventListener("change", () => $("#routing-settings").requestSubmit());
  },

  models() {
    const rows = $$("#models tbody tr");
    const controls = ["#model-search", "#filter-provider", "#filter-use-case", "#filter-capability", "#filter-available"].map((s) => $(s));
    const apply = () => {
      const [search, provider, useCase, capability, available] = controls;
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const row of rows) {
        const d = row.dataset;
        const visible = (!provider.value || d.provider === provider.value)
          && (!useCase.value || d.useCase === useCase.value)
          && (!capability.value || d.capabilities.split(" ").includes(capability.value))
          && (!available.checked || d.available === "true")
          && words.every((word) => d.search.toLowerCase().includes(word));
        row.hidden = !visible;
        if (visible) shown += 1;
      }
      $("#model-count").textContent = `${shown} of ${rows.length} shown`;
    };
    for (const control of controls) {
      control.addEventListener("input", apply);
      control.addEventListener("change", apply);
    }
    apply();
  },

  playground() {
    let controller = null;
    $("#pg-stop").addEventListener("click", () => controller?.abort());
    $("#playground").addEventListener("submit", async (event) => {
      event.preventDefault();
      const output = $("#pg-output");
      const model = $("#pg-model").value;
      const stream = $("#pg-stream").checked;
      const messages = [];
      if ($("#pg-system").value.trim()) messages.push({ role: "system", content: $("#pg-system").value.trim() });
      messages.push({ role: "user", content: $("#pg-prompt").value });
      output.textContent = "";
      for (const id of ["#pg-answered", "#pg-tokens", "#pg-cost", "#pg-time"]) $(id).textContent = "…";
      show($("#pg-error"), "");
      const started = performance.now();
      controller = new AbortController();
      $("#pg-send").disabled = true;
      $("#pg-stop").hidden = !stream;
      const finish = (answered, usage) => {
        $("#pg-answered").textContent = answered || "–";
        $("#pg-tokens").textContent = usage ? `${usage.prompt_tokens} / ${usage.completion_tokens}` : "–";
        $("#pg-cost").textContent = usage?.cost !== undefined ? `$${Number(usage.cost).toFixed(6)}` : "–";
        $("#pg-time").textContent = `${Math.round(performance.now() - started)} ms`;
      };
      try {
        const response = await fetch("/openai/v1/chat/completions", {
          method: "POST",
          credentials: "same-origin",
          signal: controller.signal,
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ model, messages, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
        });
        const headerModel = response.headers.get("x-gaterouter-model");
        if (!response.ok) {
          const text = await response.text();
          let message = text;
          try { message = JSON.parse(text).error.message; } catch { /* keep the text */ }
          throw new Error(message);
        }
        if (!stream) {
          const json = await response.json();
          output.textContent = json.choices?.[0]?.message?.content ?? "";
          finish(json.model ?? headerModel, json.usage);
          return;
        }
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "", answered = headerModel, usage = null;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let newline;
          while ((newline = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new Error(chunk.error.message);
            answered = chunk.model ?? answered;
            output.textContent += chunk.choices?.[0]?.delta?.content ?? "";
            if (chunk.usage) usage = chunk.usage;
          }
        }
        finish(answered, usage);
      } catch (error) {
        if (error.name !== "AbortError") show($("#pg-error"), error.message);
        finish(null, null);
      } finally {
        $("#pg-send").disabled = false;
        $("#pg-stop").hidden = true;
      }
    });
  },

  integrations() {
    $("#reveal-key").addEventListener("click", (event) => {
      let key = storedKey();
      if (!key) {
        key = prompt("Paste the API key to use in these snippets (it stays in this browser tab):")?.trim();
        if (!key) return;
        sessionStorage.setItem("gaterouter-key", key);
      }
      for (const slot of $$(".key-slot")) slot.textContent = key;
      event.target.hidden = true;
    });
  },

  accounts() {
    $("#create-account").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { name: form.name.value.trim(), prepaid: form.prepaid.checked };
      if (form.prepaid.checked && form.balance.value.trim()) body.balance = form.balance.value.trim();
      try {
        await api("POST", "/admin/v1/accounts", body);
        location.reload();
      } catch (error) { show($("#account-error"), error.message); }
    });
    for (const form of $$(".add-credits")) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await api("POST", `/admin/v1/accounts/${form.dataset.accountId}/credits`, { amount: form.amount.value.trim() });
          location.reload();
        } catch (error) { show($("#account-error"), error.message); }
      });
    }
    for (const button of $$(".suspend")) {
      button.addEventListener("click", async () => {
        try {
          await api("PATCH", `/admin/v1/accounts/${button.dataset.accountId}`, { suspended: button.dataset.suspend === "true" });
          location.reload();
        } catch (error) { show($("#account-error"), error.message); }
      });
    }
  },
};

$("#account-pick")?.addEventListener("change", (event) => event.target.form.submit());
handlers[page]?.();
wire();
