#!/usr/bin/env node
// Offline validation of the Kubernetes manifests in deploy/k8s.
//
//   node validate_k8s.mjs [--self-test] [--sources REPO | --no-sources] [K8S_DIR]
//
// K8S_DIR defaults to deploy/k8s of the repository holding this script.
//
// 1. kustomization.yaml: every listed resource and patch file exists (patch
//    references commented out count too), every *.yaml is one of them, and
//    the part-of label is set.
// 2. Every document of every resource file is parsed as the API server's YAML
//    reader does (YAML 1.1: an unquoted `yes` is a boolean) and validated
//    against the OpenAPI schema of its apiVersion/kind (kubernetes-models);
//    an unknown apiVersion/kind, a field the schema does not define, a
//    duplicate key or a namespace is an error.
// 3. Each patch file is merged into the object it patches (strategic merge on
//    the list merge keys Kubernetes defines) and the result validated as in 2.
// 4. Proxima's invariants (checkInvariants) hold for the resources, and again
//    with each patch applied: the learner Deployment has 1 replica, strategy
//    Recreate, a PVC mounted at /var/lib/proxima holding its run directory,
//    gRPC health probes on its grpc port, Prometheus annotations on its
//    metrics port, terminationGracePeriodSeconds >= 50 and >= its
//    --grace-period + 5; the Service selects the learner pods (only) and its
//    ports match the learner container's by name; the actors have no ports
//    and dial the Service's grpc port; every container runs as a non-zero
//    uid with runAsNonRoot; a container running proxima-learner (or
//    proxima-actor) gets only PROXIMA_LEARNER_* (PROXIMA_ACTOR_*) variables:
//    every key of a ConfigMap it takes whole, and every PROXIMA_* `env` entry
//    (other `env` entries, such as TZ, are allowed); every workload's selector
//    matches its pod labels; every referenced ConfigMap is defined.
// 5. With the sources (REPO/learner, REPO/actor), every PROXIMA_LEARNER_<X> /
//    PROXIMA_ACTOR_<X> variable names a flag the binary defines: the learner
//    exits at startup on an unknown one.
//
// Exit status 0 when all holds, 1 with one line per problem on stderr, 2 on
// bad usage. --self-test instead breaks the manifests in memory in many ways
// and checks that each break is reported (and that the unbroken set passes).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, LineCounter, isMap, isSeq, isScalar } from "yaml";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..", "..");

const LEARNER_DEPLOYMENT = "proxima-learner";
const ACTOR_DEPLOYMENT = "proxima-actor";
const LEARNER_SERVICE = "proxima-learner";
const RUN_MOUNT = "/var/lib/proxima";
const MIN_TERMINATION_GRACE = 50;
const PART_OF = ["app.kubernetes.io/part-of", "proxima"];
// Binary (basename in command/args) -> environment variable prefix it reads.
const ROLES = {
  "proxima-learner": { role: "learner", prefix: "PROXIMA_LEARNER_" },
  "proxima-actor": { role: "actor", prefix: "PROXIMA_ACTOR_" },
};
// Fields of a kustomize Kustomization (kustomize.config.k8s.io/v1beta1).
const KUSTOMIZATION_FIELDS = new Set([
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
const MERGE_KEYS = {
  containers: "name", initContainers: "name", ephemeralContainers: "name",
  env: "name", volumes: "name", volumeMounts: "mountPath",
  volumeDevices: "devicePath", ports: "containerPort",
  imagePullSecrets: "name", hostAliases: "ip",
};

// ---------------------------------------------------------------- helpers

// An object to check, and where to point for a field path in it. `id` names
// the object independently of the file it was read from.
const locate = (obj, doc, label = `${obj.kind}/${obj.metadata?.name}`) => ({
  obj,
  doc,
  id: `${obj.apiVersion} ${obj.kind}/${obj.metadata?.name}`,
  loc: (segs) => `${doc.file}:${doc.line(segs)}: ${label}`,
});

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

// ["spec", "containers", 0, "name"] -> "spec.containers[0].name"
function fmtPath(segs) {
  let s = "";
  for (const seg of segs) {
    if (typeof seg === "number") s += `[${seg}]`;
    else s += s === "" ? seg : `.${seg}`;
  }
  return s === "" ? "(object)" : s;
}

// ajv instancePath "/spec/containers/0/name" -> segments
function pointerToSegs(pointer) {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function hostPort(addr) {
  const s = String(addr).replace(/^dns:\/\/\/?/, "");
  const i = s.lastIndexOf(":");
  if (i < 0) return { host: s, port: NaN };
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
}

class Report {
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

// ---------------------------------------------------------------- parsing

// One parsed YAML document: its JS value plus what is needed for line numbers.
class Doc {
  constructor(file, index, yamlDoc, lineCounter) {
    this.file = file;
    this.index = index;
    this.yamlDoc = yamlDoc;
    this.lineCounter = lineCounter;
    this.value = yamlDoc.toJS({ maxAliasCount: 100 });
  }
  // Line of the deepest node on `segs` that exists (the key's line in a map).
  line(segs) {
    let node = this.yamlDoc.contents;
    let offset = node && node.range ? node.range[0] : 0;
    for (const seg of segs) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
        if (!pair) break;
        if (pair.key && pair.key.range) offset = pair.key.range[0];
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
        node = node.items[seg];
        if (node && node.range) offset = node.range[0];
      } else {
        break;
      }
    }
    return this.lineCounter.linePos(offset).line;
  }
}

// Parses a multi-document YAML file; returns the non-empty documents.
function parseFile(file, text, report) {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    version: "1.1", // what sigs.k8s.io/yaml (kubectl, the API server) reads
    uniqueKeys: true,
    strict: true,
    prettyErrors: false,
    lineCounter,
  });
  const out = [];
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((d, i) => {
    for (const e of d.errors) {
      const line = e.linePos ? e.linePos[0].line : lineCounter.linePos(e.pos[0]).line;
      report.add(`${file}:${line}`, null, `YAML: ${e.message.split("\n")[0]}`);
    }
    if (d.errors.length) return;
    const doc = new Doc(file, i, d, lineCounter);
    if (doc.value === null || doc.value === undefined) return; // empty document
    out.push(doc);
  });
  return out;
}

