// Shop: buy gold packs, items and limited packages; the purchase's state (pending → settled)
// follows the purchase_update socket messages; countdowns and remaining stock of limited packages.
// A provider with a hosted checkout (Stripe) answers with checkout_url: the page goes there and the
// provider sends the player back to /shop/?checkout=success|cancel&receipt=…, where the purchase
// shows pending until the provider's webhook settles it (socket message, or "Check now").
import { api, post } from "./api.js";
import { purchaseStatusText, store } from "./store.js";
import { busy, el, formatGold, formatTime, gettext, interpolate, showError } from "./ui.js";

const statusBox = document.querySelector("[data-testid=purchase-status]");
const receiptLink = document.querySelector("[data-testid=receipt-link]");
const purchasesList = document.querySelector("[data-purchases]");
const confirmDialog = document.querySelector("[data-testid=purchase-confirm]");
let lastReceipt = null;

const receiptUrl = (receipt) => `/shop/receipts/${encodeURIComponent(receipt)}/`;

function showReceiptLink(receipt) {
  receiptLink.hidden = false;
  receiptLink.querySelector("a").href = receiptUrl(receipt);
}

// Every purchase is confirmed first: what it is, its price (real money or gold), what it gives.
function confirmPurchase(card) {
  return new Promise((resolve) => {
    confirmDialog.querySelector("[data-confirm-name]").textContent = card.dataset.name;
    confirmDialog.querySelector("[data-confirm-price]").textContent = card.dataset.priceText;
    confirmDialog.querySelector("[data-confirm-gets]").textContent = card.dataset.gets;
    const realMoney = card.dataset.realMoney === "true";
    confirmDialog.querySelector("[data-confirm-real-money]").hidden = !realMoney;
    confirmDialog.querySelector("[data-confirm-gold]").hidden = realMoney;
    const promo = (card.querySelector("input[name=promo_code]")?.value || "").trim();
    const promoNote = confirmDialog.querySelector("[data-confirm-promo]");
    promoNote.hidden = !promo;
    promoNote.textContent = promo
      ? interpolate(gettext("Promo code %(code)s: its discount comes off this price when you pay."), { code: promo }, true)
      : "";
    confirmDialog.returnValue = "cancel";
    confirmDialog.addEventListener("close", () => resolve(confirmDialog.returnValue === "confirm"), { once: true });
    confirmDialog.showModal();
    confirmDialog.querySelector("[data-testid=confirm-purchase]").focus();
  });
}

// The provider's failure codes are not for players: say what happened in words.
function failureText(reason) {
  if (reason === "expired") return gettext("The payment was not completed in time. Nothing was charged.");
  if (reason === "card_declined") return gettext("The card was declined. Nothing was charged.");
  return gettext("The payment did not go through. Nothing was charged.");
}

function showStatus(purchase) {
  lastReceipt = purchase.receipt;
  showReceiptLink(purchase.receipt);
  statusBox.hidden = false;
  statusBox.dataset.status = purchase.status;
  statusBox.dataset.receipt = purchase.receipt;
  statusBox.className = `purchase-status status-${purchase.status}`;
  let text = purchaseStatusText(purchase.status);
  if (purchase.status === "success" && purchase.gold) {
    text += " " + interpolate(gettext("%(gold)s gold credited."), { gold: formatGold(purchase.gold) }, true);
  }
  if (purchase.status === "failed") text += ` ${failureText(purchase.failure_reason)}`;
  statusBox.textContent = text;
}

function purchaseItem(purchase) {
  const item = el(
    "li",
    { class: "item", dataset: { receipt: purchase.receipt, status: purchase.status } },
    el("a", { href: receiptUrl(purchase.receipt), dataset: { testid: "receipt-open" } }, el("strong", { text: purchase.name || gettext("Purchase") })),
    " · ",
    el("span", { class: `badge status-${purchase.status}`, text: purchaseStatusText(purchase.status) }),
    " · ",
    el("span", { class: "muted", text: formatTime(purchase.created_at) }),
  );
  if (purchase.status === "pending") {
    const check = el("button", { type: "button", class: "button small", text: gettext("Check now") });
    check.addEventListener("click", () =>
      busy(check, async () => {
        try {
          const response = await post(`/api/shop/transactions/${encodeURIComponent(purchase.receipt)}/settle`);
          if (response.purchase.receipt === lastReceipt) showStatus(response.purchase);
          store.applyBalance(response.balance);
          await loadPurchases();
        } catch (error) {
          showError(error);
        }
      }),
    );
    item.append(" ", check);
  }
  return item;
}

async function loadPurchases() {
  try {
    const page = await api("/api/shop/transactions?page_size=10");
    const rows = page.results || [];
    purchasesList.replaceChildren(
      ...(rows.length ? rows.map(purchaseItem) : [el("li", { class: "muted", text: gettext("No purchases yet.") })]),
    );
  } catch (error) {
    showError(error);
  }
}

