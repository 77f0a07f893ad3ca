// One ECS call through ecsClient, in a process of its own, so the credential chain sees
// exactly the environment and HOME a test gives it. Prints the result, or the error and
// exits 1. Usage: tsx ecs-probe.ts REGION INSTANCE_ID (endpoint: KUBEADM_ALICLOUD_ECS_ENDPOINT).
import { ecsClient } from "../../components/cloud-assistant";

const [region = "cn-hangzhou", instanceId = "i-probe"] = process.argv.slice(2);
ecsClient(region)
  .agentOnline(instanceId)
  .then(
    (online) => console.log(JSON.stringify({ online })),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