// ---------------------------------------------------------------- schema

const modelCache = new Map();

// The kubernetes-models class for apiVersion/kind, or null.
async function findModel(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  if (!/^([a-z0-9-]+(\.[a-z0-9-]+)*\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return null;
  if (!modelCache.has(apiVersion)) {
    let mod = null;
    try {
      mod = await import(`kubernetes-models/${apiVersion}`);
    } catch (e) {
      if (!/ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_MODULE_NOT_FOUND|Cannot find/.test(`${e.code} ${e.message}`)) throw e;
    }
    modelCache.set(apiVersion, mod);
  }
  const mod = modelCache.get(apiVersion);
  const cls = mod && mod[kind];
  // Sub-types (DeploymentSpec...) are exported too but have no kind.
  if (!cls || cls.kind !== kind || cls.apiVersion !== apiVersion) return null;
  return cls;
}

// Wraps `value` so that every property the schema validator reads is
// recorded. The validators read each property their schema defines (and
// every key of a map), so an own key never read is a field the schema does
// not know: what `kubectl apply` (strict field validation) rejects.
function track(value, seen) {
  if (value === null || typeof value !== "object") return value;
  const keys = new Set();
  seen.set(value, keys);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || !Object.prototype.hasOwnProperty.call(target, key)) return v;
      keys.add(key);
      if (v === null || typeof v !== "object") return v;
      if (!children.has(key)) children.set(key, track(v, seen));
      return children.get(key);
    },
  });
}

function unknownFields(value, seen, segs, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, seen, [...segs, i], out));
  } else if (isObj(value)) {
    const read = seen.get(value) || new Set();
    for (const k of Object.keys(value)) {
      if (!read.has(k)) out.push([...segs, k]);
      else unknownFields(value[k], seen, [...segs, k], out);
    }
  }
}

function describeSchemaError(e) {
  const segs = pointerToSegs(e.instancePath);
  if (e.keyword === "required") return [[...segs, e.params.missingProperty], "required field missing"];
  if (e.keyword === "enum") return [segs, `must be one of ${e.params.allowedValues.join(", ")}`];
  return [segs, e.message];
}

