// Every signed-in page: the header bell's unread count, live from the socket's `notification`
// messages and from this tab's own reads and claims (the `inbox:unread` event).
import { store } from "./store.js";
import { interpolate, toast } from "./ui.js";

const bell = document.querySelector("[data-testid='inbox-bell']");

export function setUnread(count) {
  if (!bell) return;
  const value = Math.max(0, Number(count) || 0);
  const badge = bell.querySelector("[data-testid='inbox-unread']");
  bell.dataset.unread = String(value);
  badge.textContent = String(value);
  badge.hidden = value === 0;
  bell.setAttribute(
    "aria-label",
    value === 0 ? bell.dataset.labelNone : interpolate(bell.dataset.labelSome, { count: value }, true),
  );
}

store.on("notification", (message) => {
  const data = message.data || {};
  setUnread(data.unread_count);
  if (data.title) toast("notification", data.title);
  document.dispatchEvent(new CustomEvent("inbox:notification", { detail: data }));
});

document.addEventListener("inbox:unread", (event) => setUnread(event.detail));
