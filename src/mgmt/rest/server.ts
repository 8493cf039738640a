/**
 * The REST API of the long-running generator (`-R/--rest-port`), on fastify:
 *
 *   GET   /api/v1/stats        the result object (as --json writes it), with the state and per-second entries
 *   GET   /api/v1/status       state, since, the load's seconds, the last error
 *   GET   /api/v1/config       the traffic profile (null before one is given)
 *   PUT   /api/v1/config       replaces it whole
 *   PATCH /api/v1/config       JSON Merge Patch (RFC 7396)
 *   POST  /api/v1/start        starts the profile's load (a body { config } replaces the profile first)
 *   POST  /api/v1/stop         stops the load: its final counters
 *   POST  /api/v1/reset        clears the last load's counters (409 while one runs)
 *   GET   /api/v1/histograms   latency histograms, HdrHistogram V2 compressed (base64)
 *   GET   /api/v1/workers      each worker's CPU and loop counters
 *   GET   /api/v1/openapi.json this API's OpenAPI document
 *   GET   /metrics             Prometheus text format (prometheus.ts)
 *
 * A config change is checked whole on a copy (the profile's TypeBox schema,
 * then profile_check and the run's own checks) and applied whole, live when a
 * load runs (its targets only), or refused whole: 400 naming the field by its
 * JSON pointer, 409 when a running load cannot take it. Errors are
 * `{ code, message, pointer? }` with the codes of src/common/errors.ts.
 * Bound to 127.0.0.1 unless --rest-bind says otherwise; --rest-token (or
 * VAIGAI_REST_TOKEN) requires `Authorization: Bearer <token>` on every route;
 * bodies are limited to REST_BODY_LIMIT; no CORS headers are sent, so a
 * browser page of another origin cannot read the answers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BadRequestError, InvalidOptionError, InvalidProfileError, VaigaiError } from '../../common/errors.js';
import type { Controller } from '../../run/controller.js';
import { Profile } from '../../run/profile.js';
import { exposition, METRICS_CONTENT_TYPE } from './prometheus.js';

/** Largest request body (a profile of many flows fits; more is refused with 413). */
export const REST_BODY_LIMIT = 1 << 20;

/** How long the rest of an oversized body is read before the 413 goes out anyway. */
const DRAIN_MS = 2000;

export interface RestOptions {
  port: number;
  bind: string;
  /** Bearer token every request must carry, or null for none. */
  token: string | null;
  version: string;
}

const ErrorBody = Type.Object(
  { code: Type.String(), message: Type.String(), pointer: Type.Optional(Type.String({ description: 'JSON pointer (RFC 6901) of the field at fault' })) },
  { $id: 'Error', description: 'a coded error (src/common/errors.ts)' },
);
const LiveResultBody = Type.Object({
  config: Type.Union([Profile, Type.Null()], { description: "the profile (null: the rate of a tcp://, udp:// or icmp:// load, which has none)" }),
  live: Type.Boolean({ description: 'the change reached a running load' }),
  acks: Type.Array(Type.Object({ worker: Type.Integer(), rc: Type.Union([Type.Integer(), Type.Null()]), status: Type.String() })),
  late: Type.Array(Type.Integer(), { description: 'workers that did not ack within 100 ms' }),
});
const Anything = Type.Object({}, { additionalProperties: true });
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody };

/** The HTTP status of a coded error. */
function statusOf(e: VaigaiError): number {
  if (e instanceof BadRequestError) return e.status;
  switch (e.code) {
    case 'VG_ERR_STATE':
    case 'VG_ERR_NOT_LIVE':
      return 409;
    case 'VG_ERR_NOT_BUILT':
      return 501;
    default:
      return e instanceof InvalidProfileError || e instanceof InvalidOptionError ? 400 : 500;
  }
}

