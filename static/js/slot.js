// Slot: bet, spin (the reels animate, then stop on the server's result), result.
import { post } from "./api.js";
import { store } from "./store.js";
import { busy, formatGold, formatMultiplier, gettext, interpolate, showError } from "./ui.js";

const SYMBOLS = { CHERRY: "🍒", LEMON: "🍋", BELL: "🔔", BAR: "▬", SEVEN: "7", DIAMOND: "💎" };
const NAMES = () => ({
  CHERRY: gettext("cherry"),
  LEMON: gettext("lemon"),
  BELL: gettext("bell"),
  BAR: gettext("bar"),
  SEVEN: gettext("seven"),
  DIAMOND: gettext("diamond"),
});
const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

const form = document.querySelector("form[data-action=spin]");
const button = document.querySelector("[data-testid=slot-spin]");
const result = document.querySelector("[data-testid=slot-result]");
const reels = [...document.querySelectorAll("[data-reel]")];

const wait = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

function startSpinning() {
  const keys = Object.keys(SYMBOLS);
  let tick = 0;
  for (const reel of reels) reel.classList.add("spinning");
  return window.setInterval(() => {
    tick += 1;
    reels.forEach((reel, index) => {
      if (reel.classList.contains("spinning")) reel.textContent = SYMBOLS[keys[(tick + index * 2) % keys.length]];
    });
  }, 70);
}

async function stopOn(symbols, timer) {
  for (const [index, reel] of reels.entries()) {
    if (!reduceMotion) await wait(index === 0 ? 350 : 250);
    reel.classList.remove("spinning");
    reel.textContent = SYMBOLS[symbols[index]] || symbols[index];
    reel.setAttribute("title", NAMES()[symbols[index]] || symbols[index]);
  }
  window.clearInterval(timer);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const bet = Number.parseInt(form.elements.bet.value, 10);
  if (!Number.isInteger(bet) || bet < 1) {
    form.elements.bet.focus();
    showError({ code: "validation_error" });
    return;
  }
  busy(button, async () => {
    const timer = startSpinning();
    result.textContent = gettext("Spinning…");
    try {
      const response = await post("/api/games/slot/spin", { bet }, { idempotent: true });
      const round = response.round;
      await stopOn(round.outcome.reels, timer);
      const names = round.outcome.reels.map((symbol) => NAMES()[symbol] || symbol).join(", ");
      result.textContent =
        round.payout > 0
          ? interpolate(gettext("%(reels)s: you win %(gold)s gold (%(multiplier)s)."), {
              reels: names,
              gold: formatGold(round.payout),
              multiplier: formatMultiplier(round.multiplier * 100),
            }, true)
          : interpolate(gettext("%(reels)s: no win this time."), { reels: names }, true);
      result.dataset.win = round.payout > 0 ? "true" : "false";
      result.dataset.roundId = String(round.id);
      store.applyBalance(response.balance);
    } catch (error) {
      window.clearInterval(timer);
      for (const reel of reels) reel.classList.remove("spinning");
      result.textContent = "";
      showError(error);
    }
  });
});
