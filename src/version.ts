/** The program's version, as package.json has it (kept in step by a test). */
export const VERSION = "0.1.0";
