// Rock-paper-scissors against the fair opponent: the hands as artwork, the result as what happened
// to the player's gold (a draw returns the bet: net +0), the limits.
import { post } from "./api.js";
import { celebrate, mountSoundToggle, tone, wait } from "./feedback.js";
import { betFrom, PlayLimits } from "./limits.js";
import { store } from "./store.js";
import { busy, formatGold, formatNet, gettext, interpolate, showError } from "./ui.js";

const CHOICE_NAMES = () => ({ rock: gettext("Rock"), paper: gettext("Paper"), scissors: gettext("Scissors") });
const card = document.querySelector("section.game");
const result = document.querySelector("[data-testid=rps-result]");
const betInput = document.querySelector("input[name=bet]");
const buttons = [...document.querySelectorAll("[data-choice]")];
const hands = document.querySelector("[data-testid=rps-hands]");
const playerHand = hands.querySelector("[data-hand=player]");
const opponentHand = hands.querySelector("[data-hand=opponent]");
const handArt = (choice) => playerHand.getAttribute("src").replace(/[a-z]+\.svg$/, `${choice}.svg`);

const stake = () => Number(betInput.min) || 1;
const limits = new PlayLimits("rps", buttons.map((node) => ({ node, stake })));
mountSoundToggle();

function verdictText(round) {
  const { outcome, payout } = round;
  const net = typeof round.net === "number" ? round.net : payout - round.bet;
  if (outcome.result === "win") {
    return interpolate(gettext("You win: you get %(gold)s gold back, net %(net)s."), {
      gold: formatGold(payout),
      net: formatNet(net),
    }, true);
  }
  if (outcome.result === "draw") return gettext("Draw: your bet is returned (net +0).");
  return interpolate(gettext("You lose: net %(net)s."), { net: formatNet(net) }, true);
}

async function play(choice, button) {
  const bet = betFrom(betInput);
  if (bet === null || limits.blocked(stake())) return;
  limits.busy = true;
  for (const other of buttons) other.disabled = true;
  try {
    await busy(button, async () => {
      try {
        playerHand.src = handArt(choice);
        hands.classList.add("shaking");
        const response = await post("/api/games/rps/play", { bet, choice }, { idempotent: true });
        await wait(450);
        hands.classList.remove("shaking");
        const { outcome } = response.round;
        opponentHand.src = handArt(outcome.opponent);
        hands.dataset.result = outcome.result;
        const names = CHOICE_NAMES();
        result.textContent = interpolate(
          gettext("You: %(player)s · Opponent: %(opponent)s. %(verdict)s"),
          { player: names[outcome.player], opponent: names[outcome.opponent], verdict: verdictText(response.round) },
          true,
        );
        result.dataset.result = outcome.result;
        result.dataset.net = String(response.round.net);
        result.dataset.roundId = String(response.round.id);
        tone(outcome.result === "win" ? "win" : outcome.result === "draw" ? "click" : "lose");
        celebrate(card, false);
        store.applyBalance(response.balance);
        limits.apply(response.limits);
      } catch (error) {
        hands.classList.remove("shaking");
        showError(error);
        if (["daily_limit_reached", "play_blocked"].includes(error.code)) limits.refresh();
      }
    });
  } finally {
    for (const other of buttons) other.disabled = false;
    limits.busy = false;
    limits.render();
  }
}

for (const button of buttons) {
  button.addEventListener("click", () => play(button.dataset.choice, button));
}
