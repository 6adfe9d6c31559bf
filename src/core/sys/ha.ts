/** `sys/step-down` and `sys/ha-status`: the logical half of HA (core/ha.ts). */
import type { PathSpec } from '../../framework/backend.ts';
import type { Core } from '../core.ts';

export function haPaths(core: Core): PathSpec[] {
  return [
    {
      pattern: 'step-down',
      synopsis: 'Make this active node give up the HA lock; a standby takes over.',
      operations: {
        update: async () => {
          // Answer first: standing down drops the state this request runs on.
          setImmediate(() => {
            if (core.ha?.stepDown()) core.logger.info('stepping down on request');
          });
          return undefined;
        },
      },
    },
    {
      pattern: 'ha-status',
      synopsis: 'The nodes of this HA cluster: the active one and the standbys that echoed lately.',
      operations: {
        read: async () => {
          const nodes = (core.ha?.nodes() ?? []).map((n) => ({
            hostname: n.hostname,
            node_id: n.id,
            api_address: n.api_addr,
            cluster_address: n.cluster_addr,
            active_node: n.active,
            last_echo: n.active ? null : (n.lastEcho?.toISOString() ?? null),
            version: n.version,
            upgrade_version: n.version,
            redundancy_zone: '',
          }));
          return { data: { nodes } };
        },
      },
    },
  ];
}
