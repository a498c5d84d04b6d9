// The one client-side store of a tab: the player's gold and profile, fed by one socket to
// /api/realtime/sync (session cookie). It keeps the last message seq it saw and reconnects with
// exponential backoff + jitter, asking for ?since=<seq> so nothing sent meanwhile is lost.
// html[data-socket] is "connecting" | "open" | "closed".
// The socket is authenticated by the session cookie, never by a token (docs/decisions/0060), so it
// needs no reauth frame: the server closes it with 4401 when the session ends (logout, expiry,
// "log out everywhere", a ban, a password change elsewhere) and the store then stops. A password
// change in this tab keeps the session under a new key: renewSession() reopens the socket with it.
import { formatGold, formatNet, gettext, initialState, interpolate, toast } from "./ui.js";

const PING_INTERVAL_MS = 30000; // presence expires after 120 s without a ping
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_BAD_REQUEST = 4400;

const PURCHASE_STATUS_TEXT = {
  pending: () => gettext("Purchase pending: waiting for the payment provider."),
  success: () => gettext("Purchase complete."),
  failed: () => gettext("Purchase failed."),
  refunded: () => gettext("Purchase refunded."),
};

// Socket messages are built outside any request: they carry every language's name in `names`.
function nameInPageLanguage(data) {
  const names = data.names || {};
  return names[document.documentElement.lang] || data.name;
}

export function purchaseStatusText(status) {
  const text = PURCHASE_STATUS_TEXT[status];
  return text ? text() : status;
}

const SILENT_REWARD_REASONS = new Set(["game_win", "level_up"]);

const GAME_NAMES = {
  slot: () => gettext("Slot"),
  crash: () => gettext("Crash"),
  gacha: () => gettext("Gacha"),
  rps: () => gettext("Rock-paper-scissors"),
};

function gameName(game) {
  return GAME_NAMES[game] ? GAME_NAMES[game]() : game;
}

class Store extends EventTarget {
  constructor() {
    super();
    this.gold = null;
    this.profile = null;
    this.lastSeq = null; // newest stored seq seen; null until the first sync_connected
    this.socket = null;
    this.attempt = 0;
    this.started = false;
    this.stopped = false;
    this.pingTimer = null;
    this.reconnectTimer = null;
  }

  start() {
    if (this.started) return this;
    this.started = true;
    const state = initialState();
    if (state.profile) {
      this.profile = state.profile;
      this.setGold(state.profile.gold);
    }
    this.connect();
    window.addEventListener("online", () => this.reconnectNow());
    return this;
  }

