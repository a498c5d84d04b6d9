// Crash: one shared round for everyone. The page starts from the round's state (rendered by the
// server), then follows the socket's "crash" group: betting (with its end), running (with its
// start), busted (with the crash point and hash), bets and cash-outs. The curve is drawn from the
// round's start time and growth function on the server's clock; no per-tick messages.
import { post } from "./api.js";
import { BIG_WIN_MULTIPLIER, celebrate, mountSoundToggle, tone } from "./feedback.js";
import { betFrom, PlayLimits } from "./limits.js";
import { store } from "./store.js";
import { el, formatGold, formatMultiplier, formatNet, gettext, initialState, interpolate, showError } from "./ui.js";

const state = initialState();
const config = state.crash;
// server clock ≈ Date.now() + clockOffset (refreshed by every state the server sends)
let clockOffset = (state.server_time_ms || Date.now()) - Date.now();
const serverNow = () => Date.now() + clockOffset;

const display = document.querySelector("[data-testid=crash-multiplier]");
const canvas = document.querySelector("[data-testid=crash-curve]");
const statusLine = document.querySelector("[data-crash-status]");
// the countdown ticks outside the live region, so a screen reader hears the phase once
const countdownLine = document.querySelector("[data-testid=crash-countdown]");
const form = document.querySelector("form[data-action=crash-bet]");
const betButton = document.querySelector("[data-testid=crash-bet]");
const cashoutButton = document.querySelector("[data-testid=crash-cashout]");
const playersBody = document.querySelector("[data-testid=crash-players]");
const bustsList = document.querySelector("[data-testid=crash-busts]");
const card = document.querySelector("section.game");
const stake = () => Number(form.elements.bet.min) || 1;
const limits = new PlayLimits("crash", [{ node: betButton, stake }]);
const playerName = state.profile ? state.profile.nickname : null;
mountSoundToggle();

let round = null; // the shared round as the server shows it
let players = []; // [{nickname, amount, cashout, win}]
let busts = [];
let myBet = state.my_bet || null; // the player's bet in this round (a GameRound)
let frame = null;

function multiplierAt(elapsedMs) {
  const value = Math.floor(100 * Math.exp((round ? round.growth_per_ms : config.growth_per_ms) * Math.max(0, elapsedMs)));
  return Math.min(config.max_multiplier_x100, value);
}

