// Run the real program under Pulumi's mock runtime and record every registration:
// type, name, parent, explicit dependsOn, inputs, and which inputs are secret.
// Shared by the offline render and the tests (test/kit.ts).
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** URN of the parent, "" at the root. */
  readonly parent: string;
  readonly custom: boolean;
  /**
   * URNs named in dependsOn that no input already depends on. The engine's request
   * cannot tell an explicit dependency from an implicit one on the same resource.
   */
  readonly dependsOn: readonly string[];
  /** For each input, the URNs of the resources its value came from (Pulumi's property dependencies). */
  readonly inputDependencies: Readonly<Record<string, readonly string[]>>;
  /** Inputs with secret values unwrapped. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Inputs with every secret value replaced by SECRET_MASK: safe to print. */
  readonly maskedInputs: Readonly<Record<string, unknown>>;
  /** Dotted paths of the inputs that arrived as Pulumi secrets. */
  readonly secretPaths: readonly string[];
  /** URN of the provider reference, "" for the default provider. */
  readonly provider: string;
  /** Input names Pulumi is told to ignore changes to. */
  readonly ignoreChanges: readonly string[];
  /** Input names whose change replaces the resource (the `replaceOnChanges` option). */
  readonly replaceOnChanges: readonly string[];
  /** The create timeout asked for, "" when the provider's default applies. */
  readonly createTimeout: string;
  /** Whether a replacement deletes the old resource before creating the new one. */
  readonly deleteBeforeReplace: boolean;
  /** The aliases declared: a former URN, or a former name and/or type. */
  readonly aliases: readonly { readonly urn?: string; readonly name?: string; readonly type?: string }[];
  /** Pulumi refuses to delete it (the `protect` option). */
  readonly protect: boolean;
  /** Pulumi leaves it in the cloud when it leaves the state (the `retainOnDelete` option). */
  readonly retainOnDelete: boolean;
}

/** Outputs the mock provider computes for a resource, beyond echoing its inputs. */
export type OutputSynthesizer = (
  args: pulumi.runtime.MockResourceArgs,
) => Record<string, unknown> | Promise<Record<string, unknown>>;
export type CallHandler = (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | undefined;

export interface MockRuntimeOptions {
  readonly project: string;
  readonly stack: string;
  /** Full config map, keys as `<namespace>:<key>`, values as Pulumi passes them (JSON text for objects). */
  readonly config?: Record<string, string>;
  readonly secretKeys?: readonly string[];
  readonly outputs?: OutputSynthesizer;
  readonly call?: CallHandler;
}

// The parts of the SDK's mock monitor that we wrap. Typed here because the SDK does
// not export these shapes.
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getCustomtimeouts(): { getCreate(): string } | undefined;
  getDeletebeforereplace(): boolean;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getAliasesList(): { getUrn(): string; getSpec(): { getName(): string; getType(): string } | undefined }[];
}
interface RegisterResponse {
  getUrn(): string;
}
type RegisterCallback = (err: Error | null, resp?: RegisterResponse) => void;
interface Monitor {
  registerResource(req: RegisterRequest, cb: RegisterCallback): void;
}

/** A deterministic id for a mock resource: stable across runs, distinct per name. */
export function mockId(type: string, name: string): string {
  return `${name}-${createHash("sha256").update(`${type}::${name}`).digest("hex").slice(0, 8)}`;
}

const SECRET_SIG = pulumi.runtime.specialSecretSig;
const SIG_KEY = pulumi.runtime.specialSigKey;

/**
 * Unwrap secret envelopes, collecting the dotted path of every secret value. With
 * `mask`, a secret is replaced by the mask instead of its value.
 */
export function unwrapSecrets(value: unknown, path: string, secrets: string[], mask?: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secrets, mask));
  if (typeof value !== "object" || value === null) return value;
  const obj = value as Record<string, unknown>;
  if (obj[SIG_KEY] === SECRET_SIG) {
    secrets.push(path);
    return mask ?? unwrapSecrets(obj.value, path, []);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj))
    out[k] = unwrapSecrets(v, path === "" ? k : `${path}.${k}`, secrets, mask);
  return out;
}