async function loadPackages() {
  try {
    const { packages } = await api("/api/shop/limited-packages");
    for (const card of document.querySelectorAll("[data-testid=limited-card]")) {
      const fresh = packages.find((pkg) => pkg.code === card.dataset.sku);
      if (!fresh) continue;
      const stock = card.querySelector("[data-testid=stock]");
      stock.textContent = fresh.remaining_stock;
      stock.dataset.value = String(fresh.remaining_stock);
      card.querySelector("[data-allowance]").textContent = fresh.remaining_allowance;
      card.querySelector("[data-testid=buy-button]").disabled =
        !fresh.on_sale || !fresh.can_buy || fresh.remaining_stock < 1 || fresh.remaining_allowance < 1;
    }
  } catch (error) {
    showError(error);
  }
}

async function buy(card, button) {
  if (!(await confirmPurchase(card))) return;
  await busy(button, async () => {
    try {
      let response;
      if (card.dataset.kind === "limited") {
        const promo = card.querySelector("input[name=promo_code]").value.trim();
        const body = { package_code: card.dataset.sku };
        if (promo) body.promo_code = promo;
        response = await post("/api/shop/buy-limited", body, { idempotent: true });
      } else {
        response = await post("/api/shop/buy", { product_code: card.dataset.sku }, { idempotent: true });
      }
      showStatus(response.purchase);
      store.applyBalance(response.balance);
      if (response.checkout_url && response.purchase.status === "pending") {
        statusBox.textContent = gettext("Taking you to the payment page…");
        window.location.assign(response.checkout_url);
        return;
      }
      statusBox.focus?.();
    } catch (error) {
      showError(error);
    }
  });
  if (card.dataset.kind === "limited") await loadPackages();
  await loadPurchases();
}

for (const card of document.querySelectorAll("[data-testid=product-card], [data-testid=limited-card]")) {
  const button = card.querySelector("[data-testid=buy-button]");
  button.addEventListener("click", () => buy(card, button));
}

store.on("purchase_update", (message) => {
  const data = message.data || {};
  if (data.receipt && data.receipt === lastReceipt) showStatus(data);
  loadPurchases();
  if (data.flow === "limited") loadPackages();
});

// Countdowns: "2d 03:04:05" until the sale ends (or starts); reload when one passes.
function remaining(ms) {
  if (ms <= 0) return gettext("now");
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const clock = [Math.floor((total % 86400) / 3600), Math.floor((total % 3600) / 60), total % 60]
    .map((part) => String(part).padStart(2, "0"))
    .join(":");
  return days ? interpolate(gettext("%(days)sd %(clock)s"), { days, clock }, true) : clock;
}

function tickCountdowns() {
  for (const node of document.querySelectorAll("[data-testid=countdown]")) {
    const left = Date.parse(node.getAttribute("datetime")) - Date.now();
    node.textContent = remaining(left);
    if (left <= 0 && !node.dataset.done) {
      node.dataset.done = "true";
      loadPackages();
    }
  }
}
// Back from the provider's checkout: show that purchase, pending until its payment is confirmed.
// Ask the server a few times as well, in case a socket message is missed while the page loads.
async function returnFromCheckout() {
  const params = new URLSearchParams(window.location.search);
  const receipt = params.get("receipt");
  const outcome = params.get("checkout");
  if (!receipt || !outcome) return;
  window.history.replaceState(null, "", window.location.pathname);
  lastReceipt = receipt;
  showReceiptLink(receipt);
  statusBox.hidden = false;
  statusBox.dataset.status = "pending";
  statusBox.dataset.receipt = receipt;
  statusBox.className = "purchase-status status-pending";
  statusBox.textContent =
    outcome === "cancel"
      ? gettext("Payment cancelled. Nothing was charged.")
      : gettext("Payment received by the provider; waiting for its confirmation…");
  if (outcome === "cancel") return;
  for (let attempt = 0; attempt < 10 && statusBox.dataset.status === "pending"; attempt += 1) {
    await new Promise((resolve) => window.setTimeout(resolve, 3000));
    if (statusBox.dataset.receipt !== receipt || statusBox.dataset.status !== "pending") return;
    try {
      const response = await post(`/api/shop/transactions/${encodeURIComponent(receipt)}/settle`);
      if (response.purchase.status !== "pending") {
        showStatus(response.purchase);
        store.applyBalance(response.balance);
        await loadPurchases();
      }
    } catch (error) {
      showError(error);
      return;
    }
  }
}

tickCountdowns();
window.setInterval(tickCountdowns, 1000);
loadPurchases();
returnFromCheckout();
