// Slot: bet, spin (the reels spin, then stop one by one on the server's result and the winning
// symbols light up), the result as what happened to the player's gold (net), the limits.
import { post } from "./api.js";
import { BIG_WIN_MULTIPLIER, celebrate, countUp, mountSoundToggle, tone, wait } from "./feedback.js";
import { betFrom, PlayLimits } from "./limits.js";
import { store } from "./store.js";
import { busy, el, formatGold, formatNet, gettext, initialState, interpolate, prefersReducedMotion, showError } from "./ui.js";

const state = initialState();
const paytable = state.paytable || { three_of_a_kind: {}, pair: {}, symbols: [] };
const ART = new Set(["CHERRY", "LEMON", "BELL", "BAR", "SEVEN", "DIAMOND"]);
const NAMES = () => ({
  CHERRY: gettext("cherry"),
  LEMON: gettext("lemon"),
  BELL: gettext("bell"),
  BAR: gettext("bar"),
  SEVEN: gettext("seven"),
  DIAMOND: gettext("diamond"),
});

const card = document.querySelector("[data-testid=slot-machine]");
const form = document.querySelector("form[data-action=spin]");
const button = document.querySelector("[data-testid=slot-spin]");
const result = document.querySelector("[data-testid=slot-result]");
const reelBox = document.querySelector(".reels");
const artBase = reelBox.dataset.art;
const reels = [...document.querySelectorAll("[data-reel]")];
const symbols = (paytable.symbols || []).map((symbol) => symbol.code);
if (!symbols.length) symbols.push(...ART);

// The win counting up above the result (decoration: the result line says the same in words).
const winCount = el("p", { class: "win-count", "aria-hidden": "true", hidden: true, dataset: { testid: "win-count" } });
result.before(winCount);

const limits = new PlayLimits("slot", [{ node: button, stake: () => Number(form.elements.bet.min) || 1 }]);
mountSoundToggle();

function show(reel, symbol) {
  reel.replaceChildren(
    ART.has(symbol)
      ? el("img", { src: `${artBase}${symbol.toLowerCase()}.svg`, alt: "", width: "64", height: "64" })
      : el("span", { class: "reel-text", text: symbol }),
  );
  reel.dataset.symbol = symbol;
  reel.title = NAMES()[symbol] || symbol;
}

function startSpinning() {
  if (prefersReducedMotion()) return null;
  let tick = 0;
  for (const reel of reels) reel.classList.add("spinning");
  return window.setInterval(() => {
    tick += 1;
    reels.forEach((reel, index) => {
      if (reel.classList.contains("spinning")) show(reel, symbols[(tick + index * 2) % symbols.length]);
    });
  }, 90);
}

// Reel 1, then 2, then 3 stop on the result.
async function stopOn(outcome, timer) {
  for (const [index, reel] of reels.entries()) {
    await wait(index === 0 ? 350 : 300);
    reel.classList.remove("spinning");
    show(reel, outcome[index]);
    tone("stop");
  }
  window.clearInterval(timer);
}

// The positions of the line that paid: all three, or the two equal symbols of a paying pair.
function winningPositions(outcome) {
  const [first, second, third] = outcome;
  if (first === second && second === third) return (paytable.three_of_a_kind[first] || 0) > 0 ? [0, 1, 2] : [];
  const pairs = [[0, 1], [0, 2], [1, 2]].filter(([a, b]) => outcome[a] === outcome[b]);
  if (!pairs.length) return [];
  const symbol = outcome[pairs[0][0]];
  return (paytable.pair[symbol] || 0) > 0 ? pairs[0] : [];
}

function highlight(outcome) {
  const winners = winningPositions(outcome);
  reels.forEach((reel, index) => reel.classList.toggle("winning", winners.includes(index)));
  reelBox.classList.toggle("has-win", winners.length > 0);
}

// The result as what happened to the player's gold; returns the count-up of a win.
function showResult(round) {
  const outcome = round.outcome.reels;
  const names = outcome.map((symbol) => NAMES()[symbol] || symbol).join(", ");
  const net = typeof round.net === "number" ? round.net : round.payout - round.bet;
  result.dataset.win = round.payout > 0 ? "true" : "false";
  result.dataset.net = String(net);
  if (round.payout <= 0) {
    result.replaceChildren(
      interpolate(gettext("%(reels)s: no win this time, net %(net)s."), { reels: names, net: formatNet(net) }, true),
    );
    winCount.hidden = true;
    tone("lose");
    return Promise.resolve();
  }
  const isBig = round.multiplier >= BIG_WIN_MULTIPLIER;
  result.replaceChildren(
    isBig ? el("span", { class: "big-win-banner", text: gettext("Big win!") }) : "",
    isBig ? " " : "",
    interpolate(gettext("%(reels)s pays %(multiplier)s: you get %(gold)s gold back, net %(net)s."), {
      reels: names,
      multiplier: `${round.multiplier}×`,
      gold: formatGold(round.payout),
      net: formatNet(net),
    }, true),
  );
  celebrate(card, isBig);
  if (!isBig) tone("win");
  winCount.hidden = false;
  return countUp(winCount, round.payout, (value) => `+${formatGold(value)}`);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const bet = betFrom(form.elements.bet);
  if (bet === null || limits.blocked(Number(form.elements.bet.min) || 1)) return;
  limits.busy = true;
  busy(button, async () => {
    reels.forEach((reel) => reel.classList.remove("winning"));
    reelBox.classList.remove("has-win");
    const timer = startSpinning();
    result.textContent = gettext("Spinning…");
    try {
      const response = await post("/api/games/slot/spin", { bet }, { idempotent: true });
      const round = response.round;
      await stopOn(round.outcome.reels, timer);
      highlight(round.outcome.reels);
      store.applyBalance(response.balance);
      limits.apply(response.limits);
      const counting = showResult(round);
      result.dataset.roundId = String(round.id);
      await counting;
    } catch (error) {
      window.clearInterval(timer);
      for (const reel of reels) reel.classList.remove("spinning");
      result.textContent = "";
      showError(error);
      if (["daily_limit_reached", "play_blocked"].includes(error.code)) limits.refresh();
    }
  }).finally(() => {
    limits.busy = false;
    limits.render();
  });
});
