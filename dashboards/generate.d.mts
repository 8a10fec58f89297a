// Types for dashboards/generate.mjs, so that tests written in TypeScript can use it.
export const DASHBOARD_FILES: readonly string[];
export function dashboard(): Record<string, unknown>;
export function dashboardText(): string;
