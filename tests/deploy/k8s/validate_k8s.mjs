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
//
// Parts: k8s_model.mjs (names, limits, where a problem is reported),
// k8s_invariants.mjs (steps 4 and 5), k8s_self_test.mjs (--self-test); this
// file parses, validates against the schemas, applies the patches (1-3) and
// runs it all.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, LineCounter, isMap, isSeq, isScalar } from "yaml";
import {
  KUSTOMIZATION_FIELDS, MERGE_KEYS, PART_OF, Report, clone, fmtPath, isObj, locate, pointerToSegs,
} from "./k8s_model.mjs";
import { checkInvariants, loadFlags } from "./k8s_invariants.mjs";
import { selfTest } from "./k8s_self_test.mjs";
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..", "..");

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
  if (self) return (await selfTest(dir, flags, validateSet, readDir)) ? 0 : 1;

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
