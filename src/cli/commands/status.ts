/**
 * `keep status`, and the seal-status table that `operator unseal` prints too.
 * The exit code carries the seal state as in Vault: 0 unsealed, 2 sealed,
 * 1 when the status could not be read.
 */
import type { ApiClient } from '../client.ts';
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import type { ResponseError } from '../errors.ts';
import { formatJson, table, type Ui } from '../output.ts';

/** `sys/seal-status` and `sys/unseal` answers. */
export interface SealStatus {
  type: string;
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  nonce: string;
  version: string;
  build_date?: string;
  migration?: boolean;
  cluster_name?: string;
  cluster_id?: string;
  recovery_seal?: boolean;
  storage_type?: string;
}

/** `sys/leader`. */
export interface LeaderStatus {
  ha_enabled: boolean;
  is_self?: boolean;
  active_time?: string;
  leader_address?: string;
  leader_cluster_address?: string;
  performance_standby?: boolean;
  raft_committed_index?: number;
  raft_applied_index?: number;
}

/**
 * Reads `sys/leader`. A sealed server cannot say and answers with an error,
 * which Vault's CLI shows as HA enabled; a server without the endpoint is
 * taken as not HA.
 */
export async function readLeader(client: ApiClient): Promise<LeaderStatus> {
  try {
    return (await client.call<LeaderStatus>('GET', 'sys/leader')) ?? { ha_enabled: false };
  } catch (err) {
    const { status, errors } = err as ResponseError;
    if (status === 404) return { ha_enabled: false };
    if (errors?.some((e) => e.includes('is sealed'))) return { ha_enabled: true };
    throw err;
  }
}

const ACTIVE_TIME_ZERO = '0001-01-01T00:00:00Z';

/** The rows of Vault's seal status table, in Vault's order. */
export function sealStatusTable(status: SealStatus, leader: LeaderStatus): string {
  const prefix = status.recovery_seal ? 'Recovery ' : '';
  const rows: string[][] = [
    [`${prefix}Seal Type`, status.type],
    ['Initialized', String(status.initialized)],
    ['Sealed', String(status.sealed)],
    [`Total ${prefix}Shares`, String(status.n)],
    ['Threshold', String(status.t)],
  ];
  if (status.sealed) {
    rows.push(['Unseal Progress', `${status.progress}/${status.t}`]);
    rows.push(['Unseal Nonce', status.nonce ?? '']);
  }
  if (status.migration) rows.push(['Seal Migration in Progress', 'true']);
  rows.push(['Version', status.version ?? '']);
  rows.push(['Build Date', status.build_date ?? '']);
  rows.push(['Storage Type', status.storage_type ?? '']);
  if (status.cluster_name && status.cluster_id) {
    rows.push(['Cluster Name', status.cluster_name]);
    rows.push(['Cluster ID', status.cluster_id]);
  }

  rows.push(['HA Enabled', String(leader.ha_enabled)]);
  if (leader.ha_enabled && !status.sealed) {
    rows.push(['HA Cluster', leader.leader_cluster_address ?? '']);
    rows.push(['HA Mode', leader.is_self ? 'active' : 'standby']);
    if (leader.is_self && leader.active_time && leader.active_time !== ACTIVE_TIME_ZERO) {
      rows.push(['Active Since', leader.active_time]);
    }
    if (!leader.is_self) rows.push(['Active Node Address', leader.leader_address || '<none>']);
  }
  if (leader.raft_committed_index) {
    rows.push(['Raft Committed Index', String(leader.raft_committed_index)]);
  }
  if (leader.raft_applied_index) {
    rows.push(['Raft Applied Index', String(leader.raft_applied_index)]);
  }
  return table(['Key', 'Value'], rows);
}

/** Seal status with the leader fields merged in, as table or JSON. */
export async function outputSealStatus(
  ui: Ui,
  opts: { client: ApiClient; status: SealStatus },
): Promise<number> {
  const { client, status } = opts;
  let leader: LeaderStatus;
  try {
    leader = await readLeader(client);
  } catch (err) {
    ui.error(`Error checking leader status: ${(err as Error).message}`);
    return 1;
  }
  if (ui.format === 'json') ui.output(formatJson({ ...status, ...leader }));
  else ui.output(sealStatusTable(status, leader));
  return 0;
}

const status = defineCommand({
  synopsis: 'Print seal and HA status',
  usage: `
Usage: keep status [options]

  Prints the current state of the server: whether it is initialized and sealed,
  and whether HA is enabled. It prints whether or not the server is sealed.

  The exit code reflects the seal status:

      - 0 - unsealed
      - 1 - error
      - 2 - sealed`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let sealStatus: SealStatus;
    try {
      const client = ctx.client();
      const answer = await client.call<SealStatus>('GET', 'sys/seal-status');
      if (!answer) throw new Error('empty response from sys/seal-status');
      sealStatus = answer;
      const code = await outputSealStatus(ctx.ui, { client, status: sealStatus });
      if (code !== 0) return code;
    } catch (err) {
      // 2 would read as "sealed" here.
      ctx.fail('Error checking seal status', err);
      return 1;
    }
    return sealStatus.sealed ? 2 : 0;
  },
});

export const statusCommands: Record<string, Command> = { status };
