// Types for tools/go-tools.mjs, so that tests written in TypeScript can use it.
export function cacheRoot(): string;
export function listTools(): string[];
export function toolKey(name: string): string;
export function builtBinary(name: string, binary: string): string | undefined;
export function ensureTool(name: string, log?: (line: string) => void): Promise<string>;
export function toolBinary(name: string, binary: string): Promise<string>;
