/**
 * The suite's ring stage in a process of its own (pinned by the suite like
 * every generator): keep-alive and connection per request on the pure stack,
 * as one JSON line. Usage: node dist/bench/suite/ring.js SECONDS
 */
import { ringHttp } from '../ring_http.js';

const seconds = Number(process.argv[2] ?? 2);
const load = { seconds, connections: 64, bodySize: 64, pipeline: 1 };
// Warm the JIT before measuring, as bench/http_stack.ts does.
ringHttp({ ...load, seconds: Math.min(1, seconds), perConn: 0 });
console.log(JSON.stringify({ keepAlive: ringHttp({ ...load, perConn: 0 }), connPerRequest: ringHttp({ ...load, perConn: 1 }) }));
