// Game feel without assets to download: tones made with WebAudio (sound is off until the player
// turns it on, remembered per browser), a count-up for wins and a bigger moment for big wins.
// With prefers-reduced-motion nothing moves: numbers show at once and no animation runs.
import { gettext, prefersReducedMotion } from "./ui.js";

const SOUND_KEY = "casinoclub.sound";
export const BIG_WIN_MULTIPLIER = 10; // a win of 10× the bet or more gets the big moment

let audio = null;

export function soundOn() {
  try {
    return window.localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

function setSound(on) {
  try {
    window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  } catch {
    // private mode: the toggle lasts for this page only
  }
}

export function mountSoundToggle() {
  const button = document.querySelector("[data-testid=sound-toggle]");
  if (!button) return;
  let on = soundOn();
  const render = () => {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? gettext("Sound: on") : gettext("Sound: off");
  };
  button.addEventListener("click", () => {
    on = !on;
    setSound(on);
    render();
    if (on) tone("click");
  });
  render();
}

// Notes (Hz) and lengths (s) of each cue.
const CUES = {
  click: [[660, 0.05]],
  stop: [[330, 0.06]],
  lose: [[220, 0.18]],
  win: [[523, 0.1], [659, 0.1], [784, 0.16]],
  big: [[523, 0.1], [659, 0.1], [784, 0.1], [1047, 0.12], [784, 0.08], [1047, 0.3]],
  common: [[440, 0.08]],
  rare: [[523, 0.08], [659, 0.12]],
  epic: [[523, 0.08], [659, 0.08], [784, 0.16]],
  legendary: [[523, 0.08], [659, 0.08], [784, 0.08], [1047, 0.3]],
};

export function tone(cue) {
  if (!soundOn()) return;
  const notes = CUES[cue];
  if (!notes) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    let at = audio.currentTime;
    for (const [frequency, length] of notes) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "triangle";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.15, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + length + 0.02);
      at += length;
    }
  } catch {
    // no WebAudio: silence
  }
}

export const wait = (ms) =>
  new Promise((resolve) => window.setTimeout(resolve, prefersReducedMotion() ? 0 : ms));

// Count ``node``'s text from 0 up to ``value`` (formatted by ``format``); at once without motion.
export function countUp(node, value, format, durationMs = 700) {
  node.dataset.value = String(value);
  if (prefersReducedMotion() || value === 0) {
    node.textContent = format(value);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const started = performance.now();
    const step = (now) => {
      const share = Math.min(1, (now - started) / durationMs);
      node.textContent = format(Math.round(value * share));
      if (share < 1) window.requestAnimationFrame(step);
      else resolve();
    };
    window.requestAnimationFrame(step);
  });
}

// The big-win moment on ``card``: a class the stylesheet animates (not under reduced motion).
export function celebrate(card, isBig) {
  card.classList.remove("win-moment", "big-win");
  if (isBig) {
    void card.offsetWidth; // restart the animation
    card.classList.add("big-win");
    tone("big");
    window.setTimeout(() => card.classList.remove("big-win"), 2400);
  }
}
