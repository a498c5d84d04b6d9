// Events and missions lists (home and events pages): render, join, claim; live progress.
import { api, post } from "./api.js";
import { store } from "./store.js";
import { busy, el, formatGold, formatTime, gettext, interpolate, showError, toast } from "./ui.js";

function progressBar(progress, target, label) {
  const percent = target ? Math.min(100, Math.floor((progress * 100) / target)) : 0;
  return el(
    "div",
    {
      class: "level-bar small",
      role: "progressbar",
      "aria-valuemin": "0",
      "aria-valuemax": String(target),
      "aria-valuenow": String(progress),
      "aria-label": label,
    },
    el("span", { class: "fill", style: `width: ${percent}%` }),
  );
}

function rewardText(reward) {
  return interpolate(
    gettext("Reward: %(gold)s gold, %(xp)s XP"),
    { gold: formatGold(reward.gold), xp: reward.xp },
    true,
  );
}

export function eventItem(event, refresh) {
  const participation = event.participation;
  const target = event.requirement ? event.requirement.target : 0;
  const item = el(
    "li",
    { class: "item", dataset: { eventId: event.id, kind: "event" } },
    el("h3", { text: event.title }),
    event.description ? el("p", { class: "muted", text: event.description }) : null,
    el("p", { class: "muted", text: rewardText(event.reward) }),
    el("p", {
      class: "muted",
      text: interpolate(gettext("Ends %(time)s"), { time: formatTime(event.ends_at) }, true),
    }),
  );
  if (participation) {
    item.append(
      progressBar(participation.progress, target, event.title),
      el("p", { text: `${formatGold(participation.progress)} / ${formatGold(target)}` }),
    );
  }
  if (event.can_join) {
    const button = el("button", { type: "button", class: "button", text: gettext("Join") });
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          await post("/api/events/join", { event_id: event.id }, { idempotent: true });
          toast("event_progress", gettext("Joined."));
          await refresh();
        } catch (error) {
          showError(error);
        }
      }),
    );
    item.append(button);
  } else if (participation && participation.claimable) {
    item.append(claimButton(`/api/events/claim/${event.id}`, refresh));
  } else if (participation && participation.claimed) {
    item.append(el("p", { class: "badge", text: gettext("Claimed") }));
  } else if (event.status === "upcoming") {
    item.append(el("p", { class: "badge", text: gettext("Upcoming") }));
  }
  return item;
}

export function missionItem(mission, refresh) {
  const target = mission.requirement ? mission.requirement.target : 0;
  const period = mission.period === "weekly" ? gettext("Weekly") : gettext("Daily");
  const item = el(
    "li",
    { class: "item", dataset: { missionId: mission.id, kind: "mission" } },
    el("h3", {}, el("span", { class: "badge", text: period }), " ", mission.title),
    mission.description ? el("p", { class: "muted", text: mission.description }) : null,
    el("p", { class: "muted", text: rewardText(mission.reward) }),
    progressBar(mission.progress, target, mission.title),
    el("p", { text: `${formatGold(mission.progress)} / ${formatGold(target)}` }),
  );
  if (mission.claimable) item.append(claimButton(`/api/events/missions/claim/${mission.id}`, refresh));
  else if (mission.claimed) item.append(el("p", { class: "badge", text: gettext("Claimed") }));
  return item;
}

function claimButton(path, refresh) {
  const button = el("button", { type: "button", class: "button primary", text: gettext("Claim") });
  button.addEventListener("click", () =>
    busy(button, async () => {
      try {
        await post(path, {}, { idempotent: true });
        await refresh();
      } catch (error) {
        showError(error);
        await refresh();
      }
    }),
  );
  return button;
}

// Renders events + missions into one list (home) or two (events page), and reloads them from the
// API after an action or an event_progress message.
export function mountMissions({ eventsList, missionsList, events, missions, activeOnly = false }) {
  let state = { events, missions };
  function render() {
    const shownEvents = activeOnly
      ? state.events.filter((event) => event.status !== "upcoming")
      : state.events;
    const eventNodes = shownEvents.map((event) => eventItem(event, refresh));
    const missionNodes = state.missions.map((mission) => missionItem(mission, refresh));
    if (eventsList === missionsList) {
      const nodes = [...eventNodes, ...missionNodes];
      missionsList.replaceChildren(
        ...(nodes.length ? nodes : [el("li", { class: "muted", text: gettext("Nothing running right now.") })]),
      );
      return;
    }
    eventsList.replaceChildren(
      ...(eventNodes.length ? eventNodes : [el("li", { class: "muted", text: gettext("No events right now.") })]),
    );
    missionsList.replaceChildren(
      ...(missionNodes.length ? missionNodes : [el("li", { class: "muted", text: gettext("No missions right now.") })]),
    );
  }
  async function refresh() {
    try {
      const [freshEvents, freshMissions] = await Promise.all([
        api("/api/events/"),
        api("/api/events/missions/all"),
      ]);
      state = {
        events: Array.isArray(freshEvents) ? freshEvents : freshEvents.events || [],
        missions: Array.isArray(freshMissions) ? freshMissions : freshMissions.missions || [],
      };
      render();
    } catch (error) {
      showError(error);
    }
  }
  let pending = null;
  const refreshSoon = () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(refresh, 300);
  };
  store.on("event_progress", refreshSoon);
  // a round's mission and event progress arrives folded into the batch's progress_update
  store.on("progress_update", (message) => {
    if (message.data && (message.data.missions || message.data.events)) refreshSoon();
  });
  render();
  return { refresh };
}
