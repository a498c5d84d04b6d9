// Home: level bar, daily streak claim, VIP claim, active events and missions.
import { api, post } from "./api.js";
import { mountMissions } from "./missions.js";
import { store } from "./store.js";
import { busy, formatGold, gettext, initialState, interpolate, showError, toast } from "./ui.js";

const state = initialState();
const dashboard = state.dashboard || {};

function renderLevel(profile) {
  const bar = document.querySelector("[data-testid=level-bar]");
  if (!bar || !profile) return;
  const percent = profile.max_experience
    ? Math.min(100, Math.floor((profile.experience * 100) / profile.max_experience))
    : 100;
  bar.querySelector(".fill").style.width = `${percent}%`;
  bar.setAttribute("aria-valuenow", String(profile.experience));
  bar.setAttribute("aria-valuemax", String(profile.max_experience));
  bar.setAttribute(
    "aria-valuetext",
    interpolate(gettext("%(xp)s of %(max)s XP"), { xp: profile.experience, max: profile.max_experience }, true),
  );
  document.querySelector("[data-level]").textContent = profile.level;
  document.querySelector("[data-xp]").textContent = profile.experience;
  document.querySelector("[data-xp-max]").textContent = profile.max_experience;
}

// The server renders the bar's share as data (a style attribute would break the CSP).
for (const fill of document.querySelectorAll(".level-bar .fill[data-percent]")) {
  fill.style.width = `${fill.dataset.percent}%`;
}

async function refreshProfile() {
  try {
    renderLevel(await api("/api/users/me"));
  } catch (error) {
    showError(error);
  }
}

const streakButton = document.querySelector("[data-testid=streak-claim]");
streakButton.addEventListener("click", async () => {
  let claimed = false;
  await busy(streakButton, async () => {
    try {
      const result = await post("/api/streak/claim", {}, { idempotent: true });
      claimed = true;
      document.querySelector("[data-testid=streak-count]").textContent = result.status.current_streak;
      document.querySelector("[data-streak-best]").textContent = result.status.best_streak;
      document.querySelector("[data-streak-next]").textContent = interpolate(
        gettext("Next reward: %(gold)s gold"),
        { gold: formatGold(result.status.next_reward_gold) },
        true,
      );
      store.applyBalance(result.balance);
      toast("streak_update", interpolate(gettext("Day %(day)s streak: +%(gold)s gold"), {
        day: result.streak_day,
        gold: formatGold(result.reward_gold),
      }, true));
      refreshProfile();
    } catch (error) {
      if (error.code === "already_claimed") claimed = true;
      showError(error);
    }
  });
  if (claimed) {
    streakButton.disabled = true;
    streakButton.textContent = gettext("Claimed today");
  }
});

const vipButton = document.querySelector("[data-testid=vip-claim]");
vipButton.addEventListener("click", async () => {
  let claimed = false;
  await busy(vipButton, async () => {
    try {
      const result = await post("/api/vip/claim", {}, { idempotent: true });
      claimed = true;
      document.querySelector("[data-vip-points]").textContent = result.status.vip_points;
      document.querySelector("[data-vip-rank]").textContent = result.status.rank_name || result.status.rank;
      store.applyBalance(result.balance);
      toast("vip_claim", interpolate(gettext("+%(points)s VIP points"), { points: result.points }, true));
      refreshProfile();
    } catch (error) {
      if (error.code === "already_claimed") claimed = true;
      showError(error);
    }
  });
  if (claimed) {
    vipButton.disabled = true;
    vipButton.textContent = gettext("Claimed today");
  }
});

const list = document.querySelector("[data-testid=missions]");
mountMissions({
  eventsList: list,
  missionsList: list,
  events: dashboard.events || [],
  missions: dashboard.missions || [],
  activeOnly: true,
});

// XP arrives with rounds and claims: refresh the level bar when a round settles elsewhere.
store.on("stats_update", () => refreshProfile());
store.on("progress_update", () => refreshProfile());

// Free-gold refill: claimable under the threshold, once per interval (the server decides).
const refillButton = document.querySelector("[data-testid=refill-claim]");
if (refillButton) {
  refillButton.addEventListener("click", async () => {
    let done = false;
    await busy(refillButton, async () => {
      try {
        const result = await post("/api/users/me/refill", {}, { idempotent: true });
        done = true;
        store.applyBalance(result.balance);
        document.querySelector("[data-testid=refill-state]").textContent = interpolate(
          gettext("Next refill: %(time)s"),
          { time: new Date(result.next_available_at).toLocaleString() },
          true,
        );
        refreshProfile();
      } catch (error) {
        if (error.code === "refill_too_soon" || error.code === "refill_over_threshold") done = true;
        showError(error);
      }
    });
    if (done) refillButton.disabled = true;
  });
}
