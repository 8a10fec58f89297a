// Types for tools/layer-map.mjs, so that tests written in TypeScript can read the map.
export const LAYERS: readonly (readonly string[])[];
export const APART: Readonly<Record<string, readonly string[]>>;
export const PURE: Readonly<Record<string, readonly string[]>>;
