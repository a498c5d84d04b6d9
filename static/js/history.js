// History and stats: per-game stats and the paginated rounds (newest first).
import { api } from "./api.js";
import { store } from "./store.js";
import { el, formatGold, formatNet, formatTime, gettext, showError } from "./ui.js";

const GAME_NAMES = () => ({
  slot: gettext("Slot"),
  crash: gettext("Crash"),
  gacha: gettext("Gacha"),
  rps: gettext("Rock-paper-scissors"),
});
const statsBody = document.querySelector("[data-testid=stats] tbody");
const roundsBody = document.querySelector("[data-testid=history] tbody");
const gameSelect = document.getElementById("history-game");
const prev = document.querySelector("[data-page=prev]");
const next = document.querySelector("[data-page=next]");
const pageLabel = document.querySelector("[data-page-label]");
let page = 1;

async function loadStats() {
  try {
    const rows = await api("/api/games/stats/me");
    statsBody.replaceChildren(
      ...(rows.length
        ? rows.map((row) =>
            el(
              "tr",
              {},
              el("th", { scope: "row", text: GAME_NAMES()[row.game] || row.game }),
              el("td", { text: formatGold(row.plays) }),
              el("td", { text: formatGold(row.wins) }),
              el("td", { text: formatGold(row.total_bet) }),
              el("td", { text: formatGold(row.total_won) }),
              el("td", { class: row.net >= 0 ? "positive" : "negative", text: formatGold(row.net) }),
              el("td", { text: row.best_win_streak }),
            ),
          )
        : [el("tr", {}, el("td", { colspan: "7", class: "muted", text: gettext("No rounds played yet.") }))]),
    );
  } catch (error) {
    showError(error);
  }
}

async function loadRounds() {
  const query = new URLSearchParams({ page: String(page), page_size: "20" });
  if (gameSelect.value) query.set("game", gameSelect.value);
  try {
    const data = await api(`/api/games/history?${query}`);
    const rows = data.results || [];
    roundsBody.replaceChildren(
      ...(rows.length
        ? rows.map((round) =>
            el(
              "tr",
              { dataset: { roundId: round.id } },
              el("th", { scope: "row" }, el("a", {
                  // a crash bet is checked on its shared round's page (its chain link and salt)
                  href: round.crash_round_id ? `/play/crash/rounds/${round.crash_round_id}/` : `/verify/?round=${round.id}`,
                  text: `#${round.id}`,
                  title: gettext("Verify this round in your browser"),
                })),
              el("td", { text: GAME_NAMES()[round.game] || round.game }),
              el("td", { text: formatGold(round.bet) }),
              el("td", { text: round.state === "open" ? gettext("running") : formatGold(round.payout) }),
              typeof round.net === "number"
                ? el("td", { class: round.net >= 0 ? "positive" : "negative", dataset: { net: String(round.net) }, text: formatNet(round.net) })
                : el("td", { text: "—" }),
              el("td", { text: `${round.multiplier.toFixed(2)}×` }),
              el("td", { text: formatTime(round.created_at) }),
            ),
          )
        : [el("tr", {}, el("td", { colspan: "7", class: "muted", text: gettext("No rounds played yet.") }))]),
    );
    prev.disabled = !data.previous;
    next.disabled = !data.next;
    pageLabel.textContent = String(page);
  } catch (error) {
    if (error.code === "not_found" && page > 1) {
      page = 1;
      loadRounds();
      return;
    }
    showError(error);
  }
}

prev.addEventListener("click", () => {
  page = Math.max(1, page - 1);
  loadRounds();
});
next.addEventListener("click", () => {
  page += 1;
  loadRounds();
});
gameSelect.addEventListener("change", () => {
  page = 1;
  loadRounds();
});
store.on("game_event", (message) => {
  if (message.data && message.data.event === "round_settled" && page === 1) {
    loadRounds();
    loadStats();
  }
});
const leaderboardBody = document.querySelector("[data-testid=leaderboard] tbody");
const periodSelect = document.getElementById("leaderboard-period");
const bySelect = document.getElementById("leaderboard-by");

async function loadLeaderboard() {
  try {
    const query = new URLSearchParams({ period: periodSelect.value, by: bySelect.value });
    const board = await api(`/api/games/leaderboard?${query}`);
    const me = store.profile && store.profile.id;
    leaderboardBody.replaceChildren(
      ...(board.entries.length
        ? board.entries.map((entry) =>
            el(
              "tr",
              { class: entry.user_id === me ? "me" : null, dataset: { userId: entry.user_id } },
              el("td", { text: String(entry.rank) }),
              el(
                "th",
                { scope: "row" },
                entry.nickname,
                ...(entry.equipped || []).map((item) =>
                  el("span", { class: `badge item-${item.kind}`, dataset: { item: item.item_code }, text: item.name }),
                ),
              ),
              el("td", { text: formatGold(entry.net_win) }),
              el("td", { text: `×${entry.best_multiplier.toFixed(2)}` }),
              el("td", { text: formatGold(entry.rounds) }),
            ),
          )
        : [el("tr", {}, el("td", { colspan: "5", class: "muted", text: gettext("Nobody has played yet.") }))]),
    );
  } catch (error) {
    showError(error);
  }
}

periodSelect.addEventListener("change", loadLeaderboard);
bySelect.addEventListener("change", loadLeaderboard);
loadStats();
loadRounds();
loadLeaderboard();
