/**
 * `keep server`: reads the config file (or runs the embedded default of SQLite
 * in ./keep-data on 127.0.0.1:8200), starts the listeners and runs until
 * SIGINT or SIGTERM. `-dev` runs an in-memory server that is initialised and
 * unsealed with one key share, with KV v2 at `secret/`, as Vault's dev mode.
 */
import {
  defaultServerConfig,
  loadServerConfig,
  parseLogLevel,
  type ServerConfig,
} from '../config/server-config.ts';
import { createLogger } from '../lib/logger.ts';
import { startServer } from '../server/run.ts';
import { defineCommand } from './command.ts';
import { boolFlag, stringFlag } from './flags.ts';

const DEV_ADDRESS = '127.0.0.1:8200';
const DEV_CONFIG_ADDRESS = '127.0.0.1:8500';

export const serverCommand = defineCommand({
  synopsis: 'Start a Keep server',
  usage: `
Usage: keep server [options]

  Starts a Keep server that answers the Vault HTTP API. With no -config, it
  keeps its data in SQLite under ./keep-data and listens on 127.0.0.1:8200.

  Start a server from a configuration file (HCL, or JSON for a .json file):

      $ keep server -config=/etc/keep/keep.hcl

  Start a throw-away, unsealed in-memory server for development:

      $ keep server -dev -dev-root-token-id=root`,
  flags: {
    config: stringFlag("Path to a configuration file (HCL or JSON) in Vault's shape."),
    dev: boolFlag(
      'Start an in-memory server that is already initialised and unsealed, with KV v2 at ' +
        'secret/. Everything is lost when it stops. Never use it in production.',
    ),
    'dev-root-token-id': stringFlag('The root token of the dev server instead of a random one.'),
    'dev-listen-address': stringFlag(
      `Address the dev server listens on. The default is ${DEV_ADDRESS}.`,
    ),
    'dev-config-listen-address': stringFlag(
      `Address the dev server's Consul KV face listens on. The default is ${DEV_CONFIG_ADDRESS}.`,
    ),
    'log-level': stringFlag(
      'Log verbosity: trace, debug, info, warn or error. Overrides the config file and ' +
        'the KEEP_LOG_LEVEL environment variable.',
    ),
  },
  async run(ctx) {
    const { flags, io, ui } = ctx;
    if (ctx.checkArgs(0, 0)) return 1;
    if (flags.dev && flags.config) {
      ui.error('-dev and -config cannot be used together');
      return 1;
    }
    // Mistakes that would otherwise start the default server and create ./keep-data.
    if (ctx.given.has('config') && !flags.config) {
      ui.error('-config was given an empty path');
      return 1;
    }
    for (const devOnly of ['dev-root-token-id', 'dev-listen-address'] as const) {
      if (!flags.dev && ctx.given.has(devOnly)) {
        ui.error(`-${devOnly} only applies with -dev`);
        return 1;
      }
    }

    if (!flags.dev && ctx.given.has('dev-config-listen-address')) {
      ui.error('-dev-config-listen-address only applies with -dev');
      return 1;
    }

    let config: ServerConfig;
    let warnings: string[] = [];
    try {
      if (flags.config) ({ config, warnings } = loadServerConfig(flags.config));
      else config = flags.dev ? devConfig(flags['dev-listen-address']) : defaultServerConfig();
      if (flags.dev && config.configListener) {
        config.configListener.address = flags['dev-config-listen-address'] || DEV_CONFIG_ADDRESS;
      }
    } catch (err) {
      ui.error(`Error loading configuration: ${(err as Error).message}`);
      return 1;
    }

    let level: string;
    try {
      level = parseLogLevel(
        flags['log-level'] || io.env.KEEP_LOG_LEVEL || config.logLevel,
        'the log level (-log-level, KEEP_LOG_LEVEL or log_level)',
      );
    } catch (err) {
      ui.error((err as Error).message);
      return 1;
    }
    const logger = createLogger({ level });
    for (const warning of warnings) logger.warn({ config: flags.config }, warning);

    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({
        config,
        logger,
        dev: flags.dev ? { rootTokenId: flags['dev-root-token-id'] || undefined } : undefined,
      });
    } catch (err) {
      ui.error(`Error starting the server: ${(err as Error).message}`);
      return 1;
    }

    if (server.dev) {
      io.stdout(
        [
          'WARNING! dev mode is enabled: the server is unsealed, keeps everything in memory',
          'and starts with a root token. Never run it in production.',
          '',
          'You may need to set the following environment variable:',
          '',
          `    $ export KEEP_ADDR='${server.address}'`,
          '',
          'The unseal key and root token are shown below in case you want to seal and',
          'unseal the server or log in again.',
          '',
          `Unseal Key: ${server.dev.unsealKey}`,
          `Root Token: ${server.dev.rootToken}`,
          '',
          'Development mode should NOT be used in production installations!',
          '',
        ].join('\n'),
      );
    }

    // SIGHUP reopens audit files, so logrotate can move them away.
    const onHangup = () => {
      logger.info('SIGHUP: reopening audit files');
      server.core.audit.reopen().catch(() => {});
    };
    process.on('SIGHUP', onHangup);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.off('SIGHUP', onHangup);
    logger.info({ signal }, 'shutting down');
    await server.close();
    return 0;
  },
});

function devConfig(listenAddress: string): ServerConfig {
  const config = defaultServerConfig();
  config.storage = { type: 'inmem', options: {} };
  config.listeners[0].address = listenAddress || DEV_ADDRESS;
  return config;
}
