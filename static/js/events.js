// Events and missions: join, claim, live progress.
import { mountMissions } from "./missions.js";
import { initialState } from "./ui.js";

const state = initialState();
mountMissions({
  eventsList: document.querySelector("[data-testid=events]"),
  missionsList: document.querySelector("[data-testid=missions]"),
  events: state.events || [],
  missions: state.missions || [],
});