export const SECRET_MASK = "[secret]";

export class Recorder {
  private readonly recorded: RecordedResource[] = [];
  /** Registrations the (mock) provider refused, as "<type> <name>: <message>". */
  readonly failures: string[] = [];
  /** What the provider doubles returned, by "<type>::<name>" (ids and outputs, secrets in clear). */
  readonly outputs = new Map<string, Record<string, unknown>>();

  get resources(): readonly RecordedResource[] {
    return this.recorded;
  }

  add(r: RecordedResource): void {
    this.recorded.push(r);
  }

  reset(): void {
    this.recorded.length = 0;
    this.failures.length = 0;
    this.outputs.clear();
  }

  ofType(type: string): RecordedResource[] {
    return this.recorded.filter((r) => r.type === type);
  }

  byName(name: string): RecordedResource {
    const found = this.recorded.find((r) => r.name === name);
    if (!found)
      throw new Error(`no resource named ${name}; have ${this.recorded.map((r) => r.name).join(", ")}`);
    return found;
  }
}

/**
 * Install the mocks and the recorder. Must run before any module that declares
 * resources is imported (import those with `await import()` afterwards).
 */
export async function startMockRuntime(options: MockRuntimeOptions): Promise<Recorder> {
  const recorder = new Recorder();
  const mocks: pulumi.runtime.Mocks = {
    newResource: async (args) => {
      const state = { ...args.inputs, ...((await options.outputs?.(args)) ?? {}) };
      recorder.outputs.set(`${args.type}::${args.name}`, state);
      return { id: mockId(args.type, args.name), state };
    },
    call: (args) => options.call?.(args) ?? {},
  };
  await pulumi.runtime.setMocks(mocks, options.project, options.stack, false);
  pulumi.runtime.setAllConfig(options.config ?? {}, [...(options.secretKeys ?? [])]);

  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor | undefined;
  if (!monitor) throw new Error("Pulumi mock monitor is not installed");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    register(req, (err, resp) => {
      if (err) recorder.failures.push(`${req.getType()} ${req.getName()}: ${err.message}`);
      if (!err && resp) {
        const implicit = new Set<string>();
        const inputDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps, key) => {
          inputDependencies[key] = deps.getUrnsList();
          deps.getUrnsList().forEach((u) => implicit.add(u));
        });
        const secretPaths: string[] = [];
        const raw = req.getObject()?.toJavaScript() ?? {};
        const inputs = unwrapSecrets(raw, "", secretPaths) as Record<string, unknown>;
        const maskedInputs = unwrapSecrets(raw, "", [], SECRET_MASK) as Record<string, unknown>;
        recorder.add({
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent(),
          custom: req.getCustom(),
          dependsOn: req.getDependenciesList().filter((u) => !implicit.has(u)),
          inputDependencies,
          inputs,
          maskedInputs,
          secretPaths,
          provider: req.getProvider(),
          ignoreChanges: req.getIgnorechangesList(),
          replaceOnChanges: req.getReplaceonchangesList(),
          createTimeout: req.getCustomtimeouts()?.getCreate() ?? "",
          deleteBeforeReplace: req.getDeletebeforereplace(),
          protect: req.getProtect() === true,
          retainOnDelete: req.getRetainondelete() === true,
          aliases: req.getAliasesList().map((a) => {
            const spec = a.getSpec();
            if (a.getUrn()) return { urn: a.getUrn() };
            return {
              ...(spec?.getName() ? { name: spec.getName() } : {}),
              ...(spec?.getType() ? { type: spec.getType() } : {}),
            };
          }),
        });
      }
      cb(err, resp);
    });
  };
  return recorder;
}

/** Wait until every outstanding registration has been answered. */
export async function settle(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs !== "function")
    throw new Error("this @pulumi/pulumi no longer exports runtime.waitForRPCs");
  await runtime.waitForRPCs();
}