function drawCurve(x100, elapsedMs, busted) {
  const context = canvas.getContext && canvas.getContext("2d");
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const spanMs = Math.max(10_000, elapsedMs * 1.2);
  const top = Math.max(200, x100 * 1.2);
  context.lineWidth = 3;
  context.strokeStyle = busted ? "#d64545" : "#2f9e6f";
  context.beginPath();
  const steps = 80;
  for (let step = 0; step <= steps; step += 1) {
    const t = (elapsedMs * step) / steps;
    const value = multiplierAt(t);
    const x = (t / spanMs) * width;
    const y = height - ((value - 100) / (top - 100)) * (height - 10) - 5;
    if (step === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  }
  context.stroke();
}

function tick() {
  if (!round || round.phase !== "running") return;
  const elapsed = serverNow() - Date.parse(round.started_at);
  const x100 = multiplierAt(elapsed);
  display.textContent = formatMultiplier(x100);
  display.dataset.value = String(x100);
  drawCurve(x100, elapsed, false);
  frame = window.requestAnimationFrame(tick);
}

function countdown() {
  if (!round || round.phase !== "betting") return;
  const seconds = Math.max(0, (Date.parse(round.betting_ends_at) - serverNow()) / 1000);
  countdownLine.textContent = interpolate(gettext("Betting closes in %(seconds)s s."), { seconds: seconds.toFixed(1) }, true);
  updateButtons();
  frame = window.setTimeout(countdown, 100);
}

function stopTimers() {
  window.cancelAnimationFrame(frame);
  window.clearTimeout(frame);
  countdownLine.textContent = "";
}

function renderPlayers() {
  playersBody.replaceChildren(
    ...players.map((player) =>
      el(
        "tr",
        { "data-nickname": player.nickname },
        el("td", {}, player.nickname),
        el("td", {}, formatGold(player.amount)),
        el("td", {}, player.cashout ? formatMultiplier(Math.round(player.cashout * 100)) : "—"),
        el("td", {}, player.win ? formatGold(player.win) : "—"),
      ),
    ),
  );
}

function renderBusts() {
  bustsList.replaceChildren(
    ...busts.slice(0, 20).map((bust) => {
      const link = el(
        "a",
        {
          href: `/play/crash/rounds/${bust.id}/`,
          "aria-label": interpolate(gettext("Round %(id)s busted at %(point)s: verify"), { id: bust.id, point: formatMultiplier(Math.round(bust.crash_point * 100)) }, true),
        },
        formatMultiplier(Math.round(bust.crash_point * 100)),
      );
      if (bust.crash_point >= 2) link.dataset.high = "";
      return el("li", {}, link);
    }),
  );
}

function updateButtons() {
  const betting = round && round.phase === "betting" && serverNow() < Date.parse(round.betting_ends_at);
  // busy outside the window: the limits never enable the bet button then
  limits.busy = !betting || Boolean(myBet);
  betButton.disabled = limits.busy || limits.blocked(stake());
  cashoutButton.disabled = !(round && round.phase === "running" && myBet && myBet.state === "open");
}

const PHASE_ORDER = { betting: 0, running: 1, busted: 2, voided: 2 };

// A phase message older than what the page shows (an earlier round, or an earlier phase of this
// one, sent just before the page's state was read) changes nothing.
function isStale(next) {
  if (!round || !next) return false;
  if (next.id !== round.id) return next.id < round.id;
  return PHASE_ORDER[next.phase] < PHASE_ORDER[round.phase];
}

function show(next) {
  if (isStale(next)) return;
  const previousId = round ? round.id : null;
  round = next;
  if (round && round.id !== previousId) {
    if (myBet && myBet.crash_round_id !== round.id) myBet = null;
    if (previousId !== null && round.phase === "betting") players = [];
  }
  stopTimers();
  display.dataset.roundId = round ? String(round.id) : "";
  if (!round) {
    display.dataset.state = "idle";
    statusLine.textContent = gettext("Waiting for the next round.");
  } else if (round.phase === "betting") {
    display.dataset.state = "betting";
    if (!myBet) statusLine.textContent = gettext("Betting is open: place your bet.");
    display.textContent = formatMultiplier(100);
    drawCurve(100, 0, false);
    countdown();
  } else if (round.phase === "running") {
    display.dataset.state = "running";
    statusLine.textContent =
      myBet && myBet.state === "open"
        ? gettext("Round running: cash out before it busts!")
        : gettext("Round running.");
    tick();
  } else {
    const x100 = Math.round((round.crash_point || 1) * 100);
    display.dataset.state = "crashed";
    display.textContent = formatMultiplier(x100);
    display.dataset.value = String(x100);
    drawCurve(x100, round.started_at && round.ended_at ? Date.parse(round.ended_at) - Date.parse(round.started_at) : 0, true);
    statusLine.textContent =
      round.phase === "voided"
        ? gettext("The round was voided: every bet was returned.")
        : interpolate(gettext("Busted at %(crash)s."), { crash: formatMultiplier(x100) }, true);
  }
  updateButtons();
}

function busted(data) {
  if (isStale(data.round) || (round && round.id === data.round.id && PHASE_ORDER[round.phase] === 2)) return;
  show(data.round);
  for (const auto of data.auto_cashouts || []) {
    const player = players.find((row) => row.nickname === auto.nickname);
    if (player) Object.assign(player, { cashout: auto.multiplier, win: auto.win });
  }
  renderPlayers();
  if (data.round.phase === "busted" && data.round.hash) {
    busts.unshift({ id: data.round.id, crash_point: data.round.crash_point, hash: data.round.hash });
    busts = busts.slice(0, 20);
    renderBusts();
  }
  if (myBet && myBet.state === "open") {
    const auto = (data.auto_cashouts || []).find((row) => row.nickname === playerName);
    myBet.state = "settled";
    const net = auto ? auto.win - myBet.bet : data.round.phase === "voided" ? 0 : -myBet.bet;
    statusLine.dataset.net = String(net);
    statusLine.textContent = auto
      ? interpolate(gettext("Auto cash-out at %(at)s: you win %(gold)s gold, net %(net)s."), { at: formatMultiplier(Math.round(auto.multiplier * 100)), gold: formatGold(auto.win), net: formatNet(net) }, true)
      : interpolate(gettext("Busted at %(crash)s: net %(net)s."), { crash: formatMultiplier(Math.round((data.round.crash_point || 1) * 100)), net: formatNet(net) }, true);
    tone(auto ? "win" : "lose");
  }
  updateButtons();
  limits.render();
}

function applyState(data) {
  if (data.server_time) clockOffset = Date.parse(data.server_time) - Date.now();
  players = (data.bets || []).map((bet) => ({ ...bet }));
  busts = data.busts || [];
  renderPlayers();
  renderBusts();
  show(data.round);
}

store.on("group_state", (message) => {
  if (message.group === "crash") applyState(message.data);
});
store.on("crash_betting", (message) => {
  if (isStale(message.data.round) || (round && message.data.round.id === round.id)) return;
  players = [];
  renderPlayers();
  show(message.data.round);
});
store.on("crash_running", (message) => show(message.data.round));
store.on("crash_busted", (message) => busted(message.data));
store.on("crash_bet", (message) => {
  const data = message.data;
  if (!round || data.round_id !== round.id || players.some((row) => row.nickname === data.nickname)) return;
  players.push({ nickname: data.nickname, amount: data.amount, cashout: null, win: 0 });
  renderPlayers();
});
store.on("crash_cashout", (message) => {
  const data = message.data;
  const player = players.find((row) => row.nickname === data.nickname);
  if (player) Object.assign(player, { cashout: data.multiplier, win: data.win });
  renderPlayers();
});
// subscribe on every (re)connection: the group's state comes first, then live messages
store.on("socket", (socketState) => {
  if (socketState === "open") store.send({ type: "subscribe", group: "crash" });
});
if (store.socketState === "open") store.send({ type: "subscribe", group: "crash" });

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
    myBet = response.round;
    statusLine.textContent = interpolate(gettext("Your bet of %(gold)s gold is in."), { gold: formatGold(response.round.bet) }, true);
    if (playerName && !players.some((row) => row.nickname === playerName)) {
      players.push({ nickname: playerName, amount: response.round.bet, cashout: null, win: 0 });
      renderPlayers();
    }
  } catch (error) {
    showError(error);
    if (["daily_limit_reached", "play_blocked"].includes(error.code)) limits.refresh();
    else limits.render();
  }
  updateButtons();
});

cashoutButton.addEventListener("click", async () => {
  if (!myBet) return;
  cashoutButton.disabled = true;
  try {
    const response = await post("/api/games/crash/cashout", { round_id: myBet.id }, { idempotent: true });
    store.applyBalance(response.balance);
    myBet = response.round;
    const cashX100 = response.round.outcome.cashout_x100;
    const net = response.round.payout - response.round.bet;
    statusLine.dataset.net = String(net);
    statusLine.textContent = interpolate(gettext("Cashed out at %(at)s: you get %(gold)s gold back, net %(net)s."), { at: formatMultiplier(cashX100), gold: formatGold(response.round.payout), net: formatNet(net) }, true);
    const isBig = cashX100 >= BIG_WIN_MULTIPLIER * 100;
    celebrate(card, isBig);
    if (!isBig) tone("win");
  } catch (error) {
    showError(error);
  }
  updateButtons();
});

applyState(state.crash_state || {});
