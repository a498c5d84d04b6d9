// The main navigation on a phone: every section behind one "Menu" button (aria-expanded), so no
// section is pushed off-screen. Without this script the list simply wraps and shows everything.
// Escape closes the open menu and returns focus to the button; wider screens always show the list.
const nav = document.querySelector(".main-nav");
const toggle = nav && nav.querySelector(".nav-toggle");

if (toggle) {
  const setOpen = (open) => toggle.setAttribute("aria-expanded", String(open));
  toggle.hidden = false;
  nav.dataset.enhanced = "true";
  setOpen(false);
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  nav.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      toggle.focus();
    }
  });
}
