// Crash: the multiplier grows on the server's clock from the round's start; cash out before the
// crash. The crash point is never known here: the round ends when the server says so (the
// cash-out response or the socket's round_settled game_event).
import { post } from "./api.js";
import { BIG_WIN_MULTIPLIER, celebrate, mountSoundToggle, tone } from "./feedback.js";
import { betFrom, PlayLimits } from "./limits.js";
import { store } from "./store.js";
import { formatGold, formatMultiplier, formatNet, gettext, initialState, interpolate, showError } from "./ui.js";

const state = initialState();
const config = state.crash;
// server clock ≈ Date.now() + clockOffset (the page was rendered a moment ago: latency is small
// next to a round of seconds; the server decides every payout anyway).
const clockOffset = (state.server_time_ms || Date.now()) - Date.now();

const display = document.querySelector("[data-testid=crash-multiplier]");
const statusLine = document.querySelector("[data-crash-status]");
const form = document.querySelector("form[data-action=crash-bet]");
const betButton = document.querySelector("[data-testid=crash-bet]");
const cashoutButton = document.querySelector("[data-testid=crash-cashout]");

let current = null; // {id, startedAt (server ms), autoX100}
let frame = null;

const card = document.querySelector("section.game");
const stake = () => Number(form.elements.bet.min) || 1;
const limits = new PlayLimits("crash", [{ node: betButton, stake }]);
mountSoundToggle();

function multiplierAt(elapsedMs) {
  const value = Math.floor(100 * Math.exp(config.growth_per_ms * Math.max(0, elapsedMs)));
  return Math.min(config.max_multiplier_x100, value);
}

function tick() {
  if (!current) return;
  const x100 = multiplierAt(Date.now() + clockOffset - current.startedAt);
  display.textContent = formatMultiplier(x100);
  display.dataset.value = String(x100);
  frame = window.requestAnimationFrame(tick);
}

function begin(round) {
  current = {
    id: round.id,
    startedAt: Date.parse(round.created_at),
    autoX100: round.params ? round.params.auto_cashout_x100 : null,
  };
  display.dataset.state = "running";
  display.dataset.roundId = String(round.id);
  statusLine.textContent = current.autoX100
    ? interpolate(gettext("Round running: auto cash-out at %(target)s."), { target: formatMultiplier(current.autoX100) }, true)
    : gettext("Round running: cash out before it crashes!");
  betButton.disabled = true;
  cashoutButton.disabled = false;
  limits.busy = true;
  window.cancelAnimationFrame(frame);
  tick();
}

function finish(round) {
  if (!current || round.id !== current.id) return;
  current = null;
  window.cancelAnimationFrame(frame);
  const crashX100 = round.outcome.crash_x100;
  const cashX100 = round.outcome.cashout_x100;
  display.dataset.state = round.payout > 0 ? "cashed" : "crashed";
  display.textContent = formatMultiplier(round.payout > 0 ? cashX100 : crashX100);
  display.dataset.value = String(round.payout > 0 ? cashX100 : crashX100);
  const net = typeof round.net === "number" ? round.net : round.payout - round.bet;
  statusLine.dataset.net = String(net);
  statusLine.textContent =
    round.payout > 0
      ? interpolate(gettext("Cashed out at %(at)s: you get %(gold)s gold back, net %(net)s. It crashed at %(crash)s."), {
          at: formatMultiplier(cashX100),
          gold: formatGold(round.payout),
          net: formatNet(net),
          crash: formatMultiplier(crashX100),
        }, true)
      : interpolate(gettext("Crashed at %(crash)s: the bet is lost, net %(net)s."), {
          crash: formatMultiplier(crashX100),
          net: formatNet(net),
        }, true);
  const isBig = round.payout > 0 && cashX100 >= BIG_WIN_MULTIPLIER * 100;
  celebrate(card, isBig);
  if (!isBig) tone(round.payout > 0 ? "win" : "lose");
  limits.busy = false;
  betButton.disabled = false;
  cashoutButton.disabled = true;
  limits.render();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const bet = betFrom(form.elements.bet);
  if (bet === null || limits.blocked(stake())) return;
  const body = { bet };
  const auto = form.elements.auto_cashout.value.trim();
  if (auto) body.auto_cashout = Number(Number(auto).toFixed(2));
  betButton.disabled = true;
  try {
    const response = await post("/api/games/crash/bet", body, { idempotent: true });
    store.applyBalance(response.balance);
    limits.apply(response.limits);
    if (response.round.state === "open") begin(response.round);
    else {
      current = { id: response.round.id };
      finish(response.round);
    }
  } catch (error) {
    betButton.disabled = false;
    showError(error);
    if (["daily_limit_reached", "play_blocked"].includes(error.code)) limits.refresh();
    else limits.render();
  }
});

cashoutButton.addEventListener("click", async () => {
  if (!current) return;
  cashoutButton.disabled = true;
  try {
    const response = await post("/api/games/crash/cashout", { round_id: current.id }, { idempotent: true });
    store.applyBalance(response.balance);
    finish(response.round);
  } catch (error) {
    showError(error);
    if (error.code !== "round_settled") cashoutButton.disabled = false;
  }
});

store.on("game_event", (message) => {
  const data = message.data || {};
  if (data.event === "round_settled" && data.round && data.round.game === "crash") finish(data.round);
});

if (state.open_round) begin(state.open_round);
