// Credentials and secrets written in plain text in the stack config. A stack file is
// committed: whatever it holds unencrypted, every reader of the repository has.
import type { ConfigPath } from "./paths";

/**
 * The alicloud provider's credential keys (@pulumi/alicloud config/vars.d.ts:
 * accessKey, secretKey, securityToken). This program declares its own provider
 * (index.ts) with the region only, so credentials come from the environment or a
 * profile and these keys are not even read; in plain text they only leak.
 */
export const PROVIDER_CREDENTIAL_KEYS: readonly string[] = [
  "alicloud:accessKey",
  "alicloud:secretKey",
  "alicloud:securityToken",
];

/** What a leaked value looks like, and its name in messages. */
const SHAPES: readonly { readonly what: string; readonly test: (v: string) => boolean }[] = [
  // PEM private keys of any algorithm, encrypted or not (RFC 7468 labels).
  { what: "a private key", test: (v) => /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/.test(v) },
  // AccessKey secrets are 30 letters and digits (the console shows them so; ids are
  // LTAI…, 16-24 characters). Heuristic: exactly 30, with upper, lower and a digit.
  {
    what: "an Alibaba Cloud AccessKey secret",
    test: (v) => /^[A-Za-z0-9]{30}$/.test(v) && /[A-Z]/.test(v) && /[a-z]/.test(v) && /\d/.test(v),
  },
  // STS security tokens are long base64 strings that start with CAIS. Heuristic.
  { what: "an Alibaba Cloud STS security token", test: (v) => /^CAIS[A-Za-z0-9+/=]{60,}$/.test(v) },
];

function secretShape(value: string): string | undefined {
  return SHAPES.find((s) => s.test(value.trim()))?.what;
}

/** Every string inside a config value, with its path below the key. */
function* strings(value: unknown, path: (string | number)[] = []): Generator<[(string | number)[], string]> {
  if (typeof value === "string") yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

type Report = (path: ConfigPath, message: string) => void;

/**
 * Report plain-text credentials: the provider's credential keys in any form, and any
 * project or foreign value shaped like a key or secret. `secretKeys` are the project
 * keys the stack encrypts; `plainForeign` is config of other namespaces kept in plain
 * text (full key → value). A foreign key is reported as a one-element path holding the
 * full key, which formatPath prints as is.
 */
export function checkPlainSecrets(
  raw: Record<string, unknown>,
  secretKeys: readonly string[] | undefined,
  plainForeign: Readonly<Record<string, string>> | undefined,
  problem: Report,
): void {
  const rotate = "rotate it (it has been exposed), then";
  for (const [key, value] of Object.entries(plainForeign ?? {})) {
    if (PROVIDER_CREDENTIAL_KEYS.includes(key)) {
      problem(
        [key],
        `is in plain text in the stack config, where everyone who reads the stack file has it, and this program's provider does not read it; ${rotate} pulumi config rm ${key}, and give credentials through the environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN) or a profile (ALIBABA_CLOUD_PROFILE)`,
      );
      continue;
    }
    const what = secretShape(value);
    if (what)
      problem(
        [key],
        `looks like ${what} and is in plain text in the stack config; ${rotate} keep it encrypted: pulumi config set --secret ${key}`,
      );
  }
  const encrypted = new Set(secretKeys ?? []);
  for (const [key, value] of Object.entries(raw)) {
    if (encrypted.has(key)) continue;
    for (const [below, text] of strings(value)) {
      const what = secretShape(text);
      if (!what) continue;
      const path = [key, ...below];
      const set =
        below.length === 0
          ? `pulumi config set --secret ${key}`
          : `pulumi config set --secret --path '${dotted(path)}'`;
      problem(
        path,
        `looks like ${what} and is in plain text in the stack config; ${rotate} keep it encrypted: ${set}`,
      );
    }
  }
}

/**
 * Config outside the project's namespace that the stack keeps in plain text: what
 * `ValidationContext.plainForeignConfig` wants. `isSecret` is the runtime's
 * isConfigSecret (Pulumi) or membership in the stack file's secure keys (render).
 */
export function plainForeignConfig(
  all: Readonly<Record<string, string>>,
  project: string,
  isSecret: (fullKey: string) => boolean,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(all).filter(([k]) => !k.startsWith(`${project}:`) && !isSecret(k)),
  );
}
