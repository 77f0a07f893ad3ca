// Types the validation modules share: a stack config key as a path (["nodePools", 0,
// "minSize"]) and a problem at one. Their own module so that the checks validate.ts runs
// can name keys without importing validate.ts back.
export type ConfigPath = readonly (string | number)[];

export interface ConfigProblem {
  readonly path: ConfigPath;
  readonly message: string;
}
