// Resource identity (type chain and name, as in the URN without stack and project) is a
// public API once users have state: a changed identity without an alias is a delete and
// a create. This compares a committed record with what the program declares now.
import type { RecordedResource } from "../tools/render/mock-runtime";

/** "<parent types$type>::<name>" from urn:pulumi:<stack>::<project>::<types>::<name>. */
export function identityOf(urn: string): string {
  return urn.split("::").slice(2).join("::");
}

export interface DeclaredIdentity {
  readonly identity: string;
  readonly aliases: RecordedResource["aliases"];
}

/**
 * What changed against the record: identities gone that no alias of a declared resource
 * points back to (those would be deleted and created anew), and identities new to the
 * record (to be recorded, so that a review sees them).
 */
export function identityChanges(
  recorded: readonly string[],
  declared: readonly DeclaredIdentity[],
): { lost: string[]; added: string[] } {
  const now = new Set(declared.map((d) => d.identity));
  const aliased = (old: string): boolean => {
    const name = old.slice(old.lastIndexOf("::") + 2);
    const types = old.slice(0, old.lastIndexOf("::"));
    const type = types.slice(types.lastIndexOf("$") + 1);
    return declared.some((d) =>
      d.aliases.some(
        (a) =>
          (a.urn !== undefined && identityOf(a.urn) === old) ||
          (a.urn === undefined &&
            (a.name ?? d.identity.slice(d.identity.lastIndexOf("::") + 2)) === name &&
            (a.type ?? d.identity.slice(d.identity.lastIndexOf("$") + 1, d.identity.lastIndexOf("::"))) ===
              type),
      ),
    );
  };
  return {
    lost: recorded.filter((r) => !now.has(r) && !aliased(r)),
    added: [...now].filter((i) => !recorded.includes(i)).sort(),
  };
}
