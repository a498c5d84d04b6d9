// Profile: the fairness panel (seed commitment, client seed, rotation, verify a round).
import { api, post } from "./api.js";
import { store } from "./store.js";
import { busy, el, errorMessage, formatTime, gettext, interpolate, showError, toast } from "./ui.js";

const hash = document.querySelector("[data-testid=server-seed-hash]");
const clientSeed = document.querySelector("[data-client-seed]");
const nonce = document.querySelector("[data-nonce]");
const revealed = document.querySelector("[data-revealed]");
const verifyResult = document.querySelector("[data-testid=verify-result]");
const rotateForm = document.querySelector("form[data-action=rotate]");
const verifyForm = document.querySelector("form[data-action=verify]");

function showSeed(seed) {
  hash.textContent = seed.server_seed_hash;
  clientSeed.textContent = seed.client_seed;
  nonce.textContent = seed.nonce;
}

async function load() {
  try {
    showSeed(await api("/api/games/fairness"));
  } catch (error) {
    showError(error);
  }
}

rotateForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const button = rotateForm.querySelector("[data-testid=rotate-seed]");
  busy(button, async () => {
    const body = {};
    const seed = rotateForm.elements.client_seed.value.trim();
    if (seed) body.client_seed = seed;
    try {
      const { previous, current } = await post("/api/games/fairness/rotate", body);
      showSeed(current);
      rotateForm.elements.client_seed.value = "";
      revealed.replaceChildren(
        el("h3", { text: gettext("Revealed seed pair") }),
        el(
          "dl",
          { class: "facts" },
          el("dt", { text: gettext("Server seed") }),
          el("dd", {}, el("code", { class: "wrap", "data-revealed-seed": "", text: previous.server_seed || "" })),
          el("dt", { text: gettext("Its SHA-256 (shown before you played)") }),
          el("dd", {}, el("code", { class: "wrap", text: previous.server_seed_hash })),
          el("dt", { text: gettext("Client seed") }),
          el("dd", {}, el("code", { class: "wrap", text: previous.client_seed })),
          el("dt", { text: gettext("Rounds played with it") }),
          el("dd", { text: previous.nonce }),
        ),
      );
    } catch (error) {
      showError(error);
    }
  });
});

verifyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const roundId = Number.parseInt(verifyForm.elements.round_id.value, 10);
  if (!Number.isInteger(roundId) || roundId < 1) {
    verifyForm.elements.round_id.focus();
    showError({ code: "validation_error" });
    return;
  }
  busy(verifyForm.querySelector("button"), async () => {
    verifyResult.dataset.roundId = String(roundId);
    try {
      const result = await api(`/api/games/rounds/${roundId}/verify`);
      verifyResult.dataset.verified = String(result.verified);
      if (!result.revealed) {
        verifyResult.textContent = gettext(
          "Not revealed yet: rotate your seed pair to reveal this round's server seed, then verify.",
        );
      } else if (result.verified) {
        verifyResult.textContent = interpolate(
          gettext("Round #%(id)s verified: the revealed server seed matches its hash and reproduces the result."),
          { id: roundId },
          true,
        );
      } else {
        verifyResult.textContent = interpolate(
          gettext("Round #%(id)s did NOT verify: the recomputed result differs from the stored one."),
          { id: roundId },
          true,
        );
      }
    } catch (error) {
      verifyResult.dataset.verified = "error";
      verifyResult.textContent = error.code === "not_found" ? gettext("No such round of yours.") : error.message;
      showError(error);
    }
  });
});

// Play responsibly: the daily purchase limit, a break (cool-off) and self-exclusion.
const responsibleStatus = document.querySelector("[data-responsible-status]");
const limitForm = document.querySelector("form[data-action=purchase-limit]");

