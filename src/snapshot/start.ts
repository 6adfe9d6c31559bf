/** Starting the backup schedule of a server from its `backup` stanza. */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Core } from '../core/core.ts';
import { BackupScheduler, parseBackupSettings } from './backup.ts';

export function startBackups(
  core: Core,
  raw: Record<string, unknown>,
  logger: Logger,
): BackupScheduler {
  const { settings, warnings } = parseBackupSettings(raw);
  for (const warning of warnings) logger.warn({}, warning);
  const scheduler = new BackupScheduler({
    // Below the barrier: snapshots hold ciphertext, and need no unsealing.
    storage: core.storage,
    settings,
    node: hostname() || 'keep',
    logger,
    metrics: core.metrics,
    isActive: () => !core.standby,
  });
  scheduler.start();
  logger.info(
    { dir: settings.dir, intervalMs: settings.intervalMs, retain: settings.retain },
    'backups scheduled',
  );
  return scheduler;
}
