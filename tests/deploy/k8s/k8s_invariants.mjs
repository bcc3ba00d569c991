// Proxima's own invariants of the manifests (step 4 of validate_k8s.mjs) and
// the flags the binaries define, read from the sources (step 5).

import fs from "node:fs";
import path from "node:path";
import {
  ACTOR_DEPLOYMENT, LEARNER_DEPLOYMENT, LEARNER_SERVICE, MIN_TERMINATION_GRACE, ROLES, RUN_MOUNT,
  hostPort, isObj, locate,
} from "./k8s_model.mjs";

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
export function checkInvariants(items, flags, report) {
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

export function loadFlags(repo) {
  if (!repo || !fs.existsSync(path.join(repo, "learner")) || !fs.existsSync(path.join(repo, "actor"))) return null;
  return {
    // `proxima` (proxima_main.cc, proxima_torch_main.cc and the train
    // launcher's train_command.cc) is the CLI, not the learner binary.
    learner: flagsIn(repo, ["learner", "common"], ["proxima_main.cc", "proxima_torch_main.cc", "train_command.cc"]),
    actor: flagsIn(repo, ["actor", "common"], []),
  };
}
