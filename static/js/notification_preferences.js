// Profile: which kinds of notification the player also gets by e-mail (GET/PATCH
// /api/notifications/preferences; the inbox always gets everything).
import { api } from "./api.js";
import { busy, gettext, showError, toast } from "./ui.js";

const form = document.querySelector("form[data-action=notification-preferences]");
const NAMES = ["email_rewards", "email_events", "email_marketing"];

async function load() {
  try {
    const preferences = await api("/api/notifications/preferences");
    for (const name of NAMES) form.elements[name].checked = Boolean(preferences[name]);
  } catch (error) {
    showError(error);
  }
}

if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = Object.fromEntries(NAMES.map((name) => [name, form.elements[name].checked]));
    busy(form.querySelector("button[type=submit]"), async () => {
      try {
        await api("/api/notifications/preferences", { method: "PATCH", body });
        toast("saved", gettext("Your e-mail choices are saved."));
      } catch (error) {
        showError(error);
      }
    });
  });
  load();
}
