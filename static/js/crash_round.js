// A finished crash round, checked in the browser (docs/fairness.md): sha256(round hash) must be
// the previous hash, and HMAC-SHA256(key = round hash, message = salt) must give its crash point.
import { gettext } from "./ui.js";

const node = document.querySelector("[data-testid=crash-round]");
const result = document.querySelector("[data-testid=crash-round-check]");
const encoder = new TextEncoder();
const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");

async function check() {
  const { hash, previousHash, salt, crashPoint, edgeBp, maxMultiplier } = node.dataset;
  if (!window.crypto || !window.crypto.subtle) {
    result.textContent = gettext("This browser cannot check it here: use tools/verify_round.py.");
    return;
  }
  const linked = hex(await window.crypto.subtle.digest("SHA-256", encoder.encode(hash))) === previousHash;
  const key = await window.crypto.subtle.importKey("raw", encoder.encode(hash), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const digest = hex(await window.crypto.subtle.sign("HMAC", key, encoder.encode(salt)));
  const k = BigInt("0x" + digest.slice(0, 13));
  const range = 2n ** 52n;
  const raw = ((10000n - BigInt(edgeBp)) * range) / (100n * (range - k));
  const x100 = Math.max(100, Math.min(Math.round(Number(maxMultiplier) * 100), Number(raw)));
  const pointMatches = Math.abs(x100 / 100 - Number(crashPoint)) < 0.001;
  node.dataset.verified = String(linked && pointMatches);
  result.textContent = linked && pointMatches
    ? gettext("Verified: the hash links to the previous one and gives this crash point.")
    : gettext("Not verified: the hash or the crash point does not match.");
}

check();