  on(type, listener) {
    this.addEventListener(type, (event) => listener(event.detail));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get socketState() {
    return document.documentElement.dataset.socket;
  }

  setSocketState(state) {
    document.documentElement.dataset.socket = state;
    this.emit("socket", state);
  }

  setGold(value) {
    if (typeof value !== "number") return;
    this.gold = value;
    if (this.profile) this.profile.gold = value;
    for (const node of document.querySelectorAll("[data-testid=gold-balance], [data-gold]")) {
      node.textContent = formatGold(value);
      node.dataset.value = String(value);
    }
    this.emit("gold", value);
  }

  // A balance from an HTTP response: used only while the socket cannot deliver the same change
  // (a live socket's profile_update is the ordered source of truth).
  applyBalance(value) {
    if (this.socketState !== "open") this.setGold(value);
  }

  connect() {
    if (this.stopped) return;
    this.setSocketState("connecting");
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${scheme}//${window.location.host}/api/realtime/sync`;
    if (this.lastSeq !== null) url += `?since=${this.lastSeq}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.receive(message);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      window.clearInterval(this.pingTimer);
      this.setSocketState("closed");
      if (event.code === CLOSE_UNAUTHORIZED) {
        this.stopped = true;
        toast("error", gettext("Your session has ended. Please log in again."));
        return;
      }
      if (event.code === CLOSE_BAD_REQUEST) this.lastSeq = null;
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
    this.attempt += 1;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.socket || this.stopped) return;
    window.clearTimeout(this.reconnectTimer);
    this.connect();
  }

  // The session cookie changed under a live socket (a password change keeps this tab signed in
  // with a new session key, and the old one no longer authenticates): reopen the socket with the
  // new cookie, resuming from the last seq.
  renewSession() {
    const previous = this.socket;
    this.socket = null; // its close event is ignored
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.reconnectTimer);
    if (previous) previous.close(1000);
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  send(payload) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(payload));
    }
  }

  receive(message) {
    const { type, data } = message;
    if (type === "group_batch") {
      // a public group's broadcasts that went out together, oldest first
      for (const inner of data.messages) this.receive(inner);
      return;
    }
    if (type === "sync_connected") {
      this.attempt = 0;
      if (this.lastSeq === null) this.lastSeq = data.last_seq;
      this.setSocketState("open");
      window.clearInterval(this.pingTimer);
      this.pingTimer = window.setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
    } else if (type === "initial_state") {
      this.profile = { ...(this.profile || {}), ...data.profile };
      this.setGold(data.profile.gold);
      this.emit("profile", this.profile);
    } else if (type === "pong") {
      // nothing: the ping itself keeps presence and catches up
    } else if (typeof message.seq === "number") {
      if (this.lastSeq !== null && message.seq <= this.lastSeq) return; // already applied
      this.lastSeq = message.seq;
      this.apply(message);
    }
    this.emit(type, message);
    this.emit("message", message);
  }

  apply({ type, data }) {
    if (type === "profile_update") {
      this.setGold(data.gold);
    } else if (type === "reward_granted") {
      this.setGold(data.balance);
      // A round's payout is told by its result (net, not the gross payout), a level-up's gold by
      // the level-up itself (progress_update.level_ups): no second toast for either.
      if (!SILENT_REWARD_REASONS.has(data.reason)) {
        toast(
          "reward_granted",
          interpolate(gettext("+%(gold)s gold"), { gold: formatGold(data.gold) }, true),
        );
      }
    } else if (type === "purchase_update") {
      toast("purchase_update", purchaseStatusText(data.status));
    } else if (type === "announcement") {
      showAnnouncement(data);
    } else if (type === "progress_update") {
      // what the projections applied after a round: stats now, XP and level when present
      const changes = {};
      if (data && typeof data.xp === "number") changes.experience = data.xp;
      if (data && typeof data.level === "number") changes.level = data.level;
      if (Object.keys(changes).length) {
        this.profile = { ...(this.profile || {}), ...changes };
        this.emit("profile", this.profile);
      }
      for (const levelUp of (data && data.level_ups) || []) {
        toast(
          "level_up",
          levelUp.gold > 0
            ? interpolate(gettext("Level up! You reached level %(level)s: +%(gold)s gold."), {
                level: levelUp.level,
                gold: formatGold(levelUp.gold),
              }, true)
            : interpolate(gettext("Level up! You reached level %(level)s."), { level: levelUp.level }, true),
        );
        this.emit("level_up", levelUp);
      }
      for (const achievement of (data && data.achievements) || []) {
        if (achievement.state !== "unlocked") continue;
        toast(
          "achievement_unlock",
          interpolate(gettext("Achievement unlocked: %(name)s"), { name: nameInPageLanguage(achievement) }, true),
        );
      }
    } else if (type === "achievement_unlock") {
      toast(
        "achievement_unlock",
        interpolate(gettext("Achievement unlocked: %(name)s"), { name: nameInPageLanguage(data) }, true),
      );
    } else if (type === "game_event" && data && data.event === "round_settled" && data.round) {
      // a round this page did not play (another tab, a crash auto cash-out elsewhere): its net
      const round = data.round;
      if (initialState().page !== round.game && typeof round.net === "number") {
        toast(
          "round_settled",
          interpolate(gettext("A %(game)s round ended: net %(net)s gold."), {
            game: gameName(round.game),
            net: formatNet(round.net),
          }, true),
        );
      }
    } else if (data && typeof data.balance === "number") {
      this.setGold(data.balance);
    } else if (data && data.profile && typeof data.profile.gold === "number") {
      this.setGold(data.profile.gold);
    }
  }
}

// A staff announcement that just started: shown like the ones the page rendered, once.
function showAnnouncement(data) {
  const box = document.querySelector("[data-testid=announcements]");
  if (!box || !data || box.querySelector(`[data-announcement-id="${Number(data.id)}"]`)) return;
  const line = document.createElement("p");
  const severity = ["info", "warning", "critical"].includes(data.severity) ? data.severity : "info";
  line.className = `notice notice-${severity}`;
  line.dataset.testid = "announcement";
  line.dataset.announcementId = String(Number(data.id));
  const korean = document.documentElement.lang.startsWith("ko");
  line.textContent = (korean ? data.text_ko : data.text_en) || data.text;
  box.append(line);
}

export const store = new Store();
export default store;