// Schema-validates one object; problems are reported against `doc`.
async function validateObject(it, report) {
  const obj = it.obj;
  const cls = await findModel(obj.apiVersion, obj.kind);
  if (!cls) {
    report.add(it, ["kind"], `unknown apiVersion/kind ${obj.apiVersion}/${obj.kind} (not in the Kubernetes API)`);
    return false;
  }
  const seen = new Map();
  const proxy = track(obj, seen);
  let ok = true;
  try {
    cls.prototype.validate.call(proxy);
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    ok = false;
    // One line per field; the alternatives of a oneOf (quantities, int-or-
    // string) in one line.
    const byPath = new Map();
    for (const err of e.errors) {
      const [segs, msg] = describeSchemaError(err);
      const key = fmtPath(segs);
      if (!byPath.has(key)) byPath.set(key, { segs, msgs: [], oneOf: false });
      const entry = byPath.get(key);
      if (err.keyword === "oneOf") entry.oneOf = true;
      else if (!entry.msgs.includes(msg)) entry.msgs.push(msg);
    }
    for (const { segs, msgs, oneOf } of byPath.values()) {
      report.add(it, segs, oneOf ? `fits none of its allowed forms (${msgs.join("; ")})` : msgs.join("; "));
    }
  }
  const unknown = [];
  unknownFields(obj, seen, [], unknown);
  for (const segs of unknown) {
    ok = false;
    report.add(it, segs, "unknown field (not in the schema of this kind)");
  }
  return ok;
}

// ---------------------------------------------------------------- patches

function strategicMerge(base, patch, key) {
  if (isObj(base) && isObj(patch)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith("$")) throw new Error(`patch directive ${k} is not supported here`);
      out[k] = v === null ? undefined : k in base ? strategicMerge(base[k], v, k) : clone(v);
      if (out[k] === undefined) delete out[k];
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && MERGE_KEYS[key]) {
    const mk = MERGE_KEYS[key];
    const out = base.map(clone);
    for (const item of patch) {
      const i = isObj(item) ? out.findIndex((b) => isObj(b) && b[mk] === item[mk]) : -1;
      if (i >= 0) out[i] = strategicMerge(out[i], item, null);
      else out.push(clone(item));
    }
    return out;
  }
  return clone(patch);
}

// ---------------------------------------------------------------- invariants

const podSpecOf = (o) =>
  o.kind === "Pod" ? o.spec : o.kind === "CronJob" ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec;
const podSpecSegs = (o) =>
  o.kind === "Pod" ? ["spec"] : o.kind === "CronJob" ? ["spec", "jobTemplate", "spec", "template", "spec"] : ["spec", "template", "spec"];
const containersOf = (spec) => [
  ...(spec?.initContainers || []).map((c, i) => [c, "initContainers", i]),
  ...(spec?.containers || []).map((c, i) => [c, "containers", i]),
];

function roleOf(container) {
  for (const a of [...(container.command || []), ...(container.args || [])]) {
    const r = ROLES[path.posix.basename(String(a))];
    if (r) return r;
  }
  return null;
}

const labelsMatch = (selector, labels) =>
  isObj(selector) && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels && labels[k] === v);

// The variables a container gets: name -> {value, from, segs}. `value` is
// undefined where it comes from a Secret or a field reference; `env` entries
// override envFrom ones, as in Kubernetes.
function containerEnv(container, configMaps, where, segs, report) {
  const env = new Map();
  (container.envFrom || []).forEach((src, i) => {
    const prefix = src.prefix || "";
    if (src.configMapRef) {
      const cm = configMaps.get(src.configMapRef.name);
      if (!cm) {
        if (!src.configMapRef.optional) {
          report.add(where, [...segs, "envFrom", i, "configMapRef", "name"], `ConfigMap ${src.configMapRef.name} is not defined in these manifests`);
        }
        return;
      }
      for (const [k, v] of Object.entries(cm.data || {})) {
        env.set(prefix + k, { value: v, from: `ConfigMap ${cm.metadata.name}`, segs: [...segs, "envFrom", i] });
      }
    }
    // A secretRef's keys cannot be known offline.
  });
  (container.env || []).forEach((e, i) => {
    let value;
    const ref = e.valueFrom && e.valueFrom.configMapKeyRef;
    if (ref) {
      const cm = configMaps.get(ref.name);
      if (cm && cm.data && ref.key in cm.data) value = cm.data[ref.key];
      else if (!ref.optional) report.add(where, [...segs, "env", i, "valueFrom"], `ConfigMap ${ref.name} with key ${ref.key} is not defined in these manifests`);
    } else if (!e.valueFrom) {
      value = e.value ?? "";
    }
    env.set(e.name, { value, from: "env", segs: [...segs, "env", i] });
  });
  return env;
}

function effective(podSC, containerSC, field) {
  if (containerSC && containerSC[field] !== undefined) return containerSC[field];
  return podSC ? podSC[field] : undefined;
}