/** fastify's own errors (body parsing, limits) as coded ones. */
function codedOf(e: { code?: string; statusCode?: number; message: string }): VaigaiError {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BadRequestError('VG_ERR_TOO_LARGE', 413, `the body exceeds ${REST_BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BadRequestError('VG_ERR_BAD_JSON', 400, `the body is not JSON: ${e.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BadRequestError('VG_ERR_BAD_REQUEST', 415, 'send application/json (or application/merge-patch+json to PATCH)');
    default:
      if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return new BadRequestError('VG_ERR_BAD_REQUEST', e.statusCode, e.message);
      return new VaigaiError(e.message);
  }
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = err instanceof VaigaiError ? err : codedOf(err as Error & { code?: string; statusCode?: number });
  const pointer = e instanceof InvalidProfileError ? { pointer: e.pointer } : {};
  return reply.code(statusOf(e)).type('application/json').send(JSON.stringify({ code: e.code, message: e.message, ...pointer }));
}

/** Constant-time bearer check (both sides hashed: equal lengths whatever the token). */
function bearerOk(req: FastifyRequest, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const given = h.startsWith('Bearer ') ? h.slice(7) : '';
  const d = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(d(given), d(token)) && given.length > 0;
}

/** Routes whose bodies the controller checks itself (checkProfile names the field; the schema is for the document). */
const SELF_CHECKED = new Set(['/api/v1/config', '/api/v1/start']);

/** The API on `ctl`; listening once this resolves. */
export async function startRest(ctl: Controller, opts: RestOptions): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: REST_BODY_LIMIT, logger: false, onProtoPoisoning: 'error', onConstructorPoisoning: 'error' }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler((route) => (SELF_CHECKED.has(route.url) ? (data: unknown) => ({ value: data }) : TypeBoxValidatorCompiler(route as Parameters<typeof TypeBoxValidatorCompiler>[0])));
  // Answers are plain JSON of what the controller returns: the schemas document them, they do not filter them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'vaigAI generator', version: opts.version, description: 'The long-running generator: stats, the traffic profile, live changes, start and stop.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(opts.token !== null ? { security: [{ bearer: [] }] } : {}),
    },
  });
  app.addSchema(ErrorBody);
  app.setErrorHandler(async (err, req, reply) => {
    // An oversized body is read (and dropped) before the answer, for a while: closing on unread data would reset the connection and lose the 413.
    if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' && !req.raw.readableEnded) {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, DRAIN_MS);
        req.raw.on('end', () => {
          clearTimeout(timer);
          done();
        });
        req.raw.resume();
      });
    }
    return sendError(reply, err);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new BadRequestError('VG_ERR_NOT_FOUND', 404, `no route ${req.method} ${req.url.split('?')[0]}`)));
  if (opts.token !== null) {
    const token = opts.token;
    app.addHook('onRequest', async (req, reply) => {
      if (!bearerOk(req, token)) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, new BadRequestError('VG_ERR_UNAUTHORIZED', 401, 'missing or wrong bearer token (Authorization: Bearer <token>)'));
      }
    });
  }

  app.get('/api/v1/stats', { schema: { summary: 'the counters: the running load\'s, else the last load\'s, else the idle stack\'s', response: { 200: Anything, 409: ErrorBody } } }, async () => ctl.stats());
  app.get('/api/v1/status', { schema: { summary: 'the generator\'s state', response: { 200: Anything } } }, async () => ctl.status());
  app.get('/api/v1/config', { schema: { summary: 'the traffic profile (null before one is given)', response: { 200: Type.Union([Profile, Type.Null()]) } } }, async () => ctl.getConfig());
  app.put('/api/v1/config', { schema: { summary: 'replace the profile whole (live while a load runs: its targets only)', body: Profile, response: { 200: LiveResultBody, ...errors } } }, async (req) =>
    ctl.putConfig(req.body as unknown, 'PUT /api/v1/config'),
  );
  app.patch(
    '/api/v1/config',
    { schema: { summary: 'JSON Merge Patch (RFC 7396) of the profile, checked whole', body: Anything, response: { 200: LiveResultBody, ...errors } } },
    async (req) => ctl.patchConfig(req.body as unknown, 'PATCH /api/v1/config'),
  );
  app.post(
    '/api/v1/start',
    { schema: { summary: 'start the profile\'s load (a body { config } replaces the profile first)', body: Type.Optional(Type.Object({ config: Type.Optional(Profile) })), response: { 200: Anything, ...errors } } },
    async (req) => {
      const body = req.body as unknown;
      if (body !== undefined && body !== null) {
        if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidProfileError('', 'the body is { "config": profile } or empty', 'POST /api/v1/start');
        const extra = Object.keys(body).find((k) => k !== 'config');
        if (extra !== undefined) throw new InvalidProfileError(`/${extra}`, 'unknown field (the body is { "config": profile })', 'POST /api/v1/start');
        const config = (body as { config?: unknown }).config;
        if (config !== undefined) await ctl.putConfig(config, 'POST /api/v1/start config');
      }
      return ctl.start();
    },
  );
  app.post('/api/v1/stop', { schema: { summary: 'stop the load (drain, close): its final counters', response: { 200: Anything, 409: ErrorBody } } }, async () => ctl.stop());
  app.post('/api/v1/reset', { schema: { summary: 'clear the last load\'s counters', response: { 204: Type.Null(), 409: ErrorBody } } }, async (_req, reply) => {
    ctl.reset();
    return reply.code(204).send(null);
  });
  app.get('/api/v1/histograms', { schema: { summary: 'latency histograms by phase, µs, HdrHistogram V2 compressed and base64 encoded', response: { 200: Anything } } }, async () => ({
    unit: 'us',
    histograms: ctl.histograms(),
  }));
  app.get('/api/v1/workers', { schema: { summary: 'each worker: CPU, frames, polls, parks, IPC commands', response: { 200: Type.Array(Anything) } } }, async () => ctl.show('workers') as object[]);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { summary: 'Prometheus text format', produces: ['text/plain'] } }, async (_req, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(exposition(ctl.view(), ctl.state, ctl.latencyPhases())),
  );
  await app.listen({ port: opts.port, host: opts.bind });
  return app;
}
