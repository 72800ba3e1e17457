/**
 * The OpenAPI 3.1 document of the public API, made from the endpoint table (endpoints.ts), so
 * the document and the routes cannot drift apart. test/api-v1.test.ts validates it with a
 * maintained validator and checks every endpoint's real answers against it.
 */
import { MAX_SPAN_DAYS, TOP_MAX, TOP_MIN } from '../params.js';
import { GRANULARITIES } from '../params.js';
import { V1_ENDPOINTS, V1_PREFIX, type Figure, type V1Endpoint, type V1Param } from './endpoints.js';

type Schema = Record<string, unknown>;

const ref = (kind: string, name: string): Schema => ({ $ref: `#/components/${kind}/${name}` });

const PARAMETERS: Record<V1Param, Schema> = {
  from: {
    name: 'from',
    in: 'query',
    description: `First day of the period, inclusive (UTC). Default: 364 days before \`to\`. The period is at most ${MAX_SPAN_DAYS} days.`,
    schema: { type: 'string', format: 'date' },
  },
  to: {
    name: 'to',
    in: 'query',
    description: 'Last day of the period, inclusive (UTC). Default: today.',
    schema: { type: 'string', format: 'date' },
  },
  granularity: {
    name: 'granularity',
    in: 'query',
    description: 'Length of each period of a series (weeks start on Monday). Default: week.',
    schema: { type: 'string', enum: [...GRANULARITIES], default: 'week' },
  },
  top: {
    name: 'top',
    in: 'query',
    description: 'How many values, releases or projects to rank. Default: 10.',
    schema: { type: 'integer', minimum: TOP_MIN, maximum: TOP_MAX, default: 10 },
  },
};

function figureSchema(f: Figure): Schema {
  const base = f.type === 'date' ? 'string' : f.type;
  return {
    type: f.nullable ? [base, 'null'] : base,
    ...(f.type === 'date' ? { format: 'date' } : {}),
    description: f.description,
  };
}

function answerSchema(e: V1Endpoint): Schema {
  const n = e.columns.length;
  const properties: Record<string, Schema> = {
    endpoint: { const: `${V1_PREFIX}${e.path}` },
    params: {
      type: 'object',
      description: 'the parameters the answer was computed with, defaults filled in',
      additionalProperties: { type: ['string', 'integer'] },
    },
    columns: { const: [...e.columns], description: 'names of the columns of `rows`' },
    rows: {
      type: 'array',
      items: { type: 'array', items: ref('schemas', 'Cell'), minItems: n, maxItems: n },
    },
    chart: { type: 'object', description: "what the dashboard's chart of this table draws" },
  };
  const required = ['endpoint', 'params', 'columns', 'rows', 'chart'];
  if (e.figures) {
    properties.summary = {
      type: 'object',
      additionalProperties: false,
      required: Object.keys(e.figures),
      properties: Object.fromEntries(Object.entries(e.figures).map(([k, f]) => [k, figureSchema(f)])),
    };
    required.push('summary');
  }
  return { type: 'object', additionalProperties: false, required, properties };
}

const CACHED_HEADERS = {
  ETag: ref('headers', 'ETag'),
  'Cache-Control': ref('headers', 'Cache-Control'),
  'Access-Control-Allow-Origin': ref('headers', 'Access-Control-Allow-Origin'),
};

const ERRORS = {
  '400': ref('responses', 'BadRequest'),
  '429': ref('responses', 'TooManyRequests'),
  '502': ref('responses', 'Unavailable'),
};

function operation(e: V1Endpoint): Schema {
  return {
    get: {
      operationId: e.path.slice(1).replaceAll(/[/-](.)/g, (_m, c: string) => c.toUpperCase()),
      summary: e.summary,
      parameters: e.params.map((p) => ref('parameters', p)),
      responses: {
        '200': {
          description: 'the figures',
          headers: CACHED_HEADERS,
          content: { 'application/json': { schema: answerSchema(e) } },
        },
        '304': ref('responses', 'NotModified'),
        ...ERRORS,
      },
    },
  };
}

const errorResponse = (description: string, headers: Record<string, Schema> = {}): Schema => ({
  description,
  headers: { 'Access-Control-Allow-Origin': ref('headers', 'Access-Control-Allow-Origin'), ...headers },
  content: { 'application/json': { schema: ref('schemas', 'Error') } },
});

const COMPONENTS = {
  schemas: {
    Cell: { type: ['string', 'number', 'boolean', 'null'] },
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: { type: 'string', description: 'what was wrong, for a person' },
        parameter: { type: 'string', description: 'the parameter at fault (cut at 40 characters)' },
      },
    },
  },
  parameters: PARAMETERS,
  headers: {
    ETag: {
      description: 'strong validator of the body; send it back in If-None-Match',
      schema: { type: 'string' },
    },
    'Cache-Control': { description: 'how long the answer may be kept', schema: { type: 'string' } },
    'Access-Control-Allow-Origin': {
      description: 'always *: any page may read the API',
      schema: { const: '*' },
    },
    'Retry-After': { description: 'seconds until a request will be accepted', schema: { type: 'integer' } },
  },
  responses: {
    NotModified: {
      description: 'the answer is the one whose ETag was sent in If-None-Match',
      headers: CACHED_HEADERS,
    },
    BadRequest: errorResponse('a parameter is unknown, repeated, too long or out of range'),
    TooManyRequests: errorResponse('this client made too many requests; retry after Retry-After seconds', {
      'Retry-After': ref('headers', 'Retry-After'),
    }),
    Unavailable: errorResponse('the database could not answer; try again later'),
  },
};

const DESCRIPTION = `Usage statistics of Parsl, as shown on the dashboard, from the daily rollups.

Stable: v1 only grows (new endpoints, parameters, fields); nothing is removed or changes meaning.
Every answer carries ETag and Cache-Control, and Access-Control-Allow-Origin: *. Requests are
limited per client address (429 with Retry-After). A project is named only when at least K runs
used it in the period; the others are counted under "other". No workflow id and no time finer
than a day is published. See docs/API.md.`;

/** The document (a plain JSON value). */
export function openApiDocument(): Schema {
  const paths: Record<string, Schema> = Object.fromEntries(V1_ENDPOINTS.map((e) => [e.path, operation(e)]));
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      responses: { '200': { description: 'the OpenAPI document', content: { 'application/json': {} } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parsl usage statistics',
      version: '1.0.0',
      description: DESCRIPTION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: V1_PREFIX }],
    paths,
    components: COMPONENTS,
  };
}
