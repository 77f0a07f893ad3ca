import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { ImageConfig } from "../config/schema";
import { IMAGE_NAME_REGEX } from "../plan/control-plane";

/**
 * The image id for an image setting: the pinned id, or the newest public image of its OS
 * family, looked up once per family.
 */
export function imageResolver(
  clusterName: string,
  parent: pulumi.Resource,
): (image: ImageConfig) => pulumi.Input<string> {
  const images = new Map<string, pulumi.Output<string>>();
  return (image) => {
    if (image.id) return image.id;
    const found = images.get(image.os) ?? resolveImage(clusterName, image.os, parent);
    images.set(image.os, found);
    return found;
  };
}

/** The newest public image of an OS family. Pin `image.id` instead: this moves. */
function resolveImage(
  clusterName: string,
  os: ImageConfig["os"],
  parent: pulumi.Resource,
): pulumi.Output<string> {
  pulumi.log.warn(
    `${clusterName}: image.id is not pinned for ${os}; using the newest public image. Pin it so a new image never changes nodes by surprise.`,
    parent,
  );
  return alicloud.ecs
    .getImagesOutput(
      { owners: "system", nameRegex: IMAGE_NAME_REGEX[os], mostRecent: true, architecture: "x86_64" },
      { parent },
    )
    .apply((r) => {
      const id = r.images[0]?.id;
      if (!id)
        throw new pulumi.ResourceError(
          `no public ${os} image matches ${IMAGE_NAME_REGEX[os]} in this region; set image.id`,
          parent,
        );
      return id;
    });
}
