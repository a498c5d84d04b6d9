// Gacha: 1 and 10 pulls, what each pull granted, the inventory.
import { api, post } from "./api.js";
import { store } from "./store.js";
import { busy, el, formatGold, gettext, initialState, interpolate, showError } from "./ui.js";

const results = document.querySelector("[data-gacha-result]");
const inventory = document.querySelector("[data-testid=inventory]");

const ITEM_NAMES = (initialState().gacha || {}).item_names || {};
const itemName = (code) => ITEM_NAMES[code] || code;

const RARITY_NAMES = () => ({
  common: gettext("Common"),
  rare: gettext("Rare"),
  epic: gettext("Epic"),
  legendary: gettext("Legendary"),
});

function renderInventory(items) {
  inventory.replaceChildren(
    ...(items.length
      ? items.map((item) =>
          el("li", { dataset: { item: item.item_code } }, el("span", { text: item.name || itemName(item.item_code) }), " ", el("strong", { text: `×${item.quantity}` })),
        )
      : [el("li", { class: "muted", dataset: { empty: "" }, text: gettext("No items yet.") })]),
  );
}

async function pull(count, button) {
  await busy(button, async () => {
    try {
      const response = await post("/api/games/gacha/pull", { count }, { idempotent: true });
      const pulls = response.round.outcome.pulls || [];
      results.dataset.roundId = String(response.round.id);
      results.replaceChildren(
        el("p", {
          text: interpolate(
            ngettextSafe("%(count)s pull: %(gold)s gold in total.", "%(count)s pulls: %(gold)s gold in total.", pulls.length),
            { count: pulls.length, gold: formatGold(response.round.payout) },
            true,
          ),
        }),
        el(
          "ul",
          { class: "pull-list" },
          ...pulls.map((item) =>
            el(
              "li",
              { class: `pull rarity-${item.rarity}` },
              el("strong", { text: RARITY_NAMES()[item.rarity] || item.rarity }),
              " ",
              item.reward.gold ? interpolate(gettext("%(gold)s gold"), { gold: formatGold(item.reward.gold) }, true) : "",
              item.reward.item ? ` · ${itemName(item.reward.item)}` : "",
            ),
          ),
        ),
      );
      store.applyBalance(response.balance);
      const fresh = await api("/api/games/gacha/inventory");
      renderInventory(fresh.items || []);
    } catch (error) {
      showError(error);
    }
  });
}

function ngettextSafe(one, many, count) {
  return (window.ngettext || ((a, b, n) => (n === 1 ? a : b)))(one, many, count);
}

for (const [selector, count] of [["[data-testid=gacha-pull-1]", 1], ["[data-testid=gacha-pull-10]", 10]]) {
  const button = document.querySelector(selector);
  button.addEventListener("click", () => pull(count, button));
}
