// Gacha: 1 and 10 pulls revealed one by one by rarity, the round as what happened to the player's
// gold (net: the gold returned minus the price; items are listed, not priced), the inventory.
import { api, post } from "./api.js";
import { celebrate, mountSoundToggle, tone, wait } from "./feedback.js";
import { PlayLimits } from "./limits.js";
import { store } from "./store.js";
import { busy, el, formatGold, formatNet, gettext, initialState, interpolate, ngettext, showError } from "./ui.js";

const card = document.querySelector("section.game");
const results = document.querySelector("[data-gacha-result]");
const inventory = document.querySelector("[data-testid=inventory]");
const pullButtons = [
  [document.querySelector("[data-testid=gacha-pull-1]"), 1],
  [document.querySelector("[data-testid=gacha-pull-10]"), 10],
];
const RARITY_ORDER = ["common", "rare", "epic", "legendary"];
const REVEAL_MS = { common: 120, rare: 260, epic: 480, legendary: 900 };

const ITEM_NAMES = (initialState().gacha || {}).item_names || {};
const itemName = (code) => ITEM_NAMES[code] || code;

const RARITY_NAMES = () => ({
  common: gettext("Common"),
  rare: gettext("Rare"),
  epic: gettext("Epic"),
  legendary: gettext("Legendary"),
});

const limits = new PlayLimits(
  "gacha",
  pullButtons.map(([node]) => ({ node, stake: () => Number(node.dataset.stake) || 1 })),
);
mountSoundToggle();

function renderInventory(items) {
  inventory.replaceChildren(
    ...(items.length
      ? items.map((item) =>
          el("li", { dataset: { item: item.item_code } }, el("span", { text: item.name || itemName(item.item_code) }), " ", el("strong", { text: `×${item.quantity}` })),
        )
      : [el("li", { class: "muted", dataset: { empty: "" }, text: gettext("No items yet.") })]),
  );
}

function pullCard(item) {
  return el(
    "li",
    { class: `pull rarity-${item.rarity} face-down`, dataset: { rarity: item.rarity } },
    el("strong", { text: RARITY_NAMES()[item.rarity] || item.rarity }),
    " ",
    item.reward.gold ? interpolate(gettext("%(gold)s gold"), { gold: formatGold(item.reward.gold) }, true) : "",
    item.reward.item ? ` · ${itemName(item.reward.item)}` : "",
  );
}

function summary(round, count) {
  const net = typeof round.net === "number" ? round.net : round.payout - round.bet;
  return interpolate(
    ngettext(
      "%(count)s pull for %(price)s gold: %(gold)s gold back, net %(net)s.",
      "%(count)s pulls for %(price)s gold: %(gold)s gold back, net %(net)s.",
      count,
    ),
    { count, price: formatGold(round.bet), gold: formatGold(round.payout), net: formatNet(net) },
    true,
  );
}

// Reveal the pulls in order, each as long as its rarity deserves; the best rarity gets the moment.
async function reveal(cards, pulls) {
  for (const [index, node] of cards.entries()) {
    const rarity = pulls[index].rarity;
    await wait(REVEAL_MS[rarity] || 150);
    node.classList.remove("face-down");
    node.classList.add("revealed");
    tone(rarity);
  }
  const best = Math.max(...pulls.map((pull) => RARITY_ORDER.indexOf(pull.rarity)));
  celebrate(card, best >= RARITY_ORDER.indexOf("legendary"));
}

async function pull(count, button) {
  if (limits.blocked(Number(button.dataset.stake) || 1)) return;
  limits.busy = true;
  await busy(button, async () => {
    try {
      const response = await post("/api/games/gacha/pull", { count }, { idempotent: true });
      const round = response.round;
      const pulls = round.outcome.pulls || [];
      const cards = pulls.map(pullCard);
      const line = el("p", { dataset: { testid: "gacha-summary", net: String(round.net) }, text: summary(round, pulls.length) });
      results.replaceChildren(line, el("ul", { class: "pull-list" }, ...cards));
      results.dataset.roundId = String(round.id);
      store.applyBalance(response.balance);
      limits.apply(response.limits);
      await reveal(cards, pulls);
      const fresh = await api("/api/games/gacha/inventory");
      renderInventory(fresh.items || []);
    } catch (error) {
      showError(error);
      if (["daily_limit_reached", "play_blocked"].includes(error.code)) limits.refresh();
    }
  });
  limits.busy = false;
  limits.render();
}

for (const [button, count] of pullButtons) {
  button.addEventListener("click", () => pull(count, button));
}
