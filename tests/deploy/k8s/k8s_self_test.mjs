// validate_k8s.mjs --self-test: breaks the manifests in memory in many ways
// and checks that each break is reported (and that the unbroken set passes).

import { parseAllDocuments } from "yaml";
import { ACTOR_DEPLOYMENT, LEARNER_DEPLOYMENT, LEARNER_SERVICE, fmtPath } from "./k8s_model.mjs";

// ---------------------------------------------------------------- self-test

// Edits the first document of `file` whose kind/name match, through the YAML
// document API (comments and layout kept).
function editDoc(files, file, kind, name, fn) {
  const text = files.get(file);
  if (text === undefined) throw new Error(`self-test: no file ${file}`);
  const docs = parseAllDocuments(text, { version: "1.1" });
  const d = docs.find((x) => x.get("kind") === kind && (name === null || x.getIn(["metadata", "name"]) === name));
  if (!d) throw new Error(`self-test: no ${kind}/${name} in ${file}`);
  fn(d);
  const out = new Map(files);
  out.set(file, docs.map((x) => x.toString()).join(""));
  return out;
}
function editText(files, file, re, replacement) {
  const text = files.get(file);
  if (text === undefined || !re.test(text)) throw new Error(`self-test: ${re} not found in ${file}`);
  const out = new Map(files);
  out.set(file, text.replace(re, replacement));
  return out;
}
const must = (d, p) => {
  if (!d.hasIn(p)) throw new Error(`self-test: ${fmtPath(p)} not found`);
};
const put = (p, v) => (d) => d.setIn(p, v);
const setIn = (p, v) => (d) => {
  must(d, p);
  d.setIn(p, v);
};
const deleteIn = (p) => (d) => {
  must(d, p);
  d.deleteIn(p);
};
const LC = ["spec", "template", "spec", "containers", 0];

