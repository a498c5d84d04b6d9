// Every signed-in page: start the tab's store (socket, gold, toasts).
import { store } from "./store.js";

store.start();
