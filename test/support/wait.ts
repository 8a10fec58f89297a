/** Waits for a condition with a deadline; never a bare sleep as synchronisation (the dev cluster's waiter). */
export { waitFor } from "../../src/devcluster/wait.js";
