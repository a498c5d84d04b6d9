// Limits in plain sight on a game page: plays left today, when they reset, the bet range, and the
// play controls disabled with the reason when a cool-off or self-exclusion, the daily limit or
// too little gold stops play (the same order as the server's checks). The page renders the first
// state (casinoclub/pages/views.py); this keeps it true after every play, gold change and reset.
import { api } from "./api.js";
import { store } from "./store.js";
import { formatClock, formatGold, formatTime, gettext, initialState, interpolate } from "./ui.js";

const MAX_TIMER_MS = 2 ** 31 - 1;

export class PlayLimits {
  // controls: [{node, stake: () => gold a click needs}]
  constructor(game, controls) {
    const state = initialState();
    this.game = game;
    this.controls = controls;
    this.limits = state.limits || { games: {}, play_block: null, resets_at: null };
    this.busy = false; // a round of this page is running: leave its controls alone
    this.root = document.querySelector("[data-testid=play-limits]");
    this.reasonNode = document.querySelector("[data-testid=play-reason]");
    this.timer = null;
    store.on("gold", () => this.render());
    this.render();
  }

  get gameLimits() {
    return this.limits.games[this.game] || null;
  }

  // The game's limits from a play response (counted by that round).
  apply(gameLimits) {
    if (!gameLimits) return;
    this.limits = { ...this.limits, resets_at: gameLimits.resets_at, games: { ...this.limits.games, [this.game]: gameLimits } };
    this.render();
  }

  async refresh() {
    try {
      this.limits = await api("/api/games/limits");
    } catch {
      return; // the page keeps what it knew; the server still refuses what it must
    }
    this.render();
  }

  reasonFor(stake) {
    const block = this.limits.play_block;
    if (block) {
      return block.kind === "self_exclusion"
        ? interpolate(gettext("Play is paused: your self-exclusion runs until %(until)s."), { until: formatTime(block.until) }, true)
        : interpolate(gettext("Play is paused: your cool-off runs until %(until)s."), { until: formatTime(block.until) }, true);
    }
    const game = this.gameLimits;
    if (game && game.plays_left === 0) {
      return interpolate(gettext("You have played all %(limit)s rounds of this game today. More from %(time)s."), {
        limit: game.daily_limit,
        time: formatClock(game.resets_at),
      }, true);
    }
    if (typeof store.gold === "number" && store.gold < stake) {
      return interpolate(gettext("You need at least %(need)s gold to play (you have %(gold)s)."), {
        need: formatGold(stake),
        gold: formatGold(store.gold),
      }, true);
    }
    return null;
  }

  render() {
    const game = this.gameLimits;
    if (this.root && game) {
      const left = this.root.querySelector("[data-testid=plays-left]");
      if (game.daily_limit) {
        left.textContent = `${game.plays_left} / ${game.daily_limit}`;
        left.dataset.value = String(game.plays_left);
      }
      const reset = this.root.querySelector("[data-testid=plays-reset]");
      if (reset && game.resets_at) {
        reset.textContent = formatClock(game.resets_at);
        reset.setAttribute("datetime", game.resets_at);
      }
    }
    let shown = null;
    for (const control of this.controls) {
      const reason = this.reasonFor(control.stake());
      shown = shown || reason;
      if (reason) {
        control.node.disabled = true;
        control.node.dataset.limitReason = reason;
        control.node.setAttribute("aria-describedby", "play-reason");
        control.node.title = reason;
      } else if (control.node.dataset.limitReason !== undefined || control.node.hasAttribute("aria-describedby")) {
        delete control.node.dataset.limitReason;
        control.node.removeAttribute("aria-describedby");
        control.node.removeAttribute("title");
        if (!this.busy) control.node.disabled = false;
      }
    }
    if (this.reasonNode) {
      this.reasonNode.textContent = shown || "";
      this.reasonNode.hidden = !shown;
    }
    this.scheduleRefresh();
  }

  // Read the limits again when they change by the clock: at the daily reset, at a block's end.
  scheduleRefresh() {
    window.clearTimeout(this.timer);
    const moments = [this.limits.resets_at, this.limits.play_block && this.limits.play_block.until]
      .filter(Boolean)
      .map((iso) => Date.parse(iso) - Date.now());
    const next = Math.min(...moments.filter((ms) => ms > 0));
    if (Number.isFinite(next)) this.timer = window.setTimeout(() => this.refresh(), Math.min(next + 1000, MAX_TIMER_MS));
  }

  // Whether any control may be clicked for a play now.
  blocked(stake) {
    return this.reasonFor(stake) !== null;
  }
}

// The bet in a bet field, or null with the field's rule shown ("Bets are from 10 to 10,000 gold.").
export function betFrom(input) {
  const bet = Number(input.value);
  const min = Number(input.min) || 1;
  const max = Number(input.max) || Number.MAX_SAFE_INTEGER;
  const rule = document.getElementById(input.getAttribute("aria-describedby") || "");
  if (Number.isInteger(bet) && bet >= min && bet <= max) {
    input.removeAttribute("aria-invalid");
    if (rule) rule.classList.remove("field-error");
    return bet;
  }
  input.setAttribute("aria-invalid", "true");
  if (rule) {
    rule.textContent = interpolate(gettext("Bets are from %(min)s to %(max)s gold."), {
      min: formatGold(min),
      max: formatGold(max),
    }, true);
    rule.classList.add("field-error");
  }
  input.focus();
  return null;
}
