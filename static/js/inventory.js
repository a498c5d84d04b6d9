// Inventory: equip one item per kind (frame, card back, emote, skin) or empty a slot. The server
// checks ownership; the page redraws from its answer.
import { post } from "./api.js";
import { busy, el, gettext, showError, toast } from "./ui.js";

const list = document.querySelector("[data-testid=inventory-items]");
const slots = document.querySelector("[data-testid=equipped-slots]");

function render(inventory) {
  const equipped = new Map(inventory.equipped.map((item) => [item.kind, item]));
  for (const slot of slots.querySelectorAll("[data-slot]")) {
    const item = equipped.get(slot.dataset.slot);
    slot.replaceChildren(item ? item.name : el("span", { class: "muted", text: gettext("Nothing equipped") }));
  }
  for (const row of list.querySelectorAll("[data-item]")) {
    const fresh = inventory.items.find((item) => item.item_code === row.dataset.item);
    const isEquipped = Boolean(fresh && fresh.is_equipped);
    row.dataset.equipped = String(isEquipped);
    row.classList.toggle("equipped", isEquipped);
    const button = row.querySelector("button[data-action]");
    if (!button) continue;
    button.dataset.action = isEquipped ? "unequip" : "equip";
    button.textContent = isEquipped ? gettext("Unequip") : gettext("Equip");
    button.classList.toggle("primary", !isEquipped);
  }
}

list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest("[data-item]");
  const equip = button.dataset.action === "equip";
  busy(button, async () => {
    try {
      const inventory = equip
        ? await post("/api/users/me/items/equip", { item_code: row.dataset.item })
        : await post("/api/users/me/items/unequip", { kind: row.dataset.kind });
      render(inventory);
      toast("success", equip ? gettext("Equipped.") : gettext("Unequipped."));
    } catch (error) {
      showError(error);
    }
  });
});
