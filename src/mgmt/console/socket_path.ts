/**
 * Where a generator serves its console for `vaigai --attach` when no path is
 * given: `$XDG_RUNTIME_DIR/vaigai.sock` (the user's runtime directory, 0700
 * by systemd), else `/run/vaigai/vaigai.sock` for root, else
 * `/tmp/vaigai-<uid>.sock`. The socket itself is created mode 0600: only its
 * owner (and root) may drive the generator.
 */
import { join } from 'node:path';

export function defaultSocketPath(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime !== '') return join(runtime, 'vaigai.sock');
  const uid = process.getuid?.() ?? -1;
  return uid === 0 ? '/run/vaigai/vaigai.sock' : `/tmp/vaigai-${uid}.sock`;
}