function showResponsible(status) {
  const parts = [];
  parts.push(
    status.daily_purchase_limit_cents === null
      ? gettext("No daily purchase limit.")
      : interpolate(gettext("Daily purchase limit: %(limit)s."), { limit: status.daily_purchase_limit_cents }, true),
  );
  if (status.pending_limit_effective_at) {
    parts.push(
      interpolate(
        gettext("The new limit (%(limit)s) applies from %(time)s."),
        {
          limit: status.pending_purchase_limit_cents === null ? gettext("none") : status.pending_purchase_limit_cents,
          time: formatTime(status.pending_limit_effective_at),
        },
        true,
      ),
    );
  }
  if (status.blocked) {
    parts.push(interpolate(gettext("Play and purchases are paused until %(time)s."), { time: formatTime(status.blocked_until) }, true));
  }
  responsibleStatus.textContent = parts.join(" ");
  limitForm.elements.daily_purchase_limit_cents.value =
    status.daily_purchase_limit_cents === null ? "" : String(status.daily_purchase_limit_cents);
}

async function loadResponsible() {
  try {
    showResponsible(await api("/api/responsible-play"));
  } catch (error) {
    showError(error);
  }
}

function responsibleForm(action, path, body, confirmText) {
  const form = document.querySelector(`form[data-action=${action}]`);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (confirmText && !window.confirm(confirmText())) return;
    busy(form.querySelector("button"), async () => {
      try {
        showResponsible(await post(path, body(form)));
        toast("info", gettext("Saved."));
      } catch (error) {
        showError(error);
      }
    });
  });
}

responsibleForm("purchase-limit", "/api/responsible-play/purchase-limit", (form) => {
  const raw = form.elements.daily_purchase_limit_cents.value.trim();
  return { daily_purchase_limit_cents: raw === "" ? null : Number(raw) };
});
responsibleForm(
  "cool-off",
  "/api/responsible-play/cool-off",
  (form) => ({ duration: form.elements.duration.value }),
  () => gettext("Start a break? You will not be able to play or buy until it ends."),
);
responsibleForm(
  "self-exclusion",
  "/api/responsible-play/self-exclusion",
  (form) => ({ days: Number(form.elements.days.value) }),
  () => gettext("Exclude yourself? This cannot be undone before it ends."),
);
loadResponsible();

// The nickname (PATCH /api/users/me; the API checks it is free and well-formed).
const nicknameForm = document.querySelector("form[data-action=nickname]");
const nicknameError = document.querySelector("[data-testid=nickname-error]");
nicknameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(nicknameForm.querySelector("button"), async () => {
    try {
      const profile = await api("/api/users/me", {
        method: "PATCH",
        body: { nickname: nicknameForm.elements.nickname.value.trim() },
      });
      document.querySelector("[data-nickname]").textContent = profile.nickname;
      nicknameForm.elements.nickname.value = profile.nickname;
      nicknameError.hidden = true;
      nicknameForm.elements.nickname.removeAttribute("aria-invalid");
      toast("info", gettext("Saved."));
    } catch (error) {
      // the rule it broke, next to the field: the format, or that the name is taken
      const rules = error.details && error.details.nickname;
      nicknameError.textContent = Array.isArray(rules) && rules.length ? rules.join(" ") : errorMessage(error);
      nicknameError.hidden = false;
      nicknameForm.elements.nickname.setAttribute("aria-invalid", "true");
      nicknameForm.elements.nickname.focus();
    }
  });
});

// The password (POST /api/auth/password). Every other session and token ends; this tab's session
// is kept under a new session key, so the socket reopens with the new cookie.
const passwordForm = document.querySelector("form[data-action=password]");
passwordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = passwordForm.elements;
  if (fields.new_password.value !== fields.new_password_again.value) {
    fields.new_password_again.focus();
    toast("error", gettext("The two new passwords differ."));
    return;
  }
  busy(passwordForm.querySelector("button"), async () => {
    try {
      await post("/api/auth/password", {
        current_password: fields.current_password.value,
        new_password: fields.new_password.value,
      });
      passwordForm.reset();
      store.renewSession();
      toast("info", gettext("Password changed. Other devices have been signed out."));
    } catch (error) {
      const problems = error.details && error.details.new_password;
      if (error.code === "weak_password" && Array.isArray(problems)) {
        toast("error", problems.join(" "));
      } else if (error.code === "password_incorrect") {
        fields.current_password.focus();
        toast("error", gettext("The current password is wrong."));
      } else {
        showError(error);
      }
    }
  });
});

const fromHistory = new URLSearchParams(window.location.search).get("round");
if (fromHistory) verifyForm.elements.round_id.value = fromHistory;
load();
