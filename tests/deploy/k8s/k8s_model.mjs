// The shared vocabulary of the Kubernetes manifest check (validate_k8s.mjs):
// the names and limits the manifests must keep, where a problem is reported
// (locate, Report) and small value helpers.


export const LEARNER_DEPLOYMENT = "proxima-learner";
export const ACTOR_DEPLOYMENT = "proxima-actor";
export const LEARNER_SERVICE = "proxima-learner";
export const RUN_MOUNT = "/var/lib/proxima";
export const MIN_TERMINATION_GRACE = 50;
export const PART_OF = ["app.kubernetes.io/part-of", "proxima"];
// Binary (basename in command/args) -> environment variable prefix it reads.
export const ROLES = {
  "proxima-learner": { role: "learner", prefix: "PROXIMA_LEARNER_" },
  "proxima-actor": { role: "actor", prefix: "PROXIMA_ACTOR_" },
};
// Fields of a kustomize Kustomization (kustomize.config.k8s.io/v1beta1).
export const KUSTOMIZATION_FIELDS = new Set([
  "apiVersion", "kind", "metadata", "resources", "components", "crds", "bases",
  "namespace", "namePrefix", "nameSuffix", "commonLabels", "labels",
  "commonAnnotations", "patches", "patchesStrategicMerge", "patchesJson6902",
  "images", "replicas", "configMapGenerator", "secretGenerator",
  "generatorOptions", "generators", "transformers", "validators",
  "replacements", "vars", "configurations", "openapi", "helmCharts",
  "helmGlobals", "buildMetadata", "sortOptions",
]);
// patchMergeKey of the lists a strategic merge patch merges element-wise
// (k8s.io/api struct tags); every other list is replaced whole.
export const MERGE_KEYS = {
  containers: "name", initContainers: "name", ephemeralContainers: "name",
  env: "name", volumes: "name", volumeMounts: "mountPath",
  volumeDevices: "devicePath", ports: "containerPort",
  imagePullSecrets: "name", hostAliases: "ip",
};

// ---------------------------------------------------------------- helpers

// An object to check, and where to point for a field path in it. `id` names
// the object independently of the file it was read from.
export const locate = (obj, doc, label = `${obj.kind}/${obj.metadata?.name}`) => ({
  obj,
  doc,
  id: `${obj.apiVersion} ${obj.kind}/${obj.metadata?.name}`,
  loc: (segs) => `${doc.file}:${doc.line(segs)}: ${label}`,
});

export const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
export const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

// ["spec", "containers", 0, "name"] -> "spec.containers[0].name"
export function fmtPath(segs) {
  let s = "";
  for (const seg of segs) {
    if (typeof seg === "number") s += `[${seg}]`;
    else s += s === "" ? seg : `.${seg}`;
  }
  return s === "" ? "(object)" : s;
}

// ajv instancePath "/spec/containers/0/name" -> segments
export function pointerToSegs(pointer) {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function hostPort(addr) {
  const s = String(addr).replace(/^dns:\/\/\/?/, "");
  const i = s.lastIndexOf(":");
  if (i < 0) return { host: s, port: NaN };
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
}

export class Report {
  constructor() {
    this.errors = [];
    this.keys = []; // per error: the same for the same problem in a patched copy
  }
  // where: "file:line: ..." or an item (see locate) that gives the line of segs.
  add(where, segs, message) {
    const what = `${segs === null ? "" : `${fmtPath(segs)}: `}${message}`;
    this.keys.push(typeof where === "object" ? `${where.id}: ${what}` : `${where}: ${what}`);
    this.errors.push(`${typeof where === "object" ? where.loc(segs) : where}: ${what}`);
  }
  push(text, key) {
    this.errors.push(text);
    this.keys.push(key);
  }
}
