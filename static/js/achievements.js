// Achievements: progress of each, live progress and unlocks from the socket.
import { api, post } from "./api.js";
import { store } from "./store.js";
import { el, formatGold, formatTime, gettext, initialState, interpolate, showError, toast } from "./ui.js";

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
store.on("progress_update", (message) => {
  if (message.data && message.data.achievements) refresh();
});

// Battle pass: the running season's tiers, each with a free and a premium reward to claim.
const passSeason = document.querySelector("[data-testid=battle-pass-season]");
const passBody = document.querySelector("[data-testid=battle-pass] tbody");

function rewardText(track) {
  const parts = [];
  if (track.reward_gold) parts.push(interpolate(gettext("%(gold)s gold"), { gold: formatGold(track.reward_gold) }, true));
  if (track.reward_item) parts.push(track.reward_item_name || track.reward_item);
  return parts.join(" + ") || "–";
}

function trackCell(tier, name, track) {
  const cell = el("td", {}, el("span", { text: rewardText(track) }), " ");
  if (track.claimed) cell.append(el("span", { class: "badge", text: gettext("Claimed") }));
  else if (track.claimable && (track.reward_gold || track.reward_item)) {
    const button = el("button", {
      type: "button",
      class: "button small",
      dataset: { testid: "battle-pass-claim", tier: tier.number, track: name },
      text: gettext("Claim"),
    });
    button.addEventListener("click", () => claim(button, tier.number, name));
    cell.append(button);
  }
  return cell;
}

function renderPass(pass) {
  passBody.closest("table").hidden = !pass.season;
  if (!pass.season) {
    passSeason.textContent = gettext("No season is running right now.");
    passBody.replaceChildren();
    return;
  }
  passSeason.textContent = interpolate(
    gettext("%(season)s · your season XP: %(xp)s · ends %(end)s"),
    { season: pass.season.name, xp: formatGold(pass.xp), end: formatTime(pass.season.ends_at) },
    true,
  );
  passBody.replaceChildren(
    ...pass.tiers.map((tier) =>
      el(
        "tr",
        { class: tier.unlocked ? "unlocked" : null },
        el("th", { scope: "row", text: String(tier.number) }),
        el("td", { text: formatGold(tier.xp_required) }),
        trackCell(tier, "free", tier.free),
        trackCell(tier, "premium", tier.premium),
      ),
    ),
  );
}

async function refreshPass() {
  try {
    renderPass(await api("/api/battle-pass"));
  } catch (error) {
    showError(error);
  }
}

async function claim(button, tier, track) {
  button.disabled = true;
  try {
    const result = await post("/api/battle-pass/claim", { tier, track }, { idempotent: true });
    toast("reward_granted", interpolate(gettext("Tier %(tier)s claimed"), { tier: result.tier }, true));
  } catch (error) {
    showError(error);
  }
  refreshPass();
}

let passTimer = null;
store.on("profile_update", (message) => {
  // XP arrives with profile_update; refresh at most once a second while playing elsewhere.
  if (!message.data || message.data.experience_gained === undefined || passTimer) return;
  passTimer = window.setTimeout(() => {
    passTimer = null;
    refreshPass();
  }, 1000);
});
refreshPass();
