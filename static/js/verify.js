// Verify a round in the browser (public page): the outcome is recomputed here from the revealed
// server seed, client seed and nonce (fair.js, docs/fairness.md) and compared with the result the
// round recorded; the server's own verdict is never used. ?round=ID (from History) loads that
// round's inputs and verifies at once; ?game=&server_seed=&client_seed=&nonce=… does the same
// for any inputs.
import { api } from "./api.js";
import { canonical, recompute } from "./fair.js";
import { busy, el, formatGold, formatMultiplier, gettext, interpolate } from "./ui.js";

const form = document.querySelector("form[data-action=verify-round]");
const box = document.querySelector("[data-testid=verify-outcome]");
const verdictText = box.querySelector("[data-verdict-text]");
const facts = box.querySelector("[data-verify-facts]");
const fields = form.elements;

function showGameFields() {
  for (const node of form.querySelectorAll("[data-for-game]")) {
    node.hidden = node.dataset.forGame !== fields.game.value;
  }
}

function show(verdict, text, rows = []) {
  box.hidden = false;
  box.dataset.verdict = verdict;
  box.className = `verify-result card verdict-${verdict}`;
  verdictText.textContent = text;
  facts.replaceChildren(
    ...rows.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { class: "mono", text: value })]),
  );
  box.focus({ preventScroll: false });
}

const SYMBOL_NAMES = () => ({
  CHERRY: gettext("Cherry"),
  LEMON: gettext("Lemon"),
  BELL: gettext("Bell"),
  BAR: gettext("Bar"),
  SEVEN: gettext("Seven"),
  DIAMOND: gettext("Diamond"),
});
const CHOICE_NAMES = () => ({ rock: gettext("Rock"), paper: gettext("Paper"), scissors: gettext("Scissors") });
const RESULT_NAMES = () => ({ win: gettext("Win"), draw: gettext("Draw"), loss: gettext("Loss") });
const RARITY_NAMES = () => ({
  common: gettext("Common"),
  rare: gettext("Rare"),
  epic: gettext("Epic"),
  legendary: gettext("Legendary"),
});
const namesNode = document.getElementById("item-names");
const ITEM_NAMES = namesNode ? JSON.parse(namesNode.textContent) : {};
const named = (names, code) => names[code] || code;

// An outcome in words (names, never codes); the comparison itself is on the raw outcome.
function describe(game, outcome) {
  if (game === "slot") return outcome.reels.map((symbol) => named(SYMBOL_NAMES(), symbol)).join(" · ");
  if (game === "rps") {
    return interpolate(
      gettext("you %(player)s, opponent %(opponent)s: %(result)s"),
      {
        player: named(CHOICE_NAMES(), outcome.player),
        opponent: named(CHOICE_NAMES(), outcome.opponent),
        result: named(RESULT_NAMES(), outcome.result),
      },
      true,
    );
  }
  if (game === "crash") return interpolate(gettext("crash point %(point)s"), { point: formatMultiplier(outcome.crash_x100) }, true);
  return outcome.pulls
    .map((pull) =>
      [
        named(RARITY_NAMES(), pull.rarity),
        pull.gold ? interpolate(gettext("%(gold)s gold"), { gold: formatGold(pull.gold) }, true) : null,
        pull.item ? named(ITEM_NAMES, pull.item) : null,
      ]
        .filter(Boolean)
        .join(" "),
    )
    .join(" | ");
}

async function liveConfig(game) {
  const odds = await api(`/api/games/${encodeURIComponent(game)}/odds`);
  return odds.config;
}

