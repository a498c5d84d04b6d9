// Shared helpers of the player pages: translation, formatting, toasts, error messages, UUIDs.
// Strings go through Django's JavaScript catalog (/jsi18n/, loaded before any module).

export const gettext = window.gettext || ((text) => text);
export const ngettext = window.ngettext || ((one, many, count) => (count === 1 ? one : many));
export const interpolate = window.interpolate || ((text) => text);

const numberFormat = new Intl.NumberFormat(document.documentElement.lang || "en");

export function formatGold(value) {
  return numberFormat.format(Number(value) || 0);
}

export function formatMultiplier(x100) {
  return (Number(x100) / 100).toFixed(2) + "×";
}

// A change of gold as the player reads it: "+10", "+0", "-70".
export function formatNet(value) {
  const amount = Number(value) || 0;
  return (amount < 0 ? "-" : "+") + formatGold(Math.abs(amount));
}

// A multiplier as a paytable writes it: 10 → "10×", 12 → "12.00×" when decimals are wanted.
export function formatTimes(value, decimals = 2) {
  const number = Number(value) || 0;
  return (Number.isInteger(number) && decimals === 0 ? String(number) : number.toFixed(decimals)) + "×";
}

// The clock time of an ISO instant in the page's language (e.g. "00:00", "오전 12:00").
export function formatClock(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString(document.documentElement.lang || "en", {
    hour: "2-digit",
    minute: "2-digit",
  });
}

export const prefersReducedMotion = () =>
  window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

export function formatTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(document.documentElement.lang || "en");
}

// A UUID per user action (Idempotency-Key), with a fallback where randomUUID is missing
// (insecure origins, older browsers).
export function uuid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The API's error codes the pages know, in the page's language; anything else shows the
// envelope's own message.
const ERROR_MESSAGES = {
  insufficient_funds: () => gettext("Not enough gold."),
  bet_out_of_range: () => gettext("That bet is outside the allowed range."),
  daily_limit_reached: () => gettext("You have reached today's limit for this game."),
  round_open: () => gettext("You already have a crash round running."),
  round_settled: () => gettext("This round has already ended."),
  invalid_cashout_target: () => gettext("The auto cash-out must be between 1.01× and the maximum."),
  already_claimed: () => gettext("Already claimed."),
  not_completed: () => gettext("Not completed yet."),
  not_joined: () => gettext("Join the event first."),
  event_not_open: () => gettext("This event is not open."),
  play_blocked: () => gettext("Play and purchases are paused on your account (cool-off or self-exclusion)."),
  purchase_limit_reached: () => gettext("This purchase would go over the daily limit you set."),
  rank_required: () => gettext("Your rank is too low for this."),
  window_closed: () => gettext("This package is not on sale now."),
  out_of_stock: () => gettext("Sold out."),
  per_user_limit: () => gettext("You have bought as many as allowed."),
  promo_invalid: () => gettext("This promo code is not valid."),
  promo_exhausted: () => gettext("This promo code has been used up."),
  promo_already_used: () => gettext("You have already used this promo code."),
  rate_limited: () => gettext("Too many requests. Please wait a moment."),
  not_authenticated: () => gettext("Your session has ended. Please log in again."),
  authentication_failed: () => gettext("Your session has ended. Please log in again."),
  permission_denied: () => gettext("You are not allowed to do that."),
  nickname_taken: () => gettext("This nickname is already taken."),
  validation_error: () => gettext("Please check what you entered."),
  not_found: () => gettext("Not found."),
  network_error: () => gettext("Network problem. Please try again."),
  internal_error: () => gettext("Something went wrong on our side."),
};

// An error that names the rule it broke, from the envelope's details when they carry it.
function ruleMessage(error) {
  const details = (error && error.details) || {};
  if (error.code === "bet_out_of_range" && details.min_bet !== undefined) {
    return interpolate(gettext("Bets are from %(min)s to %(max)s gold."), {
      min: formatGold(details.min_bet),
      max: formatGold(details.max_bet),
    }, true);
  }
  if (error.code === "daily_limit_reached" && details.limit) {
    return interpolate(gettext("You have played all %(limit)s rounds of this game today. More from %(time)s."), {
      limit: details.limit,
      time: formatClock(details.resets_at),
    }, true);
  }
  if (error.code === "play_blocked" && details.blocked_until) {
    return interpolate(gettext("Play is paused until %(until)s (cool-off or self-exclusion)."), {
      until: formatTime(details.blocked_until),
    }, true);
  }
  if (error.code === "validation_error" && details && typeof details === "object") {
    const first = Object.values(details).flat().find((message) => typeof message === "string");
    if (first) return first;
  }
  return null;
}

export function errorMessage(error) {
  const rule = error && ruleMessage(error);
  if (rule) return rule;
  const known = error && ERROR_MESSAGES[error.code];
  if (known) return known();
  return (error && error.message) || gettext("Something went wrong.");
}

// Toasts of one action merge into one: a toast within MERGE_WINDOW_MS of the previous one (not an
// error) joins it as a new line, and the same line is never shown twice.
const MERGE_WINDOW_MS = 1500;
let lastToast = null; // {node, kind, lines, kinds, at, timer}

function toastNode(kind, kinds, lines) {
  const item = document.createElement("div");
  item.className = `toast toast-${kind}`;
  item.dataset.testid = "toast";
  item.dataset.kind = kind;
  item.dataset.kinds = kinds.join(" ");
  for (const line of lines) {
    const row = document.createElement("span");
    row.className = "toast-line";
    row.textContent = line;
    item.append(row);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", gettext("Dismiss"));
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  return item;
}

export function toast(kind, message) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const now = Date.now();
  const previous = lastToast;
  const mergeable =
    previous &&
    previous.node.isConnected &&
    now - previous.at < MERGE_WINDOW_MS &&
    (kind === "error") === (previous.kind === "error");
  if (mergeable && previous.lines.includes(message)) {
    previous.at = now;
    return;
  }
  let entry;
  if (mergeable && kind !== "error") {
    entry = { ...previous, kind, lines: [...previous.lines, message], kinds: [...previous.kinds, kind], at: now };
    window.clearTimeout(previous.timer);
    const node = toastNode(kind, entry.kinds, entry.lines);
    previous.node.replaceWith(node);
    entry.node = node;
  } else {
    entry = { kind, lines: [message], kinds: [kind], at: now };
    entry.node = toastNode(kind, entry.kinds, entry.lines);
    region.append(entry.node);
  }
  const node = entry.node;
  entry.timer = window.setTimeout(() => node.remove(), kind === "error" ? 10000 : 6000);
  lastToast = entry;
}

export function showError(error) {
  toast("error", errorMessage(error));
}

export function initialState() {
  const node = document.getElementById("initial-state");
  return node ? JSON.parse(node.textContent) : {};
}

// Small DOM builder: el("li", {class: "x", dataset: {id: 1}}, "text", child)
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    // Through the CSSOM: the Content-Security-Policy refuses style *attributes*.
    else if (name === "style") node.style.cssText = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Disable a button while an action runs; returns its result.
export async function busy(button, action) {
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await action();
  } finally {
    if (button) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }
}
