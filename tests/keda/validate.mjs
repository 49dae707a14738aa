// Validates the ScaledObject given as JSON on stdin against KEDA's CRD schema (the
// validator @kubernetes-models/keda generates from it). Prints "valid", or "invalid:"
// and the first error, and exits 1.
import { readFileSync } from "node:fs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";

const resource = JSON.parse(readFileSync(0, "utf8"));
try {
  new ScaledObject(resource).validate();
  console.log("valid");
} catch (error) {
  console.log(`invalid: ${error.message}`);
  process.exit(1);
}