// [name, needs sources, mutate(files) -> files, what the errors must contain
// (each a substring or a RegExp matched by at least one error line)]
const BREAKS = [
  ["replicas: \"two\"", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "replicas"], "two")), [/^learner\.yaml:\d+: Deployment\/proxima-learner: spec\.replicas: must be integer$/]],
  ["strategy: {type: Recreat}", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "strategy", "type"], "Recreat")), ["spec.strategy.type: must be one of Recreate, RollingUpdate"]],
  ["missing selector", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, deleteIn(["spec", "selector"])), ["Deployment/proxima-learner", "spec.selector: required field missing"]],
  ["missing container name", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, deleteIn([...LC, "name"])), ["Deployment/proxima-actor", "spec.template.spec.containers[0].name: required field missing"]],
  ["misspelt field name", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, (d) => {
    must(d, ["spec", "template", "spec", "terminationGracePeriodSeconds"]);
    d.deleteIn(["spec", "template", "spec", "terminationGracePeriodSeconds"]);
    d.setIn(["spec", "template", "spec", "terminationGracePeriodSecond"], 60);
  }), ["spec.template.spec.terminationGracePeriodSecond: unknown field"]],
  ["misspelt container field", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, put([...LC, "imagePulPolicy"], "Always")), ["spec.template.spec.containers[0].imagePulPolicy: unknown field"]],
  ["containerPort as a string", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn([...LC, "ports", 0, "containerPort"], "50051")), ["containers[0].ports[0].containerPort: must be integer"]],
  ["unknown kind", false, (f) => editText(f, "actor.yaml", /$/, "---\napiVersion: v1\nkind: Pods\nmetadata:\n  name: x\n"), ["actor.yaml:", "Pods/x", "unknown apiVersion/kind v1/Pods"]],
  ["unknown apiVersion", false, (f) => editText(f, "actor.yaml", /apiVersion: apps\/v1/, "apiVersion: apps/v1beta9"), ["unknown apiVersion/kind apps/v1beta9/Deployment"]],
  ["unquoted number in a ConfigMap", false, (f) => editText(f, "configmap.yaml", /PROXIMA_LEARNER_GRACE_PERIOD: "45"/, "PROXIMA_LEARNER_GRACE_PERIOD: 45"), ["ConfigMap/proxima-learner-config", "data.PROXIMA_LEARNER_GRACE_PERIOD: must be string"]],
  ["YAML 1.1 boolean yes", false, (f) => editText(f, "configmap.yaml", /PROXIMA_LEARNER_QUIET: "true"/, "PROXIMA_LEARNER_QUIET: yes"), ["data.PROXIMA_LEARNER_QUIET: must be string"]],
  ["duplicate key", false, (f) => editText(f, "learner.yaml", /( *)replicas: 1\n/, "$1replicas: 1\n$1replicas: 1\n"), ["learner.yaml:", "YAML: Map keys must be unique"]],
  ["namespace set", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, (d) => d.setIn(["metadata", "namespace"], "default")), ["metadata.namespace: the manifests are namespace-agnostic"]],
  ["learner replicas 2", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "replicas"], 2)), ["spec.replicas: must be 1"]],
  ["learner RollingUpdate", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "strategy", "type"], "RollingUpdate")), ["spec.strategy.type: must be Recreate"]],
  ["PVC mounted elsewhere", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn([...LC, "volumeMounts", 0, "mountPath"], "/data")), ["must be mounted at /var/lib/proxima", "PROXIMA_LEARNER_RESUME=/var/lib/proxima/run is not on the PersistentVolumeClaim"]],
  ["PVC renamed", false, (f) => editDoc(f, "learner.yaml", "PersistentVolumeClaim", "proxima-run", setIn(["metadata", "name"], "proxima-runs")), ["must be mounted at /var/lib/proxima"]],
  ["Service port renamed", false, (f) => editDoc(f, "learner.yaml", "Service", LEARNER_SERVICE, setIn(["spec", "ports", 1, "name"], "prometheus")), ["Service/proxima-learner", "spec.ports[1].name: is \"prometheus\" but targets the learner port named \"metrics\""]],
  ["Service port missing", false, (f) => editDoc(f, "learner.yaml", "Service", LEARNER_SERVICE, deleteIn(["spec", "ports", 1])), ["spec.ports: no port named metrics"]],
  ["Service targets a wrong port", false, (f) => editDoc(f, "learner.yaml", "Service", LEARNER_SERVICE, setIn(["spec", "ports", 0, "targetPort"], 50052)), ["spec.ports[0].targetPort: 50052 is not a port of the learner container"]],
  ["Service selects nothing", false, (f) => editDoc(f, "learner.yaml", "Service", LEARNER_SERVICE, setIn(["spec", "selector", "app.kubernetes.io/name"], "learner")), ["spec.selector: does not select the proxima-learner pods"]],
  ["gRPC Service port without appProtocol", false, (f) => editDoc(f, "learner.yaml", "Service", LEARNER_SERVICE, deleteIn(["spec", "ports", 0, "appProtocol"])), ["spec.ports[0].appProtocol: must be grpc"]],
  ["Deployment selector off its pods", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, setIn(["spec", "selector", "matchLabels", "app.kubernetes.io/name"], "actor")), ["spec.selector.matchLabels: does not match the pod template's labels"]],
  ["termination grace 30", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "template", "spec", "terminationGracePeriodSeconds"], 30)), ["terminationGracePeriodSeconds: is 30; must be >= 50"]],
  ["grace period above termination grace", false, (f) => editText(f, "configmap.yaml", /PROXIMA_LEARNER_GRACE_PERIOD: "45"/, 'PROXIMA_LEARNER_GRACE_PERIOD: "58"'), ["terminationGracePeriodSeconds: is 60; must be >= 50 and >= PROXIMA_LEARNER_GRACE_PERIOD (58) + 5"]],
  ["learner keeps service links", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "template", "spec", "enableServiceLinks"], true)), ["Deployment/proxima-learner", "enableServiceLinks: must be false"]],
  ["actor runs as root", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, setIn(["spec", "template", "spec", "securityContext", "runAsNonRoot"], false)), ["Deployment/proxima-actor", "securityContext.runAsNonRoot: container actor must run as non-root"]],
  ["learner container uid 0", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, put([...LC, "securityContext", "runAsUser"], 0)), ["containers[0].securityContext.runAsUser: container learner must run as a non-zero runAsUser (got 0)"]],
  ["actor with a port", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, (d) => d.setIn([...LC, "ports"], [{ name: "x", containerPort: 8080 }])), ["containers[0].ports: container actor: actors only dial out; no ports"]],
  ["actor dials a wrong port", false, (f) => editText(f, "configmap.yaml", /PROXIMA_ACTOR_LEARNER: "proxima-learner:50051"/, 'PROXIMA_ACTOR_LEARNER: "proxima-learner:9464"'), ["PROXIMA_ACTOR_LEARNER=proxima-learner:9464 (from ConfigMap proxima-actor-config) must be the Service: proxima-learner:50051"]],
  ["actor dials a wrong host", false, (f) => editText(f, "configmap.yaml", /PROXIMA_ACTOR_LEARNER: "proxima-learner:50051"/, 'PROXIMA_ACTOR_LEARNER: "learner:50051"'), ["must be the Service: proxima-learner:50051"]],
  ["actor without a learner address", false, (f) => editText(f, "configmap.yaml", / *PROXIMA_ACTOR_LEARNER: .*\n/, ""), ["PROXIMA_ACTOR_LEARNER must be set"]],
  ["learner given the actor's ConfigMap", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, (d) => d.addIn([...LC, "envFrom"], { configMapRef: { name: "proxima-actor-config" } })), ["container learner (learner) is given PROXIMA_ACTOR_LEARNER (from ConfigMap proxima-actor-config)"]],
  ["actor given a learner variable", false, (f) => editDoc(f, "actor.yaml", "Deployment", ACTOR_DEPLOYMENT, (d) => d.setIn([...LC, "env"], [{ name: "PROXIMA_LEARNER_ENV", value: "CartPole-v1" }])), ["container actor (actor) is given PROXIMA_LEARNER_ENV (from env)"]],
  ["missing ConfigMap", false, (f) => editText(f, "configmap.yaml", /name: proxima-actor-config/, "name: proxima-actors-config"), ["envFrom[0].configMapRef.name: ConfigMap proxima-actor-config is not defined"]],
  ["probe on a wrong port", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn([...LC, "livenessProbe", "grpc", "port"], 9464)), ["livenessProbe.grpc.port: probes port 9464, the learner serves gRPC on 50051"]],
  ["no readiness probe", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, deleteIn([...LC, "readinessProbe"])), ["readinessProbe: missing"]],
  ["listen port off the container port", false, (f) => editText(f, "configmap.yaml", /PROXIMA_LEARNER_LISTEN: "0.0.0.0:50051"/, 'PROXIMA_LEARNER_LISTEN: "0.0.0.0:50052"'), ["PROXIMA_LEARNER_LISTEN=0.0.0.0:50052 does not serve on the grpc container port 50051"]],
  ["metrics port off the annotation", false, (f) => editDoc(f, "learner.yaml", "Deployment", LEARNER_DEPLOYMENT, setIn(["spec", "template", "metadata", "annotations", "prometheus.io/port"], "9465")), ["prometheus.io/port: must be the metrics port 9464"]],
  ["misspelt learner flag", true, (f) => editText(f, "configmap.yaml", /PROXIMA_LEARNER_TOTAL_STEPS:/, "PROXIMA_LEARNER_TOTAL_STEP:"), ["PROXIMA_LEARNER_TOTAL_STEP (from ConfigMap proxima-learner-config): proxima-learner has no flag --total-step"]],
  ["misspelt actor flag", true, (f) => editText(f, "configmap.yaml", /PROXIMA_ACTOR_THREADS:/, "PROXIMA_ACTOR_THREAD:"), ["proxima-actor has no flag --thread"]],
  ["kustomization lists a missing file", false, (f) => editText(f, "kustomization.yaml", /- actor\.yaml/, "- actors.yaml"), ["kustomization.yaml:", "resources[2]: actors.yaml does not exist", "actor.yaml: not referenced by kustomization.yaml"]],
  ["kustomization field misspelt", false, (f) => editText(f, "kustomization.yaml", /^resources:/m, "resource:"), ["resource: unknown Kustomization field"]],
  ["kustomization without the part-of label", false, (f) => editText(f, "kustomization.yaml", /app\.kubernetes\.io\/part-of: proxima/, "app.kubernetes.io/part-of: other"), ["labels: must set the label app.kubernetes.io/part-of: proxima"]],
  ["commented patch reference to a missing file", false, (f) => editText(f, "kustomization.yaml", /path: learner-gpu-patch\.yaml/, "path: gpu-patch.yaml"), ["patch file gpu-patch.yaml does not exist", "learner-gpu-patch.yaml: not referenced by kustomization.yaml"]],
  ["unreferenced manifest", false, (f) => new Map([...f, ["extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"]]), ["extra.yaml: not referenced by kustomization.yaml"]],
  ["GPU patch gives an actor variable", false, (f) => editText(f, "learner-gpu-patch.yaml", /name: PROXIMA_LEARNER_DEVICE/, "name: PROXIMA_ACTOR_DEVICE"), ["is given PROXIMA_ACTOR_DEVICE (from env)", "[with learner-gpu-patch.yaml applied]"]],
  ["GPU patch with a bad resource quantity", false, (f) => editText(f, "learner-gpu-patch.yaml", /memory: 8Gi/, "memory: [8Gi]"), ["learner-gpu-patch.yaml:", "Deployment/proxima-learner (with the patch applied): spec.template.spec.containers[0].resources.limits.memory: fits none of its allowed forms"]],
  ["GPU patch for a missing Deployment", false, (f) => editText(f, "learner-gpu-patch.yaml", /name: proxima-learner/, "name: proxima-lerner"), ["patch apps/v1 Deployment/proxima-lerner matches no resource"]],
];

