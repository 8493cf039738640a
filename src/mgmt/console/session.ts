/**
 * One console's commands: a line -> its words -> the command of the table ->
 * its handler on the controller, answered as a Reply (reply.ts) that never
 * throws. Each line and each failure (with its code) is logged at debug: the
 * console shows the failure itself.
 */
import { UnknownCommandError } from '../../common/errors.js';
import { logger } from '../../telemetry/log.js';
import type { ConsoleCommand, ConsoleContext } from './commands.js';
import { errorReply, type Execute } from './reply.js';
import { splitLine } from './words.js';

export function consoleSession(table: readonly ConsoleCommand[], ctx: ConsoleContext): Execute {
  return async (line) => {
    try {
      const [name, ...args] = splitLine(line).words;
      if (name === undefined) return { out: '', error: null, quit: false };
      const cmd = table.find((c) => c.name === name);
      if (cmd === undefined) throw new UnknownCommandError(`no such command "${name}" (help lists them)`);
      logger().debug({ event: 'command', command: name, args }, line);
      return { out: await cmd.run(ctx, args), error: null, quit: cmd.quits === true };
    } catch (e) {
      const r = errorReply(e);
      logger().debug({ event: 'command', code: r.error?.code }, r.error?.message ?? '');
      return r;
    }
  };
}
