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
