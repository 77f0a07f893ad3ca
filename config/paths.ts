// A stack config key as a path: ["nodePools", 0, "minSize"]. Its own module so that the
// checks validate.ts runs can name keys without importing validate.ts back.
export type ConfigPath = readonly (string | number)[];
