// The inbox page: the player's notifications, newest first; read one or all; claim a reward once
// (the claim sends an Idempotency-Key; the gold arrives on the socket as profile_update as well).
import { api, post } from "./api.js";
import { busy, el, formatGold, formatTime, gettext, interpolate, showError, toast, uuid } from "./ui.js";

const list = document.querySelector("[data-testid=inbox-list]");
const empty = document.querySelector("[data-testid=inbox-empty]");
const more = document.querySelector("[data-testid=inbox-more]");
const readAll = document.querySelector("[data-testid=inbox-read-all]");
let nextPage = 1;

const unread = (count) => document.dispatchEvent(new CustomEvent("inbox:unread", { detail: count }));

function rewardText(item) {
  const parts = [];
  if (item.reward_gold) parts.push(interpolate(gettext("%(gold)s gold"), { gold: formatGold(item.reward_gold) }, true));
  if (item.reward_item_code) parts.push(`${item.reward_item_code} × ${item.reward_item_quantity}`);
  return parts.join(", ");
}

function render(item) {
  const node = el(
    "li",
    { class: "card inbox-item", dataset: { id: item.id, unread: String(!item.read_at) }, "data-testid": "inbox-item" },
    el("h2", { text: item.title }),
    el("p", { class: "muted", text: formatTime(item.created_at) }),
    item.body ? el("p", { text: item.body }) : null,
  );
  const actions = el("div", { class: "actions" });
  if (item.reward_gold || item.reward_item_code) {
    const claimed = Boolean(item.claimed_at);
    const button = el(
      "button",
      { type: "button", class: "button small", "data-testid": "inbox-claim", disabled: claimed },
      claimed
        ? interpolate(gettext("Claimed: %(reward)s"), { reward: rewardText(item) }, true)
        : interpolate(gettext("Claim %(reward)s"), { reward: rewardText(item) }, true),
    );
    const key = uuid(); // one key per claim button: a retried click replays, never pays twice
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          const result = await api(`/api/notifications/${item.id}/claim`, { method: "POST", body: {}, idempotencyKey: key });
          node.replaceWith(render(result.notification));
          unread(result.unread_count);
          toast("reward_granted", interpolate(gettext("Claimed: %(reward)s"), { reward: rewardText(result.notification) }, true));
        } catch (error) {
          showError(error);
        }
      }),
    );
    actions.append(button);
  }
  if (!item.read_at) {
    const button = el("button", { type: "button", class: "button small ghost", "data-testid": "inbox-read" }, gettext("Mark as read"));
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          const result = await post(`/api/notifications/${item.id}/read`);
          node.replaceWith(render(result.notification));
          unread(result.unread_count);
        } catch (error) {
          showError(error);
        }
      }),
    );
    actions.append(button);
  }
  if (actions.childElementCount) node.append(actions);
  return node;
}

async function load() {
  try {
    const page = await api(`/api/notifications?page=${nextPage}`);
    for (const item of page.results) list.append(render(item));
    unread(page.unread_count);
    nextPage = page.next ? nextPage + 1 : null;
    more.hidden = !nextPage;
    empty.hidden = list.childElementCount > 0;
  } catch (error) {
    showError(error);
  }
}

more.addEventListener("click", () => busy(more, load));
readAll.addEventListener("click", () =>
  busy(readAll, async () => {
    try {
      const result = await post("/api/notifications/read-all");
      for (const node of list.querySelectorAll("[data-unread=true]")) {
        node.dataset.unread = "false";
        const button = node.querySelector("[data-testid=inbox-read]");
        if (button) button.remove();
      }
      unread(result.unread_count);
    } catch (error) {
      showError(error);
    }
  }),
);
document.addEventListener("inbox:notification", (event) => {
  const item = { read_at: null, claimed_at: null, ...event.detail };
  list.prepend(render(item));
  empty.hidden = true;
});

load();