async function run() {
  const game = fields.game.value;
  const nonce = Number.parseInt(fields.nonce.value, 10);
  if (!fields.server_seed.value.trim() || !fields.client_seed.value || !Number.isInteger(nonce) || nonce < 0) {
    show("error", gettext("Enter the revealed server seed, the client seed and the nonce."));
    return;
  }
  let config;
  let expected = null;
  try {
    config = fields.config.value.trim() ? JSON.parse(fields.config.value) : await liveConfig(game);
    if (config && config.engine) config = config.engine;
    expected = fields.expected.value.trim() ? JSON.parse(fields.expected.value) : null;
  } catch {
    show("error", gettext("The configuration or the recorded result is not valid JSON."));
    return;
  }
  let result;
  try {
    result = await recompute({
      game,
      serverSeedHex: fields.server_seed.value,
      clientSeed: fields.client_seed.value,
      nonce,
      config,
      choice: fields.choice.value,
      pity: Number.parseInt(fields.pity.value, 10) || 0,
      pulls: Math.min(10, Math.max(1, Number.parseInt(fields.pulls.value, 10) || 1)),
    });
  } catch (error) {
    show(
      "error",
      error.message === "not_hex"
        ? gettext("The server seed must be hexadecimal (two digits per byte).")
        : gettext("These inputs cannot be computed with this configuration."),
    );
    return;
  }
  const shownHash = fields.server_seed_hash.value.trim().toLowerCase();
  const rows = [
    [gettext("SHA-256 of the server seed (computed here)"), result.serverSeedHash],
    [gettext("Result computed here"), describe(game, result.outcome)],
  ];
  if (result.multiplier_x100 !== null) rows.push([gettext("Multiplier"), formatMultiplier(result.multiplier_x100)]);
  if (expected) rows.push([gettext("Result recorded for the round"), describe(game, expected)]);
  if (shownHash && shownHash !== result.serverSeedHash) {
    rows.push([gettext("Hash shown before play"), shownHash]);
    show("mismatch", gettext("Does not match: this server seed is not the one whose hash was shown before play."), rows);
    return;
  }
  if (expected && canonical(expected) !== canonical(result.outcome)) {
    show("mismatch", gettext("Does not match: these inputs give a different result from the one recorded."), rows);
    return;
  }
  if (expected) {
    show(
      "match",
      fields.round_id.value
        ? interpolate(gettext("Round #%(id)s verified: your browser computed the same result."), { id: fields.round_id.value }, true)
        : gettext("Verified: your browser computed the same result."),
      rows,
    );
    return;
  }
  show("computed", gettext("Computed in your browser (no recorded result to compare)."), rows);
}

function fill(values) {
  for (const [name, value] of Object.entries(values)) {
    if (value !== null && value !== undefined && fields[name]) fields[name].value = value;
  }
  showGameFields();
}

async function loadRound(roundId) {
  let data;
  try {
    data = await api(`/api/games/rounds/${encodeURIComponent(roundId)}/verify`);
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      show("error", gettext("Log in to load your own rounds, or enter a round's inputs below."));
    } else {
      show("error", error.code === "not_found" ? gettext("No such round of yours.") : error.message);
    }
    return false;
  }
  const params = data.params || {};
  fill({
    round_id: String(data.round_id),
    game: data.game,
    server_seed: data.server_seed || "",
    server_seed_hash: data.server_seed_hash,
    client_seed: data.client_seed,
    nonce: String(data.nonce),
    choice: params.choice,
    pulls: params.pulls === undefined ? null : String(params.pulls),
    pity: params.pity === undefined ? null : String(params.pity),
    config: JSON.stringify(data.config),
    expected: data.stored ? JSON.stringify(data.stored) : "",
  });
  if (!data.revealed) {
    show(
      "not-revealed",
      interpolate(
        gettext("Round #%(id)s cannot be verified yet: its server seed is still secret. Rotate your seed pair (Profile) to reveal it, then come back."),
        { id: data.round_id },
        true,
      ),
    );
    return false;
  }
  return true;
}

fields.game.addEventListener("change", showGameFields);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form.querySelector("button[type=submit]"), run);
});

async function start() {
  showGameFields();
  const query = new URLSearchParams(window.location.search);
  const roundId = query.get("round");
  if (roundId) {
    if (await loadRound(roundId)) await busy(form.querySelector("button[type=submit]"), run);
    return;
  }
  if (query.get("server_seed")) {
    fill({
      game: query.get("game"),
      server_seed: query.get("server_seed"),
      server_seed_hash: query.get("server_seed_hash"),
      client_seed: query.get("client_seed"),
      nonce: query.get("nonce"),
      choice: query.get("choice"),
      pulls: query.get("pulls"),
      pity: query.get("pity"),
    });
    await busy(form.querySelector("button[type=submit]"), run);
  }
}

start();