// validateSet and readDir: the check itself (validate_k8s.mjs).
export async function selfTest(dir, flags, validateSet, readDir) {
  const files = readDir(dir);
  let passed = 0;
  let failed = 0;
  const base = await validateSet(files, flags);
  if (base.errors.length) {
    failed++;
    console.log(`FAIL  unbroken manifests: expected no errors, got:\n  ${base.errors.join("\n  ")}`);
  } else {
    passed++;
    console.log(`ok    unbroken manifests: no errors (${base.objects} objects)`);
  }
  for (const [name, needsSources, mutate, expected] of BREAKS) {
    if (needsSources && !flags) {
      console.log(`skip  ${name}: no sources to read flags from`);
      continue;
    }
    let errors;
    try {
      errors = (await validateSet(mutate(files), flags)).errors;
    } catch (e) {
      failed++;
      console.log(`FAIL  ${name}: ${e.message}`);
      continue;
    }
    const missing = expected.filter((s) => !errors.some((e) => (s instanceof RegExp ? s.test(e) : e.includes(s))));
    if (errors.length && !missing.length) {
      passed++;
      console.log(`ok    ${name}: ${errors[0]}${errors.length > 1 ? ` (+${errors.length - 1} more)` : ""}`);
    } else {
      failed++;
      console.log(`FAIL  ${name}: expected errors containing ${JSON.stringify(missing)}, got:\n  ${errors.join("\n  ") || "(none)"}`);
    }
  }
  console.log(`self-test: ${passed} passed, ${failed} failed`);
  return failed === 0;
}
