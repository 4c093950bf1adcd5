// Side-by-side benchmark for weave-fhirpath: fhirpath.js evaluates every R4 SearchParameter expression over every
// resource of the Synthea sample bundles whose type is one of the parameter's bases. Expressions are compiled once
// with the R4 model, then evaluated. Prints the pair count and evaluations per second.
//
// Usage: npm ci && node bench.js [shared-dir]   (default shared dir: ../../../shared)
'use strict';

const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const shared = process.argv[2] || path.join(__dirname, '..', '..', '..', 'shared');
const spFile = path.join(shared, 'fhir-r4-definitions', 'search-parameters.json');
const dataDir = path.join(shared, 'testdata', 'synthea', 'smart-generated-sample-data-R4');

function loadParams() {
  const bundle = JSON.parse(fs.readFileSync(spFile, 'utf8'));
  const byType = new Map();
  let compiled = 0;
  let failed = 0;
  for (const entry of bundle.entry) {
    const sp = entry.resource;
    if (!sp.expression) continue;
    let fn;
    try {
      fn = fhirpath.compile(sp.expression, r4);
      compiled++;
    } catch (e) {
      failed++;
      continue;
    }
    for (const base of sp.base || []) {
      if (!byType.has(base)) byType.set(base, []);
      byType.get(base).push(fn);
    }
  }
  return { byType, compiled, failed };
}

function loadResources() {
  const out = [];
  for (const f of fs.readdirSync(dataDir).filter((n) => n.endsWith('.json')).sort()) {
    const bundle = JSON.parse(fs.readFileSync(path.join(dataDir, f), 'utf8'));
    for (const e of bundle.entry || []) {
      if (e.resource) out.push(e.resource);
    }
  }
  return out;
}

function pass(resources, byType) {
  let evaluations = 0;
  let errors = 0;
  let items = 0;
  for (const res of resources) {
    const fns = byType.get(res.resourceType);
    if (!fns) continue;
    for (const fn of fns) {
      evaluations++;
      try {
        items += fn(res).length;
      } catch (e) {
        errors++;
      }
    }
  }
  return { evaluations, errors, items };
}

const { byType, compiled, failed } = loadParams();
const resources = loadResources();
console.log(`fhirpath.js ${require('fhirpath/package.json').version}: ${compiled} expressions compiled (${failed} failed), ${resources.length} resources`);
pass(resources, byType); // warm-up
const runs = 3;
let best = Infinity;
let last;
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  last = pass(resources, byType);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  best = Math.min(best, secs);
}
console.log(`${last.evaluations} (expression, resource) evaluations per pass, ${last.errors} errors, ${last.items} result items`);
console.log(`best of ${runs}: ${best.toFixed(3)} s per pass = ${Math.round(last.evaluations / best)} evaluations/s`);
