// The recorder is the instrument every other mock test reads: check it first.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { SECRET_MASK, settle } from "../tools/render/mock-runtime";
import { installMocks, type Recorder } from "./kit";

let recorder: Recorder;
beforeAll(async () => {
  recorder = await installMocks();
});

describe("test kit recorder", () => {
  it("records type, name, parent, explicit dependsOn, and which inputs are secret", async () => {
    const alicloud = await import("@pulumi/alicloud");
    class Holder extends pulumi.ComponentResource {
      constructor(name: string) {
        super("test:kit:Holder", name, {});
        this.registerOutputs({});
      }
    }
    const holder = new Holder("holder");
    const first = new alicloud.ecs.SecurityGroup("first", { securityGroupName: "first" }, { parent: holder });
    const other = new alicloud.ecs.SecurityGroup("other", { securityGroupName: "other" }, { parent: holder });
    new alicloud.ecs.SecurityGroup(
      "second",
      {
        securityGroupName: "second",
        vpcId: other.id, // implicit dependency: not listed in dependsOn
        description: pulumi.secret("a secret description"),
        tags: { visible: "yes", hidden: pulumi.secret("sssh") },
      },
      { parent: holder, dependsOn: [first] },
    );
    await settle();

    const second = recorder.byName("second");
    const firstRec = recorder.byName("first");
    expect(second.type).toBe("alicloud:ecs/securityGroup:SecurityGroup");
    expect(second.parent).toBe(recorder.byName("holder").urn);
    expect(second.dependsOn).toEqual([firstRec.urn]);
    expect([...second.secretPaths].sort()).toEqual(["description", "tags.hidden"]);
    expect(second.inputs.description).toBe("a secret description");
    expect(second.maskedInputs.description).toBe(SECRET_MASK);
    expect(second.maskedInputs.tags).toEqual({ visible: "yes", hidden: SECRET_MASK });
    expect(JSON.stringify(second.maskedInputs)).not.toContain("sssh");
    expect(firstRec.secretPaths).toEqual([]);
  });
});