// Proxima's deployment invariants over one set of objects (from locate()).
function checkInvariants(items, flags, report) {
  const byKind = (kind) => items.filter((it) => it.obj.kind === kind);
  const find = (kind, name) => items.find((it) => it.obj.kind === kind && it.obj.metadata?.name === name);
  const configMaps = new Map(byKind("ConfigMap").map((it) => [it.obj.metadata.name, it.obj]));
  const pvcs = new Set(byKind("PersistentVolumeClaim").map((it) => it.obj.metadata.name));

  const learner = find("Deployment", LEARNER_DEPLOYMENT);
  const actor = find("Deployment", ACTOR_DEPLOYMENT);
  const service = find("Service", LEARNER_SERVICE);
  if (!learner) report.add("(all files)", null, `no Deployment ${LEARNER_DEPLOYMENT}`);
  if (!actor) report.add("(all files)", null, `no Deployment ${ACTOR_DEPLOYMENT}`);
  if (!service) report.add("(all files)", null, `no Service ${LEARNER_SERVICE}`);

  // Every workload: selector matches its pods, containers non-root, each
  // container gets only its own binary's variables.
  const envs = new Map(); // container object -> env map
  for (const it of items) {
    const o = it.obj;
    const spec = podSpecOf(o);
    if (!spec) continue;
    const ps = podSpecSegs(o);
    if (o.spec?.selector?.matchLabels && o.spec?.template) {
      if (!labelsMatch(o.spec.selector.matchLabels, o.spec.template.metadata?.labels)) {
        report.add(it, ["spec", "selector", "matchLabels"], "does not match the pod template's labels");
      }
    }
    // Service links would put PROXIMA_LEARNER_SERVICE_HOST & co. (from the
    // Service proxima-learner) into the environment: the learner exits on
    // them, so every pod that runs a Proxima binary must turn them off.
    if (containersOf(spec).some(([c]) => roleOf(c)) && spec.enableServiceLinks !== false) {
      report.add(it, [...ps, "enableServiceLinks"], "must be false: the injected PROXIMA_LEARNER_SERVICE_HOST/PORT variables name no flag and stop the learner");
    }
    for (const [c, list, i] of containersOf(spec)) {
      const segs = [...ps, list, i];
      const nonRoot = effective(spec.securityContext, c.securityContext, "runAsNonRoot");
      const uid = effective(spec.securityContext, c.securityContext, "runAsUser");
      if (nonRoot !== true) report.add(it, [...segs, "securityContext", "runAsNonRoot"], `container ${c.name} must run as non-root (runAsNonRoot: true in the pod or container securityContext)`);
      if (uid === undefined || uid === 0) report.add(it, [...segs, "securityContext", "runAsUser"], `container ${c.name} must run as a non-zero runAsUser (got ${uid})`);
      if (c.securityContext?.privileged) report.add(it, [...segs, "securityContext", "privileged"], `container ${c.name} must not be privileged`);

      const env = containerEnv(c, configMaps, it, segs, report);
      envs.set(c, env);
      const r = roleOf(c);
      for (const [k, v] of env) {
        const fromCM = v.from.startsWith("ConfigMap");
        if (r && (k.startsWith("PROXIMA_") || fromCM) && !k.startsWith(r.prefix)) {
          report.add(it, v.segs, `container ${c.name} (${r.role}) is given ${k} (from ${v.from}): only ${r.prefix}* variables may reach it`);
        } else if (!r && k.startsWith("PROXIMA_")) {
          report.add(it, v.segs, `container ${c.name} runs no Proxima binary but is given ${k}`);
        } else if (r && k.startsWith(r.prefix) && flags) {
          const flag = k.slice(r.prefix.length).toLowerCase();
          if (!flags[r.role].has(flag)) {
            report.add(it, v.segs, `${k} (from ${v.from}): ${Object.keys(ROLES).find((b) => ROLES[b] === r)} has no flag --${flag.replace(/_/g, "-")} and would exit at startup`);
          }
        }
      }
    }
  }

  let grpcPort;
  let learnerContainer;
  if (learner) {
    const o = learner.obj;
    const w = learner;
    const spec = o.spec?.template?.spec || {};
    if (o.spec?.replicas !== 1) report.add(w, ["spec", "replicas"], `must be 1 (one learner per run), got ${JSON.stringify(o.spec?.replicas)}`);
    if (o.spec?.strategy?.type !== "Recreate") report.add(w, ["spec", "strategy", "type"], `must be Recreate (the old learner must checkpoint and release the volume first), got ${JSON.stringify(o.spec?.strategy?.type)}`);

    const learners = (spec.containers || []).map((c, i) => [c, i]).filter(([c]) => roleOf(c)?.role === "learner");
    if (learners.length !== 1) {
      report.add(w, ["spec", "template", "spec", "containers"], `needs exactly one container running proxima-learner, found ${learners.length}`);
    } else {
      const [c, ci] = learners[0];
      learnerContainer = c;
      const cs = ["spec", "template", "spec", "containers", ci];
      const env = envs.get(c) || new Map();
      const val = (k) => env.get(k)?.value;

      // Run directory on the PVC.
      const pvcVolumes = new Set((spec.volumes || []).filter((v) => v.persistentVolumeClaim && pvcs.has(v.persistentVolumeClaim.claimName)).map((v) => v.name));
      const runMounts = (c.volumeMounts || []).filter((m) => pvcVolumes.has(m.name)).map((m) => m.mountPath);
      if (!runMounts.includes(RUN_MOUNT)) {
        report.add(w, [...cs, "volumeMounts"], `a PersistentVolumeClaim defined in these manifests must be mounted at ${RUN_MOUNT} (mounted: ${runMounts.join(", ") || "none"})`);
      }
      for (const k of ["PROXIMA_LEARNER_RESUME", "PROXIMA_LEARNER_RUN_DIR"]) {
        const d = val(k);
        if (d !== undefined && !runMounts.some((m) => d === m || d.startsWith(`${m.replace(/\/$/, "")}/`))) {
          report.add(w, env.get(k).segs, `${k}=${d} is not on the PersistentVolumeClaim (${runMounts.join(", ") || "not mounted"}): checkpoints would be lost with the pod`);
        }
      }

      // Ports: grpc and metrics, the listen flags and the probes agree.
      const ports = c.ports || [];
      const portNamed = (n) => ports.find((p) => p.name === n)?.containerPort;
      grpcPort = portNamed("grpc");
      const metricsPort = portNamed("metrics");
      if (grpcPort === undefined) report.add(w, [...cs, "ports"], "needs a container port named grpc");
      if (metricsPort === undefined) report.add(w, [...cs, "ports"], "needs a container port named metrics");
      const listen = val("PROXIMA_LEARNER_LISTEN") ?? "0.0.0.0:50051";
      if (grpcPort !== undefined && hostPort(listen).port !== grpcPort) {
        report.add(w, env.get("PROXIMA_LEARNER_LISTEN")?.segs || cs, `PROXIMA_LEARNER_LISTEN=${listen} does not serve on the grpc container port ${grpcPort}`);
      }
      const mlisten = val("PROXIMA_LEARNER_METRICS_LISTEN");
      if (metricsPort !== undefined && mlisten !== undefined && hostPort(mlisten).port !== metricsPort) {
        report.add(w, env.get("PROXIMA_LEARNER_METRICS_LISTEN").segs, `PROXIMA_LEARNER_METRICS_LISTEN=${mlisten} does not serve on the metrics container port ${metricsPort}`);
      }
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const p = c[probe];
        if (!p) {
          if (probe !== "startupProbe") report.add(w, [...cs, probe], "missing (gRPC health probe or `proxima health`)");
          continue;
        }
        if (p.grpc) {
          if (p.grpc.port !== grpcPort) report.add(w, [...cs, probe, "grpc", "port"], `probes port ${p.grpc.port}, the learner serves gRPC on ${grpcPort}`);
          if (p.grpc.service) report.add(w, [...cs, probe, "grpc", "service"], 'the learner reports health for service "" only');
        } else if (p.exec) {
          const cmd = p.exec.command || [];
          const addr = cmd[cmd.indexOf("--learner") + 1];
          if (!cmd.includes("health") || cmd.indexOf("--learner") < 0 || hostPort(addr).port !== grpcPort) {
            report.add(w, [...cs, probe, "exec", "command"], `must be \`proxima health --learner 127.0.0.1:${grpcPort}\``);
          }
        } else {
          report.add(w, [...cs, probe], "must be a gRPC health probe (grpc.port) or exec `proxima health`");
        }
      }
      const ann = o.spec?.template?.metadata?.annotations || {};
      const as = ["spec", "template", "metadata", "annotations"];
      if (ann["prometheus.io/scrape"] !== "true") report.add(w, [...as, "prometheus.io/scrape"], 'must be "true"');
      if (Number(ann["prometheus.io/port"]) !== metricsPort) report.add(w, [...as, "prometheus.io/port"], `must be the metrics port ${metricsPort}, got ${JSON.stringify(ann["prometheus.io/port"])}`);
      if (ann["prometheus.io/path"] !== "/metrics") report.add(w, [...as, "prometheus.io/path"], 'must be "/metrics"');

      // Shutdown: checkpoint within --grace-period, before SIGKILL.
      const tg = spec.terminationGracePeriodSeconds ?? 30;
      const grace = Number(val("PROXIMA_LEARNER_GRACE_PERIOD") ?? 20);
      if (!(tg >= MIN_TERMINATION_GRACE && tg >= grace + 5)) {
        report.add(w, ["spec", "template", "spec", "terminationGracePeriodSeconds"], `is ${tg}; must be >= ${MIN_TERMINATION_GRACE} and >= PROXIMA_LEARNER_GRACE_PERIOD (${grace}) + 5 so that the final checkpoint is written before SIGKILL`);
      }
    }
  }

  if (service && learner) {
    const s = service.obj;
    const w = service;
    const podLabels = learner.obj.spec?.template?.metadata?.labels;
    if (!labelsMatch(s.spec?.selector, podLabels)) report.add(w, ["spec", "selector"], `does not select the ${LEARNER_DEPLOYMENT} pods`);
    if (actor && labelsMatch(s.spec?.selector, actor.obj.spec?.template?.metadata?.labels)) report.add(w, ["spec", "selector"], `also selects the ${ACTOR_DEPLOYMENT} pods`);
    const cports = learnerContainer?.ports || [];
    const sports = s.spec?.ports || [];
    sports.forEach((sp, i) => {
      const target = sp.targetPort ?? sp.port;
      const cp = cports.find((p) => (typeof target === "string" ? p.name === target : p.containerPort === target));
      if (!cp) report.add(w, ["spec", "ports", i, "targetPort"], `${target} is not a port of the learner container`);
      else if (cp.name !== sp.name) report.add(w, ["spec", "ports", i, "name"], `is ${JSON.stringify(sp.name)} but targets the learner port named ${JSON.stringify(cp.name)}`);
      if (sp.name === "grpc" && sp.appProtocol !== "grpc") report.add(w, ["spec", "ports", i, "appProtocol"], "must be grpc");
    });
    for (const cp of cports) {
      if (!sports.some((sp) => sp.name === cp.name)) report.add(w, ["spec", "ports"], `no port named ${cp.name} (learner container port ${cp.containerPort})`);
    }
  }

  if (actor) {
    const o = actor.obj;
    const w = actor;
    const spec = o.spec?.template?.spec || {};
    const actors = (spec.containers || []).map((c, i) => [c, i]).filter(([c]) => roleOf(c)?.role === "actor");
    if (actors.length !== 1) report.add(w, ["spec", "template", "spec", "containers"], `needs exactly one container running proxima-actor, found ${actors.length}`);
    (spec.containers || []).forEach((c, i) => {
      if ((c.ports || []).length) report.add(w, ["spec", "template", "spec", "containers", i, "ports"], `container ${c.name}: actors only dial out; no ports`);
    });
    (spec.volumes || []).forEach((v, i) => {
      if (v.persistentVolumeClaim) report.add(w, ["spec", "template", "spec", "volumes", i], "actors are stateless; no PersistentVolumeClaim");
    });
    for (const [c, ci] of actors) {
      const e = (envs.get(c) || new Map()).get("PROXIMA_ACTOR_LEARNER");
      const segs = e ? e.segs : ["spec", "template", "spec", "containers", ci, "env"];
      const sp = service?.obj.spec?.ports?.find((p) => p.name === "grpc");
      if (!e || e.value === undefined) {
        report.add(w, segs, "PROXIMA_ACTOR_LEARNER must be set (the learner's Service)");
      } else if (sp) {
        const { host, port } = hostPort(e.value);
        if (host.split(".")[0] !== LEARNER_SERVICE || port !== sp.port) {
          report.add(w, segs, `PROXIMA_ACTOR_LEARNER=${e.value} (from ${e.from}) must be the Service: ${LEARNER_SERVICE}:${sp.port}`);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- flags

// ABSL_FLAG names defined under the given source folders, and the flags
// generated from the PpoConfig field list (learner/ppo_config_field_list.h:
// one X(key, flag, ...) row per flag, expanded into ABSL_FLAGs in
// learner/cli/ppo_flags.cc).
function flagsIn(repo, dirs, skipFiles) {
  const names = new Set(["flagfile"]);
  const walk = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (/\.(cc|h)$/.test(ent.name) && !skipFiles.includes(ent.name)) {
        const text = fs.readFileSync(p, "utf8");
        for (const m of text.matchAll(/ABSL_FLAG\(\s*[^,]+,\s*([A-Za-z_][A-Za-z0-9_]*)\s*,/g)) names.add(m[1]);
        if (ent.name === "ppo_config_field_list.h") {
          for (const m of text.matchAll(/^\s*X\(\s*[A-Za-z_]\w*\s*,\s*([A-Za-z_]\w*)\s*,/gm)) names.add(m[1]);
        }
      }
    }
  };
  for (const d of dirs) if (fs.existsSync(path.join(repo, d))) walk(path.join(repo, d));
  return names;
}

function loadFlags(repo) {
  if (!repo || !fs.existsSync(path.join(repo, "learner")) || !fs.existsSync(path.join(repo, "actor"))) return null;
  return {
    // `proxima` (proxima_main.cc, proxima_torch_main.cc and the train
    // launcher's train_command.cc) is the CLI, not the learner binary.
    learner: flagsIn(repo, ["learner", "common"], ["proxima_main.cc", "proxima_torch_main.cc", "train_command.cc"]),
    actor: flagsIn(repo, ["actor", "common"], []),
  };
}

// ---------------------------------------------------------------- the check

// files: Map name -> text. Returns {errors, objects}.
async function validateSet(files, flags) {
  const report = new Report();
  const yamlNames = [...files.keys()].filter((n) => /\.ya?ml$/.test(n)).sort();
  const kname = yamlNames.find((n) => /^kustomization\.ya?ml$/.test(n));
  const resources = [];
  const patchFiles = [];
  if (!kname) {
    report.add("kustomization.yaml", null, "missing");
  } else {
    const text = files.get(kname);
    const docs = parseFile(kname, text, report);
    const k = docs.length === 1 ? docs[0].value : null;
    if (docs.length !== 1 || !isObj(k)) {
      report.add(kname, null, "must hold one Kustomization document");
    } else {
      if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
        report.add(`${kname}:${docs[0].line(["kind"])}`, ["apiVersion"], `must be kustomize.config.k8s.io/v1beta1 Kustomization, got ${k.apiVersion} ${k.kind}`);
      }
      for (const key of Object.keys(k)) {
        if (!KUSTOMIZATION_FIELDS.has(key)) report.add(`${kname}:${docs[0].line([key])}`, [key], "unknown Kustomization field");
      }
      if (k.namespace) report.add(kname, ["namespace"], "the manifests are namespace-agnostic: set the namespace with kubectl -n");
      (Array.isArray(k.resources) ? k.resources : []).forEach((r, i) => {
        if (typeof r !== "string" || !files.has(r)) report.add(`${kname}:${docs[0].line(["resources", i])}`, ["resources", i], `${r} does not exist`);
        else resources.push(r);
      });
      if (!resources.length) report.add(kname, ["resources"], "lists no resource file");
      const refs = [];
      (k.patches || []).forEach((p, i) => refs.push([p && p.path, ["patches", i, "path"]]));
      (k.patchesStrategicMerge || []).forEach((p, i) => refs.push([p, ["patchesStrategicMerge", i]]));
      // A patch that is off by default is referenced from a comment.
      text.split("\n").forEach((line, i) => {
        const m = line.match(/^\s*#.*?\b(?:path:\s*|-\s+)([\w./-]+\.ya?ml)\b/);
        if (m) refs.push([m[1], null, i + 1]);
      });
      for (const [p, segs, line] of refs) {
        if (typeof p !== "string" || !files.has(p)) report.add(`${kname}${line ? `:${line}` : ""}`, segs, `patch file ${p} does not exist`);
        else if (!patchFiles.includes(p)) patchFiles.push(p);
      }
      const labels = { ...(k.commonLabels || {}) };
      for (const l of k.labels || []) Object.assign(labels, l.pairs || {});
      if (labels[PART_OF[0]] !== PART_OF[1]) report.add(kname, ["labels"], `must set the label ${PART_OF[0]}: ${PART_OF[1]}`);
    }
  }
  for (const n of yamlNames) {
    if (n !== kname && !resources.includes(n) && !patchFiles.includes(n)) {
      report.add(n, null, `not referenced by kustomization.yaml (neither a resource nor a patch), so never applied`);
    }
  }

  // Resources.
  const items = [];
  const names = new Map();
  for (const f of resources) {
    for (const doc of parseFile(f, files.get(f), report)) {
      const o = doc.value;
      if (!isObj(o)) {
        report.add(`${f}:${doc.line([])}`, null, `document ${doc.index + 1} is not a mapping`);
        continue;
      }
      const it = locate(o, doc);
      if (typeof o.metadata?.name !== "string") report.add(it, ["metadata", "name"], "required field missing");
      if (o.metadata?.namespace !== undefined) report.add(it, ["metadata", "namespace"], "the manifests are namespace-agnostic: no namespace");
      const id = `${o.apiVersion}/${o.kind}/${o.metadata?.name}`;
      if (names.has(id)) report.add(it, [], `defined twice (also in ${names.get(id)})`);
      names.set(id, f);
      await validateObject(it, report);
      items.push(it);
    }
  }
  checkInvariants(items, flags, report);

  // Patches: merged into their target, validated, invariants again; only the
  // problems the patch brings are reported.
  for (const f of patchFiles) {
    const sub = new Report();
    const patched = items.map((it) => ({ ...it }));
    for (const doc of parseFile(f, files.get(f), report)) {
      const p = doc.value;
      const i = patched.findIndex((it) => isObj(p) && it.obj.apiVersion === p.apiVersion && it.obj.kind === p.kind && it.obj.metadata?.name === p.metadata?.name);
      if (i < 0) {
        report.add(`${f}:${doc.line([])}`, null, `patch ${p?.apiVersion} ${p?.kind}/${p?.metadata?.name} matches no resource`);
        continue;
      }
      let merged;
      try {
        merged = strategicMerge(patched[i].obj, p, null);
      } catch (e) {
        report.add(`${f}:${doc.line([])}`, null, e.message);
        continue;
      }
      patched[i] = locate(merged, doc, `${p.kind}/${p.metadata.name} (with the patch applied)`);
      await validateObject(patched[i], sub);
    }
    checkInvariants(patched, flags, sub);
    sub.errors.forEach((e, j) => {
      if (!report.keys.includes(sub.keys[j])) report.push(`${e} [with ${f} applied]`, sub.keys[j]);
    });
  }
  return { errors: report.errors, objects: items.length };
}

function readDir(dir) {
  const files = new Map();
  for (const n of fs.readdirSync(dir).sort()) {
    if (/\.ya?ml$/.test(n) && fs.statSync(path.join(dir, n)).isFile()) files.set(n, fs.readFileSync(path.join(dir, n), "utf8"));
  }
  return files;
}

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

async function selfTest(dir, flags) {
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

// ---------------------------------------------------------------- main

async function main(argv) {
  let self = false;
  let sources = REPO;
  let dir = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--self-test") self = true;
    else if (a === "--no-sources") sources = null;
    else if (a === "--sources" && i + 1 < argv.length) sources = argv[++i];
    else if (a === "-h" || a === "--help") {
      console.log("usage: validate_k8s.mjs [--self-test] [--sources REPO | --no-sources] [K8S_DIR]");
      return 0;
    } else if (!a.startsWith("-") && dir === null) dir = a;
    else {
      console.error(`validate_k8s: unknown argument ${a}`);
      return 2;
    }
  }
  dir = path.resolve(dir ?? path.join(REPO, "deploy", "k8s"));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    console.error(`validate_k8s: ${dir} is not a directory`);
    return 2;
  }
  const flags = loadFlags(sources);
  if (!flags) console.log(`validate_k8s: no sources${sources ? ` at ${sources}` : ""}; variable names not checked against the binaries' flags`);
  if (self) return (await selfTest(dir, flags)) ? 0 : 1;

  const files = readDir(dir);
  const { errors, objects } = await validateSet(files, flags);
  for (const e of errors) console.error(e);
  const rel = path.relative(process.cwd(), dir);
  const shown = rel === "" ? "." : rel.startsWith("..") ? dir : rel;
  console.log(`validate_k8s: ${shown}: ${files.size} files, ${objects} objects, ${errors.length} problems`);
  return errors.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`validate_k8s: internal error: ${e.stack || e}`);
    process.exit(2);
  },
);
