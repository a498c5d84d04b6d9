// Achievements: progress of each, live progress and unlocks from the socket.
import { api } from "./api.js";
import { store } from "./store.js";
import { el, formatGold, formatTime, gettext, initialState, interpolate, showError } from "./ui.js";

const list = document.querySelector("[data-testid=achievements]");

function render(achievements) {
  list.replaceChildren(
    ...achievements.map((achievement) =>
      el(
        "li",
        {
          class: `card achievement${achievement.unlocked ? " unlocked" : ""}`,
          dataset: { code: achievement.code, unlocked: achievement.unlocked ? "true" : "false" },
        },
        el("h2", { text: achievement.name }),
        el("p", { class: "muted", text: achievement.description }),
        el(
          "div",
          {
            class: "level-bar small",
            role: "progressbar",
            "aria-label": achievement.name,
            "aria-valuemin": "0",
            "aria-valuemax": "100",
            "aria-valuenow": String(achievement.progress_percent),
          },
          el("span", { class: "fill", style: `width: ${achievement.progress_percent}%` }),
        ),
        el("p", { text: `${formatGold(achievement.value)} / ${formatGold(achievement.threshold)}` }),
        el("p", {
          class: "muted",
          text: interpolate(gettext("Reward: %(gold)s gold, %(xp)s XP"), {
            gold: formatGold(achievement.reward_gold || 0),
            xp: achievement.reward_xp || 0,
          }, true),
        }),
        achievement.unlocked
          ? el("p", {
              class: "badge",
              text: interpolate(gettext("Unlocked %(time)s"), { time: formatTime(achievement.unlocked_at) }, true),
            })
          : null,
      ),
    ),
  );
  if (!achievements.length) list.replaceChildren(el("li", { class: "muted", text: gettext("No achievements yet.") }));
}

async function refresh() {
  try {
    render(await api("/api/achievements/me"));
  } catch (error) {
    showError(error);
  }
}

render(initialState().achievements || []);
store.on("achievement_progress", refresh);
store.on("achievement_unlock", refresh);
