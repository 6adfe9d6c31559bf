/**
 * The one structured logger. Fields, not interpolated strings; anything that
 * could carry a credential is redacted by key before it is written.
 */
import pino, { type Logger } from 'pino';

export const REDACTED_KEYS = [
  'token',
  'client_token',
  'key',
  'keys',
  'keys_base64',
  'root_token',
  'secret_id',
  'password',
  'req.headers["x-vault-token"]',
  'req.headers.authorization',
  '*.token',
  '*.client_token',
  '*.password',
  '*.secret_id',
];

export function createLogger(
  opts: { level?: string; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      redact: { paths: REDACTED_KEYS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { service: 'keep' },
    },
    opts.destination,
  );
}

/** Levels `sys/loggers` and the config accept; Vault's `warning` and `err` are mapped. */
const LEVEL_NAMES: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  err: 'error',
  error: 'error',
};

/** The level each logger started with, for `DELETE sys/loggers` to go back to. */
const configuredLevels = new WeakMap<Logger, string>();

/** pino's level for a Vault level name, or undefined when it is not one. */
export function logLevelName(value: string): string | undefined {
  const name = value.trim().toLowerCase();
  return Object.hasOwn(LEVEL_NAMES, name) ? LEVEL_NAMES[name] : undefined;
}

/** Changes the level at run time; the first change remembers the configured one. */
export function setLogLevel(logger: Logger, level: string): void {
  if (!configuredLevels.has(logger)) configuredLevels.set(logger, logger.level);
  logger.level = level;
}

/** Back to the level the server started with (config, flag or environment). */
export function resetLogLevel(logger: Logger): void {
  const configured = configuredLevels.get(logger);
  if (configured !== undefined) logger.level = configured;
}
