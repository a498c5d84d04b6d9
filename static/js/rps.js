// Rock-paper-scissors against the fair opponent.
import { post } from "./api.js";
import { store } from "./store.js";
import { busy, formatGold, gettext, interpolate, showError } from "./ui.js";

const CHOICE_NAMES = () => ({ rock: gettext("Rock"), paper: gettext("Paper"), scissors: gettext("Scissors") });
const result = document.querySelector("[data-testid=rps-result]");
const betInput = document.querySelector("input[name=bet]");
const buttons = [...document.querySelectorAll("[data-choice]")];

async function play(choice, button) {
  const bet = Number.parseInt(betInput.value, 10);
  if (!Number.isInteger(bet) || bet < 1) {
    betInput.focus();
    showError({ code: "validation_error" });
    return;
  }
  for (const other of buttons) other.disabled = true;
  try {
    await busy(button, async () => {
      try {
        const response = await post("/api/games/rps/play", { bet, choice }, { idempotent: true });
        const { outcome, payout } = response.round;
        const names = CHOICE_NAMES();
        const verdict = {
          win: interpolate(gettext("You win %(gold)s gold!"), { gold: formatGold(payout) }, true),
          draw: gettext("Draw: your bet comes back."),
          loss: gettext("You lose."),
        }[outcome.result] || outcome.result;
        result.textContent = interpolate(
          gettext("You: %(player)s · Opponent: %(opponent)s. %(verdict)s"),
          { player: names[outcome.player], opponent: names[outcome.opponent], verdict },
          true,
        );
        result.dataset.result = outcome.result;
        result.dataset.roundId = String(response.round.id);
        store.applyBalance(response.balance);
      } catch (error) {
        showError(error);
      }
    });
  } finally {
    for (const other of buttons) other.disabled = false;
  }
}

for (const button of buttons) {
  button.addEventListener("click", () => play(button.dataset.choice, button));
}
